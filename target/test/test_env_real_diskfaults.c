/*
 * test_env_real_diskfaults.c — the file backstore and the state files
 * when the system says no (env_real_faults.h): reads, writes, flushes and
 * deallocations failing, interrupted or short, through the thread pool,
 * through io_uring and on the reactor; an engine that cannot start;
 * opens, block devices, resizes and provisioning queries refused;
 * zero-copy reads without a mapping; durable state that cannot be
 * written or read.
 *
 * Each test checks the status the request completes with (the errno the
 * SCSI layer turns into sense: -EIO into MEDIUM ERROR), the bytes on
 * disk, what is retried, descriptors left (none) and the log lines.
 */
#include "diskfaults_rig.h"

/* ------------------------------------------------------ thread pool */

/* The worker threads' reads, writes, flushes and deallocations failing,
 * interrupted and short. */
static void pool_errors_reach_the_request(void **state)
{
	struct dt t;
	unsigned int n;

	(void)state;
	dt_setup(&t,
		 (struct env_real_opts){.disable_uring = true,
					.inline_writes = ENV_REAL_INLINE_OFF},
		 true);
	dt_pattern(&t, 0, 64 * 1024, 1);
	/* EIO: the request fails with it (MEDIUM ERROR further up) */
	sf_arm(SF_PREADV, (struct sf_rule){.times = 1, .err = EIO});
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), -EIO);
	/* interrupted or "again": issued again, the data whole */
	sf_arm(SF_PREADV, (struct sf_rule){.times = 1, .err = EINTR});
	memset(t.r, 0, DT_BUF);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), 0);
	assert_memory_equal(t.r, t.w, 64 * 1024);
	assert_int_equal(sf_calls(SF_PREADV), 2);
	sf_arm(SF_PREADV, (struct sf_rule){.times = 1, .err = EAGAIN});
	memset(t.r, 0, DT_BUF);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), 0);
	assert_memory_equal(t.r, t.w, 64 * 1024);
	/* short: the remainder is read */
	sf_arm(SF_PREADV, (struct sf_rule){.times = 2, .cap = 5000});
	memset(t.r, 0, DT_BUF);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), 0);
	assert_memory_equal(t.r, t.w, 64 * 1024);
	assert_int_equal(sf_calls(SF_PREADV), 3);
	/* writes: failing, short, or moving nothing at all (EIO) */
	fill(t.w, 64 * 1024, 2);
	sf_arm(SF_PWRITEV2, (struct sf_rule){.times = 1, .err = ENOSPC});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 64 * 1024, t.w), -ENOSPC);
	sf_arm(SF_PWRITEV2, (struct sf_rule){.times = 1, .cap = 4096});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 64 * 1024, t.w), 0);
	assert_int_equal(sf_calls(SF_PWRITEV2), 2);
	sf_disarm(SF_PWRITEV2);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), 0);
	assert_memory_equal(t.r, t.w, 64 * 1024);
	sf_arm(SF_PWRITEV2,
	       (struct sf_rule){.times = 1, .use_ret = true, .ret = 0});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 64 * 1024, t.w), -EIO);
	/* a flush that fails (and every later one: the next test) */
	sf_arm(SF_FDATASYNC, (struct sf_rule){.times = 1, .err = EIO});
	assert_int_equal(dt_io(&t, BS_OP_FLUSH, 0, 0, 0, NULL), -EIO);
	sf_disarm(SF_FDATASYNC);
	/* a deallocation the filesystem cannot do: zeros written instead,
	 * and from then on at once (no punch hole tried again) */
	sf_arm(SF_FALLOCATE, (struct sf_rule){.times = 1, .err = EOPNOTSUPP});
	assert_int_equal(dt_io(&t, BS_OP_UNMAP, 0, 0, 64 * 1024, NULL), 0);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), 0);
	assert_true(all_zero(t.r, 64 * 1024));
	n = sf_calls(SF_FALLOCATE);
	dt_pattern(&t, 0, 64 * 1024, 3);
	assert_int_equal(dt_io(&t, BS_OP_UNMAP, 0, 0, 64 * 1024, NULL), 0);
	assert_int_equal(sf_calls(SF_FALLOCATE), n);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), 0);
	assert_true(all_zero(t.r, 64 * 1024));
	/* zero writes failing: the request fails */
	sf_arm(SF_PWRITEV, (struct sf_rule){.times = 1, .err = EIO});
	assert_int_equal(dt_io(&t, BS_OP_UNMAP, 0, 0, 64 * 1024, NULL), -EIO);
	dt_teardown(&t);

	/* thick: zero range refused (EINVAL, ENODEV) the same way; other
	 * errors fail the request */
	dt_setup(&t, (struct env_real_opts){.disable_uring = true}, false);
	dt_pattern(&t, 0, 64 * 1024, 4);
	sf_arm(SF_FALLOCATE, (struct sf_rule){.times = 1, .err = ENOSPC});
	assert_int_equal(dt_io(&t, BS_OP_WRITE_ZEROES, 0, 0, 64 * 1024, NULL),
			 -ENOSPC);
	sf_arm(SF_FALLOCATE, (struct sf_rule){.times = 1, .err = ENODEV});
	assert_int_equal(dt_io(&t, BS_OP_WRITE_ZEROES, 0, 0, 64 * 1024, NULL),
			 0);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), 0);
	assert_true(all_zero(t.r, 64 * 1024));
	n = sf_calls(SF_FALLOCATE);
	assert_int_equal(dt_io(&t, BS_OP_WRITE_ZEROES, 0, 0, 64 * 1024, NULL),
			 0);
	assert_int_equal(sf_calls(SF_FALLOCATE), n);
	dt_teardown(&t);
}

/* One flush of a file that failed.  Linux reports a writeback error to
 * one fdatasync and then marks the pages clean (data gone, the next
 * fdatasync says 0), so SBC-4 §5.24's promise of a later SYNCHRONIZE
 * CACHE, every completed write on the medium, cannot be kept: every later
 * FLUSH must fail too.  Before, the next one answered 0 (GOOD). */
static void flush_after_a_failed_one(struct dt *t, enum sf_call call,
				     struct sf_rule rule)
{
	sf_arm(call, rule);
	assert_int_equal(dt_io(t, BS_OP_FLUSH, 0, 0, 0, NULL), -EIO);
	sf_disarm(call);
	if (dt_io(t, BS_OP_FLUSH, 0, 0, 0, NULL) != -EIO)
		fail_msg("a flush after a failed one answered success: SBC-4 "
			 "SYNCHRONIZE CACHE would claim writes the kernel "
			 "dropped durable");
	/* the disk still serves; FUA changes are durable on their own */
	dt_pattern(t, 0, 64 * 1024, 11);
	assert_int_equal(dt_io(t, BS_OP_WRITE, BS_F_FUA, 0, 64 * 1024, t->w),
			 0);
	assert_int_equal(dt_io(t, BS_OP_UNMAP, BS_F_FUA, 0, 64 * 1024, NULL),
			 0);
	assert_int_equal(dt_io(t, BS_OP_FLUSH, 0, 0, 0, NULL), -EIO);
	assert_true(sf_log_has("every later SYNCHRONIZE CACHE fails"));
}

static void a_failed_sync_fails_every_later_flush(void **state)
{
	struct env_real_opts pool = {.disable_uring = true,
				     .inline_writes = ENV_REAL_INLINE_OFF};
	struct dt t;

	(void)state;
	/* fdatasync failing: EIO, and ENOSPC (a thin device's writeback) */
	dt_setup(&t, pool, true);
	flush_after_a_failed_one(&t, SF_FDATASYNC,
				 (struct sf_rule){.times = 1, .err = EIO});
	dt_teardown(&t);
	dt_setup(&t, pool, true);
	sf_arm(SF_FDATASYNC, (struct sf_rule){.times = 1, .err = ENOSPC});
	assert_int_equal(dt_io(&t, BS_OP_FLUSH, 0, 0, 0, NULL), -ENOSPC);
	sf_disarm(SF_FDATASYNC);
	assert_int_equal(dt_io(&t, BS_OP_FLUSH, 0, 0, 0, NULL), -ENOSPC);
	dt_teardown(&t);
	/* the RWF_DSYNC of a FUA write took the writeback error: EIO is
	 * kept, ENOSPC (the write's own blocks) is not */
	dt_setup(&t, pool, true);
	fill(t.w, 64 * 1024, 12);
	sf_arm(SF_PWRITEV2, (struct sf_rule){.times = 1, .err = ENOSPC});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, BS_F_FUA, 0, 64 * 1024, t.w),
			 -ENOSPC);
	assert_int_equal(dt_io(&t, BS_OP_FLUSH, 0, 0, 0, NULL), 0);
	sf_arm(SF_PWRITEV2, (struct sf_rule){.times = 1, .err = EIO});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, BS_F_FUA, 0, 64 * 1024, t.w),
			 -EIO);
	sf_disarm(SF_PWRITEV2);
	assert_int_equal(dt_io(&t, BS_OP_FLUSH, 0, 0, 0, NULL), -EIO);
	dt_teardown(&t);
	/* the flush after a FUA deallocation */
	dt_setup(&t, pool, true);
	sf_arm(SF_FDATASYNC, (struct sf_rule){.times = 1, .err = EIO});
	assert_int_equal(dt_io(&t, BS_OP_UNMAP, BS_F_FUA, 0, 64 * 1024, NULL),
			 -EIO);
	sf_disarm(SF_FDATASYNC);
	assert_int_equal(dt_io(&t, BS_OP_FLUSH, 0, 0, 0, NULL), -EIO);
	dt_teardown(&t);
	/* opened again: a new start */
	dt_setup(&t, pool, true);
	assert_int_equal(dt_io(&t, BS_OP_FLUSH, 0, 0, 0, NULL), 0);
	dt_teardown(&t);
	/* io_uring's fsync */
	if (!sf_uring_inject_works())
		return; /* Linux before 6.10: no NOP with a result */
	dt_setup(&t,
		 (struct env_real_opts){.inline_writes = ENV_REAL_INLINE_OFF,
					.no_inline_reads = true},
		 true);
	flush_after_a_failed_one(
		&t, SF_URING_SQE,
		(struct sf_rule){
			.times = 1, .err = EIO, .opcode = IORING_OP_FSYNC + 1});
	dt_teardown(&t);
}

/* The engine cannot start: no eventfd, no worker thread, epoll refuses
 * its eventfd, no memory: the open fails, logged; a partial pool (one
 * thread of four) serves. */
static void engine_start_failures(void **state)
{
	const struct {
		bool uring;
		enum sf_call call;
		struct sf_rule rule;
	} cases[] = {
		{true, SF_EVENTFD, {.times = 1, .err = EMFILE}},
		{false, SF_PTHREAD_CREATE, {.times = -1, .err = EAGAIN}},
		{true, SF_EPOLL_CTL, {.times = 1, .err = ENOMEM}},
		{false, SF_EPOLL_CTL, {.times = 1, .err = ENOMEM}},
		{true, SF_CALLOC, {.times = 1}},	    /* the engine */
		{true, SF_CALLOC, {.skip = 1, .times = 1}}, /* its zeros */
		{true, SF_CALLOC, {.skip = 2, .times = 1}}, /* the file */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *dir = make_tmpdir();
		struct env *e = new_env(!cases[i].uring, NULL);
		struct bs_dev_params p = {.kind = BS_FILE,
					  .name = "eng",
					  .size_bytes = 1 << 20,
					  .block_size = BS,
					  .create = true};
		struct bs_dev *d = (void *)1;
		char path[512];
		int fds;

		snprintf(path, sizeof(path), "%s/e.img", dir);
		p.path = path;
		sf_clear();
		fds = sf_open_fds();
		sf_arm(cases[i].call, cases[i].rule);
		assert_int_equal(e->ops->disk_open(e, &p, &d), -ENOMEM);
		assert_true(sf_hits(cases[i].call) >= 1);
		sf_disarm(cases[i].call);
		assert_null(d);
		/* the last case fails after the engine started: it stays */
		if (i + 1 < sizeof(cases) / sizeof(cases[0]))
			assert_int_equal(sf_open_fds(), fds);
		if (!sf_log_has("eng: cannot start disk I/O for"))
			fail_msg("case %zu: not logged", i);
		/* it opens once the system agrees */
		assert_int_equal(e->ops->disk_open(e, &p, &d), 0);
		bs_close(d);
		env_real_free(e);
		remove_tmpdir(dir);
	}
	/* one worker thread of four */
	{
		struct dt t;

		sf_clear();
		sf_arm(SF_PTHREAD_CREATE,
		       (struct sf_rule){.skip = 1, .times = -1, .err = EAGAIN});
		dt_setup_armed(&t,
			       (struct env_real_opts){.disable_uring = true},
			       true);
		/* the first refusal ends the start: one thread serves */
		assert_int_equal(sf_calls(SF_PTHREAD_CREATE), 2);
		sf_disarm(SF_PTHREAD_CREATE);
		dt_pattern(&t, BS, 8 * BS, 5);
		assert_int_equal(dt_io(&t, BS_OP_READ, 0, BS, 8 * BS, t.r), 0);
		assert_memory_equal(t.r, t.w, 8 * BS);
		dt_teardown(&t);
	}
}

/* io_uring refused (its set-up, or its eventfd): the thread pool
 * instead, logged with the reason. */
static void uring_refused_falls_back_to_threads(void **state)
{
	const struct {
		enum sf_call call;
		const char *why;
	} cases[] = {
		{SF_URING_INIT, "(io_uring Operation not permitted)"},
		{SF_URING_REGISTER_EVENTFD,
		 "(io_uring Operation not permitted)"},
	};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct dt t;

		sf_clear();
		sf_arm(cases[i].call,
		       (struct sf_rule){.times = 1, .err = EPERM});
		dt_setup_armed(&t,
			       (struct env_real_opts){.log_level = UT_LOG_INFO},
			       true);
		assert_true(sf_log_has(cases[i].why));
		dt_pattern(&t, 0, 8 * BS, 6);
		assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 8 * BS, t.r), 0);
		assert_memory_equal(t.r, t.w, 8 * BS);
		dt_teardown(&t);
	}
}

/* ---------------------------------------------------------- io_uring */

/* The kernel's completions failing, interrupted, short: through the
 * same result handling as the pool's. */
static void uring_errors_reach_the_request(void **state)
{
	struct dt t;
	unsigned int n;

	(void)state;
	if (!sf_uring_inject_works())
		skip(); /* Linux before 6.10: no NOP with a result */
	dt_setup(&t,
		 (struct env_real_opts){.inline_writes = ENV_REAL_INLINE_OFF,
					.no_inline_reads = true},
		 true);
	dt_pattern(&t, 0, 64 * 1024, 7);
	sf_arm(SF_URING_SQE, (struct sf_rule){.times = 1,
					      .err = EIO,
					      .opcode = IORING_OP_READV + 1});
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), -EIO);
	sf_arm(SF_URING_SQE, (struct sf_rule){.times = 1,
					      .err = EAGAIN,
					      .opcode = IORING_OP_READV + 1});
	memset(t.r, 0, DT_BUF);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), 0);
	assert_memory_equal(t.r, t.w, 64 * 1024);
	assert_int_equal(sf_calls(SF_URING_SQE), 2);
	sf_arm(SF_URING_SQE, (struct sf_rule){.times = 1,
					      .err = EINTR,
					      .opcode = IORING_OP_READV + 1});
	memset(t.r, 0, DT_BUF);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), 0);
	assert_memory_equal(t.r, t.w, 64 * 1024);
	/* short read, then the rest */
	sf_arm(SF_URING_SQE, (struct sf_rule){.times = 1,
					      .cap = 3 * BS + 100,
					      .opcode = IORING_OP_READV + 1});
	memset(t.r, 0, DT_BUF);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), 0);
	assert_memory_equal(t.r, t.w, 64 * 1024);
	assert_int_equal(sf_calls(SF_URING_SQE), 2);
	/* short write, then the rest */
	fill(t.w, 64 * 1024, 8);
	sf_arm(SF_URING_SQE, (struct sf_rule){.times = 1,
					      .cap = BS,
					      .opcode = IORING_OP_WRITEV + 1});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 64 * 1024, t.w), 0);
	sf_disarm(SF_URING_SQE);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), 0);
	assert_memory_equal(t.r, t.w, 64 * 1024);
	/* a write that moves nothing: EIO */
	sf_arm(SF_URING_SQE, (struct sf_rule){.times = 1,
					      .use_ret = true,
					      .ret = 0,
					      .opcode = IORING_OP_WRITEV + 1});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 64 * 1024, t.w), -EIO);
	sf_arm(SF_URING_SQE, (struct sf_rule){.times = 1,
					      .err = EIO,
					      .opcode = IORING_OP_FSYNC + 1});
	assert_int_equal(dt_io(&t, BS_OP_FLUSH, 0, 0, 0, NULL), -EIO);
	/* no punch hole here: zeros written, and from then on at once */
	sf_arm(SF_URING_SQE,
	       (struct sf_rule){.times = 1,
				.err = EOPNOTSUPP,
				.opcode = IORING_OP_FALLOCATE + 1});
	assert_int_equal(dt_io(&t, BS_OP_UNMAP, 0, 0, 64 * 1024, NULL), 0);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 64 * 1024, t.r), 0);
	assert_true(all_zero(t.r, 64 * 1024));
	n = sf_calls(SF_URING_SQE);
	assert_int_equal(dt_io(&t, BS_OP_UNMAP, 0, 0, 64 * 1024, NULL), 0);
	assert_int_equal(sf_calls(SF_URING_SQE), n);
	sf_disarm(SF_URING_SQE);
	dt_teardown(&t);
}

/* io_uring_submit refused (the kernel busy): logged, and the requests
 * left in the ring go at the next submission without waiting for an
 * unrelated wake-up. */
static void uring_submit_refused_is_retried(void **state)
{
	struct dt t;
	uint64_t t0;

	(void)state;
	dt_setup(&t, (struct env_real_opts){.no_inline_reads = true}, true);
	dt_pattern(&t, 0, 8 * BS, 9);
	t0 = env_now_ns(t.e);
	/* three refusals in a row: more than the one stale wake-up a
	 * finished run leaves behind could hide */
	sf_arm(SF_URING_SUBMIT, (struct sf_rule){.times = 3, .err = EBUSY});
	memset(t.r, 0, DT_BUF);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 8 * BS, t.r), 0);
	assert_memory_equal(t.r, t.w, 8 * BS);
	assert_int_equal(sf_hits(SF_URING_SUBMIT), 3);
	assert_true(env_now_ns(t.e) - t0 < MS(1000));
	/* logged once for the episode */
	{
		const char *l = "io_uring_submit: Device or resource busy; "
				"retrying";
		const char *p = strstr(sf_logbuf, l);

		assert_non_null(p);
		assert_null(strstr(p + 1, l));
	}
	dt_teardown(&t);
}

/* ------------------------------------------------ writes on the reactor */

/* Where the filesystem takes no RWF_NOWAIT (EOPNOTSUPP): logged once,
 * writes on the reactor; a probe that fails otherwise leaves the write
 * to the engine; an inline write failing fails the request, interrupted
 * goes to the engine; a slow one sends the next writes to the engine. */
static void writes_on_the_reactor_when_the_system_says_no(void **state)
{
	struct env_real_disk_stats st;
	struct dt t;

	(void)state;
	dt_setup(&t,
		 (struct env_real_opts){.log_level = UT_LOG_INFO,
					.inline_slow_ns = MS(200)},
		 true);
	fill(t.w, 8 * BS, 10);
	/* probe: some other error: the engine does this write, and the
	 * next write probes again */
	sf_arm(SF_PWRITEV2, (struct sf_rule){.times = 1,
					     .err = EIO,
					     .size = RWF_NOWAIT + 1});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 8 * BS, t.w), 0);
	env_real_disk_stats(t.e, &st);
	assert_int_equal(st.engine_writes, 1);
	/* probe: not supported here: on the reactor from now on */
	sf_clear();
	sf_arm(SF_PWRITEV2, (struct sf_rule){.times = -1,
					     .err = EOPNOTSUPP,
					     .size = RWF_NOWAIT + 1});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 8 * BS, t.w), 0);
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 8 * BS, 8 * BS, t.w), 0);
	assert_int_equal(sf_calls(SF_PWRITEV2), 1); /* probed once */
	assert_true(sf_log_has("no non-blocking buffered writes here"));
	env_real_disk_stats(t.e, &st);
	assert_int_equal(st.inline_writes, 2);
	/* on the reactor: failing, interrupted */
	sf_arm(SF_PWRITEV2,
	       (struct sf_rule){.times = 1, .err = EIO, .size = 0 + 1});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 8 * BS, t.w), -EIO);
	sf_arm(SF_PWRITEV2,
	       (struct sf_rule){.times = 1, .err = EINTR, .size = 0 + 1});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 8 * BS, t.w), 0);
	env_real_disk_stats(t.e, &st);
	assert_int_equal(st.engine_writes, 2);
	assert_int_equal(dt_io(&t, BS_OP_READ, 0, 0, 8 * BS, t.r), 0);
	assert_memory_equal(t.r, t.w, 8 * BS);
	/* slow: the next writes to the engine for 100 ms */
	sf_arm(SF_PWRITEV2,
	       (struct sf_rule){.times = 1, .delay_us = 250000, .size = 0 + 1});
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 8 * BS, t.w), 0);
	assert_true(sf_log_has("a write on the reactor took"));
	assert_true(sf_log_has("writes go to the disk engine for 100 ms"));
	env_real_disk_stats(t.e, &st);
	assert_int_equal(st.inline_slow, 1);
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 8 * BS, t.w), 0);
	env_real_disk_stats(t.e, &st);
	assert_int_equal(st.engine_writes, 3);
	/* after the pause: on the reactor again */
	run_for_ms(t.e, 110);
	assert_int_equal(dt_io(&t, BS_OP_WRITE, 0, 0, 8 * BS, t.w), 0);
	env_real_disk_stats(t.e, &st);
	assert_int_equal(st.engine_writes, 3);
	dt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pool_errors_reach_the_request),
		cmocka_unit_test(a_failed_sync_fails_every_later_flush),
		cmocka_unit_test(engine_start_failures),
		cmocka_unit_test(uring_refused_falls_back_to_threads),
		cmocka_unit_test(uring_errors_reach_the_request),
		cmocka_unit_test(uring_submit_refused_is_retried),
		cmocka_unit_test(writes_on_the_reactor_when_the_system_says_no),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
