/*
 * test_config_attrs.c — one attribute set by name (config/config_edit.c:
 * ut_params_set, ut_dev_attr_set; utargetctl attr set): what is taken,
 * exactly as the file would take it, and what is refused, each with its
 * message and the attributes left as they were.
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

static void params_refused(const char *key, const char *value, const char *why)
{
	struct ut_iscsi_params p, before;
	char err[256] = "";

	ut_iscsi_params_default(&p);
	before = p;
	assert_int_equal(ut_params_set(&p, key, value, err, sizeof(err)), -1);
	if (!strstr(err, why))
		fail_msg("%s=%s: '%s' does not say '%s'", key, value, err, why);
	assert_true(ut_iscsi_params_equal(&p, &before));
}

/* An iSCSI parameter by its scst.conf name: a value is taken as the file
 * takes it (a quoted value with a quote and a backslash reaches the
 * parser escaped, so the alias-like text survives); a key with
 * characters no key has, a value of two lines, a value longer than a
 * line of the file, an unknown key and a value out of range are refused
 * and change nothing. */
static void iscsi_parameters_by_name(void **state)
{
	struct ut_iscsi_params p;
	char err[256] = "";
	char big[1200];

	(void)state;
	ut_iscsi_params_default(&p);
	assert_int_equal(
		ut_params_set(&p, "QueuedCommands", "64", err, sizeof(err)), 0);
	assert_int_equal(p.queued_commands, 64);
	assert_int_equal(ut_params_set(&p, "HeaderDigest", "CRC32C,None", err,
				       sizeof(err)),
			 0);
	params_refused("Queued Commands", "64", "bad attribute name");
	params_refused("QueuedCommands\"", "64", "bad attribute name");
	params_refused("QueuedCommands", "6\n4", "a value is one line");
	params_refused("QueuedCommands", "6\r4", "a value is one line");
	memset(big, '7', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	params_refused("QueuedCommands", big, "value too long");
	params_refused("QueuedCommands", "0", "out of range (1..2048)");
	/* the quote reached the parser inside the value, escaped */
	params_refused("QueuedCommands", "4\"x", "'4\"x' is not a decimal");
	params_refused("NoSuchParameter", "1", "is not supported");
}

/* SessionBufferLimit (one session's share of the task buffer budget):
 * 256 MiB by default, 64 MiB (one largest command) to 1 GiB (the whole
 * budget), and written back by its name. */
static void session_buffer_limit_by_name(void **state)
{
	struct ut_iscsi_params p;
	char err[256] = "";

	(void)state;
	ut_iscsi_params_default(&p);
	assert_int_equal(p.session_buffer_limit, 256u << 20);
	assert_int_equal(ut_params_set(&p, "SessionBufferLimit", "67108864",
				       err, sizeof(err)),
			 0);
	assert_int_equal(p.session_buffer_limit, 64u << 20);
	assert_int_equal(ut_params_set(&p, "SessionBufferLimit", "1073741824",
				       err, sizeof(err)),
			 0);
	assert_int_equal(p.session_buffer_limit, 1u << 30);
	params_refused("SessionBufferLimit", "67108863",
		       "out of range (67108864..1073741824)");
	params_refused("SessionBufferLimit", "1073741825",
		       "out of range (67108864..1073741824)");
}

static struct ut_dev_cfg dev512(void)
{
	struct ut_dev_cfg d = {0};

	strcpy(d.name, "d0");
	d.block_size = 512;
	d.size_bytes = 1 << 20;
	return d;
}

static void dev_refused(const char *key, const char *value, const char *why)
{
	struct ut_dev_cfg d = dev512(), before = d;
	char err[256] = "";

	assert_int_equal(ut_dev_attr_set(&d, key, value, err, sizeof(err)), -1);
	if (!strstr(err, why))
		fail_msg("%s=%s: '%s' does not say '%s'", key, value, err, why);
	assert_memory_equal(&d, &before, sizeof(d));
}

/* A device attribute by name: sizes in whole blocks up to 1 EiB, the
 * booleans as 0/1, yes/no, true/false in any case, the inquiry strings
 * within their fields and printable; anything else refused with its
 * reason and nothing changed. */
static void device_attributes_by_name(void **state)
{
	struct ut_dev_cfg d = dev512();
	char err[256] = "";

	(void)state;
	assert_int_equal(ut_dev_attr_set(&d, "size", "2M", err, sizeof(err)),
			 0);
	assert_int_equal(d.size_bytes, 2u << 20);
	assert_int_equal(
		ut_dev_attr_set(&d, "READ_ONLY", "Yes", err, sizeof(err)), 0);
	assert_true(d.read_only);
	assert_int_equal(
		ut_dev_attr_set(&d, "read_only", "FALSE", err, sizeof(err)), 0);
	assert_false(d.read_only);
	assert_int_equal(
		ut_dev_attr_set(&d, "nv_cache", "true", err, sizeof(err)), 0);
	assert_true(d.nv_cache);
	assert_int_equal(
		ut_dev_attr_set(&d, "write_through", "1", err, sizeof(err)), 0);
	assert_true(d.write_through);
	assert_int_equal(ut_dev_attr_set(&d, "prod_id", "sixteen chars ok", err,
					 sizeof(err)),
			 0);
	assert_string_equal(d.prod_id, "sixteen chars ok");
	dev_refused("size", "1000", "positive multiple of the block size");
	dev_refused("size", "0", "positive multiple");
	dev_refused("size", "2E", "at most 1 EiB");
	dev_refused("size", "lots", "positive multiple");
	dev_refused("removable", "maybe", "removable takes 0 or 1");
	dev_refused("t10_vendor_id", "NINECHARS", "at most 8 bytes");
	dev_refused("prod_id", "seventeen chars!!", "at most 16 bytes");
	dev_refused("usn", "tab\there", "printable ASCII");
	dev_refused("t10_dev_id", "caf\xc3\xa9", "printable ASCII");
	dev_refused("color", "blue", "'color' is not supported");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(iscsi_parameters_by_name),
		cmocka_unit_test(session_buffer_limit_by_name),
		cmocka_unit_test(device_attributes_by_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
