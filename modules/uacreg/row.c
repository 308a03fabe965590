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
 * uacreg - one row of the uacreg table, validated.
 *
 * The rules are those of the stock uac module (5.6.3) with a few friendlier
 * ones (realm, auth_proxy, contact_addr and socket may be NULL) and a few
 * stricter ones that keep a row from breaking the REGISTER it becomes: no
 * control characters (a CR/LF in a column would inject a header), bounded
 * lengths, integers within what the line record stores.
 *
 * Every reason is a static string naming the column, so the glue can log it
 * with the l_uuid without formatting or allocating.
 */

#include <stdint.h>
#include <string.h>

#include "digest.h"
#include "row.h"

#define ROW_XSTR(x) #x
#define ROW_STR(x) ROW_XSTR(x)

/* upper bound of expires: one year, as any sane registrar grants less */
#define ROW_MAX_EXPIRES 31536000
/* integer columns are SQL INT; the line record keeps them in 32 bits */
#define ROW_MAX_INT 2147483647

/* per string column: its name and the reasons that name it */
struct row_col
{
	const char *name;
	int mandatory;
	const char *missing;
	const char *too_long;
	const char *control;
};

#define ROW_COL(name, mandatory)                                         \
	{                                                                    \
		name, mandatory, "missing " name,                                \
				name " longer than " ROW_STR(ROW_MAX_STR) " characters", \
				name " contains control characters"                      \
	}

static const struct row_col row_cols[ROW_STR_COUNT] = {
		[ROW_L_UUID] = ROW_COL("l_uuid", 1),
		[ROW_L_USERNAME] = ROW_COL("l_username", 1),
		[ROW_L_DOMAIN] = ROW_COL("l_domain", 1),
		[ROW_R_USERNAME] = ROW_COL("r_username", 1),
		[ROW_R_DOMAIN] = ROW_COL("r_domain", 1),
		[ROW_REALM] = ROW_COL("realm", 0),
		[ROW_AUTH_USERNAME] = ROW_COL("auth_username", 1),
		/* one of the two credentials is checked below */
		[ROW_AUTH_PASSWORD] = ROW_COL("auth_password", 0),
		[ROW_AUTH_HA1] = ROW_COL("auth_ha1", 0),
		[ROW_AUTH_PROXY] = ROW_COL("auth_proxy", 0),
		[ROW_CONTACT_ADDR] = ROW_COL("contact_addr", 0),
		[ROW_SOCKET] = ROW_COL("socket", 0),
};

const char *row_str_name(enum row_str f)
{
	if((unsigned)f >= ROW_STR_COUNT)
		return "unknown column";
	return row_cols[f].name;
}

/* length of a column, 0 for SQL NULL */
static inline size_t row_len(const struct row *r, enum row_str f)
{
	return r->s[f].s ? r->s[f].len : 0;
}

static int row_has_control(const char *s, size_t len)
{
	size_t i;
	unsigned char c;

	for(i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if(c < 0x20 || c == 0x7f)
			return 1;
	}
	return 0;
}

static inline char row_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* 1 when s starts with lit (ASCII, any case) */
static int row_prefix_icase(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	size_t i;

	if(len < n)
		return 0;
	for(i = 0; i < n; i++) {
		if(row_lower(s[i]) != lit[i])
			return 0;
	}
	return 1;
}

static int row_eq_icase(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && row_prefix_icase(s, len, lit);
}

static inline int row_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline int row_is_hex(char c)
{
	return row_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline int row_is_name_char(char c)
{
	return row_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		   || c == '-' || c == '.' || c == '_';
}

/* reasons of the socket column */
#define ROW_SOCK_FORM "socket is not proto:host[:port]"
#define ROW_SOCK_PROTO "socket protocol is not udp, tcp, tls or sctp"
#define ROW_SOCK_NO_HOST "socket has no host"
#define ROW_SOCK_HOST "socket host is not a name or IP address"
#define ROW_SOCK_PORT "socket port is not a number from 1 to 65535"

/*
 * The socket column as Kamailio's uac module takes it: proto:host[:port],
 * host a name, an IPv4 address or a bracketed IPv6 address. Only the form
 * is checked here; the glue checks that Kamailio listens there.
 */
static const char *row_check_socket(const char *s, size_t len)
{
	const char *colon, *end = s + len, *p, *host;
	uint32_t port;
	int have_colon = 0;

	colon = memchr(s, ':', len);
	if(colon == NULL)
		return ROW_SOCK_FORM;
	if(!row_eq_icase(s, colon - s, "udp") && !row_eq_icase(s, colon - s, "tcp")
			&& !row_eq_icase(s, colon - s, "tls")
			&& !row_eq_icase(s, colon - s, "sctp"))
		return ROW_SOCK_PROTO;
	p = host = colon + 1;
	if(p == end || *p == ':')
		return ROW_SOCK_NO_HOST;
	if(*p == '[') {
		/* [IPv6]: hex digits, colons (at least one), dots for a v4 tail */
		for(p++; p < end && *p != ']'; p++) {
			if(*p == ':')
				have_colon = 1;
			else if(!row_is_hex(*p) && *p != '.')
				return ROW_SOCK_HOST;
		}
		if(p == end || !have_colon)
			return ROW_SOCK_HOST;
		p++; /* the ']' */
	} else {
		while(p < end && *p != ':') {
			if(!row_is_name_char(*p))
				return ROW_SOCK_HOST;
			p++;
		}
	}
	if(p == end)
		return NULL;
	if(*p != ':')
		return ROW_SOCK_HOST;
	/* port: 1 to 5 digits, 1..65535 */
	p++;
	if(p == end || end - p > 5)
		return ROW_SOCK_PORT;
	for(port = 0; p < end; p++) {
		if(!row_is_digit(*p))
			return ROW_SOCK_PORT;
		port = port * 10 + (uint32_t)(*p - '0');
	}
	if(port < 1 || port > 65535)
		return ROW_SOCK_PORT;
	return NULL;
}

/* RFC 3261 25.1: user = 1*( unreserved / escaped / user-unreserved ) */
static int row_is_user_char(char c)
{
	return row_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		   || (c != '\0' && strchr("-_.!~*'()&=+$,;?/", c) != NULL);
}

/* RFC 3261 25.1: paramchar = param-unreserved / unreserved / escaped */
static int row_is_param_char(char c)
{
	return row_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		   || (c != '\0' && strchr("-_.!~*'()[]/:&+$", c) != NULL);
}

/* 1 when [s, end) is a user part: allowed characters and %HH escapes */
static int row_user_ok(const char *s, const char *end)
{
	if(s == end)
		return 0;
	for(; s < end; s++) {
		if(*s == '%') {
			if(end - s < 3 || !row_is_hex(s[1]) || !row_is_hex(s[2]))
				return 0;
			s += 2;
		} else if(!row_is_user_char(*s)) {
			return 0;
		}
	}
	return 1;
}

/* what is wrong with a host[:port][;params] (row_hostport()) */
enum row_hp
{
	ROW_HP_OK = 0,
	ROW_HP_HOST,
	ROW_HP_PORT,
	ROW_HP_PARAMS
};

/* The host of a SIP URI (RFC 3261 25.1 host): a name of labels of letters,
 * digits and '-' (and '_', which DNS names of real carriers hold), an IPv4
 * address, or an IPv6 reference in brackets. Returns where it ends, NULL
 * when it is not a host. */
static const char *row_host_end(const char *p, const char *end)
{
	const char *start = p;
	int have_colon = 0;

	if(p < end && *p == '[') {
		for(p++; p < end && *p != ']'; p++) {
			if(*p == ':')
				have_colon = 1;
			else if(!row_is_hex(*p) && *p != '.')
				return NULL;
		}
		return p < end && have_colon ? p + 1 : NULL;
	}
	for(; p < end && (row_is_name_char(*p)); p++) {
		/* no empty label, no label that starts with '-' */
		if(*p == '.' && (p == start || p[-1] == '.'))
			return NULL;
		if(*p == '-' && (p == start || p[-1] == '.'))
			return NULL;
	}
	return p == start ? NULL : p;
}

/* host[:port] and, when params, [;name[=value]]*. */
static enum row_hp row_hostport(const char *s, size_t len, int params)
{
	const char *p, *end = s + len, *digits;
	uint32_t port = 0;

	p = row_host_end(s, end);
	if(p == NULL)
		return ROW_HP_HOST;
	if(p < end && *p == ':') {
		digits = ++p;
		for(; p < end && row_is_digit(*p) && p - digits < 6; p++)
			port = port * 10 + (uint32_t)(*p - '0');
		if(p == digits || p - digits > 5 || port < 1 || port > 65535
				|| (p < end && row_is_digit(*p)))
			return ROW_HP_PORT;
	}
	if(p == end)
		return ROW_HP_OK;
	if(*p != ';')
		return ROW_HP_HOST;
	if(!params)
		return ROW_HP_PARAMS;
	while(p < end) {
		/* ;name[=value], name and value non-empty */
		if(*p != ';' || ++p == end || !row_is_param_char(*p))
			return ROW_HP_PARAMS;
		while(p < end && row_is_param_char(*p))
			p++;
		if(p < end && *p == '=') {
			if(++p == end || !row_is_param_char(*p))
				return ROW_HP_PARAMS;
			while(p < end && row_is_param_char(*p))
				p++;
		}
	}
	return ROW_HP_OK;
}

#define ROW_USER_CHARS \
	" (RFC 3261 user: letters, digits, -_.!~*'()&=+$,;?/ and %HH escapes)"

/* reasons of the columns that go on the wire, each naming its column */
static const char *row_check_wire(const struct row *r)
{
	const char *s, *end, *at;
	size_t len;

	s = r->s[ROW_L_UUID].s;
	if(!row_user_ok(s, s + row_len(r, ROW_L_UUID)))
		return "l_uuid is not a SIP user part (it is our Contact's "
			   "user)" ROW_USER_CHARS;
	s = r->s[ROW_R_USERNAME].s;
	if(!row_user_ok(s, s + row_len(r, ROW_R_USERNAME)))
		return "r_username is not a SIP user part" ROW_USER_CHARS;
	s = r->s[ROW_AUTH_USERNAME].s;
	len = row_len(r, ROW_AUTH_USERNAME);
	if(memchr(s, '"', len) || memchr(s, '\\', len))
		return "auth_username contains a double quote or a backslash";

	switch(row_hostport(r->s[ROW_R_DOMAIN].s, row_len(r, ROW_R_DOMAIN), 0)) {
		case ROW_HP_OK:
			break;
		case ROW_HP_PORT:
			return "r_domain port is not a number from 1 to 65535";
		default:
			return "r_domain is not host[:port] (a name, IPv4 or [IPv6])";
	}

	len = row_len(r, ROW_CONTACT_ADDR);
	s = r->s[ROW_CONTACT_ADDR].s;
	if(len != 0) {
		if(row_prefix_icase(s, len, "sip:")
				|| row_prefix_icase(s, len, "sips:"))
			return "contact_addr is host[:port][;params], without sip:";
		switch(row_hostport(s, len, 1)) {
			case ROW_HP_OK:
				break;
			case ROW_HP_PORT:
				return "contact_addr port is not a number from 1 to 65535";
			case ROW_HP_PARAMS:
				return "contact_addr parameters are not ;name[=value]";
			default:
				return "contact_addr is not host[:port][;params]";
		}
	}

	len = row_len(r, ROW_AUTH_PROXY);
	if(len != 0) {
		/* the scheme was checked before */
		s = r->s[ROW_AUTH_PROXY].s;
		end = s + len;
		s += row_prefix_icase(s, len, "sips:") ? 5 : 4;
		at = memchr(s, '@', end - s);
		if(at) {
			const char *colon = memchr(s, ':', at - s);
			if(!row_user_ok(s, colon ? colon : at))
				return "auth_proxy user part is not a SIP user";
			s = at + 1;
		}
		switch(row_hostport(s, end - s, 1)) {
			case ROW_HP_OK:
				break;
			case ROW_HP_PORT:
				return "auth_proxy port is not a number from 1 to 65535";
			case ROW_HP_PARAMS:
				return "auth_proxy parameters are not ;name[=value]";
			default:
				return "auth_proxy is not sip:[user@]host[:port][;params]";
		}
	}
	return NULL;
}

/* the checks of row_validate(), returning the reason or NULL */
static const char *row_check(const struct row *r)
{
	const struct row_col *col;
	const char *s, *why;
	size_t len, i;
	int f;

	for(f = 0; f < ROW_STR_COUNT; f++) {
		col = &row_cols[f];
		s = r->s[f].s;
		len = row_len(r, f);
		if(len == 0) {
			if(col->mandatory)
				return col->missing;
			continue;
		}
		if(len > ROW_MAX_STR)
			return col->too_long;
		if(row_has_control(s, len))
			return col->control;
	}

	/* l_uuid names the line in RPC commands and logs; a space there is a
	 * mistake of whoever filled the table (control characters are already
	 * refused above) */
	s = r->s[ROW_L_UUID].s;
	len = row_len(r, ROW_L_UUID);
	for(i = 0; i < len; i++) {
		if(s[i] == ' ')
			return "l_uuid contains whitespace";
	}

	if(row_len(r, ROW_AUTH_PASSWORD) == 0 && row_len(r, ROW_AUTH_HA1) == 0)
		return "neither auth_password nor auth_ha1";
	if(row_len(r, ROW_AUTH_HA1) != 0 && !digest_ha1_valid(r->s[ROW_AUTH_HA1]))
		return "auth_ha1 is not 32 or 64 hex digits";

	s = r->s[ROW_AUTH_PROXY].s;
	len = row_len(r, ROW_AUTH_PROXY);
	if(len != 0) {
		if(row_prefix_icase(s, len, "sip:")) {
			if(len == 4)
				return "auth_proxy has nothing after sip:";
		} else if(row_prefix_icase(s, len, "sips:")) {
			if(len == 5)
				return "auth_proxy has nothing after sips:";
		} else {
			return "auth_proxy does not start with sip: or sips:";
		}
	}

	len = row_len(r, ROW_SOCKET);
	if(len != 0) {
		why = row_check_socket(r->s[ROW_SOCKET].s, len);
		if(why)
			return why;
	}

	why = row_check_wire(r);
	if(why)
		return why;

	if(r->expires_bad)
		return "expires is not a number";
	if(r->expires < 1)
		return "expires is less than 1";
	if(r->expires > ROW_MAX_EXPIRES)
		return "expires is more than " ROW_STR(ROW_MAX_EXPIRES);
	if(r->flags < 0)
		return "flags is negative";
	if(r->flags > ROW_MAX_INT)
		return "flags is more than " ROW_STR(ROW_MAX_INT);
	if(r->reg_delay < 0)
		return "reg_delay is negative";
	if(r->reg_delay > ROW_MAX_INT)
		return "reg_delay is more than " ROW_STR(ROW_MAX_INT);
	/* -1 is NULL (the module's default) */
	if(r->reauth_new_dialog < -1 || r->reauth_new_dialog > 2)
		return "reauth_new_dialog is not NULL, 0, 1 or 2";
	/* -1 is NULL (the module's default) */
	if(r->fail_ceiling < -1)
		return "fail_ceiling is negative";
	if(r->fail_ceiling > ROW_MAX_INT)
		return "fail_ceiling is more than " ROW_STR(ROW_MAX_INT);
	if(r->fail_count < 0)
		return "fail_count is negative";
	if(r->fail_count > ROW_MAX_INT)
		return "fail_count is more than " ROW_STR(ROW_MAX_INT);
	return NULL;
}

int row_validate(const struct row *r, const char **why)
{
	const char *reason = row_check(r);

	if(why)
		*why = reason;
	return reason ? -1 : 0;
}

/*
 * Fingerprint: FNV-1a, 64 bits (offset basis 14695981039346656037, prime
 * 1099511628211). Each string goes in as a presence byte (0 NULL, 1 set),
 * its length as 8 little-endian bytes, then its bytes: NULL differs from
 * empty, and ("ab", "c") from ("a", "bc"), whatever bytes the strings hold.
 * Integers go in as fixed little-endian bytes, so the value is the same on
 * every platform and across restarts.
 */
#define ROW_FNV64_BASIS 14695981039346656037ull
#define ROW_FNV64_PRIME 1099511628211ull

static inline uint64_t row_fnv_byte(uint64_t h, unsigned char c)
{
	return (h ^ c) * ROW_FNV64_PRIME;
}

static uint64_t row_fnv_u64(uint64_t h, uint64_t v)
{
	int i;

	for(i = 0; i < 8; i++)
		h = row_fnv_byte(h, (unsigned char)(v >> (8 * i)));
	return h;
}

static uint64_t row_fnv_str(uint64_t h, ur_str_t s)
{
	size_t i;

	if(s.s == NULL)
		return row_fnv_byte(h, 0);
	h = row_fnv_byte(h, 1);
	h = row_fnv_u64(h, (uint64_t)s.len);
	for(i = 0; i < s.len; i++)
		h = row_fnv_byte(h, (unsigned char)s.s[i]);
	return h;
}

/* the fields that shape the REGISTER; l_uuid only names the line, and the
 * integer columns other than expires change how the line behaves, not what
 * it sends (the glue applies them without a new registration) */
static const enum row_str row_reg_fields[] = {ROW_L_USERNAME, ROW_L_DOMAIN,
		ROW_R_USERNAME, ROW_R_DOMAIN, ROW_REALM, ROW_AUTH_USERNAME,
		ROW_AUTH_PASSWORD, ROW_AUTH_HA1, ROW_AUTH_PROXY, ROW_CONTACT_ADDR,
		ROW_SOCKET};

uint64_t row_reg_fingerprint(const struct row *r)
{
	uint64_t h = ROW_FNV64_BASIS;
	size_t i;

	for(i = 0; i < sizeof(row_reg_fields) / sizeof(row_reg_fields[0]); i++)
		h = row_fnv_str(h, r->s[row_reg_fields[i]]);
	return row_fnv_u64(h, (uint64_t)r->expires);
}
