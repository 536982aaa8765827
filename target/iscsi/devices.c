/*
 * devices.c — the server's devices and targets as they are: a device's
 * entry and the LU over its backstore (open, attach, free), a target's
 * conf (its ACL and LUN map over those LUs) built and published, the
 * whole set opened at start, and a session's LUN map brought in line with
 * its target's conf.
 *
 * The boundary: these are the objects; reconfig.c is the operation that
 * changes them while sessions run (prepare, commit, drain), and retire.c
 * frees what a change replaced once no reactor can still see it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

/* ------------------------------------------------------------- devices */

struct iscsi_lu_ent *iscsi_server_find_lu(struct iscsi_server *srv,
					  const char *name)
{
	for (size_t i = 0; i < srv->lu_count; i++)
		if (strcmp(srv->lus[i]->name, name) == 0)
			return srv->lus[i];
	return NULL;
}

struct iscsi_lu_ent *iscsi_lu_ent_new(struct iscsi_server *srv,
				      const struct ut_dev_cfg *d)
{
	struct iscsi_lu_ent *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cfg = *d;
	snprintf(e->name, sizeof(e->name), "%s", d->name);
	e->index = srv->next_lu_index++;
	return e;
}

/* The backstore's capacity changed under us (an rbd image resized with
 * `rbd resize`): the LU follows.  Nothing to drain on a shrink: the
 * image is already smaller. */
static void lu_ent_resized(struct bs_dev *bs, void *arg)
{
	scsi_lu_set_capacity(arg, bs->size_bytes / bs->block_size);
}

/* The backstore is open: the LU on it.  cfg: the configuration it
 * belongs to (its device group). */
int iscsi_lu_ent_attach(struct iscsi_server *srv, struct iscsi_lu_ent *e,
			struct bs_dev *bs, const struct ut_config *cfg)
{
	/* attached once, to a backstore just opened */
	ut_assert(e->lu == NULL && e->bs == NULL);
	ut_assert(bs != NULL);
	e->bs = bs;
	e->lu = scsi_lu_new(srv->env, &e->cfg, e->bs, e->index);
	if (!e->lu) {
		bs_close(e->bs);
		e->bs = NULL;
		return -ENOMEM;
	}
	iscsi_tports_lu_opened(srv, e, cfg); /* its ALUA device group */
	e->bs->resized = lu_ent_resized;
	e->bs->resized_arg = e->lu;
	return 0;
}

void iscsi_lu_ent_params(const struct iscsi_lu_ent *e,
			 struct bs_dev_params *out)
{
	struct bs_dev_params p = {
		.kind = e->cfg.kind,
		.name = e->cfg.name,
		.path = e->cfg.path[0] ? e->cfg.path : NULL,
		.size_bytes = e->cfg.size_bytes,
		.block_size = e->cfg.block_size ? e->cfg.block_size : 512,
		.read_only = e->cfg.read_only,
		.thin = e->cfg.thin,
		.create = true,
		.conf = e->cfg.conf[0] ? e->cfg.conf : NULL,
		.client_id = e->cfg.client_id[0] ? e->cfg.client_id : NULL,
		.timeout_s = e->cfg.timeout_s,
		.cache = e->cfg.cache,
	};

	*out = p;
}

int iscsi_lu_ent_open(struct iscsi_server *srv, struct iscsi_lu_ent *e,
		      const struct ut_config *cfg)
{
	struct bs_dev_params p;
	struct bs_dev *bs;
	int rc;

	/* opened once, and only an entry of this server's numbering */
	ut_assert(e->lu == NULL && e->bs == NULL);
	ut_assert(e->index < srv->next_lu_index);
	iscsi_lu_ent_params(e, &p);
	rc = bs_open(srv->env, &p, &bs);
	if (rc) {
		LOG_ERR(srv->env, "device %s: cannot open backstore: %s",
			e->name, strerror(-rc));
		return rc;
	}
	return iscsi_lu_ent_attach(srv, e, bs, cfg);
}

void iscsi_lu_ent_free(struct iscsi_lu_ent *e)
{
	if (!e)
		return;
	if (e->lu)
		scsi_lu_free(e->lu);
	bs_close(e->bs);
	free(e);
}

/* --------------------------------------------------------- target confs */

/* Device lookup while confs are built: the devices of the configuration
 * being applied, which may not be the server's table yet. */
static struct scsi_lu *lu_set_find(void *arg, const char *name)
{
	const struct iscsi_lu_set *set = arg;

	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->e[i]->name, name) == 0)
			return set->e[i]->lu;
	return NULL;
}

void iscsi_tgt_conf_free(struct iscsi_tgt_conf *c)
{
	if (!c)
		return;
	iscsi_acl_free(&c->acl);
	iscsi_auth_free(&c->auth);
	free(c);
}

static void tgt_conf_free_cb(void *p)
{
	iscsi_tgt_conf_free(p);
}

int iscsi_tgt_conf_build(struct iscsi_server *srv,
			 const struct iscsi_lu_set *set,
			 const struct ut_target_cfg *tc,
			 struct iscsi_tgt_conf **out)
{
	struct iscsi_tgt_conf *c = calloc(1, sizeof(*c));
	int rc;

	/* a configuration that passed validation (config.c) */
	ut_assert(tc->lun_count <= UT_MAX_LUNS);
	ut_assert(set != NULL);
	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->enabled = tc->enabled;
	snprintf(c->alias, sizeof(c->alias), "%s", tc->alias);
	c->params = tc->params;
	rc = iscsi_auth_copy(&c->auth, tc->incoming, tc->incoming_count,
			     &tc->outgoing);
	if (!rc)
		rc = iscsi_acl_init(&c->acl, tc, lu_set_find, (void *)set);
	if (rc == -EINVAL)
		LOG_ERR(srv->env,
			"target %s: a GROUP LUN names an unknown device or is "
			"above 255",
			tc->iqn);
	for (size_t j = 0; !rc && j < tc->lun_count; j++) {
		const struct ut_lun_cfg *l = &tc->luns[j];
		struct scsi_lu *lu = lu_set_find((void *)set, l->dev_name);

		if (!lu || l->lun >= UT_MAX_LUNS) {
			LOG_ERR(srv->env,
				"target %s: LUN %u names unknown "
				"device %s",
				tc->iqn, l->lun, l->dev_name);
			rc = -EINVAL;
			break;
		}
		c->lun_lu[l->lun] = lu;
		c->lun_ro[l->lun] = l->read_only;
	}
	if (rc) {
		iscsi_tgt_conf_free(c);
		return rc;
	}
	iscsi_auth_warn(srv->env, tc->iqn, &c->auth);
	*out = c;
	return 0;
}

int iscsi_tgt_conf_new(struct iscsi_server *srv, const struct ut_target_cfg *tc,
		       struct iscsi_tgt_conf **out)
{
	struct iscsi_lu_set set = {srv->lus, srv->lu_count};

	return iscsi_tgt_conf_build(srv, &set, tc, out);
}

/* The target named iqn: an existing one (a tombstone included, which is
 * then reused) or a new slot.  NULL when the table is full. */
struct iscsi_tgt *iscsi_tgt_slot(struct iscsi_server *srv, const char *iqn)
{
	struct iscsi_tgt *t;

	ut_assert(srv->tgt_count <= UT_MAX_TARGETS);
	for (size_t i = 0; i < srv->tgt_count; i++)
		if (strcmp(srv->tgts[i]->name, iqn) == 0)
			return srv->tgts[i];
	if (srv->tgt_count >= UT_MAX_TARGETS)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->srv = srv;
	t->index = (unsigned int)srv->tgt_count;
	t->tpgt = ISCSI_DEFAULT_TPGT;
	t->removed = true; /* until its conf is published */
	snprintf(t->name, sizeof(t->name), "%s", iqn);
	iscsi_tports_assign(srv, t);
	ut_assert(srv->tgts[srv->tgt_count] == NULL); /* slots only fill */
	srv->tgts[srv->tgt_count] = t;
	/* Readers of other reactors see the slot filled before the count. */
	__atomic_store_n(&srv->tgt_count, srv->tgt_count + 1, __ATOMIC_RELEASE);
	return t;
}

/* Publish c as t's conf; the old one is retired. */
void iscsi_tgt_publish(struct iscsi_server *srv, struct iscsi_tgt *t,
		       struct iscsi_tgt_conf *c, bool removed)
{
	struct iscsi_tgt_conf *old = t->conf;

	/* a conf is published whole, once, and a target always has one
	 * once published */
	ut_assert(c != NULL);
	ut_assert(c != old);
	__atomic_store_n(&t->conf, c, __ATOMIC_RELEASE);
	__atomic_store_n(&t->removed, removed, __ATOMIC_RELEASE);
	if (old)
		iscsi_server_retire(srv, tgt_conf_free_cb, old);
}

int iscsi_server_open_all(struct iscsi_server *srv)
{
	const struct ut_config *cfg = &srv->cfg;
	int rc = iscsi_tports_init(srv);

	if (rc)
		return rc;
	for (size_t i = 0; i < cfg->dev_count; i++) {
		struct iscsi_lu_ent *e = iscsi_lu_ent_new(srv, &cfg->devs[i]);

		if (!e)
			return -ENOMEM;
		ut_assert(srv->lu_count < UT_MAX_DEVS);
		srv->lus[srv->lu_count++] = e;
		rc = iscsi_lu_ent_open(srv, e, cfg);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < cfg->target_count; i++) {
		struct iscsi_tgt *t = iscsi_tgt_slot(srv, cfg->targets[i].iqn);
		struct iscsi_tgt_conf *c;

		if (!t)
			return -ENOMEM;
		rc = iscsi_tgt_conf_new(srv, &cfg->targets[i], &c);
		if (rc)
			return rc;
		iscsi_tgt_publish(srv, t, c, false);
	}
	ut_assert(srv->lu_count == cfg->dev_count);
	ut_assert(srv->tgt_count <= cfg->target_count);
	return 0;
}

/* ------------------------------------------------------ sessions */

void iscsi_sess_resync_luns(struct iscsi_sess *s)
{
	struct scsi_lu *want[UT_MAX_LUNS];
	bool want_ro[UT_MAX_LUNS], kept[UT_MAX_LUNS] = {false};
	const struct iscsi_tgt_conf *conf;
	bool changed = false;

	if (!s->scsi || !s->tgt)
		return;
	/* a listed, normal session that is not closing */
	ut_assert(!s->discovery);
	ut_assert(!s->closing);
	s->conf_gen = __atomic_load_n(&s->srv->conf_gen, __ATOMIC_ACQUIRE);
	conf = iscsi_tgt_conf(s->tgt);
	iscsi_acl_lun_set(conf, s->initiator_name, want, want_ro);
	if (__atomic_load_n(&s->tgt->removed, __ATOMIC_ACQUIRE))
		memset(want, 0, sizeof(want));
	for (uint32_t lun = 0; lun < UT_MAX_LUNS; lun++) {
		bool ro;
		struct scsi_lu *have = scsi_sess_lu(s->scsi, lun, &ro);

		if (have && have == want[lun] && ro == want_ro[lun]) {
			kept[lun] = true;
			continue;
		}
		if (have) {
			iscsi_sess_withdraw_lun(s, lun);
			scsi_sess_unmap(s->scsi, lun);
			changed = true;
		}
		if (want[lun]) {
			if (scsi_sess_map(s->scsi, lun, want[lun],
					  want_ro[lun]))
				LOG_ERR(s->env,
					"session tsih %u: cannot map LUN %u",
					s->tsih, lun);
			changed = true;
		}
	}
	if (!changed)
		return;
	/* SPC-4 §5.14: the inventory changed for this I_T nexus; the new
	 * LUNs carry their own POWER ON, RESET condition. */
	for (uint32_t lun = 0; lun < UT_MAX_LUNS; lun++)
		if (kept[lun])
			scsi_sess_ua_lun(s->scsi, lun,
					 SCSI_UA_REPORTED_LUNS_CHANGED);
	LOG_INFO(s->env, "event=luns-changed tsih=%u initiator=%s target=%s",
		 s->tsih, s->initiator_name, s->tgt->name);
}
