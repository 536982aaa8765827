/*
 * sbc_io.c — what the block command sets share: LBA range and write
 * protection checks, the Data-Out a command carries, backstore requests,
 * and chains (a command done as a sequence of backstore requests: COMPARE
 * AND WRITE, WRITE SAME, UNMAP, EXTENDED COPY, SANITIZE).  It calls no
 * command set: sbc.c, sbc_cmp.c, sbc_lbp.c, sbc_sanitize.c and xcopy.c
 * call it (ci/check-layers.sh).
 */
#include <errno.h>
#include <stdlib.h>

#include "env.h"
#include "scsi/scsi_int.h"

bool sbc_check_range(struct scsi_cmd *cmd, uint64_t lba, uint64_t nblocks)
{
	if (!sbc_lba_in_range(cmd->lu, lba, nblocks)) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return false;
	}
	return true;
}

bool sbc_check_writable(struct scsi_cmd *cmd)
{
	if (scsi_itl_write_protected(cmd->itl)) {
		scsi_fail(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
		return false;
	}
	return true;
}

static void bs_start_lu(struct scsi_cmd *cmd, struct scsi_lu *lu, enum bs_op op,
			uint32_t flags, uint64_t lba, void *buf, uint64_t len,
			bs_done_fn done)
{
	struct bs_req *r = &cmd->bsreq;
	uint32_t bs = lu->bs->block_size;

	/* Every request is whole blocks (the handlers checked the range
	 * against the capacity of their epoch: lu_live.c), with a buffer
	 * exactly when it moves data, and only a flush moves nothing. */
	ut_assert(len % bs == 0);
	ut_assert((buf != NULL) == (op == BS_OP_READ || op == BS_OP_WRITE));
	ut_assert((len == 0) == (op == BS_OP_FLUSH));
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->flags = flags;
	r->offset_bytes = lba * lu->bs->block_size;
	r->length_bytes = len;
	if (len) {
		cmd->bsiov.iov_base = buf;
		cmd->bsiov.iov_len = len;
		r->iov = &cmd->bsiov;
		r->iovcnt = 1;
	}
	r->done = done;
	r->caller = cmd;
	bs_submit(lu->bs, r);
}

void sbc_bs_start_iov(struct scsi_cmd *cmd, enum bs_op op, uint32_t flags,
		      uint64_t lba, void *buf, uint64_t buf_len,
		      uint64_t length_bytes, bs_done_fn done)
{
	struct bs_req *r = &cmd->bsreq;
	struct scsi_lu *lu = cmd->lu;

	memset(r, 0, sizeof(*r));
	r->op = op;
	r->flags = flags;
	r->offset_bytes = lba * lu->bs->block_size;
	r->length_bytes = length_bytes;
	cmd->bsiov.iov_base = buf;
	cmd->bsiov.iov_len = buf_len;
	r->iov = &cmd->bsiov;
	r->iovcnt = 1;
	r->done = done;
	r->caller = cmd;
	bs_submit(lu->bs, r);
}

void sbc_bs_start(struct scsi_cmd *cmd, enum bs_op op, uint32_t flags,
		  uint64_t lba, void *buf, uint64_t len, bs_done_fn done)
{
	bs_start_lu(cmd, cmd->lu, op, flags, lba, buf, len, done);
}

/* With the write cache disabled (WCE=0) every write is durable when it
 * completes (SBC-3 §4.15), so it goes to the backstore as FUA. */
uint32_t sbc_write_flags(const struct scsi_cmd *cmd, bool fua)
{
	return (fua || !cmd->lu->mode.wce) ? BS_F_FUA : 0;
}

bool sbc_have_data_out(struct scsi_cmd *cmd, uint64_t bytes)
{
	if (cmd->data_out_len < bytes || !cmd->buf) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
		return false;
	}
	return true;
}

uint64_t sbc_data_out_bytes(const struct scsi_cmd *cmd, uint64_t bytes)
{
	uint64_t n;

	if (!cmd->buf)
		return 0;
	n = cmd->data_out_len < bytes ? cmd->data_out_len : bytes;
	/* Never more than arrived, and all of it inside the buffer. */
	ut_assert(n <= cmd->data_out_len);
	ut_assert(n <= cmd->buf_cap);
	return n;
}

/* ------------------------------------------------------------- chains */

static void chain_finish(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	ut_assert(cmd->priv == ch);
	ut_assert(!ch->looping);
	if (ch->fini)
		ch->fini(cmd, ch);
	if (ch->status < 0)
		scsi_fail_bs(cmd, ch->status, ch->err_writing, ch->err_lba);
	free(ch->buf);
	free(ch->ctx);
	free(ch);
	cmd->priv = NULL;
	scsi_cmd_complete(cmd);
}

static void chain_run(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	/* One step at a time: never re-entered (chain_done trampolines). */
	ut_assert(cmd->priv == ch);
	ut_assert(!ch->looping);
	ch->looping = true;
	for (;;) {
		ch->again = false;
		if (ch->status < 0 || !ch->step(cmd, ch))
			break;
		if (!ch->again) {
			/* in flight: chain_done() resumes us */
			ch->looping = false;
			return;
		}
	}
	ch->looping = false;
	chain_finish(cmd, ch);
}

static void chain_done(struct bs_req *req, int status)
{
	struct scsi_cmd *cmd = req->caller;
	struct sbc_chain *ch = cmd->priv;

	ut_assert(req == &cmd->bsreq);
	ut_assert(ch != NULL && ch->step != NULL);
	ut_assert(!ch->again); /* one request in flight per chain */
	if (status < 0 && ch->status == 0)
		ch->status = status;
	if (ch->looping) {
		ch->again = true; /* completed inside step(): loop on */
		return;
	}
	chain_run(cmd, ch);
}

struct sbc_chain *sbc_chain_new(struct scsi_cmd *cmd, sbc_step_fn step,
				uint64_t buf_len)
{
	struct sbc_chain *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return NULL;
	if (buf_len) {
		ch->buf = malloc(buf_len);
		if (!ch->buf) {
			free(ch);
			return NULL;
		}
		ch->buf_len = buf_len;
	}
	ch->step = step;
	ut_assert(step != NULL);
	ut_assert((ch->buf != NULL) == (ch->buf_len > 0));
	return ch;
}

enum scsi_rc sbc_chain_start(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	/* One chain per command, which owns cmd->priv until it ends. */
	ut_assert(cmd->priv == NULL);
	if (!ch) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_RC_DONE;
	}
	ut_assert(ch->stage == 0 && ch->status == 0);
	cmd->priv = ch;
	chain_run(cmd, ch);
	return SCSI_RC_ASYNC;
}

void sbc_chain_submit(struct scsi_cmd *cmd, struct sbc_chain *ch, enum bs_op op,
		      uint32_t flags, uint64_t lba, void *buf, uint64_t len)
{
	uint32_t bs = cmd->lu->bs->block_size;

	ut_assert(cmd->priv == ch && ch->looping);
	/* Range-lock ownership: what a chain changes on its own LU lies
	 * inside the range it holds (WRITE SAME, UNMAP, COMPARE AND WRITE,
	 * ORWRITE, WRITE AND VERIFY, a truncated last block). */
	ut_assert(op == BS_OP_READ || (cmd->priv_state & CMD_RANGE));
	ut_assert(op == BS_OP_READ ||
		  (lba >= cmd->range_lba &&
		   lba + len / bs <= cmd->range_lba + cmd->range_blocks));
	ch->err_writing = op != BS_OP_READ;
	ch->err_lba = lba;
	sbc_bs_start(cmd, op, flags, lba, buf, len, chain_done);
}

void sbc_chain_submit_same(struct scsi_cmd *cmd, struct sbc_chain *ch,
			   uint32_t flags, uint64_t lba, void *block,
			   uint64_t length_bytes)
{
	ch->err_writing = true;
	ch->err_lba = lba;
	sbc_bs_start_iov(cmd, BS_OP_WRITE_SAME, flags, lba, block,
			 cmd->lu->bs->block_size, length_bytes, chain_done);
}

void sbc_chain_submit_lu(struct scsi_cmd *cmd, struct sbc_chain *ch,
			 struct scsi_lu *lu, enum bs_op op, uint64_t lba,
			 void *buf, uint64_t len)
{
	/* EXTENDED COPY: a read of the source, then a write of the target,
	 * chunk by chunk; the write is durable when the target LU's write
	 * cache is off, as any write to it (sbc_write_flags). */
	uint32_t flags = op == BS_OP_WRITE && !lu->mode.wce ? BS_F_FUA : 0;

	ut_assert(cmd->priv == ch && ch->looping);
	ut_assert(op == BS_OP_READ || op == BS_OP_WRITE);
	ch->err_writing = op != BS_OP_READ;
	ch->err_lba = lba;
	bs_start_lu(cmd, lu, op, flags, lba, buf, len, chain_done);
}

void sbc_fail_miscompare(struct scsi_cmd *cmd, uint64_t offset)
{
	struct scsi_sense_opts o = {.info_valid = true, .info = offset};

	scsi_fail_opts(cmd, SK_MISCOMPARE, ASC_MISCOMPARE_VERIFY, &o);
}
