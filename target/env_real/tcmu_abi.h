/*
 * tcmu_abi.h — the binary interface between tcmu-runner 1.5.x and its
 * handler plugins (handler_*.so), as utarget provides it (disk_tcmu.c,
 * tcmu_api.c).
 *
 * A plugin is a shared object exporting handler_init(), which calls
 * tcmur_register_handler() with a struct tcmur_handler.  It has no
 * DT_NEEDED on libtcmu: every tcmu_* and tcmur_* function it calls is
 * resolved against the executable that loads it, so build/utarget exports
 * those (tcmu_api.c, linked with --dynamic-list=target/env_real/tcmu.syms).
 *
 * The layouts below must match the plugins' compiled view: field order
 * and types are the ABI (tcmu-runner's tcmu-runner.h and
 * libtcmu_common.h, version 1.5.4 as Debian 12 ships it).  Names are ours
 * where the plugins cannot see them.
 */
#ifndef UT_TCMU_ABI_H
#define UT_TCMU_ABI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

struct tcmu_device; /* ours, opaque to plugins (disk_tcmu.c) */
struct tcmulib_cfg_info;

/* Handler return codes (libtcmu_common.h). */
enum {
	TCMU_STS_ASYNC_HANDLED = -2,
	TCMU_STS_NOT_HANDLED = -1,
	TCMU_STS_OK = 0,
	TCMU_STS_NO_RESOURCE,
	TCMU_STS_PASSTHROUGH_ERR, /* the plugin built the sense itself */
	TCMU_STS_BUSY,
	TCMU_STS_WR_ERR,
	TCMU_STS_RD_ERR,
	TCMU_STS_MISCOMPARE,
	TCMU_STS_INVALID_CMD,
	TCMU_STS_INVALID_CDB,
	TCMU_STS_INVALID_PARAM_LIST,
	TCMU_STS_INVALID_PARAM_LIST_LEN,
	TCMU_STS_TIMEOUT,
	TCMU_STS_FENCED,
	TCMU_STS_HW_ERR,
	TCMU_STS_RANGE,
	TCMU_STS_FRMT_IN_PROGRESS,
	TCMU_STS_CAPACITY_CHANGED,
	TCMU_STS_NOTSUPP_SAVE_PARAMS,
	TCMU_STS_WR_ERR_INCOMPAT_FRMT,
	TCMU_STS_TRANSITION,
	TCMU_STS_IMPL_TRANSITION_ERR,
	TCMU_STS_EXPL_TRANSITION_ERR,
	TCMU_STS_NO_LOCK_HOLDERS,
};

#define TCMU_SENSE_BYTES 96

/* One command as libtcmu hands it over. */
struct tcmulib_cmd {
	uint16_t cmd_id;
	uint8_t *cdb;
	struct iovec *iovec;
	size_t iov_cnt;
	uint8_t sense_buf[TCMU_SENSE_BYTES];
	void *hm_private;
};

/* ccan's list_node, embedded in tcmur_cmd. */
struct tcmu_list_node {
	struct tcmu_list_node *next, *prev;
};

/* One command as tcmu-runner hands it to a plugin's callouts. */
struct tcmur_cmd {
	struct tcmulib_cmd *lib_cmd;
	struct iovec *iovec;
	size_t iov_cnt;
	void *iov_base_copy;
	void *cmd_state;
	size_t requested;
	struct tcmu_list_node cmds_list_entry;
	struct timespec start_time;
	bool timed_out;
	void (*done)(struct tcmu_device *dev, struct tcmur_cmd *cmd, int ret);
};

/* What a plugin registers. */
struct tcmur_handler {
	const char *name;
	const char *subtype; /* the HANDLER of tcmu:HANDLER/CFGSTRING */
	const char *cfg_desc;
	void *opaque;
	bool (*check_config)(const char *cfgstring, char **reason);
	int (*reconfig)(struct tcmu_device *dev, struct tcmulib_cfg_info *cfg);
	int (*open)(struct tcmu_device *dev, bool reopen);
	void (*close)(struct tcmu_device *dev);
	/* > 0: the I/O callouts block; run them on this many threads.
	 * 0: they only queue, completing through tcmur_cmd_complete(). */
	int nr_threads;
	int (*handle_cmd)(struct tcmu_device *dev, struct tcmur_cmd *cmd);
	int (*read)(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		    struct iovec *iovec, size_t iov_cnt, size_t len, off_t off);
	int (*write)(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		     struct iovec *iovec, size_t iov_cnt, size_t len,
		     off_t off);
	int (*flush)(struct tcmu_device *dev, struct tcmur_cmd *cmd);
	int (*unmap)(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		     uint64_t off, uint64_t len);
	int (*writesame)(struct tcmu_device *dev, struct tcmur_cmd *cmd,
			 uint64_t off, uint64_t len, struct iovec *iovec,
			 size_t iov_cnt);
	int (*caw)(struct tcmu_device *dev, struct tcmur_cmd *cmd, uint64_t off,
		   uint64_t len, struct iovec *iovec, size_t iov_cnt);
	int (*report_event)(struct tcmu_device *dev);
	int (*lock)(struct tcmu_device *dev, uint16_t tag);
	int (*unlock)(struct tcmu_device *dev);
	int (*get_lock_tag)(struct tcmu_device *dev, uint16_t *tag);
	int (*get_lock_state)(struct tcmu_device *dev);
	bool _is_dbus_handler;
	bool (*update_logdir)(void);
	int (*init)(void);
	void (*destroy)(void);
};

/*
 * tcmu-runner's own per-device state (struct tcmur_device), which
 * tcmu_dev_get_private() returns: handler_rbd reads its event counters
 * and lock state when it reports status to the Ceph manager.  We keep the
 * prefix it reads, and room for the rest, zeroed.
 */
struct tcmur_device_abi {
	struct tcmu_device *dev;
	void *hm_private;
	unsigned long cmdproc_thread; /* pthread_t */
	uint32_t flags;
	uint8_t failover_type;
	struct tcmu_list_node recovery_entry;
	uint64_t lock_lost_cnt;
	uint64_t conn_lost_cnt;
	uint64_t cmd_timed_out_cnt;
	void *event_work;
	bool lock_lost;
	uint8_t lock_state; /* 0: TCMUR_DEV_LOCK_UNLOCKED */
	uint8_t rest[1024]; /* mutexes, queues: never read by plugins */
};

/* ------------------------------------------------- utarget's side */

/* What tcmu_dev_get_* / _set_* read and write: the device as the plugin
 * configures it (block size, LBAs, write cache, unmap limits). */
struct tcmu_device {
	struct env *env;     /* for the plugin's log lines */
	char name[64];	     /* the LUN's device name */
	char *cfgstring;     /* "HANDLER/CFGSTRING" as configfs has it */
	uint64_t size_bytes; /* configfs "Size" */
	uint64_t num_lbas;
	uint32_t block_size;
	uint32_t max_xfer_len; /* blocks */
	uint32_t opt_xcopy_rw_len;
	uint32_t max_unmap_len;
	uint32_t opt_unmap_gran;
	uint32_t unmap_gran_align;
	bool write_cache, solid_state, unmap_enabled;
	char wwn[40];
	void *priv; /* tcmu_dev_get_private: &runner below */
	struct tcmur_device_abi runner;
	void *runner_priv; /* tcmur_dev_set_private: the plugin's state */
	struct er_tcmu *owner;
};

/* tcmu_api.c: the registry of plugins loaded so far. */
const struct tcmur_handler *tcmu_api_find(const char *subtype);
/* Load handler_NAME.so from dir (or, when it does not exist, every
 * handler_*.so there) until a plugin registers subtype.  Returns the
 * handler or NULL with why[] filled. */
const struct tcmur_handler *tcmu_api_load(const char *dir, const char *subtype,
					  char *why, size_t why_len);
/* The log sink for plugin lines that name no device. */
void tcmu_api_set_env(struct env *env);
/* disk_tcmu.c: a plugin completed an asynchronous command. */
void er_tcmu_complete(struct tcmu_device *dev, struct tcmur_cmd *cmd, int sts);

#endif
