/*
 * pr_model.c — persistent reservations as SPC-4 §5.12 describes them, for
 * the oracle (see pr_model.h).  Written from the standard, not from
 * target/scsi/pr.c: where the two disagree the run fails.
 */
#include <stdio.h>
#include <string.h>

#include "pr_model.h"

static bool all_reg(uint8_t t)
{
	return t == 7 || t == 8;
}
static bool reg_only(uint8_t t)
{
	return t == 5 || t == 6;
}
static bool excl_access(uint8_t t)
{
	return t == 3 || t == 6 || t == 8;
}

const char *prm_type_name(uint8_t t)
{
	switch (t) {
	case 1:
		return "wr-ex";
	case 3:
		return "ex-ac";
	case 5:
		return "wr-ex-ro";
	case 6:
		return "ex-ac-ro";
	case 7:
		return "wr-ex-ar";
	case 8:
		return "ex-ac-ar";
	default:
		return "?";
	}
}

bool prm_is_holder(const struct pr_model *m, int a)
{
	if (!m->reserved || m->key[a] == 0)
		return false;
	return all_reg(m->type) || m->holder == a;
}

/* SPC-4 table 63: from a nexus that does not hold the reservation,
 *   Write Exclusive         writes conflict
 *   Exclusive Access        reads and writes conflict
 *   ... Registrants Only,   the same, but only for nexuses that are not
 *   ... All Registrants     registered. */
bool prm_conflicts(const struct pr_model *m, int a, bool write)
{
	if (!m->reserved || prm_is_holder(m, a))
		return false;
	if ((reg_only(m->type) || all_reg(m->type)) && m->key[a] != 0)
		return false;
	return write || excl_access(m->type);
}

void prm_clear(struct pr_model *m)
{
	for (int i = 0; i < PR_MODEL_NEXUS; i++)
		m->key[i] = 0;
	for (int i = PR_MODEL_ACTORS; i < PR_MODEL_NEXUS; i++)
		m->who[i] = 0; /* the other nexuses' slots are free again */
	m->reserved = false;
	m->holder = -1;
}

/* ------------------------------------------------------- topology */

void prm_set_ports(struct pr_model *m, const uint16_t *rtps, int n)
{
	m->nports = 0;
	for (int i = 0; i < n && m->nports < PR_MODEL_PORTS; i++)
		m->ports[m->nports++] = rtps[i];
}

int prm_slot(const struct pr_model *m, int iport, uint16_t rtp)
{
	for (int s = 0; s < PR_MODEL_NEXUS; s++)
		if (m->who[s] == iport + 1 && m->rtp[s] == rtp)
			return s;
	return -1;
}

/* The slot of that nexus, taking a free one for a nexus no actor is. */
static int slot_get(struct pr_model *m, int iport, uint16_t rtp)
{
	int s = prm_slot(m, iport, rtp);

	for (int i = PR_MODEL_ACTORS; s < 0 && i < PR_MODEL_NEXUS; i++)
		if (m->who[i] == 0) {
			m->who[i] = (uint8_t)(iport + 1);
			m->rtp[i] = rtp;
			m->key[i] = 0;
			s = i;
		}
	return s; /* (8 initiator ports by 4 target ports always fit) */
}

void prm_set_nexus(struct pr_model *m, int actor, int iport, uint16_t rtp)
{
	uint8_t w = (uint8_t)(iport + 1);

	if (m->who[actor] == w && m->rtp[actor] == rtp)
		return;
	if (m->who[actor] != 0 && m->key[actor] != 0) {
		/* the old nexus keeps its registration */
		int old = m->who[actor] - 1, s;

		m->who[actor] = 0;
		s = slot_get(m, old, m->rtp[actor]);
		if (s >= 0 && m->key[s] == 0) {
			m->key[s] = m->key[actor];
			if (m->reserved && m->holder == actor)
				m->holder = s;
		}
		m->key[actor] = 0;
	}
	m->who[actor] = w;
	m->rtp[actor] = rtp;
	/* the new nexus's registration, kept in another nexus's slot */
	for (int s = PR_MODEL_ACTORS; s < PR_MODEL_NEXUS; s++) {
		if (m->who[s] != w || m->rtp[s] != rtp)
			continue;
		if (m->key[actor] == 0) {
			m->key[actor] = m->key[s];
			if (m->reserved && m->holder == s)
				m->holder = actor;
		}
		m->key[s] = 0;
		m->who[s] = 0;
	}
}

void prm_crash(struct pr_model *m)
{
	if (!m->aptpl)
		prm_clear(m);
}

static int nregs(const struct pr_model *m)
{
	int n = 0;

	for (int i = 0; i < PR_MODEL_NEXUS; i++)
		n += m->key[i] != 0;
	return n;
}

/* A registration goes: a reservation it held (not all-registrants) is
 * released; an all-registrants one ends with its last registrant. */
static void unregister(struct pr_model *m, int a)
{
	m->key[a] = 0;
	if (m->reserved && !all_reg(m->type) && m->holder == a)
		m->reserved = false;
	if (m->reserved && all_reg(m->type) && nregs(m) == 0)
		m->reserved = false;
}

/* Every registrant but `self` is told `what`. */
static void ua_registrants(const struct pr_model *m, int self,
			   struct prm_ua *ua, uint8_t what)
{
	for (int i = 0; ua && i < PR_MODEL_NEXUS; i++)
		if (i != self && m->key[i] != 0)
			ua->kinds[i] |= what;
}

/*
 * REGISTER with SPEC_I_PT (SPC-4 §5.12.7, §6.16.3) from a nexus not yet
 * registered (a registered one is refused: INVALID FIELD IN PARAMETER
 * LIST): the nexus and every nexus its TransportIDs name are registered
 * with the SERVICE ACTION RESERVATION KEY, all or nothing -- one
 * malformed TransportID and nothing changes (INVALID FIELD IN PARAMETER
 * LIST at it).  A nexus named that is registered is refused the same
 * way (SPC-5 §5.13.7 table 67 footnote b: "If any I_T nexus specified in
 * the parameter list is registered, the command shall be terminated with
 * ... INVALID FIELD IN PARAMETER LIST"), at its first TransportID, as is
 * a TransportID of format 00b ("may be rejected", §7.6.4.6; the target
 * does), at the list's first; the first refused in the list's order
 * wins.  One naming the sender's own nexus adds nothing: the sender is
 * registered once.
 */
static enum prm_result illegal(struct prm_ua *ua, uint8_t asc, int field,
			       int bit)
{
	if (ua) {
		ua->ill_asc = asc;
		ua->ill_field = (int16_t)field;
		ua->ill_bit = (int8_t)bit;
	}
	return PRM_ILLEGAL;
}

/* The target ports a REGISTER from slot self applies to: its own, and
 * with ALL_TG_PT every other port of the target device (SPC-4 §6.16.3);
 * slot[k] the nexus of initiator port iport through rtp[k] (-1: no
 * slot yet, so not registered).  Returns how many. */
static int register_ports(const struct pr_model *m, int self, int iport,
			  bool all, uint16_t *rtp, int *slot)
{
	int n = 0;

	if (m->who[self] == 0) { /* no topology: the actors alone */
		rtp[0] = 0;
		slot[0] = iport;
		return 1;
	}
	rtp[n] = m->rtp[self];
	slot[n] = iport == m->who[self] - 1 ? self : prm_slot(m, iport, rtp[0]);
	n++;
	for (int k = 0; all && m->who[self] != 0 && k < m->nports; k++) {
		if (m->ports[k] == m->rtp[self])
			continue;
		rtp[n] = m->ports[k];
		slot[n++] = prm_slot(m, iport, m->ports[k]);
	}
	return n;
}

static enum prm_result register_specified(struct pr_model *m, int self,
					  const struct prm_out *o,
					  struct prm_ua *ua)
{
	uint16_t rtp[PR_MODEL_PORTS + 1];
	int slot[PR_MODEL_PORTS + 1];
	int at = -1, me = m->who[self] - 1;

	if (o->tid_fmt0 && (o->spec != 0 || o->tid_bad))
		return illegal(ua, 0x26, 28, -1); /* the first is 00b */
	for (int i = 0; i < PR_MODEL_ACTORS; i++) {
		int n;

		if (!(o->spec >> i & 1) || (at >= 0 && o->spec_off[i] >= at))
			continue;
		n = register_ports(m, self, m->who[i] ? m->who[i] - 1 : i,
				   o->all_tg_pt, rtp, slot);
		for (int k = 0; k < n; k++)
			if (slot[k] >= 0 && m->key[slot[k]] != 0)
				at = o->spec_off[i];
	}
	if (at >= 0)
		return illegal(ua, 0x26, at, -1); /* registered already */
	if (o->tid_bad)
		return illegal(ua, 0x26, o->tid_off, -1);
	for (int i = 0; i < PR_MODEL_ACTORS; i++) {
		int ip = m->who[i] ? m->who[i] - 1 : i, n;

		/* the sender's own initiator port: registered after */
		if (!(o->spec >> i & 1) || ip == me || i == self)
			continue;
		n = register_ports(m, self, ip, o->all_tg_pt, rtp, slot);
		for (int k = 0; k < n; k++) {
			int s = slot[k] >= 0 ? slot[k]
					     : slot_get(m, ip, rtp[k]);

			if (s >= 0 && m->key[s] == 0)
				m->key[s] = o->sark;
		}
	}
	return PRM_GOOD;
}

/*
 * REGISTER AND MOVE (SPC-4 §5.12.8, §6.16.4), after the key check: a
 * TransportID longer than the list is PARAMETER LIST LENGTH ERROR; only
 * the holder of a reservation that is not all-registrants may move it
 * (else RESERVATION CONFLICT); SARK 0, a malformed TransportID or one
 * naming the sender's own nexus is INVALID FIELD IN PARAMETER LIST.
 * The destination is registered with SARK (its key replaced if it was
 * registered), holds the reservation with the same type, and with UNREG
 * the sender's registration goes.  APTPL is the list's.
 */
static enum prm_result register_move(struct pr_model *m, int self,
				     const struct prm_out *o, struct prm_ua *ua)
{
	if (o->tid_overrun)
		return illegal(ua, 0x1a, -1, -1);
	/* SPC-5 §5.13.8: "there is no persistent reservation established":
	 * ILLEGAL REQUEST, INVALID FIELD IN CDB */
	if (!m->reserved)
		return illegal(ua, 0x24, -1, -1);
	if (!prm_is_holder(m, self) || all_reg(m->type))
		return PRM_CONFLICT;
	if (o->sark == 0)
		return illegal(ua, 0x26, 8, -1);
	if (o->tid_bad || o->dest == self || o->dest < 0 ||
	    o->dest >= PR_MODEL_ACTORS)
		return illegal(ua, 0x26, 24, -1);
	m->key[o->dest] = o->sark;
	m->holder = o->dest;
	if (o->unreg)
		unregister(m, self);
	m->aptpl = o->aptpl;
	m->aptpl_unknown = false;
	return PRM_GOOD;
}

/*
 * REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-4 §5.12.7) through
 * the sender's nexus, and with ALL_TG_PT through its initiator port's
 * nexus with every other target port, "as if the same registration
 * request had been received individually through each target port"
 * (§6.16.3): an unregistered nexus registers with key 0, a registered
 * one must give its key (REGISTER AND IGNORE EXISTING KEY gives none),
 * or RESERVATION CONFLICT -- for the command, if one of them would get
 * it.  SARK 0 unregisters them (nothing, when none is registered).
 */
static enum prm_result prm_register(struct pr_model *m, int self,
				    const struct prm_out *o, struct prm_ua *ua)
{
	uint16_t rtp[PR_MODEL_PORTS + 1];
	int slot[PR_MODEL_PORTS + 1];
	int me = m->who[self] ? m->who[self] - 1 : self;
	int n = register_ports(m, self, me, o->all_tg_pt, rtp, slot), nreg = 0;
	bool released = false;

	for (int k = 0; k < n; k++) {
		uint64_t has = slot[k] >= 0 ? m->key[slot[k]] : 0;

		nreg += has != 0;
		if (o->sa == PRM_REGISTER && has != o->key)
			return PRM_CONFLICT;
	}
	if (o->spec_i_pt && m->key[self] != 0)
		return illegal(ua, 0x26, 20, 3); /* SPEC_I_PT */
	if (nreg == 0 && o->sark == 0)
		return PRM_GOOD;
	if (o->spec_i_pt) {
		enum prm_result x = register_specified(m, self, o, ua);

		if (x != PRM_GOOD)
			return x;
	}
	for (int k = 0; k < n; k++) {
		int s = slot[k];

		if (o->sark != 0) {
			if (s < 0)
				s = slot_get(m, me, rtp[k]);
			if (s >= 0)
				m->key[s] = o->sark;
			continue;
		}
		if (s < 0 || m->key[s] == 0)
			continue;
		/* §5.12.11.2.3: the holder of a registrants-only
		 * reservation that unregisters releases it, and the other
		 * registrants are told. */
		released = released ||
			   (m->reserved && reg_only(m->type) && m->holder == s);
		unregister(m, s);
	}
	if (released)
		ua_registrants(m, self, ua, PRM_UA_RESV_RELEASED);
	m->aptpl = o->aptpl;
	m->aptpl_unknown = false;
	return PRM_GOOD;
}

enum prm_result prm_apply(struct pr_model *m, int self, const struct prm_out *o)
{
	return prm_apply_ua(m, self, o, NULL);
}

enum prm_result prm_apply_ua(struct pr_model *m, int self,
			     const struct prm_out *o, struct prm_ua *ua)
{
	uint64_t mine = m->key[self];

	if (ua)
		memset(ua, 0, sizeof(*ua));
	if (o->sa == PRM_REGISTER || o->sa == PRM_REGISTER_IGNORE)
		return prm_register(m, self, o, ua);
	/* Every other service action: registered, with the right key. */
	if (mine == 0 || mine != o->key)
		return PRM_CONFLICT;
	switch (o->sa) {
	case PRM_RESERVE:
		/* §5.12.9: the holder reserving again with the same type
		 * is GOOD; anything else against a reservation conflicts. */
		if (m->reserved)
			return prm_is_holder(m, self) && m->type == o->type
				       ? PRM_GOOD
				       : PRM_CONFLICT;
		m->reserved = true;
		m->type = o->type;
		m->holder = self;
		return PRM_GOOD;
	case PRM_RELEASE:
		/* §5.12.11.2.2: a non-holder's RELEASE is GOOD and does
		 * nothing; the holder's with another type is INVALID RELEASE
		 * OF PERSISTENT RESERVATION; releasing a registrants-only or
		 * all-registrants reservation is told to the other
		 * registrants. */
		if (!m->reserved || !prm_is_holder(m, self))
			return PRM_GOOD;
		if (m->type != o->type)
			return PRM_ILLEGAL;
		m->reserved = false;
		if (reg_only(m->type) || all_reg(m->type))
			ua_registrants(m, self, ua, PRM_UA_RESV_RELEASED);
		return PRM_GOOD;
	case PRM_CLEAR:
		/* §5.12.11.2.6: every other registrant is told
		 * RESERVATIONS PREEMPTED. */
		ua_registrants(m, self, ua, PRM_UA_RESV_PREEMPTED);
		prm_clear(m);
		return PRM_GOOD;
	case PRM_PREEMPT:
	case PRM_PREEMPT_ABORT: {
		/* §5.12.11.4: the preempted registrations go (each told
		 * REGISTRATIONS PREEMPTED; PREEMPT AND ABORT also ends their
		 * tasks); preempting the holder takes the reservation, and a
		 * new type is told to the registrants left as RESERVATIONS
		 * RELEASED. */
		bool take, had = m->reserved;
		uint8_t old_type = m->type;
		int hits = 0;
		bool gone[PR_MODEL_NEXUS] = {false};

		if (m->reserved && all_reg(m->type) && o->sark == 0) {
			for (int i = 0; i < PR_MODEL_NEXUS; i++)
				if (i != self && m->key[i] != 0)
					gone[i] = true;
			take = true;
		} else {
			if (o->sark == 0)
				return PRM_ILLEGAL;
			take = m->reserved && !all_reg(m->type) &&
			       m->key[m->holder] == o->sark;
			for (int i = 0; i < PR_MODEL_NEXUS; i++)
				if (i != self && m->key[i] == o->sark) {
					gone[i] = true;
					hits++;
				}
			if (take && m->holder == self)
				hits++;
			if (hits == 0)
				return PRM_CONFLICT;
		}
		for (int i = 0; i < PR_MODEL_NEXUS; i++) {
			if (!gone[i])
				continue;
			unregister(m, i);
			if (ua) {
				ua->kinds[i] |= PRM_UA_REG_PREEMPTED;
				ua->aborted[i] = o->sa == PRM_PREEMPT_ABORT;
			}
		}
		if (take) {
			m->reserved = true;
			m->type = o->type;
			m->holder = self;
			if (had && old_type != o->type)
				ua_registrants(m, self, ua,
					       PRM_UA_RESV_RELEASED);
		}
		return PRM_GOOD;
	}
	case PRM_REGISTER_MOVE:
		return register_move(m, self, o, ua);
	default:
		return PRM_GOOD;
	}
}

void prm_describe(const struct pr_model *m, const char *const *names,
		  int nactors, char *buf, size_t cap)
{
	int off = snprintf(buf, cap, "registered:");

	for (int i = 0; i < nactors && off > 0 && (size_t)off < cap; i++)
		if (m->key[i])
			off += snprintf(buf + off, cap - (size_t)off,
					" %s=%llx", names[i],
					(unsigned long long)m->key[i]);
	for (int i = PR_MODEL_ACTORS;
	     i < PR_MODEL_NEXUS && off > 0 && (size_t)off < cap; i++)
		if (m->key[i] && m->who[i] > 0 && m->who[i] <= nactors)
			off += snprintf(buf + off, cap - (size_t)off,
					" %s@port%u=%llx", names[m->who[i] - 1],
					m->rtp[i],
					(unsigned long long)m->key[i]);
	if (off > 0 && (size_t)off < cap) {
		if (m->reserved && all_reg(m->type))
			snprintf(buf + off, cap - (size_t)off,
				 "; reservation %s (every registrant)%s",
				 prm_type_name(m->type),
				 m->aptpl ? "; aptpl" : "");
		else if (m->reserved)
			snprintf(buf + off, cap - (size_t)off,
				 "; reservation %s held by %s%s",
				 prm_type_name(m->type),
				 m->holder < nactors ? names[m->holder]
						     : "a nexus no actor is",
				 m->aptpl ? "; aptpl" : "");
		else
			snprintf(buf + off, cap - (size_t)off,
				 "; no reservation%s",
				 m->aptpl ? "; aptpl" : "");
	}
}
