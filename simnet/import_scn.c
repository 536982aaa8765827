/*
 * import_scn.c — the second half of `utarget-sim import`: the items
 * import.c read from a capture written out as a scenario (the header with
 * the target's IQN, LUNs and parameters, then one line per item, in the
 * background with `&` where the capture overlapped), with the
 * expectations --exact or --loose asks for.
 *
 * The boundary: import.c understands the capture (TCP streams, PDUs,
 * what each connection did) and knows nothing of the scenario language;
 * this file knows the language and reads only the items (import_int.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "import_int.h"
#include "iscsi/pdu.h"
#include "sense.h"

/* ---------------------------------------------------------- output */

static void lba_range(const uint8_t *cdb, uint64_t *lba, uint64_t *n)
{
	*lba = *n = 0;
	switch (cdb[0]) {
	case 0x08: /* READ(6) / WRITE(6) */
	case 0x0a:
		*lba = (uint64_t)(cdb[1] & 0x1f) << 16 | get_be16(cdb + 2);
		*n = cdb[4] ? cdb[4] : 256;
		break;
	case 0x28:
	case 0x2a:
	case 0x2e:
	case 0x41:
		*lba = get_be32(cdb + 2);
		*n = get_be16(cdb + 7);
		break;
	case 0xa8:
	case 0xaa:
		*lba = get_be32(cdb + 2);
		*n = get_be32(cdb + 6);
		break;
	case 0x88:
	case 0x8a:
	case 0x8e:
	case 0x93:
		*lba = get_be64(cdb + 2);
		*n = get_be32(cdb + 10);
		break;
	case 0x89:
		*lba = get_be64(cdb + 2);
		*n = cdb[13];
		break;
	}
}

static bool is_media_read(uint8_t op)
{
	return op == 0x08 || op == 0x28 || op == 0xa8 || op == 0x88;
}

static bool is_media_write(uint8_t op)
{
	return op == 0x0a || op == 0x2a || op == 0xaa || op == 0x8a ||
	       op == 0x2e || op == 0x8e || op == 0x41 || op == 0x93 ||
	       op == 0x89;
}

static void lun_written(struct im_lun *l, uint64_t lba, uint64_t n)
{
	l->w = realloc(l->w, (l->nw + 1) * sizeof(*l->w));
	if (l->w == NULL)
		abort();
	l->w[l->nw][0] = lba;
	l->w[l->nw][1] = lba + n;
	l->nw++;
}

static bool lun_all_written(const struct im_lun *l, uint64_t lba, uint64_t n)
{
	for (uint64_t b = lba; b < lba + n; b++) {
		bool in = false;

		for (size_t i = 0; i < l->nw && !in; i++)
			in = b >= l->w[i][0] && b < l->w[i][1];
		if (!in)
			return false;
	}
	return true;
}

static bool all_zero(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* What the answers say about the LUNs: READ CAPACITY, INQUIRY. */
void learn_luns(struct im *m)
{
	for (size_t i = 0; i < m->nitems; i++) {
		struct im_item *it = &m->items[i];
		struct im_lun *l;

		if (it->kind != IM_SCSI || !it->answered || it->status != 0 ||
		    it->lun == UINT64_MAX || (l = lun_of(m, it->lun)) == NULL)
			continue;
		if (it->cdb[0] == 0x25 && it->in_len >= 8) {
			l->blocks = (uint64_t)get_be32(it->in) + 1;
			l->block = get_be32(it->in + 4);
			l->cap_known = true;
		} else if (it->cdb[0] == 0x9e && (it->cdb[1] & 0x1f) == 0x10 &&
			   it->in_len >= 12) {
			l->blocks = get_be64(it->in) + 1;
			l->block = get_be32(it->in + 8);
			l->cap_known = true;
		} else if (it->cdb[0] == 0x12 && !(it->cdb[1] & 1) &&
			   it->in_len >= 1) {
			l->pdt = it->in[0] & 0x1f;
			l->not_disk = l->pdt != 0 || (it->in[0] >> 5) != 0;
		}
	}
}

static void hex_out(FILE *f, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static void scsi_line(struct im *m, FILE *f, const struct im_item *it,
		      size_t idx)
{
	int cdb_len = it->cdb[0] >> 5 == 0   ? 6
		      : it->cdb[0] >> 5 <= 2 ? 10
		      : it->cdb[0] >> 5 == 4 ? 16
		      : it->cdb[0] >> 5 == 5 ? 12
					     : 16;
	struct im_lun *l = it->lun != UINT64_MAX ? lun_of(m, it->lun) : NULL;
	uint64_t lba, n;
	const char *nm = iss_cdb_name(it->cdb[0]);

	fprintf(f, "# %s\n", nm ? nm : "(command)");
	fprintf(f, "%c cdb ", 'A' + it->actor);
	hex_out(f, it->cdb, (uint32_t)cdb_len);
	if (it->lun != 0 && it->lun != UINT64_MAX)
		fprintf(f, " lun=%" PRIu64, it->lun);
	if (it->r && !it->w)
		fprintf(f, " in=%u", it->edtl);
	if (it->w) {
		fprintf(f, " out=%u", it->edtl);
		if (it->out != NULL && it->out_len > 0 &&
		    !all_zero(it->out, it->out_len)) {
			if (it->out_len <= IM_MAX_WRITE_HEX) {
				fprintf(f, " data-hex=");
				hex_out(f, it->out, it->out_len);
			} else {
				notef(m,
				      "line of item %zu: %u bytes of write "
				      "data not written out (zeros sent)",
				      idx, it->out_len);
			}
		}
	}
	if (it->cmdsn_delta != 0)
		fprintf(f, " cmdsn=%+d", it->cmdsn_delta);
	if (it->label_needed)
		fprintf(f, " as=t%zu", idx);
	if (it->background)
		fputs(" &", f);
	if (!it->answered) {
		fputs(" expect any\n", f);
		return;
	}
	if (it->response != 0) {
		fprintf(f, " expect fail   # iSCSI response 0x%02x\n",
			it->response);
		return;
	}
	fputs(" expect", f);
	if (it->status == 0x02 && m->exact && it->sense_len >= 3) {
		struct sense_view v;
		char why[120];

		(void)sense_decode(it->sense, it->sense_len, &v, why,
				   sizeof(why));
		fprintf(f, " sense=%x/%02x/%02x",
			v.sk < 0 ? 0u : (unsigned)v.sk,
			v.asc < 0 ? 0u : (unsigned)v.asc,
			v.ascq < 0 ? 0u : (unsigned)v.ascq);
	} else if (it->status == 0) {
		fputs(" good", f);
	} else {
		fprintf(f, " status=0x%02x", it->status);
	}
	if (!m->exact) {
		fputc('\n', f);
		return;
	}
	if (it->status == 0 && it->r) {
		bool compare = true;

		lba_range(it->cdb, &lba, &n);
		if (is_media_read(it->cdb[0]) && l != NULL && it->in_len > 0 &&
		    !all_zero(it->in, it->in_len) &&
		    !lun_all_written(l, lba, n)) {
			compare = false;
			fprintf(f, " data=any   # blocks this capture did not "
				   "write held data: not compared");
		}
		if (compare && it->in_len <= IM_MAX_DATA_HEX) {
			fputs(" data-hex=", f);
			hex_out(f, it->in, it->in_len);
		} else if (compare) {
			fprintf(f, " data-crc=%08x/%u",
				it->in_len ? iscsi_digest(it->in, it->in_len)
					   : 0,
				it->in_len);
		}
	}
	if (it->status == 0 || it->residual != 0)
		fprintf(f, " residual=%u", it->residual);
	fputc('\n', f);
}

static const char *tmf_verb(uint8_t fn)
{
	switch (fn) {
	case ISCSI_TMF_ABORT_TASK:
		return "abort";
	case ISCSI_TMF_ABORT_TASK_SET:
		return "abort-task-set";
	case ISCSI_TMF_CLEAR_TASK_SET:
		return "clear-task-set";
	case ISCSI_TMF_LOGICAL_UNIT_RESET:
		return "lun-reset";
	case ISCSI_TMF_TARGET_WARM_RESET:
	case ISCSI_TMF_TARGET_COLD_RESET:
		return "target-reset";
	default:
		return NULL;
	}
}

static void keys_out(FILE *f, const char *keys)
{
	bool any = false;

	for (const char *k = keys; *k;) {
		const char *sp = strchr(k, ' ');
		size_t n = sp ? (size_t)(sp - k) : strlen(k);

		if (k[0] != '#') {
			fprintf(f, " %.*s", (int)n, k);
			any = true;
		}
		k += n + (sp ? 1 : 0);
	}
	/* keys the captured initiator did not send, ours does not either */
	for (size_t i = 0; any && i < IM_OP_KEYS; i++) {
		char pat[64];

		snprintf(pat, sizeof(pat), "%s=", im_op_keys[i]);
		if (strstr(keys, pat) == NULL)
			fprintf(f, " %s=-", im_op_keys[i]);
	}
}

/* Identity data (SPC-4 §6.6.2 vendor, product, revision; VPD pages 80h
 * serial number and 83h designators) differs between any two targets by
 * nature: compared by status only. */
static bool identity_data(const uint8_t *cdb)
{
	if (cdb[0] != 0x12)
		return false;
	return !(cdb[1] & 1) || cdb[2] == 0x80 || cdb[2] == 0x83;
}

static void item_line(struct im *m, FILE *f, struct im_item *it, size_t idx)
{
	char a = (char)('A' + it->actor);
	struct im_lun *l;
	bool exact = m->exact;

	switch (it->kind) {
	case IM_LOGIN:
		fprintf(f, "%c login", a);
		keys_out(f, it->keys);
		if (it->background)
			fputs(" &", f);
		if (!it->answered)
			fputs(" expect any", f);
		else if (it->login_status != 0)
			fprintf(f, " expect login=%04x", it->login_status);
		fputc('\n', f);
		break;
	case IM_DISCOVERY:
		fprintf(f, "%c discovery", a);
		if (!it->answered)
			fputs(" expect any", f);
		else if (it->login_status != 0)
			fprintf(f, " expect login=%04x", it->login_status);
		else if (exact && it->targets >= 0)
			fprintf(f, " expect targets=%d", it->targets);
		fputc('\n', f);
		break;
	case IM_SCSI:
		if (it->lun == UINT64_MAX) {
			fprintf(f, "# (a command to a LUN of a format the "
				   "importer does not read: skipped)\n");
			break;
		}
		l = lun_of(m, it->lun);
		if ((l != NULL && l->not_disk) || identity_data(it->cdb)) {
			if (l != NULL && l->not_disk)
				fprintf(f,
					"# LUN %" PRIu64 " is not a disk "
					"on the captured target: status "
					"only\n",
					it->lun);
			else
				fprintf(f, "# identity data: status only\n");
			m->exact = false;
			scsi_line(m, f, it, idx);
			m->exact = exact;
		} else {
			scsi_line(m, f, it, idx);
		}
		break;
	case IM_NOP:
		fprintf(f, "%c nop%s%s\n", a, it->background ? " &" : "",
			it->answered ? "" : " expect any");
		break;
	case IM_TMF:
		if (tmf_verb(it->tmf_fn) == NULL) {
			fprintf(f, "# a TMF of function %u: not replayed\n",
				it->tmf_fn);
			break;
		}
		fprintf(f, "%c %s", a, tmf_verb(it->tmf_fn));
		if (it->tmf_fn == ISCSI_TMF_ABORT_TASK) {
			if (it->ref_item >= 0)
				fprintf(f, " ref=t%d", it->ref_item);
		} else if (it->tmf_fn == ISCSI_TMF_LOGICAL_UNIT_RESET &&
			   it->lun != UINT64_MAX) {
			fprintf(f, " lun=%" PRIu64, it->lun);
		}
		if (it->background)
			fputs(" &", f);
		if (!it->answered)
			fputs(" expect any", f);
		else
			fprintf(f, " expect response=%u", it->response);
		fputc('\n', f);
		break;
	case IM_LOGOUT:
		fprintf(f, "%c logout%s", a, it->background ? " &" : "");
		if (!it->answered)
			fputs(" expect any", f);
		else if (it->response != 0)
			fprintf(f, " expect response=%u", it->response);
		fputc('\n', f);
		break;
	case IM_DISCONNECT:
		fprintf(f, "%c %s\n", a, it->response ? "rst" : "disconnect");
		break;
	}
	if (it->kind == IM_SCSI && it->answered && it->status == 0 &&
	    it->response == 0 && is_media_write(it->cdb[0]) &&
	    (l = lun_of(m, it->lun)) != NULL) {
		uint64_t lba, n;

		lba_range(it->cdb, &lba, &n);
		lun_written(l, lba, n);
	}
}

/* Which items overlapped another (run in the background). */
void schedule(struct im *m)
{
	for (size_t i = 0; i < m->nitems; i++) {
		struct im_item *it = &m->items[i];

		if (it->kind == IM_DISCONNECT || it->kind == IM_DISCOVERY)
			continue;
		if (i + 1 < m->nitems &&
		    (!it->answered || m->items[i + 1].t_sent < it->t_done))
			it->background = true;
	}
}

void header_out(struct im *m, FILE *f, const char *path,
		const struct ptcp_stats *st)
{
	fprintf(f,
		"# Imported from %s by utarget-sim import (%s): the "
		"initiator side of the capture,\n# with the captured "
		"target's answers as expectations.\n",
		path, m->exact ? "--exact" : "--loose");
	fprintf(f,
		"# capture: %" PRIu64 " packets, %" PRIu64 " TCP, %" PRIu64
		" connections, %" PRIu64 " bytes in order, %" PRIu64
		" retransmitted bytes, %" PRIu64
		" segments out of order, %" PRIu64 " gaps (%" PRIu64
		" bytes), %" PRIu64 " PDUs\n",
		st->packets, st->tcp_packets, st->connections,
		st->bytes_delivered, st->retransmitted_bytes,
		st->out_of_order_segments, st->gaps, st->gap_bytes, m->pdus);
	if (m->notes_len > 0) {
		fputs("# not used or not as captured:\n", f);
		for (const char *p = m->notes; *p;) {
			const char *nl = strchr(p, '\n');

			fprintf(f, "#   %.*s\n", (int)(nl - p), p);
			p = nl + 1;
		}
	}
	fputs("seed 1\n", f);
	if (m->target[0])
		fprintf(f, "target %s\n", m->target);
	if (m->params[0])
		fprintf(f, "param%s\n", m->params);
	for (int i = 0; i < m->nluns; i++) {
		struct im_lun *l = &m->luns[i];
		uint32_t bs = l->block == 4096 ? 4096 : 512;
		uint64_t size = l->cap_known ? l->blocks * l->block
					     : 64ull << 20;

		if (l->cap_known && l->block != 512 && l->block != 4096)
			fprintf(f,
				"# LUN %" PRIu64 ": %u-byte blocks are "
				"not simulated; 512 used\n",
				l->lun, l->block);
		if (!l->cap_known)
			fprintf(f,
				"# LUN %" PRIu64 ": no READ CAPACITY "
				"answer in the capture: 64 MiB\n",
				l->lun);
		if (size / bs == 0)
			size = 64ull << 20;
		fprintf(f,
			"lun %" PRIu64 " disk%" PRIu64 " size=%" PRIu64
			" block=%u\n",
			l->lun, l->lun, size / bs * bs, bs);
	}
	for (int i = 0; i < m->nactors; i++)
		if (m->actors[i].used)
			fprintf(f, "initiator %c %s\n", 'A' + i,
				m->actors[i].iqn);
}

void body_out(struct im *m, FILE *f)
{
	double last = m->nitems ? m->items[0].t_sent : 0;

	for (size_t i = 0; i < m->nitems; i++) {
		struct im_item *it = &m->items[i];
		double pause = it->t_sent - last;
		bool all_done = true;

		if (it->actor < 0)
			continue;
		if (pause > IM_PAUSE_S)
			fprintf(f, "+%.0fms\n", pause * 1e3);
		item_line(m, f, it, i);
		if (it->t_sent > last)
			last = it->t_sent;
		if (it->answered && it->t_done > last)
			last = it->t_done;
		/* nothing outstanding before the next one: wait for the
		 * background ones, as the capture did */
		if (!it->background || i + 1 == m->nitems)
			continue;
		for (size_t j = 0; j <= i && all_done; j++)
			if (m->items[j].background &&
			    (!m->items[j].answered ||
			     m->items[j].t_done > m->items[i + 1].t_sent))
				all_done = false;
		if (all_done)
			fputs("wait\n", f);
	}
}
