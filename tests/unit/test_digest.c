/*
 * Unit tests of digest.c: RFC vectors, hand computations with the same hash
 * primitives, and the challenge parser's edges.
 */
#include <ctype.h>
#include <stdio.h>

#include "unit.h"
#include "digest.h"

/* --- helpers ------------------------------------------------------------ */

/* copies that parsed challenges point into, freed after the group */
static char **copies;
static size_t n_copies;

static int free_copies(void **state)
{
	while(n_copies > 0)
		free(copies[--n_copies]);
	free(copies);
	copies = NULL;
	return 0;
}

/* Parses a copy of exactly len bytes on the heap, so AddressSanitizer sees
 * any read past the end (the input is not NUL terminated). The copy lives
 * until the group ends, because the challenge points into it. */
static int parse(const char *s, struct digest_challenge *ch)
{
	size_t len = strlen(s);
	char *copy = malloc(len ? len : 1);
	char **grown = realloc(copies, (n_copies + 1) * sizeof(*copies));

	assert_non_null(copy);
	assert_non_null(grown);
	copies = grown;
	copies[n_copies++] = copy;
	memcpy(copy, s, len);
	return digest_parse_challenge(copy, len, ch);
}

static struct digest_challenge parse_ok(const char *s)
{
	struct digest_challenge ch;

	assert_int_equal(parse(s, &ch), 0);
	return ch;
}

static int parse_err(const char *s)
{
	struct digest_challenge ch;

	return parse(s, &ch);
}

static void assert_slice(ur_str_t v, const char *expected)
{
	assert_int_equal(v.len, strlen(expected));
	assert_memory_equal(v.s, expected, v.len);
}

static void to_hex(const unsigned char *md, size_t n, char *hex)
{
	size_t i;

	for(i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

/* H(a ":" b ":" c ...) in hex, for NULL-terminated lists of C strings */
static void hash_join(const struct digest_hash *h, char *hex, ...)
{
	_Alignas(16) unsigned char ctx[256];
	unsigned char md[DIGEST_MAX_HASH];
	const char *part;
	int first = 1;
	va_list ap;

	assert_true(h->ctx_size <= sizeof(ctx));
	h->init(ctx);
	va_start(ap, hex);
	while((part = va_arg(ap, const char *)) != NULL) {
		if(!first)
			h->update(ctx, ":", 1);
		h->update(ctx, part, strlen(part));
		first = 0;
	}
	va_end(ap);
	h->final(ctx, md);
	to_hex(md, h->size, hex);
}

struct build_args
{
	const char *user;
	const char *password;
	const char *ha1;
	const char *method;
	const char *uri;
	const char *body;
	uint32_t nc;
	const char *cnonce;
};

static ur_str_t opt(const char *s)
{
	return s ? ur_str_c(s) : UR_STR_NULL;
}

static int build(const struct digest_challenge *ch, const struct build_args *a,
		char *out, size_t size)
{
	struct digest_creds cr = {opt(a->user), opt(a->password), opt(a->ha1)};
	struct digest_request rq = {opt(a->method ? a->method : "REGISTER"),
			opt(a->uri), opt(a->body), a->nc, opt(a->cnonce)};

	return digest_build_authorization(ch, &cr, &rq, out, size);
}

/* the value of response="..." in a built header */
static void response_of(const char *hdr, char *resp, size_t size)
{
	const char *p = strstr(hdr, "response=\"");
	const char *q;

	assert_non_null(p);
	p += strlen("response=\"");
	q = strchr(p, '"');
	assert_non_null(q);
	assert_true((size_t)(q - p) < size);
	memcpy(resp, p, q - p);
	resp[q - p] = '\0';
}

/* --- the hash adapters ------------------------------------------------- */

/* H(data) fed in two pieces, the first split bytes then the rest */
static void hash_split(const struct digest_hash *h, const char *data,
		size_t len, size_t split, char *hex)
{
	_Alignas(16) unsigned char ctx[256];
	_Alignas(16) unsigned char md[DIGEST_MAX_HASH + 1];

	assert_true(h->ctx_size <= sizeof(ctx));
	h->init(ctx);
	h->update(ctx, data, split);
	h->update(ctx, data + split, len - split);
	h->final(ctx, md + 1); /* an unaligned output too */
	to_hex(md + 1, h->size, hex);
}

/* Published vectors (FIPS 180-2 B.3, RFC 1321 A.5), hashed from every
 * alignment and split: Kamailio's SHA-256 loads whole blocks as 32-bit
 * words, which the adapter must keep aligned (found by fuzz_challenge). */
static void test_hash_vectors_unaligned(void **state)
{
	static const struct
	{
		const struct digest_hash *h;
		char fill; /* 0: use text */
		size_t len;
		const char *text;
		const char *hex;
	} vec[] = {
			{&digest_hash_sha256, 'a', 1000000, NULL,
					"cdc76e5c9914fb9281a1c7e284d73e67"
					"f1809a48a497200e046d39ccc7112cd0"},
			{&digest_hash_sha256, 0, 56,
					"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
					"248d6a61d20638b8e5c026930c3e6039"
					"a33ce45964ff2167f6ecedd419db06c1"},
			{&digest_hash_md5, 0, 80,
					"1234567890123456789012345678901234567890"
					"1234567890123456789012345678901234567890",
					"57edf4a22be3c955ac49da2e2107b67a"},
	};
	static const size_t splits[] = {0, 1, 3, 63, 64, 65};
	char hex[2 * DIGEST_MAX_HASH + 1];
	size_t v, off, sp;

	for(v = 0; v < sizeof(vec) / sizeof(vec[0]); v++) {
		char *buf = malloc(vec[v].len + 8);

		assert_non_null(buf);
		for(off = 0; off < 8; off++) {
			if(vec[v].fill)
				memset(buf + off, vec[v].fill, vec[v].len);
			else
				memcpy(buf + off, vec[v].text, vec[v].len);
			for(sp = 0; sp < sizeof(splits) / sizeof(splits[0]); sp++) {
				if(splits[sp] > vec[v].len)
					continue;
				hash_split(vec[v].h, buf + off, vec[v].len, splits[sp], hex);
				assert_string_equal(hex, vec[v].hex);
			}
		}
		free(buf);
	}
}

/* --- RFC vectors -------------------------------------------------------- */

#define RFC7616_NONCE "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define RFC7616_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
#define RFC7616_OPAQUE "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"

static const struct build_args rfc7616_args = {"Mufasa", "Circle of Life", NULL,
		"GET", "/dir/index.html", NULL, 1, RFC7616_CNONCE};

/* RFC 7616 section 3.9.1, the challenge as the RFC prints it */
static void test_rfc7616_sha256(void **state)
{
	struct digest_challenge ch =
			parse_ok("Digest\r\n    realm=\"http-auth@example.org\",\r\n"
					 "    qop=\"auth, auth-int\",\r\n    algorithm=SHA-256,\r\n"
					 "    nonce=\"" RFC7616_NONCE "\",\r\n"
					 "    opaque=\"" RFC7616_OPAQUE "\"");
	char out[1024];
	int n;

	assert_int_equal(ch.alg, DIGEST_ALG_SHA256);
	assert_int_equal(ch.qop, DIGEST_QOP_AUTH | DIGEST_QOP_AUTH_INT);
	n = build(&ch, &rfc7616_args, out, sizeof(out));
	assert_int_equal(n, (int)strlen(out));
	assert_string_equal(out,
			"Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
			"nonce=\"" RFC7616_NONCE "\", uri=\"/dir/index.html\", "
			"response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8d"
			"b5856cb6c1\", algorithm=SHA-256, cnonce=\"" RFC7616_CNONCE "\", "
			"qop=auth, nc=00000001, opaque=\"" RFC7616_OPAQUE "\"");
}

static void test_rfc7616_md5(void **state)
{
	struct digest_challenge ch = parse_ok(
			"Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "
			"algorithm=MD5, nonce=\"" RFC7616_NONCE "\", "
			"opaque=\"" RFC7616_OPAQUE "\"");
	char out[1024];
	char resp[80];

	assert_true(build(&ch, &rfc7616_args, out, sizeof(out)) > 0);
	response_of(out, resp, sizeof(resp));
	assert_string_equal(resp, "8ca523f5e9506fed4657c9700eebdbec");
	assert_non_null(strstr(out, ", algorithm=MD5, "));
}

/* RFC 2617 section 3.5: no algorithm parameter means MD5 */
static void test_rfc2617(void **state)
{
	struct digest_challenge ch =
			parse_ok("Digest\r\n realm=\"testrealm@host.com\",\r\n"
					 " qop=\"auth,auth-int\",\r\n"
					 " nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n"
					 " opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
	struct build_args a = {"Mufasa", "Circle Of Life", NULL, "GET",
			"/dir/index.html", NULL, 1, "0a4f113b"};
	char out[1024];

	assert_int_equal(ch.alg, DIGEST_ALG_MD5);
	assert_true(build(&ch, &a, out, sizeof(out)) > 0);
	assert_string_equal(out,
			"Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
			"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
			"uri=\"/dir/index.html\", "
			"response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, "
			"cnonce=\"0a4f113b\", qop=auth, nc=00000001, "
			"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
}

/* RFC 2069 section 2.4: no qop, response = H(HA1:nonce:HA2) */
static void test_rfc2069_no_qop(void **state)
{
	struct digest_challenge ch =
			parse_ok("Digest realm=\"testrealm@host.com\", "
					 "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
					 "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
	struct build_args a = {"Mufasa", "CircleOfLife", NULL, "GET",
			"/dir/index.html", NULL, 1, "unused"};
	char out[1024];

	assert_int_equal(ch.qop, 0);
	assert_int_equal(digest_pick_qop(&ch), 0);
	assert_true(build(&ch, &a, out, sizeof(out)) > 0);
	assert_string_equal(out,
			"Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
			"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
			"uri=\"/dir/index.html\", "
			"response=\"1949323746fe6a43ef61f9606e7febea\", algorithm=MD5, "
			"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
}

/* --- hand computations with the same primitives ------------------------- */

static const char *alg_challenges[] = {
		"Digest realm=\"sip.example.net\", nonce=\"n0nce\", qop=\"auth\", "
		"algorithm=MD5",
		"Digest realm=\"sip.example.net\", nonce=\"n0nce\", qop=\"auth\", "
		"algorithm=MD5-sess",
		"Digest realm=\"sip.example.net\", nonce=\"n0nce\", qop=\"auth\", "
		"algorithm=SHA-256",
		"Digest realm=\"sip.example.net\", nonce=\"n0nce\", qop=\"auth\", "
		"algorithm=SHA-256-sess",
};

static const struct digest_hash *hash_of(enum digest_alg alg)
{
	return (alg == DIGEST_ALG_SHA256 || alg == DIGEST_ALG_SHA256_SESS)
				   ? &digest_hash_sha256
				   : &digest_hash_md5;
}

/* the HA1 an operator would store: H(user:realm:password) */
static void stored_ha1(const struct digest_challenge *ch, char *hex)
{
	hash_join(
			hash_of(ch->alg), hex, "alice", "sip.example.net", "s3cret", NULL);
}

static void test_ha1_equivalence(void **state)
{
	struct build_args pw = {"alice", "s3cret", NULL, "REGISTER",
			"sip:sip.example.net", NULL, 7, "c1"};
	size_t i;

	for(i = 0; i < sizeof(alg_challenges) / sizeof(alg_challenges[0]); i++) {
		struct digest_challenge ch = parse_ok(alg_challenges[i]);
		struct build_args h = pw;
		char ha1[2 * DIGEST_MAX_HASH + 1];
		char with_pw[512], with_ha1[512];

		stored_ha1(&ch, ha1);
		h.password = NULL;
		h.ha1 = ha1;
		assert_true(build(&ch, &pw, with_pw, sizeof(with_pw)) > 0);
		assert_true(build(&ch, &h, with_ha1, sizeof(with_ha1)) > 0);
		assert_string_equal(with_pw, with_ha1);

		/* the HA1 wins over a password that would give another answer */
		h.password = "wrong";
		assert_true(build(&ch, &h, with_ha1, sizeof(with_ha1)) > 0);
		assert_string_equal(with_pw, with_ha1);
	}
}

static void test_uppercase_ha1(void **state)
{
	struct digest_challenge ch = parse_ok(alg_challenges[2]);
	char ha1[2 * DIGEST_MAX_HASH + 1];
	char upper[sizeof(ha1)];
	struct build_args a = {"alice", NULL, ha1, "REGISTER",
			"sip:sip.example.net", NULL, 1, "c1"};
	char lo[512], up[512];
	size_t i;

	stored_ha1(&ch, ha1);
	for(i = 0; i <= strlen(ha1); i++)
		upper[i] = (char)toupper((unsigned char)ha1[i]);
	assert_string_not_equal(ha1, upper); /* some digit is a letter */
	assert_true(digest_ha1_valid(ur_str_c(upper)));
	assert_true(build(&ch, &a, lo, sizeof(lo)) > 0);
	a.ha1 = upper;
	assert_true(build(&ch, &a, up, sizeof(up)) > 0);
	assert_string_equal(lo, up);
}

static void test_wrong_ha1(void **state)
{
	struct digest_challenge md5 = parse_ok(alg_challenges[0]);
	struct digest_challenge sha = parse_ok(alg_challenges[2]);
	char ha1_md5[2 * DIGEST_MAX_HASH + 1], ha1_sha[2 * DIGEST_MAX_HASH + 1];
	struct build_args a = {"alice", "s3cret", NULL, "REGISTER",
			"sip:sip.example.net", NULL, 1, "c1"};
	char out[512];

	stored_ha1(&md5, ha1_md5);
	stored_ha1(&sha, ha1_sha);
	a.ha1 = ha1_sha; /* 64 digits for MD5 */
	assert_int_equal(build(&md5, &a, out, sizeof(out)), DIGEST_E_HA1);
	a.ha1 = ha1_md5; /* 32 digits for SHA-256 */
	assert_int_equal(build(&sha, &a, out, sizeof(out)), DIGEST_E_HA1);
	a.ha1 = "0123456789abcdef0123456789abcdeg"; /* 32, not hex */
	assert_int_equal(build(&md5, &a, out, sizeof(out)), DIGEST_E_HA1);
	a.ha1 = "0123456789abcdef0123456789abcde"; /* 31 */
	assert_int_equal(build(&md5, &a, out, sizeof(out)), DIGEST_E_HA1);
}

static void test_no_secret(void **state)
{
	struct digest_challenge ch = parse_ok(alg_challenges[0]);
	struct build_args a = {"alice", NULL, NULL, "REGISTER",
			"sip:sip.example.net", NULL, 1, "c1"};
	char out[512];

	assert_int_equal(build(&ch, &a, out, sizeof(out)), DIGEST_E_NO_SECRET);
	a.password = "";
	a.ha1 = "";
	assert_int_equal(build(&ch, &a, out, sizeof(out)), DIGEST_E_NO_SECRET);
	a.password = "s3cret"; /* empty ha1: the password is used */
	assert_true(build(&ch, &a, out, sizeof(out)) > 0);
}

/* RFC 7616 section 3.4.2: HA1 = H(H(user:realm:pw):nonce:cnonce) */
static void test_sess(void **state)
{
	size_t plain;

	for(plain = 0; plain < 4; plain += 2) {
		struct digest_challenge base = parse_ok(alg_challenges[plain]);
		struct digest_challenge sess = parse_ok(alg_challenges[plain + 1]);
		const struct digest_hash *h = hash_of(sess.alg);
		struct build_args a = {"alice", "s3cret", NULL, "REGISTER",
				"sip:sip.example.net", NULL, 2, "cn0nce"};
		char ha1[65], sess_ha1[65], ha2[65], expect[65], resp[80];
		char out_base[512], out_sess[512];

		assert_true(build(&base, &a, out_base, sizeof(out_base)) > 0);
		assert_true(build(&sess, &a, out_sess, sizeof(out_sess)) > 0);
		response_of(out_sess, resp, sizeof(resp));

		hash_join(h, ha1, "alice", "sip.example.net", "s3cret", NULL);
		hash_join(h, sess_ha1, ha1, "n0nce", "cn0nce", NULL);
		hash_join(h, ha2, "REGISTER", "sip:sip.example.net", NULL);
		hash_join(h, expect, sess_ha1, "n0nce", "00000002", "cn0nce", "auth",
				ha2, NULL);
		assert_string_equal(resp, expect);

		response_of(out_base, resp, sizeof(resp));
		assert_string_not_equal(resp, expect);
		assert_non_null(strstr(out_sess, sess.alg == DIGEST_ALG_MD5_SESS
												 ? "algorithm=MD5-sess,"
												 : "algorithm=SHA-256-sess,"));
	}
}

/* -sess without qop hashes the cnonce, so the cnonce must be sent */
static void test_sess_without_qop(void **state)
{
	struct digest_challenge ch = parse_ok("Digest realm=\"r\", nonce=\"n\", "
										  "algorithm=MD5-sess");
	struct build_args a = {"u", "p", NULL, "REGISTER", "sip:r", NULL, 1, "c"};
	char ha1[33], sess_ha1[33], ha2[33], expect[33], resp[80], out[512];

	assert_true(build(&ch, &a, out, sizeof(out)) > 0);
	hash_join(&digest_hash_md5, ha1, "u", "r", "p", NULL);
	hash_join(&digest_hash_md5, sess_ha1, ha1, "n", "c", NULL);
	hash_join(&digest_hash_md5, ha2, "REGISTER", "sip:r", NULL);
	hash_join(&digest_hash_md5, expect, sess_ha1, "n", ha2, NULL);
	response_of(out, resp, sizeof(resp));
	assert_string_equal(resp, expect);
	assert_non_null(strstr(out, ", cnonce=\"c\""));
	assert_null(strstr(out, "qop="));
	assert_null(strstr(out, "nc="));
}

/* RFC 7616 section 3.4.3: HA2 = H(method:uri:H(body)) */
static void test_auth_int(void **state)
{
	const char *bodies[] = {"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n", ""};
	size_t i;

	for(i = 0; i < 2; i++) {
		struct digest_challenge ch = parse_ok("Digest realm=\"r\", "
											  "nonce=\"n\", qop=\"auth-int\", "
											  "algorithm=SHA-256");
		struct build_args a = {"u", "p", NULL, "INVITE", "sip:b@r", bodies[i],
				0xdeadbeef, "c"};
		const struct digest_hash *h = &digest_hash_sha256;
		char ha1[65], hbody[65], ha2[65], expect[65], resp[80], out[512];

		assert_int_equal(digest_pick_qop(&ch), DIGEST_QOP_AUTH_INT);
		assert_true(build(&ch, &a, out, sizeof(out)) > 0);
		hash_join(h, ha1, "u", "r", "p", NULL);
		hash_join(h, hbody, bodies[i], NULL);
		hash_join(h, ha2, "INVITE", "sip:b@r", hbody, NULL);
		hash_join(h, expect, ha1, "n", "deadbeef", "c", "auth-int", ha2, NULL);
		response_of(out, resp, sizeof(resp));
		assert_string_equal(resp, expect);
		assert_non_null(strstr(out, ", qop=auth-int, nc=deadbeef"));
	}
}

/* --- choices and names -------------------------------------------------- */

static void test_pick_qop(void **state)
{
	struct digest_challenge ch = {0};

	ch.qop = DIGEST_QOP_AUTH | DIGEST_QOP_AUTH_INT;
	assert_int_equal(digest_pick_qop(&ch), DIGEST_QOP_AUTH);
	ch.qop = DIGEST_QOP_AUTH_INT;
	assert_int_equal(digest_pick_qop(&ch), DIGEST_QOP_AUTH_INT);
	ch.qop = 0;
	assert_int_equal(digest_pick_qop(&ch), 0);
}

static void test_stronger(void **state)
{
	struct digest_challenge md5 = {.alg = DIGEST_ALG_MD5};
	struct digest_challenge md5s = {.alg = DIGEST_ALG_MD5_SESS};
	struct digest_challenge sha = {.alg = DIGEST_ALG_SHA256};
	struct digest_challenge shas = {.alg = DIGEST_ALG_SHA256_SESS};

	assert_true(digest_stronger(&sha, &md5) > 0);
	assert_true(digest_stronger(&shas, &md5s) > 0);
	assert_true(digest_stronger(&sha, &md5s) > 0);
	assert_false(digest_stronger(&md5, &sha) > 0);
	assert_false(digest_stronger(&md5, &md5s) > 0);
	assert_false(digest_stronger(&md5s, &md5) > 0);
	assert_false(digest_stronger(&sha, &shas) > 0);
	assert_false(digest_stronger(&sha, &sha) > 0);
}

static void test_names_and_ha1_valid(void **state)
{
	assert_string_equal(digest_alg_name(DIGEST_ALG_MD5), "MD5");
	assert_string_equal(digest_alg_name(DIGEST_ALG_MD5_SESS), "MD5-sess");
	assert_string_equal(digest_alg_name(DIGEST_ALG_SHA256), "SHA-256");
	assert_string_equal(
			digest_alg_name(DIGEST_ALG_SHA256_SESS), "SHA-256-sess");
	assert_string_equal(digest_alg_name(DIGEST_ALG_UNKNOWN), "unknown");
	assert_string_equal(digest_alg_name((enum digest_alg)99), "unknown");

	assert_true(digest_ha1_valid(ur_str_c("0123456789abcdefABCDEF0123456789")));
	assert_true(digest_ha1_valid(ur_str_c("0123456789abcdef0123456789abcdef"
										  "0123456789abcdef0123456789abcdef")));
	assert_false(digest_ha1_valid(ur_str_c("")));
	assert_false(digest_ha1_valid(UR_STR_NULL));
	assert_false(digest_ha1_valid(ur_str_c("0123456789abcdef0123456789abcde")));
	assert_false(
			digest_ha1_valid(ur_str_c("0123456789abcdef0123456789abcdefa")));
	assert_false(
			digest_ha1_valid(ur_str_c("0123456789abcdef0123456789abcdeX")));
}

/* --- the parser --------------------------------------------------------- */

static void test_parse_spacing_and_case(void **state)
{
	const char *variants[] = {
			"Digest realm=\"r\",nonce=\"n\"",
			"digest REALM = \"r\" , Nonce\t=\tn",
			"DIGEST\trealm=r,nonce=\"n\"  ",
			"  Digest  realm  =  \"r\"  ,  nonce  =  \"n\"  ",
			"Digest\r\n realm=\"r\",\r\n\tnonce=\"n\"\r\n",
			"Digest nonce=\"n\", realm=\"r\"",
			"Digest realm=\"r\", , ,nonce=\"n\",,",
			"Digest ,realm=\"r\",nonce=\"n\"",
	};
	size_t i;

	for(i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct digest_challenge ch = parse_ok(variants[i]);

		assert_slice(ch.realm, "r");
		assert_slice(ch.nonce, "n");
		assert_int_equal(ch.opaque.len, 0);
		assert_int_equal(ch.alg, DIGEST_ALG_MD5);
		assert_int_equal(ch.qop, 0);
		assert_int_equal(ch.stale, 0);
	}
}

static void test_parse_algorithms(void **state)
{
	static const struct
	{
		const char *hdr;
		enum digest_alg alg;
	} cases[] = {
			{"Digest realm=r, nonce=n, algorithm=md5", DIGEST_ALG_MD5},
			{"Digest realm=r, nonce=n, algorithm=\"MD5\"", DIGEST_ALG_MD5},
			{"Digest realm=r, nonce=n, algorithm=md5-SESS",
					DIGEST_ALG_MD5_SESS},
			{"Digest realm=r, nonce=n, Algorithm=sha-256", DIGEST_ALG_SHA256},
			{"Digest realm=r, nonce=n, ALGORITHM=Sha-256-Sess",
					DIGEST_ALG_SHA256_SESS},
	};
	size_t i;

	for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(parse_ok(cases[i].hdr).alg, cases[i].alg);

	assert_int_equal(
			parse_err("Digest realm=r, nonce=n, algorithm=SHA-512-256"),
			DIGEST_E_ALGORITHM);
	assert_int_equal(parse_err("Digest realm=r, nonce=n, algorithm=AKAv1-MD5"),
			DIGEST_E_ALGORITHM);
	assert_int_equal(parse_err("Digest realm=r, nonce=n, algorithm=\"\""),
			DIGEST_E_ALGORITHM);
}

static void test_parse_qop(void **state)
{
	assert_int_equal(parse_ok("Digest realm=r,nonce=n,qop=\"auth\"").qop,
			DIGEST_QOP_AUTH);
	assert_int_equal(
			parse_ok("Digest realm=r,nonce=n,qop=auth").qop, DIGEST_QOP_AUTH);
	assert_int_equal(parse_ok("Digest realm=r,nonce=n,qop=\"AUTH-INT\"").qop,
			DIGEST_QOP_AUTH_INT);
	assert_int_equal(
			parse_ok("Digest realm=r,nonce=n,qop=\" auth-int ,, auth \"").qop,
			DIGEST_QOP_AUTH | DIGEST_QOP_AUTH_INT);
	assert_int_equal(
			parse_ok("Digest realm=r,nonce=n,qop=\"auth-conf,auth\"").qop,
			DIGEST_QOP_AUTH);
	assert_int_equal(parse_err("Digest realm=r,nonce=n,qop=\"auth-conf\""),
			DIGEST_E_QOP);
	assert_int_equal(
			parse_err("Digest realm=r,nonce=n,qop=authx"), DIGEST_E_QOP);
	assert_int_equal(
			parse_err("Digest realm=r,nonce=n,qop=\"\""), DIGEST_E_QOP);
}

static void test_parse_stale(void **state)
{
	assert_int_equal(parse_ok("Digest realm=r,nonce=n,stale=true").stale, 1);
	assert_int_equal(parse_ok("Digest realm=r,nonce=n,stale=TRUE").stale, 1);
	assert_int_equal(
			parse_ok("Digest realm=r,nonce=n,stale=\"True\"").stale, 1);
	assert_int_equal(parse_ok("Digest realm=r,nonce=n,stale=false").stale, 0);
	assert_int_equal(parse_ok("Digest realm=r,nonce=n,stale=\"yes\"").stale, 0);
	assert_int_equal(parse_ok("Digest realm=r,nonce=n").stale, 0);
}

static void test_parse_opaque_and_unknown(void **state)
{
	struct digest_challenge ch = parse_ok(
			"Digest domain=\"sip:a.example sip:b.example\", realm=\"r\", "
			"x-vendor=\"a, b=\\\"c\\\"\", charset=UTF-8, userhash=false, "
			"opaque=\"op,aq\", nonce=\"n\"");

	assert_slice(ch.realm, "r");
	assert_slice(ch.nonce, "n");
	assert_slice(ch.opaque, "op,aq");

	ch = parse_ok("Digest realm=\"r\", nonce=\"n\"");
	assert_int_equal(ch.opaque.len, 0);
}

/* escapes stay as received: they are echoed back verbatim */
static void test_parse_escapes_kept_raw(void **state)
{
	struct digest_challenge ch =
			parse_ok("Digest realm=\"a\\\"b\\\\\", nonce=\"x\\,y\"");

	assert_slice(ch.realm, "a\\\"b\\\\");
	assert_slice(ch.nonce, "x\\,y");
}

static void test_parse_missing_fields(void **state)
{
	assert_int_equal(parse_err("Digest realm=\"r\""), DIGEST_E_MALFORMED);
	assert_int_equal(
			parse_err("Digest realm=\"r\", nonce=\"\""), DIGEST_E_MALFORMED);
	assert_int_equal(parse_err("Digest nonce=\"n\""), DIGEST_E_MALFORMED);
	assert_int_equal(parse_err("Digest"), DIGEST_E_MALFORMED);
	assert_int_equal(parse_err("Digest   "), DIGEST_E_MALFORMED);
	/* a missing nonce outranks an algorithm we do not know */
	assert_int_equal(
			parse_err("Digest realm=r, algorithm=foo"), DIGEST_E_MALFORMED);
}

static void test_parse_syntax_errors(void **state)
{
	assert_int_equal(
			parse_err("Digest realm=\"r\", nonce=\"n"), DIGEST_E_MALFORMED);
	assert_int_equal(parse_err("Digest realm=\"r\", nonce=\"n\\\""),
			DIGEST_E_MALFORMED); /* the last quote is escaped */
	assert_int_equal(
			parse_err("Digest realm=\"r\", nonce=\"n\\"), DIGEST_E_MALFORMED);
	assert_int_equal(
			parse_err("Digest realm=\"r\", nonce"), DIGEST_E_MALFORMED);
	assert_int_equal(
			parse_err("Digest realm=\"r\", nonce="), DIGEST_E_MALFORMED);
	assert_int_equal(
			parse_err("Digest realm=\"r\" nonce=\"n\""), DIGEST_E_MALFORMED);
	assert_int_equal(
			parse_err("Digest realm=\"r\", =\"n\""), DIGEST_E_MALFORMED);
	assert_int_equal(
			parse_err("Digest realm=\"r\", nonce=\"n\"x"), DIGEST_E_MALFORMED);
	/* a CR LF inside a quoted value would be echoed into our request */
	assert_int_equal(parse_err("Digest realm=\"r\", nonce=\"a\r\nVia: x\""),
			DIGEST_E_MALFORMED);
	assert_int_equal(parse_err("Digest realm=\"r\", nonce=\"a\\\r\""),
			DIGEST_E_MALFORMED);
	/* RFC 7235: a parameter name occurs once */
	assert_int_equal(
			parse_err("Digest realm=r, nonce=a, nonce=b"), DIGEST_E_MALFORMED);
}

static void test_parse_not_digest(void **state)
{
	assert_int_equal(parse_err("Basic realm=\"r\""), DIGEST_E_NOT_DIGEST);
	assert_int_equal(parse_err("Basic"), DIGEST_E_NOT_DIGEST);
	assert_int_equal(
			parse_err("DigestX realm=r, nonce=n"), DIGEST_E_NOT_DIGEST);
	assert_int_equal(parse_err("Digesr realm=r, nonce=n"), DIGEST_E_NOT_DIGEST);
	assert_int_equal(parse_err(""), DIGEST_E_MALFORMED);
	assert_int_equal(
			parse_err("\"Digest\" realm=r, nonce=n"), DIGEST_E_MALFORMED);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_parse_field_bounds(void **state)
{
	char *at = repeat('a', DIGEST_MAX_FIELD);
	char *over = repeat('a', DIGEST_MAX_FIELD + 1);
	char hdr[1024];
	struct digest_challenge ch;

	snprintf(hdr, sizeof(hdr), "Digest realm=r, nonce=\"%s\"", at);
	ch = parse_ok(hdr);
	assert_int_equal(ch.nonce.len, DIGEST_MAX_FIELD);
	snprintf(hdr, sizeof(hdr), "Digest realm=r, nonce=\"%s\"", over);
	assert_int_equal(parse_err(hdr), DIGEST_E_TOO_LONG);
	snprintf(hdr, sizeof(hdr), "Digest realm=\"%s\", nonce=n", over);
	assert_int_equal(parse_err(hdr), DIGEST_E_TOO_LONG);
	snprintf(hdr, sizeof(hdr), "Digest realm=r, nonce=n, opaque=%s", over);
	assert_int_equal(parse_err(hdr), DIGEST_E_TOO_LONG);
	free(at);
	free(over);
}

/* DIGEST_MAX_HEADER bytes parse; one more is refused before any parsing */
static void test_parse_8k_header(void **state)
{
	const char *head = "Digest realm=\"r\", nonce=\"n\", x=\"";
	size_t len = DIGEST_MAX_HEADER;
	char *hdr = malloc(len + 2);
	struct digest_challenge ch;

	assert_non_null(hdr);
	memset(hdr, 'p', len + 1);
	memcpy(hdr, head, strlen(head));
	hdr[len - 1] = '"';
	hdr[len] = '\0';
	ch = parse_ok(hdr);
	assert_slice(ch.nonce, "n");

	hdr[len - 1] = 'p';
	hdr[len] = '"';
	hdr[len + 1] = '\0';
	assert_int_equal(parse_err(hdr), DIGEST_E_TOO_LONG);
	free(hdr);
}

/* fuzz_challenge crash: a realm of more than a block, at an odd offset,
 * sent SHA-256 unaligned words (UBSan: misaligned load in sha256.c) */
static void test_fuzz_long_realm_sha256(void **state)
{
	static const char crash[] =
			"Digest realm=\"http-auth@example"
			"\360\360\360\360\360\360\360\360\360\360\360\360\360\360\360\360"
			"\360\360\360\360\360\360\360\360\360\360\360\360\360\360\360\360"
			"\360\360\360\360\360\360\360\360\360\360\360\360\360\360\360\360"
			"\360\360\360\360\360\360\360\360\360\360\360\360\360\360\360\360"
			"\360\360\360\360\360\360\360\360\360\360\360\360\360\360\360\360"
			".oDigest\252\252s$ i\252\377, auth-int\", algorithm=SHA-256, "
			"nonce=\"7ypf/x5tdS\"";
	struct digest_challenge ch = parse_ok(crash);
	struct build_args a = {"fuzz", "Circle of Life", NULL, "REGISTER",
			"sip:sip.example.net", NULL, 1, "0a4f113b"};
	char realm[DIGEST_MAX_FIELD + 1];
	char ha1[65], ha2[65], expect[65], resp[80], out[1024];

	assert_int_equal(ch.alg, DIGEST_ALG_SHA256);
	assert_int_equal(ch.realm.len, 123);
	memcpy(realm, ch.realm.s, ch.realm.len);
	realm[ch.realm.len] = '\0';
	assert_true(build(&ch, &a, out, sizeof(out)) > 0);
	hash_join(&digest_hash_sha256, ha1, "fuzz", realm, "Circle of Life", NULL);
	hash_join(
			&digest_hash_sha256, ha2, "REGISTER", "sip:sip.example.net", NULL);
	hash_join(&digest_hash_sha256, expect, ha1, "7ypf/x5tdS", ha2, NULL);
	response_of(out, resp, sizeof(resp));
	assert_string_equal(resp, expect);
}

/* --- the builder's output ----------------------------------------------- */

static void test_output_too_small(void **state)
{
	struct digest_challenge ch =
			parse_ok("Digest realm=\"r\", nonce=\"n\", qop=auth, opaque=\"o\"");
	struct build_args a = {"u", "p", NULL, "REGISTER", "sip:r", NULL, 1, "c"};
	char full[512];
	char *exact;
	int n = build(&ch, &a, full, sizeof(full));
	size_t i;

	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(full));
	/* every size short of n + 1 fails, on the heap so ASan sees overruns */
	for(i = 0; i <= (size_t)n; i++) {
		exact = malloc(i ? i : 1);
		assert_non_null(exact);
		assert_int_equal(
				build(&ch, &a, i ? exact : NULL, i), DIGEST_E_TOO_LONG);
		free(exact);
	}
	exact = malloc(n + 1);
	assert_non_null(exact);
	assert_int_equal(build(&ch, &a, exact, n + 1), n);
	assert_string_equal(exact, full);
	free(exact);
}

static void test_output_escaping(void **state)
{
	struct digest_challenge ch = parse_ok("Digest realm=\"r\", nonce=\"n\"");
	struct build_args a = {
			"a\"b\\c", "p", NULL, "REGISTER", "sip:r", NULL, 1, "c"};
	char out[512];

	assert_true(build(&ch, &a, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "username=\"a\\\"b\\\\c\""));
	/* a CR LF from our own configuration must not split the header */
	a.user = "bob\r\nContact: <sip:evil>";
	assert_int_equal(build(&ch, &a, out, sizeof(out)), DIGEST_E_MALFORMED);
}

static void test_nc_format(void **state)
{
	struct digest_challenge ch = parse_ok("Digest realm=r, nonce=n, qop=auth");
	struct build_args a = {
			"u", "p", NULL, "REGISTER", "sip:r", NULL, 0x1a, "c"};
	char out[512];

	assert_true(build(&ch, &a, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, ", nc=0000001a"));
	a.nc = 0xffffffffu;
	assert_true(build(&ch, &a, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, ", nc=ffffffff"));
}

/* qop needs a cnonce: an empty one would be an answer no server checks */
static void test_missing_cnonce(void **state)
{
	struct digest_challenge ch = parse_ok("Digest realm=r, nonce=n, qop=auth");
	struct build_args a = {"u", "p", NULL, "REGISTER", "sip:r", NULL, 1, ""};
	char out[512];

	assert_int_equal(build(&ch, &a, out, sizeof(out)), DIGEST_E_MALFORMED);
	ch = parse_ok("Digest realm=r, nonce=n");
	assert_true(build(&ch, &a, out, sizeof(out)) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_hash_vectors_unaligned),
			cmocka_unit_test(test_rfc7616_sha256),
			cmocka_unit_test(test_rfc7616_md5),
			cmocka_unit_test(test_rfc2617),
			cmocka_unit_test(test_rfc2069_no_qop),
			cmocka_unit_test(test_ha1_equivalence),
			cmocka_unit_test(test_uppercase_ha1),
			cmocka_unit_test(test_wrong_ha1),
			cmocka_unit_test(test_no_secret),
			cmocka_unit_test(test_sess),
			cmocka_unit_test(test_sess_without_qop),
			cmocka_unit_test(test_auth_int),
			cmocka_unit_test(test_pick_qop),
			cmocka_unit_test(test_stronger),
			cmocka_unit_test(test_names_and_ha1_valid),
			cmocka_unit_test(test_parse_spacing_and_case),
			cmocka_unit_test(test_parse_algorithms),
			cmocka_unit_test(test_parse_qop),
			cmocka_unit_test(test_parse_stale),
			cmocka_unit_test(test_parse_opaque_and_unknown),
			cmocka_unit_test(test_parse_escapes_kept_raw),
			cmocka_unit_test(test_parse_missing_fields),
			cmocka_unit_test(test_parse_syntax_errors),
			cmocka_unit_test(test_parse_not_digest),
			cmocka_unit_test(test_parse_field_bounds),
			cmocka_unit_test(test_parse_8k_header),
			cmocka_unit_test(test_fuzz_long_realm_sha256),
			cmocka_unit_test(test_output_too_small),
			cmocka_unit_test(test_output_escaping),
			cmocka_unit_test(test_nc_format),
			cmocka_unit_test(test_missing_cnonce),
	};

	return cmocka_run_group_tests(tests, NULL, free_copies);
}
