/*
 * sbc_unit.c — the unit and its medium: START STOP UNIT, PREVENT ALLOW
 * MEDIUM REMOVAL, READ DEFECT DATA(10/12).
 *
 * A removable LU (RMB=1) has a medium that START STOP UNIT with LOEJ=1
 * ejects (START=0) or loads (START=1).  While no medium is loaded, every
 * command that reaches the medium ends with NOT READY, MEDIUM NOT PRESENT
 * (the dispatcher checks SCSI_CMD_MEDIUM).  An I_T nexus that issued
 * PREVENT ALLOW MEDIUM REMOVAL with PREVENT=01b blocks loading and
 * ejecting for everyone (SBC-4 §5.14: removal is prevented while any
 * nexus prevents it) until it allows again, its nexus is lost, or a
 * logical unit reset (SPC-4 §6.13).  On a non-removable LU these commands
 * are accepted and change nothing.
 */
#include "scsi/scsi_int.h"

static bool removal_prevented(const struct scsi_lu *lu)
{
	const struct scsi_itl *itl;

	LIST_FOREACH (itl, &lu->itls, lu_link) {
		ut_assert(itl->lu == lu);
		/* PREVENT is recorded only where there is a medium to keep. */
		ut_assert(!itl->prevent || lu->removable);
		if (itl->prevent)
			return true;
	}
	return false;
}

/* START STOP UNIT (SBC-4 §5.25): 1 IMMED 0; 3 POWER CONDITION MODIFIER;
 * 4 POWER CONDITION 7-4, NO_FLUSH 2, LOEJ 1, START 0.  A non-zero power
 * condition makes START and LOEJ ignored. */
enum scsi_rc sbc_start_stop_unit(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	const uint8_t *cdb = cmd->cdb;
	bool loej = cdb[4] & 0x02, start = cdb[4] & 0x01;

	if ((cdb[4] >> 4) != 0 || !loej || !lu->removable)
		return SCSI_RC_DONE;
	scsi_lu_lock(lu);
	if (removal_prevented(lu)) {
		scsi_lu_unlock(lu);
		scsi_fail(cmd, SK_ILLEGAL_REQUEST,
			  ASC_MEDIUM_REMOVAL_PREVENTED);
		return SCSI_RC_DONE;
	}
	lu->medium_loaded = start;
	/* Only a removable LU ever loses its medium. */
	ut_assert(lu->medium_loaded || lu->removable);
	scsi_lu_unlock(lu);
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	return SCSI_RC_DONE;
}

/* PREVENT ALLOW MEDIUM REMOVAL (SBC-4 §5.14): 4 PREVENT 1-0; 00b allow,
 * 01b prevent; 10b/11b concern medium changers: invalid here. */
enum scsi_rc sbc_prevent_allow(struct scsi_cmd *cmd)
{
	uint8_t prevent = cmd->cdb[4] & 0x03;

	if (prevent > 1) {
		scsi_fail_cdb(cmd, 4, 1);
		return SCSI_RC_DONE;
	}
	ut_assert(cmd->itl->lu == cmd->lu);
	if (cmd->lu->removable) {
		scsi_lu_lock(cmd->lu);
		cmd->itl->prevent = prevent == 1;
		scsi_lu_unlock(cmd->lu);
	}
	/* Pair: removal_prevented() sees PREVENT only on removable LUs. */
	ut_assert(!cmd->itl->prevent || cmd->lu->removable);
	return SCSI_RC_DONE;
}

/* READ DEFECT DATA(10) (SBC-4 §5.17): 2 REQ_PLIST 4, REQ_GLIST 3,
 * DEFECT LIST FORMAT 2-0; 7..8 alloc.  (12) (§5.18): the same in byte 1,
 * 6..9 alloc.  We have no defects: an empty list in the format asked,
 * with PLISTV/GLISTV saying which lists were returned. */
enum scsi_rc sbc_read_defect_data(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool twelve = cdb[0] == 0xb7;
	uint8_t req = twelve ? cdb[1] : cdb[2];
	uint8_t b[8];

	ut_assert(cdb[0] == 0x37 || cdb[0] == 0xb7);
	memset(b, 0, sizeof(b));
	b[1] = req & 0x1f;
	if (twelve)
		scsi_data_in(cmd, b, 8, get_be32(cdb + 6));
	else
		scsi_data_in(cmd, b, 4, get_be16(cdb + 7));
	/* An empty list: the header at most. */
	ut_assert(cmd->data_in_len <= (twelve ? 8u : 4u));
	return SCSI_RC_DONE;
}
