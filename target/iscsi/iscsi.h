/*
 * iscsi.h — the iSCSI target server, as the outside sees it.
 *
 * A server is built from a configuration model, opens its LUs' backstores
 * and listens on its portals, all through the environment it is given.
 * Both worlds drive it the same way:
 *
 *   daemon:  env_real_new() -> iscsi_server_new() -> iscsi_server_start()
 *            -> env_real_run() ... SIGTERM -> iscsi_server_shutdown()
 *            ... the loops stop -> iscsi_server_take_back_io() (bounded
 *            wait for the stores) -> iscsi_server_free()
 *   simnet:  sim env -> iscsi_server_new() -> start -> run the scheduler;
 *            a simulated crash is iscsi_server_free() with no shutdown.
 */
#ifndef UT_ISCSI_H
#define UT_ISCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct env;
struct ut_config;
struct iscsi_server;

/* Counters, for tests, simulation oracles and the leak check. */
struct iscsi_server_stats {
	uint32_t connections; /* open connections (any state) */
	uint32_t sessions;    /* sessions in full feature phase */
	uint32_t tasks;	      /* SCSI tasks alive */
	uint64_t pdus_rx, pdus_tx;
	/* calls of the seam's conn_recv that returned bytes, and of its
	 * conn_send (each one system call in the real environment): PDUs
	 * per call is how well receives and sends are batched */
	uint64_t recv_calls, send_calls;
	/* of the send calls, those that sent a data segment from a file
	 * (conn_send_file: a sendmsg of the headers before it, then a
	 * sendfile) */
	uint64_t file_sends;
	uint64_t rejects_tx;
	uint64_t conns_dropped; /* closed for a protocol error */
	uint64_t scsi_cmds;	/* SCSI commands completed */
	uint64_t buffer_bytes;	/* task data buffers allocated now */
	/* Liveness, the target's own invariant: every SCSI command and TMF
	 * it accepts is answered, or its connection closed, within
	 * RspTimeout of its arrival. */
	uint32_t owed;		       /* accepted, not yet answered, on
				      * connections still open */
	uint64_t owed_oldest_age_ns;   /* how long the oldest of them has
				      * waited (0 if none) */
	uint64_t rsp_timeouts;	       /* connections closed because one
				      * waited past RspTimeout */
	uint64_t rsp_timeouts_stuck;   /* ... of which it waited on the
				      * target itself (inside the SCSI
				      * layer, or a TMF): a target bug */
	uint64_t rsp_timeouts_judging; /* ... of which its command is still
					* inside the SCSI layer, there on
					* its own for less than RspTimeout:
					* stuck if still there when it has */
};

/* Build a server from cfg (deep-copied where needed: cfg may be freed
 * after iscsi_server_start()).  Returns NULL with *err = -errno. */
struct iscsi_server *iscsi_server_new(struct env *env,
				      const struct ut_config *cfg, int *err);

/* Open every LU's backstore and listen on every portal.  Returns 0, or
 * -errno after logging what failed (nothing is left listening then). */
int iscsi_server_start(struct iscsi_server *s);

/* Stop accepting, ask initiators to log out (Async Message), and close
 * every connection once they have gone or grace_ms has passed.  done runs
 * when nothing is left (maybe before this returns). */
void iscsi_server_shutdown(struct iscsi_server *s, uint32_t grace_ms,
			   void (*done)(void *arg), void *arg);

/* Close every connection and take back from the backstores the requests
 * still in flight (sessions whose commands are at a stuck store), waiting
 * until deadline_ns (env clock) at most for those a device still holds.
 * Returns how many no device gave back: their tasks' memory may still be
 * read or written by the device, so the caller must keep the server (not
 * call iscsi_server_free) and may call this again.  Only once the
 * environment delivers nothing more (the reactors stopped). */
unsigned int iscsi_server_take_back_io(struct iscsi_server *s,
				       uint64_t deadline_ns);

/* Free everything at once: listeners, connections, sessions, LUs and their
 * backstores.  Safe after shutdown or without it (a simulated crash).  It
 * takes back the backstores' requests first without waiting
 * (iscsi_server_take_back_io) and asserts that none is left: a caller
 * whose stores may hold requests past the call (the daemon's threads and
 * io_uring) waits for them with iscsi_server_take_back_io first. */
void iscsi_server_free(struct iscsi_server *s);

void iscsi_server_get_stats(const struct iscsi_server *s,
			    struct iscsi_server_stats *out);

/* --------------------------------------------------- live changes */

/* The outcome of a reconfiguration (iscsi/reconfig.c). */
struct iscsi_reconf_result {
	int status;	      /* 0, or -errno */
	char msg[1024];	      /* what failed, or notes on what was done */
	unsigned int aborted; /* commands aborted after the drain time */
	uint64_t waited_ms;   /* until devices were closed, shrinks done */
	/* The change took effect (status may still be -ETIMEDOUT: a
	 * device it removed was still in use when it stopped waiting);
	 * false: nothing changed (a device failed to open, say). */
	bool applied;
};
typedef void (*iscsi_reconf_done_fn)(void *arg,
				     const struct iscsi_reconf_result *r);

struct iscsi_reconf_opts {
	bool force;	   /* disabling a target logs its sessions out */
	uint32_t drain_ms; /* a removed or shrunk LU waits this long for
			    * its commands, then aborts them (0: 5000) */
};

/* Make cfg (validated by the caller) the running configuration: the
 * difference is applied live, sessions keep running (reconfig.c).
 * Returns 0 when the change is under way (done runs later, never from
 * inside this call), or -errno with a message in err when it was refused
 * and nothing changed (-EBUSY: another change is still in progress). */
int iscsi_server_reconfigure(struct iscsi_server *s,
			     const struct ut_config *cfg,
			     const struct iscsi_reconf_opts *o,
			     iscsi_reconf_done_fn done, void *arg, char *err,
			     size_t errlen);

/* The running configuration (changed only by iscsi_server_reconfigure,
 * and in its ALUA states by iscsi_server_alua_set and SET TARGET PORT
 * GROUPS, which it shows as they are now).  Reactor 0. */
const struct ut_config *iscsi_server_config(struct iscsi_server *s);

/* ---------------------------------------------------------- queries */

/* One session as utargetctl shows it: identity, where it came from and
 * every operational parameter negotiated (RFC 7143 §13). */
struct iscsi_session_info {
	char initiator[224];
	char initiator_alias[256];
	uint8_t isid[6];
	uint16_t tsih;
	char target[224]; /* empty for discovery */
	bool discovery;
	char portal[64]; /* the local address it reached */
	char peer[64];
	uint16_t portal_group;
	unsigned int connections;
	uint32_t cmds_in_flight; /* tasks the session holds */
	uint32_t queue_depth;	 /* QueuedCommands: the CmdSN window */
	uint32_t exp_cmdsn, max_cmdsn;
	/* negotiated */
	bool header_digest, data_digest;
	uint32_t max_recv_dsl; /* ours (what the initiator may send) */
	uint32_t max_xmit_dsl; /* the initiator's MaxRecvDataSegmentLength */
	uint32_t max_burst, first_burst, max_outstanding_r2t;
	uint32_t default_time2wait, default_time2retain;
	uint32_t error_recovery_level;
	bool initial_r2t, immediate_data, data_pdu_in_order;
	bool data_seq_in_order;
};

/* Up to cap sessions into out (in the server's order); returns how many
 * there are (maybe more than cap).  Counters of sessions of other
 * reactors are read while they run: they may lag by a command. */
size_t iscsi_server_sessions(struct iscsi_server *s,
			     struct iscsi_session_info *out, size_t cap);

struct scsi_io_stats;
/* A device: its live capacity and statistics.  -ENOENT if unknown. */
struct iscsi_device_info {
	uint64_t size_bytes; /* what the LU reports now */
	uint32_t block_size;
	bool read_only;
	unsigned int nexuses; /* sessions mapping it */
};
int iscsi_server_device(struct iscsi_server *s, const char *name,
			struct iscsi_device_info *info,
			struct scsi_io_stats *stats);

/* Nanoseconds since iscsi_server_new(). */
uint64_t iscsi_server_uptime_ns(const struct iscsi_server *s);

/* Close a session now (its connection is dropped; the initiator may log
 * in again).  -ENOENT when no session has that TSIH. */
int iscsi_server_close_session(struct iscsi_server *s, uint16_t tsih);

/* ------------------------------------------------------------ ALUA */

/* ALUA device groups (scst.conf DEVICE_GROUP, tport.c), built at start. */
struct scsi_alua_group;
size_t iscsi_server_alua_count(const struct iscsi_server *s);
struct scsi_alua_group *iscsi_server_alua_at(struct iscsi_server *s, size_t i);
/* By name; NULL or "" names the only group when there is one. */
struct scsi_alua_group *iscsi_server_alua_group(struct iscsi_server *s,
						const char *name);
/* Set target port group tpg_id of device group `group` to the state named
 * (active, nonoptimized, standby, unavailable, offline, transitioning):
 * an implicit transition, with ASYMMETRIC ACCESS STATE CHANGED on every
 * nexus of the group's LUs.  0, -ENOENT (group), -EINVAL (state). */
int iscsi_server_alua_set(struct iscsi_server *s, const char *group,
			  uint16_t tpg_id, const char *state);
/* The SCSI name of the target port with relative identifier rel_id
 * ("iqn,t,0x0002", or a port of another node as configured); -ENOENT. */
int iscsi_server_port_name(const struct iscsi_server *s, uint16_t rel_id,
			   char *buf, size_t cap);

#endif
