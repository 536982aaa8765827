/*
 * reactor.c — one reactor's loop: epoll watches, timers, deferred work,
 * work and messages posted from other threads, adaptive polling, and the
 * threads the loops run on (env_real_run, env_real_stop).  env_real.c
 * builds the reactors and the env around them.
 *
 * One loop iteration:
 *   1. submit the disk requests queued since the last iteration (batched),
 *      and fire the timers due if that did something (the responses of
 *      what completed there);
 *   2. epoll_wait, sleeping until the earliest timer at most (0 when
 *      deferred work is queued);
 *   3. dispatch the ready fds (connections, listeners, disk completions,
 *      signals, wake-ups);
 *   4. fire the timers that are due;
 *   5. run deferred work (on_closed, early disk completions), then work
 *      posted by other threads;
 *   6. free connections and listeners closed during the iteration: only now
 *      can no event of this epoll batch still point at them.
 *
 * Several reactors (env_real_opts.reactors): one loop per thread, each
 * with its own epoll set, timers, defers, post queue and disk engine.
 * env_real_run() runs reactor 0 on the calling thread and the others on
 * threads of their own; env_real_stop() stops them all.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "env_real/env_real_int.h"

#define ER_EPOLL_BATCH 64
/* Sleep at most this long: a bound, not a tick; nothing relies on it. */
#define ER_MAX_SLEEP_MS 60000

__thread struct er_reactor *er_self;

/* ------------------------------------------------------------- timers */

struct env_timer {
	struct er_reactor *r;
	env_timer_fn fn;
	void *arg;
	/* deadline (at_ns) and arming order (seq: equal deadlines fire
	 * FIFO); in r->timers while armed */
	struct ut_heap_node node;
};

static struct env_timer *er_timer_of(struct ut_heap_node *n)
{
	return (struct env_timer *)(void *)((char *)n -
					    offsetof(struct env_timer, node));
}

struct env_timer *er_timer_new(struct env *e, env_timer_fn fn, void *arg)
{
	struct er_reactor *r = er_reactor_of(e);
	struct env_timer *t;

	ut_assert(er_owned(r));
	ut_assert(fn != NULL);
	/* Reserve the heap slot now so that timer_arm never allocates. */
	if (ut_heap_reserve(&r->timers, r->timer_count + 1) != 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->r = r;
	t->fn = fn;
	t->arg = arg;
	ut_heap_node_init(&t->node);
	r->timer_count++;
	/* Room for every timer: arming never allocates (nor fails). */
	ut_assert(r->timers.cap >= r->timer_count);
	return t;
}

void er_timer_cancel(struct env_timer *t)
{
	ut_assert(er_owned(t->r));
	if (ut_heap_node_queued(&t->node))
		ut_heap_remove(&t->r->timers, &t->node);
	ut_assert(!ut_heap_node_queued(&t->node));
}

void er_timer_arm(struct env_timer *t, uint64_t deadline_ns)
{
	struct er_reactor *r = t->r;

	/* Armed only from its own reactor (env.h): its heap has no lock. */
	ut_assert(er_owned(r));
	er_timer_cancel(t);
	t->node.at_ns = deadline_ns;
	t->node.seq = r->timer_seq++;
	ut_heap_push(&r->timers, &t->node);
	ut_assert(r->timers.len <= r->timer_count);
}

void er_timer_free(struct env_timer *t)
{
	er_timer_cancel(t);
	ut_assert(t->r->timer_count > 0); /* pair: er_timer_new */
	t->r->timer_count--;
	free(t);
}

/* Fire the timers due now.  A timer armed by a callback of this pass
 * waits for the next iteration, even if already due, so that a callback
 * re-arming at "now" cannot starve the network. */
static void er_timers_run(struct er_reactor *r)
{
	uint64_t now = er_now_ns();
	uint64_t seq_limit = r->timer_seq;

	struct ut_heap_node *n;

	ut_assert(er_self == r);
	while ((n = ut_heap_top(&r->timers)) != NULL) {
		struct env_timer *t = er_timer_of(n);

		if (n->at_ns > now || n->seq >= seq_limit)
			break;
		ut_heap_remove(&r->timers, n);
		/* Disarmed when it runs (env.h): it may re-arm itself. */
		ut_assert(!ut_heap_node_queued(n) && t->r == r);
		t->fn(t->arg);
	}
}

/* ---------------------------------------------------- epoll and defers */

int er_watch_add(struct er_reactor *r, struct er_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	ut_assert(w->fd >= 0 && w->fn != NULL);
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -errno;
	return 0;
}

int er_watch_mod(struct er_reactor *r, struct er_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return -errno;
	return 0;
}

void er_watch_del(struct er_reactor *r, struct er_watch *w)
{
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

/* defer_count is the length of the defers list (walks it). */
static bool er_defers_ok(const struct er_reactor *r)
{
	const struct er_defer *d;
	size_t n = 0;

	TAILQ_FOREACH (d, &r->defers, link) {
		if (!d->queued)
			return false;
		n++;
	}
	return n == r->defer_count;
}

void er_defer_queue(struct er_reactor *r, struct er_defer *d)
{
	ut_assert(er_owned(r));
	ut_assert(d->fn != NULL);
	if (d->queued)
		return;
	d->queued = true;
	TAILQ_INSERT_TAIL(&r->defers, d, link);
	r->defer_count++;
	ut_assert_slow(er_defers_ok(r));
}

void er_defer_cancel(struct er_reactor *r, struct er_defer *d)
{
	ut_assert(er_owned(r));
	if (!d->queued)
		return;
	ut_assert(r->defer_count > 0); /* pair: er_defer_queue */
	d->queued = false;
	TAILQ_REMOVE(&r->defers, d, link);
	r->defer_count--;
}

/* Run the work queued so far; work queued meanwhile waits one iteration
 * (fairness).  Counting instead of swapping lists keeps cancel valid. */
static void er_defers_run(struct er_reactor *r)
{
	size_t n = r->defer_count;

	ut_assert(er_self == r);
	ut_assert_slow(er_defers_ok(r));
	while (n-- > 0 && !TAILQ_EMPTY(&r->defers)) {
		struct er_defer *d = TAILQ_FIRST(&r->defers);

		er_defer_cancel(r, d);
		ut_assert(!d->queued);
		d->fn(d);
	}
}

static int er_timeout_ms(struct er_reactor *r)
{
	struct ut_heap_node *first = ut_heap_top(&r->timers);
	uint64_t now, wait_ns;

	if (r->defer_count > 0 || atomic_load(&r->stop))
		return 0;
	/* Posts wake us through wake_fd: no need to look at them here. */
	if (first == NULL)
		return -1;
	now = er_now_ns();
	if (first->at_ns <= now)
		return 0;
	/* Round up: waking early would only spin until the deadline. */
	wait_ns = first->at_ns - now;
	ut_assert(wait_ns > 0);
	if (wait_ns / 1000000u >= ER_MAX_SLEEP_MS)
		return ER_MAX_SLEEP_MS;
	ut_assert((wait_ns + 999999u) / 1000000u <= ER_MAX_SLEEP_MS);
	return (int)((wait_ns + 999999u) / 1000000u);
}

static void er_drain_eventfd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

void er_wake_event(struct er_watch *w, uint32_t events)
{
	(void)events;
	er_drain_eventfd(w->fd);
}

/* Work posted from other threads, in order.  Work they post while this
 * runs waits for the next iteration (its wake-up is already counted). */
static void er_posts_run(struct er_reactor *r)
{
	TAILQ_HEAD(, er_post) batch = TAILQ_HEAD_INITIALIZER(batch);
	TAILQ_HEAD(, er_msg) msgs = TAILQ_HEAD_INITIALIZER(msgs);
	struct er_post *p;
	struct er_msg *m;

	/* Posted work runs on the reactor it was posted to (env_post). */
	ut_assert(er_self == r);
	pthread_mutex_lock(&r->post_lock);
	TAILQ_CONCAT(&batch, &r->posts, link);
	/* Taken: er_msg_cancel() no longer finds these. */
	TAILQ_FOREACH (m, &r->msgs, link)
		m->queued = false;
	TAILQ_CONCAT(&msgs, &r->msgs, link);
	pthread_mutex_unlock(&r->post_lock);
	while ((p = TAILQ_FIRST(&batch))) {
		TAILQ_REMOVE(&batch, p, link);
		ut_assert(p->fn != NULL);
		p->fn(p->arg);
		free(p);
	}
	while ((m = TAILQ_FIRST(&msgs))) {
		TAILQ_REMOVE(&msgs, m, link);
		m->fn(m);
	}
}

void er_msg_send(struct er_reactor *r, struct er_msg *m)
{
	uint64_t one = 1;
	bool wake;
	ssize_t n;

	pthread_mutex_lock(&r->post_lock);
	/* Once until it runs: a message linked in twice would loop the
	 * reactor's list. */
	ut_assert(!m->queued);
	/* Only the first message of a batch wakes the loop: the others are
	 * taken with it, since the loop empties the list under this lock
	 * after reading the eventfd. */
	wake = TAILQ_EMPTY(&r->msgs);
	TAILQ_INSERT_TAIL(&r->msgs, m, link);
	m->queued = true;
	pthread_mutex_unlock(&r->post_lock);
	if (wake) {
		n = write(r->wake_fd, &one, sizeof(one));
		(void)n; /* a full counter still wakes the reactor */
	}
}

bool er_msg_cancel(struct er_reactor *r, struct er_msg *m)
{
	bool was;

	pthread_mutex_lock(&r->post_lock);
	was = m->queued;
	if (was) {
		TAILQ_REMOVE(&r->msgs, m, link);
		m->queued = false;
	}
	pthread_mutex_unlock(&r->post_lock);
	return was;
}

int er_post(struct env *to, env_timer_fn fn, void *arg)
{
	struct er_reactor *r = er_reactor_of(to);
	struct er_post *p = malloc(sizeof(*p));
	uint64_t one = 1;
	ssize_t n;

	/* Within one group, to a reactor that has a wake-up to ring. */
	ut_assert(er_self == NULL || er_self->group == r->group);
	ut_assert(r->wake_fd >= 0 && fn != NULL);
	if (!p)
		return -ENOMEM;
	p->fn = fn;
	p->arg = arg;
	pthread_mutex_lock(&r->post_lock);
	TAILQ_INSERT_TAIL(&r->posts, p, link);
	pthread_mutex_unlock(&r->post_lock);
	n = write(r->wake_fd, &one, sizeof(one));
	(void)n; /* a full counter still wakes the reactor */
	return 0;
}

/* Adaptive polling (poll_adapt.c) may poll while nothing else needs the
 * CPU: not while disk requests are out, since those that did not complete
 * inside io_uring_enter (buffered writes on ext4, cache misses) run on
 * kernel worker threads, and a polling reactor would take the CPU they
 * need to finish (4K random writes at QD32 ran at half speed). */
static bool er_may_poll(const struct er_reactor *r)
{
	return !er_disk_busy(r) && r->remote_inflight == 0;
}

/* The connection whose bytes alone an epoll batch of n was (only that:
 * not its writability nor its hang-up), or NULL. */
static struct env_conn *er_only_conn(const struct epoll_event *evs, int n)
{
	if (n != 1 || evs[0].events != EPOLLIN)
		return NULL;
	return er_conn_of_watch(evs[0].data.ptr);
}

/* What a loop turn does after its events. */
static void er_turn_end(struct er_reactor *r)
{
	er_timers_run(r);
	er_defers_run(r);
	er_posts_run(r);
	er_net_reap(r);
}

/* A poll by reading (poll_adapt.h): the turn receives from the one
 * connection that alone ended the last idle stretches, without asking
 * epoll; when bytes are there, recv returns them at once (one system call
 * where epoll_wait(0) and recv are two).  False: no such poll now; poll
 * with epoll_wait(0). */
static bool er_poll_by_reading(struct er_reactor *r)
{
	struct env_conn *c = er_poll_read_which(&r->poll);
	int got;

	if (!c)
		return false;
	er_turn_clock(r);
	got = er_conn_poll_read(c);
	if (got < 0)
		return false;
	/* c may have been closed meanwhile: then it is no longer the one */
	if (got > 0)
		er_poll_after(&r->poll, r->turn_ns, 1,
			      er_conn_pollable(c) ? c : NULL);
	er_turn_end(r);
	return true;
}

static int er_loop(struct er_reactor *r)
{
	struct epoll_event evs[ER_EPOLL_BATCH];
	int rc = 0;

	/* One loop per thread, never nested in a callback of another. */
	ut_assert(er_self == NULL);
	ut_assert(r->epfd >= 0);
	er_self = r;
	er_turn_clock(r);
	/* busy from the start (a loop stopped while idle runs again at
	 * shutdown: env_real_run) */
	er_poll_busy(&r->poll);
	while (!atomic_load(&r->stop)) {
		int n;

		int timeout;

		/* What the disk completed there (page-cache reads) answers
		 * from a flush timer due now: send it before epoll_wait
		 * rather than after an epoll_wait(0) that only says so. */
		if (er_disk_flush(r))
			er_timers_run(r);
		timeout = er_timeout_ms(r);
		if (timeout != 0 && r->poll.max_ns &&
		    er_poll_idle(&r->poll, er_now_ns(), er_may_poll(r))) {
			if (er_poll_by_reading(r))
				continue;
			timeout = 0;
		}
		n = epoll_wait(r->epfd, evs, ER_EPOLL_BATCH, timeout);
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			LOG_ERR(&r->env, "epoll_wait: %s", strerror(errno));
			break;
		}
		er_poll_waited(&r->poll);
		er_turn_clock(r);
		if (n > 0 && er_poll_is_idle(&r->poll))
			er_poll_after(&r->poll, r->turn_ns, n,
				      er_only_conn(evs, n));
		ut_assert(n <= ER_EPOLL_BATCH);
		for (int i = 0; i < n; i++) {
			struct er_watch *w = evs[i].data.ptr;

			w->fn(w, evs[i].events);
		}
		er_turn_end(r);
	}
	r->turn_ns = 0; /* off its loop: the clock itself */
	if (r->poll.hit || r->poll.missed)
		LOG_INFO(
			&r->env,
			"event=polling reactor=%u caught=%llu read_caught=%llu "
			"missed=%llu slept_through=%llu window_us=%.1f "
			"gap_us=%.1f",
			r->index, (unsigned long long)r->poll.hit,
			(unsigned long long)r->poll.read_hit,
			(unsigned long long)r->poll.missed,
			(unsigned long long)r->poll.skipped,
			(double)r->poll.window_ns / 1e3,
			(double)r->poll.gap_avg_ns / 1e3);
	er_self = NULL;
	return rc;
}

static void *er_thread_main(void *arg)
{
	struct er_reactor *r = arg;
	int rc = er_loop(r);

	if (rc < 0)
		env_real_stop(&r->env); /* one failed loop stops the group */
	return NULL;
}

int env_real_run(struct env *e)
{
	struct er_reactor *r0 = er_reactor_of(e);
	struct er_group *g = r0->group;
	unsigned int started = 1;
	int rc = 0;

	/* From main, outside every loop, on the group's reactor 0. */
	ut_assert(er_self == NULL);
	ut_assert(g->r[0] == r0 && g->n >= 1 && g->n <= ER_MAX_REACTORS);
	for (unsigned int i = 1; i < g->n; i++) {
		int err = pthread_create(&g->threads[i], NULL, er_thread_main,
					 g->r[i]);

		if (err) {
			LOG_ERR(e, "cannot start reactor %u: %s", i,
				strerror(err));
			rc = -err;
			break;
		}
		started++;
	}
	if (rc == 0)
		rc = er_loop(r0);
	env_real_stop(e);
	for (unsigned int i = 1; i < started; i++)
		pthread_join(g->threads[i], NULL);
	/* Run again later (main's orderly shutdown) from a clean state; what
	 * was posted meanwhile runs then. */
	for (unsigned int i = 0; i < g->n; i++)
		atomic_store(&g->r[i]->stop, false);
	return rc;
}

void env_real_stop(struct env *e)
{
	struct er_group *g = er_reactor_of(e)->group;
	uint64_t one = 1;
	ssize_t n;

	/* Wake sleeping loops when called from another thread or a signal
	 * handler (atomic store and write(2) are async-signal-safe). */
	for (unsigned int i = 0; i < g->n; i++) {
		atomic_store(&g->r[i]->stop, true);
		n = write(g->r[i]->wake_fd, &one, sizeof(one));
		(void)n;
	}
}
