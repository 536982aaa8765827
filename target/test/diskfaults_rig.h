/*
 * diskfaults_rig.h — what the disk and state fault tests
 * (test_env_real_diskfaults.c, test_env_real_openfaults.c) share: an
 * environment and file backstore whose system calls fail on cue
 * (env_real_faults.h), and requests run through it.  One test binary
 * includes it once.
 */
#ifndef UT_TEST_DISKFAULTS_RIG_H
#define UT_TEST_DISKFAULTS_RIG_H

#include <errno.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "disk_io_rig.h"
#include "env_real_rig.h"

/* ------------------------------------------------------------ rig */

struct dt {
	char *dir;
	char path[512];
	struct env *e;
	struct io_ctx c;
	struct bs_dev *d;
	uint8_t *w, *r;
	int fds;
};

#define DT_SIZE (4u << 20)
#define DT_BUF (256u * 1024u)

/* A 4 MiB file LU (thin or not) on a new environment, with the rules
 * armed so far kept (they may be for the set-up itself); log level WARN
 * unless o says more. */
static inline void dt_setup_armed(struct dt *t, struct env_real_opts o,
				  bool thin)
{
	t->fds = sf_open_fds();
	t->dir = make_tmpdir();
	snprintf(t->path, sizeof(t->path), "%s/lun.img", t->dir);
	if (o.log_level < UT_LOG_WARN)
		o.log_level = UT_LOG_WARN;
	t->e = env_real_new(&o);
	assert_non_null(t->e);
	t->c = (struct io_ctx){.e = t->e};
	t->d = open_file(t->e, t->path, DT_SIZE, true, thin, false);
	t->w = malloc(DT_BUF);
	t->r = malloc(DT_BUF);
	assert_non_null(t->w);
	assert_non_null(t->r);
}

static inline void dt_setup(struct dt *t, struct env_real_opts o, bool thin)
{
	sf_clear();
	dt_setup_armed(t, o, thin);
}

static inline void dt_teardown(struct dt *t)
{
	sf_clear();
	if (t->d)
		bs_close(t->d);
	env_real_free(t->e);
	remove_tmpdir(t->dir);
	free(t->w);
	free(t->r);
	assert_int_equal(sf_open_fds(), t->fds);
}

static inline int dt_io(struct dt *t, enum bs_op op, uint32_t flags,
			uint64_t off, uint64_t len, void *buf)
{
	return io_sync(&t->c, t->d, op, flags, off, len, buf);
}

/* Write a pattern, then a faulted read of it must still return it. */
static inline void dt_pattern(struct dt *t, uint64_t off, uint64_t len,
			      uint8_t seed)
{
	fill(t->w, len, seed);
	assert_int_equal(dt_io(t, BS_OP_WRITE, 0, off, len, t->w), 0);
}

#endif
