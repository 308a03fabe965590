/*
 * Unit tests of row.c: validation of uacreg rows, their fingerprint, and
 * the column names.
 */
#include <stdio.h>

#include "unit.h"
#include "row.h"

/* a row as the glue builds it from a complete, valid uacreg row */
static struct row valid_row(void)
{
	struct row r;

	memset(&r, 0, sizeof(r));
	r.s[ROW_L_UUID] = UR_STR_LIT("trunk-1");
	r.s[ROW_L_USERNAME] = UR_STR_LIT("alice");
	r.s[ROW_L_DOMAIN] = UR_STR_LIT("pbx.example.com");
	r.s[ROW_R_USERNAME] = UR_STR_LIT("4420700000");
	r.s[ROW_R_DOMAIN] = UR_STR_LIT("sip.carrier.example");
	r.s[ROW_REALM] = UR_STR_LIT("carrier.example");
	r.s[ROW_AUTH_USERNAME] = UR_STR_LIT("4420700000");
	r.s[ROW_AUTH_PASSWORD] = UR_STR_LIT("s3cret");
	r.s[ROW_AUTH_HA1] = UR_STR_NULL;
	r.s[ROW_AUTH_PROXY] = UR_STR_LIT("sip:proxy.carrier.example:5060");
	r.s[ROW_CONTACT_ADDR] = UR_STR_LIT("192.0.2.10:5060");
	r.s[ROW_SOCKET] = UR_STR_LIT("udp:192.0.2.10:5060");
	r.expires = 3600;
	r.expires_bad = 0;
	r.flags = 0;
	r.reg_delay = 0;
	r.reauth_new_dialog = -1;
	r.fail_ceiling = -1;
	r.fail_count = 0;
	return r;
}

/* 0 when valid; else checks the exact reason */
static void expect_reason(const struct row *r, const char *reason)
{
	const char *why = "untouched";

	if(reason == NULL) {
		if(row_validate(r, &why) != 0)
			fail_msg("valid row refused: %s", why);
		assert_null(why);
		return;
	}
	assert_int_equal(row_validate(r, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

static const char *const mandatory_cols[] = {"l_uuid", "l_username", "l_domain",
		"r_username", "r_domain", "auth_username"};
static const enum row_str mandatory_ids[] = {ROW_L_UUID, ROW_L_USERNAME,
		ROW_L_DOMAIN, ROW_R_USERNAME, ROW_R_DOMAIN, ROW_AUTH_USERNAME};

static void test_valid_row_loads(void **state)
{
	struct row r = valid_row();

	expect_reason(&r, NULL);
	/* the reason pointer is optional */
	assert_int_equal(row_validate(&r, NULL), 0);
	/* ha1 instead of a password, MD5 or SHA-256 length, any case */
	r.s[ROW_AUTH_PASSWORD] = UR_STR_NULL;
	r.s[ROW_AUTH_HA1] = UR_STR_LIT("0123456789abcdef0123456789ABCDEF");
	expect_reason(&r, NULL);
	r.s[ROW_AUTH_HA1] = UR_STR_LIT(
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	expect_reason(&r, NULL);
	/* both credentials */
	r.s[ROW_AUTH_PASSWORD] = UR_STR_LIT("pw");
	expect_reason(&r, NULL);
	/* bounds that are still fine */
	r.expires = 1;
	expect_reason(&r, NULL);
	r.expires = 31536000;
	r.flags = 1;
	r.reg_delay = 30;
	r.reauth_new_dialog = 2;
	r.fail_ceiling = 0;
	r.fail_count = 12;
	expect_reason(&r, NULL);
	/* UTF-8 is not a control character */
	r.s[ROW_AUTH_PASSWORD] = UR_STR_LIT("p\xc3\xa4ss\xff");
	expect_reason(&r, NULL);
}

/* optional columns NULL or empty: friendlier than stock uac */
static void test_minimal_row_loads(void **state)
{
	struct row r = valid_row();
	enum row_str opt[] = {
			ROW_REALM, ROW_AUTH_PROXY, ROW_CONTACT_ADDR, ROW_SOCKET};
	size_t i;

	for(i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		r.s[opt[i]] = UR_STR_NULL;
	expect_reason(&r, NULL);
	for(i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		r.s[opt[i]] = UR_STR_LIT("");
	r.s[ROW_AUTH_HA1] = UR_STR_LIT("");
	expect_reason(&r, NULL);
}

static void test_missing_mandatory(void **state)
{
	char reason[64];
	size_t i;

	for(i = 0; i < sizeof(mandatory_ids) / sizeof(mandatory_ids[0]); i++) {
		struct row r = valid_row();
		snprintf(reason, sizeof(reason), "missing %s", mandatory_cols[i]);
		r.s[mandatory_ids[i]] = UR_STR_NULL;
		expect_reason(&r, reason);
		r.s[mandatory_ids[i]] = UR_STR_LIT("");
		expect_reason(&r, reason);
		/* a pointer with length 0 is empty too */
		r.s[mandatory_ids[i]] = (ur_str_t){"x", 0};
		expect_reason(&r, reason);
	}
}

static void test_neither_credential(void **state)
{
	struct row r = valid_row();

	r.s[ROW_AUTH_PASSWORD] = UR_STR_NULL;
	r.s[ROW_AUTH_HA1] = UR_STR_NULL;
	expect_reason(&r, "neither auth_password nor auth_ha1");
	r.s[ROW_AUTH_PASSWORD] = UR_STR_LIT("");
	r.s[ROW_AUTH_HA1] = UR_STR_LIT("");
	expect_reason(&r, "neither auth_password nor auth_ha1");
}

static void test_bad_ha1(void **state)
{
	const char *bad[] = {
			"0123456789abcdef0123456789abcde",	 /* 31 */
			"0123456789abcdef0123456789abcdef0", /* 33 */
			"0123456789abcdef0123456789abcdeg",	 /* not hex */
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
			"x",
	};
	size_t i;

	for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct row r = valid_row();
		r.s[ROW_AUTH_HA1] = ur_str_c(bad[i]);
		/* a password does not excuse a broken ha1 */
		expect_reason(&r, "auth_ha1 is not 32 or 64 hex digits");
		r.s[ROW_AUTH_PASSWORD] = UR_STR_NULL;
		expect_reason(&r, "auth_ha1 is not 32 or 64 hex digits");
	}
}

static void test_expires_not_a_number(void **state)
{
	struct row r = valid_row();

	r.expires_bad = 1;
	expect_reason(&r, "expires is not a number");
}

static void test_expires_out_of_range(void **state)
{
	struct row r = valid_row();

	r.expires = 0;
	expect_reason(&r, "expires is less than 1");
	r.expires = -5;
	expect_reason(&r, "expires is less than 1");
	r.expires = INT64_MIN;
	expect_reason(&r, "expires is less than 1");
	r.expires = 31536001;
	expect_reason(&r, "expires is more than 31536000");
	r.expires = INT64_MAX;
	expect_reason(&r, "expires is more than 31536000");
}

static void test_flags_negative(void **state)
{
	struct row r = valid_row();

	r.flags = -1;
	expect_reason(&r, "flags is negative");
	r.flags = 2147483648LL;
	expect_reason(&r, "flags is more than 2147483647");
}

static void test_reg_delay_negative(void **state)
{
	struct row r = valid_row();

	r.reg_delay = -1;
	expect_reason(&r, "reg_delay is negative");
	r.reg_delay = 2147483648LL;
	expect_reason(&r, "reg_delay is more than 2147483647");
}

static void test_reauth_new_dialog_bad(void **state)
{
	struct row r = valid_row();
	int64_t ok[] = {-1, 0, 1, 2};
	size_t i;

	for(i = 0; i < 4; i++) {
		r.reauth_new_dialog = ok[i];
		expect_reason(&r, NULL);
	}
	r.reauth_new_dialog = 3;
	expect_reason(&r, "reauth_new_dialog is not NULL, 0, 1 or 2");
	r.reauth_new_dialog = -2;
	expect_reason(&r, "reauth_new_dialog is not NULL, 0, 1 or 2");
}

static void test_fail_ceiling_negative(void **state)
{
	struct row r = valid_row();

	r.fail_ceiling = -1; /* NULL */
	expect_reason(&r, NULL);
	r.fail_ceiling = -2;
	expect_reason(&r, "fail_ceiling is negative");
	r.fail_ceiling = 2147483648LL;
	expect_reason(&r, "fail_ceiling is more than 2147483647");
}

static void test_fail_count_negative(void **state)
{
	struct row r = valid_row();

	r.fail_count = -1;
	expect_reason(&r, "fail_count is negative");
	r.fail_count = 2147483648LL;
	expect_reason(&r, "fail_count is more than 2147483647");
}

/* every string column: 255 characters pass, 256 do not */
static void test_too_long(void **state)
{
	char buf[ROW_MAX_STR + 2];
	char reason[80];
	int f;

	for(f = 0; f < ROW_STR_COUNT; f++) {
		struct row r = valid_row();
		/* 32 and 64 are the only lengths of a valid ha1, and 255 chars
		 * after "udp:" are a host name; so fill each column so that only
		 * its length can be wrong */
		if(f == ROW_AUTH_PROXY) {
			memset(buf, 'p', sizeof(buf));
			memcpy(buf, "sip:", 4);
		} else if(f == ROW_SOCKET) {
			memset(buf, 'h', sizeof(buf));
			memcpy(buf, "tcp:", 4);
		} else {
			memset(buf, 'a', sizeof(buf));
		}
		if(f != ROW_AUTH_HA1) {
			r.s[f] = (ur_str_t){buf, ROW_MAX_STR};
			expect_reason(&r, NULL);
		}
		r.s[f] = (ur_str_t){buf, ROW_MAX_STR + 1};
		snprintf(reason, sizeof(reason), "%s longer than 255 characters",
				row_str_name(f));
		expect_reason(&r, reason);
	}
}

/* every string column, every kind of control byte: NUL, CR and LF (header
 * injection into the REGISTER), TAB, ESC, DEL */
static void test_control_characters(void **state)
{
	const char bad[] = {'\0', '\r', '\n', '\t', 0x1b, 0x1f, 0x7f};
	char buf[64];
	char reason[80];
	size_t i, len;
	int f;

	for(f = 0; f < ROW_STR_COUNT; f++) {
		for(i = 0; i < sizeof(bad); i++) {
			struct row r = valid_row();
			if(f == ROW_AUTH_HA1) {
				/* a valid ha1 but for the one byte */
				memcpy(buf, "0123456789abcdef0123456789abcdef", 32);
				len = 32;
			} else {
				len = r.s[f].len;
				memcpy(buf, r.s[f].s, len);
			}
			/* at the end, as an injected header would be */
			buf[len - 1] = bad[i];
			r.s[f] = (ur_str_t){buf, len};
			snprintf(reason, sizeof(reason), "%s contains control characters",
					row_str_name(f));
			expect_reason(&r, reason);
			/* and at the start */
			buf[len - 1] = 'x';
			buf[0] = bad[i];
			expect_reason(&r, reason);
		}
	}
}

static void test_l_uuid_whitespace(void **state)
{
	struct row r = valid_row();

	r.s[ROW_L_UUID] = UR_STR_LIT("trunk 1");
	expect_reason(&r, "l_uuid contains whitespace");
	r.s[ROW_L_UUID] = UR_STR_LIT(" trunk1");
	expect_reason(&r, "l_uuid contains whitespace");
	/* a tab is refused already as a control character */
	r.s[ROW_L_UUID] = UR_STR_LIT("trunk\t1");
	expect_reason(&r, "l_uuid contains control characters");
	/* other columns may hold spaces (a password may) */
	r = valid_row();
	r.s[ROW_AUTH_PASSWORD] = UR_STR_LIT("pass phrase");
	expect_reason(&r, NULL);
}

static void test_auth_proxy_scheme(void **state)
{
	struct row r = valid_row();
	const char *good[] = {"sip:p.example", "SIP:p.example", "sips:p.example",
			"SiPs:p.example:5061", "sip:p.example;transport=tcp"};
	const char *bad[] = {"p.example", "tel:+4420", "sip", "sips", "sipp:x",
			"http://p.example", " sip:p.example"};
	size_t i;

	for(i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		r.s[ROW_AUTH_PROXY] = ur_str_c(good[i]);
		expect_reason(&r, NULL);
	}
	for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r.s[ROW_AUTH_PROXY] = ur_str_c(bad[i]);
		expect_reason(&r, "auth_proxy does not start with sip: or sips:");
	}
	r.s[ROW_AUTH_PROXY] = UR_STR_LIT("sip:");
	expect_reason(&r, "auth_proxy has nothing after sip:");
	r.s[ROW_AUTH_PROXY] = UR_STR_LIT("SIPS:");
	expect_reason(&r, "auth_proxy has nothing after sips:");
}

/* The columns that go on the wire follow SIP's grammar (RFC 3261 25.1):
 * a row that would put a malformed To, Contact or Request-URI on the wire
 * is skipped with its column and reason. */
static void test_wire_grammar(void **state)
{
	struct row r;
	size_t i;
	const struct
	{
		enum row_str f;
		const char *value;
		const char *reason; /* NULL = valid */
	} cases[] = {
			{ROW_R_USERNAME, "u>;tag=x",
					"r_username is not a SIP user part (RFC 3261 user: "
					"letters, digits, -_.!~*'()&=+$,;?/ and %HH escapes)"},
			{ROW_R_USERNAME, "a%2",
					"r_username is not a SIP user part (RFC 3261 user: "
					"letters, digits, -_.!~*'()&=+$,;?/ and %HH escapes)"},
			{ROW_R_USERNAME, "+44(20)7;isub=1%41", NULL},
			{ROW_R_USERNAME, "a b",
					"r_username is not a SIP user part (RFC 3261 user: "
					"letters, digits, -_.!~*'()&=+$,;?/ and %HH escapes)"},
			{ROW_R_USERNAME, "a@b",
					"r_username is not a SIP user part (RFC 3261 user: "
					"letters, digits, -_.!~*'()&=+$,;?/ and %HH escapes)"},
			{ROW_L_UUID, "line<1>",
					"l_uuid is not a SIP user part (it is our Contact's "
					"user) (RFC 3261 user: letters, digits, "
					"-_.!~*'()&=+$,;?/ and %HH escapes)"},
			{ROW_AUTH_USERNAME, "a\"b",
					"auth_username contains a double quote or a backslash"},
			{ROW_AUTH_USERNAME, "user@domain with space", NULL},
			{ROW_R_DOMAIN, "bad domain",
					"r_domain is not host[:port] (a name, IPv4 or [IPv6])"},
			{ROW_R_DOMAIN, "127.0.0.1:70000",
					"r_domain port is not a number from 1 to 65535"},
			{ROW_R_DOMAIN, "127.0.0.1:0",
					"r_domain port is not a number from 1 to 65535"},
			{ROW_R_DOMAIN, "127.0.0.1:",
					"r_domain port is not a number from 1 to 65535"},
			{ROW_R_DOMAIN, "x>;evil=1",
					"r_domain is not host[:port] (a name, IPv4 or [IPv6])"},
			{ROW_R_DOMAIN, "x;evil=1",
					"r_domain is not host[:port] (a name, IPv4 or [IPv6])"},
			{ROW_R_DOMAIN, "a..b",
					"r_domain is not host[:port] (a name, IPv4 or [IPv6])"},
			{ROW_R_DOMAIN, "-a.b",
					"r_domain is not host[:port] (a name, IPv4 or [IPv6])"},
			{ROW_R_DOMAIN, "sip.carrier-1.example.:5060", NULL},
			{ROW_R_DOMAIN, "[2001:db8::1]:5060", NULL},
			{ROW_R_DOMAIN, "_sip._udp.example", NULL},
			{ROW_R_DOMAIN, "127.0.0.1:65535", NULL},
			{ROW_AUTH_PROXY, "sip:not a host::::",
					"auth_proxy is not sip:[user@]host[:port][;params]"},
			{ROW_AUTH_PROXY, "sip:p.example:99999",
					"auth_proxy port is not a number from 1 to 65535"},
			{ROW_AUTH_PROXY, "sip:p.example;lr;;",
					"auth_proxy parameters are not ;name[=value]"},
			{ROW_AUTH_PROXY, "sip:u>@p.example",
					"auth_proxy user part is not a SIP user"},
			{ROW_AUTH_PROXY, "sip:u:pw@p.example:5060;transport=tcp;lr", NULL},
			{ROW_AUTH_PROXY, "sips:[::1]:5061", NULL},
			{ROW_CONTACT_ADDR, "x y>;;<",
					"contact_addr is not host[:port][;params]"},
			{ROW_CONTACT_ADDR, "sip:127.0.0.1:5060",
					"contact_addr is host[:port][;params], without sip:"},
			{ROW_CONTACT_ADDR, "10.0.0.1:5060;transport=tcp", NULL},
			{ROW_CONTACT_ADDR, "10.0.0.1;x=",
					"contact_addr parameters are not ;name[=value]"},
			{ROW_CONTACT_ADDR, "10.0.0.1:123456",
					"contact_addr port is not a number from 1 to 65535"},
	};

	for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = valid_row();
		r.s[cases[i].f] = ur_str_c(cases[i].value);
		expect_reason(&r, cases[i].reason);
	}
}

static void test_socket_form(void **state)
{
	struct row r = valid_row();
	const struct
	{
		const char *socket;
		const char *reason; /* NULL = valid */
	} cases[] = {
			{"udp:192.0.2.1:5060", NULL},
			{"UDP:192.0.2.1", NULL},
			{"tcp:sbc.example.com:5060", NULL},
			{"tls:sbc_1.example:5061", NULL},
			{"SCTP:10.0.0.1:1", NULL},
			{"udp:[2001:db8::1]:5060", NULL},
			{"tcp:[::ffff:192.0.2.1]", NULL},
			{"udp:h:65535", NULL},
			{"192.0.2.1:5060", "socket protocol is not udp, tcp, tls or sctp"},
			{"ws:192.0.2.1:80", "socket protocol is not udp, tcp, tls or sctp"},
			{"udpx:192.0.2.1", "socket protocol is not udp, tcp, tls or sctp"},
			{":192.0.2.1", "socket protocol is not udp, tcp, tls or sctp"},
			{"udp", "socket is not proto:host[:port]"},
			{"192.0.2.1", "socket is not proto:host[:port]"},
			{"udp:", "socket has no host"},
			{"udp::5060", "socket has no host"},
			{"udp:bad host", "socket host is not a name or IP address"},
			{"udp:a/b", "socket host is not a name or IP address"},
			{"udp:[]", "socket host is not a name or IP address"},
			{"udp:[2001:db8::1", "socket host is not a name or IP address"},
			{"udp:[2001:db8::g]", "socket host is not a name or IP address"},
			{"udp:[192.0.2.1]", "socket host is not a name or IP address"},
			{"udp:[::1]5060", "socket host is not a name or IP address"},
			{"udp:h:", "socket port is not a number from 1 to 65535"},
			{"udp:h:0", "socket port is not a number from 1 to 65535"},
			{"udp:h:65536", "socket port is not a number from 1 to 65535"},
			{"udp:h:123456", "socket port is not a number from 1 to 65535"},
			{"udp:h:50x0", "socket port is not a number from 1 to 65535"},
			{"udp:h:5060:1", "socket port is not a number from 1 to 65535"},
			{"udp:[::1]:", "socket port is not a number from 1 to 65535"},
	};
	size_t i;

	for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r.s[ROW_SOCKET] = ur_str_c(cases[i].socket);
		expect_reason(&r, cases[i].reason);
	}
}

/* fingerprint */

/* a changed copy of each column's value, with the same length */
static void test_fingerprint_follows_registration_fields(void **state)
{
	const enum row_str reg[] = {ROW_L_USERNAME, ROW_L_DOMAIN, ROW_R_USERNAME,
			ROW_R_DOMAIN, ROW_REALM, ROW_AUTH_USERNAME, ROW_AUTH_PASSWORD,
			ROW_AUTH_HA1, ROW_AUTH_PROXY, ROW_CONTACT_ADDR, ROW_SOCKET};
	struct row base = valid_row();
	uint64_t fp;
	char buf[300];
	size_t i;

	base.s[ROW_AUTH_HA1] = UR_STR_LIT("0123456789abcdef0123456789abcdef");
	fp = row_reg_fingerprint(&base);
	/* deterministic */
	assert_true(row_reg_fingerprint(&base) == fp);
	for(i = 0; i < sizeof(reg) / sizeof(reg[0]); i++) {
		struct row r = base;
		/* one byte changed */
		memcpy(buf, r.s[reg[i]].s, r.s[reg[i]].len);
		buf[r.s[reg[i]].len - 1] ^= 1;
		r.s[reg[i]] = (ur_str_t){buf, base.s[reg[i]].len};
		assert_true(row_reg_fingerprint(&r) != fp);
		/* one byte longer */
		buf[r.s[reg[i]].len - 1] ^= 1;
		buf[r.s[reg[i]].len] = 'z';
		r.s[reg[i]].len++;
		assert_true(row_reg_fingerprint(&r) != fp);
		/* NULL */
		r.s[reg[i]] = UR_STR_NULL;
		assert_true(row_reg_fingerprint(&r) != fp);
		/* the same bytes elsewhere in memory: the same fingerprint */
		memcpy(buf, base.s[reg[i]].s, base.s[reg[i]].len);
		r.s[reg[i]] = (ur_str_t){buf, base.s[reg[i]].len};
		assert_true(row_reg_fingerprint(&r) == fp);
	}
	{
		struct row r = base;
		r.expires = 3601;
		assert_true(row_reg_fingerprint(&r) != fp);
		r.expires = 3600 + (1LL << 32);
		assert_true(row_reg_fingerprint(&r) != fp);
	}
}

static void test_fingerprint_ignores_other_fields(void **state)
{
	struct row base = valid_row();
	struct row r = base;
	uint64_t fp = row_reg_fingerprint(&base);

	r.s[ROW_L_UUID] = UR_STR_LIT("another-uuid");
	r.flags = 1;
	r.reg_delay = 99;
	r.reauth_new_dialog = 2;
	r.fail_ceiling = 5;
	r.fail_count = 4;
	assert_true(row_reg_fingerprint(&r) == fp);
	r.s[ROW_L_UUID] = UR_STR_NULL;
	assert_true(row_reg_fingerprint(&r) == fp);
}

static void test_fingerprint_null_differs_from_empty(void **state)
{
	const enum row_str opt[] = {ROW_REALM, ROW_AUTH_PASSWORD, ROW_AUTH_HA1,
			ROW_AUTH_PROXY, ROW_CONTACT_ADDR, ROW_SOCKET};
	size_t i;

	for(i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		struct row a = valid_row(), b = valid_row();
		a.s[opt[i]] = UR_STR_NULL;
		b.s[opt[i]] = UR_STR_LIT("");
		assert_true(row_reg_fingerprint(&a) != row_reg_fingerprint(&b));
		/* a NULL pointer is NULL whatever its length says */
		b.s[opt[i]] = (ur_str_t){NULL, 7};
		assert_true(row_reg_fingerprint(&a) == row_reg_fingerprint(&b));
	}
}

static void test_fingerprint_separates_fields(void **state)
{
	struct row a = valid_row(), b = valid_row();

	a.s[ROW_L_USERNAME] = UR_STR_LIT("ab");
	a.s[ROW_L_DOMAIN] = UR_STR_LIT("c");
	b.s[ROW_L_USERNAME] = UR_STR_LIT("a");
	b.s[ROW_L_DOMAIN] = UR_STR_LIT("bc");
	assert_true(row_reg_fingerprint(&a) != row_reg_fingerprint(&b));
	/* the same with bytes that look like a field boundary (validation
	 * refuses them, the fingerprint does not rely on that) */
	a.s[ROW_L_USERNAME] = (ur_str_t){"a\x01", 2};
	a.s[ROW_L_DOMAIN] = UR_STR_LIT("b");
	b.s[ROW_L_USERNAME] = UR_STR_LIT("a");
	b.s[ROW_L_DOMAIN] = (ur_str_t){"\x01"
								   "b",
			2};
	assert_true(row_reg_fingerprint(&a) != row_reg_fingerprint(&b));
	a.s[ROW_L_USERNAME] = (ur_str_t){"a\0", 2};
	b.s[ROW_L_DOMAIN] = (ur_str_t){"\0b", 2};
	assert_true(row_reg_fingerprint(&a) != row_reg_fingerprint(&b));
	/* a value moving across a NULL neighbour */
	a = valid_row();
	b = valid_row();
	a.s[ROW_REALM] = UR_STR_NULL;
	a.s[ROW_AUTH_USERNAME] = UR_STR_LIT("xy");
	b.s[ROW_REALM] = UR_STR_LIT("xy");
	b.s[ROW_AUTH_USERNAME] = UR_STR_NULL;
	assert_true(row_reg_fingerprint(&a) != row_reg_fingerprint(&b));
	/* a value moving between an empty and a set neighbour */
	a.s[ROW_REALM] = UR_STR_LIT("");
	b.s[ROW_AUTH_USERNAME] = UR_STR_LIT("");
	assert_true(row_reg_fingerprint(&a) != row_reg_fingerprint(&b));
}

static void test_column_names(void **state)
{
	const char *names[ROW_STR_COUNT] = {"l_uuid", "l_username", "l_domain",
			"r_username", "r_domain", "realm", "auth_username", "auth_password",
			"auth_ha1", "auth_proxy", "contact_addr", "socket"};
	int f;

	for(f = 0; f < ROW_STR_COUNT; f++)
		assert_string_equal(row_str_name(f), names[f]);
	assert_non_null(row_str_name(ROW_STR_COUNT));
	assert_non_null(row_str_name((enum row_str) - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_valid_row_loads),
			cmocka_unit_test(test_minimal_row_loads),
			cmocka_unit_test(test_missing_mandatory),
			cmocka_unit_test(test_neither_credential),
			cmocka_unit_test(test_bad_ha1),
			cmocka_unit_test(test_expires_not_a_number),
			cmocka_unit_test(test_expires_out_of_range),
			cmocka_unit_test(test_flags_negative),
			cmocka_unit_test(test_reg_delay_negative),
			cmocka_unit_test(test_reauth_new_dialog_bad),
			cmocka_unit_test(test_fail_ceiling_negative),
			cmocka_unit_test(test_fail_count_negative),
			cmocka_unit_test(test_too_long),
			cmocka_unit_test(test_control_characters),
			cmocka_unit_test(test_l_uuid_whitespace),
			cmocka_unit_test(test_auth_proxy_scheme),
			cmocka_unit_test(test_wire_grammar),
			cmocka_unit_test(test_socket_form),
			cmocka_unit_test(test_fingerprint_follows_registration_fields),
			cmocka_unit_test(test_fingerprint_ignores_other_fields),
			cmocka_unit_test(test_fingerprint_null_differs_from_empty),
			cmocka_unit_test(test_fingerprint_separates_fields),
			cmocka_unit_test(test_column_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
