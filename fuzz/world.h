/*
 * world.h — the target configuration the full-stack harnesses serve.
 *
 * One scst.conf text, parsed once per process: three LUs (two mem disks
 * of different block sizes and a read-only null device), a plain target
 * that offers digests, a target that requires CHAP (IncomingUser, and an
 * OutgoingUser for mutual CHAP), and a target with an initiator group
 * (LUN masking).  The login and pdu_stream harnesses share it so that
 * their corpora are interchangeable after stripping the input headers.
 */
#ifndef UT_FUZZ_WORLD_H
#define UT_FUZZ_WORLD_H

#include "config/config.h"

#define FZ_PORTAL "10.0.0.1:3260"
#define FZ_TARGET "iqn.2026-11.org.utarget:fuzz"
#define FZ_TARGET_CHAP "iqn.2026-11.org.utarget:chap"
#define FZ_TARGET_ACL "iqn.2026-11.org.utarget:acl"
#define FZ_CHAP_USER "alice"
#define FZ_CHAP_SECRET "alicesecret12"
#define FZ_CHAP_TARGET_USER "tgt"
#define FZ_CHAP_TARGET_SECRET "targetsecret1"

/* Parse the embedded configuration (aborts if it does not parse).  When
 * sim is true every mem device becomes a simnet disk (BS_SIM). */
void fz_world_config(struct ut_config *cfg, bool sim);

#endif
