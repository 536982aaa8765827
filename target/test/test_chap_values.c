/*
 * test_chap_values.c — CHAP's pieces (RFC 7143 §12.1.3, RFC 1994): the
 * digests against their specifications' vectors and the value codecs at
 * both sides of every limit.  Whole logins are test_chap.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chap_fmt.h"
#include "iscsi/chap.h"
#include "iscsi/text.h"

static int unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return (int)n;
}

/* ------------------------------------------------------------- digests */

struct hash_vec {
	enum chap_alg alg;
	const char *msg;
	size_t repeat_a; /* msg is NULL: this many 'a' */
	const char *hex;
};

/*
 * Generated with Python's hashlib, e.g.
 *   python3 -c "import hashlib; print(hashlib.sha3_256(b'a'*136).hexdigest())"
 * "abc" and the 448-bit message are the FIPS 180-4 / FIPS 202 examples
 * and RFC 1321 §A.5's; the 'a' runs sit on both sides of each padding
 * boundary (55/56 bytes and 63/64 for the 64-byte blocks, 135/136/137
 * for SHA3-256's 136-byte rate).
 */
#define TWO_BLOCK "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
static const struct hash_vec hash_vecs[] = {
	{CHAP_ALG_MD5, "", 0, "d41d8cd98f00b204e9800998ecf8427e"},
	{CHAP_ALG_MD5, "abc", 0, "900150983cd24fb0d6963f7d28e17f72"},
	{CHAP_ALG_MD5, TWO_BLOCK, 0, "8215ef0796a20bcaaae116d3876c664a"},
	{CHAP_ALG_MD5, NULL, 55, "ef1772b6dff9a122358552954ad0df65"},
	{CHAP_ALG_MD5, NULL, 56, "3b0c8ac703f828b04c6c197006d17218"},
	{CHAP_ALG_MD5, NULL, 63, "b06521f39153d618550606be297466d5"},
	{CHAP_ALG_MD5, NULL, 64, "014842d480b571495a4a0363793f7367"},
	{CHAP_ALG_MD5, NULL, 137, "d11a18a4743a1a0a699d1704efb74a0d"},
	{CHAP_ALG_SHA1, "", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
	{CHAP_ALG_SHA1, "abc", 0, "a9993e364706816aba3e25717850c26c9cd0d89d"},
	{CHAP_ALG_SHA1, TWO_BLOCK, 0,
	 "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
	{CHAP_ALG_SHA1, NULL, 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
	{CHAP_ALG_SHA1, NULL, 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
	{CHAP_ALG_SHA1, NULL, 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
	{CHAP_ALG_SHA1, NULL, 137, "a59ae586b7704ca9cb92d8fc7ba95e4fc57f52d1"},
	{CHAP_ALG_SHA256, "", 0,
	 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{CHAP_ALG_SHA256, "abc", 0,
	 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{CHAP_ALG_SHA256, TWO_BLOCK, 0,
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	{CHAP_ALG_SHA256, NULL, 55,
	 "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
	{CHAP_ALG_SHA256, NULL, 56,
	 "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
	{CHAP_ALG_SHA256, NULL, 64,
	 "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
	{CHAP_ALG_SHA256, NULL, 137,
	 "b6dc2da678c065ebdce374ebe1842728277203ee1a9a29832f058cf013d5ad85"},
	{CHAP_ALG_SHA3_256, "", 0,
	 "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"},
	{CHAP_ALG_SHA3_256, "abc", 0,
	 "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"},
	{CHAP_ALG_SHA3_256, TWO_BLOCK, 0,
	 "41c0dba2a9d6240849100376a8235e2c82e1b9998a999e21db32dd97496d3376"},
	{CHAP_ALG_SHA3_256, NULL, 64,
	 "043d104b5480439c7acff8831ee195183928d9b7f8fcb0c655a086a87923ffee"},
	{CHAP_ALG_SHA3_256, NULL, 135,
	 "8094bb53c44cfb1e67b7c30447f9a1c33696d2463ecc1d9c92538913392843c9"},
	{CHAP_ALG_SHA3_256, NULL, 136,
	 "3fc5559f14db8e453a0a3091edbd2bc25e11528d81c66fa570a4efdcc2695ee1"},
	{CHAP_ALG_SHA3_256, NULL, 137,
	 "f8d6846cedd2ccfadf15c5879ef95af724d799eed7391fb1c91f95344e738614"},
};

static void digests_match_the_specification_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hash_vecs) / sizeof(hash_vecs[0]); i++) {
		const struct hash_vec *v = &hash_vecs[i];
		uint8_t msg[200], want[32], got[32], step[32];
		size_t len = v->msg ? strlen(v->msg) : v->repeat_a;
		size_t dlen = iscsi_chap_digest_len(v->alg);
		struct iscsi_hash h;

		if (v->msg)
			memcpy(msg, v->msg, len);
		else
			memset(msg, 'a', len);
		assert_int_equal((size_t)unhex(v->hex, want), dlen);
		assert_int_equal(iscsi_hash_init(&h, v->alg), 0);
		iscsi_hash_update(&h, msg, len);
		iscsi_hash_final(&h, got);
		if (memcmp(got, want, dlen) != 0)
			fail_msg(
				"algorithm %d, %zu-byte message: digest differs "
				"from the specification's %s",
				v->alg, len, v->hex);
		/* The same fed one byte at a time: block boundaries inside
		 * updates must not matter. */
		assert_int_equal(iscsi_hash_init(&h, v->alg), 0);
		for (size_t j = 0; j < len; j++)
			iscsi_hash_update(&h, msg + j, 1);
		iscsi_hash_final(&h, step);
		assert_memory_equal(step, want, dlen);
	}
}

static void unknown_algorithm_has_no_digest(void **state)
{
	struct iscsi_hash h;
	uint8_t out[32];

	(void)state;
	assert_int_equal(iscsi_chap_digest_len(CHAP_ALG_NONE), 0);
	assert_int_equal(iscsi_chap_digest_len((enum chap_alg)9), 0);
	assert_int_equal(iscsi_hash_init(&h, (enum chap_alg)4), -1);
	assert_int_equal(iscsi_chap_response((enum chap_alg)9, 1, "s", 1,
					     (const uint8_t *)"c", 1, out),
			 -1);
}

/*
 * CHAP responses, RFC 1994 §4.1: H(Identifier || secret || Challenge),
 * computed independently, e.g.
 *   python3 -c "import hashlib; print(hashlib.md5(bytes([42]) +
 *       b'utarget-secret1' + bytes(range(16))).hexdigest())"
 */
struct chap_vec {
	enum chap_alg alg;
	uint8_t id;
	const char *secret;
	uint8_t chal_first; /* challenge bytes chal_first .. +chal_len-1 */
	size_t chal_len;
	const char *hex;
};

static const struct chap_vec chap_vecs[] = {
	{CHAP_ALG_MD5, 42, "utarget-secret1", 0x00, 16,
	 "33094fc33cdf8b39fe52cc207f227775"},
	{CHAP_ALG_MD5, 255, "mutual-secret-22", 0x20, 32,
	 "bc5a23d3b3ff273fcfec9d35df8dde39"},
	{CHAP_ALG_SHA1, 42, "utarget-secret1", 0x00, 16,
	 "e6449a36a0760ba1fa21dff05e07be0467eec38e"},
	{CHAP_ALG_SHA1, 255, "mutual-secret-22", 0x20, 32,
	 "b940ffe3c15a12d65103d9a32358122f22193c95"},
	{CHAP_ALG_SHA256, 42, "utarget-secret1", 0x00, 16,
	 "f793a065c2d387b007d32106f0bb771613712e7d6c6fe39a37ff6fc0eb091029"},
	{CHAP_ALG_SHA256, 255, "mutual-secret-22", 0x20, 32,
	 "35f4a812d9b2d5cca4e6b8173a3ec5b071b74718d8f7155f6b709fa0f6512b9b"},
	{CHAP_ALG_SHA3_256, 42, "utarget-secret1", 0x00, 16,
	 "34c63c6edf9ce6808cdd190ab5c503eca8f792da53447883ab2eb19498d8855d"},
	{CHAP_ALG_SHA3_256, 255, "mutual-secret-22", 0x20, 32,
	 "4a674c2716c6622d801f87f02c6dee6199359c8c8178cc296e99f72cca33af77"},
};

static void chap_response_is_hash_of_id_secret_challenge(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(chap_vecs) / sizeof(chap_vecs[0]); i++) {
		const struct chap_vec *v = &chap_vecs[i];
		uint8_t chal[64], want[32], got[32];
		size_t dlen = iscsi_chap_digest_len(v->alg);

		for (size_t j = 0; j < v->chal_len; j++)
			chal[j] = (uint8_t)(v->chal_first + j);
		assert_int_equal((size_t)unhex(v->hex, want), dlen);
		assert_int_equal(iscsi_chap_response(v->alg, v->id, v->secret,
						     strlen(v->secret), chal,
						     v->chal_len, got),
				 0);
		if (memcmp(got, want, dlen) != 0)
			fail_msg("RFC 1994 §4.1: algorithm %d response differs "
				 "from hashlib's %s",
				 v->alg, v->hex);
	}
}

/* ------------------------------------------------------ value syntax */

static void chap_a_picks_our_strongest_that_the_initiator_offers(void **state)
{
	(void)state;
	assert_int_equal(iscsi_chap_select_alg("5"), CHAP_ALG_MD5);
	assert_int_equal(iscsi_chap_select_alg("6"), CHAP_ALG_SHA1);
	assert_int_equal(iscsi_chap_select_alg("7"), CHAP_ALG_SHA256);
	assert_int_equal(iscsi_chap_select_alg("8"), CHAP_ALG_SHA3_256);
	/* The target's order of preference, not the initiator's. */
	assert_int_equal(iscsi_chap_select_alg("5,6,7,8"), CHAP_ALG_SHA3_256);
	assert_int_equal(iscsi_chap_select_alg("5,7"), CHAP_ALG_SHA256);
	assert_int_equal(iscsi_chap_select_alg("6,5"), CHAP_ALG_SHA1);
	assert_int_equal(iscsi_chap_select_alg("128,5"), CHAP_ALG_MD5);
	assert_int_equal(iscsi_chap_select_alg("0x7"), CHAP_ALG_SHA256);
	/* Nothing we support, or not a list of numbers. */
	assert_int_equal(iscsi_chap_select_alg("128"), CHAP_ALG_NONE);
	assert_int_equal(iscsi_chap_select_alg(""), CHAP_ALG_NONE);
	assert_int_equal(iscsi_chap_select_alg("5,,7"), CHAP_ALG_NONE);
	assert_int_equal(iscsi_chap_select_alg("5,"), CHAP_ALG_NONE);
	assert_int_equal(iscsi_chap_select_alg("MD5"), CHAP_ALG_NONE);
	assert_int_equal(iscsi_chap_select_alg("-5"), CHAP_ALG_NONE);
	assert_int_equal(iscsi_chap_select_alg("5,99999999999999999999999"),
			 CHAP_ALG_NONE);
}

static void hex_values_decode_strictly(void **state)
{
	uint8_t out[8];

	(void)state;
	assert_int_equal(iscsi_chap_decode("0x00ff", out, sizeof(out)), 2);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(iscsi_chap_decode("0XaB", out, sizeof(out)), 1);
	assert_int_equal(out[0], 0xab);
	assert_int_equal(iscsi_chap_decode("0x", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0x123", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0x0g", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0x 1", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("00ff", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0y00", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0", out, sizeof(out)), -1);
}

static void base64_values_decode_strictly(void **state)
{
	uint8_t out[8];

	(void)state;
	assert_int_equal(iscsi_chap_decode("0bAAEC", out, sizeof(out)), 3);
	assert_int_equal(out[2], 0x02);
	assert_int_equal(iscsi_chap_decode("0BAQ==", out, sizeof(out)), 1);
	assert_int_equal(out[0], 0x01);
	assert_int_equal(iscsi_chap_decode("0bAQI=", out, sizeof(out)), 2);
	assert_int_equal(out[1], 0x02);
	assert_int_equal(iscsi_chap_decode("0b+/+/", out, sizeof(out)), 3);
	assert_int_equal(out[0], 0xfb);
	/* wrong length, bad characters, padding in the wrong place,
	 * non-canonical trailing bits, nothing at all */
	assert_int_equal(iscsi_chap_decode("0bAQ=", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0bAQI", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0bA*==", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0bA===", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0b====", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0bA=A=", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0bAQ==AAAA", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0bAR==", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0bAQJ=", out, sizeof(out)), -1);
	assert_int_equal(iscsi_chap_decode("0b", out, sizeof(out)), -1);
}

static void decoded_length_is_capped_on_both_sides_of_the_limit(void **state)
{
	uint8_t bytes[CHAP_CHALLENGE_MAX_BYTES + 1],
		out[CHAP_CHALLENGE_MAX_BYTES];
	char enc[2 * sizeof(bytes) + 8];

	(void)state;
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 31 + 7);
	tohex(bytes, CHAP_CHALLENGE_MAX_BYTES, enc);
	assert_int_equal(iscsi_chap_decode(enc, out, sizeof(out)),
			 CHAP_CHALLENGE_MAX_BYTES);
	assert_memory_equal(out, bytes, CHAP_CHALLENGE_MAX_BYTES);
	tohex(bytes, CHAP_CHALLENGE_MAX_BYTES + 1, enc);
	assert_int_equal(iscsi_chap_decode(enc, out, sizeof(out)), -1);
	tob64(bytes, CHAP_CHALLENGE_MAX_BYTES, enc);
	assert_int_equal(iscsi_chap_decode(enc, out, sizeof(out)),
			 CHAP_CHALLENGE_MAX_BYTES);
	assert_memory_equal(out, bytes, CHAP_CHALLENGE_MAX_BYTES);
	tob64(bytes, CHAP_CHALLENGE_MAX_BYTES + 1, enc);
	assert_int_equal(iscsi_chap_decode(enc, out, sizeof(out)), -1);
	/* every padding length round-trips */
	for (size_t n = 1; n <= 6; n++) {
		tob64(bytes, n, enc);
		assert_int_equal(iscsi_chap_decode(enc, out, sizeof(out)),
				 (int)n);
		assert_memory_equal(out, bytes, n);
	}
}

static void chap_i_is_a_number_from_0_to_255(void **state)
{
	uint8_t id;

	(void)state;
	assert_int_equal(iscsi_chap_parse_id("0", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(iscsi_chap_parse_id("255", &id), 0);
	assert_int_equal(id, 255);
	assert_int_equal(iscsi_chap_parse_id("0x2a", &id), 0);
	assert_int_equal(id, 42);
	assert_int_equal(iscsi_chap_parse_id("256", &id), -1);
	assert_int_equal(iscsi_chap_parse_id("-1", &id), -1);
	assert_int_equal(iscsi_chap_parse_id("", &id), -1);
	assert_int_equal(iscsi_chap_parse_id("12a", &id), -1);
	assert_int_equal(iscsi_chap_parse_id(" 1", &id), -1);
}

static void equal_compares_every_byte(void **state)
{
	const uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5};

	(void)state;
	assert_true(iscsi_chap_equal(a, a, 4));
	assert_false(iscsi_chap_equal(a, b, 4));
	assert_true(iscsi_chap_equal(a, b, 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(digests_match_the_specification_vectors),
		cmocka_unit_test(unknown_algorithm_has_no_digest),
		cmocka_unit_test(chap_response_is_hash_of_id_secret_challenge),
		cmocka_unit_test(
			chap_a_picks_our_strongest_that_the_initiator_offers),
		cmocka_unit_test(hex_values_decode_strictly),
		cmocka_unit_test(base64_values_decode_strictly),
		cmocka_unit_test(
			decoded_length_is_capped_on_both_sides_of_the_limit),
		cmocka_unit_test(chap_i_is_a_number_from_0_to_255),
		cmocka_unit_test(equal_compares_every_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
