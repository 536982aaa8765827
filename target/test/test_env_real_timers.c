/*
 * test_env_real_timers.c — the real environment's reactor timers,
 * signals, randomness and durable state.
 *
 * Every test drives its own reactor and bounds itself with a watchdog
 * timer, so a broken build fails instead of hanging.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "env_real_rig.h"

/* ------------------------------------------------------------- timers */

struct timer_log {
	struct env *e;
	int order[8];
	int n;
	int stop_after;
};

struct timer_arg {
	struct timer_log *log;
	int id;
};

static void timer_record(void *arg)
{
	struct timer_arg *a = arg;

	a->log->order[a->log->n++] = a->id;
	if (a->log->n == a->log->stop_after)
		env_real_stop(a->log->e);
}

static void timers_fire_in_deadline_order_then_arming_order(void **state)
{
	struct env *e = new_env(false, NULL);
	struct timer_log log = {.e = e, .stop_after = 4};
	struct timer_arg a[4];
	struct env_timer *t[4];
	uint64_t now = env_now_ns(e);
	/* deadlines: id0 +30ms, id1 +10ms, id2 +20ms, id3 +10ms (after 1) */
	const uint64_t dl[4] = {MS(30), MS(10), MS(20), MS(10)};

	(void)state;
	for (int i = 0; i < 4; i++) {
		a[i] = (struct timer_arg){.log = &log, .id = i};
		t[i] = env_timer_new(e, timer_record, &a[i]);
		env_timer_arm(e, t[i], now + dl[i]);
	}
	run_bounded(e);
	assert_int_equal(log.n, 4);
	assert_int_equal(log.order[0], 1);
	assert_int_equal(log.order[1], 3);
	assert_int_equal(log.order[2], 2);
	assert_int_equal(log.order[3], 0);
	assert_true(env_now_ns(e) - now >= MS(30));
	for (int i = 0; i < 4; i++)
		env_timer_free(e, t[i]);
	env_real_free(e);
}

static void
cancelled_or_rearmed_timer_fires_only_at_its_last_deadline(void **state)
{
	struct env *e = new_env(false, NULL);
	struct timer_log log = {.e = e, .stop_after = 2};
	struct timer_arg a[3];
	struct env_timer *t[3];
	uint64_t now = env_now_ns(e);

	(void)state;
	for (int i = 0; i < 3; i++) {
		a[i] = (struct timer_arg){.log = &log, .id = i};
		t[i] = env_timer_new(e, timer_record, &a[i]);
		env_timer_arm(e, t[i], now + MS(5));
	}
	env_timer_cancel(e, t[0]);	      /* never fires */
	env_timer_arm(e, t[1], now + MS(40)); /* moved later */
	env_timer_cancel(e, t[0]);	      /* cancel twice: harmless */
	run_bounded(e);
	run_for_ms(e, 20);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.order[0], 2);
	assert_int_equal(log.order[1], 1);
	for (int i = 0; i < 3; i++)
		env_timer_free(e, t[i]);
	env_real_free(e);
}

/* A heap stress: many timers armed, re-armed and cancelled fire in
 * (deadline, arming) order. */
struct heap_probe {
	struct env *e;
	uint64_t last_deadline;
	uint64_t deadline[200];
	int fired, expected;
	bool out_of_order;
};

struct heap_timer {
	struct heap_probe *p;
	int id;
};

/* The clock target/ sees on a reactor's loop is the loop turn's: read
 * once when epoll_wait returns (and after a disk submit), the same for
 * every call of the turn however long its work takes, and read again in
 * the next turn.  Off the loop it is the clock itself. */
struct turn_log {
	struct env *e;
	struct env_timer *second;
	uint64_t first_ns, second_ns;
	bool same_in_turn;
};

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin_ns(uint64_t ns)
{
	uint64_t t0 = wall_ns();

	while (wall_ns() - t0 < ns)
		;
}

static void turn_first(void *arg)
{
	struct turn_log *l = arg;

	l->first_ns = env_now_ns(l->e);
	spin_ns(MS(2));
	l->same_in_turn = env_now_ns(l->e) == l->first_ns;
	env_timer_arm(l->e, l->second, l->first_ns + MS(5));
}

static void turn_second(void *arg)
{
	struct turn_log *l = arg;

	l->second_ns = env_now_ns(l->e);
	env_real_stop(l->e);
}

static void the_clock_on_the_loop_is_the_turns(void **state)
{
	struct env *e = new_env(false, NULL);
	struct turn_log l = {.e = e};
	struct env_timer *first = env_timer_new(e, turn_first, &l);
	uint64_t before = env_now_ns(e), outside;

	(void)state;
	l.second = env_timer_new(e, turn_second, &l);
	spin_ns(MS(1));
	outside = env_now_ns(e);
	assert_true(outside - before >= MS(1)); /* off the loop: the clock */
	env_timer_arm(e, first, outside + MS(5));
	run_bounded(e);
	assert_true(l.first_ns >= outside + MS(5)); /* not early */
	assert_true(l.same_in_turn);
	/* a later turn read the clock again: at or past its deadline */
	assert_true(l.second_ns >= l.first_ns + MS(5));
	assert_true(l.second_ns <= wall_ns());
	assert_true(env_now_ns(e) >= l.second_ns);
	env_timer_free(e, first);
	env_timer_free(e, l.second);
	env_real_free(e);
}

static void heap_fire(void *arg)
{
	struct heap_timer *h = arg;
	struct heap_probe *p = h->p;

	if (p->deadline[h->id] < p->last_deadline)
		p->out_of_order = true;
	p->last_deadline = p->deadline[h->id];
	if (++p->fired == p->expected)
		env_real_stop(p->e);
}

static void many_timers_fire_in_deadline_order(void **state)
{
	struct env *e = new_env(false, NULL);
	struct heap_probe p = {.e = e};
	struct heap_timer h[200];
	struct env_timer *t[200];
	uint64_t now = env_now_ns(e);

	(void)state;
	for (int i = 0; i < 200; i++) {
		h[i] = (struct heap_timer){.p = &p, .id = i};
		t[i] = env_timer_new(e, heap_fire, &h[i]);
		p.deadline[i] =
			now + MS(1) + (uint64_t)((i * 7919) % 200) * 100000u;
		env_timer_arm(e, t[i], p.deadline[i]);
	}
	for (int i = 0; i < 200; i += 3)
		env_timer_cancel(e, t[i]);
	for (int i = 1; i < 200; i += 5) {
		p.deadline[i] = now + MS(2) + (uint64_t)(i % 13) * 100000u;
		env_timer_arm(e, t[i], p.deadline[i]);
	}
	for (int i = 0; i < 200; i++)
		if (i % 3 != 0 || i % 5 == 1)
			p.expected++;
	run_bounded(e);
	assert_int_equal(p.fired, p.expected);
	assert_false(p.out_of_order);
	for (int i = 0; i < 200; i++)
		env_timer_free(e, t[i]);
	env_real_free(e);
}

/* --------------------------------------------------- signals, random */

static void sig_cb(void *arg, int signo)
{
	int *got = arg;

	*got = signo;
}

struct sig_ctx {
	struct env *e;
	int got;
};

static void sig_stop_cb(void *arg, int signo)
{
	struct sig_ctx *c = arg;

	c->got = signo;
	env_real_stop(c->e);
}

static void signal_is_delivered_on_the_reactor(void **state)
{
	struct env *e = new_env(false, NULL);
	struct sig_ctx c = {.e = e};
	int other = 0;

	(void)state;
	assert_int_equal(env_real_on_signal(e, SIGUSR1, sig_stop_cb, &c), 0);
	assert_int_equal(env_real_on_signal(e, SIGUSR2, sig_cb, &other), 0);
	assert_int_equal(env_real_on_signal(e, SIGKILL, sig_cb, &other),
			 -EINVAL);
	raise(SIGUSR1); /* blocked: waits for the reactor */
	assert_int_equal(c.got, 0);
	run_bounded(e);
	assert_int_equal(c.got, SIGUSR1);
	assert_int_equal(other, 0);
	env_real_free(e);
}

static void random_u64_does_not_repeat(void **state)
{
	struct env *e = new_env(false, NULL);
	uint64_t v[100];

	(void)state;
	for (int i = 0; i < 100; i++) {
		v[i] = env_random_u64(e);
		for (int j = 0; j < i; j++)
			assert_true(v[i] != v[j]);
	}
	env_real_free(e);
}

/* -------------------------------------------------------------- state */

static void state_put_replaces_atomically_and_get_reads_back(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env(false, dir);
	char buf[64], path[512];
	struct stat st;

	(void)state;
	assert_int_equal(e->ops->state_get(e, "pr-lun0", buf, sizeof(buf)),
			 -ENOENT);
	assert_int_equal(e->ops->state_put(e, "pr-lun0", "first", 5), 0);
	assert_int_equal(e->ops->state_put(e, "pr-lun0", "second!", 7), 0);
	assert_int_equal(e->ops->state_get(e, "pr-lun0", buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "second!", 7);
	/* exactly at the capacity fits, one byte short does not */
	assert_int_equal(e->ops->state_get(e, "pr-lun0", buf, 7), 7);
	assert_int_equal(e->ops->state_get(e, "pr-lun0", buf, 6), -EOVERFLOW);
	/* no temporary file is left behind */
	snprintf(path, sizeof(path), "%s/.pr-lun0.tmp", dir);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/pr-lun0", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(e->ops->state_put(e, "empty", "", 0), 0);
	assert_int_equal(e->ops->state_get(e, "empty", buf, sizeof(buf)), 0);
	env_real_free(e);
	remove_tmpdir(dir);
}

static void state_keys_outside_the_file_name_alphabet_are_rejected(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env(false, dir);
	char key200[201], key201[202], buf[8];
	static const char *const bad[] = {
		"",	".",	   "..",     "a/b",  "../x",
		"a..b", ".hidden", "sp ace", "t\nl", "é",
	};

	(void)state;
	e->log_level = UT_LOG_ERROR;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (e->ops->state_put(e, bad[i], "x", 1) != -EINVAL)
			fail_msg("state key \"%s\" must be rejected", bad[i]);
		if (e->ops->state_get(e, bad[i], buf, sizeof(buf)) != -EINVAL)
			fail_msg("state key \"%s\" must be rejected", bad[i]);
	}
	memset(key200, 'k', 200);
	key200[200] = '\0';
	memset(key201, 'k', 201);
	key201[201] = '\0';
	assert_int_equal(e->ops->state_put(e, key200, "x", 1), 0);
	assert_int_equal(e->ops->state_put(e, key201, "x", 1), -EINVAL);
	assert_int_equal(e->ops->state_put(e, "A-z_0.9", "x", 1), 0);
	env_real_free(e);
	remove_tmpdir(dir);
}

static void state_without_a_directory_is_not_supported(void **state)
{
	struct env *e = new_env(false, NULL);
	char buf[4];

	(void)state;
	assert_int_equal(e->ops->state_put(e, "k", "x", 1), -ENOTSUP);
	assert_int_equal(e->ops->state_get(e, "k", buf, sizeof(buf)), -ENOTSUP);
	env_real_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			timers_fire_in_deadline_order_then_arming_order),
		cmocka_unit_test(
			cancelled_or_rearmed_timer_fires_only_at_its_last_deadline),
		cmocka_unit_test(many_timers_fire_in_deadline_order),
		cmocka_unit_test(the_clock_on_the_loop_is_the_turns),
		cmocka_unit_test(signal_is_delivered_on_the_reactor),
		cmocka_unit_test(random_u64_does_not_repeat),
		cmocka_unit_test(
			state_put_replaces_atomically_and_get_reads_back),
		cmocka_unit_test(
			state_keys_outside_the_file_name_alphabet_are_rejected),
		cmocka_unit_test(state_without_a_directory_is_not_supported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
