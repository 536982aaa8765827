/*
 * test_env_real_main.c — the daemon's start and stop (target/main.c) when
 * the system says no (env_real_faults.h): a configuration file that
 * cannot be examined, read or held in memory, a reactor that cannot be
 * made, the default control socket unavailable; and the orderly stop
 * with a second signal.  conformance/daemon-test covers what a real
 * command line can provoke; these need the fault rig.
 *
 * main.c is included with its main() renamed; each case runs it in a
 * child process (it blocks signals, parses options with getopt and may
 * exit), with stderr kept in a file, and checks the exit status and
 * what the daemon said.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "env_real_rig.h"

#define main utarget_main
#include "main.c"
#undef main

struct run {
	int status; /* exit code, or 128 + signal */
	char err[8192];
};

/* What a child does right before utarget_main (arm rules, start a
 * signalling thread). */
typedef void (*prep_fn)(void);

static void run_daemon(struct run *r, prep_fn prep, int argc, char **argv)
{
	FILE *f = tmpfile();
	pid_t pid;
	int st;
	size_t n;

	assert_non_null(f);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fileno(f), STDERR_FILENO);
		optind = 0; /* getopt starts over */
		sf_clear();
		if (prep)
			prep();
		/* exit(), not _exit(): the coverage counters are written */
		exit(utarget_main(argc, argv));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	rewind(f);
	n = fread(r->err, 1, sizeof(r->err) - 1, f);
	r->err[n] = '\0';
	fclose(f);
}

static void expect(const struct run *r, int status, const char *said)
{
	if (r->status != status || !strstr(r->err, said))
		fail_msg("exit %d (want %d), stderr lacks \"%s\":\n%s",
			 r->status, status, said, r->err);
}

static char conf_path[512];
static char portal[64];

/* "127.0.0.1:PORT" of a port free a moment ago (--listen takes no 0). */
static char *free_portal(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(portal, sizeof(portal), "127.0.0.1:%u", ntohs(sa.sin_port));
	return portal;
}

static void write_conf(const char *dir)
{
	FILE *f;

	snprintf(conf_path, sizeof(conf_path), "%s/u.conf", dir);
	f = fopen(conf_path, "w");
	assert_non_null(f);
	fputs("HANDLER vdisk_mem {\n\tDEVICE a { size 1M }\n}\n"
	      "TARGET_DRIVER iscsi {\n\tTARGET iqn.2026-12.org.utarget:m {\n"
	      "\t\tLUN 0 a\n\t}\n}\n",
	      f);
	fclose(f);
}

static void fstat_fails(void)
{
	sf_arm(SF_FSTAT, (struct sf_rule){.times = 1, .err = EIO});
}

static void read_eof(void)
{
	sf_arm(SF_READ,
	       (struct sf_rule){.times = 1, .use_ret = true, .ret = 0});
}

static void read_fails(void)
{
	sf_arm(SF_READ, (struct sf_rule){.times = 1, .err = EIO});
}

static size_t conf_size;

static void no_memory_for_the_file(void)
{
	sf_arm(SF_MALLOC, (struct sf_rule){.times = 1, .size = conf_size + 1});
}

/* The configuration file: examined, read and held, each refused. */
static void config_file_that_cannot_be_read(void **state)
{
	char *dir = make_tmpdir();
	char *argv[] = {"utarget", "-c", conf_path, "--check", NULL};
	struct stat st;
	struct run r;

	(void)state;
	write_conf(dir);
	assert_int_equal(stat(conf_path, &st), 0);
	conf_size = (size_t)st.st_size;
	run_daemon(&r, NULL, 4, argv);
	expect(&r, 0, "");
	run_daemon(&r, fstat_fails, 4, argv);
	expect(&r, 1, "u.conf: too large or unreadable");
	run_daemon(&r, read_eof, 4, argv);
	expect(&r, 1, "u.conf: short read");
	run_daemon(&r, read_fails, 4, argv);
	expect(&r, 1, "u.conf: Input/output error");
	run_daemon(&r, no_memory_for_the_file, 4, argv);
	expect(&r, 1, "u.conf: out of memory");
	remove_tmpdir(dir);
}

static void no_reactor(void)
{
	sf_arm(SF_EPOLL_CREATE1, (struct sf_rule){.times = 1, .err = EMFILE});
}

/* No event loop: exit 1, saying why. */
static void daemon_without_a_reactor_exits(void **state)
{
	char *argv[] = {"utarget",   "--listen", free_portal(),
			"--control", "none",	 NULL};
	struct run r;

	(void)state;
	run_daemon(&r, no_reactor, 5, argv);
	expect(&r, 1, "cannot create the reactor: Too many open files");
}

/* The default control socket cannot be made (its directory refused):
 * a warning, and the daemon serves anyway.  SIGINT and SIGTERM are
 * pending from the start (blocked here, as main's reactor blocks them):
 * the first begins the orderly stop, the second stops at once. */
static void default_control_unavailable_then_two_signals(void)
{
	sigset_t s;

	sf_arm(SF_MKDIR, (struct sf_rule){.times = -1,
					  .err = EACCES,
					  .path = "/run/utarget"});
	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	/* two different signals: two of one kind would merge */
	kill(getpid(), SIGINT);
	kill(getpid(), SIGTERM);
}

static void daemon_serves_without_control_and_stops_on_signals(void **state)
{
	char *argv[] = {"utarget",    "--listen",    free_portal(),
			"--reactors", "2",	     "--shutdown-grace",
			"5",	      "--log-level", "info",
			NULL};
	struct run r;

	(void)state;
	run_daemon(&r, default_control_unavailable_then_two_signals, 9, argv);
	expect(&r, 0,
	       "event=control-unavailable path=/run/utarget/utarget.sock");
	expect(&r, 0, "event=start reactors=2");
	expect(&r, 0, "second signal: stopping now");
	expect(&r, 0, "utarget: stopped");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_file_that_cannot_be_read),
		cmocka_unit_test(daemon_without_a_reactor_exits),
		cmocka_unit_test(
			daemon_serves_without_control_and_stops_on_signals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
