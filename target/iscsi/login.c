/*
 * login.c — the login phase (RFC 7143 §6.3, §11.12, §11.13).
 *
 * Stages (CSG/NSG): 0 SecurityNegotiation, 1 LoginOperationalNegotiation,
 * 3 FullFeaturePhase.  The initiator may start in stage 0 or 1 and asks to
 * move on with the T bit and the NSG it wants; we agree by echoing T=1.
 *
 *     start --(CSG=0)--> SECURITY --T,NSG=1--> OPERATIONAL --T,NSG=3--> FFP
 *       \                    \------------------T,NSG=3-----------------/
 *        \--(CSG=1)--> OPERATIONAL
 *
 * A request with C=1 continues its text in the next PDU; we answer each
 * such PDU with an empty Login Response and negotiate once the text is
 * complete.  Every failure is answered with a Login Response carrying the
 * status class and detail of RFC 7143 §11.13.5, then the connection ends.
 *
 * Security (RFC 7143 §12.1.3, chap.c): a target, or discovery, with an
 * IncomingUser requires CHAP.  The security stage is then left only once
 * the exchange is done: a transit request in mid-exchange is answered
 * T=0 (§6.2: the target may refuse to move on), one before AuthMethod
 * has picked CHAP, or a login that starts in the operational stage,
 * fails with 0x0201 as SCST's iscsi-scstd does.
 *
 * Access (acl.h): an initiator with no LUNs in the target, or a
 * connection on a portal allowed_portal excludes, gets 0x0203 "not
 * found", before any authentication (as iscsi-scstd does).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

void iscsi_params_rfc_defaults(struct iscsi_params *p)
{
	/* RFC 7143 §13 defaults, which hold for every key not negotiated. */
	memset(p, 0, sizeof(*p));
	p->max_recv_dsl = 8192;
	p->max_xmit_dsl = 8192;
	p->max_burst = 262144;
	p->first_burst = 65536;
	p->max_outstanding_r2t = 1;
	p->default_time2wait = 2;
	p->default_time2retain = 20;
	p->error_recovery_level = 0;
	p->initial_r2t = true;
	p->immediate_data = true;
	p->data_pdu_in_order = true;
	p->data_seq_in_order = true;
	/* RFC 7143 §13.14: FirstBurstLength <= MaxBurstLength; §13.12:
	 * 512 bytes at least */
	ut_assert(p->first_burst <= p->max_burst);
	ut_assert(p->max_recv_dsl >= 512 && p->max_xmit_dsl >= 512);
}

int iscsi_login_start(struct iscsi_conn *c)
{
	ut_assert(c->login == NULL);
	ut_assert(c->state == CONN_LOGIN);
	c->login = calloc(1, sizeof(*c->login));
	if (!c->login)
		return -ENOMEM;
	iscsi_kvlist_init(&c->login->agreed);
	return 0;
}

/* The login is over (the session took what it needed) or the connection
 * closes: the login state goes, secrets wiped (chap.h). */
static void login_cleanup(struct iscsi_conn *c)
{
	struct iscsi_login_state *ls = c->login;

	if (!ls)
		return;
	/* it goes when the session took over, or when the connection
	 * closes; full feature phase never keeps it */
	ut_assert(c->state != CONN_FFP || c->sess != NULL);
	ut_assert(c->state == CONN_FFP || c->closing);
	free(ls->text);
	free(ls->out);
	iscsi_kvlist_free(&ls->agreed);
	iscsi_chap_clear(&ls->chap);
	free(ls);
	c->login = NULL;
}

/* Queue a Login Response carrying a copy of len bytes of text.  status != 0
 * ends the connection after it; cont sets the C bit (more text follows). */
static void login_respond_raw(struct iscsi_conn *c, uint16_t status,
			      bool transit, bool cont, int csg, int nsg,
			      const uint8_t *data, uint32_t len)
{
	struct iscsi_login_state *ls = c->login;
	struct iscsi_txpdu *t = iscsi_txpdu_new(c, ISCSI_OP_LOGIN_RSP);
	struct iscsi_bhs h = {0};

	ut_assert(ls != NULL);
	ut_assert(c->state == CONN_LOGIN); /* only during login */
	/* RFC 7143 §11.13.1: never T and C together; a piece fits what the
	 * initiator receives (login_send_out() cuts) */
	ut_assert(!(transit && cont));
	ut_assert(len <= c->max_xmit_dsl);
	if (!t)
		return; /* iscsi_txpdu_new() closes the connection */
	if (len && iscsi_txpdu_copy_data(t, data, len)) {
		iscsi_txpdu_discard(c, t);
		iscsi_conn_fail_soon(c, "out of memory for a PDU's data");
		return;
	}
	h.opcode = ISCSI_OP_LOGIN_RSP;
	if (status == 0) {
		h.flags = (uint8_t)((csg & 3) << 2);
		if (cont)
			h.flags |= ISCSI_LOGIN_F_CONTINUE;
		else if (transit)
			h.flags |= (uint8_t)(ISCSI_LOGIN_F_TRANSIT | (nsg & 3));
	}
	h.b2 = 0; /* VersionMax */
	h.b3 = 0; /* VersionActive */
	h.lun = (uint64_t)ls->isid[0] << 56 | (uint64_t)ls->isid[1] << 48 |
		(uint64_t)ls->isid[2] << 40 | (uint64_t)ls->isid[3] << 32 |
		(uint64_t)ls->isid[4] << 24 | (uint64_t)ls->isid[5] << 16 |
		ls->tsih;
	h.itt = ls->itt;
	h.stat_sn = c->stat_sn++;
	h.exp_cmdsn = ls->cmdsn;
	h.max_cmdsn = ls->max_cmdsn;
	iscsi_bhs_set_login_status(&h, status);
	if (status != 0)
		t->close_after = true;
	iscsi_conn_queue(c, t, &h);
}

static void login_respond(struct iscsi_conn *c, uint16_t status, bool transit,
			  int csg, int nsg)
{
	login_respond_raw(c, status, transit, false, csg, nsg, NULL, 0);
}

static void login_fail(struct iscsi_conn *c, uint16_t status, const char *why)
{
	ut_assert(status != 0); /* a failure has a status class */
	ut_assert(why != NULL);
	LOG_INFO(c->env,
		 "event=login-failed conn=%u status=0x%04x initiator=%s "
		 "reason=\"%s\"",
		 c->id, status,
		 c->login && c->login->initiator_name[0]
			 ? c->login->initiator_name
			 : "-",
		 why);
	login_respond(c, status, false, 0, 0);
	iscsi_conn_flush(c);
	if (!c->closing) /* drop anything else that arrives */
		iscsi_conn_set_state(c, CONN_LOGOUT);
}

/* RFC 7143 §4.2.7.2: iSCSI names; we accept the iqn./eui./naa. forms and
 * the characters they may hold, at most 223 bytes. */
static bool iscsi_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len >= UT_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = n[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		      ch == ':' || ch == '_'))
			return false;
	}
	return true;
}

/* The first complete request names the initiator, the session type and
 * the target.  Returns 0, or a login status to fail with. */
static uint16_t login_identify(struct iscsi_conn *c,
			       const struct iscsi_kvlist *req, const char **why)
{
	struct iscsi_login_state *ls = c->login;
	const char *ini = iscsi_kv_get(req, "InitiatorName");
	const char *type = iscsi_kv_get(req, "SessionType");
	const char *tgt = iscsi_kv_get(req, "TargetName");
	const char *alias = iscsi_kv_get(req, "InitiatorAlias");

	ut_assert(!ls->first_done); /* identified once, by the first text */
	ut_assert(ls->tgt == NULL);
	if (!ini) {
		*why = "InitiatorName missing";
		return ISCSI_LS_MISSING_PARAMETER;
	}
	if (!iscsi_name_ok(ini)) {
		*why = "malformed InitiatorName";
		return ISCSI_LS_INIT_ERR;
	}
	snprintf(ls->initiator_name, sizeof(ls->initiator_name), "%s", ini);
	if (alias)
		snprintf(ls->initiator_alias, sizeof(ls->initiator_alias), "%s",
			 alias);
	if (!type || strcmp(type, "Normal") == 0) {
		ls->discovery = false;
	} else if (strcmp(type, "Discovery") == 0) {
		ls->discovery = true;
	} else {
		*why = "unknown SessionType";
		return ISCSI_LS_SESSION_TYPE_UNSUPPORTED;
	}
	if (ls->discovery)
		return 0;
	if (!tgt) {
		*why = "TargetName missing in a normal session";
		return ISCSI_LS_MISSING_PARAMETER;
	}
	ls->tgt = c->srv->ops->find_target(c->srv, tgt);
	if (!ls->tgt || !iscsi_tgt_conf(ls->tgt)->enabled) {
		*why = "no such target";
		return ISCSI_LS_NOT_FOUND;
	}
	if (!iscsi_acl_may_login(iscsi_tgt_conf(ls->tgt), ini,
				 c->info.local_addr)) {
		/* Indistinguishable from a missing target, as in SCST. */
		*why = "initiator or portal not allowed for this target";
		return ISCSI_LS_NOT_FOUND;
	}
	if (ls->tsih != 0) {
		/* MaxConnections=1: a login naming an existing session would
		 * add a second connection to it. */
		bool exists = c->srv->ops->session_exists(c->srv, ini, ls->isid,
							  ls->tgt,
							  c->info.portal_group,
							  ls->tsih);

		*why = exists ? "MaxConnections is 1" : "TSIH names no session";
		return exists ? ISCSI_LS_TOO_MANY_CONNECTIONS
			      : ISCSI_LS_SESSION_DOES_NOT_EXIST;
	}
	/* a normal session goes on only toward an enabled target */
	ut_assert(ls->tgt != NULL);
	ut_assert(iscsi_tgt_conf(ls->tgt)->enabled);
	return 0;
}

static const struct iscsi_auth_cfg *login_auth(struct iscsi_conn *c)
{
	struct iscsi_login_state *ls = c->login;

	return ls->tgt ? &iscsi_tgt_conf(ls->tgt)->auth
		       : &c->srv->discovery_auth;
}

/* The security stage's own keys: AuthMethod and the CHAP exchange.
 * Returns 0 or a login status to fail with (*why set). */
static uint16_t login_security(struct iscsi_conn *c,
			       const struct iscsi_kvlist *req,
			       struct iscsi_kvlist *resp, bool *transit,
			       const char **why)
{
	struct iscsi_login_state *ls = c->login;
	enum chap_stage before = ls->chap.stage;

	ut_assert(ls->csg == ISCSI_STAGE_SECURITY);
	ut_assert(ls->first_done);
	if (iscsi_chap_step(&ls->chap, c->env, login_auth(c), req, resp, why))
		return *why == iscsi_chap_oom ? ISCSI_LS_OUT_OF_RESOURCES
					      : ISCSI_LS_AUTH_FAILED;
	if (before != CHAP_DONE && ls->chap.stage == CHAP_DONE)
		LOG_INFO(c->env,
			 "event=chap-ok conn=%u algorithm=%d mutual=%d "
			 "initiator=%s",
			 c->id, (int)ls->chap.alg, ls->chap.mutual ? 1 : 0,
			 ls->initiator_name);
	if (!*transit)
		return 0;
	switch (ls->chap.stage) {
	case CHAP_OFF:
	case CHAP_DONE:
		return 0;
	case CHAP_WANT_METHOD:
		*why = "CHAP is required but AuthMethod did not select it";
		return ISCSI_LS_AUTH_FAILED;
	case CHAP_WANT_ALG:
	case CHAP_WANT_RESPONSE:
		*transit = false; /* not before the exchange is done */
		return 0;
	}
	ut_unreachable("a CHAP stage outside enum chap_stage");
}

static bool key_is_identity(const char *k)
{
	return !strcmp(k, "InitiatorName") || !strcmp(k, "InitiatorAlias") ||
	       !strcmp(k, "SessionType") || !strcmp(k, "TargetName");
}

static const struct ut_iscsi_params *login_cfg(struct iscsi_conn *c)
{
	struct iscsi_login_state *ls = c->login;

	if (ls->tgt)
		return &iscsi_tgt_conf(ls->tgt)->params;
	return &c->srv->cfg_params;
}

/* Finish the login: the final response goes out with the old (no digest)
 * framing; the negotiated framing applies from the next PDU on. */
static void login_complete(struct iscsi_conn *c, const uint8_t *text,
			   uint32_t text_len)
{
	struct iscsi_login_state *ls = c->login;
	struct iscsi_sess_init in = {
		.tgt = ls->tgt,
		.discovery = ls->discovery,
		.initiator_name = ls->initiator_name,
		.initiator_alias = ls->initiator_alias,
		.isid = ls->isid,
		.cmdsn = ls->cmdsn,
	};
	struct iscsi_sess *s;

	/* Never full feature phase without the authentication the target
	 * or discovery requires (RFC 7143 §12.1.3). */
	ut_assert(ls->first_done);
	ut_assert(ls->chap.stage == CHAP_OFF || ls->chap.stage == CHAP_DONE);
	/* (CHAP_OFF: no IncomingUser when the login began) */
	ut_assert(ls->chap.stage == CHAP_OFF || ls->chap.verified);
	if (ls->p.first_burst > ls->p.max_burst)
		ls->p.first_burst = ls->p.max_burst;
	/* RFC 7143 §6.3.5: a live session of this ISID is logged out first,
	 * its tasks ended; the response waits for it (iscsi_login_resume,
	 * which comes back here: another login may have made one since). */
	ut_assert(!ls->reinst_wait);
	if (!ls->discovery &&
	    c->srv->ops->reinstate(c->srv, c, ls->initiator_name, ls->isid,
				   ls->tgt, c->info.portal_group)) {
		ls->reinst_wait = true;
		return;
	}
	in.p = ls->p;
	s = iscsi_sess_new(c, &in);
	if (!s) {
		login_fail(c, ISCSI_LS_OUT_OF_RESOURCES,
			   "cannot create session");
		return;
	}
	ls->tsih = s->tsih;
	/* The final response opens the session's whole command window. */
	ls->max_cmdsn = s->max_cmdsn;
	login_respond_raw(c, 0, true, false, ls->csg, ISCSI_STAGE_FULL_FEATURE,
			  text, text_len);
	c->sess = s;
	s->conn = c;
	c->cid = ls->cid;
	c->header_digest = ls->p.header_digest;
	c->data_digest = ls->p.data_digest;
	c->max_recv_dsl = ls->p.max_recv_dsl;
	c->max_xmit_dsl = ls->p.max_xmit_dsl;
	iscsi_conn_enter_ffp(c, &iscsi_ffp_phase,
			     s->tgt ? &iscsi_tgt_conf(s->tgt)->params
				    : &c->srv->cfg_params);
	LOG_INFO(c->env,
		 "event=login conn=%u type=%s tsih=%u initiator=%s target=%s "
		 "hd=%s dd=%s mrdsl=%u mxdsl=%u first_burst=%u max_burst=%u "
		 "r2t=%u",
		 c->id, s->discovery ? "discovery" : "normal", s->tsih,
		 s->initiator_name, s->tgt ? s->tgt->name : "-",
		 c->header_digest ? "CRC32C" : "None",
		 c->data_digest ? "CRC32C" : "None", c->max_recv_dsl,
		 c->max_xmit_dsl, s->p.first_burst, s->p.max_burst,
		 s->p.max_outstanding_r2t);
	login_cleanup(c);
}

/* Send the next piece of the pending response text.  RFC 7143 §11.13.1: a
 * response longer than the initiator takes (8192 bytes during login) goes
 * out in pieces with the C bit set, each asked for by an empty Login
 * Request; the last piece carries T and NSG, or completes the login. */
static void login_send_out(struct iscsi_conn *c)
{
	struct iscsi_login_state *ls = c->login;
	uint32_t left;
	const uint8_t *piece = ls->out ? ls->out + ls->out_off : NULL;

	ut_assert(ls->out_off <= ls->out_len);
	left = ls->out_len - ls->out_off;
	ut_assert(left == 0 || piece != NULL);

	if (left > c->max_xmit_dsl) {
		login_respond_raw(c, 0, false, true, ls->csg, 0, piece,
				  c->max_xmit_dsl);
		ls->out_off += c->max_xmit_dsl;
		return;
	}
	if (ls->out_complete) {
		login_complete(c, piece, left); /* frees ls->out */
		return;
	}
	login_respond_raw(c, 0, ls->out_transit, false, ls->csg, ls->out_nsg,
			  piece, left);
	if (ls->out_transit)
		ls->csg = ls->out_nsg;
	free(ls->out);
	ls->out = NULL;
	ls->out_len = ls->out_off = 0;
}

/* The session this login reinstates has ended (registry.c). */
void iscsi_login_resume(struct iscsi_conn *c)
{
	struct iscsi_login_state *ls = c->login;

	if (c->state != CONN_LOGIN || c->closing || !ls || !ls->reinst_wait)
		return;
	/* the final response's text is still where login_send_out left it */
	ut_assert(ls->out_complete);
	ls->reinst_wait = false;
	login_send_out(c);
	iscsi_conn_kick(c);
}

/* Check the header of a login request against the login so far. */
static uint16_t login_check_header(struct iscsi_conn *c,
				   const struct iscsi_bhs *h, const char **why)
{
	struct iscsi_login_state *ls = c->login;
	bool transit = h->flags & ISCSI_LOGIN_F_TRANSIT;
	bool cont = h->flags & ISCSI_LOGIN_F_CONTINUE;
	int csg = ISCSI_LOGIN_CSG(h->flags), nsg = ISCSI_LOGIN_NSG(h->flags);
	uint8_t isid[6];

	ut_assert(ls->pdu_count >= 1); /* counted by login_rx() */
	ut_assert(h->opcode == ISCSI_OP_LOGIN_REQ);
	for (int i = 0; i < 6; i++)
		isid[i] = (uint8_t)(h->lun >> (56 - 8 * i));
	if (!ls->first_done && ls->pdu_count == 1) {
		/* RFC 7143 §11.12.4: we speak version 0x00 only. */
		if (h->b3 > 0x00) {
			*why = "VersionMin above 0";
			return ISCSI_LS_UNSUPPORTED_VERSION;
		}
		memcpy(ls->isid, isid, 6);
		ls->tsih = (uint16_t)h->lun;
		ls->cid = iscsi_bhs_cid(h);
		ls->itt = h->itt;
		ls->cmdsn = h->cmdsn;
		ls->max_cmdsn = h->cmdsn;
		/* RFC 7143 §11.13.4: the first Login Response's StatSN
		 * starts the connection's; ours is drawn, not the
		 * initiator's ExpStatSN (which is anything at a new
		 * connection). */
		c->stat_sn = iscsi_initial_sn(c->env);
		if (csg != ISCSI_STAGE_SECURITY &&
		    csg != ISCSI_STAGE_OPERATIONAL) {
			*why = "login must start in stage 0 or 1";
			return ISCSI_LS_INIT_ERR;
		}
		ls->csg = csg;
	} else if (memcmp(ls->isid, isid, 6) != 0 ||
		   ls->tsih != (uint16_t)h->lun || ls->itt != h->itt ||
		   ls->cid != iscsi_bhs_cid(h)) {
		*why = "ISID, TSIH, ITT or CID changed during login";
		return ISCSI_LS_INIT_ERR;
	}
	if (transit && cont) {
		*why = "T and C both set";
		return ISCSI_LS_INIT_ERR;
	}
	if (csg != ls->csg) {
		*why = "CSG is not the current stage";
		return ISCSI_LS_INIT_ERR;
	}
	if (transit && (nsg == 2 || nsg <= csg)) {
		*why = "invalid NSG";
		return ISCSI_LS_INIT_ERR;
	}
	ut_assert(ls->csg == ISCSI_STAGE_SECURITY ||
		  ls->csg == ISCSI_STAGE_OPERATIONAL);
	return 0;
}

/* Accumulate text; returns 1 when more PDUs follow, 0 when complete, a
 * negative value on overflow. */
static int login_collect_text(struct iscsi_conn *c, const struct iscsi_bhs *h)
{
	struct iscsi_login_state *ls = c->login;
	uint8_t *nt;

	ut_assert(ls->out == NULL); /* not while our answer is pending */
	ut_assert(h->data_len == 0 || c->rx_data_dst != NULL);
	if (h->data_len) {
		if (ls->text_len + h->data_len > ISCSI_TEXT_MAX_BYTES)
			return -1;
		nt = realloc(ls->text, ls->text_len + h->data_len);
		if (!nt)
			return -1;
		memcpy(nt + ls->text_len, c->rx_data_dst, h->data_len);
		ls->text = nt;
		ls->text_len += h->data_len;
	}
	ut_assert(ls->text_len <= ISCSI_TEXT_MAX_BYTES);
	return (h->flags & ISCSI_LOGIN_F_CONTINUE) ? 1 : 0;
}

static void login_negotiate(struct iscsi_conn *c, const struct iscsi_bhs *h,
			    struct iscsi_kvlist *req)
{
	struct iscsi_login_state *ls = c->login;
	struct iscsi_kvlist resp;
	struct iscsi_neg neg = {0};
	bool transit = h->flags & ISCSI_LOGIN_F_TRANSIT;
	int nsg = ISCSI_LOGIN_NSG(h->flags);
	const char *why = NULL;
	uint16_t st;

	/* the whole text was taken, and no answer is pending */
	ut_assert(ls->text == NULL);
	ut_assert(ls->out == NULL);
	iscsi_kvlist_init(&resp);
	if (!ls->first_done) {
		st = login_identify(c, req, &why);
		if (st) {
			login_fail(c, st, why);
			goto out;
		}
		ls->first_done = true;
		ls->chap.stage = login_auth(c)->incoming_count
					 ? CHAP_WANT_METHOD
					 : CHAP_OFF;
		iscsi_params_rfc_defaults(&ls->p);
		/* RFC 7143 §13.9: TargetPortalGroupTag in the first response
		 * of a normal session. */
		if (!ls->discovery) {
			iscsi_kv_addf(&resp, "TargetPortalGroupTag", "%u",
				      c->info.portal_group);
			const char *alias = iscsi_tgt_conf(ls->tgt)->alias;

			if (alias[0])
				iscsi_kv_add(&resp, "TargetAlias", alias);
		}
	}
	if (ls->csg == ISCSI_STAGE_SECURITY) {
		st = login_security(c, req, &resp, &transit, &why);
		if (st) {
			login_fail(c, st, why);
			goto out;
		}
	} else if (ls->chap.stage != CHAP_OFF && ls->chap.stage != CHAP_DONE) {
		login_fail(c, ISCSI_LS_AUTH_FAILED,
			   "CHAP is required but the security stage was "
			   "skipped");
		goto out;
	}
	neg.cfg = login_cfg(c);
	neg.p = &ls->p;
	neg.discovery = ls->discovery;
	neg.login = true;
	neg.stage = ls->csg;
	neg.sent_mrdsl = iscsi_kv_has(&ls->agreed, "MaxRecvDataSegmentLength");
	for (uint32_t i = 0; i < req->n; i++) {
		const char *k = req->v[i].key;

		if (key_is_identity(k))
			continue;
		if (ls->csg == ISCSI_STAGE_SECURITY &&
		    (iscsi_chap_key(k) || !strcmp(k, "AuthMethod")))
			continue; /* answered by login_security() */
		if (iscsi_chap_key(k)) {
			login_fail(c, ISCSI_LS_AUTH_FAILED,
				   "CHAP key outside the security stage");
			goto out;
		}
		if (iscsi_negotiate_key(&neg, k, req->v[i].value, &resp,
					&why)) {
			login_fail(c, ISCSI_LS_INIT_ERR,
				   why ? why : "negotiation failed");
			goto out;
		}
		iscsi_kv_add(&ls->agreed, k, req->v[i].value);
	}
	iscsi_negotiate_finish(&neg, &resp);
	if (neg.sent_mrdsl)
		iscsi_kv_add(&ls->agreed, "MaxRecvDataSegmentLength", "sent");
	if (transit && nsg == ISCSI_STAGE_FULL_FEATURE) {
		if (!neg.sent_mrdsl) {
			/* Declare what we receive, or 8192 would apply. */
			ls->p.max_recv_dsl =
				login_cfg(c)->max_recv_data_segment_length;
			iscsi_kv_addf(&resp, "MaxRecvDataSegmentLength", "%u",
				      ls->p.max_recv_dsl);
		}
	}
	/* leaving the security stage only once CHAP is off or done
	 * (login_security() holds T back otherwise) */
	ut_assert(!transit || ls->csg != ISCSI_STAGE_SECURITY ||
		  ls->chap.stage == CHAP_OFF || ls->chap.stage == CHAP_DONE);
	ls->out_transit = transit;
	ls->out_nsg = nsg;
	ls->out_complete = transit && nsg == ISCSI_STAGE_FULL_FEATURE;
	ls->out_off = 0;
	if (resp.n && iscsi_text_encode(&resp, &ls->out, &ls->out_len)) {
		ls->out = NULL;
		ls->out_len = 0;
		login_fail(c, ISCSI_LS_OUT_OF_RESOURCES,
			   "cannot encode response");
		goto out;
	}
	login_send_out(c);
out:
	iscsi_kvlist_free(&resp);
}

/* Was the text refused for a CHAP value over ISCSI_BINARY_VALUE_MAX?
 * Such a value is an authentication failure (CVE-2018-14633 was one),
 * not a generic initiator error. */
static bool text_has_oversized_chap(const uint8_t *text, uint32_t len)
{
	uint32_t pos = 0;

	ut_assert(text != NULL || len == 0);
	ut_assert(len <= ISCSI_TEXT_MAX_BYTES); /* what login collected */
	while (pos < len) {
		const char *s = (const char *)text + pos;
		const char *end = memchr(s, '\0', len - pos);
		size_t slen = end ? (size_t)(end - s) : len - pos;
		const char *eq = memchr(s, '=', slen);

		if (eq && slen > 5 && strncmp(s, "CHAP_", 5) == 0 &&
		    slen - (size_t)(eq - s) - 1 > ISCSI_BINARY_VALUE_MAX)
			return true;
		pos += (uint32_t)slen + 1;
	}
	return false;
}

/* RFC 7143 §11.13.5.  More keys than we hold (ISCSI_TEXT_MAX_PAIRS) is,
 * like more text than we hold, a limit of ours RFC 7143 does not set:
 * out of resources, not an initiator error.  A key or value over RFC
 * 7143's own lengths (§6.1) is the initiator's error. */
static uint16_t text_error_status(const struct iscsi_login_state *ls, int rc)
{
	if (rc == TEXT_ERR_NOMEM || rc == TEXT_ERR_TOO_MANY)
		return ISCSI_LS_OUT_OF_RESOURCES;
	if (rc == TEXT_ERR_TOO_LONG &&
	    text_has_oversized_chap(ls->text, ls->text_len))
		return ISCSI_LS_AUTH_FAILED;
	return ISCSI_LS_INIT_ERR;
}

static void login_rx(struct iscsi_conn *c)
{
	struct iscsi_login_state *ls = c->login;
	const struct iscsi_bhs *h = &c->rx_h;
	struct iscsi_kvlist req;
	const char *why = NULL;
	uint16_t st;
	int rc;

	ut_assert(ls != NULL); /* the login phase has its state */
	ut_assert(c->state == CONN_LOGIN);
	if (ls->reinst_wait) {
		/* the initiator should be waiting for our response */
		login_fail(c, ISCSI_LS_INIT_ERR,
			   "PDU while the login completes a reinstatement");
		return;
	}
	if (h->opcode != ISCSI_OP_LOGIN_REQ) {
		login_fail(c, ISCSI_LS_INVALID_DURING_LOGIN,
			   "non-login PDU during login");
		return;
	}
	if (++ls->pdu_count > ISCSI_LOGIN_PDUS_MAX) {
		login_fail(c, ISCSI_LS_OUT_OF_RESOURCES, "too many login PDUs");
		return;
	}
	st = login_check_header(c, h, &why);
	if (st) {
		login_fail(c, st, why);
		return;
	}
	if (ls->out) {
		/* The initiator asks for the rest of our response. */
		if (h->data_len || (h->flags & ISCSI_LOGIN_F_CONTINUE)) {
			login_fail(c, ISCSI_LS_INIT_ERR,
				   "text sent while the target's response was "
				   "incomplete");
			return;
		}
		login_send_out(c);
		return;
	}
	rc = login_collect_text(c, h);
	if (rc < 0) {
		login_fail(c, ISCSI_LS_OUT_OF_RESOURCES, "login text too long");
		return;
	}
	if (rc > 0) {
		/* RFC 7143 §11.13: acknowledge a partial text with an empty
		 * response in the same stage. */
		login_respond(c, 0, false, ls->csg, ls->csg);
		return;
	}
	iscsi_kvlist_init(&req);
	rc = iscsi_text_parse(ls->text, ls->text_len, &req);
	st = rc == TEXT_OK ? 0 : text_error_status(ls, rc);
	free(ls->text);
	ls->text = NULL;
	ls->text_len = 0;
	if (rc == TEXT_OK)
		login_negotiate(c, h, &req);
	else
		login_fail(c, st,
			   rc == TEXT_ERR_DUPLICATE  ? "key sent twice"
			   : rc == TEXT_ERR_TOO_LONG ? "key or value too long"
			   : rc == TEXT_ERR_TOO_MANY ? "too many keys"
						     : "malformed text");
	iscsi_kvlist_free(&req);
}

/* ------------------------------------------------ the connection's phase */

/* A Reject during login answers with the login's CmdSN. */
static void login_fill_sn(struct iscsi_conn *c, struct iscsi_bhs *h)
{
	h->exp_cmdsn = c->login->cmdsn;
	h->max_cmdsn = c->login->cmdsn;
}

const struct iscsi_conn_phase iscsi_login_phase = {
	.rx_pdu = login_rx,
	.fill_sn = login_fill_sn,
	.closing = login_cleanup,
};
