/*
 * scenario_medium.c — the removable medium oracle: a `lun ... removable`
 * LU has a medium that START STOP UNIT with LOEJ=1 ejects (START=0) or
 * loads (START=1), and PREVENT ALLOW MEDIUM REMOVAL with PREVENT=01b
 * locks it for everyone.  Written from the standards:
 *
 *   - SBC-4 §5.14 (PREVENT ALLOW MEDIUM REMOVAL): removal is prevented
 *     while any I_T nexus prevents it; the prevention of a nexus ends
 *     when it allows again, with the nexus (logout, session
 *     reinstatement, a connection lost at ERL0), with a logical unit
 *     reset (a LOGICAL UNIT RESET or TARGET RESET, SPC-4 §6.13, SAM-5
 *     §6.3) and at power on;
 *   - SBC-4 §5.25 (START STOP UNIT): LOEJ=1 with POWER CONDITION 0
 *     ejects or loads; while removal is prevented it is refused with
 *     ILLEGAL REQUEST, MEDIUM REMOVAL PREVENTED (05/53/02) and changes
 *     nothing (the target refuses a load as well: target/scsi/sbc_unit.c);
 *   - SPC-4 §4.5 / SBC-4 §4.2: without a medium, a command that
 *     accesses it ends with NOT READY, MEDIUM NOT PRESENT (02/3A/00);
 *     with the medium loaded it never does;
 *   - on a LU that is not removable these commands are accepted and
 *     change nothing: a LOEJ is never refused, the medium never absent.
 *
 * What the runner knows: for each LU, the actors whose current nexus
 * certainly prevents (pv_set), or that someone may (pv_unknown: a
 * PREVENT of unknown fate or racing with a reset, a nexus lost while it
 * prevented and the target perhaps not yet aware); the medium loaded,
 * ejected or unknown (a START STOP of unknown fate, two at once).  An
 * answer is judged only when nothing that may change what it depends on
 * happened between its send and its answer (the runner-wide epochs
 * r->pv_epoch and r->med_epoch), no reset of its LU was in flight or of
 * unknown fate, and the state was known: otherwise it is let pass.
 */
#include <string.h>

#include "scenario_int.h"
#include "scsi/scsi.h"

enum { MED_NONE, MED_PREVENT, MED_LOEJ, MED_ACCESS };

/* What the command is to this oracle. */
static int med_class(const struct pend *p, const struct ini_op *op)
{
	if (op->cdb[0] == 0x1e && p->kind == PK_SPC)
		return MED_PREVENT;
	/* LOEJ=1, POWER CONDITION 0 (otherwise START and LOEJ are
	 * ignored, SBC-4 §5.25) */
	if (op->cdb[0] == 0x1b && p->kind == PK_SPC &&
	    (op->cdb[4] & 0xf2) == 0x02)
		return MED_LOEJ;
	/* commands that access the medium: READ, WRITE, VERIFY, PRE-FETCH,
	 * SYNCHRONIZE CACHE, TEST UNIT READY, READ CAPACITY(10) */
	if (pk_reads_medium(p->kind) || p->kind == PK_WRITE ||
	    p->kind == PK_SYNC || op->cdb[0] == 0x00 || op->cdb[0] == 0x25)
		return MED_ACCESS;
	return MED_NONE;
}

static bool resets_open(struct runner *r, struct lun_st *l)
{
	return l->resets_inflight > 0 || limbo_pending(r, &l->resets_limbo);
}

/* a's preventing nexus went: gone when the target notices, perhaps not
 * yet; known gone at a's next login to the same target port. */
static void pv_lose(struct runner *r, struct lun_st *l, struct actor *a)
{
	l->pv_set &= ~(1u << a->idx);
	l->pv_lost |= 1u << a->idx;
	snprintf(a->pv_tgt, sizeof(a->pv_tgt), "%s", a->sess_tgt);
	a->pv_tpgt = a->sess_tpgt;
	memcpy(a->pv_isid, a->sess_isid, 6);
	r->pv_epoch++;
}

/* The target may have closed the connection of a nexus that prevents
 * (a NOP-In timeout, `target session close`) before its initiator
 * knows: from then its prevention may be gone. */
static void pv_note_nexus_loss(struct runner *r)
{
	for (int li = 0; li < r->nluns; li++) {
		struct lun_st *l = &r->luns[li];

		for (int i = 0; i < r->nactors && l->pv_set != 0; i++) {
			struct env_conn *c;

			if (!(l->pv_set & (1u << i)))
				continue;
			c = ini_conn(r->actors[i].ini);
			if (c == NULL || !sim_conn_peer_open(c))
				pv_lose(r, l, &r->actors[i]);
		}
	}
}

void med_nexus_loss(struct runner *r, struct actor *a)
{
	for (int li = 0; li < r->nluns; li++) {
		struct lun_st *l = &r->luns[li];

		if (l->pv_set & (1u << a->idx))
			pv_lose(r, l, a);
	}
}

/* a logged in (a normal session, its answer just in; a->tgt and
 * a->tpgt are this login's): a session of a's with the same ISID at the
 * same target port has ended before this login completed (reinstated,
 * or ended before: RFC 7143 §6.3.5, target/iscsi/registry.c
 * srv_reinstate), and its prevention with it (SBC-4 §5.14, SPC-4
 * §6.13). */
void med_login_done(struct runner *r, struct actor *a)
{
	for (int li = 0; li < r->nluns; li++) {
		struct lun_st *l = &r->luns[li];

		if ((l->pv_lost & (1u << a->idx)) &&
		    strcmp(a->pv_tgt, a->tgt) == 0 && a->pv_tpgt == a->tpgt &&
		    memcmp(a->pv_isid, ini_isid(a->ini), 6) == 0) {
			l->pv_lost &= ~(1u << a->idx);
			r->pv_epoch++;
		}
	}
	snprintf(a->sess_tgt, sizeof(a->sess_tgt), "%s", a->tgt);
	a->sess_tpgt = a->tpgt;
	memcpy(a->sess_isid, ini_isid(a->ini), 6);
}

void med_power_on(struct runner *r, struct lun_st *l)
{
	l->pv_set = 0;
	l->pv_lost = 0;
	/* a PREVENT or START STOP still in flight may reach the new LU (one
	 * sent while a LUN was away, arriving after `target lun add`) */
	l->pv_unknown = l->pv_inflight > 0 || l->pv_limbo != 0;
	l->med = l->med_inflight > 0 || l->med_limbo != 0 ? -1 : 1;
	r->pv_epoch++;
	r->med_epoch++;
}

/* A control step (a LUN removed or added, a group change) ran during
 * p's life: the LU or nexus it reached may not be the one it was sent
 * to. */
static bool step_crossed(const struct runner *r, const struct pend *p)
{
	return r->ctl_running || p->ctl_started != r->ctl_started ||
	       p->ctl_seq != r->ctl_seq;
}

void med_lun_gone(struct runner *r, struct lun_st *l)
{
	/* its nexuses went with it; one racing PREVENT may reach a nexus
	 * of the LU made before the step ended: unknown then */
	l->pv_set = 0;
	l->pv_lost = 0;
	l->pv_unknown = l->pv_inflight > 0 || l->pv_limbo != 0;
	r->pv_epoch++;
}

void med_reset_sent(struct runner *r, struct pend *p)
{
	r->pv_epoch++;
	p->pv_epoch = r->pv_epoch;
}

/* A reset of l answered FUNCTION COMPLETE: every nexus's prevention is
 * gone, unless a PREVENT ran alongside it (it may have come after), or
 * one of unknown fate or another reset may still arrive. */
void med_reset_done(struct runner *r, struct pend *p, struct lun_st *l)
{
	bool raced = p->pv_epoch != r->pv_epoch || l->pv_inflight > 0 ||
		     limbo_pending(r, &l->pv_limbo);

	l->pv_set = 0;
	l->pv_lost = 0;
	l->pv_unknown = raced;
	r->pv_epoch++;
}

/* A reset of l ended unanswered: it may still clear every prevention. */
void med_reset_lost(struct runner *r, struct lun_st *l)
{
	if (l->pv_set != 0) {
		l->pv_set = 0;
		l->pv_unknown = true;
	}
	r->pv_epoch++;
}

void med_sent(struct runner *r, struct pend *p, const struct ini_op *op)
{
	struct lun_st *l = p->ls;

	p->med_class = l ? med_class(p, op) : MED_NONE;
	if (p->med_class == MED_PREVENT) {
		l->pv_inflight++;
		r->pv_epoch++;
	} else if (p->med_class == MED_LOEJ) {
		l->med_inflight++;
		r->med_epoch++;
	}
	p->pv_epoch = r->pv_epoch;
	p->med_epoch = r->med_epoch;
	p->med_known = l && l->med >= 0 && l->med_inflight == 0 &&
		       !limbo_pending(r, &l->med_limbo);
	p->med_at = l ? l->med : -1;
}

static void sense_of(const struct ini_op *op, int *sk, int *asc, int *ascq)
{
	*sk = *asc = *ascq = -1;
	if (op->outcome == INI_DONE && op->response == 0 &&
	    op->status == SCSI_STATUS_CHECK_CONDITION)
		sense_parse(op, sk, asc, ascq);
}

static void judge_prevent(struct runner *r, struct pend *p,
			  const struct ini_op *op)
{
	struct lun_st *l = p->ls;
	uint32_t bit = 1u << p->a->idx;
	bool isolated = p->pv_epoch == r->pv_epoch && !resets_open(r, l) &&
			!step_crossed(r, p);

	l->pv_inflight--;
	if (op->outcome == INI_DROPPED)
		l->pv_limbo |= bit;
	/* PREVENT 10b and 11b are a medium changer's (SBC-4 §5.14): a
	 * disk answers them INVALID FIELD IN CDB, never GOOD, removable or
	 * not (mutant 606 took 10b as ALLOW).  Round of blind20. */
	if ((op->cdb[4] & 0x03) > 1 && scsi_good(op))
		failf(r, p->line,
		      "oracle: %s's PREVENT ALLOW MEDIUM REMOVAL with PREVENT "
		      "%u%ub on lun %u was answered GOOD; SBC-4 §5.14 gives "
		      "those values to medium changers: INVALID FIELD IN CDB "
		      "(seed %llu)",
		      p->a->name, op->cdb[4] >> 1 & 1, op->cdb[4] & 1, l->lun,
		      (unsigned long long)r->seed);
	if (!l->removable || (op->cdb[4] & 0x03) > 1)
		goto out;
	if (scsi_good(op)) {
		if (p->sess != p->a->sess) {
			/* its nexus went meanwhile */
			l->pv_unknown = l->pv_unknown || (op->cdb[4] & 1);
		} else {
			if (op->cdb[4] & 1)
				l->pv_set |= bit;
			else
				l->pv_set &= ~bit;
			if (!isolated)
				l->pv_unknown = true;
		}
	} else if (sense_unknown_fate(op) || op->outcome != INI_DONE) {
		l->pv_set &= ~bit;
		l->pv_unknown = true;
	}
out:
	r->pv_epoch++;
}

static void judge_loej(struct runner *r, struct pend *p,
		       const struct ini_op *op)
{
	struct lun_st *l = p->ls;
	bool start = op->cdb[4] & 0x01;
	bool refused, judged, med_alone;
	int sk, asc, ascq;
	char who[128] = "";

	l->med_inflight--;
	if (op->outcome == INI_DROPPED)
		l->med_limbo |= 1u << p->a->idx;
	sense_of(op, &sk, &asc, &ascq);
	refused = sk == SK_ILLEGAL_REQUEST && asc == 0x53 && ascq == 0x02;
	judged = !r->failed && !r->against && !step_crossed(r, p) &&
		 p->pv_epoch == r->pv_epoch && !resets_open(r, l) &&
		 !limbo_pending(r, &l->pv_limbo) && !l->pv_unknown &&
		 l->pv_lost == 0 && l->pv_inflight == 0;
	med_alone = !step_crossed(r, p) && p->med_epoch == r->med_epoch &&
		    l->med_inflight == 0 && !limbo_pending(r, &l->med_limbo);
	r->med_epoch++;
	if (!l->removable) {
		/* removable is the LU's now: one re-added without it may
		 * answer a command sent to the removable one before */
		if (refused && !r->failed && !r->against && !step_crossed(r, p))
			failf(r, p->line,
			      "oracle: medium: %s's START STOP UNIT LOEJ on "
			      "lun %u, which is not removable, got MEDIUM "
			      "REMOVAL PREVENTED: there is no medium to "
			      "keep (SBC-4 §5.14) (seed %llu)",
			      p->a->name, l->lun, (unsigned long long)r->seed);
		return;
	}
	for (int i = 0; i < r->nactors; i++)
		if (l->pv_set & (1u << i))
			snprintf(who + strlen(who), sizeof(who) - strlen(who),
				 "%s%s", who[0] ? ", " : "", r->actors[i].name);
	if (judged && scsi_good(op) && l->pv_set != 0) {
		failf(r, p->line,
		      "oracle: medium: %s's START STOP UNIT LOEJ %s on lun "
		      "%u completed GOOD, but %s prevents medium removal: "
		      "it must be refused with ILLEGAL REQUEST, MEDIUM "
		      "REMOVAL PREVENTED (05/53/02) (SBC-4 §5.14: while any "
		      "I_T nexus prevents it) (seed %llu)",
		      p->a->name, start ? "load" : "eject", l->lun, who,
		      (unsigned long long)r->seed);
		return;
	}
	if (judged && refused && l->pv_set == 0) {
		failf(r, p->line,
		      "oracle: medium: %s's START STOP UNIT LOEJ %s on lun "
		      "%u was refused with MEDIUM REMOVAL PREVENTED, but no "
		      "I_T nexus prevents removal (none did, or its "
		      "prevention ended: ALLOW, nexus loss, LOGICAL UNIT "
		      "RESET or TARGET RESET, SPC-4 §6.13) (seed %llu)",
		      p->a->name, start ? "load" : "eject", l->lun,
		      (unsigned long long)r->seed);
		return;
	}
	if (scsi_good(op))
		l->med = med_alone ? start : -1;
	else if (!refused &&
		 (sense_unknown_fate(op) || op->outcome != INI_DONE))
		l->med = -1;
}

static void judge_access(struct runner *r, struct pend *p,
			 const struct ini_op *op)
{
	struct lun_st *l = p->ls;
	int sk, asc, ascq;
	bool absent;

	if (r->failed || r->against)
		return;
	sense_of(op, &sk, &asc, &ascq);
	absent = sk == SK_NOT_READY && asc == 0x3a && ascq == 0x00;
	if (absent && !l->removable && !step_crossed(r, p)) {
		failf(r, p->line,
		      "oracle: medium: %s's %s on lun %u got NOT READY, "
		      "MEDIUM NOT PRESENT, but the LU is not removable: its "
		      "medium never goes (seed %llu)",
		      p->a->name, p->verb, l->lun, (unsigned long long)r->seed);
		return;
	}
	/* the medium stayed as it was for the command's whole life */
	if (!l->removable || !p->med_known || step_crossed(r, p) ||
	    p->med_epoch != r->med_epoch || l->med_inflight > 0 ||
	    limbo_pending(r, &l->med_limbo) || l->med != p->med_at)
		return;
	if (absent && l->med == 1)
		failf(r, p->line,
		      "oracle: medium: %s's %s on lun %u got NOT READY, "
		      "MEDIUM NOT PRESENT, but the medium is loaded (seed "
		      "%llu)",
		      p->a->name, p->verb, l->lun, (unsigned long long)r->seed);
	else if (scsi_good(op) && l->med == 0)
		failf(r, p->line,
		      "oracle: medium: %s's %s on lun %u completed GOOD, but "
		      "the medium was ejected: NOT READY, MEDIUM NOT PRESENT "
		      "(02/3A/00) expected (seed %llu)",
		      p->a->name, p->verb, l->lun, (unsigned long long)r->seed);
}

void med_oracle(struct runner *r, struct pend *p, struct ini_op *op)
{
	if (p->ls == NULL)
		return;
	pv_note_nexus_loss(r);
	switch (p->med_class) {
	case MED_PREVENT:
		judge_prevent(r, p, op);
		break;
	case MED_LOEJ:
		judge_loej(r, p, op);
		break;
	case MED_ACCESS:
		judge_access(r, p, op);
		break;
	default:
		break;
	}
}
