/*
 * test_json_edges.c — the control protocol's JSON reader and writer at
 * their edges (control/json.c, json.h's profile of RFC 8259): escapes
 * that decode to 2-, 3- and 4-byte UTF-8 and the exact bytes they give,
 * every way raw UTF-8 can be malformed (RFC 3629 §3-4), surrogate pairs
 * broken in each place, the separators an array or object expects, the
 * JSON_MAX_ITEMS limit at and past it, and the writer's depth limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/json.h"

/* text parses to a string of exactly the bytes want. */
static void string_is(const char *text, const char *want)
{
	struct json j;
	char err[200];

	if (json_parse(text, strlen(text), &j, err, sizeof(err)))
		fail_msg("'%s' should parse: %s", text, err);
	assert_int_equal(j.type, JSON_STRING);
	assert_int_equal(j.len, strlen(want));
	assert_memory_equal(j.s, want, strlen(want));
	json_free(&j);
}

/* text is refused with a message containing why, at byte offset at. */
static void refused(const char *text, size_t len, const char *why,
		    unsigned int at)
{
	struct json j;
	char err[200], where[32];

	if (json_parse(text, len, &j, err, sizeof(err)) == 0) {
		json_free(&j);
		fail_msg("'%s' should be refused (%s)", text, why);
	}
	if (!strstr(err, why))
		fail_msg("'%s': '%s' does not say '%s'", text, err, why);
	snprintf(where, sizeof(where), "at byte %u", at);
	if (!strstr(err, where))
		fail_msg("'%s': '%s' is not %s", text, err, where);
}

#define REFUSED(lit, why, at) refused((lit), sizeof(lit) - 1, (why), (at))

/* \u escapes of each UTF-8 length, upper- and lower-case hex, and a
 * surrogate pair, decode to the code points' UTF-8 bytes. */
static void escapes_decode_to_exact_utf8(void **state)
{
	(void)state;
	string_is("\"\\u0041\"", "A");
	string_is("\"\\u00E9\\u00e9\"", "\xc3\xa9\xc3\xa9");
	string_is("\"\\u20AC\"", "\xe2\x82\xac");
	string_is("\"\\uFFFD\"", "\xef\xbf\xbd");
	string_is("\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80");
	string_is("\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
	/* raw UTF-8 of each length passes unchanged */
	string_is("\"\xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"",
		  "\xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
}

/* RFC 3629: invalid lead bytes, missing or bad continuation bytes,
 * overlong forms of 3 and 4 bytes, and code points past U+10FFFF are
 * all refused, at the string holding them; a string cut short by the
 * end of the text is unterminated. */
static void malformed_utf8_is_refused(void **state)
{
	(void)state;
	REFUSED("\"\x80\"", "UTF-8", 1);	     /* lone continuation */
	REFUSED("\"\xf5\x80\x80\x80\"", "UTF-8", 1); /* lead past F4 */
	REFUSED("\"\xff\"", "UTF-8", 1);
	REFUSED("\"\xc3\x28\"", "UTF-8", 1); /* bad continuation */
	REFUSED("\"\xe2\x82\"", "UTF-8", 1); /* cut short by the quote */
	REFUSED("\"\xe2\x82", "unterminated string", 3); /* by the end */
	REFUSED("\"\xe0\x80\x80\"", "UTF-8", 1);	 /* overlong, 3 bytes */
	REFUSED("\"\xf0\x80\x80\x80\"", "UTF-8", 1);	 /* overlong, 4 bytes */
	REFUSED("\"\xf4\x90\x80\x80\"", "UTF-8", 1);	 /* past U+10FFFF */
}

/* A high surrogate must be followed by \u and a low one (the error
 * points past what was read in its place); \u wants 4 hex digits. */
static void broken_surrogate_pairs_are_refused(void **state)
{
	(void)state;
	REFUSED("\"\\uD800x\"", "unpaired high surrogate", 7);
	REFUSED("\"\\uD800\\u0041\"", "unpaired high surrogate", 13);
	REFUSED("\"\\uD800\\uE000\"", "unpaired high surrogate", 13);
	REFUSED("\"\\u00G0\"", "bad hex digit", 6);
	REFUSED("\"\\u00g0\"", "bad hex digit", 6);
}

/* After a value, an array wants ',' or ']' and an object ',' or '}';
 * after a key, ':'; keys are strings. */
static void separators_are_checked(void **state)
{
	(void)state;
	REFUSED("[1 2]", "expected ',' or ']'", 3);
	REFUSED("[1", "expected ',' or ']'", 2);
	REFUSED("{\"a\" 1}", "expected ':'", 5);
	REFUSED("{\"a\":1 \"b\":2}", "expected ',' or '}'", 7);
	REFUSED("{\"a\":1", "expected ',' or '}'", 6);
	REFUSED("{1:2}", "expected a key", 1);
	REFUSED("[\"abc]", "unterminated string", 6);
}

/* JSON_MAX_ITEMS values in one document are read; one more is refused
 * (the array itself counts). */
static void the_item_limit_holds_at_and_past_it(void **state)
{
	size_t n = JSON_MAX_ITEMS - 1; /* the array + n zeros = the limit */
	char *t = malloc(2 * (n + 1) + 2);
	struct json j;
	char err[200];
	size_t len = 0;

	(void)state;
	assert_non_null(t);
	t[len++] = '[';
	for (size_t i = 0; i < n; i++) {
		t[len++] = '0';
		t[len++] = ',';
	}
	t[len - 1] = ']';
	assert_int_equal(json_parse(t, len, &j, err, sizeof(err)), 0);
	assert_int_equal(j.type, JSON_ARRAY);
	assert_int_equal(j.len, n);
	/* json_get of an array is no member */
	assert_null(json_get(&j, "0"));
	json_free(&j);
	t[len - 1] = ',';
	t[len++] = '0';
	t[len++] = ']';
	assert_int_equal(json_parse(t, len, &j, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	free(t);
}

/* The writer refuses to nest deeper than JSON_MAX_DEPTH: the text is
 * lost (jw_text NULL) rather than written unreadable. */
static void the_writer_stops_past_the_depth_limit(void **state)
{
	struct jw w;

	(void)state;
	jw_init(&w);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		jw_arr_begin(&w);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		jw_arr_end(&w);
	assert_non_null(jw_text(&w));
	jw_free(&w);
	jw_init(&w);
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		jw_arr_begin(&w);
	assert_null(jw_text(&w));
	jw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escapes_decode_to_exact_utf8),
		cmocka_unit_test(malformed_utf8_is_refused),
		cmocka_unit_test(broken_surrogate_pairs_are_refused),
		cmocka_unit_test(separators_are_checked),
		cmocka_unit_test(the_item_limit_holds_at_and_past_it),
		cmocka_unit_test(the_writer_stops_past_the_depth_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
