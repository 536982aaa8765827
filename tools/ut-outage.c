/*
 * ut-outage — writes through a storage outage, then checks what the
 * target acknowledged (make test-rbd: the Ceph cluster stopped and started
 * again under I/O).
 *
 *   ut-outage write URL LBA SECONDS LOG   write block LBA, LBA+1, ...
 *       (each once, 8 blocks of the pattern of its LBA) for SECONDS; one
 *       line per command in LOG: "lba status key asc ms".  A command
 *       that takes longer than 120 s is a hang: exit 3.
 *   ut-outage verify URL LOG            read back every write the target
 *       reported GOOD; exit 1 if any differs (a lost acknowledged write).
 *
 * Prints a summary: commands, GOOD, failed with sense (by key/ASC),
 * longest command.  libiscsi reconnects by itself if the target drops
 * the connection; a write whose status never came is logged "lost".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define OUTAGE_BLOCKS 8
#define OUTAGE_HANG_S 120

static void pattern(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct iscsi_context *connect_url(const char *url, int *lun)
{
	struct iscsi_context *ctx =
		iscsi_create_context("iqn.2026-11.org.utarget:ut-outage");
	struct iscsi_url *u;

	if (!ctx)
		return NULL;
	u = iscsi_parse_full_url(ctx, url);
	if (!u) {
		fprintf(stderr, "ut-outage: bad URL %s\n", url);
		return NULL;
	}
	iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	if (iscsi_full_connect_sync(ctx, u->portal, u->lun) != 0) {
		fprintf(stderr, "ut-outage: login failed: %s\n",
			iscsi_get_error(ctx));
		iscsi_destroy_url(u);
		return NULL;
	}
	*lun = u->lun;
	iscsi_destroy_url(u);
	/* A sync command that takes longer fails instead of hanging us. */
	iscsi_set_timeout(ctx, OUTAGE_HANG_S);
	return ctx;
}

static int do_write(const char *url, uint64_t lba0, double secs,
		    const char *log)
{
	size_t len = OUTAGE_BLOCKS * 512;
	uint8_t *buf = malloc(len);
	FILE *f = fopen(log, "w");
	unsigned int n = 0, good = 0, failed = 0, lost = 0;
	double t_end = now_s() + secs, longest = 0;
	struct iscsi_context *ctx;
	int lun, rc = 0;

	ctx = connect_url(url, &lun);
	if (!ctx || !buf || !f)
		return 2;
	for (uint64_t lba = lba0; now_s() < t_end; lba += OUTAGE_BLOCKS) {
		struct scsi_task *t;
		double t0 = now_s(), dt;
		int key = 0, asc = 0;
		const char *st;

		pattern(buf, len, lba);
		t = iscsi_write16_sync(ctx, lun, lba, buf, (uint32_t)len, 512,
				       0, 0, 0, 0, 0);
		dt = now_s() - t0;
		if (dt > longest)
			longest = dt;
		n++;
		if (t && t->status == SCSI_STATUS_GOOD) {
			st = "good";
			good++;
		} else if (t && t->status == SCSI_STATUS_CHECK_CONDITION) {
			st = "sense";
			key = t->sense.key;
			asc = t->sense.ascq;
			failed++;
		} else {
			st = "lost";
			lost++;
		}
		fprintf(f, "%" PRIu64 " %s %x %04x %.0f\n", lba, st, key, asc,
			dt * 1000);
		fflush(f);
		if (t)
			scsi_free_scsi_task(t);
		if (dt > OUTAGE_HANG_S) {
			fprintf(stderr, "ut-outage: a write took %.0f s\n", dt);
			rc = 3;
			break;
		}
	}
	printf("ut-outage: %u writes: %u good, %u failed with sense, %u "
	       "without status; longest %.1f s\n",
	       n, good, failed, lost, longest);
	fclose(f);
	iscsi_logout_sync(ctx);
	iscsi_destroy_context(ctx);
	free(buf);
	return rc;
}

static int do_verify(const char *url, const char *log)
{
	size_t len = OUTAGE_BLOCKS * 512;
	uint8_t *buf = malloc(len);
	FILE *f = fopen(log, "r");
	unsigned int checked = 0, bad = 0;
	struct iscsi_context *ctx;
	char st[16], line[128];
	uint64_t lba;
	int lun;

	ctx = connect_url(url, &lun);
	if (!ctx || !buf || !f)
		return 2;
	while (fgets(line, sizeof(line), f)) {
		struct scsi_task *t;

		if (sscanf(line, "%" SCNu64 " %15s", &lba, st) != 2 ||
		    strcmp(st, "good"))
			continue;
		pattern(buf, len, lba);
		t = iscsi_read16_sync(ctx, lun, lba, (uint32_t)len, 512, 0, 0,
				      0, 0, 0);
		checked++;
		if (!t || t->status != SCSI_STATUS_GOOD ||
		    t->datain.size != (int)len ||
		    memcmp(t->datain.data, buf, len)) {
			fprintf(stderr,
				"ut-outage: acknowledged write at LBA %" PRIu64
				" is not on the medium\n",
				lba);
			bad++;
		}
		if (t)
			scsi_free_scsi_task(t);
	}
	printf("ut-outage: %u acknowledged writes read back, %u differ\n",
	       checked, bad);
	fclose(f);
	iscsi_logout_sync(ctx);
	iscsi_destroy_context(ctx);
	free(buf);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "write"))
		return do_write(argv[2], strtoull(argv[3], NULL, 0),
				strtod(argv[4], NULL), argv[5]);
	if (argc == 4 && !strcmp(argv[1], "verify"))
		return do_verify(argv[2], argv[3]);
	fprintf(stderr, "usage: ut-outage write URL LBA SECONDS LOG\n"
			"       ut-outage verify URL LOG\n");
	return 2;
}
