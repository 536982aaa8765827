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

static void send_tmf(struct rig *r, uint8_t fn, uint64_t lun)
{
	struct iscsi_bhs h = {0};

	h.opcode = ISCSI_OP_TMF_REQ;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL | fn;
	h.lun = iscsi_lun_encode(lun);
	h.itt = ++r->itt;
	h.w20 = ISCSI_RESERVED_TAG;
	h.w24 = r->cmdsn;
	rig_send(r, &h, NULL, 0);
}

static uint8_t tmf_response(struct rig *r, uint8_t fn, uint64_t lun)
{
	struct iscsi_bhs in;

	send_tmf(r, fn, lun);
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
	send_tmf(r, ISCSI_TMF_LOGICAL_UNIT_RESET, 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_tmf_in_a_discovery_session_is_rejected),
		cmocka_unit_test(lun_scoped_functions_for_a_lun_not_mapped),
		cmocka_unit_test(abort_task_set_spares_another_luns_task),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
