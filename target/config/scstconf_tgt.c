/*
 * scstconf_tgt.c — the scst.conf statements of TARGET_DRIVER iscsi and
 * DEVICE_GROUP: targets, LUNs, initiator groups, portals and portal
 * groups, ALUA target groups.  The grammar is at the top of scstconf.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "config/config_int.h"
#include "config/scstconf_int.h"

/* ---------------------------------------------------------- LUN, GROUP */

struct cfg_lun_ctx {
	struct ut_lun_cfg *lun;
	char owner[32];
};

static int cfg_lun_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	struct cfg_lun_ctx *l = ctx;

	if (cfg_key(st, "read_only"))
		return cfg_bool(p, st, &l->lun->read_only);
	return cfg_unsupported(p, st, l->owner);
}

static int cfg_lun_ref(struct cfg_parser *p, const struct cfg_tok *at,
		       size_t ti, size_t gi, size_t li)
{
	struct cfg_ref *r = cfg_array_add(&p->refs, &p->ref_count, sizeof(*r),
					  UT_MAX_LUN_MAPS);

	if (!r)
		return p->ref_count >= UT_MAX_LUN_MAPS
			       ? cfg_err(p, at, "more than %d LUN mappings",
					 UT_MAX_LUN_MAPS)
			       : cfg_nomem(p, at);
	*r = (struct cfg_ref){at->line, at->col, ti, gi, li};
	return 0;
}

/* LUN n device [ { read_only b } ] in a target (gi = CFG_NO_GROUP) or in
 * one of its groups. */
static int cfg_lun(struct cfg_parser *p, struct cfg_stmt *st, size_t ti,
		   size_t gi)
{
	struct ut_target_cfg *t = &p->cfg->targets[ti];
	struct ut_group_cfg *g = gi == CFG_NO_GROUP ? NULL : &t->groups[gi];
	struct ut_lun_cfg **set = g ? &g->luns : &t->luns;
	size_t *count = g ? &g->lun_count : &t->lun_count;
	struct cfg_lun_ctx l;
	uint64_t n;

	if (st->nargs != 2)
		return cfg_err(p, &st->key,
			       "LUN needs a number and a device "
			       "name");
	if (cfg_parse_dec(st->args[0].s, UINT32_MAX, &n))
		return cfg_err(p, &st->args[0], "bad LUN number '%.32s'",
			       st->args[0].s);
	if (n >= UT_MAX_LUNS)
		return cfg_err(p, &st->args[0],
			       "LUN %llu is out of range "
			       "(0..%d)",
			       (unsigned long long)n, UT_MAX_LUNS - 1);
	if (strlen(st->args[1].s) >= UT_DEV_NAME_MAX)
		return cfg_err(p, &st->args[1],
			       "device name '%.32s...' is "
			       "longer than %d bytes",
			       st->args[1].s, UT_DEV_NAME_MAX - 1);
	for (size_t i = 0; i < *count; i++)
		if ((*set)[i].lun == n)
			return cfg_err(p, &st->args[0],
				       "LUN %u is mapped twice "
				       "(first at line %d)",
				       (unsigned)n, (*set)[i].line);
	if (cfg_lun_ref(p, &st->args[1], ti, gi, *count))
		return -1;
	l.lun = cfg_array_add(set, count, sizeof(*l.lun), UT_MAX_LUNS);
	if (!l.lun) {
		p->ref_count--;
		return cfg_nomem(p, &st->key);
	}
	l.lun->lun = (uint32_t)n;
	memcpy(l.lun->dev_name, st->args[1].s, strlen(st->args[1].s) + 1);
	l.lun->line = st->key.line;
	snprintf(l.owner, sizeof(l.owner), "LUN %u", (unsigned)n);
	return st->block ? cfg_body(p, st, cfg_lun_stmt, &l) : 0;
}

struct cfg_group_ctx {
	size_t ti, gi;
};

static int cfg_initiator(struct cfg_parser *p, const struct cfg_stmt *st,
			 struct ut_group_cfg *g)
{
	const char *v;
	size_t len;

	if (cfg_one(p, st, &v))
		return -1;
	/* The pattern is an iSCSI name with wildcards, after an optional
	 * '!' that makes it exclude. */
	len = strlen(v) - (v[0] == '!');
	if (len == 0)
		return cfg_err(p, &st->args[0], "INITIATOR pattern is empty");
	if (len >= UT_NAME_MAX)
		return cfg_err(p, &st->args[0],
			       "INITIATOR pattern is longer "
			       "than %d bytes",
			       UT_NAME_MAX - 1);
	if (p->initiators >= UT_MAX_INITIATOR_ENTRIES ||
	    g->initiator_count >= UT_MAX_INITIATORS)
		return cfg_err(p, &st->key,
			       "too many INITIATOR lines (%d per "
			       "group, %d in all)",
			       UT_MAX_INITIATORS, UT_MAX_INITIATOR_ENTRIES);
	if (cfg_strv_add(&g->initiators, &g->initiator_count, v,
			 UT_MAX_INITIATORS))
		return cfg_nomem(p, &st->key);
	p->initiators++;
	return 0;
}

static int cfg_group_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	struct cfg_group_ctx *c = ctx;
	struct ut_target_cfg *t = &p->cfg->targets[c->ti];
	struct ut_group_cfg *g = &t->groups[c->gi];
	char owner[UT_DEV_NAME_MAX + 16];

	if (cfg_key(st, "INITIATOR"))
		return cfg_initiator(p, st, g);
	if (cfg_key(st, "LUN"))
		return cfg_lun(p, st, c->ti, c->gi);
	snprintf(owner, sizeof(owner), "group '%s'", g->name);
	return cfg_unsupported(p, st, owner);
}

static int cfg_group(struct cfg_parser *p, struct cfg_stmt *st, size_t ti)
{
	struct ut_target_cfg *t = &p->cfg->targets[ti];
	struct cfg_group_ctx c = {.ti = ti};
	struct ut_group_cfg *g;
	const char *name;

	if (cfg_name(p, st, UT_DEV_NAME_MAX, &name))
		return -1;
	for (size_t i = 0; i < t->group_count; i++)
		if (!strcmp(t->groups[i].name, name))
			return cfg_err(p, &st->args[0],
				       "group '%s' is defined "
				       "twice in target '%s'",
				       name, t->iqn);
	g = cfg_array_add(&t->groups, &t->group_count, sizeof(*g),
			  UT_MAX_GROUPS);
	if (!g)
		return t->group_count >= UT_MAX_GROUPS
			       ? cfg_err(p, &st->key,
					 "more than %d groups in one "
					 "target",
					 UT_MAX_GROUPS)
			       : cfg_nomem(p, &st->key);
	memcpy(g->name, name, strlen(name) + 1);
	c.gi = t->group_count - 1;
	return st->block ? cfg_body(p, st, cfg_group_stmt, &c) : 0;
}

/* ------------------------------------------------------ TARGET, driver */

/* portal ADDR[:PORT] in portal group tpgt (1 outside PORTAL_GROUP). */
static int cfg_portal(struct cfg_parser *p, const struct cfg_stmt *st,
		      uint16_t tpgt)
{
	struct ut_config *cfg = p->cfg;
	char host[256], norm[300];
	size_t n = cfg->portal_count;
	uint16_t *slot;
	const char *s;
	uint16_t port;

	if (cfg_one(p, st, &s))
		return -1;
	if (ut_portal_parse(s, host, sizeof(host), &port))
		return cfg_err(p, &st->args[0],
			       "bad portal '%.64s' (expected "
			       "ADDR[:PORT] or [IPV6][:PORT], PORT 1..65535)",
			       s);
	snprintf(norm, sizeof(norm), strchr(host, ':') ? "[%s]:%u" : "%s:%u",
		 host, port);
	if (n >= UT_MAX_PORTALS)
		return cfg_err(p, &st->key, "more than %d %s lines",
			       UT_MAX_PORTALS, st->key.s);
	/* portal_tpgts has one entry per portal (config.h) */
	if (cfg_portal_tpgts_fill(cfg))
		return cfg_nomem(p, &st->key);
	slot = cfg_array_add(&cfg->portal_tpgts, &n, sizeof(*slot),
			     UT_MAX_PORTALS);
	if (!slot)
		return cfg_nomem(p, &st->key);
	*slot = tpgt;
	if (cfg_strv_add(&cfg->portals, &cfg->portal_count, norm,
			 UT_MAX_PORTALS))
		return cfg_nomem(p, &st->key);
	return 0;
}

static int cfg_portal_group_stmt(struct cfg_parser *p, struct cfg_stmt *st,
				 void *ctx)
{
	if (cfg_key(st, "portal") || cfg_key(st, "listen"))
		return cfg_portal(p, st, *(uint16_t *)ctx);
	return cfg_unsupported(p, st, "PORTAL_GROUP");
}

/* PORTAL_GROUP N { portal ... }: utarget extension, RFC 7143 §4.4.1. */
static int cfg_portal_group(struct cfg_parser *p, struct cfg_stmt *st)
{
	uint64_t n;
	uint16_t tpgt;

	if (st->nargs != 1 || cfg_parse_dec(st->args[0].s, 65535, &n) || n == 0)
		return cfg_err(p, st->nargs ? &st->args[0] : &st->key,
			       "PORTAL_GROUP needs a tag 1..65535");
	tpgt = (uint16_t)n;
	return st->block ? cfg_body(p, st, cfg_portal_group_stmt, &tpgt) : 0;
}

static int cfg_allowed_portal(struct cfg_parser *p, const struct cfg_stmt *st,
			      struct ut_target_cfg *t)
{
	const char *v;

	/* A pattern (SCST matches it with wildcards), not an address. */
	if (cfg_one(p, st, &v))
		return -1;
	if (!*v || strlen(v) > 255)
		return cfg_err(p, &st->args[0],
			       "allowed_portal must be 1 to "
			       "255 bytes");
	if (t->allowed_portal_count >= UT_MAX_ALLOWED_PORTALS)
		return cfg_err(p, &st->key, "more than %d allowed_portal lines",
			       UT_MAX_ALLOWED_PORTALS);
	if (cfg_strv_add(&t->allowed_portals, &t->allowed_portal_count, v,
			 UT_MAX_ALLOWED_PORTALS))
		return cfg_nomem(p, &st->key);
	return 0;
}

static int cfg_target_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	size_t ti = *(size_t *)ctx;
	struct ut_target_cfg *t = &p->cfg->targets[ti];
	char owner[UT_NAME_MAX + 16];
	int pi;

	if (cfg_key(st, "LUN"))
		return cfg_lun(p, st, ti, CFG_NO_GROUP);
	if (cfg_key(st, "GROUP"))
		return cfg_group(p, st, ti);
	if (cfg_key(st, "enabled"))
		return cfg_bool(p, st, &t->enabled);
	if (cfg_key(st, "alias"))
		return cfg_text(p, st, "the target", t->alias,
				sizeof(t->alias));
	if (cfg_key(st, "allowed_portal"))
		return cfg_allowed_portal(p, st, t);
	if (cfg_key(st, "rel_tgt_id")) {
		uint64_t n;

		if (cfg_uint(p, st, 1, 65535, &n))
			return -1;
		t->rel_tgt_id = (uint16_t)n;
		return 0;
	}
	if (cfg_key(st, "IncomingUser"))
		return cfg_user_add(p, st, &t->incoming, &t->incoming_count);
	if (cfg_key(st, "OutgoingUser"))
		return cfg_user(p, st, &t->outgoing);
	pi = cfg_find_param(st);
	if (pi >= 0) {
		p->tmask[ti] |= 1u << pi;
		return cfg_param_set(p, st, &cfg_params[pi], &t->params);
	}
	snprintf(owner, sizeof(owner), "target '%s'", t->iqn);
	return cfg_unsupported(p, st, owner);
}

static int cfg_target(struct cfg_parser *p, struct cfg_stmt *st)
{
	struct ut_config *cfg = p->cfg;
	struct ut_target_cfg *t;
	const char *iqn;
	uint32_t *mask;
	size_t ti;

	if (cfg_name(p, st, UT_NAME_MAX, &iqn))
		return -1;
	for (size_t i = 0; i < cfg->target_count; i++)
		if (!strcmp(cfg->targets[i].iqn, iqn))
			return cfg_err(p, &st->args[0],
				       "target '%s' is defined "
				       "twice (first at line %d)",
				       iqn, cfg->targets[i].line);
	if (cfg->target_count >= UT_MAX_TARGETS)
		return cfg_err(p, &st->key, "more than %d targets",
			       UT_MAX_TARGETS);
	mask = cfg_array_add(&p->tmask, &p->tmask_count, sizeof(*mask),
			     UT_MAX_TARGETS);
	if (!mask)
		return cfg_nomem(p, &st->key);
	t = cfg_array_add(&cfg->targets, &cfg->target_count, sizeof(*t),
			  UT_MAX_TARGETS);
	if (!t) {
		p->tmask_count--;
		return cfg_nomem(p, &st->key);
	}
	cfg_target_init(t, cfg);
	memcpy(t->iqn, iqn, strlen(iqn) + 1);
	t->line = st->key.line;
	ti = cfg->target_count - 1;
	return st->block ? cfg_body(p, st, cfg_target_stmt, &ti) : 0;
}

static int cfg_driver_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	struct ut_config *cfg = p->cfg;
	int pi;

	if (cfg_key(st, "TARGET"))
		return cfg_target(p, st);
	if (cfg_key(st, "enabled"))
		return cfg_bool(p, st, &cfg->iscsi_enabled);
	if (cfg_key(st, "portal") || cfg_key(st, "listen"))
		return cfg_portal(p, st, 1);
	if (cfg_key(st, "PORTAL_GROUP"))
		return cfg_portal_group(p, st);
	/* At the driver level the users authenticate discovery sessions. */
	if (cfg_key(st, "IncomingUser"))
		return cfg_user_add(p, st, &cfg->discovery_incoming,
				    &cfg->discovery_incoming_count);
	if (cfg_key(st, "OutgoingUser"))
		return cfg_user(p, st, &cfg->discovery_outgoing);
	pi = cfg_find_param(st);
	if (pi >= 0)
		return cfg_param_set(p, st, &cfg_params[pi], &cfg->params);
	return cfg_unsupported(p, st, "target driver 'iscsi'");
}

int cfg_driver(struct cfg_parser *p, struct cfg_stmt *st)
{
	const char *name;

	if (cfg_name(p, st, 64, &name))
		return -1;
	if (strcmp(name, "iscsi")) {
		cfg_warn(p, &st->args[0],
			 "target driver '%s' is not supported "
			 "by utarget; block ignored",
			 name);
		return st->block ? cfg_skip(p, st) : 0;
	}
	return st->block ? cfg_body(p, st, cfg_driver_stmt, NULL) : 0;
}

/* ------------------------------------------- DEVICE_GROUP (ALUA) */

struct cfg_tg_ctx {
	size_t dg, tg, target;
};

static struct ut_tgt_group_cfg *cfg_tg_of(struct cfg_parser *p,
					  const struct cfg_tg_ctx *c)
{
	return &p->cfg->dgroups[c->dg].tgroups[c->tg];
}

static int cfg_tg_target_stmt(struct cfg_parser *p, struct cfg_stmt *st,
			      void *ctx)
{
	struct cfg_tg_ctx *c = ctx;
	struct ut_tg_target_cfg *tt = &cfg_tg_of(p, c)->targets[c->target];
	uint64_t n;

	if (!cfg_key(st, "rel_tgt_id"))
		return cfg_unsupported(p, st, tt->name);
	if (cfg_uint(p, st, 1, 65535, &n))
		return -1;
	tt->rel_tgt_id = (uint16_t)n;
	return 0;
}

/* TARGET port [ { rel_tgt_id N } ] in a TARGET_GROUP. */
static int cfg_tg_target(struct cfg_parser *p, struct cfg_stmt *st,
			 struct cfg_tg_ctx *c)
{
	struct ut_tgt_group_cfg *tg = cfg_tg_of(p, c);
	struct ut_tg_target_cfg *tt;
	const char *name;

	if (cfg_name(p, st, UT_PORT_NAME_MAX, &name))
		return -1;
	tt = cfg_array_add(&tg->targets, &tg->target_count, sizeof(*tt),
			   UT_MAX_TG_TARGETS);
	if (!tt)
		return tg->target_count >= UT_MAX_TG_TARGETS
			       ? cfg_err(p, &st->key,
					 "more than %d TARGET lines in "
					 "TARGET_GROUP '%s'",
					 UT_MAX_TG_TARGETS, tg->name)
			       : cfg_nomem(p, &st->key);
	memcpy(tt->name, name, strlen(name) + 1);
	tt->line = st->key.line;
	c->target = tg->target_count - 1;
	return st->block ? cfg_body(p, st, cfg_tg_target_stmt, c) : 0;
}

static int cfg_tg_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	struct cfg_tg_ctx *c = ctx;
	struct ut_tgt_group_cfg *tg = cfg_tg_of(p, c);
	char owner[UT_DEV_NAME_MAX + 20];
	uint64_t n;

	if (cfg_key(st, "TARGET"))
		return cfg_tg_target(p, st, c);
	if (cfg_key(st, "group_id")) {
		if (cfg_uint(p, st, 0, 65535, &n))
			return -1;
		tg->group_id = (uint32_t)n;
		return 0;
	}
	if (cfg_key(st, "preferred"))
		return cfg_bool(p, st, &tg->preferred);
	if (cfg_key(st, "state")) {
		const char *v;

		if (cfg_one(p, st, &v))
			return -1;
		if (scsi_alua_state_parse(v, &tg->state))
			return cfg_err(p, &st->args[0],
				       "state '%.32s' is not one of active, "
				       "nonoptimized, standby, unavailable, "
				       "offline, transitioning",
				       v);
		return 0;
	}
	snprintf(owner, sizeof(owner), "TARGET_GROUP '%s'", tg->name);
	return cfg_unsupported(p, st, owner);
}

static int cfg_tgroup(struct cfg_parser *p, struct cfg_stmt *st, size_t dgi)
{
	struct ut_dev_group_cfg *dg = &p->cfg->dgroups[dgi];
	struct cfg_tg_ctx c = {.dg = dgi};
	struct ut_tgt_group_cfg *tg;
	const char *name;

	if (cfg_name(p, st, UT_DEV_NAME_MAX, &name))
		return -1;
	tg = cfg_array_add(&dg->tgroups, &dg->tgroup_count, sizeof(*tg),
			   UT_MAX_TGT_GROUPS);
	if (!tg)
		return dg->tgroup_count >= UT_MAX_TGT_GROUPS
			       ? cfg_err(p, &st->key,
					 "more than %d TARGET_GROUPs in "
					 "device group '%s'",
					 UT_MAX_TGT_GROUPS, dg->name)
			       : cfg_nomem(p, &st->key);
	memcpy(tg->name, name, strlen(name) + 1);
	tg->group_id = UINT32_MAX; /* required: validation says so */
	tg->state = SCSI_ALUA_OPTIMIZED;
	tg->line = st->key.line;
	c.tg = dg->tgroup_count - 1;
	return st->block ? cfg_body(p, st, cfg_tg_stmt, &c) : 0;
}

static int cfg_dg_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	size_t dgi = *(size_t *)ctx;
	struct ut_dev_group_cfg *dg = &p->cfg->dgroups[dgi];
	char owner[UT_DEV_NAME_MAX + 20];
	const char *name;
	uint64_t n;

	if (cfg_key(st, "TARGET_GROUP"))
		return cfg_tgroup(p, st, dgi);
	if (cfg_key(st, "DEVICE")) {
		if (st->block)
			return cfg_err(p, &st->key,
				       "DEVICE in a DEVICE_GROUP takes no "
				       "block");
		if (cfg_name(p, st, UT_DEV_NAME_MAX, &name))
			return -1;
		if (dg->dev_count >= UT_MAX_DG_DEVS)
			return cfg_err(p, &st->key,
				       "more than %d devices in device "
				       "group '%s'",
				       UT_MAX_DG_DEVS, dg->name);
		return cfg_strv_add(&dg->devs, &dg->dev_count, name,
				    UT_MAX_DG_DEVS)
			       ? cfg_nomem(p, &st->key)
			       : 0;
	}
	if (cfg_key(st, "implicit_transition_time")) {
		if (cfg_uint(p, st, 0, 255, &n))
			return -1;
		dg->transition_time_s = (uint8_t)n;
		return 0;
	}
	snprintf(owner, sizeof(owner), "device group '%s'", dg->name);
	return cfg_unsupported(p, st, owner);
}

/* DEVICE_GROUP name { DEVICE ... TARGET_GROUP ... } (SCST). */
int cfg_dev_group(struct cfg_parser *p, struct cfg_stmt *st)
{
	struct ut_config *cfg = p->cfg;
	struct ut_dev_group_cfg *dg;
	const char *name;
	size_t dgi;

	if (cfg_name(p, st, UT_DEV_NAME_MAX, &name))
		return -1;
	dg = cfg_array_add(&cfg->dgroups, &cfg->dgroup_count, sizeof(*dg),
			   UT_MAX_DEV_GROUPS);
	if (!dg)
		return cfg->dgroup_count >= UT_MAX_DEV_GROUPS
			       ? cfg_err(p, &st->key,
					 "more than %d device groups",
					 UT_MAX_DEV_GROUPS)
			       : cfg_nomem(p, &st->key);
	memcpy(dg->name, name, strlen(name) + 1);
	dg->line = st->key.line;
	dgi = cfg->dgroup_count - 1;
	return st->block ? cfg_body(p, st, cfg_dg_stmt, &dgi) : 0;
}
