/*
 * test_seam.c — the whole target (iSCSI, SCSI, mem backstore) driven
 * through the in-memory fake environment: login, WRITE and READ with no
 * socket, clock or thread.  This is the seam's proof before simnet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bytes.h"
#include "config/config.h"
#include "rig.h"

#define INI "iqn.2026-11.org.utarget:test-initiator"

/* The rig of this file: the default target, a connection that delivers
 * what the test sends in chunk-byte pieces (0: all at once). */
static struct rig *seam_rig(size_t chunk)
{
	struct rig *r = rig_new_default();

	r->chunk = chunk;
	rig_connect(r);
	return r;
}

/* Login with the burst sizes the data-path tests rely on: 1024 bytes of
 * unsolicited data, R2Ts of at most 2048 bytes, two at a time. */
static void login(struct rig *r)
{
	struct rig_text id = {0}, ops = {0};
	struct rig_login_rsp rsp;

	rig_text_identity(&id, INI, UT_DEFAULT_TARGET);
	rig_text_add(&id, "AuthMethod", "None");
	rig_login(r, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true, &id,
		  &rsp);
	assert_int_equal(rsp.status, 0);
	assert_true(rsp.transit);
	rig_login_rsp_free(&rsp);
	rig_text_add(&ops, "HeaderDigest", "None");
	rig_text_add(&ops, "DataDigest", "None");
	rig_text_add(&ops, "InitialR2T", "Yes");
	rig_text_add(&ops, "ImmediateData", "Yes");
	rig_text_add(&ops, "MaxRecvDataSegmentLength", "4096");
	rig_text_add(&ops, "FirstBurstLength", "1024");
	rig_text_add(&ops, "MaxBurstLength", "2048");
	rig_text_add(&ops, "MaxOutstandingR2T", "2");
	rig_login(r, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, true,
		  &ops, &rsp);
	assert_int_equal(rsp.status, 0);
	assert_int_equal(rsp.nsg, ISCSI_STAGE_FULL_FEATURE);
	assert_int_not_equal(rsp.tsih, 0); /* TSIH assigned */
	/* the final response opens the whole window (QueuedCommands) */
	assert_int_equal(rsp.exp_cmdsn, r->cmdsn);
	assert_int_equal(rsp.max_cmdsn - rsp.exp_cmdsn + 1, 128);
	rig_login_rsp_free(&rsp);
	rig_text_free(&id);
	rig_text_free(&ops);
}

static void scsi_cmd(struct rig *r, const uint8_t *cdb, uint8_t flags,
		     uint32_t edtl, const void *imm, uint32_t imm_len)
{
	rig_scsi_send(r, 0, cdb, flags, edtl, imm, imm_len);
}

static void tur_expect(struct rig *r, uint8_t status, uint8_t sense_key)
{
	uint8_t cdb[16] = {0}; /* TEST UNIT READY */
	struct iscsi_bhs rsp;
	uint8_t *d = NULL;

	scsi_cmd(r, cdb, 0, 0, NULL, 0);
	rig_expect_pdu(r, ISCSI_OP_SCSI_RSP, &rsp, &d);
	assert_int_equal(rsp.b3, status);
	if (status == SCSI_STATUS_CHECK_CONDITION) {
		assert_non_null(d);
		/* 2-byte SenseLength, then fixed or descriptor sense */
		uint8_t key = (d[2] & 0x7f) == 0x72 ? d[3] & 0xf : d[4] & 0xf;

		assert_int_equal(key, sense_key);
	}
	free(d);
}

static void write_read_roundtrip(struct rig *r)
{
	uint8_t data[8 * 512], back[8 * 512];
	uint8_t cdb[16] = {0};
	struct iscsi_bhs rsp;
	uint32_t got = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);

	/* WRITE(10) LBA 100, 8 blocks: 1024 immediate bytes, the rest
	 * solicited by R2Ts of at most MaxBurstLength=2048. */
	cdb[0] = 0x2a;
	cdb[5] = 100;
	cdb[8] = 8;
	scsi_cmd(r, cdb, ISCSI_CMD_F_WRITE, sizeof(data), data, 1024);
	uint32_t sent = 1024;

	while (sent < sizeof(data)) {
		rig_expect_pdu(r, ISCSI_OP_R2T, &rsp, NULL);
		assert_int_equal(rsp.itt, r->itt);
		assert_true(rsp.desired_length <= 2048);
		assert_int_equal(rsp.buffer_offset, sent);
		rig_answer_r2t(r, &rsp, data);
		sent += rsp.desired_length;
	}
	rig_expect_pdu(r, ISCSI_OP_SCSI_RSP, &rsp, NULL);
	assert_int_equal(rsp.b3, SCSI_STATUS_GOOD);

	/* READ(10) the same blocks back. */
	cdb[0] = 0x28;
	scsi_cmd(r, cdb, ISCSI_CMD_F_READ, sizeof(back), NULL, 0);
	for (;;) {
		uint8_t *d = NULL;

		rig_expect_pdu(r, ISCSI_OP_DATA_IN, &rsp, &d);
		assert_int_equal(rsp.w40, got);
		assert_true(rsp.data_len <= 4096); /* initiator's MRDSL */
		memcpy(back + got, d, rsp.data_len);
		got += rsp.data_len;
		free(d);
		if (rsp.flags & ISCSI_DATAIN_F_STATUS) {
			assert_int_equal(rsp.b3, SCSI_STATUS_GOOD);
			break;
		}
	}
	assert_int_equal(got, sizeof(back));
	assert_memory_equal(data, back, sizeof(data));
}

static void login_write_read_through_fake_env(void **state)
{
	struct rig *r = seam_rig(0);
	struct iscsi_server_stats st;

	(void)state;
	login(r);
	/* SAM-5 §5.14: the first command after power on sees the UA. */
	tur_expect(r, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
	tur_expect(r, SCSI_STATUS_GOOD, 0);
	write_read_roundtrip(r);
	rig_logout(r);
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.sessions, 0);
	assert_int_equal(st.tasks, 0);
	assert_int_equal(st.buffer_bytes, 0);
	rig_free(r);
}

static void one_byte_chunks_and_partial_sends_still_work(void **state)
{
	struct rig *r = seam_rig(1);

	(void)state;
	fake_conn_set_send_limit(r->c, 7);
	login(r);
	tur_expect(r, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
	write_read_roundtrip(r);
	rig_logout(r);
	rig_free(r);
}

static void login_without_initiator_name_is_missing_parameter(void **state)
{
	static const char text[] = "TargetName=" UT_DEFAULT_TARGET "\0";
	struct rig *r = seam_rig(0);
	struct iscsi_bhs h = {0}, rsp;

	(void)state;
	h.opcode = ISCSI_OP_LOGIN_REQ;
	h.immediate = true;
	h.flags = ISCSI_LOGIN_F_TRANSIT | (1 << 2) | 3;
	h.itt = 1;
	rig_send(r, &h, text, sizeof(text) - 1);
	rig_expect_pdu(r, ISCSI_OP_LOGIN_RSP, &rsp, NULL);
	assert_int_equal(rsp.w36 >> 16, ISCSI_LS_MISSING_PARAMETER);
	assert_true(fake_conn_closed(r->c));
	rig_free(r);
}

static void login_to_unknown_target_is_not_found(void **state)
{
	static const char text[] = "InitiatorName=" INI "\0"
				   "TargetName=iqn.2026-11.org.nowhere:x\0";
	struct rig *r = seam_rig(0);
	struct iscsi_bhs h = {0}, rsp;

	(void)state;
	h.opcode = ISCSI_OP_LOGIN_REQ;
	h.immediate = true;
	h.flags = ISCSI_LOGIN_F_TRANSIT | (1 << 2) | 3;
	h.itt = 1;
	rig_send(r, &h, text, sizeof(text) - 1);
	rig_expect_pdu(r, ISCSI_OP_LOGIN_RSP, &rsp, NULL);
	assert_int_equal(rsp.w36 >> 16, ISCSI_LS_NOT_FOUND);
	rig_free(r);
}

static void login_with_version_min_above_zero_is_unsupported(void **state)
{
	static const char text[] = "InitiatorName=" INI "\0";
	struct rig *r = seam_rig(0);
	struct iscsi_bhs h = {0}, rsp;

	(void)state;
	h.opcode = ISCSI_OP_LOGIN_REQ;
	h.immediate = true;
	h.flags = (1 << 2);
	h.b2 = 2;
	h.b3 = 1; /* VersionMin */
	h.itt = 1;
	rig_send(r, &h, text, sizeof(text) - 1);
	rig_expect_pdu(r, ISCSI_OP_LOGIN_RSP, &rsp, NULL);
	assert_int_equal(rsp.w36 >> 16, ISCSI_LS_UNSUPPORTED_VERSION);
	rig_free(r);
}

static void data_segment_over_login_limit_drops_connection(void **state)
{
	struct rig *r = seam_rig(0);
	uint8_t raw[ISCSI_BHS_LEN] = {0};
	struct iscsi_bhs h = {0};

	(void)state;
	h.opcode = ISCSI_OP_LOGIN_REQ;
	h.immediate = true;
	h.data_len = 8193; /* one past the 8192 bytes of login */
	iscsi_bhs_encode(&h, raw);
	fake_conn_push(r->c, raw, sizeof(raw), 0);
	assert_true(fake_conn_closed(r->c));
	rig_free(r);
}

static void login_timer_closes_idle_connection(void **state)
{
	struct rig *r = seam_rig(0);

	(void)state;
	fake_env_advance(r->env, 29ull * 1000000000ull);
	assert_false(fake_conn_closed(r->c));
	fake_env_advance(r->env, 2ull * 1000000000ull);
	assert_true(fake_conn_closed(r->c));
	rig_free(r);
}

static void cmdsn_beyond_window_is_ignored(void **state)
{
	struct rig *r = seam_rig(0);
	uint8_t cdb[16] = {0};

	(void)state;
	login(r);
	r->cmdsn += 100000; /* far outside [ExpCmdSN, MaxCmdSN] */
	scsi_cmd(r, cdb, 0, 0, NULL, 0);
	/* RFC 7143 §4.2.2.1: silently ignored, no response at all. */
	assert_int_equal(fake_conn_pending(r->c), 0);
	assert_false(fake_conn_closed(r->c));
	rig_free(r);
}

#define SEC 1000000000ull

/* The NOP-Out that answers a NOP-In ping: immediate, ITT 0xffffffff,
 * the ping's TTT echoed (RFC 7143 §11.18). */
static void answer_ping(struct rig *r, const struct iscsi_bhs *ping)
{
	struct iscsi_bhs h = {0};

	h.opcode = ISCSI_OP_NOP_OUT;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL;
	h.itt = ISCSI_RESERVED_TAG;
	h.w20 = ping->w20; /* echo the TTT */
	h.w24 = r->cmdsn;
	rig_send(r, &h, NULL, 0);
}

static void dead_initiator_is_dropped_after_interval_plus_timeout(void **state)
{
	struct rig *r = seam_rig(0);
	struct iscsi_bhs ping;

	(void)state;
	login(r); /* defaults: NopInInterval 30 s, NopInTimeout 30 s */
	fake_env_advance(r->env, 30 * SEC);
	rig_expect_pdu(r, ISCSI_OP_NOP_IN, &ping, NULL);
	assert_int_equal(ping.itt, ISCSI_RESERVED_TAG);
	assert_int_not_equal(ping.w20, ISCSI_RESERVED_TAG);
	fake_env_advance(r->env, 29 * SEC);
	assert_false(fake_conn_closed(r->c));
	fake_env_advance(r->env, 2 * SEC);
	assert_true(fake_conn_closed(r->c));
	rig_free(r);
}

static void initiator_answering_nop_in_stays_connected(void **state)
{
	struct rig *r = seam_rig(0);
	struct iscsi_bhs ping;

	(void)state;
	login(r);
	for (int round = 0; round < 3; round++) {
		fake_env_advance(r->env, 30 * SEC);
		rig_expect_pdu(r, ISCSI_OP_NOP_IN, &ping, NULL);
		answer_ping(r, &ping);
		/* RFC 7143 §11.18: a NOP-Out answering a NOP-In gets none */
		assert_int_equal(fake_conn_pending(r->c), 0);
		fake_env_advance(r->env, 20 * SEC);
		assert_false(fake_conn_closed(r->c));
	}
	rig_free(r);
}

/* An initiator that reads a 64 KiB READ's Data-In slowly (2 KiB every
 * 10 s, never silent for the 30 s idle limit) but steadily, until the
 * NOP-In ping queued behind that data arrives (*ping; it left during
 * the last step's sends, at this instant).  Returns the 10 s steps. */
static unsigned int read_slowly_until_ping(struct rig *r,
					   struct iscsi_bhs *ping,
					   unsigned int *data_ins,
					   bool *got_rsp)
{
	uint8_t cdb[16] = {0x28, 0, 0, 0, 0, 0, 0, 0, 128}; /* READ(10) */
	unsigned int steps = 0;
	bool got_ping = false;
	struct iscsi_bhs in;
	uint8_t *d;

	login(r);
	tur_expect(r, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
	fake_conn_set_send_limit(r->c, 1u << 20);
	fake_conn_set_send_budget(r->c, 0);
	scsi_cmd(r, cdb, ISCSI_CMD_F_READ, 128 * 512, NULL, 0);
	fake_env_advance(r->env, 0);
	*data_ins = 0;
	*got_rsp = false;
	while (!got_ping && steps++ < 100) {
		fake_conn_set_send_budget(r->c, 2048);
		while (fake_conn_pop_pdu(r->c, &in, &d) == 0) {
			free(d);
			if (in.opcode == ISCSI_OP_DATA_IN) {
				(*data_ins)++;
				/* the status comes with the last Data-In */
				*got_rsp |= in.flags & ISCSI_DATAIN_F_STATUS;
			} else if (in.opcode == ISCSI_OP_NOP_IN) {
				got_ping = true;
				*ping = in;
			}
		}
		assert_false(fake_conn_closed(r->c));
		if (!got_ping)
			fake_env_advance(r->env, 10 * SEC);
	}
	assert_true(got_ping);
	return steps;
}

/* The NOP-In ping queued behind slowly read data cannot be answered
 * before it has left, so its NopInTimeout runs from then, not from its
 * queueing (it used to drop the connection at interval + timeout, 60 s,
 * as a gone initiator).  Answered, it keeps the connection. */
static void ping_behind_slowly_read_data_is_timed_from_its_leaving(void **state)
{
	struct rig *r = seam_rig(0);
	struct iscsi_bhs ping = {0};
	unsigned int data_ins, steps;
	bool got_rsp;

	(void)state;
	steps = read_slowly_until_ping(r, &ping, &data_ins, &got_rsp);
	/* 64 KiB in 2 KiB steps: more than 300 s, the ping left last */
	assert_true(got_rsp);
	assert_int_equal(data_ins, 32); /* 2 KiB each (login()) */
	assert_true(steps > 30);
	fake_env_advance(r->env, 10 * SEC);
	assert_false(fake_conn_closed(r->c));
	fake_conn_set_send_budget(r->c, 1u << 20);
	answer_ping(r, &ping);
	fake_env_advance(r->env, 25 * SEC);
	assert_false(fake_conn_closed(r->c));
	rig_free(r);
}

/* ... and one the initiator never answers once it has left still
 * drops the connection NopInTimeout after its leaving. */
static void ping_that_left_unanswered_drops_the_connection(void **state)
{
	struct rig *r = seam_rig(0);
	struct iscsi_bhs ping;
	unsigned int data_ins;
	bool got_rsp;

	(void)state;
	(void)read_slowly_until_ping(r, &ping, &data_ins, &got_rsp);
	fake_env_advance(r->env, 29 * SEC);
	assert_false(fake_conn_closed(r->c));
	fake_env_advance(r->env, 2 * SEC);
	assert_true(fake_conn_closed(r->c));
	rig_free(r);
}

static void half_received_pdu_is_dropped_after_idle_limit(void **state)
{
	struct rig *r = seam_rig(0);
	uint8_t half[20] = {ISCSI_OP_NOP_OUT | ISCSI_FLAG_IMMEDIATE, 0x80};

	(void)state;
	login(r);
	fake_conn_push(r->c, half, sizeof(half), 0);
	fake_env_advance(r->env, 29 * SEC);
	assert_false(fake_conn_closed(r->c));
	fake_env_advance(r->env, 2 * SEC);
	assert_true(fake_conn_closed(r->c));
	rig_free(r);
}

static void nop_out_ping_is_echoed_with_its_data(void **state)
{
	static const char ping_data[] = "are you there?";
	struct rig *r = seam_rig(0);
	struct iscsi_bhs rsp;
	uint8_t *d = NULL;

	(void)state;
	login(r);
	rig_nop_out(r, ping_data, sizeof(ping_data));
	rig_expect_pdu(r, ISCSI_OP_NOP_IN, &rsp, &d);
	assert_int_equal(rsp.itt, r->itt);
	assert_int_equal(rsp.data_len, sizeof(ping_data));
	assert_memory_equal(d, ping_data, sizeof(ping_data));
	free(d);
	rig_free(r);
}

static void tmf(struct rig *r, uint8_t fn, uint32_t rtt, uint32_t refcmdsn,
		uint8_t expect_rsp)
{
	struct iscsi_bhs rsp;

	rig_tmf_send(r, fn, rtt, refcmdsn);
	rig_expect_pdu(r, ISCSI_OP_TMF_RSP, &rsp, NULL);
	assert_int_equal(rsp.itt, r->itt);
	assert_int_equal(rsp.b2, expect_rsp);
}

/* Start a WRITE(10) of 8 blocks with 1024 immediate bytes: the target
 * then waits for Data-Out (its first R2T is consumed here). */
static uint32_t start_write_waiting_for_data(struct rig *r)
{
	uint8_t cdb[16] = {0x2a, 0, 0, 0, 0, 10, 0, 0, 8};
	uint8_t data[1024] = {0};
	struct iscsi_bhs r2t;

	scsi_cmd(r, cdb, ISCSI_CMD_F_WRITE, 8 * 512, data, sizeof(data));
	/* MaxOutstandingR2T=2: both R2Ts (2048 + 1024 bytes) come at once */
	rig_expect_pdu(r, ISCSI_OP_R2T, &r2t, NULL);
	assert_int_equal(r2t.w40, 1024);
	rig_expect_pdu(r, ISCSI_OP_R2T, &r2t, NULL);
	assert_int_equal(r2t.w40, 3072);
	assert_int_equal(fake_conn_pending(r->c), 0);
	return r->itt;
}

static void abort_task_waiting_for_data_out_ends_it(void **state)
{
	struct rig *r = seam_rig(0);
	struct iscsi_server_stats st;
	uint32_t itt;

	(void)state;
	login(r);
	tur_expect(r, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
	itt = start_write_waiting_for_data(r);
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.tasks, 1);
	tmf(r, ISCSI_TMF_ABORT_TASK, itt, r->cmdsn - 1, ISCSI_TMF_RSP_COMPLETE);
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.tasks, 0);
	assert_int_equal(st.buffer_bytes, 0);
	/* no SCSI Response for the aborted task */
	assert_int_equal(fake_conn_pending(r->c), 0);
	rig_free(r);
}

static void abort_of_finished_task_is_task_does_not_exist(void **state)
{
	struct rig *r = seam_rig(0);

	(void)state;
	login(r);
	tur_expect(r, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
	/* RFC 7143 §11.5.1: RefCmdSN outside the window, task unknown */
	tmf(r, ISCSI_TMF_ABORT_TASK, r->itt, r->cmdsn - 1,
	    ISCSI_TMF_RSP_NO_TASK);
	rig_free(r);
}

/* RFC 7143 §11.5.1: an ABORT TASK whose task the target never received,
 * but whose RefCmdSN is inside the window and before the TMF's own
 * CmdSN, is "Function complete", and the target "must consider the
 * CmdSN as received": the gap it leaves is filled, the command after it
 * runs now, and the aborted command, should it come after all, falls
 * below the window and never runs. */
static void abort_task_of_a_cmdsn_never_received_fills_its_gap(void **state)
{
	struct rig *r = seam_rig(0);
	uint8_t cdb[16] = {0}; /* TEST UNIT READY */
	uint32_t gap, gap_itt, saved;

	(void)state;
	login(r);
	tur_expect(r, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
	gap = r->cmdsn++;   /* a command lost on the way: never sent */
	gap_itt = ++r->itt; /* (its tag) */
	scsi_cmd(r, cdb, 0, 0, NULL, 0); /* the one after it waits */
	assert_int_equal(fake_conn_pending(r->c), 0);
	rig_tmf_send(r, ISCSI_TMF_ABORT_TASK, gap_itt, gap);
	{
		struct iscsi_bhs rsp;
		int got_tmf = 0, got_tur = 0;

		/* the two answers, in either order */
		for (int i = 0; i < 2; i++) {
			uint8_t *d = NULL;

			fake_env_advance(r->env, 0);
			assert_int_equal(fake_conn_pop_pdu(r->c, &rsp, &d), 0);
			free(d);
			if (rsp.opcode == ISCSI_OP_TMF_RSP) {
				got_tmf++;
				assert_int_equal(rsp.b2,
						 ISCSI_TMF_RSP_COMPLETE);
			} else {
				got_tur++;
				assert_int_equal(rsp.opcode, ISCSI_OP_SCSI_RSP);
				assert_int_equal(rsp.b3, SCSI_STATUS_GOOD);
			}
		}
		assert_int_equal(got_tmf, 1);
		assert_int_equal(got_tur, 1);
		/* ExpCmdSN is past the gap and the command after it */
		assert_int_equal(rsp.exp_cmdsn, gap + 2);
	}
	/* the aborted command arrives after all: below the window */
	saved = r->cmdsn;
	r->cmdsn = gap;
	scsi_cmd(r, cdb, 0, 0, NULL, 0);
	r->cmdsn = saved;
	assert_int_equal(fake_conn_pending(r->c), 0);
	tur_expect(r, SCSI_STATUS_GOOD, 0);
	rig_free(r);
}

/* The requests other than SCSI commands that take a CmdSN when sent
 * non-immediate (RFC 7143 §3.2.2.1). */
enum req_kind { REQ_NOP, REQ_TEXT, REQ_TMF, REQ_LOGOUT, REQ_KINDS };

/* A non-immediate request of kind k carrying CmdSN cmdsn: a NOP-Out ping,
 * SendTargets=All, an ABORT TASK of a task that does not exist (its
 * RefCmdSN far below the window: "task does not exist"), a Logout of a
 * connection that does not exist (CID not found: the connection stays). */
static void req_send(struct rig *r, enum req_kind k, uint32_t cmdsn)
{
	static const char st[] = "SendTargets=All";
	struct iscsi_bhs h = {0};

	h.itt = ++r->itt;
	h.cmdsn = cmdsn;
	switch (k) {
	case REQ_NOP:
		h.opcode = ISCSI_OP_NOP_OUT;
		h.flags = ISCSI_FLAG_FINAL;
		h.ttt = ISCSI_RESERVED_TAG;
		rig_send(r, &h, NULL, 0);
		break;
	case REQ_TEXT:
		h.opcode = ISCSI_OP_TEXT_REQ;
		h.flags = ISCSI_FLAG_FINAL;
		h.ttt = ISCSI_RESERVED_TAG;
		rig_send(r, &h, st, sizeof(st));
		break;
	case REQ_TMF:
		h.opcode = ISCSI_OP_TMF_REQ;
		h.flags = ISCSI_FLAG_FINAL | ISCSI_TMF_ABORT_TASK;
		h.lun = iscsi_lun_encode(0);
		h.ref_task_tag = 0x7777;
		h.ref_cmdsn = cmdsn - 1000;
		rig_send(r, &h, NULL, 0);
		break;
	default:
		h.opcode = ISCSI_OP_LOGOUT_REQ;
		h.flags = ISCSI_FLAG_FINAL | ISCSI_LOGOUT_CLOSE_CONNECTION;
		h.w20 = (uint32_t)0x7777 << 16; /* CID */
		rig_send(r, &h, NULL, 0);
		break;
	}
}

/* The answer to req_send(r, k, ...); returns its ExpCmdSN. */
static uint32_t req_expect(struct rig *r, enum req_kind k)
{
	static const uint8_t op[REQ_KINDS] = {ISCSI_OP_NOP_IN,
					      ISCSI_OP_TEXT_RSP,
					      ISCSI_OP_TMF_RSP,
					      ISCSI_OP_LOGOUT_RSP};
	struct iscsi_bhs rsp;
	uint8_t *d = NULL;

	rig_expect_pdu(r, op[k], &rsp, &d);
	free(d);
	assert_int_equal(rsp.itt, r->itt);
	if (k == REQ_TMF)
		assert_int_equal(rsp.b2, ISCSI_TMF_RSP_NO_TASK);
	if (k == REQ_LOGOUT)
		assert_int_equal(rsp.b2, ISCSI_LOGOUT_RSP_CID_NOT_FOUND);
	return rsp.exp_cmdsn;
}

/* RFC 7143 §3.2.2.1, §4.2.2.1: a non-immediate NOP-Out, Text, TMF or
 * Logout whose CmdSN is ahead of ExpCmdSN (a command below it lost on the
 * way) is acted on, and its CmdSN is received: once the gap fills,
 * ExpCmdSN passes it and the commands after it run (before, ExpCmdSN
 * stopped at it and every later command waited until RspTimeout). */
static void request_ahead_of_a_cmdsn_gap_takes_its_cmdsn(void **state)
{
	uint8_t cdb[16] = {0}; /* TEST UNIT READY */

	(void)state;
	for (int k = 0; k < REQ_KINDS; k++) {
		struct rig *r = seam_rig(0);
		struct iscsi_bhs rsp;
		uint32_t gap, saved;

		login(r);
		tur_expect(r, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
		gap = r->cmdsn++; /* a command lost on the way */
		req_send(r, (enum req_kind)k, r->cmdsn++);
		/* acted on at once; the gap is still open */
		assert_int_equal(req_expect(r, (enum req_kind)k), gap);
		scsi_cmd(r, cdb, 0, 0, NULL, 0); /* waits for its turn */
		assert_int_equal(fake_conn_pending(r->c), 0);
		/* the lost command comes after all */
		saved = r->cmdsn;
		r->cmdsn = gap;
		scsi_cmd(r, cdb, 0, 0, NULL, 0);
		r->cmdsn = saved;
		rig_expect_pdu(r, ISCSI_OP_SCSI_RSP, &rsp, NULL);
		assert_int_equal(rsp.itt, r->itt);
		assert_int_equal(rsp.b3, SCSI_STATUS_GOOD);
		/* ... and the one after the request runs too */
		rig_expect_pdu(r, ISCSI_OP_SCSI_RSP, &rsp, NULL);
		assert_int_equal(rsp.itt, r->itt - 1);
		assert_int_equal(rsp.b3, SCSI_STATUS_GOOD);
		assert_int_equal(rsp.exp_cmdsn, r->cmdsn);
		/* later commands run at once */
		tur_expect(r, SCSI_STATUS_GOOD, 0);
		rig_free(r);
	}
}

/* RFC 7143 §4.2.2.1: "the target MUST silently ignore any non-immediate
 * command outside of this range or non-immediate duplicates within the
 * range": a NOP-Out, Text, TMF or Logout with a CmdSN taken already
 * (below ExpCmdSN, or ahead of it and received), or one past MaxCmdSN,
 * gets no answer and moves nothing. */
static void request_outside_the_window_or_duplicate_is_ignored(void **state)
{
	(void)state;
	for (int k = 0; k < REQ_KINDS; k++) {
		struct rig *r = seam_rig(0);
		uint8_t cdb[16] = {0}; /* TEST UNIT READY */
		struct iscsi_bhs rsp;
		uint32_t gap, ahead, max;

		login(r);
		tur_expect(r, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
		scsi_cmd(r, cdb, 0, 0, NULL, 0);
		rig_expect_pdu(r, ISCSI_OP_SCSI_RSP, &rsp, NULL);
		assert_int_equal(rsp.exp_cmdsn, r->cmdsn);
		max = rsp.max_cmdsn;
		/* below ExpCmdSN (the TUR's CmdSN) */
		req_send(r, (enum req_kind)k, r->cmdsn - 1);
		fake_env_advance(r->env, 0);
		assert_int_equal(fake_conn_pending(r->c), 0);
		/* one past MaxCmdSN */
		req_send(r, (enum req_kind)k, max + 1);
		fake_env_advance(r->env, 0);
		assert_int_equal(fake_conn_pending(r->c), 0);
		/* at MaxCmdSN, with a gap below: answered */
		req_send(r, (enum req_kind)k, max);
		assert_int_equal(req_expect(r, (enum req_kind)k), r->cmdsn);
		/* ahead of a gap, received, then again: a duplicate */
		gap = r->cmdsn;
		ahead = r->cmdsn + 1;
		req_send(r, (enum req_kind)k, ahead);
		assert_int_equal(req_expect(r, (enum req_kind)k), gap);
		req_send(r, (enum req_kind)k, ahead);
		fake_env_advance(r->env, 0);
		assert_int_equal(fake_conn_pending(r->c), 0);
		/* the gap fills: ExpCmdSN passes the request's CmdSN */
		tur_expect(r, SCSI_STATUS_GOOD, 0);
		r->cmdsn++; /* ahead's */
		tur_expect(r, SCSI_STATUS_GOOD, 0);
		rig_free(r);
	}
}

/* Two LUNs of 1 MiB on the default target (the login above works). */
static const char conf_two_luns[] =
	"HANDLER vdisk_mem {\n"
	" DEVICE d0 { size 1M }\n DEVICE d1 { size 1M }\n"
	"}\n"
	"TARGET_DRIVER iscsi {\n"
	" TARGET " UT_DEFAULT_TARGET " {\n"
	"  LUN 0 d0\n  LUN 1 d1\n"
	" }\n"
	"}\n";

/* An immediate TMF of function fn on lun, with the next CmdSN; returns
 * the ExpCmdSN of its FUNCTION COMPLETE. */
static uint32_t tmf_lun(struct rig *r, uint8_t fn, uint64_t lun)
{
	struct iscsi_bhs rsp;

	rig_tmf_send_lun(r, fn, lun, ISCSI_RESERVED_TAG, 0);
	rig_expect_pdu(r, ISCSI_OP_TMF_RSP, &rsp, NULL);
	assert_int_equal(rsp.itt, r->itt);
	assert_int_equal(rsp.b2, ISCSI_TMF_RSP_COMPLETE);
	return rsp.exp_cmdsn;
}

/* WRITE(10) of 2 blocks at LBA 10 of lun, all of it immediate data of
 * byte fill, sent with CmdSN cmdsn (a command that was in a gap). */
static void write_late(struct rig *r, uint64_t lun, uint32_t cmdsn,
		       uint8_t fill)
{
	uint8_t cdb[16] = {0x2a, 0, 0, 0, 0, 10, 0, 0, 2};
	uint8_t data[1024];
	uint32_t saved = r->cmdsn;

	memset(data, fill, sizeof(data));
	r->cmdsn = cmdsn;
	rig_scsi_send(r, lun, cdb, ISCSI_CMD_F_WRITE, sizeof(data), data,
		      sizeof(data));
	r->cmdsn = saved;
}

/* READ(10) of those 2 blocks: are they all fill? */
static bool blocks_hold(struct rig *r, uint64_t lun, uint8_t fill)
{
	uint8_t cdb[16] = {0x28, 0, 0, 0, 0, 10, 0, 0, 2};
	struct rig_scsi out;

	rig_scsi(r, lun, cdb, 1024, &out);
	assert_int_equal(out.status, SCSI_STATUS_GOOD);
	assert_int_equal(out.data_len, 1024);
	for (int i = 0; i < 1024; i++)
		if (out.data[i] != fill)
			return false;
	return true;
}

/* RFC 7143 §4.2.2.1: "the target MUST silently ignore ... non-immediate
 * duplicates within the range" -- SCSI commands too.  A WRITE waits for
 * its CmdSN turn behind a gap; a second WRITE with the same CmdSN comes
 * (another ITT, other data), then the same one again (its own ITT: a
 * retry).  Neither is answered (no Reject: "Task in progress" would be
 * an answer), neither holds a slot of the window, and when the gap
 * fills the original runs once: its data is on the medium.  (Before,
 * the duplicate with another ITT was queued beside the original and
 * kept a slot of the window for the session's life, and the retry was
 * Rejected.) */
static void scsi_command_duplicate_of_one_waiting_is_ignored(void **state)
{
	struct rig *r = seam_rig(0);
	uint8_t tur[16] = {0};
	struct iscsi_bhs rsp;
	uint32_t gap, w, saved, itt0;
	int got_tur = 0, got_w = 0;

	(void)state;
	login(r);
	tur_expect(r, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
	gap = r->cmdsn++; /* a command lost on the way */
	w = r->cmdsn++;
	itt0 = r->itt;
	write_late(r, 0, w, 0xa1); /* waits for its turn */
	write_late(r, 0, w, 0xb2); /* a duplicate, another ITT */
	r->itt = itt0;
	write_late(r, 0, w, 0xc3); /* the same ITT again */
	r->itt = itt0 + 2;
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pending(r->c), 0);
	/* the gap fills: the TEST UNIT READY and the write, once */
	saved = r->cmdsn;
	r->cmdsn = gap;
	scsi_cmd(r, tur, 0, 0, NULL, 0);
	r->cmdsn = saved;
	for (int i = 0; i < 2; i++) {
		rig_expect_pdu(r, ISCSI_OP_SCSI_RSP, &rsp, NULL);
		assert_int_equal(rsp.b3, SCSI_STATUS_GOOD);
		if (rsp.itt == r->itt)
			got_tur++;
		else
			got_w++;
	}
	assert_int_equal(got_tur, 1);
	assert_int_equal(got_w, 1);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pending(r->c), 0);
	assert_int_equal(rsp.exp_cmdsn, w + 1);
	assert_true(blocks_hold(r, 0, 0xa1));
	/* nothing waits: the whole window is free again */
	rig_nop_out(r, NULL, 0);
	rig_expect_pdu(r, ISCSI_OP_NOP_IN, &rsp, NULL);
	assert_int_equal(rsp.max_cmdsn - rsp.exp_cmdsn + 1, 128);
	rig_free(r);
}

/* RFC 7143 §11.5.1: "Task management requests must act on all the
 * commands from the same session having a CmdSN lower than the task
 * management CmdSN".  An ABORT TASK SET answered while a CmdSN below it
 * was missing (a gap) aborted that command too: when a command of its
 * LUN comes with that CmdSN, it is considered received -- never run,
 * never answered, ExpCmdSN passes it -- while one of another LUN in the
 * gap runs as any command.  (Before: the late write ran, after the
 * initiator was told it was aborted.) */
static void
task_set_tmf_aborts_the_commands_of_its_lun_in_a_gap_below_it(void **state)
{
	struct rig *r = rig_new(conf_two_luns);
	uint8_t tur[16] = {0};
	uint32_t gap0, gap1;
	struct rig_scsi out;
	struct iscsi_bhs rsp;

	(void)state;
	rig_connect(r);
	login(r);
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, SCSI_STATUS_GOOD);
	rig_tur(r, 1, &out);
	assert_int_equal(out.status, SCSI_STATUS_GOOD);
	gap0 = r->cmdsn++; /* a write of LUN 0, not here yet */
	gap1 = r->cmdsn++; /* a write of LUN 1, not here yet */
	rig_scsi_send(r, 0, tur, 0, 0, NULL, 0); /* waits for the gap */
	assert_int_equal(fake_conn_pending(r->c), 0);
	/* the gap stays */
	assert_int_equal(tmf_lun(r, ISCSI_TMF_ABORT_TASK_SET, 0), gap0);
	/* the write of LUN 0 comes: aborted already, nothing answers */
	write_late(r, 0, gap0, 0xa5);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pending(r->c), 0);
	/* the write of LUN 1 comes: outside the TMF's scope, it runs (and
	 * then ExpCmdSN passes the TEST UNIT READY the TMF aborted: the
	 * reads below run) */
	write_late(r, 1, gap1, 0x5a);
	rig_expect_pdu(r, ISCSI_OP_SCSI_RSP, &rsp, NULL);
	assert_int_equal(rsp.b3, SCSI_STATUS_GOOD);
	assert_int_equal(rsp.exp_cmdsn, gap1 + 1);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pending(r->c), 0);
	assert_true(blocks_hold(r, 0, 0));
	assert_true(blocks_hold(r, 1, 0x5a));
	rig_free(r);
}

/* The same with LOGICAL UNIT RESET and CLEAR TASK SET: the late command
 * of their LUN is not run; one of the other LUN, with a lower CmdSN
 * still, is. */
static void lu_reset_and_clear_task_set_abort_their_lun_in_a_gap(void **state)
{
	static const uint8_t fns[] = {ISCSI_TMF_LOGICAL_UNIT_RESET,
				      ISCSI_TMF_CLEAR_TASK_SET};

	(void)state;
	for (size_t i = 0; i < sizeof(fns); i++) {
		struct rig *r = rig_new(conf_two_luns);
		uint32_t gap1, gap0;
		struct rig_scsi out;
		struct iscsi_bhs rsp;

		rig_connect(r);
		login(r);
		rig_tur(r, 0, &out);
		rig_tur(r, 1, &out);
		gap1 = r->cmdsn++;
		gap0 = r->cmdsn++;
		assert_int_equal(tmf_lun(r, fns[i], 0), gap1);
		write_late(r, 1, gap1, 0x11);
		rig_expect_pdu(r, ISCSI_OP_SCSI_RSP, &rsp, NULL);
		assert_int_equal(rsp.b3, SCSI_STATUS_GOOD);
		write_late(r, 0, gap0, 0x22);
		fake_env_advance(r->env, 0);
		assert_int_equal(fake_conn_pending(r->c), 0);
		/* after a reset LUN 0 may have a unit attention for us;
		 * either way its blocks were not written */
		rig_tur(r, 0, &out);
		assert_int_equal(out.status, SCSI_STATUS_GOOD);
		assert_true(blocks_hold(r, 0, 0));
		assert_true(blocks_hold(r, 1, 0x11));
		rig_free(r);
	}
}

/* A TARGET WARM RESET aborts every command below its CmdSN: the CmdSNs
 * of the gap count as received at once (as an ABORT TASK's RefCmdSN),
 * so that the commands after the TMF need not wait for them, and a
 * command of the gap that comes after all is ignored. */
static void target_reset_considers_the_gap_below_it_received(void **state)
{
	struct rig *r = rig_new(conf_two_luns);
	uint8_t tur[16] = {0};
	uint32_t gap0, gap1;
	struct rig_scsi out;

	(void)state;
	rig_connect(r);
	login(r);
	rig_tur(r, 0, &out);
	rig_tur(r, 1, &out);
	gap0 = r->cmdsn++;
	rig_scsi_send(r, 1, tur, 0, 0, NULL, 0); /* waits, then aborted */
	gap1 = r->cmdsn++;
	/* ExpCmdSN is past the gap */
	assert_int_equal(tmf_lun(r, ISCSI_TMF_TARGET_WARM_RESET, 0), r->cmdsn);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pending(r->c), 0);
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, SCSI_STATUS_GOOD);
	write_late(r, 0, gap0, 0x33);
	write_late(r, 1, gap1, 0x44);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_conn_pending(r->c), 0);
	assert_true(blocks_hold(r, 0, 0));
	rig_tur(r, 1, &out);
	assert_int_equal(out.status, SCSI_STATUS_GOOD);
	assert_true(blocks_hold(r, 1, 0));
	rig_free(r);
}

/* SAM-5 §6.3.3 and §5.6 with TAS=1 (our control mode page): a LOGICAL
 * UNIT RESET from b ends a's write, which waits for the Data-Out its R2Ts
 * asked for, with TASK ABORTED status once that data is in (a does not
 * know of the reset and sends it); then a sees the reset unit attention. */
static void lun_reset_ends_other_sessions_tasks_with_task_aborted(void **state)
{
	struct rig *a = seam_rig(0), b;
	struct iscsi_server_stats st;
	uint8_t cdb[16] = {0x2a, 0, 0, 0, 0, 10, 0, 0, 8};
	uint8_t imm[1024] = {0};
	struct iscsi_bhs r2t[2], rsp;

	(void)state;
	login(a);
	tur_expect(a, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
	scsi_cmd(a, cdb, ISCSI_CMD_F_WRITE, 8 * 512, imm, sizeof(imm));
	rig_expect_pdu(a, ISCSI_OP_R2T, &r2t[0], NULL);
	rig_expect_pdu(a, ISCSI_OP_R2T, &r2t[1], NULL);
	/* a second session (another ISID) on the same server */
	b = *a;
	rig_connect(&b);
	login(&b);
	tmf(&b, ISCSI_TMF_LOGICAL_UNIT_RESET, ISCSI_RESERVED_TAG, 0,
	    ISCSI_TMF_RSP_COMPLETE);
	/* nothing yet: the solicited data is still on its way */
	assert_int_equal(fake_conn_pending(a->c), 0);
	iscsi_server_get_stats(a->srv, &st);
	assert_int_equal(st.tasks, 1);
	rig_answer_r2t(a, &r2t[0], NULL);
	assert_int_equal(fake_conn_pending(a->c), 0);
	rig_answer_r2t(a, &r2t[1], NULL);
	rig_expect_pdu(a, ISCSI_OP_SCSI_RSP, &rsp, NULL);
	assert_int_equal(rsp.itt, a->itt);
	assert_int_equal(rsp.b3, SCSI_STATUS_TASK_ABORTED);
	iscsi_server_get_stats(a->srv, &st);
	assert_int_equal(st.tasks, 0);
	assert_int_equal(st.buffer_bytes, 0);
	/* SAM-5 §6.3.3: the other nexus sees a reset unit attention */
	tur_expect(a, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
	tur_expect(a, SCSI_STATUS_GOOD, 0);
	rig_free(a);
}

/* Two targets map one LU. */
#define TWO_TARGET "iqn.2026-12.org.utarget:two"
static const char conf_two_targets[] = "HANDLER vdisk_mem {\n"
				       " DEVICE d0 { size 1M }\n"
				       "}\n"
				       "TARGET_DRIVER iscsi {\n"
				       " TARGET " UT_DEFAULT_TARGET " {\n"
				       "  LUN 0 d0\n"
				       " }\n"
				       " TARGET " TWO_TARGET " {\n"
				       "  LUN 0 d0\n"
				       " }\n"
				       "}\n";

/* RFC 7143 §11.5.1: a TARGET WARM RESET cancels "all pending operations
 * on all Logical Units known by the issuing initiator" -- of every nexus
 * on them, as the SCSI layer resets each of those LUs for all
 * (scsi_tmf_target_reset).  A command of a session of the other target
 * mapping the LU, received and waiting for its CmdSN turn behind a gap,
 * is one of them: it ends TASK ABORTED (TAS=1, SAM-5 §5.6) once its turn
 * comes, as at a LOGICAL UNIT RESET.  (Before, the reset swept the
 * waiting tasks of its own target's sessions only, and the read ran.) */
static void target_reset_ends_commands_waiting_in_another_target(void **state)
{
	struct rig *a = rig_new(conf_two_targets), b;
	uint8_t rd[16] = {0x28, 0, 0, 0, 0, 10, 0, 0, 2};
	uint8_t tur[16] = {0};
	struct rig_scsi out;
	struct iscsi_bhs rsp;
	uint32_t gap, saved, rd_itt;
	bool got_rd = false;

	(void)state;
	assert_int_equal(
		rig_login_plain(a, "iqn.2026-12.org.test:a", TWO_TARGET), 0);
	rig_tur(a, 0, &out);
	gap = a->cmdsn++; /* a command lost on the way */
	rig_scsi_send(a, 0, rd, ISCSI_CMD_F_READ, 1024, NULL, 0); /* waits */
	rd_itt = a->itt;
	fake_env_advance(a->env, 0);
	assert_int_equal(fake_conn_pending(a->c), 0);
	/* another initiator resets the target through the first target */
	b = *a;
	assert_int_equal(rig_login_plain(&b, "iqn.2026-12.org.test:b",
					 UT_DEFAULT_TARGET),
			 0);
	rig_tur(&b, 0, &out);
	tmf(&b, ISCSI_TMF_TARGET_WARM_RESET, ISCSI_RESERVED_TAG, 0,
	    ISCSI_TMF_RSP_COMPLETE);
	/* the gap fills: the command that waited ends TASK ABORTED */
	saved = a->cmdsn;
	a->cmdsn = gap;
	rig_scsi_send(a, 0, tur, 0, 0, NULL, 0);
	a->cmdsn = saved;
	for (int i = 0; i < 2; i++) {
		uint8_t *d = NULL;

		fake_env_advance(a->env, 0);
		assert_int_equal(fake_conn_pop_pdu(a->c, &rsp, &d), 0);
		free(d);
		/* no Data-In: the read never ran */
		assert_int_equal(rsp.opcode, ISCSI_OP_SCSI_RSP);
		if (rsp.itt == rd_itt) {
			got_rd = true;
			assert_int_equal(rsp.b3, SCSI_STATUS_TASK_ABORTED);
		}
	}
	assert_true(got_rd);
	rig_free(a);
}

static void logout_waits_for_earlier_commands(void **state)
{
	struct rig *r = seam_rig(0);
	struct iscsi_bhs h = {0}, rsp;

	(void)state;
	login(r);
	tur_expect(r, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
	start_write_waiting_for_data(r);
	h.opcode = ISCSI_OP_LOGOUT_REQ;
	h.flags = ISCSI_FLAG_FINAL | ISCSI_LOGOUT_CLOSE_SESSION;
	h.itt = ++r->itt;
	h.w24 = r->cmdsn++;
	rig_send(r, &h, NULL, 0);
	/* the write still waits for data: no Logout Response yet */
	assert_int_equal(fake_conn_pending(r->c), 0);
	tmf(r, ISCSI_TMF_ABORT_TASK, r->itt - 1, r->cmdsn - 2,
	    ISCSI_TMF_RSP_COMPLETE);
	rig_expect_pdu(r, ISCSI_OP_LOGOUT_RSP, &rsp, NULL);
	assert_int_equal(rsp.b2, ISCSI_LOGOUT_RSP_OK);
	rig_free(r);
}

static void shutdown_done_cb(void *arg)
{
	*(int *)arg += 1;
}

static void shutdown_asks_initiators_to_log_out_then_closes(void **state)
{
	struct rig *r = seam_rig(0);
	struct iscsi_bhs msg, h = {0}, rsp;
	int done = 0;

	(void)state;
	login(r);
	iscsi_server_shutdown(r->srv, 3000, shutdown_done_cb, &done);
	fake_env_advance(r->env, 0); /* deferred flushes run */
	/* RFC 7143 §11.9.1: AsyncEvent 1 asks for a logout, with the time
	 * to wait and to retain in Parameter2/Parameter3 */
	rig_expect_pdu(r, ISCSI_OP_ASYNC_MSG, &msg, NULL);
	assert_int_equal(msg.w36 >> 24, ISCSI_ASYNC_LOGOUT_REQUEST);
	assert_int_equal(msg.w36 & 0xffff, 0); /* Parameter1 reserved */
	assert_int_equal(msg.w40 >> 16, 0);    /* Parameter2 reserved */
	assert_int_equal(msg.w40 & 0xffff, 3); /* Parameter3: 3 s */
	assert_int_equal(done, 0);
	h.opcode = ISCSI_OP_LOGOUT_REQ;
	h.immediate = true;
	h.flags = ISCSI_FLAG_FINAL | ISCSI_LOGOUT_CLOSE_SESSION;
	h.itt = ++r->itt;
	h.w24 = r->cmdsn;
	rig_send(r, &h, NULL, 0);
	rig_expect_pdu(r, ISCSI_OP_LOGOUT_RSP, &rsp, NULL);
	assert_true(fake_conn_closed(r->c));
	assert_int_equal(done, 1);
	rig_free(r);
}

static void shutdown_closes_silent_initiators_after_grace(void **state)
{
	struct rig *r = seam_rig(0);
	struct iscsi_bhs msg;
	int done = 0;

	(void)state;
	login(r);
	iscsi_server_shutdown(r->srv, 3000, shutdown_done_cb, &done);
	fake_env_advance(r->env, 0); /* deferred flushes run */
	rig_expect_pdu(r, ISCSI_OP_ASYNC_MSG, &msg, NULL);
	fake_env_advance(r->env, 2900ull * 1000000ull);
	assert_false(fake_conn_closed(r->c));
	fake_env_advance(r->env, 200ull * 1000000ull);
	assert_true(fake_conn_closed(r->c));
	assert_int_equal(done, 1);
	rig_free(r);
}

static void peer_that_never_reads_is_dropped_at_the_queue_limit(void **state)
{
	struct rig *r = seam_rig(0);
	struct iscsi_bhs h = {0};
	int sent = 0;

	(void)state;
	login(r);
	fake_conn_set_blocked(r->c, 1);
	/* Immediate NOP-Outs take no CmdSN, so the window does not bound
	 * the NOP-Ins they ask for: the transmit queue limit must. */
	while (!fake_conn_closed(r->c) && sent < 5000) {
		memset(&h, 0, sizeof(h));
		h.opcode = ISCSI_OP_NOP_OUT;
		h.immediate = true;
		h.flags = ISCSI_FLAG_FINAL;
		h.itt = (uint32_t)sent;
		h.w20 = ISCSI_RESERVED_TAG;
		h.w24 = r->cmdsn;
		rig_send(r, &h, NULL, 0);
		sent++;
	}
	assert_true(fake_conn_closed(r->c));
	assert_true(sent > 1024 && sent <= 1026);
	rig_free(r);
}

static void edtl_over_maximum_transfer_length_is_invalid_field(void **state)
{
	struct rig *r = seam_rig(0);
	uint8_t cdb[16] = {0x88}; /* READ(16) */
	struct iscsi_bhs rsp;
	uint8_t *d = NULL;
	uint32_t blocks = SCSI_MAX_XFER_BYTES / 512 + 1;

	(void)state;
	login(r);
	tur_expect(r, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
	cdb[10] = (uint8_t)(blocks >> 24);
	cdb[11] = (uint8_t)(blocks >> 16);
	cdb[12] = (uint8_t)(blocks >> 8);
	cdb[13] = (uint8_t)blocks;
	scsi_cmd(r, cdb, ISCSI_CMD_F_READ, blocks * 512, NULL, 0);
	rig_expect_pdu(r, ISCSI_OP_SCSI_RSP, &rsp, &d);
	assert_int_equal(rsp.b3, SCSI_STATUS_CHECK_CONDITION);
	assert_non_null(d);
	assert_int_equal(d[2 + 2] & 0xf, SK_ILLEGAL_REQUEST);
	assert_int_equal(d[2 + 12], 0x24); /* INVALID FIELD IN CDB */
	free(d);
	/* exactly at the limit the transfer length is accepted: the rig's
	 * 16 MiB LUN then answers LBA OUT OF RANGE instead */
	blocks--;
	cdb[10] = (uint8_t)(blocks >> 24);
	cdb[11] = (uint8_t)(blocks >> 16);
	cdb[12] = (uint8_t)(blocks >> 8);
	cdb[13] = (uint8_t)blocks;
	scsi_cmd(r, cdb, ISCSI_CMD_F_READ, blocks * 512, NULL, 0);
	rig_expect_pdu(r, ISCSI_OP_SCSI_RSP, &rsp, &d);
	assert_int_equal(rsp.b3, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(d[2 + 12], 0x21); /* LBA OUT OF RANGE */
	free(d);
	rig_free(r);
}

/* SPC-4 §7.5.8: D_SENSE=1 in the control mode page makes every CHECK
 * CONDITION of the LU carry descriptor format sense (72h), also the one
 * the transport gives for an EDTL beyond MAXIMUM TRANSFER LENGTH before
 * the SCSI layer runs the command. */
static void edtl_over_maximum_with_d_sense_is_descriptor_format(void **state)
{
	struct rig *r = seam_rig(0);
	uint8_t ms[16] = {0x15, 0x10, 0, 0, 4 + 12};
	uint8_t page[4 + 12] = {0};
	uint8_t cdb[16] = {0x88}; /* READ(16) */
	struct iscsi_bhs rsp;
	uint8_t *d = NULL;
	uint32_t blocks = SCSI_MAX_XFER_BYTES / 512 + 1;

	(void)state;
	login(r);
	tur_expect(r, SCSI_STATUS_CHECK_CONDITION, SK_UNIT_ATTENTION);
	/* MODE SELECT(6), PF: the control page as the target has it, with
	 * D_SENSE=1 */
	page[4] = 0x0a;
	page[5] = 0x0a;
	page[6] = 0x04; /* D_SENSE */
	page[7] = 0x10;
	page[8] = 0x40; /* TAS */
	page[12] = 0xff;
	page[13] = 0xff;
	scsi_cmd(r, ms, ISCSI_CMD_F_WRITE, sizeof(page), page, sizeof(page));
	rig_expect_pdu(r, ISCSI_OP_SCSI_RSP, &rsp, &d);
	assert_int_equal(rsp.b3, SCSI_STATUS_GOOD);
	free(d);
	d = NULL;
	cdb[10] = (uint8_t)(blocks >> 24);
	cdb[11] = (uint8_t)(blocks >> 16);
	cdb[12] = (uint8_t)(blocks >> 8);
	cdb[13] = (uint8_t)blocks;
	scsi_cmd(r, cdb, ISCSI_CMD_F_READ, blocks * 512, NULL, 0);
	rig_expect_pdu(r, ISCSI_OP_SCSI_RSP, &rsp, &d);
	assert_int_equal(rsp.b3, SCSI_STATUS_CHECK_CONDITION);
	assert_non_null(d);
	/* SenseLength 8 bytes of header, then the descriptors */
	assert_int_equal(d[2] & 0x7f, 0x72);
	assert_int_equal(d[2 + 1] & 0xf, SK_ILLEGAL_REQUEST);
	assert_int_equal(d[2 + 2], 0x24); /* INVALID FIELD IN CDB */
	assert_int_equal(get_be16(d), 8u + d[2 + 7]);
	free(d);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(login_write_read_through_fake_env),
		cmocka_unit_test(one_byte_chunks_and_partial_sends_still_work),
		cmocka_unit_test(
			login_without_initiator_name_is_missing_parameter),
		cmocka_unit_test(login_to_unknown_target_is_not_found),
		cmocka_unit_test(
			login_with_version_min_above_zero_is_unsupported),
		cmocka_unit_test(
			data_segment_over_login_limit_drops_connection),
		cmocka_unit_test(login_timer_closes_idle_connection),
		cmocka_unit_test(cmdsn_beyond_window_is_ignored),
		cmocka_unit_test(
			abort_task_of_a_cmdsn_never_received_fills_its_gap),
		cmocka_unit_test(
			task_set_tmf_aborts_the_commands_of_its_lun_in_a_gap_below_it),
		cmocka_unit_test(
			lu_reset_and_clear_task_set_abort_their_lun_in_a_gap),
		cmocka_unit_test(
			target_reset_considers_the_gap_below_it_received),
		cmocka_unit_test(request_ahead_of_a_cmdsn_gap_takes_its_cmdsn),
		cmocka_unit_test(
			request_outside_the_window_or_duplicate_is_ignored),
		cmocka_unit_test(
			scsi_command_duplicate_of_one_waiting_is_ignored),
		cmocka_unit_test(
			target_reset_ends_commands_waiting_in_another_target),
		cmocka_unit_test(
			dead_initiator_is_dropped_after_interval_plus_timeout),
		cmocka_unit_test(initiator_answering_nop_in_stays_connected),
		cmocka_unit_test(
			ping_behind_slowly_read_data_is_timed_from_its_leaving),
		cmocka_unit_test(
			ping_that_left_unanswered_drops_the_connection),
		cmocka_unit_test(half_received_pdu_is_dropped_after_idle_limit),
		cmocka_unit_test(nop_out_ping_is_echoed_with_its_data),
		cmocka_unit_test(abort_task_waiting_for_data_out_ends_it),
		cmocka_unit_test(abort_of_finished_task_is_task_does_not_exist),
		cmocka_unit_test(
			lun_reset_ends_other_sessions_tasks_with_task_aborted),
		cmocka_unit_test(logout_waits_for_earlier_commands),
		cmocka_unit_test(
			edtl_over_maximum_with_d_sense_is_descriptor_format),
		cmocka_unit_test(
			shutdown_asks_initiators_to_log_out_then_closes),
		cmocka_unit_test(shutdown_closes_silent_initiators_after_grace),
		cmocka_unit_test(
			peer_that_never_reads_is_dropped_at_the_queue_limit),
		cmocka_unit_test(
			edtl_over_maximum_transfer_length_is_invalid_field),
	};

	if (getenv("TEST_FILTER")) /* e.g. TEST_FILTER='*abort*' */
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
