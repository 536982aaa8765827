/*
 * test_pdu.c — the iSCSI PDU codec (RFC 7143 §11), serial number
 * arithmetic (RFC 1982), the single-level LUN field (SAM-5 §4.7) and the
 * CRC32C digest (RFC 7143 §13.1, RFC 3720 Appendix B.4 test vectors).
 *
 * crc32c.c is included here rather than linked from libutarget.a so that
 * both of its paths, the slicing-by-8 table and the SSE4.2 instruction,
 * can be checked directly against a bitwise reference: on a CPU with
 * SSE4.2 the public crc32c() never takes the table path.  Because this
 * file then defines every symbol crc32c.o exports, the linker does not
 * pull that member out of the archive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/crc32c.c"
#include "iscsi/pdu.h"

/* got == want, printing the expression that differed. */
#define EXPECT_U64(got, want)                                              \
	do {                                                               \
		uint64_t got_ = (uint64_t)(got), want_ = (uint64_t)(want); \
		if (got_ != want_)                                         \
			fail_msg("%s: expected %#llx, got %#llx", #got,    \
				 (unsigned long long)want_,                \
				 (unsigned long long)got_);                \
	} while (0)

/* A check with a message that states the rule: fail_msg prints why. */
#define CHECK(cond, ...)                       \
	do {                                   \
		if (!(cond))                   \
			fail_msg(__VA_ARGS__); \
	} while (0)

/* ------------------------------------------------------------ BHS */

static void raw_fill(uint8_t raw[ISCSI_BHS_LEN])
{
	for (int i = 0; i < ISCSI_BHS_LEN; i++)
		raw[i] = (uint8_t)(0xa0 + i);
}

static void bhs_opcode_and_i_bit_are_byte_0(void **state)
{
	/* RFC 7143 §11.2.1.1-2: byte 0 is .|I|opcode(6). */
	for (unsigned int op = 0; op < 64; op++) {
		for (int imm = 0; imm < 2; imm++) {
			struct iscsi_bhs h = {0}, d;
			uint8_t raw[ISCSI_BHS_LEN];

			h.opcode = (uint8_t)op;
			h.immediate = imm;
			iscsi_bhs_encode(&h, raw);
			CHECK(raw[0] == (op | (imm ? 0x40u : 0)),
			      "RFC 7143 §11.2.1: byte 0 = I bit 0x40 | opcode; "
			      "opcode %#x I=%d encoded as %#x",
			      op, imm, raw[0]);
			iscsi_bhs_decode(raw, &d);
			CHECK(d.opcode == op && d.immediate == imm,
			      "opcode %#x I=%d decoded as %#x I=%d", op, imm,
			      d.opcode, d.immediate);
		}
	}
}

static void bhs_decode_drops_reserved_bit_7_of_byte_0(void **state)
{
	uint8_t raw[ISCSI_BHS_LEN] = {0};
	struct iscsi_bhs d;

	raw[0] = 0x80 | 0x40 | ISCSI_OP_SCSI_CMD;
	iscsi_bhs_decode(raw, &d);
	CHECK(d.opcode == ISCSI_OP_SCSI_CMD && d.immediate,
	      "RFC 7143 §11.2.1: bit 7 of byte 0 is reserved, not part of "
	      "the opcode; got opcode %#x",
	      d.opcode);
}

static void bhs_encode_masks_opcode_to_6_bits(void **state)
{
	struct iscsi_bhs h = {.opcode = 0xff};
	uint8_t raw[ISCSI_BHS_LEN];

	iscsi_bhs_encode(&h, raw);
	CHECK(raw[0] == 0x3f,
	      "the opcode is 6 bits; an out-of-range opcode must not set the "
	      "I bit or the reserved bit: got %#x",
	      raw[0]);
}

static void bhs_flags_and_bytes_2_3_round_trip(void **state)
{
	for (unsigned int v = 0; v < 256; v++) {
		struct iscsi_bhs h = {.opcode = ISCSI_OP_LOGIN_RSP}, d;
		uint8_t raw[ISCSI_BHS_LEN];

		h.flags = (uint8_t)v;
		h.b2 = (uint8_t)(v ^ 0x5a);
		h.b3 = (uint8_t)(255 - v);
		iscsi_bhs_encode(&h, raw);
		CHECK(raw[1] == v && raw[2] == (v ^ 0x5a) && raw[3] == 255 - v,
		      "RFC 7143 §11.2.1: flags are byte 1, bytes 2-3 follow");
		iscsi_bhs_decode(raw, &d);
		CHECK(d.flags == v && d.b2 == (v ^ 0x5a) && d.b3 == 255 - v,
		      "bytes 1-3 did not survive decode for %#x", v);
	}
}

static void bhs_total_ahs_length_is_byte_4_up_to_255(void **state)
{
	static const uint8_t lens[] = {0, 1, 254, 255};

	for (size_t i = 0; i < sizeof(lens); i++) {
		struct iscsi_bhs h = {.opcode = ISCSI_OP_SCSI_CMD}, d;
		uint8_t raw[ISCSI_BHS_LEN];

		h.total_ahs_len = lens[i];
		h.data_len = ISCSI_MAX_DSL;
		iscsi_bhs_encode(&h, raw);
		CHECK(raw[4] == lens[i],
		      "RFC 7143 §11.2.1.4: TotalAHSLength is byte 4; wrote "
		      "%u, byte 4 is %u",
		      lens[i], raw[4]);
		iscsi_bhs_decode(raw, &d);
		CHECK(d.total_ahs_len == lens[i] && d.data_len == ISCSI_MAX_DSL,
		      "TotalAHSLength %u decoded as %u (DSL %#x)", lens[i],
		      d.total_ahs_len, d.data_len);
	}
}

static void bhs_data_segment_length_is_24_bits_big_endian(void **state)
{
	static const uint32_t lens[] = {0,	  1,	    0x0100,
					0x010203, 0xfffffe, 0xffffff};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct iscsi_bhs h = {.opcode = ISCSI_OP_DATA_IN}, d;
		uint8_t raw[ISCSI_BHS_LEN];

		h.data_len = lens[i];
		iscsi_bhs_encode(&h, raw);
		CHECK(raw[5] == (lens[i] >> 16 & 0xff) &&
			      raw[6] == (lens[i] >> 8 & 0xff) &&
			      raw[7] == (lens[i] & 0xff),
		      "RFC 7143 §11.2.1.5: DataSegmentLength is bytes 5-7, "
		      "big endian; %#x encoded as %02x %02x %02x",
		      lens[i], raw[5], raw[6], raw[7]);
		iscsi_bhs_decode(raw, &d);
		EXPECT_U64(d.data_len, lens[i]);
	}
}

static void bhs_data_length_past_24_bits_does_not_touch_ahs_length(void **state)
{
	struct iscsi_bhs h = {.opcode = ISCSI_OP_DATA_IN, .total_ahs_len = 7};
	uint8_t raw[ISCSI_BHS_LEN];

	h.data_len = ISCSI_MAX_DSL + 1;
	iscsi_bhs_encode(&h, raw);
	CHECK(raw[4] == 7,
	      "DataSegmentLength is 24 bits: a 2^24 length must not spill "
	      "into TotalAHSLength (byte 4 = %u)",
	      raw[4]);
}

static void bhs_lun_itt_and_words_sit_at_their_offsets(void **state)
{
	struct iscsi_bhs h = {0}, d;
	uint8_t raw[ISCSI_BHS_LEN];
	const uint32_t *w[] = {&h.w20, &h.w24, &h.w28, &h.w32,
			       &h.w36, &h.w40, &h.w44};

	h.opcode = ISCSI_OP_R2T;
	h.lun = 0x0102030405060708ull;
	h.itt = 0x11121314;
	h.w20 = 0x20212223;
	h.w24 = 0x24252627;
	h.w28 = 0x28292a2b;
	h.w32 = 0x2c2d2e2f;
	h.w36 = 0x30313233;
	h.w40 = 0x34353637;
	h.w44 = 0x38393a3b;
	iscsi_bhs_encode(&h, raw);
	CHECK(get_be64(raw + 8) == h.lun, "RFC 7143 §11.2.1.6: LUN is bytes "
					  "8-15, big endian");
	CHECK(get_be32(raw + 16) == h.itt, "RFC 7143 §11.2.1.7: ITT is bytes "
					   "16-19, big endian");
	for (int i = 0; i < 7; i++)
		CHECK(get_be32(raw + 20 + 4 * i) == *w[i],
		      "word at byte %d: expected %#x, got %#x", 20 + 4 * i,
		      *w[i], get_be32(raw + 20 + 4 * i));
	iscsi_bhs_decode(raw, &d);
	EXPECT_U64(d.lun, h.lun);
	EXPECT_U64(d.itt, h.itt);
	EXPECT_U64(d.w20, h.w20);
	EXPECT_U64(d.w24, h.w24);
	EXPECT_U64(d.w28, h.w28);
	EXPECT_U64(d.w32, h.w32);
	EXPECT_U64(d.w36, h.w36);
	EXPECT_U64(d.w40, h.w40);
	EXPECT_U64(d.w44, h.w44);
}

static void bhs_decode_then_encode_is_identity_for_every_opcode(void **state)
{
	/* Any 48 bytes with reserved bit 7 of byte 0 clear survive. */
	for (unsigned int op = 0; op < 64; op++) {
		uint8_t raw[ISCSI_BHS_LEN], back[ISCSI_BHS_LEN];
		struct iscsi_bhs d;

		raw_fill(raw);
		raw[0] = (uint8_t)(0x40 | op);
		iscsi_bhs_decode(raw, &d);
		memset(back, 0, sizeof(back));
		iscsi_bhs_encode(&d, back);
		CHECK(memcmp(raw, back, ISCSI_BHS_LEN) == 0,
		      "opcode %#x: decode then encode changed the BHS", op);
	}
}

static void bhs_scsi_command_encodes_cdb_over_bytes_32_47(void **state)
{
	struct iscsi_bhs h = {.opcode = ISCSI_OP_SCSI_CMD}, d;
	uint8_t raw[ISCSI_BHS_LEN];

	for (int i = 0; i < 16; i++)
		h.cdb[i] = (uint8_t)(0xc0 + i);
	h.w32 = h.w36 = h.w40 = h.w44 = 0xdeadbeef; /* must be ignored */
	iscsi_bhs_encode(&h, raw);
	CHECK(memcmp(raw + 32, h.cdb, 16) == 0,
	      "RFC 7143 §11.3: a SCSI Command carries its CDB in bytes 32-47; "
	      "the words must not overwrite it");
	iscsi_bhs_decode(raw, &d);
	CHECK(memcmp(d.cdb, h.cdb, 16) == 0, "CDB did not survive decode");
	/* The decoder fills both views of bytes 32..47. */
	EXPECT_U64(d.w32, 0xc0c1c2c3u);
	EXPECT_U64(d.w44, 0xcccdcecfu);
}

static void bhs_other_opcodes_encode_words_not_cdb(void **state)
{
	static const uint8_t ops[] = {
		ISCSI_OP_NOP_OUT,   ISCSI_OP_TMF_REQ,	 ISCSI_OP_LOGIN_REQ,
		ISCSI_OP_TEXT_REQ,  ISCSI_OP_DATA_OUT,	 ISCSI_OP_LOGOUT_REQ,
		ISCSI_OP_SNACK_REQ, ISCSI_OP_NOP_IN,	 ISCSI_OP_SCSI_RSP,
		ISCSI_OP_TMF_RSP,   ISCSI_OP_LOGIN_RSP,	 ISCSI_OP_TEXT_RSP,
		ISCSI_OP_DATA_IN,   ISCSI_OP_LOGOUT_RSP, ISCSI_OP_R2T,
		ISCSI_OP_ASYNC_MSG, ISCSI_OP_REJECT};

	for (size_t i = 0; i < sizeof(ops); i++) {
		struct iscsi_bhs h = {.opcode = ops[i]};
		uint8_t raw[ISCSI_BHS_LEN];

		memset(h.cdb, 0xee, sizeof(h.cdb)); /* must be ignored */
		h.w32 = 0x32323232;
		h.w36 = 0x36363636;
		h.w40 = 0x40404040;
		h.w44 = 0x44444444;
		iscsi_bhs_encode(&h, raw);
		CHECK(get_be32(raw + 32) == h.w32 &&
			      get_be32(raw + 36) == h.w36 &&
			      get_be32(raw + 40) == h.w40 &&
			      get_be32(raw + 44) == h.w44,
		      "opcode %#x: bytes 32-47 are words, not a CDB", ops[i]);
	}
}

static void bhs_immediate_scsi_command_still_carries_cdb(void **state)
{
	struct iscsi_bhs h = {.opcode = ISCSI_OP_SCSI_CMD, .immediate = true};
	uint8_t raw[ISCSI_BHS_LEN];

	memset(h.cdb, 0x28, sizeof(h.cdb));
	iscsi_bhs_encode(&h, raw);
	CHECK(raw[0] == 0x41 && raw[32] == 0x28 && raw[47] == 0x28,
	      "the I bit is not part of the opcode: an immediate SCSI "
	      "Command still carries its CDB");
}

/* ------------------------------------------------- wire length */

static void pad4_rounds_up_to_a_multiple_of_4(void **state)
{
	static const uint32_t len[] = {0, 1,	    2,		3,	   4,
				       5, 0xffffff, 0xfffffffc, 0xffffffff};
	static const uint32_t pad[] = {0, 3, 2, 1, 0, 3, 1, 0, 1};

	for (size_t i = 0; i < sizeof(len) / sizeof(len[0]); i++)
		CHECK(iscsi_pad4(len[i]) == pad[i],
		      "RFC 7143 §11.2.4: the data segment is padded to a "
		      "4-byte boundary; len %u needs %u, got %u",
		      len[i], pad[i], iscsi_pad4(len[i]));
}

static void wire_len_counts_bhs_ahs_digests_data_and_padding(void **state)
{
	static const struct {
		uint32_t ahs, dl;
		bool hd, dd;
		uint64_t want;
	} c[] = {
		{0, 0, false, false, 48},
		{0, 0, true, false, 52},
		/* no data segment: no data digest either */
		{0, 0, false, true, 48},
		{0, 0, true, true, 52},
		{0, 1, false, false, 52},
		{0, 3, false, false, 52},
		{0, 4, false, false, 52},
		{0, 5, false, false, 56},
		{0, 1, true, true, 60},
		{0, 3, false, true, 56},
		{0, 4, true, false, 56},
		{0, 5, true, true, 64},
		{1, 0, false, false, 52},
		{255, 0, true, false, 48 + 1020 + 4},
		{255, 5, true, true, 48 + 1020 + 4 + 8 + 4},
		{0, ISCSI_MAX_DSL, false, false, 48 + 0x1000000ull},
		{255, ISCSI_MAX_DSL, true, true,
		 48 + 1020 + 4 + 0x1000000ull + 4},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint64_t got =
			iscsi_pdu_wire_len(c[i].ahs, c[i].dl, c[i].hd, c[i].dd);

		CHECK(got == c[i].want,
		      "RFC 7143 §11.2: BHS + AHS + [HD] + data + pad + [DD] "
		      "for ahs=%u dl=%u hd=%d dd=%d is %llu, got %llu",
		      c[i].ahs, c[i].dl, c[i].hd, c[i].dd,
		      (unsigned long long)c[i].want, (unsigned long long)got);
	}
}

/* ------------------------------------------- serial numbers */

static void sna_wraps_so_0xffffffff_is_before_0(void **state)
{
	CHECK(sna_lt(0xffffffffu, 0), "RFC 1982: 2^32-1 < 0 after wrap");
	CHECK(!sna_lt(0, 0xffffffffu), "RFC 1982: 0 is not < 2^32-1");
	CHECK(sna_le(0xffffffffu, 0), "RFC 1982: 2^32-1 <= 0 after wrap");
	CHECK(!sna_le(0, 0xffffffffu), "RFC 1982: 0 is not <= 2^32-1");
	CHECK(sna_lt(0xfffffff0u, 0x10), "RFC 1982: wrap across zero");
}

static void sna_equal_is_le_but_not_lt(void **state)
{
	static const uint32_t v[] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK(!sna_lt(v[i], v[i]), "RFC 1982: %#x is not < itself",
		      v[i]);
		CHECK(sna_le(v[i], v[i]), "RFC 1982: %#x is <= itself", v[i]);
	}
}

static void sna_distance_2_pow_31_minus_1_is_ordered(void **state)
{
	/* RFC 1982 §3.2: i1 < i2 when 0 < i2 - i1 < 2^31. */
	const uint32_t bases[] = {0, 5, 0x80000000u, 0xfffffff0u};

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		uint32_t a = bases[i], b = a + 0x7fffffffu;

		CHECK(sna_lt(a, b) && sna_le(a, b),
		      "RFC 1982: %#x < %#x (distance 2^31-1)", a, b);
		CHECK(!sna_lt(b, a) && !sna_le(b, a),
		      "RFC 1982: %#x is not < %#x (distance 2^31-1)", b, a);
		CHECK(sna_lt(a, a + 1) && !sna_lt(a + 1, a),
		      "RFC 1982: %#x < %#x (distance 1)", a, a + 1);
	}
}

static void sna_distance_2_pow_31_is_undefined_but_symmetric(void **state)
{
	/* RFC 1982 §3.2 leaves a distance of exactly 2^31 undefined.  The
	 * implementation answers "less" both ways; what matters is that the
	 * answer does not depend on the argument order, so no caller can
	 * see a < b and b > a.  CmdSN windows stay far below this. */
	uint32_t a = 7, b = a + 0x80000000u;

	CHECK(sna_lt(a, b) == sna_lt(b, a),
	      "2^31 apart: the answer should not depend on argument order "
	      "beyond what RFC 1982 leaves undefined");
	CHECK(a != b, "distinct");
}

/* -------------------------------------------------------- LUN */

static void lun_peripheral_method_carries_0_to_255(void **state)
{
	for (uint64_t l = 0; l < 256; l++) {
		uint64_t raw = l << 48, got = 999;

		CHECK(iscsi_lun_decode(raw, &got) && got == l,
		      "SAM-5 §4.7.3: method 00b, bus 0, LUN %llu must decode",
		      (unsigned long long)l);
		CHECK(iscsi_lun_encode(l) == raw,
		      "SAM-5: LUN %llu < 256 encodes as peripheral device "
		      "addressing: expected %#llx, got %#llx",
		      (unsigned long long)l, (unsigned long long)raw,
		      (unsigned long long)iscsi_lun_encode(l));
	}
}

static void lun_256_uses_flat_space_method_01(void **state)
{
	uint64_t got = 0;

	EXPECT_U64(iscsi_lun_encode(255), 0x00ffull << 48);
	EXPECT_U64(iscsi_lun_encode(256), 0x4100ull << 48);
	CHECK(iscsi_lun_decode(0x4100ull << 48, &got) && got == 256,
	      "SAM-5 §4.7.6: flat space 0x4100 is LUN 256");
}

static void lun_16383_is_the_largest_flat_space_lun(void **state)
{
	uint64_t got = 0;

	EXPECT_U64(iscsi_lun_encode(16383), 0x7fffull << 48);
	CHECK(iscsi_lun_decode(0x7fffull << 48, &got) && got == 16383,
	      "SAM-5 §4.7.6: flat space carries 14 bits, 16383 max");
}

static void lun_flat_space_round_trips_256_to_16383(void **state)
{
	for (uint64_t l = 256; l < 16384; l++) {
		uint64_t got = 0;

		CHECK(iscsi_lun_decode(iscsi_lun_encode(l), &got) && got == l,
		      "LUN %llu did not round trip", (unsigned long long)l);
	}
}

static void lun_flat_space_may_carry_small_luns(void **state)
{
	uint64_t got = 99;

	CHECK(iscsi_lun_decode(0x4005ull << 48, &got) && got == 5,
	      "SAM-5 §4.7.6: flat space 0x4005 is LUN 5 (initiators such "
	      "as Windows use it for every LUN)");
	CHECK(iscsi_lun_decode(0x4000ull << 48, &got) && got == 0,
	      "flat space 0x4000 is LUN 0");
}

static void lun_peripheral_with_nonzero_bus_is_rejected(void **state)
{
	uint64_t got = 77;

	CHECK(!iscsi_lun_decode(0x0100ull << 48, &got),
	      "SAM-5 §4.7.3: bus identifier 1 is not a LUN we address");
	CHECK(!iscsi_lun_decode(0x3f00ull << 48, &got),
	      "SAM-5 §4.7.3: bus identifier 63 is not a LUN we address");
	CHECK(got == 77, "a rejected LUN must not write *lun");
}

static void lun_with_nonzero_second_level_is_rejected(void **state)
{
	uint64_t got;

	for (int bit = 0; bit < 48; bit++)
		CHECK(!iscsi_lun_decode((1ull << bit), &got),
		      "SAM-5 §4.7.2: a single-level LUN has bytes 2-7 zero; "
		      "bit %d set was accepted",
		      bit);
	CHECK(!iscsi_lun_decode((0x4001ull << 48) | 1, &got),
	      "flat space with a second level must be rejected");
}

static void lun_methods_10_and_11_are_rejected(void **state)
{
	uint64_t got;

	CHECK(!iscsi_lun_decode(0x8001ull << 48, &got),
	      "SAM-5 §4.7.5: logical unit addressing (10b) is not supported");
	CHECK(!iscsi_lun_decode(0xc000ull << 48, &got),
	      "SAM-5 §4.7.7: extended addressing (11b) is not supported");
	CHECK(!iscsi_lun_decode(0xffffffffffffffffull, &got),
	      "all ones is the well-known W-LUN space, not addressed");
}

/* ------------------------------------------------------ CRC32C */

/* Bitwise CRC32C, the definition (reflected polynomial 0x82F63B78). */
static uint32_t ref_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return crc;
}

static uint32_t ref_digest(const uint8_t *p, size_t len)
{
	return ~ref_crc32c(~0u, p, len);
}

/*
 * RFC 3720 Appendix B.4 lists each CRC as the four bytes sent on the
 * wire ("aa 36 91 8a").  iSCSI sends the digest least significant byte
 * first, and iscsi_digest() returns the value whose little-endian bytes
 * are those four: so "aa 36 91 8a" is 0x8a9136aa.  Both forms are
 * checked: the value, and its little-endian bytes against the RFC text.
 */
static void check_vector(const uint8_t *buf, size_t len, const uint8_t wire[4],
			 const char *what)
{
	uint32_t d = iscsi_digest(buf, len);
	uint8_t le[4] = {(uint8_t)d, (uint8_t)(d >> 8), (uint8_t)(d >> 16),
			 (uint8_t)(d >> 24)};

	CHECK(memcmp(le, wire, 4) == 0,
	      "RFC 3720 B.4 %s: digest bytes on the wire must be "
	      "%02x %02x %02x %02x, got %02x %02x %02x %02x",
	      what, wire[0], wire[1], wire[2], wire[3], le[0], le[1], le[2],
	      le[3]);
}

static void crc32c_rfc3720_b4_32_bytes_of_zeros(void **state)
{
	uint8_t buf[32] = {0};
	static const uint8_t wire[4] = {0xaa, 0x36, 0x91, 0x8a};

	check_vector(buf, 32, wire, "32 bytes of zeros");
	EXPECT_U64(iscsi_digest(buf, 32), 0x8a9136aau);
}

static void crc32c_rfc3720_b4_32_bytes_of_ones(void **state)
{
	uint8_t buf[32];
	static const uint8_t wire[4] = {0x43, 0xab, 0xa8, 0x62};

	memset(buf, 0xff, sizeof(buf));
	check_vector(buf, 32, wire, "32 bytes of 0xff");
	EXPECT_U64(iscsi_digest(buf, 32), 0x62a8ab43u);
}

static void crc32c_rfc3720_b4_32_incrementing_bytes(void **state)
{
	uint8_t buf[32];
	static const uint8_t wire[4] = {0x4e, 0x79, 0xdd, 0x46};

	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	check_vector(buf, 32, wire, "32 incrementing bytes 00..1f");
	EXPECT_U64(iscsi_digest(buf, 32), 0x46dd794eu);
}

static void crc32c_rfc3720_b4_32_decrementing_bytes(void **state)
{
	uint8_t buf[32];
	static const uint8_t wire[4] = {0x5c, 0xdb, 0x3f, 0x11};

	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	check_vector(buf, 32, wire, "32 decrementing bytes 1f..00");
	EXPECT_U64(iscsi_digest(buf, 32), 0x113fdb5cu);
}

static void crc32c_rfc3720_b4_read10_command_pdu(void **state)
{
	static const uint8_t pdu[48] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00,
		0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	static const uint8_t wire[4] = {0x56, 0x3a, 0x96, 0xd9};
	struct iscsi_bhs h;

	check_vector(pdu, sizeof(pdu), wire, "SCSI Read (10) command PDU");
	EXPECT_U64(iscsi_digest(pdu, sizeof(pdu)), 0xd9963a56u);
	/* and the codec reads that PDU as the RFC describes it */
	iscsi_bhs_decode(pdu, &h);
	CHECK(h.opcode == ISCSI_OP_SCSI_CMD && !h.immediate &&
		      (h.flags & ISCSI_FLAG_FINAL) &&
		      (h.flags & ISCSI_CMD_F_READ) && h.itt == 0x14000000 &&
		      h.w20 == 0x400 && h.w24 == 0x14 && h.w28 == 0x18 &&
		      h.cdb[0] == 0x28,
	      "RFC 3720 B.4 PDU: F+R SCSI Command, ITT 0x14000000, EDTL "
	      "1024, CmdSN 20, ExpStatSN 24, CDB READ(10)");
}

static void crc32c_of_nothing_is_zero(void **state)
{
	CHECK(iscsi_digest("", 0) == 0,
	      "CRC32C of an empty buffer is 0 (~(~0))");
	CHECK(iscsi_digest_iov(NULL, 0) == 0,
	      "digest of no iovecs equals the digest of nothing");
}

static void crc32c_table_path_matches_bitwise_reference(void **state)
{
	uint8_t buf[256];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 100; len++) {
			uint32_t want = ref_crc32c(~0u, buf + off, len);
			uint32_t got = crc32c_sw(~0u, buf + off, len);

			CHECK(got == want,
			      "slicing-by-8 CRC32C at offset %zu length %zu: "
			      "expected %#x, got %#x",
			      off, len, want, got);
		}
}

/* The three-stream path (lengths from 3 x 128 bytes up) against the
 * bitwise reference: every stream length, the short tails, an unaligned
 * start and a running CRC carried in (digests are computed in pieces). */
static void crc32c_three_streams_match_bitwise_reference(void **state)
{
	static uint8_t buf[3 * 1024 * 3 + 64];
	static const size_t lens[] = {383,  384,  385,	391,  767,  768,
				      1151, 3071, 3072, 3073, 4096, 4100,
				      6144, 8192, 9216, 9217};

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 197 + (i >> 9) + 3);
	for (size_t off = 0; off < 3; off++)
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			uint32_t init = off == 1 ? 0x12345678u : ~0u;
			uint32_t want = ref_crc32c(init, buf + off, lens[k]);
			uint32_t got = crc32c(init, buf + off, lens[k]);

			CHECK(got == want,
			      "crc32c() at offset %zu length %zu: expected "
			      "%#x, got %#x",
			      off, lens[k], want, got);
			CHECK(crc32c_1way(init, buf + off, lens[k]) == want,
			      "crc32c_1way() at offset %zu length %zu", off,
			      lens[k]);
		}
}

static void crc32c_hardware_path_matches_bitwise_reference(void **state)
{
#if defined(__x86_64__)
	uint8_t buf[256];

	if (!cpu_has_sse42()) {
		skip();
		return;
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 197 + 3);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 100; len++) {
			uint32_t want = ref_crc32c(~0u, buf + off, len);
			uint32_t got = crc32c_hw(~0u, buf + off, len);

			CHECK(got == want,
			      "SSE4.2 CRC32C at offset %zu length %zu: "
			      "expected %#x, got %#x",
			      off, len, want, got);
		}
#else
	skip();
#endif
}

static void iscsi_digest_matches_reference_on_random_buffers(void **state)
{
	uint8_t buf[4200];
	uint32_t x = 0x12345678;

	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t off = 0; off < 16; off++)
		for (size_t len = 0; len <= 100; len++)
			CHECK(iscsi_digest(buf + off, len) ==
				      ref_digest(buf + off, len),
			      "iscsi_digest at offset %zu length %zu", off,
			      len);
	/* a few long ones, through many 8-byte steps */
	for (size_t len = 4000; len < 4100; len += 7)
		CHECK(iscsi_digest(buf + 3, len) == ref_digest(buf + 3, len),
		      "iscsi_digest at length %zu", len);
}

static void crc32c_continues_across_calls(void **state)
{
	uint8_t buf[77];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i ^ 0xa5);
	for (size_t cut = 0; cut <= sizeof(buf); cut++) {
		uint32_t c = crc32c(~0u, buf, cut);

		c = crc32c(c, buf + cut, sizeof(buf) - cut);
		CHECK(~c == ref_digest(buf, sizeof(buf)),
		      "crc32c split at %zu must equal one pass", cut);
	}
}

static void digest_iov_equals_digest_of_concatenation(void **state)
{
	uint8_t all[300];
	struct iovec iov[6];
	/* 48-byte BHS, empty, odd sizes, 3 bytes of pad: as the tx path */
	static const size_t sizes[6] = {48, 0, 1, 7, 200, 3};
	size_t off = 0;

	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)(i * 7 + 1);
	for (int i = 0; i < 6; i++) {
		iov[i].iov_base = all + off;
		iov[i].iov_len = sizes[i];
		off += sizes[i];
	}
	for (int n = 0; n <= 6; n++) {
		size_t total = 0;

		for (int i = 0; i < n; i++)
			total += sizes[i];
		CHECK(iscsi_digest_iov(iov, n) == iscsi_digest(all, total),
		      "RFC 7143 §13.1: the digest covers the bytes, not how "
		      "they are gathered (%d iovecs, %zu bytes)",
		      n, total);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bhs_opcode_and_i_bit_are_byte_0),
		cmocka_unit_test(bhs_decode_drops_reserved_bit_7_of_byte_0),
		cmocka_unit_test(bhs_encode_masks_opcode_to_6_bits),
		cmocka_unit_test(bhs_flags_and_bytes_2_3_round_trip),
		cmocka_unit_test(bhs_total_ahs_length_is_byte_4_up_to_255),
		cmocka_unit_test(bhs_data_segment_length_is_24_bits_big_endian),
		cmocka_unit_test(
			bhs_data_length_past_24_bits_does_not_touch_ahs_length),
		cmocka_unit_test(bhs_lun_itt_and_words_sit_at_their_offsets),
		cmocka_unit_test(
			bhs_decode_then_encode_is_identity_for_every_opcode),
		cmocka_unit_test(bhs_scsi_command_encodes_cdb_over_bytes_32_47),
		cmocka_unit_test(bhs_other_opcodes_encode_words_not_cdb),
		cmocka_unit_test(bhs_immediate_scsi_command_still_carries_cdb),
		cmocka_unit_test(pad4_rounds_up_to_a_multiple_of_4),
		cmocka_unit_test(
			wire_len_counts_bhs_ahs_digests_data_and_padding),
		cmocka_unit_test(sna_wraps_so_0xffffffff_is_before_0),
		cmocka_unit_test(sna_equal_is_le_but_not_lt),
		cmocka_unit_test(sna_distance_2_pow_31_minus_1_is_ordered),
		cmocka_unit_test(
			sna_distance_2_pow_31_is_undefined_but_symmetric),
		cmocka_unit_test(lun_peripheral_method_carries_0_to_255),
		cmocka_unit_test(lun_256_uses_flat_space_method_01),
		cmocka_unit_test(lun_16383_is_the_largest_flat_space_lun),
		cmocka_unit_test(lun_flat_space_round_trips_256_to_16383),
		cmocka_unit_test(lun_flat_space_may_carry_small_luns),
		cmocka_unit_test(lun_peripheral_with_nonzero_bus_is_rejected),
		cmocka_unit_test(lun_with_nonzero_second_level_is_rejected),
		cmocka_unit_test(lun_methods_10_and_11_are_rejected),
		cmocka_unit_test(crc32c_rfc3720_b4_32_bytes_of_zeros),
		cmocka_unit_test(crc32c_rfc3720_b4_32_bytes_of_ones),
		cmocka_unit_test(crc32c_rfc3720_b4_32_incrementing_bytes),
		cmocka_unit_test(crc32c_rfc3720_b4_32_decrementing_bytes),
		cmocka_unit_test(crc32c_rfc3720_b4_read10_command_pdu),
		cmocka_unit_test(crc32c_of_nothing_is_zero),
		cmocka_unit_test(crc32c_table_path_matches_bitwise_reference),
		cmocka_unit_test(
			crc32c_hardware_path_matches_bitwise_reference),
		cmocka_unit_test(crc32c_three_streams_match_bitwise_reference),
		cmocka_unit_test(
			iscsi_digest_matches_reference_on_random_buffers),
		cmocka_unit_test(crc32c_continues_across_calls),
		cmocka_unit_test(digest_iov_equals_digest_of_concatenation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
