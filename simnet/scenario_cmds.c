/*
 * scenario_cmds.c — the whole command set in the scenario language
 * (docs/scenarios.md, "The command set"): each verb's CDB and Data-Out,
 * and what the command may change in the data model, recorded when it is
 * sent.  Each command that changes or reads the medium in its own way has
 * an oracle in scenario_cmds_oracle.c, which judges its answer.
 *
 * Every other supported command is a verb too (mode pages, VPD pages,
 * REPORT SUPPORTED OPERATION CODES, PRE-FETCH...), so that the explorer
 * can send everything the target reports; scenario_stats.c counts each
 * sent CDB under its row of the target's own opcode table (opcodes.c).
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "model.h"
#include "scenario_int.h"
#include "ut_assert.h"
#include "scsi/scsi_int.h"

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
	if (vid == MODEL_WILD) {
		l->copies_open++;
		p->r->copies_sent++;
	}
}

/* Begin an EXTENDED COPY segment as range k of p: a MODEL_WILD write of
 * n blocks at dlba of d, named at the answer from what src_lba.. of s
 * held while it ran.  Each LU's model has its own clock: the write is
 * stamped in the destination's, the read in the source's. */
static void copy_range_begin(struct pend *p, struct lun_st *d, uint64_t dlba,
			     uint32_t n, struct lun_st *s, uint64_t slba)
{
	struct pend_range *g;
	int k = p->nrg;

	p->stamp = 0;
	range_begin(p, d, dlba, n, MODEL_WILD);
	if (p->nrg == k)
		return;
	g = &p->rg[p->nrg - 1];
	g->src = s;
	g->src_lba = slba;
	g->src_stamp = model_tick(s->m);
	model_read_begin(s->m, g->src_stamp);
}

/* A write range past the capacity when sent (scenario_int.h oor_rg). */
static void oor_range(struct pend *p, struct lun_st *l, uint64_t lba,
		      uint32_t blocks, uint64_t vid)
{
	if (p->n_oor_rg == PEND_RANGES || blocks == 0)
		return;
	p->oor_rg[p->n_oor_rg].ls = l;
	p->oor_rg[p->n_oor_rg].src = NULL;
	p->oor_rg[p->n_oor_rg].src_lba = 0;
	p->oor_rg[p->n_oor_rg].lba = lba;
	p->oor_rg[p->n_oor_rg].blocks = blocks;
	p->oor_rg[p->n_oor_rg++].vid = vid;
}

void cmds_write_past_end(struct pend *p, struct lun_st *l, uint64_t lba,
			 uint32_t blocks, uint64_t vid)
{
	ut_assert(p->n_oor_rg == 0 && p->nrg == 0);
	oor_range(p, l, lba, blocks, vid);
}

/*
 * A grow of l from old_blocks while WRITE SAME p to the last LBA
 * (NUMBER OF LOGICAL BLOCKS 0) is on its way: the target takes the
 * command before the grow, writing to the old end (or refusing it,
 * LOGICAL BLOCK ADDRESS OUT OF RANGE, if its LBA lay past it), or after,
 * writing to the new end (SBC-4 §5.50; sbc_lbp.c sbc_write_same counts
 * the blocks when it takes the command).  The blocks the grow brings
 * from its LBA on are begun now.  A GOOD answer acknowledges them only
 * if it could not have come before the grow: its LBA lay past every
 * capacity the LU had since it was sent (ws_cap); else they were
 * written before the answer or never (pend_range.maybe: MODEL_BOUNDED,
 * not of unknown fate: the answer ends the command, nothing of it lands
 * later).  From the old end, not from where the ranges reached: blocks
 * a shrink took back the grow brings back zeroed (model_resize), and
 * taken after the grow the command writes them too.  (Explore seed
 * 819553478580 on lane eblind16b: a WRITE SAME of a 2-block LUN ran
 * after a grow to 4,608 and wrote them all; seeds 894471361946,
 * 894471369329 and 894471372791 on main 7112cb2: the model had the
 * grown blocks zero.)
 */
static void ws_to_end_grown(struct pend *p, struct lun_st *l,
			    uint64_t old_blocks)
{
	uint64_t from = p->lba > old_blocks ? p->lba : old_blocks;
	uint64_t to = model_blocks(l->m);

	if (to > from && to - from <= UINT32_MAX) {
		int k = p->nrg;

		range_begin(p, l, from, (uint32_t)(to - from), p->ws_vid);
		if (p->nrg > k)
			p->rg[k].maybe = p->lba <= p->ws_cap;
	}
	if (to > p->ws_cap)
		p->ws_cap = to;
}

/*
 * A resize of l: a command sent while its range lay past the last LBA
 * reaches the target after the resize (or before it, and is refused:
 * LOGICAL BLOCK ADDRESS OUT OF RANGE, the model's outcome 1).  Once a
 * grow brings all its ranges in, its writes may land from now until its
 * answer: they are begun now.  (Explore seed 24367 of lane eblind16a's
 * first form: an UNMAP sent when its last range was past a shrunk end,
 * a grow at the same instant, and the target's GOOD: the model had
 * never taken the UNMAP's writes, and a read of their blocks found them
 * deallocated.)
 */
void cmds_lun_resized(struct runner *r, struct lun_st *l, uint64_t old_blocks)
{
	struct pend *p;

	TAILQ_FOREACH (p, &r->pends, link) {
		bool fit = p->n_oor_rg > 0 && !p->done;

		if (p->ws_to_end && !p->done && p->ls == l &&
		    model_blocks(l->m) > old_blocks)
			ws_to_end_grown(p, l, old_blocks);
		bool touched = false;

		/* every range in now (an EXTENDED COPY's source and
		 * destination, either of which may be the LU resized) */
		for (int i = 0; fit && i < p->n_oor_rg; i++) {
			struct lun_st *src = p->oor_rg[i].src;

			touched |= p->oor_rg[i].ls == l || src == l;
			fit = (src != NULL || p->oor_rg[i].ls == l) &&
			      in_model(p->oor_rg[i].ls, p->oor_rg[i].lba,
				       p->oor_rg[i].blocks) &&
			      (src == NULL ||
			       in_model(src, p->oor_rg[i].src_lba,
					p->oor_rg[i].blocks));
		}
		if (!fit || !touched)
			continue;
		if (p->kind == PK_XCOPY) {
			for (int i = 0; i < p->n_oor_rg; i++)
				copy_range_begin(p, p->oor_rg[i].ls,
						 p->oor_rg[i].lba,
						 p->oor_rg[i].blocks,
						 p->oor_rg[i].src,
						 p->oor_rg[i].src_lba);
			p->n_oor_rg = 0;
			continue;
		}
		/* an ORWRITE reads what it ORs into from now on (it could
		 * not run before: its range lay past the end) */
		if (p->kind == PK_ORWRITE && p->stamp == 0) {
			p->stamp = model_tick(l->m);
			model_read_begin(l->m, p->stamp);
		}
		/* so does a COMPARE AND WRITE: its compare from now on, and
		 * a value it may replace watched from now on */
		if (p->kind == PK_CAW && p->stamp == 0) {
			p->stamp = model_tick(l->m);
			model_read_begin(l->m, p->stamp);
			for (uint32_t i = 0; i < p->blocks; i++)
				model_caw_watch(l->m, p->lba + i, p->cmp_vid);
		}
		for (int i = 0; i < p->n_oor_rg; i++)
			range_begin(p, l, p->oor_rg[i].lba, p->oor_rg[i].blocks,
				    p->oor_rg[i].vid);
		p->n_oor_rg = 0;
	}
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

/* A command that only reads parameter data: OPERATION CODE, SERVICE
 * ACTION in byte 1, the ALLOCATION LENGTH (4 bytes) at alloc_at, and a
 * Data-In of that length. */
static void data_in_cdb(struct pend *p, struct ini_op *op, uint8_t opcode,
			uint8_t sa, unsigned int alloc_at, uint32_t alloc)
{
	op->cdb[0] = opcode;
	op->cdb[1] = sa;
	put_be32(op->cdb + alloc_at, alloc);
	op->edtl = alloc;
	op->dir_read = true;
	p->kind = PK_SPC;
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
	if (n == 0 || n > 255)
		return;
	if (!in_model(l, p->lba, n)) {
		/* it may run once a grow brings it in (cmds_lun_resized;
		 * explore seed 749559503846) */
		oor_range(p, l, p->lba, n, p->data_vid);
		return;
	}
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
	/* UNMAP=1 deallocates (zeros with LBPRZ=1) whatever the block
	 * holds; NDOB writes zeros. */
	p->ws_vid = unmap || ndob ? 0 : p->data_vid;
	/* NUMBER OF BLOCKS 0: to the last LBA the LU has when the target
	 * takes it (SBC-4 §5.50, WSNZ=0; a grow on its way: cmds_lun_resized);
	 * from past the last LBA it is refused. */
	if (n == 0) {
		p->ws_to_end = true;
		p->ws_cap = model_blocks(l->m);
		if (p->lba < model_blocks(l->m))
			n = model_blocks(l->m) - p->lba;
		else if (p->lba > model_blocks(l->m))
			p->oor = true;
	}
	mark_oor(p, l, p->lba, n);
	if (!in_model(l, p->lba, n)) {
		if (n > 0 && n <= UINT32_MAX)
			oor_range(p, l, p->lba, (uint32_t)n, p->ws_vid);
		return;
	}
	range_begin(p, l, p->lba, (uint32_t)n, p->ws_vid);
}

/* The most descriptors a list can carry: BLOCK DESCRIPTOR DATA LENGTH
 * (16 bits) and the 8-byte header within UNMAP's 16-bit PARAMETER LIST
 * LENGTH. */
#define UNMAP_DESCS_MAX ((65535u - 8u) / 16u)

/* An UNMAP CDB and parameter list of k descriptors: lbas[i]:ns[i], or
 * with lbas NULL k descriptors of no blocks at lba (descs=); plen= sends
 * a PARAMETER LIST LENGTH of its own, the list cut there.  Returns the
 * length sent. */
static uint32_t unmap_list_out(struct runner *r, struct ini_op *op,
			       const struct toks *t, unsigned int k,
			       const uint64_t *lbas, const uint32_t *ns,
			       uint64_t lba)
{
	uint32_t plen = (uint32_t)u64_or(t, "plen", 8 + 16u * k, r);
	uint8_t *o;

	op->cdb[0] = 0x42;
	put_be16(op->cdb + 7, (uint16_t)plen);
	o = out_alloc(op, plen);
	if (plen >= 8) {
		put_be16(o, (uint16_t)(6 + 16 * k));
		put_be16(o + 2, (uint16_t)(16 * k));
	}
	for (unsigned int i = 0; i < k && 8 + 16u * i + 12 <= plen; i++) {
		put_be64(o + 8 + 16 * i, lbas ? lbas[i] : lba);
		put_be32(o + 8 + 16 * i + 8, ns ? ns[i] : 0);
	}
	return plen;
}

/* UNMAP [lba= blocks=] [ranges=L:N,L:N...] [descs=N] [plen=N]: a
 * descriptor per range; descs=N sends N descriptors of no blocks at lba=
 * (a list as long as the descriptor count limit, which changes nothing:
 * SBC-4 §5.32.2); plen= sends a PARAMETER LIST LENGTH of its own (edge
 * cases). */
static void build_unmap(struct runner *r, struct pend *p, struct ini_op *op,
			const struct toks *t, struct lun_st *l)
{
	uint64_t lbas[PEND_RANGES];
	uint32_t ns[PEND_RANGES];
	int k = 0;
	const char *rs = kv(t, "ranges");
	uint32_t plen;
	bool ok = true;

	if (kv(t, "descs") != NULL) {
		uint64_t nd = u64_or(t, "descs", 0, r);

		/* BLOCK DESCRIPTOR DATA LENGTH is 16 bits */
		if (nd > UNMAP_DESCS_MAX || rs != NULL) {
			syntaxf(r, "unmap descs=N (N <= %u, without ranges=)",
				UNMAP_DESCS_MAX);
			return;
		}
		(void)unmap_list_out(r, op, t, (unsigned)nd, NULL, NULL,
				     p->lba);
		p->kind = PK_UNMAP;
		return;
	}
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
	plen = unmap_list_out(r, op, t, (unsigned)k, lbas, ns, 0);
	p->kind = PK_UNMAP;
	/* The target validates every descriptor before it deallocates
	 * anything (SBC-4 §5.32.2); a short list is an error. */
	if (plen != 8 + 16u * (unsigned)k || l == NULL || l->m == NULL)
		return;
	for (int i = 0; i < k; i++) {
		ok = ok && in_model(l, lbas[i], ns[i]);
		mark_oor(p, l, lbas[i], ns[i]);
	}
	/* all or nothing: a grow may bring every range in */
	for (int i = 0; i < k; i++) {
		if (ok)
			range_begin(p, l, lbas[i], ns[i], 0);
		else
			oor_range(p, l, lbas[i], ns[i], 0);
	}
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
	if (l != NULL && l->m != NULL && p->blocks > 0 &&
	    !in_model(l, p->lba, p->blocks)) {
		/* past the end when sent: a grow may bring it in before it
		 * reaches the target (cmds_lun_resized begins it then;
		 * explore seed 160976098435, round of lead20) */
		oor_range(p, l, p->lba, p->blocks, MODEL_WILD);
		return;
	}
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
		uint32_t whole = n;

		vid_of(r, t, "data", NULL, &p->data_vid);
		fill_out(p->data_vid, p->lba, n, bs,
			 out_alloc(op, (size_t)n * bs));
		p->kind = PK_WVERIFY;
		p->fua = true; /* the write is made durable (SBC-4 §5.46) */
		/* edtl= below the CDB's length: the bytes past it never
		 * come (RFC 7143 §11.4.5.1); the target writes (and with
		 * BYTCHK 01b compares) what came: the whole blocks, and
		 * the first bytes of the next over what it held, as a
		 * WRITE cut inside a block (the model's splice, named at
		 * the answer: write_part_end) */
		if (kv(t, "edtl")) {
			uint64_t e = u64_or(t, "edtl", op->edtl, r);

			if (e == 0 || e > op->edtl)
				syntaxf(r, "write-verify edtl=N: 1 to the "
					   "CDB's length");
			else
				op->edtl = (uint32_t)e;
			whole = op->edtl / bs;
		}
		if (!in_model(l, p->lba, n))
			return;
		if (whole > 0)
			range_begin(p, l, p->lba, whole, p->data_vid);
		if (op->edtl % bs != 0) {
			uint64_t wild = MODEL_WILD;

			p->vid = p->data_vid;
			p->part_lba = p->lba + whole;
			p->part_cut = op->edtl % bs;
			if (p->stamp == 0)
				p->stamp = model_tick(l->m);
			model_read_begin(l->m, p->stamp);
			p->part_handle = model_write_begin(l->m, p->part_lba, 1,
							   &wild, p->stamp);
			land_bound_forget(r, l, p->vid);
		}
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
		p->xc_src[i] = (uint8_t)si;
		p->xc_dst[i] = (uint8_t)di;
		p->xc_blocks[i] = seg[i].n;
		p->xc_nseg = i + 1;
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

		ok = s != NULL && d != NULL && s->bs == d->bs &&
		     seg[i].n <= 0xffff && in_model(s, seg[i].slba, seg[i].n) &&
		     in_model(d, seg[i].dlba, seg[i].n);
		if (s != NULL && d != NULL && s->bs == d->bs && s->m != NULL &&
		    d->m != NULL && seg[i].n > 0 && seg[i].n <= 0xffff &&
		    (!in_model(s, seg[i].slba, seg[i].n) ||
		     !in_model(d, seg[i].dlba, seg[i].n)))
			p->xcopy_oor = true;
		/* read-only LU, or a read-only mapping of the sender's group
		 * (the write protection of its nexus: SBC-4 §4.13) */
		if (ok && acl_ro(r, p->a, d))
			p->xcopy_into_ro = true;
	}
	if (p->xcopy_into_ro)
		ok = false; /* refused whole (SBC-4 §4.13): nothing moves */
	/* Past an end when sent: a grow may bring every segment in before
	 * it reaches the target, and it then moves them (cmds_lun_resized
	 * begins them; explore seed 160976104297, round of lead20). */
	for (int i = 0; i < ns && !ok && p->xcopy_oor && !p->xcopy_into_ro;
	     i++) {
		struct lun_st *s = lun_find(r, seg[i].sl),
			      *d = lun_find(r, seg[i].dl);
		int k = p->n_oor_rg;

		if (s == NULL || d == NULL || s->m == NULL || d->m == NULL ||
		    s->bs != d->bs || seg[i].n == 0 || seg[i].n > 0xffff)
			continue;
		oor_range(p, d, seg[i].dlba, seg[i].n, MODEL_WILD);
		if (p->n_oor_rg > k) {
			p->oor_rg[k].src = s;
			p->oor_rg[k].src_lba = seg[i].slba;
		}
	}
	for (int i = 0; i < ns && ok; i++)
		if (seg[i].n != 0)
			copy_range_begin(p, lun_find(r, seg[i].dl), seg[i].dlba,
					 seg[i].n, lun_find(r, seg[i].sl),
					 seg[i].slba);
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
	l->san_prev_may_run = l->san_gen > 0 && l->san_good_end == 0;
	l->san_prev_over = 0;
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
	l->san_fin = fin;
	l->san_handle = model_write_begin(l->m, 0, (uint32_t)model_blocks(l->m),
					  vids, p->stamp);
	/* A READ already at the backstore when the sanitize starts may
	 * return a pass before the last: with INVERT, the other pattern. */
	if (sa == 0x01 && invert && (passes & 0x1f) > 1) {
		l->san_mid_fin = model_fill_vid(
			(uint8_t) ~(uint8_t)model_fill_byte(fin));
		for (uint64_t i = 0; i < model_blocks(l->m); i++)
			vids[i] = l->san_mid_fin;
		l->san_mid = model_write_begin(
			l->m, 0, (uint32_t)model_blocks(l->m), vids, p->stamp);
	}
	free(vids);
}

/* MODE SELECT dsense=0|1 [cdb=6|10]: the control mode page (SPC-4
 * §7.5.8) with D_SENSE as asked, SWP=0 and every other field as the
 * target has it (QUEUE ALGORITHM MODIFIER 1, TAS, BUSY TIMEOUT FFFFh):
 * the LU's sense format from then on (scenario_oracle.c). */
static void build_mode_select_control(struct runner *r, struct pend *p,
				      struct ini_op *op, const struct toks *t)
{
	bool ten = cdb_size(r, t, 6) == 10;
	uint32_t hdr = ten ? 8 : 4;
	bool dsense = u64_or(t, "dsense", 1, r) != 0;
	uint8_t *o = out_alloc(op, hdr + 12);

	op->cdb[0] = ten ? 0x55 : 0x15;
	op->cdb[1] = 0x10; /* PF */
	if (has(t, "sp"))
		op->cdb[1] |= 0x01; /* refused: the target saves no page */
	if (ten)
		put_be16(op->cdb + 7, (uint16_t)(hdr + 12));
	else
		op->cdb[4] = (uint8_t)(hdr + 12);
	o[hdr] = 0x0a;
	o[hdr + 1] = 0x0a;
	o[hdr + 2] = dsense ? 0x04 : 0;
	o[hdr + 3] = 0x10;
	o[hdr + 4] = 0x40;
	put_be16(o + hdr + 8, 0xffff);
	p->kind = PK_MSELECT;
	p->ms_control = true;
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
	uint8_t *o;

	if (kv(t, "dsense")) {
		build_mode_select_control(r, p, op, t);
		return;
	}
	o = out_alloc(op, hdr + 20);
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
			atomic_sent(l, p);
		} else {
			p->ls = NULL;
		}
	} else if (strcmp(verb, "xcopy") == 0) {
		build_xcopy(r, p, op, t);
	} else if (strcmp(verb, "copy-results") == 0) {
		data_in_cdb(p, op, 0x84, has(t, "op-params") ? 0x03 : 0x00, 10,
			    1024);
		op->cdb[2] = (uint8_t)u64_or(t, "list-id", 0, r);
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
		mark_oor(p, l, p->lba, p->blocks);
		p->kind = PK_MREAD;
	} else if (strcmp(verb, "readcap16") == 0) {
		data_in_cdb(p, op, 0x9e, 0x10, 10, 32);
	} else if (strcmp(verb, "mode-sense") == 0) {
		bool ten = cdb_size(r, t, 6) == 10;
		uint8_t page = (uint8_t)u64_or(t, "page", 0x3f, r),
			pc = (uint8_t)u64_or(t, "pc", 0, r);

		if (!ten && has(t, "llbaa"))
			syntaxf(r, "mode-sense llbaa needs cdb=10");
		op->cdb[0] = ten ? 0x5a : 0x1a;
		/* DBD: no block descriptors; LLBAA (10 only): the 16-byte
		 * form may come (oracle_mode_bd) */
		op->cdb[1] = (uint8_t)((has(t, "dbd") ? 0x08 : 0) |
				       (ten && has(t, "llbaa") ? 0x10 : 0));
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
		/* changer: PREVENT 10b, the medium changer's value (SBC-4
		 * §5.14 leaves it to SMC: invalid for a disk) */
		op->cdb[4] = has(t, "changer") ? 2 : has(t, "off") ? 0 : 1;
		p->kind = PK_SPC;
	} else if (strcmp(verb, "read-defect") == 0) {
		bool twelve = cdb_size(r, t, 10) == 12;

		op->cdb[0] = twelve ? 0xb7 : 0x37;
		/* REQ_PLIST, REQ_GLIST and DEFECT LIST FORMAT (bits 4-0):
		 * P+G, physical sector unless `req=` */
		op->cdb[twelve ? 1 : 2] =
			(uint8_t)(u64_or(t, "req", 0x18 | 0x05, r) & 0x1f);
		if (twelve)
			put_be32(op->cdb + 6, 512);
		else
			put_be16(op->cdb + 7, 512);
		op->edtl = 512;
		op->dir_read = true;
		p->kind = PK_SPC;
	} else if (strcmp(verb, "report-opcodes") == 0) {
		uint8_t opt = (uint8_t)u64_or(t, "opt", 0, r);

		data_in_cdb(p, op, 0xa3, 0x0c, 6, 4096);
		op->cdb[2] = (uint8_t)((has(t, "rctd") ? 0x80 : 0) | (opt & 7));
		op->cdb[3] = (uint8_t)u64_or(t, "op", 0, r);
		put_be16(op->cdb + 4, (uint16_t)u64_or(t, "sa", 0, r));
	} else if (strcmp(verb, "report-tmfs") == 0) {
		data_in_cdb(p, op, 0xa3, 0x0d, 6, 16);
		op->cdb[2] = has(t, "repd") ? 0x80 : 0;
	} else if (strcmp(verb, "report-tpgs") == 0) {
		data_in_cdb(p, op, 0xa3, 0x0a, 6, 1024);
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
