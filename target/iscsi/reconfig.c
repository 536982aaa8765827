/*
 * reconfig.c — changing the server's devices and targets while sessions
 * run (utargetctl, reload, simulator verbs).  The objects it changes are
 * devices.c's; what a change replaced is freed by retire.c's rounds.
 *
 * Every change is one operation: a new configuration is compared with the
 * running one and the difference applied.
 *
 *   prepare   devices: new ones opened, grown ones grown (nothing is
 *             visible yet; a failure undoes the openings and stops here:
 *             the running configuration is untouched);
 *             remote ones (rbd:, tcmu:) open off the reactor when the
 *             environment can (env.h disk_open_async): the operation
 *             waits for their answers, the reactor keeps serving, and
 *             the rest of the operation continues from the last answer
 *             (a failure then reaches the caller's callback);
 *             target confs: built for the new configuration.
 *   commit    (synchronous, on the calling reactor)
 *             - the device table takes the new devices; removed or
 *               replaced ones start "going";
 *             - each target's conf is replaced (one pointer store; the old
 *               conf is retired: freed once every reactor has passed a
 *               callback boundary); removed targets become tombstones and
 *               their sessions are closed; a disabled target refuses new
 *               logins (with force, its sessions get an Async logout
 *               request, RFC 7143 §11.9.1, and are closed after the grace);
 *             - capacities change (CAPACITY DATA HAS CHANGED on every
 *               nexus of the LU, lu_live.c);
 *             - every session re-reads its LUN set on its own reactor
 *               (iscsi_sess_resync_luns: REPORTED LUNS DATA HAS CHANGED on
 *               the nexuses it keeps when the set changed).
 *   drain     (a timer every RECONF_POLL_NS) going devices wait until
 *             no nexus is left and the retire round is over, then are
 *             freed; shrunk devices wait until the commands that entered
 *             before the shrink are done, then the backstore shrinks.
 *             After drain_ms the commands still in the way are aborted
 *             (TASK ABORTED when their I/O returns); memory is still only
 *             freed once nothing uses it.
 *   done      the caller's callback, never from inside the call.
 *
 * One operation at a time; another one asked for meanwhile is refused
 * with -EBUSY.  Portal and discovery (driver-level) changes are kept in
 * the configuration but take effect at the next start.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

#define RECONF_POLL_NS (10ull * 1000000ull)
#define RECONF_DRAIN_MS_DEFAULT 5000u
#define RECONF_LOGOUT_GRACE_MS 3000u
/* Past the drain time plus this, an operation reports what is still in
 * use and ends; the device is closed by a later poll once it is free. */
#define RECONF_GIVE_UP_NS (30ull * 1000000000ull)

struct reconf_shrink {
	struct iscsi_lu_ent *e;
	uint64_t size_bytes;
	uint32_t epoch;
	bool aborted, done;
};

struct reconf_logout {
	struct iscsi_tgt *t;
	bool closed;
};

struct iscsi_reconf {
	struct iscsi_server *srv;
	iscsi_reconf_done_fn done;
	void *arg;
	struct iscsi_reconf_result res;
	uint64_t start_ns, drain_ns;
	uint64_t grace_seq;
	struct reconf_shrink *shrinks;
	size_t shrink_count;
	struct reconf_logout *logouts;
	size_t logout_count;
	unsigned int going; /* devices of this operation still going */
	/* Devices opening off the reactor: until the last answer the
	 * operation holds what it will commit. */
	unsigned int opening; /* answers still to come */
	int open_rc;	      /* the first failure among them */
	bool committed;
	struct ut_config cfg; /* the configuration being applied */
	/* The running configuration when the change was asked for, target
	 * port group states as they were then: a state cfg gives that
	 * differs from it is one the change asks for; one equal to it is
	 * not asked for, and a state set meanwhile (SET TARGET PORT GROUPS
	 * while a device opened off the reactor) stands. */
	struct ut_config base;
	struct iscsi_lu_ent **nl;
	bool *opened;
	struct iscsi_reconf_opts opts;
	bool have_opts;
};

/* ------------------------------------------------------------ reconfigure */

static void reconf_msg(struct iscsi_reconf *op, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reconf_msg(struct iscsi_reconf *op, const char *fmt, ...)
{
	size_t len = strlen(op->res.msg);
	va_list ap;

	ut_assert(len < sizeof(op->res.msg));
	ut_assert(op->srv->reconf == op || op->srv->reconf == NULL);

	if (len + 3 >= sizeof(op->res.msg))
		return;
	if (len)
		op->res.msg[len++] = ';', op->res.msg[len++] = ' ';
	va_start(ap, fmt);
	vsnprintf(op->res.msg + len, sizeof(op->res.msg) - len, fmt, ap);
	va_end(ap);
}

/* Devices this operation opened and did not commit. */
static void reconf_unopen(struct iscsi_reconf *op)
{
	for (size_t i = 0; op->nl && i < op->cfg.dev_count; i++)
		if (op->opened[i] && op->nl[i]) {
			iscsi_lu_ent_free(op->nl[i]);
			op->nl[i] = NULL;
		}
	op->shrink_count = 0;
}

static void reconf_free(struct iscsi_reconf *op)
{
	if (!op)
		return;
	/* no open answer may still come for it */
	ut_assert(op->opening == 0 || op->srv->shutting_down ||
		  op->srv->reconf == op);
	ut_assert(op->committed || op->going == 0);
	if (!op->committed) {
		reconf_unopen(op);
		ut_config_free(&op->cfg);
	}
	ut_config_free(&op->base);
	free(op->nl);
	free(op->opened);
	free(op->shrinks);
	free(op->logouts);
	free(op);
}

static void reconf_finish(struct iscsi_server *srv, struct iscsi_reconf *op)
{
	/* the operation in progress ends once, with its devices gone or
	 * given up on (reconf_give_up()) */
	ut_assert(srv->reconf == op);
	ut_assert(op->going == 0 || op->res.status == -ETIMEDOUT);
	op->res.waited_ms = (env_now_ns(srv->env) - op->start_ns) / 1000000u;
	srv->reconf = NULL;
	LOG_INFO(srv->env,
		 "event=reconfigured status=%d waited_ms=%llu aborted=%u "
		 "note=\"%s\"",
		 op->res.status, (unsigned long long)op->res.waited_ms,
		 op->res.aborted, op->res.msg);
	if (op->done)
		op->done(op->arg, &op->res);
	reconf_free(op);
}

/* Going devices: free those nothing uses any more.  op may be NULL (a
 * device an earlier operation gave up waiting for). */
static bool reconf_step_going(struct iscsi_server *srv, struct iscsi_reconf *op,
			      uint64_t now)
{
	uint64_t drain_ns = op ? op->drain_ns
			       : RECONF_DRAIN_MS_DEFAULT * 1000000ull;
	struct iscsi_lu_ent *e, *tmp;
	bool all = true;

	ut_assert(!op || op == srv->reconf);
	TAILQ_FOREACH_SAFE (e, &srv->going, going_link, tmp) {
		bool grace = iscsi_grace_over(srv, e->grace_seq);

		ut_assert(e->going);

		if (grace && scsi_lu_nexus_count(e->lu) == 0 &&
		    !scsi_lu_sanitizing(e->lu)) {
			TAILQ_REMOVE(&srv->going, e, going_link);
			LOG_INFO(srv->env, "event=device-closed device=%s",
				 e->name);
			if (op && e->op == op) {
				ut_assert(op->going > 0);
				op->going--;
			}
			iscsi_lu_ent_free(e);
			continue;
		}
		if (op && e->op == op)
			all = false;
		if (!e->aborted && now - e->going_since_ns >= drain_ns) {
			unsigned int n = scsi_lu_abort_commands(e->lu, srv->env,
								UINT32_MAX);

			e->aborted = true;
			if (op)
				op->res.aborted += n;
			LOG_WARN(srv->env,
				 "event=device-drain-timeout device=%s "
				 "aborted=%u",
				 e->name, n);
		}
	}
	return all;
}

static bool reconf_step_shrinks(struct iscsi_server *srv,
				struct iscsi_reconf *op, uint64_t now)
{
	bool all = true;

	ut_assert(op == srv->reconf);
	for (size_t i = 0; i < op->shrink_count; i++) {
		struct reconf_shrink *k = &op->shrinks[i];
		int rc;

		ut_assert(k->e != NULL && k->e->lu != NULL);

		if (k->done)
			continue;
		if (scsi_lu_commands_before(k->e->lu, k->epoch) == 0) {
			rc = bs_resize(k->e->bs, k->size_bytes);
			if (rc) {
				op->res.status = rc;
				reconf_msg(op,
					   "device %s: shrinking the "
					   "backstore: %s",
					   k->e->name, strerror(-rc));
			}
			k->done = true;
			continue;
		}
		all = false;
		if (!k->aborted && now - op->start_ns >= op->drain_ns) {
			op->res.aborted += scsi_lu_abort_commands(
				k->e->lu, srv->env, k->epoch);
			k->aborted = true;
		}
	}
	return all;
}

static bool reconf_step_logouts(struct iscsi_server *srv,
				struct iscsi_reconf *op, uint64_t now)
{
	bool all = true;

	ut_assert(op == srv->reconf);
	for (size_t i = 0; i < op->logout_count; i++) {
		struct reconf_logout *l = &op->logouts[i];

		ut_assert(l->t != NULL);

		if (l->closed)
			continue;
		if (now - op->start_ns <
		    (uint64_t)RECONF_LOGOUT_GRACE_MS * 1000000ull) {
			all = false;
			continue;
		}
		iscsi_server_each_sess(srv, srv->env, NULL, l->t,
				       ISCSI_XOP_CLOSE, NULL,
				       "target disabled");
		l->closed = true;
	}
	return all;
}

static void reconf_give_up(struct iscsi_server *srv, struct iscsi_reconf *op)
{
	struct iscsi_lu_ent *e;

	ut_assert(op == srv->reconf);
	ut_assert(op->res.status != -ETIMEDOUT); /* gives up once */
	TAILQ_FOREACH (e, &srv->going, going_link) {
		if (e->op != op)
			continue;
		reconf_msg(op,
			   "device %s is still in use; it closes when "
			   "its last command ends",
			   e->name);
		e->op = NULL;
	}
	for (size_t i = 0; i < op->shrink_count; i++) {
		struct reconf_shrink *k = &op->shrinks[i];

		if (k->done)
			continue;
		reconf_msg(op,
			   "device %s: commands older than the shrink are "
			   "still running; the backstore keeps its size "
			   "until they end",
			   k->e->name);
		/* Left to the server's polls: until then the backstore
		 * holds blocks past the capacity, which no change may
		 * bring back (reconf_shrink_left_step). */
		ut_assert(!k->e->shrink_left);
		k->e->shrink_left = true;
		k->e->shrink_epoch = k->epoch;
		k->e->shrink_bytes = k->size_bytes;
		srv->shrinks_left++;
	}
	op->res.status = -ETIMEDOUT;
}

/* A shrink given up on, once the commands older than it have ended:
 * the backstore gives up its end now.  True when none is left on e. */
static bool reconf_shrink_left_step(struct iscsi_server *srv,
				    struct iscsi_lu_ent *e)
{
	int rc;

	if (!e->shrink_left)
		return true;
	ut_assert(srv->shrinks_left > 0);
	if (scsi_lu_commands_before(e->lu, e->shrink_epoch) != 0)
		return false;
	rc = bs_resize(e->bs, e->shrink_bytes);
	if (rc)
		LOG_ERR(srv->env, "device %s: shrinking the backstore: %s",
			e->name, strerror(-rc));
	else
		LOG_INFO(srv->env, "event=device-shrunk device=%s bytes=%llu",
			 e->name, (unsigned long long)e->shrink_bytes);
	e->shrink_left = false;
	srv->shrinks_left--;
	return true;
}

static void reconf_step_shrinks_left(struct iscsi_server *srv)
{
	for (size_t i = 0; srv->shrinks_left && i < srv->lu_count; i++)
		(void)reconf_shrink_left_step(srv, srv->lus[i]);
}

static void reconf_poll(void *arg)
{
	struct iscsi_server *srv = arg;
	/* An operation still waiting for its devices has nothing to step. */
	struct iscsi_reconf *op =
		srv->reconf && srv->reconf->committed ? srv->reconf : NULL;
	uint64_t now = env_now_ns(srv->env);
	bool done;

	ut_assert(arg != NULL);
	ut_assert(!op || op->srv == srv);
	reconf_step_shrinks_left(srv);
	if (!op) {
		reconf_step_going(srv, NULL, now);
	} else {
		done = reconf_step_shrinks(srv, op, now);
		done &= reconf_step_logouts(srv, op, now);
		done &= reconf_step_going(srv, op, now);
		done &= iscsi_grace_over(srv, op->grace_seq);
		if (!done &&
		    now - op->start_ns > op->drain_ns + RECONF_GIVE_UP_NS) {
			reconf_give_up(srv, op);
			done = true;
		}
		if (done)
			reconf_finish(srv, op);
	}
	if ((srv->reconf && srv->reconf->committed) ||
	    !TAILQ_EMPTY(&srv->going) || srv->shrinks_left)
		env_timer_arm(srv->env, srv->reconf_timer,
			      now + RECONF_POLL_NS);
}

static void reconf_resume(struct iscsi_server *srv, struct iscsi_reconf *op);

/* A device opened off the reactor answered (on srv's reactor). */
static void reconf_opened(void *arg, int rc, struct bs_dev *bs)
{
	struct iscsi_lu_ent *e = arg;
	struct iscsi_reconf *op = e->op;
	struct iscsi_server *srv = op->srv;

	/* one answer per open, for the operation waiting for it */
	ut_assert(op->opening > 0);
	ut_assert(srv->reconf == op && !op->committed);
	e->op = NULL;
	if (rc == 0)
		rc = iscsi_lu_ent_attach(srv, e, bs, &op->cfg);
	if (rc) {
		LOG_ERR(srv->env, "device %s: cannot open backstore: %s",
			e->name, strerror(-rc));
		reconf_msg(op, "device %s: cannot open %s: %s", e->name,
			   e->cfg.path[0] ? e->cfg.path : "it", strerror(-rc));
		if (!op->open_rc)
			op->open_rc = rc;
	} else {
		LOG_INFO(srv->env,
			 "event=device-opened device=%s waited_ms=%llu",
			 e->name,
			 (unsigned long long)((env_now_ns(srv->env) -
					       op->start_ns) /
					      1000000u));
	}
	if (--op->opening == 0)
		reconf_resume(srv, op);
}

/* Open e: in place, or off the reactor where the environment does that
 * for its kind (then op->opening counts it until reconf_opened). */
static int reconf_open(struct iscsi_server *srv, struct iscsi_reconf *op,
		       struct iscsi_lu_ent *e)
{
	struct bs_dev_params p;
	int rc;

	/* a new entry, opened once, while the operation is prepared */
	ut_assert(e->op == NULL && e->lu == NULL);
	ut_assert(srv->reconf == NULL);
	iscsi_lu_ent_params(e, &p);
	e->op = op;
	rc = bs_open_async(srv->env, &p, reconf_opened, e);
	if (rc == 0) {
		op->opening++;
		return 0;
	}
	e->op = NULL;
	if (rc != -ENOTSUP) {
		LOG_ERR(srv->env, "device %s: cannot open backstore: %s",
			e->name, strerror(-rc));
		return rc;
	}
	return iscsi_lu_ent_open(srv, e, &op->cfg);
}

/* Devices of the new configuration: kept, grown, shrunk, new or
 * replacing an old one.  Fills nl (the new table) and op's shrinks;
 * new entries are opened or start opening (op->opening).  On failure
 * the caller closes what was opened (reconf_unopen), once no answer is
 * still to come. */
static int reconf_devices(struct iscsi_server *srv, struct iscsi_reconf *op,
			  const struct ut_config *cfg, struct iscsi_lu_ent **nl,
			  bool *opened)
{
	int rc = 0;

	/* prepared before the operation is published; nothing shrinks yet */
	ut_assert(srv->reconf == NULL);
	ut_assert(op->shrink_count == 0);
	for (size_t i = 0; i < cfg->dev_count; i++) {
		const struct ut_dev_cfg *d = &cfg->devs[i];
		struct iscsi_lu_ent *e = iscsi_server_find_lu(srv, d->name);

		opened[i] = false;
		/* A shrink given up on and still waiting: its backstore is
		 * larger than the LU, and no size can be judged against it
		 * (a grow would bring back the blocks the shrink cut). */
		if (e && !ut_dev_cfg_equal(&e->cfg, d) &&
		    ut_dev_cfg_equal_but_size(&e->cfg, d) &&
		    !reconf_shrink_left_step(srv, e)) {
			reconf_msg(op,
				   "device %s: commands older than its last "
				   "shrink are still running; try again "
				   "after them",
				   d->name);
			rc = -EBUSY;
			break;
		}
		if (e && ut_dev_cfg_equal(&e->cfg, d)) {
			nl[i] = e;
			continue;
		}
		if (e && ut_dev_cfg_equal_but_size(&e->cfg, d) &&
		    d->size_bytes && e->bs->ops->resize) {
			uint64_t size = d->size_bytes / e->bs->block_size *
					e->bs->block_size;

			nl[i] = e;
			if (scsi_lu_sanitizing(e->lu)) {
				reconf_msg(op,
					   "device %s: a SANITIZE is "
					   "running; try again after it",
					   d->name);
				rc = -EBUSY;
				break;
			}
			if (size > e->bs->size_bytes) {
				rc = bs_resize(e->bs, size);
				if (rc) {
					reconf_msg(op,
						   "device %s: cannot grow "
						   "to %llu bytes: %s",
						   d->name,
						   (unsigned long long)size,
						   strerror(-rc));
					break;
				}
			} else if (size < e->bs->size_bytes) {
				struct reconf_shrink *k;

				/* one slot per device (calloc'd for all) */
				ut_assert(op->shrink_count < cfg->dev_count);
				k = &op->shrinks[op->shrink_count++];

				k->e = e;
				k->size_bytes = size;
			}
			continue;
		}
		/* A device opened again (another attribute): the new LU
		 * would serve commands on a medium the old one's SANITIZE
		 * still overwrites, and what it acknowledged be overwritten
		 * after (SBC-4 §4.11); refused as a resize is. */
		if (e && scsi_lu_sanitizing(e->lu)) {
			reconf_msg(op,
				   "device %s: a SANITIZE is running; try "
				   "again after it",
				   d->name);
			rc = -EBUSY;
			break;
		}
		nl[i] = iscsi_lu_ent_new(srv, d);
		if (!nl[i]) {
			rc = -ENOMEM;
			break;
		}
		opened[i] = true;
		rc = reconf_open(srv, op, nl[i]);
		if (rc) {
			reconf_msg(op, "device %s: cannot open %s: %s", d->name,
				   d->path[0] ? d->path : "it", strerror(-rc));
			break;
		}
	}
	return rc;
}

static void reconf_going(struct iscsi_server *srv, struct iscsi_reconf *op,
			 struct iscsi_lu_ent *e)
{
	ut_assert(!e->going); /* goes once */
	ut_assert(e->op == NULL);
	if (e->shrink_left) {
		/* freed once unused: nothing is left to shrink */
		e->shrink_left = false;
		ut_assert(srv->shrinks_left > 0);
		srv->shrinks_left--;
	}
	e->going = true;
	e->going_since_ns = op->start_ns;
	e->op = op;
	op->going++;
	TAILQ_INSERT_TAIL(&srv->going, e, going_link);
	/* out of its device group now; freed after the retire round */
	iscsi_tports_lu_gone(srv, e);
	LOG_INFO(srv->env, "event=device-removed device=%s", e->name);
}

/* Commit: tables, confs, capacities, sessions.  Nothing fails here but
 * memory for a tombstone conf, which is then skipped (logged). */
static void reconf_commit(struct iscsi_server *srv, struct iscsi_reconf *op,
			  const struct ut_config *cfg, struct iscsi_lu_ent **nl,
			  struct iscsi_tgt_conf **confs,
			  const struct iscsi_reconf_opts *o)
{
	struct ut_config *old = &srv->cfg;

	/* the operation in progress, over a configuration that validated */
	ut_assert(srv->reconf == op);
	ut_assert(cfg->dev_count <= UT_MAX_DEVS);
	ut_assert(cfg->target_count <= UT_MAX_TARGETS);
	/* Devices no longer in the table go; the table takes the new ones. */
	for (size_t i = 0; i < srv->lu_count; i++) {
		bool kept = false;

		for (size_t j = 0; j < cfg->dev_count && !kept; j++)
			kept = nl[j] == srv->lus[i];
		if (!kept)
			reconf_going(srv, op, srv->lus[i]);
	}
	memset(srv->lus, 0, UT_MAX_DEVS * sizeof(*srv->lus));
	memcpy(srv->lus, nl, cfg->dev_count * sizeof(*nl));
	srv->lu_count = cfg->dev_count;

	for (size_t i = 0; i < cfg->target_count; i++) {
		const struct ut_target_cfg *tc = &cfg->targets[i];
		struct iscsi_tgt *t = iscsi_tgt_slot(srv, tc->iqn);
		const struct iscsi_tgt_conf *was;

		/* a slot exists: the count was checked against the table */
		ut_assert(t != NULL);
		ut_assert(confs[i] != NULL);
		was = t->removed ? NULL : t->conf;

		if (was && was->enabled && !tc->enabled) {
			LOG_INFO(srv->env, "event=target-disabled target=%s%s",
				 t->name, o && o->force ? " force=1" : "");
			if (o && o->force) {
				op->logouts[op->logout_count++].t = t;
				iscsi_server_each_sess_arg(
					srv, srv->env, t,
					ISCSI_XOP_LOGOUT_REQUEST,
					RECONF_LOGOUT_GRACE_MS, "disabled");
			}
		} else if (!was) {
			LOG_INFO(srv->env, "event=target-added target=%s",
				 t->name);
		} else if (!was->enabled && tc->enabled) {
			LOG_INFO(srv->env, "event=target-enabled target=%s",
				 t->name);
		}
		iscsi_tgt_publish(srv, t, confs[i], false);
		confs[i] = NULL;
	}
	for (size_t i = 0; i < old->target_count; i++) {
		struct iscsi_tgt *t = NULL;
		struct iscsi_tgt_conf *c;
		bool still = false;

		for (size_t j = 0; j < cfg->target_count && !still; j++)
			still = !strcmp(cfg->targets[j].iqn,
					old->targets[i].iqn);
		if (still)
			continue;
		for (size_t j = 0; j < srv->tgt_count && !t; j++)
			if (!strcmp(srv->tgts[j]->name, old->targets[i].iqn))
				t = srv->tgts[j];
		if (!t)
			continue;
		c = calloc(1, sizeof(*c)); /* disabled, no LUNs */
		if (!c) {
			LOG_ERR(srv->env,
				"target %s: out of memory removing "
				"it; disabled only",
				t->name);
			continue;
		}
		c->params = old->targets[i].params;
		iscsi_tgt_publish(srv, t, c, true);
		iscsi_server_each_sess(srv, srv->env, NULL, t, ISCSI_XOP_CLOSE,
				       NULL, "target removed");
		LOG_INFO(srv->env, "event=target-removed target=%s", t->name);
	}
	/* Capacities, after the confs: a resized LU's nexuses all hear it. */
	for (size_t i = 0; i < cfg->dev_count; i++) {
		struct iscsi_lu_ent *e = nl[i];
		uint64_t nblocks = e->bs->size_bytes / e->bs->block_size;

		/* (not one whose shrink is left: its backstore is still
		 * the larger) */
		if (!e->going && !e->shrink_left &&
		    scsi_lu_nblocks(e->lu) < nblocks)
			scsi_lu_set_capacity(e->lu, nblocks);
		e->cfg = cfg->devs[i];
	}
	for (size_t i = 0; i < op->shrink_count; i++) {
		struct reconf_shrink *k = &op->shrinks[i];

		k->epoch = scsi_lu_set_capacity(
			k->e->lu, k->size_bytes / k->e->bs->block_size);
	}
	/* The retire round that frees the confs just replaced: the one
	 * running, or the next when one was running already. */
	op->grace_seq = srv->grace_seq;
	for (struct iscsi_retired *r = srv->retired; r; r = r->next)
		if (r->seq > op->grace_seq)
			op->grace_seq = r->seq;
	{
		struct iscsi_lu_ent *e;

		TAILQ_FOREACH (e, &srv->going, going_link)
			if (e->op == op)
				e->grace_seq = op->grace_seq;
	}
	/* Sessions follow, each on its reactor; a login racing with us
	 * sees the new generation (iscsi_sess_new). */
	__atomic_add_fetch(&srv->conf_gen, 1, __ATOMIC_ACQ_REL);
	iscsi_server_each_sess(srv, srv->env, NULL, NULL, ISCSI_XOP_RESYNC_LUNS,
			       NULL, "reconfigure");
	ut_config_free(old);
	*old = *cfg;
	op->committed = true;
	op->res.applied = true;
}

static bool portals_equal(const struct ut_config *a, const struct ut_config *b)
{
	if (a->portal_count != b->portal_count)
		return false;
	for (size_t i = 0; i < a->portal_count; i++)
		if (strcmp(a->portals[i], b->portals[i]))
			return false;
	return true;
}

/* The devices are open: target confs, then commit.  On failure what was
 * opened is closed and nothing changed. */
static int reconf_apply(struct iscsi_server *srv, struct iscsi_reconf *op)
{
	const struct ut_config *cfg = &op->cfg;
	struct iscsi_tgt_conf **confs;
	struct iscsi_lu_set set = {op->nl, cfg->dev_count};
	int rc = 0;

	/* every device answered, and the change is not applied yet */
	ut_assert(op->opening == 0);
	ut_assert(!op->committed);
	confs = calloc(cfg->target_count + 1, sizeof(*confs));
	if (!confs)
		rc = -ENOMEM;
	for (size_t i = 0; !rc && i < cfg->target_count; i++) {
		rc = iscsi_tgt_conf_build(srv, &set, &cfg->targets[i],
					  &confs[i]);
		if (rc)
			reconf_msg(op, "target %s: cannot build its LUN map",
				   cfg->targets[i].iqn);
	}
	if (!rc && cfg->target_count > UT_MAX_TARGETS)
		rc = -E2BIG;
	/* Every target's slot before the commit, which cannot fail: a new
	 * one needs memory, and a table filled with tombstones of removed
	 * targets has no room (the commit asserted a slot and aborted).  A
	 * slot made here for a change that then fails stays a tombstone,
	 * taken again by the same name. */
	for (size_t i = 0; !rc && i < cfg->target_count; i++) {
		if (!iscsi_tgt_slot(srv, cfg->targets[i].iqn)) {
			rc = -ENOMEM;
			reconf_msg(op,
				   "target %s: no room for it (%zu of %u "
				   "slots, removed targets included)",
				   cfg->targets[i].iqn, srv->tgt_count,
				   (unsigned int)UT_MAX_TARGETS);
		}
	}
	if (rc) {
		for (size_t i = 0; confs && i < cfg->target_count; i++)
			iscsi_tgt_conf_free(confs[i]);
		free(confs);
		reconf_unopen(op);
		return rc;
	}
	if (!portals_equal(&srv->cfg, cfg))
		reconf_msg(op, "portal changes take effect at the next start");
	iscsi_tports_cfg_sync(srv); /* the states as they are now */
	if (!ut_config_alua_equal(&srv->cfg, cfg))
		reconf_msg(op, "ALUA changes (device groups, portal groups, "
			       "rel_tgt_id) take effect at the next start");
	else /* only the states the change asks for (op->base) */
		iscsi_tports_apply_states(srv, &op->base, cfg);
	if (!ut_iscsi_params_equal(&srv->cfg.params, &cfg->params) ||
	    srv->cfg.discovery_incoming_count != cfg->discovery_incoming_count)
		reconf_msg(op, "discovery settings take effect at the next "
			       "start");
	srv->reconf = op;
	reconf_commit(srv, op, &op->cfg, op->nl, confs,
		      op->have_opts ? &op->opts : NULL);
	free(confs);
	/* Never call back from inside the call: the poll runs next. */
	env_timer_arm(srv->env, srv->reconf_timer, env_now_ns(srv->env));
	return 0;
}

/* The last device opened off the reactor answered: go on, or report
 * the failure through the callback (nothing changed). */
static void reconf_resume(struct iscsi_server *srv, struct iscsi_reconf *op)
{
	int rc = op->open_rc;

	/* the last answer: the operation holds the server */
	ut_assert(op->opening == 0);
	ut_assert(srv->reconf == op);
	if (!rc && srv->shutting_down) {
		rc = -ECANCELED;
		reconf_msg(op, "the server is shutting down");
	}
	if (!rc)
		rc = reconf_apply(srv, op);
	else
		reconf_unopen(op);
	if (rc) {
		op->res.status = rc;
		if (!op->res.msg[0])
			reconf_msg(op, "%s", strerror(-rc));
		reconf_finish(srv, op);
	}
}

int iscsi_server_reconfigure(struct iscsi_server *srv,
			     const struct ut_config *cfg,
			     const struct iscsi_reconf_opts *o,
			     iscsi_reconf_done_fn done, void *arg, char *err,
			     size_t errlen)
{
	struct iscsi_reconf *op = NULL;
	int rc = -ENOMEM;

	ut_assert(cfg != NULL);
	ut_assert(err != NULL && errlen > 0);
	if (srv->reconf) {
		snprintf(err, errlen, "another change is still in progress");
		return -EBUSY;
	}
	if (!srv->reconf_timer)
		srv->reconf_timer = env_timer_new(srv->env, reconf_poll, srv);
	op = calloc(1, sizeof(*op));
	if (!srv->reconf_timer || !op)
		goto fail;
	ut_config_init(&op->cfg);
	ut_config_init(&op->base);
	iscsi_tports_cfg_sync(srv); /* the states as they are now */
	op->nl = calloc(cfg->dev_count + 1, sizeof(*op->nl));
	op->opened = calloc(cfg->dev_count + 1, sizeof(*op->opened));
	op->shrinks = calloc(cfg->dev_count + 1, sizeof(*op->shrinks));
	op->logouts = calloc(cfg->target_count + 1, sizeof(*op->logouts));
	if (!op->nl || !op->opened || !op->shrinks || !op->logouts ||
	    ut_config_copy(&op->cfg, cfg) ||
	    ut_config_copy(&op->base, &srv->cfg))
		goto fail;
	op->srv = srv;
	op->done = done;
	op->arg = arg;
	if (o) {
		op->opts = *o;
		op->have_opts = true;
	}
	op->start_ns = env_now_ns(srv->env);
	op->drain_ns = (uint64_t)(o && o->drain_ms ? o->drain_ms
						   : RECONF_DRAIN_MS_DEFAULT) *
		       1000000ull;
	rc = reconf_devices(srv, op, &op->cfg, op->nl, op->opened);
	if (op->opening) {
		/* Answers to come: the operation holds the server (another
		 * change is refused) and goes on, or fails, from the last
		 * one (reconf_resume). */
		if (rc && !op->open_rc)
			op->open_rc = rc;
		srv->reconf = op;
		return 0;
	}
	if (!rc)
		rc = reconf_apply(srv, op);
	if (!rc)
		return 0;
fail:
	snprintf(err, errlen, "%s",
		 op && op->res.msg[0] ? op->res.msg : strerror(-rc));
	reconf_free(op);
	return rc;
}

const struct ut_config *iscsi_server_config(struct iscsi_server *srv)
{
	iscsi_tports_cfg_sync(srv);
	return &srv->cfg;
}

/* ------------------------------------------------------------- teardown */

void iscsi_server_free_all(struct iscsi_server *srv)
{
	struct iscsi_lu_ent *e;

	if (srv->reconf) {
		/* Devices still opening off the reactor: their answers never
		 * run (the reactors have stopped), the environment closes
		 * what they opened. */
		reconf_free(srv->reconf);
		srv->reconf = NULL;
	}
	env_timer_free(srv->env, srv->reconf_timer);
	srv->reconf_timer = NULL;
	iscsi_retired_run(srv, UINT64_MAX);
	ut_assert(srv->retired == NULL); /* every retired object freed */
	ut_assert(srv->tgt_count <= UT_MAX_TARGETS);
	for (size_t i = 0; srv->tgts && i < srv->tgt_count; i++) {
		iscsi_tgt_conf_free(srv->tgts[i]->conf);
		free(srv->tgts[i]);
	}
	free(srv->tgts);
	srv->tgts = NULL;
	for (size_t i = 0; srv->lus && i < srv->lu_count; i++)
		iscsi_lu_ent_free(srv->lus[i]);
	free(srv->lus);
	srv->lus = NULL;
	while ((e = TAILQ_FIRST(&srv->going))) {
		TAILQ_REMOVE(&srv->going, e, going_link);
		iscsi_lu_ent_free(e);
	}
	iscsi_tports_free(srv); /* after the LUs, which leave their groups */
}
