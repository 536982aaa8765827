/*
 * digest.c — the simulator's CRC32C (digest.h), through ISA-L.
 *
 * The boundary: the target's crc32c() is what is tested; nothing of the
 * simulator's judgement of digests may go through it.  ISA-L's crc32_iscsi
 * takes and returns the running CRC (no inversions), in int lengths.  The
 * CHAP hashes likewise go through Nettle, never target/iscsi/chap_hash.c.
 */
#include <assert.h>
#include <isa-l/crc.h>
#include <limits.h>
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
