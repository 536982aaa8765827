/*
 * disk_file_open.c — file and block device LUs: opening (create, size,
 * capacity of a block device, rotation), provisioning status (SEEK_DATA),
 * resize and close.  The I/O engine is disk_file.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backstore/backstore.h"
#include "env_real/env_real_int.h"
#include "env_real/disk_file.h"

/* ------------------------------------------------------ provisioning */

/* Length of the run at offset that is all data or all hole, from
 * SEEK_DATA/SEEK_HOLE.  A block holding any data counts as mapped. */
static uint64_t er_file_lba_status(struct bs_dev *dev, uint64_t offset_bytes,
				   uint64_t len_bytes, bool *mapped)
{
	struct er_file *f = dev->priv;
	uint64_t bs = dev->block_size, run;
	off_t d, h;

	*mapped = true;
	if (f->is_blk || len_bytes == 0)
		return len_bytes;
	d = lseek(f->fd, (off_t)offset_bytes, SEEK_DATA);
	if (d < 0) {
		/* ENXIO: no data from here to EOF.  Anything else: the
		 * filesystem cannot tell, so claim mapped. */
		*mapped = errno != ENXIO;
		return len_bytes;
	}
	if ((uint64_t)d > offset_bytes) {
		run = ((uint64_t)d - offset_bytes) / bs * bs;
		if (run > 0) {
			*mapped = false;
			return run < len_bytes ? run : len_bytes;
		}
		/* Data starts inside the first block: it is mapped. */
	}
	h = lseek(f->fd, (off_t)offset_bytes, SEEK_HOLE);
	if (h < 0 || (uint64_t)h <= offset_bytes)
		return len_bytes < bs ? len_bytes : bs;
	run = ((uint64_t)h - offset_bytes + bs - 1) / bs * bs;
	/* Whole blocks from a block-aligned offset: the caller counts in
	 * blocks (GET LBA STATUS). */
	ut_assert(run > 0 && run % bs == 0);
	ut_assert(offset_bytes % bs == 0);
	return run < len_bytes ? run : len_bytes;
}

static void er_file_close(struct bs_dev *dev)
{
	struct er_file *f = dev->priv;

	ut_assert(!f->closing); /* closed once */
	ut_assert(&f->dev == dev);
	/* backstore.h: every request came back or was taken back
	 * (er_file_abandon) first. */
	ut_assert(atomic_load(&f->inflight) == 0);
	f->closing = true;
	if (!er_file_idle(f)) {
		/* Zero-copy reads still send; the fd goes with the last. */
		return;
	}
	if (atomic_load(&f->in_done) == 0)
		er_file_destroy(f);
}

/* A new capacity (utargetctl lun resize, reload).  A regular file grows
 * sparse when it is shorter than the new size and is never truncated: a
 * smaller LU only stops exporting the end, so that a shrink by mistake
 * loses nothing.  A block device is used up to its present size: grow the
 * device (lvextend, ...) first, then the LU. */
static int er_file_resize(struct bs_dev *dev, uint64_t size_bytes)
{
	struct er_file *f = er_container_of(dev, struct er_file, dev);
	struct stat st;

	if (size_bytes == 0 || size_bytes % dev->block_size)
		return -EINVAL;
	if (f->is_blk) {
		uint64_t bytes = 0;

		if (ioctl(f->fd, BLKGETSIZE64, &bytes) < 0)
			return -errno;
		if (size_bytes > bytes)
			return -ENOSPC;
	} else {
		if (fstat(f->fd, &st) < 0)
			return -errno;
		if ((uint64_t)st.st_size < size_bytes &&
		    ftruncate(f->fd, (off_t)size_bytes) < 0)
			return -errno;
	}
	ut_assert(!f->closing); /* a device in use */
	ut_assert(dev->priv == f);
	/* Submissions of other reactors check against it without a lock. */
	__atomic_store_n(&dev->size_bytes, size_bytes, __ATOMIC_RELAXED);
	LOG_INFO(&f->home->env, "event=resize device=%s bytes=%llu", f->name,
		 (unsigned long long)size_bytes);
	return 0;
}

static const struct bs_ops er_file_ops = {
	.submit = er_file_submit,
	.lba_status = er_file_lba_status,
	.abandon = er_file_abandon,
	.close = er_file_close,
	.resize = er_file_resize,
};

/* ------------------------------------------------------------- open */

static const char *er_name(const struct bs_dev_params *p)
{
	return p->name ? p->name : p->path;
}

static bool er_sys_rotational(dev_t dev)
{
	static const char *const fmts[] = {
		"/sys/dev/block/%u:%u/queue/rotational",
		/* a partition: the queue is its disk's */
		"/sys/dev/block/%u:%u/../queue/rotational",
	};
	char path[96], val[4] = "";

	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), fmts[i], major(dev), minor(dev));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, val, sizeof(val) - 1);
		close(fd);
		return n > 0 && val[0] == '1';
	}
	return false;
}

static int er_file_create(struct env *e, const struct bs_dev_params *p)
{
	int fd, rc = 0;

	if (p->size_bytes == 0) {
		LOG_ERR(e, "%s: cannot create %s without a size", er_name(p),
			p->path);
		return -EINVAL;
	}
	fd = open(p->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		rc = -errno;
	else if (ftruncate(fd, (off_t)p->size_bytes) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		LOG_ERR(e, "%s: cannot create %s: %s", er_name(p), p->path,
			strerror(-rc));
	else
		LOG_INFO(e, "%s: created %s, %llu bytes (sparse)", er_name(p),
			 p->path, (unsigned long long)p->size_bytes);
	return rc;
}

/* The capacity of an open regular file; may extend it to the size asked. */
static int er_file_capacity(struct env *e, const struct bs_dev_params *p,
			    int fd, const struct stat *st, uint64_t *cap)
{
	uint64_t fsize = (uint64_t)st->st_size;

	*cap = p->size_bytes ? p->size_bytes : fsize;
	if (p->size_bytes == 0 || p->size_bytes == fsize)
		return 0;
	if (p->size_bytes < fsize) {
		LOG_INFO(e, "%s: %s holds %llu bytes, using the first %llu",
			 er_name(p), p->path, (unsigned long long)fsize,
			 (unsigned long long)p->size_bytes);
		return 0;
	}
	if (p->read_only) {
		/* Reads past EOF come back as zeros. */
		LOG_INFO(e,
			 "%s: %s holds %llu bytes, less than the %llu "
			 "configured; read-only, the rest reads as zeros",
			 er_name(p), p->path, (unsigned long long)fsize,
			 (unsigned long long)p->size_bytes);
		return 0;
	}
	if (ftruncate(fd, (off_t)p->size_bytes) < 0) {
		int err = errno;

		LOG_ERR(e, "%s: cannot extend %s to %llu bytes: %s", er_name(p),
			p->path, (unsigned long long)p->size_bytes,
			strerror(err));
		return -err;
	}
	LOG_INFO(e, "%s: extended %s from %llu to %llu bytes", er_name(p),
		 p->path, (unsigned long long)fsize,
		 (unsigned long long)p->size_bytes);
	return 0;
}

static int er_blk_capacity(struct env *e, const struct bs_dev_params *p, int fd,
			   uint32_t block_size, uint64_t *cap)
{
	uint64_t bytes = 0;
	int lbs = 0;

	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0 ||
	    ioctl(fd, BLKSSZGET, &lbs) < 0) {
		int err = errno;

		LOG_ERR(e, "%s: %s: cannot query the block device: %s",
			er_name(p), p->path, strerror(err));
		return -err;
	}
	if (lbs > 0 && block_size < (uint32_t)lbs) {
		LOG_ERR(e,
			"%s: block size %u is smaller than the logical "
			"block size %d of %s",
			er_name(p), block_size, lbs, p->path);
		return -EINVAL;
	}
	if (p->size_bytes > bytes) {
		LOG_ERR(e, "%s: size %llu exceeds the %llu bytes of %s",
			er_name(p), (unsigned long long)p->size_bytes,
			(unsigned long long)bytes, p->path);
		return -EINVAL;
	}
	*cap = p->size_bytes ? p->size_bytes : bytes;
	return 0;
}

static int er_open_fd(struct env *e, const struct bs_dev_params *p)
{
	int flags = (p->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int fd = open(p->path, flags);

	if (fd < 0 && errno == ENOENT && p->create && p->kind == BS_FILE) {
		int rc = er_file_create(e, p);

		if (rc < 0 && rc != -EEXIST)
			return rc;
		fd = open(p->path, flags);
	}
	if (fd < 0) {
		int err = errno;

		LOG_ERR(e, "%s: cannot open %s: %s", er_name(p), p->path,
			strerror(err));
		return -err;
	}
	return fd;
}

int er_disk_open(struct env *e, const struct bs_dev_params *p,
		 struct bs_dev **out)
{
	struct er_reactor *r = er_reactor_of(e);
	uint32_t block_size = p->block_size ? p->block_size : 512;
	const char *name;
	struct er_disk_engine *eng;
	struct er_file *f = NULL;
	struct stat st;
	uint64_t cap = 0;
	int fd = -1, rc;

	*out = NULL;
	if (p->kind == BS_RBD)
		return er_rbd_open(e, p, out);
	if (p->kind == BS_TCMU)
		return er_tcmu_open(e, p, out);
	if ((p->kind != BS_FILE && p->kind != BS_BLOCK) || !p->path)
		return -EINVAL;
	name = er_name(p);
	if (block_size < 512 || block_size > 65536 ||
	    (block_size & (block_size - 1))) {
		LOG_ERR(e,
			"%s: block size %u is not a power of two in "
			"512..65536",
			er_name(p), block_size);
		return -EINVAL;
	}
	fd = er_open_fd(e, p);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		LOG_ERR(e, "%s: %s: %s", name, p->path, strerror(-rc));
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		rc = er_blk_capacity(e, p, fd, block_size, &cap);
	} else if (S_ISREG(st.st_mode) && p->kind == BS_FILE) {
		rc = er_file_capacity(e, p, fd, &st, &cap);
	} else {
		LOG_ERR(e, "%s: %s is not a %s", er_name(p), p->path,
			p->kind == BS_BLOCK ? "block device" : "regular file");
		rc = p->kind == BS_BLOCK ? -ENOTBLK : -EINVAL;
	}
	if (rc < 0)
		goto fail;
	/* The LUN ends at a block boundary; a tail is never addressed. */
	cap -= cap % block_size;
	ut_assert(cap % block_size == 0);
	if (cap == 0) {
		LOG_ERR(e, "%s: %s has no whole %u-byte block", er_name(p),
			p->path, block_size);
		rc = -EINVAL;
		goto fail;
	}
	eng = er_engine_get(r);
	f = calloc(1, sizeof(*f));
	if (!eng || !f) {
		rc = -ENOMEM;
		LOG_ERR(e, "%s: cannot start disk I/O for %s", name, p->path);
		goto fail;
	}
	f->home = r;
	f->fd = fd;
	f->is_blk = S_ISBLK(st.st_mode);
	pthread_mutex_init(&f->zc_lock, NULL);
	for (unsigned int i = 0; i < ER_MAX_REACTORS; i++) {
		f->q[i].f = f;
		TAILQ_INIT(&f->q[i].waiting);
	}
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->dev.ops = &er_file_ops;
	f->dev.kind = p->kind;
	f->dev.size_bytes = cap;
	f->dev.block_size = block_size;
	f->dev.read_only = p->read_only;
	f->dev.thin = p->thin;
	f->dev.write_cache = true;
	f->dev.rotational =
		er_sys_rotational(f->is_blk ? st.st_rdev : st.st_dev);
	f->dev.priv = f;
	/* backstore.h: a whole number of blocks, at least one. */
	ut_assert(f->dev.size_bytes > 0);
	ut_assert(f->dev.size_bytes % f->dev.block_size == 0);
	LOG_INFO(e, "%s: %s, %llu bytes in %u-byte blocks%s%s", f->name,
		 p->path, (unsigned long long)cap, block_size,
		 p->read_only ? ", read-only" : "", p->thin ? ", thin" : "");
	*out = &f->dev;
	return 0;
fail:
	free(f);
	close(fd);
	return rc;
}
