/*
 * test_json.c — the control protocol's JSON reader and writer
 * (control/json.c): what RFC 8259 allows is read, what the strict
 * profile refuses is refused with an offset, limits on both sides.
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

static void ok(const char *text)
{
	struct json j;
	char err[200];

	if (json_parse(text, strlen(text), &j, err, sizeof(err)))
		fail_msg("'%s' should parse: %s", text, err);
	json_free(&j);
}

static void bad(const char *text, const char *why)
{
	struct json j;
	char err[200];

	if (json_parse(text, strlen(text), &j, err, sizeof(err)) == 0) {
		json_free(&j);
		fail_msg("'%s' should be refused (%s)", text, why);
	}
	assert_non_null(strstr(err, "at byte"));
}

static void accepts_rfc8259_values(void **state)
{
	(void)state;
	ok("{}");
	ok("[]");
	ok(" \t\r\n{ \"a\" : [1, -2, 0, true, false, null, \"x\"] } \n");
	ok("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"");
	ok("9223372036854775807");
	ok("-9223372036854775808");
	ok("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
}

static void refuses_what_the_profile_excludes(void **state)
{
	(void)state;
	bad("", "empty");
	bad("{} {}", "two values");
	bad("{\"a\":1,}", "trailing comma");
	bad("[1,]", "trailing comma");
	bad("{\"a\":1,\"a\":2}", "duplicate key");
	bad("1.5", "fraction");
	bad("1e3", "exponent");
	bad("01", "leading zero");
	bad("-", "lone minus");
	bad("9223372036854775808", "int64 overflow");
	bad("-9223372036854775809", "int64 underflow");
	bad("\"\\u0000\"", "NUL");
	bad("\"\\ud800\"", "lone high surrogate");
	bad("\"\\udc00\"", "lone low surrogate");
	bad("\"\\x\"", "bad escape");
	bad("\"a\nb\"", "raw control character");
	bad("\"\xc0\xaf\"", "overlong UTF-8");
	bad("\"\xed\xa0\x80\"", "UTF-8 surrogate");
	bad("\"abc", "unterminated");
	bad("\"\\u12\"", "short escape");
	bad("tru", "bad literal");
	bad("{'a':1}", "single quotes");
}

static void depth_limit_both_sides(void **state)
{
	char deep[2 * (JSON_MAX_DEPTH + 2) + 1];
	size_t n;

	(void)state;
	/* JSON_MAX_DEPTH + 1 nested arrays: depths 0..JSON_MAX_DEPTH. */
	n = JSON_MAX_DEPTH + 1;
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	ok(deep);
	n++;
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	bad(deep, "one level too deep");
}

static void getters_are_typed(void **state)
{
	const char *t = "{\"s\":\"x\",\"i\":7,\"b\":true}";
	struct json j;
	int64_t i = 0;
	bool b = false;

	(void)state;
	assert_int_equal(json_parse(t, strlen(t), &j, NULL, 0), 0);
	assert_string_equal(json_get_str(&j, "s"), "x");
	assert_null(json_get_str(&j, "i"));
	assert_true(json_get_int(&j, "i", &i));
	assert_int_equal(i, 7);
	assert_false(json_get_int(&j, "s", &i));
	assert_true(json_get_bool(&j, "b", &b));
	assert_true(b);
	assert_null(json_get(&j, "missing"));
	json_free(&j);
}

static void writer_output_reads_back(void **state)
{
	struct jw w;
	struct json j;
	char err[200];

	(void)state;
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "q", "a\"b\\c\n\x01\x7f\xff");
	jw_kint(&w, "n", -5);
	jw_kuint(&w, "u", UINT64_MAX >> 1);
	jw_key(&w, "arr");
	jw_arr_begin(&w);
	jw_bool(&w, false);
	jw_null(&w);
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_arr_end(&w);
	jw_obj_end(&w);
	assert_non_null(jw_text(&w));
	if (json_parse(jw_text(&w), strlen(jw_text(&w)), &j, err, sizeof(err)))
		fail_msg("writer output does not parse: %s: %s", err,
			 jw_text(&w));
	/* Invalid UTF-8 became U+FFFD; control characters escaped. */
	assert_string_equal(json_get_str(&j, "q"),
			    "a\"b\\c\n\x01\x7f\xef\xbf\xbd");
	assert_int_equal(json_get(&j, "arr")->len, 3);
	json_free(&j);
	jw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_rfc8259_values),
		cmocka_unit_test(refuses_what_the_profile_excludes),
		cmocka_unit_test(depth_limit_both_sides),
		cmocka_unit_test(getters_are_typed),
		cmocka_unit_test(writer_output_reads_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
