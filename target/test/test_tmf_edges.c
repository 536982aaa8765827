/*
 * test_tmf_edges.c — task management requests at their edges
 * (iscsi/tmf.c, RFC 7143 §11.5): in a discovery session a TMF is a
 * protocol error (Reject, reason 04h, the header echoed: a discovery
 * session carries Text and Logout only, §4.3); a LUN-scoped function
 * for a LUN the session does not have (or past 255) answers "LUN does
 * not exist" (§11.6.1, response 2); ABORT TASK SET on LUN 0 leaves a
 * task of LUN 1 running to GOOD.  On a server in the fake environment
 * (rig.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rig.h"

#define TGT "iqn.2026-11.org.utarget:tm"
#define INI "iqn.2026-11.org.test:tm"

static const char conf[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n"
			   " DEVICE d1 { size 4M }\n}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 d0\n  LUN 1 d1\n"
			   "  InitialR2T Yes\n  ImmediateData No\n }\n"
			   "}\n";

static uint8_t tmf_response(struct rig *r, uint8_t fn, uint64_t lun)
{
	struct iscsi_bhs in;

	rig_tmf_send_lun(r, fn, lun, ISCSI_RESERVED_TAG, 0);
	fake_env_advance(r->env, 0);
	rig_expect_pdu(r, ISCSI_OP_TMF_RSP, &in, NULL);
	assert_int_equal(in.itt, r->itt);
	return in.b2;
}

static void a_tmf_in_a_discovery_session_is_rejected(void **state)
{
	struct rig *r = rig_new(conf);
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	struct iscsi_bhs in;
	uint8_t *d = NULL;

	(void)state;
	rig_connect(r);
	rig_text_identity(&t, INI, NULL);
	rig_text_add(&t, "AuthMethod", "None");
	rig_login(r, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true, &t,
		  &rsp);
	assert_int_equal(rsp.status, 0);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	rig_login_finish(r);
	rig_tmf_send_lun(r, ISCSI_TMF_LOGICAL_UNIT_RESET, 0, ISCSI_RESERVED_TAG,
			 0);
	fake_env_advance(r->env, 0);
	rig_expect_pdu(r, ISCSI_OP_REJECT, &in, &d);
	assert_int_equal(in.b2, ISCSI_REJECT_PROTOCOL_ERROR);
	/* the data segment is the rejected header */
	assert_int_equal(in.data_len, 48);
	assert_int_equal(d[0] & 0x3f, ISCSI_OP_TMF_REQ);
	free(d);
	/* the session goes on: SendTargets answers */
	{
		struct iscsi_kvlist kv;

		rig_sendtargets(r, "All", &kv);
		assert_non_null(iscsi_kv_get(&kv, "TargetName"));
		iscsi_kvlist_free(&kv);
	}
	rig_free(r);
}

static void lun_scoped_functions_for_a_lun_not_mapped(void **state)
{
	struct rig *r = rig_new(conf);
	static const uint8_t fns[] = {ISCSI_TMF_ABORT_TASK_SET,
				      ISCSI_TMF_CLEAR_TASK_SET,
				      ISCSI_TMF_LOGICAL_UNIT_RESET};

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &(struct rig_scsi){0}); /* the power-on UA, gone */
	for (size_t i = 0; i < sizeof(fns); i++) {
		assert_int_equal(tmf_response(r, fns[i], 7),
				 ISCSI_TMF_RSP_NO_LUN);
		assert_int_equal(tmf_response(r, fns[i], 300),
				 ISCSI_TMF_RSP_NO_LUN);
	}
	/* no reset reached LUN 0: no 29h unit attention there */
	{
		uint8_t tur[16] = {0};
		struct rig_scsi out;

		rig_scsi(r, 0, tur, 0, &out);
		assert_int_equal(out.status, 0);
	}
	rig_free(r);
}

/* SAM-5 §7.3: ABORT TASK SET aborts the tasks of its own I_T_L nexus
 * only: a WRITE of LUN 1 waiting for Data-Out goes on to GOOD. */
static void abort_task_set_spares_another_luns_task(void **state)
{
	struct rig *r = rig_new(conf);
	static const uint8_t zeros[4096];
	struct iscsi_bhs h = {0}, r2t, in;
	uint8_t *d = NULL;
	uint32_t itt;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &(struct rig_scsi){0});
	rig_tur(r, 1, &(struct rig_scsi){0});
	h.opcode = ISCSI_OP_SCSI_CMD;
	h.flags = ISCSI_FLAG_FINAL | SCSI_TASK_SIMPLE | ISCSI_CMD_F_WRITE;
	h.lun = iscsi_lun_encode(1);
	h.itt = itt = ++r->itt;
	h.w20 = 4096;
	h.w24 = r->cmdsn++;
	h.cdb[0] = 0x2a; /* WRITE(10), 8 blocks at LBA 0 */
	h.cdb[8] = 8;
	rig_send(r, &h, NULL, 0);
	rig_expect_pdu(r, ISCSI_OP_R2T, &r2t, NULL);
	assert_int_equal(tmf_response(r, ISCSI_TMF_ABORT_TASK_SET, 0),
			 ISCSI_TMF_RSP_COMPLETE);
	memset(&h, 0, sizeof(h));
	h.opcode = ISCSI_OP_DATA_OUT;
	h.flags = ISCSI_FLAG_FINAL;
	h.lun = iscsi_lun_encode(1);
	h.itt = itt;
	h.w20 = r2t.w20;
	h.w40 = r2t.w40;
	rig_send(r, &h, zeros, r2t.w44);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
	free(d);
	assert_int_equal(in.opcode, ISCSI_OP_SCSI_RSP);
	assert_int_equal(in.itt, itt);
	assert_int_equal(in.b3, 0); /* GOOD */
	rig_free(r);
}

/* TMFs in progress are bounded per session: a READ held at the backstore,
 * then ABORT TASK for it again and again.  Each one waits for the READ to
 * end (SAM-5 §7.1: its tasks have ended when a TMF completes) and each
 * waits for the one before (tmf.c, tmf_wait_for); with nothing to stop
 * them every one was kept, and each walked the chain of those before it.
 * Up to one per task the session may hold (QueuedCommands plus 16
 * immediate) wait; past that the answer is Function rejected (RFC 7143
 * §11.6.1, 255) at once.  The waiting ones are answered Function complete
 * when the READ ends. */
static void tmfs_in_progress_are_bounded(void **state)
{
	static const char hconf[] =
		"HANDLER vdisk_fileio {\n"
		" DEVICE d0 { filename fake-hold:d0\n size 4M }\n}\n"
		"TARGET_DRIVER iscsi {\n"
		" TARGET " TGT " {\n  LUN 0 d0\n  QueuedCommands 4\n }\n"
		"}\n";
	const unsigned int waiting = 4 + 16, rejected = 1000;
	struct iscsi_server_stats st;
	uint8_t rd[16] = {0x28};
	struct iscsi_bhs in;
	uint8_t *d = NULL;
	uint32_t rtt, refcmdsn;
	struct rig *r;

	(void)state;
	fake_env_hold_disks(true);
	r = rig_new(hconf);
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &(struct rig_scsi){0});
	rd[8] = 8; /* READ(10), 8 blocks at LBA 0 */
	refcmdsn = r->cmdsn;
	rig_scsi_send(r, 0, rd, ISCSI_CMD_F_READ, 4096, NULL, 0);
	rtt = r->itt;
	assert_int_equal(fake_held_pending(), 1);
	for (unsigned int i = 0; i < waiting; i++) {
		rig_tmf_send(r, ISCSI_TMF_ABORT_TASK, rtt, refcmdsn);
		fake_env_advance(r->env, 0);
		if (fake_conn_pop_pdu(r->c, &in, &d) == 0)
			fail_msg("ABORT TASK %u of %u answered (response %u) "
				 "while its READ is still at the backstore: "
				 "SAM-5 §7.1 wants the task ended first",
				 i + 1, waiting, in.b2);
	}
	for (unsigned int i = 0; i < rejected; i++) {
		rig_tmf_send(r, ISCSI_TMF_ABORT_TASK, rtt, refcmdsn);
		fake_env_advance(r->env, 0);
		if (fake_conn_pop_pdu(r->c, &in, &d) != 0)
			fail_msg(
				"TMF %u in progress (beyond QueuedCommands + 16 "
				"= %u) was kept, unanswered: TMFs in progress "
				"must be bounded (Function rejected, RFC 7143 "
				"§11.6.1)",
				waiting + i + 1, waiting);
		free(d);
		d = NULL;
		assert_int_equal(in.opcode, ISCSI_OP_TMF_RSP);
		assert_int_equal(in.itt, r->itt);
		assert_int_equal(in.b2, ISCSI_TMF_RSP_REJECTED);
	}
	assert_int_equal(fake_held_complete(1), 1);
	fake_env_advance(r->env, 0);
	for (unsigned int i = 0; i < waiting; i++) {
		assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
		free(d);
		d = NULL;
		assert_int_equal(in.opcode, ISCSI_OP_TMF_RSP);
		assert_int_equal(in.b2, ISCSI_TMF_RSP_COMPLETE);
	}
	/* the READ was aborted: its TMFs answer for it */
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), -1);
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.tasks, 0);
	assert_int_equal(st.owed, 0);
	rig_tur(r, 0, &(struct rig_scsi){0});
	rig_free(r);
	fake_env_hold_disks(false);
}

/* RFC 7143 §11.5.1: after the TARGET COLD RESET's response the target
 * closes the connection; nothing follows the response on it.  A READ the
 * store holds keeps the reset waiting; a second READ sent after the reset
 * (and a TEST UNIT READY that takes its unit attention) goes to the store
 * too.  The store answers both at once: the reset's
 * FUNCTION COMPLETE and the second READ's SCSI Response are queued in the
 * same turn, the response behind it.  The transmit gather ends with a PDU
 * after which the connection closes (conn_tx.c tx_gather, close_after):
 * FUNCTION COMPLETE leaves, the connection closes, the SCSI Response
 * never does (explore seed 216586154050, mutant 629: both left in one
 * send). */
static void nothing_follows_a_cold_resets_response(void **state)
{
	static const char hconf[] =
		"HANDLER vdisk_fileio {\n"
		" DEVICE d0 { filename fake-hold:d0\n size 4M }\n}\n"
		"TARGET_DRIVER iscsi {\n"
		" TARGET " TGT " {\n  LUN 0 d0\n }\n"
		"}\n";
	uint8_t rd[16] = {0x28}, tur[16] = {0};
	struct iscsi_bhs in;
	uint8_t *d = NULL;
	struct rig *r;

	(void)state;
	fake_env_hold_disks(true);
	r = rig_new(hconf);
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &(struct rig_scsi){0});
	rd[8] = 8; /* READ(10), 8 blocks at LBA 0 */
	rig_scsi_send(r, 0, rd, ISCSI_CMD_F_READ, 4096, NULL, 0);
	assert_int_equal(fake_held_pending(), 1);
	rig_tmf_send(r, ISCSI_TMF_TARGET_COLD_RESET, ISCSI_RESERVED_TAG, 0);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), -1);
	/* the reset's unit attention, then a READ that goes to the store */
	rig_scsi_send(r, 0, tur, 0, 0, NULL, 0);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
	free(d);
	d = NULL;
	assert_int_equal(in.opcode, ISCSI_OP_SCSI_RSP);
	rig_scsi_send(r, 0, rd, ISCSI_CMD_F_READ, 4096, NULL, 0);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_held_pending(), 2);
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), -1);
	assert_int_equal(fake_held_complete(2), 2);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
	free(d);
	d = NULL;
	assert_int_equal(in.opcode, ISCSI_OP_TMF_RSP);
	assert_int_equal(in.b2, ISCSI_TMF_RSP_COMPLETE);
	if (fake_conn_pop_pdu(r->c, &in, &d) == 0)
		fail_msg("a PDU (opcode 0x%02x) left after the TARGET COLD "
			 "RESET's FUNCTION COMPLETE: the connection closes "
			 "after that response (RFC 7143 §11.5.1)",
			 in.opcode);
	assert_true(fake_conn_closed(r->c));
	rig_free(r);
	fake_env_hold_disks(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_tmf_in_a_discovery_session_is_rejected),
		cmocka_unit_test(lun_scoped_functions_for_a_lun_not_mapped),
		cmocka_unit_test(abort_task_set_spares_another_luns_task),
		cmocka_unit_test(tmfs_in_progress_are_bounded),
		cmocka_unit_test(nothing_follows_a_cold_resets_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
