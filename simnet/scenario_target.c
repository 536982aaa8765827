/*
 * scenario_target.c — the `target ...` lines of a scenario: live
 * reconfiguration as the daemon's control socket does it (target lun
 * add/remove/resize, disable/enable, session close), crash and restart,
 * `target stats`, and the target's name and extra targets before it
 * starts.
 *
 * The boundary: scenario.c owns the target's life (its configuration,
 * start, crash and restart) and the line loop; this file turns a
 * `target` line into one of those or into a control step, and keeps the
 * LUN models and the unit attention oracle in step with the change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "scsi/scsi.h"
#include "model.h"
#include "scenario_int.h"
#include "sense.h"

/* ------------------------------------------------- control steps */

/*
 * Live reconfiguration as the daemon's control socket does it: a copy of
 * the running configuration is edited and handed to
 * iscsi_server_reconfigure(); the step waits for its answer.
 *
 *   target lun add N DISK [size=16M] [block=512|4096] [ro] [thin]
 *                         [removable] [write-cache=off]
 *   target lun remove N [drain=5s]
 *   target lun resize N SIZE
 *   target disable [force] | target enable
 *   target session close ACTOR
 *
 * `expect fail` says the change must be refused.  The LUN models follow
 * (a resize grows or shrinks the model; a removed LUN keeps its disk and
 * model for a later add of the same disk), and the unit attention oracle
 * learns what each actor must now hear.
 */
struct ctl_wait {
	bool done;
	struct iscsi_reconf_result res;
};

static void ctl_done(void *arg, const struct iscsi_reconf_result *res)
{
	struct ctl_wait *w = arg;

	w->done = true;
	w->res = *res;
}

static bool ctl_done_pred(void *arg)
{
	return ((struct ctl_wait *)arg)->done;
}

/* What a control step must answer: success, a refusal (`expect fail`:
 * nothing changed), or the give-up (`expect timeout`: the change took
 * effect, but commands it waited for were still running drain + 30 s
 * after it began, reconfig.c reconf_give_up: -ETIMEDOUT then, not
 * before). */
/* CTL_SAN: applied, or refused because a SANITIZE runs on the device
 * (reconfig.c: "a SANITIZE is running; try again after it") */
enum ctl_want { CTL_OK, CTL_FAIL, CTL_TIMEOUT, CTL_SAN };

/* The give-up's bound past the drain time (reconfig.c RECONF_GIVE_UP_NS)
 * and the poll that notices it (RECONF_POLL_NS). */
#define CTL_GIVE_UP_MS 30000u
#define CTL_POLL_MS 10u

/* The give-up (`expect timeout`): answered -ETIMEDOUT with the change
 * applied, once drain + 30 s had passed and within a poll of it. */
static void ctl_timeout_check(struct runner *r, int rc,
			      const struct iscsi_reconf_result *res,
			      uint32_t drain_ms)
{
	uint64_t at = (uint64_t)drain_ms + CTL_GIVE_UP_MS;

	if (rc == -ETIMEDOUT && res->applied && res->waited_ms >= at &&
	    res->waited_ms <= at + 2 * CTL_POLL_MS)
		return;
	failf(r, r->line,
	      "control step: expected the change applied and given up on "
	      "after the drain time plus 30 s (-ETIMEDOUT after %llu ms), "
	      "got status %d%s after %llu ms: %s (seed %llu)",
	      (unsigned long long)at, rc, res->applied ? ", applied" : "",
	      (unsigned long long)res->waited_ms,
	      res->msg[0] ? res->msg : "no note", (unsigned long long)r->seed);
}

/* Apply cfg (consumed); false if it was refused or failed (a change
 * given up on, `expect timeout`, took effect: true). */
static bool ctl_apply_want(struct runner *r, struct ut_config *cfg,
			   const struct iscsi_reconf_opts *o,
			   enum ctl_want want)
{
	struct ctl_wait w = {0};
	bool want_fail = want == CTL_FAIL;
	char err[512];
	int rc;

	/* With `config-file`, a change the target should take is an edited
	 * scst.conf and a reload (`utargetctl reload`, SIGHUP): the new
	 * configuration goes to the target as text and comes back through
	 * its parser, which must build exactly it (scenario_conffile.c). */
	if (r->config_file != CONFIG_FILE_OFF && !want_fail &&
	    ut_config_validate(cfg, NULL, NULL) == 0) {
		struct ut_config from_text;

		if (conffile_boot_config(r, cfg, &from_text, "reload") != 0) {
			ut_config_free(cfg);
			return false;
		}
		ut_config_free(cfg);
		*cfg = from_text;
	}
	if (ut_config_validate(cfg, NULL, NULL) != 0) {
		rc = -EINVAL;
		snprintf(err, sizeof(err), "invalid configuration");
	} else {
		rc = iscsi_server_reconfigure(r->srv, cfg, o, ctl_done, &w, err,
					      sizeof(err));
	}
	r->ctl_running = true; /* answers now may see either capacity */
	if (rc == 0 && !sim_run_until(r->sim, r->sim->now_ns + SYNC_TIMEOUT_NS,
				      ctl_done_pred, &w)) {
		r->ctl_running = false;
		failf(r, r->line,
		      "control step: no answer within 60s (seed %llu)",
		      (unsigned long long)r->seed);
		ut_config_free(cfg);
		return false;
	}
	r->ctl_running = false;
	if (rc == 0)
		rc = w.res.status;
	SIM_TRACE(r->sim,
		  "control step: status %d, waited %llu ms, %u "
		  "aborted%s%s",
		  rc, (unsigned long long)w.res.waited_ms, w.res.aborted,
		  rc ? ": " : "", rc ? (w.res.msg[0] ? w.res.msg : err) : "");
	r->res->expectations++;
	/* A device opened off the reactor that failed (open-fail=): the
	 * change is refused with the device's own error (reconfig.c: the
	 * failure reaches the caller's callback), not another one. */
	if (r->sim->open_async && r->sim->open_async_rc != 0 &&
	    rc != r->sim->open_async_rc)
		failf(r, r->line,
		      "control step: the device's open failed with %d, but "
		      "the change answered %d%s%s (seed %llu)",
		      r->sim->open_async_rc, rc, rc ? ": " : "",
		      rc ? (w.res.msg[0] ? w.res.msg : err) : "",
		      (unsigned long long)r->seed);
	if (want == CTL_TIMEOUT)
		ctl_timeout_check(r, rc, &w.res,
				  o && o->drain_ms ? o->drain_ms : 5000u);
	else if (rc == -ETIMEDOUT && w.res.applied && !r->failed)
		failf(r, r->line,
		      "control step: given up on after %llu ms (still "
		      "waiting for commands: %s), but nothing kept them "
		      "running that long (seed %llu)",
		      (unsigned long long)w.res.waited_ms, w.res.msg,
		      (unsigned long long)r->seed);
	if (want == CTL_TIMEOUT && rc == -ETIMEDOUT && w.res.applied)
		rc = 0; /* applied: the runner follows the change */
	else if (want == CTL_SAN && rc == -EBUSY &&
		 strstr(w.res.msg[0] ? w.res.msg : err,
			"a SANITIZE is running") != NULL)
		SIM_TRACE(r->sim, "control step: refused, a SANITIZE runs");
	else if ((rc != 0) != want_fail)
		failf(r, r->line,
		      "control step: expected %s, got %s%s%s "
		      "(seed %llu)",
		      want_fail ? "a refusal" : "success",
		      rc ? "a refusal: " : "success",
		      rc ? (w.res.msg[0] ? w.res.msg : err) : "", "",
		      (unsigned long long)r->seed);
	if (rc == 0) {
		/* A restart after a crash brings this configuration up. */
		ut_config_free(&r->cfg);
		if (ut_config_copy(&r->cfg, iscsi_server_config(r->srv)))
			abort();
		alua_ctl_applied(r);
	}
	ut_config_free(cfg);
	return rc == 0;
}

static bool ctl_apply(struct runner *r, struct ut_config *cfg,
		      const struct iscsi_reconf_opts *o, bool want_fail)
{
	return ctl_apply_want(r, cfg, o, want_fail ? CTL_FAIL : CTL_OK);
}

static bool ctl_begin(struct runner *r, struct ut_config *cfg)
{
	if (!target_start(r) || r->srv == NULL) {
		if (!r->failed)
			syntaxf(r, "a control step needs a running target");
		return false;
	}
	if (ut_config_copy(cfg, iscsi_server_config(r->srv)))
		abort();
	r->ctl_started++;
	return true;
}

static bool want_fail(const struct toks *t)
{
	for (int i = 0; i + 1 < t->n; i++)
		if (strcmp(t->v[i], "expect") == 0 &&
		    strcmp(t->v[i + 1], "fail") == 0)
			return true;
	return false;
}

static enum ctl_want ctl_want(const struct toks *t)
{
	for (int i = 0; i + 1 < t->n; i++)
		if (strcmp(t->v[i], "expect") == 0 &&
		    strcmp(t->v[i + 1], "timeout") == 0)
			return CTL_TIMEOUT;
	return want_fail(t) ? CTL_FAIL : CTL_OK;
}

static struct lun_st *lun_slot(struct runner *r, uint32_t lun)
{
	for (int i = 0; i < r->nluns; i++)
		if (r->luns[i].lun == lun)
			return &r->luns[i];
	return NULL;
}

/* Every LUN of the target that stays gets REPORTED LUNS DATA HAS
 * CHANGED (the step's conditions are certain at its end only when no
 * reset raced with it: ua_step_end). */
static void ua_luns_changed(struct runner *r, uint32_t except)
{
	for (int i = 0; i < r->nluns; i++)
		if (!r->luns[i].removed && r->luns[i].lun != except)
			ua_expect(r, r->luns[i].lun, UA_LUNS_CHANGED);
}

static bool resets_quiet(struct runner *r)
{
	for (int i = 0; i < r->nluns; i++)
		if (r->luns[i].resets_inflight > 0)
			return false;
	return true;
}

/*
 * `target lun add ... open=DUR shutdown=GRACE`: the server is shut down
 * (as by SIGTERM, `target shutdown grace=GRACE`) while the device opens
 * off the reactor.  The change must not apply on a server going away:
 * an open answered before the server is freed cancels it (reconfig.c
 * reconf_resume: -ECANCELED, nothing applied); one due after is never
 * answered (the environment drops it, env.h disk_open_async).  The
 * shutdown itself is judged as every shutdown is: within its grace,
 * nothing leaked (target_shutdown).
 */
static void ctl_open_then_shutdown(struct runner *r, struct ut_config *cfg,
				   const struct toks *t)
{
	struct ctl_wait w = {0};
	uint64_t grace = 3000000000ull, due;
	char err[512];
	int rc;

	if (!parse_dur(kv(t, "shutdown"), &grace) || !r->sim->open_async) {
		ut_config_free(cfg);
		syntaxf(r, "target lun add ... open=DURATION shutdown=GRACE");
		return;
	}
	due = r->sim->now_ns + r->sim->open_async_ns;
	rc = iscsi_server_reconfigure(r->srv, cfg, NULL, ctl_done, &w, err,
				      sizeof(err));
	ut_config_free(cfg);
	r->res->expectations++;
	if (rc != 0) {
		failf(r, r->line,
		      "control step: refused at once (%d: %s), but the "
		      "device opens off the reactor (seed %llu)",
		      rc, err, (unsigned long long)r->seed);
		return;
	}
	target_shutdown(r, grace);
	if (r->failed)
		return;
	if (w.done && (w.res.status != -ECANCELED || w.res.applied))
		failf(r, r->line,
		      "control step: the device's open answered while the "
		      "server shut down, and the change answered %d%s (%s): "
		      "it must be cancelled (-ECANCELED, nothing applied) "
		      "(seed %llu)",
		      w.res.status, w.res.applied ? ", applied" : "", w.res.msg,
		      (unsigned long long)r->seed);
	else if (!w.done && due < r->shutdown_freed_ns)
		failf(r, r->line,
		      "control step: the device's open answered %llu ms "
		      "before the server was freed, but the change never "
		      "answered (seed %llu)",
		      (unsigned long long)((r->shutdown_freed_ns - due) /
					   SIM_NS_PER_MS),
		      (unsigned long long)r->seed);
	SIM_TRACE(r->sim, "control step across the shutdown: %s %d",
		  w.done ? "answered" : "never answered", w.res.status);
}

static void ctl_lun_add(struct runner *r, struct toks *t)
{
	struct ut_config cfg;
	struct ut_dev_cfg d;
	struct ut_target_cfg *tc;
	struct lun_st *l;
	uint32_t lun;
	uint64_t resets = r->resets_done;
	bool fail = want_fail(t);
	int orphans;

	if (t->n < 5) {
		syntaxf(r,
			"target lun add N DISK [size=] [block=] [ro] [thin]");
		return;
	}
	lun = (uint32_t)strtoul(t->v[3], NULL, 0);
	l = lun_slot(r, lun);
	if (l && !l->removed && !fail) {
		syntaxf(r, "lun %u exists (expect fail to try anyway)", lun);
		return;
	}
	if (!l && r->nluns == MAX_LUNS) {
		syntaxf(r, "at most %d LUNs", MAX_LUNS);
		return;
	}
	if (!ctl_begin(r, &cfg))
		return;
	memset(&d, 0, sizeof(d));
	d.kind = BS_SIM;
	snprintf(d.name, sizeof(d.name), "%s", t->v[4]);
	d.size_bytes = 16ull << 20;
	if (kv(t, "size") && sim_size_parse(kv(t, "size"), &d.size_bytes)) {
		syntaxf(r, "bad size '%s'", kv(t, "size"));
		return;
	}
	d.block_size = (uint32_t)u64_or(t, "block", 512, r);
	d.read_only = has(t, "ro");
	d.thin = has(t, "thin");
	d.removable = has(t, "removable");
	d.write_through = kv(t, "write-cache") &&
			  strcmp(kv(t, "write-cache"), "off") == 0;
	memcpy(d.t10_vendor_id, "UTARGET", 8);
	memcpy(d.prod_id, "utarget sim", 12);
	snprintf(d.t10_dev_id, sizeof(d.t10_dev_id), "%s", d.name);
	ut_dev_cfg_finish(&d);
	tc = ut_config_find_target(&cfg, r->iqn);
	if (!ut_config_find_dev(&cfg, d.name) && !ut_config_add_dev(&cfg, &d)) {
		ut_config_free(&cfg);
		syntaxf(r, "cannot add device %s", d.name);
		return;
	}
	if (!tc || !ut_lun_add(tc, NULL, lun, d.name, d.read_only)) {
		/* Refused by the model already (an existing LUN): a step
		 * the target never sees. */
		ut_config_free(&cfg);
		r->res->expectations++;
		if (!fail)
			failf(r, r->line, "control step: cannot add lun %u",
			      lun);
		return;
	}
	ua_step_begin(r);
	ua_luns_changed(r, lun);
	/* Sessions gain the LUN: a new nexus each, POWER ON, RESET. */
	r->adding_lun = lun;
	r->adding_li = l ? (int)(l - r->luns) : r->nluns;
	ua_expect_index(r, r->adding_li, UA_POWER_ON);
	ua_lun_adding(r, r->adding_li, lun);
	/* a MODE SELECT sent while the LUN had no LU may reach the new LU
	 * before the step ends, answered meanwhile (no longer counted) */
	orphans = r->ms_orphans;
	r->lun_map_steps++; /* a LUN may now name another LU */
	/* open=DUR: the device opens off the reactor, as a remote one
	 * does (env.h disk_open_async), answering DUR later; open-fail=
	 * makes that answer an error: the change is then refused with
	 * nothing changed (reconfig.c reconf_opened, reconf_resume) */
	if (kv(t, "open") || kv(t, "open-fail")) {
		const char *f = kv(t, "open-fail");
		uint64_t dur = 0;

		if (kv(t, "open") && !parse_dur(kv(t, "open"), &dur)) {
			ut_config_free(&cfg);
			syntaxf(r, "target lun add ... open=DURATION");
			return;
		}
		r->sim->open_async = true;
		r->sim->open_async_ns = dur;
		r->sim->open_async_rc = !f			   ? 0
					: strcmp(f, "eio") == 0	   ? -EIO
					: strcmp(f, "enoent") == 0 ? -ENOENT
					: strcmp(f, "etimedout") == 0
						? -ETIMEDOUT
						: 1;
		if (r->sim->open_async_rc == 1) {
			r->sim->open_async = false;
			ut_config_free(&cfg);
			syntaxf(r, "open-fail=eio|enoent|etimedout");
			return;
		}
	}
	if (kv(t, "shutdown")) {
		ctl_open_then_shutdown(r, &cfg, t);
		r->sim->open_async = false;
		ua_step_failed(r);
		if (!l || l->removed)
			ua_lun_add_failed(r, r->adding_li);
		r->adding_li = -1;
		return;
	}
	bool applied = ctl_apply(r, &cfg, NULL, fail);

	r->sim->open_async = false;
	if (!applied) {
		ua_step_failed(r);
		if (!l || l->removed)
			ua_lun_add_failed(r, r->adding_li);
		r->adding_li = -1;
		return;
	}
	r->adding_li = -1;
	if (!l) {
		l = &r->luns[r->nluns++];
		memset(l, 0, sizeof(*l));
		l->holder = -1;
	}
	if (!l->m || strcmp(l->disk, d.name) != 0) {
		/* the disk (made here if new) keeps its volatile cache: see
		 * the runner's setup in scenario.c */
		(void)sim_disk_get(r->sim, d.name, d.size_bytes, d.block_size);
		model_free(l->m);
		atomic_forget(l);
		snprintf(l->disk, sizeof(l->disk), "%s", d.name);
		l->bs = d.block_size;
		l->m = model_new(d.size_bytes / d.block_size, d.block_size);
		model_set_write_through(l->m, d.write_through);
	}
	l->lun = lun;
	/* a simulated disk, whatever the slot held before (a new slot was
	 * zeroed: BS_MEM, whose model a crash wipes; round of blind19) */
	l->kind = BS_SIM;
	l->size_bytes = d.size_bytes;
	l->ro = d.read_only;
	l->thin = d.thin;
	l->removable = d.removable;
	med_power_on(r, l); /* a new LU, its medium loaded */
	l->wc_off = l->wc_off_cfg = d.write_through;
	l->wc_off_since = 0;
	l->removed = false;
	pr_gen_power_on(l); /* a new LU, or one back with its saved state */
	l->ms_saved = MS_SAVED_NONE;
	/* a new LU: its mode parameters are the defaults */
	l->ms_known = l->ms_inflight == 0 && orphans == 0 && r->ms_orphans == 0;
	l->ms_wce = !l->wc_off;
	l->ms_dsense = l->ms_swp = false;
	alua_lun_changed(r, l);
	r->ctl_seq++;
	ua_step_end(r, resets == r->resets_done && resets_quiet(r));
	ua_lun_back(r, (int)(l - r->luns));
}

/*
 *   target device DISK set KEY=0|1 [KEY=0|1...]
 *
 * A running device's attributes changed (utargetctl attr set device=DISK
 * KEY V, ctl_change.c: the configuration's attribute setter, then a live
 * change); KEY is read_only, write_through, thin_provisioned or
 * removable.  Sessions may be logged in and commands running.  The
 * device is opened again with them (reconfig.c reconf_devices: a
 * configuration that differs is a new device entry), a new LU: the old
 * one goes (commands already in it end there, on the same backstore;
 * one still waiting for its Data-Out runs on the new LU; after the
 * drain time the rest end TASK ABORTED), and each session maps the new
 * one in its place (devices.c iscsi_sess_resync_luns).  To an initiator
 * it is the LU at that LUN removed and another added in one step
 * (SPC-4 §5.14): the LUN's nexus is a new one with POWER ON, RESET and
 * none of the old one's conditions, every other LUN the session keeps
 * is told REPORTED LUNS DATA HAS CHANGED; the new LU's mode parameters,
 * medium (loaded, no prevention), SPC-2 reservation (none) and
 * persistent reservations (only what APTPL saved, scsi_pr_load) are
 * those of power on.  From the step's end each LUN on the device is
 * read-only or writable (DATA PROTECT 07/27/00 for writes), write-back
 * or write-through (WCE), thin or not, removable or not.  The control
 * step's oracle: the control interface shows the device with the
 * attributes asked for (iscsi_server_device).  Round of blind19
 * (read_only, no initiator logged in; mutant 505), round of devattr21
 * (the other attributes, with sessions and commands running).
 */
static const char *const dev_keys[] = {"read_only", "write_through",
				       "thin_provisioned", "removable"};

/* read_only as the LU has it, the others as the running configuration
 * holds them */
static bool dev_attr_of(const struct iscsi_device_info *di,
			const struct ut_dev_cfg *c, int k)
{
	return k == 0	? di->read_only
	       : k == 1 ? c->write_through
	       : k == 2 ? c->thin
			: c->removable;
}

static void ctl_device_set(struct runner *r, struct toks *t)
{
	struct iscsi_device_info di;
	struct ut_dev_cfg *d = NULL, was;
	const struct ut_dev_cfg *dc;
	struct ut_config cfg;
	uint64_t resets = r->resets_done;
	int want[4] = {-1, -1, -1, -1}, nkeys = 0;
	char err[256];
	bool on_disk = false;

	for (int i = 4; i < t->n; i++) {
		const char *v;
		int k = -1;

		if (strcmp(t->v[i], "expect") == 0)
			break;
		v = strchr(t->v[i], '=');
		for (int j = 0; v && j < 4; j++)
			if ((size_t)(v - t->v[i]) == strlen(dev_keys[j]) &&
			    strncmp(t->v[i], dev_keys[j],
				    strlen(dev_keys[j])) == 0)
				k = j;
		if (k < 0 || want[k] >= 0 ||
		    (strcmp(v + 1, "0") != 0 && strcmp(v + 1, "1") != 0)) {
			nkeys = 0;
			break;
		}
		want[k] = v[1] == '1';
		nkeys++;
	}
	if (t->n < 5 || nkeys == 0 || strcmp(t->v[3], "set") != 0) {
		syntaxf(r, "target device DISK set KEY=0|1... (read_only, "
			   "write_through, thin_provisioned, removable)");
		return;
	}
	if (r->nacl > 0) {
		/* the LUNs a session keeps depend on its groups */
		syntaxf(r, "target device DISK set: not with group lines");
		return;
	}
	if (!ctl_begin(r, &cfg))
		return;
	for (size_t i = 0; i < cfg.dev_count && d == NULL; i++)
		if (strcmp(cfg.devs[i].name, t->v[2]) == 0)
			d = &cfg.devs[i];
	if (d != NULL)
		was = *d;
	for (int k = 0; k < 4 && d != NULL; k++)
		if (want[k] >= 0 &&
		    ut_dev_attr_set(d, dev_keys[k], want[k] ? "1" : "0", err,
				    sizeof(err)))
			d = NULL;
	if (d == NULL) {
		ut_config_free(&cfg);
		syntaxf(r, "target device %s set: no such device", t->v[2]);
		return;
	}
	/* Values it has already: no change, nothing opens again
	 * (reconfig.c keeps a device whose configuration is equal). */
	for (int i = 0; i < r->nluns && !ut_dev_cfg_equal(&was, d); i++)
		on_disk |= strcmp(r->luns[i].disk, t->v[2]) == 0 &&
			   !r->luns[i].removed;
	/* The LUNs on the device: the old LU goes at some instant of the
	 * step (each session on its own reactor), the new one comes with
	 * its POWER ON, RESET; every other LUN is told the inventory
	 * changed. */
	ua_step_begin(r);
	for (int i = 0; i < r->nluns && on_disk; i++) {
		struct lun_st *l = &r->luns[i];

		if (l->removed)
			continue;
		if (strcmp(l->disk, t->v[2]) != 0) {
			ua_expect_index(r, i, UA_LUNS_CHANGED);
			continue;
		}
		ua_nexus_replacing(r, i);
		ua_expect_index(r, i, UA_POWER_ON);
		ua_lun_adding(r, i, l->lun);
		alua_lun_going(l);
		l->uncertain = true;
		/* Write-back from the step's start when the new LU is: a
		 * write sent from now may reach it (as after MODE SELECT
		 * WCE=1) */
		if (!(want[1] >= 0 ? want[1] : l->wc_off_cfg)) {
			l->wc_off = false;
			l->wc_off_since = 0;
			model_set_write_through(l->m, false);
		}
	}
	if (on_disk)
		r->lun_map_steps++; /* a LUN names another LU */
	if (!ctl_apply(r, &cfg, NULL, want_fail(t))) {
		ua_step_failed(r);
		for (int i = 0; i < r->nluns && on_disk; i++)
			if (!r->luns[i].removed &&
			    strcmp(r->luns[i].disk, t->v[2]) == 0)
				alua_lun_changed(r, &r->luns[i]);
		return;
	}
	for (int i = 0; i < r->nluns && on_disk; i++) {
		struct lun_st *l = &r->luns[i];
		bool was_off;

		if (strcmp(l->disk, t->v[2]) != 0 || l->removed)
			continue;
		if (want[0] >= 0)
			l->ro = want[0];
		if (want[2] >= 0)
			l->thin = want[2];
		if (want[3] >= 0)
			l->removable = want[3];
		if (want[1] >= 0)
			l->wc_off_cfg = want[1];
		/* the old LU and its nexuses are gone (the step waited for
		 * them): their conditions, reservations, preventions */
		for (int a = 0; a < r->nactors; a++)
			ua_nexus_new(r, &r->actors[a], i);
		resv_reset(l);
		med_power_on(r, l);
		/* a SANITIZE running there was cancelled part way */
		cmds_sanitize_end(l, 2);
		cmds_lun_reset_state(l);
		/* the new LU loads what APTPL saved (scsi_pr_load); a PR OUT
		 * still running on the old one may have saved or not */
		if (l->pr_inflight > 0)
			l->pr.unknown = true;
		prm_crash(&l->pr);
		l->pr_gen_old_hi = l->pr_gen_hi;
		l->pr_gen_reopens++;
		pr_gen_power_on(l);
		l->pr_epoch++;
		l->ms_saved = MS_SAVED_NONE;
		was_off = l->wc_off;
		cmds_lun_power_on(l);
		/* Made write-through: only writes sent from now are durable;
		 * one still running may have run write-back on the old LU,
		 * whose cache the disk keeps (explore seed 37 of round
		 * devattr21) */
		if (l->wc_off && !was_off) {
			l->wc_off = false;
			l->wc_off_since = model_tick(l->m);
			model_set_write_through(l->m, false);
		}
		l->ms_known = l->ms_inflight == 0 && r->ms_orphans == 0;
		l->ms_wce = !l->wc_off_cfg;
		l->ms_dsense = l->ms_swp = false;
		alua_lun_changed(r, l);
		ua_lun_back(r, i);
	}
	r->ctl_seq++;
	ua_step_end(r, resets == r->resets_done && resets_quiet(r));
	r->res->expectations++;
	if (want_fail(t))
		return;
	dc = ut_config_find_dev(iscsi_server_config(r->srv), t->v[2]);
	if (iscsi_server_device(r->srv, t->v[2], &di, NULL) != 0 ||
	    dc == NULL) {
		failf(r, r->line,
		      "control step: device %s set, but the control "
		      "interface no longer shows it (seed %llu)",
		      t->v[2], (unsigned long long)r->seed);
		return;
	}
	for (int k = 0; k < 4; k++)
		if (want[k] >= 0 && dev_attr_of(&di, dc, k) != (bool)want[k]) {
			failf(r, r->line,
			      "control step: device %s set %s=%d, but the "
			      "control interface shows %d (seed %llu)",
			      t->v[2], dev_keys[k], want[k],
			      dev_attr_of(&di, dc, k),
			      (unsigned long long)r->seed);
			return;
		}
}

static void ctl_lun_remove(struct runner *r, struct toks *t)
{
	struct iscsi_reconf_opts o = {0};
	struct ut_config cfg;
	struct ut_target_cfg *tc;
	struct ut_lun_cfg *lc;
	struct lun_st *l;
	char dev[UT_DEV_NAME_MAX];
	uint64_t resets = r->resets_done, drain;
	uint32_t lun;

	if (t->n < 4) {
		syntaxf(r, "target lun remove N [drain=5s]");
		return;
	}
	lun = (uint32_t)strtoul(t->v[3], NULL, 0);
	l = lun_slot(r, lun);
	if (kv(t, "drain") && parse_dur(kv(t, "drain"), &drain))
		o.drain_ms = (uint32_t)(drain / SIM_NS_PER_MS);
	if (!ctl_begin(r, &cfg))
		return;
	tc = ut_config_find_target(&cfg, r->iqn);
	lc = tc ? ut_lun_find(tc, NULL, lun) : NULL;
	if (!lc) {
		ut_config_free(&cfg);
		r->res->expectations++;
		if (!want_fail(t))
			failf(r, r->line, "control step: no lun %u to remove",
			      lun);
		return;
	}
	snprintf(dev, sizeof(dev), "%s", lc->dev_name);
	ut_lun_remove(tc, NULL, lun);
	if (!ut_config_dev_used(&cfg, dev))
		ut_config_remove_dev(&cfg, dev);
	ua_step_begin(r);
	ua_luns_changed(r, lun);
	ua_lun_going(r, lun);
	if (l) {
		alua_lun_going(l); /* answered NOT SUPPORTED while it goes */
		/* Its nexuses go from the step's start, one session after
		 * another (with several reactors, each on its own): an SPC-2
		 * reservation may be released while another session still
		 * has the LU and its commands run (explore seed
		 * 134067909627). */
		l->uncertain = true;
	}
	r->lun_map_steps++;
	if (!ctl_apply_want(r, &cfg, &o, ctl_want(t))) {
		ua_step_failed(r);
		if (l)
			alua_lun_changed(r, l);
		return;
	}
	if (l) {
		l->removed = true;
		/* Its nexuses went: SPC-2 reservations with them, and the
		 * conditions they had queued (a new nexus starts afresh). */
		resv_reset(l);
		med_lun_gone(r, l);
		alua_lun_changed(r, l);
		/* A sanitize running there was cancelled part way. */
		cmds_sanitize_end(l, 2);
		cmds_lun_reset_state(l);
	}
	ua_forget_lun(r, lun);
	r->ctl_seq++;
	ua_step_end(r, resets == r->resets_done && resets_quiet(r));
}

static void ctl_lun_resize(struct runner *r, struct toks *t)
{
	struct iscsi_reconf_opts o = {0};
	struct ut_config cfg;
	struct ut_target_cfg *tc;
	struct ut_lun_cfg *lc;
	struct ut_dev_cfg *d;
	struct lun_st *l;
	uint64_t size, old_blocks, resets = r->resets_done;
	uint32_t lun;
	bool grow, san;
	enum ctl_want want;
	uint64_t drain;

	if (t->n < 5 || sim_size_parse(t->v[4], &size) != 0) {
		syntaxf(r, "target lun resize N SIZE [drain=5s]");
		return;
	}
	if (kv(t, "drain") && parse_dur(kv(t, "drain"), &drain))
		o.drain_ms = (uint32_t)(drain / SIM_NS_PER_MS);
	lun = (uint32_t)strtoul(t->v[3], NULL, 0);
	l = lun_slot(r, lun);
	want = ctl_want(t);
	if (!ctl_begin(r, &cfg))
		return;
	tc = ut_config_find_target(&cfg, r->iqn);
	lc = tc ? ut_lun_find(tc, NULL, lun) : NULL;
	d = lc ? (struct ut_dev_cfg *)ut_config_find_dev(&cfg, lc->dev_name)
	       : NULL;
	if (!d) {
		ut_config_free(&cfg);
		r->res->expectations++;
		if (!want_fail(t))
			failf(r, r->line, "control step: no lun %u to resize",
			      lun);
		return;
	}
	d->size_bytes = size;
	/* A SANITIZE sent to it and still unanswered, or answered IMMED and
	 * not shown over, may be running: the change may be refused, and
	 * one that has not started yet may start after a grow, over the
	 * grown LU (round of devattr21) */
	san = l != NULL && l->m != NULL &&
	      (l->san_inflight > 0 || l->san_handle != 0);
	if (san && want == CTL_OK)
		want = CTL_SAN;
	ua_step_begin(r);
	if (l == NULL || size / l->bs * l->bs != l->size_bytes)
		ua_expect(r, lun, UA_CAPACITY); /* (a change) */
	/* A grow takes the model first: the target grows during the step,
	 * and a command sent past the old end may run after it and be
	 * answered before the step ends (cmds_lun_resized).  Blocks a grow
	 * brings read zeros; until the target has them, commands naming
	 * them are refused (the model's outcome: nothing written).  A
	 * shrink takes the model after: the target waits for the commands
	 * checked against the old size. */
	grow = l != NULL && !want_fail(t) && size / l->bs > model_blocks(l->m);
	if (grow) {
		old_blocks = model_blocks(l->m);
		model_resize(l->m, size / l->bs);
		cmds_lun_resized(r, l, old_blocks);
		cmds_sanitize_grown(l, old_blocks);
	}
	if (!ctl_apply_want(r, &cfg, &o, want)) {
		ua_step_failed(r);
		/* refused: the commands the grow brought in are refused
		 * as out of range, and the LU keeps its size */
		if (grow)
			model_resize(l->m, old_blocks);
		return;
	}
	if (l && san) {
		/* Applied: no sanitize ran then; one not yet started may
		 * still start, its model write stays pending */
		l->size_bytes = size;
		if (!grow) {
			old_blocks = model_blocks(l->m);
			model_resize(l->m, size / l->bs);
			cmds_lun_resized(r, l, old_blocks);
		}
	} else if (l) {
		l->size_bytes = size;
		cmds_sanitize_end(l, 2);
		cmds_lun_reset_state(l);
		if (!grow) {
			old_blocks = model_blocks(l->m);
			model_resize(l->m, size / l->bs);
			cmds_lun_resized(r, l, old_blocks);
		}
	}
	r->ctl_seq++;
	ua_step_end(r, resets == r->resets_done && resets_quiet(r));
}

static void ctl_target_enable(struct runner *r, struct toks *t, bool on)
{
	struct iscsi_reconf_opts o = {.force = has(t, "force")};
	struct ut_config cfg;
	struct ut_target_cfg *tc;

	if (!ctl_begin(r, &cfg))
		return;
	tc = ut_config_find_target(&cfg, r->iqn);
	if (tc)
		tc->enabled = on;
	if (ctl_apply(r, &cfg, &o, want_fail(t)))
		r->ctl_seq++;
}

/*
 * `target remove IQN`: a target of a `target add` line removed while
 * sessions are logged in to it and their commands run (utargetctl
 * `target remove`; reconfig.c reconf_commit: a tombstone, its sessions
 * closed).  Judged: the change answers, and from then on no session of
 * that target is left on the server and every actor logged in to it has
 * lost its connection, within a second (the commands it had in flight
 * are answered or dropped: the waits); a login to it is then refused
 * (the scenario says how).  A restart brings up the configuration
 * without it.
 */
static void target_gone_check(struct runner *r, const char *iqn);

static void ctl_target_remove(struct runner *r, struct toks *t)
{
	struct ut_config cfg;
	int x = -1;

	for (int i = 0; t->n >= 3 && i < r->nextra && x < 0; i++)
		if (strcmp(r->extra_iqn[i], t->v[2]) == 0 && !r->extra_gone[i])
			x = i;
	if (x < 0) {
		syntaxf(r, "target remove IQN: a target of a `target add` "
			   "line, not removed yet");
		return;
	}
	if (!ctl_begin(r, &cfg))
		return;
	if (ut_config_remove_target(&cfg, r->extra_iqn[x]) != 0) {
		ut_config_free(&cfg);
		syntaxf(r, "target remove: not in the running configuration");
		return;
	}
	if (!ctl_apply_want(r, &cfg, NULL, ctl_want(t)))
		return;
	r->extra_gone[x] = true;
	r->ctl_seq++;
	target_gone_check(r, r->extra_iqn[x]);
}

struct gone_wait {
	struct runner *r;
	const char *iqn;
};

static bool gone_pred(void *arg)
{
	struct gone_wait *g = arg;
	struct iscsi_session_info si[MAX_ACTORS * 4];
	size_t n = iscsi_server_sessions(g->r->srv, si,
					 sizeof(si) / sizeof(si[0]));

	for (size_t i = 0; i < n && i < sizeof(si) / sizeof(si[0]); i++)
		if (strcmp(si[i].target, g->iqn) == 0)
			return false;
	for (int i = 0; i < g->r->nactors; i++) {
		struct actor *a = &g->r->actors[i];

		if (strcmp(a->tgt, g->iqn) == 0 &&
		    ini_state(a->ini) == INI_S_FFP)
			return false;
	}
	return true;
}

static void target_gone_check(struct runner *r, const char *iqn)
{
	struct gone_wait g = {r, iqn};

	r->res->expectations++;
	if (!sim_run_until(r->sim, r->sim->now_ns + SIM_NS_PER_S, gone_pred,
			   &g))
		failf(r, r->line,
		      "control step: target %s was removed, but a session "
		      "of it is still on the server or logged in 1 s later: "
		      "a removed target's sessions must be ended (seed %llu)",
		      iqn, (unsigned long long)r->seed);
}

/*
 * What the control interface lists of a session (utargetctl sessions,
 * iscsi_server_sessions) against what its initiator negotiated: checked
 * at every `target stats expect` for each actor in full feature phase
 * whose session (initiator name, ISID, TSIH) the target lists, and at
 * the end of every run (round of blind19).  The operational parameters
 * are fixed at login on both sides, so they agree exactly (mutants 443,
 * 511).
 */
void sessions_agree(struct runner *r)
{
	static struct iscsi_session_info si[MAX_ACTORS * 4];
	size_t n =
		iscsi_server_sessions(r->srv, si, sizeof(si) / sizeof(si[0]));

	if (n > sizeof(si) / sizeof(si[0]))
		n = sizeof(si) / sizeof(si[0]);
	for (int a = 0; a < r->nactors; a++) {
		struct ini *ini = r->actors[a].ini;
		const struct ini_params *p;
		const struct iscsi_session_info *o = NULL;
		const char *tg = r->actors[a].tgt[0] ? r->actors[a].tgt
						     : r->iqn;
		const char *pt = r->actors[a].portal[0] ? r->actors[a].portal
							: r->portal;

		if (ini == NULL || ini_state(ini) != INI_S_FFP)
			continue;
		for (size_t i = 0; i < n && o == NULL; i++)
			if (!si[i].discovery && si[i].tsih == ini_tsih(ini) &&
			    memcmp(si[i].isid, ini_isid(ini), 6) == 0 &&
			    strcmp(si[i].initiator, ini_iqn(ini)) == 0)
				o = &si[i];
		if (o == NULL)
			continue;
		p = ini_params(ini);
		r->res->expectations++;
		if (o->header_digest != p->header_digest ||
		    o->data_digest != p->data_digest ||
		    o->initial_r2t != p->initial_r2t ||
		    o->immediate_data != p->immediate_data ||
		    o->first_burst != p->first_burst ||
		    o->max_burst != p->max_burst ||
		    o->max_outstanding_r2t != p->max_r2t ||
		    o->max_recv_dsl != p->max_send_dsl ||
		    o->max_xmit_dsl != p->max_recv_dsl)
			failf(r, r->line,
			      "target stats: session %u of %s lists "
			      "digests %d/%d InitialR2T=%d ImmediateData=%d "
			      "FirstBurstLength=%u MaxBurstLength=%u "
			      "MaxOutstandingR2T=%u MRDSL %u/%u; negotiated "
			      "%d/%d %d %d %u %u %u %u/%u",
			      o->tsih, r->actors[a].name, o->header_digest,
			      o->data_digest, o->initial_r2t, o->immediate_data,
			      o->first_burst, o->max_burst,
			      o->max_outstanding_r2t, o->max_recv_dsl,
			      o->max_xmit_dsl, p->header_digest, p->data_digest,
			      p->initial_r2t, p->immediate_data, p->first_burst,
			      p->max_burst, p->max_r2t, p->max_send_dsl,
			      p->max_recv_dsl);
		/* the other keys of the session (round of blind19, mutant
		 * 511), and where it came: its target and portal group */
		else if (o->default_time2wait != p->time2wait ||
			 o->default_time2retain != p->time2retain ||
			 o->error_recovery_level != p->erl ||
			 o->data_pdu_in_order != p->pdu_in_order ||
			 o->data_seq_in_order != p->seq_in_order ||
			 o->connections != 1 || strcmp(o->target, tg) != 0 ||
			 o->portal_group != alua_portal_tpgt(r, pt))
			failf(r, r->line,
			      "target stats: session %u of %s lists "
			      "DefaultTime2Wait=%u DefaultTime2Retain=%u "
			      "ErrorRecoveryLevel=%u DataPDUInOrder=%d "
			      "DataSequenceInOrder=%d, %u connection(s), "
			      "target %s, portal group %u; negotiated %u %u "
			      "%u %d %d, one connection, logged in to %s "
			      "through portal group %u",
			      o->tsih, r->actors[a].name, o->default_time2wait,
			      o->default_time2retain, o->error_recovery_level,
			      o->data_pdu_in_order, o->data_seq_in_order,
			      o->connections, o->target, o->portal_group,
			      p->time2wait, p->time2retain, p->erl,
			      p->pdu_in_order, p->seq_in_order, tg,
			      alua_portal_tpgt(r, pt));
	}
}

/*
 *   target device LUN stats expect NAME=N [NAME=N...]
 *
 * The I/O statistics of the LU behind LUN as the control interface shows
 * them (utargetctl device, iscsi_server_device): reads, writes, others
 * (commands completed, by kind: READ(6/10/12/16); WRITE(6/10/12/16),
 * WRITE AND VERIFY, COMPARE AND WRITE, WRITE ATOMIC(16); the rest),
 * read_bytes, write_bytes (of the GOOD ones), errors (ended other than
 * GOOD) and latencies (the histogram's samples: one per read or write).
 * Exact: the scenario counts what it sent (mutant 442).
 */
static void device_stats_verb(struct runner *r, struct toks *t)
{
	static const char *names[] = {"reads",	    "writes",	   "others",
				      "read_bytes", "write_bytes", "errors",
				      "latencies"};
	struct iscsi_device_info di;
	struct scsi_io_stats st;
	struct lun_st *l;
	uint64_t vals[7], lat = 0;
	char *end;
	unsigned long long lun;

	if (t->n < 6 || strcmp(t->v[3], "stats") != 0 ||
	    strcmp(t->v[4], "expect") != 0 ||
	    (lun = strtoull(t->v[2], &end, 0), *end != '\0') ||
	    (l = lun_find(r, lun)) == NULL) {
		syntaxf(r, "target device LUN stats expect NAME=N...");
		return;
	}
	if (!target_start(r) || r->srv == NULL)
		return;
	if (iscsi_server_device(r->srv, l->disk, &di, &st) != 0) {
		failf(r, r->line, "target device %llu: no device %s", lun,
		      l->disk);
		return;
	}
	for (unsigned int i = 0; i < SCSI_LAT_BUCKETS; i++)
		lat += st.lat[i];
	vals[0] = st.reads;
	vals[1] = st.writes;
	vals[2] = st.others;
	vals[3] = st.read_bytes;
	vals[4] = st.write_bytes;
	vals[5] = st.errors;
	vals[6] = lat;
	for (int i = 5; i < t->n; i++) {
		char *eq = strchr(t->v[i], '=');
		size_t k;

		if (eq == NULL) {
			syntaxf(r, "target device LUN stats expect NAME=N");
			return;
		}
		*eq = '\0';
		for (k = 0; k < 7 && strcmp(names[k], t->v[i]) != 0; k++)
			;
		if (k == 7) {
			syntaxf(r, "unknown device stat '%s'", t->v[i]);
			return;
		}
		r->res->expectations++;
		if (vals[k] != strtoull(eq + 1, NULL, 0))
			failf(r, r->line,
			      "target device %llu stats: expected %s=%s, got "
			      "%llu",
			      lun, t->v[i], eq + 1,
			      (unsigned long long)vals[k]);
	}
}

/*
 * The LU statistics oracle: what the control interface counts of an LU
 * (iscsi_server_device, utargetctl device) against what the runner sent
 * it.  The target counts every command that ran through an I_T_L nexus
 * of the LU once, when it completes, by kind (lu_stats.c); the runner
 * classes each command it sends by its own table of operation codes.
 * Exact bounds, at the end of a run without live changes (a LUN may then
 * name another LU): for each kind, the commands answered GOOD (they ran,
 * through a nexus of that LU) <= the target's count <= the commands sent
 * to the LUNs of that LU, all since the target last booted (each boot
 * starts the counts again; a command sent while an old server still ran,
 * say in a shutdown's grace, is that server's).  Not against another target, and
 * not through a LUN an ACL hides (answered without a nexus).  Round of
 * blind18, mutant 442.
 */
static int lu_stat_kind(uint8_t opcode)
{
	switch (opcode) {
	case 0x08: /* READ(6) */
	case 0x28: /* READ(10) */
	case 0xa8: /* READ(12) */
	case 0x88: /* READ(16) */
		return 0;
	case 0x0a: /* WRITE(6) */
	case 0x2a: /* WRITE(10) */
	case 0xaa: /* WRITE(12) */
	case 0x8a: /* WRITE(16) */
	case 0x2e: /* WRITE AND VERIFY(10) */
	case 0xae: /* WRITE AND VERIFY(12) */
	case 0x8e: /* WRITE AND VERIFY(16) */
	case 0x89: /* COMPARE AND WRITE */
	case 0x9c: /* WRITE ATOMIC(16) */
		return 1;
	default:
		return 2;
	}
}

static void lu_stats_gen(struct runner *r, struct lun_st *l)
{
	if (l->lus_gen == r->boots)
		return;
	memset(l->lus_sent, 0, sizeof(l->lus_sent));
	memset(l->lus_good, 0, sizeof(l->lus_good));
	l->lus_err = 0;
	l->lus_gen = r->boots;
}

/* By the LUN it went to (p->ls is NULL for a write past the last LBA,
 * which the target counts all the same). */
void lu_stats_sent(struct runner *r, struct pend *p, const uint8_t *cdb)
{
	struct lun_st *l = lun_find(r, p->lun);

	p->boots_at = r->boots;
	if (l == NULL)
		return;
	lu_stats_gen(r, l);
	l->lus_sent[lu_stat_kind(cdb[0])]++;
}

void lu_stats_done(struct runner *r, struct pend *p, const struct ini_op *op)
{
	struct lun_st *l = lun_find(r, p->lun);

	int sk = -1, asc, ascq;

	if (l == NULL || p->acl_hidden || p->boots_at != r->boots ||
	    op->outcome != INI_DONE || op->response != 0)
		return;
	lu_stats_gen(r, l);
	if (op->status == SCSI_STATUS_GOOD) {
		l->lus_good[lu_stat_kind(op->cdb[0])]++;
		return;
	}
	if (op->status == 0x02)
		sense_key_of(op->sense, op->sense_len, &sk, &asc, &ascq);
	if (op->status == 0x18 || sk == 0x3 || sk == 0x7 || sk == 0xe)
		l->lus_err++;
}

void lu_stats_oracle(struct runner *r)
{
	static const char *kinds[3] = {"reads", "writes", "others"};

	if (r->srv == NULL || r->failed || r->against || r->ctl_started != 0)
		return;
	for (int i = 0; i < r->nluns && !r->failed; i++) {
		struct iscsi_device_info di;
		struct scsi_io_stats st;
		uint64_t sent[3] = {0}, good[3] = {0}, got[3], err = 0;
		bool first = true;

		/* once per device, summed over the LUNs naming it */
		for (int j = 0; j < i; j++)
			if (strcmp(r->luns[j].disk, r->luns[i].disk) == 0)
				first = false;
		if (!first ||
		    iscsi_server_device(r->srv, r->luns[i].disk, &di, &st) != 0)
			continue;
		for (int j = i; j < r->nluns; j++) {
			struct lun_st *l = &r->luns[j];

			if (strcmp(l->disk, r->luns[i].disk) != 0)
				continue;
			lu_stats_gen(r, l);
			for (int k = 0; k < 3; k++) {
				sent[k] += l->lus_sent[k];
				good[k] += l->lus_good[k];
			}
			err += l->lus_err;
		}
		got[0] = st.reads;
		got[1] = st.writes;
		got[2] = st.others;
		/* errors: every command that ended other than GOOD, so at
		 * least those answered with a status only the LU gives, at
		 * most those sent and not answered GOOD (round of blind19,
		 * mutant 510) */
		r->res->expectations++;
		if (st.errors < err || st.errors > sent[0] + sent[1] + sent[2] -
							   good[0] - good[1] -
							   good[2]) {
			failf(r, 0,
			      "LU statistics: device %s counts %llu errors, "
			      "but %llu commands were answered with a status "
			      "only the LU gives (RESERVATION CONFLICT, MEDIUM "
			      "ERROR, DATA PROTECT, MISCOMPARE) and %llu sent "
			      "were not answered GOOD since the target booted "
			      "(seed %llu)",
			      r->luns[i].disk, (unsigned long long)st.errors,
			      (unsigned long long)err,
			      (unsigned long long)(sent[0] + sent[1] + sent[2] -
						   good[0] - good[1] - good[2]),
			      (unsigned long long)r->seed);
			break;
		}
		for (int k = 0; k < 3; k++) {
			r->res->expectations++;
			if (got[k] < good[k] || got[k] > sent[k]) {
				failf(r, 0,
				      "LU statistics: device %s counts %llu %s, "
				      "but %llu were answered GOOD and %llu "
				      "sent to it since the target booted "
				      "(seed %llu)",
				      r->luns[i].disk,
				      (unsigned long long)got[k], kinds[k],
				      (unsigned long long)good[k],
				      (unsigned long long)sent[k],
				      (unsigned long long)r->seed);
				break;
			}
		}
	}
}

static void ctl_session_close(struct runner *r, struct toks *t)
{
	struct iscsi_session_info si[MAX_ACTORS * 4];
	struct actor *a = t->n >= 4 ? actor_find(r, t->v[3]) : NULL;
	size_t n;
	bool closed = false;

	if (!a) {
		syntaxf(r, "target session close ACTOR");
		return;
	}
	if (!target_start(r) || r->srv == NULL)
		return;
	n = iscsi_server_sessions(r->srv, si, sizeof(si) / sizeof(si[0]));
	for (size_t i = 0; i < n && i < sizeof(si) / sizeof(si[0]); i++)
		if (strcmp(si[i].initiator, ini_iqn(a->ini)) == 0 &&
		    !si[i].discovery)
			closed |= iscsi_server_close_session(r->srv,
							     si[i].tsih) == 0;
	r->res->expectations++;
	if (closed == want_fail(t))
		failf(r, r->line, "control step: session close of %s %s",
		      a->name, closed ? "succeeded" : "found no session");
}

/*
 *   target initiator add|remove GROUP PATTERN
 *   target group add NAME initiators=P[,P...] luns=N[,N...]|none [ro=N,...]
 *   target group remove NAME
 *
 * Initiator groups changed live (utargetctl `initiator add/remove`,
 * `group add/remove`, docs/control.md).  The runner's groups are edited
 * and put into a copy of the running configuration whole.  Each session
 * then maps its new LUN set (iscsi_sess_resync_luns): a LUN it keeps,
 * with the same LU and read-only-ness, gets REPORTED LUNS DATA HAS
 * CHANGED when the set changed; one it gains, or whose read-only-ness
 * changed, is a new I_T_L nexus with POWER ON, RESET (the old nexus, its
 * SPC-2 reservation, PREVENT and conditions gone).  From the step's end
 * the ACL oracle expects the new sets and read-only-ness (scenario_acl.c);
 * commands in flight across the step are judged leniently.
 */
static void ctl_acl(struct runner *r, struct toks *t)
{
	struct acl_group_st saved[MAX_ACL_GROUPS];
	uint8_t was[MAX_ACTORS][MAX_LUNS], now[MAX_ACTORS][MAX_LUNS];
	int nsaved = r->nacl;
	struct ut_config cfg;
	struct ut_target_cfg *tc;
	uint64_t resets = r->resets_done;
	bool fail = want_fail(t), refused = false;

	acl_views(r, was);
	memcpy(saved, r->acl, sizeof(saved));
	if (!acl_edit(r, t, &refused))
		return; /* a syntax error */
	if (refused) {
		/* refused by the model already (no such group or pattern, a
		 * group that exists): a step the target never sees */
		r->res->expectations++;
		if (!fail)
			failf(r, r->line, "control step: %s %s refused",
			      t->v[1], t->v[2]);
		return;
	}
	if (!ctl_begin(r, &cfg)) {
		memcpy(r->acl, saved, sizeof(saved));
		r->nacl = nsaved;
		return;
	}
	tc = ut_config_find_target(&cfg, r->iqn);
	for (int i = 0; tc && i < nsaved; i++)
		(void)ut_target_remove_group(tc, saved[i].name);
	if (!tc || acl_groups_cfg(r, tc) != 0) {
		ut_config_free(&cfg);
		memcpy(r->acl, saved, sizeof(saved));
		r->nacl = nsaved;
		syntaxf(r, "cannot build the groups");
		return;
	}
	acl_views(r, now);
	ua_step_begin(r);
	for (int i = 0; i < r->nactors; i++) {
		struct actor *a = &r->actors[i];

		if (memcmp(was[i], now[i], sizeof(now[i])) == 0)
			continue;
		for (int li = 0; li < r->nluns; li++)
			if (now[i][li] != 0)
				ua_expect_actor(r, a, li,
						was[i][li] == now[i][li]
							? UA_LUNS_CHANGED
							: UA_POWER_ON);
	}
	r->lun_map_steps++;
	if (!ctl_apply(r, &cfg, NULL, fail)) {
		ua_step_failed(r);
		memcpy(r->acl, saved, sizeof(saved));
		r->nacl = nsaved;
		return;
	}
	for (int i = 0; i < r->nactors; i++)
		for (int li = 0; li < r->nluns; li++) {
			struct lun_st *l = &r->luns[li];

			if (was[i][li] == 0 || was[i][li] == now[i][li])
				continue;
			/* the actor's nexus to l went */
			ua_nexus_replaced(r, &r->actors[i], li);
			if (l->holder == i) {
				l->holder = -1;
				l->epoch++;
				l->uncertain = true;
			}
			med_nexus_loss(r, &r->actors[i]);
		}
	r->ctl_seq++;
	ua_step_end(r, resets == r->resets_done && resets_quiet(r));
}

/* `target state-fail enospc|eio [count=N]`, `target state-fail off`: the
 * durable state store (APTPL) refuses the next N saves (default every
 * one until `off`), keeping what it held (sim_state_fail). */
static void state_fail_verb(struct runner *r, struct toks *t)
{
	const char *how = t->n >= 3 ? t->v[2] : "";
	int err = strcmp(how, "enospc") == 0 ? -ENOSPC
		  : strcmp(how, "eio") == 0  ? -EIO
					     : 0;

	if (err == 0 && strcmp(how, "off") != 0) {
		syntaxf(r, "target state-fail enospc|eio [count=N] | off");
		return;
	}
	sim_state_fail(r->sim, err, (uint32_t)u64_or(t, "count", 0, r));
}

/* `target oom [prob=P] [count=N] [skip=K]`, `target oom off`: memory
 * pressure on the target (sim_oom.c): from now on, after K of them went
 * through (default 0), each of its allocations made while it serves
 * fails with probability P (default 1: the next one), until N have
 * failed (default 1; 0: until `off`).  No oracle is
 * relaxed: what it cannot allocate must cost a connection or an error
 * answer, never a lost answer, lost data, a leak or a crash. */
static void oom_verb(struct runner *r, struct toks *t)
{
	const char *p = kv(t, "prob");
	double prob = 1.0;
	char *end = NULL;

	if (t->n == 3 && strcmp(t->v[2], "off") == 0) {
		sim_oom_set(r->sim, 0, 0, 0);
		return;
	}
	if (p != NULL) {
		prob = strtod(p, &end);
		if (end == p || *end != '\0' || !(prob > 0.0) || prob > 1.0) {
			syntaxf(r, "target oom prob=P: 0 < P <= 1");
			return;
		}
	}
	for (int i = 2; i < t->n; i++)
		if (strncmp(t->v[i], "prob=", 5) != 0 &&
		    strncmp(t->v[i], "count=", 6) != 0 &&
		    strncmp(t->v[i], "skip=", 5) != 0) {
			syntaxf(r, "target oom [prob=P] [count=N] [skip=K] | "
				   "off");
			return;
		}
	r->res->fault_count[SCN_F_OOM]++;
	sim_oom_set(r->sim, (uint32_t)(prob * 1000000.0 + 0.5),
		    (uint32_t)u64_or(t, "count", 1, r),
		    (uint32_t)u64_or(t, "skip", 0, r));
}

void target_verb(struct runner *r, struct toks *t)
{
	const char *verb = t->v[1];

	if (r->against || (r->o.skip_sim_lines && r->started)) {
		char what[64];

		snprintf(what, sizeof(what), "target %s", verb);
		if (strcmp(verb, "lun") == 0 || strcmp(verb, "disable") == 0 ||
		    strcmp(verb, "enable") == 0 ||
		    strcmp(verb, "session") == 0 ||
		    strcmp(verb, "initiator") == 0 ||
		    strcmp(verb, "group") == 0 || strcmp(verb, "crash") == 0 ||
		    strcmp(verb, "restart") == 0 ||
		    strcmp(verb, "stats") == 0 || strcmp(verb, "device") == 0 ||
		    strcmp(verb, "state-fail") == 0 ||
		    strcmp(verb, "oom") == 0 || strcmp(verb, "shutdown") == 0 ||
		    strcmp(verb, "remove") == 0)
			against_skip(r, what);
		else if (!r->started) /* target NAME, target add NAME */
			against_config(r, what);
		else
			syntaxf(r, "target NAME after the target started");
		return;
	}
	if (strcmp(verb, "lun") == 0 || strcmp(verb, "disable") == 0 ||
	    strcmp(verb, "enable") == 0 || strcmp(verb, "session") == 0 ||
	    strcmp(verb, "initiator") == 0 || strcmp(verb, "group") == 0)
		r->res->fault_count[SCN_F_RECONFIG]++;
	if (strcmp(verb, "lun") == 0 && t->n >= 3 && r->nacl > 0 &&
	    strcmp(t->v[2], "resize") != 0) {
		/* they change the default LUN set only (scenario_acl.c) */
		syntaxf(r, "target lun add|remove: not with group lines");
	} else if (strcmp(verb, "lun") == 0 && t->n >= 3) {
		if (strcmp(t->v[2], "add") == 0)
			ctl_lun_add(r, t);
		else if (strcmp(t->v[2], "remove") == 0)
			ctl_lun_remove(r, t);
		else if (strcmp(t->v[2], "resize") == 0)
			ctl_lun_resize(r, t);
		else
			syntaxf(r, "target lun add|remove|resize");
	} else if (strcmp(verb, "disable") == 0) {
		ctl_target_enable(r, t, false);
	} else if (strcmp(verb, "enable") == 0) {
		ctl_target_enable(r, t, true);
	} else if (strcmp(verb, "session") == 0) {
		ctl_session_close(r, t);
	} else if (strcmp(verb, "crash") == 0) {
		if (target_start(r))
			target_crash(r);
	} else if (strcmp(verb, "restart") == 0) {
		target_restart(r);
	} else if (strcmp(verb, "remove") == 0) {
		r->res->fault_count[SCN_F_RECONFIG]++;
		ctl_target_remove(r, t);
	} else if (strcmp(verb, "add") == 0) {
		const char *l = kv(t, "luns");

		if (r->started || t->n < 3 || t->n > 4 ||
		    (t->n == 4 && (l == NULL || strcmp(l, "none") != 0)) ||
		    r->nextra == MAX_EXTRA_TARGETS ||
		    strlen(t->v[2]) >= UT_NAME_MAX) {
			syntaxf(r,
				"target add IQN [luns=none]: before the target "
				"starts, at most %d",
				MAX_EXTRA_TARGETS);
			return;
		}
		r->extra_bare[r->nextra] = l != NULL;
		snprintf(r->extra_iqn[r->nextra++], UT_NAME_MAX, "%s", t->v[2]);
	} else if (strcmp(verb, "shutdown") == 0) {
		uint64_t grace = 3000000000ull;
		const char *g = kv(t, "grace");

		if (g != NULL && !parse_dur(g, &grace)) {
			syntaxf(r, "target shutdown [grace=DURATION]");
			return;
		}
		if (target_start(r))
			target_shutdown(r, grace);
	} else if (strcmp(verb, "state-fail") == 0) {
		state_fail_verb(r, t);
	} else if (strcmp(verb, "oom") == 0) {
		oom_verb(r, t);
	} else if (strcmp(verb, "alua") == 0) {
		alua_target_verb(r, t);
	} else if (strcmp(verb, "initiator") == 0 ||
		   strcmp(verb, "group") == 0) {
		ctl_acl(r, t);
	} else if (strcmp(verb, "device") == 0) {
		if (t->n >= 4 && strcmp(t->v[3], "set") == 0)
			ctl_device_set(r, t);
		else
			device_stats_verb(r, t);
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
			static const char *names[] = {"connections",
						      "sessions",
						      "tasks",
						      "buffer_bytes",
						      "owed",
						      "rsp_timeouts",
						      "rsp_timeouts_stuck",
						      "rsp_timeouts_judging"};
			uint64_t vals[] = {st.connections,
					   st.sessions,
					   st.tasks,
					   st.buffer_bytes,
					   st.owed,
					   st.rsp_timeouts,
					   st.rsp_timeouts_stuck,
					   st.rsp_timeouts_judging};
			const size_t nnames = sizeof(names) / sizeof(names[0]);
			size_t k;
			char *eq = strchr(t->v[i], '=');

			if (eq == NULL) {
				syntaxf(r, "target stats expect NAME=N");
				return;
			}
			*eq = '\0';
			for (k = 0;
			     k < nnames && strcmp(names[k], t->v[i]) != 0; k++)
				;
			if (k == nnames) {
				syntaxf(r, "unknown stat '%s'", t->v[i]);
				return;
			}
			r->res->expectations++;
			if (strcmp(names[k], "rsp_timeouts_stuck") == 0)
				r->stuck_expected = strtoull(eq + 1, NULL, 0);
			if (vals[k] != strtoull(eq + 1, NULL, 0))
				failf(r, r->line,
				      "target stats: expected %s=%s, got "
				      "%llu (seed %llu)",
				      t->v[i], eq + 1,
				      (unsigned long long)vals[k],
				      (unsigned long long)r->seed);
		}
		if (ex >= 0)
			sessions_agree(r);
	} else {
		if (r->started) {
			syntaxf(r, "target NAME after the target started");
			return;
		}
		snprintf(r->iqn, sizeof(r->iqn), "%s", verb);
	}
}
