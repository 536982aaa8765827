/*
 * test_config_cli.c — sizes, --lun specs, validation, the embedded
 * default and command-line overrides of the configuration module, on both
 * sides of every limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_rig.h"

/* --------------------------------------------------------------- sizes */

static void size_units_are_binary_and_case_insensitive(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{"4096", 4096},	      {"0", 0},
		{"1k", 1024},	      {"1KiB", 1024},
		{"64M", 64ull << 20}, {"64mib", 64ull << 20},
		{"1G", 1ull << 30},   {"2GiB", 2ull << 30},
		{"1t", 1ull << 40},   {"1TIB", 1ull << 40},
	};
	static const char *const bad[] = {"",	 "G",	 "1 G", "1GB",
					  "1KB", "-1",	 "+1",	"1.5G",
					  "1P",	 "0x10", "1g "};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(ut_size_parse(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ut_size_parse(bad[i], &v) == 0)
			fail_msg("size '%s' must be rejected", bad[i]);
}

static void size_at_uint64_max_is_ok_and_one_more_overflows(void **state)
{
	uint64_t v;

	assert_int_equal(ut_size_parse("18446744073709551615", &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(ut_size_parse("18446744073709551616", &v), -1);
	assert_int_equal(ut_size_parse("16777215T", &v), 0);
	assert_int_equal(v, 16777215ull << 40);
	assert_int_equal(ut_size_parse("16777216T", &v), -1);
	assert_int_equal(ut_size_parse("17179869183G", &v), 0);
	assert_int_equal(ut_size_parse("17179869184G", &v), -1);
	assert_int_equal(ut_size_parse("000000000000000000000001", &v), -1);
}

/* ----------------------------------------------------------- --lun SPEC */

static void lun_specs_that_are_valid_parse(void **state)
{
	struct ut_dev_cfg dev;
	const char *err = NULL;

	assert_int_equal(ut_lun_spec_parse("mem:1G", &dev, &err), 0);
	assert_int_equal(dev.kind, BS_MEM);
	assert_int_equal(dev.size_bytes, 1ull << 30);
	assert_int_equal(dev.block_size, 512);
	assert_false(dev.thin || dev.read_only);
	assert_string_equal(dev.t10_vendor_id, "UTARGET");

	assert_int_equal(
		ut_lun_spec_parse("null:8T,ro,blocksize=4096", &dev, &err), 0);
	assert_int_equal(dev.kind, BS_NULL);
	assert_int_equal(dev.block_size, 4096);
	assert_true(dev.read_only);

	assert_int_equal(ut_lun_spec_parse("file:/srv/a:b.img,size=10G,thin,"
					   "removable",
					   &dev, &err),
			 0);
	assert_int_equal(dev.kind, BS_FILE);
	assert_string_equal(dev.path, "/srv/a:b.img");
	assert_int_equal(dev.size_bytes, 10ull << 30);
	assert_true(dev.thin && dev.removable);

	assert_int_equal(ut_lun_spec_parse("file:disk.img", &dev, &err), 0);
	assert_int_equal(dev.size_bytes, 0);
}

static void lun_spec_fails(const char *spec, const char *want);

static void rbd_and_tcmu_lun_specs_parse(void **state)
{
	struct ut_dev_cfg dev;
	const char *err = NULL;

	assert_int_equal(ut_lun_spec_parse("rbd:rbd/vm1,conf=/etc/ceph/c.conf,"
					   "id=iscsi.gw,timeout=3600,cache,ro",
					   &dev, &err),
			 0);
	assert_int_equal(dev.kind, BS_RBD);
	assert_string_equal(dev.path, "rbd/vm1");
	assert_string_equal(dev.conf, "/etc/ceph/c.conf");
	assert_string_equal(dev.client_id, "iscsi.gw");
	assert_int_equal(dev.timeout_s, 3600);
	assert_true(dev.cache && dev.read_only);
	assert_int_equal(dev.size_bytes, 0);

	assert_int_equal(ut_lun_spec_parse("rbd:p/i,timeout=1", &dev, &err), 0);
	assert_int_equal(dev.timeout_s, 1);
	assert_false(dev.cache);
	assert_string_equal(dev.client_id, "");

	/* The tcmu-runner string keeps its own separators ('/', ';'). */
	assert_int_equal(
		ut_lun_spec_parse("tcmu:qcow/srv/vm.qcow2", &dev, &err), 0);
	assert_int_equal(dev.kind, BS_TCMU);
	assert_string_equal(dev.path, "qcow/srv/vm.qcow2");
	assert_int_equal(ut_lun_spec_parse("tcmu:rbd/rbd/x;conf=/c,size=1G,"
					   "blocksize=4096",
					   &dev, &err),
			 0);
	assert_string_equal(dev.path, "rbd/rbd/x;conf=/c");
	assert_int_equal(dev.size_bytes, 1ull << 30);
	assert_int_equal(dev.block_size, 4096);
}

static void rbd_and_tcmu_lun_specs_that_are_invalid_say_why(void **state)
{
	lun_spec_fails("rbd:pool", "rbd: needs POOL/IMAGE (no snapshots, no "
				   "namespaces)");
	lun_spec_fails("rbd:/img", "rbd: needs POOL/IMAGE (no snapshots, no "
				   "namespaces)");
	lun_spec_fails("rbd:p/ns/img", "rbd: needs POOL/IMAGE (no snapshots, "
				       "no namespaces)");
	lun_spec_fails("rbd:p/img@snap", "rbd: needs POOL/IMAGE (no "
					 "snapshots, no namespaces)");
	lun_spec_fails("rbd:p/i,size=1G",
		       "size= is for file: and tcmu: only (write mem:SIZE or "
		       "null:SIZE; an rbd image has its own size)");
	/* timeout= 1..3600: both sides of each end */
	lun_spec_fails("rbd:p/i,timeout=0", "timeout= takes 1 to 3600 seconds");
	lun_spec_fails("rbd:p/i,timeout=3601",
		       "timeout= takes 1 to 3600 seconds");
	lun_spec_fails("rbd:p/i,id=a/b", "id= needs a client name (letters, "
					 "digits, '_', '-', '.')");
	lun_spec_fails("rbd:p/i,conf=", "conf= needs a path of at most 255 "
					"bytes");
	lun_spec_fails("file:/x,cache",
		       "unknown option 'cache' (expected ro, thin, removable, "
		       "expl_alua, blocksize= or size=)");
	lun_spec_fails("tcmu:/srv/x", "tcmu: needs HANDLER/CFGSTRING, HANDLER "
				      "a tcmu-runner handler name (qcow, rbd, "
				      "fbo, zbc, ...)");
	lun_spec_fails("tcmu:qcow", "tcmu: needs HANDLER/CFGSTRING, HANDLER a "
				    "tcmu-runner handler name (qcow, rbd, fbo, "
				    "zbc, ...)");
	lun_spec_fails("tcmu:Qcow/x", "tcmu: needs HANDLER/CFGSTRING, HANDLER "
				      "a tcmu-runner handler name (qcow, rbd, "
				      "fbo, zbc, ...)");
}

static void scst_conf_rbd_and_tcmu_devices(void **state)
{
	struct ut_config cfg;
	struct diags d = {0};

	parse_clean(&cfg, "HANDLER vdisk_rbd {\n"
			  " DEVICE r0 {\n  filename rbd/vm1\n"
			  "  conf /etc/ceph/ceph.conf\n  id iscsi\n"
			  "  timeout 15\n  rbd_cache 1\n }\n}\n"
			  "HANDLER vdisk_tcmu {\n"
			  " DEVICE q0 {\n  filename qcow/srv/vm.qcow2\n }\n}\n"
			  "TARGET_DRIVER iscsi {\n TARGET iqn.2026-11.t:a {\n"
			  "  LUN 0 r0\n  LUN 1 q0\n }\n}\n");
	assert_int_equal(cfg.dev_count, 2);
	assert_int_equal(cfg.devs[0].kind, BS_RBD);
	assert_string_equal(cfg.devs[0].path, "rbd/vm1");
	assert_string_equal(cfg.devs[0].conf, "/etc/ceph/ceph.conf");
	assert_string_equal(cfg.devs[0].client_id, "iscsi");
	assert_int_equal(cfg.devs[0].timeout_s, 15);
	assert_true(cfg.devs[0].cache);
	assert_int_equal(cfg.devs[1].kind, BS_TCMU);
	assert_string_equal(cfg.devs[1].path, "qcow/srv/vm.qcow2");
	assert_int_equal(ut_config_validate(&cfg, capture, &d), 0);
	ut_config_free(&cfg);

	parse_fails("HANDLER vdisk_rbd {\n DEVICE r0 {\n  filename r/v\n"
		    "  timeout 3601\n }\n}\n",
		    "timeout of device 'r0' must be 1 to 3600 seconds");
	/* An image's size is the cluster's; a bad path is caught when the
	 * configuration is validated. */
	parse_clean(&cfg, "HANDLER vdisk_rbd {\n DEVICE r0 {\n  filename "
			  "rbd\n  size 1G\n }\n}\n");
	assert_int_equal(ut_config_validate(&cfg, capture, &d), -1);
	expect_diag(&d, "device 'r0': rbd: needs POOL/IMAGE");
	expect_diag(&d, "device 'r0': an rbd image has its own size");
	ut_config_free(&cfg);
}

static void lun_spec_fails(const char *spec, const char *want)
{
	struct ut_dev_cfg dev;
	const char *err = NULL;

	if (ut_lun_spec_parse(spec, &dev, &err) != -1)
		fail_msg("--lun %s must be rejected", spec);
	assert_non_null(err);
	if (strcmp(err, want))
		fail_msg("--lun %s: expected \"%s\", got \"%s\"", spec, want,
			 err);
}

static void lun_specs_that_are_invalid_give_clear_errors(void **state)
{
	lun_spec_fails("disk:1G", "unknown backstore type 'disk' (expected "
				  "mem, null, file, rbd or tcmu)");
	lun_spec_fails("1G", "unknown backstore type '1G' (expected mem, null, "
			     "file, rbd or tcmu)");
	lun_spec_fails("mem", "mem: needs a size");
	lun_spec_fails("mem:", "mem: needs a size");
	lun_spec_fails("null:,ro", "null: needs a size");
	lun_spec_fails("file:", "file: needs a path");
	lun_spec_fails("mem:0", "mem: size must be greater than 0");
	lun_spec_fails("mem:1X", "bad size '1X' (expected bytes or a K, M, G "
				 "or T suffix)");
	lun_spec_fails("mem:1G,blocksize=1024", "blocksize must be 512 or "
						"4096");
	lun_spec_fails("mem:6K,blocksize=4096", "size must be a multiple of "
						"the block size");
	lun_spec_fails("mem:1000", "size must be a multiple of the block size");
	lun_spec_fails("mem:1G,,ro", "empty option in --lun spec");
	lun_spec_fails("mem:1G,fast", "unknown option 'fast' (expected ro, "
				      "thin, removable, expl_alua, blocksize= "
				      "or size=)");
	lun_spec_fails("mem:1G,size=2G",
		       "size= is for file: and tcmu: only (write mem:SIZE or "
		       "null:SIZE; an rbd image has its own size)");
	lun_spec_fails("file:/a,b", "unknown option 'b' (expected ro, thin, "
				    "removable, expl_alua, blocksize= or "
				    "size=)");
	lun_spec_fails("file:/a,size=big", "bad size 'big' (expected bytes or "
					   "a K, M, G or T suffix)");
}

static void lun_spec_size_at_1_eib_is_ok_and_one_block_more_is_bad(void **state)
{
	struct ut_dev_cfg dev;
	const char *err;

	assert_int_equal(ut_lun_spec_parse("null:1048576T", &dev, &err), 0);
	lun_spec_fails("null:1152921504606847488", "size exceeds the maximum "
						   "of 1 EiB");
}

static void lun_spec_path_of_4095_bytes_is_ok_and_4096_is_bad(void **state)
{
	char *path = repeat('p', 4095);
	struct sb b = {0};
	struct ut_dev_cfg dev;
	const char *err;

	sb_printf(&b, "file:%s", path);
	assert_int_equal(ut_lun_spec_parse(b.s, &dev, &err), 0);
	sb_printf(&b, "p");
	lun_spec_fails(b.s, "file: path is longer than 4095 bytes");
	free(path);
	free(b.s);
}

/* ---------------------------------------------------------- validation */

static void validate_warns_when_lun_0_is_missing(void **state)
{
	struct ut_config cfg;
	struct diags d = {0};
	char *s = with_target("LUN 1 m");

	parse_clean(&cfg, s);
	assert_int_equal(ut_config_validate(&cfg, capture, &d), 0);
	assert_int_equal(d.warnings, 1);
	expect_diag(&d, "-:7:0: warning: target 'iqn.2026-11.t:x' has no "
			"LUN 0");
	ut_config_free(&cfg);
	free(s);
}

static void validate_rejects_sizeless_mem_and_pathless_file(void **state)
{
	struct ut_config cfg;
	struct diags d = {0};

	parse_clean(&cfg, "HANDLER vdisk_mem {\n DEVICE m\n}\n"
			  "HANDLER vdisk_nullio {\n DEVICE n\n}\n"
			  "HANDLER vdisk_fileio {\n DEVICE f\n}\n"
			  "HANDLER vdisk_blockio {\n DEVICE b\n}\n");
	assert_int_equal(ut_config_validate(&cfg, capture, &d), -1);
	assert_int_equal(d.errors, 4);
	expect_diag(&d, "-:2:0: error: device 'm': mem and null devices need "
			"a size > 0");
	expect_diag(&d, "device 'n': mem and null devices need a size > 0");
	expect_diag(&d, "-:8:0: error: device 'f': file devices need a path");
	expect_diag(&d, "device 'b': file devices need a path");
	ut_config_free(&cfg);
}

static void validate_checks_lun_references_and_ranges(void **state)
{
	struct ut_config cfg;
	struct diags d = {0};

	assert_int_equal(ut_config_default(&cfg), 0);
	cfg.targets[0].luns[0].lun = 256;
	assert_int_equal(ut_config_validate(&cfg, capture, &d), -1);
	expect_diag(&d, "LUN 256 is out of range (0..255)");
	cfg.targets[0].luns[0].lun = 255;
	memset(&d, 0, sizeof(d));
	assert_int_equal(ut_config_validate(&cfg, capture, &d), 0);
	assert_int_equal(d.warnings, 1); /* no LUN 0 */
	strcpy(cfg.targets[0].luns[0].dev_name, "gone");
	memset(&d, 0, sizeof(d));
	assert_int_equal(ut_config_validate(&cfg, capture, &d), -1);
	expect_diag(&d, "LUN 255 names unknown device 'gone'");
	ut_config_free(&cfg);
}

static void validate_rejects_first_burst_above_max_burst(void **state)
{
	struct ut_config cfg;
	struct diags d = {0};
	char *s = with_target("LUN 0 m\nFirstBurstLength 65536\n"
			      "MaxBurstLength 65536");

	parse_clean(&cfg, s);
	assert_int_equal(ut_config_validate(&cfg, capture, &d), 0);
	cfg.targets[0].params.first_burst_length = 65537;
	assert_int_equal(ut_config_validate(&cfg, capture, &d), -1);
	expect_diag(&d, "FirstBurstLength 65537 exceeds MaxBurstLength 65536");
	ut_config_free(&cfg);
	free(s);
}

/* ------------------------------------------------ defaults, overrides */

static void params_default_match_the_header(void **state)
{
	struct ut_iscsi_params p;

	ut_iscsi_params_default(&p);
	assert_int_equal(p.header_digest_count, 2);
	assert_int_equal(p.header_digest[0], UT_DIGEST_NONE);
	assert_int_equal(p.header_digest[1], UT_DIGEST_CRC32C);
	assert_int_equal(p.data_digest_count, 2);
	assert_int_equal(p.data_digest[0], UT_DIGEST_NONE);
	assert_false(p.initial_r2t);
	assert_true(p.immediate_data);
	assert_int_equal(p.max_recv_data_segment_length, 262144);
	assert_int_equal(p.max_xmit_data_segment_length, 262144);
	assert_int_equal(p.max_burst_length, 1048576);
	assert_int_equal(p.first_burst_length, 262144);
	assert_int_equal(p.max_outstanding_r2t, 32);
	assert_int_equal(p.default_time2wait, 2);
	assert_int_equal(p.default_time2retain, 20);
	assert_int_equal(p.queued_commands, 128);
	assert_int_equal(p.max_sessions, 0);
	assert_int_equal(p.nop_in_interval_s, 30);
	assert_int_equal(p.nop_in_timeout_s, 30);
	assert_int_equal(p.rsp_timeout_s, 90);
}

static void
embedded_default_is_one_thin_1_gib_mem_lun_on_localhost(void **state)
{
	struct ut_config cfg;
	const struct ut_dev_cfg *dev;
	struct diags d = {0};

	assert_int_equal(ut_config_default(&cfg), 0);
	assert_int_equal(cfg.portal_count, 1);
	assert_string_equal(cfg.portals[0], UT_DEFAULT_PORTAL);
	assert_int_equal(cfg.target_count, 1);
	assert_string_equal(cfg.targets[0].iqn, UT_DEFAULT_TARGET);
	assert_true(cfg.targets[0].enabled);
	assert_int_equal(cfg.targets[0].lun_count, 1);
	assert_int_equal(cfg.targets[0].luns[0].lun, 0);
	dev = ut_config_find_dev(&cfg, cfg.targets[0].luns[0].dev_name);
	assert_non_null(dev);
	assert_string_equal(dev->name, "mem0");
	assert_int_equal(dev->kind, BS_MEM);
	assert_int_equal(dev->size_bytes, 1ull << 30);
	assert_int_equal(dev->block_size, 512);
	assert_true(dev->thin);
	assert_false(dev->read_only);
	assert_int_equal(strlen(dev->usn), 16);
	assert_false(cfg.has_secrets);
	assert_int_equal(ut_config_validate(&cfg, capture, &d), 0);
	assert_int_equal(d.n, 0);
	ut_config_free(&cfg);
	/* Freeing twice is harmless: free leaves an empty, init'ed config. */
	ut_config_free(&cfg);
}

static void set_portals_replaces_and_validates(void **state)
{
	struct ut_config cfg;
	char *good[] = {"0.0.0.0", "[::]:3261"};
	char *bad[] = {"1.2.3.4:1", "1.2.3.4:65536"};
	char *many[UT_MAX_PORTALS + 1];

	assert_int_equal(ut_config_default(&cfg), 0);
	assert_int_equal(ut_config_set_portals(&cfg, good, 2), 0);
	assert_int_equal(cfg.portal_count, 2);
	assert_string_equal(cfg.portals[0], "0.0.0.0:3260");
	assert_string_equal(cfg.portals[1], "[::]:3261");
	/* A bad list leaves the portals as they were. */
	assert_int_equal(ut_config_set_portals(&cfg, bad, 2), -1);
	assert_int_equal(cfg.portal_count, 2);
	for (int i = 0; i <= UT_MAX_PORTALS; i++)
		many[i] = "127.0.0.1";
	assert_int_equal(ut_config_set_portals(&cfg, many, UT_MAX_PORTALS), 0);
	assert_int_equal(ut_config_set_portals(&cfg, many, UT_MAX_PORTALS + 1),
			 -1);
	assert_int_equal(cfg.portal_count, UT_MAX_PORTALS);
	ut_config_free(&cfg);
}

static void set_luns_replaces_every_default_set_and_keeps_groups(void **state)
{
	struct ut_config cfg;
	struct ut_dev_cfg devs[2];
	const char *err;
	const struct ut_dev_cfg *d;

	parse_clean(&cfg,
		    MEM_DEV "HANDLER vdisk_nullio {\n DEVICE n {\n"
			    "  size 1M\n }\n}\nTARGET_DRIVER iscsi {\n"
			    " TARGET iqn.a {\n  LUN 0 m\n  GROUP g {\n"
			    "   LUN 0 n\n  }\n }\n TARGET iqn.b {\n  LUN 0 m\n"
			    " }\n}\n");
	assert_int_equal(ut_lun_spec_parse("mem:1G,thin", &devs[0], &err), 0);
	assert_int_equal(ut_lun_spec_parse("null:1T,ro", &devs[1], &err), 0);
	assert_int_equal(ut_config_set_luns(&cfg, devs, 2), 0);
	/* m is no longer used and is gone; n is still used by a group. */
	assert_null(ut_config_find_dev(&cfg, "m"));
	assert_non_null(ut_config_find_dev(&cfg, "n"));
	assert_int_equal(cfg.dev_count, 3);
	for (int t = 0; t < 2; t++) {
		assert_int_equal(cfg.targets[t].lun_count, 2);
		assert_string_equal(cfg.targets[t].luns[1].dev_name, "lun1");
		assert_true(cfg.targets[t].luns[1].read_only);
	}
	d = ut_config_find_dev(&cfg, "lun0");
	assert_non_null(d);
	assert_true(d->thin);
	assert_string_equal(d->t10_dev_id, "lun0");
	assert_int_equal(cfg.targets[0].groups[0].lun_count, 1);
	assert_int_equal(ut_config_validate(&cfg, NULL, NULL), 0);
	ut_config_free(&cfg);
}

static void set_luns_on_an_empty_config_adds_the_default_target(void **state)
{
	struct ut_config cfg;
	struct ut_dev_cfg *devs = calloc(UT_MAX_LUNS + 1, sizeof(*devs));
	const char *err;

	assert_non_null(devs);
	ut_config_init(&cfg);
	for (int i = 0; i <= UT_MAX_LUNS; i++)
		assert_int_equal(ut_lun_spec_parse("mem:1M", &devs[i], &err),
				 0);
	assert_int_equal(ut_config_set_luns(&cfg, devs, UT_MAX_LUNS + 1), -1);
	assert_int_equal(ut_config_set_luns(&cfg, devs, UT_MAX_LUNS), 0);
	assert_int_equal(cfg.target_count, 1);
	assert_string_equal(cfg.targets[0].iqn, UT_DEFAULT_TARGET);
	assert_int_equal(cfg.targets[0].lun_count, UT_MAX_LUNS);
	assert_int_equal(cfg.targets[0].luns[255].lun, 255);
	assert_non_null(ut_config_find_dev(&cfg, "lun255"));
	assert_int_equal(ut_config_validate(&cfg, NULL, NULL), 0);
	ut_config_free(&cfg);
	free(devs);
}

static void set_target_renames_the_only_target(void **state)
{
	struct ut_config cfg;
	char *name = repeat('n', 223);

	assert_int_equal(ut_config_default(&cfg), 0);
	assert_int_equal(ut_config_set_target(&cfg, "iqn.2026-11.x:y"), 0);
	assert_string_equal(cfg.targets[0].iqn, "iqn.2026-11.x:y");
	assert_int_equal(ut_config_set_target(&cfg, name), 0);
	name[222] = '\0';
	assert_int_equal(ut_config_set_target(&cfg, ""), -1);
	free(name);
	name = repeat('n', 224);
	assert_int_equal(ut_config_set_target(&cfg, name), -1);
	assert_int_equal(strlen(cfg.targets[0].iqn), 223);
	free(name);
	ut_config_free(&cfg);

	parse_clean(&cfg, "TARGET_DRIVER iscsi {\nTARGET a\nTARGET b\n}\n");
	assert_int_equal(ut_config_set_target(&cfg, "iqn.c"), -1);
	ut_config_free(&cfg);
}

static void find_dev_matches_names_exactly(void **state)
{
	struct ut_config cfg;

	assert_int_equal(ut_config_default(&cfg), 0);
	assert_non_null(ut_config_find_dev(&cfg, "mem0"));
	assert_null(ut_config_find_dev(&cfg, "MEM0"));
	assert_null(ut_config_find_dev(&cfg, "mem"));
	ut_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(size_units_are_binary_and_case_insensitive),
		cmocka_unit_test(
			size_at_uint64_max_is_ok_and_one_more_overflows),
		cmocka_unit_test(lun_specs_that_are_valid_parse),
		cmocka_unit_test(lun_specs_that_are_invalid_give_clear_errors),
		cmocka_unit_test(rbd_and_tcmu_lun_specs_parse),
		cmocka_unit_test(
			rbd_and_tcmu_lun_specs_that_are_invalid_say_why),
		cmocka_unit_test(scst_conf_rbd_and_tcmu_devices),
		cmocka_unit_test(
			lun_spec_size_at_1_eib_is_ok_and_one_block_more_is_bad),
		cmocka_unit_test(
			lun_spec_path_of_4095_bytes_is_ok_and_4096_is_bad),
		cmocka_unit_test(validate_warns_when_lun_0_is_missing),
		cmocka_unit_test(
			validate_rejects_sizeless_mem_and_pathless_file),
		cmocka_unit_test(validate_checks_lun_references_and_ranges),
		cmocka_unit_test(validate_rejects_first_burst_above_max_burst),
		cmocka_unit_test(params_default_match_the_header),
		cmocka_unit_test(
			embedded_default_is_one_thin_1_gib_mem_lun_on_localhost),
		cmocka_unit_test(set_portals_replaces_and_validates),
		cmocka_unit_test(
			set_luns_replaces_every_default_set_and_keeps_groups),
		cmocka_unit_test(
			set_luns_on_an_empty_config_adds_the_default_target),
		cmocka_unit_test(set_target_renames_the_only_target),
		cmocka_unit_test(find_dev_matches_names_exactly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
