/*
 * ut-io — a small libiscsi initiator for tests: write or read blocks at an
 * LBA with a reproducible pattern, or dump them, so that a script can
 * check data end to end through an initiator independent of utarget.
 *
 *   ut-io write URL LBA NBLOCKS SEED     write the pattern of SEED
 *   ut-io check URL LBA NBLOCKS SEED     read back, exit 1 on mismatch
 *   ut-io pattern NBYTES SEED            print the pattern to stdout
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

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

static struct iscsi_context *connect_url(const char *url, int *lun)
{
	struct iscsi_context *ctx =
		iscsi_create_context("iqn.2026-11.org.utarget:ut-io");
	struct iscsi_url *u;

	if (!ctx)
		return NULL;
	u = iscsi_parse_full_url(ctx, url);
	if (!u) {
		fprintf(stderr, "ut-io: bad URL %s: %s\n", url,
			iscsi_get_error(ctx));
		return NULL;
	}
	iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	if (iscsi_full_connect_sync(ctx, u->portal, u->lun) != 0) {
		fprintf(stderr, "ut-io: login failed: %s\n",
			iscsi_get_error(ctx));
		iscsi_destroy_url(u);
		return NULL;
	}
	*lun = u->lun;
	iscsi_destroy_url(u);
	return ctx;
}

int main(int argc, char **argv)
{
	struct iscsi_context *ctx;
	struct scsi_task *task;
	uint64_t lba, seed;
	uint32_t nblocks, bs = 512;
	uint8_t *buf;
	int lun, rc = 0;

	if (argc == 4 && !strcmp(argv[1], "pattern")) {
		size_t n = strtoull(argv[2], NULL, 0);

		buf = malloc(n);
		pattern(buf, n, strtoull(argv[3], NULL, 0));
		fwrite(buf, 1, n, stdout);
		return 0;
	}
	if (argc != 6) {
		fprintf(stderr,
			"usage: ut-io write|check URL LBA NBLOCKS SEED\n"
			"       ut-io pattern NBYTES SEED\n");
		return 2;
	}
	lba = strtoull(argv[3], NULL, 0);
	nblocks = (uint32_t)strtoul(argv[4], NULL, 0);
	seed = strtoull(argv[5], NULL, 0);
	ctx = connect_url(argv[2], &lun);
	if (!ctx)
		return 1;
	task = iscsi_readcapacity16_sync(ctx, lun);
	if (task && task->status == SCSI_STATUS_GOOD) {
		struct scsi_readcapacity16 *rc16 = scsi_datain_unmarshall(task);

		if (rc16)
			bs = rc16->block_length;
	}
	if (task)
		scsi_free_scsi_task(task);
	buf = malloc((size_t)nblocks * bs);
	pattern(buf, (size_t)nblocks * bs, seed);
	if (!strcmp(argv[1], "write")) {
		task = iscsi_write16_sync(ctx, lun, lba, buf, nblocks * bs, bs,
					  0, 0, 1, 0, 0);
		if (!task || task->status != SCSI_STATUS_GOOD) {
			fprintf(stderr, "ut-io: WRITE(16) failed: %s\n",
				iscsi_get_error(ctx));
			rc = 1;
		}
	} else {
		task = iscsi_read16_sync(ctx, lun, lba, nblocks * bs, bs, 0, 0,
					 0, 0, 0);
		if (!task || task->status != SCSI_STATUS_GOOD ||
		    task->datain.size != (int)(nblocks * bs)) {
			fprintf(stderr, "ut-io: READ(16) failed: %s\n",
				iscsi_get_error(ctx));
			rc = 1;
		} else if (memcmp(task->datain.data, buf, nblocks * bs)) {
			fprintf(stderr,
				"ut-io: data at LBA %" PRIu64
				" differs from the pattern of seed %" PRIu64
				"\n",
				lba, seed);
			rc = 1;
		}
	}
	if (task)
		scsi_free_scsi_task(task);
	iscsi_logout_sync(ctx);
	iscsi_destroy_context(ctx);
	free(buf);
	return rc;
}
