/*
 * test_env_real_reactorfaults.c — the real environment's reactors when
 * system calls fail (env_real_faults.h, netfaults_rig.h): reactors that
 * cannot be created or started, epoll_wait failing, signals, timers,
 * mutexes and posts without memory, randomness without entropy, the log,
 * UTARGET_NO_URING, far timers, sd_notify refused, and the refusals that
 * came later (more address forms, an unknown listener port, a bounded
 * accept burst, a recorded connection closed).  test_env_real_netfaults.c
 * holds listeners, receive and send, recording.
 */
#include "netfaults_rig.h"

/* --------------------------------------------------------- reactors */

struct new_case {
	enum sf_call call;
	struct sf_rule rule;
	const char *say;
};

/* Each resource of a reactor refused in turn: no environment, the
 * reason on stderr, no descriptor left. */
static void reactor_creation_failures(void **state)
{
	const struct new_case cases[] = {
		{SF_EPOLL_CREATE1,
		 {.times = 1, .err = EMFILE},
		 "cannot create the reactor: Too many open files"},
		{SF_EVENTFD,
		 {.times = 1, .err = ENFILE},
		 "cannot create the reactor: Too many open files in system"},
		{SF_EPOLL_CTL,
		 {.times = 1, .err = ENOMEM},
		 "cannot create the reactor: Cannot allocate memory"},
		{SF_STRDUP,
		 {.times = 1, .path = "state"},
		 "cannot create the reactor: Cannot allocate memory"},
		{SF_STRDUP,
		 {.times = 1, .path = "rec"},
		 "cannot create the reactor: Cannot allocate memory"},
		/* the third of three reactors: the first two go again */
		{SF_EPOLL_CREATE1,
		 {.skip = 2, .times = 1, .err = EMFILE},
		 "cannot create the reactor: Too many open files"},
		{SF_CALLOC, {.times = 1}, NULL},	    /* the group */
		{SF_CALLOC, {.skip = 1, .times = 1}, NULL}, /* a reactor */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct env_real_opts o = {.log_level = UT_LOG_WARN,
					  .state_dir = "/tmp/state",
					  .record_dir = "/tmp/rec",
					  .reactors = 3};
		int fds = sf_open_fds();
		struct capture c;
		bool said;
		struct env *e;

		sf_clear();
		capture_begin(&c);
		sf_arm(cases[i].call, cases[i].rule);
		e = env_real_new(&o);
		sf_clear();
		said = capture_end_has(&c, cases[i].say ? cases[i].say : "");
		assert_null(e);
		if (!said)
			fail_msg("case %zu: stderr lacks \"%s\"", i,
				 cases[i].say);
		assert_int_equal(sf_open_fds(), fds);
	}
	{
		struct env_real_opts o = {.reactors = 65};
		struct capture c;

		capture_begin(&c);
		assert_null(env_real_new(&o));
		assert_true(capture_end_has(&c, "at most 64 reactors"));
	}
}

/* A reactor thread that cannot be started: run fails at once, saying
 * which; the environment is still whole (it runs once threads can be
 * made). */
static void reactor_thread_start_failure(void **state)
{
	struct env *e = new_env_opts((struct env_real_opts){.reactors = 3});

	(void)state;
	sf_clear();
	sf_arm(SF_PTHREAD_CREATE,
	       (struct sf_rule){.skip = 1, .times = 1, .err = EAGAIN});
	assert_int_equal(env_real_run(e), -EAGAIN);
	sf_disarm(SF_PTHREAD_CREATE);
	assert_true(sf_log_has("cannot start reactor 2: Resource temporarily "
			       "unavailable"));
	sf_clear();
	run_for_ms(e, 20);
	env_real_free(e);
}

/* epoll_wait interrupted: the loop goes on.  Failing otherwise: the
 * loop ends with the error, logged; on another reactor's thread it
 * stops the whole group. */
static void epoll_wait_failures_end_the_loop(void **state)
{
	struct env *e = new_env(true, NULL);
	struct env *g;
	uint64_t t0;

	(void)state;
	sf_clear();
	sf_arm(SF_EPOLL_WAIT, (struct sf_rule){.times = 3, .err = EINTR});
	run_for_ms(e, 20);
	assert_int_equal(sf_hits(SF_EPOLL_WAIT), 3);
	sf_arm(SF_EPOLL_WAIT, (struct sf_rule){.times = 1, .err = EBADF});
	assert_int_equal(env_real_run(e), -EBADF);
	assert_true(sf_log_has("epoll_wait: Bad file descriptor"));
	sf_clear();
	env_real_free(e);

	g = new_env_opts((struct env_real_opts){.reactors = 2});
	t0 = env_now_ns(g);
	sf_arm(SF_EPOLL_WAIT, (struct sf_rule){.times = 1,
					       .err = EINVAL,
					       .other_thread = true});
	/* reactor 0 sleeps without a timer: only the failing reactor 1 can
	 * stop it */
	assert_int_equal(env_real_run(g), 0);
	assert_int_equal(sf_hits(SF_EPOLL_WAIT), 1);
	assert_true(env_now_ns(g) - t0 < WATCHDOG_NS);
	assert_true(sf_log_has("epoll_wait: Invalid argument"));
	sf_clear();
	env_real_free(g);
}

static void on_sig(void *arg, int signo)
{
	(void)signo;
	(*(int *)arg)++;
}

/* Signal set-up: each refusal returned, the set-up usable after. */
static void signal_setup_failures(void **state)
{
	struct env *e = new_env(true, NULL);
	int got = 0;

	(void)state;
	sf_clear();
	assert_int_equal(env_real_on_signal(e, SIGKILL, on_sig, &got), -EINVAL);
	assert_int_equal(env_real_on_signal(e, 0, on_sig, &got), -EINVAL);
	assert_int_equal(env_real_on_signal(e, 65, on_sig, &got), -EINVAL);
	sf_arm(SF_PTHREAD_SIGMASK, (struct sf_rule){.times = 1, .err = EINVAL});
	assert_int_equal(env_real_on_signal(e, SIGUSR1, on_sig, &got), -EINVAL);
	sf_arm(SF_SIGNALFD, (struct sf_rule){.times = 1, .err = EMFILE});
	assert_int_equal(env_real_on_signal(e, SIGUSR1, on_sig, &got), -EMFILE);
	sf_arm(SF_EPOLL_CTL, (struct sf_rule){.times = 1, .err = ENOMEM});
	assert_int_equal(env_real_on_signal(e, SIGUSR1, on_sig, &got), -ENOMEM);
	sf_clear();
	/* and now it works: the signal arrives on the reactor */
	assert_int_equal(env_real_on_signal(e, SIGUSR1, on_sig, &got), 0);
	assert_int_equal(env_real_on_signal(e, SIGUSR2, on_sig, &got), 0);
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR2);
	run_for_ms(e, 30);
	assert_int_equal(got, 2);
	env_real_free(e);
}

/* Timers, mutexes and posts without memory: NULL or -ENOMEM, and the
 * environment keeps working. */
static int fired;
static void fire(void *arg)
{
	(void)arg;
	fired++;
}

static void allocation_failures_of_timers_mutexes_posts(void **state)
{
	struct env *e = new_env(true, NULL);
	struct env_timer *t;

	(void)state;
	sf_clear();
	sf_arm(SF_REALLOC, (struct sf_rule){.times = 1});
	assert_null(env_timer_new(e, fire, NULL));
	sf_arm(SF_CALLOC, (struct sf_rule){.times = 1});
	assert_null(env_timer_new(e, fire, NULL));
	sf_arm(SF_MALLOC, (struct sf_rule){.times = 1});
	assert_null(env_mutex_new(e));
	sf_arm(SF_MALLOC, (struct sf_rule){.times = 1});
	assert_int_equal(env_post(e, fire, NULL), -ENOMEM);
	sf_clear();
	fired = 0;
	t = env_timer_new(e, fire, NULL);
	assert_non_null(t);
	env_timer_arm(e, t, env_now_ns(e));
	assert_int_equal(env_post(e, fire, NULL), 0);
	run_for_ms(e, 20);
	assert_int_equal(fired, 2);
	env_timer_free(e, t);
	env_real_free(e);
}

/* Work posted to a group that never runs again is freed with it (make
 * unit-asan: no leak), never run. */
static void posts_never_run_are_freed(void **state)
{
	struct env *e = env_real_new(&(struct env_real_opts){
		.log_level = UT_LOG_DEBUG, .reactors = 2});

	(void)state;
	sf_clear();
	assert_non_null(e);
	fired = 0;
	assert_int_equal(env_post(e, fire, NULL), 0);
	assert_int_equal(env_post(e, fire, NULL), 0);
	env_real_free(e);
	assert_int_equal(fired, 0);
}

/* Randomness: interrupted and short reads of getrandom are completed;
 * with no randomness at all the process stops (abort) rather than hand
 * out predictable numbers. */
#ifdef UT_COVERAGE
void __gcov_dump(void);
static void dump_and_die(int sig)
{
	__gcov_dump();
	signal(sig, SIG_DFL);
	raise(sig);
}
#endif

static void random_retries_and_aborts_without_entropy(void **state)
{
	struct env *e = new_env(true, NULL);
	uint64_t a, b;
	int st;
	pid_t pid;

	(void)state;
	sf_clear();
	sf_arm(SF_GETRANDOM, (struct sf_rule){.times = 1, .err = EINTR});
	a = env_random_u64(e);
	assert_int_equal(sf_calls(SF_GETRANDOM), 2);
	sf_clear();
	/* use up the buffer, then the refill comes 10 bytes at a time */
	for (int i = 0; i < 31; i++)
		b = env_random_u64(e);
	sf_arm(SF_GETRANDOM, (struct sf_rule){.times = -1, .cap = 10});
	b = env_random_u64(e);
	assert_true(sf_calls(SF_GETRANDOM) >= 26); /* 256 bytes */
	assert_true(a != b);
	sf_clear();
	for (int i = 0; i < 31; i++)
		(void)env_random_u64(e);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
#ifdef UT_COVERAGE
		signal(SIGABRT, dump_and_die);
#endif
		sf_arm(SF_GETRANDOM,
		       (struct sf_rule){.times = -1, .err = ENOSYS});
		(void)env_random_u64(e);
		_exit(0); /* must not be reached */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	env_real_free(e);
}

/* The log sink: timestamps when asked, control characters replaced,
 * long lines cut, a write interrupted retried, a failing stderr
 * survived. */
static void log_lines_are_safe_and_written_whole(void **state)
{
	struct env *e = env_real_new(&(struct env_real_opts){
		.log_level = UT_LOG_INFO, .log_timestamps = true});
	char longer[2000];

	(void)state;
	sf_clear();
	LOG_INFO(e, "name=%s", "evil\nutarget[error]: forged\x7f");
	assert_true(sf_log_has("Z utarget[info]: name=evil?utarget[error]: "
			       "forged?\n"));
	assert_true(sf_logbuf[0] == '2' && sf_logbuf[4] == '-' &&
		    sf_logbuf[10] == 'T');
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	sf_clear();
	LOG_WARN(e, "%s", longer);
	assert_true(sf_loglen <= 1280 && sf_logbuf[sf_loglen - 1] == '\n');
	sf_clear();
	sf_arm(SF_WRITE, (struct sf_rule){.times = 1,
					  .err = EINTR,
					  .match_fd = true,
					  .fd = STDERR_FILENO});
	LOG_WARN(e, "once");
	assert_int_equal(sf_calls(SF_WRITE), 2);
	sf_arm(SF_WRITE, (struct sf_rule){.times = -1,
					  .err = EBADF,
					  .match_fd = true,
					  .fd = STDERR_FILENO});
	LOG_WARN(e, "to nowhere");
	assert_int_equal(sf_calls(SF_WRITE), 1);
	sf_arm(SF_WRITE, (struct sf_rule){.times = 1,
					  .cap = 5,
					  .match_fd = true,
					  .fd = STDERR_FILENO});
	LOG_WARN(e, "in two parts");
	assert_int_equal(sf_calls(SF_WRITE), 2);
	sf_clear();
	env_real_free(e);
}

/* UTARGET_NO_URING=1 makes the disk engine the thread pool (=0 or empty:
 * not). */
static void no_uring_variable_selects_the_thread_pool(void **state)
{
	const char *vals[] = {"1", "0", ""};
	const char *want[] = {"4 worker threads (io_uring disabled)",
			      "disk I/O: io_uring", "disk I/O: io_uring"};

	(void)state;
	for (int i = 0; i < 3; i++) {
		char *dir = make_tmpdir();
		char path[512];
		struct env *e;
		struct bs_dev *d;

		setenv("UTARGET_NO_URING", vals[i], 1);
		e = env_real_new(
			&(struct env_real_opts){.log_level = UT_LOG_INFO});
		unsetenv("UTARGET_NO_URING");
		snprintf(path, sizeof(path), "%s/d.img", dir);
		sf_clear();
		d = open_file(e, path, 1 << 20, true, false, false);
		if (!sf_log_has(want[i]))
			fail_msg("UTARGET_NO_URING=%s: no \"%s\"", vals[i],
				 want[i]);
		bs_close(d);
		env_real_free(e);
		remove_tmpdir(dir);
	}
	sf_clear();
}

/* Adaptive Nagle: bytes sent with "more to come" are pushed at the end
 * of the turn once the target says no more (TCP_NODELAY set again);
 * with --adaptive-nagle off the hint is ignored and nothing waits. */
static void corked_sends_are_pushed_at_the_end_of_the_turn(void **state)
{
	(void)state;
	for (int off = 0; off < 2; off++) {
		struct env *e = new_env_opts((struct env_real_opts){
			.disable_uring = true, .no_cork = off == 1});
		struct srv s = {.e = e};
		struct iovec iov = {"abc", 3};
		uint16_t port;
		char buf[8];
		int fd;

		sf_clear();
		fd = srv_connected(&s, &port);
		sf_arm(SF_SETSOCKOPT, (struct sf_rule){.size = TCP_NODELAY});
		e->ops->conn_set_more(s.c, true);
		assert_int_equal(e->ops->conn_send(s.c, &iov, 1), 3);
		e->ops->conn_set_more(s.c, false);
		run_for_ms(e, 20);
		assert_int_equal(sf_calls(SF_SETSOCKOPT), off ? 0 : 1);
		assert_int_equal(read(fd, buf, sizeof(buf)), 3);
		/* uncorked: nothing to push */
		assert_int_equal(e->ops->conn_send(s.c, &iov, 1), 3);
		run_for_ms(e, 20);
		assert_int_equal(sf_calls(SF_SETSOCKOPT), off ? 0 : 1);
		sf_clear();
		e->ops->conn_close(s.c);
		/* a closed connection ignores the hint */
		e->ops->conn_set_more(s.c, true);
		close(fd);
		e->ops->listener_close(s.l);
		env_real_free(e);
	}
}

static void stop_soon(void *arg)
{
	usleep(20000);
	env_real_stop(arg);
}

static void *stop_thread(void *arg)
{
	stop_soon(arg);
	return NULL;
}

/* The loop sleeps at most 60 s however far the next timer is, and a
 * stop from another thread wakes it; a signal with no handler is read
 * and dropped. */
static void far_timer_sleep_is_bounded_and_woken(void **state)
{
	struct env *e = new_env(true, NULL);
	struct env_timer *t = env_timer_new(e, fire, NULL);
	uint64_t t0 = env_now_ns(e);
	pthread_t th;

	(void)state;
	sf_clear();
	assert_int_equal(env_real_on_signal(e, SIGPIPE, NULL, NULL), 0);
	kill(getpid(), SIGPIPE);
	fired = 0;
	env_timer_arm(e, t, env_now_ns(e) + 120ull * 1000000000ull);
	assert_int_equal(pthread_create(&th, NULL, stop_thread, e), 0);
	assert_int_equal(env_real_run(e), 0);
	pthread_join(th, NULL);
	assert_true(env_now_ns(e) - t0 < MS(5000));
	assert_int_equal(fired, 0);
	env_timer_free(e, t);
	env_real_free(e);
}

/* ------------------------------------------------------------ notify */

static void notify_refusals(void **state)
{
	char long_path[200];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char got[64] = {0};
	int fd;

	(void)state;
	sf_clear();
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(env_real_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(env_real_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative/sock", 1);
	assert_int_equal(env_real_notify("READY=1"), -EINVAL);
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	setenv("NOTIFY_SOCKET", long_path, 1);
	assert_int_equal(env_real_notify("READY=1"), -EINVAL);
	/* an abstract name receives the datagram */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "utarget-nf-%d",
		 (int)getpid());
	assert_int_equal(
		bind(fd, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				 strlen(sa.sun_path + 1))),
		0);
	snprintf(long_path, sizeof(long_path), "@%s", sa.sun_path + 1);
	setenv("NOTIFY_SOCKET", long_path, 1);
	assert_int_equal(env_real_notify("STATUS=%d", 42), 0);
	assert_int_equal(recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT), 9);
	assert_string_equal(got, "STATUS=42");
	sf_arm(SF_SOCKET, (struct sf_rule){.times = 1, .err = EMFILE});
	assert_int_equal(env_real_notify("READY=1"), -EMFILE);
	sf_arm(SF_SENDTO, (struct sf_rule){.times = 1, .err = ENOBUFS});
	assert_int_equal(env_real_notify("READY=1"), -ENOBUFS);
	sf_clear();
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

/* Addresses no portal can be: refused before any socket is made (the
 * forms test_env_real_net does not try). */
static void listen_refuses_more_address_forms(void **state)
{
	static const char *const bad[] = {
		NULL,
		"[::1",
		"[::1]",
		"1.2.3.4:a",
		"1.2.3.4:99999999999999999999999",
		"111111111111111111111111111111111111111111111111111111:80",
	};
	struct env *e = new_env(true, NULL);
	struct srv s = {.e = e};
	int fds = sf_open_fds();

	(void)state;
	sf_clear();
	sf_arm(SF_SOCKET, (struct sf_rule){0}); /* counts, never fails */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct env_listener *l = (void *)1;

		if (e->ops->listen(e, bad[i], 1, srv_accept, &s, &l) != -EINVAL)
			fail_msg("listen(\"%s\") must be -EINVAL",
				 bad[i] ? bad[i] : "(null)");
		assert_null(l);
	}
	assert_int_equal(sf_calls(SF_SOCKET), 0);
	assert_true(sf_log_has("cannot listen on (null): not ADDR:PORT or "
			       "[V6ADDR]:PORT"));
	assert_int_equal(sf_open_fds(), fds);
	env_real_free(e);
}

/* A listener whose bound port cannot be read back reports port 0 and
 * still accepts; closing it twice is harmless; accept refusals for want
 * of kernel memory pause it like a shortage of descriptors. */
static void listener_port_unknown_and_memory_pauses(void **state)
{
	struct env *e = new_env(true, NULL);
	struct srv s = {.e = e};
	struct env_listener *l = NULL;
	int fd;

	(void)state;
	sf_clear();
	sf_arm(SF_GETSOCKNAME, (struct sf_rule){.times = 1, .err = ENOBUFS});
	assert_int_equal(
		e->ops->listen(e, "127.0.0.1:0", 1, srv_accept, &s, &l), 0);
	sf_clear();
	assert_int_equal(env_real_listener_port(l), 0);
	e->ops->listener_close(l);
	e->ops->listener_close(l);
	run_for_ms(e, 5); /* freed at the end of the turn */

	for (int k = 0; k < 2; k++) {
		uint16_t port;

		s.l = NULL;
		s.accepted = 0;
		port = srv_listen(&s);
		fd = client_connect(AF_INET, port, 0);
		run_armed(e, SF_ACCEPT4,
			  (struct sf_rule){.times = 1,
					   .err = k ? ENOMEM : ENOBUFS});
		assert_int_equal(s.accepted, 1);
		assert_true(
			sf_log_has(k ? "accept: Cannot allocate memory"
				     : "accept: No buffer space available"));
		e->ops->conn_close(s.c);
		close(fd);
		e->ops->listener_close(s.l);
		sf_clear();
	}
	env_real_free(e);
}

/* More peers waiting than one readiness event takes (32): the rest are
 * accepted on the next turns. */
static int burst_accepted;

static void burst_accept(void *arg, struct env_conn *c,
			 const struct env_conn_info *info)
{
	struct env *e = arg;

	(void)info;
	e->ops->conn_close(c);
	if (++burst_accepted == 40)
		env_real_stop(e);
}

static void accept_burst_is_bounded_per_event(void **state)
{
	struct env *e = new_env(true, NULL);
	struct env_listener *l = NULL;
	int fds[40];

	(void)state;
	sf_clear();
	burst_accepted = 0;
	assert_int_equal(
		e->ops->listen(e, "127.0.0.1:0", 1, burst_accept, e, &l), 0);
	for (int i = 0; i < 40; i++)
		fds[i] = client_connect(AF_INET, env_real_listener_port(l), 0);
	run_bounded(e);
	assert_int_equal(burst_accepted, 40);
	for (int i = 0; i < 40; i++)
		close(fds[i]);
	e->ops->listener_close(l);
	env_real_free(e);
}

/* A connection closed while it records closes its recording too. */
static void closing_a_recorded_connection_closes_its_file(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env_opts((struct env_real_opts){
		.record_dir = dir, .disable_uring = true});
	struct srv s = {.e = e};
	uint16_t port;
	int fd;

	(void)state;
	sf_clear();
	fd = srv_connected(&s, &port);
	assert_true(fd_of("/conn-1.bin") >= 0);
	e->ops->conn_close(s.c);
	assert_int_equal(fd_of("/conn-1.bin"), -1);
	close(fd);
	e->ops->listener_close(s.l);
	env_real_free(e);
	remove_tmpdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reactor_creation_failures),
		cmocka_unit_test(reactor_thread_start_failure),
		cmocka_unit_test(epoll_wait_failures_end_the_loop),
		cmocka_unit_test(signal_setup_failures),
		cmocka_unit_test(allocation_failures_of_timers_mutexes_posts),
		cmocka_unit_test(posts_never_run_are_freed),
		cmocka_unit_test(random_retries_and_aborts_without_entropy),
		cmocka_unit_test(log_lines_are_safe_and_written_whole),
		cmocka_unit_test(no_uring_variable_selects_the_thread_pool),
		cmocka_unit_test(
			corked_sends_are_pushed_at_the_end_of_the_turn),
		cmocka_unit_test(far_timer_sleep_is_bounded_and_woken),
		cmocka_unit_test(notify_refusals),
		cmocka_unit_test(listen_refuses_more_address_forms),
		cmocka_unit_test(listener_port_unknown_and_memory_pauses),
		cmocka_unit_test(accept_burst_is_bounded_per_event),
		cmocka_unit_test(closing_a_recorded_connection_closes_its_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
