/*
 * pr_int.h — what the three files of persistent reservations share: the
 * reservation types, who holds a reservation, and the invariants of
 * struct scsi_pr (scsi_int.h) that each of them asserts.
 *
 * PR is split by what a file does with the state: pr.c changes it (the
 * registrations and PERSISTENT RESERVE OUT) and decides conflicts,
 * pr_in.c reports it (PERSISTENT RESERVE IN), pr_aptpl.c keeps it across
 * power loss (APTPL).  The predicates are small and called on every
 * command that a reservation may block, so they are static inline here
 * rather than calls into pr.c.
 */
#ifndef UT_SCSI_PR_INT_H
#define UT_SCSI_PR_INT_H

#include <strings.h>

#include "scsi/scsi_int.h"

#define PR_ISCSI_PROTO 0x5 /* PROTOCOL IDENTIFIER of iSCSI (SPC-4 §7.6.1) */

static inline bool type_valid(uint8_t t)
{
	return t == 1 || t == 3 || t == 5 || t == 6 || t == 7 || t == 8;
}

static inline bool type_all_reg(uint8_t t)
{
	return t == 7 || t == 8;
}
static inline bool type_reg_only(uint8_t t)
{
	return t == 5 || t == 6;
}

/*
 * The state every PR command leaves behind (and the APTPL loader accepts):
 * registrations within the table, each with a key (key 0 means "not
 * registered", SPC-4 §5.12.7); a reservation of a valid type whose holder
 * is a registration (or, for the all-registrants types, at least one
 * registrant).
 */
static inline void pr_check(const struct scsi_pr *pr)
{
	ut_assert(pr->nregs <= SCSI_PR_MAX_REGS);
	ut_assert(!pr->reserved || type_valid(pr->type));
	ut_assert(!pr->reserved || type_all_reg(pr->type) ||
		  pr->holder < pr->nregs);
	ut_assert(!pr->reserved || pr->nregs > 0);
}

/* Expensive half: keys set, and one registration per I_T nexus. */
static inline bool pr_regs_ok(const struct scsi_pr *pr)
{
	for (unsigned int i = 0; i < pr->nregs; i++) {
		const struct scsi_pr_reg *r = &pr->regs[i];

		if (r->key == 0)
			return false;
		for (unsigned int j = i + 1; j < pr->nregs; j++) {
			const struct scsi_pr_reg *q = &pr->regs[j];

			if (strcasecmp(r->initiator, q->initiator) == 0 &&
			    memcmp(r->isid, q->isid, sizeof(r->isid)) == 0 &&
			    (r->rtp == q->rtp || r->all_tg_pt || q->all_tg_pt))
				return false;
		}
	}
	return true;
}

static inline bool is_holder(const struct scsi_pr *pr, int idx)
{
	ut_assert(idx < (int)pr->nregs); /* reg_find()'s answer, or -1 */
	if (!pr->reserved || idx < 0)
		return false;
	return type_all_reg(pr->type) || pr->holder == (unsigned int)idx;
}

/* pr_aptpl.c: after every change, keep the durable copy in step;
 * 0 or -errno (nothing was kept: the caller rolls the change back). */
int scsi_pr_save(struct scsi_lu *lu, bool was_aptpl);

#endif /* UT_SCSI_PR_INT_H */
