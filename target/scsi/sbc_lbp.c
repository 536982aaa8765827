/*
 * sbc_lbp.c — WRITE SAME(10/16), UNMAP and GET LBA STATUS: the commands of
 * logical block provisioning (SBC-4 §4.7).
 *
 * A thin LU (bs->thin) advertises LBPME (READ CAPACITY 16), LBPU, LBPWS
 * and LBPWS10 (VPD B2h) and unmaps; on a fully provisioned LU, UNMAP is an
 * unsupported opcode and WRITE SAME with UNMAP=1 an invalid field, so that
 * what works always matches what is advertised.  WRITE SAME with UNMAP=1
 * deallocates the range whatever the Data-Out block holds: the initiator
 * asked for deallocation, and with LBPRZ=1 the blocks then read as zeros
 * (libiscsi's WriteSame*.UnmapUntilEnd sends a non-zero block and expects
 * zeros back).  ANCHOR is not supported (ANC_SUP=0).
 */
#include <stdlib.h>

#include "env.h"
#include "scsi/scsi_int.h"

static uint32_t lu_bs(const struct scsi_cmd *cmd)
{
	return cmd->lu->bs->block_size;
}

/* One request per piece of at most the pattern's size. */
static bool ws_write_step(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	uint64_t pattern_blocks = ch->buf_len / lu_bs(cmd);
	uint64_t k = ch->left_blocks < pattern_blocks ? ch->left_blocks
						      : pattern_blocks;

	/* The pattern buffer is whole blocks, never empty (ws_start). */
	ut_assert(pattern_blocks > 0);
	ut_assert(ch->buf_len % lu_bs(cmd) == 0);
	if (k == 0)
		return false;
	sbc_chain_submit(cmd, ch, BS_OP_WRITE, ch->bs_flags, ch->lba, ch->buf,
			 k * lu_bs(cmd));
	ch->lba += k;
	ch->left_blocks -= k;
	return true;
}

/* The whole range in one request, where the backstore repeats the block
 * itself (BS_CAP_WRITE_SAME: rbd_aio_writesame). */
static bool ws_native_step(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	if (ch->left_blocks == 0)
		return false;
	sbc_chain_submit_same(cmd, ch, ch->bs_flags, ch->lba, ch->buf,
			      ch->left_blocks * lu_bs(cmd));
	ch->left_blocks = 0;
	return true;
}

static bool ws_unmap_step(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	ut_assert(cmd->lu->thin); /* sbc_write_same refused UNMAP=1 else */
	ut_assert(ch->buf == NULL);
	if (ch->left_blocks == 0)
		return false;
	sbc_chain_submit(cmd, ch, BS_OP_UNMAP, sbc_write_flags(cmd, false),
			 ch->lba, NULL, ch->left_blocks * lu_bs(cmd));
	ch->left_blocks = 0;
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

static enum scsi_rc ws_start(struct scsi_cmd *cmd, uint64_t lba, uint64_t n,
			     bool unmap, bool ndob)
{
	uint32_t bs = lu_bs(cmd);
	bool zero = ndob || all_zero(cmd->buf, bs);
	struct sbc_chain *ch;

	ut_assert(n > 0 && n <= SCSI_MAX_WS_BLOCKS);
	ut_assert(ndob || cmd->data_out_len == bs);
	if (!scsi_range_acquire(cmd, lba, n, false))
		return SCSI_RC_ASYNC;
	if (unmap) {
		ch = sbc_chain_new(cmd, ws_unmap_step, 0);
	} else if (cmd->lu->bs->caps & BS_CAP_WRITE_SAME) {
		ch = sbc_chain_new(cmd, ws_native_step, bs);
		if (ch && zero)
			memset(ch->buf, 0, bs);
		else if (ch)
			memcpy(ch->buf, cmd->buf, bs);
		if (ch)
			ch->bs_flags = sbc_write_flags(cmd, false);
	} else {
		uint64_t pattern_blocks = SCSI_WS_CHUNK_BYTES / bs;

		if (pattern_blocks > n)
			pattern_blocks = n;
		ch = sbc_chain_new(cmd, ws_write_step, pattern_blocks * bs);
		for (uint64_t i = 0; ch && i < pattern_blocks; i++) {
			if (zero)
				memset(ch->buf + i * bs, 0, bs);
			else
				memcpy(ch->buf + i * bs, cmd->buf, bs);
		}
		if (ch)
			ch->bs_flags = sbc_write_flags(cmd, false);
	}
	if (ch) {
		ch->lba = lba;
		ch->left_blocks = n;
	}
	return sbc_chain_start(cmd, ch);
}

/*
 * WRITE SAME(10) (SBC-4 §5.50): 1 WRPROTECT 7-5, ANCHOR 4, UNMAP 3,
 * obsolete PBDATA/LBDATA 2-1; 2..5 LBA; 7..8 NUMBER OF LOGICAL BLOCKS.
 * WRITE SAME(16) (§5.51): 1 ... NDOB 0; 2..9 LBA; 10..13 blocks.
 * NUMBER OF LOGICAL BLOCKS 0 means "to the last LBA" (WSNZ=0), still
 * bounded by MAXIMUM WRITE SAME LENGTH.  The Data-Out buffer is exactly
 * one block unless NDOB.
 */
enum scsi_rc sbc_write_same(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool sixteen = cdb[0] == 0x93;
	uint8_t f = cdb[1];
	bool unmap = f & 0x08, ndob = sixteen && (f & 0x01);
	uint64_t lba = sixteen ? get_be64(cdb + 2) : get_be32(cdb + 2);
	uint64_t n = sixteen ? get_be32(cdb + 10) : get_be16(cdb + 7);
	uint32_t bs = lu_bs(cmd);

	if (f & 0xe0) {
		scsi_fail_cdb(cmd, 1, 7); /* WRPROTECT without PI */
		return SCSI_RC_DONE;
	}
	if (f & 0x06) {
		scsi_fail_cdb(cmd, 1, (f & 0x04) ? 2 : 1);
		return SCSI_RC_DONE;
	}
	if (f & 0x10) { /* ANCHOR: ANC_SUP=0 */
		scsi_fail_cdb(cmd, 1, 4);
		return SCSI_RC_DONE;
	}
	if (!sbc_check_range(cmd, lba, n))
		return SCSI_RC_DONE;
	if (n == 0)
		n = cmd->lu->nblocks - lba;
	if (n > SCSI_MAX_WS_BLOCKS) {
		scsi_fail_cdb(cmd, sixteen ? 10 : 7, -1);
		return SCSI_RC_DONE;
	}
	if (!sbc_check_writable(cmd))
		return SCSI_RC_DONE;
	/* After write protection: a read-only LU answers DATA PROTECT to
	 * every write, supported flavour or not (libiscsi ReadOnlySBC). */
	if (unmap && !cmd->lu->thin) {
		scsi_fail_cdb(cmd, 1, 3);
		return SCSI_RC_DONE;
	}
	cmd->xfer_len = ndob ? 0 : bs;
	if (!ndob && (cmd->data_out_len != bs || !cmd->buf)) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
		return SCSI_RC_DONE;
	}
	if (n == 0)
		return SCSI_RC_DONE;
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	ut_assert(!unmap || cmd->lu->thin); /* LBPWS only where thin */
	return ws_start(cmd, lba, n, unmap, ndob);
}

/* -------------------------------------------------------------- UNMAP */

static bool unmap_step(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	/* The descriptors were checked by unmap_check_descs() and live in
	 * the command's Data-Out buffer until it completes. */
	ut_assert(ch->ndesc <= SCSI_MAX_UNMAP_DESC && ch->next <= ch->ndesc);
	ut_assert(ch->desc == cmd->buf + 8);
	while (ch->next < ch->ndesc) {
		const uint8_t *d = ch->desc + 16 * ch->next++;
		uint64_t lba = get_be64(d);
		uint32_t n = get_be32(d + 8);

		if (n == 0)
			continue;
		sbc_chain_submit(cmd, ch, BS_OP_UNMAP,
				 sbc_write_flags(cmd, false), lba, NULL,
				 (uint64_t)n * lu_bs(cmd));
		return true;
	}
	return false;
}

/* Validate the block descriptors; false with sense set.  Reports the
 * hull of the ranges for the range lock. */
static bool unmap_check_descs(struct scsi_cmd *cmd, const uint8_t *d,
			      uint32_t ndesc, uint64_t *lo, uint64_t *hi)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (uint32_t i = 0; i < ndesc; i++, d += 16) {
		uint64_t lba = get_be64(d);
		uint32_t n = get_be32(d + 8);

		if (n > SCSI_MAX_UNMAP_BLOCKS) {
			scsi_fail_param(cmd, 8 + 16 * i + 8, -1);
			return false;
		}
		if (!sbc_check_range(cmd, lba, n))
			return false;
		if (n && lba < *lo)
			*lo = lba;
		if (n && lba + n > *hi)
			*hi = lba + n;
	}
	/* The hull: empty (hi 0), or a non-empty range inside the LU. */
	ut_assert(*hi == 0 || *lo < *hi);
	ut_assert(*hi != 0 || *lo == UINT64_MAX); /* all empty */
	return true;
}

/*
 * UNMAP (SBC-4 §5.32): 1 ANCHOR 0; 7..8 PARAMETER LIST LENGTH.
 * Parameter list: 0..1 UNMAP DATA LENGTH (bytes after it), 2..3 UNMAP
 * BLOCK DESCRIPTOR DATA LENGTH, 8.. descriptors of 16 bytes (8 LBA,
 * 4 NUMBER OF LOGICAL BLOCKS, 4 reserved).
 *   - list length 0: nothing to do, GOOD;
 *   - list length 1..7: PARAMETER LIST LENGTH ERROR;
 *   - a header that claims more bytes than the list holds: PARAMETER LIST
 *     LENGTH ERROR (the list is shorter than its own header says);
 *   - a trailing partial descriptor is ignored (§5.32.2);
 *   - more descriptors than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT, or more
 *     blocks in one than MAXIMUM UNMAP LBA COUNT: INVALID FIELD IN
 *     PARAMETER LIST;
 *   - a descriptor past the capacity: LBA OUT OF RANGE, nothing unmapped.
 */
enum scsi_rc sbc_unmap(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint32_t plen = get_be16(cdb + 7);
	const uint8_t *p = cmd->buf;
	uint32_t ndesc, bdl;
	uint64_t lo, hi;
	struct sbc_chain *ch;

	/* Write protection first, as for every command that changes the
	 * medium; then a fully provisioned LU has no UNMAP (LBPU=0). */
	if (!sbc_check_writable(cmd))
		return SCSI_RC_DONE;
	if (!cmd->lu->thin) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return SCSI_RC_DONE;
	}
	if (cdb[1] & 0x01) {
		scsi_fail_cdb(cmd, 1, 0);
		return SCSI_RC_DONE;
	}
	cmd->xfer_len = plen;
	if (plen == 0)
		return SCSI_RC_DONE;
	if (!sbc_have_data_out(cmd, plen))
		return SCSI_RC_DONE;
	bdl = plen >= 8 ? get_be16(p + 2) : 0;
	if (plen < 8 || (uint32_t)get_be16(p) + 2 > plen || bdl + 8 > plen) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return SCSI_RC_DONE;
	}
	ndesc = bdl / 16;
	if (ndesc > SCSI_MAX_UNMAP_DESC) {
		scsi_fail_param(cmd, 2, -1);
		return SCSI_RC_DONE;
	}
	if (!unmap_check_descs(cmd, p + 8, ndesc, &lo, &hi))
		return SCSI_RC_DONE;
	if (hi == 0)
		return SCSI_RC_DONE; /* every descriptor is empty */
	ut_assert(8 + 16 * ndesc <= plen);
	ut_assert(cmd->lu->thin && plen <= cmd->data_out_len);
	if (!scsi_range_acquire(cmd, lo, hi - lo, false))
		return SCSI_RC_ASYNC;
	ch = sbc_chain_new(cmd, unmap_step, 0);
	if (ch) {
		ch->desc = p + 8;
		ch->ndesc = ndesc;
	}
	return sbc_chain_start(cmd, ch);
}

/* ---------------------------------------------------- GET LBA STATUS */

#define GLS_MAX_DESC 64u

/*
 * GET LBA STATUS (SBC-4 §5.7): SERVICE ACTION IN(16) 12h; 2..9 STARTING
 * LBA, 10..13 allocation length.  Descriptors (16 bytes: LBA, 4 extent
 * length in blocks, 1 provisioning status: 0 mapped, 1 deallocated) from
 * the starting LBA on, as many as the allocation length takes.  Only a
 * thin LU asks its backstore which ranges are deallocated.
 */
enum scsi_rc sbc_get_lba_status(struct scsi_cmd *cmd)
{
	const struct scsi_lu *lu = cmd->lu;
	struct bs_dev *bs = lu->bs;
	uint64_t lba = get_be64(cmd->cdb + 2);
	uint32_t alloc = get_be32(cmd->cdb + 10);
	uint8_t b[8 + 16 * GLS_MAX_DESC];
	/* descriptors the allocation length takes, a partial one included:
	 * in 64 bits, as alloc + 7 wraps 32 for the largest lengths */
	uint64_t take = alloc > 8 ? ((uint64_t)alloc - 8 + 15) / 16 : 1;
	uint32_t want = take < GLS_MAX_DESC ? (uint32_t)take : GLS_MAX_DESC;
	uint32_t n = 0;

	ut_assert(want >= 1 && want <= GLS_MAX_DESC);
	if (lba >= lu->nblocks) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return SCSI_RC_DONE;
	}
	memset(b, 0, sizeof(b));
	while (n < want && lba < lu->nblocks) {
		uint8_t *d = b + 8 + 16 * n++;
		uint64_t left = lu->nblocks - lba, run = left;
		bool mapped = true;

		/* A fully provisioned LU (LBPME=0) has every LBA mapped
		 * (SBC-4 §4.7.2), whatever the backstore holds. */
		if (bs->ops->lba_status && lu->thin) {
			run = bs->ops->lba_status(bs, lba * bs->block_size,
						  left * bs->block_size,
						  &mapped) /
			      bs->block_size;
			if (run == 0 || run > left)
				run = left;
		}
		if (run > 0xffffffffu)
			run = 0xffffffffu;
		ut_assert(run > 0 && run <= left); /* progress, in range */
		put_be64(d, lba);
		put_be32(d + 8, (uint32_t)run);
		d[12] = mapped ? 0 : 1;
		lba += run;
	}
	ut_assert(n <= GLS_MAX_DESC);
	put_be32(b, 4 + 16 * n);
	scsi_data_in(cmd, b, 8 + 16 * n, alloc);
	return SCSI_RC_DONE;
}
