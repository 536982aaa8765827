/*
 * env_real.c — the real world's env: its reactors built and freed, the
 * env_ops vtable, and the calls that need no loop: clock, mutexes,
 * signals, randomness and the log sink.  reactor.c runs the loops
 * (epoll, timers, deferred and posted work); net.c, state.c,
 * disk_file_open.c and open_async.c supply the rest of the vtable.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "env_real/env_real_int.h"

/* ------------------------------------------------------------- clock */

uint64_t er_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* target/'s clock.  On its own loop, the time of the loop turn
 * (r->turn_ns): every command of a turn asked it two or three times
 * (arrival, the SCSI layer's start and end of its latency), a vDSO
 * clock read each.  Elsewhere (setup, other threads, a reactor asleep)
 * the clock itself. */
static uint64_t er_env_now_ns(struct env *e)
{
	struct er_reactor *r = er_reactor_of(e);

	if (er_self == r && r->turn_ns != 0)
		return r->turn_ns;
	return er_now_ns();
}

uint64_t er_turn_clock(struct er_reactor *r)
{
	uint64_t now = er_now_ns();

	if (er_self == r) {
		/* monotonic: never behind what target/ was told before */
		ut_assert(now >= r->turn_ns);
		r->turn_ns = now;
	}
	return now;
}

/* ------------------------------------------------------------ mutexes */

struct env_mutex {
	pthread_mutex_t m;
};

static struct env_mutex *er_mutex_new(struct env *e)
{
	struct env_mutex *m = malloc(sizeof(*m));

	(void)e;
	if (m && pthread_mutex_init(&m->m, NULL) != 0) {
		free(m);
		m = NULL;
	}
	return m;
}

static void er_mutex_lock(struct env_mutex *m)
{
	int rc = pthread_mutex_lock(&m->m);

	ut_assert(rc == 0);
}

static void er_mutex_unlock(struct env_mutex *m)
{
	int rc = pthread_mutex_unlock(&m->m);

	ut_assert(rc == 0);
}

static void er_mutex_free(struct env_mutex *m)
{
	/* EBUSY: freed while held (simnet's checking mutex says the same). */
	int rc = pthread_mutex_destroy(&m->m);

	ut_assert(rc == 0);
	free(m);
}

/* ------------------------------------------------------------ signals */

static void er_signal_event(struct er_watch *w, uint32_t events)
{
	struct er_reactor *r = er_container_of(w, struct er_reactor, sig_watch);
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int signo = (int)si.ssi_signo;

		if (signo > 0 && signo < ER_MAX_SIGNAL && r->sig[signo].fn)
			r->sig[signo].fn(r->sig[signo].arg, signo);
	}
}

int env_real_on_signal(struct env *e, int signo, env_real_signal_fn fn,
		       void *arg)
{
	struct er_reactor *r = er_reactor_of(e);
	sigset_t one;
	int fd, rc;

	if (signo <= 0 || signo >= ER_MAX_SIGNAL || signo == SIGKILL ||
	    signo == SIGSTOP)
		return -EINVAL;
	/* Signals belong to reactor 0, set up before the loops run. */
	ut_assert(r->index == 0);
	ut_assert(er_self == NULL);
	sigemptyset(&one);
	sigaddset(&one, signo);
	rc = pthread_sigmask(SIG_BLOCK, &one, NULL);
	if (rc != 0)
		return -rc;
	sigaddset(&r->sig_mask, signo);
	fd = signalfd(r->sig_fd, &r->sig_mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (r->sig_fd < 0) {
		r->sig_fd = fd;
		r->sig_watch.fd = fd;
		r->sig_watch.fn = er_signal_event;
		rc = er_watch_add(r, &r->sig_watch, EPOLLIN);
		if (rc < 0) {
			close(fd);
			r->sig_fd = -1;
			return rc;
		}
	}
	r->sig[signo].fn = fn;
	r->sig[signo].arg = arg;
	return 0;
}

/* --------------------------------------------------------- randomness */

static void er_random_fill(struct er_reactor *r)
{
	size_t got = 0;

	while (got < sizeof(r->rnd)) {
		ssize_t n = getrandom(r->rnd + got, sizeof(r->rnd) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* CHAP and TSIH must not be predictable: better to
			 * stop than to go on with weak numbers. */
			LOG_ERR(&r->env, "getrandom: %s",
				n < 0 ? strerror(errno) : "no bytes");
			abort();
		}
		got += (size_t)n;
	}
	r->rnd_pos = 0;
}

static uint64_t er_random_u64(struct env *e)
{
	struct er_reactor *r = er_reactor_of(e);
	uint64_t v;

	ut_assert(er_owned(r)); /* the buffer has no lock */
	if (r->rnd_pos + sizeof(v) > sizeof(r->rnd))
		er_random_fill(r);
	ut_assert(r->rnd_pos + sizeof(v) <= sizeof(r->rnd));
	memcpy(&v, r->rnd + r->rnd_pos, sizeof(v));
	/* Never hand out the same bytes twice. */
	memset(r->rnd + r->rnd_pos, 0, sizeof(v));
	r->rnd_pos += sizeof(v);
	return v;
}

/* ---------------------------------------------------------------- log */

static void er_log(struct env *e, enum ut_log_level level, const char *line)
{
	struct er_reactor *r = er_reactor_of(e);
	char buf[1280];
	size_t off = 0;
	int n;

	if (r->log_timestamps) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		off = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(buf + off, sizeof(buf) - off, ".%03ldZ ",
			     ts.tv_nsec / 1000000L);
		off += n > 0 ? (size_t)n : 0;
	}
	n = snprintf(buf + off, sizeof(buf) - off,
		     "utarget[%s]: ", ut_log_level_name(level));
	if (n < 0)
		return;
	off += (size_t)n;
	/* Lines carry names from the network (initiator names, keys): a
	 * control character must not forge or garble a log line. */
	for (const char *p = line; *p && off < sizeof(buf) - 1; p++) {
		unsigned char ch = (unsigned char)*p;

		buf[off++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	ut_assert(off < sizeof(buf)); /* room for the newline kept */
	buf[off++] = '\n';
	/* One unbuffered write per line: lines of several threads never
	 * interleave, and nothing waits in a stdio buffer at a crash. */
	for (size_t done = 0; done < off;) {
		ssize_t w = write(STDERR_FILENO, buf + done, off - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
}

/* ------------------------------------------------------ env lifecycle */

/* The operations, with or without conn_send_file (--send-file). */
#define ER_OPS(send_file)                                                     \
	{                                                                     \
		.now_ns = er_env_now_ns, .timer_new = er_timer_new,           \
		.timer_arm = er_timer_arm, .timer_cancel = er_timer_cancel,   \
		.timer_free = er_timer_free, .listen = er_listen,             \
		.listener_close = er_listener_close,                          \
		.conn_set_handler = er_conn_set_handler,                      \
		.conn_recv = er_conn_recv, .conn_send = er_conn_send,         \
		.conn_send_file = send_file, .conn_unacked = er_conn_unacked, \
		.conn_want_write = er_conn_want_write,                        \
		.conn_set_more = er_conn_set_more,                            \
		.conn_close = er_conn_close, .disk_open = er_disk_open,       \
		.disk_open_async = er_disk_open_async,                        \
		.state_put = er_state_put, .state_get = er_state_get,         \
		.random_u64 = er_random_u64, .log = er_log, .post = er_post,  \
		.mutex_new = er_mutex_new, .mutex_lock = er_mutex_lock,       \
		.mutex_unlock = er_mutex_unlock, .mutex_free = er_mutex_free, \
	}

static const struct env_ops er_ops = ER_OPS(er_conn_send_file);

/* --send-file off (the default): Data-In by reference goes from memory
 * with sendmsg (the mapping of the file), as before. */
static const struct env_ops er_ops_no_send_file = ER_OPS(NULL);

static void er_reactor_free(struct er_reactor *r);

static struct er_reactor *er_reactor_new(const struct env_real_opts *o,
					 struct er_group *g, unsigned int index)
{
	struct er_reactor *r = calloc(1, sizeof(*r));
	const char *no_uring = getenv("UTARGET_NO_URING");

	if (!r)
		return NULL;
	r->env.ops = &er_ops;
	if (!o->send_file)
		r->env.ops = &er_ops_no_send_file;
	r->zeros_fd = -1;
	r->env.log_level = o->log_level;
	r->env.zero_copy = !o->no_zero_copy;
	r->env.priv = r;
	r->group = g;
	r->index = index;
	ut_heap_init(&r->timers);
	r->log_timestamps = o->log_timestamps;
	er_poll_init(&r->poll, (uint64_t)o->poll_us * 1000u);
	r->inline_writes = o->inline_writes;
	r->no_cork = o->no_cork;
	r->no_zero_copy = o->no_zero_copy;
	r->no_inline_reads = o->no_inline_reads;
	r->inline_slow_ns = o->inline_slow_ns;
	r->disable_uring =
		o->disable_uring ||
		(no_uring && strcmp(no_uring, "0") != 0 && no_uring[0] != '\0');
	r->epfd = r->wake_fd = r->sig_fd = -1;
	r->rnd_pos = sizeof(r->rnd); /* empty: fill on first use */
	TAILQ_INIT(&r->defers);
	TAILQ_INIT(&r->posts);
	TAILQ_INIT(&r->msgs);
	TAILQ_INIT(&r->jobs);
	TAILQ_INIT(&r->conns);
	TAILQ_INIT(&r->dead_conns);
	TAILQ_INIT(&r->listeners);
	TAILQ_INIT(&r->dead_listeners);
	sigemptyset(&r->sig_mask);
	atomic_init(&r->stop, false);
	pthread_mutex_init(&r->post_lock, NULL);
	if (o->state_dir) {
		r->state_dir = strdup(o->state_dir);
		if (!r->state_dir)
			goto fail;
	}
	if (o->record_dir) {
		r->record_dir = strdup(o->record_dir);
		if (!r->record_dir)
			goto fail;
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		goto fail;
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->wake_fd < 0)
		goto fail;
	r->wake_watch.fd = r->wake_fd;
	r->wake_watch.fn = er_wake_event;
	if (er_watch_add(r, &r->wake_watch, EPOLLIN) < 0)
		goto fail;
	ut_assert(r->timer_count == 0 && r->defer_count == 0);
	ut_assert(r->index < ER_MAX_REACTORS);
	return r;
fail:
	fprintf(stderr, "utarget[error]: cannot create the reactor: %s\n",
		strerror(errno));
	er_reactor_free(r);
	return NULL;
}

struct env *env_real_new(const struct env_real_opts *o)
{
	struct er_group *g = calloc(1, sizeof(*g));
	unsigned int n = o->reactors ? o->reactors : 1;

	if (!g)
		return NULL;
	if (n > ER_MAX_REACTORS) {
		fprintf(stderr, "utarget[error]: at most %d reactors\n",
			ER_MAX_REACTORS);
		free(g);
		return NULL;
	}
	er_crc_init();
	/* sendfile(2) to a socket the peer closed raises SIGPIPE (it has
	 * no MSG_NOSIGNAL: net.c, er_conn_send_file): ignored unless the
	 * program handles it (the daemon blocks it, env_real_on_signal). */
	if (o->send_file) {
		struct sigaction sa;

		if (sigaction(SIGPIPE, NULL, &sa) == 0 &&
		    sa.sa_handler == SIG_DFL && !(sa.sa_flags & SA_SIGINFO))
			signal(SIGPIPE, SIG_IGN);
	}
	atomic_init(&g->next_conn, 0);
	atomic_init(&g->record_seq, 0);
	for (unsigned int i = 0; i < n; i++) {
		g->r[i] = er_reactor_new(o, g, i);
		if (!g->r[i]) {
			while (i-- > 0)
				er_reactor_free(g->r[i]);
			free(g);
			return NULL;
		}
		g->n = i + 1;
		ut_assert(g->r[i]->group == g && g->r[i]->index == i);
	}
	ut_assert(g->n == n);
	return &g->r[0]->env;
}

unsigned int env_real_reactors(struct env *e)
{
	return er_reactor_of(e)->group->n;
}

void env_real_disk_stats(struct env *e, struct env_real_disk_stats *out)
{
	struct er_group *g = er_reactor_of(e)->group;

	*out = (struct env_real_disk_stats){0};
	for (unsigned int i = 0; i < g->n; i++)
		er_disk_stats_add(g->r[i], out);
}

/* Close a reactor's fds and free it (not its group). */
static void er_reactor_free(struct er_reactor *r)
{
	struct er_post *p;

	if (!r)
		return;
	/* After the loops: nothing runs on it any more. */
	ut_assert(er_self == NULL);
	er_jobs_free(r);
	if (r->epfd >= 0) {
		er_net_free_all(r);
		er_disk_engine_free(r);
	}
	ut_assert(TAILQ_EMPTY(&r->conns) && TAILQ_EMPTY(&r->dead_conns));
	if (r->timer_count > 0)
		LOG_DEBUG(&r->env, "reactor freed with %zu timers not freed",
			  r->timer_count);
	/* Detach surviving timers from the heap we are about to free. */
	ut_heap_fini(&r->timers);
	while ((p = TAILQ_FIRST(&r->posts))) { /* never ran: the group
						 * stopped first */
		TAILQ_REMOVE(&r->posts, p, link);
		free(p);
	}
	/* Signals stay blocked: unblocking would let a pending SIGTERM kill
	 * the process in the middle of its orderly shutdown. */
	if (r->sig_fd >= 0)
		close(r->sig_fd);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->zeros_fd >= 0)
		close(r->zeros_fd);
	pthread_mutex_destroy(&r->post_lock);
	free(r->state_dir);
	free(r->record_dir);
	free(r);
}

void env_real_free(struct env *e)
{
	struct er_group *g;

	if (!e)
		return;
	g = er_reactor_of(e)->group;
	/* Others first: reactor 0 may hold the listeners and files whose
	 * memory the others' leftovers never reference. */
	for (unsigned int i = g->n; i-- > 0;)
		er_reactor_free(g->r[i]);
	free(g);
}
