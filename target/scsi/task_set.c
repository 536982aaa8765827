/*
 * task_set.c — an LU's task set below the dispatch: the references a
 * command holds on its nexus, the command states, LBA range locks and the
 * commands waiting for them, and completion (scsi_cmd_complete).  It runs
 * a handler only through the command's descriptor (cmd->desc), set by
 * scsi_cmd_exec, so it calls no command set (ci/check-layers.sh).
 */
#include <stdlib.h>

#include "env.h"
#include "scsi/scsi_int.h"

/* ------------------------------------------------------ nexus references */

/* Take a nexus off its LU (its counters go to the LU's) and free it. */
void scsi_itl_free(struct scsi_itl *itl)
{
	struct scsi_lu *lu = itl->lu;

	/* Its last use is gone (itl_release) or it never had one. */
	ut_assert(itl->busy == 0);
	scsi_lu_lock(lu);
	if (!itl->detached)
		scsi_res_nexus_gone(itl);
	/* A detached nexus lost its reservation when it was detached. */
	ut_assert(lu->spc2_holder != itl);
	ut_assert(lu->itl_count > 0);
	scsi_stats_add(&lu->retired, &itl->stats);
	LIST_REMOVE(itl, lu_link);
	lu->itl_count--;
	scsi_lu_unlock(lu);
	free(itl);
}

void scsi_itl_get(struct scsi_itl *itl)
{
	itl->busy++;
	ut_assert(itl->busy > 0); /* no wrap */
}

/* Drop one use; true when that was the last use of a detached nexus,
 * which is then off its session's list and must be freed (scsi_itl_free) by
 * the caller, once it no longer needs the LU. */
static bool itl_release(struct scsi_itl *itl)
{
	/* Pair: scsi_itl_get() (scsi_cmd_exec, EXTENDED COPY). */
	ut_assert(itl->busy > 0);
	ut_assert(!itl->detached || itl->sess->lun_map[itl->lun] != itl);
	if (--itl->busy > 0 || !itl->detached)
		return false;
	LIST_REMOVE(itl, detached_link);
	return true;
}

void scsi_itl_put(struct scsi_itl *itl)
{
	if (itl_release(itl))
		scsi_itl_free(itl);
}

/* ------------------------------------------------ LBA range locks */

/* A read's range kept past its completion while its live reference is
 * out (scsi_int.h scsi_range_hold).  ref first: the transport's. */
struct scsi_range_hold {
	struct bs_ref ref;
	struct bs_ref *inner; /* the backstore's */
	struct scsi_lu *lu;   /* NULL: dropped with its session */
	struct scsi_itl *itl; /* kept busy (the LU lives on) */
	const struct scsi_sess *sess;
	struct env *env; /* its session's reactor, which releases it */
	uint64_t lba, blocks;
	LIST_ENTRY(scsi_range_hold) link;
};

static bool ranges_overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return a < b + bn && b < a + an;
}

/* Every change of cmd->priv_state, checked against the transition table of
 * scsi_int.h: cmd_allowed[from] has bit `to` set. */
#define ST_IN CMD_IN_TASK_SET
#define ST_DORMANT (CMD_IN_TASK_SET | CMD_WAITING | CMD_DORMANT)
#define ST_DATA_OUT (CMD_IN_TASK_SET | CMD_DATA_OUT)
static const uint64_t cmd_allowed[64] = {
	[0] = 1ull << 0 | 1ull << ST_IN | 1ull << ST_DATA_OUT,
	[ST_DATA_OUT] = 1ull << 0 | 1ull << ST_IN | 1ull << ST_DORMANT,
	[ST_IN] = 1ull << 0 | 1ull << (ST_IN | CMD_WAITING) |
		  1ull << ST_DORMANT | 1ull << (ST_IN | CMD_RANGE) |
		  1ull << (ST_IN | CMD_RANGE | CMD_RANGE_EXCL),
	[ST_IN | CMD_WAITING] = 1ull << ST_IN,
	[ST_DORMANT] = 1ull << ST_IN,
	[ST_IN | CMD_RANGE] = 1ull << 0,
	[ST_IN | CMD_RANGE | CMD_RANGE_EXCL] = 1ull << 0,
};

void scsi_cmd_state_set(struct scsi_cmd *cmd, uint32_t to)
{
	uint32_t from = scsi_cmd_state(cmd->priv_state);

	ut_assert(scsi_cmd_state_valid(cmd->priv_state));
	ut_assert(scsi_cmd_state_valid(to));
	ut_assert(cmd_allowed[from] >> to & 1u);
	/* CMD_LU_GOING stays with the command while it is in the set. */
	cmd->priv_state = to ? to | (cmd->priv_state & CMD_LU_GOING) : 0;
}

/* ------------------------------------------------ task attributes */

/*
 * SAM-5 §8.6 and §8.8: the LU has one task set for every I_T nexus (TST
 * 000b), kept in arrival order (cmd->ts_seq).  QUEUE ALGORITHM MODIFIER
 * 1 lets SIMPLE commands run in any order among themselves; the
 * attributes still order them against the others:
 *
 *   SIMPLE          enabled once every older ORDERED and HEAD OF QUEUE
 *                   command has completed
 *   ORDERED         enabled once every older command has completed
 *   HEAD OF QUEUE   enabled at once
 *   ACA             refused before the task set (NormACA 0, scsi.c)
 *
 * An aborted command waits for nothing: it leaves TASK ABORTED (an older
 * aborted command still holds younger ones until it has completed).
 * Every wait is for an older command or none, so the waits cannot form a
 * cycle, and a dormant command holds no LBA range.
 *
 * A command takes its place when the device server receives it, which
 * for a write whose Data-Out is still to come is before its data is in
 * (SAM-5 §8.6.3: an ORDERED command waits for the commands received
 * before it; RFC 7143 §4.2.2.1: an iSCSI command is received when it is
 * delivered in CmdSN order).  Such a command (DATA_OUT, scsi_cmd_accept)
 * holds the younger commands its attribute orders exactly as an enabled
 * one does, waits for nothing itself (its data is solicited
 * meanwhile), and once its data is in is enabled or made dormant from
 * its place (scsi_order_admit_accepted).  It is not enabled, so the
 * promise below does not judge it.
 */
/* Aborted (by a TMF, a PREEMPT AND ABORT or its LU going): it ends TASK
 * ABORTED without running on. */
static bool cmd_leaving(const struct scsi_cmd *c)
{
	return scsi_cmd_aborted(c) || (c->priv_state & CMD_LU_GOING);
}

static bool order_allows(const struct scsi_lu *lu, const struct scsi_cmd *c)
{
	const struct scsi_cmd *o;

	if (c->attr == SCSI_TASK_HEAD_OF_QUEUE || cmd_leaving(c))
		return true;
	if (c->attr == SCSI_TASK_ORDERED)
		return TAILQ_FIRST(&lu->task_set) == c;
	ut_assert(c->attr == SCSI_TASK_SIMPLE);
	if (lu->gated_n == 0)
		return true;
	for (o = TAILQ_FIRST(&lu->task_set); o != c;
	     o = TAILQ_NEXT(o, lu_link)) {
		ut_assert(o != NULL); /* c is in the set */
		if (o->attr != SCSI_TASK_SIMPLE)
			return false;
	}
	return true;
}

/* Count cmd in as it enters the task set (the LU lock held). */
static void order_count(struct scsi_lu *lu, const struct scsi_cmd *cmd)
{
	if (cmd->attr == SCSI_TASK_SIMPLE)
		return;
	lu->gated_n++;
	ut_assert(lu->gated_n > 0); /* no wrap */
}

bool scsi_order_admit(struct scsi_lu *lu, struct scsi_cmd *cmd)
{
	/* Just in, last in arrival order; ACA never gets here. */
	ut_assert(TAILQ_LAST(&lu->task_set, scsi_cmd_list) == cmd);
	ut_assert(scsi_cmd_state(cmd->priv_state) == ST_IN);
	ut_assert(cmd->attr == SCSI_TASK_SIMPLE ||
		  cmd->attr == SCSI_TASK_ORDERED ||
		  cmd->attr == SCSI_TASK_HEAD_OF_QUEUE);
	if (cmd->attr == SCSI_TASK_SIMPLE && lu->gated_n == 0)
		return true; /* the fast path: nothing orders it */
	order_count(lu, cmd);
	if (order_allows(lu, cmd))
		return true;
	TAILQ_INSERT_TAIL(&lu->dormant, cmd, wait_link);
	scsi_cmd_state_set(cmd, ST_DORMANT);
	return false;
}

void scsi_task_set_accept(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;

	/* The dispatch found its nexus; ACA is refused, never accepted. */
	ut_assert(lu != NULL && cmd->itl != NULL && cmd->itl->lu == lu);
	ut_assert(cmd->attr == SCSI_TASK_SIMPLE ||
		  cmd->attr == SCSI_TASK_ORDERED ||
		  cmd->attr == SCSI_TASK_HEAD_OF_QUEUE);
	scsi_lu_lock(lu);
	scsi_cmd_state_set(cmd, ST_DATA_OUT);
	cmd->lu_epoch = lu->epoch;
	cmd->ts_seq = lu->ts_seq++;
	TAILQ_INSERT_TAIL(&lu->task_set, cmd, lu_link);
	order_count(lu, cmd);
	ut_assert_slow(scsi_lu_task_set_ok(lu));
	scsi_lu_unlock(lu);
}

bool scsi_order_admit_accepted(struct scsi_lu *lu, struct scsi_cmd *cmd)
{
	struct scsi_cmd *c;

	/* Accepted with its place, counted in then; not aborted (that one
	 * completes TASK ABORTED instead). */
	ut_assert(scsi_cmd_state(cmd->priv_state) == ST_DATA_OUT);
	ut_assert(!cmd_leaving(cmd));
	scsi_cmd_state_set(cmd, ST_IN);
	cmd->lu_epoch = lu->epoch; /* its checks are of this epoch */
	if (cmd->attr == SCSI_TASK_SIMPLE && lu->gated_n == 0)
		return true; /* the fast path: nothing orders it */
	if (order_allows(lu, cmd))
		return true;
	/* Dormant, in arrival order among the dormant: younger ones may
	 * have become dormant while its data arrived. */
	TAILQ_FOREACH_REVERSE (c, &lu->dormant, scsi_cmd_list, wait_link)
		if (c->ts_seq < cmd->ts_seq)
			break;
	if (c)
		TAILQ_INSERT_AFTER(&lu->dormant, c, cmd, wait_link);
	else
		TAILQ_INSERT_HEAD(&lu->dormant, cmd, wait_link);
	scsi_cmd_state_set(cmd, ST_DORMANT);
	return false;
}

void scsi_order_leave(struct scsi_lu *lu, const struct scsi_cmd *cmd)
{
	if (cmd->attr == SCSI_TASK_SIMPLE)
		return;
	/* Pair: scsi_order_admit() counted it in. */
	ut_assert(lu->gated_n > 0);
	lu->gated_n--;
}

void scsi_order_collect(struct scsi_lu *lu, struct scsi_cmd_list *ready,
			uint64_t now_ns)
{
	struct scsi_cmd *c, *tmp;

	TAILQ_FOREACH_SAFE (c, &lu->dormant, wait_link, tmp) {
		if (!order_allows(lu, c))
			continue;
		TAILQ_REMOVE(&lu->dormant, c, wait_link);
		scsi_cmd_state_set(c, ST_IN);
		c->freed_ns = now_ns;
		TAILQ_INSERT_TAIL(ready, c, wait_link);
	}
}

static void waiters_resume(struct scsi_cmd_list *ready, struct env *here);

bool scsi_order_abort_sess(struct scsi_lu *lu, const struct scsi_sess *s)
{
	struct scsi_cmd *c;
	bool any = false;

	TAILQ_FOREACH (c, &lu->dormant, wait_link) {
		ut_assert(c->lu == lu);
		if (c->sess != s)
			continue;
		scsi_cmd_set_aborted(c);
		any = true;
	}
	return any;
}

void scsi_lu_release_aborted(struct scsi_lu *lu, struct env *here)
{
	struct scsi_cmd_list ready = TAILQ_HEAD_INITIALIZER(ready);

	scsi_lu_lock(lu);
	if (!TAILQ_EMPTY(&lu->dormant))
		scsi_order_collect(lu, &ready, env_now_ns(here));
	ut_assert_slow(scsi_lu_task_set_ok(lu));
	scsi_lu_unlock(lu);
	waiters_resume(&ready, here);
}

/* Does the TMF wait w wait for c? */
static bool tmf_wait_member(const struct scsi_tmf_wait *w,
			    const struct scsi_cmd *c)
{
	if (c->ts_seq >= w->upto)
		return false;
	if (w->n_itls == 0)
		return c->sess != w->sess;
	for (unsigned int i = 0; i < w->n_itls; i++)
		if (c->itl == w->itls[i])
			return true;
	return false;
}

/*
 * The order promise of the task attributes (SAM-5 §8.6) over the task set
 * of lu, oldest first: no command is enabled before the older commands
 * its attribute waits for have completed (no enabled ORDERED command has
 * an older one; no enabled SIMPLE command has an older ORDERED or HEAD OF
 * QUEUE one), and none is dormant that may be enabled (the completion
 * that let it go enabled it under the same lock).  Aborted commands are
 * free of both (they leave TASK ABORTED), and so is a command whose
 * Data-Out is still to come (DATA_OUT: not enabled, and its place holds
 * the younger ones as an enabled command's would).  gated_n counts the
 * commands that are not SIMPLE, those waiting for data included; the
 * dormant list is exactly the DORMANT commands, in arrival order.
 */
static bool order_ok(const struct scsi_lu *lu)
{
	const struct scsi_cmd *c, *prev = NULL;
	unsigned int gated = 0, dormant = 0, listed = 0;

	TAILQ_FOREACH (c, &lu->task_set, lu_link) {
		uint32_t st = scsi_cmd_state(c->priv_state);
		bool is_dormant = st == ST_DORMANT;
		bool enabled = !is_dormant && st != ST_DATA_OUT;

		if (prev && c->ts_seq <= prev->ts_seq)
			return false;
		if (c->attr != SCSI_TASK_SIMPLE &&
		    c->attr != SCSI_TASK_ORDERED &&
		    c->attr != SCSI_TASK_HEAD_OF_QUEUE)
			return false;
		if (enabled && !cmd_leaving(c) &&
		    ((c->attr == SCSI_TASK_ORDERED && prev != NULL) ||
		     (c->attr == SCSI_TASK_SIMPLE && gated > 0)))
			return false;
		if (is_dormant && !cmd_leaving(c) && order_allows(lu, c))
			return false;
		gated += c->attr != SCSI_TASK_SIMPLE;
		dormant += is_dormant;
		prev = c;
	}
	prev = NULL;
	TAILQ_FOREACH (c, &lu->dormant, wait_link) {
		if (c->lu != lu ||
		    scsi_cmd_state(c->priv_state) != ST_DORMANT ||
		    (prev && c->ts_seq <= prev->ts_seq))
			return false;
		listed++;
		prev = c;
	}
	return gated == lu->gated_n && dormant == listed &&
	       (listed == 0 || gated > 0);
}

/*
 * The whole task set of lu, with its lock held: every command in it
 * belongs to lu and is in a valid state; the waiters are exactly its
 * WAITING commands not dormant; the task attributes' order (order_ok);
 * no two LBA ranges held overlap unless both are shared (the range lock's
 * promise, SBC-4 §5.3 for COMPARE AND WRITE); and every TMF still
 * waiting counts exactly the commands it waits for, at least one (the
 * last one's end releases it: SAM-5 §7.1); a command waiting for its
 * Data-Out has begun nothing (no scratch, no range) and holds a nexus
 * of this LU.
 */
bool scsi_lu_task_set_ok(const struct scsi_lu *lu)
{
	const struct scsi_cmd *c, *d;
	const struct scsi_tmf_wait *w;
	unsigned int waiting = 0, waiters = 0;

	LIST_FOREACH (w, &lu->tmf_waits, link) {
		unsigned int members = 0;

		if (w->upto > lu->ts_seq)
			return false;
		TAILQ_FOREACH (c, &lu->task_set, lu_link)
			members += tmf_wait_member(w, c);
		if (w->pending == 0 || members != w->pending)
			return false;
	}

	TAILQ_FOREACH (c, &lu->task_set, lu_link) {
		const struct scsi_range_hold *h;

		if (c->lu != lu || !(c->priv_state & CMD_IN_TASK_SET) ||
		    !scsi_cmd_state_valid(c->priv_state))
			return false;
		/* no exclusive range over one a read by reference keeps */
		if (c->priv_state & CMD_RANGE_EXCL)
			LIST_FOREACH (h, &lu->holds, link)
				if (h->lu != lu ||
				    ranges_overlap(c->range_lba,
						   c->range_blocks, h->lba,
						   h->blocks))
					return false;
		waiting += scsi_cmd_state(c->priv_state) ==
			   (ST_IN | CMD_WAITING);
		if (scsi_cmd_state(c->priv_state) == ST_DATA_OUT &&
		    (c->priv != NULL || c->itl == NULL || c->itl->lu != lu))
			return false;
		if (!(c->priv_state & CMD_RANGE))
			continue;
		for (d = TAILQ_NEXT(c, lu_link); d;
		     d = TAILQ_NEXT(d, lu_link)) {
			if (!(d->priv_state & CMD_RANGE))
				continue;
			if (!((c->priv_state | d->priv_state) & CMD_RANGE_EXCL))
				continue;
			if (ranges_overlap(c->range_lba, c->range_blocks,
					   d->range_lba, d->range_blocks))
				return false;
		}
	}
	TAILQ_FOREACH (c, &lu->waiters, wait_link) {
		if (c->lu != lu ||
		    scsi_cmd_state(c->priv_state) != (ST_IN | CMD_WAITING))
			return false;
		waiters++;
	}
	return waiting == waiters && order_ok(lu);
}

bool scsi_range_acquire(struct scsi_cmd *cmd, uint64_t lba, uint64_t nblocks,
			bool exclusive)
{
	struct scsi_lu *lu = cmd->lu;
	struct scsi_cmd *c;
	bool conflict = false;

	/* A command takes one range, from its handler, after checking it
	 * against the capacity. */
	ut_assert(scsi_cmd_state(cmd->priv_state) == CMD_IN_TASK_SET);
	ut_assert(nblocks > 0);
	scsi_lu_lock(lu);
	/* ... the capacity of the epoch it entered in: unless a resize came
	 * since (lu_live.c, which then waits for it), the range is inside. */
	ut_assert(cmd->lu_epoch != lu->epoch ||
		  sbc_lba_in_range(lu, lba, nblocks));
	TAILQ_FOREACH (c, &lu->task_set, lu_link) {
		if (c == cmd || !(c->priv_state & CMD_RANGE))
			continue;
		if (!exclusive && !(c->priv_state & CMD_RANGE_EXCL))
			continue;
		if (ranges_overlap(lba, nblocks, c->range_lba,
				   c->range_blocks)) {
			conflict = true;
			break;
		}
	}
	/* and the ranges reads by reference keep (shared) */
	if (exclusive && !conflict) {
		const struct scsi_range_hold *h;

		LIST_FOREACH (h, &lu->holds, link)
			if (ranges_overlap(lba, nblocks, h->lba, h->blocks)) {
				conflict = true;
				break;
			}
	}
	if (conflict) {
		TAILQ_INSERT_TAIL(&lu->waiters, cmd, wait_link);
		scsi_cmd_state_set(cmd, CMD_IN_TASK_SET | CMD_WAITING);
	} else {
		cmd->range_lba = lba;
		cmd->range_blocks = nblocks;
		scsi_cmd_state_set(cmd,
				   CMD_IN_TASK_SET | CMD_RANGE |
					   (exclusive ? CMD_RANGE_EXCL : 0));
	}
	ut_assert_slow(scsi_lu_task_set_ok(lu));
	scsi_lu_unlock(lu);
	return !conflict;
}

/* ------------------------------------ ranges kept by reads by reference */

static uint64_t range_holds_out;

uint64_t scsi_range_holds_out(void)
{
	return __atomic_load_n(&range_holds_out, __ATOMIC_RELAXED);
}

static void range_hold_release(struct bs_ref *ref)
{
	struct scsi_range_hold *h = (struct scsi_range_hold *)ref;
	struct scsi_lu *lu = h->lu;
	bool waiting;

	/* Its bytes have left (or never will): the medium may change. */
	bs_ref_release(h->inner);
	if (lu == NULL) {
		free(h);
		return;
	}
	scsi_lu_lock(lu);
	LIST_REMOVE(h, link);
	ut_assert(scsi_range_holds_out() > 0);
	__atomic_sub_fetch(&range_holds_out, 1, __ATOMIC_RELAXED);
	waiting = !TAILQ_EMPTY(&lu->waiters);
	ut_assert_slow(scsi_lu_task_set_ok(lu));
	scsi_lu_unlock(lu);
	/* An exclusive writer that waited for it runs now. */
	if (waiting)
		scsi_lu_wake_waiters(lu, h->env);
	scsi_itl_put(h->itl);
	free(h);
}

struct bs_ref *scsi_range_hold(struct scsi_cmd *cmd, struct bs_ref *inner)
{
	struct scsi_lu *lu = cmd->lu;
	struct scsi_range_hold *h;

	/* It holds its range, shared, and the bytes are read when sent. */
	ut_assert(scsi_cmd_state(cmd->priv_state) ==
		  (CMD_IN_TASK_SET | CMD_RANGE));
	ut_assert(inner != NULL && inner->live);
	ut_assert(cmd->itl != NULL && cmd->itl->lu == lu);
	ut_assert(inner->length_bytes ==
		  cmd->range_blocks * lu->bs->block_size);
	h = malloc(sizeof(*h));
	if (!h)
		return NULL;
	h->ref = *inner;
	h->ref.release = range_hold_release;
	h->inner = inner;
	h->lu = lu;
	h->itl = cmd->itl;
	h->sess = cmd->sess;
	h->env = cmd->sess->env;
	h->lba = cmd->range_lba;
	h->blocks = cmd->range_blocks;
	scsi_itl_get(h->itl);
	scsi_lu_lock(lu);
	LIST_INSERT_HEAD(&lu->holds, h, link);
	__atomic_add_fetch(&range_holds_out, 1, __ATOMIC_RELAXED);
	scsi_lu_unlock(lu);
	return &h->ref;
}

void scsi_range_holds_abandon(struct scsi_lu *lu, const struct scsi_sess *s)
{
	struct scsi_range_hold *h, *tmp;

	LIST_FOREACH_SAFE (h, &lu->holds, link, tmp) {
		if (h->sess != s)
			continue;
		LIST_REMOVE(h, link);
		ut_assert(scsi_range_holds_out() > 0);
		__atomic_sub_fetch(&range_holds_out, 1, __ATOMIC_RELAXED);
		h->lu = NULL;
		h->itl = NULL;
	}
}

/* A woken waiter, on its own reactor. */
static void waiter_resume(void *arg)
{
	struct scsi_cmd *c = arg;

	/* Woken (wake_waiters), on its session's reactor: in the task set,
	 * off the wait list, holding no range yet. */
	ut_assert(scsi_cmd_state(c->priv_state) == CMD_IN_TASK_SET);
	ut_assert(c->sess->busy > 0);
	if (scsi_cmd_aborted(c))
		scsi_cmd_complete(c);
	else
		scsi_cmd_run(c);
}

static void cmd_complete_posted(void *arg)
{
	scsi_cmd_complete(arg);
}

void scsi_cmd_complete_from(struct scsi_cmd *cmd, struct env *here)
{
	struct env *to = cmd->sess->env;

	ut_assert(here != NULL);
	ut_assert(!(cmd->priv_state & CMD_WAITING));
	/* A command in flight keeps its session alive: safe to post. */
	if (to == here || env_post(to, cmd_complete_posted, cmd) != 0)
		scsi_cmd_complete(cmd);
}

/* Run the woken commands of *ready, in order (one of another reactor's
 * session runs there). */
static void waiters_resume(struct scsi_cmd_list *ready, struct env *here)
{
	struct scsi_cmd *c;

	while ((c = TAILQ_FIRST(ready)) != NULL) {
		TAILQ_REMOVE(ready, c, wait_link);
		if (c->sess->env != here &&
		    env_post(c->sess->env, waiter_resume, c) == 0)
			continue;
		waiter_resume(c);
	}
}

/* A range was released: every waiter tries again, in arrival order (a
 * waiter of another reactor's session tries there). */
void scsi_lu_wake_waiters(struct scsi_lu *lu, struct env *here)
{
	struct scsi_cmd_list ready = TAILQ_HEAD_INITIALIZER(ready);
	struct scsi_cmd *c;

	/* priv_state of a command in the task set is read by other reactors
	 * under the lock: change it there too. */
	scsi_lu_lock(lu);
	TAILQ_FOREACH (c, &lu->waiters, wait_link) {
		scsi_cmd_state_set(c, CMD_IN_TASK_SET);
		c->freed_ns = env_now_ns(here);
	}
	TAILQ_CONCAT(&ready, &lu->waiters, wait_link);
	ut_assert(TAILQ_EMPTY(&lu->waiters));
	ut_assert_slow(scsi_lu_task_set_ok(lu));
	scsi_lu_unlock(lu);
	waiters_resume(&ready, here);
}

/* ------------------------------------------------- TMFs waiting */

void scsi_tmf_waits_pass(struct scsi_lu *lu, const struct scsi_cmd *cmd,
			 struct scsi_tmf_wait_list *done)
{
	struct scsi_tmf_wait *w, *tmp;

	/* cmd is leaving the task set, under the LU lock */
	ut_assert(cmd->lu == lu);
	ut_assert(cmd->priv_state & CMD_IN_TASK_SET);
	LIST_FOREACH_SAFE (w, &lu->tmf_waits, link, tmp) {
		if (!tmf_wait_member(w, cmd))
			continue;
		ut_assert(w->pending > 0); /* counted at abort_in_lu */
		if (--w->pending > 0)
			continue;
		LIST_REMOVE(w, link);
		LIST_INSERT_HEAD(done, w, link);
	}
}

void scsi_tmf_waits_release(struct scsi_tmf_wait_list *done, struct env *here)
{
	struct scsi_tmf_wait *w;

	while ((w = LIST_FIRST(done)) != NULL) {
		struct scsi_tmf_hook h = w->hook;
		struct env *to = w->env;

		/* every command it waited for has left the task set */
		ut_assert(w->pending == 0);
		LIST_REMOVE(w, link);
		free(w);
		/* The TMF's session lives until its last release (the
		 * transport's hold): safe to post by pointer. */
		if (to != here && env_post(to, h.release, h.arg) == 0)
			continue;
		h.release(h.arg);
	}
}

/* cmd leaves lu's task set (the LU lock held): the TMF waits it was the
 * last command of move to *tmf_done, and under the same lock the
 * dormant commands its end lets go are enabled onto *enabled (SAM-5
 * §8.6), to be released and run once the lock is let go. */
static void task_set_leave(struct scsi_lu *lu, struct scsi_cmd *cmd,
			   struct scsi_tmf_wait_list *tmf_done,
			   struct scsi_cmd_list *enabled, struct env *here)
{
	ut_assert(cmd->lu == lu);
	ut_assert(!(cmd->priv_state & CMD_WAITING));
	if (!LIST_EMPTY(&lu->tmf_waits))
		scsi_tmf_waits_pass(lu, cmd, tmf_done);
	TAILQ_REMOVE(&lu->task_set, cmd, lu_link);
	scsi_order_leave(lu, cmd);
	if (!TAILQ_EMPTY(&lu->dormant))
		scsi_order_collect(lu, enabled, env_now_ns(here));
	ut_assert_slow(scsi_lu_task_set_ok(lu));
}

uint64_t scsi_cmd_own_since(const struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	uint64_t since = 0;

	if (lu == NULL)
		return 0;
	scsi_lu_lock(lu);
	if ((cmd->priv_state & CMD_IN_TASK_SET) != 0)
		since = (cmd->priv_state & CMD_WAITING) != 0 ? UINT64_MAX
							     : cmd->freed_ns;
	scsi_lu_unlock(lu);
	return since;
}

void scsi_cmd_withdraw(struct scsi_cmd *cmd)
{
	struct scsi_sess *s = cmd->sess;
	struct env *here = s->env;
	struct scsi_lu *lu = cmd->lu;
	struct scsi_itl *itl = cmd->itl;
	struct scsi_tmf_wait_list tmf_done = LIST_HEAD_INITIALIZER(tmf_done);
	struct scsi_cmd_list enabled = TAILQ_HEAD_INITIALIZER(enabled);
	bool free_itl;

	/* Accepted (scsi_cmd_accept) and never executed: its place in the
	 * task set and its nexus are all it holds. */
	ut_assert(scsi_cmd_state(cmd->priv_state) == ST_DATA_OUT);
	ut_assert(itl != NULL && itl->lu == lu);
	ut_assert(s->busy > 0);
	scsi_lu_lock(lu);
	task_set_leave(lu, cmd, &tmf_done, &enabled, here);
	scsi_lu_unlock(lu);
	scsi_cmd_state_set(cmd, 0);
	cmd->lu = NULL;
	cmd->itl = NULL;
	s->busy--;
	free_itl = itl_release(itl);
	/* What it held runs now, in order; a TMF that waited for it (one
	 * of another nexus that aborted it) may answer. */
	waiters_resume(&enabled, here);
	scsi_tmf_waits_release(&tmf_done, here);
	if (free_itl)
		scsi_itl_free(itl);
}

void scsi_cmd_complete(struct scsi_cmd *cmd)
{
	struct scsi_sess *s = cmd->sess;
	struct env *here = s->env; /* s may be gone after done() */
	struct scsi_lu *lu = cmd->lu;
	struct scsi_itl *itl = cmd->itl;
	bool released = cmd->priv_state & CMD_RANGE;
	struct scsi_tmf_wait_list tmf_done = LIST_HEAD_INITIALIZER(tmf_done);
	struct scsi_cmd_list enabled = TAILQ_HEAD_INITIALIZER(enabled);
	bool free_itl;

	/* A waiter completes only after it is woken (waiter_resume). */
	ut_assert(!(cmd->priv_state & CMD_WAITING));
	/* Pair: scsi_cmd_exec() counted it in; it is counted out once. */
	ut_assert(s->busy > 0);
	/* Every handler frees its scratch (bounce buffer, chain) first. */
	ut_assert(cmd->priv == NULL);
	if (cmd->priv_state & CMD_LU_GOING) {
		/* Its LU went while it ran (lu_live.c): TASK ABORTED. */
		__atomic_store_n(&cmd->aborted, false, __ATOMIC_RELAXED);
		cmd->status = SCSI_STATUS_TASK_ABORTED;
		cmd->sense_len = 0;
		cmd->data_in_len = 0;
	}
	if (cmd->priv_state & CMD_IN_TASK_SET) {
		scsi_lu_lock(lu);
		task_set_leave(lu, cmd, &tmf_done, &enabled, here);
		scsi_lu_unlock(lu);
	}
	scsi_cmd_state_set(cmd, 0);
	s->busy--;
	if (scsi_cmd_aborted(cmd)) {
		/* SAM-5 §5.6 with TAS=1: TASK ABORTED, no data, no sense.
		 * The transport drops it when its own nexus's TMF aborted
		 * the command (that TMF's response concludes it). */
		cmd->status = SCSI_STATUS_TASK_ABORTED;
		cmd->sense_len = 0;
		cmd->data_in_len = 0;
	}
	/* What the transport sends, as scsi.h promises it: sense with a
	 * CHECK CONDITION and only then, data within the buffer. */
	ut_assert(cmd->sense_len <= SCSI_SENSE_MAX);
	ut_assert(cmd->data_in_len <= cmd->buf_cap);
	ut_assert(scsi_cmd_aborted(cmd) ||
		  (cmd->status == SCSI_STATUS_CHECK_CONDITION) ==
			  (cmd->sense_len > 0));
#ifndef UT_NO_IO_STATS /* only to measure what counting costs */
	if (itl)
		scsi_stats_count(cmd, env_now_ns(here));
#endif
	/* Before done(), which may free the session (and with it every
	 * nexus still mapped), as s->busy is. */
	free_itl = itl && itl_release(itl);
	cmd->done(cmd);
	if (released) {
		bool waiting;

		scsi_lu_lock(lu);
		waiting = !TAILQ_EMPTY(&lu->waiters);
		scsi_lu_unlock(lu);
		if (waiting)
			scsi_lu_wake_waiters(lu, here);
	}
	/* ... and the dormant commands that waited for it run, in order. */
	waiters_resume(&enabled, here);
	/* A TMF that waited for this command may answer now (after done():
	 * the command has ended, SAM-5 §7.1). */
	scsi_tmf_waits_release(&tmf_done, here);
	/* Last: freeing a detached nexus may let the LU itself go. */
	if (free_itl)
		scsi_itl_free(itl);
}

void scsi_cmd_run(struct scsi_cmd *cmd)
{
	const struct scsi_cmd_desc *d = cmd->desc;

	/* scsi_cmd_exec() ran only known opcodes; a handler runs with the
	 * command in the task set, or without an LU where the table allows
	 * it (INQUIRY, REPORT LUNS, REQUEST SENSE). */
	ut_assert(d != NULL);
	ut_assert(cmd->lu ? scsi_cmd_state(cmd->priv_state) == CMD_IN_TASK_SET
			  : (d->flags & SCSI_CMD_NO_LU) != 0);
	if (d->fn(cmd) == SCSI_RC_DONE)
		scsi_cmd_complete(cmd);
}
