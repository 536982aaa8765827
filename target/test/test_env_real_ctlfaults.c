/*
 * test_env_real_ctlfaults.c — the control socket (env_real/control.c)
 * when the system says no (env_real_faults.h): a socket that cannot be
 * made, bound, protected or watched; clients that cannot be accepted,
 * identified or given memory; sends and receives interrupted, full,
 * reset.
 *
 * Each test checks what the caller or the client gets (the error, the
 * reply, the connection closed), that no descriptor and no socket file
 * is left behind, and the log line.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include <cmocka.h>

#include "env_real_rig.h"

struct cf {
	struct env *e;
	struct env_real_control *c;
	char *dir;
	char path[108];
	int lines;
};

static void cf_line(void *arg, struct env_real_ctl_client *cl, const char *line,
		    size_t len)
{
	struct cf *t = arg;

	(void)len;
	t->lines++;
	env_real_control_reply(cl, line);
}

static void cf_setup(struct cf *t)
{
	sf_clear();
	memset(t, 0, sizeof(*t));
	t->dir = make_tmpdir();
	snprintf(t->path, sizeof(t->path), "%s/run/ctl.sock", t->dir);
	t->e = new_env(true, NULL);
}

static void cf_listen(struct cf *t)
{
	assert_int_equal(
		env_real_control_listen(t->e, t->path, cf_line, t, &t->c), 0);
}

static void cf_teardown(struct cf *t)
{
	sf_clear();
	env_real_control_close(t->c);
	env_real_free(t->e);
	remove_tmpdir(t->dir);
}

static int cf_connect(struct cf *t)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(sa.sun_path, t->path, strlen(t->path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* What the server sent within a second, up to EOF or a newline;
 * returns the bytes, -1 on a reset. */
static ssize_t cf_read(int fd, char *buf, size_t cap, bool *eof)
{
	size_t got = 0;

	*eof = false;
	while (got < cap - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 1000) != 1)
			break;
		n = read(fd, buf + got, cap - 1 - got);
		if (n < 0)
			return -1;
		if (n == 0) {
			*eof = true;
			break;
		}
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

/* The server's next answer is line (the echo of what the client sent). */
static void cf_expect_line(int fd, const char *line)
{
	char buf[256];
	bool eof;

	assert_int_equal(cf_read(fd, buf, sizeof(buf), &eof),
			 (ssize_t)strlen(line));
	assert_string_equal(buf, line);
}

/* The server closes the client (after any answers already read). */
static void cf_expect_closed(int fd)
{
	char buf[256];
	bool eof;

	assert_int_equal(cf_read(fd, buf, sizeof(buf), &eof), 0);
	assert_true(eof);
}

/* ------------------------------------------------------------- listen */

/* Each step of setting the socket up fails in turn: the error, nothing
 * left (no descriptor, no socket file), the log line. */
static void control_listen_failures_leave_nothing(void **state)
{
	const struct {
		enum sf_call call;
		struct sf_rule rule;
		int rc;
		const char *log;
	} cases[] = {
		{SF_MKDIR,
		 {.times = 1, .err = EACCES},
		 -EACCES,
		 "control socket: cannot create "},
		{SF_STAT,
		 {.times = 1, .err = EIO},
		 -EIO,
		 "/run: Input/output error"},
		{SF_LSTAT, {.times = 1, .err = EACCES}, -EACCES, NULL},
		{SF_SOCKET, {.times = 1, .err = EMFILE}, -EMFILE, NULL},
		{SF_BIND,
		 {.times = 1, .err = EADDRINUSE},
		 -EADDRINUSE,
		 "ctl.sock: Address already in use"},
		{SF_CHMOD,
		 {.times = 1, .err = EPERM},
		 -EPERM,
		 "ctl.sock: Operation not permitted"},
		{SF_LISTEN,
		 {.times = 1, .err = ENOBUFS},
		 -ENOBUFS,
		 "ctl.sock: No buffer space available"},
		{SF_CALLOC, {.times = 1}, -ENOMEM, NULL},
		{SF_EPOLL_CTL, {.times = 1, .err = ENOMEM}, -EIO, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cf t;
		int fds;

		cf_setup(&t);
		fds = sf_open_fds();
		sf_arm(cases[i].call, cases[i].rule);
		assert_int_equal(env_real_control_listen(t.e, t.path, cf_line,
							 &t, &t.c),
				 cases[i].rc);
		assert_int_equal(sf_hits(cases[i].call), 1);
		sf_disarm(cases[i].call);
		assert_null(t.c);
		assert_int_equal(sf_open_fds(), fds);
		if (access(t.path, F_OK) == 0)
			fail_msg("case %zu: the socket file was left", i);
		if (cases[i].log && !sf_log_has(cases[i].log))
			fail_msg("case %zu: no log \"%s\"", i, cases[i].log);
		/* and then it works */
		cf_listen(&t);
		cf_teardown(&t);
	}
}

/* A socket a dead daemon left, when no probe socket can be made: it is
 * removed all the same (nothing could have answered), and the new one
 * listens. */
static void control_stale_socket_without_probe_is_replaced(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct cf t;
	int fd;

	(void)state;
	cf_setup(&t);
	cf_listen(&t);
	env_real_control_close(t.c); /* unlinks: make a dead one */
	t.c = NULL;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, t.path, strlen(t.path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	sf_arm(SF_SOCKET, (struct sf_rule){.times = 1, .err = EMFILE});
	cf_listen(&t);
	assert_int_equal(sf_hits(SF_SOCKET), 1);
	fd = cf_connect(&t);
	assert_int_equal(write(fd, "hi\n", 3), 3);
	run_for_ms(t.e, 30);
	cf_expect_line(fd, "hi\n");
	close(fd);
	cf_teardown(&t);
}

/* ------------------------------------------------------------- accept */

/* Accept failing, no memory for a client, epoll refusing it: the client
 * is closed, the socket keeps serving the next one; peer credentials
 * that cannot be read: refused with the permission line. */
static void control_clients_that_cannot_be_taken(void **state)
{
	struct cf t;
	char buf[256];
	bool eof;
	int fd;

	(void)state;
	cf_setup(&t);
	cf_listen(&t);

	sf_arm(SF_ACCEPT4, (struct sf_rule){.times = 1, .err = EMFILE});
	fd = cf_connect(&t);
	run_for_ms(t.e, 30);
	assert_int_equal(sf_hits(SF_ACCEPT4), 1);
	sf_disarm(SF_ACCEPT4);
	/* still waiting in the backlog: taken after the pause (100 ms) */
	assert_int_equal(write(fd, "a\n", 2), 2);
	run_for_ms(t.e, 150);
	cf_expect_line(fd, "a\n");
	close(fd);

	/* an aborted handshake is skipped at once, the next client served */
	sf_arm(SF_ACCEPT4, (struct sf_rule){.times = 1, .err = ECONNABORTED});
	fd = cf_connect(&t);
	assert_int_equal(write(fd, "b\n", 2), 2);
	run_for_ms(t.e, 30);
	sf_disarm(SF_ACCEPT4);
	cf_expect_line(fd, "b\n");
	close(fd);

	fd = cf_connect(&t);
	run_ms_armed(t.e, 30, SF_CALLOC, (struct sf_rule){.times = 1});
	cf_expect_closed(fd);
	close(fd);

	sf_arm(SF_EPOLL_CTL, (struct sf_rule){.times = 1,
					      .err = ENOMEM,
					      .size = EPOLL_CTL_ADD});
	fd = cf_connect(&t);
	run_for_ms(t.e, 30);
	sf_disarm(SF_EPOLL_CTL);
	cf_expect_closed(fd);
	close(fd);

	sf_arm(SF_GETSOCKOPT, (struct sf_rule){.times = 1,
					       .err = ENOTSOCK,
					       .size = SO_PEERCRED});
	fd = cf_connect(&t);
	run_for_ms(t.e, 30);
	sf_disarm(SF_GETSOCKOPT);
	assert_true(cf_read(fd, buf, sizeof(buf), &eof) > 0);
	assert_non_null(strstr(buf, "\"ok\":false"));
	assert_non_null(strstr(buf, "permission denied"));
	assert_true(sf_log_has("event=control-refused"));
	close(fd);
	assert_int_equal(t.lines, 2);
	cf_teardown(&t);
}

/* Out of descriptors while a client waits in the backlog: the socket
 * stays readable (level-triggered), so retrying at once would spin the
 * reactor at 100 % CPU for as long as the shortage lasts.  The watch is
 * switched off and accept retried every 100 ms (one log line per
 * shortage), and the client is served once descriptors are back. */
static void control_accept_shortage_pauses_instead_of_spinning(void **state)
{
	struct cf t;
	int fd;

	(void)state;
	cf_setup(&t);
	cf_listen(&t);
	fd = cf_connect(&t);
	assert_int_equal(write(fd, "c\n", 2), 2);
	sf_arm(SF_ACCEPT4, (struct sf_rule){.times = -1, .err = EMFILE});
	run_for_ms(t.e, 250);
	/* 250 ms: the first try and two retries, not thousands */
	assert_in_range(sf_calls(SF_ACCEPT4), 1, 4);
	assert_true(sf_log_has("control socket: accept: Too many open files; "
			       "retrying every 100 ms"));
	sf_disarm(SF_ACCEPT4);
	run_for_ms(t.e, 150);
	cf_expect_line(fd, "c\n");
	assert_int_equal(t.lines, 1);
	close(fd);
	cf_teardown(&t);
}

/* ------------------------------------------------------- the client */

/* A reply whose send is interrupted is sent whole; a full socket
 * (EAGAIN) waits for room; a send that fails closes the client. */
static void control_reply_sends_interrupted_full_or_failing(void **state)
{
	struct cf t;
	int fd;

	(void)state;
	cf_setup(&t);
	cf_listen(&t);
	fd = cf_connect(&t);
	run_for_ms(t.e, 20); /* accepted */

	sf_arm(SF_SEND, (struct sf_rule){.times = 1, .err = EINTR});
	assert_int_equal(write(fd, "one\n", 4), 4);
	run_for_ms(t.e, 30);
	assert_int_equal(sf_calls(SF_SEND), 2);
	cf_expect_line(fd, "one\n");

	sf_arm(SF_SEND, (struct sf_rule){.times = 1, .err = EAGAIN});
	assert_int_equal(write(fd, "two\n", 4), 4);
	run_for_ms(t.e, 30);
	assert_true(sf_calls(SF_SEND) >= 2); /* again on EPOLLOUT */
	cf_expect_line(fd, "two\n");

	/* a short send: the rest follows */
	sf_arm(SF_SEND, (struct sf_rule){.times = 1, .cap = 2});
	assert_int_equal(write(fd, "three\n", 6), 6);
	run_for_ms(t.e, 30);
	cf_expect_line(fd, "three\n");

	sf_arm(SF_SEND, (struct sf_rule){.times = 1, .err = EPIPE});
	assert_int_equal(write(fd, "four\n", 5), 5);
	run_for_ms(t.e, 30);
	cf_expect_closed(fd);
	close(fd);
	assert_int_equal(t.lines, 4);
	cf_teardown(&t);
}

/* A receive interrupted is retried; one that fails counts as the end:
 * the complete lines are answered, then the client is closed. */
static void control_receive_interrupted_or_failing(void **state)
{
	struct cf t;
	char buf[256];
	bool eof;
	int fd;

	(void)state;
	cf_setup(&t);
	cf_listen(&t);
	fd = cf_connect(&t);
	run_for_ms(t.e, 20);

	sf_arm(SF_RECV, (struct sf_rule){.times = 1, .err = EINTR});
	assert_int_equal(write(fd, "x\n", 2), 2);
	run_for_ms(t.e, 30);
	assert_int_equal(sf_hits(SF_RECV), 1);
	assert_int_equal(cf_read(fd, buf, sizeof(buf), &eof), 2);

	assert_int_equal(write(fd, "y\n", 2), 2);
	sf_arm(SF_RECV,
	       (struct sf_rule){.skip = 1, .times = 1, .err = ECONNRESET});
	run_for_ms(t.e, 30);
	cf_expect_line(fd, "y\n");
	cf_expect_closed(fd);
	close(fd);
	assert_int_equal(t.lines, 2);
	cf_teardown(&t);
}

/* No memory for the input buffer, for a line, or for a reply: that
 * client is closed (a reply it cannot get is never half sent), the
 * socket serves the next. */
static void control_client_without_memory_is_closed(void **state)
{
	const struct {
		enum sf_call call;
		struct sf_rule rule;
		int lines;
	} cases[] = {
		{SF_REALLOC, {.times = 1, .size = 8192}, 0}, /* input */
		{SF_MALLOC, {.times = 1, .size = 4}, 0},     /* the line */
		{SF_REALLOC, {.times = 1, .size = 4096}, 1}, /* the reply */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cf t;
		char buf[64];
		bool eof;
		ssize_t n;
		int fd;

		cf_setup(&t);
		cf_listen(&t);
		fd = cf_connect(&t);
		run_for_ms(t.e, 20);
		sf_arm(cases[i].call, cases[i].rule);
		assert_int_equal(write(fd, "abc\n", 4), 4);
		run_for_ms(t.e, 30);
		assert_int_equal(sf_hits(cases[i].call), 1);
		sf_disarm(cases[i].call);
		/* closed: EOF, or a reset where our line was left unread */
		n = cf_read(fd, buf, sizeof(buf), &eof);
		assert_true(n < 0 || (n == 0 && eof));
		close(fd);
		assert_int_equal(t.lines, cases[i].lines);
		/* the next client is served */
		fd = cf_connect(&t);
		assert_int_equal(write(fd, "ok\n", 3), 3);
		run_for_ms(t.e, 30);
		assert_int_equal(cf_read(fd, buf, sizeof(buf), &eof), 3);
		close(fd);
		cf_teardown(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(control_listen_failures_leave_nothing),
		cmocka_unit_test(
			control_stale_socket_without_probe_is_replaced),
		cmocka_unit_test(control_clients_that_cannot_be_taken),
		cmocka_unit_test(
			control_accept_shortage_pauses_instead_of_spinning),
		cmocka_unit_test(
			control_reply_sends_interrupted_full_or_failing),
		cmocka_unit_test(control_receive_interrupted_or_failing),
		cmocka_unit_test(control_client_without_memory_is_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
