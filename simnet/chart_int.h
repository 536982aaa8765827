/*
 * chart_int.h — what the two files of the chart share: the recording
 * (lanes, events, connections: struct chart) that chart.c fills while a
 * run goes, and chart_write.c folds and writes out afterwards.
 */
#ifndef UT_SIM_CHART_INT_H
#define UT_SIM_CHART_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "chart.h"
#include "iscsi_stream.h"

#define CH_MAX_LANES 64
#define CH_DATA_PREVIEW 32 /* data bytes kept per PDU for the details */

enum ch_kind { CH_PDU, CH_STEP, CH_DISK, CH_FAULT, CH_NOTE, CH_FAIL };
static const char ch_kind_char[] = "psdfnx";

struct ch_ev {
	uint64_t t_ns;
	uint64_t t2_ns; /* PDU: arrival; UINT64_MAX never */
	uint8_t kind;
	uint8_t dir;
	uint16_t lane;
	uint8_t opcode;
	bool err; /* drawn as trouble (EIO, RST, bad digest, ...) */
	int line;
	char *label;
	char *detail; /* PDU: hex of BHS | data preview | text */
};

struct ch_pending {
	uint64_t off_end;
	size_t ev;
};

struct ch_conn {
	uint64_t id;
	uint16_t lane;
	struct iss_conn ic;
	struct iss_dir dir[2];
	uint64_t delivered[2];
	struct ch_pending *pend[2];
	size_t pend_head[2], pend_len[2], pend_cap[2];
	struct chart *c;
};

struct chart {
	struct sim *sim;
	char name[256];
	char **lines; /* the scenario's text, by line */
	int nlines;
	char *lane_name[CH_MAX_LANES];
	char lane_kind[CH_MAX_LANES]; /* i n t d */
	int nlanes;
	int lane_net, lane_tgt;
	struct ch_ev *ev;
	size_t nev, cap;
	uint64_t *timers;
	size_t ntimers, timers_cap;
	struct ch_conn **conns;
	size_t nconns;
	uint64_t bytes_undecoded;
};

static inline void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL)
		abort();
	return p;
}

#endif /* UT_SIM_CHART_INT_H */
