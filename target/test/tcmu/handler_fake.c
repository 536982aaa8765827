/*
 * tcmu_fake_handler.c — a tcmu-runner handler plugin for test_env_real,
 * built as build/test/tcmu/handler_fake.so (target/test/tcmu/:
 * not linked into the unit tests).  It resolves the tcmu_* and
 * tcmur_* entry points against the executable, as Debian's plugins do
 * against tcmu-runner (and utarget), and registers three handlers on one
 * RAM image per device:
 *
 *   fake       nr_threads 1: read, write, flush, caw (blocking callouts)
 *   fakeasync  nr_threads 0: read, write complete later, from a thread of
 *              the plugin, through tcmur_cmd_complete
 *   fakecmd    handle_cmd only: READ(10)/WRITE(10)/SYNCHRONIZE CACHE(10)
 *
 * and, for test_env_real_tcmu, handlers whose answers the test scripts
 * through fake_ctl:
 *
 *   fakests    nr_threads 1: every callout answers fake_ctl.sts (ASYNC_
 *              HANDLED: completed later from a thread with fake_ctl.
 *              async_sts); check_config refuses "//refuse" (with a
 *              reason) and "//refuse-quietly" (without)
 *   fakeq      nr_threads 0: read/write queue and complete later with
 *              fake_ctl.sts when it is OK or ASYNC_HANDLED, else answer it
 *              at once
 *   fakebig    handle_cmd only, nothing stored: records each CDB in
 *              fake_ctl.cdb (READ/WRITE(16) for large devices)
 *   fakemany   nr_threads 64 (more than a device runs)
 *   fakenorw   open only: no read/write, no handle_cmd
 *   fakenowr   read without write
 *   fakenoopen no open callout
 *   qcow       the blocking fake under the name whose size utarget reads
 *              from a qcow2 header
 *
 * CFGSTRING "/fail" makes open refuse, "/fail-errno" refuse with -EACCES,
 * "/nocache" turn the write cache off.
 * Counters in fake_stats (read by the test through dlsym) say which
 * callouts ran.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env_real/tcmu_abi.h"
#include "handler_fake.h"

/* The plugin-facing API (tcmu_api.c provides it). */
int tcmur_register_handler(struct tcmur_handler *h);
void tcmur_cmd_complete(struct tcmu_device *dev, void *data, int rc);
void *tcmur_dev_get_private(struct tcmu_device *dev);
void tcmur_dev_set_private(struct tcmu_device *dev, void *priv);
char *tcmu_dev_get_cfgstring(struct tcmu_device *dev);
uint32_t tcmu_dev_get_block_size(struct tcmu_device *dev);
uint64_t tcmu_cfgfs_dev_get_info_u64(struct tcmu_device *dev, const char *name,
				     int *fn_ret);
size_t tcmu_memcpy_into_iovec(struct iovec *iovec, size_t iov_cnt, void *src,
			      size_t len);
size_t tcmu_memcpy_from_iovec(void *dest, size_t len, struct iovec *iovec,
			      size_t iov_cnt);
off_t tcmu_iovec_compare(void *mem, struct iovec *iovec, size_t size);
size_t tcmu_iovec_seek(struct iovec *iovec, size_t count);
void tcmu_sense_set_info(uint8_t *sense_buf, uint32_t info);
uint64_t tcmu_cdb_get_lba(uint8_t *cdb);
uint32_t tcmu_cdb_get_xfer_length(uint8_t *cdb);
void tcmu_dev_set_write_cache_enabled(struct tcmu_device *dev, bool on);
int handler_init(void);

struct fake_stats {
	int reads, writes, flushes, caws, cmds, async_done;
	int opens, closes; /* devices opened and closed (test_env_real_open) */
};
struct fake_stats fake_stats;

struct fake_ctl fake_ctl; /* handler_fake.h */

struct fake_dev {
	uint8_t *mem;
	uint64_t size;
};

static int fake_open(struct tcmu_device *dev, bool reopen)
{
	const char *cfg = strchr(tcmu_dev_get_cfgstring(dev), '/');
	struct fake_dev *f;
	int rc;

	(void)reopen;
	if (!cfg || !strcmp(cfg, "//fail"))
		return -1;
	if (!strcmp(cfg, "//fail-errno"))
		return -13;
	f = calloc(1, sizeof(*f));
	f->size = tcmu_cfgfs_dev_get_info_u64(dev, "Size", &rc);
	if (rc < 0 || f->size == 0)
		return -22;
	f->mem = calloc(1, f->size);
	/* "/nocache": a plugin that turns the write cache off */
	tcmu_dev_set_write_cache_enabled(dev, strcmp(cfg, "//nocache") != 0);
	tcmur_dev_set_private(dev, f);
	__atomic_add_fetch(&fake_stats.opens, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static void fake_close(struct tcmu_device *dev)
{
	struct fake_dev *f = tcmur_dev_get_private(dev);

	free(f->mem);
	free(f);
	__atomic_add_fetch(&fake_stats.closes, 1, __ATOMIC_SEQ_CST);
}

static int fake_read(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		     struct iovec *iov, size_t n, size_t len, off_t off)
{
	struct fake_dev *f = tcmur_dev_get_private(dev);

	(void)cmd;
	__atomic_add_fetch(&fake_stats.reads, 1, __ATOMIC_SEQ_CST);
	tcmu_memcpy_into_iovec(iov, n, f->mem + off, len);
	return TCMU_STS_OK;
}

static int fake_write(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		      struct iovec *iov, size_t n, size_t len, off_t off)
{
	struct fake_dev *f = tcmur_dev_get_private(dev);

	(void)cmd;
	__atomic_add_fetch(&fake_stats.writes, 1, __ATOMIC_SEQ_CST);
	tcmu_memcpy_from_iovec(f->mem + off, len, iov, n);
	return TCMU_STS_OK;
}

static int fake_flush(struct tcmu_device *dev, struct tcmur_cmd *cmd)
{
	(void)dev;
	(void)cmd;
	__atomic_add_fetch(&fake_stats.flushes, 1, __ATOMIC_SEQ_CST);
	return TCMU_STS_OK;
}

static int fake_caw(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		    uint64_t off, uint64_t len, struct iovec *iov, size_t n)
{
	struct fake_dev *f = tcmur_dev_get_private(dev);
	off_t at = tcmu_iovec_compare(f->mem + off, iov, len);

	__atomic_add_fetch(&fake_stats.caws, 1, __ATOMIC_SEQ_CST);
	if (at >= 0) {
		tcmu_sense_set_info(cmd->lib_cmd->sense_buf, (uint32_t)at);
		return TCMU_STS_MISCOMPARE;
	}
	tcmu_iovec_seek(iov, len);
	while (n > 0 && iov->iov_len == 0) {
		iov++;
		n--;
	}
	tcmu_memcpy_from_iovec(f->mem + off, len, iov, n);
	return TCMU_STS_OK;
}

/* fakeasync: the callout queues; a thread of ours completes it. */
struct fake_async {
	struct tcmu_device *dev;
	struct tcmur_cmd *cmd;
	int (*fn)(struct tcmu_device *, struct tcmur_cmd *, struct iovec *,
		  size_t, size_t, off_t);
	struct iovec *iov;
	size_t n, len;
	off_t off;
};

static void *fake_async_main(void *arg)
{
	struct fake_async *a = arg;
	int sts;

	usleep(1000);
	sts = a->fn(a->dev, a->cmd, a->iov, a->n, a->len, a->off);
	__atomic_add_fetch(&fake_stats.async_done, 1, __ATOMIC_SEQ_CST);
	tcmur_cmd_complete(a->dev, a->cmd, sts);
	free(a);
	return NULL;
}

static int fake_queue(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		      struct iovec *iov, size_t n, size_t len, off_t off,
		      bool wr)
{
	struct fake_async *a = malloc(sizeof(*a));
	pthread_t th;

	*a = (struct fake_async){dev, cmd, wr ? fake_write : fake_read, iov, n,
				 len, off};
	if (pthread_create(&th, NULL, fake_async_main, a) != 0) {
		free(a);
		return TCMU_STS_NO_RESOURCE;
	}
	pthread_detach(th);
	return TCMU_STS_OK;
}

static int fake_flush_rw(struct tcmu_device *dev, struct tcmur_cmd *cmd,
			 struct iovec *iov, size_t n, size_t len, off_t off)
{
	(void)iov;
	(void)n;
	(void)len;
	(void)off;
	return fake_flush(dev, cmd);
}

/* A queuing plugin's flush completes later too (tcmu-runner takes OK
 * from a callout of an nr_threads == 0 plugin as "queued"). */
static int fake_aflush(struct tcmu_device *dev, struct tcmur_cmd *cmd)
{
	struct fake_async *a = malloc(sizeof(*a));
	pthread_t th;

	*a = (struct fake_async){dev, cmd, fake_flush_rw, NULL, 0, 0, 0};
	if (pthread_create(&th, NULL, fake_async_main, a) != 0) {
		free(a);
		return TCMU_STS_NO_RESOURCE;
	}
	pthread_detach(th);
	return TCMU_STS_OK;
}

static int fake_aread(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		      struct iovec *iov, size_t n, size_t len, off_t off)
{
	return fake_queue(dev, cmd, iov, n, len, off, false);
}

static int fake_awrite(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		       struct iovec *iov, size_t n, size_t len, off_t off)
{
	return fake_queue(dev, cmd, iov, n, len, off, true);
}

/* fakecmd: its own (tiny) SCSI command set. */
static int fake_handle_cmd(struct tcmu_device *dev, struct tcmur_cmd *rcmd)
{
	struct tcmulib_cmd *cmd = rcmd->lib_cmd;
	uint32_t bs = tcmu_dev_get_block_size(dev);
	uint64_t off = tcmu_cdb_get_lba(cmd->cdb) * bs;
	size_t len = (size_t)tcmu_cdb_get_xfer_length(cmd->cdb) * bs;

	__atomic_add_fetch(&fake_stats.cmds, 1, __ATOMIC_SEQ_CST);
	switch (cmd->cdb[0]) {
	case 0x28:
		return fake_read(dev, rcmd, cmd->iovec, cmd->iov_cnt, len,
				 (off_t)off);
	case 0x2a:
		return fake_write(dev, rcmd, cmd->iovec, cmd->iov_cnt, len,
				  (off_t)off);
	case 0x35:
		return fake_flush(dev, rcmd);
	default:
		return TCMU_STS_NOT_HANDLED;
	}
}

/* fakests: every callout answers fake_ctl.sts. */
static void *fake_later_main(void *arg)
{
	struct fake_async *a = arg;

	usleep(1000);
	tcmur_cmd_complete(a->dev, a->cmd, fake_ctl.async_sts);
	free(a);
	return NULL;
}

static int fake_scripted(struct tcmu_device *dev, struct tcmur_cmd *cmd)
{
	struct fake_async *a;
	pthread_t th;

	__atomic_add_fetch(&fake_ctl.calls, 1, __ATOMIC_SEQ_CST);
	if (fake_ctl.sts == TCMU_STS_MISCOMPARE && !fake_ctl.miscompare_no_info)
		tcmu_sense_set_info(cmd->lib_cmd->sense_buf,
				    fake_ctl.miscompare_at);
	if (fake_ctl.sts != TCMU_STS_ASYNC_HANDLED)
		return fake_ctl.sts;
	a = calloc(1, sizeof(*a));
	a->dev = dev;
	a->cmd = cmd;
	if (pthread_create(&th, NULL, fake_later_main, a) != 0) {
		free(a);
		return TCMU_STS_NO_RESOURCE;
	}
	pthread_detach(th);
	return TCMU_STS_ASYNC_HANDLED;
}

static int fake_s_rw(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		     struct iovec *iov, size_t n, size_t len, off_t off)
{
	(void)iov;
	(void)n;
	(void)len;
	(void)off;
	return fake_scripted(dev, cmd);
}

static int fake_s_flush(struct tcmu_device *dev, struct tcmur_cmd *cmd)
{
	return fake_scripted(dev, cmd);
}

static int fake_s_unmap(struct tcmu_device *dev, struct tcmur_cmd *cmd,
			uint64_t off, uint64_t len)
{
	fake_ctl.unmap_off = off;
	fake_ctl.unmap_len = len;
	return fake_scripted(dev, cmd);
}

static int fake_s_same(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		       uint64_t off, uint64_t len, struct iovec *iov, size_t n)
{
	(void)off;
	(void)len;
	fake_ctl.ws_iov_len = n ? iov[0].iov_len : 0;
	return fake_scripted(dev, cmd);
}

static int fake_s_rw_caw(struct tcmu_device *dev, struct tcmur_cmd *cmd,
			 uint64_t off, uint64_t len, struct iovec *iov,
			 size_t n)
{
	(void)off;
	(void)len;
	(void)iov;
	(void)n;
	return fake_scripted(dev, cmd);
}

static bool fake_check_config(const char *cfgstring, char **reason)
{
	const char *cfg = strchr(cfgstring, '/');

	if (cfg && !strcmp(cfg, "//refuse")) {
		*reason = strdup("the fake refuses it");
		return false;
	}
	return !cfg || strcmp(cfg, "//refuse-quietly");
}

/* fakeq: queues OK and ASYNC_HANDLED, answers the rest at once. */
static int fake_q_rw(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		     struct iovec *iov, size_t n, size_t len, off_t off)
{
	struct fake_async *a;
	pthread_t th;

	__atomic_add_fetch(&fake_ctl.calls, 1, __ATOMIC_SEQ_CST);
	if (fake_ctl.sts != TCMU_STS_OK &&
	    fake_ctl.sts != TCMU_STS_ASYNC_HANDLED)
		return fake_ctl.sts;
	a = malloc(sizeof(*a));
	*a = (struct fake_async){dev, cmd, fake_read, iov, n, len, off};
	if (pthread_create(&th, NULL, fake_async_main, a) != 0) {
		free(a);
		return TCMU_STS_NO_RESOURCE;
	}
	pthread_detach(th);
	return fake_ctl.sts;
}

/* fakebig: a device too large to hold, CDBs recorded. */
static int fake_big_open(struct tcmu_device *dev, bool reopen)
{
	(void)dev;
	(void)reopen;
	return 0;
}

static void fake_big_close(struct tcmu_device *dev)
{
	(void)dev;
}

static int fake_big_cmd(struct tcmu_device *dev, struct tcmur_cmd *rcmd)
{
	(void)dev;
	__atomic_add_fetch(&fake_ctl.calls, 1, __ATOMIC_SEQ_CST);
	memcpy(fake_ctl.cdb, rcmd->lib_cmd->cdb, 16);
	return TCMU_STS_OK;
}

static struct tcmur_handler fakests = {
	.name = "fake, scripted",
	.subtype = "fakests",
	.check_config = fake_check_config,
	.open = fake_open,
	.close = fake_close,
	.read = fake_s_rw,
	.write = fake_s_rw,
	.flush = fake_s_flush,
	.unmap = fake_s_unmap,
	.writesame = fake_s_same,
	.caw = fake_s_rw_caw,
	.nr_threads = 1,
};

static struct tcmur_handler fakeq = {
	.name = "fake, queuing, scripted",
	.subtype = "fakeq",
	.open = fake_open,
	.close = fake_close,
	.read = fake_q_rw,
	.write = fake_q_rw,
	.nr_threads = 0,
};

static struct tcmur_handler fakebig = {
	.subtype = "fakebig",
	.open = fake_big_open,
	.close = fake_big_close,
	.handle_cmd = fake_big_cmd,
	.nr_threads = 1,
};

static struct tcmur_handler fakemany = {
	.name = "fake, many threads",
	.subtype = "fakemany",
	.open = fake_open,
	.close = fake_close,
	.read = fake_read,
	.write = fake_write,
	.nr_threads = 64,
};

static struct tcmur_handler fakenorw = {
	.name = "fake, no I/O callouts",
	.subtype = "fakenorw",
	.open = fake_open,
	.close = fake_close,
};

static struct tcmur_handler fakenowr = {
	.name = "fake, read only",
	.subtype = "fakenowr",
	.open = fake_open,
	.close = fake_close,
	.read = fake_read,
};

static struct tcmur_handler fakenoopen = {
	.name = "fake, no open",
	.subtype = "fakenoopen",
	.close = fake_close,
	.read = fake_read,
	.write = fake_write,
};

static struct tcmur_handler fakeqcow = {
	.name = "fake, as qcow",
	.subtype = "qcow",
	.open = fake_open,
	.close = fake_close,
	.read = fake_read,
	.write = fake_write,
	.nr_threads = 1,
};

static struct tcmur_handler fake = {
	.name = "fake, blocking",
	.subtype = "fake",
	.open = fake_open,
	.close = fake_close,
	.read = fake_read,
	.write = fake_write,
	.flush = fake_flush,
	.caw = fake_caw,
	.nr_threads = 1,
};

static struct tcmur_handler fakeasync = {
	.name = "fake, asynchronous",
	.subtype = "fakeasync",
	.open = fake_open,
	.close = fake_close,
	.read = fake_aread,
	.write = fake_awrite,
	.flush = fake_aflush,
	.nr_threads = 0,
};

static struct tcmur_handler fakecmd = {
	.name = "fake, handle_cmd",
	.subtype = "fakecmd",
	.open = fake_open,
	.close = fake_close,
	.handle_cmd = fake_handle_cmd,
	.nr_threads = 1,
};

int handler_init(void)
{
	struct tcmur_handler *all[] = {&fake,	  &fakeasync, &fakecmd,
				       &fakests,  &fakeq,     &fakebig,
				       &fakemany, &fakenorw,  &fakenowr,
				       &fakeqcow, &fakenoopen};

	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		if (tcmur_register_handler(all[i]) < 0)
			return -1;
	return 0;
}
