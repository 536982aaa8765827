/*
 * session.c — full feature phase (RFC 7143 §3.2, §4.2, §11).
 *
 * Task states:
 *
 *   SCSI Command --> RX_DATA --(all Data-Out in, CmdSN in order)--> EXEC
 *        |              ^  R2Ts go out while data is missing          |
 *        |              |                                             v
 *        +--(no data)---+---------------------------------------->  TX
 *                                       Data-In / SCSI Response queued;
 *                                       freed when the last PDU is sent
 *
 * Command numbering (RFC 7143 §4.2.2.1): a non-immediate command whose
 * CmdSN equals ExpCmdSN advances ExpCmdSN; one further ahead inside the
 * window waits in CmdSN order; one outside [ExpCmdSN, MaxCmdSN] is
 * silently ignored.  MaxCmdSN = ExpCmdSN + free queue slots - 1, never
 * moved backwards.
 *
 * Data-Out (§4.2.2.3): unsolicited data (immediate data, then Data-Out
 * with TTT 0xffffffff) up to min(FirstBurstLength, EDTL) when
 * InitialR2T=No; the rest is solicited by R2Ts of at most MaxBurstLength,
 * at most MaxOutstandingR2T at a time.  Offsets must arrive in order
 * (DataPDUInOrder=Yes, DataSequenceInOrder=Yes), DataSN from 0 within each
 * sequence.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

static void task_free(struct iscsi_task *t);
static void task_exec(struct iscsi_task *t);
static void sess_maybe_finish(struct iscsi_sess *s);
static void send_logout_rsp(struct iscsi_sess *s);
static void sess_maybe_logout(struct iscsi_sess *s);
static void tmf_task_gone(struct iscsi_sess *s, struct iscsi_tmf *tmf);
static void srv_close_target_sessions(struct iscsi_server *srv,
				      const struct iscsi_tgt *tgt,
				      const struct iscsi_sess *except);

/* ------------------------------------------------------------ session */

static void sess_update_window(struct iscsi_sess *s)
{
	uint32_t free_slots = s->queue_depth > s->window_used
				      ? s->queue_depth - s->window_used
				      : 0;
	uint32_t new_max = s->exp_cmdsn + free_slots - 1;

	if (sna_lt(s->max_cmdsn, new_max))
		s->max_cmdsn = new_max;
}

void iscsi_sess_fill_sn(struct iscsi_sess *s, struct iscsi_bhs *h)
{
	sess_update_window(s);
	h->w28 = s->exp_cmdsn;
	h->w32 = s->max_cmdsn;
}

uint32_t iscsi_sess_new_ttt(struct iscsi_sess *s)
{
	if (++s->next_ttt == ISCSI_RESERVED_TAG)
		s->next_ttt = 1;
	return s->next_ttt;
}

/* ------------------------------------------------------ answers owed */

/*
 * Liveness is the target's own invariant, not only the initiator's
 * timeout: every SCSI command and TMF the target accepts is answered --
 * its response queued -- or its connection closed, within RspTimeout of
 * its arrival (SCST's RspTimeout; conn.c's keepalive timer enforces it).
 * A task is owed from its arrival until it is answered, until its own
 * session's TMF takes it over (that TMF's response concludes it, RFC 7143
 * §11.5.1), or until its connection closes; a TMF until its response is
 * queued.  Tasks and TMFs sit in their lists in arrival order, so the
 * oldest owed is the first one still owed.
 */
static uint64_t owed_oldest(const struct iscsi_sess *s)
{
	const struct iscsi_task *t;
	const struct iscsi_tmf *tmf;
	uint64_t oldest = UINT64_MAX;

	TAILQ_FOREACH (t, &s->tasks, link)
		if (t->owed) {
			oldest = t->arrival_ns;
			break;
		}
	TAILQ_FOREACH (tmf, &s->tmfs, link)
		if (tmf->owed) {
			if (tmf->arrival_ns < oldest)
				oldest = tmf->arrival_ns;
			break;
		}
	return oldest;
}

static void owed_publish(struct iscsi_sess *s, uint32_t n, uint64_t since)
{
	ut_assert((n == 0) == (since == UINT64_MAX));
	__atomic_store_n(&s->owed, n, __ATOMIC_RELAXED);
	__atomic_store_n(&s->owed_since_ns, since, __ATOMIC_RELAXED);
}

/* Work that arrived now owes an answer; *owed and *arrival_ns are its. */
static void owed_add(struct iscsi_sess *s, bool *owed, uint64_t *arrival_ns)
{
	ut_assert(!*owed);
	*owed = true;
	*arrival_ns = env_now_ns(s->env);
	if (s->owed == 0) {
		owed_publish(s, 1, *arrival_ns);
		if (s->conn)
			iscsi_conn_owed_from(s->conn, *arrival_ns);
	} else {
		owed_publish(s, s->owed + 1, s->owed_since_ns);
	}
}

/* It is answered (or taken over, or its connection is gone). */
static void owed_settle(struct iscsi_sess *s, bool *owed, uint64_t arrival_ns)
{
	uint32_t n;

	if (!*owed)
		return;
	*owed = false;
	ut_assert(s->owed > 0);
	ut_assert(arrival_ns >= s->owed_since_ns);
	n = s->owed - 1;
	if (n == 0)
		owed_publish(s, 0, UINT64_MAX);
	else if (arrival_ns == s->owed_since_ns) /* maybe the oldest */
		owed_publish(s, n, owed_oldest(s));
	else
		owed_publish(s, n, s->owed_since_ns);
}

/* The connection is gone: nothing is owed any more. */
static void owed_clear(struct iscsi_sess *s)
{
	struct iscsi_task *t;
	struct iscsi_tmf *tmf;

	TAILQ_FOREACH (t, &s->tasks, link)
		t->owed = false;
	TAILQ_FOREACH (tmf, &s->tmfs, link)
		tmf->owed = false;
	owed_publish(s, 0, UINT64_MAX);
}

/* t's response is queued, or it ends without one (a Reject, or its own
 * session's TMF concludes it). */
static void task_answered(struct iscsi_task *t)
{
	t->responded = true;
	owed_settle(t->sess, &t->owed, t->arrival_ns);
}

/* Our own TMF ends t: that TMF, owed itself, answers for it. */
static void task_taken_over(struct iscsi_task *t)
{
	t->aborting = true;
	owed_settle(t->sess, &t->owed, t->arrival_ns);
}

uint64_t iscsi_sess_owed_since(const struct iscsi_sess *s)
{
	return s->owed_since_ns;
}

static const char *task_state_name(const struct iscsi_task *t)
{
	switch (t->state) {
	case TASK_RX_DATA:
		return "waiting for Data-Out";
	case TASK_QUEUED:
		return "waiting for its CmdSN turn";
	case TASK_EXEC:
		return "inside the SCSI layer";
	case TASK_TX:
		return "answered";
	}
	return "?";
}

bool iscsi_sess_owed_overdue(struct iscsi_sess *s, uint64_t now_ns,
			     uint64_t timeout_ns)
{
	const struct iscsi_task *t, *task = NULL;
	const struct iscsi_tmf *tmf, *oldest_tmf = NULL;
	uint64_t since = s->owed_since_ns;
	bool stuck;

	if (since == UINT64_MAX || now_ns - since < timeout_ns)
		return false;
	TAILQ_FOREACH (t, &s->tasks, link)
		if (t->owed) {
			task = t;
			break;
		}
	TAILQ_FOREACH (tmf, &s->tmfs, link)
		if (tmf->owed) {
			oldest_tmf = tmf;
			break;
		}
	if (task && oldest_tmf && oldest_tmf->arrival_ns < task->arrival_ns)
		task = NULL;
	ut_assert(task || oldest_tmf);
	/* Waiting for the initiator (its Data-Out, a CmdSN it skipped) is
	 * its business; waiting inside the target never should be. */
	stuck = task == NULL || task->state == TASK_EXEC;
	s->r->stats.rsp_timeouts++;
	if (stuck)
		s->r->stats.rsp_timeouts_stuck++;
	if (task)
		UT_LOG(s->env, stuck ? UT_LOG_ERROR : UT_LOG_WARN,
		       "conn %u: RspTimeout: task itt 0x%x (CDB %02x), %s, "
		       "unanswered for %llu ms: closing the connection",
		       s->conn_id, task->itt, task->cmd.cdb[0],
		       task_state_name(task),
		       (unsigned long long)((now_ns - since) / 1000000));
	else
		LOG_ERR(s->env,
			"conn %u: RspTimeout: TMF itt 0x%x (function %u) "
			"unanswered for %llu ms: closing the connection",
			s->conn_id, oldest_tmf->itt, oldest_tmf->function,
			(unsigned long long)((now_ns - since) / 1000000));
	return true;
}

static int sess_map_luns(struct iscsi_sess *s)
{
	/* LUN masking: the initiator's group's LUNs, else the default set.
	 * The generation first: a change published after it is caught up
	 * with once the session is listed (iscsi_sess_new). */
	s->conf_gen = __atomic_load_n(&s->srv->conf_gen, __ATOMIC_ACQUIRE);
	return iscsi_acl_map_luns(iscsi_tgt_conf(s->tgt), s->initiator_name,
				  s->scsi);
}

static void sess_reinstate(struct iscsi_server *srv, struct env *here,
			   struct iscsi_login_state *ls, uint16_t tpgt)
{
	struct iscsi_sess *old;
	uint32_t conn_id = 0;
	uint16_t tsih = 0;
	struct env *env = NULL;

	env_mutex_lock(srv->env, srv->lock);
	old = iscsi_server_find_session(srv, ls->initiator_name, ls->isid,
					ls->tgt, tpgt, 0);
	if (old) {
		tsih = old->tsih;
		conn_id = old->conn_id;
		env = old->env;
	}
	env_mutex_unlock(srv->env, srv->lock);
	if (!old)
		return;
	/* RFC 7143 §6.3.5: a login with TSIH 0 and the ISID of an existing
	 * session reinstates it: the old session is closed first (on its
	 * own reactor, which may be after this login completes). */
	LOG_INFO(here, "event=session-reinstated tsih=%u initiator=%s", tsih,
		 ls->initiator_name);
	iscsi_server_conn_op(srv, here, env, conn_id, ISCSI_XOP_CLOSE,
			     "session reinstatement");
}

struct iscsi_sess *iscsi_sess_new(struct iscsi_conn *c,
				  struct iscsi_login_state *ls)
{
	struct iscsi_server *srv = c->srv;
	const struct ut_iscsi_params *cfg =
		ls->tgt ? &iscsi_tgt_conf(ls->tgt)->params : &srv->cfg_params;
	bool stale;
	/* MaxSessions 0: unlimited (the connection limit bounds it). */
	uint32_t max_sessions = cfg->max_sessions ? cfg->max_sessions
						  : UINT32_MAX;
	struct iscsi_sess *s;

	if (!ls->discovery)
		sess_reinstate(srv, c->env, ls, c->info.portal_group);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->srv = srv;
	s->env = c->env;
	s->r = c->r;
	s->conn_id = c->id;
	s->info = c->info;
	s->tgt = ls->tgt;
	s->discovery = ls->discovery;
	memcpy(s->isid, ls->isid, 6);
	snprintf(s->initiator_name, sizeof(s->initiator_name), "%s",
		 ls->initiator_name);
	snprintf(s->initiator_alias, sizeof(s->initiator_alias), "%s",
		 ls->initiator_alias);
	s->p = ls->p;
	s->exp_cmdsn = ls->cmdsn;
	s->queue_depth = cfg->queued_commands ? cfg->queued_commands : 32;
	s->max_cmdsn = s->exp_cmdsn + s->queue_depth - 1;
	s->next_ttt = (uint32_t)env_random_u64(s->env) & 0x7fffffff;
	s->owed_since_ns = UINT64_MAX;
	TAILQ_INIT(&s->tasks);
	TAILQ_INIT(&s->pending);
	TAILQ_INIT(&s->tmfs);
	if (!s->discovery) {
		struct scsi_nexus_id id = {0};

		snprintf(id.initiator_name, sizeof(id.initiator_name), "%s",
			 s->initiator_name);
		memcpy(id.isid, s->isid, 6);
		snprintf(id.target_name, sizeof(id.target_name), "%s",
			 s->tgt->name);
		/* The target port: this target through the portal group
		 * the connection arrived on (tport.c). */
		id.tpgt = s->info.portal_group;
		id.rel_tgt_port_id = iscsi_tport_rel_id(s->tgt, id.tpgt);
		s->scsi = scsi_sess_new(s->env, &id);
		if (!s->scsi || sess_map_luns(s)) {
			if (s->scsi)
				scsi_sess_free(s->scsi);
			free(s);
			return NULL;
		}
	}
	env_mutex_lock(srv->env, srv->lock);
	if (srv->sess_count >= max_sessions) {
		env_mutex_unlock(srv->env, srv->lock);
		if (s->scsi)
			scsi_sess_free(s->scsi);
		free(s);
		return NULL;
	}
	s->tsih = iscsi_server_new_tsih(srv);
	TAILQ_INSERT_TAIL(&srv->sessions, s, link);
	srv->sess_count++;
	srv->stats.sessions = srv->sess_count;
	/* A reconfiguration that listed the sessions before this one was
	 * in the list changed the generation: follow it now. */
	stale = s->scsi && s->conf_gen != __atomic_load_n(&srv->conf_gen,
							  __ATOMIC_ACQUIRE);
	env_mutex_unlock(srv->env, srv->lock);
	if (stale)
		iscsi_sess_resync_luns(s);
	return s;
}

void iscsi_sess_free(struct iscsi_sess *s)
{
	struct iscsi_server *srv = s->srv;
	struct iscsi_tmf *tmf;

	while ((tmf = TAILQ_FIRST(&s->tmfs))) {
		TAILQ_REMOVE(&s->tmfs, tmf, link);
		free(tmf);
	}
	if (s->scsi)
		scsi_sess_free(s->scsi);
	env_mutex_lock(srv->env, srv->lock);
	TAILQ_REMOVE(&srv->sessions, s, link);
	srv->sess_count--;
	srv->stats.sessions = srv->sess_count;
	env_mutex_unlock(srv->env, srv->lock);
	free(s);
}

/* The connection is gone: at ErrorRecoveryLevel 0 the session goes with
 * it.  Tasks not yet at the SCSI layer end now; tasks inside it end when
 * the layer gives them back. */
void iscsi_sess_detach_conn(struct iscsi_sess *s)
{
	struct iscsi_task *t, *tmp;

	s->conn = NULL;
	/* Other reactors read it under the lock (iscsi_server_find_session) */
	env_mutex_lock(s->srv->env, s->srv->lock);
	s->closing = true;
	env_mutex_unlock(s->srv->env, s->srv->lock);
	owed_clear(s);	       /* the connection's end answers for everything */
	s->in_teardown = true; /* task_free must not free s under us */
	TAILQ_FOREACH_SAFE (t, &s->tasks, link, tmp) {
		t->tmf = NULL;
		if (t->state != TASK_EXEC)
			task_free(t);
	}
	s->in_teardown = false;
	sess_maybe_finish(s);
}

static void sess_maybe_finish(struct iscsi_sess *s)
{
	if (s->closing && !s->in_teardown && TAILQ_EMPTY(&s->tasks))
		iscsi_sess_free(s);
}

/* --------------------------------------------------------------- tasks */

static struct iscsi_task *sess_find_task(struct iscsi_sess *s, uint32_t itt)
{
	struct iscsi_task *t;

	TAILQ_FOREACH (t, &s->tasks, link)
		if (t->itt == itt)
			return t;
	return NULL;
}

static struct iscsi_task *task_new(struct iscsi_sess *s,
				   const struct iscsi_bhs *h)
{
	struct iscsi_task *t;

	s->r->task_pool.obj_size = sizeof(*t);
	t = pool_obj_get(&s->r->task_pool);
	if (!t)
		return NULL;
	t->sess = s;
	t->itt = h->itt;
	t->cmdsn = h->w24;
	t->edtl = h->w20;
	t->immediate = h->immediate;
	t->state = TASK_RX_DATA;
	TAILQ_INSERT_TAIL(&s->tasks, t, link);
	owed_add(s, &t->owed, &t->arrival_ns);
	s->tasks_alive++;
	if (t->immediate)
		s->immediate_alive++;
	else
		s->window_used++;
	s->r->stats.tasks++;
	return t;
}

/* READ and WRITE overwrite every byte they move; anything else builds its
 * data (or parses a parameter list) field by field.  Recycled buffers of
 * those start zeroed, so that no handler can ever send stale bytes of an
 * earlier command, another initiator's data included. */
static bool opcode_fills_buffer(uint8_t op)
{
	switch (op) {
	case 0x08:
	case 0x28:
	case 0xa8:
	case 0x88: /* READ 6/10/12/16 */
	case 0x0a:
	case 0x2a:
	case 0xaa:
	case 0x8a: /* WRITE 6/10/12/16 */
		return true;
	default:
		return false;
	}
}

static int task_alloc_buf(struct iscsi_task *t, uint8_t opcode)
{
	struct iscsi_server *srv = t->sess->srv;

	if (t->edtl == 0)
		return 0;
	if (t->edtl > ISCSI_MAX_EDTL)
		return -EFBIG;
	/* The budget is shared by the reactors: reserve, then check. */
	if (__atomic_add_fetch(&srv->buffer_bytes, t->edtl, __ATOMIC_RELAXED) >
	    ISCSI_BUFFER_BUDGET) {
		__atomic_sub_fetch(&srv->buffer_bytes, t->edtl,
				   __ATOMIC_RELAXED);
		return -ENOBUFS;
	}
	t->cmd.buf = pool_buf_get(&t->sess->r->bufs, t->edtl, &t->buf_pool_cap);
	if (!t->cmd.buf) {
		__atomic_sub_fetch(&srv->buffer_bytes, t->edtl,
				   __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	if (!opcode_fills_buffer(opcode))
		memset(t->cmd.buf, 0, t->edtl);
	t->cmd.buf_cap = t->edtl;
	t->buf_is_budgeted = true;
	return 0;
}

static void task_free(struct iscsi_task *t)
{
	struct iscsi_sess *s = t->sess;
	struct iscsi_server *srv = s->srv;

	owed_settle(s, &t->owed, t->arrival_ns);
	if (s->conn)
		iscsi_conn_rx_task_gone(s->conn, t);
	if (t->state == TASK_QUEUED)
		TAILQ_REMOVE(&s->pending, t, pending_link);
	TAILQ_REMOVE(&s->tasks, t, link);
	s->tasks_alive--;
	if (t->immediate)
		s->immediate_alive--;
	else
		s->window_used--;
	s->r->stats.tasks--;
	if (t->buf_is_budgeted)
		__atomic_sub_fetch(&srv->buffer_bytes, t->cmd.buf_cap,
				   __ATOMIC_RELAXED);
	pool_buf_put(&s->r->bufs, t->cmd.buf, t->buf_pool_cap);
	if (t->tmf)
		tmf_task_gone(s, t->tmf);
	pool_obj_put(&s->r->task_pool, t);
	sess_maybe_logout(s);
	sess_maybe_finish(s);
}

/* A pending Logout is answered once nothing it must follow is left: the
 * earlier tasks and any task management response in progress. */
static void sess_maybe_logout(struct iscsi_sess *s)
{
	if (s->logout_pending && s->conn && s->tasks_alive == 0 &&
	    TAILQ_EMPTY(&s->tmfs))
		send_logout_rsp(s);
}

void iscsi_task_put_tx(struct iscsi_task *t)
{
	if (--t->tx_refs == 0 && t->responded)
		task_free(t);
}

/* --------------------------------------------------------- responses */

static void fill_residual(const struct iscsi_task *t, struct iscsi_bhs *h,
			  uint8_t o_flag, uint8_t u_flag)
{
	const struct scsi_cmd *cmd = &t->cmd;
	uint64_t moved = cmd->dir == SCSI_DIR_READ ? cmd->data_in_len
						   : cmd->xfer_len;

	/* RFC 7143 §11.4.5: overflow when the command wanted more than the
	 * initiator expected, underflow when less moved than expected. */
	if (cmd->xfer_len > t->edtl) {
		h->flags |= o_flag;
		h->w44 = (uint32_t)(cmd->xfer_len - t->edtl > UINT32_MAX
					    ? UINT32_MAX
					    : cmd->xfer_len - t->edtl);
	} else if (moved < t->edtl) {
		h->flags |= u_flag;
		h->w44 = (uint32_t)(t->edtl - moved);
	}
}

static void send_data_in(struct iscsi_conn *c, struct iscsi_task *t,
			 bool with_status)
{
	struct iscsi_sess *s = t->sess;
	uint32_t len = t->cmd.data_in_len, off = 0, burst_left = s->p.max_burst;

	while (off < len) {
		uint32_t seg = len - off;
		struct iscsi_txpdu *p;
		struct iscsi_bhs h = {0};
		bool last;

		if (seg > c->max_xmit_dsl)
			seg = c->max_xmit_dsl;
		if (seg > burst_left)
			seg = burst_left;
		last = off + seg == len;
		p = iscsi_txpdu_new(c, ISCSI_OP_DATA_IN);
		if (!p)
			return; /* iscsi_txpdu_new() closes the connection */
		iscsi_txpdu_set_data(p, t->cmd.buf + off, seg, NULL);
		p->task = t;
		t->tx_refs++;
		h.opcode = ISCSI_OP_DATA_IN;
		burst_left -= seg;
		if (last || burst_left == 0) {
			h.flags |= ISCSI_FLAG_FINAL;
			burst_left = s->p.max_burst;
		}
		h.lun = iscsi_lun_encode(t->cmd.lun);
		h.itt = t->itt;
		h.w20 = ISCSI_RESERVED_TAG;
		h.w36 = t->datain_sn++;
		h.w40 = off;
		if (last && with_status) {
			h.flags |= ISCSI_DATAIN_F_STATUS;
			h.b3 = t->cmd.status;
			h.w24 = c->stat_sn++;
			fill_residual(t, &h, ISCSI_DATAIN_F_OVERFLOW,
				      ISCSI_DATAIN_F_UNDERFLOW);
		}
		iscsi_sess_fill_sn(s, &h);
		iscsi_conn_queue(c, p, &h);
		off += seg;
	}
}

static void send_scsi_rsp(struct iscsi_conn *c, struct iscsi_task *t)
{
	struct iscsi_txpdu *p = iscsi_txpdu_new(c, ISCSI_OP_SCSI_RSP);
	struct iscsi_bhs h = {0};

	if (!p)
		return; /* iscsi_txpdu_new() closes the connection */
	if (t->cmd.sense_len) {
		/* RFC 7143 §11.4.7.2: SenseLength, then the sense data */
		be16_put(p->inl, t->cmd.sense_len);
		memcpy(p->inl + 2, t->cmd.sense, t->cmd.sense_len);
		iscsi_txpdu_set_data(p, p->inl, 2u + t->cmd.sense_len, NULL);
	}
	h.opcode = ISCSI_OP_SCSI_RSP;
	h.flags = ISCSI_FLAG_FINAL;
	h.b2 = 0; /* command completed at target */
	h.b3 = t->cmd.status;
	h.itt = t->itt;
	h.w24 = c->stat_sn++;
	h.w36 = t->datain_sn; /* ExpDataSN: Data-In PDUs sent */
	if (t->cmd.dir != SCSI_DIR_NONE || t->edtl)
		fill_residual(t, &h, ISCSI_RSP_F_OVERFLOW,
			      ISCSI_RSP_F_UNDERFLOW);
	iscsi_sess_fill_sn(t->sess, &h);
	iscsi_conn_queue(c, p, &h);
}

static void task_respond(struct iscsi_task *t)
{
	struct iscsi_conn *c = t->sess->conn;
	bool collapse;

	t->state = TASK_TX;
	collapse = t->cmd.status == SCSI_STATUS_GOOD && t->cmd.sense_len == 0;
	if (t->cmd.dir == SCSI_DIR_READ && t->cmd.data_in_len > 0) {
		/* RFC 7143 §11.7.4: status may ride on the final Data-In
		 * when there is no sense data. */
		send_data_in(c, t, collapse);
		if (!collapse && !c->closing)
			send_scsi_rsp(c, t);
	} else {
		send_scsi_rsp(c, t);
	}
	task_answered(t);
	if (t->tx_refs == 0)
		task_free(t);
}

static void task_scsi_done(struct scsi_cmd *cmd)
{
	struct iscsi_task *t = cmd->transport;
	struct iscsi_sess *s = t->sess;
	struct iscsi_conn *c = s->conn;

	s->r->stats.scsi_cmds++;
	/* A command another nexus aborted comes back with TASK ABORTED
	 * status, which is sent (TAS=1); one our own TMF aborted ends
	 * silently, its TMF response concluding it (RFC 7143 §11.5.1). */
	if (t->aborting || !c || c->closing) {
		task_answered(t);
		task_free(t);
		if (c)
			iscsi_conn_kick(c);
		return;
	}
	task_respond(t);
	iscsi_conn_kick(c);
}

/* Answer without the SCSI layer (buffer limits). */
static void task_fail_local(struct iscsi_task *t)
{
	t->cmd.xfer_len = 0;
	t->cmd.data_in_len = 0;
	t->cmd.sense_len = 0;
	t->cmd.status = t->fixed_status;
	if (t->fixed_too_long) {
		t->cmd.sess = t->sess->scsi;
		scsi_cmd_set_sense(&t->cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	}
	task_respond(t);
}

static void task_exec(struct iscsi_task *t)
{
	struct iscsi_sess *s = t->sess;

	t->state = TASK_EXEC;
	if (t->fixed_status) {
		task_fail_local(t);
		return;
	}
	t->cmd.sess = s->scsi;
	t->cmd.edtl = t->edtl;
	t->cmd.data_out_len = t->data_received;
	t->cmd.done = task_scsi_done;
	t->cmd.transport = t;
	scsi_cmd_exec(&t->cmd);
}

/* ----------------------------------------------------------- R2T flow */

static void send_r2t(struct iscsi_task *t, struct iscsi_r2t *r)
{
	struct iscsi_conn *c = t->sess->conn;
	struct iscsi_txpdu *p = iscsi_txpdu_new(c, ISCSI_OP_R2T);
	struct iscsi_bhs h = {0};

	if (!p)
		return; /* iscsi_txpdu_new() closes the connection */
	h.opcode = ISCSI_OP_R2T;
	h.flags = ISCSI_FLAG_FINAL;
	h.lun = iscsi_lun_encode(t->cmd.lun);
	h.itt = t->itt;
	h.w20 = r->ttt;
	h.w24 = c->stat_sn; /* not advanced by an R2T */
	h.w36 = r->r2tsn;
	h.w40 = r->offset;
	h.w44 = r->length;
	iscsi_sess_fill_sn(t->sess, &h);
	iscsi_conn_queue(c, p, &h);
}

static void task_solicit(struct iscsi_task *t)
{
	struct iscsi_sess *s = t->sess;

	while (t->r2t_count < s->p.max_outstanding_r2t &&
	       t->r2t_count < ISCSI_MAX_R2T_TRACK &&
	       t->r2t_next_offset < t->edtl) {
		struct iscsi_r2t *r = &t->r2ts[t->r2t_count++];
		uint32_t len = t->edtl - t->r2t_next_offset;

		if (len > s->p.max_burst)
			len = s->p.max_burst;
		r->ttt = iscsi_sess_new_ttt(s);
		r->offset = t->r2t_next_offset;
		r->length = len;
		r->received = 0;
		r->next_datasn = 0;
		r->r2tsn = t->r2tsn++;
		t->r2t_next_offset += len;
		send_r2t(t, r);
	}
}

/* Data-Out the initiator still owes: outstanding R2Ts, or the rest of
 * an unsolicited burst. */
static bool task_data_owed(const struct iscsi_task *t)
{
	return t->r2t_count > 0 || (t->unsolicited_left > 0 && !t->final_seen);
}

/* The task may move on: solicit what is missing, or run it. */
static void task_progress(struct iscsi_task *t)
{
	if (!t->accepted || t->state != TASK_RX_DATA)
		return;
	if (t->aborting) {
		/* aborted while its PDU or its CmdSN turn was pending: it
		 * has now taken its CmdSN, and ends without a response */
		task_answered(t);
		if (t->tx_refs == 0)
			task_free(t);
		return;
	}
	if (t->tas_aborted) {
		/* Another session's reset ended it (SAM-5 §5.6, TAS=1):
		 * solicit nothing more, take in the Data-Out already asked
		 * for (the initiator sends it, not knowing), then answer
		 * TASK ABORTED. */
		if (task_data_owed(t))
			return;
		t->fixed_status = SCSI_STATUS_TASK_ABORTED;
		t->fixed_too_long = false;
		task_exec(t);
		return;
	}
	if (t->data_received >= t->edtl || t->cmd.dir != SCSI_DIR_WRITE ||
	    t->fixed_status) {
		task_exec(t);
		return;
	}
	if (t->unsolicited_left == 0 || t->final_seen)
		task_solicit(t);
}

/* ------------------------------------------------- CmdSN and ordering */

/* RFC 7143 §4.2.2.1: is a non-immediate CmdSN inside the window? */
static bool cmdsn_in_window(struct iscsi_sess *s, uint32_t cmdsn)
{
	return sna_le(s->exp_cmdsn, cmdsn) && sna_le(cmdsn, s->max_cmdsn);
}

static void sess_release_pending(struct iscsi_sess *s)
{
	struct iscsi_task *t;
	bool again = true;

	while (again) {
		again = false;
		TAILQ_FOREACH (t, &s->pending, pending_link) {
			if (t->cmdsn != s->exp_cmdsn)
				continue;
			TAILQ_REMOVE(&s->pending, t, pending_link);
			t->state = TASK_RX_DATA;
			t->accepted = true;
			s->exp_cmdsn++;
			task_progress(t);
			again = true;
			break;
		}
	}
}

/* ------------------------------------------------------- SCSI Command */

static void ffp_cmd_header(struct iscsi_conn *c)
{
	struct iscsi_sess *s = c->sess;
	const struct iscsi_bhs *h = &c->rx_h;
	bool write = h->flags & ISCSI_CMD_F_WRITE;
	struct iscsi_task *t;
	int rc;

	if (s->discovery) {
		c->rx_reject = ISCSI_REJECT_PROTOCOL_ERROR;
		return;
	}
	if (!h->immediate && !cmdsn_in_window(s, h->w24)) {
		c->rx_ignore = true;
		return;
	}
	if (h->immediate && s->immediate_alive >= 16) {
		c->rx_reject = ISCSI_REJECT_IMMEDIATE_CMD;
		return;
	}
	if (sess_find_task(s, h->itt) || h->itt == ISCSI_RESERVED_TAG) {
		c->rx_reject = ISCSI_REJECT_TASK_IN_PROGRESS;
		return;
	}
	if (h->data_len &&
	    (!write || !s->p.immediate_data || h->data_len > s->p.first_burst ||
	     h->data_len > h->w20)) {
		/* RFC 7143 §4.2.2.3: immediate data only when negotiated,
		 * within FirstBurstLength and the expected length. */
		c->rx_reject = ISCSI_REJECT_PROTOCOL_ERROR;
		return;
	}
	t = task_new(s, h);
	if (!t) {
		/* Out of memory: the one policy, close the connection.  A
		 * Reject would leave a hole at this CmdSN, and initiators
		 * (Linux) take a Reject of a SCSI command as no answer. */
		c->rx_ignore = true;
		iscsi_conn_fail_soon(c, "out of memory for a task");
		return;
	}
	/* known from the header on, so that a reset can tell whose it is */
	if (!iscsi_lun_decode(h->lun, &t->cmd.lun))
		t->cmd.lun = UINT64_MAX;
	rc = task_alloc_buf(t, h->cdb[0]);
	if (rc == -EFBIG) {
		/* more than MAXIMUM TRANSFER LENGTH (VPD B0) allows */
		t->fixed_status = SCSI_STATUS_CHECK_CONDITION;
		t->fixed_too_long = true;
	} else if (rc == -ENOBUFS || rc == -ENOMEM) {
		/* all buffers in use: retry later (SAM-5 §5.3.3) */
		t->fixed_status = SCSI_STATUS_TASK_SET_FULL;
	}
	c->rx_task = t;
	if (h->data_len && t->cmd.buf)
		c->rx_data_dst = t->cmd.buf;
}

/* Extended CDB AHS (RFC 7143 §11.2.2.3): CDB bytes beyond 16. */
static int cmd_parse_ahs(struct iscsi_conn *c, struct iscsi_task *t)
{
	uint32_t total = c->rx_h.total_ahs_len * 4u, pos = 0;

	while (pos + 4 <= total) {
		uint16_t alen = be16_get(c->rx_ahs + pos);
		uint8_t type = c->rx_ahs[pos + 2];
		uint32_t padded = (alen + 3u) & ~3u;

		if (pos + 4 + padded > total || alen == 0)
			return -1;
		if (type == 1) {
			/* AHSLength counts the reserved byte plus CDB bytes */
			uint32_t extra = alen - 1u;

			if (16 + extra > SCSI_CDB_MAX)
				return -1;
			memcpy(t->cmd.cdb + 16, c->rx_ahs + pos + 4, extra);
			t->cmd.cdb_len = (uint8_t)(16 + extra);
		} else if (type == 2) {
			return -2; /* bidirectional: not supported */
		} else {
			return -1;
		}
		pos += 4 + padded;
	}
	return pos == total ? 0 : -1;
}

static void ffp_cmd_pdu(struct iscsi_conn *c)
{
	struct iscsi_sess *s = c->sess;
	const struct iscsi_bhs *h = &c->rx_h;
	struct iscsi_task *t = c->rx_task;
	uint64_t lun;
	int rc;

	if (c->rx_ignore) {
		LOG_DEBUG(s->env,
			  "conn %u: CmdSN %u outside window [%u, %u]: ignored",
			  c->id, h->w24, s->exp_cmdsn, s->max_cmdsn);
		return;
	}
	if (c->rx_reject) {
		iscsi_send_reject(c, c->rx_reject, c->rx_bhs);
		return;
	}
	t->cmd.dir = (h->flags & ISCSI_CMD_F_READ)
			     ? ((h->flags & ISCSI_CMD_F_WRITE) ? SCSI_DIR_BIDI
							       : SCSI_DIR_READ)
			     : ((h->flags & ISCSI_CMD_F_WRITE) ? SCSI_DIR_WRITE
							       : SCSI_DIR_NONE);
	t->cmd.attr = (enum scsi_task_attr)(h->flags & ISCSI_CMD_ATTR_MASK);
	if (t->cmd.attr > SCSI_TASK_ACA)
		t->cmd.attr = SCSI_TASK_SIMPLE;
	t->cmd.tag = t->itt;
	memcpy(t->cmd.cdb, h->cdb, 16);
	t->cmd.cdb_len = 16;
	if (!iscsi_lun_decode(h->lun, &lun))
		lun = UINT64_MAX; /* the SCSI layer reports it */
	t->cmd.lun = lun;
	rc = cmd_parse_ahs(c, t);
	if (rc || t->cmd.dir == SCSI_DIR_BIDI) {
		iscsi_send_reject(c,
				  rc == -1 ? ISCSI_REJECT_PROTOCOL_ERROR
					   : ISCSI_REJECT_CMD_NOT_SUPPORTED,
				  c->rx_bhs);
		task_answered(t);
		task_free(t);
		return;
	}
	if (t->cmd.dir == SCSI_DIR_WRITE) {
		uint32_t first = s->p.first_burst < t->edtl ? s->p.first_burst
							    : t->edtl;

		t->data_received = h->data_len;
		t->unsol_next = h->data_len;
		if (!s->p.initial_r2t && !(h->flags & ISCSI_FLAG_FINAL) &&
		    first > h->data_len)
			t->unsolicited_left = first - h->data_len;
		t->r2t_next_offset = t->data_received + t->unsolicited_left;
	}
	if (h->immediate) {
		t->accepted = true;
	} else if (h->w24 == s->exp_cmdsn) {
		t->accepted = true;
		s->exp_cmdsn++;
	} else {
		t->state = TASK_QUEUED;
		TAILQ_INSERT_TAIL(&s->pending, t, pending_link);
		return;
	}
	task_progress(t);
	sess_release_pending(s);
}

/* ------------------------------------------------------------ Data-Out */

static struct iscsi_r2t *task_find_r2t(struct iscsi_task *t, uint32_t ttt)
{
	for (unsigned int i = 0; i < t->r2t_count; i++)
		if (t->r2ts[i].ttt == ttt)
			return &t->r2ts[i];
	return NULL;
}

static void ffp_dataout_header(struct iscsi_conn *c)
{
	const struct iscsi_bhs *h = &c->rx_h;
	struct iscsi_task *t = sess_find_task(c->sess, h->itt);
	uint32_t off = h->w40, len = h->data_len;

	if (!t || t->cmd.dir != SCSI_DIR_WRITE ||
	    (t->state != TASK_RX_DATA && t->state != TASK_QUEUED)) {
		c->rx_reject = ISCSI_REJECT_INVALID_PDU_FIELD;
		return;
	}
	if (t->aborting) {
		/* data still in flight for an aborted task: drop it */
		c->rx_ignore = true;
		c->rx_discard = true;
		return;
	}
	if (h->w20 == ISCSI_RESERVED_TAG) {
		/* unsolicited: in order, inside the first burst */
		if (t->final_seen || off != t->unsol_next ||
		    len > t->unsolicited_left || h->w36 != t->next_datasn) {
			c->rx_reject = ISCSI_REJECT_PROTOCOL_ERROR;
			return;
		}
	} else {
		struct iscsi_r2t *r = task_find_r2t(t, h->w20);

		if (!r || off != r->offset + r->received ||
		    len > r->length - r->received || h->w36 != r->next_datasn) {
			c->rx_reject = ISCSI_REJECT_PROTOCOL_ERROR;
			return;
		}
	}
	c->rx_task = t;
	if (len && t->cmd.buf)
		c->rx_data_dst = t->cmd.buf + off;
}

static void r2t_retire(struct iscsi_task *t, struct iscsi_r2t *r)
{
	unsigned int i = (unsigned int)(r - t->r2ts);

	memmove(&t->r2ts[i], &t->r2ts[i + 1],
		(t->r2t_count - i - 1) * sizeof(t->r2ts[0]));
	t->r2t_count--;
}

static void ffp_dataout_pdu(struct iscsi_conn *c)
{
	const struct iscsi_bhs *h = &c->rx_h;
	struct iscsi_task *t = c->rx_task;
	bool final = h->flags & ISCSI_FLAG_FINAL;

	if (c->rx_ignore)
		return; /* its task ended while the data arrived */
	if (c->rx_reject) {
		LOG_DEBUG(c->env,
			  "conn %u: bad Data-Out itt 0x%x ttt 0x%x off %u "
			  "len %u datasn %u",
			  c->id, h->itt, h->w20, h->w40, h->data_len, h->w36);
		iscsi_send_reject(c, c->rx_reject, c->rx_bhs);
		return;
	}
	t->data_received += h->data_len;
	if (h->w20 == ISCSI_RESERVED_TAG) {
		t->unsolicited_left -= h->data_len;
		t->unsol_next += h->data_len;
		t->next_datasn++;
		if (final || t->unsolicited_left == 0) {
			t->final_seen = true;
			/* An unsolicited burst cut short leaves the rest to
			 * R2Ts, from where it stopped. */
			t->r2t_next_offset = t->unsol_next;
			t->unsolicited_left = 0;
		}
	} else {
		struct iscsi_r2t *r = task_find_r2t(t, h->w20);

		r->received += h->data_len;
		r->next_datasn++;
		if (final && r->received != r->length) {
			iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR,
					  c->rx_bhs);
			return;
		}
		if (r->received == r->length)
			r2t_retire(t, r);
	}
	task_progress(t);
}

/* ---------------------------------------------------- NOP, Text, Logout */

/* Non-immediate requests other than SCSI commands take a CmdSN too. */
void iscsi_sess_consume_cmdsn(struct iscsi_sess *s, const struct iscsi_bhs *h)
{
	if (!h->immediate && h->w24 == s->exp_cmdsn) {
		s->exp_cmdsn++;
		sess_release_pending(s);
	}
}

static void ffp_nop_out(struct iscsi_conn *c)
{
	const struct iscsi_bhs *h = &c->rx_h;
	struct iscsi_txpdu *p;
	struct iscsi_bhs r = {0};
	uint32_t len = h->data_len;

	iscsi_sess_consume_cmdsn(c->sess, h);
	if (h->itt == ISCSI_RESERVED_TAG) {
		/* a reply to our NOP-In, or a ping needing none */
		if (h->w20 != ISCSI_RESERVED_TAG)
			iscsi_conn_ping_answered(c, h->w20);
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
	r.w20 = ISCSI_RESERVED_TAG;
	r.w24 = c->stat_sn++;
	iscsi_sess_fill_sn(c->sess, &r);
	iscsi_conn_queue(c, p, &r);
}

static void send_logout_rsp(struct iscsi_sess *s)
{
	struct iscsi_conn *c = s->conn;
	struct iscsi_txpdu *p = iscsi_txpdu_new(c, ISCSI_OP_LOGOUT_RSP);
	struct iscsi_bhs h = {0};

	s->logout_pending = false;
	if (!p)
		return;
	h.opcode = ISCSI_OP_LOGOUT_RSP;
	h.flags = ISCSI_FLAG_FINAL;
	h.b2 = s->logout_rsp;
	h.itt = s->logout_itt;
	h.w24 = c->stat_sn++;
	h.w40 = (s->p.default_time2wait & 0xffffu) << 16 |
		(s->p.default_time2retain & 0xffffu);
	iscsi_sess_fill_sn(s, &h);
	if (s->logout_rsp == ISCSI_LOGOUT_RSP_OK) {
		p->close_after = true;
		c->state = CONN_LOGOUT;
	}
	iscsi_conn_queue(c, p, &h);
}

static void ffp_logout(struct iscsi_conn *c)
{
	struct iscsi_sess *s = c->sess;
	const struct iscsi_bhs *h = &c->rx_h;
	uint8_t reason = h->flags & 0x7f;
	uint16_t cid = (uint16_t)(h->w20 >> 16);

	iscsi_sess_consume_cmdsn(s, h);
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

/* ------------------------------------------------- task management */

static void send_tmf_rsp(struct iscsi_conn *c, uint32_t itt, uint8_t rsp)
{
	struct iscsi_txpdu *p = iscsi_txpdu_new(c, ISCSI_OP_TMF_RSP);
	struct iscsi_bhs h = {0};

	if (!p)
		return;
	h.opcode = ISCSI_OP_TMF_RSP;
	h.flags = ISCSI_FLAG_FINAL;
	h.b2 = rsp;
	h.itt = itt;
	h.w24 = c->stat_sn++;
	iscsi_sess_fill_sn(c->sess, &h);
	iscsi_conn_queue(c, p, &h);
}

static void tmf_task_gone(struct iscsi_sess *s, struct iscsi_tmf *tmf)
{
	if (--tmf->waiting > 0)
		return;
	TAILQ_REMOVE(&s->tmfs, tmf, link);
	owed_settle(s, &tmf->owed, tmf->arrival_ns);
	if (s->conn && !s->conn->closing) {
		struct iscsi_conn *c = s->conn;

		send_tmf_rsp(c, tmf->itt, tmf->response);
		if (tmf->function == ISCSI_TMF_TARGET_COLD_RESET &&
		    tmf->response == ISCSI_TMF_RSP_COMPLETE) {
			struct iscsi_txpdu *last =
				TAILQ_LAST(&c->txq, iscsi_tx_list);

			srv_close_target_sessions(s->srv, s->tgt, s);
			if (last)
				last->close_after = true;
		}
		sess_maybe_logout(s);
		iscsi_conn_kick(c);
	}
	free(tmf);
}

/* Is t's own SCSI Command PDU still arriving? */
static bool task_cmd_pdu_arriving(const struct iscsi_task *t)
{
	const struct iscsi_conn *c = t->sess->conn;

	return c && c->rx_task == t && c->rx_h.opcode == ISCSI_OP_SCSI_CMD;
}

/* End a task that is not inside the SCSI layer, without a response.  One
 * whose command PDU is still arriving, or which waits for its CmdSN turn,
 * is only marked: it must still take its CmdSN (RFC 7143 §4.2.2.1), or
 * every later command would wait for it forever.  task_progress() ends it
 * once it has. */
static void task_abort_silently(struct iscsi_task *t)
{
	task_taken_over(t);
	if (t->state == TASK_QUEUED || task_cmd_pdu_arriving(t))
		return;
	task_answered(t);
	if (t->tx_refs == 0)
		task_free(t);
}

/* Abort one of our tasks on behalf of tmf.  Tasks not yet at the SCSI
 * layer end here; tasks inside it end when it hands them back. */
static void tmf_abort_one(struct iscsi_task *t, struct iscsi_tmf *tmf)
{
	if (t->aborting || t->state == TASK_TX)
		return;
	if (t->state == TASK_EXEC) {
		task_taken_over(t);
		t->tmf = tmf;
		tmf->waiting++;
		return;
	}
	task_abort_silently(t);
}

/* The session's own LUN map (LUN masking included). */
static struct scsi_lu *sess_lun_lu(const struct iscsi_sess *s, uint64_t lun)
{
	if (!s->scsi || lun >= UT_MAX_LUNS)
		return NULL;
	return scsi_sess_lu(s->scsi, (uint32_t)lun, NULL);
}

static bool tmf_lun_mapped(struct iscsi_sess *s, uint64_t lun)
{
	return sess_lun_lu(s, lun) != NULL;
}

static struct scsi_lu *sess_task_lu(const struct iscsi_sess *s,
				    const struct iscsi_task *t)
{
	return sess_lun_lu(s, t->cmd.lun);
}

/* SAM-5 §7.6: a reset or CLEAR TASK SET ends the tasks of every nexus on
 * the LU.  Those inside the SCSI layer are aborted there; those of other
 * sessions still waiting for Data-Out or CmdSN order end here, with TASK
 * ABORTED status (TAS=1, SAM-5 §5.6): an initiator must never wait
 * forever for a command another initiator's reset ended.  A task whose
 * command PDU is still arriving, or which waits for its CmdSN turn, is
 * answered once it has taken its CmdSN (task_progress()).  Each session
 * does it on its own reactor. */
void iscsi_sess_abort_waiting(struct iscsi_sess *s, const void *lu)
{
	struct iscsi_task *t, *tmp;

	if (s->closing || s->discovery)
		return;
	TAILQ_FOREACH_SAFE (t, &s->tasks, link, tmp) {
		if (t->state != TASK_RX_DATA && t->state != TASK_QUEUED)
			continue;
		if (lu && sess_task_lu(s, t) != lu)
			continue;
		if (t->aborting || t->tas_aborted)
			continue;
		t->tas_aborted = true;
		if (!task_cmd_pdu_arriving(t))
			task_progress(t);
	}
	if (s->conn)
		iscsi_conn_kick(s->conn);
}

static void srv_abort_waiting_tasks(struct iscsi_server *srv,
				    const struct iscsi_sess *from,
				    const struct scsi_lu *lu)
{
	/* An LU may be mapped by several targets: every session may hold
	 * tasks on it.  Without an LU: the sessions of our target. */
	iscsi_server_each_sess(srv, from->env, from, lu ? NULL : from->tgt,
			       ISCSI_XOP_ABORT_WAITING, lu, "reset");
}

/* TARGET COLD RESET (RFC 7143 §11.5.1): once answered, every session of
 * the target ends, ours included. */
static void srv_close_target_sessions(struct iscsi_server *srv,
				      const struct iscsi_tgt *tgt,
				      const struct iscsi_sess *except)
{
	iscsi_server_each_sess(srv, except->env, except, tgt, ISCSI_XOP_CLOSE,
			       NULL, "target cold reset");
}

static void ffp_tmf(struct iscsi_conn *c)
{
	struct iscsi_sess *s = c->sess;
	const struct iscsi_bhs *h = &c->rx_h;
	uint8_t fn = h->flags & 0x7f;
	struct iscsi_tmf *tmf;
	struct iscsi_task *t, *tmp;
	uint64_t lun = UINT64_MAX;

	iscsi_sess_consume_cmdsn(s, h);
	if (s->discovery) {
		iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->rx_bhs);
		return;
	}
	(void)iscsi_lun_decode(h->lun, &lun);
	tmf = calloc(1, sizeof(*tmf));
	if (!tmf) {
		send_tmf_rsp(c, h->itt, ISCSI_TMF_RSP_REJECTED);
		return;
	}
	tmf->itt = h->itt;
	tmf->function = fn;
	tmf->response = ISCSI_TMF_RSP_COMPLETE;
	tmf->waiting = 1; /* held until we finish setting up */
	TAILQ_INSERT_TAIL(&s->tmfs, tmf, link);
	owed_add(s, &tmf->owed, &tmf->arrival_ns);

	switch (fn) {
	case ISCSI_TMF_ABORT_TASK:
		t = sess_find_task(s, h->w20);
		if (t && t->cmd.lun == lun) {
			bool exec = t->state == TASK_EXEC;

			/* Mark first: the layer may hand it back at once. */
			tmf_abort_one(t, tmf);
			if (exec)
				scsi_tmf_abort_task(s->scsi, lun, h->w20);
		} else if (!t) {
			/* RFC 7143 §11.5.1: a RefCmdSN still inside the window
			 * names a command we never received: consider it
			 * aborted ("function complete").  Outside the window
			 * the task came and went: "task does not exist". */
			if (!cmdsn_in_window(s, h->w32))
				tmf->response = ISCSI_TMF_RSP_NO_TASK;
		}
		break;
	case ISCSI_TMF_ABORT_TASK_SET:
	case ISCSI_TMF_CLEAR_TASK_SET:
	case ISCSI_TMF_LOGICAL_UNIT_RESET:
		if (!tmf_lun_mapped(s, lun)) {
			tmf->response = ISCSI_TMF_RSP_NO_LUN;
			break;
		}
		TAILQ_FOREACH_SAFE (t, &s->tasks, link, tmp)
			if (t->cmd.lun == lun && t->itt != h->itt)
				tmf_abort_one(t, tmf);
		if (fn == ISCSI_TMF_ABORT_TASK_SET) {
			scsi_tmf_abort_task_set(s->scsi, lun);
			break;
		}
		srv_abort_waiting_tasks(s->srv, s, sess_lun_lu(s, lun));
		if (fn == ISCSI_TMF_CLEAR_TASK_SET)
			scsi_tmf_clear_task_set(s->scsi, lun);
		else
			scsi_tmf_lu_reset(s->scsi, lun);
		break;
	case ISCSI_TMF_TARGET_WARM_RESET:
	case ISCSI_TMF_TARGET_COLD_RESET:
		TAILQ_FOREACH_SAFE (t, &s->tasks, link, tmp)
			if (t->itt != h->itt)
				tmf_abort_one(t, tmf);
		srv_abort_waiting_tasks(s->srv, s, NULL);
		scsi_tmf_target_reset(s->scsi);
		break;
	case ISCSI_TMF_CLEAR_ACA:
		tmf->response = ISCSI_TMF_RSP_NOT_SUPPORTED;
		break;
	case ISCSI_TMF_TASK_REASSIGN:
		/* RFC 7143 §11.5.1: at ErrorRecoveryLevel 0. */
		tmf->response = ISCSI_TMF_RSP_NO_FAILOVER;
		break;
	default:
		tmf->response = ISCSI_TMF_RSP_REJECTED;
		break;
	}
	tmf_task_gone(s, tmf);
}

/* ---------------------------------------------------------- dispatch */

void iscsi_ffp_rx_header(struct iscsi_conn *c)
{
	c->rx_reject = 0;
	c->rx_ignore = false;
	switch (c->rx_h.opcode) {
	case ISCSI_OP_SCSI_CMD:
		ffp_cmd_header(c);
		break;
	case ISCSI_OP_DATA_OUT:
		if (c->sess->discovery)
			c->rx_reject = ISCSI_REJECT_PROTOCOL_ERROR;
		else
			ffp_dataout_header(c);
		break;
	default:
		break;
	}
}

void iscsi_ffp_rx_pdu(struct iscsi_conn *c)
{
	const struct iscsi_bhs *h = &c->rx_h;

	if (h->opcode != ISCSI_OP_DATA_OUT)
		c->exp_stat_sn = h->w28;
	switch (h->opcode) {
	case ISCSI_OP_SCSI_CMD:
		ffp_cmd_pdu(c);
		break;
	case ISCSI_OP_DATA_OUT:
		ffp_dataout_pdu(c);
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
		ffp_tmf(c);
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
