/*
 * scenario_acl.c — initiator groups (SCST's GROUP / INITIATOR / LUN, LUN
 * masking) in a scenario, and the oracle of what each initiator may
 * reach.
 *
 *   group NAME initiators=PATTERN[,PATTERN...] luns=N[,N...]|none
 *         [ro=N[,N...]]
 *
 * puts a GROUP into the target's configuration (build_cfg): its INITIATOR
 * patterns and, for each N, `LUN N` on the device of the scenario's LUN N
 * (the same logical unit, so that every oracle keeps one model per LU),
 * read-only for the LUNs of ro= (a write through it: DATA PROTECT, WRITE
 * PROTECTED).  `target initiator add|remove GROUP PATTERN` and `target
 * group add|remove` change the groups live (scenario_target.c ctl_acl);
 * the oracle then judges by the new groups, and not the commands whose
 * life a control step crossed.
 * An initiator in no group gets the default LUN set: every `lun` line.
 *
 * The rules, as acl.h and docs/configuration.md state them, written here
 * again from that text (not by calling target/iscsi/acl.c, whose bugs
 * the oracle is there to see): a pattern matches a whole name, '*' any
 * run of characters, '?' any one, without regard to case; a leading '!'
 * makes it an exclusion.  A name belongs to a group when no exclusion of
 * the group matches it and one of its other patterns does, or the group
 * has only exclusions.  The first group (in declaration order) the name
 * belongs to gives its LUN set.  Then:
 *   - REPORT LUNS lists exactly that set (scenario_spc.c);
 *   - a command to another LUN is answered CHECK CONDITION, ILLEGAL
 *     REQUEST, LOGICAL UNIT NOT SUPPORTED (05/25/00), REQUEST SENSE
 *     returns that sense, a standard INQUIRY peripheral qualifier 011b,
 *     device type 1Fh (SPC-4 §4.6.2, §6.6.2, §6.39; SAM-5 §5.9);
 *   - an initiator whose set is empty may not log in: status class 2,
 *     0202h (RFC 7143 §11.13.5 "the initiator is not allowed access to
 *     the given target") or 0203h (utarget, as SCST's iscsi-scstd,
 *     answers "not found", hiding the target; both are accepted);
 *   - and SendTargets does not name the target to it.
 * `target lun add/remove` change only the default set: not allowed with
 * groups (the oracle would not know the groups' LUNs after them).
 * Writes through a read-only mapping (the LU's or the group's) must not
 * be GOOD, and writes through a writable one never get 07/27.
 *
 *   allowed_portal PATTERN
 *
 * is the target's allowed_portal: a login is admitted only on a local
 * address the patterns allow (the same rule), SendTargets names only
 * those portals, and the target only to a session on one of them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "config/config.h"
#include "scenario_int.h"
#include "scsi/scsi.h"

/* Does pattern p (no '!') match the whole of s? */
static bool glob_match(const char *p, const char *s)
{
	for (; *p != '\0'; p++, s++) {
		if (*p == '*') {
			/* the rest of the pattern from any suffix of s */
			for (const char *t = s;; t++) {
				if (glob_match(p + 1, t))
					return true;
				if (*t == '\0')
					return false;
			}
		}
		if (*s == '\0')
			return false;
		if (*p != '?' &&
		    tolower((unsigned char)*p) != tolower((unsigned char)*s))
			return false;
	}
	return *s == '\0';
}

static bool group_has(const struct acl_group_st *g, const char *name)
{
	char buf[sizeof(g->pats)], *save = NULL;
	bool positive = false, hit = false;

	snprintf(buf, sizeof(buf), "%s", g->pats);
	for (char *pat = strtok_r(buf, ",", &save); pat != NULL;
	     pat = strtok_r(NULL, ",", &save)) {
		if (pat[0] == '!') {
			if (glob_match(pat + 1, name))
				return false;
		} else {
			positive = true;
			hit = hit || glob_match(pat, name);
		}
	}
	return hit || !positive;
}

/* The group whose LUNs the actor sees, NULL for the default set. */
static const struct acl_group_st *group_of(const struct runner *r,
					   const struct actor *a)
{
	const char *name = ini_iqn(a->ini);

	for (int i = 0; i < r->nacl; i++)
		if (group_has(&r->acl[i], name))
			return &r->acl[i];
	return NULL;
}

bool acl_sees(const struct runner *r, const struct actor *a,
	      const struct lun_st *l)
{
	const struct acl_group_st *g = group_of(r, a);

	if (g == NULL)
		return true; /* the default set: every lun line */
	return l->lun < 64 && (g->luns >> l->lun & 1);
}

bool acl_ro(const struct runner *r, const struct actor *a,
	    const struct lun_st *l)
{
	const struct acl_group_st *g = group_of(r, a);

	return l->ro || (g != NULL && l->lun < 64 && (g->ro >> l->lun & 1));
}

void acl_views(const struct runner *r, uint8_t v[MAX_ACTORS][MAX_LUNS])
{
	memset(v, 0, sizeof(uint8_t[MAX_ACTORS][MAX_LUNS]));
	for (int i = 0; i < r->nactors; i++)
		for (int li = 0; li < r->nluns; li++) {
			const struct lun_st *l = &r->luns[li];

			if (!l->removed && acl_sees(r, &r->actors[i], l))
				v[i][li] = acl_ro(r, &r->actors[i], l) ? 2 : 1;
		}
}

/* allowed_portal: the patterns, with the groups' rule (an exclusion
 * wins; exclusions only: every other address), match the local address
 * a connection arrived on, without port or brackets. */
static bool portal_allowed(const struct runner *r, const char *portal)
{
	char host[64];
	const char *colon;
	bool positive = false, hit = false;

	if (r->nallowed == 0)
		return true;
	if (portal[0] == '[') {
		colon = strchr(portal, ']');
		snprintf(host, sizeof(host), "%.*s",
			 colon ? (int)(colon - portal - 1) : 0, portal + 1);
	} else {
		colon = strrchr(portal, ':');
		snprintf(host, sizeof(host), "%.*s",
			 colon ? (int)(colon - portal) : (int)strlen(portal),
			 portal);
	}
	for (int i = 0; i < r->nallowed; i++) {
		const char *pat = r->allowed_portals[i];

		if (pat[0] == '!') {
			if (glob_match(pat + 1, host))
				return false;
		} else {
			positive = true;
			hit = hit || glob_match(pat, host);
		}
	}
	return hit || !positive;
}

bool acl_may_login(const struct runner *r, const struct actor *a,
		   const char *portal)
{
	const struct acl_group_st *g = group_of(r, a);

	if (!portal_allowed(r, portal))
		return false;
	return g == NULL ? r->nluns > 0 : g->luns != 0;
}

/* allowed_portal PATTERN */
void decl_allowed_portal(struct runner *r, struct toks *t)
{
	if (t->n != 2 || r->nallowed == MAX_ACL_GROUPS || r->started ||
	    strlen(t->v[1]) >= sizeof(r->allowed_portals[0])) {
		syntaxf(r,
			"allowed_portal PATTERN (at most %d, before the "
			"target starts)",
			MAX_ACL_GROUPS);
		return;
	}
	snprintf(r->allowed_portals[r->nallowed++],
		 sizeof(r->allowed_portals[0]), "%s", t->v[1]);
}

/* luns=0,2 or ro=0: LUN numbers of lun lines (false: not) */
static bool lun_bits(struct runner *r, const char *name, const char *key,
		     const char *list, uint64_t *bits)
{
	char buf[256], *save = NULL;

	*bits = 0;
	if (list == NULL || strcmp(list, "none") == 0)
		return true;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *n = strtok_r(buf, ",", &save); n != NULL;
	     n = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long lun = strtoul(n, &end, 0);

		if (*end != '\0' || lun >= 64 || lun_find(r, lun) == NULL) {
			syntaxf(r,
				"group %s: %s=%s: LUN %s is not a lun line "
				"before (0..63)",
				name, key, list, n);
			return false;
		}
		*bits |= 1ull << lun;
	}
	return true;
}

/* NAME initiators=P1,P2 luns=0,2|none [ro=0] from t->v[at]: a new group
 * at the end of the list (false: a syntax error) */
static bool group_parse(struct runner *r, struct toks *t, int at)
{
	struct acl_group_st *g;
	const char *pats = kv(t, "initiators"), *luns = kv(t, "luns");

	if (t->n < at + 3 || pats == NULL || luns == NULL ||
	    r->nacl == MAX_ACL_GROUPS) {
		syntaxf(r,
			"group NAME initiators=PATTERN[,PATTERN...] "
			"luns=N[,N...]|none [ro=N[,N...]] (at most %d, "
			"after the lun lines)",
			MAX_ACL_GROUPS);
		return false;
	}
	g = &r->acl[r->nacl];
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", t->v[at]);
	if (strlen(pats) >= sizeof(g->pats) || pats[0] == '\0') {
		syntaxf(r, "group: initiators= too long or empty");
		return false;
	}
	snprintf(g->pats, sizeof(g->pats), "%s", pats);
	if (!lun_bits(r, g->name, "luns", luns, &g->luns) ||
	    !lun_bits(r, g->name, "ro", kv(t, "ro"), &g->ro))
		return false;
	if (g->ro & ~g->luns) {
		syntaxf(r, "group %s: ro= names a LUN not in luns=", g->name);
		return false;
	}
	r->nacl++;
	return true;
}

/* group NAME initiators=P1,P2 luns=0,2|none [ro=0] */
void decl_group(struct runner *r, struct toks *t)
{
	if (r->started) {
		syntaxf(r, "group: before the target starts (then: target "
			   "group add)");
		return;
	}
	(void)group_parse(r, t, 1);
}

static struct acl_group_st *group_find(struct runner *r, const char *name)
{
	for (int i = 0; i < r->nacl; i++)
		if (strcmp(r->acl[i].name, name) == 0)
			return &r->acl[i];
	return NULL;
}

/* PATTERN out of a comma-separated list (false: not in it) */
static bool pats_remove(char *pats, size_t cap, const char *pat)
{
	char buf[512], out[512] = "", *save = NULL;
	bool found = false;

	snprintf(buf, sizeof(buf), "%s", pats);
	for (char *p = strtok_r(buf, ",", &save); p != NULL;
	     p = strtok_r(NULL, ",", &save)) {
		if (!found && strcmp(p, pat) == 0) {
			found = true;
			continue;
		}
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s",
			 out[0] ? "," : "", p);
	}
	if (found)
		snprintf(pats, cap, "%s", out);
	return found;
}

bool acl_edit(struct runner *r, struct toks *t, bool *refused)
{
	const char *what = t->n >= 3 ? t->v[2] : "";
	bool add = strcmp(what, "add") == 0;
	struct acl_group_st *g;

	*refused = false;
	if (!add && strcmp(what, "remove") != 0) {
		syntaxf(r, "target initiator|group add|remove ...");
		return false;
	}
	if (strcmp(t->v[1], "group") == 0) {
		if (t->n < 4) {
			syntaxf(r, "target group add NAME initiators= luns= "
				   "[ro=] | target group remove NAME");
			return false;
		}
		g = group_find(r, t->v[3]);
		if (add && g != NULL) {
			*refused = true;
			return true;
		}
		if (add)
			return group_parse(r, t, 3);
		if (g == NULL) {
			*refused = true;
			return true;
		}
		memmove(g, g + 1,
			(size_t)(&r->acl[r->nacl] - (g + 1)) * sizeof(*g));
		r->nacl--;
		return true;
	}
	/* target initiator add|remove GROUP PATTERN */
	if (t->n < 5 || strchr(t->v[4], ',') != NULL) {
		syntaxf(r, "target initiator add|remove GROUP PATTERN");
		return false;
	}
	g = group_find(r, t->v[3]);
	if (g == NULL) {
		*refused = true;
		return true;
	}
	if (!add) {
		/* a group keeps one pattern at least in the scenario's
		 * rule (no pattern at all is "only exclusions": everyone) */
		char pats[sizeof(g->pats)];

		snprintf(pats, sizeof(pats), "%s", g->pats);
		if (!pats_remove(pats, sizeof(pats), t->v[4]) ||
		    pats[0] == '\0') {
			*refused = true;
			return true;
		}
		snprintf(g->pats, sizeof(g->pats), "%s", pats);
		return true;
	}
	if (strlen(g->pats) + strlen(t->v[4]) + 2 > sizeof(g->pats)) {
		syntaxf(r, "group %s: too many patterns", g->name);
		return false;
	}
	snprintf(g->pats + strlen(g->pats), sizeof(g->pats) - strlen(g->pats),
		 ",%s", t->v[4]);
	return true;
}

/* The groups into the configuration of the scenario's target (before
 * `target add` copies it: every target has the same groups). */
int acl_cfg(struct runner *r, struct ut_config *c)
{
	struct ut_target_cfg *tc = ut_config_find_target(c, r->iqn);

	if (r->nacl == 0 && r->nallowed == 0)
		return 0;
	if (tc == NULL)
		return -1;
	if (r->nallowed > 0) {
		/* room for UT_MAX_ALLOWED_PORTALS: the list grows in place
		 * (config.c cfg_array_add: capacity a power of two) */
		tc->allowed_portals =
			calloc(UT_MAX_ALLOWED_PORTALS, sizeof(char *));
		if (tc->allowed_portals == NULL)
			return -1;
		for (int i = 0; i < r->nallowed; i++) {
			tc->allowed_portals[i] = strdup(r->allowed_portals[i]);
			if (tc->allowed_portals[i] == NULL)
				return -1;
			tc->allowed_portal_count++;
		}
	}
	return acl_groups_cfg(r, tc);
}

int acl_groups_cfg(struct runner *r, struct ut_target_cfg *tc)
{
	for (int i = 0; i < r->nacl; i++) {
		const struct acl_group_st *d = &r->acl[i];
		struct ut_group_cfg *g = ut_target_add_group(tc, d->name);
		char buf[sizeof(d->pats)], *save = NULL;

		if (g == NULL)
			return -1;
		snprintf(buf, sizeof(buf), "%s", d->pats);
		for (char *pat = strtok_r(buf, ",", &save); pat != NULL;
		     pat = strtok_r(NULL, ",", &save))
			if (ut_group_add_initiator(g, pat) != 0)
				return -1;
		for (int k = 0; k < r->nluns; k++) {
			const struct lun_st *l = &r->luns[k];

			if (l->lun < 64 && (d->luns >> l->lun & 1) &&
			    ut_lun_add(tc, g, l->lun, l->disk,
				       l->ro || (d->ro >> l->lun & 1)) == NULL)
				return -1;
		}
	}
	return 0;
}

/* A command to a LUN outside the initiator's set: SAM-5 §5.9, SPC-4
 * §4.6.2 (a LUN with no logical unit), §6.6.2 (INQUIRY: qualifier 011b,
 * type 1Fh), §6.39 (REQUEST SENSE returns the sense it would have got).
 * REPORT LUNS is judged by its own oracle. */
/* No group change (nor any other control step) began or ended during
 * p's life: the sets of its send are those of its answer. */
static bool acl_stable(const struct runner *r, const struct pend *p)
{
	return !r->ctl_running && p->ctl_started == r->ctl_started &&
	       p->ctl_seq == r->ctl_seq;
}

/* A command that writes the medium through a read-only mapping (the LU's
 * `ro`, or `ro=` of the initiator's group) ends with DATA PROTECT, WRITE
 * PROTECTED (07/27/00, SBC-4 §4.13); through a writable one it never
 * gets 07/27 -- but for SPACE ALLOCATION FAILED WRITE PROTECT (07/27/07)
 * when one of the target's allocations failed while it was out (a RAM
 * disk's chunk, `target oom`). */
static void acl_ro_oracle(struct runner *r, struct pend *p,
			  const struct ini_op *op)
{
	int sk = -1, asc = -1, ascq = -1;

	if (p->ls == NULL || !pk_writes_medium(p->kind) || r->failed ||
	    r->against || op->outcome != INI_DONE || op->response != 0 ||
	    !acl_stable(r, p))
		return;
	if (op->status == SCSI_STATUS_CHECK_CONDITION)
		sense_parse(op, &sk, &asc, &ascq);
	if (p->acl_ro && op->status == SCSI_STATUS_GOOD)
		failf(r, p->line,
		      "oracle: ACL: lun %u is read-only for %s (%s), yet its "
		      "%s completed GOOD: DATA PROTECT, WRITE PROTECTED "
		      "(07/27/00) expected (seed %llu)",
		      p->ls->lun, p->a->name, ini_iqn(p->a->ini), p->verb,
		      (unsigned long long)r->seed);
	else if (!p->acl_ro && sk == SK_DATA_PROTECT && asc == 0x27 &&
		 !(ascq == 0x07 && oom_during(r, p)))
		failf(r, p->line,
		      "oracle: ACL: lun %u is writable for %s (%s), yet its "
		      "%s got DATA PROTECT, WRITE PROTECTED (seed %llu)",
		      p->ls->lun, p->a->name, ini_iqn(p->a->ini), p->verb,
		      (unsigned long long)r->seed);
}

void acl_scsi_done(struct runner *r, struct pend *p, struct ini_op *op)
{
	uint8_t opc = op->cdb[0];
	int sk = -1, asc = -1, ascq = -1;
	const char *want = NULL;
	char got[64];

	acl_ro_oracle(r, p, op);
	if (!p->acl_hidden || r->failed || r->against || !acl_stable(r, p) ||
	    op->outcome != INI_DONE || op->response != 0 ||
	    op->status == SCSI_STATUS_BUSY ||
	    op->status == SCSI_STATUS_TASK_SET_FULL || opc == 0xa0)
		return;
	/* A reset from another session ends it before it has reached the
	 * SCSI layer (a write waiting for its Data-Out: explore seed 971);
	 * whether a reset ran during its life is the TASK ABORTED
	 * oracle's to judge (scenario_oracle.c). */
	if (op->status == SCSI_STATUS_TASK_ABORTED)
		return;
	if (opc == 0x12 && !(op->cdb[1] & 0x01)) {
		if (op->status != SCSI_STATUS_GOOD || op->in_len < 1 ||
		    op->in[0] != 0x7f)
			want = "GOOD with peripheral qualifier 011b and "
			       "device type 1Fh (7Fh)";
		snprintf(got, sizeof(got), "status %02xh byte 0 %02xh",
			 op->status, op->in_len ? op->in[0] : 0);
	} else if (opc == 0x03) {
		if (op->status == SCSI_STATUS_GOOD)
			sense_key_of(op->in, op->in_len, &sk, &asc, &ascq);
		if (op->status != SCSI_STATUS_GOOD || sk != 5 || asc != 0x25 ||
		    ascq != 0)
			want = "GOOD with sense data 5/25/00";
		snprintf(got, sizeof(got), "status %02xh sense %x/%02x/%02x",
			 op->status, sk & 0xff, asc & 0xff, ascq & 0xff);
	} else {
		if (op->status == SCSI_STATUS_CHECK_CONDITION)
			sense_parse(op, &sk, &asc, &ascq);
		if (op->status != SCSI_STATUS_CHECK_CONDITION || sk != 5 ||
		    asc != 0x25 || ascq != 0)
			want = "CHECK CONDITION 5/25/00 (LOGICAL UNIT NOT "
			       "SUPPORTED)";
		snprintf(got, sizeof(got), "status %02xh sense %x/%02x/%02x",
			 op->status, sk & 0xff, asc & 0xff, ascq & 0xff);
	}
	if (want == NULL)
		return;
	{
		const struct acl_group_st *g = group_of(r, p->a);

		failf(r, p->line,
		      "oracle: ACL: %s (%s, %s) may not see lun %u, so its %s "
		      "must be answered %s; got %s (seed %llu)",
		      p->a->name, ini_iqn(p->a->ini),
		      g ? g->name : "default LUN set",
		      (unsigned)(p->lun & 0xffff), p->verb, want, got,
		      (unsigned long long)r->seed);
	}
}

void acl_login_done(struct runner *r, struct pend *p, struct ini_op *op)
{
	const struct acl_group_st *g;

	if (!p->acl_login || r->failed || r->against || !acl_stable(r, p) ||
	    op->outcome != INI_DONE || acl_may_login(r, p->a, p->acl_portal) ||
	    op->login_status == 0x0202 || op->login_status == 0x0203)
		return;
	g = group_of(r, p->a);
	failf(r, p->line,
	      "oracle: ACL: %s (%s, group %s) may not log in through portal "
	      "%s (%s): its login must be refused with 0202h (RFC 7143 "
	      "§11.13.5) or 0203h (the target hidden); got status %04xh "
	      "(seed %llu)",
	      p->a->name, ini_iqn(p->a->ini), g ? g->name : "-", p->acl_portal,
	      portal_allowed(r, p->acl_portal) ? "its group has no LUN"
					       : "allowed_portal excludes it",
	      op->login_status, (unsigned long long)r->seed);
}

/* One key=value of a SendTargets answer to p's actor: a TargetAddress
 * only of a portal allowed_portal allows, a TargetName only of a target
 * it may log in to from the portal it asks through. */
void acl_text_oracle(struct runner *r, struct pend *p, const char *kvp)
{
	/* a discovery session goes to the first portal (do_discovery) */
	const char *via = strcmp(p->verb, "discovery") == 0 || !p->a->portal[0]
				  ? r->portal
				  : p->a->portal;
	const char *name;
	bool ours;

	if (strncmp(kvp, "TargetAddress=", 14) == 0 && r->nallowed > 0) {
		char addr[64];
		const char *comma = strrchr(kvp, ',');

		snprintf(addr, sizeof(addr), "%.*s",
			 comma ? (int)(comma - kvp - 14)
			       : (int)strlen(kvp + 14),
			 kvp + 14);
		if (!portal_allowed(r, addr))
			failf(r, p->line,
			      "oracle: ACL: %s's %s answer says %s, a portal "
			      "allowed_portal excludes (logins there are "
			      "refused) (seed %llu)",
			      p->a->name, p->verb, kvp,
			      (unsigned long long)r->seed);
		return;
	}
	if ((r->nacl == 0 && r->nallowed == 0) || !acl_stable(r, p) ||
	    strncmp(kvp, "TargetName=", 11) != 0 || acl_may_login(r, p->a, via))
		return;
	name = kvp + 11;
	ours = strcmp(name, r->iqn) == 0;
	for (int i = 0; i < r->nextra && !ours; i++)
		ours = strcmp(name, r->extra_iqn[i]) == 0;
	if (ours)
		failf(r, p->line,
		      "oracle: ACL: %s's %s answer names %s, but %s (%s) may "
		      "not log in to it through %s (no LUN in its group, "
		      "or allowed_portal): SendTargets must not show it "
		      "(seed %llu)",
		      p->a->name, p->verb, name, p->a->name, ini_iqn(p->a->ini),
		      via, (unsigned long long)r->seed);
}
