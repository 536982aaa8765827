/*
 * test_order_data_out.c — a write whose Data-Out the target solicits
 * (R2T) takes its place in the task set when it is received, not when
 * its data is in (iscsi/task.c task_take_place, scsi/task_set.c).
 *
 * SAM-5 §8.6.3: an ORDERED command is not enabled until every command
 * the device server received before it has completed; RFC 7143
 * §4.2.2.1: an iSCSI command is received when it is delivered in CmdSN
 * order.  So an ORDERED command behind a write still waiting for its
 * data waits for that write, from the same session or another; an
 * ORDERED or HEAD OF QUEUE write waiting for its data holds a younger
 * SIMPLE command.  Every way such a write ends before its data is in
 * (ABORT TASK, ABORT TASK SET, another session's LOGICAL UNIT RESET, its
 * connection gone) lets go what it held, and a TMF answers once what it
 * aborted has ended.
 *
 * On a server in the fake environment (rig.h) with InitialR2T=Yes and
 * ImmediateData=No: every write's data is solicited.  The test plays
 * the initiators PDU by PDU; delivery is synchronous, so "held" is seen
 * as "nothing to read on the connection".
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

#define TGT "iqn.2026-11.org.utarget:od"
#define INI "iqn.2026-11.org.test:od"

static const char conf[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 d0\n"
			   "  InitialR2T Yes\n  ImmediateData No\n }\n"
			   "}\n";

/* RFC 7143 §11.3.1 ATTR */
#define ATTR_SIMPLE 1
#define ATTR_ORDERED 2
#define ATTR_HOQ 3

#define BLK 512u
#define NBLK 8u

/* One initiator session of the test: what the rig needs to talk on it. */
struct client {
	struct fake_conn *c;
	uint32_t cmdsn, itt;
};

static void use(struct rig *r, const struct client *cl)
{
	r->c = cl->c;
	r->cmdsn = cl->cmdsn;
	r->itt = cl->itt;
}

static void keep(const struct rig *r, struct client *cl)
{
	cl->cmdsn = r->cmdsn;
	cl->itt = r->itt;
}

/* A session logged in, its power-on unit attention taken. */
static void client_login(struct rig *r, struct client *cl)
{
	rig_connect(r);
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &(struct rig_scsi){0});
	cl->c = r->c;
	keep(r, cl);
}

/* READ(10) or WRITE(10) of NBLK blocks at LBA 0, with task attribute
 * attr; returns its ITT. */
static uint32_t send_rw(struct rig *r, struct client *cl, bool write,
			uint8_t attr)
{
	struct iscsi_bhs h = {0};

	use(r, cl);
	h.opcode = ISCSI_OP_SCSI_CMD;
	h.flags = (uint8_t)(ISCSI_FLAG_FINAL | attr |
			    (write ? ISCSI_CMD_F_WRITE : ISCSI_CMD_F_READ));
	h.lun = iscsi_lun_encode(0);
	h.itt = ++r->itt;
	h.w20 = NBLK * BLK;
	h.w24 = r->cmdsn++;
	h.cdb[0] = write ? 0x2a : 0x28;
	h.cdb[8] = NBLK;
	rig_send(r, &h, NULL, 0);
	keep(r, cl);
	return h.itt;
}

/* A write sent: the R2T for all of its data. */
static void write_solicited(struct rig *r, struct client *cl, uint8_t attr,
			    struct iscsi_bhs *r2t)
{
	uint32_t itt = send_rw(r, cl, true, attr);

	rig_expect_pdu(r, ISCSI_OP_R2T, r2t, NULL);
	assert_int_equal(r2t->itt, itt);
	assert_int_equal(r2t->desired_length, NBLK * BLK);
}

static void answer_r2t(struct rig *r, struct client *cl,
		       const struct iscsi_bhs *r2t, const uint8_t *data)
{
	use(r, cl);
	rig_answer_r2t(r, r2t, data);
	keep(r, cl);
}

/* The answer of a READ (its Data-In, status collapsed or in a SCSI
 * Response) or of a write (its SCSI Response): status, and the data. */
static uint8_t collect(struct rig *r, struct client *cl, uint32_t itt,
		       uint8_t *data)
{
	struct iscsi_bhs in;
	uint8_t *d = NULL;

	use(r, cl);
	/* an answer queued from another connection's callback leaves at
	 * the deferred flush */
	fake_env_advance(r->env, 0);
	for (;;) {
		assert_int_equal(fake_conn_pop_pdu(r->c, &in, &d), 0);
		assert_int_equal(in.itt, itt);
		if (in.opcode == ISCSI_OP_DATA_IN) {
			assert_true(in.w40 + in.data_len <= NBLK * BLK);
			if (data)
				memcpy(data + in.w40, d, in.data_len);
			free(d);
			d = NULL;
			if (in.flags & ISCSI_DATAIN_F_STATUS)
				return in.b3;
			continue;
		}
		free(d);
		assert_int_equal(in.opcode, ISCSI_OP_SCSI_RSP);
		return in.b3;
	}
}

/* Bytes the target has for cl, after every deferred flush. */
static size_t pending(struct rig *r, const struct client *cl)
{
	fake_env_advance(r->env, 0);
	return fake_conn_pending(cl->c);
}

static uint8_t tmf(struct rig *r, struct client *cl, uint8_t fn, uint32_t rtt,
		   uint32_t refcmdsn)
{
	struct iscsi_bhs in;

	use(r, cl);
	rig_tmf_send(r, fn, rtt, refcmdsn);
	rig_expect_pdu(r, ISCSI_OP_TMF_RSP, &in, NULL);
	assert_int_equal(in.itt, r->itt);
	keep(r, cl);
	return in.b2;
}

static void fill(uint8_t *buf, uint8_t v)
{
	memset(buf, v, NBLK * BLK);
}

/* The ORDERED READ behind a write of another or the same session that
 * waits for its data: nothing is answered until the write is. */
static void ordered_read_waits(bool other_session)
{
	struct rig *r = rig_new(conf);
	struct client a, b, *reader;
	uint8_t wr[NBLK * BLK], rd[NBLK * BLK];
	struct iscsi_bhs r2t;
	uint32_t witt, ritt;

	client_login(r, &a);
	reader = &a;
	if (other_session) {
		client_login(r, &b);
		reader = &b;
	}
	write_solicited(r, &a, ATTR_SIMPLE, &r2t);
	witt = r2t.itt;
	ritt = send_rw(r, reader, false, ATTR_ORDERED);
	/* SAM-5 §8.6.3: the write was received first; the ORDERED READ
	 * is not enabled until it has completed. */
	assert_int_equal(pending(r, reader), 0);
	assert_int_equal(pending(r, &a), 0);
	fill(wr, 0x5a);
	answer_r2t(r, &a, &r2t, wr);
	assert_int_equal(collect(r, &a, witt, NULL), SCSI_STATUS_GOOD);
	fill(rd, 0);
	assert_int_equal(collect(r, reader, ritt, rd), SCSI_STATUS_GOOD);
	/* it ran after the write: it read what the write wrote */
	assert_memory_equal(rd, wr, sizeof(rd));
	rig_free(r);
}

static void ordered_read_waits_for_an_older_write_awaiting_r2t_data(void **st)
{
	(void)st;
	ordered_read_waits(false);
}

static void ordered_read_of_another_session_waits_for_the_write(void **st)
{
	(void)st;
	ordered_read_waits(true);
}

/* An ORDERED or HEAD OF QUEUE write waiting for its data holds a younger
 * SIMPLE READ (SAM-5 §8.6.2: a SIMPLE command waits for the older
 * ORDERED and HEAD OF QUEUE ones). */
static void gated_write_holds_a_younger_simple_read(uint8_t attr)
{
	struct rig *r = rig_new(conf);
	struct client a, b;
	uint8_t wr[NBLK * BLK], rd[NBLK * BLK];
	struct iscsi_bhs r2t;
	uint32_t ritt, ritt2;

	client_login(r, &a);
	client_login(r, &b);
	write_solicited(r, &a, attr, &r2t);
	ritt = send_rw(r, &a, false, ATTR_SIMPLE);
	ritt2 = send_rw(r, &b, false, ATTR_SIMPLE);
	assert_int_equal(pending(r, &a), 0);
	assert_int_equal(pending(r, &b), 0);
	fill(wr, attr);
	answer_r2t(r, &a, &r2t, wr);
	assert_int_equal(collect(r, &a, r2t.itt, NULL), SCSI_STATUS_GOOD);
	assert_int_equal(collect(r, &a, ritt, rd), SCSI_STATUS_GOOD);
	assert_memory_equal(rd, wr, sizeof(rd));
	assert_int_equal(collect(r, &b, ritt2, rd), SCSI_STATUS_GOOD);
	assert_memory_equal(rd, wr, sizeof(rd));
	rig_free(r);
}

static void ordered_write_awaiting_data_holds_a_younger_simple_read(void **st)
{
	(void)st;
	gated_write_holds_a_younger_simple_read(ATTR_ORDERED);
}

static void
head_of_queue_write_awaiting_data_holds_a_younger_simple_read(void **st)
{
	(void)st;
	gated_write_holds_a_younger_simple_read(ATTR_HOQ);
}

/* ABORT TASK of the write waiting for its data: the ORDERED READ it held
 * runs (it reads what was there before), and the TMF is answered. */
static void abort_task_of_the_awaiting_write_releases_the_held_read(void **st)
{
	struct rig *r = rig_new(conf);
	struct client a;
	uint8_t rd[NBLK * BLK], zero[NBLK * BLK];
	struct iscsi_bhs r2t;
	uint32_t ritt, wcmdsn;

	(void)st;
	client_login(r, &a);
	wcmdsn = a.cmdsn;
	write_solicited(r, &a, ATTR_SIMPLE, &r2t);
	ritt = send_rw(r, &a, false, ATTR_ORDERED);
	assert_int_equal(pending(r, &a), 0);
	use(r, &a);
	rig_tmf_send(r, ISCSI_TMF_ABORT_TASK, r2t.itt, wcmdsn);
	keep(r, &a);
	/* the held READ runs once the write has ended, then the TMF's
	 * answer (the write itself is concluded by it) */
	fill(rd, 0xff);
	assert_int_equal(collect(r, &a, ritt, rd), SCSI_STATUS_GOOD);
	fill(zero, 0);
	assert_memory_equal(rd, zero, sizeof(rd));
	{
		struct iscsi_bhs in;

		rig_expect_pdu(r, ISCSI_OP_TMF_RSP, &in, NULL);
		assert_int_equal(in.b2, ISCSI_TMF_RSP_COMPLETE);
	}
	assert_int_equal(pending(r, &a), 0);
	rig_free(r);
}

/* ABORT TASK SET ends both the write waiting for its data and the
 * ORDERED READ it held: neither is answered, the TMF's answer concludes
 * them (RFC 7143 §11.5.1), and the READ never ran. */
static void abort_task_set_ends_the_write_and_what_it_held(void **st)
{
	struct rig *r = rig_new(conf);
	struct client a;
	struct iscsi_bhs r2t;
	struct iscsi_server_stats ss;

	(void)st;
	client_login(r, &a);
	write_solicited(r, &a, ATTR_SIMPLE, &r2t);
	send_rw(r, &a, false, ATTR_ORDERED);
	assert_int_equal(pending(r, &a), 0);
	assert_int_equal(tmf(r, &a, ISCSI_TMF_ABORT_TASK_SET, 0xffffffff, 0),
			 ISCSI_TMF_RSP_COMPLETE);
	assert_int_equal(pending(r, &a), 0);
	iscsi_server_get_stats(r->srv, &ss);
	assert_int_equal(ss.tasks, 0);
	rig_free(r);
}

/* Another session's LOGICAL UNIT RESET: the ORDERED READ held by the
 * write ends TASK ABORTED, the reset answers once it has (SAM-5 §7.1),
 * and the write, its data solicited already, ends TASK ABORTED when
 * that data is in (TAS=1, SAM-5 §5.6). */
static void
lu_reset_of_another_session_ends_the_write_and_the_held_read(void **st)
{
	struct rig *r = rig_new(conf);
	struct client a, b;
	struct iscsi_bhs r2t;
	uint8_t wr[NBLK * BLK], rd[NBLK * BLK];
	uint32_t ritt;

	(void)st;
	client_login(r, &a);
	client_login(r, &b);
	write_solicited(r, &a, ATTR_SIMPLE, &r2t);
	ritt = send_rw(r, &a, false, ATTR_ORDERED);
	assert_int_equal(pending(r, &a), 0);
	assert_int_equal(tmf(r, &b, ISCSI_TMF_LOGICAL_UNIT_RESET, 0xffffffff,
			     0),
			 ISCSI_TMF_RSP_COMPLETE);
	assert_int_equal(collect(r, &a, ritt, NULL), SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(pending(r, &a), 0);
	fill(wr, 0x77);
	answer_r2t(r, &a, &r2t, wr);
	assert_int_equal(collect(r, &a, r2t.itt, NULL),
			 SCSI_STATUS_TASK_ABORTED);
	/* neither changed the medium */
	use(r, &a);
	rig_tur(r, 0, &(struct rig_scsi){0}); /* the reset's unit attention */
	keep(r, &a);
	ritt = send_rw(r, &a, false, ATTR_SIMPLE);
	assert_int_equal(collect(r, &a, ritt, rd), SCSI_STATUS_GOOD);
	fill(wr, 0);
	assert_memory_equal(rd, wr, sizeof(rd));
	rig_free(r);
}

/* The connection of the write waiting for its data goes: the ORDERED
 * READ of another session it held runs. */
static void
connection_loss_of_the_writer_releases_another_sessions_read(void **st)
{
	struct rig *r = rig_new(conf);
	struct client a, b;
	struct iscsi_bhs r2t;
	uint8_t rd[NBLK * BLK], zero[NBLK * BLK];
	uint32_t ritt;

	(void)st;
	client_login(r, &a);
	client_login(r, &b);
	write_solicited(r, &a, ATTR_SIMPLE, &r2t);
	ritt = send_rw(r, &b, false, ATTR_ORDERED);
	assert_int_equal(pending(r, &b), 0);
	fake_conn_hangup(a.c);
	fake_env_advance(r->env, 0);
	fill(rd, 0xff);
	assert_int_equal(collect(r, &b, ritt, rd), SCSI_STATUS_GOOD);
	fill(zero, 0);
	assert_memory_equal(rd, zero, sizeof(rd));
	rig_free(r);
}

/* RspTimeout (5 s, no NOP-In pings) over a held disk (fake-hold:): A's
 * write never gets its Data-Out; B's ORDERED READ, received after it,
 * waits for it (SAM-5 §8.6.3).  Both are owed since the same instant, so
 * both RspTimeouts are due together.  A's, the first, closes A's
 * connection: the write is withdrawn and B's READ is enabled at that
 * instant, its request at the disk.  B's RspTimeout then finds it inside
 * the SCSI layer, but every moment of its wait was the write's: it is
 * not stuck (explore seed 332694168811).  With hangup_at_1s, A goes at
 * 1 s instead: the READ then sits at the held disk for 4 s on its own,
 * and that is counted stuck. */
static const char conf_rsp_held[] =
	"HANDLER vdisk_fileio {\n"
	" DEVICE d0 { filename fake-hold:d0\n size 4M }\n}\n"
	"TARGET_DRIVER iscsi {\n"
	" TARGET " TGT " {\n  LUN 0 d0\n"
	"  InitialR2T Yes\n  ImmediateData No\n"
	"  NopInInterval 0\n  RspTimeout 5\n }\n"
	"}\n";

static void rsp_timeout_of_a_read_held_by_a_write_awaiting_data(bool hangup)
{
	struct rig *r;
	struct client a, b;
	struct iscsi_bhs r2t;
	struct iscsi_server_stats st;

	fake_env_hold_disks(true);
	r = rig_new(conf_rsp_held);
	client_login(r, &a);
	client_login(r, &b);
	write_solicited(r, &a, ATTR_SIMPLE, &r2t);
	send_rw(r, &b, false, ATTR_ORDERED);
	assert_int_equal(pending(r, &b), 0);
	assert_int_equal(fake_held_pending(), 0);
	if (hangup) {
		fake_env_advance(r->env, 1000000000ull);
		fake_conn_hangup(a.c);
		fake_env_advance(r->env, 0);
		/* the READ is enabled, at the disk */
		assert_int_equal(fake_held_pending(), 1);
		fake_env_advance(r->env, 3000000000ull);
	} else {
		fake_env_advance(r->env, 4000000000ull);
	}
	assert_false(fake_conn_closed(b.c));
	fake_env_advance(r->env, 2000000000ull);
	assert_true(fake_conn_closed(b.c));
	assert_int_equal(fake_held_pending(), 1);
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.rsp_timeouts, hangup ? 1 : 2);
	assert_int_equal(st.rsp_timeouts_stuck, hangup ? 1 : 0);
	assert_int_equal(fake_held_complete(1), 1);
	fake_env_advance(r->env, 0);
	rig_free(r);
	fake_env_hold_disks(false);
}

static void rsp_timeout_spares_a_read_let_go_at_the_same_instant(void **st)
{
	(void)st;
	rsp_timeout_of_a_read_held_by_a_write_awaiting_data(false);
}

static void rsp_timeout_counts_a_read_held_at_the_disk_after(void **st)
{
	(void)st;
	rsp_timeout_of_a_read_held_by_a_write_awaiting_data(true);
}

/* The same, but B's READ comes a microsecond after A's write (network
 * jitter), so B's RspTimeout is due a microsecond after A's: A's closes
 * A's connection and lets the READ go to the disk, B's then finds it
 * there for a microsecond of its own (explore seeds 168959902471,
 * 181078555581).  That is not RspTimeout inside the target: the READ is
 * judged once it has had RspTimeout on its own -- not stuck if the disk
 * answers before (released), stuck if the disk still holds it then.  A
 * server freed (the daemon's exit) while it is judged ends the judging
 * with the task (server.c srv_force_free_session): no timer is left
 * (rig_free), none fires on the freed task (explore seed 216586175525,
 * mutant 628). */
enum let_go_end { LG_RELEASED, LG_HELD, LG_SERVER_FREED };

static void rsp_timeout_of_a_read_let_go_a_moment_before(enum let_go_end end)
{
	struct rig *r;
	struct client a, b;
	struct iscsi_bhs r2t;
	struct iscsi_server_stats st;

	fake_env_hold_disks(true);
	r = rig_new(conf_rsp_held);
	client_login(r, &a);
	client_login(r, &b);
	write_solicited(r, &a, ATTR_SIMPLE, &r2t);
	fake_env_advance(r->env, 1000);
	send_rw(r, &b, false, ATTR_ORDERED);
	assert_int_equal(pending(r, &b), 0);
	assert_int_equal(fake_held_pending(), 0);
	fake_env_advance(r->env, 4000000000ull);
	assert_false(fake_conn_closed(b.c));
	fake_env_advance(r->env, 1000000000ull - 1000);
	/* A's RspTimeout, 5 s after its write: the READ at the disk */
	assert_false(fake_conn_closed(b.c));
	assert_int_equal(fake_held_pending(), 1);
	fake_env_advance(r->env, 1000);
	/* B's, a microsecond later */
	assert_true(fake_conn_closed(b.c));
	iscsi_server_get_stats(r->srv, &st);
	assert_int_equal(st.rsp_timeouts, 2);
	assert_int_equal(st.rsp_timeouts_stuck, 0);
	assert_int_equal(st.rsp_timeouts_judging, 1);
	if (end == LG_SERVER_FREED) {
		/* the READ still at the disk, its session's connection gone:
		 * the session is freed with the task inside the SCSI layer */
		assert_int_equal(fake_held_pending(), 1);
		rig_free(r); /* no timer left: rig_free asserts it */
		assert_int_equal(fake_held_pending(), 0);
		fake_env_hold_disks(false);
		return;
	}
	if (end == LG_RELEASED) {
		fake_env_advance(r->env, 1000000000ull);
		assert_int_equal(fake_held_complete(1), 1);
		fake_env_advance(r->env, 0);
		fake_env_advance(r->env, 10000000000ull);
		iscsi_server_get_stats(r->srv, &st);
		assert_int_equal(st.rsp_timeouts_stuck, 0);
	} else {
		/* at the disk since A's RspTimeout: 5 s less a microsecond */
		fake_env_advance(r->env, 4999998000ull);
		iscsi_server_get_stats(r->srv, &st);
		assert_int_equal(st.rsp_timeouts_stuck, 0);
		assert_int_equal(st.rsp_timeouts_judging, 1);
		fake_env_advance(r->env, 1000);
		iscsi_server_get_stats(r->srv, &st);
		assert_int_equal(st.rsp_timeouts_stuck, 1);
		assert_int_equal(fake_held_complete(1), 1);
		fake_env_advance(r->env, 0);
		iscsi_server_get_stats(r->srv, &st);
		assert_int_equal(st.rsp_timeouts_stuck, 1);
	}
	assert_int_equal(st.rsp_timeouts_judging, 0);
	rig_free(r);
	fake_env_hold_disks(false);
}

static void rsp_timeout_spares_a_read_let_go_a_microsecond_before(void **st)
{
	(void)st;
	rsp_timeout_of_a_read_let_go_a_moment_before(LG_RELEASED);
}

static void
rsp_timeout_counts_a_read_let_go_a_microsecond_before_then_held(void **st)
{
	(void)st;
	rsp_timeout_of_a_read_let_go_a_moment_before(LG_HELD);
}

static void rsp_timeout_judging_a_read_ends_when_the_server_is_freed(void **st)
{
	(void)st;
	rsp_timeout_of_a_read_let_go_a_moment_before(LG_SERVER_FREED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			ordered_read_waits_for_an_older_write_awaiting_r2t_data),
		cmocka_unit_test(
			ordered_read_of_another_session_waits_for_the_write),
		cmocka_unit_test(
			ordered_write_awaiting_data_holds_a_younger_simple_read),
		cmocka_unit_test(
			head_of_queue_write_awaiting_data_holds_a_younger_simple_read),
		cmocka_unit_test(
			abort_task_of_the_awaiting_write_releases_the_held_read),
		cmocka_unit_test(
			abort_task_set_ends_the_write_and_what_it_held),
		cmocka_unit_test(
			lu_reset_of_another_session_ends_the_write_and_the_held_read),
		cmocka_unit_test(
			connection_loss_of_the_writer_releases_another_sessions_read),
		cmocka_unit_test(
			rsp_timeout_counts_a_read_held_at_the_disk_after),
		cmocka_unit_test(
			rsp_timeout_spares_a_read_let_go_at_the_same_instant),
		cmocka_unit_test(
			rsp_timeout_spares_a_read_let_go_a_microsecond_before),
		cmocka_unit_test(
			rsp_timeout_counts_a_read_let_go_a_microsecond_before_then_held),
		cmocka_unit_test(
			rsp_timeout_judging_a_read_ends_when_the_server_is_freed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
