/*
 * poll_adapt.h — adaptive polling of one reactor: whether to poll an idle
 * stretch (epoll_wait with a zero timeout) rather than sleep, and for how
 * long, learned from the gaps between going idle and the next event.
 * Pure: the caller passes the times in (reactor.c; test_env_real_poll.c).
 */
#ifndef UT_ENV_REAL_POLL_ADAPT_H
#define UT_ENV_REAL_POLL_ADAPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The shortest window: a few polls, whatever the gaps say. */
#define ER_POLL_MIN_NS 5000u
/* Idle stretches slept through after misses in a row: 1, 2, 4 ... this. */
#define ER_POLL_SKIP_MAX 64u
/* Polling by reading: once this many idle stretches in a row ended with
 * the bytes of one connection alone, a poll reads that connection
 * (recv, MSG_DONTWAIT) instead of asking epoll_wait(0): when it catches,
 * the bytes come with it, one system call instead of two. */
#define ER_POLL_SOLO_MIN 4u
/* ... and at least every this many polls one is an epoll_wait(0), so that
 * other connections, timers and posted work wait at most this many polls
 * (the loop's other sleeps are epoll_waits anyway). */
#define ER_POLL_READS_PER_WAIT 8u

struct er_poll {
	uint64_t max_ns; /* --poll-us: the longest window; 0 = never poll */
	/* The gaps (going idle -> next event) of the stretches a poll
	 * caught, and of those a too short window missed by less than
	 * max_ns: smoothed mean and mean deviation, as TCP smooths RTTs;
	 * n_samples 0 = none yet. */
	uint64_t gap_avg_ns;
	uint64_t gap_dev_ns;
	uint64_t n_samples;
	uint64_t window_ns; /* 2 avg + 4 dev, in [ER_POLL_MIN_NS, max_ns] */
	/* the current idle stretch */
	bool idle;
	bool polling;	 /* this stretch is polled (until its window ends) */
	bool gave_up;	 /* its window ran out: the rest is slept */
	bool may_sample; /* no disk request held it up: its gap is the
			    initiator's */
	bool polled;	 /* the last epoll_wait of it was a poll */
	bool by_read;	 /* ... a poll by reading */
	uint64_t idle_since_ns;
	unsigned int misses; /* windows in a row that ran out */
	unsigned int skip;   /* idle stretches left to sleep through */
	/* Polling by reading: the connection (opaque here) whose bytes
	 * alone ended the last solo_run idle stretches, NULL if the last
	 * one ended otherwise; reads: polls by reading since the last
	 * epoll_wait. */
	void *solo;
	unsigned int solo_run;
	unsigned int reads;
	uint64_t hit, missed, skipped; /* exit log */
	uint64_t read_hit;	       /* of hit, those a read caught */
};

void er_poll_init(struct er_poll *p, uint64_t max_ns);

/* A loop turn found nothing to do at now.  may_poll: nothing forbids
 * polling now (no disk request out).  True: poll (timeout 0), false:
 * sleep. */
bool er_poll_idle(struct er_poll *p, uint64_t now, bool may_poll);

/* The epoll_wait (or the read) after er_poll_idle returned n events at
 * now.  only_conn: they were the bytes of that one connection alone
 * (opaque here), NULL: anything else (several events, a timer, posted
 * work, a disk completion, a connection's writability or hang-up). */
void er_poll_after(struct er_poll *p, uint64_t now, int n, void *only_conn);

/* er_poll_idle said poll: the connection to poll by reading (the caller
 * receives from it and calls er_poll_after if bytes came), or NULL: poll with epoll_wait(0), and say so (er_poll_waited). */
void *er_poll_read_which(struct er_poll *p);

/* An epoll_wait was made (a poll or a sleep): it saw every watch. */
static inline void er_poll_waited(struct er_poll *p)
{
	p->reads = 0;
}

/* The connection is gone: never poll it by reading again. */
static inline void er_poll_forget(struct er_poll *p, const void *conn)
{
	if (p->solo == conn) {
		p->solo = NULL;
		p->solo_run = 0;
	}
}

/* In an idle stretch: er_poll_idle began it, no event ended it yet. */
static inline bool er_poll_is_idle(const struct er_poll *p)
{
	return p->idle;
}

/* The loop (re)starts with work to do: no stretch is open.  What was
 * learned stays. */
static inline void er_poll_busy(struct er_poll *p)
{
	p->idle = false;
	p->polling = false;
	p->polled = false;
}

#endif
