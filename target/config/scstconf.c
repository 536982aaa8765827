/*
 * scstconf.c — the scst.conf front end: a buffer in, a struct ut_config out.
 *
 * The grammar (SCST's sysfs-format scst.conf, as far as utarget uses it):
 *
 *   file      := { stmt }
 *   stmt      := key { value } [ "{" { stmt } "}" ] end
 *   end       := NEWLINE | before "}" | EOF
 *   key,value := WORD | STRING
 *   WORD      := a run of bytes other than blanks, newline, "{" and "}"
 *   STRING    := '"' { byte other than '"', newline; \" and \\ escape } '"'
 *   comment   := "#" at the start of a token, up to the end of the line
 *
 * What the statements mean depends on the block they are in:
 *
 *   (top)          HANDLER name { DEVICE name [ { dev-attr } ] }
 *                  TARGET_DRIVER iscsi { driver-attr | TARGET ... }
 *                  TARGET_DRIVER other { ... }  (warned about, skipped)
 *                  DEVICE_GROUP name { DEVICE dev | TARGET_GROUP name {
 *                      group_id n | state s | preferred b
 *                      | TARGET port [ { rel_tgt_id n } ] } }   (ALUA)
 *   TARGET_DRIVER  driver-attr | portal addr | PORTAL_GROUP n { portal }
 *                  | TARGET iqn { ... }
 *   TARGET iqn     target-attr | LUN n dev [ { read_only b } ]
 *                  | GROUP name { INITIATOR pattern | LUN ... }
 *
 * Keywords and attribute names match case-insensitively; names (devices,
 * targets, groups, handlers) match exactly.  Anything the model has no room
 * for is a warning, never an error: an SCST configuration should load with
 * the parts utarget implements.  Errors are what would make the result
 * wrong: bad syntax, bad numbers, out-of-range values, dangling or
 * duplicate LUNs.  The first error stops the parse.
 *
 * Driver-level iSCSI parameters are defaults: after the whole file is read,
 * every target gets the driver-level value of each parameter it does not
 * set itself, wherever in the block the driver-level line appears.
 *
 * Every count and length is capped (see config.h), so a hostile file costs
 * bounded memory: the buffer (16 MiB), a token (4096 bytes), the values
 * on one line (CFG_MAX_ARGS), devices, targets, groups, LUN mappings.
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

/* ------------------------------------------------------ iSCSI parameters */

#define CFG_OFF(f) offsetof(struct ut_iscsi_params, f)
#define CFG_SEG_MAX 16777215u /* 2^24 - 1, RFC 7143 §13.12 */

const struct cfg_param cfg_params[] = {
	{"HeaderDigest", CFG_P_DIGEST, 0, 0, CFG_OFF(header_digest),
	 CFG_OFF(header_digest_count)},
	{"DataDigest", CFG_P_DIGEST, 0, 0, CFG_OFF(data_digest),
	 CFG_OFF(data_digest_count)},
	{"InitialR2T", CFG_P_BOOL, 0, 1, CFG_OFF(initial_r2t), 0},
	{"ImmediateData", CFG_P_BOOL, 0, 1, CFG_OFF(immediate_data), 0},
	{"MaxRecvDataSegmentLength", CFG_P_U32, 512, CFG_SEG_MAX,
	 CFG_OFF(max_recv_data_segment_length), 0},
	{"MaxXmitDataSegmentLength", CFG_P_U32, 512, CFG_SEG_MAX,
	 CFG_OFF(max_xmit_data_segment_length), 0},
	{"MaxBurstLength", CFG_P_U32, 512, CFG_SEG_MAX,
	 CFG_OFF(max_burst_length), 0},
	{"FirstBurstLength", CFG_P_U32, 512, CFG_SEG_MAX,
	 CFG_OFF(first_burst_length), 0},
	{"MaxOutstandingR2T", CFG_P_U32, 1, 65535, CFG_OFF(max_outstanding_r2t),
	 0},
	{"DefaultTime2Wait", CFG_P_U32, 0, 3600, CFG_OFF(default_time2wait), 0},
	{"DefaultTime2Retain", CFG_P_U32, 0, 3600, CFG_OFF(default_time2retain),
	 0},
	{"QueuedCommands", CFG_P_U32, 1, 2048, CFG_OFF(queued_commands), 0},
	{"MaxSessions", CFG_P_U32, 0, 65535, CFG_OFF(max_sessions), 0},
	{"NopInInterval", CFG_P_U32, 0, 3600, CFG_OFF(nop_in_interval_s), 0},
	{"NopInTimeout", CFG_P_U32, 1, 3600, CFG_OFF(nop_in_timeout_s), 0},
	{"RspTimeout", CFG_P_U32, 1, 3600, CFG_OFF(rsp_timeout_s), 0},
	{"SessionBufferLimit", CFG_P_U32, 64u << 20, 1u << 30,
	 CFG_OFF(session_buffer_limit), 0},
	{"ErrorRecoveryLevel", CFG_P_ERL, 0, 2, 0, 0},
	{"MaxConnections", CFG_P_MAXCONN, 1, 65535, 0, 0},
};

#define CFG_NPARAMS (sizeof(cfg_params) / sizeof(cfg_params[0]))
_Static_assert(CFG_NPARAMS <= 32, "tmask has one bit per parameter");

int cfg_find_param(const struct cfg_stmt *st)
{
	for (size_t i = 0; i < CFG_NPARAMS; i++)
		if (cfg_key(st, cfg_params[i].key))
			return (int)i;
	return -1;
}

static int cfg_digest_item(const char *s, size_t n, enum ut_digest *out)
{
	if (n == 4 && !strncasecmp(s, "None", 4))
		*out = UT_DIGEST_NONE;
	else if (n == 6 && !strncasecmp(s, "CRC32C", 6))
		*out = UT_DIGEST_CRC32C;
	else
		return -1;
	return 0;
}

/* "CRC32C,None", "None", or the same split over several values. */
static int cfg_digest(struct cfg_parser *p, const struct cfg_stmt *st,
		      const struct cfg_param *par, struct ut_iscsi_params *dst)
{
	enum ut_digest list[2];
	int n = 0;

	if (st->block || st->nargs == 0)
		return cfg_one(p, st, &(const char *){NULL});
	for (size_t i = 0; i < st->nargs; i++) {
		const struct cfg_tok *a = &st->args[i];

		for (const char *s = a->s;; s++) {
			size_t len = strcspn(s, ",");
			enum ut_digest d;

			/* "None, CRC32C": the comma ends a value, not the
			 * line. */
			if (len == 0 && !*s && s != a->s && i + 1 < st->nargs)
				break;
			if (cfg_digest_item(s, len, &d))
				return cfg_err(p, a,
					       "%s value '%.*s' is not "
					       "CRC32C or None",
					       par->key,
					       (int)(len > 32 ? 32 : len), s);
			if (n == 2 || (n == 1 && list[0] == d))
				return cfg_err(p, a,
					       "%s lists each of CRC32C "
					       "and None at most once",
					       par->key);
			list[n++] = d;
			s += len;
			if (!*s)
				break;
		}
	}
	memcpy((char *)dst + par->off, list, sizeof(list));
	memcpy((char *)dst + par->count_off, &n, sizeof(n));
	return 0;
}

static int cfg_param_u32(struct cfg_parser *p, const struct cfg_stmt *st,
			 const struct cfg_param *par, uint32_t *out)
{
	const char *v;
	uint64_t n;

	if (cfg_one(p, st, &v))
		return -1;
	if (cfg_parse_dec(v, UINT32_MAX, &n))
		return cfg_err(p, &st->args[0],
			       "%s: '%.32s' is not a "
			       "decimal number",
			       par->key, v);
	if (n < par->min || n > par->max)
		return cfg_err(p, &st->args[0],
			       "%s %llu is out of range "
			       "(%u..%u)",
			       par->key, (unsigned long long)n, par->min,
			       par->max);
	*out = (uint32_t)n;
	return 0;
}

int cfg_param_set(struct cfg_parser *p, const struct cfg_stmt *st,
		  const struct cfg_param *par, struct ut_iscsi_params *dst)
{
	uint32_t v;
	bool b;

	switch (par->type) {
	case CFG_P_DIGEST:
		return cfg_digest(p, st, par, dst);
	case CFG_P_BOOL:
		if (cfg_bool(p, st, &b))
			return -1;
		memcpy((char *)dst + par->off, &b, sizeof(b));
		return 0;
	case CFG_P_U32:
		if (cfg_param_u32(p, st, par, &v))
			return -1;
		memcpy((char *)dst + par->off, &v, sizeof(v));
		return 0;
	case CFG_P_ERL:
		if (cfg_param_u32(p, st, par, &v))
			return -1;
		/* Negotiation takes the minimum (RFC 7143 §13.20), so
		 * offering 0 is always a valid answer. */
		if (v > 0)
			cfg_warn(p, &st->args[0],
				 "utarget implements "
				 "ErrorRecoveryLevel 0 only; offering 0");
		return 0;
	case CFG_P_MAXCONN:
		if (cfg_param_u32(p, st, par, &v))
			return -1;
		if (v > 1)
			cfg_warn(p, &st->args[0],
				 "utarget supports one "
				 "connection per session; offering "
				 "MaxConnections 1");
		return 0;
	}
	return -1;
}

static void cfg_param_copy(struct ut_iscsi_params *dst,
			   const struct ut_iscsi_params *src,
			   const struct cfg_param *par)
{
	size_t n = 0;

	switch (par->type) {
	case CFG_P_DIGEST:
		n = 2 * sizeof(enum ut_digest);
		memcpy((char *)dst + par->count_off,
		       (const char *)src + par->count_off, sizeof(int));
		break;
	case CFG_P_BOOL:
		n = sizeof(bool);
		break;
	case CFG_P_U32:
		n = sizeof(uint32_t);
		break;
	case CFG_P_ERL:
	case CFG_P_MAXCONN:
		return;
	}
	memcpy((char *)dst + par->off, (const char *)src + par->off, n);
}

/* --------------------------------------------------------------- users */

/* IncomingUser "name secret" or IncomingUser name secret. */
int cfg_user(struct cfg_parser *p, const struct cfg_stmt *st,
	     struct ut_user_cfg *u)
{
	const char *name, *secret;
	size_t nlen;

	if (st->block)
		return cfg_one(p, st, &name);
	if (st->nargs == 1) {
		name = st->args[0].s;
		nlen = strcspn(name, " \t");
		secret = name + nlen + strspn(name + nlen, " \t");
	} else if (st->nargs == 2) {
		name = st->args[0].s;
		nlen = strlen(name);
		secret = st->args[1].s;
	} else {
		return cfg_err(p, &st->key, "%s needs a name and a secret",
			       st->key.s);
	}
	if (nlen == 0 || !*secret)
		return cfg_err(p, &st->key, "%s needs a name and a secret",
			       st->key.s);
	if (nlen >= sizeof(u->name))
		return cfg_err(p, &st->args[0],
			       "%s: user name is longer than "
			       "%zu bytes",
			       st->key.s, sizeof(u->name) - 1);
	if (strlen(secret) >= sizeof(u->secret))
		return cfg_err(p, &st->args[st->nargs - 1],
			       "%s: secret is "
			       "longer than %zu bytes",
			       st->key.s, sizeof(u->secret) - 1);
	memcpy(u->name, name, nlen);
	u->name[nlen] = '\0';
	memcpy(u->secret, secret, strlen(secret) + 1);
	p->cfg->has_secrets = true;
	return 0;
}

int cfg_user_add(struct cfg_parser *p, const struct cfg_stmt *st,
		 struct ut_user_cfg **users, size_t *count)
{
	struct ut_user_cfg u;
	struct ut_user_cfg *slot;
	int rc = -1;

	memset(&u, 0, sizeof(u));
	if (cfg_user(p, st, &u))
		goto out;
	slot = cfg_array_add(users, count, sizeof(u), UT_MAX_USERS);
	if (!slot) {
		cfg_err(p, &st->key, "more than %d %s lines in one block",
			UT_MAX_USERS, st->key.s);
		goto out;
	}
	*slot = u;
	rc = 0;
out:
	explicit_bzero(&u, sizeof(u));
	return rc;
}

/* ------------------------------------------------------------- devices */

struct cfg_dev_ctx {
	size_t idx;
	struct cfg_tok size_at; /* where size/size_mb was set (no text) */
	int pb_exp;		/* lb_per_pb_exp, -1 if not given */
};

static const struct {
	const char *key;
	size_t off;
} cfg_dev_bools[] = {
	{"read_only", offsetof(struct ut_dev_cfg, read_only)},
	{"thin_provisioned", offsetof(struct ut_dev_cfg, thin)},
	{"removable", offsetof(struct ut_dev_cfg, removable)},
	{"write_through", offsetof(struct ut_dev_cfg, write_through)},
	{"nv_cache", offsetof(struct ut_dev_cfg, nv_cache)},
	{"expl_alua", offsetof(struct ut_dev_cfg, expl_alua)},
};

static const struct {
	const char *key;
	size_t off, cap;
} cfg_dev_texts[] = {
	{"t10_vendor_id", offsetof(struct ut_dev_cfg, t10_vendor_id), 9},
	{"prod_id", offsetof(struct ut_dev_cfg, prod_id), 17},
	{"t10_dev_id", offsetof(struct ut_dev_cfg, t10_dev_id), 64},
	{"usn", offsetof(struct ut_dev_cfg, usn), 33},
};

/* SPC-5 §4.3.1: identification fields are ASCII graphic characters. */
static int cfg_dev_text(struct cfg_parser *p, const struct cfg_stmt *st,
			const char *owner, char *dst, size_t cap)
{
	if (cfg_text(p, st, owner, dst, cap))
		return -1;
	for (const char *s = dst; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return cfg_err(p, &st->args[0],
				       "%s of %s must be "
				       "printable ASCII",
				       st->key.s, owner);
	return 0;
}

static int cfg_dev_size(struct cfg_parser *p, const struct cfg_stmt *st,
			struct cfg_dev_ctx *d, struct ut_dev_cfg *dev)
{
	const char *v;
	uint64_t n;
	int bad;

	if (cfg_one(p, st, &v))
		return -1;
	if (cfg_key(st, "size_mb")) {
		bad = cfg_parse_dec(v, UINT64_MAX >> 20, &n);
		if (!bad)
			n <<= 20;
	} else {
		bad = ut_size_parse(v, &n);
	}
	if (bad)
		return cfg_err(p, &st->args[0],
			       "%s of device '%s': '%.32s' is "
			       "not a size (expected bytes%s)",
			       st->key.s, dev->name, v,
			       cfg_key(st, "size_mb")
				       ? ""
				       : " or a K, M, G or T suffix");
	if (n > UT_DEV_SIZE_MAX)
		return cfg_err(p, &st->args[0],
			       "size of device '%s' exceeds "
			       "the maximum of %llu bytes (1 EiB)",
			       dev->name, (unsigned long long)UT_DEV_SIZE_MAX);
	dev->size_bytes = n;
	d->size_at = st->args[0];
	d->size_at.s = NULL;
	return 0;
}

static int cfg_dev_blocksize(struct cfg_parser *p, const struct cfg_stmt *st,
			     struct ut_dev_cfg *dev)
{
	const char *v;
	uint64_t n;

	if (cfg_one(p, st, &v))
		return -1;
	if (cfg_parse_dec(v, UINT32_MAX, &n) || (n != 512 && n != 4096))
		return cfg_err(p, &st->args[0],
			       "blocksize must be 512 or 4096 "
			       "(device '%s' has '%.32s')",
			       dev->name, v);
	dev->block_size = (uint32_t)n;
	return 0;
}

/* utarget: SANITIZE OVERWRITE's pace in bytes per second, with the size
 * suffixes (256M); 0 = as fast as the backstore writes. */
static int cfg_dev_sanitize_rate(struct cfg_parser *p,
				 const struct cfg_stmt *st,
				 struct ut_dev_cfg *dev)
{
	const char *v;
	uint64_t n;

	if (cfg_one(p, st, &v))
		return -1;
	if (ut_size_parse(v, &n) || n > UT_SANITIZE_RATE_MAX)
		return cfg_err(p, &st->args[0],
			       "sanitize_rate of device '%s' must be bytes "
			       "per second (a K, M, G or T suffix allowed), "
			       "0..1T, not '%.32s'",
			       dev->name, v);
	dev->sanitize_bytes_per_s = n;
	return 0;
}

/* vdisk_rbd attributes (utarget's extension): conf, id, timeout,
 * rbd_cache.  False if st is none of them; else true with *rc the
 * statement's result (0 or -1). */
static bool cfg_dev_rbd_stmt(struct cfg_parser *p, struct cfg_stmt *st,
			     const char *owner, struct ut_dev_cfg *dev, int *rc)
{
	const char *v;
	uint64_t n;

	if (cfg_key(st, "conf")) {
		*rc = cfg_text(p, st, owner, dev->conf, sizeof(dev->conf));
	} else if (cfg_key(st, "id")) {
		*rc = cfg_text(p, st, owner, dev->client_id,
			       sizeof(dev->client_id));
	} else if (cfg_key(st, "timeout")) {
		*rc = cfg_one(p, st, &v);
		if (*rc == 0 && (cfg_parse_dec(v, 3600, &n) || n == 0))
			*rc = cfg_err(p, &st->args[0],
				      "timeout of %s must be 1 to "
				      "3600 seconds",
				      owner);
		else if (*rc == 0)
			dev->timeout_s = (uint32_t)n;
	} else if (cfg_key(st, "rbd_cache")) {
		*rc = cfg_bool(p, st, &dev->cache);
	} else {
		return false;
	}
	return true;
}

static int cfg_dev_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	struct cfg_dev_ctx *d = ctx;
	struct ut_dev_cfg *dev = &p->cfg->devs[d->idx];
	char owner[UT_DEV_NAME_MAX + 16];
	bool has_file = dev->kind == BS_FILE || dev->kind == BS_BLOCK ||
			dev->kind == BS_RBD || dev->kind == BS_TCMU;
	int rc;

	snprintf(owner, sizeof(owner), "device '%s'", dev->name);
	for (size_t i = 0; i < sizeof(cfg_dev_bools) / sizeof(cfg_dev_bools[0]);
	     i++)
		if (cfg_key(st, cfg_dev_bools[i].key))
			return cfg_bool(
				p, st,
				(bool *)((char *)dev + cfg_dev_bools[i].off));
	for (size_t i = 0; i < sizeof(cfg_dev_texts) / sizeof(cfg_dev_texts[0]);
	     i++)
		if (cfg_key(st, cfg_dev_texts[i].key))
			return cfg_dev_text(p, st, owner,
					    (char *)dev + cfg_dev_texts[i].off,
					    cfg_dev_texts[i].cap);
	if (cfg_key(st, "size") || cfg_key(st, "size_mb"))
		return cfg_dev_size(p, st, d, dev);
	if (cfg_key(st, "blocksize"))
		return cfg_dev_blocksize(p, st, dev);
	if (cfg_key(st, "sanitize_rate"))
		return cfg_dev_sanitize_rate(p, st, dev);
	if (cfg_key(st, "lb_per_pb_exp")) {
		/* SCST: log2 of logical blocks per physical block. */
		const char *v;
		uint64_t n;

		if (cfg_one(p, st, &v))
			return -1;
		if (cfg_parse_dec(v, 15, &n))
			return cfg_err(p, &st->args[0],
				       "lb_per_pb_exp of %s must be 0..15",
				       owner);
		d->pb_exp = (int)n;
		return 0;
	}
	if (dev->kind == BS_RBD && cfg_dev_rbd_stmt(p, st, owner, dev, &rc))
		return rc;
	if (has_file && cfg_key(st, "filename")) {
		if (cfg_text(p, st, owner, dev->path, sizeof(dev->path)))
			return -1;
		if (!dev->path[0])
			return cfg_err(p, &st->args[0],
				       "filename of %s is "
				       "empty",
				       owner);
		return 0;
	}
	return cfg_unsupported(p, st, owner);
}

static int cfg_device(struct cfg_parser *p, struct cfg_stmt *st,
		      enum bs_kind kind)
{
	struct ut_config *cfg = p->cfg;
	const struct ut_dev_cfg *old;
	struct cfg_dev_ctx d = {0};
	struct ut_dev_cfg *dev;
	const char *name;

	if (cfg_name(p, st, UT_DEV_NAME_MAX, &name))
		return -1;
	old = ut_config_find_dev(cfg, name);
	if (old)
		return cfg_err(p, &st->args[0],
			       "device '%s' is defined twice "
			       "(first at line %d)",
			       name, old->line);
	dev = cfg_array_add(&cfg->devs, &cfg->dev_count, sizeof(*dev),
			    UT_MAX_DEVS);
	if (!dev)
		return cfg->dev_count >= UT_MAX_DEVS
			       ? cfg_err(p, &st->key, "more than %d devices",
					 UT_MAX_DEVS)
			       : cfg_nomem(p, &st->key);
	cfg_dev_init(dev, kind);
	memcpy(dev->name, name, strlen(name) + 1);
	dev->line = st->key.line;
	d.idx = cfg->dev_count - 1;
	d.pb_exp = -1;
	if (st->block && cfg_body(p, st, cfg_dev_stmt, &d))
		return -1;
	dev = &cfg->devs[d.idx];
	if (d.pb_exp >= 0)
		dev->phys_block_size = dev->block_size << d.pb_exp;
	if (dev->size_bytes % dev->block_size)
		return cfg_err(p, &d.size_at,
			       "size of device '%s' (%llu bytes) "
			       "is not a multiple of its blocksize %u",
			       dev->name, (unsigned long long)dev->size_bytes,
			       dev->block_size);
	cfg_dev_finish(dev);
	return 0;
}

static const struct {
	const char *name;
	enum bs_kind kind;
} cfg_handlers[] = {
	{"vdisk_fileio", BS_FILE},
	{"vdisk_blockio", BS_BLOCK},
	{"vdisk_nullio", BS_NULL},
	{"vdisk_mem", BS_MEM}, /* utarget's own: a RAM disk */
	/* utarget's own: a Ceph RBD image (filename POOL/IMAGE) and a
	 * tcmu-runner handler plugin (filename HANDLER/CFGSTRING) */
	{"vdisk_rbd", BS_RBD},
	{"vdisk_tcmu", BS_TCMU},
};

struct cfg_handler_ctx {
	const char *name;
	enum bs_kind kind;
};

static int cfg_handler_stmt(struct cfg_parser *p, struct cfg_stmt *st,
			    void *ctx)
{
	struct cfg_handler_ctx *h = ctx;
	char owner[96];

	if (cfg_key(st, "DEVICE"))
		return cfg_device(p, st, h->kind);
	snprintf(owner, sizeof(owner), "handler '%s'", h->name);
	return cfg_unsupported(p, st, owner);
}

static int cfg_handler(struct cfg_parser *p, struct cfg_stmt *st)
{
	struct cfg_handler_ctx h;

	if (cfg_name(p, st, 64, &h.name))
		return -1;
	for (size_t i = 0; i < sizeof(cfg_handlers) / sizeof(cfg_handlers[0]);
	     i++) {
		if (strcmp(h.name, cfg_handlers[i].name))
			continue;
		h.kind = cfg_handlers[i].kind;
		return st->block ? cfg_body(p, st, cfg_handler_stmt, &h) : 0;
	}
	cfg_warn(p, &st->args[0],
		 "handler '%s' is not supported by utarget; "
		 "its devices are ignored",
		 h.name);
	return st->block ? cfg_skip(p, st) : 0;
}

static int cfg_top_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	if (cfg_key(st, "HANDLER"))
		return cfg_handler(p, st);
	if (cfg_key(st, "TARGET_DRIVER"))
		return cfg_driver(p, st);
	if (cfg_key(st, "DEVICE_GROUP"))
		return cfg_dev_group(p, st);
	return cfg_unsupported(p, st, NULL);
}

/* ------------------------------------------------------------ the file */

/* Cross references that may point forward: LUN -> DEVICE. */
static int cfg_check_refs(struct cfg_parser *p)
{
	for (size_t i = 0; i < p->ref_count; i++) {
		const struct cfg_ref *r = &p->refs[i];
		const struct ut_target_cfg *t = &p->cfg->targets[r->target];
		const struct ut_lun_cfg *l =
			r->group == CFG_NO_GROUP
				? &t->luns[r->lun]
				: &t->groups[r->group].luns[r->lun];

		if (!ut_config_find_dev(p->cfg, l->dev_name))
			return cfg_diag(p, 1, r->line, r->col,
					"LUN %u of "
					"target '%s' names unknown device '%s'",
					l->lun, t->iqn, l->dev_name);
	}
	return 0;
}

/* Driver-level parameters are the default of every target. */
static void cfg_apply_driver_params(struct cfg_parser *p)
{
	for (size_t ti = 0; ti < p->tmask_count; ti++)
		for (size_t i = 0; i < CFG_NPARAMS; i++)
			if (!(p->tmask[ti] & (1u << i)))
				cfg_param_copy(&p->cfg->targets[ti].params,
					       &p->cfg->params, &cfg_params[i]);
}

int ut_config_parse(struct ut_config *cfg, const char *file, const char *buf,
		    size_t len, ut_config_diag_fn diag, void *diag_arg)
{
	struct cfg_parser p = {
		.cfg = cfg,
		.file = file ? file : "<config>",
		.buf = buf,
		.len = len,
		.line = 1,
		.col = 1,
		.diag = diag,
		.diag_arg = diag_arg,
	};
	int rc = -1;

	if (len > UT_CONFIG_MAX_BYTES || (!buf && len)) {
		cfg_diag(&p, 1, 1, 1,
			 "configuration is %zu bytes; the limit "
			 "is %u",
			 len, UT_CONFIG_MAX_BYTES);
		goto out;
	}
	/* Targets already in cfg keep their parameters as they are. */
	for (size_t i = 0; i < cfg->target_count; i++) {
		uint32_t *m = cfg_array_add(&p.tmask, &p.tmask_count,
					    sizeof(*m), UT_MAX_TARGETS);
		if (!m)
			goto out;
		*m = UINT32_MAX;
	}
	if (cfg_body(&p, NULL, cfg_top_stmt, NULL) || cfg_check_refs(&p))
		goto out;
	cfg_apply_driver_params(&p);
	rc = 0;
out:
	if (p.have_peek)
		cfg_tok_free(&p.peek);
	free(p.tmask);
	free(p.refs);
	return rc;
}
