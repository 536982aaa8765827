/*
 * test_config_validate.c — ut_config_validate() on configurations
 * built or edited in memory (the control protocol's edits, the command
 * line), where the parser's own checks never ran: each broken device or
 * target is refused with its message -- a device without a name or
 * defined twice, a block size other than 512 or 4096, a size not in whole
 * blocks, a mem or null device of size 0, past 1 EiB, a mem device past
 * 16 TiB, a file device without a path, an rbd device with a size, a
 * target without a name or defined twice, a control character in a
 * target's alias or a group's initiator pattern -- and the valid one
 * passes.  (config/config.c)
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

static const char conf[] =
	"HANDLER vdisk_mem {\n DEVICE m { size 4M }\n}\n"
	"HANDLER vdisk_fileio {\n DEVICE f { filename /srv/f.img }\n}\n"
	"HANDLER vdisk_rbd {\n DEVICE r { filename pool/img }\n}\n"
	"TARGET_DRIVER iscsi {\n"
	" TARGET iqn.x:a {\n  LUN 0 m\n  GROUP g {\n   INITIATOR iqn.y:*\n"
	"   LUN 0 f\n  }\n }\n"
	" TARGET iqn.x:b {\n  LUN 0 r\n }\n"
	"}\n";

static char diags[4096];

static void collect(void *arg, int severity, const char *file, int line,
		    int col, const char *msg)
{
	(void)arg, (void)file, (void)line, (void)col;
	if (severity)
		snprintf(diags + strlen(diags), sizeof(diags) - strlen(diags),
			 "%s\n", msg);
}

struct breakage {
	const char *want;
	void (*edit)(struct ut_config *c);
};

#define DEV(c, i) (&(c)->devs[i])

static void no_name(struct ut_config *c)
{
	DEV(c, 0)->name[0] = '\0';
}
static void twice(struct ut_config *c)
{
	strcpy(DEV(c, 1)->name, "m");
}
static void block_size(struct ut_config *c)
{
	DEV(c, 0)->block_size = 1024;
}
static void partial_block(struct ut_config *c)
{
	DEV(c, 0)->size_bytes += 100;
}
static void size_zero(struct ut_config *c)
{
	DEV(c, 0)->size_bytes = 0;
}
static void past_1eib(struct ut_config *c)
{
	DEV(c, 1)->size_bytes = UT_DEV_SIZE_MAX + 512;
}
static void mem_past_16tib(struct ut_config *c)
{
	DEV(c, 0)->size_bytes = UT_MEM_SIZE_MAX + 512;
}
static void no_path(struct ut_config *c)
{
	DEV(c, 1)->path[0] = '\0';
}
static void rbd_sized(struct ut_config *c)
{
	DEV(c, 2)->size_bytes = 1 << 20;
}
static void target_no_name(struct ut_config *c)
{
	c->targets[1].iqn[0] = '\0';
}
static void target_twice(struct ut_config *c)
{
	strcpy(c->targets[1].iqn, "iqn.x:a");
}
static void alias_control(struct ut_config *c)
{
	strcpy(c->targets[0].alias, "bell\a");
}
static void initiator_control(struct ut_config *c)
{
	c->targets[0].groups[0].initiators[0][4] = '\t';
}

static const struct breakage breakages[] = {
	{"device 0 has no name", no_name},
	{"device 'm' is defined twice", twice},
	{"device 'm': blocksize must be 512 or 4096", block_size},
	{"device 'm': size must be a multiple of the block size",
	 partial_block},
	{"device 'm': mem and null devices need a size > 0", size_zero},
	{"device 'f': size exceeds 1 EiB", past_1eib},
	{"device 'm': a mem device is at most 16 TiB", mem_past_16tib},
	{"device 'f': file devices need a path", no_path},
	{"device 'r': an rbd image has its own size (use rbd resize)",
	 rbd_sized},
	{"target 1 has no name", target_no_name},
	{"target 'iqn.x:a' is defined twice", target_twice},
	{"the name or alias of target 'iqn.x:a' holds a control character",
	 alias_control},
	{"group 'g' of target 'iqn.x:a' holds a control character",
	 initiator_control},
};

static void
each_broken_device_or_target_is_refused_with_its_message(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(breakages) / sizeof(breakages[0]); i++) {
		struct ut_config c;

		ut_config_init(&c);
		assert_int_equal(ut_config_parse(&c, "v.conf", conf,
						 strlen(conf), NULL, NULL),
				 0);
		diags[0] = '\0';
		assert_int_equal(ut_config_validate(&c, collect, NULL), 0);
		assert_string_equal(diags, "");
		breakages[i].edit(&c);
		if (ut_config_validate(&c, collect, NULL) == 0)
			fail_msg("validated with '%s'", breakages[i].want);
		if (!strstr(diags, breakages[i].want))
			fail_msg("expected '%s' among:\n%s", breakages[i].want,
				 diags);
		ut_config_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			each_broken_device_or_target_is_refused_with_its_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
