/*
 * test_acl.c — access control in SCST's terms: INITIATOR patterns (* ? !),
 * group selection (first match wins), LUN masking with per-group
 * read-only flags, restricted targets (login 0x0203 and hidden from
 * SendTargets) and allowed_portal.
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

#include "iscsi/acl.h"

#define PFX "iqn.2026-11.org.utarget:"
#define T_SHARED PFX "shared"
#define T_RESTRICTED PFX "restricted"
#define T_PORTAL_OK PFX "portal-ok"
#define T_PORTAL_NO PFX "portal-no"
#define T_PORTAL_NOT PFX "portal-not"
#define DEB "iqn.1993-08.org.debian:01:"

static const char conf_acl[] =
	"HANDLER vdisk_mem {\n"
	" DEVICE d0 { size 1M }\n DEVICE d1 { size 1M }\n"
	" DEVICE d2 { size 1M }\n DEVICE d3 { size 1M }\n"
	"}\n"
	"TARGET_DRIVER iscsi {\n"
	" TARGET " T_SHARED " {\n"
	"  LUN 0 d0\n"
	"  GROUP linux {\n"
	"   INITIATOR iqn.1993-08.org.debian:*\n"
	"   INITIATOR !" DEB "bad\n"
	"   LUN 0 d1\n"
	"   LUN 3 d2 { read_only 1 }\n"
	"  }\n"
	"  GROUP fallback {\n"
	"   INITIATOR " DEB "ba?\n"
	"   INITIATOR " DEB "abc\n"
	"   LUN 0 d3\n"
	"  }\n"
	" }\n"
	" TARGET " T_RESTRICTED " {\n"
	"  GROUP members {\n"
	"   INITIATOR " PFX "member*\n"
	"   LUN 0 d0\n"
	"  }\n"
	"  GROUP nothing {\n"
	"   INITIATOR " PFX "nolun\n"
	"  }\n"
	" }\n"
	" TARGET " T_PORTAL_OK " {\n"
	"  LUN 0 d0\n"
	"  allowed_portal 10.1.1.1\n"
	"  allowed_portal 127.0.0.*\n"
	" }\n"
	" TARGET " T_PORTAL_NO " {\n"
	"  LUN 0 d0\n"
	"  allowed_portal 10.*\n"
	" }\n"
	" TARGET " T_PORTAL_NOT " {\n"
	"  LUN 0 d0\n"
	"  allowed_portal !127.0.0.1\n"
	" }\n"
	"}\n";

/* -------------------------------------------------------------- patterns */

static void glob_matches_star_and_question_mark(void **state)
{
	(void)state;
	assert_true(iscsi_acl_glob("*", ""));
	assert_true(iscsi_acl_glob("*", "iqn.x"));
	assert_true(iscsi_acl_glob("iqn.*", "iqn.1993-08.org.debian:01:abc"));
	assert_false(iscsi_acl_glob("iqn.*", "eui.0123"));
	assert_true(iscsi_acl_glob("iqn.????", "iqn.abcd"));
	assert_false(iscsi_acl_glob("iqn.????", "iqn.abc"));
	assert_false(iscsi_acl_glob("iqn.????", "iqn.abcde"));
	assert_true(iscsi_acl_glob("a*b*c", "aXXbYYbZc"));
	assert_false(iscsi_acl_glob("a*b*c", "aXXbYYbZ"));
	assert_true(iscsi_acl_glob("*:01:*", DEB "host"));
	assert_true(iscsi_acl_glob("exact", "exact"));
	assert_false(iscsi_acl_glob("exact", "exactly"));
	assert_false(iscsi_acl_glob("exactly", "exact"));
	assert_true(iscsi_acl_glob("**x**", "x"));
	assert_false(iscsi_acl_glob("", "x"));
	assert_true(iscsi_acl_glob("", ""));
}

static void glob_ignores_case_as_scst_does(void **state)
{
	(void)state;
	assert_true(iscsi_acl_glob("IQN.1993-08.ORG.DEBIAN:*", DEB "h"));
	assert_true(iscsi_acl_glob("iqn.*:HOST", "iqn.x:host"));
}

static void glob_backtracking_stays_linear_enough(void **state)
{
	char name[224], pat[128];

	(void)state;
	memset(name, 'a', 222);
	name[222] = '\0';
	strcpy(pat, "");
	for (int i = 0; i < 30; i++)
		strcat(pat, "*a");
	strcat(pat, "*b");
	/* 30 stars against 222 characters, no match: finishes at once */
	assert_false(iscsi_acl_glob(pat, name));
	name[221] = 'b';
	assert_true(iscsi_acl_glob(pat, name));
}

static void exclusions_win_over_inclusions(void **state)
{
	char *both[] = {"iqn.*", "!iqn.bad"};
	char *only_excl[] = {"!iqn.bad", "!iqn.worse*"};
	char *plain[] = {"iqn.a", "iqn.b"};

	(void)state;
	assert_true(iscsi_acl_patterns_match(both, 2, "iqn.good"));
	assert_false(iscsi_acl_patterns_match(both, 2, "iqn.bad"));
	assert_false(iscsi_acl_patterns_match(both, 2, "eui.1"));
	/* only exclusions: everybody else */
	assert_true(iscsi_acl_patterns_match(only_excl, 2, "iqn.good"));
	assert_false(iscsi_acl_patterns_match(only_excl, 2, "iqn.bad"));
	assert_false(iscsi_acl_patterns_match(only_excl, 2, "iqn.worse.yet"));
	/* any positive line admits */
	assert_true(iscsi_acl_patterns_match(plain, 2, "iqn.b"));
	assert_false(iscsi_acl_patterns_match(plain, 2, "iqn.c"));
	/* no lines: nobody */
	assert_false(iscsi_acl_patterns_match(plain, 0, "iqn.a"));
}

static void first_matching_group_wins(void **state)
{
	char *g1p[] = {"iqn.*", "!iqn.bad"}, *g2p[] = {"iqn.ba?"},
	     *g3p[] = {"*"};
	struct iscsi_acl_group groups[3] = {
		{.name = "g1", .patterns = g1p, .pattern_count = 2},
		{.name = "g2", .patterns = g2p, .pattern_count = 1},
		{.name = "g3", .patterns = g3p, .pattern_count = 1},
	};
	struct iscsi_acl acl = {.groups = groups, .group_count = 3};

	(void)state;
	assert_string_equal(iscsi_acl_find_group(&acl, "iqn.good")->name, "g1");
	assert_string_equal(iscsi_acl_find_group(&acl, "iqn.bad")->name, "g2");
	assert_string_equal(iscsi_acl_find_group(&acl, "eui.1")->name, "g3");
	acl.group_count = 2;
	assert_null(iscsi_acl_find_group(&acl, "eui.1"));
}

static void allowed_portal_matches_the_local_address(void **state)
{
	char *v4[] = {"10.0.0.*"}, *v6[] = {"fe80::1"}, *not [] = {"!10.0.0.1"},
	     *mixed[] = {"10.*", "!10.0.0.9"};
	struct iscsi_acl acl = {0};

	(void)state;
	assert_true(iscsi_acl_portal_allowed(&acl, "192.168.0.1:3260"));
	acl.allowed_portals = v4;
	acl.allowed_portal_count = 1;
	assert_true(iscsi_acl_portal_allowed(&acl, "10.0.0.7:3260"));
	assert_true(iscsi_acl_portal_allowed(&acl, "10.0.0.7:3261"));
	assert_false(iscsi_acl_portal_allowed(&acl, "10.0.1.7:3260"));
	assert_false(iscsi_acl_portal_allowed(&acl, "[fe80::1]:3260"));
	acl.allowed_portals = v6;
	assert_true(iscsi_acl_portal_allowed(&acl, "[fe80::1]:3260"));
	assert_false(iscsi_acl_portal_allowed(&acl, "[fe80::2]:3260"));
	acl.allowed_portals = not ;
	assert_false(iscsi_acl_portal_allowed(&acl, "10.0.0.1:3260"));
	assert_true(iscsi_acl_portal_allowed(&acl, "10.0.0.2:3260"));
	acl.allowed_portals = mixed;
	acl.allowed_portal_count = 2;
	assert_true(iscsi_acl_portal_allowed(&acl, "10.0.0.8:3260"));
	assert_false(iscsi_acl_portal_allowed(&acl, "10.0.0.9:3260"));
	assert_false(iscsi_acl_portal_allowed(&acl, "garbage"));
}

/* ------------------------------------------------------ through logins */

/* REPORT LUNS: the LUN numbers the session sees. */
static size_t report_luns(struct rig *r, uint32_t *luns, size_t cap)
{
	uint8_t cdb[16] = {0xa0};
	struct rig_scsi out;
	uint32_t len;
	size_t n = 0;

	cdb[9] = 0xff; /* allocation length 255 */
	rig_scsi(r, 0, cdb, 255, &out);
	assert_int_equal(out.status, 0);
	len = (uint32_t)out.data[0] << 24 | (uint32_t)out.data[1] << 16 |
	      (uint32_t)out.data[2] << 8 | out.data[3];
	for (uint32_t off = 8; off < 8 + len && n < cap; off += 8)
		luns[n++] = out.data[off + 1]; /* peripheral addressing */
	return n;
}

/* MODE SENSE(6): is the LUN write-protected (WP, SBC-3 §6.4.1)? */
static bool write_protected(struct rig *r, uint64_t lun)
{
	uint8_t cdb[16] = {0x1a, 0, 0x3f, 0, 0xff};
	struct rig_scsi out;

	rig_scsi(r, lun, cdb, 255, &out);
	assert_int_equal(out.status, 0);
	return out.data[2] & 0x80;
}

static void members_see_their_groups_luns(void **state)
{
	struct rig *r = rig_new(conf_acl);
	struct rig_scsi out;
	uint32_t luns[8];

	(void)state;
	assert_int_equal(rig_login_plain(r, DEB "host1", T_SHARED), 0);
	assert_int_equal(report_luns(r, luns, 8), 2);
	assert_int_equal(luns[0], 0);
	assert_int_equal(luns[1], 3);
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, 0);
	rig_tur(r, 3, &out);
	assert_int_equal(out.status, 0);
	/* LUN 3 is read-only in this group, LUN 0 is not */
	assert_true(write_protected(r, 3));
	assert_false(write_protected(r, 0));
	/* an unmapped LUN does not exist for this initiator (SPC-4 §5.15:
	 * ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED) */
	rig_tur(r, 1, &out);
	assert_int_equal(out.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(out.sense_key, 0x5);
	assert_int_equal(out.asc, 0x2500);
	rig_free(r);
}

static void lun_zero_is_the_groups_own_device(void **state)
{
	struct rig *r = rig_new(conf_acl);
	uint8_t cdb[16] = {0x12, 0x01, 0x80, 0, 0xff}; /* VPD 80h serial */
	struct rig_scsi a, b, c;

	(void)state;
	/* Three initiators, three groups' LUN 0: three unit serials. */
	assert_int_equal(rig_login_plain(r, DEB "host1", T_SHARED), 0);
	rig_scsi(r, 0, cdb, 255, &a);
	assert_int_equal(rig_login_plain(r, "iqn.2026-11.other:x", T_SHARED),
			 0);
	rig_scsi(r, 0, cdb, 255, &b);
	assert_int_equal(rig_login_plain(r, DEB "bad", T_SHARED), 0);
	rig_scsi(r, 0, cdb, 255, &c);
	assert_int_equal(a.status, 0);
	assert_int_equal(b.status, 0);
	assert_int_equal(c.status, 0);
	assert_true(a.data_len > 4 && b.data_len > 4 && c.data_len > 4);
	if (!memcmp(a.data, b.data, a.data_len) ||
	    !memcmp(a.data, c.data, a.data_len) ||
	    !memcmp(b.data, c.data, b.data_len))
		fail_msg("each group maps its own device at LUN 0");
	rig_free(r);
}

static void outsiders_get_the_default_luns(void **state)
{
	struct rig *r = rig_new(conf_acl);
	struct rig_scsi out;
	uint32_t luns[8];

	(void)state;
	assert_int_equal(rig_login_plain(r, "iqn.2026-11.other:x", T_SHARED),
			 0);
	assert_int_equal(report_luns(r, luns, 8), 1);
	assert_int_equal(luns[0], 0);
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, 0);
	assert_false(write_protected(r, 0));
	rig_free(r);
}

static void an_excluded_initiator_falls_through_to_the_next_group(void **state)
{
	struct rig *r = rig_new(conf_acl);
	uint32_t luns[8];

	(void)state;
	/* DEB "bad" is excluded from 'linux' and matches 'fallback' */
	assert_int_equal(rig_login_plain(r, DEB "bad", T_SHARED), 0);
	assert_int_equal(report_luns(r, luns, 8), 1);
	assert_int_equal(luns[0], 0);
	/* DEB "abc" matches both: the first group ('linux') wins */
	assert_int_equal(rig_login_plain(r, DEB "abc", T_SHARED), 0);
	assert_int_equal(report_luns(r, luns, 8), 2);
	rig_free(r);
}

static void restricted_target_refuses_outsiders(void **state)
{
	struct rig *r = rig_new(conf_acl);
	uint32_t luns[8];

	(void)state;
	/* no group, no default LUNs: "not found", as SCST's iscsi-scstd */
	assert_int_equal(rig_login_plain(r, "iqn.2026-11.other:x",
					 T_RESTRICTED),
			 ISCSI_LS_NOT_FOUND);
	assert_true(fake_conn_closed(r->c));
	/* a group without LUNs admits nobody either */
	assert_int_equal(rig_login_plain(r, PFX "nolun", T_RESTRICTED),
			 ISCSI_LS_NOT_FOUND);
	/* a member logs in and sees its LUN */
	assert_int_equal(rig_login_plain(r, PFX "member-1", T_RESTRICTED), 0);
	assert_int_equal(report_luns(r, luns, 8), 1);
	rig_free(r);
}

static size_t count_targets(const struct iscsi_kvlist *kv, const char *name)
{
	size_t n = 0;

	for (uint32_t i = 0; i < kv->n; i++)
		if (!strcmp(kv->v[i].key, "TargetName") &&
		    (!name || !strcmp(kv->v[i].value, name)))
			n++;
	return n;
}

static void sendtargets_lists_only_reachable_targets(void **state)
{
	struct rig *r = rig_new(conf_acl);
	struct iscsi_kvlist kv;

	(void)state;
	/* An outsider: the shared target and the two portal targets that
	 * allow 127.0.0.1; not the restricted one, not the two that
	 * exclude this portal. */
	assert_int_equal(rig_login_plain(r, "iqn.2026-11.other:x", NULL), 0);
	rig_sendtargets(r, "All", &kv);
	assert_int_equal(count_targets(&kv, NULL), 2);
	assert_int_equal(count_targets(&kv, T_SHARED), 1);
	assert_int_equal(count_targets(&kv, T_PORTAL_OK), 1);
	assert_int_equal(count_targets(&kv, T_RESTRICTED), 0);
	iscsi_kvlist_free(&kv);
	/* asking for it by name does not reveal it either */
	rig_sendtargets(r, T_RESTRICTED, &kv);
	assert_int_equal(count_targets(&kv, NULL), 0);
	iscsi_kvlist_free(&kv);
	rig_sendtargets(r, T_PORTAL_NO, &kv);
	assert_int_equal(count_targets(&kv, NULL), 0);
	iscsi_kvlist_free(&kv);

	/* A member sees the restricted target too. */
	assert_int_equal(rig_login_plain(r, PFX "member-2", NULL), 0);
	rig_sendtargets(r, "All", &kv);
	assert_int_equal(count_targets(&kv, T_RESTRICTED), 1);
	assert_int_equal(count_targets(&kv, NULL), 3);
	iscsi_kvlist_free(&kv);
	rig_sendtargets(r, T_RESTRICTED, &kv);
	assert_int_equal(count_targets(&kv, T_RESTRICTED), 1);
	assert_non_null(iscsi_kv_get(&kv, "TargetAddress"));
	iscsi_kvlist_free(&kv);
	rig_free(r);
}

static void allowed_portal_governs_login(void **state)
{
	struct rig *r = rig_new(conf_acl);

	(void)state;
	/* The fake environment's connections arrive on 127.0.0.1:3260. */
	assert_int_equal(rig_login_plain(r, "iqn.2026-11.other:x", T_PORTAL_OK),
			 0);
	assert_int_equal(rig_login_plain(r, "iqn.2026-11.other:x", T_PORTAL_NO),
			 ISCSI_LS_NOT_FOUND);
	assert_int_equal(rig_login_plain(r, "iqn.2026-11.other:x",
					 T_PORTAL_NOT),
			 ISCSI_LS_NOT_FOUND);
	assert_true(strstr(r->log, "not allowed") != NULL);
	rig_free(r);
}

static void unknown_target_and_refused_initiator_look_alike(void **state)
{
	struct rig *r = rig_new(conf_acl);

	(void)state;
	assert_int_equal(rig_login_plain(r, "iqn.2026-11.other:x",
					 PFX "no-such-target"),
			 ISCSI_LS_NOT_FOUND);
	assert_int_equal(rig_login_plain(r, "iqn.2026-11.other:x",
					 T_RESTRICTED),
			 ISCSI_LS_NOT_FOUND);
	rig_free(r);
}

#define T(f) cmocka_unit_test(f)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(glob_matches_star_and_question_mark),
		T(glob_ignores_case_as_scst_does),
		T(glob_backtracking_stays_linear_enough),
		T(exclusions_win_over_inclusions),
		T(first_matching_group_wins),
		T(allowed_portal_matches_the_local_address),
		T(members_see_their_groups_luns),
		T(lun_zero_is_the_groups_own_device),
		T(outsiders_get_the_default_luns),
		T(an_excluded_initiator_falls_through_to_the_next_group),
		T(restricted_target_refuses_outsiders),
		T(sendtargets_lists_only_reachable_targets),
		T(allowed_portal_governs_login),
		T(unknown_target_and_refused_initiator_look_alike),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
