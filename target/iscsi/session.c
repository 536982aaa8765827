/*
 * session.c — sessions in full feature phase (RFC 7143 §3.2, §11): their
 * life (created by a login, ended with their connection at
 * ErrorRecoveryLevel 0), NOP-Out, Logout (answered once the commands
 * before it are done), and the dispatch of every full feature phase PDU:
 * iscsi_ffp_phase is what the connection calls (conn.h).  Tasks are
 * task.c's, task management tmf.c's, Text Requests text_ffp.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

/* ------------------------------------------------------------- session */

static const struct iscsi_sess_events sess_events;
static void sess_maybe_finish(struct iscsi_sess *s);

/* Is every task of s inside the SCSI layer?  (A walk.) */
static bool sess_tasks_all_in_scsi(const struct iscsi_sess *s)
{
	const struct iscsi_task *t;

	TAILQ_FOREACH (t, &s->tasks, link)
		if (t->state != TASK_EXEC || !t->in_scsi)
			return false;
	return true;
}
static void send_logout_rsp(struct iscsi_sess *s);

struct iscsi_sess *iscsi_sess_new(struct iscsi_conn *c,
				  const struct iscsi_sess_init *in)
{
	struct iscsi_server *srv = c->srv;
	const struct ut_iscsi_params *cfg =
		in->tgt ? &iscsi_tgt_conf(in->tgt)->params : &srv->cfg_params;
	/* MaxSessions 0: unlimited (the connection limit bounds it). */
	uint32_t max_sessions = cfg->max_sessions ? cfg->max_sessions
						  : UINT32_MAX;
	struct iscsi_sess *s;

	/* born of a login on c, a normal session with a target */
	ut_assert(c->state == CONN_LOGIN);
	ut_assert(in->discovery == (in->tgt == NULL));
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->srv = srv;
	s->env = c->env;
	s->r = c->r;
	s->conn_id = c->id;
	s->info = c->info;
	s->events = &sess_events;
	s->tgt = in->tgt;
	s->discovery = in->discovery;
	memcpy(s->isid, in->isid, 6);
	snprintf(s->initiator_name, sizeof(s->initiator_name), "%s",
		 in->initiator_name);
	snprintf(s->initiator_alias, sizeof(s->initiator_alias), "%s",
		 in->initiator_alias);
	s->p = in->p;
	s->exp_cmdsn = in->cmdsn;
	s->queue_depth = cfg->queued_commands ? cfg->queued_commands : 32;
	s->max_cmdsn = s->exp_cmdsn + s->queue_depth - 1;
	s->buf_limit = cfg->session_buffer_limit ? cfg->session_buffer_limit
						 : ISCSI_SESSION_BUFFER_LIMIT;
	/* one largest command fits; more than the budget is no limit */
	if (s->buf_limit < ISCSI_MAX_EDTL)
		s->buf_limit = ISCSI_MAX_EDTL;
	if (s->buf_limit > ISCSI_BUFFER_BUDGET)
		s->buf_limit = ISCSI_BUFFER_BUDGET;
	s->next_ttt = iscsi_initial_sn(s->env);
	s->owed_since_ns = UINT64_MAX;
	TAILQ_INIT(&s->tasks);
	for (uint32_t i = 0; i < ISCSI_ITT_BUCKETS; i++)
		LIST_INIT(&s->itt_index[i]);
	TAILQ_INIT(&s->pending);
	TAILQ_INIT(&s->tmfs);
	/* RFC 7143 §4.2.2.1: the window starts open, QueuedCommands wide */
	ut_assert(s->queue_depth > 0);
	ut_assert(s->queue_depth <= ISCSI_CMDSN_RING);
	ut_assert(sna_le(s->exp_cmdsn, s->max_cmdsn));
	if (srv->ops->sess_attach(s, max_sessions) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void iscsi_sess_free(struct iscsi_sess *s)
{
	struct iscsi_tmf *tmf;

	ut_assert(s->conn == NULL); /* its connection let go of it */
	ut_assert(TAILQ_EMPTY(&s->tasks));
	/* its tasks gave back every byte of its share */
	ut_assert(s->buf_bytes == 0 || s->in_teardown);
	/* no release is on its way to it (but after a crash) */
	ut_assert(s->tmf_holds == 0 || s->in_teardown);
	while ((tmf = TAILQ_FIRST(&s->tmfs))) {
		TAILQ_REMOVE(&s->tmfs, tmf, link);
		ut_assert(s->tmfs_alive > 0);
		s->tmfs_alive--;
		free(tmf);
	}
	ut_assert(s->tmfs_alive == 0); /* the count matches the list */
	s->srv->ops->sess_detach(s);
	free(s);
}

/* The connection is gone: at ErrorRecoveryLevel 0 the session goes with
 * it.  Tasks not yet at the SCSI layer end now; tasks inside it end when
 * the layer gives them back. */
static void sess_detach_conn(struct iscsi_sess *s)
{
	struct iscsi_task *t, *tmp;

	ut_assert(s->conn != NULL); /* detached once */
	ut_assert(!s->closing);
	s->conn = NULL;
	/* Other reactors read it under the lock (srv->ops->session_exists) */
	env_mutex_lock(s->srv->env, s->srv->lock);
	s->closing = true;
	env_mutex_unlock(s->srv->env, s->srv->lock);
	iscsi_owed_clear(s);   /* the connection's end answers for everything */
	s->in_teardown = true; /* iscsi_task_free must not free s under us */
	/* A SANITIZE waiting for its operation would keep the session
	 * for as long as the sanitize runs: it ends now. */
	if (s->scsi)
		scsi_sess_nexus_loss(s->scsi);
	/* Tasks waiting for Data-Out in a task set leave it first, one at
	 * a time: what each held may run (and end) at once. */
again:
	TAILQ_FOREACH (t, &s->tasks, link) {
		if (t->placed) {
			iscsi_task_withdraw(t);
			goto again;
		}
	}
	TAILQ_FOREACH_SAFE (t, &s->tasks, link, tmp) {
		t->tmf = NULL;
		if (t->state != TASK_EXEC)
			iscsi_task_free(t);
	}
	/* what is left is inside the SCSI layer, which hands it back */
	ut_assert_slow(sess_tasks_all_in_scsi(s));
	s->in_teardown = false;
	sess_maybe_finish(s);
}

static void sess_maybe_finish(struct iscsi_sess *s)
{
	if (s->closing && !s->in_teardown && TAILQ_EMPTY(&s->tasks) &&
	    s->tmf_holds == 0) {
		/* every counter agrees that no task is left */
		ut_assert(s->tasks_alive == 0);
		ut_assert(s->window_used == 0 && s->immediate_alive == 0);
		ut_assert(TAILQ_EMPTY(&s->pending));
		iscsi_sess_free(s);
	}
}

/* A pending Logout is answered once nothing it must follow is left: the
 * earlier tasks and any task management response in progress. */
static void sess_maybe_logout(struct iscsi_sess *s)
{
	if (s->logout_pending && s->conn && s->tasks_alive == 0 &&
	    TAILQ_EMPTY(&s->tmfs)) {
		/* RFC 7143 §11.14: nothing before the Logout is left */
		ut_assert(TAILQ_EMPTY(&s->tasks));
		ut_assert(s->owed == 0);
		send_logout_rsp(s);
	}
}

/* ------------------------------------------------------------- NOP-Out */

static void ffp_nop_out(struct iscsi_conn *c)
{
	const struct iscsi_bhs *h = &c->rx_h;
	struct iscsi_txpdu *p;
	struct iscsi_bhs r = {0};
	uint32_t len = h->data_len;

	/* the ping data is in the connection's buffer, within what we
	 * accept per PDU (rx_header_done()) */
	ut_assert(len <= c->max_recv_dsl);
	ut_assert(len == 0 || c->rx_data_dst != NULL);
	if (!iscsi_sess_consume_cmdsn(c->sess, h))
		return; /* outside the window or a duplicate: ignored */
	if (h->itt == ISCSI_RESERVED_TAG) {
		/* a reply to our NOP-In, or a ping needing none */
		if (h->ttt != ISCSI_RESERVED_TAG)
			iscsi_conn_ping_answered(c, h->ttt);
		return;
	}
	p = iscsi_txpdu_new(c, ISCSI_OP_NOP_IN);
	if (!p)
		return;
	if (len > c->max_xmit_dsl)
		len = c->max_xmit_dsl;
	if (iscsi_txpdu_copy_data(p, c->rx_data_dst, len)) {
		iscsi_txpdu_discard(c, p);
		iscsi_conn_fail_soon(c, "out of memory for a PDU's data");
		return;
	}
	r.opcode = ISCSI_OP_NOP_IN;
	r.flags = ISCSI_FLAG_FINAL;
	r.lun = h->lun;
	r.itt = h->itt;
	r.ttt = ISCSI_RESERVED_TAG;
	r.stat_sn = c->stat_sn++;
	iscsi_sess_fill_sn(c->sess, &r);
	iscsi_conn_queue(c, p, &r);
}

/* -------------------------------------------------------------- Logout */

static void send_logout_rsp(struct iscsi_sess *s)
{
	struct iscsi_conn *c = s->conn;
	struct iscsi_txpdu *p = iscsi_txpdu_new(c, ISCSI_OP_LOGOUT_RSP);
	struct iscsi_bhs h = {0};

	ut_assert(c != NULL);
	ut_assert(s->logout_pending);
	s->logout_pending = false;
	if (!p)
		return;
	h.opcode = ISCSI_OP_LOGOUT_RSP;
	h.flags = ISCSI_FLAG_FINAL;
	h.b2 = s->logout_rsp;
	h.itt = s->logout_itt;
	h.stat_sn = c->stat_sn++;
	iscsi_bhs_set_logout_times(&h, (uint16_t)s->p.default_time2wait,
				   (uint16_t)s->p.default_time2retain);
	iscsi_sess_fill_sn(s, &h);
	if (s->logout_rsp == ISCSI_LOGOUT_RSP_OK) {
		p->close_after = true;
		iscsi_conn_set_state(c, CONN_LOGOUT);
	}
	iscsi_conn_queue(c, p, &h);
}

static void ffp_logout(struct iscsi_conn *c)
{
	struct iscsi_sess *s = c->sess;
	const struct iscsi_bhs *h = &c->rx_h;
	uint8_t reason = h->flags & 0x7f;
	uint16_t cid = iscsi_bhs_cid(h);

	ut_assert(s != NULL);
	ut_assert(c->state == CONN_FFP); /* dispatched in FFP only */
	if (!iscsi_sess_consume_cmdsn(s, h))
		return; /* outside the window or a duplicate: ignored */
	s->logout_itt = h->itt;
	if (reason == ISCSI_LOGOUT_CLOSE_SESSION)
		s->logout_rsp = ISCSI_LOGOUT_RSP_OK;
	else if (reason == ISCSI_LOGOUT_CLOSE_CONNECTION)
		s->logout_rsp = cid == c->cid ? ISCSI_LOGOUT_RSP_OK
					      : ISCSI_LOGOUT_RSP_CID_NOT_FOUND;
	else if (reason == ISCSI_LOGOUT_REMOVE_FOR_RECOVERY)
		s->logout_rsp = ISCSI_LOGOUT_RSP_RECOVERY_UNSUPPORTED;
	else {
		iscsi_send_reject(c, ISCSI_REJECT_INVALID_PDU_FIELD, c->rx_bhs);
		return;
	}
	s->logout_pending = true;
	/* RFC 7143 §11.14: commands ahead of the Logout complete first. */
	if (s->logout_rsp != ISCSI_LOGOUT_RSP_OK)
		send_logout_rsp(s);
	else
		sess_maybe_logout(s);
}

/* ------------------------------------------------------------ dispatch */

static void ffp_rx_header(struct iscsi_conn *c)
{
	ut_assert(c->sess != NULL);
	ut_assert(c->state == CONN_FFP);
	c->rx_reject = 0;
	c->rx_ignore = false;
	switch (c->rx_h.opcode) {
	case ISCSI_OP_SCSI_CMD:
		iscsi_task_cmd_header(c);
		break;
	case ISCSI_OP_DATA_OUT:
		if (c->sess->discovery)
			c->rx_reject = ISCSI_REJECT_PROTOCOL_ERROR;
		else
			iscsi_task_dataout_header(c);
		break;
	default:
		break;
	}
}

static void ffp_rx_pdu(struct iscsi_conn *c)
{
	const struct iscsi_bhs *h = &c->rx_h;

	ut_assert(c->sess != NULL);
	ut_assert(c->state == CONN_FFP);
	if (h->opcode != ISCSI_OP_DATA_OUT)
		c->exp_stat_sn = h->exp_stat_sn;
	switch (h->opcode) {
	case ISCSI_OP_SCSI_CMD:
		iscsi_task_cmd_pdu(c);
		break;
	case ISCSI_OP_DATA_OUT:
		iscsi_task_dataout_pdu(c);
		break;
	case ISCSI_OP_NOP_OUT:
		ffp_nop_out(c);
		break;
	case ISCSI_OP_TEXT_REQ:
		iscsi_ffp_text(c);
		break;
	case ISCSI_OP_LOGOUT_REQ:
		ffp_logout(c);
		break;
	case ISCSI_OP_TMF_REQ:
		iscsi_tmf_rx(c);
		break;
	case ISCSI_OP_SNACK_REQ:
		/* ErrorRecoveryLevel 0: no SNACK (RFC 7143 §11.16). */
		iscsi_send_reject(c, ISCSI_REJECT_SNACK, c->rx_bhs);
		break;
	case ISCSI_OP_LOGIN_REQ:
		iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->rx_bhs);
		break;
	default:
		iscsi_send_reject(c, ISCSI_REJECT_CMD_NOT_SUPPORTED, c->rx_bhs);
		break;
	}
}

/* ------------------------------------------------ the connection's phase */

static void ffp_fill_sn(struct iscsi_conn *c, struct iscsi_bhs *h)
{
	iscsi_sess_fill_sn(c->sess, h);
}

static void ffp_tx_untie(struct iscsi_txpdu *t)
{
	iscsi_task_put_tx(t->task);
}

static uint64_t ffp_owed_since(struct iscsi_conn *c)
{
	return c->sess ? iscsi_sess_owed_since(c->sess) : UINT64_MAX;
}

static bool ffp_owed_overdue(struct iscsi_conn *c, uint64_t now_ns,
			     uint64_t timeout_ns)
{
	return c->sess && iscsi_sess_owed_overdue(c->sess, now_ns, timeout_ns);
}

static void ffp_closing(struct iscsi_conn *c)
{
	if (c->sess)
		sess_detach_conn(c->sess);
	c->sess = NULL;
}

const struct iscsi_conn_phase iscsi_ffp_phase = {
	.rx_header = ffp_rx_header,
	.rx_pdu = ffp_rx_pdu,
	.fill_sn = ffp_fill_sn,
	.tx_untie = ffp_tx_untie,
	.owed_since = ffp_owed_since,
	.owed_overdue = ffp_owed_overdue,
	.closing = ffp_closing,
};

/* --------------------------------------------- what task.c, tmf.c tell */

static void sess_task_gone(struct iscsi_sess *s, struct iscsi_tmf *tmf)
{
	if (tmf)
		iscsi_tmf_task_gone(s, tmf);
	sess_maybe_logout(s);
	sess_maybe_finish(s);
}

static const struct iscsi_sess_events sess_events = {
	.task_gone = sess_task_gone,
	.tmf_answered = sess_maybe_logout,
};
