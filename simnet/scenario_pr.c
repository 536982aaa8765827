/*
 * scenario_pr.c — the persistent reservation oracle: PR OUT answers
 * drive the model of pr_model.h, and PR IN data and the statuses of
 * READ, WRITE and SYNCHRONIZE CACHE are checked against it (SPC-4 §5.9).
 *
 * The boundary: the model itself (the rules of SPC-4) is pr_model.c;
 * this file decides when an answer may be judged exactly (the order of
 * overlapping PR OUTs is unknown) and reports a difference.  The SPC-2
 * reservation oracle stays in scenario_oracle.c with the other checks on
 * completion.
 */
#include <string.h>

#include "scsi/scsi.h"
#include "scenario_int.h"

/* ------------------------------------- persistent reservation oracle */

static void pr_state(struct runner *r, const struct pr_model *m, char *buf,
		     size_t cap)
{
	const char *names[MAX_ACTORS];

	for (int i = 0; i < r->nactors; i++)
		names[i] = r->actors[i].name;
	prm_describe(m, names, r->nactors, buf, cap);
}

static const char *prm_result_name(enum prm_result x)
{
	return x == PRM_GOOD	   ? "GOOD"
	       : x == PRM_CONFLICT ? "RESERVATION CONFLICT"
				   : "ILLEGAL REQUEST";
}

static const char *const pro_names[] = {"pr-register",	     "pr-reserve",
					"pr-release",	     "pr-clear",
					"pr-preempt",	     "pr-preempt-abort",
					"pr-register-ignore"};

static void sort_keys(uint64_t *ks, int n, char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && ks[j - 1] > ks[j]; j--) {
			uint64_t x = ks[j];

			ks[j] = ks[j - 1];
			ks[j - 1] = x;
		}
	for (int i = 0; i < n && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%llx", i ? "," : "",
				      (unsigned long long)ks[i]);
}

/*
 * PR OUT answers change the model; READ/WRITE/SYNCHRONIZE CACHE statuses
 * and PR IN data are checked against it.  Exact only where the order is
 * certain: a PR OUT sent while no other was outstanding, and answered
 * before any other was sent, is checked and applied; one that overlapped
 * another and succeeded makes the state unknown (the target may have
 * applied them in either order), as does one of unknown fate (dropped,
 * aborted).  A CLEAR answered GOOD in isolation makes it known again.
 * Other commands are checked only if no PR OUT was outstanding or
 * answered during their whole life.
 */
void oracle_pr(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->ls;
	int sk = -1, asc = -1, ascq = -1, me = p->a->idx;
	bool exact;
	char st[512];

	if (l != NULL && l->spc2_used && p->kind == PK_PROUT &&
	    op->outcome != INI_NOT_SENT && op->outcome != INI_REJECTED)
		ua_pr_unknown(r, p); /* unit attentions: not modelled here */
	if (l == NULL || !l->pr_used || l->spc2_used || r->failed)
		return;
	if (op->outcome == INI_DONE &&
	    op->status == SCSI_STATUS_CHECK_CONDITION)
		sense_parse(op, &sk, &asc, &ascq);
	if (p->kind == PK_PROUT) {
		enum prm_result want;
		int got;
		struct pr_model before = l->pr;
		struct prm_ua u;

		l->pr_inflight--;
		l->pr_epoch++;
		if (op->outcome == INI_NOT_SENT ||
		    op->outcome == INI_REJECTED) {
			ua_pr_effects(r, p, NULL); /* never executed */
			return;
		}
		if (sense_unknown_fate(op) || op->outcome != INI_DONE) {
			l->pr.unknown = true;
			ua_pr_unknown(r, p);
			if (op->outcome == INI_DROPPED)
				l->pr_limbo |= 1u << me;
			return;
		}
		if (op->status == SCSI_STATUS_GOOD)
			got = PRM_GOOD;
		else if (op->status == SCSI_STATUS_RESERVATION_CONFLICT)
			got = PRM_CONFLICT;
		else if (sk == SK_ILLEGAL_REQUEST && asc != 0x25)
			got = PRM_ILLEGAL;
		else /* UA, BUSY, a LUN removed (25h/00h): not executed */
			got = PRM_ILLEGAL + 1;
		if (got != PRM_GOOD)
			ua_pr_effects(r, p, NULL); /* it changed nothing */
		if (got > PRM_ILLEGAL)
			return;
		/* A PR OUT dropped on a connection the target still reads
		 * may yet be applied: nothing is in isolation then. */
		exact = p->pr_alone && l->pr_issued == p->pr_issued &&
			!limbo_pending(r, &l->pr_limbo);
		if (exact && p->pro_modelled && p->pro.sa == PRM_CLEAR &&
		    got == PRM_GOOD) {
			/* The other registrants are told RESERVATIONS
			 * PREEMPTED; who they were we know only if the
			 * state was known. */
			if (p->pr_known && !l->pr.unknown) {
				prm_apply_ua(&l->pr, me, &p->pro, &u);
				ua_pr_effects(r, p, &u);
			} else {
				ua_pr_unknown(r, p);
			}
			prm_clear(&l->pr); /* known again */
			l->pr.unknown = false;
			return;
		}
		if (!exact || !p->pr_known || !p->pro_modelled ||
		    l->pr.unknown) {
			if (got == PRM_GOOD) {
				l->pr.unknown = true;
				ua_pr_unknown(r, p);
			}
			return;
		}
		want = prm_apply_ua(&l->pr, me, &p->pro, &u);
		if ((int)want == got && got == PRM_GOOD)
			ua_pr_effects(r, p, &u);
		if ((int)want != got) {
			pr_state(r, &before, st, sizeof(st));
			failf(r, p->line,
			      "oracle: %s %s key=%llx sa-key=%llx type=%s "
			      "on lun %u was answered %s; SPC-4 says %s (%s) "
			      "(seed %llu)",
			      p->a->name, pro_names[p->pro.sa],
			      (unsigned long long)p->pro.key,
			      (unsigned long long)p->pro.sark,
			      prm_type_name(p->pro.type), l->lun,
			      prm_result_name((enum prm_result)got),
			      prm_result_name(want), st,
			      (unsigned long long)r->seed);
			l->pr.unknown = true;
		}
		return;
	}
	exact = p->pr_alone && p->pr_known && p->pr_epoch == l->pr_epoch &&
		l->pr_inflight == 0 && !l->pr.unknown;
	if (!exact || op->outcome != INI_DONE || op->response != 0)
		return;
	if (pk_reads_medium(p->kind) || pk_writes_medium(p->kind) ||
	    p->kind == PK_SYNC) {
		bool c = prm_conflicts(&l->pr, me, !pk_reads_medium(p->kind));

		if (c && op->status == SCSI_STATUS_GOOD) {
			pr_state(r, &l->pr, st, sizeof(st));
			failf(r, p->line,
			      "oracle: %s's %s on lun %u completed GOOD, "
			      "but it must get RESERVATION CONFLICT (%s) (seed %llu)",
			      p->a->name, p->verb, l->lun, st,
			      (unsigned long long)r->seed);
		} else if (!c &&
			   op->status == SCSI_STATUS_RESERVATION_CONFLICT) {
			pr_state(r, &l->pr, st, sizeof(st));
			failf(r, p->line,
			      "oracle: %s's %s on lun %u got RESERVATION "
			      "CONFLICT, but the reservation allows it (%s) "
			      "(seed %llu)",
			      p->a->name, p->verb, l->lun, st,
			      (unsigned long long)r->seed);
		}
		return;
	}
	if ((p->kind == PK_PRIN_KEYS || p->kind == PK_PRIN_RESV) &&
	    scsi_good(op) && op->in_len >= 8) {
		uint32_t len = get_be32(op->in + 4);
		char want[256] = "", got[256] = "";

		if (p->kind == PK_PRIN_KEYS) {
			uint64_t ks[64];
			int n = 0;

			for (uint32_t i = 0;
			     i + 8 <= len && 8 + i + 8 <= op->in_len && n < 64;
			     i += 8)
				ks[n++] = get_be64(op->in + 8 + i);
			sort_keys(ks, n, got, sizeof(got));
			n = 0;
			for (int i = 0; i < PR_MODEL_ACTORS; i++)
				if (l->pr.key[i])
					ks[n++] = l->pr.key[i];
			sort_keys(ks, n, want, sizeof(want));
		} else {
			if (len >= 16 && op->in_len >= 22)
				snprintf(got, sizeof(got), "key %llx type %s",
					 (unsigned long long)get_be64(op->in +
								      8),
					 prm_type_name(op->in[21] & 0x0f));
			if (l->pr.reserved)
				snprintf(
					want, sizeof(want), "key %llx type %s",
					(unsigned long long)(l->pr.type == 7 ||
									     l->pr.type ==
										     8
								     ? 0
								     : l->pr.key
									       [l->pr.holder]),
					prm_type_name(l->pr.type));
		}
		if (strcmp(want, got) != 0) {
			pr_state(r, &l->pr, st, sizeof(st));
			failf(r, p->line,
			      "oracle: %s %s on lun %u returned [%s], "
			      "expected [%s] (%s) (seed %llu)",
			      p->a->name, p->verb, l->lun, got, want, st,
			      (unsigned long long)r->seed);
		}
	}
}
