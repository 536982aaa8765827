/*
 * env_real.h — the deployable environment: what the daemon's main needs.
 *
 * env_real_new() returns a struct env (see env.h) backed by one reactor:
 * a single-threaded epoll loop owning its timers, listeners, connections,
 * signal handlers and one disk I/O engine (io_uring, or a small thread
 * pool when io_uring is unavailable).  Every callback runs on the thread
 * that calls env_real_run().
 *
 * Typical main:
 *
 *	struct env_real_opts o = { .log_level = UT_LOG_INFO,
 *				   .state_dir = "/var/lib/utarget" };
 *	struct env *e = env_real_new(&o);
 *	env_real_on_signal(e, SIGINT, on_stop, e);	// before any thread
 *	env_real_on_signal(e, SIGTERM, on_stop, e);
 *	... start the server (listen, disk_open through e->ops) ...
 *	env_real_run(e);		// returns after env_real_stop(e)
 *	... stop the server: close conns, listeners, disks, free timers ...
 *	env_real_free(e);
 */
#ifndef UT_ENV_REAL_H
#define UT_ENV_REAL_H

#include <stdbool.h>
#include <stdint.h>

#include "env.h"

/* Where the file backstore does a buffered write. */
enum env_real_inline_writes {
	/* On the reactor when the filesystem refuses RWF_NOWAIT (io_uring
	 * would hand each write to a kernel worker: ext4) and writes are
	 * quick; else io_uring. */
	ENV_REAL_INLINE_AUTO = 0,
	ENV_REAL_INLINE_OFF,	/* always io_uring (or the disk threads) */
	ENV_REAL_INLINE_ALWAYS, /* on the reactor whatever the filesystem,
				 * while quick (tests, benchmarks) */
};

struct env_real_opts {
	enum ut_log_level log_level;
	/* Directory for state_put/state_get (e.g. /var/lib/utarget); it must
	 * exist.  NULL: state operations return -ENOTSUP. */
	const char *state_dir;
	/* Prefix log lines with a UTC timestamp (off under journald, which
	 * stamps lines itself). */
	bool log_timestamps;
	/* Use the thread-pool disk engine even where io_uring works (tests;
	 * the environment variable UTARGET_NO_URING=1 does the same). */
	bool disable_uring;
	/* --record: save what each connection receives, raw, in
	 * DIR/conn-<n>.bin (a fuzzing seed corpus from real traffic).  The
	 * directory must exist.  NULL: no recording. */
	const char *record_dir;
	/* Reactors (event loops, one thread each): 0 or 1 = one, on the
	 * thread calling env_real_run(); at most 64. */
	unsigned int reactors;
	/* Keep polling (epoll_wait with no timeout) this many microseconds
	 * after the last event before sleeping: the next command of a busy
	 * initiator is then caught awake instead of paying an idle wake-up.
	 * 0 = always sleep. */
	unsigned int poll_us;
	/* --adaptive-nagle off: ignore the target's conn_set_more hints
	 * (every send pushes at once, TCP_NODELAY).  On (false here), a send
	 * that the target says is followed at once by more carries MSG_MORE
	 * and the last of the burst pushes them all. */
	bool no_cork;
	/* --zero-copy off: large reads of file and block LUNs are copied
	 * into a buffer even where their Data-In could point into the page
	 * cache through a mapping of the file (zerocopy.c), and those of mem
	 * LUNs even where it could point into their chunks (the reactors'
	 * env.zero_copy, backstore/mem.c). */
	bool no_zero_copy;
	/* --send-file on: the Data-In of those reads goes with sendfile(2)
	 * from the file (and large reads of null LUNs from a memfd of
	 * zeros), after its header: nothing is copied (net.c,
	 * er_conn_send_file).  Off (false, the default), sendmsg copies it
	 * from the mapping: on this project's loopback measurements the
	 * copy was the cheaper (docs/performance.md). */
	bool send_file;
	/* Every read to the disk engine, none done on the reactor alone in
	 * its loop turn (disk_engine.c, er_read_inline): for tests of the
	 * engine's own paths. */
	bool no_inline_reads;
	/* Writes on the reactor (disk_file.c, --inline-writes). */
	enum env_real_inline_writes inline_writes;
	/* An inline write slower than this (ns) sends writes back to the
	 * disk engine for a while; 0 = 500 us.  (Tests set 1.) */
	uint64_t inline_slow_ns;
};

/* Disk counters of all reactors; read them while the reactors are
 * stopped (or, with one reactor, from its own thread). */
struct env_real_disk_stats {
	uint64_t inline_writes;	  /* write chunks done on a reactor */
	uint64_t engine_writes;	  /* ... given to io_uring or threads */
	uint64_t inline_slow;	  /* inline ones over the slow mark */
	uint64_t zero_copy_reads; /* reads answered by reference */
	uint64_t inline_reads;	  /* lone cached reads done on a reactor */
};
void env_real_disk_stats(struct env *e, struct env_real_disk_stats *out);

/* A new reactor and its environment; NULL (after a line on stderr) when
 * the kernel refuses epoll or eventfd. */
struct env *env_real_new(const struct env_real_opts *o);

/* Run the reactors until env_real_stop(): reactor 0 (e) on this thread,
 * the others on threads started here and joined before returning.
 * Returns 0, or -errno if epoll itself (or a thread) failed.  Work posted
 * but not yet run when the group stops runs at the next env_real_run(). */
int env_real_run(struct env *e);

/* How many reactors e's group has. */
unsigned int env_real_reactors(struct env *e);

/* Make env_real_run() return after the current loop iteration, every
 * reactor of the group stopping.  Safe from a callback, from another
 * thread and from a signal handler. */
void env_real_stop(struct env *e);

/* Deliver signo (SIGINT, SIGTERM, SIGHUP, ...) on the reactor through a
 * signalfd instead of asynchronously.  The signal is blocked in the calling
 * thread: call this before creating threads so that they inherit the mask.
 * fn == NULL blocks and ignores the signal.  Returns 0 or -errno. */
typedef void (*env_real_signal_fn)(void *arg, int signo);
int env_real_on_signal(struct env *e, int signo, env_real_signal_fn fn,
		       void *arg);

/* The local port a listener is bound to (useful after listening on port 0). */
uint16_t env_real_listener_port(const struct env_listener *l);

/* The control socket (control.c): a UNIX socket at path, private to the
 * daemon's user and root (directory 0700, socket 0600, SO_PEERCRED),
 * carrying one request per line.  fn gets each line (len bytes, no
 * newline; valid during the call) and must answer it exactly once with
 * env_real_control_reply(), now or later; the next line of that client
 * waits for it.  On reactor 0 (e).  0 or -errno (logged). */
struct env_real_control;
struct env_real_ctl_client;
typedef void (*env_real_control_fn)(void *arg, struct env_real_ctl_client *cl,
				    const char *line, size_t len);
int env_real_control_listen(struct env *e, const char *path,
			    env_real_control_fn fn, void *arg,
			    struct env_real_control **out);
/* line: one reply without its newline; NULL drops the client. */
void env_real_control_reply(struct env_real_ctl_client *cl, const char *line);
void env_real_control_reply_error(struct env_real_ctl_client *cl,
				  const char *why);
/* Stop listening, drop the clients and remove the socket file. */
void env_real_control_close(struct env_real_control *c);

/* systemd's notification protocol (sd_notify(3)), without libsystemd:
 * one datagram to $NOTIFY_SOCKET ("READY=1", "STATUS=...").  Nothing
 * when the variable is unset.  0 or -errno. */
int env_real_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Close what the target left open (connections, listeners) without
 * callbacks, and free the reactor.  Timers and disks should have been freed
 * by their owners first. */
void env_real_free(struct env *e);

#endif
