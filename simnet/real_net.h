/*
 * real_net.h — real TCP for the simulated initiators (run --against).
 *
 * With a real_net attached to a struct sim (sim->real), sim_connect()
 * opens a real socket to "HOST:PORT" and the sim_conn_* operations of the
 * initiator's endpoint go to that socket; the scheduler runs in real time
 * (sim->now_ns follows the monotonic clock from the moment the real_net
 * was attached) and waits for the sockets in poll() between events.  The
 * scenario runner, its initiator actors and its oracles are unchanged.
 *
 * Nothing here is deterministic: a run against a real target has no
 * trace hash worth comparing.
 */
#ifndef UT_SIM_REAL_NET_H
#define UT_SIM_REAL_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "sim.h"

struct real_conn;

/* Attach real networking to sim (before any connection). */
void real_net_attach(struct sim *sim);
/* Close every socket (vanished ones too) and detach. */
void real_net_detach(struct sim *sim);

/* sim_run_until() of a world with real sockets (sim_quiet() is
 * real_net_quiet(), in sim.h). */
bool real_net_run_until(struct sim *sim, uint64_t deadline_ns,
			bool (*pred)(void *arg), void *arg);

/* sim_connect() and the endpoint operations (sim_net.c dispatches). */
void real_connect(struct sim *sim, const char *host_name, const char *addr,
		  sim_connect_fn fn, void *arg);
void real_conn_set_handler(struct real_conn *rc,
			   const struct env_conn_handler *h, void *ctx);
ssize_t real_conn_recv(struct real_conn *rc, void *buf, size_t len);
ssize_t real_conn_send(struct real_conn *rc, const struct iovec *iov,
		       int iovcnt);
void real_conn_want_write(struct real_conn *rc, bool want);
void real_conn_close(struct real_conn *rc);
void real_conn_shutdown_write(struct real_conn *rc);
void real_conn_reset(struct real_conn *rc);
void real_conn_vanish(struct real_conn *rc);
uint64_t real_conn_id(const struct real_conn *rc);
bool real_conn_peer_open(const struct real_conn *rc);

/* sim_net.c: the endpoint that wraps a real connection. */
struct env_conn *sim_conn_wrap_real(struct real_conn *rc);
void sim_conn_unwrap_real(struct env_conn *c);

#endif
