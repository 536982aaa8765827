/*
 * iscsi_stream.c — cut an observed iSCSI byte stream into PDUs (see
 * iscsi_stream.h for what an observer can and cannot know).
 *
 * A PDU on the wire (RFC 7143 §11.2):
 *
 *   BHS 48 | AHS 4*TotalAHSLength | [HeaderDigest 4] |
 *   Data DataSegmentLength | pad to 4 | [DataDigest 4 if data]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/pdu.h"
#include "bhs.h"
#include "digest.h"
#include "iscsi_stream.h"

/* A resynchronising decoder believes a BHS only with a data segment at
 * most this long (real ones are MaxRecvDataSegmentLength, 8 KiB to
 * 256 KiB; 16 MiB is merely what 24 bits allow). */
#define ISS_RESYNC_MAX_DSL (1u << 20)
#define ISS_RESYNC_MAX_AHS_WORDS 16

void iss_dir_init(struct iss_dir *d, struct iss_conn *c, int dir,
		  iss_pdu_fn pdu_fn, iss_note_fn note_fn, void *arg)
{
	memset(d, 0, sizeof(*d));
	d->conn = c;
	d->dir = dir;
	d->pdu_fn = pdu_fn;
	d->note_fn = note_fn;
	d->arg = arg;
}

void iss_dir_free(struct iss_dir *d)
{
	free(d->buf);
	d->buf = NULL;
	d->len = d->cap = 0;
}

static void note(struct iss_dir *d, uint64_t off, const char *what)
{
	if (d->note_fn != NULL)
		d->note_fn(d->arg, d->dir, off, what);
}

/* Could a BHS for this direction begin at p?  (Used only to find step
 * again; a stream in step is believed as it is.) */
static bool plausible_bhs(const struct iss_dir *d, const uint8_t *p)
{
	uint8_t op = p[0] & ISCSI_OPCODE_MASK;
	uint32_t dsl = (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];

	if (p[4] > ISS_RESYNC_MAX_AHS_WORDS || dsl > ISS_RESYNC_MAX_DSL)
		return false;
	if (d->dir == 0) {
		if (p[0] & 0x80)
			return false;
		return op <= ISCSI_OP_LOGOUT_REQ || op == ISCSI_OP_SNACK_REQ;
	}
	if (p[0] & 0xc0)
		return false;
	return (op >= ISCSI_OP_NOP_IN && op <= ISCSI_OP_LOGOUT_RSP) ||
	       op == ISCSI_OP_R2T || op == ISCSI_OP_ASYNC_MSG ||
	       op == ISCSI_OP_REJECT;
}

static uint32_t le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static bool is_login(uint8_t op)
{
	return op == ISCSI_OP_LOGIN_REQ || op == ISCSI_OP_LOGIN_RSP;
}

bool iss_text_get(const uint8_t *data, uint32_t len, const char *key, char *out,
		  size_t cap)
{
	size_t klen = strlen(key);
	uint32_t i = 0;

	while (i < len) {
		uint32_t j = i;

		while (j < len && data[j] != '\0')
			j++;
		if (j - i > klen && memcmp(data + i, key, klen) == 0 &&
		    data[i + klen] == '=') {
			size_t vlen = j - i - klen - 1;

			if (vlen >= cap)
				vlen = cap - 1;
			memcpy(out, data + i + klen + 1, vlen);
			out[vlen] = '\0';
			return true;
		}
		i = j + 1;
	}
	return false;
}

/* What a login PDU tells the observer. */
static void login_learn(struct iss_conn *c, const struct iss_pdu *pdu)
{
	char v[256];

	c->login_seen = true;
	if (pdu->opcode == ISCSI_OP_LOGIN_REQ) {
		if (iss_text_get(pdu->data, pdu->data_len, "InitiatorName", v,
				 sizeof(v)))
			snprintf(c->initiator, sizeof(c->initiator), "%s", v);
		if (iss_text_get(pdu->data, pdu->data_len, "TargetName", v,
				 sizeof(v)))
			snprintf(c->target, sizeof(c->target), "%s", v);
		if (iss_text_get(pdu->data, pdu->data_len, "SessionType", v,
				 sizeof(v)))
			c->discovery = strcmp(v, "Discovery") == 0;
		return;
	}
	/* The target's answer is the outcome of a negotiation (§6.2). */
	if (iss_text_get(pdu->data, pdu->data_len, "HeaderDigest", v,
			 sizeof(v)))
		c->hd = strcmp(v, "CRC32C") == 0;
	if (iss_text_get(pdu->data, pdu->data_len, "DataDigest", v, sizeof(v)))
		c->dd = strcmp(v, "CRC32C") == 0;
	if ((iss_text_get(pdu->data, pdu->data_len, "OFMarker", v, sizeof(v)) &&
	     strcmp(v, "Yes") == 0) ||
	    (iss_text_get(pdu->data, pdu->data_len, "IFMarker", v, sizeof(v)) &&
	     strcmp(v, "Yes") == 0))
		c->markers = true;
	c->tsih_isid = get_be64(pdu->bhs + 8);
	/* T=1, NSG=FullFeaturePhase and Status-Class 0: the login is over */
	if ((pdu->bhs[1] & ISCSI_LOGIN_F_TRANSIT) &&
	    ISCSI_LOGIN_NSG(pdu->bhs[1]) == ISCSI_STAGE_FULL_FEATURE &&
	    pdu->bhs[36] == 0)
		c->ffp = true;
}

/* Bytes of the PDU at buf[0] when its digests are hd/dd. */
static size_t pdu_size(const uint8_t *b, bool hd, bool dd)
{
	uint32_t ahs = (uint32_t)b[4] * 4;
	uint32_t dsl = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
	size_t n = ISCSI_BHS_LEN + ahs + (hd ? 4 : 0);

	if (dsl > 0)
		n += dsl + sim_pad4(dsl) + (dd ? 4 : 0);
	return n;
}

/* Does a header digest follow the BHS and AHS at b (have bytes)?  -1: not
 * enough bytes to tell. */
static int probe_hd(const uint8_t *b, size_t have)
{
	size_t hl = ISCSI_BHS_LEN + (size_t)b[4] * 4;

	if (have < hl + 4)
		return -1;
	return sim_digest(b, hl) == le32_get(b + hl);
}

/* Which digests does the PDU at d->buf carry?  False: not enough bytes
 * yet to decide.  When the login was not seen, the CRC decides, once per
 * direction; a PDU that ends exactly where the bytes end (the digest's
 * place empty) is taken as without, for now, without deciding. */
static bool digests_of(struct iss_dir *d, uint8_t op, bool *hd, bool *dd)
{
	struct iss_conn *c = d->conn;
	const uint8_t *b = d->buf;
	uint32_t dsl = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
	size_t hl = ISCSI_BHS_LEN + (size_t)b[4] * 4;

	if (is_login(op) || (c->login_seen && !c->ffp)) {
		*hd = *dd = false;
		return true;
	}
	if (c->login_seen) {
		*hd = c->hd;
		*dd = c->dd;
		return true;
	}
	if (!d->hd_known) {
		int r = probe_hd(b, d->len);

		if (r < 0 && !(d->len == hl + (dsl ? dsl + sim_pad4(dsl) : 0)))
			return false;
		if (r >= 0) {
			d->hd_known = true;
			d->hd_probed = r == 1;
			c->hd = d->hd_probed;
			note(d, d->off,
			     d->hd_probed ? "login not seen: header digests "
					    "found (CRC32C after the BHS)"
					  : "login not seen: no header "
					    "digests");
		}
	}
	*hd = d->hd_known && d->hd_probed;
	*dd = false;
	if (dsl > 0) {
		size_t start = hl + (*hd ? 4 : 0);
		size_t end = start + dsl + sim_pad4(dsl);

		if (d->dd_known) {
			*dd = d->dd_probed;
			return true;
		}
		if (d->len == end)
			return true; /* nothing after it yet: without */
		if (d->len < end + 4)
			return false;
		d->dd_known = true;
		d->dd_probed = sim_digest(b + start, end - start) ==
			       le32_get(b + end);
		*dd = c->dd = d->dd_probed;
	}
	return true;
}

static void consume(struct iss_dir *d, size_t n)
{
	memmove(d->buf, d->buf + n, d->len - n);
	d->len -= n;
	d->off += n;
}

/* Out of step: skip to the next plausible BHS that proves itself: its
 * header digest is right (when digests are on), or its PDU is followed
 * by another plausible BHS or ends exactly where the bytes end.  A
 * candidate whose PDU runs past what we have cannot prove itself yet: the
 * bytes from the first such are kept, unless a later candidate proves
 * itself first.  False: wait for more bytes. */
static bool resync(struct iss_dir *d)
{
	bool hd = d->conn->hd && d->conn->ffp, dd = d->conn->dd && d->conn->ffp;
	size_t i, keep_from = SIZE_MAX;

	for (i = 0; i + ISCSI_BHS_LEN <= d->len; i++) {
		const uint8_t *b = d->buf + i;
		size_t n;

		if (!plausible_bhs(d, b))
			continue;
		if (hd) {
			int r = probe_hd(b, d->len - i);

			if (r == 1)
				goto found;
			if (r == 0)
				continue;
		}
		n = pdu_size(b, hd, dd);
		if (i + n == d->len || (i + n + ISCSI_BHS_LEN <= d->len &&
					plausible_bhs(d, d->buf + i + n)))
			goto found;
		if (i + n + ISCSI_BHS_LEN > d->len && keep_from == SIZE_MAX)
			keep_from = i;
	}
	/* Keep what might still be the start of a BHS. */
	if (keep_from == SIZE_MAX)
		keep_from = i;
	if (keep_from > 0) {
		d->skipped += keep_from;
		consume(d, keep_from);
	}
	return false;
found:
	d->skipped += i;
	consume(d, i);
	d->lost = false;
	note(d, d->off, "back in step at a PDU boundary");
	return true;
}

/* Cut one PDU from the front of d->buf.  False: not enough bytes. */
static bool cut_one(struct iss_dir *d)
{
	struct iss_pdu pdu;
	const uint8_t *b = d->buf;
	uint32_t dsl, ahs, pos;
	bool hd, dd;
	size_t n;

	if (d->len < ISCSI_BHS_LEN)
		return false;
	memset(&pdu, 0, sizeof(pdu));
	pdu.opcode = b[0] & ISCSI_OPCODE_MASK;
	if (!digests_of(d, pdu.opcode, &hd, &dd))
		return false;
	n = pdu_size(b, hd, dd);
	if (d->len < n)
		return false;
	ahs = (uint32_t)b[4] * 4;
	dsl = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
	pdu.dir = d->dir;
	memcpy(pdu.bhs, b, ISCSI_BHS_LEN);
	pdu.ahs = b + ISCSI_BHS_LEN;
	pdu.ahs_len = ahs;
	pos = ISCSI_BHS_LEN + ahs;
	pdu.hd = hd;
	if (hd) {
		pdu.hd_bad = sim_digest(b, pos) != le32_get(b + pos);
		pos += 4;
	}
	pdu.data = b + pos;
	pdu.data_len = dsl;
	pdu.dd = dd && dsl > 0;
	if (pdu.dd) {
		uint32_t padded = dsl + sim_pad4(dsl);

		pdu.dd_bad = sim_digest(b + pos, padded) !=
			     le32_get(b + pos + padded);
	}
	pdu.off_first = d->off;
	pdu.off_end = d->off + n;
	pdu.bytes = (uint32_t)n;
	if (is_login(pdu.opcode))
		login_learn(d->conn, &pdu);
	d->pdus++;
	d->pdu_fn(d->arg, &pdu);
	consume(d, n);
	return true;
}

void iss_feed(struct iss_dir *d, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (d->len + n > d->cap) {
		size_t cap = d->cap ? d->cap : 4096;

		while (cap < d->len + n)
			cap *= 2;
		d->buf = realloc(d->buf, cap);
		if (d->buf == NULL)
			abort();
		d->cap = cap;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	for (;;) {
		if (d->conn->markers)
			return; /* undecodable; said once at the login */
		if (d->lost && !resync(d))
			return;
		if (!cut_one(d))
			return;
	}
}

void iss_gap(struct iss_dir *d, uint64_t n)
{
	if (n == 0)
		return;
	/* What we held is cut short: a PDU that straddles a gap is lost. */
	if (d->len > 0 || !d->lost) {
		d->skipped += d->len;
		d->off += d->len + n;
		d->len = 0;
	} else {
		d->off += n;
	}
	d->skipped += n;
	d->lost = true;
	note(d, d->off, "bytes missing: out of step until a PDU boundary");
}

const char *iss_opcode_name(uint8_t op)
{
	switch (op & ISCSI_OPCODE_MASK) {
	case ISCSI_OP_NOP_OUT:
		return "NOP-Out";
	case ISCSI_OP_SCSI_CMD:
		return "SCSI-Cmd";
	case ISCSI_OP_TMF_REQ:
		return "TMF-Req";
	case ISCSI_OP_LOGIN_REQ:
		return "Login-Req";
	case ISCSI_OP_TEXT_REQ:
		return "Text-Req";
	case ISCSI_OP_DATA_OUT:
		return "Data-Out";
	case ISCSI_OP_LOGOUT_REQ:
		return "Logout-Req";
	case ISCSI_OP_SNACK_REQ:
		return "SNACK";
	case ISCSI_OP_NOP_IN:
		return "NOP-In";
	case ISCSI_OP_SCSI_RSP:
		return "SCSI-Rsp";
	case ISCSI_OP_TMF_RSP:
		return "TMF-Rsp";
	case ISCSI_OP_LOGIN_RSP:
		return "Login-Rsp";
	case ISCSI_OP_TEXT_RSP:
		return "Text-Rsp";
	case ISCSI_OP_DATA_IN:
		return "Data-In";
	case ISCSI_OP_LOGOUT_RSP:
		return "Logout-Rsp";
	case ISCSI_OP_R2T:
		return "R2T";
	case ISCSI_OP_ASYNC_MSG:
		return "Async";
	case ISCSI_OP_REJECT:
		return "Reject";
	default:
		return "?";
	}
}

const char *iss_cdb_name(uint8_t op)
{
	switch (op) {
	case 0x00:
		return "TEST UNIT READY";
	case 0x03:
		return "REQUEST SENSE";
	case 0x04:
		return "FORMAT UNIT";
	case 0x08:
		return "READ(6)";
	case 0x0a:
		return "WRITE(6)";
	case 0x12:
		return "INQUIRY";
	case 0x15:
		return "MODE SELECT(6)";
	case 0x16:
		return "RESERVE(6)";
	case 0x17:
		return "RELEASE(6)";
	case 0x1a:
		return "MODE SENSE(6)";
	case 0x1b:
		return "START STOP UNIT";
	case 0x1e:
		return "PREVENT ALLOW MEDIUM REMOVAL";
	case 0x25:
		return "READ CAPACITY(10)";
	case 0x28:
		return "READ(10)";
	case 0x2a:
		return "WRITE(10)";
	case 0x2e:
		return "WRITE AND VERIFY(10)";
	case 0x2f:
		return "VERIFY(10)";
	case 0x35:
		return "SYNCHRONIZE CACHE(10)";
	case 0x37:
		return "READ DEFECT DATA(10)";
	case 0x3b:
		return "WRITE BUFFER";
	case 0x3c:
		return "READ BUFFER";
	case 0x41:
		return "WRITE SAME(10)";
	case 0x42:
		return "UNMAP";
	case 0x4d:
		return "LOG SENSE";
	case 0x55:
		return "MODE SELECT(10)";
	case 0x5a:
		return "MODE SENSE(10)";
	case 0x5e:
		return "PERSISTENT RESERVE IN";
	case 0x5f:
		return "PERSISTENT RESERVE OUT";
	case 0x83:
		return "EXTENDED COPY";
	case 0x84:
		return "RECEIVE COPY RESULTS";
	case 0x88:
		return "READ(16)";
	case 0x89:
		return "COMPARE AND WRITE";
	case 0x8a:
		return "WRITE(16)";
	case 0x8e:
		return "WRITE AND VERIFY(16)";
	case 0x8f:
		return "VERIFY(16)";
	case 0x91:
		return "SYNCHRONIZE CACHE(16)";
	case 0x93:
		return "WRITE SAME(16)";
	case 0x9e:
		return "SERVICE ACTION IN(16)";
	case 0xa0:
		return "REPORT LUNS";
	case 0xa3:
		return "MAINTENANCE IN";
	case 0xa8:
		return "READ(12)";
	case 0xaa:
		return "WRITE(12)";
	default:
		return NULL;
	}
}
