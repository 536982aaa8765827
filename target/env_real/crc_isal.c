/*
 * crc_isal.c — CRC32C of long buffers through ISA-L (Debian libisal).
 *
 * iSCSI data digests cover whole data segments (4 KiB to 256 KiB).
 * ISA-L's crc32_iscsi folds with (V)PCLMULQDQ over 64-byte lanes and runs
 * at about twice the speed of crc32c.c's three streams of the crc32
 * instruction (bench/crc-bench.c, docs/performance.md "Digests"); below
 * 256 bytes (headers) the instruction loop is faster and stays.  It is
 * the environment's to install because libutarget.a links nothing of
 * the world: tests, fuzzers and the simulation keep the built-in code,
 * which gives the same results.
 */
#include <isa-l/crc.h>
#include <limits.h>

#include "env_real/env_real_int.h"
#include "iscsi/pdu.h"

static uint32_t er_crc32c_isal(uint32_t crc, const void *buf, size_t len)
{
	/* crc32_iscsi takes an int length; segments are far shorter
	 * (MaxRecvDataSegmentLength <= 16 MiB), but never truncate. */
	if (len > INT_MAX)
		return crc32c_1way(crc, buf, len);
	return crc32_iscsi((unsigned char *)buf, (int)len, crc);
}

void er_crc_init(void)
{
	crc32c_set_long_impl(er_crc32c_isal);
}
