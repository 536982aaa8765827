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
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scsi/scsi.h"
#include "sense.h"
#include "ut_assert.h"
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

/* The actor a registration belongs to: the first actor of that initiator
 * name and ISID (two actors may share both, in an imported capture). */
static int pr_actor_of(const struct runner *r, const char *name,
		       const uint8_t *isid)
{
	for (int i = 0; i < r->nactors; i++)
		if (strcasecmp(ini_iqn(r->actors[i].ini), name) == 0 &&
		    memcmp(ini_isid(r->actors[i].ini), isid, 6) == 0)
			return i;
	return -1;
}

/*
 * The target ports the PR model knows: one target, whose port in each
 * portal group is one target port (SPC-4 §4.3.5 as config.h
 * ut_config_ports has it), numbered with the smallest RELATIVE TARGET
 * PORT IDENTIFIERs in the order of the portal groups, ascending (no
 * scenario gives one).  With `target add` the other targets' ports come
 * after; their nexuses are not modelled (pr_one_target).
 */
static int pr_tpgts(const struct runner *r, uint16_t *t)
{
	int n = 0;

	for (int i = 0; i < r->nportals; i++) {
		int j = n;

		for (int k = 0; k < n; k++)
			if (t[k] == r->portal_tpgts[i])
				j = -1;
		if (j < 0)
			continue;
		while (j > 0 && t[j - 1] > r->portal_tpgts[i]) {
			t[j] = t[j - 1];
			j--;
		}
		t[j] = r->portal_tpgts[i];
		n++;
	}
	if (n == 0)
		t[n++] = 1;
	return n;
}

bool pr_one_target(const struct runner *r)
{
	return r->nextra == 0;
}

uint16_t pr_rtp_of(const struct runner *r, uint16_t tpgt)
{
	uint16_t t[MAX_PORTALS];
	int n = pr_tpgts(r, t);

	for (int k = 0; k < n; k++)
		if (t[k] == tpgt)
			return (uint16_t)(k + 1);
	return 1;
}

/* Tell the model the target's ports and each actor's I_T nexus (its
 * initiator port, its last login's portal group), before it judges. */
static void pr_topology(const struct runner *r, struct pr_model *m)
{
	uint16_t t[MAX_PORTALS], rtps[MAX_PORTALS];
	int n = pr_tpgts(r, t);

	for (int k = 0; k < n; k++)
		rtps[k] = (uint16_t)(k + 1);
	prm_set_ports(m, rtps, n);
	for (int i = 0; i < r->nactors && i < PR_MODEL_ACTORS; i++) {
		const struct actor *a = &r->actors[i];
		int who = pr_actor_of(r, ini_iqn(a->ini), ini_isid(a->ini));
		uint16_t tpgt = a->tpgt ? a->tpgt
					: alua_portal_tpgt(r, r->portal);

		prm_set_nexus(m, i, who < 0 ? i : who, pr_rtp_of(r, tpgt));
	}
}

static const char *prm_result_name(enum prm_result x)
{
	return x == PRM_GOOD	   ? "GOOD"
	       : x == PRM_CONFLICT ? "RESERVATION CONFLICT"
				   : "ILLEGAL REQUEST";
}

static const char *const pro_names[] = {
	"pr-register",	      "pr-reserve",	 "pr-release",
	"pr-clear",	      "pr-preempt",	 "pr-preempt-abort",
	"pr-register-ignore", "pr-register-move"};

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

/* ------------------------------------------------------ PRgeneration */

/*
 * SPC-4 §6.16.2: PRgeneration is incremented by every PERSISTENT RESERVE
 * OUT with REGISTER, REGISTER AND IGNORE EXISTING KEY, CLEAR, PREEMPT or
 * PREEMPT AND ABORT, not by RESERVE or RELEASE, nor by one that ends in
 * an error or RESERVATION CONFLICT.  Two cases the standard leaves open
 * count as "maybe": a REGISTER by an unregistered nexus with SARK 0
 * (GOOD and changes nothing; utarget does not count it) and REGISTER AND
 * MOVE (not in the list; utarget counts it).  The value must lie between
 * what the answers prove and what was sent: a PR IN sees at least the
 * counting PR OUTs answered GOOD before it was sent and at most every
 * counting PR OUT sent before its answer that was not refused.
 */
static bool pr_counting_sa(uint8_t sa)
{
	return sa != PRM_RESERVE && sa != PRM_RELEASE;
}

void pr_gen_sent(struct lun_st *l, struct pend *p)
{
	if (p->kind == PK_PRIN_KEYS || p->kind == PK_PRIN_RESV ||
	    p->kind == PK_PRIN_FULL) {
		p->pr_gen_lo = l->pr_gen_lo;
		p->pr_gen_reopens = l->pr_gen_reopens;
	}
	if (p->kind != PK_PROUT || !pr_counting_sa(p->pro.sa))
		return;
	p->pr_gen_counts = true;
	l->pr_gen_hi++;
	l->pr_gen_open++;
}

/* SPC-4 §6.16.2: a power on sets PRgeneration to 0 "regardless of the
 * APTPL bit".  Both bounds start again from 0; the upper one keeps room
 * for the counting PR OUTs still unanswered, whose answers (lost or
 * refused) take it down again, though none of them can count any more. */
void pr_gen_power_on(struct lun_st *l)
{
	l->pr_gen_lo = 0;
	l->pr_gen_hi = l->pr_gen_open;
}

static void pr_gen_answer(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->ls;
	int me = p->a->idx;

	if (p->kind == PK_PROUT && p->pr_gen_counts) {
		bool sure;

		ut_assert(l->pr_gen_open > 0 && l->pr_gen_hi > l->pr_gen_lo);
		l->pr_gen_open--;
		if (op->outcome == INI_NOT_SENT ||
		    op->outcome == INI_REJECTED) {
			l->pr_gen_hi--; /* never reached the device server */
			return;
		}
		if (sense_unknown_fate(op) || op->outcome != INI_DONE)
			return; /* it may have counted, or not */
		if (!scsi_good(op)) {
			l->pr_gen_hi--; /* refused: "shall not" count */
			return;
		}
		if (p->pro.sa == PRM_REGISTER ||
		    p->pro.sa == PRM_REGISTER_IGNORE)
			/* SARK 0 counts only when it unregisters, known only
			 * when the state was and the order is */
			sure = p->pro.sark != 0 ||
			       (p->pr_alone && l->pr_issued == p->pr_issued &&
				!limbo_pending(r, &l->pr_limbo) &&
				p->pr_known && !l->pr.unknown &&
				!l->spc2_used && l->pr.key[me] != 0);
		else
			sure = p->pro.sa == PRM_CLEAR ||
			       p->pro.sa == PRM_PREEMPT ||
			       p->pro.sa == PRM_PREEMPT_ABORT;
		if (sure)
			l->pr_gen_lo++;
		return;
	}
	if ((p->kind == PK_PRIN_KEYS || p->kind == PK_PRIN_RESV ||
	     p->kind == PK_PRIN_FULL) &&
	    scsi_good(op) && op->in_len >= 4) {
		uint64_t got = get_be32(op->in);

		/* Sent to an LU opened again since (a device's attribute
		 * changed live): answered by the old LU, as it stood then,
		 * or by the new one (explore seed 258 of round devattr21) */
		if (p->pr_gen_reopens != l->pr_gen_reopens) {
			uint64_t hi = p->pr_gen_reopens + 1 == l->pr_gen_reopens
					      ? l->pr_gen_old_hi
					      : UINT64_MAX;

			if ((got < p->pr_gen_lo || got > hi) &&
			    got > l->pr_gen_hi)
				failf(r, p->line,
				      "oracle: %s %s on lun %u returned "
				      "PRgeneration %llu; sent to an LU opened "
				      "again since, SPC-4 §6.16.2 allows "
				      "%llu..%llu of the old one or 0..%llu of "
				      "the new one (seed %llu)",
				      p->a->name, p->verb, l->lun,
				      (unsigned long long)got,
				      (unsigned long long)p->pr_gen_lo,
				      (unsigned long long)hi,
				      (unsigned long long)l->pr_gen_hi,
				      (unsigned long long)r->seed);
			return;
		}
		if (got < p->pr_gen_lo || got > l->pr_gen_hi) {
			failf(r, p->line,
			      "oracle: %s %s on lun %u returned PRgeneration "
			      "%llu; SPC-4 §6.16.2 allows %llu..%llu (one per "
			      "REGISTER, REGISTER AND IGNORE, CLEAR, PREEMPT, "
			      "PREEMPT AND ABORT answered GOOD before it was "
			      "sent; at most one per such command sent before "
			      "its answer) (seed %llu)",
			      p->a->name, p->verb, l->lun,
			      (unsigned long long)got,
			      (unsigned long long)p->pr_gen_lo,
			      (unsigned long long)l->pr_gen_hi,
			      (unsigned long long)r->seed);
			return;
		}
		/* What it saw is a floor from now on, unless a counting PR
		 * OUT still unanswered is in it and will count again. */
		if (l->pr_gen_open == 0 && got > l->pr_gen_lo)
			l->pr_gen_lo = got;
	}
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
/*
 * READ FULL STATUS (SPC-4 §6.15.5) against the model: the registrations
 * are READ KEYS' (one descriptor each, the same keys), and R_HOLDER marks
 * the reservation holder -- every registrant for the All Registrants
 * types -- whose descriptor carries the reservation's TYPE (SCOPE 0,
 * LU_SCOPE); no descriptor has R_HOLDER when there is no reservation.
 * Written as "key:Htype" per descriptor, sorted, against the model's.
 */
static void pr_full_describe(uint64_t *ks, const char **hs, int n, char *buf,
			     size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) /* insertion sort by key, then mark */
		for (int j = i; j > 0 && (ks[j] < ks[j - 1] ||
					  (ks[j] == ks[j - 1] &&
					   strcmp(hs[j], hs[j - 1]) < 0));
		     j--) {
			uint64_t t = ks[j];
			const char *h = hs[j];

			ks[j] = ks[j - 1];
			hs[j] = hs[j - 1];
			ks[j - 1] = t;
			hs[j - 1] = h;
		}
	for (int i = 0; i < n && o + 1 < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%llx%s",
				      i ? "," : "", (unsigned long long)ks[i],
				      hs[i]);
}

/* The actor a descriptor's iSCSI TransportID (SPC-4 §7.6.4.6, format
 * 01b: "name,i,0x" and 12 hex digits) names, or -1. */
static int pr_tid_actor(const struct runner *r, const uint8_t *t,
			uint32_t avail)
{
	char s[260], *sep;
	uint8_t isid[6];
	uint32_t len;

	if (avail < 4 || t[0] != (0x40 | 0x05))
		return -1;
	len = get_be16(t + 2);
	if (len > avail - 4 || len >= sizeof(s) || len == 0)
		return -1;
	memcpy(s, t + 4, len);
	s[len] = '\0';
	sep = strstr(s, ",i,0x");
	if (sep == NULL || strlen(sep + 5) != 12)
		return -1;
	for (int i = 0; i < 6; i++) {
		unsigned int b;

		if (sscanf(sep + 5 + 2 * i, "%2x", &b) != 1)
			return -1;
		isid[i] = (uint8_t)b;
	}
	*sep = '\0';
	return pr_actor_of(r, s, isid);
}

static void pr_full_check(struct runner *r, struct pend *p, struct ini_op *op,
			  struct lun_st *l)
{
	static const char *const holder[16] = {"",     ":H1",  ":H2",  ":H3",
					       ":H4",  ":H5",  ":H6",  ":H7",
					       ":H8",  ":H9",  ":H10", ":H11",
					       ":H12", ":H13", ":H14", ":H15"};
	uint64_t gk[64], wk[64];
	const char *gh[64], *wh[64];
	char got[2048], want[2048], st[512], glab[64][48], wlab[64][48];
	uint32_t len = get_be32(op->in + 4), off = 8;
	int ng = 0, nw = 0;
	bool all = l->pr.type == 7 || l->pr.type == 8;

	while (off + 24 <= 8 + len && off + 24 <= op->in_len && ng < 64) {
		const uint8_t *d = op->in + off;
		bool h = d[12] & 0x01;

		gk[ng] = get_be64(d);
		/* SCOPE (high nibble) must be LU_SCOPE; TYPE only on a holder */
		gh[ng] = h ? holder[(d[13] & 0xf0) ? 0 : (d[13] & 0x0f)]
			   : ((d[13] & 0x0f) ? ":T" : "");
		if (h && (d[13] & 0xf0))
			gh[ng] = ":Hscope";
		{
			int who = pr_tid_actor(r, d + 24,
					       op->in_len - off - 24 <
							       get_be32(d + 20)
						       ? op->in_len - off - 24
						       : get_be32(d + 20));

			snprintf(glab[ng], sizeof(glab[ng]), "%s%s@%s", gh[ng],
				 d[12] & 0x02 ? ":all-tg-pt" : "",
				 who >= 0 ? r->actors[who].name : "?");
			if (pr_one_target(r))
				snprintf(glab[ng] + strlen(glab[ng]),
					 sizeof(glab[ng]) - strlen(glab[ng]),
					 "/port%u", get_be16(d + 18));
			gh[ng] = glab[ng];
		}
		ng++;
		off += 24 + get_be32(d + 20);
	}
	/* one descriptor per I_T nexus: its initiator port's TransportID
	 * and its RELATIVE TARGET PORT IDENTIFIER, ALL_TG_PT 0 (each names
	 * one target port, SPC-4 §6.15.5) */
	for (int i = 0; i < PR_MODEL_NEXUS && nw < 64; i++) {
		int who = l->pr.who[i] ? l->pr.who[i] - 1 : i;

		if (!l->pr.key[i])
			continue;
		wk[nw] = l->pr.key[i];
		wh[nw] = l->pr.reserved && (all || l->pr.holder == i)
				 ? holder[l->pr.type & 0x0f]
				 : "";
		if (who < r->nactors) {
			snprintf(wlab[nw], sizeof(wlab[nw]), "%s@%s", wh[nw],
				 r->actors[who].name);
			if (pr_one_target(r))
				snprintf(wlab[nw] + strlen(wlab[nw]),
					 sizeof(wlab[nw]) - strlen(wlab[nw]),
					 "/port%u", l->pr.rtp[i]);
			wh[nw] = wlab[nw];
		}
		nw++;
	}
	pr_full_describe(gk, gh, ng, got, sizeof(got));
	pr_full_describe(wk, wh, nw, want, sizeof(want));
	if (strcmp(got, want) != 0) {
		pr_state(r, &l->pr, st, sizeof(st));
		failf(r, p->line,
		      "oracle: %s %s on lun %u returned [%s], expected [%s] "
		      "(key:Htype marks a descriptor with R_HOLDER and its "
		      "TYPE, SPC-4 §6.15.5) (%s) (seed %llu)",
		      p->a->name, p->verb, l->lun, got, want, st,
		      (unsigned long long)r->seed);
	}
}

/* SPC-4 §5.12.1 table 68 for the commands the PR oracle judges: those
 * that read the medium, and MODE SENSE, conflict as reads (Exclusive
 * Access types); those that change it, SYNCHRONIZE CACHE and MODE SELECT
 * as writes (every type, for the nexuses the type does not admit). */
static bool pr_reads(const struct pend *p, const struct ini_op *op)
{
	return pk_reads_medium(p->kind) || op->cdb[0] == 0x1a ||
	       op->cdb[0] == 0x5a;
}

static bool pr_judged(const struct pend *p, const struct ini_op *op)
{
	return pr_reads(p, op) || pk_writes_medium(p->kind) ||
	       p->kind == PK_SYNC || p->kind == PK_MSELECT;
}

/* A refused SPEC_I_PT or REGISTER AND MOVE says which byte of the list
 * it refused (SPC-4 §4.5.2.4.2, §5.12.7, §5.12.8): the model's ASC, and
 * for INVALID FIELD IN PARAMETER LIST a field pointer (C/D=0) at the
 * byte (a malformed TransportID: its first byte) and bit. */
static void pr_illegal_check(struct runner *r, struct pend *p,
			     const struct ini_op *op, const struct prm_ua *u,
			     int asc)
{
	struct sense_view v;
	const uint8_t *sks;
	char want[64], got[64], why[128];

	(void)sense_decode(op->sense, op->sense_len, &v, why, sizeof(why));
	sks = v.sks_valid ? v.sks : NULL;

	snprintf(want, sizeof(want), "asc %02xh", u->ill_asc);
	if (u->ill_field >= 0)
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
			 " field %d bit %d", u->ill_field, u->ill_bit);
	snprintf(got, sizeof(got), "asc %02xh", asc & 0xff);
	if (u->ill_field >= 0 && sks != NULL && !(sks[0] & 0x40))
		snprintf(got + strlen(got), sizeof(got) - strlen(got),
			 " field %u bit %d", get_be16(sks + 1),
			 sks[0] & 0x08 ? sks[0] & 0x07 : -1);
	else if (u->ill_field >= 0)
		snprintf(got + strlen(got), sizeof(got) - strlen(got),
			 " without a parameter list field pointer");
	if (strcmp(want, got) != 0)
		failf(r, p->line,
		      "oracle: %s %s on lun %u was refused with [%s]; the "
		      "model says [%s] (SPC-4 §4.5.2.4.2: the field pointer "
		      "names the byte refused) (seed %llu)",
		      p->a->name, p->verb, p->ls->lun, got, want,
		      (unsigned long long)r->seed);
}

/* A malformed PR OUT (`sa=`, `plen=`, `scope=`, `type-code=`,
 * scenario_parse.c pr_out_malformed) is refused with its ASC before the
 * device server looks at keys, reservations or the state store, whatever
 * the state (known or not): never GOOD, never RESERVATION CONFLICT, and
 * it changes nothing (the model is not applied).  A unit attention,
 * BUSY or a LUN gone may answer first (got past PRM_ILLEGAL). */
static void pr_malformed_check(struct runner *r, struct pend *p, int got,
			       int asc)
{
	if (got > PRM_ILLEGAL || (got == PRM_ILLEGAL && asc == p->pro.bad_asc))
		return;
	failf(r, p->line,
	      "oracle: %s %s on lun %u is malformed and was answered %s "
	      "(asc %02xh); SPC-4 says ILLEGAL REQUEST, %s, before any key "
	      "or state is looked at, and no change (seed %llu)",
	      p->a->name, p->verb, p->ls->lun,
	      got == PRM_ILLEGAL ? "ILLEGAL REQUEST"
				 : prm_result_name((enum prm_result)got),
	      asc & 0xff,
	      p->pro.bad_asc == 0x1a ? "PARAMETER LIST LENGTH ERROR (1Ah)"
				     : "INVALID FIELD IN CDB (24h)",
	      (unsigned long long)r->seed);
	if (got == PRM_GOOD) {
		p->ls->pr.unknown = true;
		ua_pr_unknown(r, p);
	}
}

/*
 * A PR OUT during which the state store failed to save (`target
 * state-fail`): with APTPL on, or asked for, a change the LU cannot keep
 * across a power loss is rolled back and refused (SPC-4 §5.12.5; ENOSPC
 * ILLEGAL REQUEST, INSUFFICIENT REGISTRATION RESOURCES 05/55/04, EIO
 * HARDWARE ERROR, INTERNAL TARGET FAILURE 04/44/00: pr.c
 * pr_save_or_roll_back, docs/durability.md).  Judged where the state is
 * known and this PR OUT ran alone (the failed save was its own): one
 * the model answers GOOD must get exactly that refusal, and the state
 * stays as it was (the model is not applied); the unit attentions it
 * queued are not taken back (maybe).  True when judged here.
 */
uint64_t pr_store_failed(struct runner *r, const struct lun_st *l, int *err)
{
	char key[96];

	/* the LU is named for its disk; pr_aptpl.c state_key() */
	snprintf(key, sizeof(key), "pr-%s", l->disk);
	return sim_state_failed(r->sim, key, err);
}

static bool store_refused(struct runner *r, struct pend *p, struct ini_op *op,
			  int sk, int asc, int ascq)
{
	struct lun_st *l = p->ls;
	struct pr_model tmp = l->pr;
	struct prm_ua u;
	int err, want_sk, want_asc, want_ascq;
	char st[512];

	if (pr_store_failed(r, l, &err) == p->pr_store_fails_at ||
	    op->outcome != INI_DONE || op->response != 0 || !p->pr_alone ||
	    l->pr_issued != p->pr_issued || limbo_pending(r, &l->pr_limbo) ||
	    !p->pr_known || !p->pro_modelled || l->pr.unknown ||
	    prm_apply_ua(&tmp, p->a->idx, &p->pro, &u) != PRM_GOOD)
		return false;
	want_sk = err == -ENOSPC ? SK_ILLEGAL_REQUEST : SK_HARDWARE_ERROR;
	want_asc = err == -ENOSPC ? 0x55 : 0x44;
	want_ascq = err == -ENOSPC ? 0x04 : 0x00;
	ua_pr_unknown(r, p);
	if (op->status == SCSI_STATUS_CHECK_CONDITION && sk == want_sk &&
	    asc == want_asc && ascq == want_ascq)
		return true;
	/* Ended by another nexus's reset or task set TMF while it ran (TAS
	 * 1; whether one could have is the TASK ABORTED oracle's): its
	 * failed save rolled the change back all the same (pr.c
	 * pr_save_or_roll_back), so the state is as it was (explore seed
	 * 935496001373: a LOGICAL UNIT RESET racing a PREEMPT AND ABORT). */
	if (op->status == SCSI_STATUS_TASK_ABORTED)
		return true;
	pr_state(r, &l->pr, st, sizeof(st));
	failf(r, p->line,
	      "oracle: %s %s key=%llx on lun %u was answered status %02x "
	      "sense %x/%02x/%02x while the state store failed to save it "
	      "(%s): the change must be rolled back and refused with "
	      "%x/%02x/%02x (SPC-4 §5.12.5: APTPL keeps what it answers) "
	      "(%s) (seed %llu)",
	      p->a->name, pro_names[p->pro.sa], (unsigned long long)p->pro.key,
	      l->lun, op->status, sk < 0 ? 0 : sk, asc < 0 ? 0 : asc,
	      ascq < 0 ? 0 : ascq, strerror(-err), want_sk, want_asc, want_ascq,
	      st, (unsigned long long)r->seed);
	l->pr.unknown = true;
	return true;
}

void oracle_pr(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->ls;
	int sk = -1, asc = -1, ascq = -1, me = p->a->idx;
	bool exact;
	char st[512];

	if (l != NULL)
		pr_topology(r, &l->pr);
	if (l != NULL && !r->failed)
		pr_gen_answer(r, p, op);
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
		if (store_refused(r, p, op, sk, asc, ascq))
			return;
		/* Out of memory to encode the state to save (`target oom`,
		 * pr_aptpl.c): refused and rolled back as a full store is,
		 * INSUFFICIENT REGISTRATION RESOURCES (pr.c
		 * pr_save_or_roll_back): the state is as it was, the unit
		 * attentions it queued are not taken back. */
		if (oom_during(r, p) && op->outcome == INI_DONE &&
		    op->status == SCSI_STATUS_CHECK_CONDITION &&
		    sk == SK_ILLEGAL_REQUEST && asc == 0x55 && ascq == 0x04) {
			ua_pr_unknown(r, p);
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
		/* it changed nothing; but a change the store could not
		 * save was refused after it queued its unit attentions,
		 * which are not taken back (pr.c pr_save_or_roll_back) */
		if (got != PRM_GOOD &&
		    pr_store_failed(r, l, NULL) != p->pr_store_fails_at)
			ua_pr_unknown(r, p);
		else if (got != PRM_GOOD)
			ua_pr_effects(r, p, NULL);
		if (p->pro.bad_asc) {
			pr_malformed_check(r, p, got, asc);
			return;
		}
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
			if (l->pr.unknown)
				l->pr.aptpl_unknown = true; /* not APTPL */
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
		if ((int)want == got && got == PRM_GOOD) {
			uint64_t preempted = 0;

			ua_pr_effects(r, p, &u);
			/* a PREEMPT AND ABORT's preempted actors: their
			 * commands waiting for their CmdSN turn end TASK
			 * ABORTED (scenario_oracle.c gap_reset_*) */
			for (int i = 0; i < PR_MODEL_ACTORS && i < 64; i++)
				if (u.aborted[i])
					preempted |= 1ull << i;
			gap_reset_confirm(r, p, preempted);
		}
		if ((int)want == got && got == PRM_ILLEGAL && u.ill_asc)
			pr_illegal_check(r, p, op, &u, asc);
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
	if (pr_judged(p, op)) {
		bool c = prm_conflicts(&l->pr, me, !pr_reads(p, op));

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
	if (p->kind == PK_PRIN_FULL && scsi_good(op) && op->in_len >= 8) {
		pr_full_check(r, p, op, l);
		return;
	}
	/* REPORT CAPABILITIES (SPC-4 §6.16.4): PTPL_A, byte 3 bit 0, says
	 * whether persist through power loss is activated: the APTPL of
	 * the last REGISTER or REGISTER AND MOVE that took effect, not
	 * whether it could be (PTPL_C, byte 2 bit 0; mutant 593).  Round
	 * of blind20. */
	if (p->kind == PK_SPC && op->cdb[0] == 0x5e &&
	    (op->cdb[1] & 0x1f) == 2 && scsi_good(op) && op->in_len >= 4 &&
	    !l->pr.unknown && !l->pr.aptpl_unknown &&
	    !!(op->in[3] & 0x01) != l->pr.aptpl) {
		pr_state(r, &l->pr, st, sizeof(st));
		failf(r, p->line,
		      "oracle: %s pr-report-caps on lun %u says PTPL_A=%d, but "
		      "the last REGISTER that took effect had APTPL=%d (%s) "
		      "(seed %llu)",
		      p->a->name, l->lun, op->in[3] & 0x01, l->pr.aptpl ? 1 : 0,
		      st, (unsigned long long)r->seed);
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
			for (int i = 0; i < PR_MODEL_NEXUS && n < 64; i++)
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
