/*
 * chap_hash.c — the four CHAP digests: MD5 (RFC 1321), SHA-1 and SHA-256
 * (FIPS 180-4) and SHA3-256 (FIPS 202), written from the specifications.
 *
 * Why our own rather than libcrypto: the target core is linked into the
 * daemon, the simulator, the unit tests and six fuzzing variants; none of
 * their link lines then needs another library, and the fuzzers see every
 * instruction under their sanitizers.  These hashes process public
 * protocol bytes and the secret alike without secret-dependent branches
 * or table lookups.  test_chap.c checks each against the specification's
 * vectors and against CHAP responses computed with Python's hashlib.
 *
 * The round constants below were generated from their definitions (MD5:
 * floor(|sin(i + 1)| * 2^32); SHA-256: fractional parts of the square and
 * cube roots of the first primes; Keccak: the LFSR of FIPS 202 §3.2.5).
 */
#include <string.h>

#include "bytes.h"
#include "iscsi/chap.h"
#include "ut_assert.h"

static uint32_t rotl32(uint32_t x, unsigned int n)
{
	return (x << n) | (x >> ((32 - n) & 31));
}

static uint32_t rotr32(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << ((32 - n) & 31));
}

static uint64_t rotl64(uint64_t x, unsigned int n)
{
	return (x << n) | (x >> ((64 - n) & 63));
}

/* ------------------------------------------------------------------ MD5 */

static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
	0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
	0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
	0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
	0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const uint8_t md5_s[4][4] = {
	{7, 12, 17, 22},
	{5, 9, 14, 20},
	{4, 11, 16, 23},
	{6, 10, 15, 21},
};

static void md5_block(uint32_t h[4], const uint8_t *blk)
{
	uint32_t m[16], a = h[0], b = h[1], c = h[2], d = h[3];

	for (int i = 0; i < 16; i++)
		m[i] = get_le32(blk + 4 * i);
	for (unsigned int i = 0; i < 64; i++) {
		uint32_t f, t;
		unsigned int g;

		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		t = d;
		d = c;
		c = b;
		b = b + rotl32(a + f + md5_k[i] + m[g], md5_s[i / 16][i % 4]);
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

/* ---------------------------------------------------------------- SHA-1 */

static void sha1_block(uint32_t h[5], const uint8_t *blk)
{
	uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

	for (int t = 0; t < 16; t++)
		w[t] = get_be32(blk + 4 * t);
	for (int t = 16; t < 80; t++)
		w[t] = rotl32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
	for (int t = 0; t < 80; t++) {
		uint32_t f, k, tmp;

		if (t < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (t < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (t < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		tmp = rotl32(a, 5) + f + e + k + w[t];
		e = d;
		d = c;
		c = rotl32(b, 30);
		b = a;
		a = tmp;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

/* -------------------------------------------------------------- SHA-256 */

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void sha256_block(uint32_t h[8], const uint8_t *blk)
{
	uint32_t w[64], v[8];

	for (int t = 0; t < 16; t++)
		w[t] = get_be32(blk + 4 * t);
	for (int t = 16; t < 64; t++) {
		uint32_t s0 = rotr32(w[t - 15], 7) ^ rotr32(w[t - 15], 18) ^
			      (w[t - 15] >> 3);
		uint32_t s1 = rotr32(w[t - 2], 17) ^ rotr32(w[t - 2], 19) ^
			      (w[t - 2] >> 10);

		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
	memcpy(v, h, sizeof(v));
	for (int t = 0; t < 64; t++) {
		uint32_t S1 = rotr32(v[4], 6) ^ rotr32(v[4], 11) ^
			      rotr32(v[4], 25);
		uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
		uint32_t t1 = v[7] + S1 + ch + sha256_k[t] + w[t];
		uint32_t S0 = rotr32(v[0], 2) ^ rotr32(v[0], 13) ^
			      rotr32(v[0], 22);
		uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);

		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + S0 + maj;
	}
	for (int i = 0; i < 8; i++)
		h[i] += v[i];
}

/* ------------------------------------------------------------- SHA3-256 */

static const uint64_t keccak_rc[24] = {
	0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull,
	0x8000000080008000ull, 0x000000000000808bull, 0x0000000080000001ull,
	0x8000000080008081ull, 0x8000000000008009ull, 0x000000000000008aull,
	0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
	0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull,
	0x8000000000008003ull, 0x8000000000008002ull, 0x8000000000000080ull,
	0x000000000000800aull, 0x800000008000000aull, 0x8000000080008081ull,
	0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull,
};

/* ρ offsets, r[x][y] (FIPS 202 §3.2.2). */
static const uint8_t keccak_rho[5][5] = {
	{0, 36, 3, 41, 18},   {1, 44, 10, 45, 2},  {62, 6, 43, 15, 61},
	{28, 55, 25, 21, 56}, {27, 20, 39, 8, 14},
};

/* Keccak-f[1600] on lanes a[x + 5y]. */
static void keccak_f(uint64_t a[25])
{
	for (int round = 0; round < 24; round++) {
		uint64_t c[5], b[25];

		for (int x = 0; x < 5; x++) /* θ */
			c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^
			       a[x + 20];
		for (int x = 0; x < 5; x++) {
			uint64_t d = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);

			for (int y = 0; y < 5; y++)
				a[x + 5 * y] ^= d;
		}
		for (int x = 0; x < 5; x++) /* ρ and π */
			for (int y = 0; y < 5; y++)
				b[y + 5 * ((2 * x + 3 * y) % 5)] =
					rotl64(a[x + 5 * y], keccak_rho[x][y]);
		for (int y = 0; y < 5; y++) /* χ */
			for (int x = 0; x < 5; x++)
				a[x + 5 * y] = b[x + 5 * y] ^
					       (~b[(x + 1) % 5 + 5 * y] &
						b[(x + 2) % 5 + 5 * y]);
		a[0] ^= keccak_rc[round]; /* ι */
	}
}

#define SHA3_256_RATE 136

static void sha3_block(uint64_t a[25], const uint8_t *blk)
{
	for (int i = 0; i < SHA3_256_RATE / 8; i++) {
		uint64_t lane = 0;

		for (int j = 7; j >= 0; j--)
			lane = lane << 8 | blk[8 * i + j];
		a[i] ^= lane;
	}
	keccak_f(a);
}

/* --------------------------------------------------------------- common */

static size_t block_len(enum chap_alg alg)
{
	return alg == CHAP_ALG_SHA3_256 ? SHA3_256_RATE : 64;
}

static void hash_block(struct iscsi_hash *h, const uint8_t *blk)
{
	/* a whole block of a context iscsi_hash_init() accepted */
	ut_assert(h->alg != CHAP_ALG_NONE);
	ut_assert(blk == h->buf || blk != NULL);
	switch (h->alg) {
	case CHAP_ALG_MD5:
		md5_block(h->u.h32, blk);
		break;
	case CHAP_ALG_SHA1:
		sha1_block(h->u.h32, blk);
		break;
	case CHAP_ALG_SHA256:
		sha256_block(h->u.h32, blk);
		break;
	case CHAP_ALG_SHA3_256:
		sha3_block(h->u.a64, blk);
		break;
	case CHAP_ALG_NONE:
		ut_unreachable("hashing without an algorithm");
	}
}

int iscsi_hash_init(struct iscsi_hash *h, enum chap_alg alg)
{
	static const uint32_t md5_iv[4] = {0x67452301, 0xefcdab89, 0x98badcfe,
					   0x10325476};
	static const uint32_t sha1_iv[5] = {0x67452301, 0xefcdab89, 0x98badcfe,
					    0x10325476, 0xc3d2e1f0};
	static const uint32_t sha256_iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memset(h, 0, sizeof(*h));
	h->alg = alg;
	switch (alg) {
	case CHAP_ALG_MD5:
		memcpy(h->u.h32, md5_iv, sizeof(md5_iv));
		return 0;
	case CHAP_ALG_SHA1:
		memcpy(h->u.h32, sha1_iv, sizeof(sha1_iv));
		return 0;
	case CHAP_ALG_SHA256:
		memcpy(h->u.h32, sha256_iv, sizeof(sha256_iv));
		return 0;
	case CHAP_ALG_SHA3_256:
		return 0; /* the all-zero state */
	case CHAP_ALG_NONE:
		break;
	}
	return -1;
}

void iscsi_hash_update(struct iscsi_hash *h, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t bl = block_len(h->alg);

	/* the buffer holds less than a block between calls */
	ut_assert(bl > 0 && bl <= sizeof(h->buf));
	ut_assert(h->buf_len < bl);
	h->total_bytes += len;
	while (len > 0) {
		size_t n = bl - h->buf_len < len ? bl - h->buf_len : len;

		memcpy(h->buf + h->buf_len, p, n);
		h->buf_len += n;
		p += n;
		len -= n;
		if (h->buf_len == bl) {
			hash_block(h, h->buf);
			h->buf_len = 0;
		}
	}
}

/* MD5 and SHA-1/SHA-256 padding: 0x80, zeros, the bit length in the last
 * 8 bytes of a block (little-endian for MD5, big-endian otherwise). */
static void md_pad(struct iscsi_hash *h)
{
	uint64_t bits = h->total_bytes * 8;

	/* the Merkle-Damgard hashes: 64-byte blocks, less than one held */
	ut_assert(block_len(h->alg) == 64);
	ut_assert(h->buf_len < 64);
	h->buf[h->buf_len++] = 0x80;
	if (h->buf_len > 56) {
		memset(h->buf + h->buf_len, 0, 64 - h->buf_len);
		hash_block(h, h->buf);
		h->buf_len = 0;
	}
	memset(h->buf + h->buf_len, 0, 56 - h->buf_len);
	for (int i = 0; i < 8; i++)
		h->buf[h->alg == CHAP_ALG_MD5 ? 56 + i : 63 - i] =
			(uint8_t)(bits >> (8 * i));
	hash_block(h, h->buf);
}

void iscsi_hash_final(struct iscsi_hash *h, uint8_t *out)
{
	ut_assert(out != NULL);
	ut_assert(h->buf_len < block_len(h->alg) || h->alg == CHAP_ALG_NONE);
	switch (h->alg) {
	case CHAP_ALG_MD5:
		md_pad(h);
		for (int i = 0; i < 4; i++)
			put_le32(out + 4 * i, h->u.h32[i]);
		break;
	case CHAP_ALG_SHA1:
	case CHAP_ALG_SHA256:
		md_pad(h);
		for (int i = 0; i < (h->alg == CHAP_ALG_SHA1 ? 5 : 8); i++)
			put_be32(out + 4 * i, h->u.h32[i]);
		break;
	case CHAP_ALG_SHA3_256:
		/* FIPS 202 §6.1: the SHA-3 suffix 01, then pad10*1. */
		memset(h->buf + h->buf_len, 0, SHA3_256_RATE - h->buf_len);
		h->buf[h->buf_len] ^= 0x06;
		h->buf[SHA3_256_RATE - 1] ^= 0x80;
		sha3_block(h->u.a64, h->buf);
		for (int i = 0; i < 32; i++)
			out[i] = (uint8_t)(h->u.a64[i / 8] >> (8 * (i % 8)));
		break;
	case CHAP_ALG_NONE:
		break;
	}
	explicit_bzero(h, sizeof(*h));
}
