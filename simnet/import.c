/*
 * import.c — `utarget-sim import CAPTURE.pcap[ng] [--target-port N]
 * [--exact|--loose]`: a captured iSCSI session becomes a scenario
 * (docs/scenarios.md, "Captures as scenarios").
 *
 * The capture's TCP streams (pcap_tcp.c) are cut into PDUs
 * (iscsi_stream.c).  Each connection's initiator becomes an actor, and
 * what it did becomes lines: its login with the keys it proposed, its
 * SCSI commands as `cdb` lines with the captured CDB, LUN, direction,
 * length and the bytes it wrote, NOP-Out pings, task management (an
 * ABORT TASK names the command it aborts by label), logout, a
 * disconnect without logout, discovery sessions.  The target's captured
 * answers become the expectations:
 *
 *   --loose   status only (GOOD, CHECK CONDITION, ...), the login and
 *             TMF and logout responses;
 *   --exact   (the default) also the sense key, ASC and ASCQ, the
 *             Data-In bytes (their CRC32C and count) and the residual
 *             count.  A read of blocks this capture never wrote whose
 *             captured data was not zeros is not compared (the captured
 *             target's disk held what we cannot know; the simulated
 *             disk starts zeroed), and says so.
 *
 * The target side of the scenario follows the capture too: its IQN, a
 * simulated disk per LUN with the block size and capacity of the
 * captured READ CAPACITY answers, and the negotiated limits of the
 * captured Login Responses as target parameters.
 *
 * Commands that overlapped in the capture (one was sent before another's
 * answer came, from any connection) run in the background (`&`), with a
 * `wait` when the capture had nothing outstanding again; the others run
 * in the foreground, one after the other.  Pauses of more than 100 ms
 * become `+DURATION` lines.
 *
 * What could not be used (gaps, undecodable PDUs, CHAP secrets, more
 * connections at once than the runner has actors, ...) is listed in the
 * scenario's header and on stderr.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "iscsi/pdu.h"
#include "iscsi_stream.h"
#include "pcap_tcp.h"

#define IM_MAX_ACTORS 8		    /* as the scenario runner (MAX_ACTORS) */
#define IM_MAX_WRITE_HEX (1u << 20) /* bytes of write data written out */
#define IM_MAX_LUNS 8
#define IM_MAX_DATA_HEX 512 /* answers compared byte by byte, else CRC */
#define IM_PAUSE_S 0.1

enum im_kind {
	IM_LOGIN,
	IM_DISCOVERY,
	IM_SCSI,
	IM_NOP,
	IM_TMF,
	IM_LOGOUT,
	IM_DISCONNECT,
};

struct im_item {
	enum im_kind kind;
	int actor;
	unsigned conn;
	double t_sent, t_done;
	bool answered;
	uint32_t itt;
	/* login / discovery */
	char keys[1024];
	uint16_t login_status;
	int targets;
	/* SCSI */
	uint64_t lun;
	uint8_t cdb[16];
	bool r, w, immediate;
	uint32_t edtl, cmdsn;
	int32_t cmdsn_delta;
	uint8_t *out, *in;
	uint32_t out_len, in_len, in_cap;
	uint8_t response, status, rflags;
	uint8_t sense[32];
	uint32_t sense_len, residual;
	bool label_needed;
	bool background; /* overlapped another: `&` */
	/* TMF */
	uint8_t tmf_fn;
	int ref_item;
	/* logout */
	uint8_t logout_reason;
};

struct im_conn {
	unsigned id;
	int actor; /* -1 none */
	struct iss_conn ic;
	struct iss_dir d[2];
	char keys[1024]; /* the initiator's login proposals */
	int login_item;
	bool logged_out, ended, skipped;
	uint32_t next_cmdsn;
	bool cmdsn_known;
	uint8_t isid[6];
	char initiator_addr[80];
};

struct im_actor {
	char iqn[256];
	uint8_t isid[6];
	unsigned conn; /* current connection, 0 free */
	bool used;
};

struct im_lun {
	uint64_t lun;
	bool seen, cap_known, not_disk;
	uint32_t block;
	uint64_t blocks;
	uint8_t pdt;
	/* written LBA ranges */
	uint64_t (*w)[2];
	size_t nw;
};

struct im {
	struct im_item *items;
	size_t nitems, cap;
	struct im_conn **conns;
	size_t nconns;
	struct im_actor actors[IM_MAX_ACTORS];
	int nactors;
	struct im_lun luns[IM_MAX_LUNS];
	int nluns;
	char target[256];
	char params[512];
	bool exact;
	char *notes;
	size_t notes_len;
	double t;
	uint64_t pdus, undecoded;
};

static void notef(struct im *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void notef(struct im *m, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	m->notes = realloc(m->notes, m->notes_len + n + 2);
	if (m->notes == NULL)
		abort();
	memcpy(m->notes + m->notes_len, buf, n);
	m->notes[m->notes_len + n] = '\n';
	m->notes_len += n + 1;
	m->notes[m->notes_len] = '\0';
}

static struct im_item *item_new(struct im *m, enum im_kind kind,
				struct im_conn *c)
{
	struct im_item *it;

	if (m->nitems == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 256;
		m->items = realloc(m->items, m->cap * sizeof(*m->items));
		if (m->items == NULL)
			abort();
	}
	it = &m->items[m->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->actor = c->actor;
	it->conn = c->id;
	it->t_sent = it->t_done = m->t;
	it->ref_item = -1;
	it->targets = -1;
	return it;
}

/* The newest unanswered item of connection c with this ITT. */
static struct im_item *item_by_itt(struct im *m, unsigned conn, uint32_t itt)
{
	for (size_t i = m->nitems; i-- > 0;)
		if (m->items[i].conn == conn && m->items[i].itt == itt &&
		    m->items[i].kind != IM_DISCONNECT)
			return &m->items[i];
	return NULL;
}

static struct im_conn *conn_of(struct im *m, unsigned id)
{
	for (size_t i = 0; i < m->nconns; i++)
		if (m->conns[i]->id == id)
			return m->conns[i];
	return NULL;
}

static struct im_lun *lun_of(struct im *m, uint64_t lun)
{
	for (int i = 0; i < m->nluns; i++)
		if (m->luns[i].lun == lun)
			return &m->luns[i];
	if (m->nluns == IM_MAX_LUNS)
		return NULL;
	memset(&m->luns[m->nluns], 0, sizeof(m->luns[0]));
	m->luns[m->nluns].lun = lun;
	m->luns[m->nluns].block = 512;
	return &m->luns[m->nluns++];
}

/* SAM-5 §4.7: a LUN of the single level (peripheral or flat) format. */
static uint64_t lun_decode(const uint8_t *b)
{
	if ((b[0] >> 6) == 0)
		return b[1];
	if ((b[0] >> 6) == 1)
		return (uint64_t)(b[0] & 0x3f) << 8 | b[1];
	return UINT64_MAX;
}

/* ---------------------------------------------------------- actors */

static int actor_for(struct im *m, struct im_conn *c)
{
	const char *iqn = c->ic.initiator[0] ? c->ic.initiator
					     : "iqn.2026-11.org.utarget:import";
	int free_same = -1;

	for (int i = 0; i < m->nactors; i++) {
		struct im_actor *a = &m->actors[i];

		if (a->conn != 0 || strcmp(a->iqn, iqn) != 0)
			continue;
		if (memcmp(a->isid, c->isid, 6) == 0)
			return i;
		if (free_same < 0)
			free_same = i;
	}
	if (m->nactors < IM_MAX_ACTORS) {
		struct im_actor *a = &m->actors[m->nactors];

		snprintf(a->iqn, sizeof(a->iqn), "%s", iqn);
		memcpy(a->isid, c->isid, 6);
		return m->nactors++;
	}
	return free_same;
}

static void actor_release(struct im *m, struct im_conn *c)
{
	if (c->actor >= 0 && m->actors[c->actor].conn == c->id)
		m->actors[c->actor].conn = 0;
}

/* ------------------------------------------------------- PDUs in */

static bool is_op_key(const char *k)
{
	static const char *const keys[] = {
		"HeaderDigest",
		"DataDigest",
		"MaxRecvDataSegmentLength",
		"InitialR2T",
		"ImmediateData",
		"FirstBurstLength",
		"MaxBurstLength",
		"MaxOutstandingR2T",
		"MaxConnections",
		"DefaultTime2Wait",
		"DefaultTime2Retain",
		"ErrorRecoveryLevel",
		"DataPDUInOrder",
		"DataSequenceInOrder",
		"IFMarker",
		"OFMarker",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return true;
	return false;
}

/* Keep the initiator's proposals of the keys the actor can send. */
static void login_keys(struct im *m, struct im_conn *c, const uint8_t *data,
		       uint32_t len)
{
	for (uint32_t i = 0; i < len;) {
		char kv[512], *eq;
		uint32_t j = i;

		while (j < len && data[j] != '\0')
			j++;
		snprintf(kv, sizeof(kv), "%.*s", (int)(j - i),
			 (const char *)data + i);
		i = j + 1;
		eq = strchr(kv, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		if (strcmp(kv, "AuthMethod") == 0 && strstr(eq + 1, "CHAP") &&
		    strstr(c->keys, "#chap") == NULL) {
			notef(m,
			      "connection %u: the initiator offered CHAP; "
			      "its secret is not in the capture, so the "
			      "scenario logs in without authentication",
			      c->id);
			strcat(c->keys, "#chap");
		}
		if (!is_op_key(kv) || strchr(eq + 1, ' ') != NULL)
			continue;
		/* the last proposal counts */
		{
			char *old = strstr(c->keys, kv);
			size_t klen = strlen(kv);

			if (old != NULL && old[klen] == '=') {
				char *end = strchr(old, ' ');

				memmove(old, end ? end + 1 : old + strlen(old),
					strlen(end ? end + 1 : "") + 1);
			}
		}
		if (strlen(c->keys) + strlen(kv) + strlen(eq + 1) + 3 <
		    sizeof(c->keys))
			sprintf(c->keys + strlen(c->keys), "%s=%s ", kv,
				eq + 1);
	}
}

/* The target's answers in its Login Responses that the simulated
 * target's configuration can take (its own declarations and the
 * negotiated limits). */
static void target_params(struct im *m, const uint8_t *data, uint32_t len)
{
	static const char *const keys[] = {
		"MaxRecvDataSegmentLength",
		"MaxBurstLength",
		"FirstBurstLength",
		"MaxOutstandingR2T",
		"InitialR2T",
		"ImmediateData",
	};
	char v[64];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		char kv[128];

		if (!iss_text_get(data, len, keys[k], v, sizeof(v)) ||
		    strchr(v, ' '))
			continue;
		snprintf(kv, sizeof(kv), "%s=", keys[k]);
		if (strstr(m->params, kv) != NULL)
			continue;
		if (strlen(m->params) + strlen(kv) + strlen(v) + 2 <
		    sizeof(m->params))
			sprintf(m->params + strlen(m->params), " %s%s", kv, v);
	}
}

static void login_pdu(struct im *m, struct im_conn *c, const struct iss_pdu *p)
{
	struct im_item *it;

	if (p->dir == 0) {
		if (c->login_item < 0) {
			memcpy(c->isid, p->bhs + 8, 6);
			if (get_be16(p->bhs + 14) != 0)
				notef(m,
				      "connection %u: a login to an existing "
				      "session (TSIH %u, another connection "
				      "of it): logged in as a new session",
				      c->id, get_be16(p->bhs + 14));
		}
		login_keys(m, c, p->data, p->data_len);
		if (c->login_item < 0 && !c->skipped) {
			c->actor = actor_for(m, c);
			if (c->actor < 0) {
				notef(m,
				      "connection %u: more than %d "
				      "connections at once; skipped",
				      c->id, IM_MAX_ACTORS);
				c->skipped = true;
				return;
			}
			m->actors[c->actor].conn = c->id;
			m->actors[c->actor].used = true;
			it = item_new(m,
				      c->ic.discovery ? IM_DISCOVERY : IM_LOGIN,
				      c);
			it->itt = get_be32(p->bhs + 16);
			c->login_item = (int)(it - m->items);
		}
		return;
	}
	if (c->login_item < 0 || c->skipped)
		return;
	it = &m->items[c->login_item];
	if (!c->ic.discovery)
		target_params(m, p->data, p->data_len);
	it->login_status = (uint16_t)(p->bhs[36] << 8 | p->bhs[37]);
	if (it->login_status != 0 || c->ic.ffp) {
		it->answered = true;
		it->t_done = m->t;
		snprintf(it->keys, sizeof(it->keys), "%s", c->keys);
	}
	if (c->ic.ffp && !c->ic.discovery && c->ic.target[0] &&
	    m->target[0] == '\0')
		snprintf(m->target, sizeof(m->target), "%s", c->ic.target);
	c->next_cmdsn = get_be32(p->bhs + 28); /* ExpCmdSN */
	c->cmdsn_known = true;
}

static void scsi_cmd(struct im *m, struct im_conn *c, const struct iss_pdu *p)
{
	struct im_item *it = item_new(m, IM_SCSI, c);
	const uint8_t *b = p->bhs;
	struct im_lun *l;

	it->itt = get_be32(b + 16);
	it->lun = lun_decode(b + 8);
	memcpy(it->cdb, b + 32, 16);
	it->r = (b[1] & ISCSI_CMD_F_READ) != 0;
	it->w = (b[1] & ISCSI_CMD_F_WRITE) != 0;
	it->edtl = get_be32(b + 20);
	it->cmdsn = get_be32(b + 24);
	it->immediate = (b[0] & ISCSI_FLAG_IMMEDIATE) != 0;
	if (c->cmdsn_known && it->cmdsn != c->next_cmdsn)
		it->cmdsn_delta = (int32_t)(it->cmdsn - c->next_cmdsn);
	if (!it->immediate) {
		c->next_cmdsn = it->cmdsn + 1;
		c->cmdsn_known = true;
	}
	if (it->w && it->edtl > 0) {
		it->out = calloc(1, it->edtl);
		if (it->out == NULL)
			abort();
		it->out_len = p->data_len < it->edtl ? p->data_len : it->edtl;
		memcpy(it->out, p->data, it->out_len);
	}
	l = it->lun != UINT64_MAX ? lun_of(m, it->lun) : NULL;
	if (l != NULL)
		l->seen = true;
}

static void data_out(struct im *m, struct im_conn *c, const struct iss_pdu *p)
{
	struct im_item *it = item_by_itt(m, c->id, get_be32(p->bhs + 16));
	uint32_t off = get_be32(p->bhs + 40);

	if (it == NULL || it->kind != IM_SCSI || it->out == NULL)
		return;
	if (off > it->edtl || p->data_len > it->edtl - off)
		return; /* the target's business (it may Reject) */
	memcpy(it->out + off, p->data, p->data_len);
	if (off + p->data_len > it->out_len)
		it->out_len = off + p->data_len;
}

static void answer_scsi(struct im *m, struct im_item *it,
			const struct iss_pdu *p)
{
	const uint8_t *b = p->bhs;

	it->answered = true;
	it->t_done = m->t;
	it->response = p->opcode == ISCSI_OP_SCSI_RSP ? b[2] : 0;
	it->status = b[3];
	it->rflags = b[1];
	it->residual = (b[1] & (ISCSI_RSP_F_OVERFLOW | ISCSI_RSP_F_UNDERFLOW))
			       ? get_be32(b + 44)
			       : 0;
	if (p->opcode == ISCSI_OP_SCSI_RSP && p->data_len >= 2) {
		uint32_t n = get_be16(p->data);

		if (n + 2 <= p->data_len) {
			it->sense_len =
				n < sizeof(it->sense) ? n : sizeof(it->sense);
			memcpy(it->sense, p->data + 2, it->sense_len);
		}
	}
}

static void data_in(struct im *m, struct im_conn *c, const struct iss_pdu *p)
{
	struct im_item *it = item_by_itt(m, c->id, get_be32(p->bhs + 16));
	uint32_t off = get_be32(p->bhs + 40);

	if (it == NULL || it->kind != IM_SCSI)
		return;
	if (off <= it->edtl && p->data_len <= it->edtl - off) {
		if (it->in == NULL) {
			it->in = calloc(1, it->edtl ? it->edtl : 1);
			if (it->in == NULL)
				abort();
		}
		memcpy(it->in + off, p->data, p->data_len);
		if (off + p->data_len > it->in_len)
			it->in_len = off + p->data_len;
	}
	if (p->bhs[1] & ISCSI_DATAIN_F_STATUS)
		answer_scsi(m, it, p);
}

static void tmf_req(struct im *m, struct im_conn *c, const struct iss_pdu *p)
{
	struct im_item *it = item_new(m, IM_TMF, c);
	struct im_item *ref;

	it->itt = get_be32(p->bhs + 16);
	it->tmf_fn = p->bhs[1] & 0x7f;
	it->lun = lun_decode(p->bhs + 8);
	if (it->tmf_fn == ISCSI_TMF_ABORT_TASK) {
		ref = item_by_itt(m, c->id, get_be32(p->bhs + 20));
		if (ref != NULL && ref->kind == IM_SCSI) {
			ref->label_needed = true;
			it->ref_item = (int)(ref - m->items);
		}
	}
	if (!(p->bhs[0] & ISCSI_FLAG_IMMEDIATE))
		c->next_cmdsn = get_be32(p->bhs + 24) + 1;
}

/* The decoder's callback carries the connection; the importer is kept
 * here while one capture is read (one import per process). */
static struct im *im_cur;

static void pdu_in(void *arg, const struct iss_pdu *p)
{
	struct im_conn *c = arg;
	struct im *m = im_cur;
	struct im_item *it;

	m->pdus++;
	if (p->hd_bad || p->dd_bad)
		notef(m, "connection %u: a %s with a wrong %s digest", c->id,
		      iss_opcode_name(p->opcode),
		      p->hd_bad ? "header" : "data");
	if (p->opcode == ISCSI_OP_LOGIN_REQ ||
	    p->opcode == ISCSI_OP_LOGIN_RSP) {
		login_pdu(m, c, p);
		return;
	}
	if (c->skipped || c->actor < 0)
		return;
	switch (p->opcode) {
	case ISCSI_OP_SCSI_CMD:
		scsi_cmd(m, c, p);
		break;
	case ISCSI_OP_DATA_OUT:
		data_out(m, c, p);
		break;
	case ISCSI_OP_DATA_IN:
		data_in(m, c, p);
		break;
	case ISCSI_OP_SCSI_RSP:
		it = item_by_itt(m, c->id, get_be32(p->bhs + 16));
		if (it != NULL && it->kind == IM_SCSI)
			answer_scsi(m, it, p);
		break;
	case ISCSI_OP_NOP_OUT:
		/* a ping of its own; answers to the target's NOP-Ins the
		 * actor gives by itself */
		if (get_be32(p->bhs + 16) != ISCSI_RESERVED_TAG) {
			it = item_new(m, IM_NOP, c);
			it->itt = get_be32(p->bhs + 16);
		}
		break;
	case ISCSI_OP_NOP_IN:
		it = item_by_itt(m, c->id, get_be32(p->bhs + 16));
		if (it != NULL && it->kind == IM_NOP) {
			it->answered = true;
			it->t_done = m->t;
		}
		break;
	case ISCSI_OP_TMF_REQ:
		tmf_req(m, c, p);
		break;
	case ISCSI_OP_TMF_RSP:
		it = item_by_itt(m, c->id, get_be32(p->bhs + 16));
		if (it != NULL && it->kind == IM_TMF) {
			it->answered = true;
			it->t_done = m->t;
			it->response = p->bhs[2];
		}
		break;
	case ISCSI_OP_TEXT_REQ:
		if (!c->ic.discovery)
			notef(m,
			      "connection %u: a Text Request in a normal "
			      "session is not replayed",
			      c->id);
		break;
	case ISCSI_OP_TEXT_RSP:
		if (c->ic.discovery && c->login_item >= 0) {
			int n = 0;

			for (uint32_t i = 0; i + 11 <= p->data_len; i++)
				if ((i == 0 || p->data[i - 1] == '\0') &&
				    memcmp(p->data + i, "TargetName=", 11) == 0)
					n++;
			it = &m->items[c->login_item];
			it->targets = it->targets < 0 ? n : it->targets + n;
		}
		break;
	case ISCSI_OP_LOGOUT_REQ:
		if (c->ic.discovery)
			break; /* the discovery verb logs out itself */
		it = item_new(m, IM_LOGOUT, c);
		it->itt = get_be32(p->bhs + 16);
		it->logout_reason = p->bhs[1] & 0x7f;
		break;
	case ISCSI_OP_LOGOUT_RSP:
		c->logged_out = true;
		it = item_by_itt(m, c->id, get_be32(p->bhs + 16));
		if (it != NULL && it->kind == IM_LOGOUT) {
			it->answered = true;
			it->t_done = m->t;
			it->response = p->bhs[2];
		}
		break;
	case ISCSI_OP_R2T:
	case ISCSI_OP_ASYNC_MSG:
		break; /* the actor answers R2Ts; events it handles */
	case ISCSI_OP_REJECT:
		notef(m, "connection %u: the target sent Reject reason 0x%02x",
		      c->id, p->bhs[2]);
		break;
	default:
		notef(m, "connection %u: %s (opcode 0x%02x) is not replayed",
		      c->id, iss_opcode_name(p->opcode), p->opcode);
	}
}

static void stream_note(void *arg, int dir, uint64_t off, const char *what)
{
	struct im_conn *c = arg;

	notef(im_cur, "connection %u %s at byte %" PRIu64 ": %s", c->id,
	      dir ? "target->initiator" : "initiator->target", off, what);
}

/* ------------------------------------------------------ TCP events */

static void cb_conn(void *arg, unsigned conn, const char *ini, const char *tgt,
		    double t_s)
{
	struct im *m = arg;
	struct im_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	c->id = conn;
	c->actor = -1;
	c->login_item = -1;
	snprintf(c->initiator_addr, sizeof(c->initiator_addr), "%s", ini);
	for (int d = 0; d < 2; d++)
		iss_dir_init(&c->d[d], &c->ic, d, pdu_in, stream_note, c);
	m->conns = realloc(m->conns, (m->nconns + 1) * sizeof(*m->conns));
	if (m->conns == NULL)
		abort();
	m->conns[m->nconns++] = c;
	m->t = t_s;
	(void)tgt;
}

static void cb_data(void *arg, unsigned conn, int dir, const uint8_t *p,
		    size_t n, double t_s)
{
	struct im *m = arg;
	struct im_conn *c = conn_of(m, conn);

	m->t = t_s;
	if (c != NULL)
		iss_feed(&c->d[dir], p, n);
}

static void cb_gap(void *arg, unsigned conn, int dir, uint64_t n, double t_s)
{
	struct im *m = arg;
	struct im_conn *c = conn_of(m, conn);

	m->t = t_s;
	notef(m,
	      "connection %u %s: %" PRIu64 " bytes missing from the "
	      "capture (what they carried is lost)",
	      conn, dir ? "target->initiator" : "initiator->target", n);
	if (c != NULL)
		iss_gap(&c->d[dir], n);
}

static void cb_end(void *arg, unsigned conn, int dir, bool rst, double t_s)
{
	struct im *m = arg;
	struct im_conn *c = conn_of(m, conn);

	m->t = t_s;
	if (c == NULL || c->ended)
		return;
	c->ended = true;
	if (!c->logged_out && !c->ic.discovery && c->actor >= 0 &&
	    !c->skipped && c->login_item >= 0 && dir == 0) {
		struct im_item *it = item_new(m, IM_DISCONNECT, c);

		it->answered = true;
		it->response = rst;
	}
	actor_release(m, c);
}

/* ---------------------------------------------------------- output */

static void lba_range(const uint8_t *cdb, uint64_t *lba, uint64_t *n)
{
	*lba = *n = 0;
	switch (cdb[0]) {
	case 0x08: /* READ(6) / WRITE(6) */
	case 0x0a:
		*lba = (uint64_t)(cdb[1] & 0x1f) << 16 | get_be16(cdb + 2);
		*n = cdb[4] ? cdb[4] : 256;
		break;
	case 0x28:
	case 0x2a:
	case 0x2e:
	case 0x41:
		*lba = get_be32(cdb + 2);
		*n = get_be16(cdb + 7);
		break;
	case 0xa8:
	case 0xaa:
		*lba = get_be32(cdb + 2);
		*n = get_be32(cdb + 6);
		break;
	case 0x88:
	case 0x8a:
	case 0x8e:
	case 0x93:
		*lba = get_be64(cdb + 2);
		*n = get_be32(cdb + 10);
		break;
	case 0x89:
		*lba = get_be64(cdb + 2);
		*n = cdb[13];
		break;
	}
}

static bool is_media_read(uint8_t op)
{
	return op == 0x08 || op == 0x28 || op == 0xa8 || op == 0x88;
}

static bool is_media_write(uint8_t op)
{
	return op == 0x0a || op == 0x2a || op == 0xaa || op == 0x8a ||
	       op == 0x2e || op == 0x8e || op == 0x41 || op == 0x93 ||
	       op == 0x89;
}

static void lun_written(struct im_lun *l, uint64_t lba, uint64_t n)
{
	l->w = realloc(l->w, (l->nw + 1) * sizeof(*l->w));
	if (l->w == NULL)
		abort();
	l->w[l->nw][0] = lba;
	l->w[l->nw][1] = lba + n;
	l->nw++;
}

static bool lun_all_written(const struct im_lun *l, uint64_t lba, uint64_t n)
{
	for (uint64_t b = lba; b < lba + n; b++) {
		bool in = false;

		for (size_t i = 0; i < l->nw && !in; i++)
			in = b >= l->w[i][0] && b < l->w[i][1];
		if (!in)
			return false;
	}
	return true;
}

static bool all_zero(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* What the answers say about the LUNs: READ CAPACITY, INQUIRY. */
static void learn_luns(struct im *m)
{
	for (size_t i = 0; i < m->nitems; i++) {
		struct im_item *it = &m->items[i];
		struct im_lun *l;

		if (it->kind != IM_SCSI || !it->answered || it->status != 0 ||
		    it->lun == UINT64_MAX || (l = lun_of(m, it->lun)) == NULL)
			continue;
		if (it->cdb[0] == 0x25 && it->in_len >= 8) {
			l->blocks = (uint64_t)get_be32(it->in) + 1;
			l->block = get_be32(it->in + 4);
			l->cap_known = true;
		} else if (it->cdb[0] == 0x9e && (it->cdb[1] & 0x1f) == 0x10 &&
			   it->in_len >= 12) {
			l->blocks = get_be64(it->in) + 1;
			l->block = get_be32(it->in + 8);
			l->cap_known = true;
		} else if (it->cdb[0] == 0x12 && !(it->cdb[1] & 1) &&
			   it->in_len >= 1) {
			l->pdt = it->in[0] & 0x1f;
			l->not_disk = l->pdt != 0 || (it->in[0] >> 5) != 0;
		}
	}
}

static void hex_out(FILE *f, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static void scsi_line(struct im *m, FILE *f, const struct im_item *it,
		      size_t idx)
{
	int cdb_len = it->cdb[0] >> 5 == 0   ? 6
		      : it->cdb[0] >> 5 <= 2 ? 10
		      : it->cdb[0] >> 5 == 4 ? 16
		      : it->cdb[0] >> 5 == 5 ? 12
					     : 16;
	struct im_lun *l = it->lun != UINT64_MAX ? lun_of(m, it->lun) : NULL;
	uint64_t lba, n;
	const char *nm = iss_cdb_name(it->cdb[0]);

	fprintf(f, "# %s\n", nm ? nm : "(command)");
	fprintf(f, "%c cdb ", 'A' + it->actor);
	hex_out(f, it->cdb, (uint32_t)cdb_len);
	if (it->lun != 0 && it->lun != UINT64_MAX)
		fprintf(f, " lun=%" PRIu64, it->lun);
	if (it->r && !it->w)
		fprintf(f, " in=%u", it->edtl);
	if (it->w) {
		fprintf(f, " out=%u", it->edtl);
		if (it->out != NULL && it->out_len > 0 &&
		    !all_zero(it->out, it->out_len)) {
			if (it->out_len <= IM_MAX_WRITE_HEX) {
				fprintf(f, " data-hex=");
				hex_out(f, it->out, it->out_len);
			} else {
				notef(m,
				      "line of item %zu: %u bytes of write "
				      "data not written out (zeros sent)",
				      idx, it->out_len);
			}
		}
	}
	if (it->cmdsn_delta != 0)
		fprintf(f, " cmdsn=%+d", it->cmdsn_delta);
	if (it->label_needed)
		fprintf(f, " as=t%zu", idx);
	if (it->background)
		fputs(" &", f);
	if (!it->answered) {
		fputs(" expect any\n", f);
		return;
	}
	if (it->response != 0) {
		fprintf(f, " expect fail   # iSCSI response 0x%02x\n",
			it->response);
		return;
	}
	fputs(" expect", f);
	if (it->status == 0x02 && m->exact && it->sense_len >= 3) {
		unsigned sk, asc = 0, ascq = 0;

		if ((it->sense[0] & 0x7f) >= 0x72) {
			sk = it->sense[1] & 0xf;
			asc = it->sense[2];
			ascq = it->sense_len > 3 ? it->sense[3] : 0;
		} else {
			sk = it->sense[2] & 0xf;
			asc = it->sense_len > 12 ? it->sense[12] : 0;
			ascq = it->sense_len > 13 ? it->sense[13] : 0;
		}
		fprintf(f, " sense=%x/%02x/%02x", sk, asc, ascq);
	} else if (it->status == 0) {
		fputs(" good", f);
	} else {
		fprintf(f, " status=0x%02x", it->status);
	}
	if (!m->exact) {
		fputc('\n', f);
		return;
	}
	if (it->status == 0 && it->r) {
		bool compare = true;

		lba_range(it->cdb, &lba, &n);
		if (is_media_read(it->cdb[0]) && l != NULL && it->in_len > 0 &&
		    !all_zero(it->in, it->in_len) &&
		    !lun_all_written(l, lba, n)) {
			compare = false;
			fprintf(f, " data=any   # blocks this capture did not "
				   "write held data: not compared");
		}
		if (compare && it->in_len <= IM_MAX_DATA_HEX) {
			fputs(" data-hex=", f);
			hex_out(f, it->in, it->in_len);
		} else if (compare) {
			fprintf(f, " data-crc=%08x/%u",
				it->in_len ? iscsi_digest(it->in, it->in_len)
					   : 0,
				it->in_len);
		}
	}
	if (it->status == 0 || it->residual != 0)
		fprintf(f, " residual=%u", it->residual);
	fputc('\n', f);
}

static const char *tmf_verb(uint8_t fn)
{
	switch (fn) {
	case ISCSI_TMF_ABORT_TASK:
		return "abort";
	case ISCSI_TMF_ABORT_TASK_SET:
		return "abort-task-set";
	case ISCSI_TMF_CLEAR_TASK_SET:
		return "clear-task-set";
	case ISCSI_TMF_LOGICAL_UNIT_RESET:
		return "lun-reset";
	case ISCSI_TMF_TARGET_WARM_RESET:
	case ISCSI_TMF_TARGET_COLD_RESET:
		return "target-reset";
	default:
		return NULL;
	}
}

static void keys_out(FILE *f, const char *keys)
{
	static const char *const dflt[] = {
		"HeaderDigest",
		"DataDigest",
		"MaxRecvDataSegmentLength",
		"InitialR2T",
		"ImmediateData",
		"FirstBurstLength",
		"MaxBurstLength",
		"MaxOutstandingR2T",
		"MaxConnections",
		"DefaultTime2Wait",
		"DefaultTime2Retain",
		"ErrorRecoveryLevel",
		"DataPDUInOrder",
		"DataSequenceInOrder",
		"IFMarker",
		"OFMarker",
	};
	bool any = false;

	for (const char *k = keys; *k;) {
		const char *sp = strchr(k, ' ');
		size_t n = sp ? (size_t)(sp - k) : strlen(k);

		if (k[0] != '#') {
			fprintf(f, " %.*s", (int)n, k);
			any = true;
		}
		k += n + (sp ? 1 : 0);
	}
	/* keys the captured initiator did not send, ours does not either */
	for (size_t i = 0; any && i < sizeof(dflt) / sizeof(dflt[0]); i++) {
		char pat[64];

		snprintf(pat, sizeof(pat), "%s=", dflt[i]);
		if (strstr(keys, pat) == NULL)
			fprintf(f, " %s=-", dflt[i]);
	}
}

/* Identity data (SPC-4 §6.6.2 vendor, product, revision; VPD pages 80h
 * serial number and 83h designators) differs between any two targets by
 * nature: compared by status only. */
static bool identity_data(const uint8_t *cdb)
{
	if (cdb[0] != 0x12)
		return false;
	return !(cdb[1] & 1) || cdb[2] == 0x80 || cdb[2] == 0x83;
}

static void item_line(struct im *m, FILE *f, struct im_item *it, size_t idx)
{
	char a = (char)('A' + it->actor);
	struct im_lun *l;
	bool exact = m->exact;

	switch (it->kind) {
	case IM_LOGIN:
		fprintf(f, "%c login", a);
		keys_out(f, it->keys);
		if (it->background)
			fputs(" &", f);
		if (!it->answered)
			fputs(" expect any", f);
		else if (it->login_status != 0)
			fprintf(f, " expect login=%04x", it->login_status);
		fputc('\n', f);
		break;
	case IM_DISCOVERY:
		fprintf(f, "%c discovery", a);
		if (!it->answered)
			fputs(" expect any", f);
		else if (it->login_status != 0)
			fprintf(f, " expect login=%04x", it->login_status);
		else if (exact && it->targets >= 0)
			fprintf(f, " expect targets=%d", it->targets);
		fputc('\n', f);
		break;
	case IM_SCSI:
		if (it->lun == UINT64_MAX) {
			fprintf(f, "# (a command to a LUN of a format the "
				   "importer does not read: skipped)\n");
			break;
		}
		l = lun_of(m, it->lun);
		if ((l != NULL && l->not_disk) || identity_data(it->cdb)) {
			if (l != NULL && l->not_disk)
				fprintf(f,
					"# LUN %" PRIu64 " is not a disk "
					"on the captured target: status "
					"only\n",
					it->lun);
			else
				fprintf(f, "# identity data: status only\n");
			m->exact = false;
			scsi_line(m, f, it, idx);
			m->exact = exact;
		} else {
			scsi_line(m, f, it, idx);
		}
		break;
	case IM_NOP:
		fprintf(f, "%c nop%s%s\n", a, it->background ? " &" : "",
			it->answered ? "" : " expect any");
		break;
	case IM_TMF:
		if (tmf_verb(it->tmf_fn) == NULL) {
			fprintf(f, "# a TMF of function %u: not replayed\n",
				it->tmf_fn);
			break;
		}
		fprintf(f, "%c %s", a, tmf_verb(it->tmf_fn));
		if (it->tmf_fn == ISCSI_TMF_ABORT_TASK) {
			if (it->ref_item >= 0)
				fprintf(f, " ref=t%d", it->ref_item);
		} else if (it->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET &&
			   it->lun != UINT64_MAX) {
			fprintf(f, " lun=%" PRIu64, it->lun);
		}
		if (it->background)
			fputs(" &", f);
		if (!it->answered)
			fputs(" expect any", f);
		else
			fprintf(f, " expect response=%u", it->response);
		fputc('\n', f);
		break;
	case IM_LOGOUT:
		fprintf(f, "%c logout%s", a, it->background ? " &" : "");
		if (!it->answered)
			fputs(" expect any", f);
		else if (it->response != 0)
			fprintf(f, " expect response=%u", it->response);
		fputc('\n', f);
		break;
	case IM_DISCONNECT:
		fprintf(f, "%c %s\n", a, it->response ? "rst" : "disconnect");
		break;
	}
	if (it->kind == IM_SCSI && it->answered && it->status == 0 &&
	    it->response == 0 && is_media_write(it->cdb[0]) &&
	    (l = lun_of(m, it->lun)) != NULL) {
		uint64_t lba, n;

		lba_range(it->cdb, &lba, &n);
		lun_written(l, lba, n);
	}
}

/* Which items overlapped another (run in the background). */
static void schedule(struct im *m)
{
	for (size_t i = 0; i < m->nitems; i++) {
		struct im_item *it = &m->items[i];

		if (it->kind == IM_DISCONNECT || it->kind == IM_DISCOVERY)
			continue;
		if (i + 1 < m->nitems &&
		    (!it->answered || m->items[i + 1].t_sent < it->t_done))
			it->background = true;
	}
}

static void header_out(struct im *m, FILE *f, const char *path,
		       const struct ptcp_stats *st)
{
	fprintf(f,
		"# Imported from %s by utarget-sim import (%s): the "
		"initiator side of the capture,\n# with the captured "
		"target's answers as expectations.\n",
		path, m->exact ? "--exact" : "--loose");
	fprintf(f,
		"# capture: %" PRIu64 " packets, %" PRIu64 " TCP, %" PRIu64
		" connections, %" PRIu64 " bytes in order, %" PRIu64
		" retransmitted bytes, %" PRIu64
		" segments out of order, %" PRIu64 " gaps (%" PRIu64
		" bytes), %" PRIu64 " PDUs\n",
		st->packets, st->tcp_packets, st->connections,
		st->bytes_delivered, st->retransmitted_bytes,
		st->out_of_order_segments, st->gaps, st->gap_bytes, m->pdus);
	if (m->notes_len > 0) {
		fputs("# not used or not as captured:\n", f);
		for (const char *p = m->notes; *p;) {
			const char *nl = strchr(p, '\n');

			fprintf(f, "#   %.*s\n", (int)(nl - p), p);
			p = nl + 1;
		}
	}
	fputs("seed 1\n", f);
	if (m->target[0])
		fprintf(f, "target %s\n", m->target);
	if (m->params[0])
		fprintf(f, "param%s\n", m->params);
	for (int i = 0; i < m->nluns; i++) {
		struct im_lun *l = &m->luns[i];
		uint32_t bs = l->block == 4096 ? 4096 : 512;
		uint64_t size = l->cap_known ? l->blocks * l->block
					     : 64ull << 20;

		if (l->cap_known && l->block != 512 && l->block != 4096)
			fprintf(f,
				"# LUN %" PRIu64 ": %u-byte blocks are "
				"not simulated; 512 used\n",
				l->lun, l->block);
		if (!l->cap_known)
			fprintf(f,
				"# LUN %" PRIu64 ": no READ CAPACITY "
				"answer in the capture: 64 MiB\n",
				l->lun);
		if (size / bs == 0)
			size = 64ull << 20;
		fprintf(f,
			"lun %" PRIu64 " disk%" PRIu64 " size=%" PRIu64
			" block=%u\n",
			l->lun, l->lun, size / bs * bs, bs);
	}
	for (int i = 0; i < m->nactors; i++)
		if (m->actors[i].used)
			fprintf(f, "initiator %c %s\n", 'A' + i,
				m->actors[i].iqn);
}

static void body_out(struct im *m, FILE *f)
{
	double last = m->nitems ? m->items[0].t_sent : 0;

	for (size_t i = 0; i < m->nitems; i++) {
		struct im_item *it = &m->items[i];
		double pause = it->t_sent - last;
		bool all_done = true;

		if (it->actor < 0)
			continue;
		if (pause > IM_PAUSE_S)
			fprintf(f, "+%.0fms\n", pause * 1e3);
		item_line(m, f, it, i);
		if (it->t_sent > last)
			last = it->t_sent;
		if (it->answered && it->t_done > last)
			last = it->t_done;
		/* nothing outstanding before the next one: wait for the
		 * background ones, as the capture did */
		if (!it->background || i + 1 == m->nitems)
			continue;
		for (size_t j = 0; j <= i && all_done; j++)
			if (m->items[j].background &&
			    (!m->items[j].answered ||
			     m->items[j].t_done > m->items[i + 1].t_sent))
				all_done = false;
		if (all_done)
			fputs("wait\n", f);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: utarget-sim import CAPTURE.pcap[ng] "
			"[--target-port N] [--exact|--loose] [-o OUT.scn]\n");
	exit(2);
}

int cmd_import(int argc, char **argv)
{
	struct im m = {.exact = true};
	struct ptcp_cb cb = {cb_conn, cb_data, cb_gap, cb_end, &m};
	struct ptcp_stats st;
	const char *path = NULL, *out = NULL;
	unsigned long port = 0; /* the first SYN's */
	char err[256] = "";
	FILE *f = stdout;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--target-port") == 0 && i + 1 < argc) {
			port = strtoul(argv[++i], NULL, 0);
			if (port > 65535)
				usage();
		} else if (strcmp(argv[i], "--exact") == 0) {
			m.exact = true;
		} else if (strcmp(argv[i], "--loose") == 0) {
			m.exact = false;
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			out = argv[++i];
		} else if (argv[i][0] != '-' && path == NULL) {
			path = argv[i];
		} else {
			usage();
		}
	}
	if (path == NULL)
		usage();
	im_cur = &m;
	if (ptcp_read(path, (uint16_t)port, &cb, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "utarget-sim import: %s: %s\n", path, err);
		return 2;
	}
	for (size_t i = 0; i < m.nconns; i++)
		for (int d = 0; d < 2; d++)
			if (m.conns[i]->d[d].len > 0)
				notef(&m,
				      "connection %u %s: %zu bytes at the "
				      "end are no whole PDU",
				      m.conns[i]->id,
				      d ? "target->initiator"
					: "initiator->target",
				      m.conns[i]->d[d].len);
	if (m.nitems == 0) {
		if (m.notes_len > 0)
			fprintf(stderr, "utarget-sim import: %s", m.notes);
		fprintf(stderr,
			"utarget-sim import: %s: no iSCSI session on port "
			"%lu (%" PRIu64 " packets, %" PRIu64 " connections)\n",
			path, port, st.packets, st.connections);
		return 1;
	}
	learn_luns(&m);
	schedule(&m);
	if (out != NULL && (f = fopen(out, "w")) == NULL) {
		perror(out);
		return 2;
	}
	header_out(&m, f, path, &st);
	body_out(&m, f);
	if (f != stdout)
		fclose(f);
	if (m.notes_len > 0)
		fprintf(stderr,
			"utarget-sim import: not used or not as "
			"captured:\n%s",
			m.notes);
	fprintf(stderr,
		"utarget-sim import: %" PRIu64 " PDUs on %" PRIu64
		" connections, %zu steps, %" PRIu64 " gaps, %" PRIu64
		" retransmitted bytes\n",
		m.pdus, st.connections, m.nitems, st.gaps,
		st.retransmitted_bytes);
	for (size_t i = 0; i < m.nitems; i++) {
		free(m.items[i].in);
		free(m.items[i].out);
	}
	free(m.items);
	for (size_t i = 0; i < m.nconns; i++) {
		for (int d = 0; d < 2; d++)
			iss_dir_free(&m.conns[i]->d[d]);
		free(m.conns[i]);
	}
	free(m.conns);
	for (int i = 0; i < m.nluns; i++)
		free(m.luns[i].w);
	free(m.notes);
	im_cur = NULL;
	return 0;
}
