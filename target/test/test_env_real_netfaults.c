/*
 * test_env_real_netfaults.c — the real environment when the system says
 * no (env_real_faults.h): listeners that cannot be made, accepts that
 * fail, connections the reactor cannot take, receives and sends that are
 * interrupted, refused, short or reset, a recording disk that fills up,
 * reactors that cannot be created or started, signals, timers, posts,
 * randomness and the log.
 *
 * Each test checks what the caller gets (the error, the connection
 * closed, the callback), that nothing is left open (descriptor counts;
 * make unit-asan for memory), what is retried, and the log line the
 * docs promise.
 */
#include "netfaults_rig.h"

/* ------------------------------------------------------- listeners */

struct listen_case {
	const char *addr;
	enum sf_call call;
	struct sf_rule rule;
	int rc;
	const char *log;
};

/* Each step of making a listener fails in turn: the caller gets the
 * error, no listener, no descriptor left open, and the log names the
 * portal and the reason. */
static void listen_failures_leave_nothing_open(void **state)
{
	const struct listen_case cases[] = {
		{"127.0.0.1:0",
		 SF_SOCKET,
		 {.times = 1, .err = EMFILE},
		 -EMFILE,
		 "cannot listen on 127.0.0.1:0: Too many open files"},
		{"127.0.0.1:0",
		 SF_SETSOCKOPT,
		 {.times = 1, .err = ENOPROTOOPT, .size = SO_REUSEADDR},
		 -ENOPROTOOPT,
		 "cannot listen on 127.0.0.1:0: Protocol not available"},
		{"[::1]:0",
		 SF_SETSOCKOPT,
		 {.times = 1, .err = EINVAL, .size = IPV6_V6ONLY},
		 -EINVAL,
		 "cannot listen on [::1]:0: Invalid argument"},
		{"127.0.0.1:0",
		 SF_BIND,
		 {.times = 1, .err = EACCES},
		 -EACCES,
		 "cannot listen on 127.0.0.1:0: Permission denied"},
		{"127.0.0.1:0",
		 SF_LISTEN,
		 {.times = 1, .err = EADDRINUSE},
		 -EADDRINUSE,
		 "cannot listen on 127.0.0.1:0: Address already in use"},
		/* the listener's memory, its pause timer's heap slot and
		 * memory, its place in the epoll set */
		{"127.0.0.1:0",
		 SF_CALLOC,
		 {.times = 1},
		 -ENOMEM,
		 "cannot listen on 127.0.0.1:0: Cannot allocate memory"},
		{"127.0.0.1:0",
		 SF_REALLOC,
		 {.times = 1},
		 -ENOMEM,
		 "cannot listen on 127.0.0.1:0: Cannot allocate memory"},
		{"127.0.0.1:0",
		 SF_CALLOC,
		 {.skip = 1, .times = 1},
		 -ENOMEM,
		 "cannot listen on 127.0.0.1:0: Cannot allocate memory"},
		{"127.0.0.1:0",
		 SF_EPOLL_CTL,
		 {.times = 1, .err = ENOMEM, .size = EPOLL_CTL_ADD},
		 -ENOMEM,
		 "cannot listen on 127.0.0.1:0: Cannot allocate memory"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct listen_case *k = &cases[i];
		struct env *e = new_env(true, NULL);
		struct env_listener *l = (void *)1;
		struct srv s = {.e = e};
		int fds = sf_open_fds();

		sf_clear();
		sf_arm(k->call, k->rule);
		assert_int_equal(e->ops->listen(e, k->addr, 1, srv_accept, &s,
						&l),
				 k->rc);
		assert_int_equal(sf_hits(k->call), 1);
		sf_disarm(k->call);
		assert_null(l);
		assert_int_equal(sf_open_fds(), fds);
		if (!sf_log_has(k->log))
			fail_msg("case %zu: no log line \"%s\"", i, k->log);
		/* the next listen works */
		assert_int_equal(e->ops->listen(e, "127.0.0.1:0", 1, srv_accept,
						&s, &l),
				 0);
		e->ops->listener_close(l);
		env_real_free(e);
	}
	sf_clear();
}

/* Out of descriptors at accept: the listener pauses (logged once), tries
 * again 100 ms later and then takes the waiting peer.  A peer that went
 * away before its accept (ECONNABORTED) is skipped, the next accepted in
 * the same turn. */
static void accept_failures_pause_or_skip(void **state)
{
	struct env *e = new_env(true, NULL);
	struct srv s = {.e = e};
	uint16_t port;
	uint64_t t0;
	int fd, fd2;

	(void)state;
	sf_clear();
	port = srv_listen(&s);
	fd = client_connect(AF_INET, port, 0);
	assert_true(fd >= 0);
	t0 = env_now_ns(e);
	run_armed(e, SF_ACCEPT4, (struct sf_rule){.times = 2, .err = EMFILE});
	assert_int_equal(s.accepted, 1);
	/* two pauses of 100 ms, one log line */
	assert_true(env_now_ns(e) - t0 >= MS(190));
	assert_true(sf_log_has("listener 127.0.0.1:0: accept: Too many open "
			       "files; retrying every 100 ms"));
	e->ops->conn_close(s.c);
	close(fd);

	sf_clear();
	fd2 = client_connect(AF_INET, port, 0);
	t0 = env_now_ns(e);
	run_armed(e, SF_ACCEPT4,
		  (struct sf_rule){.times = 1, .err = ECONNABORTED});
	assert_int_equal(s.accepted, 2);
	assert_true(env_now_ns(e) - t0 < MS(90)); /* no pause */
	assert_true(sf_calls(SF_ACCEPT4) >= 2);
	assert_false(sf_log_has("retrying"));
	e->ops->conn_close(s.c);
	close(fd2);
	e->ops->listener_close(s.l);
	env_real_free(e);
}

/* A listener whose resume fails (epoll refuses) tries again at the next
 * pause period instead of staying deaf. */
static void accept_resume_failure_retries(void **state)
{
	struct env *e = new_env(true, NULL);
	struct srv s = {.e = e};
	uint16_t port;
	int fd;

	(void)state;
	sf_clear();
	port = srv_listen(&s);
	fd = client_connect(AF_INET, port, 0);
	sf_arm(SF_EPOLL_CTL, (struct sf_rule){.skip = 1,
					      .times = 1,
					      .err = ENOMEM,
					      .size = EPOLL_CTL_MOD});
	run_armed(e, SF_ACCEPT4, (struct sf_rule){.times = 1, .err = ENFILE});
	assert_int_equal(s.accepted, 1);
	assert_int_equal(sf_hits(SF_EPOLL_CTL), 1);
	assert_true(sf_log_has("listener 127.0.0.1:0: cannot resume "
			       "accepting"));
	e->ops->conn_close(s.c);
	close(fd);
	e->ops->listener_close(s.l);
	env_real_free(e);
}

/* A listener that cannot be switched off for its pause (epoll refuses
 * the change) stays watched: the next readiness tries accept again, and
 * the peer is taken once descriptors are back; one log line. */
static void accept_pause_that_epoll_refuses_retries_at_once(void **state)
{
	struct env *e = new_env(true, NULL);
	struct srv s = {.e = e};
	uint16_t port;
	int fd;

	(void)state;
	sf_clear();
	port = srv_listen(&s);
	fd = client_connect(AF_INET, port, 0);
	sf_arm(SF_EPOLL_CTL, (struct sf_rule){.times = 1,
					      .err = ENOMEM,
					      .size = EPOLL_CTL_MOD});
	run_armed(e, SF_ACCEPT4, (struct sf_rule){.times = 2, .err = EMFILE});
	assert_int_equal(s.accepted, 1);
	assert_int_equal(sf_hits(SF_EPOLL_CTL), 1);
	assert_int_equal(sf_hits(SF_ACCEPT4), 2);
	assert_true(sf_log_has("listener 127.0.0.1:0: accept: Too many open "
			       "files; retrying every 100 ms"));
	e->ops->conn_close(s.c);
	close(fd);
	e->ops->listener_close(s.l);
	env_real_free(e);
}

/* The reactor cannot take a new connection (no memory for it, epoll
 * refuses its socket): the peer is closed at once and the log says so;
 * a target that installs no handler gets its connection closed. */
static void connections_the_reactor_cannot_take_are_closed(void **state)
{
	struct env *e = new_env(true, NULL);
	struct srv s = {.e = e};
	uint16_t port;
	int fd;

	(void)state;
	sf_clear();
	port = srv_listen(&s);

	fd = client_connect(AF_INET, port, 0);
	run_ms_armed(e, 100, SF_CALLOC, (struct sf_rule){.times = 1});
	assert_int_equal(s.accepted, 0);
	assert_true(peer_sees_eof(fd));
	assert_true(sf_log_has("connection from a peer dropped: out of "
			       "memory"));
	close(fd);

	sf_clear();
	fd = client_connect(AF_INET, port, 0);
	run_ms_armed(e, 100, SF_EPOLL_CTL,
		     (struct sf_rule){
			     .times = 1, .err = ENOSPC, .size = EPOLL_CTL_ADD});
	assert_int_equal(s.accepted, 0);
	assert_true(peer_sees_eof(fd));
	assert_true(sf_log_has("connection from a peer dropped"));
	close(fd);

	/* no local address known: an empty one, the connection still
	 * served */
	sf_clear();
	fd = client_connect(AF_INET, port, 0);
	run_armed(e, SF_GETSOCKNAME,
		  (struct sf_rule){.times = 1, .err = ENOBUFS});
	assert_int_equal(s.accepted, 1);
	assert_string_equal(s.info.local_addr, "");
	assert_true(strncmp(s.info.peer_addr, "127.0.0.1:", 10) == 0);
	e->ops->conn_close(s.c);
	close(fd);

	sf_clear();
	s.no_handler = true;
	fd = client_connect(AF_INET, port, 0);
	run_bounded(e);
	assert_int_equal(s.accepted, 2);
	assert_true(peer_sees_eof(fd));
	assert_true(sf_log_has("no handler installed, closing"));
	close(fd);
	e->ops->listener_close(s.l);
	env_real_free(e);
}

/* Several reactors: when the hand-over to the chosen reactor cannot be
 * allocated (the hand-off itself, or the post carrying it), reactor 0
 * serves the connection itself. */
static void handoff_without_memory_is_served_by_reactor_0(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		struct env *e = new_env_opts((struct env_real_opts){
			.reactors = 2, .disable_uring = true});
		struct srv s = {.e = e};
		uint16_t port;
		int fd0, fd1;

		sf_clear();
		port = srv_listen(&s);
		/* the first peer goes to reactor 0 (round robin) */
		fd0 = client_connect(AF_INET, port, 0);
		run_bounded(e);
		assert_int_equal(s.accepted, 1);
		assert_true(s.info.env == e);
		e->ops->conn_close(s.c);
		/* the second is for reactor 1; its hand-off (k = 0) or
		 * its post (k = 1) finds no memory */
		fd1 = client_connect(AF_INET, port, 0);
		run_armed(e, SF_MALLOC,
			  (struct sf_rule){.skip = k, .times = 1});
		assert_int_equal(s.accepted, 2);
		assert_true(s.info.env == e); /* still reactor 0 */
		e->ops->conn_close(s.c);
		close(fd0);
		close(fd1);
		e->ops->listener_close(s.l);
		env_real_free(e);
	}
}

/* ------------------------------------------------- receive and send */

/* recv interrupted is retried at once; "nothing now" (EAGAIN) waits for
 * the next readiness; a reset ends the connection with on_closed(err)
 * and recv and send keep saying why. */
static void recv_interrupted_retried_reset_reported(void **state)
{
	struct env *e = new_env(true, NULL);
	struct srv s = {.e = e, .stop_at_rx = 5};
	struct iovec iov = {"x", 1};
	uint16_t port;
	char b;
	int fd;

	(void)state;
	sf_clear();
	fd = srv_connected(&s, &port);
	write_all(fd, "hello", 5);
	run_armed(e, SF_RECV, (struct sf_rule){.times = 1, .err = EINTR});
	assert_int_equal(s.rx_len, 5);
	assert_memory_equal(s.rx, "hello", 5);
	assert_int_equal(sf_hits(SF_RECV), 1);

	s.stop_at_rx = 10;
	write_all(fd, "world", 5);
	run_armed(e, SF_RECV, (struct sf_rule){.times = 1, .err = EAGAIN});
	assert_int_equal(s.rx_len, 10);
	assert_memory_equal(s.rx + 5, "world", 5);
	assert_int_equal(s.closed_calls, 0);

	write_all(fd, "!", 1);
	run_armed(e, SF_RECV, (struct sf_rule){.times = 1, .err = ECONNRESET});
	assert_int_equal(s.closed_calls, 1);
	assert_int_equal(s.closed_err, -ECONNRESET);
	assert_int_equal(s.last_recv, -ECONNRESET);
	assert_int_equal(e->ops->conn_recv(s.c, &b, 1), -ECONNRESET);
	assert_int_equal(e->ops->conn_send(s.c, &iov, 1), -ECONNRESET);
	e->ops->conn_close(s.c);
	assert_int_equal(e->ops->conn_recv(s.c, &b, 1), -EBADF);
	assert_int_equal(e->ops->conn_send(s.c, &iov, 1), -EBADF);
	close(fd);
	e->ops->listener_close(s.l);
	env_real_free(e);
}

/* sendmsg interrupted is retried; a full socket buffer or no kernel
 * memory (EAGAIN, ENOBUFS) sends nothing now without ending anything; a
 * short send says how much went; a broken pipe ends the connection. */
static void send_faults_partial_or_fatal(void **state)
{
	struct env *e = new_env(true, NULL);
	struct srv s = {.e = e};
	struct iovec iov[2] = {{"abc", 3}, {"defg", 4}};
	char buf[16] = {0};
	uint16_t port;
	int fd;

	(void)state;
	sf_clear();
	fd = srv_connected(&s, &port);
	sf_arm(SF_SENDMSG, (struct sf_rule){.times = 1, .err = EINTR});
	assert_int_equal(e->ops->conn_send(s.c, iov, 2), 7);
	assert_int_equal(sf_calls(SF_SENDMSG), 2);
	sf_arm(SF_SENDMSG, (struct sf_rule){.times = 1, .err = EAGAIN});
	assert_int_equal(e->ops->conn_send(s.c, iov, 2), 0);
	sf_arm(SF_SENDMSG, (struct sf_rule){.times = 1, .err = ENOBUFS});
	assert_int_equal(e->ops->conn_send(s.c, iov, 2), 0);
	sf_arm(SF_SENDMSG, (struct sf_rule){.times = 1, .cap = 2});
	assert_int_equal(e->ops->conn_send(s.c, iov, 2), 2);
	sf_disarm(SF_SENDMSG);
	assert_int_equal(e->ops->conn_send(s.c, iov, 0), 0);
	/* what arrived: everything once, then "ab" */
	for (size_t got = 0; got < 9;) {
		ssize_t n = read(fd, buf + got, 9 - got);

		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_memory_equal(buf, "abcdefgab", 9);

	sf_arm(SF_SENDMSG, (struct sf_rule){.times = 1, .err = EPIPE});
	assert_int_equal(e->ops->conn_send(s.c, iov, 2), -EPIPE);
	sf_disarm(SF_SENDMSG);
	run_bounded(e); /* on_closed */
	assert_int_equal(s.closed_calls, 1);
	assert_int_equal(s.closed_err, -EPIPE);
	e->ops->conn_close(s.c);
	close(fd);
	e->ops->listener_close(s.l);
	env_real_free(e);
}

/* More iovecs than the kernel takes: the first IOV_MAX go, a partial
 * send the caller resumes. */
static void send_of_more_than_iov_max_sends_a_part(void **state)
{
	struct env *e = new_env(true, NULL);
	struct srv s = {.e = e};
	const int n = IOV_MAX + 10;
	struct iovec *iov = calloc((size_t)n, sizeof(*iov));
	char *bytes = malloc((size_t)n);
	uint16_t port;
	int fd;

	(void)state;
	sf_clear();
	fd = srv_connected(&s, &port);
	for (int i = 0; i < n; i++) {
		bytes[i] = (char)('a' + i % 26);
		iov[i].iov_base = bytes + i;
		iov[i].iov_len = 1;
	}
	assert_int_equal(e->ops->conn_send(s.c, iov, n), IOV_MAX);
	e->ops->conn_close(s.c);
	close(fd);
	e->ops->listener_close(s.l);
	env_real_free(e);
	free(iov);
	free(bytes);
}

/* An orderly FIN leaves sending possible (half close): the send goes to
 * the kernel, which may still take it. */
static void send_after_peer_fin_still_tries(void **state)
{
	struct env *e = new_env(true, NULL);
	struct srv s = {.e = e};
	struct iovec iov = {"late", 4};
	uint16_t port;
	char buf[8];
	int fd;

	(void)state;
	sf_clear();
	fd = srv_connected(&s, &port);
	shutdown(fd, SHUT_WR);
	run_bounded(e);
	assert_int_equal(s.closed_calls, 1);
	assert_int_equal(s.closed_err, 0);
	assert_int_equal(e->ops->conn_send(s.c, &iov, 1), 4);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "late", 4);
	e->ops->conn_close(s.c);
	close(fd);
	e->ops->listener_close(s.l);
	env_real_free(e);
}

/* want_write whose epoll change is refused changes nothing (no
 * on_writable); asked again, it takes. */
static void want_write_refused_by_epoll_can_be_asked_again(void **state)
{
	struct env *e = new_env(true, NULL);
	struct srv s = {.e = e};
	uint16_t port;
	int fd;

	(void)state;
	sf_clear();
	fd = srv_connected(&s, &port);
	sf_arm(SF_EPOLL_CTL, (struct sf_rule){.times = 1,
					      .err = ENOMEM,
					      .size = EPOLL_CTL_MOD});
	e->ops->conn_want_write(s.c, true);
	assert_int_equal(sf_hits(SF_EPOLL_CTL), 1);
	run_for_ms(e, 50);
	assert_int_equal(s.writable_calls, 0);
	e->ops->conn_want_write(s.c, true);
	run_bounded(e);
	assert_int_equal(s.writable_calls, 1);
	e->ops->conn_close(s.c);
	close(fd);
	e->ops->listener_close(s.l);
	env_real_free(e);
}

/* An error event whose SO_ERROR cannot be read still ends the
 * connection, with EIO. */
static void error_event_without_so_error_is_eio(void **state)
{
	struct env *e = new_env(true, NULL);
	struct srv s = {.e = e};
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	uint16_t port;
	int fd;

	(void)state;
	sf_clear();
	fd = srv_connected(&s, &port);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd); /* RST */
	run_armed(
		e, SF_GETSOCKOPT,
		(struct sf_rule){.times = -1, .err = EBADF, .size = SO_ERROR});
	assert_int_equal(s.closed_calls, 1);
	assert_int_equal(s.closed_err, -EIO);
	e->ops->conn_close(s.c);
	e->ops->listener_close(s.l);
	env_real_free(e);
}

/* --record: a write interrupted is retried; a full disk stops the
 * recording (logged), never the connection; a recording that cannot
 * be opened is logged and the connection served. */
static uint64_t size_of(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return UINT64_MAX;
	return (uint64_t)st.st_size;
}

static void record_failures_stop_the_recording_only(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env_opts((struct env_real_opts){
		.record_dir = dir, .disable_uring = true});
	struct srv s = {.e = e, .stop_at_rx = 4};
	char path[512];
	uint16_t port;
	int fd, rfd;

	(void)state;
	sf_clear();
	fd = srv_connected(&s, &port);
	rfd = fd_of("/conn-1.bin");
	assert_true(rfd >= 0);
	snprintf(path, sizeof(path), "%s/conn-1.bin", dir);
	write_all(fd, "abcd", 4);
	run_armed(
		e, SF_WRITE,
		(struct sf_rule){
			.times = 1, .err = EINTR, .match_fd = true, .fd = rfd});
	assert_int_equal(size_of(path), 4);
	/* short writes go on */
	s.stop_at_rx = 8;
	write_all(fd, "efgh", 4);
	run_armed(e, SF_WRITE,
		  (struct sf_rule){
			  .times = 1, .cap = 1, .match_fd = true, .fd = rfd});
	assert_int_equal(size_of(path), 8);
	s.stop_at_rx = 12;
	write_all(fd, "ijkl", 4);
	run_armed(e, SF_WRITE,
		  (struct sf_rule){.times = 1,
				   .err = ENOSPC,
				   .match_fd = true,
				   .fd = rfd});
	assert_true(sf_log_has("stopped: No space left on device"));
	assert_int_equal(s.rx_len, 12);
	assert_memory_equal(s.rx, "abcdefghijkl", 12);
	assert_int_equal(fd_of("/conn-1.bin"), -1); /* closed */
	s.stop_at_rx = 16;
	write_all(fd, "mnop", 4);
	run_bounded(e);
	assert_int_equal(size_of(path), 8);
	e->ops->conn_close(s.c);
	close(fd);

	/* a write of nothing: stopped too, "short write" */
	sf_clear();
	memset(&s.rx, 0, sizeof(s.rx));
	s.accepted = 0;
	s.rx_len = 0;
	s.stop_at_rx = 4;
	fd = client_connect(AF_INET, port, 0);
	run_bounded(e);
	rfd = fd_of("/conn-2.bin");
	assert_true(rfd >= 0);
	write_all(fd, "qrst", 4);
	run_armed(e, SF_WRITE,
		  (struct sf_rule){.times = 1,
				   .use_ret = true,
				   .ret = 0,
				   .match_fd = true,
				   .fd = rfd});
	assert_true(sf_log_has("stopped: short write"));
	assert_int_equal(s.rx_len, 4);
	e->ops->conn_close(s.c);
	close(fd);

	/* cannot open the recording */
	sf_clear();
	s.accepted = 0;
	fd = client_connect(AF_INET, port, 0);
	run_armed(
		e, SF_OPEN,
		(struct sf_rule){.times = 1, .err = EACCES, .path = "/conn-"});
	assert_int_equal(s.accepted, 1);
	assert_true(sf_log_has("cannot record to "));
	assert_true(sf_log_has("conn-3.bin: Permission denied"));
	assert_int_equal(size_of(strcat(strcpy(path, dir), "/conn-3.bin")),
			 UINT64_MAX);
	e->ops->conn_close(s.c);
	close(fd);
	e->ops->listener_close(s.l);
	env_real_free(e);
	remove_tmpdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(listen_failures_leave_nothing_open),
		cmocka_unit_test(accept_failures_pause_or_skip),
		cmocka_unit_test(accept_resume_failure_retries),
		cmocka_unit_test(
			accept_pause_that_epoll_refuses_retries_at_once),
		cmocka_unit_test(
			connections_the_reactor_cannot_take_are_closed),
		cmocka_unit_test(handoff_without_memory_is_served_by_reactor_0),
		cmocka_unit_test(recv_interrupted_retried_reset_reported),
		cmocka_unit_test(send_faults_partial_or_fatal),
		cmocka_unit_test(send_of_more_than_iov_max_sends_a_part),
		cmocka_unit_test(send_after_peer_fin_still_tries),
		cmocka_unit_test(
			want_write_refused_by_epoll_can_be_asked_again),
		cmocka_unit_test(error_event_without_so_error_is_eio),
		cmocka_unit_test(record_failures_stop_the_recording_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
