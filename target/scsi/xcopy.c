/*
 * xcopy.c — EXTENDED COPY (LID1) and RECEIVE COPY RESULTS (SPC-4 §6.4,
 * §6.29; the LID1 forms of SPC-3 §6.3 and §6.17).
 *
 * Parameter list (SPC-4 §6.4.3):
 *
 *   0      LIST IDENTIFIER
 *   1      STR (5), LIST ID USAGE (4:3), PRIORITY (2:0)
 *   2..3   TARGET DESCRIPTOR LIST LENGTH      (32 bytes per descriptor)
 *   8..11  SEGMENT DESCRIPTOR LIST LENGTH
 *   12..15 INLINE DATA LENGTH                 (we take none)
 *   16..   target descriptors, segment descriptors
 *
 * Supported: target descriptor E4h (identification descriptor, §6.4.6.2)
 * naming a block LU by its NAA designator as VPD page 83h reports it, and
 * segment descriptor 02h (block to block, §6.4.5.5).
 *
 * Access (the lesson of CVE-2020-28374): a target descriptor resolves only
 * against the LUs in the requesting I_T nexus's own LUN map, so a copy
 * reaches exactly the LUs this initiator could read or write itself.  A
 * designator naming an LU that is not mapped for this nexus, or no LU of
 * this target at all, ends the command with COPY ABORTED, COPY TARGET
 * DEVICE NOT REACHABLE (SPC-4 §6.4.6.1), before any data moves; so does a
 * read-only mapping named as a destination (DATA PROTECT).
 *
 * A segment's NUMBER OF BLOCKS counts blocks of both its ends, so both
 * must have the same block length (INVALID FIELD IN PARAMETER LIST).
 *
 * Everything is validated before the first block moves; then each segment
 * is copied through the backstores in chunks of XCOPY_CHUNK_BYTES (read
 * the source, write the destination), one request at a time.
 *
 * A read or write of a copy target device that fails while a segment is
 * processed ends the command as SPC asks of a copy manager (SPC-5
 * §5.17.7.4, in SPC-4 the subclause of the same name: "EXTENDED COPY
 * command errors detected during processing of segment descriptors"):
 * COPY ABORTED,
 * THIRD PARTY DEVICE FAILURE (0Ah/0Dh/01h; "a CSCD command failure"),
 *   b) the segment number in "the third and fourth bytes of the
 *      COMMAND-SPECIFIC INFORMATION field" (the first two, which would
 *      point at the device's own status and sense, stay 0: none follows);
 *   c) INFORMATION the segment's residual in destination blocks (VALID
 *      1) "if any data has been written to the copy destination for the
 *      segment", else VALID 0 (no information descriptor); the chunk
 *      whose write failed counts as not written;
 *   f) the sense-key specific segment pointer (§4.5.2.4.5): SKSV 1, SD 0,
 *      FIELD POINTER the first byte of the CSCD descriptor of the device
 *      that failed (the source for a read, the destination for a write).
 * Never the sense of the LU that was read or written (a MEDIUM ERROR with
 * an LBA of another LU would name a block of the LU the command was sent
 * to).  Segments before it were copied whole, the failing one perhaps in
 * part; RECEIVE COPY RESULTS tells how many were processed.  Until
 * 2026-12-07 the segment number was in INFORMATION, and no residual nor
 * segment pointer was given (SCST places them as here).
 */
#include <stdlib.h>

#include "scsi/scsi_int.h"

#define XCOPY_HDR_LEN 16u
#define XCOPY_TGT_DESC_LEN 32u
#define XCOPY_B2B_DESC_LEN 28u
#define XCOPY_MAX_TGT_DESC 8u	  /* MAXIMUM TARGET DESCRIPTOR COUNT */
#define XCOPY_MAX_SEG_DESC 16u	  /* MAXIMUM SEGMENT DESCRIPTOR COUNT */
#define XCOPY_MAX_DESC_LIST 1024u /* MAXIMUM DESCRIPTOR LIST LENGTH */
#define XCOPY_MAX_SEG_BYTES SCSI_MAX_XFER_BYTES /* MAXIMUM SEGMENT LENGTH */
#define XCOPY_CHUNK_BYTES (1u << 20)

/* One segment, resolved; src_desc and dst_desc: its CSCD descriptors'
 * indexes in the list. */
struct xcopy_seg {
	struct scsi_lu *src, *dst;
	uint64_t src_lba, dst_lba;
	uint32_t nblocks;
	uint16_t src_desc, dst_desc;
};

struct xcopy_ctx {
	unsigned int nseg, cur;
	uint64_t done_blocks; /* of the current segment, written or being */
	uint64_t last_blocks; /* the chunk last read or written */
	uint64_t total_blocks;
	bool writing; /* the chunk in buf is read: write it */
	bool record;  /* keep a result for RECEIVE COPY RESULTS */
	uint8_t list_id;
	struct xcopy_seg seg[XCOPY_MAX_SEG_DESC];
	/* The nexuses copied between, held while the copy runs, so that a
	 * LUN unmapped meanwhile keeps its LU (lu_live.c). */
	struct scsi_itl *held[XCOPY_MAX_TGT_DESC];
	unsigned int nheld;
};

/* ------------------------------------------------------- validation */

static void fail_aborted(struct scsi_cmd *cmd, uint16_t asc)
{
	scsi_fail(cmd, SK_COPY_ABORTED, asc);
}

/*
 * Resolve an identification target descriptor (SPC-4 §6.4.6.2) to an LU
 * mapped for this nexus: bytes 4 CODE SET, 5 ASSOCIATION / DESIGNATOR
 * TYPE, 7 DESIGNATOR LENGTH, 8.. DESIGNATOR; 29..31 DISK BLOCK LENGTH.
 * LU ID TYPE and NUL are ignored (SPC-4: the LU is the designator's).
 */
static struct scsi_itl *resolve_tgt(const struct scsi_cmd *cmd,
				    const uint8_t *d)
{
	uint8_t naa[16];

	ut_assert(d[0] == 0xe4); /* parse_targets() checked the type */
	if ((d[4] & 0x0f) != 1 || (d[5] & 0x3f) != 0x03 || d[7] != 16)
		return NULL; /* only a binary NAA designator of an LU */
	for (unsigned int lun = 0; lun <= SCSI_MAX_LUN; lun++) {
		struct scsi_itl *itl = cmd->sess->lun_map[lun];

		if (!itl)
			continue;
		/* CVE-2020-28374: only this nexus's own mappings. */
		ut_assert(itl->sess == cmd->sess && itl->lun == lun);
		put_be64(naa, itl->lu->naa_hi);
		put_be64(naa + 8, itl->lu->naa_lo);
		if (!memcmp(naa, d + 8, 16))
			return itl;
	}
	return NULL;
}

/* Target descriptors: type codes, then resolution.  False: sense set. */
static bool parse_targets(struct scsi_cmd *cmd, const uint8_t *d,
			  unsigned int n, struct scsi_itl **itl)
{
	ut_assert(n <= XCOPY_MAX_TGT_DESC); /* check_header() */
	for (unsigned int i = 0; i < n; i++) {
		if (d[i * XCOPY_TGT_DESC_LEN] != 0xe4) {
			scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				  ASC_UNSUPPORTED_TARGET_DESC);
			return false;
		}
	}
	for (unsigned int i = 0; i < n; i++, d += XCOPY_TGT_DESC_LEN) {
		if ((d[1] & 0x1f) != 0) { /* PERIPHERAL DEVICE TYPE */
			scsi_fail_param(cmd,
					(uint16_t)(XCOPY_HDR_LEN +
						   i * XCOPY_TGT_DESC_LEN + 1),
					4);
			return false;
		}
		itl[i] = resolve_tgt(cmd, d);
		if (!itl[i] || get_be24(d + 29) != itl[i]->lu->bs->block_size) {
			fail_aborted(cmd, ASC_COPY_TARGET_NOT_REACHABLE);
			return false;
		}
		ut_assert(itl[i]->sess == cmd->sess);
	}
	return true;
}

/* Walk the segment descriptor list: count and type codes. */
static bool count_segments(struct scsi_cmd *cmd, const uint8_t *d, uint32_t len,
			   unsigned int *n)
{
	uint32_t off = 0;

	*n = 0;
	while (off < len) {
		uint32_t dlen;

		if (len - off < 4) {
			scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				  ASC_PARAM_LIST_LENGTH);
			return false;
		}
		if (d[off] != 0x02) {
			scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				  ASC_UNSUPPORTED_SEGMENT_DESC);
			return false;
		}
		dlen = 4u + get_be16(d + off + 2);
		if (dlen != XCOPY_B2B_DESC_LEN || dlen > len - off) {
			scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				  ASC_PARAM_LIST_LENGTH);
			return false;
		}
		if (++*n > XCOPY_MAX_SEG_DESC) {
			scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				  ASC_TOO_MANY_SEGMENT_DESC);
			return false;
		}
		off += dlen;
	}
	ut_assert(off == len);
	ut_assert(*n <= XCOPY_MAX_SEG_DESC);
	return true;
}

/* Block to block segment descriptor (SPC-4 §6.4.5.5): 4..5 source and
 * 6..7 destination target descriptor index, 10..11 NUMBER OF BLOCKS,
 * 12..19 source LBA, 20..27 destination LBA.  NUMBER OF BLOCKS counts
 * blocks of both ends: a segment between LUs of different block lengths
 * is refused (off: the descriptor's offset in the parameter list). */
static bool parse_segment(struct scsi_cmd *cmd, const uint8_t *d, uint32_t off,
			  struct scsi_itl **itl, unsigned int ntgt,
			  struct xcopy_seg *s)
{
	uint16_t si = get_be16(d + 4), di = get_be16(d + 6);

	if (si >= ntgt || di >= ntgt) {
		fail_aborted(cmd, ASC_COPY_TARGET_NOT_REACHABLE);
		return false;
	}
	s->src = itl[si]->lu;
	s->dst = itl[di]->lu;
	s->src_desc = si;
	s->dst_desc = di;
	if (s->src->bs->block_size != s->dst->bs->block_size) {
		scsi_fail_param(cmd, off + 6, -1);
		return false;
	}
	s->nblocks = get_be16(d + 10);
	s->src_lba = get_be64(d + 12);
	s->dst_lba = get_be64(d + 20);
	if (!sbc_lba_in_range(s->src, s->src_lba, s->nblocks) ||
	    !sbc_lba_in_range(s->dst, s->dst_lba, s->nblocks) ||
	    (uint64_t)s->nblocks * s->src->bs->block_size >
		    XCOPY_MAX_SEG_BYTES) {
		fail_aborted(cmd, ASC_NO_ADDITIONAL);
		return false;
	}
	if (scsi_itl_write_protected(itl[di])) {
		scsi_fail(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
		return false;
	}
	/* Both ends reachable by this nexus, both ranges inside them. */
	ut_assert(itl[si]->sess == cmd->sess && itl[di]->sess == cmd->sess);
	ut_assert(s->src->bs->block_size == s->dst->bs->block_size);
	return true;
}

/* The header and the lengths it claims (SPC-4 §6.4.3). */
static bool check_header(struct scsi_cmd *cmd, uint32_t plen, uint32_t *tdl,
			 uint32_t *sdl)
{
	const uint8_t *p = cmd->buf;

	if (plen < XCOPY_HDR_LEN) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return false;
	}
	if (!sbc_have_data_out(cmd, plen))
		return false;
	*tdl = get_be16(p + 2);
	*sdl = get_be32(p + 8);
	if (get_be32(p + 12)) { /* INLINE DATA LENGTH */
		scsi_fail_param(cmd, 12, -1);
		return false;
	}
	if ((uint64_t)*tdl + *sdl > XCOPY_MAX_DESC_LIST ||
	    XCOPY_HDR_LEN + (uint64_t)*tdl + *sdl > plen) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return false;
	}
	if (*tdl % XCOPY_TGT_DESC_LEN) {
		scsi_fail_param(cmd, 2, -1);
		return false;
	}
	if (*tdl / XCOPY_TGT_DESC_LEN > XCOPY_MAX_TGT_DESC) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_TOO_MANY_TARGET_DESC);
		return false;
	}
	/* Both descriptor lists lie inside the Data-Out buffer. */
	ut_assert(XCOPY_HDR_LEN + *tdl + *sdl <= cmd->data_out_len);
	ut_assert(plen <= cmd->buf_cap);
	return true;
}

static bool parse_list(struct scsi_cmd *cmd, uint32_t plen, struct xcopy_ctx *x)
{
	const uint8_t *p = cmd->buf;
	struct scsi_itl *itl[XCOPY_MAX_TGT_DESC];
	uint32_t tdl, sdl;
	unsigned int ntgt;
	const uint8_t *segs;

	if (!check_header(cmd, plen, &tdl, &sdl))
		return false;
	ntgt = tdl / XCOPY_TGT_DESC_LEN;
	segs = p + XCOPY_HDR_LEN + tdl;
	if (!count_segments(cmd, segs, sdl, &x->nseg))
		return false;
	if (!parse_targets(cmd, p + XCOPY_HDR_LEN, ntgt, itl))
		return false;
	for (unsigned int i = 0; i < x->nseg; i++) {
		uint32_t off = XCOPY_HDR_LEN + tdl + i * XCOPY_B2B_DESC_LEN;

		if (!parse_segment(cmd, p + off, off, itl, ntgt, &x->seg[i]))
			return false;
		x->total_blocks += x->seg[i].nblocks;
	}
	ut_assert(x->nseg <= XCOPY_MAX_SEG_DESC);
	ut_assert(x->total_blocks <= (uint64_t)XCOPY_MAX_SEG_DESC * 0xffff);
	x->list_id = p[0];
	x->record = ((p[1] >> 3) & 3) <= 1; /* LIST ID USAGE 00b, 01b */
	for (unsigned int i = 0; i < ntgt; i++) {
		scsi_itl_get(itl[i]);
		x->held[x->nheld++] = itl[i];
	}
	return true;
}

static void release_held(struct xcopy_ctx *x)
{
	while (x->nheld)
		scsi_itl_put(x->held[--x->nheld]);
}

/* ------------------------------------------------------------ copy */

static void record_result(struct scsi_cmd *cmd, const struct xcopy_ctx *x,
			  bool good)
{
	struct scsi_sess *s = cmd->sess;
	struct scsi_xcopy_result *r = NULL;

	ut_assert(s->xcopy_next < SCSI_XCOPY_RESULTS);
	ut_assert(x->cur <= x->nseg);
	if (!x->record)
		return;
	for (unsigned int i = 0; i < SCSI_XCOPY_RESULTS; i++) {
		if (s->xcopy[i].valid && s->xcopy[i].list_id == x->list_id)
			r = &s->xcopy[i];
	}
	if (!r) {
		r = &s->xcopy[s->xcopy_next];
		s->xcopy_next = (s->xcopy_next + 1) % SCSI_XCOPY_RESULTS;
	}
	r->valid = true;
	r->list_id = x->list_id;
	r->status = good ? 0x01 : 0x02;
	r->segments = (uint16_t)x->cur;
	r->blocks = (uint32_t)x->total_blocks;
	r->block_size = cmd->lu->bs->block_size;
}

/* Chain step: read a chunk of the current segment, then write it. */
static bool copy_step(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	struct xcopy_ctx *x = ch->ctx;
	struct xcopy_seg *s;
	uint64_t n;

	while (x->cur < x->nseg && x->done_blocks == x->seg[x->cur].nblocks &&
	       !x->writing) {
		x->cur++;
		x->done_blocks = 0;
		x->last_blocks = 0;
	}
	if (ch->status < 0 || x->cur == x->nseg)
		return false; /* copy_fini() */
	s = &x->seg[x->cur];
	ut_assert(x->done_blocks < s->nblocks || x->writing);
	/* The chunk is cut in the segment's own blocks (parse_segment made
	 * both ends alike), not in the addressed LU's; it fits the buffer. */
	ut_assert(s->src->bs->block_size == s->dst->bs->block_size);
	n = s->nblocks - x->done_blocks;
	if (n > ch->buf_len / s->src->bs->block_size)
		n = ch->buf_len / s->src->bs->block_size;
	ut_assert(n > 0 && n * s->src->bs->block_size <= ch->buf_len);
	if (!x->writing) {
		x->writing = true;
		sbc_chain_submit_lu(cmd, ch, s->src, BS_OP_READ,
				    s->src_lba + x->done_blocks, ch->buf,
				    n * s->src->bs->block_size);
		return true;
	}
	x->writing = false;
	sbc_chain_submit_lu(cmd, ch, s->dst, BS_OP_WRITE,
			    s->dst_lba + x->done_blocks, ch->buf,
			    n * s->dst->bs->block_size);
	x->done_blocks += n;
	x->last_blocks = n;
	return true;
}

/* A copy target device failed (status, -errno) while segment x->cur was
 * processed: the copy manager's sense (see the top of the file). */
static void copy_aborted(struct scsi_cmd *cmd, const struct xcopy_ctx *x,
			 int status)
{
	const struct xcopy_seg *s = &x->seg[x->cur];
	struct scsi_sense_opts o = {0};
	/* x->writing: the read of the chunk failed, nothing of it was
	 * written; else its write failed (copy_step counted it) */
	uint64_t written = x->writing ? x->done_blocks
				      : x->done_blocks - x->last_blocks;
	uint32_t ptr =
		XCOPY_HDR_LEN +
		XCOPY_TGT_DESC_LEN *
			(uint32_t)(x->writing ? s->src_desc : s->dst_desc);

	ut_assert(status < 0);
	ut_assert(x->cur < x->nseg); /* a request of that segment failed */
	ut_assert(x->writing || x->done_blocks >= x->last_blocks);
	ut_assert(written < s->nblocks); /* the segment did not finish */
	o.csi_valid = true;
	put_be16(o.csi + 2, (uint16_t)x->cur);
	o.info_valid = written > 0;
	o.info = s->nblocks - written;
	o.sks_valid = true;
	o.sks[0] = 0x80; /* SKSV, SD 0: from the parameter list's start */
	put_be16(o.sks + 1, (uint16_t)ptr);
	scsi_fail_opts(cmd, SK_COPY_ABORTED, ASC_THIRD_PARTY_DEVICE_FAILURE,
		       &o);
}

/* The copy ended: done, or stopped by a backstore error before the next
 * step (the chain does not call copy_step again then).  Either way the
 * result is recorded and the nexuses are let go; a failed copy that kept
 * them would keep its LUs' nexuses busy for ever (a LUN could never be
 * removed, and the session's end would find them in use). */
static void copy_fini(struct scsi_cmd *cmd, struct sbc_chain *ch)
{
	struct xcopy_ctx *x = ch->ctx;

	record_result(cmd, x, ch->status == 0);
	release_held(x);
	if (ch->status < 0)
		copy_aborted(cmd, x, ch->status);
	ch->status = 0; /* answered here, not as the LU's own error */
}

/* EXTENDED COPY (LID1): CDB 1 SERVICE ACTION 00h, 10..13 PARAMETER LIST
 * LENGTH; a list of length 0 copies nothing (SPC-4 §6.4.1). */
enum scsi_rc spc_extended_copy(struct scsi_cmd *cmd)
{
	uint32_t plen = get_be32(cmd->cdb + 10);
	struct xcopy_ctx *x;
	struct sbc_chain *ch;

	if (cmd->cdb[1] & 0x1f) {
		scsi_fail_cdb(cmd, 1, 4);
		return SCSI_RC_DONE;
	}
	cmd->xfer_len = plen;
	if (plen == 0)
		return SCSI_RC_DONE;
	x = calloc(1, sizeof(*x));
	if (!x) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_RC_DONE;
	}
	if (!parse_list(cmd, plen, x)) {
		free(x);
		return SCSI_RC_DONE;
	}
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	ut_assert(x->cur == 0 && x->done_blocks == 0 && !x->writing);
	ch = sbc_chain_new(cmd, copy_step, XCOPY_CHUNK_BYTES);
	if (!ch) {
		release_held(x);
		free(x);
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_RC_DONE;
	}
	ch->ctx = x;
	ch->fini = copy_fini;
	return sbc_chain_start(cmd, ch);
}

/* ------------------------------------------------ RECEIVE COPY RESULTS */

/* COPY STATUS (SPC-3 §6.17.2): 12 bytes for a held list identifier. */
static enum scsi_rc rcr_copy_status(struct scsi_cmd *cmd, uint32_t alloc)
{
	const struct scsi_sess *s = cmd->sess;
	uint8_t b[12] = {0};
	uint64_t bytes;

	for (unsigned int i = 0; i < SCSI_XCOPY_RESULTS; i++) {
		const struct scsi_xcopy_result *r = &s->xcopy[i];

		if (!r->valid || r->list_id != cmd->cdb[2])
			continue;
		ut_assert(r->status == 0x01 || r->status == 0x02);
		ut_assert(r->block_size != 0);
		put_be32(b, sizeof(b) - 4);
		b[4] = r->status;
		put_be16(b + 5, r->segments);
		bytes = (uint64_t)r->blocks * r->block_size;
		b[7] = bytes > UINT32_MAX ? 0x01 : 0x00; /* KiB : bytes */
		put_be32(b + 8,
			 (uint32_t)(bytes > UINT32_MAX ? bytes >> 10 : bytes));
		scsi_data_in(cmd, b, sizeof(b), alloc);
		return SCSI_RC_DONE;
	}
	scsi_fail_cdb(cmd, 2, -1); /* no such list identifier */
	return SCSI_RC_DONE;
}

/* OPERATING PARAMETERS (SPC-3 §6.17.4): the limits parse_list enforces. */
static enum scsi_rc rcr_op_params(struct scsi_cmd *cmd, uint32_t alloc)
{
	uint8_t b[46] = {0};

	put_be32(b, sizeof(b) - 4);
	put_be16(b + 8, XCOPY_MAX_TGT_DESC);
	put_be16(b + 10, XCOPY_MAX_SEG_DESC);
	put_be32(b + 12, XCOPY_MAX_DESC_LIST);
	put_be32(b + 16, XCOPY_MAX_SEG_BYTES);
	put_be16(b + 34, 1); /* TOTAL CONCURRENT COPIES */
	b[36] = 1;	     /* MAXIMUM CONCURRENT COPIES */
	b[37] = 9;	     /* DATA SEGMENT GRANULARITY: 512 */
	b[43] = 2;	     /* implemented descriptor codes: */
	b[44] = 0x02;	     /* block to block segment */
	b[45] = 0xe4;	     /* identification target descriptor */
	/* IMPLEMENTED DESCRIPTOR LIST LENGTH covers the codes that follow */
	ut_assert(43u + 1 + b[43] == sizeof(b));
	scsi_data_in(cmd, b, sizeof(b), alloc);
	ut_assert(cmd->data_in_len <= sizeof(b));
	return SCSI_RC_DONE;
}

enum scsi_rc spc_receive_copy_results(struct scsi_cmd *cmd)
{
	uint32_t alloc = get_be32(cmd->cdb + 10);

	ut_assert(cmd->cdb[0] == 0x84);
	switch (cmd->cdb[1] & 0x1f) {
	case 0x00:
		return rcr_copy_status(cmd, alloc);
	case 0x03:
		return rcr_op_params(cmd, alloc);
	default:
		scsi_fail_cdb(cmd, 1, 4);
		ut_assert(cmd->data_in_len == 0);
		return SCSI_RC_DONE;
	}
}
