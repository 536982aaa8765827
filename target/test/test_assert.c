/*
 * test_assert.c — the two assertion classes of ut_assert.h and what a
 * failure does: the world's hook hears it with its text, then the process
 * aborts with the C library's report on stderr (a core dump for the
 * daemon, a crash for a fuzz harness); a hook may leave by longjmp (the
 * simulator) and the next failure reaches it again.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ut_assert.h"

static int hook_calls;
static struct ut_assert_info last;
static jmp_buf hook_jmp;
static int hook_fd = -1;

static void hook_record(const struct ut_assert_info *a)
{
	hook_calls++;
	last = *a;
}

static void hook_jump(const struct ut_assert_info *a)
{
	hook_record(a);
	longjmp(hook_jmp, 1);
}

/* In a child: tell the parent what the hook saw, then return (abort). */
static void hook_report(const struct ut_assert_info *a)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s|%s|%s|%u|%d", a->expr, a->file,
			 a->func, a->line, a->slow);

	if (write(hook_fd, buf, (size_t)n) != n)
		_exit(7);
}

/* A hook that fails an assertion itself: the failure must not recurse. */
static void hook_fails(const struct ut_assert_info *a)
{
	hook_report(a);
	ut_assert(a == NULL);
}

static int evaluations;

static bool counted_false(void)
{
	evaluations++;
	return false;
}

/* Run fn in a child with hook h; return its wait status, the hook's
 * report in out[] and the child's stderr in err[]. */
static int in_child(void (*fn)(void), ut_assert_hook_fn h, char *out,
		    size_t out_cap, char *err, size_t err_cap)
{
	int p[2], e[2], status = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(e), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = {0, 0};

		setrlimit(RLIMIT_CORE, &no_core); /* an abort on purpose */
		close(p[0]);
		close(e[0]);
		dup2(e[1], 2);
		hook_fd = p[1];
		ut_assert_set_hook(h);
		fn();
		_exit(0);
	}
	close(p[1]);
	close(e[1]);
	n = read(p[0], out, out_cap - 1);
	out[n > 0 ? n : 0] = '\0';
	n = read(e[0], err, err_cap - 1);
	err[n > 0 ? n : 0] = '\0';
	close(p[0]);
	close(e[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void fail_cheap(void)
{
	int depth = 3;

	ut_assert(depth == 4);
}

static void failed_assertion_reaches_hook_then_aborts_with_its_text(void **st)
{
	char out[512], err[1024];
	int status = in_child(fail_cheap, hook_report, out, sizeof(out), err,
			      sizeof(err));

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(out, "depth == 4|"));
	assert_non_null(strstr(out, "target/test/test_assert.c|fail_cheap|"));
	assert_non_null(strstr(out, "|0")); /* not the slow class */
	/* The C library's report, for the daemon's log and for fuzzers. */
	assert_non_null(strstr(err, "test_assert.c"));
	assert_non_null(strstr(err, "fail_cheap"));
	assert_non_null(strstr(err, "Assertion `depth == 4' failed."));
}

static void fail_without_hook(void)
{
	ut_unreachable("a state outside the table");
}

static void without_a_hook_an_unreachable_branch_aborts(void **st)
{
	char out[16], err[1024];
	int status = in_child(fail_without_hook, NULL, out, sizeof(out), err,
			      sizeof(err));

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_string_equal(out, "");
	assert_non_null(
		strstr(err, "unreachable: a state outside the table' failed."));
}

static void fail_in_hook(void)
{
	ut_assert_slow(evaluations < 0);
}

static void failure_inside_the_hook_aborts_without_recursing(void **st)
{
	char out[512], err[1024];
	int status = in_child(fail_in_hook, hook_fails, out, sizeof(out), err,
			      sizeof(err));

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	/* One report from the hook (the slow class), not two. */
	assert_non_null(strstr(out, "evaluations < 0|"));
	assert_non_null(strstr(out, "|1"));
	assert_null(strstr(strstr(out, "|1") + 1, "evaluations"));
}

static void slow_class_off_does_not_evaluate_its_condition(void **st)
{
	evaluations = 0;
	ut_assert_set_slow(false);
	ut_assert_slow(counted_false());
	assert_int_equal(evaluations, 0);
	ut_assert_set_slow(true);
	ut_assert_slow(!counted_false());
	assert_int_equal(evaluations, 1);
	/* The cheap class is never off. */
	ut_assert_set_slow(false);
	ut_assert(!counted_false());
	assert_int_equal(evaluations, 2);
	ut_assert_set_slow(true);
}

static void hook_may_leave_by_longjmp_and_hears_the_next_failure(void **st)
{
	volatile int jumps = 0;

	hook_calls = 0;
	ut_assert_set_hook(hook_jump);
	if (setjmp(hook_jmp) == 0)
		ut_assert(jumps == 1);
	ut_assert_unwound();
	jumps++;
	assert_int_equal(hook_calls, 1);
	assert_string_equal(last.expr, "jumps == 1");
	assert_false(last.slow);
	if (setjmp(hook_jmp) == 0)
		ut_assert_slow(jumps == 2);
	ut_assert_unwound();
	ut_assert_set_hook(NULL);
	assert_int_equal(hook_calls, 2);
	assert_string_equal(last.expr, "jumps == 2");
	assert_true(last.slow);
	assert_string_equal(
		last.func,
		"hook_may_leave_by_longjmp_and_hears_the_next_failure");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			failed_assertion_reaches_hook_then_aborts_with_its_text),
		cmocka_unit_test(without_a_hook_an_unreachable_branch_aborts),
		cmocka_unit_test(
			failure_inside_the_hook_aborts_without_recursing),
		cmocka_unit_test(
			slow_class_off_does_not_evaluate_its_condition),
		cmocka_unit_test(
			hook_may_leave_by_longjmp_and_hears_the_next_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
