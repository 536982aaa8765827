/*
 * crc32c.c — CRC32C (Castagnoli, polynomial 0x1EDC6F41 reflected as
 * 0x82F63B78), the iSCSI header and data digest (RFC 7143 §13.1,
 * RFC 3720 Appendix B.4 test vectors in target/test/test_pdu.c).
 *
 * Where the CPU has SSE4.2 the crc32 instruction does 8 bytes per step;
 * elsewhere a slicing-by-8 table does.  The choice is made once, by
 * cpuid, not by the environment: it does not change any result.
 *
 * The crc32 instruction takes 3 cycles and the next step needs its
 * result, so one stream runs at a third of the instruction's
 * throughput.  Long buffers are cut into three streams computed side by
 * side and folded together: crc(A B C) = shift(crc(A), |B|+|C|) ^
 * shift(crc(B), |C|) ^ crc(C) with B and C started from 0, where shift
 * multiplies by x^(8n) mod P: one carry-less multiply (PCLMULQDQ) by a
 * constant x^(8n-33) mod P computed at start-up, and one crc32 to reduce
 * the 64-bit product.  docs/performance.md compares this with ISA-L.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "iscsi/pdu.h"

#define CRC32C_POLY 0x82f63b78u

static uint32_t crc_table[8][256];
/* Built before main, for the same reason as cpu_has_sse42(). */
__attribute__((constructor)) static void crc32c_init_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] =
				(crc_table[t - 1][i] >> 8) ^
				crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		v ^= crc; /* little-endian hosts only; see below */
		crc = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^
		      crc_table[5][(v >> 16) & 0xff] ^
		      crc_table[4][(v >> 24) & 0xff] ^
		      crc_table[3][(v >> 32) & 0xff] ^
		      crc_table[2][(v >> 40) & 0xff] ^
		      crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)

#include <immintrin.h>

/* Reflected GF(2) product of two polynomials mod P (bit 31 is x^0). */
static uint32_t crc32c_multmodp(uint32_t a, uint32_t b)
{
	uint32_t m = 1u << 31, p = 0;

	for (;;) {
		if (a & m) {
			p ^= b;
			if ((a & (m - 1)) == 0)
				break;
		}
		m >>= 1;
		b = (b & 1) ? (b >> 1) ^ CRC32C_POLY : b >> 1;
	}
	return p;
}

/* x^n mod P, by squaring. */
static uint32_t crc32c_xpow(uint64_t n)
{
	uint32_t r = 1u << 31, x = 1u << 30;

	while (n) {
		if (n & 1)
			r = crc32c_multmodp(x, r);
		x = crc32c_multmodp(x, x);
		n >>= 1;
	}
	return r;
}

/* Three streams of CRC32C_LONG bytes each while that many remain, then of
 * CRC32C_SHORT: a 4 KiB data segment is one long and two short rounds. */
#define CRC32C_LONG 1024u
#define CRC32C_SHORT 128u
/* Shift constants x^(8n-33) mod P for n = one and two stream lengths. */
static uint32_t crc_k_long1, crc_k_long2, crc_k_short1, crc_k_short2;

__attribute__((constructor)) static void crc32c_init_shift(void)
{
	crc_k_long1 = crc32c_xpow(8ull * CRC32C_LONG - 33);
	crc_k_long2 = crc32c_xpow(8ull * 2 * CRC32C_LONG - 33);
	crc_k_short1 = crc32c_xpow(8ull * CRC32C_SHORT - 33);
	crc_k_short2 = crc32c_xpow(8ull * 2 * CRC32C_SHORT - 33);
}

__attribute__((target("sse4.2,pclmul"))) static uint32_t
crc32c_shift(uint32_t crc, uint32_t k)
{
	__m128i prod = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)crc),
					    _mm_cvtsi32_si128((int)k), 0);

	return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(prod));
}

/* One round: three streams of blk bytes from p, folded into crc. */
__attribute__((target("sse4.2,pclmul"))) static uint32_t
crc32c_3way(uint32_t crc, const uint8_t *p, size_t blk, uint32_t k1,
	    uint32_t k2)
{
	uint64_t a = crc, b = 0, c = 0;

	for (size_t i = 0; i < blk; i += 8) {
		uint64_t va, vb, vc;

		memcpy(&va, p + i, 8);
		memcpy(&vb, p + blk + i, 8);
		memcpy(&vc, p + 2 * blk + i, 8);
		a = _mm_crc32_u64(a, va);
		b = _mm_crc32_u64(b, vb);
		c = _mm_crc32_u64(c, vc);
	}
	return crc32c_shift((uint32_t)a, k2) ^ crc32c_shift((uint32_t)b, k1) ^
	       (uint32_t)c;
}

__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c;
	while (len--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}

/* The runtime's CPU model, filled before main: no first-call branch here,
 * whose one-time path AFL++ would count as instability (it showed as the
 * only variable edges of pdu_stream). */
static int cpu_has_sse42(void)
{
	return __builtin_cpu_supports("sse4.2");
}

static int cpu_has_pclmul(void)
{
	return __builtin_cpu_supports("pclmul");
}

/* The single-stream instruction loop alone (bench/crc-bench.c compares
 * it with crc32c()). */
uint32_t crc32c_1way(uint32_t crc, const void *buf, size_t len)
{
	if (cpu_has_sse42())
		return crc32c_hw(crc, buf, len);
	return crc32c_sw(crc, buf, len);
}
#else
uint32_t crc32c_1way(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_sw(crc, buf, len);
}
#endif

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "crc32c slicing assumes a little-endian host"
#endif

/* A faster implementation for long buffers, installed by the daemon's
 * environment (ISA-L: env_real/crc_isal.c); NULL in tests, fuzzers and
 * the simulation, which then run the code above.  Same results. */
static crc32c_fn *crc32c_long_impl;
#define CRC32C_LONG_IMPL_MIN 256u

void crc32c_set_long_impl(crc32c_fn *fn)
{
	crc32c_long_impl = fn;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (crc32c_long_impl && len >= CRC32C_LONG_IMPL_MIN)
		return crc32c_long_impl(crc, buf, len);
#if defined(__x86_64__)
	if (cpu_has_sse42()) {
		const uint8_t *p = buf;

		if (cpu_has_pclmul()) {
			while (len >= 3 * CRC32C_LONG) {
				crc = crc32c_3way(crc, p, CRC32C_LONG,
						  crc_k_long1, crc_k_long2);
				p += 3 * CRC32C_LONG;
				len -= 3 * CRC32C_LONG;
			}
			while (len >= 3 * CRC32C_SHORT) {
				crc = crc32c_3way(crc, p, CRC32C_SHORT,
						  crc_k_short1, crc_k_short2);
				p += 3 * CRC32C_SHORT;
				len -= 3 * CRC32C_SHORT;
			}
		}
		return crc32c_hw(crc, p, len);
	}
#endif
	return crc32c_sw(crc, buf, len);
}

/* iSCSI sends the final (inverted) CRC least significant byte first: the
 * digest's 4 bytes are the host little-endian encoding of the value. */
uint32_t iscsi_digest(const void *buf, size_t len)
{
	return ~crc32c(~0u, buf, len);
}

uint32_t iscsi_digest_iov(const struct iovec *iov, int iovcnt)
{
	uint32_t crc = ~0u;

	for (int i = 0; i < iovcnt; i++)
		crc = crc32c(crc, iov[i].iov_base, iov[i].iov_len);
	return ~crc;
}
