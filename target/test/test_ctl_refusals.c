/*
 * test_ctl_refusals.c — what the control protocol's changes refuse
 * (control/ctl_change.c, docs/control.md), each with its message and
 * the running configuration left as it was, and the name a LUN's new
 * device gets when its default is taken.  Driven through ctl_request()
 * on a server in the fake environment (rig.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rig.h"

#include "control/ctl.h"

#define TGT "iqn.2026-11.org.utarget:ctl"

static const char conf[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 d0\n"
			   "  GROUP g {\n   INITIATOR iqn.x:*\n  }\n }\n"
			   "}\n";

static char reply_line[8192];
static int replies;

static void on_reply(void *arg, const char *line)
{
	snprintf(reply_line, sizeof(reply_line), "%s", line ? line : "");
	replies++;
}

/* One request; its reply once it came (changes answer later). */
static const char *ctl(struct rig *r, struct ctl *c, const char *req)
{
	int before = replies;

	reply_line[0] = '\0';
	ctl_request(c, req, strlen(req), on_reply, NULL);
	for (int i = 0; i < 100 && replies == before; i++)
		fake_env_advance(r->env, 100000000ull);
	assert_int_equal(replies, before + 1);
	return reply_line;
}

#define expect_in(hay, needle)                                              \
	do {                                                                \
		if (!strstr((hay), (needle)))                               \
			fail_msg("expected \"%s\" in %s", (needle), (hay)); \
	} while (0)

/* The request is refused with a message containing why, and the running
 * configuration is what it was. */
static void refused(struct rig *r, struct ctl *c, const char *req,
		    const char *why)
{
	struct ut_config before;
	const char *rep;

	ut_config_init(&before);
	assert_int_equal(ut_config_copy(&before, iscsi_server_config(r->srv)),
			 0);
	rep = ctl(r, c, req);
	expect_in(rep, "\"ok\":false");
	expect_in(rep, why);
	assert_true(ut_config_equal(&before, iscsi_server_config(r->srv)));
	ut_config_free(&before);
}

#define REQ(cmd, args) \
	"{\"version\":1,\"command\":\"" cmd "\",\"args\":{" args "}}"

static void change_refusals_name_their_reason(void **state)
{
	struct rig *r = rig_new(conf);
	struct ctl *c = ctl_new(r->srv, NULL);

	(void)state;
	assert_non_null(c);
	/* attr set names a target or a device, not both, not neither */
	refused(r, c,
		REQ("attr set", "\"target\":\"" TGT "\",\"device\":\"d0\","
				"\"key\":\"alias\",\"value\":\"x\""),
		"name either a target or a device");
	refused(r, c, REQ("attr set", "\"key\":\"alias\",\"value\":\"x\""),
		"name either a target or a device");
	/* reload without a configuration file (no hooks) */
	refused(r, c, "{\"version\":1,\"command\":\"reload\"}",
		"reload needs a configuration file (-c)");
	/* a group of a target that does not exist */
	refused(r, c,
		REQ("group add", "\"target\":\"iqn.x:none\",\"group\":\"h\""),
		"no target iqn.x:none");
	/* a resize to a size that is not whole blocks */
	refused(r, c,
		REQ("lun resize",
		    "\"target\":\"" TGT "\",\"lun\":0,\"size\":1000"),
		"multiple of the block size");
	/* a LUN spec that does not parse */
	refused(r, c,
		REQ("lun add",
		    "\"target\":\"" TGT "\",\"lun\":3,\"spec\":\"mem:lots\""),
		"spec mem:lots");
	/* removing an initiator pattern the group does not hold */
	refused(r, c,
		REQ("initiator remove",
		    "\"target\":\"" TGT "\",\"group\":\"g\","
		    "\"initiator\":\"iqn.y:*\""),
		"iqn.y:*");
	ctl_free(c);
	rig_free(r);
}

/* A LUN added by spec without a device name gets lunN, or lunN-K when
 * that name is taken; the change answers with what it did. */
static void lun_add_names_its_device_without_a_clash(void **state)
{
	static const char conf2[] =
		"HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n"
		" DEVICE lun1 { size 4M }\n}\n"
		"TARGET_DRIVER iscsi {\n"
		" TARGET " TGT " {\n  LUN 0 d0\n }\n"
		" TARGET " TGT "2 {\n  LUN 0 lun1\n }\n"
		"}\n";
	struct rig *r = rig_new(conf2);
	struct ctl *c = ctl_new(r->srv, NULL);
	const struct ut_config *cfg;
	const char *rep;
	bool found = false;

	(void)state;
	rep = ctl(r, c,
		  REQ("lun add",
		      "\"target\":\"" TGT "\",\"lun\":1,\"spec\":\"mem:1M\""));
	expect_in(rep, "\"ok\":true");
	cfg = iscsi_server_config(r->srv);
	assert_int_equal(cfg->dev_count, 3);
	for (size_t i = 0; i < cfg->dev_count; i++)
		found |= strcmp(cfg->devs[i].name, "lun1-2") == 0;
	assert_true(found);
	ctl_free(c);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(change_refusals_name_their_reason),
		cmocka_unit_test(lun_add_names_its_device_without_a_clash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
