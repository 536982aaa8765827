/*
 * librbd_fake.h — the control interface of build/test/rbd/librbd_fake.so
 * (librbd_fake.c), a stand-in for librbd.so.1 that disk_rbd_cluster.c loads when
 * UTARGET_LIBRBD names it (test_env_real_rbd.c).
 *
 * The fake serves one RAM image (fake_rbd_reset) and completes every
 * asynchronous request on a thread of its own, as librbd does.  A test
 * scripts it: a call that fails (fake_rbd_fail), completions with a
 * result of its choosing (fake_rbd_result), completions held until it
 * lets them go (fake_rbd_hold, fake_rbd_release), a header update
 * (fake_rbd_fire_watch); and reads what the target did in fake_rbd_stats.
 * The test reaches these through dlsym on the loaded library, so that it
 * talks to the very copy disk_rbd_cluster.c uses.
 */
#ifndef UT_TEST_LIBRBD_FAKE_H
#define UT_TEST_LIBRBD_FAKE_H

#include <stdbool.h>
#include <stdint.h>

/* The calls the fake exports are those disk_rbd_cluster.c resolves
 * (RBD_LIB_FUNCS, env_real/disk_rbd.h): the Makefile builds
 * build/test/rbd/no-<call>.so, the fake without that one (a librbd too
 * old), for each name that list holds. */

/* The calls a test can make fail. */
enum fake_rbd_fn {
	FR_CREATE2,
	FR_CONF_READ_FILE,
	FR_CONNECT,
	FR_IOCTX_CREATE,
	FR_OPEN, /* rbd_open and rbd_open_read_only */
	FR_GETADDRS,
	FR_STAT,
	FR_GET_SIZE,
	FR_UPDATE_WATCH,
	FR_AIO_CREATE, /* rbd_aio_create_completion */
	FR_AIO_SUBMIT, /* every rbd_aio_* that submits */
	FR_NFN,
};

#define FR_CONF_MAX 16

/* What the target did (counters only grow until fake_rbd_reset). */
struct fake_rbd_stats {
	int creates, shutdowns;	       /* rados_create2 ok, rados_shutdown */
	int connects;		       /* rados_connect ok */
	int ioctxs, ioctx_destroys;    /* rados_ioctx_create ok, destroy */
	int opens, opens_ro, closes;   /* rbd_open(_read_only) ok, close */
	int watches, unwatches;	       /* rbd_update_watch ok, unwatch */
	int get_sizes;		       /* rbd_get_size calls */
	int aio_created, aio_released; /* completions */
	int readv, writev, flush, discard, write_zeroes, writesame, caw;
	int aio_on_closed;   /* requests on an image already closed: a bug */
	int addrs_freed;     /* rados_buffer_free */
	char user[80];	     /* rados_create2's name */
	char conf_file[256]; /* rados_conf_read_file's path ("" for NULL) */
	char pool[128], image[256];
	int nconf;		       /* rados_conf_set calls ... */
	char conf[FR_CONF_MAX][2][64]; /* ... key and value */
};

/* Resolved by the test with dlsym (names as below). */
typedef struct fake_rbd_stats *(*fake_rbd_stats_fn)(void);
/* A new image of size bytes (zeros), objects of obj_size bytes (0: stat
 * answers 0), counters and scripts cleared.  Between tests, with no
 * image open. */
typedef void (*fake_rbd_reset_fn)(uint64_t size, uint64_t obj_size);
/* fn succeeds skip more times, then fails with rc (-errno) times times
 * (< 0: until scripted again).  rc 0 clears. */
typedef void (*fake_rbd_fail_fn)(enum fake_rbd_fn fn, int rc, int skip,
				 int times);
/* rados_conf_set of key fails with rc (NULL: none). */
typedef void (*fake_rbd_fail_conf_fn)(const char *key, int rc);
/* rados_getaddrs answers 0 with no address. */
typedef void (*fake_rbd_no_addrs_fn)(bool on);
/* The next n requests submitted complete with ret instead of doing
 * anything (mismatch_off for a COMPARE AND WRITE's -EILSEQ). */
typedef void (*fake_rbd_result_fn)(int ret, int n, uint64_t mismatch_off);
/* Requests submitted from now on are held (on) or not (off). */
typedef void (*fake_rbd_hold_fn)(bool on);
/* Complete the held requests now. */
typedef void (*fake_rbd_release_fn)(void);
/* The image's size changes (no callback). */
typedef void (*fake_rbd_set_size_fn)(uint64_t size);
/* Call the update watch's callback from a thread of the fake; false when
 * nobody watches. */
typedef bool (*fake_rbd_fire_watch_fn)(void);
/* Requests submitted and not completed yet. */
typedef int (*fake_rbd_pending_fn)(void);
/* The image's bytes (for checking what a write left). */
typedef uint8_t *(*fake_rbd_mem_fn)(void);

#endif
