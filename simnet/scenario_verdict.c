/*
 * scenario_verdict.c — each answer against what its scenario line
 * expects: the outcome, status, sense, login status, TMF response,
 * Reject reason, Data-In bytes and residual of `expect ...`, the
 * discovery and PR IN data a line names, and the answer told to an
 * `--answers` listener (import --exact, against).
 *
 * The boundary: this file judges an answer against the text of its line
 * only; scenario_oracle.c and the model oracles (scenario_pr.c,
 * scenario_ua.c, scenario_alua.c, scenario_cmds_oracle.c) judge it against what
 * the target may do, whatever the line says.
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "iscsi/pdu.h"
#include "scsi/scsi.h"
#include "scenario_int.h"

const char *outcome_name(enum ini_outcome o)
{
	switch (o) {
	case INI_PENDING:
		return "no answer";
	case INI_DONE:
		return "answered";
	case INI_DROPPED:
		return "connection dropped";
	case INI_REJECTED:
		return "rejected";
	case INI_ABORTED:
		return "aborted by TMF";
	case INI_NOT_SENT:
		return "not sent (not logged in)";
	}
	return "?";
}

/* Sense key/ASC/ASCQ from fixed or descriptor sense. */
void sense_parse(const struct ini_op *op, int *sk, int *asc, int *ascq)
{
	sense_key_of(op->sense, op->sense_len, sk, asc, ascq);
}

static void describe(const struct ini_op *op, char *buf, size_t cap)
{
	int sk, asc, ascq;

	if (op->outcome == INI_REJECTED) {
		snprintf(buf, cap, "Reject reason 0x%02x", op->reject_reason);
		return;
	}
	if (op->kind == INI_OP_LOGIN && op->auth_refused) {
		snprintf(buf, cap, "the initiator refused the target: %s",
			 op->auth_why);
		return;
	}
	if (op->outcome != INI_DONE) {
		snprintf(buf, cap, "%s", outcome_name(op->outcome));
		return;
	}
	switch (op->kind) {
	case INI_OP_SCSI:
		sense_parse(op, &sk, &asc, &ascq);
		if (op->response != 0)
			snprintf(buf, cap, "iSCSI response 0x%02x",
				 op->response);
		else if (sk >= 0)
			snprintf(buf, cap,
				 "status %s (0x%02x) sense %x/%02x/%02x",
				 status_name(op->status), op->status, sk, asc,
				 ascq);
		else
			snprintf(buf, cap, "status %s (0x%02x)",
				 status_name(op->status), op->status);
		break;
	case INI_OP_LOGIN:
		snprintf(buf, cap, "login status 0x%04x", op->login_status);
		break;
	case INI_OP_RAW:
		snprintf(buf, cap, "answer %s b2=0x%02x",
			 ini_opcode_name(op->rsp_opcode), op->response);
		break;
	default:
		snprintf(buf, cap, "response 0x%02x", op->response);
		break;
	}
}

/* ---------------------------------------------------- verdict per op */

static bool default_ok(const struct pend *p, const struct ini_op *op)
{
	if (op->kind == INI_OP_LOGIN && op->login_bad == INI_LB_STALL)
		return op->outcome == INI_DROPPED;
	if (op->outcome != INI_DONE)
		return false;
	switch (op->kind) {
	case INI_OP_SCSI:
		return op->response == 0 && op->status == SCSI_STATUS_GOOD;
	case INI_OP_LOGIN:
		/* a login that breaks a rule: the status it must get */
		return op->login_status ==
		       ini_login_bad_status(op->login_bad, p->login_chap);
	case INI_OP_TMF:
		return op->response == ISCSI_TMF_RSP_COMPLETE;
	case INI_OP_LOGOUT:
		return op->response == ISCSI_LOGOUT_RSP_OK;
	default:
		return true;
	}
}

/* data-hex=: the Data-In bytes exactly; else say where they differ. */
static bool data_hex_check(const char *hex, const struct ini_op *op, char *want,
			   size_t cap)
{
	size_t n = strlen(hex) / 2 + 1, len;
	uint8_t *x = malloc(n);
	bool ok;

	if (x == NULL)
		abort();
	len = hex_decode(hex, x, n);
	if (len == (size_t)-1)
		len = 0;
	ok = len == op->in_len && (len == 0 || memcmp(x, op->in, len) == 0);
	if (!ok) {
		size_t i = 0;

		while (i < len && i < op->in_len && x[i] == op->in[i])
			i++;
		if (i < len && i < op->in_len)
			snprintf(want, cap,
				 "%zu data bytes, byte %zu 0x%02x (got %u "
				 "bytes, byte %zu 0x%02x)",
				 len, i, x[i], op->in_len, i, op->in[i]);
		else
			snprintf(want, cap,
				 "%zu data bytes (got %u, equal as far as "
				 "both go)",
				 len, op->in_len);
	}
	free(x);
	return ok;
}

void verdict(struct runner *r, struct pend *p, struct ini_op *op)
{
	const struct exp *e = &p->e;
	char got[160], want[160] = "";
	bool ok = true;
	int sk, asc, ascq;

	describe(op, got, sizeof(got));
	switch (e->outcome) {
	case XO_ANY:
		return;
	case XO_DEFAULT:
		ok = default_ok(p, op);
		snprintf(want, sizeof(want), "success");
		break;
	case XO_FAIL:
		ok = op->outcome == INI_DONE &&
		     (op->kind == INI_OP_LOGIN ? op->login_status != 0
					       : !default_ok(p, op));
		snprintf(want, sizeof(want), "failure");
		break;
	case XO_DONE:
		ok = op->outcome == INI_DONE;
		snprintf(want, sizeof(want), "an answer");
		break;
	case XO_DROPPED:
		/* NOT_SENT: the connection was already gone. */
		ok = op->outcome == INI_DROPPED || op->outcome == INI_NOT_SENT;
		snprintf(want, sizeof(want), "connection dropped");
		break;
	case XO_REJECTED:
		ok = op->outcome == INI_REJECTED;
		snprintf(want, sizeof(want), "Reject");
		break;
	case XO_ABORTED:
		ok = op->outcome == INI_ABORTED;
		snprintf(want, sizeof(want), "aborted");
		break;
	case XO_NONE:
		ok = false;
		snprintf(want, sizeof(want), "no answer");
		break;
	case XO_REFUSED:
		ok = op->kind == INI_OP_LOGIN && op->auth_refused;
		snprintf(want, sizeof(want),
			 "the initiator to refuse the target");
		break;
	}
	if (ok && e->chap_alg >= 0 && op->kind == INI_OP_LOGIN &&
	    op->chap_alg != e->chap_alg) {
		ok = false;
		snprintf(want, sizeof(want), "CHAP_A=%d (got %d)", e->chap_alg,
			 op->chap_alg);
	}
	if (ok && e->status >= 0 && op->kind == INI_OP_SCSI &&
	    (op->response != 0 || op->status != e->status)) {
		ok = false;
		snprintf(want, sizeof(want), "status %s (0x%02x)",
			 status_name(e->status), e->status);
	}
	if (ok && e->sk >= 0) {
		sense_parse(op, &sk, &asc, &ascq);
		if (sk != e->sk || (e->asc >= 0 && asc != e->asc) ||
		    (e->ascq >= 0 && ascq != e->ascq)) {
			ok = false;
			snprintf(want, sizeof(want), "sense %x/%02x/%02x",
				 e->sk, e->asc < 0 ? 0 : e->asc,
				 e->ascq < 0 ? 0 : e->ascq);
		}
	}
	if (ok && e->login >= 0 && op->login_status != e->login) {
		ok = false;
		snprintf(want, sizeof(want), "login status 0x%04x", e->login);
	}
	if (ok && e->response >= 0 && op->response != e->response) {
		ok = false;
		snprintf(want, sizeof(want), "response 0x%02x", e->response);
	}
	if (ok && e->reject >= 0 && op->reject_reason != e->reject) {
		ok = false;
		snprintf(want, sizeof(want), "Reject reason 0x%02x", e->reject);
	}
	if (ok && e->data_len >= 0 && op->kind == INI_OP_SCSI) {
		uint32_t crc = op->in_len ? iscsi_digest(op->in, op->in_len)
					  : 0;

		if (op->in_len != e->data_len || crc != e->data_crc) {
			ok = false;
			snprintf(want, sizeof(want),
				 "%lld data bytes of CRC32C %08llx (got %u "
				 "bytes of %08x)",
				 (long long)e->data_len, (long long)e->data_crc,
				 op->in_len, crc);
		}
	}
	if (ok && e->data_hex != NULL && op->kind == INI_OP_SCSI)
		ok = data_hex_check(e->data_hex, op, want, sizeof(want));
	if (ok && e->residual >= 0 && op->kind == INI_OP_SCSI &&
	    op->residual != e->residual) {
		ok = false;
		snprintf(want, sizeof(want), "residual count %lld (got %u)",
			 (long long)e->residual, op->residual);
	}
	if (!ok && r->o.keep_going) {
		r->res->differences++;
		fprintf(r->o.out ? r->o.out : stdout,
			"DIFF %s:%d: %s %s: expected %s, got %s\n", r->name,
			p->line, p->a->name, p->verb, want, got);
		return;
	}
	if (!ok)
		failf(r, p->line, "%s %s: expected %s, got %s (seed %llu)",
		      p->a->name, p->verb, want, got,
		      (unsigned long long)r->seed);
}

void tell_answer(struct runner *r, struct pend *p, struct ini_op *op)
{
	static const char *const outcomes[] = {
		[INI_DONE] = "done",	     [INI_DROPPED] = "dropped",
		[INI_REJECTED] = "rejected", [INI_ABORTED] = "aborted",
		[INI_NOT_SENT] = "not sent",
	};
	struct scn_answer a = {
		.line = p->line,
		.actor = p->a->name,
		.verb = p->verb,
		.outcome =
			(size_t)op->outcome < sizeof(outcomes) /
							sizeof(outcomes[0]) &&
					outcomes[op->outcome]
				? outcomes[op->outcome]
				: "?",
		.kind = op->kind == INI_OP_SCSI	    ? 1
			: op->kind == INI_OP_LOGIN  ? 2
			: op->kind == INI_OP_TMF    ? 3
			: op->kind == INI_OP_LOGOUT ? 4
						    : 0,
		.response = op->response,
		.status = op->status,
		.sk = -1,
		.asc = -1,
		.ascq = -1,
		.residual = op->residual,
		.rsp_flags = op->rsp_flags,
		.login_status = op->login_status,
		.data = op->in,
		.data_len = op->in_len,
	};

	if (op->kind == INI_OP_SCSI &&
	    op->status == SCSI_STATUS_CHECK_CONDITION)
		sense_parse(op, &a.sk, &a.asc, &a.ascq);
	r->o.answer(r->o.answer_arg, &a);
}

/* The keys a request may carry (docs/architecture.md "Limits"): the
 * oracle's own number, not the target's constant. */
#define TEXT_KEYS_HELD 128u

/* text private-keys=N alone: keys the target does not know, each answered
 * NotUnderstood once (RFC 7143 §6.2) while the request holds at most the
 * 128 keys a target holds (docs/architecture.md "Limits"); past them the
 * request is refused whole with a Reject 0Ah, out of resources, the
 * limit being ours (text_ffp.c). */
static void check_text_keys(struct runner *r, struct pend *p, struct ini_op *op)
{
	uint32_t pairs = 0;
	bool over;

	if (!op->text_keys_judged ||
	    (op->outcome != INI_DONE && op->outcome != INI_REJECTED))
		return;
	for (uint32_t i = 0; i < op->text_req_len; pairs++)
		i += (uint32_t)strlen(op->text_req + i) + 1;
	if (pairs != op->text_private_keys)
		return; /* send= pairs too: not judged */
	over = pairs > TEXT_KEYS_HELD;
	if (over && op->outcome == INI_DONE)
		failf(r, p->line,
		      "%s %s: a Text Request of %u keys, more than the %u a "
		      "target holds, was answered (want Reject 0Ah) (seed "
		      "%llu)",
		      p->a->name, p->verb, pairs, TEXT_KEYS_HELD,
		      (unsigned long long)r->seed);
	else if (op->outcome == INI_REJECTED &&
		 (!over || op->reject_reason != ISCSI_REJECT_OUT_OF_RESOURCES))
		failf(r, p->line,
		      "%s %s: a Text Request of %u private keys (the limit: "
		      "%u) was rejected with reason 0x%02x; want %s (seed "
		      "%llu)",
		      p->a->name, p->verb, pairs, TEXT_KEYS_HELD,
		      op->reject_reason,
		      over ? "0Ah out of resources"
			   : "each key answered NotUnderstood",
		      (unsigned long long)r->seed);
	else if (op->outcome == INI_DONE)
		for (uint32_t i = 0; i < pairs; i++) {
			char want[32];
			uint32_t seen = 0;

			snprintf(want, sizeof(want), "X-k%03u=NotUnderstood",
				 i);
			for (uint32_t j = 0; op->text && j < op->text_len;) {
				seen += strcmp(op->text + j, want) == 0;
				j += (uint32_t)strlen(op->text + j) + 1;
			}
			if (seen != 1) {
				failf(r, p->line,
				      "%s %s: private key X-k%03u answered "
				      "NotUnderstood %u times, want once (RFC "
				      "7143 §6.2) (seed %llu)",
				      p->a->name, p->verb, i, seen,
				      (unsigned long long)r->seed);
				return;
			}
		}
}

void check_text(struct runner *r, struct pend *p, struct ini_op *op)
{
	int n = 0;

	check_text_keys(r, p, op);
	if (op->outcome != INI_DONE || op->text == NULL)
		return;
	spc_text_oracle(r, p, op);
	for (uint32_t i = 0; i < op->text_len;) {
		const char *kvp = op->text + i;

		if (strncmp(kvp, "TargetName=", 11) == 0)
			n++;
		i += (uint32_t)strlen(kvp) + 1;
	}
	if (p->e.targets >= 0 && n != p->e.targets)
		failf(r, p->line,
		      "%s %s: expected %d targets, got %d "
		      "(seed %llu)",
		      p->a->name, p->verb, p->e.targets, n,
		      (unsigned long long)r->seed);
	if (p->e.pieces >= 0 && op->text_pieces != (uint32_t)p->e.pieces)
		failf(r, p->line,
		      "%s %s: expected the answer in %d Text Responses, got "
		      "%u (seed %llu)",
		      p->a->name, p->verb, p->e.pieces, op->text_pieces,
		      (unsigned long long)r->seed);
	if (p->e.contains[0] != '\0') {
		bool found = false;

		for (uint32_t i = 0; i < op->text_len && !found;) {
			found = strstr(op->text + i, p->e.contains) != NULL;
			i += (uint32_t)strlen(op->text + i) + 1;
		}
		if (!found)
			failf(r, p->line,
			      "%s %s: no key contains '%s' "
			      "(seed %llu)",
			      p->a->name, p->verb, p->e.contains,
			      (unsigned long long)r->seed);
	}
}

void check_prin(struct runner *r, struct pend *p, struct ini_op *op)
{
	char got[256] = "";
	size_t off = 0;

	if (!scsi_good(op) || op->in_len < 8)
		return;
	if (p->kind == PK_PRIN_KEYS && p->e.keys[0] != '\0') {
		uint32_t len = get_be32(op->in + 4);

		for (uint32_t i = 0; i + 8 <= len && 8 + i + 8 <= op->in_len;
		     i += 8)
			off += (size_t)snprintf(
				got + off, sizeof(got) - off, "%s%llx",
				off ? "," : "",
				(unsigned long long)get_be64(op->in + 8 + i));
		if (strcmp(got,
			   strcmp(p->e.keys, "none") == 0 ? "" : p->e.keys) !=
		    0)
			failf(r, p->line,
			      "%s pr-read-keys: expected keys=%s, got "
			      "keys=%s (seed %llu)",
			      p->a->name, p->e.keys, off ? got : "none",
			      (unsigned long long)r->seed);
	}
	if (p->kind == PK_PRIN_RESV && p->e.resv_key_set) {
		uint32_t len = get_be32(op->in + 4);

		if (len >= 16 && op->in_len >= 16)
			snprintf(got, sizeof(got), "%llx",
				 (unsigned long long)get_be64(op->in + 8));
		else
			snprintf(got, sizeof(got), "none");
		if (strcmp(got, p->e.resv_key) != 0)
			failf(r, p->line,
			      "%s pr-read-reservation: expected holder=%s, "
			      "got holder=%s (seed %llu)",
			      p->a->name, p->e.resv_key, got,
			      (unsigned long long)r->seed);
	}
}
