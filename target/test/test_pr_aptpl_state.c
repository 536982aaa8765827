/*
 * test_pr_aptpl_state.c — persistent reservations kept across a restart
 * (APTPL, SPC-4 §5.12.4; scsi/pr_aptpl.c).  What an earlier run saved
 * comes back (registrations and the reservation, PRgeneration 0 after
 * the power on, SPC-4 §6.16.2); what comes back from the disk is data,
 * so every way the saved bytes can be wrong -- short header, foreign
 * magic, too many registrations, a registration or name cut short, a
 * name too long, a key of 0, a reservation of an invalid type, with no
 * registrations or held by a registration that does not exist, the same
 * I_T nexus twice -- is ignored whole: the LU starts with no
 * registrations and no reservation.  The state's key is the device
 * name made safe for a file name.  Through scsi_cmd_exec() on mem LUs
 * with the stub environment's state slot (scsi_rig.h).
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
#define WR_EX 1
#define HDR 13 /* magic, generation, aptpl, reserved, type, holder, nregs */
#define REG 18 /* key, rtp, all_tg_pt, isid, name length (then the name) */

static uint8_t saved[4096];
static size_t saved_len;

static struct ut_dev_cfg aptpl_dev(void)
{
	struct ut_dev_cfg dev = {0};

	strcpy(dev.name, "dev:1..x");
	return dev;
}

/* READ KEYS: the count of keys, keys[] filled; *gen the PRgeneration. */
static unsigned int read_keys(struct fx *f, uint64_t *keys, unsigned int cap,
			      uint32_t *gen)
{
	uint8_t cdb[10] = {0x5e, 0};
	unsigned int n;

	put_be16(cdb + 7, 8 + 8 * 64);
	expect_good(run(f, cdb, 10, 8 + 8 * 64, 0));
	n = get_be32(f->buf + 4) / 8;
	for (unsigned int i = 0; i < n && i < cap; i++)
		keys[i] = get_be64(f->buf + 8 + 8 * i);
	if (gen)
		*gen = get_be32(f->buf);
	return n;
}

/* READ RESERVATION: the holder's key (0: none) and its type. */
static uint64_t holder_key(struct fx *f, uint8_t *type)
{
	uint8_t cdb[10] = {0x5e, 1};

	put_be16(cdb + 7, 24);
	expect_good(run(f, cdb, 10, 24, 0));
	if (get_be32(f->buf + 4) == 0)
		return 0;
	*type = f->buf[21] & 0x0f;
	return get_be64(f->buf + 8);
}

/* A run that registers keys 0xa (this fixture's nexus) and 0xb (another
 * initiator's) with APTPL, 0xa holding WRITE EXCLUSIVE; the bytes it
 * saved into saved[]. */
static void save_a_state(void)
{
	struct ut_dev_cfg dev = aptpl_dev();
	struct scsi_nexus_id id = {0};
	struct scsi_sess *two;
	struct fx *f;
	ssize_t n;

	state_len = -ENOENT;
	f = fx_new(&dev, DISK_BYTES, true);
	strcpy(id.initiator_name, "iqn.2026-11.org.test:two");
	id.isid[0] = 0x23;
	id.rel_tgt_port_id = 1;
	two = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(two, 0, f->lu, false), 0);
	scsi_ua_clear(two->lun_map[0]);
	expect_good(prout(f, f->sess, SA_REGISTER, 0, 0, 0xa, 0x01));
	expect_good(prout(f, two, SA_REGISTER, 0, 0, 0xb, 0x01));
	expect_good(prout(f, f->sess, SA_RESERVE, WR_EX, 0xa, 0, 0));
	/* the key: "pr-" and the name, ':' and the second '.' of ".."
	 * made '_' */
	assert_string_equal(state_key_saved, "pr-dev_1._x");
	n = stub_env.ops->state_get(&stub_env, state_key_saved, saved,
				    sizeof(saved));
	assert_true(n > HDR + 2 * REG);
	saved_len = (size_t)n;
	assert_int_equal(saved[12], 2); /* two registrations */
	scsi_sess_free(two);
	fx_free(f);
}

/* A restart: the LU opens over the bytes b[0..len). */
static struct fx *restart_over(const uint8_t *b, size_t len)
{
	struct ut_dev_cfg dev = aptpl_dev();

	assert_int_equal(
		stub_env.ops->state_put(&stub_env, "pr-dev_1._x", b, len), 0);
	return fx_new(&dev, DISK_BYTES, true);
}

static void a_saved_state_comes_back_with_generation_zero(void **state)
{
	uint64_t keys[4];
	uint32_t gen = 1;
	uint8_t type = 0;
	struct fx *f;

	(void)state;
	save_a_state();
	assert_true(get_be32(saved + 4) > 0); /* the saving run's count */
	f = restart_over(saved, saved_len);
	assert_int_equal(read_keys(f, keys, 4, &gen), 2);
	assert_int_equal(keys[0], 0xa);
	assert_int_equal(keys[1], 0xb);
	assert_int_equal(gen, 0); /* SPC-4 §6.16.2: zero at power on */
	assert_int_equal(holder_key(f, &type), 0xa);
	assert_int_equal(type, WR_EX);
	fx_free(f);
	state_len = -ENOENT;
}

/* One way of being wrong: a copy of the saved bytes, edited. */
struct corruption {
	const char *what;
	void (*edit)(uint8_t *b, size_t *len);
};

static size_t reg1(const uint8_t *b)
{
	return HDR + REG + b[HDR + 17]; /* offset of the second one */
}

static void short_header(uint8_t *b, size_t *len)
{
	(void)b;
	*len = HDR - 1;
}

static void foreign_magic(uint8_t *b, size_t *len)
{
	(void)len;
	b[0] ^= 0x20;
}

static void too_many_registrations(uint8_t *b, size_t *len)
{
	(void)len;
	b[12] = 65; /* SCSI_PR_MAX_REGS + 1 */
}

static void registration_cut_short(uint8_t *b, size_t *len)
{
	(void)b;
	*len = HDR + REG - 1;
}

static void name_cut_short(uint8_t *b, size_t *len)
{
	(void)b;
	*len -= 1;
}

static void name_too_long(uint8_t *b, size_t *len)
{
	/* 224 bytes and more are present, but a name holds 223 */
	b[HDR + 17] = 224;
	memset(b + *len, 'n', 300);
	*len += 300;
}

static void key_zero(uint8_t *b, size_t *len)
{
	(void)len;
	memset(b + reg1(b), 0, 8);
}

static void first_key_zero(uint8_t *b, size_t *len)
{
	(void)len;
	memset(b + HDR, 0, 8);
}

static void reservation_of_invalid_type(uint8_t *b, size_t *len)
{
	(void)len;
	b[10] = 2; /* SPC-4 Table 180: obsolete */
}

static void reservation_without_registrations(uint8_t *b, size_t *len)
{
	b[12] = 0;
	*len = HDR;
}

static void holder_that_does_not_exist(uint8_t *b, size_t *len)
{
	(void)len;
	b[11] = 2; /* of two registrations */
}

static void one_nexus_twice(uint8_t *b, size_t *len)
{
	size_t r1 = reg1(b);

	/* the second registration takes the first's nexus, its key kept */
	memcpy(b + r1 + 8, b + HDR + 8, REG - 8);
	memcpy(b + r1 + REG, b + HDR + REG, b[HDR + 17]);
	*len = r1 + REG + b[HDR + 17];
}

static const struct corruption corruptions[] = {
	{"a header cut short", short_header},
	{"a foreign magic", foreign_magic},
	{"more registrations than the table holds", too_many_registrations},
	{"a registration cut short", registration_cut_short},
	{"a name cut short", name_cut_short},
	{"a name too long", name_too_long},
	{"a key of 0", key_zero},
	{"a key of 0 in the first registration", first_key_zero},
	{"a reservation of an invalid type", reservation_of_invalid_type},
	{"a reservation without registrations",
	 reservation_without_registrations},
	{"a holder that does not exist", holder_that_does_not_exist},
	{"one I_T nexus registered twice", one_nexus_twice},
};

static void every_malformed_state_is_ignored_whole(void **state)
{
	uint8_t b[sizeof(saved) + 512];
	uint64_t keys[4];
	uint8_t type;

	(void)state;
	save_a_state();
	for (size_t i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]);
	     i++) {
		size_t len = saved_len;
		struct fx *f;

		memcpy(b, saved, saved_len);
		corruptions[i].edit(b, &len);
		f = restart_over(b, len);
		if (read_keys(f, keys, 4, NULL) != 0 ||
		    holder_key(f, &type) != 0)
			fail_msg("APTPL state with %s was taken",
				 corruptions[i].what);
		/* the LU answers, and keeps new state */
		expect_good(prout(f, f->sess, SA_REGISTER, 0, 0, 0xc, 0x01));
		fx_free(f);
	}
	state_len = -ENOENT;
}

/* A WRITE(10) of one block through session s. */
static struct scsi_cmd *write_through(struct fx *f, struct scsi_sess *s)
{
	uint8_t cdb[10] = {0x2a, 0};

	put_be16(cdb + 7, 1);
	memset(f->buf, 0, BS);
	return run_on(f, s, 0, cdb, 10, BS, BS);
}

/*
 * A state file saved before 2026-12-07 holds an ALL_TG_PT registration
 * as one entry flagged all_tg_pt (byte 10 of the registration) that
 * matched every target port.  It still loads, and still covers every
 * port: through port 2 the same initiator port is registered and holds
 * the reservation.  The first PERSISTENT RESERVE OUT splits it into one
 * registration per target port (SPC-4 §6.16.3), so that a REGISTER
 * through port 2 changes port 2's key alone, and what is saved then is
 * one entry per port, none flagged.
 */
static void a_saved_all_tg_pt_entry_of_the_old_format_is_split(void **state)
{
	static const char name[] = "iqn.1994-05.com.example:init";
	uint8_t b[HDR + REG + sizeof(name)] = {0};
	struct scsi_nexus_id id = {0};
	struct scsi_sess *two;
	uint64_t keys[4];
	uint8_t type = 0;
	struct fx *f;
	size_t n = HDR;

	(void)state;
	put_be32(b, 0x55545052u); /* "UTPR" */
	b[8] = 1;		  /* aptpl */
	b[9] = 1;		  /* reserved */
	b[10] = WR_EX;
	b[11] = 0; /* holder */
	b[12] = 1; /* one registration */
	put_be64(b + n, 0xa);
	put_be16(b + n + 8, 1); /* made through port 1 */
	b[n + 10] = 1;		/* all_tg_pt */
	b[n + 17] = (uint8_t)strlen(name);
	memcpy(b + n + 18, name, strlen(name));
	n += 18 + strlen(name);
	f = restart_over(b, n);
	strcpy(id.initiator_name, name);
	id.rel_tgt_port_id = 2;
	id.n_tgt_ports = 2;
	id.tgt_ports[0] = 1;
	id.tgt_ports[1] = 2;
	two = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(two, 0, f->lu, false), 0);
	scsi_ua_clear(two->lun_map[0]);
	assert_int_equal(read_keys(f, keys, 4, NULL), 1);
	assert_int_equal(holder_key(f, &type), 0xa);
	/* as before: port 2's nexus is that registration, the holder */
	expect_good(write_through(f, two));
	expect_good(prout(f, two, SA_REGISTER, 0, 0xa, 0xc, 0x01));
	if (read_keys(f, keys, 4, NULL) != 2 || keys[0] != 0xa ||
	    keys[1] != 0xc)
		fail_msg("SPC-4 §6.16.3: a saved ALL_TG_PT registration is one "
			 "per target port; a REGISTER through port 2 must "
			 "change port 2's alone (keys a and c), got %llx..",
			 (unsigned long long)keys[0]);
	/* the reservation stayed with port 1's nexus */
	assert_int_equal(holder_key(f, &type), 0xa);
	assert_int_equal(write_through(f, two)->status,
			 SCSI_STATUS_RESERVATION_CONFLICT);
	/* saved: two entries, ports 1 and 2, neither flagged */
	assert_int_equal(stub_env.ops->state_get(&stub_env, "pr-dev_1._x",
						 saved, sizeof(saved)),
			 (ssize_t)(HDR + 2 * (REG + strlen(name))));
	assert_int_equal(saved[12], 2);
	for (unsigned int i = 0; i < 2; i++) {
		const uint8_t *r = saved + HDR + i * (REG + strlen(name));

		assert_int_equal(get_be16(r + 8), i + 1);
		assert_int_equal(r[10], 0);
	}
	scsi_sess_free(two);
	fx_free(f);
	state_len = -ENOENT;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_saved_state_comes_back_with_generation_zero),
		cmocka_unit_test(every_malformed_state_is_ignored_whole),
		cmocka_unit_test(
			a_saved_all_tg_pt_entry_of_the_old_format_is_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
