/*
 * scenario_cold.c — the TARGET COLD RESET oracle (lane cold20).
 *
 * RFC 7143 §11.5.1: "For the TARGET COLD RESET function, the target MUST
 * then close all of its TCP connections to all initiators (terminates
 * all sessions)", after its response; the target treats it "as a
 * power-on event".  At the SCSI layer it is a TARGET WARM RESET (every
 * LU the issuer knows is reset for every nexus, SAM-5 §6.3: the tasks
 * of the other sessions end TASK ABORTED, every nexus gets POWER ON,
 * RESET, reservations end -- the warm reset's oracles judge those, for
 * both functions alike: tmf_target_reset()).  What is its own:
 *
 *   - on the issuer's connection nothing may follow the FUNCTION
 *     COMPLETE (the initiator fails any PDU after it: cold_done in
 *     initiator_ffp.c), and the target closes it;
 *   - every session of the issuer's target whose connection was up when
 *     the TMF was sent and still is at its FUNCTION COMPLETE is closed
 *     by the target: once the world is quiet (`run until quiet`, the end
 *     of the run) the target's side of each such connection must be
 *     closed (sim_conn_peer_open).  A session that logged in while the
 *     reset ran may or may not be swept: it is not judged.  Sessions of
 *     other targets stay (the function names the target node, not the
 *     LUs; those mapped by both are reset as by a warm reset).
 *
 *   - the same when the issuer's connection closed before the reset
 *     ended (no response goes then): once the world is quiet, if the
 *     target read the TMF's PDU whole (sim_conn_peer_read), it took the
 *     reset, and those connections must be closed all the same (round
 *     of devattr21: before, the target closed none).
 *
 * The target's own promise (target/iscsi/tmf.c, registry.c
 * srv_close_target_sessions): the same as a warm reset for the LUs and
 * their persistent reservations, which survive (SPC-4 §5.13.10: only a
 * real power loss with APTPL=0 forgets them, and the process does not
 * stop), then every session of the target closes.
 */
#include <stdio.h>
#include <string.h>

#include "scenario_int.h"

/* The target an actor's session is on ("" names the first). */
static const char *sess_target(const struct runner *r, const struct actor *a)
{
	return a->sess_tgt[0] != '\0' ? a->sess_tgt : r->iqn;
}

static bool sess_up(const struct actor *a)
{
	enum ini_state st = ini_state(a->ini);

	return (st == INI_S_FFP || st == INI_S_LOGOUT) && ini_conn(a->ini);
}

void cold_reset_sent(struct runner *r, struct pend *p)
{
	const char *tgt = sess_target(r, p->a);

	r->cold_resets++;
	for (int i = 0; i < r->nactors; i++) {
		struct actor *a = &r->actors[i];

		p->cold_conns[i] = 0;
		if (sess_up(a) && strcmp(sess_target(r, a), tgt) == 0)
			p->cold_conns[i] = ini_conn_id(a->ini);
	}
}

/* ... its PDU is in the stream now: where it ends. */
void cold_reset_issued(struct runner *r, struct pend *p)
{
	p->cold_ep = ini_conn(p->a->ini);
	/* the pointer is not valid once its link is reaped: its id */
	p->cold_link = p->cold_ep ? sim_conn_id(p->cold_ep) : 0;
	p->cold_end = ini_tx_stream(p->a->ini);
}

void cold_reset_done(struct runner *r, struct pend *p, const struct ini_op *op)
{
	struct actor *x = p->a;

	if (p->tmf_fn != ISCSI_TMF_TARGET_COLD_RESET)
		return;
	/* The answer lost with the issuer's connection (it closed, or was
	 * closing when the reset ended: the target sends no response
	 * then): whether the target took the reset is told by whether it
	 * read the whole TMF (cold_check). */
	if (op->outcome == INI_DROPPED && p->cold_ep != NULL) {
		x->cold_lost = true;
		x->cold_lost_link = p->cold_link;
		x->cold_lost_end = p->cold_end;
		x->cold_lost_line = p->line;
		memcpy(x->cold_lost_conns, p->cold_conns,
		       sizeof(x->cold_lost_conns));
		return;
	}
	if (op->outcome != INI_DONE || op->response != ISCSI_TMF_RSP_COMPLETE)
		return;
	for (int i = 0; i < r->nactors; i++) {
		struct actor *a = &r->actors[i];

		if (p->cold_conns[i] != 0 && sess_up(a) &&
		    ini_conn_id(a->ini) == p->cold_conns[i]) {
			a->cold_conn = p->cold_conns[i];
			a->cold_line = p->line;
			a->cold_unanswered = false;
		}
	}
}

/* The world is quiet: a cold reset whose answer was lost and whose
 * PDU the target read whole was taken (tmf.c: a TARGET COLD RESET ends
 * FUNCTION COMPLETE once its tasks are gone): the connections of its
 * target's sessions that were up when it was sent and still are must
 * be closed, as for one answered (RFC 7143 §11.5.1: the target closes
 * them whether its response could go or not).  Round of devattr21. */
static void cold_lost_check(struct runner *r, struct actor *x)
{
	uint64_t read = 0;

	if (!x->cold_lost)
		return;
	x->cold_lost = false;
	/* the link reaped long ago (64 since): not judged */
	if (!sim_link_target_read(r->sim, x->cold_lost_link, &read))
		return;
	if (read >= x->cold_lost_end) {
		for (int i = 0; i < r->nactors; i++) {
			struct actor *a = &r->actors[i];

			if (a == x || x->cold_lost_conns[i] == 0 ||
			    !sess_up(a) ||
			    ini_conn_id(a->ini) != x->cold_lost_conns[i])
				continue;
			a->cold_conn = x->cold_lost_conns[i];
			a->cold_line = x->cold_lost_line;
			a->cold_unanswered = true;
		}
		SIM_TRACE(r->sim,
			  "cold reset of %s: answer lost, its TMF read by "
			  "the target: the target's sessions end",
			  x->name);
	}
}

/* The world is quiet: every connection a cold reset ends is closed. */
void cold_check(struct runner *r)
{
	if (r->failed || !sim_quiet(r->sim))
		return;
	for (int i = 0; i < r->nactors; i++)
		cold_lost_check(r, &r->actors[i]);
	for (int i = 0; i < r->nactors; i++) {
		struct actor *a = &r->actors[i];
		struct env_conn *c = ini_conn(a->ini);

		if (a->cold_conn == 0)
			continue;
		if (c == NULL || ini_conn_id(a->ini) != a->cold_conn ||
		    !sim_conn_peer_open(c)) {
			a->cold_conn = 0;
			continue;
		}
		failf(r, a->cold_line,
		      "TARGET COLD RESET %s, yet the target still holds %s's "
		      "connection c%llu of a session of that target once the "
		      "world is quiet: it must close all its connections to "
		      "all initiators after the response (RFC 7143 §11.5.1) "
		      "(seed %llu)",
		      a->cold_unanswered
			      ? "read whole by the target, its issuer's "
				"connection closed before the answer"
			      : "answered FUNCTION COMPLETE",
		      a->name, (unsigned long long)a->cold_conn,
		      (unsigned long long)r->seed);
		return;
	}
}
