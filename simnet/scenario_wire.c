/*
 * scenario_wire.c — oracles of the wire's error paths: logins that break
 * a rule of RFC 7143 (`login bad=KIND`, initiator.h enum ini_login_bad),
 * a login left unfinished, and a PDU left half sent (`stall-pdu`).
 *
 * Each misbehaving login must be answered with the one Login Response
 * status RFC 7143 §11.13.5 gives it (0205 for a version we do not speak,
 * 0207 for a missing InitiatorName or TargetName, 0209 for an unknown
 * SessionType, 020a for a TSIH naming no session, 0206 for one naming a
 * live session under MaxConnections=1, 020b for a non-login PDU, 0201 for
 * an oversized CHAP value, 0200 for the other initiator errors) and, for
 * the two limits the RFC leaves to the target (64 login PDUs, 64 KiB of
 * text; docs/architecture.md "Limits"), 0302 out of resources.  The
 * initiator then counts the connection closed (initiator_login.c).
 * Logins that break no rule are judged too (wire_login_good): one that
 * skips the security stage is refused 0201 exactly where CHAP is
 * required, and one with extension keys or TaskReporting is never an
 * initiator error.  A
 * dropped connection says nothing (a fault may have cut it), unless the
 * login was stalled on purpose: then the target itself must close it at
 * its login timeout, 30 s after accept.  A half-sent PDU must cost the
 * connection after NopInTimeout, within one NopInInterval more (the ping
 * that found no answer), never before.  Judged unless a crash or a
 * control step came between (those close connections too).
 *
 * Corruption in flight (`corrupt`, sim_conn_corrupt) is armed only on a
 * connection with both digests live, where every byte is covered by one
 * (RFC 7143 §7.2).  A command PDU (SCSI command, NOP-Out, TMF, Text,
 * Logout) hit on its way to the target is never taken as good: hit in its
 * header, the target cannot trust a byte of it and ends the connection
 * (§7.8 at ErrorRecoveryLevel 0: the op is dropped, neither answered nor
 * rejected); hit in its data, it is rejected with reason 02h (data digest
 * error, §11.17.1; the connection may go too, after the Reject: a command
 * that took a CmdSN cannot be recovered at ErrorRecoveryLevel 0).  Its
 * connection closed by the target with no Reject is a breach when its flip
 * was the first on the connection's way to the target and no crash or
 * control step came between: nothing else could have ended it before the
 * target read the PDU (a reset or a corrupted answer ends it otherwise,
 * and is excused; so is a partition or stall of its actor in force when
 * it was sent or begun during its life: the target may close the
 * connection at its NopInTimeout before the PDU reaches it, explore seed
 * 33989829455).  A Reject 02h for a PDU
 * nobody corrupted is a breach the initiator reports.  What a corrupted
 * Data-Out may not do (its bytes reaching the medium) the data model
 * judges: the write fails or is dropped (unknown fate), and every read
 * must still find one of the values written.  Hit on the way back, the
 * initiator's own digest check finds it and drops the connection (a
 * digest error without a flip stays a breach).
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/pdu.h"
#include "scenario_int.h"

#define LOGIN_TIMEOUT_NS (30ull * SIM_NS_PER_S)
#define SLACK_NS (SIM_NS_PER_S)

static bool undisturbed(const struct runner *r, const struct pend *p)
{
	/* the target's allocations failing (`target oom`) may cost the
	 * connection at any time (conn_tx.c iscsi_conn_fail_soon) */
	return p->crashes_at == r->crashes && p->ctl_seq == r->ctl_seq &&
	       p->ctl_started == r->ctl_started &&
	       p->cold_at == r->cold_resets && !oom_during(r, p);
}

/* Every CHAP_A of a list is one the target implements (5, 7, 6, 8:
 * chap.h); an empty list is the initiator's default, 8,7,6,5. */
static bool chap_algs_known(const char *list)
{
	for (const char *q = list; *q != '\0';) {
		char *end;
		long v = strtol(q, &end, 10);

		if (end == q || v < 5 || v > 8 || (*end != ',' && *end != '\0'))
			return false;
		q = *end ? end + 1 : end;
	}
	return true;
}

/* The credentials of a login through the CHAP exchange of a session type
 * that requires CHAP, against the target's IncomingUser and OutgoingUser
 * lines: right (a user with this name and secret and none with this name
 * and another; mutual, the target's OutgoingUser with the name and
 * secret the initiator expects; each CHAP_A offered implemented; the
 * values well formed) or wrong (no user with this name and secret).  A
 * misbehaving login, one that skips the security stage, reflects the
 * target's challenge or names its own AuthMethod (which may leave CHAP
 * out) is neither. */
void wire_login_creds(struct runner *r, struct pend *p, const struct ini_op *op,
		      const struct ini_chap *c, bool discovery,
		      bool auth_method)
{
	const struct ut_user_cfg *out = &r->user_out[discovery ? 1 : 0];
	bool pair = false, other = false;

	if (!p->login_chap || op->login_bad != INI_LB_NONE ||
	    op->login_skip_security || !c->name[0] || c->reflect || auth_method)
		return;
	for (size_t k = 0; k < r->nusers_in[discovery ? 1 : 0]; k++) {
		const struct ut_user_cfg *u =
			&r->users_in[discovery ? 1 : 0][k];

		if (strcmp(u->name, c->name) != 0)
			continue;
		if (strcmp(u->secret, c->secret) == 0)
			pair = true;
		else
			other = true;
	}
	p->login_chap_wrong = !pair;
	p->login_chap_right =
		pair && !other && c->enc != INI_CHAP_B64_BAD &&
		chap_algs_known(c->algs) &&
		(!c->target_secret[0] ||
		 (out->name[0] && strcmp(out->secret, c->target_secret) == 0 &&
		  (!c->target_name[0] ||
		   strcmp(out->name, c->target_name) == 0)));
}

/* A CHAP login judged by its credentials (wire_login_creds): right ones
 * are never refused 0201 (RFC 7143 §12.1.3; whatever CHAP_A was chosen
 * and however the initiator wrote its binary values, §6.1: 0x or 0X and
 * hex, 0b or 0B and base64), and the target's mutual answer is never
 * refused by the initiator; wrong ones are never let in, nor refused with
 * another status of the initiator class than 0201. */
static void wire_login_chap(struct runner *r, struct pend *p,
			    const struct ini_op *op)
{
	uint16_t st = op->login_status;
	const char *why = NULL;

	if (p->login_chap_right && op->auth_refused)
		why = "the target's mutual CHAP answer is right (its "
		      "OutgoingUser), yet the initiator refused it";
	else if (op->outcome != INI_DONE)
		return;
	else if (p->login_chap_right && st == ISCSI_LS_AUTH_FAILED)
		why = "a CHAP login with an IncomingUser's name and secret is "
		      "not an authentication failure (RFC 7143 §12.1.3, "
		      "§6.1: 0x/0X hex and 0b/0B base64 values alike)";
	else if (p->login_chap_wrong &&
		 (st == ISCSI_LS_SUCCESS ||
		  (st >> 8 == 2 && st != ISCSI_LS_AUTH_FAILED)))
		why = "a CHAP login whose name and secret are no "
		      "IncomingUser's is refused 0x0201 (RFC 7143 "
		      "§11.13.5, §12.1.3)";
	if (why && op->auth_refused)
		failf(r, p->line, "%s login: %s: %s (seed %llu)", p->a->name,
		      op->auth_why, why, (unsigned long long)r->seed);
	else if (why)
		failf(r, p->line, "%s login: status 0x%04x: %s (seed %llu)",
		      p->a->name, st, why, (unsigned long long)r->seed);
}

/* A login that breaks no rule, answered: one that skipped the security
 * stage (RFC 7143 §6.3: allowed where no authentication is wanted) is
 * refused 0201 by a target that requires CHAP (never let in: login.c,
 * §12.1.3) and let in by one that does not; one with keys of extensions
 * or TaskReporting (legal, answered NotUnderstood or from the list:
 * initiator_login.c check_scenario_keys) is not an initiator error.
 * Other statuses (a target disabled, not found) are other oracles'. */
static void wire_login_good(struct runner *r, struct pend *p, struct ini_op *op)
{
	uint16_t st = op->login_status;
	const char *why = NULL;

	if (op->outcome != INI_DONE)
		return;
	if (op->login_skip_security && p->login_chap &&
	    (st == ISCSI_LS_SUCCESS || st == ISCSI_LS_INIT_ERR))
		why = "a login that skipped the security stage of a target "
		      "that requires CHAP is refused 0x0201 (RFC 7143 "
		      "§12.1.3, docs/configuration.md IncomingUser)";
	else if (op->login_skip_security && !p->login_chap &&
		 (st == ISCSI_LS_AUTH_FAILED || st == ISCSI_LS_INIT_ERR))
		why = "a login may skip the security stage of a target that "
		      "requires no authentication (RFC 7143 §6.3)";
	else if (p->login_legal_keys && st == ISCSI_LS_INIT_ERR)
		why = "extension keys (X#, X-) and TaskReporting are legal: "
		      "answered NotUnderstood or from the list, never an "
		      "initiator error (RFC 7143 §6.2, §13.5.2, RFC 7144)";
	if (why)
		failf(r, p->line, "%s login: status 0x%04x: %s (seed %llu)",
		      p->a->name, st, why, (unsigned long long)r->seed);
}

void wire_login_done(struct runner *r, struct pend *p, struct ini_op *op)
{
	uint16_t want = ini_login_bad_status(op->login_bad, p->login_chap);

	if (op->login_bad == INI_LB_NONE) {
		wire_login_chap(r, p, op);
		wire_login_good(r, p, op);
		return;
	}
	if (op->outcome == INI_NOT_SENT)
		return;
	/* out of resources (0x0302) while one of the target's allocations
	 * failed (`target oom`): login.c refuses what it cannot build,
	 * whatever the request's fault (explore seed 679712308508: a
	 * stalled login's first PDU) */
	if (op->outcome == INI_DONE &&
	    op->login_status == ISCSI_LS_OUT_OF_RESOURCES && oom_during(r, p))
		return;
	if (op->login_bad == INI_LB_STALL) {
		uint64_t up = op->conn_up_ns, t = op->done_ns;

		if (op->outcome == INI_DONE) {
			failf(r, p->line,
			      "%s login bad=stall: the login never completes, "
			      "yet it was answered (login status 0x%04x) "
			      "(seed %llu)",
			      p->a->name, op->login_status,
			      (unsigned long long)r->seed);
			return;
		}
		if (op->outcome != INI_DROPPED || up == 0 || !undisturbed(r, p))
			return;
		/* accepted before our connect completed, closed at accept +
		 * 30 s: seen by us within [30 s - a round trip, 30 s + the
		 * delivery] */
		if (t < up + LOGIN_TIMEOUT_NS - SLACK_NS ||
		    t > up + LOGIN_TIMEOUT_NS + SLACK_NS)
			failf(r, p->line,
			      "%s login bad=stall: a login that does not "
			      "complete is closed 30 s after accept "
			      "(docs/architecture.md \"Limits\"), this one "
			      "after %.3f s (seed %llu)",
			      p->a->name, (double)(t - up) / 1e9,
			      (unsigned long long)r->seed);
		return;
	}
	if (op->outcome != INI_DONE)
		return;
	if (op->login_status == want ||
	    (op->login_bad == INI_LB_TSIH && op->bad_tsih_set &&
	     op->login_status == ISCSI_LS_TOO_MANY_CONNECTIONS))
		return;
	failf(r, p->line,
	      "%s login bad=%s: RFC 7143 §11.13.5 gives login status "
	      "0x%04x, got 0x%04x (seed %llu)",
	      p->a->name, ini_login_bad_name(op->login_bad), want,
	      op->login_status, (unsigned long long)r->seed);
}

void wire_stall_pdu(struct runner *r, struct actor *a, struct toks *t)
{
	struct pend *p = pend_new(r, a, "stall-pdu", t);
	struct ini_op *op = op_for(p, INI_OP_RAW);
	uint32_t n = (uint32_t)u64_or(t, "bytes", 20, r);
	uint32_t itt = 0x5a110000u | ((uint32_t)r->line & 0xffff);

	if (n == 0 || n >= ISCSI_BHS_LEN) {
		syntaxf(r, "stall-pdu bytes=N: 1 to 47 (part of a BHS)");
		n = 20;
	}
	if (p->e.outcome == XO_DEFAULT && !p->e.given)
		p->e.outcome = XO_DROPPED;
	/* judged in full feature phase (a login has its own clock), on a
	 * connection that was not left stalled before */
	p->stall_pdu = ini_state(a->ini) == INI_S_FFP && !ini_tx_frozen(a->ini);
	p->stall_timeout_ns = (uint64_t)(r->params.nop_in_timeout_s
						 ? r->params.nop_in_timeout_s
						 : 30) *
			      SIM_NS_PER_S;
	p->stall_interval_ns =
		(uint64_t)r->params.nop_in_interval_s * SIM_NS_PER_S;
	/* the first bytes of a NOP-Out ping (immediate, F) with a tag no
	 * answer carries */
	op->raw = calloc(1, ISCSI_BHS_LEN);
	if (op->raw == NULL)
		abort();
	op->raw[0] = ISCSI_OP_NOP_OUT | 0x40;
	op->raw[1] = 0x80;
	for (int i = 0; i < 4; i++) {
		op->raw[16 + i] = (uint8_t)(itt >> (24 - 8 * i));
		op->raw[20 + i] = 0xff; /* TTT */
	}
	op->raw_len = n;
	op->raw_freeze = true;
	op->itt = itt;
	SIM_TRACE(r->sim, "%s leaves a PDU half sent (%u of 48 bytes)", a->name,
		  n);
	ini_raw(a->ini, op);
	finish_issue(r, p);
}

void wire_stall_pdu_done(struct runner *r, struct pend *p, struct ini_op *op)
{
	uint64_t t = op->done_ns, from = op->issued_ns;
	uint64_t lo = p->stall_timeout_ns,
		 hi = p->stall_timeout_ns + p->stall_interval_ns + SLACK_NS;

	if (!p->stall_pdu || op->outcome == INI_NOT_SENT)
		return;
	if (op->outcome != INI_DROPPED) {
		failf(r, p->line,
		      "%s stall-pdu: a PDU left half sent was answered (%s) "
		      "(seed %llu)",
		      p->a->name, outcome_name(op->outcome),
		      (unsigned long long)r->seed);
		return;
	}
	if (!undisturbed(r, p))
		return;
	if (t < from + lo || t > from + hi)
		failf(r, p->line,
		      "%s stall-pdu: a PDU received half-way costs the "
		      "connection after NopInTimeout (%.0f s; "
		      "docs/architecture.md \"Limits\"), within one "
		      "NopInInterval more, this one after %.3f s (seed %llu)",
		      p->a->name, (double)lo / 1e9, (double)(t - from) / 1e9,
		      (unsigned long long)r->seed);
}

void wire_corrupt(struct runner *r, struct actor *a, struct toks *t)
{
	unsigned int dirs = has(t, "to-target")	    ? SIM_TO_TARGET
			    : has(t, "from-target") ? SIM_FROM_TARGET
						    : SIM_BOTH;
	unsigned int count = (unsigned int)u64_or(t, "count", 1, r);

	if (ini_corrupt(a->ini, dirs, count))
		SIM_TRACE(r->sim, "fault %s corrupt %s x%u", a->name,
			  dirs == SIM_TO_TARGET	    ? "to-target"
			  : dirs == SIM_FROM_TARGET ? "from-target"
						    : "both ways",
			  count);
	else
		SIM_TRACE(r->sim,
			  "fault %s corrupt: not armed (no connection in full "
			  "feature phase with both digests)",
			  a->name);
}

void wire_corrupt_done(struct runner *r, struct pend *p, struct ini_op *op)
{
	const char *why = NULL;

	if (op->kind == INI_OP_LOGOUT || op->kind == INI_OP_RAW ||
	    op->kind == INI_OP_LOGIN)
		return; /* a lost logout is done; raw is anything */
	/* Held below a task-set TMF of ours and concluded aborted when it
	 * was sent late (initiator_ffp.c, gap_tmf_done): its outcome was
	 * settled before any flip; an answer to it fails the run there
	 * (explore seeds 712972345886, 712972360668 on 5fc8ab9). */
	if (op->gap_tmf_done && op->outcome == INI_ABORTED)
		return;
	if (op->corrupted & INI_CORRUPT_HEADER) {
		if (op->outcome != INI_DROPPED)
			why = "its header was corrupted on the way: the target "
			      "cannot trust a byte of it and ends the "
			      "connection (RFC 7143 §7.8, ErrorRecoveryLevel "
			      "0)";
	} else if (op->outcome == INI_DROPPED && op->first_flip &&
		   op->closed_by_target && undisturbed(r, p) &&
		   !p->net_blocked_at && p->net_blocks_at == p->a->net_blocks) {
		why = "its data was corrupted on the way, the first flip on "
		      "its connection: the target rejects it with reason 02h, "
		      "data digest error, before it closes the connection "
		      "(RFC 7143 §7.8, §11.17.1)";
	} else if (op->outcome != INI_DROPPED &&
		   (op->outcome != INI_REJECTED ||
		    op->reject_reason != ISCSI_REJECT_DATA_DIGEST)) {
		why = "its data was corrupted on the way: the target rejects "
		      "it with reason 02h, data digest error (RFC 7143 §7.8, "
		      "§11.17.1), or ends the connection";
	}
	if (why == NULL)
		return;
	if (op->outcome == INI_REJECTED)
		failf(r, p->line,
		      "%s %s: %s, yet it was rejected with reason 0x%02x "
		      "(seed %llu)",
		      p->a->name, p->verb, why, op->reject_reason,
		      (unsigned long long)r->seed);
	else
		failf(r, p->line, "%s %s: %s, yet it was %s (seed %llu)",
		      p->a->name, p->verb, why, outcome_name(op->outcome),
		      (unsigned long long)r->seed);
}
