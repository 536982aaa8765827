/*
 * test_env_real_rbd.c — the Ceph RBD backstore (env_real/disk_rbd.c,
 * disk_rbd_cluster.c)
 * against a fake librbd (build/test/rbd/librbd_fake.so,
 * target/test/rbd/librbd_fake.c), loaded through the backstore's own
 * dlopen path (UTARGET_LIBRBD), without a cluster:
 *
 *   - opening: the client, configuration and bounded timeouts it asks
 *     librados for, every step that can fail (named in the log, nothing
 *     left allocated in the library), paths that are not POOL/IMAGE;
 *   - requests: data through each librbd call, those refused before
 *     librbd sees them, librbd's errors, FUA with the writeback cache,
 *     COMPARE AND WRITE within a sector and beyond;
 *   - what an initiator sees: the sense of each cluster error through the
 *     SCSI layer over an rbd LU, and CAPACITY DATA HAS CHANGED after the
 *     image is resized;
 *   - being fenced (-ESHUTDOWN): requests fail with -ENOTCONN while the
 *     control thread waits for those in flight and connects again;
 *   - closing with requests in flight, on the reactor (a job), and with
 *     the reactor freed before the job's answer ran.
 *
 * Every completion must come on the reactor, never inside submit, once;
 * every librbd completion created must be released, and no request may
 * reach an image after its rbd_close().
 */
#include "rbd_rig.h"

/* -------------------------------------------------------- opening */

static bool conf_is(const char *key, const char *value)
{
	struct fake_rbd_stats *s = F.stats();

	for (int i = 0; i < s->nconf; i++)
		if (!strcmp(s->conf[i][0], key))
			return !strcmp(s->conf[i][1], value);
	return false;
}

/* The client, its configuration, the pool and image; every wait on the
 * cluster bounded by timeout=; data through each librbd call. */
static void rbd_open_configures_the_client_and_serves_data(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t *w = malloc(16 * 512), *r = malloc(16 * 512);
	uint8_t *img;
	struct bs_dev *d;
	int writes;

	(void)state;
	F.reset(8 * MIB, 4 * MIB);
	s = F.stats();
	p.conf = "/etc/ceph/test.conf";
	p.client_id = "iscsi";
	p.timeout_s = 7;
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	assert_non_null(d);
	assert_int_equal(d->kind, BS_RBD);
	assert_int_equal(d->size_bytes, 8 * MIB);
	assert_int_equal(d->block_size, 512);
	assert_true(d->thin); /* discards read back as zeros */
	assert_false(d->write_cache);
	assert_int_equal(d->caps, BS_CAP_WRITE_SAME | BS_CAP_COMPARE_AND_WRITE);
	assert_string_equal(s->user, "client.iscsi");
	assert_string_equal(s->conf_file, "/etc/ceph/test.conf");
	assert_string_equal(s->pool, "pool1");
	assert_string_equal(s->image, "img1");
	assert_int_equal(s->opens, 1);
	assert_int_equal(s->opens_ro, 0);
	assert_true(conf_is("client_mount_timeout", "7"));
	assert_true(conf_is("rados_mon_op_timeout", "7"));
	assert_true(conf_is("rados_osd_op_timeout", "7"));
	assert_true(conf_is("rbd_non_blocking_aio", "true"));
	assert_true(conf_is("rbd_skip_partial_discard", "false"));
	assert_true(conf_is("rbd_cache", "false"));
	assert_true(conf_is("rbd_cache_writethrough_until_flush", "false"));
	assert_int_equal(s->watches, 1);
	expect_log("lun0: connected as client.iscsi, address "
		   "127.0.0.1:0/4242");
	assert_int_equal(s->addrs_freed, 1);
	expect_log("lun0: rbd pool1/img1, 8388608 bytes in 512-byte blocks, "
		   "4194304-byte objects, timeout 7 s");

	/* WRITE and READ through rbd_aio_writev/readv, two iovecs each */
	fill(w, 16 * 512, 3);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 64 * 512, 16 * 512, w),
			 0);
	img = F.mem();
	assert_memory_equal(img + 64 * 512, w, 16 * 512);
	memset(r, 0, 16 * 512);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 64 * 512, 16 * 512, r),
			 0);
	assert_memory_equal(r, w, 16 * 512);
	assert_int_equal(s->writev, 1);
	assert_int_equal(s->readv, 1);
	/* FUA without the writeback cache: durable when librbd completes,
	 * no flush */
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, BS_F_FUA, 0, 16 * 512, w),
			 0);
	assert_int_equal(s->flush, 0);
	assert_int_equal(io_sync(e, d, BS_OP_FLUSH, 0, 0, 0, NULL), 0);
	assert_int_equal(s->flush, 1);
	/* UNMAP and WRITE ZEROES: zeros where the data was */
	assert_int_equal(io_sync(e, d, BS_OP_UNMAP, 0, 64 * 512, 8 * 512, NULL),
			 0);
	assert_int_equal(s->discard, 1);
	assert_true(img[64 * 512] == 0 && img[72 * 512 - 1] == 0);
	assert_int_equal(img[72 * 512], w[8 * 512]);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE_ZEROES, 0, 72 * 512, 8 * 512,
				 NULL),
			 0);
	assert_int_equal(s->write_zeroes, 1);
	assert_int_equal(img[72 * 512], 0);
	/* WRITE SAME: one block over the range, in one librbd request */
	{
		struct io_req q;

		fill(w, 512, 90);
		io_prep(&q, e, BS_OP_WRITE_SAME, 0, 4 * MIB, 8 * 512, w, 512,
			false);
		assert_int_equal(io_run(e, d, &q), 0);
		assert_int_equal(s->writesame, 1);
		for (int i = 0; i < 8; i++)
			assert_memory_equal(img + 4 * MIB + i * 512, w, 512);
	}
	/* nothing to do: success without librbd */
	writes = s->writev;
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, 0, NULL), 0);
	assert_int_equal(s->writev, writes);

	bs_close(d);
	assert_int_equal(s->closes, 1);
	assert_int_equal(s->unwatches, 1);
	expect_library_clean();
	free(w);
	free(r);
	env_real_free(e);
}

/* Without name, conf, id, timeout or block size: the path names the
 * device, client.admin, librados' own search, 30 s, 512-byte blocks;
 * stat answering no object size: 4 MiB. */
static void rbd_open_defaults(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = {.kind = BS_RBD, .path = "rbd/vm1"};
	struct fake_rbd_stats *s;
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	assert_string_equal(s->user, "client.admin");
	assert_string_equal(s->conf_file, ""); /* NULL: the default search */
	assert_true(conf_is("rados_osd_op_timeout", "30"));
	assert_int_equal(d->block_size, 512);
	expect_log("rbd/vm1: rbd rbd/vm1, 1048576 bytes in 512-byte blocks, "
		   "4194304-byte objects, timeout 30 s");
	bs_close(d);
	/* an empty client id is no id */
	F.reset(MIB, 0);
	p.client_id = "";
	p.block_size = 4096;
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	assert_string_equal(s->user, "client.admin");
	assert_int_equal(d->block_size, 4096);
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* ro: rbd_open_read_only, and writes refused with -EROFS before librbd;
 * an image size not a multiple of the block size is cut down. */
static void rbd_read_only_opens_read_only_and_refuses_writes(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t buf[1024];
	struct bs_dev *d;
	static const enum bs_op writes[] = {BS_OP_WRITE, BS_OP_UNMAP,
					    BS_OP_WRITE_ZEROES};

	(void)state;
	F.reset(MIB + 100, 0);
	s = F.stats();
	p.read_only = true;
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	assert_int_equal(s->opens_ro, 1);
	assert_int_equal(s->opens, 0);
	assert_true(d->read_only);
	assert_int_equal(d->size_bytes, MIB);
	expect_log(", read-only");
	for (size_t i = 0; i < sizeof(writes) / sizeof(*writes); i++)
		assert_int_equal(io_sync(e, d, writes[i], 0, 0, sizeof(buf),
					 writes[i] == BS_OP_WRITE ? buf : NULL),
				 -EROFS);
	assert_int_equal(s->aio_created, 0);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, sizeof(buf), buf), 0);
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* cache: librbd's writeback cache on, WCE reported, and a FUA write
 * followed by rbd_aio_flush; a failing write is not flushed, a failing
 * flush fails the write. */
static void rbd_cache_flushes_after_fua_writes(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t buf[4096];
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	p.cache = true;
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	assert_true(d->write_cache);
	assert_true(conf_is("rbd_cache", "true"));
	expect_log(", writeback cache");
	fill(buf, sizeof(buf), 1);
	assert_int_equal(
		io_sync(e, d, BS_OP_WRITE, BS_F_FUA, 0, sizeof(buf), buf), 0);
	assert_int_equal(s->writev, 1);
	assert_int_equal(s->flush, 1);
	/* not after a read, not without FUA */
	assert_int_equal(
		io_sync(e, d, BS_OP_READ, BS_F_FUA, 0, sizeof(buf), buf), 0);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, sizeof(buf), buf), 0);
	assert_int_equal(s->flush, 1);
	/* FUA on a flush: the flush once */
	assert_int_equal(io_sync(e, d, BS_OP_FLUSH, BS_F_FUA, 0, 0, NULL), 0);
	assert_int_equal(s->flush, 2);
	/* the write fails: no flush, its error */
	F.result(-EIO, 1, 0);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, BS_F_FUA, 0, sizeof(buf),
				 buf),
			 -EIO);
	assert_int_equal(s->flush, 2);
	/* the write lands, the flush fails: the request fails */
	F.fail_call(FR_AIO_SUBMIT, -ETIMEDOUT, 1, 1);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, BS_F_FUA, 0, sizeof(buf),
				 buf),
			 -ETIMEDOUT);
	assert_int_equal(s->writev, 4);
	/* FUA on a WRITE SAME: flushed too */
	{
		struct io_req q;
		int flushes = s->flush;

		io_prep(&q, e, BS_OP_WRITE_SAME, BS_F_FUA, 0, 4096, buf, 512,
			false);
		assert_int_equal(io_run(e, d, &q), 0);
		assert_int_equal(s->flush, flushes + 1);
	}
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* rbd:POOL/IMAGE only: one slash, both parts, each within its bound. */
static void rbd_path_that_is_not_pool_slash_image_is_refused(void **state)
{
	char long_pool[200], long_image[300];
	const struct {
		const char *path;
		int rc;
	} cases[] = {
		{NULL, -EINVAL},
		{"pool", -EINVAL},
		{"/image", -EINVAL},
		{"pool/", -EINVAL},
		{"a/b/c", -EINVAL},
		{long_pool, -ENAMETOOLONG},
		{long_image, -ENAMETOOLONG},
	};
	struct env *e = rbd_env(UT_LOG_WARN);

	(void)state;
	F.reset(MIB, 0);
	memset(long_pool, 'p', 128);
	strcpy(long_pool + 128, "/img");
	strcpy(long_image, "pool/");
	memset(long_image + 5, 'i', 256);
	long_image[5 + 256] = '\0';
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct bs_dev_params p = {.kind = BS_RBD,
					  .path = cases[i].path};
		struct bs_dev *d;

		log_clear();
		assert_int_equal(rig_rbd_open(e, &p, &d), cases[i].rc);
		assert_null(d);
		/* no name: the path names it, or with no path either "rbd" */
		expect_log(cases[i].path ? "' is not POOL/IMAGE"
					 : "rbd: '' is not POOL/IMAGE");
	}
	assert_int_equal(F.stats()->creates, 0);
	env_real_free(e);
}

/* Each step of connecting that fails stops the open with its error,
 * named in the log with the configuration, and leaves nothing behind. */
static void rbd_open_failing_at_each_step_says_which(void **state)
{
	static const struct {
		enum fake_rbd_fn fn;
		int rc;
		const char *what;
	} cases[] = {
		{FR_CREATE2, -ENOMEM, "cannot create a cluster handle"},
		{FR_CONF_READ_FILE, -ENOENT, "cannot read the configuration"},
		{FR_CONNECT, -ETIMEDOUT, "cannot connect to the cluster"},
		{FR_IOCTX_CREATE, -ENOENT, "cannot open the pool"},
		{FR_OPEN, -ENOENT, "cannot open the image"},
		{FR_STAT, -EIO, "lun0: rbd pool1/img1: Input/output error"},
		{FR_GET_SIZE, -EACCES, "lun0: rbd pool1/img1: Permission"},
	};
	struct env *e = rbd_env(UT_LOG_WARN);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		for (int ro = 0; ro < 2; ro++) {
			struct bs_dev_params p = rbd_params();
			struct bs_dev *d;

			F.reset(MIB, 0);
			F.fail_call(cases[i].fn, cases[i].rc, 0, 1);
			log_clear();
			p.read_only = ro;
			p.conf = ro ? "/c.conf" : NULL;
			assert_int_equal(rig_rbd_open(e, &p, &d), cases[i].rc);
			assert_null(d);
			expect_log(cases[i].what);
			if (cases[i].fn < FR_STAT)
				expect_log(ro ? "(conf /c.conf, client.admin, "
						"timeout 30 s)"
					      : "(conf default, client.admin, "
						"timeout 30 s)");
			expect_library_clean();
		}
	}
	env_real_free(e);
}

/* Each configuration key librados refuses stops the open (-EINVAL),
 * naming the key and value. */
static void rbd_open_refused_configuration_names_the_key(void **state)
{
	static const char *const keys[] = {
		"client_mount_timeout",
		"rados_mon_op_timeout",
		"rados_osd_op_timeout",
		"rbd_non_blocking_aio",
		"rbd_skip_partial_discard",
		"rbd_cache",
		"rbd_cache_writethrough_until_flush",
	};
	struct env *e = rbd_env(UT_LOG_WARN);

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		struct bs_dev_params p = rbd_params();
		struct fake_rbd_stats *s;
		char want[128];
		struct bs_dev *d;

		F.reset(MIB, 0);
		s = F.stats();
		F.fail_conf(keys[i], -ENOENT);
		log_clear();
		assert_int_equal(rig_rbd_open(e, &p, &d), -EINVAL);
		assert_null(d);
		snprintf(want, sizeof(want), "lun0: cannot set %s=", keys[i]);
		expect_log(want);
		expect_log("cannot configure the client");
		/* the keys after it were not tried */
		assert_int_equal(s->nconf, (int)i + 1);
		assert_int_equal(s->connects, 0);
		expect_library_clean();
	}
	env_real_free(e);
}

/* An image smaller than one block is refused; no address, or no update
 * watch, is not a reason to refuse (resizes are then not followed). */
static void rbd_open_edge_cases(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	struct bs_dev *d;

	(void)state;
	F.reset(511, 0);
	assert_int_equal(rig_rbd_open(e, &p, &d), -EINVAL);
	assert_null(d);
	expect_log("lun0: rbd pool1/img1: image smaller than one block");
	expect_library_clean();
	/* rados_getaddrs failing, or answering nothing: no address line */
	for (int i = 0; i < 2; i++) {
		F.reset(MIB, 0);
		s = F.stats();
		if (i == 0)
			F.fail_call(FR_GETADDRS, -EINVAL, 0, 1);
		else
			F.no_addrs(true);
		log_clear();
		assert_int_equal(rig_rbd_open(e, &p, &d), 0);
		assert_false(log_has("connected as"));
		assert_int_equal(s->addrs_freed, 0);
		bs_close(d);
		expect_library_clean();
		F.no_addrs(false);
	}
	/* no update watch */
	F.reset(MIB, 0);
	s = F.stats();
	F.fail_call(FR_UPDATE_WATCH, -EOPNOTSUPP, 0, 1);
	log_clear();
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	expect_log("lun0: no update watch (Operation not supported): "
		   "resizes are not followed");
	assert_false(F.fire_watch());
	bs_close(d);
	assert_int_equal(s->unwatches, 0);
	expect_library_clean();
	env_real_free(e);
}

/* ------------------------------------------------------- requests */

/* What the backstore refuses itself, before librbd: each completes
 * later on the reactor, with no librbd completion made. */
static void rbd_requests_refused_before_librbd(void **state)
{
	struct env *e = rbd_env(UT_LOG_DEBUG);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t *buf = calloc(1, 64 * 512);
	struct io_req r;
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	/* an operation that does not exist */
	io_prep(&r, e, (enum bs_op)7, 0, 0, 512, buf, 512, false);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* not whole blocks; past the end */
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 100, 512, buf), -EINVAL);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, 700, buf), -EINVAL);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, MIB + 512, 512, buf),
			 -EINVAL);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, MIB - 512, 1024, buf),
			 -EINVAL);
	/* buffers shorter than the request */
	io_prep(&r, e, BS_OP_READ, 0, 0, 2048, buf, 1024, true);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* more pieces than librbd is given at once */
	io_prep(&r, e, BS_OP_WRITE, 0, 0, 17 * 512, buf, 0, false);
	for (int i = 0; i < 17; i++)
		r.iov[i] = (struct iovec){buf + i * 512, 512};
	r.req.iovcnt = 17;
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* ... but 16 are, and longer buffers are cut to the request */
	r.req.iovcnt = 16;
	r.req.length_bytes = 15 * 512;
	r.done_calls = 0;
	assert_int_equal(io_run(e, d, &r), 0);
	/* WRITE SAME: one block of data, exactly */
	io_prep(&r, e, BS_OP_WRITE_SAME, 0, 0, 4096, buf, 1024, false);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	io_prep(&r, e, BS_OP_WRITE_SAME, 0, 0, 4096, NULL, 0, false);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* COMPARE AND WRITE: both halves needed */
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 0, 512, buf, 512, false);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 0, 512, NULL, 0, false);
	assert_int_equal(io_run(e, d, &r), -EINVAL);
	/* ... and within one 512-byte sector, which librbd can do: beyond,
	 * the SCSI layer emulates it */
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 0, 1024, buf, 2048, false);
	assert_int_equal(io_run(e, d, &r), -EOPNOTSUPP);
	assert_int_equal(s->aio_created, 1); /* the 16-piece write only */
	expect_log("lun0: op 1 at 0+8704: Invalid argument");
	bs_close(d);
	expect_library_clean();
	free(buf);
	env_real_free(e);
}

/* librbd refusing a request or failing it: the error is the request's;
 * the completion made for it is released either way. */
static void rbd_librbd_errors_reach_the_request(void **state)
{
	static const int results[] = {-ETIMEDOUT, -ENOSPC, -EDQUOT, -EIO,
				      -EROFS};
	struct env *e = rbd_env(UT_LOG_WARN);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t buf[4096];
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	F.fail_call(FR_AIO_CREATE, -ENOMEM, 0, 1);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, 4096, buf), -ENOMEM);
	assert_int_equal(s->aio_created, 0);
	F.fail_call(FR_AIO_SUBMIT, -EINVAL, 0, 1);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, 4096, buf), -EINVAL);
	assert_int_equal(s->aio_created, 1);
	assert_int_equal(s->aio_released, 1);
	for (size_t i = 0; i < sizeof(results) / sizeof(*results); i++) {
		F.result(results[i], 1, 0);
		assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, 4096, buf),
				 results[i]);
	}
	/* -EILSEQ on a WRITE is its error, not a miscompare */
	{
		struct io_req r;

		F.result(-EILSEQ, 1, 0);
		io_prep(&r, e, BS_OP_WRITE, 0, 0, 4096, buf, 4096, false);
		r.req.miscompare_bytes = 77;
		assert_int_equal(io_run(e, d, &r), -EILSEQ);
		assert_int_equal(r.req.miscompare_bytes, 77);
	}
	/* still serving */
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, 4096, buf), 0);
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* librbd answering fewer bytes than asked (a request clipped at the end
 * of an image shrunk by another client): a read's rest is zeros, never
 * the buffer's earlier bytes; a write is EIO, never GOOD. */
static void rbd_short_transfers_are_not_good(void **state)
{
	struct env *e = rbd_env(UT_LOG_WARN);
	struct bs_dev_params p = rbd_params();
	uint8_t buf[4096];
	struct bs_dev *d;

	(void)state;
	F.reset(MIB, 0);
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	memset(buf, 0xa5, sizeof(buf));
	F.result(1024, 1, 0);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, 4096, buf), 0);
	for (size_t i = 1024; i < sizeof(buf); i++)
		if (buf[i] != 0)
			fail_msg("byte %zu of a read librbd cut at 1024 holds "
				 "%#x: the buffer's old bytes went out as data",
				 i, buf[i]);
	memset(buf, 0xa5, sizeof(buf));
	F.result(0, 1, 0);
	assert_int_equal(io_sync(e, d, BS_OP_READ, 0, 0, 4096, buf), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	F.result(2048, 1, 0);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, 4096, buf), -EIO);
	/* whole answers are success: the length, or 0 for a change */
	F.result(4096, 1, 0);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, 4096, buf), 0);
	F.result(0, 1, 0);
	assert_int_equal(io_sync(e, d, BS_OP_WRITE, 0, 0, 4096, buf), 0);
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* COMPARE AND WRITE within one sector goes to librbd: equal, the write
 * half lands; different, -EILSEQ with the offset of the first differing
 * byte from the request's start (0 when librbd names one before it). */
static void rbd_compare_and_write_in_one_sector(void **state)
{
	struct env *e = rbd_env(UT_LOG_WARN);
	struct bs_dev_params p = rbd_params();
	struct fake_rbd_stats *s;
	uint8_t buf[1024];
	struct io_req r;
	struct bs_dev *d;
	uint8_t *img;

	(void)state;
	F.reset(MIB, 0);
	s = F.stats();
	img = F.mem();
	assert_int_equal(rig_rbd_open(e, &p, &d), 0);
	fill(img + 4096, 512, 5);
	memcpy(buf, img + 4096, 512);
	fill(buf + 512, 512, 77);
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 4096, 512, buf, 1024, false);
	assert_int_equal(io_run(e, d, &r), 0);
	assert_memory_equal(img + 4096, buf + 512, 512);
	assert_int_equal(s->caw, 1);
	/* now the medium holds the write half: compare the old data again */
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 4096, 512, buf, 1024, false);
	assert_int_equal(io_run(e, d, &r), -EILSEQ);
	assert_int_equal(r.req.miscompare_bytes, 0);
	buf[300] = img[4096 + 300] ^ 0xff;
	memcpy(buf, img + 4096, 300);
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 4096, 512, buf, 1024, false);
	assert_int_equal(io_run(e, d, &r), -EILSEQ);
	assert_int_equal(r.req.miscompare_bytes, 300);
	/* librbd naming an offset before the request's start */
	F.result(-EILSEQ, 1, 100);
	io_prep(&r, e, BS_OP_COMPARE_AND_WRITE, 0, 4096, 512, buf, 1024, false);
	assert_int_equal(io_run(e, d, &r), -EILSEQ);
	assert_int_equal(r.req.miscompare_bytes, 0);
	bs_close(d);
	expect_library_clean();
	env_real_free(e);
}

/* Submitted on the reactor (from a callback) rather than from outside
 * the loop: the completion comes back to the same reactor. */
struct on_loop {
	struct env *e;
	struct bs_dev *d;
	struct io_req r;
	uint8_t buf[512];
};

static void submit_on_loop(void *arg)
{
	struct on_loop *o = arg;

	io_prep(&o->r, o->e, BS_OP_READ, 0, 0, 512, o->buf, 512, false);
	o->d->ops->submit(o->d, &o->r.req);
}

static void rbd_request_submitted_on_the_reactor(void **state)
{
	struct env *e = rbd_env(UT_LOG_WARN);
	struct bs_dev_params p = rbd_params();
	struct on_loop o = {.e = e};
	struct env_timer *t;

	(void)state;
	F.reset(MIB, 0);
	assert_int_equal(rig_rbd_open(e, &p, &o.d), 0);
	t = env_timer_new(e, submit_on_loop, &o);
	env_timer_arm(e, t, env_now_ns(e));
	run_bounded(e);
	assert_int_equal(o.r.done_calls, 1);
	assert_int_equal(o.r.status, 0);
	assert_true(o.r.on_reactor);
	assert_int_equal(er_reactor_of(e)->remote_inflight, 0);
	env_timer_free(e, t);
	bs_close(o.d);
	expect_library_clean();
	env_real_free(e);
}

/* ------------------------------------------------ loading librbd */

/* The child's side (main with --open-with LIB): in a process of its own,
 * since librbd is loaded once per process, open an rbd LUN with LIB as
 * librbd and print the result and the log. */
static int child_open_with(const char *lib)
{
	struct env_real_opts o = {.log_level = UT_LOG_WARN,
				  .disable_uring = true};
	struct bs_dev_params p = rbd_params();
	struct bs_dev *d = NULL;
	struct env *e;
	int rc;

	setenv("UTARGET_LIBRBD", lib, 1);
	e = env_real_new(&o);
	if (!e)
		return 2;
	cap_ops = *e->ops;
	cap_ops.log = cap_log;
	e->ops = &cap_ops;
	rc = e->ops->disk_open(e, &p, &d);
	printf("rc %d\n%s", rc, log_buf);
	bs_close(d);
	env_real_free(e);
	return 0;
}

/* Run this binary with --open-with lib; its output in out. */
static void open_in_child(const char *lib, char *out, size_t cap)
{
	char exe[512], cmd[1400];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t len = 0;
	FILE *f;

	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(cmd, sizeof(cmd), "'%s' --open-with '%s'", exe, lib);
	out[0] = '\0';
	f = popen(cmd, "r");
	assert_non_null(f);
	while (len + 1 < cap && fgets(out + len, (int)(cap - len), f))
		len = strlen(out);
	assert_int_equal(pclose(f), 0);
}

/* No librbd: the LUN is refused (-ENOSYS), saying what to install; a
 * librbd without one of the calls we use: refused, naming it. */
static void rbd_librbd_missing_or_too_old_is_refused(void **state)
{
	static const char *const calls[] = {
#define CALL_NAME(f) #f,
		RBD_LIB_FUNCS(CALL_NAME)
#undef CALL_NAME
	};
	char out[4096], lib[700], want[800];
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	(void)state;
	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	open_in_child("/nonexistent/librbd.so.1", out, sizeof(out));
	if (!strstr(out, "rc -38\n") ||
	    !strstr(out, "lun0: cannot load librbd (apt-get install "
			 "librbd1): /nonexistent/librbd.so.1: cannot open"))
		fail_msg("without librbd: %s", out);
	for (size_t i = 0; i < sizeof(calls) / sizeof(*calls); i++) {
		snprintf(lib, sizeof(lib), "%s/rbd/no-%s.so", exe, calls[i]);
		open_in_child(lib, out, sizeof(out));
		snprintf(want, sizeof(want),
			 "lun0: %s has no %s (librbd too old?)", lib, calls[i]);
		if (!strstr(out, "rc -38\n") || !strstr(out, want))
			fail_msg("librbd without %s: %s", calls[i], out);
	}
	/* the fake whole: it opens */
	snprintf(lib, sizeof(lib), "%s/rbd/librbd_fake.so", exe);
	open_in_child(lib, out, sizeof(out));
	if (!strstr(out, "rc 0\n"))
		fail_msg("with the whole fake: %s", out);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rbd_librbd_missing_or_too_old_is_refused),
		cmocka_unit_test(
			rbd_open_configures_the_client_and_serves_data),
		cmocka_unit_test(rbd_open_defaults),
		cmocka_unit_test(
			rbd_read_only_opens_read_only_and_refuses_writes),
		cmocka_unit_test(rbd_cache_flushes_after_fua_writes),
		cmocka_unit_test(
			rbd_path_that_is_not_pool_slash_image_is_refused),
		cmocka_unit_test(rbd_open_failing_at_each_step_says_which),
		cmocka_unit_test(rbd_open_refused_configuration_names_the_key),
		cmocka_unit_test(rbd_open_edge_cases),
		cmocka_unit_test(rbd_requests_refused_before_librbd),
		cmocka_unit_test(rbd_librbd_errors_reach_the_request),
		cmocka_unit_test(rbd_short_transfers_are_not_good),
		cmocka_unit_test(rbd_compare_and_write_in_one_sector),
		cmocka_unit_test(rbd_request_submitted_on_the_reactor),
	};

	if (argc == 3 && !strcmp(argv[1], "--open-with"))
		return child_open_with(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
