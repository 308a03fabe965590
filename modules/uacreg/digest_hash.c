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
 * uacreg - the hash table of digest.c over Kamailio's core MD5 and SHA-256.
 *
 * Adapters only: digest.c stays free of Kamailio headers, and the unit tests
 * link these same core files, so what they test is what the module runs.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../core/crypto/md5.h"
#include "../../core/crypto/sha256.h"
#include "digest.h"

/* digest.c allocates contexts as _Alignas(16) unsigned char[256] (its
 * HASH_CTX_MAX); a context that outgrows that must fail the build, not
 * overflow the stack. */
_Static_assert(sizeof(MD5_CTX) <= 256, "MD5_CTX larger than digest.c allows");
_Static_assert(
		sizeof(SHA256_CTX) <= 256, "SHA256_CTX larger than digest.c allows");
_Static_assert(_Alignof(MD5_CTX) <= 16, "MD5_CTX alignment above 16");
_Static_assert(_Alignof(SHA256_CTX) <= 16, "SHA256_CTX alignment above 16");
_Static_assert(MD5_DIGEST_LENGTH <= DIGEST_MAX_HASH, "MD5 digest too long");
_Static_assert(
		SHA256_DIGEST_LENGTH <= DIGEST_MAX_HASH, "SHA-256 digest too long");

/* volatile, so that the compiler keeps a wipe of a buffer about to die */
static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while(n--)
		*v++ = 0;
}

static void md5_init(void *ctx)
{
	MD5Init(ctx);
}

static void md5_update(void *ctx, const void *data, size_t len)
{
	MD5Update(ctx, data, len);
}

static void md5_final(void *ctx, unsigned char *out)
{
	MD5Final((char *)out, ctx);
}

static void sha256_init(void *ctx)
{
	sr_SHA256_Init(ctx);
}

/* sr_SHA256_Update() hands whole blocks of the caller's data, at whatever
 * offset the context's buffer left them, to its transform, which loads them
 * as 32-bit words: unaligned input is undefined behaviour (a fault on
 * strict-alignment CPUs). Feeding it at most one block at a time from an
 * aligned copy means the transform only ever sees that copy, from its
 * start, or the context's own buffer. */
static void sha256_update(void *ctx, const void *data, size_t len)
{
	_Alignas(16) unsigned char block[SHA256_BLOCK_LENGTH];
	const unsigned char *p = data;
	size_t n;

	while(len > 0) {
		n = len < sizeof(block) ? len : sizeof(block);
		memcpy(block, p, n);
		sr_SHA256_Update(ctx, block, n);
		p += n;
		len -= n;
	}
	wipe(block, sizeof(block)); /* it may hold a password */
}

/* sr_SHA256_Final() stores the digest as 32-bit words: same reason */
static void sha256_final(void *ctx, unsigned char *out)
{
	_Alignas(16) unsigned char md[SHA256_DIGEST_LENGTH];

	sr_SHA256_Final(md, ctx);
	memcpy(out, md, sizeof(md));
	wipe(md, sizeof(md));
}

const struct digest_hash digest_hash_md5 = {
		MD5_DIGEST_LENGTH, sizeof(MD5_CTX), md5_init, md5_update, md5_final};

const struct digest_hash digest_hash_sha256 = {SHA256_DIGEST_LENGTH,
		sizeof(SHA256_CTX), sha256_init, sha256_update, sha256_final};
