/*
 * tcmu_api.c — the libtcmu / tcmu-runner entry points that handler
 * plugins call, provided by utarget itself (see tcmu_abi.h), and the
 * loading of the plugins.
 *
 * Provided (every symbol the four plugins of Debian's tcmu-runner 1.5.4
 * import, and the rest of the plugin-facing API of tcmu-runner.h):
 *   registration   tcmur_register_handler, tcmur_unregister_handler
 *   completion     tcmur_cmd_complete
 *   device state   tcmu_dev_get/set_private, tcmur_dev_get/set_private,
 *                  tcmu_dev_get_cfgstring, tcmu_dev_get/set_num_lbas,
 *                  _block_size, _max_xfer_len, _opt_xcopy_rw_len,
 *                  _max_unmap_len, _opt_unmap_gran, _unmap_gran_align,
 *                  _write_cache_enabled, _solid_state_media,
 *                  _unmap_enabled; tcmu_lba_to_byte, tcmu_byte_to_lba;
 *                  tcmur_dev_update_size (logged, size stays)
 *   "configfs"     tcmu_cfgfs_dev_get_info_u64 ("Size"),
 *                  tcmu_cfgfs_dev_get_attr_int (hw_block_size,
 *                  hw_max_sectors, emulate_write_cache),
 *                  tcmu_cfgfs_dev_get_wwn: answered from the LUN's
 *                  configuration, no configfs involved
 *   helpers        tcmu_cdb_get_length, _get_lba, _get_xfer_length,
 *                  tcmu_iovec_compare, _seek, _length, _zero, _zeroed,
 *                  tcmu_memcpy_into_iovec, _from_iovec, tcmu_cmd_seek,
 *                  tcmu_sense_set_data, __tcmu_sense_set_data,
 *                  tcmu_sense_set_info, _key_specific_info,
 *                  tcmu_set_thread_name
 *   events         tcmu_notify_lock_lost, _conn_lost, _cmd_timed_out:
 *                  logged (utarget has no ALUA failover to drive)
 *   logging        tcmu_crit/err/warn/info/dbg/dbg_scsi_cmd_message
 * Not provided: the kernel side of libtcmu (tcmulib_*: uio rings, netlink,
 * tcmu_dev_get_fd, tcmu_dev_get_memory_info, ...), which plugins do not
 * call, and configfs writes.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env.h"
#include "env_real/tcmu_abi.h"

/* Every entry point is called by plugins only: exported through
 * --dynamic-list (tcmu.syms), never called by our own code, so they need
 * no prototypes in a header of ours. */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"

#define TCMU_MAX_HANDLERS 16

static pthread_mutex_t tcmu_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tcmur_handler *tcmu_handlers[TCMU_MAX_HANDLERS];
static unsigned int tcmu_handler_count;
static struct env *tcmu_env;

void tcmu_api_set_env(struct env *env)
{
	tcmu_env = env;
}

/* ------------------------------------------------------ registration */

/* A subtype names one handler (as in tcmu-runner): a second plugin
 * registering it is refused. */
int tcmur_register_handler(struct tcmur_handler *h)
{
	int rc = 0;

	if (!h || !h->subtype)
		return -EINVAL;
	pthread_mutex_lock(&tcmu_lock);
	for (unsigned int i = 0; i < tcmu_handler_count && rc == 0; i++)
		if (!strcmp(tcmu_handlers[i]->subtype, h->subtype))
			rc = -EEXIST;
	if (rc == 0 && tcmu_handler_count == TCMU_MAX_HANDLERS)
		rc = -ENOSPC;
	if (rc == 0)
		tcmu_handlers[tcmu_handler_count++] = h;
	pthread_mutex_unlock(&tcmu_lock);
	return rc;
}

bool tcmur_unregister_handler(struct tcmur_handler *h)
{
	bool found = false;

	pthread_mutex_lock(&tcmu_lock);
	for (unsigned int i = 0; i < tcmu_handler_count; i++) {
		if (tcmu_handlers[i] != h)
			continue;
		tcmu_handlers[i] = tcmu_handlers[--tcmu_handler_count];
		found = true;
		break;
	}
	pthread_mutex_unlock(&tcmu_lock);
	return found;
}

const struct tcmur_handler *tcmu_api_find(const char *subtype)
{
	const struct tcmur_handler *h = NULL;

	pthread_mutex_lock(&tcmu_lock);
	for (unsigned int i = 0; i < tcmu_handler_count && !h; i++)
		if (!strcmp(tcmu_handlers[i]->subtype, subtype))
			h = tcmu_handlers[i];
	pthread_mutex_unlock(&tcmu_lock);
	return h;
}

/* A plugin that failed: forget the handlers it registered (they point
 * into it), then the library, so that a later open tries afresh.  Loads
 * run one at a time (open_async.c), so those are the last ones. */
static void tcmu_load_undo(void *h, unsigned int before)
{
	pthread_mutex_lock(&tcmu_lock);
	if (tcmu_handler_count > before)
		tcmu_handler_count = before;
	pthread_mutex_unlock(&tcmu_lock);
	dlclose(h);
}

/* dlopen one plugin and run its handler_init; 0 or -1 with why.  A plugin
 * already loaded has registered its handlers: its handler_init and their
 * global init run once per process, as in tcmu-runner. */
static int tcmu_load_one(const char *path, char *why, size_t why_len)
{
	unsigned int before = tcmu_handler_count;
	int (*init)(void);
	void *h;
	int rc;

	h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	if (h) {
		dlclose(h); /* the reference NOLOAD took */
		return 0;
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, why_len, "cannot load %s: %s", path, dlerror());
		return -1;
	}
	init = (int (*)(void))dlsym(h, "handler_init");
	if (!init) {
		snprintf(why, why_len, "%s has no handler_init", path);
		dlclose(h);
		return -1;
	}
	rc = init();
	if (rc < 0) {
		snprintf(why, why_len, "handler_init of %s failed: %s", path,
			 strerror(-rc));
		tcmu_load_undo(h, before);
		return -1;
	}
	/* tcmu-runner runs a handler's global init once it registered. */
	for (unsigned int i = before; i < tcmu_handler_count; i++) {
		if (tcmu_handlers[i]->init &&
		    (rc = tcmu_handlers[i]->init()) < 0) {
			snprintf(why, why_len, "init of handler %s failed: %s",
				 tcmu_handlers[i]->subtype, strerror(-rc));
			tcmu_load_undo(h, before);
			return -1;
		}
	}
	return 0; /* the library stays loaded for the process */
}

const struct tcmur_handler *tcmu_api_load(const char *dir, const char *subtype,
					  char *why, size_t why_len)
{
	const struct tcmur_handler *h = tcmu_api_find(subtype);
	char path[512];
	DIR *dh;
	struct dirent *de;

	if (h)
		return h;
	snprintf(path, sizeof(path), "%s/handler_%s.so", dir, subtype);
	if (access(path, F_OK) == 0) {
		if (tcmu_load_one(path, why, why_len) == 0 &&
		    !(h = tcmu_api_find(subtype)))
			snprintf(why, why_len, "%s registers no handler %s",
				 path, subtype);
		return h;
	}
	/* handler_file_optical.so registers "fbo", handler_file_zbc.so
	 * "zbc": look through every plugin of the directory. */
	dh = opendir(dir);
	if (!dh) {
		snprintf(why, why_len,
			 "cannot read %s: %s (apt-get install "
			 "tcmu-runner)",
			 dir, strerror(errno));
		return NULL;
	}
	snprintf(why, why_len, "no plugin in %s registers handler %s", dir,
		 subtype);
	while (!h && (de = readdir(dh))) {
		size_t n = strlen(de->d_name);
		char one[256];

		if (strncmp(de->d_name, "handler_", 8) || n < 4 ||
		    strcmp(de->d_name + n - 3, ".so"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (tcmu_load_one(path, one, sizeof(one)) == 0)
			h = tcmu_api_find(subtype);
	}
	closedir(dh);
	return h;
}

/* --------------------------------------------------------- completion */

void tcmur_cmd_complete(struct tcmu_device *dev, void *data, int rc)
{
	er_tcmu_complete(dev, data, rc);
}

/* ------------------------------------------------------- device state */

void *tcmu_dev_get_private(struct tcmu_device *dev)
{
	return dev->priv;
}
void tcmu_dev_set_private(struct tcmu_device *dev, void *priv)
{
	dev->priv = priv;
}
void *tcmur_dev_get_private(struct tcmu_device *dev)
{
	return dev->runner_priv;
}
void tcmur_dev_set_private(struct tcmu_device *dev, void *priv)
{
	dev->runner_priv = priv;
}
char *tcmu_dev_get_cfgstring(struct tcmu_device *dev)
{
	return dev->cfgstring;
}
void tcmu_dev_set_num_lbas(struct tcmu_device *dev, uint64_t n)
{
	dev->num_lbas = n;
}
uint64_t tcmu_dev_get_num_lbas(struct tcmu_device *dev)
{
	return dev->num_lbas;
}
void tcmu_dev_set_block_size(struct tcmu_device *dev, uint32_t bs)
{
	dev->block_size = bs;
}
uint32_t tcmu_dev_get_block_size(struct tcmu_device *dev)
{
	return dev->block_size;
}
uint64_t tcmu_lba_to_byte(struct tcmu_device *dev, uint64_t lba)
{
	return lba * dev->block_size;
}
uint64_t tcmu_byte_to_lba(struct tcmu_device *dev, uint64_t byte)
{
	return byte / dev->block_size;
}
void tcmu_dev_set_max_xfer_len(struct tcmu_device *dev, uint32_t len)
{
	dev->max_xfer_len = len;
}
uint32_t tcmu_dev_get_max_xfer_len(struct tcmu_device *dev)
{
	return dev->max_xfer_len;
}
void tcmu_dev_set_opt_xcopy_rw_len(struct tcmu_device *dev, uint32_t len)
{
	dev->opt_xcopy_rw_len = len;
}
uint32_t tcmu_dev_get_opt_xcopy_rw_len(struct tcmu_device *dev)
{
	return dev->opt_xcopy_rw_len;
}
void tcmu_dev_set_max_unmap_len(struct tcmu_device *dev, uint32_t len)
{
	dev->max_unmap_len = len;
}
uint32_t tcmu_dev_get_max_unmap_len(struct tcmu_device *dev)
{
	return dev->max_unmap_len;
}
void tcmu_dev_set_opt_unmap_gran(struct tcmu_device *dev, uint32_t len,
				 bool split)
{
	(void)split;
	dev->opt_unmap_gran = len;
}
uint32_t tcmu_dev_get_opt_unmap_gran(struct tcmu_device *dev)
{
	return dev->opt_unmap_gran;
}
void tcmu_dev_set_unmap_gran_align(struct tcmu_device *dev, uint32_t len)
{
	dev->unmap_gran_align = len;
}
uint32_t tcmu_dev_get_unmap_gran_align(struct tcmu_device *dev)
{
	return dev->unmap_gran_align;
}
void tcmu_dev_set_write_cache_enabled(struct tcmu_device *dev, bool on)
{
	dev->write_cache = on;
}
bool tcmu_dev_get_write_cache_enabled(struct tcmu_device *dev)
{
	return dev->write_cache;
}
void tcmu_dev_set_solid_state_media(struct tcmu_device *dev, bool on)
{
	dev->solid_state = on;
}
bool tcmu_dev_get_solid_state_media(struct tcmu_device *dev)
{
	return dev->solid_state;
}
void tcmu_dev_set_unmap_enabled(struct tcmu_device *dev, bool on)
{
	dev->unmap_enabled = on;
}
bool tcmu_dev_get_unmap_enabled(struct tcmu_device *dev)
{
	return dev->unmap_enabled;
}

/* tcmu-runner asks the kernel to change the LUN's size; we serve the
 * configured size and only say so. */
int tcmur_dev_update_size(struct tcmu_device *dev, uint64_t new_size)
{
	LOG_WARN(dev->env, "%s: the plugin asks for size %llu; not supported",
		 dev->name, (unsigned long long)new_size);
	return -EOPNOTSUPP;
}

/* -------------------------------------------------------- "configfs" */

uint64_t tcmu_cfgfs_dev_get_info_u64(struct tcmu_device *dev, const char *name,
				     int *fn_ret)
{
	*fn_ret = 0;
	if (!strcmp(name, "Size"))
		return dev->size_bytes;
	*fn_ret = -EINVAL;
	return 0;
}

int tcmu_cfgfs_dev_get_attr_int(struct tcmu_device *dev, const char *name)
{
	if (!strcmp(name, "hw_block_size"))
		return (int)dev->block_size;
	if (!strcmp(name, "hw_max_sectors"))
		return (int)dev->max_xfer_len;
	if (!strcmp(name, "emulate_write_cache"))
		return dev->write_cache;
	return -EINVAL;
}

char *tcmu_cfgfs_dev_get_wwn(struct tcmu_device *dev)
{
	return strdup(dev->wwn);
}

/* ------------------------------------------------------------ helpers */

/* SPC-4 §4.2.5.1: the group code gives the CDB length. */
int tcmu_cdb_get_length(uint8_t *cdb)
{
	switch (cdb[0] >> 5) {
	case 0:
		return 6;
	case 1:
	case 2:
		return 10;
	case 4:
		return 16;
	case 5:
		return 12;
	case 3:
		return cdb[0] == 0x7f ? 8 + cdb[7] : -EINVAL;
	default:
		return -EINVAL;
	}
}

static uint32_t tcmu_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

uint64_t tcmu_cdb_get_lba(uint8_t *cdb)
{
	switch (tcmu_cdb_get_length(cdb)) {
	case 6:
		return ((uint32_t)(cdb[1] & 0x1f) << 16) | cdb[2] << 8 | cdb[3];
	case 10:
	case 12:
		return tcmu_be32(cdb + 2);
	case 16:
		return (uint64_t)tcmu_be32(cdb + 2) << 32 | tcmu_be32(cdb + 6);
	default:
		return 0;
	}
}

uint32_t tcmu_cdb_get_xfer_length(uint8_t *cdb)
{
	switch (tcmu_cdb_get_length(cdb)) {
	case 6:
		return cdb[4];
	case 10:
		return (uint32_t)cdb[7] << 8 | cdb[8];
	case 12:
		return tcmu_be32(cdb + 6);
	case 16:
		return tcmu_be32(cdb + 10);
	default:
		return 0;
	}
}

/* Offset of the first byte where mem and the iovec differ, or -1. */
off_t tcmu_iovec_compare(void *mem, struct iovec *iovec, size_t size)
{
	const uint8_t *m = mem;
	off_t off = 0;

	for (; size > 0; iovec++) {
		const uint8_t *v = iovec->iov_base;
		size_t part = size < iovec->iov_len ? size : iovec->iov_len;

		for (size_t i = 0; i < part; i++)
			if (m[off + (off_t)i] != v[i])
				return off + (off_t)i;
		off += (off_t)part;
		size -= part;
	}
	return -1;
}

/* Advance the iovec array by count bytes in place; returns how many
 * entries were used up. */
size_t tcmu_iovec_seek(struct iovec *iovec, size_t count)
{
	size_t used = 0;

	while (count > 0) {
		if (count >= iovec->iov_len) {
			count -= iovec->iov_len;
			iovec->iov_len = 0;
			iovec++;
			used++;
		} else {
			iovec->iov_base = (uint8_t *)iovec->iov_base + count;
			iovec->iov_len -= count;
			count = 0;
		}
	}
	return used;
}

void tcmu_cmd_seek(struct tcmulib_cmd *cmd, size_t count)
{
	cmd->iov_cnt -= tcmu_iovec_seek(cmd->iovec, count);
}

size_t tcmu_iovec_length(struct iovec *iovec, size_t iov_cnt)
{
	size_t n = 0;

	for (size_t i = 0; i < iov_cnt; i++)
		n += iovec[i].iov_len;
	return n;
}

void tcmu_iovec_zero(struct iovec *iovec, size_t iov_cnt)
{
	for (size_t i = 0; i < iov_cnt; i++)
		memset(iovec[i].iov_base, 0, iovec[i].iov_len);
}

bool tcmu_iovec_zeroed(struct iovec *iovec, size_t iov_cnt)
{
	for (size_t i = 0; i < iov_cnt; i++) {
		const uint8_t *p = iovec[i].iov_base;

		for (size_t j = 0; j < iovec[i].iov_len; j++)
			if (p[j])
				return false;
	}
	return true;
}

/* Copy into (out of) the iovec, using it up as it goes. */
static size_t tcmu_iov_copy(struct iovec *iovec, size_t iov_cnt, uint8_t *mem,
			    size_t len, bool into)
{
	size_t done = 0;

	for (; len > 0 && iov_cnt > 0; iovec++, iov_cnt--) {
		size_t n = len < iovec->iov_len ? len : iovec->iov_len;

		if (into)
			memcpy(iovec->iov_base, mem + done, n);
		else
			memcpy(mem + done, iovec->iov_base, n);
		iovec->iov_base = (uint8_t *)iovec->iov_base + n;
		iovec->iov_len -= n;
		done += n;
		len -= n;
	}
	return done;
}

size_t tcmu_memcpy_into_iovec(struct iovec *iovec, size_t iov_cnt, void *src,
			      size_t len)
{
	return tcmu_iov_copy(iovec, iov_cnt, src, len, true);
}

size_t tcmu_memcpy_from_iovec(void *dest, size_t len, struct iovec *iovec,
			      size_t iov_cnt)
{
	return tcmu_iov_copy(iovec, iov_cnt, dest, len, false);
}

/* Fixed-format sense (SPC-4 §4.5.3), current error. */
void __tcmu_sense_set_data(uint8_t *sense_buf, uint8_t key, uint16_t asc_ascq)
{
	sense_buf[0] |= 0x70;
	sense_buf[2] = key;
	sense_buf[7] = 0x0a;
	sense_buf[12] = (uint8_t)(asc_ascq >> 8);
	sense_buf[13] = (uint8_t)asc_ascq;
}

int tcmu_sense_set_data(uint8_t *sense_buf, uint8_t key, uint16_t asc_ascq)
{
	memset(sense_buf, 0, TCMU_SENSE_BYTES);
	__tcmu_sense_set_data(sense_buf, key, asc_ascq);
	return TCMU_STS_PASSTHROUGH_ERR;
}

void tcmu_sense_set_info(uint8_t *sense_buf, uint32_t info)
{
	memset(sense_buf, 0, 18);
	sense_buf[0] |= 0x80; /* VALID: INFORMATION holds info */
	sense_buf[3] = (uint8_t)(info >> 24);
	sense_buf[4] = (uint8_t)(info >> 16);
	sense_buf[5] = (uint8_t)(info >> 8);
	sense_buf[6] = (uint8_t)info;
}

void tcmu_sense_set_key_specific_info(uint8_t *sense_buf, uint16_t info)
{
	memset(sense_buf, 0, 18);
	sense_buf[15] = 0x80; /* SKSV */
	sense_buf[16] = (uint8_t)(info >> 8);
	sense_buf[17] = (uint8_t)info;
}

void tcmu_set_thread_name(const char *prefix, struct tcmu_device *dev)
{
	char name[16];

	(void)dev;
	snprintf(name, sizeof(name), "tcmu-%s", prefix ? prefix : "");
	pthread_setname_np(pthread_self(), name);
}

/* ------------------------------------------------------------- events */

static void tcmu_event(struct tcmu_device *dev, const char *what)
{
	struct env *e = dev ? dev->env : tcmu_env;

	if (e)
		LOG_WARN(e, "%s: tcmu handler reports %s",
			 dev ? dev->name : "?", what);
}

/* The counters handler_rbd reports to the Ceph manager. */
void tcmu_notify_lock_lost(struct tcmu_device *dev)
{
	if (dev)
		__atomic_add_fetch(&dev->runner.lock_lost_cnt, 1,
				   __ATOMIC_RELAXED);
	tcmu_event(dev, "its lock lost");
}
void tcmu_notify_conn_lost(struct tcmu_device *dev)
{
	if (dev)
		__atomic_add_fetch(&dev->runner.conn_lost_cnt, 1,
				   __ATOMIC_RELAXED);
	tcmu_event(dev, "its connection lost");
}
void tcmu_notify_cmd_timed_out(struct tcmu_device *dev)
{
	if (dev)
		__atomic_add_fetch(&dev->runner.cmd_timed_out_cnt, 1,
				   __ATOMIC_RELAXED);
	tcmu_event(dev, "a command timed out");
}

/* ------------------------------------------------------------ logging */

static void tcmu_vlog(struct tcmu_device *dev, enum ut_log_level level,
		      const char *fmt, va_list ap)
{
	struct env *e = dev ? dev->env : tcmu_env;
	char line[512];
	size_t n;

	if (!e || level > e->log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (dev)
		ut_log(e, level, "%s: tcmu: %s", dev->name, line);
	else
		ut_log(e, level, "tcmu: %s", line);
}

#define TCMU_LOG_FN(fn, level)                                             \
	void fn(struct tcmu_device *dev, const char *funcname, int linenr, \
		const char *fmt, ...)                                      \
	{                                                                  \
		va_list ap;                                                \
		(void)funcname;                                            \
		(void)linenr;                                              \
		va_start(ap, fmt);                                         \
		tcmu_vlog(dev, level, fmt, ap);                            \
		va_end(ap);                                                \
	}
TCMU_LOG_FN(tcmu_crit_message, UT_LOG_ERROR)
TCMU_LOG_FN(tcmu_err_message, UT_LOG_ERROR)
TCMU_LOG_FN(tcmu_warn_message, UT_LOG_WARN)
TCMU_LOG_FN(tcmu_info_message, UT_LOG_INFO)
TCMU_LOG_FN(tcmu_dbg_message, UT_LOG_DEBUG)
TCMU_LOG_FN(tcmu_dbg_scsi_cmd_message, UT_LOG_TRACE)
