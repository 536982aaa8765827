/*
 * disk_rbd.h — what disk_rbd.c (the device: requests, open, close) and
 * disk_rbd_cluster.c (librbd loaded, the connection to the cluster, the
 * control thread) share: librbd's entry points, the device and a request
 * in librbd's hands.
 */
#ifndef UT_ENV_REAL_DISK_RBD_H
#define UT_ENV_REAL_DISK_RBD_H

#include <pthread.h>
#include <rbd/librbd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backstore/backstore.h"
#include "env_real/env_real_int.h"

#define RBD_IOV_MAX 16 /* iovecs per request; the SCSI layer sends 1 */

/* The librbd and librados calls we use, resolved once with dlsym. */
#define RBD_LIB_FUNCS(X)             \
	X(rados_create2)             \
	X(rados_conf_read_file)      \
	X(rados_conf_set)            \
	X(rados_connect)             \
	X(rados_shutdown)            \
	X(rados_getaddrs)            \
	X(rados_buffer_free)         \
	X(rados_ioctx_create)        \
	X(rados_ioctx_destroy)       \
	X(rbd_open)                  \
	X(rbd_open_read_only)        \
	X(rbd_close)                 \
	X(rbd_get_size)              \
	X(rbd_stat)                  \
	X(rbd_update_watch)          \
	X(rbd_update_unwatch)        \
	X(rbd_aio_create_completion) \
	X(rbd_aio_release)           \
	X(rbd_aio_get_return_value)  \
	X(rbd_aio_readv)             \
	X(rbd_aio_writev)            \
	X(rbd_aio_flush)             \
	X(rbd_aio_discard)           \
	X(rbd_aio_write_zeroes)      \
	X(rbd_aio_writesame)         \
	X(rbd_aio_compare_and_write)

struct rbd_lib {
#define RBD_LIB_FIELD(f) __typeof__(f) *f;
	RBD_LIB_FUNCS(RBD_LIB_FIELD)
#undef RBD_LIB_FIELD
};

/* Resolved by er_rbd_lib_load(); valid once it returned NULL. */
extern struct rbd_lib er_rbd_lib;

/* ---------------------------------------------------------- devices */

enum rbd_state {
	RBD_UP,	  /* requests go to the image */
	RBD_DOWN, /* connecting again: requests fail with -ENOTCONN */
	RBD_CLOSING,
};

struct er_rbd;

/* One request in librbd's hands. */
struct er_rbd_io {
	struct er_msg msg; /* the completion, back to the submitter */
	struct er_rbd *d;
	struct er_reactor *r; /* the submitter */
	struct bs_req *req;
	rbd_completion_t c;
	ssize_t ret;	       /* librbd's result, or our early -errno */
	uint64_t mismatch_off; /* COMPARE AND WRITE: image offset */
	bool then_flush;       /* FUA with the writeback cache on */
	bool counted;	       /* holds a reference in d->users */
	struct iovec iov[RBD_IOV_MAX];
	int iovcnt;
	struct er_rbd_io *next_free;
};

struct er_rbd {
	struct bs_dev dev;
	struct er_reactor *home; /* opened here: logs, resize */
	char name[64];
	char pool[128], image_name[256];
	char *conf;  /* NULL: librados' default search */
	char id[64]; /* client id, without "client." */
	uint32_t timeout_s;
	bool cache;
	uint64_t obj_size; /* bytes per RADOS object of the image */

	/* The connection; replaced only by the control thread while no
	 * request uses it (users == 0 with state DOWN). */
	rados_t cluster;
	rados_ioctx_t ioctx;
	rbd_image_t image;
	uint64_t watch_handle;
	bool watching;

	atomic_int state;	 /* enum rbd_state */
	atomic_uint users;	 /* submitters and requests using `image` */
	atomic_uint outstanding; /* er_rbd_io handed out */

	pthread_mutex_t lock; /* free list and the control thread's flags */
	pthread_cond_t cond;
	struct er_rbd_io *free_ios;
	struct er_rbd_io **all_ios; /* every er_rbd_io, for close */
	size_t all_count, all_cap;
	bool want_reconnect, want_size, stop;
	pthread_t ctl;
	bool ctl_started;

	/* Resize: the control thread's reading, applied on home.  The
	 * message is in flight at most once (size_pending): a reading made
	 * meanwhile is the one applied. */
	struct er_msg size_msg;
	atomic_ullong new_size_bytes;
	atomic_bool size_pending;

	/* Closed while the reactors run (a LUN removed): off the reactor. */
	struct er_job close_job;
};

static inline const char *rbd_name(const struct er_rbd *d)
{
	return d->name;
}

/* disk_rbd_cluster.c */
/* Load librbd (once per process): NULL, or why it cannot be used. */
const char *er_rbd_lib_load(void);
/* Connect and open the image: at startup (before serving) or on the
 * control thread.  Fills d->cluster/ioctx/image or returns -errno with
 * *what naming the step that failed. */
int er_rbd_connect(struct er_rbd *d, const char **what);
void er_rbd_disconnect(struct er_rbd *d);
/* Watch the image header: a resize wakes the control thread. */
void er_rbd_watch(struct er_rbd *d);
/* On home: the control thread read a new size (d->size_msg's fn). */
void er_rbd_size_apply(struct er_msg *m);
/* The control thread: connects again after fencing, reads the size. */
void *er_rbd_ctl_main(void *arg);
/* From any thread: stop using the connection, have it replaced. */
void er_rbd_fenced(struct er_rbd *d);

#endif
