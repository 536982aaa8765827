/*
 * disk_rbd_cluster.c — an RBD device's connection to the Ceph cluster:
 * librbd loaded with dlopen() (once per process), connecting and opening
 * the image, the update watch on its header, and the device's control
 * thread, which does what may wait on the cluster after startup.
 *
 * Resize: an update watch on the image header (rbd_update_watch) wakes
 * the control thread, which reads the size (a refresh of the header: it
 * may wait on the cluster) and sends it to the home reactor; there the
 * device updates its capacity and calls its resized() hook.
 *
 * Connecting again.  Submitters count themselves in `users` before they
 * look at `state`; the control thread sets state DOWN, waits for users to
 * reach 0 (requests in flight complete or time out), and only then closes
 * the old image and opens a new connection.  So no reactor ever uses an
 * image being closed, without a lock on the data path.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "env_real/disk_rbd.h"

#define RBD_RECONNECT_MIN_MS 500
#define RBD_RECONNECT_MAX_MS 10000

/* --------------------------------------------------------- librbd */

struct rbd_lib er_rbd_lib;
static char rbd_lib_error[256];
static pthread_once_t rbd_lib_once = PTHREAD_ONCE_INIT;
static bool rbd_lib_ok;

/* UTARGET_LIBRBD: another librbd to load (the tests' fake,
 * target/test/rbd/librbd_fake.c; a librbd built elsewhere). */
static void rbd_lib_load(void)
{
	const char *lib = getenv("UTARGET_LIBRBD");
	void *h;

	if (!lib || !*lib)
		lib = "librbd.so.1";
	h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(rbd_lib_error, sizeof(rbd_lib_error),
			 "cannot load librbd (apt-get install librbd1): %s",
			 dlerror());
		return;
	}
#define RBD_LIB_SYM(f)                                               \
	er_rbd_lib.f = (__typeof__(f) *)dlsym(h, #f);                \
	if (!er_rbd_lib.f) {                                         \
		snprintf(rbd_lib_error, sizeof(rbd_lib_error),       \
			 "%s has no %s (librbd too old?)", lib, #f); \
		return;                                              \
	}
	RBD_LIB_FUNCS(RBD_LIB_SYM)
#undef RBD_LIB_SYM
	rbd_lib_ok = true; /* the handle stays open for the process */
}

const char *er_rbd_lib_load(void)
{
	pthread_once(&rbd_lib_once, rbd_lib_load);
	return rbd_lib_ok ? NULL : rbd_lib_error;
}

/* ------------------------------------------------------- connection */

static int rbd_conf_set(struct er_rbd *d, rados_t c, const char *k,
			const char *v)
{
	int rc = er_rbd_lib.rados_conf_set(c, k, v);

	if (rc < 0)
		LOG_ERR(&d->home->env, "%s: cannot set %s=%s: %s", rbd_name(d),
			k, v, strerror(-rc));
	return rc;
}

/* Connect and open the image: at startup (before serving) or on the
 * control thread.  Fills d->cluster/ioctx/image or returns -errno with
 * *what naming the step that failed. */
int er_rbd_connect(struct er_rbd *d, const char **what)
{
	char user[80], t[16];
	rados_t c = NULL;
	rados_ioctx_t io = NULL;
	rbd_image_t img = NULL;
	char *addrs = NULL;
	int rc;

	snprintf(user, sizeof(user), "client.%s", d->id);
	snprintf(t, sizeof(t), "%u", d->timeout_s);
	*what = "create a cluster handle";
	rc = er_rbd_lib.rados_create2(&c, "ceph", user, 0);
	if (rc < 0)
		return rc;
	*what = "read the configuration";
	rc = er_rbd_lib.rados_conf_read_file(c, d->conf);
	if (rc < 0)
		goto fail;
	/* Bounded waits everywhere (see the top of the file); discards and
	 * zeroing that read back as zeros even when partial (UNMAP with
	 * LBPRZ, WRITE SAME of zeros); the writeback cache only when asked
	 * for, its flushes then made by SYNCHRONIZE CACHE and FUA. */
	*what = "configure the client";
	if (rbd_conf_set(d, c, "client_mount_timeout", t) < 0 ||
	    rbd_conf_set(d, c, "rados_mon_op_timeout", t) < 0 ||
	    rbd_conf_set(d, c, "rados_osd_op_timeout", t) < 0 ||
	    rbd_conf_set(d, c, "rbd_non_blocking_aio", "true") < 0 ||
	    rbd_conf_set(d, c, "rbd_skip_partial_discard", "false") < 0 ||
	    rbd_conf_set(d, c, "rbd_cache", d->cache ? "true" : "false") < 0 ||
	    rbd_conf_set(d, c, "rbd_cache_writethrough_until_flush", "false") <
		    0) {
		rc = -EINVAL;
		goto fail;
	}
	*what = "connect to the cluster";
	rc = er_rbd_lib.rados_connect(c);
	if (rc < 0)
		goto fail;
	*what = "open the pool";
	rc = er_rbd_lib.rados_ioctx_create(c, d->pool, &io);
	if (rc < 0)
		goto fail;
	*what = "open the image";
	rc = d->dev.read_only
		     ? er_rbd_lib.rbd_open_read_only(io, d->image_name, &img,
						     NULL)
		     : er_rbd_lib.rbd_open(io, d->image_name, &img, NULL);
	if (rc < 0)
		goto fail;
	if (er_rbd_lib.rados_getaddrs(c, &addrs) == 0 && addrs) {
		/* The address is what `ceph osd blocklist add` takes. */
		LOG_INFO(&d->home->env, "%s: connected as %s, address %s",
			 rbd_name(d), user, addrs);
		er_rbd_lib.rados_buffer_free(addrs);
	}
	d->cluster = c;
	d->ioctx = io;
	d->image = img;
	return 0;
fail:
	if (io)
		er_rbd_lib.rados_ioctx_destroy(io);
	if (c)
		er_rbd_lib.rados_shutdown(c);
	return rc;
}

void er_rbd_disconnect(struct er_rbd *d)
{
	if (d->watching) {
		er_rbd_lib.rbd_update_unwatch(d->image, d->watch_handle);
		d->watching = false;
	}
	if (d->image)
		er_rbd_lib.rbd_close(d->image);
	if (d->ioctx)
		er_rbd_lib.rados_ioctx_destroy(d->ioctx);
	if (d->cluster)
		er_rbd_lib.rados_shutdown(d->cluster);
	d->image = NULL;
	d->ioctx = NULL;
	d->cluster = NULL;
}

/* A librbd thread: the image header changed (resize, snapshot, ...). */
static void rbd_header_updated(void *arg)
{
	struct er_rbd *d = arg;

	pthread_mutex_lock(&d->lock);
	d->want_size = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

void er_rbd_watch(struct er_rbd *d)
{
	int rc = er_rbd_lib.rbd_update_watch(d->image, &d->watch_handle,
					     rbd_header_updated, d);

	d->watching = rc == 0;
	if (rc < 0)
		LOG_WARN(&d->home->env,
			 "%s: no update watch (%s): resizes are not followed",
			 rbd_name(d), strerror(-rc));
}

/* ----------------------------------------------------- control thread */

/* On home: the control thread read a new size. */
void er_rbd_size_apply(struct er_msg *m)
{
	struct er_rbd *d = er_container_of(m, struct er_rbd, size_msg);
	uint64_t bytes;

	/* First: a reading stored after this sends the message again. */
	atomic_store(&d->size_pending, false);
	bytes = atomic_load(&d->new_size_bytes);

	bytes -= bytes % d->dev.block_size;
	if (bytes == d->dev.size_bytes || bytes == 0)
		return;
	LOG_INFO(&d->home->env, "%s: image resized from %llu to %llu bytes",
		 rbd_name(d), (unsigned long long)d->dev.size_bytes,
		 (unsigned long long)bytes);
	d->dev.size_bytes = bytes;
	if (d->dev.resized)
		d->dev.resized(&d->dev, d->dev.resized_arg);
}

static void rbd_read_size(struct er_rbd *d)
{
	uint64_t size = 0;
	int rc;

	/* Only while UP: the image is ours to use like a request's. */
	atomic_fetch_add(&d->users, 1);
	if (atomic_load(&d->state) != RBD_UP) {
		atomic_fetch_sub(&d->users, 1);
		return;
	}
	rc = er_rbd_lib.rbd_get_size(d->image, &size);
	atomic_fetch_sub(&d->users, 1);
	if (rc < 0) {
		LOG_WARN(&d->home->env, "%s: cannot read the image size: %s",
			 rbd_name(d), strerror(-rc));
		return;
	}
	atomic_store(&d->new_size_bytes, size);
	/* Not while it is queued: sent twice, it would be linked into the
	 * reactor's list twice. */
	if (!atomic_exchange(&d->size_pending, true))
		er_msg_send(d->home, &d->size_msg);
}

static void rbd_sleep_ms(struct er_rbd *d, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	if (!d->stop)
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	pthread_mutex_unlock(&d->lock);
}

/* Blocklisted (or the connection otherwise dead): wait for the requests
 * using the old image, drop it, connect again until it works. */
static void rbd_reconnect(struct er_rbd *d)
{
	unsigned int delay_ms = RBD_RECONNECT_MIN_MS;
	const char *what;
	int rc;

	LOG_WARN(&d->home->env,
		 "%s: the cluster fenced this client (blocklisted); "
		 "connecting again",
		 rbd_name(d));
	while (atomic_load(&d->users) != 0)
		rbd_sleep_ms(d, 10);
	er_rbd_disconnect(d);
	for (;;) {
		pthread_mutex_lock(&d->lock);
		if (d->stop) {
			pthread_mutex_unlock(&d->lock);
			return;
		}
		pthread_mutex_unlock(&d->lock);
		rc = er_rbd_connect(d, &what);
		if (rc == 0)
			break;
		LOG_WARN(&d->home->env, "%s: cannot %s: %s; again in %u ms",
			 rbd_name(d), what, strerror(-rc), delay_ms);
		rbd_sleep_ms(d, delay_ms);
		delay_ms = delay_ms * 2 > RBD_RECONNECT_MAX_MS
				   ? RBD_RECONNECT_MAX_MS
				   : delay_ms * 2;
	}
	er_rbd_watch(d);
	LOG_INFO(&d->home->env, "%s: connected again", rbd_name(d));
	atomic_store(&d->state, RBD_UP);
	rbd_read_size(d); /* it may have changed meanwhile */
}

void *er_rbd_ctl_main(void *arg)
{
	struct er_rbd *d = arg;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		bool reconnect, size;

		while (!d->stop && !d->want_reconnect && !d->want_size)
			pthread_cond_wait(&d->cond, &d->lock);
		if (d->stop)
			break;
		reconnect = d->want_reconnect;
		size = d->want_size;
		d->want_reconnect = d->want_size = false;
		pthread_mutex_unlock(&d->lock);
		if (reconnect)
			rbd_reconnect(d);
		else if (size)
			rbd_read_size(d);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* From any thread: stop using the connection, have it replaced. */
void er_rbd_fenced(struct er_rbd *d)
{
	int up = RBD_UP;

	if (!atomic_compare_exchange_strong(&d->state, &up, RBD_DOWN))
		return; /* already reconnecting or closing */
	pthread_mutex_lock(&d->lock);
	d->want_reconnect = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}
