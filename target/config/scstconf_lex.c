/*
 * scstconf_lex.c — the scst.conf front end's reading: tokens (WORD,
 * STRING, braces, newlines, comments), statements (a key, its values and
 * its block), values (bool, name, text, number) and diagnostics.  The
 * grammar is at the top of scstconf.c.
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

/* ---------------------------------------------------------- diagnostics */

int cfg_diag(struct cfg_parser *p, int severity, int line, int col,
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

int cfg_nomem(struct cfg_parser *p, const struct cfg_tok *t)
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
void cfg_tok_free(struct cfg_tok *t)
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
int cfg_body(struct cfg_parser *p, const struct cfg_stmt *opener,
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
int cfg_skip(struct cfg_parser *p, const struct cfg_stmt *opener)
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

bool cfg_key(const struct cfg_stmt *st, const char *key)
{
	return strcasecmp(st->key.s, key) == 0;
}

/* Warn that st (an attribute or a block of owner) is ignored, and skip it. */
int cfg_unsupported(struct cfg_parser *p, struct cfg_stmt *st,
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
int cfg_one(struct cfg_parser *p, const struct cfg_stmt *st, const char **val)
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

int cfg_bool(struct cfg_parser *p, const struct cfg_stmt *st, bool *out)
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
int cfg_name(struct cfg_parser *p, const struct cfg_stmt *st, size_t cap,
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

int cfg_text(struct cfg_parser *p, const struct cfg_stmt *st, const char *owner,
	     char *dst, size_t cap)
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
int cfg_uint(struct cfg_parser *p, const struct cfg_stmt *st, uint64_t min,
	     uint64_t max, uint64_t *out)
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
