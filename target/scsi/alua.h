/*
 * alua.h — asymmetric logical unit access (SPC-4 §5.15), as the rest of
 * utarget sees it.
 *
 * A SCSI target device (one utarget instance) has target ports: for
 * iSCSI, one per target name and target portal group tag ("iqn,t,0x0002"),
 * each with a relative target port identifier.  A *device group* is a set
 * of logical units that share *target port groups*: each target port
 * group has an identifier, a set of relative target ports and one
 * asymmetric access state, which decides what a command that reaches one
 * of those LUs through one of those ports may do:
 *
 *   active/optimized, active/non-optimized   everything
 *   standby        INQUIRY, REPORT LUNS, REQUEST SENSE, the ALUA commands,
 *                  MODE SENSE/SELECT, PERSISTENT RESERVE IN/OUT,
 *                  READ CAPACITY; else NOT READY, 04h/0Bh
 *   unavailable    INQUIRY, REPORT LUNS, REQUEST SENSE, the ALUA commands,
 *                  READ CAPACITY; else NOT READY, 04h/0Ch
 *   transitioning  INQUIRY, REPORT LUNS, REQUEST SENSE, REPORT TARGET
 *                  PORT GROUPS; else NOT READY, 04h/0Ah
 *   offline        the same as transitioning; else NOT READY, 04h/12h
 *
 * A logical unit in no device group has no ALUA (TPGS 00b).  States change
 * implicitly (configuration, the control socket, simulation scripts:
 * scsi_alua_set_state()) or explicitly (SET TARGET PORT GROUPS, on LUs
 * whose device has expl_alua); every change gives every I_T nexus of every
 * LU of the group an ASYMMETRIC ACCESS STATE CHANGED unit attention,
 * except the nexus that sent the SET TARGET PORT GROUPS.
 *
 * Threads: states are read without a lock on the data path (one byte,
 * atomically); changes take the group's mutex; the unit attentions are
 * queued afterwards under each LU's lock (locks stay leaves).
 */
#ifndef UT_SCSI_ALUA_H
#define UT_SCSI_ALUA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct env;
struct scsi_lu;
struct scsi_alua_group;

/* Asymmetric access states (SPC-4 table 384 / §6.36). */
enum scsi_alua_state {
	SCSI_ALUA_OPTIMIZED = 0x0,
	SCSI_ALUA_NON_OPTIMIZED = 0x1,
	SCSI_ALUA_STANDBY = 0x2,
	SCSI_ALUA_UNAVAILABLE = 0x3,
	SCSI_ALUA_OFFLINE = 0xe,
	SCSI_ALUA_TRANSITIONING = 0xf,
};

/* Limits (RTPG data of a full group stays under SCSI_RSP_MAX). */
#define SCSI_ALUA_MAX_TPGS 16	   /* target port groups per device group */
#define SCSI_ALUA_MAX_TPG_PORTS 32 /* relative target ports per group */

/* SCST's names: active, nonoptimized, standby, unavailable, offline,
 * transitioning.  parse also takes "optimized" and "non-optimized". */
const char *scsi_alua_state_name(enum scsi_alua_state st);
int scsi_alua_state_parse(const char *s, enum scsi_alua_state *out);

/* A device group of at most max_lus LUs at a time.  transition_time_s is
 * the IMPLICIT TRANSITION TIME that REPORT TARGET PORT GROUPS reports (0:
 * unspecified).  NULL on ENOMEM. */
struct scsi_alua_group *scsi_alua_group_new(struct env *env, const char *name,
					    uint8_t transition_time_s,
					    size_t max_lus);
/* Free the group; its LUs are freed first (or go on without ALUA). */
void scsi_alua_group_free(struct scsi_alua_group *g);
const char *scsi_alua_group_name(const struct scsi_alua_group *g);

/* Add target port group tpg_id (unique in the group) with its initial
 * state.  0, -EEXIST, -EINVAL (state), -ENOSPC (SCSI_ALUA_MAX_TPGS). */
int scsi_alua_tpg_add(struct scsi_alua_group *g, uint16_t tpg_id,
		      enum scsi_alua_state st, bool preferred);
/* Put relative target port rel_port_id (1..65535, in no other group of g)
 * in target port group tpg_id.  0, -ENOENT, -EEXIST, -EINVAL, -ENOSPC. */
int scsi_alua_tpg_add_port(struct scsi_alua_group *g, uint16_t tpg_id,
			   uint16_t rel_port_id);
/* Make lu a member (before any session maps it); explicit allows SET
 * TARGET PORT GROUPS through it (TPGS 11b rather than 01b).  0, -EEXIST
 * (in a group already), -ENOSPC (max_lus).  Members join and leave on one
 * thread (the control path); a state change on another reactor walks the
 * members without a lock, so a member that left stays alive until every
 * reactor has passed a callback boundary (the server's retire rounds). */
int scsi_alua_group_add_lu(struct scsi_alua_group *g, struct scsi_lu *lu,
			   bool explicit_ok);
/* lu leaves its group, if any (before it is freed). */
void scsi_alua_lu_leave(struct scsi_lu *lu);

/* An implicit change of target port group tpg_id to st (transitioning and
 * offline included): ASYMMETRIC ACCESS STATE CHANGED on every I_T nexus
 * of every LU of g when the state differs.  0 or -ENOENT, -EINVAL. */
int scsi_alua_set_state(struct scsi_alua_group *g, uint16_t tpg_id,
			enum scsi_alua_state st);
/* The state of tpg_id now; -ENOENT if g has no such group. */
int scsi_alua_get_state(const struct scsi_alua_group *g, uint16_t tpg_id,
			enum scsi_alua_state *st);

/* Walk the target port groups of g (for status reports): index 0.. until
 * it returns false. */
struct scsi_alua_tpg_info {
	uint16_t tpg_id;
	enum scsi_alua_state state;
	bool preferred;
	unsigned int port_count;
	uint16_t ports[SCSI_ALUA_MAX_TPG_PORTS];
};
bool scsi_alua_tpg_info(const struct scsi_alua_group *g, unsigned int index,
			struct scsi_alua_tpg_info *out);

#endif
