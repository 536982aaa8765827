/*
 * srv_info.c — what the control socket shows of a running server:
 * sessions with their negotiated parameters, devices with their live
 * capacity and statistics.  Called on the server's reactor; objects of
 * other reactors are read under the server lock (the session list) and
 * their counters without one (they may lag by a command).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

static void sess_info(const struct iscsi_sess *s, struct iscsi_session_info *o)
{
	/* a listed session: its TSIH given, a target unless discovery */
	ut_assert(s->tsih != 0);
	ut_assert(s->discovery == (s->tgt == NULL));
	memset(o, 0, sizeof(*o));
	snprintf(o->initiator, sizeof(o->initiator), "%s", s->initiator_name);
	snprintf(o->initiator_alias, sizeof(o->initiator_alias), "%s",
		 s->initiator_alias);
	memcpy(o->isid, s->isid, 6);
	o->tsih = s->tsih;
	if (s->tgt)
		snprintf(o->target, sizeof(o->target), "%s", s->tgt->name);
	o->discovery = s->discovery;
	snprintf(o->portal, sizeof(o->portal), "%s", s->info.local_addr);
	snprintf(o->peer, sizeof(o->peer), "%s", s->info.peer_addr);
	o->portal_group = s->info.portal_group;
	o->connections = s->closing ? 0 : 1; /* MaxConnections=1 */
	o->cmds_in_flight = __atomic_load_n(&s->tasks_alive, __ATOMIC_RELAXED);
	o->queue_depth = s->queue_depth;
	o->exp_cmdsn = __atomic_load_n(&s->exp_cmdsn, __ATOMIC_RELAXED);
	o->max_cmdsn = __atomic_load_n(&s->max_cmdsn, __ATOMIC_RELAXED);
	/* Fixed at login, read-only after. */
	o->header_digest = s->p.header_digest;
	o->data_digest = s->p.data_digest;
	o->max_recv_dsl = s->p.max_recv_dsl;
	o->max_xmit_dsl = s->p.max_xmit_dsl;
	o->max_burst = s->p.max_burst;
	o->first_burst = s->p.first_burst;
	o->max_outstanding_r2t = s->p.max_outstanding_r2t;
	o->default_time2wait = s->p.default_time2wait;
	o->default_time2retain = s->p.default_time2retain;
	o->error_recovery_level = s->p.error_recovery_level;
	o->initial_r2t = s->p.initial_r2t;
	o->immediate_data = s->p.immediate_data;
	o->data_pdu_in_order = s->p.data_pdu_in_order;
	o->data_seq_in_order = s->p.data_seq_in_order;
}

size_t iscsi_server_sessions(struct iscsi_server *srv,
			     struct iscsi_session_info *out, size_t cap)
{
	struct iscsi_sess *s;
	size_t n = 0;

	ut_assert(cap == 0 || out != NULL);
	env_mutex_lock(srv->env, srv->lock);
	TAILQ_FOREACH (s, &srv->sessions, link) {
		if (n < cap)
			sess_info(s, &out[n]);
		n++;
	}
	ut_assert(n == srv->sess_count); /* the counter is the list's */
	env_mutex_unlock(srv->env, srv->lock);
	return n;
}

int iscsi_server_device(struct iscsi_server *srv, const char *name,
			struct iscsi_device_info *info,
			struct scsi_io_stats *stats)
{
	struct iscsi_lu_ent *e = iscsi_server_find_lu(srv, name);

	if (!e || !e->lu)
		return -ENOENT;
	/* an open device has its backstore, of whole 512/4096 blocks */
	ut_assert(e->bs != NULL);
	ut_assert(e->bs->block_size >= 512 &&
		  (e->bs->block_size & (e->bs->block_size - 1)) == 0);
	info->block_size = e->bs->block_size;
	info->size_bytes = scsi_lu_nblocks(e->lu) * e->bs->block_size;
	info->read_only = scsi_lu_read_only(e->lu);
	info->nexuses = scsi_lu_nexus_count(e->lu);
	if (stats)
		scsi_lu_get_stats(e->lu, stats);
	return 0;
}

uint64_t iscsi_server_uptime_ns(const struct iscsi_server *srv)
{
	return env_now_ns(srv->env) - srv->start_ns;
}

int iscsi_server_close_session(struct iscsi_server *srv, uint16_t tsih)
{
	struct iscsi_sess *s;
	uint32_t conn_id = 0;
	struct env *env = NULL;

	env_mutex_lock(srv->env, srv->lock);
	TAILQ_FOREACH (s, &srv->sessions, link) {
		if (s->tsih == tsih && !s->closing) {
			conn_id = s->conn_id;
			env = s->env;
			break;
		}
	}
	env_mutex_unlock(srv->env, srv->lock);
	if (!env)
		return -ENOENT;
	/* TSIH 0 names no session; a session knows its connection */
	ut_assert(tsih != 0);
	ut_assert(conn_id != 0);
	LOG_INFO(srv->env, "event=session-close tsih=%u by=control", tsih);
	iscsi_server_conn_op(srv, srv->env, env, conn_id, ISCSI_XOP_CLOSE,
			     "closed by the administrator");
	return 0;
}
