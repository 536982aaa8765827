/*
 * ut-live — one libiscsi session that keeps doing I/O while the target is
 * reconfigured, and reports what it saw (conformance/control-test).
 *
 *   ut-live URL INITIATOR LUNS STATUS STOP
 *
 * URL is iscsi://HOST:PORT/IQN/0; LUNS a comma list (LUNs that do not
 * exist yet are probed too).  Each cycle READs 8 blocks from every LUN and
 * WRITEs 8 blocks to LUN 0, then writes "cycle N" to STATUS; the run ends
 * when the file STOP exists.  Automatic reconnection is off: a dropped
 * connection ends the run with "disconnected" and exit status 1.
 *
 * Output, one event per line, in order:
 *   ua LUN ASC ASCQ         a UNIT ATTENTION (after the start-up ones)
 *   nolun LUN               LOGICAL UNIT NOT SUPPORTED (once per change
 *                           of a LUN's presence)
 *   aborted LUN             TASK ABORTED status
 *   error LUN TEXT          anything else that was not GOOD
 *   cycles N                at the end
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define MAX_LUNS 16

static int parse_luns(const char *s, int *luns)
{
	int n = 0;

	while (*s && n < MAX_LUNS) {
		luns[n++] = (int)strtol(s, (char **)&s, 10);
		if (*s == ',')
			s++;
	}
	return n;
}

/* Classify one finished command; false when the connection is gone. */
static int account(struct iscsi_context *ctx, struct scsi_task *t, int lun,
		   int *present, int quiet)
{
	if (!t) {
		printf("disconnected %s\n", iscsi_get_error(ctx));
		return 0;
	}
	if (t->status == SCSI_STATUS_GOOD) {
		present[lun] = 1;
	} else if (t->status == SCSI_STATUS_CHECK_CONDITION &&
		   t->sense.key == SCSI_SENSE_UNIT_ATTENTION) {
		if (!quiet)
			printf("ua %d %02x %02x\n", lun, t->sense.ascq >> 8,
			       t->sense.ascq & 0xff);
		present[lun] = 1;
	} else if (t->status == SCSI_STATUS_CHECK_CONDITION &&
		   t->sense.key == SCSI_SENSE_ILLEGAL_REQUEST &&
		   t->sense.ascq == 0x2500) {
		if (present[lun] != 0 && !quiet)
			printf("nolun %d\n", lun);
		present[lun] = 0;
	} else if (t->status == SCSI_STATUS_TASK_ABORTED) {
		printf("aborted %d\n", lun);
	} else if (t->status == SCSI_STATUS_ERROR ||
		   t->status == SCSI_STATUS_CANCELLED) {
		printf("disconnected %s\n", iscsi_get_error(ctx));
		scsi_free_scsi_task(t);
		return 0;
	} else {
		printf("error %d status=0x%x key=%d ascq=0x%04x\n", lun,
		       t->status, t->sense.key, t->sense.ascq);
	}
	scsi_free_scsi_task(t);
	fflush(stdout);
	return 1;
}

int main(int argc, char **argv)
{
	struct iscsi_context *ctx;
	struct iscsi_url *u;
	int luns[MAX_LUNS], present[256], nluns;
	unsigned char buf[8 * 512];
	unsigned long cycles = 0;
	char tmp_status[4096];

	if (argc != 6) {
		fprintf(stderr,
			"usage: ut-live URL INITIATOR LUNS STATUS STOP\n");
		return 2;
	}
	snprintf(tmp_status, sizeof(tmp_status), "%s.tmp", argv[4]);
	nluns = parse_luns(argv[3], luns);
	memset(present, -1, sizeof(present));
	memset(buf, 0x5a, sizeof(buf));
	ctx = iscsi_create_context(argv[2]);
	u = ctx ? iscsi_parse_full_url(ctx, argv[1]) : NULL;
	if (!u) {
		fprintf(stderr, "ut-live: bad URL %s\n", argv[1]);
		return 2;
	}
	iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_targetname(ctx, u->target);
	iscsi_set_noautoreconnect(ctx, 1);
	if (iscsi_full_connect_sync(ctx, u->portal, u->lun)) {
		fprintf(stderr, "ut-live: login failed: %s\n",
			iscsi_get_error(ctx));
		return 2;
	}
	/* The start-up conditions (POWER ON, RESET on every nexus) are not
	 * what the test is about: consumed quietly. */
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < nluns; i++)
			if (!account(ctx,
				     iscsi_testunitready_sync(ctx, luns[i]),
				     luns[i], present, 1))
				return 1;
	while (access(argv[5], F_OK) != 0) {
		FILE *st;

		for (int i = 0; i < nluns; i++) {
			uint32_t lba = (uint32_t)((cycles * 8) % 1024);

			if (!account(ctx,
				     iscsi_read10_sync(ctx, luns[i], lba,
						       sizeof(buf), 512, 0, 0,
						       0, 0, 0),
				     luns[i], present, 0))
				return 1;
			if (luns[i] == 0 &&
			    !account(ctx,
				     iscsi_write10_sync(ctx, 0, lba, buf,
							sizeof(buf), 512, 0, 0,
							0, 0, 0),
				     0, present, 0))
				return 1;
		}
		cycles++;
		/* Written aside and renamed: a reader never finds the file
		 * empty (it did, and read the count as 0). */
		st = fopen(tmp_status, "w");
		if (st) {
			fprintf(st, "cycle %lu\n", cycles);
			if (fclose(st) == 0)
				rename(tmp_status, argv[4]);
		}
		usleep(2000);
	}
	printf("cycles %lu\n", cycles);
	iscsi_logout_sync(ctx);
	iscsi_destroy_context(ctx);
	iscsi_destroy_url(u);
	return 0;
}
