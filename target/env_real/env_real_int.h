/*
 * env_real_int.h — what the files of target/env_real/ share; not for use
 * outside this directory.
 *
 * The reactor owns every resource of one event loop.  Nothing here is
 * global, so that later one reactor per thread only means creating several.
 */
#ifndef UT_ENV_REAL_INT_H
#define UT_ENV_REAL_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "env.h"
#include "env_real/env_real.h"
#include "env_real/poll_adapt.h"
#include "heap.h"
#include "ut_assert.h"

#define er_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct er_watch;
/* An fd registered in the reactor's epoll set; events as epoll reports. */
typedef void (*er_watch_fn)(struct er_watch *w, uint32_t events);
struct er_watch {
	int fd;
	er_watch_fn fn;
};

/* Work run by the loop after the current events, never inside the call
 * that queued it: how we keep "no callback from inside the call that
 * caused it" (env.h). */
struct er_defer {
	void (*fn)(struct er_defer *d);
	TAILQ_ENTRY(er_defer) link;
	bool queued;
};

struct er_disk_engine;

#define ER_RANDOM_BUF_BYTES 256
#define ER_MAX_SIGNAL 65
#define ER_MAX_REACTORS 64

/* Work posted to a reactor from any thread (env_post). */
struct er_post {
	env_timer_fn fn;
	void *arg;
	TAILQ_ENTRY(er_post) link;
};

/* A message to a reactor from any thread, without allocation: the sender
 * owns the memory (say, a remote disk request's completion) until fn runs
 * on the reactor (er_msg_send). */
struct er_msg {
	void (*fn)(struct er_msg *m);
	TAILQ_ENTRY(er_msg) link;
	bool queued; /* under the reactor's post_lock */
};

struct er_reactor;

/* Work that may wait (on a cluster, say) on a thread of its own, then
 * back on the reactor (open_async.c): run() on the thread, finish() on
 * the reactor; finish(j, true) when the reactor was freed first (it has
 * stopped; the thread was joined). */
struct er_job {
	void (*run)(struct er_job *j);
	void (*finish)(struct er_job *j, bool abandoned);
	struct er_msg msg;
	struct er_reactor *r;
	TAILQ_ENTRY(er_job) link; /* r->jobs, under post_lock */
	pthread_t thread;
};

/* The reactors of one environment.  Reactor 0 is the env handed to main:
 * it owns the listeners and the signals, and runs on main's thread. */
struct er_group {
	unsigned int n;
	struct er_reactor *r[ER_MAX_REACTORS];
	pthread_t threads[ER_MAX_REACTORS];
	atomic_uint next_conn;	/* round robin of accepted conns */
	atomic_uint record_seq; /* conn-<n>.bin numbering */
};

struct er_reactor {
	struct env env;	  /* handed out; env.priv points here */
	char *state_dir;  /* owned copy, NULL = no state */
	char *record_dir; /* --record: received bytes go here */
	struct er_group *group;
	unsigned int index; /* in group->r[] */
	bool log_timestamps;
	bool disable_uring;
	enum env_real_inline_writes inline_writes;
	bool no_cork;	   /* --adaptive-nagle off */
	bool no_zero_copy; /* --zero-copy off */
	/* ENV_FD_ZEROS for er_conn_send_file: a memfd of ER_ZEROS_BYTES
	 * never written (its pages the kernel's zero page), made on first
	 * use; -1 before, -2 if it could not be made (zeros then go from
	 * er_zeros with sendmsg). */
	int zeros_fd;
	bool no_inline_reads; /* env_real_opts.no_inline_reads */
	uint64_t inline_slow_ns;
	/* Adaptive polling (poll_adapt.h): the loop is idle from the moment
	 * it has nothing to do until the next event; poll.max_ns is
	 * --poll-us. */
	struct er_poll poll;
	/* The clock of this loop turn (er_env_now_ns): read once when
	 * epoll_wait returns and again after each io_uring submit (reads
	 * complete inside it); 0 before the loop's first turn. */
	uint64_t turn_ns;

	int epfd;
	int wake_fd; /* eventfd: env_real_stop from anywhere */
	struct er_watch wake_watch;
	atomic_bool stop;

	/* Timers: a binary min-heap (heap.h) on (deadline, arming order).
	 * Its room never falls below the number of timers, so arming never
	 * allocates. */
	struct ut_heap timers;
	size_t timer_count;
	uint64_t timer_seq;

	TAILQ_HEAD(, er_defer) defers;
	size_t defer_count;

	/* Work from other threads: under post_lock, run by the loop. */
	pthread_mutex_t post_lock;
	TAILQ_HEAD(, er_post) posts;
	TAILQ_HEAD(, er_msg) msgs;
	/* Requests of remote backstores (rbd, tcmu) out on other threads:
	 * while there are any the reactor sleeps instead of polling, as
	 * for er_disk_busy(). */
	unsigned int remote_inflight;
	/* Jobs on helper threads (open_async.c), under post_lock. */
	TAILQ_HEAD(, er_job) jobs;

	/* Network (net.c): live objects, and closed ones whose memory must
	 * outlive the epoll batch that may still name them. */
	TAILQ_HEAD(, env_conn) conns, dead_conns;
	TAILQ_HEAD(, env_listener) listeners, dead_listeners;
	unsigned int listener_count;

	/* Signals through one signalfd. */
	int sig_fd;
	struct er_watch sig_watch;
	sigset_t sig_mask;
	struct {
		env_real_signal_fn fn;
		void *arg;
	} sig[ER_MAX_SIGNAL];

	uint8_t rnd[ER_RANDOM_BUF_BYTES];
	size_t rnd_pos;

	struct er_disk_engine *disk; /* created by the first disk_open */
};

static inline struct er_reactor *er_reactor_of(struct env *e)
{
	return e->priv;
}

/* The reactor whose loop runs on this thread (NULL outside any loop). */
extern __thread struct er_reactor *er_self;

/* Ownership (env.h): a reactor's timers, connections, listeners, defers
 * and disk engine are touched by its own loop only, or by a thread that
 * runs no loop at all (setup before env_real_run, teardown after it). */
static inline bool er_owned(const struct er_reactor *r)
{
	return er_self == NULL || er_self == r;
}

/* env_real.c */
uint64_t er_now_ns(void);
/* The clock; on r's own loop it becomes the time of the turn too
 * (r->turn_ns), for what completes from now on. */
uint64_t er_turn_clock(struct er_reactor *r);

/* reactor.c */
int er_watch_add(struct er_reactor *r, struct er_watch *w, uint32_t events);
int er_watch_mod(struct er_reactor *r, struct er_watch *w, uint32_t events);
void er_watch_del(struct er_reactor *r, struct er_watch *w);
void er_defer_queue(struct er_reactor *r, struct er_defer *d);
void er_defer_cancel(struct er_reactor *r, struct er_defer *d);
/* Queue m for r's loop; from any thread, never runs m->fn inside. */
void er_msg_send(struct er_reactor *r, struct er_msg *m);
/* Take m back if it was sent and has not run (a device closing while
 * the reactors are stopped); returns whether it was queued. */
bool er_msg_cancel(struct er_reactor *r, struct er_msg *m);
/* The env_ops timer calls and env_post, on the reactor's heap and post
 * queue. */
struct env_timer *er_timer_new(struct env *e, env_timer_fn fn, void *arg);
void er_timer_arm(struct env_timer *t, uint64_t deadline_ns);
void er_timer_cancel(struct env_timer *t);
void er_timer_free(struct env_timer *t);
int er_post(struct env *to, env_timer_fn fn, void *arg);
/* The wake-up eventfd's watch: empties the counter (posts and messages
 * run after the epoll batch). */
void er_wake_event(struct er_watch *w, uint32_t events);

/* net.c */
/* A listening socket's pause.  Out of descriptors or memory, accept4
 * fails while a peer waits in the backlog, and the level-triggered
 * socket stays readable: rather than spin, the watch is switched off and
 * switched on again ER_ACCEPT_PAUSE_NS later (again and again while the
 * shortage lasts), with one log line per shortage.  The network
 * listeners and the control socket share it. */
#define ER_ACCEPT_PAUSE_NS (100u * 1000000u)
struct er_accept_pause {
	struct er_reactor *r;	 /* the watch's; the timer fires there */
	struct er_watch *w;	 /* the listening socket's */
	struct env_timer *timer; /* switches the watch on again */
	bool paused;		 /* the watch is off */
	bool logged;		 /* this shortage is in the log already */
	char what[80];		 /* who pauses, for the log */
};
/* 0, or -ENOMEM (no timer). */
int er_accept_pause_init(struct er_accept_pause *p, struct er_reactor *r,
			 struct er_watch *w, const char *what);
/* accept4 failed with err (> 0): true if that is a shortage (the watch
 * is paused, or stays on if epoll refuses the change: the next readiness
 * tries again); false if the caller goes on (another error). */
bool er_accept_pause_on(struct er_accept_pause *p, int err);
/* accept4 took a peer: the next shortage is logged again. */
void er_accept_pause_over(struct er_accept_pause *p);
/* The timer is freed: it never fires after this. */
void er_accept_pause_fini(struct er_accept_pause *p);
int er_listen(struct env *e, const char *addr_port, uint16_t portal_group,
	      env_accept_fn fn, void *arg, struct env_listener **out);
void er_listener_close(struct env_listener *l);
void er_conn_set_handler(struct env_conn *c, const struct env_conn_handler *h,
			 void *ctx);
ssize_t er_conn_recv(struct env_conn *c, void *buf, size_t len);
ssize_t er_conn_send(struct env_conn *c, const struct iovec *iov, int iovcnt);
ssize_t er_conn_send_file(struct env_conn *c, const struct iovec *iov,
			  int iovcnt, int fd, uint64_t off, uint64_t len);
void er_conn_want_write(struct env_conn *c, bool want);
void er_conn_set_more(struct env_conn *c, bool more);
void er_conn_close(struct env_conn *c);
ssize_t er_conn_unacked(struct env_conn *c);
/* Polling by reading (reactor.c, poll_adapt.h): the connection a watch
 * is, or NULL; whether a connection can be polled by reading (open, its
 * handler set, not waiting to write); and one such poll, its handler's
 * on_readable as if epoll had said so: -1 if it cannot be polled so, else
 * whether bytes (or EOF, an error) came. */
struct env_conn *er_conn_of_watch(struct er_watch *w);
bool er_conn_pollable(const struct env_conn *c);
int er_conn_poll_read(struct env_conn *c);
void er_net_reap(struct er_reactor *r);
void er_net_free_all(struct er_reactor *r);
int er_parse_addr(const char *addr_port, void *ss, unsigned int *sslen);

/* state.c */
int er_state_put(struct env *e, const char *key, const void *data, size_t len);
ssize_t er_state_get(struct env *e, const char *key, void *buf, size_t cap);
bool er_state_key_valid(const char *key);

/* disk_file_open.c */
int er_disk_open(struct env *e, const struct bs_dev_params *p,
		 struct bs_dev **out);

/* disk_engine.c */
/* Submit what requests queued this iteration: called before sleeping.
 * True when it did something (a read on the reactor, a submission):
 * completions may have queued responses. */
bool er_disk_flush(struct er_reactor *r);
/* Whether the reactor's engine has requests in the kernel's (or the pool's)
 * hands: then the reactor sleeps instead of polling, leaving the CPU to
 * the threads that carry those requests out. */
bool er_disk_busy(const struct er_reactor *r);
void er_disk_stats_add(const struct er_reactor *r,
		       struct env_real_disk_stats *sum);
void er_disk_engine_free(struct er_reactor *r);

/* crc_isal.c: data digests through ISA-L from now on. */
void er_crc_init(void);

/* disk_rbd.c, disk_tcmu.c: backstores whose requests complete on other
 * threads and come back as er_msg. */
int er_rbd_open(struct env *e, const struct bs_dev_params *p,
		struct bs_dev **out);
int er_tcmu_open(struct env *e, const struct bs_dev_params *p,
		 struct bs_dev **out);

/* open_async.c: rbd: and tcmu: opens of a running server, off the
 * reactor (env.h disk_open_async); jobs on helper threads. */
int er_disk_open_async(struct env *e, const struct bs_dev_params *p,
		       env_disk_opened_fn done, void *arg);
int er_job_start(struct er_reactor *r, struct er_job *j);
void er_jobs_free(struct er_reactor *r);

#endif
