/*
 * crc32c.c — CRC32C (Castagnoli, polynomial 0x1EDC6F41 reflected as
 * 0x82F63B78), the iSCSI header and data digest (RFC 7143 §13.1,
 * RFC 3720 Appendix B.4 test vectors in target/test/test_pdu.c).
 *
 * Where the CPU has SSE4.2 the crc32 instruction does 8 bytes per step;
 * elsewhere a slicing-by-8 table does.  The choice is made once, by
 * cpuid, not by the environment: it does not change any result.
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
#endif

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "crc32c slicing assumes a little-endian host"
#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
#if defined(__x86_64__)
	if (cpu_has_sse42())
		return crc32c_hw(crc, buf, len);
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
