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
 * reply_scan(): what the reply callback reads from a reply to our REGISTER,
 * on replies as carriers send them.
 */
#include <stdio.h>

#include "unit.h"
#include "reply_scan.h"

#define OURS "sip:b000042@10.0.0.1:5060"

static int calls;

/* the glue compares as RFC 3261 19.1.4 says; here the same bytes */
static int is_ours(ur_str_t uri, void *arg)
{
	const char *o = arg;

	calls++;
	return uri.len == strlen(o) && memcmp(uri.s, o, uri.len) == 0;
}

static int scan(const char *msg, struct reply_scan *sc)
{
	calls = 0;
	return reply_scan(msg, strlen(msg), is_ours, (void *)OURS, sc);
}

static int body_is(ur_str_t b, const char *want)
{
	return b.len == strlen(want) && memcmp(b.s, want, b.len) == 0;
}

/* a registrar that keeps several bindings of the AOR: ours is the last
 * one, in its own header, after a comma list in the compact form */
static void test_several_contacts_ours_last(void **state)
{
	struct reply_scan sc;
	const char *msg = "SIP/2.0 200 OK\r\n"
					  "Via: SIP/2.0/UDP "
					  "10.0.0.1:5060;branch=z9hG4bKabc;received=1.2.3.4\r\n"
					  "From: <sip:b000042@carrier.example>;tag=1\r\n"
					  "To: <sip:b000042@carrier.example>;tag=as5\r\n"
					  "Call-ID: 0123-uacreg\r\nCSeq: 3 REGISTER\r\n"
					  "m: <sip:b000042@192.168.1.9:5060>;expires=120, "
					  "\"Old SBC, 2nd\" "
					  "<sip:b000042@10.0.0.1:5070;transport=udp>;expires=30\r\n"
					  "Contact: "
					  "<sip:b000042@10.0.0.1:5060>;q=0.5;EXPIRES=1800;+sip."
					  "instance=\"<urn:x>\"\r\n"
					  "Expires: 3600\r\nContent-Length: 0\r\n\r\n";

	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.listed, 1);
	assert_int_equal(sc.granted, 1800);
	assert_int_equal(sc.expires, 3600);
	assert_int_equal(sc.contacts, 3);
	assert_int_equal(calls, 3);
	assert_int_equal(sc.n_ch, 0);
	assert_int_equal(sc.min_expires, -1);
	assert_int_equal(sc.retry_after, -1);
}

/* ours without an expires parameter: the Expires header, even after it */
static void test_ours_without_param_takes_expires_header(void **state)
{
	struct reply_scan sc;
	const char *msg = "SIP/2.0 200 OK\r\n"
					  "contact: sip:b000042@10.0.0.1:5060;q=1\r\n"
					  "EXPIRES: 600\r\n\r\n";

	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.listed, 1);
	assert_int_equal(sc.granted, 600);
}

/* another binding with our user part is not ours */
static void test_not_listed(void **state)
{
	struct reply_scan sc;
	const char *msg = "SIP/2.0 200 OK\r\n"
					  "Contact: <sip:b000042@10.0.0.2:5060>;expires=60\r\n"
					  "Expires: 90\r\n\r\n";

	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.listed, 0);
	assert_int_equal(sc.granted, 90);
	msg = "SIP/2.0 200 OK\r\nContact: "
		  "<sip:b000042@10.0.0.2:5060>;expires=60\r\n\r\n";
	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.listed, 0);
	assert_int_equal(sc.granted, -1);
}

/* folded lines, spaces around the colon, bare LF, tabs */
static void test_folding_and_line_ends(void **state)
{
	struct reply_scan sc;
	const char *msg = "SIP/2.0 200 OK\n"
					  "Contact : <sip:b000042@192.168.1.9>;expires=5,\n"
					  "\t<sip:b000042@10.0.0.1:5060>\r\n"
					  "   ;expires=77\n"
					  "Expires:\r\n 3600\n"
					  "\n"
					  "Contact: <sip:b000042@10.0.0.1:5060>;expires=1\r\n";

	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.listed, 1);
	assert_int_equal(sc.granted, 77);
	assert_int_equal(sc.expires, 3600);
	/* the body is not read */
	assert_int_equal(sc.contacts, 2);
}

/* quoted strings hide commas, '<', ';' and '>' */
static void test_quoted_strings(void **state)
{
	struct reply_scan sc;
	const char *msg = "SIP/2.0 200 OK\r\n"
					  "Contact: \"a, <b>; \\\"c\\\"\" "
					  "<sip:x@1.1.1.1>;reason=\"x,y;z>\";expires=10,"
					  " <sip:b000042@10.0.0.1:5060>;expires=\"20\"\r\n"
					  "Expires: 30\r\n\r\n";

	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.contacts, 2);
	assert_int_equal(sc.listed, 1);
	/* a quoted expires is not delta-seconds: the Expires header */
	assert_int_equal(sc.granted, 30);
}

/* a Contact header that does not parse is not read (as parse_contact()
 * refused it); a later one is */
static void test_broken_contact_header_skipped(void **state)
{
	struct reply_scan sc;
	const char *msg = "SIP/2.0 200 OK\r\n"
					  "Contact: <sip:b000042@10.0.0.1:5060>;expires=11 junk\r\n"
					  "Contact: <sip:b000042@10.0.0.1:5060;expires=12\r\n"
					  "Contact: \"unterminated <sip:b000042@10.0.0.1:5060>\r\n"
					  "Expires: 40\r\n\r\n";

	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.listed, 0);
	assert_int_equal(sc.granted, 40);
	msg = "SIP/2.0 200 OK\r\n"
		  "Contact: <sip:b000042@10.0.0.1:5060>;expires=11 junk\r\n"
		  "m: <sip:b000042@10.0.0.1:5060>;expires=13\r\n\r\n";
	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.listed, 1);
	assert_int_equal(sc.granted, 13);
}

/* the first of ours wins; expires out of range or not digits: the header */
static void test_first_ours_and_bad_params(void **state)
{
	struct reply_scan sc;
	const char *msg =
			"SIP/2.0 200 OK\r\n"
			"Contact: <sip:b000042@10.0.0.1:5060>;expires=4294967296\r\n"
			"Contact: <sip:b000042@10.0.0.1:5060>;expires=50\r\n"
			"Expires: 999999999999\r\n\r\n";

	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.listed, 1);
	assert_int_equal(sc.granted, UINT32_MAX);
	assert_int_equal(sc.expires, UINT32_MAX);
	msg = "SIP/2.0 200 OK\r\nContact: "
		  "<sip:b000042@10.0.0.1:5060>;expires=4294967295\r\n\r\n";
	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.granted, 4294967295LL);
	msg = "SIP/2.0 200 OK\r\nContact: *\r\nContact: "
		  "<sip:b000042@10.0.0.1:5060>;expires=\r\n\r\n";
	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.listed, 1);
	assert_int_equal(sc.granted, -1);
}

/* every challenge, its kind kept, names in any case */
static void test_challenges(void **state)
{
	struct reply_scan sc;
	const char *msg =
			"SIP/2.0 401 Unauthorized\r\n"
			"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc\r\n"
			"www-authenticate: Digest realm=\"carrier\", nonce=\"n1\", "
			"algorithm=SHA-256, qop=\"auth\"\r\n"
			"WWW-Authenticate: Digest realm=\"carrier\",\r\n nonce=\"n2\", "
			"algorithm=MD5\r\n"
			"PROXY-AUTHENTICATE:Digest realm=\"edge\", nonce=\"p1\"\r\n"
			"Contact: <sip:b000042@10.0.0.1:5060>;expires=1\r\n"
			"Content-Length: 0\r\n\r\n";

	assert_int_equal(reply_scan(msg, strlen(msg), NULL, NULL, &sc), 0);
	assert_int_equal(sc.n_ch, 3);
	assert_int_equal(sc.ch[0].kind, RSCAN_CH_WWW);
	assert_true(body_is(sc.ch[0].body,
			"Digest realm=\"carrier\", nonce=\"n1\", algorithm=SHA-256, "
			"qop=\"auth\""));
	assert_int_equal(sc.ch[1].kind, RSCAN_CH_WWW);
	assert_true(body_is(sc.ch[1].body,
			"Digest realm=\"carrier\",\r\n nonce=\"n2\", algorithm=MD5"));
	assert_int_equal(sc.ch[2].kind, RSCAN_CH_PROXY);
	assert_true(body_is(sc.ch[2].body, "Digest realm=\"edge\", nonce=\"p1\""));
	/* no ours: Contacts are not read */
	assert_int_equal(sc.contacts, 0);
	assert_int_equal(sc.listed, 0);
}

static void test_min_expires_retry_after(void **state)
{
	struct reply_scan sc;
	const char *msg = "SIP/2.0 423 Interval Too Brief\r\n"
					  "Min-Expires: 60\r\n"
					  "Retry-After: 120 (maintenance);duration=3600\r\n"
					  "Min-Expires:  3600\r\n\r\n";

	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.min_expires, 3600); /* the last one */
	assert_int_equal(sc.retry_after, 120);
	assert_int_equal(sc.expires, -1);
	msg = "SIP/2.0 503 Busy\r\nRetry-After: soon\r\n\r\n";
	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.retry_after, 0);
	/* names that only start like ours */
	msg = "SIP/2.0 200 OK\r\nExpiresX: 5\r\nMin-Expires-Ext: 7\r\nmm: "
		  "<sip:b000042@10.0.0.1:5060>\r\n\r\n";
	assert_int_equal(scan(msg, &sc), 0);
	assert_int_equal(sc.expires, -1);
	assert_int_equal(sc.min_expires, -1);
	assert_int_equal(sc.contacts, 0);
}

static void test_malformed(void **state)
{
	struct reply_scan sc;

	assert_int_equal(
			scan("SIP/2.0 200 OK\r\nVia SIP/2.0/UDP x\r\n\r\n", &sc), -1);
	assert_int_equal(sc.malformed, 1);
	assert_int_equal(scan("SIP/2.0 200 OK\r\n: empty name\r\n\r\n", &sc), -1);
	assert_int_equal(scan("SIP/2.0 200 OK\r\nExpires", &sc), -1);
	/* no empty line: the headers end with the buffer */
	assert_int_equal(scan("SIP/2.0 200 OK\r\nExpires: 5", &sc), 0);
	assert_int_equal(sc.expires, 5);
	assert_int_equal(scan("SIP/2.0 200 OK", &sc), 0);
	assert_int_equal(sc.granted, -1);
	assert_int_equal(reply_scan(NULL, 0, NULL, NULL, &sc), 0);
}

/* hostile lengths: a long URI, thousands of Contacts, too many challenges */
static void test_hostile_lengths(void **state)
{
	struct reply_scan sc;
	size_t cap = 1 << 20, n = 0;
	char *msg = malloc(cap);
	int i;

	assert_non_null(msg);
	n += sprintf(msg + n, "SIP/2.0 401 Unauthorized\r\nContact: <sip:");
	memset(msg + n, 'a', 100000);
	n += 100000;
	n += sprintf(msg + n, "@x>;expires=1\r\nContact: ");
	for(i = 0; i < 5000; i++)
		n += sprintf(msg + n, "%s<sip:u%d@h>;expires=%d", i ? "," : "", i, i);
	n += sprintf(msg + n, ",<%s>;expires=4242\r\n", OURS);
	for(i = 0; i < 100; i++)
		n += sprintf(msg + n,
				"WWW-Authenticate: Digest realm=\"r\", nonce=\"%d\"\r\n", i);
	n += sprintf(msg + n, "Expires: 5\r\n\r\n");
	assert_true(n < cap);
	calls = 0;
	assert_int_equal(reply_scan(msg, n, is_ours, (void *)OURS, &sc), 0);
	assert_int_equal(sc.contacts, 5002);
	assert_int_equal(sc.listed, 1);
	assert_int_equal(sc.granted, 4242);
	assert_int_equal(sc.n_ch, RSCAN_MAX_CH);
	assert_int_equal(sc.ch_over, 100 - RSCAN_MAX_CH);
	/* cut anywhere: never a read beyond (ASan watches) */
	for(i = 0; i < 4000; i += 7) {
		char *cut = malloc((size_t)i + 1);
		memcpy(cut, msg, (size_t)i);
		reply_scan(cut, (size_t)i, is_ours, (void *)OURS, &sc);
		free(cut);
	}
	free(msg);
}

static void test_rscan_uint(void **state)
{
	assert_int_equal(rscan_uint(UR_STR_LIT(" \t3600;x")), 3600);
	assert_int_equal(rscan_uint(UR_STR_LIT("")), 0);
	assert_int_equal(rscan_uint(UR_STR_LIT("99999999999999")), UINT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_several_contacts_ours_last),
			cmocka_unit_test(test_ours_without_param_takes_expires_header),
			cmocka_unit_test(test_not_listed),
			cmocka_unit_test(test_folding_and_line_ends),
			cmocka_unit_test(test_quoted_strings),
			cmocka_unit_test(test_broken_contact_header_skipped),
			cmocka_unit_test(test_first_ours_and_bad_params),
			cmocka_unit_test(test_challenges),
			cmocka_unit_test(test_min_expires_retry_after),
			cmocka_unit_test(test_malformed),
			cmocka_unit_test(test_hostile_lengths),
			cmocka_unit_test(test_rscan_uint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
