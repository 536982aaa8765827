/*
 * lu_live.c — logical units and nexuses that change while sessions run:
 * LUN masking that moves, capacity that changes, LUs that go.
 *
 * Lifetimes.  A command holds its I_T_L nexus from scsi_cmd_exec() (or
 * scsi_cmd_accept(), for one whose Data-Out is still to come) to the end
 * of scsi_cmd_complete() or scsi_cmd_withdraw() (itl->busy; EXTENDED
 * COPY also holds the nexuses it copies between).  Unmapping a LUN from a session detaches
 * its nexus: out of the session's map at once, so that no new command
 * reaches it, but still on the LU's list until its last command is done.
 * An LU therefore has no nexus left (scsi_lu_nexus_count() == 0) exactly
 * when no session maps it and no command of any session uses it; only
 * then may its owner free it (server side: iscsi/reconfig.c).
 *
 * Capacity.  scsi_lu_set_capacity() changes what READ CAPACITY reports
 * and what range checks use from the next command on, and moves the
 * LU's epoch.  Commands that entered the task set before were checked
 * against the old capacity; a shrink waits for them
 * (scsi_lu_commands_before()) before the backstore gives the space up.
 *
 * Unit attentions (SPC-4 §5.14, table "unit attention conditions"):
 * a changed LUN inventory is REPORTED LUNS DATA HAS CHANGED (3Fh/0Eh) on
 * the nexuses a session keeps; a changed capacity is CAPACITY DATA HAS
 * CHANGED (2Ah/09h) on every nexus of the LU.
 */
#include <errno.h>
#include <stdlib.h>

#include "scsi/scsi_int.h"

int scsi_sess_unmap(struct scsi_sess *s, uint32_t lun)
{
	struct scsi_itl *itl;

	if (lun > SCSI_MAX_LUN || !s->lun_map[lun])
		return -ENOENT;
	itl = s->lun_map[lun];
	ut_assert(itl->sess == s && itl->lun == lun);
	ut_assert(!itl->detached);
	s->lun_map[lun] = NULL;
	scsi_lu_lock(itl->lu);
	/* SPC-2 reservations and PREVENT belong to the nexus: it is gone
	 * for the initiator now, whatever its commands still do. */
	scsi_res_nexus_gone(itl);
	itl->detached = true;
	scsi_ua_clear(itl);
	scsi_lu_unlock(itl->lu);
	LIST_INSERT_HEAD(&s->detached, itl, detached_link);
	/* The get/put pair frees it now when nothing uses it. */
	scsi_itl_get(itl);
	scsi_itl_put(itl);
	return 0;
}

struct scsi_lu *scsi_sess_lu(const struct scsi_sess *s, uint32_t lun,
			     bool *read_only)
{
	const struct scsi_itl *itl = lun <= SCSI_MAX_LUN ? s->lun_map[lun]
							 : NULL;

	if (read_only)
		*read_only = itl && itl->read_only;
	return itl ? itl->lu : NULL;
}

void scsi_sess_ua_all(struct scsi_sess *s, uint16_t asc)
{
	for (unsigned int lun = 0; lun <= SCSI_MAX_LUN; lun++) {
		struct scsi_itl *itl = s->lun_map[lun];

		if (!itl)
			continue;
		scsi_lu_lock(itl->lu);
		scsi_ua_add(itl, asc);
		scsi_lu_unlock(itl->lu);
	}
}

void scsi_sess_ua_lun(struct scsi_sess *s, uint32_t lun, uint16_t asc)
{
	struct scsi_itl *itl = lun <= SCSI_MAX_LUN ? s->lun_map[lun] : NULL;

	if (!itl)
		return;
	scsi_lu_lock(itl->lu);
	scsi_ua_add(itl, asc);
	scsi_lu_unlock(itl->lu);
}

uint32_t scsi_lu_set_capacity(struct scsi_lu *lu, uint64_t nblocks)
{
	uint32_t epoch;

	/* Never more than the backstore holds (the caller resized it). */
	ut_assert(nblocks <= lu->bs->size_bytes / lu->bs->block_size);
	scsi_lu_lock(lu);
	/* Other reactors read nblocks without the lock, on their way into
	 * the task set (which they enter under it): atomic, and ordered
	 * with the task set by the lock. */
	__atomic_store_n(&lu->nblocks, nblocks, __ATOMIC_RELAXED);
	epoch = ++lu->epoch;
	ut_assert(lu->epoch == epoch);
	scsi_ua_add_lu(lu, NULL, ASC_CAPACITY_CHANGED);
	scsi_lu_unlock(lu);
	return epoch;
}

uint64_t scsi_lu_nblocks(const struct scsi_lu *lu)
{
	return __atomic_load_n(&lu->nblocks, __ATOMIC_RELAXED);
}

/* Serial-number order of epochs (they wrap after 2^32 changes). */
static bool epoch_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

unsigned int scsi_lu_commands_before(struct scsi_lu *lu, uint32_t epoch)
{
	struct scsi_cmd *c;
	unsigned int n = 0;

	/* A command still waiting for its Data-Out has checked nothing
	 * against the capacity yet: it will against the new one. */
	scsi_lu_lock(lu);
	TAILQ_FOREACH (c, &lu->task_set, lu_link)
		n += epoch_before(c->lu_epoch, epoch) &&
		     !(c->priv_state & CMD_DATA_OUT);
	scsi_lu_unlock(lu);
	return n;
}

unsigned int scsi_lu_nexus_count(struct scsi_lu *lu)
{
	unsigned int n;

	scsi_lu_lock(lu);
	n = lu->itl_count;
	scsi_lu_unlock(lu);
	return n;
}

bool scsi_lu_sanitizing(struct scsi_lu *lu)
{
	bool on;

	scsi_lu_lock(lu);
	on = lu->san.active;
	scsi_lu_unlock(lu);
	return on;
}

bool scsi_lu_read_only(const struct scsi_lu *lu)
{
	return lu->read_only;
}

unsigned int scsi_lu_abort_commands(struct scsi_lu *lu, struct env *here,
				    uint32_t epoch)
{
	struct scsi_cmd *c;
	unsigned int n = 0;
	bool san;

	scsi_lu_lock(lu);
	TAILQ_FOREACH (c, &lu->task_set, lu_link) {
		ut_assert(c->lu == lu);
		if (epoch != UINT32_MAX && (!epoch_before(c->lu_epoch, epoch) ||
					    (c->priv_state & CMD_DATA_OUT)))
			continue;
		if (c->priv_state & CMD_LU_GOING)
			continue;
		/* A mark on a command in the task set (scsi_int.h). */
		ut_assert(c->priv_state & CMD_IN_TASK_SET);
		c->priv_state |= CMD_LU_GOING;
		scsi_cmd_set_aborted(c);
		n++;
	}
	san = lu->san.active && epoch == UINT32_MAX;
	if (san)
		__atomic_store_n(&lu->cancel_sanitize, true, __ATOMIC_RELAXED);
	scsi_lu_unlock(lu);
	/* Waiters for an LBA range see the abort when they try again;
	 * commands at the backstore when it answers; dormant ones at once. */
	scsi_lu_wake_waiters(lu, here);
	scsi_lu_release_aborted(lu, here);
	/* A SANITIZE waiting for its next chunk stops at once (its timer
	 * runs on the LU's reactor, which creates and removes LUs). */
	if (san && lu->san.timer && !lu->san.in_io && lu->env == here)
		env_timer_arm(lu->env, lu->san.timer, env_now_ns(lu->env));
	return n;
}
