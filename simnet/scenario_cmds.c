/*
 * scenario_cmds.c — the whole command set in the scenario language, and
 * an oracle for each command that changes or reads the medium in its own
 * way (docs/scenarios.md, "The command set").
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
 * Every other supported command is a verb too (mode pages, VPD pages,
 * REPORT SUPPORTED OPERATION CODES, PRE-FETCH...), so that the explorer
 * can send everything the target reports.  cmds_count() files each sent
 * CDB under its row of the target's own opcode table (opcodes.c), which is
 * what `explore --stats` counts against.
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "model.h"
#include "scenario_int.h"
#include "scsi/scsi_int.h"

/* ------------------------------------------------------- statistics */

static const struct {
	uint8_t op;
	uint8_t sa;
	const char *name;
} op_names[] = {
	{0x00, 0, "TEST UNIT READY"},
	{0x03, 0, "REQUEST SENSE"},
	{0x08, 0, "READ(6)"},
	{0x0a, 0, "WRITE(6)"},
	{0x12, 0, "INQUIRY"},
	{0x15, 0, "MODE SELECT(6)"},
	{0x16, 0, "RESERVE(6)"},
	{0x17, 0, "RELEASE(6)"},
	{0x1a, 0, "MODE SENSE(6)"},
	{0x1b, 0, "START STOP UNIT"},
	{0x1e, 0, "PREVENT ALLOW MEDIUM REMOVAL"},
	{0x25, 0, "READ CAPACITY(10)"},
	{0x28, 0, "READ(10)"},
	{0x2a, 0, "WRITE(10)"},
	{0x2e, 0, "WRITE AND VERIFY(10)"},
	{0x2f, 0, "VERIFY(10)"},
	{0x34, 0, "PRE-FETCH(10)"},
	{0x35, 0, "SYNCHRONIZE CACHE(10)"},
	{0x37, 0, "READ DEFECT DATA(10)"},
	{0x41, 0, "WRITE SAME(10)"},
	{0x42, 0, "UNMAP"},
	{0x48, 0x01, "SANITIZE OVERWRITE"},
	{0x48, 0x02, "SANITIZE BLOCK ERASE"},
	{0x48, 0x03, "SANITIZE CRYPTOGRAPHIC ERASE"},
	{0x48, 0x1f, "SANITIZE EXIT FAILURE MODE"},
	{0x55, 0, "MODE SELECT(10)"},
	{0x56, 0, "RESERVE(10)"},
	{0x57, 0, "RELEASE(10)"},
	{0x5a, 0, "MODE SENSE(10)"},
	{0x5e, 0x00, "PR IN READ KEYS"},
	{0x5e, 0x01, "PR IN READ RESERVATION"},
	{0x5e, 0x02, "PR IN REPORT CAPABILITIES"},
	{0x5e, 0x03, "PR IN READ FULL STATUS"},
	{0x5f, 0x00, "PR OUT REGISTER"},
	{0x5f, 0x01, "PR OUT RESERVE"},
	{0x5f, 0x02, "PR OUT RELEASE"},
	{0x5f, 0x03, "PR OUT CLEAR"},
	{0x5f, 0x04, "PR OUT PREEMPT"},
	{0x5f, 0x05, "PR OUT PREEMPT AND ABORT"},
	{0x5f, 0x06, "PR OUT REGISTER AND IGNORE"},
	{0x5f, 0x07, "PR OUT REGISTER AND MOVE"},
	{0x83, 0x00, "EXTENDED COPY(LID1)"},
	{0x84, 0x00, "RECEIVE COPY RESULTS COPY STATUS"},
	{0x84, 0x03, "RECEIVE COPY RESULTS OPERATING PARAMETERS"},
	{0x88, 0, "READ(16)"},
	{0x89, 0, "COMPARE AND WRITE"},
	{0x8a, 0, "WRITE(16)"},
	{0x8b, 0, "ORWRITE(16)"},
	{0x8e, 0, "WRITE AND VERIFY(16)"},
	{0x8f, 0, "VERIFY(16)"},
	{0x90, 0, "PRE-FETCH(16)"},
	{0x91, 0, "SYNCHRONIZE CACHE(16)"},
	{0x93, 0, "WRITE SAME(16)"},
	{0x9c, 0, "WRITE ATOMIC(16)"},
	{0x9e, 0x10, "READ CAPACITY(16)"},
	{0x9e, 0x12, "GET LBA STATUS"},
	{0xa0, 0, "REPORT LUNS"},
	{0xa3, 0x0a, "REPORT TARGET PORT GROUPS"},
	{0xa3, 0x0c, "REPORT SUPPORTED OPERATION CODES"},
	{0xa3, 0x0d, "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS"},
	{0xa4, 0x0a, "SET TARGET PORT GROUPS"},
	{0xa8, 0, "READ(12)"},
	{0xaa, 0, "WRITE(12)"},
	{0xae, 0, "WRITE AND VERIFY(12)"},
	{0xaf, 0, "VERIFY(12)"},
	{0xb7, 0, "READ DEFECT DATA(12)"},
};

unsigned int scn_op_rows(void)
{
	return scsi_opcode_count < SCN_STAT_OPS - 1 ? scsi_opcode_count
						    : SCN_STAT_OPS - 1;
}

const char *scn_op_row_name(unsigned int row, char *buf, size_t cap)
{
	const struct scsi_opcode_desc *d;
	const char *name = "?";

	if (row >= scn_op_rows()) {
		snprintf(buf, cap, "(opcodes the target does not support)");
		return buf;
	}
	d = &scsi_opcodes[row];
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (op_names[i].op == d->opcode &&
		    (!d->has_sa || op_names[i].sa == d->sa))
			name = op_names[i].name;
	if (d->has_sa)
		snprintf(buf, cap, "%02Xh/%02Xh %s", d->opcode, d->sa, name);
	else
		snprintf(buf, cap, "%02Xh %s", d->opcode, name);
	return buf;
}

const char *scn_fault_name(enum scn_fault f)
{
	static const char *const n[SCN_FAULTS] = {
		"net (delay, jitter, chunking, partial I/O)",
		"partition",
		"stall",
		"rst",
		"disconnect",
		"vanish",
		"fin (half close)",
		"reconnect",
		"disk eio",
		"disk latency",
		"disk remote (tails, timeouts)",
		"disk away",
		"target crash",
		"live reconfiguration",
	};

	return (unsigned int)f < SCN_FAULTS ? n[f] : "?";
}

/* The row of cdb in the target's table (SERVICE ACTION in byte 1, bits
 * 4-0, for the opcodes that have one), else the last bucket. */
static unsigned int op_row(const uint8_t *cdb)
{
	for (unsigned int i = 0; i < scn_op_rows(); i++) {
		const struct scsi_opcode_desc *d = &scsi_opcodes[i];

		if (d->opcode == cdb[0] &&
		    (!d->has_sa || d->sa == (cdb[1] & 0x1f)))
			return i;
	}
	return SCN_STAT_OPS - 1;
}

void cmds_count(struct runner *r, const uint8_t *cdb)
{
	r->res->op_count[op_row(cdb)]++;
}

/* ------------------------------------------------------- helpers */

bool pk_writes_medium(enum pkind k)
{
	return k == PK_WRITE || k == PK_CAW || k == PK_WSAME || k == PK_UNMAP ||
	       k == PK_ORWRITE || k == PK_WVERIFY;
}

bool pk_reads_medium(enum pkind k)
{
	return k == PK_READ || k == PK_VERIFY || k == PK_MREAD;
}

static bool vid_of(struct runner *r, const struct toks *t, const char *key,
		   const char *dflt, uint64_t *vid)
{
	const char *v = kv(t, key);
	char buf[32];

	if (v == NULL) {
		if (dflt == NULL) {
			snprintf(buf, sizeof(buf), "w%d", r->line);
			v = buf;
		} else {
			v = dflt;
		}
	}
	*vid = model_vid(v);
	return true;
}

/* The Data-Out bytes of `blocks` blocks of vid from lba. */
static uint8_t *fill_out(uint64_t vid, uint64_t lba, uint32_t blocks,
			 uint32_t bs, uint8_t *buf)
{
	for (uint32_t i = 0; i < blocks; i++)
		model_fill(vid, lba + i, buf + (size_t)i * bs, bs);
	return buf;
}

static uint8_t *out_alloc(struct ini_op *op, size_t n)
{
	op->out = calloc(1, n ? n : 1);
	if (op->out == NULL)
		abort();
	op->edtl = (uint32_t)n;
	op->dir_write = n > 0;
	return op->out;
}

static bool in_model(const struct lun_st *l, uint64_t lba, uint64_t blocks)
{
	return l != NULL && l->m != NULL && lba <= model_blocks(l->m) &&
	       blocks <= model_blocks(l->m) - lba;
}

/* The command names blocks past the last LBA: it must be refused with
 * LOGICAL BLOCK ADDRESS OUT OF RANGE (SBC-4 §4.5; cmds_oracle). */
static void mark_oor(struct pend *p, const struct lun_st *l, uint64_t lba,
		     uint64_t blocks)
{
	if (l != NULL && l->m != NULL && blocks > 0 &&
	    !in_model(l, lba, blocks))
		p->oor = true;
}

/* Begin a write of value vid (the same id on every block; a pattern
 * renders each block with its own LBA) as range k of p. */
static void range_begin(struct pend *p, struct lun_st *l, uint64_t lba,
			uint32_t blocks, uint64_t vid)
{
	struct pend_range *g;
	uint64_t *vids;

	if (p->nrg == PEND_RANGES || blocks == 0)
		return;
	g = &p->rg[p->nrg++];
	memset(g, 0, sizeof(*g));
	g->ls = l;
	g->lba = lba;
	g->blocks = blocks;
	vids = malloc((size_t)blocks * sizeof(*vids));
	if (vids == NULL)
		abort();
	for (uint32_t i = 0; i < blocks; i++)
		vids[i] = vid;
	if (p->stamp == 0)
		p->stamp = model_tick(l->m);
	g->handle = model_write_begin(l->m, lba, blocks, vids, p->stamp);
	free(vids);
	/* The value written again: its landing is fine (land_check).  A
	 * copy or an ORWRITE (MODEL_WILD) writes what it read, which may be
	 * a bounded write's value that landed in time, moved back to its
	 * own LBA (explore seed 7310002268: an EXTENDED COPY from lun 1 to
	 * lun 0 and a later one back): any value of the LU, until it ends
	 * (seed 8420003372: a copy of lba 37 onto itself, held behind a
	 * partition, ran after a TARGET RESET bounded a write there). */
	land_bound_forget(p->r, l, vid);
	if (vid == MODEL_WILD)
		l->copies_open++;
}

static void cdb_lba_len(uint8_t *cdb, unsigned int size, uint64_t lba,
			uint32_t blocks)
{
	switch (size) {
	case 10:
		put_be32(cdb + 2, (uint32_t)lba);
		put_be16(cdb + 7, (uint16_t)blocks);
		break;
	case 12:
		put_be32(cdb + 2, (uint32_t)lba);
		put_be32(cdb + 6, blocks);
		break;
	default:
		put_be64(cdb + 2, lba);
		put_be32(cdb + 10, blocks);
		break;
	}
}

static unsigned int cdb_size(struct runner *r, const struct toks *t,
			     unsigned int dflt)
{
	return (unsigned int)u64_or(t, "cdb", dflt, r);
}

/* Is the fill byte of a value, or fail the line (WRITE SAME, ORWRITE,
 * SANITIZE and VERIFY BYTCHK=11b repeat one block: only a value whose
 * bytes do not depend on the LBA can be repeated). */
static int need_fill(struct runner *r, const char *verb, uint64_t vid)
{
	int b = model_fill_byte(vid);

	if (b < 0)
		syntaxf(r, "%s: data= must be a fill (0xNN) or zero", verb);
	return b < 0 ? 0 : b;
}

/* ------------------------------------------------------ the verbs */

static void build_caw(struct runner *r, struct pend *p, struct ini_op *op,
		      const struct toks *t, struct lun_st *l, uint32_t bs)
{
	uint32_t n = p->blocks;
	uint8_t *o;

	vid_of(r, t, "compare", "zero", &p->cmp_vid);
	vid_of(r, t, "data", NULL, &p->data_vid);
	op->cdb[0] = 0x89;
	op->cdb[1] = p->fua ? 0x08 : 0;
	put_be64(op->cdb + 2, p->lba);
	op->cdb[13] = (uint8_t)n;
	o = out_alloc(op, 2ull * n * bs);
	fill_out(p->cmp_vid, p->lba, n, bs, o);
	fill_out(p->data_vid, p->lba, n, bs, o + (size_t)n * bs);
	p->kind = PK_CAW;
	mark_oor(p, l, p->lba, n);
	if (n == 0 || n > 255 || !in_model(l, p->lba, n))
		return;
	p->stamp = model_tick(l->m);
	model_read_begin(l->m, p->stamp);
	for (uint32_t i = 0; i < n; i++)
		model_caw_watch(l->m, p->lba + i, p->cmp_vid);
	range_begin(p, l, p->lba, n, p->data_vid);
}

static void build_write_same(struct runner *r, struct pend *p,
			     struct ini_op *op, const struct toks *t,
			     struct lun_st *l, uint32_t bs)
{
	bool unmap = has(t, "unmap"), ndob = has(t, "ndob");
	unsigned int size = cdb_size(r, t, ndob ? 16 : 10);
	uint64_t n = p->blocks;

	vid_of(r, t, "data", "zero", &p->data_vid);
	need_fill(r, "write-same", p->data_vid);
	op->cdb[0] = size == 16 ? 0x93 : 0x41;
	op->cdb[1] = (uint8_t)((unmap ? 0x08 : 0) | (ndob ? 0x01 : 0));
	if (size == 16) {
		put_be64(op->cdb + 2, p->lba);
		put_be32(op->cdb + 10, p->blocks);
	} else {
		put_be32(op->cdb + 2, (uint32_t)p->lba);
		put_be16(op->cdb + 7, (uint16_t)p->blocks);
	}
	if (!ndob)
		model_fill(p->data_vid, p->lba, out_alloc(op, bs), bs);
	p->kind = PK_WSAME;
	if (l == NULL || l->m == NULL)
		return;
	/* NUMBER OF BLOCKS 0: to the last LBA (SBC-4 §5.50, WSNZ=0). */
	if (n == 0 && p->lba < model_blocks(l->m))
		n = model_blocks(l->m) - p->lba;
	mark_oor(p, l, p->lba, n);
	if (!in_model(l, p->lba, n))
		return;
	/* UNMAP=1 deallocates (zeros with LBPRZ=1) whatever the block
	 * holds; NDOB writes zeros. */
	range_begin(p, l, p->lba, (uint32_t)n, unmap || ndob ? 0 : p->data_vid);
}

/* UNMAP [lba= blocks=] [ranges=L:N,L:N...] [plen=N]: a descriptor per
 * range; plen= sends a PARAMETER LIST LENGTH of its own (edge cases). */
static void build_unmap(struct runner *r, struct pend *p, struct ini_op *op,
			const struct toks *t, struct lun_st *l)
{
	uint64_t lbas[PEND_RANGES];
	uint32_t ns[PEND_RANGES];
	int k = 0;
	const char *rs = kv(t, "ranges");
	uint32_t plen;
	bool ok = true;
	uint8_t *o;

	if (rs != NULL) {
		char buf[512];
		char *save = NULL;

		snprintf(buf, sizeof(buf), "%s", rs);
		for (char *x = strtok_r(buf, ",", &save);
		     x != NULL && k < PEND_RANGES;
		     x = strtok_r(NULL, ",", &save)) {
			char *c = strchr(x, ':');

			if (c == NULL) {
				syntaxf(r, "unmap ranges=LBA:N,LBA:N...");
				return;
			}
			lbas[k] = strtoull(x, NULL, 0);
			ns[k++] = (uint32_t)strtoul(c + 1, NULL, 0);
		}
	} else {
		lbas[k] = p->lba;
		ns[k++] = p->blocks;
	}
	plen = (uint32_t)u64_or(t, "plen", 8 + 16u * (unsigned)k, r);
	op->cdb[0] = 0x42;
	put_be16(op->cdb + 7, (uint16_t)plen);
	o = out_alloc(op, plen);
	if (plen >= 8) {
		put_be16(o, (uint16_t)(6 + 16 * k));
		put_be16(o + 2, (uint16_t)(16 * k));
	}
	for (int i = 0; i < k; i++) {
		if (8 + 16u * (unsigned)i + 12 > plen)
			break;
		put_be64(o + 8 + 16 * i, lbas[i]);
		put_be32(o + 8 + 16 * i + 8, ns[i]);
	}
	p->kind = PK_UNMAP;
	/* The target validates every descriptor before it deallocates
	 * anything (SBC-4 §5.32.2); a short list is an error. */
	if (plen != 8 + 16u * (unsigned)k || l == NULL || l->m == NULL)
		return;
	for (int i = 0; i < k; i++) {
		ok = ok && in_model(l, lbas[i], ns[i]);
		mark_oor(p, l, lbas[i], ns[i]);
	}
	for (int i = 0; ok && i < k; i++)
		range_begin(p, l, lbas[i], ns[i], 0);
}

static void build_orwrite(struct runner *r, struct pend *p, struct ini_op *op,
			  const struct toks *t, struct lun_st *l, uint32_t bs)
{
	uint64_t vid;

	vid_of(r, t, "data", "0x01", &vid);
	p->or_byte = (uint8_t)need_fill(r, "orwrite", vid);
	p->data_vid = vid;
	op->cdb[0] = 0x8b;
	op->cdb[1] = p->fua ? 0x08 : 0;
	cdb_lba_len(op->cdb, 16, p->lba, p->blocks);
	fill_out(vid, p->lba, p->blocks, bs,
		 out_alloc(op, (size_t)p->blocks * bs));
	p->kind = PK_ORWRITE;
	mark_oor(p, l, p->lba, p->blocks);
	if (!in_model(l, p->lba, p->blocks) || p->blocks == 0)
		return;
	/* What it writes depends on what it reads: any value until the
	 * answer, then the candidates ORed (cmds_oracle). */
	p->stamp = model_tick(l->m);
	model_read_begin(l->m, p->stamp);
	range_begin(p, l, p->lba, p->blocks, MODEL_WILD);
}

static void build_verify(struct runner *r, struct pend *p, struct ini_op *op,
			 const struct toks *t, struct lun_st *l, uint32_t bs,
			 bool write)
{
	unsigned int size = cdb_size(r, t, 10);
	uint8_t bytchk = (uint8_t)u64_or(t, "bytchk", write ? 1 : 0, r);
	uint32_t n = p->blocks;

	op->cdb[0] = write ? (size == 16   ? 0x8e
			      : size == 12 ? 0xae
					   : 0x2e)
			   : (size == 16   ? 0x8f
			      : size == 12 ? 0xaf
					   : 0x2f);
	op->cdb[1] = (uint8_t)((bytchk & 3) << 1);
	cdb_lba_len(op->cdb, size, p->lba, n);
	p->bytchk = bytchk;
	mark_oor(p, l, p->lba, n);
	if (write) {
		vid_of(r, t, "data", NULL, &p->data_vid);
		fill_out(p->data_vid, p->lba, n, bs,
			 out_alloc(op, (size_t)n * bs));
		p->kind = PK_WVERIFY;
		p->fua = true; /* the write is made durable (SBC-4 §5.46) */
		if (in_model(l, p->lba, n))
			range_begin(p, l, p->lba, n, p->data_vid);
		return;
	}
	p->kind = PK_VERIFY;
	if (bytchk == 1 || bytchk == 3) {
		vid_of(r, t, "data", "zero", &p->cmp_vid);
		if (bytchk == 3) {
			need_fill(r, "verify bytchk=3", p->cmp_vid);
			model_fill(p->cmp_vid, p->lba, out_alloc(op, bs), bs);
		} else {
			fill_out(p->cmp_vid, p->lba, n, bs,
				 out_alloc(op, (size_t)n * bs));
		}
	}
	if (in_model(l, p->lba, n)) {
		p->stamp = model_tick(l->m);
		model_read_begin(l->m, p->stamp);
	}
}

/* EXTENDED COPY seg=SLUN:SLBA:DLUN:DLBA:N ... [list-id=N]: one
 * identification target descriptor (E4h, the LU's NAA designator as its
 * VPD page 83h reported it; zeros if no INQUIRY has told us) per LUN
 * named, one block to block segment descriptor (02h) per seg=. */
static void build_xcopy(struct runner *r, struct pend *p, struct ini_op *op,
			const struct toks *t)
{
	struct {
		uint32_t sl, dl, n;
		uint64_t slba, dlba;
	} seg[PEND_RANGES];
	uint32_t tl[PEND_RANGES];
	int ns = 0, nt = 0;
	uint32_t plen;
	uint8_t *o;
	bool ok = true;

	for (int i = 2; i < t->n && ns < PEND_RANGES; i++) {
		unsigned long long a, b, c, d, e;

		if (strncmp(t->v[i], "seg=", 4) != 0)
			continue;
		if (sscanf(t->v[i] + 4, "%llu:%llu:%llu:%llu:%llu", &a, &b, &c,
			   &d, &e) != 5) {
			syntaxf(r, "xcopy seg=SLUN:SLBA:DLUN:DLBA:BLOCKS");
			return;
		}
		seg[ns].sl = (uint32_t)a;
		seg[ns].slba = b;
		seg[ns].dl = (uint32_t)c;
		seg[ns].dlba = d;
		seg[ns++].n = (uint32_t)e;
	}
	for (int i = 0; i < ns; i++) {
		uint32_t luns[2] = {seg[i].sl, seg[i].dl};

		for (int j = 0; j < 2; j++) {
			int k;

			for (k = 0; k < nt && tl[k] != luns[j]; k++)
				;
			if (k == nt)
				tl[nt++] = luns[j];
		}
	}
	plen = 16 + 32u * (unsigned)nt + 28u * (unsigned)ns;
	op->cdb[0] = 0x83;
	put_be32(op->cdb + 10, plen);
	o = out_alloc(op, plen);
	o[0] = (uint8_t)u64_or(t, "list-id", 0, r);
	put_be16(o + 2, (uint16_t)(32 * nt));
	put_be32(o + 8, 28u * (unsigned)ns);
	for (int k = 0; k < nt; k++) {
		uint8_t *d = o + 16 + 32 * k;
		struct lun_st *l = lun_find(r, tl[k]);

		d[0] = 0xe4;
		d[4] = 0x01; /* binary */
		d[5] = 0x03; /* LU, NAA */
		d[7] = 16;
		if (l != NULL && l->naa_known)
			memcpy(d + 8, l->naa, 16);
		else
			ok = false; /* COPY TARGET DEVICE NOT REACHABLE */
		d[29] = 0;
		d[30] = (uint8_t)((l ? l->bs : 512) >> 8);
		d[31] = (uint8_t)(l ? l->bs : 512);
	}
	for (int i = 0; i < ns; i++) {
		uint8_t *d = o + 16 + 32 * nt + 28 * i;
		uint16_t si = 0, di = 0;

		for (int k = 0; k < nt; k++) {
			if (tl[k] == seg[i].sl)
				si = (uint16_t)k;
			if (tl[k] == seg[i].dl)
				di = (uint16_t)k;
		}
		d[0] = 0x02;
		put_be16(d + 2, 24);
		put_be16(d + 4, si);
		put_be16(d + 6, di);
		put_be16(d + 10, (uint16_t)seg[i].n);
		put_be64(d + 12, seg[i].slba);
		put_be64(d + 20, seg[i].dlba);
	}
	p->kind = PK_XCOPY;
	/* Validated whole before any block moves (xcopy.c): model the
	 * copy only if the target must accept it. */
	for (int i = 0; i < ns && ok; i++) {
		struct lun_st *s = lun_find(r, seg[i].sl),
			      *d = lun_find(r, seg[i].dl);

		ok = s != NULL && d != NULL && s->bs == d->bs && !d->ro &&
		     seg[i].n <= 0xffff && in_model(s, seg[i].slba, seg[i].n) &&
		     in_model(d, seg[i].dlba, seg[i].n);
	}
	for (int i = 0; i < ns && ok; i++) {
		struct lun_st *s = lun_find(r, seg[i].sl),
			      *d = lun_find(r, seg[i].dl);
		struct pend_range *g;

		if (seg[i].n == 0)
			continue;
		/* Each LU's model has its own clock: the write is stamped in
		 * the destination's, the read in the source's. */
		p->stamp = 0;
		range_begin(p, d, seg[i].dlba, seg[i].n, MODEL_WILD);
		g = &p->rg[p->nrg - 1];
		g->src = s;
		g->src_lba = seg[i].slba;
		g->src_stamp = model_tick(s->m);
		model_read_begin(s->m, g->src_stamp);
	}
	p->stamp = 0;
}

/* SANITIZE overwrite|block-erase|crypto-erase|exit-failure-mode
 * [pattern=0xNN] [passes=N] [invert] [immed] */
static void build_sanitize(struct runner *r, struct pend *p, struct ini_op *op,
			   const struct toks *t, struct lun_st *l)
{
	uint8_t sa = has(t, "overwrite")	   ? 0x01
		     : has(t, "block-erase")	   ? 0x02
		     : has(t, "crypto-erase")	   ? 0x03
		     : has(t, "exit-failure-mode") ? 0x1f
						   : 0;
	uint64_t pv = 0;
	uint8_t b = 0, passes = (uint8_t)u64_or(t, "passes", 1, r);
	bool invert = has(t, "invert");
	uint64_t fin = 0, *vids;

	if (sa == 0) {
		syntaxf(r, "sanitize overwrite|block-erase|crypto-erase|"
			   "exit-failure-mode");
		return;
	}
	p->immed = has(t, "immed");
	p->san_sa = sa;
	op->cdb[0] = 0x48;
	op->cdb[1] = (uint8_t)(sa | (p->immed ? 0x80 : 0));
	if (sa == 0x01) {
		uint8_t *o = out_alloc(op, 5);

		vid_of(r, t, "pattern", "0xa5", &pv);
		b = (uint8_t)need_fill(r, "sanitize pattern", pv);
		put_be16(op->cdb + 7, 5);
		o[0] = (uint8_t)((invert ? 0x80 : 0) | (passes & 0x1f));
		put_be16(o + 2, 1);
		o[4] = b;
		/* SBC-4 §5.30.3: INVERT inverts the pattern between
		 * passes: the last pass writes ~b when it is even. */
		fin = model_fill_vid(
			invert && (passes & 0x1f) % 2 == 0 ? (uint8_t)~b : b);
	}
	p->kind = PK_SANITIZE;
	if (l == NULL || l->m == NULL)
		return;
	p->san_gen = ++l->san_gen;
	l->san_overlap = l->san_inflight > 0;
	l->san_inflight++;
	p->san_counted = true;
	/* A sanitize still pending in the model: its fate is unknown
	 * from now (this one may be refused as running, or be the one
	 * that exits a failure mode). */
	cmds_sanitize_end(l, 2);
	l->san_started = l->san_good_end = 0;
	l->san_progress = -1;
	if (sa == 0x1f || (sa == 0x01 && ((passes & 0x1f) == 0)))
		return;
	vids = malloc((model_blocks(l->m) + 1) * sizeof(*vids));
	if (vids == NULL)
		abort();
	for (uint64_t i = 0; i < model_blocks(l->m); i++)
		vids[i] = fin;
	p->stamp = model_tick(l->m);
	l->san_handle = model_write_begin(l->m, 0, (uint32_t)model_blocks(l->m),
					  vids, p->stamp);
	/* A READ already at the backstore when the sanitize starts may
	 * return a pass before the last: with INVERT, the other pattern. */
	if (sa == 0x01 && invert && (passes & 0x1f) > 1) {
		for (uint64_t i = 0; i < model_blocks(l->m); i++)
			vids[i] = model_fill_vid(
				(uint8_t) ~(uint8_t)model_fill_byte(fin));
		l->san_mid = model_write_begin(
			l->m, 0, (uint32_t)model_blocks(l->m), vids, p->stamp);
	}
	free(vids);
}

/* MODE SELECT wce=0|1 [cdb=6|10]: the caching mode page with WCE as
 * asked, every other field as the target has it. */
static void build_mode_select(struct runner *r, struct pend *p,
			      struct ini_op *op, const struct toks *t,
			      struct lun_st *l)
{
	bool ten = cdb_size(r, t, 6) == 10;
	uint32_t hdr = ten ? 8 : 4;
	bool wce = u64_or(t, "wce", 1, r) != 0;
	uint8_t *o = out_alloc(op, hdr + 20);

	op->cdb[0] = ten ? 0x55 : 0x15;
	op->cdb[1] = 0x10; /* PF */
	if (has(t, "sp"))
		op->cdb[1] |= 0x01; /* save the page (scenario_spc.c) */
	if (ten)
		put_be16(op->cdb + 7, (uint16_t)(hdr + 20));
	else
		op->cdb[4] = (uint8_t)(hdr + 20);
	o[hdr] = 0x08;
	o[hdr + 1] = 0x12;
	o[hdr + 2] = wce ? 0x04 : 0;
	p->kind = PK_MSELECT;
	p->data_vid = wce;
	/* WCE=1 makes writes non-durable from the moment the target may
	 * apply it; WCE=0 makes durable only writes sent after it is
	 * answered (cmds_oracle). */
	if (l != NULL && wce) {
		l->wc_off = false;
		l->wc_off_since = 0;
		if (l->m)
			model_set_write_through(l->m, false);
	}
}

bool cmds_build(struct runner *r, struct pend *p, struct ini_op *op,
		const char *verb, const struct toks *t)
{
	struct lun_st *l = p->ls;
	uint32_t bs = l ? l->bs : 512;

	if (strcmp(verb, "caw") == 0) {
		build_caw(r, p, op, t, l, bs);
	} else if (strcmp(verb, "write-same") == 0) {
		build_write_same(r, p, op, t, l, bs);
	} else if (strcmp(verb, "unmap") == 0) {
		build_unmap(r, p, op, t, l);
	} else if (strcmp(verb, "orwrite") == 0) {
		build_orwrite(r, p, op, t, l, bs);
	} else if (strcmp(verb, "write-verify") == 0) {
		build_verify(r, p, op, t, l, bs, true);
	} else if (strcmp(verb, "verify") == 0) {
		build_verify(r, p, op, t, l, bs, false);
	} else if (strcmp(verb, "write-atomic") == 0) {
		/* WRITE ATOMIC(16): 2..9 LBA, 10..11 ATOMIC BOUNDARY,
		 * 12..13 TRANSFER LENGTH (SBC-4 §5.48). */
		vid_of(r, t, "data", NULL, &p->data_vid);
		op->cdb[0] = 0x9c;
		op->cdb[1] = p->fua ? 0x08 : 0;
		put_be64(op->cdb + 2, p->lba);
		put_be16(op->cdb + 10, (uint16_t)u64_or(t, "boundary", 0, r));
		put_be16(op->cdb + 12, (uint16_t)p->blocks);
		fill_out(p->data_vid, p->lba, p->blocks, bs,
			 out_alloc(op, (size_t)p->blocks * bs));
		p->kind = PK_WRITE;
		p->vid = p->data_vid; /* what the TMF landing oracle bounds */
		if (in_model(l, p->lba, p->blocks) && p->blocks > 0) {
			range_begin(p, l, p->lba, p->blocks, p->data_vid);
			p->handle = p->rg[0].handle;
			p->nrg = 0;
		} else {
			p->ls = NULL;
		}
	} else if (strcmp(verb, "xcopy") == 0) {
		build_xcopy(r, p, op, t);
	} else if (strcmp(verb, "copy-results") == 0) {
		op->cdb[0] = 0x84;
		op->cdb[1] = has(t, "op-params") ? 0x03 : 0x00;
		op->cdb[2] = (uint8_t)u64_or(t, "list-id", 0, r);
		put_be32(op->cdb + 10, 1024);
		op->edtl = 1024;
		op->dir_read = true;
		p->kind = PK_SPC;
	} else if (strcmp(verb, "get-lba-status") == 0) {
		uint32_t alloc = (uint32_t)u64_or(t, "alloc", 8 + 16 * 64, r);

		op->cdb[0] = 0x9e;
		op->cdb[1] = 0x12;
		put_be64(op->cdb + 2, p->lba);
		put_be32(op->cdb + 10, alloc);
		op->edtl = alloc;
		op->dir_read = alloc > 0;
		p->kind = PK_GLS;
		mark_oor(p, l, p->lba, 1);
		if (l != NULL && l->m != NULL) {
			p->stamp = model_tick(l->m);
			model_read_begin(l->m, p->stamp);
		}
	} else if (strcmp(verb, "sanitize") == 0) {
		build_sanitize(r, p, op, t, l);
	} else if (strcmp(verb, "prefetch") == 0) {
		unsigned int size = cdb_size(r, t, 10);

		op->cdb[0] = size == 16 ? 0x90 : 0x34;
		op->cdb[1] = has(t, "immed") ? 0x02 : 0;
		cdb_lba_len(op->cdb, size, p->lba, p->blocks);
		p->kind = PK_MREAD;
	} else if (strcmp(verb, "readcap16") == 0) {
		op->cdb[0] = 0x9e;
		op->cdb[1] = 0x10;
		put_be32(op->cdb + 10, 32);
		op->edtl = 32;
		op->dir_read = true;
		p->kind = PK_SPC;
	} else if (strcmp(verb, "mode-sense") == 0) {
		bool ten = cdb_size(r, t, 6) == 10;
		uint8_t page = (uint8_t)u64_or(t, "page", 0x3f, r),
			pc = (uint8_t)u64_or(t, "pc", 0, r);

		op->cdb[0] = ten ? 0x5a : 0x1a;
		op->cdb[2] = (uint8_t)(pc << 6 | (page & 0x3f));
		if (ten)
			put_be16(op->cdb + 7, 1024);
		else
			op->cdb[4] = 255;
		op->edtl = ten ? 1024 : 255;
		op->dir_read = true;
		p->kind = PK_SPC;
	} else if (strcmp(verb, "mode-select") == 0) {
		build_mode_select(r, p, op, t, l);
	} else if (strcmp(verb, "start-stop") == 0) {
		op->cdb[0] = 0x1b;
		op->cdb[1] = has(t, "immed") ? 1 : 0;
		op->cdb[4] = (uint8_t)(((u64_or(t, "pc", 0, r) & 0xf) << 4) |
				       (has(t, "loej") ? 0x02 : 0) |
				       (has(t, "stop") ? 0 : 0x01));
		p->kind = PK_SPC;
	} else if (strcmp(verb, "prevent") == 0) {
		op->cdb[0] = 0x1e;
		op->cdb[4] = has(t, "off") ? 0 : 1;
		p->kind = PK_SPC;
	} else if (strcmp(verb, "read-defect") == 0) {
		bool twelve = cdb_size(r, t, 10) == 12;

		op->cdb[0] = twelve ? 0xb7 : 0x37;
		op->cdb[twelve ? 1 : 2] = 0x18 |
					  0x05; /* P+G, physical sector */
		if (twelve)
			put_be32(op->cdb + 6, 512);
		else
			put_be16(op->cdb + 7, 512);
		op->edtl = 512;
		op->dir_read = true;
		p->kind = PK_SPC;
	} else if (strcmp(verb, "report-opcodes") == 0) {
		uint8_t opt = (uint8_t)u64_or(t, "opt", 0, r);

		op->cdb[0] = 0xa3;
		op->cdb[1] = 0x0c;
		op->cdb[2] = (uint8_t)((has(t, "rctd") ? 0x80 : 0) | (opt & 7));
		op->cdb[3] = (uint8_t)u64_or(t, "op", 0, r);
		put_be16(op->cdb + 4, (uint16_t)u64_or(t, "sa", 0, r));
		put_be32(op->cdb + 6, 4096);
		op->edtl = 4096;
		op->dir_read = true;
		p->kind = PK_SPC;
	} else if (strcmp(verb, "report-tmfs") == 0) {
		op->cdb[0] = 0xa3;
		op->cdb[1] = 0x0d;
		op->cdb[2] = has(t, "repd") ? 0x80 : 0;
		put_be32(op->cdb + 6, 16);
		op->edtl = 16;
		op->dir_read = true;
		p->kind = PK_SPC;
	} else if (strcmp(verb, "report-tpgs") == 0) {
		op->cdb[0] = 0xa3;
		op->cdb[1] = 0x0a;
		put_be32(op->cdb + 6, 1024);
		op->edtl = 1024;
		op->dir_read = true;
		p->kind = PK_SPC;
	} else if (strcmp(verb, "set-tpgs") == 0) {
		uint8_t *o = out_alloc(op, 8);

		op->cdb[0] = 0xa4;
		op->cdb[1] = 0x0a;
		put_be32(op->cdb + 6, 8);
		o[4] = (uint8_t)u64_or(t, "state", 0, r);
		put_be16(o + 6, (uint16_t)u64_or(t, "tpg", 1, r));
		/* the ALUA oracle's STPG: it may change a group's state */
		p->kind = PK_STPG;
	} else {
		return false;
	}
	return true;
}

/* ------------------------------------------------------ the oracles */

static bool miscompare(const struct ini_op *op, uint64_t *info)
{
	const uint8_t *s = op->sense;
	int sk, asc, ascq;

	sense_parse(op, &sk, &asc, &ascq);
	if (op->outcome != INI_DONE || op->status != 0x02 ||
	    sk != SK_MISCOMPARE)
		return false;
	*info = UINT64_MAX;
	if ((s[0] & 0x7f) == 0x70 && (s[0] & 0x80) && op->sense_len >= 7) {
		*info = get_be32(s + 3);
	} else if ((s[0] & 0x7f) == 0x72) {
		/* descriptor sense: the information descriptor (00h) */
		for (uint32_t o = 8; o + 12 <= op->sense_len && o < 8u + s[7];
		     o += 2u + s[o + 1])
			if (s[o] == 0x00 && (s[o + 2] & 0x80))
				*info = get_be64(s + o + 4);
	}
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

		model_write_end(l->m, p->rg[i].handle, outcome,
				durable_of(p, l), model_tick(l->m));
		/* of unknown fate, a copy may still run: it stays open */
		if ((p->kind == PK_XCOPY || p->kind == PK_ORWRITE) &&
		    outcome != 2 && l->copies_open > 0)
			l->copies_open--;
	}
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
	struct lun_st *l = p->nrg ? p->rg[0].ls : NULL;
	uint64_t info;

	if (l == NULL)
		return;
	if (miscompare(op, &info)) {
		uint64_t re = model_tick(l->m);

		/* The write landed, then the read-back differed: only a
		 * write from elsewhere in between can explain it. */
		if (model_range_quiet(l->m, p->lba, p->blocks, p->rg[0].handle,
				      p->stamp, re))
			failf(r, p->line,
			      "oracle: %s's WRITE AND VERIFY on lun %u lba "
			      "%llu got MISCOMPARE, yet no other write "
			      "touched those blocks (seed %llu)",
			      p->a->name, l->lun, (unsigned long long)p->lba,
			      (unsigned long long)r->seed);
		ranges_end(p, 2);
		return;
	}
	/* It writes, then reads back: an error of the read (a fenced
	 * store's NOT READY, say) comes after the write landed. */
	ranges_end(p, multi_outcome(op));
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
 * error, NOT READY from a fenced store included, can stop it half way). */
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
	if (sk == SK_ILLEGAL_REQUEST || sk == SK_UNIT_ATTENTION ||
	    sk == SK_DATA_PROTECT || sk == SK_COPY_ABORTED)
		return 1;
	/* refused before running: a sanitize, no medium */
	if (sk == SK_NOT_READY &&
	    (asc == 0x3a || (asc == 0x04 && ascq == 0x1b)))
		return 1;
	return 2;
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

void cmds_oracle(struct runner *r, struct pend *p, struct ini_op *op)
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
		if (scsi_good(op) && p->ls != NULL && p->data_vid == 0 &&
		    p->ls->m != NULL)
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
		now = model_tick(l->m);
	}
	if (l->san_handle != 0)
		model_write_end(l->m, l->san_handle, outcome, l->wc_off, now);
	l->san_handle = l->san_mid = 0;
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

void cmds_lun_reset_state(struct lun_st *l)
{
	/* model_crash() or a removal already made its writes unknown. */
	l->san_handle = 0;
	l->san_gen++;
	l->san_started = l->san_good_end = 0;
	l->san_progress = -1;
	l->wc_off_since = 0;
}

/* Fixed or descriptor sense of REQUEST SENSE data: key, ASC, ASCQ and
 * the progress indication (-1 without SKSV). */
static bool rsense_data(const struct ini_op *op, int *sk, int *asc, int *ascq,
			int *progress)
{
	const uint8_t *s = op->in;

	*progress = -1;
	if (op->in_len < 8)
		return false;
	if ((s[0] & 0x7f) == 0x72) {
		*sk = s[1] & 0xf;
		*asc = s[2];
		*ascq = s[3];
		for (uint32_t o = 8; o + 8 <= op->in_len && o < 8u + s[7];
		     o += 2u + s[o + 1])
			if (s[o] == 0x02 && (s[o + 4] & 0x80))
				*progress = get_be16(s + o + 5);
		return true;
	}
	if (op->in_len < 14)
		return false;
	*sk = s[2] & 0xf;
	*asc = s[12];
	*ascq = s[13];
	if (op->in_len >= 18 && (s[15] & 0x80))
		*progress = get_be16(s + 16);
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
		if (p->san_gen != l->san_gen || l->san_overlap || r->failed)
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
