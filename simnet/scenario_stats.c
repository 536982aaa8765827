/*
 * scenario_stats.c — what `explore --stats` counts: every sent CDB filed
 * under its row of the target's own opcode table (opcodes.c, so that a
 * supported command never sent shows as zero), the rows' names, and the
 * names of the fault classes.
 *
 * The boundary: counting is the explorer's view of a run and judges
 * nothing; the verbs (scenario_verbs.c) call cmds_count() once per sent
 * CDB, and explore_run.c prints the table.
 */
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "model.h"
#include "scenario_int.h"
#include "scsi/scsi_int.h"

/* ------------------------------------------------------- statistics */

static const struct {
	uint8_t op;
	uint8_t sa;
	const char *name;
} op_names[] = {
	{0x00, 0, "TEST UNIT READY"},
	{0x03, 0, "REQUEST SENSE"},
	{0x08, 0, "READ(6)"},
	{0x0a, 0, "WRITE(6)"},
	{0x12, 0, "INQUIRY"},
	{0x15, 0, "MODE SELECT(6)"},
	{0x16, 0, "RESERVE(6)"},
	{0x17, 0, "RELEASE(6)"},
	{0x1a, 0, "MODE SENSE(6)"},
	{0x1b, 0, "START STOP UNIT"},
	{0x1e, 0, "PREVENT ALLOW MEDIUM REMOVAL"},
	{0x25, 0, "READ CAPACITY(10)"},
	{0x28, 0, "READ(10)"},
	{0x2a, 0, "WRITE(10)"},
	{0x2e, 0, "WRITE AND VERIFY(10)"},
	{0x2f, 0, "VERIFY(10)"},
	{0x34, 0, "PRE-FETCH(10)"},
	{0x35, 0, "SYNCHRONIZE CACHE(10)"},
	{0x37, 0, "READ DEFECT DATA(10)"},
	{0x41, 0, "WRITE SAME(10)"},
	{0x42, 0, "UNMAP"},
	{0x48, 0x01, "SANITIZE OVERWRITE"},
	{0x48, 0x02, "SANITIZE BLOCK ERASE"},
	{0x48, 0x03, "SANITIZE CRYPTOGRAPHIC ERASE"},
	{0x48, 0x1f, "SANITIZE EXIT FAILURE MODE"},
	{0x55, 0, "MODE SELECT(10)"},
	{0x56, 0, "RESERVE(10)"},
	{0x57, 0, "RELEASE(10)"},
	{0x5a, 0, "MODE SENSE(10)"},
	{0x5e, 0x00, "PR IN READ KEYS"},
	{0x5e, 0x01, "PR IN READ RESERVATION"},
	{0x5e, 0x02, "PR IN REPORT CAPABILITIES"},
	{0x5e, 0x03, "PR IN READ FULL STATUS"},
	{0x5f, 0x00, "PR OUT REGISTER"},
	{0x5f, 0x01, "PR OUT RESERVE"},
	{0x5f, 0x02, "PR OUT RELEASE"},
	{0x5f, 0x03, "PR OUT CLEAR"},
	{0x5f, 0x04, "PR OUT PREEMPT"},
	{0x5f, 0x05, "PR OUT PREEMPT AND ABORT"},
	{0x5f, 0x06, "PR OUT REGISTER AND IGNORE"},
	{0x5f, 0x07, "PR OUT REGISTER AND MOVE"},
	{0x83, 0x00, "EXTENDED COPY(LID1)"},
	{0x84, 0x00, "RECEIVE COPY RESULTS COPY STATUS"},
	{0x84, 0x03, "RECEIVE COPY RESULTS OPERATING PARAMETERS"},
	{0x88, 0, "READ(16)"},
	{0x89, 0, "COMPARE AND WRITE"},
	{0x8a, 0, "WRITE(16)"},
	{0x8b, 0, "ORWRITE(16)"},
	{0x8e, 0, "WRITE AND VERIFY(16)"},
	{0x8f, 0, "VERIFY(16)"},
	{0x90, 0, "PRE-FETCH(16)"},
	{0x91, 0, "SYNCHRONIZE CACHE(16)"},
	{0x93, 0, "WRITE SAME(16)"},
	{0x9c, 0, "WRITE ATOMIC(16)"},
	{0x9e, 0x10, "READ CAPACITY(16)"},
	{0x9e, 0x12, "GET LBA STATUS"},
	{0xa0, 0, "REPORT LUNS"},
	{0xa3, 0x0a, "REPORT TARGET PORT GROUPS"},
	{0xa3, 0x0c, "REPORT SUPPORTED OPERATION CODES"},
	{0xa3, 0x0d, "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS"},
	{0xa4, 0x0a, "SET TARGET PORT GROUPS"},
	{0xa8, 0, "READ(12)"},
	{0xaa, 0, "WRITE(12)"},
	{0xae, 0, "WRITE AND VERIFY(12)"},
	{0xaf, 0, "VERIFY(12)"},
	{0xb7, 0, "READ DEFECT DATA(12)"},
};

unsigned int scn_op_rows(void)
{
	return scsi_opcode_count < SCN_STAT_OPS - 1 ? scsi_opcode_count
						    : SCN_STAT_OPS - 1;
}

const char *scn_op_row_name(unsigned int row, char *buf, size_t cap)
{
	const struct scsi_opcode_desc *d;
	const char *name = "?";

	if (row >= scn_op_rows()) {
		snprintf(buf, cap, "(opcodes the target does not support)");
		return buf;
	}
	d = &scsi_opcodes[row];
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (op_names[i].op == d->opcode &&
		    (!d->has_sa || op_names[i].sa == d->sa))
			name = op_names[i].name;
	if (d->has_sa)
		snprintf(buf, cap, "%02Xh/%02Xh %s", d->opcode, d->sa, name);
	else
		snprintf(buf, cap, "%02Xh %s", d->opcode, name);
	return buf;
}

const char *scn_fault_name(enum scn_fault f)
{
	static const char *const n[SCN_FAULTS] = {
		"net (delay, jitter, chunking, partial I/O)",
		"partition",
		"stall",
		"rst",
		"disconnect",
		"vanish",
		"fin (half close)",
		"reconnect",
		"disk eio",
		"disk latency",
		"disk remote (tails, timeouts)",
		"disk away",
		"target crash",
		"live reconfiguration",
		"target oom (allocations failed)",
	};

	return (unsigned int)f < SCN_FAULTS ? n[f] : "?";
}

/* The row of cdb in the target's table (SERVICE ACTION in byte 1, bits
 * 4-0, for the opcodes that have one), else the last bucket. */
static unsigned int op_row(const uint8_t *cdb)
{
	for (unsigned int i = 0; i < scn_op_rows(); i++) {
		const struct scsi_opcode_desc *d = &scsi_opcodes[i];

		if (d->opcode == cdb[0] &&
		    (!d->has_sa || d->sa == (cdb[1] & 0x1f)))
			return i;
	}
	return SCN_STAT_OPS - 1;
}

void cmds_count(struct runner *r, const uint8_t *cdb)
{
	r->res->op_count[op_row(cdb)]++;
}
