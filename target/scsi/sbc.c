/*
 * sbc.c — block commands (SBC-3): READ/WRITE(6/10/12/16), VERIFY(10/12/16),
 * SYNCHRONIZE CACHE(10/16), READ CAPACITY(10/16).
 *
 * Checks run in this order for the READ/WRITE family:
 *   1. CDB fields (RDPROTECT/WRPROTECT without protection information:
 *      INVALID FIELD IN CDB, SBC-3 §5.8 table 35);
 *   2. LBA range (SBC-3 §4.5: LBA + transfer length beyond the capacity is
 *      LOGICAL BLOCK ADDRESS OUT OF RANGE, also for a transfer length 0);
 *   3. MAXIMUM TRANSFER LENGTH (SBC-3 §6.5.3: beyond it, INVALID FIELD IN
 *      CDB);
 *   4. for writes, write protection (DATA PROTECT, WRITE PROTECTED);
 *   5. transfer length 0: GOOD, no I/O (SBC-3 §5.8).
 *
 * Length mismatches between the CDB and the transport's expected data
 * transfer length (EDTL) follow FCP-4 §9.4.2 option a) carried over to
 * iSCSI (RFC 7143 §11.4.5.2): process the command normally, but move no
 * data beyond EDTL.  That is what libiscsi's residual tests demand
 * (test_read10_residuals.c; test_write_residuals.c in libiscsi 1.19, the
 * Debian version our conformance run uses, requires GOOD and exactly EDTL
 * bytes written; later versions also accept option b), INVALID FIELD IN
 * INFORMATION UNIT):
 *   - READ, EDTL < CDB bytes: transfer the first EDTL bytes, GOOD; the
 *     transport reports residual overflow from xfer_len.  A partial last
 *     block is read through a bounce buffer.
 *   - WRITE, EDTL > CDB bytes: write what the CDB asks, GOOD (underflow).
 *   - WRITE, fewer bytes received than the CDB asks: write exactly the
 *     bytes received, GOOD (overflow); a partial last block is merged with
 *     the medium (read-modify-write under an exclusive range lock), so the
 *     rest of that block keeps its old contents.  WRITE ATOMIC refuses the
 *     truncation instead (all or nothing): INVALID FIELD IN INFORMATION
 *     UNIT.
 * xfer_len is always the byte count the CDB asks for.
 */
#include <errno.h>
#include <stdlib.h>

#include "env.h"
#include "scsi/scsi_int.h"

struct sbc_rw {
	uint64_t lba;
	uint32_t nblocks;
	bool fua;
	uint8_t prot;	  /* RDPROTECT / WRPROTECT / VRPROTECT */
	uint8_t len_byte; /* CDB byte of the transfer length field */
};

/* Decode LBA, transfer length and flags of READ/WRITE/VERIFY CDBs. */
static void rw_decode(const uint8_t *cdb, struct sbc_rw *rw)
{
	memset(rw, 0, sizeof(*rw));
	switch (cdb[0] >> 5) {
	case 0: /* 6-byte: 21-bit LBA, length 0 means 256 (SBC-3 §5.7) */
		rw->lba = get_be24(cdb + 1) & 0x1fffff;
		rw->nblocks = cdb[4] ? cdb[4] : 256;
		rw->len_byte = 4;
		ut_assert(rw->nblocks >= 1 && rw->nblocks <= 256);
		return;
	case 1: /* 10-byte */
		rw->lba = get_be32(cdb + 2);
		rw->nblocks = get_be16(cdb + 7);
		rw->len_byte = 7;
		break;
	case 5: /* 12-byte */
		rw->lba = get_be32(cdb + 2);
		rw->nblocks = get_be32(cdb + 6);
		rw->len_byte = 6;
		break;
	default: /* 16-byte */
		rw->lba = get_be64(cdb + 2);
		rw->nblocks = get_be32(cdb + 10);
		rw->len_byte = 10;
		break;
	}
	rw->fua = cdb[1] & 0x08;
	rw->prot = cdb[1] >> 5;
	/* The sense field pointer of a bad length names a byte of the CDB. */
	ut_assert(rw->len_byte >= 6 && rw->len_byte <= 10);
	ut_assert(rw->prot <= 7);
}

/* Steps 1-3 of the order above; false with sense set on failure. */
static bool rw_check(struct scsi_cmd *cmd, const struct sbc_rw *rw,
		     uint32_t max_blocks)
{
	ut_assert(max_blocks > 0);
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	if (rw->prot) {
		scsi_fail_cdb(cmd, 1, 7);
		return false;
	}
	if (!sbc_check_range(cmd, rw->lba, rw->nblocks))
		return false;
	if (rw->nblocks > max_blocks) {
		scsi_fail_cdb(cmd, rw->len_byte, -1);
		return false;
	}
	return true;
}

static uint32_t max_xfer_blocks(const struct scsi_cmd *cmd)
{
	return SCSI_MAX_XFER_BYTES / cmd->lu->bs->block_size;
}

static uint64_t req_lba(const struct scsi_cmd *cmd)
{
	return cmd->bsreq.offset_bytes / cmd->lu->bs->block_size;
}

/* --------------------------------------------------------------- READ */

static uint32_t read_want(const struct scsi_cmd *cmd)
{
	uint64_t want = cmd->xfer_len;

	if (want > cmd->edtl)
		want = cmd->edtl;
	if (want > cmd->buf_cap)
		want = cmd->buf_cap;
	if (!cmd->buf)
		want = 0;
	/* Data-In never leaves the buffer nor goes beyond EDTL (FCP-4
	 * §9.4.2 a), see the top of this file). */
	ut_assert(want <= cmd->buf_cap);
	ut_assert(want <= cmd->edtl);
	return (uint32_t)want;
}

/*
 * A READ answered by a live reference (backstore.h bs_ref live): its
 * bytes are read as they leave, after the completion, so it keeps its
 * LBA range (shared) until the reference is released (scsi_range_hold):
 * a WRITE ATOMIC or COMPARE AND WRITE to those blocks waits for them to
 * have left, and the read shows all of it or none (SBC-4 §5.48).  False:
 * one holds the range now (it may have landed in part): the reference
 * is given back and the read waits, to run again from the start.
 */
static bool read_keep_range(struct scsi_cmd *cmd, struct bs_req *req)
{
	uint32_t bs = cmd->lu->bs->block_size;
	struct bs_ref *held;

	if (!req->ref->live || scsi_cmd_aborted(cmd))
		return true;
	if (!scsi_range_acquire(cmd, req->offset_bytes / bs,
				req->length_bytes / bs, false)) {
		bs_ref_release(req->ref);
		req->ref = NULL;
		return false;
	}
	held = scsi_range_hold(cmd, req->ref);
	if (!held) {
		/* no memory for the hold: copy while the range is held */
		memcpy(cmd->buf, req->ref->mem, req->length_bytes);
		bs_ref_release(req->ref);
	}
	req->ref = held;
	return true;
}

static void read_done(struct bs_req *req, int status)
{
	struct scsi_cmd *cmd = req->caller;

	ut_assert(req == &cmd->bsreq);
	ut_assert(req->op == BS_OP_READ);
	ut_assert(status == 0 || req->ref == NULL);
	if (status == 0 && req->ref && !read_keep_range(cmd, req))
		return; /* waiting for the range: the handler runs again */
	if (status < 0) {
		scsi_fail_bs(cmd, status, false, req_lba(cmd));
	} else {
		uint32_t want = read_want(cmd);

		/* The bounce buffer holds whole blocks covering want. */
		ut_assert(!cmd->priv || req->length_bytes >= want);
		/* A reference only where asked for, of exactly the bytes
		 * (no bounce buffer: whole blocks are what was wanted). */
		ut_assert(!req->ref || (cmd->data_in_ref_ok && !cmd->priv &&
					req->ref->length_bytes == want));
		if (cmd->priv)
			memcpy(cmd->buf, cmd->priv, want);
		cmd->data_in_ref = req->ref;
		req->ref = NULL;
		cmd->data_in_len = want;
	}
	free(cmd->priv);
	cmd->priv = NULL;
	scsi_cmd_complete(cmd);
}

enum scsi_rc sbc_read(struct scsi_cmd *cmd)
{
	uint32_t bs = cmd->lu->bs->block_size;
	struct sbc_rw rw;
	uint32_t want;
	uint64_t len;
	void *dst;

	rw_decode(cmd->cdb, &rw);
	if (!rw_check(cmd, &rw, max_xfer_blocks(cmd)))
		return SCSI_RC_DONE;
	cmd->xfer_len = (uint64_t)rw.nblocks * bs;
	want = read_want(cmd);
	if (want == 0)
		return SCSI_RC_DONE;
	len = (want + bs - 1) / bs * bs;
	ut_assert(len - want < bs);
	ut_assert(len <= cmd->xfer_len); /* within the range checked */
	dst = cmd->buf;
	if (len != want) {
		/* EDTL ends inside a block: read whole blocks aside. */
		cmd->priv = malloc(len);
		if (!cmd->priv) {
			scsi_fail(cmd, SK_HARDWARE_ERROR,
				  ASC_INTERNAL_TARGET_FAILURE);
			return SCSI_RC_DONE;
		}
		dst = cmd->priv;
	}
	/* Zero-copy when the transport can send a reference and the bytes
	 * are exactly whole blocks (scsi.h, data_in_ref). */
	sbc_bs_start(cmd, BS_OP_READ,
		     cmd->data_in_ref_ok && dst == cmd->buf ? BS_F_MAY_REF : 0,
		     rw.lba, dst, len, read_done);
	return SCSI_RC_ASYNC;
}

/* -------------------------------------------------------------- WRITE */

static void write_done(struct bs_req *req, int status)
{
	struct scsi_cmd *cmd = req->caller;

	/* A write holds its LBA range until it completes. */
	ut_assert(req == &cmd->bsreq);
	ut_assert(cmd->priv_state & CMD_RANGE);
	if (status < 0)
		scsi_fail_bs(cmd, status, true, req_lba(cmd));
	scsi_cmd_complete(cmd);
}

/*
 * WRITE(6/10/12/16) and WRITE ATOMIC(16) (SBC-4 §5.48: all or nothing,
 * and no other command sees part of it: the range is held exclusively,
 * and it goes to the backstore as one request).
 */
enum scsi_rc sbc_write(struct scsi_cmd *cmd)
{
	uint32_t bs = cmd->lu->bs->block_size;
	bool atomic = cmd->cdb[0] == 0x9c;
	struct sbc_rw rw;
	uint64_t bytes, data;

	rw_decode(cmd->cdb, &rw);
	if (atomic) {
		rw.nblocks = get_be16(cmd->cdb + 12);
		rw.len_byte = 12;
		/* SBC-4 §5.48: an ATOMIC BOUNDARY past the MAXIMUM ATOMIC
		 * BOUNDARY SIZE of the Block Limits page (0: we write a
		 * WRITE ATOMIC whole, never in pieces) is an invalid field */
		if (get_be16(cmd->cdb + 10) > SCSI_MAX_ATOMIC_BOUNDARY) {
			scsi_fail_cdb(cmd, 10, -1);
			return SCSI_RC_DONE;
		}
	}
	if (!rw_check(cmd, &rw,
		      atomic ? SCSI_MAX_ATOMIC_BLOCKS : max_xfer_blocks(cmd)) ||
	    !sbc_check_writable(cmd))
		return SCSI_RC_DONE;
	bytes = (uint64_t)rw.nblocks * bs;
	cmd->xfer_len = bytes;
	data = sbc_data_out_bytes(cmd, bytes);
	if (data == 0)
		return SCSI_RC_DONE;
	if (data < bytes && atomic) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
		return SCSI_RC_DONE;
	}
	if (data % bs)
		return sbc_write_partial(cmd, rw.lba, data,
					 sbc_write_flags(cmd, rw.fua));
	if (!scsi_range_acquire(cmd, rw.lba, data / bs, atomic))
		return SCSI_RC_ASYNC;
	/* Range-lock ownership: it writes exactly the blocks it holds, and
	 * WRITE ATOMIC holds them alone. */
	ut_assert(cmd->range_lba == rw.lba && cmd->range_blocks == data / bs);
	ut_assert(!atomic || (cmd->priv_state & CMD_RANGE_EXCL));
	sbc_bs_start(cmd, BS_OP_WRITE, sbc_write_flags(cmd, rw.fua), rw.lba,
		     cmd->buf, data, write_done);
	return SCSI_RC_ASYNC;
}

/* ------------------------------------------------------------- VERIFY */

/*
 * VERIFY(10/12/16) (SBC-4 §5.29-5.31): byte 1 VRPROTECT 7-5, DPO 4,
 * BYTCHK 2-1.  BYTCHK 00b: medium verification only; our media have none
 * beyond the range check.  01b: compare the blocks with the Data-Out
 * buffer.  11b: compare every block with the single Data-Out block.
 * 10b is reserved.
 */
enum scsi_rc sbc_verify(struct scsi_cmd *cmd)
{
	uint8_t bytchk = (cmd->cdb[1] >> 1) & 0x3;
	struct sbc_rw rw;

	rw_decode(cmd->cdb, &rw);
	if (!rw_check(cmd, &rw, max_xfer_blocks(cmd)))
		return SCSI_RC_DONE;
	if (bytchk == 2) {
		scsi_fail_cdb(cmd, 1, 2);
		return SCSI_RC_DONE;
	}
	if (bytchk == 0 || rw.nblocks == 0)
		return SCSI_RC_DONE;
	ut_assert(bytchk == 1 || bytchk == 3);
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	return sbc_verify_bytchk(cmd, rw.lba, rw.nblocks, bytchk == 3);
}

/* PRE-FETCH(10/16) (SBC-4 §5.9-5.10): nothing to stage in our caches;
 * GOOD says "not all blocks are in cache", which is the truth. */
enum scsi_rc sbc_prefetch(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool sixteen = cdb[0] == 0x90;
	uint64_t lba = sixteen ? get_be64(cdb + 2) : get_be32(cdb + 2);
	uint64_t n = sixteen ? get_be32(cdb + 10) : get_be16(cdb + 7);

	ut_assert(cdb[0] == 0x34 || cdb[0] == 0x90);
	if (cdb[1] & ~0x02) {
		scsi_fail_cdb(cmd, 1, -1);
		return SCSI_RC_DONE;
	}
	sbc_check_range(cmd, lba, n);
	ut_assert(cmd->data_in_len == 0); /* nothing is transferred */
	return SCSI_RC_DONE;
}

/* -------------------------------------------------- SYNCHRONIZE CACHE */

static void flush_done(struct bs_req *req, int status)
{
	struct scsi_cmd *cmd = req->caller;

	ut_assert(req == &cmd->bsreq);
	ut_assert(req->op == BS_OP_FLUSH);
	if (status < 0)
		scsi_fail_bs(cmd, status, true, SCSI_LBA_NONE); /* no block */
	scsi_cmd_complete(cmd);
}

/*
 * SYNCHRONIZE CACHE(10) (SBC-3 §5.22): 1 IMMED(bit 1), 2..5 LBA,
 * 7..8 NUMBER OF LOGICAL BLOCKS (0: to the end).  (16): 2..9 LBA,
 * 10..13 blocks.  We flush the whole device whatever the range; with
 * IMMED we still answer after the flush, which the standard allows.
 */
enum scsi_rc sbc_sync_cache(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool sixteen = cdb[0] == 0x91;
	uint64_t lba = sixteen ? get_be64(cdb + 2) : get_be32(cdb + 2);
	uint64_t n = sixteen ? get_be32(cdb + 10) : get_be16(cdb + 7);

	ut_assert(cdb[0] == 0x35 || cdb[0] == 0x91);
	if (!sbc_check_range(cmd, lba, n))
		return SCSI_RC_DONE;
	if (cmd->lu->nv_cache)
		return SCSI_RC_DONE;
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	sbc_bs_start(cmd, BS_OP_FLUSH, 0, 0, NULL, 0, flush_done);
	return SCSI_RC_ASYNC;
}

/* ------------------------------------------------------ READ CAPACITY */

static uint64_t last_lba(const struct scsi_lu *lu)
{
	return lu->nblocks ? lu->nblocks - 1 : 0;
}

/* READ CAPACITY(10) (SBC-3 §5.15): with PMI 0 the LBA field must be 0.
 * A capacity beyond 32 bits reads FFFFFFFFh, sending the host to (16). */
enum scsi_rc sbc_read_capacity10(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint8_t b[8];
	uint64_t last = last_lba(cmd->lu);

	if (!(cdb[8] & 0x01) && get_be32(cdb + 2) != 0) {
		scsi_fail_cdb(cmd, 2, -1);
		return SCSI_RC_DONE;
	}
	put_be32(b, last > 0xffffffffull ? 0xffffffffu : (uint32_t)last);
	put_be32(b + 4, cmd->lu->bs->block_size);
	scsi_data_in(cmd, b, sizeof(b), sizeof(b));
	/* READ CAPACITY(10) data is always 8 bytes (SBC-3 §5.15.2). */
	ut_assert(cmd->xfer_len == sizeof(b));
	ut_assert(cmd->lu->bs->block_size != 0);
	return SCSI_RC_DONE;
}

/* READ CAPACITY(16) (SBC-3 §5.16): 10..13 allocation length.  LBPME when
 * the LU is thin provisioned, LBPRZ as unmapped blocks read zeros; byte 13
 * LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (--lun physblock=). */
static enum scsi_rc read_capacity16(struct scsi_cmd *cmd)
{
	const struct scsi_lu *lu = cmd->lu;
	uint8_t b[32];

	ut_assert(lu->lbppbe <= 15); /* a 4-bit field (scsi_lu_new) */
	ut_assert(!lu->thin || lu->bs->thin);
	memset(b, 0, sizeof(b));
	put_be64(b, last_lba(lu));
	put_be32(b + 8, lu->bs->block_size);
	b[13] = lu->lbppbe & 0x0f;
	if (lu->thin)
		b[14] = 0x80 | 0x40;
	scsi_data_in(cmd, b, sizeof(b), get_be32(cmd->cdb + 10));
	return SCSI_RC_DONE;
}

enum scsi_rc sbc_service_action_in16(struct scsi_cmd *cmd)
{
	switch (cmd->cdb[1] & 0x1f) {
	case 0x10:
		return read_capacity16(cmd);
	case 0x12:
		return sbc_get_lba_status(cmd);
	default:
		scsi_fail_cdb(cmd, 1, 4);
		return SCSI_RC_DONE;
	}
}
