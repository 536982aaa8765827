/*
 * scenario_order.c — the task attribute oracle (SAM-5 §8.6): what the
 * initiator can see of the order ORDERED and HEAD OF QUEUE promise.
 *
 * A command is enabled only once the older commands its attribute waits
 * for have completed:
 *
 *   SIMPLE          waits for every older ORDERED and HEAD OF QUEUE one
 *   ORDERED         waits for every older command
 *   HEAD OF QUEUE   waits for none
 *
 * so a younger command that waits for an older one cannot be answered
 * GOOD before it.  The simulator knows "older" for sure only within one
 * session, one LU and one connection: the target takes commands into the
 * task set in CmdSN order as their PDUs arrive (RFC 7143 §4.2.2.1) --
 * a write whose data the target solicits (R2T) included, which takes
 * its place when its command PDU is delivered, not when its data is in
 * (SAM-5 §8.6.3) -- and answers leave on the connection in the order
 * the commands completed.  Commands sent out of the CmdSN sequence
 * (immediate, misnumbered) are not judged: the target delivers them
 * out of that order, or ignores them.  Nor is an older command during
 * whose life a control step may have changed which LU its LUN names
 * (lun add, lun remove, acl): a write received while its LUN had no LU,
 * or whose nexus went while its data arrived, is executed as a command
 * arriving when its data is in (task.c iscsi_sess_withdraw_lun, scsi.c
 * accepted_resume), on whatever LU the LUN names then, after younger
 * commands may have run.
 *
 * Only answers GOOD are judged: a command refused before the task set
 * (a unit attention, a reservation conflict, BUSY...) or ended by a TMF
 * was never enabled, and TASK ABORTED may come at any time.  Commands
 * of different control-step epochs are not paired (an LU removed and
 * added again under the same LUN is another task set), nor is a younger
 * command during whose life a control step ran (explore seed
 * 90346623644: a REPORT LUNS to LUN 1 sent before `target lun remove 1`
 * arrived after it, met no LU, and was answered GOOD before the older
 * ORDERED READ of the removed LU).
 *
 * Kept per actor: a ring of its last ORDER_RING answers GOOD.  When an
 * older command is answered GOOD, every younger one of its session and
 * LU in the ring that waits for it was answered first: a failure.
 */
#include <stdio.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "scsi/scsi.h"
#include "scenario_int.h"

/* Does a command of attribute young wait for an older one of attribute
 * old (SAM-5 §8.6.2-8.6.4)? */
static bool waits_for(uint8_t young, uint8_t old)
{
	if (young == SCSI_TASK_HEAD_OF_QUEUE)
		return false;
	if (young == SCSI_TASK_ORDERED)
		return true;
	return old == SCSI_TASK_ORDERED || old == SCSI_TASK_HEAD_OF_QUEUE;
}

static const char *attr_name(uint8_t a)
{
	switch (a) {
	case SCSI_TASK_ORDERED:
		return "ORDERED";
	case SCSI_TASK_HEAD_OF_QUEUE:
		return "HEAD OF QUEUE";
	default:
		return "SIMPLE";
	}
}

/* Did the command enter the task set when its PDU arrived, in CmdSN
 * order (its data, solicited or not, may come later)? */
static bool entered_in_order(const struct ini_op *op)
{
	return !ini_op_misnumbered(op) && op->imm_over_sent == 0;
}

void order_on_done(struct runner *r, struct pend *p, const struct ini_op *op)
{
	struct actor *a = p->a;
	struct order_rec z;

	if (op->kind != INI_OP_SCSI || p->ls == NULL || a == NULL)
		return;
	if (op->outcome != INI_DONE || op->response != 0 ||
	    op->status != SCSI_STATUS_GOOD || ini_op_misnumbered(op))
		return;
	memset(&z, 0, sizeof(z));
	z.sess = p->sess;
	z.lun = p->lun;
	z.cmdsn = op->cmdsn;
	z.attr = p->attr;
	z.ctl_seq = p->ctl_seq;
	z.ctl_started = p->ctl_started;
	z.line = p->line;
	if (entered_in_order(op) && p->lun_map_steps == r->lun_map_steps) {
		for (unsigned int i = 0; i < a->order_n && i < ORDER_RING;
		     i++) {
			const struct order_rec *x = &a->order_ring[i];

			if (x->sess != z.sess || x->lun != z.lun ||
			    x->ctl_seq != z.ctl_seq ||
			    x->ctl_started != z.ctl_started)
				continue;
			/* x is younger (serial arithmetic: CmdSN wraps) */
			if ((int32_t)(x->cmdsn - z.cmdsn) <= 0)
				continue;
			if (!waits_for(x->attr, z.attr))
				continue;
			failf(r, p->line,
			      "%s: %s command (line %d, CmdSN %u) answered "
			      "GOOD before the older %s one (line %d, CmdSN "
			      "%u) of the same session and LUN %llu: SAM-5 "
			      "§8.6 enables it only once that one has "
			      "completed (seed %llu)",
			      a->name, attr_name(x->attr), x->line, x->cmdsn,
			      attr_name(z.attr), z.line, z.cmdsn,
			      (unsigned long long)z.lun,
			      (unsigned long long)r->seed);
			return;
		}
	}
	/* Kept as a younger one only if no control step ran while it was
	 * out: one that did (a LUN removed, added, its LU replaced) may have
	 * met another task set or none (REPORT LUNS and INQUIRY answer
	 * GOOD for a LUN that maps nothing), though it was sent in the
	 * older one's epoch. */
	if (r->ctl_running || p->ctl_seq != r->ctl_seq ||
	    p->ctl_started != r->ctl_started)
		return;
	a->order_ring[a->order_n % ORDER_RING] = z;
	a->order_n++;
}
