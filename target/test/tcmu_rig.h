/*
 * tcmu_rig.h — what the tcmu-runner backstore's tests
 * (test_env_real_tcmu.c, test_env_real_tcmu_plugins.c) share: the
 * plugin-facing entry points as plugins declare them, the log captured,
 * the fake handler plugin's knobs and requests run through the
 * backstore.  One test binary includes it once (static state).
 */
#ifndef UT_TEST_TCMU_RIG_H
#define UT_TEST_TCMU_RIG_H

#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "env_real_rig.h"
#include "env_real/env_real_int.h"
#include "env_real/tcmu_abi.h"
#include "scsi/scsi_int.h"
#include "tcmu/handler_fake.h"

/* The plugin-facing entry points (tcmu_api.c), as plugins declare them. */
int tcmur_register_handler(struct tcmur_handler *h);
bool tcmur_unregister_handler(struct tcmur_handler *h);
int tcmur_dev_update_size(struct tcmu_device *dev, uint64_t new_size);
void *tcmu_dev_get_private(struct tcmu_device *dev);
void tcmu_dev_set_private(struct tcmu_device *dev, void *priv);
void *tcmur_dev_get_private(struct tcmu_device *dev);
void tcmur_dev_set_private(struct tcmu_device *dev, void *priv);
char *tcmu_dev_get_cfgstring(struct tcmu_device *dev);
void tcmu_dev_set_num_lbas(struct tcmu_device *dev, uint64_t n);
uint64_t tcmu_dev_get_num_lbas(struct tcmu_device *dev);
void tcmu_dev_set_block_size(struct tcmu_device *dev, uint32_t bs);
uint32_t tcmu_dev_get_block_size(struct tcmu_device *dev);
uint64_t tcmu_lba_to_byte(struct tcmu_device *dev, uint64_t lba);
uint64_t tcmu_byte_to_lba(struct tcmu_device *dev, uint64_t byte);
void tcmu_dev_set_max_xfer_len(struct tcmu_device *dev, uint32_t len);
uint32_t tcmu_dev_get_max_xfer_len(struct tcmu_device *dev);
void tcmu_dev_set_opt_xcopy_rw_len(struct tcmu_device *dev, uint32_t len);
uint32_t tcmu_dev_get_opt_xcopy_rw_len(struct tcmu_device *dev);
void tcmu_dev_set_max_unmap_len(struct tcmu_device *dev, uint32_t len);
uint32_t tcmu_dev_get_max_unmap_len(struct tcmu_device *dev);
void tcmu_dev_set_opt_unmap_gran(struct tcmu_device *dev, uint32_t len,
				 bool split);
uint32_t tcmu_dev_get_opt_unmap_gran(struct tcmu_device *dev);
void tcmu_dev_set_unmap_gran_align(struct tcmu_device *dev, uint32_t len);
uint32_t tcmu_dev_get_unmap_gran_align(struct tcmu_device *dev);
void tcmu_dev_set_write_cache_enabled(struct tcmu_device *dev, bool on);
bool tcmu_dev_get_write_cache_enabled(struct tcmu_device *dev);
void tcmu_dev_set_solid_state_media(struct tcmu_device *dev, bool on);
bool tcmu_dev_get_solid_state_media(struct tcmu_device *dev);
void tcmu_dev_set_unmap_enabled(struct tcmu_device *dev, bool on);
bool tcmu_dev_get_unmap_enabled(struct tcmu_device *dev);
uint64_t tcmu_cfgfs_dev_get_info_u64(struct tcmu_device *dev, const char *name,
				     int *fn_ret);
int tcmu_cfgfs_dev_get_attr_int(struct tcmu_device *dev, const char *name);
char *tcmu_cfgfs_dev_get_wwn(struct tcmu_device *dev);
int tcmu_cdb_get_length(uint8_t *cdb);
uint64_t tcmu_cdb_get_lba(uint8_t *cdb);
uint32_t tcmu_cdb_get_xfer_length(uint8_t *cdb);
off_t tcmu_iovec_compare(void *mem, struct iovec *iovec, size_t size);
size_t tcmu_iovec_seek(struct iovec *iovec, size_t count);
void tcmu_cmd_seek(struct tcmulib_cmd *cmd, size_t count);
size_t tcmu_iovec_length(struct iovec *iovec, size_t iov_cnt);
void tcmu_iovec_zero(struct iovec *iovec, size_t iov_cnt);
bool tcmu_iovec_zeroed(struct iovec *iovec, size_t iov_cnt);
size_t tcmu_memcpy_into_iovec(struct iovec *iovec, size_t iov_cnt, void *src,
			      size_t len);
size_t tcmu_memcpy_from_iovec(void *dest, size_t len, struct iovec *iovec,
			      size_t iov_cnt);
void __tcmu_sense_set_data(uint8_t *sense_buf, uint8_t key, uint16_t asc_ascq);
int tcmu_sense_set_data(uint8_t *sense_buf, uint8_t key, uint16_t asc_ascq);
void tcmu_sense_set_info(uint8_t *sense_buf, uint32_t info);
void tcmu_sense_set_key_specific_info(uint8_t *sense_buf, uint16_t info);
void tcmu_set_thread_name(const char *prefix, struct tcmu_device *dev);
void tcmu_notify_lock_lost(struct tcmu_device *dev);
void tcmu_notify_conn_lost(struct tcmu_device *dev);
void tcmu_notify_cmd_timed_out(struct tcmu_device *dev);
void tcmu_err_message(struct tcmu_device *dev, const char *funcname, int linenr,
		      const char *fmt, ...);
void tcmu_crit_message(struct tcmu_device *dev, const char *funcname,
		       int linenr, const char *fmt, ...);
void tcmu_warn_message(struct tcmu_device *dev, const char *funcname,
		       int linenr, const char *fmt, ...);
void tcmu_info_message(struct tcmu_device *dev, const char *funcname,
		       int linenr, const char *fmt, ...);
void tcmu_dbg_message(struct tcmu_device *dev, const char *funcname, int linenr,
		      const char *fmt, ...);
void tcmu_dbg_scsi_cmd_message(struct tcmu_device *dev, const char *funcname,
			       int linenr, const char *fmt, ...);

#define MIB (1ull << 20)

#include "log_capture.h"

/* ------------------------------------------------------ the plugins */

static char plugin_dir[600], bad_dir[600];

static inline void plugin_dirs(void)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(plugin_dir, sizeof(plugin_dir), "%s/tcmu", exe);
	snprintf(bad_dir, sizeof(bad_dir), "%s/tcmu-bad", exe);
}

static inline struct env *tcmu_env(enum ut_log_level level, const char *dir)
{
	struct env *e = new_env(true, NULL);

	plugin_dirs();
	setenv("UTARGET_TCMU_DIR", dir ? dir : plugin_dir, 1);
	cap_ops = *e->ops;
	cap_ops.log = cap_log;
	e->ops = &cap_ops;
	e->log_level = level;
	log_clear();
	return e;
}

/* A symbol of a loaded plugin. */
static inline void *plugin_sym(const char *dir, const char *file,
			       const char *sym)
{
	char so[700];
	void *h, *p;

	snprintf(so, sizeof(so), "%s/%s", dir, file);
	h = dlopen(so, RTLD_NOW | RTLD_NOLOAD);
	if (!h)
		fail_msg("%s is not loaded", so);
	p = dlsym(h, sym);
	assert_non_null(p);
	dlclose(h); /* the NOLOAD reference only */
	return p;
}

static inline struct fake_ctl *ctl(void)
{
	return plugin_sym(plugin_dir, "handler_fake.so", "fake_ctl");
}

static inline int tcmu_open_p(struct env *e, const char *path, uint64_t size,
			      uint32_t bs, bool ro, struct bs_dev **d)
{
	struct bs_dev_params p = {
		.kind = BS_TCMU,
		.name = "lun0",
		.path = path,
		.size_bytes = size,
		.block_size = bs,
		.read_only = ro,
	};

	*d = NULL;
	return e->ops->disk_open(e, &p, d);
}

static inline struct bs_dev *tcmu_open_ok(struct env *e, const char *path)
{
	struct bs_dev *d;

	assert_int_equal(tcmu_open_p(e, path, MIB, BS, false, &d), 0);
	assert_non_null(d);
	return d;
}

#endif
