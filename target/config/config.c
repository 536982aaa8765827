/*
 * config.c — the configuration model: defaults, the embedded default
 * configuration, cross-reference validation, command-line overrides and
 * freeing.  The scst.conf front end is in scstconf.c; --lun specs, sizes
 * and portals are parsed in lunspec.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_int.h"

/* ------------------------------------------------------------- helpers */

static int cfg_is_pow2(size_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

void *cfg_array_add(void *arr, size_t *count, size_t size, size_t max)
{
	void **arrp = arr;
	size_t n = *count;
	char *base = *arrp;

	if (n >= max)
		return NULL;
	/* The capacity is the next power of two at or above n: grow exactly
	 * when n is 0 or a power of two. */
	if (n == 0 || cfg_is_pow2(n)) {
		size_t cap = n ? 2 * n : 1;

		if (cap > max)
			cap = max;
		if (cap > SIZE_MAX / size)
			return NULL;
		base = realloc(base, cap * size);
		if (!base)
			return NULL;
		*arrp = base;
	}
	memset(base + n * size, 0, size);
	*count = n + 1;
	return base + n * size;
}

int cfg_strv_add(char ***v, size_t *count, const char *s, size_t max)
{
	char *copy = strdup(s);
	char **slot;

	if (!copy)
		return -1;
	slot = cfg_array_add(v, count, sizeof(**v), max);
	if (!slot) {
		free(copy);
		return -1;
	}
	*slot = copy;
	return 0;
}

static void cfg_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int cfg_copy(char *dst, size_t cap, const char *src)
{
	size_t len = strlen(src);

	if (len >= cap)
		return -1;
	memcpy(dst, src, len + 1);
	return 0;
}

/* FNV-1a: a stable, seed-free hash, so a device keeps its serial number
 * from one run (and one world) to the next. */
static uint64_t cfg_fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

void cfg_dev_init(struct ut_dev_cfg *dev, enum bs_kind kind)
{
	memset(dev, 0, sizeof(*dev));
	dev->kind = kind;
	dev->block_size = 512;
	dev->sanitize_bytes_per_s = UT_SANITIZE_BYTES_PER_S;
	memcpy(dev->t10_vendor_id, "UTARGET", sizeof("UTARGET"));
	memcpy(dev->prod_id, "utarget disk", sizeof("utarget disk"));
}

void cfg_dev_finish(struct ut_dev_cfg *dev)
{
	if (!dev->t10_dev_id[0])
		cfg_copy(dev->t10_dev_id, sizeof(dev->t10_dev_id), dev->name);
	if (!dev->usn[0])
		snprintf(dev->usn, sizeof(dev->usn), "%016llx",
			 (unsigned long long)cfg_fnv1a(dev->name));
}

void cfg_target_init(struct ut_target_cfg *t, const struct ut_config *cfg)
{
	memset(t, 0, sizeof(*t));
	t->enabled = true;
	t->params = cfg->params;
}

void cfg_users_free(struct ut_user_cfg *u, size_t n)
{
	if (u)
		explicit_bzero(u, n * sizeof(*u));
	free(u);
}

static void cfg_group_free(struct ut_group_cfg *g)
{
	cfg_strv_free(g->initiators, g->initiator_count);
	free(g->luns);
}

void cfg_target_free(struct ut_target_cfg *t)
{
	free(t->luns);
	for (size_t i = 0; i < t->group_count; i++)
		cfg_group_free(&t->groups[i]);
	free(t->groups);
	cfg_users_free(t->incoming, t->incoming_count);
	explicit_bzero(&t->outgoing, sizeof(t->outgoing));
	cfg_strv_free(t->allowed_portals, t->allowed_portal_count);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------ defaults */

void ut_iscsi_params_default(struct ut_iscsi_params *p)
{
	memset(p, 0, sizeof(*p));
	/* Prefer no digests (they cost CPU and the TCP checksum already
	 * guards the link) but accept CRC32C when the initiator insists. */
	p->header_digest[0] = UT_DIGEST_NONE;
	p->header_digest[1] = UT_DIGEST_CRC32C;
	p->header_digest_count = 2;
	p->data_digest[0] = UT_DIGEST_NONE;
	p->data_digest[1] = UT_DIGEST_CRC32C;
	p->data_digest_count = 2;
	p->initial_r2t = false;
	p->immediate_data = true;
	p->max_recv_data_segment_length = 262144;
	p->max_xmit_data_segment_length = 262144;
	p->max_burst_length = 1048576;
	p->first_burst_length = 262144;
	p->max_outstanding_r2t = 32;
	p->default_time2wait = 2;
	p->default_time2retain = 20;
	p->queued_commands = 128;
	p->max_sessions = 0;
	p->nop_in_interval_s = 30;
	p->nop_in_timeout_s = 30;
	p->rsp_timeout_s = 90;
	p->session_buffer_limit = 256u << 20;
}

void ut_config_init(struct ut_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	ut_iscsi_params_default(&cfg->params);
	/* utarget serves what it is given: a target or driver is disabled
	 * only by an explicit "enabled 0" (SCST defaults to disabled). */
	cfg->iscsi_enabled = true;
}

void ut_config_free(struct ut_config *cfg)
{
	free(cfg->devs);
	for (size_t i = 0; i < cfg->target_count; i++)
		cfg_target_free(&cfg->targets[i]);
	free(cfg->targets);
	cfg_strv_free(cfg->portals, cfg->portal_count);
	free(cfg->portal_tpgts);
	for (size_t i = 0; i < cfg->dgroup_count; i++)
		cfg_dgroup_free(&cfg->dgroups[i]);
	free(cfg->dgroups);
	cfg_users_free(cfg->discovery_incoming, cfg->discovery_incoming_count);
	explicit_bzero(&cfg->discovery_outgoing,
		       sizeof(cfg->discovery_outgoing));
	ut_config_init(cfg);
}

int ut_config_default(struct ut_config *cfg)
{
	struct ut_dev_cfg dev;
	char *portal = UT_DEFAULT_PORTAL;

	ut_config_init(cfg);
	cfg_dev_init(&dev, BS_MEM);
	cfg_copy(dev.name, sizeof(dev.name), "mem0");
	dev.size_bytes = 1ull << 30;
	dev.thin = true;
	cfg_dev_finish(&dev);
	if (ut_config_set_portals(cfg, &portal, 1) ||
	    ut_config_set_target(cfg, UT_DEFAULT_TARGET))
		goto fail;
	if (!cfg_array_add(&cfg->devs, &cfg->dev_count, sizeof(dev),
			   UT_MAX_DEVS))
		goto fail;
	cfg->devs[0] = dev;
	struct ut_lun_cfg *lun = cfg_array_add(&cfg->targets[0].luns,
					       &cfg->targets[0].lun_count,
					       sizeof(*lun), UT_MAX_LUNS);
	if (!lun)
		goto fail;
	lun->lun = 0;
	cfg_copy(lun->dev_name, sizeof(lun->dev_name), "mem0");
	return 0;
fail:
	ut_config_free(cfg);
	return -1;
}

const struct ut_dev_cfg *ut_config_find_dev(const struct ut_config *cfg,
					    const char *name)
{
	for (size_t i = 0; i < cfg->dev_count; i++)
		if (strcmp(cfg->devs[i].name, name) == 0)
			return &cfg->devs[i];
	return NULL;
}

/* ---------------------------------------------------------- validation */

struct cfg_vctx {
	ut_config_diag_fn diag;
	void *arg;
	int errors;
};

static void cfg_vdiag(struct cfg_vctx *v, int severity, int line,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void cfg_vdiag(struct cfg_vctx *v, int severity, int line,
		      const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (severity)
		v->errors++;
	if (!v->diag)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->diag(v->arg, severity, NULL, line, 0, msg);
}

static void cfg_validate_dev(struct cfg_vctx *v, const struct ut_config *cfg,
			     size_t i)
{
	const struct ut_dev_cfg *d = &cfg->devs[i];
	bool sized = d->kind == BS_MEM || d->kind == BS_NULL;

	if (!d->name[0])
		cfg_vdiag(v, 1, d->line, "device %zu has no name", i);
	for (size_t j = 0; j < i; j++)
		if (strcmp(cfg->devs[j].name, d->name) == 0)
			cfg_vdiag(v, 1, d->line, "device '%s' is defined twice",
				  d->name);
	if (d->block_size != 512 && d->block_size != 4096)
		cfg_vdiag(v, 1, d->line,
			  "device '%s': blocksize must be 512 or 4096",
			  d->name);
	else if (d->size_bytes % d->block_size)
		cfg_vdiag(
			v, 1, d->line,
			"device '%s': size must be a multiple of the block size",
			d->name);
	if (sized && d->size_bytes == 0)
		cfg_vdiag(v, 1, d->line,
			  "device '%s': mem and null devices need a size > 0",
			  d->name);
	if (d->size_bytes > UT_DEV_SIZE_MAX)
		cfg_vdiag(v, 1, d->line, "device '%s': size exceeds 1 EiB",
			  d->name);
	/* A RAM disk's chunk table is 8 bytes per MiB, allocated at open. */
	if (d->kind == BS_MEM && d->size_bytes > UT_MEM_SIZE_MAX)
		cfg_vdiag(v, 1, d->line,
			  "device '%s': a mem device is at most 16 TiB",
			  d->name);
	if ((d->kind == BS_FILE || d->kind == BS_BLOCK) && !d->path[0])
		cfg_vdiag(v, 1, d->line,
			  "device '%s': file devices need a path", d->name);
	if (d->kind == BS_RBD || d->kind == BS_TCMU) {
		const char *err;

		if (ut_remote_path_check(d->kind, d->path, &err))
			cfg_vdiag(v, 1, d->line, "device '%s': %s", d->name,
				  err);
	}
	if (d->kind == BS_RBD && d->size_bytes)
		cfg_vdiag(v, 1, d->line,
			  "device '%s': an rbd image has its own size (use "
			  "rbd resize)",
			  d->name);
	if (d->kind != BS_MEM && d->kind != BS_NULL && d->kind != BS_FILE &&
	    d->kind != BS_BLOCK && d->kind != BS_RBD && d->kind != BS_TCMU &&
	    d->kind != BS_SIM /* simnet: scenarios, live steps */)
		cfg_vdiag(v, 1, d->line, "device '%s': unknown kind %d",
			  d->name, (int)d->kind);
}

/* One LUN set: a target's default set (group NULL) or a group's. */
static void cfg_validate_luns(struct cfg_vctx *v, const struct ut_config *cfg,
			      const struct ut_target_cfg *t,
			      const struct ut_group_cfg *g,
			      const struct ut_lun_cfg *luns, size_t n,
			      bool warn_empty)
{
	const char *gname = g ? g->name : NULL;
	bool have_lun0 = false;

	for (size_t i = 0; i < n; i++) {
		const struct ut_lun_cfg *l = &luns[i];

		if (l->lun >= UT_MAX_LUNS)
			cfg_vdiag(v, 1, l->line,
				  "target '%s': LUN %u is out of range (0..%d)",
				  t->iqn, l->lun, UT_MAX_LUNS - 1);
		if (!ut_config_find_dev(cfg, l->dev_name))
			cfg_vdiag(
				v, 1, l->line,
				"target '%s': LUN %u names unknown device '%s'",
				t->iqn, l->lun, l->dev_name);
		for (size_t j = 0; j < i; j++)
			if (luns[j].lun == l->lun)
				cfg_vdiag(v, 1, l->line,
					  "target '%s': LUN %u is mapped twice",
					  t->iqn, l->lun);
		have_lun0 |= l->lun == 0;
	}
	/* SAM-5 §4.6.2: REPORT LUNS is addressed to LUN 0; initiators that
	 * scan sequentially stop at a missing LUN 0. */
	if (!have_lun0 && (n > 0 || warn_empty))
		cfg_vdiag(v, 0, t->line,
			  "target '%s'%s%s%s has no LUN 0; initiators may not "
			  "find its LUNs",
			  t->iqn, gname ? " group '" : "", gname ? gname : "",
			  gname ? "'" : "");
}

static void cfg_validate_params(struct cfg_vctx *v, int line, const char *who,
				const struct ut_iscsi_params *p)
{
	/* RFC 7143 §13.14: FirstBurstLength MUST NOT exceed MaxBurstLength. */
	if (p->first_burst_length > p->max_burst_length)
		cfg_vdiag(v, 1, line,
			  "%s: FirstBurstLength %u exceeds MaxBurstLength %u",
			  who, p->first_burst_length, p->max_burst_length);
}

/* A TargetAlias is human-readable text (RFC 7143 §13.6): no control
 * characters, which scst.conf cannot hold either (its lexer refuses them),
 * so a configuration with one would not survive its own save. */
bool ut_text_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

int ut_config_validate(const struct ut_config *cfg, ut_config_diag_fn diag,
		       void *diag_arg)
{
	struct cfg_vctx v = {.diag = diag, .arg = diag_arg};

	for (size_t i = 0; i < cfg->dev_count; i++)
		cfg_validate_dev(&v, cfg, i);
	cfg_validate_params(&v, 0, "TARGET_DRIVER iscsi", &cfg->params);
	for (size_t i = 0; i < cfg->target_count; i++) {
		const struct ut_target_cfg *t = &cfg->targets[i];

		if (!t->iqn[0])
			cfg_vdiag(&v, 1, t->line, "target %zu has no name", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->targets[j].iqn, t->iqn) == 0)
				cfg_vdiag(&v, 1, t->line,
					  "target '%s' is defined twice",
					  t->iqn);
		cfg_validate_params(&v, t->line, t->iqn, &t->params);
		if (ut_text_has_control(t->iqn) ||
		    ut_text_has_control(t->alias))
			cfg_vdiag(&v, 1, t->line,
				  "the name or alias of target '%s' holds a "
				  "control character",
				  t->iqn);
		for (size_t j = 0; j < t->group_count; j++) {
			const struct ut_group_cfg *g = &t->groups[j];
			bool bad = ut_text_has_control(g->name);

			for (size_t k = 0; k < g->initiator_count; k++)
				bad |= ut_text_has_control(g->initiators[k]);
			if (bad)
				cfg_vdiag(&v, 1, t->line,
					  "group '%s' of target '%s' holds a "
					  "control character",
					  g->name, t->iqn);
		}
		/* Targets that map everything through groups often leave the
		 * default set empty on purpose. */
		cfg_validate_luns(&v, cfg, t, NULL, t->luns, t->lun_count,
				  t->group_count == 0);
		for (size_t j = 0; j < t->group_count; j++)
			cfg_validate_luns(&v, cfg, t, &t->groups[j],
					  t->groups[j].luns,
					  t->groups[j].lun_count, false);
	}
	v.errors += cfg_validate_alua(cfg, diag, diag_arg);
	return v.errors ? -1 : 0;
}

/* ----------------------------------------------- command-line overrides */

/* "ADDR[:PORT][,tpgt=N]": the portal into addr[cap], the tag into *tpgt. */
static int cfg_portal_tpgt_split(const char *s, char *addr, size_t cap,
				 uint16_t *tpgt)
{
	const char *comma = strchr(s, ',');
	uint64_t v = 1;
	size_t n = comma ? (size_t)(comma - s) : strlen(s);

	if (n >= cap)
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (comma && (strncmp(comma, ",tpgt=", 6) ||
		      cfg_parse_dec(comma + 6, 65535, &v) || v == 0))
		return -1;
	*tpgt = (uint16_t)v;
	return 0;
}

int ut_config_set_portals(struct ut_config *cfg, char *const *portals, size_t n)
{
	char **v = NULL;
	uint16_t *tpgts = NULL;
	size_t count = 0, tcount = 0;

	if (n > UT_MAX_PORTALS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char addr[300], host[256], norm[300];
		uint16_t port, tpgt, *slot;

		if (cfg_portal_tpgt_split(portals[i], addr, sizeof(addr),
					  &tpgt) ||
		    ut_portal_parse(addr, host, sizeof(host), &port))
			goto fail;
		snprintf(norm, sizeof(norm),
			 strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
		if (cfg_strv_add(&v, &count, norm, UT_MAX_PORTALS))
			goto fail;
		slot = cfg_array_add(&tpgts, &tcount, sizeof(*tpgts),
				     UT_MAX_PORTALS);
		if (!slot)
			goto fail;
		*slot = tpgt;
	}
	cfg_strv_free(cfg->portals, cfg->portal_count);
	free(cfg->portal_tpgts);
	cfg->portals = v;
	cfg->portal_tpgts = tpgts;
	cfg->portal_count = count;
	return 0;
fail:
	cfg_strv_free(v, count);
	free(tpgts);
	return -1;
}

int ut_config_set_target(struct ut_config *cfg, const char *iqn)
{
	struct ut_target_cfg *t;
	size_t len = strlen(iqn);

	if (len == 0 || len >= UT_NAME_MAX || cfg->target_count > 1)
		return -1;
	if (cfg->target_count == 1) {
		char old[UT_NAME_MAX];

		memcpy(old, cfg->targets[0].iqn, sizeof(old));
		memcpy(cfg->targets[0].iqn, iqn, len + 1);
		cfg_alua_rename_target(cfg, old, iqn);
		return 0;
	}
	t = cfg_array_add(&cfg->targets, &cfg->target_count, sizeof(*t),
			  UT_MAX_TARGETS);
	if (!t)
		return -1;
	cfg_target_init(t, cfg);
	memcpy(t->iqn, iqn, len + 1);
	return 0;
}

static bool cfg_dev_in_groups(const struct ut_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->target_count; i++) {
		const struct ut_target_cfg *t = &cfg->targets[i];

		for (size_t j = 0; j < t->group_count; j++)
			for (size_t k = 0; k < t->groups[j].lun_count; k++)
				if (!strcmp(t->groups[j].luns[k].dev_name,
					    name))
					return true;
	}
	return false;
}

/* The new device array: devices still used by a group, then lun0..N-1. */
static int cfg_new_devs(const struct ut_config *cfg,
			const struct ut_dev_cfg *devs, size_t n,
			struct ut_dev_cfg **out, size_t *out_count)
{
	struct ut_dev_cfg *nd = NULL, *d;
	size_t count = 0;

	for (size_t i = 0; i < cfg->dev_count; i++) {
		if (!cfg_dev_in_groups(cfg, cfg->devs[i].name))
			continue;
		/* A kept device must not collide with the lunN names. */
		for (size_t k = 0; k < n; k++) {
			char name[UT_DEV_NAME_MAX];

			snprintf(name, sizeof(name), "lun%zu", k);
			if (!strcmp(cfg->devs[i].name, name))
				goto fail;
		}
		d = cfg_array_add(&nd, &count, sizeof(*d), UT_MAX_DEVS);
		if (!d)
			goto fail;
		*d = cfg->devs[i];
	}
	for (size_t i = 0; i < n; i++) {
		d = cfg_array_add(&nd, &count, sizeof(*d), UT_MAX_DEVS);
		if (!d)
			goto fail;
		*d = devs[i];
		snprintf(d->name, sizeof(d->name), "lun%zu", i);
		d->line = 0;
		cfg_dev_finish(d);
	}
	*out = nd;
	*out_count = count;
	return 0;
fail:
	free(nd);
	return -1;
}

int ut_config_set_luns(struct ut_config *cfg, const struct ut_dev_cfg *devs,
		       size_t n)
{
	struct ut_lun_cfg **sets = NULL;
	struct ut_dev_cfg *nd = NULL;
	size_t nd_count = 0, t_count;
	int rc = -1;

	if (n > UT_MAX_LUNS)
		return -1;
	if (cfg->target_count == 0 &&
	    ut_config_set_target(cfg, UT_DEFAULT_TARGET))
		return -1;
	t_count = cfg->target_count;
	/* Build everything first, so that a failure leaves cfg untouched. */
	sets = calloc(t_count, sizeof(*sets));
	if (!sets || cfg_new_devs(cfg, devs, n, &nd, &nd_count))
		goto out;
	for (size_t i = 0; i < t_count; i++) {
		size_t count = 0;

		for (size_t k = 0; k < n; k++) {
			struct ut_lun_cfg *l = cfg_array_add(
				&sets[i], &count, sizeof(*l), UT_MAX_LUNS);
			if (!l)
				goto out;
			l->lun = (uint32_t)k;
			l->read_only = devs[k].read_only;
			snprintf(l->dev_name, sizeof(l->dev_name), "lun%zu", k);
		}
	}
	for (size_t i = 0; i < t_count; i++) {
		free(cfg->targets[i].luns);
		cfg->targets[i].luns = sets[i];
		cfg->targets[i].lun_count = n;
		sets[i] = NULL;
	}
	free(cfg->devs);
	cfg->devs = nd;
	cfg->dev_count = nd_count;
	nd = NULL;
	rc = 0;
out:
	if (sets)
		for (size_t i = 0; i < t_count; i++)
			free(sets[i]);
	free(sets);
	free(nd);
	return rc;
}
