/*
 * sim_oom.c — memory pressure on the simulated target (`target oom`).
 *
 * The simulator links target/ as build/libutarget_sim.a, a copy of the
 * library whose calls of malloc, calloc, realloc, strdup and strndup are
 * renamed to sim_tgt_* (objcopy --redefine-sym, the Makefile; the unit
 * test test_oom.c does the same with its own allocator).  Every one of
 * the target's allocations comes here.  While the world has memory
 * pressure on (struct sim's oom, sim_oom_set), one made from a target
 * callback -- a reactor's timer, posted work, connection event, disk
 * completion, accept or asynchronous open: the only places that set
 * cur_reactor -- fails with the chance the scenario gave, drawn from a
 * stream of its own so that the world's PRNG draws are the same as
 * without.  The simulator's own calls into the target (boot, restart,
 * control steps, the oracles' queries) run outside every reactor and
 * never fail: what is judged is how the target lives through memory
 * pressure while serving, not whether set-up can.
 *
 * What the target promises then (target/test/test_oom.c, conn.c
 * iscsi_conn_fail_soon): an answer it cannot allocate closes its
 * connection, never vanishes; nothing acknowledged is lost; nothing
 * leaks; it never crashes or hangs.  Every oracle of the world keeps
 * judging it, the leak checks at the end included.
 */
#include <execinfo.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* The world whose target allocates now: one per process (the explorer's
 * workers are processes), set while memory pressure is on. */
static struct sim *oom_world;

void sim_oom_set(struct sim *sim, uint32_t ppm, uint32_t count, uint32_t skip)
{
	sim->oom.on = ppm > 0;
	sim->oom.ppm = ppm > 1000000 ? 1000000 : ppm;
	sim->oom.left = count;
	sim->oom.skip = skip;
	if (sim->oom.rng == 0)
		sim->oom.rng = sim->seed ^ 0x00a110cfa11ull;
	oom_world = sim->oom.on ? sim : NULL;
	SIM_TRACE(sim, "oom: %s (%u ppm, %u failures, after %u)",
		  sim->oom.on ? "on" : "off", sim->oom.ppm, count, skip);
}

/* The world is going: nothing of it may be drawn from again. */
void sim_oom_forget(struct sim *sim)
{
	if (oom_world == sim)
		oom_world = NULL;
}

static bool oom_fail(size_t n)
{
	struct sim *sim = oom_world;

	if (sim == NULL || !sim->oom.on || sim->cur_reactor == SIM_NO_REACTOR)
		return false;
	if (sim->oom.skip > 0) {
		sim->oom.skip--;
		return false;
	}
	if (sim_splitmix64(&sim->oom.rng) % 1000000 >= sim->oom.ppm)
		return false;
	sim->oom.failed++;
	SIM_TRACE(sim, "oom: the target's allocation of %zu bytes fails", n);
	if (sim->trace && getenv("SIM_OOM_BACKTRACE") != NULL) {
		/* where (docs/scenarios.md): the frames to stderr */
		void *bt[16];

		backtrace_symbols_fd(bt, backtrace(bt, 16), 2);
	}
	if (sim->oom.left > 0 && --sim->oom.left == 0) {
		sim->oom.on = false;
		oom_world = NULL;
	}
	return true;
}

void *sim_tgt_malloc(size_t n);
void *sim_tgt_calloc(size_t k, size_t n);
void *sim_tgt_realloc(void *p, size_t n);
char *sim_tgt_strdup(const char *s);
char *sim_tgt_strndup(const char *s, size_t n);

void *sim_tgt_malloc(size_t n)
{
	return oom_fail(n) ? NULL : malloc(n);
}

void *sim_tgt_calloc(size_t k, size_t n)
{
	return oom_fail(k * n) ? NULL : calloc(k, n);
}

void *sim_tgt_realloc(void *p, size_t n)
{
	/* realloc(p, 0) frees: not an allocation that can fail */
	return n > 0 && oom_fail(n) ? NULL : realloc(p, n);
}

char *sim_tgt_strdup(const char *s)
{
	return oom_fail(strlen(s) + 1) ? NULL : strdup(s);
}

char *sim_tgt_strndup(const char *s, size_t n)
{
	return oom_fail(strnlen(s, n) + 1) ? NULL : strndup(s, n);
}
