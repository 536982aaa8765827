/*
 * scenario_ua.c — the unit attention oracle: what each I_T_L nexus (an
 * actor's session and one LUN) must and may be told, from the model of
 * ua_model.h, fed by what the actors send and what the target answers.
 *
 * Causes (SAM-5 §5.14, SPC-4 §5.14 and the clauses named below):
 *   - a new nexus (login): POWER ON, RESET (29h) on each of its LUNs;
 *   - LOGICAL UNIT RESET, TARGET RESET: 29h on every nexus of the LU,
 *     the issuer's included (SAM-5 §6.3.3 leaves that open; the target
 *     tells it too), replacing what was queued;
 *   - MODE SELECT that changes a parameter: MODE PARAMETERS CHANGED on
 *     every other nexus of the LU (SPC-4 §7.5.1);
 *   - PERSISTENT RESERVE OUT (SPC-4 §5.12.11): RESERVATIONS RELEASED,
 *     RESERVATIONS PREEMPTED, REGISTRATIONS PREEMPTED as pr_model.c
 *     says for each service action;
 *   - control steps (scenario.c): CAPACITY DATA HAS CHANGED, REPORTED
 *     LUNS DATA HAS CHANGED, and 29h on a LUN a session gains;
 *   - with TAS=1 (our control mode page) no COMMANDS CLEARED BY ANOTHER
 *     INITIATOR (2Fh/00h): a UA the model has no cause for is spurious.
 * Commands (SAM-5 §5.14): INQUIRY and REPORT LUNS neither report nor
 * clear a unit attention; REQUEST SENSE reports one in its data and
 * clears it (the device server's choice b of SPC-4 §6.29); every other
 * command is told of the highest-precedence condition and ends there.
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "scsi/scsi.h"
#include "scenario_int.h"

uint64_t ua_tick(struct runner *r)
{
	return ++r->ua_clock;
}

static int lun_index(struct runner *r, uint64_t lun)
{
	for (int i = 0; i < r->nluns; i++)
		if (r->luns[i].lun == lun && !r->luns[i].removed)
			return i;
	/* The LUN being added: a session may have it before the step ends
	 * (with several reactors the step waits for a retire round). */
	if (r->adding_li >= 0 && lun == r->adding_lun)
		return r->adding_li;
	return -1;
}

/* A condition for actor x's nexus: one that may have come before x's
 * current nexus was made may not reach it. */
static void ua_give(struct actor *x, int li, int kind, uint32_t cause,
		    uint64_t from, uint64_t sure)
{
	struct ua_nexus *nx = &x->ua[li];
	unsigned int n = nx->n;

	ua_add(nx, kind, cause, from, sure);
	if (nx->n > n && from < x->ua_born)
		nx->rec[nx->n - 1].fade = nx->rec[nx->n - 1].from;
}

/* Commands that pass a pending unit attention (SAM-5 §5.14 a, b, e). */
static bool ua_exempt(uint8_t opcode)
{
	return opcode == 0x12 || opcode == 0xa0 || opcode == 0x03;
}

/* Did the command go past the unit attention check?  Only answers the
 * device server gives after it: GOOD, CONDITION MET, a reservation
 * conflict, a medium, protection or compare error, an unknown opcode or
 * an LBA out of range.  (TASK ABORTED, TASK SET FULL, NOT READY and
 * INVALID FIELD IN CDB may come from before it, or from iSCSI.) */
static bool passed_ua_check(const struct ini_op *op, int sk, int asc)
{
	switch (op->status) {
	case SCSI_STATUS_GOOD:
	case SCSI_STATUS_CONDITION_MET:
	case SCSI_STATUS_RESERVATION_CONFLICT:
		return true;
	case SCSI_STATUS_CHECK_CONDITION:
		/* SANITIZE COMMAND FAILED (31h/03h) refuses a medium access
		 * command before the unit attention check, as a running
		 * sanitize's NOT READY does (scsi.c, SBC-4 §4.11.2-3): the
		 * condition stays queued. */
		if (sk == SK_MEDIUM_ERROR && asc == 0x31)
			return false;
		return sk == SK_MEDIUM_ERROR || sk == SK_DATA_PROTECT ||
		       sk == SK_MISCOMPARE ||
		       (sk == SK_ILLEGAL_REQUEST &&
			(asc == 0x20 || asc == 0x21));
	default:
		return false;
	}
}

/* A SCSI command of a to LUN index li, still unanswered, sent before
 * `before` (q != except) that may still be told of a condition. */
static bool other_may_take(struct runner *r, struct actor *a, int li,
			   uint64_t before, const struct pend *except)
{
	struct pend *q;

	TAILQ_FOREACH (q, &r->pends, link)
		if (q != except && q->a == a && !q->done && q->op &&
		    q->op->kind == INI_OP_SCSI && q->ua_issue < before &&
		    lun_index(r, q->lun) == li && !ua_exempt(q->op->cdb[0]))
			return true;
	return false;
}

static uint64_t oldest_outstanding(struct runner *r, struct actor *a, int li,
				   uint64_t now)
{
	struct pend *q;
	uint64_t oldest = now;

	TAILQ_FOREACH (q, &r->pends, link)
		if (q->a == a && !q->done && q->op &&
		    q->op->kind == INI_OP_SCSI && lun_index(r, q->lun) == li &&
		    q->ua_issue < oldest)
			oldest = q->ua_issue;
	return oldest;
}

static void fail_missing(struct runner *r, struct actor *a, int li, int rec,
			 int line, const char *verb)
{
	struct ua_nexus *nx = &a->ua[li];
	char st[512];

	ua_describe(nx, st, sizeof(st));
	failf(r, line,
	      "UA oracle: %s's %s on lun %u passed the unit attention check "
	      "while %s was certainly pending for this nexus, never reported "
	      "to it (SAM-5 §5.14) [conditions: %s] (seed %llu)",
	      a->name, verb, r->luns[li].lun, ua_kind_name(nx->rec[rec].kind),
	      st, (unsigned long long)r->seed);
}

/* A command that passed the unit attention check while a condition was
 * certain: missing, unless another command of the nexus, still
 * outstanding, may have been told of it. */
static void judge_passed(struct runner *r, struct pend *p, int li, uint64_t now)
{
	struct actor *a = p->a;
	int rec = ua_certain(&a->ua[li], p->ua_issue, now, -1);

	if (rec < 0)
		return;
	if (other_may_take(r, a, li, now, p)) {
		struct ua_owe *o = &a->ua_owe[li];

		if (!o->on) {
			o->on = true;
			o->s = p->ua_issue;
			o->at = now;
			o->line = p->line;
			snprintf(o->verb, sizeof(o->verb), "%s", p->verb);
		}
		return;
	}
	fail_missing(r, a, li, rec, p->line, p->verb);
}

static void recheck_owed(struct runner *r, struct actor *a, int li)
{
	struct ua_owe *o = &a->ua_owe[li];
	int rec;

	if (!o->on || r->failed)
		return;
	rec = ua_certain(&a->ua[li], o->s, o->at, -1);
	if (rec < 0) {
		o->on = false;
		return;
	}
	if (other_may_take(r, a, li, o->at, NULL))
		return;
	o->on = false;
	fail_missing(r, a, li, rec, o->line, o->verb);
}

/* The actor was told of ASC/ASCQ (in CHECK CONDITION sense, or in REQUEST
 * SENSE data). */
static void judge_told(struct runner *r, struct pend *p, int li, uint64_t now,
		       int asc, int ascq)
{
	struct actor *a = p->a;
	struct ua_nexus *nx = &a->ua[li];
	int kind = ua_kind_of((uint8_t)asc, (uint8_t)ascq);
	int hi;
	char st[512];

	if (kind < 0) {
		failf(r, p->line,
		      "UA oracle: %s's %s on lun %u was told of unit attention "
		      "%02x/%02x, which nothing here establishes (with TAS=1 "
		      "no COMMANDS CLEARED BY ANOTHER INITIATOR, SAM-5 §5.6) "
		      "(seed %llu)",
		      a->name, p->verb, r->luns[li].lun, asc, ascq,
		      (unsigned long long)r->seed);
		return;
	}
	if (r->sim->trace) {
		ua_describe(nx, st, sizeof(st));
		SIM_TRACE(r->sim,
			  "UA oracle: %s %s (sent at %llu) told of "
			  "%02x/%02x on lun %u [conditions: %s]",
			  a->name, p->verb, (unsigned long long)p->ua_issue,
			  asc, ascq, r->luns[li].lun, st);
	}
	hi = ua_certain(nx, p->ua_issue, now, kind);
	if (hi >= 0) {
		ua_describe(nx, st, sizeof(st));
		failf(r, p->line,
		      "UA oracle: %s's %s on lun %u was told of %s while %s, "
		      "which has precedence, was certainly pending "
		      "(SAM-5 §5.14) [conditions: %s] (seed %llu)",
		      a->name, p->verb, r->luns[li].lun, ua_kind_name(kind),
		      ua_kind_name(nx->rec[hi].kind), st,
		      (unsigned long long)r->seed);
		return;
	}
	/* ASYMMETRIC ACCESS STATE CHANGED is the ALUA oracle's to judge. */
	if (kind == UA_K_ALUA)
		return;
	if (kind == UA_K_RESET)
		a->ua_told_reset[li]++;
	if (!ua_report(nx, kind, p->ua_issue, now)) {
		ua_describe(nx, st, sizeof(st));
		failf(r, p->line,
		      "UA oracle: %s's %s on lun %u was told of %s, but no "
		      "cause of it happened for this nexus, or it was reported "
		      "already (SAM-5 §5.14: reported once) [conditions: %s] "
		      "(seed %llu)",
		      a->name, p->verb, r->luns[li].lun, ua_kind_name(kind), st,
		      (unsigned long long)r->seed);
	}
}

/* ------------------------------------------------------ MODE SELECT */

/* The mode parameters a MODE SELECT's list sets (pages 08h, 0Ah). */
struct ms_set {
	bool has_wce, has_ctl;
	bool wce, dsense, swp;
};

static bool ms_parse(const struct ini_op *op, struct ms_set *m)
{
	bool ten = op->cdb[0] == 0x55;
	uint32_t plen = ten ? get_be16(op->cdb + 7) : op->cdb[4];
	uint32_t hdr = ten ? 8 : 4, bdlen, off;
	const uint8_t *p = op->out;

	memset(m, 0, sizeof(*m));
	if (p == NULL || plen > op->edtl || plen < hdr)
		return false;
	bdlen = ten ? get_be16(p + 6) : p[3];
	for (off = hdr + bdlen; off + 2 <= plen; off += 2u + p[off + 1]) {
		const uint8_t *pg = p + off;

		if (off + 2u + pg[1] > plen)
			return false;
		if ((pg[0] & 0x3f) == 0x08 && pg[1] >= 1) {
			m->has_wce = true;
			m->wce = pg[2] & 0x04;
		} else if ((pg[0] & 0x3f) == 0x0a && pg[1] >= 3) {
			m->has_ctl = true;
			m->dsense = pg[2] & 0x04;
			m->swp = pg[4] & 0x08;
		}
	}
	return true;
}

void ua_scsi_sent(struct runner *r, struct pend *p, struct ini_op *op)
{
	int li = lun_index(r, p->lun);

	if (op->cdb[0] != 0x15 && op->cdb[0] != 0x55)
		return;
	if (li < 0 && !p->acl_hidden) {
		/* No LU there now, but one added before it arrives takes
		 * it: the added LU's mode parameters are unknown until it
		 * is answered (ctl_lun_add). */
		p->ms_orphan = true;
		p->ua_cause = ++r->ua_cause_seq;
		r->ms_orphans++;
		return;
	}
	if (li < 0 || p->acl_hidden)
		return;
	p->ua_ms_alone = r->luns[li].ms_inflight == 0;
	p->ua_ms_issued = ++r->luns[li].ms_issued;
	r->luns[li].ms_inflight++;
	p->ua_ms = true;
	/* From now everyone else may be told MODE PARAMETERS CHANGED: the
	 * answer may come after theirs. */
	p->ua_cause = ++r->ua_cause_seq;
	for (int i = 0; i < r->nactors; i++)
		if (&r->actors[i] != p->a)
			ua_give(&r->actors[i], li, UA_K_MODE, p->ua_cause,
				p->ua_issue, UA_NEVER);
}

/* The MODE SELECT's effect is known: certain (changed) or nothing. */
static void ms_settle(struct runner *r, struct pend *p, int li, bool changed,
		      uint64_t now)
{
	for (int i = 0; i < r->nactors; i++)
		ua_settle(&r->actors[i].ua[li], p->ua_cause,
			  changed ? 1u << UA_K_MODE : 0, now);
}

/* Unknown: the others may be told (the records stay maybe). */
static void ms_maybe(struct runner *r, struct pend *p, int li, uint64_t now)
{
	r->luns[li].ms_known = false;
	(void)p;
	(void)now;
}

static void ms_done(struct runner *r, struct pend *p, const struct ini_op *op,
		    int li, uint64_t now)
{
	struct lun_st *l = &r->luns[li];
	struct ms_set m;
	bool exact, changed = false;

	l->ms_inflight--;
	if (op->outcome == INI_NOT_SENT || op->outcome == INI_REJECTED) {
		ms_settle(r, p, li, false, now); /* never ran */
		return;
	}
	if (op->outcome != INI_DONE || op->response != 0 ||
	    op->status == SCSI_STATUS_TASK_ABORTED) {
		ms_maybe(r, p, li, now); /* it may have run */
		return;
	}
	if (op->status != SCSI_STATUS_GOOD) {
		ms_settle(r, p, li, false, now); /* refused (SPC-4 §6.9) */
		return;
	}
	exact = p->ua_ms_alone && l->ms_issued == p->ua_ms_issued &&
		l->ms_known && ms_parse(op, &m);
	if (!exact) {
		ms_maybe(r, p, li, now);
		return;
	}
	if (m.has_wce && m.wce != l->ms_wce)
		changed = true;
	if (m.has_ctl && (m.dsense != l->ms_dsense || m.swp != l->ms_swp))
		changed = true;
	if (m.has_wce)
		l->ms_wce = m.wce;
	if (m.has_ctl) {
		l->ms_dsense = m.dsense;
		l->ms_swp = m.swp;
	}
	ms_settle(r, p, li, changed, now);
}

/* The mode parameters of every LU as the target starts them. */
void ua_mode_reset(struct runner *r)
{
	for (int i = 0; i < r->nluns; i++) {
		struct lun_st *l = &r->luns[i];

		l->ms_known = l->ms_inflight == 0 &&
			      l->ms_saved != MS_SAVED_UNKNOWN;
		l->ms_wce = !l->wc_off;
		l->ms_dsense = false;
		l->ms_swp = false;
	}
}

/* ------------------------------------------------------ SCSI answers */

static void judge_scsi(struct runner *r, struct pend *p, struct ini_op *op,
		       int li, uint64_t now)
{
	struct actor *a = p->a;
	uint8_t opc = op->cdb[0];
	int sk, asc, ascq;

	if (op->outcome == INI_NOT_SENT || op->outcome == INI_REJECTED)
		return;
	/* aborted in a CmdSN gap by a TMF of ours: never run, told of
	 * nothing (RFC 7143 §11.5.1) */
	if (op->gap_tmf_done)
		return;
	/* its CmdSN certainly outside the window or a duplicate: ignored,
	 * never run, told of nothing (RFC 7143 §4.2.2.1) */
	if (op->cmdsn_outside)
		return;
	if (op->outcome != INI_DONE) {
		/* Aborted or dropped: it may have been told of one. */
		if (!ua_exempt(opc) || opc == 0x03)
			ua_lost_answer(&a->ua[li], p->ua_issue, now);
		return;
	}
	if (op->response != 0)
		return;
	sense_key_of(op->sense,
		     op->status == SCSI_STATUS_CHECK_CONDITION ? op->sense_len
							       : 0,
		     &sk, &asc, &ascq);
	if (ua_exempt(opc)) {
		if (sk == SK_UNIT_ATTENTION) {
			failf(r, p->line,
			      "UA oracle: %s's %s (opcode %02xh) on lun %u was "
			      "told of unit attention %02x/%02x, but INQUIRY, "
			      "REPORT LUNS and REQUEST SENSE are processed under "
			      "a pending unit attention (SAM-5 §5.14) (seed %llu)",
			      a->name, p->verb, opc, r->luns[li].lun, asc, ascq,
			      (unsigned long long)r->seed);
			return;
		}
		/* REQUEST SENSE reports the condition in its data and
		 * clears it, or says NO SENSE when none is pending. */
		if (opc == 0x03 && op->status == SCSI_STATUS_GOOD) {
			sense_key_of(op->in, op->in_len, &sk, &asc, &ascq);
			if (sk == SK_UNIT_ATTENTION)
				judge_told(r, p, li, now, asc, ascq);
			else if (sk == SK_NO_SENSE)
				judge_passed(r, p, li, now);
		}
		return;
	}
	if (op->status == SCSI_STATUS_CHECK_CONDITION &&
	    sk == SK_UNIT_ATTENTION)
		judge_told(r, p, li, now, asc, ascq);
	else if (passed_ua_check(op, sk, asc))
		judge_passed(r, p, li, now);
}

/* ------------------------------------------------------------ TMFs */

/*
 * A LOGICAL UNIT RESET or TARGET RESET returns the mode parameters of
 * each LU it resets to their defaults (SAM-5 §6.3.3 d: to the saved
 * values, or the defaults where none were saved; the target saves none)
 * somewhere between its send and its answer.  It counts as a MODE
 * SELECT in flight meanwhile (MODE SENSE and the sense format are not
 * judged across it, a MODE SELECT overlapping it is not exact), the
 * write cache may be on again from its send (cmds_ms_reset_sent), and
 * answered FUNCTION COMPLETE with nothing else near, the LU has WCE as
 * configured, D_SENSE 0 and SWP 0; of unknown fate, they are unknown.
 */
static void ms_reset_sent(struct runner *r, struct pend *p, int li)
{
	struct lun_st *l = &r->luns[li];

	if (l->ms_inflight == 0 && l->ms_known)
		p->ms_reset_exact |= 1u << li;
	p->ms_reset_luns |= 1u << li;
	l->ms_inflight++;
	p->ms_reset_issued[li] = ++l->ms_issued;
	cmds_ms_reset_sent(l);
}

static void ms_reset_done(struct runner *r, struct pend *p, bool complete,
			  bool nothing)
{
	for (int li = 0; li < r->nluns; li++) {
		struct lun_st *l = &r->luns[li];

		if (!(p->ms_reset_luns >> li & 1))
			continue;
		l->ms_inflight--;
		if (nothing)
			continue; /* never performed */
		if (!complete || !(p->ms_reset_exact >> li & 1) ||
		    l->ms_issued != p->ms_reset_issued[li] || !l->ms_known) {
			l->ms_known = false;
			continue;
		}
		l->ms_wce = !l->wc_off_cfg;
		l->ms_dsense = false;
		l->ms_swp = false;
		cmds_ms_reset_done(l);
	}
	p->ms_reset_luns = 0;
}

/* A reset sent to a LUN that is gone may find it back (a LUN added
 * again while the TMF travels): removed LUNs count too. */
static bool tmf_resets(const struct pend *p, const struct lun_st *l)
{
	/* a session resets only the LUs it sees (its LUN set, ACLs) */
	if (!acl_sees(p->r, p->a, l))
		return false;
	return tmf_target_reset(p->tmf_fn) ||
	       (p->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET && l->lun == p->lun);
}

void ua_tmf_sent(struct runner *r, struct pend *p)
{
	p->ua_cause = ++r->ua_cause_seq;
	p->ua_luns = 0;
	p->ua_removed = 0;
	p->ms_reset_luns = p->ms_reset_exact = 0;
	for (int li = 0; li < r->nluns; li++) {
		if (!tmf_resets(p, &r->luns[li]))
			continue;
		p->ua_luns |= 1u << li;
		if (r->luns[li].removed)
			p->ua_removed |= 1u << li;
		ms_reset_sent(r, p, li);
		for (int i = 0; i < r->nactors; i++) {
			struct actor *x = &r->actors[i];
			struct ua_nexus *nx = &x->ua[li];
			unsigned int n = nx->n;

			ua_reset_sent(nx, p->ua_cause, p->ua_issue);
			if (nx->n > n && p->ua_issue < x->ua_born)
				nx->rec[nx->n - 1].fade = p->ua_issue;
		}
	}
}

static void tmf_done(struct runner *r, struct pend *p, const struct ini_op *op,
		     uint64_t now)
{
	bool complete = op->outcome == INI_DONE &&
			op->response == ISCSI_TMF_RSP_COMPLETE;
	bool nothing = op->outcome == INI_NOT_SENT ||
		       op->outcome == INI_REJECTED ||
		       (op->outcome == INI_DONE && !complete);

	ms_reset_done(r, p, complete, nothing);
	if (p->ua_cause == 0)
		return;
	for (int li = 0; li < r->nluns; li++)
		for (int i = 0; i < r->nactors && (p->ua_luns >> li & 1); i++) {
			struct ua_nexus *nx = &r->actors[i].ua[li];

			/* A target reset finds a LUN removed when it was
			 * sent only if it was added again meanwhile: its
			 * condition there stays uncertain. */
			if (complete &&
			    p->tmf_fn != ISCSI_TMF_LOGICAL_UNIT_RESET &&
			    (p->ua_removed >> li & 1))
				continue;
			if (complete)
				ua_reset_done(nx, p->ua_cause, p->ua_issue,
					      now);
			else if (nothing)
				ua_cancel(nx, p->ua_cause);
		}
}

/* ------------------------------------------------------ the hook */

void ua_on_done(struct runner *r, struct pend *p, struct ini_op *op)
{
	uint64_t now = ua_tick(r);
	int li;

	switch (p->kind) {
	case PK_LOGIN:
		if (op->outcome == INI_DONE && op->login_status == 0 &&
		    strncmp(p->verb, "discovery", 9) != 0) {
			p->a->ua_born = now;
			for (int i = 0; i < r->nluns; i++) {
				ua_new_nexus(&p->a->ua[i], p->ua_issue, now);
				p->a->ua_owe[i].on = false;
			}
		}
		return;
	case PK_TMF:
		tmf_done(r, p, op, now);
		return;
	default:
		break;
	}
	if (op->kind != INI_OP_SCSI)
		return;
	/* One dropped unanswered may still arrive: it stays counted. */
	if (p->ms_orphan && op->outcome != INI_DROPPED) {
		p->ms_orphan = false;
		r->ms_orphans--;
	}
	li = lun_index(r, p->lun);
	if (li < 0 || p->acl_hidden) /* no nexus to that LU (ACLs) */
		return;
	judge_scsi(r, p, op, li, now);
	if (p->ua_ms)
		ms_done(r, p, op, li, now);
	/* This one is done: what waited for it can be judged now. */
	p->done = true;
	recheck_owed(r, p->a, li);
	ua_gc(&p->a->ua[li], oldest_outstanding(r, p->a, li, now));
}

/* ----------------------------------------------- persistent reservations */

/* A PR OUT was sent: from now every other nexus of the LU may be told
 * of any reservation condition (its answer may come after theirs). */
void ua_pr_sent(struct runner *r, struct pend *p)
{
	int li = lun_index(r, p->lun);

	if (li < 0)
		return;
	p->ua_cause = ++r->ua_cause_seq;
	for (int i = 0; i < r->nactors; i++) {
		if (&r->actors[i] == p->a)
			continue;
		ua_give(&r->actors[i], li, UA_K_RESV_PREEMPTED, p->ua_cause,
			p->ua_issue, UA_NEVER);
		ua_give(&r->actors[i], li, UA_K_RESV_RELEASED, p->ua_cause,
			p->ua_issue, UA_NEVER);
		ua_give(&r->actors[i], li, UA_K_REG_PREEMPTED, p->ua_cause,
			p->ua_issue, UA_NEVER);
	}
}

/* A PR OUT that the PR oracle applied exactly: the conditions it made
 * are certain from now, the others it might have made never were. */
void ua_pr_effects(struct runner *r, struct pend *p, const struct prm_ua *u)
{
	int li = lun_index(r, p->lun);
	uint64_t now = ua_tick(r);
	static const int map[3] = {UA_K_RESV_PREEMPTED, UA_K_RESV_RELEASED,
				   UA_K_REG_PREEMPTED};

	if (li < 0 || p->ua_cause == 0)
		return;
	for (int i = 0; i < r->nactors; i++) {
		uint32_t keep = 0;

		for (int b = 0; b < 3 && u && i < PR_MODEL_ACTORS; b++)
			if (u->kinds[i] & (1u << b))
				keep |= 1u << map[b];
		ua_settle(&r->actors[i].ua[li], p->ua_cause, keep, now);
	}
}

/* A PR OUT whose effect is not known exactly: what ua_pr_sent allowed
 * stays allowed, and nothing is certain. */
void ua_pr_unknown(struct runner *r, struct pend *p)
{
	(void)r;
	(void)p;
}

/* ------------------------------------------------ control steps */

/*
 * Live reconfiguration (scenario.c): a step's conditions may come from
 * its start (the target may apply the change before the step's answer)
 * and are certain from its end.  REPORTED LUNS DATA HAS CHANGED on the
 * LUNs a session keeps, CAPACITY DATA HAS CHANGED on every nexus of a
 * resized LU (SPC-4 §5.14, lu_live.c), and a LUN a session gains is a
 * new nexus with its POWER ON, RESET condition.
 */
void ua_step_begin(struct runner *r)
{
	r->ua_step_cause = ++r->ua_cause_seq;
	r->ua_step_from = ua_tick(r);
}

void ua_expect_index(struct runner *r, int li, uint8_t what)
{
	for (int i = 0; i < r->nactors; i++)
		for (int k = 0; k < UA_K_COUNT; k++)
			if (what & (1u << k))
				ua_give(&r->actors[i], li, k, r->ua_step_cause,
					r->ua_step_from, UA_NEVER);
}

void ua_expect(struct runner *r, uint32_t lun, uint8_t what)
{
	for (int li = 0; li < r->nluns; li++)
		if (r->luns[li].lun == lun && !r->luns[li].removed)
			ua_expect_index(r, li, what);
}

/* The step is done; its conditions are certain from now, unless a reset
 * raced with it (owed false: they may have been replaced). */
void ua_step_end(struct runner *r, bool owed)
{
	uint64_t now = ua_tick(r);

	for (int i = 0; i < r->nactors && owed; i++)
		for (int li = 0; li < MAX_LUNS; li++)
			ua_confirm(&r->actors[i].ua[li], r->ua_step_cause, now);
}

void ua_step_failed(struct runner *r)
{
	for (int i = 0; i < r->nactors; i++)
		for (int li = 0; li < MAX_LUNS; li++)
			ua_cancel(&r->actors[i].ua[li], r->ua_step_cause);
}

/* A `target lun remove` of `lun` begins: its nexuses may go at any
 * instant of the step (one session after another, each on its own
 * reactor), so a command answered during it may have run after its
 * nexus went and been told of nothing: a REQUEST SENSE held in the task
 * set behind a HEAD OF QUEUE write answered NO SENSE (explore seed
 * 121602149944).  Their conditions may be cleared from the step's
 * start; ua_forget_lun ends them at its end. */
void ua_lun_going(struct runner *r, uint32_t lun)
{
	for (int li = 0; li < r->nluns; li++) {
		if (r->luns[li].lun != lun)
			continue;
		for (int i = 0; i < r->nactors; i++) {
			struct ua_nexus *nx = &r->actors[i].ua[li];

			for (unsigned int k = 0; k < nx->n; k++)
				if (nx->rec[k].fade > r->ua_step_from)
					nx->rec[k].fade = r->ua_step_from;
		}
	}
}

/* A LUN went: its nexuses with it (commands sent before may still have
 * been told of their conditions). */
void ua_forget_lun(struct runner *r, uint32_t lun)
{
	uint64_t now = ua_tick(r);

	for (int li = 0; li < r->nluns; li++)
		if (r->luns[li].lun == lun)
			for (int i = 0; i < r->nactors; i++) {
				ua_gone(&r->actors[i].ua[li], now);
				r->actors[i].ua_owe[li].on = false;
			}
}

/* A control step changes one actor's LUN set (initiator groups): li
 * gets the conditions of `what`, for that actor only. */
void ua_expect_actor(struct runner *r, struct actor *a, int li, uint8_t what)
{
	for (int k = 0; k < UA_K_COUNT; k++)
		if (what & (1u << k))
			ua_give(a, li, k, r->ua_step_cause, r->ua_step_from,
				UA_NEVER);
}

/* ... and the actor's nexus to li went at the step (unmapped, or
 * mapped again read-only or writable: a new nexus, whose POWER ON,
 * RESET is the step's own record): commands sent from now are told of
 * none of the old nexus's conditions. */
void ua_nexus_replaced(struct runner *r, struct actor *a, int li)
{
	uint64_t now = ua_tick(r);
	struct ua_nexus *nx = &a->ua[li];

	for (unsigned int i = 0; i < nx->n; i++)
		if (nx->rec[i].cause != r->ua_step_cause &&
		    nx->rec[i].dead > now)
			nx->rec[i].dead = now;
	nx->lenient = 0;
	a->ua_owe[li].on = false;
}

/* A control step begins that replaces every nexus to li with a new one
 * (`target device DISK set`: the LU opened again): the old nexuses go
 * at some instant of the step, so their conditions may be cleared from
 * its start (as ua_lun_going) and none of them is still queued when the
 * new nexus's POWER ON, RESET comes: that one is the step's own, not
 * absorbed by an equal one of the old nexus (explore seed 379 of round
 * devattr21: a login's 29h still pending).  ua_nexus_replaced ends them
 * at the step's end. */
void ua_nexus_replacing(struct runner *r, int li)
{
	for (int i = 0; i < r->nactors; i++) {
		struct ua_nexus *nx = &r->actors[i].ua[li];

		r->actors[i].ua_told_reset_at[li] =
			r->actors[i].ua_told_reset[li];
		for (unsigned int k = 0; k < nx->n; k++) {
			if (nx->rec[k].fade > r->ua_step_from)
				nx->rec[k].fade = r->ua_step_from;
			if (nx->rec[k].dead == UA_NEVER)
				nx->rec[k].dead = UA_NEVER - 1;
		}
	}
}

/* ... and the step's end: the actor's nexus to li is the new one,
 * whose POWER ON, RESET is the step's.  Where the old nexus's records
 * filled the nexus when the step began (a PR seed's conditions), the
 * step's record found no room: it is given now, in the room the old
 * ones leave once no command still running can be told of them, else
 * the kind stays lenient (ua_nexus_replaced cleared that; explore seeds
 * 258 and 299 of round devattr21). */
void ua_nexus_new(struct runner *r, struct actor *a, int li)
{
	struct ua_nexus *nx = &a->ua[li];
	uint64_t now = ua_tick(r), oldest = oldest_outstanding(r, a, li, now);
	uint32_t lenient = nx->lenient;

	ua_nexus_replaced(r, a, li);
	/* Kinds the old nexus had more of than its records hold stay so
	 * while a command sent to it runs: it may still be told of one
	 * (explore seed 258 of round devattr21: REPORTED LUNS DATA HAS
	 * CHANGED of an earlier step, told to a READ held by a partition
	 * across this one). */
	if (oldest < now)
		nx->lenient = lenient;
	for (unsigned int i = 0; i < nx->n; i++) {
		if (nx->rec[i].cause != r->ua_step_cause ||
		    nx->rec[i].kind != UA_K_RESET)
			continue;
		/* A command answered during the step was told of a 29h:
		 * the old nexus's, or already the new one's (the session
		 * took the new LU before the step ended; the record it
		 * consumed is the older): the new one's may be gone,
		 * never owed (explore seed 299 of round devattr21). */
		if (a->ua_told_reset[li] != a->ua_told_reset_at[li])
			nx->rec[i].cause = 0;
		return;
	}
	/* None: it found no room, or was reported during the step (then
	 * it may be the old nexus's that was: the new one's may still
	 * come, never owed; explore seed 1844 of round devattr21) */
	ua_gc(nx, oldest);
	if (nx->n < UA_MAX_RECS)
		ua_give(a, li, UA_K_RESET,
			a->ua_told_reset[li] != a->ua_told_reset_at[li]
				? 0
				: r->ua_step_cause,
			r->ua_step_from, UA_NEVER);
	else
		nx->lenient |= 1u << UA_K_RESET;
}

/* A LUN came back (`target lun add` of a removed one): a reset sent to
 * it before it went and still unanswered may reach the new LU instead
 * (the target takes the TMF only when it arrives): its 29h may come,
 * replacing what the new nexuses have queued. */
void ua_lun_back(struct runner *r, int li)
{
	uint64_t now = ua_tick(r);
	struct pend *p;

	TAILQ_FOREACH (p, &r->pends, link) {
		if (p->done || p->kind != PK_TMF || p->ua_cause == 0 ||
		    !tmf_resets(p, &r->luns[li]))
			continue;
		for (int i = 0; i < r->nactors; i++)
			ua_reset_sent(&r->actors[i].ua[li], 0, now);
	}
}

/* A `target lun add` of `lun` (model index li) begins.  A MODE SELECT
 * sent while the LUN had no LU, still unanswered, may reach the LU it
 * adds and change its mode parameters; so may one sent to an LU a
 * `target lun remove` took away since (the target takes it only when
 * it arrives: explore seed 712972342562): the others may be told MODE
 * PARAMETERS CHANGED (left maybe: its effect stays unknown).  The LU
 * may be there from the step's start (a session gains it before the
 * step ends, and commands answered meanwhile are judged at li,
 * lun_index), so the records are given now, from the step's start:
 * given at its end, a command answered during the step that was told
 * of it found none (explore seed 587876270644). */
void ua_lun_adding(struct runner *r, int li, uint32_t lun)
{
	struct pend *p;

	TAILQ_FOREACH (p, &r->pends, link) {
		if (p->done || (!p->ms_orphan && !p->ua_ms) || p->lun != lun)
			continue;
		for (int i = 0; i < r->nactors; i++)
			if (&r->actors[i] != p->a)
				ua_give(&r->actors[i], li, UA_K_MODE,
					p->ua_cause,
					p->ua_issue > r->ua_step_from
						? p->ua_issue
						: r->ua_step_from,
					UA_NEVER);
	}
}

/* ... and it failed: no LU came, the nexuses it would have made never
 * were; nothing queued at li is told from now (a later add gives again
 * what may still reach its LU: ua_lun_adding, ua_lun_back). */
void ua_lun_add_failed(struct runner *r, int li)
{
	uint64_t now = ua_tick(r);

	for (int i = 0; i < r->nactors; i++) {
		ua_gone(&r->actors[i].ua[li], now);
		r->actors[i].ua_owe[li].on = false;
	}
}

/* The target crashed: every nexus is gone. */
void ua_crash(struct runner *r)
{
	for (int i = 0; i < r->nactors; i++)
		for (int li = 0; li < MAX_LUNS; li++) {
			ua_clear(&r->actors[i].ua[li]);
			r->actors[i].ua_owe[li].on = false;
		}
	ua_mode_reset(r);
}
