/*
 * env.h — the environment seam.
 *
 * Everything in target/ reaches time, the network, disks, randomness,
 * durable state and logging through this header and nothing else.  Two
 * implementations exist:
 *
 *   target/env_real/   the deployable world: epoll reactor, TCP sockets,
 *                      files and block devices (io_uring), getrandom(2);
 *   simnet/            the simulated world: a virtual clock, a seeded PRNG,
 *                      a lossy byte-stream network and a crashable disk.
 *
 * Contract, from the target's point of view:
 *
 *  - Single-threaded per reactor.  Every callback that concerns a connection,
 *    a timer or a disk request runs on the reactor that owns it, never
 *    concurrently with another callback of the same reactor.
 *  - Several reactors.  An environment may run several reactors, each on
 *    its own thread, each with its own struct env.  A connection belongs to
 *    the reactor named in its env_conn_info (info.env); its timers are
 *    created on that env and armed only from that reactor.  A disk request
 *    completes on the reactor that submitted it.  Work for another reactor
 *    goes there with env_post(); state shared by reactors is guarded by
 *    env mutexes.  An environment with one reactor (simnet, the fakes) may
 *    leave post and the mutex operations NULL.
 *  - Byte streams, not messages.  env_conn_recv() may return any number of
 *    bytes from 1 up to what was asked; env_conn_send() may accept only part
 *    of what it is given.  PDU framing is target logic.
 *  - No callback is invoked from inside the call that caused it, with one
 *    documented exception: a backstore request may complete synchronously
 *    (see backstore.h).
 *  - Once the target has called env_conn_close() on a connection, the
 *    environment makes no further callback for it.
 */
#ifndef UT_ENV_H
#define UT_ENV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct env;
struct env_conn;
struct env_listener;
struct env_timer;
struct env_mutex;
struct bs_dev;
struct bs_dev_params;

/* ---------------------------------------------------------------- logging */

enum ut_log_level {
	UT_LOG_ERROR = 0,
	UT_LOG_WARN = 1,
	UT_LOG_INFO = 2,
	UT_LOG_DEBUG = 3,
	UT_LOG_TRACE = 4,
};

/* ------------------------------------------------------------ callbacks */

/* A timer fired.  The timer is disarmed when this runs; re-arm to repeat. */
typedef void (*env_timer_fn)(void *arg);

/* Per-connection callbacks, installed with env_conn_set_handler(). */
struct env_conn_handler {
	/* Bytes are waiting: call env_conn_recv() until it returns 0.  It
	 * may also come when none are (env_real polls a busy connection by
	 * reading): env_conn_recv() then returns 0 at once. */
	void (*on_readable)(void *ctx);
	/* Room to send again after env_conn_want_write(conn, true). */
	void (*on_writable)(void *ctx);
	/* The peer closed, reset, or the link failed (errno-style err, 0 for
	 * an orderly FIN).  The target must still call env_conn_close(). */
	void (*on_closed)(void *ctx, int err);
};

/* Addresses of an accepted connection, in printable form. */
struct env_conn_info {
	char local_addr[64]; /* "127.0.0.1:3260" or "[::1]:3260" */
	char peer_addr[64];
	uint16_t portal_group;	     /* the listener's portal group tag */
	unsigned int listener_index; /* position in listen order */
	/* The reactor that owns the connection: its callbacks run there and
	 * its timers must be created on this env.  NULL: the listener's. */
	struct env *env;
};

/* A new connection arrived on a listener.  The target takes ownership and
 * must call env_conn_set_handler() (or env_conn_close()) before returning. */
typedef void (*env_accept_fn)(void *arg, struct env_conn *conn,
			      const struct env_conn_info *info);

/* A backstore opened off the reactor (disk_open_async): rc 0 and the
 * device, or -errno and NULL. */
typedef void (*env_disk_opened_fn)(void *arg, int rc, struct bs_dev *dev);

/* conn_send_file's fd for zeros: the environment sends them from a file
 * of its own (the null backstore's reads). */
#define ENV_FD_ZEROS (-2)

/* ----------------------------------------------------------- the vtable */

struct env_ops {
	/* clock: monotonic nanoseconds since an arbitrary origin */
	uint64_t (*now_ns)(struct env *env);

	/* timers: allocated once, armed and cancelled many times */
	struct env_timer *(*timer_new)(struct env *env, env_timer_fn fn,
				       void *arg);
	void (*timer_arm)(struct env_timer *t, uint64_t deadline_ns);
	void (*timer_cancel)(struct env_timer *t);
	void (*timer_free)(struct env_timer *t);

	/* network */
	int (*listen)(struct env *env, const char *addr_port,
		      uint16_t portal_group, env_accept_fn fn, void *arg,
		      struct env_listener **out);
	void (*listener_close)(struct env_listener *l);
	void (*conn_set_handler)(struct env_conn *c,
				 const struct env_conn_handler *h, void *ctx);
	/* > 0 bytes read, 0 nothing now (or EOF pending: on_closed follows),
	 * < 0 -errno on a dead connection. */
	ssize_t (*conn_recv)(struct env_conn *c, void *buf, size_t len);
	/* >= 0 bytes accepted (maybe fewer than offered), < 0 -errno. */
	ssize_t (*conn_send)(struct env_conn *c, const struct iovec *iov,
			     int iovcnt);
	/* Optional (NULL: the target sends such data from memory with
	 * conn_send).  Send iov[0..iovcnt), then len bytes of the file fd
	 * from offset off (fd ENV_FD_ZEROS: len zero bytes), as one stream:
	 * a zero-copy read's Data-In (backstore.h, bs_ref), whose pages the
	 * backstore found in the page cache.  The file's bytes go only once
	 * every iovec went.  >= 0 bytes accepted, iovecs first (maybe fewer
	 * than offered), < 0 -errno, as conn_send. */
	ssize_t (*conn_send_file)(struct env_conn *c, const struct iovec *iov,
				  int iovcnt, int fd, uint64_t off,
				  uint64_t len);
	/* Optional (with conn_send_file; NULL: bytes count as acknowledged
	 * once accepted).  Bytes accepted on c (by conn_send or
	 * conn_send_file) that the peer has not acknowledged yet, unsent
	 * ones included (SIOCOUTQ), or -errno.  A file's bytes stay
	 * references to its pages until acknowledged: a lost segment is
	 * resent from the pages as they are then. */
	ssize_t (*conn_unacked)(struct env_conn *c);
	void (*conn_want_write)(struct env_conn *c, bool want);
	/* Hint: more PDUs follow immediately (cork) or the burst is over. */
	void (*conn_set_more)(struct env_conn *c, bool more);
	/* Closes c.  Bytes sent from a file (conn_send_file) that are not
	 * acknowledged yet never arrive: the connection is then reset (its
	 * unsent bytes dropped, RST) rather than closed, so that the target
	 * may let their ranges change at once (iscsi/conn_ack.c). */
	void (*conn_close)(struct env_conn *c);

	/* disks: open a file/block-device backstore (real world) or a
	 * simulated one (simnet).  mem and null backstores live in target/. */
	int (*disk_open)(struct env *env, const struct bs_dev_params *p,
			 struct bs_dev **out);
	/* The same, for a running server (live reconfiguration), where
	 * opening may wait on something remote (an rbd: image's cluster, a
	 * tcmu plugin's) and no reactor may wait with it: the open runs
	 * elsewhere and done(arg, ...) runs later on env's reactor, never
	 * inside this call.  p is copied.  0: done follows; -ENOTSUP: this
	 * kind opens quickly, use disk_open.  NULL: every open is quick. */
	int (*disk_open_async)(struct env *env, const struct bs_dev_params *p,
			       env_disk_opened_fn done, void *arg);

	/* durable key/value state (persistent reservations with APTPL):
	 * put is atomic (write, fsync, rename); get returns the length
	 * stored, -ENOENT if absent, or -errno. */
	int (*state_put)(struct env *env, const char *key, const void *data,
			 size_t len);
	ssize_t (*state_get)(struct env *env, const char *key, void *buf,
			     size_t cap);

	/* randomness: CHAP challenges, TSIH, target transfer tags */
	uint64_t (*random_u64)(struct env *env);

	/* logging sink: one formatted line without trailing newline */
	void (*log)(struct env *env, enum ut_log_level level, const char *line);

	/* Several reactors (NULL members: the environment has one).
	 * post: run fn(arg) on the reactor of `to`, soon, never inside this
	 * call; callable from any reactor.  0 or -errno. */
	int (*post)(struct env *to, env_timer_fn fn, void *arg);
	struct env_mutex *(*mutex_new)(struct env *env);
	void (*mutex_lock)(struct env_mutex *m);
	void (*mutex_unlock)(struct env_mutex *m);
	void (*mutex_free)(struct env_mutex *m);
};

struct env {
	const struct env_ops *ops;
	enum ut_log_level log_level;
	/* The backstores of target/ (mem) may answer a READ asked for by
	 * reference with one into their own memory (backstore.h, bs_ref):
	 * the daemon's --zero-copy on.  The simulated world leaves it off. */
	bool zero_copy;
	void *priv; /* the implementation's own state */
};

/* ---------------------------------------------------- inline wrappers */

static inline uint64_t env_now_ns(struct env *e)
{
	return e->ops->now_ns(e);
}
static inline struct env_timer *env_timer_new(struct env *e, env_timer_fn fn,
					      void *arg)
{
	return e->ops->timer_new(e, fn, arg);
}
static inline void env_timer_arm(struct env *e, struct env_timer *t,
				 uint64_t deadline_ns)
{
	e->ops->timer_arm(t, deadline_ns);
}
static inline void env_timer_cancel(struct env *e, struct env_timer *t)
{
	e->ops->timer_cancel(t);
}
static inline void env_timer_free(struct env *e, struct env_timer *t)
{
	if (t)
		e->ops->timer_free(t);
}

/* Mutexes: NULL (and every operation a no-op) with one reactor. */
static inline struct env_mutex *env_mutex_new(struct env *e)
{
	return e->ops->mutex_new ? e->ops->mutex_new(e) : NULL;
}
static inline void env_mutex_lock(struct env *e, struct env_mutex *m)
{
	if (m)
		e->ops->mutex_lock(m);
}
static inline void env_mutex_unlock(struct env *e, struct env_mutex *m)
{
	if (m)
		e->ops->mutex_unlock(m);
}
static inline void env_mutex_free(struct env *e, struct env_mutex *m)
{
	if (m)
		e->ops->mutex_free(m);
}

/* Run fn(arg) on the reactor of `to`; -ENOTSUP with one reactor (where
 * the caller is always on `to` already). */
static inline int env_post(struct env *to, env_timer_fn fn, void *arg)
{
	return to->ops->post ? to->ops->post(to, fn, arg) : -95 /* ENOTSUP */;
}

static inline uint64_t env_random_u64(struct env *e)
{
	return e->ops->random_u64(e);
}

/* Fill buf with len random bytes from the environment's source. */
void env_random_bytes(struct env *e, void *buf, size_t len);

/* Levelled logging; formats and hands one line to the sink. */
void ut_log(struct env *e, enum ut_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define UT_LOG(e, lvl, ...)                              \
	do {                                             \
		if ((lvl) <= (e)->log_level)             \
			ut_log((e), (lvl), __VA_ARGS__); \
	} while (0)
#define LOG_ERR(e, ...) UT_LOG(e, UT_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(e, ...) UT_LOG(e, UT_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(e, ...) UT_LOG(e, UT_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(e, ...) UT_LOG(e, UT_LOG_DEBUG, __VA_ARGS__)
#define LOG_TRACE(e, ...) UT_LOG(e, UT_LOG_TRACE, __VA_ARGS__)

const char *ut_log_level_name(enum ut_log_level l);
int ut_log_level_parse(const char *s, enum ut_log_level *out);

#endif
