/*
 * against.c — run a scenario against a real target, and compare
 * (utarget-sim run FILE.scn --against iscsi://HOST[:PORT]/IQN [--compare]).
 *
 * --against: the scenario's initiator actors log in to the real target
 * over real TCP, in real time (real_net.h); expectations and the
 * initiator-side oracles (the data model, StatSN/ExpCmdSN, sense
 * consistency, reservations, liveness) judge its answers as they judge
 * utarget's.  Lines that need the simulated target or network (target
 * crash/restart, LUN changes, disk faults, partitions, link settings,
 * param) are skipped with a SKIP note: what follows them may then differ
 * for that reason alone.
 *
 * --compare: the scenario runs twice, in the simulator against utarget
 * and over TCP against the other target, both with every answer other
 * than expected noted (DIFF) rather than ending the run; then a table
 * lists every line whose answers differ: outcome, status, sense
 * (key/ASC/ASCQ), residual, the Data-In bytes (count and CRC32C), login
 * status and TMF or logout response.  The simulated run skips the same
 * lines, so that both runs see the same commands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "against.h"
#include "iscsi/pdu.h"
#include "scenario_int.h"

#define ANSWER_TEXT 160

/* One answer, kept for the table. */
struct ans {
	int line;
	int nth; /* answers of this line before it */
	char who[48];
	char text[ANSWER_TEXT];
};

struct ans_list {
	struct ans *v;
	size_t n, cap;
};

/* iscsi://HOST[:PORT]/IQN[/LUN] into "HOST:PORT", the IQN (RFC 7143
 * §13.2: 3260 by default; an IPv6 host is bracketed) and the LUN where
 * the scenario's LUN 0 is (libiscsi's URL form; 0 without one). */
int against_parse_url(const char *url, char *portal, size_t portal_cap,
		      char *iqn, size_t iqn_cap, uint64_t *lun_base)
{
	const char *p = url, *slash, *host_end, *last;
	size_t hl;

	if (strncmp(p, "iscsi://", 8) != 0)
		return -1;
	p += 8;
	slash = strchr(p, '/');
	if (slash == NULL || slash == p || slash[1] == '\0' ||
	    strlen(slash + 1) >= iqn_cap)
		return -1;
	hl = (size_t)(slash - p);
	host_end = p[0] == '[' ? memchr(p, ']', hl) : NULL;
	if (p[0] == '[' && host_end == NULL)
		return -1;
	/* a port is there if a ':' follows the host (after ']' for v6) */
	if (memchr(host_end ? host_end : p, ':',
		   (size_t)(slash - (host_end ? host_end : p))) != NULL) {
		if (hl >= portal_cap)
			return -1;
		memcpy(portal, p, hl);
		portal[hl] = '\0';
	} else {
		if (hl + 6 >= portal_cap)
			return -1;
		snprintf(portal, portal_cap, "%.*s:3260", (int)hl, p);
	}
	snprintf(iqn, iqn_cap, "%s", slash + 1);
	*lun_base = 0;
	last = strrchr(slash + 1, '/');
	if (last != NULL) {
		char *end;

		*lun_base = strtoull(last + 1, &end, 10);
		if (last[1] == '\0' || *end != '\0' || last == slash + 1)
			return -1;
		iqn[last - (slash + 1)] = '\0';
	}
	return 0;
}

static void fmt_answer(const struct scn_answer *a, char *buf, size_t cap)
{
	size_t n = 0;

#define PUT(...)                                                              \
	do {                                                                  \
		if (n < cap)                                                  \
			n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__); \
	} while (0)
	if (strcmp(a->outcome, "done") != 0) {
		PUT("%s", a->outcome);
		return;
	}
	switch (a->kind) {
	case 1:
		PUT("%s", status_name(a->status));
		if (a->sk >= 0)
			PUT(" %x/%02x/%02x", a->sk, a->asc, a->ascq);
		if (a->rsp_flags &
		    (ISCSI_RSP_F_UNDERFLOW | ISCSI_RSP_F_OVERFLOW))
			PUT(" %s %u",
			    a->rsp_flags & ISCSI_RSP_F_OVERFLOW ? "overflow"
								: "underflow",
			    a->residual);
		if (a->response != 0)
			PUT(" response %u", a->response);
		if (a->data_len > 0)
			PUT(" data %u crc %08x", a->data_len,
			    iscsi_digest(a->data, a->data_len));
		break;
	case 2:
		PUT("login %04x", a->login_status);
		break;
	case 3:
		PUT("tmf response %u", a->response);
		break;
	case 4:
		PUT("logout response %u", a->response);
		break;
	default:
		PUT("done");
	}
#undef PUT
}

static void collect(void *arg, const struct scn_answer *a)
{
	struct ans_list *l = arg;
	struct ans *x;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (l->v == NULL)
			abort();
	}
	x = &l->v[l->n];
	memset(x, 0, sizeof(*x));
	x->line = a->line;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].line == a->line)
			x->nth++;
	snprintf(x->who, sizeof(x->who), "%s %s", a->actor, a->verb);
	fmt_answer(a, x->text, sizeof(x->text));
	l->n++;
}

static const struct ans *find(const struct ans_list *l, int line, int nth)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].line == line && l->v[i].nth == nth)
			return &l->v[i];
	return NULL;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The report line of one run. */
static void report(const char *name, const char *where, int rc,
		   const struct scn_result *res, double wall)
{
	if (rc == 0)
		printf("PASS %s against %s: %u expectations, %llu SCSI "
		       "commands, %u lines skipped, %.3fs\n",
		       name, where, res->expectations,
		       (unsigned long long)res->scsi_cmds, res->skipped, wall);
	else
		printf("FAIL %s against %s (%u lines skipped): %s\n", name,
		       where, res->skipped, res->msg);
}

/* Print a run's own output (DIFF and SKIP lines) under a heading. */
static void dump(const char *heading, char *buf, size_t len)
{
	printf("--- %s\n", heading);
	if (len > 0)
		fwrite(buf, 1, len, stdout);
}

int against_run(const char *name, const char *text, const struct scn_opts *o,
		const char *url, bool compare)
{
	char portal[300], iqn[UT_NAME_MAX];
	struct scn_opts ro = *o, so = *o;
	struct scn_result rres, sres;
	struct ans_list ra = {0}, sa = {0};
	char *rbuf = NULL, *sbuf = NULL;
	size_t rlen = 0, slen = 0;
	unsigned int rows = 0;
	int rrc, src;
	double t0;

	if (against_parse_url(url, portal, sizeof(portal), iqn, sizeof(iqn),
			      &ro.against_lun_base) != 0) {
		fprintf(stderr,
			"utarget-sim: --against %s: expected "
			"iscsi://HOST[:PORT]/IQN[/LUN]\n",
			url);
		return 2;
	}
	ro.against_portal = portal;
	ro.against_iqn = iqn;
	if (!compare) {
		t0 = mono_s();
		rrc = scn_run(name, text, &ro, &rres);
		report(name, url, rrc, &rres, mono_s() - t0);
		return rrc;
	}
	/* Both runs note every unexpected answer and go on; their own
	 * output is printed after them, then the table. */
	ro.keep_going = so.keep_going = true;
	ro.answer = collect;
	ro.answer_arg = &ra;
	so.answer = collect;
	so.answer_arg = &sa;
	so.chart_path = NULL;
	so.skip_sim_lines = true;
	if (!o->trace) {
		ro.out = open_memstream(&rbuf, &rlen);
		so.out = open_memstream(&sbuf, &slen);
		if (ro.out == NULL || so.out == NULL)
			abort();
	}
	t0 = mono_s();
	src = scn_run(name, text, &so, &sres);
	report(name, "utarget (simulated)", src, &sres, mono_s() - t0);
	t0 = mono_s();
	rrc = scn_run(name, text, &ro, &rres);
	report(name, url, rrc, &rres, mono_s() - t0);
	if (!o->trace) {
		fclose(so.out);
		fclose(ro.out);
		dump("utarget (simulated)", sbuf, slen);
		dump(url, rbuf, rlen);
	}
	printf("--- answers that differ (line, actor and verb, utarget "
	       "simulated | %s)\n",
	       url);
	/* Every answer of either run, in line order, once. */
	for (int pass = 0; pass < 2; pass++) {
		const struct ans_list *l = pass == 0 ? &sa : &ra;

		for (size_t i = 0; i < l->n; i++) {
			const struct ans *x = &l->v[i];
			const struct ans *s = find(&sa, x->line, x->nth);
			const struct ans *r = find(&ra, x->line, x->nth);

			if (pass == 1 && s != NULL)
				continue; /* printed in the first pass */
			if (s != NULL && r != NULL &&
			    strcmp(s->text, r->text) == 0)
				continue;
			printf("%5d %-24s | %-44s | %s\n", x->line, x->who,
			       s ? s->text : "(no answer)",
			       r ? r->text : "(no answer)");
			rows++;
		}
	}
	printf("compare: %u answers differ (%zu answers from utarget, %zu "
	       "from %s; %u lines skipped)\n",
	       rows, sa.n, ra.n, url, rres.skipped);
	free(ra.v);
	free(sa.v);
	free(rbuf);
	free(sbuf);
	return rows > 0 || src == 2 || rrc == 2 ? 1 : 0;
}
