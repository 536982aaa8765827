/*
 * librbd_fake.c — a fake librbd.so.1 for test_env_real_rbd, built as
 * build/test/rbd/librbd_fake.so (not linked into the tests: disk_rbd_cluster.c
 * loads it with dlopen, as it loads librbd, when UTARGET_LIBRBD names
 * it).  It exports the rados_* and rbd_* calls disk_rbd_cluster.c resolves, with
 * librbd's own prototypes (<rbd/librbd.h>), over one RAM image, and the
 * controls of librbd_fake.h.
 *
 * Like librbd, it does a request's work and calls its completion on a
 * thread of its own (one, in submission order, skipping held ones), and
 * rbd_close() waits for the image's requests still out.  It records what
 * would be a misuse of librbd (a request on an image already closed) for
 * the test to check.
 */
#include <errno.h>
#include <pthread.h>
#include <rbd/librbd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "librbd_fake.h"

struct fimage {
	bool closed;
	int pending; /* requests submitted, completion not yet returned */
	struct fimage *next_all;
};

enum fop {
	OP_READV,
	OP_WRITEV,
	OP_FLUSH,
	OP_DISCARD,
	OP_ZEROES,
	OP_SAME,
	OP_CAW
};

struct fcomp {
	rbd_callback_t cb;
	void *arg;
	ssize_t ret;
	struct fimage *img;
	bool queued, held, forced;
	enum fop op;
	const struct iovec *iov;
	int iovcnt;
	uint64_t off, len;
	const char *buf, *cmp;
	size_t data_len;
	uint64_t *mismatch_off, forced_mismatch;
	struct fcomp *next;
};

struct fr_fail {
	int rc, skip, times;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_once_t completer_once = PTHREAD_ONCE_INIT;
static struct fake_rbd_stats st;
static struct fr_fail fails[FR_NFN];
static char fail_conf_key[64];
static int fail_conf_rc;
static bool no_addrs;
static int result_ret, result_n;
static uint64_t result_mismatch;
static bool hold;
static uint8_t *mem;
static uint64_t mem_size, obj_size_bytes;
static struct fcomp *q_head, **q_tail = &q_head;
static int pending;
static struct fimage *all_images;
static rbd_update_callback_t watch_cb;
static void *watch_arg;

/* ------------------------------------------------------------ controls */

struct fake_rbd_stats *fake_rbd_stats(void);
void fake_rbd_reset(uint64_t size, uint64_t obj_size);
void fake_rbd_fail_call(enum fake_rbd_fn fn, int rc, int skip, int times);
void fake_rbd_fail_conf(const char *key, int rc);
void fake_rbd_no_addrs(bool on);
void fake_rbd_result(int ret, int n, uint64_t mismatch_off);
void fake_rbd_hold(bool on);
void fake_rbd_release(void);
void fake_rbd_set_size(uint64_t size);
bool fake_rbd_fire_watch(void);
int fake_rbd_pending(void);
uint8_t *fake_rbd_mem(void);

struct fake_rbd_stats *fake_rbd_stats(void)
{
	return &st;
}

void fake_rbd_reset(uint64_t size, uint64_t obj_size)
{
	pthread_mutex_lock(&lock);
	while (all_images) {
		struct fimage *i = all_images;

		all_images = i->next_all;
		free(i);
	}
	memset(&st, 0, sizeof(st));
	memset(fails, 0, sizeof(fails));
	fail_conf_key[0] = '\0';
	fail_conf_rc = 0;
	no_addrs = false;
	result_n = 0;
	hold = false;
	free(mem);
	mem = calloc(1, size ? size : 1);
	mem_size = size;
	obj_size_bytes = obj_size;
	watch_cb = NULL;
	pthread_mutex_unlock(&lock);
}

void fake_rbd_fail_call(enum fake_rbd_fn fn, int rc, int skip, int times)
{
	pthread_mutex_lock(&lock);
	fails[fn] = (struct fr_fail){rc, skip, times};
	pthread_mutex_unlock(&lock);
}

void fake_rbd_fail_conf(const char *key, int rc)
{
	pthread_mutex_lock(&lock);
	snprintf(fail_conf_key, sizeof(fail_conf_key), "%s", key ? key : "");
	fail_conf_rc = rc;
	pthread_mutex_unlock(&lock);
}

void fake_rbd_no_addrs(bool on)
{
	no_addrs = on;
}

void fake_rbd_result(int ret, int n, uint64_t mismatch_off)
{
	pthread_mutex_lock(&lock);
	result_ret = ret;
	result_n = n;
	result_mismatch = mismatch_off;
	pthread_mutex_unlock(&lock);
}

void fake_rbd_hold(bool on)
{
	pthread_mutex_lock(&lock);
	hold = on;
	pthread_mutex_unlock(&lock);
}

void fake_rbd_release(void)
{
	pthread_mutex_lock(&lock);
	for (struct fcomp *c = q_head; c; c = c->next)
		c->held = false;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

void fake_rbd_set_size(uint64_t size)
{
	pthread_mutex_lock(&lock);
	mem = realloc(mem, size ? size : 1);
	if (size > mem_size)
		memset(mem + mem_size, 0, size - mem_size);
	mem_size = size;
	pthread_mutex_unlock(&lock);
}

static void *watch_main(void *arg)
{
	(void)arg;
	watch_cb(watch_arg);
	return NULL;
}

bool fake_rbd_fire_watch(void)
{
	pthread_t t;

	if (!watch_cb)
		return false;
	if (pthread_create(&t, NULL, watch_main, NULL) != 0)
		return false;
	pthread_join(t, NULL);
	return true;
}

int fake_rbd_pending(void)
{
	int n;

	pthread_mutex_lock(&lock);
	n = pending;
	pthread_mutex_unlock(&lock);
	return n;
}

uint8_t *fake_rbd_mem(void)
{
	return mem;
}

/* Loaded: a 1 MiB image, until a test resets it. */
__attribute__((constructor)) static void fake_rbd_init(void)
{
	fake_rbd_reset(1 << 20, 0);
}

/* 0, or the scripted failure of this call. */
static int scripted(enum fake_rbd_fn fn)
{
	struct fr_fail *f = &fails[fn];
	int rc = 0;

	pthread_mutex_lock(&lock);
	if (f->rc) {
		if (f->skip > 0) {
			f->skip--;
		} else if (f->times != 0) {
			rc = f->rc;
			if (f->times > 0 && --f->times == 0)
				f->rc = 0;
		}
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

/* ------------------------------------------------------------- rados */

int rados_create2(rados_t *pcluster, const char *const clustername,
		  const char *const name, uint64_t flags)
{
	int rc = scripted(FR_CREATE2);

	(void)clustername;
	(void)flags;
	if (rc)
		return rc;
	*pcluster = malloc(16);
	snprintf(st.user, sizeof(st.user), "%s", name);
	st.creates++;
	return 0;
}

int rados_conf_read_file(rados_t cluster, const char *path)
{
	(void)cluster;
	snprintf(st.conf_file, sizeof(st.conf_file), "%s", path ? path : "");
	return scripted(FR_CONF_READ_FILE);
}

int rados_conf_set(rados_t cluster, const char *option, const char *value)
{
	(void)cluster;
	if (st.nconf < FR_CONF_MAX) {
		snprintf(st.conf[st.nconf][0], 64, "%s", option);
		snprintf(st.conf[st.nconf][1], 64, "%s", value);
		st.nconf++;
	}
	if (fail_conf_rc && !strcmp(option, fail_conf_key))
		return fail_conf_rc;
	return 0;
}

int rados_connect(rados_t cluster)
{
	int rc = scripted(FR_CONNECT);

	(void)cluster;
	if (rc == 0)
		st.connects++;
	return rc;
}

void rados_shutdown(rados_t cluster)
{
	free(cluster);
	st.shutdowns++;
}

int rados_getaddrs(rados_t cluster, char **addrs)
{
	int rc = scripted(FR_GETADDRS);

	(void)cluster;
	if (rc)
		return rc;
	*addrs = no_addrs ? NULL : strdup("127.0.0.1:0/4242");
	return 0;
}

void rados_buffer_free(char *buf)
{
	free(buf);
	st.addrs_freed++;
}

int rados_ioctx_create(rados_t cluster, const char *pool_name,
		       rados_ioctx_t *ioctx)
{
	int rc = scripted(FR_IOCTX_CREATE);

	(void)cluster;
	if (rc)
		return rc;
	snprintf(st.pool, sizeof(st.pool), "%s", pool_name);
	*ioctx = malloc(16);
	st.ioctxs++;
	return 0;
}

void rados_ioctx_destroy(rados_ioctx_t io)
{
	free(io);
	st.ioctx_destroys++;
}

/* ------------------------------------------------------------- images */

static int open_image(const char *name, rbd_image_t *image, bool ro)
{
	int rc = scripted(FR_OPEN);
	struct fimage *i;

	if (rc)
		return rc;
	i = calloc(1, sizeof(*i));
	pthread_mutex_lock(&lock);
	i->next_all = all_images;
	all_images = i;
	pthread_mutex_unlock(&lock);
	snprintf(st.image, sizeof(st.image), "%s", name);
	*image = i;
	if (ro)
		st.opens_ro++;
	else
		st.opens++;
	return 0;
}

int rbd_open(rados_ioctx_t io, const char *name, rbd_image_t *image,
	     const char *snap_name)
{
	(void)io;
	(void)snap_name;
	return open_image(name, image, false);
}

int rbd_open_read_only(rados_ioctx_t io, const char *name, rbd_image_t *image,
		       const char *snap_name)
{
	(void)io;
	(void)snap_name;
	return open_image(name, image, true);
}

/* As librbd: the image's requests complete before it closes. */
int rbd_close(rbd_image_t image)
{
	struct fimage *i = image;

	pthread_mutex_lock(&lock);
	for (struct fcomp *c = q_head; c; c = c->next)
		if (c->img == i)
			c->held = false;
	pthread_cond_broadcast(&cond);
	while (i->pending > 0)
		pthread_cond_wait(&cond, &lock);
	i->closed = true;
	st.closes++;
	pthread_mutex_unlock(&lock);
	return 0;
}

int rbd_get_size(rbd_image_t image, uint64_t *size)
{
	int rc = scripted(FR_GET_SIZE);

	(void)image;
	pthread_mutex_lock(&lock);
	st.get_sizes++;
	*size = mem_size;
	pthread_mutex_unlock(&lock);
	return rc;
}

int rbd_stat(rbd_image_t image, rbd_image_info_t *info, size_t infosize)
{
	int rc = scripted(FR_STAT);

	(void)image;
	if (rc)
		return rc;
	memset(info, 0, infosize);
	info->size = mem_size;
	info->obj_size = obj_size_bytes;
	return 0;
}

int rbd_update_watch(rbd_image_t image, uint64_t *handle,
		     rbd_update_callback_t cb, void *arg)
{
	int rc = scripted(FR_UPDATE_WATCH);

	(void)image;
	if (rc)
		return rc;
	watch_cb = cb;
	watch_arg = arg;
	*handle = 7;
	st.watches++;
	return 0;
}

int rbd_update_unwatch(rbd_image_t image, uint64_t handle)
{
	(void)image;
	if (handle != 7)
		return -ENOENT;
	watch_cb = NULL;
	st.unwatches++;
	return 0;
}

/* -------------------------------------------------------- completions */

int rbd_aio_create_completion(void *cb_arg, rbd_callback_t complete_cb,
			      rbd_completion_t *c)
{
	int rc = scripted(FR_AIO_CREATE);
	struct fcomp *fc;

	if (rc)
		return rc;
	fc = calloc(1, sizeof(*fc));
	fc->cb = complete_cb;
	fc->arg = cb_arg;
	*c = fc;
	pthread_mutex_lock(&lock);
	st.aio_created++;
	pthread_mutex_unlock(&lock);
	return 0;
}

void rbd_aio_release(rbd_completion_t c)
{
	free(c);
	pthread_mutex_lock(&lock);
	st.aio_released++;
	pthread_mutex_unlock(&lock);
}

ssize_t rbd_aio_get_return_value(rbd_completion_t c)
{
	return ((struct fcomp *)c)->ret;
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* The request's work, on the completer thread, under lock. */
static ssize_t run_op(struct fcomp *c)
{
	uint64_t off = c->off, len = c->len;
	size_t done = 0;

	if (c->op == OP_FLUSH)
		return 0;
	if (off > mem_size || len > mem_size - off)
		return -EINVAL;
	switch (c->op) {
	case OP_READV:
		for (int i = 0; i < c->iovcnt; i++) {
			memcpy(c->iov[i].iov_base, mem + off + done,
			       c->iov[i].iov_len);
			done += c->iov[i].iov_len;
		}
		return (ssize_t)len;
	case OP_WRITEV:
		for (int i = 0; i < c->iovcnt; i++) {
			memcpy(mem + off + done, c->iov[i].iov_base,
			       c->iov[i].iov_len);
			done += c->iov[i].iov_len;
		}
		return (ssize_t)len;
	case OP_DISCARD:
	case OP_ZEROES:
		memset(mem + off, 0, len);
		return (ssize_t)len;
	case OP_SAME:
		if (!c->data_len || len % c->data_len)
			return -EINVAL;
		for (uint64_t at = 0; at < len; at += c->data_len)
			memcpy(mem + off + at, c->buf, c->data_len);
		return (ssize_t)len;
	case OP_CAW:
		for (uint64_t i = 0; i < len; i++)
			if (mem[off + i] != (uint8_t)c->cmp[i]) {
				*c->mismatch_off = off + i;
				return -EILSEQ;
			}
		memcpy(mem + off, c->buf, len);
		return (ssize_t)len;
	case OP_FLUSH:
		break;
	}
	return 0;
}

static void *completer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		struct fcomp **pp = &q_head, *c;
		struct fimage *img;

		while (*pp && (*pp)->held)
			pp = &(*pp)->next;
		if (!*pp) {
			pthread_cond_wait(&cond, &lock);
			continue;
		}
		c = *pp;
		*pp = c->next;
		if (!*pp)
			q_tail = pp;
		img = c->img;
		if (!c->forced)
			c->ret = run_op(c);
		else if (c->op == OP_CAW)
			*c->mismatch_off = c->forced_mismatch;
		pthread_mutex_unlock(&lock);
		c->cb(c, c->arg); /* may release c */
		pthread_mutex_lock(&lock);
		img->pending--;
		pending--;
		pthread_cond_broadcast(&cond);
	}
	return NULL;
}

static void completer_start(void)
{
	pthread_t t;

	pthread_create(&t, NULL, completer_main, NULL);
	pthread_detach(t);
}

static int submit(struct fcomp *c, rbd_image_t image, int *counter)
{
	int rc = scripted(FR_AIO_SUBMIT);

	if (rc)
		return rc;
	pthread_once(&completer_once, completer_start);
	pthread_mutex_lock(&lock);
	c->img = image;
	if (c->img->closed)
		st.aio_on_closed++;
	(*counter)++;
	c->held = hold;
	if (result_n > 0) {
		result_n--;
		c->forced = true;
		c->ret = result_ret;
		c->forced_mismatch = result_mismatch;
	}
	c->next = NULL;
	*q_tail = c;
	q_tail = &c->next;
	c->img->pending++;
	pending++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	return 0;
}

int rbd_aio_readv(rbd_image_t image, const struct iovec *iov, int iovcnt,
		  uint64_t off, rbd_completion_t c)
{
	struct fcomp *fc = c;

	fc->op = OP_READV;
	fc->iov = iov;
	fc->iovcnt = iovcnt;
	fc->off = off;
	fc->len = iov_total(iov, iovcnt);
	return submit(fc, image, &st.readv);
}

int rbd_aio_writev(rbd_image_t image, const struct iovec *iov, int iovcnt,
		   uint64_t off, rbd_completion_t c)
{
	struct fcomp *fc = c;

	fc->op = OP_WRITEV;
	fc->iov = iov;
	fc->iovcnt = iovcnt;
	fc->off = off;
	fc->len = iov_total(iov, iovcnt);
	return submit(fc, image, &st.writev);
}

int rbd_aio_flush(rbd_image_t image, rbd_completion_t c)
{
	struct fcomp *fc = c;

	fc->op = OP_FLUSH;
	return submit(fc, image, &st.flush);
}

int rbd_aio_discard(rbd_image_t image, uint64_t off, uint64_t len,
		    rbd_completion_t c)
{
	struct fcomp *fc = c;

	fc->op = OP_DISCARD;
	fc->off = off;
	fc->len = len;
	return submit(fc, image, &st.discard);
}

int rbd_aio_write_zeroes(rbd_image_t image, uint64_t off, size_t len,
			 rbd_completion_t c, int zero_flags, int op_flags)
{
	struct fcomp *fc = c;

	(void)zero_flags;
	(void)op_flags;
	fc->op = OP_ZEROES;
	fc->off = off;
	fc->len = len;
	return submit(fc, image, &st.write_zeroes);
}

int rbd_aio_writesame(rbd_image_t image, uint64_t off, size_t len,
		      const char *buf, size_t data_len, rbd_completion_t c,
		      int op_flags)
{
	struct fcomp *fc = c;

	(void)op_flags;
	fc->op = OP_SAME;
	fc->off = off;
	fc->len = len;
	fc->buf = buf;
	fc->data_len = data_len;
	return submit(fc, image, &st.writesame);
}

ssize_t rbd_aio_compare_and_write(rbd_image_t image, uint64_t off, size_t len,
				  const char *cmp_buf, const char *buf,
				  rbd_completion_t c, uint64_t *mismatch_off,
				  int op_flags)
{
	struct fcomp *fc = c;

	(void)op_flags;
	fc->op = OP_CAW;
	fc->off = off;
	fc->len = len;
	fc->cmp = cmp_buf;
	fc->buf = buf;
	fc->mismatch_off = mismatch_off;
	return submit(fc, image, &st.caw);
}
