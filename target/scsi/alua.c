/*
 * alua.c — asymmetric logical unit access (SPC-4 §5.15): device groups,
 * target port groups and their access states; the command filter of each
 * state; REPORT TARGET PORT GROUPS (§6.36) and SET TARGET PORT GROUPS
 * (§6.44).  The contract is in alua.h.
 *
 * REPORT TARGET PORT GROUPS parameter data (§6.36.2):
 *   length only (format 000b): 0..3 RETURN DATA LENGTH, then descriptors
 *   extended (001b): 0..3 RETURN DATA LENGTH, 4 FORMAT TYPE 001b << 4,
 *                    5 IMPLICIT TRANSITION TIME, 6..7 reserved, then
 *                    descriptors
 *   RETURN DATA LENGTH counts every byte after itself, so that an
 *   initiator reads it + 4 bytes whatever the format (Linux and sg_rtpg
 *   both do).
 *   descriptor: 0 PREF << 7 | ASYMMETRIC ACCESS STATE, 1 supported
 *   states (T_SUP O_SUP - LBD_SUP U_SUP S_SUP AN_SUP AO_SUP), 2..3
 *   TARGET PORT GROUP, 5 STATUS CODE, 7 TARGET PORT COUNT, then per port
 *   2..3 RELATIVE TARGET PORT IDENTIFIER of 4 bytes.
 *
 * SET TARGET PORT GROUPS parameter list (§6.44.2): 4 reserved bytes, then
 * descriptors of 4 bytes: 0 ASYMMETRIC ACCESS STATE (bits 3..0), 2..3
 * TARGET PORT GROUP.  The whole list is checked before anything changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "env.h"
#include "scsi/alua.h"
#include "scsi/scsi_int.h"

/* STATUS CODE of a target port group descriptor (SPC-4 table 386). */
#define TPG_STATUS_NONE 0x00
#define TPG_STATUS_BY_STPG 0x01
#define TPG_STATUS_IMPLICIT 0x02

/* The states a device server supports, byte 1 of the descriptor:
 * T_SUP, O_SUP, U_SUP, S_SUP, AN_SUP, AO_SUP (no LBA dependent). */
#define TPG_SUPPORTED_STATES 0xcf

#define MAINT_SA_TPGS 0x0a /* REPORT / SET TARGET PORT GROUPS */

struct scsi_alua_tpg {
	struct scsi_alua_group *group;
	uint16_t id;
	uint8_t state;	/* atomic: enum scsi_alua_state */
	uint8_t status; /* atomic: TPG_STATUS_* of the last change */
	bool preferred;
	unsigned int port_count;
	uint16_t ports[SCSI_ALUA_MAX_TPG_PORTS];
};

struct scsi_alua_group {
	struct env *env;
	struct env_mutex *lock; /* serializes changes of state */
	char name[64];
	uint8_t transition_time_s;
	unsigned int tpg_count;
	struct scsi_alua_tpg tpgs[SCSI_ALUA_MAX_TPGS];
	/* Member LUs: slots written on the control path only, read by any
	 * reactor (changed_ua) with atomic loads; lu_count is atomic. */
	struct scsi_lu **lus;
	size_t lu_count, lu_cap;
};

/* ------------------------------------------------------------ names */

static const struct {
	enum scsi_alua_state st;
	const char *name;
} state_names[] = {
	{SCSI_ALUA_OPTIMIZED, "active"},
	{SCSI_ALUA_NON_OPTIMIZED, "nonoptimized"},
	{SCSI_ALUA_STANDBY, "standby"},
	{SCSI_ALUA_UNAVAILABLE, "unavailable"},
	{SCSI_ALUA_OFFLINE, "offline"},
	{SCSI_ALUA_TRANSITIONING, "transitioning"},
	/* accepted on input only */
	{SCSI_ALUA_OPTIMIZED, "optimized"},
	{SCSI_ALUA_OPTIMIZED, "active/optimized"},
	{SCSI_ALUA_NON_OPTIMIZED, "non-optimized"},
	{SCSI_ALUA_NON_OPTIMIZED, "active/non-optimized"},
};

const char *scsi_alua_state_name(enum scsi_alua_state st)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]);
	     i++)
		if (state_names[i].st == st)
			return state_names[i].name;
	return "?";
}

int scsi_alua_state_parse(const char *s, enum scsi_alua_state *out)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]);
	     i++) {
		if (strcasecmp(s, state_names[i].name) == 0) {
			*out = state_names[i].st;
			return 0;
		}
	}
	return -EINVAL;
}

static bool state_valid(unsigned int st)
{
	return st <= SCSI_ALUA_UNAVAILABLE || st == SCSI_ALUA_OFFLINE ||
	       st == SCSI_ALUA_TRANSITIONING;
}

static uint8_t tpg_state(const struct scsi_alua_tpg *tpg)
{
	return __atomic_load_n(&tpg->state, __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------ construction */

struct scsi_alua_group *scsi_alua_group_new(struct env *env, const char *name,
					    uint8_t transition_time_s,
					    size_t max_lus)
{
	struct scsi_alua_group *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->lus = calloc(max_lus ? max_lus : 1, sizeof(*g->lus));
	if (!g->lus) {
		free(g);
		return NULL;
	}
	g->lu_cap = max_lus;
	g->env = env;
	g->lock = env_mutex_new(env);
	if (env->ops->mutex_new && !g->lock) {
		free(g->lus);
		free(g);
		return NULL;
	}
	snprintf(g->name, sizeof(g->name), "%s", name ? name : "");
	g->transition_time_s = transition_time_s;
	for (unsigned int i = 0; i < SCSI_ALUA_MAX_TPGS; i++)
		g->tpgs[i].group = g;
	/* Groups and LUs are added before any session exists. */
	ut_assert(g->tpg_count == 0);
	ut_assert(g->lu_count == 0);
	return g;
}

void scsi_alua_group_free(struct scsi_alua_group *g)
{
	if (!g)
		return;
	env_mutex_free(g->env, g->lock);
	free(g->lus);
	free(g);
}

const char *scsi_alua_group_name(const struct scsi_alua_group *g)
{
	return g->name;
}

static struct scsi_alua_tpg *find_tpg(const struct scsi_alua_group *g,
				      uint16_t tpg_id)
{
	ut_assert(g->tpg_count <= SCSI_ALUA_MAX_TPGS);
	for (unsigned int i = 0; i < g->tpg_count; i++)
		if (g->tpgs[i].id == tpg_id)
			return (struct scsi_alua_tpg *)&g->tpgs[i];
	return NULL;
}

static struct scsi_alua_tpg *find_port(const struct scsi_alua_group *g,
				       uint16_t rel_port)
{
	for (unsigned int i = 0; i < g->tpg_count; i++) {
		const struct scsi_alua_tpg *t = &g->tpgs[i];

		for (unsigned int j = 0; j < t->port_count; j++)
			if (t->ports[j] == rel_port)
				return (struct scsi_alua_tpg *)t;
	}
	return NULL;
}

int scsi_alua_tpg_add(struct scsi_alua_group *g, uint16_t tpg_id,
		      enum scsi_alua_state st, bool preferred)
{
	struct scsi_alua_tpg *t;

	if (!state_valid(st))
		return -EINVAL;
	if (find_tpg(g, tpg_id))
		return -EEXIST;
	if (g->tpg_count == SCSI_ALUA_MAX_TPGS)
		return -ENOSPC;
	t = &g->tpgs[g->tpg_count++];
	t->id = tpg_id;
	t->state = (uint8_t)st;
	t->status = TPG_STATUS_NONE;
	t->preferred = preferred;
	t->port_count = 0;
	/* Pair: the lookups find what was added, in its own group. */
	ut_assert(find_tpg(g, tpg_id) == t);
	ut_assert(t->group == g);
	return 0;
}

int scsi_alua_tpg_add_port(struct scsi_alua_group *g, uint16_t tpg_id,
			   uint16_t rel_port_id)
{
	struct scsi_alua_tpg *t = find_tpg(g, tpg_id);

	if (!t)
		return -ENOENT;
	/* SPC-4 §7.8.6.6: relative target port identifier 0 is reserved. */
	if (rel_port_id == 0)
		return -EINVAL;
	if (find_port(g, rel_port_id))
		return -EEXIST;
	if (t->port_count == SCSI_ALUA_MAX_TPG_PORTS)
		return -ENOSPC;
	t->ports[t->port_count++] = rel_port_id;
	/* A port is in one target port group of the device group. */
	ut_assert(find_port(g, rel_port_id) == t);
	ut_assert(t->port_count <= SCSI_ALUA_MAX_TPG_PORTS);
	return 0;
}

int scsi_alua_group_add_lu(struct scsi_alua_group *g, struct scsi_lu *lu,
			   bool explicit_ok)
{
	size_t n = g->lu_count;

	if (lu->alua)
		return -EEXIST;
	if (n == g->lu_cap)
		return -ENOSPC;
	lu->alua = g;
	lu->alua_explicit = explicit_ok;
	/* the slot before the count: a reader never sees an empty one */
	__atomic_store_n(&g->lus[n], lu, __ATOMIC_RELEASE);
	__atomic_store_n(&g->lu_count, n + 1, __ATOMIC_RELEASE);
	/* An LU is in one device group, and mapped nowhere yet (its
	 * nexuses take their port group at mapping time). */
	ut_assert(g->lus[n]->alua == g);
	ut_assert(lu->itl_count == 0);
	return 0;
}

void scsi_alua_lu_leave(struct scsi_lu *lu)
{
	struct scsi_alua_group *g = lu->alua;
	size_t n;

	if (!g)
		return;
	n = g->lu_count;
	for (size_t i = 0; i < n; i++) {
		if (g->lus[i] != lu)
			continue;
		/* The last member moves into the hole, then the count drops:
		 * a reader walking meanwhile may visit the moved one twice
		 * (its unit attention is queued once) or still see lu, which
		 * lives on until the retire round (alua.h). */
		__atomic_store_n(&g->lus[i], g->lus[n - 1], __ATOMIC_RELEASE);
		__atomic_store_n(&g->lu_count, n - 1, __ATOMIC_RELEASE);
		break;
	}
	ut_assert(g->lu_count < n); /* it was a member */
	lu->alua = NULL;
}

/* --------------------------------------------------- state changes */

/* SPC-4 §5.15.2 (state transitions) and §6.44: after a change, ASYMMETRIC ACCESS STATE CHANGED on
 * every I_T nexus of every LU of the group; after SET TARGET PORT GROUPS,
 * on every one but the sender's (skip). */
static void changed_ua(struct scsi_alua_group *g, const struct scsi_sess *skip)
{
	size_t n = __atomic_load_n(&g->lu_count, __ATOMIC_ACQUIRE);

	for (size_t i = 0; i < n; i++) {
		struct scsi_lu *lu =
			__atomic_load_n(&g->lus[i], __ATOMIC_ACQUIRE);
		struct scsi_itl *itl;

		/* (lu may be leaving the group: alua.h's retire round) */
		scsi_lu_lock(lu);
		LIST_FOREACH (itl, &lu->itls, lu_link) {
			ut_assert(itl->lu == lu);
			if (itl->sess != skip)
				scsi_ua_add(itl, ASC_ASYMMETRIC_ACCESS_CHANGED);
		}
		scsi_lu_unlock(lu);
	}
}

static bool tpg_change(struct scsi_alua_tpg *t, uint8_t st, uint8_t status)
{
	/* Callers hold the group lock and checked the state. */
	ut_assert(state_valid(st));
	ut_assert(status == TPG_STATUS_BY_STPG ||
		  status == TPG_STATUS_IMPLICIT);
	if (tpg_state(t) == st)
		return false;
	__atomic_store_n(&t->state, st, __ATOMIC_RELEASE);
	__atomic_store_n(&t->status, status, __ATOMIC_RELAXED);
	return true;
}

int scsi_alua_set_state(struct scsi_alua_group *g, uint16_t tpg_id,
			enum scsi_alua_state st)
{
	struct scsi_alua_tpg *t;
	bool changed;

	if (!state_valid(st))
		return -EINVAL;
	env_mutex_lock(g->env, g->lock);
	t = find_tpg(g, tpg_id);
	changed = t && tpg_change(t, (uint8_t)st, TPG_STATUS_IMPLICIT);
	/* Under the lock no other change can come between: pair. */
	ut_assert(!t || tpg_state(t) == st);
	ut_assert(!changed || t->status == TPG_STATUS_IMPLICIT);
	env_mutex_unlock(g->env, g->lock);
	if (!t)
		return -ENOENT;
	if (changed) {
		LOG_INFO(g->env,
			 "alua: device group %s: target port group %u is "
			 "now %s",
			 g->name, tpg_id, scsi_alua_state_name(st));
		changed_ua(g, NULL);
	}
	return 0;
}

int scsi_alua_get_state(const struct scsi_alua_group *g, uint16_t tpg_id,
			enum scsi_alua_state *st)
{
	const struct scsi_alua_tpg *t = find_tpg(g, tpg_id);

	if (!t)
		return -ENOENT;
	*st = (enum scsi_alua_state)tpg_state(t);
	return 0;
}

bool scsi_alua_tpg_info(const struct scsi_alua_group *g, unsigned int index,
			struct scsi_alua_tpg_info *out)
{
	const struct scsi_alua_tpg *t;

	if (index >= g->tpg_count)
		return false;
	t = &g->tpgs[index];
	ut_assert(t->port_count <= SCSI_ALUA_MAX_TPG_PORTS);
	ut_assert(t->group == g);
	out->tpg_id = t->id;
	out->state = (enum scsi_alua_state)tpg_state(t);
	out->preferred = t->preferred;
	out->port_count = t->port_count;
	memcpy(out->ports, t->ports, t->port_count * sizeof(t->ports[0]));
	return true;
}

/* ------------------------------------------- what the layer asks us */

const struct scsi_alua_tpg *scsi_alua_port_tpg(const struct scsi_lu *lu,
					       uint16_t rel_port)
{
	const struct scsi_alua_tpg *t;

	if (!lu->alua)
		return NULL;
	t = find_port(lu->alua, rel_port);
	ut_assert(t == NULL || t->group == lu->alua);
	ut_assert(rel_port != 0 || t == NULL); /* 0 is reserved */
	if (!t)
		LOG_WARN(lu->env,
			 "alua: device %s: relative target port %u is in no "
			 "target port group of device group %s; it acts as "
			 "active/optimized",
			 lu->name, rel_port, lu->alua->name);
	return t;
}

uint8_t scsi_alua_tpgs(const struct scsi_lu *lu)
{
	/* SPC-4 §6.6.2 TPGS: 01b implicit only, 11b implicit and explicit
	 * (the state also changes by configuration, so never 10b). */
	if (!lu || !lu->alua)
		return 0;
	return lu->alua_explicit ? 0x30 : 0x10;
}

bool scsi_alua_itl_tpg_id(const struct scsi_itl *itl, uint16_t *id)
{
	if (!itl || !itl->tpg)
		return false;
	*id = itl->tpg->id;
	return true;
}

/* The commands every state lets through: what an initiator needs to find
 * the LU and learn the state (SPC-4 §5.15.2.4.5 unavailable, §5.15.2.5
 * transitioning), plus the other metadata reports of MAINTENANCE IN. */
static bool always_allowed(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case 0x12: /* INQUIRY */
	case 0xa0: /* REPORT LUNS */
	case 0x03: /* REQUEST SENSE */
		return true;
	case 0xa3: /* REPORT TARGET PORT GROUPS, OPCODES, TMFS */
		return (cdb[1] & 0x1f) == MAINT_SA_TPGS ||
		       (cdb[1] & 0x1f) == 0x0c || (cdb[1] & 0x1f) == 0x0d;
	default:
		return false;
	}
}

/* SPC-4 §5.15.2.4.5: unavailable also takes SET TARGET PORT GROUPS; and
 * READ CAPACITY, which "the device server may support" and which Linux
 * sends through every path while it scans (so does SCST). */
static bool unavailable_allowed(const uint8_t *cdb)
{
	if (always_allowed(cdb))
		return true;
	switch (cdb[0]) {
	case 0xa4: /* SET TARGET PORT GROUPS */
		return (cdb[1] & 0x1f) == MAINT_SA_TPGS;
	case 0x25: /* READ CAPACITY (10) */
		return true;
	case 0x9e: /* READ CAPACITY (16); not GET LBA STATUS */
		return (cdb[1] & 0x1f) == 0x10;
	default:
		return false;
	}
}

/* SPC-4 §5.15.2.4.4: standby adds MODE SENSE/SELECT (and LOG SENSE/
 * SELECT, RECEIVE/SEND DIAGNOSTIC, which we lack) and PERSISTENT RESERVE
 * IN/OUT. */
static bool standby_allowed(const uint8_t *cdb)
{
	if (unavailable_allowed(cdb))
		return true;
	switch (cdb[0]) {
	case 0x15: /* MODE SELECT (6) */
	case 0x55: /* MODE SELECT (10) */
	case 0x1a: /* MODE SENSE (6) */
	case 0x5a: /* MODE SENSE (10) */
	case 0x5e: /* PERSISTENT RESERVE IN */
	case 0x5f: /* PERSISTENT RESERVE OUT */
		return true;
	default:
		return false;
	}
}

bool scsi_alua_refuses(struct scsi_cmd *cmd)
{
	const struct scsi_alua_tpg *t = cmd->itl ? cmd->itl->tpg : NULL;
	uint8_t st;
	uint16_t asc;

	if (!t)
		return false;
	st = tpg_state(t);
	switch (st) {
	case SCSI_ALUA_OPTIMIZED:
	case SCSI_ALUA_NON_OPTIMIZED:
		return false;
	case SCSI_ALUA_STANDBY:
		if (standby_allowed(cmd->cdb))
			return false;
		asc = ASC_ALUA_STANDBY;
		break;
	case SCSI_ALUA_UNAVAILABLE:
		if (unavailable_allowed(cmd->cdb))
			return false;
		asc = ASC_ALUA_UNAVAILABLE;
		break;
	case SCSI_ALUA_OFFLINE:
		if (always_allowed(cmd->cdb))
			return false;
		asc = ASC_LU_OFFLINE;
		break;
	default:
		ut_assert(st == SCSI_ALUA_TRANSITIONING);
		if (always_allowed(cmd->cdb))
			return false;
		asc = ASC_ALUA_TRANSITION;
		break;
	}
	/* SPC-4 §5.15.2.4: INQUIRY, REPORT LUNS, REQUEST SENSE and REPORT
	 * TARGET PORT GROUPS pass in every state. */
	ut_assert(!always_allowed(cmd->cdb));
	/* The port's group is the LU's, or the LU has left its group: a
	 * LUN being removed leaves it (scsi_alua_lu_leave) while sessions
	 * of other reactors still hold the LU until the retire round
	 * (explore seed 457281592004, four reactors). */
	ut_assert(cmd->lu->alua == NULL || t->group == cmd->lu->alua);
	scsi_fail(cmd, SK_NOT_READY, asc);
	return true;
}

/* ------------------------------------ REPORT TARGET PORT GROUPS */

static uint32_t put_tpg(uint8_t *p, const struct scsi_alua_tpg *t)
{
	ut_assert(t->port_count <= SCSI_ALUA_MAX_TPG_PORTS);
	ut_assert(state_valid(tpg_state(t)));
	memset(p, 0, 8);
	p[0] = (uint8_t)((t->preferred ? 0x80 : 0) | (tpg_state(t) & 0x0f));
	p[1] = TPG_SUPPORTED_STATES;
	put_be16(p + 2, t->id);
	p[5] = __atomic_load_n(&t->status, __ATOMIC_RELAXED);
	p[7] = (uint8_t)t->port_count;
	for (unsigned int i = 0; i < t->port_count; i++) {
		memset(p + 8 + 4 * i, 0, 2);
		put_be16(p + 8 + 4 * i + 2, t->ports[i]);
	}
	return 8 + 4 * t->port_count;
}

/* SPC-4 §6.36: MAINTENANCE IN, byte 1 PARAMETER DATA FORMAT (bits 7..5)
 * | SERVICE ACTION 0Ah, 6..9 ALLOCATION LENGTH. */
enum scsi_rc spc_report_tpgs(struct scsi_cmd *cmd)
{
	const struct scsi_alua_group *g = cmd->lu ? cmd->lu->alua : NULL;
	uint8_t format = cmd->cdb[1] >> 5;
	uint32_t alloc = get_be32(cmd->cdb + 6);
	uint8_t b[8 + SCSI_ALUA_MAX_TPGS * (8 + 4 * SCSI_ALUA_MAX_TPG_PORTS)];
	uint32_t len;

	_Static_assert(sizeof(b) <= SCSI_RSP_MAX, "RTPG data fits");
	if (!g) {
		/* TPGS 00b: the command is not supported on this LU. */
		scsi_fail_cdb(cmd, 1, 4);
		return SCSI_RC_DONE;
	}
	if (format > 1) {
		scsi_fail_cdb(cmd, 1, 7);
		return SCSI_RC_DONE;
	}
	memset(b, 0, 8);
	len = format == 1 ? 8 : 4;
	if (format == 1) {
		b[4] = 0x10; /* FORMAT TYPE 001b */
		b[5] = g->transition_time_s;
	}
	ut_assert(g->tpg_count <= SCSI_ALUA_MAX_TPGS);
	for (unsigned int i = 0; i < g->tpg_count; i++)
		len += put_tpg(b + len, &g->tpgs[i]);
	ut_assert(len <= sizeof(b));
	put_be32(b, len - 4);
	scsi_data_in(cmd, b, len, alloc);
	return SCSI_RC_DONE;
}

/* -------------------------------------- SET TARGET PORT GROUPS */

/* Check every descriptor of the list before anything changes: a known
 * group, a state an application client may ask for (SPC-4 §6.44.2: not
 * transitioning, and we support no LBA dependent or offline request), no
 * group twice.  Returns false with sense set. */
static bool stpg_check(struct scsi_cmd *cmd, const struct scsi_alua_group *g,
		       const uint8_t *p, uint32_t len)
{
	/* spc_set_tpgs() checked the list's length against what arrived. */
	ut_assert(len >= 4 && (len - 4) % 4 == 0);
	ut_assert(len <= cmd->data_out_len);
	for (uint32_t off = 4; off < len; off += 4) {
		uint8_t st = p[off] & 0x0f;
		uint16_t id = get_be16(p + off + 2);

		if (st > SCSI_ALUA_UNAVAILABLE) {
			scsi_fail_param(cmd, off, 3);
			return false;
		}
		if (!find_tpg(g, id)) {
			scsi_fail_param(cmd, off + 2, -1);
			return false;
		}
		for (uint32_t o = 4; o < off; o += 4) {
			if (get_be16(p + o + 2) == id) {
				scsi_fail_param(cmd, off + 2, -1);
				return false;
			}
		}
	}
	return true;
}

/* SPC-4 §6.44: MAINTENANCE OUT, byte 1 SERVICE ACTION 0Ah, 6..9
 * PARAMETER LIST LENGTH. */
static enum scsi_rc spc_set_tpgs(struct scsi_cmd *cmd)
{
	struct scsi_alua_group *g = cmd->lu->alua;
	uint32_t len = get_be32(cmd->cdb + 6);
	const uint8_t *p = cmd->buf;
	bool changed = false;

	if (!g || !cmd->lu->alua_explicit) {
		/* TPGS is not 1xb: explicit ALUA is not supported here. */
		scsi_fail_cdb(cmd, 1, 4);
		return SCSI_RC_DONE;
	}
	cmd->xfer_len = len;
	if (len == 0)
		return SCSI_RC_DONE;
	/* A header and whole descriptors, each group at most once: a longer
	 * list cannot be valid, and is refused before it is read. */
	if (len < 4 || (len - 4) % 4 != 0 || len > 4 + 4 * SCSI_ALUA_MAX_TPGS) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return SCSI_RC_DONE;
	}
	if (!p || cmd->data_out_len < len) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
		return SCSI_RC_DONE;
	}
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	env_mutex_lock(g->env, g->lock);
	if (!stpg_check(cmd, g, p, len)) {
		env_mutex_unlock(g->env, g->lock);
		return SCSI_RC_DONE;
	}
	for (uint32_t off = 4; off < len; off += 4) {
		struct scsi_alua_tpg *t = find_tpg(g, get_be16(p + off + 2));

		ut_assert(t);
		changed |= tpg_change(t, p[off] & 0x0f, TPG_STATUS_BY_STPG);
	}
	env_mutex_unlock(g->env, g->lock);
	if (changed) {
		LOG_INFO(cmd->sess->env,
			 "alua: device group %s: SET TARGET PORT GROUPS from "
			 "%s",
			 g->name, cmd->sess->id.initiator_name);
		changed_ua(g, cmd->sess);
	}
	return SCSI_RC_DONE;
}

/* MAINTENANCE OUT (A4h): service action in byte 1, bits 4-0. */
enum scsi_rc spc_maintenance_out(struct scsi_cmd *cmd)
{
	switch (cmd->cdb[1] & 0x1f) {
	case MAINT_SA_TPGS:
		return spc_set_tpgs(cmd);
	default:
		scsi_fail_cdb(cmd, 1, 4);
		return SCSI_RC_DONE;
	}
}
