/*
 * chap_fmt.h — CHAP values written the way an initiator writes them, for
 * the CHAP tests (test_chap.c, test_chap_values.c): bytes as "0x" hex and
 * as "0b" base64 (RFC 7143 §6.1), encoded here independently of chap.c so
 * that the tests do not check the target against itself.
 */
#ifndef UT_TEST_CHAP_FMT_H
#define UT_TEST_CHAP_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static inline void tohex(const uint8_t *b, size_t n, char *out)
{
	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 + 2 * i, "%02X", b[i]);
	out[2 + 2 * n] = '\0';
}

/* An independent base64 encoder (RFC 4648 §4), with the 0b prefix. */
static inline void tob64(const uint8_t *b, size_t n, char *out)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789+/";
	size_t o = 2;

	out[0] = '0';
	out[1] = 'b';
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)b[i + 1] << 8;
		if (i + 2 < n)
			v |= b[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = '\0';
}

#endif
