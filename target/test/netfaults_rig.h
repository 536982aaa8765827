/*
 * netfaults_rig.h — what the network and reactor fault tests
 * (test_env_real_netfaults.c, test_env_real_reactorfaults.c) share: a
 * reactor with a fault plan and the helpers around it (env_real_faults.h
 * makes the system calls fail).  One test binary includes it once.
 */
#ifndef UT_TEST_NETFAULTS_RIG_H
#define UT_TEST_NETFAULTS_RIG_H

#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "env_real_rig.h"

/* ------------------------------------------------------------ rig */

struct srv {
	struct env *e;
	struct env_listener *l;
	struct env_conn *c;
	struct env_conn_info info;
	bool no_handler; /* accept without installing a handler */
	int accepted;
	uint8_t rx[4096];
	size_t rx_len, stop_at_rx;
	ssize_t last_recv;
	int closed_calls, closed_err;
	int writable_calls;
};

static inline void srv_readable(void *ctx)
{
	struct srv *s = ctx;

	for (;;) {
		ssize_t n = s->e->ops->conn_recv(s->c, s->rx + s->rx_len,
						 sizeof(s->rx) - s->rx_len);

		s->last_recv = n;
		if (n <= 0)
			break;
		s->rx_len += (size_t)n;
	}
	if (s->stop_at_rx && s->rx_len >= s->stop_at_rx)
		env_real_stop(s->e);
}

static inline void srv_writable(void *ctx)
{
	struct srv *s = ctx;

	s->writable_calls++;
	s->e->ops->conn_want_write(s->c, false);
	env_real_stop(s->e);
}

static inline void srv_closed(void *ctx, int err)
{
	struct srv *s = ctx;

	s->closed_calls++;
	s->closed_err = err;
	env_real_stop(s->e);
}

static const struct env_conn_handler srv_handler = {
	.on_readable = srv_readable,
	.on_writable = srv_writable,
	.on_closed = srv_closed,
};

static inline void srv_accept(void *arg, struct env_conn *c,
			      const struct env_conn_info *info)
{
	struct srv *s = arg;

	s->accepted++;
	s->c = c;
	s->info = *info;
	if (!s->no_handler)
		s->e->ops->conn_set_handler(c, &srv_handler, s);
	env_real_stop(s->e);
}

static inline uint16_t srv_listen(struct srv *s)
{
	assert_int_equal(s->e->ops->listen(s->e, "127.0.0.1:0", 1, srv_accept,
					   s, &s->l),
			 0);
	return env_real_listener_port(s->l);
}

/* Run with rule r on call c armed only now (after the watchdog timer is
 * made: its allocation is not the one meant). */
static inline void run_armed(struct env *e, enum sf_call c, struct sf_rule r)
{
	struct watchdog w = {.e = e};

	w.t = env_timer_new(e, watchdog_fire, &w);
	assert_non_null(w.t);
	env_timer_arm(e, w.t, env_now_ns(e) + WATCHDOG_NS);
	sf_arm(c, r);
	assert_int_equal(env_real_run(e), 0);
	sf_disarm(c);
	env_timer_free(e, w.t);
	assert_false(w.fired);
}

/* Whether the peer sees its connection closed within a second. */
static inline bool peer_sees_eof(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char b;

	if (poll(&p, 1, 1000) != 1)
		return false;
	return read(fd, &b, 1) <= 0;
}

static inline void write_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

/* stderr into a file while f runs (what fprintf says at start-up). */
struct capture {
	int saved;
	FILE *f;
};

static inline void capture_begin(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved = dup(STDERR_FILENO);
	dup2(fileno(c->f), STDERR_FILENO);
}

static inline bool capture_end_has(struct capture *c, const char *s)
{
	char buf[8192];
	size_t n;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	rewind(c->f);
	n = fread(buf, 1, sizeof(buf) - 1, c->f);
	buf[n] = '\0';
	fclose(c->f);
	return strstr(buf, s) != NULL;
}

static inline int srv_connected(struct srv *s, uint16_t *port)
{
	int fd;

	*port = srv_listen(s);
	fd = client_connect(AF_INET, *port, 0);
	assert_true(fd >= 0);
	run_bounded(s->e);
	assert_int_equal(s->accepted, 1);
	return fd;
}

/* The descriptor of ours whose path ends in suffix, or -1. */
static inline int fd_of(const char *suffix)
{
	char link[64], target[512];

	for (int fd = 3; fd < 1024; fd++) {
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strlen(target) >= strlen(suffix) &&
		    !strcmp(target + strlen(target) - strlen(suffix), suffix))
			return fd;
	}
	return -1;
}

#endif
