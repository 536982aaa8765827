/*
 * test_iscsi_rx.c — how the target takes PDUs in full feature phase
 * (iscsi/task.c, tmf.c, session.c), RFC 7143.  SCSI Commands: command numbering (a CmdSN ahead of ExpCmdSN waits
 * until the gap is filled, §3.2.2.1; immediate commands do not advance
 * it), the Rejects (a SCSI command in a discovery session, an ITT still
 * in use, too many immediate commands, immediate data that does not fit,
 * malformed or bidirectional AHS; §11.17), an extended CDB in an AHS
 * (§11.3.5), and values the SCSI layer answers instead (an unknown task
 * attribute, a LUN of an unsupported address method).  Task management
 * functions it does not do (§11.5.1), Logout reasons (§11.14.1), SNACK
 * (ErrorRecoveryLevel 0) and Data-Out in a discovery session.  Through
 * the fake environment's connection (rig.h).
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

#include "bytes.h"
#include "iscsi/iscsi_int.h"

#define TGT "iqn.2026-11.org.utarget:rx"
#define INI "iqn.2026-11.org.test:rx"

static const char conf[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 d0\n }\n"
			   "}\n";

static struct rig *logged_in(void)
{
	struct rig *r = rig_new(conf);

	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &(struct rig_scsi){0}); /* power-on attention */
	return r;
}

/* A SCSI Command PDU: CDB (16 bytes), AHS of ahs_len bytes (a multiple
 * of 4) before the data segment. */
static void send_cmd_ahs(struct rig *r, uint32_t itt, uint32_t cmdsn,
			 bool immediate, uint8_t flags, uint64_t lun_raw,
			 uint32_t edtl, const uint8_t *cdb, const uint8_t *ahs,
			 uint32_t ahs_len, const void *data, uint32_t len)
{
	struct iscsi_bhs h = {0};
	uint8_t *raw = calloc(1, ISCSI_BHS_LEN + ahs_len + len + 4);
	uint32_t total = ISCSI_BHS_LEN + ahs_len + len;

	assert_non_null(raw);
	assert_int_equal(ahs_len % 4, 0);
	h.opcode = ISCSI_OP_SCSI_CMD;
	h.immediate = immediate;
	h.flags = ISCSI_FLAG_FINAL | flags;
	h.total_ahs_len = (uint8_t)(ahs_len / 4);
	h.data_len = len;
	h.lun = lun_raw;
	h.itt = itt;
	h.w20 = edtl;
	h.w24 = cmdsn;
	memcpy(h.cdb, cdb, 16);
	iscsi_bhs_encode(&h, raw);
	if (ahs_len)
		memcpy(raw + ISCSI_BHS_LEN, ahs, ahs_len);
	if (len)
		memcpy(raw + ISCSI_BHS_LEN + ahs_len, data, len);
	fake_conn_push(r->c, raw, total + iscsi_pad4(len), r->chunk);
	free(raw);
}

static void send_cmd(struct rig *r, uint32_t itt, uint32_t cmdsn,
		     bool immediate, uint8_t flags, uint32_t edtl,
		     const uint8_t *cdb, const void *data, uint32_t len)
{
	send_cmd_ahs(r, itt, cmdsn, immediate, flags, iscsi_lun_encode(0), edtl,
		     cdb, NULL, 0, data, len);
}

/* The next PDU the target sent, or false when there is none. */
static bool next_pdu(struct rig *r, struct iscsi_bhs *h, uint8_t **data)
{
	uint8_t *d = NULL;

	fake_env_advance(r->env, 0);
	if (fake_conn_pop_pdu(r->c, h, &d) != 0)
		return false;
	if (data)
		*data = d;
	else
		free(d);
	return true;
}

/* A Reject with this reason whose data is the rejected PDU's header,
 * naming itt. */
static void expect_reject(struct rig *r, uint8_t reason, uint32_t itt)
{
	struct iscsi_bhs h, rejected;
	uint8_t *d = NULL;

	assert_true(next_pdu(r, &h, &d));
	assert_int_equal(h.opcode, ISCSI_OP_REJECT);
	assert_int_equal(h.b2, reason);
	assert_int_equal(h.data_len, ISCSI_BHS_LEN);
	iscsi_bhs_decode(d, &rejected);
	assert_int_equal(rejected.itt, itt);
	free(d);
}

/* A SCSI Response for itt with this SCSI status; its sense key and
 * ASC/ASCQ when status is CHECK CONDITION. */
static void expect_rsp(struct rig *r, uint32_t itt, uint8_t status, uint8_t key,
		       uint16_t asc)
{
	struct iscsi_bhs h;
	uint8_t *d = NULL;

	assert_true(next_pdu(r, &h, &d));
	assert_int_equal(h.opcode, ISCSI_OP_SCSI_RSP);
	assert_int_equal(h.itt, itt);
	assert_int_equal(h.b2, 0); /* command completed at target */
	assert_int_equal(h.b3, status);
	if (status == 2) {
		/* 2-byte SenseLength, then fixed-format sense data */
		assert_true(h.data_len >= 2 + 14);
		assert_int_equal(d[2 + 2] & 0x0f, key);
		assert_int_equal(get_be16(d + 2 + 12), asc);
	}
	free(d);
}

static const uint8_t tur[16] = {0};

/* RFC 7143 §3.2.2.1: commands are delivered in CmdSN order.  One that
 * arrives ahead of ExpCmdSN waits (no answer) until the missing one
 * arrives; then both run, the missing one first, and ExpCmdSN passes
 * both. */
static void a_command_ahead_of_expcmdsn_waits_for_the_gap(void **state)
{
	struct rig *r = logged_in();
	uint32_t sn = r->cmdsn;
	struct iscsi_bhs h;

	(void)state;
	send_cmd(r, 0x501, sn + 1, false, 0, 0, tur, NULL, 0);
	send_cmd(r, 0x502, sn + 2, false, 0, 0, tur, NULL, 0);
	assert_false(next_pdu(r, &h, NULL)); /* held: sn is missing */
	send_cmd(r, 0x500, sn, false, 0, 0, tur, NULL, 0);
	assert_true(next_pdu(r, &h, NULL));
	assert_int_equal(h.itt, 0x500);
	assert_true(next_pdu(r, &h, NULL));
	assert_int_equal(h.itt, 0x501);
	assert_true(next_pdu(r, &h, NULL));
	assert_int_equal(h.itt, 0x502);
	assert_int_equal(h.opcode, ISCSI_OP_SCSI_RSP);
	assert_int_equal(h.exp_cmdsn, sn + 3);
	r->cmdsn = sn + 3;
	rig_logout(r);
	rig_free(r);
}

/* A queued command whose connection goes away is freed with it (nothing
 * answered, nothing left: the server's task count returns to 0). */
static void a_held_command_is_freed_with_its_connection(void **state)
{
	struct rig *r = logged_in();
	struct iscsi_server_stats st;
	struct iscsi_bhs h;

	(void)state;
	send_cmd(r, 0x600, r->cmdsn + 5, false, 0, 0, tur, NULL, 0);
	assert_false(next_pdu(r, &h, NULL));
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.tasks, 1);
	fake_conn_hangup(r->c);
	fake_env_advance(r->env, 0);
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.tasks, 0);
	rig_free(r);
}

/* An immediate command (I bit) runs at once with the current CmdSN and
 * does not advance ExpCmdSN (RFC 7143 §3.2.2.1). */
static void an_immediate_command_runs_without_advancing_expcmdsn(void **state)
{
	struct rig *r = logged_in();
	struct iscsi_bhs h;

	(void)state;
	send_cmd(r, 0x700, r->cmdsn, true, 0, 0, tur, NULL, 0);
	assert_true(next_pdu(r, &h, NULL));
	assert_int_equal(h.opcode, ISCSI_OP_SCSI_RSP);
	assert_int_equal(h.itt, 0x700);
	assert_int_equal(h.b3, 0);
	assert_int_equal(h.exp_cmdsn, r->cmdsn); /* not advanced */
	rig_logout(r);
	rig_free(r);
}

/* A second command with the ITT of one still running (a WRITE waiting
 * for its data) is rejected TASK IN PROGRESS, as is the reserved tag
 * 0xffffffff; the first still completes. */
static void an_itt_in_use_is_rejected_task_in_progress(void **state)
{
	struct rig *r = logged_in();
	uint8_t wr[16] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1};
	uint8_t block[512];
	struct iscsi_bhs h = {0}, r2t;

	(void)state;
	memset(block, 0x5c, sizeof(block));
	send_cmd(r, 0x800, r->cmdsn++, false, ISCSI_CMD_F_WRITE, 512, wr, NULL,
		 0);
	assert_true(next_pdu(r, &r2t, NULL));
	assert_int_equal(r2t.opcode, ISCSI_OP_R2T);
	send_cmd(r, 0x800, r->cmdsn, false, 0, 0, tur, NULL, 0);
	expect_reject(r, ISCSI_REJECT_TASK_IN_PROGRESS, 0x800);
	send_cmd(r, 0xffffffff, r->cmdsn, false, 0, 0, tur, NULL, 0);
	expect_reject(r, ISCSI_REJECT_TASK_IN_PROGRESS, 0xffffffff);
	/* the WRITE's data, as the R2T asked */
	h.opcode = ISCSI_OP_DATA_OUT;
	h.flags = ISCSI_FLAG_FINAL;
	h.lun = iscsi_lun_encode(0);
	h.itt = 0x800;
	h.ttt = r2t.ttt;
	rig_send(r, &h, block, sizeof(block));
	expect_rsp(r, 0x800, 0, 0, 0);
	rig_logout(r);
	rig_free(r);
}

/* At most 16 immediate commands may be alive at once; the 17th is
 * rejected IMMEDIATE COMMAND REJECT (RFC 7143 §11.17.1), and once they
 * finish, immediate commands are taken again. */
static void a_seventeenth_live_immediate_command_is_rejected(void **state)
{
	struct rig *r = logged_in();
	uint8_t wr[16] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1};
	uint32_t ttt[16];
	uint8_t block[512] = {0};
	struct iscsi_bhs h;

	(void)state;
	for (uint32_t i = 0; i < 16; i++) {
		send_cmd(r, 0x900 + i, r->cmdsn, true, ISCSI_CMD_F_WRITE, 512,
			 wr, NULL, 0);
		assert_true(next_pdu(r, &h, NULL));
		assert_int_equal(h.opcode, ISCSI_OP_R2T);
		ttt[i] = h.ttt;
	}
	send_cmd(r, 0x9ff, r->cmdsn, true, 0, 0, tur, NULL, 0);
	expect_reject(r, ISCSI_REJECT_IMMEDIATE_CMD, 0x9ff);
	for (uint32_t i = 0; i < 16; i++) {
		struct iscsi_bhs d = {0};

		d.opcode = ISCSI_OP_DATA_OUT;
		d.flags = ISCSI_FLAG_FINAL;
		d.lun = iscsi_lun_encode(0);
		d.itt = 0x900 + i;
		d.ttt = ttt[i];
		rig_send(r, &d, block, sizeof(block));
		expect_rsp(r, 0x900 + i, 0, 0, 0);
	}
	send_cmd(r, 0x9fe, r->cmdsn, true, 0, 0, tur, NULL, 0);
	expect_rsp(r, 0x9fe, 0, 0, 0);
	rig_logout(r);
	rig_free(r);
}

/* The session finds its tasks by ITT through an index of 64 buckets
 * (task.c): 100 WRITEs waiting for their data share buckets whatever the
 * hash.  Each ITT still in use is refused TASK IN PROGRESS (RFC 7143
 * §11.17.1), each Data-Out reaches the task of its ITT (the block read
 * back is the one sent under that ITT), and once they are done every ITT
 * is free again.  ITTs that differ only in their high bits (Linux keeps
 * an age there) are among them. */
#define MANY_ITTS 100u
static uint32_t many_itt(uint32_t i)
{
	return (i % 2) ? 0x1000u + i : (i << 24) | 0x77u;
}

static void many_live_itts_are_told_apart(void **state)
{
	struct rig *r = logged_in();
	uint32_t ttt[MANY_ITTS];
	uint8_t block[512];
	struct rig_scsi *rs = calloc(1, sizeof(*rs));
	struct iscsi_bhs h;

	(void)state;
	assert_non_null(rs);
	for (uint32_t i = 0; i < MANY_ITTS; i++) {
		uint8_t wr[16] = {0x2a, 0, 0, 0, 0, (uint8_t)i, 0, 0, 1};

		send_cmd(r, many_itt(i), r->cmdsn++, false, ISCSI_CMD_F_WRITE,
			 512, wr, NULL, 0);
		assert_true(next_pdu(r, &h, NULL));
		assert_int_equal(h.opcode, ISCSI_OP_R2T);
		assert_int_equal(h.itt, many_itt(i));
		ttt[i] = h.ttt;
	}
	for (uint32_t i = 0; i < MANY_ITTS; i++) {
		send_cmd(r, many_itt(i), r->cmdsn, false, 0, 0, tur, NULL, 0);
		expect_reject(r, ISCSI_REJECT_TASK_IN_PROGRESS, many_itt(i));
	}
	for (uint32_t k = 0; k < MANY_ITTS; k++) {
		uint32_t i = (k * 37u) % MANY_ITTS; /* not in arrival order */
		struct iscsi_bhs d = {0};

		memset(block, (int)(0x80u + i), sizeof(block));
		d.opcode = ISCSI_OP_DATA_OUT;
		d.flags = ISCSI_FLAG_FINAL;
		d.lun = iscsi_lun_encode(0);
		d.itt = many_itt(i);
		d.ttt = ttt[i];
		rig_send(r, &d, block, sizeof(block));
		expect_rsp(r, many_itt(i), 0, 0, 0);
	}
	for (uint32_t i = 0; i < MANY_ITTS; i++) {
		uint8_t rd[16] = {0x28, 0, 0, 0, 0, (uint8_t)i, 0, 0, 1};

		memset(block, (int)(0x80u + i), sizeof(block));
		rig_scsi(r, 0, rd, 512, rs);
		assert_int_equal(rs->status, 0);
		assert_int_equal(rs->data_len, 512);
		assert_memory_equal(rs->data, block, 512);
		/* the ITT is free again: a command under it runs */
		send_cmd(r, many_itt(i), r->cmdsn++, false, 0, 0, tur, NULL, 0);
		expect_rsp(r, many_itt(i), 0, 0, 0);
	}
	free(rs);
	rig_logout(r);
	rig_free(r);
}

/* Immediate data on a READ, or more of it than EDTL: Reject PROTOCOL
 * ERROR, and the session goes on. */
static void immediate_data_that_does_not_fit_is_a_protocol_error(void **state)
{
	struct rig *r = logged_in();
	uint8_t rd[16] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1};
	uint8_t wr[16] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1};
	uint8_t data[1024] = {0};

	(void)state;
	send_cmd(r, 0xa00, r->cmdsn, false, ISCSI_CMD_F_READ, 512, rd, data,
		 512);
	expect_reject(r, ISCSI_REJECT_PROTOCOL_ERROR, 0xa00);
	send_cmd(r, 0xa01, r->cmdsn, false, ISCSI_CMD_F_WRITE, 512, wr, data,
		 1024);
	expect_reject(r, ISCSI_REJECT_PROTOCOL_ERROR, 0xa01);
	send_cmd(r, 0xa02, r->cmdsn++, false, 0, 0, tur, NULL, 0);
	expect_rsp(r, 0xa02, 0, 0, 0);
	rig_logout(r);
	rig_free(r);
}

/* A SCSI Command in a discovery session: Reject PROTOCOL ERROR (RFC
 * 7143 §4.3: only Text, Logout and NOP there). */
static void a_scsi_command_in_a_discovery_session_is_rejected(void **state)
{
	struct rig *r = rig_new(conf);

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, NULL), 0);
	send_cmd(r, 0xb00, r->cmdsn, false, 0, 0, tur, NULL, 0);
	expect_reject(r, ISCSI_REJECT_PROTOCOL_ERROR, 0xb00);
	rig_free(r);
}

/* RFC 7143 §11.3.5: an Extended CDB AHS (type 1) carries the CDB's bytes
 * past the 16th: a 32-byte variable-length CDB (7Fh) reaches the SCSI
 * layer whole, which answers it (not supported here: INVALID COMMAND
 * OPERATION CODE); a Bidirectional Read AHS (type 2) is refused (Reject
 * COMMAND NOT SUPPORTED); an AHS of length 0 or running past the AHS
 * area: Reject. */
static void
an_extended_cdb_ahs_carries_the_cdb_and_bad_ahs_is_rejected(void **state)
{
	struct rig *r = logged_in();
	uint8_t cdb[16] = {0x7f, 0, 0, 0, 0, 0, 0, 0x18, 0x00, 0x09};
	uint8_t ahs[20] = {0, 17, 1, 0}; /* length 17: reserved + 16 */
	uint8_t bidi[8] = {0, 5, 2, 0};	 /* Bidirectional Read AHS */
	uint8_t bad[8] = {0, 0, 1, 0};	 /* length 0 */
	uint8_t longer[8] = {0, 40, 1, 0};

	(void)state;
	send_cmd_ahs(r, 0xc00, r->cmdsn++, false, 0, iscsi_lun_encode(0), 0,
		     cdb, ahs, sizeof(ahs), NULL, 0);
	expect_rsp(r, 0xc00, 2, 5, 0x2000); /* INVALID COMMAND OPCODE */
	send_cmd_ahs(r, 0xc01, r->cmdsn, false, ISCSI_CMD_F_READ,
		     iscsi_lun_encode(0), 512, tur, bidi, sizeof(bidi), NULL,
		     0);
	expect_reject(r, ISCSI_REJECT_CMD_NOT_SUPPORTED, 0xc01);
	send_cmd_ahs(r, 0xc02, r->cmdsn, false, 0, iscsi_lun_encode(0), 0, tur,
		     bad, sizeof(bad), NULL, 0);
	expect_reject(r, ISCSI_REJECT_PROTOCOL_ERROR, 0xc02);
	send_cmd_ahs(r, 0xc03, r->cmdsn, false, 0, iscsi_lun_encode(0), 0, tur,
		     longer, sizeof(longer), NULL, 0);
	expect_reject(r, ISCSI_REJECT_PROTOCOL_ERROR, 0xc03);
	send_cmd(r, 0xc04, r->cmdsn++, false, 0, 0, tur, NULL, 0);
	expect_rsp(r, 0xc04, 0, 0, 0);
	rig_logout(r);
	rig_free(r);
}

/* An ATTR field of a reserved value (5..7) is taken as SIMPLE; a LUN in
 * an address method the target does not use (extended, 11b) is LOGICAL
 * UNIT NOT SUPPORTED from the SCSI layer, not a Reject. */
static void odd_attributes_and_luns_are_answered_by_scsi(void **state)
{
	struct rig *r = logged_in();

	(void)state;
	send_cmd(r, 0xd00, r->cmdsn++, false, 0x05, 0, tur, NULL, 0);
	expect_rsp(r, 0xd00, 0, 0, 0);
	send_cmd_ahs(r, 0xd01, r->cmdsn++, false, 0, 0xc000000000000000ull, 0,
		     tur, NULL, 0, NULL, 0);
	expect_rsp(r, 0xd01, 2, 5, 0x2500);
	rig_logout(r);
	rig_free(r);
}

/* A Task Management Function Request (immediate); its response code. */
static uint8_t tmf(struct rig *r, uint8_t fn, uint32_t itt)
{
	struct iscsi_bhs h = {0}, in;

	h.opcode = ISCSI_OP_TMF_REQ;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL | fn;
	h.lun = iscsi_lun_encode(0);
	h.itt = itt;
	h.ref_task_tag = 0x4242;
	h.w24 = r->cmdsn;
	rig_send(r, &h, NULL, 0);
	assert_true(next_pdu(r, &in, NULL));
	assert_int_equal(in.opcode, ISCSI_OP_TMF_RSP);
	assert_int_equal(in.itt, itt);
	return in.b2;
}

/* RFC 7143 §11.6.1: CLEAR ACA is "Function not supported" (utarget has
 * no ACA), TASK REASSIGN "Task failover not supported" (ErrorRecovery-
 * Level 0), an unknown function "Function rejected"; the session goes
 * on. */
static void tmfs_not_done_get_their_response_codes(void **state)
{
	struct rig *r = logged_in();

	(void)state;
	assert_int_equal(tmf(r, ISCSI_TMF_CLEAR_ACA, 0xe00),
			 ISCSI_TMF_RSP_NOT_SUPPORTED);
	assert_int_equal(tmf(r, ISCSI_TMF_TASK_REASSIGN, 0xe01),
			 ISCSI_TMF_RSP_NO_FAILOVER);
	assert_int_equal(tmf(r, 0x1f, 0xe02), ISCSI_TMF_RSP_REJECTED);
	send_cmd(r, 0xe03, r->cmdsn++, false, 0, 0, tur, NULL, 0);
	expect_rsp(r, 0xe03, 0, 0, 0);
	rig_logout(r);
	rig_free(r);
}

/* A Logout Request; the response's code, or -1 for a Reject. */
static int logout(struct rig *r, uint8_t reason, uint16_t cid, uint32_t itt)
{
	struct iscsi_bhs h = {0}, in;
	uint8_t *d = NULL;

	h.opcode = ISCSI_OP_LOGOUT_REQ;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL | reason;
	h.itt = itt;
	h.w20 = (uint32_t)cid << 16;
	h.w24 = r->cmdsn;
	rig_send(r, &h, NULL, 0);
	assert_true(next_pdu(r, &in, &d));
	if (in.opcode == ISCSI_OP_REJECT) {
		struct iscsi_bhs rejected;

		assert_int_equal(in.b2, ISCSI_REJECT_INVALID_PDU_FIELD);
		iscsi_bhs_decode(d, &rejected);
		free(d);
		assert_int_equal(rejected.itt, itt);
		return -1;
	}
	free(d);
	assert_int_equal(in.itt, itt);
	assert_int_equal(in.opcode, ISCSI_OP_LOGOUT_RSP);
	return in.b2;
}

/* RFC 7143 §11.14.1, §11.15.1: closing a connection of another CID is
 * "CID not found", removing a connection for recovery "connection
 * recovery is not supported" (ErrorRecoveryLevel 0), both leaving the
 * connection up; a reserved reason code is a Reject; closing our own
 * CID is "closed successfully" and closes the connection. */
static void logout_reasons_get_their_responses(void **state)
{
	struct rig *r = logged_in();

	(void)state;
	assert_int_equal(logout(r, ISCSI_LOGOUT_CLOSE_CONNECTION, 5, 0xf00),
			 ISCSI_LOGOUT_RSP_CID_NOT_FOUND);
	assert_false(fake_conn_closed(r->c));
	assert_int_equal(logout(r, ISCSI_LOGOUT_REMOVE_FOR_RECOVERY, 0, 0xf01),
			 ISCSI_LOGOUT_RSP_RECOVERY_UNSUPPORTED);
	assert_false(fake_conn_closed(r->c));
	assert_int_equal(logout(r, 0x09, 0, 0xf02), -1);
	send_cmd(r, 0xf03, r->cmdsn++, false, 0, 0, tur, NULL, 0);
	expect_rsp(r, 0xf03, 0, 0, 0); /* still in full feature phase */
	assert_int_equal(logout(r, ISCSI_LOGOUT_CLOSE_CONNECTION, 0, 0xf04),
			 ISCSI_LOGOUT_RSP_OK);
	fake_env_advance(r->env, 0);
	assert_true(fake_conn_closed(r->c));
	rig_free(r);
}

/* SNACK at ErrorRecoveryLevel 0 is rejected "SNACK Reject" (RFC 7143
 * §11.16); Data-Out in a discovery session is a protocol error. */
static void snack_and_discovery_data_out_are_rejected(void **state)
{
	struct rig *r = logged_in();
	struct iscsi_bhs h = {0};
	uint8_t block[512] = {0};

	(void)state;
	h.opcode = ISCSI_OP_SNACK_REQ;
	h.flags = ISCSI_FLAG_FINAL;
	h.itt = 0x1000;
	rig_send(r, &h, NULL, 0);
	expect_reject(r, ISCSI_REJECT_SNACK, 0x1000);
	rig_logout(r);
	rig_free(r);

	r = rig_new(conf);
	assert_int_equal(rig_login_plain(r, INI, NULL), 0);
	memset(&h, 0, sizeof(h));
	h.opcode = ISCSI_OP_DATA_OUT;
	h.flags = ISCSI_FLAG_FINAL;
	h.itt = 0x1001;
	h.ttt = 0x1234;
	rig_send(r, &h, block, sizeof(block));
	expect_reject(r, ISCSI_REJECT_PROTOCOL_ERROR, 0x1001);
	rig_free(r);
}

/* RspTimeout (5 s here, no NOP-In pings): a command held for a CmdSN the
 * initiator never sent, or a WRITE whose Data-Out never came, closes the
 * connection when it is due; the log names why it waited, and the count
 * of timeouts grows, but not that of those stuck inside the target (the
 * wait was the initiator's). */
static void rsp_timeout_closes_on_an_initiators_wait(void **state)
{
	uint8_t wr[16] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1};
	const char *why[2] = {"waiting for its CmdSN turn",
			      "waiting for Data-Out"};

	(void)state;
	static const char conf_rsp[] =
		"HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n}\n"
		"TARGET_DRIVER iscsi {\n"
		" TARGET " TGT " {\n  LUN 0 d0\n  NopInInterval 0\n"
		"  RspTimeout 5\n }\n"
		"}\n";

	for (int k = 0; k < 2; k++) {
		struct rig *r = rig_new(conf_rsp);
		struct iscsi_server_stats st;
		struct iscsi_bhs h;

		assert_int_equal(rig_login_plain(r, INI, TGT), 0);
		rig_tur(r, 0, &(struct rig_scsi){0});
		if (k == 0)
			send_cmd(r, 0x1100, r->cmdsn + 1, false, 0, 0, tur,
				 NULL, 0);
		else
			send_cmd(r, 0x1100, r->cmdsn, false, ISCSI_CMD_F_WRITE,
				 512, wr, NULL, 0);
		while (next_pdu(r, &h, NULL)) /* an R2T for the WRITE */
			assert_int_equal(h.opcode, ISCSI_OP_R2T);
		fake_env_advance(r->env, 4ull * 1000000000ull);
		assert_false(fake_conn_closed(r->c));
		fake_env_advance(r->env, 2ull * 1000000000ull);
		assert_true(fake_conn_closed(r->c));
		assert_non_null(strstr(r->log, why[k]));
		iscsi_server_get_stats(r->srv, &st);
		assert_int_equal(st.rsp_timeouts, 1);
		assert_int_equal(st.rsp_timeouts_stuck, 0);
		rig_free(r);
	}
}

static void on_shutdown(void *arg)
{
	(*(int *)arg)++;
}

/* Shutdown: a connection still logging in is closed at once (it has no
 * session to ask to log out), the listener stops accepting, and the
 * shutdown completes. */
static void shutdown_closes_a_login_and_stops_listening(void **state)
{
	struct rig *r;
	struct fake_conn *late, *half;
	int done = 0;

	(void)state;
	r = rig_new(conf);
	half = fake_connect_to(r->env, r->listener, NULL);
	fake_env_advance(r->env, 0);
	assert_false(fake_conn_closed(half));
	iscsi_server_shutdown(r->srv, 1000, on_shutdown, &done);
	fake_env_advance(r->env, 0);
	assert_true(fake_conn_closed(half));
	/* the listener is closed: nobody can connect any more */
	late = fake_connect_to(r->env, r->listener, NULL);
	assert_null(late);
	fake_env_advance(r->env, 2000000000ull);
	assert_int_equal(done, 1);
	rig_free(r);
}

/* The receive buffer of the connection (data segments that go to no
 * task's buffer: ping data, text, the data of a refused command) is not
 * kept at the size of the largest segment received: after a 256 KiB
 * NOP-Out (our MaxRecvDataSegmentLength, up to 16 MiB by configuration)
 * it holds at most ISCSI_RX_BUF_KEEP bytes again.  Before, every
 * connection -- a discovery session's too -- could be made to hold
 * MaxRecvDataSegmentLength bytes for its whole life: 4096 connections
 * times 16 MiB.  One segment of exactly ISCSI_RX_BUF_KEEP bytes keeps
 * its buffer. */
static void a_large_segment_leaves_no_large_receive_buffer(void **state)
{
	struct rig *r = logged_in();
	const uint32_t big = 262144;
	uint8_t *ping = calloc(1, big), *d = NULL;
	struct iscsi_conn *c;
	struct iscsi_bhs in;

	(void)state;
	assert_non_null(ping);
	c = TAILQ_FIRST(&r->srv->conns);
	assert_non_null(c);
	assert_null(TAILQ_NEXT(c, link)); /* the rig's one connection */
	rig_nop_out(r, ping, ISCSI_RX_BUF_KEEP);
	fake_env_advance(r->env, 0);
	rig_expect_pdu(r, ISCSI_OP_NOP_IN, &in, &d);
	assert_int_equal(in.data_len, ISCSI_RX_BUF_KEEP);
	free(d);
	assert_int_equal(c->rx_buf_cap, ISCSI_RX_BUF_KEEP);
	rig_nop_out(r, ping, big);
	fake_env_advance(r->env, 0);
	rig_expect_pdu(r, ISCSI_OP_NOP_IN, &in, &d);
	/* echoed up to what the initiator receives */
	assert_int_equal(in.data_len,
			 big < c->max_xmit_dsl ? big : c->max_xmit_dsl);
	free(d);
	if (c->rx_buf_cap > ISCSI_RX_BUF_KEEP)
		fail_msg("after a %u-byte NOP-Out the connection still holds a "
			 "%u-byte receive buffer (at most %u may stay)",
			 big, c->rx_buf_cap, ISCSI_RX_BUF_KEEP);
	rig_tur(r, 0, &(struct rig_scsi){0});
	free(ping);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_command_ahead_of_expcmdsn_waits_for_the_gap),
		cmocka_unit_test(a_held_command_is_freed_with_its_connection),
		cmocka_unit_test(
			an_immediate_command_runs_without_advancing_expcmdsn),
		cmocka_unit_test(an_itt_in_use_is_rejected_task_in_progress),
		cmocka_unit_test(many_live_itts_are_told_apart),
		cmocka_unit_test(
			a_seventeenth_live_immediate_command_is_rejected),
		cmocka_unit_test(
			immediate_data_that_does_not_fit_is_a_protocol_error),
		cmocka_unit_test(
			a_scsi_command_in_a_discovery_session_is_rejected),
		cmocka_unit_test(
			an_extended_cdb_ahs_carries_the_cdb_and_bad_ahs_is_rejected),
		cmocka_unit_test(odd_attributes_and_luns_are_answered_by_scsi),
		cmocka_unit_test(tmfs_not_done_get_their_response_codes),
		cmocka_unit_test(logout_reasons_get_their_responses),
		cmocka_unit_test(snack_and_discovery_data_out_are_rejected),
		cmocka_unit_test(rsp_timeout_closes_on_an_initiators_wait),
		cmocka_unit_test(shutdown_closes_a_login_and_stops_listening),
		cmocka_unit_test(
			a_large_segment_leaves_no_large_receive_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
