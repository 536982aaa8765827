/*
 * config_copy.c — deep copies and comparisons of the configuration model,
 * for live reconfiguration: the server keeps the running configuration,
 * an operation edits a copy of it, and the difference between the two is
 * what changes (iscsi/reconfig.c).
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_int.h"

/* A copy of an array built with cfg_array_add() (same implicit
 * capacity rule: the next power of two at or above the count). */
static int cfg_array_dup(void *dst, const void *src, size_t count, size_t size)
{
	void **out = dst;
	size_t cap = 1;

	*out = NULL;
	if (count == 0)
		return 0;
	while (cap < count)
		cap *= 2;
	*out = calloc(cap, size);
	if (!*out)
		return -1;
	memcpy(*out, src, count * size);
	return 0;
}

/* All or nothing: on failure *dst is NULL again (the callers' counts
 * stay 0, so what was copied before the failure would leak). */
static int cfg_strv_dup(char ***dst, char *const *src, size_t count)
{
	size_t n = 0;

	*dst = NULL;
	for (size_t i = 0; i < count; i++) {
		if (cfg_strv_add(dst, &n, src[i], SIZE_MAX)) {
			while (n > 0)
				free((*dst)[--n]);
			free(*dst);
			*dst = NULL;
			return -1;
		}
	}
	return 0;
}

static int cfg_group_dup(struct ut_group_cfg *d, const struct ut_group_cfg *s)
{
	*d = *s;
	d->initiators = NULL;
	d->luns = NULL;
	if (cfg_strv_dup(&d->initiators, s->initiators, s->initiator_count)) {
		d->initiator_count = 0;
		return -1;
	}
	return cfg_array_dup(&d->luns, s->luns, s->lun_count, sizeof(*d->luns));
}

int ut_target_cfg_copy(struct ut_target_cfg *d, const struct ut_target_cfg *s)
{
	*d = *s;
	d->luns = NULL;
	d->groups = NULL;
	d->incoming = NULL;
	d->allowed_portals = NULL;
	d->group_count = 0;
	d->incoming_count = 0;
	d->allowed_portal_count = 0;
	if (cfg_array_dup(&d->luns, s->luns, s->lun_count, sizeof(*d->luns)))
		goto fail;
	if (s->group_count) {
		size_t cap = 1;

		while (cap < s->group_count)
			cap *= 2;
		d->groups = calloc(cap, sizeof(*d->groups));
		if (!d->groups)
			goto fail;
		for (size_t i = 0; i < s->group_count; i++) {
			d->group_count++;
			if (cfg_group_dup(&d->groups[i], &s->groups[i]))
				goto fail;
		}
	}
	if (cfg_array_dup(&d->incoming, s->incoming, s->incoming_count,
			  sizeof(*d->incoming)))
		goto fail;
	d->incoming_count = s->incoming_count;
	if (cfg_strv_dup(&d->allowed_portals, s->allowed_portals,
			 s->allowed_portal_count))
		goto fail;
	d->allowed_portal_count = s->allowed_portal_count;
	return 0;
fail:
	cfg_target_free(d);
	return -1;
}

int ut_config_copy(struct ut_config *dst, const struct ut_config *src)
{
	ut_config_init(dst);
	dst->params = src->params;
	dst->iscsi_enabled = src->iscsi_enabled;
	dst->discovery_outgoing = src->discovery_outgoing;
	dst->has_secrets = src->has_secrets;
	if (cfg_array_dup(&dst->devs, src->devs, src->dev_count,
			  sizeof(*dst->devs)))
		goto fail;
	dst->dev_count = src->dev_count;
	if (cfg_strv_dup(&dst->portals, src->portals, src->portal_count))
		goto fail;
	dst->portal_count = src->portal_count;
	if (cfg_array_dup(&dst->discovery_incoming, src->discovery_incoming,
			  src->discovery_incoming_count,
			  sizeof(*dst->discovery_incoming)))
		goto fail;
	dst->discovery_incoming_count = src->discovery_incoming_count;
	if (cfg_alua_copy(dst, src))
		goto fail;
	for (size_t i = 0; i < src->target_count; i++) {
		struct ut_target_cfg *t =
			cfg_array_add(&dst->targets, &dst->target_count,
				      sizeof(*t), UT_MAX_TARGETS);

		if (!t || ut_target_cfg_copy(t, &src->targets[i])) {
			if (t)
				dst->target_count--;
			goto fail;
		}
	}
	return 0;
fail:
	ut_config_free(dst);
	return -1;
}

/* ---------------------------------------------------------- comparison */

bool ut_dev_cfg_equal(const struct ut_dev_cfg *a, const struct ut_dev_cfg *b)
{
	return a->kind == b->kind && !strcmp(a->name, b->name) &&
	       !strcmp(a->path, b->path) && a->size_bytes == b->size_bytes &&
	       a->block_size == b->block_size &&
	       a->phys_block_size == b->phys_block_size &&
	       a->read_only == b->read_only && a->thin == b->thin &&
	       a->removable == b->removable &&
	       a->write_through == b->write_through &&
	       a->nv_cache == b->nv_cache &&
	       a->sanitize_bytes_per_s == b->sanitize_bytes_per_s &&
	       !strcmp(a->t10_vendor_id, b->t10_vendor_id) &&
	       !strcmp(a->prod_id, b->prod_id) &&
	       !strcmp(a->t10_dev_id, b->t10_dev_id) &&
	       !strcmp(a->usn, b->usn) && a->expl_alua == b->expl_alua &&
	       !strcmp(a->conf, b->conf) &&
	       !strcmp(a->client_id, b->client_id) &&
	       a->timeout_s == b->timeout_s && a->cache == b->cache;
}

bool ut_dev_cfg_equal_but_size(const struct ut_dev_cfg *a,
			       const struct ut_dev_cfg *b)
{
	struct ut_dev_cfg c = *b;

	c.size_bytes = a->size_bytes;
	return ut_dev_cfg_equal(a, &c);
}

bool ut_iscsi_params_equal(const struct ut_iscsi_params *a,
			   const struct ut_iscsi_params *b)
{
	if (a->header_digest_count != b->header_digest_count ||
	    a->data_digest_count != b->data_digest_count)
		return false;
	for (int i = 0; i < a->header_digest_count; i++)
		if (a->header_digest[i] != b->header_digest[i])
			return false;
	for (int i = 0; i < a->data_digest_count; i++)
		if (a->data_digest[i] != b->data_digest[i])
			return false;
	return a->initial_r2t == b->initial_r2t &&
	       a->immediate_data == b->immediate_data &&
	       a->max_recv_data_segment_length ==
		       b->max_recv_data_segment_length &&
	       a->max_xmit_data_segment_length ==
		       b->max_xmit_data_segment_length &&
	       a->max_burst_length == b->max_burst_length &&
	       a->first_burst_length == b->first_burst_length &&
	       a->max_outstanding_r2t == b->max_outstanding_r2t &&
	       a->default_time2wait == b->default_time2wait &&
	       a->default_time2retain == b->default_time2retain &&
	       a->queued_commands == b->queued_commands &&
	       a->max_sessions == b->max_sessions &&
	       a->nop_in_interval_s == b->nop_in_interval_s &&
	       a->nop_in_timeout_s == b->nop_in_timeout_s &&
	       a->rsp_timeout_s == b->rsp_timeout_s &&
	       a->session_buffer_limit == b->session_buffer_limit;
}

static bool luns_equal(const struct ut_lun_cfg *a, size_t na,
		       const struct ut_lun_cfg *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].lun != b[i].lun || a[i].read_only != b[i].read_only ||
		    strcmp(a[i].dev_name, b[i].dev_name))
			return false;
	return true;
}

static bool strv_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

static bool users_equal(const struct ut_user_cfg *a, size_t na,
			const struct ut_user_cfg *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) ||
		    strcmp(a[i].secret, b[i].secret))
			return false;
	return true;
}

bool ut_target_luns_equal(const struct ut_target_cfg *a,
			  const struct ut_target_cfg *b)
{
	if (!luns_equal(a->luns, a->lun_count, b->luns, b->lun_count) ||
	    a->group_count != b->group_count)
		return false;
	for (size_t i = 0; i < a->group_count; i++) {
		const struct ut_group_cfg *x = &a->groups[i],
					  *y = &b->groups[i];

		if (strcmp(x->name, y->name) ||
		    !strv_equal(x->initiators, x->initiator_count,
				y->initiators, y->initiator_count) ||
		    !luns_equal(x->luns, x->lun_count, y->luns, y->lun_count))
			return false;
	}
	return strv_equal(a->allowed_portals, a->allowed_portal_count,
			  b->allowed_portals, b->allowed_portal_count);
}

bool ut_target_cfg_equal(const struct ut_target_cfg *a,
			 const struct ut_target_cfg *b)
{
	return !strcmp(a->iqn, b->iqn) && !strcmp(a->alias, b->alias) &&
	       a->enabled == b->enabled && a->rel_tgt_id == b->rel_tgt_id &&
	       ut_target_luns_equal(a, b) &&
	       users_equal(a->incoming, a->incoming_count, b->incoming,
			   b->incoming_count) &&
	       users_equal(&a->outgoing, 1, &b->outgoing, 1) &&
	       ut_iscsi_params_equal(&a->params, &b->params);
}

bool ut_config_equal(const struct ut_config *a, const struct ut_config *b)
{
	if (a->dev_count != b->dev_count ||
	    a->target_count != b->target_count ||
	    a->iscsi_enabled != b->iscsi_enabled ||
	    !strv_equal(a->portals, a->portal_count, b->portals,
			b->portal_count) ||
	    !ut_iscsi_params_equal(&a->params, &b->params) ||
	    !users_equal(a->discovery_incoming, a->discovery_incoming_count,
			 b->discovery_incoming, b->discovery_incoming_count) ||
	    !users_equal(&a->discovery_outgoing, 1, &b->discovery_outgoing,
			 1) ||
	    !cfg_alua_equal(a, b))
		return false;
	for (size_t i = 0; i < a->dev_count; i++)
		if (!ut_dev_cfg_equal(&a->devs[i], &b->devs[i]))
			return false;
	for (size_t i = 0; i < a->target_count; i++)
		if (!ut_target_cfg_equal(&a->targets[i], &b->targets[i]))
			return false;
	return true;
}
