/*
 * json.c — the strict JSON reader and the writer of json.h.
 *
 * Grammar (RFC 8259 §2..§7, integers only):
 *
 *   value   := ws ( object | array | string | int | "true" | "false"
 *                 | "null" ) ws
 *   object  := "{" ws [ string ws ":" value { "," ws string ws ":"
 *              value } ] "}"
 *   array   := "[" ws [ value { "," value } ] "]"
 *   int     := [ "-" ] ( "0" | [1-9] [0-9]* )        (fits int64)
 *   string  := '"' { unescaped | "\" ( ["\/bfnrt] | "u" hex4 ) } '"'
 *              unescaped: any UTF-8 character from U+0020 on, but '"'
 *              and '\'; \uD800-\uDBFF must pair with \uDC00-\uDFFF.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/json.h"

struct jp {
	const char *p;
	size_t len, pos;
	unsigned int items;
	char *err;
	size_t errlen;
	bool failed;
};

static int jp_fail(struct jp *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int jp_fail(struct jp *j, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (j->failed)
		return -1;
	j->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (j->errlen)
		snprintf(j->err, j->errlen, "JSON: %s at byte %zu", msg,
			 j->pos);
	return -1;
}

static void jp_ws(struct jp *j)
{
	while (j->pos < j->len &&
	       (j->p[j->pos] == ' ' || j->p[j->pos] == '\t' ||
		j->p[j->pos] == '\n' || j->p[j->pos] == '\r'))
		j->pos++;
}

static bool jp_lit(struct jp *j, const char *lit)
{
	size_t n = strlen(lit);

	if (j->len - j->pos < n || memcmp(j->p + j->pos, lit, n))
		return false;
	j->pos += n;
	return true;
}

static int jp_value(struct jp *j, struct json *out, int depth);

/* Append one code point as UTF-8. */
static void put_utf8(char *dst, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		dst[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		dst[(*n)++] = (char)(0xc0 | cp >> 6);
		dst[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		dst[(*n)++] = (char)(0xe0 | cp >> 12);
		dst[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		dst[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		dst[(*n)++] = (char)(0xf0 | cp >> 18);
		dst[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		dst[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		dst[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static int jp_hex4(struct jp *j, uint32_t *out)
{
	uint32_t v = 0;

	if (j->len - j->pos < 4)
		return jp_fail(j, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = j->p[j->pos++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return jp_fail(j, "bad hex digit in \\u escape");
	}
	*out = v;
	return 0;
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and values past U+10FFFF included). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t k;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

static int jp_escape(struct jp *j, char *dst, size_t *n)
{
	char c = j->p[j->pos++];
	uint32_t cp, lo;

	switch (c) {
	case '"':
	case '\\':
	case '/':
		dst[(*n)++] = c;
		return 0;
	case 'b':
		dst[(*n)++] = '\b';
		return 0;
	case 'f':
		dst[(*n)++] = '\f';
		return 0;
	case 'n':
		dst[(*n)++] = '\n';
		return 0;
	case 'r':
		dst[(*n)++] = '\r';
		return 0;
	case 't':
		dst[(*n)++] = '\t';
		return 0;
	case 'u':
		break;
	default:
		return jp_fail(j, "bad escape");
	}
	if (jp_hex4(j, &cp))
		return -1;
	if (cp == 0)
		return jp_fail(j, "\\u0000 is not allowed");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return jp_fail(j, "lone low surrogate");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (!jp_lit(j, "\\u") || jp_hex4(j, &lo) || lo < 0xdc00 ||
		    lo > 0xdfff)
			return jp_fail(j, "unpaired high surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	put_utf8(dst, n, cp);
	return 0;
}

static int jp_string(struct jp *j, char **out, size_t *out_len)
{
	size_t start = ++j->pos, n = 0;
	char *dst;

	/* The unescaped text is never longer than the escaped one. */
	while (j->pos < j->len && j->p[j->pos] != '"')
		j->pos += j->p[j->pos] == '\\' && j->pos + 1 < j->len ? 2 : 1;
	if (j->pos >= j->len)
		return jp_fail(j, "unterminated string");
	dst = malloc(j->pos - start + 1);
	if (!dst)
		return jp_fail(j, "out of memory");
	j->pos = start;
	while (j->pos < j->len && j->p[j->pos] != '"') {
		unsigned char c = (unsigned char)j->p[j->pos];
		size_t k;

		if (c < 0x20) {
			free(dst);
			return jp_fail(j, "control character in string");
		}
		if (c == '\\') {
			j->pos++;
			if (jp_escape(j, dst, &n)) {
				free(dst);
				return -1;
			}
			continue;
		}
		k = utf8_len((const unsigned char *)j->p + j->pos,
			     j->len - j->pos);
		if (k == 0) {
			free(dst);
			return jp_fail(j, "invalid UTF-8");
		}
		memcpy(dst + n, j->p + j->pos, k);
		n += k;
		j->pos += k;
	}
	if (j->pos >= j->len) {
		free(dst);
		return jp_fail(j, "unterminated string");
	}
	j->pos++;
	dst[n] = '\0';
	*out = dst;
	*out_len = n;
	return 0;
}

static int jp_int(struct jp *j, struct json *out)
{
	bool neg = false;
	uint64_t v = 0, limit;

	if (j->p[j->pos] == '-') {
		neg = true;
		j->pos++;
	}
	if (j->pos >= j->len || j->p[j->pos] < '0' || j->p[j->pos] > '9')
		return jp_fail(j, "bad number");
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (j->p[j->pos] == '0') {
		j->pos++;
	} else {
		while (j->pos < j->len && j->p[j->pos] >= '0' &&
		       j->p[j->pos] <= '9') {
			uint64_t d = (uint64_t)(j->p[j->pos] - '0');

			if (v > (limit - d) / 10)
				return jp_fail(j, "number out of range");
			v = v * 10 + d;
			j->pos++;
		}
	}
	if (j->pos < j->len && (j->p[j->pos] == '.' || j->p[j->pos] == 'e' ||
				j->p[j->pos] == 'E' ||
				(j->p[j->pos] >= '0' && j->p[j->pos] <= '9')))
		return jp_fail(j, "only integers are allowed");
	out->type = JSON_INT;
	out->i = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static int jp_array(struct jp *j, struct json *out, int depth)
{
	size_t cap = 0;

	out->type = JSON_ARRAY;
	j->pos++;
	jp_ws(j);
	if (j->pos < j->len && j->p[j->pos] == ']') {
		j->pos++;
		return 0;
	}
	for (;;) {
		if (out->len == cap) {
			struct json *n;

			cap = cap ? cap * 2 : 4;
			n = realloc(out->items, cap * sizeof(*n));
			if (!n)
				return jp_fail(j, "out of memory");
			out->items = n;
		}
		memset(&out->items[out->len], 0, sizeof(out->items[0]));
		out->len++;
		if (jp_value(j, &out->items[out->len - 1], depth + 1))
			return -1;
		if (j->pos < j->len && j->p[j->pos] == ',') {
			j->pos++;
			continue;
		}
		if (j->pos < j->len && j->p[j->pos] == ']') {
			j->pos++;
			return 0;
		}
		return jp_fail(j, "expected ',' or ']'");
	}
}

static int jp_object(struct jp *j, struct json *out, int depth)
{
	size_t cap = 0;

	out->type = JSON_OBJECT;
	j->pos++;
	jp_ws(j);
	if (j->pos < j->len && j->p[j->pos] == '}') {
		j->pos++;
		return 0;
	}
	for (;;) {
		struct json_member *m;
		char *key;
		size_t klen;

		jp_ws(j);
		if (j->pos >= j->len || j->p[j->pos] != '"')
			return jp_fail(j, "expected a key");
		if (jp_string(j, &key, &klen))
			return -1;
		if (json_get(out, key)) {
			free(key);
			return jp_fail(j, "duplicate key");
		}
		if (out->len == cap) {
			struct json_member *n;

			cap = cap ? cap * 2 : 4;
			n = realloc(out->members, cap * sizeof(*n));
			if (!n) {
				free(key);
				return jp_fail(j, "out of memory");
			}
			out->members = n;
		}
		m = &out->members[out->len++];
		memset(m, 0, sizeof(*m));
		m->key = key;
		jp_ws(j);
		if (j->pos >= j->len || j->p[j->pos] != ':')
			return jp_fail(j, "expected ':'");
		j->pos++;
		if (jp_value(j, &m->value, depth + 1))
			return -1;
		if (j->pos < j->len && j->p[j->pos] == ',') {
			j->pos++;
			continue;
		}
		if (j->pos < j->len && j->p[j->pos] == '}') {
			j->pos++;
			return 0;
		}
		return jp_fail(j, "expected ',' or '}'");
	}
}

static int jp_value(struct jp *j, struct json *out, int depth)
{
	int rc;

	if (depth > JSON_MAX_DEPTH)
		return jp_fail(j, "nested deeper than %d", JSON_MAX_DEPTH);
	if (++j->items > JSON_MAX_ITEMS)
		return jp_fail(j, "more than %d values", JSON_MAX_ITEMS);
	jp_ws(j);
	if (j->pos >= j->len)
		return jp_fail(j, "unexpected end");
	switch (j->p[j->pos]) {
	case '{':
		rc = jp_object(j, out, depth);
		break;
	case '[':
		rc = jp_array(j, out, depth);
		break;
	case '"':
		out->type = JSON_STRING;
		rc = jp_string(j, &out->s, &out->len);
		break;
	case 't':
	case 'f':
		out->type = JSON_BOOL;
		out->b = j->p[j->pos] == 't';
		rc = jp_lit(j, out->b ? "true" : "false")
			     ? 0
			     : jp_fail(j, "bad literal");
		break;
	case 'n':
		out->type = JSON_NULL;
		rc = jp_lit(j, "null") ? 0 : jp_fail(j, "bad literal");
		break;
	default:
		rc = jp_int(j, out);
		break;
	}
	if (rc)
		return -1;
	jp_ws(j);
	return 0;
}

int json_parse(const char *text, size_t len, struct json *out, char *err,
	       size_t errlen)
{
	struct jp j = {.p = text, .len = len, .err = err, .errlen = errlen};

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	if (jp_value(&j, out, 0) == 0 && j.pos != len)
		jp_fail(&j, "trailing bytes after the value");
	if (j.failed) {
		json_free(out);
		return -1;
	}
	return 0;
}

void json_free(struct json *j)
{
	switch (j->type) {
	case JSON_STRING:
		free(j->s);
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < j->len; i++)
			json_free(&j->items[i]);
		free(j->items);
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < j->len; i++) {
			free(j->members[i].key);
			json_free(&j->members[i].value);
		}
		free(j->members);
		break;
	default:
		break;
	}
	memset(j, 0, sizeof(*j));
}

const struct json *json_get(const struct json *j, const char *key)
{
	if (!j || j->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < j->len; i++)
		if (j->members[i].key && strcmp(j->members[i].key, key) == 0)
			return &j->members[i].value;
	return NULL;
}

const char *json_get_str(const struct json *j, const char *key)
{
	const struct json *v = json_get(j, key);

	return v && v->type == JSON_STRING ? v->s : NULL;
}

bool json_get_int(const struct json *j, const char *key, int64_t *out)
{
	const struct json *v = json_get(j, key);

	if (!v || v->type != JSON_INT)
		return false;
	*out = v->i;
	return true;
}

bool json_get_bool(const struct json *j, const char *key, bool *out)
{
	const struct json *v = json_get(j, key);

	if (!v || v->type != JSON_BOOL)
		return false;
	*out = v->b;
	return true;
}

/* ------------------------------------------------------------- writer */

static void jw_raw(struct jw *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 1024;
		char *b;

		while (cap < w->len + n + 1)
			cap *= 2;
		b = realloc(w->buf, cap);
		if (!b) {
			w->failed = true;
			return;
		}
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

void jw_init(struct jw *w)
{
	memset(w, 0, sizeof(*w));
	w->first[0] = true;
}

void jw_free(struct jw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

/* Before a value: a comma unless it is the first item or follows a key. */
static void jw_item(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		jw_raw(w, ",", 1);
	w->first[w->depth] = false;
}

static void jw_open(struct jw *w, char c)
{
	jw_item(w);
	jw_raw(w, &c, 1);
	if (w->depth >= JSON_MAX_DEPTH) {
		w->failed = true;
		return;
	}
	w->first[++w->depth] = true;
}

static void jw_close(struct jw *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	jw_raw(w, &c, 1);
}

void jw_obj_begin(struct jw *w)
{
	jw_open(w, '{');
}
void jw_obj_end(struct jw *w)
{
	jw_close(w, '}');
}
void jw_arr_begin(struct jw *w)
{
	jw_open(w, '[');
}
void jw_arr_end(struct jw *w)
{
	jw_close(w, ']');
}

static void jw_quoted(struct jw *w, const char *s, size_t n)
{
	jw_raw(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jw_raw(w, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jw_raw(w, esc, 6);
		} else if (c >= 0x80) {
			size_t k =
				utf8_len((const unsigned char *)s + i, n - i);

			if (k == 0) {
				/* Not UTF-8 (a name from the network, a
				 * file name): U+FFFD, the text stays
				 * valid JSON. */
				jw_raw(w, "\xef\xbf\xbd", 3);
			} else {
				jw_raw(w, s + i, k);
				i += k - 1;
			}
		} else {
			jw_raw(w, (const char *)&s[i], 1);
		}
	}
	jw_raw(w, "\"", 1);
}

void jw_key(struct jw *w, const char *key)
{
	jw_item(w);
	jw_quoted(w, key, strlen(key));
	jw_raw(w, ":", 1);
	w->after_key = true;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	jw_item(w);
	jw_quoted(w, s, n);
}

void jw_str(struct jw *w, const char *s)
{
	jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%lld", (long long)v);

	jw_item(w);
	jw_raw(w, b, (size_t)n);
}

void jw_uint(struct jw *w, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%llu", (unsigned long long)v);

	jw_item(w);
	jw_raw(w, b, (size_t)n);
}

void jw_bool(struct jw *w, bool v)
{
	jw_item(w);
	jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
	jw_item(w);
	jw_raw(w, "null", 4);
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}
void jw_kint(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}
void jw_kuint(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_uint(w, v);
}
void jw_kbool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void jw_json(struct jw *w, const char *json)
{
	jw_item(w);
	jw_raw(w, json, strlen(json));
}

const char *jw_text(const struct jw *w)
{
	return w->failed ? NULL : (w->buf ? w->buf : "");
}
