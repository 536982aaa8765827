/*
 * test_sess_abandon.c — a server that goes away with commands still in
 * the SCSI layer (a simulated crash, exit): scsi_sess_abandon() takes the
 * session's commands out of the LU's task set and waiters (a SANITIZE
 * with IMMED=0 waiting for its end), never answering them, after which
 * the session and the LU free cleanly.  Through scsi_cmd_exec() on a
 * mem LU (scsi_rig.h), the sanitize held by stub_hold_timers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_rig.h"

static void abandoned_commands_leave_the_lu_freeable(void **state)
{
	struct fx *f = fx_new(NULL, 1 << 20, true);
	uint8_t erase[10] = {0x48, 0x02}; /* BLOCK ERASE, IMMED=0 */
	int done_before;

	(void)state;
	stub_hold_timers = true;
	done_before = f->done_calls;
	/* as run() does, without waiting for the answer */
	memset(&f->cmd, 0, sizeof(f->cmd));
	f->cmd.sess = f->sess;
	memcpy(f->cmd.cdb, erase, sizeof(erase));
	f->cmd.cdb_len = sizeof(erase);
	f->cmd.buf = f->buf;
	f->cmd.done = on_done;
	f->cmd.transport = f;
	scsi_cmd_exec(&f->cmd);
	/* not answered: it waits for the sanitize's end */
	assert_int_equal(f->done_calls, done_before);
	assert_int_equal(scsi_sess_busy(f->sess), 1);
	assert_non_null(f->lu->san.waiter);
	scsi_sess_abandon(f->sess);
	assert_int_equal(scsi_sess_busy(f->sess), 0);
	assert_null(f->lu->san.waiter);
	assert_true(TAILQ_EMPTY(&f->lu->task_set));
	assert_int_equal(f->done_calls, done_before); /* never answered */
	stub_hold_timers = false;
	fx_free(f); /* asserts the session holds nothing */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(abandoned_commands_leave_the_lu_freeable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
