/*
 * ua_model.c — unit attention conditions of one I_T_L nexus, as SAM-5
 * §5.14 and SPC-4 §5.14 describe them (see ua_model.h).
 */
#include <stdio.h>
#include <string.h>

#include "ua_model.h"

static const struct {
	uint8_t asc, ascq; /* ascq 0xff: any */
	const char *name;
} kinds[UA_K_COUNT] = {
	[UA_K_RESET] = {0x29, 0xff,
			"POWER ON, RESET, OR BUS DEVICE RESET "
			"OCCURRED (29h/xx)"},
	[UA_K_MODE] = {0x2a, 0x01, "MODE PARAMETERS CHANGED (2Ah/01h)"},
	[UA_K_RESV_PREEMPTED] = {0x2a, 0x03,
				 "RESERVATIONS PREEMPTED (2Ah/03h)"},
	[UA_K_RESV_RELEASED] = {0x2a, 0x04, "RESERVATIONS RELEASED (2Ah/04h)"},
	[UA_K_REG_PREEMPTED] = {0x2a, 0x05,
				"REGISTRATIONS PREEMPTED (2Ah/05h)"},
	[UA_K_ALUA] = {0x2a, 0x06, "ASYMMETRIC ACCESS STATE CHANGED (2Ah/06h)"},
	[UA_K_CAPACITY] = {0x2a, 0x09, "CAPACITY DATA HAS CHANGED (2Ah/09h)"},
	[UA_K_LUNS] = {0x3f, 0x0e, "REPORTED LUNS DATA HAS CHANGED (3Fh/0Eh)"},
};

int ua_kind_of(uint8_t asc, uint8_t ascq)
{
	/* 29h/00h-07h: power on, the resets, I_T nexus loss (SPC-4 table
	 * D.2); the device server may report the generic 29h/00h for any
	 * of them (SAM-5 §5.14). */
	if (asc == 0x29 && ascq <= 0x07)
		return UA_K_RESET;
	for (int k = 0; k < UA_K_COUNT; k++)
		if (kinds[k].asc == asc && kinds[k].ascq == ascq)
			return k;
	return -1;
}

const char *ua_kind_name(int kind)
{
	return kind >= 0 && kind < UA_K_COUNT ? kinds[kind].name : "?";
}

/* SAM-5 §5.14, unit attention condition precedence: POWER ON, RESET
 * and the other 29h conditions come before every other condition; the
 * others have equal precedence among themselves. */
static int rank(int kind)
{
	return kind == UA_K_RESET ? 0 : 1;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void rec_del(struct ua_nexus *nx, unsigned int i)
{
	memmove(&nx->rec[i], &nx->rec[i + 1],
		(nx->n - i - 1) * sizeof(nx->rec[0]));
	nx->n--;
}

void ua_clear(struct ua_nexus *nx)
{
	memset(nx, 0, sizeof(*nx));
}

static void rec_push(struct ua_nexus *nx, int kind, uint32_t cause,
		     uint64_t from, uint64_t sure)
{
	if (nx->n == UA_MAX_RECS) {
		nx->lenient |= 1u << kind;
		return;
	}
	nx->rec[nx->n++] = (struct ua_rec){.kind = (uint8_t)kind,
					   .cause = cause,
					   .from = from,
					   .sure = sure,
					   .fade = UA_NEVER,
					   .dead = UA_NEVER};
}

/* Is a reset of this LU still unanswered (its 29h not yet sure)? */
static bool reset_outstanding(const struct ua_nexus *nx)
{
	for (unsigned int i = 0; i < nx->n; i++)
		if (nx->rec[i].kind == UA_K_RESET && nx->rec[i].cause != 0 &&
		    nx->rec[i].sure == UA_NEVER && nx->rec[i].dead == UA_NEVER)
			return true;
	return false;
}

void ua_add(struct ua_nexus *nx, int kind, uint32_t cause, uint64_t from,
	    uint64_t sure)
{
	unsigned int n0 = nx->n;

	/* A condition already queued absorbs an equal one; whether it is
	 * still queued when this one comes we cannot tell, so the new one
	 * may or may not be a second report. */
	for (unsigned int i = 0; i < nx->n; i++)
		if (nx->rec[i].kind == kind && nx->rec[i].dead == UA_NEVER) {
			rec_push(nx, kind, 0, from, UA_NEVER);
			return;
		}
	rec_push(nx, kind, cause, from, sure);
	/* A reset sent before and still unanswered may run after this
	 * condition's cause and replace the queue with its 29h (SAM-5
	 * §5.14): the condition may be gone, never owed (explore seeds
	 * 136314295231 and 768778536967: a PR OUT's 2Ah/03h or 05h while
	 * another nexus's LUN RESET waited for a command to end). */
	if (nx->n > n0 && kind != UA_K_RESET && reset_outstanding(nx))
		nx->rec[nx->n - 1].fade = from;
}

void ua_confirm(struct ua_nexus *nx, uint32_t cause, uint64_t now)
{
	for (unsigned int i = 0; i < nx->n; i++)
		if (cause != 0 && nx->rec[i].cause == cause)
			nx->rec[i].sure = now;
}

void ua_settle(struct ua_nexus *nx, uint32_t cause, uint32_t keep, uint64_t now)
{
	for (unsigned int i = 0; i < nx->n;) {
		struct ua_rec *r = &nx->rec[i];

		if (cause == 0 || r->cause != cause) {
			i++;
		} else if ((keep >> r->kind) & 1u) {
			r->sure = now;
			i++;
		} else {
			rec_del(nx, i);
		}
	}
}

void ua_gone(struct ua_nexus *nx, uint64_t now)
{
	for (unsigned int i = 0; i < nx->n; i++)
		nx->rec[i].dead = min64(nx->rec[i].dead, now);
	nx->lenient = 0;
}

void ua_cancel(struct ua_nexus *nx, uint32_t cause)
{
	for (unsigned int i = 0; i < nx->n;)
		if (cause != 0 && nx->rec[i].cause == cause)
			rec_del(nx, i);
		else
			i++;
}

void ua_reset_sent(struct ua_nexus *nx, uint32_t cause, uint64_t t0)
{
	for (unsigned int i = 0; i < nx->n; i++)
		nx->rec[i].fade = min64(nx->rec[i].fade, t0);
	/* The reset's own condition is queued whatever was there: it
	 * replaces the queue. */
	rec_push(nx, UA_K_RESET, cause, t0, UA_NEVER);
}

void ua_reset_done(struct ua_nexus *nx, uint32_t cause, uint64_t t0,
		   uint64_t t1)
{
	for (unsigned int i = 0; i < nx->n; i++) {
		struct ua_rec *r = &nx->rec[i];

		if (cause != 0 && r->cause == cause)
			r->sure = t1;
		else if (r->sure < t0)
			r->dead = min64(r->dead, t1);
		else
			r->fade = min64(r->fade, r->from);
	}
}

void ua_new_nexus(struct ua_nexus *nx, uint64_t li, uint64_t la)
{
	unsigned int n0 = nx->n;

	/* lenient kinds stay so: a cause that overflowed the records may
	 * still be running and reach the new nexus */
	for (unsigned int i = 0; i < n0;) {
		struct ua_rec *r = &nx->rec[i];

		if (r->sure < li || r->dead != UA_NEVER) {
			/* the old nexus's: only its commands can be told */
			r->dead = min64(r->dead, la);
			i++;
			continue;
		}
		/* Its cause still ran: it may have reached the old nexus
		 * (this record, for the old nexus's commands) or reach the
		 * new one (a copy that is never owed). */
		{
			uint64_t from = r->from;

			r->fade = min64(r->fade, r->from);
			r->dead = min64(r->dead, la);
			if (nx->n < UA_MAX_RECS)
				nx->rec[nx->n++] =
					(struct ua_rec){.kind = r->kind,
							.cause = 0,
							.from = from,
							.sure = UA_NEVER,
							.fade = from,
							.dead = UA_NEVER};
			else
				nx->lenient |= 1u << r->kind;
		}
		i++;
	}
	rec_push(nx, UA_K_RESET, 0, la, la);
}

void ua_lost_answer(struct ua_nexus *nx, uint64_t s, uint64_t now)
{
	for (unsigned int i = 0; i < nx->n; i++)
		if (nx->rec[i].from < now && s < nx->rec[i].dead)
			nx->rec[i].fade = min64(nx->rec[i].fade, s);
}

bool ua_report(struct ua_nexus *nx, int kind, uint64_t s, uint64_t a)
{
	int best = -1;

	for (unsigned int i = 0; i < nx->n; i++) {
		const struct ua_rec *r = &nx->rec[i];

		if (r->kind != kind || r->from >= a || s >= r->dead)
			continue;
		/* Take the one that certainly existed, the oldest first: a
		 * condition whose cause may not have happened yet stays. */
		if (best < 0 || (r->sure < a) > (nx->rec[best].sure < a) ||
		    ((r->sure < a) == (nx->rec[best].sure < a) &&
		     r->from < nx->rec[best].from))
			best = (int)i;
	}
	if (best < 0)
		return (nx->lenient >> kind) & 1u;
	/* Another condition of the kind that the command could have been
	 * told of instead (a reset's 29h and the one it replaced, when the
	 * command ran we cannot tell): either may be the one left. */
	bool other = false;

	for (unsigned int i = 0; i < nx->n; i++) {
		struct ua_rec *r = &nx->rec[i];

		if ((int)i != best && r->kind == kind && r->from < a &&
		    s < r->dead) {
			r->fade = min64(r->fade, s);
			other = true;
		}
	}
	/* None of them certain: which one this report was (two resets
	 * whose 29h conditions coalesce, SAM-5 §5.14, or one after the
	 * other) is unknown; all stay allowed, none owed. */
	/* Certain before the command was sent (not only before its answer
	 * came) or it too may have come after the one the target told: a
	 * reset sent first may run last, behind a partition (explore seed
	 * 852205135516). */
	if (other && nx->rec[best].sure >= s) {
		nx->rec[best].fade = min64(nx->rec[best].fade, s);
		return true;
	}
	rec_del(nx, (unsigned int)best);
	return true;
}

int ua_certain(const struct ua_nexus *nx, uint64_t s, uint64_t a, int kind)
{
	for (unsigned int i = 0; i < nx->n; i++) {
		const struct ua_rec *r = &nx->rec[i];

		/* Established before the command was sent, and not cleared
		 * (or maybe cleared) before it was answered: it ran at some
		 * instant in between. */
		if (r->sure < s && a < r->fade && a < r->dead &&
		    (kind < 0 || rank(r->kind) < rank(kind)))
			return (int)i;
	}
	return -1;
}

void ua_gc(struct ua_nexus *nx, uint64_t oldest)
{
	for (unsigned int i = 0; i < nx->n;)
		if (nx->rec[i].dead <= oldest)
			rec_del(nx, i);
		else
			i++;
}

static void tick_str(uint64_t t, char *buf, size_t cap)
{
	if (t == UA_NEVER)
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%llu", (unsigned long long)t);
}

void ua_describe(const struct ua_nexus *nx, char *buf, size_t cap)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < nx->n && off < cap; i++) {
		const struct ua_rec *r = &nx->rec[i];
		char f[24], s[24], d[24], dd[24];

		tick_str(r->from, f, sizeof(f));
		tick_str(r->sure, s, sizeof(s));
		tick_str(r->fade, d, sizeof(d));
		tick_str(r->dead, dd, sizeof(dd));
		off += (size_t)snprintf(buf + off, cap - off,
					"%s%.*s [from %s sure %s fade %s "
					"dead %s]",
					off ? "; " : "",
					(int)strcspn(kinds[r->kind].name, "("),
					kinds[r->kind].name, f, s, d, dd);
	}
	if (off == 0)
		snprintf(buf, cap, "none");
}
