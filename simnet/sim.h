/*
 * sim.h — the simulated world: one process, one thread, virtual time.
 *
 * A `struct sim` owns
 *   - a discrete-event scheduler: events ordered by (virtual time, sequence
 *     number) in a binary heap; time jumps to the next event;
 *   - a seeded PRNG (xoshiro256**, seeded through splitmix64): the only
 *     source of randomness in a run, the target's included;
 *   - a trace hash folding every delivered byte, disk operation and timer
 *     firing, printed as `trace-hash: <hex>` at the end of every run;
 *   - a `struct env` for the target under test (env.h): virtual clock,
 *     timers, simulated TCP links, simulated disks, a durable key/value
 *     store that survives target crashes, logging into the trace;
 *   - the network (sim_net.c) and disk (sim_disk.c) with their faults.
 *
 * Determinism rules: no wall clock, no rand(), no iteration in pointer or
 * hash order.  Every list is kept in creation order; every choice is drawn
 * from the PRNG.  One seed and one script reproduce a run bit for bit.
 */
#ifndef UT_SIM_H
#define UT_SIM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>

#include "env.h"
#include "heap.h"

struct bs_dev;
struct sim_rec_ops;
struct sim;

#define SIM_NS_PER_US 1000ull
#define SIM_NS_PER_MS 1000000ull
#define SIM_NS_PER_S 1000000000ull

/* ------------------------------------------------------------ events */

/*
 * An event is embedded in its owner and scheduled at most once at a time.
 * `background` events (the target's timers) do not keep the world busy:
 * the world is quiet when only background events remain.
 */
struct sim_ev {
	struct ut_heap_node node; /* at_ns, seq; in sim->events when due */
	void (*fn)(struct sim_ev *ev);
	bool background;
};

#define SIM_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

void sim_ev_init(struct sim_ev *ev, void (*fn)(struct sim_ev *ev));
/* Schedule (or move) ev to fire at at_ns (not before now). */
void sim_ev_at(struct sim *sim, struct sim_ev *ev, uint64_t at_ns);
void sim_ev_cancel(struct sim *sim, struct sim_ev *ev);
static inline bool sim_ev_pending(const struct sim_ev *ev)
{
	return ut_heap_node_queued(&ev->node);
}
/* The next event due, or NULL when none is scheduled. */
struct sim_ev *sim_ev_next(const struct sim *sim);
/* Run ev, the next event due (sim_ev_next), through the scheduler
 * oracle (sim_env.c); sim_run_until and real_net_run_until's one way to
 * fire an event. */
void sim_ev_fire(struct sim *sim, struct sim_ev *ev);

/* ------------------------------------------------------------ the world */

#define SIM_MAX_REACTORS 4

struct sim_net;
struct real_net;
struct sim_disks;
struct sim_posts;
struct sim_state;

struct sim_counters {
	uint64_t events;
	uint64_t bytes_delivered;
	uint64_t disk_ops;
	uint64_t timer_fires;
	/* segments sent from a file that arrived other than they left
	 * (a write landed before the "ack": sim_net.c sim_q_deliver) */
	uint64_t file_changed;
};

struct sim {
	uint64_t now_ns;
	uint64_t seq;
	struct ut_heap events; /* scheduled events, by (at_ns, seq) */
	/* The scheduler oracle (sim_ev_fire): the key of the event that
	 * ran last.  target/heap.c is the target's own code (the daemon's
	 * timers, env_real/reactor.c); the simulator checks what it
	 * promises on every event it takes (round of blind19). */
	uint64_t last_at_ns, last_seq;
	bool ran_any;
	size_t busy; /* scheduled non-background events */

	uint64_t seed;
	uint64_t rng[4];
	uint64_t hash;

	bool trace; /* readable timeline on trace_out */
	FILE *trace_out;
	/* Recording hook (chart.c), NULL when off: sees what the trace
	 * sees, structured.  It only records: no PRNG draw, no hash, no
	 * event, so a recorded run is the same run (same trace hash). */
	const struct sim_rec_ops *rec;
	void *rec_ctx;
	/* Every write a simulated disk applies to its medium (the
	 * scenario runner's check that no write lands after the answer or
	 * TMF response that ended it). */
	void (*land)(void *ctx, const char *disk, uint64_t offset_bytes,
		     const uint8_t *data, uint64_t len);
	void *land_ctx;
	enum ut_log_level log_level;

	struct env env; /* what the target is given: reactor 0 */
	/* Several reactors (sim_set_reactors): reactor k > 0 is
	 * reactor_env[k - 1], an env of the same world whose post runs work
	 * on it after a delay the PRNG draws (FIFO per reactor, as a real
	 * post queue).  Connections are dealt to the reactors in turn, as
	 * env_real's listener does.  One reactor: post is NULL, as before. */
	struct env reactor_env[SIM_MAX_REACTORS - 1];
	unsigned int reactors;	   /* 1 .. SIM_MAX_REACTORS */
	unsigned int next_reactor; /* the next accepted connection's */
	uint64_t post_last_ns[SIM_MAX_REACTORS]; /* FIFO per reactor */
	struct sim_posts *posts;		 /* pending, for drop/leak */
	/* The reactor whose callback runs now, SIM_NO_REACTOR in the
	 * simulator's own code (set-up, initiators, the oracle).  A timer,
	 * a connection or a disk request of the target is touched only by
	 * its own reactor (env.h), as env_real asserts on real threads: the
	 * simulator asserts it too (sim_reactor_owns). */
	int cur_reactor;
	bool target_up; /* false between crash and restart */
	/* The budget oracle (initiator.c ini_buf_judge): the EDTL of the
	 * SCSI commands every initiator has sent and not yet seen end, and
	 * of those that ended without the target's answer (their task may
	 * outlive the connection: counted for good). */
	uint64_t ini_buf_bytes;
	uint64_t ini_buf_lost;
	uint64_t ini_buf_sent; /* the EDTL of every one sent, ever */
	/* The target stops gracefully (a shutdown, not a power loss): a
	 * disk request still in flight when its backstore closes lands
	 * whole or not at all, as the kernel finishes or drops a process's
	 * write, never torn (sim_bs_close). */
	bool graceful_stop;
	struct sim_net *net;
	struct sim_disks *disks;
	struct sim_state *state;

	/* Objects the target owns through env, for the leak check. */
	uint32_t live_timers, live_listeners, live_conns, live_disks;
	uint32_t live_mutexes;
	uint32_t live_posts; /* posted work not yet run */
	/* The daemon's --send-file (sim_set_send_file): the env has
	 * conn_send_file; with zero_copy, simulated disks answer large
	 * READs by a reference to a "file" range of the disk (sim_disk.c)
	 * and null LUNs by zeros (ENV_FD_ZEROS).  live_refs: the disks'
	 * references not yet released (the leak check). */
	bool send_file;
	uint32_t live_refs;
	/* The next backstore opened by a running server (disk_open_async,
	 * a live reconfiguration) opens off the reactor, as an rbd: image
	 * does: its answer comes open_async_ns later, failing with
	 * open_async_rc (-errno) when not 0.  Armed by the scenario's
	 * `target lun add ... open=DUR [open-fail=]` for one change; not
	 * armed, disk_open_async says -ENOTSUP (every open is quick). */
	bool open_async;
	uint64_t open_async_ns;
	int open_async_rc;
	uint32_t live_opens; /* opens whose answer has not come */
	/* Memory pressure (`target oom`, sim_oom.c): while `on`, each of
	 * the target's own allocations (malloc, calloc, realloc, strdup,
	 * strndup of target/: the simulator links a copy of the library
	 * with those renamed, see the Makefile) made from one of its
	 * callbacks (cur_reactor set) fails with ppm in a million, drawn
	 * from a stream of its own (rng), until `left` have failed (0: no
	 * bound).  The simulator's own calls into the target (set-up, the
	 * control steps, the oracles' queries) never fail. */
	struct {
		bool on;
		uint32_t ppm;
		uint32_t left;
		uint32_t skip; /* allocations let through first */
		uint64_t rng;
		uint64_t failed; /* in all, for the report and the trace */
	} oom;
	struct sim_counters ctr;
	bool stop; /* set by an event to end sim_run_* */
	/* Real sockets and real time (run --against, real_net.h), NULL in
	 * the simulated world. */
	struct real_net *real;
};

struct sim *sim_new(uint64_t seed);
void sim_free(struct sim *sim);

/* Memory pressure on the target (sim_oom.c, `target oom`): from now on,
 * after `skip` of them went through, its allocations fail with ppm in a
 * million, until count have failed (0: no bound).  ppm 0 turns it off. */
void sim_oom_set(struct sim *sim, uint32_t ppm, uint32_t count, uint32_t skip);
/* sim_free's: the world is going. */
void sim_oom_forget(struct sim *sim);

/* Run the target on n reactors (1 .. SIM_MAX_REACTORS), before it
 * starts.  0, or -EINVAL. */
int sim_set_reactors(struct sim *sim, unsigned int n);
/* The daemon's --zero-copy (env.h zero_copy), before the target starts:
 * mem LUNs answer READs by reference into their memory (backstore/mem.c)
 * and the reference stays out until the Data-In bytes have left, so a
 * slow reader holds it across later writes.  Off by default, as before
 * (round of zerocopy18). */
void sim_set_zero_copy(struct sim *sim, bool on);
/* The daemon's --send-file (env.h conn_send_file), before the target
 * starts: Data-In of a reference with a file range goes through
 * sim_conn_send_file, which takes the file's bytes at the moment it
 * accepts them, as sendfile(2) takes the page cache's, and again when
 * they arrive (what a retransmission of the still-referenced pages
 * sends: round of sendack21); with zero-copy on, simulated disks and
 * null LUNs then answer large READs by such a reference (round of
 * sendfile19). */
void sim_set_send_file(struct sim *sim, bool on);
/* The env of the reactor the next accepted connection goes to (NULL
 * with one reactor: the listener's own). */
struct env *sim_accept_reactor(struct sim *sim);
/* Index of a reactor's env, 0 .. reactors - 1. */
unsigned int sim_reactor_index(const struct sim *sim, const struct env *e);
#define SIM_NO_REACTOR (-1)
/* Run the target's callbacks of reactor k from here on; returns the one
 * to restore. */
static inline int sim_reactor_enter(struct sim *sim, int k)
{
	int was = sim->cur_reactor;

	sim->cur_reactor = k;
	return was;
}
/* May the code running now touch an object of reactor k?  Its own
 * reactor may, and so may the simulator (set-up and teardown run outside
 * every reactor, as a daemon's main thread does before and after). */
static inline bool sim_reactor_owns(const struct sim *sim, int k)
{
	return sim->cur_reactor == SIM_NO_REACTOR || sim->cur_reactor == k;
}
/* The target crashed or was freed: posted work still pending is dropped
 * (it would run in a process that no longer exists).  How many. */
unsigned int sim_posts_drop(struct sim *sim);
/* env disk_open_async (sim_env.c): the backstore opened off the reactor
 * when sim->open_async is armed. */
int sim_env_disk_open_async(struct env *env, const struct bs_dev_params *p,
			    env_disk_opened_fn done, void *arg);

/* Run events until pred(arg) is true (checked before each event), no event
 * is left, or virtual time would pass deadline_ns.  On a deadline stop
 * the clock is advanced to deadline_ns.  Returns true if pred held. */
bool sim_run_until(struct sim *sim, uint64_t deadline_ns,
		   bool (*pred)(void *arg), void *arg);
/* Advance the clock by dt, running everything due meanwhile. */
void sim_run_for(struct sim *sim, uint64_t dt_ns);
/* Quiet: only background events (or none) are scheduled, and none of
 * them is due now.  A target timer due now is work under way, not
 * idleness: the target defers the flush of a completion's response to a
 * timer due "now" (iscsi_conn_kick()), and stopping before it fires would
 * leave that answer unsent. */
bool real_net_quiet(const struct sim *sim);
static inline bool sim_quiet(const struct sim *sim)
{
	const struct ut_heap_node *next = ut_heap_top(&sim->events);

	if (sim->real != NULL)
		return real_net_quiet(sim);
	return sim->busy == 0 && (next == NULL || next->at_ns > sim->now_ns);
}

/* ------------------------------------------------------------- PRNG */

uint64_t sim_rand(struct sim *sim);
/* Uniform in [0, n), n > 0, without modulo bias. */
uint64_t sim_rand_below(struct sim *sim, uint64_t n);
/* Uniform in [lo, hi]. */
uint64_t sim_rand_range(struct sim *sim, uint64_t lo, uint64_t hi);
/* True with probability p (0..1). */
bool sim_chance(struct sim *sim, double p);
uint64_t sim_splitmix64(uint64_t *state);

/* ------------------------------------------------------- trace hash */

void sim_hash_u64(struct sim *sim, uint64_t v);
void sim_hash_bytes(struct sim *sim, const void *p, size_t n);
uint64_t sim_hash_str(const char *s); /* FNV-1a 64 of a string */

/* What a recorder is told.  dir 0 is initiator -> target. */
struct sim_rec_ops {
	/* every trace line, as --trace prints it after the time */
	void (*line)(void *ctx, uint64_t now_ns, const char *text);
	/* stream bytes of connection conn_id (initiator host `host`):
	 * accepted by conn_send (delivered false) or handed to the
	 * receiver (delivered true) */
	void (*bytes)(void *ctx, uint64_t now_ns, uint64_t conn_id,
		      const char *host, int dir, bool delivered,
		      const uint8_t *p, size_t n);
	/* one of the target's timers fired */
	void (*timer)(void *ctx, uint64_t now_ns);
};

/* Readable timeline (with --trace, and for a recorder). */
void sim_tracef(struct sim *sim, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define SIM_TRACE(sim, ...)                             \
	do {                                            \
		if ((sim)->trace || (sim)->rec)         \
			sim_tracef((sim), __VA_ARGS__); \
	} while (0)
/* "12.345678s" into buf. */
const char *sim_fmt_time(uint64_t ns, char buf[32]);

/* --------------------------------------------------- durable state */

/* The env state store, surviving target crashes; in key order. */
int sim_state_put(struct sim *sim, const char *key, const void *data,
		  size_t len);
ssize_t sim_state_get(struct sim *sim, const char *key, void *buf, size_t cap);
/* A store that refuses to save (a full or failing state directory):
 * the next `count` puts (0: every one until cleared) fail with err
 * (-ENOSPC, -EIO; 0 clears), keeping what was saved before. */
void sim_state_fail(struct sim *sim, int err, uint32_t count);
/* How many puts of key (NULL: of any key) have failed so far, and the
 * error of the last. */
uint64_t sim_state_failed(const struct sim *sim, const char *key,
			  int *last_err);

/* ---------------------------------------------------------- network */

/* Per-host link behaviour; a host is one initiator machine. */
struct sim_link_cfg {
	uint64_t delay_ns;     /* one-way latency */
	uint64_t jitter_ns;    /* plus uniform [0, jitter] */
	uint32_t max_chunk;    /* bytes per delivery; 0 = 65536 */
	uint32_t window_bytes; /* in flight + unread per direction */
	bool partial_send;     /* conn_send accepts random prefixes */
	bool partial_recv;     /* conn_recv returns random prefixes */
};

enum sim_dir_mask {
	SIM_TO_TARGET = 1,   /* initiator -> target */
	SIM_FROM_TARGET = 2, /* target -> initiator */
	SIM_BOTH = 3,
};

struct sim_host;
/* Initiator-side connect result: conn is NULL with err < 0 on failure. */
typedef void (*sim_connect_fn)(void *arg, struct env_conn *conn, int err);

struct sim_host *sim_host_new(struct sim *sim, const char *name);
const char *sim_host_name(const struct sim_host *h);
struct sim_link_cfg *sim_host_cfg(struct sim_host *h);
/* Default for hosts created afterwards and (apply_all) existing ones. */
void sim_net_set_default(struct sim *sim, const struct sim_link_cfg *cfg,
			 bool apply_all);
const struct sim_link_cfg *sim_net_default(struct sim *sim);
/* Block (partition) or unblock directions of every link of a host.
 * Bytes are held, not lost: TCP retransmits them after the heal. */
void sim_host_block(struct sim_host *h, unsigned int dirs, bool blocked);

/* Open a connection from host to a listening address ("10.0.0.1:3260").
 * fn runs after the handshake's delay with the client endpoint. */
void sim_connect(struct sim *sim, struct sim_host *h, const char *addr,
		 sim_connect_fn fn, void *arg);
/* The same operations the target gets through env_ops, for actors. */
void sim_conn_set_handler(struct env_conn *c, const struct env_conn_handler *h,
			  void *ctx);
ssize_t sim_conn_recv(struct env_conn *c, void *buf, size_t len);
ssize_t sim_conn_send(struct env_conn *c, const struct iovec *iov, int iovcnt);
/* env.h conn_send_file: the iovecs, then len bytes of "file" fd from
 * off (a simulated disk's, sim_disk_file_read; ENV_FD_ZEROS: zeros),
 * read when accepted and again when delivered (the kernel's references
 * to the pages, kept until the peer acknowledged them: round of
 * sendack21); partial acceptance as conn_send.  The stream
 * offsets of the file's bytes are kept for the receiver's question
 * (sim_conn_rx_from_file). */
ssize_t sim_conn_send_file(struct env_conn *c, const struct iovec *iov,
			   int iovcnt, int fd, uint64_t off, uint64_t len);
/* env.h conn_unacked: the bytes the target's end queued that have not
 * arrived (a delivered segment counts as acknowledged: round of
 * sendack21). */
ssize_t sim_conn_unacked(struct env_conn *c);
/* Did any byte of [off, off + len) of the stream this endpoint receives
 * come from a file (sim_conn_send_file)?  Asked in stream order: what
 * lies before off is forgotten. */
bool sim_conn_rx_from_file(struct env_conn *c, uint64_t off, uint64_t len);
void sim_conn_want_write(struct env_conn *c, bool want);
void sim_conn_close(struct env_conn *c);
/* Faults on one connection (initiator's endpoint). */
void sim_conn_shutdown_write(struct env_conn *c); /* half-close: FIN */
void sim_conn_reset(struct env_conn *c);	  /* RST both ways */
void sim_conn_vanish(struct env_conn *c);	  /* host dies: no FIN/RST */
void sim_conn_stall(struct env_conn *c, unsigned int dirs, bool stalled);
uint64_t sim_conn_id(const struct env_conn *c);
/* Flip one bit in each of the next count data segments delivered in the
 * directions dirs of this connection (a segment corrupted in flight that
 * TCP's checksum missed; iSCSI's digests are there for it).  The
 * initiator's endpoint hears of every flip through its corrupt hook,
 * with the direction (SIM_TO_TARGET or SIM_FROM_TARGET) and the offset
 * of the flipped byte in that direction's stream. */
void sim_conn_corrupt(struct env_conn *c, unsigned int dirs,
		      unsigned int count);
typedef void (*sim_corrupt_fn)(void *arg, unsigned int dir,
			       uint64_t stream_off);
void sim_conn_set_corrupt_hook(struct env_conn *c, sim_corrupt_fn fn,
			       void *arg);
/* Bytes of the stream this endpoint sends that the other side has read
 * (0 against a real target, whose side we cannot see). */
uint64_t sim_conn_peer_read(const struct env_conn *c);
/* The bytes the target's end of link id (sim_conn_id) has read, the link
 * live or among the last 64 reaped: false when not known.  For a check
 * made after the link may have gone (an env_conn pointer is not valid
 * past its link's reaping). */
bool sim_link_target_read(struct sim *sim, uint64_t id, uint64_t *read);
/* Target side of the link is still open (not closed by the target). */
bool sim_conn_peer_open(const struct env_conn *c);
/* Has host h a connection other than except (an initiator's endpoint)
 * that the target accepted and has not closed?  What the host sent on it,
 * even after closing its own end, may still reach the target.  Always
 * true against a real target (run --against), whose side we cannot see. */
bool sim_host_open_at_target(const struct sim_host *h,
			     const struct env_conn *except);

/* The target has crashed: its endpoints go dead (no FIN); data sent to
 * them is dropped while the target is down and answered by RST once it
 * is up again.  Listeners are gone. */
void sim_net_target_crashed(struct sim *sim);
/* Free every link whose both ends are closed and nothing pending. */
void sim_net_free(struct sim *sim);
void sim_net_init(struct sim *sim);
/* Number of connections the target side still holds open. */
uint32_t sim_net_target_conns(const struct sim *sim);

/* env_ops pieces implemented in sim_net.c */
int sim_env_listen(struct env *env, const char *addr_port,
		   uint16_t portal_group, env_accept_fn fn, void *arg,
		   struct env_listener **out);
void sim_env_listener_close(struct env_listener *l);
void sim_env_conn_set_more(struct env_conn *c, bool more);

/* ------------------------------------------------------------- disks */

/* Faults and behaviour of one simulated disk image. */
struct sim_disk_fault {
	uint32_t ops;		      /* 1 << BS_OP_* it applies to */
	uint64_t lba_first, lba_last; /* inclusive, in blocks */
	double prob;		      /* 1.0 = always */
	int32_t count;		      /* -1 = unlimited, else fire N times */
};

#define SIM_DISK_FAULTS_MAX 16
#define SIM_DISK_OBJECT_BYTES (64u * 1024u)

struct sim_disk_cfg {
	uint64_t lat_min_ns, lat_max_ns; /* uniform latency */
	uint64_t lat_slow_ns;		 /* occasional slow op, 0 = never */
	double slow_prob;
	bool write_cache; /* false: every write durable */
	/* The disk does WRITE SAME and COMPARE AND WRITE itself
	 * (BS_CAP_WRITE_SAME, BS_CAP_COMPARE_AND_WRITE), as an RBD image
	 * does: atomically at completion; a COMPARE AND WRITE across a
	 * SIM_DISK_OBJECT_BYTES boundary is -EOPNOTSUPP (the caller
	 * emulates it), as librbd's across two objects. */
	bool native;
	double crash_keep; /* non-durable sector kept at crash */
	double crash_tear; /* ... torn (half kept) at crash */
	struct sim_disk_fault faults[SIM_DISK_FAULTS_MAX];
	unsigned int fault_count;
	/* A remote store (Ceph RBD behind librbd; `disk remote`, `disk
	 * away`): what utarget's rbd backstore meets.
	 *   tail      a long tail: with tail_prob, a request takes an extra
	 *             exponentially distributed time of mean tail_ns;
	 *   timeout   a request not answered within timeout_ns fails with
	 *             -ETIMEDOUT (rados_osd_op_timeout); a write that timed
	 *             out may still have landed (half the time it did);
	 *   away      from away_from_ns to away_until_ns the store is
	 *             unreachable: requests wait for it (or time out); with
	 *             away_fenced they fail at once with -ENOTCONN instead
	 *             (blocklisted, connecting again).
	 * Writes acknowledged by the store but not flushed are the write
	 * cache above (librbd's writeback cache lives in the target: a
	 * crash loses what it did not flush). */
	uint64_t tail_ns;
	double tail_prob;
	uint64_t timeout_ns; /* 0: never */
	uint64_t away_from_ns, away_until_ns;
	bool away_fenced;
};

struct sim_disk;
/* Create (or find) the named image; size 0 keeps the existing size. */
struct sim_disk *sim_disk_get(struct sim *sim, const char *name,
			      uint64_t size_bytes, uint32_t block_size);
struct sim_disk *sim_disk_find(struct sim *sim, const char *name);
struct sim_disk_cfg *sim_disk_cfg(struct sim_disk *d);
/* Power loss: pending and non-durable writes are lost, kept or torn. */
void sim_disk_crash_all(struct sim *sim);
/* Read the current (cached) contents, for tests. */
void sim_disk_peek(struct sim_disk *d, uint64_t off, void *buf, size_t len);
uint64_t sim_disk_dirty_sectors(const struct sim_disk *d);
void sim_disks_free(struct sim *sim);
int sim_env_disk_open(struct env *env, const struct bs_dev_params *p,
		      struct bs_dev **out);
/* Open requests still pending on target-opened devices. */
uint32_t sim_disk_pending(const struct sim *sim);
/* The "file" of a simulated disk's reference (bs_ref fd): len bytes of
 * the disk's cached view from off, as they are now (the page cache's),
 * into dst.  The range must lie inside a reference not yet released:
 * sending bytes no reference holds any more is the target's bug (the
 * file may be gone), judged here. */
void sim_disk_file_read(struct sim *sim, int fd, uint64_t off, uint8_t *dst,
			uint64_t len);
/* The same bytes again, for a segment the network delivers (sim_net.c
 * sim_q_deliver): the socket holds the pages until acknowledged, and what
 * arrives is the file's as it is then -- whether or not the target still
 * holds a reference (the kernel's page references are not the target's).
 * False (dst untouched) if the disk is gone or no longer that long. */
bool sim_disk_file_reread(struct sim *sim, int fd, uint64_t off, uint8_t *dst,
			  uint64_t len);

#endif
