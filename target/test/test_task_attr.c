/*
 * test_task_attr.c — task attributes in the task set (scsi/task_set.c,
 * SAM-5 §8.6): ORDERED waits for every older command and holds every
 * younger one, HEAD OF QUEUE is enabled at once and holds younger ones,
 * SIMPLE waits only for older ORDERED and HEAD OF QUEUE commands; an
 * aborted command leaves without waiting; ACA and NACA are refused.  A
 * write whose Data-Out is still to come holds its place from the moment
 * it is received (scsi_cmd_accept) until it runs, is withdrawn or is
 * refused (the iSCSI side: test_order_data_out.c).
 * Driven through scsi_cmd_exec() on an LU whose backstore holds every
 * request until the test answers it, so "enabled" is seen as "reached
 * the backstore" and "completed" as done() called.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_rig.h"

/* ------------------------------------------------ a holding backstore */

#define HELD_MAX 16

static struct bs_req *held[HELD_MAX];
static unsigned int held_n;

static void ho_submit(struct bs_dev *dev, struct bs_req *req)
{
	assert_true(held_n < HELD_MAX);
	held[held_n++] = req;
}

static void ho_close(struct bs_dev *dev)
{
	free(dev);
}

static const struct bs_ops ho_ops = {.submit = ho_submit, .close = ho_close};

/* The request of the backstore for command c, or -1 if it has none. */
static int held_index(const struct scsi_cmd *c)
{
	for (unsigned int i = 0; i < held_n; i++)
		if (held[i] == &c->bsreq)
			return (int)i;
	return -1;
}

/* Answer c's held request (GOOD). */
static void answer(const struct scsi_cmd *c)
{
	int i = held_index(c);
	struct bs_req *r;

	assert_true(i >= 0);
	r = held[i];
	memmove(&held[i], &held[i + 1],
		(held_n - (unsigned int)i - 1) * sizeof(held[0]));
	held_n--;
	r->done(r, 0);
}

/* ------------------------------------------------ commands and order */

#define CMDS_MAX 8

struct ta {
	struct fx *f;
	struct scsi_sess *s2; /* a second I_T nexus to the same LU */
	struct scsi_cmd c[CMDS_MAX];
	uint8_t buf[CMDS_MAX][BS];
	int done_order[CMDS_MAX]; /* index of c, in order of done() */
	unsigned int done_n;
};

static void ta_done(struct scsi_cmd *cmd)
{
	struct ta *t = cmd->transport;

	assert_true(t->done_n < CMDS_MAX);
	t->done_order[t->done_n++] = (int)(cmd - t->c);
}

static struct ta *ta_new(void)
{
	struct ta *t = calloc(1, sizeof(*t));
	struct fx *f = calloc(1, sizeof(*f));
	struct scsi_nexus_id id = {0};
	uint8_t tur[6] = {0};

	f->bs = calloc(1, sizeof(*f->bs));
	f->bs->ops = &ho_ops;
	f->bs->size_bytes = DISK_BYTES;
	f->bs->block_size = BS;
	f->lu = scsi_lu_new(&stub_env, NULL, f->bs, 3);
	f->sess = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(f->sess, 0, f->lu, false), 0);
	id.isid[0] = 2;
	t->s2 = scsi_sess_new(&stub_env, &id);
	assert_int_equal(scsi_sess_map(t->s2, 0, f->lu, false), 0);
	scsi_ua_clear(t->s2->lun_map[0]);
	f->buf = calloc(1, 1 << 20);
	run(f, tur, 6, 0, 0); /* the power-on unit attention */
	held_n = 0;
	t->f = f;
	return t;
}

static void ta_free(struct ta *t)
{
	struct scsi_lu *lu = t->f->lu;

	/* nothing left behind: no dormant command, no barrier counted */
	assert_int_equal(held_n, 0);
	assert_true(TAILQ_EMPTY(&lu->task_set));
	assert_true(TAILQ_EMPTY(&lu->dormant));
	assert_int_equal(lu->gated_n, 0);
	assert_int_equal(scsi_sess_busy(t->s2), 0);
	scsi_sess_free(t->s2);
	fx_free(t->f);
	free(t);
}

enum kind { K_READ, K_WRITE, K_TUR };

/* Start command i on session s (NULL: the fixture's) with attribute a:
 * a one-block READ(10) or WRITE(10) at LBA 8 * i, or TEST UNIT READY. */
static struct scsi_cmd *start(struct ta *t, unsigned int i, struct scsi_sess *s,
			      enum kind k, enum scsi_task_attr a)
{
	struct scsi_cmd *c = &t->c[i];

	memset(c, 0, sizeof(*c));
	c->sess = s ? s : t->f->sess;
	c->attr = a;
	c->tag = 100 + i;
	if (k == K_TUR) {
		c->cdb_len = 6;
	} else {
		cdb_rw10(c->cdb, k == K_READ ? 0x28 : 0x2a, 8 * i, 1);
		c->cdb_len = 10;
		c->buf = t->buf[i];
		c->buf_cap = c->edtl = BS;
		c->data_out_len = k == K_WRITE ? BS : 0;
	}
	c->done = ta_done;
	c->transport = t;
	scsi_cmd_exec(c);
	return c;
}

/* Has command i completed, and at which place (-1: not)? */
static int done_at(const struct ta *t, unsigned int i)
{
	for (unsigned int k = 0; k < t->done_n; k++)
		if (t->done_order[k] == (int)i)
			return (int)k;
	return -1;
}

static bool at_backstore(const struct ta *t, unsigned int i)
{
	return held_index(&t->c[i]) >= 0;
}

static bool dormant(const struct ta *t, unsigned int i)
{
	return (t->c[i].priv_state & CMD_DORMANT) != 0;
}

/* ------------------------------------------------------------ ORDERED */

static void ordered_waits_for_older_commands_of_every_nexus(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, NULL, K_WRITE, SCSI_TASK_SIMPLE);
	start(t, 1, t->s2, K_READ, SCSI_TASK_SIMPLE);
	start(t, 2, NULL, K_WRITE, SCSI_TASK_ORDERED);
	/* SAM-5 §8.6.3: dormant until every older command has completed,
	 * those of the other I_T nexus too (one task set, TST 000b) */
	assert_true(at_backstore(t, 0) && at_backstore(t, 1));
	assert_false(at_backstore(t, 2));
	assert_true(dormant(t, 2));
	answer(&t->c[1]);
	assert_false(at_backstore(t, 2));
	answer(&t->c[0]);
	assert_true(at_backstore(t, 2));
	assert_false(dormant(t, 2));
	answer(&t->c[2]);
	assert_int_equal(done_at(t, 2), 2);
	ta_free(t);
}

static void ordered_into_an_empty_task_set_is_enabled_at_once(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, NULL, K_WRITE, SCSI_TASK_ORDERED);
	assert_true(at_backstore(t, 0));
	answer(&t->c[0]);
	assert_int_equal(done_at(t, 0), 0);
	ta_free(t);
}

static void younger_commands_wait_for_the_ordered_one(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, NULL, K_WRITE, SCSI_TASK_ORDERED);
	start(t, 1, NULL, K_READ, SCSI_TASK_SIMPLE);
	start(t, 2, t->s2, K_TUR, SCSI_TASK_SIMPLE);
	start(t, 3, NULL, K_WRITE, SCSI_TASK_ORDERED);
	/* SAM-5 §8.6.2: a SIMPLE command is not enabled before an older
	 * ORDERED one has completed (a TEST UNIT READY neither) */
	assert_true(at_backstore(t, 0));
	assert_true(dormant(t, 1) && dormant(t, 2) && dormant(t, 3));
	assert_int_equal(t->done_n, 0);
	answer(&t->c[0]);
	/* the SIMPLE ones go together; the second ORDERED waits for them */
	assert_int_equal(done_at(t, 0), 0);
	assert_true(at_backstore(t, 1));
	assert_int_equal(done_at(t, 2), 1);
	assert_true(dormant(t, 3));
	answer(&t->c[1]);
	assert_true(at_backstore(t, 3));
	answer(&t->c[3]);
	assert_int_equal(done_at(t, 3), 3);
	ta_free(t);
}

static void ordered_ones_run_one_after_another(void **state)
{
	struct ta *t = ta_new();

	for (unsigned int i = 0; i < 4; i++)
		start(t, i, i % 2 ? t->s2 : NULL, K_WRITE, SCSI_TASK_ORDERED);
	for (unsigned int i = 0; i < 4; i++) {
		/* exactly one at the backstore, the oldest left */
		assert_int_equal(held_n, 1);
		assert_true(at_backstore(t, i));
		answer(&t->c[i]);
		assert_int_equal(done_at(t, i), (int)i);
	}
	ta_free(t);
}

/* ------------------------------------------------------ HEAD OF QUEUE */

static void head_of_queue_overtakes_dormant_commands(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, NULL, K_WRITE, SCSI_TASK_SIMPLE);
	start(t, 1, NULL, K_WRITE, SCSI_TASK_ORDERED);
	start(t, 2, NULL, K_READ, SCSI_TASK_SIMPLE);
	start(t, 3, t->s2, K_READ, SCSI_TASK_HEAD_OF_QUEUE);
	/* SAM-5 §8.6.4: enabled at once, ahead of the dormant ones */
	assert_true(dormant(t, 1) && dormant(t, 2));
	assert_true(at_backstore(t, 3));
	answer(&t->c[3]);
	assert_int_equal(done_at(t, 3), 0);
	assert_true(dormant(t, 1) && dormant(t, 2));
	answer(&t->c[0]);
	assert_true(at_backstore(t, 1));
	answer(&t->c[1]);
	assert_true(at_backstore(t, 2));
	answer(&t->c[2]);
	ta_free(t);
}

static void simple_waits_for_an_older_head_of_queue(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, NULL, K_READ, SCSI_TASK_SIMPLE);
	start(t, 1, NULL, K_READ, SCSI_TASK_HEAD_OF_QUEUE);
	start(t, 2, NULL, K_READ, SCSI_TASK_SIMPLE);
	start(t, 3, NULL, K_READ, SCSI_TASK_HEAD_OF_QUEUE);
	/* the older SIMPLE one runs on; the younger waits (SAM-5 §8.6.2);
	 * a second HEAD OF QUEUE goes at once too, and holds nothing older */
	assert_true(at_backstore(t, 0) && at_backstore(t, 1));
	assert_true(dormant(t, 2));
	assert_true(at_backstore(t, 3));
	answer(&t->c[3]);
	assert_true(dormant(t, 2));
	answer(&t->c[1]);
	assert_true(at_backstore(t, 2));
	answer(&t->c[0]);
	answer(&t->c[2]);
	ta_free(t);
}

/* ------------------------------------------------------------ aborts */

static void
aborting_a_dormant_ordered_command_lets_younger_ones_go(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, NULL, K_WRITE, SCSI_TASK_SIMPLE);
	start(t, 1, NULL, K_WRITE, SCSI_TASK_ORDERED);
	start(t, 2, t->s2, K_READ, SCSI_TASK_SIMPLE);
	assert_true(dormant(t, 1) && dormant(t, 2));
	assert_int_equal(scsi_tmf_abort_task(t->f->sess, 0, 101), 0);
	/* it ends at once, TASK ABORTED, without running */
	assert_int_equal(done_at(t, 1), 0);
	assert_true(t->c[1].aborted);
	assert_false(at_backstore(t, 1));
	/* the younger SIMPLE one waited only for it */
	assert_true(at_backstore(t, 2));
	answer(&t->c[2]);
	answer(&t->c[0]);
	ta_free(t);
}

static void
aborting_an_older_command_holds_the_barrier_until_it_ends(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, t->s2, K_WRITE, SCSI_TASK_SIMPLE);
	start(t, 1, NULL, K_WRITE, SCSI_TASK_ORDERED);
	assert_int_equal(scsi_tmf_abort_task(t->s2, 0, 100), 0);
	assert_true(t->c[0].aborted);
	/* still at the backstore: not completed, the ORDERED one waits */
	assert_true(dormant(t, 1));
	answer(&t->c[0]);
	assert_int_equal(done_at(t, 0), 0);
	assert_true(at_backstore(t, 1));
	answer(&t->c[1]);
	assert_false(t->c[1].aborted);
	ta_free(t);
}

static void
aborting_a_running_ordered_command_holds_younger_until_it_ends(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, NULL, K_WRITE, SCSI_TASK_ORDERED);
	start(t, 1, t->s2, K_READ, SCSI_TASK_SIMPLE);
	assert_int_equal(scsi_tmf_abort_task(t->f->sess, 0, 100), 0);
	assert_true(dormant(t, 1));
	answer(&t->c[0]);
	assert_true(t->c[0].aborted);
	assert_true(at_backstore(t, 1));
	answer(&t->c[1]);
	ta_free(t);
}

static void aborting_a_dormant_simple_command_ends_it_alone(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, NULL, K_WRITE, SCSI_TASK_ORDERED);
	start(t, 1, t->s2, K_READ, SCSI_TASK_SIMPLE);
	start(t, 2, t->s2, K_READ, SCSI_TASK_SIMPLE);
	assert_int_equal(scsi_tmf_abort_task(t->s2, 0, 101), 0);
	assert_int_equal(done_at(t, 1), 0);
	assert_true(dormant(t, 2));
	answer(&t->c[0]);
	assert_true(at_backstore(t, 2));
	answer(&t->c[2]);
	ta_free(t);
}

static void lu_reset_with_a_barrier_pending_ends_everything(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, NULL, K_WRITE, SCSI_TASK_SIMPLE);
	start(t, 1, t->s2, K_WRITE, SCSI_TASK_ORDERED);
	start(t, 2, NULL, K_READ, SCSI_TASK_SIMPLE);
	start(t, 3, t->s2, K_WRITE, SCSI_TASK_ORDERED);
	assert_int_equal(scsi_tmf_lu_reset(t->f->sess, 0, NULL), 0);
	/* the dormant ones end at once, in order, without running */
	assert_int_equal(done_at(t, 1), 0);
	assert_int_equal(done_at(t, 2), 1);
	assert_int_equal(done_at(t, 3), 2);
	for (unsigned int i = 1; i < 4; i++) {
		assert_true(t->c[i].aborted);
		assert_int_equal(t->c[i].status, SCSI_STATUS_TASK_ABORTED);
		assert_false(at_backstore(t, i));
	}
	/* the one at the backstore when it answers; nothing hangs */
	answer(&t->c[0]);
	assert_int_equal(done_at(t, 0), 3);
	assert_int_equal(t->c[0].status, SCSI_STATUS_TASK_ABORTED);
	/* and the task set orders afresh: no barrier survives the reset */
	scsi_ua_clear(t->f->sess->lun_map[0]);
	start(t, 4, NULL, K_READ, SCSI_TASK_SIMPLE);
	assert_true(at_backstore(t, 4));
	answer(&t->c[4]);
	scsi_ua_clear(t->s2->lun_map[0]);
	ta_free(t);
}

static void
abort_task_set_of_one_nexus_spares_the_other_ones_order(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, t->s2, K_WRITE, SCSI_TASK_SIMPLE);
	start(t, 1, NULL, K_WRITE, SCSI_TASK_ORDERED);
	start(t, 2, t->s2, K_READ, SCSI_TASK_ORDERED);
	assert_int_equal(scsi_tmf_abort_task_set(t->f->sess, 0), 0);
	assert_int_equal(done_at(t, 1), 0);
	/* the other nexus's ORDERED still waits for its older write */
	assert_true(dormant(t, 2));
	answer(&t->c[0]);
	assert_true(at_backstore(t, 2));
	answer(&t->c[2]);
	assert_false(t->c[2].aborted);
	ta_free(t);
}

static void nexus_loss_ends_the_dormant_commands_of_that_nexus(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, NULL, K_WRITE, SCSI_TASK_ORDERED);
	start(t, 1, t->s2, K_TUR, SCSI_TASK_SIMPLE);
	start(t, 2, NULL, K_TUR, SCSI_TASK_SIMPLE);
	/* SAM-5 §6.3.4: the commands of a lost nexus are aborted; the
	 * dormant ones never run (the one at the backstore still ends
	 * when it answers) */
	scsi_sess_nexus_loss(t->s2);
	assert_int_equal(done_at(t, 1), 0);
	assert_true(t->c[1].aborted);
	assert_true(dormant(t, 2));
	answer(&t->c[0]);
	assert_int_equal(done_at(t, 2), 2);
	assert_false(t->c[2].aborted);
	ta_free(t);
}

/* ------------------------------------- commands whose data is to come */

/* Command i, a one-block WRITE(10) at LBA 8 * i on session s (NULL: the
 * fixture's), is received with its Data-Out still to come: it takes its
 * place in the task set (scsi_cmd_accept). */
static struct scsi_cmd *accept_write(struct ta *t, unsigned int i,
				     struct scsi_sess *s, enum scsi_task_attr a)
{
	struct scsi_cmd *c = &t->c[i];

	memset(c, 0, sizeof(*c));
	c->sess = s ? s : t->f->sess;
	c->attr = a;
	c->tag = 100 + i;
	cdb_rw10(c->cdb, 0x2a, 8 * i, 1);
	c->cdb_len = 10;
	assert_true(scsi_cmd_accept(c));
	assert_true(c->priv_state & CMD_DATA_OUT);
	return c;
}

/* ... and its data is in: it is executed from its place. */
static void data_in(struct ta *t, unsigned int i)
{
	struct scsi_cmd *c = &t->c[i];

	c->buf = t->buf[i];
	c->buf_cap = c->edtl = BS;
	c->data_out_len = BS;
	c->done = ta_done;
	c->transport = t;
	scsi_cmd_exec(c);
}

static void
ordered_waits_for_an_older_write_whose_data_is_still_to_come(void **state)
{
	struct ta *t = ta_new();

	accept_write(t, 0, NULL, SCSI_TASK_SIMPLE);
	start(t, 1, t->s2, K_READ, SCSI_TASK_ORDERED);
	start(t, 2, NULL, K_READ, SCSI_TASK_SIMPLE);
	/* SAM-5 §8.6.3: received after the write, the ORDERED READ of the
	 * other nexus waits for it as for any older command; the SIMPLE
	 * one waits for the ORDERED one */
	assert_true(dormant(t, 1) && dormant(t, 2));
	data_in(t, 0);
	assert_true(at_backstore(t, 0));
	assert_true(dormant(t, 1));
	answer(&t->c[0]);
	assert_int_equal(done_at(t, 0), 0);
	assert_true(at_backstore(t, 1));
	answer(&t->c[1]);
	answer(&t->c[2]);
	assert_int_equal(done_at(t, 2), 2);
	ta_free(t);
}

static void gated_write_whose_data_is_to_come_holds_younger_simple(void **st)
{
	struct ta *t = ta_new();

	start(t, 0, NULL, K_WRITE, SCSI_TASK_SIMPLE);
	accept_write(t, 1, t->s2, SCSI_TASK_ORDERED);
	start(t, 2, NULL, K_READ, SCSI_TASK_SIMPLE);
	accept_write(t, 3, NULL, SCSI_TASK_HEAD_OF_QUEUE);
	start(t, 4, t->s2, K_READ, SCSI_TASK_SIMPLE);
	assert_true(at_backstore(t, 0));
	assert_true(dormant(t, 2) && dormant(t, 4));
	/* the HEAD OF QUEUE write's data first: enabled at once */
	data_in(t, 3);
	assert_true(at_backstore(t, 3));
	answer(&t->c[3]);
	/* the ORDERED write's data while an older one runs: dormant, in
	 * its arrival place ahead of the younger dormant ones */
	data_in(t, 1);
	assert_true(dormant(t, 1) && dormant(t, 2) && dormant(t, 4));
	assert_ptr_equal(TAILQ_FIRST(&t->f->lu->dormant), &t->c[1]);
	answer(&t->c[0]);
	assert_true(at_backstore(t, 1));
	assert_true(dormant(t, 2) && dormant(t, 4));
	answer(&t->c[1]);
	assert_true(at_backstore(t, 2) && at_backstore(t, 4));
	answer(&t->c[2]);
	answer(&t->c[4]);
	ta_free(t);
}

static void withdrawing_a_write_before_its_data_lets_go_what_it_held(void **st)
{
	struct ta *t = ta_new();

	accept_write(t, 0, NULL, SCSI_TASK_ORDERED);
	start(t, 1, t->s2, K_READ, SCSI_TASK_SIMPLE);
	assert_true(dormant(t, 1));
	assert_int_equal(t->f->lu->gated_n, 1);
	/* aborted by its own nexus, or its connection gone: it leaves */
	scsi_cmd_withdraw(&t->c[0]);
	assert_int_equal(t->c[0].priv_state, 0);
	assert_int_equal(scsi_sess_busy(t->f->sess), 0);
	assert_true(at_backstore(t, 1));
	answer(&t->c[1]);
	assert_int_equal(t->done_n, 1); /* the withdrawn one: no done() */
	ta_free(t);
}

static unsigned int holds, releases;

static void hook_hold(void *arg)
{
	holds++;
}

static void hook_release(void *arg)
{
	releases++;
}

static void clear_task_set_waits_for_another_nexus_write_to_leave(void **state)
{
	struct ta *t = ta_new();
	const struct scsi_tmf_hook hook = {hook_hold, hook_release, NULL, NULL};

	holds = releases = 0;
	accept_write(t, 0, t->s2, SCSI_TASK_SIMPLE);
	start(t, 1, t->s2, K_READ, SCSI_TASK_ORDERED);
	assert_int_equal(scsi_tmf_clear_task_set(t->f->sess, 0, &hook), 0);
	/* the dormant READ ended at once; the write waiting for its data
	 * is aborted and still counted: SAM-5 §7.1 */
	assert_int_equal(done_at(t, 1), 0);
	assert_int_equal(t->c[1].status, SCSI_STATUS_TASK_ABORTED);
	assert_true(t->c[0].aborted);
	assert_int_equal(holds, 1);
	assert_int_equal(releases, 0);
	/* its transport ends it (TASK ABORTED once its data is in) */
	scsi_cmd_withdraw(&t->c[0]);
	assert_int_equal(releases, 1);
	scsi_ua_clear(t->s2->lun_map[0]);
	ta_free(t);
}

static void write_aborted_before_its_data_ends_task_aborted(void **state)
{
	struct ta *t = ta_new();

	accept_write(t, 0, t->s2, SCSI_TASK_ORDERED);
	start(t, 1, NULL, K_READ, SCSI_TASK_SIMPLE);
	assert_int_equal(scsi_tmf_lu_reset(t->f->sess, 0, NULL), 0);
	assert_int_equal(done_at(t, 1), 0);
	/* its data arrives after all: it never runs */
	data_in(t, 0);
	assert_int_equal(done_at(t, 0), 1);
	assert_int_equal(t->c[0].status, SCSI_STATUS_TASK_ABORTED);
	assert_false(at_backstore(t, 0));
	scsi_ua_clear(t->s2->lun_map[0]);
	ta_free(t);
}

static void write_refused_when_its_data_is_in_lets_go_what_it_held(void **st)
{
	struct ta *t = ta_new();

	accept_write(t, 0, NULL, SCSI_TASK_ORDERED);
	start(t, 1, t->s2, K_READ, SCSI_TASK_SIMPLE);
	assert_true(dormant(t, 1));
	/* a unit attention comes while the data arrives: its checks are
	 * made once its data is in, and refuse it */
	scsi_ua_add(t->f->sess->lun_map[0], ASC_MODE_PARAMS_CHANGED);
	data_in(t, 0);
	expect_sense(&t->c[0], SK_UNIT_ATTENTION, ASC_MODE_PARAMS_CHANGED);
	assert_int_equal(done_at(t, 0), 0);
	assert_true(at_backstore(t, 1));
	answer(&t->c[1]);
	ta_free(t);
}

/* ---------------------------------------------------------- ACA, NACA */

static void aca_attribute_is_refused_without_an_aca_condition(void **state)
{
	struct ta *t = ta_new();

	start(t, 0, NULL, K_READ, SCSI_TASK_ACA);
	/* SAM-5 §8.6.5, NormACA 0: ILLEGAL REQUEST, INVALID MESSAGE ERROR */
	expect_sense(&t->c[0], SK_ILLEGAL_REQUEST, ASC_INVALID_MESSAGE);
	assert_false(at_backstore(t, 0));
	ta_free(t);
}

static void naca_bit_is_invalid_field_in_cdb(void **state)
{
	struct ta *t = ta_new();
	struct scsi_cmd *c;

	/* SAM-5 §5.9.1: NACA set, ACA not supported: INVALID FIELD IN
	 * CDB, the field pointer at bit 2 of the CONTROL byte */
	t->c[0].cdb[5] = 0;
	c = &t->c[0];
	memset(c, 0, sizeof(*c));
	c->sess = t->f->sess;
	c->cdb[5] = 0x04;
	c->cdb_len = 6;
	c->done = ta_done;
	c->transport = t;
	scsi_cmd_exec(c);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(c->sense[15],
			 0x80 | 0x40 | 0x08 | 2); /* SKSV C/D BPV */
	assert_int_equal(get_be16(c->sense + 16), 5);
	/* READ(10): byte 9 */
	memset(c, 0, sizeof(*c));
	c->sess = t->f->sess;
	cdb_rw10(c->cdb, 0x28, 0, 1);
	c->cdb[9] = 0x04;
	c->cdb_len = 10;
	c->buf = t->buf[0];
	c->buf_cap = c->edtl = BS;
	c->done = ta_done;
	c->transport = t;
	scsi_cmd_exec(c);
	expect_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(get_be16(c->sense + 16), 9);
	/* the other CONTROL bits (vendor specific, LINK obsolete) pass */
	c->cdb[9] = 0xc0;
	scsi_cmd_exec(c);
	assert_true(at_backstore(t, 0));
	answer(c);
	expect_good(c);
	ta_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			ordered_waits_for_older_commands_of_every_nexus),
		cmocka_unit_test(
			ordered_into_an_empty_task_set_is_enabled_at_once),
		cmocka_unit_test(younger_commands_wait_for_the_ordered_one),
		cmocka_unit_test(ordered_ones_run_one_after_another),
		cmocka_unit_test(head_of_queue_overtakes_dormant_commands),
		cmocka_unit_test(simple_waits_for_an_older_head_of_queue),
		cmocka_unit_test(
			aborting_a_dormant_ordered_command_lets_younger_ones_go),
		cmocka_unit_test(
			aborting_an_older_command_holds_the_barrier_until_it_ends),
		cmocka_unit_test(
			aborting_a_running_ordered_command_holds_younger_until_it_ends),
		cmocka_unit_test(
			aborting_a_dormant_simple_command_ends_it_alone),
		cmocka_unit_test(
			lu_reset_with_a_barrier_pending_ends_everything),
		cmocka_unit_test(
			abort_task_set_of_one_nexus_spares_the_other_ones_order),
		cmocka_unit_test(
			nexus_loss_ends_the_dormant_commands_of_that_nexus),
		cmocka_unit_test(
			ordered_waits_for_an_older_write_whose_data_is_still_to_come),
		cmocka_unit_test(
			gated_write_whose_data_is_to_come_holds_younger_simple),
		cmocka_unit_test(
			withdrawing_a_write_before_its_data_lets_go_what_it_held),
		cmocka_unit_test(
			clear_task_set_waits_for_another_nexus_write_to_leave),
		cmocka_unit_test(
			write_aborted_before_its_data_ends_task_aborted),
		cmocka_unit_test(
			write_refused_when_its_data_is_in_lets_go_what_it_held),
		cmocka_unit_test(
			aca_attribute_is_refused_without_an_aca_condition),
		cmocka_unit_test(naca_bit_is_invalid_field_in_cdb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
