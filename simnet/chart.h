/*
 * chart.h — a picture of one run: `utarget-sim run FILE.scn --chart
 * OUT.html` (docs/scenarios.md, "Charts").
 *
 * A recorder hangs on the simulator's recording hook (sim.h, struct
 * sim_rec_ops): it cuts the bytes each connection carries into PDUs
 * (iscsi_stream.h), with the time each was sent and the time it
 * arrived, and sorts the trace's lines into lanes (initiators, the
 * network, the target, one per disk).  It only records: a charted run is
 * the same run, with the same trace hash.
 *
 * chart_write() writes one self-contained HTML file (no fetch of any
 * kind): the events as data and the page (chart_page.html) that draws
 * them as inline SVG, virtual time down the page, with repetitive
 * stretches folded.
 */
#ifndef UT_SIM_CHART_H
#define UT_SIM_CHART_H

#include "scenario.h"
#include "sim.h"

struct chart;

/* Start recording sim; name and text are the scenario's. */
struct chart *chart_new(struct sim *sim, const char *name, const char *text);
/* Write the page for the finished run; 0 or -errno. */
int chart_write(struct chart *c, const struct scn_result *res,
		const char *path);
/* Stop recording (detach from sim) and free. */
void chart_free(struct chart *c);

/* explore --chart: chart each failing seed's DIR/seed-S.scn (and its
 * shrunk DIR/seed-S.min.scn) into DIR/seed-S[.min].html, each run by
 * `prog run` in a process of its own (a failed run leaves its target
 * unfreed; a crash takes only that chart). */
void chart_failures(const char *prog, const char *dir, const uint64_t *seeds,
		    size_t n);

#endif
