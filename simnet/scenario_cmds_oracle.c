/*
 * scenario_cmds_oracle.c — the oracles of the command set's own verbs
 * (scenario_cmds.c), each command that changes or reads the medium in
 * its own way judged against the data model when its answer arrives
 * (cmds_oracle, from pend_done), and the SANITIZE watch that every later
 * command's answer goes through while a sanitize may be running:
 *
 *   COMPARE AND WRITE   the compare value was there (model), MISCOMPARE
 *                       names the first differing byte, and two that race
 *                       on one value cannot both win (SBC-4 §5.3)
 *   WRITE SAME, UNMAP   writes of a fill or of zeros, exact to the block;
 *                       NUMBER OF BLOCKS 0 is "to the last LBA" (§5.50);
 *                       deallocated blocks read zeros (LBPRZ=1, §4.7.4.5)
 *   ORWRITE             the block becomes what it held ORed with the data
 *                       (§5.8): the model derives the new values
 *   WRITE AND VERIFY,   MISCOMPARE only where the data can differ from the
 *   VERIFY BYTCHK       medium (§5.33, §5.46)
 *   EXTENDED COPY       each destination block gets what its source held
 *                       (SPC-4 §6.4), derived values that know their origin
 *   GET LBA STATUS      extents contiguous from the starting LBA within the
 *                       capacity; a deallocated block must read zeros
 *                       (SBC-4 §5.7)
 *   SANITIZE            the LU holds the pattern or zeros once it is done;
 *                       while it runs every command but INQUIRY, REPORT
 *                       LUNS and REQUEST SENSE is refused with NOT READY,
 *                       SANITIZE IN PROGRESS, REQUEST SENSE reports a
 *                       progress indication that never goes back (§4.11)
 *
 * The boundary: scenario_cmds.c builds CDBs and Data-Out and records what
 * each command may change in the model (sent); this file judges answers
 * (received).  They share only struct pend's fields and the model.
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "model.h"
#include "scenario_int.h"
#include "scsi/scsi_int.h"
#include "ut_assert.h"

/* ------------------------------------------------------ the oracles */

static bool miscompare(const struct ini_op *op, uint64_t *info)
{
	struct sense_view v;
	char why[120];

	(void)sense_decode(op->sense, op->sense_len, &v, why, sizeof(why));
	if (op->outcome != INI_DONE || op->status != 0x02 ||
	    v.sk != SK_MISCOMPARE)
		return false;
	*info = v.info_valid ? v.info : UINT64_MAX;
	return true;
}

/* A MISCOMPARE at byte `off` of a compare of value cmp over blocks from
 * lba: every block before it may equal cmp, and the block it falls in
 * may hold a value whose first difference from cmp is that byte.  Returns
 * NULL if so, else why not. */
static const char *miscompare_ok(struct pend *p, struct lun_st *l, uint64_t lba,
				 uint32_t blocks, uint64_t cmp, uint64_t off,
				 uint64_t re, char *why, size_t cap, int asc,
				 int ascq)
{
	uint32_t bs = l->bs;
	uint64_t k = off / bs, c[16];
	uint8_t *a, *b;
	int n;
	bool found = false;

	if (asc != 0x1d || ascq != 0) {
		snprintf(why, cap,
			 "sense %02x/%02x is not MISCOMPARE DURING "
			 "VERIFY OPERATION (1Dh/00h)",
			 asc, ascq);
		return why;
	}
	if (off == UINT64_MAX || k >= blocks) {
		snprintf(why, cap,
			 "INFORMATION (offset %lld) is not within the %u "
			 "compared blocks",
			 off == UINT64_MAX ? -1LL : (long long)off, blocks);
		return why;
	}
	for (uint64_t i = 0; i < k; i++)
		if (!model_check_read(l->m, lba + i, cmp, p->stamp, re, why,
				      cap)) {
			char tmp[400];

			snprintf(tmp, sizeof(tmp),
				 "the miscompare is reported at offset %llu, "
				 "but an earlier block cannot have matched: %s",
				 (unsigned long long)off, why);
			snprintf(why, cap, "%s", tmp);
			return why;
		}
	n = model_candidates(l->m, lba + k, p->stamp, re, 0, c, 16);
	if (n < 0)
		return NULL;
	a = malloc(bs);
	b = malloc(bs);
	if (a == NULL || b == NULL)
		abort();
	model_fill(cmp, lba + k, b, bs);
	for (int i = 0; i < n && !found; i++) {
		uint32_t d;

		model_fill_m(l->m, c[i], lba + k, a, bs);
		for (d = 0; d < bs && a[d] == b[d]; d++)
			;
		found = d < bs && d == off % bs;
	}
	free(a);
	free(b);
	if (found)
		return NULL;
	snprintf(why, cap,
		 "no value lba %llu may hold differs from the compare data "
		 "first at byte %llu (%d candidates)",
		 (unsigned long long)(lba + k), (unsigned long long)(off % bs),
		 n);
	return why;
}

static int write_outcome(const struct ini_op *op)
{
	return scsi_good(op) ? 0 : sense_unknown_fate(op) ? 2 : 1;
}

static bool durable_of(const struct pend *p, const struct lun_st *l)
{
	return p->fua || l->wc_off ||
	       (l->wc_off_since != 0 && p->stamp > l->wc_off_since);
}

static void ranges_end(struct pend *p, int outcome)
{
	for (int i = 0; i < p->nrg; i++) {
		struct lun_st *l = p->rg[i].ls;

		/* a GOOD answer may have come before the grow that brought
		 * a maybe range's blocks (cmds_lun_resized) */
		int o = outcome == 0 && p->rg[i].maybe ? MODEL_BOUNDED
						       : outcome;

		model_write_end(l->m, p->rg[i].handle, o, durable_of(p, l),
				model_tick(l->m));
		/* of unknown fate, a copy may still run: it stays open */
		if ((p->kind == PK_XCOPY || p->kind == PK_ORWRITE) &&
		    outcome != 2 && l->copies_open > 0)
			l->copies_open--;
	}
}

void cmds_write_past_end_answered(struct pend *p, struct ini_op *op)
{
	ut_assert(p->kind == PK_WRITE && p->ls == NULL);
	ranges_end(p, write_outcome(op));
	p->nrg = 0;
}

static void oracle_caw(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->nrg ? p->rg[0].ls : NULL;
	uint64_t re, info;
	char why[512];
	int sk, asc, ascq;

	if (l == NULL)
		return;
	re = model_tick(l->m);
	model_read_end(l->m, p->stamp);
	if (scsi_good(op)) {
		for (uint32_t i = 0; i < p->blocks && !r->failed; i++) {
			if (!model_check_read(l->m, p->lba + i, p->cmp_vid,
					      p->stamp, re, why, sizeof(why)))
				failf(r, p->line,
				      "oracle: %s's COMPARE AND WRITE on lun %u "
				      "succeeded, but the block cannot have held "
				      "the compare value %016llx: %s (seed %llu)",
				      p->a->name, l->lun,
				      (unsigned long long)p->cmp_vid, why,
				      (unsigned long long)r->seed);
			else if (p->cmp_vid != p->data_vid &&
				 !model_caw_consume(l->m, p->lba + i,
						    p->cmp_vid))
				failf(r, p->line,
				      "oracle: %s's COMPARE AND WRITE on lun %u "
				      "lba %llu succeeded on value %016llx that "
				      "another COMPARE AND WRITE had already "
				      "replaced: two won on one value, not atomic "
				      "(SBC-4 §5.3) (seed %llu)",
				      p->a->name, l->lun,
				      (unsigned long long)(p->lba + i),
				      (unsigned long long)p->cmp_vid,
				      (unsigned long long)r->seed);
		}
		ranges_end(p, 0);
		return;
	}
	if (miscompare(op, &info)) {
		sense_parse(op, &sk, &asc, &ascq);
		if (miscompare_ok(p, l, p->lba, p->blocks, p->cmp_vid, info, re,
				  why, sizeof(why), asc, ascq) != NULL)
			failf(r, p->line,
			      "oracle: %s's COMPARE AND WRITE on lun %u lba "
			      "%llu got MISCOMPARE wrongly: %s (seed %llu)",
			      p->a->name, l->lun, (unsigned long long)p->lba,
			      why, (unsigned long long)r->seed);
		ranges_end(p, 1); /* nothing written */
		return;
	}
	ranges_end(p, write_outcome(op));
}

static void oracle_verify(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->ls;
	uint64_t re, info;
	char why[512];
	int sk, asc, ascq;

	if (l == NULL || p->stamp == 0)
		return;
	re = model_tick(l->m);
	model_read_end(l->m, p->stamp);
	if (p->bytchk != 1 && p->bytchk != 3)
		return;
	if (scsi_good(op)) {
		for (uint32_t i = 0; i < p->blocks && !r->failed; i++)
			if (!model_check_read(l->m, p->lba + i, p->cmp_vid,
					      p->stamp, re, why, sizeof(why)))
				failf(r, p->line,
				      "oracle: %s's VERIFY BYTCHK=%u on lun %u "
				      "found no miscompare, but the medium "
				      "cannot hold the data: %s (seed %llu)",
				      p->a->name, p->bytchk, l->lun, why,
				      (unsigned long long)r->seed);
		return;
	}
	if (miscompare(op, &info)) {
		sense_parse(op, &sk, &asc, &ascq);
		if (miscompare_ok(p, l, p->lba, p->blocks, p->cmp_vid, info, re,
				  why, sizeof(why), asc, ascq) != NULL)
			failf(r, p->line,
			      "oracle: %s's VERIFY BYTCHK=%u on lun %u lba "
			      "%llu got MISCOMPARE wrongly: %s (seed %llu)",
			      p->a->name, p->bytchk, l->lun,
			      (unsigned long long)p->lba, why,
			      (unsigned long long)r->seed);
	}
}

static int multi_outcome(const struct ini_op *op);

static void oracle_wverify(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->nrg	      ? p->rg[0].ls
			   : p->part_cut != 0 ? p->ls
					      : NULL;
	uint32_t whole = p->part_cut ? (uint32_t)(p->part_lba - p->lba)
				     : p->blocks;
	uint64_t info;
	int outcome;

	if (l == NULL)
		return;
	if (miscompare(op, &info)) {
		uint64_t re = model_tick(l->m);

		/* The write landed, then the read-back differed: only a
		 * write from elsewhere in between can explain it.  Cut
		 * inside a block (edtl=), the bytes that came are compared:
		 * the whole blocks and the spliced one. */
		if ((p->nrg == 0 ||
		     model_range_quiet(l->m, p->lba, whole, p->rg[0].handle,
				       p->stamp, re)) &&
		    (p->part_cut == 0 ||
		     model_range_quiet(l->m, p->part_lba, 1, p->part_handle,
				       p->stamp, re)))
			failf(r, p->line,
			      "oracle: %s's WRITE AND VERIFY on lun %u lba "
			      "%llu got MISCOMPARE, yet no other write "
			      "touched those blocks (seed %llu)",
			      p->a->name, l->lun, (unsigned long long)p->lba,
			      (unsigned long long)r->seed);
		ranges_end(p, 2);
		if (p->part_cut != 0)
			write_part_end(p, l, 2);
		return;
	}
	/* It writes, then reads back: an error of the read (a fenced
	 * store's NOT READY, say) comes after the write landed. */
	outcome = multi_outcome(op);
	ranges_end(p, outcome);
	if (p->part_cut != 0)
		write_part_end(p, l, outcome);
	/* cut short by edtl=: GOOD with O and the residual */
	if (outcome == 0 && op->edtl != (uint64_t)p->blocks * l->bs)
		oracle_residual(r, p, op);
}

/* ORWRITE and EXTENDED COPY: name the values their MODEL_WILD records
 * wrote, from what the source blocks may have held while they ran. */
static void derive_ranges(struct pend *p, bool orwrite)
{
	uint64_t c[16];

	for (int k = 0; k < p->nrg; k++) {
		struct pend_range *g = &p->rg[k];
		struct lun_st *s = orwrite ? g->ls : g->src;
		uint64_t rs = orwrite ? p->stamp : g->src_stamp;
		uint64_t re = model_tick(s->m);

		for (uint32_t i = 0; i < g->blocks; i++) {
			uint64_t sl = (orwrite ? g->lba : g->src_lba) + i;
			int n = model_candidates(s->m, sl, rs, re,
						 orwrite ? g->handle : 0, c,
						 16);

			if (n <= 0)
				continue; /* anything: the record stays wild */
			for (int j = 0; j < n; j++)
				c[j] = model_derive(g->ls->m, s->m, c[j], sl,
						    g->lba + i,
						    orwrite ? p->or_byte : 0);
			model_write_set_alts(g->ls->m, g->handle, g->lba + i, c,
					     n);
		}
		if (!orwrite)
			model_read_end(s->m, g->src_stamp);
	}
}

/* What a command that makes several backstore requests (EXTENDED COPY,
 * WRITE SAME, UNMAP) may have done when it failed: nothing if it was
 * refused before it touched the medium, else any part of it (a backstore
 * error, NOT READY from a fenced store included, can stop it half way;
 * EXTENDED COPY reports one as COPY ABORTED, THIRD PARTY DEVICE FAILURE,
 * its other COPY ABORTED answers refuse the list before a block moves). */
static int multi_outcome(const struct ini_op *op)
{
	int sk, asc, ascq;

	if (scsi_good(op))
		return 0;
	if (op->outcome != INI_DONE)
		return sense_unknown_fate(op) ? 2 : 1;
	if (op->response != 0 || op->status == SCSI_STATUS_TASK_ABORTED)
		return 2;
	if (op->status != SCSI_STATUS_CHECK_CONDITION)
		return 1; /* RESERVATION CONFLICT, BUSY, TASK SET FULL */
	sense_parse(op, &sk, &asc, &ascq);
	/* SPC-4 §6.4.3: a copy target device failed while a segment was
	 * processed; the segments before it and part of it may be done. */
	if (sk == SK_COPY_ABORTED && asc == 0x0d && ascq == 0x01)
		return 2;
	if (sk == SK_ILLEGAL_REQUEST || sk == SK_UNIT_ATTENTION ||
	    sk == SK_DATA_PROTECT || sk == SK_COPY_ABORTED)
		return 1;
	/* refused before running: a sanitize, no medium */
	if (sk == SK_NOT_READY &&
	    (asc == 0x3a || (asc == 0x04 && ascq == 0x1b)))
		return 1;
	return 2;
}

/*
 * A copy target device that failed ends EXTENDED COPY with the copy
 * manager's sense (SPC-5 §5.17.7.4, "EXTENDED COPY command errors
 * detected during processing of segment descriptors"; the same subclause
 * in SPC-4): COPY ABORTED, here THIRD PARTY DEVICE FAILURE, and
 *   b) the number of the segment being processed in the third and
 *      fourth bytes of COMMAND-SPECIFIC INFORMATION (the first two say
 *      where a device's own status and sense would follow: the target
 *      forwards none, so 0);
 *   c) INFORMATION, if VALID, the segment's residual: some of it was
 *      written and not all, so more than 0 and less than its blocks;
 *   f) the segment pointer (§4.5.2.4.5): SKSV 1, SD 0, the FIELD
 *      POINTER at the first byte of the CSCD descriptor of the device
 *      that failed, which is the segment's source or its destination.
 * Which device failed and where the fault stopped the copy the runner
 * does not know; that the segment named uses the device named is what
 * pins the number down.
 */
static void oracle_xcopy_aborted(struct runner *r, struct pend *p,
				 const struct ini_op *op)
{
	struct sense_view v;
	char why[160];
	unsigned int seg, ptr;
	const char *wrong = NULL;

	if (op->outcome != INI_DONE || op->response != 0 ||
	    op->status != SCSI_STATUS_CHECK_CONDITION)
		return;
	(void)sense_decode(op->sense, op->sense_len, &v, why, sizeof(why));
	if (v.sk != SK_COPY_ABORTED || v.asc != 0x0d || v.ascq != 0x01)
		return;
	seg = v.csi_valid ? get_be16(v.csi + 2) : 0;
	ptr = v.sks_valid ? get_be16(v.sks + 1) : 0;
	if (!v.csi_valid || v.csi[0] != 0 || v.csi[1] != 0 ||
	    seg >= (unsigned int)p->xc_nseg)
		wrong = "the segment number in the third and fourth bytes of "
			"COMMAND-SPECIFIC INFORMATION (the first two 0: no "
			"device sense follows), less than the segment count";
	else if (!v.sks_valid || (v.sks[0] & 0x20) ||
		 (ptr != 16u + 32u * p->xc_src[seg] &&
		  ptr != 16u + 32u * p->xc_dst[seg]))
		wrong = "a segment pointer (SKSV 1, SD 0) at the CSCD "
			"descriptor of the segment's source or destination";
	else if (v.info_valid && (v.info == 0 || v.info >= p->xc_blocks[seg]))
		wrong = "INFORMATION, if VALID, the segment's residual: more "
			"than 0, less than its NUMBER OF BLOCKS";
	if (wrong == NULL)
		return;
	failf(r, p->line,
	      "oracle: %s's EXTENDED COPY ended COPY ABORTED, THIRD PARTY "
	      "DEVICE FAILURE with COMMAND-SPECIFIC INFORMATION %02x%02x%02x"
	      "%02x (%s), INFORMATION %llu (VALID %d), sense-key specific "
	      "%02x%02x%02x (%s) of %d segments; SPC-5 §5.17.7.4 wants %s "
	      "(seed %llu)",
	      p->a->name, v.csi[0], v.csi[1], v.csi[2], v.csi[3],
	      v.csi_valid ? "given" : "none", (unsigned long long)v.info,
	      v.info_valid, v.sks[0], v.sks[1], v.sks[2],
	      v.sks_valid ? "SKSV 1" : "SKSV 0", p->xc_nseg, wrong,
	      (unsigned long long)r->seed);
}

/* An EXTENDED COPY with a segment past the last LBA of its source or
 * destination (when sent, no live change since) is refused whole before
 * any block moves: "the copy manager shall ... validate" every segment
 * first (SPC-4 §6.4.3; xcopy.c parse_segment: COPY ABORTED, 0A/00/00).
 * Never GOOD, and never THIRD PARTY DEVICE FAILURE (0A/0D/01), which says
 * a copy target device failed while segments were processed: blocks may
 * have moved.  Other senses that come before the validation (a unit
 * attention, a conflict) pass.  Round of blind18, mutant 450. */
static void oracle_xcopy_oor(struct runner *r, struct pend *p,
			     const struct ini_op *op)
{
	struct sense_view v;
	char why[160];

	if (!p->xcopy_oor || op->outcome != INI_DONE || op->response != 0 ||
	    p->ctl_seq != r->ctl_seq || r->ctl_running || r->against)
		return;
	if (op->status == SCSI_STATUS_CHECK_CONDITION) {
		(void)sense_decode(op->sense, op->sense_len, &v, why,
				   sizeof(why));
		if (v.sk != SK_COPY_ABORTED || v.asc != 0x0d)
			return;
	} else if (op->status != SCSI_STATUS_GOOD) {
		return;
	}
	failf(r, p->line,
	      "oracle: %s's EXTENDED COPY names blocks past the last LBA of a "
	      "segment's source or destination, yet ended %s: every segment "
	      "is validated before any block moves (SPC-4 §6.4.3: COPY "
	      "ABORTED) (seed %llu)",
	      p->a->name,
	      op->status == SCSI_STATUS_GOOD
		      ? "GOOD"
		      : "COPY ABORTED, THIRD PARTY DEVICE FAILURE",
	      (unsigned long long)r->seed);
}

static void oracle_gls(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->ls;
	uint64_t re, next, cap;
	uint32_t len, checked = 0;
	char why[512];

	if (l == NULL || p->stamp == 0)
		return;
	re = model_tick(l->m);
	model_read_end(l->m, p->stamp);
	if (!scsi_good(op) || op->in_len < 8)
		return;
	len = get_be32(op->in);
	next = p->lba;
	cap = model_blocks(l->m);
	for (uint32_t o = 8;
	     o + 16 <= op->in_len && o + 16 <= len + 4 && !r->failed; o += 16) {
		const uint8_t *d = op->in + o;
		uint64_t lba = get_be64(d);
		uint32_t n = get_be32(d + 8);
		uint8_t st = d[12] & 0x0f;
		const char *bad = NULL;

		if (lba != next)
			bad = o == 8 ? "the first extent does not start at the "
				       "starting LBA"
				     : "extents are not contiguous";
		else if (n == 0)
			bad = "an extent of 0 blocks";
		else if (p->ctl_seq == r->ctl_seq && !r->ctl_running &&
			 lba + n > cap)
			bad = "an extent past the capacity";
		else if (st > 2)
			bad = "a provisioning status that is not 0, 1 or 2";
		else if (st != 0 && !l->thin && p->ctl_seq == r->ctl_seq)
			bad = "a deallocated extent on a fully provisioned LU "
			      "(LBPME=0)";
		if (bad != NULL) {
			failf(r, p->line,
			      "oracle: %s's GET LBA STATUS on lun %u from lba "
			      "%llu: %s (extent lba %llu, %u blocks, status "
			      "%u) (SBC-4 §5.7) (seed %llu)",
			      p->a->name, l->lun, (unsigned long long)p->lba,
			      bad, (unsigned long long)lba, n, st,
			      (unsigned long long)r->seed);
			return;
		}
		/* LBPRZ=1: a deallocated or anchored block reads zeros, so
		 * zeros must be what the model allows there now. */
		for (uint64_t i = 0; st != 0 && i < n && checked < 8192 &&
				     lba + i < cap && !r->failed;
		     i++, checked++)
			if (!model_check_read(l->m, lba + i, 0, p->stamp, re,
					      why, sizeof(why)))
				failf(r, p->line,
				      "oracle: %s's GET LBA STATUS on lun %u "
				      "reports lba %llu deallocated, but it "
				      "cannot read zeros: %s (seed %llu)",
				      p->a->name, l->lun,
				      (unsigned long long)(lba + i), why,
				      (unsigned long long)r->seed);
		next = lba + n;
	}
}

/* The NAA designator of an LU from its VPD page 83h. */
static void learn_naa(struct pend *p, struct ini_op *op)
{
	const uint8_t *b = op->in;
	uint32_t len;

	if (p->ls == NULL || !scsi_good(op) || op->in_len < 4 ||
	    op->cdb[1] != 1 || op->cdb[2] != 0x83 || b[1] != 0x83)
		return;
	len = get_be16(b + 2) + 4u;
	for (uint32_t o = 4; o + 4 <= len && o + 4 <= op->in_len;
	     o += 4u + b[o + 3]) {
		if ((b[o + 1] & 0x30) == 0 && (b[o + 1] & 0x0f) == 3 &&
		    b[o + 3] == 16 && o + 20 <= op->in_len) {
			memcpy(p->ls->naa, b + o + 4, 16);
			p->ls->naa_known = true;
		}
	}
}

void cmds_oor_oracle(struct runner *r, struct pend *p, struct ini_op *op)
{
	/* A resize in between may have made the range valid. */
	if (p->oor && scsi_good(op) && p->ctl_seq == r->ctl_seq &&
	    !r->ctl_running)
		failf(r, p->line,
		      "oracle: %s's %s on lun %u from lba %llu completed GOOD, "
		      "but it names blocks past the last LBA: it must get "
		      "LOGICAL BLOCK ADDRESS OUT OF RANGE (SBC-4 §4.5) "
		      "(seed %llu)",
		      p->a->name, p->verb, (unsigned)(p->lun & 0xffff),
		      (unsigned long long)p->lba, (unsigned long long)r->seed);
}

void cmds_oracle(struct runner *r, struct pend *p, struct ini_op *op)
{
	cmds_oor_oracle(r, p, op);
	switch (p->kind) {
	case PK_CAW:
		oracle_caw(r, p, op);
		break;
	case PK_WSAME:
	case PK_UNMAP:
		ranges_end(p, multi_outcome(op));
		break;
	case PK_ORWRITE: {
		int outcome = write_outcome(op);

		if (p->nrg && p->rg[0].ls)
			model_read_end(p->rg[0].ls->m, p->stamp);
		/* Of unknown fate it may still run, reading what is there
		 * then: its records stay wild. */
		if (outcome == 0)
			derive_ranges(p, true);
		ranges_end(p, outcome);
		break;
	}
	case PK_WVERIFY:
		oracle_wverify(r, p, op);
		break;
	case PK_VERIFY:
		oracle_verify(r, p, op);
		break;
	case PK_XCOPY: {
		int outcome = multi_outcome(op);

		oracle_xcopy_aborted(r, p, op);
		oracle_xcopy_oor(r, p, op);
		if (p->xcopy_into_ro && op->outcome == INI_DONE &&
		    op->response == 0 && op->status == SCSI_STATUS_GOOD &&
		    !r->ctl_running && p->ctl_seq == r->ctl_seq &&
		    p->ctl_started == r->ctl_started)
			failf(r, p->line,
			      "oracle: %s's EXTENDED COPY into a read-only LU "
			      "was answered GOOD; a write-protected "
			      "destination must end it with DATA PROTECT, "
			      "WRITE PROTECTED (07/27/00) before any block "
			      "moves (SBC-4 §4.13) (seed %llu)",
			      p->a->name, (unsigned long long)r->seed);

		if (outcome == 0) {
			derive_ranges(p, false);
		} else {
			for (int k = 0; k < p->nrg; k++)
				model_read_end(p->rg[k].src->m,
					       p->rg[k].src_stamp);
		}
		ranges_end(p, outcome);
		break;
	}
	case PK_GLS:
		oracle_gls(r, p, op);
		break;
	case PK_INQUIRY:
		learn_naa(p, op);
		break;
	case PK_SANITIZE: {
		struct lun_st *l = p->ls;

		if (l == NULL || p->san_gen != l->san_gen || p->san_sa == 0x1f)
			break;
		if (scsi_good(op)) {
			if (!p->immed)
				cmds_sanitize_end(l, 0); /* it is over */
		} else {
			/* refused (ILLEGAL REQUEST, another one running,
			 * a conflict): nothing; else it may have run */
			cmds_sanitize_end(l, write_outcome(op));
		}
		break;
	}
	case PK_MSELECT:
		if (scsi_good(op) && p->ls != NULL && !p->ms_control &&
		    p->data_vid == 0 && p->ls->m != NULL)
			p->ls->wc_off_since = model_tick(p->ls->m);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------- SANITIZE oracle */

void cmds_sanitize_end(struct lun_st *l, int outcome)
{
	uint64_t now;

	if (l->m == NULL || (l->san_handle == 0 && l->san_mid == 0))
		return;
	now = model_tick(l->m);
	/* The passes before the last landed first: a READ already at the
	 * backstore when the sanitize started may have seen one, but
	 * none that begins after the sanitize is over. */
	if (l->san_mid != 0) {
		model_write_end(l->m, l->san_mid, outcome, false, now);
		for (unsigned int i = 0; i < l->san_ngrown; i++)
			if (l->san_grown_mid[i] != 0)
				model_write_end(l->m, l->san_grown_mid[i],
						outcome, false, now);
		now = model_tick(l->m);
	}
	if (l->san_handle != 0) {
		model_write_end(l->m, l->san_handle, outcome, l->wc_off, now);
		for (unsigned int i = 0; i < l->san_ngrown; i++)
			model_write_end(l->m, l->san_grown[i], outcome,
					l->wc_off, now);
	}
	l->san_handle = l->san_mid = 0;
	l->san_ngrown = 0;
}

/*
 * A grow while a sanitize may still start (sent, or answered IMMED and
 * not shown over; the target refuses a resize while one runs, so it had
 * not started, or was over): if it starts after the grow it covers the
 * grown LU, so the blocks the grow brought may hold its pattern (an
 * explorer seed's READ of them found it: 63269679759, lane cold20).  They
 * get writes of its values, pending with it and ended with it
 * (cmds_sanitize_end); beyond four grows the kind of each block stays
 * as the first grows left it.  Round of devattr21.
 */
void cmds_sanitize_grown(struct lun_st *l, uint64_t old_blocks)
{
	uint64_t n, *vids, stamp;

	if (l->m == NULL || l->san_handle == 0 ||
	    model_blocks(l->m) <= old_blocks || l->san_ngrown == 4)
		return;
	n = model_blocks(l->m) - old_blocks;
	vids = malloc(n * sizeof(*vids));
	if (vids == NULL)
		abort();
	stamp = model_tick(l->m);
	for (uint64_t i = 0; i < n; i++)
		vids[i] = l->san_fin;
	l->san_grown[l->san_ngrown] =
		model_write_begin(l->m, old_blocks, (uint32_t)n, vids, stamp);
	l->san_grown_mid[l->san_ngrown] = 0;
	if (l->san_mid != 0) {
		for (uint64_t i = 0; i < n; i++)
			vids[i] = l->san_mid_fin;
		l->san_grown_mid[l->san_ngrown] = model_write_begin(
			l->m, old_blocks, (uint32_t)n, vids, stamp);
	}
	l->san_ngrown++;
	free(vids);
}

void cmds_lun_power_on(struct lun_st *l)
{
	l->wc_off = l->wc_off_cfg;
	/* A page saved by MODE SELECT SP=1 is the LU's at power on (SPC-4
	 * §7.5.2); saved or not, unknown: write-back is what is safe to
	 * assume for durability (ua_mode_reset forgets WCE). */
	if (l->ms_saved == MS_SAVED_WCE0 || l->ms_saved == MS_SAVED_WCE1)
		l->wc_off = l->ms_saved == MS_SAVED_WCE0;
	else if (l->ms_saved == MS_SAVED_UNKNOWN)
		l->wc_off = false;
	l->wc_off_since = 0;
	if (l->m != NULL)
		model_set_write_through(l->m, l->wc_off);
}

/* A LOGICAL UNIT RESET or TARGET RESET returns WCE to its default, the
 * configured one (SAM-5 §6.3.3 d: no page is saved).  From its send the
 * write cache of a write-back LU may be on again, as after a MODE SELECT
 * wce=1: writes sent from then on are not durable for it. */
void cmds_ms_reset_sent(struct lun_st *l)
{
	if (l->wc_off_cfg)
		return;
	l->wc_off = false;
	l->wc_off_since = 0;
	if (l->m != NULL)
		model_set_write_through(l->m, false);
}

/* The reset answered FUNCTION COMPLETE with no MODE SELECT anywhere
 * near: a write-through LU has its cache off again, and writes sent
 * from now on are durable, as after a MODE SELECT wce=0. */
void cmds_ms_reset_done(struct lun_st *l)
{
	if (l->wc_off_cfg && !l->wc_off && l->wc_off_since == 0 && l->m != NULL)
		l->wc_off_since = model_tick(l->m);
}

void cmds_lun_reset_state(struct lun_st *l)
{
	/* model_crash() or a removal already made its writes unknown. */
	l->san_handle = 0;
	l->san_ngrown = 0;
	l->san_gen++;
	l->san_started = l->san_good_end = 0;
	l->san_prev_may_run = false;
	l->san_prev_over = 0;
	l->san_progress = -1;
	l->wc_off_since = 0;
}

/* Fixed or descriptor sense of REQUEST SENSE data: key, ASC, ASCQ and
 * the progress indication (-1 without SKSV). */
static bool rsense_data(const struct ini_op *op, int *sk, int *asc, int *ascq,
			int *progress)
{
	struct sense_view v;
	char why[120];

	/* maybe cut short by the allocation length: what arrived counts */
	(void)sense_decode(op->in, op->in_len, &v, why, sizeof(why));
	*progress = sense_progress(&v);
	if (v.asc < 0)
		return false;
	*sk = v.sk;
	*asc = v.asc;
	*ascq = v.ascq;
	return true;
}

void cmds_sanitize_watch(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->ls;
	int sk = -1, asc = -1, ascq = -1, progress = -1;
	bool running, exempt, rs = op->cdb[0] == 0x03;
	uint64_t end;

	if (p->san_counted && l != NULL && l->san_inflight > 0)
		l->san_inflight--;
	p->san_counted = false;
	if (l == NULL || l->m == NULL || op->outcome != INI_DONE ||
	    op->response != 0 || r->failed)
		return;
	exempt = op->cdb[0] == 0x12 || op->cdb[0] == 0xa0 || rs;
	if (op->status == SCSI_STATUS_CHECK_CONDITION)
		sense_parse(op, &sk, &asc, &ascq);
	else if (rs && op->status == SCSI_STATUS_GOOD)
		rsense_data(op, &sk, &asc, &ascq, &progress);
	running = sk == SK_NOT_READY && asc == 0x04 && ascq == 0x1b;
	/* Never a sanitize's refusal without a sanitize (the ALUA and unit
	 * attention oracles let these answers by: they come first). */
	if ((running ||
	     (sk == SK_MEDIUM_ERROR && asc == 0x31 && ascq == 0x03)) &&
	    l->san_gen == 0) {
		failf(r, p->line,
		      "oracle: %s's %s on lun %u was refused as by a sanitize "
		      "(%x/%02x/%02x), but no SANITIZE was sent to it "
		      "(seed %llu)",
		      p->a->name, p->verb, l->lun, sk & 0xff, asc & 0xff,
		      ascq & 0xff, (unsigned long long)r->seed);
		return;
	}
	if (sk == SK_MEDIUM_ERROR && asc == 0x31 && ascq == 0x03)
		cmds_sanitize_end(l, 2); /* failed part way */
	if (!running && !(op->status == SCSI_STATUS_GOOD && !exempt))
		return;
	end = model_tick(l->m);
	if (running) {
		if (exempt && !rs)
			failf(r, p->line,
			      "oracle: %s's %s on lun %u was refused with "
			      "SANITIZE IN PROGRESS, but INQUIRY and REPORT "
			      "LUNS are allowed while a sanitize runs (SBC-4 "
			      "§4.11.2) (seed %llu)",
			      p->a->name, p->verb, l->lun,
			      (unsigned long long)r->seed);
		else if (rs && progress < 0)
			failf(r, p->line,
			      "oracle: %s's REQUEST SENSE on lun %u reports "
			      "SANITIZE IN PROGRESS without a progress "
			      "indication (SKSV=0) (SBC-4 §4.11.2, SPC-4 "
			      "§4.5.2.4.4) (seed %llu)",
			      p->a->name, l->lun, (unsigned long long)r->seed);
		if (p->san_gen != l->san_gen || l->san_overlap ||
		    l->san_prev_may_run || p->sent <= l->san_prev_over ||
		    r->failed)
			return;
		if (l->san_good_end != 0 && p->sent > l->san_good_end)
			failf(r, p->line,
			      "oracle: %s's %s on lun %u found the sanitize "
			      "still running, yet %s's command of line %d, "
			      "answered before it was sent, completed GOOD "
			      "while that sanitize ran: it must have been "
			      "refused with SANITIZE IN PROGRESS (SBC-4 "
			      "§4.11.2) (seed %llu)",
			      p->a->name, p->verb, l->lun, l->san_good_who,
			      l->san_good_line, (unsigned long long)r->seed);
		else if (progress >= 0 && l->san_progress >= 0 &&
			 p->sent > l->san_progress_end &&
			 progress < l->san_progress)
			failf(r, p->line,
			      "oracle: the sanitize of lun %u went back from "
			      "%d/65536 to %d/65536 done (seed %llu)",
			      l->lun, l->san_progress, progress,
			      (unsigned long long)r->seed);
		if (progress >= 0) {
			l->san_progress = progress;
			l->san_progress_end = end;
		}
		if (end > l->san_started)
			l->san_started = end;
		return;
	}
	/* GOOD, not exempt: if it was sent after the sanitize certainly
	 * ran, it was let by, so the sanitize was over by then. */
	if (l->san_overlap)
		return;
	if (op->cdb[0] == 0x48 && p->san_gen == l->san_gen &&
	    p->san_sa != 0x1f && l->san_prev_may_run) {
		l->san_prev_may_run = false; /* it ran: the one before ended */
		l->san_prev_over = end;
	}
	if (l->san_prev_may_run)
		return;
	if (op->cdb[0] == 0x48) {
		if (p->san_gen == l->san_gen && p->san_sa != 0x1f) {
			l->san_started = end; /* IMMED: it runs */
			if (!p->immed) {
				l->san_good_end = end; /* and it is over */
				snprintf(l->san_good_who,
					 sizeof(l->san_good_who), "%s",
					 p->a->name);
				l->san_good_line = p->line;
			}
		}
		return;
	}
	if (p->san_gen != l->san_gen || l->san_started == 0 ||
	    p->sent <= l->san_started)
		return;
	if (l->san_good_end == 0) {
		l->san_good_end = end;
		snprintf(l->san_good_who, sizeof(l->san_good_who), "%s",
			 p->a->name);
		l->san_good_line = p->line;
	}
	/* A command that reads or writes the medium is refused in failure
	 * mode too: this one proves the sanitize completed. */
	if (pk_reads_medium(p->kind) || pk_writes_medium(p->kind))
		cmds_sanitize_end(l, 0);
}
