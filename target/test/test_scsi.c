/*
 * test_scsi.c — the SCSI core (scsi/scsi.c, cdb.c): LUN mapping,
 * unit attentions, backstore errors into sense, task management, LBA
 * range locks and CDB decoding.
 * Driven through scsi_cmd_exec() on mem logical units with the stub
 * environment of scsi_rig.h.
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

#include "scsi_rig.h"

/* --------------------------------------------------- LUN mapping */

static void tur_on_unmapped_lun_is_lu_not_supported(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6] = {0};

	expect_sense(run_lun(f, 5, cdb, 6, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_LU_NOT_SUPPORTED);
}

static void request_sense_on_unmapped_lun_returns_lu_not_supported(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[6] = {0x03, 0, 0, 0, 252, 0};
	struct scsi_cmd *c;

	c = run_lun(f, 9, cdb, 6, 252, 0);
	expect_good(c);
	assert_int_equal(f->buf[2] & 0xf, SK_ILLEGAL_REQUEST);
	assert_int_equal(f->buf[12], 0x25);
}

/* ------------------------------------------------ command table */

static void unknown_opcode_is_invalid_command_operation_code(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0xc7};

	expect_sense(run(f, cdb, 10, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_OPCODE);
}

/* ------------------------------------------------ unit attention */

static void ua_after_map_is_reported_once_then_cleared(void **state)
{
	struct fx *f = fx_new(NULL, DISK_BYTES, false);
	uint8_t tur[6] = {0};

	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	expect_good(run(f, tur, 6, 0, 0));
	fx_free(f);
}

static void inquiry_and_report_luns_neither_blocked_nor_clear_ua(void **state)
{
	struct fx *f = fx_new(NULL, DISK_BYTES, false);
	uint8_t inq[6], rl[12] = {0xa0}, tur[6] = {0};

	cdb_inquiry(inq, false, 0, 96);
	expect_good(run(f, inq, 6, 96, 0));
	put_be32(rl + 6, 64);
	expect_good(run(f, rl, 12, 64, 0));
	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	fx_free(f);
}

static void request_sense_returns_and_clears_ua(void **state)
{
	struct fx *f = fx_new(NULL, DISK_BYTES, false);
	uint8_t rs[6] = {0x03, 0, 0, 0, 18, 0}, tur[6] = {0};
	struct scsi_cmd *c;

	c = run(f, rs, 6, 18, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 18);
	assert_int_equal(f->buf[0], 0x70);
	assert_int_equal(f->buf[2], SK_UNIT_ATTENTION);
	assert_int_equal(f->buf[12], 0x29);
	expect_good(run(f, tur, 6, 0, 0));
	c = run(f, rs, 6, 18, 0);
	expect_good(c);
	assert_int_equal(f->buf[2], SK_NO_SENSE);
	assert_int_equal(f->buf[12], 0);
	fx_free(f);
}

static void request_sense_desc_bit_returns_descriptor_format(void **state)
{
	struct fx *f = *state;
	uint8_t rs[6] = {0x03, 0x01, 0, 0, 252, 0};
	struct scsi_cmd *c;

	c = run(f, rs, 6, 252, 0);
	expect_good(c);
	assert_int_equal(f->buf[0], 0x72);
	assert_int_equal(c->data_in_len, 8);
}

static void ua_queue_keeps_oldest_when_full_and_reset_supersedes(void **state)
{
	struct fx *f = *state;
	struct scsi_itl *itl = f->sess->lun_map[0];
	uint8_t tur[6] = {0};
	uint16_t asc;

	for (unsigned int i = 0; i < SCSI_UA_QUEUE_MAX + 4; i++)
		scsi_ua_add(itl, (uint16_t)(0x3f00 + i));
	scsi_ua_add(itl, 0x3f00); /* duplicate: not queued */
	assert_int_equal(itl->ua_count, SCSI_UA_QUEUE_MAX);
	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION, 0x3f00);
	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION, 0x3f01);
	scsi_ua_add(itl, ASC_BUS_DEVICE_RESET);
	assert_int_equal(itl->ua_count, 1);
	assert_true(scsi_ua_pop(itl, &asc));
	assert_int_equal(asc, ASC_BUS_DEVICE_RESET);
	assert_false(scsi_ua_pop(itl, &asc));
}

/* --------------------------------------------- backstore failures */

/* A backstore that holds requests until the test completes them. */
struct held {
	struct bs_req *req;
	int fail_status;
};

static struct held held;

static void hold_submit(struct bs_dev *dev, struct bs_req *req)
{
	if (held.fail_status) {
		req->done(req, held.fail_status);
		return;
	}
	held.req = req;
}

static void hold_close(struct bs_dev *dev)
{
	free(dev);
}

static const struct bs_ops hold_ops = {.submit = hold_submit,
				       .close = hold_close};

static struct fx *fx_hold(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct scsi_nexus_id id = {0};
	uint8_t tur[6] = {0};

	f->bs = calloc(1, sizeof(*f->bs));
	f->bs->ops = &hold_ops;
	f->bs->size_bytes = DISK_BYTES;
	f->bs->block_size = BS;
	f->lu = scsi_lu_new(&stub_env, NULL, f->bs, 2);
	f->sess = scsi_sess_new(&stub_env, &id);
	scsi_sess_map(f->sess, 0, f->lu, false);
	f->buf = calloc(1, 1 << 20);
	run(f, tur, 6, 0, 0);
	memset(&held, 0, sizeof(held));
	return f;
}

static void backstore_errors_map_to_sense(void **state)
{
	struct fx *f = fx_hold();
	uint8_t cdb[10];

	cdb_rw10(cdb, 0x28, 8, 1);
	held.fail_status = -EIO;
	expect_sense(run(f, cdb, 10, BS, 0), SK_MEDIUM_ERROR,
		     ASC_UNRECOVERED_READ);
	assert_int_equal(get_be32(f->cmd.sense + 3), 8);
	cdb[0] = 0x2a;
	expect_sense(run(f, cdb, 10, BS, BS), SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	held.fail_status = -ENOSPC;
	expect_sense(run(f, cdb, 10, BS, BS), SK_DATA_PROTECT,
		     ASC_SPACE_ALLOC_FAILED_WP);
	held.fail_status = -ENOMEM;
	expect_sense(run(f, cdb, 10, BS, BS), SK_HARDWARE_ERROR,
		     ASC_INTERNAL_TARGET_FAILURE);
	fx_free(f);
}

/*
 * SPC-4 §4.5.3: VALID 1 says INFORMATION holds a defined value.  A
 * SYNCHRONIZE CACHE whose flush fails names no block: MEDIUM ERROR,
 * WRITE ERROR with VALID 0 (fixed format) and no information descriptor
 * (descriptor format, D_SENSE 1); a WRITE that fails keeps its LBA in
 * both.  Before: VALID 1, INFORMATION 0, which an initiator reads as a
 * failure of LBA 0.
 */
static void failed_sync_cache_names_no_lba(void **state)
{
	struct fx *f = fx_hold();
	uint8_t sync[10] = {0x35}, wr[10];
	struct scsi_cmd *c;

	cdb_rw10(wr, 0x2a, 8, 1);
	held.fail_status = -EIO;
	c = run(f, sync, 10, 0, 0);
	expect_sense(c, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	if (c->sense[0] != 0x70 || get_be32(c->sense + 3) != 0)
		fail_msg("SPC-4 §4.5.3: a failed flush names no LBA, so VALID "
			 "is 0; got byte 0 %02x INFORMATION %u",
			 c->sense[0], get_be32(c->sense + 3));
	c = run(f, wr, 10, BS, BS);
	expect_sense(c, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	assert_int_equal(c->sense[0], 0xf0); /* VALID, LBA 8 */
	assert_int_equal(get_be32(c->sense + 3), 8);

	f->lu->mode.d_sense = true;
	c = run(f, sync, 10, 0, 0);
	expect_sense(c, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	assert_int_equal(c->sense[0], 0x72);
	if (c->sense[7] != 0 || c->sense_len != 8)
		fail_msg("SPC-4 §4.5.2.2: no information descriptor without "
			 "an LBA; got additional length %u",
			 c->sense[7]);
	c = run(f, wr, 10, BS, BS);
	expect_sense(c, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
	assert_int_equal(c->sense[7], 12); /* the information descriptor */
	assert_int_equal(c->sense[8], 0x00);
	assert_int_equal(c->sense[10], 0x80); /* VALID */
	assert_int_equal(get_be64(c->sense + 12), 8);
	fx_free(f);
}

static void lu_reset_aborts_in_flight_command_and_sets_ua(void **state)
{
	struct fx *f = fx_hold();
	struct scsi_cmd *c = &f->cmd;
	uint8_t cdb[10], tur[6] = {0};

	cdb_rw10(cdb, 0x2a, 0, 1);
	memset(c, 0, sizeof(*c));
	c->sess = f->sess;
	memcpy(c->cdb, cdb, 10);
	c->cdb_len = 10;
	c->tag = 77;
	c->buf = f->buf;
	c->buf_cap = c->edtl = c->data_out_len = BS;
	c->done = on_done;
	c->transport = f;
	scsi_cmd_exec(c);
	assert_non_null(held.req);
	assert_int_equal(f->done_calls, 1); /* only the setup TUR */
	assert_int_equal(scsi_sess_busy(f->sess), 1);
	assert_int_equal(scsi_tmf_abort_task(f->sess, 0, 76), 0);
	assert_false(c->aborted);
	assert_int_equal(scsi_tmf_lu_reset(f->sess, 0, NULL), 0);
	assert_true(c->aborted);
	assert_int_equal(scsi_tmf_lu_reset(f->sess, 4, NULL), 9);
	held.req->done(held.req, 0);
	assert_int_equal(f->done_calls, 2);
	assert_int_equal(scsi_sess_busy(f->sess), 0);
	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	fx_free(f);
}

static void abort_task_marks_only_that_tag(void **state)
{
	struct fx *f = fx_hold();
	struct scsi_cmd *c = &f->cmd;
	uint8_t tur[6] = {0};

	memset(c, 0, sizeof(*c));
	c->sess = f->sess;
	cdb_rw10(c->cdb, 0x28, 0, 1);
	c->cdb_len = 10;
	c->tag = 5;
	c->buf = f->buf;
	c->buf_cap = c->edtl = BS;
	c->done = on_done;
	c->transport = f;
	scsi_cmd_exec(c);
	assert_int_equal(scsi_tmf_abort_task(f->sess, 0, 5), 0);
	assert_true(c->aborted);
	held.req->done(held.req, 0);
	assert_int_equal(c->data_in_len, 0);
	/* no UA for the nexus that aborted its own task */
	expect_good(run(f, tur, 6, 0, 0));
	fx_free(f);
}

/* A command of fx f on session s, left to the test (cmd not reused). */
static void start_on(struct fx *f, struct scsi_sess *s, struct scsi_cmd *c,
		     const uint8_t *cdb, uint8_t cdb_len, uint8_t *buf,
		     uint32_t edtl, uint32_t data_out_len)
{
	memset(c, 0, sizeof(*c));
	c->sess = s;
	memcpy(c->cdb, cdb, cdb_len);
	c->cdb_len = cdb_len;
	c->buf = buf;
	c->buf_cap = c->edtl = edtl;
	c->data_out_len = data_out_len;
	c->done = on_done;
	c->transport = f;
	scsi_cmd_exec(c);
}

/* PREEMPT AND ABORT (SPC-4 §5.12.11.5) completes only once the commands
 * of the preempted nexus it aborted have ended (SAM-5 §7.1): a write at
 * the backstore ends TASK ABORTED first, then the PR OUT answers GOOD. */
static void preempt_and_abort_completes_after_the_aborted_command(void **state)
{
	struct fx *f = fx_hold();
	struct scsi_nexus_id id = {0};
	struct scsi_sess *a, *b;
	struct scsi_cmd w, pr;
	uint8_t wcdb[10], prcdb[10] = {0x5f, 0}, tur[6] = {0};
	uint8_t wbuf[BS] = {0}, prbuf[24];

	/* PR needs named nexuses (the fixture's own has no name) */
	snprintf(id.initiator_name, sizeof(id.initiator_name), "iqn.x:a");
	a = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(a, 0, f->lu, false), 0);
	scsi_ua_clear(a->lun_map[0]);
	snprintf(id.initiator_name, sizeof(id.initiator_name), "iqn.x:b");
	b = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(b, 0, f->lu, false), 0);
	scsi_ua_clear(b->lun_map[0]);
	put_be32(prcdb + 5, 24);
	/* A registers key 1, B key 2 (REGISTER AND IGNORE EXISTING KEY) */
	prcdb[1] = 6;
	memset(prbuf, 0, sizeof(prbuf));
	put_be64(prbuf + 8, 1);
	start_on(f, a, &pr, prcdb, 10, prbuf, 24, 24);
	assert_int_equal(pr.status, SCSI_STATUS_GOOD);
	put_be64(prbuf + 8, 2);
	start_on(f, b, &pr, prcdb, 10, prbuf, 24, 24);
	assert_int_equal(pr.status, SCSI_STATUS_GOOD);
	/* A's write waits at the backstore */
	cdb_rw10(wcdb, 0x2a, 0, 1);
	start_on(f, a, &w, wcdb, 10, wbuf, BS, BS);
	assert_non_null(held.req);
	/* B preempts A's registration and aborts its tasks */
	prcdb[1] = 5;
	prcdb[2] = 1; /* type write exclusive; no reservation to take */
	memset(prbuf, 0, sizeof(prbuf));
	put_be64(prbuf, 2);
	put_be64(prbuf + 8, 1);
	f->done_calls = 0;
	start_on(f, b, &pr, prcdb, 10, prbuf, 24, 24);
	assert_true(w.aborted);
	assert_int_equal(f->done_calls, 0); /* waits for A's write */
	assert_int_equal(scsi_sess_busy(b), 1);
	held.req->done(held.req, 0);
	assert_int_equal(f->done_calls, 2);
	assert_int_equal(w.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(pr.status, SCSI_STATUS_GOOD);
	assert_int_equal(scsi_sess_busy(b), 0);
	assert_int_equal(scsi_sess_busy(a), 0);
	/* A is told: REGISTRATIONS PREEMPTED */
	expect_sense(run_on(f, a, 0, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_REGISTRATIONS_PREEMPTED);
	/* with nothing of A's in flight, the next one answers at once */
	prcdb[1] = 6;
	memset(prbuf, 0, sizeof(prbuf));
	put_be64(prbuf + 8, 3);
	start_on(f, a, &pr, prcdb, 10, prbuf, 24, 24);
	prcdb[1] = 5;
	memset(prbuf, 0, sizeof(prbuf));
	put_be64(prbuf, 2);
	put_be64(prbuf + 8, 3);
	f->done_calls = 0;
	start_on(f, b, &pr, prcdb, 10, prbuf, 24, 24);
	assert_int_equal(f->done_calls, 1);
	assert_int_equal(pr.status, SCSI_STATUS_GOOD);
	scsi_sess_free(a);
	scsi_sess_free(b);
	fx_free(f);
}

/* A transport whose held tasks of a preempted session end later. */
static struct {
	int calls;
	uint64_t id;
	const struct scsi_lu *lu;
	struct scsi_tmf_hook hook;
} held_tasks;

static void held_abort_waiting(void *ctx, uint64_t id, struct env *to,
			       struct env *here, const struct scsi_lu *lu,
			       const struct scsi_tmf_hook *hook)
{
	held_tasks.calls++;
	held_tasks.id = id;
	held_tasks.lu = lu;
	held_tasks.hook = *hook;
	hook->hold(hook->arg); /* ends later, elsewhere */
}

/* PREEMPT AND ABORT also ends the tasks the preempted session's transport
 * holds (waiting for Data-Out): it asks the transport, outside the LU
 * lock, and completes only once that work is released. */
static void preempt_and_abort_waits_for_the_transports_held_tasks(void **state)
{
	struct fx *f = fx_hold();
	struct scsi_nexus_id id = {0};
	struct scsi_sess *a, *b;
	struct scsi_cmd pr;
	uint8_t prcdb[10] = {0x5f, 6}, prbuf[24] = {0}, tur[6] = {0};

	memset(&held_tasks, 0, sizeof(held_tasks));
	snprintf(id.initiator_name, sizeof(id.initiator_name), "iqn.x:a");
	a = scsi_sess_new(&stub_env, &id);
	scsi_sess_set_transport(a, held_abort_waiting, NULL);
	assert_int_equal(scsi_sess_map(a, 0, f->lu, false), 0);
	scsi_sess_set_transport_id(a, 7);
	scsi_ua_clear(a->lun_map[0]);
	snprintf(id.initiator_name, sizeof(id.initiator_name), "iqn.x:b");
	b = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(b, 0, f->lu, false), 0);
	scsi_ua_clear(b->lun_map[0]);
	put_be32(prcdb + 5, 24);
	put_be64(prbuf + 8, 1);
	start_on(f, a, &pr, prcdb, 10, prbuf, 24, 24);
	assert_int_equal(pr.status, SCSI_STATUS_GOOD);
	put_be64(prbuf + 8, 2);
	start_on(f, b, &pr, prcdb, 10, prbuf, 24, 24);
	assert_int_equal(pr.status, SCSI_STATUS_GOOD);
	/* a plain PREEMPT asks nothing of the transport */
	prcdb[1] = 4;
	prcdb[2] = 1; /* write exclusive: no reservation to take */
	memset(prbuf, 0, sizeof(prbuf));
	put_be64(prbuf, 2);
	put_be64(prbuf + 8, 1);
	f->done_calls = 0;
	start_on(f, b, &pr, prcdb, 10, prbuf, 24, 24);
	assert_int_equal(f->done_calls, 1);
	assert_int_equal(pr.status, SCSI_STATUS_GOOD);
	assert_int_equal(held_tasks.calls, 0);
	/* A again, then B's PREEMPT AND ABORT: nothing of A's in the task
	 * set, but the transport holds some */
	expect_sense(run_on(f, a, 0, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_REGISTRATIONS_PREEMPTED);
	prcdb[1] = 6;
	memset(prbuf, 0, sizeof(prbuf));
	put_be64(prbuf + 8, 3);
	start_on(f, a, &pr, prcdb, 10, prbuf, 24, 24);
	assert_int_equal(pr.status, SCSI_STATUS_GOOD);
	prcdb[1] = 5;
	memset(prbuf, 0, sizeof(prbuf));
	put_be64(prbuf, 2);
	put_be64(prbuf + 8, 3);
	f->done_calls = 0;
	start_on(f, b, &pr, prcdb, 10, prbuf, 24, 24);
	assert_int_equal(held_tasks.calls, 1);
	assert_int_equal(held_tasks.id, 7);
	assert_ptr_equal(held_tasks.lu, f->lu);
	assert_int_equal(f->done_calls, 0); /* waits for the transport */
	assert_int_equal(scsi_sess_busy(b), 1);
	held_tasks.hook.release(held_tasks.hook.arg);
	assert_int_equal(f->done_calls, 1);
	assert_int_equal(pr.status, SCSI_STATUS_GOOD);
	assert_int_equal(scsi_sess_busy(b), 0);
	scsi_sess_free(a);
	scsi_sess_free(b);
	fx_free(f);
}

/* --------------------------------------------------- LBA range locks */

static void cmd_init(struct fx *f, struct scsi_cmd *c, const uint8_t *cdb,
		     size_t len, uint8_t *buf, uint32_t bytes)
{
	memset(c, 0, sizeof(*c));
	c->sess = f->sess;
	memcpy(c->cdb, cdb, len);
	c->cdb_len = (uint8_t)len;
	c->buf = buf;
	c->buf_cap = c->edtl = c->data_out_len = bytes;
	c->done = on_done;
	c->transport = f;
}

static void write_overlapping_compare_and_write_waits_for_it(void **state)
{
	struct fx *f = fx_hold();
	static uint8_t caw_buf[2 * BS], w_buf[BS], r_buf[BS];
	struct scsi_cmd caw, w, r;
	uint8_t cdb[16];
	struct bs_req *req;

	memset(caw_buf, 0, BS);
	memset(caw_buf + BS, 'B', BS);
	cdb_caw(cdb, 4, 1);
	cmd_init(f, &caw, cdb, 16, caw_buf, 2 * BS);
	scsi_cmd_exec(&caw);
	req = held.req; /* CAW's read */
	assert_int_equal(req->op, BS_OP_READ);
	/* a read of the range is not blocked */
	cdb_rw10(cdb, 0x28, 4, 1);
	cmd_init(f, &r, cdb, 10, r_buf, BS);
	scsi_cmd_exec(&r);
	assert_ptr_not_equal(held.req, req);
	held.req->done(held.req, 0);
	held.req = req;
	/* an overlapping write waits */
	cdb_rw10(cdb, 0x2a, 3, 2);
	cmd_init(f, &w, cdb, 10, w_buf, 2 * BS);
	w.data_out_len = 2 * BS;
	w.buf_cap = w.edtl = 2 * BS;
	w.buf = f->buf;
	held.req = NULL;
	scsi_cmd_exec(&w);
	assert_null(held.req);
	assert_int_equal(scsi_sess_busy(f->sess), 2);
	memset(req->iov[0].iov_base, 0, BS);
	req->done(req, 0); /* CAW read done */
	req = held.req;
	assert_non_null(req);
	assert_int_equal(req->op, BS_OP_WRITE); /* CAW's write */
	held.req = NULL;
	req->done(req, 0); /* CAW complete: w runs */
	expect_good(&caw);
	assert_non_null(held.req);
	assert_int_equal(held.req->op, BS_OP_WRITE);
	assert_int_equal(held.req->offset_bytes, 3 * BS);
	held.req->done(held.req, 0);
	expect_good(&w);
	assert_int_equal(scsi_sess_busy(f->sess), 0);
	fx_free(f);
}

/* ------------------------------------------------------ more TMF */

/* SAM-5 §7.4 and §5.6 with TAS=1 (our control mode page): CLEAR TASK SET
 * ends the other nexus's command with TASK ABORTED status, not silently,
 * so its initiator is not left waiting; no 2F/00 unit attention then. */
static void clear_task_set_answers_other_nexus_task_aborted(void **state)
{
	struct fx *f = fx_hold();
	struct scsi_nexus_id id = {0};
	struct scsi_sess *s2;
	struct scsi_cmd c2;
	static uint8_t b2[BS];
	uint8_t cdb[10], tur[6] = {0};

	strcpy(id.initiator_name, "iqn.x:two");
	s2 = scsi_sess_new(&stub_env, &id);
	scsi_sess_map(s2, 0, f->lu, false);
	scsi_ua_clear(s2->lun_map[0]);
	cdb_rw10(cdb, 0x28, 0, 1);
	cmd_init(f, &c2, cdb, 10, b2, BS);
	c2.sess = s2;
	c2.data_out_len = 0;
	scsi_cmd_exec(&c2);
	assert_non_null(held.req);
	/* ABORT TASK SET of the first nexus leaves s2's task alone */
	assert_int_equal(scsi_tmf_abort_task_set(f->sess, 0), 0);
	assert_false(c2.aborted);
	assert_int_equal(scsi_tmf_clear_task_set(f->sess, 0, NULL), 0);
	assert_true(c2.aborted);
	held.req->done(held.req, 0);
	assert_int_equal(c2.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(c2.sense_len, 0);
	assert_int_equal(c2.data_in_len, 0);
	expect_good(run_on(f, s2, 0, tur, 6, 0, 0));
	expect_good(run(f, tur, 6, 0, 0));
	assert_int_equal(scsi_tmf_abort_task_set(f->sess, 9), 9);
	assert_int_equal(scsi_tmf_target_reset(f->sess, NULL), 0);
	expect_sense(run_on(f, s2, 0, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_POWER_ON_RESET);
	scsi_sess_free(s2);
	fx_free(f);
}

static void read_partial_block_completes_asynchronously(void **state)
{
	struct fx *f = fx_hold();
	struct scsi_cmd *c = &f->cmd;
	uint8_t cdb[10];

	cdb_rw10(cdb, 0x28, 3, 1);
	cmd_init(f, c, cdb, 10, f->buf, 100);
	c->data_out_len = 0;
	scsi_cmd_exec(c);
	assert_non_null(held.req);
	assert_int_equal(held.req->length_bytes, BS);
	memset(held.req->iov[0].iov_base, 0x3c, BS);
	held.req->done(held.req, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 100);
	assert_int_equal(f->buf[99], 0x3c);
	assert_int_equal(f->buf[100], 0);
	fx_free(f);
}

/* ---------------------------------------------------- CDB decoding */

static void cdb_length_follows_group_code(void **state)
{
	assert_int_equal(scsi_cdb_length(0x00), 6);
	assert_int_equal(scsi_cdb_length(0x1f), 6);
	assert_int_equal(scsi_cdb_length(0x28), 10);
	assert_int_equal(scsi_cdb_length(0x5a), 10);
	assert_int_equal(scsi_cdb_length(0x7f), 0); /* variable */
	assert_int_equal(scsi_cdb_length(0x60), 0); /* reserved */
	assert_int_equal(scsi_cdb_length(0x88), 16);
	assert_int_equal(scsi_cdb_length(0xa0), 12);
	assert_int_equal(scsi_cdb_length(0xc0), 0); /* vendor */
	assert_int_equal(scsi_cdb_length(0xff), 0);
}

static void cdb_decode_read_write_family(void **state)
{
	struct scsi_cdb_info in;
	uint8_t cdb[16];

	cdb_rw6(cdb, 0x08, 0x1fffff, 0);
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.cdb_len, 6);
	assert_int_equal(in.dir, SCSI_DIR_READ);
	assert_int_equal(in.lba, 0x1fffff);
	assert_int_equal(in.nblocks, 256);
	assert_int_equal(in.xfer_bytes, 256 * 512);
	cdb_rw10(cdb, 0x2a, 0xdeadbeef, 8);
	cdb[1] = 0x08;
	assert_int_equal(scsi_cdb_decode(cdb, 4096, &in), 0);
	assert_int_equal(in.dir, SCSI_DIR_WRITE);
	assert_true(in.fua);
	assert_int_equal(in.lba, 0xdeadbeef);
	assert_int_equal(in.xfer_bytes, 8 * 4096);
	cdb_rw12(cdb, 0xa8, 7, 0x10000);
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.cdb_len, 12);
	assert_int_equal(in.nblocks, 0x10000);
	cdb_rw16(cdb, 0x8a, 0x123456789abcull, 3);
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.cdb_len, 16);
	assert_int_equal(in.lba, 0x123456789abcull);
	assert_int_equal(in.xfer_bytes, 3 * 512);
	cdb_rw12(cdb, 0xae, 9, 2); /* WRITE AND VERIFY(12) */
	assert_int_equal(scsi_cdb_decode(cdb, 512, &in), 0);
	assert_int_equal(in.dir, SCSI_DIR_WRITE);
	assert_int_equal(in.lba, 9);
	assert_int_equal(in.xfer_bytes, 2 * 512);
}

/* Only the READ/WRITE family decodes here; every other command decodes
 * its own CDB in its handler. */
static void cdb_decode_refuses_other_commands(void **state)
{
	static const uint8_t others[] = {0x00, 0x12, 0x2f, 0x42, 0x5f,
					 0x89, 0x93, 0x9e, 0xa0, 0xc7};
	struct scsi_cdb_info in;
	uint8_t cdb[16] = {0};

	for (size_t i = 0; i < sizeof(others); i++) {
		cdb[0] = others[i];
		assert_int_equal(scsi_cdb_decode(cdb, 512, &in), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(tur_on_unmapped_lun_is_lu_not_supported),
		T(request_sense_on_unmapped_lun_returns_lu_not_supported),
		T(unknown_opcode_is_invalid_command_operation_code),
		cmocka_unit_test(ua_after_map_is_reported_once_then_cleared),
		cmocka_unit_test(
			inquiry_and_report_luns_neither_blocked_nor_clear_ua),
		cmocka_unit_test(request_sense_returns_and_clears_ua),
		T(request_sense_desc_bit_returns_descriptor_format),
		T(ua_queue_keeps_oldest_when_full_and_reset_supersedes),
		cmocka_unit_test(backstore_errors_map_to_sense),
		cmocka_unit_test(failed_sync_cache_names_no_lba),
		cmocka_unit_test(
			preempt_and_abort_completes_after_the_aborted_command),
		cmocka_unit_test(
			preempt_and_abort_waits_for_the_transports_held_tasks),
		cmocka_unit_test(lu_reset_aborts_in_flight_command_and_sets_ua),
		cmocka_unit_test(abort_task_marks_only_that_tag),
		cmocka_unit_test(
			write_overlapping_compare_and_write_waits_for_it),
		cmocka_unit_test(
			clear_task_set_answers_other_nexus_task_aborted),
		cmocka_unit_test(read_partial_block_completes_asynchronously),
		cmocka_unit_test(cdb_length_follows_group_code),
		cmocka_unit_test(cdb_decode_read_write_family),
		cmocka_unit_test(cdb_decode_refuses_other_commands),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
