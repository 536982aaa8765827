/*
 * tport.c — the SCSI target ports of the server and ALUA.
 *
 * An iSCSI target port is a target name and a target portal group tag
 * (RFC 7143 §4.4.1, "iqn,t,0x0002"): every target is reached through every
 * portal group of the server, each pair being one SCSI target port with a
 * relative target port identifier (config: ut_config_ports).  A session
 * belongs to the port of the listener its connection arrived on; its
 * I_T nexus carries that port's identifier (scsi_nexus_id), which the
 * SCSI layer uses for VPD page 83h, persistent reservations and ALUA.
 *
 * ALUA device groups (scst.conf DEVICE_GROUP, scsi/alua.h) are built at
 * start from the configuration: their target port groups, the ports in
 * them, and as each LU opens (at start, or later when a reconfiguration
 * replaces one) it joins the group naming its device.  Portal groups,
 * port identifiers and device groups are fixed at start: a
 * reconfiguration that changes them takes effect at the next start; a
 * target added while running gets identifiers no port has.  The states
 * of target port groups change at once, from a reconfiguration (a
 * reload of an edited file), utargetctl alua set or SET TARGET PORT
 * GROUPS; the running configuration shows them as they are
 * (iscsi_server_config), so `utargetctl save` keeps them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "scsi/alua.h"
#include "ut_assert.h"

_Static_assert(UT_MAX_PORTALS <= SCSI_MAX_TGT_PORTS,
	       "a nexus names every port of its target");

/* Are the portal groups strictly ascending?  (A walk.) */
static bool tpgts_ascending(const struct iscsi_server *srv)
{
	for (size_t j = 1; j < srv->tpgt_count; j++)
		if (srv->tpgts[j - 1] >= srv->tpgts[j])
			return false;
	return true;
}

_Static_assert((int)SCSI_ALUA_TRANSITIONING == 0xf, "SPC-4 state codes");

int iscsi_tports_init(struct iscsi_server *srv)
{
	const struct ut_config *cfg = &srv->cfg;
	struct ut_port *ports;
	int n;

	ut_assert(srv->tpgt_count == 0); /* built once, at start */
	ut_assert(srv->portal_count <= UT_MAX_PORTALS);
	/* The portal groups, ascending (ut_config_ports' order too). */
	for (size_t i = 0; i < srv->portal_count; i++) {
		uint16_t t = srv->portal_tpgts[i];
		size_t j = 0;

		while (j < srv->tpgt_count && srv->tpgts[j] < t)
			j++;
		if (j < srv->tpgt_count && srv->tpgts[j] == t)
			continue;
		memmove(srv->tpgts + j + 1, srv->tpgts + j,
			(srv->tpgt_count - j) * sizeof(srv->tpgts[0]));
		srv->tpgts[j] = t;
		srv->tpgt_count++;
	}
	/* iscsi_tport_rel_id() finds a group by its index in this order */
	ut_assert_slow(tpgts_ascending(srv));
	n = ut_config_ports(cfg, &ports, NULL, NULL);
	if (n < 0) {
		LOG_ERR(srv->env, "target ports: conflicting rel_tgt_id "
				  "(run utarget --check)");
		return -EINVAL;
	}
	srv->ports = ports;
	srv->port_count = (size_t)n;
	srv->alua = calloc(cfg->dgroup_count ? cfg->dgroup_count : 1,
			   sizeof(*srv->alua));
	if (!srv->alua)
		return -ENOMEM;
	for (size_t g = 0; g < cfg->dgroup_count; g++) {
		int rc = iscsi_tports_group(srv, &cfg->dgroups[g]);

		if (rc)
			return rc;
	}
	return 0;
}

/* One device group: its target port groups and their ports. */
int iscsi_tports_group(struct iscsi_server *srv,
		       const struct ut_dev_group_cfg *dg)
{
	struct scsi_alua_group *g;
	int rc = 0;

	/* one slot per device group of the configuration */
	ut_assert(srv->alua != NULL);
	ut_assert(srv->alua_count <
		  (srv->cfg.dgroup_count ? srv->cfg.dgroup_count : 1));
	g = scsi_alua_group_new(srv->env, dg->name, dg->transition_time_s,
				2 * dg->dev_count + 1);
	if (!g)
		return -ENOMEM;
	srv->alua[srv->alua_count++] = g;
	for (size_t k = 0; !rc && k < dg->tgroup_count; k++) {
		const struct ut_tgt_group_cfg *tg = &dg->tgroups[k];

		rc = scsi_alua_tpg_add(g, (uint16_t)tg->group_id, tg->state,
				       tg->preferred);
		for (size_t j = 0; !rc && j < tg->target_count; j++) {
			uint16_t ids[UT_MAX_PORTALS];
			int m = ut_config_tg_target_ids(&srv->cfg, srv->ports,
							srv->port_count,
							&tg->targets[j], ids,
							UT_MAX_PORTALS);

			if (m < 0)
				rc = -EINVAL;
			for (int i = 0; !rc && i < m; i++)
				rc = scsi_alua_tpg_add_port(
					g, (uint16_t)tg->group_id, ids[i]);
		}
	}
	if (rc)
		LOG_ERR(srv->env,
			"device group %s: invalid target port groups (run "
			"utarget --check): %s",
			dg->name, strerror(-rc));
	return rc;
}

void iscsi_tports_free(struct iscsi_server *srv)
{
	for (size_t i = 0; i < srv->alua_count; i++)
		scsi_alua_group_free(srv->alua[i]);
	free(srv->alua);
	srv->alua = NULL;
	srv->alua_count = 0;
	free(srv->ports);
	srv->ports = NULL;
	srv->port_count = 0;
}

static bool rel_id_used(const struct iscsi_server *srv, uint16_t id)
{
	for (size_t i = 0; i < srv->port_count; i++)
		if (srv->ports[i].rel_tgt_id == id)
			return true;
	for (size_t i = 0; i < srv->tgt_count; i++)
		for (size_t j = 0; j < srv->tpgt_count; j++)
			if (srv->tgts[i]->rel_port[j] == id)
				return true;
	return false;
}

/* A new target slot's ports: the configuration's identifiers at start;
 * for a target added later, identifiers no port has yet. */
void iscsi_tports_assign(struct iscsi_server *srv, struct iscsi_tgt *t)
{
	ut_assert(srv->tpgt_count <= UT_MAX_PORTALS);
	for (size_t j = 0; j < srv->tpgt_count; j++) {
		uint16_t id = 0;

		for (size_t i = 0; i < srv->port_count && !id; i++)
			if (srv->ports[i].tpgt == srv->tpgts[j] &&
			    srv->ports[i].target < srv->cfg.target_count &&
			    !strcmp(srv->cfg.targets[srv->ports[i].target].iqn,
				    t->name))
				id = srv->ports[i].rel_tgt_id;
		for (uint32_t c = 1; !id && c <= 65535; c++)
			if (!rel_id_used(srv, (uint16_t)c))
				id = (uint16_t)c;
		/* SPC-4 §7.8.6.6: relative port identifier 0 is reserved */
		ut_assert(id != 0);
		t->rel_port[j] = id;
	}
}

uint16_t iscsi_tport_rel_id(const struct iscsi_tgt *t, uint16_t tpgt)
{
	const struct iscsi_server *srv = t->srv;

	for (size_t j = 0; j < srv->tpgt_count; j++)
		if (srv->tpgts[j] == tpgt)
			return t->rel_port[j];
	return 0;
}

void iscsi_tport_all(const struct iscsi_tgt *t, struct scsi_nexus_id *id)
{
	const struct iscsi_server *srv = t->srv;

	ut_assert(srv->tpgt_count <= SCSI_MAX_TGT_PORTS);
	id->n_tgt_ports = 0;
	for (size_t j = 0; j < srv->tpgt_count; j++)
		if (t->rel_port[j] != 0)
			id->tgt_ports[id->n_tgt_ports++] = t->rel_port[j];
	/* the nexus's own port is one of them */
	ut_assert(id->rel_tgt_port_id == 0 || id->n_tgt_ports > 0);
}

static struct scsi_alua_group *group_of_dev(struct iscsi_server *srv,
					    const struct ut_config *cfg,
					    const char *dev)
{
	/* cfg: the configuration being applied, which may not be the one
	 * the groups were built from; groups are matched by name. */
	for (size_t g = 0; g < cfg->dgroup_count; g++) {
		const struct ut_dev_group_cfg *dg = &cfg->dgroups[g];

		for (size_t i = 0; i < dg->dev_count; i++) {
			if (strcmp(dg->devs[i], dev))
				continue;
			for (size_t k = 0; k < srv->alua_count; k++)
				if (!strcmp(scsi_alua_group_name(srv->alua[k]),
					    dg->name))
					return srv->alua[k];
		}
	}
	return NULL;
}

void iscsi_tports_lu_opened(struct iscsi_server *srv, struct iscsi_lu_ent *e,
			    const struct ut_config *cfg)
{
	struct scsi_alua_group *g = group_of_dev(srv, cfg, e->name);
	int rc;

	ut_assert(e->lu != NULL); /* joins once opened */
	ut_assert(!e->going);
	if (!g)
		return;
	rc = scsi_alua_group_add_lu(g, e->lu, e->cfg.expl_alua);
	if (rc)
		LOG_ERR(srv->env,
			"device %s: cannot join device group %s (%s); it has "
			"no ALUA",
			e->name, scsi_alua_group_name(g), strerror(-rc));
}

void iscsi_tports_lu_gone(struct iscsi_server *srv, struct iscsi_lu_ent *e)
{
	if (e->lu)
		scsi_alua_lu_leave(e->lu);
}

/* ------------------------------------------------- control operations */

struct scsi_alua_group *iscsi_server_alua_group(struct iscsi_server *srv,
						const char *name)
{
	if ((!name || !name[0]) && srv->alua_count == 1)
		return srv->alua[0];
	for (size_t i = 0; name && i < srv->alua_count; i++)
		if (!strcmp(scsi_alua_group_name(srv->alua[i]), name))
			return srv->alua[i];
	return NULL;
}

/* The states as they are now, SET TARGET PORT GROUPS' included. */
void iscsi_tports_cfg_sync(struct iscsi_server *srv)
{
	for (size_t k = 0; k < srv->alua_count; k++) {
		const char *name = scsi_alua_group_name(srv->alua[k]);

		for (size_t g = 0; g < srv->cfg.dgroup_count; g++) {
			struct ut_dev_group_cfg *dg = &srv->cfg.dgroups[g];

			if (strcmp(dg->name, name))
				continue;
			for (size_t i = 0; i < dg->tgroup_count; i++) {
				struct ut_tgt_group_cfg *tg = &dg->tgroups[i];
				enum scsi_alua_state st;

				if (!scsi_alua_get_state(srv->alua[k],
							 tg->group_id, &st))
					tg->state = st;
			}
		}
	}
}

/* A reconfiguration that keeps the groups sets the target port group
 * states cfg gives where they differ from old's (the states now). */
void iscsi_tports_apply_states(struct iscsi_server *srv,
			       const struct ut_config *old,
			       const struct ut_config *cfg)
{
	for (size_t g = 0; g < cfg->dgroup_count && g < old->dgroup_count;
	     g++) {
		const struct ut_dev_group_cfg *dg = &cfg->dgroups[g];
		struct scsi_alua_group *live =
			iscsi_server_alua_group(srv, dg->name);

		for (size_t k = 0; live && k < dg->tgroup_count &&
				   k < old->dgroups[g].tgroup_count;
		     k++) {
			const struct ut_tgt_group_cfg *tg = &dg->tgroups[k];

			if (tg->state == old->dgroups[g].tgroups[k].state)
				continue;
			if (scsi_alua_set_state(live, tg->group_id, tg->state))
				LOG_ERR(srv->env,
					"device group %s: cannot set target "
					"port group %u %s",
					dg->name, tg->group_id,
					scsi_alua_state_name(tg->state));
		}
	}
}

int iscsi_server_alua_set(struct iscsi_server *srv, const char *group,
			  uint16_t tpg_id, const char *state)
{
	struct scsi_alua_group *g = iscsi_server_alua_group(srv, group);
	enum scsi_alua_state st;

	ut_assert(state != NULL);
	if (!g)
		return -ENOENT;
	ut_assert(srv->alua_count > 0);
	if (scsi_alua_state_parse(state, &st))
		return -EINVAL;
	return scsi_alua_set_state(g, tpg_id, st);
}

int iscsi_server_port_name(const struct iscsi_server *srv, uint16_t rel_id,
			   char *buf, size_t cap)
{
	const struct ut_config *cfg = &srv->cfg;

	ut_assert(buf != NULL && cap > 0);
	ut_assert(srv->tgt_count <= UT_MAX_TARGETS);
	for (size_t t = 0; t < srv->tgt_count; t++)
		for (size_t j = 0; j < srv->tpgt_count; j++)
			if (srv->tgts[t]->rel_port[j] == rel_id) {
				snprintf(buf, cap, "%s,t,0x%04x",
					 srv->tgts[t]->name, srv->tpgts[j]);
				return 0;
			}
	/* a port of another node: as its TARGET_GROUP line names it */
	for (size_t g = 0; g < cfg->dgroup_count; g++)
		for (size_t k = 0; k < cfg->dgroups[g].tgroup_count; k++) {
			const struct ut_tgt_group_cfg *tg =
				&cfg->dgroups[g].tgroups[k];

			for (size_t i = 0; i < tg->target_count; i++)
				if (tg->targets[i].rel_tgt_id == rel_id) {
					snprintf(buf, cap, "%s",
						 tg->targets[i].name);
					return 0;
				}
		}
	return -ENOENT;
}

size_t iscsi_server_alua_count(const struct iscsi_server *srv)
{
	return srv->alua_count;
}

struct scsi_alua_group *iscsi_server_alua_at(struct iscsi_server *srv, size_t i)
{
	return i < srv->alua_count ? srv->alua[i] : NULL;
}
