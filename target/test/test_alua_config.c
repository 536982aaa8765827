/*
 * test_alua_config.c — the ALUA part of the configuration: SCST's
 * DEVICE_GROUP / TARGET_GROUP blocks, PORTAL_GROUP, rel_tgt_id and
 * expl_alua; target ports and their relative identifiers; validation;
 * --listen ADDR,tpgt=N; write, copy and compare.
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

#define MAX_DIAGS 32

struct diags {
	int warnings, errors, n;
	char msg[MAX_DIAGS][640];
};

static void capture(void *arg, int severity, const char *file, int line,
		    int col, const char *msg)
{
	struct diags *d = arg;

	if (severity)
		d->errors++;
	else
		d->warnings++;
	if (d->n < MAX_DIAGS)
		snprintf(d->msg[d->n++], sizeof(d->msg[0]), "%s:%d:%d: %s: %s",
			 file ? file : "-", line, col,
			 severity ? "error" : "warning", msg);
}

static void dump(const struct diags *d)
{
	for (int i = 0; i < d->n; i++)
		print_message("  diag: %s\n", d->msg[i]);
}

static bool has_diag(const struct diags *d, const char *needle)
{
	for (int i = 0; i < d->n; i++)
		if (strstr(d->msg[i], needle))
			return true;
	return false;
}

#define expect_diag(d, needle)                                              \
	do {                                                                \
		if (!has_diag((d), (needle))) {                             \
			dump(d);                                            \
			fail_msg("expected a diagnostic containing \"%s\"", \
				 (needle));                                 \
		}                                                           \
	} while (0)

static int parse(struct ut_config *cfg, struct diags *d, const char *text)
{
	memset(d, 0, sizeof(*d));
	ut_config_init(cfg);
	return ut_config_parse(cfg, "t.conf", text, strlen(text), capture, d);
}

/* Parse and validate; both must pass without a diagnostic. */
static void load_ok(struct ut_config *cfg, const char *text)
{
	struct diags d;

	if (parse(cfg, &d, text) || ut_config_validate(cfg, capture, &d) ||
	    d.n) {
		dump(&d);
		fail_msg("configuration did not load cleanly");
	}
}

/* Parses, then validation fails with a message containing needle. */
static void invalid(const char *text, const char *needle)
{
	struct ut_config cfg;
	struct diags d;

	if (parse(&cfg, &d, text)) {
		dump(&d);
		fail_msg("parse failed; validation was to fail");
	}
	assert_int_equal(ut_config_validate(&cfg, capture, &d), -1);
	expect_diag(&d, needle);
	ut_config_free(&cfg);
}

/* The parse itself fails with a message containing needle. */
static void unparsable(const char *text, const char *needle)
{
	struct ut_config cfg;
	struct diags d;

	assert_int_equal(parse(&cfg, &d, text), -1);
	expect_diag(&d, needle);
	ut_config_free(&cfg);
}

#define DEVS                                                 \
	"HANDLER vdisk_mem {\n"                              \
	"\tDEVICE d0 {\n\t\tsize 1M\n\t\texpl_alua 1\n\t}\n" \
	"\tDEVICE d1 {\n\t\tsize 1M\n\t}\n"                  \
	"}\n"

#define DRIVER(targets)              \
	"TARGET_DRIVER iscsi {\n"    \
	"\tportal 10.0.0.1:3260\n"   \
	"\tPORTAL_GROUP 2 {\n"       \
	"\t\tportal 10.0.1.1:3260\n" \
	"\t}\n" targets "}\n"

#define TGT_A "\tTARGET iqn.x:a {\n\t\tLUN 0 d0\n\t\tLUN 1 d1\n\t}\n"

/* The configuration of docs/configuration.md's two-portal example. */
static const char two_portals[] =
	DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n"
			   "\tDEVICE d0\n"
			   "\tDEVICE d1\n"
			   "\timplicit_transition_time 9\n"
			   "\tTARGET_GROUP east {\n"
			   "\t\tgroup_id 10\n"
			   "\t\tstate active\n"
			   "\t\tpreferred 1\n"
			   "\t\tTARGET iqn.x:a,t,0x0001\n"
			   "\t}\n"
			   "\tTARGET_GROUP west {\n"
			   "\t\tgroup_id 20\n"
			   "\t\tstate nonoptimized\n"
			   "\t\tTARGET iqn.x:a,t,0x2\n"
			   "\t\tTARGET iqn.x:peer,t,0x1 {\n"
			   "\t\t\trel_tgt_id 7\n"
			   "\t\t}\n"
			   "\t}\n"
			   "}\n";

static void two_portal_groups_and_a_device_group_load(void **state)
{
	struct ut_config cfg;
	const struct ut_dev_group_cfg *dg;
	struct ut_port *ports;
	uint16_t ids[4];

	load_ok(&cfg, two_portals);
	assert_int_equal(cfg.portal_count, 2);
	assert_int_equal(ut_config_portal_tpgt(&cfg, 0), 1);
	assert_int_equal(ut_config_portal_tpgt(&cfg, 1), 2);
	assert_true(cfg.devs[0].expl_alua);
	assert_false(cfg.devs[1].expl_alua);
	assert_int_equal(cfg.dgroup_count, 1);
	dg = &cfg.dgroups[0];
	assert_string_equal(dg->name, "dg");
	assert_int_equal(dg->dev_count, 2);
	assert_int_equal(dg->transition_time_s, 9);
	assert_int_equal(dg->tgroup_count, 2);
	assert_int_equal(dg->tgroups[0].group_id, 10);
	assert_int_equal(dg->tgroups[0].state, SCSI_ALUA_OPTIMIZED);
	assert_true(dg->tgroups[0].preferred);
	assert_int_equal(dg->tgroups[1].state, SCSI_ALUA_NON_OPTIMIZED);
	assert_false(dg->tgroups[1].preferred);
	/* one target, two portal groups: ports 1 and 2; the peer's 7 */
	assert_int_equal(ut_config_ports(&cfg, &ports, capture, NULL), 2);
	assert_int_equal(ports[0].tpgt, 1);
	assert_int_equal(ports[0].rel_tgt_id, 1);
	assert_int_equal(ports[1].tpgt, 2);
	assert_int_equal(ports[1].rel_tgt_id, 2);
	assert_int_equal(ut_config_tg_target_ids(&cfg, ports, 2,
						 &dg->tgroups[0].targets[0],
						 ids, 4),
			 1);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ut_config_tg_target_ids(&cfg, ports, 2,
						 &dg->tgroups[1].targets[1],
						 ids, 4),
			 1);
	assert_int_equal(ids[0], 7);
	free(ports);
	ut_config_free(&cfg);
}

/* Given identifiers first; the rest get the smallest free ones, in the
 * order of targets and portal groups. */
static void relative_port_ids_given_then_assigned(void **state)
{
	struct ut_config cfg;
	struct ut_port *ports;
	static const char text[] = DEVS DRIVER(
		"\tTARGET iqn.x:a {\n\t\tLUN 0 d0\n\t}\n"
		"\tTARGET iqn.x:b {\n\t\trel_tgt_id 1\n"
		"\t\tLUN 0 d1\n\t}\n") "DEVICE_GROUP dg {\n\tDEVICE d0\n"
				       "\tTARGET_GROUP g {\n\t\tgroup_id 1\n"
				       "\t\tTARGET iqn.x:a,t,0x0002 {\n"
				       "\t\t\trel_tgt_id 3\n\t\t}\n"
				       "\t\tTARGET iqn.x:a,t,0x0001\n"
				       "\t}\n}\n";

	load_ok(&cfg, text);
	assert_int_equal(ut_config_ports(&cfg, &ports, capture, NULL), 4);
	/* a/1 auto, a/2 given 3, b/1 given 1, b/2 auto */
	assert_int_equal(ports[0].rel_tgt_id, 2);
	assert_int_equal(ports[1].rel_tgt_id, 3);
	assert_int_equal(ports[2].rel_tgt_id, 1);
	assert_int_equal(ports[3].rel_tgt_id, 4);
	free(ports);
	ut_config_free(&cfg);
}

static void device_group_validation_errors(void **state)
{
	/* no group_id */
	invalid(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n\tDEVICE d0\n"
				   "\tTARGET_GROUP g {\n"
				   "\t\tTARGET iqn.x:a\n\t}\n}\n",
		"needs a group_id");
	/* a port of the LU's target in no TARGET_GROUP */
	invalid(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n\tDEVICE d0\n"
				   "\tTARGET_GROUP g {\n\t\tgroup_id 1\n"
				   "\t\tTARGET iqn.x:a,t,0x1\n\t}\n}\n",
		"iqn.x:a,t,0x0002 exports device 'd0' but is in none");
	/* one port in two groups */
	invalid(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n\tDEVICE d0\n"
				   "\tTARGET_GROUP g {\n\t\tgroup_id 1\n"
				   "\t\tTARGET iqn.x:a\n\t}\n"
				   "\tTARGET_GROUP h {\n\t\tgroup_id 2\n"
				   "\t\tTARGET iqn.x:a,t,0x2\n\t}\n}\n",
		"is in TARGET_GROUPs 'g' and 'h'");
	/* one group_id twice */
	invalid(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n\tDEVICE d0\n"
				   "\tTARGET_GROUP g {\n\t\tgroup_id 1\n"
				   "\t\tTARGET iqn.x:a,t,0x1\n\t}\n"
				   "\tTARGET_GROUP h {\n\t\tgroup_id 1\n"
				   "\t\tTARGET iqn.x:a,t,0x2\n\t}\n}\n",
		"group_id 1 is used by 'g' and 'h'");
	/* unknown device; a device in two device groups */
	invalid(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n\tDEVICE nope\n}\n",
		"names unknown device 'nope'");
	invalid(DEVS DRIVER(TGT_A) "DEVICE_GROUP a {\n\tDEVICE d1\n"
				   "\tTARGET_GROUP g {\n\t\tgroup_id 1\n"
				   "\t\tTARGET iqn.x:a\n\t}\n}\n"
				   "DEVICE_GROUP b {\n\tDEVICE d1\n"
				   "\tTARGET_GROUP g {\n\t\tgroup_id 1\n"
				   "\t\tTARGET iqn.x:a\n\t}\n}\n",
		"device 'd1' is in device group 'b' twice or in two groups");
	/* a port of another node without its identifier */
	invalid(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n\tDEVICE d0\n"
				   "\tTARGET_GROUP g {\n\t\tgroup_id 1\n"
				   "\t\tTARGET iqn.x:a\n"
				   "\t\tTARGET iqn.x:elsewhere\n\t}\n}\n",
		"a port of another node needs rel_tgt_id");
	/* malformed port names */
	invalid(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n\tDEVICE d0\n"
				   "\tTARGET_GROUP g {\n\t\tgroup_id 1\n"
				   "\t\tTARGET iqn.x:a,t,0x12345\n\t}\n}\n",
		"1 to 4 hex digits");
	invalid(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n\tDEVICE d0\n"
				   "\tTARGET_GROUP g {\n\t\tgroup_id 1\n"
				   "\t\tTARGET iqn.x:a,t,0x0\n\t}\n}\n",
		"1 to 4 hex digits");
	/* rel_tgt_id for a name that stands for two ports */
	invalid(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n\tDEVICE d0\n"
				   "\tTARGET_GROUP g {\n\t\tgroup_id 1\n"
				   "\t\tTARGET iqn.x:a {\n\t\t\trel_tgt_id 5\n"
				   "\t\t}\n\t}\n}\n",
		"names 2 ports");
	/* one identifier for two ports; two for one port */
	invalid(DEVS DRIVER("\tTARGET iqn.x:a {\n\t\trel_tgt_id 4\n"
			    "\t\tLUN 0 d0\n\t}\n"
			    "\tTARGET iqn.x:b {\n\t\trel_tgt_id 4\n"
			    "\t\tLUN 0 d1\n\t}\n"),
		"rel_tgt_id 4 is given to two target ports");
	invalid(DEVS DRIVER(
			"\tTARGET iqn.x:a {\n\t\trel_tgt_id 4\n"
			"\t\tLUN 0 d0\n\t}\n") "DEVICE_GROUP dg {\n"
					       "\tTARGET_GROUP g {\n"
					       "\t\tgroup_id 1\n"
					       "\t\tTARGET iqn.x:a,t,0x1 {\n"
					       "\t\t\trel_tgt_id 5\n"
					       "\t\t}\n\t}\n}\n",
		"has rel_tgt_id 4 and 5");
	/* a peer's identifier that a local port has */
	invalid(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n\tDEVICE d0\n"
				   "\tTARGET_GROUP g {\n\t\tgroup_id 1\n"
				   "\t\tTARGET iqn.x:a,t,0x1 {\n"
				   "\t\t\trel_tgt_id 2\n\t\t}\n"
				   "\t\tTARGET iqn.x:a,t,0x2 {\n"
				   "\t\t\trel_tgt_id 3\n\t\t}\n"
				   "\t\tTARGET iqn.x:peer {\n"
				   "\t\t\trel_tgt_id 3\n\t\t}\n\t}\n}\n",
		"rel_tgt_id 3 of iqn.x:peer is also a local port's");
}

static void device_group_parse_errors_and_limits(void **state)
{
	char *text;
	size_t cap = 64 << 10, len;

	unparsable(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n"
				      "\tTARGET_GROUP g {\n"
				      "\t\tstate sleepy\n\t}\n}\n",
		   "t.conf:22:9: error: state 'sleepy' is not one of");
	unparsable(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n"
				      "\tTARGET_GROUP g {\n"
				      "\t\tgroup_id 65536\n\t}\n}\n",
		   "not a number in 0..65535");
	unparsable(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n"
				      "\timplicit_transition_time 256\n}\n",
		   "not a number in 0..255");
	unparsable(DEVS DRIVER(TGT_A) "DEVICE_GROUP dg {\n"
				      "\tTARGET_GROUP g {\n"
				      "\t\tTARGET p {\n\t\t\trel_tgt_id 0\n"
				      "\t\t}\n\t}\n}\n",
		   "not a number in 1..65535");
	unparsable("TARGET_DRIVER iscsi {\n\tPORTAL_GROUP 0 {\n\t}\n}\n",
		   "PORTAL_GROUP needs a tag 1..65535");
	unparsable("TARGET_DRIVER iscsi {\n\tPORTAL_GROUP 65536 {\n\t}\n}\n",
		   "PORTAL_GROUP needs a tag 1..65535");
	/* 16 TARGET_GROUPs pass, the 17th does not; 32 TARGET lines pass,
	 * the 33rd does not */
	text = malloc(cap);
	assert_non_null(text);
	for (int groups = 16; groups <= 17; groups++) {
		struct ut_config cfg;
		struct diags d;

		len = (size_t)snprintf(text, cap, "DEVICE_GROUP dg {\n");
		for (int i = 0; i < groups; i++)
			len += (size_t)snprintf(text + len, cap - len,
						"\tTARGET_GROUP g%d {\n"
						"\t\tgroup_id %d\n\t}\n",
						i, i);
		snprintf(text + len, cap - len, "}\n");
		assert_int_equal(parse(&cfg, &d, text), groups == 17 ? -1 : 0);
		if (groups == 17)
			expect_diag(&d, "more than 16 TARGET_GROUPs");
		ut_config_free(&cfg);
	}
	for (int lines = 32; lines <= 33; lines++) {
		struct ut_config cfg;
		struct diags d;

		len = (size_t)snprintf(text, cap,
				       "DEVICE_GROUP dg {\n"
				       "\tTARGET_GROUP g {\n");
		for (int i = 0; i < lines; i++)
			len += (size_t)snprintf(text + len, cap - len,
						"\t\tTARGET p%d\n", i);
		snprintf(text + len, cap - len, "\t}\n}\n");
		assert_int_equal(parse(&cfg, &d, text), lines == 33 ? -1 : 0);
		if (lines == 33)
			expect_diag(&d, "more than 32 TARGET lines");
		ut_config_free(&cfg);
	}
	free(text);
}

static void listen_option_takes_a_portal_group(void **state)
{
	struct ut_config cfg;
	char *good[] = {"127.0.0.1:3260", "[::1]:3261,tpgt=2",
			"10.0.0.1,tpgt=65535"};
	char *bad[][1] = {{"127.0.0.1:3260,tpgt=0"},
			  {"127.0.0.1:3260,tpgt=65536"},
			  {"127.0.0.1:3260,tpgt=x"},
			  {"127.0.0.1:3260,tpg=2"},
			  {"127.0.0.1:3260,"}};

	ut_config_init(&cfg);
	assert_int_equal(ut_config_set_portals(&cfg, good, 3), 0);
	assert_int_equal(cfg.portal_count, 3);
	assert_string_equal(cfg.portals[1], "[::1]:3261");
	assert_int_equal(ut_config_portal_tpgt(&cfg, 0), 1);
	assert_int_equal(ut_config_portal_tpgt(&cfg, 1), 2);
	assert_int_equal(ut_config_portal_tpgt(&cfg, 2), 65535);
	assert_string_equal(cfg.portals[2], "10.0.0.1:3260");
	{
		struct ut_dev_cfg dev;
		const char *err;

		memset(&dev, 0, sizeof(dev));
		assert_int_equal(
			ut_lun_spec_parse("mem:1M,expl_alua", &dev, &err), 0);
		assert_true(dev.expl_alua);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ut_config_set_portals(&cfg, bad[i], 1) == 0)
			fail_msg("--listen %s was accepted", bad[i][0]);
		/* the portals before are kept */
		assert_int_equal(cfg.portal_count, 3);
	}
	ut_config_free(&cfg);
}

static void target_rename_follows_into_target_groups(void **state)
{
	struct ut_config cfg;

	load_ok(&cfg, two_portals);
	assert_int_equal(ut_config_set_target(&cfg, "iqn.y:renamed"), 0);
	assert_string_equal(cfg.dgroups[0].tgroups[0].targets[0].name,
			    "iqn.y:renamed,t,0x0001");
	assert_string_equal(cfg.dgroups[0].tgroups[1].targets[0].name,
			    "iqn.y:renamed,t,0x2");
	/* a peer with a name that merely starts alike is left alone */
	assert_string_equal(cfg.dgroups[0].tgroups[1].targets[1].name,
			    "iqn.x:peer,t,0x1");
	assert_int_equal(ut_config_validate(&cfg, NULL, NULL), 0);
	ut_config_free(&cfg);
}

static void write_copy_and_compare_keep_alua(void **state)
{
	struct ut_config cfg, back, copy;
	struct diags d;
	char *text;
	size_t len;

	load_ok(&cfg, two_portals);
	assert_int_equal(ut_config_write(&cfg, &text, &len), 0);
	if (parse(&back, &d, text) || d.errors) {
		dump(&d);
		fail_msg("written configuration does not parse:\n%s", text);
	}
	if (!ut_config_equal(&cfg, &back))
		fail_msg("written configuration parses back different:\n%s",
			 text);
	free(text);
	assert_int_equal(ut_config_copy(&copy, &cfg), 0);
	assert_true(ut_config_equal(&cfg, &copy));
	copy.dgroups[0].tgroups[1].state = SCSI_ALUA_STANDBY;
	assert_false(ut_config_equal(&cfg, &copy));
	copy.dgroups[0].tgroups[1].state = SCSI_ALUA_NON_OPTIMIZED;
	copy.portal_tpgts[1] = 3;
	assert_false(ut_config_equal(&cfg, &copy));
	ut_config_free(&copy);
	ut_config_free(&back);
	ut_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_portal_groups_and_a_device_group_load),
		cmocka_unit_test(relative_port_ids_given_then_assigned),
		cmocka_unit_test(device_group_validation_errors),
		cmocka_unit_test(device_group_parse_errors_and_limits),
		cmocka_unit_test(listen_option_takes_a_portal_group),
		cmocka_unit_test(target_rename_follows_into_target_groups),
		cmocka_unit_test(write_copy_and_compare_keep_alua),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
