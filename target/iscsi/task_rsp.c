/*
 * task_rsp.c — a SCSI task's answer (RFC 7143 §11.4, §11.7): Data-In
 * sequences of at most MaxBurstLength, each PDU at most the initiator's
 * MaxRecvDataSegmentLength, with the status collapsed into the final
 * Data-In when there is no sense data (§11.7.4); otherwise the SCSI
 * Response, with its sense data; residual overflow and underflow
 * (§11.4.5) on whichever carries the status.  task.c runs the task and
 * calls iscsi_task_respond() once, when the SCSI layer (or a local
 * refusal) has decided; the task is freed when its last PDU is sent.
 */
#include <string.h>

#include "iscsi/iscsi_int.h"
#include "ut_assert.h"

/* The file reads in the order an answer is built; these come later. */
static void send_data_in(struct iscsi_conn *c, struct iscsi_task *t,
			 bool with_status);
static void send_scsi_rsp(struct iscsi_conn *c, struct iscsi_task *t);

void iscsi_task_respond(struct iscsi_task *t)
{
	struct iscsi_conn *c = t->sess->conn;
	bool collapse;

	/* answered once; a read's data fits what the initiator expects
	 * (the SCSI layer fills at most buf_cap = EDTL bytes) */
	ut_assert(!t->responded);
	ut_assert(t->cmd.dir != SCSI_DIR_READ || t->cmd.data_in_len <= t->edtl);
	iscsi_task_set_state(t, TASK_TX);
	collapse = t->cmd.status == SCSI_STATUS_GOOD && t->cmd.sense_len == 0;
	if (t->cmd.dir == SCSI_DIR_READ && t->cmd.data_in_len > 0) {
		/* RFC 7143 §11.7.4: status may ride on the final Data-In
		 * when there is no sense data. */
		send_data_in(c, t, collapse);
		if (!collapse && !c->closing)
			send_scsi_rsp(c, t);
	} else {
		send_scsi_rsp(c, t);
	}
	iscsi_task_answered(t);
	if (t->tx_refs == 0)
		iscsi_task_free(t);
}

static void fill_residual(const struct iscsi_task *t, struct iscsi_bhs *h,
			  uint8_t o_flag, uint8_t u_flag)
{
	const struct scsi_cmd *cmd = &t->cmd;
	uint64_t moved = cmd->dir == SCSI_DIR_READ ? cmd->data_in_len
						   : cmd->xfer_len;

	ut_assert(cmd->dir != SCSI_DIR_READ || cmd->data_in_len <= t->edtl);

	/* RFC 7143 §11.4.5: overflow when the command wanted more than the
	 * initiator expected, underflow when less moved than expected. */
	if (cmd->xfer_len > t->edtl) {
		h->flags |= o_flag;
		h->residual = (uint32_t)(cmd->xfer_len - t->edtl > UINT32_MAX
						 ? UINT32_MAX
						 : cmd->xfer_len - t->edtl);
	} else if (moved < t->edtl) {
		h->flags |= u_flag;
		h->residual = (uint32_t)(t->edtl - moved);
	}
	/* what the SCSI layer was given of a write is what came in */
	ut_assert(cmd->dir != SCSI_DIR_WRITE || cmd->data_out_len <= t->edtl);
}

static void send_data_in(struct iscsi_conn *c, struct iscsi_task *t,
			 bool with_status)
{
	struct iscsi_sess *s = t->sess;
	uint32_t len = t->cmd.data_in_len, off = 0, burst_left = s->p.max_burst;

	ut_assert(len <= t->edtl);
	ut_assert(t->state == TASK_TX);
	/* a reference holds exactly the Data-In, and only where asked for */
	ut_assert(!t->cmd.data_in_ref ||
		  (t->cmd.data_in_ref_ok && !c->data_digest &&
		   t->cmd.data_in_ref->length_bytes == len));
	while (off < len) {
		uint32_t seg = len - off;
		struct iscsi_txpdu *p;
		struct iscsi_bhs h = {0};
		bool last;

		if (seg > c->max_xmit_dsl)
			seg = c->max_xmit_dsl;
		if (seg > burst_left)
			seg = burst_left;
		last = off + seg == len;
		/* RFC 7143 §11.7: a non-empty segment inside the buffer */
		ut_assert(seg > 0);
		ut_assert((uint64_t)off + seg <= t->cmd.buf_cap);
		p = iscsi_txpdu_new(c, ISCSI_OP_DATA_IN);
		if (!p)
			return; /* iscsi_txpdu_new() closes the connection */
		iscsi_txpdu_set_data(p,
				     t->cmd.data_in_ref
					     ? t->cmd.data_in_ref->mem + off
					     : t->cmd.buf + off,
				     seg, NULL);
		/* the reference's bytes are a file's too: sent from there
		 * where the environment can (sendfile, no copy) */
		if (t->cmd.data_in_ref &&
		    t->cmd.data_in_ref->fd != BS_REF_NO_FD)
			iscsi_txpdu_set_file(c, p, t->cmd.data_in_ref->fd,
					     t->cmd.data_in_ref->fd_off + off);
		p->task = t;
		t->tx_refs++;
		h.opcode = ISCSI_OP_DATA_IN;
		burst_left -= seg;
		if (last || burst_left == 0) {
			h.flags |= ISCSI_FLAG_FINAL;
			burst_left = s->p.max_burst;
		}
		h.lun = iscsi_lun_encode(t->cmd.lun);
		h.itt = t->itt;
		h.ttt = ISCSI_RESERVED_TAG;
		h.data_sn = t->datain_sn++;
		h.buffer_offset = off;
		if (last && with_status) {
			h.flags |= ISCSI_DATAIN_F_STATUS;
			h.b3 = t->cmd.status;
			h.stat_sn = c->stat_sn++;
			fill_residual(t, &h, ISCSI_DATAIN_F_OVERFLOW,
				      ISCSI_DATAIN_F_UNDERFLOW);
		}
		iscsi_sess_fill_sn(s, &h);
		iscsi_conn_queue(c, p, &h);
		off += seg;
	}
}

static void send_scsi_rsp(struct iscsi_conn *c, struct iscsi_task *t)
{
	struct iscsi_txpdu *p = iscsi_txpdu_new(c, ISCSI_OP_SCSI_RSP);
	struct iscsi_bhs h = {0};

	ut_assert(t->state == TASK_TX);
	ut_assert(t->cmd.sense_len <= SCSI_SENSE_MAX);
	if (!p)
		return; /* iscsi_txpdu_new() closes the connection */
	if (t->cmd.sense_len) {
		/* RFC 7143 §11.4.7.2: SenseLength, then the sense data */
		put_be16(p->inl, t->cmd.sense_len);
		memcpy(p->inl + 2, t->cmd.sense, t->cmd.sense_len);
		iscsi_txpdu_set_data(p, p->inl, 2u + t->cmd.sense_len, NULL);
	}
	h.opcode = ISCSI_OP_SCSI_RSP;
	h.flags = ISCSI_FLAG_FINAL;
	h.b2 = 0; /* command completed at target */
	h.b3 = t->cmd.status;
	h.itt = t->itt;
	h.stat_sn = c->stat_sn++;
	h.exp_data_sn = t->datain_sn; /* ExpDataSN: Data-In PDUs sent */
	if (t->cmd.dir != SCSI_DIR_NONE || t->edtl)
		fill_residual(t, &h, ISCSI_RSP_F_OVERFLOW,
			      ISCSI_RSP_F_UNDERFLOW);
	iscsi_sess_fill_sn(t->sess, &h);
	iscsi_conn_queue(c, p, &h);
}
