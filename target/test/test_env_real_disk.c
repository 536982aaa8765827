/*
 * test_env_real_disk.c — the file backstore of the real
 * environment, through io_uring and through the thread-pool fallback.
 *
 * Every test drives its own reactor and bounds itself with a watchdog
 * timer, so a broken build fails instead of hanging.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "disk_io_rig.h"
#include "env_real_rig.h"

/* ----------------------------------------------------- file backstore */

/* A file holding len bytes, on the disk and not in the page cache (until
 * something reads or maps it). */
static void file_evicted(const char *path, const void *bytes, size_t len)
{
	int fd = file_with(path, bytes, len);

	assert_int_equal(fdatasync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
}

static void file_backstore_checks(bool no_uring,
				  enum env_real_inline_writes inl)
{
	char *dir = make_tmpdir();
	struct env *e = new_env_opts((struct env_real_opts){
		.disable_uring = no_uring,
		.inline_writes = inl,
	});
	struct io_ctx c = {.e = e};
	struct env_real_disk_stats st_io;
	const uint64_t size = 16u << 20;
	char path[512];
	uint8_t *w = malloc(256 * 1024), *rd = malloc(256 * 1024);
	struct bs_dev *d;
	struct stat st;
	bool mapped;
	uint64_t run;

	snprintf(path, sizeof(path), "%s/lun0.img", dir);
	d = open_file(e, path, size, true, true, false);
	assert_int_equal(d->size_bytes, size);
	assert_int_equal(d->block_size, BS);
	assert_true(d->write_cache);
	assert_true(d->thin);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, (off_t)size);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(st.st_blocks == 0); /* created sparse */
	run = d->ops->lba_status(d, 0, size, &mapped);
	assert_false(mapped);
	assert_int_equal(run, size);

	/* write, read back */
	fill(w, 256 * 1024, 1);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, BS * 4, 256 * 1024, w),
			 0);
	memset(rd, 0xee, 256 * 1024);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, BS * 4, 256 * 1024, rd),
			 0);
	assert_memory_equal(rd, w, 256 * 1024);
	/* FUA write and flush */
	fill(w, BS, 2);
	assert_int_equal(
		io_sync(&c, d, BS_OP_WRITE, BS_F_FUA, size - BS, BS, w), 0);
	assert_int_equal(io_sync(&c, d, BS_OP_FLUSH, 0, 0, 0, NULL), 0);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, size - BS, BS, rd), 0);
	assert_memory_equal(rd, w, BS);

	/* mapped where written */
	run = d->ops->lba_status(d, BS * 4, size, &mapped);
	assert_true(mapped);
	assert_true(run >= 256 * 1024 && run % BS == 0);
	/* unmap punches a hole: reads zeros, reported unmapped */
	assert_int_equal(
		io_sync(&c, d, BS_OP_UNMAP, 0, BS * 4, 256 * 1024, NULL), 0);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, BS * 4, 256 * 1024, rd),
			 0);
	assert_true(all_zero(rd, 256 * 1024));
	run = d->ops->lba_status(d, BS * 4, 256 * 1024, &mapped);
	assert_false(mapped);
	assert_int_equal(run, 256 * 1024);
	/* write zeroes */
	fill(w, BS * 2, 3);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, BS * 100, BS * 2, w),
			 0);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE_ZEROES, 0, BS * 100, BS * 2,
				 NULL),
			 0);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, BS * 100, BS * 2, rd),
			 0);
	assert_true(all_zero(rd, BS * 2));
	/* with FUA (the write cache off): the same, then a data sync before
	 * the completion (er_io_changed) */
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, BS * 100, BS * 2, w),
			 0);
	assert_int_equal(
		io_sync(&c, d, BS_OP_UNMAP, BS_F_FUA, BS * 100, BS, NULL), 0);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE_ZEROES, BS_F_FUA, BS * 101,
				 BS, NULL),
			 0);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, BS * 100, BS * 2, rd),
			 0);
	assert_true(all_zero(rd, BS * 2));

	/* range and alignment errors, still asynchronous */
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, size, BS, rd), -EINVAL);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, size - BS, 2 * BS, rd),
			 -EINVAL);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 512, BS, w), -EINVAL);
	/* exactly at the end is fine */
	assert_int_equal(
		io_sync(&c, d, BS_OP_READ, 0, size - 2 * BS, 2 * BS, rd), 0);
	bs_close(d);

	/* reopen with size 0: the file's size; read-only refuses writes */
	d = open_file(e, path, 0, false, false, true);
	assert_int_equal(d->size_bytes, size);
	assert_true(d->read_only);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 0, BS, w), -EROFS);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, size - BS, BS, rd), 0);
	fill(w, BS, 2);
	assert_memory_equal(rd, w, BS);
	bs_close(d);

	/* Where the four writes went: 256 KiB (over the inline limit) and
	 * FUA to the engine; the two of 8 KiB on the reactor with "always"
	 * (even if slow: a slow one pauses the writes after it).  With
	 * "auto" it depends on the filesystem of /tmp. */
	env_real_disk_stats(e, &st_io);
	assert_int_equal(st_io.inline_writes + st_io.engine_writes, 4);
	if (inl == ENV_REAL_INLINE_OFF)
		assert_int_equal(st_io.inline_writes, 0);
	if (inl == ENV_REAL_INLINE_ALWAYS)
		assert_int_equal(st_io.inline_writes, 2);
	env_real_free(e);
	free(w);
	free(rd);
	remove_tmpdir(dir);
}

static void file_backstore_through_io_uring(void **state)
{
	(void)state;
	file_backstore_checks(false, ENV_REAL_INLINE_AUTO);
}

static void file_backstore_through_thread_pool_fallback(void **state)
{
	(void)state;
	file_backstore_checks(true, ENV_REAL_INLINE_AUTO);
}

static void file_backstore_with_writes_on_the_reactor(void **state)
{
	(void)state;
	file_backstore_checks(false, ENV_REAL_INLINE_ALWAYS);
	file_backstore_checks(true, ENV_REAL_INLINE_ALWAYS);
}

static void file_backstore_with_inline_writes_off(void **state)
{
	(void)state;
	file_backstore_checks(false, ENV_REAL_INLINE_OFF);
	file_backstore_checks(true, ENV_REAL_INLINE_OFF);
}

/* A slow write on the reactor sends the next ones to the engine for
 * 100 ms, then 200 ms after the next slow one; data stays right all along
 * (every inline write counts as slow with a 1 ns mark). */
static void slow_inline_write_pauses_writes_on_the_reactor(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env_opts((struct env_real_opts){
		.inline_writes = ENV_REAL_INLINE_ALWAYS,
		.inline_slow_ns = 1,
	});
	struct io_ctx c = {.e = e};
	struct env_real_disk_stats st;
	uint8_t w[BS], rd[BS];
	char path[512];
	struct bs_dev *d;
	uint64_t t0;

	(void)state;
	snprintf(path, sizeof(path), "%s/slow.img", dir);
	d = open_file(e, path, 1 << 20, true, false, false);
	t0 = env_now_ns(e);
	for (uint8_t i = 0; i < 4; i++) {
		fill(w, BS, i);
		assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, i * BS, BS, w),
				 0);
	}
	env_real_disk_stats(e, &st);
	if (env_now_ns(e) - t0 < MS(100)) {
		/* the first on the reactor (slow), the others paused */
		assert_int_equal(st.inline_writes, 1);
		assert_int_equal(st.inline_slow, 1);
		assert_int_equal(st.engine_writes, 3);
	}
	run_for_ms(e, 120); /* past the first pause */
	t0 = env_now_ns(e);
	fill(w, BS, 4);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 4 * BS, BS, w), 0);
	fill(w, BS, 5);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 5 * BS, BS, w), 0);
	env_real_disk_stats(e, &st);
	assert_int_equal(st.inline_writes + st.engine_writes, 6);
	assert_int_equal(st.inline_writes, st.inline_slow);
	if (env_now_ns(e) - t0 < MS(200)) {
		/* one more on the reactor, then a pause of 200 ms */
		assert_int_equal(st.inline_writes, 2);
		assert_int_equal(st.engine_writes, 4);
	}
	for (uint8_t i = 0; i < 6; i++) {
		assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, i * BS, BS, rd),
				 0);
		fill(w, BS, i);
		assert_memory_equal(rd, w, BS);
	}
	bs_close(d);
	env_real_free(e);
	remove_tmpdir(dir);
}

static void no_uring_environment_variable_selects_thread_pool(void **state)
{
	char *dir = make_tmpdir();
	struct env *e;
	struct io_ctx c;
	char path[512];
	uint8_t b[BS];
	struct bs_dev *d;

	(void)state;
	setenv("UTARGET_NO_URING", "1", 1);
	e = new_env(false, NULL);
	unsetenv("UTARGET_NO_URING");
	c = (struct io_ctx){.e = e};
	snprintf(path, sizeof(path), "%s/lun.img", dir);
	d = open_file(e, path, 1 << 20, true, false, false);
	fill(b, BS, 9);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, BS_F_FUA, BS, BS, b), 0);
	memset(b, 0, BS);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, BS, BS, b), 0);
	{
		uint8_t want[BS];

		fill(want, BS, 9);
		assert_memory_equal(b, want, BS);
	}
	bs_close(d);
	env_real_free(e);
	remove_tmpdir(dir);
}

/* More requests than the engine's queue depth: the excess waits and still
 * completes, in both engines. */
static void requests_beyond_queue_depth_all_complete(void **state)
{
	enum { N = 700 };

	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		char *dir = make_tmpdir();
		struct env *e = new_env(mode == 1, NULL);
		struct io_ctx c = {.e = e};
		struct io_req *r = calloc(N, sizeof(*r));
		uint8_t *buf = malloc((size_t)N * BS);
		char path[512];
		struct bs_dev *d;

		snprintf(path, sizeof(path), "%s/lun.img", dir);
		d = open_file(e, path, (uint64_t)N * BS, true, false, false);
		for (int i = 0; i < N; i++) {
			memset(buf + (size_t)i * BS, i & 0xff, BS);
			io_submit(&c, d, &r[i], BS_OP_WRITE, 0,
				  (uint64_t)i * BS, BS, buf + (size_t)i * BS);
		}
		run_bounded(e);
		assert_int_equal(c.pending, 0);
		memset(buf, 0xee, (size_t)N * BS);
		for (int i = 0; i < N; i++) {
			assert_int_equal(r[i].status, 0);
			io_submit(&c, d, &r[i], BS_OP_READ, 0, (uint64_t)i * BS,
				  BS, buf + (size_t)i * BS);
		}
		run_bounded(e);
		for (int i = 0; i < N; i++) {
			assert_int_equal(r[i].status, 0);
			assert_int_equal(buf[(size_t)i * BS], i & 0xff);
			assert_int_equal(buf[(size_t)i * BS + BS - 1],
					 i & 0xff);
		}
		bs_close(d);
		env_real_free(e);
		free(r);
		free(buf);
		remove_tmpdir(dir);
	}
}

/* Submit a READ that may be answered by reference; run until done. */
static int io_read_ref(struct io_ctx *c, struct bs_dev *d, uint64_t off,
		       uint64_t len, void *buf, struct bs_ref **ref)
{
	struct io_req r;

	io_submit(c, d, &r, BS_OP_READ, BS_F_MAY_REF, off, len, buf);
	assert_false(r.done); /* never inside bs_submit */
	run_bounded(c->e);
	assert_true(r.done);
	*ref = r.req.ref;
	return r.status;
}

/* Zero-copy reads (env_real/zerocopy.c): a large read of cached pages
 * asked for by reference points into the page cache and copies nothing;
 * small, uncached or unasked-for reads copy; the bytes are the file's
 * (coherent with writes); the mapping outlives bs_close() until the last
 * reference goes. */
static void zero_copy_reads_point_into_the_page_cache(void **state)
{
	const uint64_t size = 1024 * 1024, len = 128 * 1024;
	char *dir = make_tmpdir();
	struct env *e = new_env(false, NULL);
	struct io_ctx c = {.e = e};
	uint8_t *want = malloc(size), *buf = malloc(len);
	struct bs_ref *ref = NULL, *ref2 = NULL;
	struct env_real_disk_stats st = {0};
	char path[512];
	struct bs_dev *d, *d2;

	(void)state;
	assert_non_null(want);
	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/zc.img", dir);
	fill(want, size, 3);
	close(file_with(path, want, size));
	d = open_file(e, path, size, false, false, false);

	/* cached (just written), large, asked for: by reference */
	memset(buf, 0xee, len);
	assert_int_equal(io_read_ref(&c, d, 64 * 1024, len, buf, &ref), 0);
	assert_non_null(ref);
	assert_int_equal(ref->length_bytes, len);
	assert_memory_equal(ref->mem, want + 64 * 1024, len);
	/* the same bytes for sendfile: the file and its offset */
	assert_true(ref->fd >= 0);
	assert_int_equal(ref->fd_off, 64 * 1024);
	assert_int_equal(pread(ref->fd, buf, len, (off_t)ref->fd_off),
			 (ssize_t)len);
	assert_memory_equal(buf, want + 64 * 1024, len);
	memset(buf, 0xee, len);
	assert_int_equal(buf[0], 0xee); /* nothing copied */
	assert_int_equal(buf[len - 1], 0xee);

	/* a write through the backstore shows through the reference */
	fill(buf, BS, 9);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 64 * 1024, BS, buf), 0);
	assert_memory_equal(ref->mem, buf, BS);

	/* below ER_ZC_MIN_BYTES: copied */
	memset(buf, 0xee, len);
	assert_int_equal(io_read_ref(&c, d, 0, 16 * 1024, buf, &ref2), 0);
	assert_null(ref2);
	assert_memory_equal(buf, want, 16 * 1024);

	/* not asked for: copied */
	memset(buf, 0xee, len);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, size - len, len, buf),
			 0);
	assert_memory_equal(buf, want + size - len, len);

	/* not in the page cache (another file, its pages dropped before
	 * anything maps them): copied, since a reference would make the
	 * send read the disk on the reactor */
	snprintf(path, sizeof(path), "%s/cold.img", dir);
	file_evicted(path, want, size);
	d2 = open_file(e, path, size, false, false, false);
	memset(buf, 0xee, len);
	assert_int_equal(io_read_ref(&c, d2, size - len, len, buf, &ref2), 0);
	assert_null(ref2);
	assert_memory_equal(buf, want + size - len, len);
	bs_close(d2);

	env_real_disk_stats(e, &st);
	assert_int_equal(st.zero_copy_reads, 1);

	/* closed with a reference out: the mapping stays until released */
	bs_close(d);
	assert_memory_equal(ref->mem + BS, want + 64 * 1024 + BS, len - BS);
	/* and the file stays open for sendfile */
	assert_int_equal(pread(ref->fd, buf, len - BS, (off_t)(64 * 1024 + BS)),
			 (ssize_t)(len - BS));
	assert_memory_equal(buf, want + 64 * 1024 + BS, len - BS);
	bs_ref_release(ref);

	free(want);
	free(buf);
	env_real_free(e);
	remove_tmpdir(dir);
}

/* --zero-copy off: every read copies. */
static void zero_copy_off_copies_every_read(void **state)
{
	const uint64_t size = 256 * 1024, len = 128 * 1024;
	char *dir = make_tmpdir();
	struct env *e = new_env_opts((struct env_real_opts){
		.no_zero_copy = true,
	});
	struct io_ctx c = {.e = e};
	uint8_t *want = malloc(size), *buf = malloc(len);
	struct bs_ref *ref = NULL;
	char path[512];
	struct bs_dev *d;

	(void)state;
	assert_non_null(want);
	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/zc.img", dir);
	fill(want, size, 5);
	close(file_with(path, want, size));
	d = open_file(e, path, size, false, false, false);
	assert_int_equal(io_read_ref(&c, d, 0, len, buf, &ref), 0);
	assert_null(ref);
	assert_memory_equal(buf, want, len);
	bs_close(d);
	free(want);
	free(buf);
	env_real_free(e);
	remove_tmpdir(dir);
}

/* A read alone in its loop turn is done on the reactor with
 * preadv2(RWF_NOWAIT) (disk_file.c, er_read_inline); reads issued
 * together, and a read of pages not cached (EAGAIN), go through the
 * engine; the bytes are the file's either way. */
static void a_lone_cached_read_is_done_on_the_reactor(void **state)
{
	const uint64_t size = 256 * 1024;
	char *dir = make_tmpdir();
	struct env *e = new_env(false, NULL);
	struct io_ctx c = {.e = e};
	uint8_t *want = malloc(size), *buf = malloc(size);
	struct env_real_disk_stats st = {0};
	struct io_req r[2];
	char path[512];
	struct bs_dev *d;

	(void)state;
	assert_non_null(want);
	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/lone.img", dir);
	fill(want, size, 11);
	close(file_with(path, want, size));
	d = open_file(e, path, size, false, false, false);

	/* alone and cached: on the reactor */
	memset(buf, 0xee, size);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, 8192, 4096, buf), 0);
	assert_memory_equal(buf, want + 8192, 4096);
	env_real_disk_stats(e, &st);
	assert_int_equal(st.inline_reads, 1);

	/* two in one turn: both to the ring */
	memset(buf, 0xee, size);
	io_submit(&c, d, &r[0], BS_OP_READ, 0, 0, 4096, buf);
	io_submit(&c, d, &r[1], BS_OP_READ, 0, 65536, 4096, buf + 4096);
	run_bounded(e);
	assert_true(r[0].done && r[1].done);
	assert_int_equal(r[0].status, 0);
	assert_int_equal(r[1].status, 0);
	assert_memory_equal(buf, want, 4096);
	assert_memory_equal(buf + 4096, want + 65536, 4096);
	env_real_disk_stats(e, &st);
	assert_int_equal(st.inline_reads, 1);
	bs_close(d);

	/* alone, not cached: RWF_NOWAIT refuses it, the ring reads it */
	snprintf(path, sizeof(path), "%s/cold.img", dir);
	file_evicted(path, want, size);
	d = open_file(e, path, size, false, false, false);
	memset(buf, 0xee, size);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, size - 8192, 8192, buf),
			 0);
	assert_memory_equal(buf, want + size - 8192, 8192);
	env_real_disk_stats(e, &st);
	assert_int_equal(st.inline_reads, 1);
	bs_close(d);

	free(want);
	free(buf);
	env_real_free(e);
	remove_tmpdir(dir);
}

/* A mem LUN opened on the daemon's environment answers large reads by
 * reference unless --zero-copy off (env.zero_copy, backstore/mem.c). */
static int mem_read_status;

static void mem_read_done(struct bs_req *req, int status)
{
	(void)req;
	mem_read_status = status;
}

static void mem_luns_follow_the_zero_copy_option(void **state)
{
	static uint8_t buf[128 * 1024];

	(void)state;
	for (int off = 0; off < 2; off++) {
		struct env *e = new_env_opts((struct env_real_opts){
			.no_zero_copy = off == 1,
		});
		struct bs_dev_params p = {.kind = BS_MEM,
					  .size_bytes = 4u << 20,
					  .block_size = 512};
		struct iovec iov = {buf, sizeof(buf)};
		struct bs_req req = {.op = BS_OP_READ,
				     .flags = BS_F_MAY_REF,
				     .length_bytes = sizeof(buf),
				     .iov = &iov,
				     .iovcnt = 1,
				     .done = mem_read_done};
		struct bs_dev *d;

		assert_int_equal(bs_open(e, &p, &d), 0);
		memset(buf, 0xee, sizeof(buf));
		mem_read_status = 1;
		bs_submit(d, &req); /* mem completes at once */
		assert_int_equal(mem_read_status, 0);
		if (off) {
			assert_null(req.ref);
			assert_int_equal(buf[0], 0); /* copied zeros */
		} else {
			assert_non_null(req.ref);
			assert_int_equal(req.ref->mem[0], 0);
			assert_int_equal(buf[0], 0xee); /* nothing copied */
			bs_ref_release(req.ref);
		}
		bs_close(d);
		env_real_free(e);
	}
}

static void read_past_end_of_a_short_file_returns_zeros(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env(false, NULL);
	struct io_ctx c = {.e = e};
	char path[512];
	uint8_t b[2 * BS];
	struct bs_dev *d;

	(void)state;
	snprintf(path, sizeof(path), "%s/short.img", dir);
	memset(b, 0x5a, BS);
	close(file_with(path, b, BS));
	/* read-only with a capacity larger than the file: not extended */
	d = open_file(e, path, 4 * BS, false, false, true);
	assert_int_equal(d->size_bytes, 4 * BS);
	memset(b, 0xee, sizeof(b));
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, 0, 2 * BS, b), 0);
	assert_int_equal(b[0], 0x5a);
	assert_int_equal(b[BS - 1], 0x5a);
	assert_true(all_zero(b + BS, BS));
	bs_close(d);
	env_real_free(e);
	remove_tmpdir(dir);
}

static void disk_open_sizes_files_and_rejects_empty_capacity(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env(false, NULL);
	char path[512];
	struct bs_dev *d = NULL;
	struct bs_dev_params p = {
		.kind = BS_FILE, .name = "t", .block_size = BS};
	struct stat st;

	(void)state;
	e->log_level = UT_LOG_ERROR;
	snprintf(path, sizeof(path), "%s/f.img", dir);
	p.path = path;
	/* missing and not asked to create */
	assert_int_equal(e->ops->disk_open(e, &p, &d), -ENOENT);
	/* create needs a size */
	p.create = true;
	assert_int_equal(e->ops->disk_open(e, &p, &d), -EINVAL);
	/* a file smaller than a block has no capacity */
	close(file_with(path, "abc", 3));
	p.create = false;
	assert_int_equal(e->ops->disk_open(e, &p, &d), -EINVAL);
	/* a size larger than the file extends it */
	p.size_bytes = 8 * BS + 100; /* the tail is never addressed */
	assert_int_equal(e->ops->disk_open(e, &p, &d), 0);
	assert_int_equal(d->size_bytes, 8 * BS);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 8 * BS + 100);
	bs_close(d);
	/* a smaller size uses the head of the file */
	p.size_bytes = 2 * BS;
	assert_int_equal(e->ops->disk_open(e, &p, &d), 0);
	assert_int_equal(d->size_bytes, 2 * BS);
	bs_close(d);
	/* a directory is not a backstore */
	p.path = dir;
	p.size_bytes = 0;
	assert_true(e->ops->disk_open(e, &p, &d) < 0);
	env_real_free(e);
	remove_tmpdir(dir);
}

/* tmpfs has no FALLOC_FL_ZERO_RANGE: a thick LUN there must still get
 * zeros, by writing them. */
static void
write_zeroes_falls_back_to_writing_zeros_without_fallocate(void **state)
{
	char tmpl[] = "/dev/shm/utarget-test-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char path[512];
	uint8_t *b = malloc(64 * BS);

	(void)state;
	if (!dir)
		skip();
	dir = strdup(dir);
	snprintf(path, sizeof(path), "%s/probe", dir);
	{
		int fd = open(path, O_CREAT | O_RDWR, 0600);
		int rc = ftruncate(fd, BS) == 0
				 ? fallocate(fd,
					     FALLOC_FL_ZERO_RANGE |
						     FALLOC_FL_KEEP_SIZE,
					     0, BS)
				 : 0;

		close(fd);
		if (rc == 0 || errno != EOPNOTSUPP) {
			remove_tmpdir(dir);
			free(b);
			skip(); /* this filesystem zeroes ranges itself */
		}
	}
	for (int mode = 0; mode < 2; mode++) {
		struct env *e = new_env(mode == 1, NULL);
		struct io_ctx c = {.e = e};
		struct bs_dev *d;

		snprintf(path, sizeof(path), "%s/thick%d.img", dir, mode);
		d = open_file(e, path, 64 * BS, true, false, false);
		fill(b, 64 * BS, 4);
		assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 0, 64 * BS, b),
				 0);
		assert_int_equal(io_sync(&c, d, BS_OP_WRITE_ZEROES, 0, BS,
					 31 * BS, NULL),
				 0);
		/* zeros written the plain way, then synced (FUA) */
		assert_int_equal(io_sync(&c, d, BS_OP_WRITE_ZEROES, BS_F_FUA,
					 32 * BS, 31 * BS, NULL),
				 0);
		assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, 0, 64 * BS, b),
				 0);
		assert_true(all_zero(b + BS, 62 * BS));
		assert_int_equal(b[0], 4);
		assert_true(b[63 * BS] != 0 || b[63 * BS + 1] != 0);
		bs_close(d);
		env_real_free(e);
	}
	free(b);
	remove_tmpdir(dir);
}

/* A block device is destroyed by this test, so it runs only when one is
 * named: UTARGET_TEST_BLOCKDEV=/dev/loop0 (e.g. losetup on a scratch file). */
static void block_device_backstore_reads_writes_and_unmaps(void **state)
{
	const char *dev = getenv("UTARGET_TEST_BLOCKDEV");
	uint8_t *w = malloc(64 * BS), *rd = malloc(64 * BS);

	(void)state;
	if (!dev || !*dev) {
		free(w);
		free(rd);
		skip();
	}
	for (int mode = 0; mode < 2; mode++) {
		struct env *e = new_env(mode == 1, NULL);
		struct io_ctx c = {.e = e};
		struct bs_dev_params p = {
			.kind = BS_BLOCK,
			.name = "blk",
			.path = dev,
			.block_size = BS,
			.thin = true,
		};
		struct bs_dev *d = NULL;
		bool mapped;

		assert_int_equal(e->ops->disk_open(e, &p, &d), 0);
		assert_true(d->size_bytes >= 64 * BS);
		assert_int_equal(d->size_bytes % BS, 0);
		fill(w, 64 * BS, (uint8_t)(5 + mode));
		assert_int_equal(io_sync(&c, d, BS_OP_WRITE, BS_F_FUA, 0,
					 64 * BS, w),
				 0);
		assert_int_equal(io_sync(&c, d, BS_OP_FLUSH, 0, 0, 0, NULL), 0);
		assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, 0, 64 * BS, rd),
				 0);
		assert_memory_equal(rd, w, 64 * BS);
		assert_int_equal(io_sync(&c, d, BS_OP_UNMAP, 0, 8 * BS, 16 * BS,
					 NULL),
				 0);
		assert_int_equal(io_sync(&c, d, BS_OP_WRITE_ZEROES, 0, 32 * BS,
					 8 * BS, NULL),
				 0);
		assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, 0, 64 * BS, rd),
				 0);
		assert_true(all_zero(rd + 8 * BS, 16 * BS));
		assert_true(all_zero(rd + 32 * BS, 8 * BS));
		assert_memory_equal(rd, w, 8 * BS);
		assert_memory_equal(rd + 24 * BS, w + 24 * BS, 8 * BS);
		/* block devices report everything mapped */
		assert_int_equal(d->ops->lba_status(d, 0, 64 * BS, &mapped),
				 64 * BS);
		assert_true(mapped);
		bs_close(d);
		env_real_free(e);
	}
	free(w);
	free(rd);
}

/* ------------------------------------------------ tcmu-runner plugins */

/* build/test/tcmu/handler_fake.so (target/test/tcmu/handler_fake.c),
 * beside this test's binary. */
static void tcmu_use_fake_plugins(void)
{
	char exe[512], dir[600];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(dir, sizeof(dir), "%s/tcmu", exe);
	setenv("UTARGET_TCMU_DIR", dir, 1);
}

static int tcmu_open(struct env *e, const char *path, struct bs_dev **d)
{
	struct bs_dev_params p = {
		.kind = BS_TCMU,
		.name = "tcmu-test",
		.path = path,
		.size_bytes = 1 << 20,
		.block_size = BS,
	};

	*d = NULL;
	return e->ops->disk_open(e, &p, d);
}

/* Data through each kind of plugin: blocking callouts on the device's
 * threads (fake), queued ones completed from the plugin's own thread
 * through tcmur_cmd_complete (fakeasync), and handle_cmd with READ(10)
 * and WRITE(10) CDBs (fakecmd).  Every completion on the reactor, never
 * inside bs_submit. */
static void tcmu_plugins_serve_data_through_every_callout_kind(void **state)
{
	static const char *const paths[] = {"fake/mem", "fakeasync/mem",
					    "fakecmd/mem"};
	struct env *e = new_env(true, NULL);
	struct io_ctx c = {.e = e};
	uint8_t *w = malloc(8 * BS), *r = malloc(8 * BS);

	(void)state;
	tcmu_use_fake_plugins();
	for (int i = 0; i < 3; i++) {
		struct bs_dev *d;

		assert_int_equal(tcmu_open(e, paths[i], &d), 0);
		assert_int_equal(d->size_bytes, 1 << 20);
		assert_false(d->thin); /* LBPRZ not promised by plugins */
		fill(w, 8 * BS, (uint8_t)(11 + i));
		memset(r, 0, 8 * BS);
		assert_int_equal(
			io_sync(&c, d, BS_OP_WRITE, 0, 40 * BS, 8 * BS, w), 0);
		assert_int_equal(
			io_sync(&c, d, BS_OP_READ, 0, 40 * BS, 8 * BS, r), 0);
		assert_memory_equal(r, w, 8 * BS);
		/* FUA: the write, then the flush callout (write cache on) */
		assert_int_equal(
			io_sync(&c, d, BS_OP_WRITE, BS_F_FUA, 0, 8 * BS, w), 0);
		assert_int_equal(io_sync(&c, d, BS_OP_FLUSH, 0, 0, 0, NULL), 0);
		/* past the end: refused before the plugin sees it */
		assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, (1 << 20) - BS,
					 2 * BS, r),
				 -EINVAL);
		bs_close(d);
	}
	free(w);
	free(r);
	env_real_free(e);
}

static void tcmu_caw_miscompare_reports_the_offset(void **state)
{
	struct env *e = new_env(true, NULL);
	struct io_ctx c = {.e = e};
	uint8_t buf[4 * BS], w[2 * BS];
	struct io_req q;
	struct bs_dev *d;

	(void)state;
	tcmu_use_fake_plugins();
	assert_int_equal(tcmu_open(e, "fake/mem", &d), 0);
	assert_true(d->caps & BS_CAP_COMPARE_AND_WRITE);
	fill(w, sizeof(w), 3);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 0, sizeof(w), w), 0);
	/* compare half: w with byte 700 changed; write half: zeros */
	memcpy(buf, w, sizeof(w));
	buf[700] ^= 0xff;
	memset(buf + 2 * BS, 0, 2 * BS);
	io_submit(&c, d, &q, BS_OP_COMPARE_AND_WRITE, 0, 0, 2 * BS, NULL);
	run_bounded(e);
	assert_int_equal(q.status, -EINVAL); /* no buffer: refused */
	memset(&q, 0, sizeof(q));
	q.ctx = &c;
	q.req.op = BS_OP_COMPARE_AND_WRITE;
	q.req.length_bytes = 2 * BS;
	q.iov[0] = (struct iovec){buf, sizeof(buf)};
	q.req.iov = q.iov;
	q.req.iovcnt = 1;
	q.req.done = io_done;
	c.pending++;
	bs_submit(d, &q.req);
	run_bounded(e);
	assert_int_equal(q.status, -EILSEQ);
	assert_int_equal(q.req.miscompare_bytes, 700);
	bs_close(d);
	env_real_free(e);
}

static void tcmu_unknown_handler_or_refused_open_fails(void **state)
{
	struct env *e = new_env(true, NULL);
	struct bs_dev *d;

	(void)state;
	tcmu_use_fake_plugins();
	assert_int_equal(tcmu_open(e, "nosuch/x", &d), -ENOENT);
	assert_null(d);
	assert_int_equal(tcmu_open(e, "fake/fail", &d), -EIO);
	assert_null(d);
	env_real_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(file_backstore_through_io_uring),
		cmocka_unit_test(
			tcmu_plugins_serve_data_through_every_callout_kind),
		cmocka_unit_test(tcmu_caw_miscompare_reports_the_offset),
		cmocka_unit_test(tcmu_unknown_handler_or_refused_open_fails),
		cmocka_unit_test(file_backstore_through_thread_pool_fallback),
		cmocka_unit_test(file_backstore_with_writes_on_the_reactor),
		cmocka_unit_test(file_backstore_with_inline_writes_off),
		cmocka_unit_test(
			slow_inline_write_pauses_writes_on_the_reactor),
		cmocka_unit_test(
			no_uring_environment_variable_selects_thread_pool),
		cmocka_unit_test(requests_beyond_queue_depth_all_complete),
		cmocka_unit_test(read_past_end_of_a_short_file_returns_zeros),
		cmocka_unit_test(zero_copy_reads_point_into_the_page_cache),
		cmocka_unit_test(zero_copy_off_copies_every_read),
		cmocka_unit_test(a_lone_cached_read_is_done_on_the_reactor),
		cmocka_unit_test(mem_luns_follow_the_zero_copy_option),
		cmocka_unit_test(
			disk_open_sizes_files_and_rejects_empty_capacity),
		cmocka_unit_test(
			write_zeroes_falls_back_to_writing_zeros_without_fallocate),
		cmocka_unit_test(
			block_device_backstore_reads_writes_and_unmaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
