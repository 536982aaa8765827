/*
 * test_pr_refusals.c — what PERSISTENT RESERVE OUT refuses (scsi/pr.c),
 * SPC-4 §5.9 and §6.16: REGISTER AND MOVE's checks, SPEC_I_PT's, the
 * registration table when full, Data-Out shorter than the parameter
 * list, an SPC-2 reservation of another nexus, the TransportID's ISID in
 * either hex case, and APTPL state that cannot be saved or read back.
 * Each refusal leaves the registrations and the reservation as they
 * were (checked through PERSISTENT RESERVE IN).  Driven through
 * scsi_cmd_exec() on mem logical units with the stub environment of
 * scsi_rig.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_rig.h"

#define SA_REGISTER 0
#define SA_RESERVE 1
#define SA_REGISTER_MOVE 7
#define SA_REGISTER_IGNORE 6
#define WR_EX 1

/* READ KEYS: how many keys are registered (key i into keys[i]). */
static unsigned int read_keys(struct fx *f, uint64_t *keys, unsigned int cap)
{
	uint8_t cdb[10] = {0x5e, 0};
	unsigned int n;

	put_be16(cdb + 7, 8 + 8 * 64);
	expect_good(run(f, cdb, 10, 8 + 8 * 64, 0));
	n = get_be32(f->buf + 4) / 8;
	for (unsigned int i = 0; i < n && i < cap; i++)
		keys[i] = get_be64(f->buf + 8 + 8 * i);
	return n;
}

/* READ RESERVATION: the holder's key, or 0 without a reservation. */
static uint64_t holder_key(struct fx *f, uint8_t *type)
{
	uint8_t cdb[10] = {0x5e, 1};

	put_be16(cdb + 7, 24);
	expect_good(run(f, cdb, 10, 24, 0));
	if (get_be32(f->buf + 4) == 0)
		return 0;
	if (type)
		*type = f->buf[21] & 0x0f;
	return get_be64(f->buf + 8);
}

static uint32_t generation(struct fx *f)
{
	uint8_t cdb[10] = {0x5e, 0};

	put_be16(cdb + 7, 8);
	expect_good(run(f, cdb, 10, 8, 0));
	return get_be32(f->buf);
}

/* REGISTER AND MOVE's parameter list: key, SARK, flags (UNREG 0x02,
 * APTPL 0x01), relative target port, TransportID tid (or tlen bytes
 * claimed with none when tid is NULL); returns the list's length. */
static uint32_t move_list(uint8_t *p, uint64_t key, uint64_t sark,
			  uint8_t flags, uint16_t rtp, const char *tid)
{
	uint32_t tl = 0;

	memset(p, 0, 128);
	put_be64(p, key);
	put_be64(p + 8, sark);
	p[17] = flags;
	put_be16(p + 18, rtp);
	if (tid)
		tl = put_tid(p + 24, tid);
	put_be32(p + 20, tl);
	return 24 + tl;
}

static struct scsi_cmd *move(struct fx *f, struct scsi_sess *s, uint32_t plen,
			     uint32_t data_out)
{
	uint8_t cdb[10] = {0x5f, SA_REGISTER_MOVE, WR_EX};

	put_be32(cdb + 5, plen);
	return run_on(f, s, 0, cdb, 10, data_out, data_out);
}

static uint16_t field_pointer(const struct scsi_cmd *c)
{
	assert_true(c->sense[15] & 0x80); /* SKSV */
	return get_be16(c->sense + 16);
}

/* The rig's session's name, as scsi_rig.c's fx_new() gives it. */
static const char *rig_name(struct fx *f)
{
	return f->sess->id.initiator_name;
}

/* f->sess registered (key 1) and holding WRITE EXCLUSIVE. */
static void hold(struct fx *f)
{
	expect_good(prout(f, f->sess, SA_REGISTER_IGNORE, 0, 0, 1, 0));
	expect_good(prout(f, f->sess, SA_RESERVE, WR_EX, 1, 0, 0));
}

/* SPC-4 §5.9.9: REGISTER AND MOVE from a nexus that is registered but
 * does not hold the reservation, or with an all-registrants one, is a
 * RESERVATION CONFLICT; with no reservation at all it is ILLEGAL
 * REQUEST, INVALID FIELD IN CDB (SPC-5 §5.13.8: "there is no persistent
 * reservation established"; it was a conflict before 2026-12-07);
 * nothing changes. */
static void move_by_a_non_holder_conflicts(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0x23, 1);
	const char *tid = "iqn.x:b,i,0x230000000000";
	uint64_t keys[4];
	uint32_t gen;

	expect_good(prout(f, f->sess, SA_REGISTER_IGNORE, 0, 0, 1, 0));
	expect_good(prout(f, s2, SA_REGISTER_IGNORE, 0, 0, 2, 0));
	/* no reservation at all */
	gen = generation(f);
	expect_sense(move(f, f->sess, move_list(f->buf, 1, 9, 0, 1, tid), 64),
		     SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* s2 holds it: f is registered but not the holder */
	expect_good(prout(f, s2, SA_RESERVE, WR_EX, 2, 0, 0));
	assert_int_equal(move(f, f->sess,
			      move_list(f->buf, 1, 9, 0, 1, "iqn.x:c"), 64)
				 ->status,
			 SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(holder_key(f, NULL), 2);
	/* an all-registrants reservation (type 7) has no one holder */
	expect_good(prout(f, s2, 2, WR_EX, 2, 0, 0)); /* RELEASE */
	expect_good(prout(f, s2, SA_RESERVE, 7, 2, 0, 0));
	assert_int_equal(move(f, s2, move_list(f->buf, 2, 9, 0, 1, "iqn.x:c"),
			      64)
				 ->status,
			 SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(read_keys(f, keys, 4), 2);
	assert_int_equal(generation(f), gen);
	scsi_sess_free(s2);
}

/* SPC-4 §6.16.4: a list shorter than its 24-byte header, or whose
 * TRANSPORTID PARAMETER DATA LENGTH runs past it, is a PARAMETER LIST
 * LENGTH ERROR; a SERVICE ACTION RESERVATION KEY of zero and a
 * TransportID that is not an iSCSI one are INVALID FIELD IN PARAMETER
 * LIST at bytes 8 and 24; moving to the holder's own nexus is refused. */
static void move_refuses_bad_parameter_lists(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c;
	char me[256];
	uint32_t plen, gen;
	uint8_t type = 0;

	snprintf(me, sizeof(me), "%s,i,0x000000000000", rig_name(f));
	hold(f);
	gen = generation(f);
	plen = move_list(f->buf, 1, 9, 0, 1, "iqn.x:b,i,0x230000000000");
	expect_sense(move(f, f->sess, 23, 64), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	plen = move_list(f->buf, 1, 9, 0, 1, "iqn.x:b,i,0x230000000000");
	expect_sense(move(f, f->sess, plen - 4, 64), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	/* SARK 0 */
	plen = move_list(f->buf, 1, 0, 0, 1, "iqn.x:b,i,0x230000000000");
	c = move(f, f->sess, plen, plen);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(field_pointer(c), 8);
	/* a Fibre Channel TransportID (protocol 0) */
	plen = move_list(f->buf, 1, 9, 0, 1, "iqn.x:b,i,0x230000000000");
	f->buf[24] = 0x40;
	c = move(f, f->sess, plen, plen);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(field_pointer(c), 24);
	/* no TransportID at all */
	plen = move_list(f->buf, 1, 9, 0, 1, NULL);
	c = move(f, f->sess, plen, plen);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(field_pointer(c), 24);
	/* an ISID that is not 12 hex digits */
	plen = move_list(f->buf, 1, 9, 0, 1, "iqn.x:b,i,0x2300000000g0");
	c = move(f, f->sess, plen, plen);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	/* to the holder's own I_T nexus (the rig's session, port 1) */
	plen = move_list(f->buf, 1, 9, 0, 1, me);
	c = move(f, f->sess, plen, plen);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(field_pointer(c), 24);
	/* nothing moved, nothing counted */
	assert_int_equal(holder_key(f, &type), 1);
	assert_int_equal(type, WR_EX);
	assert_int_equal(generation(f), gen);
}

/* REGISTER AND MOVE from s with a parameter list of plen bytes in a
 * buffer of exactly plen bytes (none at all for 0), as the iSCSI layer
 * gives one for an EDTL of plen: nothing past the list can be read
 * unnoticed (AddressSanitizer), nor through a NULL buffer. */
static struct scsi_cmd *move_exact(struct fx *f, struct scsi_sess *s,
				   const uint8_t *list, uint32_t plen)
{
	uint8_t cdb[10] = {0x5f, SA_REGISTER_MOVE, WR_EX};
	struct scsi_cmd *c;
	uint8_t *buf = plen ? malloc(plen) : NULL;

	assert_true(plen == 0 || buf != NULL);
	if (plen)
		memcpy(buf, list, plen);
	put_be32(cdb + 5, plen);
	c = run_on_buf(f, s, 0, cdb, sizeof(cdb), buf, plen, plen);
	c->buf = NULL;
	free(buf);
	return c;
}

/* SPC-4 §6.16.4 (table 232): a REGISTER AND MOVE parameter list shorter
 * than its 24-byte header is a PARAMETER LIST LENGTH ERROR before
 * anything in it is read, from the holder as from an unregistered nexus.
 * Regression: the RESERVATION KEY was read from bytes 0..7 before the
 * list's length was looked at, so a registered nexus's REGISTER AND MOVE
 * with PARAMETER LIST LENGTH 0 and no Data-Out (the iSCSI layer then has
 * no buffer) read through a NULL pointer: the daemon crashed; a shorter
 * list was read past its end. */
static void move_list_shorter_than_its_header_is_refused(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0x23, 1);
	uint8_t list[24];
	uint64_t keys[2];

	hold(f);
	memset(list, 0, sizeof(list));
	put_be64(list, 1); /* the holder's key */
	for (uint32_t plen = 0; plen < 24; plen += 7) {
		expect_sense(move_exact(f, f->sess, list, plen),
			     SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		expect_sense(move_exact(f, s2, list, plen), SK_ILLEGAL_REQUEST,
			     ASC_PARAM_LIST_LENGTH);
	}
	/* nothing moved, nothing registered */
	assert_int_equal(holder_key(f, NULL), 1);
	assert_int_equal(read_keys(f, keys, 2), 1);
	scsi_sess_free(s2);
}

/* SPC-4 §6.16.4: a TRANSPORTID PARAMETER DATA LENGTH that runs past the
 * list is a PARAMETER LIST LENGTH ERROR however large it is.  Regression:
 * 24 plus it was summed in 32 bits, so 0xffffffe8 wrapped to 0, passed
 * the check, and the TransportID was read from the bytes after the
 * 24-byte list: a valid one placed there was taken (the reservation
 * moved), and a buffer of exactly 24 bytes was read past its end. */
static void move_transport_id_length_wrapping_32_bits_is_refused(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0x23, 1);
	uint32_t plen, gen;

	hold(f);
	gen = generation(f);
	for (uint32_t tlen = 0xffffffe8u; tlen != 0; tlen += 0xc) {
		/* the TransportID naming s2 lies just after the list */
		plen = move_list(f->buf, 1, 9, 0, 1,
				 "iqn.x:b,i,0x230000000000");
		assert_true(plen > 24);
		put_be32(f->buf + 20, tlen);
		expect_sense(move(f, f->sess, 24, 24), SK_ILLEGAL_REQUEST,
			     ASC_PARAM_LIST_LENGTH);
		expect_sense(move_exact(f, f->sess, f->buf, 24),
			     SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
	}
	/* nothing moved, nothing counted */
	assert_int_equal(holder_key(f, NULL), 1);
	assert_int_equal(generation(f), gen);
	scsi_sess_free(s2);
}

/* REGISTER AND MOVE to a nexus already registered gives it the new key
 * (SPC-4 §5.9.9: "the I_T nexus ... shall be registered with the
 * SERVICE ACTION RESERVATION KEY"), keeps the mover registered without
 * UNREG, and sets APTPL from the list. */
static void move_to_a_registered_nexus_replaces_its_key(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0xab, 1);
	uint64_t keys[4];
	uint32_t plen;

	hold(f);
	expect_good(prout(f, s2, SA_REGISTER_IGNORE, 0, 0, 2, 0));
	/* the ISID in upper-case hex names s2 (0xAB0000000000) */
	plen = move_list(f->buf, 1, 0x77, 0, 1, "iqn.x:b,i,0xAB0000000000");
	expect_good(move(f, f->sess, plen, plen));
	assert_int_equal(holder_key(f, NULL), 0x77);
	assert_int_equal(read_keys(f, keys, 4), 2);
	assert_true((keys[0] == 1 && keys[1] == 0x77) ||
		    (keys[0] == 0x77 && keys[1] == 1));
	/* and back, in lower-case hex, to the rig's session */
	{
		char tid[256];

		snprintf(tid, sizeof(tid), "%s,i,0x%02x0000000000", rig_name(f),
			 f->sess->id.isid[0]);
		plen = move_list(f->buf, 0x77, 0x5, 0, 1, tid);
	}
	expect_good(move(f, s2, plen, plen));
	assert_int_equal(holder_key(f, NULL), 0x5);
	scsi_sess_free(s2);
}

/* A Data-Out shorter than the PARAMETER LIST LENGTH: INVALID FIELD IN
 * INFORMATION UNIT (nothing of a half-sent list is read). */
static void prout_data_out_shorter_than_the_list_is_refused(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x5f, SA_REGISTER_IGNORE};
	uint64_t keys[1];

	memset(f->buf, 0, 24);
	put_be64(f->buf + 8, 0x42);
	put_be32(cdb + 5, 24);
	expect_sense(run(f, cdb, 10, 16, 16), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_IU);
	assert_int_equal(read_keys(f, keys, 1), 0);
	/* PR IN of the same LU still answers, the full list registers */
	memset(f->buf, 0, 24);
	put_be64(f->buf + 8, 0x42);
	expect_good(run(f, cdb, 10, 24, 24));
	assert_int_equal(read_keys(f, keys, 1), 1);
	assert_int_equal(keys[0], 0x42);
}

/* While an SPC-2 RESERVE is held, PERSISTENT RESERVE OUT is a
 * RESERVATION CONFLICT, from the holder too: the two kinds of reservation
 * never coexist (SPC-4 §5.12.3; reserve.c asserts it).  Regression: the
 * holder's REGISTER was taken, and its RELEASE then failed that
 * assertion (the daemon aborted: one initiator could stop the target). */
static void prout_under_an_spc2_reservation_conflicts(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0, 1);
	uint8_t res[6] = {0x16}, rel[6] = {0x17};
	uint64_t keys[2];

	expect_good(run_on(f, s2, 0, res, 6, 0, 0));
	assert_int_equal(
		prout(f, f->sess, SA_REGISTER_IGNORE, 0, 0, 3, 0)->status,
		SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(prout(f, s2, SA_REGISTER_IGNORE, 0, 0, 4, 0)->status,
			 SCSI_STATUS_RESERVATION_CONFLICT);
	expect_good(run_on(f, s2, 0, rel, 6, 0, 0));
	assert_int_equal(read_keys(f, keys, 2), 0); /* neither registered */
	/* released: both may register, and RESERVE then conflicts */
	expect_good(prout(f, s2, SA_REGISTER_IGNORE, 0, 0, 4, 0));
	expect_good(prout(f, f->sess, SA_REGISTER_IGNORE, 0, 0, 3, 0));
	assert_int_equal(read_keys(f, keys, 2), 2);
	assert_int_equal(run_on(f, s2, 0, res, 6, 0, 0)->status,
			 SCSI_STATUS_RESERVATION_CONFLICT);
	scsi_sess_free(s2);
}

/* SPC-4 §6.16.3: SPEC_I_PT from a nexus already registered is INVALID
 * FIELD IN PARAMETER LIST at byte 20 bit 3; SPEC_I_PT with a list of 24
 * bytes (no TRANSPORTID PARAMETER DATA LENGTH), or one whose TransportIDs
 * would end past the list (however large the length), is a PARAMETER
 * LIST LENGTH ERROR. */
static void spec_i_pt_refusals(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x5f, SA_REGISTER};
	struct scsi_cmd *c;
	uint64_t keys[2];
	uint32_t tl;

	/* unregistered, 24 bytes only */
	memset(f->buf, 0, 64);
	put_be64(f->buf + 8, 0x10);
	f->buf[20] = 0x08;
	put_be32(cdb + 5, 24);
	expect_sense(run(f, cdb, 10, 24, 24), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	assert_int_equal(read_keys(f, keys, 2), 0);
	/* unregistered, a TRANSPORTID PARAMETER DATA LENGTH that 28 plus it
	 * wraps past 2^32 to inside the list (found by fuzz-smoke: the list
	 * was taken for empty and an assertion failed) */
	memset(f->buf, 0, 64);
	put_be64(f->buf + 8, 0x10);
	f->buf[20] = 0x08;
	put_be32(f->buf + 24, 0xfffffff0u);
	put_be32(cdb + 5, 32);
	expect_sense(run(f, cdb, 10, 32, 32), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	assert_int_equal(read_keys(f, keys, 2), 0);
	/* registered, then SPEC_I_PT with a valid TransportID */
	expect_good(prout(f, f->sess, SA_REGISTER, 0, 0, 0x10, 0));
	memset(f->buf, 0, 64);
	put_be64(f->buf, 0x10);
	put_be64(f->buf + 8, 0x11);
	f->buf[20] = 0x08;
	tl = put_tid(f->buf + 28, "iqn.x:b,i,0x230000000000");
	put_be32(f->buf + 24, tl);
	put_be32(cdb + 5, 28 + tl);
	c = run(f, cdb, 10, 28 + tl, 28 + tl);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(field_pointer(c), 20);
	assert_int_equal(c->sense[15] & 0x0f, 0x08 | 3); /* BPV, bit 3 */
	assert_int_equal(read_keys(f, keys, 2), 1);
	assert_int_equal(keys[0], 0x10);
}

/* SPC-4 §5.12.7: SPEC_I_PT registers the sender and each nexus its
 * TransportIDs name, every one once: a TransportID naming the sender's
 * own nexus adds no second registration (it did: READ KEYS listed the
 * key twice and pr_regs_ok()'s slow assertion failed; found by the
 * simulator's `pr-register spec-i-pt=A,B` from A). */
static void spec_i_pt_naming_the_sender_registers_it_once(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x5f, SA_REGISTER};
	const uint8_t *i = f->sess->id.isid;
	char me[300];
	uint64_t keys[4];
	uint32_t tl;

	snprintf(me, sizeof(me), "%s,i,0x%02x%02x%02x%02x%02x%02x", rig_name(f),
		 i[0], i[1], i[2], i[3], i[4], i[5]);
	memset(f->buf, 0, 512);
	put_be64(f->buf + 8, 0x10);
	f->buf[20] = 0x08;
	tl = put_tid(f->buf + 28, me);
	tl += put_tid(f->buf + 28 + tl, "iqn.x:b,i,0x230000000000");
	put_be32(f->buf + 24, tl);
	put_be32(cdb + 5, 28 + tl);
	expect_good(run(f, cdb, 10, 28 + tl, 28 + tl));
	assert_int_equal(read_keys(f, keys, 4), 2);
	assert_int_equal(keys[0], 0x10);
	assert_int_equal(keys[1], 0x10);
	/* unregistering leaves nobody of the sender's behind */
	expect_good(prout(f, f->sess, SA_REGISTER, 0, 0x10, 0, 0));
	assert_int_equal(read_keys(f, keys, 4), 1);
}

/* SPC-5 §5.13.7 table 67 footnote b (SPC-4 §5.12.7): "If any I_T nexus
 * specified in the parameter list is registered, the command shall be
 * terminated with CHECK CONDITION status, with the sense key set to
 * ILLEGAL REQUEST, and the additional sense code set to INVALID FIELD IN
 * PARAMETER LIST": the field pointer at its TransportID, nothing
 * registered (the unregistered nexus named before it neither).  It was
 * passed over before 2026-12-07. */
static void spec_i_pt_naming_a_registered_nexus_is_refused(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0x23, 1);
	uint8_t cdb[10] = {0x5f, SA_REGISTER};
	struct scsi_cmd *c;
	uint64_t keys[4];
	uint32_t tl, gen;

	expect_good(prout(f, s2, SA_REGISTER_IGNORE, 0, 0, 2, 0));
	gen = generation(f);
	memset(f->buf, 0, 512);
	put_be64(f->buf + 8, 0x10);
	f->buf[20] = 0x08;
	tl = put_tid(f->buf + 28, "iqn.x:c,i,0x240000000000");
	tl += put_tid(f->buf + 28 + tl, "iqn.x:b,i,0x230000000000");
	put_be32(f->buf + 24, tl);
	put_be32(cdb + 5, 28 + tl);
	c = run(f, cdb, 10, 28 + tl, 28 + tl);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	/* the second one: after the first, 4 + 28 bytes */
	assert_int_equal(field_pointer(c), 28 + 32);
	assert_int_equal(read_keys(f, keys, 4), 1);
	assert_int_equal(keys[0], 2);
	assert_int_equal(generation(f), gen);
	scsi_sess_free(s2);
}

/* SPC-4 §7.6.4.6: "iSCSI TransportIDs with a format code of 00b may be
 * rejected", and are: one names a device (every initiator port of that
 * name), not the one I_T nexus a registration or a move is for.  SPEC_I_PT
 * with one is INVALID FIELD IN PARAMETER LIST at it (before 2026-12-07 it
 * registered the nexus of ISID 0, which no session has), and so is a
 * REGISTER AND MOVE to one, at byte 24. */
static void transport_id_format_00b_is_refused(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x5f, SA_REGISTER};
	struct scsi_cmd *c;
	uint64_t keys[4];
	uint32_t tl, plen;

	memset(f->buf, 0, 128);
	put_be64(f->buf + 8, 0x10);
	f->buf[20] = 0x08;
	tl = put_tid(f->buf + 28, "iqn.x:b");
	f->buf[28] = 0x05; /* FORMAT CODE 00b, iSCSI */
	put_be32(f->buf + 24, tl);
	put_be32(cdb + 5, 28 + tl);
	c = run(f, cdb, 10, 28 + tl, 28 + tl);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(field_pointer(c), 28);
	assert_int_equal(read_keys(f, keys, 4), 0);
	hold(f);
	plen = move_list(f->buf, 1, 9, 0, 1, "iqn.x:b");
	f->buf[24] = 0x05;
	c = move(f, f->sess, plen, plen);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(field_pointer(c), 24);
	assert_int_equal(read_keys(f, keys, 4), 1);
	assert_int_equal(holder_key(f, NULL), 1);
}

/* SPC-4 §4.5.2.4.2: the FIELD POINTER has 16 bits.  A bad TransportID
 * past byte 65,535 of a SPEC_I_PT list (the same nexus named 2,100 times
 * before it) is reported without a pointer, not with its offset cut to
 * 16 bits (which pointed at a valid TransportID near the start). */
static void spec_i_pt_error_past_64k_has_no_field_pointer(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x5f, SA_REGISTER, 0, 0, 0, 0, 0, 0, 0, 0};
	uint32_t off = 28, tl;
	uint64_t keys[2];
	struct scsi_cmd *c;

	memset(f->buf, 0, 28);
	put_be64(f->buf + 8, 0x10);
	f->buf[20] = 0x08;
	for (int i = 0; i < 2100; i++)
		off += put_tid(f->buf + off, "iqn.x:b,i,0x230000000000");
	assert_true(off > 0xffff);
	tl = put_tid(f->buf + off, "iqn.x:c,i,0x230000000000");
	f->buf[off] = 0x00; /* Fibre Channel: not ours */
	off += tl;
	put_be32(f->buf + 24, off - 28);
	put_be32(cdb + 5, off);
	c = run(f, cdb, 10, off, off);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(c->sense[15] & 0x80, 0); /* SKSV 0 */
	assert_int_equal(read_keys(f, keys, 2), 0);
}

/* Registers n distinct nexuses (port 1, ISIDs 1..n) with key 0x100 + i. */
static void fill_registrations(struct fx *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		char name[32];
		struct scsi_sess *s;

		snprintf(name, sizeof(name), "iqn.x:fill%u", i);
		s = sess_named(f, name, 1, 1);
		expect_good(prout(f, s, SA_REGISTER, 0, 0, 0x100 + i, 0));
		scsi_sess_free(s); /* registrations survive the nexus */
	}
}

/* SPC-4 §5.9.7: a REGISTER that finds the table full, or a SPEC_I_PT
 * list whose nexuses do not fit, is INSUFFICIENT REGISTRATION
 * RESOURCES; a SPEC_I_PT refusal registers none of the list (all or
 * nothing) and not the sender either. */
static void a_full_registration_table_refuses_more(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x5f, SA_REGISTER};
	uint64_t keys[SCSI_PR_MAX_REGS];
	uint32_t tl, gen;
	uint8_t *p;

	fill_registrations(f, SCSI_PR_MAX_REGS - 1);
	gen = generation(f);
	/* SPEC_I_PT naming two more nexuses than there is room for */
	p = f->buf;
	memset(p, 0, 256);
	put_be64(p + 8, 0x10);
	p[20] = 0x08;
	tl = put_tid(p + 28, "iqn.x:b,i,0x230000000000");
	tl += put_tid(p + 28 + tl, "iqn.x:c,i,0x230000000000");
	put_be32(p + 24, tl);
	put_be32(cdb + 5, 28 + tl);
	expect_sense(run(f, cdb, 10, 28 + tl, 28 + tl), SK_ILLEGAL_REQUEST,
		     ASC_INSUFFICIENT_REG_RESOURCES);
	assert_int_equal(read_keys(f, keys, SCSI_PR_MAX_REGS),
			 SCSI_PR_MAX_REGS - 1);
	assert_int_equal(generation(f), gen);
	/* the last slot, then one more */
	expect_good(prout(f, f->sess, SA_REGISTER, 0, 0, 0x42, 0));
	{
		struct scsi_sess *s = sess_named(f, "iqn.x:late", 1, 1);

		expect_sense(prout(f, s, SA_REGISTER, 0, 0, 0x43, 0),
			     SK_ILLEGAL_REQUEST,
			     ASC_INSUFFICIENT_REG_RESOURCES);
		/* holder of a full table moves to an unregistered nexus:
		 * no room for it either */
		expect_good(prout(f, f->sess, SA_RESERVE, WR_EX, 0x42, 0, 0));
		tl = move_list(f->buf, 0x42, 0x44, 0, 1,
			       "iqn.x:late,i,0x010000000000");
		expect_sense(move(f, f->sess, tl, tl), SK_ILLEGAL_REQUEST,
			     ASC_INSUFFICIENT_REG_RESOURCES);
		assert_int_equal(holder_key(f, NULL), 0x42);
		scsi_sess_free(s);
	}
	assert_int_equal(read_keys(f, keys, SCSI_PR_MAX_REGS),
			 SCSI_PR_MAX_REGS);
}

/* ------------------------------------------------- APTPL durable state */

static struct ut_dev_cfg aptpl_dev(void)
{
	struct ut_dev_cfg dev = {0};

	strcpy(dev.name, "aptpl2");
	return dev;
}

/* State that does not decode (a torn or foreign file) is ignored with a
 * warning: the LU starts with no registrations and answers. */
static void malformed_aptpl_state_is_ignored(void **state)
{
	struct ut_dev_cfg dev = aptpl_dev();
	static const uint8_t junk[40] = {'n', 'o', 't', ' ', 'p', 'r'};
	uint64_t keys[1];
	struct fx *f;

	assert_int_equal(stub_env.ops->state_put(&stub_env, "pr-aptpl2", junk,
						 sizeof(junk)),
			 0);
	f = fx_new(&dev, DISK_BYTES, true);
	assert_int_equal(read_keys(f, keys, 1), 0);
	assert_int_equal(holder_key(f, NULL), 0);
	/* and it saves good state over the junk */
	expect_good(prout(f, f->sess, SA_REGISTER, 0, 0, 0x9, 0x01));
	assert_string_equal(state_key_saved, "pr-aptpl2");
	fx_free(f);
	f = fx_new(&dev, DISK_BYTES, true);
	assert_int_equal(read_keys(f, keys, 1), 1);
	assert_int_equal(keys[0], 0x9);
	fx_free(f);
	state_len = -ENOENT;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(move_by_a_non_holder_conflicts),
		T(move_refuses_bad_parameter_lists),
		T(move_list_shorter_than_its_header_is_refused),
		T(move_transport_id_length_wrapping_32_bits_is_refused),
		T(move_to_a_registered_nexus_replaces_its_key),
		T(spec_i_pt_naming_a_registered_nexus_is_refused),
		T(transport_id_format_00b_is_refused),
		T(prout_data_out_shorter_than_the_list_is_refused),
		T(prout_under_an_spc2_reservation_conflicts),
		T(spec_i_pt_refusals),
		T(spec_i_pt_error_past_64k_has_no_field_pointer),
		T(spec_i_pt_naming_the_sender_registers_it_once),
		T(a_full_registration_table_refuses_more),
		cmocka_unit_test(malformed_aptpl_state_is_ignored),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
