/*
 * config_edit.c — small edits of a configuration model, for the control
 * operations (utargetctl lun add, target remove, ...): each edits a copy
 * of the running configuration, which is then validated and applied as a
 * whole (iscsi/reconfig.c).  Every function either changes what it says
 * or leaves the model as it was.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "config/config_int.h"

void ut_dev_cfg_finish(struct ut_dev_cfg *dev)
{
	cfg_dev_finish(dev);
}

struct ut_dev_cfg *ut_config_add_dev(struct ut_config *cfg,
				     const struct ut_dev_cfg *dev)
{
	struct ut_dev_cfg *d;

	if (ut_config_find_dev(cfg, dev->name))
		return NULL;
	d = cfg_array_add(&cfg->devs, &cfg->dev_count, sizeof(*d), UT_MAX_DEVS);
	if (d)
		*d = *dev;
	return d;
}

int ut_config_remove_dev(struct ut_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->dev_count; i++) {
		if (strcmp(cfg->devs[i].name, name))
			continue;
		memmove(&cfg->devs[i], &cfg->devs[i + 1],
			(cfg->dev_count - i - 1) * sizeof(cfg->devs[0]));
		cfg->dev_count--;
		/* Nor is it in an ALUA device group any longer (its LU
		 * leaves the group as it closes). */
		for (size_t g = 0; g < cfg->dgroup_count; g++) {
			struct ut_dev_group_cfg *dg = &cfg->dgroups[g];

			for (size_t k = 0; k < dg->dev_count; k++) {
				if (strcmp(dg->devs[k], name))
					continue;
				free(dg->devs[k]);
				memmove(&dg->devs[k], &dg->devs[k + 1],
					(dg->dev_count - k - 1) *
						sizeof(dg->devs[0]));
				dg->dev_count--;
				break;
			}
		}
		return 0;
	}
	return -1;
}

bool ut_config_dev_used(const struct ut_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->target_count; i++) {
		const struct ut_target_cfg *t = &cfg->targets[i];

		for (size_t k = 0; k < t->lun_count; k++)
			if (!strcmp(t->luns[k].dev_name, name))
				return true;
		for (size_t g = 0; g < t->group_count; g++)
			for (size_t k = 0; k < t->groups[g].lun_count; k++)
				if (!strcmp(t->groups[g].luns[k].dev_name,
					    name))
					return true;
	}
	return false;
}

struct ut_target_cfg *ut_config_find_target(struct ut_config *cfg,
					    const char *iqn)
{
	for (size_t i = 0; i < cfg->target_count; i++)
		if (!strcmp(cfg->targets[i].iqn, iqn))
			return &cfg->targets[i];
	return NULL;
}

struct ut_target_cfg *ut_config_add_target(struct ut_config *cfg,
					   const char *iqn)
{
	struct ut_target_cfg *t;

	if (!iqn[0] || strlen(iqn) >= UT_NAME_MAX ||
	    ut_config_find_target(cfg, iqn))
		return NULL;
	t = cfg_array_add(&cfg->targets, &cfg->target_count, sizeof(*t),
			  UT_MAX_TARGETS);
	if (!t)
		return NULL;
	cfg_target_init(t, cfg);
	memcpy(t->iqn, iqn, strlen(iqn) + 1);
	return t;
}

int ut_config_remove_target(struct ut_config *cfg, const char *iqn)
{
	struct ut_target_cfg *t = ut_config_find_target(cfg, iqn);
	size_t i;

	if (!t)
		return -1;
	i = (size_t)(t - cfg->targets);
	cfg_target_free(t);
	memmove(&cfg->targets[i], &cfg->targets[i + 1],
		(cfg->target_count - i - 1) * sizeof(cfg->targets[0]));
	cfg->target_count--;
	return 0;
}

struct ut_group_cfg *ut_target_find_group(struct ut_target_cfg *t,
					  const char *name)
{
	for (size_t i = 0; i < t->group_count; i++)
		if (!strcmp(t->groups[i].name, name))
			return &t->groups[i];
	return NULL;
}

struct ut_group_cfg *ut_target_add_group(struct ut_target_cfg *t,
					 const char *name)
{
	struct ut_group_cfg *g;

	if (!name[0] || strlen(name) >= UT_DEV_NAME_MAX ||
	    ut_target_find_group(t, name))
		return NULL;
	g = cfg_array_add(&t->groups, &t->group_count, sizeof(*g),
			  UT_MAX_GROUPS);
	if (g)
		memcpy(g->name, name, strlen(name) + 1);
	return g;
}

int ut_target_remove_group(struct ut_target_cfg *t, const char *name)
{
	struct ut_group_cfg *g = ut_target_find_group(t, name);
	size_t i;

	if (!g)
		return -1;
	i = (size_t)(g - t->groups);
	for (size_t k = 0; k < g->initiator_count; k++)
		free(g->initiators[k]);
	free(g->initiators);
	free(g->luns);
	memmove(&t->groups[i], &t->groups[i + 1],
		(t->group_count - i - 1) * sizeof(t->groups[0]));
	t->group_count--;
	return 0;
}

int ut_group_add_initiator(struct ut_group_cfg *g, const char *pattern)
{
	size_t len = strlen(pattern) - (pattern[0] == '!');

	if (len == 0 || len >= UT_NAME_MAX)
		return -1;
	for (size_t i = 0; i < g->initiator_count; i++)
		if (!strcmp(g->initiators[i], pattern))
			return -1;
	return cfg_strv_add(&g->initiators, &g->initiator_count, pattern,
			    UT_MAX_INITIATORS);
}

int ut_group_remove_initiator(struct ut_group_cfg *g, const char *pattern)
{
	for (size_t i = 0; i < g->initiator_count; i++) {
		if (strcmp(g->initiators[i], pattern))
			continue;
		free(g->initiators[i]);
		memmove(&g->initiators[i], &g->initiators[i + 1],
			(g->initiator_count - i - 1) * sizeof(char *));
		g->initiator_count--;
		return 0;
	}
	return -1;
}

/* The LUN set of a target (group NULL) or of one of its groups. */
static void lun_set(struct ut_target_cfg *t, struct ut_group_cfg *g,
		    struct ut_lun_cfg ***set, size_t **count)
{
	*set = g ? &g->luns : &t->luns;
	*count = g ? &g->lun_count : &t->lun_count;
}

struct ut_lun_cfg *ut_lun_find(struct ut_target_cfg *t, struct ut_group_cfg *g,
			       uint32_t lun)
{
	struct ut_lun_cfg **set;
	size_t *count;

	lun_set(t, g, &set, &count);
	for (size_t i = 0; i < *count; i++)
		if ((*set)[i].lun == lun)
			return &(*set)[i];
	return NULL;
}

struct ut_lun_cfg *ut_lun_add(struct ut_target_cfg *t, struct ut_group_cfg *g,
			      uint32_t lun, const char *dev, bool read_only)
{
	struct ut_lun_cfg **set, *l;
	size_t *count;

	if (lun >= UT_MAX_LUNS || strlen(dev) >= UT_DEV_NAME_MAX ||
	    ut_lun_find(t, g, lun))
		return NULL;
	lun_set(t, g, &set, &count);
	l = cfg_array_add(set, count, sizeof(*l), UT_MAX_LUNS);
	if (!l)
		return NULL;
	l->lun = lun;
	l->read_only = read_only;
	memcpy(l->dev_name, dev, strlen(dev) + 1);
	return l;
}

int ut_lun_remove(struct ut_target_cfg *t, struct ut_group_cfg *g, uint32_t lun)
{
	struct ut_lun_cfg **set, *l = ut_lun_find(t, g, lun);
	size_t *count, i;

	if (!l)
		return -1;
	lun_set(t, g, &set, &count);
	i = (size_t)(l - *set);
	memmove(&(*set)[i], &(*set)[i + 1],
		(*count - i - 1) * sizeof((*set)[0]));
	(*count)--;
	return 0;
}

/* ----------------------------------------------------------- attributes */

struct first_diag {
	char *err;
	size_t errlen;
	bool any;
};

static void first_diag(void *arg, int severity, const char *file, int line,
		       int column, const char *msg)
{
	struct first_diag *f = arg;

	(void)severity, (void)file, (void)line, (void)column;
	if (!f->any && f->errlen)
		snprintf(f->err, f->errlen, "%s", msg);
	f->any = true;
}

/* The scst.conf parser does the work, so that a value means the same
 * here as in the file: "TARGET_DRIVER iscsi { KEY "VALUE" }" read over a
 * configuration whose driver-level parameters are p.  Any diagnostic,
 * a warning for an unknown key included, refuses the value. */
int ut_params_set(struct ut_iscsi_params *p, const char *key, const char *value,
		  char *err, size_t errlen)
{
	struct first_diag f = {err, errlen, false};
	struct ut_config cfg;
	char text[1024];
	size_t n = 0;
	int rc;

	for (const char *s = key; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_')) {
			snprintf(err, errlen, "bad attribute name");
			return -1;
		}
	n = (size_t)snprintf(text, sizeof(text), "TARGET_DRIVER iscsi {\n%s \"",
			     key);
	for (const char *s = value; *s && n + 8 < sizeof(text); s++) {
		if (*s == '\n' || *s == '\r') {
			snprintf(err, errlen, "a value is one line");
			return -1;
		}
		if (*s == '"' || *s == '\\')
			text[n++] = '\\';
		text[n++] = *s;
	}
	if (n + 8 >= sizeof(text)) {
		snprintf(err, errlen, "value too long");
		return -1;
	}
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\"\n}\n");
	ut_config_init(&cfg);
	cfg.params = *p;
	rc = ut_config_parse(&cfg, "attr", text, n, first_diag, &f);
	if (rc == 0 && !f.any)
		*p = cfg.params;
	ut_config_free(&cfg);
	return rc == 0 && !f.any ? 0 : -1;
}

static int attr_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "yes", "true"};
	static const char *const no[] = {"0", "no", "false"};

	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
			*out = !strcasecmp(v, yes[i]);
			return 0;
		}
	}
	return -1;
}

int ut_dev_attr_set(struct ut_dev_cfg *d, const char *key, const char *value,
		    char *err, size_t errlen)
{
	static const struct {
		const char *key;
		size_t off;
	} bools[] = {
		{"read_only", offsetof(struct ut_dev_cfg, read_only)},
		{"thin_provisioned", offsetof(struct ut_dev_cfg, thin)},
		{"removable", offsetof(struct ut_dev_cfg, removable)},
		{"write_through", offsetof(struct ut_dev_cfg, write_through)},
		{"nv_cache", offsetof(struct ut_dev_cfg, nv_cache)},
	};
	static const struct {
		const char *key;
		size_t off, cap;
	} texts[] = {
		{"t10_vendor_id", offsetof(struct ut_dev_cfg, t10_vendor_id),
		 9},
		{"prod_id", offsetof(struct ut_dev_cfg, prod_id), 17},
		{"t10_dev_id", offsetof(struct ut_dev_cfg, t10_dev_id), 64},
		{"usn", offsetof(struct ut_dev_cfg, usn), 33},
	};
	uint64_t size;

	if (!strcasecmp(key, "size")) {
		if (ut_size_parse(value, &size) || size == 0 ||
		    size > UT_DEV_SIZE_MAX || size % d->block_size) {
			snprintf(err, errlen,
				 "size must be a positive multiple of the "
				 "block size (%u), at most 1 EiB",
				 d->block_size);
			return -1;
		}
		d->size_bytes = size;
		return 0;
	}
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		if (strcasecmp(key, bools[i].key))
			continue;
		if (attr_bool(value, (bool *)((char *)d + bools[i].off))) {
			snprintf(err, errlen, "%s takes 0 or 1", key);
			return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (strcasecmp(key, texts[i].key))
			continue;
		if (strlen(value) >= texts[i].cap) {
			snprintf(err, errlen, "%s is at most %zu bytes", key,
				 texts[i].cap - 1);
			return -1;
		}
		for (const char *s = value; *s; s++)
			if (*s < 0x20 || *s > 0x7e) {
				snprintf(err, errlen,
					 "%s must be printable ASCII", key);
				return -1;
			}
		memcpy((char *)d + texts[i].off, value, strlen(value) + 1);
		return 0;
	}
	snprintf(err, errlen, "device attribute '%s' is not supported", key);
	return -1;
}
