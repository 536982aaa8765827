/*
 * test_env_real_open.c — remote backstores opened off the reactor
 * (env_real/open_async.c, env.h disk_open_async), through the fake
 * tcmu-runner plugin (build/test/tcmu/handler_fake.so): the answer comes
 * on the reactor, later, with the device or the plugin's error; other
 * kinds are refused at once; an open still running when the reactor is
 * freed is finished there and what it opened is closed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "env_real_rig.h"

/* The plugin's counters (handler_fake.c); only opens and closes read. */
struct fake_stats {
	int reads, writes, flushes, caws, cmds, async_done;
	int opens, closes;
};

static char plugin_dir[600];

/* build/test/tcmu/, beside this test's binary. */
static void use_fake_plugins(void)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(plugin_dir, sizeof(plugin_dir), "%s/tcmu", exe);
	setenv("UTARGET_TCMU_DIR", plugin_dir, 1);
}

/* The loaded plugin's counters (after the first open loaded it). */
static struct fake_stats *fake_stats(void)
{
	char so[700];
	void *h;
	struct fake_stats *s;

	snprintf(so, sizeof(so), "%s/handler_fake.so", plugin_dir);
	h = dlopen(so, RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(h);
	s = dlsym(h, "fake_stats");
	assert_non_null(s);
	dlclose(h); /* the NOLOAD reference only */
	return s;
}

struct opened {
	struct env *e;
	pthread_t reactor;
	int calls;
	int rc;
	struct bs_dev *dev;
	bool on_reactor;
};

static void on_opened(void *arg, int rc, struct bs_dev *dev)
{
	struct opened *o = arg;

	o->calls++;
	o->rc = rc;
	o->dev = dev;
	o->on_reactor = pthread_equal(pthread_self(), o->reactor);
	env_real_stop(o->e);
}

static struct bs_dev_params tcmu_params(const char *path)
{
	return (struct bs_dev_params){
		.kind = BS_TCMU,
		.name = "open-test",
		.path = path,
		.size_bytes = 1 << 20,
		.block_size = BS,
	};
}

static void async_open_answers_on_the_reactor_later(void **state)
{
	struct env *e = new_env(true, NULL);
	struct bs_dev_params p = tcmu_params("fake/mem");
	struct opened o = {.e = e, .reactor = pthread_self(), .rc = 1};
	struct fake_stats *st;
	int opens;

	(void)state;
	use_fake_plugins();
	assert_int_equal(e->ops->disk_open_async(e, &p, on_opened, &o), 0);
	assert_int_equal(o.calls, 0); /* never inside the call */
	run_bounded(e);
	assert_int_equal(o.calls, 1);
	assert_true(o.on_reactor);
	assert_int_equal(o.rc, 0);
	assert_non_null(o.dev);
	assert_int_equal(o.dev->size_bytes, 1 << 20);
	assert_int_equal(o.dev->block_size, BS);
	st = fake_stats();
	opens = st->opens;
	assert_true(opens >= 1);
	bs_close(o.dev);
	assert_int_equal(st->closes, opens);
	env_real_free(e);
}

static void async_open_error_comes_back_without_a_device(void **state)
{
	static const struct {
		const char *path;
		int rc;
	} cases[] = {
		{"nosuch/x", -ENOENT}, /* no plugin registers the handler */
		{"fake/fail", -EIO},   /* the plugin's open refuses */
	};
	struct env *e = new_env(true, NULL);

	(void)state;
	use_fake_plugins();
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct bs_dev_params p = tcmu_params(cases[i].path);
		struct opened o = {.e = e, .reactor = pthread_self(), .rc = 1};

		assert_int_equal(e->ops->disk_open_async(e, &p, on_opened, &o),
				 0);
		run_bounded(e);
		assert_int_equal(o.calls, 1);
		assert_true(o.on_reactor);
		assert_int_equal(o.rc, cases[i].rc);
		assert_null(o.dev);
	}
	env_real_free(e);
}

static void async_open_of_local_kinds_is_refused_at_once(void **state)
{
	static const enum bs_kind kinds[] = {BS_MEM, BS_NULL, BS_FILE};
	struct env *e = new_env(true, NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++) {
		struct bs_dev_params p = tcmu_params("x");
		struct opened o = {.e = e};

		p.kind = kinds[i];
		assert_int_equal(e->ops->disk_open_async(e, &p, on_opened, &o),
				 -ENOTSUP);
		run_for_ms(e, 5);
		assert_int_equal(o.calls, 0);
	}
	env_real_free(e);
}

/* The reactor freed with the open's answer not yet run: nobody is told,
 * and the device the open made is closed. */
static void async_open_abandoned_at_free_closes_its_device(void **state)
{
	struct env *e = new_env(true, NULL);
	struct bs_dev_params p = tcmu_params("fake/mem");
	struct opened o = {.e = e, .reactor = pthread_self()};
	struct fake_stats *st;
	int opens0, closes0;

	(void)state;
	use_fake_plugins();
	/* load the plugin and learn the counters first */
	{
		struct opened o0 = {.e = e, .reactor = pthread_self()};

		assert_int_equal(e->ops->disk_open_async(e, &p, on_opened, &o0),
				 0);
		run_bounded(e);
		assert_int_equal(o0.rc, 0);
		bs_close(o0.dev);
	}
	st = fake_stats();
	opens0 = st->opens;
	closes0 = st->closes;
	assert_int_equal(e->ops->disk_open_async(e, &p, on_opened, &o), 0);
	env_real_free(e); /* joins the open's thread, never runs on_opened */
	assert_int_equal(o.calls, 0);
	assert_int_equal(st->opens, opens0 + 1);
	assert_int_equal(st->closes, closes0 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(async_open_answers_on_the_reactor_later),
		cmocka_unit_test(async_open_error_comes_back_without_a_device),
		cmocka_unit_test(async_open_of_local_kinds_is_refused_at_once),
		cmocka_unit_test(
			async_open_abandoned_at_free_closes_its_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
