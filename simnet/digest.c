/*
 * digest.c — the simulator's CRC32C (digest.h), through ISA-L.
 *
 * The boundary: the target's crc32c() is what is tested; nothing of the
 * simulator's judgement of digests may go through it.  ISA-L's crc32_iscsi
 * takes and returns the running CRC (no inversions), in int lengths.  The
 * CHAP hashes likewise go through Nettle, never target/iscsi/chap_hash.c,
 * and the CHAP values' text through Nettle's base16 and base64, never
 * target/iscsi/chap.c's codec (mutant 602).
 */
#include <string.h>
#include <assert.h>
#include <isa-l/crc.h>
#include <limits.h>
#include <nettle/base16.h>
#include <nettle/base64.h>
#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <nettle/sha3.h>

#include "digest.h"

uint32_t sim_digest(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t crc = ~0u;

	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		crc = crc32_iscsi((unsigned char *)p, n, crc);
		p += n;
		len -= (size_t)n;
	}
	return ~crc;
}

/* RFC 7143 §12.1.3 CHAP_A: 5 MD5, 6 SHA-1, 7 SHA-256, 8 SHA3-256 (RFC
 * 9266), as Nettle's generic hashes; NULL for any other. */
static const struct nettle_hash *chap_hash(unsigned int alg)
{
	switch (alg) {
	case 5:
		return &nettle_md5;
	case 6:
		return &nettle_sha1;
	case 7:
		return &nettle_sha256;
	case 8:
		return &nettle_sha3_256;
	default:
		return NULL;
	}
}

int sim_chap_response(unsigned int alg, uint8_t id, const void *secret,
		      size_t secret_len, const uint8_t *chal, size_t chal_len,
		      uint8_t *out)
{
	const struct nettle_hash *h = chap_hash(alg);
	union {
		struct md5_ctx md5;
		struct sha1_ctx sha1;
		struct sha256_ctx sha256;
		struct sha3_256_ctx sha3;
	} c;

	if (h == NULL)
		return -1;
	assert(h->context_size <= sizeof(c));
	h->init(&c);
	h->update(&c, 1, &id);
	h->update(&c, secret_len, secret);
	h->update(&c, chal_len, chal);
	h->digest(&c, h->digest_size, out);
	return 0;
}

size_t sim_chap_digest_len(unsigned int alg)
{
	const struct nettle_hash *h = chap_hash(alg);

	return h == NULL ? 0 : h->digest_size;
}

/* Nettle's base16 decoder skips white space: only hex digits here. */
static int hex_value(const char *s, size_t len, uint8_t *out, size_t cap)
{
	struct base16_decode_ctx ctx;
	size_t n = cap;

	if (len == 0 || len % 2 != 0 || len / 2 > cap)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return -1;
	base16_decode_init(&ctx);
	if (!base16_decode_update(&ctx, &n, out, len, s) ||
	    !base16_decode_final(&ctx) || n != len / 2)
		return -1;
	return (int)n;
}

/* base64 as RFC 4648 §4 writes it: the value must be the canonical
 * encoding of what it decodes to (padded, unused bits zero), which
 * Nettle's encoder, run back over the bytes, tells. */
static int b64_value(const char *s, size_t len, uint8_t *out, size_t cap)
{
	struct base64_decode_ctx ctx;
	uint8_t tmp[BASE64_DECODE_LENGTH(1024)];
	char back[BASE64_ENCODE_RAW_LENGTH(sizeof(tmp)) + 1];
	size_t n = sizeof(tmp);

	if (len == 0 || len % 4 != 0 || len > 1024)
		return -1;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, tmp, len, s) ||
	    !base64_decode_final(&ctx) || n == 0 || n > cap)
		return -1;
	base64_encode_raw(back, n, tmp);
	if (BASE64_ENCODE_RAW_LENGTH(n) != len || memcmp(back, s, len) != 0)
		return -1;
	memcpy(out, tmp, n);
	return (int)n;
}

int sim_chap_decode(const char *v, uint8_t *out, size_t cap)
{
	size_t len = strlen(v);

	if (len < 2 || v[0] != '0')
		return -1;
	if (v[1] == 'x' || v[1] == 'X')
		return hex_value(v + 2, len - 2, out, cap);
	if (v[1] == 'b' || v[1] == 'B')
		return b64_value(v + 2, len - 2, out, cap);
	return -1;
}

void sim_chap_encode_hex(const uint8_t *b, size_t len, char *out)
{
	out[0] = '0';
	out[1] = 'x';
	base16_encode_update(out + 2, len, b);
	out[2 + 2 * len] = '\0';
}
