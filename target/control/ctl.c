/*
 * ctl.c — the control protocol's dispatch (ctl.h, docs/control.md).
 *
 * A request is parsed strictly (json.c), its command looked up in the
 * table below and its handler run.  Queries build their result from the
 * server (iscsi.h) and its running configuration.  Changes edit a copy of
 * the running configuration, validate it, and hand it to
 * iscsi_server_reconfigure(); the reply goes out when that is done.
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

struct ctl {
	struct iscsi_server *srv;
	struct ctl_hooks h;
	/* The change waiting for its reply (one at a time). */
	bool busy;
	ctl_reply_fn reply;
	void *reply_arg;
	char what[64];
};

/* One request being handled. */
struct req {
	struct ctl *c;
	const struct json *args; /* an object (maybe empty) */
	struct jw out;		 /* the result value */
	char err[1024];
	bool failed;
	bool async; /* a change: the reply comes later */
};

static void ctl_fail(struct req *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ctl_fail(struct req *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;
	r->failed = true;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

static void send_reply(ctl_reply_fn reply, void *arg, bool ok,
		       const char *result, const char *error)
{
	struct jw w;

	jw_init(&w);
	jw_obj_begin(&w);
	jw_kint(&w, "version", CTL_PROTOCOL_VERSION);
	jw_kbool(&w, "ok", ok);
	if (ok) {
		jw_key(&w, "result");
		jw_json(&w, result);
	} else {
		jw_kstr(&w, "error", error);
	}
	jw_obj_end(&w);
	reply(arg, jw_text(&w));
	jw_free(&w);
}

/* ------------------------------------------------------------- helpers */

static const char *arg_str(struct req *r, const char *key, bool required)
{
	const char *s = json_get_str(r->args, key);

	if (!s && required)
		ctl_fail(r, "'%s' (a string) is required", key);
	return s;
}

static bool arg_u32(struct req *r, const char *key, uint32_t max, uint32_t *out)
{
	int64_t v;

	if (!json_get_int(r->args, key, &v)) {
		ctl_fail(r, "'%s' (a number) is required", key);
		return false;
	}
	if (v < 0 || v > (int64_t)max) {
		ctl_fail(r, "'%s' must be 0..%u", key, max);
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static bool arg_bool(struct req *r, const char *key)
{
	bool b = false;

	(void)json_get_bool(r->args, key, &b);
	return b;
}

/* A size: a number of bytes, or a string with K, M, G or T. */
static bool arg_size(struct req *r, const char *key, uint64_t *out)
{
	const struct json *v = json_get(r->args, key);

	if (v && v->type == JSON_INT && v->i > 0) {
		*out = (uint64_t)v->i;
		return true;
	}
	if (v && v->type == JSON_STRING && ut_size_parse(v->s, out) == 0 &&
	    *out > 0)
		return true;
	ctl_fail(r, "'%s' must be a size (bytes, or with K, M, G, T)", key);
	return false;
}

static const char *kind_name(enum bs_kind k)
{
	switch (k) {
	case BS_MEM:
		return "mem";
	case BS_NULL:
		return "null";
	case BS_FILE:
		return "file";
	case BS_BLOCK:
		return "block";
	default:
		return "sim";
	}
}

static void isid_hex(const uint8_t isid[6], char out[13])
{
	snprintf(out, 13, "%02x%02x%02x%02x%02x%02x", isid[0], isid[1], isid[2],
		 isid[3], isid[4], isid[5]);
}

/* ------------------------------------------------------------ queries */

static void q_status(struct req *r)
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
	if (r->c->h.config_path)
		jw_kstr(w, "config", r->c->h.config_path);
	jw_kbool(w, "change_in_progress", r->c->busy);
	jw_obj_end(w);
}

static void q_targets(struct req *r)
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
	jw_kstr(w, "backing", kind_name(d->kind));
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

static void q_luns(struct req *r)
{
	const struct ut_config *cfg = iscsi_server_config(r->c->srv);
	const char *only = arg_str(r, "target", false);
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

static void q_sessions(struct req *r)
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

		isid_hex(s->isid, isid);
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
static void q_stats(struct req *r)
{
	const struct ut_config *cfg = iscsi_server_config(r->c->srv);
	struct ut_config *mut = (struct ut_config *)cfg;
	const char *dev = arg_str(r, "device", false);
	const char *tgt = arg_str(r, "target", false);

	if (tgt) {
		struct ut_target_cfg *t = ut_config_find_target(mut, tgt);
		const struct ut_lun_cfg *l;
		uint32_t lun;

		if (!t) {
			ctl_fail(r, "no target %s", tgt);
			return;
		}
		if (!arg_u32(r, "lun", UT_MAX_LUNS - 1, &lun))
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

static void q_config(struct req *r)
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

/* ------------------------------------------------------------ changes */

static void apply_done(void *arg, const struct iscsi_reconf_result *res)
{
	struct ctl *c = arg;
	struct jw w;

	c->busy = false;
	if (!res->applied || (res->status && res->status != -ETIMEDOUT)) {
		send_reply(c->reply, c->reply_arg, false, NULL,
			   res->msg[0] ? res->msg : strerror(-res->status));
		return;
	}
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "done", c->what);
	jw_kuint(&w, "waited_ms", res->waited_ms);
	jw_kuint(&w, "aborted_commands", res->aborted);
	if (res->msg[0])
		jw_kstr(&w, "note", res->msg);
	jw_obj_end(&w);
	send_reply(c->reply, c->reply_arg, true,
		   jw_text(&w) ? jw_text(&w) : "null", NULL);
	jw_free(&w);
}

static void diag_first(void *arg, int severity, const char *file, int line,
		       int column, const char *msg)
{
	struct req *r = arg;

	(void)file, (void)line, (void)column;
	if (severity)
		ctl_fail(r, "%s", msg);
}

/* Validate cfg and make it the running configuration; cfg is freed. */
static void ctl_apply(struct req *r, struct ut_config *cfg,
		      const struct iscsi_reconf_opts *o)
{
	char err[1024];
	int rc;

	if (!r->failed)
		(void)ut_config_validate(cfg, diag_first, r);
	if (r->failed) {
		ut_config_free(cfg);
		return;
	}
	rc = iscsi_server_reconfigure(r->c->srv, cfg, o, apply_done, r->c, err,
				      sizeof(err));
	ut_config_free(cfg);
	if (rc) {
		ctl_fail(r, "%s", err);
		return;
	}
	r->async = true;
}

/* A copy of the running configuration to edit. */
static bool edit_begin(struct req *r, struct ut_config *cfg)
{
	if (r->c->busy) {
		ctl_fail(r, "another change (%s) is still in progress",
			 r->c->what);
		return false;
	}
	if (ut_config_copy(cfg, iscsi_server_config(r->c->srv))) {
		ctl_fail(r, "out of memory");
		return false;
	}
	return true;
}

/* The target and, with "group", the group the request names. */
static bool find_tg(struct req *r, struct ut_config *cfg,
		    struct ut_target_cfg **t, struct ut_group_cfg **g)
{
	const char *tn = arg_str(r, "target", true);
	const char *gn = arg_str(r, "group", false);

	if (!tn)
		return false;
	*t = ut_config_find_target(cfg, tn);
	if (!*t) {
		ctl_fail(r, "no target %s", tn);
		return false;
	}
	*g = NULL;
	if (gn) {
		*g = ut_target_find_group(*t, gn);
		if (!*g) {
			ctl_fail(r, "target %s has no group %s", tn, gn);
			return false;
		}
	}
	return true;
}

static void c_lun_add(struct req *r)
{
	struct ut_config cfg;
	struct ut_target_cfg *t;
	struct ut_group_cfg *g;
	struct ut_dev_cfg dev;
	const char *spec, *name, *err = NULL;
	uint32_t lun;

	memset(&dev, 0, sizeof(dev));
	spec = arg_str(r, "spec", true);
	name = arg_str(r, "device", false);
	if (!spec || !arg_u32(r, "lun", UT_MAX_LUNS - 1, &lun))
		return;
	if (ut_lun_spec_parse(spec, &dev, &err)) {
		ctl_fail(r, "spec %s: %s", spec, err ? err : "invalid");
		return;
	}
	if (!edit_begin(r, &cfg))
		return;
	if (!find_tg(r, &cfg, &t, &g))
		goto out;
	if (ut_lun_find(t, g, lun)) {
		ctl_fail(r, "target %s already has LUN %u", t->iqn, lun);
		goto out;
	}
	if (name) {
		if (!name[0] || strlen(name) >= sizeof(dev.name)) {
			ctl_fail(r, "bad device name");
			goto out;
		}
		snprintf(dev.name, sizeof(dev.name), "%s", name);
	} else {
		snprintf(dev.name, sizeof(dev.name), "lun%u", lun);
		for (unsigned int k = 2; ut_config_find_dev(&cfg, dev.name);
		     k++)
			snprintf(dev.name, sizeof(dev.name), "lun%u-%u", lun,
				 k);
	}
	if (ut_config_find_dev(&cfg, dev.name)) {
		ctl_fail(r, "device %s exists already", dev.name);
		goto out;
	}
	ut_dev_cfg_finish(&dev);
	if (!ut_config_add_dev(&cfg, &dev) ||
	    !ut_lun_add(t, g, lun, dev.name, dev.read_only)) {
		ctl_fail(r, "cannot add LUN %u (limits or memory)", lun);
		goto out;
	}
	snprintf(r->c->what, sizeof(r->c->what), "lun add %u", lun);
	ctl_apply(r, &cfg, NULL);
	return;
out:
	ut_config_free(&cfg);
}

static void c_lun_remove(struct req *r)
{
	struct ut_config cfg;
	struct ut_target_cfg *t;
	struct ut_group_cfg *g;
	struct ut_lun_cfg *l;
	char dev[UT_DEV_NAME_MAX];
	struct iscsi_reconf_opts o = {0};
	uint32_t lun;
	int64_t ms;

	if (!arg_u32(r, "lun", UT_MAX_LUNS - 1, &lun) || !edit_begin(r, &cfg))
		return;
	if (!find_tg(r, &cfg, &t, &g))
		goto out;
	l = ut_lun_find(t, g, lun);
	if (!l) {
		ctl_fail(r, "target %s has no LUN %u", t->iqn, lun);
		goto out;
	}
	snprintf(dev, sizeof(dev), "%s", l->dev_name);
	ut_lun_remove(t, g, lun);
	/* A device no LUN names any more goes with it. */
	if (!ut_config_dev_used(&cfg, dev))
		ut_config_remove_dev(&cfg, dev);
	if (json_get_int(r->args, "drain_ms", &ms) && ms > 0 && ms < 3600000)
		o.drain_ms = (uint32_t)ms;
	snprintf(r->c->what, sizeof(r->c->what), "lun remove %u", lun);
	ctl_apply(r, &cfg, &o);
	return;
out:
	ut_config_free(&cfg);
}

static void c_lun_resize(struct req *r)
{
	struct ut_config cfg;
	struct ut_target_cfg *t;
	struct ut_group_cfg *g;
	struct ut_lun_cfg *l;
	struct ut_dev_cfg *d;
	uint64_t size;
	uint32_t lun;

	if (!arg_u32(r, "lun", UT_MAX_LUNS - 1, &lun) ||
	    !arg_size(r, "size", &size) || !edit_begin(r, &cfg))
		return;
	if (!find_tg(r, &cfg, &t, &g))
		goto out;
	l = ut_lun_find(t, g, lun);
	if (!l) {
		ctl_fail(r, "target %s has no LUN %u", t->iqn, lun);
		goto out;
	}
	d = (struct ut_dev_cfg *)ut_config_find_dev(&cfg, l->dev_name);
	if (!d || size % d->block_size || size > UT_DEV_SIZE_MAX) {
		ctl_fail(r, "size must be a multiple of the block size (%u)",
			 d ? d->block_size : 512);
		goto out;
	}
	d->size_bytes = size;
	snprintf(r->c->what, sizeof(r->c->what), "lun resize %u", lun);
	ctl_apply(r, &cfg, NULL);
	return;
out:
	ut_config_free(&cfg);
}

static void c_target_add(struct req *r)
{
	struct ut_config cfg;
	const char *tn = arg_str(r, "target", true);

	if (!tn || !edit_begin(r, &cfg))
		return;
	if (!ut_config_add_target(&cfg, tn)) {
		ctl_fail(r, "cannot add target %s (it exists, or a limit)", tn);
		ut_config_free(&cfg);
		return;
	}
	snprintf(r->c->what, sizeof(r->c->what), "target add");
	ctl_apply(r, &cfg, NULL);
}

static void c_target_remove(struct req *r)
{
	struct ut_config cfg;
	const char *tn = arg_str(r, "target", true);
	struct ut_target_cfg *t;
	char **devs = NULL;
	size_t n = 0;

	if (!tn || !edit_begin(r, &cfg))
		return;
	t = ut_config_find_target(&cfg, tn);
	if (!t) {
		ctl_fail(r, "no target %s", tn);
		ut_config_free(&cfg);
		return;
	}
	devs = calloc(t->lun_count + 1, sizeof(*devs));
	for (size_t i = 0; devs && i < t->lun_count; i++)
		devs[n++] = strdup(t->luns[i].dev_name);
	ut_config_remove_target(&cfg, tn);
	for (size_t i = 0; i < n; i++) {
		if (devs[i] && !ut_config_dev_used(&cfg, devs[i]))
			ut_config_remove_dev(&cfg, devs[i]);
		free(devs[i]);
	}
	free(devs);
	snprintf(r->c->what, sizeof(r->c->what), "target remove");
	ctl_apply(r, &cfg, NULL);
}

static void c_target_enable(struct req *r, bool on)
{
	struct ut_config cfg;
	const char *tn = arg_str(r, "target", true);
	struct iscsi_reconf_opts o = {.force = arg_bool(r, "force")};
	struct ut_target_cfg *t;

	if (!tn || !edit_begin(r, &cfg))
		return;
	t = ut_config_find_target(&cfg, tn);
	if (!t) {
		ctl_fail(r, "no target %s", tn);
		ut_config_free(&cfg);
		return;
	}
	t->enabled = on;
	snprintf(r->c->what, sizeof(r->c->what), "target %s",
		 on ? "enable" : "disable");
	ctl_apply(r, &cfg, &o);
}

static void c_target_enable_on(struct req *r)
{
	c_target_enable(r, true);
}

static void c_target_disable(struct req *r)
{
	c_target_enable(r, false);
}

static void c_group(struct req *r, bool add)
{
	struct ut_config cfg;
	const char *tn = arg_str(r, "target", true);
	const char *gn = arg_str(r, "group", true);
	struct ut_target_cfg *t;

	if (!tn || !gn || !edit_begin(r, &cfg))
		return;
	t = ut_config_find_target(&cfg, tn);
	if (!t)
		ctl_fail(r, "no target %s", tn);
	else if (add && !ut_target_add_group(t, gn))
		ctl_fail(r, "cannot add group %s (it exists, or a limit)", gn);
	else if (!add && ut_target_remove_group(t, gn))
		ctl_fail(r, "target %s has no group %s", tn, gn);
	if (r->failed) {
		ut_config_free(&cfg);
		return;
	}
	snprintf(r->c->what, sizeof(r->c->what), "group %s",
		 add ? "add" : "remove");
	ctl_apply(r, &cfg, NULL);
}

static void c_group_add(struct req *r)
{
	c_group(r, true);
}

static void c_group_remove(struct req *r)
{
	c_group(r, false);
}

static void c_initiator(struct req *r, bool add)
{
	struct ut_config cfg;
	const char *name = arg_str(r, "initiator", true);
	struct ut_target_cfg *t;
	struct ut_group_cfg *g = NULL;

	if (!name || !arg_str(r, "group", true) || !edit_begin(r, &cfg))
		return;
	if (find_tg(r, &cfg, &t, &g)) {
		if (add && ut_group_add_initiator(g, name))
			ctl_fail(r, "cannot add %s (already there, or a limit)",
				 name);
		else if (!add && ut_group_remove_initiator(g, name))
			ctl_fail(r, "group %s has no initiator %s", g->name,
				 name);
	}
	if (r->failed) {
		ut_config_free(&cfg);
		return;
	}
	snprintf(r->c->what, sizeof(r->c->what), "initiator %s",
		 add ? "add" : "remove");
	ctl_apply(r, &cfg, NULL);
}

static void c_initiator_add(struct req *r)
{
	c_initiator(r, true);
}

static void c_initiator_remove(struct req *r)
{
	c_initiator(r, false);
}

/* attr set: "key" and "value" of a target ("target") or of a device
 * ("device"); a target's alias, or any iSCSI parameter. */
static void c_attr_set(struct req *r)
{
	struct ut_config cfg;
	const char *key = arg_str(r, "key", true);
	const char *value = arg_str(r, "value", true);
	const char *tn = arg_str(r, "target", false);
	const char *dn = arg_str(r, "device", false);
	char err[512] = "";

	if (!key || !value)
		return;
	if (!tn == !dn) {
		ctl_fail(r, "name either a target or a device");
		return;
	}
	if (!edit_begin(r, &cfg))
		return;
	if (tn) {
		struct ut_target_cfg *t = ut_config_find_target(&cfg, tn);

		if (!t)
			ctl_fail(r, "no target %s", tn);
		else if (!strcasecmp(key, "alias") &&
			 strlen(value) < sizeof(t->alias))
			snprintf(t->alias, sizeof(t->alias), "%s", value);
		else if (ut_params_set(&t->params, key, value, err,
				       sizeof(err)))
			ctl_fail(r, "%s: %s", key, err);
	} else {
		struct ut_dev_cfg *d =
			(struct ut_dev_cfg *)ut_config_find_dev(&cfg, dn);

		if (!d)
			ctl_fail(r, "no device %s", dn);
		else if (ut_dev_attr_set(d, key, value, err, sizeof(err)))
			ctl_fail(r, "%s", err);
	}
	if (r->failed) {
		ut_config_free(&cfg);
		return;
	}
	snprintf(r->c->what, sizeof(r->c->what), "attr set %.40s", key);
	ctl_apply(r, &cfg, NULL);
}

static void c_session_close(struct req *r)
{
	uint32_t tsih;

	if (!arg_u32(r, "tsih", 65535, &tsih))
		return;
	if (iscsi_server_close_session(r->c->srv, (uint16_t)tsih)) {
		ctl_fail(r, "no session with TSIH %u", tsih);
		return;
	}
	jw_obj_begin(&r->out);
	jw_kuint(&r->out, "closed", tsih);
	jw_obj_end(&r->out);
}

static void c_reload(struct req *r)
{
	struct ut_config cfg;
	char err[1024] = "";

	if (!r->c->h.reload) {
		ctl_fail(r, "reload needs a configuration file (-c)");
		return;
	}
	if (r->c->busy) {
		ctl_fail(r, "another change (%s) is still in progress",
			 r->c->what);
		return;
	}
	ut_config_init(&cfg);
	if (r->c->h.reload(r->c->h.arg, &cfg, err, sizeof(err))) {
		ut_config_free(&cfg);
		ctl_fail(r, "%s",
			 err[0] ? err : "the configuration is invalid");
		return;
	}
	snprintf(r->c->what, sizeof(r->c->what), "reload");
	ctl_apply(r, &cfg, NULL);
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
static void q_alua(struct req *r)
{
	const char *only = arg_str(r, "group", false);
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
static void c_alua_set(struct req *r)
{
	struct scsi_alua_group *g;
	const char *group = arg_str(r, "group", false);
	const char *state = arg_str(r, "state", true);
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

/* --------------------------------------------------------------- table */

static const struct {
	const char *name;
	void (*fn)(struct req *r);
} commands[] = {
	{"status", q_status},
	{"targets", q_targets},
	{"luns", q_luns},
	{"sessions", q_sessions},
	{"stats", q_stats},
	{"config", q_config},
	{"lun add", c_lun_add},
	{"lun remove", c_lun_remove},
	{"lun resize", c_lun_resize},
	{"target add", c_target_add},
	{"target remove", c_target_remove},
	{"target enable", c_target_enable_on},
	{"target disable", c_target_disable},
	{"group add", c_group_add},
	{"group remove", c_group_remove},
	{"initiator add", c_initiator_add},
	{"initiator remove", c_initiator_remove},
	{"attr set", c_attr_set},
	{"session close", c_session_close},
	{"alua", q_alua},
	{"alua set", c_alua_set},
	{"reload", c_reload},
};

struct ctl *ctl_new(struct iscsi_server *srv, const struct ctl_hooks *h)
{
	struct ctl *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->srv = srv;
	if (h)
		c->h = *h;
	return c;
}

void ctl_free(struct ctl *c)
{
	free(c);
}

bool ctl_busy(const struct ctl *c)
{
	return c->busy;
}

void ctl_request(struct ctl *c, const char *line, size_t len,
		 ctl_reply_fn reply, void *arg)
{
	static const struct json empty = {.type = JSON_OBJECT};
	struct req r = {.c = c};
	struct json req;
	const char *cmd;
	int64_t version;

	jw_init(&r.out);
	if (len > CTL_LINE_MAX) {
		send_reply(reply, arg, false, NULL, "request too long");
		return;
	}
	if (json_parse(line, len, &req, r.err, sizeof(r.err))) {
		send_reply(reply, arg, false, NULL, r.err);
		return;
	}
	if (req.type != JSON_OBJECT) {
		ctl_fail(&r, "a request is a JSON object");
	} else if (!json_get_int(&req, "version", &version) ||
		   version != CTL_PROTOCOL_VERSION) {
		ctl_fail(&r,
			 "unsupported protocol version (this daemon speaks "
			 "version %d)",
			 CTL_PROTOCOL_VERSION);
	} else if (!(cmd = json_get_str(&req, "command"))) {
		ctl_fail(&r, "'command' (a string) is required");
	} else {
		const struct json *a = json_get(&req, "args");
		size_t i;

		r.args = a ? a : &empty;
		if (r.args->type != JSON_OBJECT)
			ctl_fail(&r, "'args' must be an object");
		for (i = 0;
		     !r.failed && i < sizeof(commands) / sizeof(*commands);
		     i++) {
			if (strcmp(commands[i].name, cmd))
				continue;
			commands[i].fn(&r);
			break;
		}
		if (!r.failed && i == sizeof(commands) / sizeof(*commands))
			ctl_fail(&r, "unknown command '%.64s'", cmd);
	}
	json_free(&req);
	if (r.failed) {
		send_reply(reply, arg, false, NULL, r.err);
	} else if (r.async) {
		c->busy = true;
		c->reply = reply;
		c->reply_arg = arg;
	} else if (!jw_text(&r.out)) {
		send_reply(reply, arg, false, NULL, "out of memory");
	} else {
		send_reply(reply, arg, true,
			   r.out.len ? jw_text(&r.out) : "null", NULL);
	}
	jw_free(&r.out);
}
