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

void cold_reset_done(struct runner *r, struct pend *p, const struct ini_op *op)
{
	if (p->tmf_fn != ISCSI_TMF_TARGET_COLD_RESET ||
	    op->outcome != INI_DONE || op->response != ISCSI_TMF_RSP_COMPLETE)
		return;
	for (int i = 0; i < r->nactors; i++) {
		struct actor *a = &r->actors[i];

		if (p->cold_conns[i] != 0 && sess_up(a) &&
		    ini_conn_id(a->ini) == p->cold_conns[i]) {
			a->cold_conn = p->cold_conns[i];
			a->cold_line = p->line;
		}
	}
}

/* The world is quiet: every connection a cold reset ends is closed. */
void cold_check(struct runner *r)
{
	if (r->failed || !sim_quiet(r->sim))
		return;
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
		      "TARGET COLD RESET answered FUNCTION COMPLETE, yet the "
		      "target still holds %s's connection c%llu of a session "
		      "of that target once the world is quiet: it must close "
		      "all its connections to all initiators after the "
		      "response (RFC 7143 §11.5.1) (seed %llu)",
		      a->name, (unsigned long long)a->cold_conn,
		      (unsigned long long)r->seed);
		return;
	}
}
