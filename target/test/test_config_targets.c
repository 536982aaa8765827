/*
 * test_config_targets.c — targets, iSCSI parameters, the driver level and
 * portals in the SCST-style configuration file, on both sides of every
 * limit.
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

/* ------------------------------------------------------------- targets */

static void target_name_of_223_bytes_is_ok_and_224_is_an_error(void **state)
{
	struct sb b = {0};
	char *name = repeat('n', 223);

	sb_printf(&b, "TARGET_DRIVER iscsi {\n TARGET %s\n}\n", name);
	parse_ok(b.s);
	b.len = 0;
	sb_printf(&b, "TARGET_DRIVER iscsi {\n TARGET %sn\n}\n", name);
	parse_fails(b.s, "t.conf:2:9: error: TARGET name 'nnnnnnnnnnnnnnnnnnnnn"
			 "nnnnnnnnnnn...' is longer than 223 bytes");
	free(name);
	free(b.s);
}

static void targets_are_capped_at_256(void **state)
{
	struct sb b = {0};

	sb_printf(&b, "TARGET_DRIVER iscsi {\n");
	for (int i = 0; i < UT_MAX_TARGETS; i++)
		sb_printf(&b, "TARGET iqn.t%d\n", i);
	sb_printf(&b, "}\n");
	parse_ok(b.s);
	b.len -= 2;
	sb_printf(&b, "TARGET iqn.more\n}\n");
	parse_fails(b.s, "more than 256 targets");
	free(b.s);
	parse_fails("TARGET_DRIVER iscsi {\nTARGET a\nTARGET a\n}\n",
		    "t.conf:3:8: error: target 'a' is defined twice (first at "
		    "line 2)");
}

static void target_attributes_are_read(void **state)
{
	struct ut_config cfg;
	char *s =
		with_target("enabled no\nalias \"my disk\"\n"
			    "allowed_portal 10.0.0.*\nallowed_portal 10.1.0.1\n"
			    "IncomingUser a secret_a_12b\n"
			    "IncomingUser \"b  secret with blanks\"");

	parse_clean(&cfg, s);
	assert_false(cfg.targets[0].enabled);
	assert_string_equal(cfg.targets[0].alias, "my disk");
	assert_int_equal(cfg.targets[0].allowed_portal_count, 2);
	assert_string_equal(cfg.targets[0].allowed_portals[0], "10.0.0.*");
	assert_int_equal(cfg.targets[0].incoming_count, 2);
	assert_string_equal(cfg.targets[0].incoming[0].secret, "secret_a_12b");
	assert_string_equal(cfg.targets[0].incoming[1].name, "b");
	assert_string_equal(cfg.targets[0].incoming[1].secret,
			    "secret with blanks");
	assert_true(cfg.has_secrets);
	ut_config_free(&cfg);
	free(s);
}

static void alias_and_allowed_portal_are_capped_at_255_bytes(void **state)
{
	struct sb b = {0};
	char *v = repeat('a', 255);

	sb_printf(&b, "alias %s\nallowed_portal %s", v, v);
	target_ok(b.s);
	b.len = 0;
	sb_printf(&b, "alias %sa", v);
	target_fails(b.s, "alias of the target is longer than 255 bytes");
	b.len = 0;
	sb_printf(&b, "allowed_portal %sa", v);
	target_fails(b.s, "allowed_portal must be 1 to 255 bytes");
	b.len = 0;
	for (int i = 0; i < UT_MAX_ALLOWED_PORTALS; i++)
		sb_printf(&b, "allowed_portal p%d\n", i);
	target_ok(b.s);
	sb_printf(&b, "allowed_portal more\n");
	target_fails(b.s, "more than 32 allowed_portal lines");
	free(v);
	free(b.s);
}

static void user_name_and_secret_are_capped_at_255_bytes(void **state)
{
	struct sb b = {0};
	char *v = repeat('u', 255);

	sb_printf(&b, "IncomingUser %s %s\nOutgoingUser \"%s %s\"", v, v, v, v);
	target_ok(b.s);
	b.len = 0;
	sb_printf(&b, "IncomingUser %su s", v);
	target_fails(b.s, "IncomingUser: user name is longer than 255 bytes");
	b.len = 0;
	sb_printf(&b, "OutgoingUser \"u %su\"", v);
	target_fails(b.s, "OutgoingUser: secret is longer than 255 bytes");
	target_fails("IncomingUser joe", "IncomingUser needs a name and a "
					 "secret");
	target_fails("IncomingUser a b c", "IncomingUser needs a name and a "
					   "secret");
	b.len = 0;
	for (int i = 0; i < UT_MAX_USERS; i++)
		sb_printf(&b, "IncomingUser u%d secret\n", i);
	target_ok(b.s);
	sb_printf(&b, "IncomingUser more secret\n");
	target_fails(b.s, "more than 16 IncomingUser lines");
	free(v);
	free(b.s);
}

static void config_without_users_has_no_secrets(void **state)
{
	struct ut_config cfg;
	char *s = with_target("LUN 0 m");

	parse_clean(&cfg, s);
	assert_false(cfg.has_secrets);
	ut_config_free(&cfg);
	free(s);
}

/* ---------------------------------------------------- iSCSI parameters */

static void mrdsl_511_is_bad_512_ok_16777215_ok_16777216_bad(void **state)
{
	struct ut_config cfg;
	char *s = with_target("MaxRecvDataSegmentLength 512");

	parse_clean(&cfg, s);
	assert_int_equal(cfg.targets[0].params.max_recv_data_segment_length,
			 512);
	ut_config_free(&cfg);
	free(s);
	target_ok("MaxRecvDataSegmentLength 16777215");
	target_fails("MaxRecvDataSegmentLength 511",
		     "t.conf:8:26: error: "
		     "MaxRecvDataSegmentLength 511 is out of range "
		     "(512..16777215)");
	target_fails("MaxRecvDataSegmentLength 16777216",
		     "MaxRecvDataSegmentLength 16777216 is out of range");
	target_fails("MaxRecvDataSegmentLength 4294967296", "is not a decimal");
	target_fails("MaxRecvDataSegmentLength 8k", "is not a decimal");
}

static void every_numeric_parameter_is_checked_at_both_ends(void **state)
{
	static const struct {
		const char *key;
		long long min, max;
	} p[] = {
		{"MaxXmitDataSegmentLength", 512, 16777215},
		{"MaxBurstLength", 512, 16777215},
		{"FirstBurstLength", 512, 16777215},
		{"MaxOutstandingR2T", 1, 65535},
		{"DefaultTime2Wait", 0, 3600},
		{"DefaultTime2Retain", 0, 3600},
		{"QueuedCommands", 1, 2048},
		{"MaxSessions", 0, 65535},
		{"NopInInterval", 0, 3600},
		{"NopInTimeout", 1, 3600},
		{"RspTimeout", 1, 3600},
		{"ErrorRecoveryLevel", 0, 2},
		{"MaxConnections", 1, 65535},
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		struct ut_config cfg;
		struct diags d;
		char *s;

		snprintf(buf, sizeof(buf), "%s %lld", p[i].key, p[i].min);
		target_ok(buf);
		snprintf(buf, sizeof(buf), "%s %lld", p[i].key, p[i].max);
		s = with_target(buf);
		assert_int_equal(parse(&cfg, &d, s), 0);
		ut_config_free(&cfg);
		free(s);
		snprintf(buf, sizeof(buf), "%s %lld", p[i].key, p[i].max + 1);
		target_fails(buf, "is out of range");
		if (p[i].min > 0) {
			snprintf(buf, sizeof(buf), "%s %lld", p[i].key,
				 p[i].min - 1);
			target_fails(buf, "is out of range");
		}
	}
}

static void error_recovery_above_0_and_connections_above_1_warn(void **state)
{
	struct ut_config cfg;
	struct diags d;
	char *s = with_target("ErrorRecoveryLevel 1\nMaxConnections 2");

	assert_int_equal(parse(&cfg, &d, s), 0);
	assert_int_equal(d.warnings, 2);
	expect_diag(&d, "t.conf:8:20: warning: utarget implements "
			"ErrorRecoveryLevel 0 only");
	expect_diag(&d, "offering MaxConnections 1");
	ut_config_free(&cfg);
	free(s);
}

static void digest_lists_accept_one_or_two_distinct_values(void **state)
{
	struct ut_config cfg;
	char *s = with_target("HeaderDigest crc32c\nDataDigest None, CRC32C");

	parse_clean(&cfg, s);
	assert_int_equal(cfg.targets[0].params.header_digest_count, 1);
	assert_int_equal(cfg.targets[0].params.header_digest[0],
			 UT_DIGEST_CRC32C);
	assert_int_equal(cfg.targets[0].params.data_digest_count, 2);
	assert_int_equal(cfg.targets[0].params.data_digest[1],
			 UT_DIGEST_CRC32C);
	ut_config_free(&cfg);
	free(s);
	target_fails("HeaderDigest None,None", "lists each of CRC32C and None "
					       "at most once");
	target_fails("HeaderDigest CRC32C,None,CRC32C", "at most once");
	target_fails("DataDigest MD5", "DataDigest value 'MD5' is not CRC32C "
				       "or None");
	target_fails("DataDigest None,", "DataDigest value '' is not");
	target_fails("DataDigest", "attribute 'DataDigest' needs a value");
}

static void driver_params_apply_to_targets_that_do_not_set_them(void **state)
{
	struct ut_config cfg;

	parse_clean(&cfg, "TARGET_DRIVER iscsi {\n"
			  " MaxBurstLength 65536\n"
			  " TARGET iqn.a {\n  MaxBurstLength 131072\n }\n"
			  " TARGET iqn.b\n"
			  /* after the targets: still a default for both */
			  " InitialR2T Yes\n"
			  " HeaderDigest CRC32C\n"
			  "}\n");
	assert_int_equal(cfg.params.max_burst_length, 65536);
	assert_int_equal(cfg.targets[0].params.max_burst_length, 131072);
	assert_int_equal(cfg.targets[1].params.max_burst_length, 65536);
	for (int i = 0; i < 2; i++) {
		assert_true(cfg.targets[i].params.initial_r2t);
		assert_int_equal(cfg.targets[i].params.header_digest_count, 1);
		assert_int_equal(cfg.targets[i].params.first_burst_length,
				 262144);
	}
	ut_config_free(&cfg);
}

/* ------------------------------------------------- the driver, portals */

static void portals_are_read_normalized_and_listen_is_an_alias(void **state)
{
	struct ut_config cfg;

	parse_clean(&cfg, "TARGET_DRIVER iscsi {\n portal 0.0.0.0\n"
			  " listen [::1]:3261\n portal 192.168.1.1:860\n"
			  " enabled 0\n OutgoingUser d dsecret\n}\n");
	assert_int_equal(cfg.portal_count, 3);
	assert_string_equal(cfg.portals[0], "0.0.0.0:3260");
	assert_string_equal(cfg.portals[1], "[::1]:3261");
	assert_string_equal(cfg.portals[2], "192.168.1.1:860");
	assert_false(cfg.iscsi_enabled);
	assert_string_equal(cfg.discovery_outgoing.name, "d");
	assert_true(cfg.has_secrets);
	ut_config_free(&cfg);
	parse_fails("TARGET_DRIVER iscsi {\n portal 1.2.3.4:65536\n}\n",
		    "t.conf:2:9: error: bad portal '1.2.3.4:65536'");
}

static void portals_in_a_file_are_capped_at_32(void **state)
{
	struct sb b = {0};

	sb_printf(&b, "TARGET_DRIVER iscsi {\n");
	for (int i = 0; i < UT_MAX_PORTALS; i++)
		sb_printf(&b, "portal 10.0.0.1:%d\n", 3000 + i);
	sb_printf(&b, "}\n");
	parse_ok(b.s);
	b.len -= 2;
	sb_printf(&b, "portal 10.0.0.2\n}\n");
	parse_fails(b.s, "more than 32 portal lines");
	free(b.s);
}

static void file_without_portal_keeps_portals_empty(void **state)
{
	struct ut_config cfg;

	parse_clean(&cfg, MEM_DEV);
	assert_int_equal(cfg.portal_count, 0);
	assert_null(cfg.portals);
	assert_int_equal(cfg.target_count, 0);
	ut_config_free(&cfg);
}

static void port_65535_is_ok_and_65536_is_bad(void **state)
{
	char host[64];
	uint16_t port;

	assert_int_equal(
		ut_portal_parse("1.2.3.4:65535", host, sizeof(host), &port), 0);
	assert_string_equal(host, "1.2.3.4");
	assert_int_equal(port, 65535);
	assert_int_equal(
		ut_portal_parse("1.2.3.4:1", host, sizeof(host), &port), 0);
	assert_int_equal(port, 1);
	assert_int_equal(ut_portal_parse("1.2.3.4:65536", host, sizeof(host),
					 &port),
			 -1);
	assert_int_equal(
		ut_portal_parse("1.2.3.4:0", host, sizeof(host), &port), -1);
	assert_int_equal(ut_portal_parse("1.2.3.4:", host, sizeof(host), &port),
			 -1);
	assert_int_equal(
		ut_portal_parse("1.2.3.4:+80", host, sizeof(host), &port), -1);
	assert_int_equal(ut_portal_parse("1.2.3.4:3260x", host, sizeof(host),
					 &port),
			 -1);
	assert_int_equal(ut_portal_parse("1.2.3.4:000080", host, sizeof(host),
					 &port),
			 -1);
}

static void portal_forms_ipv4_ipv6_and_host_without_port(void **state)
{
	char host[64];
	uint16_t port;

	assert_int_equal(ut_portal_parse("10.0.0.1", host, sizeof(host), &port),
			 0);
	assert_int_equal(port, 3260);
	assert_int_equal(ut_portal_parse("[fe80::1%eth0]:3261", host,
					 sizeof(host), &port),
			 0);
	assert_string_equal(host, "fe80::1%eth0");
	assert_int_equal(port, 3261);
	assert_int_equal(ut_portal_parse("[::]", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::");
	assert_int_equal(port, 3260);
	assert_int_equal(
		ut_portal_parse("localhost:99", host, sizeof(host), &port), 0);
	assert_string_equal(host, "localhost");
	/* Bad: unbracketed IPv6, malformed IPv4, empty host, junk. */
	assert_int_equal(ut_portal_parse("::1", host, sizeof(host), &port), -1);
	assert_int_equal(
		ut_portal_parse("256.0.0.1", host, sizeof(host), &port), -1);
	assert_int_equal(ut_portal_parse("10.1", host, sizeof(host), &port),
			 -1);
	assert_int_equal(ut_portal_parse(":3260", host, sizeof(host), &port),
			 -1);
	assert_int_equal(ut_portal_parse("[::1]x", host, sizeof(host), &port),
			 -1);
	assert_int_equal(
		ut_portal_parse("[1.2.3.4]", host, sizeof(host), &port), -1);
	assert_int_equal(ut_portal_parse("a b", host, sizeof(host), &port), -1);
	/* The host must fit in cap bytes with its NUL: 7 + 1 fits 8. */
	assert_int_equal(ut_portal_parse("1.2.3.4", host, 8, &port), 0);
	assert_int_equal(ut_portal_parse("1.2.3.45", host, 8, &port), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			target_name_of_223_bytes_is_ok_and_224_is_an_error),
		cmocka_unit_test(targets_are_capped_at_256),
		cmocka_unit_test(target_attributes_are_read),
		cmocka_unit_test(
			alias_and_allowed_portal_are_capped_at_255_bytes),
		cmocka_unit_test(user_name_and_secret_are_capped_at_255_bytes),
		cmocka_unit_test(config_without_users_has_no_secrets),
		cmocka_unit_test(
			mrdsl_511_is_bad_512_ok_16777215_ok_16777216_bad),
		cmocka_unit_test(
			every_numeric_parameter_is_checked_at_both_ends),
		cmocka_unit_test(
			error_recovery_above_0_and_connections_above_1_warn),
		cmocka_unit_test(
			digest_lists_accept_one_or_two_distinct_values),
		cmocka_unit_test(
			driver_params_apply_to_targets_that_do_not_set_them),
		cmocka_unit_test(
			portals_are_read_normalized_and_listen_is_an_alias),
		cmocka_unit_test(portals_in_a_file_are_capped_at_32),
		cmocka_unit_test(file_without_portal_keeps_portals_empty),
		cmocka_unit_test(port_65535_is_ok_and_65536_is_bad),
		cmocka_unit_test(portal_forms_ipv4_ipv6_and_host_without_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
