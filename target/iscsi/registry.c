/*
 * registry.c — the server's lists of connections and sessions, and what
 * the layers below ask of the server (struct iscsi_server_ops): a
 * connection accepted and listed, then handed to its login; a session
 * given its TSIH, its I_T nexus on its target port and its LUNs; lookups
 * for reinstatement; and work on connections and sessions of other
 * reactors, done at once on ours and posted to theirs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

/* Is c on the server's list?  Is s?  (Walks, under the lock.) */
static bool srv_conn_listed(const struct iscsi_server *srv,
			    const struct iscsi_conn *c)
{
	const struct iscsi_conn *x;

	TAILQ_FOREACH (x, &srv->conns, link)
		if (x == c)
			return true;
	return false;
}

static bool srv_sess_listed(const struct iscsi_server *srv,
			    const struct iscsi_sess *s)
{
	const struct iscsi_sess *x;

	TAILQ_FOREACH (x, &srv->sessions, link)
		if (x == s)
			return true;
	return false;
}

/* Ask a full-feature initiator to log out (RFC 7143 §11.9.1, event 1)
 * within grace_ms; close a connection still in login. */
/* ------------------------------------------------------- connections */

/* The connection leaves the list before it is freed; a shutdown waiting
 * for the last one may end. */
static void srv_conn_closed(struct iscsi_conn *c)
{
	struct iscsi_server *srv = c->srv;

	env_mutex_lock(srv->env, srv->lock);
	ut_assert(srv->conn_count > 0);
	ut_assert_slow(srv_conn_listed(srv, c));
	TAILQ_REMOVE(&srv->conns, c, link);
	srv->conn_count--;
	srv->stats.connections = srv->conn_count;
	env_mutex_unlock(srv->env, srv->lock);
	iscsi_server_conn_gone(srv);
}

void iscsi_server_accept(void *arg, struct env_conn *ec,
			 const struct env_conn_info *info)
{
	struct iscsi_server *srv = arg;
	/* We run on the connection's reactor: everything of it lives here. */
	struct env *env = info->env ? info->env : srv->env;
	struct iscsi_reactor *r = iscsi_server_reactor(srv, env);
	const char *refuse = NULL;
	struct iscsi_conn *c;

	if (!r) {
		env->ops->conn_close(ec);
		return;
	}
	c = iscsi_conn_new(env, r, ec, info, 0, &iscsi_login_phase,
			   srv_conn_closed);
	if (!c)
		return;
	c->srv = srv;
	env_mutex_lock(srv->env, srv->lock);
	if (srv->shutting_down)
		refuse = "shutting down";
	else if (srv->conn_count >= ISCSI_MAX_CONNECTIONS)
		refuse = "too many connections";
	if (!refuse) {
		c->id = ++srv->next_conn_id; /* per server: runs reproduce */
		TAILQ_INSERT_TAIL(&srv->conns, c, link);
		srv->conn_count++;
		ut_assert(srv->conn_count <= ISCSI_MAX_CONNECTIONS);
		srv->stats.connections = srv->conn_count;
	}
	env_mutex_unlock(srv->env, srv->lock);
	if (refuse) {
		LOG_WARN(env, "event=conn-refused peer=%s reason=\"%s\"",
			 info->peer_addr, refuse);
		free(c);
		env->ops->conn_close(ec);
		return;
	}
	ut_assert(c->state == CONN_LOGIN);
	if (iscsi_login_start(c) != 0) {
		iscsi_conn_close(c, "out of memory: no login state");
		return;
	}
	iscsi_conn_start(c);
}

static void conn_request_logout(struct iscsi_conn *c, uint32_t grace_ms)
{
	struct iscsi_txpdu *p;
	struct iscsi_bhs h = {0};

	ut_assert(!c->closing); /* a listed connection is open */
	ut_assert(c->state != CONN_CLOSED);
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
	h.stat_sn = c->stat_sn++;
	iscsi_sess_fill_sn(c->sess, &h);
	/* byte 36 AsyncEvent, 37 AsyncVCode, 38-39 Parameter1,
	 * 40-41 Parameter2, 42-43 Parameter3.  RFC 7143 §11.9.1:
	 * for event 1 Parameter3 is the time, in seconds, within
	 * which the initiator should log out; 1 and 2 are reserved. */
	iscsi_bhs_set_async(&h, ISCSI_ASYNC_LOGOUT_REQUEST, 0, 0,
			    (uint16_t)(grace_ms / 1000 ? grace_ms / 1000 : 1));
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
	/* A TMF waits for it (ISCSI_XOP_ABORT_WAITING): once done, the
	 * work goes back to `home` and releases the TMF there. */
	struct scsi_tmf_hook hook;
	struct env *home;
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

	/* run on the reactor it was meant for, of this server */
	ut_assert(w->srv == srv);
	ut_assert(here != NULL);
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
	case ISCSI_XOP_LOGIN_RESUME:
		c = srv_find_conn(srv, here, w->conn_id);
		if (c)
			iscsi_login_resume(c);
		break;
	}
}

/* Back on the TMF's reactor: the work it waited for is done. */
static void srv_xwork_release(void *arg)
{
	struct srv_xwork *w = arg;

	ut_assert(w->hook.release != NULL);
	w->hook.release(w->hook.arg);
	free(w);
}

static void srv_xwork_run(void *arg)
{
	struct srv_xwork *w = arg;

	srv_xwork_do(w->srv, w->to, w);
	if (w->hook.release) {
		/* the TMF that waits for it is on another reactor (else the
		 * work was done at once, srv_xwork_send) */
		ut_assert(w->home != NULL && w->home != w->to);
		if (env_post(w->home, srv_xwork_release, w) == 0)
			return;
		LOG_ERR(w->to, "cannot reach another reactor: a reset "
			       "answers from the wrong one");
		w->hook.release(w->hook.arg);
	}
	free(w);
}

/* Do w on the reactor `to`: now when that is `here`, else posted. */
static void srv_xwork_send(struct iscsi_server *srv, struct env *here,
			   struct env *to, const struct srv_xwork *w)
{
	struct srv_xwork *copy;

	ut_assert(to != NULL);
	ut_assert(w->srv == srv);
	/* only ABORT_WAITING is waited for */
	ut_assert(!w->hook.release || w->op == ISCSI_XOP_ABORT_WAITING);
	if (to == here) {
		srv_xwork_do(srv, here, w);
		return;
	}
	copy = malloc(sizeof(*copy));
	if (copy) {
		*copy = *w;
		copy->to = to;
		copy->home = here;
		/* before the post: the release cannot come before the hold */
		if (copy->hook.hold)
			copy->hook.hold(copy->hook.arg);
		if (env_post(to, srv_xwork_run, copy) == 0)
			return;
		if (copy->hook.release)
			copy->hook.release(copy->hook.arg);
		free(copy);
	}
	LOG_ERR(here, "cannot reach another reactor: %s connection %u",
		w->why ? w->why : "", w->conn_id);
	/* what was to be waited for is not: no answer before it ends */
	if (w->hook.lost)
		w->hook.lost(w->hook.arg);
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
	/* the counter is the list's length */
	ut_assert(!refs || n == srv->conn_count);
	env_mutex_unlock(srv->env, srv->lock);
	if (!refs) {
		LOG_ERR(here, "out of memory: cannot reach the connections");
		return;
	}
	ut_assert(op == ISCSI_XOP_CLOSE || op == ISCSI_XOP_LOGOUT_REQUEST);
	for (size_t i = 0; i < n; i++) {
		w.conn_id = refs[i].conn_id;
		srv_xwork_send(srv, here, refs[i].env, &w);
	}
	free(refs);
}

static void srv_each_sess(struct iscsi_server *srv, struct env *here,
			  const struct iscsi_sess *except,
			  const struct iscsi_tgt *tgt, enum iscsi_xop op,
			  const void *ptr, const char *why,
			  const struct scsi_tmf_hook *hook)
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
		ut_assert(s->tsih != 0); /* listed sessions have their TSIH */
		refs[n].tsih = s->tsih;
		refs[n].conn_id = s->conn_id;
		refs[n].env = s->env;
		n++;
	}
	ut_assert(n <= srv->sess_count);
	env_mutex_unlock(srv->env, srv->lock);
	if (!refs) {
		LOG_ERR(here, "out of memory: cannot reach the sessions");
		if (hook && hook->lost)
			hook->lost(hook->arg); /* no answer before they end */
		return;
	}
	if (hook)
		w.hook = *hook;
	for (size_t i = 0; i < n; i++) {
		w.tsih = refs[i].tsih;
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
	srv_each_sess(srv, here, except, tgt, op, ptr, why, NULL);
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
	ut_assert(n <= srv->sess_count);
	env_mutex_unlock(srv->env, srv->lock);
	if (!refs) {
		LOG_ERR(here, "out of memory: cannot reach the sessions");
		return;
	}
	ut_assert(w.op == ISCSI_XOP_LOGOUT_REQUEST || w.op == ISCSI_XOP_CLOSE);
	for (size_t i = 0; i < n; i++) {
		w.conn_id = refs[i].conn_id;
		srv_xwork_send(srv, here, refs[i].env, &w);
	}
	free(refs);
}

/* ----------------------------------------------------------- sessions */

uint16_t iscsi_server_new_tsih(struct iscsi_server *srv)
{
	/* a free TSIH exists (sessions are far fewer than 65535), so the
	 * search ends */
	ut_assert(srv->sess_count < 65535);
	for (;;) {
		uint16_t tsih = srv->next_tsih++;
		struct iscsi_sess *s;
		bool used = false;

		if (tsih == 0)
			continue; /* 0 means "new session" */
		TAILQ_FOREACH (s, &srv->sessions, link)
			used |= s->tsih == tsih;
		if (!used) {
			ut_assert(tsih != 0);
			return tsih;
		}
	}
}

struct iscsi_sess *iscsi_server_find_session(struct iscsi_server *srv,
					     const char *initiator,
					     const uint8_t isid[6],
					     const struct iscsi_tgt *tgt,
					     uint16_t tpgt, uint16_t tsih)
{
	struct iscsi_sess *s;

	/* an initiator port names a normal session (RFC 7143 §4.4.3) */
	ut_assert(initiator != NULL);
	ut_assert(tgt != NULL);
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

/* The session of initiator port (initiator, isid) with target port
 * (tgt, tpgt), under the lock. */
static bool srv_session_exists(struct iscsi_server *srv, const char *initiator,
			       const uint8_t isid[6],
			       const struct iscsi_tgt *tgt, uint16_t tpgt,
			       uint16_t tsih)
{
	bool exists;

	env_mutex_lock(srv->env, srv->lock);
	exists = iscsi_server_find_session(srv, initiator, isid, tgt, tpgt,
					   tsih) != NULL;
	env_mutex_unlock(srv->env, srv->lock);
	return exists;
}

/* A session of initiator port (initiator, isid) with target port (tgt,
 * tpgt) whose connection has gone but that has not ended (tasks still
 * inside the SCSI layer), under the lock. */
static struct iscsi_sess *srv_find_closing(struct iscsi_server *srv,
					   const char *initiator,
					   const uint8_t isid[6],
					   const struct iscsi_tgt *tgt,
					   uint16_t tpgt)
{
	struct iscsi_sess *s;

	TAILQ_FOREACH (s, &srv->sessions, link)
		if (s->closing && !s->discovery && s->tgt == tgt &&
		    s->info.portal_group == tpgt &&
		    memcmp(s->isid, isid, 6) == 0 &&
		    strcmp(s->initiator_name, initiator) == 0)
			return s;
	return NULL;
}

/*
 * RFC 7143 §6.3.5: a login with TSIH 0 and the ISID of a live session
 * logs that session out implicitly, and the target terminates its tasks;
 * its end is the loss of its I_T nexus (SAM-5 §6.3.4: its SPC-2
 * reservation goes).  The old session is closed on its own reactor, and
 * the new login completes only once it has ended (srv_sess_detach resumes
 * it): before, an old write still at the backstore landed after the new
 * session's, and on several reactors the new session met the old nexus's
 * reservation (scenario session_reinstatement_ends_the_old_sessions_
 * tasks_first).  A session already closing (its connection gone, its
 * tasks not all ended: a write still at the store) is waited for the
 * same way, without a close: its write would otherwise land after the
 * new session's (scenario session_reinstatement_waits_for_a_closing_
 * sessions_tasks).
 */
static bool srv_reinstate(struct iscsi_server *srv, struct iscsi_conn *c,
			  const char *initiator, const uint8_t isid[6],
			  const struct iscsi_tgt *tgt, uint16_t tpgt)
{
	struct env *here = c->env;
	struct iscsi_sess *old;
	uint32_t conn_id = 0;
	uint16_t tsih = 0;
	struct env *env = NULL;
	bool waits;

	ut_assert(tgt != NULL);
	env_mutex_lock(srv->env, srv->lock);
	/* one login waits for one session at a time */
	ut_assert(c->reinst_tsih == 0);
	old = iscsi_server_find_session(srv, initiator, isid, tgt, tpgt, 0);
	if (old) {
		ut_assert(old->tsih != 0);
		tsih = old->tsih;
		conn_id = old->conn_id;
		env = old->env;
		c->reinst_tsih = tsih;
	} else if ((old = srv_find_closing(srv, initiator, isid, tgt, tpgt))) {
		/* listed until it has ended: srv_sess_detach, under this
		 * lock, then resumes this login (srv_reinstated) */
		ut_assert(old->tsih != 0);
		tsih = old->tsih;
		c->reinst_tsih = tsih;
	}
	env_mutex_unlock(srv->env, srv->lock);
	if (!old)
		return false;
	LOG_INFO(here, "event=session-reinstated tsih=%u initiator=%s%s", tsih,
		 initiator, env ? "" : " waits-for=its-tasks");
	if (!env)
		return true; /* closing already: no close to ask for */
	iscsi_server_conn_op(srv, here, env, conn_id, ISCSI_XOP_CLOSE,
			     "session reinstatement");
	/* On this reactor the old session may have ended already, inside
	 * the close (no task left): then the login goes on at once. */
	env_mutex_lock(srv->env, srv->lock);
	waits = c->reinst_tsih != 0;
	env_mutex_unlock(srv->env, srv->lock);
	return waits;
}

/* Session tsih has ended (left the list): the logins that reinstated it
 * go on, each on its own reactor (srv_sess_detach). */
static void srv_reinstated(struct iscsi_server *srv, struct env *here,
			   uint16_t tsih)
{
	for (;;) {
		struct iscsi_conn *c;
		uint32_t conn_id = 0;
		struct env *env = NULL;

		env_mutex_lock(srv->env, srv->lock);
		TAILQ_FOREACH (c, &srv->conns, link)
			if (c->reinst_tsih == tsih)
				break;
		if (c) {
			c->reinst_tsih = 0;
			conn_id = c->id;
			env = c->env;
		}
		env_mutex_unlock(srv->env, srv->lock);
		if (!env)
			return;
		iscsi_server_conn_op(srv, here, env, conn_id,
				     ISCSI_XOP_LOGIN_RESUME, "reinstated");
	}
}

static int sess_map_luns(struct iscsi_sess *s)
{
	/* LUN masking: the initiator's group's LUNs, else the default set.
	 * The generation first: a change published after it is caught up
	 * with once the session is listed (srv_sess_attach). */
	s->conf_gen = __atomic_load_n(&s->srv->conf_gen, __ATOMIC_ACQUIRE);
	return iscsi_acl_map_luns(iscsi_tgt_conf(s->tgt), s->initiator_name,
				  s->scsi);
}

/* SPC-4 §5.12.11.5: a PREEMPT AND ABORT (of the SCSI layer, on reactor
 * `here`) ends the tasks session tsih holds on lu waiting for Data-Out
 * or their CmdSN turn, as a reset does those of other sessions; the PR
 * OUT completes after that work (hook). */
static void srv_sess_abort_waiting(void *ctx, uint64_t tsih, struct env *to,
				   struct env *here, const struct scsi_lu *lu,
				   const struct scsi_tmf_hook *hook)
{
	struct iscsi_server *srv = ctx;
	struct srv_xwork w = {.srv = srv,
			      .op = ISCSI_XOP_ABORT_WAITING,
			      .tsih = (uint16_t)tsih,
			      .ptr = lu,
			      .why = "preempt and abort",
			      .hook = *hook};

	ut_assert(tsih != 0 && tsih <= UINT16_MAX);
	srv_xwork_send(srv, here, to, &w);
}

static int srv_sess_attach(struct iscsi_sess *s, uint32_t max_sessions)
{
	struct iscsi_server *srv = s->srv;
	bool stale;

	ut_assert(s->tsih == 0); /* attached once */
	ut_assert(s->discovery == (s->tgt == NULL));
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
		iscsi_tport_all(s->tgt, &id);
		s->scsi = scsi_sess_new(s->env, &id);
		if (s->scsi)
			scsi_sess_set_transport(s->scsi, srv_sess_abort_waiting,
						srv);
		if (!s->scsi || sess_map_luns(s)) {
			if (s->scsi)
				scsi_sess_free(s->scsi);
			s->scsi = NULL;
			return -1;
		}
	}
	env_mutex_lock(srv->env, srv->lock);
	if (srv->sess_count >= max_sessions) {
		env_mutex_unlock(srv->env, srv->lock);
		if (s->scsi)
			scsi_sess_free(s->scsi);
		s->scsi = NULL;
		return -1;
	}
	s->tsih = iscsi_server_new_tsih(srv);
	if (s->scsi)
		scsi_sess_set_transport_id(s->scsi, s->tsih);
	TAILQ_INSERT_TAIL(&srv->sessions, s, link);
	srv->sess_count++;
	ut_assert(srv->sess_count <= max_sessions);
	/* a normal session has its nexus from here on */
	ut_assert(s->discovery || s->scsi != NULL);
	srv->stats.sessions = srv->sess_count;
	/* A reconfiguration that listed the sessions before this one was
	 * in the list changed the generation: follow it now. */
	stale = s->scsi && s->conf_gen != __atomic_load_n(&srv->conf_gen,
							  __ATOMIC_ACQUIRE);
	env_mutex_unlock(srv->env, srv->lock);
	if (stale)
		iscsi_sess_resync_luns(s);
	return 0;
}

static void srv_sess_detach(struct iscsi_sess *s)
{
	struct iscsi_server *srv = s->srv;

	if (s->scsi)
		scsi_sess_free(s->scsi);
	env_mutex_lock(srv->env, srv->lock);
	ut_assert(srv->sess_count > 0);
	ut_assert_slow(srv_sess_listed(srv, s));
	TAILQ_REMOVE(&srv->sessions, s, link);
	srv->sess_count--;
	srv->stats.sessions = srv->sess_count;
	env_mutex_unlock(srv->env, srv->lock);
	/* its tasks have ended and its nexus is gone: a login that
	 * reinstates it may complete now */
	srv_reinstated(srv, s->env, s->tsih);
}

static void srv_abort_waiting(const struct iscsi_sess *from,
			      const struct scsi_lu *lu,
			      const struct scsi_tmf_hook *hook)
{
	/* An LU may be mapped by several targets: every session may hold
	 * tasks on it (a target reset sweeps its LUs one by one, lane
	 * dupcmd19, so there is always an LU).  The TMF waits for the sessions of other reactors (RFC 7143 §11.5.1:
	 * its response follows the tasks it affects; before, a task that
	 * arrived after FUNCTION COMPLETE could still end TASK ABORTED). */
	ut_assert(lu != NULL);
	srv_each_sess(from->srv, from->env, from, NULL, ISCSI_XOP_ABORT_WAITING,
		      lu, "reset", hook);
}

/* TARGET COLD RESET (RFC 7143 §11.5.1): once answered, every session of
 * the target ends, ours included (its own connection closes after the
 * response). */
static void srv_close_target_sessions(const struct iscsi_sess *from)
{
	iscsi_server_each_sess(from->srv, from->env, from, from->tgt,
			       ISCSI_XOP_CLOSE, NULL, "target cold reset");
}

const struct iscsi_server_ops iscsi_server_ops = {
	.find_target = iscsi_server_find_target,
	.session_exists = srv_session_exists,
	.reinstate = srv_reinstate,
	.sess_attach = srv_sess_attach,
	.sess_detach = srv_sess_detach,
	.abort_waiting = srv_abort_waiting,
	.close_target_sessions = srv_close_target_sessions,
	.sendtargets = iscsi_sendtargets,
};
