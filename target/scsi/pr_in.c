/*
 * pr_in.c — PERSISTENT RESERVE IN (SPC-4 §6.15): READ KEYS, READ
 * RESERVATION, REPORT CAPABILITIES and READ FULL STATUS.
 *
 * Its own file because it only reads the reservation state (under the LU
 * lock) and encodes it; nothing here changes a registration, so the rules
 * of change stay together in pr.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "scsi/pr_int.h"
#include "scsi/scsi_int.h"

/* ------------------------------------------------------- PR IN */

#define PR_IN_MAX (8 + SCSI_PR_MAX_REGS * (24 + 4 + 256))

/* iSCSI TransportID, format 01b: "<name>,i,0x<isid>", padded to 4. */
static uint32_t put_transport_id(uint8_t *t, const struct scsi_pr_reg *r)
{
	char s[256];
	int n = snprintf(s, sizeof(s), "%s,i,0x%02x%02x%02x%02x%02x%02x",
			 r->initiator, r->isid[0], r->isid[1], r->isid[2],
			 r->isid[3], r->isid[4], r->isid[5]);
	uint32_t len = ((uint32_t)n + 1 + 3) & ~3u;

	/* A 223-byte name and the ISID fit; padded to four with a NUL. */
	ut_assert(n > 0 && (size_t)n < sizeof(s));
	ut_assert(len % 4 == 0 && len > (uint32_t)n);
	memset(t, 0, 4 + len);
	t[0] = 0x40 | PR_ISCSI_PROTO;
	put_be16(t + 2, (uint16_t)len);
	memcpy(t + 4, s, (size_t)n);
	return 4 + len;
}

static uint32_t pr_read_keys(const struct scsi_pr *pr, uint8_t *b)
{
	pr_check(pr);
	ut_assert(8 + 8 * pr->nregs <= PR_IN_MAX);
	put_be32(b, pr->generation);
	put_be32(b + 4, 8 * pr->nregs);
	for (unsigned int i = 0; i < pr->nregs; i++)
		put_be64(b + 8 + 8 * i, pr->regs[i].key);
	return 8 + 8 * pr->nregs;
}

static uint32_t pr_read_reservation(const struct scsi_pr *pr, uint8_t *b)
{
	pr_check(pr); /* holder < nregs: regs[holder] is a registration */
	put_be32(b, pr->generation);
	if (!pr->reserved)
		return 8;
	/* Pair with reg_add(): a holder's key is never 0. */
	ut_assert(type_all_reg(pr->type) || pr->regs[pr->holder].key != 0);
	put_be32(b + 4, 16);
	memset(b + 8, 0, 16);
	if (!type_all_reg(pr->type))
		put_be64(b + 8, pr->regs[pr->holder].key);
	b[21] = pr->type;
	ut_assert(get_be32(b + 4) + 8 == 24); /* ADDITIONAL LENGTH */
	return 24;
}

static uint32_t pr_report_caps(const struct scsi_lu *lu, uint8_t *b)
{
	bool ptpl = lu->pr.ptpl_capable;

	memset(b, 0, 8);
	put_be16(b, 8);
	/* CRH, SIP_C, ATP_C, PTPL_C */
	b[2] = (uint8_t)(0x10 | 0x08 | 0x04 | (ptpl ? 0x01 : 0));
	b[3] = (uint8_t)(0x80 | (lu->pr.aptpl ? 0x01 : 0)); /* TMV, PTPL_A */
	b[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02; /* types 7,6,5,3,1 */
	b[5] = 0x01;				 /* type 8 */
	return 8;
}

static uint32_t pr_full_status(const struct scsi_pr *pr, uint8_t *b)
{
	uint32_t len = 8;

	pr_check(pr);
	put_be32(b, pr->generation);
	for (unsigned int i = 0; i < pr->nregs; i++) {
		const struct scsi_pr_reg *r = &pr->regs[i];
		uint8_t *d = b + len;
		uint32_t tl;

		memset(d, 0, 24);
		put_be64(d, r->key);
		d[12] = (uint8_t)((r->all_tg_pt ? 0x02 : 0) |
				  (is_holder(pr, (int)i) ? 0x01 : 0));
		if (is_holder(pr, (int)i))
			d[13] = pr->type;
		put_be16(d + 18, r->rtp);
		tl = put_transport_id(d + 24, r);
		ut_assert(tl <= 4 + 256); /* the room PR_IN_MAX gives each */
		put_be32(d + 20, tl);
		len += 24 + tl;
	}
	ut_assert(len <= PR_IN_MAX);
	put_be32(b + 4, len - 8);
	return len;
}

/* PERSISTENT RESERVE IN: 1 SERVICE ACTION 4-0; 7..8 allocation length.
 * The length fields say the full size even when the allocation length
 * truncates the list (SPC-4 §6.15.2). */
enum scsi_rc spc_pr_in(struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = cmd->lu;
	uint8_t sa = cmd->cdb[1] & 0x1f;
	uint8_t *b;
	uint32_t len;

	if (sa > 3) {
		scsi_fail_cdb(cmd, 1, 4);
		return SCSI_RC_DONE;
	}
	b = calloc(1, PR_IN_MAX);
	if (!b) {
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		return SCSI_RC_DONE;
	}
	scsi_lu_lock(lu);
	switch (sa) {
	case 0:
		len = pr_read_keys(&lu->pr, b);
		break;
	case 1:
		len = pr_read_reservation(&lu->pr, b);
		break;
	case 2:
		len = pr_report_caps(lu, b);
		break;
	default:
		len = pr_full_status(&lu->pr, b);
		break;
	}
	ut_assert(len >= 8 && len <= PR_IN_MAX);
	scsi_lu_unlock(lu);
	scsi_data_in(cmd, b, len, get_be16(cmd->cdb + 7));
	free(b);
	ut_assert(cmd->data_in_len <= len);
	return SCSI_RC_DONE;
}
