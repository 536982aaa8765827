/*
 * base.c — the bottom of the SCSI layer, used by every command set and by
 * reservations and ALUA: the Data-In copy, a nexus's write protection,
 * and unit attention queues (SAM-5 §5.14).
 *
 * Unit attention queue: up to SCSI_UA_QUEUE_MAX conditions per I_T_L,
 * reported oldest first (SAM-5 §5.14 permits queuing; the order is ours).
 * A condition equal to one already queued is not queued twice.  When the
 * queue is full the new condition is dropped and the queued ones kept,
 * except that a reset (ASC 29h) supersedes everything: SAM-5 says the
 * reset conditions replace the state the older conditions describe, so the
 * queue is emptied and holds just the reset.
 */
#include <stdio.h>
#include <string.h>

#include "scsi/scsi_int.h"

void scsi_data_in(struct scsi_cmd *cmd, const void *data, uint32_t len,
		  uint32_t alloc_len)
{
	uint32_t n = len < alloc_len ? len : alloc_len;

	ut_assert(data != NULL || len == 0);
	cmd->xfer_len = n;
	if (n > cmd->buf_cap)
		n = cmd->buf_cap;
	if (n && cmd->buf)
		memcpy(cmd->buf, data, n);
	else
		n = 0;
	cmd->data_in_len = n;
	/* SPC-4 §4.2.5.6: never past the allocation length, nor past the
	 * transport's buffer. */
	ut_assert(cmd->data_in_len <= cmd->xfer_len);
	ut_assert(cmd->data_in_len <= cmd->buf_cap);
}

bool scsi_itl_write_protected(const struct scsi_itl *itl)
{
	return itl->read_only || itl->lu->read_only || itl->lu->mode.swp;
}

/* Is [lba, lba + nblocks) inside the LU (SBC-4 §4.5)? */
bool sbc_lba_in_range(const struct scsi_lu *lu, uint64_t lba, uint64_t nblocks)
{
	return lba <= lu->nblocks && nblocks <= lu->nblocks - lba;
}

/* -------------------------------------------------- unit attentions */

/* The ring holds ua_count conditions from ua_head, no two alike. */
static bool ua_queue_ok(const struct scsi_itl *itl)
{
	if (itl->ua_head >= SCSI_UA_QUEUE_MAX ||
	    itl->ua_count > SCSI_UA_QUEUE_MAX)
		return false;
	for (unsigned int i = 0; i < itl->ua_count; i++) {
		uint16_t a =
			itl->ua[(itl->ua_head + i) % SCSI_UA_QUEUE_MAX].asc;

		for (unsigned int j = i + 1; j < itl->ua_count; j++) {
			if (itl->ua[(itl->ua_head + j) % SCSI_UA_QUEUE_MAX]
				    .asc == a)
				return false;
		}
	}
	return true;
}

void scsi_ua_clear(struct scsi_itl *itl)
{
	itl->ua_head = 0;
	itl->ua_count = 0;
}

void scsi_ua_add(struct scsi_itl *itl, uint16_t asc)
{
	unsigned int i;

	ut_assert(asc != ASC_NO_ADDITIONAL); /* a condition has a code */
	ut_assert_slow(ua_queue_ok(itl));
	if ((asc >> 8) == 0x29) {
		scsi_ua_clear(itl);
	} else {
		for (i = 0; i < itl->ua_count; i++) {
			if (itl->ua[(itl->ua_head + i) % SCSI_UA_QUEUE_MAX]
				    .asc == asc)
				return;
		}
		if (itl->ua_count == SCSI_UA_QUEUE_MAX) {
			LOG_DEBUG(itl->sess->env,
				  "scsi: lun %u: unit attention queue full, "
				  "dropping %04x",
				  itl->lun, asc);
			return;
		}
	}
	ut_assert(itl->ua_count < SCSI_UA_QUEUE_MAX);
	i = (itl->ua_head + itl->ua_count) % SCSI_UA_QUEUE_MAX;
	itl->ua[i].asc = asc;
	itl->ua_count++;
	/* A reset supersedes everything queued before it (SAM-5 §5.14). */
	ut_assert((asc >> 8) != 0x29 || itl->ua_count == 1);
	ut_assert_slow(ua_queue_ok(itl));
}

void scsi_ua_add_lu(struct scsi_lu *lu, const struct scsi_itl *skip,
		    uint16_t asc)
{
	struct scsi_itl *itl;

	LIST_FOREACH (itl, &lu->itls, lu_link) {
		if (itl != skip)
			scsi_ua_add(itl, asc);
	}
}

bool scsi_ua_pop(struct scsi_itl *itl, uint16_t *asc)
{
	ut_assert(itl->ua_head < SCSI_UA_QUEUE_MAX);
	ut_assert(itl->ua_count <= SCSI_UA_QUEUE_MAX);
	if (itl->ua_count == 0)
		return false;
	*asc = itl->ua[itl->ua_head].asc;
	ut_assert(*asc != ASC_NO_ADDITIONAL); /* pair: scsi_ua_add() */
	itl->ua_head = (itl->ua_head + 1) % SCSI_UA_QUEUE_MAX;
	itl->ua_count--;
	return true;
}
