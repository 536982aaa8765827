/*
 * test_env_real_control.c — the daemon's control socket (env_real/
 * control.c): who may create and take it, how lines go in and replies
 * come out, and the limits; and systemd's notification (notify.c).
 *
 * A client thread plays utargetctl with a blocking UNIX socket while the
 * test's thread runs the reactor; the client stops the reactor when its
 * script is done.  The protocol handler here is a small one of its own
 * (the real one, ctl.c, has its own tests): "echo X" answers X at once,
 * "later X" answers X from a timer 20 ms later, "big N" answers N bytes
 * (a pattern), "drop" answers NULL (which drops the client).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include <cmocka.h>

#include "env_real_rig.h"

#define CT_CLIENTS_MAX 16 /* control.c's CTL_CLIENTS_MAX */

/* What the client saw, for the test's thread to check after the run;
 * the client's checks fail into ct_fail (cmocka's asserts belong to the
 * test's thread). */
static char ct_seen[1024];
static size_t ct_seen_len;
static char ct_fail[200];

#define CK(cond)                                                        \
	do {                                                            \
		if (!(cond)) {                                          \
			snprintf(ct_fail, sizeof(ct_fail), "%s:%d: %s", \
				 __FILE__, __LINE__, #cond);            \
			return;                                         \
		}                                                       \
	} while (0)

struct ct {
	struct env *e;
	struct env_real_control *c;
	char *dir;
	char path[108];
	/* the handler's record, in order: "<line>" per request, "=X" per
	 * deferred reply sent */
	char log[4096];
	struct env_timer *t;
	struct env_real_ctl_client *pending;
	char pending_reply[64];
	/* the client's script and what it saw */
	void (*script)(struct ct *t);
	pthread_t th;
};

static void ct_log(struct ct *t, const char *what)
{
	size_t n = strlen(t->log);

	snprintf(t->log + n, sizeof(t->log) - n, "[%s]", what);
}

static void ct_later(void *arg)
{
	struct ct *t = arg;
	struct env_real_ctl_client *cl = t->pending;
	char what[80];

	assert_non_null(cl);
	t->pending = NULL;
	snprintf(what, sizeof(what), "=%s", t->pending_reply);
	ct_log(t, what);
	env_real_control_reply(cl, t->pending_reply);
}

static void ct_line(void *arg, struct env_real_ctl_client *cl, const char *line,
		    size_t len)
{
	struct ct *t = arg;

	assert_int_equal(strlen(line), len); /* NUL-terminated, no newline */
	if (len < 200)
		ct_log(t, line);
	if (!strncmp(line, "echo ", 5)) {
		env_real_control_reply(cl, line + 5);
	} else if (!strncmp(line, "later ", 6)) {
		assert_null(t->pending); /* one request of a client at a time */
		t->pending = cl;
		snprintf(t->pending_reply, sizeof(t->pending_reply), "%s",
			 line + 6);
		env_timer_arm(t->e, t->t, env_now_ns(t->e) + MS(20));
	} else if (!strncmp(line, "big ", 4)) {
		size_t n = strtoull(line + 4, NULL, 10);
		char *b = malloc(n + 1);

		assert_non_null(b);
		for (size_t i = 0; i < n; i++)
			b[i] = (char)('a' + i % 26);
		b[n] = '\0';
		env_real_control_reply(cl, b);
		free(b);
	} else if (!strcmp(line, "drop")) {
		env_real_control_reply(cl, NULL);
	} else {
		env_real_control_reply(cl, "?");
	}
}

static void ct_setup(struct ct *t)
{
	memset(t, 0, sizeof(*t));
	t->dir = make_tmpdir();
	snprintf(t->path, sizeof(t->path), "%s/run/ctl.sock", t->dir);
	t->e = new_env(false, NULL);
	t->t = env_timer_new(t->e, ct_later, t);
	assert_non_null(t->t);
	assert_int_equal(
		env_real_control_listen(t->e, t->path, ct_line, t, &t->c), 0);
	assert_non_null(t->c);
}

static void ct_teardown(struct ct *t)
{
	env_real_control_close(t->c);
	env_timer_free(t->e, t->t);
	env_real_free(t->e);
	remove_tmpdir(t->dir);
}

static void *ct_client_main(void *arg)
{
	struct ct *t = arg;

	t->script(t);
	env_real_stop(t->e);
	return NULL;
}

/* Run the reactor while the client thread plays its script. */
static void ct_run(struct ct *t, void (*script)(struct ct *t))
{
	t->script = script;
	ct_fail[0] = '\0';
	assert_int_equal(pthread_create(&t->th, NULL, ct_client_main, t), 0);
	run_bounded(t->e);
	pthread_join(t->th, NULL);
	if (ct_fail[0])
		fail_msg("client: %s", ct_fail);
}

/* ------------------------------------------------------- the client side */

static int ct_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 30};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = errno;

		close(fd);
		return -err;
	}
	/* a reply that never comes fails the test rather than hanging it */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void ct_send(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);

		if (k <= 0)
			return; /* the peer closed: what was read says so */
		s += k;
		n -= (size_t)k;
	}
}

/* Read until EOF (or max bytes); returns the bytes, NUL-terminated. */
static char *ct_read_all(int fd, size_t max, size_t *len)
{
	char *b = malloc(max + 1);
	size_t got = 0;

	assert_non_null(b);
	while (got < max) {
		ssize_t k = recv(fd, b + got, max - got, 0);

		if (k <= 0)
			break;
		got += (size_t)k;
	}
	b[got] = '\0';
	*len = got;
	return b;
}

/* Read one reply line (without the newline) into out; -1 at EOF. */
static int ct_read_line(int fd, char *out, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		char ch;
		ssize_t k = recv(fd, &ch, 1, 0);

		if (k <= 0)
			return -1;
		if (ch == '\n')
			break;
		out[n++] = ch;
	}
	out[n] = '\0';
	return 0;
}

/* ----------------------------------------------------------------- tests */

static void sc_lines(struct ct *t)
{
	int fd = ct_connect(t->path);
	char *b;

	CK(fd >= 0);
	/* two requests in one write, one ending CR LF; then one in pieces */
	ct_send(fd, "echo a\necho b\r\nec", 17);
	usleep(20000);
	ct_send(fd, "ho c\n", 5);
	shutdown(fd, SHUT_WR);
	b = ct_read_all(fd, sizeof(ct_seen) - 1, &ct_seen_len);
	memcpy(ct_seen, b, ct_seen_len + 1);
	free(b);
	close(fd);
}

static void control_lines_in_order_each_answered_once(void **state)
{
	struct ct t;
	struct stat st;
	char dir[200];

	ct_setup(&t);
	/* the directory is created private, the socket 0600 */
	snprintf(dir, sizeof(dir), "%s/run", t.dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(t.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	ct_run(&t, sc_lines);
	/* every reply, in order, then EOF once the peer had sent all */
	assert_string_equal(ct_seen, "a\nb\nc\n");
	assert_string_equal(t.log, "[echo a][echo b][echo c]");
	ct_teardown(&t);
	/* close removed the socket file */
	assert_int_equal(stat(t.path, &st), -1);
}

static void sc_later(struct ct *t)
{
	int fd = ct_connect(t->path);
	char line[64];

	CK(fd >= 0);
	ct_send(fd, "later x\necho y\n", 15);
	CK(ct_read_line(fd, line, sizeof(line)) == 0);
	CK(!strcmp(line, "x"));
	CK(ct_read_line(fd, line, sizeof(line)) == 0);
	CK(!strcmp(line, "y"));
	/* a deferred reply after the client has sent everything: still
	 * answered, then the connection ends */
	ct_send(fd, "later z\n", 8);
	shutdown(fd, SHUT_WR);
	CK(ct_read_line(fd, line, sizeof(line)) == 0);
	CK(!strcmp(line, "z"));
	CK(ct_read_line(fd, line, sizeof(line)) == -1);
	close(fd);
}

static void control_next_line_waits_for_a_deferred_reply(void **state)
{
	struct ct t;

	ct_setup(&t);
	ct_run(&t, sc_later);
	/* "echo y" was handed out only after x's reply was sent */
	assert_string_equal(t.log, "[later x][=x][echo y][later z][=z]");
	ct_teardown(&t);
}

static void sc_limits(struct ct *t)
{
	static char big[80000];
	int fd = ct_connect(t->path);
	size_t n;
	char *b;

	CK(fd >= 0);
	/* a request line longer than 64 KiB: one error line, then EOF */
	memset(big, 'q', sizeof(big));
	ct_send(fd, big, sizeof(big));
	b = ct_read_all(fd, sizeof(ct_seen) - 1, &n);
	snprintf(ct_seen, sizeof(ct_seen), "%s", b);
	free(b);
	close(fd);

	/* a NULL reply drops the client, answering nothing */
	fd = ct_connect(t->path);
	CK(fd >= 0);
	ct_send(fd, "drop\necho never\n", 16);
	b = ct_read_all(fd, 100, &n);
	CK(n == 0);
	free(b);
	close(fd);
}

static void control_limits_long_line_null_reply(void **state)
{
	struct ct t;

	ct_setup(&t);
	ct_run(&t, sc_limits);
	assert_string_equal(ct_seen,
			    "{\"version\":1,\"ok\":false,\"error\":\"request "
			    "longer than 64 KiB\"}\n");
	/* the long line never reached the handler; the dropped client's
	 * second line neither */
	assert_string_equal(t.log, "[drop]");
	ct_teardown(&t);
}

static void sc_big(struct ct *t)
{
	int fd = ct_connect(t->path);
	size_t n, want = 1u << 20;
	char *b;

	CK(fd >= 0);
	{
		int small = 4096;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	ct_send(fd, "big 1048576\necho after\n", 23);
	/* read nothing for a while: the reactor meets a full socket */
	usleep(50000);
	shutdown(fd, SHUT_WR);
	b = ct_read_all(fd, want + 100, &n);
	ct_seen_len = n;
	snprintf(ct_seen, sizeof(ct_seen), "%s", n > want ? b + want : "");
	for (size_t i = 0; i < want && i < n; i++)
		if (b[i] != (char)('a' + i % 26)) {
			ct_seen_len = i; /* the first wrong byte */
			break;
		}
	free(b);
	close(fd);
}

static void control_1_mib_reply_to_a_slow_reader_arrives_whole(void **state)
{
	struct ct t;

	ct_setup(&t);
	ct_run(&t, sc_big);
	assert_int_equal(ct_seen_len, (1u << 20) + 1 + 6);
	assert_string_equal(ct_seen, "\nafter\n");
	ct_teardown(&t);
}

static void sc_many(struct ct *t)
{
	int fds[CT_CLIENTS_MAX + 1];
	char line[200];

	for (int i = 0; i < CT_CLIENTS_MAX; i++) {
		char req[32];

		fds[i] = ct_connect(t->path);
		CK(fds[i] >= 0);
		snprintf(req, sizeof(req), "echo %d\n", i);
		ct_send(fds[i], req, strlen(req));
		CK(ct_read_line(fds[i], line, sizeof(line)) == 0);
		CK(atoi(line) == i);
	}
	fds[CT_CLIENTS_MAX] = ct_connect(t->path);
	CK(fds[CT_CLIENTS_MAX] >= 0);
	CK(ct_read_line(fds[CT_CLIENTS_MAX], line, sizeof(line)) == 0);
	snprintf(ct_seen, sizeof(ct_seen), "%s", line);
	CK(ct_read_line(fds[CT_CLIENTS_MAX], line, sizeof(line)) == -1);
	close(fds[CT_CLIENTS_MAX]);
	/* one gone: there is room again */
	close(fds[0]);
	usleep(20000);
	fds[0] = ct_connect(t->path);
	CK(fds[0] >= 0);
	ct_send(fds[0], "echo again\n", 11);
	CK(ct_read_line(fds[0], line, sizeof(line)) == 0);
	CK(!strcmp(line, "again"));
	for (int i = 0; i < CT_CLIENTS_MAX; i++)
		close(fds[i]);
}

static void control_seventeenth_client_is_refused(void **state)
{
	struct ct t;

	ct_setup(&t);
	ct_run(&t, sc_many);
	assert_string_equal(ct_seen, "{\"version\":1,\"ok\":false,\"error\":"
				     "\"too many control clients\"}");
	ct_teardown(&t);
}

static void sc_idle(struct ct *t)
{
	int fd = ct_connect(t->path);
	char line[16];

	CK(fd >= 0);
	ct_send(fd, "echo 1\n", 7);
	CK(ct_read_line(fd, line, sizeof(line)) == 0);
	/* left connected: the test closes the socket under it */
	ct_seen_len = (size_t)fd;
}

static void control_close_drops_connected_clients(void **state)
{
	struct ct t;
	char b[8];
	int fd;

	ct_setup(&t);
	ct_run(&t, sc_idle);
	fd = (int)ct_seen_len;
	env_real_control_close(t.c);
	t.c = NULL;
	assert_int_equal(recv(fd, b, sizeof(b), 0), 0); /* EOF */
	close(fd);
	ct_teardown(&t);
}

/* Who may set the socket up, and where. */
static void control_listen_refuses_unsafe_places(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env(false, NULL);
	struct env_real_control *c = NULL, *c2 = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[200], longp[200];
	int fd;

	/* a path longer than a socket address holds */
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	longp[0] = '/';
	assert_int_equal(env_real_control_listen(e, longp, ct_line, NULL, &c),
			 -ENAMETOOLONG);
	assert_null(c);
	/* the directory cannot be made (its parent is a file) */
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/file/run/s", dir);
	assert_int_equal(env_real_control_listen(e, path, ct_line, NULL, &c),
			 -ENOTDIR);
	/* the directory is not a directory */
	snprintf(path, sizeof(path), "%s/file/s", dir);
	assert_int_equal(env_real_control_listen(e, path, ct_line, NULL, &c),
			 -EPERM);
	/* a directory others may enter */
	snprintf(path, sizeof(path), "%s/open", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/open/s", dir);
	assert_int_equal(env_real_control_listen(e, path, ct_line, NULL, &c),
			 -EPERM);
	/* a file that is not a socket at the path is left alone */
	snprintf(path, sizeof(path), "%s/run", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/run/s", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(env_real_control_listen(e, path, ct_line, NULL, &c),
			 -EEXIST);
	assert_int_equal(unlink(path), 0);
	/* a socket a dead daemon left: removed, and the new one listens */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(env_real_control_listen(e, path, ct_line, NULL, &c),
			 0);
	assert_non_null(c);
	/* a live daemon's socket is not taken over */
	assert_int_equal(env_real_control_listen(e, path, ct_line, NULL, &c2),
			 -EADDRINUSE);
	assert_null(c2);
	fd = ct_connect(path);
	assert_true(fd >= 0); /* still the first one's */
	close(fd);
	env_real_control_close(c);
	env_real_control_close(NULL); /* none: nothing to do */
	env_real_free(e);
	remove_tmpdir(dir);
}

/* ------------------------------------------- systemd's notify socket */

/* One datagram read from fd (waiting at most 1 s), NUL-terminated. */
static ssize_t dgram_recv(int fd, char *buf, size_t cap)
{
	struct timeval tv = {.tv_sec = 1};
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, buf, cap - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static void notify_sends_one_datagram_to_notify_socket(void **state)
{
	char *dir = make_tmpdir();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[200], buf[600], name[64];
	int fd, afd;
	socklen_t alen;

	/* no NOTIFY_SOCKET (not under systemd): nothing to do, no error */
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(env_real_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(env_real_notify("READY=1"), 0);
	/* a path: one datagram, the formatted text exactly */
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0 && strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(env_real_notify("STATUS=serving %d targets", 3), 0);
	assert_int_equal(dgram_recv(fd, buf, sizeof(buf)), 24);
	assert_string_equal(buf, "STATUS=serving 3 targets");
	/* an abstract name ('@'): the same */
	snprintf(name, sizeof(name), "@utarget-test-notify-%d", (int)getpid());
	afd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1);
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			   strlen(name));
	assert_int_equal(bind(afd, (struct sockaddr *)&sa, alen), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(env_real_notify("READY=1\nSTATUS=%s", "up"), 0);
	assert_true(dgram_recv(afd, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "READY=1\nSTATUS=up");
	/* neither a path nor an abstract name, or too long: refused */
	setenv("NOTIFY_SOCKET", "run/notify", 1);
	assert_int_equal(env_real_notify("READY=1"), -EINVAL);
	memset(buf, 'x', 200);
	buf[0] = '/';
	buf[200] = '\0';
	setenv("NOTIFY_SOCKET", buf, 1);
	assert_int_equal(env_real_notify("READY=1"), -EINVAL);
	/* nobody listening there: the error, not a crash or a hang */
	snprintf(path, sizeof(path), "%s/nobody", dir);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(env_real_notify("READY=1"), -ENOENT);
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	close(afd);
	remove_tmpdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(control_lines_in_order_each_answered_once),
		cmocka_unit_test(control_next_line_waits_for_a_deferred_reply),
		cmocka_unit_test(control_limits_long_line_null_reply),
		cmocka_unit_test(
			control_1_mib_reply_to_a_slow_reader_arrives_whole),
		cmocka_unit_test(control_seventeenth_client_is_refused),
		cmocka_unit_test(control_close_drops_connected_clients),
		cmocka_unit_test(control_listen_refuses_unsafe_places),
		cmocka_unit_test(notify_sends_one_datagram_to_notify_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
