/*
 * scenario_oracle.c — what every answer sets going (pend_done) and the
 * oracles that judge it against what the target may do: reads against the
 * LUN model, the SPC-2 reservation, LBA ranges and READ CAPACITY, write
 * landings after a TMF or an error answer, TASK ABORTED; and at the end
 * of the run liveness (every command answered once the network healed)
 * and leaks (nothing left behind by the target).
 *
 * The boundary: pend_done hands each answer to the oracles of the other
 * files -- scenario_verdict.c (the line's own expectation), scenario_pr.c
 * (persistent reservations), scenario_ua.c, scenario_alua.c and
 * scenario_cmds_oracle.c -- and none of them calls back here but for the shared
 * state helpers declared in scenario_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "iscsi/pdu.h"
#include "model.h"
#include "scsi/scsi.h"
#include "scenario_int.h"

/* ----------------------------------------------------- data checking */

static bool data_alt_ok(const char *spec, uint64_t vid)
{
	char buf[256];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *alt = strtok_r(buf, "|", &save); alt != NULL;
	     alt = strtok_r(NULL, "|", &save))
		if (strcmp(alt, "any") == 0 || model_vid(alt) == vid)
			return true;
	return false;
}

/* Explicit data= check and the model oracle, block by block. */
/* The first Data-In PDU of a read arrived: the model's time then bounds
 * what it may return (struct pend in_stamp).  Only utarget's promise:
 * against another target the read ends at its answer. */
void pend_first_in(void *arg, struct ini_op *op)
{
	struct pend *p = arg;

	(void)op;
	if (p->ls && !p->r->against && p->in_stamp == 0)
		p->in_stamp = model_tick(p->ls->m);
}

/* A Data-In segment [off, off + len) of a read arrived (in a world
 * with `send-file on`): the blocks whose last byte it brought may be
 * of no later moment than now. */
void pend_in_seg(void *arg, struct ini_op *op, uint32_t off, uint32_t len,
		 bool from_file)
{
	struct pend *p = arg;
	uint32_t bs;
	uint64_t now;

	(void)op;
	if (!p->ls || p->r->against || !p->r->sim->send_file || p->blocks == 0)
		return;
	if (p->blk_re == NULL) {
		p->blk_re = calloc(p->blocks, sizeof(*p->blk_re));
		if (p->blk_re == NULL)
			abort();
	}
	p->by_file |= from_file;
	bs = p->ls->bs;
	now = model_tick(p->ls->m);
	for (uint64_t i = off / bs; i < p->blocks && (i + 1) * bs <= off + len;
	     i++)
		if ((i + 1) * bs > off)
			p->blk_re[i] = now;
}

/*
 * A block of a read sent from a file that is no whole value: bytes
 * taken from the medium at different moments (a partial send, a write
 * landing between).  What utarget promises there (backstore.h bs_ref,
 * docs/configuration.md --send-file): each byte is the medium's at a
 * moment between the read's start and its arrival -- so each byte is
 * that byte of a value the block may hold over [rs, re].  True if so.
 */
/* The values block lba may hold over [rs, re], rendered one after
 * another into *fill (malloc'd, bs bytes each; NULL if none): their
 * number, or -1 for any value (a crash, a WILD write). */
static int candidates_filled(struct model *m, uint64_t lba, uint32_t bs,
			     uint64_t rs, uint64_t re, uint8_t **fill)
{
	uint64_t cand[16];
	int n = model_candidates(m, lba, rs, re, 0, cand, 16);

	*fill = NULL;
	if (n <= 0)
		return n;
	*fill = malloc((size_t)n * bs);
	if (*fill == NULL)
		abort();
	for (int k = 0; k < n; k++)
		model_fill_m(m, cand[k], lba, *fill + (size_t)k * bs, bs);
	return n;
}

static bool torn_block_ok(struct model *m, const uint8_t *blk, uint64_t lba,
			  uint32_t bs, uint64_t rs, uint64_t re)
{
	uint8_t *fill;
	int n = candidates_filled(m, lba, bs, rs, re, &fill);
	bool ok = true;

	if (n < 0)
		return true; /* any value (a crash, a WILD write) */
	if (n < 2) {
		free(fill);
		return false; /* one value: nothing to mix */
	}
	for (uint32_t j = 0; j < bs && ok; j++) {
		bool any = false;

		for (int k = 0; k < n && !any; k++)
			any = fill[(size_t)k * bs + j] == blk[j];
		ok = any;
	}
	free(fill);
	return ok;
}

/*
 * A block that decodes as a whole value the model does not allow there
 * may still hold exactly the bytes of one it does: a value spliced by a
 * write cut inside a block (write_part_end) whose kept tail happens to
 * equal the tail of the cutting value is byte for byte that value, and
 * decodes as it (1 in 256 for a one-byte tail: explore seed
 * 222400404384, round of lead20).  What a read promises is bytes, so
 * compare them: true if blk is the content of a value the block may hold
 * over [rs, re].
 */
static bool block_bytes_allowed(struct model *m, const uint8_t *blk,
				uint64_t lba, uint32_t bs, uint64_t rs,
				uint64_t re)
{
	uint8_t *fill;
	/* n < 0, any value: model_check_read said so already */
	int n = candidates_filled(m, lba, bs, rs, re, &fill);
	bool ok = false;

	for (int k = 0; k < n && !ok; k++)
		ok = memcmp(fill + (size_t)k * bs, blk, bs) == 0;
	free(fill);
	return ok;
}

static void oracle_atomic_read(struct runner *r, struct pend *p,
			       struct ini_op *op, uint64_t re_all);

static void check_read_data(struct runner *r, struct pend *p, struct ini_op *op)
{
	uint32_t bs = p->ls ? p->ls->bs : 512;
	uint64_t re_all = p->ls ? model_tick(p->ls->m) : 0;

	if (p->in_stamp != 0)
		re_all = p->in_stamp;

	/* only the blocks that arrived whole (a read with edtl= below the
	 * CDB's length gets the first edtl bytes) */
	for (uint32_t i = 0;
	     i < p->blocks && (size_t)(i + 1) * bs <= op->in_len && !r->failed;
	     i++) {
		const uint8_t *blk = op->in + (size_t)i * bs;
		uint64_t lba = p->lba + i, vid = 0;
		/* sent from a file: each block is of its own moments, up to
		 * its arrival (struct pend by_file) */
		uint64_t re = p->by_file && p->blk_re && p->blk_re[i]
				      ? p->blk_re[i]
				      : re_all;
		/* derived values (ORWRITE, EXTENDED COPY) too */
		bool whole =
			p->ls ? model_decode_m(p->ls->m, blk, lba, bs, &vid)
			      : model_decode(blk, lba, bs, &vid);
		char why[512];

		if (p->e.data[0] != '\0' && strcmp(p->e.data, "any") != 0) {
			if (!whole)
				failf(r, p->line,
				      "%s %s: lba %llu holds no whole "
				      "written value (torn or corrupt); expected data=%s "
				      "(seed %llu)",
				      p->a->name, p->verb,
				      (unsigned long long)lba, p->e.data,
				      (unsigned long long)r->seed);
			else if (!data_alt_ok(p->e.data, vid))
				failf(r, p->line,
				      "%s %s: lba %llu: expected data=%s, "
				      "read value %016llx (seed %llu)",
				      p->a->name, p->verb,
				      (unsigned long long)lba, p->e.data,
				      (unsigned long long)vid,
				      (unsigned long long)r->seed);
		}
		if (p->ls == NULL || r->failed)
			continue;
		if (!whole) {
			if (p->by_file &&
			    torn_block_ok(p->ls->m, blk, lba, bs, p->stamp, re))
				continue;
			if (!model_check_read(p->ls->m, lba, 0xdeadULL << 48,
					      p->stamp, re, why, sizeof(why)))
				failf(r, p->line,
				      "oracle: %s read of lun %llu lba "
				      "%llu returned bytes that are no written value "
				      "(torn or corrupt) (seed %llu)",
				      p->a->name, (unsigned long long)p->lun,
				      (unsigned long long)lba,
				      (unsigned long long)r->seed);
			continue;
		}
		if (!model_check_read(p->ls->m, lba, vid, p->stamp, re, why,
				      sizeof(why)) &&
		    !block_bytes_allowed(p->ls->m, blk, lba, bs, p->stamp, re))
			failf(r, p->line,
			      "oracle: %s read of lun %llu returned "
			      "stale or wrong data: %s (seed %llu)",
			      p->a->name, (unsigned long long)p->lun, why,
			      (unsigned long long)r->seed);
	}
	if (p->ls != NULL && !r->failed && p->ls->natoms > 0)
		oracle_atomic_read(r, p, op, re_all);
}

/* ------------------------------------- WRITE ATOMIC against reads */

/*
 * SBC-4 §5.48: a WRITE ATOMIC(16) is all or nothing, for a read
 * concurrent with it too (round of atomic20): the blocks of one read
 * that lie in one atomic write's range show either none of it or all
 * of it -- where "none" may be any value the blocks held before it and
 * "all" may be overwritten since, block by block, by writes that may
 * have come after it.  What is judged is exactly the mix the standard
 * forbids: one block of the read holding the atomic write's own value
 * (model_atomic_side 1) beside another holding a value it overwrote
 * for certain (-1: the base, or a write acknowledged before the atomic
 * one was sent).  A concurrent ordinary write to the same blocks may be
 * ordered either way (0), and is never held against it.  The promise is
 * the atomic write's only when it succeeded: a read that saw part of it
 * before its answer is reported when GOOD comes, and forgotten if it
 * failed.  A block mixed inside (sent from a file) is judged byte by
 * byte (torn_atomic_sides).
 */
void atomic_sent(struct lun_st *l, const struct pend *p)
{
	struct atom_w *a;

	if (l->m == NULL || p->blocks == 0)
		return;
	if (l->natoms == l->capatoms) {
		l->capatoms = l->capatoms ? l->capatoms * 2 : 8;
		l->atoms = realloc(l->atoms, l->capatoms * sizeof(*l->atoms));
		if (l->atoms == NULL)
			abort();
	}
	a = &l->atoms[l->natoms++];
	*a = (struct atom_w){.handle = p->handle,
			     .vid = p->data_vid,
			     .lba = p->lba,
			     .blocks = p->blocks};
}

static void atomic_drop(struct lun_st *l, size_t i)
{
	free(l->atoms[i].torn);
	l->atoms[i] = l->atoms[--l->natoms];
}

/* A GOOD one no read in flight began before the answer of can be
 * concurrent with no read to come. */
static void atomic_prune(struct lun_st *l)
{
	uint64_t hz = model_horizon(l->m);

	for (size_t i = 0; i < l->natoms;)
		if (l->atoms[i].good && l->atoms[i].ack < hz)
			atomic_drop(l, i);
		else
			i++;
}

void atomic_answered(struct runner *r, struct lun_st *l, const struct pend *p,
		     int outcome, uint64_t stamp)
{
	for (size_t i = 0; i < l->natoms; i++) {
		struct atom_w *a = &l->atoms[i];

		if (a->handle != p->handle)
			continue;
		if (outcome != 0) {
			atomic_drop(l, i);
			return;
		}
		if (a->torn != NULL && !r->failed)
			failf(r, a->torn_line, "%s", a->torn);
		free(a->torn);
		a->torn = NULL;
		a->good = true;
		a->ack = stamp;
		break;
	}
	atomic_prune(l);
}

void atomic_forget(struct lun_st *l)
{
	while (l->natoms > 0)
		atomic_drop(l, l->natoms - 1);
	free(l->atoms);
	l->atoms = NULL;
	l->capatoms = 0;
}

/*
 * A block of a read sent from a file that is no whole value (bytes of
 * different moments: torn_block_ok allowed it), in the range of atomic
 * write `handle`: does some byte come, for certain, from that write's own
 * value (*own: every value the block may hold over [rs, re] that has that
 * byte there is its own, model_atomic_side 1), and some from a value it
 * overwrote (*before: every one is -1)?  Either counts as a block of that
 * side for oracle_atomic_read, both as a block that saw part of it.  A
 * byte several sides explain says nothing (round of sendack21: the last
 * segment of a read resent after an atomic write landed, inside a block).
 */
static void torn_atomic_sides(struct model *m, const uint8_t *blk, uint64_t lba,
			      uint32_t bs, uint64_t rs, uint64_t re,
			      uint64_t handle, bool *own, bool *before)
{
	uint64_t cand[16];
	int side[16];
	int n = model_candidates(m, lba, rs, re, 0, cand, 16);
	uint8_t *fill;

	if (n <= 0)
		return; /* any value (a crash, a WILD write), or none */
	fill = malloc((size_t)n * bs);
	if (fill == NULL)
		abort();
	for (int k = 0; k < n; k++) {
		model_fill_m(m, cand[k], lba, fill + (size_t)k * bs, bs);
		side[k] = model_atomic_side(m, lba, cand[k], rs, re, handle);
	}
	for (uint32_t j = 0; j < bs && !(*own && *before); j++) {
		bool pos = false, neg = false, other = false;

		for (int k = 0; k < n; k++) {
			if (fill[(size_t)k * bs + j] != blk[j])
				continue;
			if (side[k] > 0)
				pos = true;
			else if (side[k] < 0)
				neg = true;
			else
				other = true;
		}
		if (pos && !neg && !other)
			*own = true;
		if (neg && !pos && !other)
			*before = true;
	}
	free(fill);
}

/* The read p (answered GOOD with op->in) against each atomic write. */
static void oracle_atomic_read(struct runner *r, struct pend *p,
			       struct ini_op *op, uint64_t re_all)
{
	struct lun_st *l = p->ls;
	uint32_t bs = l->bs;
	uint64_t whole = op->in_len / bs;

	if (whole > p->blocks)
		whole = p->blocks;
	for (size_t k = 0; k < l->natoms && !r->failed; k++) {
		struct atom_w *a = &l->atoms[k];
		uint64_t lo = a->lba > p->lba ? a->lba : p->lba;
		uint64_t hi = a->lba + a->blocks < p->lba + whole
				      ? a->lba + a->blocks
				      : p->lba + whole;
		uint64_t own = UINT64_MAX, before = UINT64_MAX;
		char msg[512];

		if (a->good && a->ack < p->stamp)
			continue; /* answered before the read began */
		for (uint64_t lba = lo; lba < hi; lba++) {
			uint64_t i = lba - p->lba, vid;
			uint64_t re = p->by_file && p->blk_re && p->blk_re[i]
					      ? p->blk_re[i]
					      : re_all;
			int side;

			if (!model_decode_m(l->m, op->in + i * bs, lba, bs,
					    &vid)) {
				/* mixed inside (sent from a file): byte by
				 * byte (round of sendack21) */
				bool o = false, b = false;

				torn_atomic_sides(l->m, op->in + i * bs, lba,
						  bs, p->stamp, re, a->handle,
						  &o, &b);
				if (o && own == UINT64_MAX)
					own = lba;
				if (b && before == UINT64_MAX)
					before = lba;
				continue;
			}
			side = model_atomic_side(l->m, lba, vid, p->stamp, re,
						 a->handle);
			if (side > 0 && own == UINT64_MAX)
				own = lba;
			if (side < 0 && before == UINT64_MAX)
				before = lba;
		}
		if (own == UINT64_MAX || before == UINT64_MAX)
			continue;
		snprintf(msg, sizeof(msg),
			 "oracle: %s read of lun %llu lba %llu+%u saw part of "
			 "a WRITE ATOMIC(16) of lba %llu+%u: lba %llu holds "
			 "its data, lba %llu what it overwrote; SBC-4 §5.48: "
			 "all of it or none (seed %llu)",
			 p->a->name, (unsigned long long)p->lun,
			 (unsigned long long)p->lba, p->blocks,
			 (unsigned long long)a->lba, a->blocks,
			 (unsigned long long)own, (unsigned long long)before,
			 (unsigned long long)r->seed);
		if (a->good)
			failf(r, p->line, "%s", msg);
		else if (a->torn == NULL) {
			a->torn = strdup(msg);
			if (a->torn == NULL)
				abort();
			a->torn_line = p->line;
		}
	}
}

/* ------------------------------------------- oracles on completion */

/* RFC 7143 §11.4.5.1: a READ or WRITE whose CDB transfers more than the
 * expected data transfer length (`read|write ... edtl=`) ends with the O
 * bit and the residual count of what did not fit; one that transfers
 * less, with U and what was left (for a write: the bytes sent beyond
 * the CDB's, which were not written).  The initiator checks a read's U
 * case against what arrived (initiator_ffp.c); only here is what the
 * CDB asked known.  Judged on GOOD answers only. */
void oracle_residual(struct runner *r, struct pend *p, struct ini_op *op)
{
	uint64_t want = (uint64_t)p->blocks * p->ls->bs;
	uint8_t flag = 0;
	uint64_t res = 0;

	if (op->edtl < want) {
		flag = ISCSI_RSP_F_OVERFLOW;
		res = want - op->edtl;
	} else if (op->edtl > want) {
		flag = ISCSI_RSP_F_UNDERFLOW;
		res = op->edtl - want;
	}
	if ((op->rsp_flags & (ISCSI_RSP_F_OVERFLOW | ISCSI_RSP_F_UNDERFLOW)) ==
		    flag &&
	    (flag == 0 || op->residual == res))
		return;
	failf(r, p->line,
	      "oracle: %s's %s of %llu bytes (lba %llu+%u) with an expected "
	      "length of %u got flags %s%s residual %u; RFC 7143 §11.4.5.1 "
	      "wants %s residual %llu (seed %llu)",
	      p->a->name, p->verb, (unsigned long long)want,
	      (unsigned long long)p->lba, p->blocks, op->edtl,
	      op->rsp_flags & ISCSI_RSP_F_OVERFLOW ? "O" : "-",
	      op->rsp_flags & ISCSI_RSP_F_UNDERFLOW ? "U" : "-", op->residual,
	      flag == ISCSI_RSP_F_OVERFLOW    ? "O"
	      : flag == ISCSI_RSP_F_UNDERFLOW ? "U"
					      : "neither O nor U with",
	      (unsigned long long)res, (unsigned long long)r->seed);
}

struct lun_st *lun_find(struct runner *r, uint64_t lun)
{
	for (int i = 0; i < r->nluns; i++)
		if (r->luns[i].lun == lun)
			return &r->luns[i];
	return NULL;
}

void resv_drop_holder(struct runner *r, struct actor *a)
{
	/* and its PREVENT ALLOW MEDIUM REMOVAL (scenario_medium.c) */
	med_nexus_loss(r, a);
	for (int i = 0; i < r->nluns; i++) {
		struct lun_st *l = &r->luns[i];

		if (l->holder == a->idx) {
			l->holder = -1;
			l->epoch++;
			l->uncertain = true;
		}
	}
}

void resv_reset(struct lun_st *l)
{
	l->resv_raced = false;
	l->holder = -1;
	l->epoch++;
	l->uncertain = false;
}

bool sense_unknown_fate(const struct ini_op *op)
{
	int sk, asc, ascq;

	if (op->outcome == INI_DROPPED || op->outcome == INI_ABORTED)
		return true;
	if (op->outcome != INI_DONE)
		return false;
	if (op->response != 0 || op->status == SCSI_STATUS_TASK_ABORTED)
		return true;
	sense_parse(op, &sk, &asc, &ascq);
	/* DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT (07/27/07):
	 * a RAM disk out of memory for a chunk midway (mem.c -ENOSPC,
	 * `target oom`) wrote the chunks before it */
	return op->status == SCSI_STATUS_CHECK_CONDITION &&
	       (sk == SK_MEDIUM_ERROR || sk == SK_HARDWARE_ERROR ||
		sk == SK_ABORTED_COMMAND ||
		(sk == SK_DATA_PROTECT && asc == 0x27 && ascq == 0x07));
}

bool scsi_good(const struct ini_op *op)
{
	return op->outcome == INI_DONE && op->response == 0 &&
	       op->status == SCSI_STATUS_GOOD;
}

/* An I_T nexus loss releases the SPC-2 reservation that nexus holds
 * (SAM-5 §6.3.4 leaves it to the command standards; SPC-2 reservations
 * end with the nexus, as FC targets do at LOGO and libiscsi's
 * SCSI.Reserve6.ITNexusLoss and .Logout require; the target does it in
 * scsi_res_nexus_gone()).  The target may end the holder's nexus on its
 * own -- a NOP-In timeout, a protocol error -- while the holder, behind a
 * partition, does not know yet: from the moment the target has closed the
 * holder's connection the reservation may be gone. */
static void resv_note_nexus_loss(struct runner *r)
{
	for (int i = 0; i < r->nluns; i++) {
		struct lun_st *l = &r->luns[i];
		struct env_conn *c;

		if (l->holder < 0)
			continue;
		c = ini_conn(r->actors[l->holder].ini);
		if (c == NULL || !sim_conn_peer_open(c))
			resv_drop_holder(r, &r->actors[l->holder]);
	}
}

/* The other way round: RESERVATION CONFLICT when no other I_T nexus
 * holds an SPC-2 reservation of the LU (SPC-2 §5.5.1: only a
 * reservation held by another nexus conflicts; RELEASE by a non-holder
 * is GOOD, §7.23).  Judged only while the holder is known: no RESERVE
 * or RELEASE outstanding or of unknown fate, no reset or reservation
 * change between the command's send and its answer, and not in the
 * holder's own session after it lost its nexus. */
static void resv_wrong_conflict(struct runner *r, struct pend *p,
				const struct ini_op *op)
{
	struct lun_st *l = p->ls;

	if (op->outcome != INI_DONE || op->response != 0 ||
	    op->status != SCSI_STATUS_RESERVATION_CONFLICT || l->pr_used ||
	    l->uncertain || l->resv_inflight > 0 || l->resets_inflight > 0 ||
	    p->epoch != l->epoch)
		return;
	if (l->holder >= 0 &&
	    (l->holder != p->a->idx || l->holder_sess != p->sess))
		return;
	failf(r, p->line,
	      "oracle: %s's %s on lun %u got RESERVATION CONFLICT, but %s "
	      "(SPC-2 §5.5.1) (seed %llu)",
	      p->a->name, p->verb, l->lun,
	      l->holder < 0 ? "no I_T nexus holds a reservation"
			    : "its own I_T nexus holds the reservation",
	      (unsigned long long)r->seed);
}

/* A reset of unknown fate (its connection dropped before the answer)
 * may still be applied: the bytes of a connection the initiator left can
 * reach the target after a partition heals, and the target processes the
 * PDUs that precede the FIN (explore seed 660265596223).  Is any such
 * reset of l still possibly on its way? */
bool limbo_pending(struct runner *r, uint32_t *actors)
{
	for (int i = 0; i < r->nactors; i++) {
		struct ini *ini = r->actors[i].ini;

		if (!(*actors & (1u << i)))
			continue;
		if (sim_host_open_at_target(ini_host(ini), ini_conn(ini)))
			return true;
		*actors &= ~(1u << i); /* that connection is gone */
	}
	return false;
}

/* A line that may abort others' commands (a reset, CLEAR TASK SET...)
 * ended unanswered, and its connection may still deliver it. */
bool aborts_pending(struct runner *r)
{
	return limbo_pending(r, &r->aborts_limbo);
}

static bool resets_pending(struct runner *r, struct lun_st *l)
{
	return limbo_pending(r, &l->resets_limbo) || l->resets_inflight > 0;
}

/* SBC-4 §4.5: a READ or WRITE that lies inside the LUN, sent and
 * answered with no reconfiguration in between (no resize), may not fail
 * with LOGICAL BLOCK ADDRESS OUT OF RANGE.  (p->ls is set only for a
 * range inside the LUN when it was sent.) */
static void oracle_lba_range(struct runner *r, struct pend *p,
			     struct ini_op *op)
{
	int sk, asc, ascq;

	if ((p->kind != PK_READ && p->kind != PK_WRITE && p->kind != PK_SYNC &&
	     p->kind != PK_MREAD) ||
	    op->outcome != INI_DONE ||
	    op->status != SCSI_STATUS_CHECK_CONDITION ||
	    p->ctl_seq != r->ctl_seq || p->ctl_started != r->ctl_started ||
	    p->lba > model_blocks(p->ls->m) ||
	    p->blocks > model_blocks(p->ls->m) - p->lba)
		return;
	sense_parse(op, &sk, &asc, &ascq);
	if (sk == 5 && asc == 0x21)
		failf(r, p->line,
		      "oracle: %s's %s of lba %llu+%u on lun %u (%llu blocks) "
		      "got LBA OUT OF RANGE (seed %llu)",
		      p->a->name, p->verb, (unsigned long long)p->lba,
		      p->blocks, p->ls->lun,
		      (unsigned long long)model_blocks(p->ls->m),
		      (unsigned long long)r->seed);
}

/* READ CAPACITY(10) and (16) (SBC-4 §5.20, §5.21) name the LUN's last
 * LBA and block length, unless a control step (a resize) ran while the
 * command did. */
static void oracle_read_capacity(struct runner *r, struct pend *p,
				 struct ini_op *op)
{
	uint64_t last, want = model_blocks(p->ls->m) - 1;
	uint32_t bs;

	if (op->outcome != INI_DONE || op->status != 0 /* GOOD */ ||
	    op->response != 0 || p->ctl_seq != r->ctl_seq ||
	    p->ctl_started != r->ctl_started || model_blocks(p->ls->m) == 0)
		return;
	if (op->cdb[0] == 0x25 && op->in_len >= 8) {
		last = get_be32(op->in);
		bs = get_be32(op->in + 4);
		if (want > 0xffffffffull)
			want = 0xffffffffull;
	} else if (op->cdb[0] == 0x9e && (op->cdb[1] & 0x1f) == 0x10 &&
		   op->in_len >= 12) {
		last = get_be64(op->in);
		bs = get_be32(op->in + 8);
	} else {
		return;
	}
	if (last != want || bs != model_block_size(p->ls->m))
		failf(r, p->line,
		      "oracle: READ CAPACITY of lun %u says last LBA %llu, "
		      "block %u; the LUN has %llu blocks of %u (seed %llu)",
		      p->ls->lun, (unsigned long long)last, bs,
		      (unsigned long long)model_blocks(p->ls->m),
		      model_block_size(p->ls->m), (unsigned long long)r->seed);
}

/* The blocks name their value, not their command: another write of
 * value vid to l (a multipath host retries one write through its other
 * path; a dropped write of it, not `self`) may be in flight or left on a
 * connection the initiator dropped, and land at any time; its landing
 * cannot be told from this one's, so neither is bounded (explore seed
 * 226722138427).  The command set's writes (COMPARE AND WRITE, WRITE
 * SAME...) keep their value in data_vid. */
static bool land_value_elsewhere(const struct runner *r, const struct lun_st *l,
				 uint64_t vid, const struct pend *self)
{
	const struct pend *o;

	TAILQ_FOREACH (o, &r->pends, link)
		if (o != self && o->ls == l &&
		    ((o->kind == PK_WRITE && o->vid == vid) ||
		     (o->nrg > 0 && o->data_vid == vid)))
			return true;
	for (size_t i = 0; i < r->ndw; i++)
		if (r->dw[i].vid == vid && &r->luns[r->dw[i].li] == l)
			return true;
	return false;
}

/* A land bound for value vid on model LUN li from now (its `who` is
 * the caller's to write). */
static struct land_bound *land_bound_push(struct runner *r, uint64_t vid,
					  int li, int line)
{
	if (r->nlb == r->caplb) {
		r->caplb = r->caplb ? r->caplb * 2 : 16;
		r->lb = realloc(r->lb, r->caplb * sizeof(*r->lb));
		if (r->lb == NULL)
			abort();
	}
	r->lb[r->nlb] = (struct land_bound){
		.vid = vid,
		.li = li,
		.bound_ns = r->sim->now_ns,
		.line = line,
	};
	return &r->lb[r->nlb++];
}

/* A write whose effect is unknown but bounded (MODEL_BOUNDED): from now
 * on it must not land. */
static void land_bound_add(struct runner *r, struct pend *p,
			   const struct ini_op *op)
{
	struct land_bound *b;

	/* Fills and zeros name no command: WRITE SAME, UNMAP, SANITIZE and
	 * a grow write them too. */
	if (model_fill_byte(p->vid) >= 0)
		return;
	/* A copy that may still run may move the value (landed in time)
	 * back to its LBA (scenario_cmds.c range_begin). */
	if (p->ls->copies_open > 0)
		return;
	if (land_value_elsewhere(r, p->ls, p->vid, p))
		return;
	/* A multipath host's attempt after the first: the earlier attempts
	 * (the same value, on a path it gave up) may still land. */
	if (p->mp != NULL && mp_cmd_attempts(p->mp) > 1)
		return;
	b = land_bound_push(r, p->vid, (int)(p->ls - r->luns), p->line);
	snprintf(b->who, sizeof(b->who), "%s's %s (%s)", p->a->name, p->verb,
		 op->outcome == INI_ABORTED ? "ended by its TMF's FUNCTION "
					      "COMPLETE"
					    : "answered");
}

/* A WRITE of unknown fate, its connection dropped: remembered with its
 * session's identity (a->sess_*, set at that session's login). */
static void land_dropped_add(struct runner *r, struct pend *p)
{
	struct dropped_write *d;

	if (model_fill_byte(p->vid) >= 0 || p->mp != NULL)
		return;
	if (r->ndw == r->capdw) {
		r->capdw = r->capdw ? r->capdw * 2 : 16;
		r->dw = realloc(r->dw, r->capdw * sizeof(*r->dw));
		if (r->dw == NULL)
			abort();
	}
	d = &r->dw[r->ndw++];
	memset(d, 0, sizeof(*d));
	d->vid = p->vid;
	d->li = (int)(p->ls - r->luns);
	d->actor = p->a->idx;
	d->line = p->line;
	snprintf(d->tgt, sizeof(d->tgt), "%s", p->a->sess_tgt);
	d->tpgt = p->a->sess_tpgt;
	memcpy(d->isid, p->a->sess_isid, 6);
}

/* Actor a's login just completed (a->tgt, a->tpgt are its own): a
 * session of a's with the same ISID at the same target port has ended
 * before (RFC 7143 §6.3.5: reinstated, its tasks terminated first; or
 * ended on its own: registry.c srv_reinstate waits for a closing one
 * too), so its WRITEs left unanswered have landed by now or never will
 * (scenario session_reinstatement_waits_for_a_closing_sessions_tasks).
 * Not where their value may come again from elsewhere (a copy that may
 * still run, another write of it in flight). */
void land_login_done(struct runner *r, struct actor *a)
{
	for (size_t i = 0; i < r->ndw; i++) {
		struct dropped_write d = r->dw[i];
		const struct lun_st *l = &r->luns[d.li];
		struct land_bound *b;

		if (d.actor != a->idx || strcmp(d.tgt, a->tgt) != 0 ||
		    d.tpgt != a->tpgt || memcmp(d.isid, ini_isid(a->ini), 6))
			continue;
		r->dw[i--] = r->dw[--r->ndw];
		if (l->removed || l->copies_open > 0 ||
		    land_value_elsewhere(r, l, d.vid, NULL))
			continue;
		b = land_bound_push(r, d.vid, d.li, d.line);
		snprintf(b->who, sizeof(b->who),
			 "%.16s's write, dropped; its session ended by a "
			 "login of its ISID (RFC 7143 §6.3.5)",
			 a->name);
	}
}

/* The target crashed or stopped: what was in flight is gone with it
 * (the disk model decides what stayed). */
void land_crash(struct runner *r)
{
	r->ndw = 0;
}

void land_bound_forget(struct runner *r, const struct lun_st *l, uint64_t vid)
{
	for (size_t i = 0; l != NULL && i < r->nlb; i++)
		if ((r->lb[i].vid == vid || vid == MODEL_WILD) &&
		    r->lb[i].li == (int)(l - r->luns))
			r->lb[i--] = r->lb[--r->nlb];
}

/*
 * No write lands on the medium after the answer that ended it (TASK
 * ABORTED, an error) or after the FUNCTION COMPLETE of the TMF that
 * aborted it (SAM-5 §5.6 and §7.1: when the task manager reports a TMF
 * complete, the tasks it aborted have ended; RFC 7143 §11.5.1).  The
 * simulated disk reports every write it applies; the blocks say whose
 * value they carry.
 */
/* A landing of [offset, offset+len) on disk: the WRITEs in flight whose
 * value it carries landed now (land_aborted_check judges them later). */
static void land_note(struct runner *r, const char *disk, uint64_t offset_bytes,
		      const uint8_t *data, uint64_t len)
{
	struct pend *p;

	TAILQ_FOREACH (p, &r->pends, link) {
		const struct lun_st *l = p->ls;
		uint64_t lba, first, vid;

		if (p->kind != PK_WRITE || p->done || l == NULL || l->removed ||
		    strcmp(l->disk, disk) != 0)
			continue;
		first = offset_bytes / l->bs;
		if (p->lba + p->blocks <= first ||
		    p->lba >= first + len / l->bs)
			continue;
		/* one block of the overlap names the value */
		lba = p->lba > first ? p->lba : first;
		if (model_decode(data + (lba - first) * l->bs, lba, l->bs,
				 &vid) &&
		    vid == p->vid)
			p->landed_ns = r->sim->now_ns;
	}
}

/*
 * A WRITE ended with TASK ABORTED: another nexus's reset, CLEAR TASK SET
 * or PREEMPT AND ABORT aborted it, and that line's answer (FUNCTION
 * COMPLETE, GOOD) came only after it had ended (SAM-5 §5.6, §7.1; SPC-4
 * §5.12.11.5 for PREEMPT AND ABORT): so it landed, if at all, before the
 * last of those lines was answered.  Judged when every such line that
 * may have aborted it has been answered (none in flight, none ended
 * unanswered, none in flight at its send), no control step ran
 * (a LUN removal ends commands too), and no other command may have
 * written its value (a copy, a retry, another write of it).
 */
static void land_aborted_check(struct runner *r, struct pend *p)
{
	struct pend *o;

	if (p->landed_ns <= r->abort_answer_ns || p->abort_possible ||
	    p->abort_events == r->abort_events || r->abort_inflight > 0 ||
	    p->aborts_unanswered != r->aborts_unanswered || aborts_pending(r) ||
	    p->ctl_seq != r->ctl_seq || p->ctl_started != r->ctl_started ||
	    p->copies_at != r->copies_sent || model_fill_byte(p->vid) >= 0 ||
	    (p->mp != NULL && mp_cmd_attempts(p->mp) > 1))
		return;
	TAILQ_FOREACH (o, &r->pends, link)
		if (o != p && o->ls == p->ls &&
		    ((o->kind == PK_WRITE && o->vid == p->vid) ||
		     (o->nrg > 0 && o->data_vid == p->vid)))
			return;
	failf(r, p->line,
	      "TMF oracle: %s's %s (lun %u lba %llu) ended TASK ABORTED, yet "
	      "it landed on the medium %llu ns after the last reset, CLEAR "
	      "TASK SET or PREEMPT AND ABORT that may have aborted it was "
	      "answered (SAM-5 §7.1, SPC-4 §5.12.11.5: the answer follows "
	      "the end of every command it aborted) (seed %llu)",
	      p->a->name, p->verb, p->ls->lun, (unsigned long long)p->lba,
	      (unsigned long long)(p->landed_ns - r->abort_answer_ns),
	      (unsigned long long)r->seed);
}

void land_check(void *ctx, const char *disk, uint64_t offset_bytes,
		const uint8_t *data, uint64_t len)
{
	struct runner *r = ctx;

	if (!r->failed)
		land_note(r, disk, offset_bytes, data, len);
	if (r->nlb == 0 || r->failed)
		return;
	for (int li = 0; li < r->nluns; li++) {
		struct lun_st *l = &r->luns[li];
		uint64_t lba = offset_bytes / l->bs, vid;

		if (strcmp(l->disk, disk) != 0 || l->removed)
			continue;
		for (uint64_t off = 0; off + l->bs <= len; off += l->bs) {
			if (!model_decode(data + off, lba + off / l->bs, l->bs,
					  &vid))
				continue;
			for (size_t i = 0; i < r->nlb; i++) {
				const struct land_bound *b = &r->lb[i];

				if (b->li != li || b->vid != vid ||
				    r->sim->now_ns <= b->bound_ns)
					continue;
				failf(r, b->line,
				      "TMF oracle: a write (lun %u lba %llu) "
				      "landed on the medium %llu ns after "
				      "it ended: %s (SAM-5 §5.6: an aborted "
				      "command changes nothing after the "
				      "response) (seed %llu)",
				      l->lun,
				      (unsigned long long)(lba + off / l->bs),
				      (unsigned long long)(r->sim->now_ns -
							   b->bound_ns),
				      b->who, (unsigned long long)r->seed);
				return;
			}
		}
	}
}

/* A TMF answered FUNCTION REJECTED while one of the target's allocations
 * failed (`target oom`): tmf.c cannot take a TMF on without its record,
 * and refuses it before it does anything. */
static bool tmf_rejected_for_memory(const struct runner *r,
				    const struct pend *p,
				    const struct ini_op *op)
{
	return op->outcome == INI_DONE &&
	       op->response == ISCSI_TMF_RSP_REJECTED && oom_during(r, p);
}

/* RFC 7143 §11.6.1: a task set TMF (ABORT TASK SET, CLEAR TASK SET,
 * LOGICAL UNIT RESET) naming a LUN at which the session has no LU (none
 * configured, removed, or hidden by its group) is answered "LUN does not
 * exist" and ends nothing, unless a control step may have changed the
 * LUNs during its life.  FUNCTION REJECTED only when one of the target's
 * allocations failed meanwhile (`target oom`: tmf.c cannot take a TMF
 * on without its record). */
static void oracle_tmf_lun(struct runner *r, struct pend *p,
			   const struct ini_op *op)
{
	struct lun_st *l;

	if (r->against || op->outcome != INI_DONE ||
	    (p->tmf_fn != ISCSI_TMF_ABORT_TASK_SET &&
	     p->tmf_fn != ISCSI_TMF_CLEAR_TASK_SET &&
	     p->tmf_fn != ISCSI_TMF_LOGICAL_UNIT_RESET) ||
	    r->ctl_running || p->ctl_seq != r->ctl_seq ||
	    p->ctl_started != r->ctl_started)
		return;
	l = lun_find(r, p->lun);
	if (l != NULL && !l->removed && acl_sees(r, p->a, l))
		return;
	if (tmf_rejected_for_memory(r, p, op))
		return;
	if (op->response != ISCSI_TMF_RSP_NO_LUN)
		failf(r, p->line,
		      "oracle: %s's %s of lun %llu, where it has no LU, was "
		      "answered 0x%02x; RFC 7143 §11.6.1 wants 'LUN does not "
		      "exist' (0x02) (seed %llu)",
		      p->a->name, p->verb, (unsigned long long)p->lun,
		      op->response, (unsigned long long)r->seed);
}

/* A command that reached the medium: GOOD, or a MEDIUM or HARDWARE
 * ERROR (what the backstore or a wrapped offset gives) other than the
 * medium's own state, 31h (MEDIUM FORMAT CORRUPTED, SANITIZE COMMAND
 * FAILED: SBC-4 §4.11, answered to every medium access first). */
static bool reached_medium(const struct ini_op *op)
{
	int sk, asc, ascq;

	if (scsi_good(op))
		return true;
	if (op->outcome != INI_DONE || op->response != 0 ||
	    op->status != SCSI_STATUS_CHECK_CONDITION)
		return false;
	sense_parse(op, &sk, &asc, &ascq);
	return (sk == SK_MEDIUM_ERROR || sk == SK_HARDWARE_ERROR) &&
	       asc != 0x31;
}

/* HARDWARE ERROR, INTERNAL TARGET FAILURE (4/44/00) is what the target
 * answers when it fails itself: an allocation, or an error of its
 * backstore it has no sense for (scsi_fail_bs()).  The simulated world
 * gives it no such reason: no allocation fails, and the simulated disk
 * answers only errors the target maps (EIO, ETIMEDOUT, ENOTCONN; EILSEQ
 * and EOPNOTSUPP of its own COMPARE AND WRITE), or EINVAL and EROFS to a
 * request it should never have made.  So here it is always a bug --
 * unless one of the target's allocations failed while the command was
 * out (`target oom`, sim_oom.c); the data model takes such a command as
 * one that reached the medium (reached_medium: it may have landed). */
static void oracle_no_internal_failure(struct runner *r, struct pend *p,
				       struct ini_op *op)
{
	int sk, asc, ascq;

	/* a save of the state store that failed during it (a PR OUT
	 * refused and rolled back, 04/44/00 for EIO) is no such bug */
	if (r->against || op->outcome != INI_DONE || op->response != 0 ||
	    op->status != SCSI_STATUS_CHECK_CONDITION ||
	    sim_state_failed(r->sim, NULL, NULL) != p->state_fails_at ||
	    oom_during(r, p))
		return;
	sense_parse(op, &sk, &asc, &ascq);
	/* nor does it run out of space: a RAM disk's chunk it cannot
	 * allocate (mem.c -ENOSPC) is the only source of 07/27/07 */
	if (sk == SK_DATA_PROTECT && asc == 0x27 && ascq == 0x07)
		failf(r, p->line,
		      "oracle: %s's %s on lun %llu failed with SPACE "
		      "ALLOCATION FAILED WRITE PROTECT (7/27/07), though no "
		      "allocation of the target failed while it was out "
		      "(seed %llu)",
		      p->a->name, p->verb, (unsigned long long)p->lun,
		      (unsigned long long)r->seed);
	if (sk == SK_HARDWARE_ERROR && asc == 0x44)
		failf(r, p->line,
		      "oracle: %s's %s on lun %llu failed with INTERNAL TARGET "
		      "FAILURE (4/44/%02x), which nothing in the simulated "
		      "world explains: an allocation never fails here and "
		      "the disk gave no error the target lacks a sense for "
		      "(seed %llu)",
		      p->a->name, p->verb, (unsigned long long)p->lun, ascq,
		      (unsigned long long)r->seed);
}

/* A WRITE whose expected length ends inside a block (RFC 7143
 * §11.4.5.1: the bytes past EDTL never come): answered GOOD, that block
 * holds the bytes that came over what it held while the write ran (the
 * range is the write's alone: a read, the merge and the write as one);
 * with any other answer its record stays wild (any value, until a later
 * write supersedes it) unless the answer says nothing was written. */
void write_part_end(struct pend *p, struct lun_st *l, int outcome)
{
	uint64_t c[16], re = model_tick(l->m);
	int n = 0;

	if (outcome == 0)
		n = model_candidates(l->m, p->part_lba, p->stamp, re,
				     p->part_handle, c, 16);
	for (int j = 0; j < n; j++)
		c[j] = model_splice(l->m, p->vid, c[j], p->part_lba,
				    p->part_cut);
	if (n > 0)
		model_write_set_alts(l->m, p->part_handle, p->part_lba, c, n);
	model_write_end(l->m, p->part_handle, outcome,
			p->fua || l->wc_off ||
				(l->wc_off_since != 0 &&
				 p->stamp > l->wc_off_since),
			model_tick(l->m));
	model_read_end(l->m, p->stamp);
}

/* SAM-5 §5.9.1: the target supports no ACA, so a command whose CONTROL
 * byte (the CDB's last, its length fixed by the operation code's group,
 * SPC-4 §4.2.5.1: the simulator's own table, not the target's) has NACA
 * set is never GOOD: it ends ILLEGAL REQUEST, INVALID FIELD IN CDB, or
 * with whatever came before that check (a unit attention, a conflict).
 * Not against another target, which may support ACA (round of blind18,
 * mutant 444). */
unsigned int cdb_naca_len(const uint8_t *cdb)
{
	static const uint8_t len_by_group[8] = {6, 10, 10, 0, 16, 12, 0, 0};
	unsigned int len = len_by_group[cdb[0] >> 5];

	return len && (cdb[len - 1] & 0x04) ? len : 0;
}

static void oracle_naca(struct runner *r, struct pend *p, struct ini_op *op)
{
	unsigned int len = cdb_naca_len(op->cdb);

	if (r->against || len == 0 || !scsi_good(op))
		return;
	failf(r, p->line,
	      "oracle: %s's %s (CDB %02x, %u bytes) has NACA set in its "
	      "CONTROL byte and was answered GOOD: with no ACA supported it "
	      "must end ILLEGAL REQUEST, INVALID FIELD IN CDB (SAM-5 "
	      "§5.9.1) (seed %llu)",
	      p->a->name, p->verb, op->cdb[0], len,
	      (unsigned long long)r->seed);
}

/* SAM-5 §8.6.5: with no ACA supported (NormACA 0), a command with the
 * ACA task attribute is never GOOD: it ends ILLEGAL REQUEST, INVALID
 * MESSAGE ERROR (49h/00h), checked after the operation code and the LUN,
 * before the task set (a LUN without LU or an unknown operation code
 * answer first).  Not against another target (round of lead19, mutant
 * 553). */
static void oracle_aca_attr(struct runner *r, struct pend *p, struct ini_op *op)
{
	int sk = 0, asc = 0, ascq = 0;

	if (r->against || p->attr != SCSI_TASK_ACA || op->outcome != INI_DONE ||
	    op->response != 0)
		return;
	if (op->status == SCSI_STATUS_CHECK_CONDITION)
		sense_parse(op, &sk, &asc, &ascq);
	if (!scsi_good(op) &&
	    (op->status != SCSI_STATUS_CHECK_CONDITION ||
	     sk != SK_ILLEGAL_REQUEST || (asc == 0x49 && ascq == 0) ||
	     asc == 0x20 || asc == 0x25))
		return;
	failf(r, p->line,
	      "oracle: %s's %s (CDB %02x) went with the ACA task attribute "
	      "and ended status 0x%02x sense %x/%02x/%02x: with no ACA "
	      "supported it must end ILLEGAL REQUEST, INVALID MESSAGE ERROR "
	      "(05/49/00, SAM-5 §8.6.5) (seed %llu)",
	      p->a->name, p->verb, op->cdb[0], op->status, sk, asc, ascq,
	      (unsigned long long)r->seed);
}

static void oracle_scsi(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->ls;

	oracle_naca(r, p, op);
	oracle_aca_attr(r, p, op);
	/* SBC-4 §4.5: a READ or WRITE naming blocks past the last LBA
	 * (a write beyond it has no model range: p->ls is NULL) is
	 * refused before it reaches the medium: neither GOOD nor a
	 * medium or hardware error (near 2^64 a range check that wraps
	 * sends it to the backstore at a wrapped offset) */
	if ((p->kind == PK_READ || p->kind == PK_WRITE) && p->oor &&
	    reached_medium(op) && p->ctl_seq == r->ctl_seq && !r->ctl_running) {
		int sk = 0, asc = 0, ascq = 0;

		if (!scsi_good(op))
			sense_parse(op, &sk, &asc, &ascq);
		failf(r, p->line,
		      "oracle: %s's %s of lba %llu+%u on lun %u completed "
		      "%s (sense %x/%02x/%02x), but it names blocks past the "
		      "last LBA: it must get LOGICAL BLOCK ADDRESS OUT OF "
		      "RANGE (SBC-4 §4.5) (seed %llu)",
		      p->a->name, p->verb, (unsigned long long)p->lba,
		      p->blocks, (unsigned)(p->lun & 0xffff),
		      scsi_good(op) ? "GOOD"
				    : "with a medium or hardware "
				      "error",
		      sk, asc, ascq, (unsigned long long)r->seed);
		return;
	}
	if (l == NULL) {
		/* a WRITE sent past the end that a grow brought in */
		if (p->kind == PK_WRITE && p->nrg > 0)
			cmds_write_past_end_answered(p, op);
		/* REPORT LUNS and REQUEST SENSE through a LUN its group
		 * hides answer all the same (scenario_acl.c) */
		if (p->acl_hidden)
			spc_oracle(r, p, op);
		return;
	}
	resv_note_nexus_loss(r);
	med_oracle(r, p, op);
	if (p->kind == PK_RESERVE || p->kind == PK_RELEASE) {
		l->resv_inflight--;
		/* Executed or not, we cannot tell: someone may hold it. */
		if (sense_unknown_fate(op))
			l->uncertain = true;
	}
	resv_wrong_conflict(r, p, op);
	oracle_lba_range(r, p, op);
	oracle_read_capacity(r, p, op);
	spc_oracle(r, p, op);
	switch (p->kind) {
	case PK_WRITE: {
		/* An error of unknown effect: if the write landed at all,
		 * it landed before its answer, or, when a TMF of ours ended
		 * it, before that TMF's FUNCTION COMPLETE (SAM-5 §5.6, §7:
		 * an aborted command changes nothing after the response;
		 * the initiator concludes it then, tmf_aborts()).  Only a
		 * dropped connection leaves it open. */
		int outcome = scsi_good(op)		   ? 0
			      : !sense_unknown_fate(op)	   ? 1
			      : op->outcome == INI_DROPPED ? 2
							   : MODEL_BOUNDED;

		/* A CmdSN gap (`hold`): a write held back and never sent, or
		 * one whose CmdSN turn never came (a command before it was
		 * never sent when its connection, and session, went), was
		 * never run: RFC 7143 §3.2.2.1.  One outside the window is
		 * ignored (§4.2.2.1): never run either. */
		if (op->outcome == INI_DROPPED &&
		    ((op->hold && !op->sent) || op->behind_gap))
			outcome = 1;
		if (op->cmdsn_outside)
			outcome = 1;
		/* Held in a CmdSN gap below a task-set TMF or reset of ours
		 * in its scope that completed: aborted before it ever
		 * reached the target, never run (RFC 7143 §11.5.1). */
		if (op->gap_tmf_done)
			outcome = 1;

		/* RFC 7143 §13.14, §4.2.2.3: immediate data past
		 * FirstBurstLength is a protocol error; a target that
		 * answers the command took what it had limited. */
		if (op->imm_over_sent > 0 && op->outcome == INI_DONE)
			failf(r, p->line,
			      "oracle: %s's write on lun %u carried %u bytes "
			      "of immediate data, beyond FirstBurstLength "
			      "%u, and was answered with status %s: it "
			      "must be refused as a protocol error (RFC "
			      "7143 §13.14) (seed %llu)",
			      p->a->name, l->lun, op->imm_over_sent,
			      op->imm_over_fb, status_name(op->status),
			      (unsigned long long)r->seed);
		uint64_t ans = model_tick(l->m);

		model_write_end(l->m, p->handle, outcome,
				p->fua || l->wc_off ||
					(l->wc_off_since != 0 &&
					 p->stamp > l->wc_off_since),
				ans);
		if (op->cdb[0] == 0x9c)
			atomic_answered(r, l, p, outcome, ans);
		if (p->part_cut != 0)
			write_part_end(p, l, outcome);
		if (outcome == 0)
			oracle_residual(r, p, op);
		if (outcome == MODEL_BOUNDED)
			land_bound_add(r, p, op);
		if (outcome == 2 && op->outcome == INI_DROPPED)
			land_dropped_add(r, p);
		if (op->outcome == INI_DONE && op->response == 0 &&
		    op->status == SCSI_STATUS_TASK_ABORTED)
			land_aborted_check(r, p);
		break;
	}
	case PK_READ:
		if (scsi_good(op) && !p->oor) {
			check_read_data(r, p, op);
			oracle_residual(r, p, op);
		}
		model_read_end(l->m, p->stamp);
		break;
	case PK_SYNC:
		cmds_oor_oracle(r, p, op);
		if (scsi_good(op) && !p->oor)
			model_flush_range(l->m, p->stamp, p->lba, p->blocks);
		break;
	case PK_RESERVE:
		if (scsi_good(op)) {
			/* A reset or release racing with this RESERVE may have
			 * been applied before or after it. */
			l->uncertain = p->epoch != l->epoch ||
				       resets_pending(r, l);
			if (l->resets_inflight > 0)
				l->resv_raced = true;
			l->holder = p->a->idx;
			l->holder_sess = p->sess;
			l->epoch++;
		}
		return;
	case PK_RELEASE:
		if (scsi_good(op) && l->holder == p->a->idx) {
			l->holder = -1;
			l->epoch++;
		}
		return;
	default:
		/* the rest of the command set (scenario_cmds_oracle.c) */
		cmds_oracle(r, p, op);
		break;
	}
	/* SPC-2: while another I_T nexus holds the reservation, commands
	 * that read or write the medium get RESERVATION CONFLICT (SPC-2
	 * §5.5.1). */
	if ((pk_reads_medium(p->kind) || pk_writes_medium(p->kind)) &&
	    scsi_good(op) && !l->uncertain && !l->pr_used &&
	    p->epoch == l->epoch && l->holder >= 0 &&
	    (l->holder != p->a->idx || l->holder_sess != p->sess))
		failf(r, p->line,
		      "oracle: lun %u is reserved by %s, yet %s's %s "
		      "completed GOOD instead of RESERVATION CONFLICT (seed %llu)",
		      l->lun, r->actors[l->holder].name, p->a->name, p->verb,
		      (unsigned long long)r->seed);
}

/*
 * A LOGICAL UNIT RESET or CLEAR TASK SET ends every task of the LU, of
 * every nexus (SAM-5 §7.6, §7.3) -- those of sessions of another target
 * that maps the same LU too -- and with TAS=1 (this target) another
 * nexus's task ends TASK ABORTED (SAM-5 §5.6).  A command the target
 * has received but holds for its CmdSN turn (a command before it held
 * back) is such a task: it cannot run before its turn, so if its turn
 * never came during the TMF -- the gap still open when the TMF was
 * answered FUNCTION COMPLETE -- and the target certainly had it before
 * the TMF was sent (the answer to a later PDU of its connection came
 * first), it must end TASK ABORTED once its turn comes, never run.
 * Mutant 179 swept only the sessions of the issuer's target: such a
 * command ran GOOD after the reset.
 *
 * The same holds for a TARGET WARM or COLD RESET, which resets every LU the issuer sees, for every nexus (the
 * unit attention model's scope, scenario_ua.c tmf_resets; RFC 7143
 * §11.5.1: "all pending operations on all Logical Units known by the
 * issuing initiator"), and for a PERSISTENT RESERVE OUT with PREEMPT AND
 * ABORT, which aborts every task of the preempted I_T nexuses on its LU
 * (SPC-4 §5.12.11.5; TAS=1: TASK ABORTED): there the command's actor
 * must be one the PR model says was preempted -- known only where the
 * PR OUT was judged exactly and answered GOOD (scenario_pr.c oracle_pr
 * calls gap_reset_confirm with the preempted actors).  Lane dupcmd19.
 *
 * gap_reset_sent marks the commands at the TMF's or PR OUT's sending,
 * gap_reset_confirm confirms them at its answer, gap_reset_judge judges
 * their answers.
 */
static const char *gap_reset_what(const struct pend *p)
{
	if (p->kind == PK_PROUT)
		return "PERSISTENT RESERVE OUT with PREEMPT AND ABORT (SPC-4 "
		       "§5.12.11.5: every task of the preempted nexuses)";
	if (tmf_target_reset(p->tmf_fn))
		return "TARGET RESET (RFC 7143 §11.5.1: every LU the issuer "
		       "knows)";
	if (p->tmf_fn == ISCSI_TMF_CLEAR_TASK_SET)
		return "CLEAR TASK SET (SAM-5 §7.3)";
	return "LOGICAL UNIT RESET (SAM-5 §7.6)";
}

/* Does p, sent by another actor, end the tasks of LU l (as the issuer
 * sees it)? */
static bool gap_reset_scope(struct runner *r, const struct pend *p,
			    const struct lun_st *l)
{
	if (!acl_sees(r, p->a, l))
		return false;
	if (p->kind == PK_PROUT)
		return p->pro.sa == PRM_PREEMPT_ABORT && p->ls == l;
	if (p->kind != PK_TMF)
		return false;
	/* a target reset answers FUNCTION COMPLETE whatever LUs are there:
	 * one taken out (`target lun remove`) is reset by none */
	if (tmf_target_reset(p->tmf_fn))
		return !l->removed;
	return (p->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET ||
		p->tmf_fn == ISCSI_TMF_CLEAR_TASK_SET) &&
	       l->lun == p->lun;
}

void gap_reset_sent(struct runner *r, struct pend *p)
{
	struct pend *q;

	if (p->kind != PK_PROUT && p->kind != PK_TMF)
		return;
	if (p->kind == PK_PROUT && p->pro.sa != PRM_PREEMPT_ABORT)
		return;
	p->gapr_id = ++r->gapr_seq;
	TAILQ_FOREACH (q, &r->pends, link) {
		bool received;

		if (q->done || q->op == NULL || q->a == p->a || q->ls == NULL ||
		    !gap_reset_scope(r, p, q->ls) ||
		    !acl_sees(r, q->a, q->ls) ||
		    !ini_op_behind_gap(q->a->ini, q->op, &received) ||
		    !received)
			continue;
		q->gapr_id = p->gapr_id;
	}
}

void gap_reset_confirm(struct runner *r, struct pend *p, uint64_t actors)
{
	uint32_t id = p->gapr_id;
	struct pend *q;

	if (id == 0)
		return;
	p->gapr_id = 0;
	/* a control step since it was sent (a LUN taken out or added) may
	 * have changed which LU a command's LUN names: none is judged */
	if (r->ctl_running || r->ctl_started != p->ctl_started)
		actors = 0;
	TAILQ_FOREACH (q, &r->pends, link) {
		bool received;

		if (q->gapr_id != id)
			continue;
		q->gapr_id = 0;
		if (q->a->idx < 64 && ((actors >> q->a->idx) & 1) && !q->done &&
		    q->op != NULL &&
		    ini_op_behind_gap(q->a->ini, q->op, &received)) {
			q->gapr_line = p->line;
			q->gapr_what = gap_reset_what(p);
		}
	}
}

static void gap_reset_done(struct runner *r, struct pend *p,
			   const struct ini_op *op)
{
	bool complete = op->outcome == INI_DONE &&
			op->response == ISCSI_TMF_RSP_COMPLETE;

	gap_reset_confirm(r, p, complete ? UINT64_MAX : 0);
}

static void gap_reset_judge(struct runner *r, struct pend *p,
			    const struct ini_op *op)
{
	if (p->gapr_line == 0 || op->outcome != INI_DONE || op->response != 0 ||
	    op->status == SCSI_STATUS_TASK_ABORTED)
		return;
	failf(r, p->line,
	      "TMF oracle: %s's %s (lun %u) waited at the target for its "
	      "CmdSN turn (a command before it held back, its receipt proven "
	      "by a later answer) through the %s of another session at line "
	      "%d, answered before the gap filled, yet it ran and ended with "
	      "status 0x%02x: it ends every such task, of every nexus and "
	      "target, TASK ABORTED with TAS=1 (SAM-5 §5.6) (seed %llu)",
	      p->a->name, p->verb, p->ls ? p->ls->lun : 0u,
	      p->gapr_what ? p->gapr_what : "reset", p->gapr_line, op->status,
	      (unsigned long long)r->seed);
}

/* SAM-5 §5.6: with TAS=1 a command ends with TASK ABORTED status only
 * when another nexus aborted it: a LOGICAL UNIT RESET, TARGET RESET,
 * CLEAR TASK SET or PREEMPT AND ABORT, or its LUN removed (a control
 * step) while it ran.  An ABORT TASK or ABORT TASK SET of another
 * session never reaches it, and one of its own session ends it without
 * status. */
static void oracle_task_aborted(struct runner *r, struct pend *p,
				struct ini_op *op)
{
	if (op->kind != INI_OP_SCSI || op->outcome != INI_DONE ||
	    op->response != 0 || op->status != SCSI_STATUS_TASK_ABORTED ||
	    p->abort_possible || p->abort_events != r->abort_events ||
	    p->ctl_seq != r->ctl_seq || p->ctl_started != r->ctl_started)
		return;
	/* Judged on several reactors too: a reset's answer follows the
	 * posted work that ends other sessions' tasks (explore seed 6647,
	 * scenario lun_reset_answer_follows_its_aborts_on_other_reactors). */
	failf(r, p->line,
	      "oracle: %s's %s ended with TASK ABORTED, but no reset, CLEAR "
	      "TASK SET, PREEMPT AND ABORT or LUN removal ran during its life "
	      "(seed %llu)",
	      p->a->name, p->verb, (unsigned long long)r->seed);
}

/*
 * CDBs longer than 16 bytes (their bytes past 16 in an Extended CDB AHS,
 * RFC 7143 §11.2.2.3) and every variable-length CDB (operation code 7Fh,
 * SPC-4 §4.2.5), judged by the simulator's own table, not the target's:
 * utarget implements none of them (READ(32), WRITE(32), VERIFY(32),
 * WRITE SAME(32)... are not in its command set).  So such a command never
 * completes GOOD, and an ILLEGAL REQUEST for it names the operation code
 * (INVALID COMMAND OPERATION CODE, 20h/00h) or the LU (LOGICAL UNIT NOT
 * SUPPORTED, 25h/00h: no LU at that LUN), never a field of a CDB whose
 * fields mean nothing to it.  Nor is it Rejected: the Extended CDB AHS
 * is part of a well-formed SCSI Command PDU, and what the CDB says is
 * the device server's to refuse (SAM-5 §5.2: CHECK CONDITION).  Other
 * statuses and sense keys (a unit attention, NOT READY of an ALUA state,
 * RESERVATION CONFLICT, BUSY, TASK ABORTED...) are another check's
 * business.  Lane dupcmd19: the explorer sends such CDBs (explore_cmds.c
 * longcdb_step); mutant 495 (TotalAHSLength read as 0) took the AHS for
 * the next BHS.
 */
static bool sim_cdb_unsupported(const struct ini_op *op)
{
	return op->cdb[0] == 0x7f;
}

static void oracle_long_cdb(struct runner *r, const struct pend *p,
			    const struct ini_op *op)
{
	int sk, asc, ascq;

	if (r->against || op->kind != INI_OP_SCSI ||
	    strcmp(p->verb, "cdb") != 0 || !sim_cdb_unsupported(op))
		return;
	/* (a Reject for a data digest error is a flip's, not the CDB's) */
	if (op->outcome == INI_REJECTED &&
	    op->reject_opcode == ISCSI_OP_SCSI_CMD &&
	    op->reject_reason != ISCSI_REJECT_DATA_DIGEST) {
		failf(r, p->line,
		      "long-CDB oracle: %s's CDB of %u bytes (opcode %02xh) "
		      "was Rejected: an Extended CDB AHS belongs to a "
		      "well-formed SCSI Command PDU (RFC 7143 §11.2.2.3), and "
		      "an operation code not supported is the device server's "
		      "CHECK CONDITION, ILLEGAL REQUEST, INVALID COMMAND "
		      "OPERATION CODE (seed %llu)",
		      p->a->name, 16u + op->cdb_ext_len, op->cdb[0],
		      (unsigned long long)r->seed);
		return;
	}
	if (op->outcome != INI_DONE || op->response != 0)
		return;
	if (op->status == SCSI_STATUS_GOOD) {
		failf(r, p->line,
		      "long-CDB oracle: %s's CDB of %u bytes (opcode %02xh, "
		      "service action %04xh) completed GOOD, but the "
		      "simulator's table has no such command: utarget "
		      "implements no variable-length CDB (SPC-4 §4.2.5) "
		      "(seed %llu)",
		      p->a->name, 16u + op->cdb_ext_len, op->cdb[0],
		      (unsigned int)get_be16(op->cdb + 8),
		      (unsigned long long)r->seed);
		return;
	}
	if (op->status != SCSI_STATUS_CHECK_CONDITION)
		return;
	sense_key_of(op->sense, op->sense_len, &sk, &asc, &ascq);
	if (sk != 0x5 || ((asc == 0x20 || asc == 0x25) && ascq == 0))
		return;
	failf(r, p->line,
	      "long-CDB oracle: %s's CDB of %u bytes (opcode %02xh) got "
	      "ILLEGAL REQUEST %02xh/%02xh; an operation code the device "
	      "server does not support is INVALID COMMAND OPERATION CODE "
	      "(20h/00h), or LOGICAL UNIT NOT SUPPORTED (25h/00h) without an "
	      "LU (SPC-4 §4.5.6) (seed %llu)",
	      p->a->name, 16u + op->cdb_ext_len, op->cdb[0], asc, ascq,
	      (unsigned long long)r->seed);
}

/*
 * ABORT TASK of a task already answered (RFC 7143 §11.5.1): the target
 * received it, so its CmdSN is behind ExpCmdSN, outside the window, and
 * the answer must be "Task does not exist" -- not "Function complete",
 * which is for a task it has, or for a CmdSN still inside the window (a
 * command it must then consider received and never run).  Judged only
 * for a task answered with a SCSI response, in the same session, before
 * the TMF was sent (FUNCTION REJECTED where memory failed, above).
 */
static void oracle_abort_task(struct runner *r, struct pend *p,
			      const struct ini_op *op)
{
	if (op->outcome != INI_DONE || !p->tmf_ref_answered ||
	    op->response == ISCSI_TMF_RSP_NO_TASK || r->against ||
	    tmf_rejected_for_memory(r, p, op))
		return;
	failf(r, p->line,
	      "oracle: %s's ABORT TASK of a task answered before it was sent "
	      "(ITT 0x%08x, CmdSN %u, so outside the CmdSN window) got "
	      "response %u; RFC 7143 §11.5.1 says \"Task does not exist\" "
	      "(1) (seed %llu)",
	      p->a->name, p->tmf_ref->itt, p->tmf_ref->cmdsn, op->response,
	      (unsigned long long)r->seed);
}

/* RFC 7143 §13.9: the first Login Response of a normal session carries
 * TargetPortalGroupTag, the group of the portal the login came to (an
 * initiator groups its paths by it, as by SendTargets' tags). */
static void login_tpgt_oracle(struct runner *r, struct pend *p)
{
	int32_t got = ini_login_tpgt(p->a->ini);

	if (r->against || !p->acl_login || got == (int32_t)p->a->tpgt)
		return;
	if (got < 0)
		failf(r, p->line,
		      "oracle: %s's login at %s got no TargetPortalGroupTag; "
		      "RFC 7143 §13.9: the first response of a normal "
		      "session carries it (portal group %u) (seed %llu)",
		      p->a->name, p->acl_portal, p->a->tpgt,
		      (unsigned long long)r->seed);
	else
		failf(r, p->line,
		      "oracle: %s's login at %s got TargetPortalGroupTag=%d, "
		      "but that portal is in portal group %u (RFC 7143 "
		      "§13.9) (seed %llu)",
		      p->a->name, p->acl_portal, got, p->a->tpgt,
		      (unsigned long long)r->seed);
}

void pend_done(void *arg, struct ini_op *op)
{
	struct pend *p = arg;
	struct runner *r = p->r;

	if (p->may_abort_others) {
		r->abort_inflight--;
		r->abort_events++;
		/* a line ended without its answer (its connection went)
		 * may have run all the same, and bounds nothing */
		if (op->outcome == INI_DONE)
			r->abort_answer_ns = r->sim->now_ns;
		else
			r->aborts_unanswered++;
		if (op->outcome == INI_DROPPED)
			r->aborts_limbo |= 1u << p->a->idx;
	}
	oracle_task_aborted(r, p, op);
	oracle_long_cdb(r, p, op);
	gap_reset_judge(r, p, op);
	order_on_done(r, p, op);
	ua_on_done(r, p, op);
	if (r->o.answer != NULL)
		tell_answer(r, p, op);
	if (op->kind == INI_OP_SCSI)
		cmds_sanitize_watch(r, p, op);

	if (p->kind == PK_TMF && p->tmf_fn == ISCSI_TMF_ABORT_TASK)
		oracle_abort_task(r, p, op);
	p->done = true;
	p->outcome = (uint8_t)op->outcome;
	p->op = NULL;
	p->itt = op->itt;
	p->cmdsn = op->cmdsn;
	if (op->kind == INI_OP_SCSI && op->outcome == INI_DONE)
		r->res->scsi_cmds++;
	if (op->outcome == INI_DROPPED)
		resv_drop_holder(r, p->a);
	acl_login_done(r, p, op);
	if (op->kind == INI_OP_LOGIN)
		wire_login_done(r, p, op);
	if (p->stall_pdu)
		wire_stall_pdu_done(r, p, op);
	if (op->corrupted)
		wire_corrupt_done(r, p, op);
	if (op->kind == INI_OP_SCSI)
		acl_scsi_done(r, p, op);
	switch (p->kind) {
	case PK_LOGIN:
		if (op->outcome == INI_DONE && op->login_status == 0) {
			login_tpgt_oracle(r, p);
			resv_drop_holder(r, p->a); /* reinstatement */
			if (strcmp(p->verb, "discovery-login") != 0) {
				land_login_done(r, p->a);
				med_login_done(r, p->a);
			}
			p->a->sess++;
			alua_login_done(r, p, true);
		}
		break;
	case PK_LOGOUT:
		if (op->outcome != INI_DONE ||
		    op->response == ISCSI_LOGOUT_RSP_OK)
			resv_drop_holder(r, p->a);
		break;
	case PK_TMF:
		gap_reset_done(r, p, op);
		cold_reset_done(r, p, op);
		oracle_tmf_lun(r, p, op);
		rsoc_tmf_done(r, p, op);
		/* No command is exempt from liveness: the target answers
		 * TASK ABORTED to the other sessions' commands a reset ends
		 * (TAS=1, SAM-5 §5.6), and our own TMF's response concludes
		 * ours (RFC 7143 §11.5.1, ini's tmf_aborts()). */
		for (int i = 0; i < r->nluns; i++)
			if ((tmf_target_reset(p->tmf_fn) ||
			     (p->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET &&
			      r->luns[i].lun == p->lun)) &&
			    acl_sees(r, p->a, &r->luns[i])) {
				r->luns[i].resets_inflight--;
				/* unanswered: it may have run, or may */
				if (op->outcome != INI_DONE)
					med_reset_lost(r, &r->luns[i]);
				if (op->outcome == INI_DROPPED) {
					r->luns[i].resets_limbo |= 1u
								   << p->a->idx;
					r->luns[i].uncertain = true;
					r->luns[i].epoch++;
				}
			}
		if (op->outcome == INI_DONE && op->response == 0 &&
		    (p->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET ||
		     tmf_target_reset(p->tmf_fn))) {
			for (int i = 0; i < r->nluns; i++)
				if ((p->tmf_fn !=
					     ISCSI_TMF_LOGICAL_UNIT_RESET ||
				     r->luns[i].lun == p->lun) &&
				    acl_sees(r, p->a, &r->luns[i])) {
					bool raced = r->luns[i].resv_raced;

					med_reset_done(r, p, &r->luns[i]);
					resv_reset(&r->luns[i]);
					/* a RESERVE answered while it ran
					 * may hold the LU now, or not */
					r->luns[i].uncertain =
						raced ||
						resets_pending(r, &r->luns[i]);
					r->luns[i].resv_raced =
						raced &&
						r->luns[i].resets_inflight > 0;
				}
			r->resets_done++;
		}
		break;
	case PK_TEXT:
		check_text(r, p, op);
		break;
	case PK_PRIN_KEYS:
	case PK_PRIN_RESV:
		check_prin(r, p, op);
		break;
	default:
		break;
	}
	if (op->kind == INI_OP_SCSI) {
		lu_stats_done(r, p, op);
		oracle_no_internal_failure(r, p, op);
		oracle_scsi(r, p, op);
		rsoc_scsi_done(r, p, op);
		oracle_pr(r, p, op);
		/* a PREEMPT AND ABORT not judged exactly preempts none we
		 * know of (oracle_pr confirmed the known ones) */
		gap_reset_confirm(r, p, 0);
		alua_done(r, p, op);
	}
	if (p->e.outcome != XO_ANY)
		r->res->expectations++;
	if (p->e.outcome == XO_NONE &&
	    (op->outcome == INI_DROPPED || op->outcome == INI_NOT_SENT)) {
		/* Never answered: the connection went first. */
	} else if (p->e.outcome == XO_NONE &&
		   ((op->corrupted & INI_CORRUPT_DATA) ||
		    op->data_out_flipped) &&
		   op->outcome == INI_REJECTED &&
		   op->reject_reason == ISCSI_REJECT_DATA_DIGEST) {
		/* A PDU whose data failed its digest is answered with a
		 * Reject 02h whatever its header says, a CmdSN outside the
		 * window included (RFC 7143 §7.8: "MUST answer with a Reject
		 * PDU"); the wire oracle judges it (scenario_wire.c).  So
		 * is an unsolicited Data-Out of it whose data was hit
		 * (explore seed 668518261253). */
	} else if (p->e.outcome == XO_NONE) {
		failf(r, p->line,
		      "%s %s: expected no answer, got %s (seed %llu)",
		      p->a->name, p->verb, outcome_name(op->outcome),
		      (unsigned long long)r->seed);
	} else {
		verdict(r, p, op);
	}
	ini_op_free(op);
}

/* Free the server and require that it left nothing behind. */
void leak_check(struct runner *r, const char *when)
{
	struct sim *s = r->sim;

	/* zero-copy references: released once each (the release asserts
	 * the second), and every one by now */
	uint64_t refs = s->live_refs + (bs_null_refs_out() - r->null_refs_base);
	/* and the LBA ranges such reads keep (task_set.c scsi_range_hold):
	 * given back with their reference, or dropped with their session */
	uint64_t holds = scsi_range_holds_out() - r->holds_base;

	if (s->live_timers || s->live_conns || s->live_listeners ||
	    s->live_disks || s->live_mutexes || sim_disk_pending(s) ||
	    s->live_posts || refs || holds)
		failf(r, r->line,
		      "leak after %s: %u timers, %u connections, "
		      "%u listeners, %u disks, %u mutexes, %u disk requests, "
		      "%u posted works, %llu read references still held by "
		      "the target, %llu LBA ranges kept by them (seed %llu)",
		      when, s->live_timers, s->live_conns, s->live_listeners,
		      s->live_disks, s->live_mutexes, sim_disk_pending(s),
		      s->live_posts, (unsigned long long)refs,
		      (unsigned long long)holds, (unsigned long long)r->seed);
}

/* ------------------------------------------------------ end of run */

/* The target's own liveness invariant, as it reports it
 * (iscsi_server_get_stats): every command and TMF it accepted is
 * answered, or its connection closed, within RspTimeout.  What it still
 * owes once the world is quiet gets that long -- a vanished initiator's
 * connection ends only by the target's own timeouts -- and then nothing
 * may be owed.  An RspTimeout that caught a command waiting on the
 * target itself (inside the SCSI layer, or a TMF) is a hang the
 * initiators may never have seen: a dropped connection hides it. */
static void target_liveness(struct runner *r)
{
	struct iscsi_server_stats st;
	uint32_t rsp_s = r->params.rsp_timeout_s ? r->params.rsp_timeout_s : 90;

	if (r->srv == NULL || r->failed)
		return;
	iscsi_server_get_stats(r->srv, &st);
	/* A command an RspTimeout left inside the SCSI layer, there on its
	 * own for less than RspTimeout, is judged when it has been: stuck
	 * if still there (owed.c).  Give it that time too. */
	if (st.owed > 0 || st.rsp_timeouts_judging > 0) {
		sim_run_for(r->sim, ((uint64_t)rsp_s + 1) * SIM_NS_PER_S);
		if (r->failed || r->srv == NULL)
			return;
		iscsi_server_get_stats(r->srv, &st);
	}
	if (st.owed > 0)
		failf(r, 0,
		      "target liveness: the target still owes %u answers, "
		      "the oldest for %llu ms, past its RspTimeout of %u s "
		      "(seed %llu)",
		      st.owed,
		      (unsigned long long)(st.owed_oldest_age_ns /
					   SIM_NS_PER_MS),
		      rsp_s, (unsigned long long)r->seed);
	else if (st.rsp_timeouts_judging > 0)
		failf(r, 0,
		      "target liveness: %llu command(s) an RspTimeout left "
		      "inside the target are still unjudged past their "
		      "RspTimeout of %u s (seed %llu)",
		      (unsigned long long)st.rsp_timeouts_judging, rsp_s,
		      (unsigned long long)r->seed);
	else if (st.rsp_timeouts_stuck > r->stuck_expected)
		failf(r, 0,
		      "target liveness: RspTimeout closed %llu connection(s) "
		      "whose oldest command waited inside the target (the "
		      "SCSI layer or a TMF) and was never answered; --trace "
		      "shows the target's log naming it (seed %llu)",
		      (unsigned long long)st.rsp_timeouts_stuck,
		      (unsigned long long)r->seed);
}

void end_of_run(struct runner *r)
{
	struct pend *p;

	if (!r->started || r->failed)
		return;
	r->line = 0;
	heal_all(r);
	run_quiet(r);
	/* A connection whose target side is gone can never answer: the
	 * initiator drops it, as its own timeout would. */
	for (int i = 0; i < r->nactors; i++) {
		struct ini *ini = r->actors[i].ini;

		if (ini_conn(ini) && !sim_conn_peer_open(ini_conn(ini)) &&
		    ini_pending(ini) > 0)
			ini_disconnect(ini);
	}
	run_quiet(r);
	TAILQ_FOREACH (p, &r->pends, link) {
		if (r->failed)
			break;
		if (p->done || p->exempt)
			continue;
		/* `expect any` checks no answer, but one must come (the
		 * explorer's commands all say `expect any`). */
		if (p->e.outcome == XO_NONE)
			continue;
		failf(r, p->line,
		      "liveness: %s %s never got an answer and its "
		      "connection is still up after the network healed and the "
		      "world went quiet (seed %llu)",
		      p->a->name, p->verb, (unsigned long long)r->seed);
	}
	target_liveness(r);
	lu_stats_oracle(r);
	if (r->srv != NULL && !r->against && !r->failed)
		sessions_agree(r);
	if (r->srv != NULL && !r->failed) {
		bool all_down = true;
		struct iscsi_server_stats st;

		for (int i = 0; i < r->nactors; i++)
			if (ini_state(r->actors[i].ini) != INI_S_DOWN)
				all_down = false;
		uint64_t refs = r->sim->live_refs +
				(bs_null_refs_out() - r->null_refs_base) +
				(scsi_range_holds_out() - r->holds_base);

		iscsi_server_get_stats(r->srv, &st);
		if (all_down && (st.connections || st.sessions || st.tasks ||
				 st.buffer_bytes || refs))
			failf(r, 0,
			      "leak: every initiator is gone and the world is "
			      "quiet, yet the target holds %u connections, %u "
			      "sessions, %u tasks, %llu buffer bytes, %llu read "
			      "references and LBA ranges they keep (seed %llu)",
			      st.connections, st.sessions, st.tasks,
			      (unsigned long long)st.buffer_bytes,
			      (unsigned long long)refs,
			      (unsigned long long)r->seed);
	}
}
