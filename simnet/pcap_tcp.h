/*
 * pcap_tcp.h — TCP byte streams out of a capture file (pcap or pcapng,
 * read with libpcap), for `utarget-sim import` (import.c).
 *
 * Link layers: Ethernet (with 802.1Q tags; what tcpdump -i lo writes on
 * Linux), Linux cooked v1 and v2 (tcpdump -i any), BSD loopback and raw
 * IPv4/IPv6.  IPv4 fragments and IPv6 extension headers other than
 * hop-by-hop, routing and destination options are not followed (counted
 * as unusable packets).
 *
 * Each direction of a connection is reassembled as its receiver saw it:
 * sequence numbers relative to the SYN (or to the first segment when the
 * capture starts mid-stream); a segment that repeats bytes already passed
 * on (a retransmission) is trimmed; one that comes early (out of order)
 * waits until the bytes before it come.  Bytes the capture never had (the
 * kernel dropped them, or the capture started late) are a gap: known as
 * soon as the peer acknowledges beyond them, or when the stream ends with
 * segments still waiting.  A gap is passed on as such (the decoder must
 * find its step again) and counted.
 *
 * Only connections with one end on `port` are followed; the end with
 * that port is the target, its peer the initiator (dir 0: initiator to
 * target).  Port 0: the port the first SYN went to.
 */
#ifndef UT_SIM_PCAP_TCP_H
#define UT_SIM_PCAP_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ptcp_stats {
	uint64_t packets, tcp_packets, unusable_packets;
	uint64_t bytes_delivered;
	uint64_t retransmitted_bytes; /* seen twice or more */
	uint64_t out_of_order_segments;
	uint64_t gaps, gap_bytes;
	uint64_t connections;
};

struct ptcp_cb {
	/* a new connection (conn counts from 1); addresses are printable */
	void (*conn)(void *arg, unsigned conn, const char *initiator_addr,
		     const char *target_addr, double t_s);
	/* in-order bytes of a direction */
	void (*data)(void *arg, unsigned conn, int dir, const uint8_t *p,
		     size_t n, double t_s);
	/* n bytes of a direction the capture does not have */
	void (*gap)(void *arg, unsigned conn, int dir, uint64_t n, double t_s);
	/* FIN (rst false) or RST from dir's sender */
	void (*end)(void *arg, unsigned conn, int dir, bool rst, double t_s);
	void *arg;
};

/* Read path; 0, or -1 with err filled (a file libpcap cannot open). */
int ptcp_read(const char *path, uint16_t port, const struct ptcp_cb *cb,
	      struct ptcp_stats *st, char *err, size_t errcap);

#endif
