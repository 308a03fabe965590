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
 * The parser reads a challenge that a carrier controls, so it is written to
 * never read past len, never allocate, and bound every field it keeps. The
 * builder writes into the caller's buffer and reports truncation instead of
 * producing a half header.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "digest.h"

/* Large enough for every context of digest_hash.c (MD5 88 bytes, SHA-256 104
 * bytes on LP64); digest_hash.c checks its contexts against the same number. */
#define HASH_CTX_MAX 256
#define HEX_MAX (2 * DIGEST_MAX_HASH)

/* the parameters of a challenge this parser interprets */
#define P_REALM 0x01u
#define P_NONCE 0x02u
#define P_OPAQUE 0x04u
#define P_ALG 0x08u
#define P_QOP 0x10u
#define P_STALE 0x20u

struct cursor
{
	const char *p;
	const char *end;
};

/* what one pass over the parameters found, before it is judged */
struct params
{
	unsigned seen; /* P_* */
	ur_str_t realm;
	ur_str_t nonce;
	ur_str_t opaque;
	ur_str_t alg;
	ur_str_t qop;
	ur_str_t stale;
};

/* --- characters --------------------------------------------------------- */

/* CR and LF count as white space so that folded lines (CRLF SP) parse as
 * a run of white space, whatever the carrier's line folding looks like. */
static int is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 7230 tchar */
static int is_tchar(unsigned char c)
{
	if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			|| (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* control characters other than HTAB: a CR or LF that we echo would split
 * the header and let the carrier inject lines into our request */
static int is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int hex_val(char c)
{
	if(c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if(c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int str_ieq(ur_str_t a, const char *lit)
{
	size_t n = strlen(lit);
	size_t i;

	if(a.len != n)
		return 0;
	for(i = 0; i < n; i++) {
		if(lower(a.s[i]) != lower(lit[i]))
			return 0;
	}
	return 1;
}

static int is_hex(ur_str_t s)
{
	size_t i;

	for(i = 0; i < s.len; i++) {
		if(hex_val(s.s[i]) < 0)
			return 0;
	}
	return 1;
}

/* --- lexer over the challenge ------------------------------------------- */

static void skip_lws(struct cursor *c)
{
	while(c->p < c->end && is_lws(*c->p))
		c->p++;
}

/* Empty elements (",,") are legal in HTTP lists, so runs of commas and
 * white space between parameters are all one separator. */
static void skip_separators(struct cursor *c)
{
	while(c->p < c->end && (is_lws(*c->p) || *c->p == ','))
		c->p++;
}

static ur_str_t take_token(struct cursor *c)
{
	ur_str_t t = {c->p, 0};

	while(c->p < c->end && is_tchar((unsigned char)*c->p))
		c->p++;
	t.len = (size_t)(c->p - t.s);
	return t;
}

/* At the opening quote. Leaves the slice between the quotes raw (escapes
 * kept) because we echo realm, nonce and opaque exactly as received. */
static int take_quoted(struct cursor *c, ur_str_t *val)
{
	const char *start = ++c->p;

	while(c->p < c->end && *c->p != '"') {
		if(*c->p == '\\') {
			c->p++;
			if(c->p == c->end)
				break;
		}
		if(is_ctl((unsigned char)*c->p))
			return DIGEST_E_MALFORMED;
		c->p++;
	}
	if(c->p == c->end)
		return DIGEST_E_MALFORMED; /* unterminated */
	val->s = start;
	val->len = (size_t)(c->p - start);
	c->p++; /* the closing quote */
	return 0;
}

static int take_value(struct cursor *c, ur_str_t *val)
{
	if(c->p < c->end && *c->p == '"')
		return take_quoted(c, val);
	*val = take_token(c);
	return val->len ? 0 : DIGEST_E_MALFORMED;
}

/* --- parameters --------------------------------------------------------- */

/* Where a known parameter goes; NULL for the ones we ignore. */
static ur_str_t *param_slot(struct params *ps, ur_str_t name, unsigned *bit)
{
	static const struct
	{
		const char *name;
		unsigned bit;
	} known[] = {{"realm", P_REALM}, {"nonce", P_NONCE}, {"opaque", P_OPAQUE},
			{"algorithm", P_ALG}, {"qop", P_QOP}, {"stale", P_STALE}};
	ur_str_t *slots[] = {&ps->realm, &ps->nonce, &ps->opaque, &ps->alg,
			&ps->qop, &ps->stale};
	size_t i;

	for(i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if(str_ieq(name, known[i].name)) {
			*bit = known[i].bit;
			return slots[i];
		}
	}
	return NULL;
}

/* Keeps a parameter we interpret. A repeated one is an error (RFC 7235
 * section 2.1): picking either copy could answer a nonce the server did not
 * mean. Unknown parameters are skipped whatever their length; the header
 * bound already limits them and we keep nothing of them. */
static int store_param(struct params *ps, ur_str_t name, ur_str_t val)
{
	unsigned bit = 0;
	ur_str_t *slot = param_slot(ps, name, &bit);

	if(slot == NULL)
		return 0;
	if(ps->seen & bit)
		return DIGEST_E_MALFORMED;
	if(val.len > DIGEST_MAX_FIELD)
		return DIGEST_E_TOO_LONG;
	ps->seen |= bit;
	*slot = val;
	return 0;
}

/* name LWS "=" LWS value, then LWS up to a comma or the end */
static int parse_param(struct cursor *c, struct params *ps)
{
	ur_str_t name;
	ur_str_t val;
	int ret;

	name = take_token(c);
	if(name.len == 0)
		return DIGEST_E_MALFORMED;
	skip_lws(c);
	if(c->p == c->end || *c->p != '=')
		return DIGEST_E_MALFORMED;
	c->p++;
	skip_lws(c);
	ret = take_value(c, &val);
	if(ret < 0)
		return ret;
	skip_lws(c);
	if(c->p < c->end && *c->p != ',')
		return DIGEST_E_MALFORMED;
	return store_param(ps, name, val);
}

static int parse_params(struct cursor *c, struct params *ps)
{
	int ret;

	for(;;) {
		skip_separators(c);
		if(c->p == c->end)
			return 0;
		ret = parse_param(c, ps);
		if(ret < 0)
			return ret;
	}
}

/* --- interpretation ----------------------------------------------------- */

static enum digest_alg alg_from_name(ur_str_t v)
{
	static const enum digest_alg algs[] = {DIGEST_ALG_MD5, DIGEST_ALG_MD5_SESS,
			DIGEST_ALG_SHA256, DIGEST_ALG_SHA256_SESS};
	size_t i;

	for(i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if(str_ieq(v, digest_alg_name(algs[i])))
			return algs[i];
	}
	return DIGEST_ALG_UNKNOWN;
}

/* qop-options is a comma list inside quotes; a bare token is one option.
 * Options we do not know (future ones) are skipped. */
static unsigned qop_from_list(ur_str_t v)
{
	struct cursor c = {v.s, v.s + v.len};
	unsigned qop = 0;
	ur_str_t opt;

	for(;;) {
		skip_separators(&c);
		if(c.p == c.end)
			return qop;
		opt = take_token(&c);
		if(opt.len == 0) {
			c.p++; /* a stray character: not an option */
			continue;
		}
		if(str_ieq(opt, "auth"))
			qop |= DIGEST_QOP_AUTH;
		else if(str_ieq(opt, "auth-int"))
			qop |= DIGEST_QOP_AUTH_INT;
	}
}

/* Absence of a required field is checked before the algorithm and qop, so
 * a broken challenge says MALFORMED rather than naming a secondary cause. */
static int judge_params(const struct params *ps, struct digest_challenge *out)
{
	if(!(ps->seen & P_NONCE) || ps->nonce.len == 0)
		return DIGEST_E_MALFORMED;
	if(!(ps->seen & P_REALM))
		return DIGEST_E_MALFORMED;
	out->realm = ps->realm;
	out->nonce = ps->nonce;
	if(ps->seen & P_OPAQUE)
		out->opaque = ps->opaque;

	out->alg = (ps->seen & P_ALG) ? alg_from_name(ps->alg) : DIGEST_ALG_MD5;
	if(out->alg == DIGEST_ALG_UNKNOWN)
		return DIGEST_E_ALGORITHM;

	if(ps->seen & P_QOP) {
		out->qop = qop_from_list(ps->qop);
		if(out->qop == 0)
			return DIGEST_E_QOP;
	}
	out->stale = (ps->seen & P_STALE) && str_ieq(ps->stale, "true");
	return 0;
}

int digest_parse_challenge(
		const char *s, size_t len, struct digest_challenge *out)
{
	struct cursor c = {s, s + len};
	struct params ps;
	ur_str_t scheme;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(&ps, 0, sizeof(ps));
	if(len > DIGEST_MAX_HEADER)
		return DIGEST_E_TOO_LONG;
	if(s == NULL)
		return DIGEST_E_MALFORMED;

	skip_lws(&c);
	scheme = take_token(&c);
	if(scheme.len == 0)
		return DIGEST_E_MALFORMED;
	if(!str_ieq(scheme, "Digest"))
		return DIGEST_E_NOT_DIGEST;

	ret = parse_params(&c, &ps);
	if(ret < 0)
		return ret;
	return judge_params(&ps, out);
}

/* --- choices ------------------------------------------------------------ */

static int alg_rank(enum digest_alg alg)
{
	switch(alg) {
		case DIGEST_ALG_SHA256:
		case DIGEST_ALG_SHA256_SESS:
			return 2;
		case DIGEST_ALG_MD5:
		case DIGEST_ALG_MD5_SESS:
			return 1;
		default:
			return 0;
	}
}

int digest_stronger(
		const struct digest_challenge *a, const struct digest_challenge *b)
{
	return alg_rank(a->alg) - alg_rank(b->alg);
}

unsigned digest_pick_qop(const struct digest_challenge *ch)
{
	if(ch->qop & DIGEST_QOP_AUTH)
		return DIGEST_QOP_AUTH;
	if(ch->qop & DIGEST_QOP_AUTH_INT)
		return DIGEST_QOP_AUTH_INT;
	return 0;
}

int digest_ha1_valid(ur_str_t ha1)
{
	if(ha1.s == NULL || (ha1.len != 32 && ha1.len != 64))
		return 0;
	return is_hex(ha1);
}

const char *digest_alg_name(enum digest_alg alg)
{
	switch(alg) {
		case DIGEST_ALG_MD5:
			return "MD5";
		case DIGEST_ALG_MD5_SESS:
			return "MD5-sess";
		case DIGEST_ALG_SHA256:
			return "SHA-256";
		case DIGEST_ALG_SHA256_SESS:
			return "SHA-256-sess";
		default:
			return "unknown";
	}
}

/* --- hashing ------------------------------------------------------------ */

/* A plain memset of a buffer about to die is a dead store the compiler may
 * drop; the volatile access keeps the wipe of secret material. */
static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while(n--)
		*v++ = 0;
}

static const struct digest_hash *alg_hash(enum digest_alg alg)
{
	switch(alg) {
		case DIGEST_ALG_MD5:
		case DIGEST_ALG_MD5_SESS:
			return &digest_hash_md5;
		case DIGEST_ALG_SHA256:
		case DIGEST_ALG_SHA256_SESS:
			return &digest_hash_sha256;
		default:
			return NULL;
	}
}

static int alg_is_sess(enum digest_alg alg)
{
	return alg == DIGEST_ALG_MD5_SESS || alg == DIGEST_ALG_SHA256_SESS;
}

static void to_hex(const unsigned char *md, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for(i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
}

/* H(parts[0] ":" parts[1] ":" ...) in lowercase hex (2 * h->size chars).
 * Streams the parts so that no joined copy of a secret is ever made. */
static void hash_hex(
		const struct digest_hash *h, const ur_str_t *parts, size_t n, char *hex)
{
	_Alignas(16) unsigned char ctx[HASH_CTX_MAX];
	unsigned char md[DIGEST_MAX_HASH];
	size_t i;

	h->init(ctx);
	for(i = 0; i < n; i++) {
		if(i > 0)
			h->update(ctx, ":", 1);
		/* skipped when empty: the hashes memcpy, and NULL is not allowed */
		if(parts[i].len > 0)
			h->update(ctx, parts[i].s, parts[i].len);
	}
	h->final(ctx, md);
	to_hex(md, h->size, hex);
	wipe(ctx, sizeof(ctx)); /* it has seen the password */
	wipe(md, sizeof(md));
}

/* --- building ----------------------------------------------------------- */

struct out_buf
{
	char *s;
	size_t size;
	size_t len;
	int full; /* something did not fit; the result is unusable */
};

/* Keeps one byte free for the terminating NUL. */
static void put(struct out_buf *o, const char *s, size_t n)
{
	if(o->full || n >= o->size - o->len) {
		o->full = 1;
		return;
	}
	if(n > 0)
		memcpy(o->s + o->len, s, n);
	o->len += n;
}

static void put_cstr(struct out_buf *o, const char *s)
{
	put(o, s, strlen(s));
}

/* a field taken from the challenge: echoed as received, escapes included */
static void put_raw_quoted(struct out_buf *o, const char *name, ur_str_t v)
{
	put_cstr(o, name);
	put(o, "=\"", 2);
	put(o, v.s, v.len);
	put(o, "\"", 1);
}

/* a field of ours: quote and backslash become quoted-pairs */
static void put_escaped_quoted(struct out_buf *o, const char *name, ur_str_t v)
{
	size_t i;

	put_cstr(o, name);
	put(o, "=\"", 2);
	for(i = 0; i < v.len; i++) {
		if(v.s[i] == '"' || v.s[i] == '\\')
			put(o, "\\", 1);
		put(o, v.s + i, 1);
	}
	put(o, "\"", 1);
}

static void put_nc(struct out_buf *o, uint32_t nc)
{
	static const char digits[] = "0123456789abcdef";
	char hex[8];
	int i;

	for(i = 7; i >= 0; i--) {
		hex[i] = digits[nc & 0x0f];
		nc >>= 4;
	}
	put(o, hex, sizeof(hex));
}

/* Our own strings go into the header; a control character there (CR, LF)
 * would end the header early. */
static int text_ok(ur_str_t v)
{
	size_t i;

	if(v.len > 0 && v.s == NULL)
		return 0;
	for(i = 0; i < v.len; i++) {
		if(is_ctl((unsigned char)v.s[i]))
			return 0;
	}
	return 1;
}

static int request_ok(const struct digest_creds *cr,
		const struct digest_request *rq, int needs_cnonce)
{
	if(!text_ok(cr->username) || !text_ok(rq->uri) || !text_ok(rq->cnonce)
			|| !text_ok(rq->method))
		return 0;
	if(rq->body.len > 0 && rq->body.s == NULL)
		return 0;
	if(needs_cnonce && rq->cnonce.len == 0)
		return 0;
	return 1;
}

/* HA1 as lowercase hex, from the stored HA1 or from the password. */
static int make_ha1(const struct digest_hash *h,
		const struct digest_challenge *ch, const struct digest_creds *cr,
		char *hex)
{
	size_t hex_len = 2 * h->size;
	size_t i;

	if(cr->ha1.len > 0) {
		if(cr->ha1.s == NULL || cr->ha1.len != hex_len || !is_hex(cr->ha1))
			return DIGEST_E_HA1;
		for(i = 0; i < hex_len; i++)
			hex[i] = lower(cr->ha1.s[i]);
		return 0;
	}
	if(cr->password.len == 0 || cr->password.s == NULL)
		return DIGEST_E_NO_SECRET;
	{
		ur_str_t parts[] = {cr->username, ch->realm, cr->password};
		hash_hex(h, parts, 3, hex);
	}
	return 0;
}

/* -sess (RFC 7616 section 3.4.2): HA1 = H(H(user:realm:pw):nonce:cnonce) */
static void make_sess_ha1(const struct digest_hash *h,
		const struct digest_challenge *ch, const struct digest_request *rq,
		char *hex)
{
	ur_str_t parts[] = {{hex, 2 * h->size}, ch->nonce, rq->cnonce};
	char sess[HEX_MAX];

	hash_hex(h, parts, 3, sess);
	memcpy(hex, sess, 2 * h->size);
	wipe(sess, sizeof(sess));
}

static void make_ha2(const struct digest_hash *h,
		const struct digest_request *rq, unsigned qop, char *hex)
{
	char body_hex[HEX_MAX];

	if(qop == DIGEST_QOP_AUTH_INT) {
		hash_hex(h, &rq->body, 1, body_hex);
		{
			ur_str_t parts[] = {rq->method, rq->uri, {body_hex, 2 * h->size}};
			hash_hex(h, parts, 3, hex);
		}
		return;
	}
	{
		ur_str_t parts[] = {rq->method, rq->uri};
		hash_hex(h, parts, 2, hex);
	}
}

static const char *qop_name(unsigned qop)
{
	return qop == DIGEST_QOP_AUTH_INT ? "auth-int" : "auth";
}

static void make_response(const struct digest_hash *h,
		const struct digest_challenge *ch, const struct digest_request *rq,
		unsigned qop, const char *ha1, const char *ha2, char *hex)
{
	ur_str_t hx1 = {ha1, 2 * h->size};
	ur_str_t hx2 = {ha2, 2 * h->size};
	char nc[9];
	struct out_buf nb = {nc, sizeof(nc), 0, 0};

	if(qop == 0) {
		ur_str_t parts[] = {hx1, ch->nonce, hx2};
		hash_hex(h, parts, 3, hex);
		return;
	}
	put_nc(&nb, rq->nc);
	{
		ur_str_t parts[] = {hx1, ch->nonce, {nc, 8}, rq->cnonce,
				ur_str_c(qop_name(qop)), hx2};
		hash_hex(h, parts, 6, hex);
	}
}

static void write_authorization(struct out_buf *o,
		const struct digest_challenge *ch, const struct digest_creds *cr,
		const struct digest_request *rq, unsigned qop, ur_str_t response)
{
	put_cstr(o, "Digest ");
	put_escaped_quoted(o, "username", cr->username);
	put_raw_quoted(o, ", realm", ch->realm);
	put_raw_quoted(o, ", nonce", ch->nonce);
	put_escaped_quoted(o, ", uri", rq->uri);
	put_raw_quoted(o, ", response", response);
	put_cstr(o, ", algorithm=");
	put_cstr(o, digest_alg_name(ch->alg));
	/* -sess without qop still hashed the cnonce: the server needs it */
	if(qop != 0 || alg_is_sess(ch->alg))
		put_escaped_quoted(o, ", cnonce", rq->cnonce);
	if(qop != 0) {
		put_cstr(o, ", qop=");
		put_cstr(o, qop_name(qop));
		put_cstr(o, ", nc=");
		put_nc(o, rq->nc);
	}
	if(ch->opaque.len > 0)
		put_raw_quoted(o, ", opaque", ch->opaque);
}

int digest_build_authorization(const struct digest_challenge *ch,
		const struct digest_creds *cr, const struct digest_request *rq,
		char *out, size_t out_size)
{
	const struct digest_hash *h = alg_hash(ch->alg);
	unsigned qop = digest_pick_qop(ch);
	char ha1[HEX_MAX];
	char ha2[HEX_MAX];
	char resp[HEX_MAX];
	struct out_buf o = {out, out_size, 0, 0};
	int ret;

	if(h == NULL || h->size > DIGEST_MAX_HASH || h->ctx_size > HASH_CTX_MAX)
		return DIGEST_E_ALGORITHM;
	if(!request_ok(cr, rq, qop != 0 || alg_is_sess(ch->alg)))
		return DIGEST_E_MALFORMED;
	ret = make_ha1(h, ch, cr, ha1);
	if(ret < 0)
		return ret;
	if(out == NULL || out_size == 0)
		return DIGEST_E_TOO_LONG;

	if(alg_is_sess(ch->alg))
		make_sess_ha1(h, ch, rq, ha1);
	make_ha2(h, rq, qop, ha2);
	make_response(h, ch, rq, qop, ha1, ha2, resp);
	wipe(ha1, sizeof(ha1)); /* the HA1 is as good as the password */

	write_authorization(&o, ch, cr, rq, qop, (ur_str_t){resp, 2 * h->size});
	if(o.full || o.len > INT_MAX) {
		if(out_size > 0)
			out[0] = '\0';
		return DIGEST_E_TOO_LONG;
	}
	out[o.len] = '\0';
	return (int)o.len;
}
