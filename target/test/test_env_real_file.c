/*
 * test_env_real_file.c — the file backstore's opening and resizing
 * (env_real/disk_file_open.c): what it refuses and why, how a file is
 * created, extended or used in part, and how a live resize grows a file
 * sparse and never truncates it.  Failures of the filesystem are made
 * real with RLIMIT_FSIZE (ftruncate past it fails with EFBIG).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "env_real_rig.h"

struct ft {
	struct env *e;
	char *dir;
	char path[300];
};

static void ft_setup(struct ft *t, const char *file)
{
	t->e = new_env(true, NULL);
	t->dir = make_tmpdir();
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, file);
}

static void ft_teardown(struct ft *t)
{
	env_real_free(t->e);
	remove_tmpdir(t->dir);
}

static int ft_open(struct ft *t, enum bs_kind kind, const char *path,
		   uint64_t size, uint32_t bs, bool create, bool ro,
		   struct bs_dev **d)
{
	struct bs_dev_params p = {
		.kind = kind,
		.name = "file-test",
		.path = path,
		.size_bytes = size,
		.block_size = bs,
		.create = create,
		.read_only = ro,
	};

	*d = NULL;
	return t->e->ops->disk_open(t->e, &p, d);
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

static void write_file(const char *path, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	close(fd);
}

/* Each refusal leaves no device and says which rule. */
static void file_open_refusals(void **state)
{
	struct ft t;
	struct bs_dev *d;
	char p2[400];

	(void)state;
	ft_setup(&t, "disk.img");
	/* missing, not to be created */
	assert_int_equal(ft_open(&t, BS_FILE, t.path, 1 << 20, BS, false, false,
				 &d),
			 -ENOENT);
	assert_null(d);
	/* to be created without a size */
	assert_int_equal(ft_open(&t, BS_FILE, t.path, 0, BS, true, false, &d),
			 -EINVAL);
	/* to be created in a directory that does not exist */
	snprintf(p2, sizeof(p2), "%s/no/disk.img", t.dir);
	assert_int_equal(ft_open(&t, BS_FILE, p2, 1 << 20, BS, true, false, &d),
			 -ENOENT);
	/* a directory (open for writing fails), a character device: not
	 * regular files */
	assert_int_equal(ft_open(&t, BS_FILE, t.dir, 1 << 20, BS, false, false,
				 &d),
			 -EISDIR);
	assert_int_equal(ft_open(&t, BS_FILE, t.dir, 1 << 20, BS, false, true,
				 &d),
			 -EINVAL);
	assert_int_equal(ft_open(&t, BS_FILE, "/dev/null", 1 << 20, BS, false,
				 false, &d),
			 -EINVAL);
	/* a regular file where a block device is configured */
	write_file(t.path, 1 << 20);
	assert_int_equal(ft_open(&t, BS_BLOCK, t.path, 0, BS, false, false, &d),
			 -ENOTBLK);
	/* block sizes: a power of two in 512..65536 */
	assert_int_equal(ft_open(&t, BS_FILE, t.path, 0, 1000, false, false,
				 &d),
			 -EINVAL);
	assert_int_equal(ft_open(&t, BS_FILE, t.path, 0, 256, false, false, &d),
			 -EINVAL);
	assert_int_equal(ft_open(&t, BS_FILE, t.path, 0, 131072, false, false,
				 &d),
			 -EINVAL);
	/* no path at all */
	assert_int_equal(ft_open(&t, BS_FILE, NULL, 1 << 20, BS, false, false,
				 &d),
			 -EINVAL);
	/* a file shorter than one block */
	write_file(t.path, 100);
	assert_int_equal(ft_open(&t, BS_FILE, t.path, 0, BS, false, false, &d),
			 -EINVAL);
	assert_null(d);
	ft_teardown(&t);
}

/* An existing file: its own size (to the last whole block), the first
 * part of it, or extended to the size configured (read-only: left as
 * it is, the rest reading as zeros). */
static void file_open_sizes(void **state)
{
	struct ft t;
	struct bs_dev *d;

	(void)state;
	ft_setup(&t, "disk.img");
	write_file(t.path, 3 * BS + 100);
	assert_int_equal(ft_open(&t, BS_FILE, t.path, 0, BS, false, false, &d),
			 0);
	assert_int_equal(d->size_bytes, 3 * BS); /* the tail is not a block */
	bs_close(d);
	assert_int_equal(
		ft_open(&t, BS_FILE, t.path, 2 * BS, BS, false, false, &d), 0);
	assert_int_equal(d->size_bytes, 2 * BS);
	bs_close(d);
	assert_int_equal(file_size(t.path), 3 * BS + 100); /* untouched */
	assert_int_equal(
		ft_open(&t, BS_FILE, t.path, 8 * BS, BS, false, true, &d), 0);
	assert_int_equal(d->size_bytes, 8 * BS);
	assert_true(d->read_only);
	bs_close(d);
	assert_int_equal(file_size(t.path), 3 * BS + 100); /* read-only */
	assert_int_equal(
		ft_open(&t, BS_FILE, t.path, 8 * BS, BS, false, false, &d), 0);
	assert_int_equal(d->size_bytes, 8 * BS);
	bs_close(d);
	assert_int_equal(file_size(t.path), 8 * BS); /* extended */
	ft_teardown(&t);
}

/* utargetctl lun resize on a file LUN: the file grows sparse, a smaller
 * size only stops exporting the end, sizes that are no whole number of
 * blocks are refused. */
static void file_resize_grows_and_never_truncates(void **state)
{
	struct ft t;
	struct bs_dev *d;

	(void)state;
	ft_setup(&t, "disk.img");
	assert_int_equal(
		ft_open(&t, BS_FILE, t.path, 16 * BS, BS, true, false, &d), 0);
	assert_int_equal(file_size(t.path), 16 * BS);
	assert_int_equal(bs_resize(d, 64 * BS), 0);
	assert_int_equal(d->size_bytes, 64 * BS);
	assert_int_equal(file_size(t.path), 64 * BS);
	assert_int_equal(bs_resize(d, 8 * BS), 0);
	assert_int_equal(d->size_bytes, 8 * BS);
	assert_int_equal(file_size(t.path), 64 * BS); /* nothing lost */
	assert_int_equal(bs_resize(d, 0), -EINVAL);
	assert_int_equal(bs_resize(d, 8 * BS + 512), -EINVAL);
	assert_int_equal(d->size_bytes, 8 * BS);
	bs_close(d);
	ft_teardown(&t);
}

/* The filesystem refuses to extend (here: past RLIMIT_FSIZE, EFBIG): at
 * creation, at an open that extends, and at a resize; the device keeps
 * its size. */
static void file_extend_failures_are_reported(void **state)
{
	struct rlimit old, lim = {.rlim_cur = 1 << 20};
	struct ft t;
	struct bs_dev *d, *d2;
	char p2[400];

	(void)state;
	ft_setup(&t, "disk.img");
	assert_int_equal(
		ft_open(&t, BS_FILE, t.path, 16 * BS, BS, true, false, &d), 0);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(bs_resize(d, 4 << 20), -EFBIG);
	assert_int_equal(d->size_bytes, 16 * BS);
	assert_int_equal(file_size(t.path), 16 * BS);
	snprintf(p2, sizeof(p2), "%s/big.img", t.dir);
	assert_int_equal(ft_open(&t, BS_FILE, p2, 4 << 20, BS, true, false,
				 &d2),
			 -EFBIG);
	assert_null(d2);
	write_file(p2, 16 * BS);
	assert_int_equal(ft_open(&t, BS_FILE, p2, 4 << 20, BS, false, false,
				 &d2),
			 -EFBIG);
	assert_null(d2);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	bs_close(d);
	ft_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(file_open_refusals),
		cmocka_unit_test(file_open_sizes),
		cmocka_unit_test(file_resize_grows_and_never_truncates),
		cmocka_unit_test(file_extend_failures_are_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
