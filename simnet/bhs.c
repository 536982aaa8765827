/*
 * bhs.c — the simulator's BHS codec (bhs.h), from RFC 7143 §11.2.1:
 *
 *   byte 0      bit 6 I (immediate delivery), bits 5-0 opcode
 *   byte 1      bit 7 F, the rest opcode-specific
 *   bytes 2-3   opcode-specific
 *   byte 4      TotalAHSLength, in 4-byte words
 *   bytes 5-7   DataSegmentLength, in bytes, big endian
 *   bytes 8-15  LUN or opcode-specific (ISID and TSIH in a Login)
 *   bytes 16-19 Initiator Task Tag
 *   bytes 20-47 opcode-specific: seven big-endian words, or for a SCSI
 *               Command (§11.3) the CDB in bytes 32-47
 *
 * Nothing here calls target/iscsi/pdu.c nor the byte helpers of bytes.h:
 * the byte order is spelled out below.
 */
#include "bhs.h"

static uint32_t word_at(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | p[i];
	return v;
}

static void word_to(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--) {
		p[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

void sim_bhs_decode(const uint8_t *raw, struct iscsi_bhs *h)
{
	uint32_t *const words[7] = {&h->w20, &h->w24, &h->w28, &h->w32,
				    &h->w36, &h->w40, &h->w44};

	h->immediate = (raw[0] >> 6 & 1) != 0;
	h->opcode = raw[0] & 0x3f;
	h->flags = raw[1];
	h->b2 = raw[2];
	h->b3 = raw[3];
	h->total_ahs_len = raw[4];
	h->data_len =
		(uint32_t)raw[5] * 65536u + (uint32_t)raw[6] * 256u + raw[7];
	h->lun = (uint64_t)word_at(raw + 8) << 32 | word_at(raw + 12);
	h->itt = word_at(raw + 16);
	for (int i = 0; i < 7; i++)
		*words[i] = word_at(raw + 20 + 4 * i);
	for (int i = 0; i < 16; i++)
		h->cdb[i] = raw[32 + i];
}

void sim_bhs_encode(const struct iscsi_bhs *h, uint8_t *raw)
{
	const uint32_t words[7] = {h->w20, h->w24, h->w28, h->w32,
				   h->w36, h->w40, h->w44};
	int nwords = h->opcode == 0x01 ? 3 : 7; /* SCSI Command: the CDB */

	raw[0] = (uint8_t)((h->immediate ? 1u << 6 : 0u) | (h->opcode & 0x3f));
	raw[1] = h->flags;
	raw[2] = h->b2;
	raw[3] = h->b3;
	raw[4] = h->total_ahs_len;
	raw[5] = (uint8_t)(h->data_len >> 16);
	raw[6] = (uint8_t)(h->data_len >> 8);
	raw[7] = (uint8_t)h->data_len;
	word_to(raw + 8, (uint32_t)(h->lun >> 32));
	word_to(raw + 12, (uint32_t)h->lun);
	word_to(raw + 16, h->itt);
	for (int i = 0; i < nwords; i++)
		word_to(raw + 20 + 4 * i, words[i]);
	if (nwords == 3)
		for (int i = 0; i < 16; i++)
			raw[32 + i] = h->cdb[i];
}

uint32_t sim_pad4(uint32_t len)
{
	return len % 4 == 0 ? 0 : 4 - len % 4;
}

uint64_t sim_pdu_wire_len(uint32_t ahs_words, uint32_t data_len,
			  bool header_digest, bool data_digest)
{
	uint64_t n = 48 + 4 * (uint64_t)ahs_words;

	if (header_digest)
		n += 4;
	if (data_len == 0)
		return n;
	return n + data_len + sim_pad4(data_len) + (data_digest ? 4 : 0);
}

uint64_t sim_lun_field(uint64_t lun)
{
	/* byte 0: address method (bits 7-6) and bus/high LUN bits; byte 1:
	 * the LUN or its low 8 bits; bytes 2-7 zero */
	uint64_t b0, b1;

	if (lun <= 255) {
		b0 = 0; /* 00b peripheral, bus 0 */
		b1 = lun;
	} else {
		b0 = 0x40 | (lun >> 8 & 0x3f); /* 01b flat space */
		b1 = lun & 0xff;
	}
	return b0 << 56 | b1 << 48;
}
