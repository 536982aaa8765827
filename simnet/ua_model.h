/*
 * ua_model.h — the reference model of the unit attention conditions one
 * I_T_L nexus (an actor's session and one LUN) may and must be told of
 * (SAM-5 §5.14, SPC-4 §5.14), the oracle every answer is checked
 * against.  Written from the standards, not from target/scsi/scsi.c.
 *
 * A condition is a record with four instants on the oracle's clock (a
 * counter the runner bumps at every command sent and every answer):
 *
 *   from   its cause was sent: before this nothing can report it;
 *   sure   its cause was answered: from here it certainly exists
 *          (UA_NEVER: it may never exist, e.g. a reset whose answer was
 *          lost);
 *   fade   from here it may have been cleared without our knowing (a
 *          reset that replaced the queue while the cause ran, a command
 *          that may have been told of it but whose answer never came);
 *   dead   a command sent at or after this instant cannot be told of it
 *          (a reset certainly replaced it).
 *
 * A command sent at s and answered at a
 *   - told of condition kind K: some record of kind K with from < a and
 *     s < dead must exist (else SPURIOUS); the oldest is consumed: a
 *     condition is reported once (SAM-5 §5.14);
 *   - told of a condition below POWER ON, RESET (29h) while a 29h record
 *     was certain (sure < s, a < fade, dead) violates the precedence of
 *     SAM-5 §5.14 (table "unit attention condition precedence"; a reset
 *     condition also replaces the conditions queued before it);
 *   - not told, though it passed the unit attention check (GOOD, a
 *     RESERVATION CONFLICT, a medium error...), while a record was
 *     certain (sure < s, a < fade, dead): MISSING, unless another command of
 *     the same nexus still outstanding may have taken it (the runner
 *     decides that: ua_certain() names the record).
 */
#ifndef UT_SIM_UA_MODEL_H
#define UT_SIM_UA_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UA_NEVER UINT64_MAX
#define UA_MAX_RECS 16 /* per nexus; beyond that the kind is lenient */

enum ua_kind {
	UA_K_RESET,	     /* 29h/xx POWER ON, RESET, OR BUS DEVICE RESET */
	UA_K_MODE,	     /* 2Ah/01h MODE PARAMETERS CHANGED */
	UA_K_RESV_PREEMPTED, /* 2Ah/03h RESERVATIONS PREEMPTED */
	UA_K_RESV_RELEASED,  /* 2Ah/04h RESERVATIONS RELEASED */
	UA_K_REG_PREEMPTED,  /* 2Ah/05h REGISTRATIONS PREEMPTED */
	UA_K_ALUA,	     /* 2Ah/06h ASYMMETRIC ACCESS STATE CHANGED */
	UA_K_CAPACITY,	     /* 2Ah/09h CAPACITY DATA HAS CHANGED */
	UA_K_LUNS,	     /* 3Fh/0Eh REPORTED LUNS DATA HAS CHANGED */
	UA_K_COUNT
};

struct ua_rec {
	uint8_t kind;
	uint32_t cause; /* who made it (0: none), for ua_confirm/ua_cancel */
	uint64_t from, sure, fade, dead;
};

struct ua_nexus {
	struct ua_rec rec[UA_MAX_RECS];
	unsigned int n;
	/* kinds any number of which may arrive (more causes than records) */
	uint32_t lenient;
};

/* The kind of a unit attention's ASC/ASCQ, or -1 if no cause of it is
 * modelled (COMMANDS CLEARED BY ANOTHER INITIATOR with TAS=1, ...). */
int ua_kind_of(uint8_t asc, uint8_t ascq);
const char *ua_kind_name(int kind);

/* Forget everything: a new nexus. */
void ua_clear(struct ua_nexus *nx);
/* A new condition of `kind`, caused by `cause` between from and sure
 * (UA_NEVER: not certain).  One of the same kind still queued absorbs
 * it (a device server queues a condition once), so it is certain only
 * if no other of its kind is pending. */
void ua_add(struct ua_nexus *nx, int kind, uint32_t cause, uint64_t from,
	    uint64_t sure);
/* The cause was answered at `now`: its records are certain from now. */
void ua_confirm(struct ua_nexus *nx, uint32_t cause, uint64_t now);
/* The cause was answered at `now`: of its records, those of the kinds in
 * `keep` (bits 1 << kind) are certain from now, the others never were. */
void ua_settle(struct ua_nexus *nx, uint32_t cause, uint32_t keep,
	       uint64_t now);
/* The nexus went (its LUN removed): commands sent from `now` on see
 * none of its conditions; those sent before may have been told. */
void ua_gone(struct ua_nexus *nx, uint64_t now);
/* The cause certainly did nothing (answered with an error). */
void ua_cancel(struct ua_nexus *nx, uint32_t cause);
/* A reset of the LU (its 29h condition replaces the queue, SAM-5 §5.14)
 * was sent at t0: every record may be gone from now. */
void ua_reset_sent(struct ua_nexus *nx, uint32_t cause, uint64_t t0);
/* ... and answered FUNCTION COMPLETE at t1: records that existed for
 * certain before t0 are dead for commands sent from t1 on; others may
 * have come before or after the reset. */
void ua_reset_done(struct ua_nexus *nx, uint32_t cause, uint64_t t0,
		   uint64_t t1);
/* A new nexus made by a login sent at li and answered at la: what the
 * old nexus had is gone; a cause still running may reach the new one. */
void ua_new_nexus(struct ua_nexus *nx, uint64_t li, uint64_t la);
/* A command sent at s ended without an answer (aborted, dropped): any
 * condition it might have been told of may be gone. */
void ua_lost_answer(struct ua_nexus *nx, uint64_t s, uint64_t now);

/* Told of `kind` by a command sent at s, answered at a: consume the
 * record and return true, or false if no record allows it. */
bool ua_report(struct ua_nexus *nx, int kind, uint64_t s, uint64_t a);
/* The index of a record certainly pending for a command sent at s and
 * answered at a whose precedence is above `kind` (kind < 0: any
 * record), or -1. */
int ua_certain(const struct ua_nexus *nx, uint64_t s, uint64_t a, int kind);
/* Drop records no command sent at or after `oldest` can be told of. */
void ua_gc(struct ua_nexus *nx, uint64_t oldest);
/* Records as text, for failure messages. */
void ua_describe(const struct ua_nexus *nx, char *buf, size_t cap);

#endif
