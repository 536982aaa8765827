/*
 * test_env_real_openfaults.c — the file backstore's opening and the
 * state files when the system says no (env_real_faults.h,
 * diskfaults_rig.h): opens, block devices, resizes and provisioning
 * queries refused; zero-copy reads without a mapping; durable state that
 * cannot be written or read; and the RWF_NOWAIT probe that would block
 * (writes left to io_uring).  test_env_real_diskfaults.c holds requests
 * through the thread pool, io_uring and on the reactor.
 */
#include "diskfaults_rig.h"

/* ------------------------------------------------------------ opening */

/* A fake block device: a regular file that fstat calls a block device,
 * whose size and logical block size the ioctls answer. */
static void block_device_capacity_and_resize(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env(false, NULL);
	struct io_ctx c = {.e = e};
	char path[512], rot[512];
	uint8_t w[2 * BS], r[2 * BS];
	struct bs_dev_params p = {
		.kind = BS_BLOCK, .name = "blk", .block_size = BS};
	struct bs_dev *d = NULL;
	bool mapped;
	FILE *f;
	int fd;

	(void)state;
	sf_clear();
	snprintf(path, sizeof(path), "%s/blk.img", dir);
	snprintf(rot, sizeof(rot), "%s/rotational", dir);
	fd = open(path, O_CREAT | O_RDWR, 0600);
	assert_int_equal(ftruncate(fd, 8 << 20), 0);
	close(fd);
	f = fopen(rot, "w");
	fputs("1\n", f);
	fclose(f);
	p.path = path;
	sf_fake_blk(path, 8 << 20, 512, makedev(250, 7));
	sf_redirect_from = "/sys/dev/block/250:7/";
	sf_redirect_to = rot;

	/* its capacity; rotational from /sys (a partition: its disk's) */
	sf_arm(SF_OPEN, (struct sf_rule){.times = 1,
					 .err = ENOENT,
					 .path = "/sys/dev/block/250:7/queue"});
	assert_int_equal(e->ops->disk_open(e, &p, &d), 0);
	assert_int_equal(d->size_bytes, 8 << 20);
	assert_true(d->rotational);
	assert_int_equal(sf_hits(SF_OPEN), 1);
	/* every run of a block device counts as mapped */
	assert_int_equal(d->ops->lba_status(d, 0, 16 * BS, &mapped), 16 * BS);
	assert_true(mapped);
	fill(w, sizeof(w), 11);
	assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, BS, sizeof(w), w), 0);
	assert_int_equal(io_sync(&c, d, BS_OP_READ, 0, BS, sizeof(r), r), 0);
	assert_memory_equal(r, w, sizeof(w));
	/* a large cached read by reference maps the device's capacity */
	{
		uint8_t *big = malloc(128 * 1024), *back = malloc(128 * 1024);
		struct io_req rq;

		fill(big, 128 * 1024, 16);
		assert_int_equal(
			io_sync(&c, d, BS_OP_WRITE, 0, 0, 128 * 1024, big), 0);
		io_submit(&c, d, &rq, BS_OP_READ, BS_F_MAY_REF, 0, 128 * 1024,
			  back);
		run_bounded(e);
		assert_true(rq.done);
		assert_int_equal(rq.status, 0);
		assert_non_null(rq.req.ref);
		assert_memory_equal(rq.req.ref->mem, big, 128 * 1024);
		rq.req.ref->release(rq.req.ref);
		free(big);
		free(back);
	}
	/* resize: within the device, past it, the device unreadable */
	assert_int_equal(bs_resize(d, 4 << 20), 0);
	assert_int_equal(d->size_bytes, 4 << 20);
	assert_int_equal(bs_resize(d, 16 << 20), -ENOSPC);
	sf_arm(SF_IOCTL,
	       (struct sf_rule){.times = 1, .err = EIO, .size = BLKGETSIZE64});
	assert_int_equal(bs_resize(d, 8 << 20), -EIO);
	assert_int_equal(d->size_bytes, 4 << 20);
	bs_close(d);

	/* refusals: sizes, block sizes, the device not answering */
	p.size_bytes = 16 << 20;
	assert_int_equal(e->ops->disk_open(e, &p, &d), -EINVAL);
	assert_true(sf_log_has("exceeds the 8388608 bytes of"));
	p.size_bytes = 0;
	sf_fake_blk(path, 8 << 20, 8192, makedev(250, 7));
	assert_int_equal(e->ops->disk_open(e, &p, &d), -EINVAL);
	assert_true(sf_log_has("block size 4096 is smaller than the logical "
			       "block size 8192"));
	sf_fake_blk(path, 8 << 20, 512, makedev(250, 7));
	sf_arm(SF_IOCTL,
	       (struct sf_rule){.times = 1, .err = ENOTTY, .size = BLKSSZGET});
	assert_int_equal(e->ops->disk_open(e, &p, &d), -ENOTTY);
	assert_true(sf_log_has("cannot query the block device"));
	/* no /sys entry at all: not rotational */
	sf_redirect_from = NULL;
	sf_fake_blk(path, 8 << 20, 512, makedev(250, 9999));
	assert_int_equal(e->ops->disk_open(e, &p, &d), 0);
	assert_false(d->rotational);
	bs_close(d);
	sf_clear();
	env_real_free(e);
	remove_tmpdir(dir);
}

/* fstat refused at open and at resize; SEEK_DATA and SEEK_HOLE that
 * cannot tell: mapped (what a thick LU reports). */
static void open_resize_and_provisioning_refused(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env(false, NULL);
	struct bs_dev_params p = {.kind = BS_FILE,
				  .name = "f",
				  .size_bytes = 1 << 20,
				  .block_size = BS,
				  .create = true,
				  .thin = true};
	struct bs_dev *d = NULL;
	char path[512];
	bool mapped;

	(void)state;
	sf_clear();
	snprintf(path, sizeof(path), "%s/f.img", dir);
	p.path = path;
	sf_arm(SF_FSTAT, (struct sf_rule){.times = 1, .err = EOVERFLOW});
	assert_int_equal(e->ops->disk_open(e, &p, &d), -EOVERFLOW);
	assert_null(d);
	assert_true(sf_log_has("f: "));
	assert_true(sf_log_has("Value too large for defined data type"));
	assert_int_equal(e->ops->disk_open(e, &p, &d), 0);
	sf_arm(SF_FSTAT, (struct sf_rule){.times = 1, .err = EIO});
	assert_int_equal(bs_resize(d, 2 << 20), -EIO);
	assert_int_equal(d->size_bytes, 1 << 20);
	/* a sparse file is all hole; SEEK_DATA failing otherwise than
	 * ENXIO says "mapped" */
	assert_int_equal(d->ops->lba_status(d, 0, 1 << 20, &mapped), 1 << 20);
	assert_false(mapped);
	sf_arm(SF_LSEEK, (struct sf_rule){.times = 1,
					  .err = EINVAL,
					  .size = SEEK_DATA + 1});
	assert_int_equal(d->ops->lba_status(d, 0, 1 << 20, &mapped), 1 << 20);
	assert_true(mapped);
	/* data at 0, SEEK_HOLE failing: one block mapped */
	{
		struct io_ctx c = {.e = e};
		uint8_t w[BS];

		fill(w, BS, 12);
		assert_int_equal(io_sync(&c, d, BS_OP_WRITE, 0, 0, BS, w), 0);
	}
	sf_arm(SF_LSEEK, (struct sf_rule){.times = 1,
					  .err = EINVAL,
					  .size = SEEK_HOLE + 1});
	assert_int_equal(d->ops->lba_status(d, 0, 1 << 20, &mapped), BS);
	assert_true(mapped);
	sf_clear();
	bs_close(d);
	env_real_free(e);
	remove_tmpdir(dir);
}

/*
 * Taking back at exit (backstore.h abandon; main.c take_back_io): the
 * loops have stopped and the sessions' tasks, which own the requests and
 * their buffers, are about to be freed.  A worker in a slow system call
 * (a hung file system, here preadv delayed on the worker's thread) is
 * waited for, the request is forgotten (never completed), and only then
 * may its memory go: make unit-asan checks that nothing reads the freed
 * buffer.  Past the deadline the request is counted instead, and a later
 * call waits again.
 */
/* After a take-back the store holds none of the requests: their memory is
 * the test's to free, before the store is closed (bs_close asserts that
 * nothing is in flight). */
static void dt_teardown_abandoned(struct dt *t, struct io_req *reqs,
				  uint8_t *buf)
{
	free(buf);
	free(reqs);
	bs_close(t->d);
	t->d = NULL;
	dt_teardown(t);
}

static void abandon_waits_for_a_worker_in_a_slow_call(void **state)
{
	struct io_req *r = malloc(sizeof(*r));
	uint8_t *buf = malloc(8 * BS);
	struct dt t;
	uint64_t t0;

	(void)state;
	dt_setup(&t, (struct env_real_opts){.disable_uring = true}, true);
	dt_pattern(&t, 0, 8 * BS, 13);
	sf_arm(SF_PREADV, (struct sf_rule){.times = 1,
					   .delay_us = 200000,
					   .other_thread = true});
	io_submit(&t.c, t.d, r, BS_OP_READ, 0, 0, 8 * BS, buf);
	usleep(20000); /* a worker takes it (a queued one is dropped) */
	t0 = env_now_ns(t.e);
	assert_int_equal(bs_abandon(t.d, t0 + MS(5000)), 0);
	assert_true(env_now_ns(t.e) - t0 >= MS(100)); /* it waited */
	assert_int_equal(sf_hits(SF_PREADV), 1);
	assert_false(r->done);
	dt_teardown_abandoned(&t, r, buf);
}

static void abandon_counts_a_request_stuck_past_the_deadline(void **state)
{
	struct io_req *r = malloc(sizeof(*r));
	uint8_t *buf = malloc(8 * BS);
	struct dt t;
	uint64_t t0;

	(void)state;
	dt_setup(&t,
		 (struct env_real_opts){.disable_uring = true,
					.inline_writes = ENV_REAL_INLINE_OFF},
		 true);
	sf_arm(SF_PWRITEV2, (struct sf_rule){.times = 1,
					     .delay_us = 400000,
					     .other_thread = true});
	fill(buf, 8 * BS, 3);
	io_submit(&t.c, t.d, r, BS_OP_WRITE, 0, 0, 8 * BS, buf);
	usleep(20000); /* a worker takes it */
	t0 = env_now_ns(t.e);
	assert_int_equal(bs_abandon(t.d, t0 + MS(30)), 1);
	assert_true(env_now_ns(t.e) - t0 < MS(300)); /* bounded */
	assert_true(sf_log_has("test: 1 requests still in the kernel's or "
			       "the disk threads' hands"));
	/* again: the worker's call ends meanwhile */
	assert_int_equal(bs_abandon(t.d, env_now_ns(t.e) + MS(5000)), 0);
	assert_false(r->done);
	dt_teardown_abandoned(&t, r, buf);
}

/* More requests than workers: the ones still queued never start. */
static void abandon_drops_what_the_workers_have_not_started(void **state)
{
	struct io_req *r = calloc(12, sizeof(*r));
	uint8_t *buf = malloc(12 * BS);
	struct dt t;

	(void)state;
	dt_setup(&t, (struct env_real_opts){.disable_uring = true}, true);
	dt_pattern(&t, 0, 12 * BS, 5);
	sf_arm(SF_PREADV, (struct sf_rule){.times = -1,
					   .delay_us = 100000,
					   .other_thread = true});
	for (int i = 0; i < 12; i++)
		io_submit(&t.c, t.d, &r[i], BS_OP_READ, 0, (uint64_t)i * BS, BS,
			  buf + i * BS);
	usleep(20000); /* the workers take theirs */
	assert_int_equal(bs_abandon(t.d, env_now_ns(t.e) + MS(5000)), 0);
	/* one per worker thread (ER_POOL_THREADS), the rest never ran */
	assert_int_equal(sf_calls(SF_PREADV), 4);
	for (int i = 0; i < 12; i++)
		assert_false(r[i].done);
	dt_teardown_abandoned(&t, r, buf);
}

/* io_uring: requests the kernel holds (here behind the test's stall, a
 * linked timeout: UTARGET_TEST_DISK_STALL_MS) are cancelled, not waited
 * for: the take-back returns long before the stall would end. */
static void abandon_cancels_what_io_uring_holds(void **state)
{
	struct io_req *r = malloc(sizeof(*r));
	uint8_t *buf = malloc(8 * BS);
	struct dt t;
	uint64_t t0;

	(void)state;
	setenv("UTARGET_TEST_DISK_STALL_MS", "3000", 1);
	dt_setup(&t, (struct env_real_opts){.log_level = UT_LOG_INFO}, true);
	unsetenv("UTARGET_TEST_DISK_STALL_MS");
	if (!sf_log_has("disk I/O: io_uring")) {
		/* no io_uring here: the pool's stall would be waited for */
		dt_teardown_abandoned(&t, r, buf);
		skip();
	}
	fill(buf, 8 * BS, 4);
	io_submit(&t.c, t.d, r, BS_OP_WRITE, 0, 0, 8 * BS, buf);
	run_for_ms(t.e, 30); /* submitted to the kernel */
	assert_false(r->done);
	t0 = env_now_ns(t.e);
	assert_int_equal(bs_abandon(t.d, t0 + MS(10000)), 0);
	assert_true(env_now_ns(t.e) - t0 < MS(2000));
	assert_false(r->done);
	dt_teardown_abandoned(&t, r, buf);
}

/* ---------------------------------------------------------- zero copy */

static int read_ref(struct dt *t, uint64_t off, uint64_t len,
		    struct bs_ref **ref)
{
	struct io_req r;

	io_submit(&t->c, t->d, &r, BS_OP_READ, BS_F_MAY_REF, off, len, t->r);
	run_bounded(t->e);
	assert_true(r.done);
	*ref = r.req.ref;
	return r.status;
}

/* No mapping (mmap refused, the file's size unknown), no cachestat
 * (ENOSYS: never asked again; another error: this read only), no memory
 * for the reference: the read copies, the bytes right. */
static void zero_copy_without_mapping_or_cachestat_copies(void **state)
{
	const uint64_t len = 128 * 1024;
	struct bs_ref *ref;
	struct dt t;

	(void)state;
	for (int k = 0; k < 2; k++) {
		dt_setup(&t, (struct env_real_opts){.log_level = UT_LOG_INFO},
			 false);
		dt_pattern(&t, 0, len, 14);
		if (k == 0)
			sf_arm(SF_MMAP,
			       (struct sf_rule){.times = 1, .err = ENOMEM});
		else
			sf_arm(SF_FSTAT,
			       (struct sf_rule){.times = 1, .err = EIO});
		memset(t.r, 0, DT_BUF);
		assert_int_equal(read_ref(&t, 0, len, &ref), 0);
		assert_null(ref);
		assert_memory_equal(t.r, t.w, len);
		assert_true(
			sf_log_has(k == 0 ? "no mapping for zero-copy reads "
					    "(Cannot allocate memory): "
					    "reads copy"
					  : "(empty file): reads copy"));
		/* not tried again */
		sf_arm(SF_MMAP, (struct sf_rule){.times = 0});
		assert_int_equal(read_ref(&t, 0, len, &ref), 0);
		assert_null(ref);
		assert_int_equal(sf_calls(SF_MMAP), 0);
		dt_teardown(&t);
	}

	dt_setup(&t, (struct env_real_opts){0}, false);
	dt_pattern(&t, 0, len, 15);
	sf_arm(SF_SYSCALL,
	       (struct sf_rule){.times = 1, .err = EINVAL, .size = 451});
	assert_int_equal(read_ref(&t, 0, len, &ref), 0);
	assert_null(ref);
	assert_memory_equal(t.r, t.w, len);
	assert_int_equal(sf_calls(SF_SYSCALL), 1);
	assert_int_equal(read_ref(&t, 0, len, &ref), 0);
	assert_non_null(ref); /* EINVAL was for that read only */
	ref->release(ref);
	/* no memory for the reference */
	sf_arm(SF_MALLOC, (struct sf_rule){.times = 1});
	memset(t.r, 0, DT_BUF);
	assert_int_equal(read_ref(&t, 0, len, &ref), 0);
	assert_int_equal(sf_hits(SF_MALLOC), 1);
	assert_null(ref);
	assert_memory_equal(t.r, t.w, len);
	sf_arm(SF_SYSCALL,
	       (struct sf_rule){.times = 1, .err = ENOSYS, .size = 451});
	assert_int_equal(read_ref(&t, 0, len, &ref), 0);
	assert_null(ref);
	assert_int_equal(read_ref(&t, 0, len, &ref), 0);
	assert_null(ref);
	assert_int_equal(sf_calls(SF_SYSCALL), 1); /* off for good */
	dt_teardown(&t);
}

/* A file shorter than the LU: reads past its end are not mapped (they
 * read as zeros through the copying path). */
static void zero_copy_past_the_end_of_a_short_file_copies(void **state)
{
	const uint64_t len = 128 * 1024;
	char *dir = make_tmpdir();
	struct env *e = new_env(false, NULL);
	struct dt t = {.e = e, .dir = dir};
	struct bs_ref *ref;
	int fd;

	(void)state;
	sf_clear();
	snprintf(t.path, sizeof(t.path), "%s/short.img", dir);
	fd = open(t.path, O_CREAT | O_RDWR, 0600);
	assert_int_equal(ftruncate(fd, 256 * 1024), 0);
	close(fd);
	t.c = (struct io_ctx){.e = e};
	t.d = open_file(e, t.path, 1 << 20, false, false, true);
	t.w = malloc(DT_BUF);
	t.r = malloc(DT_BUF);
	t.fds = -1;
	memset(t.r, 0xee, DT_BUF);
	assert_int_equal(read_ref(&t, 512 * 1024, len, &ref), 0);
	assert_null(ref);
	assert_true(all_zero(t.r, len));
	bs_close(t.d);
	env_real_free(e);
	remove_tmpdir(dir);
	free(t.w);
	free(t.r);
}

/* -------------------------------------------------------------- state */

static ssize_t st_get(struct env *e, const char *key, char *buf, size_t cap)
{
	memset(buf, 0, cap);
	return e->ops->state_get(e, key, buf, cap);
}

/* A put that fails anywhere (the temporary file, its write, its fsync,
 * the rename, the directory's fsync) says so, leaves the old value and
 * no temporary file; interrupted or short writes complete. */
static void state_put_failures_keep_the_old_value(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env(true, dir);
	char buf[64], tmp[600];
	struct {
		enum sf_call call;
		struct sf_rule rule;
		int rc;
	} cases[] = {
		{SF_OPENAT, {.times = 1, .err = EACCES}, -EACCES},
		{SF_WRITE, {.times = 1, .err = ENOSPC, .size = 3}, -ENOSPC},
		{SF_WRITE,
		 {.times = 1, .use_ret = true, .ret = 0, .size = 3},
		 -EIO},
		{SF_FSYNC, {.times = 1, .err = EIO}, -EIO},
		{SF_RENAMEAT, {.times = 1, .err = EXDEV}, -EXDEV},
		{SF_OPEN, {.times = 1, .err = EMFILE}, -EMFILE},
	};

	(void)state;
	sf_clear();
	assert_int_equal(e->ops->state_put(e, "pr-lu0", "old", 3), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sf_arm(cases[i].call, cases[i].rule);
		assert_int_equal(e->ops->state_put(e, "pr-lu0", "new", 3),
				 cases[i].rc);
		sf_disarm(cases[i].call);
		assert_int_equal(st_get(e, "pr-lu0", buf, sizeof(buf)), 3);
		assert_string_equal(buf, "old");
		snprintf(tmp, sizeof(tmp), "%s/.pr-lu0.tmp", dir);
		assert_int_equal(access(tmp, F_OK), -1);
		if (cases[i].call != SF_OPEN)
			assert_true(sf_log_has("cannot store state "));
		else
			assert_true(sf_log_has("state directory "));
	}
	/* the directory's fsync fails after the rename: the value is in
	 * place, the caller told it may not last */
	sf_arm(SF_FSYNC, (struct sf_rule){.skip = 1, .times = 1, .err = EIO});
	assert_int_equal(e->ops->state_put(e, "pr-lu0", "new", 3), -EIO);
	sf_clear();
	assert_int_equal(st_get(e, "pr-lu0", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "new");
	/* interrupted, then short: all of it lands */
	sf_arm(SF_WRITE, (struct sf_rule){.times = 1, .err = EINTR, .size = 6});
	assert_int_equal(e->ops->state_put(e, "pr-lu0", "newest", 6), 0);
	sf_arm(SF_WRITE, (struct sf_rule){.times = 1, .cap = 2, .size = 5});
	assert_int_equal(e->ops->state_put(e, "pr-lu1", "other", 5), 0);
	sf_clear();
	assert_int_equal(st_get(e, "pr-lu0", buf, sizeof(buf)), 6);
	assert_string_equal(buf, "newest");
	assert_int_equal(st_get(e, "pr-lu1", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "other");
	/* too large, bad keys */
	assert_int_equal(e->ops->state_put(e, "big", buf, (4u << 20) + 1),
			 -EFBIG);
	assert_int_equal(e->ops->state_put(e, "../x", "v", 1), -EINVAL);
	assert_true(sf_log_has("state key \"../x\" rejected"));
	env_real_free(e);
	remove_tmpdir(dir);
}

/* A get that fails (fstat, read) says so; interrupted reads complete;
 * a key that is no regular file, or larger than the room, is refused
 * whole; a missing key is not an error worth a log line. */
static void state_get_failures(void **state)
{
	char *dir = make_tmpdir();
	struct env *e = new_env(true, dir);
	char buf[64], sub[600];

	(void)state;
	sf_clear();
	assert_int_equal(e->ops->state_put(e, "k", "value", 5), 0);
	sf_arm(SF_FSTAT, (struct sf_rule){.times = 1, .err = EIO});
	assert_int_equal(st_get(e, "k", buf, sizeof(buf)), -EIO);
	assert_true(sf_log_has("cannot read state "));
	sf_arm(SF_READ, (struct sf_rule){.times = 1, .err = EIO});
	assert_int_equal(st_get(e, "k", buf, sizeof(buf)), -EIO);
	sf_arm(SF_READ, (struct sf_rule){.times = 1, .err = EINTR});
	assert_int_equal(st_get(e, "k", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "value");
	sf_arm(SF_READ, (struct sf_rule){.times = 1, .cap = 2});
	assert_int_equal(st_get(e, "k", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "value");
	sf_clear();
	assert_int_equal(st_get(e, "k", buf, 4), -EOVERFLOW);
	snprintf(sub, sizeof(sub), "%s/adir", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(st_get(e, "adir", buf, sizeof(buf)), -EINVAL);
	sf_clear();
	assert_int_equal(st_get(e, "missing", buf, sizeof(buf)), -ENOENT);
	assert_false(sf_log_has("missing"));
	env_real_free(e);
	remove_tmpdir(dir);
}

/* Requests no file can carry out, refused with EINVAL and still
 * asynchronously; an empty read completes at once; statistics of an
 * environment that never opened a disk are zeros. */
static void requests_the_file_backstore_refuses(void **state)
{
	struct env_real_disk_stats st = {.inline_writes = 7};
	struct env *bare = new_env(true, NULL);
	struct io_req r;
	struct dt t;

	(void)state;
	env_real_disk_stats(bare, &st);
	assert_int_equal(st.inline_writes + st.engine_writes +
				 st.zero_copy_reads + st.inline_slow,
			 0);
	env_real_free(bare);
	dt_setup(&t, (struct env_real_opts){0}, true);
	dt_pattern(&t, 0, 2 * BS, 17);
	assert_int_equal(dt_io(&t, BS_OP_WRITE_SAME, 0, 0, BS, t.w), -EINVAL);
	assert_int_equal(dt_io(&t, BS_OP_COMPARE_AND_WRITE, 0, 0, BS, t.w),
			 -EINVAL);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, BS + 512, t.r), -EINVAL);
	/* the buffer shorter than the request */
	memset(&r, 0, sizeof(r));
	r.ctx = &t.c;
	r.req.op = BS_OP_READ;
	r.req.offset_bytes = 0;
	r.req.length_bytes = 2 * BS;
	r.req.done = io_done;
	r.iov[0].iov_base = t.r;
	r.iov[0].iov_len = BS;
	r.req.iov = r.iov;
	r.req.iovcnt = 1;
	t.c.pending++;
	t.d->ops->submit(t.d, &r.req);
	assert_false(r.done);
	run_bounded(t.e);
	assert_int_equal(r.status, -EINVAL);
	/* nothing to read: done, no I/O */
	sf_arm(SF_URING_SQE, (struct sf_rule){0});
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 0, t.r), 0);
	assert_int_equal(sf_calls(SF_URING_SQE), 0);
	dt_teardown(&t);
}

/* Where RWF_NOWAIT would block (EAGAIN), the file takes non-blocking
 * writes: this write goes to io_uring, which tries RWF_NOWAIT itself,
 * and so do the next without a probe. */
static void
nowait_probe_that_would_block_leaves_writes_to_io_uring(void **state)
{
	struct env_real_disk_stats st;
	struct dt t;

	(void)state;
	dt_setup(&t, (struct env_real_opts){0}, true);
	fill(t.w, 8 * BS, 18);
	sf_arm(SF_PWRITEV2, (struct sf_rule){.times = 1,
					     .err = EAGAIN,
					     .size = RWF_NOWAIT + 1});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 8 * BS, t.w), 0);
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 8 * BS, 8 * BS, t.w), 0);
	assert_int_equal(sf_calls(SF_PWRITEV2), 1);
	env_real_disk_stats(t.e, &st);
	assert_int_equal(st.engine_writes, 2);
	assert_int_equal(st.inline_writes, 0);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 8 * BS, 8 * BS, t.r), 0);
	assert_memory_equal(t.r, t.w, 8 * BS);
	dt_teardown(&t);
}

/* The io_uring eventfd is watched edge-triggered and never read
 * (disk_engine.c, er_uring_event): each signal wakes the loop again
 * whatever its counter holds.  Any read of it fails here, and none
 * happens; the completions are reaped all the same, those of io-wq
 * workers (buffered writes, --inline-writes off) included, which signal
 * it from another thread. */
static int last_eventfd(void)
{
	char link[64], target[128];
	int last = -1;

	for (int fd = 3; fd < 1024; fd++) {
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "eventfd"))
			last = fd;
	}
	return last;
}

static void uring_eventfd_is_never_read_and_completions_still_reap(void **state)
{
	struct dt t;
	int efd;

	(void)state;
	dt_setup(&t,
		 (struct env_real_opts){.inline_writes = ENV_REAL_INLINE_OFF,
					.no_inline_reads = true},
		 true);
	dt_pattern(&t, 0, 8 * BS, 19);
	efd = last_eventfd();
	assert_true(efd >= 0);
	sf_arm(SF_READ,
	       (struct sf_rule){
		       .times = 1000, .err = EIO, .match_fd = true, .fd = efd});
	for (uint8_t round = 0; round < 8; round++) {
		dt_pattern(&t, round * 8 * BS, 8 * BS, (uint8_t)(20 + round));
		memset(t.r, 0, DT_BUF);
		assert_int_equal(dt_io(&t, BS_OP_READ, 0, round * 8 * BS,
				       8 * BS, t.r),
				 0);
		assert_memory_equal(t.r, t.w, 8 * BS);
	}
	assert_int_equal(sf_hits(SF_READ), 0);
	dt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(block_device_capacity_and_resize),
		cmocka_unit_test(open_resize_and_provisioning_refused),
		cmocka_unit_test(abandon_waits_for_a_worker_in_a_slow_call),
		cmocka_unit_test(
			abandon_counts_a_request_stuck_past_the_deadline),
		cmocka_unit_test(
			abandon_drops_what_the_workers_have_not_started),
		cmocka_unit_test(abandon_cancels_what_io_uring_holds),
		cmocka_unit_test(zero_copy_without_mapping_or_cachestat_copies),
		cmocka_unit_test(zero_copy_past_the_end_of_a_short_file_copies),
		cmocka_unit_test(state_put_failures_keep_the_old_value),
		cmocka_unit_test(state_get_failures),
		cmocka_unit_test(requests_the_file_backstore_refuses),
		cmocka_unit_test(
			uring_eventfd_is_never_read_and_completions_still_reap),
		cmocka_unit_test(
			nowait_probe_that_would_block_leaves_writes_to_io_uring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
