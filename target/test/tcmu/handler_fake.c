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
 * CFGSTRING "/fail" makes open refuse.  Counters in fake_stats (read by
 * the test through dlsym) say which callouts ran.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env_real/tcmu_abi.h"

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
	f = calloc(1, sizeof(*f));
	f->size = tcmu_cfgfs_dev_get_info_u64(dev, "Size", &rc);
	if (rc < 0 || f->size == 0)
		return -22;
	f->mem = calloc(1, f->size);
	tcmu_dev_set_write_cache_enabled(dev, true);
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
	if (tcmur_register_handler(&fake) < 0 ||
	    tcmur_register_handler(&fakeasync) < 0)
		return -1;
	return tcmur_register_handler(&fakecmd);
}
