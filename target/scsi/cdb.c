/*
 * cdb.c — CDB geometry and decoding before execution.
 *
 * SPC-4 §4.2.5.1: the top three bits of the operation code are the group
 * code, which fixes the CDB length:
 *   0: 6 bytes   1, 2: 10 bytes   3: reserved (7Fh: variable length)
 *   4: 16 bytes  5: 12 bytes      6, 7: vendor specific
 */
#include "scsi/scsi_int.h"

unsigned int scsi_cdb_length(uint8_t opcode)
{
	static const uint8_t len_by_group[8] = {6, 10, 10, 0, 16, 12, 0, 0};

	return len_by_group[opcode >> 5];
}

static void decode_rw(const uint8_t *cdb, uint32_t block_size,
		      enum scsi_dir dir, struct scsi_cdb_info *info)
{
	ut_assert(block_size > 0);
	ut_assert(dir == SCSI_DIR_READ || dir == SCSI_DIR_WRITE);
	switch (cdb[0] >> 5) {
	case 0:
		info->lba = get_be24(cdb + 1) & 0x1fffff;
		info->nblocks = cdb[4] ? cdb[4] : 256;
		break;
	case 1:
		info->lba = get_be32(cdb + 2);
		info->nblocks = get_be16(cdb + 7);
		info->fua = cdb[1] & 0x08;
		break;
	case 5:
		info->lba = get_be32(cdb + 2);
		info->nblocks = get_be32(cdb + 6);
		info->fua = cdb[1] & 0x08;
		break;
	default:
		info->lba = get_be64(cdb + 2);
		info->nblocks = get_be32(cdb + 10);
		info->fua = cdb[1] & 0x08;
		break;
	}
	info->dir = dir;
	info->xfer_bytes = (uint64_t)info->nblocks * block_size;
	/* 32-bit block counts of at most 64 KiB blocks cannot wrap. */
	ut_assert(info->xfer_bytes / block_size == info->nblocks);
}

static void data_in(struct scsi_cdb_info *info, uint64_t bytes)
{
	info->dir = bytes ? SCSI_DIR_READ : SCSI_DIR_NONE;
	info->xfer_bytes = bytes;
}

static void data_out(struct scsi_cdb_info *info, uint64_t bytes)
{
	info->dir = bytes ? SCSI_DIR_WRITE : SCSI_DIR_NONE;
	info->xfer_bytes = bytes;
}

static int decode_other(const uint8_t *cdb, uint32_t block_size,
			struct scsi_cdb_info *info)
{
	ut_assert(block_size > 0);
	ut_assert(info->dir == SCSI_DIR_NONE && info->xfer_bytes == 0);
	switch (cdb[0]) {
	case 0x00: /* TEST UNIT READY */
	case 0x16: /* RESERVE(6) */
	case 0x17: /* RELEASE(6) */
	case 0x1b: /* START STOP UNIT */
	case 0x1e: /* PREVENT ALLOW MEDIUM REMOVAL */
	case 0x34: /* PRE-FETCH(10) */
	case 0x35: /* SYNCHRONIZE CACHE(10) */
	case 0x56: /* RESERVE(10) */
	case 0x57: /* RELEASE(10) */
	case 0x90: /* PRE-FETCH(16) */
	case 0x91: /* SYNCHRONIZE CACHE(16) */
		data_in(info, 0);
		return 0;
	case 0x03: /* REQUEST SENSE */
	case 0x1a: /* MODE SENSE(6) */
		data_in(info, cdb[4]);
		return 0;
	case 0x12: /* INQUIRY */
		data_in(info, get_be16(cdb + 3));
		return 0;
	case 0x15: /* MODE SELECT(6) */
		data_out(info, cdb[4]);
		return 0;
	case 0x25: /* READ CAPACITY(10) */
		data_in(info, 8);
		return 0;
	case 0x37: /* READ DEFECT DATA(10) */
	case 0x5a: /* MODE SENSE(10) */
	case 0x5e: /* PERSISTENT RESERVE IN */
		data_in(info, get_be16(cdb + 7));
		return 0;
	case 0x42: /* UNMAP */
	case 0x48: /* SANITIZE */
	case 0x55: /* MODE SELECT(10) */
		data_out(info, get_be16(cdb + 7));
		return 0;
	case 0x5f: /* PERSISTENT RESERVE OUT */
		data_out(info, get_be32(cdb + 5));
		return 0;
	case 0x41: /* WRITE SAME(10) */
	case 0x93: /* WRITE SAME(16) */
		decode_rw(cdb, block_size, SCSI_DIR_WRITE, info);
		/* NDOB (16 only): no data-out buffer */
		data_out(info,
			 cdb[0] == 0x93 && (cdb[1] & 0x01) ? 0 : block_size);
		return 0;
	case 0x89: /* COMPARE AND WRITE: verify data then write data */
		info->lba = get_be64(cdb + 2);
		info->nblocks = cdb[13];
		data_out(info, 2ull * cdb[13] * block_size);
		return 0;
	case 0x9c: /* WRITE ATOMIC(16) */
		info->lba = get_be64(cdb + 2);
		info->nblocks = get_be16(cdb + 12);
		info->fua = cdb[1] & 0x08;
		data_out(info, (uint64_t)info->nblocks * block_size);
		return 0;
	case 0x83: /* EXTENDED COPY */
		data_out(info, get_be32(cdb + 10));
		return 0;
	case 0x84: /* RECEIVE COPY RESULTS */
		data_in(info, get_be32(cdb + 10));
		return 0;
	case 0x9e: /* SERVICE ACTION IN(16) */
	case 0xa0: /* REPORT LUNS */
	case 0xa3: /* MAINTENANCE IN */
	case 0xb7: /* READ DEFECT DATA(12) */
		data_in(info, cdb[0] == 0x9e ? get_be32(cdb + 10)
					     : get_be32(cdb + 6));
		return 0;
	default:
		return -1;
	}
}

/* What every successful decoding promises the transport. */
static int decoded(const struct scsi_cdb_info *info)
{
	/* Data moves only in a direction, and never both ways. */
	ut_assert(info->xfer_bytes == 0 || info->dir != SCSI_DIR_NONE);
	ut_assert(info->dir != SCSI_DIR_BIDI);
	return 0;
}

int scsi_cdb_decode(const uint8_t *cdb, uint32_t block_size,
		    struct scsi_cdb_info *info)
{
	ut_assert(block_size > 0);
	memset(info, 0, sizeof(*info));
	info->cdb_len = (uint8_t)scsi_cdb_length(cdb[0]);
	ut_assert(info->cdb_len == 0 || info->cdb_len >= 6);
	switch (cdb[0]) {
	case 0x08:
	case 0x28:
	case 0xa8:
	case 0x88: /* READ */
		decode_rw(cdb, block_size, SCSI_DIR_READ, info);
		return decoded(info);
	case 0x0a:
	case 0x2a:
	case 0xaa:
	case 0x8a: /* WRITE */
	case 0x2e:
	case 0xae:
	case 0x8e: /* WRITE AND VERIFY */
	case 0x8b: /* ORWRITE(16) */
		decode_rw(cdb, block_size, SCSI_DIR_WRITE, info);
		return decoded(info);
	case 0x2f:
	case 0xaf:
	case 0x8f: { /* VERIFY */
		uint8_t bytchk = (cdb[1] >> 1) & 0x3;

		decode_rw(cdb, block_size, SCSI_DIR_WRITE, info);
		if (bytchk == 0)
			data_out(info, 0);
		else if (bytchk == 3)
			data_out(info, info->nblocks ? block_size : 0);
		return decoded(info);
	}
	default:
		return decode_other(cdb, block_size, info) ? -1 : decoded(info);
	}
}
