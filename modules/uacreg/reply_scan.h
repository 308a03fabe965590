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
 * uacreg - what a reply to our REGISTER needs, read from its raw buffer.
 *
 * Pure code (no Kamailio header): one pass over the header lines of the
 * reply, no allocation, no copy. It finds every WWW-Authenticate and
 * Proxy-Authenticate (their kind kept), the last Min-Expires, Retry-After
 * and Expires, and the expires of OUR Contact among all Contacts (compact
 * "m", several headers, comma lists, quoted display names, <uri;params>,
 * quoted parameter values). Header names are case-insensitive; folded lines
 * (CRLF then SP/HT) continue a header; bare LF ends a line as CRLF does.
 * Kamailio's generic parser would build a hdr_field per header and a
 * contact_t per Contact in pkg memory for the same answer.
 */
#ifndef UACREG_REPLY_SCAN_H
#define UACREG_REPLY_SCAN_H

#include <stdint.h>
#include "ur_str.h"

/* challenges kept from one reply; more are counted, not kept (a carrier
 * offers one or two per kind) */
#define RSCAN_MAX_CH 16

enum rscan_ch_kind
{
	RSCAN_CH_WWW = 0,
	RSCAN_CH_PROXY = 1,
};

struct rscan_challenge
{
	enum rscan_ch_kind kind;
	ur_str_t body; /* the header value: "Digest realm=...", folds kept */
};

/* 1 when uri (a Contact URI of the reply, as written) is ours */
typedef int (*rscan_ours_f)(ur_str_t uri, void *arg);

struct reply_scan
{
	/* a header line with no name or no colon: the reply is not read
	 * further (the caller treats it as malformed, as Kamailio's parser
	 * would) */
	int malformed;
	unsigned n_ch;	  /* challenges kept in ch[] */
	unsigned ch_over; /* challenges beyond RSCAN_MAX_CH */
	struct rscan_challenge ch[RSCAN_MAX_CH];
	/* the last header of each: its leading digits after whitespace (0 when
	 * none, UINT32_MAX when absurd); -1 when absent */
	int64_t expires;
	int64_t min_expires;
	int64_t retry_after;
	/* Contacts (only with an rscan_ours_f): how many were read, whether
	 * ours was among them, and what it was granted: its expires parameter,
	 * else the Expires header, else -1 (RFC 3261 10.2.4) */
	unsigned contacts;
	int listed;
	int64_t granted;
};

/* Reads the header lines of buf (the whole reply: its first line, tm's, is
 * skipped) up to the empty line or the end. ours may be NULL: Contacts are
 * then not read. Fills *out; returns 0, or -1 when malformed. */
int reply_scan(const char *buf, size_t len, rscan_ours_f ours, void *arg,
		struct reply_scan *out);

/* the leading digits of a header value after whitespace, as reply_scan()
 * reads Expires, Min-Expires and Retry-After */
uint32_t rscan_uint(ur_str_t v);

#endif
