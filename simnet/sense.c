/*
 * sense.c — the simulator's one sense data decoder (sense.h).
 */
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "sense.h"

static const char *bad(char *why, size_t cap, const char *what, uint32_t at)
{
	snprintf(why, cap, "%s (byte %u; SPC-4 §4.5)", what, at);
	return why;
}

static const char *decode_fixed(const uint8_t *s, uint32_t len,
				struct sense_view *v, char *why, size_t cap)
{
	uint32_t end = 8u + s[7];

	if (len >= 3)
		v->sk = s[2] & 0x0f;
	if (len >= 14 && end >= 14) {
		v->asc = s[12];
		v->ascq = s[13];
	}
	if ((s[0] & 0x80) && len >= 7) {
		v->info_valid = true;
		v->info = get_be32(s + 3);
	}
	if (len >= 12 && end >= 12) {
		v->csi_valid = true;
		memcpy(v->csi, s + 8, 4);
	}
	if (len >= 18 && end >= 18 && (s[15] & 0x80)) {
		v->sks_valid = true;
		memcpy(v->sks, s + 15, 3);
	}
	if (len < 8)
		return bad(why, cap, "fixed format sense shorter than 8 bytes",
			   len);
	if (end > len)
		return bad(why, cap,
			   "ADDITIONAL SENSE LENGTH goes past the sense data",
			   7);
	return NULL;
}

/* One descriptor at d (its additional length already checked to lie
 * inside the data). */
static const char *decode_descriptor(const uint8_t *d, uint32_t at,
				     struct sense_view *v, char *why,
				     size_t cap)
{
	switch (d[0]) {
	case 0x00: /* information, §4.5.2.2 */
		if (d[1] != 0x0a)
			return bad(why, cap,
				   "information descriptor of additional "
				   "length other than 0Ah",
				   at + 1);
		if (!(d[2] & 0x80))
			return bad(why, cap,
				   "information descriptor without VALID",
				   at + 2);
		if (v->info_valid)
			return bad(why, cap, "two information descriptors", at);
		v->info_valid = true;
		v->info = get_be64(d + 4);
		break;
	case 0x01: /* command-specific information, §4.5.2.3 */
		if (d[1] != 0x0a)
			return bad(why, cap,
				   "command-specific information descriptor "
				   "of additional length other than 0Ah",
				   at + 1);
		if (v->csi_valid)
			return bad(why, cap,
				   "two command-specific information "
				   "descriptors",
				   at);
		v->csi_valid = true;
		memcpy(v->csi, d + 4, 4);
		break;
	case 0x02: /* sense key specific, §4.5.2.4 */
		if (d[1] != 0x06)
			return bad(why, cap,
				   "sense key specific descriptor of "
				   "additional length other than 06h",
				   at + 1);
		if (!(d[4] & 0x80))
			return bad(why, cap,
				   "sense key specific descriptor without SKSV",
				   at + 4);
		if (v->sks_valid)
			return bad(why, cap,
				   "two sense key specific descriptors", at);
		v->sks_valid = true;
		memcpy(v->sks, d + 4, 3);
		break;
	default:
		break;
	}
	return NULL;
}

static const char *decode_desc(const uint8_t *s, uint32_t len,
			       struct sense_view *v, char *why, size_t cap)
{
	uint32_t end, o;
	const char *e;

	if (len >= 4) {
		v->sk = s[1] & 0x0f;
		v->asc = s[2];
		v->ascq = s[3];
	}
	if (len < 8)
		return bad(why, cap,
			   "descriptor format sense shorter than 8 bytes", len);
	end = 8u + s[7];
	if (end > len)
		return bad(why, cap,
			   "ADDITIONAL SENSE LENGTH goes past the sense data",
			   7);
	/* The descriptors fill the additional length exactly. */
	for (o = 8; o < end; o += 2u + s[o + 1]) {
		if (o + 2 > end || o + 2u + s[o + 1] > end)
			return bad(why, cap,
				   "a descriptor goes past the ADDITIONAL "
				   "SENSE LENGTH",
				   o);
		e = decode_descriptor(s + o, o, v, why, cap);
		if (e != NULL)
			return e;
	}
	return NULL;
}

const char *sense_decode(const uint8_t *s, uint32_t len, struct sense_view *v,
			 char *why, size_t cap)
{
	memset(v, 0, sizeof(*v));
	v->sk = v->asc = v->ascq = -1;
	if (len < 1 || s == NULL)
		return bad(why, cap, "no sense data", 0);
	v->code = s[0] & 0x7f;
	switch (v->code) {
	case 0x70:
	case 0x71:
		return decode_fixed(s, len, v, why, cap);
	case 0x72:
	case 0x73:
		v->desc = true;
		return decode_desc(s, len, v, why, cap);
	default:
		return bad(why, cap, "response code not one of 70h-73h", 0);
	}
}

int sense_field_pointer(const struct sense_view *v, bool cd)
{
	if (!v->sks_valid || ((v->sks[0] & 0x40) != 0) != cd)
		return -1;
	return (int)get_be16(v->sks + 1);
}

int sense_progress(const struct sense_view *v)
{
	return v->sks_valid ? (int)get_be16(v->sks + 1) : -1;
}

void sense_key_of(const uint8_t *s, uint32_t len, int *sk, int *asc, int *ascq)
{
	struct sense_view v;
	char why[120];

	(void)sense_decode(s, len, &v, why, sizeof(why));
	*sk = v.sk;
	*asc = v.asc;
	*ascq = v.ascq;
}
