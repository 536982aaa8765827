/*
 * sense.c — sense data, built in one place (SPC-4 §4.5).
 *
 * Fixed format (response code 70h, SPC-4 §4.5.3), 18 bytes:
 *   0 VALID|70h  2 sense key  3..6 INFORMATION  7 additional length (10)
 *   8..11 COMMAND-SPECIFIC INFORMATION  12 ASC  13 ASCQ
 *   15..17 SKSV|sense-key specific
 * Descriptor format (72h, SPC-4 §4.5.2): 8-byte header (1 key, 2 ASC,
 * 3 ASCQ, 7 additional length) and descriptors:
 *   00h information (12 bytes, VALID, 64-bit INFORMATION)
 *   01h command-specific information (12 bytes; EXTENDED COPY's)
 *   02h sense key specific (8 bytes)
 * The format follows the control mode page D_SENSE bit of the LU.
 */
#include <errno.h>

#include "scsi/scsi_int.h"

static uint16_t sense_fixed(uint8_t *b, uint8_t key, uint16_t asc,
			    const struct scsi_sense_opts *o)
{
	/* A sense key is four bits; a field pointer or progress carries
	 * SKSV (field_pointer, scsi_sanitize_progress). */
	ut_assert(key <= 0x0f);
	ut_assert(!(o && o->sks_valid) || (o->sks[0] & 0x80));
	memset(b, 0, 18);
	b[0] = 0x70;
	b[2] = key & 0x0f;
	/* The 4-byte INFORMATION field holds the value only if it fits;
	 * otherwise VALID stays zero (SPC-4 §4.5.3). */
	if (o && o->info_valid && o->info <= UINT32_MAX) {
		b[0] |= 0x80;
		put_be32(b + 3, (uint32_t)o->info);
	}
	b[7] = 10;
	if (o && o->csi_valid)
		memcpy(b + 8, o->csi, 4);
	b[12] = (uint8_t)(asc >> 8);
	b[13] = (uint8_t)asc;
	if (o && o->sks_valid)
		memcpy(b + 15, o->sks, 3);
	ut_assert(b[7] + 8 == 18); /* ADDITIONAL SENSE LENGTH, pair */
	return 18;
}

static uint16_t sense_desc(uint8_t *b, uint8_t key, uint16_t asc,
			   const struct scsi_sense_opts *o)
{
	uint16_t len = 8;

	ut_assert(key <= 0x0f);
	ut_assert(!(o && o->sks_valid) || (o->sks[0] & 0x80));
	memset(b, 0, 8);
	b[0] = 0x72;
	b[1] = key & 0x0f;
	b[2] = (uint8_t)(asc >> 8);
	b[3] = (uint8_t)asc;
	if (o && o->info_valid) {
		uint8_t *d = b + len;

		memset(d, 0, 12);
		d[0] = 0x00;
		d[1] = 0x0a;
		d[2] = 0x80;
		put_be64(d + 4, o->info);
		len += 12;
	}
	if (o && o->csi_valid) {
		uint8_t *d = b + len;

		memset(d, 0, 12);
		d[0] = 0x01;
		d[1] = 0x0a;
		memcpy(d + 4, o->csi, 4);
		len += 12;
	}
	if (o && o->sks_valid) {
		uint8_t *d = b + len;

		memset(d, 0, 8);
		d[0] = 0x02;
		d[1] = 0x06;
		memcpy(d + 4, o->sks, 3);
		len += 8;
	}
	b[7] = (uint8_t)(len - 8);
	/* header + information + command-specific + sense key specific */
	ut_assert(len <= 8 + 12 + 12 + 8);
	ut_assert(len <= SCSI_SENSE_MAX);
	return len;
}

uint16_t scsi_sense_build(uint8_t *buf, bool desc, uint8_t key, uint16_t asc,
			  const struct scsi_sense_opts *o)
{
	return desc ? sense_desc(buf, key, asc, o)
		    : sense_fixed(buf, key, asc, o);
}

static bool cmd_d_sense(const struct scsi_cmd *cmd)
{
	return cmd->lu && cmd->lu->mode.d_sense;
}

void scsi_fail_opts(struct scsi_cmd *cmd, uint8_t key, uint16_t asc,
		    const struct scsi_sense_opts *o)
{
	/* A command fails once, from GOOD: a second failure would replace
	 * the sense of the first, which is the one that happened. */
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	ut_assert(cmd->sense_len == 0);
	ut_assert(key != SK_NO_SENSE);
	cmd->status = SCSI_STATUS_CHECK_CONDITION;
	cmd->sense_len =
		scsi_sense_build(cmd->sense, cmd_d_sense(cmd), key, asc, o);
	/* A command that fails moves no data (SAM-5 §5.3.1 leaves the
	 * Data-In of a CHECK CONDITION undefined; we send none). */
	cmd->data_in_len = 0;
	ut_assert(cmd->sense_len >= 8);
}

void scsi_fail(struct scsi_cmd *cmd, uint8_t key, uint16_t asc)
{
	scsi_fail_opts(cmd, key, asc, NULL);
}

/* Sense-key specific field pointer (SPC-4 §4.5.2.4.2). */
static void field_pointer(struct scsi_sense_opts *o, bool cdb, uint16_t byte,
			  int bit)
{
	/* Our own pointers: a bit of a byte, or none (-1); CDB bytes lie
	 * within the largest CDB. */
	ut_assert(bit >= -1 && bit <= 7);
	ut_assert(!cdb || byte < SCSI_CDB_MAX);
	o->sks_valid = true;
	o->sks[0] = 0x80 | (cdb ? 0x40 : 0);
	if (bit >= 0 && bit <= 7)
		o->sks[0] |= 0x08 | (uint8_t)bit;
	o->sks[1] = (uint8_t)(byte >> 8);
	o->sks[2] = (uint8_t)byte;
}

void scsi_fail_cdb(struct scsi_cmd *cmd, uint16_t byte, int bit)
{
	struct scsi_sense_opts o = {0};

	field_pointer(&o, true, byte, bit);
	scsi_fail_opts(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB, &o);
}

void scsi_fail_param(struct scsi_cmd *cmd, uint32_t byte, int bit)
{
	struct scsi_sense_opts o = {0};

	/* The FIELD POINTER has 16 bits (SPC-4 §4.5.2.4.2): a byte past
	 * them (a SPEC_I_PT list of many TransportIDs) goes without one,
	 * SKSV 0, rather than with a pointer at some other byte. */
	if (byte <= 0xffff)
		field_pointer(&o, false, (uint16_t)byte, bit);
	scsi_fail_opts(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM, &o);
}

/*
 * Backstore status to sense.  SBC-3 §4.18 asks for the INFORMATION field
 * to carry the LBA of the first block in error for medium errors; we do not
 * know which block failed, so we report the first of the request.  A
 * request without blocks (SYNCHRONIZE CACHE's FLUSH) names none: VALID 0,
 * and no information descriptor in descriptor format (SPC-4 §4.5.2.2,
 * §4.5.3: VALID 1 says INFORMATION holds a defined value; 0 would read as
 * LBA 0).
 */
void scsi_fail_bs(struct scsi_cmd *cmd, int status, bool writing, uint64_t lba)
{
	struct scsi_sense_opts o = {.info_valid = lba != SCSI_LBA_NONE,
				    .info = lba};

	ut_assert(status < 0); /* only a failed request becomes sense */
	ut_assert(cmd->lu != NULL);
	ut_assert(o.info_valid == (lba != SCSI_LBA_NONE));
	switch (status) {
	case -EIO:
		scsi_fail_opts(cmd, SK_MEDIUM_ERROR,
			       writing ? ASC_WRITE_ERROR : ASC_UNRECOVERED_READ,
			       &o);
		break;
	case -ENOSPC: /* a thin file's filesystem, a full Ceph cluster */
	case -EDQUOT: /* a Ceph pool's quota */
		scsi_fail(cmd, SK_DATA_PROTECT, ASC_SPACE_ALLOC_FAILED_WP);
		break;
	case -ETIMEDOUT:
		/* A remote store (Ceph OSD) did not answer in time: SPC-4
		 * ABORTED COMMAND, which hosts retry. */
		scsi_fail(cmd, SK_ABORTED_COMMAND, ASC_LU_COMM_TIMEOUT);
		break;
	case -ESHUTDOWN: /* fenced (Ceph: blocklisted), reconnecting */
	case -ENOTCONN:	 /* not connected to the store (yet again) */
		/* NOT READY, BECOMING READY: hosts retry after a delay. */
		scsi_fail(cmd, SK_NOT_READY, ASC_BECOMING_READY);
		break;
	case -ECONNRESET:
		scsi_fail(cmd, SK_ABORTED_COMMAND, ASC_LU_COMM_FAILURE);
		break;
	case -EROFS:
		scsi_fail(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
		break;
	default:
		scsi_fail(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		break;
	}
}

void scsi_put_ascii(uint8_t *dst, const char *s, size_t width)
{
	size_t n = s ? strnlen(s, width) : 0;

	ut_assert(n <= width);
	if (n)
		memcpy(dst, s, n);
	memset(dst + n, ' ', width - n);
}
