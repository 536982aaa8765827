/*
 * test_env_real.c — the real environment: reactor timers, TCP listeners and
 * connections on 127.0.0.1, signals, durable state, and the file backstore
 * through io_uring and through the thread-pool fallback.
 *
 * Every test drives its own reactor and bounds itself with a watchdog
 * timer, so a broken build fails instead of hanging.
 */
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

#define WATCHDOG_NS (10ull * 1000000000ull)
#define MS(x) ((uint64_t)(x)*1000000ull)

/* ------------------------------------------------------------ helpers */

struct watchdog {
	struct env *e;
	struct env_timer *t;
	bool fired;
};

static void watchdog_fire(void *arg)
{
	struct watchdog *w = arg;

	w->fired = true;
	env_real_stop(w->e);
}

/* A real environment with the options given, logging warnings only. */
static struct env *new_env_opts(struct env_real_opts o)
{
	struct env *e;

	o.log_level = UT_LOG_WARN;
	e = env_real_new(&o);
	assert_non_null(e);
	return e;
}

static struct env *new_env(bool no_uring, const char *state_dir)
{
	return new_env_opts((struct env_real_opts){
		.state_dir = state_dir,
		.disable_uring = no_uring,
	});
}

/* Run the reactor until a callback stops it; fail if the watchdog has to. */
static void run_bounded(struct env *e)
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

static void stop_cb(void *arg)
{
	env_real_stop(arg);
}

/* Run the reactor for about ms milliseconds. */
static void run_for_ms(struct env *e, unsigned int ms)
{
	struct env_timer *t = env_timer_new(e, stop_cb, e);

	env_timer_arm(e, t, env_now_ns(e) + MS(ms));
	assert_int_equal(env_real_run(e), 0);
	env_timer_free(e, t);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/utarget-test-env-real-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void remove_tmpdir(char *dir)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

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

/* ------------------------------------------------------------ network */

struct srv {
	struct env *e;
	struct env_listener *l;
	struct env_conn *c;
	struct env_conn_info info;
	int accepted;
	/* what the server does on readable */
	size_t read_per_call; /* 0: drain */
	bool echo;
	bool close_on_readable;
	bool in_recv;
	uint8_t rx[65536];
	size_t rx_len, stop_at_rx;
	int readable_calls;
	int closed_calls;
	int closed_err;
	bool closed_inside_call;
	/* bulk send */
	const uint8_t *tx;
	size_t tx_len, tx_off;
	bool partial_seen;
	int writable_calls;
};

static void srv_stop_if(struct srv *s, bool cond)
{
	if (cond)
		env_real_stop(s->e);
}

static void srv_pump_tx(struct srv *s)
{
	while (s->tx_off < s->tx_len) {
		struct iovec iov[2];
		size_t left = s->tx_len - s->tx_off;
		ssize_t n;

		/* two iovecs to exercise gathering */
		iov[0].iov_base = (void *)(s->tx + s->tx_off);
		iov[0].iov_len = left / 2;
		iov[1].iov_base = (void *)(s->tx + s->tx_off + left / 2);
		iov[1].iov_len = left - left / 2;
		n = s->e->ops->conn_send(s->c, iov, 2);
		assert_true(n >= 0);
		s->tx_off += (size_t)n;
		if ((size_t)n < left) {
			s->partial_seen = true;
			s->e->ops->conn_want_write(s->c, true);
			return;
		}
	}
	s->e->ops->conn_want_write(s->c, false);
}

static void srv_readable(void *ctx)
{
	struct srv *s = ctx;

	s->readable_calls++;
	if (s->close_on_readable) {
		s->e->ops->conn_close(s->c);
		s->c = NULL;
		return;
	}
	for (;;) {
		size_t want = sizeof(s->rx) - s->rx_len;
		ssize_t n;

		if (s->read_per_call && want > s->read_per_call)
			want = s->read_per_call;
		s->in_recv = true;
		n = s->e->ops->conn_recv(s->c, s->rx + s->rx_len, want);
		s->in_recv = false;
		if (n <= 0)
			break;
		if (s->echo) {
			struct iovec iov = {s->rx + s->rx_len, (size_t)n};

			assert_int_equal(s->e->ops->conn_send(s->c, &iov, 1),
					 n);
		}
		s->rx_len += (size_t)n;
		if (s->read_per_call)
			break; /* leave the rest: level-triggered */
	}
	srv_stop_if(s, s->stop_at_rx && s->rx_len >= s->stop_at_rx);
}

static void srv_writable(void *ctx)
{
	struct srv *s = ctx;

	s->writable_calls++;
	srv_pump_tx(s);
}

static void srv_closed(void *ctx, int err)
{
	struct srv *s = ctx;

	if (s->in_recv)
		s->closed_inside_call = true;
	s->closed_calls++;
	s->closed_err = err;
	env_real_stop(s->e);
}

static const struct env_conn_handler srv_handler = {
	.on_readable = srv_readable,
	.on_writable = srv_writable,
	.on_closed = srv_closed,
};

static void srv_accept(void *arg, struct env_conn *c,
		       const struct env_conn_info *info)
{
	struct srv *s = arg;

	s->accepted++;
	s->c = c;
	s->info = *info;
	s->e->ops->conn_set_handler(c, &srv_handler, s);
	if (s->tx)
		srv_pump_tx(s);
	env_real_stop(s->e);
}

static uint16_t srv_listen(struct srv *s, const char *addr)
{
	int rc = s->e->ops->listen(s->e, addr, 7, srv_accept, s, &s->l);

	assert_int_equal(rc, 0);
	return env_real_listener_port(s->l);
}

static int client_connect(int family, uint16_t port, int rcvbuf)
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

static void write_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static void accepted_connection_round_trips_bytes(void **state)
{
	struct env *e = new_env(false, NULL);
	struct srv s = {.e = e, .echo = true, .stop_at_rx = 11};
	char buf[32] = {0};
	uint16_t port;
	int fd;

	(void)state;
	port = srv_listen(&s, "127.0.0.1:0");
	assert_true(port != 0);
	fd = client_connect(AF_INET, port, 0);
	assert_true(fd >= 0);
	run_bounded(e); /* until accepted */
	assert_int_equal(s.accepted, 1);
	assert_int_equal(s.info.portal_group, 7);
	assert_int_equal(s.info.listener_index, 0);
	assert_true(strncmp(s.info.peer_addr, "127.0.0.1:", 10) == 0);
	snprintf(buf, sizeof(buf), "127.0.0.1:%u", port);
	assert_string_equal(s.info.local_addr, buf);

	write_all(fd, "hello world", 11);
	run_bounded(e); /* until 11 bytes were read and echoed */
	assert_int_equal(s.rx_len, 11);
	assert_memory_equal(s.rx, "hello world", 11);
	memset(buf, 0, sizeof(buf));
	for (size_t got = 0; got < 11;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_memory_equal(buf, "hello world", 11);

	close(fd);
	run_bounded(e); /* until on_closed */
	assert_int_equal(s.closed_calls, 1);
	assert_int_equal(s.closed_err, 0);
	assert_false(s.closed_inside_call);
	e->ops->conn_close(s.c);
	e->ops->listener_close(s.l);
	env_real_free(e);
}

static void readable_is_level_triggered_so_partial_reads_resume(void **state)
{
	struct env *e = new_env(false, NULL);
	struct srv s = {.e = e, .read_per_call = 1, .stop_at_rx = 10};
	uint16_t port;
	int fd;

	(void)state;
	port = srv_listen(&s, "127.0.0.1:0");
	fd = client_connect(AF_INET, port, 0);
	run_bounded(e);
	write_all(fd, "0123456789", 10);
	run_bounded(e);
	assert_int_equal(s.rx_len, 10);
	assert_true(s.readable_calls >= 10);
	assert_memory_equal(s.rx, "0123456789", 10);
	close(fd);
	env_real_free(e); /* closes what is left, without callbacks */
}

/* The client drains its socket from a timer, slowly, so that the server's
 * sends come back short and on_writable must resume them. */
struct drain {
	struct srv *s;
	struct env_timer *t;
	int fd;
	uint8_t *rx;
	size_t len, got;
};

static void drain_tick(void *arg)
{
	struct drain *d = arg;
	ssize_t n;

	while ((n = recv(d->fd, d->rx + d->got, d->len - d->got,
			 MSG_DONTWAIT)) > 0)
		d->got += (size_t)n;
	if (d->got == d->len) {
		env_real_stop(d->s->e);
		return;
	}
	env_timer_arm(d->s->e, d->t, env_now_ns(d->s->e) + MS(1));
}

static void
partial_sends_resume_on_writable_until_all_bytes_arrive(void **state)
{
	struct env *e = new_env(false, NULL);
	const size_t len = 8u << 20;
	uint8_t *tx = malloc(len);
	struct srv s = {.e = e, .tx = tx, .tx_len = len};
	struct drain d = {.s = &s, .len = len, .rx = malloc(len)};
	uint16_t port;

	(void)state;
	assert_non_null(tx);
	assert_non_null(d.rx);
	for (size_t i = 0; i < len; i++)
		tx[i] = (uint8_t)(i * 31 + (i >> 13));
	port = srv_listen(&s, "127.0.0.1:0");
	d.fd = client_connect(AF_INET, port, 4096);
	run_bounded(e); /* accept: the server starts sending */
	assert_true(s.partial_seen);
	d.t = env_timer_new(e, drain_tick, &d);
	env_timer_arm(e, d.t, env_now_ns(e));
	run_bounded(e);
	assert_int_equal(d.got, len);
	assert_int_equal(s.tx_off, len);
	assert_true(s.writable_calls > 0);
	assert_memory_equal(d.rx, tx, len);
	env_timer_free(e, d.t);
	close(d.fd);
	env_real_free(e);
	free(tx);
	free(d.rx);
}

static void peer_reset_reports_on_closed_with_an_error(void **state)
{
	struct env *e = new_env(false, NULL);
	struct srv s = {.e = e};
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	uint16_t port;
	int fd;

	(void)state;
	port = srv_listen(&s, "127.0.0.1:0");
	fd = client_connect(AF_INET, port, 0);
	run_bounded(e);
	/* linger 0: close sends RST instead of FIN */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	run_bounded(e);
	assert_int_equal(s.closed_calls, 1);
	assert_int_equal(s.closed_err, -ECONNRESET);
	/* a dead connection keeps failing, and says why */
	{
		struct iovec iov = {"x", 1};
		char b;

		assert_int_equal(e->ops->conn_send(s.c, &iov, 1), -ECONNRESET);
		assert_int_equal(e->ops->conn_recv(s.c, &b, 1), -ECONNRESET);
	}
	e->ops->conn_close(s.c);
	run_for_ms(e, 10);
	assert_int_equal(s.closed_calls, 1);
	env_real_free(e);
}

static void closed_connection_gets_no_more_callbacks(void **state)
{
	struct env *e = new_env(false, NULL);
	struct srv s = {.e = e};
	uint16_t port;
	int fd;

	(void)state;
	port = srv_listen(&s, "127.0.0.1:0");
	fd = client_connect(AF_INET, port, 0);
	run_bounded(e);
	s.close_on_readable = true;
	/* data and FIN together: the target closes inside on_readable, so
	 * neither on_readable again nor on_closed may follow. */
	write_all(fd, "bye", 3);
	close(fd);
	run_for_ms(e, 50);
	assert_int_equal(s.readable_calls, 1);
	assert_int_equal(s.closed_calls, 0);
	env_real_free(e);
}

static void listen_on_a_busy_port_fails_with_eaddrinuse(void **state)
{
	struct env *e = new_env(false, NULL);
	struct srv s = {.e = e};
	struct env_listener *l2 = (void *)1;
	char addr[32];
	uint16_t port;

	(void)state;
	port = srv_listen(&s, "127.0.0.1:0");
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	assert_int_equal(e->ops->listen(e, addr, 1, srv_accept, &s, &l2),
			 -EADDRINUSE);
	assert_null(l2);
	e->ops->listener_close(s.l);
	env_real_free(e);
}

static void listen_rejects_malformed_addresses(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1",	 "127.0.0.1:",	      "127.0.0.1:65536",
		":3260",	 "::1:3260",	      "[::1]3260",
		"[::1]:",	 "host.example:3260", "127.0.0.1:32a",
		"[127.0.0.1]:1", "1.2.3.4:-1",
	};
	struct env *e = new_env(false, NULL);
	struct srv s = {.e = e};

	(void)state;
	e->log_level = UT_LOG_ERROR; /* the errors are expected */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct env_listener *l = NULL;

		if (e->ops->listen(e, bad[i], 1, srv_accept, &s, &l) != -EINVAL)
			fail_msg("listen(\"%s\") must be -EINVAL", bad[i]);
	}
	env_real_free(e);
}

static void ipv6_listener_accepts_and_prints_bracketed_addresses(void **state)
{
	struct env *e = new_env(false, NULL);
	struct srv s = {.e = e};
	struct env_listener *l = NULL;
	char want[64];
	uint16_t port;
	int fd;

	(void)state;
	e->log_level = UT_LOG_ERROR;
	if (e->ops->listen(e, "[::1]:0", 3, srv_accept, &s, &l) < 0) {
		env_real_free(e);
		skip(); /* no IPv6 loopback here */
	}
	e->log_level = UT_LOG_WARN;
	s.l = l;
	port = env_real_listener_port(l);
	fd = client_connect(AF_INET6, port, 0);
	assert_true(fd >= 0);
	run_bounded(e);
	snprintf(want, sizeof(want), "[::1]:%u", port);
	assert_string_equal(s.info.local_addr, want);
	assert_true(strncmp(s.info.peer_addr, "[::1]:", 6) == 0);
	assert_int_equal(s.info.portal_group, 3);
	close(fd);
	env_real_free(e);
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Out of descriptors, a listener stays readable: the reactor must back off
 * instead of spinning, and accept again once descriptors are back. */
static void accept_out_of_descriptors_pauses_without_spinning(void **state)
{
	struct env *e = new_env(false, NULL);
	struct srv s = {.e = e};
	struct rlimit old, low;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd, next;
	double cpu;

	(void)state;
	sa.sin_port = htons(srv_listen(&s, "127.0.0.1:0"));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	next = dup(0);
	assert_true(next >= 0);
	close(next);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)next; /* no descriptor left to accept into */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cpu = cpu_seconds();
	run_for_ms(e, 60);
	cpu = cpu_seconds() - cpu;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(s.accepted, 0);
	if (cpu > 0.04)
		fail_msg("accept must pause on EMFILE, but the reactor burnt "
			 "%.0f ms of CPU in 60 ms",
			 cpu * 1000);
	run_bounded(e); /* resumes after the pause */
	assert_int_equal(s.accepted, 1);
	close(fd);
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

/* ----------------------------------------------------- file backstore */

#define BS 4096u

struct io_ctx {
	struct env *e;
	int pending;
	bool in_submit;
	bool completed_inside_submit;
};

struct io_req {
	struct bs_req req;
	struct io_ctx *ctx;
	int status;
	bool done;
	struct iovec iov[4];
};

static void io_done(struct bs_req *req, int status)
{
	struct io_req *r = (struct io_req *)req;

	if (r->ctx->in_submit)
		r->ctx->completed_inside_submit = true;
	r->status = status;
	r->done = true;
	if (--r->ctx->pending == 0)
		env_real_stop(r->ctx->e);
}

static void io_submit(struct io_ctx *c, struct bs_dev *d, struct io_req *r,
		      enum bs_op op, uint32_t flags, uint64_t off, uint64_t len,
		      void *buf)
{
	memset(r, 0, sizeof(*r));
	r->ctx = c;
	r->req.op = op;
	r->req.flags = flags;
	r->req.offset_bytes = off;
	r->req.length_bytes = len;
	r->req.done = io_done;
	if (buf) {
		/* split into two iovecs to exercise gathering */
		r->iov[0].iov_base = buf;
		r->iov[0].iov_len = len / 2;
		r->iov[1].iov_base = (char *)buf + len / 2;
		r->iov[1].iov_len = len - len / 2;
		r->req.iov = r->iov;
		r->req.iovcnt = 2;
	}
	c->pending++;
	c->in_submit = true;
	bs_submit(d, &r->req);
	c->in_submit = false;
}

/* Submit one request and run until it completes; returns its status. */
static int io_sync(struct io_ctx *c, struct bs_dev *d, enum bs_op op,
		   uint32_t flags, uint64_t off, uint64_t len, void *buf)
{
	struct io_req r;

	io_submit(c, d, &r, op, flags, off, len, buf);
	assert_false(r.done); /* never inside bs_submit */
	run_bounded(c->e);
	assert_true(r.done);
	assert_false(c->completed_inside_submit);
	return r.status;
}

static struct bs_dev *open_file(struct env *e, const char *path, uint64_t size,
				bool create, bool thin, bool ro)
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

static void fill(uint8_t *b, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static bool all_zero(const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

static void file_backstore_checks(bool no_uring,
				  enum env_real_inline_writes inl)
{
	char *dir = make_tmpdir();
	struct env *e = new_env_opts((struct env_real_opts){
		.disable_uring = no_uring,
		.inline_writes = inl,
	});
	struct io_ctx c = {.e = e};
	struct env_real_disk_stats st_io;
	const uint64_t size = 16u << 20;
	char path[512];
	uint8_t *w = malloc(256 * 1024), *rd = malloc(256 * 1024);
	struct bs_dev *d;
	struct stat st;
	bool mapped;
	uint64_t run;

	snprintf(path, sizeof(path), "%s/lun0.img", dir);
	d = open_file(e, path, size, true, true, false);
	assert_int_equal(d->size_bytes, size);
	assert_int_equal(d->block_size, BS);
	assert_true(d->write_cache);
	assert_true(d->thin);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, (off_t)size);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(st.st_blocks == 0); /* created sparse */
	run = d->ops->lba_status(d, 0, size, &mapped);
	assert_false(mapped);
	assert_int_equal(run, size);

	/* write, read back */
	fill(w, 256 * 1024, 1);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, BS * 4, 256 * 1024, w),
			 0);
	memset(rd, 0xee, 256 * 1024);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, BS * 4, 256 * 1024, rd),
			 0);
	assert_memory_equal(rd, w, 256 * 1024);
	/* FUA write and flush */
	fill(w, BS, 2);
	assert_int_equal(
		io_sync(&c, d, BS_OP_WRITE, BS_F_FUA, size - BS, BS, w), 0);
	assert_int_equal(io_sync(&c, d, BS_OP_FLUSH, 0, 0, 0, NULL), 0);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, size - BS, BS, rd), 0);
	assert_memory_equal(rd, w, BS);

	/* mapped where written */
	run = d->ops->lba_status(d, BS * 4, size, &mapped);
	assert_true(mapped);
	assert_true(run >= 256 * 1024 && run % BS == 0);
	/* unmap punches a hole: reads zeros, reported unmapped */
	assert_int_equal(
		io_sync(&c, d, BS_OP_UNMAP, 0, BS * 4, 256 * 1024, NULL), 0);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, BS * 4, 256 * 1024, rd),
			 0);
	assert_true(all_zero(rd, 256 * 1024));
	run = d->ops->lba_status(d, BS * 4, 256 * 1024, &mapped);
	assert_false(mapped);
	assert_int_equal(run, 256 * 1024);
	/* write zeroes */
	fill(w, BS * 2, 3);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, BS * 100, BS * 2, w),
			 0);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE_ZEROES, 0, BS * 100, BS * 2,
				 NULL),
			 0);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, BS * 100, BS * 2, rd),
			 0);
	assert_true(all_zero(rd, BS * 2));

	/* range and alignment errors, still asynchronous */
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, size, BS, rd), -EINVAL);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, size - BS, 2 * BS, rd),
			 -EINVAL);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 512, BS, w), -EINVAL);
	/* exactly at the end is fine */
	assert_int_equal(
		io_sync(&c, d, BS_OP_READ, 0, size - 2 * BS, 2 * BS, rd), 0);
	bs_close(d);

	/* reopen with size 0: the file's size; read-only refuses writes */
	d = open_file(e, path, 0, false, false, true);
	assert_int_equal(d->size_bytes, size);
	assert_true(d->read_only);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 0, BS, w), -EROFS);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, size - BS, BS, rd), 0);
	fill(w, BS, 2);
	assert_memory_equal(rd, w, BS);
	bs_close(d);

	/* Where the three writes went: 256 KiB (over the inline limit) and
	 * FUA to the engine; 8 KiB on the reactor with "always" (even if
	 * slow: a slow one pauses the writes after it).  With "auto" it
	 * depends on the filesystem of /tmp. */
	env_real_disk_stats(e, &st_io);
	assert_int_equal(st_io.inline_writes + st_io.engine_writes, 3);
	if (inl == ENV_REAL_INLINE_OFF)
		assert_int_equal(st_io.inline_writes, 0);
	if (inl == ENV_REAL_INLINE_ALWAYS)
		assert_int_equal(st_io.inline_writes, 1);
	env_real_free(e);
	free(w);
	free(rd);
	remove_tmpdir(dir);
}

static void file_backstore_through_io_uring(void **state)
{
	(void)state;
	file_backstore_checks(false, ENV_REAL_INLINE_AUTO);
}

static void file_backstore_through_thread_pool_fallback(void **state)
{
	(void)state;
	file_backstore_checks(true, ENV_REAL_INLINE_AUTO);
}

static void file_backstore_with_writes_on_the_reactor(void **state)
{
	(void)state;
	file_backstore_checks(false, ENV_REAL_INLINE_ALWAYS);
	file_backstore_checks(true, ENV_REAL_INLINE_ALWAYS);
}

static void file_backstore_with_inline_writes_off(void **state)
{
	(void)state;
	file_backstore_checks(false, ENV_REAL_INLINE_OFF);
	file_backstore_checks(true, ENV_REAL_INLINE_OFF);
}

/* A slow write on the reactor sends the next ones to the engine for
 * 100 ms, then 200 ms after the next slow one; data stays right all along
 * (every inline write counts as slow with a 1 ns mark). */
static void slow_inline_write_pauses_writes_on_the_reactor(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env_opts((struct env_real_opts){
		.inline_writes = ENV_REAL_INLINE_ALWAYS,
		.inline_slow_ns = 1,
	});
	struct io_ctx c = {.e = e};
	struct env_real_disk_stats st;
	uint8_t w[BS], rd[BS];
	char path[512];
	struct bs_dev *d;
	uint64_t t0;

	(void)state;
	snprintf(path, sizeof(path), "%s/slow.img", dir);
	d = open_file(e, path, 1 << 20, true, false, false);
	t0 = env_now_ns(e);
	for (uint8_t i = 0; i < 4; i++) {
		fill(w, BS, i);
		assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, i * BS, BS, w),
				 0);
	}
	env_real_disk_stats(e, &st);
	if (env_now_ns(e) - t0 < MS(100)) {
		/* the first on the reactor (slow), the others paused */
		assert_int_equal(st.inline_writes, 1);
		assert_int_equal(st.inline_slow, 1);
		assert_int_equal(st.engine_writes, 3);
	}
	run_for_ms(e, 120); /* past the first pause */
	t0 = env_now_ns(e);
	fill(w, BS, 4);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 4 * BS, BS, w), 0);
	fill(w, BS, 5);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 5 * BS, BS, w), 0);
	env_real_disk_stats(e, &st);
	assert_int_equal(st.inline_writes + st.engine_writes, 6);
	assert_int_equal(st.inline_writes, st.inline_slow);
	if (env_now_ns(e) - t0 < MS(200)) {
		/* one more on the reactor, then a pause of 200 ms */
		assert_int_equal(st.inline_writes, 2);
		assert_int_equal(st.engine_writes, 4);
	}
	for (uint8_t i = 0; i < 6; i++) {
		assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, i * BS, BS, rd),
				 0);
		fill(w, BS, i);
		assert_memory_equal(rd, w, BS);
	}
	bs_close(d);
	env_real_free(e);
	remove_tmpdir(dir);
}

static void no_uring_environment_variable_selects_thread_pool(void **state)
{
	char *dir = make_tmpdir();
	struct env *e;
	struct io_ctx c;
	char path[512];
	uint8_t b[BS];
	struct bs_dev *d;

	(void)state;
	setenv("UTARGET_NO_URING", "1", 1);
	e = new_env(false, NULL);
	unsetenv("UTARGET_NO_URING");
	c = (struct io_ctx){.e = e};
	snprintf(path, sizeof(path), "%s/lun.img", dir);
	d = open_file(e, path, 1 << 20, true, false, false);
	fill(b, BS, 9);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, BS_F_FUA, BS, BS, b), 0);
	memset(b, 0, BS);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, BS, BS, b), 0);
	{
		uint8_t want[BS];

		fill(want, BS, 9);
		assert_memory_equal(b, want, BS);
	}
	bs_close(d);
	env_real_free(e);
	remove_tmpdir(dir);
}

/* More requests than the engine's queue depth: the excess waits and still
 * completes, in both engines. */
static void requests_beyond_queue_depth_all_complete(void **state)
{
	enum { N = 700 };

	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		char *dir = make_tmpdir();
		struct env *e = new_env(mode == 1, NULL);
		struct io_ctx c = {.e = e};
		struct io_req *r = calloc(N, sizeof(*r));
		uint8_t *buf = malloc((size_t)N * BS);
		char path[512];
		struct bs_dev *d;

		snprintf(path, sizeof(path), "%s/lun.img", dir);
		d = open_file(e, path, (uint64_t)N * BS, true, false, false);
		for (int i = 0; i < N; i++) {
			memset(buf + (size_t)i * BS, i & 0xff, BS);
			io_submit(&c, d, &r[i], BS_OP_WRITE, 0,
				  (uint64_t)i * BS, BS, buf + (size_t)i * BS);
		}
		run_bounded(e);
		assert_int_equal(c.pending, 0);
		memset(buf, 0xee, (size_t)N * BS);
		for (int i = 0; i < N; i++) {
			assert_int_equal(r[i].status, 0);
			io_submit(&c, d, &r[i], BS_OP_READ, 0, (uint64_t)i * BS,
				  BS, buf + (size_t)i * BS);
		}
		run_bounded(e);
		for (int i = 0; i < N; i++) {
			assert_int_equal(r[i].status, 0);
			assert_int_equal(buf[(size_t)i * BS], i & 0xff);
			assert_int_equal(buf[(size_t)i * BS + BS - 1],
					 i & 0xff);
		}
		bs_close(d);
		env_real_free(e);
		free(r);
		free(buf);
		remove_tmpdir(dir);
	}
}

static void read_past_end_of_a_short_file_returns_zeros(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env(false, NULL);
	struct io_ctx c = {.e = e};
	char path[512];
	uint8_t b[2 * BS];
	struct bs_dev *d;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/short.img", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	memset(b, 0x5a, BS);
	assert_int_equal(write(fd, b, BS), (ssize_t)BS);
	close(fd);
	/* read-only with a capacity larger than the file: not extended */
	d = open_file(e, path, 4 * BS, false, false, true);
	assert_int_equal(d->size_bytes, 4 * BS);
	memset(b, 0xee, sizeof(b));
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, 0, 2 * BS, b), 0);
	assert_int_equal(b[0], 0x5a);
	assert_int_equal(b[BS - 1], 0x5a);
	assert_true(all_zero(b + BS, BS));
	bs_close(d);
	env_real_free(e);
	remove_tmpdir(dir);
}

static void disk_open_sizes_files_and_rejects_empty_capacity(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env(false, NULL);
	char path[512];
	struct bs_dev *d = NULL;
	struct bs_dev_params p = {
		.kind = BS_FILE, .name = "t", .block_size = BS};
	struct stat st;
	int fd;

	(void)state;
	e->log_level = UT_LOG_ERROR;
	snprintf(path, sizeof(path), "%s/f.img", dir);
	p.path = path;
	/* missing and not asked to create */
	assert_int_equal(e->ops->disk_open(e, &p, &d), -ENOENT);
	/* create needs a size */
	p.create = true;
	assert_int_equal(e->ops->disk_open(e, &p, &d), -EINVAL);
	/* a file smaller than a block has no capacity */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	p.create = false;
	assert_int_equal(e->ops->disk_open(e, &p, &d), -EINVAL);
	/* a size larger than the file extends it */
	p.size_bytes = 8 * BS + 100; /* the tail is never addressed */
	assert_int_equal(e->ops->disk_open(e, &p, &d), 0);
	assert_int_equal(d->size_bytes, 8 * BS);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 8 * BS + 100);
	bs_close(d);
	/* a smaller size uses the head of the file */
	p.size_bytes = 2 * BS;
	assert_int_equal(e->ops->disk_open(e, &p, &d), 0);
	assert_int_equal(d->size_bytes, 2 * BS);
	bs_close(d);
	/* a directory is not a backstore */
	p.path = dir;
	p.size_bytes = 0;
	assert_true(e->ops->disk_open(e, &p, &d) < 0);
	env_real_free(e);
	remove_tmpdir(dir);
}

/* tmpfs has no FALLOC_FL_ZERO_RANGE: a thick LUN there must still get
 * zeros, by writing them. */
static void
write_zeroes_falls_back_to_writing_zeros_without_fallocate(void **state)
{
	char tmpl[] = "/dev/shm/utarget-test-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char path[512];
	uint8_t *b = malloc(64 * BS);

	(void)state;
	if (!dir)
		skip();
	dir = strdup(dir);
	snprintf(path, sizeof(path), "%s/probe", dir);
	{
		int fd = open(path, O_CREAT | O_RDWR, 0600);
		int rc = ftruncate(fd, BS) == 0
				 ? fallocate(fd,
					     FALLOC_FL_ZERO_RANGE |
						     FALLOC_FL_KEEP_SIZE,
					     0, BS)
				 : 0;

		close(fd);
		if (rc == 0 || errno != EOPNOTSUPP) {
			remove_tmpdir(dir);
			free(b);
			skip(); /* this filesystem zeroes ranges itself */
		}
	}
	for (int mode = 0; mode < 2; mode++) {
		struct env *e = new_env(mode == 1, NULL);
		struct io_ctx c = {.e = e};
		struct bs_dev *d;

		snprintf(path, sizeof(path), "%s/thick%d.img", dir, mode);
		d = open_file(e, path, 64 * BS, true, false, false);
		fill(b, 64 * BS, 4);
		assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 0, 64 * BS, b),
				 0);
		assert_int_equal(io_sync(&c, d, BS_OP_WRITE_ZEROES, 0, BS,
					 62 * BS, NULL),
				 0);
		assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, 0, 64 * BS, b),
				 0);
		assert_true(all_zero(b + BS, 62 * BS));
		assert_int_equal(b[0], 4);
		assert_true(b[63 * BS] != 0 || b[63 * BS + 1] != 0);
		bs_close(d);
		env_real_free(e);
	}
	free(b);
	remove_tmpdir(dir);
}

/* A block device is destroyed by this test, so it runs only when one is
 * named: UTARGET_TEST_BLOCKDEV=/dev/loop0 (e.g. losetup on a scratch file). */
static void block_device_backstore_reads_writes_and_unmaps(void **state)
{
	const char *dev = getenv("UTARGET_TEST_BLOCKDEV");
	uint8_t *w = malloc(64 * BS), *rd = malloc(64 * BS);

	(void)state;
	if (!dev || !*dev) {
		free(w);
		free(rd);
		skip();
	}
	for (int mode = 0; mode < 2; mode++) {
		struct env *e = new_env(mode == 1, NULL);
		struct io_ctx c = {.e = e};
		struct bs_dev_params p = {
			.kind = BS_BLOCK,
			.name = "blk",
			.path = dev,
			.block_size = BS,
			.thin = true,
		};
		struct bs_dev *d = NULL;
		bool mapped;

		assert_int_equal(e->ops->disk_open(e, &p, &d), 0);
		assert_true(d->size_bytes >= 64 * BS);
		assert_int_equal(d->size_bytes % BS, 0);
		fill(w, 64 * BS, (uint8_t)(5 + mode));
		assert_int_equal(io_sync(&c, d, BS_OP_WRITE, BS_F_FUA, 0,
					 64 * BS, w),
				 0);
		assert_int_equal(io_sync(&c, d, BS_OP_FLUSH, 0, 0, 0, NULL), 0);
		assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, 0, 64 * BS, rd),
				 0);
		assert_memory_equal(rd, w, 64 * BS);
		assert_int_equal(io_sync(&c, d, BS_OP_UNMAP, 0, 8 * BS, 16 * BS,
					 NULL),
				 0);
		assert_int_equal(io_sync(&c, d, BS_OP_WRITE_ZEROES, 0, 32 * BS,
					 8 * BS, NULL),
				 0);
		assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, 0, 64 * BS, rd),
				 0);
		assert_true(all_zero(rd + 8 * BS, 16 * BS));
		assert_true(all_zero(rd + 32 * BS, 8 * BS));
		assert_memory_equal(rd, w, 8 * BS);
		assert_memory_equal(rd + 24 * BS, w + 24 * BS, 8 * BS);
		/* block devices report everything mapped */
		assert_int_equal(d->ops->lba_status(d, 0, 64 * BS, &mapped),
				 64 * BS);
		assert_true(mapped);
		bs_close(d);
		env_real_free(e);
	}
	free(w);
	free(rd);
}

/* ------------------------------------------------------ several reactors */

static struct env *new_env_reactors(unsigned int n)
{
	struct env *e = new_env_opts((struct env_real_opts){.reactors = n});

	assert_int_equal(env_real_reactors(e), n);
	return e;
}

struct mr_post {
	struct env *e0;
	pthread_t main_thread;
	pthread_t ran_on;
	int runs;
	bool inline_run;
	bool posting;
};

static void mr_post_fn(void *arg)
{
	struct mr_post *p = arg;

	p->ran_on = pthread_self();
	p->inline_run = p->posting;
	p->runs++;
	env_real_stop(p->e0);
}

/* Reactor 1's env: the one a connection accepted there carries. */
struct mr_accept {
	struct env *e0;
	struct env *env[8];
	pthread_t thread[8];
	int taken, n, want;
};

/* The env (and thread) of the reactor other than e among the accepts. */
static int mr_other(const struct mr_accept *a, struct env *e)
{
	for (int i = 0; i < a->n; i++)
		if (a->env[i] != e)
			return i;
	fail_msg("no connection landed on another reactor");
	return -1;
}

static void mr_accept_fn(void *arg, struct env_conn *c,
			 const struct env_conn_info *info)
{
	struct mr_accept *a = arg;
	static const struct env_conn_handler h = {0};
	int slot = __atomic_fetch_add(&a->taken, 1, __ATOMIC_SEQ_CST);

	assert_non_null(info->env);
	a->env[slot] = info->env;
	a->thread[slot] = pthread_self();
	info->env->ops->conn_set_handler(c, &h, NULL);
	info->env->ops->conn_close(c);
	if (__atomic_add_fetch(&a->n, 1, __ATOMIC_SEQ_CST) == a->want)
		env_real_stop(a->e0);
}

static void post_runs_on_the_other_reactors_thread(void **state)
{
	struct env *e = new_env_reactors(2);
	struct mr_accept a = {.e0 = e, .want = 4};
	struct mr_post p = {.e0 = e, .main_thread = pthread_self()};
	struct env *other_env;
	struct env_listener *l;
	uint16_t port;
	int fds[4];

	(void)state;
	/* Accepted connections go to the reactors in turn, each callback on
	 * its reactor's thread, with that reactor's env in info.env. */
	assert_int_equal(
		e->ops->listen(e, "127.0.0.1:0", 1, mr_accept_fn, &a, &l), 0);
	port = env_real_listener_port(l);
	for (int i = 0; i < 4; i++)
		fds[i] = client_connect(AF_INET, port, 0);
	run_bounded(e);
	assert_int_equal(a.n, 4);
	{
		int on0 = 0, other = mr_other(&a, e);

		for (int i = 0; i < 4; i++) {
			if (a.env[i] == e) {
				on0++;
				assert_true(pthread_equal(a.thread[i],
							  p.main_thread));
			} else {
				assert_ptr_equal(a.env[i], a.env[other]);
				assert_true(pthread_equal(a.thread[i],
							  a.thread[other]));
				assert_false(pthread_equal(a.thread[i],
							   p.main_thread));
			}
		}
		assert_int_equal(on0, 2); /* in turn: two each */
		other_env = a.env[other];
	}
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	/* A post to reactor 1 runs there, never inside env_post(). */
	p.posting = true;
	assert_int_equal(env_post(other_env, mr_post_fn, &p), 0);
	p.posting = false;
	run_bounded(e);
	assert_int_equal(p.runs, 1);
	assert_false(p.inline_run);
	assert_false(pthread_equal(p.ran_on, p.main_thread));
	/* A post to ourselves (reactor 0) runs on this thread. */
	assert_int_equal(env_post(e, mr_post_fn, &p), 0);
	run_bounded(e);
	assert_int_equal(p.runs, 2);
	assert_true(pthread_equal(p.ran_on, p.main_thread));
	e->ops->listener_close(l);
	env_real_free(e);
}

struct mr_disk {
	struct env *e0;
	struct bs_dev *d;
	struct bs_req req;
	struct iovec iov;
	uint8_t buf[BS];
	pthread_t submitted_on, completed_on;
	int status;
};

static void mr_disk_done(struct bs_req *req, int status)
{
	struct mr_disk *m =
		(struct mr_disk *)((char *)req - offsetof(struct mr_disk, req));

	m->completed_on = pthread_self();
	m->status = status;
	env_real_stop(m->e0);
}

static void mr_disk_submit(void *arg)
{
	struct mr_disk *m = arg;

	m->submitted_on = pthread_self();
	memset(&m->req, 0, sizeof(m->req));
	m->iov.iov_base = m->buf;
	m->iov.iov_len = BS;
	m->req.op = BS_OP_READ;
	m->req.offset_bytes = BS;
	m->req.length_bytes = BS;
	m->req.iov = &m->iov;
	m->req.iovcnt = 1;
	m->req.done = mr_disk_done;
	bs_submit(m->d, &m->req);
}

/* A file opened on reactor 0 and read from reactor 1 completes on 1. */
static void disk_request_completes_on_the_submitting_reactor(void **state)
{
	char *dir = make_tmpdir();
	char path[4200];
	struct env *e = new_env_reactors(2);
	struct mr_accept a = {.e0 = e, .want = 2};
	struct env_listener *l;
	struct mr_disk m = {.e0 = e};
	int fds[2], k;

	(void)state;
	snprintf(path, sizeof(path), "%s/disk.img", dir);
	m.d = open_file(e, path, 1 << 20, true, false, false);
	/* Find reactor 1's env the way the target does: an accept there. */
	assert_int_equal(
		e->ops->listen(e, "127.0.0.1:0", 1, mr_accept_fn, &a, &l), 0);
	for (int i = 0; i < 2; i++)
		fds[i] = client_connect(AF_INET, env_real_listener_port(l), 0);
	run_bounded(e);
	assert_int_equal(a.n, 2);
	k = mr_other(&a, e);
	assert_int_equal(env_post(a.env[k], mr_disk_submit, &m), 0);
	run_bounded(e);
	assert_int_equal(m.status, 0);
	assert_true(pthread_equal(m.submitted_on, a.thread[k]));
	assert_true(pthread_equal(m.completed_on, a.thread[k]));
	assert_false(pthread_equal(m.completed_on, pthread_self()));
	for (int i = 0; i < 2; i++)
		close(fds[i]);
	bs_close(m.d);
	e->ops->listener_close(l);
	env_real_free(e);
	remove_tmpdir(dir);
}

static void mr_stop_fn(void *arg)
{
	env_real_stop(arg); /* reactor 1's env stops the whole group */
}

static void stop_from_another_reactor_stops_the_group(void **state)
{
	struct env *e = new_env_reactors(3);
	struct mr_accept a = {.e0 = e, .want = 2};
	struct env_listener *l;
	int fds[2], k;

	(void)state;
	assert_int_equal(
		e->ops->listen(e, "127.0.0.1:0", 1, mr_accept_fn, &a, &l), 0);
	for (int i = 0; i < 2; i++)
		fds[i] = client_connect(AF_INET, env_real_listener_port(l), 0);
	run_bounded(e);
	assert_int_equal(a.n, 2);
	k = mr_other(&a, e);
	assert_int_equal(env_post(a.env[k], mr_stop_fn, a.env[k]), 0);
	run_bounded(e); /* returns: reactor 1 stopped everyone */
	for (int i = 0; i < 2; i++)
		close(fds[i]);
	e->ops->listener_close(l);
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
		cmocka_unit_test(post_runs_on_the_other_reactors_thread),
		cmocka_unit_test(
			disk_request_completes_on_the_submitting_reactor),
		cmocka_unit_test(stop_from_another_reactor_stops_the_group),
		cmocka_unit_test(accepted_connection_round_trips_bytes),
		cmocka_unit_test(
			readable_is_level_triggered_so_partial_reads_resume),
		cmocka_unit_test(
			partial_sends_resume_on_writable_until_all_bytes_arrive),
		cmocka_unit_test(peer_reset_reports_on_closed_with_an_error),
		cmocka_unit_test(closed_connection_gets_no_more_callbacks),
		cmocka_unit_test(listen_on_a_busy_port_fails_with_eaddrinuse),
		cmocka_unit_test(listen_rejects_malformed_addresses),
		cmocka_unit_test(
			accept_out_of_descriptors_pauses_without_spinning),
		cmocka_unit_test(
			ipv6_listener_accepts_and_prints_bracketed_addresses),
		cmocka_unit_test(signal_is_delivered_on_the_reactor),
		cmocka_unit_test(random_u64_does_not_repeat),
		cmocka_unit_test(
			state_put_replaces_atomically_and_get_reads_back),
		cmocka_unit_test(
			state_keys_outside_the_file_name_alphabet_are_rejected),
		cmocka_unit_test(state_without_a_directory_is_not_supported),
		cmocka_unit_test(file_backstore_through_io_uring),
		cmocka_unit_test(file_backstore_through_thread_pool_fallback),
		cmocka_unit_test(file_backstore_with_writes_on_the_reactor),
		cmocka_unit_test(file_backstore_with_inline_writes_off),
		cmocka_unit_test(
			slow_inline_write_pauses_writes_on_the_reactor),
		cmocka_unit_test(
			no_uring_environment_variable_selects_thread_pool),
		cmocka_unit_test(requests_beyond_queue_depth_all_complete),
		cmocka_unit_test(read_past_end_of_a_short_file_returns_zeros),
		cmocka_unit_test(
			disk_open_sizes_files_and_rejects_empty_capacity),
		cmocka_unit_test(
			write_zeroes_falls_back_to_writing_zeros_without_fallocate),
		cmocka_unit_test(
			block_device_backstore_reads_writes_and_unmaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
