/*
 * test_ctl_edges.c — the control protocol (control/ctl.c, ctl_change.c,
 * ctl_query.c; docs/control.md) at its edges: arguments of the wrong
 * type or out of range, names that do not exist, a control character
 * anywhere in the arguments (scst.conf could not hold it), a second
 * change while one runs, and a change the server refuses when applying
 * it (a device that cannot open) -- each refused with its message and
 * the running configuration as it was; and what the queries answer
 * about sessions (negotiated values), LUNs and ALUA groups.  Driven
 * through ctl_request() on a server in the fake environment (rig.h).
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

#define TGT "iqn.2026-11.org.utarget:ce"
#define INI "iqn.2026-11.org.test:ce"

static const char conf[] = "HANDLER vdisk_mem {\n DEVICE d0 { size 4M }\n"
			   " DEVICE d1 { size 4M }\n}\n"
			   "TARGET_DRIVER iscsi {\n"
			   " TARGET " TGT " {\n  LUN 0 d0\n  LUN 1 d1\n"
			   "  GROUP g {\n   INITIATOR iqn.x:*\n"
			   "   LUN 0 d0\n  }\n }\n"
			   "}\n";

static char reply_line[16384];
static int replies;

static void on_reply(void *arg, const char *line)
{
	(void)arg;
	snprintf(reply_line, sizeof(reply_line), "%s", line ? line : "");
	replies++;
}

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
#define T "\"target\":\"" TGT "\""

/* Arguments: a number where a string is due and the reverse, out of
 * range, a size that is none; names that do not exist. */
static void arguments_are_checked_by_type_range_and_name(void **state)
{
	struct rig *r = rig_new(conf);
	struct ctl *c = ctl_new(r->srv, NULL);

	(void)state;
	assert_non_null(c);
	refused(r, c, REQ("lun remove", T), "'lun' (a number) is required");
	refused(r, c, REQ("lun remove", T ",\"lun\":\"0\""),
		"'lun' (a number) is required");
	refused(r, c, REQ("lun remove", T ",\"lun\":256"),
		"'lun' must be 0..255");
	refused(r, c, REQ("lun remove", T ",\"lun\":-1"),
		"'lun' must be 0..255");
	refused(r, c, REQ("lun remove", "\"target\":7,\"lun\":0"),
		"'target' (a string) is required");
	refused(r, c, REQ("lun remove", T ",\"lun\":5"),
		"target " TGT " has no LUN 5");
	refused(r, c, REQ("lun remove", T ",\"lun\":0,\"group\":\"h\""),
		"target " TGT " has no group h");
	refused(r, c, REQ("lun resize", T ",\"lun\":0,\"size\":0"),
		"'size' must be a size (bytes, or with K, M, G, T)");
	refused(r, c, REQ("lun resize", T ",\"lun\":0,\"size\":\"lots\""),
		"'size' must be a size");
	refused(r, c, REQ("lun resize", T ",\"lun\":0,\"size\":true"),
		"'size' must be a size");
	refused(r, c, REQ("lun resize", T ",\"lun\":9,\"size\":\"8M\""),
		"target " TGT " has no LUN 9");
	refused(r, c, REQ("target remove", "\"target\":\"iqn.x:none\""),
		"no target iqn.x:none");
	refused(r, c, REQ("target add", T),
		"cannot add target " TGT " (it exists, or a limit)");
	refused(r, c, REQ("session close", "\"tsih\":65536"),
		"'tsih' must be 0..65535");
	refused(r, c, REQ("lun add", T ",\"lun\":2"),
		"'spec' (a string) is required");
	ctl_free(c);
	rig_free(r);
}

/* Names, values and secrets are text scst.conf can hold: a control
 * character in any string of the arguments -- a value, an array item,
 * an object key -- refuses the request. */
static void
a_control_character_anywhere_in_the_arguments_is_refused(void **state)
{
	struct rig *r = rig_new(conf);
	struct ctl *c = ctl_new(r->srv, NULL);
	static const char why[] = "an argument holds a control character";

	(void)state;
	refused(r, c, REQ("target add", "\"target\":\"iqn.x:a\\u0007b\""), why);
	refused(r, c,
		REQ("target add",
		    "\"target\":\"iqn.x:a\",\"list\":[1,\"x\\ty\"]"),
		why);
	refused(r, c,
		REQ("target add",
		    "\"target\":\"iqn.x:a\",\"o\":{\"k\\u001f\":1}"),
		why);
	refused(r, c,
		REQ("target add",
		    "\"target\":\"iqn.x:a\",\"o\":{\"k\":[\"\\r\"]}"),
		why);
	/* without one, the same shapes pass to the command */
	expect_in(ctl(r, c,
		      REQ("target add", "\"target\":\"iqn.x:a\",\"list\":[1,"
					"\"xy\"],\"o\":{\"k\":[\"r\"]}")),
		  "\"ok\":true");
	ctl_free(c);
	rig_free(r);
}

/* One change at a time: a second one asked for before the first has
 * answered is refused naming the first; a change the server refuses
 * when applying it (a file device the environment cannot open) answers
 * with the server's reason; a LUN removed with a drain time answers
 * what it waited and aborted. */
static void changes_in_progress_and_failing_ones_answer_why(void **state)
{
	struct rig *r = rig_new(conf);
	struct ctl *c = ctl_new(r->srv, NULL);
	static const char add[] =
		REQ("lun add", T ",\"lun\":2,\"spec\":\"mem:4M\"");
	static const char rm[] = REQ("lun remove", T ",\"lun\":1");
	const char *rep;
	int before = replies;

	(void)state;
	ctl_request(c, add, strlen(add), on_reply, NULL);
	assert_int_equal(replies, before); /* answers later */
	assert_true(ctl_busy(c));
	ctl_request(c, rm, strlen(rm), on_reply, NULL);
	assert_int_equal(replies, before + 1);
	expect_in(reply_line, "another change (lun add 2) is still in "
			      "progress");
	for (int i = 0; i < 100 && replies == before + 1; i++)
		fake_env_advance(r->env, 100000000ull);
	expect_in(reply_line, "\"ok\":true");
	expect_in(reply_line, "\"done\":\"lun add 2\"");
	assert_false(ctl_busy(c));

	refused(r, c,
		REQ("lun add", T ",\"lun\":3,\"spec\":\"file:/nonexistent\""),
		"cannot open");
	rep = ctl(r, c, REQ("lun remove", T ",\"lun\":2,\"drain_ms\":250"));
	expect_in(rep, "\"ok\":true");
	expect_in(rep, "\"aborted_commands\":0");
	ctl_free(c);
	rig_free(r);
}

/* A login that negotiates away from the defaults: digests CRC32C,
 * InitialR2T No (OR: the target's No too), ImmediateData No (AND), an
 * alias. */
static void login_negotiated(struct rig *r)
{
	struct rig_text t = {0};
	struct rig_login_rsp rsp;

	rig_connect(r);
	rig_text_identity(&t, INI, TGT);
	rig_text_add(&t, "InitiatorAlias", "host ce");
	rig_text_add(&t, "AuthMethod", "None");
	rig_login(r, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, true, &t,
		  &rsp);
	assert_int_equal(rsp.status, 0);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	rig_text_add(&t, "HeaderDigest", "CRC32C");
	rig_text_add(&t, "DataDigest", "CRC32C");
	rig_text_add(&t, "InitialR2T", "No");
	rig_text_add(&t, "ImmediateData", "No");
	rig_login(r, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, true,
		  &t, &rsp);
	assert_int_equal(rsp.status, 0);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
}

/* "sessions" reports each session's values as negotiated (RFC 7143
 * §13): keys the initiator left out keep their RFC defaults
 * (InitialR2T Yes, ImmediateData Yes, digests None); a session that
 * negotiated them shows its own; "luns" a target's LUNs with their
 * devices; "luns" of an unknown target and "alua" of an unknown group
 * are refused. */
static void queries_report_what_was_negotiated(void **state)
{
	struct rig *r = rig_new(conf);
	struct ctl *c = ctl_new(r->srv, NULL);
	const char *rep;

	(void)state;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rep = ctl(r, c, "{\"version\":1,\"command\":\"sessions\"}");
	expect_in(rep, "\"ok\":true");
	expect_in(rep, "\"initiator\":\"" INI "\"");
	expect_in(rep, "\"type\":\"Normal\"");
	expect_in(rep, "\"HeaderDigest\":\"None\"");
	expect_in(rep, "\"DataDigest\":\"None\"");
	expect_in(rep, "\"InitialR2T\":\"Yes\"");
	expect_in(rep, "\"ImmediateData\":\"Yes\"");
	expect_in(rep, "\"DataPDUInOrder\":\"Yes\"");
	expect_in(rep, "\"DataSequenceInOrder\":\"Yes\"");
	fake_conn_hangup(r->c);
	fake_env_advance(r->env, 0);
	login_negotiated(r);
	rep = ctl(r, c, "{\"version\":1,\"command\":\"sessions\"}");
	expect_in(rep, "\"alias\":\"host ce\"");
	expect_in(rep, "\"HeaderDigest\":\"CRC32C\"");
	expect_in(rep, "\"DataDigest\":\"CRC32C\"");
	expect_in(rep, "\"InitialR2T\":\"No\"");
	expect_in(rep, "\"ImmediateData\":\"No\"");
	rep = ctl(r, c, REQ("luns", T));
	expect_in(rep, "\"ok\":true");
	expect_in(rep, "\"device\":\"d1\"");
	refused(r, c, REQ("luns", "\"target\":\"iqn.x:none\""), "iqn.x:none");
	refused(r, c, REQ("alua", "\"group\":\"nogroup\""), "nogroup");
	ctl_free(c);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(arguments_are_checked_by_type_range_and_name),
		cmocka_unit_test(
			a_control_character_anywhere_in_the_arguments_is_refused),
		cmocka_unit_test(
			changes_in_progress_and_failing_ones_answer_why),
		cmocka_unit_test(queries_report_what_was_negotiated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
