/*
 * test_config_equal.c — the comparisons live reconfiguration decides
 * by (config/config_copy.c, config/alua_cfg.c): a reload compares the new
 * configuration with the running one, field by field, and applies only
 * what differs (iscsi/reconfig.c: ut_dev_cfg_equal keeps or replaces a
 * device, ut_iscsi_params_equal and ut_config_alua_equal say what needs
 * a restart).  A field left out of a comparison is a change a reload
 * silently ignores.  So: every field the configuration file sets, changed
 * alone in the text, makes the configurations differ, at the level that
 * holds it (the device, the target, its LUN set, the parameters, ALUA);
 * the definition lines do not; a state of a target port group differs
 * for ut_config_equal but not for ut_config_alua_equal; a device added
 * with its place in a device group is no ALUA difference.
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

#define TA "iqn.2026-11.org.utarget:a"
#define TB "iqn.2026-11.org.utarget:b"

/* Every kind of block and attribute the file holds. */
static const char conf[] =
	"HANDLER vdisk_fileio {\n"
	"  DEVICE disk0 {\n    filename /srv/d0.img\n"
	"    size 4G\n    blocksize 4096\n    lb_per_pb_exp 1\n"
	"    thin_provisioned 1\n    t10_vendor_id ACME\n"
	"    prod_id widget\n    usn abc123\n  }\n"
	"}\n"
	"HANDLER vdisk_blockio { DEVICE blk { filename /dev/sdz\n"
	"  write_through 1\n nv_cache 1\n removable 1 } }\n"
	"HANDLER vdisk_nullio { DEVICE z { size 1T\n read_only 1 } }\n"
	"HANDLER vdisk_mem { DEVICE m { size 64M\n t10_dev_id other\n"
	"  sanitize_rate 1G\n expl_alua 1 } }\n"
	"HANDLER vdisk_rbd { DEVICE r { filename pool/img\n"
	"  conf /etc/ceph/c.conf\n id cinder\n timeout 10\n rbd_cache 1 } }\n"
	"TARGET_DRIVER iscsi {\n"
	"  enabled 1\n  portal 127.0.0.1:3260\n  portal [::1]:3261\n"
	"  PORTAL_GROUP 2 {\n    portal 10.0.1.1:3260\n  }\n"
	"  IncomingUser disco discosecret12\n"
	"  OutgoingUser dout doutsecret123\n"
	"  MaxRecvDataSegmentLength 65536\n"
	"  MaxXmitDataSegmentLength 131072\n"
	"  MaxBurstLength 524288\n  FirstBurstLength 65536\n"
	"  MaxOutstandingR2T 4\n  DefaultTime2Wait 3\n"
	"  DefaultTime2Retain 30\n  NopInInterval 10\n"
	"  NopInTimeout 15\n  RspTimeout 60\n"
	"  SessionBufferLimit 134217728\n"
	"  HeaderDigest CRC32C\n  InitialR2T Yes\n"
	"  TARGET " TA " {\n"
	"    enabled 0\n    alias \"the a target\"\n"
	"    allowed_portal 127.0.0.*\n"
	"    IncomingUser alice alicesecret12\n"
	"    IncomingUser bob bobsecret1234\n"
	"    OutgoingUser tgt targetsecret1\n"
	"    QueuedCommands 64\n    MaxSessions 7\n    ImmediateData No\n"
	"    DataDigest None,CRC32C\n"
	"    LUN 0 disk0\n    LUN 3 z { read_only 1 }\n"
	"    GROUP hosts {\n      INITIATOR iqn.1993-08.org.debian:*\n"
	"      INITIATOR !iqn.1993-08.org.debian:01:bad\n"
	"      LUN 0 m\n      LUN 1 blk { read_only 1 }\n    }\n"
	"    GROUP empty { }\n"
	"  }\n"
	"  TARGET " TB " { LUN 0 m }\n"
	"}\n"
	"DEVICE_GROUP dg {\n  DEVICE m\n  implicit_transition_time 9\n"
	"  TARGET_GROUP east {\n    group_id 10\n    state active\n"
	"    preferred 1\n    TARGET " TB ",t,0x0001\n"
	"    TARGET " TA ",t,0x0001\n"
	"  }\n"
	"  TARGET_GROUP west {\n    group_id 20\n    state nonoptimized\n"
	"    TARGET " TB ",t,0x2\n"
	"    TARGET " TA ",t,0x2\n"
	"    TARGET iqn.x:peer,t,0x1 {\n      rel_tgt_id 9\n    }\n"
	"  }\n"
	"}\n";

static void print_diag(void *arg, int severity, const char *file, int line,
		       int col, const char *msg)
{
	(void)arg;
	print_message("  %s:%d:%d: %s: %s\n", file ? file : "-", line, col,
		      severity ? "error" : "warning", msg);
}

/* conf with its one occurrence of from replaced by to, parsed. */
static void parse_edited(struct ut_config *cfg, const char *from,
			 const char *to)
{
	const char *at = strstr(conf, from);
	size_t n = strlen(conf) - strlen(from) + strlen(to), pre;
	char *text = malloc(n + 1);

	if (!at)
		fail_msg("'%s' is not in the configuration", from);
	if (strstr(at + 1, from))
		fail_msg("'%s' is in the configuration twice", from);
	assert_non_null(text);
	pre = (size_t)(at - conf);
	memcpy(text, conf, pre);
	memcpy(text + pre, to, strlen(to));
	strcpy(text + pre + strlen(to), at + strlen(from));
	ut_config_init(cfg);
	if (ut_config_parse(cfg, "edited.conf", text, n, print_diag, NULL))
		fail_msg("the edit '%s' -> '%s' does not parse", from, to);
	free(text);
}

/* The level that holds a field (what must differ besides the whole). */
enum level {
	L_DEV,	   /* ut_dev_cfg_equal of the device `name` */
	L_SIZE,	   /* that, but equal but for the size */
	L_TGT,	   /* ut_target_cfg_equal of target `name` */
	L_LUNS,	   /* that, and ut_target_luns_equal */
	L_TPARAMS, /* that, and the target's ut_iscsi_params_equal */
	L_PARAMS,  /* the driver's ut_iscsi_params_equal */
	L_ALUA,	   /* ut_config_alua_equal */
	L_STATE,   /* a state: ut_config_alua_equal holds */
	L_CONFIG,  /* ut_config_equal only */
};

struct edit {
	const char *what, *from, *to;
	enum level level;
	const char *name;
};

static const struct edit edits[] = {
	/* ut_dev_cfg_equal: every field of a device */
	{"kind", "HANDLER vdisk_blockio", "HANDLER vdisk_fileio", L_DEV, "blk"},
	{"name", "DEVICE r {", "DEVICE q {", L_DEV, "r"},
	{"path", "/dev/sdz", "/dev/sdy", L_DEV, "blk"},
	{"size", "size 64M", "size 128M", L_SIZE, "m"},
	{"block size", "blocksize 4096", "blocksize 512", L_DEV, "disk0"},
	{"physical block size", "lb_per_pb_exp 1", "lb_per_pb_exp 2", L_DEV,
	 "disk0"},
	{"read_only", "1T\n read_only 1", "1T\n read_only 0", L_DEV, "z"},
	{"thin_provisioned", "thin_provisioned 1", "thin_provisioned 0", L_DEV,
	 "disk0"},
	{"removable", "removable 1", "removable 0", L_DEV, "blk"},
	{"write_through", "write_through 1", "write_through 0", L_DEV, "blk"},
	{"nv_cache", "nv_cache 1", "nv_cache 0", L_DEV, "blk"},
	{"sanitize_rate", "sanitize_rate 1G", "sanitize_rate 2G", L_DEV, "m"},
	{"t10_vendor_id", "ACME", "ACMF", L_DEV, "disk0"},
	{"prod_id", "prod_id widget", "prod_id widgey", L_DEV, "disk0"},
	{"t10_dev_id", "t10_dev_id other", "t10_dev_id another", L_DEV, "m"},
	{"usn", "usn abc123", "usn abc124", L_DEV, "disk0"},
	{"expl_alua", "expl_alua 1", "expl_alua 0", L_DEV, "m"},
	{"rbd conf", "conf /etc/ceph/c.conf", "conf /etc/ceph/d.conf", L_DEV,
	 "r"},
	{"rbd id", "id cinder", "id glance", L_DEV, "r"},
	{"rbd timeout", "timeout 10", "timeout 11", L_DEV, "r"},
	{"rbd_cache", "rbd_cache 1", "rbd_cache 0", L_DEV, "r"},
	/* ut_iscsi_params_equal of the driver: every parameter */
	{"HeaderDigest count", "HeaderDigest CRC32C\n",
	 "HeaderDigest CRC32C,None\n", L_PARAMS, NULL},
	{"HeaderDigest value", "HeaderDigest CRC32C\n", "HeaderDigest None\n",
	 L_PARAMS, NULL},
	{"InitialR2T", "InitialR2T Yes", "InitialR2T No", L_PARAMS, NULL},
	{"MaxRecvDataSegmentLength", "MaxRecvDataSegmentLength 65536",
	 "MaxRecvDataSegmentLength 65024", L_PARAMS, NULL},
	{"MaxXmitDataSegmentLength", "MaxXmitDataSegmentLength 131072",
	 "MaxXmitDataSegmentLength 131584", L_PARAMS, NULL},
	{"MaxBurstLength", "MaxBurstLength 524288", "MaxBurstLength 524800",
	 L_PARAMS, NULL},
	{"FirstBurstLength", "FirstBurstLength 65536", "FirstBurstLength 66048",
	 L_PARAMS, NULL},
	{"MaxOutstandingR2T", "MaxOutstandingR2T 4", "MaxOutstandingR2T 5",
	 L_PARAMS, NULL},
	{"DefaultTime2Wait", "DefaultTime2Wait 3", "DefaultTime2Wait 4",
	 L_PARAMS, NULL},
	{"DefaultTime2Retain", "DefaultTime2Retain 30", "DefaultTime2Retain 31",
	 L_PARAMS, NULL},
	{"NopInInterval", "NopInInterval 10", "NopInInterval 11", L_PARAMS,
	 NULL},
	{"NopInTimeout", "NopInTimeout 15", "NopInTimeout 16", L_PARAMS, NULL},
	{"RspTimeout", "RspTimeout 60", "RspTimeout 61", L_PARAMS, NULL},
	{"SessionBufferLimit", "SessionBufferLimit 134217728",
	 "SessionBufferLimit 134217729", L_PARAMS, NULL},
	/* a target's own parameters */
	{"DataDigest count", "DataDigest None,CRC32C", "DataDigest None",
	 L_TPARAMS, TA},
	{"DataDigest order", "DataDigest None,CRC32C", "DataDigest CRC32C,None",
	 L_TPARAMS, TA},
	{"ImmediateData", "ImmediateData No", "ImmediateData Yes", L_TPARAMS,
	 TA},
	{"QueuedCommands", "QueuedCommands 64", "QueuedCommands 65", L_TPARAMS,
	 TA},
	{"MaxSessions", "MaxSessions 7", "MaxSessions 8", L_TPARAMS, TA},
	/* ut_target_cfg_equal */
	{"alias", "the a target", "the A target", L_TGT, TA},
	{"enabled", "enabled 0\n    alias", "enabled 1\n    alias", L_TGT, TA},
	{"rel_tgt_id", TB " { LUN 0 m }", TB " { LUN 0 m\n rel_tgt_id 7 }",
	 L_TGT, TB},
	{"an IncomingUser less", "    IncomingUser bob bobsecret1234\n", "",
	 L_TGT, TA},
	{"an IncomingUser's name", "IncomingUser bob", "IncomingUser rob",
	 L_TGT, TA},
	{"an IncomingUser's secret", "bobsecret1234", "bobsecret1235", L_TGT,
	 TA},
	{"OutgoingUser's name", "OutgoingUser tgt", "OutgoingUser tgu", L_TGT,
	 TA},
	{"OutgoingUser's secret", "targetsecret1", "targetsecret2", L_TGT, TA},
	/* ut_target_luns_equal: LUN sets, groups, allowed portals */
	{"a LUN less", "    LUN 3 z { read_only 1 }\n", "", L_LUNS, TA},
	{"a LUN number", "LUN 3 z", "LUN 4 z", L_LUNS, TA},
	{"a LUN's read_only", "LUN 3 z { read_only 1 }", "LUN 3 z", L_LUNS, TA},
	{"a LUN's device", "LUN 0 disk0", "LUN 0 blk", L_LUNS, TA},
	{"a group less", "    GROUP empty { }\n", "", L_LUNS, TA},
	{"a group's name", "GROUP empty", "GROUP vacant", L_LUNS, TA},
	{"an INITIATOR less",
	 "      INITIATOR !iqn.1993-08.org.debian:01:bad\n", "", L_LUNS, TA},
	{"an INITIATOR pattern", "01:bad", "01:bae", L_LUNS, TA},
	{"a group's LUN", "LUN 1 blk", "LUN 2 blk", L_LUNS, TA},
	{"an allowed_portal", "allowed_portal 127.0.0.*",
	 "allowed_portal 127.0.1.*", L_LUNS, TA},
	{"an allowed_portal more", "allowed_portal 127.0.0.*\n",
	 "allowed_portal 127.0.0.*\n    allowed_portal 10.*\n", L_LUNS, TA},
	/* ut_config_equal: the driver, its lists */
	{"a device more", "HANDLER vdisk_rbd { DEVICE r {",
	 "HANDLER vdisk_rbd { DEVICE r {\n filename x/y }\n DEVICE s {",
	 L_CONFIG, NULL},
	{"a target less", "  TARGET " TB " { LUN 0 m }\n", "", L_CONFIG, NULL},
	{"the driver's enabled", "  enabled 1\n  portal",
	 "  enabled 0\n  portal", L_CONFIG, NULL},
	{"a portal", "portal [::1]:3261", "portal [::1]:3262", L_CONFIG, NULL},
	{"a portal less", "  portal [::1]:3261\n", "", L_CONFIG, NULL},
	{"discovery IncomingUser", "discosecret12", "discosecret13", L_CONFIG,
	 NULL},
	{"discovery OutgoingUser", "OutgoingUser dout", "OutgoingUser dour",
	 L_CONFIG, NULL},
	/* ALUA: portal groups, device groups, target port groups */
	{"a portal's group", "PORTAL_GROUP 2 {", "PORTAL_GROUP 3 {", L_ALUA,
	 NULL},
	{"a device group more", "DEVICE_GROUP dg {",
	 "DEVICE_GROUP dh {\n  DEVICE z\n}\nDEVICE_GROUP dg {", L_ALUA, NULL},
	{"a device group's name", "DEVICE_GROUP dg {", "DEVICE_GROUP dh {",
	 L_ALUA, NULL},
	{"a device group's member", "  DEVICE m\n  implicit",
	 "  DEVICE z\n  implicit", L_ALUA, NULL},
	{"a device group's member more", "  DEVICE m\n  implicit",
	 "  DEVICE m\n  DEVICE z\n  implicit", L_ALUA, NULL},
	{"implicit_transition_time", "implicit_transition_time 9",
	 "implicit_transition_time 8", L_ALUA, NULL},
	{"a target port group less",
	 "  TARGET_GROUP west {\n    group_id 20\n    state nonoptimized\n"
	 "    TARGET " TB ",t,0x2\n    TARGET " TA ",t,0x2\n"
	 "    TARGET iqn.x:peer,t,0x1 {\n      rel_tgt_id 9\n    }\n  }\n",
	 "", L_ALUA, NULL},
	{"a target port group's name", "TARGET_GROUP west",
	 "TARGET_GROUP north", L_ALUA, NULL},
	{"a group_id", "group_id 20", "group_id 21", L_ALUA, NULL},
	{"preferred", "preferred 1", "preferred 0", L_ALUA, NULL},
	{"a port less", "    TARGET " TA ",t,0x2\n", "", L_ALUA, NULL},
	{"a port's name", TB ",t,0x0001", TB ",t,0x0002", L_ALUA, NULL},
	{"a remote port's rel_tgt_id", "rel_tgt_id 9", "rel_tgt_id 8", L_ALUA,
	 NULL},
	{"a target's rel_tgt_id", TB " { LUN 0 m }",
	 TB " { LUN 0 m\n rel_tgt_id 5 }", L_ALUA, NULL},
	{"a target port group's state", "state nonoptimized", "state standby",
	 L_STATE, NULL},
};

static const struct ut_dev_cfg *dev_in(const struct ut_config *cfg, size_t i)
{
	assert_true(i < cfg->dev_count);
	return &cfg->devs[i];
}

static size_t dev_index(const struct ut_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->dev_count; i++)
		if (!strcmp(cfg->devs[i].name, name))
			return i;
	fail_msg("no device %s", name);
	return 0;
}

static const struct ut_target_cfg *tgt_in(struct ut_config *cfg,
					  const char *iqn)
{
	const struct ut_target_cfg *t = ut_config_find_target(cfg, iqn);

	if (!t)
		fail_msg("no target %s", iqn);
	return t;
}

/* One edit: the configurations differ both ways, at the level that
 * holds the field; a copy of the edited one equals it. */
static void check_edit(const struct edit *e, struct ut_config *a)
{
	struct ut_config b, copy;
	const struct ut_target_cfg *ta, *tb;
	size_t i;

	parse_edited(&b, e->from, e->to);
	if (ut_config_equal(a, &b) || ut_config_equal(&b, a))
		fail_msg("a change of %s ('%s' -> '%s') is not a difference",
			 e->what, e->from, e->to);
	switch (e->level) {
	case L_DEV:
	case L_SIZE:
		i = dev_index(a, e->name);
		if (ut_dev_cfg_equal(dev_in(a, i), dev_in(&b, i)))
			fail_msg("device %s: a change of %s is not a "
				 "difference",
				 e->name, e->what);
		/* reconfig.c grows a device whose only change is its size
		 * and replaces one with any other change */
		assert_int_equal(ut_dev_cfg_equal_but_size(dev_in(a, i),
							   dev_in(&b, i)),
				 e->level == L_SIZE);
		break;
	case L_LUNS:
	case L_TPARAMS:
	case L_TGT:
		ta = tgt_in(a, e->name);
		tb = tgt_in(&b, e->name);
		if (ut_target_cfg_equal(ta, tb))
			fail_msg("target %s: a change of %s is not a "
				 "difference",
				 e->name, e->what);
		/* LUN masking is redone only when the LUN sets differ */
		assert_int_equal(ut_target_luns_equal(ta, tb),
				 e->level != L_LUNS);
		assert_int_equal(ut_iscsi_params_equal(&ta->params,
						       &tb->params),
				 e->level != L_TPARAMS);
		break;
	case L_PARAMS:
		if (ut_iscsi_params_equal(&a->params, &b.params))
			fail_msg("a change of %s is not a parameter "
				 "difference",
				 e->what);
		break;
	case L_ALUA:
		if (ut_config_alua_equal(a, &b))
			fail_msg("a change of %s is not an ALUA difference",
				 e->what);
		break;
	case L_STATE:
		/* a state reconfiguration sets at once, not a restart */
		assert_true(ut_config_alua_equal(a, &b));
		break;
	case L_CONFIG:
		break;
	}
	ut_config_init(&copy);
	assert_int_equal(ut_config_copy(&copy, &b), 0);
	assert_true(ut_config_equal(&copy, &b));
	ut_config_free(&copy);
	ut_config_free(&b);
}

static void every_field_changed_alone_is_a_difference(void **state)
{
	struct ut_config a;

	(void)state;
	ut_config_init(&a);
	assert_int_equal(ut_config_parse(&a, "a.conf", conf, strlen(conf),
					 print_diag, NULL),
			 0);
	assert_int_equal(ut_config_validate(&a, print_diag, NULL), 0);
	assert_true(ut_config_equal(&a, &a));
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++)
		check_edit(&edits[i], &a);
	ut_config_free(&a);
}

/* "Equal in everything that configures (definition lines aside)":
 * the same file with comments and blank lines before it is equal. */
static void definition_lines_are_no_difference(void **state)
{
	static const char pre[] = "# moved down\n\n\n";
	char *text = malloc(sizeof(pre) + strlen(conf));
	struct ut_config a, b;

	(void)state;
	assert_non_null(text);
	strcpy(text, pre);
	strcat(text, conf);
	ut_config_init(&a);
	ut_config_init(&b);
	assert_int_equal(ut_config_parse(&a, "a.conf", conf, strlen(conf),
					 print_diag, NULL),
			 0);
	assert_int_equal(ut_config_parse(&b, "b.conf", text, strlen(text),
					 print_diag, NULL),
			 0);
	assert_int_not_equal(a.devs[0].line, b.devs[0].line);
	assert_int_not_equal(a.targets[0].line, b.targets[0].line);
	assert_true(ut_config_equal(&a, &b));
	assert_true(ut_config_alua_equal(&a, &b));
	for (size_t i = 0; i < a.dev_count; i++)
		assert_true(ut_dev_cfg_equal(&a.devs[i], &b.devs[i]));
	for (size_t i = 0; i < a.target_count; i++)
		assert_true(ut_target_cfg_equal(&a.targets[i], &b.targets[i]));
	ut_config_free(&a);
	ut_config_free(&b);
	free(text);
}

/* A device added or removed joins or leaves its device group as its LU
 * opens or closes (alua_cfg.c): with its DEVICE line in the group it is
 * no ALUA difference (no restart needed), though the configurations
 * differ. */
static void
a_device_added_with_its_group_line_is_no_alua_difference(void **state)
{
	struct ut_config a, b;

	(void)state;
	ut_config_init(&a);
	assert_int_equal(ut_config_parse(&a, "a.conf", conf, strlen(conf),
					 print_diag, NULL),
			 0);
	/* a group line naming a device neither file defines (validation
	 * refuses it; the comparison leaves it out) */
	parse_edited(&b, "  DEVICE m\n  implicit",
		     "  DEVICE m\n  DEVICE new\n  implicit");
	assert_true(ut_config_alua_equal(&a, &b));
	ut_config_free(&b);
	parse_edited(&b, "HANDLER vdisk_mem { DEVICE m {",
		     "HANDLER vdisk_mem { DEVICE new { size 1M }\n"
		     " DEVICE m {");
	/* a new device, not in any group: the same groups */
	assert_false(ut_config_equal(&a, &b));
	assert_true(ut_config_alua_equal(&a, &b));
	ut_config_free(&b);
	ut_config_free(&a);
	/* the device and its group line together, against the file
	 * without either */
	{
		static const char dev[] = "HANDLER vdisk_mem { DEVICE new "
					  "{ size 1M } }\n";
		const char *at = strstr(conf, "DEVICE_GROUP dg {");
		const char *mem = strstr(conf, "  DEVICE m\n  implicit");
		size_t len = strlen(conf) + sizeof(dev) + 16;
		char *text = malloc(len);
		size_t k;

		assert_non_null(text);
		assert_non_null(at);
		assert_non_null(mem);
		/* dev first, then conf up to the group's "DEVICE m" line,
		 * a "DEVICE new" line, the rest */
		strcpy(text, dev);
		k = strlen(text);
		memcpy(text + k, conf, (size_t)(mem - conf));
		k += (size_t)(mem - conf);
		strcpy(text + k, "  DEVICE new\n");
		strcat(text, mem);
		ut_config_init(&a);
		ut_config_init(&b);
		assert_int_equal(ut_config_parse(&a, "a.conf", conf,
						 strlen(conf), print_diag,
						 NULL),
				 0);
		assert_int_equal(ut_config_parse(&b, "b.conf", text,
						 strlen(text), print_diag,
						 NULL),
				 0);
		assert_int_equal(ut_config_validate(&b, print_diag, NULL), 0);
		assert_int_equal(b.dgroups[0].dev_count, 2);
		assert_false(ut_config_equal(&a, &b));
		assert_true(ut_config_alua_equal(&a, &b));
		assert_true(ut_config_alua_equal(&b, &a));
		ut_config_free(&a);
		ut_config_free(&b);
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_field_changed_alone_is_a_difference),
		cmocka_unit_test(definition_lines_are_no_difference),
		cmocka_unit_test(
			a_device_added_with_its_group_line_is_no_alua_difference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
