/*
 * pdu.c — BHS encoding and decoding, LUN fields, wire lengths.
 *
 * RFC 7143 §11.2.1: the BHS is 48 bytes; byte 0 holds the I bit and the
 * opcode, byte 1 the F bit and opcode-specific flags, byte 4
 * TotalAHSLength, bytes 5-7 DataSegmentLength.
 */
#include <string.h>

#include "env.h"
#include "iscsi/pdu.h"

void iscsi_bhs_decode(const uint8_t raw[ISCSI_BHS_LEN], struct iscsi_bhs *h)
{
	h->opcode = raw[0] & ISCSI_OPCODE_MASK;
	h->immediate = (raw[0] & ISCSI_FLAG_IMMEDIATE) != 0;
	h->flags = raw[1];
	h->b2 = raw[2];
	h->b3 = raw[3];
	h->total_ahs_len = raw[4];
	h->data_len = (uint32_t)raw[5] << 16 | (uint32_t)raw[6] << 8 | raw[7];
	h->lun = get_be64(raw + 8);
	h->itt = get_be32(raw + 16);
	h->w20 = get_be32(raw + 20);
	h->w24 = get_be32(raw + 24);
	h->w28 = get_be32(raw + 28);
	h->w32 = get_be32(raw + 32);
	h->w36 = get_be32(raw + 36);
	h->w40 = get_be32(raw + 40);
	h->w44 = get_be32(raw + 44);
	memcpy(h->cdb, raw + 32, sizeof(h->cdb));
}

/* The CDB overlays words 32..47; for a SCSI Command the CDB wins, for every
 * other opcode the words do. */
void iscsi_bhs_encode(const struct iscsi_bhs *h, uint8_t raw[ISCSI_BHS_LEN])
{
	raw[0] = (uint8_t)((h->opcode & ISCSI_OPCODE_MASK) |
			   (h->immediate ? ISCSI_FLAG_IMMEDIATE : 0));
	raw[1] = h->flags;
	raw[2] = h->b2;
	raw[3] = h->b3;
	raw[4] = h->total_ahs_len;
	put_be24(raw + 5, h->data_len & ISCSI_MAX_DSL);
	put_be64(raw + 8, h->lun);
	put_be32(raw + 16, h->itt);
	put_be32(raw + 20, h->w20);
	put_be32(raw + 24, h->w24);
	put_be32(raw + 28, h->w28);
	if (h->opcode == ISCSI_OP_SCSI_CMD) {
		memcpy(raw + 32, h->cdb, sizeof(h->cdb));
		return;
	}
	put_be32(raw + 32, h->w32);
	put_be32(raw + 36, h->w36);
	put_be32(raw + 40, h->w40);
	put_be32(raw + 44, h->w44);
}

uint64_t iscsi_pdu_wire_len(uint32_t ahs_words, uint32_t data_len,
			    bool header_digest, bool data_digest)
{
	uint64_t n = ISCSI_BHS_LEN + (uint64_t)ahs_words * 4;

	if (header_digest)
		n += ISCSI_DIGEST_LEN;
	if (data_len > 0) {
		n += data_len + iscsi_pad4(data_len);
		if (data_digest)
			n += ISCSI_DIGEST_LEN;
	}
	return n;
}

/*
 * SAM-5 §4.7.2: single level LUN structures.  Address method 00b
 * (peripheral, bus 0) carries LUNs 0..255 in byte 1; method 01b (flat
 * space) carries 0..16383 in the low 14 bits of bytes 0-1.  The remaining
 * six bytes must be zero for a single-level LUN.
 */
bool iscsi_lun_decode(uint64_t raw, uint64_t *lun)
{
	uint8_t method = (uint8_t)(raw >> 62);
	uint16_t first = (uint16_t)(raw >> 48);

	if ((raw & 0x0000ffffffffffffull) != 0)
		return false;
	switch (method) {
	case 0:
		if ((first >> 8) != 0) /* bus identifier must be zero */
			return false;
		*lun = first & 0xff;
		return true;
	case 1:
		*lun = first & 0x3fff;
		return true;
	default:
		return false;
	}
}

uint64_t iscsi_lun_encode(uint64_t lun)
{
	if (lun < 256)
		return lun << 48;
	return ((0x4000 | (lun & 0x3fff)) & 0xffffull) << 48;
}

/* Where a connection's StatSN and a session's TTTs start.  Drawn from the
 * environment's random source; one draw in eight lands within 64 of
 * 2^32, so that every peer's serial number arithmetic (RFC 1982, RFC
 * 7143 §4.2.2) is exercised across the wrap within minutes, not after
 * four billion responses.  0xffffffff is the reserved tag (§11.2.1.4):
 * never a TTT; the callers skip it as they advance. */
uint32_t iscsi_initial_sn(struct env *env)
{
	uint64_t x = env_random_u64(env);
	uint32_t sn = (x >> 61) == 0 ? 0xfffffffeu - (uint32_t)(x & 0x3f)
				     : (uint32_t)x;

	return sn == ISCSI_RESERVED_TAG ? 1 : sn;
}
