/*
 * test_env_real_net.c — TCP listeners and connections of the
 * real environment on 127.0.0.1: partial sends and receives, back
 * pressure, closes.
 *
 * Every test drives its own reactor and bounds itself with a watchdog
 * timer, so a broken build fails instead of hanging.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "env_real_rig.h"
#include "iscsi/pdu.h"

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
	/* conn_send_file: tx[0, tx_len) (a header) then file_len bytes of
	 * file_fd (or ENV_FD_ZEROS) from file_off */
	bool file;
	int file_fd;
	uint64_t file_off, file_len;
	int zero_returns; /* conn_send_file accepted nothing (EAGAIN) */
	ssize_t file_err; /* the first error it returned */
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

/* The header, then the file range, through conn_send_file until the
 * socket is full: resumed on writable wherever the last call stopped. */
static void srv_pump_file(struct srv *s)
{
	while (s->tx_off < s->tx_len + s->file_len) {
		struct iovec iov = {0};
		int iovcnt = 0;
		uint64_t foff = 0;
		ssize_t n;

		if (s->tx_off < s->tx_len) {
			iov.iov_base = (void *)(s->tx + s->tx_off);
			iov.iov_len = s->tx_len - s->tx_off;
			iovcnt = 1;
		} else {
			foff = s->tx_off - s->tx_len;
		}
		n = s->e->ops->conn_send_file(s->c, &iov, iovcnt, s->file_fd,
					      s->file_off + foff,
					      s->file_len - foff);
		if (n < 0) {
			if (!s->file_err)
				s->file_err = n;
			s->e->ops->conn_want_write(s->c, false);
			env_real_stop(s->e);
			return;
		}
		s->tx_off += (size_t)n;
		if (n == 0)
			s->zero_returns++;
		if (s->tx_off < s->tx_len + s->file_len &&
		    (n == 0 || (iovcnt && (size_t)n < iov.iov_len) ||
		     (!iovcnt && (uint64_t)n < s->file_len - foff))) {
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
	if (s->file)
		srv_pump_file(s);
	else
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
	if (s->file)
		srv_pump_file(s);
	else if (s->tx)
		srv_pump_tx(s);
	env_real_stop(s->e);
}

static uint16_t srv_listen(struct srv *s, const char *addr)
{
	int rc = s->e->ops->listen(s->e, addr, 7, srv_accept, s, &s->l);

	assert_int_equal(rc, 0);
	return env_real_listener_port(s->l);
}

/* Listen on 127.0.0.1, connect a client (receive buffer rcvbuf, 0: the
 * default) and run until the server has accepted it: the client's fd. */
static int srv_connect(struct srv *s, int rcvbuf)
{
	int fd = client_connect(AF_INET, srv_listen(s, "127.0.0.1:0"), rcvbuf);

	assert_true(fd >= 0);
	run_bounded(s->e); /* until accepted */
	assert_int_equal(s->accepted, 1);
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
	int fd;

	(void)state;
	fd = srv_connect(&s, 0);
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

	(void)state;
	assert_non_null(tx);
	assert_non_null(d.rx);
	for (size_t i = 0; i < len; i++)
		tx[i] = (uint8_t)(i * 31 + (i >> 13));
	d.fd = srv_connect(&s, 4096); /* accept: the server starts sending */
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

static struct env *send_file_env(void)
{
	return new_env_opts((struct env_real_opts){.send_file = true});
}

/* conn_send_file (--send-file on): a header, then 8 MiB of a file from
 * an offset, to a client that drains slowly: sendfile(2) comes back
 * short or with EAGAIN (0) and on_writable resumes it wherever it
 * stopped, in the header or in the file; every byte arrives in order. */
static void send_file_resumes_partial_sends_until_all_bytes_arrive(void **state)
{
	struct env *e = send_file_env();
	const size_t flen = 8u << 20, hlen = 48, skip = 4096 + 512;
	char *dir = make_tmpdir(), path[512];
	uint8_t *fbuf = malloc(flen + skip), hdr[48];
	struct srv s = {.e = e,
			.tx = hdr,
			.tx_len = hlen,
			.file = true,
			.file_off = skip,
			.file_len = flen};
	struct drain d = {
		.s = &s, .len = hlen + flen, .rx = malloc(hlen + flen)};

	(void)state;
	assert_non_null(e->ops->conn_send_file);
	assert_non_null(fbuf);
	assert_non_null(d.rx);
	for (size_t i = 0; i < flen + skip; i++)
		fbuf[i] = (uint8_t)(i * 29 + (i >> 11));
	for (size_t i = 0; i < hlen; i++)
		hdr[i] = (uint8_t)(0xa0 + i);
	snprintf(path, sizeof(path), "%s/f", dir);
	s.file_fd = file_with(path, fbuf, flen + skip);
	d.fd = srv_connect(&s, 4096); /* accept: the server starts sending */
	assert_true(s.partial_seen);
	d.t = env_timer_new(e, drain_tick, &d);
	env_timer_arm(e, d.t, env_now_ns(e));
	run_bounded(e);
	assert_int_equal(s.file_err, 0);
	assert_int_equal(d.got, hlen + flen);
	assert_int_equal(s.tx_off, hlen + flen);
	assert_true(s.writable_calls > 0);
	assert_memory_equal(d.rx, hdr, hlen);
	assert_memory_equal(d.rx + hlen, fbuf + skip, flen);
	env_timer_free(e, d.t);
	close(d.fd);
	close(s.file_fd);
	env_real_free(e);
	remove_tmpdir(dir);
	free(fbuf);
	free(d.rx);
}

/* ENV_FD_ZEROS: the environment's own zeros (a memfd never written),
 * 20 MiB of them, more than the memfd holds: sent in parts. */
static void send_file_sends_zeros_of_its_own(void **state)
{
	struct env *e = send_file_env();
	const size_t zlen = 20u << 20;
	uint8_t hdr[16];
	struct srv s = {.e = e,
			.tx = hdr,
			.tx_len = sizeof(hdr),
			.file = true,
			.file_fd = ENV_FD_ZEROS,
			.file_off = 777,
			.file_len = zlen};
	struct drain d = {.s = &s,
			  .len = sizeof(hdr) + zlen,
			  .rx = malloc(sizeof(hdr) + zlen)};

	(void)state;
	assert_non_null(d.rx);
	memset(hdr, 0x5a, sizeof(hdr));
	memset(d.rx, 0xee, d.len);
	d.fd = srv_connect(&s, 4096);
	d.t = env_timer_new(e, drain_tick, &d);
	env_timer_arm(e, d.t, env_now_ns(e));
	run_bounded(e);
	assert_int_equal(s.file_err, 0);
	assert_int_equal(d.got, d.len);
	assert_memory_equal(d.rx, hdr, sizeof(hdr));
	for (size_t i = sizeof(hdr); i < d.len; i++)
		if (d.rx[i] != 0)
			fail_msg("byte %zu is %u, not 0", i, d.rx[i]);
	env_timer_free(e, d.t);
	close(d.fd);
	env_real_free(e);
	free(d.rx);
}

/* The peer resets while a file range is being sent: conn_send_file
 * returns an error (sendfile's SIGPIPE does not end the process), and
 * keeps returning it. */
static void send_file_to_a_reset_peer_fails_without_a_signal(void **state)
{
	struct env *e = send_file_env();
	const size_t flen = 4u << 20;
	char *dir = make_tmpdir(), path[512];
	uint8_t *fbuf = calloc(1, flen), hdr[48] = {1};
	struct srv s = {.e = e,
			.tx = hdr,
			.tx_len = sizeof(hdr),
			.file = true,
			.file_len = flen};
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct iovec iov = {hdr, sizeof(hdr)};
	int fd;

	(void)state;
	assert_non_null(fbuf);
	snprintf(path, sizeof(path), "%s/f", dir);
	s.file_fd = file_with(path, fbuf, flen);
	fd = srv_connect(&s,
			 4096); /* accepted; sending until the socket is full */
	assert_true(s.partial_seen);
	assert_int_equal(s.file_err, 0);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);	/* RST */
	run_bounded(e); /* on_writable (the error) or on_closed */
	/* whichever came first, sending now fails */
	assert_true(e->ops->conn_send_file(s.c, &iov, 1, s.file_fd, 0, flen) <
		    0);
	assert_true(e->ops->conn_send_file(s.c, NULL, 0, s.file_fd, 0, flen) <
		    0);
	e->ops->conn_close(s.c);
	close(s.file_fd);
	env_real_free(e);
	remove_tmpdir(dir);
	free(fbuf);
}

/* --send-file off (the default): no conn_send_file, and the target
 * sends from memory. */
static void send_file_is_off_by_default(void **state)
{
	struct env *e = new_env(false, NULL);

	(void)state;
	assert_null(e->ops->conn_send_file);
	env_real_free(e);
}

static void peer_reset_reports_on_closed_with_an_error(void **state)
{
	struct env *e = new_env(false, NULL);
	struct srv s = {.e = e};
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	int fd;

	(void)state;
	fd = srv_connect(&s, 0);
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
	int fd;

	(void)state;
	fd = srv_connect(&s, 0);
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

/* The real environment digests long buffers through ISA-L
 * (env_real/crc_isal.c): same results as the built-in code, for a CRC
 * carried in from an earlier piece too, at any alignment. */
static void isal_crc32c_agrees_with_the_builtin_code(void **state)
{
	static const size_t lens[] = {255, 256, 257, 511, 4096, 4100, 65539};
	static uint8_t buf[65539 + 8];
	struct env *e = new_env(false, NULL); /* installs ISA-L */

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 167 + (i >> 10) + 1);
	for (size_t off = 0; off < 2; off++)
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			uint32_t init = off ? 0x89abcdefu : ~0u;

			assert_int_equal(crc32c(init, buf + off, lens[k]),
					 crc32c_1way(init, buf + off, lens[k]));
		}
	env_real_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted_connection_round_trips_bytes),
		cmocka_unit_test(isal_crc32c_agrees_with_the_builtin_code),
		cmocka_unit_test(
			readable_is_level_triggered_so_partial_reads_resume),
		cmocka_unit_test(
			partial_sends_resume_on_writable_until_all_bytes_arrive),
		cmocka_unit_test(
			send_file_resumes_partial_sends_until_all_bytes_arrive),
		cmocka_unit_test(send_file_sends_zeros_of_its_own),
		cmocka_unit_test(
			send_file_to_a_reset_peer_fails_without_a_signal),
		cmocka_unit_test(send_file_is_off_by_default),
		cmocka_unit_test(peer_reset_reports_on_closed_with_an_error),
		cmocka_unit_test(closed_connection_gets_no_more_callbacks),
		cmocka_unit_test(listen_on_a_busy_port_fails_with_eaddrinuse),
		cmocka_unit_test(listen_rejects_malformed_addresses),
		cmocka_unit_test(
			accept_out_of_descriptors_pauses_without_spinning),
		cmocka_unit_test(
			ipv6_listener_accepts_and_prints_bracketed_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
