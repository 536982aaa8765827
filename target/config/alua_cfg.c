/*
 * alua_cfg.c — the ALUA part of the configuration model: portal groups,
 * target ports and their relative identifiers, device groups (SCST's
 * DEVICE_GROUP / TARGET_GROUP), their validation, copies and comparison.
 *
 * A target port is a target and a portal group (for iSCSI the SCSI port
 * name is "iqn,t,0x0002", RFC 7143 §10.? / SPC-4 §4.3.5).  Every target
 * is reachable through every portal group of the instance, so there are
 * targets × portal groups ports.  Their relative target port identifiers
 * must be unique in the SCSI target device and nonzero (SPC-4 §7.8.6.6).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "config/config_int.h"

/* ------------------------------------------------------ portal groups */

uint16_t ut_config_portal_tpgt(const struct ut_config *cfg, size_t i)
{
	return cfg->portal_tpgts && i < cfg->portal_count ? cfg->portal_tpgts[i]
							  : 1;
}

int cfg_portal_tpgts_fill(struct ut_config *cfg)
{
	size_t n = 0;

	if (cfg->portal_tpgts || cfg->portal_count == 0)
		return 0;
	while (n < cfg->portal_count) {
		uint16_t *slot = cfg_array_add(&cfg->portal_tpgts, &n,
					       sizeof(*slot), UT_MAX_PORTALS);

		if (!slot) {
			free(cfg->portal_tpgts);
			cfg->portal_tpgts = NULL;
			return -1;
		}
		*slot = 1;
	}
	return 0;
}

/* The distinct portal group tags, ascending, into tpgts (room for
 * UT_MAX_PORTALS); returns how many.  No portal: the default one, 1. */
static size_t cfg_tpgts(const struct ut_config *cfg,
			uint16_t tpgts[UT_MAX_PORTALS])
{
	size_t n = 0;

	for (size_t i = 0; i < (cfg->portal_count ? cfg->portal_count : 1);
	     i++) {
		uint16_t t = ut_config_portal_tpgt(cfg, i);
		size_t j = 0;

		while (j < n && tpgts[j] < t)
			j++;
		if (j < n && tpgts[j] == t)
			continue;
		if (n == UT_MAX_PORTALS)
			break;
		memmove(tpgts + j + 1, tpgts + j, (n - j) * sizeof(*tpgts));
		tpgts[j] = t;
		n++;
	}
	return n;
}

/* ------------------------------------------------------- port names */

/* "iqn,t,0xN": split into the target name (into iqn[cap]) and N.  Returns
 * 1 for a port name, 0 for a plain target name (copied whole), -1 if the
 * suffix is malformed or the name too long. */
static int cfg_port_name_split(const char *name, char *iqn, size_t cap,
			       uint16_t *tpgt)
{
	const char *sfx = NULL;
	size_t len = strlen(name);
	unsigned long v = 0;
	size_t digits = 0;

	for (const char *s = name; (s = strstr(s, ",t,0")) != NULL; s++)
		sfx = s;
	if (!sfx || (sfx[4] != 'x' && sfx[4] != 'X')) {
		if (len >= cap)
			return -1;
		memcpy(iqn, name, len + 1);
		return 0;
	}
	for (const char *d = sfx + 5; *d; d++, digits++) {
		char c = *d;

		if (digits == 4)
			return -1;
		if (c >= '0' && c <= '9')
			v = v * 16 + (unsigned long)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v * 16 + (unsigned long)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	if (digits == 0 || v == 0 || (size_t)(sfx - name) >= cap)
		return -1;
	memcpy(iqn, name, (size_t)(sfx - name));
	iqn[sfx - name] = '\0';
	*tpgt = (uint16_t)v;
	return 1;
}

static int cfg_find_target(const struct ut_config *cfg, const char *iqn)
{
	for (size_t i = 0; i < cfg->target_count; i++)
		if (!strcmp(cfg->targets[i].iqn, iqn))
			return (int)i;
	return -1;
}

/*
 * The local ports a TARGET_GROUP line names: their indexes in ports[]
 * into idx (room for cap).  Returns how many (0: not a local port, so a
 * port of another node), or -1 for a malformed name.
 */
static int cfg_tg_local_ports(const struct ut_config *cfg,
			      const struct ut_port *ports, size_t nports,
			      const char *name, size_t *idx, size_t cap)
{
	char iqn[UT_PORT_NAME_MAX];
	uint16_t tpgt = 0;
	int kind = cfg_port_name_split(name, iqn, sizeof(iqn), &tpgt);
	int ti, n = 0;

	if (kind < 0)
		return -1;
	ti = cfg_find_target(cfg, iqn);
	if (ti < 0)
		return 0;
	for (size_t i = 0; i < nports; i++) {
		if (ports[i].target != (size_t)ti ||
		    (kind == 1 && ports[i].tpgt != tpgt))
			continue;
		if ((size_t)n < cap)
			idx[n] = i;
		n++;
	}
	return n;
}

/* ------------------------------------------------------- target ports */

struct cfg_diag_ctx {
	ut_config_diag_fn diag;
	void *arg;
	int errors;
};

static void cfg_adiag(struct cfg_diag_ctx *d, int severity, int line,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void cfg_adiag(struct cfg_diag_ctx *d, int severity, int line,
		      const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (severity)
		d->errors++;
	if (!d->diag)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->diag(d->arg, severity, NULL, line, 0, msg);
}

static bool cfg_id_used(const struct ut_port *ports, size_t n, uint16_t id,
			const struct ut_config *cfg)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i].rel_tgt_id == id)
			return true;
	/* ports of other nodes keep their identifiers too */
	for (size_t g = 0; g < cfg->dgroup_count; g++) {
		const struct ut_dev_group_cfg *dg = &cfg->dgroups[g];

		for (size_t t = 0; t < dg->tgroup_count; t++) {
			const struct ut_tgt_group_cfg *tg = &dg->tgroups[t];

			for (size_t k = 0; k < tg->target_count; k++)
				if (tg->targets[k].rel_tgt_id == id)
					return true;
		}
	}
	return false;
}

/* Give port i the identifier id (from line); a different one given
 * before is a conflict. */
static void cfg_port_give(struct cfg_diag_ctx *d, const struct ut_config *cfg,
			  struct ut_port *ports, size_t i, uint16_t id,
			  int line)
{
	const struct ut_port *p = &ports[i];

	if (p->rel_tgt_id && p->rel_tgt_id != id)
		cfg_adiag(d, 1, line,
			  "target port %s,t,0x%04x has rel_tgt_id %u and %u",
			  cfg->targets[p->target].iqn, p->tpgt, p->rel_tgt_id,
			  id);
	else
		ports[i].rel_tgt_id = id;
}

/* The given identifiers: targets' own, then TARGET_GROUP lines'. */
static void cfg_ports_given(struct cfg_diag_ctx *d, const struct ut_config *cfg,
			    struct ut_port *ports, size_t n, size_t ntpgts)
{
	for (size_t t = 0; t < cfg->target_count; t++)
		if (cfg->targets[t].rel_tgt_id)
			cfg_port_give(d, cfg, ports, t * ntpgts,
				      cfg->targets[t].rel_tgt_id,
				      cfg->targets[t].line);
	for (size_t g = 0; g < cfg->dgroup_count; g++) {
		const struct ut_dev_group_cfg *dg = &cfg->dgroups[g];

		for (size_t k = 0; k < dg->tgroup_count; k++) {
			const struct ut_tgt_group_cfg *tg = &dg->tgroups[k];

			for (size_t j = 0; j < tg->target_count; j++) {
				const struct ut_tg_target_cfg *tt =
					&tg->targets[j];
				size_t idx[2];
				int m;

				if (!tt->rel_tgt_id)
					continue;
				m = cfg_tg_local_ports(cfg, ports, n, tt->name,
						       idx, 2);
				if (m > 1)
					cfg_adiag(d, 1, tt->line,
						  "TARGET %s with rel_tgt_id "
						  "names %d ports; name one "
						  "as %s,t,0xN",
						  tt->name, m, tt->name);
				else if (m == 1)
					cfg_port_give(d, cfg, ports, idx[0],
						      tt->rel_tgt_id, tt->line);
			}
		}
	}
}

/* Every given identifier once: local ports and ports of other nodes. */
static void cfg_ports_unique(struct cfg_diag_ctx *d,
			     const struct ut_config *cfg,
			     const struct ut_port *ports, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (ports[i].rel_tgt_id &&
			    ports[i].rel_tgt_id == ports[j].rel_tgt_id)
				cfg_adiag(d, 1,
					  cfg->targets[ports[i].target].line,
					  "rel_tgt_id %u is given to two "
					  "target ports",
					  ports[i].rel_tgt_id);
	for (size_t g = 0; g < cfg->dgroup_count; g++) {
		const struct ut_dev_group_cfg *dg = &cfg->dgroups[g];

		for (size_t k = 0; k < dg->tgroup_count; k++) {
			const struct ut_tgt_group_cfg *tg = &dg->tgroups[k];

			for (size_t j = 0; j < tg->target_count; j++) {
				const struct ut_tg_target_cfg *tt =
					&tg->targets[j];
				size_t idx;

				if (!tt->rel_tgt_id ||
				    cfg_tg_local_ports(cfg, ports, n, tt->name,
						       &idx, 1) != 0)
					continue;
				for (size_t i = 0; i < n; i++)
					if (ports[i].rel_tgt_id ==
					    tt->rel_tgt_id)
						cfg_adiag(d, 1, tt->line,
							  "rel_tgt_id %u of "
							  "%s is also a local "
							  "port's",
							  tt->rel_tgt_id,
							  tt->name);
			}
		}
	}
}

static int cfg_ports(const struct ut_config *cfg, struct ut_port **out,
		     struct cfg_diag_ctx *d)
{
	uint16_t tpgts[UT_MAX_PORTALS];
	size_t ntpgts = cfg_tpgts(cfg, tpgts);
	size_t n = cfg->target_count * ntpgts;
	struct ut_port *ports = calloc(n ? n : 1, sizeof(*ports));
	int errors = d->errors;
	uint16_t next = 1;

	*out = NULL;
	if (!ports) {
		cfg_adiag(d, 1, 0, "out of memory");
		return -1;
	}
	for (size_t t = 0; t < cfg->target_count; t++)
		for (size_t g = 0; g < ntpgts; g++) {
			ports[t * ntpgts + g].target = t;
			ports[t * ntpgts + g].tpgt = tpgts[g];
		}
	cfg_ports_given(d, cfg, ports, n, ntpgts);
	cfg_ports_unique(d, cfg, ports, n);
	if (d->errors != errors) {
		free(ports);
		return -1;
	}
	/* n <= 256 targets x 32 portal groups: identifiers stay 16-bit */
	for (size_t i = 0; i < n; i++) {
		if (ports[i].rel_tgt_id)
			continue;
		while (cfg_id_used(ports, n, next, cfg))
			next++;
		ports[i].rel_tgt_id = next;
	}
	*out = ports;
	return (int)n;
}

int ut_config_ports(const struct ut_config *cfg, struct ut_port **out,
		    ut_config_diag_fn diag, void *diag_arg)
{
	struct cfg_diag_ctx d = {.diag = diag, .arg = diag_arg};

	return cfg_ports(cfg, out, &d);
}

int ut_config_tg_target_ids(const struct ut_config *cfg,
			    const struct ut_port *ports, size_t nports,
			    const struct ut_tg_target_cfg *tt, uint16_t *ids,
			    size_t cap)
{
	size_t idx[UT_MAX_PORTALS];
	int m = cfg_tg_local_ports(cfg, ports, nports, tt->name, idx,
				   UT_MAX_PORTALS);

	if (m < 0 || (size_t)m > cap)
		return -1;
	if (m == 0) {
		/* a port of another node: reported, never reached here */
		if (!tt->rel_tgt_id || cap == 0)
			return -1;
		ids[0] = tt->rel_tgt_id;
		return 1;
	}
	for (int i = 0; i < m; i++)
		ids[i] = ports[idx[i]].rel_tgt_id;
	return m;
}

/* ----------------------------------------------------- validation */

/* Does any LUN set of target t map device dev? */
static bool cfg_target_exports(const struct ut_target_cfg *t, const char *dev)
{
	for (size_t i = 0; i < t->lun_count; i++)
		if (!strcmp(t->luns[i].dev_name, dev))
			return true;
	for (size_t g = 0; g < t->group_count; g++)
		for (size_t i = 0; i < t->groups[g].lun_count; i++)
			if (!strcmp(t->groups[g].luns[i].dev_name, dev))
				return true;
	return false;
}

static void cfg_validate_tgroup(struct cfg_diag_ctx *d,
				const struct ut_config *cfg,
				const struct ut_dev_group_cfg *dg, size_t k,
				const struct ut_port *ports, size_t n,
				int *owner /* per port: tgroup or -1 */)
{
	const struct ut_tgt_group_cfg *tg = &dg->tgroups[k];
	size_t total = 0;

	if (tg->group_id > 65535)
		cfg_adiag(d, 1, tg->line,
			  "device group '%s': TARGET_GROUP '%s' needs a "
			  "group_id (0..65535)",
			  dg->name, tg->name);
	for (size_t j = 0; j < k; j++) {
		if (!strcmp(dg->tgroups[j].name, tg->name))
			cfg_adiag(d, 1, tg->line,
				  "device group '%s': TARGET_GROUP '%s' is "
				  "defined twice",
				  dg->name, tg->name);
		else if (tg->group_id <= 65535 &&
			 dg->tgroups[j].group_id == tg->group_id)
			cfg_adiag(d, 1, tg->line,
				  "device group '%s': group_id %u is used by "
				  "'%s' and '%s'",
				  dg->name, tg->group_id, dg->tgroups[j].name,
				  tg->name);
	}
	for (size_t j = 0; j < tg->target_count; j++) {
		const struct ut_tg_target_cfg *tt = &tg->targets[j];
		size_t idx[UT_MAX_PORTALS];
		int m = cfg_tg_local_ports(cfg, ports, n, tt->name, idx,
					   UT_MAX_PORTALS);

		if (m < 0) {
			cfg_adiag(d, 1, tt->line,
				  "TARGET '%s': a port name ends in ,t,0x "
				  "and 1 to 4 hex digits (1..ffff)",
				  tt->name);
			continue;
		}
		if (m == 0 && !tt->rel_tgt_id) {
			cfg_adiag(d, 1, tt->line,
				  "TARGET '%s' of TARGET_GROUP '%s' is no port "
				  "of this target device; a port of another "
				  "node needs rel_tgt_id",
				  tt->name, tg->name);
			continue;
		}
		total += m ? (size_t)m : 1;
		for (int i = 0; i < m; i++) {
			if (owner[idx[i]] >= 0 && (size_t)owner[idx[i]] != k)
				cfg_adiag(
					d, 1, tt->line,
					"device group '%s': target port "
					"%s,t,0x%04x is in TARGET_GROUPs "
					"'%s' and '%s'",
					dg->name,
					cfg->targets[ports[idx[i]].target].iqn,
					ports[idx[i]].tpgt,
					dg->tgroups[owner[idx[i]]].name,
					tg->name);
			owner[idx[i]] = (int)k;
		}
	}
	if (total > SCSI_ALUA_MAX_TPG_PORTS)
		cfg_adiag(d, 1, tg->line,
			  "TARGET_GROUP '%s' has %zu ports; the limit is %d",
			  tg->name, total, SCSI_ALUA_MAX_TPG_PORTS);
}

static void cfg_validate_dgroup(struct cfg_diag_ctx *d,
				const struct ut_config *cfg, size_t g,
				const struct ut_port *ports, size_t n)
{
	const struct ut_dev_group_cfg *dg = &cfg->dgroups[g];
	int *owner = calloc(n ? n : 1, sizeof(*owner));

	if (!owner) {
		cfg_adiag(d, 1, dg->line, "out of memory");
		return;
	}
	for (size_t j = 0; j < g; j++)
		if (!strcmp(cfg->dgroups[j].name, dg->name))
			cfg_adiag(d, 1, dg->line,
				  "device group '%s' is defined twice",
				  dg->name);
	for (size_t i = 0; i < dg->dev_count; i++) {
		if (!ut_config_find_dev(cfg, dg->devs[i]))
			cfg_adiag(d, 1, dg->line,
				  "device group '%s' names unknown device "
				  "'%s'",
				  dg->name, dg->devs[i]);
		for (size_t j = 0; j <= g; j++)
			for (size_t k = 0; k < cfg->dgroups[j].dev_count; k++)
				if ((j < g || k < i) &&
				    !strcmp(cfg->dgroups[j].devs[k],
					    dg->devs[i]))
					cfg_adiag(d, 1, dg->line,
						  "device '%s' is in device "
						  "group '%s' twice or in "
						  "two groups",
						  dg->devs[i], dg->name);
	}
	for (size_t i = 0; i < n; i++)
		owner[i] = -1;
	for (size_t k = 0; k < dg->tgroup_count; k++)
		cfg_validate_tgroup(d, cfg, dg, k, ports, n, owner);
	/* Every port an LU of the group is reached through has a state. */
	for (size_t i = 0; i < n; i++) {
		const struct ut_target_cfg *t = &cfg->targets[ports[i].target];

		if (owner[i] >= 0)
			continue;
		for (size_t k = 0; k < dg->dev_count; k++) {
			if (!cfg_target_exports(t, dg->devs[k]))
				continue;
			cfg_adiag(d, 1, dg->line,
				  "device group '%s': target port %s,t,0x%04x "
				  "exports device '%s' but is in none of its "
				  "TARGET_GROUPs",
				  dg->name, t->iqn, ports[i].tpgt, dg->devs[k]);
			break;
		}
	}
	free(owner);
}

int cfg_validate_alua(const struct ut_config *cfg, ut_config_diag_fn diag,
		      void *diag_arg)
{
	struct cfg_diag_ctx d = {.diag = diag, .arg = diag_arg};
	struct ut_port *ports;
	int n = cfg_ports(cfg, &ports, &d);

	if (n < 0)
		return d.errors;
	for (size_t g = 0; g < cfg->dgroup_count; g++)
		cfg_validate_dgroup(&d, cfg, g, ports, (size_t)n);
	free(ports);
	return d.errors;
}

/* ------------------------------------------ freeing, copies, equality */

static void cfg_tgroup_free(struct ut_tgt_group_cfg *tg)
{
	free(tg->targets);
}

void cfg_dgroup_free(struct ut_dev_group_cfg *dg)
{
	for (size_t i = 0; i < dg->dev_count; i++)
		free(dg->devs[i]);
	free(dg->devs);
	for (size_t i = 0; i < dg->tgroup_count; i++)
		cfg_tgroup_free(&dg->tgroups[i]);
	free(dg->tgroups);
	memset(dg, 0, sizeof(*dg));
}

static void *cfg_mem_dup(const void *src, size_t count, size_t size)
{
	size_t cap = 1;
	void *p;

	while (cap < count)
		cap *= 2;
	p = calloc(cap, size);
	if (p && count)
		memcpy(p, src, count * size);
	return p;
}

int cfg_alua_copy(struct ut_config *dst, const struct ut_config *src)
{
	if (src->portal_tpgts) {
		dst->portal_tpgts = cfg_mem_dup(
			src->portal_tpgts, src->portal_count, sizeof(uint16_t));
		if (!dst->portal_tpgts)
			return -1;
	}
	for (size_t g = 0; g < src->dgroup_count; g++) {
		const struct ut_dev_group_cfg *s = &src->dgroups[g];
		struct ut_dev_group_cfg *d =
			cfg_array_add(&dst->dgroups, &dst->dgroup_count,
				      sizeof(*d), UT_MAX_DEV_GROUPS);
		size_t n = 0;

		if (!d)
			return -1;
		*d = *s;
		d->devs = NULL;
		d->dev_count = 0;
		d->tgroups = NULL;
		d->tgroup_count = 0;
		for (size_t i = 0; i < s->dev_count; i++)
			if (cfg_strv_add(&d->devs, &d->dev_count, s->devs[i],
					 UT_MAX_DG_DEVS))
				return -1;
		if (s->tgroup_count) {
			d->tgroups = cfg_mem_dup(s->tgroups, s->tgroup_count,
						 sizeof(*s->tgroups));
			if (!d->tgroups)
				return -1;
		}
		for (size_t k = 0; k < s->tgroup_count; k++) {
			struct ut_tgt_group_cfg *tg = &d->tgroups[k];

			tg->targets = NULL;
			n++;
			d->tgroup_count = n;
			if (s->tgroups[k].target_count) {
				tg->targets =
					cfg_mem_dup(s->tgroups[k].targets,
						    s->tgroups[k].target_count,
						    sizeof(*tg->targets));
				if (!tg->targets)
					return -1;
			}
		}
	}
	return 0;
}

static bool cfg_tgroup_equal(const struct ut_tgt_group_cfg *a,
			     const struct ut_tgt_group_cfg *b, bool states)
{
	if (strcmp(a->name, b->name) || a->group_id != b->group_id ||
	    (states && a->state != b->state) || a->preferred != b->preferred ||
	    a->target_count != b->target_count)
		return false;
	for (size_t i = 0; i < a->target_count; i++)
		if (strcmp(a->targets[i].name, b->targets[i].name) ||
		    a->targets[i].rel_tgt_id != b->targets[i].rel_tgt_id)
			return false;
	return true;
}

/* The members of x (in a) and y (in b), leaving out devices that one of
 * the configurations lacks: a device added or removed joins or leaves
 * its group as its LU opens or closes, at once. */
static bool cfg_dg_devs_equal(const struct ut_config *a,
			      const struct ut_dev_group_cfg *x,
			      const struct ut_config *b,
			      const struct ut_dev_group_cfg *y)
{
	size_t i = 0, k = 0;

	for (;;) {
		while (i < x->dev_count && !ut_config_find_dev(b, x->devs[i]))
			i++;
		while (k < y->dev_count && !ut_config_find_dev(a, y->devs[k]))
			k++;
		if (i == x->dev_count || k == y->dev_count)
			return i == x->dev_count && k == y->dev_count;
		if (strcmp(x->devs[i++], y->devs[k++]))
			return false;
	}
}

static bool alua_equal(const struct ut_config *a, const struct ut_config *b,
		       bool states)
{
	if (a->portal_count != b->portal_count ||
	    a->dgroup_count != b->dgroup_count)
		return false;
	for (size_t i = 0; i < a->portal_count; i++)
		if (ut_config_portal_tpgt(a, i) != ut_config_portal_tpgt(b, i))
			return false;
	for (size_t g = 0; g < a->dgroup_count; g++) {
		const struct ut_dev_group_cfg *x = &a->dgroups[g];
		const struct ut_dev_group_cfg *y = &b->dgroups[g];

		if (strcmp(x->name, y->name) ||
		    x->tgroup_count != y->tgroup_count ||
		    x->transition_time_s != y->transition_time_s ||
		    !cfg_dg_devs_equal(a, x, b, y))
			return false;
		for (size_t k = 0; k < x->tgroup_count; k++)
			if (!cfg_tgroup_equal(&x->tgroups[k], &y->tgroups[k],
					      states))
				return false;
	}
	return true;
}

bool cfg_alua_equal(const struct ut_config *a, const struct ut_config *b)
{
	return alua_equal(a, b, true);
}

bool ut_config_alua_equal(const struct ut_config *a, const struct ut_config *b)
{
	if (!alua_equal(a, b, false))
		return false;
	for (size_t i = 0; i < a->target_count; i++) {
		int j = cfg_find_target(b, a->targets[i].iqn);

		if (j >= 0 &&
		    b->targets[j].rel_tgt_id != a->targets[i].rel_tgt_id)
			return false;
	}
	return true;
}

/* ut_config_set_target(): TARGET_GROUP lines follow the rename. */
void cfg_alua_rename_target(struct ut_config *cfg, const char *from,
			    const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to);

	for (size_t g = 0; g < cfg->dgroup_count; g++) {
		struct ut_dev_group_cfg *dg = &cfg->dgroups[g];

		for (size_t k = 0; k < dg->tgroup_count; k++) {
			struct ut_tgt_group_cfg *tg = &dg->tgroups[k];

			for (size_t j = 0; j < tg->target_count; j++) {
				char *n = tg->targets[j].name;
				size_t rest;

				if (strncmp(n, from, flen) ||
				    (n[flen] && strncmp(n + flen, ",t,", 3)))
					continue;
				rest = strlen(n + flen);
				if (tlen + rest >= sizeof(tg->targets[j].name))
					continue;
				memmove(n + tlen, n + flen, rest + 1);
				memcpy(n, to, tlen);
			}
		}
	}
}
