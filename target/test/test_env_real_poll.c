/*
 * test_env_real_poll.c — adaptive polling (env_real/poll_adapt.c): which
 * idle stretches a reactor polls, for how long, and what it learns from
 * the gaps between going idle and the next event.  Times are synthetic:
 * nothing here depends on the speed of the machine.  The last test runs a
 * real reactor polling a busy connection by reading, and counts (round
 * trips, never time) how long its other work waits.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "env_real_rig.h"
#include "env_real/env_real_int.h"
#include "env_real/poll_adapt.h"

#define US 1000u
#define MAX_NS (50 * US)  /* --poll-us 50, the default */
#define POLL_NS (2 * US)  /* what one epoll_wait(0) takes */
#define WAKE_NS (15 * US) /* an idle CPU's wake-up */

struct sim {
	struct er_poll p;
	uint64_t now;
	uint64_t spun_ns; /* time spent polling in vain */
};

/* One idle stretch whose event arrives gap_ns after going idle: poll
 * (one epoll_wait(0) per POLL_NS) while er_poll_idle says so, else sleep
 * until the event and pay a wake-up.  True when a poll caught it. */
static bool stretch(struct sim *s, uint64_t gap_ns, bool may_poll)
{
	uint64_t at = s->now + gap_ns;

	for (;;) {
		if (!er_poll_idle(&s->p, s->now, may_poll)) {
			s->now = (s->now > at ? s->now : at) + WAKE_NS;
			er_poll_after(&s->p, s->now, 1, NULL);
			return false;
		}
		if (s->now >= at) {
			er_poll_after(&s->p, s->now, 1, NULL);
			return true;
		}
		er_poll_after(&s->p, s->now, 0, NULL); /* nothing yet */
		s->now += POLL_NS;
		s->spun_ns += POLL_NS;
	}
}

/* A busy stretch between two idle ones. */
static void work(struct sim *s)
{
	assert_false(er_poll_is_idle(&s->p));
	s->now += 20 * US;
}

static void sim_init(struct sim *s, uint64_t max_ns)
{
	memset(s, 0, sizeof(*s));
	er_poll_init(&s->p, max_ns);
	s->now = 1000 * US;
}

static void poll_us_zero_never_polls(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 0);
	for (int i = 0; i < 10; i++) {
		assert_false(stretch(&s, 5 * US, true));
		work(&s);
	}
	assert_int_equal(s.p.hit + s.p.missed + s.p.skipped, 0);
}

/* Before any gap is known the window is --poll-us; a caught gap of 10 us
 * then sets it to 2 avg + 4 dev = 2 * 10 + 4 * 5 = 40 us. */
static void first_window_is_poll_us_then_learned(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, MAX_NS);
	assert_int_equal(s.p.window_ns, MAX_NS);
	assert_true(stretch(&s, 10 * US, true));
	assert_int_equal(s.p.gap_avg_ns, 10 * US);
	assert_int_equal(s.p.window_ns, 40 * US);
}

/* The QD1 case: an initiator that answers 10 us after each response.
 * Every stretch is caught, and the window closes in on twice the gap. */
static void steady_gaps_are_all_caught_and_window_tightens(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, MAX_NS);
	for (int i = 0; i < 200; i++) {
		if (!stretch(&s, 10 * US, true))
			fail_msg("stretch %d of a steady 10 us gap was slept "
				 "(window %llu ns)",
				 i, (unsigned long long)s.p.window_ns);
		work(&s);
	}
	assert_int_equal(s.p.hit, 200);
	assert_int_equal(s.p.missed, 0);
	assert_in_range(s.p.window_ns, 20 * US, 24 * US);
}

/* The window never leaves [ER_POLL_MIN_NS, --poll-us]: gaps of 0 pin it
 * to the minimum, gaps past --poll-us (clamped when learned) to the
 * maximum. */
static void window_stays_within_its_bounds(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, MAX_NS);
	for (int i = 0; i < 100; i++) {
		stretch(&s, 0, true);
		work(&s);
	}
	assert_int_equal(s.p.window_ns, ER_POLL_MIN_NS);
	assert_int_equal(s.p.gap_avg_ns, 0);
	sim_init(&s, 1 * US); /* --poll-us 1: the minimum still applies */
	assert_int_equal(s.p.window_ns, ER_POLL_MIN_NS);
}

/* A window that runs out is a miss: the reactor sleeps through the next
 * 1, 2, 4 ... 64 stretches while gaps stay past --poll-us (an initiator
 * that thinks), and spins at most one window per miss. */
static void misses_back_off_exponentially_to_64(void **state)
{
	static const unsigned int expect_skip[] = {1, 2, 4, 8, 16, 32, 64, 64};
	struct sim s;

	(void)state;
	sim_init(&s, MAX_NS);
	for (unsigned int m = 0; m < 8; m++) {
		uint64_t spun = s.spun_ns;

		assert_false(stretch(&s, 1000 * US, true));
		work(&s);
		assert_int_equal(s.p.missed, m + 1);
		assert_int_equal(s.p.skip, expect_skip[m]);
		assert_in_range(s.spun_ns - spun, 1, MAX_NS + POLL_NS);
		for (unsigned int k = 0; k < expect_skip[m]; k++) {
			spun = s.spun_ns;
			assert_false(stretch(&s, 1000 * US, true));
			work(&s);
			assert_int_equal(s.spun_ns, spun); /* slept */
		}
		assert_int_equal(s.p.skip, 0);
	}
}

/* After a back-off, a slept stretch whose event comes within --poll-us
 * means the initiator is busy again: the next stretch is polled. */
static void short_slept_gap_ends_back_off(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, MAX_NS);
	assert_false(stretch(&s, 1000 * US, true)); /* miss: skip 1 */
	work(&s);
	assert_false(stretch(&s, 1000 * US, true)); /* slept */
	work(&s);
	assert_false(stretch(&s, 1000 * US, true)); /* miss: skip 2 */
	work(&s);
	assert_int_equal(s.p.skip, 2);
	assert_false(stretch(&s, 1000 * US, true)); /* slept, came late */
	work(&s);
	assert_int_equal(s.p.skip, 1);
	assert_false(stretch(&s, 5 * US, true)); /* slept, came soon */
	work(&s);
	assert_int_equal(s.p.skip, 0);
	assert_int_equal(s.p.misses, 0);
	assert_true(stretch(&s, 5 * US, true));
}

/* A window learned on short gaps (2 us) that meets longer ones (20 us):
 * the first misses, but the gap it missed by little is learned, and the
 * window grows until such gaps are caught again. */
static void near_misses_widen_the_window(void **state)
{
	struct sim s;
	int caught = 0;

	(void)state;
	sim_init(&s, MAX_NS);
	for (int i = 0; i < 100; i++) {
		stretch(&s, 2 * US, true);
		work(&s);
	}
	assert_int_equal(s.p.window_ns, ER_POLL_MIN_NS);
	for (int i = 0; i < 100; i++) {
		caught += stretch(&s, 20 * US, true);
		work(&s);
	}
	assert_true(s.p.window_ns > 20 * US);
	if (caught < 80)
		fail_msg("only %d of 100 gaps of 20 us caught after the "
			 "window learned them",
			 caught);
	/* and the last ten all caught */
	for (int i = 0; i < 10; i++) {
		assert_true(stretch(&s, 20 * US, true));
		work(&s);
	}
}

/* At depth: short gaps between batches and now and then a long one.  The
 * window stays near the short gaps, so a miss spins a few microseconds,
 * not --poll-us (the old fixed window spun 50 us on every one). */
static void long_gaps_do_not_stretch_a_short_window(void **state)
{
	struct sim s;
	uint64_t misses, spun;

	(void)state;
	sim_init(&s, MAX_NS);
	for (int i = 0; i < 400; i++) {
		stretch(&s, (i % 16 == 15) ? 300 * US : 2 * US, true);
		work(&s);
	}
	assert_in_range(s.p.window_ns, ER_POLL_MIN_NS, 10 * US);
	misses = s.p.missed;
	spun = s.spun_ns;
	for (int i = 0; i < 160; i++) {
		stretch(&s, (i % 16 == 15) ? 300 * US : 2 * US, true);
		work(&s);
	}
	assert_int_equal(s.p.missed - misses, 10);
	/* each miss spins at most a window, each catch one poll */
	assert_true(s.spun_ns - spun <=
		    10 * (10 * US + POLL_NS) + 150 * POLL_NS);
}

/* While disk requests are out (may_poll false) the reactor sleeps, and
 * the gap, which is the disk's, teaches nothing. */
static void disk_busy_sleeps_and_learns_nothing(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, MAX_NS);
	assert_true(stretch(&s, 10 * US, true));
	work(&s);
	for (int i = 0; i < 20; i++) {
		assert_false(stretch(&s, 40 * US, false));
		work(&s);
	}
	assert_int_equal(s.p.n_samples, 1);
	assert_int_equal(s.p.window_ns, 40 * US);
	assert_int_equal(s.p.missed, 0);
}

/* ------------------------------------------------ polling by reading */

static int conn_a, conn_b; /* two connections, opaque to poll_adapt */

/* One idle stretch polled where the reactor would, by reading or with
 * epoll_wait(0) as er_poll_read_which says, whose event is there from
 * the n-th poll on: the bytes of `by` alone, which a read of `by` or an
 * epoll_wait finds, or (by NULL) anything else, which only an epoll_wait
 * finds.  Returns how many of its polls were reads. */
static unsigned int stretch_read(struct sim *s, unsigned int n, void *by)
{
	unsigned int reads = 0;

	for (unsigned int i = 0;; i++) {
		void *read;
		bool caught;

		assert_true(er_poll_idle(&s->p, s->now, true));
		read = er_poll_read_which(&s->p);
		if (read)
			reads++;
		else
			er_poll_waited(&s->p);
		caught = i >= n && (read == NULL || read == by);
		s->now += POLL_NS;
		er_poll_after(&s->p, s->now, caught, caught ? by : NULL);
		if (caught)
			return reads;
	}
}

/* Reading needs ER_POLL_SOLO_MIN stretches in a row ended by one
 * connection alone; one ended by anything else, or by another
 * connection, starts the count again. */
static void reading_needs_one_connection_alone_in_a_row(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, MAX_NS);
	for (unsigned int i = 0; i < ER_POLL_SOLO_MIN; i++) {
		assert_int_equal(stretch_read(&s, 2, &conn_a), 0);
		work(&s);
	}
	assert_int_equal(stretch_read(&s, 2, &conn_a), 3);
	work(&s);
	/* B's bytes: the reads of A miss them, the next epoll_wait finds
	 * them */
	assert_in_range(stretch_read(&s, 0, &conn_b), 1,
			ER_POLL_READS_PER_WAIT - 1);
	work(&s);
	assert_ptr_equal(s.p.solo, &conn_b);
	assert_int_equal(stretch_read(&s, 2, NULL), 0); /* a timer, say */
	work(&s);
	assert_null(s.p.solo);
	for (unsigned int i = 0; i < ER_POLL_SOLO_MIN; i++) {
		assert_int_equal(stretch_read(&s, 2, &conn_a), 0);
		work(&s);
	}
	assert_int_equal(stretch_read(&s, 2, &conn_a), 3);
	assert_int_equal(s.p.read_hit, 2);
}

/* However long one connection keeps the reactor polling by reading, at
 * least every ER_POLL_READS_PER_WAIT-th poll is an epoll_wait(0): the
 * other watches (connections, the wake-up of posted work, disk
 * completions, signals) wait at most that many polls.  Across stretches
 * too: a connection caught at every read does not reset the count. */
static void every_nth_poll_is_an_epoll_wait(void **state)
{
	struct sim s;
	unsigned int run = 0, longest = 0, waits = 0;

	(void)state;
	sim_init(&s, MAX_NS);
	for (unsigned int i = 0; i < ER_POLL_SOLO_MIN; i++) {
		stretch_read(&s, 0, &conn_a);
		work(&s);
	}
	for (int i = 0; i < 500; i++) {
		bool last = i % 3 == 2; /* caught at every third poll */

		assert_true(er_poll_idle(&s.p, s.now, true));
		if (er_poll_read_which(&s.p) == &conn_a) {
			if (++run > longest)
				longest = run;
		} else {
			er_poll_waited(&s.p);
			run = 0;
			waits++;
		}
		s.now += POLL_NS;
		er_poll_after(&s.p, s.now, last, last ? &conn_a : NULL);
		if (last)
			work(&s);
	}
	assert_int_equal(longest, ER_POLL_READS_PER_WAIT - 1);
	assert_int_equal(waits, 500 / ER_POLL_READS_PER_WAIT);
}

/* A connection closed (or gone down) is never read again. */
static void a_forgotten_connection_is_not_read(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, MAX_NS);
	for (unsigned int i = 0; i < ER_POLL_SOLO_MIN; i++) {
		stretch_read(&s, 0, &conn_a);
		work(&s);
	}
	er_poll_forget(&s.p, &conn_b); /* another one: changes nothing */
	assert_ptr_equal(s.p.solo, &conn_a);
	er_poll_forget(&s.p, &conn_a);
	assert_int_equal(stretch_read(&s, 1, &conn_a), 0);
}

/* ------------------------------- a real reactor polling by reading */

/* An echo server on a real reactor: every byte comes back; a 'T' arms a
 * timer 1 ms ahead; a 'B' makes the reactor itself send a byte to the
 * server's other connection (through the client's end, b_client), so
 * that it arrives while the reactor is busy, and the client's gaps, which
 * the poll window learns, stay as they were. */
struct echo;
struct echo_conn {
	struct echo *srv;
	struct env_conn *c;
};
struct echo {
	struct env *e;
	struct env_listener *l;
	struct echo_conn conns[2];
	unsigned int n_conns;
	struct env_timer *timer;
	int b_client;
	atomic_bool posted, timer_fired;
};

static void echo_readable(void *ctx)
{
	struct echo_conn *ec = ctx;
	struct env *e = ec->srv->e;
	uint8_t buf[256];
	ssize_t n;

	while ((n = e->ops->conn_recv(ec->c, buf, sizeof(buf))) > 0) {
		struct iovec iov = {buf, (size_t)n};

		if (memchr(buf, 'T', (size_t)n))
			env_timer_arm(e, ec->srv->timer, env_now_ns(e) + MS(1));
		if (memchr(buf, 'B', (size_t)n))
			assert_int_equal(write(ec->srv->b_client, "b", 1), 1);
		assert_int_equal(e->ops->conn_send(ec->c, &iov, 1), n);
	}
}

static void echo_closed(void *ctx, int err)
{
	(void)ctx;
	(void)err;
}

static const struct env_conn_handler echo_handler = {
	.on_readable = echo_readable,
	.on_closed = echo_closed,
};

static void echo_accept(void *arg, struct env_conn *c,
			const struct env_conn_info *info)
{
	struct echo *srv = arg;
	struct echo_conn *ec = &srv->conns[srv->n_conns++];

	(void)info;
	assert_true(srv->n_conns <= 2);
	ec->srv = srv;
	ec->c = c;
	srv->e->ops->conn_set_handler(c, &echo_handler, ec);
}

static void echo_timer(void *arg)
{
	atomic_store(&((struct echo *)arg)->timer_fired, true);
}

static void echo_posted(void *arg)
{
	atomic_store(&((struct echo *)arg)->posted, true);
}

/* The client, on a thread of its own: A pings without pause (so the
 * reactor polls A by reading), and meanwhile B's bytes, posted work and a
 * timer must be served.  It counts A's round trips until each is;
 * asserts come after (cmocka's are for the test's thread). */
#define ECHO_ROUNDS_CAP 100000u
struct client {
	struct echo *srv;
	int a, b;
	int cpu; /* the client's, -1: anywhere */
	unsigned int worst_b, worst_post, timer_rounds;
	const char *failed; /* what went wrong, NULL if nothing */
};

/* What the first round of a trial does right after sending A's byte:
 * post work to the reactor. */
enum extra { NOTHING, POST };

/* One round trip of A.  The client spins for the echo rather than sleep,
 * so that it answers within a poll window and the reactor keeps polling A
 * (a sleeping client's wake-up would run windows out); it yields between
 * tries, for when it shares a CPU with the reactor. */
static bool ping(struct client *cl, char ch, enum extra x)
{
	char got = 0;
	ssize_t n;

	if (write(cl->a, &ch, 1) != 1) {
		cl->failed = "cannot write to A";
		return false;
	}
	if (x == POST && env_post(cl->srv->e, echo_posted, cl->srv) != 0) {
		cl->failed = "env_post failed";
		return false;
	}
	while ((n = recv(cl->a, &got, 1, MSG_DONTWAIT)) < 0 &&
	       (errno == EAGAIN || errno == EINTR))
		sched_yield();
	if (n != 1 || got != ch) {
		cl->failed = "the echo of A's byte did not come back";
		return false;
	}
	return true;
}

/* Round trips of A, the first sending ch and doing x, until done() says
 * so: how many it took, 0 if not within max (or on a failure).  Every
 * round looks at B (b_echoed), so that the gaps are alike: a longer one
 * ran the learned window out, and a reactor whose window runs out sleeps
 * in epoll_wait, which sees everything anyway. */
static unsigned int ping_until(struct client *cl, char ch, enum extra x,
			       bool (*done)(struct client *, bool b_echoed),
			       unsigned int max)
{
	for (unsigned int k = 1; k <= max; k++) {
		struct pollfd p = {.fd = cl->b, .events = POLLIN};
		char got;
		bool b;

		if (!ping(cl, k == 1 ? ch : 'a', k == 1 ? x : NOTHING))
			return 0;
		b = poll(&p, 1, 0) == 1 && read(cl->b, &got, 1) == 1;
		if (done(cl, b))
			return k;
	}
	return 0;
}

static bool b_echoed(struct client *cl, bool b)
{
	(void)cl;
	return b;
}

static bool post_ran(struct client *cl, bool b)
{
	(void)b;
	return atomic_load(&cl->srv->posted);
}

static bool timer_ran(struct client *cl, bool b)
{
	(void)b;
	return atomic_load(&cl->srv->timer_fired);
}

/* The reactor (this thread) and the client on two different CPUs, where
 * there are two: on one CPU a polling reactor and a spinning client take
 * turns by the scheduler's slices, every window runs out, and the reactor
 * sleeps in epoll_wait instead of polling A by reading.  Returns the
 * affinity to restore; cpu_client is -1 with fewer than two CPUs. */
static cpu_set_t pin_two(int *cpu_client)
{
	cpu_set_t was, one;
	int first = -1;

	*cpu_client = -1;
	assert_int_equal(sched_getaffinity(0, sizeof(was), &was), 0);
	for (int i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &was))
			continue;
		if (first < 0) {
			first = i;
			continue;
		}
		*cpu_client = i;
		break;
	}
	if (*cpu_client >= 0) {
		CPU_ZERO(&one);
		CPU_SET(first, &one);
		assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	}
	return was;
}

static void *client_main(void *arg)
{
	struct client *cl = arg;
	unsigned int k;

	if (cl->cpu >= 0) {
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(cl->cpu, &one);
		sched_setaffinity(0, sizeof(one), &one);
	}

	/* A alone, long enough for the reactor to poll it by reading */
	ping_until(cl, 'a', NOTHING, b_echoed, 2000);
	for (int i = 0; i < 20 && !cl->failed; i++) {
		k = ping_until(cl, 'B', NOTHING, b_echoed, ECHO_ROUNDS_CAP);
		if (k == 0 && !cl->failed)
			cl->failed = "B's byte was not echoed within "
				     "ECHO_ROUNDS_CAP round trips of A";
		if (k > cl->worst_b)
			cl->worst_b = k;
	}
	for (int i = 0; i < 20 && !cl->failed; i++) {
		atomic_store(&cl->srv->posted, false);
		k = ping_until(cl, 'a', POST, post_ran, ECHO_ROUNDS_CAP);
		if (k == 0 && !cl->failed)
			cl->failed = "posted work did not run within "
				     "ECHO_ROUNDS_CAP round trips of A";
		if (k > cl->worst_post)
			cl->worst_post = k;
	}
	if (!cl->failed) {
		cl->timer_rounds = ping_until(cl, 'T', NOTHING, timer_ran,
					      ECHO_ROUNDS_CAP);
		if (cl->timer_rounds == 0 && !cl->failed)
			cl->failed = "the timer did not fire within "
				     "ECHO_ROUNDS_CAP round trips of A";
	}
	env_real_stop(cl->srv->e);
	return NULL;
}

/* A reactor polling one busy connection by reading still makes an
 * epoll_wait(0) every ER_POLL_READS_PER_WAIT polls: another connection's
 * bytes are served within that many round trips of the busy one (twice
 * that allowed).  Without that epoll_wait they would wait until a poll
 * window ran out, which a connection answering at once seldom lets
 * happen (with the condition in er_poll_read_which taken out, B waited
 * 29, 72 and 84 round trips in three runs of four, 6 in the fourth).  Posted work and timers run at the end of every
 * loop turn, a read's too: they are served while the busy connection
 * never pauses (the post within a round trip or two). */
static void a_connection_polled_by_reading_starves_nothing(void **state)
{
	struct echo srv = {0};
	struct client cl = {.srv = &srv};
	struct er_poll *p;
	cpu_set_t was;
	pthread_t t;
	uint16_t port;

	(void)state;
	srv.e = new_env_opts((struct env_real_opts){.poll_us = 1000});
	p = &er_reactor_of(srv.e)->poll;
	srv.timer = env_timer_new(srv.e, echo_timer, &srv);
	assert_non_null(srv.timer);
	assert_int_equal(srv.e->ops->listen(srv.e, "127.0.0.1:0", 1,
					    echo_accept, &srv, &srv.l),
			 0);
	port = env_real_listener_port(srv.l);
	cl.a = client_connect(AF_INET, port, 0);
	cl.b = client_connect(AF_INET, port, 0);
	assert_true(cl.a >= 0 && cl.b >= 0);
	srv.b_client = cl.b;
	was = pin_two(&cl.cpu);
	assert_int_equal(pthread_create(&t, NULL, client_main, &cl), 0);
	run_bounded(srv.e);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(sched_setaffinity(0, sizeof(was), &was), 0);
	if (cl.failed)
		fail_msg("client: %s", cl.failed);
	assert_int_equal(srv.n_conns, 2);
	if (p->read_hit == 0)
		fail_msg("the reactor never caught A by reading (caught %llu, "
			 "missed %llu): the test did not test it",
			 (unsigned long long)p->hit,
			 (unsigned long long)p->missed);
	if (cl.worst_b > 2 * ER_POLL_READS_PER_WAIT ||
	    cl.worst_post > 2 * ER_POLL_READS_PER_WAIT)
		fail_msg("B's bytes waited up to %u and posted work up to %u "
			 "round trips of A (at most %u allowed)",
			 cl.worst_b, cl.worst_post, 2 * ER_POLL_READS_PER_WAIT);
	assert_true(cl.timer_rounds > 0);
	if (getenv("POLL_TEST_VERBOSE"))
		print_message("read_hit %llu hit %llu missed %llu worst_b %u "
			      "worst_post %u timer_rounds %u\n",
			      (unsigned long long)p->read_hit,
			      (unsigned long long)p->hit,
			      (unsigned long long)p->missed, cl.worst_b,
			      cl.worst_post, cl.timer_rounds);
	close(cl.a);
	close(cl.b);
	env_timer_free(srv.e, srv.timer);
	srv.e->ops->listener_close(srv.l);
	env_real_free(srv.e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(poll_us_zero_never_polls),
		cmocka_unit_test(first_window_is_poll_us_then_learned),
		cmocka_unit_test(
			steady_gaps_are_all_caught_and_window_tightens),
		cmocka_unit_test(window_stays_within_its_bounds),
		cmocka_unit_test(misses_back_off_exponentially_to_64),
		cmocka_unit_test(short_slept_gap_ends_back_off),
		cmocka_unit_test(near_misses_widen_the_window),
		cmocka_unit_test(long_gaps_do_not_stretch_a_short_window),
		cmocka_unit_test(disk_busy_sleeps_and_learns_nothing),
		cmocka_unit_test(reading_needs_one_connection_alone_in_a_row),
		cmocka_unit_test(every_nth_poll_is_an_epoll_wait),
		cmocka_unit_test(a_forgotten_connection_is_not_read),
		cmocka_unit_test(
			a_connection_polled_by_reading_starves_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
