/*
 * libFuzzer target: row validation and the reload fingerprint, over rows an
 * admin (or an attacker with write access to the table) could store.
 *
 * The input is split on 0xff into fields: the first ROW_STR_COUNT are the
 * string columns (a field that is absent, or that is the single byte 0xfe,
 * is SQL NULL), the next one drives the integer columns. Each string is
 * copied to a buffer of its exact size, so that AddressSanitizer sees any
 * read past its end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "row.h"

#define FUZZ_SEP 0xff
#define FUZZ_NULL 0xfe

/* integer columns: a selector byte per column; with its top bit set the
 * next 8 bytes are the raw value, else a small value around the edges */
static int64_t fuzz_int(const uint8_t **p, const uint8_t *end)
{
	uint8_t sel;
	uint64_t v = 0;
	int i;

	if(*p >= end)
		return 0;
	sel = *(*p)++;
	if(!(sel & 0x80))
		return (int64_t)sel - 4;
	for(i = 0; i < 8 && *p < end; i++)
		v |= (uint64_t) * (*p)++ << (8 * i);
	return (int64_t)v;
}

static void fuzz_check_valid(const struct row *r)
{
	static const enum row_str mandatory[] = {ROW_L_UUID, ROW_L_USERNAME,
			ROW_L_DOMAIN, ROW_R_USERNAME, ROW_R_DOMAIN, ROW_AUTH_USERNAME};
	size_t i, n;
	int f;

	/* what a valid row promises the glue */
	for(f = 0; f < ROW_STR_COUNT; f++) {
		n = r->s[f].s ? r->s[f].len : 0;
		if(n > ROW_MAX_STR)
			abort();
		for(i = 0; i < n; i++) {
			if((unsigned char)r->s[f].s[i] < 0x20
					|| (unsigned char)r->s[f].s[i] == 0x7f)
				abort();
		}
	}
	for(i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++) {
		if(r->s[mandatory[i]].s == NULL || r->s[mandatory[i]].len == 0)
			abort();
	}
	if(!(r->s[ROW_AUTH_PASSWORD].s && r->s[ROW_AUTH_PASSWORD].len)
			&& !(r->s[ROW_AUTH_HA1].s && r->s[ROW_AUTH_HA1].len))
		abort();
	if(r->expires_bad || r->expires < 1 || r->expires > 31536000)
		abort();
	if(r->flags < 0 || r->reg_delay < 0 || r->fail_count < 0
			|| r->fail_ceiling < -1 || r->reauth_new_dialog < -1
			|| r->reauth_new_dialog > 2)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct row r;
	char *bufs[ROW_STR_COUNT] = {0};
	const uint8_t *p = data, *end = data + size, *sep;
	const uint8_t *ip = NULL, *iend = NULL;
	const char *why = NULL;
	uint64_t fp1, fp2;
	size_t len;
	int f, rc;

	memset(&r, 0, sizeof(r));
	for(f = 0; f <= ROW_STR_COUNT && p <= end; f++) {
		sep = memchr(p, FUZZ_SEP, end - p);
		len = sep ? (size_t)(sep - p) : (size_t)(end - p);
		if(f == ROW_STR_COUNT) {
			ip = p;
			iend = p + len;
		} else if(!(len == 1 && p[0] == FUZZ_NULL)) {
			/* malloc(0) may return NULL, which would read as SQL NULL */
			bufs[f] = malloc(len ? len : 1);
			if(bufs[f] == NULL)
				goto done;
			if(len)
				memcpy(bufs[f], p, len);
			r.s[f].s = bufs[f];
			r.s[f].len = len;
		}
		if(!sep)
			break;
		p = sep + 1;
	}
	if(ip) {
		r.expires_bad = ip < iend && (*ip++ & 1);
		r.expires = fuzz_int(&ip, iend);
		r.flags = fuzz_int(&ip, iend);
		r.reg_delay = fuzz_int(&ip, iend);
		r.reauth_new_dialog = fuzz_int(&ip, iend);
		r.fail_ceiling = fuzz_int(&ip, iend);
		r.fail_count = fuzz_int(&ip, iend);
	} else {
		r.expires = 3600;
		r.reauth_new_dialog = -1;
		r.fail_ceiling = -1;
	}

	rc = row_validate(&r, &why);
	if(rc == 0) {
		if(why != NULL)
			abort();
		fuzz_check_valid(&r);
	} else if(rc != -1 || why == NULL || why[0] == '\0') {
		abort();
	}
	fp1 = row_reg_fingerprint(&r);
	fp2 = row_reg_fingerprint(&r);
	if(fp1 != fp2)
		abort();
	for(f = 0; f < ROW_STR_COUNT; f++)
		(void)row_str_name(f);

done:
	for(f = 0; f < ROW_STR_COUNT; f++)
		free(bufs[f]);
	return 0;
}
