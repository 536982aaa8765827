/*
 * owed.c — liveness: the answers a session owes, and RspTimeout.
 *
 * Liveness is the target's own invariant, not only the initiator's
 * timeout: every SCSI command and TMF the target accepts is answered --
 * its response queued -- or its connection closed, within RspTimeout of
 * its arrival (SCST's RspTimeout; conn.c's keepalive timer enforces it,
 * asking through iscsi_ffp_phase).  A task is owed from its arrival until
 * it is answered, until its own session's TMF takes it over (that TMF's
 * response concludes it, RFC 7143 §11.5.1), or until its connection
 * closes; a TMF until its response is queued.  Tasks and TMFs sit in
 * their lists in arrival order, so the oldest owed is the first one still
 * owed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

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

	ut_assert(s->owed > 0); /* asked only while something is owed */
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
	ut_assert(oldest != UINT64_MAX); /* the count says one is owed */
	return oldest;
}

static void owed_publish(struct iscsi_sess *s, uint32_t n, uint64_t since)
{
	ut_assert((n == 0) == (since == UINT64_MAX));
	__atomic_store_n(&s->owed, n, __ATOMIC_RELAXED);
	__atomic_store_n(&s->owed_since_ns, since, __ATOMIC_RELAXED);
}

/* Work that arrived now owes an answer; *owed and *arrival_ns are its. */
/* How many tasks and TMFs are owed, counted.  (A walk.) */
static uint32_t owed_count(const struct iscsi_sess *s)
{
	const struct iscsi_task *t;
	const struct iscsi_tmf *tmf;
	uint32_t n = 0;

	TAILQ_FOREACH (t, &s->tasks, link)
		n += t->owed;
	TAILQ_FOREACH (tmf, &s->tmfs, link)
		n += tmf->owed;
	return n;
}

void iscsi_owed_add(struct iscsi_sess *s, bool *owed, uint64_t *arrival_ns)
{
	ut_assert(!*owed);
	ut_assert(!s->closing); /* a closed session takes no work */
	*owed = true;
	*arrival_ns = env_now_ns(s->env);
	if (s->owed == 0) {
		owed_publish(s, 1, *arrival_ns);
		if (s->conn)
			iscsi_conn_owed_from(s->conn, *arrival_ns);
	} else {
		owed_publish(s, s->owed + 1, s->owed_since_ns);
	}
	ut_assert(s->owed_since_ns <= *arrival_ns);
}

/* It is answered (or taken over, or its connection is gone). */
void iscsi_owed_settle(struct iscsi_sess *s, bool *owed, uint64_t arrival_ns)
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
	/* the count is the owed flags of the lists (this one is off) */
	ut_assert_slow(owed_count(s) == s->owed);
}

/* The connection is gone: nothing is owed any more. */
void iscsi_owed_clear(struct iscsi_sess *s)
{
	struct iscsi_task *t;
	struct iscsi_tmf *tmf;

	TAILQ_FOREACH (t, &s->tasks, link)
		t->owed = false;
	TAILQ_FOREACH (tmf, &s->tmfs, link)
		tmf->owed = false;
	ut_assert(s->conn == NULL); /* only once the connection is gone */
	owed_publish(s, 0, UINT64_MAX);
}

/* t's response is queued, or it ends without one (a Reject, or its own
 * session's TMF concludes it). */
void iscsi_task_answered(struct iscsi_task *t)
{
	ut_assert(!t->responded); /* one answer per task */
	ut_assert(!t->in_scsi);
	t->responded = true;
	iscsi_owed_settle(t->sess, &t->owed, t->arrival_ns);
}

/* Our own TMF ends t: that TMF, owed itself, answers for it. */
void iscsi_task_taken_over(struct iscsi_task *t)
{
	ut_assert(!t->aborting); /* taken over once */
	ut_assert(!t->responded);
	t->aborting = true;
	iscsi_owed_settle(t->sess, &t->owed, t->arrival_ns);
}

uint64_t iscsi_sess_owed_since(const struct iscsi_sess *s)
{
	return s->owed_since_ns;
}

static const char *task_state_name(const struct iscsi_task *t)
{
	/* only a task still owed is named (RspTimeout) */
	ut_assert(t->owed);
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
	ut_unreachable("a task state outside enum iscsi_task_state");
}

/* RspTimeout left t inside the SCSI layer, where it has now been
 * RspTimeout on its own: the target is stuck. */
static void task_stuck_fire(void *arg)
{
	struct iscsi_task *t = arg;
	struct iscsi_sess *s = t->sess;

	ut_assert(t->in_scsi); /* its return cancels this */
	ut_assert(t->stuck_judging);
	t->stuck_judging = false;
	s->r->stats.rsp_timeouts_judging--;
	s->r->stats.rsp_timeouts_stuck++;
	LOG_ERR(s->env,
		"conn %u: RspTimeout: task itt 0x%x (CDB %02x) still inside "
		"the SCSI layer, there on its own for %llu ms: stuck",
		s->conn_id, t->itt, t->cmd.cdb[0],
		(unsigned long long)((env_now_ns(s->env) - t->stuck_from_ns) /
				     1000000));
}

void iscsi_task_stuck_judged(struct iscsi_task *t)
{
	struct iscsi_sess *s = t->sess;

	if (t->stuck_timer == NULL)
		return;
	if (t->stuck_judging) { /* back in time: not stuck */
		t->stuck_judging = false;
		s->r->stats.rsp_timeouts_judging--;
	}
	env_timer_cancel(s->env, t->stuck_timer);
	env_timer_free(s->env, t->stuck_timer);
	t->stuck_timer = NULL;
}

/* How long has t been inside the target on its own -- since it went to
 * run (what came before, its Data-Out and its CmdSN turn, was the
 * initiator's), and since other commands it waited for in the task set
 * last let it go (their wait is theirs, judged in their own sessions)?
 * UINT64_MAX while it still waits for them. */
static uint64_t task_own_since(const struct iscsi_task *t)
{
	uint64_t since = scsi_cmd_own_since(&t->cmd);

	if (since == UINT64_MAX)
		return UINT64_MAX;
	return since > t->exec_ns ? since : t->exec_ns;
}

bool iscsi_sess_owed_overdue(struct iscsi_sess *s, uint64_t now_ns,
			     uint64_t timeout_ns)
{
	struct iscsi_task *t, *task = NULL;
	const struct iscsi_tmf *tmf, *oldest_tmf = NULL;
	uint64_t since = s->owed_since_ns, own = 0, later = 0;
	bool stuck;

	if (since == UINT64_MAX || now_ns - since < timeout_ns)
		return false;
	ut_assert(s->owed > 0);
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
	 * its business; waiting inside the target never should be.  A task
	 * the task set holds behind older commands (their attributes, an
	 * LBA range they hold) waits for them: they are owed in their own
	 * sessions, and counted stuck there if they are (explore seed
	 * 332694168811).  What counts is the task's own time inside the
	 * target, since it went to run and since they let it go: stuck if
	 * that reaches RspTimeout.  When the end of theirs let it go only
	 * a moment ago (their RspTimeout, due with ours or a microsecond
	 * before: explore seeds 168959902471, 181078555581), it has not had
	 * that time yet: closing the connection does not end its stay, and
	 * it is judged once it has had it (stuck_timer) -- stuck if still
	 * inside then, as a read a store holds is. */
	stuck = task == NULL;
	if (task && task->state == TASK_EXEC) {
		own = task->in_scsi ? task_own_since(task) : 0;
		if (own == UINT64_MAX)
			; /* waits for others */
		else if (now_ns - own >= timeout_ns || !task->in_scsi)
			stuck = true;
		else
			later = own + timeout_ns;
	}
	if (later) {
		ut_assert(task->stuck_timer == NULL); /* one RspTimeout */
		task->stuck_timer =
			env_timer_new(s->env, task_stuck_fire, task);
		if (task->stuck_timer == NULL) {
			stuck = true; /* unjudged: counted, never hidden */
			later = 0;
		} else {
			task->stuck_from_ns = own;
			task->stuck_judging = true;
			s->r->stats.rsp_timeouts_judging++;
			env_timer_arm(s->env, task->stuck_timer, later);
		}
	}
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
	if (later)
		UT_LOG(s->env, UT_LOG_WARN,
		       "conn %u: task itt 0x%x there on its own for %llu us "
		       "only (before, it waited for the initiator or for other "
		       "commands): stuck if still inside in %llu ms",
		       s->conn_id, task->itt,
		       (unsigned long long)((now_ns - own) / 1000),
		       (unsigned long long)((later - now_ns) / 1000000));
	if (!task)
		LOG_ERR(s->env,
			"conn %u: RspTimeout: TMF itt 0x%x (function %u) "
			"unanswered for %llu ms: closing the connection",
			s->conn_id, oldest_tmf->itt, oldest_tmf->function,
			(unsigned long long)((now_ns - since) / 1000000));
	return true;
}
