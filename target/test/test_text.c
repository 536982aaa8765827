
/*
 * test_text.c — iSCSI text data (RFC 7143 §6.1) of target/iscsi/text.c:
 * parsing, encoding and the value syntax.  The negotiation of the
 * operational parameters is test_negotiate.c's.
 *
 * Every length limit is checked on both sides: exactly at the limit and
 * one byte (or one pair) past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "iscsi/iscsi_int.h"
#include "iscsi/text.h"

#define CHECK(cond, ...)                       \
	do {                                   \
		if (!(cond))                   \
			fail_msg(__VA_ARGS__); \
	} while (0)

static const char *rc_name(int rc)
{
	switch (rc) {
	case TEXT_OK:
		return "TEXT_OK";
	case TEXT_ERR_FORMAT:
		return "TEXT_ERR_FORMAT";
	case TEXT_ERR_TOO_LONG:
		return "TEXT_ERR_TOO_LONG";
	case TEXT_ERR_TOO_MANY:
		return "TEXT_ERR_TOO_MANY";
	case TEXT_ERR_NOMEM:
		return "TEXT_ERR_NOMEM";
	case TEXT_ERR_DUPLICATE:
		return "TEXT_ERR_DUPLICATE";
	}
	return "?";
}

#define EXPECT_RC(got, want, rule)                                             \
	do {                                                                   \
		int g_ = (got), w_ = (want);                                   \
		if (g_ != w_)                                                  \
			fail_msg("%s: expected %s, got %s", rule, rc_name(w_), \
				 rc_name(g_));                                 \
	} while (0)

/* ------------------------------------------------- text builder */

/* A text data segment under construction. */
struct text {
	uint8_t *buf;
	uint32_t len;
};

static void text_free(struct text *t)
{
	free(t->buf);
	t->buf = NULL;
	t->len = 0;
}

static void text_raw(struct text *t, const void *p, uint32_t n)
{
	t->buf = realloc(t->buf, t->len + n + 1);
	assert_non_null(t->buf);
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* Appends "key=value\0". */
static void text_pair(struct text *t, const char *key, const char *value)
{
	text_raw(t, key, (uint32_t)strlen(key));
	text_raw(t, "=", 1);
	text_raw(t, value, (uint32_t)strlen(value));
	text_raw(t, "", 1);
}

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

static int parse_text(const struct text *t, struct iscsi_kvlist *l)
{
	iscsi_kvlist_init(l);
	return iscsi_text_parse(t->buf, t->len, l);
}

static int parse_str(const char *s, size_t len, struct iscsi_kvlist *l)
{
	iscsi_kvlist_init(l);
	return iscsi_text_parse((const uint8_t *)s, (uint32_t)len, l);
}

/* Parse one pair with a key of klen bytes and a value of vlen. */
static int parse_sized(const char *key_prefix, size_t klen, size_t vlen)
{
	struct text t = {0};
	struct iscsi_kvlist l;
	char *key = repeat('K', klen), *value = repeat('v', vlen);
	int rc;

	memcpy(key, key_prefix, strlen(key_prefix));
	text_pair(&t, key, value);
	rc = parse_text(&t, &l);
	if (rc == TEXT_OK) {
		CHECK(l.n == 1 && strcmp(l.v[0].key, key) == 0 &&
			      strlen(l.v[0].value) == vlen,
		      "an accepted pair must be stored whole");
	}
	iscsi_kvlist_free(&l);
	text_free(&t);
	free(key);
	free(value);
	return rc;
}

/* ------------------------------------------------ parse limits */

static void key_of_63_bytes_is_accepted(void **state)
{
	EXPECT_RC(parse_sized("K", 63, 1), TEXT_OK,
		  "RFC 7143 §6.1: a key name is at most 63 bytes");
}

static void key_of_64_bytes_is_rejected(void **state)
{
	EXPECT_RC(parse_sized("K", 64, 1), TEXT_ERR_TOO_LONG,
		  "RFC 7143 §6.1: a key name is at most 63 bytes");
}

static void value_of_255_bytes_is_accepted(void **state)
{
	EXPECT_RC(parse_sized("TargetAlias", 11, 255), TEXT_OK,
		  "RFC 7143 §6.1: a value is at most 255 bytes");
}

static void value_of_256_bytes_is_rejected(void **state)
{
	EXPECT_RC(parse_sized("TargetAlias", 11, 256), TEXT_ERR_TOO_LONG,
		  "RFC 7143 §6.1: a value is at most 255 bytes");
}

static void chap_value_of_8192_bytes_is_accepted(void **state)
{
	EXPECT_RC(parse_sized("CHAP_C", 6, ISCSI_BINARY_VALUE_MAX), TEXT_OK,
		  "RFC 7143 §6.1: binary (CHAP) values are not held to 255 "
		  "bytes; we allow 8192");
}

static void chap_value_of_8193_bytes_is_rejected(void **state)
{
	EXPECT_RC(parse_sized("CHAP_C", 6, ISCSI_BINARY_VALUE_MAX + 1),
		  TEXT_ERR_TOO_LONG, "CHAP values are capped at 8192 bytes");
}

static void key_named_just_chap_underscore_keeps_the_255_limit(void **state)
{
	EXPECT_RC(parse_sized("CHAP_", 5, 256), TEXT_ERR_TOO_LONG,
		  "only CHAP_<name> keys carry binary values");
}

static struct text pairs(unsigned int n)
{
	struct text t = {0};

	for (unsigned int i = 0; i < n; i++) {
		char k[32], v[32];

		snprintf(k, sizeof(k), "X-key%u", i);
		snprintf(v, sizeof(v), "%u", i);
		text_pair(&t, k, v);
	}
	return t;
}

static void text_of_128_pairs_is_accepted(void **state)
{
	struct text t = pairs(ISCSI_TEXT_MAX_PAIRS);
	struct iscsi_kvlist l;

	EXPECT_RC(parse_text(&t, &l), TEXT_OK,
		  "a negotiation may carry up to 128 pairs");
	CHECK(l.n == 128, "128 pairs parsed, got %u", l.n);
	CHECK(strcmp(iscsi_kv_get(&l, "X-key127"), "127") == 0,
	      "the last pair is kept");
	iscsi_kvlist_free(&l);
	text_free(&t);
}

static void text_of_129_pairs_is_rejected(void **state)
{
	struct text t = pairs(ISCSI_TEXT_MAX_PAIRS + 1);
	struct iscsi_kvlist l;

	EXPECT_RC(parse_text(&t, &l), TEXT_ERR_TOO_MANY,
		  "more than 128 pairs is refused: a limit on what the "
		  "network can make us hold");
	iscsi_kvlist_free(&l);
	text_free(&t);
}

static void kv_add_of_129th_pair_is_rejected(void **state)
{
	struct iscsi_kvlist l;

	iscsi_kvlist_init(&l);
	for (unsigned int i = 0; i < ISCSI_TEXT_MAX_PAIRS; i++)
		EXPECT_RC(iscsi_kv_addf(&l, "K", "%u", i), TEXT_OK,
			  "pairs up to 128 are added");
	EXPECT_RC(iscsi_kv_add(&l, "K", "x"), TEXT_ERR_TOO_MANY,
		  "the 129th pair is refused");
	CHECK(l.n == 128, "a refused pair must not be stored");
	iscsi_kvlist_free(&l);
}

/* ------------------------------------------------ parse syntax */

static void pair_without_equals_sign_is_a_format_error(void **state)
{
	struct iscsi_kvlist l;
	static const char s[] = "HeaderDigest\0";

	EXPECT_RC(parse_str(s, sizeof(s) - 1, &l), TEXT_ERR_FORMAT,
		  "RFC 7143 §6.1: every text item is key=value");
	iscsi_kvlist_free(&l);
}

static void empty_key_is_a_format_error(void **state)
{
	struct iscsi_kvlist l;
	static const char s[] = "=None\0";

	EXPECT_RC(parse_str(s, sizeof(s) - 1, &l), TEXT_ERR_FORMAT,
		  "RFC 7143 §6.1: a key name is not empty");
	iscsi_kvlist_free(&l);
}

static void key_with_characters_outside_the_key_set_is_rejected(void **state)
{
	static const char *bad[] = {"Header Digest", "Key/1", "Key:1",
				    "K\xc3\xa9y",    "Key\t", "Key,1",
				    "Key*",	     "Key#1", "Y#Key",
				    "X##Key"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct text t = {0};
		struct iscsi_kvlist l;

		text_pair(&t, bad[i], "1");
		EXPECT_RC(parse_text(&t, &l), TEXT_ERR_FORMAT,
			  "RFC 7143 §6.1: key names use only letters, "
			  "digits, '.', '-', '+', '@', '_'");
		iscsi_kvlist_free(&l);
		text_free(&t);
	}
}

static void key_with_every_allowed_character_is_accepted(void **state)
{
	struct text t = {0};
	struct iscsi_kvlist l;
	const char *key = "aZ09.-+@_";

	text_pair(&t, key, "v");
	EXPECT_RC(parse_text(&t, &l), TEXT_OK,
		  "RFC 7143 §6.1: '.', '-', '+', '@', '_' are key characters");
	CHECK(strcmp(iscsi_kv_get(&l, key), "v") == 0, "key stored");
	iscsi_kvlist_free(&l);
	text_free(&t);
}

/* RFC 7143 §13.5.2, RFC 4850: public extension keys, X#NodeArchitecture
 * for one, hold a '#' after their X. */
static void public_extension_key_is_accepted(void **state)
{
	struct text t = {0};
	struct iscsi_kvlist l;

	text_pair(&t, "X#NodeArchitecture", "ExampleOS/1.0,ExampleHBA/2");
	EXPECT_RC(parse_text(&t, &l), TEXT_OK,
		  "RFC 4850: X#NodeArchitecture is a key");
	CHECK(iscsi_kv_get(&l, "X#NodeArchitecture") != NULL, "key stored");
	iscsi_kvlist_free(&l);
	text_free(&t);
}

static void value_keeps_everything_after_the_first_equals(void **state)
{
	struct iscsi_kvlist l;
	static const char s[] = "SendTargets=iqn.a=b\0Empty=\0";

	EXPECT_RC(parse_str(s, sizeof(s) - 1, &l), TEXT_OK,
		  "the key ends at the first '='");
	CHECK(strcmp(iscsi_kv_get(&l, "SendTargets"), "iqn.a=b") == 0,
	      "value is everything after the first '='");
	CHECK(strcmp(iscsi_kv_get(&l, "Empty"), "") == 0,
	      "an empty value is syntax for the negotiation to judge");
	iscsi_kvlist_free(&l);
}

static void duplicate_key_is_rejected(void **state)
{
	struct text t = {0};
	struct iscsi_kvlist l;

	text_pair(&t, "MaxBurstLength", "262144");
	text_pair(&t, "HeaderDigest", "None");
	text_pair(&t, "MaxBurstLength", "65536");
	EXPECT_RC(parse_text(&t, &l), TEXT_ERR_DUPLICATE,
		  "RFC 7143 §6.2: a key may not be offered twice in one "
		  "negotiation");
	iscsi_kvlist_free(&l);
	text_free(&t);
}

static void key_that_is_a_prefix_of_another_is_not_a_duplicate(void **state)
{
	struct text t = {0};
	struct iscsi_kvlist l;

	text_pair(&t, "IFMarkInt", "1");
	text_pair(&t, "IFMarker", "No");
	text_pair(&t, "IFMark", "x");
	EXPECT_RC(parse_text(&t, &l), TEXT_OK,
		  "only identical key names are duplicates");
	CHECK(l.n == 3, "three distinct keys, got %u", l.n);
	iscsi_kvlist_free(&l);
	text_free(&t);
}

static void final_pair_without_nul_is_accepted(void **state)
{
	struct iscsi_kvlist l;
	static const char s[] = "HeaderDigest=None\0DataDigest=CRC32C";

	EXPECT_RC(parse_str(s, sizeof(s) - 1, &l), TEXT_OK,
		  "a complete text whose last pair lacks its NUL is read");
	CHECK(l.n == 2 && strcmp(iscsi_kv_get(&l, "DataDigest"), "CRC32C") == 0,
	      "the unterminated last pair is kept whole");
	iscsi_kvlist_free(&l);
}

static void final_pair_without_nul_is_held_to_the_value_limit(void **state)
{
	struct text t = {0};
	struct iscsi_kvlist l;
	char *v = repeat('v', 256);

	text_raw(&t, "K=", 2);
	text_raw(&t, v, 256); /* no NUL */
	EXPECT_RC(parse_text(&t, &l), TEXT_ERR_TOO_LONG,
		  "RFC 7143 §6.1: 255 bytes, with or without the NUL");
	iscsi_kvlist_free(&l);
	text_free(&t);
	free(v);
}

static void stray_nuls_between_pairs_are_skipped(void **state)
{
	struct iscsi_kvlist l;
	static const char s[] = "\0\0A=1\0\0\0B=2\0\0";

	EXPECT_RC(parse_str(s, sizeof(s) - 1, &l), TEXT_OK,
		  "NUL padding between pairs is not an empty pair");
	CHECK(l.n == 2 && strcmp(iscsi_kv_get(&l, "A"), "1") == 0 &&
		      strcmp(iscsi_kv_get(&l, "B"), "2") == 0,
	      "both pairs read around the padding");
	iscsi_kvlist_free(&l);
}

static void empty_text_is_accepted(void **state)
{
	struct iscsi_kvlist l;

	EXPECT_RC(parse_str("", 0, &l), TEXT_OK,
		  "a Login or Text PDU may carry no keys");
	CHECK(l.n == 0 && l.bytes == 0, "no pairs");
	iscsi_kvlist_free(&l);
}

static void encode_then_parse_round_trips(void **state)
{
	struct iscsi_kvlist a, b;
	uint8_t *buf;
	uint32_t len;
	char *chap = repeat('A', ISCSI_BINARY_VALUE_MAX);

	iscsi_kvlist_init(&a);
	assert_int_equal(iscsi_kv_add(&a, "HeaderDigest", "CRC32C,None"), 0);
	assert_int_equal(iscsi_kv_addf(&a, "MaxBurstLength", "%u", 262144u), 0);
	assert_int_equal(iscsi_kv_add(&a, "TargetAlias", ""), 0);
	assert_int_equal(iscsi_kv_add(&a, "CHAP_R", chap), 0);
	EXPECT_RC(iscsi_text_encode(&a, &buf, &len), TEXT_OK, "encode");
	CHECK(len == a.bytes,
	      "encoded length %u must equal the counted "
	      "bytes %u",
	      len, a.bytes);
	CHECK(len == 12 + 1 + 11 + 1 + 14 + 1 + 6 + 1 + 11 + 1 + 0 + 1 + 6 + 1 +
			      ISCSI_BINARY_VALUE_MAX + 1,
	      "key=value\\0 per pair, got %u bytes", len);
	CHECK(memcmp(buf, "HeaderDigest=CRC32C,None\0", 25) == 0,
	      "RFC 7143 §6.1: key=value followed by NUL");
	CHECK(buf[len - 1] == '\0', "the last pair ends in NUL");
	EXPECT_RC(iscsi_text_parse(buf, len, (iscsi_kvlist_init(&b), &b)),
		  TEXT_OK, "our own encoding parses");
	CHECK(b.n == a.n, "pair count %u vs %u", b.n, a.n);
	for (uint32_t i = 0; i < a.n; i++)
		CHECK(strcmp(a.v[i].key, b.v[i].key) == 0 &&
			      strcmp(a.v[i].value, b.v[i].value) == 0,
		      "pair %u differs after round trip", i);
	CHECK(b.bytes == a.bytes, "byte count survives the round trip");
	free(buf);
	free(chap);
	iscsi_kvlist_free(&a);
	iscsi_kvlist_free(&b);
}

static void encode_of_empty_list_is_empty(void **state)
{
	struct iscsi_kvlist l;
	uint8_t *buf = NULL;
	uint32_t len = 99;

	iscsi_kvlist_init(&l);
	EXPECT_RC(iscsi_text_encode(&l, &buf, &len), TEXT_OK, "encode");
	CHECK(len == 0 && buf != NULL, "no pairs: zero bytes, a buffer to "
				       "free");
	free(buf);
}

static void kv_get_finds_only_exact_keys(void **state)
{
	struct iscsi_kvlist l;

	iscsi_kvlist_init(&l);
	iscsi_kv_add(&l, "IFMarker", "No");
	CHECK(iscsi_kv_get(&l, "IFMark") == NULL, "no prefix match");
	CHECK(!iscsi_kv_has(&l, "ifmarker"),
	      "RFC 7143 §6.1: key names are case sensitive");
	CHECK(iscsi_kv_has(&l, "IFMarker"), "exact key found");
	iscsi_kvlist_free(&l);
}

/* --------------------------------------------- value syntax */

static void num(const char *v, uint64_t min, uint64_t max, int want_rc,
		uint64_t want, const char *rule)
{
	uint64_t out = 0xabcdef;
	int rc = iscsi_parse_num(v, min, max, &out);

	CHECK(rc == want_rc, "%s: \"%s\" in [%llu, %llu] should be %s", rule, v,
	      (unsigned long long)min, (unsigned long long)max,
	      want_rc ? "rejected" : "accepted");
	if (rc == 0)
		CHECK(out == want, "%s: \"%s\" is %llu, got %llu", rule, v,
		      (unsigned long long)want, (unsigned long long)out);
	else
		CHECK(out == 0xabcdef, "a rejected number must not be stored");
}

static void parse_num_reads_decimal_and_hex(void **state)
{
	const char *r = "RFC 7143 §6.1: numbers are decimal or 0x hex";

	num("0", 0, UINT64_MAX, 0, 0, r);
	num("8192", 0, UINT64_MAX, 0, 8192, r);
	num("0x1F", 0, UINT64_MAX, 0, 31, r);
	num("0X1f", 0, UINT64_MAX, 0, 31, r);
	num("0x0", 0, UINT64_MAX, 0, 0, r);
	num("0xFFFFFF", 0, UINT64_MAX, 0, 0xffffff, r);
}

static void parse_num_accepts_the_bounds_and_rejects_one_past(void **state)
{
	const char *r = "RFC 7143 §13: a value outside the key's range is "
			"rejected";

	num("512", 512, 16777215, 0, 512, r);
	num("511", 512, 16777215, -1, 0, r);
	num("16777215", 512, 16777215, 0, 16777215, r);
	num("16777216", 512, 16777215, -1, 0, r);
	num("0xffffff", 512, 16777215, 0, 16777215, r);
	num("0x1000000", 512, 16777215, -1, 0, r);
}

static void parse_num_takes_2_pow_64_minus_1_and_rejects_2_pow_64(void **state)
{
	const char *r = "RFC 7143 §6.1: numerical values are less than 2^64";

	num("18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX, r);
	num("18446744073709551616", 0, UINT64_MAX, -1, 0, r);
	num("99999999999999999999", 0, UINT64_MAX, -1, 0, r);
	num("0xffffffffffffffff", 0, UINT64_MAX, 0, UINT64_MAX, r);
	num("0x10000000000000000", 0, UINT64_MAX, -1, 0, r);
}

static void parse_num_rejects_empty_sign_space_and_garbage(void **state)
{
	static const char *bad[] = {"",	   "0x",    "abc", "12a",  "+5",
				    "-5",  " 5",    "5 ",  "0x1g", "1.5",
				    "1e3", "0b101", "Yes", "0x-1"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		num(bad[i], 0, UINT64_MAX, -1, 0,
		    "RFC 7143 §6.1: a number is only digits (0x-prefixed "
		    "for hex)");
}

static void parse_bool_accepts_only_yes_and_no(void **state)
{
	static const char *bad[] = {"yes", "no", "YES", "NO",	"Y",   "N",
				    "",	   "1",	 "0",	"Yes ", "True"};
	bool b = false;

	CHECK(iscsi_parse_bool("Yes", &b) == 0 && b,
	      "RFC 7143 §6.1: boolean-value is Yes or No");
	CHECK(iscsi_parse_bool("No", &b) == 0 && !b,
	      "RFC 7143 §6.1: boolean-value is Yes or No");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(iscsi_parse_bool(bad[i], &b) != 0,
		      "RFC 7143 §6.1: boolean-value is exactly Yes or No "
		      "(case sensitive); \"%s\" was accepted",
		      bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_of_63_bytes_is_accepted),
		cmocka_unit_test(key_of_64_bytes_is_rejected),
		cmocka_unit_test(value_of_255_bytes_is_accepted),
		cmocka_unit_test(value_of_256_bytes_is_rejected),
		cmocka_unit_test(chap_value_of_8192_bytes_is_accepted),
		cmocka_unit_test(chap_value_of_8193_bytes_is_rejected),
		cmocka_unit_test(
			key_named_just_chap_underscore_keeps_the_255_limit),
		cmocka_unit_test(text_of_128_pairs_is_accepted),
		cmocka_unit_test(text_of_129_pairs_is_rejected),
		cmocka_unit_test(kv_add_of_129th_pair_is_rejected),
		cmocka_unit_test(pair_without_equals_sign_is_a_format_error),
		cmocka_unit_test(empty_key_is_a_format_error),
		cmocka_unit_test(
			key_with_characters_outside_the_key_set_is_rejected),
		cmocka_unit_test(key_with_every_allowed_character_is_accepted),
		cmocka_unit_test(public_extension_key_is_accepted),
		cmocka_unit_test(value_keeps_everything_after_the_first_equals),
		cmocka_unit_test(duplicate_key_is_rejected),
		cmocka_unit_test(
			key_that_is_a_prefix_of_another_is_not_a_duplicate),
		cmocka_unit_test(final_pair_without_nul_is_accepted),
		cmocka_unit_test(
			final_pair_without_nul_is_held_to_the_value_limit),
		cmocka_unit_test(stray_nuls_between_pairs_are_skipped),
		cmocka_unit_test(empty_text_is_accepted),
		cmocka_unit_test(encode_then_parse_round_trips),
		cmocka_unit_test(encode_of_empty_list_is_empty),
		cmocka_unit_test(kv_get_finds_only_exact_keys),
		cmocka_unit_test(parse_num_reads_decimal_and_hex),
		cmocka_unit_test(
			parse_num_accepts_the_bounds_and_rejects_one_past),
		cmocka_unit_test(
			parse_num_takes_2_pow_64_minus_1_and_rejects_2_pow_64),
		cmocka_unit_test(
			parse_num_rejects_empty_sign_space_and_garbage),
		cmocka_unit_test(parse_bool_accepts_only_yes_and_no),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
