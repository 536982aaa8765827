/*
 * scstconf_write.c — the configuration model back into scst.conf text
 * (utargetctl save).
 *
 * The contract is the round trip: ut_config_parse() of what
 * ut_config_write() produced gives a configuration ut_config_equal() to
 * the one written.  So every field the model holds is written, except
 * values equal to what the parser would fill in anyway (device defaults,
 * target parameters equal to the driver-level ones), which keeps the file
 * short and readable.  Values are quoted when the lexer would otherwise
 * split or end them (scstconf.c: blanks, braces, '#', '"', empty).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_int.h"

struct wbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void w_raw(struct wbuf *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		char *np;

		while (cap < w->len + n + 1)
			cap *= 2;
		np = realloc(w->p, cap);
		if (!np) {
			w->failed = true;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

static void w_fmt(struct wbuf *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void w_fmt(struct wbuf *w, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		w->failed = true;
		return;
	}
	w_raw(w, tmp, (size_t)n);
}

static void w_indent(struct wbuf *w, int depth)
{
	for (int i = 0; i < depth; i++)
		w_raw(w, "\t", 1);
}

/* One value: a bare word when the lexer reads it back as one, else a
 * quoted string with \" and \\ escaped. */
static void w_value(struct wbuf *w, const char *v)
{
	bool bare = v[0] != '\0' && v[0] != '#';

	for (const char *s = v; *s && bare; s++)
		bare = !strchr(" \t\r\n{}\"\\", *s);
	if (bare) {
		w_raw(w, v, strlen(v));
		return;
	}
	w_raw(w, "\"", 1);
	for (const char *s = v; *s; s++) {
		if (*s == '"' || *s == '\\')
			w_raw(w, "\\", 1);
		w_raw(w, s, 1);
	}
	w_raw(w, "\"", 1);
}

static void w_attr(struct wbuf *w, int depth, const char *key, const char *v)
{
	w_indent(w, depth);
	w_raw(w, key, strlen(key));
	w_raw(w, " ", 1);
	w_value(w, v);
	w_raw(w, "\n", 1);
}

static void w_attr_u64(struct wbuf *w, int depth, const char *key,
		       unsigned long long v)
{
	w_indent(w, depth);
	w_fmt(w, "%s %llu\n", key, v);
}

static void w_user(struct wbuf *w, int depth, const char *key,
		   const struct ut_user_cfg *u)
{
	w_indent(w, depth);
	w_raw(w, key, strlen(key));
	w_raw(w, " ", 1);
	w_value(w, u->name);
	w_raw(w, " ", 1);
	w_value(w, u->secret);
	w_raw(w, "\n", 1);
}

/* ------------------------------------------------------------ devices */

static const char *handler_name(enum bs_kind k)
{
	switch (k) {
	case BS_FILE:
		return "vdisk_fileio";
	case BS_BLOCK:
		return "vdisk_blockio";
	case BS_NULL:
		return "vdisk_nullio";
	case BS_MEM:
		return "vdisk_mem";
	case BS_RBD:
		return "vdisk_rbd";
	case BS_TCMU:
		return "vdisk_tcmu";
	default:
		return NULL;
	}
}

static void w_dev(struct wbuf *w, const struct ut_dev_cfg *d)
{
	struct ut_dev_cfg def;
	unsigned int exp = 0;

	cfg_dev_init(&def, d->kind);
	cfg_copy(def.name, sizeof(def.name), d->name);
	cfg_dev_finish(&def);
	w_indent(w, 1);
	w_raw(w, "DEVICE ", 7);
	w_value(w, d->name);
	w_raw(w, " {\n", 3);
	if (d->path[0])
		w_attr(w, 2, "filename", d->path);
	if (d->size_bytes)
		w_attr_u64(w, 2, "size", (unsigned long long)d->size_bytes);
	if (d->block_size != 512)
		w_attr_u64(w, 2, "blocksize", d->block_size);
	while (d->phys_block_size > (d->block_size << exp) && exp < 15)
		exp++;
	if (d->phys_block_size)
		w_attr_u64(w, 2, "lb_per_pb_exp", exp);
	if (d->read_only)
		w_attr(w, 2, "read_only", "1");
	if (d->thin)
		w_attr(w, 2, "thin_provisioned", "1");
	if (d->removable)
		w_attr(w, 2, "removable", "1");
	if (d->write_through)
		w_attr(w, 2, "write_through", "1");
	if (d->nv_cache)
		w_attr(w, 2, "nv_cache", "1");
	if (d->expl_alua)
		w_attr(w, 2, "expl_alua", "1");
	if (d->sanitize_bytes_per_s != def.sanitize_bytes_per_s)
		w_attr_u64(w, 2, "sanitize_rate",
			   (unsigned long long)d->sanitize_bytes_per_s);
	if (strcmp(d->t10_vendor_id, def.t10_vendor_id))
		w_attr(w, 2, "t10_vendor_id", d->t10_vendor_id);
	if (strcmp(d->prod_id, def.prod_id))
		w_attr(w, 2, "prod_id", d->prod_id);
	if (strcmp(d->t10_dev_id, def.t10_dev_id))
		w_attr(w, 2, "t10_dev_id", d->t10_dev_id);
	if (strcmp(d->usn, def.usn))
		w_attr(w, 2, "usn", d->usn);
	if (d->conf[0])
		w_attr(w, 2, "conf", d->conf);
	if (d->client_id[0])
		w_attr(w, 2, "id", d->client_id);
	if (d->timeout_s)
		w_attr_u64(w, 2, "timeout", d->timeout_s);
	if (d->cache)
		w_attr(w, 2, "rbd_cache", "1");
	w_indent(w, 1);
	w_raw(w, "}\n", 2);
}

/* In configuration order, which the parser keeps: a new HANDLER block
 * whenever the kind changes (SCST reads repeated HANDLER blocks too). */
static void w_devices(struct wbuf *w, const struct ut_config *cfg)
{
	for (size_t i = 0; i < cfg->dev_count; i++) {
		const struct ut_dev_cfg *d = &cfg->devs[i];

		if (i == 0 || cfg->devs[i - 1].kind != d->kind)
			w_fmt(w, "HANDLER %s {\n", handler_name(d->kind));
		w_dev(w, d);
		if (i + 1 == cfg->dev_count || cfg->devs[i + 1].kind != d->kind)
			w_raw(w, "}\n\n", 3);
	}
}

/* --------------------------------------------------------- parameters */

static void w_digest(struct wbuf *w, int depth, const char *key,
		     const enum ut_digest *list, int n)
{
	w_indent(w, depth);
	w_fmt(w, "%s ", key);
	for (int i = 0; i < n; i++)
		w_fmt(w, "%s%s", i ? "," : "",
		      list[i] == UT_DIGEST_CRC32C ? "CRC32C" : "None");
	w_raw(w, "\n", 1);
}

static void w_params_diff(struct wbuf *w, int depth,
			  const struct ut_iscsi_params *p,
			  const struct ut_iscsi_params *base);

/* Every parameter of p that differs from base (from the defaults: base
 * NULL). */
static void w_params(struct wbuf *w, int depth, const struct ut_iscsi_params *p,
		     const struct ut_iscsi_params *base_or_null)
{
	struct ut_iscsi_params def;
	const struct ut_iscsi_params *base = base_or_null;

	if (!base) {
		ut_iscsi_params_default(&def);
		base = &def;
	}
	w_params_diff(w, depth, p, base);
}

static void w_params_diff(struct wbuf *w, int depth,
			  const struct ut_iscsi_params *p,
			  const struct ut_iscsi_params *base)
{
	const struct {
		const char *key;
		uint32_t v, b;
	} u32s[] = {
#define U(k, f) {k, p->f, base->f}
		U("MaxRecvDataSegmentLength", max_recv_data_segment_length),
		U("MaxXmitDataSegmentLength", max_xmit_data_segment_length),
		U("MaxBurstLength", max_burst_length),
		U("FirstBurstLength", first_burst_length),
		U("MaxOutstandingR2T", max_outstanding_r2t),
		U("DefaultTime2Wait", default_time2wait),
		U("DefaultTime2Retain", default_time2retain),
		U("QueuedCommands", queued_commands),
		U("MaxSessions", max_sessions),
		U("NopInInterval", nop_in_interval_s),
		U("NopInTimeout", nop_in_timeout_s),
		U("RspTimeout", rsp_timeout_s),
		U("SessionBufferLimit", session_buffer_limit),
#undef U
	};
	bool hd, dd;

	hd = p->header_digest_count != base->header_digest_count ||
	     memcmp(p->header_digest, base->header_digest,
		    (size_t)p->header_digest_count * sizeof(enum ut_digest));
	dd = p->data_digest_count != base->data_digest_count ||
	     memcmp(p->data_digest, base->data_digest,
		    (size_t)p->data_digest_count * sizeof(enum ut_digest));
	if (hd)
		w_digest(w, depth, "HeaderDigest", p->header_digest,
			 p->header_digest_count);
	if (dd)
		w_digest(w, depth, "DataDigest", p->data_digest,
			 p->data_digest_count);
	if (p->initial_r2t != base->initial_r2t)
		w_attr(w, depth, "InitialR2T", p->initial_r2t ? "Yes" : "No");
	if (p->immediate_data != base->immediate_data)
		w_attr(w, depth, "ImmediateData",
		       p->immediate_data ? "Yes" : "No");
	for (size_t i = 0; i < sizeof(u32s) / sizeof(u32s[0]); i++)
		if (u32s[i].v != u32s[i].b)
			w_attr_u64(w, depth, u32s[i].key, u32s[i].v);
}

/* ------------------------------------------------------------ targets */

static void w_luns(struct wbuf *w, int depth, const struct ut_lun_cfg *l,
		   size_t n)
{
	for (size_t i = 0; i < n; i++) {
		w_indent(w, depth);
		w_fmt(w, "LUN %u ", l[i].lun);
		w_value(w, l[i].dev_name);
		w_raw(w, l[i].read_only ? " {\n" : "\n",
		      l[i].read_only ? 3 : 1);
		if (!l[i].read_only)
			continue;
		w_attr(w, depth + 1, "read_only", "1");
		w_indent(w, depth);
		w_raw(w, "}\n", 2);
	}
}

static void w_target(struct wbuf *w, const struct ut_config *cfg,
		     const struct ut_target_cfg *t)
{
	w_raw(w, "\n\tTARGET ", 9);
	w_value(w, t->iqn);
	w_raw(w, " {\n", 3);
	w_attr(w, 2, "enabled", t->enabled ? "1" : "0");
	if (t->alias[0])
		w_attr(w, 2, "alias", t->alias);
	if (t->rel_tgt_id)
		w_attr_u64(w, 2, "rel_tgt_id", t->rel_tgt_id);
	for (size_t i = 0; i < t->allowed_portal_count; i++)
		w_attr(w, 2, "allowed_portal", t->allowed_portals[i]);
	for (size_t i = 0; i < t->incoming_count; i++)
		w_user(w, 2, "IncomingUser", &t->incoming[i]);
	if (t->outgoing.name[0])
		w_user(w, 2, "OutgoingUser", &t->outgoing);
	w_params(w, 2, &t->params, &cfg->params);
	w_luns(w, 2, t->luns, t->lun_count);
	for (size_t g = 0; g < t->group_count; g++) {
		const struct ut_group_cfg *gr = &t->groups[g];

		w_raw(w, "\t\tGROUP ", 8);
		w_value(w, gr->name);
		w_raw(w, " {\n", 3);
		for (size_t i = 0; i < gr->initiator_count; i++)
			w_attr(w, 3, "INITIATOR", gr->initiators[i]);
		w_luns(w, 3, gr->luns, gr->lun_count);
		w_raw(w, "\t\t}\n", 4);
	}
	w_raw(w, "\t}\n", 3);
}

/* ------------------------------------------------ ALUA device groups */

static void w_dev_group(struct wbuf *w, const struct ut_dev_group_cfg *dg)
{
	w_raw(w, "\nDEVICE_GROUP ", 14);
	w_value(w, dg->name);
	w_raw(w, " {\n", 3);
	for (size_t i = 0; i < dg->dev_count; i++)
		w_attr(w, 1, "DEVICE", dg->devs[i]);
	if (dg->transition_time_s)
		w_attr_u64(w, 1, "implicit_transition_time",
			   dg->transition_time_s);
	for (size_t k = 0; k < dg->tgroup_count; k++) {
		const struct ut_tgt_group_cfg *tg = &dg->tgroups[k];

		w_raw(w, "\tTARGET_GROUP ", 14);
		w_value(w, tg->name);
		w_raw(w, " {\n", 3);
		if (tg->group_id <= 65535)
			w_attr_u64(w, 2, "group_id", tg->group_id);
		w_attr(w, 2, "state", scsi_alua_state_name(tg->state));
		if (tg->preferred)
			w_attr(w, 2, "preferred", "1");
		for (size_t j = 0; j < tg->target_count; j++) {
			const struct ut_tg_target_cfg *tt = &tg->targets[j];

			w_indent(w, 2);
			w_raw(w, "TARGET ", 7);
			w_value(w, tt->name);
			if (!tt->rel_tgt_id) {
				w_raw(w, "\n", 1);
				continue;
			}
			w_raw(w, " {\n", 3);
			w_attr_u64(w, 3, "rel_tgt_id", tt->rel_tgt_id);
			w_raw(w, "\t\t}\n", 4);
		}
		w_raw(w, "\t}\n", 3);
	}
	w_raw(w, "}\n", 2);
}

int ut_config_write(const struct ut_config *cfg, char **out, size_t *len)
{
	struct wbuf w = {0};

	w_raw(&w,
	      "# utarget configuration (scst.conf format), written from the "
	      "running daemon.\n# It holds any CHAP secrets: keep it mode "
	      "0600.\n\n",
	      strlen("# utarget configuration (scst.conf format), written "
		     "from the running daemon.\n# It holds any CHAP secrets: "
		     "keep it mode 0600.\n\n"));
	w_devices(&w, cfg);
	w_raw(&w, "TARGET_DRIVER iscsi {\n", 22);
	w_attr(&w, 1, "enabled", cfg->iscsi_enabled ? "1" : "0");
	/* One PORTAL_GROUP block per portal outside group 1: the portal
	 * order survives (the parser keeps it). */
	for (size_t i = 0; i < cfg->portal_count; i++) {
		uint16_t tpgt = ut_config_portal_tpgt(cfg, i);

		if (tpgt != 1)
			w_fmt(&w, "\tPORTAL_GROUP %u {\n", tpgt);
		w_attr(&w, tpgt != 1 ? 2 : 1, "portal", cfg->portals[i]);
		if (tpgt != 1)
			w_raw(&w, "\t}\n", 3);
	}
	for (size_t i = 0; i < cfg->discovery_incoming_count; i++)
		w_user(&w, 1, "IncomingUser", &cfg->discovery_incoming[i]);
	if (cfg->discovery_outgoing.name[0])
		w_user(&w, 1, "OutgoingUser", &cfg->discovery_outgoing);
	w_params(&w, 1, &cfg->params, NULL);
	for (size_t i = 0; i < cfg->target_count; i++)
		w_target(&w, cfg, &cfg->targets[i]);
	w_raw(&w, "}\n", 2);
	for (size_t i = 0; i < cfg->dgroup_count; i++)
		w_dev_group(&w, &cfg->dgroups[i]);
	if (w.failed) {
		if (w.p)
			explicit_bzero(w.p, w.cap);
		free(w.p);
		return -1;
	}
	*out = w.p;
	*len = w.len;
	return 0;
}
