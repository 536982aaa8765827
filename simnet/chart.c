/*
 * chart.c — record a run and write it as a sequence chart (chart.h).
 *
 * What is recorded, as events in the order they happen:
 *
 *   pdu    a PDU cut from a connection's bytes when its last byte was
 *          handed to the network (conn_send), with the time its last
 *          byte reached the other end (never: lost to a crash, an RST,
 *          a vanished host); lane = the initiator; dir 0 to the target
 *   step   a scenario line an actor plays ("line N: ..." in the trace)
 *   disk   a disk operation's completion ("disk D write lba 0+8 -> ok")
 *   fault  a fault: partition, stall, link settings, chunking, RST,
 *          FIN, a vanished host, EIO settings, a crash, a restart
 *   note   other trace lines (connections, the target's log lines)
 *   fail   the failed expectation or oracle (drawn red)
 *
 * plus the times the target's timers fired (ticks on the target lane).
 *
 * Folding: the events between two scenario steps are a section; a
 * section's signature counts what happened in it (its verb, each PDU's
 * opcode and direction, each disk operation); where a signature (or a
 * run of up to four) repeats, the middle of the run is folded into one
 * band that a click opens.  Sections with a fault or the failure are
 * never folded.
 *
 * This file records; chart_write.c folds and writes the page, and
 * chart_int.h holds the recording both see.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chart.h"
#include "chart_int.h"
#include "iscsi/pdu.h"
#include "iscsi_stream.h"
#include "sense.h"
#include "ut_assert.h"

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

/* ------------------------------------------------------------- lanes */

static int lane_find(struct chart *c, const char *name, char kind)
{
	for (int i = 0; i < c->nlanes; i++)
		if (c->lane_kind[i] == kind &&
		    strcmp(c->lane_name[i], name) == 0)
			return i;
	return -1;
}

static int lane_get(struct chart *c, const char *name, char kind)
{
	int i = lane_find(c, name, kind);

	if (i >= 0)
		return i;
	if (c->nlanes == CH_MAX_LANES)
		return kind == 'd' || kind == 't' ? c->lane_tgt : c->lane_net;
	c->lane_name[c->nlanes] = xstrdup(name);
	c->lane_kind[c->nlanes] = kind;
	return c->nlanes++;
}

/* The actor lane a trace line begins with ("A connects ..."), or -1. */
static int lane_of_actor_word(struct chart *c, const char *text)
{
	for (int i = 0; i < c->nlanes; i++) {
		size_t n = strlen(c->lane_name[i]);

		if (c->lane_kind[i] == 'i' &&
		    strncmp(text, c->lane_name[i], n) == 0 &&
		    (text[n] == ' ' || text[n] == ':' || text[n] == '\0'))
			return i;
	}
	return -1;
}

/* ------------------------------------------------------------ events */

static struct ch_ev *ev_add(struct chart *c, enum ch_kind kind, int lane,
			    char *label)
{
	struct ch_ev *e;

	if (c->nev == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->ev = xrealloc(c->ev, c->cap * sizeof(*c->ev));
	}
	e = &c->ev[c->nev++];
	memset(e, 0, sizeof(*e));
	e->t_ns = c->sim->now_ns;
	e->t2_ns = UINT64_MAX;
	e->kind = (uint8_t)kind;
	e->lane = (uint16_t)lane;
	e->label = label;
	return e;
}

/* ------------------------------------------------------------- PDUs */

static const char *status_word(uint8_t s)
{
	switch (s) {
	case 0x00:
		return "GOOD";
	case 0x02:
		return "CHECK CONDITION";
	case 0x08:
		return "BUSY";
	case 0x18:
		return "RESERVATION CONFLICT";
	case 0x28:
		return "TASK SET FULL";
	case 0x40:
		return "TASK ABORTED";
	default:
		return "status";
	}
}

/* Sense key/ASC/ASCQ of a SCSI Response's data (SenseLength, then fixed
 * or descriptor sense, SPC-4 §4.5). */
static bool sense_of(const struct iss_pdu *p, unsigned *sk, unsigned *asc,
		     unsigned *ascq)
{
	struct sense_view v;
	char why[120];
	uint32_t n;

	if (p->data_len < 2)
		return false;
	n = get_be16(p->data);
	if (n + 2 > p->data_len || n < 1)
		return false;
	(void)sense_decode(p->data + 2, n, &v, why, sizeof(why));
	if (v.asc < 0)
		return false;
	*sk = (unsigned)v.sk;
	*asc = (unsigned)v.asc;
	*ascq = (unsigned)v.ascq;
	return true;
}

static char *cdb_label(const uint8_t *cdb)
{
	const char *nm = iss_cdb_name(cdb[0]);
	char buf[96];

	if (nm == NULL)
		snprintf(buf, sizeof(buf), "CDB %02x", cdb[0]);
	else
		snprintf(buf, sizeof(buf), "%s", nm);
	switch (cdb[0]) {
	case 0x28:
	case 0x2a:
	case 0x2f:
	case 0x35:
		return fmt("%s lba %u+%u", buf, get_be32(cdb + 2),
			   get_be16(cdb + 7));
	case 0x88:
	case 0x8a:
	case 0x91:
		return fmt("%s lba %" PRIu64 "+%u", buf, get_be64(cdb + 2),
			   get_be32(cdb + 10));
	default:
		return xstrdup(buf);
	}
}

static char *pdu_label(const struct iss_pdu *p)
{
	const uint8_t *b = p->bhs;
	uint32_t itt = get_be32(b + 16);
	uint32_t sn = get_be32(b + 24);
	char *what = NULL, *s;
	unsigned sk, asc, ascq;

	switch (p->opcode) {
	case ISCSI_OP_SCSI_CMD:
		what = cdb_label(b + 32);
		s = fmt("SCSI-Cmd %s itt=%x CmdSN=%u len=%u", what, itt, sn,
			p->data_len);
		break;
	case ISCSI_OP_SCSI_RSP:
		if (b[3] == 0x02 && sense_of(p, &sk, &asc, &ascq))
			s = fmt("SCSI-Rsp CHECK %x/%02x/%02x itt=%x StatSN=%u",
				sk, asc, ascq, itt, sn);
		else if (b[2] != 0)
			s = fmt("SCSI-Rsp response 0x%02x itt=%x StatSN=%u",
				b[2], itt, sn);
		else
			s = fmt("SCSI-Rsp %s itt=%x StatSN=%u",
				status_word(b[3]), itt, sn);
		break;
	case ISCSI_OP_DATA_IN:
		s = fmt("Data-In itt=%x DataSN=%u off=%u len=%u%s%s", itt,
			get_be32(b + 36), get_be32(b + 40), p->data_len,
			(b[1] & ISCSI_DATAIN_F_STATUS) ? " S " : "",
			(b[1] & ISCSI_DATAIN_F_STATUS) ? status_word(b[3])
						       : "");
		break;
	case ISCSI_OP_DATA_OUT:
		s = fmt("Data-Out itt=%x DataSN=%u off=%u len=%u%s", itt,
			get_be32(b + 36), get_be32(b + 40), p->data_len,
			(b[1] & ISCSI_FLAG_FINAL) ? " F" : "");
		break;
	case ISCSI_OP_R2T:
		s = fmt("R2T itt=%x R2TSN=%u off=%u len=%u", itt,
			get_be32(b + 36), get_be32(b + 40), get_be32(b + 44));
		break;
	case ISCSI_OP_LOGIN_REQ:
	case ISCSI_OP_LOGIN_RSP:
		s = fmt("%s %u->%u%s%s itt=%x %s=%u",
			iss_opcode_name(p->opcode), ISCSI_LOGIN_CSG(b[1]),
			ISCSI_LOGIN_NSG(b[1]),
			(b[1] & ISCSI_LOGIN_F_TRANSIT) ? " T" : "",
			p->opcode == ISCSI_OP_LOGIN_RSP && (b[36] || b[37])
				? " FAILED"
				: "",
			itt, p->dir ? "StatSN" : "CmdSN", sn);
		break;
	case ISCSI_OP_TMF_REQ:
		s = fmt("TMF-Req fn=%u itt=%x ref=%x CmdSN=%u", b[1] & 0x7f,
			itt, get_be32(b + 20), sn);
		break;
	case ISCSI_OP_TMF_RSP:
		s = fmt("TMF-Rsp response=%u itt=%x StatSN=%u", b[2], itt, sn);
		break;
	case ISCSI_OP_REJECT:
		s = fmt("Reject reason=0x%02x StatSN=%u", b[2], sn);
		break;
	default:
		s = fmt("%s itt=%x %s=%u len=%u", iss_opcode_name(p->opcode),
			itt, p->dir ? "StatSN" : "CmdSN", sn, p->data_len);
		break;
	}
	free(what);
	if (p->hd_bad || p->dd_bad) {
		char *t = fmt("%s [%s digest wrong]", s,
			      p->hd_bad ? "header" : "data");

		free(s);
		s = t;
	}
	return s;
}

static char *pdu_detail(const struct iss_pdu *p)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t pre = p->data_len < CH_DATA_PREVIEW ? p->data_len
						     : CH_DATA_PREVIEW;
	bool text = p->opcode == ISCSI_OP_LOGIN_REQ ||
		    p->opcode == ISCSI_OP_LOGIN_RSP ||
		    p->opcode == ISCSI_OP_TEXT_REQ ||
		    p->opcode == ISCSI_OP_TEXT_RSP;
	uint32_t tlen = text ? (p->data_len < 4096 ? p->data_len : 4096) : 0;
	char *s = xrealloc(NULL, 96 + 1 + 2 * pre + 1 + tlen + 64);
	size_t n = 0;

	for (int i = 0; i < ISCSI_BHS_LEN; i++) {
		s[n++] = hex[p->bhs[i] >> 4];
		s[n++] = hex[p->bhs[i] & 15];
	}
	s[n++] = '|';
	for (uint32_t i = 0; i < pre; i++) {
		s[n++] = hex[p->data[i] >> 4];
		s[n++] = hex[p->data[i] & 15];
	}
	s[n++] = '|';
	for (uint32_t i = 0; i < tlen; i++)
		s[n++] = p->data[i] == '\0' ? '\n' : (char)p->data[i];
	n += (size_t)sprintf(s + n, "|%s%s%s", p->hd ? "H" : "",
			     p->dd ? "D" : "",
			     p->hd_bad || p->dd_bad ? "!" : "");
	s[n] = '\0';
	return s;
}

static void pend_push(struct ch_conn *cc, int dir, uint64_t off_end, size_t ev)
{
	if (cc->pend_len[dir] == cc->pend_cap[dir]) {
		/* compact, then grow */
		memmove(cc->pend[dir], cc->pend[dir] + cc->pend_head[dir],
			(cc->pend_len[dir] - cc->pend_head[dir]) *
				sizeof(struct ch_pending));
		cc->pend_len[dir] -= cc->pend_head[dir];
		cc->pend_head[dir] = 0;
		if (cc->pend_len[dir] == cc->pend_cap[dir]) {
			cc->pend_cap[dir] =
				cc->pend_cap[dir] ? cc->pend_cap[dir] * 2 : 64;
			cc->pend[dir] = xrealloc(
				cc->pend[dir],
				cc->pend_cap[dir] * sizeof(*cc->pend[dir]));
		}
	}
	cc->pend[dir][cc->pend_len[dir]++] =
		(struct ch_pending){.off_end = off_end, .ev = ev};
}

static void on_pdu(void *arg, const struct iss_pdu *p)
{
	struct ch_conn *cc = arg;
	struct chart *c = cc->c;
	struct ch_ev *e = ev_add(c, CH_PDU, cc->lane, pdu_label(p));

	e->dir = (uint8_t)p->dir;
	e->opcode = p->opcode;
	e->err = p->hd_bad || p->dd_bad || p->opcode == ISCSI_OP_REJECT ||
		 (p->opcode == ISCSI_OP_SCSI_RSP && p->bhs[3] != 0) ||
		 (p->opcode == ISCSI_OP_LOGIN_RSP && p->bhs[36] != 0);
	e->detail = pdu_detail(p);
	pend_push(cc, p->dir, p->off_end, c->nev - 1);
}

static void on_note(void *arg, int dir, uint64_t off, const char *what)
{
	struct ch_conn *cc = arg;
	struct ch_ev *e = ev_add(cc->c, CH_NOTE, cc->c->lane_net,
				 fmt("c%" PRIu64 " %s: %s", cc->id,
				     dir ? "T->I" : "I->T", what));

	(void)off;
	e->err = true;
}

static struct ch_conn *conn_get(struct chart *c, uint64_t id, const char *host)
{
	struct ch_conn *cc;

	for (size_t i = c->nconns; i-- > 0;)
		if (c->conns[i]->id == id)
			return c->conns[i];
	cc = calloc(1, sizeof(*cc));
	if (cc == NULL)
		abort();
	cc->id = id;
	cc->c = c;
	cc->lane = (uint16_t)lane_get(c, host, 'i');
	for (int d = 0; d < 2; d++)
		iss_dir_init(&cc->dir[d], &cc->ic, d, on_pdu, on_note, cc);
	c->conns = xrealloc(c->conns, (c->nconns + 1) * sizeof(*c->conns));
	c->conns[c->nconns++] = cc;
	return cc;
}

static void rec_bytes(void *ctx, uint64_t now_ns, uint64_t conn_id,
		      const char *host, int dir, bool delivered,
		      const uint8_t *p, size_t n)
{
	struct chart *c = ctx;
	struct ch_conn *cc = conn_get(c, conn_id, host);

	(void)now_ns;
	ut_assert(dir == 0 || dir == 1);
	if (!delivered) {
		iss_feed(&cc->dir[dir], p, n);
		return;
	}
	cc->delivered[dir] += n;
	while (cc->pend_head[dir] < cc->pend_len[dir] &&
	       cc->pend[dir][cc->pend_head[dir]].off_end <=
		       cc->delivered[dir]) {
		c->ev[cc->pend[dir][cc->pend_head[dir]].ev].t2_ns = now_ns;
		cc->pend_head[dir]++;
	}
}

/* ------------------------------------------------------ trace lines */

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void word_after(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	while (s[n] != '\0' && s[n] != ' ' && s[n] != ':' && n + 1 < cap) {
		out[n] = s[n];
		n++;
	}
	out[n] = '\0';
}

static void line_step(struct chart *c, const char *text)
{
	int line = atoi(text + 5);
	const char *who = strchr(text, ':');
	int lane = who ? lane_of_actor_word(c, who + 2) : -1;
	const char *src = line >= 1 && line <= c->nlines ? c->lines[line - 1]
							 : text;
	struct ch_ev *e;

	while (*src == ' ' || *src == '\t')
		src++;
	e = ev_add(c, CH_STEP, lane >= 0 ? lane : c->lane_tgt,
		   fmt("%d: %s", line, src));
	e->line = line;
}

static void line_fail(struct chart *c, const char *text)
{
	const char *m = strchr(text + 5, ':');
	int line = m ? atoi(m + 1) : 0;
	const char *after = m ? strchr(m + 1, ':') : NULL;
	int lane = after ? lane_of_actor_word(c, after + 2) : -1;
	struct ch_ev *e = ev_add(c, CH_FAIL, lane >= 0 ? lane : c->lane_tgt,
				 xstrdup(text + 5));

	e->line = line;
	e->err = true;
}

static void rec_line(void *ctx, uint64_t now_ns, const char *text)
{
	struct chart *c = ctx;
	char w[64];
	int lane;
	struct ch_ev *e;

	(void)now_ns;
	if (starts(text, "line ")) {
		line_step(c, text);
		return;
	}
	if (starts(text, "FAIL ")) {
		line_fail(c, text);
		return;
	}
	if (starts(text, "fault disk ")) {
		word_after(text + 11, w, sizeof(w));
		e = ev_add(c, CH_FAULT, lane_get(c, w, 'd'), xstrdup(text + 6));
		e->err = true;
		return;
	}
	if (starts(text, "fault TARGET") || starts(text, "target restarts")) {
		e = ev_add(c, CH_FAULT, c->lane_tgt, xstrdup(text));
		e->err = starts(text, "fault");
		return;
	}
	if (starts(text, "fault ")) {
		e = ev_add(c, CH_FAULT, c->lane_net, xstrdup(text + 6));
		e->err = strstr(text, "heal") == NULL;
		return;
	}
	if (starts(text, "disk ")) {
		word_after(text + 5, w, sizeof(w));
		e = ev_add(c, CH_DISK, lane_get(c, w, 'd'),
			   xstrdup(text + 5 + strlen(w) + 1));
		e->err = strstr(text, "-> ok") == NULL &&
			 strstr(text, " opened ") == NULL;
		return;
	}
	if (starts(text, "net ")) {
		e = ev_add(c, CH_NOTE, c->lane_net, xstrdup(text + 4));
		e->err = strstr(text, "RST") != NULL;
		return;
	}
	if (starts(text, "target ")) {
		e = ev_add(c, CH_NOTE, c->lane_tgt, xstrdup(text + 7));
		e->err = starts(text, "target ERROR") ||
			 starts(text, "target WARN");
		return;
	}
	lane = lane_of_actor_word(c, text);
	if (lane >= 0) {
		const char *rest = text + strlen(c->lane_name[lane]);

		/* PDUs come from the bytes, with both ends' times */
		if (starts(rest, " -> ") || starts(rest, " <- "))
			return;
		e = ev_add(c, CH_NOTE, lane, xstrdup(text));
		e->err = strstr(text, "VIOLATION") != NULL ||
			 strstr(text, "lost") != NULL;
		return;
	}
	ev_add(c, CH_NOTE, c->lane_tgt, xstrdup(text));
}

static void rec_timer(void *ctx, uint64_t now_ns)
{
	struct chart *c = ctx;

	/* one tick per instant is all a reader can see */
	if (c->ntimers > 0 && c->timers[c->ntimers - 1] == now_ns)
		return;
	if (c->ntimers == c->timers_cap) {
		c->timers_cap = c->timers_cap ? c->timers_cap * 2 : 1024;
		c->timers =
			xrealloc(c->timers, c->timers_cap * sizeof(*c->timers));
	}
	c->timers[c->ntimers++] = now_ns;
}

static const struct sim_rec_ops chart_rec_ops = {
	.line = rec_line,
	.bytes = rec_bytes,
	.timer = rec_timer,
};

/* ------------------------------------------------------------ setup */

/* Lanes in the reader's order: initiators as declared, the network, the
 * target, the disks as declared; names that appear later are added. */
static void lanes_from_text(struct chart *c)
{
	char w[64];

	for (int i = 0; i < c->nlines; i++)
		if (starts(c->lines[i], "initiator ")) {
			word_after(c->lines[i] + 10, w, sizeof(w));
			lane_get(c, w, 'i');
		}
	c->lane_net = lane_get(c, "network", 'n');
	c->lane_tgt = lane_get(c, "target", 't');
	for (int i = 0; i < c->nlines; i++) {
		const char *s = c->lines[i];

		if (starts(s, "lun ")) {
			s = strchr(s + 4, ' ');
			if (s != NULL) {
				word_after(s + 1, w, sizeof(w));
				lane_get(c, w, 'd');
			}
		}
	}
}

struct chart *chart_new(struct sim *sim, const char *name, const char *text)
{
	struct chart *c = calloc(1, sizeof(*c));
	const char *p = text;

	if (c == NULL)
		abort();
	c->sim = sim;
	snprintf(c->name, sizeof(c->name), "%s", name);
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		c->lines = xrealloc(c->lines,
				    (size_t)(c->nlines + 1) * sizeof(char *));
		c->lines[c->nlines] = xrealloc(NULL, n + 1);
		memcpy(c->lines[c->nlines], p, n);
		c->lines[c->nlines][n] = '\0';
		c->nlines++;
		p += n + (nl ? 1 : 0);
	}
	lanes_from_text(c);
	sim->rec = &chart_rec_ops;
	sim->rec_ctx = c;
	return c;
}

void chart_free(struct chart *c)
{
	if (c == NULL)
		return;
	if (c->sim != NULL && c->sim->rec_ctx == c) {
		c->sim->rec = NULL;
		c->sim->rec_ctx = NULL;
	}
	for (size_t i = 0; i < c->nev; i++) {
		free(c->ev[i].label);
		free(c->ev[i].detail);
	}
	free(c->ev);
	free(c->timers);
	for (size_t i = 0; i < c->nconns; i++) {
		for (int d = 0; d < 2; d++) {
			iss_dir_free(&c->conns[i]->dir[d]);
			free(c->conns[i]->pend[d]);
		}
		free(c->conns[i]);
	}
	free(c->conns);
	for (int i = 0; i < c->nlines; i++)
		free(c->lines[i]);
	free(c->lines);
	for (int i = 0; i < c->nlanes; i++)
		free(c->lane_name[i]);
	free(c);
}
