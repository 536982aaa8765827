/*
 * ut_assert.c — what happens when an assertion fails (ut_assert.h).
 *
 * The core may not print (the seam), so the text reaches the world in two
 * ways: through the hook a world installs (the simulator reports the seed
 * as failed), and through the C library's own assertion report, which
 * writes "prog: file:line: function: Assertion `cond' failed." on stderr
 * and aborts.
 */
#include <assert.h>
#include <stdlib.h>

#include "ut_assert.h"

bool ut_assert_slow_on = true;

static ut_assert_hook_fn assert_hook;
/* A failure inside the hook (or while a hook unwinds) must not recurse. */
static _Thread_local bool assert_failing;

void ut_assert_set_hook(ut_assert_hook_fn fn)
{
	assert_hook = fn;
}

void ut_assert_unwound(void)
{
	assert_failing = false;
}

void ut_assert_set_slow(bool on)
{
	ut_assert_slow_on = on;
}

_Noreturn void ut_assert_fail(const char *expr, const char *file,
			      unsigned int line, const char *func, bool slow)
{
	struct ut_assert_info a = {
		.expr = expr,
		.file = file,
		.func = func,
		.line = line,
		.slow = slow,
	};

	if (!assert_failing && assert_hook != NULL) {
		assert_failing = true;
		assert_hook(&a);
	}
	__assert_fail(expr, file, line, func);
}
