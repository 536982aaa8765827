/*
 * env_real_rig.h — helpers of the real environment's tests
 * (test_env_real_*.c): environments with a watchdog so that a broken build
 * fails instead of hanging, bounded runs, temporary directories and
 * files, a TCP client and a file backstore opened through the
 * environment.
 */
#ifndef UT_TEST_ENV_REAL_RIG_H
#define UT_TEST_ENV_REAL_RIG_H

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/falloc.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "backstore/backstore.h"
#include "env.h"
#include "env_real/env_real.h"
#include "env_real_faults.h"

#define WATCHDOG_NS (10ull * 1000000000ull)
#define MS(x) ((uint64_t)(x)*1000000ull)
#define BS 4096u

/* ------------------------------------------------------------ helpers */

struct watchdog {
	struct env *e;
	struct env_timer *t;
	bool fired;
};

static inline void watchdog_fire(void *arg)
{
	struct watchdog *w = arg;

	w->fired = true;
	env_real_stop(w->e);
}

/* A real environment with the options given, logging warnings only. */
static inline struct env *new_env_opts(struct env_real_opts o)
{
	struct env *e;

	o.log_level = UT_LOG_WARN;
	e = env_real_new(&o);
	assert_non_null(e);
	return e;
}

static inline struct env *new_env(bool no_uring, const char *state_dir)
{
	return new_env_opts((struct env_real_opts){
		.state_dir = state_dir,
		.disable_uring = no_uring,
	});
}

/* Run the reactor until a callback stops it; fail if the watchdog has to. */
static inline void run_bounded(struct env *e)
{
	struct watchdog w = {.e = e};

	w.t = env_timer_new(e, watchdog_fire, &w);
	assert_non_null(w.t);
	env_timer_arm(e, w.t, env_now_ns(e) + WATCHDOG_NS);
	assert_int_equal(env_real_run(e), 0);
	env_timer_free(e, w.t);
	if (w.fired)
		fail_msg("the reactor ran into the %llu s watchdog",
			 WATCHDOG_NS / 1000000000ull);
}

static inline void stop_cb(void *arg)
{
	env_real_stop(arg);
}

/* Run the reactor for about ms milliseconds. */
static inline void run_for_ms(struct env *e, unsigned int ms)
{
	struct env_timer *t = env_timer_new(e, stop_cb, e);

	env_timer_arm(e, t, env_now_ns(e) + MS(ms));
	assert_int_equal(env_real_run(e), 0);
	env_timer_free(e, t);
}

/* Run for about ms with rule r armed (env_real_faults.h), after the
 * run's own timer is made: its allocation is not the one meant. */
static inline void run_ms_armed(struct env *e, unsigned int ms, enum sf_call c,
				struct sf_rule r)
{
	struct env_timer *t = env_timer_new(e, stop_cb, e);

	env_timer_arm(e, t, env_now_ns(e) + MS(ms));
	sf_arm(c, r);
	assert_int_equal(env_real_run(e), 0);
	sf_disarm(c);
	env_timer_free(e, t);
}

static inline int rm_entry(const char *path, const struct stat *st, int flag,
			   struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/utarget-test-env-real-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static inline void remove_tmpdir(char *dir)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* A new file at path holding len bytes: its descriptor, open for
 * reading and writing (the caller closes it). */
static inline int file_with(const char *path, const void *bytes, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	return fd;
}

static inline int client_connect(int family, uint16_t port, int rcvbuf)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_loopback;
		len = sizeof(*s6);
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static inline struct bs_dev *open_file(struct env *e, const char *path,
				       uint64_t size, bool create, bool thin,
				       bool ro)
{
	struct bs_dev_params p = {
		.kind = BS_FILE,
		.name = "test",
		.path = path,
		.size_bytes = size,
		.block_size = BS,
		.thin = thin,
		.create = create,
		.read_only = ro,
	};
	struct bs_dev *d = NULL;

	assert_int_equal(e->ops->disk_open(e, &p, &d), 0);
	assert_non_null(d);
	return d;
}

#endif
