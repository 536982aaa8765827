/*
 * test_reconf_devices.c — live changes of devices (iscsi/reconfig.c)
 * with their commands and opens held by the test (fake_env.h: held
 * disks, opens off the reactor):
 *   - a device that opens off the reactor holds the change (another is
 *     refused) while the session keeps serving, and the change applies
 *     from its answer; a failed or refused open refuses the whole change,
 *     closing what did open; an answer after shutdown began cancels it;
 *   - a shrink waits for the commands that entered before it, aborts
 *     them after drain_ms, and gives up (-ETIMEDOUT, saying why) when
 *     they never end; a removed device still in use is given up on the
 *     same way and closes once its last command ends;
 *   - a grow the backstore cannot take, or any resize or reopen (an
 *     attribute changed) while a SANITIZE runs, is refused with nothing
 *     changed;
 *   - portal, discovery and ALUA changes are kept but noted as taking
 *     effect at the next start.
 * Through iscsi_server_reconfigure() on a server in the fake
 * environment (rig.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bytes.h"
#include "rig.h"
#include "scsi/alua.h"

#define TGT "iqn.2026-11.org.utarget:rd"
#define INI "iqn.2026-11.org.test:rd"
#define MiB (1ull << 20)

/* LUN 0 a mem disk, LUN 1 a held disk of 4 MiB (8192 blocks). */
static const char conf[] = "HANDLER vdisk_mem {\n DEVICE m { size 4M }\n}\n"
			   "HANDLER vdisk_fileio {\n"
			   " DEVICE d0 { filename fake-hold:d0\n size 4M }\n"
			   "}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 m\n  LUN 1 d0\n }\n"
			   "}\n";

static struct rig *rig_held(const char *text)
{
	fake_env_hold_disks(true);
	fake_env_async_opens(true);
	return rig_new(text);
}

static void rig_held_free(struct rig *r)
{
	rig_free(r);
	assert_int_equal(fake_held_pending(), 0);
	assert_int_equal(fake_held_disks_live(), 0);
	fake_env_hold_disks(false);
	fake_env_async_opens(false);
}

static void reconf_done(void *arg, const struct iscsi_reconf_result *res)
{
	*(struct iscsi_reconf_result *)arg = *res;
}

static void running(struct rig *r, struct ut_config *cfg)
{
	ut_config_init(cfg);
	assert_int_equal(ut_config_copy(cfg, iscsi_server_config(r->srv)), 0);
}

static int start(struct rig *r, struct ut_config *cfg,
		 const struct iscsi_reconf_opts *o,
		 struct iscsi_reconf_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	res->status = 1; /* no answer yet */
	err[0] = '\0';
	assert_int_equal(ut_config_validate(cfg, NULL, NULL), 0);
	return iscsi_server_reconfigure(r->srv, cfg, o, reconf_done, res, err,
					errlen);
}

/* Advance in 10 ms steps (the poll's) until the change answered or ms
 * passed. */
static void wait_answer(struct rig *r, struct iscsi_reconf_result *res,
			unsigned int ms)
{
	for (unsigned int i = 0; i < ms / 10 && res->status == 1; i++)
		fake_env_advance(r->env, 10000000ull);
}

/* A new device of the held kind, and LUN lun of the target naming it. */
static void add_held(struct ut_config *cfg, const char *name, uint32_t lun,
		     const char *path)
{
	struct ut_dev_cfg d;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.path, sizeof(d.path), "%s", path);
	d.kind = BS_FILE;
	d.size_bytes = 1 * MiB;
	d.block_size = 512;
	ut_dev_cfg_finish(&d);
	assert_non_null(ut_config_add_dev(cfg, &d));
	assert_non_null(ut_lun_add(ut_config_find_target(cfg, TGT), NULL, lun,
				   name, false));
}

static struct ut_dev_cfg *dev(struct ut_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->dev_count; i++)
		if (!strcmp(cfg->devs[i].name, name))
			return &cfg->devs[i];
	fail_msg("no device %s", name);
	return NULL;
}

/* The answer to the command last sent (Data-In with status or SCSI
 * Response), which must be there now. */
static void answer(struct rig *r, struct rig_scsi *out)
{
	struct iscsi_bhs in;
	uint8_t *d = NULL;

	memset(out, 0, sizeof(*out));
	for (;;) {
		assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
		if (in.opcode == ISCSI_OP_NOP_IN) { /* a ping of the wait */
			free(d);
			d = NULL;
			continue;
		}
		if (in.opcode == ISCSI_OP_DATA_IN) {
			assert_true(in.w40 + in.data_len <= sizeof(out->data));
			memcpy(out->data + in.w40, d, in.data_len);
			out->data_len = in.w40 + in.data_len;
			free(d);
			d = NULL;
			if (in.flags & ISCSI_DATAIN_F_STATUS) {
				out->status = in.b3;
				return;
			}
			continue;
		}
		assert_int_equal(in.opcode, ISCSI_OP_SCSI_RSP);
		out->status = in.b3;
		if (out->status == SCSI_STATUS_CHECK_CONDITION && d) {
			out->sense_key = d[2 + 2] & 0xf;
			out->asc = (uint16_t)(d[2 + 12] << 8 | d[2 + 13]);
		}
		free(d);
		return;
	}
}

/* READ(16) or WRITE(16) of one block of LUN 1, sent only. */
static void send_rw(struct rig *r, bool write, uint64_t lba, uint8_t v)
{
	uint8_t cdb[16] = {write ? 0x8a : 0x88};
	uint8_t blk[512];

	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, 1);
	memset(blk, v, sizeof(blk));
	if (write)
		rig_scsi_send(r, 1, cdb, ISCSI_CMD_F_WRITE, 512, blk, 512);
	else
		rig_scsi_send(r, 1, cdb, ISCSI_CMD_F_READ, 512, NULL, 0);
}

/* The oldest held request completes; its answer is flushed. */
static void complete_one(struct rig *r)
{
	assert_int_equal(fake_held_complete(1), 1);
	fake_env_advance(r->env, 0);
}

static void expect_ua(struct rig *r, uint64_t lun, uint16_t asc)
{
	uint8_t tur[16] = {0};
	struct rig_scsi out;

	rig_scsi(r, lun, tur, 0, &out);
	assert_int_equal(out.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(out.sense_key, 0x6);
	assert_int_equal(out.asc, asc);
}

static uint32_t last_lba(struct rig *r, uint64_t lun)
{
	uint8_t cap[16] = {0x25};
	struct rig_scsi out;

	rig_scsi(r, lun, cap, 8, &out);
	assert_int_equal(out.status, 0);
	return get_be32(out.data);
}

/* After a grow of LUN 1: its unit attention, its new last LBA, and block
 * lba reading zeros (an end a shrink cut comes back empty). */
static void grown_reads_zeros(struct rig *r, uint32_t last, uint64_t lba)
{
	struct rig_scsi out;

	expect_ua(r, 1, 0x2a09);
	assert_int_equal(last_lba(r, 1), last);
	send_rw(r, false, lba, 0);
	complete_one(r);
	answer(r, &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.data_len, 512);
	for (int i = 0; i < 512; i++)
		assert_int_equal(out.data[i], 0);
}

static void login(struct rig *r)
{
	struct rig_scsi out;

	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, 0);
	rig_tur(r, 1, &out);
	assert_int_equal(out.status, 0);
}

/* ------------------------------------------------ opens off the reactor */

/* env.h disk_open_async: the change waits for the answer, refusing
 * another change meanwhile, while the session keeps serving; then it
 * applies, and the session hears REPORTED LUNS DATA HAS CHANGED (SPC-4
 * §6.33: 3Fh/0Eh) and sees the new LUN. */
static void
an_open_off_the_reactor_holds_the_change_until_it_answers(void **state)
{
	struct rig *r = rig_held(conf);
	struct iscsi_reconf_result res, res2;
	uint8_t rl[16] = {0xa0};
	struct rig_scsi out;
	struct ut_config cfg;
	char err[256];

	(void)state;
	login(r);
	running(r, &cfg);
	add_held(&cfg, "n", 2, "fake-hold:n");
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	assert_int_equal(fake_env_opens_pending(), 1);
	wait_answer(r, &res, 1000);
	assert_int_equal(res.status, 1); /* waiting for the open */
	assert_int_equal(start(r, &cfg, NULL, &res2, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "another change is still in progress"));
	rig_tur(r, 0, &out); /* the reactor serves meanwhile */
	assert_int_equal(out.status, 0);
	assert_int_equal(iscsi_server_config(r->srv)->dev_count, 2);
	fake_env_answer_open(0);
	wait_answer(r, &res, 1000);
	assert_int_equal(res.status, 0);
	assert_true(res.applied);
	assert_non_null(strstr(r->log, "event=device-opened device=n"));
	assert_int_equal(iscsi_server_config(r->srv)->dev_count, 3);
	expect_ua(r, 0, 0x3f0e);
	put_be32(rl + 6, 256);
	rig_scsi(r, 0, rl, 256, &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(get_be32(out.data), 3 * 8); /* LUNs 0, 1, 2 */
	assert_int_equal(fake_held_disks_live(), 2);
	ut_config_free(&cfg);
	rig_held_free(r);
}

/* Two devices open off the reactor; the second fails: the change is
 * refused through its callback with the open's error and message,
 * nothing changed, and the device that did open is closed. */
static void
a_failed_open_refuses_the_change_and_closes_what_opened(void **state)
{
	struct rig *r = rig_held(conf);
	struct iscsi_reconf_result res;
	struct ut_config cfg;
	char err[256];

	(void)state;
	login(r);
	running(r, &cfg);
	add_held(&cfg, "n1", 2, "fake-hold:n1");
	add_held(&cfg, "n2", 3, "fake-hold:n2");
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	assert_int_equal(fake_env_opens_pending(), 2);
	fake_env_answer_open(0);
	assert_int_equal(fake_held_disks_live(), 2); /* d0 and n1 */
	assert_int_equal(res.status, 1);
	fake_env_answer_open(-EIO);
	wait_answer(r, &res, 100);
	assert_int_equal(res.status, -EIO);
	assert_false(res.applied);
	assert_non_null(strstr(res.msg, "device n2: cannot open fake-hold:n2: "
					"Input/output error"));
	assert_null(strstr(res.msg, "n1"));
	assert_int_equal(fake_held_disks_live(), 1); /* n1 closed */
	assert_int_equal(iscsi_server_config(r->srv)->dev_count, 2);
	rig_tur(r, 1, &(struct rig_scsi){0}); /* no UA: nothing changed */
	/* the server takes the next change */
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	fake_env_answer_open(0);
	fake_env_answer_open(0);
	wait_answer(r, &res, 100);
	assert_int_equal(res.status, 0);
	assert_int_equal(iscsi_server_config(r->srv)->dev_count, 4);
	ut_config_free(&cfg);
	rig_held_free(r);
}

/* An open refused at once (-EACCES, not -ENOTSUP): alone, the call
 * refuses the change with the message; after an open that waits, the
 * change fails from that open's answer with the refusal, and closes
 * what the answer opened. */
static void an_open_refused_at_once_refuses_the_change(void **state)
{
	struct rig *r = rig_held(conf);
	struct iscsi_reconf_result res;
	struct ut_config cfg;
	char err[256];

	(void)state;
	login(r);
	running(r, &cfg);
	add_held(&cfg, "x", 2, "fake-refuse:x");
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), -EACCES);
	assert_string_equal(err,
			    "device x: cannot open fake-refuse:x: Permission "
			    "denied");
	assert_non_null(strstr(r->log, "device x: cannot open backstore"));
	assert_int_equal(res.status, 1); /* refused: no callback */
	ut_config_free(&cfg);

	running(r, &cfg);
	add_held(&cfg, "n", 2, "fake-hold:n");
	add_held(&cfg, "x", 3, "fake-refuse:x");
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	assert_int_equal(fake_env_opens_pending(), 1);
	fake_env_answer_open(0);
	wait_answer(r, &res, 100);
	assert_int_equal(res.status, -EACCES);
	assert_false(res.applied);
	assert_non_null(strstr(res.msg, "device x: cannot open fake-refuse:x"));
	assert_int_equal(fake_held_disks_live(), 1); /* n closed again */
	assert_int_equal(iscsi_server_config(r->srv)->dev_count, 2);
	ut_config_free(&cfg);
	rig_held_free(r);
}

static void on_shutdown(void *arg)
{
	*(bool *)arg = true;
}

/* The server began shutting down while a device opened: the answer
 * cancels the change (-ECANCELED, saying so) and closes the device. */
static void
an_open_answered_after_shutdown_began_cancels_the_change(void **state)
{
	struct rig *r = rig_held(conf);
	struct iscsi_reconf_result res;
	struct ut_config cfg;
	char err[256];
	bool down = false;

	(void)state;
	running(r, &cfg);
	add_held(&cfg, "n", 2, "fake-hold:n");
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	iscsi_server_shutdown(r->srv, 0, on_shutdown, &down);
	assert_true(down); /* no connection to wait for */
	fake_env_answer_open(0);
	wait_answer(r, &res, 100);
	assert_int_equal(res.status, -ECANCELED);
	assert_false(res.applied);
	assert_string_equal(res.msg, "the server is shutting down");
	assert_int_equal(fake_held_disks_live(), 1);
	assert_int_equal(iscsi_server_config(r->srv)->dev_count, 2);
	ut_config_free(&cfg);
	rig_held_free(r);
}

/* ------------------------------------------------------- shrinks */

/* SBC-4 §4.6 (capacity), SPC-4 §5.14 (2Ah/09h CAPACITY DATA HAS
 * CHANGED): a shrink is visible at once to new commands, but the
 * backstore gives up its end only once the commands that entered before
 * it have ended: a write to the last block, held, lands; then the end is
 * gone (grown back, it reads zeros). */
static void a_shrink_waits_for_the_commands_that_entered_before_it(void **state)
{
	struct rig *r = rig_held(conf);
	struct iscsi_reconf_result res;
	struct rig_scsi out;
	struct ut_config cfg;
	char err[256];

	(void)state;
	login(r);
	send_rw(r, true, 8191, 0xa5); /* the last block, held */
	assert_int_equal(fake_held_pending(), 1);
	running(r, &cfg);
	dev(&cfg, "d0")->size_bytes = 2 * MiB;
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 1000);
	assert_int_equal(res.status, 1); /* the write is still out */
	expect_ua(r, 1, 0x2a09);
	assert_int_equal(last_lba(r, 1), 4095);
	complete_one(r);
	answer(r, &out);
	assert_int_equal(out.status, 0); /* it entered before: it lands */
	wait_answer(r, &res, 1000);
	assert_int_equal(res.status, 0);
	assert_true(res.applied);
	assert_int_equal(res.aborted, 0);
	/* grown back: the end the shrink gave up reads zeros */
	dev(&cfg, "d0")->size_bytes = 4 * MiB;
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 1000);
	assert_int_equal(res.status, 0);
	grown_reads_zeros(r, 8191, 8191);
	ut_config_free(&cfg);
	rig_held_free(r);
}

/* After drain_ms the commands older than the shrink are aborted
 * (counted in the result); the one held ends TASK ABORTED (SAM-5 §5.3.1)
 * when its I/O returns, and the shrink then completes. */
static void a_shrink_aborts_older_commands_after_the_drain(void **state)
{
	struct rig *r = rig_held(conf);
	struct iscsi_reconf_opts o = {.drain_ms = 100};
	struct iscsi_reconf_result res;
	struct rig_scsi out;
	struct ut_config cfg;
	char err[256];

	(void)state;
	login(r);
	send_rw(r, false, 8000, 0);
	running(r, &cfg);
	dev(&cfg, "d0")->size_bytes = 2 * MiB;
	assert_int_equal(start(r, &cfg, &o, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 500);
	assert_int_equal(res.status, 1);
	assert_int_equal(fake_conn_pending(r->c), 0); /* not answered yet */
	complete_one(r);
	answer(r, &out);
	assert_int_equal(out.status, SCSI_STATUS_TASK_ABORTED);
	wait_answer(r, &res, 100);
	assert_int_equal(res.status, 0);
	assert_int_equal(res.aborted, 1);
	assert_true(res.waited_ms >= 100);
	ut_config_free(&cfg);
	rig_held_free(r);
}

/* Commands that never end: 30 s past drain_ms the change gives up
 * (-ETIMEDOUT) and says what it left: a shrink not done (the backstore
 * keeps its size). */
static void a_shrink_whose_commands_never_end_is_given_up(void **state)
{
	struct rig *r = rig_held(conf);
	struct iscsi_reconf_opts o = {.drain_ms = 100};
	struct iscsi_reconf_result res;
	struct rig_scsi out;
	struct ut_config cfg;
	char err[256];

	(void)state;
	login(r);
	send_rw(r, false, 8000, 0);
	running(r, &cfg);
	dev(&cfg, "d0")->size_bytes = 2 * MiB;
	assert_int_equal(start(r, &cfg, &o, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 29000);
	assert_int_equal(res.status, 1);
	wait_answer(r, &res, 2000);
	assert_int_equal(res.status, -ETIMEDOUT);
	assert_true(res.applied);
	assert_int_equal(res.aborted, 1);
	assert_non_null(strstr(res.msg,
			       "device d0: commands older than the shrink are "
			       "still running; the backstore keeps its size"));
	complete_one(r);
	answer(r, &out);
	assert_int_equal(out.status, SCSI_STATUS_TASK_ABORTED);
	/* the LU is 2 MiB to its initiators, and the server takes the next
	 * change */
	expect_ua(r, 1, 0x2a09);
	assert_int_equal(last_lba(r, 1), 4095);
	dev(&cfg, "d0")->size_bytes = 3 * MiB;
	assert_int_equal(start(r, &cfg, &o, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 1000);
	assert_int_equal(res.status, 0);
	ut_config_free(&cfg);
	rig_held_free(r);
}

/* A shrink given up on is not forgotten: while the commands older than
 * it still run, the backstore keeps its size, and neither another change
 * (which set the LU's capacity back to the backstore's) nor a resize of
 * the device (which judged sizes against the larger backstore, and a
 * grow then brought back the blocks the shrink had cut) may undo it;
 * once they have ended the backstore gives up its end, so a grow brings
 * zeros (the promise of docs/scenarios.md "target lun resize"; lane
 * reconf18, scenario a_shrink_given_up_on_is_not_undone). */
static void a_shrink_given_up_on_still_shrinks_after_its_commands(void **state)
{
	struct rig *r = rig_held(conf);
	struct iscsi_reconf_opts o = {.drain_ms = 100};
	struct iscsi_reconf_result res;
	struct rig_scsi out;
	struct ut_config cfg;
	char err[256];

	(void)state;
	login(r);
	send_rw(r, true, 5000, 0xa5); /* past the coming end, landed */
	complete_one(r);
	answer(r, &out);
	assert_int_equal(out.status, 0);
	send_rw(r, false, 8000, 0); /* held past the give-up */
	running(r, &cfg);
	dev(&cfg, "d0")->size_bytes = 2 * MiB;
	assert_int_equal(start(r, &cfg, &o, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 20000);
	rig_tur(r, 0, &out); /* a PDU: no NOP-In ping comes meanwhile */
	assert_int_equal(out.status, 0);
	wait_answer(r, &res, 11000);
	assert_int_equal(res.status, -ETIMEDOUT);
	expect_ua(r, 1, 0x2a09);
	/* another device's change leaves LUN 1 as it is */
	dev(&cfg, "m")->size_bytes = 8 * MiB;
	assert_int_equal(start(r, &cfg, &o, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 1000);
	assert_int_equal(res.status, 0);
	expect_ua(r, 0, 0x2a09);
	assert_int_equal(last_lba(r, 1), 4095);
	/* its own resize waits for the commands */
	dev(&cfg, "d0")->size_bytes = 3 * MiB;
	assert_int_equal(start(r, &cfg, &o, &res, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "device d0: commands older than its last "
				    "shrink are still running"));
	complete_one(r);
	answer(r, &out);
	assert_int_equal(out.status, SCSI_STATUS_TASK_ABORTED);
	/* ended: the backstore gives up its end (the next poll), and a
	 * grow brings zeros */
	fake_env_advance(r->env, 20000000ull);
	assert_int_equal(start(r, &cfg, &o, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 1000);
	assert_int_equal(res.status, 0);
	grown_reads_zeros(r, 6143, 5000);
	ut_config_free(&cfg);
	rig_held_free(r);
}

/* A device removed under a command that never ends: aborted after
 * drain_ms, given up 30 s later (-ETIMEDOUT, "still in use"), and closed
 * by a later poll once its last command ends. */
static void
a_removed_device_still_in_use_is_closed_after_its_last_command(void **state)
{
	struct rig *r = rig_held(conf);
	struct iscsi_reconf_opts o = {.drain_ms = 100};
	struct iscsi_reconf_result res;
	struct rig_scsi out;
	struct ut_config cfg;
	char err[256];

	(void)state;
	login(r);
	send_rw(r, false, 0, 0);
	running(r, &cfg);
	assert_int_equal(
		ut_lun_remove(ut_config_find_target(&cfg, TGT), NULL, 1), 0);
	assert_int_equal(ut_config_remove_dev(&cfg, "d0"), 0);
	assert_int_equal(start(r, &cfg, &o, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 32000);
	assert_int_equal(res.status, -ETIMEDOUT);
	assert_true(res.applied);
	assert_int_equal(res.aborted, 1);
	assert_non_null(strstr(res.msg, "device d0 is still in use; it closes "
					"when its last command ends"));
	assert_int_equal(fake_held_disks_live(), 1);
	assert_null(strstr(r->log, "event=device-closed device=d0"));
	complete_one(r);
	answer(r, &out);
	assert_int_equal(out.status, SCSI_STATUS_TASK_ABORTED);
	fake_env_advance(r->env, 100000000ull);
	assert_int_equal(fake_held_disks_live(), 0);
	assert_non_null(strstr(r->log, "event=device-closed device=d0"));
	ut_config_free(&cfg);
	rig_held_free(r);
}

/* --------------------------------------------------- refused resizes */

/* A grow the backstore refuses (-ENOSPC past the held disk's 64 MiB):
 * refused at once with the device, the size and the reason; the LU
 * keeps its capacity. */
static void a_grow_the_backstore_refuses_changes_nothing(void **state)
{
	struct rig *r = rig_held(conf);
	struct iscsi_reconf_result res;
	struct ut_config cfg;
	char err[256];

	(void)state;
	login(r);
	running(r, &cfg);
	dev(&cfg, "d0")->size_bytes = 128 * MiB;
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "device d0: cannot grow to 134217728 bytes: "
				 "No space left on device");
	assert_int_equal(res.status, 1);
	assert_int_equal(last_lba(r, 1), 8191); /* and no UA */
	ut_config_free(&cfg);
	rig_held_free(r);
}

/* SBC-4 §4.11: while a SANITIZE runs the LU's medium is the sanitize's;
 * a resize of it is refused (-EBUSY) until it has ended. */
static void a_resize_while_a_sanitize_runs_is_refused(void **state)
{
	static const char slow[] = "HANDLER vdisk_mem {\n DEVICE m { size 64M\n"
				   "  sanitize_rate 1M }\n}\n"
				   "TARGET_DRIVER iscsi {\n"
				   " TARGET " TGT " {\n  LUN 0 m\n }\n"
				   "}\n";
	struct rig *r = rig_new(slow);
	struct iscsi_reconf_result res;
	/* SANITIZE OVERWRITE, IMMED=1, one 4-byte pattern */
	uint8_t ow[16] = {0x48, 0x81, 0, 0, 0, 0, 0, 0, 8};
	uint8_t list[8] = {0x01, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef};
	struct rig_scsi out;
	struct ut_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &out);
	rig_scsi_send(r, 0, ow, ISCSI_CMD_F_WRITE, sizeof(list), list,
		      sizeof(list));
	answer(r, &out);
	assert_int_equal(out.status, 0); /* IMMED: it runs on */
	running(r, &cfg);
	dev(&cfg, "m")->size_bytes = 128 * MiB;
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "device m: a SANITIZE is running; try again "
				 "after it");
	dev(&cfg, "m")->size_bytes = 32 * MiB;
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), -EBUSY);
	/* 64 MiB at 1 MiB/s */
	fake_env_advance(r->env, 70000000000ull);
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 1000);
	assert_int_equal(res.status, 0);
	ut_config_free(&cfg);
	rig_free(r);
}

/* SBC-4 §4.11: the same for a change that opens the device again (an
 * attribute, utargetctl attr set): the new LU would serve commands on a
 * medium the old one's SANITIZE still overwrites, and writes it
 * acknowledged would be overwritten after (round of devattr21). */
static void a_reopen_while_a_sanitize_runs_is_refused(void **state)
{
	static const char slow[] = "HANDLER vdisk_mem {\n DEVICE m { size 64M\n"
				   "  sanitize_rate 1M }\n}\n"
				   "TARGET_DRIVER iscsi {\n"
				   " TARGET " TGT " {\n  LUN 0 m\n }\n"
				   "}\n";
	struct rig *r = rig_new(slow);
	struct iscsi_reconf_result res;
	/* SANITIZE OVERWRITE, IMMED=1, one 4-byte pattern */
	uint8_t ow[16] = {0x48, 0x81, 0, 0, 0, 0, 0, 0, 8};
	uint8_t list[8] = {0x01, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef};
	struct rig_scsi out;
	struct ut_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &out);
	rig_scsi_send(r, 0, ow, ISCSI_CMD_F_WRITE, sizeof(list), list,
		      sizeof(list));
	answer(r, &out);
	assert_int_equal(out.status, 0); /* IMMED: it runs on */
	running(r, &cfg);
	dev(&cfg, "m")->write_through = true;
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "device m: a SANITIZE is running; try again "
				 "after it");
	/* still the sanitizing LU: NOT READY, SANITIZE IN PROGRESS */
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, 2);
	assert_int_equal(out.sense_key, 2);
	assert_int_equal(out.asc, 0x041b);
	/* 64 MiB at 1 MiB/s */
	fake_env_advance(r->env, 70000000000ull);
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 1000);
	assert_int_equal(res.status, 0);
	ut_config_free(&cfg);
	rig_free(r);
}

/* ------------------------------------------ what waits for a restart */

/* Portals, discovery settings and ALUA groups are driver-level: a
 * change of them is kept in the configuration (utargetctl save writes
 * it) and noted in the result as taking effect at the next start; the
 * listeners stay as they were. */
static void driver_level_changes_are_noted_for_the_next_start(void **state)
{
	struct rig *r = rig_held(conf);
	struct iscsi_reconf_result res;
	struct ut_config cfg;
	char *portal = strdup("127.0.0.1:3270");
	char err[256];
	unsigned int listeners = fake_env_listeners(r->env);

	(void)state;
	assert_non_null(portal);
	running(r, &cfg);
	assert_int_equal(ut_config_set_portals(&cfg, &portal, 1), 0);
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 100);
	assert_int_equal(res.status, 0);
	assert_true(res.applied);
	assert_non_null(strstr(res.msg, "portal changes take effect at the "
					"next start"));
	assert_null(strstr(res.msg, "discovery"));
	assert_string_equal(iscsi_server_config(r->srv)->portals[0],
			    "127.0.0.1:3270");
	assert_int_equal(fake_env_listeners(r->env), listeners);
	ut_config_free(&cfg);

	running(r, &cfg);
	cfg.params.max_burst_length = 2097152;
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 100);
	assert_int_equal(res.status, 0);
	assert_string_equal(res.msg, "discovery settings take effect at the "
				     "next start");
	ut_config_free(&cfg);

	running(r, &cfg);
	cfg.discovery_incoming = calloc(1, sizeof(*cfg.discovery_incoming));
	assert_non_null(cfg.discovery_incoming);
	strcpy(cfg.discovery_incoming[0].name, "disco");
	strcpy(cfg.discovery_incoming[0].secret, "discosecret12");
	cfg.discovery_incoming_count = 1;
	cfg.has_secrets = true;
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	wait_answer(r, &res, 100);
	assert_int_equal(res.status, 0);
	assert_string_equal(res.msg, "discovery settings take effect at the "
				     "next start");
	ut_config_free(&cfg);
	free(portal);
	rig_held_free(r);
}

/* LUN 0 in device group dg, its port in target port group 1 (a peer's
 * in 2), LUN 1 a held disk. */
static const char conf_alua[] =
	"HANDLER vdisk_mem {\n DEVICE m { size 4M }\n}\n"
	"HANDLER vdisk_fileio {\n"
	" DEVICE d0 { filename fake-hold:d0\n size 4M }\n"
	"}\n"
	"TARGET_DRIVER iscsi {\n"
	" TARGET " TGT " {\n  LUN 0 m\n  LUN 1 d0\n }\n"
	"}\n"
	"DEVICE_GROUP dg {\n DEVICE m\n"
	" TARGET_GROUP a {\n  group_id 1\n  TARGET " TGT "\n }\n"
	" TARGET_GROUP b {\n  group_id 2\n  state transitioning\n"
	"  TARGET iqn.x:peer,t,0x1 {\n   rel_tgt_id 9\n  }\n }\n"
	"}\n";

static enum scsi_alua_state tpg_state_now(struct rig *r, uint16_t id)
{
	enum scsi_alua_state st;

	assert_int_equal(
		scsi_alua_get_state(iscsi_server_alua_group(r->srv, "dg"), id,
				    &st),
		0);
	return st;
}

/* SPC-4 §5.15.2: a target port group's state changes by SET TARGET PORT
 * GROUPS or implicitly, never by a change that does not ask for it.  A
 * change adding a LUN, built from the running configuration (group 2
 * transitioning), waits for an open off the reactor; meanwhile group 2
 * becomes nonoptimized.  The change applies without setting group 2
 * back to the state it only carried from when it was asked for (seed
 * 168959898090); a state it does ask for is set. */
static void
a_change_waiting_for_an_open_keeps_a_state_set_meanwhile(void **state)
{
	struct rig *r = rig_held(conf_alua);
	struct iscsi_reconf_result res;
	struct ut_config cfg;
	char err[256];

	(void)state;
	login(r);
	assert_int_equal(tpg_state_now(r, 2), SCSI_ALUA_TRANSITIONING);
	running(r, &cfg);
	add_held(&cfg, "n", 2, "fake-hold:n");
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	assert_int_equal(fake_env_opens_pending(), 1);
	assert_int_equal(iscsi_server_alua_set(r->srv, "dg", 2, "nonoptimized"),
			 0);
	fake_env_answer_open(0);
	wait_answer(r, &res, 1000);
	assert_int_equal(res.status, 0);
	assert_true(res.applied);
	assert_int_equal(tpg_state_now(r, 2), SCSI_ALUA_NON_OPTIMIZED);
	assert_int_equal(
		iscsi_server_config(r->srv)->dgroups[0].tgroups[1].state,
		SCSI_ALUA_NON_OPTIMIZED);
	ut_config_free(&cfg);

	/* a state the change asks for is set, across an open too */
	running(r, &cfg);
	cfg.dgroups[0].tgroups[1].state = SCSI_ALUA_STANDBY;
	add_held(&cfg, "n2", 3, "fake-hold:n2");
	assert_int_equal(start(r, &cfg, NULL, &res, err, sizeof(err)), 0);
	assert_int_equal(fake_env_opens_pending(), 1);
	fake_env_answer_open(0);
	wait_answer(r, &res, 1000);
	assert_int_equal(res.status, 0);
	assert_int_equal(tpg_state_now(r, 2), SCSI_ALUA_STANDBY);
	ut_config_free(&cfg);
	rig_held_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			an_open_off_the_reactor_holds_the_change_until_it_answers),
		cmocka_unit_test(
			a_failed_open_refuses_the_change_and_closes_what_opened),
		cmocka_unit_test(an_open_refused_at_once_refuses_the_change),
		cmocka_unit_test(
			an_open_answered_after_shutdown_began_cancels_the_change),
		cmocka_unit_test(
			a_shrink_waits_for_the_commands_that_entered_before_it),
		cmocka_unit_test(
			a_shrink_aborts_older_commands_after_the_drain),
		cmocka_unit_test(a_shrink_whose_commands_never_end_is_given_up),
		cmocka_unit_test(
			a_shrink_given_up_on_still_shrinks_after_its_commands),
		cmocka_unit_test(
			a_removed_device_still_in_use_is_closed_after_its_last_command),
		cmocka_unit_test(a_grow_the_backstore_refuses_changes_nothing),
		cmocka_unit_test(a_resize_while_a_sanitize_runs_is_refused),
		cmocka_unit_test(a_reopen_while_a_sanitize_runs_is_refused),
		cmocka_unit_test(
			driver_level_changes_are_noted_for_the_next_start),
		cmocka_unit_test(
			a_change_waiting_for_an_open_keeps_a_state_set_meanwhile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
