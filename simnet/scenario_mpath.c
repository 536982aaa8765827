/*
 * scenario_mpath.c — multipath hosts in the simulated world: `mpath HOST
 * A B` declares a host over actors A and B, and `HOST read|write|sync ...`
 * does I/O as dm-multipath with the ALUA device handler does it: through
 * the best path the host knows; a unit attention, a NOT READY of an
 * access state or a lost connection makes it ask REPORT TARGET PORT
 * GROUPS and try again on the best path (MP_ATTEMPTS attempts).
 *
 * The boundary: a host is an initiator's behaviour, not a check;
 * scenario_alua.c holds the ALUA declarations and the oracle, which
 * judges every attempt a host makes like any other command and hands
 * each answer back here (mp_after).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "scenario_int.h"
#include "scsi/alua.h"
#include "scsi/scsi.h"

#define MP_ATTEMPTS 8
#define MP_TRANSITION_WAIT_NS (50 * SIM_NS_PER_MS)

int mp_cmd_attempts(const struct mp_cmd *c)
{
	return c->attempts;
}

void alua_decl_host(struct runner *r, struct toks *t)
{
	struct mp_host *h;

	if (t->n != 4 || r->alua.nhosts == MAX_HOSTS ||
	    !actor_find(r, t->v[2]) || !actor_find(r, t->v[3]) ||
	    alua_host_find(r, t->v[1]) || actor_find(r, t->v[1])) {
		syntaxf(r,
			"mpath HOST ACTOR ACTOR (declared actors; at most "
			"%d hosts, names unique)",
			MAX_HOSTS);
		return;
	}
	h = &r->alua.hosts[r->alua.nhosts++];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", t->v[1]);
	h->path[0] = actor_find(r, t->v[2]);
	h->path[1] = actor_find(r, t->v[3]);
	h->view[0] = h->view[1] = -1;
}

struct mp_host *alua_host_find(struct runner *r, const char *name)
{
	for (int i = 0; i < r->alua.nhosts; i++)
		if (strcmp(r->alua.hosts[i].name, name) == 0)
			return &r->alua.hosts[i];
	return NULL;
}

/* -------------------------------------------------- multipath hosts */

/* A's login is answered but the runner has not taken it in yet (its
 * session count, what its new nexus is owed): a command sent now would
 * be stamped with the old session and its answer not judged (explore
 * seed 9800051262: a retry through B at the instant of B's login, told
 * the ASYMMETRIC ACCESS STATE CHANGED its rtpg was then called owed). */
static bool login_pending(struct runner *r, const struct actor *a)
{
	struct pend *p;

	TAILQ_FOREACH (p, &r->pends, link)
		if (p->a == a && p->kind == PK_LOGIN && !p->done)
			return true;
	return false;
}

/* The path to use: optimized, then non-optimized, then unknown; a path
 * that lost its connection or is not logged in is not used. */
static int mp_choose(struct runner *r, const struct mp_host *h, bool *wait)
{
	static const int rank[] = {SCSI_ALUA_OPTIMIZED, SCSI_ALUA_NON_OPTIMIZED,
				   -1, SCSI_ALUA_TRANSITIONING};

	*wait = false;
	for (size_t k = 0; k < sizeof(rank) / sizeof(rank[0]); k++)
		for (int i = 0; i < 2; i++)
			if (!h->failed[i] && h->view[i] == rank[k] &&
			    ini_state(h->path[i]->ini) == INI_S_FFP &&
			    !login_pending(r, h->path[i])) {
				*wait = rank[k] == SCSI_ALUA_TRANSITIONING;
				return i;
			}
	return -1;
}

static void mp_send(struct mp_cmd *c, int path, const char *text)
{
	struct runner *r = c->r;
	const char *lun = strstr(c->text, "lun=");
	char line[600];
	struct toks t;
	struct pend *p;

	/* REPORT TARGET PORT GROUPS goes to the command's LUN */
	if (!strcmp(text, "rtpg") && lun != NULL)
		snprintf(line, sizeof(line), "%s rtpg lun=%lu & expect any",
			 c->h->path[path]->name, strtoul(lun + 4, NULL, 0));
	else
		snprintf(line, sizeof(line), "%s %s & expect any",
			 c->h->path[path]->name, text);
	tokenize(line, &t);
	SIM_TRACE(r->sim, "mpath %s: %s through %s (attempt %d)", c->h->name,
		  text, c->h->path[path]->name, c->attempts);
	actor_verb(r, c->h->path[path], &t);
	p = TAILQ_LAST(&r->pends, pend_list);
	if (p != NULL && !p->done && p->mp == NULL)
		p->mp = c;
	else if (p == NULL || p->mp == NULL)
		c->done = true; /* not issued (no session): give up */
}

static void mp_try(struct mp_cmd *c)
{
	bool wait;
	int path = mp_choose(c->r, c->h, &wait);

	if (path < 0 || ++c->attempts > MP_ATTEMPTS) {
		SIM_TRACE(c->r->sim,
			  "mpath %s: no usable path; the command "
			  "fails",
			  c->h->name);
		c->done = true;
		return;
	}
	if (wait && !sim_ev_pending(&c->ev)) {
		sim_ev_at(c->r->sim, &c->ev,
			  c->r->sim->now_ns + MP_TRANSITION_WAIT_NS);
		return;
	}
	mp_send(c, path, c->text);
}

static void mp_retry_fire(struct sim_ev *ev)
{
	struct mp_cmd *c = SIM_CONTAINER_OF(ev, struct mp_cmd, ev);
	int path;
	bool wait;

	path = mp_choose(c->r, c->h, &wait);
	if (path < 0) {
		c->done = true;
		return;
	}
	/* after the wait: ask for the states again */
	mp_send(c, path, "rtpg");
}

static int mp_path_of(const struct mp_cmd *c, const struct pend *p)
{
	return c->h->path[0] == p->a ? 0 : 1;
}

/* One attempt answered: done, or learn and try again. */
void mp_after(struct mp_cmd *c, struct pend *p, struct ini_op *op)
{
	int sk, asc, ascq, k = mp_path_of(c, p);

	if (c->done)
		return;
	if (p->kind == PK_RTPG) {
		/* rtpg_done() updated the view: the I/O again */
		mp_try(c);
		return;
	}
	if (op->outcome == INI_DROPPED || op->outcome == INI_NOT_SENT ||
	    op->outcome == INI_REJECTED) {
		c->h->failed[k] = true; /* dm-multipath fails the path */
		mp_try(c);
		return;
	}
	sense_parse(op, &sk, &asc, &ascq);
	if (op->outcome == INI_DONE && op->response == 0 &&
	    op->status == SCSI_STATUS_CHECK_CONDITION &&
	    (sk == SK_UNIT_ATTENTION || (sk == SK_NOT_READY && asc == 0x04 &&
					 (ascq == 0x0a || ascq == 0x0b ||
					  ascq == 0x0c || ascq == 0x12)))) {
		/* scsi_dh_alua: re-read the states, then retry */
		if (sk == SK_NOT_READY)
			c->h->view[k] = ascq == 0x0a   ? SCSI_ALUA_TRANSITIONING
					: ascq == 0x0b ? SCSI_ALUA_STANDBY
					: ascq == 0x0c ? SCSI_ALUA_UNAVAILABLE
						       : SCSI_ALUA_OFFLINE;
		if (++c->attempts > MP_ATTEMPTS) {
			c->done = true;
			return;
		}
		mp_send(c, k, "rtpg");
		return;
	}
	c->done = true; /* an answer the host passes up */
}

static bool mp_done_pred(void *arg)
{
	const struct mp_cmd *c = arg;

	return c->done;
}

void alua_host_verb(struct runner *r, struct mp_host *h, struct toks *t)
{
	struct mp_cmd *c;
	size_t n = 0;
	const char *verb = t->n > 1 ? t->v[1] : "";

	if (!target_start(r))
		return;
	if (strcmp(verb, "read") && strcmp(verb, "write") &&
	    strcmp(verb, "sync")) {
		syntaxf(r, "HOST read|write|sync ... (a multipath host)");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		abort();
	c->r = r;
	c->h = h;
	c->line = r->line;
	sim_ev_init(&c->ev, mp_retry_fire);
	for (int i = 1; i < t->n; i++) {
		if (!strcmp(t->v[i], "&")) {
			c->async = true;
			continue;
		}
		if (!strcmp(t->v[i], "expect"))
			break; /* the oracles judge every attempt */
		if (!strncmp(t->v[i], "as=", 3))
			continue;
		n += (size_t)snprintf(c->text + n, sizeof(c->text) - n, "%s%s",
				      n ? " " : "", t->v[i]);
	}
	TAILQ_INSERT_TAIL(&r->alua.cmds, c, link);
	mp_try(c);
	if (!c->async && !c->done &&
	    !sim_run_until(r->sim, r->sim->now_ns + SYNC_TIMEOUT_NS,
			   mp_done_pred, c) &&
	    !r->failed)
		failf(r, c->line, "%s %s: no outcome within %llus (seed %llu)",
		      h->name, verb,
		      (unsigned long long)(SYNC_TIMEOUT_NS / SIM_NS_PER_S),
		      (unsigned long long)r->seed);
}
void alua_free(struct runner *r)
{
	struct mp_cmd *c;

	if (r->alua.cmds.tqh_first == NULL && r->alua.cmds.tqh_last == NULL)
		return; /* never initialised */
	while ((c = TAILQ_FIRST(&r->alua.cmds)) != NULL) {
		TAILQ_REMOVE(&r->alua.cmds, c, link);
		if (sim_ev_pending(&c->ev))
			sim_ev_cancel(r->sim, &c->ev);
		free(c);
	}
}
