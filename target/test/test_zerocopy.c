/*
 * test_zerocopy.c — Data-In sent by reference (zero-copy reads, issue 17).
 *
 * The fake environment's "fake-ref:" disk answers a READ asked for by
 * reference with a pointer into its memory, as env_real's file backstore
 * does into the page cache (test_env_real_disk.c checks that one).  Here:
 * the target asks for a reference exactly when no DataDigest is on, sends
 * the disk's bytes from it over as many Data-In PDUs as the initiator's
 * MaxRecvDataSegmentLength needs, and releases it once the last PDU that
 * points into it is gone: sent, or dropped with its connection.  A mem
 * LUN does the same from its own memory (with the fake-ref switch on, the
 * fake environment says zero_copy as the daemon does with --zero-copy on),
 * and a write landing while the Data-In still points into a chunk leaves
 * that Data-In with the bytes of its read (test_mem_zerocopy.c has the
 * backstore's side of that rule).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/iscsi_int.h"
#include "rig.h"

#define TGT "iqn.2026-11.org.utarget:zc"
#define INI "iqn.2026-11.org.test:ini"
#define READ_BYTES (128u * 1024u)
#define READ_LBA 24u /* 512-byte blocks */

static const char conf[] =
	"HANDLER vdisk_fileio {\n DEVICE d0 {\n  filename fake-ref:d0\n"
	"  size_mb 1\n }\n}\n"
	"TARGET_DRIVER iscsi {\n TARGET " TGT " {\n  LUN 0 d0\n }\n}\n";

static const char mem_conf[] =
	"HANDLER vdisk_mem {\n DEVICE m0 {\n  size_mb 2\n }\n}\n"
	"TARGET_DRIVER iscsi {\n TARGET " TGT " {\n  LUN 0 m0\n }\n}\n";

static const char null_conf[] =
	"HANDLER vdisk_nullio {\n DEVICE n0 {\n  size_mb 4\n }\n}\n"
	"TARGET_DRIVER iscsi {\n TARGET " TGT " {\n  LUN 0 n0\n }\n}\n";

static void read16(uint8_t cdb[16], uint64_t lba, uint32_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x88;
	for (int i = 0; i < 8; i++)
		cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		cdb[10 + i] = (uint8_t)(blocks >> (24 - 8 * i));
}

/* The byte a READ must bring from disk offset off: the fake-ref disk's,
 * a mem LUN's of write generation gen (mem_put), or a null LUN's. */
typedef uint8_t (*disk_byte_fn)(uint64_t off, uint8_t gen);

static uint8_t ref_byte(uint64_t off, uint8_t gen)
{
	(void)gen;
	return fake_ref_byte(off);
}

static uint8_t mem_byte(uint64_t off, uint8_t gen)
{
	return (uint8_t)(off * 5 + (off >> 9) + gen);
}

static uint8_t zero_byte(uint64_t off, uint8_t gen)
{
	(void)off;
	(void)gen;
	return 0;
}

/* Collect the Data-In of one READ of READ_BYTES at READ_LBA (its data
 * digests checked where ddigest): in order, none empty or above the
 * initiator's MaxRecvDataSegmentLength (8192), every byte as byte_at
 * says, GOOD with the last.  Returns the number of PDUs. */
static unsigned int expect_data_in(struct rig *r, bool ddigest,
				   disk_byte_fn byte_at, uint8_t gen)
{
	unsigned int pdus = 0;
	uint32_t got = 0;
	bool status = false;

	while (!status) {
		struct iscsi_bhs h;
		uint8_t *d = NULL;

		assert_int_equal(fake_conn_pop_pdu_digests(r->c, false, ddigest,
							   &h, &d),
				 0);
		assert_int_equal(h.opcode, ISCSI_OP_DATA_IN);
		assert_int_equal(h.buffer_offset, got);
		assert_true(h.data_len > 0 && h.data_len <= 8192);
		for (uint32_t i = 0; i < h.data_len; i++)
			assert_int_equal(
				d[i],
				byte_at((uint64_t)READ_LBA * 512 + got + i,
					gen));
		got += h.data_len;
		pdus++;
		status = h.flags & ISCSI_DATAIN_F_STATUS;
		if (status)
			assert_int_equal(h.b3, 0); /* GOOD */
		free(d);
	}
	assert_int_equal(got, READ_BYTES);
	return pdus;
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
	unsigned int made = fake_refs_made();
	uint8_t cdb[16];

	(void)state;
	read16(cdb, READ_LBA, READ_BYTES / 512);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	/* as many PDUs as MaxRecvDataSegmentLength (8192) needs */
	assert_int_equal(expect_data_in(r, false, ref_byte, 0),
			 READ_BYTES / 8192);
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
	uint64_t file0 = fake_file_bytes_sent();
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	uint8_t cdb[16];

	(void)state;
	fake_env_ref_disks(true);
	fake_env_send_files(true); /* and could send from files */
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
	assert_int_equal(fake_file_bytes_sent(), file0);
	rig_free(r);
	fake_env_send_files(false);
}

static int mem_put_status;

static void mem_put_done(struct bs_req *req, int status)
{
	(void)req;
	mem_put_status = status;
}

/* Write READ_BYTES of generation gen at READ_LBA straight to the mem
 * disk, as a session on another reactor would. */
static void mem_put(struct bs_dev *bs, uint8_t gen)
{
	static uint8_t b[READ_BYTES];
	struct iovec iov = {b, sizeof(b)};
	struct bs_req req = {.op = BS_OP_WRITE,
			     .offset_bytes = (uint64_t)READ_LBA * 512,
			     .length_bytes = READ_BYTES,
			     .iov = &iov,
			     .iovcnt = 1,
			     .done = mem_put_done};

	for (uint32_t i = 0; i < READ_BYTES; i++)
		b[i] = mem_byte((uint64_t)READ_LBA * 512 + i, gen);
	mem_put_status = 1;
	bs_submit(bs, &req);
	assert_int_equal(mem_put_status, 0);
}

/* A write racing a zero-copy read of a mem LUN: the READ completes with
 * a reference into the chunk and its Data-In waits (the initiator does
 * not read); a write of the same blocks lands meanwhile.  The Data-In
 * carries the bytes of the read's completion (the chunk was copied for
 * the write, bs_mem_cow_copies), the next READ the written ones. */
static void mem_lun_read_keeps_its_bytes_under_a_racing_write(void **state)
{
	struct rig *r;
	struct bs_dev *bs;
	struct rig_scsi out;
	uint8_t cdb[16];

	(void)state;
	fake_env_ref_disks(true);
	r = rig_new(mem_conf);
	assert_true(r->env->zero_copy);
	bs = iscsi_server_find_lu(r->srv, "m0")->bs;
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, 0);
	mem_put(bs, 1);
	fake_conn_set_blocked(r->c, 1);
	read16(cdb, READ_LBA, READ_BYTES / 512);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	fake_env_advance(r->env, 0);
	assert_int_equal(bs_mem_cow_copies(bs), 0);
	mem_put(bs, 2);
	/* the read was by reference: the write had to copy its chunk */
	assert_int_equal(bs_mem_cow_copies(bs), 1);
	/* the initiator reads again (the pops let the target send) */
	fake_conn_set_blocked(r->c, 0);
	fake_conn_set_send_limit(r->c, 1u << 20);
	expect_data_in(r, false, mem_byte, 1);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	fake_env_advance(r->env, 0);
	expect_data_in(r, false, mem_byte, 2);
	/* nothing referenced the new chunk when the second read ended */
	mem_put(bs, 3);
	assert_int_equal(bs_mem_cow_copies(bs), 1);
	rig_free(r);
}

/* The same race with DataDigest: the read copies (no reference, so no
 * chunk copy for the write), and still sends its completion's bytes. */
static void mem_lun_with_data_digest_copies(void **state)
{
	struct rig *r;
	struct bs_dev *bs;
	struct rig_text t = {0};
	struct rig_login_rsp rsp;
	uint8_t cdb[16];

	(void)state;
	fake_env_ref_disks(true);
	r = rig_new(mem_conf);
	bs = iscsi_server_find_lu(r->srv, "m0")->bs;
	rig_connect(r);
	rig_text_identity(&t, INI, TGT);
	rig_text_add(&t, "HeaderDigest", "None");
	rig_text_add(&t, "DataDigest", "CRC32C");
	rig_login(r, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, true,
		  &t, &rsp);
	assert_int_equal(rsp.status, 0);
	rig_login_rsp_free(&rsp);
	rig_text_free(&t);
	memset(cdb, 0, sizeof(cdb));
	rig_scsi_send(r, 0, cdb, 0, 0, NULL, 0);
	fake_env_advance(r->env, 0);
	fake_conn_drop_pending(r->c);
	mem_put(bs, 1);
	fake_conn_set_blocked(r->c, 1);
	read16(cdb, READ_LBA, READ_BYTES / 512);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	fake_env_advance(r->env, 0);
	mem_put(bs, 2);
	assert_int_equal(bs_mem_cow_copies(bs), 0);
	fake_conn_set_blocked(r->c, 0);
	fake_conn_set_send_limit(r->c, 1u << 20);
	expect_data_in(r, true, mem_byte, 1);
	rig_free(r);
}

/* An environment that sends from files (env.h conn_send_file): the
 * Data-In of a read by reference goes from the disk's file, each PDU's
 * header first; sends that take 1001 bytes at a time cut headers and
 * file ranges anywhere, and the initiator still gets every byte in
 * order, for two reads queued together.  The references go once sent. */
static void data_in_goes_from_the_file_through_partial_sends(void **state)
{
	struct rig *r;
	unsigned int made = fake_refs_made();
	uint64_t file0 = fake_file_bytes_sent();
	uint8_t cdb[16];

	(void)state;
	fake_env_send_files(true);
	r = zc_rig();
	fake_conn_set_blocked(r->c, 1);
	read16(cdb, READ_LBA, READ_BYTES / 512);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_refs_live(), 2);
	assert_int_equal(fake_file_bytes_sent(), file0); /* blocked */
	fake_conn_set_blocked(r->c, 0);
	fake_conn_set_send_limit(r->c, 1001);
	expect_data_in(r, false, ref_byte, 0);
	expect_data_in(r, false, ref_byte, 0);
	assert_int_equal(fake_file_bytes_sent(), file0 + 2 * READ_BYTES);
	assert_int_equal(fake_refs_made(), made + 2);
	assert_int_equal(fake_refs_live(), 0);
	rig_free(r);
	fake_env_send_files(false);
}

/* The connection drops with a Data-In sent in part from its file: the
 * reference goes with the connection. */
static void a_connection_dropped_mid_file_releases_the_reference(void **state)
{
	struct rig *r;
	uint64_t file0 = fake_file_bytes_sent();
	uint8_t cdb[16];

	(void)state;
	fake_env_send_files(true);
	r = zc_rig();
	/* the peer reads the first PDU's header and 3000 bytes more */
	fake_conn_set_send_budget(r->c, 48 + 3000);
	read16(cdb, READ_LBA, READ_BYTES / 512);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	fake_env_advance(r->env, 0);
	/* part of the first PDU's segment went from the file */
	assert_int_equal(fake_file_bytes_sent(), file0 + 3000);
	assert_int_equal(fake_refs_live(), 1);
	fake_conn_hangup(r->c);
	fake_env_advance(r->env, 1000000);
	assert_int_equal(fake_refs_live(), 0);
	rig_free(r);
	fake_env_send_files(false);
}

/* A null LUN's large read where zeros go from a file of the
 * environment's (ENV_FD_ZEROS): all zeros, none copied by the target;
 * a small read is zeroed in its buffer as before. */
static void null_lun_reads_send_zeros_from_the_environment(void **state)
{
	struct rig *r;
	struct rig_scsi out;
	uint64_t file0;
	uint8_t cdb[16];

	(void)state;
	fake_env_send_files(true);
	r = rig_new(null_conf);
	assert_int_equal(rig_login_plain(r, INI, TGT), 0);
	rig_tur(r, 0, &out);
	assert_int_equal(out.status, 0);
	file0 = fake_file_bytes_sent();
	fake_conn_set_send_limit(r->c, 5000);
	read16(cdb, READ_LBA, READ_BYTES / 512);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	expect_data_in(r, false, zero_byte, 0);
	assert_int_equal(fake_file_bytes_sent(), file0 + READ_BYTES);
	/* 4 KiB: below the threshold, from the task's buffer */
	read16(cdb, READ_LBA, 8);
	memset(&out, 0xee, sizeof(out));
	rig_scsi(r, 0, cdb, 4096, &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.data_len, 4096);
	for (uint32_t i = 0; i < out.data_len; i++)
		assert_int_equal(out.data[i], 0);
	assert_int_equal(fake_file_bytes_sent(), file0 + READ_BYTES);
	rig_free(r);
	fake_env_send_files(false);
}

/* A WRITE ATOMIC(16) racing a zero-copy read of a file LUN, whose
 * Data-In is read from the file when sent (as from the page cache): the
 * READ completes with a reference and its Data-In waits (the initiator
 * does not read); the atomic write of 8 of its blocks comes meanwhile.
 * The read keeps its LBA range until its reference is released, so the
 * write waits for the Data-In to have left, which carries none of it
 * (SBC-4 §5.48: all or nothing for a concurrent read too); then it
 * lands and answers GOOD. */
static void write_atomic_waits_for_a_read_by_reference(void **state)
{
	struct rig *r = zc_rig();
	uint8_t cdb[16], wcdb[16], data[4096];
	struct iscsi_bhs h;
	uint8_t *d = NULL;
	struct rig_scsi out;

	(void)state;
	fake_conn_set_blocked(r->c, 1);
	read16(cdb, READ_LBA, READ_BYTES / 512);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_refs_live(), 1);
	memset(data, 0xa5, sizeof(data));
	memset(wcdb, 0, sizeof(wcdb));
	wcdb[0] = 0x9c; /* WRITE ATOMIC(16): LBA 2-9, blocks 12-13 */
	wcdb[9] = READ_LBA + 8;
	wcdb[13] = sizeof(data) / 512;
	rig_scsi_send(r, 0, wcdb, ISCSI_CMD_F_WRITE, sizeof(data), data,
		      sizeof(data));
	fake_env_advance(r->env, 1000000);
	/* the initiator reads again (the pops let the target send) */
	fake_conn_set_blocked(r->c, 0);
	fake_conn_set_send_limit(r->c, 1u << 20);
	expect_data_in(r, false, ref_byte, 0);
	fake_env_advance(r->env, 0);
	assert_int_equal(fake_refs_live(), 0);
	assert_int_equal(fake_conn_pop_pdu_digests(r->c, false, false, &h, &d),
			 0);
	free(d);
	assert_int_equal(h.opcode, ISCSI_OP_SCSI_RSP);
	assert_int_equal(h.b3, 0); /* GOOD */
	/* and it landed: a read now sees it */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x28; /* READ(10) of its 8 blocks */
	cdb[5] = READ_LBA + 8;
	cdb[8] = sizeof(data) / 512;
	rig_scsi(r, 0, cdb, sizeof(data), &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.data_len, sizeof(data));
	assert_memory_equal(out.data, data, sizeof(data));
	rig_free(r);
}

/* sendfile hands the socket references to the pages, which a lost
 * segment is resent from until the peer acknowledged it: a read sent
 * from a file keeps its LBA range until then, not only until its bytes
 * were taken (iscsi/conn_ack.c).  Everything is sent at once but the
 * client takes nothing: the reference stays out, and a WRITE ATOMIC(16)
 * of 8 of its blocks waits; once the client has taken the Data-In (its
 * ack), the target sees it within ISCSI_ACK_POLL_NS, the reference goes
 * and the write lands, GOOD. */
static void a_read_from_a_file_keeps_its_range_until_acknowledged(void **state)
{
	struct rig *r;
	uint64_t file0 = fake_file_bytes_sent();
	uint8_t cdb[16], wcdb[16], data[4096];
	struct iscsi_bhs h;
	uint8_t *d = NULL;

	(void)state;
	fake_env_send_files(true);
	fake_env_track_acks(true);
	r = zc_rig();
	read16(cdb, READ_LBA, READ_BYTES / 512);
	rig_scsi_send(r, 0, cdb, ISCSI_CMD_F_READ, READ_BYTES, NULL, 0);
	fake_env_advance(r->env, 0);
	/* all of it went from the file, its answer too: unacknowledged */
	assert_int_equal(fake_file_bytes_sent(), file0 + READ_BYTES);
	assert_int_equal(fake_refs_live(), 1);
	memset(data, 0x5a, sizeof(data));
	memset(wcdb, 0, sizeof(wcdb));
	wcdb[0] = 0x9c; /* WRITE ATOMIC(16) of 8 of the read's blocks */
	wcdb[9] = READ_LBA + 8;
	wcdb[13] = sizeof(data) / 512;
	rig_scsi_send(r, 0, wcdb, ISCSI_CMD_F_WRITE, sizeof(data), data,
		      sizeof(data));
	fake_env_advance(r->env, 10 * ISCSI_ACK_POLL_NS);
	assert_int_equal(fake_refs_live(), 1);
	/* the client takes the read's PDUs: acknowledged */
	expect_data_in(r, false, ref_byte, 0);
	fake_env_advance(r->env, ISCSI_ACK_POLL_NS);
	assert_int_equal(fake_refs_live(), 0);
	fake_env_advance(r->env, 1000000);
	assert_int_equal(fake_conn_pop_pdu_digests(r->c, false, false, &h, &d),
			 0);
	free(d);
	assert_int_equal(h.opcode, ISCSI_OP_SCSI_RSP);
	assert_int_equal(h.b3, 0); /* GOOD */
	rig_free(r);
	fake_env_track_acks(false);
	fake_env_send_files(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			data_in_comes_from_the_reference_and_releases_it),
		cmocka_unit_test(
			a_dropped_connection_releases_an_unsent_reference),
		cmocka_unit_test(data_digest_reads_copy),
		cmocka_unit_test(
			mem_lun_read_keeps_its_bytes_under_a_racing_write),
		cmocka_unit_test(mem_lun_with_data_digest_copies),
		cmocka_unit_test(
			data_in_goes_from_the_file_through_partial_sends),
		cmocka_unit_test(
			a_connection_dropped_mid_file_releases_the_reference),
		cmocka_unit_test(
			null_lun_reads_send_zeros_from_the_environment),
		cmocka_unit_test(write_atomic_waits_for_a_read_by_reference),
		cmocka_unit_test(
			a_read_from_a_file_keeps_its_range_until_acknowledged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
