/*
 * test_backstore.c — the world-independent backstores (mem, null) and
 * bs_open's dispatch.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backstore/backstore.h"
#include "env.h"

#define MiB (1ull << 20)

static int last_status;
static int done_calls;

static void on_done(struct bs_req *req, int status)
{
	last_status = status;
	done_calls++;
}

/* Submit one request and check it completed synchronously. */
static int io(struct bs_dev *dev, enum bs_op op, uint64_t off, void *buf,
	      uint64_t len)
{
	struct iovec iov = {buf, (size_t)len};
	struct bs_req req = {.op = op,
			     .offset_bytes = off,
			     .length_bytes = len,
			     .done = on_done};
	int before = done_calls;

	if (buf) {
		req.iov = &iov;
		req.iovcnt = 1;
	}
	bs_submit(dev, &req);
	assert_int_equal(done_calls, before + 1);
	return last_status;
}

static struct bs_dev *mem(uint64_t size)
{
	struct bs_dev_params p = {.kind = BS_MEM,
				  .size_bytes = size,
				  .block_size = 512,
				  .thin = true};
	struct bs_dev *dev;

	assert_int_equal(bs_open(NULL, &p, &dev), 0);
	return dev;
}

static bool mapped_run(struct bs_dev *dev, uint64_t off, uint64_t len,
		       uint64_t *run)
{
	bool mapped;

	*run = dev->ops->lba_status(dev, off, len, &mapped);
	return mapped;
}

static void mem_1gib_disk_starts_unallocated_and_reads_zeros(void **state)
{
	struct bs_dev *dev = mem(1ull << 30);
	uint8_t buf[4096];
	uint64_t run;

	assert_int_equal(dev->size_bytes, 1ull << 30);
	assert_true(dev->thin);
	assert_false(mapped_run(dev, 0, dev->size_bytes, &run));
	assert_int_equal(run, dev->size_bytes);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(io(dev, BS_OP_READ, 512 * MiB, buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	bs_close(dev);
}

static void mem_write_allocates_one_chunk_and_reads_back(void **state)
{
	struct bs_dev *dev = mem(8 * MiB);
	uint8_t w[2048], r[2048];
	uint64_t run;

	for (size_t i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(i * 3 + 1);
	/* straddles the 1 MiB boundary: two chunks */
	assert_int_equal(io(dev, BS_OP_WRITE, 2 * MiB - 1024, w, sizeof(w)), 0);
	assert_int_equal(io(dev, BS_OP_READ, 2 * MiB - 1024, r, sizeof(r)), 0);
	assert_memory_equal(w, r, sizeof(w));
	assert_false(mapped_run(dev, 0, 8 * MiB, &run));
	assert_int_equal(run, 1 * MiB);
	assert_true(mapped_run(dev, 1 * MiB, 8 * MiB, &run));
	assert_int_equal(run, 2 * MiB);
	assert_false(mapped_run(dev, 3 * MiB, 5 * MiB, &run));
	assert_int_equal(run, 5 * MiB);
	bs_close(dev);
}

static void mem_zero_write_to_unallocated_chunk_allocates_nothing(void **state)
{
	struct bs_dev *dev = mem(4 * MiB);
	uint8_t z[4096] = {0};
	uint64_t run;

	assert_int_equal(io(dev, BS_OP_WRITE, MiB, z, sizeof(z)), 0);
	assert_false(mapped_run(dev, 0, 4 * MiB, &run));
	assert_int_equal(run, 4 * MiB);
	bs_close(dev);
}

static void mem_unmap_frees_whole_chunks_and_zeros_partial(void **state)
{
	struct bs_dev *dev = mem(4 * MiB);
	uint8_t *buf = malloc(4 * MiB);
	uint64_t run;

	memset(buf, 0x5a, 4 * MiB);
	assert_int_equal(io(dev, BS_OP_WRITE, 0, buf, 4 * MiB), 0);
	/* [512 KiB, 2 MiB + 512 KiB): chunk 1 whole, 0 and 2 partly */
	assert_int_equal(io(dev, BS_OP_UNMAP, MiB / 2, NULL, 2 * MiB), 0);
	assert_true(mapped_run(dev, 0, 4 * MiB, &run));
	assert_int_equal(run, MiB);
	assert_false(mapped_run(dev, MiB, 4 * MiB, &run));
	assert_int_equal(run, MiB);
	assert_int_equal(io(dev, BS_OP_READ, 0, buf, 4 * MiB), 0);
	assert_int_equal(buf[MiB / 2 - 1], 0x5a);
	assert_int_equal(buf[MiB / 2], 0);
	assert_int_equal(buf[2 * MiB + MiB / 2 - 1], 0);
	assert_int_equal(buf[2 * MiB + MiB / 2], 0x5a);
	assert_int_equal(io(dev, BS_OP_WRITE_ZEROES, 0, NULL, 4 * MiB), 0);
	assert_false(mapped_run(dev, 0, 4 * MiB, &run));
	assert_int_equal(run, 4 * MiB);
	free(buf);
	bs_close(dev);
}

static void mem_odd_size_last_chunk_is_partial(void **state)
{
	struct bs_dev *dev = mem(MiB + 4096);
	uint8_t w[4096];

	memset(w, 1, sizeof(w));
	assert_int_equal(io(dev, BS_OP_WRITE, MiB, w, sizeof(w)), 0);
	assert_int_equal(io(dev, BS_OP_UNMAP, MiB, NULL, 4096), 0);
	assert_int_equal(io(dev, BS_OP_READ, MiB, w, sizeof(w)), 0);
	assert_int_equal(w[0], 0);
	bs_close(dev);
}

static void mem_request_past_capacity_is_einval(void **state)
{
	struct bs_dev *dev = mem(MiB);
	uint8_t b[1024];

	assert_int_equal(io(dev, BS_OP_READ, MiB - 512, b, 512), 0);
	assert_int_equal(io(dev, BS_OP_READ, MiB - 512, b, 1024), -EINVAL);
	assert_int_equal(io(dev, BS_OP_FLUSH, 0, NULL, 0), 0);
	bs_close(dev);
}

static void mem_read_only_rejects_writes(void **state)
{
	struct bs_dev_params p = {.kind = BS_MEM,
				  .size_bytes = MiB,
				  .block_size = 4096,
				  .read_only = true};
	struct bs_dev *dev;
	uint8_t b[4096] = {1};

	assert_int_equal(bs_mem_open(&p, &dev), 0);
	assert_int_equal(dev->block_size, 4096);
	assert_int_equal(io(dev, BS_OP_WRITE, 0, b, 4096), -EROFS);
	assert_int_equal(io(dev, BS_OP_READ, 0, b, 4096), 0);
	bs_close(dev);
}

static void mem_bad_block_size_is_einval(void **state)
{
	struct bs_dev_params p = {
		.kind = BS_MEM, .size_bytes = MiB, .block_size = 1000};
	struct bs_dev *dev;

	assert_int_equal(bs_mem_open(&p, &dev), -EINVAL);
	assert_null(dev);
}

static void mem_scatter_gather_crosses_iovecs_and_chunks(void **state)
{
	struct bs_dev *dev = mem(4 * MiB);
	static uint8_t a[1536], b[512], c[2048], r[4096];
	struct iovec w[3] = {{a, sizeof(a)}, {b, sizeof(b)}, {c, sizeof(c)}};
	struct bs_req req = {.op = BS_OP_WRITE,
			     .offset_bytes = MiB - 2048,
			     .length_bytes = 4096,
			     .iov = w,
			     .iovcnt = 3,
			     .done = on_done};

	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	memset(c, 3, sizeof(c));
	bs_submit(dev, &req);
	assert_int_equal(last_status, 0);
	assert_int_equal(io(dev, BS_OP_READ, MiB - 2048, r, sizeof(r)), 0);
	assert_int_equal(r[0], 1);
	assert_int_equal(r[1535], 1);
	assert_int_equal(r[1536], 2);
	assert_int_equal(r[2047], 2);
	assert_int_equal(r[2048], 3); /* first byte of chunk 1 */
	assert_int_equal(r[4095], 3);
	/* a short iovec array is refused */
	req.iovcnt = 2;
	bs_submit(dev, &req);
	assert_int_equal(last_status, -EINVAL);
	bs_close(dev);
}

static void null_reads_zeros_and_discards_writes(void **state)
{
	struct bs_dev_params p = {
		.kind = BS_NULL, .size_bytes = 1ull << 40, .block_size = 512};
	struct bs_dev *dev;
	uint8_t b[512];

	assert_int_equal(bs_open(NULL, &p, &dev), 0);
	assert_int_equal(dev->kind, BS_NULL);
	memset(b, 7, sizeof(b));
	assert_int_equal(io(dev, BS_OP_WRITE, 0, b, 512), 0);
	assert_int_equal(io(dev, BS_OP_READ, 0, b, 512), 0);
	assert_int_equal(b[0], 0);
	assert_int_equal(io(dev, BS_OP_FLUSH, 0, NULL, 0), 0);
	bs_close(dev);
}

/* A READ of the null disk asked for by reference. */
static struct bs_ref *null_read_ref(struct bs_dev *dev, uint64_t off,
				    uint8_t *buf, uint64_t len)
{
	struct iovec iov = {buf, (size_t)len};
	struct bs_req req = {.op = BS_OP_READ,
			     .flags = BS_F_MAY_REF,
			     .offset_bytes = off,
			     .length_bytes = len,
			     .iov = &iov,
			     .iovcnt = 1,
			     .done = on_done};

	memset(buf, 0xee, (size_t)len);
	bs_submit(dev, &req);
	assert_int_equal(last_status, 0);
	return req.ref;
}

static ssize_t no_send(struct env_conn *c, const struct iovec *iov, int iovcnt,
		       int fd, uint64_t off, uint64_t len)
{
	(void)c, (void)iov, (void)iovcnt, (void)fd, (void)off, (void)len;
	return -1;
}

/* Zero-copy reads of a null disk: only in an environment with zero_copy
 * that sends from files; then reads of 64 KiB to 1 MiB are references
 * to zeros marked ENV_FD_ZEROS, other reads are zeroed in their buffer. */
static void null_large_reads_are_zeros_by_reference(void **state)
{
	struct env_ops ops = {0};
	struct env e = {.ops = &ops, .zero_copy = true};
	struct bs_dev_params p = {
		.kind = BS_NULL, .size_bytes = 1ull << 40, .block_size = 512};
	struct bs_dev *dev;
	uint8_t *buf = malloc(2 * MiB);
	struct bs_ref *ref;
	uint64_t out;

	(void)state;
	assert_non_null(buf);
	/* no conn_send_file: no references */
	assert_int_equal(bs_open(&e, &p, &dev), 0);
	assert_null(null_read_ref(dev, 0, buf, 128 * 1024));
	assert_int_equal(buf[128 * 1024 - 1], 0);
	bs_close(dev);
	ops.conn_send_file = no_send;
	assert_int_equal(bs_open(&e, &p, &dev), 0);
	out = bs_null_refs_out();
	ref = null_read_ref(dev, 4096, buf, 128 * 1024);
	assert_non_null(ref);
	/* counted until released (the simulator's leak check) */
	assert_int_equal(bs_null_refs_out(), out + 1);
	assert_int_equal(ref->fd, ENV_FD_ZEROS);
	assert_int_equal(ref->length_bytes, 128 * 1024);
	for (size_t i = 0; i < 128 * 1024; i++)
		assert_int_equal(ref->mem[i], 0);
	assert_int_equal(buf[0], 0xee); /* nothing written */
	bs_ref_release(ref);
	assert_int_equal(bs_null_refs_out(), out);
	ref = null_read_ref(dev, 0, buf, MiB);
	assert_non_null(ref);
	/* a reference may outlive its disk (the LU removed meanwhile) */
	bs_close(dev);
	assert_int_equal(bs_null_refs_out(), out + 1);
	bs_ref_release(ref);
	assert_int_equal(bs_null_refs_out(), out);
	assert_int_equal(bs_open(&e, &p, &dev), 0);
	/* below 64 KiB and above 1 MiB: zeroed in the buffer */
	assert_null(null_read_ref(dev, 0, buf, 32 * 1024));
	assert_int_equal(buf[32 * 1024 - 1], 0);
	assert_null(null_read_ref(dev, 0, buf, 2 * MiB));
	assert_int_equal(buf[2 * MiB - 1], 0);
	bs_close(dev);
	/* zero_copy off (--zero-copy off): none */
	e.zero_copy = false;
	assert_int_equal(bs_open(&e, &p, &dev), 0);
	assert_null(null_read_ref(dev, 0, buf, 128 * 1024));
	assert_int_equal(buf[0], 0);
	bs_close(dev);
	free(buf);
}

/* bs_open: FILE/BLOCK/SIM go to the environment. */
static int disk_open_calls;
static int stub_disk_open(struct env *e, const struct bs_dev_params *p,
			  struct bs_dev **out)
{
	disk_open_calls++;
	*out = NULL;
	return -ENOENT;
}

static void bs_open_file_goes_through_env_or_is_enotsup(void **state)
{
	struct env_ops ops = {0};
	struct env e = {.ops = &ops};
	struct bs_dev_params p = {
		.kind = BS_FILE, .path = "/x", .block_size = 512};
	struct bs_dev *dev;

	assert_int_equal(bs_open(&e, &p, &dev), -ENOTSUP);
	ops.disk_open = stub_disk_open;
	assert_int_equal(bs_open(&e, &p, &dev), -ENOENT);
	p.kind = BS_SIM;
	assert_int_equal(bs_open(&e, &p, &dev), -ENOENT);
	assert_int_equal(disk_open_calls, 2);
	p.kind = (enum bs_kind)42;
	assert_int_equal(bs_open(&e, &p, &dev), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			mem_1gib_disk_starts_unallocated_and_reads_zeros),
		cmocka_unit_test(mem_write_allocates_one_chunk_and_reads_back),
		cmocka_unit_test(
			mem_zero_write_to_unallocated_chunk_allocates_nothing),
		cmocka_unit_test(
			mem_unmap_frees_whole_chunks_and_zeros_partial),
		cmocka_unit_test(mem_odd_size_last_chunk_is_partial),
		cmocka_unit_test(mem_request_past_capacity_is_einval),
		cmocka_unit_test(mem_read_only_rejects_writes),
		cmocka_unit_test(mem_bad_block_size_is_einval),
		cmocka_unit_test(mem_scatter_gather_crosses_iovecs_and_chunks),
		cmocka_unit_test(null_reads_zeros_and_discards_writes),
		cmocka_unit_test(null_large_reads_are_zeros_by_reference),
		cmocka_unit_test(bs_open_file_goes_through_env_or_is_enotsup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
