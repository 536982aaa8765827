/*
 * scenario_parse.c — the text of a scenario: tokens, numbers and
 * durations, the expectations after `expect`, the declarations (lun,
 * param, IncomingUser/OutgoingUser, CHAP options) and the CDB each SCSI
 * verb sends (docs/scenarios.md).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "iscsi/iscsi.h"
#include "model.h"
#include "scsi/scsi.h"
#include "scenario_int.h"

/* ------------------------------------------------------------ tokens */

void tokenize(char *s, struct toks *t)
{
	t->n = 0;
	while (*s != '\0' && t->n < MAX_TOKS) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0' || *s == '#')
			break;
		t->v[t->n++] = s;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

void toks_shift(struct toks *t, int k)
{
	memmove(t->v, t->v + k, (size_t)(t->n - k) * sizeof(t->v[0]));
	t->n -= k;
}

/* Value of key=value among t[from..], or NULL. */
const char *kv(const struct toks *t, const char *key)
{
	size_t kl = strlen(key);

	for (int i = 0; i < t->n; i++)
		if (strncmp(t->v[i], key, kl) == 0 && t->v[i][kl] == '=')
			return t->v[i] + kl + 1;
	return NULL;
}

bool has(const struct toks *t, const char *word)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->v[i], word) == 0)
			return true;
	return false;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno == 0 && *end == '\0';
}

bool parse_dur(const char *s, uint64_t *ns)
{
	char *end;
	double v = strtod(s, &end);
	double mul;

	if (end == s || v < 0)
		return false;
	if (strcmp(end, "ns") == 0)
		mul = 1;
	else if (strcmp(end, "us") == 0)
		mul = 1e3;
	else if (strcmp(end, "ms") == 0)
		mul = 1e6;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		mul = 1e9;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mul = 60e9;
	else
		return false;
	*ns = (uint64_t)(v * mul);
	return true;
}

uint64_t u64_or(const struct toks *t, const char *key, uint64_t dflt,
		struct runner *r)
{
	const char *v = kv(t, key);
	uint64_t x;

	if (v == NULL)
		return dflt;
	if (!parse_u64(v, &x)) {
		syntaxf(r, "%s=%s is not a number", key, v);
		return dflt;
	}
	return x;
}

size_t hex_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*s != '\0' && n < cap) {
		unsigned int b;

		if (*s == ':' || *s == '-' || *s == '_' || *s == '.') {
			s++;
			continue;
		}
		if (!isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]) || sscanf(s, "%2x", &b) != 1)
			return (size_t)-1;
		out[n++] = (uint8_t)b;
		s += 2;
	}
	return n;
}

/* ------------------------------------------------------ expectations */

static int parse_hexnum(const char *s)
{
	char *end;
	long v = strtol(s, &end, 16);

	return *end == '\0' && end != s ? (int)v : -1;
}

static const struct {
	const char *name;
	int v;
} status_names[] =
	{
		{"good", SCSI_STATUS_GOOD},
		{"check", SCSI_STATUS_CHECK_CONDITION},
		{"condition-met", SCSI_STATUS_CONDITION_MET},
		{"busy", SCSI_STATUS_BUSY},
		{"conflict", SCSI_STATUS_RESERVATION_CONFLICT},
		{"task-set-full", SCSI_STATUS_TASK_SET_FULL},
		{"aca-active", SCSI_STATUS_ACA_ACTIVE},
		{"task-aborted", SCSI_STATUS_TASK_ABORTED},
},
  tmf_names[] = {
	  {"complete", ISCSI_TMF_RSP_COMPLETE},
	  {"no-task", ISCSI_TMF_RSP_NO_TASK},
	  {"no-lun", ISCSI_TMF_RSP_NO_LUN},
	  {"not-supported", ISCSI_TMF_RSP_NOT_SUPPORTED},
	  {"tmf-rejected", ISCSI_TMF_RSP_REJECTED},
};

void exp_init(struct exp *e)
{
	memset(e, 0, sizeof(*e));
	e->status = e->sk = e->asc = e->ascq = -1;
	e->login = e->response = e->reject = e->targets = e->pieces = -1;
	e->chap_alg = -1;
	e->data_crc = e->data_len = e->residual = -1;
}

/* Parse everything after `expect`. */
void exp_parse(struct runner *r, struct exp *e, struct toks *t, int from)
{
	e->given = true;
	for (int i = from; i < t->n; i++) {
		const char *w = t->v[i];
		bool known = false;

		for (size_t k = 0;
		     k < sizeof(status_names) / sizeof(status_names[0]); k++)
			if (strcmp(w, status_names[k].name) == 0) {
				e->status = status_names[k].v;
				if (e->outcome == XO_DEFAULT)
					e->outcome = XO_DONE;
				known = true;
			}
		for (size_t k = 0; k < sizeof(tmf_names) / sizeof(tmf_names[0]);
		     k++)
			if (strcmp(w, tmf_names[k].name) == 0) {
				e->response = tmf_names[k].v;
				e->outcome = XO_DONE;
				known = true;
			}
		if (known || strcmp(w, "&") == 0)
			continue;
		if (strcmp(w, "ok") == 0)
			e->outcome = XO_DEFAULT;
		else if (strcmp(w, "any") == 0)
			e->outcome = XO_ANY;
		else if (strcmp(w, "dropped") == 0)
			e->outcome = XO_DROPPED;
		else if (strcmp(w, "answered") == 0)
			e->outcome = XO_DONE; /* any status, not dropped */
		else if (strcmp(w, "rejected") == 0)
			e->outcome = XO_REJECTED;
		else if (strcmp(w, "aborted") == 0)
			e->outcome = XO_ABORTED;
		else if (strcmp(w, "none") == 0)
			e->outcome = XO_NONE;
		else if (strcmp(w, "fail") == 0)
			e->outcome = XO_FAIL;
		else if (strncmp(w, "status=", 7) == 0) {
			e->status = parse_hexnum(w + 7);
			e->outcome = XO_DONE;
		} else if (strncmp(w, "sense=", 6) == 0) {
			unsigned int a = 0, b = 0, c = 0;
			int n = sscanf(w + 6, "%x/%x/%x", &a, &b, &c);

			if (n < 1)
				syntaxf(r, "sense=KEY[/ASC[/ASCQ]] in hex");
			e->sk = (int)a;
			e->asc = n >= 2 ? (int)b : -1;
			e->ascq = n >= 3 ? (int)c : -1;
			e->status = SCSI_STATUS_CHECK_CONDITION;
			e->outcome = XO_DONE;
		} else if (strncmp(w, "data=", 5) == 0) {
			snprintf(e->data, sizeof(e->data), "%s", w + 5);
		} else if (strncmp(w, "login=", 6) == 0) {
			e->login = parse_hexnum(w + 6);
			e->outcome = e->login == 0 ? XO_DEFAULT : XO_FAIL;
		} else if (strcmp(w, "auth-failure") == 0) {
			e->login = 0x0201; /* RFC 7143 §11.13.5 */
			e->outcome = XO_FAIL;
		} else if (strcmp(w, "auth-refused") == 0) {
			e->outcome = XO_REFUSED;
		} else if (strncmp(w, "chap-alg=", 9) == 0) {
			e->chap_alg = atoi(w + 9);
		} else if (strncmp(w, "response=", 9) == 0) {
			e->response = parse_hexnum(w + 9);
			e->outcome = XO_DONE;
		} else if (strncmp(w, "reject=", 7) == 0) {
			e->reject = parse_hexnum(w + 7);
			e->outcome = XO_REJECTED;
		} else if (strncmp(w, "targets=", 8) == 0) {
			e->targets = atoi(w + 8);
		} else if (strncmp(w, "pieces=", 7) == 0) {
			e->pieces = atoi(w + 7);
		} else if (strncmp(w, "contains=", 9) == 0) {
			snprintf(e->contains, sizeof(e->contains), "%s", w + 9);
		} else if (strncmp(w, "keys=", 5) == 0) {
			snprintf(e->keys, sizeof(e->keys), "%s", w + 5);
		} else if (strncmp(w, "data-crc=", 9) == 0) {
			unsigned long long crc = 0, len = 0;

			if (sscanf(w + 9, "%llx/%llu", &crc, &len) != 2)
				syntaxf(r, "data-crc=CRC32C/LENGTH");
			e->data_crc = (int64_t)(crc & 0xffffffffu);
			e->data_len = (int64_t)len;
			e->outcome = e->outcome == XO_DEFAULT ? XO_DEFAULT
							      : e->outcome;
		} else if (strncmp(w, "data-hex=", 9) == 0) {
			e->data_hex = w + 9;
		} else if (strncmp(w, "residual=", 9) == 0) {
			e->residual = (int64_t)strtoull(w + 9, NULL, 0);
		} else if (strncmp(w, "holder=", 7) == 0) {
			e->resv_key_set = 1;
			snprintf(e->resv_key, sizeof(e->resv_key), "%s", w + 7);
		} else {
			syntaxf(r, "unknown expectation '%s'", w);
		}
	}
}

const char *status_name(int s)
{
	for (size_t k = 0; k < sizeof(status_names) / sizeof(status_names[0]);
	     k++)
		if (status_names[k].v == s)
			return status_names[k].name;
	return "?";
}

/* -------------------------------------------------------- SCSI CDBs */

/* READ/WRITE(6/10/12/16); size 0 picks 10 or, when needed, 16.  READ(6)
 * and WRITE(6) have no FUA and a 21-bit LBA; TRANSFER LENGTH 0 is 256
 * blocks (SBC-4 §5.15). */
static void cdb_rw(uint8_t *cdb, bool write, uint64_t lba, uint32_t blocks,
		   bool fua, unsigned int size)
{
	memset(cdb, 0, 16);
	if (size == 6) {
		cdb[0] = write ? 0x0a : 0x08;
		cdb[1] = (uint8_t)(lba >> 16 & 0x1f);
		cdb[2] = (uint8_t)(lba >> 8);
		cdb[3] = (uint8_t)lba;
		cdb[4] = (uint8_t)blocks;
	} else if (size == 12) {
		cdb[0] = write ? 0xaa : 0xa8;
		cdb[1] = fua ? 0x08 : 0;
		put_be32(cdb + 2, (uint32_t)lba);
		put_be32(cdb + 6, blocks);
	} else if (size == 16 || lba > 0xffffffffull || blocks > 0xffff) {
		cdb[0] = write ? 0x8a : 0x88;
		cdb[1] = fua ? 0x08 : 0;
		put_be64(cdb + 2, lba);
		put_be32(cdb + 10, blocks);
	} else {
		cdb[0] = write ? 0x2a : 0x28;
		cdb[1] = fua ? 0x08 : 0;
		put_be32(cdb + 2, (uint32_t)lba);
		put_be16(cdb + 7, (uint16_t)blocks);
	}
}

static const struct {
	const char *name;
	uint8_t v;
} pr_types[] = {
	{"wr-ex", 1},	 {"ex-ac", 3},	  {"wr-ex-ro", 5},
	{"ex-ac-ro", 6}, {"wr-ex-ar", 7}, {"ex-ac-ar", 8},
};

static uint8_t pr_type(struct runner *r, const struct toks *t)
{
	const char *v = kv(t, "type");

	if (v == NULL)
		return 1;
	for (size_t i = 0; i < sizeof(pr_types) / sizeof(pr_types[0]); i++)
		if (strcmp(v, pr_types[i].name) == 0)
			return pr_types[i].v;
	syntaxf(r,
		"unknown PR type '%s' (wr-ex ex-ac wr-ex-ro ex-ac-ro "
		"wr-ex-ar ex-ac-ar)",
		v);
	return 1;
}

/*
 * A malformed PR OUT, one field at a time (round of lead19): `sa=N` a
 * SERVICE ACTION of 8-1Fh (reserved: INVALID FIELD IN CDB), `plen=N` a
 * PARAMETER LIST LENGTH other than 24 (that many bytes sent; below 24 or,
 * without SPEC_I_PT, anything but 24: PARAMETER LIST LENGTH ERROR, SPC-4
 * §6.16.3), `scope=N` a SCOPE other than LU_SCOPE and `type-code=N` a
 * reserved TYPE, on RESERVE, RELEASE, PREEMPT and PREEMPT AND ABORT
 * (INVALID FIELD IN CDB, §6.16.2).  Every one is refused before the
 * device server looks at keys or state: the PR oracle wants exactly that
 * ASC and no change.  Not with SPEC_I_PT or REGISTER AND MOVE.
 */
static void pr_out_malformed(struct runner *r, struct pend *p,
			     struct ini_op *op, const struct toks *t)
{
	uint8_t sa = op->cdb[1] & 0x1f;
	bool typed = sa == 1 || sa == 2 || sa == 4 || sa == 5;
	unsigned int n = (kv(t, "sa") != NULL) + (kv(t, "plen") != NULL) +
			 (kv(t, "scope") != NULL) +
			 (kv(t, "type-code") != NULL);

	p->pro.bad_asc = 0;
	if (n == 0)
		return;
	if (n > 1 || p->pro.spec_i_pt || sa == 7) {
		syntaxf(r,
			"%s: one of sa= plen= scope= type-code= at a time, "
			"not with spec-i-pt or on pr-register-move",
			p->verb);
		return;
	}
	if (kv(t, "sa")) {
		uint64_t v = u64_or(t, "sa", 0, r);

		if (v < 8 || v > 0x1f) {
			syntaxf(r,
				"sa=%llu: a reserved service action is "
				"8 to 31",
				(unsigned long long)v);
			return;
		}
		op->cdb[1] = (uint8_t)v;
		p->pro.bad_asc = 0x24;
	} else if (kv(t, "plen")) {
		uint64_t v = u64_or(t, "plen", 24, r);

		if (v == 24 || v > 28 + 9 * 264) {
			syntaxf(r, "plen=%llu: 0 to %u, not 24",
				(unsigned long long)v, 28 + 9 * 264);
			return;
		}
		op->edtl = (uint32_t)v;
		p->pro.bad_asc = 0x1a;
	} else {
		bool scope = kv(t, "scope") != NULL;
		uint64_t v = u64_or(t, scope ? "scope" : "type-code", 0, r);
		bool bad = scope ? v != 0
				 : !(v == 1 || v == 3 || (v >= 5 && v <= 8));

		if (!typed || !bad || v > 15) {
			syntaxf(r,
				"%s=%llu: a reserved value (1 to 15) on "
				"pr-reserve, pr-release, pr-preempt or "
				"pr-preempt-abort",
				scope ? "scope" : "type-code",
				(unsigned long long)v);
			return;
		}
		op->cdb[2] = scope ? (uint8_t)((v << 4) | (op->cdb[2] & 0xf))
				   : (uint8_t)((op->cdb[2] & 0xf0) | v);
		p->pro.bad_asc = 0x24;
	}
}

static uint64_t hexkey(struct runner *r, const struct toks *t, const char *k)
{
	const char *v = kv(t, k);
	char *end;
	uint64_t x;

	if (v == NULL)
		return 0;
	x = strtoull(v, &end, 16);
	if (*end != '\0')
		syntaxf(r, "%s=%s: keys are hex", k, v);
	return x;
}

/*
 * An iSCSI TransportID (SPC-4 §7.6.4.6) naming initiator `iqn` (ISID
 * `isid`) into b (room for 4 + 256 bytes): FORMAT CODE 01b, the string
 * "name,i,0x" + the ISID in hex, or 00b, the name alone; NUL-terminated
 * and padded to a multiple of 4.  `bad` makes it malformed: long (its
 * ADDITIONAL LENGTH counts 4 bytes more than it has), nonul (the string
 * fills it without a NUL), nosep (01b without ",i,0x"), proto (the
 * PROTOCOL IDENTIFIER of Fibre Channel).  Returns its length.
 */
static uint32_t pr_tid(uint8_t *b, const char *iqn, const uint8_t *isid,
		       int fmt, const char *bad)
{
	char s[256];
	size_t n;
	uint32_t len;

	if (fmt == 1 && !(bad && strcmp(bad, "nosep") == 0))
		snprintf(s, sizeof(s), "%s,i,0x%02x%02x%02x%02x%02x%02x", iqn,
			 isid[0], isid[1], isid[2], isid[3], isid[4], isid[5]);
	else
		snprintf(s, sizeof(s), "%s", iqn);
	n = strlen(s);
	len = (uint32_t)(n + 1 + 3) & ~3u; /* the NUL, then the pad */
	memset(b, 0, 4 + len);
	b[0] = (uint8_t)(fmt << 6 | 0x05); /* iSCSI (SPC-4 §7.6.1) */
	if (bad && strcmp(bad, "proto") == 0)
		b[0] = (uint8_t)(fmt << 6); /* Fibre Channel */
	memcpy(b + 4, s, n);
	if (bad && strcmp(bad, "nonul") == 0)
		memset(b + 4 + n, 'x', len - n);
	put_be16(b + 2,
		 (uint16_t)(len + (bad && strcmp(bad, "long") == 0 ? 4 : 0)));
	return 4 + len;
}

static const char *pr_tid_bad(struct runner *r, const struct toks *t)
{
	const char *bad = kv(t, "bad-tid");
	static const char *const kinds[] = {"long", "nonul", "nosep", "proto",
					    "overrun"};

	if (bad == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(bad, kinds[i]) == 0)
			return kinds[i];
	syntaxf(r, "bad-tid=%s: long nonul nosep proto overrun", bad);
	return NULL;
}

/* REGISTER AND MOVE names its destination's target port by RELATIVE
 * TARGET PORT IDENTIFIER: judged only where every login reaches one
 * target port (one target, one portal group), the relative port 1.
 * SPEC_I_PT and ALL_TG_PT are judged wherever there is one target
 * (pr_one_target): the model knows each nexus's port. */
static bool pr_one_port(const struct runner *r)
{
	for (int i = 1; i < r->nportals; i++)
		if (r->portal_tpgts[i] != r->portal_tpgts[0])
			return false;
	return r->nextra == 0;
}

/* PR OUT REGISTER with spec-i-pt=A,B (SPEC_I_PT: the TransportIDs of
 * those actors after the header, SPC-4 §6.16.3) and all-tg-pt; the
 * header of every other service action is 24 bytes (`op->out` holds
 * 28 + 9 TransportIDs). */
static uint32_t pr_spec_list(struct runner *r, struct pend *p,
			     struct ini_op *op, const struct toks *t)
{
	const char *bad = pr_tid_bad(r, t), *v = kv(t, "spec-i-pt");
	int fmt = (int)u64_or(t, "tid-fmt", 1, r);
	uint32_t off = 28;
	char names[256];

	op->out[20] |= 0x08;
	p->pro.spec_i_pt = true;
	snprintf(names, sizeof(names), "%s", v ? v : "");
	for (char *save = NULL, *n = strtok_r(names, ",", &save); n;
	     n = strtok_r(NULL, ",", &save)) {
		struct actor *a = actor_find(r, n);

		if (a == NULL) {
			syntaxf(r, "spec-i-pt=%s: no actor '%s'", v, n);
			return off;
		}
		if (off + 264 > 28 + 9 * 264)
			break;
		if (!(p->pro.spec >> a->idx & 1))
			p->pro.spec_off[a->idx] = (uint16_t)off;
		off += pr_tid(op->out + off, ini_iqn(a->ini), ini_isid(a->ini),
			      fmt, NULL);
		p->pro.spec |= (uint8_t)(1u << a->idx);
	}
	if (bad != NULL) {
		p->pro.tid_bad = true;
		p->pro.tid_off = (uint16_t)off;
		off += pr_tid(op->out + off, ini_iqn(p->a->ini),
			      ini_isid(p->a->ini), fmt, bad);
	}
	put_be32(op->out + 24, off - 28);
	/* 00b names a device, not a port: refused (pr_model.c) */
	p->pro.tid_fmt0 = fmt == 0;
	if (!pr_one_target(r))
		p->pro_unmodelled = true;
	return off;
}

/* PR OUT REGISTER AND MOVE (SPC-4 §6.16.4): to=ACTOR, unreg, aptpl,
 * rtpi=N (1), tid-fmt, bad-tid=KIND. */
static uint32_t pr_move_list(struct runner *r, struct pend *p,
			     struct ini_op *op, const struct toks *t)
{
	const char *bad = pr_tid_bad(r, t);
	struct actor *to = kv(t, "to") ? actor_find(r, kv(t, "to")) : NULL;
	int fmt = (int)u64_or(t, "tid-fmt", 1, r);
	uint64_t rtpi = u64_or(t, "rtpi", 1, r);
	uint32_t n;

	memset(op->out + 16, 0, 8);
	if (to == NULL) {
		if (kv(t, "to"))
			syntaxf(r, "pr-register-move: no actor '%s'",
				kv(t, "to"));
		/* no to=: an empty TransportID, which names nobody */
		p->pro.tid_bad = true;
		return 24;
	}
	if (has(t, "unreg"))
		op->out[17] |= 0x02;
	if (has(t, "aptpl"))
		op->out[17] |= 0x01;
	put_be16(op->out + 18, (uint16_t)rtpi);
	n = pr_tid(op->out + 24, ini_iqn(to->ini), ini_isid(to->ini), fmt,
		   bad && strcmp(bad, "overrun") != 0 ? bad : NULL);
	put_be32(op->out + 20,
		 n + (bad && strcmp(bad, "overrun") == 0 ? 4 : 0));
	p->pro.dest = to->idx;
	p->pro.unreg = has(t, "unreg");
	p->pro.tid_bad = (bad != NULL && strcmp(bad, "overrun") != 0) ||
			 fmt != 1; /* 00b names a device: refused */
	p->pro.tid_overrun = bad != NULL && strcmp(bad, "overrun") == 0;
	/* a nexus the model has no actor for: another port */
	if (rtpi != 1 || !pr_one_port(r))
		p->pro_unmodelled = true;
	return 24 + n;
}

/* attr=simple|ordered|hoq|aca|untagged: the task attribute sent (RFC
 * 7143 ATTR), SIMPLE by default; the order oracle (scenario_order.c)
 * judges what it promises. */
static void task_attr(struct runner *r, struct pend *p, struct ini_op *op,
		      const struct toks *t)
{
	static const struct {
		const char *name;
		uint8_t iscsi, sam;
	} attrs[] = {
		{"simple", 1, SCSI_TASK_SIMPLE},
		{"ordered", 2, SCSI_TASK_ORDERED},
		{"hoq", 3, SCSI_TASK_HEAD_OF_QUEUE},
		{"aca", 4, SCSI_TASK_ACA},
		{"untagged", 0, SCSI_TASK_SIMPLE},
	};
	const char *v = kv(t, "attr");

	p->attr = SCSI_TASK_SIMPLE;
	op->task_attr = 1;
	if (v == NULL)
		return;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (strcmp(v, attrs[i].name) == 0) {
			p->attr = attrs[i].sam;
			/* 0 in ini_op means Simple: Untagged goes as 8, whose
			 * low bits the initiator sends */
			op->task_attr = attrs[i].iscsi ? attrs[i].iscsi : 8;
			return;
		}
	}
	syntaxf(r, "unknown attr=%s (simple ordered hoq aca untagged)", v);
}

/* Build a SCSI op from verb and arguments; false if not a SCSI verb. */
bool scsi_build(struct runner *r, struct pend *p, struct ini_op *op,
		const char *verb, const struct toks *t)
{
	struct lun_st *l;
	uint32_t bs;

	op->lun = u64_or(t, "lun", 0, r);
	p->lun = op->lun;
	l = p->ls = lun_find(r, op->lun);
	/* a LUN its group hides: no LU behind it for this initiator, no
	 * model or oracle of the LU judges it (scenario_acl.c does) */
	if (l != NULL && !acl_sees(r, p->a, l)) {
		l = p->ls = NULL;
		p->acl_hidden = true;
	}
	p->acl_ro = l != NULL && acl_ro(r, p->a, l);
	bs = l ? l->bs : 512;
	p->lba = u64_or(t, "lba", 0, r);
	p->blocks = (uint32_t)u64_or(t, "blocks", 1, r);
	p->fua = has(t, "fua");
	task_attr(r, p, op, t);
	if (cmds_build(r, p, op, verb, t))
		return true;
	if (strcmp(verb, "read") == 0 || strcmp(verb, "write") == 0) {
		bool w = verb[0] == 'w';
		unsigned int size = (unsigned int)u64_or(t, "cdb", 0, r);

		if (size == 6) {
			/* 21-bit LBA, 0 blocks is 256, no FUA */
			p->lba &= 0x1fffff;
			p->blocks = p->blocks ? p->blocks & 0xff : 256;
			if (p->blocks == 0)
				p->blocks = 256;
			p->fua = false;
		}
		cdb_rw(op->cdb, w, p->lba, p->blocks, p->fua, size);
		op->edtl = p->blocks * bs;
		/* a read or write may expect another length than its CDB
		 * transfers: the residual oracle (scenario_oracle.c); a
		 * write sends its blocks, then zeros up to edtl */
		if (kv(t, "edtl"))
			op->edtl = (uint32_t)u64_or(t, "edtl", op->edtl, r);
		op->dir_read = !w;
		op->dir_write = w;
		p->kind = w ? PK_WRITE : PK_READ;
		/* past the last LBA (without wrapping at 2^64: an LBA near
		 * it plus the length is no smaller LBA): GOOD is wrong,
		 * and the model has no such blocks (scenario_oracle.c) */
		if (l != NULL && l->m != NULL && p->blocks > 0 &&
		    (p->lba > model_blocks(l->m) ||
		     p->blocks > model_blocks(l->m) - p->lba))
			p->oor = true;
		if (w) {
			const char *d = kv(t, "data");
			char dflt[32];
			uint64_t vid;
			uint32_t mblocks = p->blocks;

			snprintf(dflt, sizeof(dflt), "w%d", r->line);
			vid = model_vid(d ? d : dflt);
			p->vid = vid;
			land_bound_forget(r, l, vid);
			op->out =
				calloc(1, op->edtl > (size_t)p->blocks * bs
						  ? op->edtl
						  : (size_t)p->blocks * bs + 1);
			if (op->out == NULL)
				abort();
			for (uint32_t i = 0; i < p->blocks; i++)
				model_fill(vid, p->lba + i,
					   op->out + (size_t)i * bs, bs);
			/* an expected length below the CDB's (overflow):
			 * the target may write the whole blocks that came
			 * (answering GOOD with O) or refuse; none beyond */
			if (op->edtl / bs < p->blocks)
				mblocks = op->edtl / bs;
			/* and one ending inside a block: the bytes of it
			 * that came, over what the block held (a record of
			 * its own, named at the answer: scenario_oracle.c) */
			if (op->edtl < (uint64_t)p->blocks * bs &&
			    op->edtl % bs != 0 && l != NULL && !p->oor) {
				uint64_t wild = MODEL_WILD;

				p->part_lba = p->lba + mblocks;
				p->part_cut = op->edtl % bs;
				p->stamp = model_tick(l->m);
				model_read_begin(l->m, p->stamp);
				p->part_handle = model_write_begin(
					l->m, p->part_lba, 1, &wild, p->stamp);
			}
			if (l != NULL && !p->oor && mblocks > 0) {
				uint64_t *vids =
					malloc(mblocks * sizeof(*vids) + 1);

				if (vids == NULL)
					abort();
				for (uint32_t i = 0; i < mblocks; i++)
					vids[i] = vid;
				if (p->stamp == 0)
					p->stamp = model_tick(l->m);
				p->handle = model_write_begin(
					l->m, p->lba, mblocks, vids, p->stamp);
				free(vids);
			} else if (p->part_cut == 0) {
				/* past the end: written only if a grow
				 * brings it in before the target takes it */
				if (l != NULL && l->m != NULL && mblocks > 0 &&
				    mblocks == p->blocks)
					cmds_write_past_end(p, l, p->lba,
							    mblocks, vid);
				p->ls = NULL;
			}
		} else if (l != NULL) {
			p->stamp = model_tick(l->m);
			model_read_begin(l->m, p->stamp);
		}
		if (kv(t, "vanish-at-r2t") || has(t, "vanish-at-r2t"))
			op->vanish_at_r2t = true;
	} else if (strcmp(verb, "sync") == 0) {
		if (u64_or(t, "cdb", 10, r) == 16) {
			op->cdb[0] = 0x91;
			put_be64(op->cdb + 2, p->lba);
			put_be32(op->cdb + 10,
				 (uint32_t)u64_or(t, "blocks", 0, r));
		} else {
			op->cdb[0] = 0x35;
			put_be32(op->cdb + 2, (uint32_t)p->lba);
			put_be16(op->cdb + 7,
				 (uint16_t)u64_or(t, "blocks", 0, r));
		}
		p->kind = PK_SYNC;
		/* the range as sent: NUMBER OF LOGICAL BLOCKS 0 is "to the
		 * end" (SBC-4 §5.24); past the last LBA it must be refused
		 * (the out-of-range oracle, cmds_oor_oracle) */
		p->blocks = (uint32_t)u64_or(t, "blocks", 0, r);
		if (l && l->m &&
		    (p->lba > model_blocks(l->m) ||
		     (p->blocks > 0 && p->blocks > model_blocks(l->m) - p->lba)))
			p->oor = true;
		if (l)
			p->stamp = model_tick(l->m);
	} else if (strcmp(verb, "tur") == 0) {
		op->cdb[0] = 0x00;
	} else if (strcmp(verb, "inquiry") == 0) {
		op->cdb[0] = 0x12;
		if (kv(t, "page")) {
			op->cdb[1] = 1;
			op->cdb[2] = (uint8_t)u64_or(t, "page", 0, r);
		}
		op->edtl = 255;
		put_be16(op->cdb + 3, 255);
		op->dir_read = true;
		p->kind = PK_INQUIRY;
	} else if (strcmp(verb, "readcap") == 0) {
		op->cdb[0] = 0x25;
		op->edtl = 8;
		op->dir_read = true;
	} else if (strcmp(verb, "request-sense") == 0) {
		op->cdb[0] = 0x03;
		op->cdb[1] = has(t, "desc") ? 0x01 : 0;
		op->cdb[4] = 252;
		op->edtl = 252;
		op->dir_read = true;
		p->kind = PK_RSENSE;
	} else if (strcmp(verb, "report-luns") == 0) {
		op->cdb[0] = 0xa0;
		op->cdb[2] = (uint8_t)u64_or(t, "select", 0, r);
		op->edtl = 4096;
		put_be32(op->cdb + 6, 4096);
		op->dir_read = true;
	} else if (strcmp(verb, "reserve") == 0) {
		if (l)
			l->spc2_used = true;
		op->cdb[0] = u64_or(t, "cdb", 6, r) == 10 ? 0x56 : 0x16;
		p->kind = PK_RESERVE;
	} else if (strcmp(verb, "release") == 0) {
		op->cdb[0] = u64_or(t, "cdb", 6, r) == 10 ? 0x57 : 0x17;
		p->kind = PK_RELEASE;
		if (l)
			l->spc2_used = true;
		/* Until the answer, others may already see it released. */
		if (l != NULL && l->holder == p->a->idx) {
			l->epoch++;
			l->uncertain = true;
		}
	} else if (strncmp(verb, "pr-", 3) == 0) {
		static const struct {
			const char *name;
			uint8_t sa;
		} outs[] = {{"pr-register", 0},	       {"pr-reserve", 1},
			    {"pr-release", 2},	       {"pr-clear", 3},
			    {"pr-preempt", 4},	       {"pr-preempt-abort", 5},
			    {"pr-register-ignore", 6}, {"pr-register-move", 7}};
		size_t k;

		if (l)
			l->pr_used = true;
		if (strcmp(verb, "pr-report-caps") == 0 ||
		    strcmp(verb, "pr-read-full") == 0) {
			bool full = strcmp(verb, "pr-read-full") == 0;

			op->cdb[0] = 0x5e;
			op->cdb[1] = full ? 3 : 2;
			put_be16(op->cdb + 7, 1024);
			op->edtl = 1024;
			op->dir_read = true;
			p->kind = full ? PK_PRIN_FULL : PK_SPC;
			return true;
		}
		if (strcmp(verb, "pr-read-keys") == 0 ||
		    strcmp(verb, "pr-read-reservation") == 0) {
			op->cdb[0] = 0x5e;
			op->cdb[1] = verb[8] == 'k' ? 0 : 1;
			put_be16(op->cdb + 7, 1024);
			op->edtl = 1024;
			op->dir_read = true;
			p->kind = verb[8] == 'k' ? PK_PRIN_KEYS : PK_PRIN_RESV;
			return true;
		}
		for (k = 0; k < sizeof(outs) / sizeof(outs[0]); k++)
			if (strcmp(verb, outs[k].name) == 0)
				break;
		if (k == sizeof(outs) / sizeof(outs[0]))
			return false;
		op->cdb[0] = 0x5f;
		op->cdb[1] = outs[k].sa;
		op->cdb[2] = outs[k].sa == 0 || outs[k].sa == 3 ||
					     outs[k].sa == 6
				     ? 0
				     : pr_type(r, t);
		op->dir_write = true;
		op->out = calloc(1, 28 + 9 * 264);
		if (op->out == NULL)
			abort();
		put_be64(op->out, hexkey(r, t, "key"));
		put_be64(op->out + 8,
			 hexkey(r, t,
				outs[k].sa == 0 || outs[k].sa == 6 ? "new"
								   : "sa-key"));
		if (has(t, "aptpl"))
			op->out[20] |= 0x01;
		if (has(t, "all-tg-pt"))
			op->out[20] |= 0x04;
		p->kind = PK_PROUT;
		p->pro = (struct prm_out){.sa = outs[k].sa,
					  .type = op->cdb[2],
					  .key = get_be64(op->out),
					  .sark = get_be64(op->out + 8),
					  .aptpl = has(t, "aptpl"),
					  .dest = -1};
		p->pro_unmodelled = false;
		op->edtl = 24;
		if (outs[k].sa == 0 &&
		    (kv(t, "spec-i-pt") || has(t, "spec-i-pt")))
			op->edtl = pr_spec_list(r, p, op, t);
		else if (outs[k].sa == 7)
			op->edtl = pr_move_list(r, p, op, t);
		/* ALL_TG_PT: every port of the one target (pr_model.c) */
		p->pro.all_tg_pt = has(t, "all-tg-pt");
		if (has(t, "all-tg-pt") && !pr_one_target(r))
			p->pro_unmodelled = true;
		pr_out_malformed(r, p, op, t);
		put_be32(op->cdb + 5, op->edtl);
		p->pro_modelled = !p->pro_unmodelled;
	} else if (alua_scsi_build(r, p, op, verb, t)) {
		/* stpg, rtpg (scenario_alua.c) */
	} else if (strcmp(verb, "cdb") == 0) {
		const char *hex = t->n > 2 ? t->v[2] : "";
		/* one byte more than the longest: a longer CDB is refused,
		 * not cut */
		uint8_t cdb[SCSI_CDB_MAX + 1] = {0};
		size_t n = hex_decode(hex, cdb, sizeof(cdb));

		if (n == (size_t)-1 || n == 0)
			syntaxf(r, "cdb HEX: bad hex '%s'", hex);
		/* 16 bytes in the BHS and at most 16 in the Extended CDB
		 * AHS: the target's SCSI_CDB_MAX, and what the initiator's
		 * cdb_ext holds (a longer one the target Rejects, its CmdSN
		 * not received: RFC 7143 §6.3, which the initiator would
		 * have to plug -- the simulator does not) */
		if (n != (size_t)-1 && n > SCSI_CDB_MAX) {
			syntaxf(r,
				"cdb HEX: at most %u bytes (16 in the BHS, "
				"16 in an Extended CDB AHS), '%s' is longer",
				SCSI_CDB_MAX, hex);
			n = SCSI_CDB_MAX;
		}
		/* beyond 16 bytes: the rest in an Extended CDB AHS */
		memcpy(op->cdb, cdb, 16);
		/* a variable-length CDB: no command of the target's, it ends
		 * no other command (the long-CDB oracle, scenario_oracle.c,
		 * fails any that runs) */
		if (cdb[0] == 0x7f && p->may_abort_others) {
			p->may_abort_others = false;
			r->abort_events--;
			r->abort_inflight--;
		}
		if (n != (size_t)-1 && n > 16) {
			op->cdb_ext_len = (uint8_t)(n - 16);
			memcpy(op->cdb_ext, cdb + 16, n - 16);
		}
		if (kv(t, "in")) {
			op->edtl = (uint32_t)u64_or(t, "in", 0, r);
			op->dir_read = true;
		} else if (kv(t, "out")) {
			op->edtl = (uint32_t)u64_or(t, "out", 0, r);
			op->dir_write = true;
			op->out = calloc(1, op->edtl ? op->edtl : 1);
			if (op->out == NULL)
				abort();
			/* the bytes to write (import); the rest stays 0 */
			if (kv(t, "data-hex") &&
			    hex_decode(kv(t, "data-hex"), op->out, op->edtl) ==
				    (size_t)-1)
				syntaxf(r, "data-hex=HEX: bad hex");
		}
	} else {
		return false;
	}
	return true;
}

/* CHAP options of an initiator line or a login: chap-name= chap-secret=
 * mutual-name= mutual-secret= chap-a=LIST chap-reflect chap=off, over
 * base. */
void chap_opts(struct runner *r, struct ini_chap *c,
	       const struct ini_chap *base, const struct toks *t)
{
	static const struct {
		const char *key;
		size_t off, len;
	} map[] = {
#define C(k, f) \
	{k, offsetof(struct ini_chap, f), sizeof(((struct ini_chap *)0)->f)}
		C("chap-name", name),
		C("chap-secret", secret),
		C("mutual-name", target_name),
		C("mutual-secret", target_secret),
		C("chap-a", algs),
#undef C
	};
	const char *v;

	*c = *base;
	if ((v = kv(t, "chap")) != NULL) {
		if (strcmp(v, "off") != 0)
			syntaxf(r, "chap=off is the only chap= value");
		memset(c, 0, sizeof(*c));
	}
	for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
		if ((v = kv(t, map[k].key)) != NULL) {
			if (strlen(v) >= map[k].len)
				syntaxf(r, "%s: too long", map[k].key);
			snprintf((char *)c + map[k].off, map[k].len, "%s", v);
		}
	if (has(t, "chap-reflect"))
		c->reflect = true;
	/* chap-enc=hex|b64|HEX|B64|b64-bad: how CHAP_R and CHAP_C are
	 * written (HEX, B64: the prefix 0X, 0B) */
	if ((v = kv(t, "chap-enc")) != NULL) {
		if (strcmp(v, "hex") == 0)
			c->enc = INI_CHAP_HEX;
		else if (strcmp(v, "b64") == 0)
			c->enc = INI_CHAP_B64;
		else if (strcmp(v, "b64-bad") == 0)
			c->enc = INI_CHAP_B64_BAD;
		else if (strcmp(v, "HEX") == 0)
			c->enc = INI_CHAP_HEX_UP;
		else if (strcmp(v, "B64") == 0)
			c->enc = INI_CHAP_B64_UP;
		else
			syntaxf(r, "chap-enc=hex|b64|HEX|B64|b64-bad");
	}
	if ((c->secret[0] || c->target_secret[0]) && !c->name[0])
		syntaxf(r, "chap-secret/mutual-secret without chap-name");
}

/* ------------------------------------------------- top-level lines */

/*
 * Sizes as docs/configuration.md documents them ("Plain bytes (4096) or a
 * number with a binary suffix: K/KiB (2^10), M/MiB, G/GiB, T/TiB"), read
 * here again: a scenario's sizes are the model's, and the target reads
 * the same text its own way (a mem or null LU's, build_cfg), so a suffix
 * the target misreads shows (round of blind19, mutant 508).
 */
int sim_size_parse(const char *s, uint64_t *out)
{
	static const struct {
		const char *sfx;
		unsigned int shift;
	} units[] = {{"", 0},	  {"k", 10},   {"kib", 10},
		     {"m", 20},	  {"mib", 20}, {"g", 30},
		     {"gib", 30}, {"t", 40},   {"tib", 40}};
	uint64_t v = 0;
	size_t i = 0;

	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0)
		return -1;
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		if (strcasecmp(s + i, units[u].sfx) != 0)
			continue;
		if (v > (UINT64_MAX >> units[u].shift))
			return -1;
		*out = v << units[u].shift;
		return 0;
	}
	return -1;
}

void decl_lun(struct runner *r, struct toks *t)
{
	struct lun_st *l;
	uint64_t n, size = 16ull << 20;
	const char *v;

	if (r->started) {
		syntaxf(r, "lun after the target started");
		return;
	}
	if (r->nluns == MAX_LUNS || t->n < 3 || !parse_u64(t->v[1], &n)) {
		syntaxf(r,
			"lun N DISK [size=16M] [block=512] [write-cache=off] "
			"[ro] [thin] [native] [removable] "
			"[backstore=sim|mem|null] "
			"[sanitize-rate=BYTES]");
		return;
	}
	if ((v = kv(t, "size")) && sim_size_parse(v, &size) != 0)
		syntaxf(r, "size=%s", v);
	l = &r->luns[r->nluns++];
	memset(l, 0, sizeof(*l));
	l->lun = (uint32_t)n;
	snprintf(l->disk, sizeof(l->disk), "%s", t->v[2]);
	l->size_bytes = size;
	snprintf(l->size_str, sizeof(l->size_str), "%s",
		 (v = kv(t, "size")) ? v : "16M");
	l->bs = (uint32_t)u64_or(t, "block", 512, r);
	l->wc_off = (v = kv(t, "write-cache")) && strcmp(v, "off") == 0;
	l->wc_off_cfg = l->wc_off;
	l->ro = has(t, "ro");
	l->thin = has(t, "thin");
	l->native = has(t, "native");
	l->removable = has(t, "removable");
	l->med = 1;
	l->kind = BS_SIM;
	if ((v = kv(t, "backstore")) && strcmp(v, "mem") == 0)
		l->kind = BS_MEM;
	else if (v && strcmp(v, "null") == 0)
		l->kind = BS_NULL;
	else if (v && strcmp(v, "sim") != 0)
		syntaxf(r, "backstore=%s: sim, mem or null", v);
	if ((v = kv(t, "sanitize-rate")) &&
	    sim_size_parse(v, &l->sanitize_rate) != 0)
		syntaxf(r, "sanitize-rate=%s", v);
	l->holder = -1;
	prm_clear(&l->pr);
}

/* `reactors N`: the target runs on N simulated reactors (sim.h). */
void decl_reactors(struct runner *r, struct toks *t)
{
	uint64_t n;

	if (r->started || t->n != 2 || !parse_u64(t->v[1], &n) ||
	    n > SIM_MAX_REACTORS ||
	    sim_set_reactors(r->sim, (unsigned int)n) != 0)
		syntaxf(r, "reactors N (1..%d), before the target starts",
			SIM_MAX_REACTORS);
}

/* `zero-copy on|off`: the daemon's --zero-copy (sim.h
 * sim_set_zero_copy), before the target starts. */
void decl_zero_copy(struct runner *r, struct toks *t)
{
	if (r->started || t->n != 2 ||
	    (strcmp(t->v[1], "on") != 0 && strcmp(t->v[1], "off") != 0)) {
		syntaxf(r, "zero-copy on|off, before the target starts");
		return;
	}
	sim_set_zero_copy(r->sim, strcmp(t->v[1], "on") == 0);
}

/* `send-file on|off`: the daemon's --send-file (sim.h
 * sim_set_send_file), before the target starts. */
void decl_send_file(struct runner *r, struct toks *t)
{
	if (r->started || t->n != 2 ||
	    (strcmp(t->v[1], "on") != 0 && strcmp(t->v[1], "off") != 0)) {
		syntaxf(r, "send-file on|off, before the target starts");
		return;
	}
	sim_set_send_file(r->sim, strcmp(t->v[1], "on") == 0);
}

static const struct {
	const char *key;
	size_t off;
	bool is_bool;
} param_map[] = {
#define P(k, f, b)                                        \
	{                                                 \
		k, offsetof(struct ut_iscsi_params, f), b \
	}
	P("InitialR2T", initial_r2t, true),
	P("ImmediateData", immediate_data, true),
	P("MaxRecvDataSegmentLength", max_recv_data_segment_length, false),
	P("MaxXmitDataSegmentLength", max_xmit_data_segment_length, false),
	P("MaxBurstLength", max_burst_length, false),
	P("FirstBurstLength", first_burst_length, false),
	P("MaxOutstandingR2T", max_outstanding_r2t, false),
	P("DefaultTime2Wait", default_time2wait, false),
	P("DefaultTime2Retain", default_time2retain, false),
	P("QueuedCommands", queued_commands, false),
	P("MaxSessions", max_sessions, false),
	P("NopInInterval", nop_in_interval_s, false),
	P("NopInTimeout", nop_in_timeout_s, false),
	P("RspTimeout", rsp_timeout_s, false),
	P("SessionBufferLimit", session_buffer_limit, false),
#undef P
};

void decl_param(struct runner *r, struct toks *t)
{
	for (int i = 1; i < t->n; i++) {
		char *eq = strchr(t->v[i], '=');
		size_t k;

		if (eq == NULL) {
			syntaxf(r, "param Key=Value");
			return;
		}
		*eq = '\0';
		if (strcmp(t->v[i], "HeaderDigest") == 0 ||
		    strcmp(t->v[i], "DataDigest") == 0) {
			bool crc = strncmp(eq + 1, "CRC32C", 6) == 0;
			bool hd = t->v[i][0] == 'H';
			enum ut_digest *list = hd ? r->params.header_digest
						  : r->params.data_digest;

			list[0] = crc ? UT_DIGEST_CRC32C : UT_DIGEST_NONE;
			list[1] = crc ? UT_DIGEST_NONE : UT_DIGEST_CRC32C;
			if (hd)
				r->params.header_digest_count = 2;
			else
				r->params.data_digest_count = 2;
			continue;
		}
		for (k = 0; k < sizeof(param_map) / sizeof(param_map[0]); k++)
			if (strcmp(param_map[k].key, t->v[i]) == 0)
				break;
		if (k == sizeof(param_map) / sizeof(param_map[0])) {
			syntaxf(r, "unknown target param '%s'", t->v[i]);
			return;
		}
		if (param_map[k].is_bool)
			*(bool *)((char *)&r->params + param_map[k].off) =
				strcmp(eq + 1, "Yes") == 0;
		else
			*(uint32_t *)((char *)&r->params + param_map[k].off) =
				(uint32_t)strtoul(eq + 1, NULL, 0);
	}
}

/* [discovery] IncomingUser NAME SECRET | [discovery] OutgoingUser NAME
 * SECRET: CHAP for the target's normal sessions, or for discovery. */
void decl_user(struct runner *r, struct toks *t)
{
	int lvl = strcmp(t->v[0], "discovery") == 0;
	const char *kind = t->v[lvl];
	struct ut_user_cfg *u;

	if (r->started) {
		syntaxf(r, "%s after the target started", kind);
		return;
	}
	if (t->n != lvl + 3 || strlen(t->v[lvl + 1]) >= sizeof(u->name) ||
	    strlen(t->v[lvl + 2]) >= sizeof(u->secret)) {
		syntaxf(r, "[discovery] IncomingUser|OutgoingUser NAME SECRET");
		return;
	}
	if (strcmp(kind, "IncomingUser") == 0) {
		if (r->nusers_in[lvl] == MAX_USERS) {
			syntaxf(r, "at most %d IncomingUser lines", MAX_USERS);
			return;
		}
		u = &r->users_in[lvl][r->nusers_in[lvl]++];
	} else {
		u = &r->user_out[lvl];
	}
	snprintf(u->name, sizeof(u->name), "%s", t->v[lvl + 1]);
	snprintf(u->secret, sizeof(u->secret), "%s", t->v[lvl + 2]);
}
