/*
 * sim_net_int.h — what the two files of the simulated network share: the
 * segments, queues, endpoints, links, listeners and hosts (sim_net.c has
 * the picture), and the stream operations that a new link's endpoints
 * and the world's teardown are wired to.
 */
#ifndef UT_SIM_NET_INT_H
#define UT_SIM_NET_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "sim.h"

#define DEFAULT_CHUNK 65536u
#define DEFAULT_WINDOW (512u * 1024u)
#define SYN_RETRY_NS (1 * SIM_NS_PER_S)
#define SYN_RETRIES 5

struct seg {
	TAILQ_ENTRY(seg) link;
	uint64_t at_ns;
	uint64_t stream_off; /* of its first byte in its direction */
	uint32_t len, off;
	bool fin, rst;
	/* Sent from a simulated disk's file (sim_conn_send_file): its bytes
	 * are references to the file at file_off until delivered (the
	 * receiver's "ack"), read again then if the target that sent them
	 * has not crashed since (boot: sim_net's boots when pushed). */
	bool from_file;
	int file_fd;
	uint64_t file_off;
	uint64_t boot;
	uint8_t data[];
};
TAILQ_HEAD(seg_list, seg);

struct sim_link;

struct sim_q {
	struct seg_list segs;
	uint64_t inflight; /* data bytes queued, not delivered */
	uint64_t last_at;
	struct sim_ev ev;
	bool stalled;
	bool shut;	      /* FIN or RST queued: no more data */
	uint64_t pushed;      /* data bytes ever queued: the stream offset */
	unsigned int corrupt; /* data segments still to corrupt */
	/* stream ranges [from, to) sent from a file (sim_conn_send_file),
	 * in order, until the receiver asked past them */
	struct sim_file_range {
		uint64_t from, to;
	} * files;
	size_t nfiles, capfiles;
	struct sim_link *l;
	int idx;
};

struct env_conn {
	struct sim_link *l;
	int side;    /* 0 initiator, 1 target */
	int reactor; /* the target's reactor owning side 1 */
	const struct env_conn_handler *h;
	void *ctx;
	bool closed; /* owner closed: no more callbacks */
	bool dead;   /* crashed or vanished host */
	bool want_write;
	bool eof;
	int err; /* -ECONNRESET after an RST */
	bool closed_reported;
	uint8_t *rx;
	size_t rx_off, rx_len, rx_cap;
	uint64_t rx_read; /* bytes its owner has read (sim_conn_peer_read) */
	struct sim_ev read_ev, write_ev;
	/* told of every bit flipped in flight (sim_conn_corrupt) */
	sim_corrupt_fn corrupt_fn;
	void *corrupt_arg;
	/* An initiator's endpoint over a real socket (run --against): every
	 * operation goes to real_net.c; nothing else here is used. */
	struct real_conn *real;
};

struct sim_listener_ent;

struct sim_link {
	uint64_t id;
	struct sim *sim;
	struct sim_host *host;
	struct env_conn ep[2];
	struct sim_q q[2];
	TAILQ_ENTRY(sim_link) link;
	bool reaping, rst_answered;
	struct sim_ev reap_ev;
	/* handshake */
	struct sim_ev conn_ev;
	int syn_tries;
	char addr[64];
	sim_connect_fn cfn;
	void *carg;
};
TAILQ_HEAD(link_list, sim_link);

struct env_listener {
	struct sim *sim;
	char addr[64];
	uint16_t tpgt;
	unsigned int index;
	env_accept_fn fn;
	void *arg;
	TAILQ_ENTRY(env_listener) link;
};
TAILQ_HEAD(listener_list, env_listener);

struct sim_host {
	struct sim *sim;
	char name[64];
	unsigned int index;
	struct sim_link_cfg cfg;
	unsigned int blocked; /* enum sim_dir_mask */
	TAILQ_ENTRY(sim_host) link;
};
TAILQ_HEAD(host_list, sim_host);

struct sim_net {
	struct link_list links;
	struct listener_list listeners;
	struct host_list hosts;
	unsigned int host_count;
	unsigned int listen_count;
	uint64_t next_link_id;
	struct sim_link_cfg dflt;
	/* the target's crashes and shutdowns so far (sim_net_target_crashed):
	 * a segment sent from a file before one is never read again */
	uint64_t boots;
	/* The last links reaped: what their target's end had read (ep[1]
	 * rx_read), for a check made once the world is quiet, when the
	 * link may be gone (sim_link_target_read; scenario_cold.c). */
	struct {
		uint64_t id, read;
	} reaped[64];
	unsigned int nreaped; /* written so far, the ring's next slot mod 64 */
};

/* sim_net.c: the byte streams */
uint64_t sim_link_latency(struct sim_link *l);
void sim_link_maybe_reap(struct sim_link *l);
void sim_q_deliver(struct sim_ev *ev);
void sim_ep_read_fire(struct sim_ev *ev);
void sim_ep_write_fire(struct sim_ev *ev);
void sim_link_reap(struct sim_ev *ev);
void sim_ep_close(struct env_conn *c);

#endif /* UT_SIM_NET_INT_H */
