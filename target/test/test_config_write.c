/*
 * test_config_write.c — the running configuration written back as
 * scst.conf (utargetctl save) and copied (live reconfiguration): what is
 * written parses into an equal configuration, and writing that again
 * gives the same text byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"

static void print_diag(void *arg, int severity, const char *file, int line,
		       int col, const char *msg)
{
	(void)arg;
	print_message("  %s:%d:%d: %s: %s\n", file ? file : "-", line, col,
		      severity ? "error" : "warning", msg);
}

static const char full_conf[] =
	"HANDLER vdisk_fileio {\n"
	"  DEVICE disk0 {\n"
	"    filename \"/srv/with space/d#0.img\"\n"
	"    size 4G\n"
	"    blocksize 4096\n"
	"    lb_per_pb_exp 1\n"
	"    thin_provisioned 1\n"
	"    t10_vendor_id ACME\n"
	"    prod_id \"quoted \\\"prod\\\"\"\n"
	"    usn abc123\n"
	"  }\n"
	"}\n"
	"HANDLER vdisk_blockio { DEVICE blk { filename /dev/sdz\n"
	"  write_through 1\n nv_cache 1\n removable 1 } }\n"
	"HANDLER vdisk_nullio { DEVICE z { size 1T\n read_only 1 } }\n"
	"HANDLER vdisk_mem { DEVICE m { size 64M\n t10_dev_id other\n"
	"  sanitize_rate 1G } }\n"
	"TARGET_DRIVER iscsi {\n"
	"  enabled 1\n"
	"  portal 127.0.0.1:3260\n"
	"  portal [::1]:3261\n"
	"  IncomingUser disco discosecret12\n"
	"  OutgoingUser dout \"secret with blanks\"\n"
	"  MaxBurstLength 524288\n"
	"  FirstBurstLength 65536\n"
	"  HeaderDigest CRC32C\n"
	"  InitialR2T Yes\n"
	"  TARGET iqn.2026-11.org.utarget:a {\n"
	"    enabled 0\n"
	"    alias \"the a target\"\n"
	"    allowed_portal 127.0.0.*\n"
	"    IncomingUser alice alicesecret12\n"
	"    IncomingUser bob bobsecret1234\n"
	"    OutgoingUser tgt targetsecret1\n"
	"    QueuedCommands 64\n"
	"    MaxSessions 7\n"
	"    ImmediateData No\n"
	"    DataDigest None,CRC32C\n"
	"    LUN 0 disk0\n"
	"    LUN 3 z { read_only 1 }\n"
	"    GROUP hosts {\n"
	"      INITIATOR iqn.1993-08.org.debian:*\n"
	"      INITIATOR !iqn.1993-08.org.debian:01:bad\n"
	"      LUN 0 m\n"
	"      LUN 1 blk { read_only 1 }\n"
	"    }\n"
	"    GROUP empty { }\n"
	"  }\n"
	"  TARGET iqn.2026-11.org.utarget:b { LUN 0 m }\n"
	"}\n";

static void parse_ok(struct ut_config *cfg, const char *text)
{
	ut_config_init(cfg);
	assert_int_equal(ut_config_parse(cfg, "t.conf", text, strlen(text),
					 print_diag, NULL),
			 0);
}

/* The round trip: write, parse, compare, write again. */
static void check_round_trip(const struct ut_config *cfg)
{
	struct ut_config back;
	char *text, *again;
	size_t len, len2;

	assert_int_equal(ut_config_write(cfg, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	parse_ok(&back, text);
	if (!ut_config_equal(cfg, &back))
		fail_msg("the written configuration parses into a different "
			 "one:\n%s",
			 text);
	assert_int_equal(ut_config_write(&back, &again, &len2), 0);
	assert_string_equal(text, again);
	free(text);
	free(again);
	ut_config_free(&back);
}

static void full_config_round_trips(void **state)
{
	struct ut_config cfg;

	(void)state;
	parse_ok(&cfg, full_conf);
	assert_int_equal(cfg.devs[0].phys_block_size, 8192);
	check_round_trip(&cfg);
	ut_config_free(&cfg);
}

static void default_config_round_trips(void **state)
{
	struct ut_config cfg;

	(void)state;
	assert_int_equal(ut_config_default(&cfg), 0);
	check_round_trip(&cfg);
	ut_config_free(&cfg);
}

static void command_line_luns_round_trip(void **state)
{
	struct ut_config cfg;
	struct ut_dev_cfg devs[3];
	const char *specs[3] = {"mem:64M,thin", "null:1T,ro,blocksize=4096",
				"file:/tmp/x.img,size=1G,physblock=4096"};
	const char *err;

	(void)state;
	memset(devs, 0, sizeof(devs));
	for (int i = 0; i < 3; i++)
		assert_int_equal(ut_lun_spec_parse(specs[i], &devs[i], &err),
				 0);
	assert_int_equal(ut_config_default(&cfg), 0);
	assert_int_equal(ut_config_set_luns(&cfg, devs, 3), 0);
	check_round_trip(&cfg);
	ut_config_free(&cfg);
}

static void rbd_and_tcmu_devices_round_trip(void **state)
{
	struct ut_config cfg;
	struct ut_dev_cfg devs[2];
	const char *specs[2] = {
		"rbd:rbd/vm1,conf=/etc/ceph/x.conf,id=gw,timeout=12,cache,ro",
		"tcmu:rbd/rbd/vm2;conf=/c,size=1G,blocksize=4096"};
	const char *err;

	(void)state;
	memset(devs, 0, sizeof(devs));
	for (int i = 0; i < 2; i++)
		assert_int_equal(ut_lun_spec_parse(specs[i], &devs[i], &err),
				 0);
	assert_int_equal(ut_config_default(&cfg), 0);
	assert_int_equal(ut_config_set_luns(&cfg, devs, 2), 0);
	check_round_trip(&cfg);
	ut_config_free(&cfg);
}

static void copy_is_equal_and_independent(void **state)
{
	struct ut_config cfg, copy;

	(void)state;
	parse_ok(&cfg, full_conf);
	assert_int_equal(ut_config_copy(&copy, &cfg), 0);
	assert_true(ut_config_equal(&cfg, &copy));
	/* Deep: changing the copy leaves the original alone. */
	copy.targets[0].groups[0].luns[0].lun = 9;
	copy.targets[0].groups[0].initiators[0][0] = 'X';
	assert_false(ut_config_equal(&cfg, &copy));
	assert_int_equal(cfg.targets[0].groups[0].luns[0].lun, 0);
	assert_int_equal(cfg.targets[0].groups[0].initiators[0][0], 'i');
	ut_config_free(&copy);
	ut_config_free(&cfg);
}

static void a_changed_field_is_not_equal(void **state)
{
	struct ut_config cfg, copy;

	(void)state;
	parse_ok(&cfg, full_conf);
	assert_int_equal(ut_config_copy(&copy, &cfg), 0);
	copy.devs[2].size_bytes += 512;
	assert_false(ut_config_equal(&cfg, &copy));
	assert_true(ut_dev_cfg_equal_but_size(&cfg.devs[2], &copy.devs[2]));
	copy.devs[2].size_bytes = cfg.devs[2].size_bytes;
	copy.targets[1].params.queued_commands++;
	assert_false(ut_config_equal(&cfg, &copy));
	ut_config_free(&copy);
	ut_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_config_round_trips),
		cmocka_unit_test(default_config_round_trips),
		cmocka_unit_test(command_line_luns_round_trip),
		cmocka_unit_test(rbd_and_tcmu_devices_round_trip),
		cmocka_unit_test(copy_is_equal_and_independent),
		cmocka_unit_test(a_changed_field_is_not_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
