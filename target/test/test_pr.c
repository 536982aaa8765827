/*
 * test_pr.c — reservations (scsi/reserve.c, pr.c): SPC-2
 * RESERVE/RELEASE and SPC-4 persistent reservations.
 * Driven through scsi_cmd_exec() on mem logical units with the stub
 * environment of scsi_rig.h.
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

/* -------------------------------------------- SPC-2 RESERVE/RELEASE */

static void reserve6_conflicts_other_nexus_until_release(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0, 1);
	uint8_t res[6] = {0x16}, rel[6] = {0x17}, tur[6] = {0}, inq[6];
	struct scsi_cmd *c;

	expect_good(run(f, res, 6, 0, 0));
	expect_good(run(f, res, 6, 0, 0)); /* again: fine */
	c = run_on(f, s2, 0, res, 6, 0, 0);
	assert_int_equal(c->status, SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(c->sense_len, 0);
	c = run_on(f, s2, 0, tur, 6, 0, 0);
	assert_int_equal(c->status, SCSI_STATUS_RESERVATION_CONFLICT);
	cdb_inquiry(inq, false, 0, 96);
	expect_good(run_on(f, s2, 0, inq, 6, 96, 0));
	expect_good(run_on(f, s2, 0, rel, 6, 0, 0)); /* no-op */
	c = run_on(f, s2, 0, tur, 6, 0, 0);
	assert_int_equal(c->status, SCSI_STATUS_RESERVATION_CONFLICT);
	expect_good(run(f, rel, 6, 0, 0));
	expect_good(run_on(f, s2, 0, res, 6, 0, 0));
	expect_good(run_on(f, s2, 0, rel, 6, 0, 0));
	scsi_sess_free(s2);
}

static void reserve6_is_released_by_nexus_loss_and_lu_reset(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0, 1);
	uint8_t res10[10] = {0x56}, tur[6] = {0};

	expect_good(run_on(f, s2, 0, res10, 10, 0, 0));
	assert_int_equal(run(f, tur, 6, 0, 0)->status,
			 SCSI_STATUS_RESERVATION_CONFLICT);
	scsi_sess_free(s2);
	expect_good(run(f, tur, 6, 0, 0));
	expect_good(run(f, res10, 10, 0, 0));
	s2 = sess_named(f, "iqn.x:b", 0, 1);
	assert_int_equal(run_on(f, s2, 0, tur, 6, 0, 0)->status,
			 SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(scsi_tmf_lu_reset(s2, 0, NULL), 0);
	scsi_ua_clear(s2->lun_map[0]);
	scsi_ua_clear(f->sess->lun_map[0]);
	expect_good(run_on(f, s2, 0, tur, 6, 0, 0));
	res10[1] = 0x10; /* 3RDPTY */
	expect_sense(run(f, res10, 10, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
	scsi_sess_free(s2);
}

/* ------------------------------------------- persistent reservations */

static struct scsi_cmd *prin(struct fx *f, struct scsi_sess *s, uint8_t sa,
			     uint16_t alloc)
{
	uint8_t cdb[10] = {0x5e, sa};

	put_be16(cdb + 7, alloc);
	return run_on(f, s, 0, cdb, 10, alloc, 0);
}

static void expect_conflict(const struct scsi_cmd *c)
{
	if (c->status != SCSI_STATUS_RESERVATION_CONFLICT)
		fail_msg("expected RESERVATION CONFLICT, got %02x %x/%04x",
			 c->status, sense_key(c), sense_asc(c));
}

static void pr_register_read_keys_and_unregister(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c;
	uint32_t gen;

	c = prin(f, f->sess, 0, 64);
	expect_good(c);
	gen = get_be32(f->buf);
	assert_int_equal(get_be32(f->buf + 4), 0);
	expect_good(prout(f, f->sess, 6, 0, 0, 0xabc, 0));
	c = prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf), gen + 1);
	assert_int_equal(get_be32(f->buf + 4), 8);
	assert_int_equal(get_be64(f->buf + 8), 0xabc);
	/* REGISTER with a wrong key conflicts; with the right one changes */
	expect_conflict(prout(f, f->sess, 0, 0, 0x111, 0x222, 0));
	expect_good(prout(f, f->sess, 0, 0, 0xabc, 0xdef, 0));
	c = prin(f, f->sess, 0, 64);
	assert_int_equal(get_be64(f->buf + 8), 0xdef);
	expect_good(prout(f, f->sess, 0, 0, 0xdef, 0, 0));
	c = prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf + 4), 0);
	/* an unregistered nexus REGISTERing with a non-zero key conflicts */
	expect_conflict(prout(f, f->sess, 0, 0, 0x5, 0x6, 0));
}

static void pr_read_keys_truncated_keeps_additional_length(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c;

	expect_good(prout(f, f->sess, 6, 0, 0, 0x77, 0));
	c = prin(f, f->sess, 0, 8);
	expect_good(c);
	assert_int_equal(c->data_in_len, 8);
	assert_int_equal(get_be32(f->buf + 4), 8);
}

static void pr_in_unknown_service_action_is_invalid_field(void **state)
{
	struct fx *f = *state;

	for (uint8_t sa = 0; sa < 4; sa++)
		expect_good(prin(f, f->sess, sa, 512));
	for (uint8_t sa = 4; sa < 0x20; sa++)
		expect_sense(prin(f, f->sess, sa, 512), SK_ILLEGAL_REQUEST,
			     ASC_INVALID_FIELD_IN_CDB);
}

static void pr_report_capabilities_lists_all_types(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c = prin(f, f->sess, 2, 8);

	expect_good(c);
	assert_int_equal(get_be16(f->buf), 8);
	assert_int_equal(f->buf[2] & 0x0d, 0x0d); /* SIP ATP PTPL */
	assert_int_equal(f->buf[4], 0xea);
	assert_int_equal(f->buf[5], 0x01);
}

/* reads/writes from s2 (registered or not) under each type */
struct access_row {
	uint8_t type;
	bool reg_read, reg_write, unreg_read, unreg_write;
};

static bool can(struct fx *f, struct scsi_sess *s, bool write)
{
	uint8_t cdb[10];

	cdb_rw10(cdb, write ? 0x2a : 0x28, 0, 1);
	memset(f->buf, 0, BS);
	return run_on(f, s, 0, cdb, 10, BS, write ? BS : 0)->status ==
	       SCSI_STATUS_GOOD;
}

static void pr_reservation_types_block_what_spc4_says(void **state)
{
	static const struct access_row rows[] = {
		{1, true, false, true, false}, {3, false, false, false, false},
		{5, true, true, true, false},  {6, true, true, false, false},
		{7, true, true, true, false},  {8, true, true, false, false},
	};
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0, 1);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct access_row *r = &rows[i];

		expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
		expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
		expect_good(prout(f, f->sess, 1, r->type, 0x1, 0, 0));
		prin(f, f->sess, 1, 64);
		assert_int_equal(get_be32(f->buf + 4), 16);
		assert_int_equal(get_be64(f->buf + 8), r->type >= 7 ? 0 : 0x1);
		assert_int_equal(f->buf[21], r->type);
		assert_true(can(f, f->sess, false) && can(f, f->sess, true));
		assert_int_equal(can(f, s2, false), r->reg_read);
		assert_int_equal(can(f, s2, true), r->reg_write);
		expect_good(prout(f, s2, 0, 0, 0x2, 0, 0));
		scsi_ua_clear(s2->lun_map[0]);
		assert_int_equal(can(f, s2, false), r->unreg_read);
		assert_int_equal(can(f, s2, true), r->unreg_write);
		expect_good(prout(f, f->sess, 2, r->type, 0x1, 0, 0));
		expect_good(prout(f, f->sess, 0, 0, 0x1, 0, 0));
		scsi_ua_clear(s2->lun_map[0]);
		scsi_ua_clear(f->sess->lun_map[0]);
	}
	scsi_sess_free(s2);
}

static void pr_reserve_by_other_nexus_conflicts(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0, 1);

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, f->sess, 1, 1, 0x1, 0, 0));
	expect_good(prout(f, f->sess, 1, 1, 0x1, 0, 0));     /* same */
	expect_conflict(prout(f, f->sess, 1, 3, 0x1, 0, 0)); /* other */
	expect_conflict(prout(f, s2, 1, 1, 0x2, 0, 0));
	expect_conflict(prout(f, s2, 1, 1, 0x9, 0, 0)); /* bad key */
	/* release by a non-holder does nothing; wrong type is refused */
	expect_good(prout(f, s2, 2, 1, 0x2, 0, 0));
	expect_sense(prout(f, f->sess, 2, 3, 0x1, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_RELEASE_OF_PR);
	expect_sense(prout(f, f->sess, 1, 2, 0x1, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB); /* type 2 */
	/* SPC-2 RESERVE is refused while registrations exist */
	uint8_t res[6] = {0x16};
	expect_conflict(run(f, res, 6, 0, 0));
	scsi_sess_free(s2);
}

static void pr_preempt_removes_registration_and_bumps_generation(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:a", 1, 1); /* same name */
	uint8_t tur[6] = {0};
	uint32_t gen;

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf + 4), 16);
	gen = get_be32(f->buf);
	expect_good(prout(f, s2, 4, 3, 0x2, 0x1, 0));
	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_REGISTRATIONS_PREEMPTED);
	prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf), gen + 1);
	assert_int_equal(get_be32(f->buf + 4), 8);
	assert_int_equal(get_be64(f->buf + 8), 0x2);
	/* no reservation was created by preempting without one */
	prin(f, f->sess, 1, 64);
	assert_int_equal(get_be32(f->buf + 4), 0);
	/* preempting a key nobody has conflicts; key 0 is invalid */
	expect_conflict(prout(f, s2, 4, 3, 0x2, 0x99, 0));
	expect_sense(prout(f, s2, 4, 3, 0x2, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_PARAM);
	scsi_sess_free(s2);
}

static void pr_preempt_takes_the_reservation(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0, 1);

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, f->sess, 1, 3, 0x1, 0, 0));
	assert_false(can(f, s2, false));
	expect_good(prout(f, s2, 5, 1, 0x2, 0x1, 0)); /* and abort */
	prin(f, s2, 1, 64);
	assert_int_equal(get_be64(f->buf + 8), 0x2);
	assert_int_equal(f->buf[21], 1);
	assert_true(can(f, s2, true));
	scsi_ua_clear(f->sess->lun_map[0]);
	assert_false(can(f, f->sess, true)); /* f is gone */
	scsi_sess_free(s2);
}

static void pr_clear_removes_everything_and_tells_others(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0, 1);
	uint8_t tur[6] = {0};

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, f->sess, 1, 1, 0x1, 0, 0));
	expect_conflict(prout(f, s2, 3, 0, 0x7, 0, 0)); /* wrong key */
	expect_good(prout(f, s2, 3, 0, 0x2, 0, 0));
	expect_sense(run(f, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_RESERVATIONS_PREEMPTED);
	prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf + 4), 0);
	assert_true(can(f, s2, true) && can(f, f->sess, true));
	scsi_sess_free(s2);
}

static void pr_out_parameter_list_must_be_24_bytes(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x5f, 6};

	memset(f->buf, 0, 32);
	put_be32(cdb + 5, 23);
	expect_sense(run(f, cdb, 10, 23, 23), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	put_be32(cdb + 5, 32);
	expect_sense(run(f, cdb, 10, 32, 32), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	cdb[1] = 9;
	expect_sense(run(f, cdb, 10, 32, 32), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_CDB);
}

static void pr_spec_i_pt_registers_named_nexus(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0x23, 1);
	uint8_t cdb[10] = {0x5f, 0};
	uint32_t tl;

	memset(f->buf, 0, 64);
	put_be64(f->buf + 8, 0x10);
	f->buf[20] = 0x08; /* SPEC_I_PT */
	tl = put_tid(f->buf + 28, "iqn.x:b,i,0x230000000000");
	put_be32(f->buf + 24, tl);
	put_be32(cdb + 5, 28 + tl);
	expect_good(run(f, cdb, 10, 28 + tl, 28 + tl));
	prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf + 4), 16);
	/* s2 is registered with the same key: it may reserve */
	expect_good(prout(f, s2, 1, 1, 0x10, 0, 0));
	prin(f, f->sess, 3, 1024);
	assert_int_equal(get_be32(f->buf + 4), 2 * 24 + 52 + 32);
	scsi_sess_free(s2);
}

static void pr_register_and_move_hands_over_the_reservation(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0x23, 1);
	uint8_t cdb[10] = {0x5f, 7, 1};
	uint32_t tl;

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, f->sess, 1, 1, 0x1, 0, 0));
	memset(f->buf, 0, 64);
	put_be64(f->buf, 0x1);
	put_be64(f->buf + 8, 0x55);
	f->buf[17] = 0x02; /* UNREG */
	put_be16(f->buf + 18, 1);
	tl = put_tid(f->buf + 24, "iqn.x:b,i,0x230000000000");
	put_be32(f->buf + 20, tl);
	put_be32(cdb + 5, 24 + tl);
	expect_good(run(f, cdb, 10, 24 + tl, 24 + tl));
	prin(f, f->sess, 1, 64);
	assert_int_equal(get_be64(f->buf + 8), 0x55);
	prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf + 4), 8); /* f unregistered */
	assert_true(can(f, s2, true));
	assert_false(can(f, f->sess, true));
	scsi_sess_free(s2);
}

static void pr_aptpl_state_survives_a_new_lu(void **state)
{
	struct ut_dev_cfg dev = {0};
	struct fx *f;

	strcpy(dev.name, "aptpl");
	state_len = -ENOENT;
	f = fx_new(&dev, DISK_BYTES, true);
	expect_good(prout(f, f->sess, 6, 0, 0, 0x42, 0x01));
	expect_good(prout(f, f->sess, 1, 3, 0x42, 0, 0));
	assert_string_equal(state_key_saved, "pr-aptpl");
	assert_true(state_len > 0);
	fx_free(f);
	f = fx_new(&dev, DISK_BYTES, true); /* "restart" */
	prin(f, f->sess, 1, 64);
	/* SPC-4 §6.16.2: PRgeneration is 0 after a power on, even with
	 * APTPL (two counting PR OUTs ran before the restart) */
	assert_int_equal(get_be32(f->buf), 0);
	assert_int_equal(get_be64(f->buf + 8), 0x42);
	assert_int_equal(f->buf[21], 3);
	prin(f, f->sess, 2, 8);
	assert_int_equal(f->buf[3] & 0x01, 0x01); /* PTPL_A */
	/* the same initiator port is still the holder */
	assert_true(can(f, f->sess, true));
	/* registering with APTPL=0 drops the saved copy */
	expect_good(prout(f, f->sess, 6, 0, 0, 0x42, 0));
	assert_true(state_len < 0);
	fx_free(f);
	state_len = -ENOENT;
}

/* The saved state as a restart would find it: registrations' keys (up
 * to 4) and the reservation type (0: none). */
static unsigned int saved_keys(struct ut_dev_cfg *dev, uint64_t *keys,
			       uint8_t *type)
{
	struct fx *g = fx_new(dev, DISK_BYTES, true);
	unsigned int n;

	prin(g, g->sess, 0, 64);
	n = get_be32(g->buf + 4) / 8;
	assert_true(n <= 4);
	for (unsigned int i = 0; i < n; i++)
		keys[i] = get_be64(g->buf + 8 + 8 * i);
	prin(g, g->sess, 1, 64);
	*type = get_be32(g->buf + 4) ? g->buf[21] & 0x0f : 0;
	fx_free(g);
	return n;
}

/*
 * SPC-4 §5.12.5: with APTPL on, a PERSISTENT RESERVE OUT's change is
 * kept across power loss.  A change the store cannot keep is rolled
 * back and refused: EIO HARDWARE ERROR (04/44/00), ENOSPC INSUFFICIENT
 * REGISTRATION RESOURCES (05/55/04); PR IN and a restart then both show
 * the state before it, and the same command succeeds once the store
 * does.  Before: GOOD, the change in memory only (a restart lost it).
 */
static void pr_aptpl_change_that_cannot_be_saved_is_rolled_back(void **st)
{
	struct ut_dev_cfg dev = {0};
	struct scsi_sess *two;
	struct scsi_nexus_id id = {0};
	uint64_t keys[4];
	uint8_t type;
	struct fx *f;
	uint32_t gen;

	strcpy(dev.name, "aptpl");
	state_len = -ENOENT;
	f = fx_new(&dev, DISK_BYTES, true);
	strcpy(id.initiator_name, "iqn.2026-12.org.test:two");
	id.isid[0] = 0x23;
	id.rel_tgt_port_id = 1;
	two = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(two, 0, f->lu, false), 0);
	scsi_ua_clear(two->lun_map[0]);
	expect_good(prout(f, f->sess, 0, 0, 0, 0x42, 0x01));
	prin(f, f->sess, 0, 8);
	gen = get_be32(f->buf);

	state_put_fail = -EIO;
	expect_sense(prout(f, f->sess, 1, 3, 0x42, 0, 0), SK_HARDWARE_ERROR,
		     ASC_INTERNAL_TARGET_FAILURE);
	prin(f, f->sess, 1, 64);
	if (get_be32(f->buf) != gen || get_be32(f->buf + 4) != 0)
		fail_msg("SPC-4 §5.12.5: a RESERVE that could not be saved "
			 "must leave no reservation and PRgeneration %u; got "
			 "%u, additional length %u",
			 gen, get_be32(f->buf), get_be32(f->buf + 4));
	assert_true(can(f, two, true));
	state_put_fail = -ENOSPC;
	expect_sense(prout(f, two, 0, 0, 0, 0xb, 0x01), SK_ILLEGAL_REQUEST,
		     ASC_INSUFFICIENT_REG_RESOURCES);
	/* unregistering with APTPL 0 drops the saved copy: not possible */
	expect_sense(prout(f, f->sess, 0, 0, 0x42, 0, 0), SK_ILLEGAL_REQUEST,
		     ASC_INSUFFICIENT_REG_RESOURCES);
	prin(f, f->sess, 0, 64);
	assert_int_equal(get_be32(f->buf), gen);
	assert_int_equal(get_be32(f->buf + 4), 8); /* 0x42 alone */
	assert_int_equal(get_be64(f->buf + 8), 0x42);
	prin(f, f->sess, 2, 8);
	assert_int_equal(f->buf[3] & 0x01, 0x01); /* PTPL_A still */
	state_put_fail = 0;
	assert_int_equal(saved_keys(&dev, keys, &type), 1);
	assert_true(keys[0] == 0x42 && type == 0);

	/* the store works again: the same commands succeed and are kept */
	expect_good(prout(f, f->sess, 1, 3, 0x42, 0, 0));
	expect_good(prout(f, two, 0, 0, 0, 0xb, 0x01));
	assert_int_equal(saved_keys(&dev, keys, &type), 2);
	assert_true(keys[0] == 0x42 && keys[1] == 0xb && type == 3);
	scsi_sess_free(two);
	fx_free(f);
	state_len = -ENOENT;
}

/* ------------------------------------ more persistent reservations */

/* A session of initiator port iqn.x:m (ISID 7) through relative target
 * port rtp of a target device with ports 1, 2 and 3. */
static struct scsi_sess *sess_port(struct fx *f, uint16_t rtp)
{
	struct scsi_nexus_id id = {0};
	struct scsi_sess *s;

	strcpy(id.initiator_name, "iqn.x:m");
	id.isid[0] = 7;
	id.rel_tgt_port_id = rtp;
	id.n_tgt_ports = 3;
	for (uint16_t i = 0; i < 3; i++)
		id.tgt_ports[i] = (uint16_t)(i + 1);
	s = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(s, 0, f->lu, false), 0);
	scsi_ua_clear(s->lun_map[0]);
	return s;
}

/* READ KEYS as "k,k,..." in the order listed. */
static const char *keys_listed(struct fx *f, char *b, size_t cap)
{
	uint32_t len;
	size_t o = 0;

	prin(f, f->sess, 0, 512);
	len = get_be32(f->buf + 4);
	b[0] = '\0';
	for (uint32_t i = 0; i + 8 <= len && o < cap; i += 8)
		o += (size_t)snprintf(
			b + o, cap - o, "%s%llx", i ? "," : "",
			(unsigned long long)get_be64(f->buf + 8 + i));
	return b;
}

/* SPC-4 §6.16.3: ALL_TG_PT "shall create the specified registration on
 * all target ports in the SCSI target device ... as if the same
 * registration request had been received individually through each
 * target port": one registration per I_T nexus, each listed by READ KEYS
 * and by READ FULL STATUS with its RELATIVE TARGET PORT IDENTIFIER, each
 * changed, unregistered, reserving and preempted on its own. */
static void pr_all_tg_pt_registers_each_target_port(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *p1 = sess_port(f, 1), *p2 = sess_port(f, 2),
			 *p3 = sess_port(f, 3);
	char b[128];
	unsigned int rtps = 0;

	expect_good(prout(f, p1, 0, 0, 0, 0x31, 0x04));
	if (strcmp(keys_listed(f, b, sizeof(b)), "31,31,31") != 0)
		fail_msg("SPC-4 §6.16.3: ALL_TG_PT through 3 target ports must "
			 "make 3 registrations; READ KEYS lists [%s]",
			 b);
	prin(f, f->sess, 3, 1024);
	for (uint32_t off = 8, i = 0; i < 3; i++) {
		const uint8_t *d = f->buf + off;

		/* each descriptor one I_T nexus: ALL_TG_PT 0, its port */
		assert_true(off + 24 <= 8 + get_be32(f->buf + 4));
		assert_int_equal(d[12] & 0x02, 0);
		rtps |= 1u << get_be16(d + 18);
		off += 24 + get_be32(d + 20);
		if (i == 2)
			assert_int_equal(off, 8 + get_be32(f->buf + 4));
	}
	if (rtps != 0x0e)
		fail_msg("SPC-4 §6.15.5: READ FULL STATUS must name relative "
			 "target ports 1, 2 and 3; got the set %#x",
			 rtps);
	/* a REGISTER through port 2 changes port 2's alone */
	expect_good(prout(f, p2, 0, 0, 0x31, 0x32, 0));
	assert_string_equal(keys_listed(f, b, sizeof(b)), "31,32,31");
	/* port 3 unregisters alone */
	expect_good(prout(f, p3, 0, 0, 0x31, 0, 0));
	assert_string_equal(keys_listed(f, b, sizeof(b)), "31,32");
	/* the reservation is held by port 1's nexus, not port 2's */
	expect_good(prout(f, p1, 1, 1, 0x31, 0, 0));
	assert_true(can(f, p1, true));
	assert_false(can(f, p2, true));
	/* PREEMPT of key 0x31 removes port 1's, not port 2's */
	expect_good(prout(f, p2, 4, 1, 0x32, 0x31, 0));
	assert_string_equal(keys_listed(f, b, sizeof(b)), "32");
	assert_true(can(f, p2, true));
	assert_false(can(f, p1, true));
	scsi_sess_free(p1);
	scsi_sess_free(p2);
	scsi_sess_free(p3);
}

/* The same REGISTER through each port: one of those nexuses registered
 * makes a REGISTER with RESERVATION KEY 0 a RESERVATION CONFLICT there,
 * so for the command, and nothing changes; REGISTER AND IGNORE EXISTING
 * KEY gives every port the key; SARK 0 with ALL_TG_PT unregisters them
 * all. */
static void pr_all_tg_pt_meets_a_port_already_registered(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *p1 = sess_port(f, 1), *p2 = sess_port(f, 2);
	char b[128];

	expect_good(prout(f, p2, 0, 0, 0, 0x5, 0));
	assert_int_equal(prout(f, p1, 0, 0, 0, 0x6, 0x04)->status,
			 SCSI_STATUS_RESERVATION_CONFLICT);
	assert_string_equal(keys_listed(f, b, sizeof(b)), "5");
	expect_good(prout(f, p1, 6, 0, 0, 0x6, 0x04));
	assert_string_equal(keys_listed(f, b, sizeof(b)), "6,6,6");
	expect_good(prout(f, p2, 0, 0, 0x6, 0, 0x04));
	assert_string_equal(keys_listed(f, b, sizeof(b)), "");
	scsi_sess_free(p1);
	scsi_sess_free(p2);
}

static void pr_release_of_registrants_only_tells_the_others(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0, 1);
	uint8_t tur[6] = {0};

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, f->sess, 1, 5, 0x1, 0, 0));
	expect_good(prout(f, f->sess, 2, 5, 0x1, 0, 0));
	expect_sense(run_on(f, s2, 0, tur, 6, 0, 0), SK_UNIT_ATTENTION,
		     ASC_RESERVATIONS_RELEASED);
	expect_good(run(f, tur, 6, 0, 0));
	scsi_sess_free(s2);
}

static void pr_all_registrants_survives_until_the_last_unregisters(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0, 1);
	struct scsi_sess *s3 = sess_named(f, "iqn.x:c", 0, 1);

	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, f->sess, 1, 8, 0x1, 0, 0));
	assert_false(can(f, s3, false));
	expect_good(prout(f, f->sess, 0, 0, 0x1, 0, 0)); /* leave */
	assert_false(can(f, s3, false));		 /* s2 still holds */
	expect_good(prout(f, s2, 0, 0, 0x2, 0, 0));
	assert_true(can(f, s3, true));
	/* preempt with key 0 under all-registrants takes it over */
	expect_good(prout(f, f->sess, 6, 0, 0, 0x1, 0));
	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, f->sess, 1, 7, 0x1, 0, 0));
	expect_good(prout(f, s2, 4, 1, 0x2, 0, 0));
	prin(f, s2, 0, 64);
	assert_int_equal(get_be32(f->buf + 4), 8);
	prin(f, s2, 1, 64);
	assert_int_equal(get_be64(f->buf + 8), 0x2);
	assert_int_equal(f->buf[21], 1);
	scsi_sess_free(s3);
	scsi_sess_free(s2);
}

static void pr_registrations_survive_the_nexus(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 5, 1);

	expect_good(prout(f, s2, 6, 0, 0, 0x2, 0));
	expect_good(prout(f, s2, 1, 3, 0x2, 0, 0));
	scsi_sess_free(s2);
	assert_false(can(f, f->sess, false));
	s2 = sess_named(f, "iqn.x:b", 5, 1); /* reconnects */
	assert_true(can(f, s2, true));
	expect_good(prout(f, s2, 3, 0, 0x2, 0, 0)); /* CLEAR */
	scsi_sess_free(s2);
}

static void pr_aptpl_refused_without_durable_state(void **state)
{
	struct fx *f;

	state_broken = true;
	f = fx_new(NULL, DISK_BYTES, true);
	state_broken = false;
	prin(f, f->sess, 2, 8);
	assert_int_equal(f->buf[2] & 0x01, 0); /* PTPL_C */
	expect_sense(prout(f, f->sess, 6, 0, 0, 0x42, 0x01), SK_ILLEGAL_REQUEST,
		     ASC_INVALID_FIELD_IN_PARAM);
	expect_good(prout(f, f->sess, 6, 0, 0, 0x42, 0));
	fx_free(f);
}

/* ------------------------------------- bad parameters at their limits */

/* SPC-4 §7.6.4.6: the iSCSI name of a TransportID is NUL-terminated.  A
 * name filling its ADDITIONAL LENGTH without a NUL is INVALID FIELD IN
 * PARAMETER LIST pointing at the TransportID; with the NUL, GOOD. */
static void pr_spec_i_pt_transport_id_without_nul_is_invalid(void **state)
{
	struct fx *f = *state;
	struct scsi_sess *s2 = sess_named(f, "iqn.x:b", 0x23, 1);
	const char *name = "iqn.x:b,i,0x230000000000"; /* 24 bytes */
	uint8_t cdb[10] = {0x5f, 0};
	struct scsi_cmd *c;

	memset(f->buf, 0, 64);
	put_be64(f->buf + 8, 0x10);
	f->buf[20] = 0x08; /* SPEC_I_PT */
	f->buf[28] = 0x40 | 5;
	put_be16(f->buf + 30, 24);
	memcpy(f->buf + 32, name, 24);
	put_be32(f->buf + 24, 28);
	put_be32(cdb + 5, 56);
	c = run(f, cdb, 10, 56, 56);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(get_be16(c->sense + 16), 28);
	put_be16(f->buf + 30, 28); /* room for the NUL */
	put_be32(f->buf + 24, 32);
	put_be32(cdb + 5, 60);
	expect_good(run(f, cdb, 10, 60, 60));
	scsi_sess_free(s2);
}

/* A TRANSPORTID PARAMETER DATA LENGTH claiming more than the list
 * carries, and a basic list one byte short of 24: PARAMETER LIST LENGTH
 * ERROR. */
static void pr_out_list_shorter_than_header_is_length_error(void **state)
{
	struct fx *f = *state;
	uint8_t cdb[10] = {0x5f, 0};
	uint32_t tl;

	memset(f->buf, 0, 64);
	put_be64(f->buf + 8, 0x10);
	f->buf[20] = 0x08; /* SPEC_I_PT */
	tl = put_tid(f->buf + 28, "iqn.x:b,i,0x230000000000");
	put_be32(f->buf + 24, tl + 4);
	put_be32(cdb + 5, 28 + tl);
	expect_sense(run(f, cdb, 10, 28 + tl, 28 + tl), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	memset(f->buf, 0, 64);
	put_be64(f->buf + 8, 0x10);
	put_be32(cdb + 5, 23);
	expect_sense(run(f, cdb, 10, 23, 23), SK_ILLEGAL_REQUEST,
		     ASC_PARAM_LIST_LENGTH);
	put_be32(cdb + 5, 24);
	expect_good(run(f, cdb, 10, 24, 24));
}

/* PERSISTENT RESERVE IN allocation lengths 0, 1 and 0xFFFF (its field is
 * 16 bits): truncation only. */
static void pr_in_allocation_lengths_0_1_and_max(void **state)
{
	struct fx *f = *state;
	struct scsi_cmd *c;

	c = prin(f, f->sess, 0, 0);
	expect_good(c);
	assert_int_equal(c->data_in_len, 0);
	c = prin(f, f->sess, 0, 1);
	expect_good(c);
	assert_int_equal(c->data_in_len, 1);
	c = prin(f, f->sess, 0, 0xffff);
	expect_good(c);
	assert_int_equal(c->data_in_len, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(pr_spec_i_pt_transport_id_without_nul_is_invalid),
		T(pr_out_list_shorter_than_header_is_length_error),
		T(pr_in_allocation_lengths_0_1_and_max),
		T(reserve6_conflicts_other_nexus_until_release),
		T(reserve6_is_released_by_nexus_loss_and_lu_reset),
		T(pr_register_read_keys_and_unregister),
		T(pr_read_keys_truncated_keeps_additional_length),
		T(pr_in_unknown_service_action_is_invalid_field),
		T(pr_report_capabilities_lists_all_types),
		T(pr_reservation_types_block_what_spc4_says),
		T(pr_reserve_by_other_nexus_conflicts),
		T(pr_preempt_removes_registration_and_bumps_generation),
		T(pr_preempt_takes_the_reservation),
		T(pr_clear_removes_everything_and_tells_others),
		T(pr_out_parameter_list_must_be_24_bytes),
		T(pr_spec_i_pt_registers_named_nexus),
		T(pr_register_and_move_hands_over_the_reservation),
		cmocka_unit_test(pr_aptpl_state_survives_a_new_lu),
		cmocka_unit_test(
			pr_aptpl_change_that_cannot_be_saved_is_rolled_back),
		T(pr_all_tg_pt_registers_each_target_port),
		T(pr_all_tg_pt_meets_a_port_already_registered),
		T(pr_release_of_registrants_only_tells_the_others),
		T(pr_all_registrants_survives_until_the_last_unregisters),
		T(pr_registrations_survive_the_nexus),
		cmocka_unit_test(pr_aptpl_refused_without_durable_state),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
