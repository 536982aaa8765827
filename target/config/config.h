/*
 * config.h — the configuration model and its two front ends.
 *
 * The daemon's configuration is one `struct ut_config`, filled from
 *   - an scst.conf-style file (the sysfs-format syntax of SCST's scst.conf,
 *     for the part that maps onto utarget), parsed from a memory buffer by
 *     ut_config_parse(), and
 *   - the command line (--listen, --target, --lun), applied on top by
 *     ut_config_apply_*().
 *
 * Parsing never touches the world: the caller reads the file.  Warnings
 * (unsupported attributes) and the one fatal error are reported through a
 * callback as "file:line:column: message".
 */
#ifndef UT_CONFIG_H
#define UT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backstore/backstore.h"
#include "scsi/alua.h"

#define UT_NAME_MAX 224 /* iSCSI names are at most 223 bytes */
#define UT_DEV_NAME_MAX 64
#define UT_PATH_MAX 4096
#define UT_MAX_LUNS 256 /* LUN numbers 0..255 per target/group */
#define UT_DEFAULT_TARGET "iqn.2026-11.org.utarget:default"
#define UT_DEFAULT_PORTAL "127.0.0.1:3260"
#define UT_DEFAULT_PORT 3260
/* SANITIZE OVERWRITE's default pace: a 1 TiB LU in 68 minutes, a quarter
 * or less of what one SSD writes, so that the other LUs of the backstore
 * keep most of its bandwidth (docs/configuration.md, sanitize_rate). */
#define UT_SANITIZE_BYTES_PER_S (256ull << 20)

/*
 * Caps.  A configuration file is input like any other: every count and
 * length it can grow is bounded, and exceeding a cap is an error.
 */
#define UT_CONFIG_MAX_BYTES (16u << 20)	  /* scst.conf buffer size */
#define UT_CONFIG_MAX_TOKEN 4096	  /* bytes in one word or string */
#define UT_DEV_SIZE_MAX (1ull << 60)	  /* 1 EiB: offsets stay in off_t */
#define UT_MEM_SIZE_MAX (16ull << 40)	  /* a mem device: 128 MiB of table */
#define UT_SANITIZE_RATE_MAX (1ull << 40) /* 1 TiB/s: beyond any disk */
#define UT_MAX_DEVS 1024		  /* devices in one configuration */
#define UT_MAX_TARGETS 256
#define UT_MAX_GROUPS 64	       /* initiator groups per target */
#define UT_MAX_INITIATORS 256	       /* INITIATOR patterns per group */
#define UT_MAX_USERS 16		       /* IncomingUser lines per target */
#define UT_MAX_PORTALS 32	       /* listening portals */
#define UT_MAX_ALLOWED_PORTALS 32      /* allowed_portal per target */
#define UT_MAX_LUN_MAPS 65536	       /* LUN lines, all targets and groups */
#define UT_MAX_INITIATOR_ENTRIES 65536 /* INITIATOR lines, all groups */
#define UT_MAX_DEV_GROUPS 64	       /* DEVICE_GROUP blocks */
#define UT_MAX_DG_DEVS 1024	       /* DEVICE lines per DEVICE_GROUP */
#define UT_MAX_TGT_GROUPS 16	       /* TARGET_GROUPs per DEVICE_GROUP */
#define UT_MAX_TG_TARGETS 32	       /* TARGET lines per TARGET_GROUP */
#define UT_PORT_NAME_MAX (UT_NAME_MAX + 12) /* "iqn,t,0xNNNN" */

/* Digest preference, in order: e.g. "CRC32C,None". */
enum ut_digest {
	UT_DIGEST_NONE = 0,
	UT_DIGEST_CRC32C = 1,
};

/*
 * iSCSI session parameters a target offers and the target-side keys of
 * SCST (QueuedCommands, NopIn*, RspTimeout, MaxSessions).  Values are the
 * target's proposal/limit; negotiation happens in target/iscsi/.
 */
struct ut_iscsi_params {
	enum ut_digest header_digest[2]; /* preference list */
	int header_digest_count;	 /* 1 or 2 */
	enum ut_digest data_digest[2];
	int data_digest_count;
	bool initial_r2t;		       /* default No (SCST) */
	bool immediate_data;		       /* default Yes */
	uint32_t max_recv_data_segment_length; /* 512..2^24-1, def 262144 */
	uint32_t max_xmit_data_segment_length; /* 512..2^24-1, def 262144 */
	uint32_t max_burst_length;	       /* 512..2^24-1, def 1048576 */
	uint32_t first_burst_length;	       /* 512..2^24-1, def 262144 */
	uint32_t max_outstanding_r2t;	       /* 1..65535, def 32 */
	uint32_t default_time2wait;	       /* 0..3600, def 2 */
	uint32_t default_time2retain;	       /* 0..3600, def 20 */
	uint32_t queued_commands;	       /* 1..2048, def 128 */
	uint32_t max_sessions;		       /* 0 = unlimited */
	uint32_t nop_in_interval_s;	       /* 0 = off, def 30 */
	uint32_t nop_in_timeout_s;	       /* def 30 */
	uint32_t rsp_timeout_s;		       /* def 90 */
	/* SessionBufferLimit: bytes of task data buffers one session may
	 * hold, of the server's 1 GiB budget (64 MiB..1 GiB, def 256 MiB) */
	uint32_t session_buffer_limit;
};

/* A device (SCST: HANDLER ... { DEVICE name { ... } }). */
struct ut_dev_cfg {
	char name[UT_DEV_NAME_MAX];
	enum bs_kind kind; /* BS_FILE, BS_BLOCK, BS_NULL, BS_MEM,
				   * BS_RBD, BS_TCMU */
	/* filename, empty if none; rbd: POOL/IMAGE; tcmu: HANDLER/CFG */
	char path[UT_PATH_MAX];
	uint64_t size_bytes;	  /* 0 = from the file */
	uint32_t block_size;	  /* 512 (default) or 4096 */
	uint32_t phys_block_size; /* --lun physblock=: 0 = block_size */
	bool read_only;
	bool thin; /* thin_provisioned */
	bool removable;
	bool write_through; /* WCE=0 */
	bool nv_cache;	    /* ignore SYNCHRONIZE CACHE */
	/* SANITIZE OVERWRITE pace (sanitize_rate, --sanitize-rate), bytes
	 * per second; 0 = as fast as the backstore goes. */
	uint64_t sanitize_bytes_per_s;
	char t10_vendor_id[9]; /* "UTARGET" default */
	char prod_id[17];      /* "utarget disk" default */
	char t10_dev_id[64];   /* default: device name */
	char usn[33];	       /* unit serial number; default derived */
	bool expl_alua;	       /* SET TARGET PORT GROUPS allowed (SCST) */
	/* rbd: ceph.conf ("" = librados' default), client id ("" =
	 * admin), cluster timeout (0 = 30 s), librbd writeback cache */
	char conf[256];
	char client_id[64];
	uint32_t timeout_s;
	bool cache;
	int line; /* where it was defined (0 = cmdline) */
};

/* One LUN mapping: LUN n device [ { read_only 1 } ]. */
struct ut_lun_cfg {
	uint32_t lun;
	char dev_name[UT_DEV_NAME_MAX];
	bool read_only;
	int line;
};

/* Authentication credential (issue: CHAP). */
struct ut_user_cfg {
	char name[256];
	char secret[256];
};

/* SCST initiator group: GROUP name { INITIATOR pattern; LUN n dev }. */
struct ut_group_cfg {
	char name[UT_DEV_NAME_MAX];
	char **initiators; /* patterns with * ? and leading ! */
	size_t initiator_count;
	struct ut_lun_cfg *luns;
	size_t lun_count;
};

struct ut_target_cfg {
	char iqn[UT_NAME_MAX];
	char alias[256];
	bool enabled;
	struct ut_lun_cfg *luns; /* the default LUN set */
	size_t lun_count;
	struct ut_group_cfg *groups;
	size_t group_count;
	struct ut_user_cfg *incoming; /* IncomingUser (CHAP) */
	size_t incoming_count;
	struct ut_user_cfg outgoing; /* OutgoingUser; name empty = none */
	char **allowed_portals;	     /* allowed_portal patterns */
	size_t allowed_portal_count;
	struct ut_iscsi_params params; /* starts as a copy of the driver's */
	/* rel_tgt_id: relative target port identifier of the target's port
	 * in its lowest portal group; 0 = assigned (ut_config_ports). */
	uint16_t rel_tgt_id;
	int line;
};

/*
 * ALUA (SPC-4 §5.15), SCST's syntax:
 *   DEVICE_GROUP name { DEVICE dev ... TARGET_GROUP name { group_id N
 *   state S preferred B TARGET port [ { rel_tgt_id N } ] } }
 * A TARGET line names a target port: "iqn,t,0xN" (the target's port in
 * portal group N), "iqn" (every port of a local target), or a port of
 * another node (any name, with rel_tgt_id), which is only reported.
 */
struct ut_tg_target_cfg {
	char name[UT_PORT_NAME_MAX];
	uint16_t rel_tgt_id; /* 0: the local port's own */
	int line;
};

struct ut_tgt_group_cfg {
	char name[UT_DEV_NAME_MAX];
	uint32_t group_id; /* 0..65535; UINT32_MAX: not set (an error) */
	enum scsi_alua_state state; /* default active */
	bool preferred;
	struct ut_tg_target_cfg *targets;
	size_t target_count;
	int line;
};

struct ut_dev_group_cfg {
	char name[UT_DEV_NAME_MAX];
	char **devs; /* device names */
	size_t dev_count;
	struct ut_tgt_group_cfg *tgroups;
	size_t tgroup_count;
	uint8_t transition_time_s; /* implicit_transition_time (extension) */
	int line;
};

struct ut_config {
	struct ut_dev_cfg *devs;
	size_t dev_count;
	struct ut_target_cfg *targets;
	size_t target_count;
	char **portals; /* "ADDR:PORT", IPv6 as "[::1]:3260" */
	size_t portal_count;
	/* Target portal group tag of each portal (RFC 7143 §4.4.1), 1..65535;
	 * NULL: every portal is in portal group 1. */
	uint16_t *portal_tpgts;
	struct ut_dev_group_cfg *dgroups; /* ALUA device groups */
	size_t dgroup_count;
	struct ut_iscsi_params params; /* TARGET_DRIVER iscsi defaults */
	bool iscsi_enabled;
	struct ut_user_cfg *discovery_incoming; /* discovery CHAP */
	size_t discovery_incoming_count;
	struct ut_user_cfg discovery_outgoing;
	bool has_secrets; /* any IncomingUser/OutgoingUser */
};

/* Diagnostic sink: severity 0 = warning, 1 = error. */
typedef void (*ut_config_diag_fn)(void *arg, int severity, const char *file,
				  int line, int column, const char *msg);

void ut_iscsi_params_default(struct ut_iscsi_params *p);
void ut_config_init(struct ut_config *cfg);
void ut_config_free(struct ut_config *cfg);

/* The embedded default: portal 127.0.0.1:3260, target
 * iqn.2026-11.org.utarget:default, LUN 0 = 1 GiB thin mem disk. */
int ut_config_default(struct ut_config *cfg);

/* Parse an scst.conf buffer into cfg (which must be ut_config_init()ed).
 * Returns 0, or -1 after reporting a syntax/semantic error through diag.
 * Unsupported attributes give warnings and are ignored.  On error cfg may
 * hold part of the file: ut_config_free() it.  diag may be NULL. */
int ut_config_parse(struct ut_config *cfg, const char *file, const char *buf,
		    size_t len, ut_config_diag_fn diag, void *diag_arg);

/* Check cross references (LUN -> device exists, no duplicate LUNs, LUN 0
 * present, sizes, block sizes).  Returns 0 or -1 with a diagnostic.
 * Diagnostics carry file NULL, the definition line (0 = command line)
 * and column 0: validation runs after the file and the command line have
 * been merged. */
int ut_config_validate(const struct ut_config *cfg, ut_config_diag_fn diag,
		       void *diag_arg);

/* True when S holds a control character (below 0x20, or DEL). */
bool ut_text_has_control(const char *s);

/* Parse a --lun SPEC: mem:SIZE, null:SIZE, file:PATH[,size=SIZE],
 * rbd:POOL/IMAGE[,conf=PATH][,id=NAME][,timeout=S][,cache] or
 * tcmu:HANDLER/CFGSTRING[,size=SIZE] with options ,ro
 * ,blocksize=512|4096 ,thin ,removable.  Fills dev (named
 * "lunN" by the caller's index).  Returns 0 or -1 with *err set to a
 * message in thread-local storage, valid until the next call. */
int ut_lun_spec_parse(const char *spec, struct ut_dev_cfg *dev,
		      const char **err);

/* Check an rbd path (POOL/IMAGE) or a tcmu one (HANDLER/CFGSTRING):
 * 0, or -1 with *err set as for ut_lun_spec_parse. */
int ut_remote_path_check(enum bs_kind kind, const char *path, const char **err);

/* Parse "1G", "64M", "512K", "4096", "1T" (binary units); 0 on success. */
int ut_size_parse(const char *s, uint64_t *out);

/* Command-line overrides.  A portal may end in ",tpgt=N" (its portal
 * group, 1..65535; default 1). */
int ut_config_set_portals(struct ut_config *cfg, char *const *portals,
			  size_t n);
/* Replace the LUN set of every target (or of the one target) with devs. */
int ut_config_set_luns(struct ut_config *cfg, const struct ut_dev_cfg *devs,
		       size_t n);
/* Rename the (only) target, or add one if none. */
int ut_config_set_target(struct ut_config *cfg, const char *iqn);

/* Parse "ADDR:PORT", "[v6]:PORT", "ADDR" (port 3260).  Writes the host part
 * without brackets into host (cap bytes) and the port; 0 on success. */
int ut_portal_parse(const char *s, char *host, size_t cap, uint16_t *port);

const struct ut_dev_cfg *ut_config_find_dev(const struct ut_config *cfg,
					    const char *name);

/* The portal group tag of portal i (1 when none was given). */
uint16_t ut_config_portal_tpgt(const struct ut_config *cfg, size_t i);

/*
 * Target ports (SPC-4 §4.3.5; for iSCSI one per target and portal group)
 * and their relative target port identifiers: given ones (a target's
 * rel_tgt_id for its lowest portal group, a TARGET_GROUP line naming the
 * port with rel_tgt_id), then the smallest identifiers not given, in the
 * order of targets and portal groups.  ut_config_ports() fills *out (a
 * malloc()ed array, in that order) and returns the count, or -1 after a
 * diagnostic (a conflict); validation reports the same errors.
 */
struct ut_port {
	size_t target;	     /* index in cfg->targets */
	uint16_t tpgt;	     /* portal group tag */
	uint16_t rel_tgt_id; /* relative target port identifier */
};
int ut_config_ports(const struct ut_config *cfg, struct ut_port **out,
		    ut_config_diag_fn diag, void *diag_arg);
/* Same portal groups, device groups and given rel_tgt_id, the states of
 * target port groups aside (what is fixed at start: reconfiguration
 * notes a difference; states it sets at once). */
bool ut_config_alua_equal(const struct ut_config *a, const struct ut_config *b);
/* The relative target port identifiers a TARGET_GROUP line stands for
 * (ports from ut_config_ports): its local ports', or the rel_tgt_id of a
 * port of another node.  Returns how many (at most cap), or -1. */
int ut_config_tg_target_ids(const struct ut_config *cfg,
			    const struct ut_port *ports, size_t nports,
			    const struct ut_tg_target_cfg *tt, uint16_t *ids,
			    size_t cap);
/* ------------------------------------------- copies and comparisons */

/* Deep copy of src into dst (dst is not freed first).  0, or -1 when
 * memory is short (dst is then empty, initialised). */
int ut_config_copy(struct ut_config *dst, const struct ut_config *src);
int ut_target_cfg_copy(struct ut_target_cfg *dst,
		       const struct ut_target_cfg *src);
/* Equal in everything that configures (definition lines aside). */
bool ut_config_equal(const struct ut_config *a, const struct ut_config *b);
bool ut_dev_cfg_equal(const struct ut_dev_cfg *a, const struct ut_dev_cfg *b);
bool ut_dev_cfg_equal_but_size(const struct ut_dev_cfg *a,
			       const struct ut_dev_cfg *b);
bool ut_target_cfg_equal(const struct ut_target_cfg *a,
			 const struct ut_target_cfg *b);
/* Same LUN sets, groups and allowed portals (what LUN masking uses). */
bool ut_target_luns_equal(const struct ut_target_cfg *a,
			  const struct ut_target_cfg *b);
bool ut_iscsi_params_equal(const struct ut_iscsi_params *a,
			   const struct ut_iscsi_params *b);

/* ------------------------------------------------------------ edits */

/* For the control operations (config_edit.c).  Adders return the new
 * element, or NULL when it exists already, a cap is reached or memory is
 * short; removers return 0, or -1 when there is no such element. */
void ut_dev_cfg_finish(struct ut_dev_cfg *dev); /* t10_dev_id, usn */
struct ut_dev_cfg *ut_config_add_dev(struct ut_config *cfg,
				     const struct ut_dev_cfg *dev);
int ut_config_remove_dev(struct ut_config *cfg, const char *name);
/* Does any LUN (of any target or group) name the device? */
bool ut_config_dev_used(const struct ut_config *cfg, const char *name);
struct ut_target_cfg *ut_config_find_target(struct ut_config *cfg,
					    const char *iqn);
struct ut_target_cfg *ut_config_add_target(struct ut_config *cfg,
					   const char *iqn);
int ut_config_remove_target(struct ut_config *cfg, const char *iqn);
struct ut_group_cfg *ut_target_find_group(struct ut_target_cfg *t,
					  const char *name);
struct ut_group_cfg *ut_target_add_group(struct ut_target_cfg *t,
					 const char *name);
int ut_target_remove_group(struct ut_target_cfg *t, const char *name);
int ut_group_add_initiator(struct ut_group_cfg *g, const char *pattern);
int ut_group_remove_initiator(struct ut_group_cfg *g, const char *pattern);
/* A LUN of a target's default set (g NULL) or of one of its groups. */
struct ut_lun_cfg *ut_lun_find(struct ut_target_cfg *t, struct ut_group_cfg *g,
			       uint32_t lun);
struct ut_lun_cfg *ut_lun_add(struct ut_target_cfg *t, struct ut_group_cfg *g,
			      uint32_t lun, const char *dev, bool read_only);
int ut_lun_remove(struct ut_target_cfg *t, struct ut_group_cfg *g,
		  uint32_t lun);
/* Set one attribute by its scst.conf name: an iSCSI parameter of a
 * target (QueuedCommands, MaxSessions, HeaderDigest, ...), or a device
 * attribute (size, read_only, write_through, nv_cache, removable,
 * thin_provisioned, t10_vendor_id, prod_id, t10_dev_id, usn).  0, or -1
 * with a message in err. */
int ut_params_set(struct ut_iscsi_params *p, const char *key, const char *value,
		  char *err, size_t errlen);
int ut_dev_attr_set(struct ut_dev_cfg *d, const char *key, const char *value,
		    char *err, size_t errlen);

/* The configuration as scst.conf text that ut_config_parse() reads back
 * into an equal configuration (ut_config_equal): *out is a NUL-terminated
 * malloc()ed buffer of *len bytes.  It holds CHAP secrets: whoever writes
 * it to a file makes that file private (mode 0600).  0 or -1. */
int ut_config_write(const struct ut_config *cfg, char **out, size_t *len);

#endif
