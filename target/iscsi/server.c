/*
 * server.c — targets, logical units and portals of one utarget instance,
 * and discovery (SendTargets, RFC 7143 §12.6 / Appendix C).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"

static int srv_copy_portals(struct iscsi_server *srv,
			    const struct ut_config *cfg)
{
	size_t n = cfg->portal_count ? cfg->portal_count : 1;

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
	return 0;
}

/* The credentials of one target (or of discovery), deep-copied so that
 * the configuration may be freed; wiped again in auth_free(). */
int iscsi_auth_copy(struct iscsi_auth_cfg *a, const struct ut_user_cfg *in,
		    size_t in_count, const struct ut_user_cfg *out)
{
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
	return srv;
}

int iscsi_server_start(struct iscsi_server *srv)
{
	struct env *env = srv->env;
	int rc = iscsi_server_open_all(srv);

	if (rc)
		return rc;
	srv->listeners = calloc(srv->portal_count, sizeof(*srv->listeners));
	if (!srv->listeners)
		return -ENOMEM;
	for (size_t i = 0; i < srv->portal_count; i++) {
		rc = env->ops->listen(env, srv->portals[i],
				      srv->portal_tpgts[i], iscsi_conn_accept,
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

/* Ask a full-feature initiator to log out (RFC 7143 §11.9.1, event 1)
 * within grace_ms; close a connection still in login. */
static void conn_request_logout(struct iscsi_conn *c, uint32_t grace_ms)
{
	struct iscsi_txpdu *p;
	struct iscsi_bhs h = {0};

	if (c->state != CONN_FFP || !c->sess) {
		iscsi_conn_close(c, "shutdown");
		return;
	}
	p = iscsi_txpdu_new(c, ISCSI_OP_ASYNC_MSG);
	if (!p)
		return;
	h.opcode = ISCSI_OP_ASYNC_MSG;
	h.flags = ISCSI_FLAG_FINAL;
	h.lun = 0;
	h.itt = ISCSI_RESERVED_TAG;
	h.w24 = c->stat_sn++;
	iscsi_sess_fill_sn(c->sess, &h);
	/* byte 36 AsyncEvent, 37 AsyncVCode, 38-39 Parameter1,
	 * 40-41 Parameter2, 42-43 Parameter3.  RFC 7143 §11.9.1:
	 * for event 1 Parameter3 is the time, in seconds, within
	 * which the initiator should log out; 1 and 2 are reserved. */
	h.w36 = (uint32_t)ISCSI_ASYNC_LOGOUT_REQUEST << 24;
	h.w40 = (grace_ms / 1000 ? grace_ms / 1000 : 1) & 0xffffu;
	iscsi_conn_queue(c, p, &h);
	iscsi_conn_kick(c);
}

/* ------------------------------------------- work across reactors */

/* Work for a connection or session of another reactor, found again by
 * its id on arrival (it may be gone by then). */
struct srv_xwork {
	struct iscsi_server *srv;
	struct env *to; /* the reactor it runs on */
	enum iscsi_xop op;
	uint32_t conn_id;
	uint16_t tsih;
	uint32_t arg;
	const void *ptr;
	const char *why;
};

static struct iscsi_conn *srv_find_conn(struct iscsi_server *srv,
					struct env *here, uint32_t id)
{
	struct iscsi_conn *c;

	env_mutex_lock(srv->env, srv->lock);
	TAILQ_FOREACH (c, &srv->conns, link)
		if (c->id == id)
			break;
	env_mutex_unlock(srv->env, srv->lock);
	/* Only its own reactor frees a connection: safe to use from here. */
	return c && c->env == here ? c : NULL;
}

static struct iscsi_sess *srv_find_sess(struct iscsi_server *srv,
					struct env *here, uint16_t tsih)
{
	struct iscsi_sess *s;

	env_mutex_lock(srv->env, srv->lock);
	TAILQ_FOREACH (s, &srv->sessions, link)
		if (s->tsih == tsih)
			break;
	env_mutex_unlock(srv->env, srv->lock);
	return s && s->env == here ? s : NULL;
}

static void srv_xwork_do(struct iscsi_server *srv, struct env *here,
			 const struct srv_xwork *w)
{
	struct iscsi_conn *c;
	struct iscsi_sess *s;

	switch (w->op) {
	case ISCSI_XOP_CLOSE:
		c = srv_find_conn(srv, here, w->conn_id);
		if (c)
			iscsi_conn_close(c, w->why);
		break;
	case ISCSI_XOP_LOGOUT_REQUEST:
		c = srv_find_conn(srv, here, w->conn_id);
		if (c)
			conn_request_logout(c, w->arg);
		break;
	case ISCSI_XOP_ABORT_WAITING:
		s = srv_find_sess(srv, here, w->tsih);
		if (s)
			iscsi_sess_abort_waiting(s, w->ptr);
		break;
	case ISCSI_XOP_RESYNC_LUNS:
		s = srv_find_sess(srv, here, w->tsih);
		if (s && !s->closing)
			iscsi_sess_resync_luns(s);
		break;
	}
}

static void srv_xwork_run(void *arg)
{
	struct srv_xwork *w = arg;

	srv_xwork_do(w->srv, w->to, w);
	free(w);
}

/* Do w on the reactor `to`: now when that is `here`, else posted. */
static void srv_xwork_send(struct iscsi_server *srv, struct env *here,
			   struct env *to, const struct srv_xwork *w)
{
	struct srv_xwork *copy;

	if (to == here) {
		srv_xwork_do(srv, here, w);
		return;
	}
	copy = malloc(sizeof(*copy));
	if (copy) {
		*copy = *w;
		copy->to = to;
		if (env_post(to, srv_xwork_run, copy) == 0)
			return;
		free(copy);
	}
	LOG_ERR(here, "cannot reach another reactor: %s connection %u",
		w->why ? w->why : "", w->conn_id);
}

void iscsi_server_conn_op(struct iscsi_server *srv, struct env *here,
			  struct env *to, uint32_t conn_id, enum iscsi_xop op,
			  const char *why)
{
	struct srv_xwork w = {
		.srv = srv, .op = op, .conn_id = conn_id, .why = why};

	srv_xwork_send(srv, here, to, &w);
}

struct srv_ref {
	uint32_t conn_id;
	uint16_t tsih;
	struct env *env;
};

void iscsi_server_each_conn(struct iscsi_server *srv, struct env *here,
			    enum iscsi_xop op, uint32_t arg, const char *why)
{
	struct srv_xwork w = {.srv = srv, .op = op, .arg = arg, .why = why};
	struct srv_ref *refs;
	struct iscsi_conn *c;
	size_t n = 0;

	/* Snapshot first: acting may close connections (and take the lock). */
	env_mutex_lock(srv->env, srv->lock);
	refs = calloc(srv->conn_count + 1, sizeof(*refs));
	TAILQ_FOREACH (c, &srv->conns, link) {
		if (!refs)
			break;
		refs[n].conn_id = c->id;
		refs[n].env = c->env;
		n++;
	}
	env_mutex_unlock(srv->env, srv->lock);
	if (!refs) {
		LOG_ERR(here, "out of memory: cannot reach the connections");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		w.conn_id = refs[i].conn_id;
		srv_xwork_send(srv, here, refs[i].env, &w);
	}
	free(refs);
}

void iscsi_server_each_sess(struct iscsi_server *srv, struct env *here,
			    const struct iscsi_sess *except,
			    const struct iscsi_tgt *tgt, enum iscsi_xop op,
			    const void *ptr, const char *why)
{
	struct srv_xwork w = {.srv = srv, .op = op, .ptr = ptr, .why = why};
	struct srv_ref *refs;
	struct iscsi_sess *s;
	size_t n = 0;

	env_mutex_lock(srv->env, srv->lock);
	refs = calloc(srv->sess_count + 1, sizeof(*refs));
	TAILQ_FOREACH (s, &srv->sessions, link) {
		if (!refs)
			break;
		if (s == except || s->discovery || (tgt && s->tgt != tgt))
			continue;
		refs[n].tsih = s->tsih;
		refs[n].conn_id = s->conn_id;
		refs[n].env = s->env;
		n++;
	}
	env_mutex_unlock(srv->env, srv->lock);
	if (!refs) {
		LOG_ERR(here, "out of memory: cannot reach the sessions");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		w.tsih = refs[i].tsih;
		w.conn_id = refs[i].conn_id;
		srv_xwork_send(srv, here, refs[i].env, &w);
	}
	free(refs);
}

void iscsi_server_each_sess_arg(struct iscsi_server *srv, struct env *here,
				const struct iscsi_tgt *tgt, enum iscsi_xop op,
				uint32_t arg, const char *why)
{
	struct srv_xwork w = {.srv = srv, .op = op, .arg = arg, .why = why};
	struct srv_ref *refs;
	struct iscsi_sess *s;
	size_t n = 0;

	env_mutex_lock(srv->env, srv->lock);
	refs = calloc(srv->sess_count + 1, sizeof(*refs));
	TAILQ_FOREACH (s, &srv->sessions, link) {
		if (!refs)
			break;
		if (s->discovery || (tgt && s->tgt != tgt))
			continue;
		refs[n].conn_id = s->conn_id;
		refs[n].env = s->env;
		n++;
	}
	env_mutex_unlock(srv->env, srv->lock);
	if (!refs) {
		LOG_ERR(here, "out of memory: cannot reach the sessions");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		w.conn_id = refs[i].conn_id;
		srv_xwork_send(srv, here, refs[i].env, &w);
	}
	free(refs);
}

struct iscsi_reactor *iscsi_server_reactor(struct iscsi_server *srv,
					   struct env *env)
{
	struct iscsi_reactor *r = NULL;

	env_mutex_lock(srv->env, srv->lock);
	for (unsigned int i = 0; i < srv->reactor_count; i++)
		if (srv->reactors[i]->env == env)
			r = srv->reactors[i];
	if (!r && srv->reactor_count < ISCSI_MAX_REACTORS) {
		r = calloc(1, sizeof(*r));
		if (r) {
			r->env = env;
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

	env_mutex_lock(env, srv->lock);
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
		s->r->stats.tasks--;
		free(t->cmd.buf);
		free(t);
	}
	iscsi_sess_free(s);
}

void iscsi_server_free(struct iscsi_server *srv)
{
	struct env *env = srv->env;
	struct iscsi_conn *c;
	struct iscsi_sess *s;

	if (!srv)
		return;
	for (size_t i = 0; i < srv->listener_count; i++)
		env->ops->listener_close(srv->listeners[i]);
	srv->shutdown_done = NULL;
	while ((c = TAILQ_FIRST(&srv->conns)))
		iscsi_conn_close(c, "server stopped");
	while ((s = TAILQ_FIRST(&srv->sessions)))
		srv_force_free_session(s);
	iscsi_server_free_all(srv);
	env_timer_free(env, srv->shutdown_timer);
	for (unsigned int i = 0; i < srv->reactor_count; i++) {
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

	env_mutex_lock(srv->env, srv->lock);
	*out = srv->stats;
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
		out->rejects_tx += r->rejects_tx;
		out->conns_dropped += r->conns_dropped;
		out->scsi_cmds += r->scsi_cmds;
		out->rsp_timeouts += r->rsp_timeouts;
		out->rsp_timeouts_stuck += r->rsp_timeouts_stuck;
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

uint16_t iscsi_server_new_tsih(struct iscsi_server *srv)
{
	for (;;) {
		uint16_t tsih = srv->next_tsih++;
		struct iscsi_sess *s;
		bool used = false;

		if (tsih == 0)
			continue; /* 0 means "new session" */
		TAILQ_FOREACH (s, &srv->sessions, link)
			used |= s->tsih == tsih;
		if (!used)
			return tsih;
	}
}

struct iscsi_sess *iscsi_server_find_session(struct iscsi_server *srv,
					     const char *initiator,
					     const uint8_t isid[6],
					     const struct iscsi_tgt *tgt,
					     uint16_t tpgt, uint16_t tsih)
{
	struct iscsi_sess *s;

	TAILQ_FOREACH (s, &srv->sessions, link) {
		if (s->closing || s->discovery || s->tgt != tgt ||
		    s->info.portal_group != tpgt)
			continue;
		if (memcmp(s->isid, isid, 6) != 0 ||
		    strcmp(s->initiator_name, initiator) != 0)
			continue;
		if (tsih && s->tsih != tsih)
			continue;
		return s;
	}
	return NULL;
}

/* ----------------------------------------------------------- discovery */

/* "host:port" of a portal as initiators should dial it: a wildcard
 * listen address is replaced by the address the initiator reached. */
static void portal_address(const char *portal, const struct iscsi_conn *c,
			   char *out, size_t cap)
{
	char host[128];
	uint16_t port = UT_DEFAULT_PORT;

	if (ut_portal_parse(portal, host, sizeof(host), &port) != 0) {
		snprintf(out, cap, "%s", portal);
		return;
	}
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
		snprintf(out, cap, "%s", c->info.local_addr);
		return;
	}
	if (strchr(host, ':'))
		snprintf(out, cap, "[%s]:%u", host, port);
	else
		snprintf(out, cap, "%s:%u", host, port);
}

/* 0, or -ENOMEM. */
static int sendtargets_one(struct iscsi_server *srv, struct iscsi_conn *c,
			   const struct iscsi_tgt *t, struct iscsi_kvlist *out)
{
	const struct iscsi_tgt_conf *conf = iscsi_tgt_conf(t);

	if (iscsi_kv_add(out, "TargetName", t->name))
		return -ENOMEM;
	for (size_t i = 0; i < srv->portal_count; i++) {
		char addr[160];

		portal_address(srv->portals[i], c, addr, sizeof(addr));
		/* Only the portals a login may use (allowed_portal). */
		if (!iscsi_acl_portal_allowed(&conf->acl, addr))
			continue;
		if (iscsi_kv_addf(out, "TargetAddress", "%s,%u", addr,
				  srv->portal_tpgts[i]))
			return -ENOMEM;
	}
	return 0;
}

/* A target is shown to an initiator only if it may log in to it from
 * where it is connected (acl.h); as SCST's iscsi-scstd does. */
static bool sendtargets_visible(const struct iscsi_tgt *t,
				const struct iscsi_conn *c)
{
	const struct iscsi_tgt_conf *conf = iscsi_tgt_conf(t);

	return !__atomic_load_n(&t->removed, __ATOMIC_ACQUIRE) &&
	       conf->enabled &&
	       iscsi_acl_may_login(conf, c->sess->initiator_name,
				   c->info.local_addr);
}

/* RFC 7143 Appendix C: SendTargets=All lists every target (discovery
 * sessions); an empty value names the session's own target, and so does
 * All in a normal session, which "MUST NOT be supported on an operational
 * session" (it would show the session other targets); a name asks for
 * that one target. */
int iscsi_sendtargets(struct iscsi_server *srv, struct iscsi_conn *c,
		      const char *what, struct iscsi_kvlist *out)
{
	struct iscsi_sess *s = c->sess;
	size_t n = __atomic_load_n(&srv->tgt_count, __ATOMIC_ACQUIRE);

	if (strcmp(what, "All") == 0 && s->discovery) {
		for (size_t i = 0; i < n; i++)
			if (sendtargets_visible(srv->tgts[i], c) &&
			    sendtargets_one(srv, c, srv->tgts[i], out))
				return -ENOMEM;
		return 0;
	}
	if (what[0] == '\0' || strcmp(what, "All") == 0)
		return s->tgt ? sendtargets_one(srv, c, s->tgt, out) : 0;
	for (size_t i = 0; i < n; i++) {
		if (!sendtargets_visible(srv->tgts[i], c) ||
		    strcmp(srv->tgts[i]->name, what))
			continue;
		if ((s->discovery || s->tgt == srv->tgts[i]) &&
		    sendtargets_one(srv, c, srv->tgts[i], out))
			return -ENOMEM;
	}
	return 0;
}
