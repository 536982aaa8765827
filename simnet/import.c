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
 *
 * This file reads the capture into items (import_int.h) and runs the
 * command; import_scn.c writes the items out as the scenario.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "import_int.h"
#include "iscsi/pdu.h"
#include "iscsi_stream.h"
#include "pcap_tcp.h"

void notef(struct im *m, const char *fmt, ...)
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

struct im_lun *lun_of(struct im *m, uint64_t lun)
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

const char *const im_op_keys[IM_OP_KEYS] = {
	"HeaderDigest",	    "DataDigest",	   "MaxRecvDataSegmentLength",
	"InitialR2T",	    "ImmediateData",	   "FirstBurstLength",
	"MaxBurstLength",   "MaxOutstandingR2T",   "MaxConnections",
	"DefaultTime2Wait", "DefaultTime2Retain",  "ErrorRecoveryLevel",
	"DataPDUInOrder",   "DataSequenceInOrder", "IFMarker",
	"OFMarker",
};

static bool is_op_key(const char *k)
{
	for (size_t i = 0; i < IM_OP_KEYS; i++)
		if (strcmp(k, im_op_keys[i]) == 0)
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
