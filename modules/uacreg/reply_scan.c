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
 * uacreg - what a reply to our REGISTER needs, read from its raw buffer
 * (see reply_scan.h).
 */
#include <string.h>

#include "reply_scan.h"

static int rs_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char rs_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

/* a, of length n, equals the lower-case name */
static int rs_name_is(const char *a, size_t n, const char *name)
{
	size_t i;

	for(i = 0; i < n; i++)
		if(name[i] == '\0' || rs_lower(a[i]) != name[i])
			return 0;
	return name[n] == '\0';
}

/* RFC 3261 token characters: what a header name is made of */
static int rs_token(char c)
{
	if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			|| (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("-.!%*_+`'~", c) != NULL;
}

uint32_t rscan_uint(ur_str_t v)
{
	size_t i = 0;
	uint32_t n = 0;

	while(i < v.len && rs_ws(v.s[i]))
		i++;
	for(; i < v.len && v.s[i] >= '0' && v.s[i] <= '9'; i++) {
		if(n > 100000000)
			return UINT32_MAX; /* absurd: the caller bounds it */
		n = n * 10 + (uint32_t)(v.s[i] - '0');
	}
	return n;
}

/* delta-seconds of an expires parameter: digits only, at most 2^32-1;
 * -1 otherwise (the Expires header then applies, as Kamailio's str2int
 * refusing it did) */
static int64_t rs_param_uint(ur_str_t v)
{
	size_t i;
	uint64_t n = 0;

	if(v.len == 0)
		return -1;
	for(i = 0; i < v.len; i++) {
		if(v.s[i] < '0' || v.s[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v.s[i] - '0');
		if(n > UINT32_MAX)
			return -1;
	}
	return (int64_t)n;
}

/* end of a quoted string that opens at p (its '"'): the position after the
 * closing quote, or NULL when it never closes */
static const char *rs_quoted(const char *p, const char *end)
{
	for(p++; p < end; p++) {
		if(*p == '\\') {
			if(++p == end)
				return NULL;
		} else if(*p == '"')
			return p + 1;
	}
	return NULL;
}

struct rs_contact_state
{
	rscan_ours_f ours;
	void *arg;
	struct reply_scan *out;
	int found;	   /* ours found (in an earlier header) */
	int64_t param; /* its expires parameter, -1 when none */
};

/* One Contact header value: a comma list of contacts. Ours counts only when
 * the whole value parses (as a header parse_contact() refused did not), the
 * first one found wins. */
static void rs_contacts(
		const char *p, const char *end, struct rs_contact_state *st)
{
	int found = 0;
	int64_t param = -1;
	unsigned n = 0;

	for(;;) {
		ur_str_t uri;
		ur_str_t exp = UR_STR_NULL;
		int has_exp = 0, mine;

		while(p < end && rs_ws(*p))
			p++;
		if(p == end)
			break;
		if(*p == ',') {
			p++; /* an empty element */
			continue;
		}
		if(*p == '*') {
			/* "Contact: *" (only in a request; harmless) */
			p++;
		} else {
			const char *q = p;
			/* a display name: a quoted string, or tokens up to '<' */
			if(*q == '"') {
				q = rs_quoted(q, end);
				if(q == NULL)
					return;
				while(q < end && rs_ws(*q))
					q++;
				if(q == end || *q != '<')
					return;
			} else {
				while(q < end && *q != '<' && *q != ',' && *q != ';'
						&& *q != '"')
					q++;
			}
			if(q < end && *q == '<') {
				const char *gt = memchr(q + 1, '>', (size_t)(end - q - 1));
				if(gt == NULL)
					return;
				uri.s = q + 1;
				uri.len = (size_t)(gt - q - 1);
				p = gt + 1;
			} else {
				/* an addr-spec: the URI ends at its first ';', ',' or
				 * whitespace (its parameters are the Contact's) */
				uri.s = p;
				while(p < end && *p != ';' && *p != ',' && !rs_ws(*p)
						&& *p != '"')
					p++;
				uri.len = (size_t)(p - uri.s);
			}
			while(uri.len && rs_ws(uri.s[0])) {
				uri.s++;
				uri.len--;
			}
			while(uri.len && rs_ws(uri.s[uri.len - 1]))
				uri.len--;
			if(uri.len == 0)
				return;
			/* the parameters */
			for(;;) {
				const char *nm;
				size_t nlen;

				while(p < end && rs_ws(*p))
					p++;
				if(p == end || *p == ',')
					break;
				if(*p != ';')
					return;
				p++;
				while(p < end && rs_ws(*p))
					p++;
				nm = p;
				while(p < end && rs_token(*p))
					p++;
				nlen = (size_t)(p - nm);
				while(p < end && rs_ws(*p))
					p++;
				if(p < end && *p == '=') {
					const char *v;
					p++;
					while(p < end && rs_ws(*p))
						p++;
					v = p;
					if(p < end && *p == '"') {
						p = rs_quoted(p, end);
						if(p == NULL)
							return;
					} else {
						while(p < end && *p != ';' && *p != ',' && !rs_ws(*p))
							p++;
					}
					if(nlen == 7 && rs_name_is(nm, 7, "expires")) {
						exp.s = v;
						exp.len = (size_t)(p - v);
						has_exp = 1;
					}
				}
			}
			n++;
			if(!found && !st->found) {
				mine = st->ours(uri, st->arg);
				if(mine) {
					found = 1;
					param = has_exp ? rs_param_uint(exp) : -1;
				}
			}
		}
		while(p < end && rs_ws(*p))
			p++;
		if(p == end)
			break;
		if(*p != ',')
			return; /* junk after the element */
		p++;
	}
	st->out->contacts += n;
	if(found) {
		st->found = 1;
		st->param = param;
	}
}

int reply_scan(const char *buf, size_t len, rscan_ours_f ours, void *arg,
		struct reply_scan *out)
{
	const char *p = buf, *end = buf + len;
	struct rs_contact_state st;

	memset(out, 0, sizeof(*out));
	out->expires = out->min_expires = out->retry_after = -1;
	out->granted = -1;
	st.ours = ours;
	st.arg = arg;
	st.out = out;
	st.found = 0;
	st.param = -1;
	if(buf == NULL)
		return 0;

	/* the first line is tm's: the status */
	p = memchr(p, '\n', len);
	if(p == NULL)
		return 0;
	p++;
	while(p < end) {
		const char *name = p, *nend, *vs, *ve, *eol;
		size_t nlen;

		/* the empty line ends the headers */
		if(*p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n')))
			break;
		while(p < end && rs_token(*p))
			p++;
		nend = p;
		nlen = (size_t)(nend - name);
		while(p < end && (*p == ' ' || *p == '\t'))
			p++;
		if(nlen == 0 || p == end || *p != ':') {
			out->malformed = 1;
			return -1;
		}
		p++;
		/* the value: up to the end of the line and of every line folded
		 * into it */
		vs = p;
		for(;;) {
			eol = memchr(p, '\n', (size_t)(end - p));
			if(eol == NULL) {
				p = end;
				ve = end;
				break;
			}
			p = eol + 1;
			if(p < end && (*p == ' ' || *p == '\t'))
				continue;
			ve = eol;
			break;
		}
		while(vs < ve && rs_ws(*vs))
			vs++;
		while(ve > vs && rs_ws(ve[-1]))
			ve--;
		{
			ur_str_t v = {vs, (size_t)(ve - vs)};
			char c0 = rs_lower(name[0]);

			/* the first letter sorts out most headers cheaply */
			if(c0 == 'w' && rs_name_is(name, nlen, "www-authenticate")) {
				if(out->n_ch < RSCAN_MAX_CH) {
					out->ch[out->n_ch].kind = RSCAN_CH_WWW;
					out->ch[out->n_ch++].body = v;
				} else
					out->ch_over++;
			} else if(c0 == 'p'
					  && rs_name_is(name, nlen, "proxy-authenticate")) {
				if(out->n_ch < RSCAN_MAX_CH) {
					out->ch[out->n_ch].kind = RSCAN_CH_PROXY;
					out->ch[out->n_ch++].body = v;
				} else
					out->ch_over++;
			} else if(c0 == 'e' && rs_name_is(name, nlen, "expires")) {
				out->expires = rscan_uint(v);
			} else if(c0 == 'm' && rs_name_is(name, nlen, "min-expires")) {
				out->min_expires = rscan_uint(v);
			} else if(c0 == 'r' && rs_name_is(name, nlen, "retry-after")) {
				out->retry_after = rscan_uint(v);
			} else if(ours && (c0 == 'm' || c0 == 'c')
					  && (rs_name_is(name, nlen, "m")
							  || rs_name_is(name, nlen, "contact"))) {
				rs_contacts(vs, ve, &st);
			}
		}
	}
	if(st.found) {
		out->listed = 1;
		out->granted = st.param >= 0 ? st.param : out->expires;
	} else
		out->granted = out->expires;
	return 0;
}
