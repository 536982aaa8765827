/*
 * reserve.c — SPC-2 reservations (RESERVE/RELEASE 6 and 10) and the
 * reservation conflict check every command passes through.
 *
 * SPC-2 §7.21-7.24 (kept by SPC-4 only by reference): one I_T nexus may
 * reserve the whole LU; every other nexus then gets RESERVATION CONFLICT
 * for all but INQUIRY, REPORT LUNS, REQUEST SENSE, RELEASE and the
 * reporting commands (SCSI_CMD_RES_OK).  RELEASE by a nexus that does not
 * hold the reservation is GOOD and changes nothing.  The reservation ends
 * with RELEASE, the loss of the nexus, or a logical unit reset.  While
 * persistent reservation registrations exist, RESERVE and RELEASE end in
 * RESERVATION CONFLICT (SPC-4 §5.12.3).
 */
#include "scsi/scsi_int.h"

static bool reject_third_party(struct scsi_cmd *cmd)
{
	ut_assert(cmd->cdb[0] == 0x16 || cmd->cdb[0] == 0x17 ||
		  cmd->cdb[0] == 0x56 || cmd->cdb[0] == 0x57);
	/* RESERVE/RELEASE(10) byte 1: 3RDPTY 4, LONGID 1; (6): obsolete
	 * extent fields.  Third-party reservations are not supported. */
	if (cmd->cdb[0] == 0x56 || cmd->cdb[0] == 0x57) {
		if (cmd->cdb[1] & 0x12) {
			scsi_fail_cdb(cmd, 1, (cmd->cdb[1] & 0x10) ? 4 : 1);
			return true;
		}
	} else if (cmd->cdb[1] & 0x1f) {
		scsi_fail_cdb(cmd, 1, -1);
		return true;
	}
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	return false;
}

enum scsi_rc spc_reserve(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;

	if (reject_third_party(cmd))
		return SCSI_RC_DONE;
	scsi_lu_lock(lu);
	if (scsi_pr_has_registrations(lu) ||
	    (lu->spc2_holder && lu->spc2_holder != cmd->itl))
		cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
	else if (!cmd->itl->detached)
		lu->spc2_holder = cmd->itl;
	/* (A RESERVE that reaches its turn after its LUN was unmapped,
	 * scsi_sess_unmap, holds nothing: the reservation of a nexus ends
	 * with the nexus, and no later command can come through it.
	 * Taking it would leave the LU reserved to a freed nexus.) */
	/* SPC-4 §5.12.3: never both kinds of reservation at once; and the
	 * holder is a mapping of this very LU, one that still exists. */
	ut_assert(lu->spc2_holder == NULL || lu->pr.nregs == 0);
	ut_assert(lu->spc2_holder == NULL || lu->spc2_holder->lu == lu);
	ut_assert(lu->spc2_holder == NULL || !lu->spc2_holder->detached);
	scsi_lu_unlock(lu);
	return SCSI_RC_DONE;
}

enum scsi_rc spc_release(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;

	if (reject_third_party(cmd))
		return SCSI_RC_DONE;
	scsi_lu_lock(lu);
	if (scsi_pr_has_registrations(lu))
		cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
	else if (lu->spc2_holder == cmd->itl)
		lu->spc2_holder = NULL;
	/* RELEASE leaves another nexus's reservation alone (SPC-2 §7.21). */
	ut_assert(lu->spc2_holder != cmd->itl ||
		  cmd->status == SCSI_STATUS_RESERVATION_CONFLICT);
	ut_assert(lu->spc2_holder == NULL || lu->pr.nregs == 0);
	scsi_lu_unlock(lu);
	return SCSI_RC_DONE;
}

/* Called with the LU lock held. */
bool scsi_res_conflict(const struct scsi_cmd *cmd, uint8_t flags)
{
	const struct scsi_lu *lu = cmd->lu;

	ut_assert(cmd->itl->lu == lu);
	ut_assert(lu->spc2_holder == NULL || lu->spc2_holder->lu == lu);
	if (lu->spc2_holder && lu->spc2_holder != cmd->itl &&
	    !(flags & SCSI_CMD_RES_OK))
		return true;
	return scsi_pr_conflict(cmd, flags);
}

/* Called with the LU lock held. */
void scsi_res_nexus_gone(struct scsi_itl *itl)
{
	if (itl->lu->spc2_holder == itl)
		itl->lu->spc2_holder = NULL;
	itl->prevent = false;
	/* Nothing of the lost nexus may hold the LU afterwards. */
	ut_assert(itl->lu->spc2_holder != itl);
}

/* Called with the LU lock held. */
void scsi_res_lu_reset(struct scsi_lu *lu)
{
	struct scsi_itl *itl;

	lu->spc2_holder = NULL;
	LIST_FOREACH (itl, &lu->itls, lu_link) {
		ut_assert(itl->lu == lu);
		itl->prevent = false;
	}
}
