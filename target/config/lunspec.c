/*
 * lunspec.c — the small grammars of the command line: sizes, portals and
 * --lun specs.
 *
 *   size    := DIGITS [ K | KiB | M | MiB | G | GiB | T | TiB ]
 *              (binary units, case-insensitive; overflow is an error)
 *   portal  := IPV4 [ ":" PORT ] | HOSTNAME [ ":" PORT ]
 *            | "[" IPV6 [ "%" ZONE ] "]" [ ":" PORT ]
 *              (PORT 1..65535, default 3260)
 *   lunspec := "mem:" size { "," opt } | "null:" size { "," opt }
 *            | "file:" PATH { "," opt }
 *            | "rbd:" POOL "/" IMAGE { "," opt | "," rbdopt }
 *            | "tcmu:" HANDLER "/" CFGSTRING { "," opt }
 *   opt     := "ro" | "thin" | "removable" | "expl_alua"
 *            | "blocksize=" (512|4096)
 *            | "physblock=" (512|1024|...|32768, at least blocksize)
 *            | "size=" size (file and tcmu only)
 *   rbdopt  := "conf=" PATH | "id=" NAME | "timeout=" (1..3600 seconds)
 *            | "cache"
 *   HANDLER := [a-z0-9_]{1,32}, a tcmu-runner handler's subtype
 *
 * A PATH may contain ':' (only the first ':' ends the type) but not ','
 * (every ',' starts an option).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "config/config_int.h"

int cfg_parse_dec(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		uint64_t d;

		if (*s < '0' || *s > '9')
			return -1;
		d = (uint64_t)(*s - '0');
		if (v > max / 10)
			return -1;
		v *= 10;
		if (d > max - v)
			return -1;
		v += d;
	}
	*out = v;
	return 0;
}

/* ---------------------------------------------------------------- sizes */

static const struct {
	const char *suffix;
	unsigned int shift;
} cfg_size_units[] = {
	{"", 0},   {"k", 10},	{"kib", 10}, {"m", 20},	  {"mib", 20},
	{"g", 30}, {"gib", 30}, {"t", 40},   {"tib", 40},
};

int ut_size_parse(const char *s, uint64_t *out)
{
	char digits[24];
	size_t n = strspn(s, "0123456789");
	uint64_t v;

	/* 20 digits hold any uint64_t; more is an overflow anyway. */
	if (n == 0 || n >= sizeof(digits))
		return -1;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (cfg_parse_dec(digits, UINT64_MAX, &v))
		return -1;
	for (size_t i = 0;
	     i < sizeof(cfg_size_units) / sizeof(cfg_size_units[0]); i++) {
		unsigned int shift = cfg_size_units[i].shift;

		if (strcasecmp(s + n, cfg_size_units[i].suffix))
			continue;
		if (v > (UINT64_MAX >> shift))
			return -1;
		*out = v << shift;
		return 0;
	}
	return -1;
}

/* -------------------------------------------------------------- portals */

static bool cfg_is_ipv4(const char *h, size_t len)
{
	unsigned int parts = 0, digits = 0, value = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || h[i] == '.') {
			if (digits == 0 || value > 255)
				return false;
			parts++;
			digits = value = 0;
			continue;
		}
		if (h[i] < '0' || h[i] > '9' || ++digits > 3)
			return false;
		value = value * 10 + (unsigned int)(h[i] - '0');
	}
	return parts == 4;
}

static bool cfg_is_ipv6(const char *h, size_t len)
{
	size_t zone = len;
	bool colon = false;

	for (size_t i = 0; i < len; i++) {
		char c = h[i];

		if (c == '%') {
			zone = i;
			break;
		}
		if (c == ':')
			colon = true;
		else if (!strchr("0123456789abcdefABCDEF.", c))
			return false;
	}
	if (!colon || zone == len - 1)
		return false;
	for (size_t i = zone + 1; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_.-",
			    h[i]))
			return false;
	return true;
}

static bool cfg_is_hostname(const char *h, size_t len)
{
	bool numeric = true;

	for (size_t i = 0; i < len; i++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_.-",
			    h[i]))
			return false;
		if (h[i] != '.' && (h[i] < '0' || h[i] > '9'))
			numeric = false;
	}
	/* All digits and dots: it must then be a well-formed IPv4 address,
	 * not a hostname resolver would guess at ("10.1" is not 10.0.0.1). */
	return numeric ? cfg_is_ipv4(h, len) : true;
}

int ut_portal_parse(const char *s, char *host, size_t cap, uint16_t *port)
{
	const char *h = s, *hend, *p = NULL;
	uint64_t v = UT_DEFAULT_PORT;
	size_t hlen;
	bool ok;

	if (s[0] == '[') {
		h = s + 1;
		hend = strchr(h, ']');
		if (!hend)
			return -1;
		if (hend[1] == ':')
			p = hend + 2;
		else if (hend[1])
			return -1;
	} else {
		hend = strchr(s, ':');
		/* An unbracketed IPv6 address is ambiguous ("::1:3260"). */
		if (hend && strchr(hend + 1, ':'))
			return -1;
		if (hend)
			p = hend + 1;
		else
			hend = s + strlen(s);
	}
	hlen = (size_t)(hend - h);
	if (hlen == 0 || hlen >= cap)
		return -1;
	ok = h == s ? cfg_is_hostname(h, hlen) : cfg_is_ipv6(h, hlen);
	if (!ok)
		return -1;
	if (p && (strlen(p) > 5 || cfg_parse_dec(p, 65535, &v) || v == 0))
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)v;
	return 0;
}

/* ------------------------------------------------------------ --lun SPEC */

static _Thread_local char cfg_lun_err[192];

static int cfg_lun_fail(const char **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int cfg_lun_fail(const char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cfg_lun_err, sizeof(cfg_lun_err), fmt, ap);
	va_end(ap);
	*err = cfg_lun_err;
	return -1;
}

/* A client id or handler name: letters, digits, '_', '-', '.'. */
static bool cfg_lun_word(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n > 0 && n <= max &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_-.") == n;
}

/* An rbd-only option: true if opt is one (then *err says whether it was
 * wrong), false if it is not an rbd option. */
static bool cfg_lun_rbd_opt(const char *opt, struct ut_dev_cfg *dev,
			    const char **err)
{
	uint64_t v;

	*err = NULL;
	if (!strncmp(opt, "conf=", 5)) {
		if (!opt[5] || cfg_copy(dev->conf, sizeof(dev->conf), opt + 5))
			cfg_lun_fail(err,
				     "conf= needs a path of at most %zu "
				     "bytes",
				     sizeof(dev->conf) - 1);
	} else if (!strncmp(opt, "id=", 3)) {
		if (!cfg_lun_word(opt + 3, sizeof(dev->client_id) - 1))
			cfg_lun_fail(err, "id= needs a client name (letters, "
					  "digits, '_', '-', '.')");
		else
			cfg_copy(dev->client_id, sizeof(dev->client_id),
				 opt + 3);
	} else if (!strncmp(opt, "timeout=", 8)) {
		if (cfg_parse_dec(opt + 8, 3600, &v) || v == 0)
			cfg_lun_fail(err, "timeout= takes 1 to 3600 seconds");
		else
			dev->timeout_s = (uint32_t)v;
	} else if (!strcmp(opt, "cache")) {
		dev->cache = true;
	} else {
		return false;
	}
	return true;
}

/* Apply one ",opt"; returns 0 or -1 with *err set. */
static int cfg_lun_opt(char *opt, struct ut_dev_cfg *dev, const char **err)
{
	uint64_t v;

	if (!*opt)
		return cfg_lun_fail(err, "empty option in --lun spec");
	if (!strcmp(opt, "ro")) {
		dev->read_only = true;
	} else if (!strcmp(opt, "thin")) {
		dev->thin = true;
	} else if (!strcmp(opt, "removable")) {
		dev->removable = true;
	} else if (!strcmp(opt, "expl_alua")) {
		/* SET TARGET PORT GROUPS allowed (a DEVICE_GROUP member) */
		dev->expl_alua = true;
	} else if (!strncmp(opt, "blocksize=", 10)) {
		if (cfg_parse_dec(opt + 10, UINT32_MAX, &v) ||
		    (v != 512 && v != 4096))
			return cfg_lun_fail(err,
					    "blocksize must be 512 or 4096");
		dev->block_size = (uint32_t)v;
	} else if (!strncmp(opt, "physblock=", 10)) {
		if (cfg_parse_dec(opt + 10, 32768, &v) || v < 512 ||
		    (v & (v - 1)))
			return cfg_lun_fail(err, "physblock must be a power of "
						 "two from 512 to 32768");
		dev->phys_block_size = (uint32_t)v;
	} else if (dev->kind == BS_RBD && cfg_lun_rbd_opt(opt, dev, err)) {
		return *err ? -1 : 0;
	} else if (!strncmp(opt, "size=", 5)) {
		if (dev->kind != BS_FILE && dev->kind != BS_TCMU)
			return cfg_lun_fail(err,
					    "size= is for file: and tcmu: only "
					    "(write mem:SIZE or null:SIZE; an "
					    "rbd image has its own size)");
		if (ut_size_parse(opt + 5, &dev->size_bytes))
			return cfg_lun_fail(err,
					    "bad size '%.40s' (expected "
					    "bytes or a K, M, G or T suffix)",
					    opt + 5);
	} else {
		return cfg_lun_fail(err,
				    "unknown option '%.40s' (expected ro, "
				    "thin, removable, expl_alua, blocksize= or "
				    "size=%s)",
				    opt,
				    dev->kind == BS_RBD ? "; for rbd: conf=, "
							  "id=, timeout=, cache"
							: "");
	}
	return 0;
}

static int cfg_lun_kind(const char *type, enum bs_kind *kind, const char **err)
{
	if (!strcmp(type, "mem"))
		*kind = BS_MEM;
	else if (!strcmp(type, "null"))
		*kind = BS_NULL;
	else if (!strcmp(type, "file"))
		*kind = BS_FILE;
	else if (!strcmp(type, "rbd"))
		*kind = BS_RBD;
	else if (!strcmp(type, "tcmu"))
		*kind = BS_TCMU;
	else
		return cfg_lun_fail(err,
				    "unknown backstore type '%.40s' "
				    "(expected mem, null, file, rbd or tcmu)",
				    type);
	return 0;
}

/* The part before the first option: a size (mem, null) or a path. */
static int cfg_lun_head(const char *type, const char *head,
			struct ut_dev_cfg *dev, const char **err)
{
	if (dev->kind == BS_RBD || dev->kind == BS_TCMU) {
		if (ut_remote_path_check(dev->kind, head, err))
			return -1;
		cfg_copy(dev->path, sizeof(dev->path), head);
		return 0;
	}
	if (dev->kind == BS_FILE) {
		if (!*head)
			return cfg_lun_fail(err, "file: needs a path");
		if (cfg_copy(dev->path, sizeof(dev->path), head))
			return cfg_lun_fail(err,
					    "file: path is longer than %d "
					    "bytes",
					    UT_PATH_MAX - 1);
		return 0;
	}
	if (!*head)
		return cfg_lun_fail(err, "%s: needs a size", type);
	if (ut_size_parse(head, &dev->size_bytes))
		return cfg_lun_fail(err,
				    "bad size '%.40s' (expected bytes or "
				    "a K, M, G or T suffix)",
				    head);
	if (dev->size_bytes == 0)
		return cfg_lun_fail(err, "%s: size must be greater than 0",
				    type);
	return 0;
}

int ut_remote_path_check(enum bs_kind kind, const char *path, const char **err)
{
	const char *slash = strchr(path, '/');
	char handler[40];
	size_t n;

	if (strlen(path) >= UT_PATH_MAX)
		return cfg_lun_fail(err, "%s path is longer than %d bytes",
				    kind == BS_RBD ? "rbd" : "tcmu",
				    UT_PATH_MAX - 1);
	if (kind == BS_RBD) {
		if (!slash || slash == path || !slash[1] ||
		    strchr(slash + 1, '/') || strchr(path, '@'))
			return cfg_lun_fail(err, "rbd: needs POOL/IMAGE (no "
						 "snapshots, no namespaces)");
		return 0;
	}
	n = slash ? (size_t)(slash - path) : strlen(path);
	if (n >= sizeof(handler))
		n = sizeof(handler) - 1;
	memcpy(handler, path, n);
	handler[n] = '\0';
	if (!slash || !cfg_lun_word(handler, 32) ||
	    strspn(handler, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return cfg_lun_fail(err, "tcmu: needs HANDLER/CFGSTRING, "
					 "HANDLER a tcmu-runner handler name "
					 "(qcow, rbd, fbo, zbc, ...)");
	return 0;
}

int ut_lun_spec_parse(const char *spec, struct ut_dev_cfg *dev,
		      const char **err)
{
	char buf[UT_PATH_MAX + 256];
	char *colon, *opt, *next;
	enum bs_kind kind = BS_MEM; /* set by cfg_lun_kind; -O1 cannot tell */

	if (strlen(spec) >= sizeof(buf))
		return cfg_lun_fail(err, "--lun spec is too long");
	memcpy(buf, spec, strlen(spec) + 1);
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (cfg_lun_kind(buf, &kind, err))
		return -1;
	cfg_dev_init(dev, kind);
	opt = colon ? colon + 1 : buf + strlen(buf);
	next = strchr(opt, ',');
	if (next)
		*next++ = '\0';
	if (cfg_lun_head(buf, opt, dev, err))
		return -1;
	for (opt = next; opt; opt = next) {
		next = strchr(opt, ',');
		if (next)
			*next++ = '\0';
		if (cfg_lun_opt(opt, dev, err))
			return -1;
	}
	if (dev->size_bytes > UT_DEV_SIZE_MAX)
		return cfg_lun_fail(err, "size exceeds the maximum of 1 EiB");
	if (dev->size_bytes % dev->block_size)
		return cfg_lun_fail(err, "size must be a multiple of the block "
					 "size");
	if (dev->phys_block_size && dev->phys_block_size < dev->block_size)
		return cfg_lun_fail(err, "physblock must be at least the "
					 "block size");
	return 0;
}
