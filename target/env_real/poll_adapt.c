/*
 * poll_adapt.c — adaptive polling (poll_adapt.h).
 *
 * A reactor with nothing to do either sleeps in epoll_wait or polls it.
 * Sleeping idles the CPU, and the next event then pays the wake-up of an
 * idle CPU (tens of microseconds on a VM: as long as a 4 KiB read's own
 * work, so at queue depth 1 it nearly doubles the round trip).  Polling
 * keeps the CPU awake and catches the event at once, at the price of the
 * CPU time it spins.  A poll pays when the event comes soon; so each idle
 * stretch measures its gap, from going idle to the next event:
 *
 *   - a stretch is polled for a window learned from the gaps of earlier
 *     ones: twice their smoothed mean plus four mean deviations (the
 *     smoothing is TCP's for round-trip times, RFC 6298), at least
 *     ER_POLL_MIN_NS, at most max_ns (--poll-us).  The gaps learned are
 *     those a poll caught and those a window missed by little (the event
 *     came after the poll gave up but within max_ns of going idle).  So
 *     the window follows the initiator's turnaround: a few microseconds
 *     at depth, where the gaps between batches are short and a miss then
 *     costs little; --poll-us at queue depth 1 on a slow host.  Twice
 *     the mean, not the mean plus deviations alone: at queue depth 1 a
 *     window that missed the gaps' tail (avg + 4 dev, 23 us for gaps of
 *     18 us on average) slept one command in six and lost 1-7 us of
 *     p50 against the fixed 50 us window;
 *   - a window that runs out (a miss) makes the reactor sleep through the
 *     next 1, 2, 4 ... ER_POLL_SKIP_MAX idle stretches: an initiator that
 *     thinks between commands is not polled for; a slept stretch whose
 *     event came within max_ns ends that back-off (the initiator is
 *     busy again);
 *   - the caller forbids polling while disk requests are out (may_poll):
 *     they may run on kernel worker threads that need the CPU;
 *   - polling by reading: once ER_POLL_SOLO_MIN stretches in a row ended
 *     with the bytes of one connection alone (queue depth 1 over one
 *     session), a poll is a recv on that connection rather than an
 *     epoll_wait(0): when it catches, the bytes come with it, one system
 *     call where epoll_wait and recv were two (1.5-1.8 us each on this
 *     PVM guest).  Every ER_POLL_READS_PER_WAIT-th poll is still an
 *     epoll_wait(0), so other connections, listeners, signals and disk
 *     completions wait at most that many polls; timers and posted work
 *     run at the end of every loop turn, a read's too.  Any other event
 *     ending a stretch, or the connection closing, ends the reading.
 *
 * An earlier rule also refused to poll when the stretches of work between
 * gaps averaged over 20 us ("at depth the work hides the wake-up").  On a
 * slower host a lone 4 KiB read of a file LUN takes about 20 us of work by
 * itself, so that rule switched polling on and off at queue depth 1 (p50
 * 30 us polled, 45 us slept); the learned window bounds what polling
 * costs at depth instead.
 */
#include "env_real/poll_adapt.h"
#include "ut_assert.h"

void er_poll_init(struct er_poll *p, uint64_t max_ns)
{
	*p = (struct er_poll){.max_ns = max_ns, .window_ns = max_ns};
	if (p->window_ns && p->window_ns < ER_POLL_MIN_NS)
		p->window_ns = ER_POLL_MIN_NS;
}

/* One gap learned: the smoothed mean moves by 1/8 of the error, the mean
 * deviation by 1/4 of its own (RFC 6298's constants). */
static void er_poll_learn(struct er_poll *p, uint64_t gap_ns)
{
	uint64_t w;

	ut_assert(p->max_ns > 0);
	if (gap_ns > p->max_ns)
		gap_ns = p->max_ns;
	if (p->n_samples++ == 0) {
		p->gap_avg_ns = gap_ns;
		p->gap_dev_ns = gap_ns / 2;
	} else {
		uint64_t err = gap_ns > p->gap_avg_ns ? gap_ns - p->gap_avg_ns
						      : p->gap_avg_ns - gap_ns;

		if (gap_ns > p->gap_avg_ns)
			p->gap_avg_ns += err / 8;
		else
			p->gap_avg_ns -= err / 8;
		if (err > p->gap_dev_ns)
			p->gap_dev_ns += (err - p->gap_dev_ns) / 4;
		else
			p->gap_dev_ns -= (p->gap_dev_ns - err) / 4;
	}
	ut_assert(p->gap_avg_ns <= p->max_ns && p->gap_dev_ns <= p->max_ns);
	w = 2 * p->gap_avg_ns + 4 * p->gap_dev_ns;
	if (w > p->max_ns)
		w = p->max_ns;
	if (w < ER_POLL_MIN_NS)
		w = ER_POLL_MIN_NS;
	p->window_ns = w;
}

/* The window ran out without an event: sleep through the next idle
 * stretches, twice as many after every miss in a row. */
static void er_poll_missed(struct er_poll *p)
{
	p->missed++;
	p->gave_up = true;
	p->polling = false;
	if (p->misses < 7)
		p->misses++;
	p->skip = 1u << (p->misses - 1);
	ut_assert(p->skip >= 1 && p->skip <= ER_POLL_SKIP_MAX);
}

/* A stretch begins: polled unless backing off after misses. */
static void er_poll_begin(struct er_poll *p, uint64_t now)
{
	ut_assert(!p->idle);
	p->idle = true;
	p->idle_since_ns = now;
	p->gave_up = false;
	p->may_sample = true;
	p->polling = p->skip == 0;
	if (p->skip > 0) {
		p->skip--;
		p->skipped++;
	}
}

bool er_poll_idle(struct er_poll *p, uint64_t now, bool may_poll)
{
	if (!p->max_ns)
		return false;
	if (!p->idle)
		er_poll_begin(p, now);
	ut_assert(now >= p->idle_since_ns);
	p->polled = false;
	p->by_read = false;
	if (!may_poll) {
		/* its gap is the disk's, not the initiator's */
		p->may_sample = false;
		return false;
	}
	if (!p->polling)
		return false;
	if (now - p->idle_since_ns >= p->window_ns) {
		er_poll_missed(p);
		return false;
	}
	p->polled = true;
	return true;
}

/* Who ended the stretch: one connection alone, the same as before, makes
 * its run longer; anything else ends the run. */
static void er_poll_ended_by(struct er_poll *p, void *only_conn)
{
	if (only_conn == NULL || only_conn != p->solo) {
		p->solo = only_conn;
		p->solo_run = only_conn != NULL;
		return;
	}
	if (p->solo_run < ER_POLL_SOLO_MIN)
		p->solo_run++;
	ut_assert(p->solo != NULL && p->solo_run >= 1);
}

void *er_poll_read_which(struct er_poll *p)
{
	ut_assert(p->idle && p->polled); /* er_poll_idle said poll */
	ut_assert(p->reads < ER_POLL_READS_PER_WAIT);
	if (p->solo == NULL || p->solo_run < ER_POLL_SOLO_MIN ||
	    p->reads + 1 >= ER_POLL_READS_PER_WAIT)
		return NULL;
	p->reads++;
	p->by_read = true;
	return p->solo;
}

void er_poll_after(struct er_poll *p, uint64_t now, int n, void *only_conn)
{
	uint64_t gap;

	if (!p->idle || n <= 0)
		return; /* busy, or the stretch goes on */
	ut_assert(p->max_ns > 0 && now >= p->idle_since_ns);
	gap = now - p->idle_since_ns;
	p->idle = false;
	er_poll_ended_by(p, only_conn);
	if (p->polled) {
		/* caught */
		ut_assert(p->polling);
		p->hit++;
		p->read_hit += p->by_read;
		p->misses = 0;
		if (p->may_sample)
			er_poll_learn(p, gap);
	} else if (p->may_sample && gap < p->max_ns) {
		/* slept, yet the event came within max_ns: after a miss the
		 * window was too short; after a back-off the initiator is
		 * busy again */
		if (p->gave_up)
			er_poll_learn(p, gap);
		p->misses = 0;
		p->skip = 0;
	}
}
