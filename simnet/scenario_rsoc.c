/*
 * scenario_rsoc.c — what the target says it supports is what it does.
 *
 * REPORT SUPPORTED OPERATION CODES (SPC-4 §6.35) and REPORT SUPPORTED
 * TASK MANAGEMENT FUNCTIONS (SPC-4 §6.36) are promises an initiator acts
 * on: Linux sd asks the first whether WRITE SAME is there before it uses
 * it, VMware and Windows ask for the commands they rely on, and an error
 * handler picks its recovery steps from the second.  This oracle keeps,
 * per LU and per (operation code, service action), what the answers said
 * and what the LU did with the commands themselves, and fails the run
 * when two disagree:
 *
 *   - said supported (listed in the all-commands form, SUPPORT 011b in
 *     the one-command form) and a command of it was refused with
 *     ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (05/20/00);
 *   - said not supported (SUPPORT 001b, or left out of a whole list) and
 *     a command of it completed GOOD;
 *   - one form says supported and the other not.
 *
 * The all-commands list is also judged on its own: a command timeouts
 * descriptor (CTDP=1) exactly when RCTD asked for them, SERVACTV exactly
 * for the operation codes that have service actions, whole descriptors
 * that add up to the COMMAND DATA LENGTH; and a one-command answer's CDB
 * USAGE DATA begins with the operation code (SPC-4 §6.35.3).
 *
 * The TMFs: a REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS bit (ATS, ATSS,
 * CACAS, CTSS, LURS, TRS) against the target's answers to that function
 * (RFC 7143 §11.6.1: "Task management function not supported" (5) or a
 * rejection against FUNCTION COMPLETE, "task does not exist" or "LUN
 * does not exist", which only a function it performs can say).
 *
 * Facts are kept from one control step to the next (a LUN removed and
 * added again is another LU); commands answered while one ran teach
 * nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "scenario_int.h"
#include "scsi/scsi.h"

enum {
	RSOC_SAID_YES = 1, /* reported supported */
	RSOC_SAID_NO = 2,  /* reported not supported */
	RSOC_RAN = 4,	   /* a command of it completed GOOD */
	RSOC_REFUSED = 8,  /* ILLEGAL REQUEST, INVALID COMMAND OPCODE */
};

/* Service actions in byte 1 bits 4-0 (SPC-4 §4.2.5.2, the operation codes
 * SPC-4 and SBC-4 define with service actions in that place). */
static bool op_has_sa(uint8_t op)
{
	switch (op) {
	case 0x48: /* SANITIZE */
	case 0x5e: /* PERSISTENT RESERVE IN */
	case 0x5f: /* PERSISTENT RESERVE OUT */
	case 0x83: /* THIRD-PARTY COPY OUT */
	case 0x84: /* THIRD-PARTY COPY IN */
	case 0x9e: /* SERVICE ACTION IN(16) */
	case 0x9f: /* SERVICE ACTION OUT(16) */
	case 0xa3: /* MAINTENANCE IN */
	case 0xa4: /* MAINTENANCE OUT */
		return true;
	default:
		return false;
	}
}

static unsigned int rsoc_key(uint8_t op, uint16_t sa)
{
	return (unsigned int)op * 32u + (op_has_sa(op) ? (sa & 0x1fu) : 0u);
}

/* The LU's table, emptied when a control step ran since it was filled. */
static uint8_t *rsoc_table(struct runner *r, struct lun_st *l)
{
	if (l->rsoc == NULL) {
		l->rsoc = calloc(RSOC_KEYS, 1);
		if (l->rsoc == NULL)
			abort();
		l->rsoc_ctl_seq = r->ctl_seq;
	}
	if (l->rsoc_ctl_seq != r->ctl_seq) {
		memset(l->rsoc, 0, RSOC_KEYS);
		l->rsoc_ctl_seq = r->ctl_seq;
	}
	return l->rsoc;
}

static const char *fact_text(uint8_t f)
{
	if (f & RSOC_REFUSED)
		return "a command of it was refused with INVALID COMMAND "
		       "OPERATION CODE (05/20/00)";
	if (f & RSOC_RAN)
		return "a command of it completed GOOD";
	if (f & RSOC_SAID_NO)
		return "another answer reported it not supported";
	return "another answer reported it supported";
}

/* Add fact `add` to key k and fail on a contradiction. */
static void rsoc_learn(struct runner *r, struct pend *p, struct lun_st *l,
		       unsigned int k, uint8_t add)
{
	uint8_t *t = rsoc_table(r, l), was = t[k];
	bool yes, no;

	ut_assert(k < RSOC_KEYS);
	t[k] = (uint8_t)(was | add);
	yes = t[k] & (RSOC_SAID_YES | RSOC_RAN);
	no = t[k] & (RSOC_SAID_NO | RSOC_REFUSED);
	if (!yes || !no ||
	    (was & (RSOC_SAID_YES | RSOC_RAN) &&
	     was & (RSOC_SAID_NO | RSOC_REFUSED)))
		return;
	/* RAN and REFUSED alone are the LU's business, not a report's */
	if (!(t[k] & (RSOC_SAID_YES | RSOC_SAID_NO)))
		return;
	failf(r, p->line,
	      "oracle: on lun %u, operation code %02xh service action %02xh: "
	      "%s's %s %s, but earlier %s (SPC-4 §6.35: REPORT SUPPORTED "
	      "OPERATION CODES names the commands the device server "
	      "processes) (seed %llu)",
	      l->lun, k / 32u, k % 32u, p->a->name, p->verb,
	      add & RSOC_SAID_YES  ? "reports it supported"
	      : add & RSOC_SAID_NO ? "reports it not supported"
	      : add & RSOC_RAN	   ? "completed GOOD"
				   : "was refused with INVALID COMMAND "
				     "OPERATION CODE",
	      fact_text(was & (add & (RSOC_SAID_YES | RSOC_RAN)
				       ? (RSOC_SAID_NO | RSOC_REFUSED)
				       : (RSOC_SAID_YES | RSOC_RAN))),
	      (unsigned long long)r->seed);
}

static void list_fail(struct runner *r, struct pend *p, bool rctd,
		      const char *what, uint32_t off, const uint8_t *d)
{
	failf(r, p->line,
	      "oracle: %s's REPORT SUPPORTED OPERATION CODES list on lun %u "
	      "(RCTD=%d): the descriptor at byte %u (operation code %02xh, "
	      "byte 5 %02xh) %s (SPC-4 §6.35.2) (seed %llu)",
	      p->a->name, p->ls->lun, rctd, off, d[0], d[5], what,
	      (unsigned long long)r->seed);
}

/* REPORTING OPTIONS 000b: every command, 8 bytes each, 20 with RCTD. */
static void rsoc_all(struct runner *r, struct pend *p, struct ini_op *op)
{
	bool rctd = op->cdb[2] & 0x80, whole;
	uint32_t n, off = 4, end;
	uint8_t listed[RSOC_KEYS / 8] = {0};

	if (op->in_len < 4)
		return;
	n = get_be32(op->in);
	whole = (uint64_t)n + 4 <= op->in_len;
	end = whole ? n + 4 : op->in_len;
	while (off + 8 <= end && !r->failed) {
		const uint8_t *d = op->in + off;
		bool ctdp = d[5] & 0x02, servactv = d[5] & 0x01;
		uint32_t size = ctdp ? 20 : 8;
		unsigned int k = rsoc_key(d[0], get_be16(d + 2));

		if (ctdp != rctd) {
			list_fail(r, p, rctd,
				  rctd ? "has CTDP=0: with RCTD=1 every "
					 "descriptor carries its timeouts"
				       : "has CTDP=1: with RCTD=0 no "
					 "descriptor carries timeouts",
				  off, d);
			return;
		}
		if (servactv != op_has_sa(d[0])) {
			list_fail(r, p, rctd,
				  servactv ? "has SERVACTV=1 for an operation "
					     "code without service actions"
					   : "has SERVACTV=0 for an operation "
					     "code with service actions",
				  off, d);
			return;
		}
		if (off + size > end) {
			if (whole)
				list_fail(r, p, rctd,
					  "runs past the COMMAND DATA LENGTH",
					  off, d);
			return;
		}
		if (ctdp && get_be16(d + 8) != 0x0a) {
			list_fail(r, p, rctd,
				  "has a command timeouts descriptor whose "
				  "DESCRIPTOR LENGTH is not 0Ah",
				  off, d);
			return;
		}
		listed[k / 8] = (uint8_t)(listed[k / 8] | 1u << (k % 8));
		rsoc_learn(r, p, p->ls, k, RSOC_SAID_YES);
		off += size;
	}
	if (r->failed || !whole)
		return;
	if (off != end) {
		list_fail(r, p, rctd,
			  "is cut: the COMMAND DATA LENGTH is not whole "
			  "descriptors",
			  off, op->in + off);
		return;
	}
	/* a whole list: what it leaves out is not supported */
	for (unsigned int k = 0; k < RSOC_KEYS && !r->failed; k++) {
		bool sa_slot = op_has_sa((uint8_t)(k / 32u)) || k % 32u == 0;

		if (sa_slot && !(listed[k / 8] & (1u << (k % 8))))
			rsoc_learn(r, p, p->ls, k, RSOC_SAID_NO);
	}
}

/* REPORTING OPTIONS 001b-011b: one command (SPC-4 §6.35.3). */
static void rsoc_one(struct runner *r, struct pend *p, struct ini_op *op)
{
	uint8_t opt = op->cdb[2] & 0x07, want = op->cdb[3], support;
	uint16_t sa = get_be16(op->cdb + 4);
	bool rctd = op->cdb[2] & 0x80;

	if (op->in_len < 4)
		return;
	support = op->in[1] & 0x07;
	/* 001b names the operation code alone: of one with service
	 * actions it says nothing about any of them */
	if (opt == 1 && op_has_sa(want))
		return;
	if (support == 0x03) {
		uint32_t size = get_be16(op->in + 2);

		if (((op->in[1] & 0x80) != 0) != rctd ||
		    (size > 0 && op->in_len >= 5 && op->in[4] != want)) {
			failf(r, p->line,
			      "oracle: %s's REPORT SUPPORTED OPERATION CODES "
			      "of %02xh on lun %u: CTDP=%d with RCTD=%d, CDB "
			      "USAGE DATA beginning %02xh (SPC-4 §6.35.3: "
			      "CTDP as RCTD asked; the usage data begins with "
			      "the operation code) (seed %llu)",
			      p->a->name, want, p->ls->lun,
			      (op->in[1] & 0x80) != 0, rctd,
			      op->in_len >= 5 ? op->in[4] : 0,
			      (unsigned long long)r->seed);
			return;
		}
		rsoc_learn(r, p, p->ls, rsoc_key(want, sa), RSOC_SAID_YES);
	} else if (support == 0x01) {
		rsoc_learn(r, p, p->ls, rsoc_key(want, sa), RSOC_SAID_NO);
	}
}

static void rsoc_tmfs_answered(struct runner *r, struct pend *p,
			       struct ini_op *op);

/* The operation code and service action a CDB names. */
static unsigned int cdb_key(const uint8_t *cdb)
{
	return rsoc_key(cdb[0], op_has_sa(cdb[0]) ? (cdb[1] & 0x1f) : 0);
}

void rsoc_scsi_done(struct runner *r, struct pend *p, struct ini_op *op)
{
	const uint8_t *cdb = op->cdb;

	rsoc_tmfs_answered(r, p, op);
	if (r->failed || r->against || p->ls == NULL ||
	    op->kind != INI_OP_SCSI || op->outcome != INI_DONE ||
	    op->response != 0 || r->ctl_running || p->ctl_seq != r->ctl_seq ||
	    p->ctl_started != r->ctl_started)
		return;
	if (op->status == SCSI_STATUS_GOOD) {
		if (cdb[0] == 0xa3 && (cdb[1] & 0x1f) == 0x0c) {
			if ((cdb[2] & 0x07) == 0)
				rsoc_all(r, p, op);
			else
				rsoc_one(r, p, op);
		}
		if (!r->failed)
			rsoc_learn(r, p, p->ls, cdb_key(cdb), RSOC_RAN);
	} else if (op->status == SCSI_STATUS_CHECK_CONDITION) {
		int sk, asc, ascq;

		sense_parse(op, &sk, &asc, &ascq);
		if (sk == 5 && asc == 0x20 && ascq == 0)
			rsoc_learn(r, p, p->ls, cdb_key(cdb), RSOC_REFUSED);
	}
}

/* ----------------------------------------------------------- TMFs */

/* REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS byte 0 (SPC-4 §6.36.2) and
 * the iSCSI function of each bit (RFC 7143 §11.5.1). */
static const struct {
	uint8_t bit, fn;
	const char *name;
} tmf_bits[] = {
	{0x80, ISCSI_TMF_ABORT_TASK, "ATS (ABORT TASK)"},
	{0x40, ISCSI_TMF_ABORT_TASK_SET, "ATSS (ABORT TASK SET)"},
	{0x20, ISCSI_TMF_CLEAR_ACA, "CACAS (CLEAR ACA)"},
	{0x10, ISCSI_TMF_CLEAR_TASK_SET, "CTSS (CLEAR TASK SET)"},
	{0x08, ISCSI_TMF_LOGICAL_UNIT_RESET, "LURS (LOGICAL UNIT RESET)"},
	{0x02, ISCSI_TMF_TARGET_WARM_RESET, "TRS (TARGET RESET)"},
};

enum { TMF_UNKNOWN, TMF_SAID_YES, TMF_SAID_NO };

static void tmf_judge(struct runner *r, struct pend *p, unsigned int i)
{
	uint8_t said = r->rstmf_said[i], did = r->rstmf_did[i];

	if (said == TMF_UNKNOWN || did == TMF_UNKNOWN ||
	    (said == TMF_SAID_YES) == (did == TMF_SAID_YES))
		return;
	failf(r, p->line,
	      "oracle: REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS says %s=%d, "
	      "but the target %s that function (SPC-4 §6.36.2, RFC 7143 "
	      "§11.6.1) (seed %llu)",
	      tmf_bits[i].name, said == TMF_SAID_YES,
	      did == TMF_SAID_YES ? "performs" : "answers \"not supported\" to",
	      (unsigned long long)r->seed);
}

static void rsoc_tmfs_answered(struct runner *r, struct pend *p,
			       struct ini_op *op)
{
	if (r->failed || r->against || op->kind != INI_OP_SCSI ||
	    op->outcome != INI_DONE || op->response != 0 ||
	    op->status != SCSI_STATUS_GOOD || op->cdb[0] != 0xa3 ||
	    (op->cdb[1] & 0x1f) != 0x0d || op->in_len < 1)
		return;
	for (unsigned int i = 0; i < sizeof(tmf_bits) / sizeof(tmf_bits[0]);
	     i++) {
		r->rstmf_said[i] = (op->in[0] & tmf_bits[i].bit) ? TMF_SAID_YES
								 : TMF_SAID_NO;
		tmf_judge(r, p, i);
	}
}

void rsoc_tmf_done(struct runner *r, struct pend *p, struct ini_op *op)
{
	if (r->failed || r->against || op->outcome != INI_DONE)
		return;
	for (unsigned int i = 0; i < sizeof(tmf_bits) / sizeof(tmf_bits[0]);
	     i++) {
		if (tmf_bits[i].fn != p->tmf_fn)
			continue;
		if (op->response == ISCSI_TMF_RSP_COMPLETE ||
		    op->response == ISCSI_TMF_RSP_NO_TASK ||
		    op->response == ISCSI_TMF_RSP_NO_LUN)
			r->rstmf_did[i] = TMF_SAID_YES;
		else if (op->response == ISCSI_TMF_RSP_NOT_SUPPORTED)
			r->rstmf_did[i] = TMF_SAID_NO;
		else
			return;
		tmf_judge(r, p, i);
	}
}
