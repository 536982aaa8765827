/*
 * server.c — targets, logical units and portals of one utarget instance,
 * and discovery (SendTargets, RFC 7143 §12.6 / Appendix C).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

static int srv_copy_portals(struct iscsi_server *srv,
			    const struct ut_config *cfg)
{
	size_t n = cfg->portal_count ? cfg->portal_count : 1;

	ut_assert(srv->portals == NULL); /* copied once, at server new */
	ut_assert(srv->portal_count == 0);
	srv->portals = calloc(n, sizeof(char *));
	srv->portal_tpgts = calloc(n, sizeof(*srv->portal_tpgts));
	if (!srv->portals || !srv->portal_tpgts)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		srv->portals[i] = strdup(cfg->portal_count ? cfg->portals[i]
							   : UT_DEFAULT_PORTAL);
		if (!srv->portals[i])
			return -ENOMEM;
		srv->portal_tpgts[i] = ut_config_portal_tpgt(cfg, i);
		srv->portal_count++;
	}
	ut_assert(srv->portal_count == n);
	return 0;
}

/* The credentials of one target (or of discovery), deep-copied so that
 * the configuration may be freed; wiped again in auth_free(). */
int iscsi_auth_copy(struct iscsi_auth_cfg *a, const struct ut_user_cfg *in,
		    size_t in_count, const struct ut_user_cfg *out)
{
	ut_assert(in_count == 0 || in != NULL);
	ut_assert(out != NULL);
	memset(a, 0, sizeof(*a));
	a->incoming = calloc(in_count ? in_count : 1, sizeof(*a->incoming));
	if (!a->incoming)
		return -ENOMEM;
	if (in_count)
		memcpy(a->incoming, in, in_count * sizeof(*in));
	a->incoming_count = in_count;
	a->outgoing = *out;
	return 0;
}

void iscsi_auth_free(struct iscsi_auth_cfg *a)
{
	if (a->incoming)
		explicit_bzero(a->incoming,
			       a->incoming_count * sizeof(*a->incoming));
	free(a->incoming);
	explicit_bzero(a, sizeof(*a));
}

/* RFC 7143 §12.1.3: secrets of at least 96 bits, and never the same
 * secret for both directions.  Advice, not errors: logged by name only. */
void iscsi_auth_warn(struct env *env, const char *who,
		     const struct iscsi_auth_cfg *a)
{
	/* a deep copy (iscsi_auth_copy()), whatever the count */
	ut_assert(a->incoming != NULL);
	ut_assert(who != NULL);
	for (size_t i = 0; i < a->incoming_count; i++) {
		if (strlen(a->incoming[i].secret) < 12)
			LOG_WARN(env,
				 "%s: IncomingUser %s has a secret shorter "
				 "than 12 bytes (RFC 7143 12.1.3)",
				 who, a->incoming[i].name);
		if (a->outgoing.name[0] &&
		    strcmp(a->incoming[i].secret, a->outgoing.secret) == 0)
			LOG_WARN(env,
				 "%s: IncomingUser %s and OutgoingUser %s "
				 "share a secret; mutual CHAP needs two "
				 "(RFC 7143 12.1.3)",
				 who, a->incoming[i].name, a->outgoing.name);
	}
	if (a->outgoing.name[0] && strlen(a->outgoing.secret) < 12)
		LOG_WARN(env,
			 "%s: OutgoingUser %s has a secret shorter than "
			 "12 bytes (RFC 7143 12.1.3)",
			 who, a->outgoing.name);
	if (a->outgoing.name[0] && a->incoming_count == 0)
		LOG_WARN(env,
			 "%s: OutgoingUser without IncomingUser is "
			 "never used (mutual CHAP follows one-way CHAP)",
			 who);
}

struct iscsi_server *iscsi_server_new(struct env *env,
				      const struct ut_config *cfg, int *err)
{
	struct iscsi_server *srv = calloc(1, sizeof(*srv));
	int rc = -ENOMEM;

	if (!srv) {
		*err = -ENOMEM;
		return NULL;
	}
	srv->env = env;
	srv->ops = &iscsi_server_ops;
	srv->lock = env_mutex_new(env);
	srv->cfg_params = cfg->params;
	srv->next_tsih = (uint16_t)(env_random_u64(env) | 1);
	srv->start_ns = env_now_ns(env);
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->sessions);
	TAILQ_INIT(&srv->going);
	srv->tgts = calloc(UT_MAX_TARGETS, sizeof(*srv->tgts));
	srv->lus = calloc(UT_MAX_DEVS, sizeof(*srv->lus));
	if (srv->tgts && srv->lus && ut_config_copy(&srv->cfg, cfg) == 0)
		rc = srv_copy_portals(srv, cfg);
	if (!rc)
		rc = iscsi_auth_copy(&srv->discovery_auth,
				     cfg->discovery_incoming,
				     cfg->discovery_incoming_count,
				     &cfg->discovery_outgoing);
	if (!rc)
		iscsi_auth_warn(env, "discovery", &srv->discovery_auth);
	if (rc) {
		iscsi_server_free(srv);
		*err = rc;
		return NULL;
	}
	/* TSIH 0 means "new session": the counter starts odd, never 0 */
	ut_assert(srv->next_tsih != 0);
	ut_assert(srv->portal_count >= 1);
	return srv;
}

int iscsi_server_start(struct iscsi_server *srv)
{
	struct env *env = srv->env;
	int rc;

	ut_assert(srv->listeners == NULL); /* started once */
	ut_assert(srv->portal_count >= 1);
	rc = iscsi_server_open_all(srv);
	if (rc)
		return rc;
	srv->listeners = calloc(srv->portal_count, sizeof(*srv->listeners));
	if (!srv->listeners)
		return -ENOMEM;
	for (size_t i = 0; i < srv->portal_count; i++) {
		rc = env->ops->listen(env, srv->portals[i],
				      srv->portal_tpgts[i], iscsi_server_accept,
				      srv, &srv->listeners[i]);
		if (rc) {
			LOG_ERR(env, "cannot listen on %s: %s", srv->portals[i],
				strerror(-rc));
			for (size_t j = 0; j < i; j++)
				env->ops->listener_close(srv->listeners[j]);
			srv->listener_count = 0;
			return rc;
		}
		srv->listener_count = i + 1;
	}
	return 0;
}

static void srv_shutdown_timeout(void *arg)
{
	struct iscsi_server *srv = arg;

	iscsi_server_each_conn(srv, srv->env, ISCSI_XOP_CLOSE, 0, "shutdown");
}

void iscsi_server_conn_gone(struct iscsi_server *srv)
{
	void (*done)(void *) = NULL;

	env_mutex_lock(srv->env, srv->lock);
	if (srv->shutting_down && srv->conn_count == 0 && srv->shutdown_done) {
		done = srv->shutdown_done;
		srv->shutdown_done = NULL;
	}
	env_mutex_unlock(srv->env, srv->lock);
	if (done)
		done(srv->shutdown_arg);
}

struct iscsi_reactor *iscsi_server_reactor(struct iscsi_server *srv,
					   struct env *env)
{
	struct iscsi_reactor *r = NULL;

	ut_assert(env != NULL);
	env_mutex_lock(srv->env, srv->lock);
	ut_assert(srv->reactor_count <= ISCSI_MAX_REACTORS);
	for (unsigned int i = 0; i < srv->reactor_count; i++)
		if (srv->reactors[i]->env == env)
			r = srv->reactors[i];
	if (!r && srv->reactor_count < ISCSI_MAX_REACTORS) {
		r = calloc(1, sizeof(*r));
		if (r) {
			r->env = env;
			r->task_pool.obj_size = sizeof(struct iscsi_task);
			r->pdu_pool.obj_size = sizeof(struct iscsi_txpdu);
			srv->reactors[srv->reactor_count++] = r;
		}
	}
	env_mutex_unlock(srv->env, srv->lock);
	return r;
}

void iscsi_server_shutdown(struct iscsi_server *srv, uint32_t grace_ms,
			   void (*done)(void *arg), void *arg)
{
	struct env *env = srv->env;
	uint32_t conns;

	ut_assert(done != NULL);
	env_mutex_lock(env, srv->lock);
	ut_assert(!srv->shutting_down); /* shut down once */
	srv->shutting_down = true;
	srv->shutdown_done = done;
	srv->shutdown_arg = arg;
	conns = srv->conn_count;
	env_mutex_unlock(env, srv->lock);
	for (size_t i = 0; i < srv->listener_count; i++)
		env->ops->listener_close(srv->listeners[i]);
	srv->listener_count = 0;
	if (conns && grace_ms) {
		srv->shutdown_timer =
			env_timer_new(env, srv_shutdown_timeout, srv);
		if (srv->shutdown_timer)
			env_timer_arm(env, srv->shutdown_timer,
				      env_now_ns(env) +
					      (uint64_t)grace_ms * 1000000ull);
		iscsi_server_each_conn(srv, env, ISCSI_XOP_LOGOUT_REQUEST,
				       grace_ms, "shutdown");
	} else {
		srv_shutdown_timeout(srv);
	}
	iscsi_server_conn_gone(srv);
}

/* Drop a session whose tasks are still inside the SCSI layer: only at
 * iscsi_server_free(), when the environment delivers nothing more. */
static void srv_force_free_session(struct iscsi_sess *s)
{
	struct iscsi_task *t;

	s->in_teardown = true;
	if (s->scsi)
		scsi_sess_abandon(s->scsi);
	while ((t = TAILQ_FIRST(&s->tasks))) {
		TAILQ_REMOVE(&s->tasks, t, link);
		LIST_REMOVE(t, itt_link);
		ut_assert(s->r->stats.tasks > 0);
		s->r->stats.tasks--;
		if (t->buf_is_budgeted) {
			ut_assert(s->buf_bytes >= t->cmd.buf_cap);
			s->buf_bytes -= t->cmd.buf_cap;
			__atomic_sub_fetch(&s->srv->buffer_bytes,
					   t->cmd.buf_cap, __ATOMIC_RELAXED);
		}
		if (t->cmd.buf)
			pool_buf_forget(&s->r->bufs, t->buf_pool_cap);
		pool_obj_forget(&s->r->task_pool);
		/* a RspTimeout judging it (owed.c stuck_timer) ends with it:
		 * the timer must not outlive the task (explore seed
		 * 216586175525: left armed, a timer leaked at shutdown) */
		iscsi_task_stuck_judged(t);
		free(t->cmd.buf);
		bs_ref_release(t->cmd.data_in_ref);
		free(t);
	}
	ut_assert(TAILQ_EMPTY(&s->tasks));
	iscsi_sess_free(s);
}

unsigned int iscsi_server_take_back_io(struct iscsi_server *srv,
				       uint64_t deadline_ns)
{
	struct iscsi_conn *c;
	struct iscsi_lu_ent *e;
	unsigned int held = 0;

	/* Closing a connection ends its waiting tasks, which may let held
	 * commands of the LU run (and submit): that comes first. */
	while ((c = TAILQ_FIRST(&srv->conns)))
		iscsi_conn_close(c, "server stopped");
	for (size_t i = 0; srv->lus && i < srv->lu_count; i++)
		if (srv->lus[i])
			held += bs_abandon(srv->lus[i]->bs, deadline_ns);
	TAILQ_FOREACH (e, &srv->going, going_link)
		held += bs_abandon(e->bs, deadline_ns);
	return held;
}

void iscsi_server_free(struct iscsi_server *srv)
{
	struct env *env;
	struct iscsi_sess *s;
	unsigned int held;

	if (!srv)
		return;
	env = srv->env;
	for (size_t i = 0; i < srv->listener_count; i++)
		env->ops->listener_close(srv->listeners[i]);
	srv->shutdown_done = NULL;
	/* The tasks freed below hold the bs_req and the buffers of the
	 * commands still at a store: every store gives them back first and
	 * never touches them again (backstore.h, abandon).  One that could
	 * not (a stuck file system) makes freeing unsafe; the daemon waited
	 * for it and keeps the server instead (main.c). */
	held = iscsi_server_take_back_io(srv, 0);
	ut_assert(held == 0);
	while ((s = TAILQ_FIRST(&srv->sessions)))
		srv_force_free_session(s);
	iscsi_server_free_all(srv);
	env_timer_free(env, srv->shutdown_timer);
	ut_assert(TAILQ_EMPTY(&srv->conns));
	ut_assert(TAILQ_EMPTY(&srv->sessions));
	/* the shared buffer budget got back every byte reserved */
	ut_assert(__atomic_load_n(&srv->buffer_bytes, __ATOMIC_RELAXED) == 0);
	for (unsigned int i = 0; i < srv->reactor_count; i++) {
		struct iscsi_reactor *r = srv->reactors[i];

		/* Every task, PDU and buffer handed out came back (pool.h:
		 * each get paired with a put). */
		ut_assert(r->stats.tasks == 0);
		ut_assert(r->task_pool.out == 0);
		ut_assert(r->pdu_pool.out == 0);
		ut_assert(r->bufs.out_bytes == 0);
		iscsi_pools_drain(srv->reactors[i]);
		free(srv->reactors[i]);
	}
	env_mutex_free(env, srv->lock);
	for (size_t i = 0; i < srv->portal_count; i++)
		free(srv->portals[i]);
	free(srv->portals);
	free(srv->portal_tpgts);
	free(srv->listeners);
	iscsi_auth_free(&srv->discovery_auth);
	ut_config_free(&srv->cfg);
	free(srv);
}

void iscsi_server_get_stats(const struct iscsi_server *srv,
			    struct iscsi_server_stats *out)
{
	uint64_t now = env_now_ns(srv->env), oldest = UINT64_MAX;
	const struct iscsi_sess *s;

	ut_assert(out != NULL);
	env_mutex_lock(srv->env, srv->lock);
	*out = srv->stats;
	/* the published counts are the lists' */
	ut_assert(out->connections == srv->conn_count);
	ut_assert(out->sessions == srv->sess_count);
	/* Each session publishes what it owes (session.c); a session stays
	 * in the list, under the lock, until it is freed. */
	TAILQ_FOREACH (s, &srv->sessions, link) {
		uint32_t n = __atomic_load_n(&s->owed, __ATOMIC_RELAXED);
		uint64_t since =
			__atomic_load_n(&s->owed_since_ns, __ATOMIC_RELAXED);

		out->owed += n;
		if (n && since < oldest)
			oldest = since;
	}
	out->owed_oldest_age_ns =
		oldest != UINT64_MAX && now > oldest ? now - oldest : 0;
	out->buffer_bytes =
		__atomic_load_n(&srv->buffer_bytes, __ATOMIC_RELAXED);
	/* Other reactors' counters are read while they count: a figure
	 * may be one behind, never torn on the 64-bit machines we run on. */
	for (unsigned int i = 0; i < srv->reactor_count; i++) {
		const struct iscsi_server_stats *r = &srv->reactors[i]->stats;

		out->tasks += r->tasks;
		out->pdus_rx += r->pdus_rx;
		out->pdus_tx += r->pdus_tx;
		out->recv_calls += r->recv_calls;
		out->send_calls += r->send_calls;
		out->file_sends += r->file_sends;
		out->rejects_tx += r->rejects_tx;
		out->conns_dropped += r->conns_dropped;
		out->scsi_cmds += r->scsi_cmds;
		out->rsp_timeouts += r->rsp_timeouts;
		out->rsp_timeouts_stuck += r->rsp_timeouts_stuck;
		out->rsp_timeouts_judging += r->rsp_timeouts_judging;
	}
	env_mutex_unlock(srv->env, srv->lock);
}

struct iscsi_tgt *iscsi_server_find_target(struct iscsi_server *srv,
					   const char *name)
{
	size_t n = __atomic_load_n(&srv->tgt_count, __ATOMIC_ACQUIRE);

	for (size_t i = 0; i < n; i++) {
		struct iscsi_tgt *t = srv->tgts[i];

		if (!__atomic_load_n(&t->removed, __ATOMIC_ACQUIRE) &&
		    strcmp(t->name, name) == 0)
			return t;
	}
	return NULL;
}
