/*
 * scenario.h — the scenario language runner (docs/scenarios.md).
 *
 * A scenario is text: one event per line, actor first, with relative
 * virtual time prefixes (+10ms), faults as verbs with a direction, and
 * expectations inline after `expect`.  The runner builds the target's
 * configuration, starts an iscsi_server inside a fresh `struct sim`, plays
 * the lines, and checks every expectation and the oracles:
 *
 *   - each read against the LUN reference model (model.h);
 *   - StatSN / ExpCmdSN monotone, sense consistent with status (the
 *     initiator actors report breaches);
 *   - SPC-2 reservations honoured;
 *   - liveness: once the network heals, every command completes or its
 *     connection is dropped;
 *   - no leaks: freeing the server leaves no timer, connection, listener,
 *     disk or disk request behind;
 *   - the target's own assertions (ut_assert.h): one that fails ends the
 *     run as a failure with its text.
 */
#ifndef UT_SIM_SCENARIO_H
#define UT_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One answer as the runner saw it (for --compare). */
struct scn_answer {
	int line;
	const char *actor, *verb;
	const char *outcome; /* "done", "dropped", "rejected", ... */
	int kind;	     /* 1 SCSI, 2 login, 3 TMF, 4 logout, 0 other */
	uint8_t response, status;
	int sk, asc, ascq; /* -1 without sense */
	uint32_t residual;
	uint8_t rsp_flags;
	uint16_t login_status;
	const uint8_t *data; /* Data-In */
	uint32_t data_len;
};

struct scn_opts {
	uint64_t seed;
	bool seed_given; /* --seed overrides the file's `seed` line */
	bool trace;
	bool quiet; /* no PASS/FAIL report lines */
	FILE *out;
	const char *chart_path; /* write a chart of the run here (chart.h) */
	/* An answer other than its line expects is printed as a DIFF line
	 * and the run goes on (an imported capture shows every difference;
	 * the run still fails).  Oracles still end the run. */
	bool keep_going;
	/* Against a real target (run --against): the initiator actors log
	 * in to against_iqn at against_portal ("HOST:PORT") over real TCP,
	 * in real time; no target is simulated, and the lines that need
	 * one or the simulated network are skipped with a SKIP note. */
	const char *against_portal, *against_iqn;
	uint64_t against_lun_base; /* scenario LUN n is the target's base+n */
	/* Skip those lines in the simulator too (--compare: both runs then
	 * play the same lines). */
	bool skip_sim_lines;
	/* Told every answer (run --compare). */
	void (*answer)(void *arg, const struct scn_answer *a);
	void *answer_arg;
};

/* What a run issued (utarget-sim explore --stats). */
#define SCN_STAT_OPS \
	80 /* rows of the target's opcode table; the last:
			 * opcodes it does not support */
#define SCN_STAT_TMFS 16
enum scn_fault {
	SCN_F_NET,	 /* net delay/jitter/chunk/partial settings */
	SCN_F_PARTITION, /* A partition */
	SCN_F_STALL,	 /* A stall */
	SCN_F_RST,	 /* A rst */
	SCN_F_DISCONNECT,
	SCN_F_VANISH,
	SCN_F_FIN,
	SCN_F_RECONNECT,
	SCN_F_EIO,	/* DISK eio */
	SCN_F_LATENCY,	/* DISK latency */
	SCN_F_REMOTE,	/* DISK remote */
	SCN_F_AWAY,	/* DISK away */
	SCN_F_CRASH,	/* target crash */
	SCN_F_RECONFIG, /* target lun add/remove/resize, disable... */
	SCN_F_OOM,	/* target oom */
	SCN_FAULTS
};
/* Name of a fault kind, of a row of the opcode table ("28h READ(10)"),
 * and how many rows the table has. */
const char *scn_fault_name(enum scn_fault f);
const char *scn_op_row_name(unsigned int row, char *buf, size_t cap);
unsigned int scn_op_rows(void);

struct scn_result {
	bool pass;
	bool asserted; /* the failure is a failed assertion (msg says which):
			* the target's state was abandoned, not freed */
	int fail_line;
	char msg[1024];
	uint64_t seed;
	uint64_t hash;
	uint64_t scsi_cmds; /* SCSI commands answered */
	uint64_t virt_ns;
	uint64_t events;
	unsigned int expectations;
	unsigned int differences; /* with keep_going */
	unsigned int skipped;	  /* lines skipped against a real target */
	uint32_t op_count[SCN_STAT_OPS];   /* SCSI commands sent, by row */
	uint32_t tmf_count[SCN_STAT_TMFS]; /* TMFs sent, by function */
	uint32_t fault_count[SCN_FAULTS];  /* fault lines played */
};

/* Run a scenario held in text (name is for messages).  Returns 0 on
 * pass, 1 on an expectation or oracle failure, 2 on a syntax error. */
int scn_run(const char *name, const char *text, const struct scn_opts *o,
	    struct scn_result *res);

#endif
