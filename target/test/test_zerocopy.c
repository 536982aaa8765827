/*
 * test_zerocopy.c — Data-In sent by reference (zero-copy reads, issue 17).
 *
 * The fake environment's "fake-ref:" disk answers a READ asked for by
 * reference with a pointer into its memory, as env_real's file backstore
 * does into the page cache (test_env_real_disk.c checks that one).  Here:
 * the target asks for a reference exactly when no DataDigest is on, sends
 * the disk's bytes from it over as many Data-In PDUs as the initiator's
 * MaxRecvDataSegmentLength needs, and releases it once the last PDU that
 * points into it is gone: sent, or dropped with its connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rig.h"

#define TGT "iqn.2026-11.org.utarget:zc"
#define INI "iqn.2026-11.org.test:ini"
#define READ_BYTES (128u * 1024u)
#define READ_LBA 24u /* 512-byte blocks */

static const char conf[] =
	"HANDLER vdisk_fileio {\n DEVICE d0 {\n  filename fake-ref:d0\n"
	"  size_mb 1\n }\n}\n"
	"TARGET_DRIVER iscsi {\n TARGET " TGT " {\n  LUN 0 d0\n }\n}\n";

static void read16(uint8_t cdb[16], uint64_t lba, uint32_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x88;
	for (int i = 0; i < 8; i++)
		cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		cdb[10 + i] = (uint8_t)(blocks >> (24 - 8 * i));
}

static struct rig *zc_rig(void)
{
	struct rig *r;

	fake_env_ref_disks(true);
	r = rig_new(conf);
	struct rig_scsi out;

	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, 0);
	return r;
}

static void data_in_comes_from_the_reference_and_releases_it(void **state)
{
	struct rig *r = zc_rig();
	unsigned int made = fake_refs_made(), pdus = 0;
	uint32_t got = 0;
	uint8_t cdb[16];
	bool status = false;

	(void)state;
	read16(cdb, READ_LBA, READ_BYTES / 512);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	while (!status) {
		struct iscsi_bhs h;
		uint8_t *d = NULL;

		rig_expect_pdu(r, ISCSI_OP_DATA_IN, &h, &d);
		assert_int_equal(h.buffer_offset, got);
		/* the initiator's MaxRecvDataSegmentLength (8192) */
		assert_true(h.data_len > 0 && h.data_len <= 8192);
		for (uint32_t i = 0; i < h.data_len; i++)
			assert_int_equal(
				d[i], fake_ref_byte((uint64_t)READ_LBA * 512 +
						    got + i));
		got += h.data_len;
		pdus++;
		status = h.flags & ISCSI_DATAIN_F_STATUS;
		if (status)
			assert_int_equal(h.b3, 0); /* GOOD */
		free(d);
	}
	assert_int_equal(got, READ_BYTES);
	assert_int_equal(pdus, READ_BYTES / 8192);
	assert_int_equal(fake_refs_made(), made + 1);
	assert_int_equal(fake_refs_live(), 0);
	rig_free(r);
}

/* The initiator stops reading: the Data-In stays queued, holding the
 * reference; the connection drops and the reference goes with it. */
static void a_dropped_connection_releases_an_unsent_reference(void **state)
{
	struct rig *r = zc_rig();
	unsigned int made = fake_refs_made();
	uint8_t cdb[16];

	(void)state;
	fake_conn_set_blocked(r->c, 1);
	read16(cdb, READ_LBA, READ_BYTES / 512);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_refs_made(), made + 1);
	assert_int_equal(fake_refs_live(), 1);
	fake_conn_hangup(r->c);
	fake_env_advance(r->env, 1000000);
	assert_int_equal(fake_refs_live(), 0);
	rig_free(r);
}

/* With DataDigest the digest is computed when the PDU is queued, over
 * bytes that must not change before they leave: no reference. */
static void data_digest_reads_copy(void **state)
{
	struct rig *r;
	unsigned int made = fake_refs_made();
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	uint8_t cdb[16];

	(void)state;
	fake_env_ref_disks(true);
	r = rig_new(conf);
	rig_connect(r);
	rig_text_identity(&t, INI, TGT);
	rig_text_add(&t, "HeaderDigest", "None");
	rig_text_add(&t, "DataDigest", "CRC32C");
	rig_text_add(&t, "MaxRecvDataSegmentLength", "8192");
	rig_login(r, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, true,
		  &t, &rsp);
	assert_int_equal(rsp.status, 0);
	assert_string_equal(iscsi_kv_get(&rsp.kv, "DataDigest"), "CRC32C");
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	/* the new nexus's unit attention (its sense carries a digest) */
	memset(cdb, 0, sizeof(cdb));
	rig_scsi_send(r, 0, cdb, 0, 0, NULL, 0);
	fake_env_advance(r->env, 0);
	assert_true(fake_conn_pending(r->c) > 0);
	fake_conn_drop_pending(r->c);
	read16(cdb, READ_LBA, READ_BYTES / 512);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	fake_env_advance(r->env, 0);
	/* executed and answered (the bytes wait to be read) */
	assert_true(fake_conn_pending(r->c) > READ_BYTES);
	assert_int_equal(fake_refs_made(), made);
	assert_int_equal(fake_refs_live(), 0);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			data_in_comes_from_the_reference_and_releases_it),
		cmocka_unit_test(
			a_dropped_connection_releases_an_unsent_reference),
		cmocka_unit_test(data_digest_reads_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
