/*
 * pr_model.h — the reference model of one LUN's persistent reservation
 * state (SPC-4 §5.12), the oracle PERSISTENT RESERVE OUT answers, PR IN
 * data and every READ/WRITE/SYNCHRONIZE CACHE status are checked against.
 *
 * State: a key per actor (0: not registered; the I_T nexus is the actor's
 * initiator name and ISID, which survive reconnects), at most one
 * reservation (type, holder actor; with an all-registrants type every
 * registrant holds it) and APTPL (set by the last REGISTER that changed
 * anything).  The model is exact only while the order of PR OUT commands
 * at the target is known; the oracle (scenario_oracle.c) decides when it is and
 * marks the state unknown otherwise (pr_model.unknown) until a CLEAR
 * answered GOOD in isolation makes it known (empty) again.
 */
#ifndef UT_SIM_PR_MODEL_H
#define UT_SIM_PR_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PR_MODEL_ACTORS 8
#define PR_MODEL_PORTS 4 /* target ports (portal groups) of the target */
/* I_T nexuses: the actors' own (slot = actor index), then those of an
 * actor's initiator port through a target port no actor of it logs in
 * through, which only ALL_TG_PT and SPEC_I_PT register. */
#define PR_MODEL_NEXUS (PR_MODEL_ACTORS + PR_MODEL_ACTORS * PR_MODEL_PORTS)

/* PERSISTENT RESERVE OUT service actions the model knows. */
enum {
	PRM_REGISTER = 0,
	PRM_RESERVE = 1,
	PRM_RELEASE = 2,
	PRM_CLEAR = 3,
	PRM_PREEMPT = 4,
	PRM_PREEMPT_ABORT = 5,	 /* PREEMPT, and the preempted's tasks end */
	PRM_REGISTER_IGNORE = 6, /* REGISTER AND IGNORE EXISTING KEY */
	PRM_REGISTER_MOVE = 7,
};

/* What a PR OUT should be answered. */
enum prm_result { PRM_GOOD, PRM_CONFLICT, PRM_ILLEGAL };

struct pr_model {
	uint64_t key[PR_MODEL_NEXUS]; /* per I_T nexus (slot) */
	bool reserved;
	uint8_t type; /* 1 3 5 6 7 8 */
	int holder;   /* slot; unused with types 7 and 8 */
	bool aptpl;
	/* aptpl not known: the state was unknown when a CLEAR made the
	 * registrations and the reservation known again (CLEAR leaves
	 * APTPL as the last REGISTER set it, which the model may not
	 * have applied); known from the next REGISTER or REGISTER AND MOVE
	 * it applies (explore seed 851900237540) */
	bool aptpl_unknown;
	bool unknown; /* state not known exactly */
	/* Who each slot is (prm_set_nexus): its initiator port, as the
	 * first actor of that name and ISID plus one (0: slot unused), and
	 * its target port's RELATIVE TARGET PORT IDENTIFIER; and every
	 * target port of the target device (prm_set_ports), which
	 * ALL_TG_PT registers through (SPC-4 §6.16.3). */
	uint8_t who[PR_MODEL_NEXUS];
	uint16_t rtp[PR_MODEL_NEXUS];
	uint16_t ports[PR_MODEL_PORTS];
	int nports;
};

struct prm_out {
	uint8_t sa, type;
	uint64_t key, sark;
	bool aptpl;
	bool all_tg_pt; /* REGISTER (AND IGNORE): through every target port */
	/* REGISTER with SPEC_I_PT: the actors its TransportIDs name (a bit
	 * each); tid_bad: one of them is malformed (SPC-4 §7.6.4.6). */
	bool spec_i_pt;
	uint8_t spec;
	uint16_t spec_off[PR_MODEL_ACTORS]; /* where each one's first is */
	bool tid_bad;
	uint16_t tid_off; /* SPEC_I_PT: where the malformed one begins */
	bool tid_fmt0;	  /* SPEC_I_PT: every TransportID of format 00b */
	/* REGISTER AND MOVE: the destination actor, UNREG, and whether the
	 * TransportID length runs past the list (PARAMETER LIST LENGTH
	 * ERROR, found before anything else but the key). */
	int dest;
	bool unreg, tid_overrun;
	/* A malformed PR OUT (`sa=`, `plen=`, `scope=`, `type-code=`): the
	 * ASC it must be refused with, before any state is looked at (24h
	 * INVALID FIELD IN CDB, 1Ah PARAMETER LIST LENGTH ERROR; 0: well
	 * formed). */
	uint8_t bad_asc;
};

/* The unit attentions a PR OUT establishes, per actor (SPC-4 §5.12.11):
 * bits of PRM_UA_*. */
#define PRM_UA_RESV_PREEMPTED 0x1 /* 2Ah/03h RESERVATIONS PREEMPTED */
#define PRM_UA_RESV_RELEASED 0x2  /* 2Ah/04h RESERVATIONS RELEASED */
#define PRM_UA_REG_PREEMPTED 0x4  /* 2Ah/05h REGISTRATIONS PREEMPTED */
struct prm_ua {
	uint8_t kinds[PR_MODEL_NEXUS]; /* per slot; only actors' are heard */
	/* PREEMPT AND ABORT: the slots whose tasks on the LU it ends */
	uint8_t aborted[PR_MODEL_NEXUS];
	/* An ILLEGAL REQUEST placed exactly: its ASC (26h INVALID FIELD IN
	 * PARAMETER LIST, 1Ah PARAMETER LIST LENGTH ERROR; 0: not placed)
	 * and the parameter byte and bit (-1: none) the field pointer
	 * names (SPC-4 §4.5.2.4.2). */
	uint8_t ill_asc;
	int16_t ill_field;
	int8_t ill_bit;
};

/* Apply `o` from actor `self` (when the result is GOOD) and return what
 * the target must answer; ua (may be NULL) gets what every actor must be
 * told. */
enum prm_result prm_apply(struct pr_model *m, int self,
			  const struct prm_out *o);
enum prm_result prm_apply_ua(struct pr_model *m, int self,
			     const struct prm_out *o, struct prm_ua *ua);
/* Does a command from `actor` conflict?  write: a write-class command
 * (WRITE, SYNCHRONIZE CACHE), else a read (SPC-4 table 63). */
bool prm_conflicts(const struct pr_model *m, int actor, bool write);
bool prm_is_holder(const struct pr_model *m, int actor);
/* Topology.  The target device's ports (at most PR_MODEL_PORTS kept). */
void prm_set_ports(struct pr_model *m, const uint16_t *rtps, int n);
/* Actor slot `actor` is initiator port `iport` (an actor index) through
 * target port rtp.  A registration stays with its I_T nexus: when the
 * actor's nexus changes, the old one's key (and a reservation it held)
 * moves to another slot, and a slot holding the new nexus's key gives
 * it to the actor. */
void prm_set_nexus(struct pr_model *m, int actor, int iport, uint16_t rtp);
/* Target crash: without APTPL everything is lost. */
void prm_crash(struct pr_model *m);
void prm_clear(struct pr_model *m);
const char *prm_type_name(uint8_t type);
/* Human-readable state for messages. */
void prm_describe(const struct pr_model *m, const char *const *names,
		  int nactors, char *buf, size_t cap);
/* The slot of initiator port iport through target port rtp, or -1. */
int prm_slot(const struct pr_model *m, int iport, uint16_t rtp);

#endif
