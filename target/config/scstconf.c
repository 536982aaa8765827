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

#define CFG_MAX_ARGS 32	      /* values on one line */
#define CFG_NO_GROUP SIZE_MAX /* a target's default LUN set */

enum cfg_tok_type {
	CFG_T_EOF,
	CFG_T_NL,
	CFG_T_LBRACE,
	CFG_T_RBRACE,
	CFG_T_WORD
};

struct cfg_tok {
	enum cfg_tok_type type;
	char *s; /* CFG_T_WORD: the text, unescaped (malloc) */
	int line, col;
};

struct cfg_stmt {
	struct cfg_tok key;
	struct cfg_tok args[CFG_MAX_ARGS];
	size_t nargs;
	bool block; /* "{" followed: the body is still unread */
};

/* A LUN whose device is looked up once the whole file is read. */
struct cfg_ref {
	int line, col;
	size_t target, group, lun;
};

struct cfg_parser {
	struct ut_config *cfg;
	const char *file;
	const char *buf;
	size_t len, pos;
	int line, col;
	struct cfg_tok peek;
	bool have_peek;
	ut_config_diag_fn diag;
	void *diag_arg;
	uint32_t *tmask; /* per target: bit i = sets cfg_params[i] */
	size_t tmask_count;
	struct cfg_ref *refs;
	size_t ref_count;
	size_t initiators; /* INITIATOR lines so far, all groups */
};

typedef int (*cfg_stmt_fn)(struct cfg_parser *p, struct cfg_stmt *st,
			   void *ctx);

/* ---------------------------------------------------------- diagnostics */

static int cfg_diag(struct cfg_parser *p, int severity, int line, int col,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int cfg_diag(struct cfg_parser *p, int severity, int line, int col,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (p->diag) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		p->diag(p->diag_arg, severity, p->file, line, col, msg);
	}
	return severity ? -1 : 0;
}

#define cfg_err(p, tok, ...) \
	cfg_diag((p), 1, (tok)->line, (tok)->col, __VA_ARGS__)
#define cfg_warn(p, tok, ...) \
	cfg_diag((p), 0, (tok)->line, (tok)->col, __VA_ARGS__)

static int cfg_nomem(struct cfg_parser *p, const struct cfg_tok *t)
{
	return cfg_err(p, t, "out of memory");
}

/* ---------------------------------------------------------------- lexer */

static bool cfg_is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
}

static void cfg_adv(struct cfg_parser *p)
{
	if (p->buf[p->pos] == '\n') {
		p->line++;
		p->col = 1;
	} else {
		p->col++;
	}
	p->pos++;
}

static void cfg_skip_blanks(struct cfg_parser *p)
{
	while (p->pos < p->len) {
		char c = p->buf[p->pos];

		if (c == '#') {
			while (p->pos < p->len && p->buf[p->pos] != '\n')
				cfg_adv(p);
		} else if (c == ' ' || c == '\t' || c == '\r') {
			cfg_adv(p);
		} else {
			break;
		}
	}
}

static int cfg_lex_word(struct cfg_parser *p, struct cfg_tok *t)
{
	size_t start = p->pos, n;

	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->buf[p->pos];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    c == '{' || c == '}' || cfg_is_ctl(c))
			break;
		cfg_adv(p);
	}
	n = p->pos - start;
	if (n > UT_CONFIG_MAX_TOKEN)
		return cfg_err(p, t, "word is longer than %d bytes",
			       UT_CONFIG_MAX_TOKEN);
	t->s = strndup(p->buf + start, n);
	return t->s ? 0 : cfg_nomem(p, t);
}

/* Measure a string body starting at p->pos: its end and unescaped size. */
static int cfg_string_len(struct cfg_parser *p, const struct cfg_tok *t,
			  size_t *out)
{
	size_t n = 0;

	for (size_t i = p->pos;; n++) {
		unsigned char c;

		if (i >= p->len || p->buf[i] == '\n')
			return cfg_err(p, t, "unterminated string");
		c = (unsigned char)p->buf[i];
		if (c == '"')
			break;
		if (cfg_is_ctl(c))
			return cfg_err(p, t,
				       "control character 0x%02x in string", c);
		if (c == '\\' && i + 1 < p->len &&
		    (p->buf[i + 1] == '"' || p->buf[i + 1] == '\\'))
			i += 2;
		else
			i++;
	}
	if (n > UT_CONFIG_MAX_TOKEN)
		return cfg_err(p, t, "string is longer than %d bytes",
			       UT_CONFIG_MAX_TOKEN);
	*out = n;
	return 0;
}

static int cfg_lex_string(struct cfg_parser *p, struct cfg_tok *t)
{
	size_t n = 0;

	cfg_adv(p); /* the opening quote */
	if (cfg_string_len(p, t, &n))
		return -1;
	t->s = malloc(n + 1);
	if (!t->s)
		return cfg_nomem(p, t);
	for (size_t i = 0; i < n; i++) {
		/* Only \" and \\ are escapes; cfg_string_len counted any
		 * other backslash as itself (found by fuzz/h_config.c). */
		if (p->buf[p->pos] == '\\' && p->pos + 1 < p->len &&
		    (p->buf[p->pos + 1] == '"' || p->buf[p->pos + 1] == '\\'))
			cfg_adv(p);
		t->s[i] = p->buf[p->pos];
		cfg_adv(p);
	}
	t->s[n] = '\0';
	cfg_adv(p); /* the closing quote */
	return 0;
}

static int cfg_lex(struct cfg_parser *p, struct cfg_tok *t)
{
	unsigned char c;

	if (p->have_peek) {
		*t = p->peek;
		p->have_peek = false;
		return 0;
	}
	cfg_skip_blanks(p);
	memset(t, 0, sizeof(*t));
	t->line = p->line;
	t->col = p->col;
	if (p->pos >= p->len) {
		t->type = CFG_T_EOF;
		return 0;
	}
	c = (unsigned char)p->buf[p->pos];
	if (c == '\n' || c == '{' || c == '}') {
		t->type = c == '\n'  ? CFG_T_NL
			  : c == '{' ? CFG_T_LBRACE
				     : CFG_T_RBRACE;
		cfg_adv(p);
		return 0;
	}
	if (cfg_is_ctl(c))
		return cfg_err(p, t, "control character 0x%02x", c);
	t->type = CFG_T_WORD;
	return c == '"' ? cfg_lex_string(p, t) : cfg_lex_word(p, t);
}

static void cfg_unlex(struct cfg_parser *p, const struct cfg_tok *t)
{
	p->peek = *t;
	p->have_peek = true;
}

/* Values may be secrets: wipe them before they go back to the heap. */
static void cfg_tok_free(struct cfg_tok *t)
{
	if (t->s) {
		explicit_bzero(t->s, strlen(t->s));
		free(t->s);
		t->s = NULL;
	}
}

/* ----------------------------------------------------------- statements */

static void cfg_stmt_free(struct cfg_stmt *st)
{
	cfg_tok_free(&st->key);
	for (size_t i = 0; i < st->nargs; i++)
		cfg_tok_free(&st->args[i]);
	st->nargs = 0;
}

static int cfg_unclosed(struct cfg_parser *p, const struct cfg_stmt *opener)
{
	return cfg_err(p, &opener->key,
		       "block '%.64s' is never closed "
		       "(missing '}')",
		       opener->key.s);
}

/*
 * Read the next statement of the body opened by opener (NULL at the top).
 * Returns 1 with *st filled, 0 at the end of the body (its '}' consumed, or
 * EOF at the top), -1 after an error.
 */
static int cfg_next_stmt(struct cfg_parser *p, struct cfg_stmt *st,
			 const struct cfg_stmt *opener)
{
	struct cfg_tok t;

	memset(st, 0, sizeof(*st));
	do {
		if (cfg_lex(p, &t))
			return -1;
	} while (t.type == CFG_T_NL);
	if (t.type == CFG_T_EOF)
		return opener ? cfg_unclosed(p, opener) : 0;
	if (t.type == CFG_T_RBRACE)
		return opener ? 0 : cfg_err(p, &t, "unexpected '}'");
	if (t.type == CFG_T_LBRACE)
		return cfg_err(p, &t,
			       "'{' must follow a name on the same line");
	st->key = t;
	for (;;) {
		if (cfg_lex(p, &t))
			goto fail;
		if (t.type != CFG_T_WORD)
			break;
		if (st->nargs == CFG_MAX_ARGS) {
			cfg_err(p, &t, "more than %d values on one line",
				CFG_MAX_ARGS);
			cfg_tok_free(&t);
			goto fail;
		}
		st->args[st->nargs++] = t;
	}
	if (t.type == CFG_T_LBRACE)
		st->block = true;
	else if (t.type != CFG_T_NL)
		cfg_unlex(p, &t); /* '}' or EOF also end the body */
	return 1;
fail:
	cfg_stmt_free(st);
	return -1;
}

/* Run fn on every statement of the body that opener's '{' began. */
static int cfg_body(struct cfg_parser *p, const struct cfg_stmt *opener,
		    cfg_stmt_fn fn, void *ctx)
{
	struct cfg_stmt st;
	int rc;

	for (;;) {
		rc = cfg_next_stmt(p, &st, opener);
		if (rc <= 0)
			return rc;
		rc = fn(p, &st, ctx);
		cfg_stmt_free(&st);
		if (rc)
			return -1;
	}
}

/* Skip a block without interpreting it; only braces are counted, so an
 * ignored block costs no recursion however deep it nests. */
static int cfg_skip(struct cfg_parser *p, const struct cfg_stmt *opener)
{
	size_t depth = 1;
	struct cfg_tok t;

	while (depth) {
		if (cfg_lex(p, &t))
			return -1;
		cfg_tok_free(&t);
		if (t.type == CFG_T_LBRACE)
			depth++;
		else if (t.type == CFG_T_RBRACE)
			depth--;
		else if (t.type == CFG_T_EOF)
			return cfg_unclosed(p, opener);
	}
	return 0;
}

static bool cfg_key(const struct cfg_stmt *st, const char *key)
{
	return strcasecmp(st->key.s, key) == 0;
}

/* Warn that st (an attribute or a block of owner) is ignored, and skip it. */
static int cfg_unsupported(struct cfg_parser *p, struct cfg_stmt *st,
			   const char *owner)
{
	cfg_warn(p, &st->key,
		 "%s '%.64s'%s%s is not supported by utarget; "
		 "ignored",
		 st->block ? "block" : "attribute", st->key.s,
		 owner ? " of " : "", owner ? owner : "");
	return st->block ? cfg_skip(p, st) : 0;
}

/* The single value of an attribute. */
static int cfg_one(struct cfg_parser *p, const struct cfg_stmt *st,
		   const char **val)
{
	if (st->block)
		return cfg_err(p, &st->key,
			       "attribute '%.64s' does not take "
			       "a block",
			       st->key.s);
	if (st->nargs == 0)
		return cfg_err(p, &st->key, "attribute '%.64s' needs a value",
			       st->key.s);
	if (st->nargs > 1)
		return cfg_err(p, &st->args[1],
			       "attribute '%.64s' takes one "
			       "value (quote a value that contains blanks)",
			       st->key.s);
	*val = st->args[0].s;
	return 0;
}

static int cfg_bool(struct cfg_parser *p, const struct cfg_stmt *st, bool *out)
{
	static const char *const yes[] = {"1", "yes", "true"};
	static const char *const no[] = {"0", "no", "false"};
	const char *v;

	if (cfg_one(p, st, &v))
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
			*out = !strcasecmp(v, yes[i]);
			return 0;
		}
	}
	return cfg_err(p, &st->args[0],
		       "%.64s: '%.64s' is not a boolean "
		       "(expected 0, 1, yes, no, true or false)",
		       st->key.s, v);
}

/* A block's name: the one value of "KEYWORD name", shorter than cap. */
static int cfg_name(struct cfg_parser *p, const struct cfg_stmt *st, size_t cap,
		    const char **out)
{
	if (st->nargs != 1)
		return cfg_err(p, st->nargs ? &st->args[1] : &st->key,
			       "%s needs exactly one name", st->key.s);
	if (!st->args[0].s[0])
		return cfg_err(p, &st->args[0], "%s name is empty", st->key.s);
	if (strlen(st->args[0].s) >= cap)
		return cfg_err(p, &st->args[0],
			       "%s name '%.32s...' is longer "
			       "than %zu bytes",
			       st->key.s, st->args[0].s, cap - 1);
	*out = st->args[0].s;
	return 0;
}

static int cfg_text(struct cfg_parser *p, const struct cfg_stmt *st,
		    const char *owner, char *dst, size_t cap)
{
	const char *v;

	if (cfg_one(p, st, &v))
		return -1;
	if (strlen(v) >= cap)
		return cfg_err(p, &st->args[0],
			       "%s of %s is longer than %zu "
			       "bytes",
			       st->key.s, owner, cap - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* The single decimal value of an attribute, in min..max. */
static int cfg_uint(struct cfg_parser *p, const struct cfg_stmt *st,
		    uint64_t min, uint64_t max, uint64_t *out)
{
	const char *v;

	if (cfg_one(p, st, &v))
		return -1;
	if (cfg_parse_dec(v, UINT64_MAX, out) || *out < min || *out > max)
		return cfg_err(p, &st->args[0],
			       "%.64s: '%.32s' is not a number in %llu..%llu",
			       st->key.s, v, (unsigned long long)min,
			       (unsigned long long)max);
	return 0;
}

/* ------------------------------------------------------ iSCSI parameters */

enum cfg_ptype {
	CFG_P_U32,
	CFG_P_BOOL,
	CFG_P_DIGEST,
	CFG_P_ERL,     /* ErrorRecoveryLevel: accepted, 0 offered */
	CFG_P_MAXCONN, /* MaxConnections: accepted, 1 offered */
};

struct cfg_param {
	const char *key;
	enum cfg_ptype type;
	uint32_t min, max;
	size_t off;	  /* the field in struct ut_iscsi_params */
	size_t count_off; /* CFG_P_DIGEST: the list's count */
};

#define CFG_OFF(f) offsetof(struct ut_iscsi_params, f)
#define CFG_SEG_MAX 16777215u /* 2^24 - 1, RFC 7143 §13.12 */

static const struct cfg_param cfg_params[] = {
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
	{"ErrorRecoveryLevel", CFG_P_ERL, 0, 2, 0, 0},
	{"MaxConnections", CFG_P_MAXCONN, 1, 65535, 0, 0},
};

#define CFG_NPARAMS (sizeof(cfg_params) / sizeof(cfg_params[0]))
_Static_assert(CFG_NPARAMS <= 32, "tmask has one bit per parameter");

static int cfg_find_param(const struct cfg_stmt *st)
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

static int cfg_param_set(struct cfg_parser *p, const struct cfg_stmt *st,
			 const struct cfg_param *par,
			 struct ut_iscsi_params *dst)
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
static int cfg_user(struct cfg_parser *p, const struct cfg_stmt *st,
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

static int cfg_user_add(struct cfg_parser *p, const struct cfg_stmt *st,
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

/* ---------------------------------------------------------- LUN, GROUP */

struct cfg_lun_ctx {
	struct ut_lun_cfg *lun;
	char owner[32];
};

static int cfg_lun_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	struct cfg_lun_ctx *l = ctx;

	if (cfg_key(st, "read_only"))
		return cfg_bool(p, st, &l->lun->read_only);
	return cfg_unsupported(p, st, l->owner);
}

static int cfg_lun_ref(struct cfg_parser *p, const struct cfg_tok *at,
		       size_t ti, size_t gi, size_t li)
{
	struct cfg_ref *r = cfg_array_add(&p->refs, &p->ref_count, sizeof(*r),
					  UT_MAX_LUN_MAPS);

	if (!r)
		return p->ref_count >= UT_MAX_LUN_MAPS
			       ? cfg_err(p, at, "more than %d LUN mappings",
					 UT_MAX_LUN_MAPS)
			       : cfg_nomem(p, at);
	*r = (struct cfg_ref){at->line, at->col, ti, gi, li};
	return 0;
}

/* LUN n device [ { read_only b } ] in a target (gi = CFG_NO_GROUP) or in
 * one of its groups. */
static int cfg_lun(struct cfg_parser *p, struct cfg_stmt *st, size_t ti,
		   size_t gi)
{
	struct ut_target_cfg *t = &p->cfg->targets[ti];
	struct ut_group_cfg *g = gi == CFG_NO_GROUP ? NULL : &t->groups[gi];
	struct ut_lun_cfg **set = g ? &g->luns : &t->luns;
	size_t *count = g ? &g->lun_count : &t->lun_count;
	struct cfg_lun_ctx l;
	uint64_t n;

	if (st->nargs != 2)
		return cfg_err(p, &st->key,
			       "LUN needs a number and a device "
			       "name");
	if (cfg_parse_dec(st->args[0].s, UINT32_MAX, &n))
		return cfg_err(p, &st->args[0], "bad LUN number '%.32s'",
			       st->args[0].s);
	if (n >= UT_MAX_LUNS)
		return cfg_err(p, &st->args[0],
			       "LUN %llu is out of range "
			       "(0..%d)",
			       (unsigned long long)n, UT_MAX_LUNS - 1);
	if (strlen(st->args[1].s) >= UT_DEV_NAME_MAX)
		return cfg_err(p, &st->args[1],
			       "device name '%.32s...' is "
			       "longer than %d bytes",
			       st->args[1].s, UT_DEV_NAME_MAX - 1);
	for (size_t i = 0; i < *count; i++)
		if ((*set)[i].lun == n)
			return cfg_err(p, &st->args[0],
				       "LUN %u is mapped twice "
				       "(first at line %d)",
				       (unsigned)n, (*set)[i].line);
	if (cfg_lun_ref(p, &st->args[1], ti, gi, *count))
		return -1;
	l.lun = cfg_array_add(set, count, sizeof(*l.lun), UT_MAX_LUNS);
	if (!l.lun) {
		p->ref_count--;
		return cfg_nomem(p, &st->key);
	}
	l.lun->lun = (uint32_t)n;
	memcpy(l.lun->dev_name, st->args[1].s, strlen(st->args[1].s) + 1);
	l.lun->line = st->key.line;
	snprintf(l.owner, sizeof(l.owner), "LUN %u", (unsigned)n);
	return st->block ? cfg_body(p, st, cfg_lun_stmt, &l) : 0;
}

struct cfg_group_ctx {
	size_t ti, gi;
};

static int cfg_initiator(struct cfg_parser *p, const struct cfg_stmt *st,
			 struct ut_group_cfg *g)
{
	const char *v;
	size_t len;

	if (cfg_one(p, st, &v))
		return -1;
	/* The pattern is an iSCSI name with wildcards, after an optional
	 * '!' that makes it exclude. */
	len = strlen(v) - (v[0] == '!');
	if (len == 0)
		return cfg_err(p, &st->args[0], "INITIATOR pattern is empty");
	if (len >= UT_NAME_MAX)
		return cfg_err(p, &st->args[0],
			       "INITIATOR pattern is longer "
			       "than %d bytes",
			       UT_NAME_MAX - 1);
	if (p->initiators >= UT_MAX_INITIATOR_ENTRIES ||
	    g->initiator_count >= UT_MAX_INITIATORS)
		return cfg_err(p, &st->key,
			       "too many INITIATOR lines (%d per "
			       "group, %d in all)",
			       UT_MAX_INITIATORS, UT_MAX_INITIATOR_ENTRIES);
	if (cfg_strv_add(&g->initiators, &g->initiator_count, v,
			 UT_MAX_INITIATORS))
		return cfg_nomem(p, &st->key);
	p->initiators++;
	return 0;
}

static int cfg_group_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	struct cfg_group_ctx *c = ctx;
	struct ut_target_cfg *t = &p->cfg->targets[c->ti];
	struct ut_group_cfg *g = &t->groups[c->gi];
	char owner[UT_DEV_NAME_MAX + 16];

	if (cfg_key(st, "INITIATOR"))
		return cfg_initiator(p, st, g);
	if (cfg_key(st, "LUN"))
		return cfg_lun(p, st, c->ti, c->gi);
	snprintf(owner, sizeof(owner), "group '%s'", g->name);
	return cfg_unsupported(p, st, owner);
}

static int cfg_group(struct cfg_parser *p, struct cfg_stmt *st, size_t ti)
{
	struct ut_target_cfg *t = &p->cfg->targets[ti];
	struct cfg_group_ctx c = {.ti = ti};
	struct ut_group_cfg *g;
	const char *name;

	if (cfg_name(p, st, UT_DEV_NAME_MAX, &name))
		return -1;
	for (size_t i = 0; i < t->group_count; i++)
		if (!strcmp(t->groups[i].name, name))
			return cfg_err(p, &st->args[0],
				       "group '%s' is defined "
				       "twice in target '%s'",
				       name, t->iqn);
	g = cfg_array_add(&t->groups, &t->group_count, sizeof(*g),
			  UT_MAX_GROUPS);
	if (!g)
		return t->group_count >= UT_MAX_GROUPS
			       ? cfg_err(p, &st->key,
					 "more than %d groups in one "
					 "target",
					 UT_MAX_GROUPS)
			       : cfg_nomem(p, &st->key);
	memcpy(g->name, name, strlen(name) + 1);
	c.gi = t->group_count - 1;
	return st->block ? cfg_body(p, st, cfg_group_stmt, &c) : 0;
}

/* ------------------------------------------------------ TARGET, driver */

/* portal ADDR[:PORT] in portal group tpgt (1 outside PORTAL_GROUP). */
static int cfg_portal(struct cfg_parser *p, const struct cfg_stmt *st,
		      uint16_t tpgt)
{
	struct ut_config *cfg = p->cfg;
	char host[256], norm[300];
	size_t n = cfg->portal_count;
	uint16_t *slot;
	const char *s;
	uint16_t port;

	if (cfg_one(p, st, &s))
		return -1;
	if (ut_portal_parse(s, host, sizeof(host), &port))
		return cfg_err(p, &st->args[0],
			       "bad portal '%.64s' (expected "
			       "ADDR[:PORT] or [IPV6][:PORT], PORT 1..65535)",
			       s);
	snprintf(norm, sizeof(norm), strchr(host, ':') ? "[%s]:%u" : "%s:%u",
		 host, port);
	if (n >= UT_MAX_PORTALS)
		return cfg_err(p, &st->key, "more than %d %s lines",
			       UT_MAX_PORTALS, st->key.s);
	/* portal_tpgts has one entry per portal (config.h) */
	if (cfg_portal_tpgts_fill(cfg))
		return cfg_nomem(p, &st->key);
	slot = cfg_array_add(&cfg->portal_tpgts, &n, sizeof(*slot),
			     UT_MAX_PORTALS);
	if (!slot)
		return cfg_nomem(p, &st->key);
	*slot = tpgt;
	if (cfg_strv_add(&cfg->portals, &cfg->portal_count, norm,
			 UT_MAX_PORTALS))
		return cfg_nomem(p, &st->key);
	return 0;
}

static int cfg_portal_group_stmt(struct cfg_parser *p, struct cfg_stmt *st,
				 void *ctx)
{
	if (cfg_key(st, "portal") || cfg_key(st, "listen"))
		return cfg_portal(p, st, *(uint16_t *)ctx);
	return cfg_unsupported(p, st, "PORTAL_GROUP");
}

/* PORTAL_GROUP N { portal ... }: utarget extension, RFC 7143 §4.4.1. */
static int cfg_portal_group(struct cfg_parser *p, struct cfg_stmt *st)
{
	uint64_t n;
	uint16_t tpgt;

	if (st->nargs != 1 || cfg_parse_dec(st->args[0].s, 65535, &n) || n == 0)
		return cfg_err(p, st->nargs ? &st->args[0] : &st->key,
			       "PORTAL_GROUP needs a tag 1..65535");
	tpgt = (uint16_t)n;
	return st->block ? cfg_body(p, st, cfg_portal_group_stmt, &tpgt) : 0;
}

static int cfg_allowed_portal(struct cfg_parser *p, const struct cfg_stmt *st,
			      struct ut_target_cfg *t)
{
	const char *v;

	/* A pattern (SCST matches it with wildcards), not an address. */
	if (cfg_one(p, st, &v))
		return -1;
	if (!*v || strlen(v) > 255)
		return cfg_err(p, &st->args[0],
			       "allowed_portal must be 1 to "
			       "255 bytes");
	if (t->allowed_portal_count >= UT_MAX_ALLOWED_PORTALS)
		return cfg_err(p, &st->key, "more than %d allowed_portal lines",
			       UT_MAX_ALLOWED_PORTALS);
	if (cfg_strv_add(&t->allowed_portals, &t->allowed_portal_count, v,
			 UT_MAX_ALLOWED_PORTALS))
		return cfg_nomem(p, &st->key);
	return 0;
}

static int cfg_target_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	size_t ti = *(size_t *)ctx;
	struct ut_target_cfg *t = &p->cfg->targets[ti];
	char owner[UT_NAME_MAX + 16];
	int pi;

	if (cfg_key(st, "LUN"))
		return cfg_lun(p, st, ti, CFG_NO_GROUP);
	if (cfg_key(st, "GROUP"))
		return cfg_group(p, st, ti);
	if (cfg_key(st, "enabled"))
		return cfg_bool(p, st, &t->enabled);
	if (cfg_key(st, "alias"))
		return cfg_text(p, st, "the target", t->alias,
				sizeof(t->alias));
	if (cfg_key(st, "allowed_portal"))
		return cfg_allowed_portal(p, st, t);
	if (cfg_key(st, "rel_tgt_id")) {
		uint64_t n;

		if (cfg_uint(p, st, 1, 65535, &n))
			return -1;
		t->rel_tgt_id = (uint16_t)n;
		return 0;
	}
	if (cfg_key(st, "IncomingUser"))
		return cfg_user_add(p, st, &t->incoming, &t->incoming_count);
	if (cfg_key(st, "OutgoingUser"))
		return cfg_user(p, st, &t->outgoing);
	pi = cfg_find_param(st);
	if (pi >= 0) {
		p->tmask[ti] |= 1u << pi;
		return cfg_param_set(p, st, &cfg_params[pi], &t->params);
	}
	snprintf(owner, sizeof(owner), "target '%s'", t->iqn);
	return cfg_unsupported(p, st, owner);
}

static int cfg_target(struct cfg_parser *p, struct cfg_stmt *st)
{
	struct ut_config *cfg = p->cfg;
	struct ut_target_cfg *t;
	const char *iqn;
	uint32_t *mask;
	size_t ti;

	if (cfg_name(p, st, UT_NAME_MAX, &iqn))
		return -1;
	for (size_t i = 0; i < cfg->target_count; i++)
		if (!strcmp(cfg->targets[i].iqn, iqn))
			return cfg_err(p, &st->args[0],
				       "target '%s' is defined "
				       "twice (first at line %d)",
				       iqn, cfg->targets[i].line);
	if (cfg->target_count >= UT_MAX_TARGETS)
		return cfg_err(p, &st->key, "more than %d targets",
			       UT_MAX_TARGETS);
	mask = cfg_array_add(&p->tmask, &p->tmask_count, sizeof(*mask),
			     UT_MAX_TARGETS);
	if (!mask)
		return cfg_nomem(p, &st->key);
	t = cfg_array_add(&cfg->targets, &cfg->target_count, sizeof(*t),
			  UT_MAX_TARGETS);
	if (!t) {
		p->tmask_count--;
		return cfg_nomem(p, &st->key);
	}
	cfg_target_init(t, cfg);
	memcpy(t->iqn, iqn, strlen(iqn) + 1);
	t->line = st->key.line;
	ti = cfg->target_count - 1;
	return st->block ? cfg_body(p, st, cfg_target_stmt, &ti) : 0;
}

static int cfg_driver_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	struct ut_config *cfg = p->cfg;
	int pi;

	if (cfg_key(st, "TARGET"))
		return cfg_target(p, st);
	if (cfg_key(st, "enabled"))
		return cfg_bool(p, st, &cfg->iscsi_enabled);
	if (cfg_key(st, "portal") || cfg_key(st, "listen"))
		return cfg_portal(p, st, 1);
	if (cfg_key(st, "PORTAL_GROUP"))
		return cfg_portal_group(p, st);
	/* At the driver level the users authenticate discovery sessions. */
	if (cfg_key(st, "IncomingUser"))
		return cfg_user_add(p, st, &cfg->discovery_incoming,
				    &cfg->discovery_incoming_count);
	if (cfg_key(st, "OutgoingUser"))
		return cfg_user(p, st, &cfg->discovery_outgoing);
	pi = cfg_find_param(st);
	if (pi >= 0)
		return cfg_param_set(p, st, &cfg_params[pi], &cfg->params);
	return cfg_unsupported(p, st, "target driver 'iscsi'");
}

static int cfg_driver(struct cfg_parser *p, struct cfg_stmt *st)
{
	const char *name;

	if (cfg_name(p, st, 64, &name))
		return -1;
	if (strcmp(name, "iscsi")) {
		cfg_warn(p, &st->args[0],
			 "target driver '%s' is not supported "
			 "by utarget; block ignored",
			 name);
		return st->block ? cfg_skip(p, st) : 0;
	}
	return st->block ? cfg_body(p, st, cfg_driver_stmt, NULL) : 0;
}

/* ------------------------------------------- DEVICE_GROUP (ALUA) */

struct cfg_tg_ctx {
	size_t dg, tg, target;
};

static struct ut_tgt_group_cfg *cfg_tg_of(struct cfg_parser *p,
					  const struct cfg_tg_ctx *c)
{
	return &p->cfg->dgroups[c->dg].tgroups[c->tg];
}

static int cfg_tg_target_stmt(struct cfg_parser *p, struct cfg_stmt *st,
			      void *ctx)
{
	struct cfg_tg_ctx *c = ctx;
	struct ut_tg_target_cfg *tt = &cfg_tg_of(p, c)->targets[c->target];
	uint64_t n;

	if (!cfg_key(st, "rel_tgt_id"))
		return cfg_unsupported(p, st, tt->name);
	if (cfg_uint(p, st, 1, 65535, &n))
		return -1;
	tt->rel_tgt_id = (uint16_t)n;
	return 0;
}

/* TARGET port [ { rel_tgt_id N } ] in a TARGET_GROUP. */
static int cfg_tg_target(struct cfg_parser *p, struct cfg_stmt *st,
			 struct cfg_tg_ctx *c)
{
	struct ut_tgt_group_cfg *tg = cfg_tg_of(p, c);
	struct ut_tg_target_cfg *tt;
	const char *name;

	if (cfg_name(p, st, UT_PORT_NAME_MAX, &name))
		return -1;
	tt = cfg_array_add(&tg->targets, &tg->target_count, sizeof(*tt),
			   UT_MAX_TG_TARGETS);
	if (!tt)
		return tg->target_count >= UT_MAX_TG_TARGETS
			       ? cfg_err(p, &st->key,
					 "more than %d TARGET lines in "
					 "TARGET_GROUP '%s'",
					 UT_MAX_TG_TARGETS, tg->name)
			       : cfg_nomem(p, &st->key);
	memcpy(tt->name, name, strlen(name) + 1);
	tt->line = st->key.line;
	c->target = tg->target_count - 1;
	return st->block ? cfg_body(p, st, cfg_tg_target_stmt, c) : 0;
}

static int cfg_tg_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	struct cfg_tg_ctx *c = ctx;
	struct ut_tgt_group_cfg *tg = cfg_tg_of(p, c);
	char owner[UT_DEV_NAME_MAX + 20];
	uint64_t n;

	if (cfg_key(st, "TARGET"))
		return cfg_tg_target(p, st, c);
	if (cfg_key(st, "group_id")) {
		if (cfg_uint(p, st, 0, 65535, &n))
			return -1;
		tg->group_id = (uint32_t)n;
		return 0;
	}
	if (cfg_key(st, "preferred"))
		return cfg_bool(p, st, &tg->preferred);
	if (cfg_key(st, "state")) {
		const char *v;

		if (cfg_one(p, st, &v))
			return -1;
		if (scsi_alua_state_parse(v, &tg->state))
			return cfg_err(p, &st->args[0],
				       "state '%.32s' is not one of active, "
				       "nonoptimized, standby, unavailable, "
				       "offline, transitioning",
				       v);
		return 0;
	}
	snprintf(owner, sizeof(owner), "TARGET_GROUP '%s'", tg->name);
	return cfg_unsupported(p, st, owner);
}

static int cfg_tgroup(struct cfg_parser *p, struct cfg_stmt *st, size_t dgi)
{
	struct ut_dev_group_cfg *dg = &p->cfg->dgroups[dgi];
	struct cfg_tg_ctx c = {.dg = dgi};
	struct ut_tgt_group_cfg *tg;
	const char *name;

	if (cfg_name(p, st, UT_DEV_NAME_MAX, &name))
		return -1;
	tg = cfg_array_add(&dg->tgroups, &dg->tgroup_count, sizeof(*tg),
			   UT_MAX_TGT_GROUPS);
	if (!tg)
		return dg->tgroup_count >= UT_MAX_TGT_GROUPS
			       ? cfg_err(p, &st->key,
					 "more than %d TARGET_GROUPs in "
					 "device group '%s'",
					 UT_MAX_TGT_GROUPS, dg->name)
			       : cfg_nomem(p, &st->key);
	memcpy(tg->name, name, strlen(name) + 1);
	tg->group_id = UINT32_MAX; /* required: validation says so */
	tg->state = SCSI_ALUA_OPTIMIZED;
	tg->line = st->key.line;
	c.tg = dg->tgroup_count - 1;
	return st->block ? cfg_body(p, st, cfg_tg_stmt, &c) : 0;
}

static int cfg_dg_stmt(struct cfg_parser *p, struct cfg_stmt *st, void *ctx)
{
	size_t dgi = *(size_t *)ctx;
	struct ut_dev_group_cfg *dg = &p->cfg->dgroups[dgi];
	char owner[UT_DEV_NAME_MAX + 20];
	const char *name;
	uint64_t n;

	if (cfg_key(st, "TARGET_GROUP"))
		return cfg_tgroup(p, st, dgi);
	if (cfg_key(st, "DEVICE")) {
		if (st->block)
			return cfg_err(p, &st->key,
				       "DEVICE in a DEVICE_GROUP takes no "
				       "block");
		if (cfg_name(p, st, UT_DEV_NAME_MAX, &name))
			return -1;
		if (dg->dev_count >= UT_MAX_DG_DEVS)
			return cfg_err(p, &st->key,
				       "more than %d devices in device "
				       "group '%s'",
				       UT_MAX_DG_DEVS, dg->name);
		return cfg_strv_add(&dg->devs, &dg->dev_count, name,
				    UT_MAX_DG_DEVS)
			       ? cfg_nomem(p, &st->key)
			       : 0;
	}
	if (cfg_key(st, "implicit_transition_time")) {
		if (cfg_uint(p, st, 0, 255, &n))
			return -1;
		dg->transition_time_s = (uint8_t)n;
		return 0;
	}
	snprintf(owner, sizeof(owner), "device group '%s'", dg->name);
	return cfg_unsupported(p, st, owner);
}

/* DEVICE_GROUP name { DEVICE ... TARGET_GROUP ... } (SCST). */
static int cfg_dev_group(struct cfg_parser *p, struct cfg_stmt *st)
{
	struct ut_config *cfg = p->cfg;
	struct ut_dev_group_cfg *dg;
	const char *name;
	size_t dgi;

	if (cfg_name(p, st, UT_DEV_NAME_MAX, &name))
		return -1;
	dg = cfg_array_add(&cfg->dgroups, &cfg->dgroup_count, sizeof(*dg),
			   UT_MAX_DEV_GROUPS);
	if (!dg)
		return cfg->dgroup_count >= UT_MAX_DEV_GROUPS
			       ? cfg_err(p, &st->key,
					 "more than %d device groups",
					 UT_MAX_DEV_GROUPS)
			       : cfg_nomem(p, &st->key);
	memcpy(dg->name, name, strlen(name) + 1);
	dg->line = st->key.line;
	dgi = cfg->dgroup_count - 1;
	return st->block ? cfg_body(p, st, cfg_dg_stmt, &dgi) : 0;
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
