/*
 * scenario_spc.c — oracles of what the target says about itself: the
 * parameter data of REPORT LUNS, INQUIRY VPD pages, READ CAPACITY(16),
 * MODE SENSE and REQUEST SENSE, MODE SELECT's saved pages, and the
 * INFORMATION field of a medium error.  Each answer is judged against
 * what the scenario configured and what earlier answers did, written
 * from the standards (SPC-4, SBC-4), not from target/scsi/spc.c.
 *
 *   REPORT LUNS        lists exactly the LUNs the session sees, each once,
 *                      and LUN LIST LENGTH is 8 per LUN (SPC-4 §6.33)
 *   VPD B2h, READ      the provisioning the LU was configured with: a thin
 *   CAPACITY(16)       LU has LBPU, LBPWS, LBPWS10, LBPRZ, LBPME; a fully
 *                      provisioned one none (SBC-4 §6.6.4, §5.20.2)
 *   MODE SENSE         current values of the caching (WCE) and control
 *                      (D_SENSE, SWP) pages as the MODE SELECTs answered
 *                      in isolation left them (scenario_ua.c keeps them)
 *   MODE SELECT SP=1   answered GOOD, the page was saved: after the next
 *                      power on the LU has it (SPC-4 §6.9, §7.5.2), so
 *                      the MODE SENSE and durability oracles expect it
 *   REQUEST SENSE      its data in the format DESC asked for (SPC-4 §6.39:
 *                      70h/71h fixed, 72h/73h descriptor)
 *   MEDIUM ERROR       of a READ or WRITE names an LBA of the command in
 *                      INFORMATION, with VALID (SBC-4 §4.18.1)
 *   VPD B0h            the limits it advertises are the ones enforced: a
 *                      READ/WRITE or WRITE SAME within MAXIMUM TRANSFER
 *                      LENGTH / MAXIMUM WRITE SAME LENGTH is not refused
 *                      for its length, one beyond it is not accepted
 *                      (SBC-4 §6.6.4, §5.49)
 *   SendTargets        each TargetAddress is a portal of the target with
 *                      that portal's own group tag (RFC 7143 §13.9)
 *   VPD 00h            Supported VPD Pages: ascending, from 00h, with
 *                      00h and 83h; every page INQUIRY serves is listed,
 *                      none it refuses (SPC-4 §7.8.15)
 *   INQUIRY            standard data of a LU: CMDQUE=1 (SPC-4 §6.6.2: the
 *                      target queues commands, the simulator sends many)
 *   MODE SENSE 0Ah     TAS=1 in the current and default values: the
 *                      target ends commands another nexus aborts with
 *                      TASK ABORTED, as the UA and TMF oracles expect
 *                      (SAM-5 §5.6, SPC-4 §7.5.8)
 *
 * Nothing is judged while a control step may have changed the LUNs
 * during the command's life, nor against a real target (its
 * configuration is not the scenario's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "model.h"
#include "scenario_int.h"
#include "scsi/scsi.h"

/* No control step began or ended during the command's life. */
static bool config_stable(const struct runner *r, const struct pend *p)
{
	return !r->against && !r->ctl_running && p->ctl_seq == r->ctl_seq &&
	       p->ctl_started == r->ctl_started;
}

/* ------------------------------------------------------- REPORT LUNS */

/* The REPORT LUNS well-known logical unit (SPC-4 §8.2): W-LUN C101h. */
#define WLUN_REPORT_LUNS 0xc101u

static uint32_t lun_decode(const uint8_t *e)
{
	if (e[0] == 0xc1 && e[1] == 0x01)
		return WLUN_REPORT_LUNS;
	if ((e[0] & 0xc0) == 0x40) /* flat space */
		return (uint32_t)(e[0] & 0x3f) << 8 | e[1];
	if ((e[0] & 0xc0) == 0x00 && e[0] == 0) /* peripheral, bus 0 */
		return e[1];
	return UINT32_MAX; /* a form we never configure */
}

static void oracle_report_luns(struct runner *r, struct pend *p,
			       struct ini_op *op)
{
	bool want[MAX_LUNS] = {false}, seen[MAX_LUNS] = {false};
	uint32_t len, n = 0, expected = 0;
	/* SPC-4 §6.33 table 290, SELECT REPORT: 00h the logical units
	 * (no well-known one), 01h the well-known logical units only (ours:
	 * REPORT LUNS), 02h both. */
	uint8_t sel = op->cdb[2];
	bool lus = sel == 0 || sel == 2, wlun = sel == 1 || sel == 2,
	     wlun_seen = false;

	if (sel > 2 || op->in_len < 8 || !config_stable(r, p))
		return;
	for (int i = 0; i < r->nluns && lus; i++)
		if (!r->luns[i].removed && acl_sees(r, p->a, &r->luns[i])) {
			want[i] = true;
			expected++;
		}
	expected += wlun;
	len = get_be32(op->in);
	if (len % 8 != 0 || len != 8 * expected)
		failf(r, p->line,
		      "oracle: %s's REPORT LUNS (SELECT REPORT %02xh) says "
		      "LUN LIST LENGTH %u, but the session sees %u LUN(s)%s: "
		      "it must be %u (SPC-4 §6.33) (seed %llu)",
		      p->a->name, sel, len, expected - wlun,
		      wlun ? " and the well-known REPORT LUNS LU" : "",
		      8 * expected, (unsigned long long)r->seed);
	if (r->failed || 8 + len > op->in_len)
		return; /* truncated by the allocation length */
	for (uint32_t o = 8; o + 8 <= 8 + len; o += 8, n++) {
		uint32_t lun = lun_decode(op->in + o);
		int li = -1;

		if (lun == WLUN_REPORT_LUNS && wlun && !wlun_seen) {
			wlun_seen = true;
			continue;
		}
		for (int i = 0; i < r->nluns && lun != UINT32_MAX; i++)
			if (r->luns[i].lun == lun && want[i])
				li = i;
		if (li < 0 || seen[li]) {
			failf(r, p->line,
			      "oracle: %s's REPORT LUNS lists LUN %u (entry "
			      "%u: %02x%02x...)%s, but the session sees "
			      "only the configured LUNs, each once (seed "
			      "%llu)",
			      p->a->name, lun, n, op->in[o], op->in[o + 1],
			      li >= 0 ? " twice" : "",
			      (unsigned long long)r->seed);
			return;
		}
		seen[li] = true;
	}
	if (wlun && !wlun_seen) {
		failf(r, p->line,
		      "oracle: %s's REPORT LUNS (SELECT REPORT %02xh) leaves "
		      "out the REPORT LUNS well-known LU (C101h) (seed %llu)",
		      p->a->name, sel, (unsigned long long)r->seed);
		return;
	}
	for (int i = 0; i < r->nluns; i++)
		if (want[i] && !seen[i]) {
			failf(r, p->line,
			      "oracle: %s's REPORT LUNS leaves out LUN %u "
			      "(seed %llu)",
			      p->a->name, r->luns[i].lun,
			      (unsigned long long)r->seed);
			return;
		}
}

/* -------------------------------------------------- provisioning */

/* Thin as configured: the null backstore has nothing to deallocate. */
static bool lun_thin(const struct lun_st *l)
{
	return l->thin && l->kind != BS_NULL;
}

static void provisioning_fail(struct runner *r, struct pend *p,
			      const char *what, bool got, bool thin)
{
	failf(r, p->line,
	      "oracle: %s's %s on lun %u says %s=%d, but the LU is %s "
	      "provisioned: a thin LU reports LBPU, LBPWS, LBPWS10, LBPRZ "
	      "and LBPME, a full one none of them (SBC-4 §4.7, §6.6.4) "
	      "(seed %llu)",
	      p->a->name, p->verb, p->ls->lun, what, got,
	      thin ? "thin" : "fully", (unsigned long long)r->seed);
}

static void oracle_vpd_lbp(struct runner *r, struct pend *p, struct ini_op *op)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} bits[] = {{0x80, "LBPU"},
		    {0x40, "LBPWS"},
		    {0x20, "LBPWS10"},
		    {0x04, "LBPRZ"}};
	bool thin = lun_thin(p->ls);

	if (op->in_len < 8 || op->in[1] != 0xb2)
		return;
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		bool got = op->in[5] & bits[i].bit;

		if (got != thin) {
			provisioning_fail(r, p, bits[i].name, got, thin);
			return;
		}
	}
}

static void oracle_readcap16(struct runner *r, struct pend *p,
			     struct ini_op *op)
{
	bool thin = lun_thin(p->ls);

	if (op->in_len < 15)
		return;
	if (((op->in[14] & 0x80) != 0) != thin)
		provisioning_fail(r, p, "LBPME", op->in[14] & 0x80, thin);
	else if (((op->in[14] & 0x40) != 0) != thin)
		provisioning_fail(r, p, "LBPRZ", op->in[14] & 0x40, thin);
}

/* ---------------------------------------------------- mode pages */

/* The next whole mode page of a MODE SENSE(6) or (10) answer, as far
 * as its MODE DATA LENGTH and the bytes that came say: *off 0 starts
 * after the header and block descriptors; NULL at the end. */
static const uint8_t *mode_page_next(const struct ini_op *op, uint32_t *off)
{
	bool ten = op->cdb[0] == 0x5a;
	uint32_t hdr = ten ? 8 : 4, len, o = *off;
	const uint8_t *pg;

	if (op->in_len < hdr)
		return NULL;
	len = ten ? get_be16(op->in) + 2u : op->in[0] + 1u;
	if (len > op->in_len)
		len = op->in_len;
	if (o == 0)
		o = hdr + (ten ? get_be16(op->in + 6) : op->in[3]);
	if (o + 2 > len)
		return NULL;
	pg = op->in + o;
	if (o + 2u + pg[1] > len)
		return NULL;
	*off = o + 2u + pg[1];
	return pg;
}

static void oracle_mode_sense(struct runner *r, struct pend *p,
			      struct ini_op *op)
{
	struct lun_st *l = p->ls;
	const uint8_t *pg;

	/* current values, known, and no MODE SELECT anywhere near */
	if ((op->cdb[2] >> 6) != 0 || !p->ms_alone_at || !l->ms_known ||
	    l->ms_inflight != 0 || l->ms_issued != p->ms_issued_at)
		return;
	for (uint32_t off = 0; (pg = mode_page_next(op, &off)) != NULL;) {
		uint32_t plen = 2u + pg[1];

		if ((pg[0] & 0x3f) == 0x08 && plen >= 3 &&
		    ((pg[2] & 0x04) != 0) != l->ms_wce)
			failf(r, p->line,
			      "oracle: %s's MODE SENSE (current values) on "
			      "lun %u says WCE=%d, but the LU's write cache "
			      "is %s (configured, or as the last MODE SELECT "
			      "set it) (SBC-4 §6.5.5) (seed %llu)",
			      p->a->name, l->lun, (pg[2] & 0x04) != 0,
			      l->ms_wce ? "on" : "off",
			      (unsigned long long)r->seed);
		if ((pg[0] & 0x3f) == 0x0a && plen >= 5 &&
		    (((pg[2] & 0x04) != 0) != l->ms_dsense ||
		     ((pg[4] & 0x08) != 0) != l->ms_swp))
			failf(r, p->line,
			      "oracle: %s's MODE SENSE (current values) on "
			      "lun %u says D_SENSE=%d SWP=%d, but the LU has "
			      "D_SENSE=%d SWP=%d (SPC-4 §7.5.8) (seed %llu)",
			      p->a->name, l->lun, (pg[2] & 0x04) != 0,
			      (pg[4] & 0x08) != 0, l->ms_dsense, l->ms_swp,
			      (unsigned long long)r->seed);
		if (r->failed)
			return;
	}
}

/* The mode parameter block descriptors of a MODE SENSE (SPC-4 §6.11,
 * §7.5.5, SBC-4 §6.5.2).  Which may come: none with DBD=1; with LLBAA=0
 * (and always for MODE SENSE(6), which has no LLBAA) only the short form,
 * LONGLBA 0; with LLBAA=1 either form, LONGLBA saying which (16 bytes
 * each).  What one says: NUMBER OF LOGICAL BLOCKS is the LU's count of
 * blocks (not its last LBA, as READ CAPACITY gives; FFFFFFFFh when the
 * short form cannot hold it) and LOGICAL BLOCK LENGTH its block size. */
static void oracle_mode_bd(struct runner *r, struct pend *p, struct ini_op *op)
{
	bool ten = op->cdb[0] == 0x5a, longlba;
	bool dbd = op->cdb[1] & 0x08, llbaa = ten && (op->cdb[1] & 0x10);
	uint32_t hdr = ten ? 8 : 4, bdlen, bs, each;
	uint64_t n, want;
	const uint8_t *d;

	if (op->in_len < hdr || p->ls->m == NULL)
		return;
	bdlen = ten ? get_be16(op->in + 6) : op->in[3];
	longlba = ten && (op->in[4] & 0x01);
	each = longlba ? 16 : 8;
	if ((dbd && bdlen != 0) || (longlba && !llbaa) || bdlen % each) {
		failf(r, p->line,
		      "oracle: %s's MODE SENSE(%d) of lun %u with DBD=%d "
		      "LLBAA=%d has BLOCK DESCRIPTOR LENGTH %u and LONGLBA=%d: "
		      "DBD=1 allows none, LLBAA=0 only 8-byte descriptors, "
		      "and LONGLBA says their size (SPC-4 §6.11, §7.5.5) "
		      "(seed %llu)",
		      p->a->name, ten ? 10 : 6, p->ls->lun, dbd, llbaa, bdlen,
		      longlba, (unsigned long long)r->seed);
		return;
	}
	if (bdlen == 0 || hdr + each > op->in_len)
		return; /* none (allowed), or cut by the allocation length */
	d = op->in + hdr;
	want = model_blocks(p->ls->m);
	if (longlba) {
		n = get_be64(d);
		bs = get_be32(d + 12);
	} else {
		n = get_be32(d);
		bs = get_be24(d + 5);
		if (want > 0xffffffffull)
			want = 0xffffffffull;
	}
	if (n != want || bs != model_block_size(p->ls->m))
		failf(r, p->line,
		      "oracle: %s's MODE SENSE of lun %u has a%s block "
		      "descriptor (LONGLBA=%d) of %llu blocks of %u bytes, but "
		      "the LU has %llu blocks of %u%s (SPC-4 §7.5.5, SBC-4 "
		      "§6.5.2) (seed %llu)",
		      p->a->name, p->ls->lun, longlba ? " 16-byte" : "n 8-byte",
		      longlba, (unsigned long long)n, bs,
		      (unsigned long long)model_blocks(p->ls->m),
		      model_block_size(p->ls->m),
		      n + 1 == want
			      ? ": NUMBER OF LOGICAL BLOCKS is the count, "
				"not the last LBA"
			      : "",
		      (unsigned long long)r->seed);
}

/* Control mode page TAS (SPC-4 §7.5.8) in the current or default values
 * of a MODE SENSE: 1, since the target answers TASK ABORTED to the
 * commands another I_T nexus's TMF ends (SAM-5 §5.6), which the TMF and
 * UA oracles expect of it. */
static void oracle_mode_tas(struct runner *r, struct pend *p, struct ini_op *op)
{
	int pc = op->cdb[2] >> 6;
	const uint8_t *pg;

	if (pc != 0 && pc != 2)
		return;
	for (uint32_t off = 0; (pg = mode_page_next(op, &off)) != NULL;) {
		if ((pg[0] & 0x3f) == 0x0a && pg[1] >= 3 && !(pg[4] & 0x40))
			failf(r, p->line,
			      "oracle: %s's MODE SENSE (%s values) on lun %u "
			      "says TAS=0, but the target ends commands another "
			      "nexus aborts with TASK ABORTED (SPC-4 §7.5.8, "
			      "SAM-5 §5.6) (seed %llu)",
			      p->a->name, pc ? "default" : "current",
			      p->ls->lun, (unsigned long long)r->seed);
	}
}

/* ------------------------------------------------------ VPD pages */

static bool bit_get(const uint8_t *set, uint8_t page)
{
	return (set[page >> 3] >> (page & 7)) & 1;
}

static void bit_set(uint8_t *set, uint8_t page)
{
	set[page >> 3] = (uint8_t)(set[page >> 3] | 1u << (page & 7));
}

/* Every page served is listed and none refused is, once both are known
 * (SPC-4 §7.8.15: the list names the pages the LU supports). */
static void vpd_consistent(struct runner *r, struct pend *p)
{
	struct lun_st *l = p->ls;

	if (!l->vpd_list_known)
		return;
	for (int pg = 0; pg < 256 && !r->failed; pg++) {
		bool listed = bit_get(l->vpd_listed, (uint8_t)pg);

		if (bit_get(l->vpd_served, (uint8_t)pg) && !listed)
			failf(r, p->line,
			      "oracle: lun %u serves VPD page %02xh, but its "
			      "Supported VPD Pages (00h) do not list it "
			      "(SPC-4 §7.8.15) (seed %llu)",
			      l->lun, pg, (unsigned long long)r->seed);
		else if (bit_get(l->vpd_refused, (uint8_t)pg) && listed)
			failf(r, p->line,
			      "oracle: lun %u lists VPD page %02xh in its "
			      "Supported VPD Pages (00h), but refuses it with "
			      "INVALID FIELD IN CDB (seed %llu)",
			      l->lun, pg, (unsigned long long)r->seed);
	}
}

/* INQUIRY with EVPD=1 answered: GOOD (the page served; 00h is the list
 * itself) or CHECK CONDITION INVALID FIELD IN CDB (a page it does not
 * have). */
static void oracle_vpd(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->ls;
	uint8_t page = op->cdb[2];

	if (op->status == SCSI_STATUS_CHECK_CONDITION) {
		int sk, asc, ascq;

		sense_parse(op, &sk, &asc, &ascq);
		if (sk == 5 && asc == 0x24)
			bit_set(l->vpd_refused, page);
		vpd_consistent(r, p);
		return;
	}
	if (op->status != SCSI_STATUS_GOOD || op->in_len < 4)
		return;
	if (op->in[1] != page) {
		failf(r, p->line,
		      "oracle: INQUIRY of VPD page %02xh on lun %u answered "
		      "page %02xh (seed %llu)",
		      page, l->lun, op->in[1], (unsigned long long)r->seed);
		return;
	}
	bit_set(l->vpd_served, page);
	if (page == 0x00) {
		uint32_t n = get_be16(op->in + 2), prev = 0;
		uint8_t listed[32] = {0};
		/* a list cut by the ALLOCATION LENGTH (an initiator reading
		 * the 4-byte header first) is judged for order only */
		bool whole = n + 4u <= op->in_len;

		if (!whole)
			n = op->in_len - 4u;
		for (uint32_t i = 0; i < n; i++) {
			uint8_t pg = op->in[4 + i];

			if ((i == 0 && pg != 0x00) || (i > 0 && pg <= prev)) {
				failf(r, p->line,
				      "oracle: lun %u's Supported VPD Pages are "
				      "not ascending from 00h (entry %u is "
				      "%02xh) (SPC-4 §7.8.15) (seed %llu)",
				      l->lun, i, pg,
				      (unsigned long long)r->seed);
				return;
			}
			prev = pg;
			bit_set(listed, pg);
		}
		if (!whole)
			return;
		if (!bit_get(listed, 0x83)) {
			failf(r, p->line,
			      "oracle: lun %u's Supported VPD Pages leave out "
			      "Device Identification (83h), which SPC-4 "
			      "§7.8.1 requires (seed %llu)",
			      l->lun, (unsigned long long)r->seed);
			return;
		}
		if (l->vpd_list_known &&
		    memcmp(listed, l->vpd_listed, sizeof(listed)) != 0) {
			failf(r, p->line,
			      "oracle: lun %u's Supported VPD Pages changed "
			      "between two INQUIRYs (seed %llu)",
			      l->lun, (unsigned long long)r->seed);
			return;
		}
		memcpy(l->vpd_listed, listed, sizeof(listed));
		l->vpd_list_known = true;
	}
	vpd_consistent(r, p);
}

/* VPD page 83h: the logical unit's designators (association 00b; SPC-4
 * §7.8.6.1 wants at least one) name the LU, not the path: the same
 * through every port and session (multipath takes its WWID from them).
 * The first answer since the last control step is kept; an answer cut by
 * the ALLOCATION LENGTH is not judged. */
static void oracle_vpd83_lu_ids(struct runner *r, struct pend *p,
				struct ini_op *op)
{
	struct lun_st *l = p->ls;
	const uint8_t *b = op->in;
	uint8_t ids[sizeof(l->lu_ids)];
	uint32_t len, n = 0;

	if (op->in_len < 4 || get_be16(b + 2) + 4u > op->in_len)
		return;
	len = get_be16(b + 2) + 4u;
	for (uint32_t o = 4; o + 4 <= len && o + 4u + b[o + 3] <= len;
	     o += 4u + b[o + 3]) {
		uint32_t dl = 4u + b[o + 3];

		if ((b[o + 1] & 0x30) != 0 || n + dl > sizeof(ids))
			continue;
		memcpy(ids + n, b + o, dl);
		n += dl;
	}
	if (n == 0) {
		failf(r, p->line,
		      "oracle: %s's VPD page 83h on lun %u has no designator "
		      "of the logical unit (association 00b; SPC-4 §7.8.6.1) "
		      "(seed %llu)",
		      p->a->name, l->lun, (unsigned long long)r->seed);
		return;
	}
	if (l->lu_ids_known && l->lu_ids_ctl_seq == r->ctl_seq) {
		if (n != l->lu_ids_len || memcmp(ids, l->lu_ids, n) != 0)
			failf(r, p->line,
			      "oracle: %s's VPD page 83h on lun %u names the "
			      "logical unit otherwise than an earlier answer "
			      "(its association 00b designators must not "
			      "depend on the path; SPC-4 §7.8.6.1) (seed %llu)",
			      p->a->name, l->lun, (unsigned long long)r->seed);
		return;
	}
	memcpy(l->lu_ids, ids, n);
	l->lu_ids_len = n;
	l->lu_ids_ctl_seq = r->ctl_seq;
	l->lu_ids_known = true;
}

/* Standard INQUIRY data of a LU (SPC-4 §6.6.2): CMDQUE=1, the target
 * queues commands (the simulator keeps many outstanding). */
static void oracle_inquiry_std(struct runner *r, struct pend *p,
			       struct ini_op *op)
{
	if (op->in_len < 8 || (op->in[0] & 0xe0) != 0)
		return;
	if (!(op->in[7] & 0x02))
		failf(r, p->line,
		      "oracle: %s's standard INQUIRY of lun %u says CMDQUE=0 "
		      "(byte 7 %02xh), but the target queues commands "
		      "(SPC-4 §6.6.2) (seed %llu)",
		      p->a->name, p->ls->lun, op->in[7],
		      (unsigned long long)r->seed);
}

/* MODE SELECT with SP=1: what it saved, if it was answered GOOD. */
static void saved_pages(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->ls;

	if (!(op->cdb[1] & 0x01) || p->ms_control ||
	    op->outcome == INI_NOT_SENT || op->outcome == INI_REJECTED)
		return;
	if (op->outcome != INI_DONE || op->response != 0 ||
	    op->status == SCSI_STATUS_TASK_ABORTED) {
		l->ms_saved = MS_SAVED_UNKNOWN; /* it may have run */
		return;
	}
	if (op->status != SCSI_STATUS_GOOD)
		return; /* refused: nothing saved */
	if (p->ua_ms_alone && l->ms_issued == p->ua_ms_issued)
		l->ms_saved = p->data_vid ? MS_SAVED_WCE1 : MS_SAVED_WCE0;
	else
		l->ms_saved = MS_SAVED_UNKNOWN; /* which one won? */
}

/* ------------------------------------------------------------ sense */

static void oracle_request_sense(struct runner *r, struct pend *p,
				 struct ini_op *op)
{
	bool desc = op->cdb[1] & 0x01;
	uint8_t code;

	if (op->in_len < 1)
		return;
	code = op->in[0] & 0x7f;
	if (desc ? (code != 0x72 && code != 0x73)
		 : (code != 0x70 && code != 0x71))
		failf(r, p->line,
		      "oracle: %s's REQUEST SENSE with DESC=%d got sense data "
		      "of response code %02xh: it must be %s (SPC-4 §6.39) "
		      "(seed %llu)",
		      p->a->name, desc, code,
		      desc ? "72h (descriptor format)" : "70h (fixed format)",
		      (unsigned long long)r->seed);
}

/* SPC-4 §7.5.8, §4.5.1: the LU's D_SENSE picks the format of the sense
 * data of every CHECK CONDITION it returns: fixed (70h) with D_SENSE=0,
 * descriptor (72h) with D_SENSE=1.  Judged only where D_SENSE is
 * certain for the command's whole life: known (configured, then as
 * MODE SELECTs answered in isolation set it), no MODE SELECT of the LU
 * sent or in flight between its sending and its answer, and the
 * configuration quiet (a LUN being added or removed may have no LU in
 * the session yet, and LOGICAL UNIT NOT SUPPORTED comes from no LU, in
 * fixed format). */
static void oracle_sense_format(struct runner *r, struct pend *p,
				struct ini_op *op)
{
	struct lun_st *l = p->ls;
	struct sense_view v;
	char why[160];
	bool want_desc;

	if (l == NULL || l->removed || !config_stable(r, p) ||
	    !p->ms_alone_at || !l->ms_known || l->ms_inflight != 0 ||
	    l->ms_issued != p->ms_issued_at)
		return;
	(void)sense_decode(op->sense, op->sense_len, &v, why, sizeof(why));
	if (v.code == 0)
		return; /* no sense at all: the initiator's check says so */
	if (v.sk == SK_ILLEGAL_REQUEST && v.asc == 0x25 && v.ascq == 0)
		return;
	want_desc = l->ms_dsense;
	if (v.desc != want_desc)
		failf(r, p->line,
		      "oracle: %s's %s on lun %u got CHECK CONDITION with "
		      "sense %x/%02x/%02x in %s format (%02xh), but the LU "
		      "has D_SENSE=%d: it must be %s (SPC-4 §7.5.8) (seed "
		      "%llu)",
		      p->a->name, p->verb, l->lun, v.sk & 0xff, v.asc & 0xff,
		      v.ascq & 0xff, v.desc ? "descriptor" : "fixed", v.code,
		      want_desc,
		      want_desc ? "72h (descriptor format)"
				: "70h (fixed format)",
		      (unsigned long long)r->seed);
}

/* The INFORMATION field and its VALID bit, in either format. */
static bool sense_information(const struct ini_op *op, uint64_t *info)
{
	struct sense_view v;
	char why[120];

	(void)sense_decode(op->sense, op->sense_len, &v, why, sizeof(why));
	*info = v.info;
	return v.info_valid;
}

static void oracle_medium_error(struct runner *r, struct pend *p,
				struct ini_op *op)
{
	int sk, asc, ascq;
	uint64_t info = 0;
	bool valid;

	sense_parse(op, &sk, &asc, &ascq);
	/* unrecovered read error, write error (not SANITIZE's 31h) */
	if (sk != 0x3 || (asc != 0x11 && asc != 0x0c) || p->blocks == 0)
		return;
	/* SBC-4 §4.18.1, SPC-4 Annex D: a READ that fails on the medium
	 * is UNRECOVERED READ ERROR (11h), a WRITE WRITE ERROR (0Ch); a
	 * WRITE reads only the block its expected length ends inside
	 * (read, merge, write: either may fail; p->part_cut). */
	if ((p->kind == PK_READ && asc != 0x11) ||
	    (p->kind == PK_WRITE && asc != 0x0c && p->part_cut == 0 &&
	     p->ls != NULL)) {
		failf(r, p->line,
		      "oracle: %s's %s of lba %llu+%u on lun %u got MEDIUM "
		      "ERROR %02x/%02x, but a %s the medium fails must be "
		      "%s (SBC-4 §4.18.1) (seed %llu)",
		      p->a->name, p->verb, (unsigned long long)p->lba,
		      p->blocks, (unsigned)(p->lun & 0xffff), asc, ascq,
		      p->kind == PK_READ ? "read" : "write",
		      p->kind == PK_READ ? "UNRECOVERED READ ERROR (03/11/00)"
					 : "WRITE ERROR (03/0C/00)",
		      (unsigned long long)r->seed);
		return;
	}
	valid = sense_information(op, &info);
	if (!valid || info < p->lba || info >= p->lba + p->blocks)
		failf(r, p->line,
		      "oracle: %s's %s of lba %llu+%u on lun %u got MEDIUM "
		      "ERROR %s, but it must name the LBA in error, one of "
		      "the command's, in INFORMATION with VALID=1 (SBC-4 "
		      "§4.18.1) (seed %llu)",
		      p->a->name, p->verb, (unsigned long long)p->lba,
		      p->blocks, (unsigned)(p->lun & 0xffff),
		      valid ? "with an INFORMATION outside the command"
			    : "without INFORMATION",
		      (unsigned long long)r->seed);
}

/* --------------------------------------------------- Block Limits */

static void oracle_vpd_block_limits(struct pend *p, struct ini_op *op)
{
	if (op->in_len < 44 || op->in[1] != 0xb0)
		return;
	p->ls->bl_xfer_max = get_be32(op->in + 8);
	p->ls->bl_ws_max = get_be64(op->in + 36);
	p->ls->bl_unmap_lba_max = get_be32(op->in + 20);
	p->ls->bl_unmap_desc_max = get_be32(op->in + 24);
	p->ls->bl_caw_max = op->in[5];
	p->ls->bl_atomic_max = op->in_len >= 48 ? get_be32(op->in + 44) : 0;
	p->ls->bl_boundary_known = op->in_len >= 64;
	p->ls->bl_boundary_max = op->in_len >= 64 ? get_be32(op->in + 60) : 0;
	p->ls->bl_known = true;
}

/* The byte a sense-key specific field pointer names, or -1: SKSV set
 * and C/D as cd asks (1: the CDB, 0: the parameter list); fixed or
 * descriptor format. */
static int sense_field(const struct ini_op *op, bool cd)
{
	struct sense_view v;
	char why[120];

	(void)sense_decode(op->sense, op->sense_len, &v, why, sizeof(why));
	return sense_field_pointer(&v, cd);
}

/* The CDB byte a field pointer names (C/D=1), or -1. */
static int sense_cdb_field(const struct ini_op *op)
{
	return sense_field(op, true);
}

/* The parameter list byte a field pointer names (C/D=0), or -1. */
static int sense_param_field(const struct ini_op *op)
{
	return sense_field(op, false);
}

/* An UNMAP against the last Block Limits answer (SBC-4 §5.32.1, §6.6.4):
 * a descriptor of more blocks than MAXIMUM UNMAP LBA COUNT, or more
 * descriptors than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT, is refused with
 * INVALID FIELD IN PARAMETER LIST; within both, not for that reason (the
 * field pointer names the descriptor count or a descriptor's NUMBER OF
 * LOGICAL BLOCKS). */
static void oracle_unmap_limits(struct runner *r, struct pend *p,
				struct ini_op *op)
{
	const struct lun_st *l = p->ls;
	uint32_t plen = get_be16(op->cdb + 7), ndesc, over = UINT32_MAX;
	int sk, asc, ascq, at;

	if (l->bl_unmap_lba_max == 0 || op->out == NULL || plen < 8 ||
	    plen > op->edtl)
		return;
	ndesc = get_be16(op->out + 2) / 16;
	if (8 + 16 * ndesc > plen)
		return; /* the list is shorter than its header: not ours */
	for (uint32_t i = 0; i < ndesc && over == UINT32_MAX; i++)
		if (get_be32(op->out + 8 + 16 * i + 8) > l->bl_unmap_lba_max)
			over = i;
	if (op->status == SCSI_STATUS_GOOD &&
	    (over != UINT32_MAX || ndesc > l->bl_unmap_desc_max)) {
		failf(r, p->line,
		      "oracle: %s's UNMAP of %u descriptor(s) on lun %u was "
		      "accepted, but %s beyond the Block Limits page's %s "
		      "%u: it must be refused (SBC-4 §5.32.1) (seed %llu)",
		      p->a->name, ndesc, l->lun,
		      over != UINT32_MAX ? "a descriptor's block count is"
					 : "the descriptor count is",
		      over != UINT32_MAX ? "MAXIMUM UNMAP LBA COUNT"
					 : "MAXIMUM UNMAP BLOCK DESCRIPTOR "
					   "COUNT",
		      over != UINT32_MAX ? l->bl_unmap_lba_max
					 : l->bl_unmap_desc_max,
		      (unsigned long long)r->seed);
		return;
	}
	if (op->status != SCSI_STATUS_CHECK_CONDITION || over != UINT32_MAX ||
	    ndesc > l->bl_unmap_desc_max)
		return;
	sense_parse(op, &sk, &asc, &ascq);
	at = sense_param_field(op);
	if (sk != SK_ILLEGAL_REQUEST || asc != 0x26 || at < 0)
		return;
	if (at == 2 ||
	    (at >= 8 && (uint32_t)at < 8 + 16 * ndesc && (at - 8) % 16 == 8))
		failf(r, p->line,
		      "oracle: %s's UNMAP of %u descriptor(s) on lun %u was "
		      "refused for %s (INVALID FIELD IN PARAMETER LIST at "
		      "byte %d), but the Block Limits page allows %u "
		      "descriptors of %u blocks (SBC-4 §6.6.4) (seed %llu)",
		      p->a->name, ndesc, l->lun,
		      at == 2 ? "its descriptor count" : "a block count", at,
		      l->bl_unmap_desc_max, l->bl_unmap_lba_max,
		      (unsigned long long)r->seed);
}

/* A WRITE ATOMIC(16)'s ATOMIC BOUNDARY against the last Block Limits
 * answer (SBC-4 §5.48): past MAXIMUM ATOMIC BOUNDARY SIZE the command is
 * refused INVALID FIELD IN CDB; within it (0 included: no boundary), not
 * for that field. */
static void oracle_atomic_boundary(struct runner *r, struct pend *p,
				   struct ini_op *op)
{
	const struct lun_st *l = p->ls;
	uint32_t b = get_be16(op->cdb + 10);
	int sk, asc, ascq, at;

	if (!l->bl_boundary_known)
		return;
	if (b > l->bl_boundary_max && op->status == SCSI_STATUS_GOOD) {
		failf(r, p->line,
		      "oracle: %s's WRITE ATOMIC(16) with ATOMIC BOUNDARY %u on "
		      "lun %u was accepted, but the Block Limits page says "
		      "MAXIMUM ATOMIC BOUNDARY SIZE %u: past it the command "
		      "must be refused INVALID FIELD IN CDB (SBC-4 §5.48) "
		      "(seed %llu)",
		      p->a->name, b, l->lun, l->bl_boundary_max,
		      (unsigned long long)r->seed);
		return;
	}
	if (b > l->bl_boundary_max || op->status != SCSI_STATUS_CHECK_CONDITION)
		return;
	sense_parse(op, &sk, &asc, &ascq);
	at = sense_cdb_field(op);
	if (sk == SK_ILLEGAL_REQUEST && asc == 0x24 && (at == 10 || at == 11))
		failf(r, p->line,
		      "oracle: %s's WRITE ATOMIC(16) with ATOMIC BOUNDARY %u on "
		      "lun %u was refused for it (INVALID FIELD IN CDB at byte "
		      "%d), but the Block Limits page says MAXIMUM ATOMIC "
		      "BOUNDARY SIZE %u (SBC-4 §5.48) (seed %llu)",
		      p->a->name, b, l->lun, at, l->bl_boundary_max,
		      (unsigned long long)r->seed);
}

/* A READ/WRITE, WRITE SAME, COMPARE AND WRITE or WRITE ATOMIC against the
 * last Block Limits answer: its length field (first..last CDB byte), how
 * many blocks and which limit. */
static void oracle_block_limits(struct runner *r, struct pend *p,
				struct ini_op *op)
{
	const uint8_t *c = op->cdb;
	const struct lun_st *l = p->ls;
	int first, last, sk, asc, ascq, at;
	uint64_t n, max;
	const char *what;

	if (!l->bl_known)
		return;
	switch (c[0]) {
	case 0x42: /* UNMAP */
		oracle_unmap_limits(r, p, op);
		return;
	case 0x28:
	case 0x2a: /* READ(10), WRITE(10) */
		first = 7, last = 8, n = get_be16(c + 7);
		max = l->bl_xfer_max, what = "MAXIMUM TRANSFER LENGTH";
		break;
	case 0x88:
	case 0x8a: /* READ(16), WRITE(16) */
		first = 10, last = 13, n = get_be32(c + 10);
		max = l->bl_xfer_max, what = "MAXIMUM TRANSFER LENGTH";
		break;
	case 0x41: /* WRITE SAME(10) */
		first = 7, last = 8, n = get_be16(c + 7);
		max = l->bl_ws_max, what = "MAXIMUM WRITE SAME LENGTH";
		break;
	case 0x93: /* WRITE SAME(16) */
		first = 10, last = 13, n = get_be32(c + 10);
		max = l->bl_ws_max, what = "MAXIMUM WRITE SAME LENGTH";
		break;
	case 0x89: /* COMPARE AND WRITE: NUMBER OF LOGICAL BLOCKS */
		first = 13, last = 13, n = c[13];
		max = l->bl_caw_max, what = "MAXIMUM COMPARE AND WRITE LENGTH";
		break;
	case 0x9c: /* WRITE ATOMIC(16): TRANSFER LENGTH (SBC-4 §5.48) */
		oracle_atomic_boundary(r, p, op);
		first = 12, last = 13, n = get_be16(c + 12);
		max = l->bl_atomic_max, what = "MAXIMUM ATOMIC TRANSFER LENGTH";
		break;
	default:
		return;
	}
	if (n == 0 || max == 0)
		return; /* "to the end" / no limit: nothing to compare */
	if (op->status == SCSI_STATUS_GOOD && n > max) {
		failf(r, p->line,
		      "oracle: %s's %s of %llu blocks on lun %u was accepted, "
		      "but the Block Limits page says %s %llu: beyond it the "
		      "command must be refused (SBC-4 §6.6.4) (seed %llu)",
		      p->a->name, p->verb, (unsigned long long)n, l->lun, what,
		      (unsigned long long)max, (unsigned long long)r->seed);
		return;
	}
	if (op->status != SCSI_STATUS_CHECK_CONDITION || n > max)
		return;
	sense_parse(op, &sk, &asc, &ascq);
	at = sense_cdb_field(op);
	if (sk == SK_ILLEGAL_REQUEST && asc == 0x24 && at >= first &&
	    at <= last)
		failf(r, p->line,
		      "oracle: %s's %s of %llu blocks on lun %u was refused "
		      "for its length (INVALID FIELD IN CDB at byte %d), but "
		      "the Block Limits page says %s %llu (SBC-4 §6.6.4) "
		      "(seed %llu)",
		      p->a->name, p->verb, (unsigned long long)n, l->lun, at,
		      what, (unsigned long long)max,
		      (unsigned long long)r->seed);
}

/* READ DEFECT DATA(10/12) (SBC-4 §5.17, §5.18): our media have no
 * defects, so the answer is the header alone (4 bytes, 8 for the 12-byte
 * form) with DEFECT LIST LENGTH 0; PLISTV and GLISTV say which lists it
 * returns: the ones asked for (REQ_PLIST, REQ_GLIST), empty, in the
 * DEFECT LIST FORMAT asked for. */
static void oracle_read_defect(struct runner *r, struct pend *p,
			       struct ini_op *op)
{
	const uint8_t *c = op->cdb;
	bool twelve = c[0] == 0xb7;
	uint8_t req = (twelve ? c[1] : c[2]) & 0x1f;
	uint32_t alloc = twelve ? get_be32(c + 6) : get_be16(c + 7);
	uint32_t hdr = twelve ? 8 : 4, want = alloc < hdr ? alloc : hdr;
	bool ok = op->in_len == want;

	for (uint32_t i = 0; ok && i < op->in_len; i++)
		ok = op->in[i] == (i == 1 ? req : 0);
	if (!ok)
		failf(r, p->line,
		      "oracle: %s's READ DEFECT DATA(%d) on lun %u (REQ_PLIST "
		      "%d, REQ_GLIST %d, format %u) answered %u bytes "
		      "(byte 1 %02xh), but a medium without defects answers "
		      "the %u-byte header (at most the allocation length, "
		      "%u) with PLISTV and GLISTV as asked, the format asked "
		      "and DEFECT LIST LENGTH 0 (SBC-4 §5.17.2) (seed %llu)",
		      p->a->name, twelve ? 12 : 10, (unsigned)(p->lun & 0xffff),
		      (req >> 4) & 1, (req >> 3) & 1, req & 7, op->in_len,
		      op->in_len > 1 ? op->in[1] : 0, hdr, alloc,
		      (unsigned long long)r->seed);
}

/* ------------------------------------------------------------ entry */

void spc_oracle(struct runner *r, struct pend *p, struct ini_op *op)
{
	const uint8_t *cdb = op->cdb;

	if (r->failed || r->against || op->kind != INI_OP_SCSI)
		return;
	if (p->kind == PK_MSELECT && p->ls != NULL)
		saved_pages(r, p, op);
	if (op->outcome != INI_DONE || op->response != 0)
		return;
	if (p->ls != NULL && config_stable(r, p))
		oracle_block_limits(r, p, op);
	if (op->status == SCSI_STATUS_CHECK_CONDITION)
		oracle_sense_format(r, p, op);
	if (r->failed)
		return;
	if ((p->kind == PK_READ || p->kind == PK_WRITE) &&
	    op->status == SCSI_STATUS_CHECK_CONDITION) {
		oracle_medium_error(r, p, op);
		return;
	}
	if (cdb[0] == 0x12 && (cdb[1] & 0x01) && p->ls != NULL && !r->against)
		oracle_vpd(r, p, op);
	if (op->status != SCSI_STATUS_GOOD)
		return;
	if (cdb[0] == 0x37 || cdb[0] == 0xb7) {
		oracle_read_defect(r, p, op);
	} else if (cdb[0] == 0xa0) {
		oracle_report_luns(r, p, op);
	} else if (cdb[0] == 0x03) {
		oracle_request_sense(r, p, op);
	} else if (p->ls == NULL || !config_stable(r, p)) {
		return;
	} else if (cdb[0] == 0x12 && (cdb[1] & 0x01) && cdb[2] == 0xb2) {
		oracle_vpd_lbp(r, p, op);
	} else if (cdb[0] == 0x12 && (cdb[1] & 0x01) && cdb[2] == 0xb0) {
		oracle_vpd_block_limits(p, op);
	} else if (cdb[0] == 0x12 && (cdb[1] & 0x01) && cdb[2] == 0x83) {
		oracle_vpd83_lu_ids(r, p, op);
	} else if (cdb[0] == 0x9e && (cdb[1] & 0x1f) == 0x10) {
		oracle_readcap16(r, p, op);
	} else if (cdb[0] == 0x1a || cdb[0] == 0x5a) {
		oracle_mode_sense(r, p, op);
		oracle_mode_tas(r, p, op);
		oracle_mode_bd(r, p, op);
	} else if (cdb[0] == 0x12 && !(cdb[1] & 0x01)) {
		oracle_inquiry_std(r, p, op);
	}
}

/* At send: what the MODE SENSE oracle needs to know was quiet. */
void spc_sent(struct runner *r, struct pend *p, struct ini_op *op)
{
	(void)r;
	(void)op;
	if (p->ls == NULL)
		return;
	p->ms_alone_at = p->ls->ms_inflight == 0;
	p->ms_issued_at = p->ls->ms_issued;
}
/* --------------------------------------------------- SendTargets */

/* Every TargetAddress of a SendTargets answer (discovery, or a Text
 * Request in full feature phase) names one of the target's portals with
 * that portal's own group tag (RFC 7143 §13.9, Appendix C: "domainname
 * [:port],portal-group-tag"), which is the TargetPortalGroupTag a login
 * there gets: an initiator groups its paths by it. */
void spc_text_oracle(struct runner *r, struct pend *p, struct ini_op *op)
{
	if (r->against || op->outcome != INI_DONE || op->text == NULL)
		return;
	for (uint32_t i = 0; i < op->text_len && !r->failed;) {
		const char *kvp = op->text + i;
		const char *comma = strrchr(kvp, ',');
		bool known = false;

		i += (uint32_t)strlen(kvp) + 1;
		acl_text_oracle(r, p, kvp);
		if (strncmp(kvp, "TargetAddress=", 14) != 0)
			continue;
		for (int k = 0; k < (r->nportals ? r->nportals : 1); k++) {
			const char *addr = r->nportals ? r->portals[k]
						       : r->portal;
			unsigned int tpgt = r->nportals ? r->portal_tpgts[k]
							: 1;
			size_t alen = strlen(addr);

			if (comma == NULL ||
			    (size_t)(comma - kvp - 14) != alen ||
			    strncmp(kvp + 14, addr, alen) != 0)
				continue;
			known = true;
			if (strtoul(comma + 1, NULL, 10) != tpgt)
				failf(r, p->line,
				      "oracle: %s's %s answer says %s, but "
				      "portal %s is in portal group %u (RFC "
				      "7143 §13.9) (seed %llu)",
				      p->a->name, p->verb, kvp, addr, tpgt,
				      (unsigned long long)r->seed);
		}
		if (!known)
			failf(r, p->line,
			      "oracle: %s's %s answer says %s, which is "
			      "none of the target's portals (seed %llu)",
			      p->a->name, p->verb, kvp,
			      (unsigned long long)r->seed);
	}
}
