/*
 * ctl_change.c — the control protocol's changes (lun, target, group,
 * initiator, attr, session close, reload): each edits a copy of the
 * running configuration, validates it and hands it to
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
#include "control/ctl_int.h"

/* ------------------------------------------------------------ changes */

static void apply_done(void *arg, const struct iscsi_reconf_result *res)
{
	struct ctl *c = arg;
	struct jw w;

	c->busy = false;
	if (!res->applied || (res->status && res->status != -ETIMEDOUT)) {
		ctl_send_reply(c->reply, c->reply_arg, false, NULL,
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
	ctl_send_reply(c->reply, c->reply_arg, true,
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

/* The end of every edit: a request that failed on the way frees its copy;
 * else the change is named (the reply's "done", and what a second change
 * is told is in progress) and applied. */
static void edit_finish(struct req *r, struct ut_config *cfg,
			const struct iscsi_reconf_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void edit_finish(struct req *r, struct ut_config *cfg,
			const struct iscsi_reconf_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (r->failed) {
		ut_config_free(cfg);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(r->c->what, sizeof(r->c->what), fmt, ap);
	va_end(ap);
	ctl_apply(r, cfg, o);
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
	const char *tn = ctl_arg_str(r, "target", true);
	const char *gn = ctl_arg_str(r, "group", false);

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

void ctl_c_lun_add(struct req *r)
{
	struct ut_config cfg;
	struct ut_target_cfg *t;
	struct ut_group_cfg *g;
	struct ut_dev_cfg dev;
	const char *spec, *name, *err = NULL;
	uint32_t lun;

	memset(&dev, 0, sizeof(dev));
	spec = ctl_arg_str(r, "spec", true);
	name = ctl_arg_str(r, "device", false);
	if (!spec || !ctl_arg_u32(r, "lun", UT_MAX_LUNS - 1, &lun))
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
out:
	edit_finish(r, &cfg, NULL, "lun add %u", lun);
}

void ctl_c_lun_remove(struct req *r)
{
	struct ut_config cfg;
	struct ut_target_cfg *t;
	struct ut_group_cfg *g;
	struct ut_lun_cfg *l;
	char dev[UT_DEV_NAME_MAX];
	struct iscsi_reconf_opts o = {0};
	uint32_t lun;
	int64_t ms;

	if (!ctl_arg_u32(r, "lun", UT_MAX_LUNS - 1, &lun) ||
	    !edit_begin(r, &cfg))
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
out:
	edit_finish(r, &cfg, &o, "lun remove %u", lun);
}

void ctl_c_lun_resize(struct req *r)
{
	struct ut_config cfg;
	struct ut_target_cfg *t;
	struct ut_group_cfg *g;
	struct ut_lun_cfg *l;
	struct ut_dev_cfg *d;
	uint64_t size;
	uint32_t lun;

	if (!ctl_arg_u32(r, "lun", UT_MAX_LUNS - 1, &lun) ||
	    !ctl_arg_size(r, "size", &size) || !edit_begin(r, &cfg))
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
out:
	edit_finish(r, &cfg, NULL, "lun resize %u", lun);
}

void ctl_c_target_add(struct req *r)
{
	struct ut_config cfg;
	const char *tn = ctl_arg_str(r, "target", true);

	if (!tn || !edit_begin(r, &cfg))
		return;
	if (!ut_config_add_target(&cfg, tn))
		ctl_fail(r, "cannot add target %s (it exists, or a limit)", tn);
	edit_finish(r, &cfg, NULL, "target add");
}

void ctl_c_target_remove(struct req *r)
{
	struct ut_config cfg;
	const char *tn = ctl_arg_str(r, "target", true);
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
	edit_finish(r, &cfg, NULL, "target remove");
}

static void c_target_enable(struct req *r, bool on)
{
	struct ut_config cfg;
	const char *tn = ctl_arg_str(r, "target", true);
	struct iscsi_reconf_opts o = {.force = ctl_arg_bool(r, "force")};
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
	edit_finish(r, &cfg, &o, "target %s", on ? "enable" : "disable");
}

void ctl_c_target_enable_on(struct req *r)
{
	c_target_enable(r, true);
}

void ctl_c_target_disable(struct req *r)
{
	c_target_enable(r, false);
}

static void c_group(struct req *r, bool add)
{
	struct ut_config cfg;
	const char *tn = ctl_arg_str(r, "target", true);
	const char *gn = ctl_arg_str(r, "group", true);
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
	edit_finish(r, &cfg, NULL, "group %s", add ? "add" : "remove");
}

void ctl_c_group_add(struct req *r)
{
	c_group(r, true);
}

void ctl_c_group_remove(struct req *r)
{
	c_group(r, false);
}

static void c_initiator(struct req *r, bool add)
{
	struct ut_config cfg;
	const char *name = ctl_arg_str(r, "initiator", true);
	struct ut_target_cfg *t;
	struct ut_group_cfg *g = NULL;

	if (!name || !ctl_arg_str(r, "group", true) || !edit_begin(r, &cfg))
		return;
	if (find_tg(r, &cfg, &t, &g)) {
		if (add && ut_group_add_initiator(g, name))
			ctl_fail(r, "cannot add %s (already there, or a limit)",
				 name);
		else if (!add && ut_group_remove_initiator(g, name))
			ctl_fail(r, "group %s has no initiator %s", g->name,
				 name);
	}
	edit_finish(r, &cfg, NULL, "initiator %s", add ? "add" : "remove");
}

void ctl_c_initiator_add(struct req *r)
{
	c_initiator(r, true);
}

void ctl_c_initiator_remove(struct req *r)
{
	c_initiator(r, false);
}

/* attr set: "key" and "value" of a target ("target") or of a device
 * ("device"); a target's alias, or any iSCSI parameter. */
void ctl_c_attr_set(struct req *r)
{
	struct ut_config cfg;
	const char *key = ctl_arg_str(r, "key", true);
	const char *value = ctl_arg_str(r, "value", true);
	const char *tn = ctl_arg_str(r, "target", false);
	const char *dn = ctl_arg_str(r, "device", false);
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
			 ut_text_has_control(value))
			ctl_fail(r,
				 "alias: a control character is not allowed");
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
	edit_finish(r, &cfg, NULL, "attr set %.40s", key);
}

void ctl_c_session_close(struct req *r)
{
	uint32_t tsih;

	if (!ctl_arg_u32(r, "tsih", 65535, &tsih))
		return;
	if (iscsi_server_close_session(r->c->srv, (uint16_t)tsih)) {
		ctl_fail(r, "no session with TSIH %u", tsih);
		return;
	}
	jw_obj_begin(&r->out);
	jw_kuint(&r->out, "closed", tsih);
	jw_obj_end(&r->out);
}

void ctl_c_reload(struct req *r)
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
	edit_finish(r, &cfg, NULL, "reload");
}
