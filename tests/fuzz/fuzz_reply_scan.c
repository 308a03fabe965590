/*
 * Copyright (C) 2026 uacreg authors
 *
 * This file is part of Kamailio, a free SIP server.
 *
 * Kamailio is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 2 of the License, or
 * (at your option) any later version
 *
 * Kamailio is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the
 * GNU General Public License for more details.
 *
 * You should have received a copy of the GNU General Public License
 * along with this program; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA  02110-1301  USA
 */

/*
 * libFuzzer target: reply_scan() over any bytes a carrier can send as a
 * reply to our REGISTER. Every slice it returns lies inside the input, the
 * counts are bounded, the Contact answer is consistent, and the challenges
 * it finds go through the digest parser as the reply callback does.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "digest.h"
#include "reply_scan.h"

#define CHECK(cond)           \
	do {                      \
		if(!(cond))           \
			__builtin_trap(); \
	} while(0)

struct ctx
{
	const char *lo, *hi;
	unsigned calls;
};

static int within(ur_str_t v, const struct ctx *c)
{
	return v.len == 0 || (v.s >= c->lo && v.s + v.len <= c->hi);
}

/* ours: the URI of the glue's Contact; also checks what it is given */
static int ours(ur_str_t uri, void *arg)
{
	struct ctx *c = arg;
	static const char me[] = "sip:b000042@10.0.0.1:5060";

	c->calls++;
	CHECK(uri.len > 0 && within(uri, c));
	return uri.len == sizeof(me) - 1 && memcmp(uri.s, me, uri.len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reply_scan sc;
	struct digest_challenge ch;
	struct ctx c = {(const char *)data, (const char *)data + size, 0};
	unsigned i;
	int rc;

	rc = reply_scan((const char *)data, size, ours, &c, &sc);
	CHECK(rc == 0 || rc == -1);
	CHECK((rc == -1) == (sc.malformed == 1));
	CHECK(sc.n_ch <= RSCAN_MAX_CH);
	CHECK(sc.ch_over == 0 || sc.n_ch == RSCAN_MAX_CH);
	CHECK(sc.expires >= -1 && sc.expires <= UINT32_MAX);
	CHECK(sc.min_expires >= -1 && sc.min_expires <= UINT32_MAX);
	CHECK(sc.retry_after >= -1 && sc.retry_after <= UINT32_MAX);
	CHECK(sc.granted >= -1 && sc.granted <= UINT32_MAX);
	if(rc == 0) {
		CHECK(sc.listed == 0 || sc.listed == 1);
		CHECK(!sc.listed || sc.contacts > 0);
		CHECK(sc.listed || sc.granted == sc.expires);
	}
	for(i = 0; i < sc.n_ch; i++) {
		CHECK(sc.ch[i].kind == RSCAN_CH_WWW || sc.ch[i].kind == RSCAN_CH_PROXY);
		CHECK(within(sc.ch[i].body, &c));
		if(digest_parse_challenge(sc.ch[i].body.s, sc.ch[i].body.len, &ch) == 0)
			CHECK(within(ch.nonce, &c) && within(ch.realm, &c)
					&& within(ch.opaque, &c));
	}
	/* without ours, the Contacts are not read and the rest is the same */
	{
		struct reply_scan s2;
		CHECK(reply_scan((const char *)data, size, NULL, NULL, &s2) == rc);
		CHECK(s2.contacts == 0 && s2.listed == 0);
		CHECK(s2.n_ch == sc.n_ch && s2.expires == sc.expires
				&& s2.min_expires == sc.min_expires
				&& s2.retry_after == sc.retry_after);
	}
	return 0;
}
