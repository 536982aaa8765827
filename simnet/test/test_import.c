/*
 * test_import.c — the capture side of `utarget-sim import`: TCP
 * reassembly (pcap_tcp.c) on hand-made captures, and the observer's PDU
 * decoder (iscsi_stream.c) on what comes out.
 *
 * Each capture is written here with libpcap (pcap_open_dead +
 * pcap_dump), one TCP connection on loopback, Ethernet framing, with
 * the segments in the order, repeated or missing as the test says; the
 * files stay in build/test/import/ for a person (tcpdump -r) to look at.
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "iscsi/pdu.h"
#include "iscsi_stream.h"
#include "pcap_tcp.h"

static int failures, checks;

#define CHECK(cond, ...)                                            \
	do {                                                        \
		checks++;                                           \
		if (!(cond)) {                                      \
			failures++;                                 \
			printf("FAIL %s:%d: ", __func__, __LINE__); \
			printf(__VA_ARGS__);                        \
			printf("\n");                               \
		}                                                   \
	} while (0)

/* ------------------------------------------------- writing captures */

#define INI_PORT 40000
#define TGT_PORT 3260
#define ISN_I 1000000u
#define ISN_T 7000000u

struct capw {
	pcap_t *pd;
	pcap_dumper_t *d;
	long usec;
};

static void capw_open(struct capw *w, const char *name)
{
	char path[256];

	mkdir("build", 0777);
	mkdir("build/test", 0777);
	mkdir("build/test/import", 0777);
	snprintf(path, sizeof(path), "build/test/import/%s", name);
	w->pd = pcap_open_dead(DLT_EN10MB, 65535);
	w->d = pcap_dump_open(w->pd, path);
	if (w->d == NULL) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
	w->usec = 0;
}

static const char *capw_close(struct capw *w, const char *name)
{
	static char path[256];

	pcap_dump_close(w->d);
	pcap_close(w->pd);
	snprintf(path, sizeof(path), "build/test/import/%s", name);
	return path;
}

/* One TCP segment; dir 0 initiator -> target. */
static void seg(struct capw *w, int dir, uint32_t seq, uint32_t ack,
		uint8_t flags, const uint8_t *data, size_t n)
{
	uint8_t pkt[14 + 20 + 20 + 2048];
	uint8_t *ip = pkt + 14, *tcp = ip + 20;
	struct pcap_pkthdr h;
	uint16_t sport = dir ? TGT_PORT : INI_PORT;
	uint16_t dport = dir ? INI_PORT : TGT_PORT;
	size_t tot = 20 + 20 + n;

	memset(pkt, 0, 14 + 40);
	pkt[12] = 0x08; /* IPv4 */
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = 127, ip[15] = 1;
	ip[16] = 127, ip[19] = 1;
	tcp[0] = (uint8_t)(sport >> 8), tcp[1] = (uint8_t)sport;
	tcp[2] = (uint8_t)(dport >> 8), tcp[3] = (uint8_t)dport;
	put_be32(tcp + 4, seq);
	put_be32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	if (n > 0) /* data may be NULL for a bare SYN, FIN or ACK */
		memcpy(tcp + 20, data, n);
	memset(&h, 0, sizeof(h));
	w->usec += 100;
	h.ts.tv_sec = 1 + w->usec / 1000000;
	h.ts.tv_usec = (int)(w->usec % 1000000);
	h.caplen = h.len = (uint32_t)(14 + tot);
	pcap_dump((u_char *)w->d, &h, pkt);
}

#define F_SYN 0x02
#define F_ACK 0x10
#define F_FIN 0x01
#define F_RST 0x04

static void handshake(struct capw *w)
{
	seg(w, 0, ISN_I, 0, F_SYN, NULL, 0);
	seg(w, 1, ISN_T, ISN_I + 1, F_SYN | F_ACK, NULL, 0);
	seg(w, 0, ISN_I + 1, ISN_T + 1, F_ACK, NULL, 0);
}

/* ------------------------------------------------- reading them back */

struct got {
	uint8_t bytes[2][65536];
	size_t len[2];
	uint64_t gap[2];
	int gaps, conns, ends;
	struct iss_conn ic;
	struct iss_dir d[2];
	int pdus[2];
	uint8_t ops[2][64];
	int notes;
};

static void on_pdu(void *arg, const struct iss_pdu *p)
{
	struct got *g = arg;

	if (g->pdus[p->dir] < 64)
		g->ops[p->dir][g->pdus[p->dir]] = p->opcode;
	g->pdus[p->dir]++;
}

static void on_note(void *arg, int dir, uint64_t off, const char *what)
{
	struct got *g = arg;

	(void)dir, (void)off, (void)what;
	g->notes++;
}

static void cb_conn(void *arg, unsigned c, const char *i, const char *t,
		    double ts)
{
	struct got *g = arg;

	(void)c, (void)i, (void)t, (void)ts;
	g->conns++;
}

static void cb_data(void *arg, unsigned c, int dir, const uint8_t *p, size_t n,
		    double ts)
{
	struct got *g = arg;

	(void)c, (void)ts;
	if (g->len[dir] + n <= sizeof(g->bytes[dir])) {
		memcpy(g->bytes[dir] + g->len[dir], p, n);
		g->len[dir] += n;
	}
	iss_feed(&g->d[dir], p, n);
}

static void cb_gap(void *arg, unsigned c, int dir, uint64_t n, double ts)
{
	struct got *g = arg;

	(void)c, (void)ts;
	g->gaps++;
	g->gap[dir] += n;
	iss_gap(&g->d[dir], n);
}

static void cb_end(void *arg, unsigned c, int dir, bool rst, double ts)
{
	struct got *g = arg;

	(void)c, (void)dir, (void)rst, (void)ts;
	g->ends++;
}

static struct got *read_back(const char *path, struct ptcp_stats *st)
{
	static struct got g;
	struct ptcp_cb cb = {cb_conn, cb_data, cb_gap, cb_end, &g};
	char err[256];

	memset(&g, 0, sizeof(g));
	for (int d = 0; d < 2; d++)
		iss_dir_init(&g.d[d], &g.ic, d, on_pdu, on_note, &g);
	CHECK(ptcp_read(path, TGT_PORT, &cb, st, err, sizeof(err)) == 0,
	      "ptcp_read %s: %s", path, err);
	for (int d = 0; d < 2; d++)
		iss_dir_free(&g.d[d]);
	return &g;
}

/* ------------------------------------------------------------ data */

/* A Basic Header Segment of opcode op with data_len bytes of data after
 * it (filled with a pattern), as one PDU in buf; returns its size. */
static size_t pdu_make(uint8_t *buf, uint8_t op, uint32_t data_len,
		       uint32_t itt)
{
	size_t n = ISCSI_BHS_LEN + data_len + iscsi_pad4(data_len);

	memset(buf, 0, n);
	buf[0] = op;
	buf[1] = 0x80;
	buf[5] = (uint8_t)(data_len >> 16);
	buf[6] = (uint8_t)(data_len >> 8);
	buf[7] = (uint8_t)data_len;
	put_be32(buf + 16, itt);
	for (uint32_t i = 0; i < data_len; i++)
		buf[ISCSI_BHS_LEN + i] = (uint8_t)(i * 7 + itt);
	return n;
}

/* Ten NOP-Outs with 100 data bytes each: 1,480 bytes. */
static size_t stream_make(uint8_t *buf)
{
	size_t n = 0;

	for (uint32_t i = 0; i < 10; i++)
		n += pdu_make(buf + n, ISCSI_OP_NOP_OUT, 100, i + 1);
	return n;
}

/* ------------------------------------------------------------ tests */

/* In order, in 100-byte segments: every byte once, ten PDUs. */
static void in_order_stream_is_passed_on_whole(void)
{
	uint8_t s[4096];
	size_t n = stream_make(s);
	struct capw w;
	struct ptcp_stats st;
	struct got *g;

	capw_open(&w, "in-order.pcap");
	handshake(&w);
	for (size_t off = 0; off < n; off += 100)
		seg(&w, 0, ISN_I + 1 + (uint32_t)off, ISN_T + 1, F_ACK, s + off,
		    n - off < 100 ? n - off : 100);
	g = read_back(capw_close(&w, "in-order.pcap"), &st);
	CHECK(g->conns == 1, "%d connections", g->conns);
	CHECK(g->len[0] == n && memcmp(g->bytes[0], s, n) == 0,
	      "%zu of %zu bytes, or not the same", g->len[0], n);
	CHECK(g->pdus[0] == 10, "%d PDUs, 10 sent", g->pdus[0]);
	CHECK(st.gaps == 0 && st.retransmitted_bytes == 0 &&
		      st.out_of_order_segments == 0,
	      "gaps %llu retrans %llu ooo %llu", (unsigned long long)st.gaps,
	      (unsigned long long)st.retransmitted_bytes,
	      (unsigned long long)st.out_of_order_segments);
}

/* Segments swapped pairwise (1 0 3 2 5 4 ...): the same stream. */
static void out_of_order_segments_are_put_back_in_order(void)
{
	uint8_t s[4096];
	size_t n = stream_make(s), nseg = (n + 99) / 100;
	struct capw w;
	struct ptcp_stats st;
	struct got *g;

	capw_open(&w, "reordered.pcap");
	handshake(&w);
	for (size_t k = 0; k < nseg; k++) {
		size_t j = k % 2 == 0 ? (k + 1 < nseg ? k + 1 : k) : k - 1;
		size_t off = j * 100;

		seg(&w, 0, ISN_I + 1 + (uint32_t)off, ISN_T + 1, F_ACK, s + off,
		    n - off < 100 ? n - off : 100);
	}
	g = read_back(capw_close(&w, "reordered.pcap"), &st);
	CHECK(g->len[0] == n && memcmp(g->bytes[0], s, n) == 0,
	      "%zu of %zu bytes, or not in order", g->len[0], n);
	CHECK(g->pdus[0] == 10, "%d PDUs", g->pdus[0]);
	CHECK(st.out_of_order_segments >= 7, "%llu out of order",
	      (unsigned long long)st.out_of_order_segments);
	CHECK(st.gaps == 0, "%llu gaps", (unsigned long long)st.gaps);
}

/* Every segment twice, and one retransmission that overlaps the next:
 * the bytes are passed on once. */
static void retransmissions_are_passed_on_once(void)
{
	uint8_t s[4096];
	size_t n = stream_make(s);
	struct capw w;
	struct ptcp_stats st;
	struct got *g;

	capw_open(&w, "retransmitted.pcap");
	handshake(&w);
	for (size_t off = 0; off < n; off += 100) {
		size_t len = n - off < 100 ? n - off : 100;

		seg(&w, 0, ISN_I + 1 + (uint32_t)off, ISN_T + 1, F_ACK, s + off,
		    len);
		seg(&w, 0, ISN_I + 1 + (uint32_t)off, ISN_T + 1, F_ACK, s + off,
		    len);
	}
	/* a late one straddling bytes seen (repacketised) */
	seg(&w, 0, ISN_I + 1 + 50, ISN_T + 1, F_ACK, s + 50, 200);
	g = read_back(capw_close(&w, "retransmitted.pcap"), &st);
	CHECK(g->len[0] == n && memcmp(g->bytes[0], s, n) == 0,
	      "%zu of %zu bytes", g->len[0], n);
	CHECK(st.retransmitted_bytes == n + 200, "%llu retransmitted, %zu",
	      (unsigned long long)st.retransmitted_bytes, n + 200);
	CHECK(g->pdus[0] == 10, "%d PDUs", g->pdus[0]);
}

/* Bytes 400..599 never captured, but acknowledged by the target: one gap
 * of 200 bytes; the decoder loses the PDUs it cut and finds the next
 * BHS. */
static void gap_is_reported_and_the_decoder_finds_its_step(void)
{
	uint8_t s[4096];
	size_t n = stream_make(s);
	struct capw w;
	struct ptcp_stats st;
	struct got *g;

	capw_open(&w, "gap.pcap");
	handshake(&w);
	for (size_t off = 0; off < n; off += 100) {
		if (off == 400 || off == 500)
			continue;
		seg(&w, 0, ISN_I + 1 + (uint32_t)off, ISN_T + 1, F_ACK, s + off,
		    n - off < 100 ? n - off : 100);
		if (off == 300) /* the target saw more than we did */
			seg(&w, 1, ISN_T + 1, ISN_I + 1 + 600, F_ACK, NULL, 0);
	}
	g = read_back(capw_close(&w, "gap.pcap"), &st);
	CHECK(st.gaps == 1 && st.gap_bytes == 200, "gaps %llu bytes %llu",
	      (unsigned long long)st.gaps, (unsigned long long)st.gap_bytes);
	CHECK(g->gap[0] == 200, "gap %llu", (unsigned long long)g->gap[0]);
	CHECK(g->len[0] == n - 200, "%zu bytes passed on", g->len[0]);
	/* PDUs are 148 bytes: at 0 and 148 whole before the gap, the ones
	 * at 296, 444 and 592 cut by it; from 740 on whole again (5) */
	CHECK(g->pdus[0] == 7, "%d PDUs decoded, 7 whole", g->pdus[0]);
	CHECK(g->notes >= 2, "%d notes (lost step, found it)", g->notes);
}

/* A hole at the end that nothing acknowledges: the early segments are
 * passed on after a gap when the capture ends. */
static void hole_left_at_end_of_capture_is_a_gap(void)
{
	uint8_t s[4096];
	size_t n = stream_make(s);
	struct capw w;
	struct ptcp_stats st;
	struct got *g;

	capw_open(&w, "hole-at-end.pcap");
	handshake(&w);
	for (size_t off = 0; off < n; off += 100)
		if (off != 1000)
			seg(&w, 0, ISN_I + 1 + (uint32_t)off, ISN_T + 1, F_ACK,
			    s + off, n - off < 100 ? n - off : 100);
	g = read_back(capw_close(&w, "hole-at-end.pcap"), &st);
	CHECK(st.gaps == 1 && st.gap_bytes == 100, "gaps %llu bytes %llu",
	      (unsigned long long)st.gaps, (unsigned long long)st.gap_bytes);
	CHECK(g->len[0] == n - 100, "%zu bytes passed on", g->len[0]);
}

/* FIN and its ACK: the FIN's sequence number is no missing byte. */
static void fin_is_no_gap(void)
{
	uint8_t s[4096];
	size_t n = pdu_make(s, ISCSI_OP_NOP_OUT, 0, 1);
	struct capw w;
	struct ptcp_stats st;
	struct got *g;

	capw_open(&w, "fin.pcap");
	handshake(&w);
	seg(&w, 0, ISN_I + 1, ISN_T + 1, F_ACK, s, n);
	seg(&w, 0, ISN_I + 1 + (uint32_t)n, ISN_T + 1, F_ACK | F_FIN, NULL, 0);
	seg(&w, 1, ISN_T + 1, ISN_I + 2 + (uint32_t)n, F_ACK | F_FIN, NULL, 0);
	seg(&w, 0, ISN_I + 2 + (uint32_t)n, ISN_T + 2, F_ACK, NULL, 0);
	g = read_back(capw_close(&w, "fin.pcap"), &st);
	CHECK(st.gaps == 0, "%llu gaps", (unsigned long long)st.gaps);
	CHECK(g->ends == 2, "%d ends", g->ends);
	CHECK(g->pdus[0] == 1, "%d PDUs", g->pdus[0]);
}

/* No SYN (the capture started mid-stream) and header digests: the
 * decoder finds the digest by its CRC and cuts the PDUs right. */
static void mid_stream_capture_finds_header_digests(void)
{
	uint8_t s[4096];
	size_t n = 0;
	struct capw w;
	struct ptcp_stats st;
	struct got *g;

	for (uint32_t i = 0; i < 3; i++) {
		size_t k = pdu_make(s + n, ISCSI_OP_NOP_OUT, 8, i + 1);
		uint32_t d = iscsi_digest(s + n, ISCSI_BHS_LEN);
		uint8_t dig[4] = {(uint8_t)d, (uint8_t)(d >> 8),
				  (uint8_t)(d >> 16), (uint8_t)(d >> 24)};

		/* BHS, digest, data */
		memmove(s + n + ISCSI_BHS_LEN + 4, s + n + ISCSI_BHS_LEN,
			k - ISCSI_BHS_LEN);
		memcpy(s + n + ISCSI_BHS_LEN, dig, 4);
		n += k + 4;
	}
	capw_open(&w, "mid-stream-digests.pcap");
	seg(&w, 0, 555, 777, F_ACK, s, n);
	g = read_back(capw_close(&w, "mid-stream-digests.pcap"), &st);
	CHECK(g->pdus[0] == 3, "%d PDUs, 3 with header digests", g->pdus[0]);
	CHECK(g->ic.hd, "header digest not found");
}

int main(void)
{
	in_order_stream_is_passed_on_whole();
	out_of_order_segments_are_put_back_in_order();
	retransmissions_are_passed_on_once();
	gap_is_reported_and_the_decoder_finds_its_step();
	hole_left_at_end_of_capture_is_a_gap();
	fin_is_no_gap();
	mid_stream_capture_finds_header_digests();
	printf("test_import: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
