/*
 * sim_net.c — TCP-like byte streams between initiator hosts and the
 * target's portals.
 *
 * A link has two endpoints (ep[0] the initiator's, ep[1] the target's) and
 * two directed queues; q[i] carries bytes from ep[i] to ep[1-i].  A queue
 * holds segments in send order, each with its arrival time; one embedded
 * event delivers the head segment.  Arrival times never decrease, so the
 * stream stays in order as TCP's does, while chunking splits it at random
 * points (down to one byte per delivery).
 *
 *   send:     accept up to the window (bytes in flight + unread at the
 *             receiver), maybe only a random prefix (partial send);
 *   deliver:  append to the receiver's buffer, wake it (on_readable);
 *   recv:     hand out up to what was asked, maybe a random prefix;
 *             freed window wakes the sender (on_writable).
 *
 * Faults: delay and jitter per host; chunking; partial send/recv; a
 * blocked direction (partition per host, stall per connection) holds
 * segments until healed — TCP retransmits, nothing is lost; a bit
 * flipped in a data segment on delivery (sim_conn_corrupt), the
 * initiator's endpoint told where; FIN
 * (half-close) and RST travel in the stream; a vanished host drops
 * everything silently; a crashed target's endpoints are dead, dropping
 * data while it is down and answering RST once it is up again.
 *
 * Endpoints are freed only from an event (reap), never inside a call that
 * a callback might be running under.
 *
 * This file moves bytes over links that exist, and keeps the hosts and
 * their faults; sim_net_connect.c makes links (connect, listeners) and
 * ends them with the world; sim_net_int.h holds what both see.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "real_net.h"
#include "sim.h"
#include "sim_net_int.h"
#include "ut_assert.h"

static void q_schedule(struct sim_q *q);

/* ---------------------------------------------------------- helpers */

static struct sim *link_sim(const struct sim_link *l)
{
	return l->sim;
}

static const struct sim_link_cfg *link_cfg(const struct sim_link *l)
{
	return &l->host->cfg;
}

static unsigned int q_dirmask(const struct sim_q *q)
{
	return q->idx == 0 ? SIM_TO_TARGET : SIM_FROM_TARGET;
}

static bool q_blocked(const struct sim_q *q)
{
	return q->stalled || (q->l->host->blocked & q_dirmask(q)) != 0;
}

static uint64_t q_used(const struct sim_q *q)
{
	return q->inflight + q->l->ep[1 - q->idx].rx_len;
}

static uint64_t q_room(const struct sim_q *q)
{
	uint64_t win = link_cfg(q->l)->window_bytes;

	if (win == 0)
		win = DEFAULT_WINDOW;
	return q_used(q) >= win ? 0 : win - q_used(q);
}

uint64_t sim_link_latency(struct sim_link *l)
{
	const struct sim_link_cfg *cfg = link_cfg(l);
	uint64_t d = cfg->delay_ns;

	if (cfg->jitter_ns > 0)
		d += sim_rand_below(link_sim(l), cfg->jitter_ns + 1);
	return d;
}

static void ep_wake_read(struct env_conn *c)
{
	if (!c->closed && c->h != NULL && !sim_ev_pending(&c->read_ev))
		sim_ev_at(link_sim(c->l), &c->read_ev, link_sim(c->l)->now_ns);
}

static void ep_wake_write(struct env_conn *c)
{
	if (!c->closed && c->h != NULL && c->want_write &&
	    !sim_ev_pending(&c->write_ev) && q_room(&c->l->q[c->side]) > 0)
		sim_ev_at(link_sim(c->l), &c->write_ev, link_sim(c->l)->now_ns);
}

static struct seg *q_push(struct sim_q *q, const void *data, uint32_t len)
{
	struct sim_link *l = q->l;
	struct seg *s = malloc(sizeof(*s) + len);
	uint64_t at;

	if (s == NULL)
		abort();
	memset(s, 0, sizeof(*s));
	if (len > 0)
		memcpy(s->data, data, len);
	s->len = len;
	s->stream_off = q->pushed;
	q->pushed += len;
	at = link_sim(l)->now_ns + sim_link_latency(l);
	if (at < q->last_at)
		at = q->last_at;
	q->last_at = at;
	s->at_ns = at;
	q->inflight += len;
	if (len > 0 && link_sim(l)->rec != NULL)
		link_sim(l)->rec->bytes(link_sim(l)->rec_ctx,
					link_sim(l)->now_ns, l->id,
					l->host->name, q->idx, false, s->data,
					len);
	TAILQ_INSERT_TAIL(&q->segs, s, link);
	if (TAILQ_FIRST(&q->segs) == s)
		q_schedule(q);
	return s;
}

static void q_purge(struct sim_q *q)
{
	struct seg *s;

	while ((s = TAILQ_FIRST(&q->segs)) != NULL) {
		TAILQ_REMOVE(&q->segs, s, link);
		free(s);
	}
	q->inflight = 0;
	sim_ev_cancel(link_sim(q->l), &q->ev);
}

static void q_schedule(struct sim_q *q)
{
	struct seg *s = TAILQ_FIRST(&q->segs);

	if (s == NULL || q_blocked(q)) {
		sim_ev_cancel(link_sim(q->l), &q->ev);
		return;
	}
	sim_ev_at(link_sim(q->l), &q->ev, s->at_ns);
}

void sim_link_maybe_reap(struct sim_link *l)
{
	if (l->ep[0].closed && l->ep[1].closed && !l->reaping) {
		l->reaping = true;
		sim_ev_at(link_sim(l), &l->reap_ev, link_sim(l)->now_ns);
	}
}

static void rx_append(struct env_conn *c, const uint8_t *p, size_t n)
{
	if (c->rx_off > 0 && c->rx_off + c->rx_len + n > c->rx_cap) {
		memmove(c->rx, c->rx + c->rx_off, c->rx_len);
		c->rx_off = 0;
	}
	if (c->rx_len + n > c->rx_cap) {
		size_t cap = c->rx_cap ? c->rx_cap : 4096;

		while (cap < c->rx_len + n)
			cap *= 2;
		c->rx = realloc(c->rx, cap);
		if (c->rx == NULL)
			abort();
		c->rx_cap = cap;
	}
	memcpy(c->rx + c->rx_off + c->rx_len, p, n);
	c->rx_len += n;
}

/* An RST from endpoint `from` travels to its peer. */
static void send_rst(struct env_conn *from)
{
	struct sim_q *q = &from->l->q[from->side];
	struct seg *s;

	if (q->shut && !TAILQ_EMPTY(&q->segs) &&
	    TAILQ_LAST(&q->segs, seg_list)->rst)
		return;
	q->shut = true;
	s = q_push(q, NULL, 0);
	s->rst = true;
}

/* --------------------------------------------------------- delivery */

static void deliver_to_dead(struct sim_q *q, struct seg *s)
{
	struct sim_link *l = q->l;
	struct env_conn *to = &l->ep[1 - q->idx];

	/* A rebooted target answers segments of a forgotten connection
	 * with RST; a host that is down answers nothing. */
	if (to->side == 1 && link_sim(l)->target_up && !l->rst_answered &&
	    !s->rst && !l->ep[0].closed) {
		l->rst_answered = true;
		send_rst(to);
	}
}

/* One bit of the segment flipped, the initiator's endpoint told where. */
static void q_corrupt(struct sim_q *q, struct seg *s)
{
	struct sim_link *l = q->l;
	struct sim *sim = link_sim(l);
	uint32_t i = (uint32_t)sim_rand_range(sim, 0, s->len - 1);
	unsigned int bit = (unsigned int)sim_rand_range(sim, 0, 7);
	struct env_conn *ini = &l->ep[0];

	q->corrupt--;
	s->data[i] ^= (uint8_t)(1u << bit);
	SIM_TRACE(sim, "net c%llu %s bit %u of stream byte %llu flipped",
		  (unsigned long long)l->id, q->idx ? "T->I" : "I->T", bit,
		  (unsigned long long)(s->stream_off + i));
	if (ini->corrupt_fn != NULL)
		ini->corrupt_fn(ini->corrupt_arg,
				q->idx ? SIM_FROM_TARGET : SIM_TO_TARGET,
				s->stream_off + i);
}

static void seg_reread(struct sim *sim, struct sim_link *l, struct sim_q *q,
		       struct seg *s)
{
	uint8_t was[DEFAULT_CHUNK];

	ut_assert(s->len <= sizeof(was));
	memcpy(was, s->data, s->len);
	if (!sim_disk_file_reread(sim, s->file_fd, s->file_off, s->data,
				  s->len) ||
	    memcmp(was, s->data, s->len) == 0)
		return;
	sim->ctr.file_changed++;
	SIM_TRACE(sim,
		  "net c%llu %s stream bytes %llu+%u sent from file %d at "
		  "%llu arrive changed (written before they were acknowledged)",
		  (unsigned long long)l->id, q->idx ? "T->I" : "I->T",
		  (unsigned long long)s->stream_off, s->len, s->file_fd,
		  (unsigned long long)s->file_off);
}

void sim_q_deliver(struct sim_ev *ev)
{
	struct sim_q *q = SIM_CONTAINER_OF(ev, struct sim_q, ev);
	struct sim_link *l = q->l;
	struct sim *sim = link_sim(l);
	struct env_conn *to = &l->ep[1 - q->idx];
	struct seg *s = TAILQ_FIRST(&q->segs);

	ut_assert(s != NULL);
	if (q_blocked(q))
		return;
	TAILQ_REMOVE(&q->segs, s, link);
	q->inflight -= s->len;
	/* Sent from a file: the kernel keeps references to the pages until
	 * the receiver acknowledged them, and a lost segment is resent from
	 * the pages as they are then -- what arrives is the file's now (a
	 * write that landed since shows), unless the target that sent it
	 * crashed since (nothing resends) or the file is gone. */
	if (s->from_file && s->boot == sim->net->boots)
		seg_reread(sim, l, q, s);
	if (q->corrupt > 0 && s->len > 0 && !s->fin && !s->rst)
		q_corrupt(q, s);
	sim->ctr.bytes_delivered += s->len;
	sim_hash_u64(sim, l->id << 1 | (uint64_t)q->idx);
	sim_hash_bytes(sim, s->data, s->len);
	if (to->dead || to->closed) {
		if (to->dead)
			deliver_to_dead(q, s);
		ep_wake_write(&l->ep[q->idx]);
	} else if (s->rst) {
		SIM_TRACE(sim, "net c%llu %s RST arrives",
			  (unsigned long long)l->id, q->idx ? "T->I" : "I->T");
		to->err = -ECONNRESET;
		to->rx_len = 0;
		to->rx_off = 0;
		q_purge(&l->q[to->side]);
		l->q[to->side].shut = true;
		ep_wake_read(to);
	} else if (s->fin) {
		to->eof = true;
		ep_wake_read(to);
	} else {
		rx_append(to, s->data, s->len);
		if (sim->rec != NULL)
			sim->rec->bytes(sim->rec_ctx, sim->now_ns, l->id,
					l->host->name, q->idx, true, s->data,
					s->len);
		ep_wake_read(to);
	}
	free(s);
	q_schedule(q);
}

static void ep_read_dispatch(struct env_conn *c);

void sim_ep_read_fire(struct sim_ev *ev)
{
	struct env_conn *c = SIM_CONTAINER_OF(ev, struct env_conn, read_ev);

	if (c->closed || c->h == NULL)
		return;
	struct sim *sim = link_sim(c->l);
	int was = sim_reactor_enter(sim, c->side ? c->reactor : SIM_NO_REACTOR);

	ep_read_dispatch(c);
	sim->cur_reactor = was;
}

static void ep_read_dispatch(struct env_conn *c)
{
	if (c->rx_len > 0 && c->err == 0) {
		c->h->on_readable(c->ctx);
		/* The handler may have closed c (the link is reaped from an
		 * event, so c is still valid memory). */
		if (!c->closed && c->rx_len == 0 && (c->eof || c->err) &&
		    !c->closed_reported)
			ep_wake_read(c);
		return;
	}
	if ((c->eof || c->err != 0) && !c->closed_reported) {
		c->closed_reported = true;
		c->h->on_closed(c->ctx, c->err);
	}
}

void sim_ep_write_fire(struct sim_ev *ev)
{
	struct env_conn *c = SIM_CONTAINER_OF(ev, struct env_conn, write_ev);

	if (c->closed || c->h == NULL || !c->want_write || c->err != 0)
		return;
	if (q_room(&c->l->q[c->side]) > 0 && c->h->on_writable != NULL) {
		struct sim *sim = link_sim(c->l);
		int was = sim_reactor_enter(sim, c->side ? c->reactor
							 : SIM_NO_REACTOR);

		c->h->on_writable(c->ctx);
		sim->cur_reactor = was;
	}
}

/* The target's end of a connection is used only by its reactor (env.h). */
static void ep_owned(struct env_conn *c)
{
	if (c->side == 1)
		ut_assert(sim_reactor_owns(link_sim(c->l), c->reactor));
}

void sim_link_reap(struct sim_ev *ev)
{
	struct sim_link *l = SIM_CONTAINER_OF(ev, struct sim_link, reap_ev);
	struct sim *sim = link_sim(l);

	for (int i = 0; i < 2; i++) {
		q_purge(&l->q[i]);
		free(l->q[i].files);
		sim_ev_cancel(sim, &l->ep[i].read_ev);
		sim_ev_cancel(sim, &l->ep[i].write_ev);
		free(l->ep[i].rx);
	}
	sim_ev_cancel(sim, &l->conn_ev);
	sim_ev_cancel(sim, &l->reap_ev);
	sim->net->reaped[sim->net->nreaped % 64].id = l->id;
	sim->net->reaped[sim->net->nreaped % 64].read = l->ep[1].rx_read;
	sim->net->nreaped++;
	TAILQ_REMOVE(&sim->net->links, l, link);
	free(l);
}

bool sim_link_target_read(struct sim *sim, uint64_t id, uint64_t *read)
{
	struct sim_link *l;

	TAILQ_FOREACH (l, &sim->net->links, link)
		if (l->id == id) {
			*read = l->ep[1].rx_read;
			return true;
		}
	for (unsigned int i = 0; i < 64 && i < sim->net->nreaped; i++)
		if (sim->net->reaped[i].id == id) {
			*read = sim->net->reaped[i].read;
			return true;
		}
	return false;
}

/* ------------------------------------------------- endpoint operations */

void sim_conn_set_handler(struct env_conn *c, const struct env_conn_handler *h,
			  void *ctx)
{
	if (c->real != NULL) {
		real_conn_set_handler(c->real, h, ctx);
		return;
	}
	c->h = h;
	c->ctx = ctx;
	if (c->rx_len > 0 || c->eof || c->err)
		ep_wake_read(c);
}

ssize_t sim_conn_recv(struct env_conn *c, void *buf, size_t len)
{
	struct sim_link *l = c->l;
	size_t n;

	if (c->real != NULL)
		return real_conn_recv(c->real, buf, len);
	ep_owned(c);
	if (c->closed)
		return -EBADF;
	if (c->rx_len == 0) {
		if (c->err != 0)
			return c->err;
		if (c->eof && !c->closed_reported)
			ep_wake_read(c);
		return 0;
	}
	if (len == 0)
		return 0;
	n = len < c->rx_len ? len : c->rx_len;
	if (link_cfg(l)->partial_recv && n > 1 && sim_chance(link_sim(l), 0.5))
		n = (size_t)sim_rand_range(link_sim(l), 1, n);
	memcpy(buf, c->rx + c->rx_off, n);
	c->rx_off += n;
	c->rx_len -= n;
	c->rx_read += n;
	if (c->rx_len == 0)
		c->rx_off = 0;
	ep_wake_write(&l->ep[1 - c->side]);
	return (ssize_t)n;
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t t = 0;

	for (int i = 0; i < iovcnt; i++)
		t += iov[i].iov_len;
	return t;
}

/* Copy `n` bytes starting at the head of the iovec into segments; fd >=
 * 0: they are the bytes of that file from foff (sim_conn_send_file). */
static void q_push_iov(struct sim_q *q, const struct iovec *iov, int iovcnt,
		       size_t n, int fd, uint64_t foff)
{
	struct sim *sim = link_sim(q->l);
	uint32_t max = link_cfg(q->l)->max_chunk;
	int vi = 0;
	size_t voff = 0;
	uint8_t stage[DEFAULT_CHUNK];

	while (n > 0) {
		size_t chunk = max == 0 ? DEFAULT_CHUNK
					: (size_t)sim_rand_range(sim, 1, max);
		size_t got = 0;

		if (chunk > n)
			chunk = n;
		if (chunk > sizeof(stage))
			chunk = sizeof(stage);
		while (got < chunk) {
			size_t take = iov[vi].iov_len - voff;

			if (take > chunk - got)
				take = chunk - got;
			memcpy(stage + got,
			       (const uint8_t *)iov[vi].iov_base + voff, take);
			got += take;
			voff += take;
			if (voff == iov[vi].iov_len) {
				vi++;
				voff = 0;
			}
		}
		struct seg *s = q_push(q, stage, (uint32_t)chunk);

		if (fd >= 0) {
			s->from_file = true;
			s->file_fd = fd;
			s->file_off = foff;
			s->boot = sim->net->boots;
			foff += chunk;
		}
		n -= chunk;
	}
	(void)iovcnt;
}

/* What the target's end of c may send of want bytes now, through q (its
 * side's queue): -errno on a closed, failed or shut connection, else at
 * most the room left and want, and with `partial` a random prefix of that
 * in one call in two (a socket taking part of a send).  conn_send and
 * conn_send_file both decide here, with the same draws. */
static ssize_t send_accept(struct env_conn *c, struct sim_q *q, uint64_t want)
{
	struct sim_link *l = c->l;
	size_t n;

	ep_owned(c);
	if (c->closed)
		return -EBADF;
	if (c->err != 0)
		return c->err;
	if (q->shut)
		return -EPIPE;
	n = (size_t)q_room(q);
	if (n > want)
		n = (size_t)want;
	if (link_cfg(l)->partial_send && n > 1 && sim_chance(link_sim(l), 0.5))
		n = (size_t)sim_rand_range(link_sim(l), 1, n);
	return (ssize_t)n;
}

ssize_t sim_conn_send(struct env_conn *c, const struct iovec *iov, int iovcnt)
{
	struct sim_link *l = c->l;
	struct sim_q *q;
	ssize_t got;

	if (c->real != NULL)
		return real_conn_send(c->real, iov, iovcnt);
	q = &l->q[c->side];
	got = send_accept(c, q, iov_total(iov, iovcnt));
	if (got > 0)
		q_push_iov(q, iov, iovcnt, (size_t)got, -1, 0);
	return got;
}

/* The stream bytes [from, from + n) of q came from a file. */
static void q_note_file(struct sim_q *q, uint64_t from, uint64_t n)
{
	if (q->nfiles > 0 && q->files[q->nfiles - 1].to == from) {
		q->files[q->nfiles - 1].to = from + n;
		return;
	}
	if (q->nfiles == q->capfiles) {
		size_t cap = q->capfiles ? 2 * q->capfiles : 8;
		struct sim_file_range *f = realloc(q->files, cap * sizeof(*f));

		if (f == NULL)
			abort();
		q->files = f;
		q->capfiles = cap;
	}
	q->files[q->nfiles].from = from;
	q->files[q->nfiles].to = from + n;
	q->nfiles++;
}

ssize_t sim_conn_send_file(struct env_conn *c, const struct iovec *iov,
			   int iovcnt, int fd, uint64_t off, uint64_t len)
{
	struct sim_link *l = c->l;
	struct sim *sim = link_sim(l);
	struct sim_q *q;
	size_t head, n;
	ssize_t got;
	uint64_t fn;
	uint8_t *buf;
	struct iovec fv;

	ut_assert(c->real == NULL); /* the target's end: simulated */
	ut_assert(fd >= 0 || fd == ENV_FD_ZEROS);
	/* only a zero-copy read's Data-In goes from a file: with the
	 * daemon's --zero-copy off every read is copied (docs/
	 * configuration.md), --send-file or not */
	ut_assert(sim->env.zero_copy);
	q = &l->q[c->side];
	head = iov_total(iov, iovcnt);
	/* the same faults as conn_send: a random prefix */
	got = send_accept(c, q, head + len);
	if (got <= 0)
		return got;
	n = (size_t)got;
	/* the iovecs first, then the file's bytes as they are now */
	if (n <= head) {
		q_push_iov(q, iov, iovcnt, n, -1, 0);
		return (ssize_t)n;
	}
	if (head > 0)
		q_push_iov(q, iov, iovcnt, head, -1, 0);
	fn = n - head;
	buf = malloc(fn);
	if (buf == NULL)
		abort();
	fv.iov_base = buf;
	fv.iov_len = fn;
	if (fd == ENV_FD_ZEROS)
		memset(buf, 0, fn);
	else
		sim_disk_file_read(sim, fd, off, buf, fn);
	q_note_file(q, q->pushed, fn);
	/* references to the file until delivered (zeros never change) */
	q_push_iov(q, &fv, 1, fn, fd, off);
	free(buf);
	SIM_TRACE(sim, "net c%llu %zu bytes sent from file %d at %llu",
		  (unsigned long long)l->id, (size_t)fn, fd,
		  (unsigned long long)off);
	return (ssize_t)n;
}

ssize_t sim_conn_unacked(struct env_conn *c)
{
	ut_assert(c->real == NULL); /* the target's end: simulated */
	ep_owned(c);
	if (c->closed)
		return -EBADF;
	return (ssize_t)c->l->q[c->side].inflight;
}

/* Are bytes sent from a file still on their way in q? */
static bool q_file_in_flight(const struct sim_q *q)
{
	const struct seg *s;

	TAILQ_FOREACH (s, &q->segs, link)
		if (s->from_file)
			return true;
	return false;
}

bool sim_conn_rx_from_file(struct env_conn *c, uint64_t off, uint64_t len)
{
	struct sim_q *q;
	size_t keep = 0;
	bool hit = false;

	if (c->real != NULL)
		return false;
	q = &c->l->q[1 - c->side];
	for (size_t i = 0; i < q->nfiles; i++) {
		if (q->files[i].from < off + len && q->files[i].to > off)
			hit = true;
		if (q->files[i].to > off)
			q->files[keep++] = q->files[i];
	}
	q->nfiles = keep;
	return hit;
}

void sim_conn_want_write(struct env_conn *c, bool want)
{
	if (c->real != NULL) {
		real_conn_want_write(c->real, want);
		return;
	}
	ep_owned(c);
	c->want_write = want;
	if (want)
		ep_wake_write(c);
}

void sim_env_conn_set_more(struct env_conn *c, bool more)
{
	(void)c;
	(void)more;
}

void sim_ep_close(struct env_conn *c)
{
	struct sim *sim = link_sim(c->l);

	c->closed = true;
	c->want_write = false;
	sim_ev_cancel(sim, &c->read_ev);
	sim_ev_cancel(sim, &c->write_ev);
	c->rx_len = 0;
	c->rx_off = 0;
	sim_link_maybe_reap(c->l);
}

void sim_conn_close(struct env_conn *c)
{
	struct sim *sim;
	struct sim_q *q;

	if (c->real != NULL) {
		real_conn_close(c->real); /* frees c */
		return;
	}
	sim = link_sim(c->l);
	q = &c->l->q[c->side];

	ep_owned(c);
	ut_assert(!c->closed || c->dead);
	if (c->closed)
		return;
	if (c->side == 1) {
		ut_assert(sim->live_conns > 0);
		sim->live_conns--;
	}
	if (c->side == 1 && !sim->target_up) {
		/* Power loss: no FIN ever leaves. */
		c->dead = true;
	} else if (c->side == 1 && c->err == 0 && q_file_in_flight(q)) {
		/* env.h conn_close: bytes sent from a file and not yet
		 * acknowledged never arrive -- the connection is reset */
		SIM_TRACE(sim,
			  "net c%llu target resets (bytes from a file "
			  "unacknowledged)",
			  (unsigned long long)c->l->id);
		q_purge(q);
		q->shut = false;
		send_rst(c);
	} else if (!q->shut && c->err == 0) {
		struct seg *s;

		q->shut = true;
		s = q_push(q, NULL, 0);
		s->fin = true;
	}
	SIM_TRACE(sim, "net c%llu %s closes%s", (unsigned long long)c->l->id,
		  c->side ? "target" : "initiator", c->dead ? " (dead)" : "");
	sim_ep_close(c);
}

void sim_conn_shutdown_write(struct env_conn *c)
{
	struct sim_q *q;
	struct seg *s;

	if (c->real != NULL) {
		real_conn_shutdown_write(c->real);
		return;
	}
	q = &c->l->q[c->side];
	if (c->closed || q->shut)
		return;
	SIM_TRACE(link_sim(c->l), "fault c%llu half-close (FIN) from initiator",
		  (unsigned long long)c->l->id);
	q->shut = true;
	s = q_push(q, NULL, 0);
	s->fin = true;
}

void sim_conn_reset(struct env_conn *c)
{
	struct sim_link *l = c->l;

	if (c->real != NULL) {
		real_conn_reset(c->real);
		return;
	}
	if (c->closed)
		return;
	SIM_TRACE(link_sim(l), "fault c%llu RST from %s",
		  (unsigned long long)l->id, c->side ? "target" : "initiator");
	q_purge(&l->q[c->side]);
	l->q[c->side].shut = false;
	send_rst(c);
	q_purge(&l->q[1 - c->side]);
	c->err = -ECONNRESET;
	c->rx_len = 0;
	c->rx_off = 0;
	ep_wake_read(c);
}

void sim_conn_vanish(struct env_conn *c)
{
	if (c->real != NULL) {
		real_conn_vanish(c->real); /* frees c */
		return;
	}
	SIM_TRACE(link_sim(c->l), "fault c%llu initiator host vanishes",
		  (unsigned long long)c->l->id);
	c->dead = true;
	q_purge(&c->l->q[c->side]);
	c->l->q[c->side].shut = true;
	sim_ep_close(c);
}

void sim_conn_stall(struct env_conn *c, unsigned int dirs, bool stalled)
{
	struct sim_link *l = c->l;

	if (c->real != NULL)
		return; /* not ours to hold up (the runner skips the verb) */
	for (int i = 0; i < 2; i++) {
		struct sim_q *q = &l->q[i];

		if ((q_dirmask(q) & dirs) == 0)
			continue;
		q->stalled = stalled;
		if (!stalled) {
			uint64_t at = link_sim(l)->now_ns + sim_link_latency(l);
			struct seg *s;

			TAILQ_FOREACH (s, &q->segs, link)
				if (s->at_ns < at)
					s->at_ns = at;
		}
		q_schedule(q);
	}
}

void sim_conn_corrupt(struct env_conn *c, unsigned int dirs, unsigned int count)
{
	struct sim_link *l = c->l;

	if (c->real != NULL)
		return;
	if (dirs & SIM_TO_TARGET)
		l->q[0].corrupt += count;
	if (dirs & SIM_FROM_TARGET)
		l->q[1].corrupt += count;
}

void sim_conn_set_corrupt_hook(struct env_conn *c, sim_corrupt_fn fn, void *arg)
{
	c->corrupt_fn = fn;
	c->corrupt_arg = arg;
}

uint64_t sim_conn_id(const struct env_conn *c)
{
	return c->real != NULL ? real_conn_id(c->real) : c->l->id;
}

uint64_t sim_conn_peer_read(const struct env_conn *c)
{
	return c->real != NULL ? 0 : c->l->ep[1 - c->side].rx_read;
}

bool sim_conn_peer_open(const struct env_conn *c)
{
	if (c->real != NULL)
		return real_conn_peer_open(c->real);
	return !c->l->ep[1].closed;
}

struct env_conn *sim_conn_wrap_real(struct real_conn *rc)
{
	struct env_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	c->real = rc;
	return c;
}

void sim_conn_unwrap_real(struct env_conn *c)
{
	free(c);
}

bool sim_host_open_at_target(const struct sim_host *h,
			     const struct env_conn *except)
{
	const struct sim_link *l;

	/* Against a real target we cannot see its side of a connection:
	 * what was sent may still arrive (the oracles stay cautious). */
	if (h->sim->real != NULL)
		return true;
	TAILQ_FOREACH (l, &h->sim->net->links, link)
		if (l->host == h && &l->ep[0] != except && l->syn_tries < 0 &&
		    !l->ep[1].closed && !l->ep[1].dead)
			return true;
	return false;
}

/* ------------------------------------------------------------- hosts */

struct sim_host *sim_host_new(struct sim *sim, const char *name)
{
	struct sim_host *h = calloc(1, sizeof(*h));

	if (h == NULL)
		abort();
	h->sim = sim;
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->cfg = sim->net->dflt;
	h->index = sim->net->host_count++;
	TAILQ_INSERT_TAIL(&sim->net->hosts, h, link);
	return h;
}

const char *sim_host_name(const struct sim_host *h)
{
	return h->name;
}
struct sim_link_cfg *sim_host_cfg(struct sim_host *h)
{
	return &h->cfg;
}

void sim_net_set_default(struct sim *sim, const struct sim_link_cfg *cfg,
			 bool apply_all)
{
	struct sim_host *h;

	sim->net->dflt = *cfg;
	if (apply_all)
		TAILQ_FOREACH (h, &sim->net->hosts, link)
			h->cfg = *cfg;
}

const struct sim_link_cfg *sim_net_default(struct sim *sim)
{
	return &sim->net->dflt;
}

void sim_host_block(struct sim_host *h, unsigned int dirs, bool blocked)
{
	struct sim *sim = h->sim;
	struct sim_link *l;

	if (blocked)
		h->blocked |= dirs;
	else
		h->blocked &= ~dirs;
	TAILQ_FOREACH (l, &sim->net->links, link) {
		if (l->host != h)
			continue;
		for (int i = 0; i < 2; i++) {
			struct sim_q *q = &l->q[i];
			uint64_t at = sim->now_ns + sim_link_latency(l);
			struct seg *s;

			if ((q_dirmask(q) & dirs) == 0)
				continue;
			if (!blocked)
				TAILQ_FOREACH (s, &q->segs, link)
					if (s->at_ns < at)
						s->at_ns = at;
			q_schedule(q);
		}
	}
}
