/*
 * libFuzzer target: a WWW-/Proxy-Authenticate value as a carrier could send
 * it. Whatever parses must build an Authorization that fits a bounded
 * buffer, is the same whether we hold the password or its HA1, and carries
 * no CR or LF into our request.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"

#define OUT_MAX 2048 /* three fields of DIGEST_MAX_FIELD plus ours, with room */

static void check(int ok, const char *what)
{
	if(!ok) {
		fprintf(stderr, "fuzz_challenge: %s\n", what);
		abort();
	}
}

static int slice_within(ur_str_t v, const uint8_t *data, size_t size)
{
	const char *lo = (const char *)data;

	return v.len == 0
		   || (v.s >= lo && v.len <= size && v.s + v.len <= lo + size);
}

/* the HA1 an operator would store for this challenge's realm */
static void ha1_hex(const struct digest_challenge *ch,
		const struct digest_creds *cr, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	const struct digest_hash *h =
			(ch->alg == DIGEST_ALG_SHA256 || ch->alg == DIGEST_ALG_SHA256_SESS)
					? &digest_hash_sha256
					: &digest_hash_md5;
	_Alignas(16) unsigned char ctx[256];
	unsigned char md[DIGEST_MAX_HASH];
	size_t i;

	check(h->ctx_size <= sizeof(ctx), "hash context too large");
	h->init(ctx);
	h->update(ctx, cr->username.s, cr->username.len);
	h->update(ctx, ":", 1);
	if(ch->realm.len > 0)
		h->update(ctx, ch->realm.s, ch->realm.len);
	h->update(ctx, ":", 1);
	h->update(ctx, cr->password.s, cr->password.len);
	h->final(ctx, md);
	for(i = 0; i < h->size; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
	hex[2 * h->size] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct digest_challenge ch;
	struct digest_creds cr = {
			UR_STR_LIT("fuzz"), UR_STR_LIT("Circle of Life"), UR_STR_NULL};
	struct digest_request rq = {UR_STR_LIT("REGISTER"),
			UR_STR_LIT("sip:sip.example.net"), UR_STR_LIT("v=0\r\n"), 1,
			UR_STR_LIT("0a4f113b")};
	char ha1[2 * DIGEST_MAX_HASH + 1];
	char with_pw[OUT_MAX], with_ha1[OUT_MAX], small[64];
	int n, m;

	if(digest_parse_challenge((const char *)data, size, &ch) != 0)
		return 0;
	check(ch.alg != DIGEST_ALG_UNKNOWN, "parsed an unknown algorithm");
	check(ch.nonce.len > 0 && ch.nonce.len <= DIGEST_MAX_FIELD, "nonce bound");
	check(ch.realm.len <= DIGEST_MAX_FIELD, "realm bound");
	check(ch.opaque.len <= DIGEST_MAX_FIELD, "opaque bound");
	check(slice_within(ch.realm, data, size)
					&& slice_within(ch.nonce, data, size)
					&& slice_within(ch.opaque, data, size),
			"slice outside the input");

	n = digest_build_authorization(&ch, &cr, &rq, with_pw, sizeof(with_pw));
	check(n > 0 && (size_t)n == strlen(with_pw), "build with password");
	check(strpbrk(with_pw, "\r\n") == NULL, "CR or LF in the output");

	ha1_hex(&ch, &cr, ha1);
	cr.password = UR_STR_NULL;
	cr.ha1 = ur_str_c(ha1);
	m = digest_build_authorization(&ch, &cr, &rq, with_ha1, sizeof(with_ha1));
	check(m == n && strcmp(with_pw, with_ha1) == 0,
			"HA1 differs from password");

	/* one byte short (no room for the NUL) and a small buffer both refuse */
	check(digest_build_authorization(&ch, &cr, &rq, with_ha1, (size_t)n)
					== DIGEST_E_TOO_LONG,
			"exact size without NUL accepted");
	check(digest_build_authorization(&ch, &cr, &rq, small, sizeof(small))
					== DIGEST_E_TOO_LONG,
			"small buffer accepted");
	return 0;
}
