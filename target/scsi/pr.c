/*
 * pr.c — persistent reservations (SPC-4 §5.12, PERSISTENT RESERVE IN §6.15
 * and OUT §6.16).
 *
 * State per LU (struct scsi_pr): registrations (key + I_T nexus identity:
 * initiator port name and ISID, target port), at most one reservation
 * (type, holder), a generation counter bumped by every REGISTER, CLEAR,
 * PREEMPT and REGISTER AND MOVE, and APTPL.  With APTPL the state is saved
 * through env->ops->state_put after every change and loaded at LU
 * creation.
 *
 * Which commands a reservation blocks (SPC-4 table 63), from a nexus that
 * is not the holder:
 *   Write Exclusive (1)            writes
 *   Exclusive Access (3)           reads and writes
 *   WE / EA Registrants Only (5/6) the same, for unregistered nexuses only
 *   WE / EA All Registrants (7/8)  idem; every registrant is a holder
 * Reads and writes are marked in the command table (SCSI_CMD_PR_READ,
 * SCSI_CMD_PR_WRITE); other commands pass.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "env.h"
#include "scsi/scsi_int.h"

enum pr_out_sa {
	PR_REGISTER = 0,
	PR_RESERVE = 1,
	PR_RELEASE = 2,
	PR_CLEAR = 3,
	PR_PREEMPT = 4,
	PR_PREEMPT_ABORT = 5,
	PR_REGISTER_IGNORE = 6,
	PR_REGISTER_MOVE = 7,
};

#define PR_PARAM_LEN 24
#define PR_ISCSI_PROTO 0x5

static bool type_valid(uint8_t t)
{
	return t == 1 || t == 3 || t == 5 || t == 6 || t == 7 || t == 8;
}

static bool type_all_reg(uint8_t t)
{
	return t == 7 || t == 8;
}
static bool type_reg_only(uint8_t t)
{
	return t == 5 || t == 6;
}

/* ------------------------------------------------------- identities */

static bool reg_matches(const struct scsi_pr_reg *r,
			const struct scsi_nexus_id *id)
{
	if (strcasecmp(r->initiator, id->initiator_name) != 0)
		return false;
	if (memcmp(r->isid, id->isid, sizeof(r->isid)) != 0)
		return false;
	return r->all_tg_pt || r->rtp == id->rel_tgt_port_id;
}

/*
 * The state every PR command leaves behind (and the APTPL loader accepts):
 * registrations within the table, each with a key (key 0 means "not
 * registered", SPC-4 §5.12.7); a reservation of a valid type whose holder
 * is a registration (or, for the all-registrants types, at least one
 * registrant).
 */
static void pr_check(const struct scsi_pr *pr)
{
	ut_assert(pr->nregs <= SCSI_PR_MAX_REGS);
	ut_assert(!pr->reserved || type_valid(pr->type));
	ut_assert(!pr->reserved || type_all_reg(pr->type) ||
		  pr->holder < pr->nregs);
	ut_assert(!pr->reserved || pr->nregs > 0);
}

/* Expensive half: keys set, and one registration per I_T nexus. */
static bool pr_regs_ok(const struct scsi_pr *pr)
{
	for (unsigned int i = 0; i < pr->nregs; i++) {
		const struct scsi_pr_reg *r = &pr->regs[i];

		if (r->key == 0)
			return false;
		for (unsigned int j = i + 1; j < pr->nregs; j++) {
			const struct scsi_pr_reg *q = &pr->regs[j];

			if (strcasecmp(r->initiator, q->initiator) == 0 &&
			    memcmp(r->isid, q->isid, sizeof(r->isid)) == 0 &&
			    (r->rtp == q->rtp || r->all_tg_pt || q->all_tg_pt))
				return false;
		}
	}
	return true;
}

static int reg_find(const struct scsi_pr *pr, const struct scsi_nexus_id *id)
{
	ut_assert(pr->nregs <= SCSI_PR_MAX_REGS);
	for (unsigned int i = 0; i < pr->nregs; i++) {
		if (reg_matches(&pr->regs[i], id))
			return (int)i;
	}
	return -1;
}

static bool is_holder(const struct scsi_pr *pr, int idx)
{
	ut_assert(idx < (int)pr->nregs); /* reg_find()'s answer, or -1 */
	if (!pr->reserved || idx < 0)
		return false;
	return type_all_reg(pr->type) || pr->holder == (unsigned int)idx;
}

bool scsi_pr_has_registrations(const struct scsi_lu *lu)
{
	return lu->pr.nregs > 0;
}

/* Called with the LU lock held. */
bool scsi_pr_conflict(const struct scsi_cmd *cmd, uint8_t flags)
{
	const struct scsi_pr *pr = &cmd->lu->pr;
	int idx;
	uint8_t mask;

	ut_assert(cmd->itl != NULL && cmd->itl->lu == cmd->lu);
	if (!pr->reserved || !(flags & (SCSI_CMD_PR_READ | SCSI_CMD_PR_WRITE)))
		return false;
	pr_check(pr);
	ut_assert(cmd->sess == cmd->itl->sess);
	idx = reg_find(pr, &cmd->sess->id);
	if (is_holder(pr, idx))
		return false;
	mask = (pr->type == 3 || pr->type == 6 || pr->type == 8)
		       ? (SCSI_CMD_PR_READ | SCSI_CMD_PR_WRITE)
		       : SCSI_CMD_PR_WRITE;
	if ((type_reg_only(pr->type) || type_all_reg(pr->type)) && idx >= 0)
		return false;
	return (flags & mask) != 0;
}

/* ------------------------------------------------------------ APTPL */

#define PR_STATE_MAGIC 0x55545052u /* "UTPR" */
#define PR_STATE_MAX (16 + SCSI_PR_MAX_REGS * (8 + 2 + 1 + 6 + 1 + 224))

/* The environment's keys are [A-Za-z0-9._-]: "pr-" + the device name
 * with anything else turned into '_'. */
static void state_key(const struct scsi_lu *lu, char *key, size_t cap)
{
	ut_assert(cap > 3);
	ut_assert(lu->name[0] != '\0'); /* "pr-" alone names no device */
	snprintf(key, cap, "pr-%s", lu->name);
	for (char *p = key; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') ||
			  (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '.' || *p == '-';

		if (!ok || (*p == '.' && p > key && p[-1] == '.'))
			*p = '_';
	}
}

/* Serialize: magic, generation, aptpl, reserved, type, holder, nregs,
 * then per registration: key, rtp, all_tg_pt, isid, name length, name. */
static size_t pr_encode(const struct scsi_pr *pr, uint8_t *b)
{
	size_t n = 0;

	pr_check(pr);
	ut_assert(pr->holder <= 0xff && pr->nregs <= 0xff); /* one byte each */
	put_be32(b, PR_STATE_MAGIC);
	put_be32(b + 4, pr->generation);
	b[8] = pr->aptpl;
	b[9] = pr->reserved;
	b[10] = pr->type;
	b[11] = (uint8_t)pr->holder;
	b[12] = (uint8_t)pr->nregs;
	n = 13;
	for (unsigned int i = 0; i < pr->nregs; i++) {
		const struct scsi_pr_reg *r = &pr->regs[i];
		size_t len = strnlen(r->initiator, sizeof(r->initiator) - 1);

		put_be64(b + n, r->key);
		put_be16(b + n + 8, r->rtp);
		b[n + 10] = r->all_tg_pt;
		memcpy(b + n + 11, r->isid, 6);
		b[n + 17] = (uint8_t)len;
		memcpy(b + n + 18, r->initiator, len);
		n += 18 + len;
	}
	ut_assert(n <= PR_STATE_MAX);
	return n;
}

static bool pr_decode(struct scsi_pr *pr, const uint8_t *b, size_t len)
{
	size_t n = 13;

	memset(pr, 0, sizeof(*pr));
	if (len < 13 || get_be32(b) != PR_STATE_MAGIC ||
	    b[12] > SCSI_PR_MAX_REGS)
		return false;
	pr->generation = get_be32(b + 4);
	pr->aptpl = b[8];
	pr->reserved = b[9];
	pr->type = b[10];
	pr->holder = b[11];
	for (unsigned int i = 0; i < b[12]; i++) {
		struct scsi_pr_reg *r = &pr->regs[i];

		if (n + 18 > len || n + 18 + b[n + 17] > len ||
		    b[n + 17] >= sizeof(r->initiator) || get_be64(b + n) == 0)
			return false;
		r->key = get_be64(b + n);
		r->rtp = get_be16(b + n + 8);
		r->all_tg_pt = b[n + 10];
		memcpy(r->isid, b + n + 11, 6);
		memcpy(r->initiator, b + n + 18, b[n + 17]);
		n += 18u + b[n + 17];
		pr->nregs++;
	}
	/* What was saved is data from a disk: validated here, so that the
	 * state the commands work on obeys pr_check() from the start. */
	if (pr->reserved &&
	    (!type_valid(pr->type) || pr->nregs == 0 ||
	     (!type_all_reg(pr->type) && pr->holder >= pr->nregs)))
		return false;
	if (!pr_regs_ok(pr))
		return false;
	pr_check(pr);
	ut_assert(n <= len);
	ut_assert(pr->nregs == b[12]);
	return true;
}

/* Pair assertion for APTPL: what pr_save() writes, the loader reads back
 * as the very same state. */
static bool pr_roundtrip_ok(const struct scsi_pr *pr, const uint8_t *b,
			    size_t n)
{
	struct scsi_pr *back = malloc(sizeof(*back));
	bool ok;

	if (!back)
		return true; /* nothing to compare with: not a failure */
	ok = pr_decode(back, b, n) && back->generation == pr->generation &&
	     back->aptpl == pr->aptpl && back->reserved == pr->reserved &&
	     back->nregs == pr->nregs;
	if (ok && pr->reserved)
		ok = back->type == pr->type && back->holder == pr->holder;
	for (unsigned int i = 0; ok && i < pr->nregs; i++)
		ok = back->regs[i].key == pr->regs[i].key &&
		     back->regs[i].rtp == pr->regs[i].rtp &&
		     back->regs[i].all_tg_pt == pr->regs[i].all_tg_pt &&
		     !memcmp(back->regs[i].isid, pr->regs[i].isid, 6) &&
		     !strcmp(back->regs[i].initiator, pr->regs[i].initiator);
	free(back);
	return ok;
}

/* After every change: keep the durable copy in step (or drop it). */
static void pr_save(struct scsi_lu *lu, bool was_aptpl)
{
	struct env *env = lu->env;
	char key[96];
	uint8_t *b;
	size_t n;

	pr_check(&lu->pr);
	if (!lu->pr.ptpl_capable || (!lu->pr.aptpl && !was_aptpl))
		return;
	/* APTPL is refused where no state can be kept (pr_out_parse). */
	ut_assert(env->ops->state_put != NULL);
	state_key(lu, key, sizeof(key));
	if (!lu->pr.aptpl) {
		env->ops->state_put(env, key, NULL, 0);
		return;
	}
	b = malloc(PR_STATE_MAX);
	if (!b)
		return;
	n = pr_encode(&lu->pr, b);
	ut_assert_slow(pr_roundtrip_ok(&lu->pr, b, n));
	if (env->ops->state_put(env, key, b, n) < 0)
		LOG_WARN(env, "scsi: %s: could not save APTPL state", lu->name);
	free(b);
}

/* Load what an earlier run saved, and find out whether the environment
 * can keep state at all (PTPL_C): a store that answers "absent" can. */
void scsi_pr_load(struct scsi_lu *lu)
{
	struct env *env = lu->env;
	char key[96];
	uint8_t *b;
	ssize_t n;

	if (!env || !env->ops || !env->ops->state_get || !env->ops->state_put)
		return;
	b = malloc(PR_STATE_MAX);
	if (!b)
		return;
	state_key(lu, key, sizeof(key));
	n = env->ops->state_get(env, key, b, PR_STATE_MAX);
	if (n > 0 && !pr_decode(&lu->pr, b, (size_t)n)) {
		LOG_WARN(env, "scsi: %s: ignoring malformed APTPL state",
			 lu->name);
		memset(&lu->pr, 0, sizeof(lu->pr));
	}
	lu->pr.ptpl_capable = n >= 0 || n == -ENOENT;
	free(b);
	/* State was loaded only from a store that keeps it. */
	ut_assert(!lu->pr.aptpl || lu->pr.ptpl_capable);
	pr_check(&lu->pr);
	ut_assert_slow(pr_regs_ok(&lu->pr));
}

/* ------------------------------------------------ registrations */

static void ua_registrants(struct scsi_lu *lu, const struct scsi_itl *skip,
			   uint16_t asc)
{
	struct scsi_itl *itl;

	ut_assert(asc >> 8 == 0x2a); /* RESERVATIONS RELEASED/PREEMPTED */
	ut_assert(skip == NULL || skip->lu == lu);
	LIST_FOREACH (itl, &lu->itls, lu_link) {
		if (itl != skip && reg_find(&lu->pr, &itl->sess->id) >= 0)
			scsi_ua_add(itl, asc);
	}
}

/* Remove the registrations marked in gone[]: their nexuses get asc as a
 * unit attention, their tasks are aborted if asked (PREEMPT AND ABORT),
 * and a reservation whose holder goes away is released.  *self follows
 * the compaction. */
static void regs_remove(struct scsi_lu *lu, const bool *gone, int *self,
			uint16_t asc, bool abort)
{
	struct scsi_pr *pr = &lu->pr;
	struct scsi_itl *itl;
	unsigned int j = 0, removed = 0, before = pr->nregs;

	pr_check(pr);
	ut_assert(self == NULL || *self < (int)pr->nregs);
	LIST_FOREACH (itl, &lu->itls, lu_link) {
		int k = reg_find(pr, &itl->sess->id);
		struct scsi_cmd *c;

		if (k < 0 || !gone[k])
			continue;
		if (asc)
			scsi_ua_add(itl, asc);
		if (!abort)
			continue;
		TAILQ_FOREACH (c, &lu->task_set, lu_link) {
			if (c->itl == itl)
				scsi_cmd_set_aborted(c);
		}
	}
	for (unsigned int i = 0; i < pr->nregs; i++) {
		if (gone[i]) {
			if (pr->reserved && !type_all_reg(pr->type) &&
			    pr->holder == i)
				pr->reserved = false;
			if (self && *self == (int)i)
				*self = -1;
			removed++;
			continue;
		}
		if (pr->reserved && !type_all_reg(pr->type) && pr->holder == i)
			pr->holder = j;
		if (self && *self == (int)i)
			*self = (int)j;
		pr->regs[j++] = pr->regs[i];
	}
	pr->nregs = j;
	if (pr->reserved && type_all_reg(pr->type) && pr->nregs == 0)
		pr->reserved = false;
	/* Compaction kept exactly the others, and the indices that follow
	 * them (holder, *self) still name the same registrations. */
	ut_assert(j + removed == before);
	ut_assert(self == NULL || *self < (int)pr->nregs);
	pr_check(pr);
}

static int reg_add(struct scsi_pr *pr, const char *name, const uint8_t *isid,
		   uint16_t rtp, bool all_tg_pt, uint64_t key)
{
	struct scsi_pr_reg *r;

	ut_assert(key != 0); /* registering key 0 is unregistering */
	ut_assert(pr->nregs <= SCSI_PR_MAX_REGS);
	if (pr->nregs == SCSI_PR_MAX_REGS)
		return -ENOSPC;
	r = &pr->regs[pr->nregs];
	memset(r, 0, sizeof(*r));
	snprintf(r->initiator, sizeof(r->initiator), "%s", name);
	memcpy(r->isid, isid, 6);
	r->rtp = rtp;
	r->all_tg_pt = all_tg_pt;
	r->key = key;
	ut_assert(r->initiator[0] != '\0');
	return (int)pr->nregs++;
}

/* ------------------------------------------------------ PR OUT */

struct pr_params {
	uint8_t sa, scope, type;
	uint64_t key, sark;
	bool spec_i_pt, all_tg_pt, aptpl;
	const uint8_t *p; /* the parameter list */
	uint32_t plen;
};

/*
 * An iSCSI TransportID (SPC-4 §7.6.4.6): byte 0 FORMAT CODE 7-6 (00b name,
 * 01b name + ",i,0x" + ISID) | PROTOCOL IDENTIFIER 3-0; 2..3 ADDITIONAL
 * LENGTH; 4.. the NUL-terminated string.  Returns its length or 0.
 */
static uint32_t parse_transport_id(const uint8_t *t, uint32_t avail, char *name,
				   size_t cap, uint8_t *isid)
{
	uint32_t len;
	const char *s, *sep;
	size_t nlen;

	if (avail < 4 || (t[0] & 0x0f) != PR_ISCSI_PROTO)
		return 0;
	len = 4u + get_be16(t + 2);
	if (len > avail || len < 5 || (t[0] >> 6) > 1)
		return 0;
	s = (const char *)t + 4;
	if (strnlen(s, len - 4) == len - 4)
		return 0; /* not terminated */
	sep = strstr(s, ",i,0x");
	nlen = sep ? (size_t)(sep - s) : strlen(s);
	if ((t[0] >> 6) == 1 && !sep)
		return 0;
	if (nlen == 0 || nlen >= cap)
		return 0;
	ut_assert(nlen < len - 4); /* the name ends before the NUL */
	memcpy(name, s, nlen);
	name[nlen] = '\0';
	memset(isid, 0, 6);
	if (sep) {
		const char *h = sep + 5;

		for (int i = 0; i < 12; i++) {
			int v;
			char ch = h[i];

			if (ch >= '0' && ch <= '9')
				v = ch - '0';
			else if (ch >= 'a' && ch <= 'f')
				v = ch - 'a' + 10;
			else if (ch >= 'A' && ch <= 'F')
				v = ch - 'A' + 10;
			else
				return 0;
			isid[i / 2] = (uint8_t)(isid[i / 2] << 4 | v);
		}
	}
	/* A whole TransportID, inside what the caller had. */
	ut_assert(len >= 5 && len <= avail);
	return len;
}

/* SPEC_I_PT: register every I_T nexus named by the TransportIDs too
 * (SPC-4 §5.12.7).  All or nothing. */
static bool register_specified(struct scsi_cmd *cmd, const struct pr_params *a)
{
	struct scsi_pr *pr = &cmd->lu->pr;
	struct scsi_pr saved = *pr;
	const struct scsi_nexus_id *me = &cmd->sess->id;
	uint32_t off = 28, end;

	ut_assert(a->spec_i_pt && a->sark != 0); /* pr_register() asked */
	ut_assert(a->p == cmd->buf && a->plen <= cmd->data_out_len);
	if (a->plen < 28) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return false;
	}
	end = 28 + get_be32(a->p + 24);
	if (end > a->plen) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return false;
	}
	while (off < end) {
		char name[224];
		uint8_t isid[6];
		uint32_t n = parse_transport_id(a->p + off, end - off, name,
						sizeof(name), isid);
		struct scsi_nexus_id id = {0};

		if (n == 0) {
			*pr = saved;
			scsi_fail_param(cmd, (uint16_t)off, -1);
			return false;
		}
		snprintf(id.initiator_name, sizeof(id.initiator_name), "%s",
			 name);
		memcpy(id.isid, isid, 6);
		id.rel_tgt_port_id = me->rel_tgt_port_id;
		if (reg_find(pr, &id) < 0 &&
		    reg_add(pr, name, isid, me->rel_tgt_port_id, a->all_tg_pt,
			    a->sark) < 0) {
			*pr = saved;
			scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				  ASC_INSUFFICIENT_REG_RESOURCES);
			return false;
		}
		off += n;
	}
	/* All or nothing: success adds, failure restored `saved`. */
	ut_assert(off == end);
	ut_assert(pr->nregs >= saved.nregs);
	return true;
}

/* REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-4 §5.12.7). */
static void pr_register(struct scsi_cmd *cmd, const struct pr_params *a,
			int self)
{
	struct scsi_lu *lu = cmd->lu;
	struct scsi_pr *pr = &lu->pr;
	const struct scsi_nexus_id *id = &cmd->sess->id;
	bool ignore = a->sa == PR_REGISTER_IGNORE;
	uint32_t gen = pr->generation;

	ut_assert(a->sa == PR_REGISTER || ignore);
	ut_assert(self < (int)pr->nregs);
	if (self < 0) {
		if (!ignore && a->key != 0) {
			cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
			return;
		}
		if (a->sark == 0)
			return; /* nothing to register: GOOD */
		if (a->spec_i_pt && !register_specified(cmd, a))
			return;
		if (reg_add(pr, id->initiator_name, id->isid,
			    id->rel_tgt_port_id, a->all_tg_pt, a->sark) < 0) {
			scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				  ASC_INSUFFICIENT_REG_RESOURCES);
			return;
		}
	} else {
		bool gone[SCSI_PR_MAX_REGS] = {false};

		if (!ignore && a->key != pr->regs[self].key) {
			cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
			return;
		}
		if (a->spec_i_pt) {
			scsi_fail_param(cmd, 20, 3);
			return;
		}
		if (a->sark != 0) {
			pr->regs[self].key = a->sark;
		} else {
			/* Unregister; a holder of a registrants-only
			 * reservation releases it and the other registrants
			 * hear of it (SPC-4 §5.12.11.2.3). */
			bool released = is_holder(pr, self) &&
					type_reg_only(pr->type);

			gone[self] = true;
			regs_remove(lu, gone, NULL, 0, false);
			if (released)
				ua_registrants(lu, cmd->itl,
					       ASC_RESERVATIONS_RELEASED);
		}
	}
	pr->aptpl = a->aptpl;
	pr->generation++;
	/* Pair with the caller: the nexus is registered with SARK, or
	 * unregistered by SARK 0 (SPC-4 §5.12.7). */
	ut_assert(pr->generation == gen + 1);
	ut_assert((reg_find(pr, id) >= 0) == (a->sark != 0));
}

static void pr_reserve(struct scsi_cmd *cmd, const struct pr_params *a,
		       int self)
{
	struct scsi_pr *pr = &cmd->lu->pr;

	/* spc_pr_out() let only a registered nexus with its key through. */
	ut_assert(self >= 0 && self < (int)pr->nregs);
	ut_assert(type_valid(a->type)); /* pr_out_parse() */
	if (pr->reserved) {
		if (!is_holder(pr, self) || pr->type != a->type)
			cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
		return;
	}
	pr->reserved = true;
	pr->type = a->type;
	pr->holder = (unsigned int)self;
	ut_assert(is_holder(pr, self));
}

/* RELEASE (SPC-4 §5.12.11.2): only the holder releases; a type that
 * differs from the reservation's is INVALID RELEASE; the release of a
 * registrants-only or all-registrants reservation is told to the other
 * registrants. */
static void pr_release(struct scsi_cmd *cmd, const struct pr_params *a,
		       int self)
{
	struct scsi_lu *lu = cmd->lu;
	struct scsi_pr *pr = &lu->pr;

	ut_assert(self >= 0 && self < (int)pr->nregs);
	if (!pr->reserved || !is_holder(pr, self))
		return;
	if (pr->type != a->type) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_RELEASE_OF_PR);
		return;
	}
	pr->reserved = false;
	if (type_reg_only(pr->type) || type_all_reg(pr->type))
		ua_registrants(lu, cmd->itl, ASC_RESERVATIONS_RELEASED);
	ut_assert(!pr->reserved);
}

static void pr_clear(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	struct scsi_pr *pr = &lu->pr;

	ut_assert(pr->nregs > 0); /* the caller is registered */
	ua_registrants(lu, cmd->itl, ASC_RESERVATIONS_PREEMPTED);
	pr->nregs = 0;
	pr->reserved = false;
	pr->generation++;
	pr_check(pr);
}

/*
 * PREEMPT / PREEMPT AND ABORT (SPC-4 §5.12.11.4):
 *  - no reservation, or SARK is not the holder's key: remove the
 *    registrations with key SARK (none: RESERVATION CONFLICT; SARK 0
 *    without an all-registrants reservation: INVALID FIELD IN PARAMETER
 *    LIST);
 *  - SARK is the holder's key: remove those registrations and take the
 *    reservation with the new type;
 *  - all-registrants reservation and SARK 0: remove every other
 *    registration and take the reservation with the new type.
 */
static void pr_preempt(struct scsi_cmd *cmd, const struct pr_params *a,
		       int self)
{
	struct scsi_lu *lu = cmd->lu;
	struct scsi_pr *pr = &lu->pr;
	bool gone[SCSI_PR_MAX_REGS] = {false};
	bool abort = a->sa == PR_PREEMPT_ABORT;
	bool take = false, had;
	uint8_t old_type;
	unsigned int hits = 0;

	ut_assert(a->sa == PR_PREEMPT || abort);
	ut_assert(self >= 0 && self < (int)pr->nregs);
	if (pr->reserved && type_all_reg(pr->type) && a->sark == 0) {
		for (unsigned int i = 0; i < pr->nregs; i++)
			gone[i] = (int)i != self;
		take = true;
	} else {
		if (a->sark == 0) {
			scsi_fail_param(cmd, 8, -1);
			return;
		}
		for (unsigned int i = 0; i < pr->nregs; i++) {
			if (pr->regs[i].key == a->sark && (int)i != self) {
				gone[i] = true;
				hits++;
			}
		}
		take = pr->reserved && !type_all_reg(pr->type) &&
		       pr->regs[pr->holder].key == a->sark;
		if (take && pr->holder == (unsigned int)self)
			hits++; /* preempting our own reservation */
		if (hits == 0) {
			cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
			return;
		}
	}
	/* The preempter never removes itself (gone[self] is false). */
	ut_assert(!gone[self]);
	/* Whether the type changes is decided against the reservation as
	 * it was: removing the preempted holder's registration releases it
	 * first. */
	had = pr->reserved;
	old_type = pr->type;
	regs_remove(lu, gone, &self, ASC_REGISTRATIONS_PREEMPTED, abort);
	ut_assert(self >= 0);
	if (take && self >= 0) {
		bool changed = had && old_type != a->type;

		pr->reserved = true;
		pr->type = a->type;
		pr->holder = (unsigned int)self;
		if (changed)
			ua_registrants(lu, cmd->itl, ASC_RESERVATIONS_RELEASED);
	}
	pr->generation++;
}

/*
 * REGISTER AND MOVE (SPC-4 §5.12.8): the holder registers the nexus named
 * by the TransportID and RELATIVE TARGET PORT IDENTIFIER with SARK, hands
 * it the reservation, and with UNREG unregisters itself.  Parameter list:
 * 0..7 key, 8..15 SARK, 17 UNREG 1 | APTPL 0, 18..19 relative target
 * port, 20..23 TransportID length, 24.. TransportID.
 */
static void pr_register_move(struct scsi_cmd *cmd, const uint8_t *p,
			     uint32_t plen, int self)
{
	struct scsi_lu *lu = cmd->lu;
	struct scsi_pr *pr = &lu->pr;
	struct scsi_nexus_id id = {0};
	char name[224];
	uint8_t isid[6];
	uint32_t tlen;
	int dst;

	if (plen < 24 || 24 + get_be32(p + 20) > plen) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return;
	}
	if (!pr->reserved || !is_holder(pr, self) || type_all_reg(pr->type)) {
		cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
		return;
	}
	tlen = get_be32(p + 20);
	if (get_be64(p + 8) == 0 ||
	    parse_transport_id(p + 24, tlen, name, sizeof(name), isid) == 0) {
		scsi_fail_param(cmd, get_be64(p + 8) == 0 ? 8 : 24, -1);
		return;
	}
	snprintf(id.initiator_name, sizeof(id.initiator_name), "%s", name);
	memcpy(id.isid, isid, 6);
	id.rel_tgt_port_id = get_be16(p + 18);
	if (reg_matches(&pr->regs[self], &id)) {
		scsi_fail_param(cmd, 24, -1); /* moving to ourselves */
		return;
	}
	ut_assert(self >= 0 && is_holder(pr, self));
	dst = reg_find(pr, &id);
	if (dst < 0)
		dst = reg_add(pr, name, isid, id.rel_tgt_port_id, false,
			      get_be64(p + 8));
	else
		pr->regs[dst].key = get_be64(p + 8);
	if (dst < 0) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST,
			  ASC_INSUFFICIENT_REG_RESOURCES);
		return;
	}
	ut_assert(dst != self); /* refused above: moving to ourselves */
	pr->holder = (unsigned int)dst;
	if (p[17] & 0x02) {
		bool gone[SCSI_PR_MAX_REGS] = {false};

		gone[self] = true;
		regs_remove(lu, gone, NULL, 0, false);
	}
	pr->aptpl = p[17] & 0x01;
	pr->generation++;
	/* The reservation moved with its type, and survived UNREG. */
	ut_assert(pr->reserved && !type_all_reg(pr->type));
	pr_check(pr);
}

static bool pr_out_parse(struct scsi_cmd *cmd, struct pr_params *a)
{
	const uint8_t *cdb = cmd->cdb;

	a->sa = cdb[1] & 0x1f;
	a->scope = cdb[2] >> 4;
	a->type = cdb[2] & 0x0f;
	a->plen = get_be32(cdb + 5);
	a->p = cmd->buf;
	cmd->xfer_len = a->plen;
	if (a->sa > PR_REGISTER_MOVE) {
		scsi_fail_cdb(cmd, 1, 4);
		return false;
	}
	if (cmd->data_out_len < a->plen || (a->plen && !cmd->buf)) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
		return false;
	}
	if (a->sa == PR_REGISTER_MOVE)
		return true;
	if (a->plen < PR_PARAM_LEN) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return false;
	}
	a->key = get_be64(a->p);
	a->sark = get_be64(a->p + 8);
	a->spec_i_pt = a->p[20] & 0x08;
	a->all_tg_pt = a->p[20] & 0x04;
	a->aptpl = a->p[20] & 0x01;
	/* SPC-4 §6.16.3: 24 bytes exactly unless SPEC_I_PT adds IDs. */
	if (a->plen != PR_PARAM_LEN &&
	    !(a->spec_i_pt && a->sa == PR_REGISTER)) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return false;
	}
	if ((a->sa == PR_RESERVE || a->sa == PR_RELEASE ||
	     a->sa == PR_PREEMPT || a->sa == PR_PREEMPT_ABORT) &&
	    (a->scope != 0 || !type_valid(a->type))) {
		scsi_fail_cdb(cmd, 2, a->scope ? 7 : 3);
		return false;
	}
	if (a->aptpl && !cmd->lu->pr.ptpl_capable &&
	    (a->sa == PR_REGISTER || a->sa == PR_REGISTER_IGNORE)) {
		scsi_fail_param(cmd, 20, 0); /* PTPL_C = 0 */
		return false;
	}
	/* What the service actions read lies inside the Data-Out. */
	ut_assert(a->plen >= PR_PARAM_LEN && a->plen <= cmd->data_out_len);
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	return true;
}

/* PERSISTENT RESERVE OUT: 1 SERVICE ACTION 4-0; 2 SCOPE 7-4, TYPE 3-0;
 * 5..8 PARAMETER LIST LENGTH. */
enum scsi_rc spc_pr_out(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	struct pr_params a;
	bool was_aptpl;
	uint32_t gen;
	int self;

	memset(&a, 0, sizeof(a));
	if (!pr_out_parse(cmd, &a))
		return SCSI_RC_DONE;
	scsi_lu_lock(lu);
	if (lu->spc2_holder && lu->spc2_holder != cmd->itl) {
		cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
		goto out;
	}
	was_aptpl = lu->pr.aptpl;
	gen = lu->pr.generation;
	pr_check(&lu->pr);
	ut_assert_slow(pr_regs_ok(&lu->pr));
	self = reg_find(&lu->pr, &cmd->sess->id);
	if (a.sa == PR_REGISTER || a.sa == PR_REGISTER_IGNORE) {
		pr_register(cmd, &a, self);
		goto save;
	}
	/* Every other service action needs a registered nexus whose key
	 * matches the RESERVATION KEY field. */
	if (self < 0 ||
	    lu->pr.regs[self].key !=
		    (a.sa == PR_REGISTER_MOVE ? get_be64(a.p) : a.key)) {
		cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
		goto out;
	}
	switch (a.sa) {
	case PR_RESERVE:
		pr_reserve(cmd, &a, self);
		break;
	case PR_RELEASE:
		pr_release(cmd, &a, self);
		break;
	case PR_CLEAR:
		pr_clear(cmd);
		break;
	case PR_PREEMPT:
	case PR_PREEMPT_ABORT:
		pr_preempt(cmd, &a, self);
		break;
	default:
		pr_register_move(cmd, a.p, a.plen, self);
		break;
	}
save:
	/* PRgeneration counts changes, one per command at most (SPC-4
	 * §6.15.2), and the state stays whole. */
	ut_assert(lu->pr.generation == gen || lu->pr.generation == gen + 1);
	pr_check(&lu->pr);
	ut_assert_slow(pr_regs_ok(&lu->pr));
	if (cmd->status == SCSI_STATUS_GOOD || gen != lu->pr.generation)
		pr_save(lu, was_aptpl);
out:
	scsi_lu_unlock(lu);
	return SCSI_RC_DONE;
}

/* ------------------------------------------------------- PR IN */

#define PR_IN_MAX (8 + SCSI_PR_MAX_REGS * (24 + 4 + 256))

/* iSCSI TransportID, format 01b: "<name>,i,0x<isid>", padded to 4. */
static uint32_t put_transport_id(uint8_t *t, const struct scsi_pr_reg *r)
{
	char s[256];
	int n = snprintf(s, sizeof(s), "%s,i,0x%02x%02x%02x%02x%02x%02x",
			 r->initiator, r->isid[0], r->isid[1], r->isid[2],
			 r->isid[3], r->isid[4], r->isid[5]);
	uint32_t len = ((uint32_t)n + 1 + 3) & ~3u;

	/* A 223-byte name and the ISID fit; padded to four with a NUL. */
	ut_assert(n > 0 && (size_t)n < sizeof(s));
	ut_assert(len % 4 == 0 && len > (uint32_t)n);
	memset(t, 0, 4 + len);
	t[0] = 0x40 | PR_ISCSI_PROTO;
	put_be16(t + 2, (uint16_t)len);
	memcpy(t + 4, s, (size_t)n);
	return 4 + len;
}

static uint32_t pr_read_keys(const struct scsi_pr *pr, uint8_t *b)
{
	pr_check(pr);
	ut_assert(8 + 8 * pr->nregs <= PR_IN_MAX);
	put_be32(b, pr->generation);
	put_be32(b + 4, 8 * pr->nregs);
	for (unsigned int i = 0; i < pr->nregs; i++)
		put_be64(b + 8 + 8 * i, pr->regs[i].key);
	return 8 + 8 * pr->nregs;
}

static uint32_t pr_read_reservation(const struct scsi_pr *pr, uint8_t *b)
{
	pr_check(pr); /* holder < nregs: regs[holder] is a registration */
	put_be32(b, pr->generation);
	if (!pr->reserved)
		return 8;
	/* Pair with reg_add(): a holder's key is never 0. */
	ut_assert(type_all_reg(pr->type) || pr->regs[pr->holder].key != 0);
	put_be32(b + 4, 16);
	memset(b + 8, 0, 16);
	if (!type_all_reg(pr->type))
		put_be64(b + 8, pr->regs[pr->holder].key);
	b[21] = pr->type;
	ut_assert(get_be32(b + 4) + 8 == 24); /* ADDITIONAL LENGTH */
	return 24;
}

static uint32_t pr_report_caps(const struct scsi_lu *lu, uint8_t *b)
{
	bool ptpl = lu->pr.ptpl_capable;

	memset(b, 0, 8);
	put_be16(b, 8);
	/* CRH, SIP_C, ATP_C, PTPL_C */
	b[2] = (uint8_t)(0x10 | 0x08 | 0x04 | (ptpl ? 0x01 : 0));
	b[3] = (uint8_t)(0x80 | (lu->pr.aptpl ? 0x01 : 0)); /* TMV, PTPL_A */
	b[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02; /* types 7,6,5,3,1 */
	b[5] = 0x01;				 /* type 8 */
	return 8;
}

static uint32_t pr_full_status(const struct scsi_pr *pr, uint8_t *b)
{
	uint32_t len = 8;

	pr_check(pr);
	put_be32(b, pr->generation);
	for (unsigned int i = 0; i < pr->nregs; i++) {
		const struct scsi_pr_reg *r = &pr->regs[i];
		uint8_t *d = b + len;
		uint32_t tl;

		memset(d, 0, 24);
		put_be64(d, r->key);
		d[12] = (uint8_t)((r->all_tg_pt ? 0x02 : 0) |
				  (is_holder(pr, (int)i) ? 0x01 : 0));
		if (is_holder(pr, (int)i))
			d[13] = pr->type;
		put_be16(d + 18, r->rtp);
		tl = put_transport_id(d + 24, r);
		ut_assert(tl <= 4 + 256); /* the room PR_IN_MAX gives each */
		put_be32(d + 20, tl);
		len += 24 + tl;
	}
	ut_assert(len <= PR_IN_MAX);
	put_be32(b + 4, len - 8);
	return len;
}

/* PERSISTENT RESERVE IN: 1 SERVICE ACTION 4-0; 7..8 allocation length.
 * The length fields say the full size even when the allocation length
 * truncates the list (SPC-4 §6.15.2). */
enum scsi_rc spc_pr_in(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	uint8_t sa = cmd->cdb[1] & 0x1f;
	uint8_t *b;
	uint32_t len;

	if (sa > 3) {
		scsi_fail_cdb(cmd, 1, 4);
		return SCSI_RC_DONE;
	}
	b = calloc(1, PR_IN_MAX);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_RC_DONE;
	}
	scsi_lu_lock(lu);
	switch (sa) {
	case 0:
		len = pr_read_keys(&lu->pr, b);
		break;
	case 1:
		len = pr_read_reservation(&lu->pr, b);
		break;
	case 2:
		len = pr_report_caps(lu, b);
		break;
	default:
		len = pr_full_status(&lu->pr, b);
		break;
	}
	ut_assert(len >= 8 && len <= PR_IN_MAX);
	scsi_lu_unlock(lu);
	scsi_data_in(cmd, b, len, get_be16(cmd->cdb + 7));
	free(b);
	ut_assert(cmd->data_in_len <= len);
	return SCSI_RC_DONE;
}
