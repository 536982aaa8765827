/*
 * world.c — the configuration the full-stack harnesses serve (world.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "world.h"

static const char fz_conf[] =
	"HANDLER vdisk_mem {\n"
	"  DEVICE d0 {\n    size 256K\n    thin_provisioned 1\n  }\n"
	"  DEVICE d1 {\n    size 128K\n    blocksize 4096\n  }\n"
	"}\n"
	"HANDLER vdisk_nullio {\n"
	"  DEVICE z {\n    size 1G\n    read_only 1\n  }\n"
	"}\n"
	"TARGET_DRIVER iscsi {\n"
	"  enabled 1\n"
	"  portal " FZ_PORTAL "\n"
	"  MaxRecvDataSegmentLength 8192\n"
	"  MaxBurstLength 65536\n"
	"  FirstBurstLength 16384\n"
	"  MaxOutstandingR2T 4\n"
	"  QueuedCommands 32\n"
	"  NopInInterval 5\n"
	"  TARGET " FZ_TARGET " {\n"
	"    enabled 1\n"
	"    HeaderDigest None,CRC32C\n"
	"    DataDigest None,CRC32C\n"
	"    LUN 0 d0\n    LUN 1 d1\n    LUN 2 z\n"
	"  }\n"
	"  TARGET " FZ_TARGET_CHAP " {\n"
	"    enabled 1\n"
	"    IncomingUser \"" FZ_CHAP_USER " " FZ_CHAP_SECRET "\"\n"
	"    OutgoingUser \"" FZ_CHAP_TARGET_USER " " FZ_CHAP_TARGET_SECRET
	"\"\n"
	"    LUN 0 d0\n"
	"  }\n"
	"  TARGET " FZ_TARGET_ACL " {\n"
	"    enabled 1\n"
	"    LUN 0 z\n"
	"    GROUP allowed {\n"
	"      INITIATOR iqn.2026-11.org.fuzz:allowed*\n"
	"      LUN 0 d1\n"
	"    }\n"
	"  }\n"
	"}\n";

static void diag(void *arg, int severity, const char *file, int line,
		 int column, const char *msg)
{
	(void)arg;
	if (severity)
		fprintf(stderr, "fuzz world config: %s:%d:%d: %s\n",
			file ? file : "-", line, column, msg);
}

void fz_world_config(struct ut_config *cfg, bool sim)
{
	ut_config_init(cfg);
	if (ut_config_parse(cfg, "fuzz-world.conf", fz_conf,
			    sizeof(fz_conf) - 1, diag, NULL) != 0 ||
	    ut_config_validate(cfg, diag, NULL) != 0)
		abort();
	for (size_t i = 0; i < cfg->dev_count; i++)
		if (sim && cfg->devs[i].kind == BS_MEM)
			cfg->devs[i].kind = BS_SIM;
}
