/*
 * digest.c — the simulator's CRC32C (digest.h), through ISA-L.
 *
 * The boundary: the target's crc32c() is what is tested; nothing of the
 * simulator's judgement of digests may go through it.  ISA-L's crc32_iscsi
 * takes and returns the running CRC (no inversions), in int lengths.  The
 * CHAP hashes likewise go through Nettle, never target/iscsi/chap_hash.c.
 */
#include <isa-l/crc.h>
#include <limits.h>
#include <nettle/md5.h>
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

int sim_chap_response(unsigned int alg, uint8_t id, const void *secret,
		      size_t secret_len, const uint8_t *chal, size_t chal_len,
		      uint8_t *out)
{
	switch (alg) {
	case 5: {
		struct md5_ctx c;

		md5_init(&c);
		md5_update(&c, 1, &id);
		md5_update(&c, secret_len, secret);
		md5_update(&c, chal_len, chal);
		md5_digest(&c, MD5_DIGEST_SIZE, out);
		return 0;
	}
	case 6: {
		struct sha1_ctx c;

		sha1_init(&c);
		sha1_update(&c, 1, &id);
		sha1_update(&c, secret_len, secret);
		sha1_update(&c, chal_len, chal);
		sha1_digest(&c, SHA1_DIGEST_SIZE, out);
		return 0;
	}
	case 7: {
		struct sha256_ctx c;

		sha256_init(&c);
		sha256_update(&c, 1, &id);
		sha256_update(&c, secret_len, secret);
		sha256_update(&c, chal_len, chal);
		sha256_digest(&c, SHA256_DIGEST_SIZE, out);
		return 0;
	}
	case 8: {
		struct sha3_256_ctx c;

		sha3_256_init(&c);
		sha3_256_update(&c, 1, &id);
		sha3_256_update(&c, secret_len, secret);
		sha3_256_update(&c, chal_len, chal);
		sha3_256_digest(&c, SHA3_256_DIGEST_SIZE, out);
		return 0;
	}
	default:
		return -1;
	}
}
