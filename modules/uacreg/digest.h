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
 * uacreg - HTTP digest authentication for SIP (RFC 2617, RFC 7616, RFC 8760).
 *
 * Pure code: parses a WWW-/Proxy-Authenticate value and builds the
 * Authorization value that answers it. Hash functions come from the table in
 * digest_hash.c (Kamailio's core MD5 and SHA-256), so unit tests link the same
 * code as the module.
 */
#ifndef UACREG_DIGEST_H
#define UACREG_DIGEST_H

#include <stdint.h>
#include "ur_str.h"

enum digest_alg
{
	DIGEST_ALG_UNKNOWN = 0,
	DIGEST_ALG_MD5,
	DIGEST_ALG_MD5_SESS,
	DIGEST_ALG_SHA256,
	DIGEST_ALG_SHA256_SESS,
};

/* qop values offered by a challenge (a bit set) */
#define DIGEST_QOP_AUTH 1u
#define DIGEST_QOP_AUTH_INT 2u

/* errors of digest_parse_challenge() and digest_build_authorization() */
#define DIGEST_E_NOT_DIGEST (-1) /* scheme is not Digest */
#define DIGEST_E_MALFORMED (-2)	 /* syntax error, missing nonce, ... */
#define DIGEST_E_ALGORITHM (-3)	 /* only algorithms we do not support */
#define DIGEST_E_QOP (-4)		/* qop offered, but neither auth nor auth-int */
#define DIGEST_E_TOO_LONG (-5)	/* a field or the output exceeds its bound */
#define DIGEST_E_HA1 (-6)		/* HA1 of the wrong length/not hex for alg */
#define DIGEST_E_NO_SECRET (-7) /* neither password nor HA1 */

/* bounds that keep a hostile carrier from making us store megabytes */
#define DIGEST_MAX_FIELD 256 /* realm, nonce, opaque */
#define DIGEST_MAX_HEADER 8192
#define DIGEST_MAX_HASH 32 /* bytes (SHA-256) */

/* A parsed challenge. The strings point into the parsed text (zero copy),
 * without the surrounding quotes, escapes left as they were. */
struct digest_challenge
{
	enum digest_alg alg;
	unsigned qop; /* DIGEST_QOP_* offered; 0 = no qop (RFC 2069 style) */
	int stale;	  /* stale=true */
	ur_str_t realm;
	ur_str_t nonce;
	ur_str_t opaque; /* len 0 = absent */
};

struct digest_creds
{
	ur_str_t username;
	ur_str_t password; /* used when ha1 is empty */
	ur_str_t ha1;	   /* hex; replaces the password when set */
};

struct digest_request
{
	ur_str_t method; /* "REGISTER" */
	ur_str_t uri;	 /* the digest-uri: the R-URI */
	ur_str_t body;	 /* for qop=auth-int; empty body is fine */
	uint32_t nc;	 /* nonce count, 1 for a fresh nonce */
	ur_str_t cnonce; /* client nonce chosen by the caller */
};

/* A hash function, filled in by digest_hash.c. */
struct digest_hash
{
	size_t size;	 /* digest size in bytes */
	size_t ctx_size; /* bytes of context init() expects */
	void (*init)(void *ctx);
	void (*update)(void *ctx, const void *data, size_t len);
	void (*final)(void *ctx, unsigned char *out);
};
extern const struct digest_hash digest_hash_md5;
extern const struct digest_hash digest_hash_sha256;

/* Parses one header value ("Digest realm=..., nonce=..."). 0 or DIGEST_E_*. */
int digest_parse_challenge(
		const char *s, size_t len, struct digest_challenge *out);

/* >0 when a is stronger than b (SHA-256 over MD5, -sess counts as its base,
 * auth-int support does not rank). Used to pick among several headers. */
int digest_stronger(
		const struct digest_challenge *a, const struct digest_challenge *b);

/* Chosen qop for a challenge: DIGEST_QOP_AUTH when offered, else auth-int,
 * else 0 (none). */
unsigned digest_pick_qop(const struct digest_challenge *ch);

/* Writes the Authorization/Proxy-Authorization header value (without the
 * header name and CRLF) into out. Returns its length, or DIGEST_E_*. */
int digest_build_authorization(const struct digest_challenge *ch,
		const struct digest_creds *cr, const struct digest_request *rq,
		char *out, size_t out_size);

/* 1 when ha1 is a valid HA1 for some supported algorithm: 32 hex (MD5) or
 * 64 hex (SHA-256); else 0. */
int digest_ha1_valid(ur_str_t ha1);

/* Name of an algorithm as it appears on the wire ("SHA-256-sess"). */
const char *digest_alg_name(enum digest_alg alg);

#endif
