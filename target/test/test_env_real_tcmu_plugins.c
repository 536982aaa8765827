/*
 * test_env_real_tcmu_plugins.c — the tcmu-runner backstore's plugins
 * (env_real/disk_tcmu.c, tcmu_api.c) against the fake handler plugin
 * and the broken ones (tcmu_rig.h): opening a device and its refusals,
 * the size from the image, loading plugins (broken ones refused with the
 * reason, each initialised once, the registry's bounds), and the entry
 * points utarget offers plugins (CDB, iovec and sense helpers, device
 * attributes, events, log).  test_env_real_tcmu.c holds requests and
 * what an initiator sees.
 */
#include "tcmu_rig.h"

/* --------------------------------------------------------- opening */

/* What stops an open, and the reason the log gives. */
static void tcmu_open_refusals_say_why(void **state)
{
	static const struct {
		const char *path;
		int rc;
		const char *why;
	} cases[] = {
		{"", -EINVAL,
		 "lun0: tcmu handler ?: expected HANDLER/CFGSTRING"},
		{"noslash", -EINVAL, "expected HANDLER/CFGSTRING"},
		{"/mem", -EINVAL, "expected HANDLER/CFGSTRING"},
		{"a123456789b123456789c123456789d123456789/x", -EINVAL,
		 "expected HANDLER/CFGSTRING"},
		{"fakenorw/mem", -EINVAL,
		 "lun0: tcmu handler fakenorw: the plugin has neither "
		 "read/write nor handle_cmd callouts"},
		{"fakenowr/mem", -EINVAL, "neither read/write nor handle_cmd"},
		{"fakenoopen/mem", -EINVAL,
		 "neither read/write nor handle_cmd"},
		{"fakests/refuse", -EINVAL,
		 "configuration '/refuse' refused: the fake refuses it"},
		{"fakests/refuse-quietly", -EINVAL,
		 "configuration '/refuse-quietly' refused: no reason given"},
		{"fake/fail", -EIO,
		 "cannot open '/fail': the plugin refused (-1)"},
		{"fake/fail-errno", -EACCES,
		 "cannot open '/fail-errno': Permission denied (-13)"},
	};
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct bs_dev *d;

		log_clear();
		assert_int_equal(tcmu_open_p(e, cases[i].path, MIB, BS, false,
					     &d),
				 cases[i].rc);
		assert_null(d);
		expect_log(cases[i].why);
	}
	/* no path at all */
	{
		struct bs_dev_params p = {.kind = BS_TCMU, .name = "lun0"};
		struct bs_dev *d;

		log_clear();
		assert_int_equal(e->ops->disk_open(e, &p, &d), -EINVAL);
		expect_log("lun0: tcmu handler ?: expected HANDLER/CFGSTRING");
	}
	/* no name: the path names the device in the log */
	{
		struct bs_dev_params p = {.kind = BS_TCMU,
					  .path = "fake/fail",
					  .size_bytes = MIB};
		struct bs_dev *d;

		log_clear();
		assert_int_equal(e->ops->disk_open(e, &p, &d), -EIO);
		expect_log("fake/fail: tcmu handler fake: cannot open");
	}
	env_real_free(e);
}

/* Without size=: a qcow2 header's virtual size, a plain file's size
 * (after zbc/fbo-style "opts@" before the file); nothing readable: the
 * open says to give size=. */
static void tcmu_size_comes_from_the_image(void **state)
{
	char *dir = make_tmpdir();
	char qcow[300], bad[300], plain[300], raw[300], spec[700];
	struct env *e = tcmu_env(UT_LOG_INFO, NULL);
	uint8_t hdr[32] = {'Q', 'F', 'I', 0xfb};
	struct bs_dev *d;
	int fd;

	(void)state;
	snprintf(qcow, sizeof(qcow), "%s/vm.qcow2", dir);
	snprintf(bad, sizeof(bad), "%s/bad.qcow2", dir);
	snprintf(plain, sizeof(plain), "%s/disk.img", dir);
	snprintf(raw, sizeof(raw), "%s/raw.qcow2", dir);
	hdr[24 + 5] = 0x20; /* 2 MiB, big-endian at byte 24 */
	fd = open(qcow, O_CREAT | O_WRONLY, 0600);
	assert_int_equal(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
	close(fd);
	fd = open(bad, O_CREAT | O_WRONLY, 0600);
	assert_int_equal(write(fd, "QFI", 3), 3); /* short, no magic */
	close(fd);
	fd = open(raw, O_CREAT | O_WRONLY, 0600); /* 32 bytes, no magic */
	assert_int_equal(write(fd, hdr + 4, 28), 28);
	assert_int_equal(write(fd, "QFI!", 4), 4);
	close(fd);
	fd = open(plain, O_CREAT | O_WRONLY, 0600);
	assert_int_equal(ftruncate(fd, (off_t)MIB), 0);
	close(fd);

	snprintf(spec, sizeof(spec), "qcow%s", qcow);
	assert_int_equal(tcmu_open_p(e, spec, 0, 512, false, &d), 0);
	assert_int_equal(d->size_bytes, 2 * MIB);
	expect_log("lun0: tcmu handler qcow (fake, as qcow), '");
	expect_log("2097152 bytes in 512-byte blocks, blocking callouts on "
		   "threads");
	bs_close(d);
	snprintf(spec, sizeof(spec), "fake%s", plain);
	assert_int_equal(tcmu_open_p(e, spec, 0, 512, false, &d), 0);
	assert_int_equal(d->size_bytes, MIB);
	bs_close(d);
	snprintf(spec, sizeof(spec), "fake/model-HM/zsize-2@%s", plain);
	assert_int_equal(tcmu_open_p(e, spec, 0, 512, false, &d), 0);
	assert_int_equal(d->size_bytes, MIB);
	bs_close(d);
	/* nothing to read a size from */
	{
		const char *none[] = {bad, raw, dir, "/nonexistent/x.img"};

		for (size_t i = 0; i < 4; i++) {
			snprintf(spec, sizeof(spec), "%s%s",
				 i < 2 ? "qcow" : "fake", none[i]);
			log_clear();
			assert_int_equal(tcmu_open_p(e, spec, 0, 512, false,
						     &d),
					 -EINVAL);
			expect_log("the size is unknown: give size=");
		}
	}
	/* asynchronous and handle_cmd plugins say so */
	log_clear();
	d = tcmu_open_ok(e, "fakeasync/mem");
	expect_log("asynchronous callouts");
	bs_close(d);
	log_clear();
	d = tcmu_open_ok(e, "fakebig/x");
	expect_log("tcmu handler fakebig (?)");
	expect_log(", through handle_cmd");
	bs_close(d);
	env_real_free(e);
	remove_tmpdir(dir);
}

/* --------------------------------------------------------- loading */

/* Plugins that cannot serve: each open fails, naming the plugin and
 * why; a plugin whose global init failed leaves no handler behind. */
static void tcmu_broken_plugins_are_refused_with_the_reason(void **state)
{
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	const struct {
		const char *path;
		const char *why;
	} cases[] = {
		{"junk/x", "handler_junk.so: "},
		{"noinit/x", "handler_noinit.so has no handler_init"},
		{"initfail/x", "handler_initfail.so failed: Operation not "
			       "permitted"},
		{"ginit/x", "init of handler ginit failed: Input/output "
			    "error"},
		{"other/x", "handler_other.so registers no handler other"},
	};

	(void)state;
	setenv("UTARGET_TCMU_DIR", bad_dir, 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		for (int again = 0; again < 2; again++) {
			struct bs_dev *d;

			log_clear();
			assert_int_equal(tcmu_open_p(e, cases[i].path, MIB, BS,
						     false, &d),
					 -ENOENT);
			assert_null(d);
			expect_log(cases[i].why);
		}
	}
	/* the handler of the plugin whose init failed is not left to use */
	assert_null(tcmu_api_find("ginit"));
	assert_non_null(tcmu_api_find("otherx"));
	/* the directory cannot be read */
	setenv("UTARGET_TCMU_DIR", "/nonexistent-tcmu-dir", 1);
	{
		struct bs_dev *d;

		log_clear();
		assert_int_equal(tcmu_open_p(e, "zzz/x", MIB, BS, false, &d),
				 -ENOENT);
		expect_log("lun0: tcmu handler zzz: cannot read "
			   "/nonexistent-tcmu-dir: No such file or directory "
			   "(apt-get install tcmu-runner)");
		/* empty or unset: the built-in directory (UT_TCMU_DIR) */
		for (int unset = 0; unset < 2; unset++) {
			if (unset)
				unsetenv("UTARGET_TCMU_DIR");
			else
				setenv("UTARGET_TCMU_DIR", "", 1);
			log_clear();
			assert_int_equal(tcmu_open_p(e, "zzz/x", MIB, BS, false,
						     &d),
					 -ENOENT);
			expect_log("lun0: tcmu handler zzz: ");
			assert_false(log_has("nonexistent-tcmu-dir"));
		}
	}
	env_real_free(e);
}

/* A handler no file is named after: every plugin of the directory is
 * tried; scanning again (another open of it) does not initialise the
 * plugins loaded the first time again, nor register their handlers
 * twice. */
static void tcmu_directory_scan_initialises_each_plugin_once(void **state)
{
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	char want[800];
	int *inits;

	(void)state;
	setenv("UTARGET_TCMU_DIR", bad_dir, 1);
	snprintf(want, sizeof(want),
		 "lun0: tcmu handler nosuch: no plugin in %s registers "
		 "handler nosuch",
		 bad_dir);
	for (int i = 0; i < 3; i++) {
		struct bs_dev *d;

		log_clear();
		assert_int_equal(tcmu_open_p(e, "nosuch/x", MIB, BS, false, &d),
				 -ENOENT);
		expect_log(want);
	}
	inits = plugin_sym(bad_dir, "handler_count.so", "count_inits");
	assert_int_equal(*inits, 1);
	assert_non_null(tcmu_api_find("counted"));
	/* registered once: unregistered once */
	{
		struct tcmur_handler *h =
			(struct tcmur_handler *)tcmu_api_find("counted");

		assert_true(tcmur_unregister_handler(h));
		assert_false(tcmur_unregister_handler(h));
		assert_null(tcmu_api_find("counted"));
		assert_int_equal(tcmur_register_handler(h), 0);
	}
	env_real_free(e);
}

/* The handler table: a subtype names one handler; NULL or nameless ones
 * are refused; it holds a bounded number. */
static void tcmu_handler_registry_bounds(void **state)
{
	static struct tcmur_handler hs[20];
	static char names[20][16];
	struct tcmur_handler dup = {.subtype = "fake"};
	struct tcmur_handler nameless = {.name = "x"};
	struct env *e = tcmu_env(UT_LOG_WARN, NULL);
	struct bs_dev *d = tcmu_open_ok(e, "fake/mem"); /* loaded */
	int n = 0, rc = 0;

	(void)state;
	assert_int_equal(tcmur_register_handler(NULL), -EINVAL);
	assert_int_equal(tcmur_register_handler(&nameless), -EINVAL);
	assert_int_equal(tcmur_register_handler(&dup), -EEXIST);
	assert_true(tcmu_api_find("fake") != &dup);
	while (n < 20) {
		snprintf(names[n], sizeof(names[n]), "reg%d", n);
		hs[n].subtype = names[n];
		rc = tcmur_register_handler(&hs[n]);
		if (rc < 0)
			break;
		n++;
	}
	assert_int_equal(rc, -ENOSPC);
	assert_true(n >= 1 && n < 16);
	for (int i = 0; i < n; i++) {
		assert_non_null(tcmu_api_find(names[i]));
		assert_true(tcmur_unregister_handler(&hs[i]));
	}
	assert_false(tcmur_unregister_handler(&hs[0]));
	assert_null(tcmu_api_find("reg0"));
	bs_close(d);
	env_real_free(e);
}

/* ------------------------------------------------ entry points */

/* SPC-4 §4.2.5.1: the CDB's length from its group code; LBA and
 * transfer length from where each length puts them. */
static void tcmu_cdb_helpers_follow_the_group_code(void **state)
{
	uint8_t c6[6] = {0x08, 0x1f, 0x34, 0x56, 0x80};
	uint8_t c10[10] = {0x28, 0, 0x12, 0x34, 0x56, 0x78, 0, 0x01, 0x02};
	uint8_t c12[12] = {0xa8, 0, 0, 0, 0, 9, 0, 0, 0x10, 0};
	uint8_t c16[16] = {0x88, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 1, 0};
	uint8_t c32[32] = {0x7f, 0, 0, 0, 0, 0, 0, 0x18};
	uint8_t bad[16] = {0x60};

	(void)state;
	assert_int_equal(tcmu_cdb_get_length(c6), 6);
	assert_int_equal(tcmu_cdb_get_length(c10), 10);
	c10[0] = 0x48; /* group 2 */
	assert_int_equal(tcmu_cdb_get_length(c10), 10);
	c10[0] = 0x28;
	assert_int_equal(tcmu_cdb_get_length(c12), 12);
	assert_int_equal(tcmu_cdb_get_length(c16), 16);
	assert_int_equal(tcmu_cdb_get_length(c32), 32);
	assert_int_equal(tcmu_cdb_get_length(bad), -EINVAL); /* group 3 */
	bad[0] = 0xc0;					     /* group 6 */
	assert_int_equal(tcmu_cdb_get_length(bad), -EINVAL);
	assert_int_equal(tcmu_cdb_get_lba(c6), 0x1f3456);
	assert_int_equal(tcmu_cdb_get_lba(c10), 0x12345678);
	assert_int_equal(tcmu_cdb_get_lba(c12), 9);
	assert_int_equal(tcmu_cdb_get_lba(c16), (1ull << 32) + 2);
	assert_int_equal(tcmu_cdb_get_lba(bad), 0);
	assert_int_equal(tcmu_cdb_get_xfer_length(c6), 0x80);
	assert_int_equal(tcmu_cdb_get_xfer_length(c10), 0x102);
	assert_int_equal(tcmu_cdb_get_xfer_length(c12), 0x1000);
	assert_int_equal(tcmu_cdb_get_xfer_length(c16), 0x100);
	assert_int_equal(tcmu_cdb_get_xfer_length(bad), 0);
	assert_int_equal(tcmu_cdb_get_xfer_length(c32), 0);
}

static void tcmu_iovec_helpers(void **state)
{
	uint8_t a[8], b[8], mem[16], out[16];
	struct iovec v[2];
	struct tcmulib_cmd cmd = {0};

	(void)state;
	for (int i = 0; i < 16; i++)
		mem[i] = (uint8_t)i;
	memcpy(a, mem, 8);
	memcpy(b, mem + 8, 8);
	v[0] = (struct iovec){a, 8};
	v[1] = (struct iovec){b, 8};
	assert_int_equal(tcmu_iovec_compare(mem, v, 16), -1);
	b[3] ^= 1;
	assert_int_equal(tcmu_iovec_compare(mem, v, 16), 11);
	assert_int_equal(tcmu_iovec_compare(mem, v, 11), -1);
	assert_int_equal(tcmu_iovec_length(v, 2), 16);
	assert_false(tcmu_iovec_zeroed(v, 2));
	/* seek: past the first entry and into the second */
	assert_int_equal(tcmu_iovec_seek(v, 10), 1);
	assert_int_equal(v[0].iov_len, 0);
	assert_ptr_equal(v[1].iov_base, b + 2);
	assert_int_equal(v[1].iov_len, 6);
	v[0] = (struct iovec){a, 8};
	v[1] = (struct iovec){b, 8};
	cmd.iovec = v;
	cmd.iov_cnt = 2;
	tcmu_cmd_seek(&cmd, 8);
	assert_int_equal(cmd.iov_cnt, 1);
	/* copies use the iovec up, and stop where it ends */
	v[0] = (struct iovec){a, 8};
	v[1] = (struct iovec){b, 8};
	assert_int_equal(tcmu_memcpy_into_iovec(v, 2, mem, 12), 12);
	assert_memory_equal(a, mem, 8);
	assert_memory_equal(b, mem + 8, 4);
	assert_int_equal(v[1].iov_len, 4);
	v[0] = (struct iovec){a, 8};
	v[1] = (struct iovec){b, 8};
	memset(out, 0xee, sizeof(out));
	assert_int_equal(tcmu_memcpy_from_iovec(out, 16, v, 1), 8);
	assert_memory_equal(out, mem, 8);
	assert_int_equal(out[8], 0xee);
	v[0] = (struct iovec){a, 8};
	v[1] = (struct iovec){b, 8};
	tcmu_iovec_zero(v, 2);
	assert_true(tcmu_iovec_zeroed(v, 2));
}

/* Fixed-format sense as the plugins build it (SPC-4 §4.5.3). */
static void tcmu_sense_helpers_build_fixed_format(void **state)
{
	uint8_t s[TCMU_SENSE_BYTES];

	(void)state;
	memset(s, 0xff, sizeof(s));
	assert_int_equal(tcmu_sense_set_data(s, SK_MEDIUM_ERROR, 0x1100),
			 TCMU_STS_PASSTHROUGH_ERR);
	assert_int_equal(s[0], 0x70);
	assert_int_equal(s[2], SK_MEDIUM_ERROR);
	assert_int_equal(s[7], 0x0a);
	assert_int_equal(s[12], 0x11);
	assert_int_equal(s[13], 0x00);
	assert_int_equal(s[20], 0); /* cleared */
	tcmu_sense_set_info(s, 0x01020304);
	assert_int_equal(s[0], 0x80);
	assert_int_equal(s[3], 1);
	assert_int_equal(s[6], 4);
	__tcmu_sense_set_data(s, SK_MISCOMPARE, 0x1d00);
	assert_int_equal(s[0], 0xf0); /* VALID kept */
	assert_int_equal(s[6], 4);
	assert_int_equal(s[2], SK_MISCOMPARE);
	tcmu_sense_set_key_specific_info(s, 0x1234);
	assert_int_equal(s[15], 0x80);
	assert_int_equal(s[16], 0x12);
	assert_int_equal(s[17], 0x34);
	assert_int_equal(s[0], 0);
}

/* What a plugin reads and sets on its device; configfs answered from
 * the configuration; size changes refused; events counted and logged;
 * log lines with and without a device, by level. */
static void tcmu_device_attributes_events_and_log(void **state)
{
	struct env *e = tcmu_env(UT_LOG_INFO, NULL);
	struct tcmu_device *dev = calloc(1, sizeof(*dev));
	char name[16] = "";
	char *wwn;
	int ret = 1;

	(void)state;
	dev->env = e;
	snprintf(dev->name, sizeof(dev->name), "lun7");
	snprintf(dev->wwn, sizeof(dev->wwn), "wwn-7");
	dev->cfgstring = "fake//x";
	dev->size_bytes = 4 * MIB;
	dev->priv = &dev->runner;
	tcmu_dev_set_block_size(dev, 4096);
	assert_int_equal(tcmu_dev_get_block_size(dev), 4096);
	tcmu_dev_set_num_lbas(dev, 1024);
	assert_int_equal(tcmu_dev_get_num_lbas(dev), 1024);
	assert_int_equal(tcmu_lba_to_byte(dev, 3), 3 * 4096);
	assert_int_equal(tcmu_byte_to_lba(dev, 3 * 4096 + 5), 3);
	tcmu_dev_set_max_xfer_len(dev, 64);
	assert_int_equal(tcmu_dev_get_max_xfer_len(dev), 64);
	tcmu_dev_set_opt_xcopy_rw_len(dev, 32);
	assert_int_equal(tcmu_dev_get_opt_xcopy_rw_len(dev), 32);
	tcmu_dev_set_max_unmap_len(dev, 16);
	assert_int_equal(tcmu_dev_get_max_unmap_len(dev), 16);
	tcmu_dev_set_opt_unmap_gran(dev, 8, true);
	assert_int_equal(tcmu_dev_get_opt_unmap_gran(dev), 8);
	tcmu_dev_set_unmap_gran_align(dev, 4);
	assert_int_equal(tcmu_dev_get_unmap_gran_align(dev), 4);
	tcmu_dev_set_write_cache_enabled(dev, true);
	assert_true(tcmu_dev_get_write_cache_enabled(dev));
	tcmu_dev_set_solid_state_media(dev, true);
	assert_true(tcmu_dev_get_solid_state_media(dev));
	tcmu_dev_set_unmap_enabled(dev, true);
	assert_true(tcmu_dev_get_unmap_enabled(dev));
	assert_string_equal(tcmu_dev_get_cfgstring(dev), "fake//x");
	assert_ptr_equal(tcmu_dev_get_private(dev), &dev->runner);
	tcmu_dev_set_private(dev, NULL);
	assert_null(tcmu_dev_get_private(dev));
	tcmur_dev_set_private(dev, &ret);
	assert_ptr_equal(tcmur_dev_get_private(dev), &ret);
	assert_int_equal(tcmu_cfgfs_dev_get_info_u64(dev, "Size", &ret),
			 4 * MIB);
	assert_int_equal(ret, 0);
	assert_int_equal(tcmu_cfgfs_dev_get_info_u64(dev, "Other", &ret), 0);
	assert_int_equal(ret, -EINVAL);
	assert_int_equal(tcmu_cfgfs_dev_get_attr_int(dev, "hw_block_size"),
			 4096);
	assert_int_equal(tcmu_cfgfs_dev_get_attr_int(dev, "hw_max_sectors"),
			 64);
	assert_int_equal(
		tcmu_cfgfs_dev_get_attr_int(dev, "emulate_write_cache"), 1);
	assert_int_equal(tcmu_cfgfs_dev_get_attr_int(dev, "nosuch"), -EINVAL);
	wwn = tcmu_cfgfs_dev_get_wwn(dev);
	assert_string_equal(wwn, "wwn-7");
	free(wwn);
	assert_int_equal(tcmur_dev_update_size(dev, 8 * MIB), -EOPNOTSUPP);
	expect_log("lun7: the plugin asks for size 8388608; not supported");
	/* events: counted (handler_rbd reports them), logged */
	tcmu_notify_lock_lost(dev);
	tcmu_notify_conn_lost(dev);
	tcmu_notify_conn_lost(dev);
	tcmu_notify_cmd_timed_out(dev);
	assert_int_equal(dev->runner.lock_lost_cnt, 1);
	assert_int_equal(dev->runner.conn_lost_cnt, 2);
	assert_int_equal(dev->runner.cmd_timed_out_cnt, 1);
	expect_log("lun7: tcmu handler reports its lock lost");
	expect_log("lun7: tcmu handler reports its connection lost");
	expect_log("lun7: tcmu handler reports a command timed out");
	/* without a device: the environment of the last open, if any */
	tcmu_api_set_env(e);
	tcmu_notify_conn_lost(NULL);
	expect_log("?: tcmu handler reports its connection lost");
	tcmu_err_message(NULL, "f", 1, "no device %d\n\n", 3);
	expect_log("tcmu: no device 3\n");
	assert_false(log_has("no device 3\n\n"));
	tcmu_crit_message(dev, "f", 1, "crit %s", "x");
	tcmu_warn_message(dev, "f", 1, "warn");
	tcmu_info_message(dev, "f", 1, "info");
	expect_log("lun7: tcmu: crit x");
	expect_log("lun7: tcmu: warn");
	expect_log("lun7: tcmu: info");
	/* below the level: not even formatted */
	tcmu_dbg_message(dev, "f", 1, "debug");
	tcmu_dbg_scsi_cmd_message(dev, "f", 1, "trace");
	assert_false(log_has("debug"));
	assert_false(log_has("trace"));
	e->log_level = UT_LOG_TRACE;
	tcmu_dbg_scsi_cmd_message(dev, "f", 1, "trace");
	expect_log("lun7: tcmu: trace");
	/* no environment at all: nowhere to log, nothing happens */
	tcmu_api_set_env(NULL);
	log_clear();
	tcmu_notify_lock_lost(NULL);
	tcmu_err_message(NULL, "f", 1, "lost");
	assert_int_equal(log_len, 0);
	/* the thread's name, as tcmu-runner names its threads */
	tcmu_set_thread_name("io", dev);
	pthread_getname_np(pthread_self(), name, sizeof(name));
	assert_string_equal(name, "tcmu-io");
	tcmu_set_thread_name(NULL, dev);
	pthread_getname_np(pthread_self(), name, sizeof(name));
	assert_string_equal(name, "tcmu-");
	pthread_setname_np(pthread_self(), "test_env_real_t");
	free(dev);
	env_real_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tcmu_open_refusals_say_why),
		cmocka_unit_test(tcmu_size_comes_from_the_image),
		cmocka_unit_test(
			tcmu_broken_plugins_are_refused_with_the_reason),
		cmocka_unit_test(
			tcmu_directory_scan_initialises_each_plugin_once),
		cmocka_unit_test(tcmu_handler_registry_bounds),
		cmocka_unit_test(tcmu_cdb_helpers_follow_the_group_code),
		cmocka_unit_test(tcmu_iovec_helpers),
		cmocka_unit_test(tcmu_sense_helpers_build_fixed_format),
		cmocka_unit_test(tcmu_device_attributes_events_and_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
