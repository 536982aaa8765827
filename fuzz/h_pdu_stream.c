/*
 * h_pdu_stream.c — the whole target inside simnet, fed raw byte streams on
 * up to four connections from up to four initiator hosts.
 *
 * Input: a 4-byte header, then chunks separated by FZ_DELIM (pdufix.h).
 *   header byte 0  bits 0-1  connections opened at the start, minus one
 *                  bit  2    links accept partial sends
 *                  bit  3    links deliver partial receives
 *                  bits 4-5  bytes per delivery: 64 KiB, 1, 7, 1460
 *                  bit  6    disks are slow (0.1-5 ms, so commands overlap)
 *                  bit  7    FZ_F_RAW: the mutators leave framing alone
 *   bytes 1-2      the simulation's PRNG seed (TSIH, TTTs, jitter)
 *   byte 3         bits 0-1  one-way link delay: 0, 10 us, 1 ms, 50 ms
 *                  bit  2    jitter of the same size
 *                  bits 3-4  disk faults: none, reads fail, writes fail,
 *                            30% of everything fails
 *                  bit  5    disks do WRITE SAME and COMPARE AND WRITE
 *                            themselves, as an RBD image (sim.h, native)
 *   chunk          [control][bytes]; control bits 0-1 = connection,
 *                  bits 2-4 = what to do (enum fz_action)
 *
 * After the last chunk the world runs until quiet, every initiator hangs
 * up, and the target must let go of every connection, session, task and
 * buffer (the liveness oracle of simnet's scenario runner).  Nothing
 * outlives an input: the world is built and freed every time, so AFL's
 * stability stays at 100%.
 */
#include <stdio.h>
#include <string.h>

#include "iscsi/iscsi.h"
#include "pdufix.h"
#include "shim.h"
#include "sim.h"
#include "world.h"

#define FZ_CONNS 4
#define FZ_QUIET_LIMIT_NS (60 * SIM_NS_PER_S)
#define FZ_MAX_CHUNKS 256

enum fz_action {
	FZ_SEND = 0,	  /* queue the bytes; do not run the world */
	FZ_SEND_RUN = 1,  /* send, then run until quiet */
	FZ_SEND_10MS = 2, /* send, then let 10 ms pass */
	FZ_WAIT_20S = 3,  /* let 20 s pass: NOP-In, timeouts */
	FZ_FIN = 4,	  /* the initiator half-closes */
	FZ_RESET = 5,	  /* the initiator resets the connection */
	FZ_RECONNECT = 6, /* close and open a new connection */
	FZ_CRASH = 7,	  /* the target loses power and restarts */
};

struct cli {
	struct world *w;
	struct env_conn *c; /* NULL when not connected */
	bool connecting;
	uint8_t *tx;
	size_t tx_len, tx_off, tx_cap;
};

struct world {
	struct sim *sim;
	struct sim_host *host[FZ_CONNS];
	struct cli cli[FZ_CONNS];
	struct iscsi_server *srv;
};

static struct ut_config cfg;
static bool trace; /* FUZZ_SIM_TRACE=1: simnet's timeline on stdout */
/* FUZZ_PRINT_HASH=1: each input's trace hash on stderr.  The same input
 * must give the same hash alone and after any other inputs in the same
 * process; a difference is state leaking between iterations (what AFL++
 * reports as stability below 100%). */
static bool print_hash;

void harness_init(void)
{
	fz_world_config(&cfg, true);
	trace = getenv("FUZZ_SIM_TRACE") != NULL;
	print_hash = getenv("FUZZ_PRINT_HASH") != NULL;
}

void harness_fixup(uint8_t *buf, size_t len);
void harness_fixup(uint8_t *buf, size_t len)
{
	pdufix_stream_input(buf, len);
}

/* ------------------------------------------------- initiator endpoints */

static void cli_flush(struct cli *k)
{
	while (k->c && k->tx_len) {
		struct iovec v = {k->tx + k->tx_off, k->tx_len};
		ssize_t n = sim_conn_send(k->c, &v, 1);

		if (n <= 0)
			break;
		k->tx_off += (size_t)n;
		k->tx_len -= (size_t)n;
	}
	if (k->tx_len == 0)
		k->tx_off = 0;
	if (k->c)
		sim_conn_want_write(k->c, k->tx_len > 0);
}

static void cli_readable(void *ctx)
{
	struct cli *k = ctx;
	uint8_t buf[16384];

	/* What the target says is not checked here: the oracles are the
	 * sanitizers, the target's own assertions and the leak check. */
	while (k->c && sim_conn_recv(k->c, buf, sizeof(buf)) > 0)
		;
}

static void cli_writable(void *ctx)
{
	cli_flush(ctx);
}

static void cli_drop(struct cli *k)
{
	if (k->c)
		sim_conn_close(k->c);
	k->c = NULL;
	k->tx_len = k->tx_off = 0;
}

static void cli_closed(void *ctx, int err)
{
	(void)err;
	cli_drop(ctx);
}

static const struct env_conn_handler cli_handler = {
	cli_readable,
	cli_writable,
	cli_closed,
};

static void cli_connected(void *arg, struct env_conn *c, int err)
{
	struct cli *k = arg;

	(void)err;
	k->connecting = false;
	if (!c)
		return;
	k->c = c;
	sim_conn_set_handler(c, &cli_handler, k);
	cli_flush(k);
}

static void cli_connect(struct world *w, int i)
{
	struct cli *k = &w->cli[i];

	if (k->c || k->connecting)
		return;
	k->connecting = true;
	sim_connect(w->sim, w->host[i], FZ_PORTAL, cli_connected, k);
}

static void cli_queue(struct cli *k, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (k->tx_off + k->tx_len + n > k->tx_cap) {
		if (k->tx_len)
			memmove(k->tx, k->tx + k->tx_off, k->tx_len);
		k->tx_off = 0;
		if (k->tx_len + n > k->tx_cap) {
			k->tx_cap = (k->tx_len + n) * 2;
			k->tx = realloc(k->tx, k->tx_cap);
			if (!k->tx)
				abort();
		}
	}
	memcpy(k->tx + k->tx_off + k->tx_len, p, n);
	k->tx_len += n;
	cli_flush(k);
}

/* ---------------------------------------------------------- the world */

static bool quiet(void *arg)
{
	return sim_quiet(arg);
}

static void run_quiet(struct world *w)
{
	sim_run_until(w->sim, w->sim->now_ns + FZ_QUIET_LIMIT_NS, quiet,
		      w->sim);
}

static void server_up(struct world *w)
{
	int err = 0;

	w->srv = iscsi_server_new(&w->sim->env, &cfg, &err);
	FUZZ_CHECK(w->srv != NULL, "iscsi_server_new: %d", err);
	FUZZ_CHECK(iscsi_server_start(w->srv) == 0, "iscsi_server_start");
}

static void check_released(struct world *w, const char *when)
{
	struct sim *s = w->sim;

	FUZZ_CHECK(!s->live_timers && !s->live_conns && !s->live_listeners &&
			   !s->live_disks && !s->live_mutexes &&
			   !sim_disk_pending(s),
		   "after %s the target still holds %u timers, %u connections, "
		   "%u listeners, %u disks, %u mutexes, %u disk requests",
		   when, s->live_timers, s->live_conns, s->live_listeners,
		   s->live_disks, s->live_mutexes, sim_disk_pending(s));
}

static void target_crash(struct world *w)
{
	w->sim->target_up = false;
	iscsi_server_free(w->srv);
	w->srv = NULL;
	sim_net_target_crashed(w->sim);
	sim_disk_crash_all(w->sim);
	check_released(w, "a crash");
	w->sim->target_up = true;
	server_up(w);
}

static void world_new(struct world *w, const uint8_t hdr[FZ_STREAM_HDR])
{
	static const uint32_t chunk[4] = {0, 1, 7, 1460};
	static const uint64_t delay[4] = {0, 10 * SIM_NS_PER_US, SIM_NS_PER_MS,
					  50 * SIM_NS_PER_MS};
	struct sim_link_cfg link;
	int nconn = (hdr[0] & 3) + 1;

	memset(w, 0, sizeof(*w));
	w->sim = sim_new((uint64_t)hdr[1] << 8 | hdr[2]);
	w->sim->env.log_level = trace ? UT_LOG_DEBUG : UT_LOG_ERROR;
	w->sim->trace = trace;
	memset(&link, 0, sizeof(link));
	link.partial_send = hdr[0] & 4;
	link.partial_recv = hdr[0] & 8;
	link.max_chunk = chunk[(hdr[0] >> 4) & 3];
	link.delay_ns = delay[hdr[3] & 3];
	link.jitter_ns = (hdr[3] & 4) ? link.delay_ns : 0;
	sim_net_set_default(w->sim, &link, true);
	for (int i = 0; i < FZ_CONNS; i++) {
		static const char *names[FZ_CONNS] = {"ini0", "ini1", "ini2",
						      "ini3"};

		w->host[i] = sim_host_new(w->sim, names[i]);
		w->cli[i].w = w;
	}
	/* Disks are created before the target opens them, to set faults. */
	for (size_t i = 0; i < cfg.dev_count; i++) {
		const struct ut_dev_cfg *d = &cfg.devs[i];
		struct sim_disk *disk;
		struct sim_disk_cfg *dc;

		if (d->kind != BS_SIM)
			continue;
		disk = sim_disk_get(w->sim, d->name, d->size_bytes,
				    d->block_size ? d->block_size : 512);
		dc = sim_disk_cfg(disk);
		dc->native = hdr[3] & 0x20;
		if (hdr[0] & 0x40) {
			dc->lat_min_ns = 100 * SIM_NS_PER_US;
			dc->lat_max_ns = 5 * SIM_NS_PER_MS;
		}
		switch ((hdr[3] >> 3) & 3) {
		case 1:
		case 2:
		case 3:
			dc->faults[0].ops =
				((hdr[3] >> 3) & 3) == 1   ? 1u << BS_OP_READ
				: ((hdr[3] >> 3) & 3) == 2 ? 1u << BS_OP_WRITE
							   : 0xffu;
			dc->faults[0].lba_first = 0;
			dc->faults[0].lba_last = UINT64_MAX;
			dc->faults[0].prob = ((hdr[3] >> 3) & 3) == 3 ? 0.3
								      : 1.0;
			dc->faults[0].count = -1;
			dc->fault_count = 1;
			break;
		default:
			break;
		}
	}
	server_up(w);
	for (int i = 0; i < nconn; i++)
		cli_connect(w, i);
	run_quiet(w);
}

static void world_free(struct world *w)
{
	struct iscsi_server_stats st;

	run_quiet(w);
	for (int i = 0; i < FZ_CONNS; i++)
		cli_drop(&w->cli[i]);
	run_quiet(w);
	/* Let timers (Time2Retain, NOP-In) run out too. */
	sim_run_for(w->sim, 120 * SIM_NS_PER_S);
	iscsi_server_get_stats(w->srv, &st);
	FUZZ_CHECK(!st.connections && !st.sessions && !st.tasks &&
			   !st.buffer_bytes,
		   "every initiator is gone and the world is quiet, yet the "
		   "target holds %u connections, %u sessions, %u tasks, %llu "
		   "buffer bytes",
		   st.connections, st.sessions, st.tasks,
		   (unsigned long long)st.buffer_bytes);
	iscsi_server_free(w->srv);
	check_released(w, "iscsi_server_free");
	run_quiet(w);
	for (int i = 0; i < FZ_CONNS; i++)
		free(w->cli[i].tx);
	if (print_hash)
		fprintf(stderr, "trace-hash: %016llx\n",
			(unsigned long long)w->sim->hash);
	sim_free(w->sim);
}

static void do_chunk(struct world *w, uint8_t ctl, const uint8_t *p, size_t n)
{
	int i = ctl & 3;
	struct cli *k = &w->cli[i];

	if (!k->c && !k->connecting && (ctl >> 2 & 7) <= FZ_SEND_10MS) {
		/* Talking on a closed slot opens a new connection first. */
		cli_connect(w, i);
		run_quiet(w);
	}
	switch ((enum fz_action)(ctl >> 2 & 7)) {
	case FZ_SEND:
		cli_queue(k, p, n);
		break;
	case FZ_SEND_RUN:
		cli_queue(k, p, n);
		run_quiet(w);
		break;
	case FZ_SEND_10MS:
		cli_queue(k, p, n);
		sim_run_for(w->sim, 10 * SIM_NS_PER_MS);
		break;
	case FZ_WAIT_20S:
		sim_run_for(w->sim, 20 * SIM_NS_PER_S);
		break;
	case FZ_FIN:
		if (k->c)
			sim_conn_shutdown_write(k->c);
		run_quiet(w);
		break;
	case FZ_RESET:
		if (k->c) {
			sim_conn_reset(k->c);
			cli_drop(k);
		}
		run_quiet(w);
		break;
	case FZ_RECONNECT:
		cli_drop(k);
		run_quiet(w);
		cli_connect(w, i);
		run_quiet(w);
		break;
	case FZ_CRASH:
		target_crash(w);
		run_quiet(w);
		break;
	}
}

int harness_one(const uint8_t *data, size_t len)
{
	struct world w;
	size_t p = FZ_STREAM_HDR;
	unsigned int chunks = 0;

	if (len < FZ_STREAM_HDR)
		return 0;
	world_new(&w, data);
	while (p < len && chunks++ < FZ_MAX_CHUNKS) {
		const uint8_t *end =
			memmem(data + p, len - p, FZ_DELIM, FZ_DELIM_LEN);
		size_t e = end ? (size_t)(end - data) : len;

		if (e > p)
			do_chunk(&w, data[p], data + p + 1, e - p - 1);
		p = e + FZ_DELIM_LEN;
	}
	world_free(&w);
	return 0;
}
