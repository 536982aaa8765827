/*
 * pcap_tcp.c — reassemble TCP streams from a capture (pcap_tcp.h).
 *
 * Per direction of a connection:
 *
 *   next_seq/next_off  the next byte the receiver expects, as a sequence
 *                      number and as a stream offset (64 bits: streams
 *                      longer than 4 GiB wrap the sequence space)
 *   early              segments that came before their turn, by offset
 *
 *   segment at offset o, n bytes:
 *     o + n <= next_off        all seen before: a retransmission
 *     o < next_off < o + n     the new tail is passed on
 *     o == next_off            passed on, then every early segment that
 *                              now fits
 *     o > next_off             kept early (out of order), up to a limit
 *   peer ACKs a > next_seq with nothing early at next_off:
 *                              the bytes up to a are a gap
 *   end of capture, FIN or RST with early segments: the bytes before the
 *                              first early one are a gap
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcap_tcp.h"

#define PTCP_MAX_CONNS 4096
#define PTCP_EARLY_MAX_BYTES (16u << 20) /* held out of order, per dir */

struct ptcp_seg {
	struct ptcp_seg *next;
	uint64_t off;
	uint32_t len;
	uint8_t data[];
};

struct ptcp_dir {
	bool started; /* next_* valid */
	bool ended;
	bool fin;	  /* a FIN came: it takes one sequence number */
	uint32_t fin_seq; /* ... this one */
	uint32_t next_seq;
	uint64_t next_off;
	struct ptcp_seg *early; /* sorted by off */
	uint64_t early_bytes;
};

struct ptcp_conn {
	unsigned id;
	uint8_t ip[2][16]; /* [0] initiator, [1] target */
	uint16_t port[2];
	int family;
	struct ptcp_dir d[2];
};

struct ptcp {
	uint16_t port;
	const struct ptcp_cb *cb;
	struct ptcp_stats *st;
	struct ptcp_conn *conns[PTCP_MAX_CONNS];
	unsigned nconns;
	double t_s;
};

/* --------------------------------------------------------- streams */

static void deliver(struct ptcp *x, struct ptcp_conn *c, int dir,
		    const uint8_t *p, uint32_t n)
{
	struct ptcp_dir *d = &c->d[dir];

	d->next_seq += n;
	d->next_off += n;
	x->st->bytes_delivered += n;
	if (x->cb->data != NULL && n > 0)
		x->cb->data(x->cb->arg, c->id, dir, p, n, x->t_s);
}

/* Pass on early segments that now fit (trimming what was seen). */
static void drain(struct ptcp *x, struct ptcp_conn *c, int dir)
{
	struct ptcp_dir *d = &c->d[dir];
	struct ptcp_seg *s;

	while ((s = d->early) != NULL && s->off <= d->next_off) {
		uint64_t end = s->off + s->len;

		d->early = s->next;
		d->early_bytes -= s->len;
		if (end > d->next_off) {
			uint32_t skip = (uint32_t)(d->next_off - s->off);

			x->st->retransmitted_bytes += skip;
			deliver(x, c, dir, s->data + skip, s->len - skip);
		} else {
			x->st->retransmitted_bytes += s->len;
		}
		free(s);
	}
}

static void gap(struct ptcp *x, struct ptcp_conn *c, int dir, uint64_t n)
{
	struct ptcp_dir *d = &c->d[dir];

	x->st->gaps++;
	x->st->gap_bytes += n;
	d->next_seq += (uint32_t)n;
	d->next_off += n;
	if (x->cb->gap != NULL)
		x->cb->gap(x->cb->arg, c->id, dir, n, x->t_s);
	drain(x, c, dir);
}

/* The capture will not bring what is missing before the early ones. */
static void flush_early(struct ptcp *x, struct ptcp_conn *c, int dir)
{
	struct ptcp_dir *d = &c->d[dir];

	while (d->early != NULL)
		gap(x, c, dir, d->early->off - d->next_off);
}

static void keep_early(struct ptcp *x, struct ptcp_conn *c, int dir,
		       uint64_t off, const uint8_t *p, uint32_t n)
{
	struct ptcp_dir *d = &c->d[dir];
	struct ptcp_seg **pp = &d->early, *s;

	x->st->out_of_order_segments++;
	while (*pp != NULL && (*pp)->off <= off) {
		if ((*pp)->off == off && (*pp)->len >= n) {
			x->st->retransmitted_bytes += n; /* the same again */
			return;
		}
		pp = &(*pp)->next;
	}
	s = malloc(sizeof(*s) + n);
	if (s == NULL)
		abort();
	s->off = off;
	s->len = n;
	memcpy(s->data, p, n);
	s->next = *pp;
	*pp = s;
	d->early_bytes += n;
	/* A hole that much data has not filled will not be filled. */
	if (d->early_bytes > PTCP_EARLY_MAX_BYTES)
		flush_early(x, c, dir);
}

static void segment(struct ptcp *x, struct ptcp_conn *c, int dir, uint32_t seq,
		    const uint8_t *p, uint32_t n)
{
	struct ptcp_dir *d = &c->d[dir];
	uint64_t off;
	int32_t rel;

	if (!d->started) {
		/* no SYN seen: the stream starts here */
		d->started = true;
		d->next_seq = seq;
		d->next_off = 0;
	}
	rel = (int32_t)(seq - d->next_seq);
	if (rel < 0 && (uint64_t)(-(int64_t)rel) > d->next_off)
		return; /* before the stream began: nonsense */
	off = d->next_off + (uint64_t)(int64_t)rel;
	if (off + n <= d->next_off) {
		x->st->retransmitted_bytes += n;
		return;
	}
	if (off > d->next_off) {
		keep_early(x, c, dir, off, p, n);
		return;
	}
	x->st->retransmitted_bytes += d->next_off - off;
	deliver(x, c, dir, p + (d->next_off - off),
		(uint32_t)(n - (d->next_off - off)));
	drain(x, c, dir);
}

/* The peer acknowledged up to ack: bytes before it that the capture
 * does not have are a gap (the receiver had them). */
static void acked(struct ptcp *x, struct ptcp_conn *c, int dir, uint32_t ack)
{
	struct ptcp_dir *d = &c->d[dir];
	int32_t ahead;

	if (!d->started)
		return;
	ahead = (int32_t)(ack - d->next_seq);
	if (ahead <= 0 || ahead > (1 << 30))
		return;
	/* the FIN's own sequence number is no byte */
	if (d->fin && (int32_t)(ack - d->fin_seq) >= 1 &&
	    (int32_t)(d->fin_seq - d->next_seq) >= 0)
		ahead = (int32_t)(d->fin_seq - d->next_seq);
	if (ahead <= 0)
		return;
	if (d->early != NULL && d->early->off <= d->next_off + (uint32_t)ahead)
		gap(x, c, dir, d->early->off - d->next_off);
	else
		gap(x, c, dir, (uint32_t)ahead);
}

/* ------------------------------------------------------- packets */

static struct ptcp_conn *conn_find(struct ptcp *x, int family,
				   const uint8_t *src, uint16_t sport,
				   const uint8_t *dst, uint16_t dport, int *dir,
				   bool syn_only)
{
	size_t alen = family == 4 ? 4 : 16;
	const uint8_t *ini, *tgt;
	uint16_t iport;
	struct ptcp_conn *c;
	char a[64], b[64];

	if (dport == x->port) {
		*dir = 0;
		ini = src, tgt = dst, iport = sport;
	} else if (sport == x->port) {
		*dir = 1;
		ini = dst, tgt = src, iport = dport;
	} else {
		return NULL;
	}
	/* the newest first: a port used again is a new connection */
	for (unsigned i = x->nconns; i-- > 0;) {
		c = x->conns[i];
		if (c->family == family && c->port[0] == iport &&
		    memcmp(c->ip[0], ini, alen) == 0 &&
		    memcmp(c->ip[1], tgt, alen) == 0) {
			if (syn_only && c->d[0].ended && c->d[1].ended)
				break; /* a new SYN after both ends closed */
			return c;
		}
	}
	if (x->nconns == PTCP_MAX_CONNS)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		abort();
	c->id = x->nconns + 1;
	c->family = family;
	memcpy(c->ip[0], ini, alen);
	memcpy(c->ip[1], tgt, alen);
	c->port[0] = iport;
	c->port[1] = x->port;
	x->conns[x->nconns++] = c;
	x->st->connections++;
	inet_ntop(family == 4 ? AF_INET : AF_INET6, ini, a, sizeof(a));
	inet_ntop(family == 4 ? AF_INET : AF_INET6, tgt, b, sizeof(b));
	{
		char ia[80], ta[80];

		snprintf(ia, sizeof(ia), "%s:%u", a, iport);
		snprintf(ta, sizeof(ta), "%s:%u", b, x->port);
		if (x->cb->conn != NULL)
			x->cb->conn(x->cb->arg, c->id, ia, ta, x->t_s);
	}
	return c;
}

static void tcp_packet(struct ptcp *x, int family, const uint8_t *src,
		       const uint8_t *dst, const uint8_t *p, size_t n)
{
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	size_t hl;
	struct ptcp_conn *c;
	int dir;

	if (n < 20) {
		x->st->unusable_packets++;
		return;
	}
	sport = (uint16_t)(p[0] << 8 | p[1]);
	dport = (uint16_t)(p[2] << 8 | p[3]);
	seq = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
	      (uint32_t)p[6] << 8 | p[7];
	ack = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 |
	      (uint32_t)p[10] << 8 | p[11];
	hl = (size_t)(p[12] >> 4) * 4;
	flags = p[13];
	if (hl < 20 || hl > n) {
		x->st->unusable_packets++;
		return;
	}
	x->st->tcp_packets++;
	/* no port given: the first connection's SYN names the target */
	if (x->port == 0 && (flags & 0x12) == 0x02)
		x->port = dport;
	if (x->port == 0)
		return;
	c = conn_find(x, family, src, sport, dst, dport, &dir,
		      (flags & 0x02) && !(flags & 0x10));
	if (c == NULL)
		return;
	if (flags & 0x02) { /* SYN: the stream starts after it */
		if (!c->d[dir].started) {
			c->d[dir].started = true;
			c->d[dir].next_seq = seq + 1;
			c->d[dir].next_off = 0;
		}
		return;
	}
	if (n > hl)
		segment(x, c, dir, seq, p + hl, (uint32_t)(n - hl));
	if ((flags & 0x01) && !c->d[dir].fin) {
		c->d[dir].fin = true;
		c->d[dir].fin_seq = seq + (uint32_t)(n - hl);
	}
	if (flags & 0x10)
		acked(x, c, 1 - dir, ack);
	if ((flags & 0x05) && !c->d[dir].ended) { /* FIN or RST */
		c->d[dir].ended = true;
		flush_early(x, c, dir);
		if (x->cb->end != NULL)
			x->cb->end(x->cb->arg, c->id, dir, (flags & 0x04) != 0,
				   x->t_s);
	}
}

static void ip_packet(struct ptcp *x, const uint8_t *p, size_t n)
{
	if (n >= 20 && p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4;
		size_t tot = (size_t)(p[2] << 8 | p[3]);

		if (ihl < 20 || tot < ihl || tot > n) {
			x->st->unusable_packets++;
			return;
		}
		/* fragments: MF set or an offset */
		if ((p[6] & 0x20) || ((p[6] & 0x1f) | p[7])) {
			x->st->unusable_packets++;
			return;
		}
		if (p[9] == 6)
			tcp_packet(x, 4, p + 12, p + 16, p + ihl, tot - ihl);
		return;
	}
	if (n >= 40 && p[0] >> 4 == 6) {
		size_t plen = (size_t)(p[4] << 8 | p[5]), off = 40;
		uint8_t next = p[6];

		if (40 + plen > n) {
			x->st->unusable_packets++;
			return;
		}
		/* hop-by-hop, routing, destination options */
		while ((next == 0 || next == 43 || next == 60) &&
		       off + 8 <= 40 + plen) {
			next = p[off];
			off += ((size_t)p[off + 1] + 1) * 8;
		}
		if (next == 6 && off <= 40 + plen)
			tcp_packet(x, 6, p + 8, p + 24, p + off,
				   40 + plen - off);
		else if (next != 6)
			x->st->unusable_packets++;
		return;
	}
	x->st->unusable_packets++;
}

static void ether_type_packet(struct ptcp *x, uint16_t type, const uint8_t *p,
			      size_t n)
{
	while (type == 0x8100 || type == 0x88a8) { /* VLAN tags */
		if (n < 4)
			return;
		type = (uint16_t)(p[2] << 8 | p[3]);
		p += 4;
		n -= 4;
	}
	if (type == 0x0800 || type == 0x86dd)
		ip_packet(x, p, n);
	else
		x->st->unusable_packets++;
}

static void link_packet(struct ptcp *x, int dlt, const uint8_t *p, size_t n)
{
	x->st->packets++;
	switch (dlt) {
	case DLT_EN10MB:
		if (n >= 14)
			ether_type_packet(x, (uint16_t)(p[12] << 8 | p[13]),
					  p + 14, n - 14);
		break;
	case DLT_LINUX_SLL:
		if (n >= 16)
			ether_type_packet(x, (uint16_t)(p[14] << 8 | p[15]),
					  p + 16, n - 16);
		break;
	case DLT_LINUX_SLL2:
		if (n >= 20)
			ether_type_packet(x, (uint16_t)(p[0] << 8 | p[1]),
					  p + 20, n - 20);
		break;
	case DLT_NULL:
	case DLT_LOOP:
		if (n >= 4)
			ip_packet(x, p + 4, n - 4);
		break;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		ip_packet(x, p, n);
		break;
	default:
		x->st->unusable_packets++;
	}
}

int ptcp_read(const char *path, uint16_t port, const struct ptcp_cb *cb,
	      struct ptcp_stats *st, char *err, size_t errcap)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pc = pcap_open_offline(path, ebuf);
	struct ptcp x = {.port = port, .cb = cb, .st = st};
	struct pcap_pkthdr *h;
	const u_char *data;
	int dlt, rc;

	memset(st, 0, sizeof(*st));
	if (pc == NULL) {
		snprintf(err, errcap, "%s", ebuf);
		return -1;
	}
	dlt = pcap_datalink(pc);
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		x.t_s = (double)h->ts.tv_sec + (double)h->ts.tv_usec * 1e-6;
		/* a snap length that cut the packet: what is left is used,
		 * and the IP length check refuses the rest */
		link_packet(&x, dlt, data, h->caplen);
	}
	if (rc == -1)
		snprintf(err, errcap, "%s", pcap_geterr(pc));
	/* the capture ends: what is still waiting came after a gap */
	for (unsigned i = 0; i < x.nconns; i++) {
		for (int d = 0; d < 2; d++)
			flush_early(&x, x.conns[i], d);
		free(x.conns[i]);
	}
	pcap_close(pc);
	return rc == -1 ? -1 : 0;
}
