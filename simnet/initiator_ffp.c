/*
 * initiator_ffp.c — the initiator actor in full feature phase: commands
 * gated by the CmdSN window (RFC 7143 §4.2.2.1), immediate and unsolicited
 * data and the Data-Out R2Ts ask for (§4.2.5), and every answer of the
 * target checked as it arrives (StatSN, ExpCmdSN, sense, residuals).
 */
#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

#include "bhs.h"
#include "initiator_int.h"
#include "sense.h"

/* ------------------------------------------------------ FFP sending */

static bool window_open(const struct ini *ini)
{
	return sna_le(ini->cmdsn, ini->max_cmdsn);
}

static void fill_common(struct ini *ini, struct iscsi_bhs *h, uint8_t opcode,
			bool immediate, uint32_t itt)
{
	memset(h, 0, sizeof(*h));
	h->opcode = opcode;
	h->immediate = immediate;
	h->itt = itt;
	h->w28 = ini->exp_statsn;
}

/* A non-immediate PDU of this session with a CmdSN it took went out:
 * the target has it (in order, on our one connection). */
static void cmdsn_sent(struct ini *ini, uint32_t cmdsn)
{
	ini->last_sent_cmdsn = cmdsn;
	ini->last_sent_valid = true;
}

/* A misnumbered PDU went out with cmdsn: unless certainly ignored, the
 * target may have taken it. */
static void forced_sent(struct ini *ini, uint32_t cmdsn, bool ignored)
{
	if (ignored)
		return;
	if (!ini->forced_hi_valid || sna_lt(ini->forced_hi, cmdsn))
		ini->forced_hi = cmdsn;
	ini->forced_hi_valid = true;
}

bool ini_forced_ignored(const struct ini *ini, const struct ini_op *op,
			uint32_t *cmdsn)
{
	int64_t qd;
	int32_t delta = op->cmdsn_delta;

	/* A duplicate of a CmdSN that went out on this connection, no byte
	 * of ours hit on the way (a PDU a digest error discarded is not
	 * received): the target has it, below ExpCmdSN, waiting for its
	 * turn, or considered received ahead of a gap (RFC 7143
	 * §4.2.2.1: ignored). */
	if (op->cmdsn_dup && ini->last_sent_valid && ini->tx_flips == 0) {
		*cmdsn = ini->last_sent_cmdsn;
		return true;
	}
	if (op->cmdsn_dup) {
		/* none yet: one certainly below the window */
		qd = ini->tgt_params && ini->tgt_params->queued_commands
			     ? ini->tgt_params->queued_commands
			     : 32;
		delta = (int32_t) - (qd + 1);
	}
	*cmdsn = (uint32_t)((int64_t)ini->cmdsn + delta);
	return ini_cmdsn_outside(ini, delta);
}

/* The CmdSN of a NOP-Out, TMF or Logout: sent immediate, the next one,
 * taken by none; sent non-immediate (`nonimm`, the window open), it
 * takes it, and the target must take it in turn, also with a CmdSN gap
 * below it (RFC 7143 §3.2.2.1, §4.2.2.1).  A forced CmdSN (`cmdsn=+N`,
 * `cmdsn=dup`) goes non-immediate at once, taking no number; one
 * certainly outside the window or a duplicate must get no answer. */
static void request_cmdsn(struct ini *ini, struct iscsi_bhs *h,
			  struct ini_op *op)
{
	h->w24 = ini->cmdsn;
	if (op->cmdsn_forced) {
		h->immediate = false;
		op->cmdsn_outside = ini_forced_ignored(ini, op, &op->cmdsn);
		forced_sent(ini, op->cmdsn, op->cmdsn_outside);
		h->w24 = op->cmdsn;
		SIM_TRACE(ini->sim,
			  "%s: itt=%08x non-immediate, forced CmdSN %u%s",
			  ini->actor, op->itt, op->cmdsn,
			  op->cmdsn_outside ? " (certainly ignored)" : "");
		return;
	}
	if (op->nonimm && window_open(ini)) {
		h->immediate = false;
		op->cmdsn = ini->cmdsn++;
		cmdsn_sent(ini, op->cmdsn);
		SIM_TRACE(ini->sim, "%s: itt=%08x non-immediate, CmdSN %u",
			  ini->actor, op->itt, op->cmdsn);
	}
}

static void send_data_out(struct ini *ini, struct ini_op *op, uint32_t ttt,
			  uint32_t offset, uint32_t len)
{
	uint32_t datasn = 0;
	uint32_t seg = ini->neg.max_send_dsl ? ini->neg.max_send_dsl : 8192;

	while (len > 0) {
		uint32_t n = len < seg ? len : seg;
		struct iscsi_bhs h;

		fill_common(ini, &h, ISCSI_OP_DATA_OUT, false, op->itt);
		h.flags = n == len ? ISCSI_FLAG_FINAL : 0;
		h.lun = sim_lun_field(op->lun + ini->lun_base);
		h.w20 = ttt;
		h.w36 = datasn++;
		h.w40 = offset;
		if (op->dataout_bad != INI_DOBAD_NONE &&
		    !op->dataout_bad_sent) {
			/* misbehaviour: the target must reject it, RFC 7143
			 * §11.7.5, §11.7.6 (rx_reject, scsi_finish) */
			op->dataout_bad_sent = true;
			if (op->dataout_bad == INI_DOBAD_DATASN)
				h.w36++;
			else
				h.w40 = offset >= 512 ? offset - 512
						      : offset + 512;
			SIM_TRACE(ini->sim,
				  "%s -> Data-Out itt=%08x with a wrong %s "
				  "(DataSN %u, offset %u)",
				  ini->actor, op->itt,
				  op->dataout_bad == INI_DOBAD_DATASN
					  ? "DataSN"
					  : "Buffer Offset",
				  h.w36, h.w40);
		}
		ini_send_pdu(ini, &h, op->out + offset, n);
		offset += n;
		len -= n;
	}
}

/* hold-r2t: 2 ms without a new R2T; answer the held ones. */
static void r2t_release(struct sim_ev *ev)
{
	struct ini_op *op =
		(struct ini_op *)((char *)ev - offsetof(struct ini_op, r2t_ev));
	struct ini *ini = op->ini;

	if (op->outcome != INI_PENDING || ini->c == NULL) {
		op->r2t_held = 0;
		return;
	}
	for (uint32_t i = 0; i < op->r2t_held; i++)
		send_data_out(ini, op, op->r2t_hold[i].ttt, op->r2t_hold[i].off,
			      op->r2t_hold[i].len);
	op->r2t_held = 0;
	ini_tx_flush(ini);
}

/* Misbehaviour (`imm-over=N`): immediate data up to N bytes past
 * FirstBurstLength, which RFC 7143 §13.14 forbids (unsolicited data,
 * immediate included, stays within it).  The command goes immediate, so
 * that the Reject it earns leaves no hole in the CmdSN sequence.  0 where
 * the negotiation leaves no room to misbehave: no ImmediateData, or the
 * command or the target's MaxRecvDataSegmentLength no longer than
 * FirstBurstLength (the command is then sent as usual). */
static uint32_t imm_over_len(const struct ini *ini, const struct ini_op *op)
{
	uint64_t n = (uint64_t)ini->neg.first_burst + op->imm_over;

	if (op->imm_over == 0 || !op->dir_write || !ini->neg.immediate_data)
		return 0;
	if (n > op->edtl)
		n = op->edtl;
	if (n > ini->neg.max_send_dsl)
		n = ini->neg.max_send_dsl;
	return n > ini->neg.first_burst ? (uint32_t)n : 0;
}

static void send_scsi(struct ini *ini, struct ini_op *op)
{
	struct iscsi_bhs h;
	uint32_t imm = 0, unsol = 0, over = imm_over_len(ini, op);

	fill_common(ini, &h, ISCSI_OP_SCSI_CMD, over > 0, op->itt);
	op->imm_over_sent = over;
	op->imm_over_fb = ini->neg.first_burst;
	if (over > 0) {
		imm = over;
	} else if (op->dir_write && op->edtl > 0) {
		uint32_t fb = ini->neg.first_burst < op->edtl
				      ? ini->neg.first_burst
				      : op->edtl;

		if (ini->neg.immediate_data) {
			imm = fb < ini->neg.max_send_dsl
				      ? fb
				      : ini->neg.max_send_dsl;
		}
		if (!ini->neg.initial_r2t)
			unsol = fb - imm;
	}
	h.flags = (uint8_t)((unsol == 0 ? ISCSI_FLAG_FINAL : 0) |
			    (op->dir_read ? ISCSI_CMD_F_READ : 0) |
			    (op->dir_write ? ISCSI_CMD_F_WRITE : 0) |
			    (op->task_attr ? op->task_attr & 7 : 1));
	h.lun = sim_lun_field(op->lun + ini->lun_base);
	h.w20 = op->edtl;
	/* A misplaced CmdSN (misbehaviour) does not use up a number: the
	 * target must ignore it, and the next command takes the slot.  A
	 * command held back (a CmdSN gap) took its number when it was
	 * held. */
	if (!op->cmdsn_taken && op->cmdsn_dup && over == 0) {
		/* `cmdsn=dup`: a duplicate of the last CmdSN that went out
		 * (or, none certain, one below the window): the target must
		 * ignore it, whether the command that has it was answered,
		 * runs, waits for its turn behind a gap, or is a request
		 * received ahead of one (RFC 7143 §4.2.2.1; lane dupcmd19) */
		op->cmdsn_outside = ini_forced_ignored(ini, op, &op->cmdsn);
	} else if (!op->cmdsn_taken) {
		op->cmdsn = (uint32_t)((int64_t)ini->cmdsn + op->cmdsn_delta);
		if (!ini_op_misnumbered(op) && over == 0)
			ini->cmdsn++;
	}
	if (!ini_op_misnumbered(op) && over == 0)
		cmdsn_sent(ini, op->cmdsn);
	else if (over == 0)
		forced_sent(ini, op->cmdsn, op->cmdsn_outside);
	h.w24 = op->cmdsn;
	memcpy(h.cdb, op->cdb, 16);
	if (op->cdb_ext_len > 0) {
		/* RFC 7143 §11.2.2.3: AHSLength (2 bytes) counts the
		 * reserved byte and the CDB bytes beyond 16; AHSType 1; the
		 * AHS padded to 4 bytes */
		uint8_t ahs[4 + 16 + 3] = {0};
		uint32_t alen = 1u + op->cdb_ext_len;

		ahs[0] = (uint8_t)(alen >> 8);
		ahs[1] = (uint8_t)alen;
		ahs[2] = 1;
		memcpy(ahs + 4, op->cdb_ext, op->cdb_ext_len);
		ini_send_pdu_ahs(ini, &h, ahs, (3u + alen + 3u) / 4u * 4u,
				 op->out, imm);
	} else {
		ini_send_pdu(ini, &h, op->out, imm);
	}
	if (op->edtl > 0 && !op->buf_counted) {
		/* what the target's tasks of this session, and of all,
		 * can hold when this command arrives: at most the commands
		 * sent before it and not answered before it was sent */
		op->buf_counted = true;
		op->buf_own_before = ini->buf_bytes + ini->buf_limbo;
		op->buf_all_before =
			ini->sim->ini_buf_bytes + ini->sim->ini_buf_lost;
		op->buf_sent_mark = ini->sim->ini_buf_sent;
		op->oom_mark = ini->sim->oom.failed;
		ini->buf_bytes += op->edtl;
		ini->sim->ini_buf_bytes += op->edtl;
		ini->sim->ini_buf_sent += op->edtl;
	}
	op->unsol_sent = imm + unsol;
	if (unsol > 0)
		send_data_out(ini, op, ISCSI_RESERVED_TAG, imm, unsol);
}

static void op_send(struct ini *ini, struct ini_op *op)
{
	struct iscsi_bhs h;

	op->sent = true;
	op->send_seq = ++ini->send_seq;
	switch (op->kind) {
	case INI_OP_SCSI:
		send_scsi(ini, op);
		break;
	case INI_OP_TEXT: {
		static const char st[] = "SendTargets=All";

		fill_common(ini, &h, ISCSI_OP_TEXT_REQ, false, op->itt);
		h.flags = ISCSI_FLAG_FINAL;
		h.w20 = ISCSI_RESERVED_TAG;
		if (op->cmdsn_forced) {
			request_cmdsn(ini, &h, op);
		} else {
			op->cmdsn = ini->cmdsn++;
			cmdsn_sent(ini, op->cmdsn);
		}
		h.w24 = op->cmdsn;
		op->text_keys_judged =
			op->text_private_keys > 0 && !ini->discovery &&
			op->text_req_len <= ini->neg.max_send_dsl;
		if (op->text_req)
			ini_send_pdu(ini, &h, op->text_req, op->text_req_len);
		else
			ini_send_pdu(ini, &h, st, sizeof(st));
		break;
	}
	default:
		assert(0);
	}
}

/* A command held back (`hold`, a CmdSN gap): it takes the next CmdSN,
 * inside the window as any command, and waits on heldq, unsent, while
 * the commands after it go out (RFC 7143 §3.2.2.1: the target must
 * deliver none of those before it). */
static void hold_back(struct ini *ini, struct ini_op *op)
{
	assert(op->kind == INI_OP_SCSI && !ini_op_misnumbered(op));
	op->cmdsn = ini->cmdsn++;
	op->cmdsn_taken = true;
	TAILQ_INSERT_TAIL(&ini->heldq, op, link);
	SIM_TRACE(ini->sim, "%s holds back itt=%08x CmdSN %u (a gap)",
		  ini->actor, op->itt, op->cmdsn);
}

unsigned int ini_release(struct ini *ini)
{
	struct ini_op *op, *next;
	unsigned int n = 0;

	/* one still waiting for the window goes as any command */
	TAILQ_FOREACH (op, &ini->waitq, link)
		op->hold = false;
	for (op = TAILQ_FIRST(&ini->heldq);
	     ini->state == INI_S_FFP && op != NULL; op = next) {
		next = TAILQ_NEXT(op, link);
		/* an ABORT TASK named it: its answer concludes it, and the
		 * target may have counted its CmdSN received already */
		if (op->gap_aborted)
			continue;
		TAILQ_REMOVE(&ini->heldq, op, link);
		if (op->gap_tmf_done) {
			/* a task-set TMF or reset of ours after it aborted
			 * it, unsent: it goes now (late, as over a path that
			 * delayed it), and it is concluded already */
			SIM_TRACE(ini->sim,
				  "%s sends held itt=%08x CmdSN %u, aborted "
				  "by TMF itt=%08x: no answer may come",
				  ini->actor, op->itt, op->cmdsn,
				  op->gap_tmf_itt);
			op_send(ini, op);
			ini_op_finish(ini, op, INI_ABORTED);
			n++;
			continue;
		}
		TAILQ_INSERT_TAIL(&ini->ops, op, link);
		SIM_TRACE(ini->sim, "%s sends held itt=%08x CmdSN %u",
			  ini->actor, op->itt, op->cmdsn);
		op_send(ini, op);
		n++;
	}
	ini_tx_flush(ini);
	return n;
}

bool ini_op_behind_gap(const struct ini *ini, const struct ini_op *op,
		       bool *received)
{
	const struct ini_op *h, *o;
	bool pending = false;

	*received = false;
	if (op->kind != INI_OP_SCSI || !op->sent || ini_op_misnumbered(op) ||
	    op->imm_over_sent != 0 || ini->state != INI_S_FFP)
		return false;
	TAILQ_FOREACH (o, &ini->ops, link)
		if (o == op)
			pending = true;
	if (!pending)
		return false;
	TAILQ_FOREACH (h, &ini->heldq, link) {
		if (!sna_lt(h->cmdsn, op->cmdsn) || h->gap_aborted ||
		    h->gap_tmf_all)
			continue;
		*received = op->send_seq < ini->answered_seq;
		return true;
	}
	return false;
}

unsigned int ini_held(const struct ini *ini)
{
	const struct ini_op *op;
	unsigned int n = 0;

	TAILQ_FOREACH (op, &ini->heldq, link)
		n++;
	return n;
}

/* Issue what the CmdSN window allows, in order. */
void ini_pump(struct ini *ini)
{
	struct ini_op *op;

	while (ini->state == INI_S_FFP &&
	       (op = TAILQ_FIRST(&ini->waitq)) != NULL &&
	       (window_open(ini) || ini_op_misnumbered(op) ||
		imm_over_len(ini, op) > 0)) {
		TAILQ_REMOVE(&ini->waitq, op, link);
		if (op->hold && !ini_op_misnumbered(op) &&
		    imm_over_len(ini, op) == 0) {
			hold_back(ini, op);
			continue;
		}
		TAILQ_INSERT_TAIL(&ini->ops, op, link);
		op_send(ini, op);
	}
	ini_tx_flush(ini);
	/* Commands wait for a window that only an answer can open; if the
	 * target's answers are gone (tasks a reset of another session ended
	 * silently), ask with an immediate NOP-Out after a second, as real
	 * initiators' NOP-Out pings do (RFC 7143 §11.18). */
	if (ini->state == INI_S_FFP && !TAILQ_EMPTY(&ini->waitq) &&
	    !window_open(ini) && !sim_ev_pending(&ini->probe_ev))
		sim_ev_at(ini->sim, &ini->probe_ev,
			  ini->sim->now_ns + SIM_NS_PER_S);
}

void ini_probe_fire(struct sim_ev *ev)
{
	struct ini *ini = SIM_CONTAINER_OF(ev, struct ini, probe_ev);

	if (ini->state != INI_S_FFP || TAILQ_EMPTY(&ini->waitq) ||
	    window_open(ini))
		return;
	SIM_TRACE(ini->sim,
		  "%s: CmdSN window closed with commands waiting: "
		  "NOP-Out ping",
		  ini->actor);
	ini_nop(ini, ini_op_new(ini, INI_OP_NOP, NULL, NULL));
	ini_pump(ini);
}

bool ini_cmdsn_outside(const struct ini *ini, int32_t delta)
{
	/* The target's window is at most QueuedCommands wide (a violation
	 * otherwise) and holds the last CmdSN we sent, so it lies within
	 * [next - QD, next + QD - 1]: past that, certainly outside. */
	int64_t qd;

	if (ini->tgt_params == NULL || delta == 0)
		return false;
	qd = ini->tgt_params->queued_commands ? ini->tgt_params->queued_commands
					      : 32;
	return delta >= qd || delta <= -(qd + 1);
}

static bool ffp_or_fail(struct ini *ini, struct ini_op *op)
{
	op->issued_ns = ini->sim->now_ns;
	if (ini->state != INI_S_FFP || ini->c == NULL) {
		ini_op_finish(ini, op, INI_NOT_SENT);
		return false;
	}
	op->itt = ini->next_itt++;
	if (op->itt == ISCSI_RESERVED_TAG)
		op->itt = ini->next_itt++;
	return true;
}

void ini_scsi(struct ini *ini, struct ini_op *op)
{
	if (!ffp_or_fail(ini, op))
		return;
	if (op->dir_read && op->in == NULL && op->edtl > 0) {
		/* A large expected length (the greedy initiator's 8-32 MiB
		 * reads of a few blocks) takes zero pages it never touches:
		 * calloc from the heap would clear all of it (12 times the
		 * explorer's time in seeds with one). */
		if (op->edtl >= (1u << 20)) {
			void *m = mmap(NULL, op->edtl, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (m == MAP_FAILED)
				abort();
			op->in = m;
			op->in_map_len = op->edtl;
		} else {
			op->in = calloc(1, op->edtl);
		}
		if (op->in == NULL)
			abort();
	}
	op->cmdsn_outside = ini_cmdsn_outside(ini, op->cmdsn_delta);
	TAILQ_INSERT_TAIL(&ini->waitq, op, link);
	ini_pump(ini);
}

void ini_text_sendtargets(struct ini *ini, struct ini_op *op)
{
	if (!ffp_or_fail(ini, op))
		return;
	TAILQ_INSERT_TAIL(&ini->waitq, op, link);
	ini_pump(ini);
}

void ini_tmf(struct ini *ini, struct ini_op *op)
{
	struct iscsi_bhs h;

	if (!ffp_or_fail(ini, op))
		return;
	fill_common(ini, &h, ISCSI_OP_TMF_REQ, true, op->itt);
	h.flags = (uint8_t)(ISCSI_FLAG_FINAL | op->tmf_fn);
	h.lun = sim_lun_field(op->lun + ini->lun_base);
	h.w20 = op->tmf_fn == ISCSI_TMF_ABORT_TASK ? op->ref_itt
						   : ISCSI_RESERVED_TAG;
	request_cmdsn(ini, &h, op);
	h.w32 = op->ref_cmdsn;
	if (op->cmdsn_outside) {
		/* certainly ignored (RFC 7143 §4.2.2.1): it acts on none */
	} else if (op->tmf_fn == ISCSI_TMF_ABORT_TASK) {
		struct ini_op *held;

		TAILQ_FOREACH (held, &ini->heldq, link)
			if (held->itt == op->ref_itt && held->lun == op->lun &&
			    !held->gap_aborted) {
				held->gap_aborted = true;
				held->gap_abort_itt = op->itt;
			}
	} else {
		/* RFC 7143 §11.5.1: a task-set TMF or reset acts on the
		 * commands held below it too (their CmdSNs are lower) */
		bool all = op->tmf_fn == ISCSI_TMF_TARGET_WARM_RESET ||
			   op->tmf_fn == ISCSI_TMF_TARGET_COLD_RESET;
		bool lu = op->tmf_fn == ISCSI_TMF_ABORT_TASK_SET ||
			  op->tmf_fn == ISCSI_TMF_CLEAR_TASK_SET ||
			  op->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET;
		struct ini_op *held;

		TAILQ_FOREACH (held, &ini->heldq, link) {
			if (held->gap_aborted ||
			    !(all || (lu && held->lun == op->lun)))
				continue;
			if (held->gap_tmf_done) {
				/* concluded by a task-set TMF before (one sent
				 * non-immediate, lane cmdsnhole17): a target
				 * reset still has its CmdSN received from its
				 * arrival, no gap for those after it */
				if (all && !held->gap_tmf_all) {
					held->gap_tmf_all = true;
					held->gap_all_itt = op->itt;
				}
				continue;
			}
			held->gap_tmf = true;
			held->gap_tmf_all = all;
			held->gap_tmf_itt = op->itt;
		}
	}
	op->sent = true;
	op->send_seq = ++ini->send_seq;
	TAILQ_INSERT_TAIL(&ini->ops, op, link);
	ini_send_pdu(ini, &h, NULL, 0);
	ini_tx_flush(ini);
}

void ini_nop(struct ini *ini, struct ini_op *op)
{
	struct iscsi_bhs h;

	if (!ffp_or_fail(ini, op))
		return;
	fill_common(ini, &h, ISCSI_OP_NOP_OUT, true, op->itt);
	h.flags = ISCSI_FLAG_FINAL;
	h.w20 = ISCSI_RESERVED_TAG;
	request_cmdsn(ini, &h, op);
	op->sent = true;
	op->send_seq = ++ini->send_seq;
	TAILQ_INSERT_TAIL(&ini->ops, op, link);
	/* ping data (`nop data=BYTES`): the NOP-In echoes it */
	ini_send_pdu(ini, &h, op->out, op->out ? op->edtl : 0);
	ini_tx_flush(ini);
}

void ini_logout(struct ini *ini, struct ini_op *op)
{
	struct iscsi_bhs h;

	if (!ffp_or_fail(ini, op))
		return;
	fill_common(ini, &h, ISCSI_OP_LOGOUT_REQ, true, op->itt);
	h.flags = ISCSI_FLAG_FINAL | (op->logout_reason & 0x7f);
	h.w20 = (uint32_t)(op->logout_cid < 0 ? ini->cid
					      : (uint16_t)op->logout_cid)
		<< 16;
	request_cmdsn(ini, &h, op);
	op->sent = true;
	op->send_seq = ++ini->send_seq;
	/* one certainly ignored (a forced CmdSN) starts no exchange */
	if (!op->cmdsn_outside)
		ini->state = INI_S_LOGOUT;
	TAILQ_INSERT_TAIL(&ini->ops, op, link);
	ini_send_pdu(ini, &h, NULL, 0);
	ini_tx_flush(ini);
}

/* A raw PDU: sent byte for byte, in any state with a connection.  Its
 * ITT (bytes 16-19) is what an answer or a Reject will name. */
void ini_raw(struct ini *ini, struct ini_op *op)
{
	op->issued_ns = ini->sim->now_ns;
	if (ini->c == NULL) {
		ini_op_finish(ini, op, INI_NOT_SENT);
		return;
	}
	if (op->raw_len >= 20)
		op->itt = get_be32(op->raw + 16);
	else if (!op->raw_freeze) /* stall-pdu: its own tag */
		op->itt = ISCSI_RESERVED_TAG;
	op->sent = true;
	SIM_TRACE(ini->sim, "%s -> raw %u bytes (opcode 0x%02x itt=%08x)",
		  ini->actor, op->raw_len, op->raw_len ? op->raw[0] & 0x3f : 0,
		  op->itt);
	TAILQ_INSERT_TAIL(&ini->ops, op, link);
	ini_tx_put(ini, op->raw, op->raw_len);
	ini_tx_flush(ini);
	if (op->raw_freeze)
		ini->tx_frozen = true;
}

/* ------------------------------------------------------ FFP receive */

/* RFC 7143 §4.2.2.1: ExpCmdSN passes only CmdSNs the target received
 * (or, §11.5.1, considers received: below a TMF's own, which is at most
 * our next one).  Past our next CmdSN and every misnumbered one the
 * target may have taken, it took a CmdSN nobody sent: one of a request
 * it had to ignore (a duplicate, or outside the window), say. */
static void check_exp_bound(struct ini *ini, uint8_t opcode, uint32_t exp)
{
	uint32_t top = ini->cmdsn;

	if (ini->forced_hi_valid && sna_lt(top, ini->forced_hi + 1))
		top = ini->forced_hi + 1;
	if (sna_lt(top, exp))
		ini_violation(ini,
			      "%s: ExpCmdSN %u, but no CmdSN from %u on was "
			      "sent: the target passed CmdSNs it never "
			      "received (RFC 7143 §4.2.2.1)",
			      ini_opcode_name(opcode), exp, top);
}

/* RFC 7143 §4.2.2.1: ExpCmdSN and MaxCmdSN advance; on one connection
 * they arrive in order, so going back is a target bug. */
static void update_window(struct ini *ini, const struct iscsi_bhs *h)
{
	uint32_t exp = h->w28, max = h->w32;

	if (sna_lt(exp, ini->exp_cmdsn))
		ini_violation(ini, "%s: ExpCmdSN went back from %u to %u",
			      ini_opcode_name(h->opcode), ini->exp_cmdsn, exp);
	if (sna_lt(max + 1, exp))
		ini_violation(ini, "%s: MaxCmdSN %u < ExpCmdSN-1 (%u)",
			      ini_opcode_name(h->opcode), max, exp);
	/* The window is the queue the target keeps for the session: never
	 * more than the QueuedCommands it was configured with. */
	else if (ini->tgt_params != NULL &&
		 ini->tgt_params->queued_commands != 0 &&
		 max + 1 - exp > ini->tgt_params->queued_commands)
		ini_violation(ini,
			      "%s: a window of %u commands (ExpCmdSN %u, "
			      "MaxCmdSN %u) > QueuedCommands %u",
			      ini_opcode_name(h->opcode), max + 1 - exp, exp,
			      max, ini->tgt_params->queued_commands);
	/* One connection: the target's MaxCmdSN arrives in the order it
	 * was sent, and it never moves back (task.c; RFC 7143 §4.2.2.1: a
	 * window once offered is not taken back). */
	if (sna_lt(max, ini->max_cmdsn) && sna_le(exp, max + 1))
		ini_violation(ini, "%s: MaxCmdSN went back from %u to %u",
			      ini_opcode_name(h->opcode), ini->max_cmdsn, max);
	check_exp_bound(ini, h->opcode, exp);
	if (sna_lt(ini->exp_cmdsn, exp))
		ini->exp_cmdsn = exp;
	if (sna_lt(ini->max_cmdsn, max))
		ini->max_cmdsn = max;
}

/* RFC 7143 §3.2.2.1: the target delivers non-immediate commands in
 * CmdSN order, so none is answered while a command before it has not
 * been sent (held back: a gap), and one whose CmdSN was outside the
 * window is silently ignored (§4.2.2.1), never answered. */
static void check_cmdsn_order(struct ini *ini, const struct ini_op *op)
{
	const struct ini_op *h;

	if (op->cmdsn_outside) {
		ini_violation(ini,
			      "itt=%08x CmdSN %u was %s, yet it was answered "
			      "(RFC 7143 §4.2.2.1: a non-immediate command "
			      "outside [ExpCmdSN, MaxCmdSN] or a duplicate is "
			      "silently ignored)",
			      op->itt, op->cmdsn,
			      op->cmdsn_dup ? "a duplicate"
					    : "outside the window");
		return;
	}
	if (ini_op_misnumbered(op) || op->imm_over_sent != 0)
		return;
	TAILQ_FOREACH (h, &ini->heldq, link) {
		if (!sna_lt(h->cmdsn, op->cmdsn) || h->gap_aborted ||
		    h->gap_tmf_all)
			continue;
		ini_violation(ini,
			      "itt=%08x CmdSN %u answered while CmdSN %u "
			      "(itt=%08x) before it was never sent: the target "
			      "delivers commands in CmdSN order (RFC 7143 "
			      "§3.2.2.1)",
			      op->itt, op->cmdsn, h->cmdsn, h->itt);
		return;
	}
}

/* StatSN: status-bearing PDUs carry exactly ExpStatSN (§4.2.2.2). */
static void take_statsn(struct ini *ini, const struct iscsi_bhs *h,
			bool advances)
{
	uint32_t sn = h->w24;

	if (!ini->statsn_valid) {
		ini->exp_statsn = sn + (advances ? 1 : 0);
		ini->statsn_valid = true;
		return;
	}
	if (advances) {
		if (sn != ini->exp_statsn)
			ini_violation(ini,
				      "%s itt=%08x: StatSN %u, expected %u",
				      ini_opcode_name(h->opcode), h->itt, sn,
				      ini->exp_statsn);
		if (!sna_lt(sn, ini->exp_statsn))
			ini->exp_statsn = sn + 1;
	} else if (sna_lt(sn, ini->exp_statsn)) {
		ini_violation(ini, "%s: StatSN %u went back (expected %u)",
			      ini_opcode_name(h->opcode), sn, ini->exp_statsn);
	}
}

/* The CDB length an operation code's group gives (SAM-5 §5.2), 0 for the
 * reserved and vendor-specific groups. */
static uint32_t cdb_len_of(uint8_t opcode)
{
	static const uint8_t len[8] = {6, 10, 10, 0, 16, 12, 0, 0};

	return len[opcode >> 5];
}

/* SPC-4 §4.5.2.4.2: a field pointer names a byte of the CDB (C/D=1) or of
 * the parameter list (C/D=0), and ILLEGAL REQUEST says which: INVALID
 * FIELD IN CDB (24h) a byte of the CDB, INVALID FIELD IN PARAMETER LIST
 * (26h) one of the Data-Out the command sent.  Fixed or descriptor
 * format alike (sense.h). */
static void check_field_pointer(struct ini *ini, const struct ini_op *op,
				const struct sense_view *v)
{
	uint32_t at, limit;
	bool cd;

	if (!v->sks_valid || v->sk != 0x5 || (v->asc != 0x24 && v->asc != 0x26))
		return;
	cd = (v->sks[0] & 0x40) != 0;
	at = get_be16(v->sks + 1);
	if (cd != (v->asc == 0x24)) {
		ini_violation(ini,
			      "itt=%08x %s with a field pointer of C/D=%d "
			      "(byte %u): it must name a byte of the %s "
			      "(SPC-4 §4.5.2.4.2)",
			      op->itt,
			      v->asc == 0x24
				      ? "INVALID FIELD IN CDB"
				      : "INVALID FIELD IN PARAMETER LIST",
			      cd, at,
			      v->asc == 0x24 ? "CDB" : "parameter list");
		return;
	}
	limit = cd ? cdb_len_of(op->cdb[0]) : op->dir_write ? op->edtl : 0;
	if ((cd && limit != 0 && at >= limit) || (!cd && at >= limit))
		ini_violation(ini,
			      "itt=%08x field pointer names byte %u of a %s of "
			      "%u bytes (SPC-4 §4.5.2.4.2)",
			      op->itt, at, cd ? "CDB" : "parameter list",
			      limit);
}

/* Sense data of a CHECK CONDITION, in either format, well formed
 * (sense.h: the additional length within the data, descriptors within
 * it, an information descriptor with VALID, a sense key specific one
 * with SKSV). */
static void check_sense(struct ini *ini, struct ini_op *op)
{
	struct sense_view v;
	const char *bad;
	char why[160];

	if (op->response != 0)
		return;
	if (op->status == 0x02 && op->sense_len < 8)
		ini_violation(ini,
			      "itt=%08x CHECK CONDITION without sense data",
			      op->itt);
	if (op->status != 0x02 && op->sense_len > 0)
		ini_violation(ini, "itt=%08x sense data with status 0x%02x",
			      op->itt, op->status);
	if (op->sense_len < 8)
		return;
	bad = sense_decode(op->sense, op->sense_len, &v, why, sizeof(why));
	if ((v.code & 0x7e) != 0x70 && (v.code & 0x7e) != 0x72)
		ini_violation(ini, "itt=%08x bad sense response code 0x%02x",
			      op->itt, op->sense[0]);
	else if (bad != NULL)
		ini_violation(ini, "itt=%08x sense data not well formed: %s",
			      op->itt, bad);
	else if (op->status == 0x02)
		check_field_pointer(ini, op, &v);
}

/* RFC 7143 §11.4.5.2 (and §11.7.5 for status in a Data-In): a read
 * that completed GOOD with less data than the initiator expected says so
 * with the U bit and the residual count; with neither O nor U every byte
 * expected arrived. */
static void check_read_residual(struct ini *ini, const struct ini_op *op,
				uint8_t flags, uint32_t residual)
{
	if (!op->dir_read || op->dir_write || op->response != 0 ||
	    op->status != 0 /* GOOD */ || (flags & ISCSI_RSP_F_OVERFLOW))
		return;
	if (flags & ISCSI_RSP_F_UNDERFLOW) {
		if (residual != op->edtl - op->in_len)
			ini_violation(
				ini,
				"itt=%08x residual underflow %u, but %u of "
				"%u bytes arrived",
				op->itt, residual, op->in_len, op->edtl);
	} else if (op->in_len != op->edtl) {
		ini_violation(ini,
			      "itt=%08x %u of %u bytes arrived, and no "
			      "underflow reported",
			      op->itt, op->in_len, op->edtl);
	}
}

/* A command held below a task-set TMF or reset of ours in its scope,
 * sent late while that TMF is still unanswered, is answered: only a TMF
 * that does not complete allows it (tmf_aborts() judges). */
static void check_gap_tmf(struct ini *ini, const struct ini_op *op)
{
	struct ini_op *tmf;

	if (!op->gap_tmf || op->gap_tmf_done)
		return;
	tmf = ini_op_by_itt(ini, op->gap_tmf_itt);
	if (tmf != NULL && !tmf->gap_answered) {
		tmf->gap_answered = true;
		tmf->gap_answered_itt = op->itt;
	}
}

static void scsi_finish(struct ini *ini, struct ini_op *op, uint8_t flags,
			uint32_t residual)
{
	check_cmdsn_order(ini, op);
	check_gap_tmf(ini, op);
	check_read_residual(ini, op, flags, residual);
	op->rsp_flags = flags;
	op->residual = residual;
	check_sense(ini, op);
	TAILQ_REMOVE(&ini->ops, op, link);
	ini_op_finish(ini, op, INI_DONE);
}

static void rx_scsi_rsp(struct ini *ini, const struct iscsi_bhs *h,
			const uint8_t *data)
{
	struct ini_op *op = ini_op_by_itt(ini, h->itt);

	take_statsn(ini, h, true);
	update_window(ini, h);
	if (op == NULL || op->kind != INI_OP_SCSI) {
		ini_violation(ini, "SCSI Response for unknown itt %08x",
			      h->itt);
		return;
	}
	op->response = h->b2;
	op->status = h->b3;
	if (h->data_len >= 2) {
		uint16_t sl = get_be16(data);

		if (sl > h->data_len - 2 || sl > sizeof(op->sense)) {
			ini_violation(
				ini,
				"itt=%08x SenseLength %u exceeds segment %u",
				h->itt, sl, h->data_len);
			sl = 0;
		}
		memcpy(op->sense, data + 2, sl);
		op->sense_len = sl;
	}
	/* RFC 7143 §11.4.8: ExpDataSN is the number of Data-In PDUs the
	 * target sent for the command; 0 when it sent none or the
	 * response is not Command Completed at Target. */
	if (h->w36 != (h->b2 == 0 ? op->datain_pdus : 0))
		ini_violation(ini,
			      "itt=%08x SCSI Response ExpDataSN %u, but %u "
			      "Data-In PDUs came (RFC 7143 §11.4.8)",
			      h->itt, h->w36, h->b2 == 0 ? op->datain_pdus : 0);
	/* Every byte of a write is sent once: GOOD means the target took
	 * the Data-Out we sent out of sequence, which it must reject and
	 * never place (RFC 7143 §11.7.5 DataSN, §11.7.6 Buffer Offset). */
	if (op->dataout_bad_sent && h->b2 == 0 && h->b3 == 0x00 /* GOOD */)
		ini_violation(ini,
			      "itt=%08x answered GOOD, yet its first "
			      "Data-Out carried a wrong %s: the target must "
			      "reject that PDU (protocol error) and never "
			      "take its data (RFC 7143 §11.7.5, §11.7.6)",
			      h->itt,
			      op->dataout_bad == INI_DOBAD_DATASN
				      ? "DataSN"
				      : "Buffer Offset");
	scsi_finish(ini, op, h->flags, h->w44);
}

/* Was this Data-In's segment sent from a file (env.h conn_send_file)?
 * Never on a connection with DataDigest: its digest was computed when
 * the PDU was queued, and a file's bytes are those of their sending
 * (target/iscsi/conn_tx.c iscsi_txpdu_set_file; backstore.h bs_ref).
 * The oracle is told of every segment (in_seg). */
static void rx_data_in_file(struct ini *ini, struct ini_op *op,
			    const struct iscsi_bhs *h)
{
	bool ffp = ini->digests_live;
	uint64_t at = ini->rx_pdu_start + ISCSI_BHS_LEN +
		      (uint64_t)h->total_ahs_len * 4u +
		      (ffp && ini->neg.header_digest ? 4u : 0u);
	bool file = h->data_len > 0 && ini->c != NULL &&
		    sim_conn_rx_from_file(ini->c, at, h->data_len);

	if (file && ffp && ini->neg.data_digest)
		ini_violation(ini,
			      "itt=%08x Data-In sent from a file on a "
			      "connection with DataDigest (its digest is of "
			      "the bytes when queued; conn_tx.c must copy)",
			      h->itt);
	if (op->in_seg && h->data_len > 0)
		op->in_seg(op->arg, op, h->w40, h->data_len, file);
}

static void rx_data_in(struct ini *ini, const struct iscsi_bhs *h,
		       const uint8_t *data)
{
	struct ini_op *op = ini_op_by_itt(ini, h->itt);
	uint32_t off = h->w40;
	bool status = (h->flags & ISCSI_DATAIN_F_STATUS) != 0;

	if (status)
		take_statsn(ini, h, true);
	update_window(ini, h);
	if (op == NULL || op->kind != INI_OP_SCSI || !op->dir_read) {
		ini_violation(ini, "Data-In for unknown or non-read itt %08x",
			      h->itt);
		return;
	}
	if (h->w36 != op->next_datasn)
		ini_violation(ini, "itt=%08x DataSN %u, expected %u", h->itt,
			      h->w36, op->next_datasn);
	op->next_datasn = h->w36 + 1;
	if (op->datain_pdus++ == 0 && op->first_in)
		op->first_in(op->arg, op);
	rx_data_in_file(ini, op, h);
	if (h->data_len > ini->neg.max_recv_dsl)
		ini_violation(ini, "Data-In of %u bytes > our MaxRecvDSL %u",
			      h->data_len, ini->neg.max_recv_dsl);
	/* RFC 7143 §13.13: a Data-In sequence (ended by the F bit) is at
	 * most MaxBurstLength. */
	op->seq_bytes += h->data_len;
	if (op->seq_bytes > ini->neg.max_burst)
		ini_violation(ini,
			      "itt=%08x Data-In sequence of %u bytes > "
			      "MaxBurstLength %u",
			      h->itt, op->seq_bytes, ini->neg.max_burst);
	if (h->flags & ISCSI_FLAG_FINAL)
		op->seq_bytes = 0;
	if ((uint64_t)off + h->data_len > op->edtl) {
		ini_violation(ini, "itt=%08x Data-In [%u,+%u) beyond EDTL %u",
			      h->itt, off, h->data_len, op->edtl);
	} else if (h->data_len > 0) {
		memcpy(op->in + off, data, h->data_len);
		if (off + h->data_len > op->in_len)
			op->in_len = off + h->data_len;
	}
	if (status) {
		op->response = 0;
		op->status = h->b3;
		scsi_finish(ini, op, h->flags, h->w44);
	}
}

static void rx_r2t(struct ini *ini, const struct iscsi_bhs *h)
{
	struct ini_op *op = ini_op_by_itt(ini, h->itt);
	uint32_t off = h->w40, len = h->w44;

	take_statsn(ini, h, false);
	update_window(ini, h);
	if (op == NULL || op->kind != INI_OP_SCSI || !op->dir_write) {
		ini_violation(ini, "R2T for unknown or non-write itt %08x",
			      h->itt);
		return;
	}
	if (op->vanish_at_r2t) {
		SIM_TRACE(ini->sim, "%s vanishes at R2T for itt=%08x",
			  ini->actor, op->itt);
		ini_vanish(ini);
		return;
	}
	/* RFC 7143 §11.8.3-4: 0xffffffff is no TTT; R2TSN counts a
	 * write command's R2Ts from 0 (next_datasn: a write has no
	 * Data-In to share it with). */
	if (h->w20 == ISCSI_RESERVED_TAG)
		ini_violation(ini,
			      "R2T itt=%08x with the reserved TTT ffffffff",
			      h->itt);
	if (h->w36 != op->next_datasn)
		ini_violation(ini, "R2T itt=%08x: R2TSN %u, expected %u",
			      h->itt, h->w36, op->next_datasn);
	op->next_datasn = h->w36 + 1;
	if (len > ini->neg.max_burst)
		ini_violation(ini, "R2T asks %u bytes > MaxBurstLength %u", len,
			      ini->neg.max_burst);
	if ((uint64_t)off + len > op->edtl || len == 0) {
		ini_violation(ini, "R2T [%u,+%u) outside EDTL %u", off, len,
			      op->edtl);
		return;
	}
	if (off < op->unsol_sent)
		ini_violation(ini, "R2T offset %u inside unsolicited data (%u)",
			      off, op->unsol_sent);
	if (ini->hold_r2t && ini->neg.max_r2t <= INI_HOLD_R2T_MAX) {
		/* RFC 7143 §13.17: at most MaxOutstandingR2T R2Ts of a task
		 * outstanding; ours are, until we answer them. */
		if (op->r2t_held >= ini->neg.max_r2t) {
			ini_violation(ini,
				      "itt=%08x R2T with %u outstanding "
				      "already (MaxOutstandingR2T %u)",
				      h->itt, op->r2t_held, ini->neg.max_r2t);
			return;
		}
		op->r2t_hold[op->r2t_held].ttt = h->w20;
		op->r2t_hold[op->r2t_held].off = off;
		op->r2t_hold[op->r2t_held].len = len;
		op->r2t_held++;
		op->r2t_ev.fn = r2t_release;
		sim_ev_at(ini->sim, &op->r2t_ev, ini->sim->now_ns + 2000000);
		return;
	}
	send_data_out(ini, op, h->w20, off, len);
	ini_tx_flush(ini);
}

/* RFC 7143 §11.18.5, §11.19.4: the answer to a ping returns its ping
 * data, as much of it as our MaxRecvDataSegmentLength takes. */
static void check_ping_echo(struct ini *ini, const struct ini_op *op,
			    const struct iscsi_bhs *h, const uint8_t *data)
{
	uint32_t want = op->out ? op->edtl : 0;

	if (want > ini->neg.max_recv_dsl)
		want = ini->neg.max_recv_dsl;
	if (h->data_len != want)
		ini_violation(ini,
			      "NOP-In itt=%08x echoes %u bytes of a ping of "
			      "%u (RFC 7143 §11.19.4)",
			      h->itt, h->data_len, want);
	else if (want > 0 && memcmp(data, op->out, want) != 0)
		ini_violation(ini,
			      "NOP-In itt=%08x echoes other bytes than the "
			      "ping data (RFC 7143 §11.19.4)",
			      h->itt);
}

/* A NOP-Out, Text, TMF or Logout whose forced CmdSN was certainly
 * outside the window or a duplicate is silently ignored (RFC 7143
 * §4.2.2.1): an answer to it is a violation (unless a flip hit it: a
 * digest error is answered otherwise). */
static void check_ignored_answered(struct ini *ini, const struct ini_op *op,
				   const char *what)
{
	if (!op->cmdsn_outside || op->kind == INI_OP_SCSI || op->corrupted)
		return;
	ini_violation(ini,
		      "%s itt=%08x answers a request whose CmdSN %u was %s: "
		      "RFC 7143 §4.2.2.1, a non-immediate request outside "
		      "[ExpCmdSN, MaxCmdSN] or a duplicate is silently ignored",
		      what, op->itt, op->cmdsn,
		      op->cmdsn_dup ? "a duplicate" : "outside the window");
}

static void rx_nop_in(struct ini *ini, const struct iscsi_bhs *h,
		      const uint8_t *data)
{
	update_window(ini, h);
	if (h->itt != ISCSI_RESERVED_TAG) {
		struct ini_op *op = ini_op_by_itt(ini, h->itt);

		take_statsn(ini, h, true);
		if (op == NULL || op->kind != INI_OP_NOP) {
			ini_violation(ini, "NOP-In for unknown itt %08x",
				      h->itt);
			return;
		}
		check_ignored_answered(ini, op, "NOP-In");
		check_ping_echo(ini, op, h, data);
		TAILQ_REMOVE(&ini->ops, op, link);
		ini_op_finish(ini, op, INI_DONE);
		return;
	}
	take_statsn(ini, h, false);
	if (h->w20 == ISCSI_RESERVED_TAG)
		return; /* no answer wanted */
	if (ini->event)
		ini->event(ini->hook_arg, ini, "nop-in");
	if (ini->ignore_nopin) {
		SIM_TRACE(ini->sim, "%s ignores NOP-In ttt=%08x", ini->actor,
			  h->w20);
		return;
	}
	{
		struct iscsi_bhs o;

		fill_common(ini, &o, ISCSI_OP_NOP_OUT, true,
			    ISCSI_RESERVED_TAG);
		o.flags = ISCSI_FLAG_FINAL;
		o.lun = h->lun;
		o.w20 = h->w20;
		o.w24 = ini->cmdsn;
		ini_send_pdu(ini, &o, NULL, 0);
		ini_tx_flush(ini);
	}
}

/* Ops a completed TMF aborted get no response of their own (RFC 7143
 * §11.5.1): finish them as ABORTED here. */
static void tmf_aborts(struct ini *ini, const struct ini_op *tmf)
{
	struct ini_op *op, *next;

	if (tmf->response != ISCSI_TMF_RSP_COMPLETE) {
		/* not concluded: a later release sends it */
		TAILQ_FOREACH (op, &ini->heldq, link) {
			if (tmf->tmf_fn == ISCSI_TMF_ABORT_TASK &&
			    op->gap_aborted && op->gap_abort_itt == tmf->itt)
				op->gap_aborted = false;
			if (op->gap_tmf && op->gap_tmf_itt == tmf->itt)
				op->gap_tmf = op->gap_tmf_all = false;
			if (op->gap_tmf_done && op->gap_tmf_all &&
			    op->gap_all_itt == tmf->itt)
				op->gap_tmf_all = false;
		}
		TAILQ_FOREACH (op, &ini->ops, link)
			if (op->gap_tmf && op->gap_tmf_itt == tmf->itt)
				op->gap_tmf = op->gap_tmf_all = false;
		return;
	}
	/* RFC 7143 §11.5.1: it acted on the commands held in a CmdSN gap
	 * below it, in its scope, too: one sent late, before this answer,
	 * must never be answered (nor run) */
	if (tmf->gap_answered)
		ini_violation(ini,
			      "itt=%08x was held in a CmdSN gap below TMF "
			      "itt=%08x (function %u, lun %u), sent after it, "
			      "and answered, yet the TMF completed: it acts on "
			      "all the commands of the session with a lower "
			      "CmdSN (RFC 7143 §11.5.1)",
			      tmf->gap_answered_itt, tmf->itt, tmf->tmf_fn,
			      (unsigned)tmf->lun);
	TAILQ_FOREACH (op, &ini->heldq, link)
		if (op->gap_tmf && op->gap_tmf_itt == tmf->itt) {
			SIM_TRACE(ini->sim,
				  "%s: held itt=%08x CmdSN %u aborted unsent "
				  "by TMF itt=%08x",
				  ini->actor, op->itt, op->cmdsn, tmf->itt);
			op->gap_tmf_done = true;
		}
	for (op = TAILQ_FIRST(&ini->ops); op != NULL; op = next) {
		next = TAILQ_NEXT(op, link);
		if (!op->gap_tmf || op->gap_tmf_itt != tmf->itt)
			continue;
		/* sent late, unanswered: concluded now */
		op->gap_tmf_done = true;
		TAILQ_REMOVE(&ini->ops, op, link);
		ini_op_finish(ini, op, INI_ABORTED);
	}
	for (op = TAILQ_FIRST(&ini->ops); op != NULL; op = next) {
		bool hit = false;

		next = TAILQ_NEXT(op, link);
		/* Only tasks sent before the TMF are in its scope; one whose
		 * CmdSN was outside the window was never a task. */
		if (op->kind != INI_OP_SCSI || op->send_seq > tmf->send_seq ||
		    op->cmdsn_outside)
			continue;
		switch (tmf->tmf_fn) {
		case ISCSI_TMF_ABORT_TASK:
			/* the task is I_T_L_Q: an ITT on another LUN is
			 * not it (SAM-5 §7.2: COMPLETE, nothing aborted) */
			hit = op->itt == tmf->ref_itt && op->lun == tmf->lun;
			break;
		case ISCSI_TMF_ABORT_TASK_SET:
		case ISCSI_TMF_CLEAR_TASK_SET:
		case ISCSI_TMF_LOGICAL_UNIT_RESET:
			hit = op->lun == tmf->lun;
			break;
		case ISCSI_TMF_TARGET_WARM_RESET:
		case ISCSI_TMF_TARGET_COLD_RESET:
			hit = true;
			break;
		}
		if (hit) {
			TAILQ_REMOVE(&ini->ops, op, link);
			ini_op_finish(ini, op, INI_ABORTED);
		}
	}
	/* RFC 7143 §11.5.1: an ABORT TASK of a command held back (never
	 * sent, its CmdSN before the TMF's) concludes it: the target
	 * considers its CmdSN received, and it is never sent.  Only one
	 * held when the TMF was sent (gap_aborted): one that took its
	 * CmdSN after, the window closed at the TMF's sending, was not
	 * below the TMF and the target took nothing for it; it stays held
	 * (explore seed 3521150781: concluded, it left a CmdSN hole). */
	for (op = TAILQ_FIRST(&ini->heldq);
	     tmf->tmf_fn == ISCSI_TMF_ABORT_TASK && op != NULL; op = next) {
		next = TAILQ_NEXT(op, link);
		if (op->itt != tmf->ref_itt || op->lun != tmf->lun ||
		    !op->gap_aborted || op->gap_abort_itt != tmf->itt)
			continue;
		SIM_TRACE(ini->sim, "%s: held itt=%08x CmdSN %u aborted unsent",
			  ini->actor, op->itt, op->cmdsn);
		TAILQ_REMOVE(&ini->heldq, op, link);
		ini_op_finish(ini, op, INI_ABORTED);
	}
}

/* RFC 7143 §13.12: a MaxRecvDataSegmentLength we declared in a Text
 * Request (`text send=MaxRecvDataSegmentLength=N`) and the target did
 * not answer Reject is our receive limit from its answer on: every PDU
 * after it is checked against it. */
static void text_declared_mrdsl(struct ini *ini, const struct ini_op *op)
{
	static const char key[] = "MaxRecvDataSegmentLength=";
	uint32_t off = 0;

	if (op->text_req == NULL)
		return;
	for (uint32_t i = 0; i < op->text_len;
	     i += (uint32_t)strlen(op->text + i) + 1)
		if (strncmp(op->text + i, key, sizeof(key) - 1) == 0 &&
		    strcmp(op->text + i + sizeof(key) - 1, "Reject") == 0)
			return;
	while (off < op->text_req_len) {
		const char *kv = op->text_req + off;
		size_t n = strnlen(kv, op->text_req_len - off);

		if (n > sizeof(key) - 1 &&
		    strncmp(kv, key, sizeof(key) - 1) == 0) {
			unsigned long v =
				strtoul(kv + sizeof(key) - 1, NULL, 10);

			if (v >= 512 && v <= 16777215)
				ini->neg.max_recv_dsl = (uint32_t)v;
		}
		off += (uint32_t)n + 1;
	}
}

/* RFC 7143 §11.14 (session.c ffp_logout): a Logout that closes the
 * connection is answered once the commands and TMFs the target received
 * before it are done, so their responses come first on this connection.
 * A command or TMF sent before the Logout and still without its answer
 * when the Logout Response arrives was dropped under it.  Not judged: a
 * command the target never counted as one (its CmdSN forced or outside
 * the window: ignored), one never sent whole (held back, a host that
 * vanished at its R2T, raw bytes), or one whose PDU was hit on the way
 * (a digest error ends it otherwise). */
static void logout_after_earlier(struct ini *ini, const struct ini_op *lo)
{
	const struct ini_op *op;

	TAILQ_FOREACH (op, &ini->ops, link) {
		if ((op->kind != INI_OP_SCSI && op->kind != INI_OP_TMF) ||
		    !op->sent || op->send_seq > lo->send_seq ||
		    op->cmdsn_forced || op->cmdsn_outside || op->hold ||
		    op->vanish_at_r2t || op->corrupted || op->data_out_flipped)
			continue;
		ini_violation(ini,
			      "Logout Response (connection closed) while "
			      "%s itt=%08x CmdSN %u, sent before the Logout, "
			      "is unanswered: RFC 7143 §11.14, the commands "
			      "before a Logout are answered first",
			      op->kind == INI_OP_SCSI ? "command" : "TMF",
			      op->itt, op->cmdsn);
		return;
	}
}

static void rx_simple_rsp(struct ini *ini, const struct iscsi_bhs *h,
			  const uint8_t *data)
{
	struct ini_op *op = ini_op_by_itt(ini, h->itt);

	take_statsn(ini, h, true);
	update_window(ini, h);
	if (op == NULL) {
		ini_violation(ini, "%s for unknown itt %08x",
			      ini_opcode_name(h->opcode), h->itt);
		return;
	}
	check_ignored_answered(ini, op, ini_opcode_name(h->opcode));
	op->response = h->b2;
	op->rsp_opcode = h->opcode;
	/* RFC 7143 §11.15.1: with one connection per session, closing a
	 * connection of another CID is "CID not found" (1), and at
	 * ErrorRecoveryLevel 0 (the only one we negotiate) removing one
	 * for recovery is "connection recovery is not supported" (2). */
	if (h->opcode == ISCSI_OP_LOGOUT_RSP &&
	    op->logout_reason != ISCSI_LOGOUT_CLOSE_SESSION) {
		uint8_t want = ISCSI_LOGOUT_RSP_RECOVERY_UNSUPPORTED;

		if (op->logout_reason == ISCSI_LOGOUT_CLOSE_CONNECTION)
			want = op->logout_cid < 0 || (uint16_t)op->logout_cid ==
							     ini->cid
				       ? ISCSI_LOGOUT_RSP_OK
				       : ISCSI_LOGOUT_RSP_CID_NOT_FOUND;
		if (h->b2 != want)
			ini_violation(ini,
				      "Logout-Rsp response %u to reason %u "
				      "(CID %u, ours %u): RFC 7143 §11.15.1 "
				      "wants %u",
				      h->b2, op->logout_reason,
				      op->logout_cid < 0 ? ini->cid
							 : op->logout_cid,
				      ini->cid, want);
	}
	/* RFC 7143 §11.15.2-3: Time2Wait and Time2Retain of a Logout
	 * Response, meaningful after responses 2 and 3 (the least wait
	 * before another logout) and 0 at ErrorRecoveryLevel 2, invalid
	 * after 1.  The target promises the session's DefaultTime2Wait and
	 * DefaultTime2Retain in them (docs/scenarios.md): exact for every
	 * response but 1 (mutant 596: the two exchanged).  Round of
	 * blind20. */
	if (h->opcode == ISCSI_OP_LOGOUT_RSP &&
	    h->b2 != ISCSI_LOGOUT_RSP_CID_NOT_FOUND &&
	    ((h->w40 >> 16) != ini->neg.time2wait ||
	     (h->w40 & 0xffff) != ini->neg.time2retain))
		ini_violation(ini,
			      "Logout-Rsp response %u says Time2Wait %u and "
			      "Time2Retain %u; the session negotiated "
			      "DefaultTime2Wait=%u DefaultTime2Retain=%u",
			      h->b2, h->w40 >> 16, h->w40 & 0xffff,
			      ini->neg.time2wait, ini->neg.time2retain);
	if (h->opcode == ISCSI_OP_TEXT_RSP) {
		/* RFC 7143 §11.11.2: without C (Continue) a Text Response
		 * ends a set of key=value pairs: its text ends with a NUL */
		if (!(h->flags & ISCSI_TEXT_F_CONTINUE) && h->data_len > 0 &&
		    data[h->data_len - 1] != '\0')
			ini_violation(ini,
				      "Text-Rsp without C ends inside a "
				      "key=value pair (%u bytes, last 0x%02x)",
				      h->data_len, data[h->data_len - 1]);
		ini_text_acc_add(ini, data, h->data_len);
		op->text_pieces++;
		/* RFC 7143 §11.10.4: F=0 (with a TTT) means more to come, an
		 * empty request with that TTT asks for it; an initiator that
		 * abandons the answer just stops asking. */
		if (!(h->flags & ISCSI_FLAG_FINAL) && !op->text_abandon) {
			struct iscsi_bhs o;

			fill_common(ini, &o, ISCSI_OP_TEXT_REQ, false, op->itt);
			o.flags = ISCSI_FLAG_FINAL;
			o.w20 = h->w20;
			/* a non-immediate request: it takes a CmdSN */
			o.w24 = ini->cmdsn++;
			cmdsn_sent(ini, o.w24);
			ini_send_pdu(ini, &o, NULL, 0);
			ini_tx_flush(ini);
			return;
		}
		op->text = malloc(ini->text_acc_len + 1);
		if (op->text == NULL)
			abort();
		memcpy(op->text, ini->text_acc ? ini->text_acc : "",
		       ini->text_acc_len);
		op->text[ini->text_acc_len] = '\0';
		op->text_len = ini->text_acc_len;
		ini->text_acc_len = 0;
		text_declared_mrdsl(ini, op);
	}
	if (h->opcode == ISCSI_OP_LOGOUT_RSP && h->b2 == ISCSI_LOGOUT_RSP_OK)
		logout_after_earlier(ini, op);
	TAILQ_REMOVE(&ini->ops, op, link);
	if (h->opcode == ISCSI_OP_TMF_RSP &&
	    op->tmf_fn == ISCSI_TMF_TARGET_COLD_RESET &&
	    h->b2 == ISCSI_TMF_RSP_COMPLETE)
		ini->cold_done = true;
	if (h->opcode == ISCSI_OP_TMF_RSP)
		tmf_aborts(ini, op);
	ini_op_finish(ini, op, INI_DONE);
	/* RFC 7143 §11.15: after the Logout Response the connection is
	 * done; the initiator closes its side.  A refused logout (CID not
	 * found, recovery not supported) leaves it in full feature phase. */
	if (h->opcode == ISCSI_OP_LOGOUT_RSP && h->b2 != ISCSI_LOGOUT_RSP_OK &&
	    ini->state == INI_S_LOGOUT)
		ini->state = INI_S_FFP;
	else if (h->opcode == ISCSI_OP_LOGOUT_RSP)
		ini_conn_lost(ini, "logged out");
}

static void rx_reject(struct ini *ini, const struct iscsi_bhs *h,
		      const uint8_t *data)
{
	uint32_t itt = h->data_len >= ISCSI_BHS_LEN ? get_be32(data + 16)
						    : ISCSI_RESERVED_TAG;
	struct ini_op *op = ini_op_by_itt(ini, itt);
	bool lose;

	take_statsn(ini, h, true);
	update_window(ini, h);
	SIM_TRACE(ini->sim, "%s <- Reject reason 0x%02x for itt=%08x",
		  ini->actor, h->b2, itt);
	if (h->b2 == ISCSI_REJECT_DATA_DIGEST && ini->data_flips == 0)
		ini_violation(ini, "Reject for a data digest error (02h), yet "
				   "no data segment of ours was corrupted: our "
				   "digests are right (RFC 7143 §7.8)");
	/* ErrorRecoveryLevel 0: a command that took a CmdSN, lost to a
	 * digest error, is not retried on this connection (its CmdSN would
	 * be a hole for ever): the connection goes, and the session with
	 * it.  An immediate PDU (a NOP-Out ping) leaves no hole: the
	 * connection stays, and nothing may answer the PDU rejected. */
	lose = h->b2 == ISCSI_REJECT_DATA_DIGEST &&
	       (h->data_len < ISCSI_BHS_LEN || !(data[0] & 0x40) ||
		(data[0] & ISCSI_OPCODE_MASK) == ISCSI_OP_SCSI_CMD);
	if (op == NULL && lose) {
		ini_conn_lost(ini, "a PDU of ours was rejected for its data "
				   "digest");
		return;
	}
	if (op != NULL && op->cmdsn_outside && !lose) {
		/* The command was ignored (RFC 7143 §4.2.2.1): the Data-Out
		 * that followed it names no task, and may be rejected; the
		 * command itself must not be. */
		if (h->data_len < ISCSI_BHS_LEN ||
		    (data[0] & ISCSI_OPCODE_MASK) != ISCSI_OP_DATA_OUT)
			ini_violation(
				ini,
				"itt=%08x CmdSN %u was %s, yet it was "
				"rejected (reason 0x%02x; RFC 7143 §4.2.2.1: "
				"silently ignored)",
				op->itt, op->cmdsn,
				op->cmdsn_dup ? "a duplicate"
					      : "outside the window",
				h->b2);
		op = NULL;
	}
	if (op != NULL && op->gap_tmf && !lose &&
	    h->data_len >= ISCSI_BHS_LEN &&
	    (data[0] & ISCSI_OPCODE_MASK) == ISCSI_OP_DATA_OUT) {
		/* Held below a TMF of ours in its scope and sent late while
		 * that TMF is unanswered: the target may have ignored the
		 * command as aborted (RFC 7143 §11.5.1), and the Data-Out
		 * after it names no task.  The TMF's answer concludes it. */
		op = NULL;
	}
	if (op != NULL && op->dataout_bad_sent && !lose &&
	    h->data_len >= ISCSI_BHS_LEN &&
	    (data[0] & ISCSI_OPCODE_MASK) == ISCSI_OP_DATA_OUT) {
		/* Our Data-Out out of sequence (misbehaviour): a protocol
		 * error (RFC 7143 §11.7.5, §11.7.6, §11.17.1: reason 04h).
		 * At ErrorRecoveryLevel 0 the command cannot get its data:
		 * session recovery, the command's fate unknown. */
		if (h->b2 != ISCSI_REJECT_PROTOCOL_ERROR)
			ini_violation(ini,
				      "itt=%08x our Data-Out with a wrong "
				      "DataSN or Buffer Offset was rejected "
				      "with reason 0x%02x, not 04h protocol "
				      "error (RFC 7143 §11.7.5, §11.7.6)",
				      op->itt, h->b2);
		ini_conn_lost(ini, "our Data-Out out of sequence was "
				   "rejected (session recovery)");
		return;
	}
	if (op == NULL) {
		if (ini->event)
			ini->event(ini->hook_arg, ini, "reject");
		return;
	}
	op->reject_reason = h->b2;
	/* the opcode of the PDU rejected (its header is the Reject's
	 * data): the command itself, or a Data-Out of it */
	op->reject_opcode = h->data_len >= ISCSI_BHS_LEN
				    ? (uint8_t)(data[0] & ISCSI_OPCODE_MASK)
				    : 0xff;
	TAILQ_REMOVE(&ini->ops, op, link);
	ini_op_finish(ini, op, INI_REJECTED);
	if (lose)
		ini_conn_lost(ini, "a PDU of ours was rejected for its data "
				   "digest");
}

static void rx_async(struct ini *ini, const struct iscsi_bhs *h)
{
	uint8_t event = (uint8_t)(h->w36 >> 24);

	take_statsn(ini, h, true);
	update_window(ini, h);
	SIM_TRACE(ini->sim, "%s <- Async event %u", ini->actor, event);
	if (ini->event)
		ini->event(ini->hook_arg, ini, "async");
	/* RFC 7143 §11.9.1: Parameter3 (bytes 42-43) of a Logout request is
	 * the time, in seconds, to log out within */
	if (event == ISCSI_ASYNC_LOGOUT_REQUEST && ini->logout_within_s &&
	    (h->w40 & 0xffff) != ini->logout_within_s)
		ini_violation(ini,
			      "Async Logout request gives Parameter3 %u, but "
			      "the target shuts down with %u s of grace: the "
			      "time to log out within, in seconds (RFC 7143 "
			      "§11.9.1)",
			      h->w40 & 0xffff, ini->logout_within_s);
	if (event == ISCSI_ASYNC_LOGOUT_REQUEST && ini->auto_logout &&
	    ini->state == INI_S_FFP) {
		struct ini_op *op = ini_op_new(ini, INI_OP_LOGOUT, NULL, NULL);

		op->user = UINT64_MAX; /* internal: freed on completion */
		ini_logout(ini, op);
	}
}

/* A RAW op answered by a PDU with its ITT. */
static bool rx_raw_answer(struct ini *ini, const struct iscsi_bhs *h)
{
	struct ini_op *op = ini_op_by_itt(ini, h->itt);

	if (op == NULL || op->kind != INI_OP_RAW)
		return false;
	/* the answer takes its StatSN as any other would (an R2T and a
	 * Data-In without status carry the next one, unadvanced) */
	take_statsn(ini, h,
		    h->opcode != ISCSI_OP_R2T &&
			    (h->opcode != ISCSI_OP_DATA_IN ||
			     (h->flags & ISCSI_DATAIN_F_STATUS)));
	update_window(ini, h);
	op->rsp_opcode = h->opcode;
	op->response = h->b2;
	op->status = h->b3;
	TAILQ_REMOVE(&ini->ops, op, link);
	ini_op_finish(ini, op, INI_DONE);
	return true;
}

void ini_rx_pdu(struct ini *ini, const struct iscsi_bhs *h, const uint8_t *data)
{
	SIM_TRACE(ini->sim,
		  "%s <- %-10s itt=%08x sn=%u exp=%u max=%u len=%u "
		  "b2=%02x b3=%02x",
		  ini->actor, ini_opcode_name(h->opcode), h->itt, h->w24,
		  h->w28, h->w32, h->data_len, h->b2, h->b3);
	if (ini->cold_done) {
		/* RFC 7143 §11.5.1: after the response to a TARGET COLD
		 * RESET, "the target MUST then close all of its TCP
		 * connections to all initiators" */
		ini_violation(ini,
			      "%s after the FUNCTION COMPLETE of our TARGET "
			      "COLD RESET: the target must close the "
			      "connection after that response (RFC 7143 "
			      "§11.5.1)",
			      ini_opcode_name(h->opcode));
		return;
	}
	if (h->opcode == ISCSI_OP_LOGIN_RSP) {
		ini_rx_login_rsp(ini, h, data);
		return;
	}
	if (ini->state == INI_S_LOGIN) {
		ini_violation(ini, "%s during login",
			      ini_opcode_name(h->opcode));
		return;
	}
	if (h->opcode != ISCSI_OP_REJECT && rx_raw_answer(ini, h))
		return;
	switch (h->opcode) {
	case ISCSI_OP_SCSI_RSP:
		rx_scsi_rsp(ini, h, data);
		break;
	case ISCSI_OP_DATA_IN:
		rx_data_in(ini, h, data);
		break;
	case ISCSI_OP_R2T:
		rx_r2t(ini, h);
		break;
	case ISCSI_OP_NOP_IN:
		rx_nop_in(ini, h, data);
		break;
	case ISCSI_OP_TMF_RSP:
	case ISCSI_OP_TEXT_RSP:
	case ISCSI_OP_LOGOUT_RSP:
		rx_simple_rsp(ini, h, data);
		break;
	case ISCSI_OP_REJECT:
		rx_reject(ini, h, data);
		break;
	case ISCSI_OP_ASYNC_MSG:
		rx_async(ini, h);
		break;
	default:
		ini_violation(ini, "unexpected opcode 0x%02x from target",
			      h->opcode);
		break;
	}
}
