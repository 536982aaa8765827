/*
 * test_env_real_poll.c — adaptive polling (env_real/poll_adapt.c): which
 * idle stretches a reactor polls, for how long, and what it learns from
 * the gaps between going idle and the next event.  Times are synthetic:
 * nothing here depends on the speed of the machine.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "env_real_rig.h"
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
			er_poll_after(&s->p, s->now, 1);
			return false;
		}
		if (s->now >= at) {
			er_poll_after(&s->p, s->now, 1);
			return true;
		}
		er_poll_after(&s->p, s->now, 0); /* nothing yet */
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
