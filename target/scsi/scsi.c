/*
 * scsi.c — logical units, I_T nexuses, command dispatch and task
 * management (SAM-5).  Unit attention queues are base.c's, the task set's
 * command states, range locks and completion task_set.c's (the layers:
 * scsi_int.h).
 *
 * Life of a command (scsi_cmd_exec):
 *
 *   1. Look up the I_T_L nexus for cmd->lun.  No LU: INQUIRY, REPORT LUNS
 *      and REQUEST SENSE still run (SPC-4 §6.6.2, §6.27, §6.29); anything
 *      else ends with ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED.
 *   2. Unit attention (SAM-5 §5.14; SPC-4 §5.14 "unit attention
 *      conditions"): if one is pending and the command is not INQUIRY,
 *      REPORT LUNS or REQUEST SENSE, the command ends with CHECK CONDITION
 *      and the oldest UA, which is then cleared.
 *   3. Unknown opcode: ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE.
 *   3a. The ALUA access state of the target port refuses the command:
 *      NOT READY, LOGICAL UNIT NOT ACCESSIBLE (alua.c).
 *   3b. A reservation held through another nexus: RESERVATION CONFLICT
 *      (reserve.c, pr.c); a removable LU without its medium: NOT READY,
 *      MEDIUM NOT PRESENT for commands that reach the medium.
 *   4. The command enters the LU task set, where task management finds it,
 *      and its handler runs.  A handler either finishes at once
 *      (SCSI_RC_DONE) or hands the command to the backstore
 *      (SCSI_RC_ASYNC) and calls scsi_cmd_complete() from the completion.
 *   5. scsi_cmd_complete() takes it out of the task set and calls done().
 *
 * A write whose Data-Out is still to come when the transport accepts it
 * (scsi_cmd_accept) takes its place in the task set at once, before
 * step 1's checks: its place orders the younger commands (SAM-5 §8.6.3);
 * scsi_cmd_exec() then runs steps 1 to 4 from that place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "env.h"
#include "scsi/alua.h"
#include "scsi/scsi_int.h"

/* Our NAA 6 company identifier.  utarget has no IEEE OUI of its own; this
 * value is stable so that initiators see stable device identifiers. */
#define SCSI_NAA_COMPANY_ID 0x0a5c1eu

/* ---------------------------------------------------------- identity */

static uint64_t fnv1a64(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void copy_str(char *dst, size_t cap, const char *src, const char *def)
{
	const char *s = (src && src[0]) ? src : def;
	size_t n = 0;

	ut_assert(cap > 0);
	ut_assert(def != NULL);
	while (n + 1 < cap && s[n]) {
		dst[n] = s[n];
		n++;
	}
	dst[n] = '\0';
	ut_assert(n < cap);
}

static void lu_identity(struct scsi_lu *lu, const struct ut_dev_cfg *dev)
{
	char defname[16];
	uint64_t h;

	snprintf(defname, sizeof(defname), "lu%u", lu->index);
	copy_str(lu->name, sizeof(lu->name), dev ? dev->name : NULL, defname);
	copy_str(lu->vendor, sizeof(lu->vendor),
		 dev ? dev->t10_vendor_id : NULL, "UTARGET");
	copy_str(lu->product, sizeof(lu->product), dev ? dev->prod_id : NULL,
		 "utarget disk");
#ifdef UT_VERSION
	copy_str(lu->revision, sizeof(lu->revision), UT_VERSION, "0001");
#else
	copy_str(lu->revision, sizeof(lu->revision), NULL, "0001");
#endif
	copy_str(lu->dev_id, sizeof(lu->dev_id), dev ? dev->t10_dev_id : NULL,
		 lu->name);
	h = fnv1a64(lu->dev_id, 0xcbf29ce484222325ull);
	if (dev && dev->usn[0]) {
		copy_str(lu->serial, sizeof(lu->serial), dev->usn, "");
	} else {
		snprintf(lu->serial, sizeof(lu->serial), "%08x%08x", lu->index,
			 (uint32_t)(h >> 32) ^ (uint32_t)h);
	}
	/* NAA 6: NAA(4) | company id(24) | vendor specific id(36), then a
	 * 64-bit vendor specific identifier extension.  Both come from the
	 * device's identity (serial number, device id), never from its
	 * position in the configuration: LUs added, removed and saved while
	 * running (utargetctl) keep their identifiers across a restart. */
	lu->naa_hi =
		(uint64_t)6 << 60 | (uint64_t)SCSI_NAA_COMPANY_ID << 36 |
		(fnv1a64(lu->serial, 0x84222325cbf29ce4ull) & 0xfffffffffull);
	lu->naa_lo = h;
	/* INQUIRY and VPD 83h copy these without checking: every one is
	 * non-empty and terminated within its field. */
	ut_assert(lu->name[0] != '\0');
	ut_assert(lu->serial[0] != '\0');
	ut_assert(strnlen(lu->dev_id, sizeof(lu->dev_id)) < sizeof(lu->dev_id));
	ut_assert(lu->naa_hi >> 60 == 6);
}

/* Every row REPORT SUPPORTED OPERATION CODES reports (opcodes.c)
 * describes a CDB the command table dispatches.  Checked here, beside the
 * table, so that opcodes.c, a command set below the dispatch, needs
 * nothing of it. */
static bool opcodes_dispatched(void)
{
	for (unsigned int i = 0; i < scsi_opcode_count; i++)
		if (scsi_cmd_lookup(scsi_opcodes[i].opcode) == NULL)
			return false;
	return true;
}

struct scsi_lu *scsi_lu_new(struct env *env, const struct ut_dev_cfg *dev,
			    struct bs_dev *bs, uint32_t lu_index)
{
	struct scsi_lu *lu;

	if (!bs || bs->block_size == 0)
		return NULL;
	lu = calloc(1, sizeof(*lu));
	if (!lu)
		return NULL;
	lu->env = env;
	lu->lock = env_mutex_new(env);
	if (env->ops->mutex_new && !lu->lock) {
		free(lu);
		return NULL;
	}
	lu->bs = bs;
	lu->index = lu_index;
	lu_identity(lu, dev);
	lu->removable = dev && dev->removable;
	lu->read_only = bs->read_only || (dev && dev->read_only);
	lu->thin = bs->thin;
	lu->nv_cache = dev && dev->nv_cache;
	lu->sanitize_bytes_per_s = dev ? dev->sanitize_bytes_per_s
				       : UT_SANITIZE_BYTES_PER_S;
	lu->nblocks = bs->size_bytes / bs->block_size;
	while (dev && dev->phys_block_size > (bs->block_size << lu->lbppbe) &&
	       lu->lbppbe < 15)
		lu->lbppbe++;
	lu->mode_default.wce = !(dev && dev->write_through);
	lu->mode = lu->mode_default;
	lu->medium_loaded = true;
	TAILQ_INIT(&lu->task_set);
	TAILQ_INIT(&lu->waiters);
	LIST_INIT(&lu->holds);
	TAILQ_INIT(&lu->dormant);
	LIST_INIT(&lu->itls);
	LIST_INIT(&lu->tmf_waits);
	scsi_pr_load(lu);
	/* Every LBA check (sbc_lba_in_range) trusts nblocks to lie within
	 * the backstore, and a new LU is mapped nowhere. */
	ut_assert(lu->nblocks <= bs->size_bytes / bs->block_size);
	ut_assert(lu->lbppbe <= 15);
	ut_assert(lu->itl_count == 0);
	ut_assert(opcodes_dispatched());
	return lu;
}

void scsi_lu_free(struct scsi_lu *lu)
{
	if (!lu)
		return;
	/* No session maps it and no command runs in it any more. */
	ut_assert(LIST_EMPTY(&lu->itls));
	ut_assert(lu->itl_count == 0);
	ut_assert(TAILQ_EMPTY(&lu->task_set));
	ut_assert(TAILQ_EMPTY(&lu->waiters));
	ut_assert(TAILQ_EMPTY(&lu->dormant));
	/* ... and no read by reference keeps a range of it (each kept its
	 * nexus, or was dropped with its abandoned session). */
	ut_assert(LIST_EMPTY(&lu->holds));
	ut_assert(lu->gated_n == 0);
	ut_assert(lu->san.waiter == NULL);
	/* A TMF waits only for commands in the set: none is left waiting,
	 * but after a crash abandoned them (scsi_sess_abandon). */
	while (!LIST_EMPTY(&lu->tmf_waits)) {
		struct scsi_tmf_wait *w = LIST_FIRST(&lu->tmf_waits);

		ut_assert(w->pending > 0);
		LIST_REMOVE(w, link);
		free(w);
	}
	scsi_alua_lu_leave(lu);
	scsi_sanitize_free(lu);
	env_mutex_free(lu->env, lu->lock);
	free(lu);
}

void scsi_lu_set_d_sense(struct scsi_lu *lu, bool on)
{
	scsi_lu_lock(lu);
	lu->mode.d_sense = on;
	scsi_lu_unlock(lu);
}

/* ---------------------------------------------------------- sessions */

void scsi_sess_set_transport(struct scsi_sess *s, scsi_abort_waiting_fn fn,
			     void *ctx)
{
	/* before any mapping: other reactors read it from its nexuses */
	for (unsigned int lun = 0; lun <= SCSI_MAX_LUN; lun++)
		ut_assert(s->lun_map[lun] == NULL);
	s->abort_waiting = fn;
	s->tport_ctx = ctx;
}

void scsi_sess_set_transport_id(struct scsi_sess *s, uint64_t id)
{
	__atomic_store_n(&s->tport_id, id, __ATOMIC_RELAXED);
}

struct scsi_sess *scsi_sess_new(struct env *env, const struct scsi_nexus_id *id)
{
	struct scsi_sess *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	ut_assert(env != NULL);
	s->env = env;
	LIST_INIT(&s->detached);
	if (id)
		s->id = *id;
	s->id.initiator_name[sizeof(s->id.initiator_name) - 1] = '\0';
	s->id.target_name[sizeof(s->id.target_name) - 1] = '\0';
	ut_assert(s->busy == 0);
	return s;
}

int scsi_sess_map(struct scsi_sess *s, uint32_t lun, struct scsi_lu *lu,
		  bool read_only)
{
	struct scsi_itl *itl;

	if (!s || !lu || lun > SCSI_MAX_LUN)
		return -EINVAL;
	if (s->lun_map[lun])
		return -EEXIST;
	itl = calloc(1, sizeof(*itl));
	if (!itl)
		return -ENOMEM;
	itl->sess = s;
	itl->lu = lu;
	itl->lun = lun;
	itl->read_only = read_only;
	/* The port's place in the LU's ALUA groups is fixed for the life of
	 * the nexus (alua.c); 0 is the relative port of the unit tests. */
	itl->tpg = scsi_alua_port_tpg(
		lu, s->id.rel_tgt_port_id ? s->id.rel_tgt_port_id : 1);
	scsi_ua_add(itl, ASC_POWER_ON_RESET);
	ut_assert(itl->ua_count == 1);
	scsi_lu_lock(lu);
	LIST_INSERT_HEAD(&lu->itls, itl, lu_link);
	lu->itl_count++;
	ut_assert(lu->itl_count > 0); /* no wrap */
	scsi_lu_unlock(lu);
	s->lun_map[lun] = itl;
	return 0;
}

void scsi_sess_free(struct scsi_sess *s)
{
	struct scsi_itl *itl;

	if (!s)
		return;
	/* The transport drained its commands first (scsi.h). */
	ut_assert(s->busy == 0);
	for (unsigned int lun = 0; lun <= SCSI_MAX_LUN; lun++) {
		itl = s->lun_map[lun];
		if (!itl)
			continue;
		ut_assert(itl->sess == s);
		ut_assert(itl->lun == lun);
		ut_assert(itl->busy == 0);
		scsi_itl_free(itl);
	}
	/* A detached nexus is freed with its last command: none is left. */
	ut_assert(LIST_EMPTY(&s->detached));
	free(s);
}

void scsi_sess_nexus_loss(struct scsi_sess *s)
{
	/* Before looking for a waiter: a SANITIZE still on its way to its
	 * LU's reactor sees it there (sbc_sanitize.c) and waits for
	 * nothing. */
	ut_assert(!s->nexus_lost); /* lost once */
	__atomic_store_n(&s->nexus_lost, true, __ATOMIC_SEQ_CST);
	for (unsigned int lun = 0; lun <= SCSI_MAX_LUN; lun++) {
		struct scsi_itl *itl = s->lun_map[lun];

		if (!itl)
			continue;
		ut_assert(itl->sess == s && !itl->detached);
		/* SPC-2 reservations and PREVENT belong to the nexus, which
		 * ends now, not with the last command it left running (SAM-5
		 * §6.3.4; SPC-2 §5.5.1): another initiator's RESERVE got
		 * RESERVATION CONFLICT while a reconnected holder's old
		 * session drained a slow write. */
		bool dormant;

		scsi_lu_lock(itl->lu);
		scsi_res_nexus_gone(itl);
		/* Its dormant commands never run: they end now, aborted,
		 * rather than run after the nexus is gone (an STPG held by
		 * an ORDERED read changed the access states after the
		 * initiator had logged in again). */
		dormant = scsi_order_abort_sess(itl->lu, s);
		scsi_lu_unlock(itl->lu);
		if (dormant)
			scsi_lu_release_aborted(itl->lu, s->env);
		scsi_sanitize_nexus_loss(itl->lu, s);
	}
}

/* Take s's commands out of one LU's task set and wait lists. */
static void sess_abandon_lu(struct scsi_sess *s, struct scsi_lu *lu)
{
	struct scsi_tmf_wait_list gone = LIST_HEAD_INITIALIZER(gone);
	struct scsi_cmd_list none = TAILQ_HEAD_INITIALIZER(none);
	struct scsi_tmf_wait *w;
	struct scsi_cmd *c, *tmp;

	scsi_lu_lock(lu);
	/* Its reads' ranges kept past their completion go with it. */
	scsi_range_holds_abandon(lu, s);
	/* Waiters first: each is in the task set too, and leaves both at
	 * once (any state -> 0, scsi_int.h). */
	TAILQ_FOREACH_SAFE (c, &lu->waiters, wait_link, tmp) {
		if (c->sess != s)
			continue;
		ut_assert(c->priv_state & CMD_WAITING);
		TAILQ_REMOVE(&lu->waiters, c, wait_link);
		c->priv_state &= ~CMD_WAITING;
	}
	TAILQ_FOREACH_SAFE (c, &lu->dormant, wait_link, tmp) {
		if (c->sess != s)
			continue;
		ut_assert(c->priv_state & CMD_DORMANT);
		TAILQ_REMOVE(&lu->dormant, c, wait_link);
		c->priv_state &= ~(CMD_WAITING | CMD_DORMANT);
	}
	TAILQ_FOREACH_SAFE (c, &lu->task_set, lu_link, tmp) {
		if (c->sess != s)
			continue;
		ut_assert(c->lu == lu);
		ut_assert(!(c->priv_state & CMD_WAITING));
		/* The TMFs that waited for it are abandoned too (their
		 * sessions go the same way): nothing is released. */
		scsi_tmf_waits_pass(lu, c, &gone);
		TAILQ_REMOVE(&lu->task_set, c, lu_link);
		scsi_order_leave(lu, c);
		c->priv_state = 0;
	}
	/* The commands of other sessions these held are enabled, and never
	 * run: the environment delivers nothing more (iscsi_server_free),
	 * and their sessions are abandoned next. */
	scsi_order_collect(lu, &none, 0);
	if (lu->san.waiter && lu->san.waiter->sess == s)
		lu->san.waiter = NULL;
	ut_assert_slow(scsi_lu_task_set_ok(lu));
	scsi_lu_unlock(lu);
	while ((w = LIST_FIRST(&gone)) != NULL) {
		LIST_REMOVE(w, link);
		free(w);
	}
}

void scsi_sess_abandon(struct scsi_sess *s)
{
	struct scsi_itl *itl, *tmp;

	for (unsigned int lun = 0; lun <= SCSI_MAX_LUN; lun++) {
		itl = s->lun_map[lun];
		if (!itl)
			continue;
		ut_assert(itl->sess == s && !itl->detached);
		sess_abandon_lu(s, itl->lu);
		itl->busy = 0;
	}
	LIST_FOREACH_SAFE (itl, &s->detached, detached_link, tmp) {
		ut_assert(itl->sess == s && itl->detached);
		sess_abandon_lu(s, itl->lu);
		LIST_REMOVE(itl, detached_link);
		itl->busy = 0; /* its commands are abandoned with the rest */
		scsi_itl_free(itl);
	}
	s->busy = 0;
}

unsigned int scsi_sess_busy(const struct scsi_sess *s)
{
	return s->busy;
}

static struct scsi_itl *sess_itl(const struct scsi_sess *s, uint64_t lun)
{
	if (lun > SCSI_MAX_LUN)
		return NULL;
	return s->lun_map[lun];
}

/* The D_SENSE of the LU at lun of session s (false where it has none). */
static bool sess_d_sense(const struct scsi_sess *s, uint64_t lun)
{
	struct scsi_itl *itl = sess_itl(s, lun);
	bool on;

	if (itl == NULL || itl->lu == NULL)
		return false;
	scsi_lu_lock(itl->lu);
	on = itl->lu->mode.d_sense;
	scsi_lu_unlock(itl->lu);
	return on;
}

/* The transport's own answer, for a command the layer did not run (an
 * EDTL beyond our limits): it replaces whatever status was set.  Its
 * sense takes the format the LU at that LUN asks for (SPC-4 §7.5.8:
 * D_SENSE governs every CHECK CONDITION of the LU), fixed where the
 * session has no LU there. */
void scsi_cmd_set_sense(struct scsi_cmd *cmd, uint8_t key, uint8_t asc,
			uint8_t ascq)
{
	ut_assert(cmd->lu == NULL); /* never inside the layer */
	ut_assert(cmd->sess != NULL);
	ut_assert(key != SK_NO_SENSE);
	cmd->status = SCSI_STATUS_CHECK_CONDITION;
	cmd->sense_len =
		scsi_sense_build(cmd->sense, sess_d_sense(cmd->sess, cmd->lun),
				 key, (uint16_t)(asc << 8 | ascq), NULL);
	cmd->data_in_len = 0;
	ut_assert(cmd->sense_len >= 8);
}

/* ---------------------------------------------------------- commands */

/* SAM-5 §5.14: only INQUIRY, REPORT LUNS and REQUEST SENSE pass a pending
 * unit attention; the UA is reported and cleared by the first other one. */
static bool report_pending_ua(struct scsi_cmd *cmd, uint8_t flags)
{
	uint16_t asc;
	bool have;

	if (flags & SCSI_CMD_UA_EXEMPT)
		return false;
	ut_assert(cmd->itl->lu == cmd->lu);
	scsi_lu_lock(cmd->lu);
	have = scsi_ua_pop(cmd->itl, &asc);
	scsi_lu_unlock(cmd->lu);
	if (!have)
		return false;
	scsi_fail(cmd, SK_UNIT_ATTENTION, asc);
	ut_assert(cmd->status == SCSI_STATUS_CHECK_CONDITION);
	return true;
}

/*
 * SAM-5 §5.3 and SPC-4 §5.12.1: a reservation held through another
 * nexus ends the command with RESERVATION CONFLICT (no sense); then a
 * removable LU without its medium answers NOT READY, MEDIUM NOT PRESENT.
 */
static bool lu_may_run(struct scsi_cmd *cmd, uint8_t flags)
{
	bool conflict, no_medium;

	/* Before the task set, or in it waiting for its data (accepted):
	 * nothing has been decided yet. */
	ut_assert(scsi_cmd_state(cmd->priv_state) == 0 ||
		  scsi_cmd_state(cmd->priv_state) ==
			  (CMD_IN_TASK_SET | CMD_DATA_OUT));
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	scsi_lu_lock(cmd->lu);
	conflict = scsi_res_conflict(cmd, flags);
	no_medium = (flags & SCSI_CMD_MEDIUM) && cmd->lu->removable &&
		    !cmd->lu->medium_loaded;
	scsi_lu_unlock(cmd->lu);
	if (conflict) {
		cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
		return false;
	}
	if (no_medium) {
		scsi_fail(cmd, SK_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
		return false;
	}
	return true;
}

/*
 * We do not support ACA (NormACA 0 in standard INQUIRY: SPC-4 "A NORMACA
 * bit set to zero indicates that the device server does not support a
 * NACA bit set to one and does not support the ACA task attribute").
 * SAM-5 §5.9.1: a command with the NACA bit of its CONTROL byte set ends
 * CHECK CONDITION, ILLEGAL REQUEST, INVALID FIELD IN CDB; SAM-5 §8.6.5:
 * one with the ACA task attribute while no ACA condition exists (never,
 * here) ends CHECK CONDITION, ILLEGAL REQUEST, INVALID MESSAGE ERROR
 * (checked 2026-12-07, lane audit14: SCST answers the same, "Refusing ACA
 * cmd ..., because there's no ACA"; LIO answers INVALID FIELD IN CDB).
 * Checked after the opcode (which fixes where the CONTROL byte is),
 * before the task set.
 */
static bool aca_supported(struct scsi_cmd *cmd)
{
	unsigned int len = cmd->cdb[0] == 0x7f ? 2
					       : scsi_cdb_length(cmd->cdb[0]);

	if (cmd->attr == SCSI_TASK_ACA) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_MESSAGE);
		return false;
	}
	/* every opcode of the table has a CDB length by its group */
	ut_assert(len >= 2 && len <= SCSI_CDB_MAX);
	if (cmd->cdb[len - 1] & 0x04 /* NACA */) {
		scsi_fail_cdb(cmd, (uint16_t)(len - 1), 2);
		return false;
	}
	return true;
}

/* The outcome fields, before a command is decided. */
static void cmd_outcome_clear(struct scsi_cmd *cmd)
{
	/* a reference of an earlier run was released by the transport */
	ut_assert(cmd->data_in_ref == NULL);
	cmd->status = SCSI_STATUS_GOOD;
	cmd->sense_len = 0;
	cmd->data_in_len = 0;
	cmd->xfer_len = 0;
	cmd->priv = NULL;
}

bool scsi_cmd_accept(struct scsi_cmd *cmd)
{
	struct scsi_sess *s = cmd->sess;
	struct scsi_itl *itl;

	ut_assert(s != NULL);
	ut_assert(cmd->cdb_len <= SCSI_CDB_MAX);
	ut_assert(cmd->priv_state == 0); /* accepted once, never run yet */
	itl = sess_itl(s, cmd->lun);
	/* No LU: nothing to take a place in.  ACA: refused when it runs
	 * (SAM-5 §8.6.5), in no order. */
	if (!itl ||
	    (cmd->attr != SCSI_TASK_SIMPLE && cmd->attr != SCSI_TASK_ORDERED &&
	     cmd->attr != SCSI_TASK_HEAD_OF_QUEUE))
		return false;
	cmd_outcome_clear(cmd);
	cmd->aborted = false;
	cmd->freed_ns = 0;
	cmd->desc = NULL;
	cmd->itl = itl;
	cmd->lu = itl->lu;
	/* Counted in as scsi_cmd_exec() counts: complete, or withdraw,
	 * counts it out. */
	s->busy++;
	ut_assert(s->busy > 0); /* no wrap */
	scsi_itl_get(itl);
	scsi_task_set_accept(cmd);
	return true;
}

/* cmd was accepted (scsi_cmd_accept) and its data is in: it goes on from
 * the place it took then, through the checks a command arriving now
 * meets (one that refuses it completes it, which lets go what it held).
 * False when it has ended or gone on already. */
static bool accepted_resume(struct scsi_cmd *cmd)
{
	ut_assert(cmd->itl != NULL && cmd->itl->lu == cmd->lu);
	ut_assert(cmd->sess->busy > 0 && cmd->itl->busy > 0);
	cmd_outcome_clear(cmd);
#ifndef UT_NO_IO_STATS
	cmd->start_ns = env_now_ns(cmd->sess->env);
#endif
	/* Aborted while its data arrived (a reset or CLEAR TASK SET of
	 * another nexus, a PREEMPT AND ABORT, its LU going): it ends TASK
	 * ABORTED without running. */
	if (scsi_cmd_aborted(cmd) || (cmd->priv_state & CMD_LU_GOING)) {
		scsi_cmd_complete(cmd);
		return false;
	}
	/* Its LUN was unmapped meanwhile: it leaves its place and is what
	 * a command arriving now would be (no LU, or another one). */
	if (cmd->itl->detached) {
		scsi_cmd_withdraw(cmd);
		scsi_cmd_exec(cmd);
		return false;
	}
	return true;
}

void scsi_cmd_exec(struct scsi_cmd *cmd)
{
	struct scsi_sess *s = cmd->sess;
	const struct scsi_cmd_desc *d = scsi_cmd_lookup(cmd->cdb[0]);
	uint8_t flags = d ? d->flags : 0;
	bool accepted = scsi_cmd_state(cmd->priv_state) ==
			(CMD_IN_TASK_SET | CMD_DATA_OUT);

	ut_assert(s != NULL);
	ut_assert(cmd->done != NULL);
	ut_assert(cmd->cdb_len <= SCSI_CDB_MAX);
	ut_assert(cmd->data_out_len <= cmd->buf_cap || cmd->buf == NULL);
	if (accepted) {
		cmd->desc = d;
		if (!accepted_resume(cmd))
			return;
		goto checks;
	}
	cmd_outcome_clear(cmd);
	cmd->aborted = false;
	cmd->priv_state = 0;
	cmd->freed_ns = 0;
	cmd->desc = d;
	cmd->itl = sess_itl(s, cmd->lun);
	cmd->lu = cmd->itl ? cmd->itl->lu : NULL;
	s->busy++;
	ut_assert(s->busy > 0); /* no wrap */
	if (cmd->itl) {
		scsi_itl_get(cmd->itl);
#ifndef UT_NO_IO_STATS
		cmd->start_ns = env_now_ns(s->env);
#endif
	}

checks:
	if (!cmd->itl && !(flags & SCSI_CMD_NO_LU)) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LU_NOT_SUPPORTED);
		goto done;
	}
	/* SBC-4 §4.11.2: a running sanitize answers before a pending unit
	 * attention, which stays queued for the first command it lets by. */
	if (cmd->lu && scsi_sanitize_refuses(cmd, flags))
		goto done;
	if (cmd->itl && report_pending_ua(cmd, flags))
		goto done;
	if (!d) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		goto done;
	}
	/* SPC-4 §5.15.2: the access state of the target port, after unit
	 * attentions and before reservations (alua.c). */
	if (cmd->lu && scsi_alua_refuses(cmd))
		goto done;
	if (cmd->lu && !lu_may_run(cmd, flags))
		goto done;
	if (!aca_supported(cmd))
		goto done;
	if (cmd->lu) {
		bool enabled;

		scsi_lu_lock(cmd->lu);
		if (accepted) {
			/* From its place (aborted since by another reactor:
			 * enabled, it runs and ends TASK ABORTED, as one
			 * aborted at the backstore does). */
			enabled = scsi_order_admit_accepted(cmd->lu, cmd);
		} else {
			scsi_cmd_state_set(cmd, CMD_IN_TASK_SET);
			cmd->lu_epoch = cmd->lu->epoch;
			cmd->ts_seq = cmd->lu->ts_seq++;
			TAILQ_INSERT_TAIL(&cmd->lu->task_set, cmd, lu_link);
			enabled = scsi_order_admit(cmd->lu, cmd);
		}
		ut_assert_slow(scsi_lu_task_set_ok(cmd->lu));
		scsi_lu_unlock(cmd->lu);
		/* Dormant: the completion of the last older command it waits
		 * for runs it (task_set.c). */
		if (!enabled)
			return;
	}
	scsi_cmd_run(cmd);
	return;
done:
	scsi_cmd_complete(cmd);
}

/* ------------------------------------------------- task management */

#define TMF_COMPLETE 0
#define TMF_REJECTED 5
#define TMF_NO_LUN 9

/* Mark commands of lu as aborted; "who" selects them.  With TAS=1 (our
 * control mode page) the commands of other nexuses end with TASK ABORTED
 * status instead of the COMMANDS CLEARED BY ANOTHER INITIATOR unit
 * attention of TAS=0 (SAM-5 §5.6, §7.4). */
enum tmf_scope { TMF_ONE_TAG, TMF_MY_NEXUS, TMF_ALL };

static void abort_in_lu(struct scsi_lu *lu, const struct scsi_sess *s,
			enum tmf_scope scope, uint64_t tag,
			const struct scsi_tmf_hook *hook)
{
	struct scsi_tmf_wait *w = NULL;
	struct scsi_cmd *c;
	unsigned int others = 0;

	ut_assert(scope == TMF_ONE_TAG || scope == TMF_MY_NEXUS ||
		  scope == TMF_ALL);
	ut_assert(tag == 0 || scope == TMF_ONE_TAG);
	/* only a TMF that reaches other nexuses waits for them here */
	ut_assert(hook == NULL || scope == TMF_ALL);
	if (hook)
		w = calloc(1, sizeof(*w));
	scsi_lu_lock(lu);
	TAILQ_FOREACH (c, &lu->task_set, lu_link) {
		bool mine = c->sess == s;

		ut_assert(c->lu == lu);
		if (scope == TMF_ONE_TAG && !(mine && c->tag == tag))
			continue;
		if (scope == TMF_MY_NEXUS && !mine)
			continue;
		scsi_cmd_set_aborted(c);
		others += !mine;
	}
	/* SAM-5 §7.1: the TMF completes once the commands it aborted have
	 * ended; those of its own nexus the transport waits for itself,
	 * those of other nexuses end on their reactors: count them. */
	if (w && others) {
		w->upto = lu->ts_seq;
		w->sess = s;
		w->pending = others;
		w->env = s->env;
		w->hook = *hook;
		LIST_INSERT_HEAD(&lu->tmf_waits, w, link);
		ut_assert_slow(scsi_lu_task_set_ok(lu));
	}
	scsi_lu_unlock(lu);
	/* The release comes from the last command's end, posted here when
	 * that is another reactor: after this call, hence after the hold
	 * (and here, not before scsi_sanitize_tmf() below ends one). */
	if (w && others) {
		hook->hold(hook->arg);
	} else if (hook && others) {
		/* SAM-5 §7.1: no FUNCTION COMPLETE before they end */
		LOG_ERR(s->env,
			"scsi: %s: out of memory: a reset cannot wait for %u "
			"aborted commands: its connection closes instead of "
			"answering",
			lu->name, others);
		ut_assert(hook->lost != NULL);
		hook->lost(hook->arg);
	}
	if (w && !others)
		free(w);
	/* After the hold: a dormant command aborted here may end now. */
	scsi_lu_release_aborted(lu, s->env);
	scsi_sanitize_tmf(lu, s->env);
}

int scsi_tmf_abort_task(struct scsi_sess *s, uint64_t lun, uint64_t tag)
{
	struct scsi_itl *itl = sess_itl(s, lun);

	if (!itl)
		return TMF_NO_LUN;
	/* A task that is not in the task set has completed already: SAM-5
	 * §7.2 answers FUNCTION COMPLETE all the same. */
	abort_in_lu(itl->lu, s, TMF_ONE_TAG, tag, NULL);
	return TMF_COMPLETE;
}

int scsi_tmf_abort_task_set(struct scsi_sess *s, uint64_t lun)
{
	struct scsi_itl *itl = sess_itl(s, lun);

	if (!itl)
		return TMF_NO_LUN;
	abort_in_lu(itl->lu, s, TMF_MY_NEXUS, 0, NULL);
	return TMF_COMPLETE;
}

int scsi_tmf_clear_task_set(struct scsi_sess *s, uint64_t lun,
			    const struct scsi_tmf_hook *hook)
{
	struct scsi_itl *itl = sess_itl(s, lun);

	if (!itl)
		return TMF_NO_LUN;
	abort_in_lu(itl->lu, s, TMF_ALL, 0, hook);
	return TMF_COMPLETE;
}

/* SAM-5 §6.3.3 logical unit reset: abort every task, release SPC-2
 * reservations and PREVENT, return the mode parameters to their saved
 * values, or to their defaults where none were saved ("The MODE SELECT
 * parameters (see SPC-4) shall be restored to their last saved values if
 * saved values have been established. MODE SELECT parameters for which no
 * values have been saved shall be returned to their default values", item
 * d; we save none: SP=1 is refused), then a unit attention on every I_T
 * nexus of the LU, which is how the others learn that WCE, D_SENSE and
 * SWP may have changed (it replaces a pending MODE PARAMETERS CHANGED;
 * SCST also restores them; until 2026-12-07 we kept MODE SELECT's values).
 * We report the generic 29h/00h (POWER ON, RESET, OR BUS DEVICE RESET
 * OCCURRED), which SAM-5 allows in place of the specific 29h/03h;
 * libiscsi's RESERVE/RELEASE helpers accept exactly that one after a
 * reset.  A TARGET RESET is a logical unit reset of each LU (§6.3.2). */
static void lu_reset(struct scsi_lu *lu, const struct scsi_sess *s,
		     const struct scsi_tmf_hook *hook)
{
	abort_in_lu(lu, s, TMF_ALL, 0, hook);
	scsi_lu_lock(lu);
	scsi_res_lu_reset(lu);
	lu->mode = lu->mode_default;
	/* Pair with the conflict check: no SPC-2 reservation survives. */
	ut_assert(lu->spc2_holder == NULL);
	ut_assert(memcmp(&lu->mode, &lu->mode_default, sizeof(lu->mode)) == 0);
	scsi_ua_add_lu(lu, NULL, ASC_POWER_ON_RESET);
	scsi_lu_unlock(lu);
}

int scsi_tmf_lu_reset(struct scsi_sess *s, uint64_t lun,
		      const struct scsi_tmf_hook *hook)
{
	struct scsi_itl *itl = sess_itl(s, lun);

	if (!itl)
		return TMF_NO_LUN;
	lu_reset(itl->lu, s, hook);
	return TMF_COMPLETE;
}

int scsi_tmf_target_reset(struct scsi_sess *s, const struct scsi_tmf_hook *hook)
{
	for (unsigned int lun = 0; lun <= SCSI_MAX_LUN; lun++) {
		if (s->lun_map[lun])
			lu_reset(s->lun_map[lun]->lu, s, hook);
	}
	return TMF_COMPLETE;
}

/* A PREEMPT AND ABORT waiting for what it aborted: the commands of the
 * preempted nexuses in the task set (pr.c) and their tasks the transport
 * holds.  holds counts the waits still out, plus one while pr_out sets
 * them up; on the command's reactor only. */
struct pr_abort_wait {
	struct scsi_cmd *cmd;
	unsigned int holds;
};

static void pr_abort_hold(void *arg)
{
	struct pr_abort_wait *pw = arg;

	ut_assert(pw->holds > 0); /* still being set up */
	pw->holds++;
}

/* A wait of it could not be kept: no GOOD before the commands it
 * aborted end (scsi_tmf_hook lost). */
static void pr_abort_lost(void *arg)
{
	struct pr_abort_wait *pw = arg;

	pw->cmd->answer_lost = true;
}

/* The last wait out completes the PERSISTENT RESERVE OUT. */
static void pr_abort_release(void *arg)
{
	struct pr_abort_wait *pw = arg;
	struct scsi_cmd *cmd = pw->cmd;

	ut_assert(pw->holds > 0);
	if (--pw->holds > 0)
		return;
	free(pw);
	scsi_cmd_complete(cmd);
}

/* PERSISTENT RESERVE OUT.  A PREEMPT AND ABORT aborts the preempted
 * nexuses' tasks (SPC-4 §5.12.11.5) and completes once they have ended,
 * as the TMFs above do (SAM-5 §7.1): those in the task set (pr.c counts
 * them under the LU lock), a SANITIZE of theirs that waits for its
 * operation (it ends here), and those their transports hold. */
static enum scsi_rc pr_out(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	struct env *here = cmd->sess->env;
	struct pr_abort_wait *pw = NULL;
	struct scsi_tmf_hook hook;
	struct scsi_tport_ref *tp;
	unsigned int n;

	if ((cmd->cdb[1] & 0x1f) == 0x05 /* PREEMPT AND ABORT */) {
		pw = calloc(1, sizeof(*pw));
		if (!pw) {
			scsi_fail(cmd, SK_HARDWARE_ERROR,
				  ASC_INTERNAL_TARGET_FAILURE);
			return SCSI_RC_DONE;
		}
		pw->cmd = cmd;
		pw->holds = 1;
	}
	hook = (struct scsi_tmf_hook){pr_abort_hold, pr_abort_release, pw,
				      pr_abort_lost};
	spc_pr_out(cmd, pw ? &hook : NULL, &tp, &n);
	if (!pw) {
		ut_assert(n == 0);
		return SCSI_RC_DONE;
	}
	for (unsigned int i = 0; i < n; i++)
		tp[i].fn(tp[i].ctx, tp[i].id, tp[i].env, here, lu, &hook);
	free(tp);
	/* The preempted nexuses' dormant commands end now, after the hold
	 * (older than this command, or held by it, they would wait for
	 * it as it waits for them). */
	scsi_lu_release_aborted(lu, here);
	scsi_sanitize_tmf(lu, here);
	/* The setup's own hold: the releases so far came on this reactor,
	 * or are posted to it and come later. */
	ut_assert(pw->holds > 0);
	if (--pw->holds > 0)
		return SCSI_RC_ASYNC;
	free(pw);
	return SCSI_RC_DONE;
}

/* ------------------------------------------------------ command table */

#define UA SCSI_CMD_UA_EXEMPT
#define NOLU SCSI_CMD_NO_LU
#define MED SCSI_CMD_MEDIUM
#define RESOK SCSI_CMD_RES_OK
#define PRR SCSI_CMD_PR_READ
#define PRW SCSI_CMD_PR_WRITE

static const struct scsi_cmd_desc cmd_table[256] = {
	[0x00] = {spc_test_unit_ready, MED},
	[0x03] = {spc_request_sense, UA | NOLU | RESOK},
	[0x08] = {sbc_read, MED | PRR},
	[0x0a] = {sbc_write, MED | PRW},
	[0x12] = {spc_inquiry, UA | NOLU | RESOK},
	[0x15] = {spc_mode_select, PRW},
	[0x16] = {spc_reserve, RESOK},
	[0x17] = {spc_release, RESOK},
	[0x1a] = {spc_mode_sense, PRR},
	[0x1b] = {sbc_start_stop_unit, PRW},
	[0x1e] = {sbc_prevent_allow, PRW},
	[0x25] = {sbc_read_capacity10, MED},
	[0x28] = {sbc_read, MED | PRR},
	[0x2a] = {sbc_write, MED | PRW},
	[0x2e] = {sbc_write_verify, MED | PRW},
	[0x2f] = {sbc_verify, MED | PRR},
	[0x34] = {sbc_prefetch, MED | PRR},
	[0x35] = {sbc_sync_cache, MED | PRW},
	[0x37] = {sbc_read_defect_data, PRR},
	[0x41] = {sbc_write_same, MED | PRW},
	[0x42] = {sbc_unmap, MED | PRW},
	[0x48] = {sbc_sanitize, MED | PRW},
	[0x55] = {spc_mode_select, PRW},
	[0x56] = {spc_reserve, RESOK},
	[0x57] = {spc_release, RESOK},
	[0x5a] = {spc_mode_sense, PRR},
	[0x5e] = {spc_pr_in, 0},
	[0x5f] = {pr_out, 0},
	[0x83] = {spc_extended_copy, MED | PRW},
	[0x84] = {spc_receive_copy_results, 0},
	[0x88] = {sbc_read, MED | PRR},
	[0x89] = {sbc_compare_and_write, MED | PRW},
	[0x8a] = {sbc_write, MED | PRW},
	[0x8b] = {sbc_orwrite, MED | PRW},
	[0x8e] = {sbc_write_verify, MED | PRW},
	[0x8f] = {sbc_verify, MED | PRR},
	[0x90] = {sbc_prefetch, MED | PRR},
	[0x91] = {sbc_sync_cache, MED | PRW},
	[0x93] = {sbc_write_same, MED | PRW},
	[0x9c] = {sbc_write, MED | PRW},
	[0x9e] = {sbc_service_action_in16, MED},
	[0xa0] = {spc_report_luns, UA | NOLU | RESOK},
	[0xa3] = {spc_maintenance_in, RESOK},
	[0xa4] = {spc_maintenance_out, PRW},
	[0xa8] = {sbc_read, MED | PRR},
	[0xaa] = {sbc_write, MED | PRW},
	[0xae] = {sbc_write_verify, MED | PRW},
	[0xaf] = {sbc_verify, MED | PRR},
	[0xb7] = {sbc_read_defect_data, PRR},
};

const struct scsi_cmd_desc *scsi_cmd_lookup(uint8_t opcode)
{
	const struct scsi_cmd_desc *d = &cmd_table[opcode];

	/* A row without a handler has no flags: the table is one or other. */
	ut_assert(d->fn != NULL || d->flags == 0);
	return d->fn ? d : NULL;
}
