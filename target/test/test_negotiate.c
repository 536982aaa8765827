/*
 * test_negotiate.c — the operational parameter negotiation (RFC 7143 §6.2,
 * §13) of target/iscsi/text.c: how each key is answered, on both sides
 * of every bound.  The text codec itself is test_text.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "iscsi/iscsi_int.h"
#include "iscsi/text.h"

#define CHECK(cond, ...)                       \
	do {                                   \
		if (!(cond))                   \
			fail_msg(__VA_ARGS__); \
	} while (0)

/* ------------------------------------------------ negotiation */

struct nfx {
	struct ut_iscsi_params cfg;
	struct iscsi_params p;
	struct iscsi_neg n;
	struct iscsi_kvlist resp;
	const char *why;
};

/* RFC 7143 §13 defaults for every key before negotiation. */
static void rfc_defaults(struct iscsi_params *p)
{
	memset(p, 0, sizeof(*p));
	p->max_recv_dsl = 8192;
	p->max_xmit_dsl = 8192;
	p->max_burst = 262144;
	p->first_burst = 65536;
	p->max_outstanding_r2t = 1;
	p->default_time2wait = 2;
	p->default_time2retain = 20;
	p->initial_r2t = true;
	p->immediate_data = true;
	p->data_pdu_in_order = true;
	p->data_seq_in_order = true;
}

/* A normal session's login in the operational stage. */
static int nfx_setup(void **state)
{
	struct nfx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	ut_iscsi_params_default(&f->cfg);
	rfc_defaults(&f->p);
	f->n.cfg = &f->cfg;
	f->n.p = &f->p;
	f->n.login = true;
	f->n.stage = ISCSI_STAGE_OPERATIONAL;
	iscsi_kvlist_init(&f->resp);
	*state = f;
	return 0;
}

static int nfx_teardown(void **state)
{
	struct nfx *f = *state;

	iscsi_kvlist_free(&f->resp);
	free(f);
	return 0;
}

/* Negotiate one key; return our answer (NULL if none), fresh each time. */
static const char *answer(struct nfx *f, const char *key, const char *value)
{
	int rc;

	iscsi_kvlist_free(&f->resp);
	f->why = NULL;
	rc = iscsi_negotiate_key(&f->n, key, value, &f->resp, &f->why);
	CHECK(rc == 0, "%s=%s: negotiation must answer, not fail (%s)", key,
	      value, f->why ? f->why : "?");
	CHECK(f->resp.n <= 1, "%s=%s: at most one answer, got %u", key, value,
	      f->resp.n);
	return iscsi_kv_get(&f->resp, key);
}

#define EXPECT_ANSWER(f, key, value, want, rule)                          \
	do {                                                              \
		const char *got_ = answer(f, key, value);                 \
		const char *want_ = (want);                               \
		if (!got_ || strcmp(got_, want_) != 0)                    \
			fail_msg("%s: %s=%s must be answered %s, got %s", \
				 rule, key, value, want_,                 \
				 got_ ? got_ : "(nothing)");              \
	} while (0)

static void
header_digest_answer_is_first_offered_value_target_allows(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §6.2: the responder answers the first "
			"value of the offer it supports";

	/* cfg prefers None but allows CRC32C */
	EXPECT_ANSWER(f, "HeaderDigest", "CRC32C,None", "CRC32C", r);
	CHECK(f->p.header_digest, "CRC32C agreed: header digests on");
	EXPECT_ANSWER(f, "HeaderDigest", "None,CRC32C", "None", r);
	CHECK(!f->p.header_digest, "None agreed: header digests off");
	EXPECT_ANSWER(f, "HeaderDigest", "MD5,CRC32C", "CRC32C", r);
	EXPECT_ANSWER(f, "HeaderDigest", "CRC32C", "CRC32C", r);
}

static void digest_with_no_acceptable_value_is_rejected(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §6.2.1: no acceptable value: Reject";

	f->cfg.header_digest[0] = UT_DIGEST_CRC32C;
	f->cfg.header_digest_count = 1;
	f->cfg.data_digest[0] = UT_DIGEST_NONE;
	f->cfg.data_digest_count = 1;
	EXPECT_ANSWER(f, "HeaderDigest", "None", "Reject", r);
	CHECK(!f->p.header_digest, "a Reject must not change the result");
	EXPECT_ANSWER(f, "DataDigest", "CRC32C", "Reject", r);
	EXPECT_ANSWER(f, "DataDigest", "MD5,SHA1", "Reject", r);
	EXPECT_ANSWER(f, "DataDigest", "", "Reject", r);
	/* each key uses its own preference list */
	EXPECT_ANSWER(f, "HeaderDigest", "None,CRC32C", "CRC32C", r);
	EXPECT_ANSWER(f, "DataDigest", "CRC32C,None", "None", r);
	CHECK(f->p.header_digest && !f->p.data_digest,
	      "HeaderDigest and DataDigest are independent");
}

static void initial_r2t_is_boolean_or(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.10: InitialR2T is OR";

	/* cfg.initial_r2t defaults to No */
	EXPECT_ANSWER(f, "InitialR2T", "No", "No", r);
	CHECK(!f->p.initial_r2t, "No OR No = No");
	EXPECT_ANSWER(f, "InitialR2T", "Yes", "Yes", r);
	CHECK(f->p.initial_r2t, "Yes OR No = Yes");
	f->cfg.initial_r2t = true;
	EXPECT_ANSWER(f, "InitialR2T", "No", "Yes", r);
	CHECK(f->p.initial_r2t, "No OR Yes = Yes");
}

static void immediate_data_is_boolean_and(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.11: ImmediateData is AND";

	/* cfg.immediate_data defaults to Yes */
	EXPECT_ANSWER(f, "ImmediateData", "Yes", "Yes", r);
	CHECK(f->p.immediate_data, "Yes AND Yes = Yes");
	EXPECT_ANSWER(f, "ImmediateData", "No", "No", r);
	CHECK(!f->p.immediate_data, "No AND Yes = No");
	f->cfg.immediate_data = false;
	EXPECT_ANSWER(f, "ImmediateData", "Yes", "No", r);
	CHECK(!f->p.immediate_data, "Yes AND No = No");
}

static void data_order_keys_are_or_with_our_yes(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.18-19: DataPDUInOrder and "
			"DataSequenceInOrder are OR; we only do Yes";

	EXPECT_ANSWER(f, "DataPDUInOrder", "No", "Yes", r);
	EXPECT_ANSWER(f, "DataSequenceInOrder", "No", "Yes", r);
	CHECK(f->p.data_pdu_in_order && f->p.data_seq_in_order, "%s", r);
}

static void boolean_key_with_bad_value_is_rejected(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §6.2.1: a value of the wrong syntax is "
			"answered Reject";

	EXPECT_ANSWER(f, "ImmediateData", "yes", "Reject", r);
	EXPECT_ANSWER(f, "InitialR2T", "1", "Reject", r);
	CHECK(f->p.initial_r2t && f->p.immediate_data,
	      "a rejected value must not change the result");
}

static void max_burst_length_is_min_within_512_to_2_pow_24_minus_1(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.13: MaxBurstLength is the minimum, "
			"512 to 2^24-1";

	EXPECT_ANSWER(f, "MaxBurstLength", "16777215", "1048576", r);
	CHECK(f->p.max_burst == 1048576, "max_burst = %u", f->p.max_burst);
	EXPECT_ANSWER(f, "MaxBurstLength", "65536", "65536", r);
	CHECK(f->p.max_burst == 65536, "max_burst = %u", f->p.max_burst);
	EXPECT_ANSWER(f, "MaxBurstLength", "512", "512", r);
	EXPECT_ANSWER(f, "MaxBurstLength", "511", "Reject", r);
	EXPECT_ANSWER(f, "MaxBurstLength", "16777216", "Reject", r);
	CHECK(f->p.max_burst == 512, "a Reject must not change the result");
}

static void
first_burst_length_is_min_within_512_to_2_pow_24_minus_1(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.14: FirstBurstLength is the minimum, "
			"512 to 2^24-1";

	EXPECT_ANSWER(f, "FirstBurstLength", "16777215", "262144", r);
	CHECK(f->p.first_burst == 262144, "first_burst = %u", f->p.first_burst);
	EXPECT_ANSWER(f, "FirstBurstLength", "512", "512", r);
	CHECK(f->p.first_burst == 512, "first_burst = %u", f->p.first_burst);
	EXPECT_ANSWER(f, "FirstBurstLength", "511", "Reject", r);
	EXPECT_ANSWER(f, "FirstBurstLength", "16777216", "Reject", r);
}

static void max_outstanding_r2t_is_min_within_1_to_65535(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.17: MaxOutstandingR2T is the minimum, "
			"1 to 65535";

	EXPECT_ANSWER(f, "MaxOutstandingR2T", "65535", "32", r);
	CHECK(f->p.max_outstanding_r2t == 32, "max_outstanding_r2t = %u",
	      f->p.max_outstanding_r2t);
	EXPECT_ANSWER(f, "MaxOutstandingR2T", "1", "1", r);
	CHECK(f->p.max_outstanding_r2t == 1, "max_outstanding_r2t = %u",
	      f->p.max_outstanding_r2t);
	EXPECT_ANSWER(f, "MaxOutstandingR2T", "0", "Reject", r);
	EXPECT_ANSWER(f, "MaxOutstandingR2T", "65536", "Reject", r);
}

static void max_connections_is_min_with_our_one(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.2: MaxConnections is the minimum, 1 "
			"to 65535; we take one connection per session";

	EXPECT_ANSWER(f, "MaxConnections", "65535", "1", r);
	EXPECT_ANSWER(f, "MaxConnections", "1", "1", r);
	EXPECT_ANSWER(f, "MaxConnections", "0", "Reject", r);
	EXPECT_ANSWER(f, "MaxConnections", "65536", "Reject", r);
}

static void default_time2wait_is_max_within_0_to_3600(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.15: DefaultTime2Wait is the maximum, "
			"0 to 3600";

	EXPECT_ANSWER(f, "DefaultTime2Wait", "0", "2", r);
	CHECK(f->p.default_time2wait == 2, "time2wait = %u",
	      f->p.default_time2wait);
	EXPECT_ANSWER(f, "DefaultTime2Wait", "3600", "3600", r);
	CHECK(f->p.default_time2wait == 3600, "time2wait = %u",
	      f->p.default_time2wait);
	EXPECT_ANSWER(f, "DefaultTime2Wait", "3601", "Reject", r);
}

static void default_time2retain_is_min_within_0_to_3600(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.16: DefaultTime2Retain is the "
			"minimum, 0 to 3600";

	EXPECT_ANSWER(f, "DefaultTime2Retain", "3600", "20", r);
	CHECK(f->p.default_time2retain == 20, "time2retain = %u",
	      f->p.default_time2retain);
	EXPECT_ANSWER(f, "DefaultTime2Retain", "0", "0", r);
	CHECK(f->p.default_time2retain == 0, "time2retain = %u",
	      f->p.default_time2retain);
	EXPECT_ANSWER(f, "DefaultTime2Retain", "3601", "Reject", r);
}

static void error_recovery_level_is_answered_0(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.20: ErrorRecoveryLevel is the "
			"minimum, 0 to 2; we implement level 0";

	f->p.error_recovery_level = 9;
	EXPECT_ANSWER(f, "ErrorRecoveryLevel", "2", "0", r);
	CHECK(f->p.error_recovery_level == 0, "erl = %u",
	      f->p.error_recovery_level);
	EXPECT_ANSWER(f, "ErrorRecoveryLevel", "0", "0", r);
	EXPECT_ANSWER(f, "ErrorRecoveryLevel", "3", "Reject", r);
}

static void mrdsl_of_511_is_rejected(void **state)
{
	struct nfx *f = *state;

	EXPECT_ANSWER(f, "MaxRecvDataSegmentLength", "511", "Reject",
		      "RFC 7143 §13.12: MaxRecvDataSegmentLength is 512 to "
		      "2^24-1");
	CHECK(f->p.max_xmit_dsl == 8192 && !f->n.sent_mrdsl,
	      "a rejected declaration changes nothing");
}

static void mrdsl_of_512_is_accepted_and_bounds_what_we_send(void **state)
{
	struct nfx *f = *state;

	EXPECT_ANSWER(f, "MaxRecvDataSegmentLength", "512", "262144",
		      "RFC 7143 §13.12: MaxRecvDataSegmentLength is "
		      "declarative: our answer declares our own value");
	CHECK(f->p.max_xmit_dsl == 512,
	      "RFC 7143 §13.12: the initiator's declaration bounds the "
	      "PDUs we send it: max_xmit_dsl = %u",
	      f->p.max_xmit_dsl);
	CHECK(f->p.max_recv_dsl == 262144 && f->n.sent_mrdsl,
	      "our declared value is in force and noted as sent");
}

static void mrdsl_of_2_pow_24_minus_1_is_capped_by_our_xmit_limit(void **state)
{
	struct nfx *f = *state;

	EXPECT_ANSWER(f, "MaxRecvDataSegmentLength", "16777215", "262144",
		      "RFC 7143 §13.12: 2^24-1 is the largest declaration");
	CHECK(f->p.max_xmit_dsl == 262144,
	      "we send no more than the configured "
	      "MaxXmitDataSegmentLength: max_xmit_dsl = %u",
	      f->p.max_xmit_dsl);
	f->cfg.max_xmit_data_segment_length = 4096;
	answer(f, "MaxRecvDataSegmentLength", "8192");
	CHECK(f->p.max_xmit_dsl == 4096, "capped at cfg 4096, got %u",
	      f->p.max_xmit_dsl);
}

static void mrdsl_of_2_pow_24_is_rejected(void **state)
{
	struct nfx *f = *state;

	EXPECT_ANSWER(f, "MaxRecvDataSegmentLength", "16777216", "Reject",
		      "RFC 7143 §13.12: MaxRecvDataSegmentLength is 512 to "
		      "2^24-1");
	CHECK(f->p.max_xmit_dsl == 8192, "a rejected declaration changes "
					 "nothing");
}

static void mrdsl_is_declared_once_but_each_declaration_applies(void **state)
{
	struct nfx *f = *state;

	EXPECT_ANSWER(f, "MaxRecvDataSegmentLength", "65536", "262144",
		      "the first answer declares our value");
	CHECK(answer(f, "MaxRecvDataSegmentLength", "1024") == NULL,
	      "RFC 7143 §6.2: a declarative key needs no answer once ours "
	      "has been declared");
	CHECK(f->p.max_xmit_dsl == 1024,
	      "the latest declaration applies: max_xmit_dsl = %u",
	      f->p.max_xmit_dsl);
}

static void mrdsl_may_be_declared_in_full_feature_phase(void **state)
{
	struct nfx *f = *state;

	f->n.login = false;
	f->n.sent_mrdsl = true;
	answer(f, "MaxRecvDataSegmentLength", "4096");
	CHECK(f->p.max_xmit_dsl == 4096,
	      "RFC 7143 §13.12: MaxRecvDataSegmentLength is ALL: allowed in "
	      "a Text request in full feature phase");
}

static void unknown_key_is_answered_not_understood(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §6.2: an unknown key is answered "
			"NotUnderstood";

	EXPECT_ANSWER(f, "X-com.example.Frobnicate", "Yes", "NotUnderstood", r);
	EXPECT_ANSWER(f, "headerdigest", "None", "NotUnderstood", r);
	EXPECT_ANSWER(f, "RDMAExtensions", "Yes", "NotUnderstood", r);
}

static void answers_to_our_offers_need_no_reply(void **state)
{
	struct nfx *f = *state;
	static const char *v[] = {"NotUnderstood", "Irrelevant", "Reject"};

	for (size_t i = 0; i < 3; i++)
		CHECK(answer(f, "MaxBurstLength", v[i]) == NULL,
		      "RFC 7143 §6.2: %s answers an offer; replying would "
		      "loop",
		      v[i]);
	CHECK(f->p.max_burst == 262144, "the default stays in force");
}

static void discovery_session_answers_session_keys_irrelevant(void **state)
{
	struct nfx *f = *state;
	static const char *keys[][2] = {
		{"MaxConnections", "1"},      {"InitialR2T", "Yes"},
		{"ImmediateData", "Yes"},     {"MaxBurstLength", "512"},
		{"FirstBurstLength", "512"},  {"MaxOutstandingR2T", "1"},
		{"DataPDUInOrder", "Yes"},    {"DataSequenceInOrder", "Yes"},
		{"TaskReporting", "RFC3720"},
	};

	f->n.discovery = true;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		EXPECT_ANSWER(f, keys[i][0], keys[i][1], "Irrelevant",
			      "RFC 7143 §13: session keys are Irrelevant "
			      "when SessionType=Discovery");
	CHECK(f->p.max_burst == 262144, "nothing negotiated");
}

static void discovery_session_negotiates_connection_keys(void **state)
{
	struct nfx *f = *state;

	f->n.discovery = true;
	EXPECT_ANSWER(f, "HeaderDigest", "CRC32C,None", "CRC32C",
		      "RFC 7143 §13.1: digests apply to discovery sessions");
	EXPECT_ANSWER(f, "MaxRecvDataSegmentLength", "8192", "262144",
		      "RFC 7143 §13.12: applies to discovery sessions");
	EXPECT_ANSWER(f, "DefaultTime2Wait", "0", "2",
		      "RFC 7143 §13.15: not a session-only key");
}

static void full_feature_phase_rejects_login_only_keys(void **state)
{
	struct nfx *f = *state;
	static const char *keys[][2] = {
		{"HeaderDigest", "None"},    {"DataDigest", "None"},
		{"MaxBurstLength", "512"},   {"InitialR2T", "Yes"},
		{"ErrorRecoveryLevel", "0"}, {"DefaultTime2Wait", "2"},
		{"OFMarker", "No"},	     {"AuthMethod", "None"},
		{"iSCSIProtocolLevel", "1"},
	};

	f->n.login = false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		EXPECT_ANSWER(f, keys[i][0], keys[i][1], "Reject",
			      "RFC 7143 §13: LO and IO keys cannot be "
			      "renegotiated in full feature phase");
	CHECK(f->p.max_burst == 262144 && f->p.initial_r2t,
	      "rejected keys change nothing");
}

static void auth_method_outside_security_stage_fails_the_login(void **state)
{
	struct nfx *f = *state;
	int rc;

	rc = iscsi_negotiate_key(&f->n, "AuthMethod", "None", &f->resp,
				 &f->why);
	CHECK(rc == -1 && f->why != NULL,
	      "RFC 7143 §6.3: AuthMethod belongs to the security stage; "
	      "offered in the operational stage it is a protocol error");
	CHECK(f->resp.n == 0, "no answer on error");
}

static void initiator_sending_target_declared_keys_fails(void **state)
{
	struct nfx *f = *state;
	static const char *keys[] = {"TargetAddress", "TargetAlias",
				     "TargetPortalGroupTag"};

	for (int login = 0; login < 2; login++)
		for (size_t i = 0; i < 3; i++) {
			int rc;

			f->n.login = login;
			f->why = NULL;
			rc = iscsi_negotiate_key(&f->n, keys[i], "x", &f->resp,
						 &f->why);
			CHECK(rc == -1 && f->why,
			      "RFC 7143 §13.8-9: %s is declared by the "
			      "target only; sent by an initiator it is a "
			      "protocol error (login=%d)",
			      keys[i], login);
		}
}

static void markers_are_always_answered_no(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.25 (RFC 3720 markers): OFMarker and "
			"IFMarker are AND; we do not do markers";

	EXPECT_ANSWER(f, "OFMarker", "Yes", "No", r);
	EXPECT_ANSWER(f, "OFMarker", "No", "No", r);
	EXPECT_ANSWER(f, "IFMarker", "Yes", "No", r);
	EXPECT_ANSWER(f, "OFMarker", "Maybe", "Reject", r);
	EXPECT_ANSWER(f, "OFMarkInt", "2048", "Irrelevant",
		      "with markers off the interval is Irrelevant");
	EXPECT_ANSWER(f, "IFMarkInt", "1-65535", "Irrelevant",
		      "with markers off the interval is Irrelevant");
}

static void task_reporting_is_answered_rfc3720(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7143 §13.23: TaskReporting is a list; we "
			"support RFC3720 only";

	EXPECT_ANSWER(f, "TaskReporting", "RFC3720", "RFC3720", r);
	EXPECT_ANSWER(f, "TaskReporting", "FastAbort,ResponseFence,RFC3720",
		      "RFC3720", r);
	EXPECT_ANSWER(f, "TaskReporting", "FastAbort", "Reject", r);
	EXPECT_ANSWER(f, "TaskReporting", "RFC3720x", "Reject", r);
}

static void protocol_level_is_min_with_our_1_within_0_to_31(void **state)
{
	struct nfx *f = *state;
	const char *r = "RFC 7144 §2.1: iSCSIProtocolLevel 0..31; we "
			"implement RFC 7143 (level 1)";

	EXPECT_ANSWER(f, "iSCSIProtocolLevel", "2", "1", r);
	EXPECT_ANSWER(f, "iSCSIProtocolLevel", "31", "1", r);
	EXPECT_ANSWER(f, "iSCSIProtocolLevel", "0", "0", r);
	EXPECT_ANSWER(f, "iSCSIProtocolLevel", "32", "Reject", r);
}

static void first_burst_answer_is_lowered_to_max_burst(void **state)
{
	struct nfx *f = *state;
	struct iscsi_kvlist both;
	const char *why = NULL;
	uint8_t *enc;
	uint32_t len;

	/* FirstBurstLength answered before MaxBurstLength, in one request */
	iscsi_kvlist_init(&both);
	assert_int_equal(iscsi_negotiate_key(&f->n, "FirstBurstLength",
					     "262144", &both, &why),
			 0);
	assert_int_equal(iscsi_negotiate_key(&f->n, "MaxBurstLength", "8192",
					     &both, &why),
			 0);
	iscsi_negotiate_finish(&f->n, &both);
	CHECK(strcmp(iscsi_kv_get(&both, "FirstBurstLength"), "8192") == 0,
	      "RFC 7143 §13.14: FirstBurstLength must not exceed "
	      "MaxBurstLength; answered %s",
	      iscsi_kv_get(&both, "FirstBurstLength"));
	assert_int_equal(f->p.first_burst, 8192);
	/* the encoded size still matches the pairs */
	assert_int_equal(iscsi_text_encode(&both, &enc, &len), 0);
	assert_int_equal(len, both.bytes);
	assert_int_equal(len, strlen("FirstBurstLength=8192") + 1 +
				      strlen("MaxBurstLength=8192") + 1);
	free(enc);
	iscsi_kvlist_free(&both);
}

#define NT(fn) cmocka_unit_test_setup_teardown(fn, nfx_setup, nfx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		NT(first_burst_answer_is_lowered_to_max_burst),
		NT(header_digest_answer_is_first_offered_value_target_allows),
		NT(digest_with_no_acceptable_value_is_rejected),
		NT(initial_r2t_is_boolean_or),
		NT(immediate_data_is_boolean_and),
		NT(data_order_keys_are_or_with_our_yes),
		NT(boolean_key_with_bad_value_is_rejected),
		NT(max_burst_length_is_min_within_512_to_2_pow_24_minus_1),
		NT(first_burst_length_is_min_within_512_to_2_pow_24_minus_1),
		NT(max_outstanding_r2t_is_min_within_1_to_65535),
		NT(max_connections_is_min_with_our_one),
		NT(default_time2wait_is_max_within_0_to_3600),
		NT(default_time2retain_is_min_within_0_to_3600),
		NT(error_recovery_level_is_answered_0),
		NT(mrdsl_of_511_is_rejected),
		NT(mrdsl_of_512_is_accepted_and_bounds_what_we_send),
		NT(mrdsl_of_2_pow_24_minus_1_is_capped_by_our_xmit_limit),
		NT(mrdsl_of_2_pow_24_is_rejected),
		NT(mrdsl_is_declared_once_but_each_declaration_applies),
		NT(mrdsl_may_be_declared_in_full_feature_phase),
		NT(unknown_key_is_answered_not_understood),
		NT(answers_to_our_offers_need_no_reply),
		NT(discovery_session_answers_session_keys_irrelevant),
		NT(discovery_session_negotiates_connection_keys),
		NT(full_feature_phase_rejects_login_only_keys),
		NT(auth_method_outside_security_stage_fails_the_login),
		NT(initiator_sending_target_declared_keys_fails),
		NT(markers_are_always_answered_no),
		NT(task_reporting_is_answered_rfc3720),
		NT(protocol_level_is_min_with_our_1_within_0_to_31),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
