/*
 * scenario_alua.c — ALUA in the simulated world (SPC-4 §5.15).
 *
 * Declarations:
 *   portal ADDR:PORT [tpgt=N]       a portal (repeatable; the first is the
 *                                   logins' default) in portal group N
 *   tpg ID STATE [preferred] tpgt=N a target port group: the target's port
 *                                   in portal group N; every LUN joins one
 *                                   device group with explicit ALUA
 *   mpath HOST A B                  a multipath host over actors A and B
 *                                   (scenario_mpath.c)
 * Verbs:
 *   target alua ID STATE            an implicit state change (utargetctl's)
 *   A stpg ID=STATE [ID=STATE...]   SET TARGET PORT GROUPS through A
 *   A rtpg                          REPORT TARGET PORT GROUPS (extended)
 *   HOST read|write|sync ...        I/O as dm-multipath with the ALUA
 *                                   device handler does it: through the
 *                                   best path the host knows; a unit
 *                                   attention, a NOT READY of an access
 *                                   state or a lost connection makes it
 *                                   ask REPORT TARGET PORT GROUPS and try
 *                                   again on the best path (8 attempts;
 *                                   scenario_mpath.c)
 *
 * The oracle knows each group's state while nothing can be changing it
 * (a `target alua` is immediate; an STPG changes it somewhere between its
 * sending and its answer, and one of unknown fate makes it unknown until
 * the next `target alua` or a REPORT TARGET PORT GROUPS answered in quiet)
 * and judges every SCSI answer through a port whose state it knew for the
 * command's whole life:
 *   - a command the state allows (alua.h's table) must not get NOT READY
 *     with an access-state ASC; one it refuses must get exactly the
 *     state's (04h/0Ah transitioning, 0Bh standby, 0Ch unavailable, 12h
 *     offline) -- or a UNIT ATTENTION, which comes first;
 *   - after a change, every I_T nexus but an STPG's sender is owed
 *     ASYMMETRIC ACCESS STATE CHANGED (2Ah/06h): a command sent while it
 *     is owed must not pass without a unit attention (GOOD, another
 *     sense, RESERVATION CONFLICT), and REQUEST SENSE must not answer
 *     NO SENSE.  A reset (29h supersedes the queue), a new login or a
 *     change during a command's life makes the debt uncertain;
 *   - REPORT TARGET PORT GROUPS must report the known states.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "scenario_int.h"
#include "scsi/alua.h"
#include "scsi/scsi.h"

#define ALUA_UA_NO 0	/* nothing owed */
#define ALUA_UA_YES 1	/* 2Ah/06h must come before the next GOOD */
#define ALUA_UA_MAYBE 2 /* don't know */

static bool alua_on(const struct runner *r)
{
	return r->alua.ntpgs > 0;
}

static struct alua_tpg_st *tpg_by_id(struct runner *r, uint32_t id)
{
	for (int i = 0; i < r->alua.ntpgs; i++)
		if (r->alua.tpgs[i].id == id)
			return &r->alua.tpgs[i];
	return NULL;
}

static struct alua_tpg_st *tpg_of(struct runner *r, const struct actor *a)
{
	for (int i = 0; i < r->alua.ntpgs; i++)
		if (a->tpgt && r->alua.tpgs[i].tpgt == a->tpgt)
			return &r->alua.tpgs[i];
	return NULL;
}

static int lun_index(const struct runner *r, const struct lun_st *l)
{
	return l ? (int)(l - r->luns) : -1;
}

/* A command on a LUN whose LU was in the device group from its issue to
 * its answer (ops' `target lun add/remove` take LUs in and out). */
static bool lun_judged(const struct pend *p)
{
	return p->ls != NULL && p->ls->alua_in && !p->ls->removed &&
	       p->ls->alua_gen == p->alua_lun_gen;
}

static const char *state_str(int st)
{
	return st < 0 ? "unknown" : scsi_alua_state_name(st);
}

/* --------------------------------------------------- declarations */

uint16_t alua_portal_tpgt(const struct runner *r, const char *portal)
{
	for (int i = 0; i < r->nportals; i++)
		if (strcmp(r->portals[i], portal) == 0)
			return r->portal_tpgts[i];
	return 1;
}

void alua_decl_portal(struct runner *r, struct toks *t)
{
	uint64_t tpgt = u64_or(t, "tpgt", 1, r);

	if (r->started || t->n < 2 || r->nportals == MAX_PORTALS || tpgt == 0 ||
	    tpgt > 65535) {
		syntaxf(r,
			"portal ADDR:PORT [tpgt=1..65535] (at most %d, "
			"before the target starts)",
			MAX_PORTALS);
		return;
	}
	snprintf(r->portals[r->nportals], sizeof(r->portals[0]), "%s", t->v[1]);
	r->portal_tpgts[r->nportals] = (uint16_t)tpgt;
	if (r->nportals++ == 0)
		snprintf(r->portal, sizeof(r->portal), "%s", t->v[1]);
}

void alua_decl_tpg(struct runner *r, struct toks *t)
{
	struct alua_tpg_st *g;
	enum scsi_alua_state st;
	uint64_t id, tpgt;

	if (r->started || t->n < 3 || r->alua.ntpgs == MAX_TPGS ||
	    scsi_alua_state_parse(t->v[2], &st) != 0) {
		syntaxf(r,
			"tpg ID STATE [preferred] tpgt=N (at most %d, "
			"before the target starts)",
			MAX_TPGS);
		return;
	}
	id = strtoull(t->v[1], NULL, 0);
	tpgt = u64_or(t, "tpgt", 1, r);
	if (id > 65535 || tpgt == 0 || tpgt > 65535 || tpg_by_id(r, id)) {
		syntaxf(r, "tpg: ID 0..65535 once, tpgt=1..65535");
		return;
	}
	g = &r->alua.tpgs[r->alua.ntpgs++];
	g->id = (uint16_t)id;
	g->tpgt = (uint16_t)tpgt;
	g->state = g->init = (int)st;
	g->preferred = has(t, "preferred");
}

int alua_cfg(struct runner *r, struct ut_config *c)
{
	char *portals[MAX_PORTALS];
	char buf[MAX_PORTALS][96];
	char text[4096];
	size_t n = 0;
	int np = r->nportals ? r->nportals : 0;

	if (np > 0) {
		for (int i = 0; i < np; i++) {
			snprintf(buf[i], sizeof(buf[i]), "%s,tpgt=%u",
				 r->portals[i], r->portal_tpgts[i]);
			portals[i] = buf[i];
		}
		if (ut_config_set_portals(c, portals, (size_t)np) != 0)
			return -1;
	}
	if (!alua_on(r))
		return 0;
	for (size_t d = 0; d < c->dev_count; d++)
		c->devs[d].expl_alua = true;
	n += (size_t)snprintf(text + n, sizeof(text) - n,
			      "DEVICE_GROUP sim {\n");
	for (int i = 0; i < r->nluns; i++) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, "DEVICE %s\n",
				      r->luns[i].disk);
		r->luns[i].alua_in = true;
	}
	for (int i = 0; i < r->alua.ntpgs; i++) {
		const struct alua_tpg_st *g = &r->alua.tpgs[i];

		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "TARGET_GROUP g%u {\ngroup_id %u\n"
				      "state %s\npreferred %d\n"
				      "TARGET %s,t,0x%x\n}\n",
				      g->id, g->id, state_str(g->init),
				      g->preferred ? 1 : 0, r->iqn, g->tpgt);
	}
	n += (size_t)snprintf(text + n, sizeof(text) - n, "}\n");
	/* (no ut_config_validate: it knows no simulated disks; the server
	 * refuses inconsistent groups at start) */
	if (n >= sizeof(text) ||
	    ut_config_parse(c, "alua", text, n, NULL, NULL) != 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------ changes */

/* Every actor with a session owes (or may owe) the attention; a reset
 * still out may yet empty the queues. */
static void owe_all(struct runner *r, const struct actor *except, uint8_t how)
{
	for (int i = 0; i < r->nactors; i++) {
		struct actor *a = &r->actors[i];

		if (a == except)
			continue;
		for (int l = 0; l < r->nluns; l++) {
			if (ini_state(a->ini) == INI_S_FFP &&
			    how == ALUA_UA_YES &&
			    r->luns[l].resets_inflight == 0 &&
			    a->alua_owed[l] != ALUA_UA_MAYBE)
				a->alua_owed[l] = ALUA_UA_YES;
			else if (ini_state(a->ini) != INI_S_DOWN)
				a->alua_owed[l] = ALUA_UA_MAYBE;
		}
	}
}

void alua_target_verb(struct runner *r, struct toks *t)
{
	struct alua_tpg_st *g;
	enum scsi_alua_state st;
	int rc;

	if (!target_start(r) || r->srv == NULL)
		return;
	if (t->n != 4 || scsi_alua_state_parse(t->v[3], &st) != 0 ||
	    (g = tpg_by_id(r, (uint32_t)strtoul(t->v[2], NULL, 0))) == NULL) {
		syntaxf(r, "target alua ID STATE (a declared tpg; active, "
			   "nonoptimized, standby, unavailable, offline, "
			   "transitioning)");
		return;
	}
	SIM_TRACE(r->sim, "alua: target port group %u -> %s", g->id,
		  scsi_alua_state_name(st));
	rc = iscsi_server_alua_set(r->srv, NULL, g->id, t->v[3]);
	if (rc != 0) {
		failf(r, r->line, "target alua %u %s: %d (seed %llu)", g->id,
		      t->v[3], rc, (unsigned long long)r->seed);
		return;
	}
	r->alua.epoch++;
	/* With an STPG out, the target may have been there already (no
	 * change, no attention) or not. */
	if (g->state != (int)st || r->alua.stpg_inflight > 0)
		owe_all(r, NULL,
			g->state < 0 || r->alua.stpg_inflight > 0
				? ALUA_UA_MAYBE
				: ALUA_UA_YES);
	g->state = (int)st;
	g->set_epoch = r->alua.epoch;
}

/* --------------------------------------------------------- verbs */

bool alua_scsi_build(struct runner *r, struct pend *p, struct ini_op *op,
		     const char *verb, const struct toks *t)
{
	if (strcmp(verb, "rtpg") == 0) {
		op->cdb[0] = 0xa3;
		op->cdb[1] = 0x20 | 0x0a; /* extended format */
		op->edtl = 1024;
		put_be32(op->cdb + 6, 1024);
		op->dir_read = true;
		p->kind = PK_RTPG;
		return true;
	}
	if (strcmp(verb, "stpg") == 0) {
		uint32_t n = 0;

		op->cdb[0] = 0xa4;
		op->cdb[1] = 0x0a;
		op->out = calloc(1, 4 + 4 * MAX_TPGS + 4);
		if (op->out == NULL)
			abort();
		for (int i = 2; i < t->n && n < MAX_TPGS + 1; i++) {
			char *eq = strchr(t->v[i], '=');
			enum scsi_alua_state st;

			if (eq == NULL || strchr(t->v[i], ':'))
				continue;
			if (scsi_alua_state_parse(eq + 1, &st) != 0) {
				/* a raw code, for refused ones */
				st = (enum scsi_alua_state)strtoul(eq + 1, NULL,
								   0);
			}
			op->out[4 + 4 * n] = (uint8_t)(st & 0x0f);
			put_be16(op->out + 4 + 4 * n + 2,
				 (uint16_t)strtoul(t->v[i], NULL, 0));
			n++;
		}
		op->edtl = n ? 4 + 4 * n : 0;
		put_be32(op->cdb + 6, op->edtl);
		op->dir_write = n > 0;
		p->kind = PK_STPG;
		return true;
	}
	return false;
}

/* ---------------------------------------------------- the oracle */

/* What each access state lets through (SPC-4 §5.15.2.4.4-6, §5.15.2.5;
 * SPC-5 §5.16.2.4.4-6, §5.16.2.5): the commands the standard says the
 * device server "shall support" there, plus those it "may support" that
 * the target does (alua.c, docs/configuration.md "ALUA"): REPORT
 * SUPPORTED OPERATION CODES and REPORT SUPPORTED TASK MANAGEMENT
 * FUNCTIONS in every state (metadata reports like REPORT TARGET PORT
 * GROUPS), READ CAPACITY in standby and unavailable (Linux reads it
 * through every path it scans).  Judged by the CDB, whatever verb built
 * it. */
enum cls {
	CLS_ALWAYS,  /* every state: INQUIRY, REPORT LUNS, REQUEST SENSE,
		      * REPORT TARGET PORT GROUPS, RSOC, RSTMF */
	CLS_UNAV,    /* + unavailable: STPG, READ CAPACITY (10), (16) */
	CLS_STANDBY, /* + standby: PERSISTENT RESERVE, MODE SENSE/SELECT */
	CLS_ACTIVE,  /* active states only */
	CLS_UNKNOWN, /* a raw CDB: not judged */
};

static enum cls cdb_class(const struct pend *p, const struct ini_op *op)
{
	const uint8_t *cdb = op->cdb;
	unsigned int sa = cdb[1] & 0x1f;

	if (!strcmp(p->verb, "cdb"))
		return CLS_UNKNOWN;
	switch (cdb[0]) {
	case 0x12: /* INQUIRY */
	case 0xa0: /* REPORT LUNS */
	case 0x03: /* REQUEST SENSE */
		return CLS_ALWAYS;
	case 0xa3: /* MAINTENANCE IN: RTPG, RSOC, RSTMF */
		return sa == 0x0a || sa == 0x0c || sa == 0x0d ? CLS_ALWAYS
							      : CLS_ACTIVE;
	case 0xa4: /* MAINTENANCE OUT: SET TARGET PORT GROUPS */
		return sa == 0x0a ? CLS_UNAV : CLS_ACTIVE;
	case 0x25: /* READ CAPACITY (10) */
		return CLS_UNAV;
	case 0x9e: /* SERVICE ACTION IN (16): READ CAPACITY (16) */
		return sa == 0x10 ? CLS_UNAV : CLS_ACTIVE;
	case 0x15: /* MODE SELECT (6) */
	case 0x55: /* MODE SELECT (10) */
	case 0x1a: /* MODE SENSE (6) */
	case 0x5a: /* MODE SENSE (10) */
	case 0x5e: /* PERSISTENT RESERVE IN */
	case 0x5f: /* PERSISTENT RESERVE OUT */
		return CLS_STANDBY;
	default:
		return CLS_ACTIVE;
	}
}

/* A running or failed sanitize refuses a command (NOT READY, SANITIZE IN
 * PROGRESS; MEDIUM ERROR, SANITIZE COMMAND FAILED) before the unit
 * attention check and the access state (scsi.c; SBC-4 §4.11.2: "all
 * commands" but INQUIRY, REPORT LUNS and REQUEST SENSE; SPC-5 sets no
 * order between the two, and the unit attention stays queued for the
 * first command let by).  The sanitize oracle (scenario_cmds_oracle.c) judges
 * such an answer. */
static bool sanitize_refusal(const struct ini_op *op, int sk, int asc, int ascq)
{
	return op->status == SCSI_STATUS_CHECK_CONDITION &&
	       ((sk == SK_NOT_READY && asc == 0x04 && ascq == 0x1b) ||
		(sk == SK_MEDIUM_ERROR && asc == 0x31 && ascq == 0x03));
}

static bool class_allowed(enum cls c, int st)
{
	switch (st) {
	case SCSI_ALUA_OPTIMIZED:
	case SCSI_ALUA_NON_OPTIMIZED:
		return true;
	case SCSI_ALUA_STANDBY:
		return c <= CLS_STANDBY;
	case SCSI_ALUA_UNAVAILABLE:
		return c <= CLS_UNAV;
	default: /* transitioning, offline */
		return c == CLS_ALWAYS;
	}
}

static int state_ascq(int st)
{
	switch (st) {
	case SCSI_ALUA_STANDBY:
		return 0x0b;
	case SCSI_ALUA_UNAVAILABLE:
		return 0x0c;
	case SCSI_ALUA_OFFLINE:
		return 0x12;
	default:
		return 0x0a;
	}
}

static bool is_ua_exempt(const struct pend *p)
{
	return !strcmp(p->verb, "inquiry") || !strcmp(p->verb, "report-luns") ||
	       !strcmp(p->verb, "request-sense");
}

void alua_issue(struct runner *r, struct pend *p)
{
	struct alua_tpg_st *g;
	int li = lun_index(r, p->ls);

	/* whether its LU is in a device group is judged in every run */
	p->alua_lun_gen = li >= 0 ? p->ls->alua_gen : 0;
	if (!alua_on(r))
		return;
	g = tpg_of(r, p->a);
	p->alua_epoch = r->alua.epoch;
	p->alua_state = g && r->alua.stpg_inflight == 0 ? g->state : -1;
	p->ua_at_issue = li >= 0 ? p->a->alua_owed[li] : ALUA_UA_MAYBE;
	if (li >= 0 && !is_ua_exempt(p))
		p->a->alua_inflight[li]++;
	if (p->kind == PK_STPG) {
		r->alua.stpg_inflight++;
		r->alua.epoch++;
		for (int i = 0; i < r->nactors; i++)
			p->sess_at[i] = r->actors[i].sess;
		p->alua_seq = r->alua.seq;
		p->alua_resets = r->alua.resets_sent;
		p->stpg_mark = ++r->alua.stpg_seq;
	}
}

void alua_reset_sent(struct runner *r, struct pend *p)
{
	/* A reset's 29h/00h empties the unit attention queues it reaches
	 * (scsi.c): whatever was owed may be gone. */
	r->alua.resets_sent++;
	for (int i = 0; i < r->nactors; i++)
		for (int l = 0; l < r->nluns; l++)
			if (p->tmf_fn != ISCSI_TMF_LOGICAL_UNIT_RESET ||
			    r->luns[l].lun == p->lun)
				r->actors[i].alua_owed[l] = ALUA_UA_MAYBE;
}

/* a's lost STPGs cannot reach the target any more: whether they changed
 * states is unknown, and so is what every nexus is owed. */
static void limbo_end(struct runner *r, struct actor *a)
{
	r->alua.stpg_inflight -= a->alua_limbo;
	a->alua_limbo = 0;
	r->alua.epoch++;
	for (int i = 0; i < r->alua.ntpgs; i++)
		r->alua.tpgs[i].state = -1;
	owe_all(r, NULL, ALUA_UA_MAYBE);
}

void alua_login_done(struct runner *r, struct pend *p, bool ok)
{
	struct actor *a = p->a;

	if (!alua_on(r) || !ok)
		return;
	if (a->alua_limbo > 0)
		limbo_end(r, a);
	/* A new I_T nexus: its power-on attention, and a state change only
	 * if one happened while it was being made. */
	for (int l = 0; l < r->nluns; l++) {
		a->alua_owed[l] = p->alua_epoch == r->alua.epoch
					  ? ALUA_UA_NO
					  : ALUA_UA_MAYBE;
		a->alua_inflight[l] = 0; /* the old session's are not counted */
	}
	for (int i = 0; i < r->alua.nhosts; i++)
		for (int k = 0; k < 2; k++)
			if (r->alua.hosts[i].path[k] == a)
				r->alua.hosts[i].failed[k] = false;
}

/* The STPG's answer: the states it set, or an unknown outcome. */
static void stpg_done(struct runner *r, struct pend *p, struct ini_op *op)
{
	int sk, asc, ascq;
	bool good = op->outcome == INI_DONE && op->response == 0 &&
		    op->status == SCSI_STATUS_GOOD;
	/* another STPG out meanwhile, sent after this one or still out now
	 * (sent before it, answered after it): they ran in an order we do
	 * not know */
	bool overlapped = r->alua.stpg_seq != p->stpg_mark ||
			  r->alua.stpg_inflight > 1;

	r->alua.stpg_seq++;
	/* Lost with its connection: its bytes may still reach the target
	 * and change the states later (a partition that heals delivers
	 * them).  It stays in flight until its sender's next login: a
	 * session reinstatement ends the old connection at the target. */
	if (op->outcome == INI_DROPPED)
		p->a->alua_limbo++;
	else
		r->alua.stpg_inflight--;
	r->alua.epoch++;
	sense_parse(op, &sk, &asc, &ascq);
	if (op->outcome == INI_DONE && op->response == 0 &&
	    op->status == SCSI_STATUS_CHECK_CONDITION &&
	    (sk == SK_ILLEGAL_REQUEST || sk == SK_NOT_READY ||
	     sk == SK_UNIT_ATTENTION))
		return; /* refused whole: nothing changed (SPC-4 §6.44) */
	for (uint32_t off = 4; op->out && off + 4 <= op->edtl; off += 4) {
		struct alua_tpg_st *g =
			tpg_by_id(r, get_be16(op->out + off + 2));

		if (g == NULL)
			continue;
		/* Not applied, or applied before a `target alua` or another
		 * STPG of its lifetime that we cannot order it with. */
		if (!good || overlapped || g->set_epoch > p->alua_epoch) {
			g->state = -1;
			if (good)
				owe_all(r, p->a, ALUA_UA_MAYBE);
			continue;
		}
		if (g->state < 0)
			owe_all(r, p->a, ALUA_UA_MAYBE); /* a change or not */
		else if (g->state != (op->out[off] & 0x0f))
			for (int i = 0; i < r->nactors; i++) {
				struct actor *b = &r->actors[i];

				if (b == p->a)
					continue; /* not the sender's */
				/* Owed for sure only if nothing of that
				 * nexus answered while the STPG was out
				 * (an answer then may have taken it). */
				for (int l = 0; l < r->nluns; l++) {
					if (b->sess == p->sess_at[i] &&
					    ini_state(b->ini) == INI_S_FFP &&
					    r->alua.resets_sent ==
						    p->alua_resets &&
					    r->luns[l].resets_inflight == 0 &&
					    b->alua_useq[l] <= p->alua_seq &&
					    b->alua_owed[l] != ALUA_UA_MAYBE)
						b->alua_owed[l] = ALUA_UA_YES;
					else
						b->alua_owed[l] = ALUA_UA_MAYBE;
				}
			}
		g->state = op->out[off] & 0x0f;
	}
	if (!good)
		owe_all(r, p->a, ALUA_UA_MAYBE);
}

/* REPORT TARGET PORT GROUPS: the states known must be the states told;
 * unknown ones are learnt when nothing can be changing them. */
static void rtpg_done(struct runner *r, struct pend *p, struct ini_op *op,
		      bool quiet)
{
	uint32_t len, off;
	int seen = 0;

	if (op->outcome != INI_DONE || op->status != SCSI_STATUS_GOOD ||
	    op->in_len < 8)
		return;
	len = get_be32(op->in) + 4;
	if ((op->in[4] & 0x70) != 0x10 || len > op->in_len)
		failf(r, p->line,
		      "oracle: %s rtpg: extended header %02x, length %u of "
		      "%u received (SPC-4 §6.36) (seed %llu)",
		      p->a->name, op->in[4], len, op->in_len,
		      (unsigned long long)r->seed);
	for (off = 8; off + 8 <= len && off + 8 <= op->in_len;
	     off += 8 + 4u * op->in[off + 7]) {
		struct alua_tpg_st *g =
			tpg_by_id(r, get_be16(op->in + off + 2));
		int st = op->in[off] & 0x0f;

		seen++;
		if (g == NULL) {
			failf(r, p->line,
			      "oracle: %s rtpg reports target port group %u, "
			      "which is not configured (seed %llu)",
			      p->a->name, get_be16(op->in + off + 2),
			      (unsigned long long)r->seed);
			return;
		}
		/* its ports (4 bytes each: 2-3 RELATIVE TARGET PORT
		 * IDENTIFIER), for the VPD 83h oracle */
		g->nports = 0;
		for (uint32_t k = 0; k < op->in[off + 7] &&
				     off + 12 + 4 * k <= op->in_len && k < 4;
		     k++)
			g->ports[g->nports++] =
				get_be16(op->in + off + 8 + 4 * k + 2);
		if (p->mp != NULL) {
			struct mp_host *h = p->mp->h;

			for (int k = 0; k < 2; k++)
				if (h->path[k]->tpgt == g->tpgt)
					h->view[k] = st;
		}
		if (!quiet)
			continue;
		if (g->state < 0) {
			g->state = st;
		} else if (g->state != st) {
			failf(r, p->line,
			      "oracle: %s rtpg reports group %u %s, but it is "
			      "%s (seed %llu)",
			      p->a->name, g->id, state_str(st),
			      state_str(g->state), (unsigned long long)r->seed);
			return;
		}
	}
	if (seen != r->alua.ntpgs)
		failf(r, p->line,
		      "oracle: %s rtpg reports %d target port groups, %d are "
		      "configured (seed %llu)",
		      p->a->name, seen, r->alua.ntpgs,
		      (unsigned long long)r->seed);
}

/* The command filter of the access state (SPC-4 §5.15.2.4-5). */
static void filter_check(struct runner *r, struct pend *p, struct ini_op *op)
{
	enum cls c = cdb_class(p, op);
	int st = p->alua_state, sk, asc, ascq;
	bool nr, allowed;

	if (c == CLS_UNKNOWN || st < 0 || p->alua_epoch != r->alua.epoch ||
	    op->outcome != INI_DONE || op->response != 0)
		return;
	/* TASK ABORTED, BUSY, TASK SET FULL: it never ran */
	if (op->status != SCSI_STATUS_GOOD &&
	    op->status != SCSI_STATUS_CHECK_CONDITION)
		return;
	sense_parse(op, &sk, &asc, &ascq);
	if (op->status == SCSI_STATUS_CHECK_CONDITION &&
	    sk == SK_UNIT_ATTENTION)
		return; /* reported first (SAM-5 §5.14) */
	if (sanitize_refusal(op, sk, asc, ascq))
		return; /* before the access state too */
	nr = op->status == SCSI_STATUS_CHECK_CONDITION && sk == SK_NOT_READY &&
	     asc == 0x04 &&
	     (ascq == 0x0a || ascq == 0x0b || ascq == 0x0c || ascq == 0x12);
	allowed = class_allowed(c, st);
	if (allowed && nr)
		failf(r, p->line,
		      "oracle: %s %s through target port group %s got NOT "
		      "READY 04h/%02xh; SPC-4 §5.15.2 lets it through "
		      "(seed %llu)",
		      p->a->name, p->verb, state_str(st), ascq,
		      (unsigned long long)r->seed);
	else if (!allowed && !(nr && ascq == state_ascq(st)))
		failf(r, p->line,
		      "oracle: %s %s through a port in %s must get NOT READY, "
		      "LOGICAL UNIT NOT ACCESSIBLE/NOT READY (04h/%02xh) "
		      "(SPC-4 §5.15.2); got status 0x%02x sense %x/%02x/%02x "
		      "(seed %llu)",
		      p->a->name, p->verb, state_str(st), state_ascq(st),
		      op->status, sk & 0xff, asc & 0xff, ascq & 0xff,
		      (unsigned long long)r->seed);
}

/* ASYMMETRIC ACCESS STATE CHANGED owed to this nexus. */
static void ua_check(struct runner *r, struct pend *p, struct ini_op *op)
{
	int li = lun_index(r, p->ls), sk, asc, ascq;
	struct sense_view v;
	char why[120];
	uint8_t *owed;
	bool passed;

	if (li < 0 || p->sess != p->a->sess)
		return;
	owed = &p->a->alua_owed[li];
	if (!is_ua_exempt(p) && p->a->alua_inflight[li] > 0)
		p->a->alua_inflight[li]--;
	if (!is_ua_exempt(p) || !strcmp(p->verb, "request-sense"))
		p->a->alua_useq[li] = ++r->alua.seq;
	if (op->outcome != INI_DONE || op->response != 0 ||
	    op->status == SCSI_STATUS_TASK_ABORTED) {
		/* it may have taken the attention with it, unseen */
		if (*owed == ALUA_UA_YES && !is_ua_exempt(p))
			*owed = ALUA_UA_MAYBE;
		return;
	}
	sense_parse(op, &sk, &asc, &ascq);
	if (!strcmp(p->verb, "request-sense")) {
		/* the pending attention comes back as data (SPC-4 §6.29) */
		/* in either format, maybe cut short by the allocation
		 * length (SPC-4 §4.5.2, §4.5.3) */
		if (op->status != SCSI_STATUS_GOOD)
			return;
		(void)sense_decode(op->in, op->in_len, &v, why, sizeof(why));
		if (v.asc < 0)
			return;
		sk = v.sk;
		asc = v.asc;
		ascq = v.ascq;
		if (sk == SK_UNIT_ATTENTION) {
			if (asc == 0x2a && ascq == 0x06)
				*owed = p->alua_epoch == r->alua.epoch
						? ALUA_UA_NO
						: ALUA_UA_MAYBE;
			return;
		}
		/* a running sanitize's progress comes instead, and the
		 * attention stays (spc.c; SBC-4 §4.11.2) */
		if (sk == SK_NOT_READY && asc == 0x04 && ascq == 0x1b)
			return;
		passed = true;
	} else if (is_ua_exempt(p)) {
		return;
	} else if (op->status == SCSI_STATUS_CHECK_CONDITION &&
		   sk == SK_UNIT_ATTENTION) {
		if (asc != 0x2a || ascq != 0x06)
			return;
		/* One nobody owed: no change since this nexus last heard
		 * (an STPG's sender included, SPC-4 §5.15.2). */
		if (*owed == ALUA_UA_NO && p->ua_at_issue == ALUA_UA_NO &&
		    p->alua_epoch == r->alua.epoch &&
		    r->alua.stpg_inflight == 0 && p->a->alua_inflight[li] == 0)
			failf(r, p->line,
			      "oracle: %s %s on lun %u got ASYMMETRIC ACCESS "
			      "STATE CHANGED, but no access state changed "
			      "since its I_T nexus last heard (seed %llu)",
			      p->a->name, p->verb, p->ls->lun,
			      (unsigned long long)r->seed);
		/* With a change during its life, it may have taken the
		 * older attention and left the newer queued. */
		*owed = p->alua_epoch == r->alua.epoch ? ALUA_UA_NO
						       : ALUA_UA_MAYBE;
		return;
	} else if (sanitize_refusal(op, sk, asc, ascq)) {
		return; /* refused before the attention, which stays */
	} else if (op->status == SCSI_STATUS_CHECK_CONDITION &&
		   sk == SK_ILLEGAL_REQUEST &&
		   ((asc == 0x24 && cdb_naca_len(op->cdb) != 0) ||
		    (asc == 0x49 && p->attr == SCSI_TASK_ACA))) {
		/* NACA or the ACA task attribute refused before the task
		 * set, and so before the attention, which stays (scsi.c
		 * aca_supported; the UA oracle takes 5/24h and 5/49h as no
		 * answer of it either) */
		return;
	} else {
		passed = op->status == SCSI_STATUS_GOOD ||
			 op->status == SCSI_STATUS_CHECK_CONDITION ||
			 op->status == SCSI_STATUS_RESERVATION_CONFLICT;
	}
	if (!passed)
		return;
	/* Another command of this nexus still out may have taken the
	 * attention before this one ran: answers come in any order. */
	if (p->a->alua_inflight[li] > 0)
		return;
	if (p->ua_at_issue == ALUA_UA_YES && *owed == ALUA_UA_YES &&
	    p->alua_epoch == r->alua.epoch) {
		failf(r, p->line,
		      "oracle: %s %s on lun %u was answered status 0x%02x "
		      "sense %x/%02x/%02x, not the ASYMMETRIC ACCESS STATE "
		      "CHANGED unit attention (2Ah/06h) its I_T nexus was owed "
		      "(SPC-4 §5.15.2) (seed %llu)",
		      p->a->name, p->verb, p->ls->lun, op->status, sk & 0xff,
		      asc & 0xff, ascq & 0xff, (unsigned long long)r->seed);
		*owed = ALUA_UA_NO;
		return;
	}
	/* It went through without an attention: none was queued when it ran,
	 * and no change came after (the epoch says so). */
	if (*owed == ALUA_UA_MAYBE && p->alua_epoch == r->alua.epoch)
		*owed = ALUA_UA_NO;
}

/* Does designator d (4 + d[3] bytes) appear in the list ids? */
static bool designator_in(const uint8_t *ids, uint32_t len, const uint8_t *d)
{
	for (uint32_t o = 0; o + 4 <= len; o += 4u + ids[o + 3])
		if (ids[o + 3] == d[3] && memcmp(ids + o, d, 4u + d[3]) == 0)
			return true;
	return false;
}

/* The target port designators of a VPD 83h answer through g's port
 * (association 01b, all but the group's, type 5) name that port: the
 * same one through another port would name two ports alike (SPC-4
 * §7.8.6.1; an NAA given as a port's, a name string without ",t,"). */
static void port_ids_check(struct runner *r, struct pend *p,
			   struct alua_tpg_st *g, const uint8_t *b,
			   uint32_t len)
{
	uint8_t ids[sizeof(g->port_ids)];
	uint32_t n = 0;

	for (uint32_t o = 4; o + 4 <= len && o + 4u + b[o + 3] <= len;
	     o += 4u + b[o + 3]) {
		const uint8_t *d = b + o;

		if ((d[1] & 0x30) != 0x10 || (d[1] & 0x0f) == 5 ||
		    n + 4u + d[3] > sizeof(ids))
			continue;
		for (int i = 0; i < r->alua.ntpgs && !r->failed; i++) {
			const struct alua_tpg_st *h = &r->alua.tpgs[i];

			if (h == g || h->tpgt == g->tpgt ||
			    !designator_in(h->port_ids, h->port_ids_len, d))
				continue;
			failf(r, p->line,
			      "oracle: %s's VPD page 83h on lun %u, through "
			      "the port of portal group %u, has a target port "
			      "designator (type %u) that the port of portal "
			      "group %u gave too: a target port designator "
			      "names one port (SPC-4 §7.8.6.1) (seed %llu)",
			      p->a->name, (unsigned)(p->lun & 0xffff), g->tpgt,
			      d[1] & 0x0f, h->tpgt,
			      (unsigned long long)r->seed);
			return;
		}
		memcpy(ids + n, d, 4u + d[3]);
		n += 4u + d[3];
	}
	if (g->port_ids_len == 0) {
		memcpy(g->port_ids, ids, n);
		g->port_ids_len = n;
	}
}

/* Device Identification VPD page (83h) through a port of a target port
 * group: its target port designators (association 01b) name that port:
 * a RELATIVE TARGET PORT designator (type 4; bytes 0-1 reserved, 2-3 the
 * identifier, never 0: SPC-4 §7.8.6.6) that REPORT TARGET PORT GROUPS
 * lists in the group, and a TARGET PORT GROUP designator (type 5, §7.8.6.7)
 * of the group the session's portal is in, if it names one.  Linux scsi_dh_alua takes
 * both from this page and looks the port up in RTPG. */
static void vpd83_ports_check(struct runner *r, struct pend *p,
			      struct ini_op *op)
{
	const uint8_t *b = op->in;
	struct alua_tpg_st *g = NULL;
	uint32_t len;
	int rtp = -1, tpg = -1;

	/* a LUN added live is in no device group: no group designator
	 * (and no group in REPORT TARGET PORT GROUPS) is then right */
	if (op->outcome != INI_DONE || op->status != SCSI_STATUS_GOOD ||
	    r->ctl_running || p->ctl_seq != r->ctl_seq || op->cdb[0] != 0x12 ||
	    !(op->cdb[1] & 0x01) || op->cdb[2] != 0x83 || op->in_len < 4 ||
	    b[1] != 0x83)
		return;
	len = get_be16(b + 2) + 4u;
	if (len > op->in_len)
		return; /* cut by the allocation length */
	for (uint32_t o = 4; o + 4 <= len; o += 4u + b[o + 3]) {
		const uint8_t *d = b + o;
		bool port = (d[1] & 0x30) == 0x10;

		if (o + 4u + d[3] > len)
			break;
		if (port && (d[1] & 0x0f) == 4 && d[3] == 4)
			rtp = (d[4] | d[5]) ? 0 : get_be16(d + 6);
		else if (port && (d[1] & 0x0f) == 5 && d[3] == 4)
			tpg = get_be16(d + 6);
	}
	for (int i = 0; i < r->alua.ntpgs; i++)
		if (r->alua.tpgs[i].tpgt == p->a->tpgt)
			g = &r->alua.tpgs[i];
	/* (with `target add`, another target's ports are other ports) */
	if (g != NULL && r->nextra == 0)
		port_ids_check(r, p, g, b, len);
	if (r->failed)
		return;
	if (rtp <= 0)
		failf(r, p->line,
		      "oracle: %s's VPD page 83h on lun %u has %s (SPC-4 "
		      "§7.8.6.6: bytes 0-1 reserved, 2-3 the RELATIVE TARGET "
		      "PORT IDENTIFIER, never 0) (seed %llu)",
		      p->a->name, (unsigned)(p->lun & 0xffff),
		      rtp < 0 ? "no relative target port designator"
			      : "a relative target port designator of port 0 "
				"or with its reserved bytes set",
		      (unsigned long long)r->seed);
	else if (g != NULL && tpg >= 0 && tpg != g->id)
		failf(r, p->line,
		      "oracle: %s's VPD page 83h on lun %u names target port "
		      "group %d, but its portal's port (portal group %u) is in "
		      "group %u (SPC-4 §7.8.6.7) (seed %llu)",
		      p->a->name, (unsigned)(p->lun & 0xffff), tpg, g->tpgt,
		      g->id, (unsigned long long)r->seed);
	else if (g != NULL && g->nports > 0) {
		bool listed = false;

		for (int k = 0; k < g->nports; k++)
			listed = listed || g->ports[k] == rtp;
		if (!listed)
			failf(r, p->line,
			      "oracle: %s's VPD page 83h on lun %u names "
			      "relative target port %d, which REPORT TARGET "
			      "PORT GROUPS does not list in group %u (SPC-4 "
			      "§6.36, §7.8.6.6) (seed %llu)",
			      p->a->name, (unsigned)(p->lun & 0xffff), rtp,
			      g->id, (unsigned long long)r->seed);
	}
}

/* Whether VPD page 83h (whole in what came) names a target port group:
 * a TARGET PORT GROUP designator (type 5, association 01b, §7.8.6.7). */
static bool vpd83_has_tpg(const uint8_t *b, uint32_t len)
{
	for (uint32_t o = 4; o + 4 <= len && o + 4u + b[o + 3] <= len;
	     o += 4u + b[o + 3])
		if ((b[o + 1] & 0x30) == 0x10 && (b[o + 1] & 0x0f) == 5)
			return true;
	return false;
}

static void membership_fail(struct runner *r, struct pend *p, const char *what)
{
	failf(r, p->line,
	      "oracle: %s's %s on lun %u: %s, but its LU is %s device group: "
	      "TPGS, the VPD 83h TARGET PORT GROUP designator, REPORT and SET "
	      "TARGET PORT GROUPS and the access states must all say the same "
	      "(SPC-4 §5.15, §6.6.2, §7.8.6.7; docs/configuration.md: a "
	      "device no DEVICE_GROUP names has no ALUA) (seed %llu)",
	      p->a->name, p->verb, (unsigned)(p->lun & 0xffff), what,
	      p->ls->alua_in ? "in a" : "in no", (unsigned long long)r->seed);
}

/* One LU, one answer about ALUA: an LU in a device group reports TPGS
 * 01b or 11b, names its port's group in VPD 83h and answers REPORT
 * TARGET PORT GROUPS; an LU in none (a device no DEVICE_GROUP names, as
 * one `target lun add` brings in) reports TPGS 00b, no group designator,
 * refuses REPORT and SET TARGET PORT GROUPS and is never refused for an
 * access state.  Judged in every run (without ALUA every LU is in none),
 * where the LUN's membership held for the command's whole life; VPD 83h
 * in single-target runs (the ports of a `target add` copy are in no
 * target port group, and the actor's target is not recorded). */
static void membership_check(struct runner *r, struct pend *p,
			     struct ini_op *op)
{
	const struct lun_st *l = p->ls;
	const uint8_t *b = op->in;
	bool in;
	int sk, asc, ascq;

	if (l == NULL || l->removed || l->alua_gen != p->alua_lun_gen ||
	    r->ctl_running || p->ctl_seq != r->ctl_seq ||
	    op->outcome != INI_DONE || op->response != 0)
		return;
	in = l->alua_in;
	if (op->status == SCSI_STATUS_CHECK_CONDITION) {
		sense_parse(op, &sk, &asc, &ascq);
		if (!in && sk == SK_NOT_READY && asc == 0x04 &&
		    (ascq == 0x0a || ascq == 0x0b || ascq == 0x0c))
			membership_fail(r, p, "refused for an access state");
		else if (in && p->kind == PK_RTPG && sk == SK_ILLEGAL_REQUEST &&
			 asc == 0x24)
			membership_fail(r, p,
					"REPORT TARGET PORT GROUPS refused "
					"as not supported");
		return;
	}
	if (op->status != SCSI_STATUS_GOOD)
		return;
	if (!in && (p->kind == PK_RTPG || p->kind == PK_STPG))
		membership_fail(r, p, "answered GOOD");
	else if (op->cdb[0] == 0x12 && !(op->cdb[1] & 0x01) &&
		 op->in_len >= 6 && (b[0] & 0xe0) == 0 &&
		 ((b[5] & 0x30) != 0) != in)
		membership_fail(r, p,
				in ? "standard INQUIRY says TPGS 00b"
				   : "standard INQUIRY says TPGS other "
				     "than 00b");
	else if (r->nextra == 0 && op->cdb[0] == 0x12 && (op->cdb[1] & 0x01) &&
		 op->cdb[2] == 0x83 && op->in_len >= 4 && b[1] == 0x83 &&
		 get_be16(b + 2) + 4u <= op->in_len &&
		 vpd83_has_tpg(b, get_be16(b + 2) + 4u) != in)
		membership_fail(r, p,
				in ? "VPD page 83h names no target port group"
				   : "VPD page 83h names a target port group");
}

void alua_done(struct runner *r, struct pend *p, struct ini_op *op)
{
	bool quiet;

	if (op->kind == INI_OP_SCSI && !r->failed && !r->against)
		membership_check(r, p, op);
	if (!alua_on(r) || op->kind != INI_OP_SCSI)
		return;
	quiet = p->alua_epoch == r->alua.epoch && r->alua.stpg_inflight == 0 &&
		p->alua_state >= 0;
	if (p->kind == PK_STPG)
		stpg_done(r, p, op);
	else if (p->kind == PK_RTPG)
		rtpg_done(r, p, op, quiet);
	if (!r->failed && !r->against)
		vpd83_ports_check(r, p, op);
	if (lun_judged(p) && !r->failed) {
		filter_check(r, p, op);
		ua_check(r, p, op);
	} else if (!is_ua_exempt(p) && p->sess == p->a->sess) {
		/* Not judged (its range is outside the model, its LU left
		 * the group...), it may still have taken the attention. */
		struct lun_st *l = lun_find(r, p->lun);
		int li = lun_index(r, l);

		if (li >= 0 && p->a->alua_owed[li] == ALUA_UA_YES)
			p->a->alua_owed[li] = ALUA_UA_MAYBE;
		/* and an STPG out now must know this nexus answered while
		 * it was (stpg_done: owed for sure only if nothing did) */
		if (li >= 0)
			p->a->alua_useq[li] = ++r->alua.seq;
	}
	if (p->mp != NULL)
		mp_after(p->mp, p, op);
}

/* `target lun remove` of l is under way: not judged meanwhile. */
void alua_lun_going(struct lun_st *l)
{
	l->alua_gen++;
	l->alua_in = false;
}

/* `target lun add` or `remove` (scenario.c) changed LUN l: its LU is in
 * the device group if its disk is (a removed device leaves the group);
 * what its nexuses are owed is unknown now. */
void alua_lun_changed(struct runner *r, struct lun_st *l)
{
	int li = lun_index(r, l);

	l->alua_gen++;
	l->alua_in = false;
	for (size_t g = 0; g < r->cfg.dgroup_count; g++)
		for (size_t i = 0; i < r->cfg.dgroups[g].dev_count; i++)
			if (!strcmp(r->cfg.dgroups[g].devs[i], l->disk))
				l->alua_in = true;
	for (int i = 0; li >= 0 && i < r->nactors; i++) {
		r->actors[i].alua_owed[li] = ALUA_UA_MAYBE;
		r->actors[i].alua_inflight[li] = 0;
	}
}

/* A control step applied: a restart after a crash brings up the
 * configuration as it is now (scenario.c ctl_apply), with the states of
 * this moment (iscsi_server_config shows them), unknown ones unknown. */
void alua_ctl_applied(struct runner *r)
{
	for (int i = 0; i < r->alua.ntpgs; i++)
		r->alua.tpgs[i].init =
			r->alua.stpg_inflight > 0 ? -1 : r->alua.tpgs[i].state;
}

/* A restarted target starts from the configuration again; the old
 * nexuses are gone and new ones get their power-on attention only. */
void alua_restarted(struct runner *r)
{
	for (int i = 0; i < r->alua.ntpgs; i++)
		r->alua.tpgs[i].state = r->alua.tpgs[i].init;
	r->alua.epoch++;
	for (int i = 0; i < r->nactors; i++) {
		/* the crash ended every connection: lost STPGs are dead */
		r->alua.stpg_inflight -= r->actors[i].alua_limbo;
		r->actors[i].alua_limbo = 0;
	}
	for (int i = 0; i < r->nactors; i++)
		for (int l = 0; l < r->nluns; l++) {
			r->actors[i].alua_owed[l] = ALUA_UA_NO;
			r->actors[i].alua_inflight[l] = 0;
		}
}
