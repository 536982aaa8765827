/*
 * task.c — SCSI tasks in full feature phase (RFC 7143 §3.2, §4.2, §11.3,
 * §11.7, §11.8): the data path.  A Data-Out PDU is followed here from its
 * header to the backstore and back: iscsi_task_dataout_header() checks
 * it against the task's R2Ts and points the connection at the task's
 * buffer, iscsi_task_dataout_pdu() counts it in, iscsi_task_progress()
 * solicits more or runs the task, scsi_cmd_exec() reaches the backstore,
 * task_scsi_done() gets it back and hands it to iscsi_task_respond()
 * (task_rsp.c), which queues the answer.
 *
 * Task states:
 *
 *   SCSI Command --> RX_DATA --(all Data-Out in, CmdSN in order)--> EXEC
 *     |   |             ^  R2Ts go out while data is missing          |
 *     |   |             |                                             v
 *     |   +--(no data)--+---------------------------------------->  TX
 *     |                 |                  Data-In / SCSI Response queued;
 *     +--(CmdSN ahead)--> QUEUED           freed when the last PDU is sent
 *                         (waits for its CmdSN turn, then RX_DATA)
 *
 * Command numbering (RFC 7143 §4.2.2.1): a non-immediate command whose
 * CmdSN equals ExpCmdSN advances ExpCmdSN; one further ahead inside the
 * window waits in CmdSN order (QUEUED); one outside [ExpCmdSN, MaxCmdSN]
 * is silently ignored.  MaxCmdSN = ExpCmdSN + free queue slots - 1, never
 * moved backwards.
 *
 * The task set (SAM-5 §8.6): a command is received by the device server
 * when it is delivered in CmdSN order, not when its Data-Out is in.  A
 * write accepted with data still to come takes its place in its LU's
 * task set then (scsi_cmd_accept, t->placed: younger ORDERED commands,
 * and younger SIMPLE ones behind an ORDERED or HEAD OF QUEUE write, wait
 * for it), its data is solicited meanwhile, and scsi_cmd_exec() goes on
 * from that place once the data is in.  A placed task that ends before
 * (aborted, its connection gone) is withdrawn (iscsi_task_withdraw).
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

/* The file reads in the order a command travels; these come later. */
static void task_exec(struct iscsi_task *t);
static void task_fail_local(struct iscsi_task *t);
static void task_scsi_done(struct scsi_cmd *cmd);

/* The task state changes the diagram above allows; every change is
 * checked against them. */
static bool task_step_ok(enum iscsi_task_state from, enum iscsi_task_state to)
{
	switch (from) {
	case TASK_RX_DATA:
		return to == TASK_QUEUED || to == TASK_EXEC;
	case TASK_QUEUED:
		return to == TASK_RX_DATA;
	case TASK_EXEC:
		return to == TASK_TX;
	case TASK_TX:
		return false;
	}
	return false;
}

void iscsi_task_set_state(struct iscsi_task *t, enum iscsi_task_state to)
{
	ut_assert(task_step_ok(t->state, to));
	t->state = to;
}

/* Is t on its session's CmdSN reorder queue?  (A walk.) */
static bool task_is_pending(const struct iscsi_task *t)
{
	const struct iscsi_task *u;

	TAILQ_FOREACH (u, &t->sess->pending, pending_link)
		if (u == t)
			return true;
	return false;
}

/* -------------------------------------------------------- CmdSN window */

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
	uint32_t old_max = s->max_cmdsn;

	sess_update_window(s);
	/* RFC 7143 §4.2.2.1: MaxCmdSN never moves back, and the window we
	 * announce is never less than closed (MaxCmdSN = ExpCmdSN - 1). */
	ut_assert(sna_le(old_max, s->max_cmdsn));
	ut_assert(sna_le(s->exp_cmdsn, s->max_cmdsn + 1));
	h->exp_cmdsn = s->exp_cmdsn;
	h->max_cmdsn = s->max_cmdsn;
}

/* RFC 7143 §4.2.2.1: is a non-immediate CmdSN inside the window? */
bool iscsi_cmdsn_in_window(struct iscsi_sess *s, uint32_t cmdsn)
{
	return sna_le(s->exp_cmdsn, cmdsn) && sna_le(cmdsn, s->max_cmdsn);
}

static bool cmdsn_gone(const struct iscsi_sess *s, uint32_t cmdsn)
{
	uint32_t i = cmdsn % ISCSI_CMDSN_RING;

	return (s->cmdsn_gone[i / 8] >> (i % 8)) & 1u;
}

static void cmdsn_gone_set(struct iscsi_sess *s, uint32_t cmdsn, bool on)
{
	uint32_t i = cmdsn % ISCSI_CMDSN_RING;

	if (on)
		s->cmdsn_gone[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		s->cmdsn_gone[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

/* ExpCmdSN moves past the command just taken in order, and past the
 * CmdSNs considered received that follow it (RFC 7143 §11.5.1). */
static void sess_advance_exp(struct iscsi_sess *s)
{
	s->exp_cmdsn++;
	while (cmdsn_gone(s, s->exp_cmdsn)) {
		/* only CmdSNs of the window are marked */
		ut_assert(sna_le(s->exp_cmdsn, s->max_cmdsn));
		cmdsn_gone_set(s, s->exp_cmdsn, false);
		s->exp_cmdsn++;
	}
	/* every CmdSN before the last task-set TMF's is accounted for */
	if (s->gap_any && sna_le(s->gap_until, s->exp_cmdsn)) {
		s->gap_any = false;
		memset(s->gap_lun, 0, sizeof(s->gap_lun));
	}
}

/* Is a command of lun with this CmdSN (in the window, not yet received)
 * one a task-set TMF after it has aborted already? */
static bool cmdsn_gap_aborted(const struct iscsi_sess *s, uint64_t lun,
			      uint32_t cmdsn)
{
	if (!s->gap_any || lun >= UT_MAX_LUNS)
		return false;
	if (!((s->gap_lun[lun / 8] >> (lun % 8)) & 1u))
		return false;
	return sna_lt(cmdsn, s->gap_below[lun]);
}

/* Has a command waiting for its turn (received ahead of ExpCmdSN) taken
 * cmdsn?  At most QueuedCommands of them wait. */
static bool cmdsn_waiting(const struct iscsi_sess *s, uint32_t cmdsn)
{
	const struct iscsi_task *t;

	TAILQ_FOREACH (t, &s->pending, pending_link)
		if (t->cmdsn == cmdsn)
			return true;
	return false;
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
			/* only tasks ahead of ExpCmdSN wait here */
			ut_assert(t->state == TASK_QUEUED);
			ut_assert(!t->accepted);
			TAILQ_REMOVE(&s->pending, t, pending_link);
			iscsi_task_set_state(t, TASK_RX_DATA);
			t->accepted = true;
			sess_advance_exp(s);
			iscsi_task_progress(t);
			again = true;
			break;
		}
	}
}

/* Non-immediate requests other than SCSI commands take a CmdSN too
 * (RFC 7143 §3.2.2.1: every non-immediate PDU to the target is
 * numbered).  At ExpCmdSN it is taken now; ahead of it, inside the
 * window (a CmdSN gap below), it is received, and ExpCmdSN passes it
 * when the gap fills, as a CmdSN an ABORT TASK had us consider received;
 * outside the window, or a CmdSN received already (a duplicate), the
 * request is ignored (§4.2.2.1). */
bool iscsi_sess_consume_cmdsn(struct iscsi_sess *s, const struct iscsi_bhs *h)
{
	if (h->immediate)
		return true;
	if (!iscsi_cmdsn_in_window(s, h->cmdsn) || cmdsn_gone(s, h->cmdsn))
		return false;
	if (cmdsn_waiting(s, h->cmdsn))
		return false; /* a command waiting for its turn has it */
	if (h->cmdsn != s->exp_cmdsn) {
		cmdsn_gone_set(s, h->cmdsn, true);
		return true;
	}
	sess_advance_exp(s);
	sess_release_pending(s);
	return true;
}

void iscsi_sess_cmdsn_received(struct iscsi_sess *s, uint32_t cmdsn)
{
	ut_assert(iscsi_cmdsn_in_window(s, cmdsn));
	/* received after all, waiting for its turn: it is the task */
	if (cmdsn_waiting(s, cmdsn))
		return;
	if (cmdsn != s->exp_cmdsn) {
		/* ahead of a gap: taken when ExpCmdSN reaches it */
		ut_assert(sna_lt(s->exp_cmdsn, cmdsn));
		cmdsn_gone_set(s, cmdsn, true);
		return;
	}
	sess_advance_exp(s);
	sess_release_pending(s);
}

void iscsi_sess_tmf_gap(struct iscsi_sess *s, uint64_t lun, uint32_t tmf_cmdsn)
{
	uint32_t sn;

	/* a gap lies below the TMF only if its CmdSN is ahead of ExpCmdSN,
	 * at most one past the window (an immediate TMF carries the next
	 * CmdSN): anything else names no command we may still receive */
	if (!sna_lt(s->exp_cmdsn, tmf_cmdsn) ||
	    !sna_le(tmf_cmdsn, s->max_cmdsn + 1))
		return;
	if (lun == UINT64_MAX) {
		/* A target reset aborts every one of them: their CmdSNs
		 * count as received now, as an ABORT TASK's RefCmdSN does,
		 * and the commands after the TMF need not wait for them
		 * (those received are aborted already, and end silently
		 * when ExpCmdSN reaches them). */
		for (sn = s->exp_cmdsn; sna_lt(sn, tmf_cmdsn); sn++)
			if (sna_le(s->exp_cmdsn, sn) && !cmdsn_gone(s, sn))
				iscsi_sess_cmdsn_received(s, sn);
		return;
	}
	ut_assert(lun < UT_MAX_LUNS);
	if (!((s->gap_lun[lun / 8] >> (lun % 8)) & 1u) ||
	    sna_lt(s->gap_below[lun], tmf_cmdsn))
		s->gap_below[lun] = tmf_cmdsn;
	s->gap_lun[lun / 8] |= (uint8_t)(1u << (lun % 8));
	if (!s->gap_any || sna_lt(s->gap_until, tmf_cmdsn))
		s->gap_until = tmf_cmdsn;
	s->gap_any = true;
}

uint32_t iscsi_sess_new_ttt(struct iscsi_sess *s)
{
	if (++s->next_ttt == ISCSI_RESERVED_TAG)
		s->next_ttt = 1;
	return s->next_ttt;
}

/* --------------------------------------------------------------- tasks */

/* The bucket of itt in s->itt_index: Fibonacci hashing, so that ITTs
 * that differ only in high bits (Linux puts an age there) spread too. */
static struct iscsi_task_bucket *itt_bucket(struct iscsi_sess *s, uint32_t itt)
{
	uint32_t i = (itt * 0x9e3779b1u) >> (32u - ISCSI_ITT_BUCKETS_LOG2);

	ut_assert(i < ISCSI_ITT_BUCKETS);
	return &s->itt_index[i];
}

/* The index holds exactly the tasks of s->tasks, each in its bucket, and
 * ITTs are unique among them.  (Walks every task and bucket.) */
static bool itt_index_ok(struct iscsi_sess *s)
{
	const struct iscsi_task *t, *u;
	uint32_t listed = 0, indexed = 0;

	TAILQ_FOREACH (t, &s->tasks, link) {
		bool found = false;

		listed++;
		LIST_FOREACH (u, itt_bucket(s, t->itt), itt_link) {
			if (u == t)
				found = true;
			else if (u->itt == t->itt)
				return false; /* a duplicate ITT */
		}
		if (!found)
			return false;
	}
	for (uint32_t i = 0; i < ISCSI_ITT_BUCKETS; i++)
		LIST_FOREACH (u, &s->itt_index[i], itt_link)
			indexed++;
	return listed == indexed && listed == s->tasks_alive;
}

struct iscsi_task *iscsi_sess_find_task(struct iscsi_sess *s, uint32_t itt)
{
	struct iscsi_task *t;

	LIST_FOREACH (t, itt_bucket(s, itt), itt_link) {
		if (t->itt == itt) {
			ut_assert(t->sess == s);
			return t;
		}
	}
	return NULL;
}

static struct iscsi_task *task_new(struct iscsi_sess *s,
				   const struct iscsi_bhs *h)
{
	struct iscsi_task *t;

	/* ITTs are unique among a session's tasks: the header was refused
	 * otherwise (Reject, task in progress). */
	ut_assert_slow(iscsi_sess_find_task(s, h->itt) == NULL);
	t = pool_obj_get(&s->r->task_pool);
	if (!t)
		return NULL;
	ut_assert(t->state == TASK_RX_DATA); /* fresh from the pool */
	ut_assert(!t->in_scsi);
	t->sess = s;
	t->itt = h->itt;
	t->cmdsn = h->cmdsn;
	t->edtl = h->edtl;
	t->immediate = h->immediate;
	t->state = TASK_RX_DATA;
	TAILQ_INSERT_TAIL(&s->tasks, t, link);
	LIST_INSERT_HEAD(itt_bucket(s, t->itt), t, itt_link);
	iscsi_owed_add(s, &t->owed, &t->arrival_ns);
	s->tasks_alive++;
	if (t->immediate)
		s->immediate_alive++;
	else
		s->window_used++;
	s->r->stats.tasks++;
	ut_assert(s->tasks_alive == s->window_used + s->immediate_alive);
	ut_assert(LIST_FIRST(itt_bucket(s, t->itt)) == t);
	ut_assert_slow(itt_index_ok(s));
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

/* The session's share matches its tasks: buf_bytes is the sum of the
 * buffers they hold (ut_assert_slow). */
static bool sess_buf_bytes_ok(const struct iscsi_sess *s)
{
	const struct iscsi_task *t;
	uint64_t sum = 0;

	TAILQ_FOREACH (t, &s->tasks, link)
		if (t->buf_is_budgeted)
			sum += t->cmd.buf_cap;
	return sum == s->buf_bytes && sum <= s->buf_limit;
}

_Static_assert(ISCSI_SESSION_BUFFER_LIMIT >= ISCSI_MAX_EDTL &&
		       ISCSI_SESSION_BUFFER_LIMIT <= ISCSI_BUFFER_BUDGET,
	       "a session may hold one largest command, and no more than all");
_Static_assert(ISCSI_MAX_EDTL == 64u << 20 && ISCSI_BUFFER_BUDGET == 1u << 30,
	       "SessionBufferLimit's range in config/scstconf.c");

static int task_alloc_buf(struct iscsi_task *t, uint8_t opcode)
{
	struct iscsi_sess *s = t->sess;
	struct iscsi_server *srv = s->srv;

	ut_assert(t->cmd.buf == NULL);
	ut_assert(!t->buf_is_budgeted);
	if (t->edtl == 0)
		return 0;
	if (t->edtl > ISCSI_MAX_EDTL)
		return -EFBIG;
	/* The session's share first: past it, TASK SET FULL for this
	 * session only, whatever is left of the budget (the others' part).
	 * Only the session's reactor touches buf_bytes. */
	ut_assert(s->buf_bytes <= s->buf_limit);
	if (t->edtl > s->buf_limit - s->buf_bytes)
		return -ENOBUFS;
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
	ut_assert(t->buf_pool_cap >= t->edtl);
	if (!opcode_fills_buffer(opcode))
		memset(t->cmd.buf, 0, t->edtl);
	t->cmd.buf_cap = t->edtl;
	t->buf_is_budgeted = true;
	s->buf_bytes += t->edtl;
	/* the session never holds more than its share */
	ut_assert(s->buf_bytes <= s->buf_limit);
	ut_assert_slow(sess_buf_bytes_ok(s));
	return 0;
}

void iscsi_task_free(struct iscsi_task *t)
{
	struct iscsi_sess *s = t->sess;
	struct iscsi_server *srv = s->srv;
	struct iscsi_tmf *tmf;

	/* Never under the SCSI layer's feet, nor under a queued PDU that
	 * points into its buffer. */
	ut_assert(!t->in_scsi);
	ut_assert(t->tx_refs == 0);
	/* Its place in the task set goes first (it may end before its data
	 * is in: its connection gone, aborted). */
	iscsi_task_withdraw(t);
	/* exactly the queued tasks are on the reorder queue */
	ut_assert_slow(task_is_pending(t) == (t->state == TASK_QUEUED));
	iscsi_owed_settle(s, &t->owed, t->arrival_ns);
	if (s->conn)
		iscsi_conn_rx_task_gone(s->conn, t);
	if (t->state == TASK_QUEUED)
		TAILQ_REMOVE(&s->pending, t, pending_link);
	/* linked in the index (under its ITT: the walk) */
	ut_assert(*t->itt_link.le_prev == t);
	ut_assert_slow(iscsi_sess_find_task(s, t->itt) == t);
	TAILQ_REMOVE(&s->tasks, t, link);
	LIST_REMOVE(t, itt_link);
	ut_assert(s->tasks_alive > 0);
	ut_assert(t->immediate ? s->immediate_alive > 0 : s->window_used > 0);
	s->tasks_alive--;
	if (t->immediate)
		s->immediate_alive--;
	else
		s->window_used--;
	ut_assert(s->tasks_alive == s->window_used + s->immediate_alive);
	ut_assert_slow(itt_index_ok(s));
	s->r->stats.tasks--;
	if (t->buf_is_budgeted) {
		uint64_t left;

		/* its session's share gets back what it took */
		ut_assert(s->buf_bytes >= t->cmd.buf_cap);
		s->buf_bytes -= t->cmd.buf_cap;
		ut_assert_slow(sess_buf_bytes_ok(s));
		left = __atomic_sub_fetch(&srv->buffer_bytes, t->cmd.buf_cap,
					  __ATOMIC_RELAXED);

		/* no underflow: what is given back was reserved (other
		 * reactors may be over the budget by one EDTL each for a
		 * moment, task_alloc_buf()) */
		ut_assert(left <=
			  ISCSI_BUFFER_BUDGET + (uint64_t)ISCSI_MAX_REACTORS *
							ISCSI_MAX_EDTL);
	}
	pool_buf_put(&s->r->bufs, t->cmd.buf, t->buf_pool_cap);
	/* no queued PDU points into it any more (tx_refs == 0); bytes sent
	 * from the reference's file are its pages until acknowledged, so
	 * the reference (and the LBA range it keeps) waits for that */
	if (t->file_sent && t->cmd.data_in_ref && s->conn &&
	    s->conn->id == t->file_conn)
		iscsi_conn_release_acked(s->conn, t->cmd.data_in_ref,
					 t->file_end);
	else
		bs_ref_release(t->cmd.data_in_ref);
	tmf = t->tmf;
	ut_assert(t->stuck_timer == NULL); /* judged when it came back */
	pool_obj_put(&s->r->task_pool, t);
	/* A TMF, a Logout or the session's own end may wait for it. */
	s->events->task_gone(s, tmf);
}

void iscsi_task_put_tx(struct iscsi_task *t)
{
	ut_assert(t->tx_refs > 0);
	if (--t->tx_refs == 0 && t->responded)
		iscsi_task_free(t);
}

/* -------------------------------------------------------- SCSI Command */

void iscsi_task_cmd_header(struct iscsi_conn *c)
{
	struct iscsi_sess *s = c->sess;
	const struct iscsi_bhs *h = &c->rx_h;
	bool write = h->flags & ISCSI_CMD_F_WRITE;
	struct iscsi_task *t;
	int rc;

	ut_assert(c->rx_task == NULL); /* rx_header_done() cleared it */
	if (s->discovery) {
		c->rx_reject = ISCSI_REJECT_PROTOCOL_ERROR;
		return;
	}
	/* RFC 7143 §4.2.2.1: outside the window, silently ignored; so is a
	 * CmdSN an ABORT TASK had us consider received (§11.5.1), and a
	 * duplicate inside the window: the CmdSN of a command waiting for
	 * its turn (another command, or the same one again, whatever its
	 * ITT: before the ITT check, so that no "task in progress" Reject
	 * answers it).  Below ExpCmdSN is outside the window. */
	if (!h->immediate &&
	    (!iscsi_cmdsn_in_window(s, h->cmdsn) || cmdsn_gone(s, h->cmdsn) ||
	     (h->cmdsn != s->exp_cmdsn && cmdsn_waiting(s, h->cmdsn)))) {
		c->rx_ignore = true;
		return;
	}
	/* ... and a command an ABORT TASK SET, CLEAR TASK SET or LOGICAL
	 * UNIT RESET after it aborted before it came (§11.5.1: they act on
	 * every command with a lower CmdSN): its CmdSN is received now */
	if (!h->immediate && s->gap_any) {
		uint64_t lun;

		if (iscsi_lun_decode(h->lun, &lun) &&
		    cmdsn_gap_aborted(s, lun, h->cmdsn)) {
			LOG_DEBUG(s->env,
				  "itt 0x%x CmdSN %u lun %llu: aborted by a "
				  "TMF after it, ignored",
				  h->itt, h->cmdsn, (unsigned long long)lun);
			c->rx_ignore = true;
			iscsi_sess_cmdsn_received(s, h->cmdsn);
			return;
		}
	}
	if (h->immediate && s->immediate_alive >= ISCSI_IMMEDIATE_MAX) {
		c->rx_reject = ISCSI_REJECT_IMMEDIATE_CMD;
		return;
	}
	if (iscsi_sess_find_task(s, h->itt) || h->itt == ISCSI_RESERVED_TAG) {
		c->rx_reject = ISCSI_REJECT_TASK_IN_PROGRESS;
		return;
	}
	if (h->data_len &&
	    (!write || !s->p.immediate_data || h->data_len > s->p.first_burst ||
	     h->data_len > h->edtl)) {
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
	if (h->data_len && t->cmd.buf) {
		/* immediate data lands inside the buffer (checked above
		 * against the expected length) */
		ut_assert(h->data_len <= t->cmd.buf_cap);
		c->rx_data_dst = t->cmd.buf;
	}
}

/* Extended CDB AHS (RFC 7143 §11.2.2.3): CDB bytes beyond 16. */
/* RFC 7143 §11.3.1 ATTR: 0 Untagged, 1 Simple, 2 Ordered, 3 Head of
 * Queue, 4 ACA, 5-7 reserved.  SAM-5 has no untagged commands: Untagged
 * and the reserved values run as SIMPLE. */
static enum scsi_task_attr iscsi_task_attr(uint8_t flags)
{
	switch (flags & ISCSI_CMD_ATTR_MASK) {
	case 2:
		return SCSI_TASK_ORDERED;
	case 3:
		return SCSI_TASK_HEAD_OF_QUEUE;
	case 4:
		return SCSI_TASK_ACA;
	default:
		return SCSI_TASK_SIMPLE;
	}
}

static int cmd_parse_ahs(struct iscsi_conn *c, struct iscsi_task *t)
{
	uint32_t total = c->rx_h.total_ahs_len * 4u, pos = 0;

	ut_assert(total <= sizeof(c->rx_ahs));
	ut_assert(t->cmd.cdb_len == 16);
	while (pos + 4 <= total) {
		uint16_t alen = get_be16(c->rx_ahs + pos);
		uint8_t type = c->rx_ahs[pos + 2];
		/* RFC 7143 §11.2.2.2: AHSLength counts the bytes after
		 * AHSLength and AHSType (the ECDB's reserved byte is one of
		 * them): the AHS is 3 + AHSLength bytes, padded to 4. */
		uint32_t padded = (3u + alen + 3u) & ~3u;

		if (pos + padded > total || alen == 0)
			return -1;
		if (type == 1) {
			/* AHSLength counts the reserved byte plus CDB bytes */
			uint32_t extra = alen - 1u;

			if (16 + extra > SCSI_CDB_MAX)
				return -1;
			ut_assert(pos + 4 + extra <= total);
			memcpy(t->cmd.cdb + 16, c->rx_ahs + pos + 4, extra);
			t->cmd.cdb_len = (uint8_t)(16 + extra);
		} else if (type == 2) {
			return -2; /* bidirectional: not supported */
		} else {
			return -1;
		}
		pos += padded;
	}
	return pos == total ? 0 : -1;
}

void iscsi_task_cmd_pdu(struct iscsi_conn *c)
{
	struct iscsi_sess *s = c->sess;
	const struct iscsi_bhs *h = &c->rx_h;
	struct iscsi_task *t = c->rx_task;
	uint64_t lun;
	int rc;

	if (c->rx_ignore) {
		LOG_DEBUG(s->env,
			  "conn %u: CmdSN %u outside window [%u, %u] (or "
			  "aborted before it came): ignored",
			  c->id, h->cmdsn, s->exp_cmdsn, s->max_cmdsn);
		return;
	}
	if (c->rx_reject) {
		iscsi_send_reject(c, c->rx_reject, c->rx_bhs);
		return;
	}
	/* the task the header made, untouched since */
	ut_assert(t != NULL);
	ut_assert(t->itt == h->itt);
	ut_assert(t->state == TASK_RX_DATA);
	ut_assert(!t->accepted);
	t->cmd.dir = (h->flags & ISCSI_CMD_F_READ)
			     ? ((h->flags & ISCSI_CMD_F_WRITE) ? SCSI_DIR_BIDI
							       : SCSI_DIR_READ)
			     : ((h->flags & ISCSI_CMD_F_WRITE) ? SCSI_DIR_WRITE
							       : SCSI_DIR_NONE);
	t->cmd.attr = iscsi_task_attr(h->flags);
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
		iscsi_task_answered(t);
		iscsi_task_free(t);
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
		/* RFC 7143 §4.2.2.3: the first burst stays inside EDTL */
		ut_assert(t->data_received <= t->edtl);
		ut_assert(t->r2t_next_offset <= t->edtl);
	}
	if (h->immediate) {
		t->accepted = true;
	} else if (h->cmdsn == s->exp_cmdsn) {
		t->accepted = true;
		sess_advance_exp(s);
	} else {
		/* in the window (the header checked) and not its turn */
		ut_assert(sna_lt(s->exp_cmdsn, h->cmdsn));
		ut_assert(sna_le(h->cmdsn, s->max_cmdsn));
		iscsi_task_set_state(t, TASK_QUEUED);
		TAILQ_INSERT_TAIL(&s->pending, t, pending_link);
		return;
	}
	iscsi_task_progress(t);
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

void iscsi_task_dataout_header(struct iscsi_conn *c)
{
	const struct iscsi_bhs *h = &c->rx_h;
	struct iscsi_task *t = iscsi_sess_find_task(c->sess, h->itt);
	uint32_t off = h->buffer_offset, len = h->data_len;

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
	if (h->ttt == ISCSI_RESERVED_TAG) {
		/* unsolicited: in order, inside the first burst */
		if (t->final_seen || off != t->unsol_next ||
		    len > t->unsolicited_left || h->data_sn != t->next_datasn) {
			c->rx_reject = ISCSI_REJECT_PROTOCOL_ERROR;
			return;
		}
	} else {
		struct iscsi_r2t *r = task_find_r2t(t, h->ttt);

		if (!r || off != r->offset + r->received ||
		    len > r->length - r->received ||
		    h->data_sn != r->next_datasn) {
			c->rx_reject = ISCSI_REJECT_PROTOCOL_ERROR;
			return;
		}
	}
	/* The segment lies inside what was solicited (or the first burst),
	 * hence inside the expected length and the buffer. */
	ut_assert((uint64_t)off + len <= t->edtl);
	ut_assert(!t->cmd.buf || (uint64_t)off + len <= t->cmd.buf_cap);
	c->rx_task = t;
	if (len && t->cmd.buf)
		c->rx_data_dst = t->cmd.buf + off;
}

static void r2t_retire(struct iscsi_task *t, struct iscsi_r2t *r)
{
	unsigned int i = (unsigned int)(r - t->r2ts);

	ut_assert(i < t->r2t_count);
	ut_assert(r->received == r->length); /* only a completed one */
	memmove(&t->r2ts[i], &t->r2ts[i + 1],
		(t->r2t_count - i - 1) * sizeof(t->r2ts[0]));
	t->r2t_count--;
}

void iscsi_task_dataout_pdu(struct iscsi_conn *c)
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
			  c->id, h->itt, h->ttt, h->buffer_offset, h->data_len,
			  h->data_sn);
		iscsi_send_reject(c, c->rx_reject, c->rx_bhs);
		return;
	}
	ut_assert_slow(t == iscsi_sess_find_task(c->sess, h->itt));
	t->data_received += h->data_len;
	ut_assert(t->data_received <= t->edtl);
	if (h->ttt == ISCSI_RESERVED_TAG) {
		ut_assert(h->data_len <= t->unsolicited_left);
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
		struct iscsi_r2t *r = task_find_r2t(t, h->ttt);

		ut_assert(r != NULL); /* the header found it */
		r->received += h->data_len;
		ut_assert(r->received <= r->length);
		r->next_datasn++;
		if (final && r->received != r->length) {
			iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR,
					  c->rx_bhs);
			return;
		}
		if (r->received == r->length)
			r2t_retire(t, r);
	}
	iscsi_task_progress(t);
}

/* ------------------------------------------------------------ R2T flow */

static void send_r2t(struct iscsi_task *t, struct iscsi_r2t *r)
{
	struct iscsi_conn *c = t->sess->conn;
	struct iscsi_txpdu *p = iscsi_txpdu_new(c, ISCSI_OP_R2T);
	struct iscsi_bhs h = {0};

	/* RFC 7143 §11.8: a non-empty piece of the expected length, at most
	 * MaxBurstLength. */
	ut_assert(r->length > 0);
	ut_assert((uint64_t)r->offset + r->length <= t->edtl);
	ut_assert(r->length <= t->sess->p.max_burst);
	if (!p)
		return; /* iscsi_txpdu_new() closes the connection */
	h.opcode = ISCSI_OP_R2T;
	h.flags = ISCSI_FLAG_FINAL;
	h.lun = iscsi_lun_encode(t->cmd.lun);
	h.itt = t->itt;
	h.ttt = r->ttt;
	h.stat_sn = c->stat_sn; /* not advanced by an R2T */
	h.r2tsn = r->r2tsn;
	h.buffer_offset = r->offset;
	h.desired_length = r->length;
	iscsi_sess_fill_sn(t->sess, &h);
	iscsi_conn_queue(c, p, &h);
}

static void task_solicit(struct iscsi_task *t)
{
	struct iscsi_sess *s = t->sess;

	ut_assert(t->cmd.dir == SCSI_DIR_WRITE);
	ut_assert(!t->tas_aborted); /* solicits nothing more */
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
	ut_assert(t->r2t_next_offset <= t->edtl);
	ut_assert(t->r2t_count <= ISCSI_MAX_R2T_TRACK);
}

/* Data-Out the initiator still owes: outstanding R2Ts, or the rest of
 * an unsolicited burst. */
static bool task_data_owed(const struct iscsi_task *t)
{
	return t->r2t_count > 0 || (t->unsolicited_left > 0 && !t->final_seen);
}

/* t is accepted, in CmdSN order, with Data-Out still to come: it takes
 * its place in its LU's task set now (SAM-5 §8.6.3: an ORDERED command
 * waits for every command received before it, and t has been), once.
 * No LU (or a refused attribute): it goes to the SCSI layer as any
 * command does, when its data is in. */
static void task_take_place(struct iscsi_task *t)
{
	struct iscsi_sess *s = t->sess;

	if (t->place_tried)
		return;
	ut_assert(!t->placed && !t->in_scsi);
	ut_assert(t->accepted && t->state == TASK_RX_DATA);
	t->place_tried = true;
	if (!s->scsi)
		return;
	t->cmd.sess = s->scsi;
	t->placed = scsi_cmd_accept(&t->cmd);
}

void iscsi_task_withdraw(struct iscsi_task *t)
{
	if (!t->placed)
		return;
	/* placed, not yet handed to the layer to run */
	ut_assert(!t->in_scsi);
	ut_assert(t->state == TASK_RX_DATA);
	t->placed = false;
	scsi_cmd_withdraw(&t->cmd);
}

void iscsi_sess_withdraw_lun(struct iscsi_sess *s, uint64_t lun)
{
	struct iscsi_task *t;

again:
	TAILQ_FOREACH (t, &s->tasks, link) {
		if (t->placed && t->cmd.lun == lun) {
			iscsi_task_withdraw(t);
			goto again;
		}
	}
}

/* The task may move on: solicit what is missing, or run it. */
void iscsi_task_progress(struct iscsi_task *t)
{
	if (!t->accepted || t->state != TASK_RX_DATA)
		return;
	ut_assert(!t->in_scsi);
	ut_assert(t->data_received <= t->edtl);
	if (t->aborting) {
		/* aborted while its PDU or its CmdSN turn was pending: it
		 * has now taken its CmdSN, and ends without a response */
		iscsi_task_answered(t);
		if (t->tx_refs == 0)
			iscsi_task_free(t);
		return;
	}
	if (t->tas_aborted) {
		/* Another session's reset ended it (SAM-5 §5.6, TAS=1):
		 * solicit nothing more, take in the Data-Out already asked
		 * for (the initiator sends it, not knowing), then answer
		 * TASK ABORTED.  It has ended in the task set now. */
		iscsi_task_withdraw(t);
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
	task_take_place(t);
	if (t->unsolicited_left == 0 || t->final_seen)
		task_solicit(t);
}

/* ----------------------------------------------------------- execution */

static void task_exec(struct iscsi_task *t)
{
	struct iscsi_sess *s = t->sess;

	/* CmdSN order (RFC 7143 §3.2.2.1): only a task whose turn came
	 * runs; a write only with all its data (or answered locally). */
	ut_assert(t->accepted);
	ut_assert(t->fixed_status || t->cmd.dir != SCSI_DIR_WRITE ||
		  t->data_received == t->edtl);
	ut_assert(t->fixed_status || t->r2t_count == 0);
	iscsi_task_set_state(t, TASK_EXEC);
	t->exec_ns = env_now_ns(s->env);
	if (t->fixed_status) {
		/* answered here: never placed, or withdrawn (TASK ABORTED) */
		ut_assert(!t->placed);
		task_fail_local(t);
		return;
	}
	/* a placed task goes on from its place (scsi_cmd_exec) */
	t->placed = false;
	t->cmd.sess = s->scsi;
	t->cmd.edtl = t->edtl;
	t->cmd.data_out_len = t->data_received;
	t->cmd.done = task_scsi_done;
	t->cmd.transport = t;
	/* Zero-copy Data-In where no DataDigest is computed over bytes
	 * that may still change before they leave (backstore.h, bs_ref; one
	 * connection per session: the one that answers). */
	t->cmd.data_in_ref_ok = s->conn && !s->conn->data_digest;
	ut_assert(!t->in_scsi);
	t->in_scsi = true;
	scsi_cmd_exec(&t->cmd);
}

/* Answer without the SCSI layer (buffer limits). */
static void task_fail_local(struct iscsi_task *t)
{
	ut_assert(t->state == TASK_EXEC);
	ut_assert(!t->in_scsi);
	t->cmd.xfer_len = 0;
	t->cmd.data_in_len = 0;
	t->cmd.sense_len = 0;
	t->cmd.status = t->fixed_status;
	if (t->fixed_too_long) {
		t->cmd.sess = t->sess->scsi;
		scsi_cmd_set_sense(&t->cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
	}
	iscsi_task_respond(t);
}

static void task_scsi_done(struct scsi_cmd *cmd)
{
	struct iscsi_task *t = cmd->transport;
	struct iscsi_sess *s = t->sess;
	struct iscsi_conn *c = s->conn;

	/* handed back once, by the layer that had it */
	ut_assert(cmd == &t->cmd);
	ut_assert(t->in_scsi);
	ut_assert(t->state == TASK_EXEC);
	t->in_scsi = false;
	iscsi_task_stuck_judged(t);
	s->r->stats.scsi_cmds++;
	/* A command another nexus aborted comes back with TASK ABORTED
	 * status, which is sent (TAS=1); one our own TMF aborted ends
	 * silently, its TMF response concluding it (RFC 7143 §11.5.1).
	 * One whose answer would be untrue (scsi.h answer_lost) costs the
	 * connection instead. */
	if (cmd->answer_lost && c && !c->closing)
		iscsi_conn_fail_soon(c, "out of memory: a PREEMPT AND ABORT "
					"could not wait for the commands it "
					"aborted");
	if (t->aborting || !c || c->closing || cmd->answer_lost) {
		iscsi_task_answered(t);
		iscsi_task_free(t);
		if (c)
			iscsi_conn_kick(c);
		return;
	}
	iscsi_task_respond(t);
	iscsi_conn_kick(c);
}

/* ------------------------------------------------- ending a task early */

/* Is t's own SCSI Command PDU still arriving? */
bool iscsi_task_cmd_pdu_arriving(const struct iscsi_task *t)
{
	const struct iscsi_conn *c = t->sess->conn;

	return c && c->rx_task == t && c->rx_h.opcode == ISCSI_OP_SCSI_CMD;
}

/* End a task that is not inside the SCSI layer, without a response.  One
 * whose command PDU is still arriving, or which waits for its CmdSN turn,
 * is only marked: it must still take its CmdSN (RFC 7143 §4.2.2.1), or
 * every later command would wait for it forever.  iscsi_task_progress() ends it
 * once it has. */
void iscsi_task_abort_silently(struct iscsi_task *t)
{
	/* not inside the SCSI layer: that one hands it back itself */
	ut_assert(t->state != TASK_EXEC);
	ut_assert(!t->in_scsi);
	iscsi_task_taken_over(t);
	if (t->state == TASK_QUEUED || iscsi_task_cmd_pdu_arriving(t))
		return;
	/* Placed in the task set: its withdrawal may let commands go, which
	 * must not run before the TMF has aborted those it aborts too. */
	if (t->placed)
		return;
	iscsi_task_end_aborted(t);
}

void iscsi_task_end_aborted(struct iscsi_task *t)
{
	ut_assert(t->aborting);
	ut_assert(t->state == TASK_RX_DATA);
	iscsi_task_answered(t);
	if (t->tx_refs == 0)
		iscsi_task_free(t);
}
