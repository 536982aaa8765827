/*
 * scenario.c — play .scn scenarios (grammar in docs/scenarios.md), with
 * the oracles of scenario.h.  This file is the runner: the line loop, the
 * target's life (start, crash, restart) and waiting for answers; the
 * other files are listed in scenario_int.h (the `target` lines that
 * reconfigure the running target are scenario_target.c).
 *
 * Line grammar:  [+DURATION] [ACTOR] VERB [ARGS...] [&] [expect EXP...]
 *
 * Lines run in order at the current virtual time.  An action without `&`
 * waits (running the world) until its answer arrives; with `&` it runs in
 * the background and its expectation is checked whenever the answer
 * comes.  `+DURATION` first lets that much virtual time pass.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "iscsi/iscsi.h"
#include "model.h"
#include "real_net.h"
#include "scenario_int.h"
#include "scsi/scsi.h"
#include "ut_assert.h"

void failf(struct runner *r, int line, const char *fmt, ...)
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

void syntaxf(struct runner *r, const char *fmt, ...)
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

/* -------------------------------------------------- target control */

bool against_skip(struct runner *r, const char *what)
{
	if (!r->against && !r->o.skip_sim_lines)
		return false;
	r->res->skipped++;
	if (!r->o.quiet)
		fprintf(r->o.out ? r->o.out : stdout,
			"SKIP %s:%d: %s: needs the simulated %s, not played "
			"against a real target\n",
			r->name, r->line, what,
			strncmp(what, "disk", 4) == 0	  ? "disk"
			: strncmp(what, "target", 6) == 0 ? "target"
							  : "network");
	SIM_TRACE(r->sim, "line %d: SKIP %s (real target)", r->line, what);
	return true;
}

/* A line of the target's configuration (param, IncomingUser, ...): a real
 * target has its own, set by whoever started it (against-test.sh sets
 * tgt's from these lines).  In the simulator (--compare) it is played. */
bool against_config(struct runner *r, const char *what)
{
	if (!r->against)
		return false;
	if (!r->o.quiet)
		fprintf(r->o.out ? r->o.out : stdout,
			"NOTE %s:%d: %s: the real target's own configuration "
			"applies\n",
			r->name, r->line, what);
	return true;
}

/*
 * The target's parameters when its configuration sets none: the table of
 * docs/configuration.md ("Default" column), written here again, not taken
 * from the target's ut_iscsi_params_default (a default changed there
 * would otherwise change the simulator's model with it: mutant 509).
 */
static void documented_params(struct ut_iscsi_params *p)
{
	memset(p, 0, sizeof(*p));
	p->header_digest[0] = UT_DIGEST_NONE;
	p->header_digest[1] = UT_DIGEST_CRC32C;
	p->header_digest_count = 2;
	p->data_digest[0] = UT_DIGEST_NONE;
	p->data_digest[1] = UT_DIGEST_CRC32C;
	p->data_digest_count = 2;
	p->initial_r2t = false;
	p->immediate_data = true;
	p->max_recv_data_segment_length = 262144;
	p->max_xmit_data_segment_length = 262144;
	p->max_burst_length = 1048576;
	p->first_burst_length = 262144;
	p->max_outstanding_r2t = 32;
	p->default_time2wait = 2;
	p->default_time2retain = 20;
	p->queued_commands = 128;
	p->max_sessions = 0;
	p->nop_in_interval_s = 30;
	p->nop_in_timeout_s = 30;
	p->rsp_timeout_s = 90;
	p->session_buffer_limit = 268435456;
}

static void lun_params_defaults(struct runner *r)
{
	documented_params(&r->params);
	r->params.nop_in_interval_s = 0; /* scenarios opt in */
}

/*
 * The defaults oracle: a configuration that sets no parameter (what
 * ut_config_init gives a daemon before its file's keys) has the
 * documented ones.  Checked at every start, before the scenario's own
 * `param` lines replace them (round of blind19).
 */
static int params_defaults_check(struct runner *r,
				 const struct ut_iscsi_params *got)
{
	struct ut_iscsi_params want;

	documented_params(&want);
	if (ut_iscsi_params_equal(got, &want))
		return 0;
	failf(r, r->line,
	      "configuration defaults: a configuration without parameters "
	      "gives FirstBurstLength=%u MaxBurstLength=%u "
	      "MaxRecvDataSegmentLength=%u/%u MaxOutstandingR2T=%u "
	      "DefaultTime2Wait=%u DefaultTime2Retain=%u QueuedCommands=%u "
	      "InitialR2T=%d ImmediateData=%d NopIn %u/%u RspTimeout=%u "
	      "SessionBufferLimit=%llu; docs/configuration.md documents "
	      "%u %u %u/%u %u %u %u %u %d %d %u/%u %u %llu",
	      got->first_burst_length, got->max_burst_length,
	      got->max_recv_data_segment_length,
	      got->max_xmit_data_segment_length, got->max_outstanding_r2t,
	      got->default_time2wait, got->default_time2retain,
	      got->queued_commands, got->initial_r2t, got->immediate_data,
	      got->nop_in_interval_s, got->nop_in_timeout_s, got->rsp_timeout_s,
	      (unsigned long long)got->session_buffer_limit,
	      want.first_burst_length, want.max_burst_length,
	      want.max_recv_data_segment_length,
	      want.max_xmit_data_segment_length, want.max_outstanding_r2t,
	      want.default_time2wait, want.default_time2retain,
	      want.queued_commands, want.initial_r2t, want.immediate_data,
	      want.nop_in_interval_s, want.nop_in_timeout_s, want.rsp_timeout_s,
	      (unsigned long long)want.session_buffer_limit);
	return -1;
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

/* `target add IQN` lines: copies of the first target under other names
 * (long SendTargets answers). */
static int cfg_extra_targets(struct runner *r, struct ut_config *c)
{
	for (int i = 0; i < r->nextra; i++) {
		struct ut_target_cfg *t =
			realloc(c->targets, (c->target_count + 1) * sizeof(*t));

		if (t == NULL)
			return -1;
		c->targets = t;
		if (ut_target_cfg_copy(&t[c->target_count], &t[0]) != 0)
			return -1;
		snprintf(t[c->target_count].iqn, sizeof(t->iqn), "%s",
			 r->extra_iqn[i]);
		if (r->extra_bare[i]) {
			free(t[c->target_count].luns);
			t[c->target_count].luns = NULL;
			t[c->target_count].lun_count = 0;
		}
		c->target_count++;
	}
	return 0;
}

/*
 * A mem or null LU goes to the target as the daemon's `--lun
 * mem:SIZE,blocksize=N,ro,thin,removable` does (config/lunspec.c
 * ut_lun_spec_parse), its size as the scenario wrote it; the model has
 * the simulator's own reading of it (sim_size_parse).  A spec the
 * target refuses fails the run (round of blind19).
 */
static int lun_spec_dev(struct runner *r, const struct lun_st *l,
			struct ut_dev_cfg *d)
{
	char spec[128];
	const char *err = NULL;

	snprintf(spec, sizeof(spec), "%s:%s,blocksize=%u%s%s%s",
		 l->kind == BS_MEM ? "mem" : "null", l->size_str, l->bs,
		 l->ro ? ",ro" : "", l->thin ? ",thin" : "",
		 l->removable ? ",removable" : "");
	if (ut_lun_spec_parse(spec, d, &err) == 0)
		return 0;
	failf(r, r->line, "the target refuses --lun %s: %s", spec,
	      err ? err : "?");
	return -1;
}

static int build_cfg(struct runner *r)
{
	struct ut_dev_cfg devs[MAX_LUNS];
	char *portals[1] = {r->portal};
	struct ut_config *c = &r->cfg;

	ut_config_init(c);
	if (params_defaults_check(r, &c->params) != 0)
		return -1;
	c->params = r->params;
	if (ut_config_set_portals(c, portals, 1) != 0 ||
	    ut_config_set_target(c, r->iqn) != 0)
		return -1;
	for (int i = 0; i < r->nluns; i++) {
		struct ut_dev_cfg *d = &devs[i];

		memset(d, 0, sizeof(*d));
		d->kind = (enum bs_kind)r->luns[i].kind;
		if ((d->kind == BS_MEM || d->kind == BS_NULL) &&
		    lun_spec_dev(r, &r->luns[i], d) != 0)
			return -1;
		snprintf(d->name, sizeof(d->name), "%s", r->luns[i].disk);
		if (d->kind != BS_MEM && d->kind != BS_NULL) {
			d->size_bytes = r->luns[i].size_bytes;
			d->block_size = r->luns[i].bs;
			d->read_only = r->luns[i].ro;
			d->thin = r->luns[i].thin;
			d->removable = r->luns[i].removable;
		}
		d->write_through = r->luns[i].wc_off_cfg;
		d->sanitize_bytes_per_s = r->luns[i].sanitize_rate;
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
	if (acl_cfg(r, c) != 0 || cfg_extra_targets(r, c) != 0 ||
	    cfg_users(r, c) != 0 || alua_cfg(r, c) != 0)
		return -1;
	r->cfg_built = true;
	return 0;
}

static bool server_boot(struct runner *r)
{
	int err = 0;

	r->boots++;
	if (r->config_file != CONFIG_FILE_OFF) {
		struct ut_config from_text;

		if (conffile_boot_config(r, &r->cfg, &from_text, "boot") != 0)
			return false;
		r->srv = iscsi_server_new(&r->sim->env, &from_text, &err);
		ut_config_free(&from_text);
	} else {
		r->srv = iscsi_server_new(&r->sim->env, &r->cfg, &err);
	}
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

bool target_start(struct runner *r)
{
	if (r->started)
		return true;
	r->started = true;
	if (r->nluns == 0) {
		struct lun_st *l = &r->luns[r->nluns++];

		memset(l, 0, sizeof(*l));
		snprintf(l->disk, sizeof(l->disk), "disk0");
		snprintf(l->size_str, sizeof(l->size_str), "16M");
		l->size_bytes = 16ull << 20;
		l->bs = 512;
		l->holder = -1;
	}
	for (int i = 0; i < r->nluns; i++) {
		struct lun_st *l = &r->luns[i];

		/* The simulated disk keeps its volatile cache whatever the
		 * LU's write-cache setting: with WCE=0 it is the target's
		 * duty to make every write durable before GOOD (FUA, SBC-3
		 * §4.15), and a disk without a cache would hide a target that
		 * forgets it. */
		if (l->kind == BS_SIM) {
			struct sim_disk *d = sim_disk_get(r->sim, l->disk,
							  l->size_bytes, l->bs);

			/* `native`: the disk does WRITE SAME and COMPARE
			 * AND WRITE itself (an RBD image's caps) */
			if (l->native)
				sim_disk_cfg(d)->native = true;
		}
		l->m = model_new(l->size_bytes / l->bs, l->bs);
		model_set_write_through(l->m, l->wc_off);
		/* A null LUN reads zeros whatever was written. */
		model_set_discard(l->m, l->kind == BS_NULL);
	}
	ua_mode_reset(r);
	if (r->against) {
		/* The real target is up already, with its own LUNs: they
		 * must match the lun lines (and read as zeros) for the data
		 * model to hold. */
		SIM_TRACE(r->sim, "real target %s at %s", r->iqn, r->portal);
		return true;
	}
	if (build_cfg(r) != 0) {
		failf(r, r->line, "cannot build the target configuration");
		return false;
	}
	SIM_TRACE(r->sim, "target %s starts on %s with %d LUN(s)", r->iqn,
		  r->portal, r->nluns);
	return server_boot(r);
}

/* The LUs as a new server finds them, after a crash (power_lost: the
 * disks' caches are gone too) or a shutdown (they keep them).  They
 * come back with their configured mode parameters: a MODE SELECT's WCE
 * is not saved (before ua_crash, which reads them).  A RAM disk loses
 * everything, durable or not, with the process. */
static void luns_after_the_target(struct runner *r, bool power_lost)
{
	for (int i = 0; i < r->nluns; i++)
		cmds_lun_power_on(&r->luns[i]);
	ua_crash(r);
	land_crash(r);
	for (int i = 0; i < r->nluns; i++) {
		if (r->luns[i].kind == BS_MEM)
			model_wipe(r->luns[i].m);
		else if (power_lost)
			model_crash(r->luns[i].m);
		cmds_lun_reset_state(&r->luns[i]);
		resv_reset(&r->luns[i]);
		med_power_on(r, &r->luns[i]);
		/* A PR OUT in flight may or may not have been applied. */
		if (r->luns[i].pr_inflight > 0)
			r->luns[i].pr.unknown = true;
		prm_crash(&r->luns[i].pr);
		pr_gen_power_on(&r->luns[i]);
		r->luns[i].pr_epoch++;
	}
}

void target_crash(struct runner *r)
{
	r->crashes++;
	if (r->srv == NULL)
		return;
	SIM_TRACE(r->sim, "fault TARGET CRASH (power loss)");
	r->sim->target_up = false;
	iscsi_server_free(r->srv);
	r->srv = NULL;
	r->down = true;
	sim_net_target_crashed(r->sim);
	sim_disk_crash_all(r->sim);
	sim_posts_drop(r->sim);
	/* The server may leave timers armed only if it leaked them. */
	leak_check(r, "a crash");
	luns_after_the_target(r, true);
	r->res->fault_count[SCN_F_CRASH]++;
}

/*
 * `target shutdown [grace=3s]`: what SIGTERM does to the daemon (main.c
 * on_signal): iscsi_server_shutdown() stops accepting, asks every
 * session to log out (Async Message) and closes the connections left
 * after the grace time; when none is left the daemon frees the server
 * (iscsi_server_free(), which abandons the sessions whose commands are
 * still at a backstore: srv_force_free_session) and exits.  Judged: the
 * shutdown completes within the grace time (plus the posts and the
 * network's delivery of the closes: 1 s), so no accepted command is left
 * without its answer or its connection; the free's own checks (every
 * task, PDU and buffer back, the buffer budget at zero) and the
 * simulator's leak check; and, unlike a power loss, nothing written is
 * lost: the disks keep their caches (a request still in flight lands
 * whole or not at all), so the data model goes on unchanged; a RAM disk
 * is freed with the process.  The rest is as after a crash: the PR
 * state without APTPL, SPC-2 reservations and unit attentions are gone
 * with the server.
 */
static void shutdown_done(void *arg)
{
	*(bool *)arg = true;
}

static bool shutdown_pred(void *arg)
{
	return *(bool *)arg;
}

void target_shutdown(struct runner *r, uint64_t grace_ns)
{
	uint32_t grace_ms = (uint32_t)(grace_ns / 1000000u);
	bool done = false;

	if (r->srv == NULL)
		return;
	SIM_TRACE(r->sim, "target shutdown (grace %u ms)", grace_ms);
	/* the target goes, as at a crash: what it closes now is no
	 * timeout of its own (scenario_wire.c) */
	r->crashes++;
	/* the Logout requests give the grace in seconds, at least 1 */
	for (int i = 0; i < r->nactors; i++)
		ini_expect_logout_within(
			r->actors[i].ini,
			(uint16_t)(grace_ms / 1000 ? grace_ms / 1000 : 1));
	iscsi_server_shutdown(r->srv, grace_ms, shutdown_done, &done);
	if (!sim_run_until(r->sim, r->sim->now_ns + grace_ns + 1000000000ull,
			   shutdown_pred, &done)) {
		failf(r, r->line,
		      "shutdown: the target still had connections %u ms "
		      "after a shutdown with %u ms of grace: it must close "
		      "every connection once the grace time is over "
		      "(seed %llu)",
		      grace_ms + 1000, grace_ms, (unsigned long long)r->seed);
		return;
	}
	r->sim->target_up = false;
	r->sim->graceful_stop = true;
	r->shutdown_freed_ns = r->sim->now_ns;
	iscsi_server_free(r->srv);
	r->sim->graceful_stop = false;
	r->srv = NULL;
	r->down = true;
	sim_net_target_crashed(r->sim);
	sim_posts_drop(r->sim);
	leak_check(r, "a shutdown");
	/* The answers and closes the target sent are still on their way:
	 * the initiators take them (judged by the old server's state)
	 * before the LUs' state is that of a new server. */
	run_quiet(r);
	luns_after_the_target(r, false);
}

void target_restart(struct runner *r)
{
	if (!r->down)
		return;
	SIM_TRACE(r->sim, "target restarts");
	r->sim->target_up = true;
	r->down = false;
	server_boot(r);
	alua_restarted(r);
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

void run_quiet(struct runner *r)
{
	sim_run_until(r->sim, r->sim->now_ns + QUIET_LIMIT_NS, quiet_pred, r);
	cold_check(r);
	/* `expect none`: nothing may have answered by now. */
	struct pend *p;

	TAILQ_FOREACH (p, &r->pends, link)
		if (p->e.outcome == XO_NONE && !p->done)
			p->checked_none = true;
}

void wait_pend(struct runner *r, struct pend *p, uint64_t timeout)
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
	if (strcmp(t.v[0], "portal") == 0) {
		if (!against_skip(r, "portal"))
			alua_decl_portal(r, &t);
	} else if (strcmp(t.v[0], "tpg") == 0) {
		if (!against_skip(r, "target port group"))
			alua_decl_tpg(r, &t);
	} else if (strcmp(t.v[0], "mpath") == 0) {
		alua_decl_host(r, &t);
	} else if (strcmp(t.v[0], "target") == 0 && t.n >= 2) {
		target_verb(r, &t);
	} else if (strcmp(t.v[0], "lun") == 0) {
		decl_lun(r, &t);
	} else if (strcmp(t.v[0], "reactors") == 0) {
		decl_reactors(r, &t);
	} else if (strcmp(t.v[0], "zero-copy") == 0) {
		if (!against_config(r, "zero-copy"))
			decl_zero_copy(r, &t);
	} else if (strcmp(t.v[0], "config-file") == 0) {
		if (!against_config(r, "config-file"))
			decl_config_file(r, &t);
	} else if (strcmp(t.v[0], "send-file") == 0) {
		if (!against_config(r, "send-file"))
			decl_send_file(r, &t);
	} else if (strcmp(t.v[0], "param") == 0) {
		if (against_config(r, "param"))
			return;
		if (r->started)
			syntaxf(r, "param after the target started");
		else
			decl_param(r, &t);
	} else if (strcmp(t.v[0], "initiator") == 0) {
		decl_initiator(r, &t);
	} else if (strcmp(t.v[0], "group") == 0) {
		if (!against_config(r, "group"))
			decl_group(r, &t);
	} else if (strcmp(t.v[0], "allowed_portal") == 0) {
		if (!against_config(r, "allowed_portal"))
			decl_allowed_portal(r, &t);
	} else if (strcmp(t.v[0], "IncomingUser") == 0 ||
		   strcmp(t.v[0], "OutgoingUser") == 0 ||
		   (strcmp(t.v[0], "discovery") == 0 && t.n >= 2 &&
		    (strcmp(t.v[1], "IncomingUser") == 0 ||
		     strcmp(t.v[1], "OutgoingUser") == 0))) {
		if (!against_config(r, t.v[0]))
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

		if (against_skip(r, "net"))
			return;
		r->res->fault_count[SCN_F_NET]++;
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
	} else if (alua_host_find(r, t.v[0]) != NULL) {
		alua_host_verb(r, alua_host_find(r, t.v[0]), &t);
	} else {
		for (int i = 0; i < r->nluns; i++)
			if (strcmp(r->luns[i].disk, t.v[0]) == 0) {
				if (r->luns[i].kind != BS_SIM)
					syntaxf(r,
						"%s is not a simulated disk "
						"(backstore=mem or null): no "
						"disk faults",
						t.v[0]);
				else if (!against_skip(r, "disk fault"))
					disk_verb(r, &r->luns[i], &t);
				return;
			}
		syntaxf(r, "unknown actor or keyword '%s'", t.v[0]);
	}
}

static void runner_free(struct runner *r)
{
	struct pend *p;

	for (int i = 0; i < r->nactors; i++)
		ini_free(r->actors[i].ini);
	while ((p = TAILQ_FIRST(&r->pends)) != NULL) {
		TAILQ_REMOVE(&r->pends, p, link);
		free(p->blk_re);
		free(p);
	}
	for (int i = 0; i < r->nluns; i++) {
		model_free(r->luns[i].m);
		atomic_forget(&r->luns[i]);
		free(r->luns[i].rsoc);
	}
	alua_free(r);
	if (r->cfg_built)
		ut_config_free(&r->cfg);
}

/* Drop every scheduled event (heal events own memory: free them). */
static void drain_events(struct sim *sim)
{
	struct sim_ev *ev;

	while ((ev = sim_ev_next(sim)) != NULL) {
		sim_ev_cancel(sim, ev);
		if (ev->fn == heal_fire)
			free(SIM_CONTAINER_OF(ev, struct heal_ev, ev));
	}
}

/* A failed assertion (ut_assert.h) in the target, or in the simulator's
 * checks of how the target uses it, fails the seed like any oracle: the
 * hook records the assertion's text as the run's failure and jumps back to
 * play(), which ends the run as after any other failure.  The target's
 * state is left as it was, not freed (freeing it would trip further
 * assertions).  Same seed, same assertion at the same virtual instant,
 * same trace hash. */
static struct runner *assert_runner;
static jmp_buf *assert_jmp;

static void scn_assert_hook(const struct ut_assert_info *a)
{
	struct runner *r = assert_runner;

	if (r == NULL || assert_jmp == NULL)
		return; /* not inside a run: the assertion aborts */
	failf(r, r->line, "%sassertion failed in %s (%s:%u): %s (seed %llu)",
	      a->slow ? "slow " : "", a->func, a->file, a->line, a->expr,
	      (unsigned long long)r->seed);
	r->res->asserted = true;
	longjmp(*assert_jmp, 1);
}

/* Play the lines, the end-of-run oracles and the server's release. */
static void play_lines(struct runner *r, char *copy)
{
	char *line = copy;
	int lineno = 0;

	while (line != NULL && !r->failed) {
		char *nl = strchr(line, '\n');

		if (nl != NULL)
			*nl = '\0';
		r->line = ++lineno;
		do_line(r, line);
		line = nl ? nl + 1 : NULL;
	}
	if (!r->failed)
		end_of_run(r);
	/* After a failure the target may be in any state: freeing it could
	 * trip its own assertions and hide the oracle's report (a dropped
	 * command leaves its session busy).  Leave it; the process ends. */
	if (r->srv != NULL && !r->failed) {
		iscsi_server_free(r->srv);
		r->srv = NULL;
		leak_check(r, "iscsi_server_free");
	}
}

/* play_lines() with failed assertions caught. */
static void play(struct runner *r, char *copy)
{
	jmp_buf jb;

	assert_runner = r;
	assert_jmp = &jb;
	ut_assert_set_hook(scn_assert_hook);
	if (setjmp(jb) == 0)
		play_lines(r, copy);
	else
		ut_assert_unwound();
	ut_assert_set_hook(NULL);
	assert_jmp = NULL;
	assert_runner = NULL;
}

int scn_run(const char *name, const char *text, const struct scn_opts *o,
	    struct scn_result *res)
{
	struct runner r;
	struct chart *chart = NULL;
	char *copy = strdup(text);

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.o = *o;
	r.res = res;
	TAILQ_INIT(&r.pends);
	TAILQ_INIT(&r.alua.cmds);
	snprintf(r.iqn, sizeof(r.iqn), DEFAULT_IQN);
	snprintf(r.portal, sizeof(r.portal), DEFAULT_PORTAL);
	lun_params_defaults(&r);
	r.adding_li = -1;
	/* The seed comes first: a `seed N` line unless --seed was given. */
	r.seed = o->seed;
	/* the null disks' references are counted per process */
	r.null_refs_base = bs_null_refs_out();
	r.holds_base = scsi_range_holds_out();
	if (!o->seed_given) {
		const char *s = strstr(text, "\nseed ");

		if (strncmp(text, "seed ", 5) == 0)
			s = text - 1;
		if (s != NULL)
			r.seed = strtoull(s + 6, NULL, 0);
	}
	res->seed = r.seed;
	r.sim = sim_new(r.seed);
	r.sim->land = land_check;
	r.sim->land_ctx = &r;
	if (o->against_portal != NULL) {
		r.against = true;
		snprintf(r.portal, sizeof(r.portal), "%s", o->against_portal);
		snprintf(r.iqn, sizeof(r.iqn), "%s", o->against_iqn);
		real_net_attach(r.sim);
	}
	r.sim->trace = o->trace;
	r.sim->trace_out = o->out ? o->out : stdout;
	r.sim->env.log_level = o->trace	       ? UT_LOG_DEBUG
			       : o->chart_path ? UT_LOG_INFO
					       : UT_LOG_ERROR;
	if (o->chart_path != NULL)
		chart = chart_new(r.sim, name, text);
	play(&r, copy);
	if (res->differences > 0 && !r.failed) {
		r.failed = true;
		snprintf(res->msg, sizeof(res->msg),
			 "%s: %u answers differ from their expectations", name,
			 res->differences);
	}
	runner_free(&r);
	r.sim->land = NULL;
	free(r.lb);
	free(r.dw);
	drain_events(r.sim);
	real_net_detach(r.sim);
	res->hash = r.sim->hash;
	res->virt_ns = r.sim->now_ns;
	res->events = r.sim->ctr.events;
	res->pass = !r.failed;
	if (chart != NULL) {
		int err = chart_write(chart, res, o->chart_path);

		if (err < 0)
			fprintf(stderr, "utarget-sim: %s: %s\n", o->chart_path,
				strerror(-err));
		chart_free(chart);
	}
	sim_free(r.sim);
	free(copy);
	return r.syntax ? 2 : r.failed ? 1 : 0;
}
