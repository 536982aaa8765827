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
 *
 * This file changes the state (registrations, PERSISTENT RESERVE OUT) and
 * decides conflicts; pr_in.c reports it, pr_aptpl.c keeps it across power
 * loss, and pr_int.h holds the types and invariants the three share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "env.h"
#include "scsi/pr_int.h"
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

/* ------------------------------------------------------- identities */

/*
 * A registration belongs to one I_T nexus: initiator port and target
 * port.  A REGISTER with ALL_TG_PT=1 makes one per target port of the
 * SCSI target device, SPC-4 §6.16.3: "it shall create the specified
 * registration on all target ports in the SCSI target device known to
 * the device server (i.e., as if the same registration request had been
 * received individually through each target port)" (pr_register); each
 * is then changed, unregistered or preempted on its own, as LIO and SCST
 * keep them.  Until 2026-12-07 one entry flagged all_tg_pt matched every
 * port; a state file of that time still holds such entries, which match
 * every port until the next PERSISTENT RESERVE OUT splits them
 * (legacy_split).
 */
static bool reg_matches(const struct scsi_pr_reg *r,
			const struct scsi_nexus_id *id)
{
	if (strcasecmp(r->initiator, id->initiator_name) != 0)
		return false;
	if (memcmp(r->isid, id->isid, sizeof(r->isid)) != 0)
		return false;
	return r->all_tg_pt || r->rtp == id->rel_tgt_port_id;
}

/* The target ports a REGISTER from nexus id applies to: its own first,
 * then with ALL_TG_PT every other port of its target device.  Returns
 * how many (ports[] has room for SCSI_MAX_TGT_PORTS + 1). */
static unsigned int register_ports(const struct scsi_nexus_id *id, bool all,
				   uint16_t *ports)
{
	unsigned int n = 0;

	ut_assert(id->n_tgt_ports <= SCSI_MAX_TGT_PORTS);
	ports[n++] = id->rel_tgt_port_id;
	for (unsigned int i = 0; all && i < id->n_tgt_ports; i++) {
		bool seen = false;

		for (unsigned int j = 0; j < n; j++)
			seen = seen || ports[j] == id->tgt_ports[i];
		if (!seen)
			ports[n++] = id->tgt_ports[i];
	}
	ut_assert(n >= 1 && n <= SCSI_MAX_TGT_PORTS + 1);
	return n;
}

/* The nexus of id's initiator port through target port rtp. */
static struct scsi_nexus_id nexus_at(const struct scsi_nexus_id *id,
				     uint16_t rtp)
{
	struct scsi_nexus_id at = *id;

	at.rel_tgt_port_id = rtp;
	return at;
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

/* What a PREEMPT AND ABORT collects under the LU lock: the wait for
 * its aborted commands in the task set (NULL: out of memory, it answers
 * without waiting), and the preempted sessions' transports (NULL: the
 * same; n of them). */
struct pr_abort {
	struct scsi_tmf_wait *w;
	struct scsi_tport_ref *tports;
	unsigned int n;
};

/* Remove the registrations marked in gone[]: their nexuses get asc as a
 * unit attention, their tasks are aborted if asked (PREEMPT AND ABORT:
 * `abort` then counts them, names their nexuses and their transports),
 * and a reservation whose holder goes away is released.  *self follows
 * the compaction. */
static void regs_remove(struct scsi_lu *lu, const bool *gone, int *self,
			uint16_t asc, struct pr_abort *abort)
{
	struct scsi_pr *pr = &lu->pr;
	struct scsi_itl *itl;
	unsigned int j = 0, removed = 0, before = pr->nregs;

	pr_check(pr);
	ut_assert(self == NULL || *self < (int)pr->nregs);
	ut_assert(abort == NULL || abort->w == NULL ||
		  (abort->w->pending == 0 && abort->w->n_itls == 0));
	LIST_FOREACH (itl, &lu->itls, lu_link) {
		int k = reg_find(pr, &itl->sess->id);
		struct scsi_tmf_wait *w = abort ? abort->w : NULL;
		const struct scsi_sess *s = itl->sess;
		unsigned int hit = 0;
		struct scsi_cmd *c;

		if (k < 0 || !gone[k])
			continue;
		if (asc)
			scsi_ua_add(itl, asc);
		if (!abort)
			continue;
		TAILQ_FOREACH (c, &lu->task_set, lu_link) {
			if (c->itl != itl)
				continue;
			scsi_cmd_set_aborted(c);
			hit++;
		}
		/* both sized by the LU's nexus count (pr_abort_new) */
		if (abort->tports && s->abort_waiting) {
			uint64_t id =
				__atomic_load_n(&s->tport_id, __ATOMIC_RELAXED);

			ut_assert(abort->n < lu->itl_count);
			if (id != 0)
				abort->tports[abort->n++] =
					(struct scsi_tport_ref){
						s->abort_waiting, s->tport_ctx,
						id, s->env};
		}
		if (!w)
			continue;
		ut_assert(w->n_itls < lu->itl_count);
		if (hit)
			w->itls[w->n_itls++] = itl;
		w->pending += hit;
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
 * Format 00b names an iSCSI initiator device, not a port: "If a iSCSI
 * TransportID with the format code set to 00b appears in a PERSISTENT
 * RESERVE OUT parameter list (see 6.16.3), all initiator ports known to
 * the device server with an iSCSI node name matching the one in the
 * TransportID shall be registered", and "iSCSI TransportIDs with a
 * format code of 00b may be rejected": we refuse it (0), as a REGISTER
 * AND MOVE could not hand one reservation to several ports either.
 * Until 2026-12-07 it registered the nexus of ISID 0, which no session
 * has (LIO registers the node without an ISID, SCST every session of
 * that name).
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
	if (len > avail || len < 5 || (t[0] >> 6) != 1)
		return 0;
	s = (const char *)t + 4;
	if (strnlen(s, len - 4) == len - 4)
		return 0; /* not terminated */
	sep = strstr(s, ",i,0x");
	if (!sep)
		return 0;
	nlen = (size_t)(sep - s);
	if (nlen == 0 || nlen >= cap)
		return 0;
	ut_assert(nlen < len - 4); /* the name ends before the NUL */
	memcpy(name, s, nlen);
	name[nlen] = '\0';
	memset(isid, 0, 6);
	for (int i = 0; i < 12; i++) {
		int v;
		char ch = sep[5 + i];

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
	/* A whole TransportID, inside what the caller had. */
	ut_assert(len >= 5 && len <= avail);
	return len;
}

static bool same_nexus(const struct scsi_nexus_id *a,
		       const struct scsi_nexus_id *b)
{
	return strcasecmp(a->initiator_name, b->initiator_name) == 0 &&
	       memcmp(a->isid, b->isid, sizeof(a->isid)) == 0 &&
	       a->rel_tgt_port_id == b->rel_tgt_port_id;
}

/* SPEC_I_PT: register every I_T nexus named by the TransportIDs too
 * (SPC-4 §5.12.7).  All or nothing.  The sender and each unregistered
 * nexus named are registered; one that was registered when the command
 * came is refused: SPC-5 §5.13.7 table 67 (SPC-4 §5.12.7) footnote b, "If
 * any I_T nexus specified in the parameter list is registered, the
 * command shall be terminated with CHECK CONDITION status, with the sense
 * key set to ILLEGAL REQUEST, and the additional sense code set to INVALID
 * FIELD IN PARAMETER LIST" (field pointer at its TransportID).  Until
 * 2026-12-07 it was passed over, as LIO does; SCST replaces its key.  A
 * nexus named twice is registered once.  With ALL_TG_PT each initiator
 * port named is registered through every target port (SPC-4 §6.16.3),
 * and one registered through any of them is refused. */
static bool register_specified(struct scsi_cmd *cmd, const struct pr_params *a)
{
	struct scsi_pr *pr = &cmd->lu->pr;
	struct scsi_pr saved = *pr;
	const struct scsi_nexus_id *me = &cmd->sess->id;
	uint16_t ports[SCSI_MAX_TGT_PORTS + 1];
	unsigned int np;
	uint32_t off = 28, end;

	ut_assert(a->spec_i_pt && a->sark != 0); /* pr_register() asked */
	ut_assert(a->p == cmd->buf && a->plen <= cmd->data_out_len);
	if (a->plen < 28) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return false;
	}
	/* in 64 bits: 28 plus a hostile length must not wrap to inside */
	if (28 + (uint64_t)get_be32(a->p + 24) > a->plen) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return false;
	}
	end = 28 + get_be32(a->p + 24);
	while (off < end) {
		char name[224];
		uint8_t isid[6];
		uint32_t n = parse_transport_id(a->p + off, end - off, name,
						sizeof(name), isid);
		struct scsi_nexus_id id = {0};

		if (n == 0) {
			*pr = saved;
			scsi_fail_param(cmd, off, -1);
			return false;
		}
		snprintf(id.initiator_name, sizeof(id.initiator_name), "%s",
			 name);
		memcpy(id.isid, isid, 6);
		id.rel_tgt_port_id = me->rel_tgt_port_id;
		memcpy(id.tgt_ports, me->tgt_ports, sizeof(id.tgt_ports));
		id.n_tgt_ports = me->n_tgt_ports;
		np = register_ports(&id, a->all_tg_pt, ports);
		for (unsigned int k = 0; k < np; k++) {
			struct scsi_nexus_id at = nexus_at(&id, ports[k]);

			if (reg_find(&saved, &at) >= 0) {
				*pr = saved;
				/* registered before */
				scsi_fail_param(cmd, off, -1);
				return false;
			}
		}
		/* Named twice: registered once; the sender's own nexuses
		 * are registered after the list, once (pr_register). */
		for (unsigned int k = 0; k < np; k++) {
			struct scsi_nexus_id at = nexus_at(&id, ports[k]);
			struct scsi_nexus_id mine = nexus_at(me, ports[k]);

			if (reg_find(pr, &at) >= 0 || same_nexus(&at, &mine))
				continue;
			if (reg_add(pr, name, isid, ports[k], false, a->sark) <
			    0) {
				*pr = saved;
				scsi_fail(cmd, SK_ILLEGAL_REQUEST,
					  ASC_INSUFFICIENT_REG_RESOURCES);
				return false;
			}
		}
		off += n;
	}
	/* All or nothing: success adds, failure restored `saved`. */
	ut_assert(off == end);
	ut_assert(pr->nregs >= saved.nregs);
	return true;
}

/*
 * REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-4 §5.12.7) through
 * each nexus of the sender's initiator port that the command names: its
 * own, and with ALL_TG_PT the one through every other target port, "as
 * if the same registration request had been received individually
 * through each target port" (§6.16.3; the intent, T10 reflector
 * 2008-04-17: "the same work as if each of those I_T nexuses were used
 * to run REGISTER ... one at a time").  For each: REGISTER's RESERVATION
 * KEY must be the nexus's key (0 if unregistered); SARK is its new key,
 * or 0 unregisters it.  One of them that would get RESERVATION CONFLICT
 * gets it for the command, and nothing changes.  An unregistered sender
 * with SARK 0 registers nothing.
 */
static void pr_register(struct scsi_cmd *cmd, const struct pr_params *a,
			int self)
{
	struct scsi_lu *lu = cmd->lu;
	struct scsi_pr *pr = &lu->pr;
	const struct scsi_nexus_id *id = &cmd->sess->id;
	bool ignore = a->sa == PR_REGISTER_IGNORE;
	uint32_t gen = pr->generation;
	uint16_t ports[SCSI_MAX_TGT_PORTS + 1];
	int idx[SCSI_MAX_TGT_PORTS + 1] = {0};
	unsigned int n = register_ports(id, a->all_tg_pt, ports), nreg = 0;

	ut_assert(a->sa == PR_REGISTER || ignore);
	ut_assert(self < (int)pr->nregs);
	for (unsigned int k = 0; k < n; k++) {
		struct scsi_nexus_id at = nexus_at(id, ports[k]);

		idx[k] = reg_find(pr, &at);
		nreg += idx[k] >= 0;
		if (!ignore &&
		    a->key != (idx[k] < 0 ? 0 : pr->regs[idx[k]].key)) {
			cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
			return;
		}
	}
	ut_assert(idx[0] == self); /* the sender's own port comes first */
	if (self >= 0 && a->spec_i_pt) {
		scsi_fail_param(cmd, 20, 3);
		return;
	}
	if (nreg == 0 && a->sark == 0)
		return; /* nothing to register: GOOD */
	if (a->sark != 0) {
		unsigned int before = pr->nregs;

		/* SPEC_I_PT only appends (a nexus it names that is
		 * registered is refused), so that truncating undoes it. */
		if (a->spec_i_pt && !register_specified(cmd, a))
			return;
		if (pr->nregs + (n - nreg) > SCSI_PR_MAX_REGS) {
			pr->nregs = before;
			scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				  ASC_INSUFFICIENT_REG_RESOURCES);
			return;
		}
		for (unsigned int k = 0; k < n; k++) {
			if (idx[k] >= 0)
				pr->regs[idx[k]].key = a->sark;
			else {
				int added = reg_add(pr, id->initiator_name,
						    id->isid, ports[k], false,
						    a->sark);

				ut_assert(added >= 0); /* room was counted */
			}
		}
	} else {
		/* Unregister; a holder of a registrants-only reservation
		 * releases it and the other registrants hear of it (SPC-4
		 * §5.12.11.2.3). */
		bool gone[SCSI_PR_MAX_REGS] = {false}, released = false;

		for (unsigned int k = 0; k < n; k++) {
			if (idx[k] < 0)
				continue;
			released = released || (is_holder(pr, idx[k]) &&
						type_reg_only(pr->type));
			gone[idx[k]] = true;
		}
		regs_remove(lu, gone, NULL, 0, NULL);
		if (released)
			ua_registrants(lu, cmd->itl, ASC_RESERVATIONS_RELEASED);
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
		       int self, struct pr_abort *abort)
{
	struct scsi_lu *lu = cmd->lu;
	struct scsi_pr *pr = &lu->pr;
	bool gone[SCSI_PR_MAX_REGS] = {false};
	bool take = false, had;
	uint8_t old_type;
	unsigned int hits = 0;

	ut_assert(a->sa == PR_PREEMPT || a->sa == PR_PREEMPT_ABORT);
	ut_assert(abort == NULL || a->sa == PR_PREEMPT_ABORT);
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
 * it the reservation, and with UNREG unregisters itself.  No unit
 * attention: §5.12.8 lists the move's actions a) to h) and none
 * establishes one (checked 2026-12-07; neither LIO nor SCST does).  With
 * no reservation at all: "the device server shall terminate the command
 * with CHECK CONDITION status, with the sense key set to ILLEGAL REQUEST,
 * and the additional sense code set to INVALID FIELD IN CDB" (SPC-5
 * §5.13.8; LIO and SCST do; until 2026-12-07 RESERVATION CONFLICT).  Parameter list:
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

	/* pr_out_parse() refused a list shorter than its header */
	ut_assert(plen >= PR_PARAM_LEN && plen <= cmd->data_out_len);
	/* in 64 bits: 24 plus a hostile length must not wrap to inside */
	if (24 + (uint64_t)get_be32(p + 20) > plen) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return;
	}
	if (!pr->reserved) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	if (!is_holder(pr, self) || type_all_reg(pr->type)) {
		cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
		return;
	}
	tlen = get_be32(p + 20);
	ut_assert(24 + (uint64_t)tlen <= plen); /* the TransportID is inside */
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
		regs_remove(lu, gone, NULL, 0, NULL);
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
	/* Every list has a 24-byte header, REGISTER AND MOVE's too
	 * (SPC-4 §6.16.4): nothing of a shorter one is read, not even the
	 * RESERVATION KEY that spc_pr_out() compares first. */
	if (a->plen < PR_PARAM_LEN) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return false;
	}
	ut_assert(a->p != NULL && a->plen <= cmd->data_out_len);
	if (a->sa == PR_REGISTER_MOVE)
		return true;
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

/* What a PREEMPT AND ABORT collects, with room for every nexus of the
 * LU (the LU lock held).  What cannot be allocated is left out: the
 * command then answers without waiting for it. */
static void pr_abort_new(struct scsi_cmd *cmd, struct pr_abort *pa)
{
	struct scsi_lu *lu = cmd->lu;
	struct scsi_tmf_wait *w;

	memset(pa, 0, sizeof(*pa));
	w = calloc(1, sizeof(*w) + lu->itl_count * sizeof(w->itls[0]));
	pa->tports = calloc(lu->itl_count + 1, sizeof(*pa->tports));
	if (!w || !pa->tports) {
		/* SPC-4 §5.12.11.5: no GOOD before they end */
		LOG_ERR(lu->env,
			"scsi: %s: out of memory: a PREEMPT AND ABORT cannot "
			"wait for the commands it aborts: its connection "
			"closes instead of answering",
			lu->name);
		cmd->answer_lost = true;
	}
	if (!w)
		return;
	w->sess = cmd->sess;
	w->env = cmd->sess->env;
	pa->w = w;
}

/*
 * SPC-4 §5.12.11.5 (SPC-5 §5.14.11.2.5): PREEMPT AND ABORT aborts the
 * tasks of the preempted I_T nexuses as SAM-5 defines, so the aborted
 * tasks have ended -- none completes or changes the medium any more --
 * before the PERSISTENT RESERVE OUT completes (SAM-5 §5.6, §7.1; LIO and
 * SCST wait likewise).  Those still in the task set (at the backstore,
 * waiting for an LBA range, on another reactor) end on their sessions'
 * reactors: the wait counts them, and the last one's end releases it
 * (task_set.c scsi_cmd_complete).  With the LU lock held; true if the
 * wait is queued (hook->hold() is then due, after the lock).
 */
static bool pr_out_wait(struct scsi_cmd *cmd, struct scsi_tmf_wait *w,
			const struct scsi_tmf_hook *hook)
{
	struct scsi_lu *lu = cmd->lu;

	if (!w || w->pending == 0)
		return false;
	/* GOOD, or refused after the tasks were aborted: its state could
	 * not be saved (pr_save_or_roll_back); they are gone either way. */
	ut_assert(cmd->status == SCSI_STATUS_GOOD ||
		  cmd->status == SCSI_STATUS_CHECK_CONDITION);
	ut_assert(w->n_itls > 0 && w->n_itls <= lu->itl_count);
	ut_assert(hook != NULL && hook->release != NULL);
	w->upto = lu->ts_seq;
	w->hook = *hook;
	LIST_INSERT_HEAD(&lu->tmf_waits, w, link);
	return true;
}

/*
 * APTPL (SPC-4 §5.12.5, §6.16.3): with it on, a change the PERSISTENT
 * RESERVE OUT makes is one the LU promises to keep across a power loss.
 * When the store cannot keep it (EIO, ENOSPC of the state directory, no
 * memory), the state goes back to what it was before the command, which
 * is what the store still holds, and the command is refused: memory and
 * disk agree, and the initiator knows that nothing changed.  ENOSPC,
 * EDQUOT and ENOMEM are ILLEGAL REQUEST, INSUFFICIENT REGISTRATION
 * RESOURCES (05/55/04, SPC-4's answer when the device server cannot hold
 * what a PR OUT asks for); anything else HARDWARE ERROR, INTERNAL TARGET
 * FAILURE.  LIO answers an error too but keeps the change in memory, so
 * a retried REGISTER then meets its own key (RESERVATION CONFLICT).
 * Unit attentions already queued for other nexuses and the tasks a
 * PREEMPT AND ABORT aborted are not taken back: a spurious unit
 * attention makes an initiator read the state again, which it finds as
 * it was.  before: the state before the change (NULL: no save can be
 * needed); false: the command was refused here.
 */
static void pr_save_or_roll_back(struct scsi_cmd *cmd,
				 const struct scsi_pr *before, bool was_aptpl)
{
	struct scsi_lu *lu = cmd->lu;
	int rc = scsi_pr_save(lu, was_aptpl);

	if (rc == 0)
		return;
	ut_assert(before != NULL); /* pr_snapshot() saw the save coming */
	lu->pr = *before;
	pr_check(&lu->pr);
	if (cmd->status != SCSI_STATUS_GOOD)
		return; /* refused already; the state is as before it */
	if (rc == -ENOSPC || rc == -EDQUOT || rc == -ENOMEM)
		scsi_fail(cmd, SK_ILLEGAL_REQUEST,
			  ASC_INSUFFICIENT_REG_RESOURCES);
	else
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
}

/* The state before a change that may have to be saved (APTPL on now,
 * or asked for: REGISTER's APTPL, REGISTER AND MOVE's), for
 * pr_save_or_roll_back().  *before NULL: nothing to save.  False: no
 * memory for the copy, the command refused before any change. */
static bool pr_snapshot(struct scsi_cmd *cmd, const struct pr_params *a,
			struct scsi_pr **before)
{
	const struct scsi_pr *pr = &cmd->lu->pr;

	*before = NULL;
	if (!pr->ptpl_capable ||
	    !(pr->aptpl || a->aptpl || a->sa == PR_REGISTER_MOVE))
		return true;
	*before = malloc(sizeof(**before));
	if (!*before) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST,
			  ASC_INSUFFICIENT_REG_RESOURCES);
		return false;
	}
	**before = *pr;
	return true;
}

/*
 * A registration that a state file saved before 2026-12-07 flagged
 * all_tg_pt (pr_aptpl.c) stands for one per target port (SPC-4
 * §6.16.3): split it with the ports of the target device the command
 * came through.  It stays where it is on the port it was made through
 * (a reservation it holds stays with that nexus); the other ports' are
 * appended, as far as the table has room.  No change an initiator sees
 * but READ KEYS and READ FULL STATUS listing each nexus: PRgeneration
 * stays.
 */
static void legacy_split(struct scsi_lu *lu, const struct scsi_nexus_id *me)
{
	struct scsi_pr *pr = &lu->pr;
	unsigned int n = pr->nregs;

	for (unsigned int i = 0; i < n; i++) {
		struct scsi_pr_reg *r = &pr->regs[i];
		struct scsi_nexus_id id = *me;
		uint16_t ports[SCSI_MAX_TGT_PORTS + 1];
		unsigned int np;

		if (!r->all_tg_pt)
			continue;
		r->all_tg_pt = false;
		snprintf(id.initiator_name, sizeof(id.initiator_name), "%s",
			 r->initiator);
		memcpy(id.isid, r->isid, sizeof(id.isid));
		id.rel_tgt_port_id = r->rtp;
		np = register_ports(&id, true, ports);
		for (unsigned int k = 1; k < np; k++) {
			struct scsi_nexus_id at = nexus_at(&id, ports[k]);

			if (reg_find(pr, &at) >= 0)
				continue;
			if (reg_add(pr, r->initiator, r->isid, ports[k], false,
				    r->key) < 0)
				LOG_WARN(lu->env,
					 "scsi: %s: no room to split a saved "
					 "ALL_TG_PT registration to port %u",
					 lu->name, ports[k]);
		}
	}
	pr_check(pr);
}

/* PERSISTENT RESERVE OUT: 1 SERVICE ACTION 4-0; 2 SCOPE 7-4, TYPE 3-0;
 * 5..8 PARAMETER LIST LENGTH.  A PREEMPT AND ABORT's waits: scsi_int.h. */
void spc_pr_out(struct scsi_cmd *cmd, const struct scsi_tmf_hook *abort_hook,
		struct scsi_tport_ref **tports, unsigned int *n)
{
	struct scsi_lu *lu = cmd->lu;
	struct pr_abort abort = {0};
	struct pr_params a;
	struct scsi_pr *before = NULL;
	bool was_aptpl, waits = false;
	uint32_t gen;
	int self;

	*tports = NULL;
	*n = 0;
	memset(&a, 0, sizeof(a));
	if (!pr_out_parse(cmd, &a))
		return;
	scsi_lu_lock(lu);
	/* Never both kinds of reservation at once (SPC-4 §5.12.3; reserve.c
	 * asserts it): while an SPC-2 RESERVE is held, PERSISTENT RESERVE
	 * OUT conflicts, from its holder too (a REGISTER by the holder made
	 * its RELEASE fail an assertion: a crash by one initiator). */
	if (lu->spc2_holder) {
		cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
		goto out;
	}
	was_aptpl = lu->pr.aptpl;
	gen = lu->pr.generation;
	if (!pr_snapshot(cmd, &a, &before))
		goto out;
	legacy_split(lu, &cmd->sess->id);
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
		pr_preempt(cmd, &a, self, NULL);
		break;
	case PR_PREEMPT_ABORT:
		ut_assert(abort_hook != NULL);
		pr_abort_new(cmd, &abort);
		pr_preempt(cmd, &a, self, &abort);
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
		pr_save_or_roll_back(cmd, before, was_aptpl);
	waits = pr_out_wait(cmd, abort.w, abort_hook);
out:
	scsi_lu_unlock(lu);
	free(before);
	/* The release comes from another reactor's post or from a command
	 * of this one ending later: the hold is in time here. */
	if (waits)
		abort_hook->hold(abort_hook->arg);
	else
		free(abort.w);
	if (abort.n > 0) {
		*tports = abort.tports;
		*n = abort.n;
	} else {
		free(abort.tports);
	}
}
