/*
 * ctl_query.c — the control protocol's queries (status, targets, luns,
 * sessions, stats, config, alua) and the ALUA commands: results built
 * from the server and its running configuration.  Dispatch is ctl.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "control/ctl.h"
#include "control/json.h"
#include "iscsi/iscsi.h"
#include "scsi/alua.h"
#include "scsi/scsi.h"
#include "control/ctl_int.h"

/* ------------------------------------------------------------ queries */

void ctl_q_status(struct req *r)
{
	const struct ut_config *cfg = iscsi_server_config(r->c->srv);
	struct iscsi_server_stats st;
	struct jw *w = &r->out;

	iscsi_server_get_stats(r->c->srv, &st);
	jw_obj_begin(w);
	jw_kstr(w, "version", r->c->h.version ? r->c->h.version : "?");
	jw_kuint(w, "uptime_s",
		 iscsi_server_uptime_ns(r->c->srv) / 1000000000u);
	jw_kuint(w, "reactors", r->c->h.reactors ? r->c->h.reactors : 1);
	jw_key(w, "portals");
	jw_arr_begin(w);
	for (size_t i = 0; i < cfg->portal_count; i++)
		jw_str(w, cfg->portals[i]);
	if (cfg->portal_count == 0)
		jw_str(w, UT_DEFAULT_PORTAL);
	jw_arr_end(w);
	jw_kuint(w, "targets", cfg->target_count);
	jw_kuint(w, "devices", cfg->dev_count);
	jw_kuint(w, "sessions", st.sessions);
	jw_kuint(w, "connections", st.connections);
	jw_kuint(w, "tasks", st.tasks);
	jw_kuint(w, "scsi_commands", st.scsi_cmds);
	jw_kuint(w, "pdus_received", st.pdus_rx);
	jw_kuint(w, "pdus_sent", st.pdus_tx);
	jw_kuint(w, "recv_calls", st.recv_calls);
	jw_kuint(w, "send_calls", st.send_calls);
	if (r->c->h.config_path)
		jw_kstr(w, "config", r->c->h.config_path);
	jw_kbool(w, "change_in_progress", r->c->busy);
	jw_obj_end(w);
}

void ctl_q_targets(struct req *r)
{
	const struct ut_config *cfg = iscsi_server_config(r->c->srv);
	size_t ns = iscsi_server_sessions(r->c->srv, NULL, 0);
	struct iscsi_session_info *si = calloc(ns + 1, sizeof(*si));
	struct jw *w = &r->out;

	if (!si) {
		ctl_fail(r, "out of memory");
		return;
	}
	ns = iscsi_server_sessions(r->c->srv, si, ns);
	jw_arr_begin(w);
	for (size_t i = 0; i < cfg->target_count; i++) {
		const struct ut_target_cfg *t = &cfg->targets[i];
		unsigned int sessions = 0;

		for (size_t k = 0; k < ns; k++)
			sessions += !strcmp(si[k].target, t->iqn);
		jw_obj_begin(w);
		jw_kstr(w, "name", t->iqn);
		jw_kbool(w, "enabled", t->enabled);
		jw_kstr(w, "alias", t->alias);
		jw_kuint(w, "luns", t->lun_count);
		jw_key(w, "groups");
		jw_arr_begin(w);
		for (size_t g = 0; g < t->group_count; g++)
			jw_str(w, t->groups[g].name);
		jw_arr_end(w);
		jw_kbool(w, "chap", t->incoming_count > 0);
		jw_kuint(w, "sessions", sessions);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	free(si);
}

static void lun_row(struct req *r, const struct ut_target_cfg *t,
		    const struct ut_group_cfg *g, const struct ut_lun_cfg *l)
{
	const struct ut_config *cfg = iscsi_server_config(r->c->srv);
	const struct ut_dev_cfg *d = ut_config_find_dev(cfg, l->dev_name);
	struct iscsi_device_info di = {0};
	struct jw *w = &r->out;

	if (!d)
		return;
	(void)iscsi_server_device(r->c->srv, d->name, &di, NULL);
	jw_obj_begin(w);
	jw_kstr(w, "target", t->iqn);
	if (g)
		jw_kstr(w, "group", g->name);
	jw_kuint(w, "lun", l->lun);
	jw_kstr(w, "device", d->name);
	jw_kstr(w, "backing", ctl_kind_name(d->kind));
	if (d->path[0])
		jw_kstr(w, "path", d->path);
	jw_kuint(w, "size_bytes", di.size_bytes);
	jw_kuint(w, "block_size",
		 di.block_size ? di.block_size : d->block_size);
	jw_kbool(w, "read_only", l->read_only || d->read_only);
	jw_kbool(w, "thin", d->thin);
	jw_kuint(w, "sessions", di.nexuses);
	jw_obj_end(w);
}

void ctl_q_luns(struct req *r)
{
	const struct ut_config *cfg = iscsi_server_config(r->c->srv);
	const char *only = ctl_arg_str(r, "target", false);
	bool found = !only;

	jw_arr_begin(&r->out);
	for (size_t i = 0; i < cfg->target_count; i++) {
		const struct ut_target_cfg *t = &cfg->targets[i];

		if (only && strcmp(only, t->iqn))
			continue;
		found = true;
		for (size_t k = 0; k < t->lun_count; k++)
			lun_row(r, t, NULL, &t->luns[k]);
		for (size_t g = 0; g < t->group_count; g++)
			for (size_t k = 0; k < t->groups[g].lun_count; k++)
				lun_row(r, t, &t->groups[g],
					&t->groups[g].luns[k]);
	}
	jw_arr_end(&r->out);
	if (!found)
		ctl_fail(r, "no target %s", only);
}

void ctl_q_sessions(struct req *r)
{
	size_t n = iscsi_server_sessions(r->c->srv, NULL, 0);
	struct iscsi_session_info *si = calloc(n + 1, sizeof(*si));
	struct jw *w = &r->out;

	if (!si) {
		ctl_fail(r, "out of memory");
		return;
	}
	n = iscsi_server_sessions(r->c->srv, si, n);
	jw_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		const struct iscsi_session_info *s = &si[i];
		char isid[13];

		ctl_isid_hex(s->isid, isid);
		jw_obj_begin(w);
		jw_kstr(w, "initiator", s->initiator);
		if (s->initiator_alias[0])
			jw_kstr(w, "alias", s->initiator_alias);
		jw_kstr(w, "isid", isid);
		jw_kuint(w, "tsih", s->tsih);
		jw_kstr(w, "target", s->target);
		jw_kstr(w, "type", s->discovery ? "Discovery" : "Normal");
		jw_kstr(w, "portal", s->portal);
		jw_kstr(w, "peer", s->peer);
		jw_kuint(w, "connections", s->connections);
		jw_kuint(w, "cmds_in_flight", s->cmds_in_flight);
		jw_kuint(w, "queue_depth", s->queue_depth);
		/* RFC 7143 §13 keys, as negotiated. */
		jw_key(w, "params");
		jw_obj_begin(w);
		jw_kstr(w, "HeaderDigest",
			s->header_digest ? "CRC32C" : "None");
		jw_kstr(w, "DataDigest", s->data_digest ? "CRC32C" : "None");
		jw_kuint(w, "MaxConnections", 1);
		jw_kstr(w, "InitialR2T", s->initial_r2t ? "Yes" : "No");
		jw_kstr(w, "ImmediateData", s->immediate_data ? "Yes" : "No");
		jw_kuint(w, "MaxRecvDataSegmentLength", s->max_recv_dsl);
		jw_kuint(w, "MaxXmitDataSegmentLength", s->max_xmit_dsl);
		jw_kuint(w, "MaxBurstLength", s->max_burst);
		jw_kuint(w, "FirstBurstLength", s->first_burst);
		jw_kuint(w, "DefaultTime2Wait", s->default_time2wait);
		jw_kuint(w, "DefaultTime2Retain", s->default_time2retain);
		jw_kuint(w, "MaxOutstandingR2T", s->max_outstanding_r2t);
		jw_kstr(w, "DataPDUInOrder",
			s->data_pdu_in_order ? "Yes" : "No");
		jw_kstr(w, "DataSequenceInOrder",
			s->data_seq_in_order ? "Yes" : "No");
		jw_kuint(w, "ErrorRecoveryLevel", s->error_recovery_level);
		jw_kuint(w, "TargetPortalGroupTag", s->portal_group);
		jw_obj_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	free(si);
}

static void stats_row(struct req *r, const char *dev)
{
	struct scsi_io_stats *st = calloc(1, sizeof(*st));
	struct iscsi_device_info di;
	struct jw *w = &r->out;

	if (!st || iscsi_server_device(r->c->srv, dev, &di, st)) {
		free(st);
		return;
	}
	jw_obj_begin(w);
	jw_kstr(w, "device", dev);
	jw_kuint(w, "reads", st->reads);
	jw_kuint(w, "writes", st->writes);
	jw_kuint(w, "other_commands", st->others);
	jw_kuint(w, "read_bytes", st->read_bytes);
	jw_kuint(w, "write_bytes", st->write_bytes);
	jw_kuint(w, "errors", st->errors);
	jw_key(w, "latency_us");
	jw_obj_begin(w);
	jw_kuint(w, "p50", scsi_lat_percentile_ns(st, 500) / 1000);
	jw_kuint(w, "p99", scsi_lat_percentile_ns(st, 990) / 1000);
	jw_kuint(w, "p99.9", scsi_lat_percentile_ns(st, 999) / 1000);
	jw_obj_end(w);
	jw_obj_end(w);
	free(st);
}

/* stats: every device, one device ("device"), or the device of one LUN
 * ("target" and "lun"). */
void ctl_q_stats(struct req *r)
{
	const struct ut_config *cfg = iscsi_server_config(r->c->srv);
	struct ut_config *mut = (struct ut_config *)cfg;
	const char *dev = ctl_arg_str(r, "device", false);
	const char *tgt = ctl_arg_str(r, "target", false);

	if (tgt) {
		struct ut_target_cfg *t = ut_config_find_target(mut, tgt);
		const struct ut_lun_cfg *l;
		uint32_t lun;

		if (!t) {
			ctl_fail(r, "no target %s", tgt);
			return;
		}
		if (!ctl_arg_u32(r, "lun", UT_MAX_LUNS - 1, &lun))
			return;
		l = ut_lun_find(t, NULL, lun);
		if (!l) {
			ctl_fail(r, "target %s has no LUN %u", tgt, lun);
			return;
		}
		dev = l->dev_name;
	}
	if (dev && !ut_config_find_dev(cfg, dev)) {
		ctl_fail(r, "no device %s", dev);
		return;
	}
	jw_arr_begin(&r->out);
	for (size_t i = 0; i < cfg->dev_count; i++)
		if (!dev || !strcmp(dev, cfg->devs[i].name))
			stats_row(r, cfg->devs[i].name);
	jw_arr_end(&r->out);
}

void ctl_q_config(struct req *r)
{
	char *text;
	size_t len;

	if (ut_config_write(iscsi_server_config(r->c->srv), &text, &len)) {
		ctl_fail(r, "out of memory");
		return;
	}
	jw_obj_begin(&r->out);
	jw_kstr(&r->out, "text", text);
	jw_obj_end(&r->out);
	explicit_bzero(text, len);
	free(text);
}

/* ----------------------------------------------------------------- ALUA */

/* The configured TARGET_GROUP of device group dg with identifier id. */
static const struct ut_tgt_group_cfg *alua_tg_cfg(const struct ut_config *cfg,
						  const char *dg, uint32_t id)
{
	for (size_t g = 0; g < cfg->dgroup_count; g++) {
		if (strcmp(cfg->dgroups[g].name, dg))
			continue;
		for (size_t k = 0; k < cfg->dgroups[g].tgroup_count; k++)
			if (cfg->dgroups[g].tgroups[k].group_id == id)
				return &cfg->dgroups[g].tgroups[k];
	}
	return NULL;
}

static void alua_group_json(struct req *r, struct scsi_alua_group *g)
{
	const struct ut_config *cfg = iscsi_server_config(r->c->srv);
	const char *name = scsi_alua_group_name(g);
	struct scsi_alua_tpg_info ti;
	struct jw *w = &r->out;

	jw_obj_begin(w);
	jw_kstr(w, "name", name);
	jw_key(w, "devices");
	jw_arr_begin(w);
	for (size_t d = 0; d < cfg->dgroup_count; d++)
		if (!strcmp(cfg->dgroups[d].name, name))
			for (size_t i = 0; i < cfg->dgroups[d].dev_count; i++)
				jw_str(w, cfg->dgroups[d].devs[i]);
	jw_arr_end(w);
	jw_key(w, "target_port_groups");
	jw_arr_begin(w);
	for (unsigned int i = 0; scsi_alua_tpg_info(g, i, &ti); i++) {
		const struct ut_tgt_group_cfg *tg =
			alua_tg_cfg(cfg, name, ti.tpg_id);

		jw_obj_begin(w);
		jw_kuint(w, "id", ti.tpg_id);
		if (tg)
			jw_kstr(w, "name", tg->name);
		jw_kstr(w, "state", scsi_alua_state_name(ti.state));
		jw_kbool(w, "preferred", ti.preferred);
		jw_key(w, "ports");
		jw_arr_begin(w);
		for (unsigned int p = 0; p < ti.port_count; p++) {
			char pn[UT_PORT_NAME_MAX];

			jw_obj_begin(w);
			jw_kuint(w, "rel_tgt_id", ti.ports[p]);
			if (!iscsi_server_port_name(r->c->srv, ti.ports[p], pn,
						    sizeof(pn)))
				jw_kstr(w, "name", pn);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

/* alua [group]: device groups, their target port groups, states, ports. */
void ctl_q_alua(struct req *r)
{
	const char *only = ctl_arg_str(r, "group", false);
	size_t n = iscsi_server_alua_count(r->c->srv);

	if (only && !iscsi_server_alua_group(r->c->srv, only)) {
		ctl_fail(r, "no device group '%s'", only);
		return;
	}
	jw_arr_begin(&r->out);
	for (size_t i = 0; i < n; i++) {
		struct scsi_alua_group *g = iscsi_server_alua_at(r->c->srv, i);

		if (!only || !strcmp(only, scsi_alua_group_name(g)))
			alua_group_json(r, g);
	}
	jw_arr_end(&r->out);
}

/* alua set: {"group": DG (optional when there is one), "tpg": ID or
 * TARGET_GROUP name, "state": S}: an implicit ALUA transition, at once
 * (runtime state; the running configuration follows it). */
void ctl_c_alua_set(struct req *r)
{
	struct scsi_alua_group *g;
	const char *group = ctl_arg_str(r, "group", false);
	const char *state = ctl_arg_str(r, "state", true);
	const struct json *tpg = json_get(r->args, "tpg");
	enum scsi_alua_state st;
	uint32_t id = UINT32_MAX;
	int rc;

	if (r->failed)
		return;
	g = iscsi_server_alua_group(r->c->srv, group);
	if (!g) {
		if (group)
			ctl_fail(r, "no device group '%s'", group);
		else
			ctl_fail(r, "name the device group (there are %zu)",
				 iscsi_server_alua_count(r->c->srv));
		return;
	}
	if (tpg && tpg->type == JSON_INT && tpg->i >= 0 && tpg->i <= 65535) {
		id = (uint32_t)tpg->i;
	} else if (tpg && tpg->type == JSON_STRING) {
		const struct ut_config *cfg = iscsi_server_config(r->c->srv);

		for (size_t d = 0; d < cfg->dgroup_count; d++)
			if (!strcmp(cfg->dgroups[d].name,
				    scsi_alua_group_name(g)))
				for (size_t k = 0;
				     k < cfg->dgroups[d].tgroup_count; k++)
					if (!strcmp(cfg->dgroups[d]
							    .tgroups[k]
							    .name,
						    tpg->s))
						id = cfg->dgroups[d]
							     .tgroups[k]
							     .group_id;
	}
	if (id == UINT32_MAX) {
		ctl_fail(r, "'tpg' must be a target port group: its group_id "
			    "or its TARGET_GROUP name");
		return;
	}
	if (scsi_alua_state_parse(state, &st)) {
		ctl_fail(r,
			 "state '%s' is not one of active, nonoptimized, "
			 "standby, unavailable, offline, transitioning",
			 state);
		return;
	}
	rc = iscsi_server_alua_set(r->c->srv, scsi_alua_group_name(g),
				   (uint16_t)id, state);
	if (rc) {
		ctl_fail(r, "device group '%s' has no target port group %u",
			 scsi_alua_group_name(g), id);
		return;
	}
	/* the group as it is now, shaped as the query's answer */
	jw_arr_begin(&r->out);
	alua_group_json(r, g);
	jw_arr_end(&r->out);
}
