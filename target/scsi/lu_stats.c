/*
 * lu_stats.c — per-LU I/O statistics, cheap enough to leave on.
 *
 * Each I_T_L nexus counts its own commands (scsi_stats_count(), called
 * once per command from scsi_cmd_complete() on the session's reactor):
 * two clock reads per command (scsi_cmd_exec() and here), a bucket
 * computed with one count-leading-zeros, and four or five increments of
 * memory no other reactor writes.  Nothing is locked on the data path;
 * scsi_lu_get_stats() sums the nexuses under the LU lock, reading
 * counters another reactor may be incrementing (a figure may lag by a
 * command, as the server's own counters do).
 *
 * The histogram (scsi.h): units of 1024 ns; below 8 units one bucket per
 * unit, then 8 buckets per power of two.
 */
#include "scsi/scsi_int.h"

#define LAT_SUB_BITS 3 /* 8 buckets per power of two */
#define LAT_SUB (1u << LAT_SUB_BITS)

unsigned int scsi_lat_bucket(uint64_t ns)
{
	uint64_t v = ns / SCSI_LAT_UNIT_NS;
	unsigned int e, idx;

	if (v < LAT_SUB)
		return (unsigned int)v;
	e = 63u - (unsigned int)__builtin_clzll(v); /* >= LAT_SUB_BITS */
	idx = LAT_SUB + (e - LAT_SUB_BITS) * LAT_SUB +
	      (unsigned int)((v >> (e - LAT_SUB_BITS)) & (LAT_SUB - 1));
	return idx < SCSI_LAT_BUCKETS ? idx : SCSI_LAT_BUCKETS - 1;
}

uint64_t scsi_lat_bucket_low_ns(unsigned int b)
{
	unsigned int e, m;

	if (b < LAT_SUB)
		return (uint64_t)b * SCSI_LAT_UNIT_NS;
	e = LAT_SUB_BITS + (b - LAT_SUB) / LAT_SUB;
	m = (b - LAT_SUB) % LAT_SUB;
	return ((uint64_t)(LAT_SUB + m) << (e - LAT_SUB_BITS)) *
	       SCSI_LAT_UNIT_NS;
}

uint64_t scsi_lat_percentile_ns(const struct scsi_io_stats *st,
				unsigned int permille)
{
	uint64_t total = 0, seen = 0, want;

	ut_assert(permille <= 1000);
	for (unsigned int i = 0; i < SCSI_LAT_BUCKETS; i++)
		total += st->lat[i];
	if (total == 0)
		return 0;
	/* The rank of the sample at or above permille/1000 of them. */
	want = (total * permille + 999) / 1000;
	if (want == 0)
		want = 1;
	ut_assert(want <= total); /* the loop below finds it */
	for (unsigned int i = 0; i < SCSI_LAT_BUCKETS; i++) {
		seen += st->lat[i];
		if (seen >= want)
			return i + 1 < SCSI_LAT_BUCKETS
				       ? scsi_lat_bucket_low_ns(i + 1)
				       : scsi_lat_bucket_low_ns(i);
	}
	return scsi_lat_bucket_low_ns(SCSI_LAT_BUCKETS - 1);
}

/* Which counter a command goes to, by opcode. */
enum stat_kind { STAT_READ, STAT_WRITE, STAT_OTHER };

static enum stat_kind stat_kind(uint8_t op)
{
	switch (op) {
	case 0x08: /* READ(6) */
	case 0x28: /* READ(10) */
	case 0xa8: /* READ(12) */
	case 0x88: /* READ(16) */
		return STAT_READ;
	case 0x0a: /* WRITE(6) */
	case 0x2a: /* WRITE(10) */
	case 0xaa: /* WRITE(12) */
	case 0x8a: /* WRITE(16) */
	case 0x2e: /* WRITE AND VERIFY(10) */
	case 0xae: /* WRITE AND VERIFY(12) */
	case 0x8e: /* WRITE AND VERIFY(16) */
	case 0x89: /* COMPARE AND WRITE */
	case 0x9c: /* WRITE ATOMIC(16) */
		return STAT_WRITE;
	default:
		return STAT_OTHER;
	}
}

void scsi_stats_count(struct scsi_cmd *cmd, uint64_t now_ns)
{
	struct scsi_io_stats *st = &cmd->itl->stats;
	bool good = cmd->status == SCSI_STATUS_GOOD && !scsi_cmd_aborted(cmd);

	/* Counted once, on the nexus the command ran through, with the
	 * monotonic clock it started by (scsi_cmd_exec). */
	ut_assert(cmd->itl != NULL && cmd->itl->busy > 0);
	ut_assert(now_ns >= cmd->start_ns);
	switch (stat_kind(cmd->cdb[0])) {
	case STAT_READ:
		st->reads++;
		st->read_bytes += good ? cmd->data_in_len : 0;
		break;
	case STAT_WRITE:
		st->writes++;
		st->write_bytes += good ? cmd->data_out_len : 0;
		break;
	case STAT_OTHER:
		st->others++;
		st->errors += !good;
		return;
	}
	st->errors += !good;
	st->lat[scsi_lat_bucket(now_ns - cmd->start_ns)]++;
}

void scsi_stats_add(struct scsi_io_stats *sum, const struct scsi_io_stats *st)
{
	sum->reads += st->reads;
	sum->writes += st->writes;
	sum->others += st->others;
	sum->read_bytes += st->read_bytes;
	sum->write_bytes += st->write_bytes;
	sum->errors += st->errors;
	for (unsigned int i = 0; i < SCSI_LAT_BUCKETS; i++)
		sum->lat[i] += st->lat[i];
}

void scsi_lu_get_stats(struct scsi_lu *lu, struct scsi_io_stats *out)
{
	struct scsi_itl *itl;

	scsi_lu_lock(lu);
	*out = lu->retired;
	LIST_FOREACH (itl, &lu->itls, lu_link)
		scsi_stats_add(out, &itl->stats);
	scsi_lu_unlock(lu);
}
