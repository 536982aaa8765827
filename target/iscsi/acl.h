/*
 * acl.h — who may reach a target, and which LUNs each initiator sees
 * (SCST's initiator groups and allowed_portal, in scst.conf terms).
 *
 *   TARGET iqn... {
 *       LUN 0 disk0                  <- default LUN set
 *       allowed_portal 10.0.0.*      <- local addresses logins may use
 *       GROUP hosts {                <- first matching group wins
 *           INITIATOR iqn.1993-08.org.debian:*
 *           INITIATOR !iqn.1993-08.org.debian:01:bad
 *           LUN 0 disk1
 *       }
 *   }
 *
 * Patterns: '*' any run of characters, '?' any one character, compared
 * without regard to case (SCST's wildcmp); a leading '!' makes the
 * pattern an exclusion.  A name belongs to a group when it matches none
 * of the group's exclusions and at least one of its other patterns (or
 * the group has only exclusions).  Groups are tried in configuration
 * order; an initiator in no group gets the default LUN set.
 *
 * An initiator whose LUN set (its group's, or the default) is empty may
 * not log in (status 0x0203 "not found", as SCST's iscsi-scstd answers)
 * and does not see the target in SendTargets; the same holds for a login
 * arriving on a local address that allowed_portal does not allow.
 */
#ifndef UT_ISCSI_ACL_H
#define UT_ISCSI_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct scsi_sess;
struct scsi_lu;

/* One LUN of a group's map. */
struct iscsi_acl_lun {
	uint32_t lun;
	bool read_only;
	struct scsi_lu *lu;
};

struct iscsi_acl_group {
	char name[UT_DEV_NAME_MAX];
	char **patterns; /* INITIATOR lines */
	size_t pattern_count;
	struct iscsi_acl_lun *luns;
	size_t lun_count;
};

struct iscsi_acl {
	struct iscsi_acl_group *groups;
	size_t group_count;
	char **allowed_portals; /* empty: every portal */
	size_t allowed_portal_count;
};

/* Glob match of one pattern (without '!') against a name: '*', '?',
 * case-insensitive.  Linear backtracking, no recursion. */
bool iscsi_acl_glob(const char *pattern, const char *name);

/* Pattern list semantics described above (exclusions win). */
bool iscsi_acl_patterns_match(char *const *patterns, size_t count,
			      const char *name);

/* The group an initiator belongs to, or NULL for the default set. */
const struct iscsi_acl_group *iscsi_acl_find_group(const struct iscsi_acl *acl,
						   const char *initiator);

/* May a connection that arrived on local_addr ("a.b.c.d:port" or
 * "[v6]:port") reach the target?  The pattern is matched against the
 * address without port or brackets, as SCST does. */
bool iscsi_acl_portal_allowed(const struct iscsi_acl *acl,
			      const char *local_addr);

struct iscsi_tgt_conf;

/* Does the initiator's LUN set (its group's, else the default) hold any
 * LUN, and did the connection arrive on an allowed portal?  Decides both
 * login (0x0203 otherwise) and SendTargets visibility. */
bool iscsi_acl_may_login(const struct iscsi_tgt_conf *t, const char *initiator,
			 const char *local_addr);

/* The initiator's LUN set (LUN masking: a LUN outside it does not exist
 * for it): lu[n] and ro[n] for n < UT_MAX_LUNS, NULL where none. */
void iscsi_acl_lun_set(const struct iscsi_tgt_conf *t, const char *initiator,
		       struct scsi_lu **lu, bool *ro);

/* Map the initiator's LUN set into its SCSI session.  0 or -ENOMEM. */
int iscsi_acl_map_luns(const struct iscsi_tgt_conf *t, const char *initiator,
		       struct scsi_sess *ss);

/* Build an ACL from a target's configuration; device names resolve
 * through find (which returns NULL for an unknown device).  0 or -errno. */
int iscsi_acl_init(struct iscsi_acl *acl, const struct ut_target_cfg *tc,
		   struct scsi_lu *(*find)(void *arg, const char *name),
		   void *arg);
void iscsi_acl_free(struct iscsi_acl *acl);

#endif
