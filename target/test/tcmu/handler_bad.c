/*
 * handler_bad.c — tcmu-runner plugins that fail to load, for
 * test_env_real_tcmu (tcmu_api.c's loading), built once per variant into
 * build/test/tcmu-bad/ (-DBAD_<variant>, file handler_<variant>.so):
 *
 *   noinit     exports no handler_init
 *   initfail   handler_init fails (-EPERM) before registering anything
 *   ginit      registers handler "ginit", whose global init() fails (-EIO)
 *   other      registers "otherx", not the "other" its file name promises
 *   count      registers "counted"; its init() counts its calls in
 *              count_inits (a plugin's global init runs once)
 *
 * The directory also holds a file that is no shared object
 * (handler_junk.so) and names the scan must skip.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env_real/tcmu_abi.h"

int tcmur_register_handler(struct tcmur_handler *h);
int handler_init(void);

#if !defined(BAD_noinit) && !defined(BAD_initfail)
static int bad_open(struct tcmu_device *dev, bool reopen)
{
	(void)dev;
	(void)reopen;
	return -EIO;
}

static void bad_close(struct tcmu_device *dev)
{
	(void)dev;
}

static int bad_read(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		    struct iovec *iov, size_t n, size_t len, off_t off)
{
	(void)dev;
	(void)cmd;
	(void)iov;
	(void)n;
	(void)len;
	(void)off;
	return TCMU_STS_RD_ERR;
}
#endif

#if defined(BAD_noinit)
int bad_no_handler_init_here;
int bad_no_handler_init_here = 1;
#elif defined(BAD_initfail)
int handler_init(void)
{
	return -EPERM;
}
#else
#if defined(BAD_ginit)
#define BAD_SUBTYPE "ginit"
static int bad_init(void)
{
	return -EIO;
}
#elif defined(BAD_other)
#define BAD_SUBTYPE "otherx"
static int bad_init(void)
{
	return 0;
}
#elif defined(BAD_count)
#define BAD_SUBTYPE "counted"
int count_inits;
static int bad_init(void)
{
	count_inits++;
	return 0;
}
#else
#error "which variant? -DBAD_noinit, _initfail, _ginit, _other or _count"
#endif
static struct tcmur_handler bad = {
	.name = "bad",
	.subtype = BAD_SUBTYPE,
	.open = bad_open,
	.close = bad_close,
	.read = bad_read,
	.write = bad_read,
	.nr_threads = 1,
	.init = bad_init,
};

int handler_init(void)
{
	return tcmur_register_handler(&bad);
}
#endif
