/*
 * cdb.c — CDB geometry, and the block range of the READ/WRITE family.
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
		return 0;
	case 0x0a:
	case 0x2a:
	case 0xaa:
	case 0x8a: /* WRITE */
	case 0x2e:
	case 0xae:
	case 0x8e: /* WRITE AND VERIFY */
	case 0x8b: /* ORWRITE(16) */
		decode_rw(cdb, block_size, SCSI_DIR_WRITE, info);
		return 0;
	default:
		return -1;
	}
}
