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
#include "iscsi/pdu.h"
#include "iscsi_stream.h"
#include "ut_assert.h"

/* The page (chart_page.html), linked in as it is. */
__asm__(".section .rodata\n"
	".global chart_page_html\n"
	"chart_page_html:\n"
	".incbin \"simnet/chart_page.html\"\n"
	".byte 0\n"
	".previous\n");
extern const char chart_page_html[];

#define CH_MAX_LANES 64
#define CH_DATA_PREVIEW 32 /* data bytes kept per PDU for the details */

enum ch_kind { CH_PDU, CH_STEP, CH_DISK, CH_FAULT, CH_NOTE, CH_FAIL };
static const char ch_kind_char[] = "psdfnx";

struct ch_ev {
	uint64_t t_ns;
	uint64_t t2_ns; /* PDU: arrival; UINT64_MAX never */
	uint8_t kind;
	uint8_t dir;
	uint16_t lane;
	uint8_t opcode;
	bool err; /* drawn as trouble (EIO, RST, bad digest, ...) */
	int line;
	char *label;
	char *detail; /* PDU: hex of BHS | data preview | text */
};

struct ch_pending {
	uint64_t off_end;
	size_t ev;
};

struct ch_conn {
	uint64_t id;
	uint16_t lane;
	struct iss_conn ic;
	struct iss_dir dir[2];
	uint64_t delivered[2];
	struct ch_pending *pend[2];
	size_t pend_head[2], pend_len[2], pend_cap[2];
	struct chart *c;
};

struct chart {
	struct sim *sim;
	char name[256];
	char **lines; /* the scenario's text, by line */
	int nlines;
	char *lane_name[CH_MAX_LANES];
	char lane_kind[CH_MAX_LANES]; /* i n t d */
	int nlanes;
	int lane_net, lane_tgt;
	struct ch_ev *ev;
	size_t nev, cap;
	uint64_t *timers;
	size_t ntimers, timers_cap;
	struct ch_conn **conns;
	size_t nconns;
	uint64_t bytes_undecoded;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL)
		abort();
	return p;
}

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
	const uint8_t *s = p->data + 2;
	uint32_t n;

	if (p->data_len < 2)
		return false;
	n = get_be16(p->data);
	if (n + 2 > p->data_len || n < 1)
		return false;
	if ((s[0] & 0x7f) == 0x72 || (s[0] & 0x7f) == 0x73) {
		if (n < 4)
			return false;
		*sk = s[1] & 0xf;
		*asc = s[2];
		*ascq = s[3];
		return true;
	}
	if (n < 14)
		return false;
	*sk = s[2] & 0xf;
	*asc = s[12];
	*ascq = s[13];
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

/* ---------------------------------------------------------- folding */

struct ch_section {
	size_t first, end; /* events [first, end) */
	uint64_t sig;
	bool keep; /* a fault or the failure: never folded */
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0x100000001b3ull;
}

/* Order-free signature: a sum of mixed terms, so that answers arriving
 * in another order inside a section do not make it different. */
static uint64_t ev_term(const struct chart *c, const struct ch_ev *e)
{
	uint64_t t = mix(e->kind, e->lane);

	if (e->kind == CH_PDU)
		return mix(t, (uint64_t)e->opcode << 1 | e->dir) ^ e->err;
	if (e->kind == CH_STEP) {
		/* the verb: the word after the actor */
		const char *s = strchr(e->label, ' ');
		uint64_t h = 1469598103934665603ull;

		if (s != NULL)
			s = strchr(s + 1, ' ');
		for (s = s ? s + 1 : ""; *s != '\0' && *s != ' '; s++)
			h = mix(h, (uint8_t)*s);
		return mix(t, h);
	}
	if (e->kind == CH_DISK)
		return mix(t, (uint64_t)e->label[0] << 8 | e->label[1]) ^
		       e->err;
	(void)c;
	return mix(t, e->err);
}

static size_t sections_build(const struct chart *c, struct ch_section **out)
{
	struct ch_section *s = NULL;
	size_t n = 0;

	for (size_t i = 0; i < c->nev; i++) {
		const struct ch_ev *e = &c->ev[i];

		if (e->kind == CH_STEP || n == 0) {
			s = xrealloc(s, (n + 1) * sizeof(*s));
			s[n] = (struct ch_section){.first = i, .end = i};
			n++;
		}
		s[n - 1].end = i + 1;
		s[n - 1].sig += ev_term(c, e);
		if (e->kind == CH_FAIL || (e->kind == CH_FAULT && e->err))
			s[n - 1].keep = true;
	}
	*out = s;
	return n;
}

/* Repetitions of period p starting at section i (how many whole periods
 * match the first one). */
static size_t reps_at(const struct ch_section *s, size_t n, size_t i, size_t p)
{
	size_t k = 0;

	if (i + p > n)
		return 0;
	for (size_t j = i; j < i + p; j++)
		if (s[j].keep)
			return 0;
	k = 1;
	for (;;) {
		size_t base = i + k * p;

		if (base + p > n)
			return k;
		for (size_t j = 0; j < p; j++)
			if (s[base + j].sig != s[i + j].sig || s[base + j].keep)
				return k;
		k++;
	}
}

#define CH_FOLD_MIN_SECTIONS 6 /* fold only what hides at least this */

/* Print the folds as JSON: [first event, last event, sections, label]. */
static void folds_write(FILE *f, const struct chart *c)
{
	struct ch_section *s;
	size_t n = sections_build(c, &s), i = 0;
	bool first = true;

	while (i < n) {
		size_t best_p = 0, best_k = 0;

		for (size_t p = 1; p <= 4; p++) {
			size_t k = reps_at(s, n, i, p);

			if (k >= 3 && k * p > best_k * best_p) {
				best_p = p;
				best_k = k;
			}
		}
		/* keep the first and the last period open */
		if (best_p > 0 &&
		    (best_k - 2) * best_p >= CH_FOLD_MIN_SECTIONS) {
			size_t a = i + best_p, b = i + (best_k - 1) * best_p;
			size_t pdus = 0;

			for (size_t e = s[a].first; e < s[b - 1].end; e++)
				pdus += c->ev[e].kind == CH_PDU;
			fprintf(f, "%s[%zu,%zu,%zu,%zu,%zu]", first ? "" : ",",
				s[a].first, s[b - 1].end - 1, b - a, best_k - 2,
				pdus);
			first = false;
			i += best_k * best_p;
		} else {
			i++;
		}
	}
	free(s);
}

/* ------------------------------------------------------------ output */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&' ||
			 ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

struct ch_row {
	uint64_t t;
	int64_t key; /* event index; an arrival is -(index + 1) */
};

/* By time; at one instant arrivals first (what arrives causes what is
 * sent), then in the order recorded. */
static int row_cmp(const void *a, const void *b)
{
	const struct ch_row *x = a, *y = b;
	bool xa = x->key < 0, ya = y->key < 0;
	int64_t xi = xa ? -x->key - 1 : x->key, yi = ya ? -y->key - 1 : y->key;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (xa != ya)
		return xa ? -1 : 1;
	return xi < yi ? -1 : xi > yi;
}

/* The page draws rows in this order: every event, and every PDU's
 * arrival. */
static void rows_write(FILE *f, const struct chart *c)
{
	struct ch_row *rows = xrealloc(NULL, 2 * c->nev * sizeof(*rows) + 1);
	size_t n = 0;

	for (size_t i = 0; i < c->nev; i++) {
		rows[n++] = (struct ch_row){c->ev[i].t_ns, (int64_t)i};
		if (c->ev[i].kind == CH_PDU && c->ev[i].t2_ns != UINT64_MAX)
			rows[n++] = (struct ch_row){c->ev[i].t2_ns,
						    -(int64_t)i - 1};
	}
	qsort(rows, n, sizeof(*rows), row_cmp);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%" PRId64, i ? "," : "", rows[i].key);
	free(rows);
}

static void data_write(FILE *f, const struct chart *c,
		       const struct scn_result *res)
{
	fputs("{\"name\":", f);
	json_str(f, c->name);
	fprintf(f,
		",\"pass\":%s,\"seed\":%" PRIu64 ",\"hash\":\"%016" PRIx64
		"\",\"line\":%d,\"virt_ns\":%" PRIu64 ",\"msg\":",
		res->pass ? "true" : "false", res->seed, res->hash,
		res->fail_line, res->virt_ns);
	json_str(f, res->pass ? "" : res->msg);
	fputs(",\"lanes\":[", f);
	for (int i = 0; i < c->nlanes; i++) {
		fprintf(f, "%s[", i ? "," : "");
		json_str(f, c->lane_name[i]);
		fprintf(f, ",\"%c\"]", c->lane_kind[i]);
	}
	fputs("],\"src\":[", f);
	for (int i = 0; i < c->nlines; i++) {
		if (i)
			fputc(',', f);
		json_str(f, c->lines[i]);
	}
	/* events: [t, kind, lane, t2 (-1 never), dir, err, line, label,
	 * detail] */
	fputs("],\n\"ev\":[\n", f);
	for (size_t i = 0; i < c->nev; i++) {
		const struct ch_ev *e = &c->ev[i];

		fprintf(f, "%s[%" PRIu64 ",\"%c\",%u,", i ? ",\n" : "", e->t_ns,
			ch_kind_char[e->kind], e->lane);
		if (e->t2_ns == UINT64_MAX)
			fputs("-1", f);
		else
			fprintf(f, "%" PRIu64, e->t2_ns);
		fprintf(f, ",%u,%d,%d,", e->dir, e->err ? 1 : 0, e->line);
		json_str(f, e->label);
		if (e->detail != NULL) {
			fputc(',', f);
			json_str(f, e->detail);
		}
		fputc(']', f);
	}
	fputs("],\n\"timers\":[", f);
	for (size_t i = 0; i < c->ntimers; i++)
		fprintf(f, "%s%" PRIu64, i ? "," : "", c->timers[i]);
	fputs("],\n\"rows\":[", f);
	rows_write(f, c);
	fputs("],\n\"folds\":[", f);
	folds_write(f, c);
	fputs("]}", f);
}

int chart_write(struct chart *c, const struct scn_result *res, const char *path)
{
	const char *mark = "/*CHART-DATA*/";
	const char *at = strstr(chart_page_html, mark);
	FILE *f;
	int rc = 0;

	ut_assert(at != NULL);
	f = fopen(path, "w");
	if (f == NULL)
		return -errno;
	fwrite(chart_page_html, 1, (size_t)(at - chart_page_html), f);
	data_write(f, c, res);
	fputs(at + strlen(mark), f);
	if (fflush(f) != 0 || ferror(f))
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* ------------------------------------------------------ explore --chart */

static int chart_in_child(const char *prog, const char *scn, const char *html)
{
	pid_t pid;
	int st;

	if (access(scn, R_OK) != 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execl(prog, prog, "run", scn, "--chart", html, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	/* `run` exits 1 on the failure being charted: that is expected */
	return WIFEXITED(st) && WEXITSTATUS(st) <= 1 ? 0 : -1;
}

void chart_failures(const char *prog, const char *dir, const uint64_t *seeds,
		    size_t n)
{
	static const char *const kinds[] = {"", ".min"};

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < 2; k++) {
			char scn[512], html[512];

			snprintf(scn, sizeof(scn), "%s/seed-%" PRIu64 "%s.scn",
				 dir, seeds[i], kinds[k]);
			snprintf(html, sizeof(html),
				 "%s/seed-%" PRIu64 "%s.html", dir, seeds[i],
				 kinds[k]);
			if (access(scn, R_OK) != 0)
				continue;
			if (chart_in_child(prog, scn, html) == 0)
				printf("explore: chart of seed %" PRIu64
				       "%s: %s\n",
				       seeds[i], kinds[k][0] ? " (shrunk)" : "",
				       html);
			else
				printf("explore: could not chart %s\n", scn);
		}
}
