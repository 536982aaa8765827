/*
 * fake_env.h — an in-memory environment for unit tests: no sockets, no
 * clock, no threads.  A test plays the initiator by pushing bytes into a
 * fake connection and reading the target's bytes back.
 */
#ifndef UT_FAKE_ENV_H
#define UT_FAKE_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "iscsi/pdu.h"

struct fake_conn;

struct env *fake_env_new(void);
void fake_env_free(struct env *e);
/* Advance virtual time, firing due timers in deadline order. */
void fake_env_advance(struct env *e, uint64_t ns);
/* Number of listeners opened. */
unsigned int fake_env_listeners(struct env *e);

/* Connect to the first listener; the target's accept callback runs. */
struct fake_conn *fake_connect(struct env *e);

/* Two reactors in one thread: returns the first env and sets *second to
 * another env of the same world (same clock, timers and connections).
 * env_post() queues work that fake_env_advance() runs (before timers, in
 * order); mutexes abort on a nested or unbalanced lock. */
struct env *fake_env_new_reactors(struct env **second);
/* One reactor without mutex operations (env.h: mutex_new NULL). */
struct env *fake_env_new_unlocked(void);
/* Connect, the connection belonging to `reactor` (info.env). */
struct fake_conn *fake_connect_on(struct env *e, struct env *reactor);
/* The same through listener i (in listen order; its local address is
 * 127.0.0.1:3260+i and its portal group the listener's). */
struct fake_conn *fake_connect_to(struct env *e, unsigned int listener,
				  struct env *reactor);
/* Posted functions run so far; mutexes not freed. */
unsigned int fake_env_posts_run(struct env *e);
unsigned int fake_env_mutexes_live(struct env *e);
/* Timers made and not freed (a server freed must leave none: one left
 * armed fires on freed memory where the environment outlives it). */
unsigned int fake_env_timers_live(struct env *e);
/* Limit how many bytes one conn_send accepts (0 = unlimited), to make the
 * target meet partial writes. */
void fake_conn_set_send_limit(struct fake_conn *c, size_t limit);
/* A peer that reads this many bytes more, then stops (from then on,
 * every send accepts only what is left of them). */
void fake_conn_set_send_budget(struct fake_conn *c, size_t bytes);
/* A peer that stops reading: every conn_send accepts nothing. */
void fake_conn_set_blocked(struct fake_conn *c, int blocked);
/* Deliver bytes to the target, chunk bytes at a time (0 = all at once). */
void fake_conn_push(struct fake_conn *c, const void *buf, size_t len,
		    size_t chunk);
/* Bytes the target sent and the test has not read yet. */
size_t fake_conn_pending(struct fake_conn *c);
/* Forget what the target sent and the test has not read (PDUs with
 * digests, which fake_conn_pop_pdu() cannot parse). */
void fake_conn_drop_pending(struct fake_conn *c);
/* Take one PDU the target sent (no digests). 0 on success, -1 if no
 * complete PDU is waiting.  *data is malloc'ed (or NULL). */
int fake_conn_pop_pdu(struct fake_conn *c, struct iscsi_bhs *h, uint8_t **data);
/* The same on a connection whose digests are on (RFC 7143 §13.1: the
 * header digest follows the BHS and AHS, the data digest the padded data
 * segment), checking them: -2 for a wrong header digest, -3 for a wrong
 * data digest (the PDU is consumed either way). */
int fake_conn_pop_pdu_digests(struct fake_conn *c, bool header_digest,
			      bool data_digest, struct iscsi_bhs *h,
			      uint8_t **data);
/* Has the target closed the connection? */
int fake_conn_closed(struct fake_conn *c);
/* Close from the initiator's side (orderly). */
void fake_conn_hangup(struct fake_conn *c);

/* Zero-copy reads: once on, a device "filename fake-ref:NAME" of at most
 * 64 MiB opens as a disk holding fake_ref_byte(offset) that answers a
 * READ asked for by reference (BS_F_MAY_REF) with a reference into its
 * memory (off: such a device fails to open, as every file does here);
 * environments made after it say zero_copy, so their mem disks answer
 * such reads by reference too (env.h).  How many references were made, and are still held, in this process. */
void fake_env_ref_disks(bool on);
uint8_t fake_ref_byte(uint64_t off);
unsigned int fake_refs_made(void);
unsigned int fake_refs_live(void);

/* Data-In sent from files (env.h conn_send_file): once on, environments
 * made after it have the operation (it reads the file with pread, or
 * sends zeros for ENV_FD_ZEROS, within the connection's send limit), and
 * fake-ref: devices opened after it keep their bytes in a memfd too,
 * which their references name.  fake_file_bytes_sent(): bytes sent from
 * files (or zeros) so far in this process. */
void fake_env_send_files(bool on);
uint64_t fake_file_bytes_sent(void);
/* And acknowledgements (env.h conn_unacked), once on, for environments
 * made after it with send_files: the bytes sent that the client has not
 * taken yet (popped) are unacknowledged. */
void fake_env_track_acks(bool on);
extern bool fake_send_files_on;

/* Held disks: a device "filename fake-hold:NAME" (BS_FILE, at most
 * 64 MiB, resizable) queues every request until the test completes it:
 * fake_held_complete(n) completes the oldest n (returns how many).
 * fake_held_disks_live(): held disks open; fake_held_pending(): requests
 * waiting; a disk takes them back when abandoned (backstore.h) and
 * asserts at close that none is left. */
void fake_env_hold_disks(bool on);
unsigned int fake_held_complete(unsigned int n);
unsigned int fake_held_pending(void);
unsigned int fake_held_disks_live(void);
/* Requests dropped unanswered by an abandon (a server freed with commands
 * inside).  Each one dropped is checked first: its request must still be
 * the one submitted (a bs_req freed before it was taken back fails under
 * AddressSanitizer, or reads as garbage). */
unsigned int fake_held_dropped(void);
/* The next abandons keep (do not give back) up to n requests, as a store
 * stuck in a system call: they count in abandon's return value. */
void fake_held_stuck(unsigned int n);

/* Opens off the reactor (env.h disk_open_async) of BS_FILE devices named
 * "fake-...": queued until fake_env_answer_open(rc) answers the oldest
 * (rc 0: opened as disk_open would; else that error); "fake-refuse:..."
 * is refused at once with -EACCES.  Off (the default): -ENOTSUP. */
void fake_env_async_opens(bool on);
unsigned int fake_env_opens_pending(void);
void fake_env_answer_open(int rc);

/* fake_disks.c's disk_open and disk_open_async, for fake_env.c's env_ops
 * (-ENOTSUP for anything but the fake-ref:, fake-hold: and, with async
 * opens on, fake- devices above). */
/* Whether fake_env_ref_disks() is on (fake_env_new() passes it on). */
extern bool fake_ref_disks_on;
int fake_disk_open(struct env *e, const struct bs_dev_params *p,
		   struct bs_dev **out);
int fake_disk_open_async(struct env *e, const struct bs_dev_params *p,
			 env_disk_opened_fn done, void *arg);

#endif
