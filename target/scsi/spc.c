/*
 * spc.c — primary commands (SPC-4): TEST UNIT READY, INQUIRY and its VPD
 * pages, REPORT LUNS, REQUEST SENSE, MODE SENSE(6/10).
 *
 * Parameter data is built in a stack buffer and handed to scsi_data_in(),
 * which truncates it to the allocation length (SPC-4 §4.2.5.6) and to the
 * transport's buffer.
 */
#include <errno.h>
#include <stdio.h>

#include "env.h"
#include "scsi/scsi_int.h"

#define PERIPHERAL_DISK 0x00
#define PQ_NOT_CAPABLE 0x60 /* qualifier 011b: no LU at this LUN */
#define PERIPHERAL_UNKNOWN 0x1f

#define ISCSI_PROTOCOL_ID 0x5 /* SPC-4 table 362 */

/* Version descriptors (SPC-4 table 145). */
#define VD_SAM5 0x00a0
#define VD_ISCSI 0x0960
#define VD_SPC4 0x0460
#define VD_SBC3 0x04c0

enum scsi_rc spc_test_unit_ready(struct scsi_cmd *cmd)
{
	return SCSI_RC_DONE;
}

/* -------------------------------------------------------- INQUIRY */

static uint32_t inquiry_standard(const struct scsi_cmd *cmd, uint8_t *b)
{
	const struct scsi_lu *lu = cmd->lu;

	/* No LU exactly when this LUN maps nothing (scsi_cmd_exec). */
	ut_assert((lu == NULL) == (cmd->itl == NULL));
	memset(b, 0, SCSI_INQ_STD_LEN);
	if (!lu) {
		/* SPC-4 §6.6.2: no logical unit at this LUN. */
		b[0] = PQ_NOT_CAPABLE | PERIPHERAL_UNKNOWN;
	} else {
		b[0] = PERIPHERAL_DISK;
		b[1] = lu->removable ? 0x80 : 0;
	}
	b[2] = 0x06;	    /* SPC-4 */
	b[3] = 0x10 | 0x02; /* HISUP, response data format 2 */
	b[4] = SCSI_INQ_STD_LEN - 5;
	if (lu) /* 3PC: EXTENDED COPY (xcopy.c); TPGS: ALUA (alua.c) */
		b[5] = (uint8_t)(0x08 | scsi_alua_tpgs(lu));
	b[7] = 0x02; /* CMDQUE */
	scsi_put_ascii(b + 8, lu ? lu->vendor : "UTARGET", 8);
	scsi_put_ascii(b + 16, lu ? lu->product : "utarget disk", 16);
	scsi_put_ascii(b + 32, lu ? lu->revision : "0001", 4);
	put_be16(b + 58, VD_SAM5);
	put_be16(b + 60, VD_ISCSI);
	put_be16(b + 62, VD_SPC4);
	put_be16(b + 64, VD_SBC3);
	ut_assert(b[4] + 5u == SCSI_INQ_STD_LEN); /* ADDITIONAL LENGTH */
	return SCSI_INQ_STD_LEN;
}

static const uint8_t vpd_pages[] = {0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};

static uint32_t vpd_supported(const struct scsi_lu *lu, uint8_t *b)
{
	b[3] = sizeof(vpd_pages);
	memcpy(b + 4, vpd_pages, sizeof(vpd_pages));
	return 4 + sizeof(vpd_pages);
}

static uint32_t vpd_serial(const struct scsi_lu *lu, uint8_t *b)
{
	size_t n = strlen(lu->serial);

	/* lu_identity() made it; a one-byte PAGE LENGTH holds it. */
	ut_assert(n > 0 && n < sizeof(lu->serial));
	b[3] = (uint8_t)n;
	memcpy(b + 4, lu->serial, n);
	return 4 + (uint32_t)n;
}

/* One designation descriptor header (SPC-4 §7.8.6.1). */
static uint8_t *designator(uint8_t *d, uint8_t code_set, bool piv,
			   uint8_t assoc, uint8_t type, uint8_t len)
{
	ut_assert(code_set <= 0x0f && type <= 0x0f && assoc <= 3);
	d[0] = (uint8_t)((piv ? ISCSI_PROTOCOL_ID << 4 : 0) | code_set);
	d[1] = (uint8_t)((piv ? 0x80 : 0) | assoc << 4 | type);
	d[2] = 0;
	d[3] = len;
	return d + 4;
}

/* SCSI name string designator: NUL-terminated, padded to 4 bytes. */
static uint32_t name_designator(uint8_t *d, uint8_t assoc, const char *name,
				const char *suffix)
{
	size_t n = strlen(name) + strlen(suffix) + 1;
	size_t padded = (n + 3) & ~(size_t)3;
	uint8_t *p;

	if (padded > 252)
		return 0;
	/* SPC-4 §7.8.6.11: NUL-terminated, a multiple of four bytes. */
	ut_assert(padded % 4 == 0 && padded >= n);
	p = designator(d, 3, true, assoc, 8, (uint8_t)padded);
	memset(p, 0, padded);
	memcpy(p, name, strlen(name));
	memcpy(p + strlen(name), suffix, strlen(suffix));
	ut_assert(p[n - 1] == '\0'); /* terminated within the designator */
	return 4 + (uint32_t)padded;
}

/*
 * Device identification (SPC-4 §7.8.6; for iSCSI, RFC 7143 §13.? and
 * SPC-4 annex: the target port is named "<iqn>,t,0x<tpgt>").
 * Logical unit: NAA 6, T10 vendor ID.  Target port: relative target port,
 * target port group (with ALUA), SCSI name string.  Target device: SCSI name string.
 */
static uint32_t vpd_devid(const struct scsi_cmd *cmd, uint8_t *b)
{
	const struct scsi_lu *lu = cmd->lu;
	const struct scsi_nexus_id *id = &cmd->sess->id;
	uint32_t len = 4;
	size_t idlen = strlen(lu->dev_id);
	char port_suffix[16];
	uint16_t rtp = id->rel_tgt_port_id ? id->rel_tgt_port_id : 1;
	uint16_t tpg;
	uint8_t *p;

	ut_assert(idlen < sizeof(lu->dev_id));
	p = designator(b + len, 1, false, 0, 3, 16);
	put_be64(p, lu->naa_hi);
	put_be64(p + 8, lu->naa_lo);
	len += 20;

	p = designator(b + len, 2, false, 0, 1, (uint8_t)(8 + idlen));
	scsi_put_ascii(p, lu->vendor, 8);
	memcpy(p + 8, lu->dev_id, idlen);
	len += 4 + 8 + (uint32_t)idlen;

	p = designator(b + len, 1, true, 1, 4, 4);
	memset(p, 0, 4);
	put_be16(p + 2, rtp);
	len += 8;

	/* SPC-4 §7.8.6.7: the target port group of this port (ALUA). */
	if (scsi_alua_itl_tpg_id(cmd->itl, &tpg)) {
		p = designator(b + len, 1, false, 1, 5, 4);
		memset(p, 0, 4);
		put_be16(p + 2, tpg);
		len += 8;
	}

	if (id->target_name[0]) {
		snprintf(port_suffix, sizeof(port_suffix), ",t,0x%04x",
			 id->tpgt);
		len += name_designator(b + len, 1, id->target_name,
				       port_suffix);
		len += name_designator(b + len, 2, id->target_name, "");
	}
	/* Four designators of bounded size fit the page buffer. */
	ut_assert(len <= 4 + 20 + 12 + 64 + 8 + 2 * 256);
	ut_assert(len <= SCSI_RSP_MAX);
	put_be16(b + 2, (uint16_t)(len - 4));
	return len;
}

/* Block limits (SBC-4 §6.6.4): every limit a command enforces. */
static uint32_t vpd_block_limits(const struct scsi_lu *lu, uint8_t *b)
{
	uint32_t bs = lu->bs->block_size;
	uint32_t max_blocks = SCSI_MAX_XFER_BYTES / bs;

	/* What we advertise is what sbc.c enforces (max_xfer_blocks). */
	ut_assert(max_blocks > 0);
	ut_assert((uint64_t)max_blocks * bs <= SCSI_MAX_XFER_BYTES);
	put_be16(b + 2, 0x3c);
	b[5] = SCSI_MAX_CAW_BLOCKS;   /* MAX COMPARE AND WRITE */
	put_be16(b + 6, 1);	      /* optimal granularity */
	put_be32(b + 8, max_blocks);  /* MAXIMUM TRANSFER LENGTH */
	put_be32(b + 12, max_blocks); /* OPTIMAL TRANSFER LENGTH */
	put_be32(b + 16, max_blocks); /* MAXIMUM PREFETCH LENGTH */
	if (lu->thin) {
		put_be32(b + 20, SCSI_MAX_UNMAP_BLOCKS);
		put_be32(b + 24, SCSI_MAX_UNMAP_DESC);
		put_be32(b + 28, 1); /* OPTIMAL UNMAP GRANULARITY */
	}
	put_be64(b + 36, SCSI_MAX_WS_BLOCKS);	  /* MAX WRITE SAME LENGTH */
	put_be32(b + 44, SCSI_MAX_ATOMIC_BLOCKS); /* MAX ATOMIC TRANSFER */
	/* ATOMIC ALIGNMENT, GRANULARITY and MAXIMUM ATOMIC TRANSFER LENGTH
	 * WITH ATOMIC BOUNDARY stay 0 (none, none, no boundaries) */
	put_be32(b + 60, SCSI_MAX_ATOMIC_BOUNDARY); /* MAX ATOMIC BOUNDARY */
	return 64;
}

/* Block device characteristics (SBC-3 §6.5.2). */
static uint32_t vpd_bdc(const struct scsi_lu *lu, uint8_t *b)
{
	put_be16(b + 2, 0x3c);
	put_be16(b + 4, lu->bs->rotational ? 0 : 1); /* 1: non-rotating */
	/* WABEREQ = WACEREQ = 01b (SBC-4 §6.6.2): after BLOCK ERASE or
	 * CRYPTOGRAPHIC ERASE, reads succeed (and return zeros).  WABEREQ
	 * stays 0 where BLOCK ERASE is not supported (not thin). */
	b[7] = (uint8_t)((lu->thin ? 0x40 : 0) | 0x10);
	return 64;
}

/* Logical block provisioning (SBC-3 §6.5.4). */
static uint32_t vpd_lbp(const struct scsi_lu *lu, uint8_t *b)
{
	put_be16(b + 2, 4);
	if (lu->thin) {
		/* LBPU (UNMAP), LBPWS, LBPWS10 (WRITE SAME with UNMAP), LBPRZ:
		 * unmapped blocks read zeros; ANC_SUP 0. */
		b[5] = 0x80 | 0x40 | 0x20 | 0x04;
		b[6] = 0x02; /* provisioning type: thin */
	}
	return 8;
}

static enum scsi_rc inquiry_vpd(struct scsi_cmd *cmd, uint8_t page,
				uint32_t alloc)
{
	uint8_t b[SCSI_RSP_MAX];
	uint32_t len;

	memset(b, 0, sizeof(b));
	b[0] = PERIPHERAL_DISK;
	b[1] = page;
	switch (page) {
	case 0x00:
		len = vpd_supported(cmd->lu, b);
		break;
	case 0x80:
		len = vpd_serial(cmd->lu, b);
		break;
	case 0x83:
		len = vpd_devid(cmd, b);
		break;
	case 0xb0:
		len = vpd_block_limits(cmd->lu, b);
		break;
	case 0xb1:
		len = vpd_bdc(cmd->lu, b);
		break;
	case 0xb2:
		len = vpd_lbp(cmd->lu, b);
		break;
	default:
		scsi_fail_cdb(cmd, 2, -1);
		return SCSI_RC_DONE;
	}
	ut_assert(len >= 4 && len <= sizeof(b));
	ut_assert(b[1] == page);
	scsi_data_in(cmd, b, len, alloc);
	return SCSI_RC_DONE;
}

/* SPC-4 §6.6 INQUIRY: byte 1 bit 0 EVPD (bit 1 CMDDT is obsolete and
 * must be zero), byte 2 page code, bytes 3..4 allocation length. */
enum scsi_rc spc_inquiry(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint32_t alloc = get_be16(cdb + 3);
	uint8_t b[SCSI_INQ_STD_LEN];

	if (cdb[1] & 0xfe) {
		scsi_fail_cdb(cmd, 1, (cdb[1] & 0x02) ? 1 : -1);
		return SCSI_RC_DONE;
	}
	if (!(cdb[1] & 0x01)) {
		if (cdb[2] != 0) {
			scsi_fail_cdb(cmd, 2, -1);
			return SCSI_RC_DONE;
		}
		scsi_data_in(cmd, b, inquiry_standard(cmd, b), alloc);
		return SCSI_RC_DONE;
	}
	if (!cmd->lu) {
		/* VPD pages describe a logical unit; there is none. */
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_LU_NOT_SUPPORTED);
		return SCSI_RC_DONE;
	}
	ut_assert(cmd->itl != NULL && cmd->itl->lu == cmd->lu);
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	return inquiry_vpd(cmd, cdb[2], alloc);
}

/* ----------------------------------------------------- REPORT LUNS */

static void put_lun(uint8_t *p, uint32_t lun)
{
	ut_assert(lun <= SCSI_MAX_LUN); /* both forms hold 14 bits */
	memset(p, 0, 8);
	if (lun < 256) {
		p[1] = (uint8_t)lun; /* peripheral device addressing */
	} else {
		p[0] = (uint8_t)(0x40 | (lun >> 8)); /* flat space */
		p[1] = (uint8_t)lun;
	}
}

/* SPC-4 §6.27: byte 2 SELECT REPORT, bytes 6..9 allocation length, which
 * must be at least 16 (§6.27: otherwise INVALID FIELD IN CDB). */
enum scsi_rc spc_report_luns(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint32_t alloc = get_be32(cdb + 6);
	uint8_t b[8 + 8 * (SCSI_MAX_LUN + 2)];
	uint32_t n = 0;
	uint8_t sel = cdb[2];

	if (sel > 2) {
		scsi_fail_cdb(cmd, 2, -1);
		return SCSI_RC_DONE;
	}
	if (alloc < 16) {
		scsi_fail_cdb(cmd, 6, -1);
		return SCSI_RC_DONE;
	}
	memset(b, 0, 8);
	if (sel == 0 || sel == 2) {
		for (uint32_t lun = 0; lun <= SCSI_MAX_LUN; lun++) {
			if (cmd->sess->lun_map[lun])
				put_lun(b + 8 + 8 * n++, lun);
		}
	}
	if (sel == 1 || sel == 2) {
		uint8_t *p = b + 8 + 8 * n++;

		memset(p, 0, 8);
		p[0] = 0xc1; /* REPORT LUNS well-known logical unit */
		p[1] = 0x01;
	}
	/* Every mapped LUN plus the well-known one fit the buffer. */
	ut_assert(n <= SCSI_MAX_LUN + 2);
	ut_assert(8 + 8 * n <= sizeof(b));
	put_be32(b, 8 * n);
	scsi_data_in(cmd, b, 8 + 8 * n, alloc);
	return SCSI_RC_DONE;
}

/* --------------------------------------------------- REQUEST SENSE */

/* SPC-4 §6.29: byte 1 bit 0 DESC, byte 4 allocation length.  Returns the
 * pending unit attention (clearing it), else NO SENSE; GOOD status. */
enum scsi_rc spc_request_sense(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool desc = cdb[1] & 0x01;
	uint8_t b[SCSI_SENSE_MAX];
	uint16_t len, asc = ASC_NO_ADDITIONAL;
	uint8_t key = SK_NO_SENSE;
	struct scsi_sense_opts o = {0};

	if (cdb[1] & 0xfe) {
		scsi_fail_cdb(cmd, 1, -1);
		return SCSI_RC_DONE;
	}
	if (!cmd->itl) {
		key = SK_ILLEGAL_REQUEST;
		asc = ASC_LU_NOT_SUPPORTED;
	} else if (scsi_sanitize_progress(cmd->lu, o.sks)) {
		/* SBC-4 §4.11.2: NOT READY, SANITIZE IN PROGRESS, with the
		 * progress indication. */
		key = SK_NOT_READY;
		asc = ASC_SANITIZE_IN_PROGRESS;
		o.sks_valid = true;
	} else {
		scsi_lu_lock(cmd->lu);
		if (scsi_ua_pop(cmd->itl, &asc))
			key = SK_UNIT_ATTENTION;
		scsi_lu_unlock(cmd->lu);
	}
	len = scsi_sense_build(b, desc, key, asc, &o);
	ut_assert(len <= sizeof(b));
	/* The sense is the parameter data: the command itself is GOOD. */
	ut_assert(cmd->status == SCSI_STATUS_GOOD);
	scsi_data_in(cmd, b, len, cdb[4]);
	return SCSI_RC_DONE;
}

/* ------------------------------------------------------ MODE SENSE */

enum mode_pc {
	PC_CURRENT = 0,
	PC_CHANGEABLE = 1,
	PC_DEFAULT = 2,
	PC_SAVED = 3
};

/* Caching mode page (SBC-3 §6.4.5), 20 bytes. */
static uint32_t page_caching(const struct scsi_lu *lu, enum mode_pc pc,
			     uint8_t *p)
{
	ut_assert(pc != PC_SAVED);
	memset(p, 0, 20);
	p[0] = 0x08;
	p[1] = 0x12;
	if (pc == PC_CHANGEABLE)
		p[2] = 0x04;
	else if (pc == PC_DEFAULT) /* what a reset returns to */
		p[2] = lu->mode_default.wce ? 0x04 : 0;
	else
		p[2] = lu->mode.wce ? 0x04 : 0;
	/* Pair: mode_select_page() takes PAGE LENGTH + 2 as the size. */
	ut_assert(p[1] + 2u == 20);
	return 20;
}

/* Control mode page (SPC-4 §7.5.8), 12 bytes: TST 000b (one task set),
 * QUEUE ALGORITHM MODIFIER 1 (unrestricted), QERR 00b, D_SENSE, SWP, and
 * TAS 1, not changeable: a command another I_T nexus aborts ends with
 * TASK ABORTED status (SAM-5 §5.6), so that no initiator waits forever for
 * a command a reset elsewhere ended. */
static uint32_t page_control(const struct scsi_lu *lu, enum mode_pc pc,
			     uint8_t *p)
{
	ut_assert(pc != PC_SAVED);
	memset(p, 0, 12);
	p[0] = 0x0a;
	p[1] = 0x0a;
	switch (pc) {
	case PC_CHANGEABLE:
		p[2] = 0x04; /* D_SENSE */
		p[4] = 0x08; /* SWP */
		break;
	case PC_DEFAULT:
		p[3] = 0x10;
		p[4] = 0x40; /* TAS */
		put_be16(p + 8, 0xffff);
		break;
	default:
		p[2] = lu->mode.d_sense ? 0x04 : 0;
		p[3] = 0x10;
		p[4] = (uint8_t)(0x40 | (lu->mode.swp ? 0x08 : 0));
		put_be16(p + 8, 0xffff); /* busy timeout: unlimited */
		break;
	}
	ut_assert(p[1] + 2u == 12); /* pair: mode_select_page() */
	return 12;
}

/* Informational exceptions control (SPC-4 §7.5.10), 12 bytes, all off. */
static uint32_t page_iec(const struct scsi_lu *lu, enum mode_pc pc, uint8_t *p)
{
	memset(p, 0, 12);
	p[0] = 0x1c;
	p[1] = 0x0a;
	return 12;
}

typedef uint32_t (*mode_page_fn)(const struct scsi_lu *lu, enum mode_pc pc,
				 uint8_t *p);
static const struct {
	uint8_t code;
	mode_page_fn fn;
} mode_pages[] = {
	{0x08, page_caching},
	{0x0a, page_control},
	{0x1c, page_iec},
};

/* Append the requested pages; returns bytes, or -1 if none matched. */
static int mode_pages_put(const struct scsi_lu *lu, uint8_t page,
			  uint8_t subpage, enum mode_pc pc, uint8_t *p)
{
	int len = 0;
	bool all = page == 0x3f;

	/* We have subpage 0 pages only: subpage FFh with a page asks for
	 * all its subpages, which is just subpage 0 here. */
	if (subpage != 0 && subpage != 0xff)
		return -1;
	ut_assert(pc != PC_SAVED); /* refused by spc_mode_sense */
	for (size_t i = 0; i < sizeof(mode_pages) / sizeof(mode_pages[0]);
	     i++) {
		if (all || mode_pages[i].code == page)
			len += (int)mode_pages[i].fn(lu, pc, p + len);
	}
	ut_assert(len <= 20 + 12 + 12); /* all pages at once */
	return len ? len : -1;
}

/*
 * MODE SENSE(6) (SPC-4 §6.11): 1 DBD, 2 PC|page, 3 subpage, 4 alloc.
 * MODE SENSE(10) (§6.12): 1 LLBAA|DBD, 2 PC|page, 3 subpage, 7..8 alloc.
 * Header: mode data length, medium type, device-specific parameter
 * (SBC-3 §6.4.1: WP 80h, DPOFUA 10h), block descriptor length.
 */
enum scsi_rc spc_mode_sense(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	const struct scsi_lu *lu = cmd->lu;
	bool ten = cdb[0] == 0x5a;
	bool dbd = cdb[1] & 0x08;
	bool llbaa = ten && (cdb[1] & 0x10);
	enum mode_pc pc = (enum mode_pc)(cdb[2] >> 6);
	uint32_t alloc = ten ? get_be16(cdb + 7) : cdb[4];
	uint32_t hdr = ten ? 8 : 4, bdlen = 0, len;
	uint8_t b[512];
	int plen;

	if (cdb[1] & (ten ? 0xe7 : 0xf7)) {
		scsi_fail_cdb(cmd, 1, -1);
		return SCSI_RC_DONE;
	}
	if (pc == PC_SAVED) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED);
		return SCSI_RC_DONE;
	}
	memset(b, 0, sizeof(b));
	if (!dbd)
		bdlen = llbaa ? 16 : 8;
	plen = mode_pages_put(lu, cdb[2] & 0x3f, cdb[3], pc, b + hdr + bdlen);
	if (plen < 0) {
		scsi_fail_cdb(cmd, cdb[3] && !(cdb[3] == 0xff) ? 3 : 2, -1);
		return SCSI_RC_DONE;
	}
	if (bdlen == 8) {
		uint8_t *d = b + hdr;

		put_be32(d, lu->nblocks > 0xffffffffull
				    ? 0xffffffffu
				    : (uint32_t)lu->nblocks);
		put_be24(d + 5, lu->bs->block_size);
	} else if (bdlen == 16) {
		uint8_t *d = b + hdr;

		put_be64(d, lu->nblocks);
		put_be32(d + 12, lu->bs->block_size);
	}
	len = hdr + bdlen + (uint32_t)plen;
	ut_assert(len <= sizeof(b));
	ut_assert(ten || len - 1 <= 0xff); /* MODE DATA LENGTH of (6) */
	uint8_t dsp = 0x10 | (scsi_itl_write_protected(cmd->itl) ? 0x80 : 0);
	if (ten) {
		put_be16(b, (uint16_t)(len - 2));
		b[3] = dsp;
		b[4] = llbaa && bdlen ? 0x01 : 0;
		put_be16(b + 6, (uint16_t)bdlen);
	} else {
		b[0] = (uint8_t)(len - 1);
		b[2] = dsp;
		b[3] = (uint8_t)bdlen;
	}
	scsi_data_in(cmd, b, len, alloc);
	return SCSI_RC_DONE;
}

/* ----------------------------------------------------- MODE SELECT */

/* Check one page of a MODE SELECT list against our current and changeable
 * values and fold it into *m.  Returns false with sense set. */
static bool mode_select_page(struct scsi_cmd *cmd, const uint8_t *p,
			     uint32_t off, struct scsi_mode *m)
{
	const struct scsi_lu *lu = cmd->lu;
	const uint8_t *pg = p + off;
	uint8_t cur[64], chg[64];
	uint32_t len = 0;

	for (size_t i = 0; i < sizeof(mode_pages) / sizeof(mode_pages[0]);
	     i++) {
		if (mode_pages[i].code == (pg[0] & 0x3f)) {
			len = mode_pages[i].fn(lu, PC_CURRENT, cur);
			mode_pages[i].fn(lu, PC_CHANGEABLE, chg);
		}
	}
	if (len == 0 || (pg[0] & 0x40)) {
		scsi_fail_param(cmd, off, (pg[0] & 0x40) ? 6 : -1);
		return false;
	}
	ut_assert(len <= sizeof(cur));
	if ((uint32_t)pg[1] + 2 != len) {
		scsi_fail_param(cmd, off + 1, -1);
		return false;
	}
	/* The page, now known to be as long as ours, lies inside what
	 * arrived (spc_mode_select checked off + 2 + PAGE LENGTH). */
	ut_assert(off + len <= cmd->data_out_len);
	/* SPC-4 §6.9: a field that is not changeable must keep its value. */
	for (uint32_t i = 2; i < len; i++) {
		if ((pg[i] & ~chg[i]) != (cur[i] & ~chg[i])) {
			scsi_fail_param(cmd, off + i, -1);
			return false;
		}
	}
	switch (pg[0] & 0x3f) {
	case 0x08:
		m->wce = pg[2] & 0x04;
		break;
	case 0x0a:
		m->d_sense = pg[2] & 0x04;
		m->swp = pg[4] & 0x08;
		break;
	default:
		break;
	}
	return true;
}

/*
 * MODE SELECT(6) (SPC-4 §6.9): 1 PF 4, SP 0; 4 PARAMETER LIST LENGTH.
 * MODE SELECT(10) (§6.10): 7..8 PARAMETER LIST LENGTH.  The list is a
 * mode parameter header, block descriptors (block length must be ours or
 * 0), then pages.  Nothing changes unless the whole list is valid; a
 * change gives every other I_T nexus MODE PARAMETERS CHANGED (SPC-4
 * §7.5.1).  Saving (SP=1) is not supported.
 */
enum scsi_rc spc_mode_select(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	struct scsi_lu *lu = cmd->lu;
	bool ten = cdb[0] == 0x55;
	uint32_t plen = ten ? get_be16(cdb + 7) : cdb[4];
	uint32_t hdr = ten ? 8 : 4, bdlen, off;
	const uint8_t *p = cmd->buf;
	struct scsi_mode m = lu->mode;

	if (cdb[1] & 0xef) {
		scsi_fail_cdb(cmd, 1, (cdb[1] & 0x01) ? 0 : -1);
		return SCSI_RC_DONE;
	}
	cmd->xfer_len = plen;
	if (plen == 0)
		return SCSI_RC_DONE;
	if (cmd->data_out_len < plen || !p) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
		return SCSI_RC_DONE;
	}
	bdlen = plen < hdr ? 0 : ten ? get_be16(p + 6) : p[3];
	if (plen < hdr || hdr + bdlen > plen) {
		scsi_fail(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return SCSI_RC_DONE;
	}
	if (bdlen != 0 && bdlen != 8 && !(ten && bdlen == 16)) {
		scsi_fail_param(cmd, ten ? 6 : 3, -1);
		return SCSI_RC_DONE;
	}
	if (bdlen) {
		uint32_t blen = bdlen == 8 ? get_be24(p + hdr + 5)
					   : get_be32(p + hdr + 12);

		if (blen != 0 && blen != lu->bs->block_size) {
			scsi_fail_param(cmd, hdr + bdlen - 3, -1);
			return SCSI_RC_DONE;
		}
	}
	for (off = hdr + bdlen; off < plen; off += 2u + p[off + 1]) {
		if (off + 2 > plen || off + 2 + p[off + 1] > plen) {
			scsi_fail(cmd, SK_ILLEGAL_REQUEST,
				  ASC_PARAM_LIST_LENGTH);
			return SCSI_RC_DONE;
		}
		if (!mode_select_page(cmd, p, off, &m))
			return SCSI_RC_DONE;
	}
	/* The whole list was read, inside what arrived. */
	ut_assert(plen <= cmd->data_out_len);
	ut_assert(off == plen);
	scsi_lu_lock(lu);
	if (memcmp(&m, &lu->mode, sizeof(m)) != 0) {
		lu->mode = m;
		scsi_ua_add_lu(lu, cmd->itl, ASC_MODE_PARAMS_CHANGED);
	}
	scsi_lu_unlock(lu);
	return SCSI_RC_DONE;
}
