/*
 * scenario_conffile.c — the world line `config-file scst|saved|off`: the
 * simulated target boots from scst.conf text, as the daemon does from
 * `--config` (round of lead20).
 *
 * Without it the simulator hands the target its configuration as a
 * struct ut_config, and the target's scst.conf parser (scstconf*.c, the
 * front end every administrator uses) was reached by unit tests and the
 * fuzzer only, which judge little of what it builds.  With it, at every
 * boot (the first and every restart after a crash or shutdown):
 *
 *   scst   the simulator writes the configuration it means with its own
 *          writer (below), in a different spelling at every boot: any
 *          keyword case, values bare or quoted, every boolean and size
 *          form the format allows, attributes in any order, defaults
 *          written or left out, comments and blank lines, one-line
 *          blocks, one HANDLER block per device or per kind, the driver's
 *          parameters before or after its targets, digest lists split
 *          over values, users as one quoted value or two;
 *   saved  the target writes it (ut_config_write: `utargetctl save`), as
 *          an administrator saves the running configuration and starts
 *          from the file.
 *
 * The target's parser reads the text back (ut_config_parse).  Checks: it
 * says nothing (no warning, no error: the text holds only what utarget
 * implements), and what it built is the configuration meant (compared
 * field by field, below); then the target boots from it, and every oracle
 * of the run judges a target built by its own front end.
 *
 * Simulated disks have no handler of their own in the format: they are
 * written as vdisk_fileio devices whose filename is the disk's name, which
 * is how the simulated environment opens them (sim_disk.c
 * sim_env_disk_open); after the parse such a device is the simulated disk
 * again.  The spelling draws come from a generator of this file's own,
 * seeded from the run's seed and the boot number, never from the
 * simulator's: a world with `config-file` runs event for event as the
 * same world without it (the same trace hash).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_int.h"

/* ------------------------------------------------------------ the text */

struct ctext {
	char *p;
	size_t len, cap;
	bool failed;
	uint64_t rng;		 /* spelling draws (xorshift64*) */
	unsigned int size_forms; /* CT_SIZE_* written so far in this text */
};

static unsigned int ct_draw(struct ctext *t, unsigned int n)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return (unsigned int)(((t->rng * 0x2545f4914f6cdd1dull) >> 33) % n);
}

static void ct_put(struct ctext *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8192;
		char *np;

		while (cap < t->len + n + 1)
			cap *= 2;
		np = realloc(t->p, cap);
		if (np == NULL) {
			t->failed = true;
			return;
		}
		t->p = np;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void ct_printf(struct ctext *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ct_printf(struct ctext *t, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		t->failed = true;
		return;
	}
	ct_put(t, buf, (size_t)n);
}

static void ct_indent(struct ctext *t, int depth)
{
	/* tabs or spaces: blanks are blanks */
	for (int i = 0; i < depth; i++) {
		if (ct_draw(t, 4) != 0)
			ct_put(t, "\t", 1);
		else
			ct_put(t, "    ", 4);
	}
}

/* A keyword or attribute name: they match without regard to case. */
static void ct_key(struct ctext *t, const char *k)
{
	unsigned int how = ct_draw(t, 6);

	for (const char *s = k; *s; s++) {
		char c = *s;

		if (how == 1 && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (how == 2 && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (how == 3 && (s - k) % 2 && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		ct_put(t, &c, 1);
	}
}

/* One value: quoted when it must be (blanks, braces, a quote, a
 * backslash, a leading '#', empty), and now and then when it need not. */
static void ct_value(struct ctext *t, const char *v)
{
	bool must = v[0] == '\0' || v[0] == '#';

	for (const char *s = v; *s && !must; s++)
		must = strchr(" \t{}\"\\", *s) != NULL;
	if (!must && ct_draw(t, 4) != 0) {
		ct_put(t, " ", 1);
		ct_put(t, v, strlen(v));
		return;
	}
	ct_put(t, " \"", 2);
	for (const char *s = v; *s; s++) {
		if (*s == '"' || *s == '\\')
			ct_put(t, "\\", 1);
		ct_put(t, s, 1);
	}
	ct_put(t, "\"", 1);
}

/* The end of a statement: a newline, after a comment now and then. */
static void ct_end(struct ctext *t)
{
	if (ct_draw(t, 10) == 0)
		ct_put(t, " # the simulator's own spelling", 31);
	ct_put(t, "\n", 1);
	if (ct_draw(t, 12) == 0)
		ct_printf(t, "%s", ct_draw(t, 2) ? "\n" : "# a comment line\n");
}

static void ct_attr(struct ctext *t, int depth, const char *key, const char *v)
{
	ct_indent(t, depth);
	ct_key(t, key);
	ct_value(t, v);
	ct_end(t);
}

static void ct_attr_u64(struct ctext *t, int depth, const char *key,
			unsigned long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", v);
	ct_attr(t, depth, key, buf);
}

static void ct_bool(struct ctext *t, int depth, const char *key, bool b)
{
	static const char *const yes[] = {"1", "yes", "true", "Yes", "TRUE"};
	static const char *const no[] = {"0", "no", "false", "No", "FALSE"};

	ct_attr(t, depth, key, b ? yes[ct_draw(t, 5)] : no[ct_draw(t, 5)]);
}

/* A size: bytes, or with a unit suffix where it divides, or size_mb.
 * Every text writes each form its sizes allow (round of mutall21): a
 * form not yet written in this text comes first, size_mb before the
 * others (only a whole number of MiB takes it, and the explorer's sizes
 * seldom are: one draw in twelve left mutant 621, size_mb read as KiB,
 * to a rare seed); once each allowed form is written, the draw picks. */
enum { CT_SIZE_SFX = 1, CT_SIZE_MB = 2, CT_SIZE_BYTES = 4 };

static void ct_size(struct ctext *t, int depth, uint64_t bytes)
{
	static const struct {
		const char *sfx;
		unsigned int shift;
	} units[] = {{"K", 10},	  {"k", 10},   {"KiB", 10},
		     {"M", 20},	  {"mib", 20}, {"G", 30},
		     {"GiB", 30}, {"t", 40},   {"TiB", 40}};
	unsigned int u = ct_draw(t, 12), allowed = CT_SIZE_BYTES, fresh;
	char buf[40];

	if (bytes != 0 && bytes % (1ull << 10) == 0)
		allowed |= CT_SIZE_SFX;
	if (bytes != 0 && bytes % (1ull << 20) == 0)
		allowed |= CT_SIZE_MB;
	fresh = allowed & ~t->size_forms;
	if (fresh & CT_SIZE_MB) {
		u = 9;
	} else if (fresh & CT_SIZE_SFX) {
		/* a unit that divides: K always does */
		do
			u = ct_draw(t, 9);
		while (bytes % (1ull << units[u].shift) != 0);
	} else if (fresh & CT_SIZE_BYTES) {
		u = 10;
	}
	if (u < 9 && bytes != 0 && bytes % (1ull << units[u].shift) == 0) {
		snprintf(buf, sizeof(buf), "%llu%s",
			 (unsigned long long)(bytes >> units[u].shift),
			 units[u].sfx);
		ct_attr(t, depth, "size", buf);
		t->size_forms |= CT_SIZE_SFX;
	} else if (u == 9 && bytes % (1ull << 20) == 0) {
		ct_attr_u64(t, depth, "size_mb", bytes >> 20);
		if (bytes != 0)
			t->size_forms |= CT_SIZE_MB;
	} else {
		ct_attr_u64(t, depth, "size", bytes);
		t->size_forms |= CT_SIZE_BYTES;
	}
}

/* ------------------------------------------------------------ devices */

static const char *ct_handler(enum bs_kind k)
{
	switch (k) {
	case BS_SIM: /* its filename is its name (sim_env_disk_open) */
	case BS_FILE:
		return "vdisk_fileio";
	case BS_BLOCK:
		return "vdisk_blockio";
	case BS_NULL:
		return "vdisk_nullio";
	case BS_MEM:
		return "vdisk_mem";
	default:
		return NULL;
	}
}

/* What docs/configuration.md says a device attribute defaults to (the
 * simulator's own copy, as scenario.c documented_params for the iSCSI
 * keys): a value equal to it may be left out of the text, and the
 * parser must fill it in. */
#define CT_DEF_SANITIZE_RATE (256ull << 20) /* `256M` */
#define CT_DEF_VENDOR "UTARGET"
#define CT_DEF_PROD "utarget disk"

static bool ct_is_default_usn(const struct ut_dev_cfg *d)
{
	/* "the FNV-1a hash of the device name in 16 hex digits" */
	uint64_t h = 0xcbf29ce484222325ull;
	char want[17];

	for (const unsigned char *s = (const unsigned char *)d->name; *s; s++) {
		h ^= *s;
		h *= 0x100000001b3ull;
	}
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)h);
	return strcmp(d->usn, want) == 0;
}

/* The attributes of a device, in an order of the draw's choosing; a
 * default is written now and then, as an administrator might. */
static void ct_dev_attrs(struct ctext *t, const struct ut_dev_cfg *d)
{
	enum { N_ATTRS = 13 };
	unsigned int order[N_ATTRS];

	for (unsigned int i = 0; i < N_ATTRS; i++)
		order[i] = i;
	for (unsigned int i = N_ATTRS - 1; i > 0; i--) {
		unsigned int j = ct_draw(t, i + 1), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	for (unsigned int i = 0; i < N_ATTRS; i++) {
		bool all = ct_draw(t, 3) == 0; /* defaults too */

		switch (order[i]) {
		case 0:
			if (d->kind == BS_SIM)
				ct_attr(t, 2, "filename", d->name);
			else if (d->path[0])
				ct_attr(t, 2, "filename", d->path);
			break;
		case 1:
			if (d->size_bytes || all)
				ct_size(t, 2, d->size_bytes);
			break;
		case 2:
			if (d->block_size != 512 || all)
				ct_attr_u64(t, 2, "blocksize", d->block_size);
			break;
		case 3:
			if (d->phys_block_size) {
				unsigned int e = 0;

				while ((d->block_size << e) <
					       d->phys_block_size &&
				       e < 15)
					e++;
				ct_attr_u64(t, 2, "lb_per_pb_exp", e);
			}
			break;
		case 4:
			if (d->read_only || all)
				ct_bool(t, 2, "read_only", d->read_only);
			break;
		case 5:
			if (d->thin || all)
				ct_bool(t, 2, "thin_provisioned", d->thin);
			break;
		case 6:
			if (d->removable || all)
				ct_bool(t, 2, "removable", d->removable);
			break;
		case 7:
			if (d->write_through || all)
				ct_bool(t, 2, "write_through",
					d->write_through);
			break;
		case 8:
			if (d->nv_cache || all)
				ct_bool(t, 2, "nv_cache", d->nv_cache);
			break;
		case 9:
			if (d->expl_alua || all)
				ct_bool(t, 2, "expl_alua", d->expl_alua);
			break;
		case 10:
			if (d->sanitize_bytes_per_s != CT_DEF_SANITIZE_RATE ||
			    all)
				ct_attr_u64(t, 2, "sanitize_rate",
					    d->sanitize_bytes_per_s);
			break;
		case 11:
			if (strcmp(d->t10_vendor_id, CT_DEF_VENDOR) || all)
				ct_attr(t, 2, "t10_vendor_id",
					d->t10_vendor_id);
			if (strcmp(d->prod_id, CT_DEF_PROD) || all)
				ct_attr(t, 2, "prod_id", d->prod_id);
			break;
		case 12:
			if (strcmp(d->t10_dev_id, d->name) || all)
				ct_attr(t, 2, "t10_dev_id", d->t10_dev_id);
			if (!ct_is_default_usn(d) || all)
				ct_attr(t, 2, "usn", d->usn);
			break;
		}
	}
}

static int ct_devices(struct ctext *t, const struct ut_config *c)
{
	bool per_dev = ct_draw(t, 2) == 0; /* one HANDLER block each */

	for (size_t i = 0; i < c->dev_count; i++) {
		const struct ut_dev_cfg *d = &c->devs[i];
		const char *h = ct_handler(d->kind);
		bool first = i == 0 || per_dev ||
			     strcmp(ct_handler(c->devs[i - 1].kind), h) != 0;
		bool last = i + 1 == c->dev_count || per_dev ||
			    strcmp(ct_handler(c->devs[i + 1].kind), h) != 0;

		if (h == NULL)
			return -1;
		if (first) {
			ct_key(t, "HANDLER");
			ct_value(t, h);
			ct_put(t, " {\n", 3);
		}
		ct_indent(t, 1);
		ct_key(t, "DEVICE");
		ct_value(t, d->name);
		ct_put(t, " {\n", 3);
		ct_dev_attrs(t, d);
		ct_indent(t, 1);
		ct_put(t, "}\n", 2);
		if (last)
			ct_put(t, "}\n\n", 3);
	}
	return 0;
}

/* --------------------------------------------------------- parameters */

static void ct_digest(struct ctext *t, int depth, const char *key,
		      const enum ut_digest *l, int n)
{
	ct_indent(t, depth);
	ct_key(t, key);
	if (n == 2 && ct_draw(t, 2) == 0) {
		/* "None, CRC32C": two values, the comma ending the first */
		ct_printf(t, " %s, %s", l[0] ? "CRC32C" : "None",
			  l[1] ? "crc32c" : "none");
	} else {
		ct_put(t, " ", 1);
		for (int i = 0; i < n; i++)
			ct_printf(t, "%s%s", i ? "," : "",
				  l[i] ? "CRC32C" : "None");
	}
	ct_end(t);
}

/* The parameters of p: those that differ from base, or all of them. */
static void ct_params(struct ctext *t, int depth,
		      const struct ut_iscsi_params *p,
		      const struct ut_iscsi_params *base, bool all)
{
	const struct {
		const char *key;
		uint32_t v, b;
	} u[] = {
		{"MaxRecvDataSegmentLength", p->max_recv_data_segment_length,
		 base->max_recv_data_segment_length},
		{"MaxXmitDataSegmentLength", p->max_xmit_data_segment_length,
		 base->max_xmit_data_segment_length},
		{"MaxBurstLength", p->max_burst_length, base->max_burst_length},
		{"FirstBurstLength", p->first_burst_length,
		 base->first_burst_length},
		{"MaxOutstandingR2T", p->max_outstanding_r2t,
		 base->max_outstanding_r2t},
		{"DefaultTime2Wait", p->default_time2wait,
		 base->default_time2wait},
		{"DefaultTime2Retain", p->default_time2retain,
		 base->default_time2retain},
		{"QueuedCommands", p->queued_commands, base->queued_commands},
		{"MaxSessions", p->max_sessions, base->max_sessions},
		{"NopInInterval", p->nop_in_interval_s,
		 base->nop_in_interval_s},
		{"NopInTimeout", p->nop_in_timeout_s, base->nop_in_timeout_s},
		{"RspTimeout", p->rsp_timeout_s, base->rsp_timeout_s},
		{"SessionBufferLimit", p->session_buffer_limit,
		 base->session_buffer_limit},
	};

	if (all || p->header_digest_count != base->header_digest_count ||
	    memcmp(p->header_digest, base->header_digest,
		   sizeof(p->header_digest[0]) *
			   (size_t)p->header_digest_count))
		ct_digest(t, depth, "HeaderDigest", p->header_digest,
			  p->header_digest_count);
	if (all || p->data_digest_count != base->data_digest_count ||
	    memcmp(p->data_digest, base->data_digest,
		   sizeof(p->data_digest[0]) * (size_t)p->data_digest_count))
		ct_digest(t, depth, "DataDigest", p->data_digest,
			  p->data_digest_count);
	if (all || p->initial_r2t != base->initial_r2t)
		ct_attr(t, depth, "InitialR2T",
			p->initial_r2t ? (ct_draw(t, 2) ? "Yes" : "yes")
				       : (ct_draw(t, 2) ? "No" : "no"));
	if (all || p->immediate_data != base->immediate_data)
		ct_bool(t, depth, "ImmediateData", p->immediate_data);
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (all || u[i].v != u[i].b)
			ct_attr_u64(t, depth, u[i].key, u[i].v);
}

/* ------------------------------------------------------------ targets */

static void ct_user(struct ctext *t, int depth, const char *key,
		    const struct ut_user_cfg *u)
{
	bool one = strpbrk(u->name, " \t") == NULL && ct_draw(t, 2) == 0;

	ct_indent(t, depth);
	ct_key(t, key);
	if (one) {
		/* "name secret": one value, split at its first blank */
		char both[sizeof(u->name) + sizeof(u->secret) + 2];

		snprintf(both, sizeof(both), "%s %s", u->name, u->secret);
		ct_put(t, " \"", 2);
		for (const char *s = both; *s; s++) {
			if (*s == '"' || *s == '\\')
				ct_put(t, "\\", 1);
			ct_put(t, s, 1);
		}
		ct_put(t, "\"", 1);
	} else {
		ct_value(t, u->name);
		ct_value(t, u->secret);
	}
	ct_end(t);
}

static void ct_luns(struct ctext *t, int depth, const struct ut_lun_cfg *l,
		    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ct_indent(t, depth);
		ct_key(t, "LUN");
		ct_printf(t, " %u", l[i].lun);
		ct_value(t, l[i].dev_name);
		if (l[i].read_only || ct_draw(t, 8) == 0) {
			/* a one-line block: '}' ends the statement */
			ct_put(t, " { ", 3);
			ct_key(t, "read_only");
			ct_printf(t, " %d }", l[i].read_only ? 1 : 0);
		}
		ct_end(t);
	}
}

static void ct_target(struct ctext *t, const struct ut_config *c,
		      const struct ut_target_cfg *tg)
{
	ct_indent(t, 1);
	ct_key(t, "TARGET");
	ct_value(t, tg->iqn);
	ct_put(t, " {\n", 3);
	ct_bool(t, 2, "enabled", tg->enabled);
	if (tg->alias[0])
		ct_attr(t, 2, "alias", tg->alias);
	if (tg->rel_tgt_id)
		ct_attr_u64(t, 2, "rel_tgt_id", tg->rel_tgt_id);
	for (size_t i = 0; i < tg->allowed_portal_count; i++)
		ct_attr(t, 2, "allowed_portal", tg->allowed_portals[i]);
	for (size_t i = 0; i < tg->incoming_count; i++)
		ct_user(t, 2, "IncomingUser", &tg->incoming[i]);
	if (tg->outgoing.name[0])
		ct_user(t, 2, "OutgoingUser", &tg->outgoing);
	ct_params(t, 2, &tg->params, &c->params, ct_draw(t, 4) == 0);
	ct_luns(t, 2, tg->luns, tg->lun_count);
	for (size_t g = 0; g < tg->group_count; g++) {
		const struct ut_group_cfg *gr = &tg->groups[g];

		ct_indent(t, 2);
		ct_key(t, "GROUP");
		ct_value(t, gr->name);
		ct_put(t, " {\n", 3);
		for (size_t i = 0; i < gr->initiator_count; i++)
			ct_attr(t, 3, "INITIATOR", gr->initiators[i]);
		ct_luns(t, 3, gr->luns, gr->lun_count);
		ct_indent(t, 2);
		ct_put(t, "}\n", 2);
	}
	ct_indent(t, 1);
	ct_put(t, "}\n", 2);
}

/* The portals, each in its portal group: group 1's bare or in a
 * PORTAL_GROUP 1 block, the others in theirs. */
static void ct_portals(struct ctext *t, const struct ut_config *c)
{
	for (size_t i = 0; i < c->portal_count; i++) {
		unsigned int tag = c->portal_tpgts ? c->portal_tpgts[i] : 1;

		if (tag == 1 && ct_draw(t, 2) == 0) {
			ct_attr(t, 1, ct_draw(t, 2) ? "portal" : "listen",
				c->portals[i]);
			continue;
		}
		ct_indent(t, 1);
		ct_key(t, "PORTAL_GROUP");
		ct_printf(t, " %u {\n", tag);
		ct_attr(t, 2, "portal", c->portals[i]);
		ct_indent(t, 1);
		ct_put(t, "}\n", 2);
	}
}

static void ct_driver(struct ctext *t, const struct ut_config *c)
{
	struct ut_iscsi_params def;
	bool params_last = ct_draw(t, 2) == 0;

	ut_iscsi_params_default(&def);
	ct_key(t, "TARGET_DRIVER");
	ct_value(t, "iscsi");
	ct_put(t, " {\n", 3);
	ct_bool(t, 1, "enabled", c->iscsi_enabled);
	ct_portals(t, c);
	for (size_t i = 0; i < c->discovery_incoming_count; i++)
		ct_user(t, 1, "IncomingUser", &c->discovery_incoming[i]);
	if (c->discovery_outgoing.name[0])
		ct_user(t, 1, "OutgoingUser", &c->discovery_outgoing);
	/* the driver's parameters are every target's default wherever
	 * they stand in the block (scstconf.c) */
	if (!params_last)
		ct_params(t, 1, &c->params, &def, ct_draw(t, 4) == 0);
	for (size_t i = 0; i < c->target_count; i++)
		ct_target(t, c, &c->targets[i]);
	if (params_last)
		ct_params(t, 1, &c->params, &def, ct_draw(t, 4) == 0);
	ct_put(t, "}\n", 2);
}

/* ------------------------------------------------ ALUA device groups */

static void ct_dev_groups(struct ctext *t, const struct ut_config *c)
{
	for (size_t g = 0; g < c->dgroup_count; g++) {
		const struct ut_dev_group_cfg *dg = &c->dgroups[g];

		ct_put(t, "\n", 1);
		ct_key(t, "DEVICE_GROUP");
		ct_value(t, dg->name);
		ct_put(t, " {\n", 3);
		for (size_t i = 0; i < dg->dev_count; i++)
			ct_attr(t, 1, "DEVICE", dg->devs[i]);
		if (dg->transition_time_s || ct_draw(t, 3) == 0)
			ct_attr_u64(t, 1, "implicit_transition_time",
				    dg->transition_time_s);
		for (size_t k = 0; k < dg->tgroup_count; k++) {
			const struct ut_tgt_group_cfg *tg = &dg->tgroups[k];

			ct_indent(t, 1);
			ct_key(t, "TARGET_GROUP");
			ct_value(t, tg->name);
			ct_put(t, " {\n", 3);
			if (tg->group_id <= 65535)
				ct_attr_u64(t, 2, "group_id", tg->group_id);
			ct_attr(t, 2, "state", scsi_alua_state_name(tg->state));
			if (tg->preferred || ct_draw(t, 3) == 0)
				ct_bool(t, 2, "preferred", tg->preferred);
			for (size_t j = 0; j < tg->target_count; j++) {
				const struct ut_tg_target_cfg *tt =
					&tg->targets[j];

				ct_indent(t, 2);
				ct_key(t, "TARGET");
				ct_value(t, tt->name);
				if (tt->rel_tgt_id) {
					ct_put(t, " { ", 3);
					ct_key(t, "rel_tgt_id");
					ct_printf(t, " %u }", tt->rel_tgt_id);
				}
				ct_end(t);
			}
			ct_indent(t, 1);
			ct_put(t, "}\n", 2);
		}
		ct_put(t, "}\n", 2);
	}
}

/* c as scst.conf text, spelled by the draws of rng. */
static char *ct_write(const struct ut_config *c, uint64_t rng, size_t *len)
{
	struct ctext t = {.rng = rng | 1};

	ct_put(&t, "# scst.conf written by the simulator (config-file scst)\n",
	       56);
	if (ct_devices(&t, c) != 0)
		t.failed = true;
	ct_driver(&t, c);
	ct_dev_groups(&t, c);
	if (t.failed) {
		free(t.p);
		return NULL;
	}
	*len = t.len;
	return t.p;
}

/* -------------------------------------------------- the round trip */

struct ct_diag {
	struct runner *r;
	int n;
};

static void ct_diag_fn(void *arg, int severity, const char *file, int line,
		       int column, const char *msg)
{
	struct ct_diag *d = arg;

	if (d->n++ == 0)
		failf(d->r, d->r->line,
		      "config-file: the target's scst.conf parser says %s "
		      "at %s:%d:%d: %s (a text the simulator wrote with only "
		      "what utarget implements)",
		      severity ? "error" : "warning", file, line, column, msg);
}

/* The first difference between what was meant (a) and what the parser
 * built (b), in words; NULL when they are equal. */
static const char *ct_differ(const struct ut_config *a,
			     const struct ut_config *b, char *why, size_t cap)
{
	if (a->dev_count != b->dev_count) {
		snprintf(why, cap, "%zu devices, not %zu", b->dev_count,
			 a->dev_count);
		return why;
	}
	for (size_t i = 0; i < a->dev_count; i++)
		if (!ut_dev_cfg_equal(&a->devs[i], &b->devs[i])) {
			snprintf(why, cap,
				 "device %zu ('%s' as '%s': %llu bytes as "
				 "%llu, blocksize %u as %u, ro %d as %d, thin "
				 "%d as %d, removable %d as %d, write_through "
				 "%d as %d)",
				 i, a->devs[i].name, b->devs[i].name,
				 (unsigned long long)a->devs[i].size_bytes,
				 (unsigned long long)b->devs[i].size_bytes,
				 a->devs[i].block_size, b->devs[i].block_size,
				 a->devs[i].read_only, b->devs[i].read_only,
				 a->devs[i].thin, b->devs[i].thin,
				 a->devs[i].removable, b->devs[i].removable,
				 a->devs[i].write_through,
				 b->devs[i].write_through);
			return why;
		}
	if (a->target_count != b->target_count) {
		snprintf(why, cap, "%zu targets, not %zu", b->target_count,
			 a->target_count);
		return why;
	}
	for (size_t i = 0; i < a->target_count; i++) {
		const struct ut_target_cfg *x = &a->targets[i],
					   *y = &b->targets[i];

		if (!ut_iscsi_params_equal(&x->params, &y->params)) {
			snprintf(why, cap, "the parameters of target %s",
				 x->iqn);
			return why;
		}
		if (!ut_target_luns_equal(x, y)) {
			snprintf(why, cap, "the LUNs of target %s", x->iqn);
			return why;
		}
		if (!ut_target_cfg_equal(x, y)) {
			snprintf(why, cap,
				 "target %s (name, groups, users, portals)",
				 x->iqn);
			return why;
		}
	}
	if (!ut_iscsi_params_equal(&a->params, &b->params))
		return "the driver's parameters";
	if (!ut_config_alua_equal(a, b))
		return "the ALUA device groups";
	if (!ut_config_equal(a, b))
		return "the portals, discovery users or the driver's state";
	return NULL;
}

/* A copy of c whose simulated disks are files named as they are, for
 * the target's writer, which knows no simulated disk. */
static int ct_as_files(struct ut_config *dst, const struct ut_config *c)
{
	if (ut_config_copy(dst, c) != 0)
		return -1;
	for (size_t i = 0; i < dst->dev_count; i++)
		if (dst->devs[i].kind == BS_SIM) {
			dst->devs[i].kind = BS_FILE;
			snprintf(dst->devs[i].path, sizeof(dst->devs[i].path),
				 "%s", dst->devs[i].name);
		}
	return 0;
}

int conffile_boot_config(struct runner *r, const struct ut_config *meant,
			 struct ut_config *out, const char *why)
{
	struct ct_diag d = {r, 0};
	char fname[64], differ[512];
	const char *diff;
	size_t len = 0;
	char *text;

	/* one device per name in the format (two LUNs of one simulated
	 * disk are one device mapped twice) */
	for (size_t i = 0; i < meant->dev_count; i++)
		for (size_t k = 0; k < i; k++)
			if (!strcmp(meant->devs[i].name, meant->devs[k].name)) {
				failf(r, r->line,
				      "config-file: two LUNs name disk '%s'; "
				      "scst.conf defines a device once",
				      meant->devs[i].name);
				return -1;
			}
	if (r->config_file == CONFIG_FILE_SCST) {
		text = ct_write(
			meant,
			r->seed ^ 0x5c57c0f20ull ^
				(r->boots * 0x9e3779b97f4a7c15ull) ^
				(r->ctl_started * 0xbf58476d1ce4e5b9ull),
			&len);
	} else {
		struct ut_config files;

		if (ct_as_files(&files, meant) != 0) {
			failf(r, r->line, "config-file: out of memory");
			return -1;
		}
		if (ut_config_write(&files, &text, &len) != 0)
			text = NULL;
		ut_config_free(&files);
	}
	if (text == NULL) {
		failf(r, r->line,
		      "config-file: the configuration could not be "
		      "written as scst.conf text");
		return -1;
	}
	SIM_TRACE(r->sim, "config-file %s: %s %llu.%llu from %zu bytes of text",
		  r->config_file == CONFIG_FILE_SCST ? "scst" : "saved", why,
		  (unsigned long long)r->boots,
		  (unsigned long long)r->ctl_started, len);
	snprintf(fname, sizeof(fname), "%s%llu.%llu.scst.conf", why,
		 (unsigned long long)r->boots,
		 (unsigned long long)r->ctl_started);
	ut_config_init(out);
	if (ut_config_parse(out, fname, text, len, ct_diag_fn, &d) != 0 ||
	    d.n > 0) {
		if (d.n == 0)
			failf(r, r->line,
			      "config-file: the target's parser refused "
			      "the text without saying why");
		fprintf(stderr, "--- %s ---\n%s--- end ---\n", fname, text);
		free(text);
		ut_config_free(out);
		return -1;
	}
	/* a vdisk_fileio device named as its filename, where a simulated
	 * disk was meant, is that disk */
	for (size_t i = 0; i < out->dev_count && i < meant->dev_count; i++)
		if (meant->devs[i].kind == BS_SIM &&
		    out->devs[i].kind == BS_FILE &&
		    !strcmp(out->devs[i].path, out->devs[i].name)) {
			out->devs[i].kind = BS_SIM;
			out->devs[i].path[0] = '\0';
		}
	diff = ct_differ(meant, out, differ, sizeof(differ));
	if (diff != NULL) {
		failf(r, r->line,
		      "config-file %s: the target's scst.conf parser built "
		      "another configuration than the one written: %s",
		      r->config_file == CONFIG_FILE_SCST ? "scst" : "saved",
		      diff);
		fprintf(stderr, "--- %s ---\n%s--- end ---\n", fname, text);
		free(text);
		ut_config_free(out);
		return -1;
	}
	explicit_bzero(text, len);
	free(text);
	return 0;
}

/* `config-file scst|saved|off`, before the target starts. */
void decl_config_file(struct runner *r, struct toks *t)
{
	if (t->n != 2 || r->started ||
	    (strcmp(t->v[1], "scst") && strcmp(t->v[1], "saved") &&
	     strcmp(t->v[1], "off"))) {
		syntaxf(r, "config-file scst|saved|off, before the target "
			   "starts");
		return;
	}
	r->config_file = !strcmp(t->v[1], "scst")    ? CONFIG_FILE_SCST
			 : !strcmp(t->v[1], "saved") ? CONFIG_FILE_SAVED
						     : CONFIG_FILE_OFF;
}
