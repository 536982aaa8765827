/*
 * sbc_cmp.c — block commands that read before they write, or compare:
 * VERIFY with BYTCHK, COMPARE AND WRITE, ORWRITE, WRITE AND VERIFY.
 *
 * Each runs as a chain of backstore requests (sbc.c) in stages:
 *
 *   VERIFY BYTCHK 01b/11b   read -> compare
 *   COMPARE AND WRITE       lock -> read -> compare -> write (FUA as asked)
 *   ORWRITE                 lock -> read -> OR -> write
 *   WRITE AND VERIFY        write (FUA) -> [BYTCHK: read -> compare]
 *
 * COMPARE AND WRITE and ORWRITE hold their LBA range exclusively
 * (scsi_range_acquire), so no write lands between their read and their
 * write (SBC-4 §5.3: the compare and the write are one atomic operation
 * with respect to other commands).
 */
#include <errno.h>
#include <stdlib.h>

#include "env.h"
#include "scsi/scsi_int.h"

enum { ST_READ, ST_CHECK, ST_WRITE, ST_DONE };

static uint32_t lu_bs(const struct scsi_cmd *cmd)
{
	return cmd->lu->bs->block_size;
}

/* Compare medium data with expected data; the first difference fails the
 * command with MISCOMPARE and INFORMATION = its byte offset within the
 * compared data (SBC-4 §5.3, §5.29).  pattern_len < len repeats the
 * expected data every pattern_len bytes (VERIFY BYTCHK 11b). */
static bool compare(struct scsi_cmd *cmd, const uint8_t *medium,
		    const uint8_t *want, uint64_t len, uint64_t pattern_len)
{
	/* The expected data repeats whole: a block, or all of it. */
	ut_assert(pattern_len > 0);
	ut_assert(len % pattern_len == 0);
	for (uint64_t i = 0; i < len; i++) {
		if (medium[i] != want[i % pattern_len]) {
			sbc_fail_miscompare(cmd, i);
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------ VERIFY BYTCHK */

static bool verify_step(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	switch (ch->stage++) {
	case ST_READ:
		sbc_chain_submit(cmd, ch, BS_OP_READ, 0, ch->lba, ch->buf,
				 ch->buf_len);
		return true;
	default:
		ut_assert(ch->stage == ST_CHECK + 1); /* after the read */
		ut_assert(ch->status == 0);
		compare(cmd, ch->buf, cmd->buf, ch->buf_len,
			ch->bs_flags ? lu_bs(cmd) : ch->buf_len);
		return false;
	}
}

enum scsi_rc sbc_verify_bytchk(struct scsi_cmd *cmd, uint64_t lba,
			       uint32_t nblocks, bool one_block)
{
	uint64_t bytes = (uint64_t)nblocks * lu_bs(cmd);
	uint64_t out = one_block ? lu_bs(cmd) : bytes;
	struct sbc_chain *ch;

	ut_assert(nblocks > 0);
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	cmd->xfer_len = out;
	if (!sbc_have_data_out(cmd, out))
		return SCSI_RC_DONE;
	ch = sbc_chain_new(cmd, verify_step, bytes);
	if (ch) {
		ch->lba = lba;
		ch->bs_flags = one_block; /* used as "repeat one block" */
	}
	return sbc_chain_start(cmd, ch);
}

/* -------------------------------------------------- COMPARE AND WRITE */

static bool caw_step(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	switch (ch->stage++) {
	case ST_READ:
		sbc_chain_submit(cmd, ch, BS_OP_READ, 0, ch->lba, ch->buf,
				 ch->buf_len);
		return true;
	case ST_CHECK:
		/* SBC-4 §5.3: no write lands between our read and our
		 * write: the range is ours alone throughout. */
		ut_assert(cmd->priv_state & CMD_RANGE_EXCL);
		ut_assert(2 * ch->buf_len == cmd->data_out_len);
		if (!compare(cmd, ch->buf, cmd->buf, ch->buf_len, ch->buf_len))
			return false;
		sbc_chain_submit(cmd, ch, BS_OP_WRITE, ch->bs_flags, ch->lba,
				 cmd->buf + ch->buf_len, ch->buf_len);
		return true;
	default:
		ut_assert(ch->stage == ST_WRITE + 1);
		return false;
	}
}

/* A backstore that compares and writes by itself (BS_CAP_COMPARE_AND_WRITE:
 * rbd_aio_compare_and_write, atomic at the OSD against every client of
 * the image) answered. */
static void caw_native_done(struct bs_req *req, int status)
{
	struct scsi_cmd *cmd = req->caller;
	uint64_t lba = req->offset_bytes / lu_bs(cmd);
	uint64_t bytes = req->length_bytes;
	struct sbc_chain *ch;

	if (status == -EOPNOTSUPP) {
		/* Not this one (across objects): read, compare, write. */
		ch = sbc_chain_new(cmd, caw_step, bytes);
		if (ch) {
			ch->lba = lba;
			ch->bs_flags = req->flags;
		}
		/* out of memory for the chain: failed here, and completed
		 * here (it was lost, never answered: `target oom`) */
		if (sbc_chain_start(cmd, ch) == SCSI_RC_DONE)
			scsi_cmd_complete(cmd);
		return;
	}
	if (status == -EILSEQ)
		sbc_fail_miscompare(cmd, req->miscompare_bytes);
	else if (status < 0)
		scsi_fail_bs(cmd, status, true, lba);
	scsi_cmd_complete(cmd);
}

/*
 * COMPARE AND WRITE (SBC-4 §5.3): 1 WRPROTECT 7-5, DPO 4, FUA 3;
 * 2..9 LBA; 13 NUMBER OF LOGICAL BLOCKS.  The Data-Out buffer holds the
 * verify data then the write data, 2 x blocks; any other length is
 * refused (INVALID FIELD IN INFORMATION UNIT) before touching the medium.
 */
enum scsi_rc sbc_compare_and_write(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint64_t lba = get_be64(cdb + 2);
	uint32_t n = cdb[13];
	uint64_t bytes = (uint64_t)n * lu_bs(cmd);
	struct sbc_chain *ch;

	if (cdb[1] & 0xe0) {
		scsi_fail_cdb(cmd, 1, 7);
		return SCSI_RC_DONE;
	}
	if (n > SCSI_MAX_CAW_BLOCKS) {
		scsi_fail_cdb(cmd, 13, -1);
		return SCSI_RC_DONE;
	}
	if (!sbc_check_range(cmd, lba, n) || !sbc_check_writable(cmd))
		return SCSI_RC_DONE;
	cmd->xfer_len = 2 * bytes;
	if (n == 0) {
		/* Data with no blocks to compare: the NUMBER OF LOGICAL
		 * BLOCKS field is what is wrong (e.g. 256 wrapped to 0). */
		if (cmd->data_out_len)
			scsi_fail_cdb(cmd, 13, -1);
		return SCSI_RC_DONE;
	}
	if (cmd->data_out_len != 2 * bytes || !cmd->buf) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
		return SCSI_RC_DONE;
	}
	if (!scsi_range_acquire(cmd, lba, n, true))
		return SCSI_RC_ASYNC;
	ut_assert(cmd->priv_state & CMD_RANGE_EXCL);
	ut_assert(2 * bytes <= cmd->buf_cap); /* verify + write data */
	if (cmd->lu->bs->caps & BS_CAP_COMPARE_AND_WRITE) {
		sbc_bs_start_iov(cmd, BS_OP_COMPARE_AND_WRITE,
				 sbc_write_flags(cmd, cdb[1] & 0x08), lba,
				 cmd->buf, 2 * bytes, bytes, caw_native_done);
		return SCSI_RC_ASYNC;
	}
	ch = sbc_chain_new(cmd, caw_step, bytes);
	if (ch) {
		ch->lba = lba;
		ch->bs_flags = sbc_write_flags(cmd, cdb[1] & 0x08);
	}
	return sbc_chain_start(cmd, ch);
}

/* ------------------------------------------------------------ ORWRITE */

static bool orwrite_step(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	switch (ch->stage++) {
	case ST_READ:
		sbc_chain_submit(cmd, ch, BS_OP_READ, 0, ch->lba, ch->buf,
				 ch->buf_len);
		return true;
	case ST_CHECK:
		/* Read, OR and write are one operation: the range is ours. */
		ut_assert(cmd->priv_state & CMD_RANGE_EXCL);
		ut_assert(ch->buf_len <= cmd->data_out_len);
		for (uint64_t i = 0; i < ch->buf_len; i++)
			ch->buf[i] |= cmd->buf[i];
		sbc_chain_submit(cmd, ch, BS_OP_WRITE, ch->bs_flags, ch->lba,
				 ch->buf, ch->buf_len);
		return true;
	default:
		return false;
	}
}

/* ORWRITE(16) (SBC-4 §5.8): 1 ORPROTECT 7-5, DPO 4, FUA 3; 2..9 LBA;
 * 10..13 TRANSFER LENGTH.  The medium becomes medium OR Data-Out. */
enum scsi_rc sbc_orwrite(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint64_t lba = get_be64(cdb + 2);
	uint32_t n = get_be32(cdb + 10);
	uint64_t bytes = (uint64_t)n * lu_bs(cmd);
	struct sbc_chain *ch;

	if (cdb[1] & 0xe0) {
		scsi_fail_cdb(cmd, 1, 7);
		return SCSI_RC_DONE;
	}
	if (!sbc_check_range(cmd, lba, n))
		return SCSI_RC_DONE;
	if (bytes > SCSI_MAX_XFER_BYTES) {
		scsi_fail_cdb(cmd, 10, -1);
		return SCSI_RC_DONE;
	}
	if (!sbc_check_writable(cmd))
		return SCSI_RC_DONE;
	cmd->xfer_len = bytes;
	if (n == 0 || !sbc_have_data_out(cmd, bytes))
		return SCSI_RC_DONE;
	if (!scsi_range_acquire(cmd, lba, n, true))
		return SCSI_RC_ASYNC;
	ut_assert(bytes <= cmd->data_out_len);
	ut_assert(cmd->priv_state & CMD_RANGE_EXCL);
	ch = sbc_chain_new(cmd, orwrite_step, bytes);
	if (ch) {
		ch->lba = lba;
		ch->bs_flags = sbc_write_flags(cmd, cdb[1] & 0x08);
	}
	return sbc_chain_start(cmd, ch);
}

/* --------------------------------------------- truncated last block */

static bool partial_step(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	uint32_t bs = lu_bs(cmd);

	ut_assert(ch->buf_len >= bs && ch->buf_len % bs == 0);
	/* left_blocks holds the data bytes: they end inside the last block */
	ut_assert(ch->left_blocks < ch->buf_len &&
		  ch->left_blocks > ch->buf_len - bs);
	switch (ch->stage++) {
	case ST_READ: /* the last, partly written block */
		sbc_chain_submit(cmd, ch, BS_OP_READ, 0,
				 ch->lba + ch->buf_len / bs - 1,
				 ch->buf + ch->buf_len - bs, bs);
		return true;
	case ST_CHECK:
		ut_assert(cmd->priv_state & CMD_RANGE_EXCL);
		memcpy(ch->buf, cmd->buf, ch->left_blocks);
		sbc_chain_submit(cmd, ch, BS_OP_WRITE, ch->bs_flags, ch->lba,
				 ch->buf, ch->buf_len);
		return true;
	default:
		return false;
	}
}

/* WRITE AND VERIFY with BYTCHK 01b cut short: the partial write, then
 * the blocks read back into ctx and what arrived compared with them
 * (SBC-4 §5.44: the verification is of the data transferred). */
static bool partial_verify_step(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	uint8_t *back = ch->ctx;

	ut_assert(back != NULL);
	if (ch->stage <= ST_CHECK)
		return partial_step(cmd, ch);
	switch (ch->stage++) {
	case ST_WRITE: /* the write is done: read it back */
		sbc_chain_submit(cmd, ch, BS_OP_READ, 0, ch->lba, back,
				 ch->buf_len);
		return true;
	default:
		ut_assert(ch->left_blocks <= cmd->data_out_len);
		compare(cmd, back, cmd->buf, ch->left_blocks, ch->left_blocks);
		return false;
	}
}

static enum scsi_rc write_partial(struct scsi_cmd *cmd, uint64_t lba,
				  uint64_t data_bytes, uint32_t bs_flags,
				  bool verify)
{
	uint32_t bs = lu_bs(cmd);
	uint64_t blocks = (data_bytes + bs - 1) / bs;
	struct sbc_chain *ch;

	/* Only a truncated transfer comes here, never more than arrived. */
	ut_assert(data_bytes % bs != 0);
	ut_assert(data_bytes <= cmd->data_out_len);
	if (!scsi_range_acquire(cmd, lba, blocks, true))
		return SCSI_RC_ASYNC;
	ch = sbc_chain_new(cmd, verify ? partial_verify_step : partial_step,
			   blocks * bs);
	if (ch && verify) {
		ch->ctx = malloc(blocks * bs); /* freed with the chain */
		if (!ch->ctx) {
			free(ch->buf);
			free(ch);
			ch = NULL; /* sbc_chain_start: HARDWARE ERROR */
		}
	}
	if (ch) {
		ch->lba = lba;
		ch->left_blocks = data_bytes; /* bytes, here */
		ch->bs_flags = bs_flags;
	}
	return sbc_chain_start(cmd, ch);
}

enum scsi_rc sbc_write_partial(struct scsi_cmd *cmd, uint64_t lba,
			       uint64_t data_bytes, uint32_t bs_flags)
{
	return write_partial(cmd, lba, data_bytes, bs_flags, false);
}

/* ---------------------------------------------------- WRITE AND VERIFY */

static bool write_verify_step(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	uint64_t bytes = ch->left_blocks * lu_bs(cmd);

	ut_assert(bytes > 0 && bytes <= cmd->data_out_len);
	ut_assert(ch->buf == NULL || ch->buf_len == bytes);
	switch (ch->stage++) {
	case 0:
		sbc_chain_submit(cmd, ch, BS_OP_WRITE, BS_F_FUA, ch->lba,
				 cmd->buf, bytes);
		return true;
	case 1:
		if (!ch->buf)
			return false;
		sbc_chain_submit(cmd, ch, BS_OP_READ, 0, ch->lba, ch->buf,
				 bytes);
		return true;
	default:
		compare(cmd, ch->buf, cmd->buf, bytes, bytes);
		return false;
	}
}

/*
 * WRITE AND VERIFY(10/12/16) (SBC-4 §5.44-5.46): 1 WRPROTECT 7-5, DPO 4,
 * BYTCHK 2-1.  The write is made durable (the verification is of the
 * medium), then with BYTCHK 01b read back and compared.
 */
enum scsi_rc sbc_write_verify(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint8_t bytchk = (cdb[1] >> 1) & 0x3;
	struct scsi_cdb_info in;
	struct sbc_chain *ch;
	uint64_t data;

	scsi_cdb_decode(cdb, lu_bs(cmd), &in);
	if (cdb[1] & 0xe0) {
		scsi_fail_cdb(cmd, 1, 7);
		return SCSI_RC_DONE;
	}
	if (bytchk > 1) {
		scsi_fail_cdb(cmd, 1, 2);
		return SCSI_RC_DONE;
	}
	if (!sbc_check_range(cmd, in.lba, in.nblocks))
		return SCSI_RC_DONE;
	if (in.xfer_bytes > SCSI_MAX_XFER_BYTES) {
		scsi_fail_cdb(cmd,
			      cdb[0] == 0x2e   ? 7
			      : cdb[0] == 0xae ? 6
					       : 10,
			      -1);
		return SCSI_RC_DONE;
	}
	if (!sbc_check_writable(cmd))
		return SCSI_RC_DONE;
	cmd->xfer_len = in.xfer_bytes;
	data = sbc_data_out_bytes(cmd, in.xfer_bytes);
	if (data == 0)
		return SCSI_RC_DONE;
	/* Truncated by EDTL inside a block: write what came (the rest of
	 * the last block kept), and with BYTCHK 01b compare that much. */
	if (data % lu_bs(cmd))
		return write_partial(cmd, in.lba, data, BS_F_FUA, bytchk != 0);
	in.nblocks = (uint32_t)(data / lu_bs(cmd));
	in.xfer_bytes = data;
	ut_assert(in.nblocks > 0);
	ut_assert(data <= cmd->data_out_len);
	if (!scsi_range_acquire(cmd, in.lba, in.nblocks, false))
		return SCSI_RC_ASYNC;
	ch = sbc_chain_new(cmd, write_verify_step, bytchk ? in.xfer_bytes : 0);
	if (ch) {
		ch->lba = in.lba;
		ch->left_blocks = in.nblocks;
	}
	return sbc_chain_start(cmd, ch);
}
