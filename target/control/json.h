/*
 * json.h — a small, strict JSON reader and writer for the control
 * protocol (docs/control.md).  RFC 8259, with these choices:
 *
 *   - exactly one value, optional whitespace around it, nothing else;
 *   - numbers are integers only (-?(0|[1-9][0-9]*), within int64): the
 *     protocol has no fractions, and refusing them keeps every value
 *     exact;
 *   - strings are valid UTF-8 (escapes too; \u0000 and lone surrogates
 *     refused, since every string becomes a C string);
 *   - object keys are unique;
 *   - limits: JSON_MAX_DEPTH nesting levels, JSON_MAX_ITEMS values in
 *     one document (the input's length bounds the rest).
 *
 * The reader builds a tree; the writer appends to a growing buffer and
 * places commas and colons itself.
 */
#ifndef UT_JSON_H
#define UT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32
#define JSON_MAX_ITEMS 65536

enum json_type {
	JSON_NULL = 0,
	JSON_BOOL,
	JSON_INT,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_member;

struct json {
	enum json_type type;
	bool b;
	int64_t i;
	char *s;	    /* JSON_STRING: NUL-terminated, no NUL inside */
	size_t len;	    /* string length, or item / member count */
	struct json *items; /* JSON_ARRAY */
	struct json_member *members; /* JSON_OBJECT, in input order */
};

struct json_member {
	char *key;
	struct json value;
};

/* Parse len bytes.  0, or -1 with a message (and the byte offset) in
 * err.  *out must be json_free()d after success only. */
int json_parse(const char *text, size_t len, struct json *out, char *err,
	       size_t errlen);
void json_free(struct json *j);

/* Member of an object (NULL if absent or j is no object). */
const struct json *json_get(const struct json *j, const char *key);
/* Typed getters: the member's value, or NULL/false when absent or of
 * another type. */
const char *json_get_str(const struct json *j, const char *key);
bool json_get_int(const struct json *j, const char *key, int64_t *out);
bool json_get_bool(const struct json *j, const char *key, bool *out);

/* ------------------------------------------------------------- writer */

struct jw {
	char *buf;
	size_t len, cap;
	bool failed; /* out of memory: the text is lost */
	int depth;
	bool first[JSON_MAX_DEPTH + 1]; /* no comma before the next item */
	bool after_key;
};

void jw_init(struct jw *w);
void jw_free(struct jw *w);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* A value that is JSON text already (written by a jw of our own). */
void jw_json(struct jw *w, const char *json);
/* Key and value in one call. */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kuint(struct jw *w, const char *key, uint64_t v);
void jw_kbool(struct jw *w, const char *key, bool v);
/* The text so far (NUL-terminated), or NULL after a failure. */
const char *jw_text(const struct jw *w);

#endif
