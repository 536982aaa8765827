/*
 * tmf.c — task management (RFC 7143 §11.5, SAM-5 §7): ABORT TASK, ABORT
 * TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET, TARGET WARM and COLD
 * RESET.  A TMF response goes out only after the tasks it affects are
 * gone (the last one's end calls iscsi_tmf_task_gone()); tasks of other
 * sessions a reset ends are answered TASK ABORTED (TAS=1), each session
 * on its own reactor (the server carries the request across), and the
 * response waits for those too: each wait on another reactor holds the
 * TMF (tmf_hold) until its release comes back (SAM-5 §7.1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

static void send_tmf_rsp(struct iscsi_conn *c, uint32_t itt, uint8_t rsp)
{
	struct iscsi_txpdu *p = iscsi_txpdu_new(c, ISCSI_OP_TMF_RSP);
	struct iscsi_bhs h = {0};

	ut_assert(c->sess != NULL);
	ut_assert(c->state == CONN_FFP);
	if (!p)
		return;
	h.opcode = ISCSI_OP_TMF_RSP;
	h.flags = ISCSI_FLAG_FINAL;
	h.b2 = rsp;
	h.itt = itt;
	h.stat_sn = c->stat_sn++;
	iscsi_sess_fill_sn(c->sess, &h);
	iscsi_conn_queue(c, p, &h);
}

/* Is tmf one of s's TMFs in progress?  (A walk.) */
static bool tmf_listed(const struct iscsi_sess *s, const struct iscsi_tmf *tmf)
{
	const struct iscsi_tmf *x;

	TAILQ_FOREACH (x, &s->tmfs, link)
		if (x == tmf)
			return true;
	return false;
}

void iscsi_tmf_task_gone(struct iscsi_sess *s, struct iscsi_tmf *tmf)
{
	struct iscsi_tmf *then = tmf->then;

	/* reference count: one per task it waits for, one for its setup */
	ut_assert(tmf->waiting > 0);
	ut_assert_slow(tmf_listed(s, tmf));
	if (--tmf->waiting > 0)
		return;
	TAILQ_REMOVE(&s->tmfs, tmf, link);
	ut_assert(s->tmfs_alive > 0);
	s->tmfs_alive--;
	iscsi_owed_settle(s, &tmf->owed, tmf->arrival_ns);
	if (s->conn && !s->conn->closing && tmf->lost) {
		/* nothing untrue goes: the initiator learns of a dropped
		 * connection, the TMF's outcome unknown */
		iscsi_conn_fail_soon(s->conn,
				     "out of memory: a TMF could not wait for "
				     "the commands it aborted");
		s->events->tmf_answered(s);
	} else if (s->conn && !s->conn->closing) {
		struct iscsi_conn *c = s->conn;

		send_tmf_rsp(c, tmf->itt, tmf->response);
		if (tmf->function == ISCSI_TMF_TARGET_COLD_RESET &&
		    tmf->response == ISCSI_TMF_RSP_COMPLETE) {
			struct iscsi_txpdu *last =
				TAILQ_LAST(&c->txq, iscsi_tx_list);

			s->srv->ops->close_target_sessions(s);
			if (last)
				last->close_after = true;
		}
		s->events->tmf_answered(s);
		iscsi_conn_kick(c);
	} else if (tmf->function == ISCSI_TMF_TARGET_COLD_RESET &&
		   tmf->response == ISCSI_TMF_RSP_COMPLETE) {
		/* The issuer's connection closed before the reset ended: no
		 * response goes, but the reset was done (the other sessions'
		 * tasks ended, their nexuses told of it), and the target
		 * closes all its connections of the target all the same
		 * (RFC 7143 §11.5.1).  Before, they stayed (round of
		 * devattr21). */
		s->srv->ops->close_target_sessions(s);
	}
	free(tmf);
	if (then)
		iscsi_tmf_task_gone(s, then);
}

/* A wait of tmf on another reactor (another session's tasks, commands of
 * other nexuses in the SCSI layer) begins: the response waits for its
 * release, and the session lives until then. */
static void tmf_hold(void *arg)
{
	struct iscsi_tmf *tmf = arg;
	struct iscsi_sess *s = tmf->sess;

	ut_assert(tmf->waiting > 0); /* still being set up */
	ut_assert_slow(tmf_listed(s, tmf));
	tmf->waiting++;
	s->tmf_holds++;
	ut_assert(s->tmf_holds > 0); /* no wrap */
}

/* A wait of tmf could not be kept (out of memory): it must not answer
 * FUNCTION COMPLETE, which would come before commands it aborted end
 * (SAM-5 §7.1); its connection closes instead (iscsi_tmf_task_gone). */
static void tmf_lost(void *arg)
{
	struct iscsi_tmf *tmf = arg;

	ut_assert(tmf->waiting > 0);
	tmf->lost = true;
}

/* ... and ends, on the session's reactor. */
static void tmf_release(void *arg)
{
	struct iscsi_tmf *tmf = arg;
	struct iscsi_sess *s = tmf->sess;

	ut_assert(s->tmf_holds > 0);
	ut_assert(tmf->waiting > 0);
	s->tmf_holds--;
	/* the response may go; a Logout may follow; a closed session may
	 * end with its last release */
	s->events->task_gone(s, tmf);
}

/* `later` aborts a task `earlier` already aborted and still waits for:
 * it is complete only once `earlier` is (each TMF waits at most once for
 * each earlier one: the chain of later TMFs is walked). */
static void tmf_wait_for(struct iscsi_tmf *later, struct iscsi_tmf *earlier)
{
	while (earlier->then && earlier->then != later)
		earlier = earlier->then;
	if (earlier->then == later)
		return;
	earlier->then = later;
	later->waiting++;
}

/* Abort one of our tasks on behalf of tmf.  Tasks not yet at the SCSI
 * layer end here; tasks inside it end when it hands them back. */
static void tmf_abort_one(struct iscsi_task *t, struct iscsi_tmf *tmf)
{
	ut_assert(tmf->waiting > 0); /* still being set up */
	if (t->state == TASK_TX)
		return;
	if (t->aborting) {
		/* Aborted by an earlier TMF and still inside the SCSI layer:
		 * this one's FUNCTION COMPLETE too must come after the task
		 * ended (SAM-5 §7.1: the tasks a TMF aborts have ended when
		 * it completes), or a write lands after it. */
		if (t->state == TASK_EXEC && t->tmf && t->tmf != tmf)
			tmf_wait_for(tmf, t->tmf);
		return;
	}
	if (t->state == TASK_EXEC) {
		/* one TMF waits for a task: it holds the task's reference */
		ut_assert(t->tmf == NULL);
		ut_assert(t->in_scsi);
		iscsi_task_taken_over(t);
		t->tmf = tmf;
		tmf->waiting++;
		return;
	}
	iscsi_task_abort_silently(t);
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
 * answered once it has taken its CmdSN (iscsi_task_progress()).  Each session
 * does it on its own reactor. */
void iscsi_sess_abort_waiting(struct iscsi_sess *s, const void *lu)
{
	struct iscsi_task *t;

	ut_assert(lu != NULL);
	if (s->closing || s->discovery)
		return;
again:
	TAILQ_FOREACH (t, &s->tasks, link) {
		if (t->state != TASK_RX_DATA && t->state != TASK_QUEUED)
			continue;
		if (sess_task_lu(s, t) != lu)
			continue;
		if (t->aborting || t->tas_aborted)
			continue;
		ut_assert(!t->in_scsi); /* those the SCSI layer aborts */
		ut_assert(t->sess == s);
		t->tas_aborted = true;
		if (iscsi_task_cmd_pdu_arriving(t))
			continue;
		/* It ends, or leaves the task set (placed): what it held
		 * there may run and end other tasks of s at once. */
		iscsi_task_progress(t);
		goto again;
	}
	if (s->conn)
		iscsi_conn_kick(s->conn);
}

/* The tasks the TMF just aborted that had their place in the SCSI task
 * set end now, once the SCSI layer has aborted what the TMF aborts
 * there: leaving the set lets go the commands they held, and those the
 * TMF aborted too must end, not run.  One at a time: an end may end
 * other tasks (a command let go runs), so the walk starts again. */
static void tmf_end_placed(struct iscsi_sess *s)
{
	struct iscsi_task *t;

again:
	TAILQ_FOREACH (t, &s->tasks, link) {
		if (!t->placed || !t->aborting)
			continue;
		iscsi_task_end_aborted(t);
		goto again;
	}
}

/* RFC 7143 §11.5.1: a target reset cancels "all pending operations on
 * all Logical Units known by the issuing initiator", of every nexus: the
 * SCSI layer resets each LU of our LUN set for all its nexuses
 * (scsi_tmf_target_reset), and here the tasks other sessions hold on
 * those LUs waiting for Data-Out or their CmdSN turn end too -- sessions
 * of any target that maps one of them, as at a LOGICAL UNIT RESET (lane
 * dupcmd19: before, only our own target's sessions were swept, and a
 * waiting command of another target's session ran after the reset's
 * FUNCTION COMPLETE).  One sweep per LU: a target reset is rare, and a
 * session's LUN set is at most UT_MAX_LUNS. */
static void tmf_target_reset_waiting(struct iscsi_sess *s,
				     const struct scsi_tmf_hook *hook)
{
	for (uint64_t lun = 0; lun < UT_MAX_LUNS; lun++) {
		const struct scsi_lu *lu = sess_lun_lu(s, lun);
		bool seen = false;

		if (lu == NULL)
			continue;
		/* an LU mapped at two LUNs is swept once */
		for (uint64_t k = 0; k < lun && !seen; k++)
			seen = sess_lun_lu(s, k) == lu;
		if (!seen)
			s->srv->ops->abort_waiting(s, lu, hook);
	}
}

void iscsi_tmf_rx(struct iscsi_conn *c)
{
	struct iscsi_sess *s = c->sess;
	const struct iscsi_bhs *h = &c->rx_h;
	uint8_t fn = h->flags & 0x7f;
	struct iscsi_tmf *tmf;
	struct iscsi_task *t, *tmp;
	uint64_t lun = UINT64_MAX;
	struct scsi_tmf_hook hook;

	if (!iscsi_sess_consume_cmdsn(s, h))
		return; /* outside the window or a duplicate: ignored */
	if (s->discovery) {
		iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->rx_bhs);
		return;
	}
	if (s->tmfs_alive >= ISCSI_TMF_MAX(s->queue_depth)) {
		/* One TMF for each task the session may hold is in progress
		 * already: no initiator needs more, and each one kept costs
		 * memory and a walk of those before it (tmf_wait_for). */
		LOG_DEBUG(s->env,
			  "conn %u: TMF itt 0x%x rejected: %u in progress",
			  c->id, h->itt, s->tmfs_alive);
		send_tmf_rsp(c, h->itt, ISCSI_TMF_RSP_REJECTED);
		return;
	}
	(void)iscsi_lun_decode(h->lun, &lun);
	tmf = calloc(1, sizeof(*tmf));
	if (!tmf) {
		send_tmf_rsp(c, h->itt, ISCSI_TMF_RSP_REJECTED);
		return;
	}
	tmf->sess = s;
	tmf->itt = h->itt;
	tmf->function = fn;
	tmf->response = ISCSI_TMF_RSP_COMPLETE;
	tmf->waiting = 1; /* held until we finish setting up */
	ut_assert_slow(!tmf_listed(s, tmf));
	TAILQ_INSERT_TAIL(&s->tmfs, tmf, link);
	s->tmfs_alive++;
	ut_assert(s->tmfs_alive <= ISCSI_TMF_MAX(s->queue_depth));
	iscsi_owed_add(s, &tmf->owed, &tmf->arrival_ns);
	hook = (struct scsi_tmf_hook){tmf_hold, tmf_release, tmf, tmf_lost};

	switch (fn) {
	case ISCSI_TMF_ABORT_TASK:
		t = iscsi_sess_find_task(s, h->ref_task_tag);
		if (t && t->cmd.lun == lun) {
			bool exec = t->state == TASK_EXEC;

			/* Mark first: the layer may hand it back at once. */
			tmf_abort_one(t, tmf);
			if (exec)
				scsi_tmf_abort_task(s->scsi, lun,
						    h->ref_task_tag);
		} else if (!t) {
			/* RFC 7143 §11.5.1: a RefCmdSN still inside the window
			 * names a command we never received: consider it
			 * aborted ("function complete"), and, before the TMF's
			 * own CmdSN, its CmdSN received: the commands after it
			 * must not wait for it.  Outside the window the task
			 * came and went: "task does not exist". */
			if (!iscsi_cmdsn_in_window(s, h->ref_cmdsn))
				tmf->response = ISCSI_TMF_RSP_NO_TASK;
			else if (sna_lt(h->ref_cmdsn, h->cmdsn))
				iscsi_sess_cmdsn_received(s, h->ref_cmdsn);
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
		/* SAM-5 §7.1: FUNCTION COMPLETE only once every task it
		 * aborted, of every session, has ended (the hook's holds).
		 * The task set first: the other sessions' tasks that leave
		 * it below let go nothing the reset does not abort. */
		if (fn == ISCSI_TMF_CLEAR_TASK_SET)
			scsi_tmf_clear_task_set(s->scsi, lun, &hook);
		else
			scsi_tmf_lu_reset(s->scsi, lun, &hook);
		s->srv->ops->abort_waiting(s, sess_lun_lu(s, lun), &hook);
		break;
	case ISCSI_TMF_TARGET_WARM_RESET:
	case ISCSI_TMF_TARGET_COLD_RESET:
		TAILQ_FOREACH_SAFE (t, &s->tasks, link, tmp)
			if (t->itt != h->itt)
				tmf_abort_one(t, tmf);
		scsi_tmf_target_reset(s->scsi, &hook);
		tmf_target_reset_waiting(s, &hook);
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
	tmf_end_placed(s);
	/* RFC 7143 §11.5.1: "Task management requests must act on all the
	 * commands from the same session having a CmdSN lower than the
	 * task management CmdSN": those not received yet (a CmdSN gap)
	 * too, when they come. */
	if (tmf->response == ISCSI_TMF_RSP_COMPLETE) {
		if (fn == ISCSI_TMF_ABORT_TASK_SET ||
		    fn == ISCSI_TMF_CLEAR_TASK_SET ||
		    fn == ISCSI_TMF_LOGICAL_UNIT_RESET)
			iscsi_sess_tmf_gap(s, lun, h->cmdsn);
		else if (fn == ISCSI_TMF_TARGET_WARM_RESET ||
			 fn == ISCSI_TMF_TARGET_COLD_RESET)
			iscsi_sess_tmf_gap(s, UINT64_MAX, h->cmdsn);
	}
	/* the setup's own reference is still held: the response cannot
	 * have gone out before every affected task was counted */
	ut_assert(tmf->waiting >= 1);
	ut_assert(tmf->owed);
	iscsi_tmf_task_gone(s, tmf);
}
