/*
 * pdufix.c — framing fix-up for mutated PDU streams (see pdufix.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <string.h>

#include "pdufix.h"

#define BHS 48

uint32_t pdufix_crc32c(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	/* Bitwise, reflected Castagnoli polynomial: slow but tiny, and only
	 * mutated inputs pay for it. */
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void pdufix_digest_key(const uint8_t *text, size_t n, const char *key,
		       bool *crc)
{
	size_t k = strlen(key);

	for (size_t i = 0; i < n;) {
		const uint8_t *kv = text + i, *end = memchr(kv, 0, n - i);
		size_t len = end ? (size_t)(end - kv) : n - i;

		if (len > k && memcmp(kv, key, k) == 0 && kv[k] == '=') {
			const uint8_t *v = kv + k + 1;
			const uint8_t *comma = memchr(v, ',', len - k - 1);
			size_t vlen = comma ? (size_t)(comma - v) : len - k - 1;

			*crc = vlen == 6 && memcmp(v, "CRC32C", 6) == 0;
		}
		i += len + 1;
	}
}

/* Login text decides the digests of the PDUs after the final login PDU:
 * the first value the initiator lists is what the target picks when it
 * supports it (RFC 7143 §6.2). */
static void track_login(struct pdufix_conn *c, const uint8_t *b,
			const uint8_t *data, size_t dsl)
{
	if ((b[0] & 0x3f) != 0x03)
		return;
	pdufix_digest_key(data, dsl, "HeaderDigest", &c->want_hd);
	pdufix_digest_key(data, dsl, "DataDigest", &c->want_dd);
	if ((b[1] & 0x80) && (b[1] & 3) == 3) {
		c->hd = c->want_hd;
		c->dd = c->want_dd;
	}
}

void pdufix_pdus(struct pdufix_conn *c, uint8_t *buf, size_t len)
{
	size_t p = 0;

	while (len - p >= BHS) {
		uint8_t *b = buf + p;
		size_t rem = len - p, hdl = c->hd ? 4 : 0, ddl = c->dd ? 4 : 0;
		size_t ahs = (size_t)b[4] * 4, dsl, room, pad, wire;

		if (BHS + ahs + hdl > rem) {
			ahs = 0;
			b[4] = 0;
		}
		if (BHS + hdl > rem)
			break;
		room = rem - BHS - ahs - hdl;
		dsl = (size_t)b[5] << 16 | (size_t)b[6] << 8 | b[7];
		if (dsl && dsl + ((4 - (dsl & 3)) & 3) + ddl > room)
			dsl = room > ddl ? (room - ddl) & ~(size_t)3 : 0;
		b[5] = (uint8_t)(dsl >> 16);
		b[6] = (uint8_t)(dsl >> 8);
		b[7] = (uint8_t)dsl;
		pad = (4 - (dsl & 3)) & 3;
		wire = BHS + ahs + hdl + (dsl ? dsl + pad + ddl : 0);
		if (hdl)
			put_le32(b + BHS + ahs, pdufix_crc32c(b, BHS + ahs));
		if (dsl) {
			uint8_t *data = b + BHS + ahs + hdl;

			memset(data + dsl, 0, pad);
			if (ddl)
				put_le32(data + dsl + pad,
					 pdufix_crc32c(data, dsl + pad));
			track_login(c, b, data, dsl);
		} else {
			track_login(c, b, b, 0);
		}
		p += wire;
	}
}

void pdufix_login_input(uint8_t *buf, size_t len)
{
	struct pdufix_conn c = {0};

	if (len <= FZ_LOGIN_HDR || (buf[1] & FZ_F_RAW))
		return;
	pdufix_pdus(&c, buf + FZ_LOGIN_HDR, len - FZ_LOGIN_HDR);
}

/* Chunks are [control byte][payload] between delimiters; a chunk's
 * payload starts at a PDU boundary of its connection. */
void pdufix_stream_input(uint8_t *buf, size_t len)
{
	struct pdufix_conn conns[4];
	size_t p = FZ_STREAM_HDR;

	if (len <= FZ_STREAM_HDR || (buf[0] & FZ_F_RAW))
		return;
	memset(conns, 0, sizeof(conns));
	while (p < len) {
		uint8_t *end = memmem(buf + p, len - p, FZ_DELIM, FZ_DELIM_LEN);
		size_t e = end ? (size_t)(end - buf) : len;

		if (e > p + 1)
			pdufix_pdus(&conns[buf[p] & 3], buf + p + 1, e - p - 1);
		p = e + FZ_DELIM_LEN;
	}
}
