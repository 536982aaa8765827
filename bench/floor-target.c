/*
 * floor-target — the least an iSCSI target can do over TCP: the floor
 * against which `make bench` measures utarget (docs/performance.md, "The
 * floor of this host").
 *
 *   floor-target --listen 127.0.0.1:PORT [--file PATH [--mmap]]
 *                [--size BYTES] [--poll-us N]
 *
 * One thread, non-blocking sockets, level-triggered epoll, TCP_NODELAY.
 * One LUN (LUN 0, any target name), 512-byte blocks, read only.  A turn
 * of a connection is:
 *
 *   epoll_wait -> one recv of up to RX_BYTES -> every complete PDU
 *   answered into one arena -> one sendmsg of all the answers (iovecs)
 *
 * and an unsent tail is kept: the connection reads nothing more until it
 * has gone (EPOLLOUT).  With --poll-us N the connection spins on recv for
 * up to N µs after a turn before it sleeps in epoll_wait again.
 *
 * The grammar it speaks (RFC 7143):
 *
 *   login    Login Requests, security (CSG 0) and/or operational (CSG 1)
 *            stage, answered as a plain target answers (§13: digests None,
 *            MaxRecvDataSegmentLength 262144, the burst lengths at most
 *            262144, ImmediateData and InitialR2T as offered, ...); the
 *            transit to full feature phase (NSG 3) ends it.  No CHAP, no
 *            discovery (SendTargets), no multi-PDU text (C bit).
 *   feature  SCSI Command: READ(10/16) answered with Data-In cut at the
 *            initiator's MaxRecvDataSegmentLength, status in the last one
 *            (S bit, §11.7.4), from a static zero buffer or (--file) by
 *            pread from a file (--mmap: Data-In points into a shared
 *            mapping of it, so the send's copy is the only one, as
 *            utarget's file LUN does for large reads); INQUIRY (standard; VPD 00h, 80h, 83h,
 *            B0h, B1h), READ CAPACITY(10/16), REPORT LUNS, TEST UNIT
 *            READY, MODE SENSE(6/10) (header only); anything else CHECK
 *            CONDITION, ILLEGAL REQUEST.  NOP-Out -> NOP-In, Logout ->
 *            Logout Response (then close), Task Management -> function
 *            complete, Data-Out ignored, other opcodes -> Reject.
 *
 * Network input is hostile: every length from the wire is checked, and
 * anything malformed (a data segment over the limit of its phase, a PDU
 * out of its phase, bad login text) drops the connection.  On SIGINT or
 * SIGTERM it prints what it did (PDUs per recv and per sendmsg) and exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Limits on what the network can make us hold. */
#define BHS 48			  /* basic header segment */
#define MY_MRDSL 262144u	  /* what we declare we receive per PDU */
#define LOGIN_DSL 8192u		  /* data segment before full feature phase */
#define RX_BYTES (1u << 20)	  /* one recv: >= a whole largest PDU */
#define MAX_READ_BYTES (8u << 20) /* one READ command's data */
#define ARENA_BYTES (MAX_READ_BYTES + (256u << 10)) /* one turn's answers */
#define MAX_IOV 1024				    /* IOV_MAX */
#define MAX_CONNS 64
#define CMD_WINDOW 128	   /* MaxCmdSN - ExpCmdSN + 1 */
#define ZERO_BYTES 262144u /* the zero buffer; also caps a Data-In */
#define BLOCK_BYTES 512u

/* SCSI status and sense (SPC-4 §4.5) */
#define ST_GOOD 0x00
#define ST_CHECK 0x02
#define SK_MEDIUM 0x03
#define SK_ILLEGAL 0x05

static const char *file_path;
static int file_fd = -1;
static bool use_map;
static const uint8_t *file_map; /* --mmap: the whole file, read only */
static uint64_t capacity_bytes = 1ull << 30;
static long poll_us;
static volatile sig_atomic_t stopping;
static uint8_t zero_buf[ZERO_BYTES];
static unsigned int live_conns;
static uint64_t n_conns, n_pdus_rx, n_recv_calls, n_pdus_tx, n_send_calls;

struct conn {
	int fd;
	bool ffp;	/* in full feature phase */
	bool closing;	/* close once the answers are sent */
	bool tpgt_sent; /* TargetPortalGroupTag went with the first answer */
	uint8_t stage;	/* login: the current stage (0 security, 1 op) */
	uint32_t stat_sn;
	uint32_t exp_cmd_sn;
	uint32_t xmit_dsl; /* the initiator's MaxRecvDataSegmentLength */
	uint32_t max_burst;
	uint8_t *rx;
	size_t rx_len;
	uint8_t *arena; /* this turn's headers and file data */
	size_t arena_used;
	struct iovec iov[MAX_IOV];
	int iov_n, iov_at; /* iov[iov_at..iov_n) still to send */
	unsigned int tx_pdus;
};

/* What handling a PDU came to. */
enum { PDU_DONE, PDU_NO_ROOM, PDU_DROP };

static void usage(FILE *f)
{
	fprintf(f, "usage: floor-target --listen 127.0.0.1:PORT [--file PATH "
		   "[--mmap]] [--size BYTES] [--poll-us N]\n"
		   "  --listen ADDR:PORT  where to listen (IPv4)\n"
		   "  --file PATH         READs are pread from PATH (default: "
		   "zeros)\n"
		   "  --mmap              with --file: send from a mapping of "
		   "PATH (no pread)\n"
		   "  --size BYTES        the LUN's capacity (default 1 GiB, "
		   "or PATH's size)\n"
		   "  --poll-us N         spin on recv up to N us before "
		   "sleeping (default 0)\n"
		   "The least an iSCSI target can do: one LUN, reads only "
		   "(bench/floor-target.c).\n");
}

static uint32_t get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static size_t pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- the turn's answers ------------------------------------------------- */

static bool room(const struct conn *c, size_t bytes, int iovs)
{
	/* + 64: take() rounds each piece up to 8 bytes */
	return c->arena_used + bytes + 64 <= ARENA_BYTES &&
	       c->iov_n + iovs <= MAX_IOV;
}

/* bytes of the arena, zeroed; the caller has checked room() */
static uint8_t *take(struct conn *c, size_t bytes)
{
	uint8_t *p = c->arena + c->arena_used;

	if (c->arena_used + bytes > ARENA_BYTES)
		abort(); /* room() was not asked: our bug */
	c->arena_used += (bytes + 7) & ~(size_t)7;
	memset(p, 0, bytes);
	return p;
}

static void add_iov(struct conn *c, const void *p, size_t len)
{
	if (c->iov_n >= MAX_IOV)
		abort(); /* room() was not asked: our bug */
	if (len == 0)
		return;
	c->iov[c->iov_n].iov_base = (void *)p;
	c->iov[c->iov_n].iov_len = len;
	c->iov_n++;
}

/* a header with the fields every answer carries; the caller has checked
 * room() for BHS bytes and one iovec */
static uint8_t *answer(struct conn *c, uint8_t opcode, uint32_t itt,
		       bool status)
{
	uint8_t *h = take(c, BHS);

	h[0] = opcode;
	put32(h + 16, itt);
	if (status)
		put32(h + 24, c->stat_sn++);
	put32(h + 28, c->exp_cmd_sn);
	put32(h + 32, c->exp_cmd_sn + CMD_WINDOW - 1);
	add_iov(c, h, BHS);
	c->tx_pdus++;
	return h;
}

/* a data segment after its header, padded to 4 bytes */
static void add_data(struct conn *c, const void *p, size_t len)
{
	static const uint8_t pad[4];

	add_iov(c, p, len);
	add_iov(c, pad, pad4(len));
}

/* --- SCSI ------------------------------------------------------------- */

/* SCSI Response with CHECK CONDITION and fixed-format sense (SPC-4
 * §4.5.3), sense data behind its 2-byte length (RFC 7143 §11.4.7) */
static int check_condition(struct conn *c, const uint8_t *req, uint8_t key,
			   uint8_t asc)
{
	uint8_t *h, *s;

	if (!room(c, BHS + 24, 3))
		return PDU_NO_ROOM;
	h = answer(c, 0x21, get32(req + 16), true);
	h[1] = 0x80;
	h[3] = ST_CHECK;
	s = take(c, 20);
	put16(s, 18);
	s[2] = 0x70;
	s[4] = key;
	s[9] = 10; /* additional sense length */
	s[14] = asc;
	put24(h + 5, 20);
	add_data(c, s, 20);
	return PDU_DONE;
}

/* SCSI Response GOOD without data, the residual against EDTL */
static int good(struct conn *c, const uint8_t *req, uint64_t want)
{
	uint32_t edtl = get32(req + 20);
	uint8_t *h;

	if (!room(c, BHS, 1))
		return PDU_NO_ROOM;
	h = answer(c, 0x21, get32(req + 16), true);
	h[1] = 0x80;
	if (want > edtl) {
		h[1] |= 0x04; /* O: overflow */
		put32(h + 44,
		      (uint32_t)(want - edtl > UINT32_MAX ? UINT32_MAX
							  : want - edtl));
	} else if (want < edtl) {
		h[1] |= 0x02; /* U: underflow */
		put32(h + 44, edtl - (uint32_t)want);
	}
	return PDU_DONE;
}

/*
 * Data-In of `want` bytes (cut to EDTL), status GOOD in the last PDU.
 * data: the bytes (NULL: the zero buffer).  Each PDU carries at most the
 * initiator's MaxRecvDataSegmentLength; F ends a sequence at every
 * MaxBurstLength (§13.13) and at the end; the last carries the status,
 * S and the residual (§11.7.4).  The caller has checked room() for
 * data_in_room().
 */
static uint32_t data_in_seg(const struct conn *c)
{
	return c->xmit_dsl < ZERO_BYTES ? c->xmit_dsl : ZERO_BYTES;
}

static bool data_in_room(const struct conn *c, uint32_t len, size_t extra)
{
	/* a PDU ends at every segment and every burst: at most this many,
	 * each a header, its data and its padding */
	size_t pdus = len / data_in_seg(c) + len / c->max_burst + 2;

	return room(c, pdus * BHS + extra, (int)pdus * 3);
}

static int data_in(struct conn *c, const uint8_t *req, const uint8_t *data,
		   uint64_t want)
{
	uint32_t edtl = get32(req + 20), itt = get32(req + 16);
	uint32_t len = want < edtl ? (uint32_t)want : edtl;
	uint32_t seg = data_in_seg(c), off = 0, sn = 0, burst = 0;
	uint8_t *h = NULL;

	if (len == 0)
		return good(c, req, want);
	while (off < len) {
		uint32_t n = len - off;

		if (n > seg)
			n = seg;
		if (n > c->max_burst - burst)
			n = c->max_burst - burst;
		h = answer(c, 0x25, itt, off + n == len);
		burst += n;
		if (burst == c->max_burst || off + n == len) {
			h[1] |= 0x80; /* F */
			burst = 0;
		}
		put24(h + 5, n);
		put32(h + 20, 0xffffffffu);
		put32(h + 36, sn++);
		put32(h + 40, off);
		add_data(c, data ? data + off : zero_buf, n);
		off += n;
	}
	h[1] |= 0x01; /* S: status GOOD in h[3] */
	if (want > edtl) {
		h[1] |= 0x04;
		put32(h + 44, want - edtl > UINT32_MAX
				      ? UINT32_MAX
				      : (uint32_t)(want - edtl));
	} else if (want < edtl) {
		h[1] |= 0x02;
		put32(h + 44, edtl - (uint32_t)want);
	}
	return PDU_DONE;
}

/* A small answer (INQUIRY, READ CAPACITY, ...): `len` bytes built by the
 * caller in `buf` (of the arena), cut at the allocation length. */
static int small_data(struct conn *c, const uint8_t *req, uint8_t *buf,
		      uint32_t len, uint32_t alloc)
{
	return data_in(c, req, buf, len < alloc ? len : alloc);
}

static int inquiry(struct conn *c, const uint8_t *req, bool lun0)
{
	const uint8_t *cdb = req + 32;
	uint32_t alloc = (uint32_t)cdb[3] << 8 | cdb[4];
	uint8_t *d;
	uint32_t len;

	if (!data_in_room(c, 256, 256))
		return PDU_NO_ROOM;
	d = take(c, 256);
	if (!(cdb[1] & 1)) {
		if (cdb[2])
			return check_condition(c, req, SK_ILLEGAL, 0x24);
		d[0] = lun0 ? 0x00 : 0x7f; /* disk; or no LUN here */
		d[2] = 0x06;		   /* SPC-4 */
		d[3] = 0x02;		   /* response data format 2 */
		d[4] = 36 - 5;
		d[7] = 0x02; /* CmdQue */
		memcpy(d + 8, "UTARGET floor-target    0001", 28);
		return small_data(c, req, d, 36, alloc);
	}
	if (!lun0)
		return check_condition(c, req, SK_ILLEGAL, 0x25);
	d[1] = cdb[2];
	switch (cdb[2]) {
	case 0x00: /* supported VPD pages */
		memcpy(d + 4, "\x00\x80\x83\xb0\xb1", 5);
		len = 5;
		break;
	case 0x80: /* unit serial number */
		memcpy(d + 4, "floor0", 6);
		len = 6;
		break;
	case 0x83: /* device identification: one T10 vendor ID designator */
		d[4] = 0x02; /* ASCII */
		d[5] = 0x01; /* T10 vendor ID, LU */
		d[7] = 14;
		memcpy(d + 8, "UTARGET floor0", 14);
		len = 18;
		break;
	case 0xb0: /* block limits: the largest READ we take */
		put32(d + 8, MAX_READ_BYTES / BLOCK_BYTES);
		len = 0x3c;
		break;
	case 0xb1: /* block device characteristics: non-rotating */
		put16(d + 4, 1);
		len = 0x3c;
		break;
	default:
		return check_condition(c, req, SK_ILLEGAL, 0x24);
	}
	put16(d + 2, len);
	return small_data(c, req, d, len + 4, alloc);
}

static int read_capacity(struct conn *c, const uint8_t *req, bool sixteen)
{
	const uint8_t *cdb = req + 32;
	uint64_t last = capacity_bytes / BLOCK_BYTES - 1;
	uint8_t *d;

	if (!data_in_room(c, 32, 32))
		return PDU_NO_ROOM;
	d = take(c, 32);
	if (!sixteen) {
		put32(d, last > UINT32_MAX ? UINT32_MAX : (uint32_t)last);
		put32(d + 4, BLOCK_BYTES);
		return small_data(c, req, d, 8, 8);
	}
	put64(d, last);
	put32(d + 8, BLOCK_BYTES);
	return small_data(c, req, d, 32, get32(cdb + 10));
}

static int report_luns(struct conn *c, const uint8_t *req)
{
	uint8_t *d;

	if (!data_in_room(c, 16, 16))
		return PDU_NO_ROOM;
	d = take(c, 16);
	put32(d, 8); /* one LUN: 0 */
	return small_data(c, req, d, 16, get32(req + 32 + 6));
}

/* MODE SENSE(6/10): the header alone, write-protected (we take no writes),
 * for "all pages" (3Fh); any single page is not supported. */
static int mode_sense(struct conn *c, const uint8_t *req, bool ten)
{
	const uint8_t *cdb = req + 32;
	uint8_t *d;

	if ((cdb[2] & 0x3f) != 0x3f)
		return check_condition(c, req, SK_ILLEGAL, 0x24);
	if (!data_in_room(c, 8, 8))
		return PDU_NO_ROOM;
	d = take(c, 8);
	if (!ten) {
		d[0] = 3;
		d[2] = 0x80;
		return small_data(c, req, d, 4, cdb[4]);
	}
	d[1] = 6;
	d[3] = 0x80;
	return small_data(c, req, d, 8, (uint32_t)cdb[7] << 8 | cdb[8]);
}

static int read_blocks(struct conn *c, const uint8_t *req, uint64_t lba,
		       uint32_t blocks)
{
	uint64_t bytes = (uint64_t)blocks * BLOCK_BYTES;
	uint32_t edtl = get32(req + 20), len;
	uint8_t *buf = NULL;

	if (lba > capacity_bytes / BLOCK_BYTES ||
	    blocks > capacity_bytes / BLOCK_BYTES - lba)
		return check_condition(c, req, SK_ILLEGAL, 0x21);
	if (bytes > MAX_READ_BYTES)
		return check_condition(c, req, SK_ILLEGAL, 0x24);
	len = bytes < edtl ? (uint32_t)bytes : edtl;
	if (!data_in_room(c, len, file_fd >= 0 && !file_map ? len : 0))
		return PDU_NO_ROOM;
	if (file_map) /* capacity <= the file's size: no SIGBUS */
		return data_in(c, req, file_map + lba * BLOCK_BYTES, bytes);
	if (file_fd >= 0 && len) {
		ssize_t n;

		buf = take(c, len);
		n = pread(file_fd, buf, len, (off_t)(lba * BLOCK_BYTES));
		if (n < 0)
			return check_condition(c, req, SK_MEDIUM, 0x11);
		/* beyond the file's end: zeros (take() zeroed them) */
	}
	return data_in(c, req, buf, bytes);
}

static int scsi_command(struct conn *c, const uint8_t *h)
{
	const uint8_t *cdb = h + 32;
	bool lun0 = get64(h + 8) == 0;

	if (cdb[0] == 0x12)
		return inquiry(c, h, lun0);
	if (cdb[0] == 0xa0)
		return report_luns(c, h);
	if (!lun0)
		return check_condition(c, h, SK_ILLEGAL, 0x25);
	switch (cdb[0]) {
	case 0x00: /* TEST UNIT READY */
		return good(c, h, 0);
	case 0x28: /* READ(10) */
		return read_blocks(c, h, get32(cdb + 2),
				   (uint32_t)cdb[7] << 8 | cdb[8]);
	case 0x88: /* READ(16) */
		return read_blocks(c, h, get64(cdb + 2), get32(cdb + 10));
	case 0x25:
		return read_capacity(c, h, false);
	case 0x9e:
		if ((cdb[1] & 0x1f) == 0x10)
			return read_capacity(c, h, true);
		break;
	case 0x1a:
		return mode_sense(c, h, false);
	case 0x5a:
		return mode_sense(c, h, true);
	}
	return check_condition(c, h, SK_ILLEGAL, 0x20);
}

/* --- login (RFC 7143 §6, §13) ----------------------------------------- */

/* key=value\0 into the answer text (of at most LOGIN_DSL bytes) */
static bool kv_add(char *text, size_t *len, const char *k, const char *v)
{
	int n = snprintf(text + *len, LOGIN_DSL - *len, "%s=%s", k, v);

	if (n < 0 || (size_t)n + 1 > LOGIN_DSL - *len)
		return false;
	*len += (size_t)n + 1;
	return true;
}

static bool number(const char *v, unsigned long lo, unsigned long hi,
		   unsigned long *out)
{
	char *end;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	*out = strtoul(v, &end, 0);
	return !errno && !*end && *out >= lo && *out <= hi;
}

static bool list_has(const char *v, const char *want)
{
	size_t n = strlen(want);

	for (;;) {
		if (!strncmp(v, want, n) && (v[n] == ',' || !v[n]))
			return true;
		v = strchr(v, ',');
		if (!v)
			return false;
		v++;
	}
}

/* One key of a Login Request: its answer into text; false: malformed. */
static bool login_key(struct conn *c, const char *k, const char *v, char *text,
		      size_t *tl)
{
	unsigned long n;
	char num[16];

	if (!strcmp(k, "InitiatorName") || !strcmp(k, "InitiatorAlias") ||
	    !strcmp(k, "TargetName") || !strcmp(k, "SessionType"))
		return true; /* declarative: no answer */
	if (!strcmp(k, "AuthMethod"))
		return list_has(v, "None") && kv_add(text, tl, k, "None");
	if (!strcmp(k, "HeaderDigest") || !strcmp(k, "DataDigest"))
		return kv_add(text, tl, k, "None");
	if (!strcmp(k, "MaxRecvDataSegmentLength")) {
		if (!number(v, 512, 16777215, &n))
			return false;
		c->xmit_dsl = (uint32_t)n;
		snprintf(num, sizeof(num), "%u", MY_MRDSL);
		return kv_add(text, tl, k, num);
	}
	if (!strcmp(k, "MaxBurstLength") || !strcmp(k, "FirstBurstLength")) {
		if (!number(v, 512, 16777215, &n))
			return false;
		if (n > 262144)
			n = 262144;
		if (k[0] == 'M')
			c->max_burst = (uint32_t)n;
		snprintf(num, sizeof(num), "%lu", n);
		return kv_add(text, tl, k, num);
	}
	if (!strcmp(k, "ImmediateData") || !strcmp(k, "InitialR2T"))
		return (!strcmp(v, "Yes") || !strcmp(v, "No")) &&
		       kv_add(text, tl, k, v);
	if (!strcmp(k, "DefaultTime2Wait") || !strcmp(k, "DefaultTime2Retain"))
		return number(v, 0, 3600, &n) &&
		       kv_add(text, tl, k, k[12] == 'W' ? v : "0");
	if (!strcmp(k, "MaxOutstandingR2T") || !strcmp(k, "MaxConnections"))
		return kv_add(text, tl, k, "1");
	if (!strcmp(k, "ErrorRecoveryLevel"))
		return kv_add(text, tl, k, "0");
	if (!strcmp(k, "IFMarker") || !strcmp(k, "OFMarker"))
		return kv_add(text, tl, k, "No");
	if (!strcmp(k, "DataPDUInOrder") || !strcmp(k, "DataSequenceInOrder"))
		return kv_add(text, tl, k, "Yes");
	return kv_add(text, tl, k, "NotUnderstood");
}

static int login(struct conn *c, const uint8_t *h, const char *data,
		 size_t dlen)
{
	bool transit = h[1] & 0x80;
	uint8_t csg = (h[1] >> 2) & 3, nsg = h[1] & 3;
	char *text;
	size_t tl = 0, at = 0;
	uint8_t *r;

	/* §6.3: CSG is where we are; no multi-PDU text (C), NSG after CSG */
	if (h[1] & 0x40 || csg > 1 || csg < c->stage ||
	    (transit && (nsg <= csg || nsg == 2)))
		return PDU_DROP;
	if (!room(c, BHS + LOGIN_DSL, 3))
		return PDU_NO_ROOM;
	c->exp_cmd_sn = get32(h + 24); /* Login is immediate */
	c->stage = csg;
	text = (char *)take(c, LOGIN_DSL);
	if (!c->tpgt_sent && !kv_add(text, &tl, "TargetPortalGroupTag", "1"))
		return PDU_DROP;
	c->tpgt_sent = true;
	while (at < dlen) {
		const char *k = data + at, *nul = memchr(k, 0, dlen - at);
		char kv[LOGIN_DSL + 1], *eq;
		size_t kl = nul ? (size_t)(nul - k) : dlen - at;

		at += kl + 1;
		if (kl == 0)
			continue; /* padding */
		memcpy(kv, k, kl);
		kv[kl] = 0;
		eq = strchr(kv, '=');
		if (!eq || eq == kv)
			return PDU_DROP;
		*eq = 0;
		if (!login_key(c, kv, eq + 1, text, &tl))
			return PDU_DROP;
	}
	r = answer(c, 0x23, get32(h + 16), true);
	r[1] = (uint8_t)(csg << 2);
	if (transit) {
		r[1] |= (uint8_t)(0x80 | nsg);
		c->stage = nsg;
	}
	memcpy(r + 8, h + 8, 6); /* ISID */
	if (transit && nsg == 3) {
		put16(r + 14, 1); /* TSIH */
		c->ffp = true;
	}
	put24(r + 5, (uint32_t)tl);
	add_data(c, text, tl);
	return PDU_DONE;
}

/* --- one PDU ------------------------------------------------------------ */

/* CmdSN of a non-immediate command (§4.2.2.1): in the window, it is the
 * next one; outside, the command is ignored. */
static bool cmd_sn_ok(struct conn *c, const uint8_t *h)
{
	uint32_t sn = get32(h + 24);

	if (h[0] & 0x40)
		return true;
	if ((int32_t)(sn - c->exp_cmd_sn) < 0 ||
	    (int32_t)(sn - c->exp_cmd_sn) >= CMD_WINDOW)
		return false;
	c->exp_cmd_sn = sn + 1;
	return true;
}

static int nop_out(struct conn *c, const uint8_t *h, const uint8_t *data,
		   uint32_t dlen)
{
	uint8_t *r, *echo;

	if (get32(h + 16) == 0xffffffffu)
		return PDU_DONE; /* an answer to a ping of ours: none sent */
	if (dlen > c->xmit_dsl)
		dlen = c->xmit_dsl;
	if (!room(c, BHS + dlen, 3))
		return PDU_NO_ROOM;
	r = answer(c, 0x20, get32(h + 16), true);
	r[1] = 0x80;
	memcpy(r + 8, h + 8, 8);
	put32(r + 20, 0xffffffffu);
	put24(r + 5, dlen);
	echo = take(c, dlen);
	memcpy(echo, data, dlen);
	add_data(c, echo, dlen);
	return PDU_DONE;
}

static int simple_answer(struct conn *c, const uint8_t *h, uint8_t opcode)
{
	uint8_t *r;

	if (!room(c, BHS, 1))
		return PDU_NO_ROOM;
	r = answer(c, opcode, get32(h + 16), true);
	r[1] = 0x80;
	return PDU_DONE;
}

static int reject(struct conn *c, const uint8_t *h)
{
	uint8_t *r, *copy;

	if (!room(c, 2 * BHS, 2))
		return PDU_NO_ROOM;
	r = answer(c, 0x3f, 0xffffffffu, true);
	r[1] = 0x80;
	r[2] = 0x05; /* command not supported */
	put24(r + 5, BHS);
	copy = take(c, BHS);
	memcpy(copy, h, BHS);
	add_data(c, copy, BHS);
	return PDU_DONE;
}

static int pdu(struct conn *c, const uint8_t *h, const uint8_t *data,
	       uint32_t dlen)
{
	uint8_t op = h[0] & 0x3f;

	if (!c->ffp)
		return op == 0x03 ? login(c, h, (const char *)data, dlen)
				  : PDU_DROP;
	switch (op) {
	case 0x01: { /* SCSI Command */
		int r;
		uint32_t keep = c->exp_cmd_sn;

		if (!cmd_sn_ok(c, h))
			return PDU_DONE;
		r = scsi_command(c, h);
		if (r == PDU_NO_ROOM)
			c->exp_cmd_sn = keep; /* it comes again */
		return r;
	}
	case 0x00: /* NOP-Out */
		if (!(h[0] & 0x40) && get32(h + 16) != 0xffffffffu &&
		    !cmd_sn_ok(c, h))
			return PDU_DONE;
		return nop_out(c, h, data, dlen);
	case 0x02: /* Task Management: every task is done already */
		return cmd_sn_ok(c, h) ? simple_answer(c, h, 0x22) : PDU_DONE;
	case 0x05: /* Data-Out: no writes are taken */
		return PDU_DONE;
	case 0x06: /* Logout */
		if (!cmd_sn_ok(c, h))
			return PDU_DONE;
		c->closing = true;
		return simple_answer(c, h, 0x26);
	case 0x03: /* Login in full feature phase */
		return PDU_DROP;
	}
	return reject(c, h);
}

/* Every complete PDU in rx; false: drop the connection. */
static bool parse(struct conn *c)
{
	size_t off = 0;
	bool ok = true;

	while (!c->closing && c->rx_len - off >= BHS) {
		const uint8_t *h = c->rx + off;
		size_t ahs = (size_t)h[4] * 4, total;
		uint32_t dlen = get24(h + 5);
		int r;

		/* §13.12: no PDU longer than we declared (8192 in login) */
		if (dlen > (c->ffp ? MY_MRDSL : LOGIN_DSL)) {
			ok = false;
			break;
		}
		total = BHS + ahs + dlen + pad4(dlen);
		if (c->rx_len - off < total)
			break;
		r = pdu(c, h, h + BHS + ahs, dlen);
		if (r == PDU_DROP) {
			ok = false;
			break;
		}
		if (r == PDU_NO_ROOM) {
			/* an answer larger than a whole turn (a READ cut in
			 * PDUs of 512 bytes): it can never be sent */
			ok = c->iov_n > 0;
			break;
		}
		n_pdus_rx++;
		off += total;
	}
	memmove(c->rx, c->rx + off, c->rx_len - off);
	c->rx_len -= off;
	return ok;
}

/* --- the connection ----------------------------------------------------- */

/* Send what the turn gathered; 1 all sent, 0 some left, -1 failed. */
static int flush(struct conn *c)
{
	while (c->iov_at < c->iov_n) {
		struct msghdr m = {.msg_iov = c->iov + c->iov_at};
		ssize_t n;

		m.msg_iovlen = (size_t)(c->iov_n - c->iov_at);
		n = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		n_send_calls++;
		while (n > 0) {
			struct iovec *v = c->iov + c->iov_at;

			if ((size_t)n >= v->iov_len) {
				n -= (ssize_t)v->iov_len;
				c->iov_at++;
			} else {
				v->iov_base = (uint8_t *)v->iov_base + n;
				v->iov_len -= (size_t)n;
				n = 0;
			}
		}
	}
	n_pdus_tx += c->tx_pdus;
	c->tx_pdus = 0;
	c->iov_n = c->iov_at = 0;
	c->arena_used = 0;
	return 1;
}

static void conn_free(struct conn *c)
{
	close(c->fd);
	live_conns--;
	free(c->rx);
	free(c->arena);
	free(c);
}

static void want_out(int ep, struct conn *c, bool out)
{
	struct epoll_event ev = {.events = out ? EPOLLOUT : EPOLLIN,
				 .data.ptr = c};

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/*
 * One turn: send what is left, one recv, every complete PDU, one
 * sendmsg.  false: the connection is gone (freed).
 */
static bool turn(int ep, struct conn *c, bool *got)
{
	ssize_t n;
	int f;

	*got = false;
	f = flush(c);
	if (f < 0)
		goto gone;
	if (f == 0) {
		want_out(ep, c, true);
		return true;
	}
	if (c->closing)
		goto gone;
	if (c->rx_len < RX_BYTES) {
		n = recv(c->fd, c->rx + c->rx_len, RX_BYTES - c->rx_len,
			 MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			goto gone;
		if (n > 0) {
			n_recv_calls++;
			*got = true;
			c->rx_len += (size_t)n;
		}
	}
	/* nothing new: PDUs a turn left for want of room are answered now */
	if (!*got && c->rx_len < BHS)
		return true;
	for (;;) {
		size_t before = c->rx_len;

		if (!parse(c))
			goto gone;
		f = flush(c);
		if (f < 0)
			goto gone;
		if (f == 0) {
			want_out(ep, c, true);
			return true;
		}
		/* stopped for room with PDUs left: the arena is free again */
		if (c->closing || c->rx_len == before || c->rx_len < BHS)
			break;
	}
	if (c->closing)
		goto gone;
	return true;
gone:
	conn_free(c);
	return false;
}

static void serve(int ep, struct conn *c, uint32_t events)
{
	bool got;

	if ((events & EPOLLOUT) && flush(c) == 1)
		want_out(ep, c, false);
	if (!turn(ep, c, &got))
		return;
	/* --poll-us: spin on recv while the initiator is likely to send */
	while (got && poll_us > 0 && c->iov_at == c->iov_n) {
		uint64_t end = now_ns() + (uint64_t)poll_us * 1000;

		do {
			if (!turn(ep, c, &got))
				return;
		} while (!got && now_ns() < end && !stopping);
	}
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;
		struct conn *c;
		struct epoll_event ev = {.events = EPOLLIN};

		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (c)
			c->rx = malloc(RX_BYTES);
		if (c && c->rx)
			c->arena = malloc(ARENA_BYTES);
		if (!c || !c->rx || !c->arena || live_conns >= MAX_CONNS) {
			if (c) {
				free(c->rx);
				free(c);
			}
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->stat_sn = 1;
		c->xmit_dsl = LOGIN_DSL; /* §13.12's default until declared */
		c->max_burst = 262144;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			conn_free(c);
			continue;
		}
		n_conns++;
		live_conns++;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int listen_on(const char *spec)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sa = {.sin_family = AF_INET};
	unsigned long port;
	int fd, one = 1;

	if (!colon || (size_t)(colon - spec) >= sizeof(host) ||
	    !number(colon + 1, 1, 65535, &port)) {
		fprintf(stderr,
			"floor-target: --listen wants ADDR:PORT, "
			"not '%s'\n",
			spec);
		exit(2);
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = 0;
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "floor-target: '%s' is no IPv4 address\n",
			host);
		exit(2);
	}
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64)) {
		fprintf(stderr, "floor-target: cannot listen on %s: %s\n", spec,
			strerror(errno));
		exit(1);
	}
	return fd;
}

static void options(int argc, char **argv, const char **listen_spec)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"file", required_argument, NULL, 'f'},
		{"size", required_argument, NULL, 's'},
		{"poll-us", required_argument, NULL, 'p'},
		{"mmap", no_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool sized = false;
	unsigned long v;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'l':
			*listen_spec = optarg;
			break;
		case 'f':
			file_path = optarg;
			break;
		case 's':
			if (!number(optarg, BLOCK_BYTES, ~0ul, &v) ||
			    v % BLOCK_BYTES) {
				fprintf(stderr, "floor-target: --size wants "
						"a multiple of 512 bytes\n");
				exit(2);
			}
			capacity_bytes = v;
			sized = true;
			break;
		case 'p':
			if (!number(optarg, 0, 1000000, &v)) {
				fprintf(stderr, "floor-target: --poll-us wants "
						"0..1000000\n");
				exit(2);
			}
			poll_us = (long)v;
			break;
		case 'm':
			use_map = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc || !*listen_spec) {
		fprintf(stderr, "floor-target: %s\n",
			optind != argc ? "unexpected arguments"
				       : "--listen ADDR:PORT is required");
		usage(stderr);
		exit(2);
	}
	if (file_path) {
		struct stat st;

		file_fd = open(file_path, O_RDONLY | O_CLOEXEC);
		if (file_fd < 0 || fstat(file_fd, &st)) {
			fprintf(stderr, "floor-target: %s: %s\n", file_path,
				strerror(errno));
			exit(1);
		}
		if (!sized)
			capacity_bytes = (uint64_t)st.st_size / BLOCK_BYTES *
					 BLOCK_BYTES;
		if (use_map && capacity_bytes > (uint64_t)st.st_size) {
			fprintf(stderr, "floor-target: --mmap needs --size "
					"within the file\n");
			exit(2);
		}
		if (capacity_bytes < BLOCK_BYTES) {
			fprintf(stderr,
				"floor-target: %s is shorter than "
				"a block\n",
				file_path);
			exit(1);
		}
		if (use_map) {
			void *m = mmap(NULL, capacity_bytes, PROT_READ,
				       MAP_SHARED, file_fd, 0);

			if (m == MAP_FAILED) {
				perror("floor-target: mmap");
				exit(1);
			}
			file_map = m;
		}
	} else if (use_map) {
		fprintf(stderr, "floor-target: --mmap needs --file\n");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	const char *listen_spec = NULL;
	struct sigaction sa = {.sa_handler = on_signal};
	struct epoll_event ev = {.events = EPOLLIN}, evs[64];
	int lfd, ep;

	options(argc, argv, &listen_spec);
	lfd = listen_on(listen_spec);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.ptr = NULL; /* the listening socket */
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev)) {
		perror("floor-target: epoll");
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr,
		"floor-target: listening on %s, %" PRIu64 " bytes of %s%s\n",
		listen_spec, capacity_bytes, file_path ? file_path : "zeros",
		poll_us ? ", polling" : "");
	while (!stopping) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr)
				accept_all(ep, lfd);
			else
				serve(ep, evs[i].data.ptr, evs[i].events);
		}
	}
	fprintf(stderr,
		"floor-target: %" PRIu64 " connections, %" PRIu64
		" PDUs in %" PRIu64 " recv calls (%.2f per call), %" PRIu64
		" PDUs in %" PRIu64 " sendmsg calls (%.2f per call)\n",
		n_conns, n_pdus_rx, n_recv_calls,
		n_recv_calls ? (double)n_pdus_rx / (double)n_recv_calls : 0.0,
		n_pdus_tx, n_send_calls,
		n_send_calls ? (double)n_pdus_tx / (double)n_send_calls : 0.0);
	return 0;
}
