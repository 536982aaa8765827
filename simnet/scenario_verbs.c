/*
 * scenario_verbs.c — what an actor line or a disk line does: logins and
 * discovery, SCSI commands, TMFs, NOP, Logout and raw PDUs (each a `pend`
 * whose answer the oracles check), waiting for an actor, network faults
 * (partition, stall, link settings) and disk faults.
 */
#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "model.h"
#include "scenario_int.h"

/* ---------------------------------------------------------- actions */

struct actor *actor_find(struct runner *r, const char *name)
{
	for (int i = 0; i < r->nactors; i++)
		if (strcmp(r->actors[i].name, name) == 0)
			return &r->actors[i];
	return NULL;
}

static void violation_hook(void *arg, struct ini *ini, const char *msg)
{
	struct runner *r = arg;

	failf(r, r->line, "protocol: %s saw: %s (seed %llu)", ini_actor(ini),
	      msg, (unsigned long long)r->seed);
}

struct pend *pend_new(struct runner *r, struct actor *a, const char *verb,
		      struct toks *t)
{
	struct pend *p = calloc(1, sizeof(*p));
	int ex = -1;

	if (p == NULL)
		abort();
	p->r = r;
	p->a = a;
	p->line = r->line;
	p->ctl_seq = r->ctl_seq;
	p->crashes_at = r->crashes;
	p->cold_at = r->cold_resets;
	p->net_blocks_at = a->net_blocks;
	p->net_blocked_at = a->net_blocks_on > 0;
	p->ctl_started = r->ctl_started;
	p->lun_map_steps = r->lun_map_steps;
	p->abort_events = r->abort_events;
	p->abort_possible = r->abort_inflight > 0 || aborts_pending(r);
	p->copies_at = r->copies_sent;
	p->aborts_unanswered = r->aborts_unanswered;
	p->state_fails_at = sim_state_failed(r->sim, NULL, NULL);
	p->oom_at = r->sim->oom.failed;
	for (int i = 0; i < r->nluns; i++)
		if (r->luns[i].copies_open > 0)
			p->copies_at = UINT64_MAX;
	if (strcmp(verb, "lun-reset") == 0 ||
	    strcmp(verb, "target-reset") == 0 ||
	    strcmp(verb, "clear-task-set") == 0 ||
	    strcmp(verb, "pr-preempt-abort") == 0 || strcmp(verb, "cdb") == 0 ||
	    strcmp(verb, "raw") == 0) {
		p->may_abort_others = true;
		r->abort_events++;
		r->abort_inflight++;
	}
	snprintf(p->verb, sizeof(p->verb), "%s", verb);
	exp_init(&p->e);
	for (int i = 0; i < t->n; i++) {
		if (strcmp(t->v[i], "&") == 0)
			p->async = true;
		if (strcmp(t->v[i], "expect") == 0 && ex < 0)
			ex = i;
	}
	if (ex >= 0) {
		exp_parse(r, &p->e, t, ex + 1);
		t->n = ex;
	}
	{
		const char *as = kv(t, "as");

		if (as != NULL)
			snprintf(p->label, sizeof(p->label), "%s", as);
	}
	p->sess = a->sess;
	p->ua_issue = ua_tick(r);
	TAILQ_INSERT_TAIL(&r->pends, p, link);
	return p;
}

static struct pend *pend_by_label(struct runner *r, const char *label)
{
	struct pend *p;

	TAILQ_FOREACH (p, &r->pends, link)
		if (strcmp(p->label, label) == 0)
			return p;
	return NULL;
}

struct ini_op *op_for(struct pend *p, enum ini_op_kind kind)
{
	struct ini_op *op = ini_op_new(p->a->ini, kind, pend_done, p);

	op->first_in = pend_first_in;
	op->in_seg = pend_in_seg;
	p->op = op;
	return op;
}

void finish_issue(struct runner *r, struct pend *p)
{
	if (p->op != NULL) {
		p->itt = p->op->itt;
		p->cmdsn = p->op->cmdsn;
	}
	if (!p->async)
		wait_pend(r, p, SYNC_TIMEOUT_NS);
}

/* A write sent with a CmdSN certainly outside the window or a duplicate
 * is silently ignored (RFC 7143 §4.2.2.1): never applied, from its
 * sending on -- not only once its op ends (at the connection's end, as
 * nothing answers it): a read meanwhile may not see its value. */
static void ignored_write_never_applied(struct pend *p, const struct ini_op *op)
{
	struct lun_st *l = p->ls;

	if (p->kind != PK_WRITE || !op->sent || !op->cmdsn_outside ||
	    l == NULL || l->m == NULL || p->handle == 0)
		return;
	model_write_end(l->m, p->handle, 1, false, model_tick(l->m));
}

static void issue_scsi(struct runner *r, struct actor *a, const char *verb,
		       struct toks *t)
{
	struct pend *p = pend_new(r, a, verb, t);
	struct ini_op *op = op_for(p, INI_OP_SCSI);
	const char *cs = kv(t, "cmdsn");

	if (!scsi_build(r, p, op, verb, t)) {
		syntaxf(r, "unknown verb '%s'", verb);
		p->done = true;
		p->op = NULL;
		ini_op_free(op);
		return;
	}
	if (r->failed) {
		p->done = true;
		p->op = NULL;
		ini_op_free(op);
		return;
	}
	cmds_count(r, op->cdb);
	lu_stats_sent(r, p, op->cdb);
	if (p->ls) {
		struct lun_st *l = p->ls;

		if (l->m != NULL)
			p->sent = model_tick(l->m);
		if (p->kind != PK_SANITIZE)
			p->san_gen = l->san_gen;
		p->epoch = l->epoch;
		p->pr_alone = l->pr_inflight == 0;
		p->pr_known = !l->pr.unknown && !l->spc2_used;
		p->pr_epoch = l->pr_epoch;
		if (p->kind == PK_RESERVE || p->kind == PK_RELEASE)
			l->resv_inflight++;
		pr_gen_sent(l, p);
		if (p->kind == PK_PROUT) {
			ua_pr_sent(r, p);
			l->pr_inflight++;
			p->pr_issued = ++l->pr_issued;
			l->pr_epoch++;
			p->pr_store_fails_at = pr_store_failed(r, l, NULL);
		}
	}
	if (cs != NULL) {
		/* `cmdsn=dup`: the CmdSN of the last non-immediate PDU of
		 * the session that took one and went out, a duplicate the
		 * target must ignore (lane dupcmd19) */
		if (strcmp(cs, "dup") == 0)
			op->cmdsn_dup = true;
		else
			op->cmdsn_delta = (int32_t)strtol(cs, NULL, 0);
		op->cmdsn_forced = true;
	}
	/* a CmdSN gap: it takes its CmdSN, and waits for `send-held` */
	op->hold = has(t, "hold");
	if (op->hold && cs != NULL)
		syntaxf(r, "hold and cmdsn= do not go together");
	op->imm_over = (uint32_t)u64_or(t, "imm-over", 0, r);
	if (kv(t, "dataout-bad") != NULL) {
		const char *db = kv(t, "dataout-bad");

		if (strcmp(db, "datasn") == 0)
			op->dataout_bad = INI_DOBAD_DATASN;
		else if (strcmp(db, "offset") == 0)
			op->dataout_bad = INI_DOBAD_OFFSET;
		else
			syntaxf(r, "dataout-bad=datasn|offset");
	}
	spc_sent(r, p, op);
	med_sent(r, p, op);
	ua_scsi_sent(r, p, op);
	/* a PREEMPT AND ABORT: the other actors' commands waiting for their
	 * CmdSN turn on its LU (scenario_oracle.c gap_reset_*) */
	if (p->kind == PK_PROUT)
		gap_reset_sent(r, p);
	alua_issue(r, p);
	ini_scsi(a->ini, op);
	ignored_write_never_applied(p, op);
	finish_issue(r, p);
}

/* `cmdsn=+N` or `cmdsn=dup` on a NOP-Out, Text, TMF or Logout: sent
 * non-immediate at once with that CmdSN, taking no number (lane
 * cmdsnign18). */
static bool request_forced_cmdsn(struct runner *r, struct ini_op *op,
				 struct toks *t)
{
	const char *cs = kv(t, "cmdsn");

	if (cs == NULL)
		return false;
	op->cmdsn_forced = true;
	if (strcmp(cs, "dup") == 0)
		op->cmdsn_dup = true;
	else if (cs[0] == '+' || cs[0] == '-')
		op->cmdsn_delta = (int32_t)strtol(cs, NULL, 0);
	else
		syntaxf(r, "cmdsn=+N, cmdsn=-N or cmdsn=dup");
	return true;
}

/* A TMF certainly ignored (its forced CmdSN outside the window or a
 * duplicate, RFC 7143 §4.2.2.1): it is no TMF to the models -- no reset,
 * no abort, no unit attention may come of it. */
static void issue_tmf_ignored(struct runner *r, struct pend *p,
			      struct ini_op *op)
{
	p->kind = PK_OTHER;
	if (p->may_abort_others) {
		p->may_abort_others = false;
		r->abort_events--;
		r->abort_inflight--;
	}
	ini_tmf(p->a->ini, op);
	finish_issue(r, p);
}

static void issue_tmf(struct runner *r, struct actor *a, const char *verb,
		      struct toks *t)
{
	struct pend *p = pend_new(r, a, verb, t);
	struct ini_op *op = op_for(p, INI_OP_TMF);
	struct pend *q;

	p->kind = PK_TMF;
	op->nonimm = has(t, "nonimm"); /* it takes a CmdSN */
	op->lun = u64_or(t, "lun", 0, r);
	p->lun = op->lun;
	if (strcmp(verb, "abort") == 0) {
		const char *ref = kv(t, "ref");

		op->tmf_fn = ISCSI_TMF_ABORT_TASK;
		q = ref ? pend_by_label(r, ref) : NULL;
		if (q == NULL) {
			syntaxf(r, "abort ref=LABEL: no op labelled '%s'",
				ref ? ref : "");
			return;
		}
		op->ref_itt = q->op ? q->op->itt : q->itt;
		op->ref_cmdsn = q->op ? q->op->cmdsn : q->cmdsn;
		p->tmf_ref = q;
		p->tmf_ref_answered = q->done && q->outcome == INI_DONE &&
				      q->sess == a->sess && q->a == a;
		/* the task's LUN, unless lun= names another (I_T_L_Q) */
		if (kv(t, "lun") == NULL) {
			op->lun = q->lun;
			p->lun = q->lun;
		}
	} else if (strcmp(verb, "abort-task-set") == 0) {
		op->tmf_fn = ISCSI_TMF_ABORT_TASK_SET;
	} else if (strcmp(verb, "clear-task-set") == 0) {
		op->tmf_fn = ISCSI_TMF_CLEAR_TASK_SET;
	} else if (strcmp(verb, "lun-reset") == 0) {
		op->tmf_fn = ISCSI_TMF_LOGICAL_UNIT_RESET;
	} else if (strcmp(verb, "target-reset") == 0) {
		op->tmf_fn = has(t, "cold") ? ISCSI_TMF_TARGET_COLD_RESET
					    : ISCSI_TMF_TARGET_WARM_RESET;
	}
	p->tmf_fn = op->tmf_fn;
	r->res->tmf_count[op->tmf_fn % SCN_STAT_TMFS]++;
	if (request_forced_cmdsn(r, op, t)) {
		uint32_t sn;

		if (ini_state(a->ini) == INI_S_FFP &&
		    ini_forced_ignored(a->ini, op, &sn)) {
			issue_tmf_ignored(r, p, op);
			return;
		}
	}
	if (op->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET ||
	    tmf_target_reset(op->tmf_fn))
		alua_reset_sent(r, p);
	if (tmf_target_reset(op->tmf_fn) ||
	    op->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET)
		med_reset_sent(r, p);
	if (op->tmf_fn == ISCSI_TMF_TARGET_COLD_RESET)
		cold_reset_sent(r, p);
	for (int i = 0; i < r->nluns; i++)
		if ((tmf_target_reset(op->tmf_fn) ||
		     (op->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET &&
		      r->luns[i].lun == op->lun)) &&
		    acl_sees(r, a, &r->luns[i])) {
			r->luns[i].epoch++;
			r->luns[i].uncertain = true;
			r->luns[i].resets_inflight++;
		}
	/* From now the reset may replace every queued unit attention of
	 * the LUs it resets (UA oracle). */
	if (tmf_target_reset(op->tmf_fn) ||
	    op->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET)
		ua_tmf_sent(r, p);
	gap_reset_sent(r, p);
	ini_tmf(a->ini, op);
	if (op->tmf_fn == ISCSI_TMF_TARGET_COLD_RESET)
		cold_reset_issued(r, p);
	finish_issue(r, p);
}

static bool actor_down_pred(void *arg)
{
	return ini_state(((struct actor *)arg)->ini) == INI_S_DOWN;
}

static bool actor_not_logout_pred(void *arg)
{
	return ini_state(((struct actor *)arg)->ini) != INI_S_LOGOUT;
}

/* Against a real target, a failed login's or a logout's connection is
 * closed by the target a moment after its answer, not in the same
 * instant as in the simulator: a login that follows waits for that (2 s
 * at most, then the actor closes it itself). */
static void against_wait_down(struct runner *r, struct actor *a, bool bad)
{
	/* (a misbehaving login waits likewise for the connection of the
	 * failed login before it, in the simulator too) */
	if ((!r->against && !bad) || ini_state(a->ini) != INI_S_LOGOUT)
		return;
	if (!sim_run_until(r->sim, r->sim->now_ns + 2 * SIM_NS_PER_S,
			   actor_down_pred, a))
		ini_disconnect(a->ini);
}

/* bad=KIND (initiator.h enum ini_login_bad), extra-keys=N (private keys
 * the target must answer NotUnderstood, once each), tsih-of=ACTOR (bad=tsih
 * names that actor's session: its ISID and TSIH). */
static bool login_misbehaviour(struct runner *r, struct actor *a,
			       struct ini_op *op, struct toks *t)
{
	const char *bad = kv(t, "bad"), *of = kv(t, "tsih-of");

	op->login_extra_keys = (uint16_t)u64_or(t, "extra-keys", 0, r);
	if (op->login_extra_keys > 110) {
		syntaxf(r, "extra-keys=N: at most 110 (128 keys a login)");
		return false;
	}
	if (bad == NULL)
		return true;
	op->login_bad = (uint8_t)ini_login_bad_parse(bad);
	if (op->login_bad == INI_LB_NONE) {
		syntaxf(r, "login bad=%s: unknown (initiator.h ini_login_bad)",
			bad);
		return false;
	}
	if (op->login_bad == INI_LB_CONT_TEXT && op->login_extra_keys < 110)
		op->login_extra_keys = 110; /* a response in pieces */
	if (op->login_bad == INI_LB_TSIH) {
		const struct actor *b = of ? actor_find(r, of) : a;
		uint16_t tsih;

		if (b == NULL) {
			syntaxf(r, "tsih-of=%s: no such actor", of);
			return false;
		}
		tsih = ini_tsih(b->ini);
		if (b == a) /* a TSIH our ISID has no session of */
			tsih = (tsih ^ 0x8001) ? (uint16_t)(tsih ^ 0x8001)
					       : 0x4001;
		op->bad_tsih = tsih;
		op->bad_tsih_set = b != a;
		memcpy(op->bad_isid, ini_isid(b->ini), 6);
	}
	return true;
}

static void issue_login(struct runner *r, struct actor *a, struct toks *t,
			bool discovery, const char *verb)
{
	struct pend *p;
	struct ini_op *op;
	char keys[1024] = "";
	size_t n = 0;
	const char *tgt = kv(t, "target");
	const char *portal = kv(t, "portal");

	against_wait_down(r, a, kv(t, "bad") != NULL);
	p = pend_new(r, a, verb, t);
	op = op_for(p, INI_OP_LOGIN);
	p->kind = PK_LOGIN;
	for (int i = 1; i < t->n; i++)
		if (isupper((unsigned char)t->v[i][0]) && strchr(t->v[i], '='))
			n += (size_t)snprintf(keys + n, sizeof(keys) - n, "%s ",
					      t->v[i]);
	if (n > 0 || keys[0] == '\0')
		ini_set_login_keys(a->ini, n > 0 ? keys : a->keys);
	if (!login_misbehaviour(r, a, op, t))
		return;
	op->login_skip_security = has(t, "skip-security");
	p->login_chap = r->nusers_in[discovery ? 1 : 0] > 0;
	for (int i = 1; i < t->n; i++)
		if (!strncmp(t->v[i], "X#", 2) || !strncmp(t->v[i], "X-", 2) ||
		    !strncmp(t->v[i], "TaskReporting=", 14))
			p->login_legal_keys = true;
	{
		struct ini_chap c;

		chap_opts(r, &c, &a->chap, t);
		ini_set_chap(a->ini, &c);
		wire_login_creds(r, p, op, &c, discovery,
				 strstr(n > 0 ? keys : a->keys,
					"AuthMethod=") != NULL);
	}
	/* A reconnect goes where the last login went (its portal group,
	 * and its target). */
	if (portal == NULL && a->portal[0] && !discovery)
		portal = a->portal;
	if (!discovery && tgt == NULL && strcmp(verb, "reconnect") == 0 &&
	    a->tgt[0])
		tgt = a->tgt;
	else if (!discovery)
		snprintf(a->tgt, sizeof(a->tgt), "%s", tgt ? tgt : "");
	p->acl_login = !discovery;
	snprintf(p->acl_portal, sizeof(p->acl_portal), "%s",
		 portal ? portal : r->portal);
	if (!discovery) {
		if (portal != a->portal)
			snprintf(a->portal, sizeof(a->portal), "%s",
				 portal ? portal : r->portal);
		a->tpgt = alua_portal_tpgt(r, a->portal);
		p->alua_epoch = r->alua.epoch;
	}
	ini_login(a->ini, op, portal ? portal : r->portal, tgt ? tgt : r->iqn,
		  discovery);
	finish_issue(r, p);
}

/* A Text Request's text: one key=value per send=KEY=VALUE word (none:
 * SendTargets=All); abandon: stop after the first piece of the answer. */
/* private-keys=N: the name of private key i, "X-k" and three digits
 * (short, so that 129 of them fit a PDU of 2 KiB). */
#define TEXT_PRIVATE_KEYS_MAX 200u

static void text_request(struct runner *r, struct ini_op *op, struct toks *t)
{
	size_t len = 0;
	unsigned int keys = (unsigned int)u64_or(t, "private-keys", 0, r);

	op->text_abandon = has(t, "abandon");
	for (int i = 0; i < t->n; i++) {
		const char *w = t->v[i];
		size_t n;
		char *b;

		if (strncmp(w, "send=", 5) != 0)
			continue;
		if (strchr(w + 5, '=') == NULL) {
			syntaxf(r, "send=KEY=VALUE");
			return;
		}
		n = strlen(w + 5) + 1;
		b = realloc(op->text_req, len + n);
		if (b == NULL)
			abort();
		memcpy(b + len, w + 5, n);
		op->text_req = b;
		len += n;
	}
	if (keys > TEXT_PRIVATE_KEYS_MAX) {
		syntaxf(r, "private-keys=N: at most %u", TEXT_PRIVATE_KEYS_MAX);
		return;
	}
	if (keys) {
		char *b = realloc(op->text_req, len + keys * 10u);

		if (b == NULL)
			abort();
		for (unsigned int i = 0; i < keys; i++)
			len += (size_t)snprintf(b + len, 10, "X-k%03u=1", i) +
			       1;
		op->text_req = b;
		op->text_private_keys = (uint16_t)keys;
	}
	op->text_req_len = (uint32_t)len;
}

static void issue_simple(struct runner *r, struct actor *a, const char *verb,
			 struct toks *t, enum ini_op_kind kind)
{
	struct pend *p = pend_new(r, a, verb, t);
	struct ini_op *op = op_for(p, kind);

	/* a NOP-Out or Logout that takes a CmdSN (RFC 7143 §3.2.2.1), or
	 * carries one forced (cmdsn=) */
	op->nonimm = has(t, "nonimm");
	(void)request_forced_cmdsn(r, op, t);
	switch (kind) {
	case INI_OP_NOP:
		/* data=BYTES: ping data the NOP-In must echo (the
		 * initiator checks it) */
		op->edtl = (uint32_t)u64_or(t, "data", 0, r);
		if (op->edtl > 0) {
			op->out = malloc(op->edtl);
			if (op->out == NULL)
				abort();
			for (uint32_t i = 0; i < op->edtl; i++)
				op->out[i] = (uint8_t)(i * 7 + r->line);
		}
		ini_nop(a->ini, op);
		break;
	case INI_OP_LOGOUT: {
		/* reason=session|connection|recovery (RFC 7143 §11.14.1:
		 * 0, 1, 2), cid=N: the connection it names (ours if
		 * none) */
		const char *why = kv(t, "reason");

		p->kind = PK_LOGOUT;
		if (why == NULL || strcmp(why, "session") == 0)
			op->logout_reason = ISCSI_LOGOUT_CLOSE_SESSION;
		else if (strcmp(why, "connection") == 0)
			op->logout_reason = ISCSI_LOGOUT_CLOSE_CONNECTION;
		else if (strcmp(why, "recovery") == 0)
			op->logout_reason = ISCSI_LOGOUT_REMOVE_FOR_RECOVERY;
		else
			syntaxf(r, "logout reason=session|connection|recovery");
		if (kv(t, "cid"))
			op->logout_cid =
				(int32_t)(u64_or(t, "cid", 0, r) & 0xffff);
		/* a logout that may be refused keeps the session (and its
		 * reservation) until its answer says otherwise */
		if (op->logout_reason == ISCSI_LOGOUT_CLOSE_SESSION &&
		    !(op->cmdsn_forced && ini_state(a->ini) == INI_S_FFP &&
		      ini_forced_ignored(a->ini, op, &(uint32_t){0})))
			resv_drop_holder(r, a);
		ini_logout(a->ini, op);
		break;
	}
	case INI_OP_TEXT:
		p->kind = PK_TEXT;
		text_request(r, op, t);
		ini_text_sendtargets(a->ini, op);
		break;
	case INI_OP_RAW: {
		uint8_t buf[4096];
		size_t n = t->n > 2 ? hex_decode(t->v[2], buf, sizeof(buf)) : 0;

		if (p->e.outcome == XO_DEFAULT && !p->e.given)
			p->e.outcome = XO_ANY;
		if (n == (size_t)-1 || n == 0) {
			syntaxf(r, "raw HEX: bad hex");
			n = 0;
		}
		op->raw = malloc(n ? n : 1);
		if (op->raw == NULL)
			abort();
		memcpy(op->raw, buf, n);
		op->raw_len = (uint32_t)n;
		ini_raw(a->ini, op);
		break;
	}
	default:
		assert(0);
	}
	finish_issue(r, p);
}

/* discovery: login (SessionType=Discovery), SendTargets, logout; the
 * expectation applies to the SendTargets answer. */
static void do_discovery(struct runner *r, struct actor *a, struct toks *t)
{
	struct toks none = {.n = 0};
	struct pend *p;
	struct ini_chap c;
	/* An expectation about the login itself ends the discovery there. */
	bool login_only = has(t, "auth-failure") || has(t, "auth-refused") ||
			  kv(t, "login") != NULL;

	if (ini_state(a->ini) != INI_S_DOWN)
		ini_disconnect(a->ini);
	chap_opts(r, &c, &a->chap, t);
	ini_set_chap(a->ini, &c);
	ini_set_login_keys(a->ini, a->keys); /* not an earlier login's */
	p = pend_new(r, a, "discovery-login", login_only ? t : &none);
	ini_login(a->ini, op_for(p, INI_OP_LOGIN), r->portal, NULL, true);
	p->kind = PK_LOGIN;
	finish_issue(r, p);
	if (r->failed || login_only)
		return;
	issue_simple(r, a, "discovery", t, INI_OP_TEXT);
	if (r->failed)
		return;
	p = pend_new(r, a, "discovery-logout", &none);
	p->kind = PK_LOGOUT;
	ini_logout(a->ini, op_for(p, INI_OP_LOGOUT));
	finish_issue(r, p);
}

/* Forget answered ops nobody can refer to any more (no label). */
void pend_gc(struct runner *r)
{
	struct pend *p, *next;

	for (p = TAILQ_FIRST(&r->pends); p != NULL; p = next) {
		next = TAILQ_NEXT(p, link);
		if (p->done && p->label[0] == '\0') {
			TAILQ_REMOVE(&r->pends, p, link);
			free(p->blk_re);
			free(p);
		}
	}
}

void actor_wait(struct runner *r, struct actor *a)
{
	for (;;) {
		struct pend *p, *w = NULL;

		pend_gc(r);
		TAILQ_FOREACH (p, &r->pends, link)
			if ((a == NULL || p->a == a) && !p->done &&
			    p->e.outcome != XO_NONE && !p->exempt) {
				w = p;
				break;
			}
		if (w == NULL || r->failed)
			return;
		wait_pend(r, w, SYNC_TIMEOUT_NS);
	}
}

/* --------------------------------------------------- network verbs */

static unsigned int parse_dirs(struct runner *r, const struct toks *t)
{
	if (has(t, "to-target"))
		return SIM_TO_TARGET;
	if (has(t, "from-target"))
		return SIM_FROM_TARGET;
	if (has(t, "both") || t->n <= 2)
		return SIM_BOTH;
	return SIM_BOTH;
}

void net_cfg_apply(struct runner *r, struct sim_link_cfg *c,
		   const struct toks *t)
{
	const char *v;
	uint64_t ns;

	if ((v = kv(t, "delay")) && parse_dur(v, &ns))
		c->delay_ns = ns;
	if ((v = kv(t, "jitter")) && parse_dur(v, &ns))
		c->jitter_ns = ns;
	if ((v = kv(t, "chunk")))
		c->max_chunk = (uint32_t)u64_or(t, "chunk", 0, r);
	if ((v = kv(t, "window")))
		c->window_bytes = (uint32_t)u64_or(t, "window", 0, r);
	if ((v = kv(t, "partial"))) {
		c->partial_send = strcmp(v, "on") == 0;
		c->partial_recv = c->partial_send;
	}
	if (has(t, "normal")) {
		*c = *sim_net_default(r->sim);
		c->max_chunk = 0;
		c->partial_send = c->partial_recv = false;
		c->jitter_ns = 0;
	}
}

void heal_fire(struct sim_ev *ev)
{
	struct heal_ev *h = SIM_CONTAINER_OF(ev, struct heal_ev, ev);

	SIM_TRACE(h->r->sim, "fault %s %s heals", h->a->name,
		  h->stall ? "stall" : "partition");
	if (h->a->net_blocks_on > 0)
		h->a->net_blocks_on--;
	if (h->stall) {
		if (ini_conn(h->a->ini))
			sim_conn_stall(ini_conn(h->a->ini), h->dirs, false);
	} else {
		sim_host_block(ini_host(h->a->ini), h->dirs, false);
	}
	free(h);
}

/* Heal events are tracked so that they can be freed at the end. */
static void schedule_heal(struct runner *r, struct actor *a, unsigned int dirs,
			  bool stall, uint64_t after)
{
	struct heal_ev *h = calloc(1, sizeof(*h));

	if (h == NULL)
		abort();
	sim_ev_init(&h->ev, heal_fire);
	h->r = r;
	h->a = a;
	h->dirs = dirs;
	h->stall = stall;
	sim_ev_at(r->sim, &h->ev, r->sim->now_ns + after);
}

static const char *dir_name(unsigned int d)
{
	return d == SIM_TO_TARGET     ? "to-target"
	       : d == SIM_FROM_TARGET ? "from-target"
				      : "both ways";
}

void heal_all(struct runner *r)
{
	/* A remote store that is away comes back. */
	for (int i = 0; i < r->nluns; i++) {
		struct sim_disk *d = sim_disk_find(r->sim, r->luns[i].disk);
		struct sim_disk_cfg *c = d ? sim_disk_cfg(d) : NULL;

		if (c && c->away_until_ns > r->sim->now_ns)
			c->away_until_ns = r->sim->now_ns;
	}
	for (int i = 0; i < r->nactors; i++) {
		struct actor *a = &r->actors[i];

		a->net_blocks_on = 0;
		sim_host_block(ini_host(a->ini), SIM_BOTH, false);
		if (ini_conn(a->ini))
			sim_conn_stall(ini_conn(a->ini), SIM_BOTH, false);
	}
}

/* ----------------------------------------------------- actor verbs */

void actor_verb(struct runner *r, struct actor *a, struct toks *t)
{
	const char *verb = t->n > 1 ? t->v[1] : "";
	const char *v;
	uint64_t ns;

	if (!target_start(r))
		return;
	SIM_TRACE(r->sim, "line %d: %s %s", r->line, a->name, verb);
	if (strcmp(verb, "login") == 0) {
		issue_login(r, a, t, false, verb);
	} else if (strcmp(verb, "reconnect") == 0) {
		r->res->fault_count[SCN_F_RECONNECT]++;
		if (ini_state(a->ini) != INI_S_DOWN)
			ini_disconnect(a->ini);
		resv_drop_holder(r, a);
		issue_login(r, a, t, false, verb);
	} else if (strcmp(verb, "discovery") == 0) {
		do_discovery(r, a, t);
	} else if (strcmp(verb, "logout") == 0) {
		issue_simple(r, a, verb, t, INI_OP_LOGOUT);
	} else if (strcmp(verb, "nop") == 0) {
		issue_simple(r, a, verb, t, INI_OP_NOP);
	} else if (strcmp(verb, "text") == 0) {
		issue_simple(r, a, verb, t, INI_OP_TEXT);
	} else if (strcmp(verb, "raw") == 0) {
		issue_simple(r, a, verb, t, INI_OP_RAW);
	} else if (strcmp(verb, "stall-pdu") == 0) {
		wire_stall_pdu(r, a, t);
	} else if (strcmp(verb, "corrupt") == 0) {
		wire_corrupt(r, a, t);
	} else if (strcmp(verb, "abort") == 0 ||
		   strcmp(verb, "lun-reset") == 0 ||
		   strcmp(verb, "abort-task-set") == 0 ||
		   strcmp(verb, "clear-task-set") == 0 ||
		   strcmp(verb, "target-reset") == 0) {
		issue_tmf(r, a, verb, t);
	} else if (strcmp(verb, "disconnect") == 0) {
		r->res->fault_count[SCN_F_DISCONNECT]++;
		ini_disconnect(a->ini);
		resv_drop_holder(r, a);
	} else if (strcmp(verb, "rst") == 0) {
		r->res->fault_count[SCN_F_RST]++;
		ini_reset(a->ini);
		resv_drop_holder(r, a);
	} else if (strcmp(verb, "fin") == 0) {
		r->res->fault_count[SCN_F_FIN]++;
		ini_half_close(a->ini);
	} else if (strcmp(verb, "vanish") == 0) {
		r->res->fault_count[SCN_F_VANISH]++;
		ini_vanish(a->ini);
		resv_drop_holder(r, a);
	} else if (strcmp(verb, "send-held") == 0) {
		/* the commands held back (`hold`) go, in CmdSN order (not
		 * `release`: that is SPC-2 RELEASE) */
		struct pend *q;

		/* a Logout of ours is unanswered (a refused one keeps the
		 * session, `logout cid=N`): the initiator sends nothing until
		 * its answer, so the held commands go then (60 s at most) */
		if (ini_state(a->ini) == INI_S_LOGOUT && ini_held(a->ini) > 0)
			(void)sim_run_until(r->sim,
					    r->sim->now_ns + 60 * SIM_NS_PER_S,
					    actor_not_logout_pred, a);
		SIM_TRACE(r->sim, "%s releases %u held command(s)", a->name,
			  ini_held(a->ini));
		ini_release(a->ini);
		/* what the unit attention model knows of a command is when
		 * it was sent: now, for those held back */
		TAILQ_FOREACH (q, &r->pends, link)
			if (q->a == a && q->op != NULL && q->op->hold &&
			    q->op->sent && !q->released) {
				q->released = true;
				q->ua_issue = ua_tick(r);
			}
	} else if (strcmp(verb, "hold-r2t") == 0) {
		ini_set_hold_r2t(a->ini, !has(t, "off"));
	} else if (strcmp(verb, "ignore-nopin") == 0) {
		ini_set_ignore_nopin(a->ini, !has(t, "off"));
	} else if (strcmp(verb, "wait") == 0) {
		actor_wait(r, a);
	} else if (strcmp(verb, "forget") == 0) {
		struct pend *p;

		TAILQ_FOREACH (p, &r->pends, link)
			if (p->a == a && !p->done)
				p->exempt = true;
	} else if ((strcmp(verb, "net") == 0 ||
		    strcmp(verb, "partition") == 0 ||
		    strcmp(verb, "stall") == 0) &&
		   against_skip(r, verb)) {
		/* skipped: a real network is not ours to fault */
	} else if (strcmp(verb, "net") == 0) {
		r->res->fault_count[SCN_F_NET]++;
		net_cfg_apply(r, sim_host_cfg(ini_host(a->ini)), t);
		SIM_TRACE(r->sim,
			  "fault %s link: delay=%lluns jitter=%lluns "
			  "chunk=%u window=%u partial=%d",
			  a->name,
			  (unsigned long long)sim_host_cfg(ini_host(a->ini))
				  ->delay_ns,
			  (unsigned long long)sim_host_cfg(ini_host(a->ini))
				  ->jitter_ns,
			  sim_host_cfg(ini_host(a->ini))->max_chunk,
			  sim_host_cfg(ini_host(a->ini))->window_bytes,
			  sim_host_cfg(ini_host(a->ini))->partial_send);
	} else if (strcmp(verb, "partition") == 0 ||
		   strcmp(verb, "stall") == 0) {
		unsigned int dirs = parse_dirs(r, t);
		bool stall = verb[0] == 's';

		r->res->fault_count[stall ? SCN_F_STALL : SCN_F_PARTITION]++;
		a->net_blocks++;
		a->net_blocks_on++;
		SIM_TRACE(r->sim, "fault %s %s %s", a->name, verb,
			  dir_name(dirs));
		if (stall) {
			if (ini_conn(a->ini))
				sim_conn_stall(ini_conn(a->ini), dirs, true);
		} else {
			sim_host_block(ini_host(a->ini), dirs, true);
		}
		if ((v = kv(t, "for")) != NULL) {
			if (!parse_dur(v, &ns))
				syntaxf(r, "for=DURATION");
			else
				schedule_heal(r, a, dirs, stall, ns);
		}
	} else if (strcmp(verb, "heal") == 0) {
		SIM_TRACE(r->sim, "fault %s heals", a->name);
		a->net_blocks_on = 0;
		sim_host_block(ini_host(a->ini), SIM_BOTH, false);
		if (ini_conn(a->ini))
			sim_conn_stall(ini_conn(a->ini), SIM_BOTH, false);
	} else {
		issue_scsi(r, a, verb, t);
	}
}

/* ------------------------------------------------------ disk verbs */

void disk_verb(struct runner *r, struct lun_st *l, struct toks *t)
{
	struct sim_disk *d;
	struct sim_disk_cfg *c;
	const char *verb = t->n > 1 ? t->v[1] : "";
	const char *v;
	uint64_t ns;

	if (!target_start(r))
		return;
	d = sim_disk_find(r->sim, l->disk);
	if (d == NULL) {
		syntaxf(r, "%s is not a simulated disk (backstore=%s)", l->disk,
			l->kind == BS_MEM ? "mem" : "null");
		return;
	}
	c = sim_disk_cfg(d);
	SIM_TRACE(r->sim, "fault disk %s %s", l->disk, verb);
	if (strcmp(verb, "eio") == 0) {
		struct sim_disk_fault *f;

		r->res->fault_count[SCN_F_EIO]++;
		if (c->fault_count == SIM_DISK_FAULTS_MAX) {
			syntaxf(r, "too many disk faults");
			return;
		}
		f = &c->faults[c->fault_count++];
		memset(f, 0, sizeof(*f));
		if (has(t, "read"))
			f->ops |= 1u << BS_OP_READ;
		if (has(t, "write"))
			f->ops |= 1u << BS_OP_WRITE | 1u << BS_OP_WRITE_ZEROES |
				  1u << BS_OP_WRITE_SAME |
				  1u << BS_OP_COMPARE_AND_WRITE;
		if (has(t, "flush"))
			f->ops |= 1u << BS_OP_FLUSH;
		if (f->ops == 0)
			f->ops = 0x7f; /* every op */
		f->lba_first = 0;
		f->lba_last = UINT64_MAX;
		if ((v = kv(t, "lba")) != NULL) {
			unsigned long long a = 0, b = 0;
			int n = sscanf(v, "%llu..%llu", &a, &b);

			f->lba_first = a;
			f->lba_last = n == 2 ? b : a;
		}
		f->prob = (v = kv(t, "prob")) ? strtod(v, NULL) : 1.0;
		f->count = (int32_t)(kv(t, "count")
					     ? (int64_t)u64_or(t, "count", 0, r)
					     : -1);
	} else if (strcmp(verb, "latency") == 0) {
		r->res->fault_count[SCN_F_LATENCY]++;
		if ((v = kv(t, "min")) && parse_dur(v, &ns))
			c->lat_min_ns = ns;
		if ((v = kv(t, "max")) && parse_dur(v, &ns))
			c->lat_max_ns = ns;
		if (c->lat_max_ns < c->lat_min_ns)
			c->lat_max_ns = c->lat_min_ns;
		if ((v = kv(t, "slow")) && parse_dur(v, &ns))
			c->lat_slow_ns = ns;
		if ((v = kv(t, "slow-prob")))
			c->slow_prob = strtod(v, NULL);
	} else if (strcmp(verb, "remote") == 0) {
		/* A remote store: long tails and a client timeout. */
		r->res->fault_count[SCN_F_REMOTE]++;
		if ((v = kv(t, "tail")) && parse_dur(v, &ns))
			c->tail_ns = ns;
		if ((v = kv(t, "tail-prob")))
			c->tail_prob = strtod(v, NULL);
		if ((v = kv(t, "timeout")) && parse_dur(v, &ns))
			c->timeout_ns = ns;
	} else if (strcmp(verb, "away") == 0) {
		/* The store disappears now and returns after for=. */
		r->res->fault_count[SCN_F_AWAY]++;
		if (!(v = kv(t, "for")) || !parse_dur(v, &ns)) {
			syntaxf(r, "disk away for=DURATION [fenced]");
			return;
		}
		c->away_from_ns = r->sim->now_ns;
		c->away_until_ns = r->sim->now_ns + ns;
		c->away_fenced = has(t, "fenced");
	} else if (strcmp(verb, "clear") == 0) {
		c->fault_count = 0;
	} else if (strcmp(verb, "crash-keep") == 0) {
		c->crash_keep = t->n > 2 ? strtod(t->v[2], NULL) : 0.4;
		c->crash_tear = (v = kv(t, "tear")) ? strtod(v, NULL) : 0.0;
	} else {
		syntaxf(r,
			"unknown disk verb '%s' (eio latency remote away clear "
			"crash-keep)",
			verb);
	}
}

static void decl_isid(struct runner *r, struct actor *a, const char *v)
{
	uint8_t isid[6];

	if (strlen(v) != 12 || strspn(v, "0123456789abcdefABCDEF") != 12) {
		syntaxf(r, "isid=HEX: 12 hex digits");
		return;
	}
	for (int i = 0; i < 6; i++) {
		char byte[3] = {v[2 * i], v[2 * i + 1], '\0'};

		isid[i] = (uint8_t)strtoul(byte, NULL, 16);
	}
	ini_set_isid(a->ini, isid);
}

void decl_initiator(struct runner *r, struct toks *t)
{
	struct actor *a;
	char iqn[UT_NAME_MAX];

	if (t->n < 2 || r->nactors == MAX_ACTORS || actor_find(r, t->v[1])) {
		syntaxf(r, "initiator NAME [IQN] (at most %d, unique)",
			MAX_ACTORS);
		return;
	}
	a = &r->actors[r->nactors];
	memset(a, 0, sizeof(*a));
	a->idx = r->nactors++;
	snprintf(a->name, sizeof(a->name), "%s", t->v[1]);
	if (t->n > 2 && strchr(t->v[2], '=') == NULL &&
	    strcmp(t->v[2], "chap-reflect") != 0)
		snprintf(iqn, sizeof(iqn), "%s", t->v[2]);
	else
		snprintf(iqn, sizeof(iqn), "iqn.2026-11.org.utarget:init-%s",
			 a->name);
	a->ini = ini_new(r->sim, a->name, iqn, (unsigned int)a->idx);
	ini_set_hooks(a->ini, violation_hook, NULL, r);
	if (r->against)
		ini_set_lun_base(a->ini, r->o.against_lun_base);
	else
		ini_set_target_params(a->ini, &r->params);
	/* cmdsn= expstatsn= itt=: where its sequence numbers and tags
	 * start (just below 2^32: they wrap during the run). */
	ini_set_start(a->ini, (uint32_t)u64_or(t, "cmdsn", 1, r),
		      (uint32_t)u64_or(t, "expstatsn", 0, r),
		      (uint32_t)u64_or(t, "itt", 0x1000u * (a->idx + 1), r));
	/* isid=HEX: its ISID, 12 hex digits (default 80 00 'S' 'I' and its
	 * index).  Two actors with one IQN and one ISID are one initiator
	 * port; through two portal groups they are two sessions (the
	 * session identifier is the ISID and the TPGT, RFC 7143 §4.4.3). */
	if (kv(t, "isid"))
		decl_isid(r, a, kv(t, "isid"));
	{
		struct ini_chap none;

		memset(&none, 0, sizeof(none));
		chap_opts(r, &a->chap, &none, t);
	}
	{
		size_t n = 0;

		for (int i = 2; i < t->n; i++)
			if (strchr(t->v[i], '=') &&
			    isupper((unsigned char)t->v[i][0]))
				n += (size_t)snprintf(a->keys + n,
						      sizeof(a->keys) - n,
						      "%s ", t->v[i]);
	}
}
