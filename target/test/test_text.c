/*
 * test_text.c — iSCSI text data (RFC 7143 §6.1) and the operational
 * parameter negotiation (RFC 7143 §6.2, §13) of target/iscsi/text.c.
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
				    "Key*"};

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

/* ------------------------------------------------ negotiation */

struct nfx {
	struct ut_iscsi_params cfg;
	struct iscsi_params p;
	struct iscsi_neg n;
	struct iscsi_kvlist resp;
	const char *why;
};

/* RFC 7143 §13 defaults for every key before negotiation. */
static void rfc_defaults(struct iscsi_params *p)
{
	memset(p, 0, sizeof(*p));
	p->max_recv_dsl = 8192;
	p->max_xmit_dsl = 8192;
	p->max_burst = 262144;
	p->first_burst = 65536;
	p->max_outstanding_r2t = 1;
	p->default_time2wait = 2;
	p->default_time2retain = 20;
	p->initial_r2t = true;
	p->immediate_data = true;
	p->data_pdu_in_order = true;
	p->data_seq_in_order = true;
}

/* A normal session's login in the operational stage. */
static int nfx_setup(void **state)
{
	struct nfx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	ut_iscsi_params_default(&f->cfg);
	rfc_defaults(&f->p);
	f->n.cfg = &f->cfg;
	f->n.p = &f->p;
	f->n.login = true;
	f->n.stage = ISCSI_STAGE_OPERATIONAL;
	f->n.auth_method = "None";
	iscsi_kvlist_init(&f->resp);
	*state = f;
	return 0;
}

static int nfx_teardown(void **state)
{
	struct nfx *f = *state;

	iscsi_kvlist_free(&f->resp);
	free(f);
	return 0;
}

/* Negotiate one key; return our answer (NULL if none), fresh each time. */
static const char *answer(struct nfx *f, const char *key, const char *value)
{
	int rc;

	iscsi_kvlist_free(&f->resp);
	f->why = NULL;
	rc = iscsi_negotiate_key(&f->n, key, value, &f->resp, &f->why);
	CHECK(rc == 0, "%s=%s: negotiation must answer, not fail (%s)", key,
	      value, f->why ? f->why : "?");
	CHECK(f->resp.n <= 1, "%s=%s: at most one answer, got %u", key, value,
	      f->resp.n);
	return iscsi_kv_get(&f->resp, key);
}

#define EXPECT_ANSWER(f, key, value, want, rule)                          \
	do {                                                              \
		const char *got_ = answer(f, key, value);                 \
		const char *want_ = (want);                               \
		if (!got_ || strcmp(got_, want_) != 0)                    \
			fail_msg("%s: %s=%s must be answered %s, got %s", \
				 rule, key, value, want_,                 \
				 got_ ? got_ : "(nothing)");              \
	} while (0)

static void
header_digest_answer_is_first_offered_value_target_allows(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §6.2: the responder answers the first "
			"value of the offer it supports";

	/* cfg prefers None but allows CRC32C */
	EXPECT_ANSWER(f, "HeaderDigest", "CRC32C,None", "CRC32C", r);
	CHECK(f->p.header_digest, "CRC32C agreed: header digests on");
	EXPECT_ANSWER(f, "HeaderDigest", "None,CRC32C", "None", r);
	CHECK(!f->p.header_digest, "None agreed: header digests off");
	EXPECT_ANSWER(f, "HeaderDigest", "MD5,CRC32C", "CRC32C", r);
	EXPECT_ANSWER(f, "HeaderDigest", "CRC32C", "CRC32C", r);
}

static void digest_with_no_acceptable_value_is_rejected(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §6.2.1: no acceptable value: Reject";

	f->cfg.header_digest[0] = UT_DIGEST_CRC32C;
	f->cfg.header_digest_count = 1;
	f->cfg.data_digest[0] = UT_DIGEST_NONE;
	f->cfg.data_digest_count = 1;
	EXPECT_ANSWER(f, "HeaderDigest", "None", "Reject", r);
	CHECK(!f->p.header_digest, "a Reject must not change the result");
	EXPECT_ANSWER(f, "DataDigest", "CRC32C", "Reject", r);
	EXPECT_ANSWER(f, "DataDigest", "MD5,SHA1", "Reject", r);
	EXPECT_ANSWER(f, "DataDigest", "", "Reject", r);
	/* each key uses its own preference list */
	EXPECT_ANSWER(f, "HeaderDigest", "None,CRC32C", "CRC32C", r);
	EXPECT_ANSWER(f, "DataDigest", "CRC32C,None", "None", r);
	CHECK(f->p.header_digest && !f->p.data_digest,
	      "HeaderDigest and DataDigest are independent");
}

static void initial_r2t_is_boolean_or(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.10: InitialR2T is OR";

	/* cfg.initial_r2t defaults to No */
	EXPECT_ANSWER(f, "InitialR2T", "No", "No", r);
	CHECK(!f->p.initial_r2t, "No OR No = No");
	EXPECT_ANSWER(f, "InitialR2T", "Yes", "Yes", r);
	CHECK(f->p.initial_r2t, "Yes OR No = Yes");
	f->cfg.initial_r2t = true;
	EXPECT_ANSWER(f, "InitialR2T", "No", "Yes", r);
	CHECK(f->p.initial_r2t, "No OR Yes = Yes");
}

static void immediate_data_is_boolean_and(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.11: ImmediateData is AND";

	/* cfg.immediate_data defaults to Yes */
	EXPECT_ANSWER(f, "ImmediateData", "Yes", "Yes", r);
	CHECK(f->p.immediate_data, "Yes AND Yes = Yes");
	EXPECT_ANSWER(f, "ImmediateData", "No", "No", r);
	CHECK(!f->p.immediate_data, "No AND Yes = No");
	f->cfg.immediate_data = false;
	EXPECT_ANSWER(f, "ImmediateData", "Yes", "No", r);
	CHECK(!f->p.immediate_data, "Yes AND No = No");
}

static void data_order_keys_are_or_with_our_yes(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.18-19: DataPDUInOrder and "
			"DataSequenceInOrder are OR; we only do Yes";

	EXPECT_ANSWER(f, "DataPDUInOrder", "No", "Yes", r);
	EXPECT_ANSWER(f, "DataSequenceInOrder", "No", "Yes", r);
	CHECK(f->p.data_pdu_in_order && f->p.data_seq_in_order, "%s", r);
}

static void boolean_key_with_bad_value_is_rejected(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §6.2.1: a value of the wrong syntax is "
			"answered Reject";

	EXPECT_ANSWER(f, "ImmediateData", "yes", "Reject", r);
	EXPECT_ANSWER(f, "InitialR2T", "1", "Reject", r);
	CHECK(f->p.initial_r2t && f->p.immediate_data,
	      "a rejected value must not change the result");
}

static void max_burst_length_is_min_within_512_to_2_pow_24_minus_1(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.13: MaxBurstLength is the minimum, "
			"512 to 2^24-1";

	EXPECT_ANSWER(f, "MaxBurstLength", "16777215", "1048576", r);
	CHECK(f->p.max_burst == 1048576, "max_burst = %u", f->p.max_burst);
	EXPECT_ANSWER(f, "MaxBurstLength", "65536", "65536", r);
	CHECK(f->p.max_burst == 65536, "max_burst = %u", f->p.max_burst);
	EXPECT_ANSWER(f, "MaxBurstLength", "512", "512", r);
	EXPECT_ANSWER(f, "MaxBurstLength", "511", "Reject", r);
	EXPECT_ANSWER(f, "MaxBurstLength", "16777216", "Reject", r);
	CHECK(f->p.max_burst == 512, "a Reject must not change the result");
}

static void
first_burst_length_is_min_within_512_to_2_pow_24_minus_1(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.14: FirstBurstLength is the minimum, "
			"512 to 2^24-1";

	EXPECT_ANSWER(f, "FirstBurstLength", "16777215", "262144", r);
	CHECK(f->p.first_burst == 262144, "first_burst = %u", f->p.first_burst);
	EXPECT_ANSWER(f, "FirstBurstLength", "512", "512", r);
	CHECK(f->p.first_burst == 512, "first_burst = %u", f->p.first_burst);
	EXPECT_ANSWER(f, "FirstBurstLength", "511", "Reject", r);
	EXPECT_ANSWER(f, "FirstBurstLength", "16777216", "Reject", r);
}

static void max_outstanding_r2t_is_min_within_1_to_65535(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.17: MaxOutstandingR2T is the minimum, "
			"1 to 65535";

	EXPECT_ANSWER(f, "MaxOutstandingR2T", "65535", "32", r);
	CHECK(f->p.max_outstanding_r2t == 32, "max_outstanding_r2t = %u",
	      f->p.max_outstanding_r2t);
	EXPECT_ANSWER(f, "MaxOutstandingR2T", "1", "1", r);
	CHECK(f->p.max_outstanding_r2t == 1, "max_outstanding_r2t = %u",
	      f->p.max_outstanding_r2t);
	EXPECT_ANSWER(f, "MaxOutstandingR2T", "0", "Reject", r);
	EXPECT_ANSWER(f, "MaxOutstandingR2T", "65536", "Reject", r);
}

static void max_connections_is_min_with_our_one(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.2: MaxConnections is the minimum, 1 "
			"to 65535; we take one connection per session";

	EXPECT_ANSWER(f, "MaxConnections", "65535", "1", r);
	EXPECT_ANSWER(f, "MaxConnections", "1", "1", r);
	EXPECT_ANSWER(f, "MaxConnections", "0", "Reject", r);
	EXPECT_ANSWER(f, "MaxConnections", "65536", "Reject", r);
}

static void default_time2wait_is_max_within_0_to_3600(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.15: DefaultTime2Wait is the maximum, "
			"0 to 3600";

	EXPECT_ANSWER(f, "DefaultTime2Wait", "0", "2", r);
	CHECK(f->p.default_time2wait == 2, "time2wait = %u",
	      f->p.default_time2wait);
	EXPECT_ANSWER(f, "DefaultTime2Wait", "3600", "3600", r);
	CHECK(f->p.default_time2wait == 3600, "time2wait = %u",
	      f->p.default_time2wait);
	EXPECT_ANSWER(f, "DefaultTime2Wait", "3601", "Reject", r);
}

static void default_time2retain_is_min_within_0_to_3600(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.16: DefaultTime2Retain is the "
			"minimum, 0 to 3600";

	EXPECT_ANSWER(f, "DefaultTime2Retain", "3600", "20", r);
	CHECK(f->p.default_time2retain == 20, "time2retain = %u",
	      f->p.default_time2retain);
	EXPECT_ANSWER(f, "DefaultTime2Retain", "0", "0", r);
	CHECK(f->p.default_time2retain == 0, "time2retain = %u",
	      f->p.default_time2retain);
	EXPECT_ANSWER(f, "DefaultTime2Retain", "3601", "Reject", r);
}

static void error_recovery_level_is_answered_0(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.20: ErrorRecoveryLevel is the "
			"minimum, 0 to 2; we implement level 0";

	f->p.error_recovery_level = 9;
	EXPECT_ANSWER(f, "ErrorRecoveryLevel", "2", "0", r);
	CHECK(f->p.error_recovery_level == 0, "erl = %u",
	      f->p.error_recovery_level);
	EXPECT_ANSWER(f, "ErrorRecoveryLevel", "0", "0", r);
	EXPECT_ANSWER(f, "ErrorRecoveryLevel", "3", "Reject", r);
}

static void mrdsl_of_511_is_rejected(void **state)
{
	struct nfx *f = *state;

	EXPECT_ANSWER(f, "MaxRecvDataSegmentLength", "511", "Reject",
		      "RFC 7143 §13.12: MaxRecvDataSegmentLength is 512 to "
		      "2^24-1");
	CHECK(f->p.max_xmit_dsl == 8192 && !f->n.sent_mrdsl,
	      "a rejected declaration changes nothing");
}

static void mrdsl_of_512_is_accepted_and_bounds_what_we_send(void **state)
{
	struct nfx *f = *state;

	EXPECT_ANSWER(f, "MaxRecvDataSegmentLength", "512", "262144",
		      "RFC 7143 §13.12: MaxRecvDataSegmentLength is "
		      "declarative: our answer declares our own value");
	CHECK(f->p.max_xmit_dsl == 512,
	      "RFC 7143 §13.12: the initiator's declaration bounds the "
	      "PDUs we send it: max_xmit_dsl = %u",
	      f->p.max_xmit_dsl);
	CHECK(f->p.max_recv_dsl == 262144 && f->n.sent_mrdsl,
	      "our declared value is in force and noted as sent");
}

static void mrdsl_of_2_pow_24_minus_1_is_capped_by_our_xmit_limit(void **state)
{
	struct nfx *f = *state;

	EXPECT_ANSWER(f, "MaxRecvDataSegmentLength", "16777215", "262144",
		      "RFC 7143 §13.12: 2^24-1 is the largest declaration");
	CHECK(f->p.max_xmit_dsl == 262144,
	      "we send no more than the configured "
	      "MaxXmitDataSegmentLength: max_xmit_dsl = %u",
	      f->p.max_xmit_dsl);
	f->cfg.max_xmit_data_segment_length = 4096;
	answer(f, "MaxRecvDataSegmentLength", "8192");
	CHECK(f->p.max_xmit_dsl == 4096, "capped at cfg 4096, got %u",
	      f->p.max_xmit_dsl);
}

static void mrdsl_of_2_pow_24_is_rejected(void **state)
{
	struct nfx *f = *state;

	EXPECT_ANSWER(f, "MaxRecvDataSegmentLength", "16777216", "Reject",
		      "RFC 7143 §13.12: MaxRecvDataSegmentLength is 512 to "
		      "2^24-1");
	CHECK(f->p.max_xmit_dsl == 8192, "a rejected declaration changes "
					 "nothing");
}

static void mrdsl_is_declared_once_but_each_declaration_applies(void **state)
{
	struct nfx *f = *state;

	EXPECT_ANSWER(f, "MaxRecvDataSegmentLength", "65536", "262144",
		      "the first answer declares our value");
	CHECK(answer(f, "MaxRecvDataSegmentLength", "1024") == NULL,
	      "RFC 7143 §6.2: a declarative key needs no answer once ours "
	      "has been declared");
	CHECK(f->p.max_xmit_dsl == 1024,
	      "the latest declaration applies: max_xmit_dsl = %u",
	      f->p.max_xmit_dsl);
}

static void mrdsl_may_be_declared_in_full_feature_phase(void **state)
{
	struct nfx *f = *state;

	f->n.login = false;
	f->n.sent_mrdsl = true;
	answer(f, "MaxRecvDataSegmentLength", "4096");
	CHECK(f->p.max_xmit_dsl == 4096,
	      "RFC 7143 §13.12: MaxRecvDataSegmentLength is ALL: allowed in "
	      "a Text request in full feature phase");
}

static void unknown_key_is_answered_not_understood(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §6.2: an unknown key is answered "
			"NotUnderstood";

	EXPECT_ANSWER(f, "X-com.example.Frobnicate", "Yes", "NotUnderstood", r);
	EXPECT_ANSWER(f, "headerdigest", "None", "NotUnderstood", r);
	EXPECT_ANSWER(f, "RDMAExtensions", "Yes", "NotUnderstood", r);
}

static void answers_to_our_offers_need_no_reply(void **state)
{
	struct nfx *f = *state;
	static const char *v[] = {"NotUnderstood", "Irrelevant", "Reject"};

	for (size_t i = 0; i < 3; i++)
		CHECK(answer(f, "MaxBurstLength", v[i]) == NULL,
		      "RFC 7143 §6.2: %s answers an offer; replying would "
		      "loop",
		      v[i]);
	CHECK(f->p.max_burst == 262144, "the default stays in force");
}

static void discovery_session_answers_session_keys_irrelevant(void **state)
{
	struct nfx *f = *state;
	static const char *keys[][2] = {
		{"MaxConnections", "1"},      {"InitialR2T", "Yes"},
		{"ImmediateData", "Yes"},     {"MaxBurstLength", "512"},
		{"FirstBurstLength", "512"},  {"MaxOutstandingR2T", "1"},
		{"DataPDUInOrder", "Yes"},    {"DataSequenceInOrder", "Yes"},
		{"TaskReporting", "RFC3720"},
	};

	f->n.discovery = true;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		EXPECT_ANSWER(f, keys[i][0], keys[i][1], "Irrelevant",
			      "RFC 7143 §13: session keys are Irrelevant "
			      "when SessionType=Discovery");
	CHECK(f->p.max_burst == 262144, "nothing negotiated");
}

static void discovery_session_negotiates_connection_keys(void **state)
{
	struct nfx *f = *state;

	f->n.discovery = true;
	EXPECT_ANSWER(f, "HeaderDigest", "CRC32C,None", "CRC32C",
		      "RFC 7143 §13.1: digests apply to discovery sessions");
	EXPECT_ANSWER(f, "MaxRecvDataSegmentLength", "8192", "262144",
		      "RFC 7143 §13.12: applies to discovery sessions");
	EXPECT_ANSWER(f, "DefaultTime2Wait", "0", "2",
		      "RFC 7143 §13.15: not a session-only key");
}

static void full_feature_phase_rejects_login_only_keys(void **state)
{
	struct nfx *f = *state;
	static const char *keys[][2] = {
		{"HeaderDigest", "None"},    {"DataDigest", "None"},
		{"MaxBurstLength", "512"},   {"InitialR2T", "Yes"},
		{"ErrorRecoveryLevel", "0"}, {"DefaultTime2Wait", "2"},
		{"OFMarker", "No"},	     {"AuthMethod", "None"},
		{"iSCSIProtocolLevel", "1"},
	};

	f->n.login = false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		EXPECT_ANSWER(f, keys[i][0], keys[i][1], "Reject",
			      "RFC 7143 §13: LO and IO keys cannot be "
			      "renegotiated in full feature phase");
	CHECK(f->p.max_burst == 262144 && f->p.initial_r2t,
	      "rejected keys change nothing");
}

static void auth_method_outside_security_stage_fails_the_login(void **state)
{
	struct nfx *f = *state;
	int rc;

	rc = iscsi_negotiate_key(&f->n, "AuthMethod", "None", &f->resp,
				 &f->why);
	CHECK(rc == -1 && f->why != NULL,
	      "RFC 7143 §6.3: AuthMethod belongs to the security stage; "
	      "offered in the operational stage it is a protocol error");
	CHECK(f->resp.n == 0, "no answer on error");
}

static void auth_method_in_security_stage_picks_ours_from_the_list(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §12.1: AuthMethod is a list; we answer "
			"our method if offered";

	f->n.stage = ISCSI_STAGE_SECURITY;
	EXPECT_ANSWER(f, "AuthMethod", "CHAP,None", "None", r);
	EXPECT_ANSWER(f, "AuthMethod", "None", "None", r);
	EXPECT_ANSWER(f, "AuthMethod", "CHAP", "Reject", r);
	EXPECT_ANSWER(f, "AuthMethod", "Non", "Reject", r);
	f->n.auth_method = "CHAP";
	EXPECT_ANSWER(f, "AuthMethod", "KRB5,CHAP,None", "CHAP", r);
}

static void initiator_sending_target_declared_keys_fails(void **state)
{
	struct nfx *f = *state;
	static const char *keys[] = {"TargetAddress", "TargetAlias",
				     "TargetPortalGroupTag"};

	for (int login = 0; login < 2; login++)
		for (size_t i = 0; i < 3; i++) {
			int rc;

			f->n.login = login;
			f->why = NULL;
			rc = iscsi_negotiate_key(&f->n, keys[i], "x", &f->resp,
						 &f->why);
			CHECK(rc == -1 && f->why,
			      "RFC 7143 §13.8-9: %s is declared by the "
			      "target only; sent by an initiator it is a "
			      "protocol error (login=%d)",
			      keys[i], login);
		}
}

static void markers_are_always_answered_no(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.25 (RFC 3720 markers): OFMarker and "
			"IFMarker are AND; we do not do markers";

	EXPECT_ANSWER(f, "OFMarker", "Yes", "No", r);
	EXPECT_ANSWER(f, "OFMarker", "No", "No", r);
	EXPECT_ANSWER(f, "IFMarker", "Yes", "No", r);
	EXPECT_ANSWER(f, "OFMarker", "Maybe", "Reject", r);
	EXPECT_ANSWER(f, "OFMarkInt", "2048", "Irrelevant",
		      "with markers off the interval is Irrelevant");
	EXPECT_ANSWER(f, "IFMarkInt", "1-65535", "Irrelevant",
		      "with markers off the interval is Irrelevant");
}

static void task_reporting_is_answered_rfc3720(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.23: TaskReporting is a list; we "
			"support RFC3720 only";

	EXPECT_ANSWER(f, "TaskReporting", "RFC3720", "RFC3720", r);
	EXPECT_ANSWER(f, "TaskReporting", "FastAbort,ResponseFence,RFC3720",
		      "RFC3720", r);
	EXPECT_ANSWER(f, "TaskReporting", "FastAbort", "Reject", r);
	EXPECT_ANSWER(f, "TaskReporting", "RFC3720x", "Reject", r);
}

static void protocol_level_is_min_with_our_1_within_0_to_31(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7144 §2.1: iSCSIProtocolLevel 0..31; we "
			"implement RFC 7143 (level 1)";

	EXPECT_ANSWER(f, "iSCSIProtocolLevel", "2", "1", r);
	EXPECT_ANSWER(f, "iSCSIProtocolLevel", "31", "1", r);
	EXPECT_ANSWER(f, "iSCSIProtocolLevel", "0", "0", r);
	EXPECT_ANSWER(f, "iSCSIProtocolLevel", "32", "Reject", r);
}

static void first_burst_answer_is_lowered_to_max_burst(void **state)
{
	struct nfx *f = *state;
	struct iscsi_kvlist both;
	const char *why = NULL;
	uint8_t *enc;
	uint32_t len;

	/* FirstBurstLength answered before MaxBurstLength, in one request */
	iscsi_kvlist_init(&both);
	assert_int_equal(iscsi_negotiate_key(&f->n, "FirstBurstLength",
					     "262144", &both, &why),
			 0);
	assert_int_equal(iscsi_negotiate_key(&f->n, "MaxBurstLength", "8192",
					     &both, &why),
			 0);
	iscsi_negotiate_finish(&f->n, &both);
	CHECK(strcmp(iscsi_kv_get(&both, "FirstBurstLength"), "8192") == 0,
	      "RFC 7143 §13.14: FirstBurstLength must not exceed "
	      "MaxBurstLength; answered %s",
	      iscsi_kv_get(&both, "FirstBurstLength"));
	assert_int_equal(f->p.first_burst, 8192);
	/* the encoded size still matches the pairs */
	assert_int_equal(iscsi_text_encode(&both, &enc, &len), 0);
	assert_int_equal(len, both.bytes);
	assert_int_equal(len, strlen("FirstBurstLength=8192") + 1 +
				      strlen("MaxBurstLength=8192") + 1);
	free(enc);
	iscsi_kvlist_free(&both);
}

#define NT(fn) cmocka_unit_test_setup_teardown(fn, nfx_setup, nfx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		NT(first_burst_answer_is_lowered_to_max_burst),
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
		NT(header_digest_answer_is_first_offered_value_target_allows),
		NT(digest_with_no_acceptable_value_is_rejected),
		NT(initial_r2t_is_boolean_or),
		NT(immediate_data_is_boolean_and),
		NT(data_order_keys_are_or_with_our_yes),
		NT(boolean_key_with_bad_value_is_rejected),
		NT(max_burst_length_is_min_within_512_to_2_pow_24_minus_1),
		NT(first_burst_length_is_min_within_512_to_2_pow_24_minus_1),
		NT(max_outstanding_r2t_is_min_within_1_to_65535),
		NT(max_connections_is_min_with_our_one),
		NT(default_time2wait_is_max_within_0_to_3600),
		NT(default_time2retain_is_min_within_0_to_3600),
		NT(error_recovery_level_is_answered_0),
		NT(mrdsl_of_511_is_rejected),
		NT(mrdsl_of_512_is_accepted_and_bounds_what_we_send),
		NT(mrdsl_of_2_pow_24_minus_1_is_capped_by_our_xmit_limit),
		NT(mrdsl_of_2_pow_24_is_rejected),
		NT(mrdsl_is_declared_once_but_each_declaration_applies),
		NT(mrdsl_may_be_declared_in_full_feature_phase),
		NT(unknown_key_is_answered_not_understood),
		NT(answers_to_our_offers_need_no_reply),
		NT(discovery_session_answers_session_keys_irrelevant),
		NT(discovery_session_negotiates_connection_keys),
		NT(full_feature_phase_rejects_login_only_keys),
		NT(auth_method_outside_security_stage_fails_the_login),
		NT(auth_method_in_security_stage_picks_ours_from_the_list),
		NT(initiator_sending_target_declared_keys_fails),
		NT(markers_are_always_answered_no),
		NT(task_reporting_is_answered_rfc3720),
		NT(protocol_level_is_min_with_our_1_within_0_to_31),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
