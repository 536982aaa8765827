/*
 * ut_assert.h — the target checks itself: two classes of assertions.
 *
 * An assertion states an invariant of OUR code: something that holds
 * whatever any peer sends, any disk returns and any clock says.  Input
 * from the network (PDUs, keys, CDBs, parameter lists), from a
 * configuration file or from a disk is never asserted: it is validated,
 * and bad input gets a Reject, a CHECK CONDITION, a dropped connection or
 * a refused configuration.  A failed assertion means the target is wrong,
 * and it stops: continuing would serve data from a state we did not
 * design for.
 *
 *   ut_assert(cond)       ALWAYS ON, the production daemon included.  It
 *                         must cost a compare and a predicted branch: no
 *                         loops, no calls with a cost of their own.  State
 *                         transitions, sequence numbers, offsets within a
 *                         burst, reference counts, pairings.
 *   ut_assert_slow(cond)  EXPENSIVE: walks over lists and whole-structure
 *                         checks (a task set against its counters, a pool's
 *                         free list, a range-lock list).  On by default, so
 *                         unit tests, the simulator, the fuzz harnesses and
 *                         every tool check it; the daemon turns it off at
 *                         start unless asked (`utarget --slow-asserts`).
 *                         cond is not evaluated while the class is off.
 *   ut_unreachable(why)   a "cannot happen" branch: always on; why is a
 *                         string literal that says what was assumed.
 *
 * Write assertions densely (TigerBeetle: two per function at least):
 * preconditions on arguments and on the state a function is entered in,
 * postconditions on what it leaves, and pair assertions, one where a fact
 * is written and one where it is relied upon.  Split compound conditions
 * (`a && b` as two assertions) so that the message says which half failed.
 *
 * Failing: ut_assert_fail() hands the failure to the hook the world set
 * (ut_assert_set_hook: the simulator turns it into a failure of the seed,
 * with this text, and ends the run), then prints the standard
 * "file:line: function: Assertion `cond' failed." line on stderr and
 * aborts, which core-dumps the daemon and crashes a fuzz harness (AFL++
 * and libFuzzer report it as a crash).  `ci/count-asserts.sh` counts them.
 */
#ifndef UT_ASSERT_H
#define UT_ASSERT_H

#include <stdbool.h>

/* Where an assertion failed, for the world's hook. */
struct ut_assert_info {
	const char *expr; /* the condition as written, or the why of an
			   * unreachable branch */
	const char *file; /* "target/scsi/pr.c" */
	const char *func;
	unsigned int line;
	bool slow; /* from the expensive class */
};

/* Called once per failure, before the process aborts.  A hook may leave
 * by longjmp (the simulator does, to report the seed as failed and free
 * its world); it then calls ut_assert_unwound() on landing. */
typedef void (*ut_assert_hook_fn)(const struct ut_assert_info *a);

void ut_assert_set_hook(ut_assert_hook_fn fn);
void ut_assert_unwound(void);

/* Is the expensive class on?  True unless ut_assert_set_slow(false):
 * only the daemon does that, at start, before any thread. */
extern bool ut_assert_slow_on;
void ut_assert_set_slow(bool on);

_Noreturn void ut_assert_fail(const char *expr, const char *file,
			      unsigned int line, const char *func, bool slow)
	__attribute__((cold));

#define ut_assert(cond)                                                      \
	((void)(__builtin_expect(!!(cond), 1) ||                             \
		(ut_assert_fail(#cond, __FILE__, __LINE__, __func__, false), \
		 0)))

#define ut_assert_slow(cond)                                                \
	((void)(!ut_assert_slow_on || __builtin_expect(!!(cond), 1) ||      \
		(ut_assert_fail(#cond, __FILE__, __LINE__, __func__, true), \
		 0)))

#define ut_unreachable(why) \
	ut_assert_fail("unreachable: " why, __FILE__, __LINE__, __func__, false)

#endif
