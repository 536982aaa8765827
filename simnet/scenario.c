/*
 * scenario.c — parse and play .scn scenarios (grammar in
 * docs/scenarios.md), with the oracles of scenario.h.
 *
 * Line grammar:  [+DURATION] [ACTOR] VERB [ARGS...] [&] [expect EXP...]
 *
 * Lines run in order at the current virtual time.  An action without `&`
 * waits (running the world) until its answer arrives; with `&` it runs in
 * the background and its expectation is checked whenever the answer
 * comes.  `+DURATION` first lets that much virtual time pass.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "initiator.h"
#include "iscsi/iscsi.h"
#include "model.h"
#include "pr_model.h"
#include "scenario.h"
#include "scsi/scsi.h"
#include "sim.h"

#define MAX_LUNS 8
#define MAX_ACTORS 8
#define MAX_USERS 16 /* IncomingUser lines per target (as config) */
#define MAX_TOKS 64
#define SYNC_TIMEOUT_NS (60 * SIM_NS_PER_S)
#define QUIET_LIMIT_NS (600 * SIM_NS_PER_S)
#define DEFAULT_IQN "iqn.2026-11.org.utarget:sim"
#define DEFAULT_PORTAL "10.0.0.1:3260"

/* ------------------------------------------------------- expectations */

enum xo {
	XO_DEFAULT = 0, /* success for the verb */
	XO_ANY,
	XO_DONE, /* answered, any status (with status/sense tokens) */
	XO_DROPPED,
	XO_REJECTED,
	XO_ABORTED,
	XO_NONE,    /* no answer by the next quiet point */
	XO_FAIL,    /* login failed / non-GOOD */
	XO_REFUSED, /* login: we refused the target's CHAP */
};

struct exp {
	enum xo outcome;
	int status; /* -1 unspecified */
	int sk, asc, ascq;
	int login;    /* class<<8|detail, -1 */
	int response; /* TMF/logout response, -1 */
	int reject;
	int targets;  /* discovery: number of TargetName= */
	int chap_alg; /* login: the CHAP_A the target chose, -1 */
	char contains[256];
	char data[256];	  /* read data alternatives */
	char keys[256];	  /* PR IN READ KEYS list */
	int resv_key_set; /* PR IN READ RESERVATION: holder key */
	char resv_key[32];
	bool given;
};

/* ------------------------------------------------------------ runner */

struct lun_st {
	uint32_t lun;
	char disk[64];
	uint64_t size_bytes;
	uint32_t bs;
	bool wc_off, ro, thin;
	struct model *m;
	/* SPC-2 reservation oracle */
	int holder; /* actor index, -1 none */
	uint32_t holder_sess;
	uint64_t epoch;
	bool uncertain;
	bool pr_used;
	int resets_inflight;
	/* persistent reservation oracle (pr_model.h) */
	struct pr_model pr;
	bool spc2_used;	    /* RESERVE/RELEASE too: PR checks off */
	int pr_inflight;    /* PR OUT commands not answered yet */
	uint64_t pr_issued; /* PR OUT commands issued */
	uint64_t pr_epoch;  /* bumped by every PR OUT sent or answered */
};

struct actor {
	char name[32];
	struct ini *ini;
	int idx;
	uint32_t sess; /* bumped at every successful login */
	char keys[1024];
	struct ini_chap chap; /* CHAP credentials from the declaration */
};

struct pend;
TAILQ_HEAD(pend_list, pend);

struct runner {
	const char *name;
	struct scn_opts o;
	struct scn_result *res;
	struct sim *sim;
	struct iscsi_server *srv;
	struct ut_config cfg;
	bool cfg_built;
	char iqn[UT_NAME_MAX];
	char portal[64];
	struct ut_iscsi_params params;
	/* CHAP: IncomingUser/OutgoingUser of the target ([0]) and of
	 * discovery ([1]) */
	struct ut_user_cfg users_in[2][MAX_USERS];
	size_t nusers_in[2];
	struct ut_user_cfg user_out[2];
	struct lun_st luns[MAX_LUNS];
	int nluns;
	struct actor actors[MAX_ACTORS];
	int nactors;
	struct pend_list pends;
	int line;
	bool started, failed, syntax, down;
	uint64_t seed;
};

enum pkind {
	PK_OTHER,
	PK_READ,
	PK_WRITE,
	PK_SYNC,
	PK_RESERVE,
	PK_RELEASE,
	PK_LOGIN,
	PK_LOGOUT,
	PK_TMF,
	PK_TEXT,
	PK_PRIN_KEYS,
	PK_PRIN_RESV,
	PK_PROUT
};

struct pend {
	struct runner *r;
	struct actor *a;
	int line;
	char verb[24];
	char label[32];
	struct exp e;
	bool async, done, exempt, checked_none;
	struct ini_op *op;
	uint32_t itt, cmdsn;
	uint64_t lun;
	enum pkind kind;
	struct lun_st *ls;
	uint64_t lba;
	uint32_t blocks;
	bool fua;
	uint64_t handle, stamp;
	uint64_t epoch;
	uint32_t sess;
	uint8_t tmf_fn;
	/* PR oracle: state at issue */
	bool pr_alone, pr_known;
	uint64_t pr_epoch, pr_issued;
	struct prm_out pro;
	bool pro_modelled;
	TAILQ_ENTRY(pend) link;
};

static void failf(struct runner *r, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void failf(struct runner *r, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->failed)
		return;
	r->failed = true;
	r->res->fail_line = line;
	n = snprintf(r->res->msg, sizeof(r->res->msg), "%s:%d: ", r->name,
		     line);
	va_start(ap, fmt);
	vsnprintf(r->res->msg + n, sizeof(r->res->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (r->sim)
		SIM_TRACE(r->sim, "FAIL %s", r->res->msg);
	if (r->sim)
		r->sim->stop = true;
}

static void syntaxf(struct runner *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void syntaxf(struct runner *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->failed)
		return;
	r->failed = r->syntax = true;
	r->res->fail_line = r->line;
	n = snprintf(r->res->msg, sizeof(r->res->msg),
		     "%s:%d: syntax: ", r->name, r->line);
	va_start(ap, fmt);
	vsnprintf(r->res->msg + n, sizeof(r->res->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ tokens */

struct toks {
	char *v[MAX_TOKS];
	int n;
};

static void tokenize(char *s, struct toks *t)
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

static void toks_shift(struct toks *t, int k)
{
	memmove(t->v, t->v + k, (size_t)(t->n - k) * sizeof(t->v[0]));
	t->n -= k;
}

/* Value of key=value among t[from..], or NULL. */
static const char *kv(const struct toks *t, const char *key)
{
	size_t kl = strlen(key);

	for (int i = 0; i < t->n; i++)
		if (strncmp(t->v[i], key, kl) == 0 && t->v[i][kl] == '=')
			return t->v[i] + kl + 1;
	return NULL;
}

static bool has(const struct toks *t, const char *word)
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

static bool parse_dur(const char *s, uint64_t *ns)
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

static uint64_t u64_or(const struct toks *t, const char *key, uint64_t dflt,
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

static size_t hex_decode(const char *s, uint8_t *out, size_t cap)
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

static void exp_init(struct exp *e)
{
	memset(e, 0, sizeof(*e));
	e->status = e->sk = e->asc = e->ascq = -1;
	e->login = e->response = e->reject = e->targets = -1;
	e->chap_alg = -1;
}

/* Parse everything after `expect`. */
static void exp_parse(struct runner *r, struct exp *e, struct toks *t, int from)
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
		} else if (strncmp(w, "contains=", 9) == 0) {
			snprintf(e->contains, sizeof(e->contains), "%s", w + 9);
		} else if (strncmp(w, "keys=", 5) == 0) {
			snprintf(e->keys, sizeof(e->keys), "%s", w + 5);
		} else if (strncmp(w, "holder=", 7) == 0) {
			e->resv_key_set = 1;
			snprintf(e->resv_key, sizeof(e->resv_key), "%s", w + 7);
		} else {
			syntaxf(r, "unknown expectation '%s'", w);
		}
	}
}

static const char *status_name(int s)
{
	for (size_t k = 0; k < sizeof(status_names) / sizeof(status_names[0]);
	     k++)
		if (status_names[k].v == s)
			return status_names[k].name;
	return "?";
}

static const char *outcome_name(enum ini_outcome o)
{
	switch (o) {
	case INI_PENDING:
		return "no answer";
	case INI_DONE:
		return "answered";
	case INI_DROPPED:
		return "connection dropped";
	case INI_REJECTED:
		return "rejected";
	case INI_ABORTED:
		return "aborted by TMF";
	case INI_NOT_SENT:
		return "not sent (not logged in)";
	}
	return "?";
}

/* Sense key/ASC/ASCQ from fixed or descriptor sense. */
static void sense_parse(const struct ini_op *op, int *sk, int *asc, int *ascq)
{
	const uint8_t *s = op->sense;

	*sk = *asc = *ascq = -1;
	if (op->sense_len < 4)
		return;
	if ((s[0] & 0x7f) == 0x72 || (s[0] & 0x7f) == 0x73) {
		*sk = s[1] & 0xf;
		*asc = s[2];
		*ascq = s[3];
	} else if (op->sense_len >= 14) {
		*sk = s[2] & 0xf;
		*asc = s[12];
		*ascq = s[13];
	}
}

static void describe(const struct ini_op *op, char *buf, size_t cap)
{
	int sk, asc, ascq;

	if (op->outcome == INI_REJECTED) {
		snprintf(buf, cap, "Reject reason 0x%02x", op->reject_reason);
		return;
	}
	if (op->kind == INI_OP_LOGIN && op->auth_refused) {
		snprintf(buf, cap, "the initiator refused the target: %s",
			 op->auth_why);
		return;
	}
	if (op->outcome != INI_DONE) {
		snprintf(buf, cap, "%s", outcome_name(op->outcome));
		return;
	}
	switch (op->kind) {
	case INI_OP_SCSI:
		sense_parse(op, &sk, &asc, &ascq);
		if (op->response != 0)
			snprintf(buf, cap, "iSCSI response 0x%02x",
				 op->response);
		else if (sk >= 0)
			snprintf(buf, cap,
				 "status %s (0x%02x) sense %x/%02x/%02x",
				 status_name(op->status), op->status, sk, asc,
				 ascq);
		else
			snprintf(buf, cap, "status %s (0x%02x)",
				 status_name(op->status), op->status);
		break;
	case INI_OP_LOGIN:
		snprintf(buf, cap, "login status 0x%04x", op->login_status);
		break;
	case INI_OP_RAW:
		snprintf(buf, cap, "answer %s b2=0x%02x",
			 ini_opcode_name(op->rsp_opcode), op->response);
		break;
	default:
		snprintf(buf, cap, "response 0x%02x", op->response);
		break;
	}
}

/* ----------------------------------------------------- data checking */

static bool data_alt_ok(const char *spec, uint64_t vid)
{
	char buf[256];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *alt = strtok_r(buf, "|", &save); alt != NULL;
	     alt = strtok_r(NULL, "|", &save))
		if (strcmp(alt, "any") == 0 || model_vid(alt) == vid)
			return true;
	return false;
}

/* Explicit data= check and the model oracle, block by block. */
static void check_read_data(struct runner *r, struct pend *p, struct ini_op *op)
{
	uint32_t bs = p->ls ? p->ls->bs : 512;
	uint64_t re = p->ls ? model_tick(p->ls->m) : 0;

	for (uint32_t i = 0; i < p->blocks && !r->failed; i++) {
		const uint8_t *blk = op->in + (size_t)i * bs;
		uint64_t lba = p->lba + i, vid = 0;
		bool whole = model_decode(blk, lba, bs, &vid);
		char why[512];

		if (p->e.data[0] != '\0' && strcmp(p->e.data, "any") != 0) {
			if (!whole)
				failf(r, p->line,
				      "%s %s: lba %llu holds no whole "
				      "written value (torn or corrupt); expected data=%s "
				      "(seed %llu)",
				      p->a->name, p->verb,
				      (unsigned long long)lba, p->e.data,
				      (unsigned long long)r->seed);
			else if (!data_alt_ok(p->e.data, vid))
				failf(r, p->line,
				      "%s %s: lba %llu: expected data=%s, "
				      "read value %016llx (seed %llu)",
				      p->a->name, p->verb,
				      (unsigned long long)lba, p->e.data,
				      (unsigned long long)vid,
				      (unsigned long long)r->seed);
		}
		if (p->ls == NULL || r->failed)
			continue;
		if (!whole) {
			if (!model_check_read(p->ls->m, lba, 0xdeadULL << 48,
					      p->stamp, re, why, sizeof(why)))
				failf(r, p->line,
				      "oracle: %s read of lun %llu lba "
				      "%llu returned bytes that are no written value "
				      "(torn or corrupt) (seed %llu)",
				      p->a->name, (unsigned long long)p->lun,
				      (unsigned long long)lba,
				      (unsigned long long)r->seed);
			continue;
		}
		if (!model_check_read(p->ls->m, lba, vid, p->stamp, re, why,
				      sizeof(why)))
			failf(r, p->line,
			      "oracle: %s read of lun %llu returned "
			      "stale or wrong data: %s (seed %llu)",
			      p->a->name, (unsigned long long)p->lun, why,
			      (unsigned long long)r->seed);
	}
}

/* ------------------------------------------- oracles on completion */

static struct lun_st *lun_find(struct runner *r, uint64_t lun)
{
	for (int i = 0; i < r->nluns; i++)
		if (r->luns[i].lun == lun)
			return &r->luns[i];
	return NULL;
}

static void resv_drop_holder(struct runner *r, struct actor *a)
{
	for (int i = 0; i < r->nluns; i++) {
		struct lun_st *l = &r->luns[i];

		if (l->holder == a->idx) {
			l->holder = -1;
			l->epoch++;
			l->uncertain = true;
		}
	}
}

static void resv_reset(struct lun_st *l)
{
	l->holder = -1;
	l->epoch++;
	l->uncertain = false;
}

static bool sense_unknown_fate(const struct ini_op *op)
{
	int sk, asc, ascq;

	if (op->outcome == INI_DROPPED || op->outcome == INI_ABORTED)
		return true;
	if (op->outcome != INI_DONE)
		return false;
	if (op->response != 0 || op->status == SCSI_STATUS_TASK_ABORTED)
		return true;
	sense_parse(op, &sk, &asc, &ascq);
	return op->status == SCSI_STATUS_CHECK_CONDITION &&
	       (sk == SK_MEDIUM_ERROR || sk == SK_HARDWARE_ERROR ||
		sk == SK_ABORTED_COMMAND);
}

static bool scsi_good(const struct ini_op *op)
{
	return op->outcome == INI_DONE && op->response == 0 &&
	       op->status == SCSI_STATUS_GOOD;
}

static void oracle_scsi(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->ls;

	if (l == NULL)
		return;
	switch (p->kind) {
	case PK_WRITE: {
		int outcome = scsi_good(op)	       ? 0
			      : sense_unknown_fate(op) ? 2
						       : 1;

		model_write_end(l->m, p->handle, outcome, p->fua || l->wc_off,
				model_tick(l->m));
		break;
	}
	case PK_READ:
		if (scsi_good(op))
			check_read_data(r, p, op);
		model_read_end(l->m, p->stamp);
		break;
	case PK_SYNC:
		if (scsi_good(op))
			model_flush(l->m, p->stamp);
		break;
	case PK_RESERVE:
		if (scsi_good(op)) {
			/* A reset or release racing with this RESERVE may have
			 * been applied before or after it. */
			l->uncertain = p->epoch != l->epoch ||
				       l->resets_inflight > 0;
			l->holder = p->a->idx;
			l->holder_sess = p->sess;
			l->epoch++;
		}
		return;
	case PK_RELEASE:
		if (scsi_good(op) && l->holder == p->a->idx) {
			l->holder = -1;
			l->epoch++;
		}
		return;
	default:
		return;
	}
	/* SPC-2: while another I_T nexus holds the reservation, READ and
	 * WRITE get RESERVATION CONFLICT (SPC-2 §5.5.1). */
	if ((p->kind == PK_READ || p->kind == PK_WRITE) && scsi_good(op) &&
	    !l->uncertain && !l->pr_used && p->epoch == l->epoch &&
	    l->holder >= 0 &&
	    (l->holder != p->a->idx || l->holder_sess != p->sess))
		failf(r, p->line,
		      "oracle: lun %u is reserved by %s, yet %s's %s "
		      "completed GOOD instead of RESERVATION CONFLICT (seed %llu)",
		      l->lun, r->actors[l->holder].name, p->a->name, p->verb,
		      (unsigned long long)r->seed);
}

/* ---------------------------------------------------- verdict per op */

static bool default_ok(const struct pend *p, const struct ini_op *op)
{
	if (op->outcome != INI_DONE)
		return false;
	switch (op->kind) {
	case INI_OP_SCSI:
		return op->response == 0 && op->status == SCSI_STATUS_GOOD;
	case INI_OP_LOGIN:
		return op->login_status == 0;
	case INI_OP_TMF:
		return op->response == ISCSI_TMF_RSP_COMPLETE;
	case INI_OP_LOGOUT:
		return op->response == ISCSI_LOGOUT_RSP_OK;
	default:
		return true;
	}
}

static void verdict(struct runner *r, struct pend *p, struct ini_op *op)
{
	const struct exp *e = &p->e;
	char got[160], want[160] = "";
	bool ok = true;
	int sk, asc, ascq;

	describe(op, got, sizeof(got));
	switch (e->outcome) {
	case XO_ANY:
		return;
	case XO_DEFAULT:
		ok = default_ok(p, op);
		snprintf(want, sizeof(want), "success");
		break;
	case XO_FAIL:
		ok = op->outcome == INI_DONE && !default_ok(p, op);
		snprintf(want, sizeof(want), "failure");
		break;
	case XO_DONE:
		ok = op->outcome == INI_DONE;
		snprintf(want, sizeof(want), "an answer");
		break;
	case XO_DROPPED:
		/* NOT_SENT: the connection was already gone. */
		ok = op->outcome == INI_DROPPED || op->outcome == INI_NOT_SENT;
		snprintf(want, sizeof(want), "connection dropped");
		break;
	case XO_REJECTED:
		ok = op->outcome == INI_REJECTED;
		snprintf(want, sizeof(want), "Reject");
		break;
	case XO_ABORTED:
		ok = op->outcome == INI_ABORTED;
		snprintf(want, sizeof(want), "aborted");
		break;
	case XO_NONE:
		ok = false;
		snprintf(want, sizeof(want), "no answer");
		break;
	case XO_REFUSED:
		ok = op->kind == INI_OP_LOGIN && op->auth_refused;
		snprintf(want, sizeof(want),
			 "the initiator to refuse the target");
		break;
	}
	if (ok && e->chap_alg >= 0 && op->kind == INI_OP_LOGIN &&
	    op->chap_alg != e->chap_alg) {
		ok = false;
		snprintf(want, sizeof(want), "CHAP_A=%d (got %d)", e->chap_alg,
			 op->chap_alg);
	}
	if (ok && e->status >= 0 && op->kind == INI_OP_SCSI &&
	    (op->response != 0 || op->status != e->status)) {
		ok = false;
		snprintf(want, sizeof(want), "status %s (0x%02x)",
			 status_name(e->status), e->status);
	}
	if (ok && e->sk >= 0) {
		sense_parse(op, &sk, &asc, &ascq);
		if (sk != e->sk || (e->asc >= 0 && asc != e->asc) ||
		    (e->ascq >= 0 && ascq != e->ascq)) {
			ok = false;
			snprintf(want, sizeof(want), "sense %x/%02x/%02x",
				 e->sk, e->asc < 0 ? 0 : e->asc,
				 e->ascq < 0 ? 0 : e->ascq);
		}
	}
	if (ok && e->login >= 0 && op->login_status != e->login) {
		ok = false;
		snprintf(want, sizeof(want), "login status 0x%04x", e->login);
	}
	if (ok && e->response >= 0 && op->response != e->response) {
		ok = false;
		snprintf(want, sizeof(want), "response 0x%02x", e->response);
	}
	if (ok && e->reject >= 0 && op->reject_reason != e->reject) {
		ok = false;
		snprintf(want, sizeof(want), "Reject reason 0x%02x", e->reject);
	}
	if (!ok)
		failf(r, p->line, "%s %s: expected %s, got %s (seed %llu)",
		      p->a->name, p->verb, want, got,
		      (unsigned long long)r->seed);
}

static void check_text(struct runner *r, struct pend *p, struct ini_op *op)
{
	int n = 0;

	if (op->outcome != INI_DONE || op->text == NULL)
		return;
	for (uint32_t i = 0; i < op->text_len;) {
		const char *kvp = op->text + i;

		if (strncmp(kvp, "TargetName=", 11) == 0)
			n++;
		i += (uint32_t)strlen(kvp) + 1;
	}
	if (p->e.targets >= 0 && n != p->e.targets)
		failf(r, p->line,
		      "%s discovery: expected %d targets, got %d "
		      "(seed %llu)",
		      p->a->name, p->e.targets, n, (unsigned long long)r->seed);
	if (p->e.contains[0] != '\0') {
		bool found = false;

		for (uint32_t i = 0; i < op->text_len && !found;) {
			found = strstr(op->text + i, p->e.contains) != NULL;
			i += (uint32_t)strlen(op->text + i) + 1;
		}
		if (!found)
			failf(r, p->line,
			      "%s discovery: no key contains '%s' "
			      "(seed %llu)",
			      p->a->name, p->e.contains,
			      (unsigned long long)r->seed);
	}
}

static void check_prin(struct runner *r, struct pend *p, struct ini_op *op)
{
	char got[256] = "";
	size_t off = 0;

	if (!scsi_good(op) || op->in_len < 8)
		return;
	if (p->kind == PK_PRIN_KEYS && p->e.keys[0] != '\0') {
		uint32_t len = be32_get(op->in + 4);

		for (uint32_t i = 0; i + 8 <= len && 8 + i + 8 <= op->in_len;
		     i += 8)
			off += (size_t)snprintf(
				got + off, sizeof(got) - off, "%s%llx",
				off ? "," : "",
				(unsigned long long)be64_get(op->in + 8 + i));
		if (strcmp(got,
			   strcmp(p->e.keys, "none") == 0 ? "" : p->e.keys) !=
		    0)
			failf(r, p->line,
			      "%s pr-read-keys: expected keys=%s, got "
			      "keys=%s (seed %llu)",
			      p->a->name, p->e.keys, off ? got : "none",
			      (unsigned long long)r->seed);
	}
	if (p->kind == PK_PRIN_RESV && p->e.resv_key_set) {
		uint32_t len = be32_get(op->in + 4);

		if (len >= 16 && op->in_len >= 16)
			snprintf(got, sizeof(got), "%llx",
				 (unsigned long long)be64_get(op->in + 8));
		else
			snprintf(got, sizeof(got), "none");
		if (strcmp(got, p->e.resv_key) != 0)
			failf(r, p->line,
			      "%s pr-read-reservation: expected holder=%s, "
			      "got holder=%s (seed %llu)",
			      p->a->name, p->e.resv_key, got,
			      (unsigned long long)r->seed);
	}
}

/* ------------------------------------- persistent reservation oracle */

static void pr_state(struct runner *r, const struct pr_model *m, char *buf,
		     size_t cap)
{
	const char *names[MAX_ACTORS];

	for (int i = 0; i < r->nactors; i++)
		names[i] = r->actors[i].name;
	prm_describe(m, names, r->nactors, buf, cap);
}

static const char *prm_result_name(enum prm_result x)
{
	return x == PRM_GOOD	   ? "GOOD"
	       : x == PRM_CONFLICT ? "RESERVATION CONFLICT"
				   : "ILLEGAL REQUEST";
}

static const char *const pro_names[] = {"pr-register", "pr-reserve",
					"pr-release", "pr-clear", "pr-preempt"};

static void sort_keys(uint64_t *ks, int n, char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && ks[j - 1] > ks[j]; j--) {
			uint64_t x = ks[j];

			ks[j] = ks[j - 1];
			ks[j - 1] = x;
		}
	for (int i = 0; i < n && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%llx", i ? "," : "",
				      (unsigned long long)ks[i]);
}

/*
 * PR OUT answers change the model; READ/WRITE/SYNCHRONIZE CACHE statuses
 * and PR IN data are checked against it.  Exact only where the order is
 * certain: a PR OUT sent while no other was outstanding, and answered
 * before any other was sent, is checked and applied; one that overlapped
 * another and succeeded makes the state unknown (the target may have
 * applied them in either order), as does one of unknown fate (dropped,
 * aborted).  A CLEAR answered GOOD in isolation makes it known again.
 * Other commands are checked only if no PR OUT was outstanding or
 * answered during their whole life.
 */
static void oracle_pr(struct runner *r, struct pend *p, struct ini_op *op)
{
	struct lun_st *l = p->ls;
	int sk = -1, asc, ascq, me = p->a->idx;
	bool exact;
	char st[512];

	if (l == NULL || !l->pr_used || l->spc2_used || r->failed)
		return;
	if (op->outcome == INI_DONE &&
	    op->status == SCSI_STATUS_CHECK_CONDITION)
		sense_parse(op, &sk, &asc, &ascq);
	if (p->kind == PK_PROUT) {
		enum prm_result want, got;
		struct pr_model before = l->pr;

		l->pr_inflight--;
		l->pr_epoch++;
		if (op->outcome == INI_NOT_SENT || op->outcome == INI_REJECTED)
			return; /* never executed */
		if (sense_unknown_fate(op) || op->outcome != INI_DONE) {
			l->pr.unknown = true;
			return;
		}
		if (op->status == SCSI_STATUS_GOOD)
			got = PRM_GOOD;
		else if (op->status == SCSI_STATUS_RESERVATION_CONFLICT)
			got = PRM_CONFLICT;
		else if (sk == SK_ILLEGAL_REQUEST)
			got = PRM_ILLEGAL;
		else
			return; /* UA, BUSY...: not executed */
		exact = p->pr_alone && l->pr_issued == p->pr_issued;
		if (exact && p->pro_modelled && p->pro.sa == PRM_CLEAR &&
		    got == PRM_GOOD) {
			prm_clear(&l->pr); /* known again */
			l->pr.unknown = false;
			return;
		}
		if (!exact || !p->pr_known || !p->pro_modelled ||
		    l->pr.unknown) {
			if (got == PRM_GOOD)
				l->pr.unknown = true;
			return;
		}
		want = prm_apply(&l->pr, me, &p->pro);
		if (want != got) {
			pr_state(r, &before, st, sizeof(st));
			failf(r, p->line,
			      "oracle: %s %s key=%llx sa-key=%llx type=%s "
			      "on lun %u was answered %s; SPC-4 says %s (%s) "
			      "(seed %llu)",
			      p->a->name, pro_names[p->pro.sa],
			      (unsigned long long)p->pro.key,
			      (unsigned long long)p->pro.sark,
			      prm_type_name(p->pro.type), l->lun,
			      prm_result_name(got), prm_result_name(want), st,
			      (unsigned long long)r->seed);
			l->pr.unknown = true;
		}
		return;
	}
	exact = p->pr_alone && p->pr_known && p->pr_epoch == l->pr_epoch &&
		l->pr_inflight == 0 && !l->pr.unknown;
	if (!exact || op->outcome != INI_DONE || op->response != 0)
		return;
	if (p->kind == PK_READ || p->kind == PK_WRITE || p->kind == PK_SYNC) {
		bool c = prm_conflicts(&l->pr, me, p->kind != PK_READ);

		if (c && op->status == SCSI_STATUS_GOOD) {
			pr_state(r, &l->pr, st, sizeof(st));
			failf(r, p->line,
			      "oracle: %s's %s on lun %u completed GOOD, "
			      "but it must get RESERVATION CONFLICT (%s) (seed %llu)",
			      p->a->name, p->verb, l->lun, st,
			      (unsigned long long)r->seed);
		} else if (!c &&
			   op->status == SCSI_STATUS_RESERVATION_CONFLICT) {
			pr_state(r, &l->pr, st, sizeof(st));
			failf(r, p->line,
			      "oracle: %s's %s on lun %u got RESERVATION "
			      "CONFLICT, but the reservation allows it (%s) "
			      "(seed %llu)",
			      p->a->name, p->verb, l->lun, st,
			      (unsigned long long)r->seed);
		}
		return;
	}
	if ((p->kind == PK_PRIN_KEYS || p->kind == PK_PRIN_RESV) &&
	    scsi_good(op) && op->in_len >= 8) {
		uint32_t len = be32_get(op->in + 4);
		char want[256] = "", got[256] = "";

		if (p->kind == PK_PRIN_KEYS) {
			uint64_t ks[64];
			int n = 0;

			for (uint32_t i = 0;
			     i + 8 <= len && 8 + i + 8 <= op->in_len && n < 64;
			     i += 8)
				ks[n++] = be64_get(op->in + 8 + i);
			sort_keys(ks, n, got, sizeof(got));
			n = 0;
			for (int i = 0; i < PR_MODEL_ACTORS; i++)
				if (l->pr.key[i])
					ks[n++] = l->pr.key[i];
			sort_keys(ks, n, want, sizeof(want));
		} else {
			if (len >= 16 && op->in_len >= 22)
				snprintf(got, sizeof(got), "key %llx type %s",
					 (unsigned long long)be64_get(op->in +
								      8),
					 prm_type_name(op->in[21] & 0x0f));
			if (l->pr.reserved)
				snprintf(
					want, sizeof(want), "key %llx type %s",
					(unsigned long long)(l->pr.type == 7 ||
									     l->pr.type ==
										     8
								     ? 0
								     : l->pr.key
									       [l->pr.holder]),
					prm_type_name(l->pr.type));
		}
		if (strcmp(want, got) != 0) {
			pr_state(r, &l->pr, st, sizeof(st));
			failf(r, p->line,
			      "oracle: %s %s on lun %u returned [%s], "
			      "expected [%s] (%s) (seed %llu)",
			      p->a->name, p->verb, l->lun, got, want, st,
			      (unsigned long long)r->seed);
		}
	}
}

static void pend_done(void *arg, struct ini_op *op)
{
	struct pend *p = arg;
	struct runner *r = p->r;

	p->done = true;
	p->op = NULL;
	p->itt = op->itt;
	p->cmdsn = op->cmdsn;
	if (op->kind == INI_OP_SCSI && op->outcome == INI_DONE)
		r->res->scsi_cmds++;
	if (op->outcome == INI_DROPPED)
		resv_drop_holder(r, p->a);
	switch (p->kind) {
	case PK_LOGIN:
		if (op->outcome == INI_DONE && op->login_status == 0) {
			resv_drop_holder(r, p->a); /* reinstatement */
			p->a->sess++;
		}
		break;
	case PK_LOGOUT:
		resv_drop_holder(r, p->a);
		break;
	case PK_TMF: {
		struct pend *q;

		/* A reset or task-set abort applies when it reaches the
		 * target: commands sent after the TMF but before its answer
		 * may be ended by it without a response (TAS=0) too. */
		if (p->tmf_fn != ISCSI_TMF_ABORT_TASK)
			TAILQ_FOREACH (q, &r->pends, link)
				if (!q->done && q->op &&
				    q->op->kind == INI_OP_SCSI &&
				    (p->tmf_fn == ISCSI_TMF_TARGET_WARM_RESET ||
				     p->tmf_fn == ISCSI_TMF_TARGET_COLD_RESET ||
				     q->lun == p->lun))
					q->exempt = true;
		for (int i = 0; i < r->nluns; i++)
			if (p->tmf_fn == ISCSI_TMF_TARGET_WARM_RESET ||
			    (p->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET &&
			     r->luns[i].lun == p->lun))
				r->luns[i].resets_inflight--;
		if (op->outcome == INI_DONE && op->response == 0 &&
		    (p->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET ||
		     p->tmf_fn == ISCSI_TMF_TARGET_WARM_RESET ||
		     p->tmf_fn == ISCSI_TMF_TARGET_COLD_RESET)) {
			for (int i = 0; i < r->nluns; i++)
				if (p->tmf_fn != ISCSI_TMF_LOGICAL_UNIT_RESET ||
				    r->luns[i].lun == p->lun)
					resv_reset(&r->luns[i]);
		}
		break;
	}
	case PK_TEXT:
		check_text(r, p, op);
		break;
	case PK_PRIN_KEYS:
	case PK_PRIN_RESV:
		check_prin(r, p, op);
		break;
	default:
		break;
	}
	if (op->kind == INI_OP_SCSI) {
		oracle_scsi(r, p, op);
		oracle_pr(r, p, op);
	}
	if (p->e.outcome != XO_ANY)
		r->res->expectations++;
	if (p->e.outcome == XO_NONE &&
	    (op->outcome == INI_DROPPED || op->outcome == INI_NOT_SENT)) {
		/* Never answered: the connection went first. */
	} else if (p->e.outcome == XO_NONE) {
		failf(r, p->line,
		      "%s %s: expected no answer, got %s (seed %llu)",
		      p->a->name, p->verb, outcome_name(op->outcome),
		      (unsigned long long)r->seed);
	} else {
		verdict(r, p, op);
	}
	ini_op_free(op);
}

/* -------------------------------------------------- target control */

static void lun_params_defaults(struct runner *r)
{
	ut_iscsi_params_default(&r->params);
	r->params.nop_in_interval_s = 0; /* scenarios opt in */
}

/* IncomingUser/OutgoingUser lines into the configuration (copies: the
 * configuration owns and wipes them). */
static int cfg_users(struct runner *r, struct ut_config *c)
{
	for (size_t t = 0; t < c->target_count; t++) {
		if (r->nusers_in[0] > 0) {
			c->targets[t].incoming = calloc(
				r->nusers_in[0], sizeof(struct ut_user_cfg));
			if (c->targets[t].incoming == NULL)
				return -1;
			memcpy(c->targets[t].incoming, r->users_in[0],
			       r->nusers_in[0] * sizeof(struct ut_user_cfg));
			c->targets[t].incoming_count = r->nusers_in[0];
		}
		c->targets[t].outgoing = r->user_out[0];
	}
	if (r->nusers_in[1] > 0) {
		c->discovery_incoming =
			calloc(r->nusers_in[1], sizeof(struct ut_user_cfg));
		if (c->discovery_incoming == NULL)
			return -1;
		memcpy(c->discovery_incoming, r->users_in[1],
		       r->nusers_in[1] * sizeof(struct ut_user_cfg));
		c->discovery_incoming_count = r->nusers_in[1];
	}
	c->discovery_outgoing = r->user_out[1];
	c->has_secrets = r->nusers_in[0] || r->nusers_in[1] ||
			 r->user_out[0].name[0] || r->user_out[1].name[0];
	return 0;
}

static int build_cfg(struct runner *r)
{
	struct ut_dev_cfg devs[MAX_LUNS];
	char *portals[1] = {r->portal};
	struct ut_config *c = &r->cfg;

	ut_config_init(c);
	c->params = r->params;
	if (ut_config_set_portals(c, portals, 1) != 0 ||
	    ut_config_set_target(c, r->iqn) != 0)
		return -1;
	for (int i = 0; i < r->nluns; i++) {
		struct ut_dev_cfg *d = &devs[i];

		memset(d, 0, sizeof(*d));
		d->kind = BS_SIM;
		snprintf(d->name, sizeof(d->name), "%s", r->luns[i].disk);
		d->size_bytes = r->luns[i].size_bytes;
		d->block_size = r->luns[i].bs;
		d->read_only = r->luns[i].ro;
		d->thin = r->luns[i].thin;
		d->write_through = r->luns[i].wc_off;
		memcpy(d->t10_vendor_id, "UTARGET", 8);
		memcpy(d->prod_id, "utarget sim", 12);
	}
	if (ut_config_set_luns(c, devs, (size_t)r->nluns) != 0)
		return -1;
	for (size_t t = 0; t < c->target_count; t++) {
		c->targets[t].params = r->params;
		for (size_t k = 0;
		     k < c->targets[t].lun_count && k < (size_t)r->nluns; k++) {
			c->targets[t].luns[k].lun = r->luns[k].lun;
			snprintf(c->targets[t].luns[k].dev_name,
				 sizeof(c->targets[t].luns[k].dev_name), "%s",
				 r->luns[k].disk);
		}
	}
	for (size_t k = 0; k < c->dev_count && k < (size_t)r->nluns; k++) {
		snprintf(c->devs[k].name, sizeof(c->devs[k].name), "%s",
			 r->luns[k].disk);
		snprintf(c->devs[k].t10_dev_id, sizeof(c->devs[k].t10_dev_id),
			 "%s", r->luns[k].disk);
	}
	if (cfg_users(r, c) != 0)
		return -1;
	r->cfg_built = true;
	return 0;
}

static bool server_boot(struct runner *r)
{
	int err = 0;

	r->srv = iscsi_server_new(&r->sim->env, &r->cfg, &err);
	if (r->srv == NULL) {
		failf(r, r->line, "iscsi_server_new failed: %s",
		      strerror(-err));
		return false;
	}
	err = iscsi_server_start(r->srv);
	if (err != 0) {
		failf(r, r->line, "iscsi_server_start failed: %s",
		      strerror(-err));
		iscsi_server_free(r->srv);
		r->srv = NULL;
		return false;
	}
	return true;
}

static bool target_start(struct runner *r)
{
	if (r->started)
		return true;
	r->started = true;
	if (r->nluns == 0) {
		struct lun_st *l = &r->luns[r->nluns++];

		memset(l, 0, sizeof(*l));
		snprintf(l->disk, sizeof(l->disk), "disk0");
		l->size_bytes = 16ull << 20;
		l->bs = 512;
		l->holder = -1;
	}
	for (int i = 0; i < r->nluns; i++) {
		struct lun_st *l = &r->luns[i];
		struct sim_disk *d =
			sim_disk_get(r->sim, l->disk, l->size_bytes, l->bs);

		sim_disk_cfg(d)->write_cache = !l->wc_off;
		l->m = model_new(l->size_bytes / l->bs, l->bs);
		model_set_write_through(l->m, l->wc_off);
	}
	if (build_cfg(r) != 0) {
		failf(r, r->line, "cannot build the target configuration");
		return false;
	}
	SIM_TRACE(r->sim, "target %s starts on %s with %d LUN(s)", r->iqn,
		  r->portal, r->nluns);
	return server_boot(r);
}

/* Free the server and require that it left nothing behind. */
static void leak_check(struct runner *r, const char *when)
{
	struct sim *s = r->sim;

	if (s->live_timers || s->live_conns || s->live_listeners ||
	    s->live_disks || s->live_mutexes || sim_disk_pending(s))
		failf(r, r->line,
		      "leak after %s: %u timers, %u connections, "
		      "%u listeners, %u disks, %u mutexes, %u disk requests "
		      "still held by the target (seed %llu)",
		      when, s->live_timers, s->live_conns, s->live_listeners,
		      s->live_disks, s->live_mutexes, sim_disk_pending(s),
		      (unsigned long long)r->seed);
}

static void target_crash(struct runner *r)
{
	if (r->srv == NULL)
		return;
	SIM_TRACE(r->sim, "fault TARGET CRASH (power loss)");
	r->sim->target_up = false;
	iscsi_server_free(r->srv);
	r->srv = NULL;
	r->down = true;
	sim_net_target_crashed(r->sim);
	sim_disk_crash_all(r->sim);
	/* The server may leave timers armed only if it leaked them. */
	leak_check(r, "a crash");
	for (int i = 0; i < r->nluns; i++) {
		model_crash(r->luns[i].m);
		resv_reset(&r->luns[i]);
		/* A PR OUT in flight may or may not have been applied. */
		if (r->luns[i].pr_inflight > 0)
			r->luns[i].pr.unknown = true;
		prm_crash(&r->luns[i].pr);
		r->luns[i].pr_epoch++;
	}
}

static void target_restart(struct runner *r)
{
	if (!r->down)
		return;
	SIM_TRACE(r->sim, "target restarts");
	r->sim->target_up = true;
	r->down = false;
	server_boot(r);
}

/* ---------------------------------------------------------- waiting */

static bool pend_done_pred(void *arg)
{
	struct pend *p = arg;

	return p->done || p->r->failed;
}

static bool quiet_pred(void *arg)
{
	struct runner *r = arg;

	return r->failed || sim_quiet(r->sim);
}

static void run_quiet(struct runner *r)
{
	sim_run_until(r->sim, r->sim->now_ns + QUIET_LIMIT_NS, quiet_pred, r);
	/* `expect none`: nothing may have answered by now. */
	struct pend *p;

	TAILQ_FOREACH (p, &r->pends, link)
		if (p->e.outcome == XO_NONE && !p->done)
			p->checked_none = true;
}

static void wait_pend(struct runner *r, struct pend *p, uint64_t timeout)
{
	if (p->done || p->e.outcome == XO_NONE)
		return;
	if (!sim_run_until(r->sim, r->sim->now_ns + timeout, pend_done_pred,
			   p) &&
	    !r->failed)
		failf(r, p->line,
		      "%s %s: expected an answer within %llus, got "
		      "none (seed %llu)",
		      p->a->name, p->verb,
		      (unsigned long long)(timeout / SIM_NS_PER_S),
		      (unsigned long long)r->seed);
}

/* ---------------------------------------------------------- actions */

static struct actor *actor_find(struct runner *r, const char *name)
{
	for (int i = 0; i < r->nactors; i++)
		if (strcmp(r->actors[i].name, name) == 0)
			return &r->actors[i];
	return NULL;
}

static void violation_hook(void *arg, struct ini *ini, const char *msg)
{
	struct runner *r = arg;

	failf(r, r->line, "protocol: %s saw: %s (seed %llu)", ini_actor(ini),
	      msg, (unsigned long long)r->seed);
}

static struct pend *pend_new(struct runner *r, struct actor *a,
			     const char *verb, struct toks *t)
{
	struct pend *p = calloc(1, sizeof(*p));
	int ex = -1;

	if (p == NULL)
		abort();
	p->r = r;
	p->a = a;
	p->line = r->line;
	snprintf(p->verb, sizeof(p->verb), "%s", verb);
	exp_init(&p->e);
	for (int i = 0; i < t->n; i++) {
		if (strcmp(t->v[i], "&") == 0)
			p->async = true;
		if (strcmp(t->v[i], "expect") == 0 && ex < 0)
			ex = i;
	}
	if (ex >= 0) {
		exp_parse(r, &p->e, t, ex + 1);
		t->n = ex;
	}
	{
		const char *as = kv(t, "as");

		if (as != NULL)
			snprintf(p->label, sizeof(p->label), "%s", as);
	}
	p->sess = a->sess;
	TAILQ_INSERT_TAIL(&r->pends, p, link);
	return p;
}

static struct pend *pend_by_label(struct runner *r, const char *label)
{
	struct pend *p;

	TAILQ_FOREACH (p, &r->pends, link)
		if (strcmp(p->label, label) == 0)
			return p;
	return NULL;
}

static struct ini_op *op_for(struct pend *p, enum ini_op_kind kind)
{
	struct ini_op *op = ini_op_new(p->a->ini, kind, pend_done, p);

	p->op = op;
	return op;
}

static void finish_issue(struct runner *r, struct pend *p)
{
	if (p->op != NULL) {
		p->itt = p->op->itt;
		p->cmdsn = p->op->cmdsn;
	}
	if (!p->async)
		wait_pend(r, p, SYNC_TIMEOUT_NS);
}

/* -------------------------------------------------------- SCSI CDBs */

static void cdb_rw(uint8_t *cdb, bool write, uint64_t lba, uint32_t blocks,
		   bool fua)
{
	memset(cdb, 0, 16);
	if (lba > 0xffffffffull || blocks > 0xffff) {
		cdb[0] = write ? 0x8a : 0x88;
		cdb[1] = fua ? 0x08 : 0;
		be64_put(cdb + 2, lba);
		be32_put(cdb + 10, blocks);
	} else {
		cdb[0] = write ? 0x2a : 0x28;
		cdb[1] = fua ? 0x08 : 0;
		be32_put(cdb + 2, (uint32_t)lba);
		be16_put(cdb + 7, (uint16_t)blocks);
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

/* Build a SCSI op from verb and arguments; false if not a SCSI verb. */
static bool scsi_build(struct runner *r, struct pend *p, struct ini_op *op,
		       const char *verb, const struct toks *t)
{
	struct lun_st *l;
	uint32_t bs;

	op->lun = u64_or(t, "lun", 0, r);
	p->lun = op->lun;
	l = p->ls = lun_find(r, op->lun);
	bs = l ? l->bs : 512;
	p->lba = u64_or(t, "lba", 0, r);
	p->blocks = (uint32_t)u64_or(t, "blocks", 1, r);
	p->fua = has(t, "fua");
	if (strcmp(verb, "read") == 0 || strcmp(verb, "write") == 0) {
		bool w = verb[0] == 'w';

		cdb_rw(op->cdb, w, p->lba, p->blocks, p->fua);
		op->edtl = p->blocks * bs;
		op->dir_read = !w;
		op->dir_write = w;
		p->kind = w ? PK_WRITE : PK_READ;
		if (w) {
			const char *d = kv(t, "data");
			char dflt[32];
			uint64_t vid;

			snprintf(dflt, sizeof(dflt), "w%d", r->line);
			vid = model_vid(d ? d : dflt);
			op->out = malloc(op->edtl ? op->edtl : 1);
			if (op->out == NULL)
				abort();
			for (uint32_t i = 0; i < p->blocks; i++)
				model_fill(vid, p->lba + i,
					   op->out + (size_t)i * bs, bs);
			if (l != NULL &&
			    p->lba + p->blocks <= model_blocks(l->m)) {
				uint64_t *vids =
					malloc(p->blocks * sizeof(*vids) + 1);

				if (vids == NULL)
					abort();
				for (uint32_t i = 0; i < p->blocks; i++)
					vids[i] = vid;
				p->stamp = model_tick(l->m);
				p->handle = model_write_begin(l->m, p->lba,
							      p->blocks, vids,
							      p->stamp);
				free(vids);
			} else {
				p->ls = NULL;
			}
		} else if (l != NULL) {
			p->stamp = model_tick(l->m);
			model_read_begin(l->m, p->stamp);
		}
		if (kv(t, "vanish-at-r2t") || has(t, "vanish-at-r2t"))
			op->vanish_at_r2t = true;
	} else if (strcmp(verb, "sync") == 0) {
		op->cdb[0] = 0x35;
		be32_put(op->cdb + 2, (uint32_t)p->lba);
		be16_put(op->cdb + 7, (uint16_t)u64_or(t, "blocks", 0, r));
		p->kind = PK_SYNC;
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
		be16_put(op->cdb + 3, 255);
		op->dir_read = true;
	} else if (strcmp(verb, "readcap") == 0) {
		op->cdb[0] = 0x25;
		op->edtl = 8;
		op->dir_read = true;
	} else if (strcmp(verb, "request-sense") == 0) {
		op->cdb[0] = 0x03;
		op->cdb[4] = 252;
		op->edtl = 252;
		op->dir_read = true;
	} else if (strcmp(verb, "report-luns") == 0) {
		op->cdb[0] = 0xa0;
		op->edtl = 4096;
		be32_put(op->cdb + 6, 4096);
		op->dir_read = true;
	} else if (strcmp(verb, "reserve") == 0) {
		if (l)
			l->spc2_used = true;
		op->cdb[0] = 0x16;
		p->kind = PK_RESERVE;
	} else if (strcmp(verb, "release") == 0) {
		op->cdb[0] = 0x17;
		p->kind = PK_RELEASE;
		if (l)
			l->spc2_used = true;
		/* Until the answer, others may already see it released. */
		if (l != NULL && l->holder == p->a->idx) {
			l->epoch++;
			l->uncertain = true;
		}
	} else if (strcmp(verb, "unmap") == 0) {
		op->cdb[0] = 0x42;
		op->edtl = 24;
		be16_put(op->cdb + 7, 24);
		op->dir_write = true;
		op->out = calloc(1, 24);
		if (op->out == NULL)
			abort();
		be16_put(op->out, 22);
		be16_put(op->out + 2, 16);
		be64_put(op->out + 8, p->lba);
		be32_put(op->out + 16, p->blocks);
		p->kind = PK_WRITE;
		if (l != NULL && p->lba + p->blocks <= model_blocks(l->m)) {
			uint64_t *vids = calloc(p->blocks + 1, sizeof(*vids));

			if (vids == NULL)
				abort();
			p->stamp = model_tick(l->m);
			p->handle = model_write_begin(l->m, p->lba, p->blocks,
						      vids, p->stamp);
			free(vids);
		} else {
			p->ls = NULL;
		}
	} else if (strncmp(verb, "pr-", 3) == 0) {
		static const struct {
			const char *name;
			uint8_t sa;
		} outs[] = {{"pr-register", 0},	      {"pr-reserve", 1},
			    {"pr-release", 2},	      {"pr-clear", 3},
			    {"pr-preempt", 4},	      {"pr-preempt-abort", 5},
			    {"pr-register-ignore", 6}};
		size_t k;

		if (l)
			l->pr_used = true;
		if (strcmp(verb, "pr-read-keys") == 0 ||
		    strcmp(verb, "pr-read-reservation") == 0) {
			op->cdb[0] = 0x5e;
			op->cdb[1] = verb[8] == 'k' ? 0 : 1;
			be16_put(op->cdb + 7, 1024);
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
		be32_put(op->cdb + 5, 24);
		op->edtl = 24;
		op->dir_write = true;
		op->out = calloc(1, 24);
		if (op->out == NULL)
			abort();
		be64_put(op->out, hexkey(r, t, "key"));
		be64_put(op->out + 8,
			 hexkey(r, t,
				outs[k].sa == 0 || outs[k].sa == 6 ? "new"
								   : "sa-key"));
		if (has(t, "aptpl"))
			op->out[20] |= 0x01;
		p->kind = PK_PROUT;
		p->pro = (struct prm_out){.sa = outs[k].sa,
					  .type = op->cdb[2],
					  .key = be64_get(op->out),
					  .sark = be64_get(op->out + 8),
					  .aptpl = has(t, "aptpl")};
		p->pro_modelled = outs[k].sa <= PRM_PREEMPT;
	} else if (strcmp(verb, "cdb") == 0) {
		const char *hex = t->n > 2 ? t->v[2] : "";
		size_t n = hex_decode(hex, op->cdb, 16);

		if (n == (size_t)-1 || n == 0)
			syntaxf(r, "cdb HEX: bad hex '%s'", hex);
		if (kv(t, "in")) {
			op->edtl = (uint32_t)u64_or(t, "in", 0, r);
			op->dir_read = true;
		} else if (kv(t, "out")) {
			op->edtl = (uint32_t)u64_or(t, "out", 0, r);
			op->dir_write = true;
			op->out = calloc(1, op->edtl ? op->edtl : 1);
			if (op->out == NULL)
				abort();
		}
	} else {
		return false;
	}
	return true;
}

static void issue_scsi(struct runner *r, struct actor *a, const char *verb,
		       struct toks *t)
{
	struct pend *p = pend_new(r, a, verb, t);
	struct ini_op *op = op_for(p, INI_OP_SCSI);
	const char *cs = kv(t, "cmdsn");

	if (!scsi_build(r, p, op, verb, t)) {
		syntaxf(r, "unknown verb '%s'", verb);
		p->done = true;
		p->op = NULL;
		ini_op_free(op);
		return;
	}
	if (r->failed) {
		p->done = true;
		p->op = NULL;
		ini_op_free(op);
		return;
	}
	if (p->ls) {
		struct lun_st *l = p->ls;

		p->epoch = l->epoch;
		p->pr_alone = l->pr_inflight == 0;
		p->pr_known = !l->pr.unknown && !l->spc2_used;
		p->pr_epoch = l->pr_epoch;
		if (p->kind == PK_PROUT) {
			l->pr_inflight++;
			p->pr_issued = ++l->pr_issued;
			l->pr_epoch++;
		}
	}
	if (cs != NULL)
		op->cmdsn_delta = (int32_t)strtol(cs, NULL, 0);
	ini_scsi(a->ini, op);
	finish_issue(r, p);
}

static void issue_tmf(struct runner *r, struct actor *a, const char *verb,
		      struct toks *t)
{
	struct pend *p = pend_new(r, a, verb, t);
	struct ini_op *op = op_for(p, INI_OP_TMF);
	struct pend *q;

	p->kind = PK_TMF;
	op->lun = u64_or(t, "lun", 0, r);
	p->lun = op->lun;
	if (strcmp(verb, "abort") == 0) {
		const char *ref = kv(t, "ref");

		op->tmf_fn = ISCSI_TMF_ABORT_TASK;
		q = ref ? pend_by_label(r, ref) : NULL;
		if (q == NULL) {
			syntaxf(r, "abort ref=LABEL: no op labelled '%s'",
				ref ? ref : "");
			return;
		}
		op->ref_itt = q->op ? q->op->itt : q->itt;
		op->ref_cmdsn = q->op ? q->op->cmdsn : q->cmdsn;
		op->lun = q->lun;
		p->lun = q->lun;
	} else if (strcmp(verb, "abort-task-set") == 0) {
		op->tmf_fn = ISCSI_TMF_ABORT_TASK_SET;
	} else if (strcmp(verb, "clear-task-set") == 0) {
		op->tmf_fn = ISCSI_TMF_CLEAR_TASK_SET;
	} else if (strcmp(verb, "lun-reset") == 0) {
		op->tmf_fn = ISCSI_TMF_LOGICAL_UNIT_RESET;
	} else if (strcmp(verb, "target-reset") == 0) {
		op->tmf_fn = ISCSI_TMF_TARGET_WARM_RESET;
	}
	p->tmf_fn = op->tmf_fn;
	for (int i = 0; i < r->nluns; i++)
		if (op->tmf_fn == ISCSI_TMF_TARGET_WARM_RESET ||
		    (op->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET &&
		     r->luns[i].lun == op->lun)) {
			r->luns[i].epoch++;
			r->luns[i].uncertain = true;
			r->luns[i].resets_inflight++;
		}
	/* Tasks of other sessions that a reset or task-set abort may end
	 * without a response (TAS=0) are exempt from liveness. */
	TAILQ_FOREACH (q, &r->pends, link)
		if (!q->done && q->op && q->op->kind == INI_OP_SCSI &&
		    (op->tmf_fn == ISCSI_TMF_TARGET_WARM_RESET ||
		     q->lun == op->lun))
			q->exempt = true;
	ini_tmf(a->ini, op);
	finish_issue(r, p);
}

/* CHAP options of an initiator line or a login: chap-name= chap-secret=
 * mutual-name= mutual-secret= chap-a=LIST chap-reflect chap=off, over
 * base. */
static void chap_opts(struct runner *r, struct ini_chap *c,
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
	if ((c->secret[0] || c->target_secret[0]) && !c->name[0])
		syntaxf(r, "chap-secret/mutual-secret without chap-name");
}

static void issue_login(struct runner *r, struct actor *a, struct toks *t,
			bool discovery, const char *verb)
{
	struct pend *p = pend_new(r, a, verb, t);
	struct ini_op *op = op_for(p, INI_OP_LOGIN);
	char keys[1024] = "";
	size_t n = 0;
	const char *tgt = kv(t, "target");
	const char *portal = kv(t, "portal");

	p->kind = PK_LOGIN;
	for (int i = 1; i < t->n; i++)
		if (isupper((unsigned char)t->v[i][0]) && strchr(t->v[i], '='))
			n += (size_t)snprintf(keys + n, sizeof(keys) - n, "%s ",
					      t->v[i]);
	if (n > 0 || keys[0] == '\0')
		ini_set_login_keys(a->ini, n > 0 ? keys : a->keys);
	{
		struct ini_chap c;

		chap_opts(r, &c, &a->chap, t);
		ini_set_chap(a->ini, &c);
	}
	ini_login(a->ini, op, portal ? portal : r->portal, tgt ? tgt : r->iqn,
		  discovery);
	finish_issue(r, p);
}

static void issue_simple(struct runner *r, struct actor *a, const char *verb,
			 struct toks *t, enum ini_op_kind kind)
{
	struct pend *p = pend_new(r, a, verb, t);
	struct ini_op *op = op_for(p, kind);

	switch (kind) {
	case INI_OP_NOP:
		ini_nop(a->ini, op);
		break;
	case INI_OP_LOGOUT:
		p->kind = PK_LOGOUT;
		resv_drop_holder(r, a);
		ini_logout(a->ini, op);
		break;
	case INI_OP_TEXT:
		p->kind = PK_TEXT;
		ini_text_sendtargets(a->ini, op);
		break;
	case INI_OP_RAW: {
		uint8_t buf[4096];
		size_t n = t->n > 2 ? hex_decode(t->v[2], buf, sizeof(buf)) : 0;

		if (p->e.outcome == XO_DEFAULT && !p->e.given)
			p->e.outcome = XO_ANY;
		if (n == (size_t)-1 || n == 0) {
			syntaxf(r, "raw HEX: bad hex");
			n = 0;
		}
		op->raw = malloc(n ? n : 1);
		if (op->raw == NULL)
			abort();
		memcpy(op->raw, buf, n);
		op->raw_len = (uint32_t)n;
		ini_raw(a->ini, op);
		break;
	}
	default:
		assert(0);
	}
	finish_issue(r, p);
}

/* discovery: login (SessionType=Discovery), SendTargets, logout; the
 * expectation applies to the SendTargets answer. */
static void do_discovery(struct runner *r, struct actor *a, struct toks *t)
{
	struct toks none = {.n = 0};
	struct pend *p;
	struct ini_chap c;
	/* An expectation about the login itself ends the discovery there. */
	bool login_only = has(t, "auth-failure") || has(t, "auth-refused") ||
			  kv(t, "login") != NULL;

	if (ini_state(a->ini) != INI_S_DOWN)
		ini_disconnect(a->ini);
	chap_opts(r, &c, &a->chap, t);
	ini_set_chap(a->ini, &c);
	ini_set_login_keys(a->ini, a->keys); /* not an earlier login's */
	p = pend_new(r, a, "discovery-login", login_only ? t : &none);
	ini_login(a->ini, op_for(p, INI_OP_LOGIN), r->portal, NULL, true);
	p->kind = PK_LOGIN;
	finish_issue(r, p);
	if (r->failed || login_only)
		return;
	issue_simple(r, a, "discovery", t, INI_OP_TEXT);
	if (r->failed)
		return;
	p = pend_new(r, a, "discovery-logout", &none);
	p->kind = PK_LOGOUT;
	ini_logout(a->ini, op_for(p, INI_OP_LOGOUT));
	finish_issue(r, p);
}

/* Forget answered ops nobody can refer to any more (no label). */
static void pend_gc(struct runner *r)
{
	struct pend *p, *next;

	for (p = TAILQ_FIRST(&r->pends); p != NULL; p = next) {
		next = TAILQ_NEXT(p, link);
		if (p->done && p->label[0] == '\0') {
			TAILQ_REMOVE(&r->pends, p, link);
			free(p);
		}
	}
}

static void actor_wait(struct runner *r, struct actor *a)
{
	for (;;) {
		struct pend *p, *w = NULL;

		pend_gc(r);
		TAILQ_FOREACH (p, &r->pends, link)
			if ((a == NULL || p->a == a) && !p->done &&
			    p->e.outcome != XO_NONE && !p->exempt) {
				w = p;
				break;
			}
		if (w == NULL || r->failed)
			return;
		wait_pend(r, w, SYNC_TIMEOUT_NS);
	}
}

/* --------------------------------------------------- network verbs */

static unsigned int parse_dirs(struct runner *r, const struct toks *t)
{
	if (has(t, "to-target"))
		return SIM_TO_TARGET;
	if (has(t, "from-target"))
		return SIM_FROM_TARGET;
	if (has(t, "both") || t->n <= 2)
		return SIM_BOTH;
	return SIM_BOTH;
}

static void net_cfg_apply(struct runner *r, struct sim_link_cfg *c,
			  const struct toks *t)
{
	const char *v;
	uint64_t ns;

	if ((v = kv(t, "delay")) && parse_dur(v, &ns))
		c->delay_ns = ns;
	if ((v = kv(t, "jitter")) && parse_dur(v, &ns))
		c->jitter_ns = ns;
	if ((v = kv(t, "chunk")))
		c->max_chunk = (uint32_t)u64_or(t, "chunk", 0, r);
	if ((v = kv(t, "window")))
		c->window_bytes = (uint32_t)u64_or(t, "window", 0, r);
	if ((v = kv(t, "partial"))) {
		c->partial_send = strcmp(v, "on") == 0;
		c->partial_recv = c->partial_send;
	}
	if (has(t, "normal")) {
		*c = *sim_net_default(r->sim);
		c->max_chunk = 0;
		c->partial_send = c->partial_recv = false;
		c->jitter_ns = 0;
	}
}

struct heal_ev {
	struct sim_ev ev;
	struct runner *r;
	struct actor *a;
	unsigned int dirs;
	bool stall;
};

static void heal_fire(struct sim_ev *ev)
{
	struct heal_ev *h = SIM_CONTAINER_OF(ev, struct heal_ev, ev);

	SIM_TRACE(h->r->sim, "fault %s %s heals", h->a->name,
		  h->stall ? "stall" : "partition");
	if (h->stall) {
		if (ini_conn(h->a->ini))
			sim_conn_stall(ini_conn(h->a->ini), h->dirs, false);
	} else {
		sim_host_block(ini_host(h->a->ini), h->dirs, false);
	}
	free(h);
}

/* Heal events are tracked so that they can be freed at the end. */
static void schedule_heal(struct runner *r, struct actor *a, unsigned int dirs,
			  bool stall, uint64_t after)
{
	struct heal_ev *h = calloc(1, sizeof(*h));

	if (h == NULL)
		abort();
	sim_ev_init(&h->ev, heal_fire);
	h->r = r;
	h->a = a;
	h->dirs = dirs;
	h->stall = stall;
	sim_ev_at(r->sim, &h->ev, r->sim->now_ns + after);
}

static const char *dir_name(unsigned int d)
{
	return d == SIM_TO_TARGET     ? "to-target"
	       : d == SIM_FROM_TARGET ? "from-target"
				      : "both ways";
}

static void heal_all(struct runner *r)
{
	for (int i = 0; i < r->nactors; i++) {
		struct actor *a = &r->actors[i];

		sim_host_block(ini_host(a->ini), SIM_BOTH, false);
		if (ini_conn(a->ini))
			sim_conn_stall(ini_conn(a->ini), SIM_BOTH, false);
	}
}

/* ----------------------------------------------------- actor verbs */

static void actor_verb(struct runner *r, struct actor *a, struct toks *t)
{
	const char *verb = t->n > 1 ? t->v[1] : "";
	const char *v;
	uint64_t ns;

	if (!target_start(r))
		return;
	SIM_TRACE(r->sim, "line %d: %s %s", r->line, a->name, verb);
	if (strcmp(verb, "login") == 0) {
		issue_login(r, a, t, false, verb);
	} else if (strcmp(verb, "reconnect") == 0) {
		if (ini_state(a->ini) != INI_S_DOWN)
			ini_disconnect(a->ini);
		resv_drop_holder(r, a);
		issue_login(r, a, t, false, verb);
	} else if (strcmp(verb, "discovery") == 0) {
		do_discovery(r, a, t);
	} else if (strcmp(verb, "logout") == 0) {
		issue_simple(r, a, verb, t, INI_OP_LOGOUT);
	} else if (strcmp(verb, "nop") == 0) {
		issue_simple(r, a, verb, t, INI_OP_NOP);
	} else if (strcmp(verb, "raw") == 0) {
		issue_simple(r, a, verb, t, INI_OP_RAW);
	} else if (strcmp(verb, "abort") == 0 ||
		   strcmp(verb, "lun-reset") == 0 ||
		   strcmp(verb, "abort-task-set") == 0 ||
		   strcmp(verb, "clear-task-set") == 0 ||
		   strcmp(verb, "target-reset") == 0) {
		issue_tmf(r, a, verb, t);
	} else if (strcmp(verb, "disconnect") == 0) {
		ini_disconnect(a->ini);
		resv_drop_holder(r, a);
	} else if (strcmp(verb, "rst") == 0) {
		ini_reset(a->ini);
		resv_drop_holder(r, a);
	} else if (strcmp(verb, "fin") == 0) {
		ini_half_close(a->ini);
	} else if (strcmp(verb, "vanish") == 0) {
		ini_vanish(a->ini);
		resv_drop_holder(r, a);
	} else if (strcmp(verb, "ignore-nopin") == 0) {
		ini_set_ignore_nopin(a->ini, !has(t, "off"));
	} else if (strcmp(verb, "wait") == 0) {
		actor_wait(r, a);
	} else if (strcmp(verb, "forget") == 0) {
		struct pend *p;

		TAILQ_FOREACH (p, &r->pends, link)
			if (p->a == a && !p->done)
				p->exempt = true;
	} else if (strcmp(verb, "net") == 0) {
		net_cfg_apply(r, sim_host_cfg(ini_host(a->ini)), t);
		SIM_TRACE(r->sim,
			  "fault %s link: delay=%lluns jitter=%lluns "
			  "chunk=%u window=%u partial=%d",
			  a->name,
			  (unsigned long long)sim_host_cfg(ini_host(a->ini))
				  ->delay_ns,
			  (unsigned long long)sim_host_cfg(ini_host(a->ini))
				  ->jitter_ns,
			  sim_host_cfg(ini_host(a->ini))->max_chunk,
			  sim_host_cfg(ini_host(a->ini))->window_bytes,
			  sim_host_cfg(ini_host(a->ini))->partial_send);
	} else if (strcmp(verb, "partition") == 0 ||
		   strcmp(verb, "stall") == 0) {
		unsigned int dirs = parse_dirs(r, t);
		bool stall = verb[0] == 's';

		SIM_TRACE(r->sim, "fault %s %s %s", a->name, verb,
			  dir_name(dirs));
		if (stall) {
			if (ini_conn(a->ini))
				sim_conn_stall(ini_conn(a->ini), dirs, true);
		} else {
			sim_host_block(ini_host(a->ini), dirs, true);
		}
		if ((v = kv(t, "for")) != NULL) {
			if (!parse_dur(v, &ns))
				syntaxf(r, "for=DURATION");
			else
				schedule_heal(r, a, dirs, stall, ns);
		}
	} else if (strcmp(verb, "heal") == 0) {
		SIM_TRACE(r->sim, "fault %s heals", a->name);
		sim_host_block(ini_host(a->ini), SIM_BOTH, false);
		if (ini_conn(a->ini))
			sim_conn_stall(ini_conn(a->ini), SIM_BOTH, false);
	} else {
		issue_scsi(r, a, verb, t);
	}
}

/* ------------------------------------------------------ disk verbs */

static void disk_verb(struct runner *r, struct lun_st *l, struct toks *t)
{
	struct sim_disk *d;
	struct sim_disk_cfg *c;
	const char *verb = t->n > 1 ? t->v[1] : "";
	const char *v;
	uint64_t ns;

	if (!target_start(r))
		return;
	d = sim_disk_find(r->sim, l->disk);
	c = sim_disk_cfg(d);
	SIM_TRACE(r->sim, "fault disk %s %s", l->disk, verb);
	if (strcmp(verb, "eio") == 0) {
		struct sim_disk_fault *f;

		if (c->fault_count == SIM_DISK_FAULTS_MAX) {
			syntaxf(r, "too many disk faults");
			return;
		}
		f = &c->faults[c->fault_count++];
		memset(f, 0, sizeof(*f));
		if (has(t, "read"))
			f->ops |= 1u << BS_OP_READ;
		if (has(t, "write"))
			f->ops |= 1u << BS_OP_WRITE | 1u << BS_OP_WRITE_ZEROES;
		if (has(t, "flush"))
			f->ops |= 1u << BS_OP_FLUSH;
		if (f->ops == 0)
			f->ops = 0x1f;
		f->lba_first = 0;
		f->lba_last = UINT64_MAX;
		if ((v = kv(t, "lba")) != NULL) {
			unsigned long long a = 0, b = 0;
			int n = sscanf(v, "%llu..%llu", &a, &b);

			f->lba_first = a;
			f->lba_last = n == 2 ? b : a;
		}
		f->prob = (v = kv(t, "prob")) ? strtod(v, NULL) : 1.0;
		f->count = (int32_t)(kv(t, "count")
					     ? (int64_t)u64_or(t, "count", 0, r)
					     : -1);
	} else if (strcmp(verb, "latency") == 0) {
		if ((v = kv(t, "min")) && parse_dur(v, &ns))
			c->lat_min_ns = ns;
		if ((v = kv(t, "max")) && parse_dur(v, &ns))
			c->lat_max_ns = ns;
		if (c->lat_max_ns < c->lat_min_ns)
			c->lat_max_ns = c->lat_min_ns;
		if ((v = kv(t, "slow")) && parse_dur(v, &ns))
			c->lat_slow_ns = ns;
		if ((v = kv(t, "slow-prob")))
			c->slow_prob = strtod(v, NULL);
	} else if (strcmp(verb, "clear") == 0) {
		c->fault_count = 0;
	} else if (strcmp(verb, "crash-keep") == 0) {
		c->crash_keep = t->n > 2 ? strtod(t->v[2], NULL) : 0.4;
		c->crash_tear = (v = kv(t, "tear")) ? strtod(v, NULL) : 0.0;
	} else {
		syntaxf(r,
			"unknown disk verb '%s' (eio latency clear crash-keep)",
			verb);
	}
}

/* ------------------------------------------------- top-level lines */

static void decl_lun(struct runner *r, struct toks *t)
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
			"[ro] [thin]");
		return;
	}
	if ((v = kv(t, "size")) && ut_size_parse(v, &size) != 0)
		syntaxf(r, "size=%s", v);
	l = &r->luns[r->nluns++];
	memset(l, 0, sizeof(*l));
	l->lun = (uint32_t)n;
	snprintf(l->disk, sizeof(l->disk), "%s", t->v[2]);
	l->size_bytes = size;
	l->bs = (uint32_t)u64_or(t, "block", 512, r);
	l->wc_off = (v = kv(t, "write-cache")) && strcmp(v, "off") == 0;
	l->ro = has(t, "ro");
	l->thin = has(t, "thin");
	l->holder = -1;
	prm_clear(&l->pr);
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
#undef P
};

static void decl_param(struct runner *r, struct toks *t)
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

static void decl_initiator(struct runner *r, struct toks *t)
{
	struct actor *a;
	char iqn[UT_NAME_MAX];

	if (t->n < 2 || r->nactors == MAX_ACTORS || actor_find(r, t->v[1])) {
		syntaxf(r, "initiator NAME [IQN] (at most %d, unique)",
			MAX_ACTORS);
		return;
	}
	a = &r->actors[r->nactors];
	memset(a, 0, sizeof(*a));
	a->idx = r->nactors++;
	snprintf(a->name, sizeof(a->name), "%s", t->v[1]);
	if (t->n > 2 && strchr(t->v[2], '=') == NULL &&
	    strcmp(t->v[2], "chap-reflect") != 0)
		snprintf(iqn, sizeof(iqn), "%s", t->v[2]);
	else
		snprintf(iqn, sizeof(iqn), "iqn.2026-11.org.utarget:init-%s",
			 a->name);
	a->ini = ini_new(r->sim, a->name, iqn, (unsigned int)a->idx);
	ini_set_hooks(a->ini, violation_hook, NULL, r);
	{
		struct ini_chap none;

		memset(&none, 0, sizeof(none));
		chap_opts(r, &a->chap, &none, t);
	}
	{
		size_t n = 0;

		for (int i = 2; i < t->n; i++)
			if (strchr(t->v[i], '=') &&
			    isupper((unsigned char)t->v[i][0]))
				n += (size_t)snprintf(a->keys + n,
						      sizeof(a->keys) - n,
						      "%s ", t->v[i]);
	}
}

/* [discovery] IncomingUser NAME SECRET | [discovery] OutgoingUser NAME
 * SECRET: CHAP for the target's normal sessions, or for discovery. */
static void decl_user(struct runner *r, struct toks *t)
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

static void target_verb(struct runner *r, struct toks *t)
{
	const char *verb = t->v[1];

	if (strcmp(verb, "crash") == 0) {
		if (target_start(r))
			target_crash(r);
	} else if (strcmp(verb, "restart") == 0) {
		target_restart(r);
	} else if (strcmp(verb, "stats") == 0) {
		struct iscsi_server_stats st;
		int ex = -1;

		if (!target_start(r) || r->srv == NULL)
			return;
		iscsi_server_get_stats(r->srv, &st);
		for (int i = 2; i < t->n; i++)
			if (strcmp(t->v[i], "expect") == 0)
				ex = i;
		for (int i = ex < 0 ? t->n : ex + 1; i < t->n; i++) {
			static const char *names[] = {"connections", "sessions",
						      "tasks", "buffer_bytes"};
			uint64_t vals[] = {st.connections, st.sessions,
					   st.tasks, st.buffer_bytes};
			size_t k;
			char *eq = strchr(t->v[i], '=');

			if (eq == NULL) {
				syntaxf(r, "target stats expect NAME=N");
				return;
			}
			*eq = '\0';
			for (k = 0; k < 4 && strcmp(names[k], t->v[i]) != 0;
			     k++)
				;
			if (k == 4) {
				syntaxf(r, "unknown stat '%s'", t->v[i]);
				return;
			}
			r->res->expectations++;
			if (vals[k] != strtoull(eq + 1, NULL, 0))
				failf(r, r->line,
				      "target stats: expected %s=%s, got "
				      "%llu (seed %llu)",
				      t->v[i], eq + 1,
				      (unsigned long long)vals[k],
				      (unsigned long long)r->seed);
		}
	} else {
		if (r->started) {
			syntaxf(r, "target NAME after the target started");
			return;
		}
		snprintf(r->iqn, sizeof(r->iqn), "%s", verb);
	}
}

static void do_line(struct runner *r, char *text)
{
	struct toks t;
	struct actor *a;
	uint64_t ns;

	tokenize(text, &t);
	if (t.n == 0)
		return;
	pend_gc(r);
	if (t.v[0][0] == '+') {
		if (!parse_dur(t.v[0] + 1, &ns)) {
			syntaxf(r, "bad time '%s' (+10ms, +2s, +500us)",
				t.v[0]);
			return;
		}
		if (!target_start(r))
			return;
		sim_run_for(r->sim, ns);
		toks_shift(&t, 1);
		if (t.n == 0 || r->failed)
			return;
	}
	if (strcmp(t.v[0], "seed") == 0)
		return; /* read before the run */
	if (strcmp(t.v[0], "portal") == 0 && t.n == 2 && !r->started) {
		snprintf(r->portal, sizeof(r->portal), "%s", t.v[1]);
	} else if (strcmp(t.v[0], "target") == 0 && t.n >= 2) {
		target_verb(r, &t);
	} else if (strcmp(t.v[0], "lun") == 0) {
		decl_lun(r, &t);
	} else if (strcmp(t.v[0], "param") == 0) {
		if (r->started)
			syntaxf(r, "param after the target started");
		else
			decl_param(r, &t);
	} else if (strcmp(t.v[0], "initiator") == 0) {
		decl_initiator(r, &t);
	} else if (strcmp(t.v[0], "IncomingUser") == 0 ||
		   strcmp(t.v[0], "OutgoingUser") == 0 ||
		   (strcmp(t.v[0], "discovery") == 0 && t.n >= 2 &&
		    (strcmp(t.v[1], "IncomingUser") == 0 ||
		     strcmp(t.v[1], "OutgoingUser") == 0))) {
		decl_user(r, &t);
	} else if (strcmp(t.v[0], "start") == 0) {
		target_start(r);
	} else if (strcmp(t.v[0], "run") == 0) {
		if (!target_start(r))
			return;
		if (t.n >= 3 && strcmp(t.v[1], "until") == 0 &&
		    strcmp(t.v[2], "quiet") == 0)
			run_quiet(r);
		else if (t.n == 2 && parse_dur(t.v[1], &ns))
			sim_run_for(r->sim, ns);
		else
			syntaxf(r, "run until quiet | run DURATION");
	} else if (strcmp(t.v[0], "wait") == 0) {
		actor_wait(r, NULL);
	} else if (strcmp(t.v[0], "heal") == 0) {
		if (target_start(r))
			heal_all(r);
	} else if (strcmp(t.v[0], "net") == 0) {
		struct sim_link_cfg c = *sim_net_default(r->sim);

		net_cfg_apply(r, &c, &t);
		sim_net_set_default(r->sim, &c, true);
		SIM_TRACE(r->sim,
			  "fault net: delay=%lluns jitter=%lluns chunk=%u "
			  "window=%u partial=%d",
			  (unsigned long long)c.delay_ns,
			  (unsigned long long)c.jitter_ns, c.max_chunk,
			  c.window_bytes, c.partial_send);
	} else if ((a = actor_find(r, t.v[0])) != NULL) {
		actor_verb(r, a, &t);
	} else {
		for (int i = 0; i < r->nluns; i++)
			if (strcmp(r->luns[i].disk, t.v[0]) == 0) {
				disk_verb(r, &r->luns[i], &t);
				return;
			}
		syntaxf(r, "unknown actor or keyword '%s'", t.v[0]);
	}
}

/* ------------------------------------------------------ end of run */

static void end_of_run(struct runner *r)
{
	struct pend *p;

	if (!r->started || r->failed)
		return;
	r->line = 0;
	heal_all(r);
	run_quiet(r);
	/* A connection whose target side is gone can never answer: the
	 * initiator drops it, as its own timeout would. */
	for (int i = 0; i < r->nactors; i++) {
		struct ini *ini = r->actors[i].ini;

		if (ini_conn(ini) && !sim_conn_peer_open(ini_conn(ini)) &&
		    ini_pending(ini) > 0)
			ini_disconnect(ini);
	}
	run_quiet(r);
	TAILQ_FOREACH (p, &r->pends, link) {
		if (r->failed)
			break;
		if (p->done || p->exempt)
			continue;
		/* `expect any` checks no answer, but one must come (the
		 * explorer's commands all say `expect any`). */
		if (p->e.outcome == XO_NONE)
			continue;
		failf(r, p->line,
		      "liveness: %s %s never got an answer and its "
		      "connection is still up after the network healed and the "
		      "world went quiet (seed %llu)",
		      p->a->name, p->verb, (unsigned long long)r->seed);
	}
	if (r->srv != NULL && !r->failed) {
		bool all_down = true;
		struct iscsi_server_stats st;

		for (int i = 0; i < r->nactors; i++)
			if (ini_state(r->actors[i].ini) != INI_S_DOWN)
				all_down = false;
		iscsi_server_get_stats(r->srv, &st);
		if (all_down && (st.connections || st.sessions || st.tasks ||
				 st.buffer_bytes))
			failf(r, 0,
			      "leak: every initiator is gone and the world is "
			      "quiet, yet the target holds %u connections, %u "
			      "sessions, %u tasks, %llu buffer bytes (seed %llu)",
			      st.connections, st.sessions, st.tasks,
			      (unsigned long long)st.buffer_bytes,
			      (unsigned long long)r->seed);
	}
}

static void runner_free(struct runner *r)
{
	struct pend *p;

	/* After a failure the target may be in any state: freeing it could
	 * trip its own assertions and hide the oracle's report (a dropped
	 * command leaves its session busy).  Leave it; the process ends. */
	if (r->srv != NULL && !r->failed) {
		iscsi_server_free(r->srv);
		r->srv = NULL;
		leak_check(r, "iscsi_server_free");
	}
	for (int i = 0; i < r->nactors; i++)
		ini_free(r->actors[i].ini);
	while ((p = TAILQ_FIRST(&r->pends)) != NULL) {
		TAILQ_REMOVE(&r->pends, p, link);
		free(p);
	}
	for (int i = 0; i < r->nluns; i++)
		model_free(r->luns[i].m);
	if (r->cfg_built)
		ut_config_free(&r->cfg);
}

/* Drop every scheduled event (heal events own memory: free them). */
static void drain_events(struct sim *sim)
{
	while (sim->heap_len > 0) {
		struct sim_ev *ev = sim->heap[0];

		sim_ev_cancel(sim, ev);
		if (ev->fn == heal_fire)
			free(SIM_CONTAINER_OF(ev, struct heal_ev, ev));
	}
}

int scn_run(const char *name, const char *text, const struct scn_opts *o,
	    struct scn_result *res)
{
	struct runner r;
	char *copy = strdup(text), *line;
	int lineno = 0;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.o = *o;
	r.res = res;
	TAILQ_INIT(&r.pends);
	snprintf(r.iqn, sizeof(r.iqn), DEFAULT_IQN);
	snprintf(r.portal, sizeof(r.portal), DEFAULT_PORTAL);
	lun_params_defaults(&r);
	/* The seed comes first: a `seed N` line unless --seed was given. */
	r.seed = o->seed;
	if (!o->seed_given) {
		const char *s = strstr(text, "\nseed ");

		if (strncmp(text, "seed ", 5) == 0)
			s = text - 1;
		if (s != NULL)
			r.seed = strtoull(s + 6, NULL, 0);
	}
	res->seed = r.seed;
	r.sim = sim_new(r.seed);
	r.sim->trace = o->trace;
	r.sim->trace_out = o->out ? o->out : stdout;
	r.sim->env.log_level = o->trace ? UT_LOG_DEBUG : UT_LOG_ERROR;
	line = copy;
	while (line != NULL && !r.failed) {
		char *nl = strchr(line, '\n');

		if (nl != NULL)
			*nl = '\0';
		r.line = ++lineno;
		do_line(&r, line);
		line = nl ? nl + 1 : NULL;
	}
	if (!r.failed)
		end_of_run(&r);
	runner_free(&r);
	drain_events(r.sim);
	res->hash = r.sim->hash;
	res->virt_ns = r.sim->now_ns;
	res->events = r.sim->ctr.events;
	res->pass = !r.failed;
	sim_free(r.sim);
	free(copy);
	return r.syntax ? 2 : r.failed ? 1 : 0;
}
