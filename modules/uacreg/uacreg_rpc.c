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
 * uacreg - kamcmd uacreg.* commands. No answer ever holds auth_password or
 * auth_ha1. Lists are paged, so 100,000 lines never make a reply too big.
 */
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "../../core/dprint.h"
#include "../../core/rpc.h"
#include "../../core/rpc_lookup.h"
#include "../../core/mem/mem.h"
#include "uacreg_reload.h"
#include "uacreg_rpc.h"
#include "uacreg_ha.h"

#define URPC_LIST_DEFAULT 100
/* A line takes up to about 1 KB in a list (255-character l_uuid, r_username
 * and r_domain): 100 of them stay under the 128 KB that the jsonrpcs
 * datagram socket and kamcmd take; 1000 did not, and got no answer. */
#define URPC_LIST_MAX 100
#define URPC_DOMAINS_MAX 100

/* The fields a line can be named by, as stock uac's uac.reg_info takes
 * them: "uacreg.info <l_uuid>" or "uacreg.info <attr> <value>". */
static const enum row_str urpc_attrs[] = {
		ROW_L_UUID, ROW_L_USERNAME, ROW_R_USERNAME, ROW_AUTH_USERNAME};
#define URPC_MATCHES_NAMED 5

static int urpc_is_digits(str s)
{
	int i;

	for(i = 0; i < s.len; i++)
		if(s.s[i] < '0' || s.s[i] > '9')
			return 0;
	return s.len > 0;
}

/* s without its leading zeros ("0" stays "0") */
static str urpc_no_zeros(str s)
{
	while(s.len > 1 && s.s[0] == '0') {
		s.s++;
		s.len--;
	}
	return s;
}

/* Under the lock: the lines whose field f is value. For l_uuid, one
 * exact match; failing that, a number: kamcmd sends the argument 0123 as
 * the integer 123, so a line whose l_uuid is 123 with leading zeros is the
 * one meant (kamcmd's s:0123 sends the string itself). Fills up to
 * URPC_MATCHES_NAMED ids, returns how many lines matched. */
struct urpc_match_arg
{
	enum row_str f;
	str value, want;
	uint32_t *ids;
	int n;
};

static int urpc_match_one(struct uline *ul, void *arg)
{
	struct urpc_match_arg *a = arg;
	str v = ul_str(ul, a->f);

	if(a->f == ROW_L_UUID) {
		if(!urpc_is_digits(v))
			return 0;
		v = urpc_no_zeros(v);
		if(v.len != a->want.len || memcmp(v.s, a->want.s, v.len) != 0)
			return 0;
	} else if(v.len != a->value.len || memcmp(v.s, a->value.s, v.len) != 0) {
		return 0;
	}
	if(a->n < URPC_MATCHES_NAMED)
		a->ids[a->n] = ul->id;
	a->n++;
	return 0;
}

static int urpc_match(enum row_str f, str value, uint32_t *ids)
{
	struct urpc_match_arg a = {f, value, urpc_no_zeros(value), ids, 0};
	struct uline *ul;
	int digits = urpc_is_digits(value);

	if(f == ROW_L_UUID) {
		ul = ustore_find(&value);
		if(ul) {
			ids[0] = ul->id;
			return 1;
		}
		if(!digits)
			return 0;
	}
	ustore_foreach(urpc_match_one, &a);
	return a.n;
}

/* Reads "<l_uuid>" or "<attr> <value>" and finds the one line meant; its
 * l_uuid is copied to buf and set in *uuid. Faults and returns -1 when the
 * arguments are bad, no line or several lines match. */
static int urpc_target(rpc_t *rpc, void *ctx, char *buf, str *uuid)
{
	str a1 = STR_NULL, a2 = STR_NULL, value;
	enum row_str f = ROW_L_UUID;
	uint32_t ids[URPC_MATCHES_NAMED];
	char names[URPC_MATCHES_NAMED * 66];
	int n, i, pos = 0;
	unsigned k;
	str u;

	if(rpc->scan(ctx, ".S", &a1) < 1 || a1.s == NULL) {
		rpc->fault(ctx, 400, "l_uuid is missing or not a string");
		return -1;
	}
	value = a1;
	if(rpc->scan(ctx, "*.S", &a2) == 1 && a2.s != NULL) {
		for(k = 0; k < sizeof(urpc_attrs) / sizeof(urpc_attrs[0]); k++) {
			const char *name = row_str_name(urpc_attrs[k]);
			if(strlen(name) == (size_t)a1.len
					&& strncmp(name, a1.s, a1.len) == 0)
				break;
		}
		if(k == sizeof(urpc_attrs) / sizeof(urpc_attrs[0])) {
			rpc->fault(ctx, 400,
					"attribute must be l_uuid, l_username, r_username or "
					"auth_username");
			return -1;
		}
		f = urpc_attrs[k];
		value = a2;
	}
	if(value.len <= 0 || value.len > ROW_MAX_STR) {
		rpc->fault(ctx, 400, "%s must be 1 to 255 characters", row_str_name(f));
		return -1;
	}
	ustore_lock();
	n = urpc_match(f, value, ids);
	if(n == 1) {
		u = ul_str(ustore_line_by_id(ids[0]), ROW_L_UUID);
		memcpy(buf, u.s, u.len);
		uuid->s = buf;
		uuid->len = u.len;
	}
	for(i = 0; n > 1 && i < n && i < URPC_MATCHES_NAMED; i++) {
		u = ul_str(ustore_line_by_id(ids[i]), ROW_L_UUID);
		pos += snprintf(names + pos, sizeof(names) - pos, "%s%.*s",
				i ? ", " : "", u.len > 64 ? 64 : u.len, u.s);
	}
	ustore_unlock();
	if(n == 0) {
		rpc->fault(ctx, 404, "no line with %s %.*s", row_str_name(f),
				value.len > 64 ? 64 : value.len, value.s);
		return -1;
	}
	if(n > 1) {
		rpc->fault(ctx, 409, "%d lines have %s %.*s: %s%s (name one by l_uuid)",
				n, row_str_name(f), value.len > 32 ? 32 : value.len, value.s,
				names, n > URPC_MATCHES_NAMED ? ", ..." : "");
		return -1;
	}
	return 0;
}

static void urpc_count(rpc_t *rpc, void *ctx)
{
	int n;

	ustore_lock();
	n = (int)ustore_count();
	ustore_unlock();
	rpc->add(ctx, "d", n);
}

/* seconds from now to a monotonic ms time; 0 when past or unset */
static int urpc_in(uint64_t t, uint64_t now)
{
	return t > now ? (int)((t - now + 999) / 1000) : 0;
}

static int urpc_str(rpc_t *rpc, void *st, const char *name, str s)
{
	return rpc->struct_add(st, "S", name, &s);
}

/* "row invalid since <UTC time>: <reason>" for a line whose row became
 * invalid after it was loaded (it runs on as loaded), "" otherwise */
static void urpc_row_invalid(rpc_t *rpc, void *st, const struct uline *ul)
{
	char buf[256], when[32];
	time_t t;
	struct tm tm;

	buf[0] = '\0';
	if(ul_invalid_why(ul)) {
		t = (time_t)ul->row_invalid_since;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		snprintf(buf, sizeof(buf), "row invalid since %s: %s", when,
				ul_invalid_why(ul));
	}
	rpc->struct_add(st, "s", "row_invalid", buf);
}

/* the fields of one line, under the lock */
static void urpc_line(rpc_t *rpc, void *st, const struct uline *ul, int full)
{
	uint64_t now = uclock_now();
	int f;

	urpc_str(rpc, st, "l_uuid", ul_str(ul, ROW_L_UUID));
	rpc->struct_add(st, "s", "state", line_state_name(ul->sm.state));
	if(full) {
		for(f = ROW_L_USERNAME; f < ROW_STR_COUNT; f++) {
			if(f == ROW_AUTH_PASSWORD || f == ROW_AUTH_HA1)
				continue;
			urpc_str(rpc, st, row_str_name(f), ul_str(ul, f));
		}
		rpc->struct_add(st, "s", "auth_secret",
				ul->slen[ROW_AUTH_HA1] ? "ha1" : "password");
		rpc->struct_add(st, "d", "expires", (int)ul->sm.expires);
		rpc->struct_add(st, "d", "flags", (int)ul->row_flags);
		rpc->struct_add(st, "d", "reg_delay", (int)ul->reg_delay);
		rpc->struct_add(
				st, "d", "reauth_new_dialog", (int)ul->sm.reauth_new_dialog);
		rpc->struct_add(st, "d", "new_dialog_in_use",
				line_new_dialog_in_use(&ul->sm, &uacreg_cfg));
		rpc->struct_add(
				st, "d", "new_dialog_learnt", (int)ul->sm.new_dialog_learnt);
		rpc->struct_add(st, "d", "fail_ceiling",
				(int)line_ceiling(&ul->sm, &uacreg_cfg));
		rpc->struct_add(st, "d", "granted", (int)ul->sm.granted);
		rpc->struct_add(st, "d", "last_sent_ago",
				ul->sm.last_sent ? (int)((now - ul->sm.last_sent) / 1000) : -1);
		rpc->struct_add(st, "d", "next_due_in", urpc_in(ul->sm.due, now));
		urpc_str(rpc, st, "call_id", ul_dyn(ul, UL_CALL_ID));
		rpc->struct_add(st, "d", "cseq", (int)ul->sm.cseq);
		urpc_row_invalid(rpc, st, ul);
		/* what the line still owes the table: during a database outage
		 * this is what waits (the log says so once, not per line) */
		rpc->struct_add(st, "s", "sql_owed",
				(ul->pending & UL_P_DELETE)
						? (ul->keep ? "ceiling disable" : "ceiling delete")
				: (ul->pending & UL_P_CEILING)
						? ((ul->pending & UL_P_PERSIST)
										? "fail_count, then ceiling route"
										: "ceiling route")
				: (ul->pending & UL_P_PERSIST) ? "fail_count"
											   : "");
	} else {
		urpc_str(rpc, st, "r_username", ul_str(ul, ROW_R_USERNAME));
		urpc_str(rpc, st, "r_domain", ul_str(ul, ROW_R_DOMAIN));
	}
	rpc->struct_add(st, "d", "expires_in", urpc_in(ul->sm.expires_at, now));
	rpc->struct_add(st, "d", "last_code", (int)ul->sm.last_code);
	urpc_str(rpc, st, "last_reason", ul_dyn(ul, UL_REASON));
	rpc->struct_add(
			st, "s", "fail_class", line_fail_class_name(ul->sm.fail_class));
	rpc->struct_add(st, "d", "fail_count", (int)ul->sm.fail_count);
	/* HA: the owner node as last read ("" none) and the epoch */
	rpc->struct_add(st, "s", "owner", uha_owner_name(ul));
	rpc->struct_add(st, "d", "epoch", (int)ul->ha_epoch);
	if(full) {
		struct carrier *c = carriers_get(&ustore->carriers, ul->cr.cid);
		rpc->struct_add(st, "s", "carrier", c ? c->key : "");
		rpc->struct_add(st, "s", "carrier_state",
				carrier_state_name(c ? c->state : CARRIER_NORMAL));
		rpc->struct_add(st, "d", "carrier_held", (int)ul->cr.held);
		rpc->struct_add(st, "d", "carrier_waiting", (int)ul->cr.waiting);
	}
}

static void urpc_info(rpc_t *rpc, void *ctx)
{
	struct uline *ul;
	void *st;
	char buf[ROW_MAX_STR];
	str uuid;

	if(urpc_target(rpc, ctx, buf, &uuid) < 0)
		return;
	ustore_lock();
	ul = ustore_find(&uuid);
	if(ul == NULL) {
		ustore_unlock();
		rpc->fault(ctx, 404, "no line with l_uuid %.*s", uuid.len, uuid.s);
		return;
	}
	if(rpc->add(ctx, "{", &st) >= 0)
		urpc_line(rpc, st, ul, 1);
	ustore_unlock();
}

/* uacreg.list [offset [limit [state]]] */
/* an integer argument given as a number or its digits; -1 when it is
 * neither (or does not fit) */
static int urpc_int(str s, int *out)
{
	long long v = 0;
	int i = 0, neg = 0;

	if(s.len > 0 && s.s[0] == '-')
		neg = i = 1;
	if(i == s.len || s.len > 12)
		return -1;
	for(; i < s.len; i++) {
		if(s.s[i] < '0' || s.s[i] > '9')
			return -1;
		v = v * 10 + (s.s[i] - '0');
	}
	*out = (int)(neg ? -v : v);
	return v > 0x7fffffffLL ? -1 : 0;
}

/* what uacreg.list shows: a state, an r_domain, a substring of the user
 * fields (l_uuid, l_username, r_username, auth_username) */
struct urpc_filter
{
	int state; /* -1 = any */
	str r_domain;
	str carrier; /* the carrier key (Section 11.9.1): host:port */
	str match;
};

static int urpc_has(str hay, str needle)
{
	int i;

	for(i = 0; i + needle.len <= hay.len; i++)
		if(memcmp(hay.s + i, needle.s, needle.len) == 0)
			return 1;
	return 0;
}

static int urpc_filter_ok(const struct urpc_filter *f, const struct uline *ul)
{
	str d;
	unsigned k;

	if(f->state >= 0 && ul->sm.state != f->state)
		return 0;
	d = ul_str(ul, ROW_R_DOMAIN);
	if(f->r_domain.s
			&& (d.len != f->r_domain.len
					|| strncasecmp(d.s, f->r_domain.s, d.len) != 0))
		return 0;
	if(f->carrier.s) {
		struct carrier *c = carriers_get(&ustore->carriers, ul->cr.cid);
		if(c == NULL || c->key_len != (size_t)f->carrier.len
				|| strncasecmp(c->key, f->carrier.s, f->carrier.len) != 0)
			return 0;
	}
	if(f->match.s == NULL)
		return 1;
	for(k = 0; k < sizeof(urpc_attrs) / sizeof(urpc_attrs[0]); k++)
		if(urpc_has(ul_str(ul, urpc_attrs[k]), f->match))
			return 1;
	return 0;
}

/* one filter argument: "state=registered", "r_domain=sip.example",
 * "match=4420", or a bare state name as before. 0, or -1 after a fault. */
static int urpc_filter_arg(
		rpc_t *rpc, void *ctx, str arg, struct urpc_filter *f)
{
	char *eq = memchr(arg.s, '=', arg.len);
	str key = arg, val = arg;

	if(eq) {
		key.len = (int)(eq - arg.s);
		val.s = eq + 1;
		val.len = arg.len - key.len - 1;
	}
	if(eq == NULL || (key.len == 5 && strncmp(key.s, "state", 5) == 0)) {
		for(f->state = 0; f->state < LINE_STATE_COUNT; f->state++)
			if(strlen(line_state_name(f->state)) == (size_t)val.len
					&& !strncmp(line_state_name(f->state), val.s, val.len))
				return 0;
		rpc->fault(ctx, 400, "unknown state %.*s", val.len > 64 ? 64 : val.len,
				val.s);
		return -1;
	}
	if(val.len <= 0 || val.len > ROW_MAX_STR) {
		rpc->fault(ctx, 400, "a filter value is 1 to 255 characters");
		return -1;
	}
	if(key.len == 8 && strncmp(key.s, "r_domain", 8) == 0) {
		f->r_domain = val;
		return 0;
	}
	if(key.len == 7 && strncmp(key.s, "carrier", 7) == 0) {
		f->carrier = val;
		return 0;
	}
	if(key.len == 5 && strncmp(key.s, "match", 5) == 0) {
		f->match = val;
		return 0;
	}
	rpc->fault(ctx, 400, "a filter is state=, r_domain=, carrier= or match=");
	return -1;
}

/* one page of uacreg.list, filled while the lines are walked */
struct urpc_list_arg
{
	rpc_t *rpc;
	void *arr;
	const struct urpc_filter *filter;
	int offset, limit, total, n;
};

static int urpc_list_one(struct uline *ul, void *arg)
{
	struct urpc_list_arg *la = arg;
	void *st;

	if(!urpc_filter_ok(la->filter, ul))
		return 0;
	if(la->total++ < la->offset || la->n >= la->limit)
		return 0;
	if(la->rpc->array_add(la->arr, "{", &st) < 0)
		return 1;
	urpc_line(la->rpc, st, ul, 0);
	la->n++;
	return 0;
}

/* uacreg.list [offset [limit [filter ...]]] */
static void urpc_list(rpc_t *rpc, void *ctx)
{
	int offset = 0, limit = URPC_LIST_DEFAULT, total = 0, i;
	struct urpc_filter filter = {-1, STR_NULL, STR_NULL, STR_NULL};
	struct urpc_list_arg la;
	str arg;
	void *th, *arr;

	/* every argument is read as text and checked here: a word where a
	 * number belongs ("uacreg.list registered") is an error, not page 0 */
	for(i = 0; i < 8 && rpc->scan(ctx, "*.S", &arg) == 1; i++) {
		if(arg.s == NULL)
			arg.len = 0;
		if(i < 2) {
			if(urpc_int(arg, i == 0 ? &offset : &limit) < 0) {
				rpc->fault(ctx, 400,
						"offset >= 0 and limit 1 to %d, both numbers "
						"(uacreg.list [offset [limit [filter ...]]])",
						URPC_LIST_MAX);
				return;
			}
		} else if(urpc_filter_arg(rpc, ctx, arg, &filter) < 0) {
			return;
		}
	}
	if(offset < 0 || limit <= 0 || limit > URPC_LIST_MAX) {
		rpc->fault(ctx, 400, "offset >= 0 and limit 1 to %d", URPC_LIST_MAX);
		return;
	}
	if(rpc->add(ctx, "{", &th) < 0)
		return;
	ustore_lock();
	rpc->struct_add(th, "[", "lines", &arr);
	la.rpc = rpc;
	la.arr = arr;
	la.filter = &filter;
	la.offset = offset;
	la.limit = limit;
	la.total = 0;
	la.n = 0;
	ustore_foreach(urpc_list_one, &la);
	total = la.total;
	ustore_unlock();
	rpc->struct_add(th, "dd", "total", total, "offset", offset);
}

/* lines per carrier and state */
struct urpc_carrier_count
{
	uint32_t *counts;
	uint32_t ncar;
};

static int urpc_count_carrier(struct uline *ul, void *arg)
{
	struct urpc_carrier_count *cc = arg;

	if(ul->cr.cid < cc->ncar)
		cc->counts[ul->cr.cid * LINE_STATE_COUNT + ul->sm.state]++;
	return 0;
}

/* uacreg.carriers [offset [limit]]: each carrier with lines, its state and
 * its lines per state. One pass over the lines counts them all. */
static void urpc_carriers(rpc_t *rpc, void *ctx)
{
	struct urpc_carrier_count cc;
	int offset = 0, limit = URPC_LIST_DEFAULT, n = 0, skipped = 0, total = 0;
	uint32_t *counts, ncar, cid;
	struct carrier *c;
	uint64_t now = uclock_now();
	void *th, *arr, *st, *ls;
	int s;

	if(rpc->scan(ctx, "*d", &offset) == 1 && rpc->scan(ctx, "*d", &limit) < 1)
		limit = URPC_LIST_DEFAULT;
	if(offset < 0 || limit <= 0 || limit > URPC_LIST_MAX) {
		rpc->fault(ctx, 400, "offset >= 0 and limit 1 to %d", URPC_LIST_MAX);
		return;
	}
	ustore_lock();
	ncar = ustore->carriers.count;
	counts = pkg_malloc((ncar ? ncar : 1) * LINE_STATE_COUNT * sizeof(*counts));
	if(counts == NULL) {
		ustore_unlock();
		rpc->fault(ctx, 500, "out of memory");
		return;
	}
	memset(counts, 0, (ncar ? ncar : 1) * LINE_STATE_COUNT * sizeof(*counts));
	cc.counts = counts;
	cc.ncar = ncar;
	ustore_foreach(urpc_count_carrier, &cc);
	for(cid = 0; cid < ncar; cid++)
		if(ustore->carriers.v[cid].lines)
			total++;
	if(rpc->add(ctx, "{", &th) < 0)
		goto done;
	rpc->struct_add(th, "d", "total", total);
	rpc->struct_add(th, "d", "offset", offset);
	rpc->struct_add(th, "[", "carriers", &arr);
	for(cid = 0; cid < ncar && n < limit; cid++) {
		c = &ustore->carriers.v[cid];
		if(c->lines == 0 || skipped++ < offset)
			continue;
		if(rpc->array_add(arr, "{", &st) < 0)
			break;
		rpc->struct_add(st, "s", "carrier", c->key);
		rpc->struct_add(st, "s", "state", carrier_state_name(c->state));
		rpc->struct_add(st, "d", "since_ago",
				c->since ? (int)((now - c->since) / 1000) : -1);
		rpc->struct_add(st, "d", "lines", (int)c->lines);
		rpc->struct_add(st, "d", "held", (int)c->held);
		rpc->struct_add(st, "d", "waiting", (int)c->waiting);
		rpc->struct_add(st, "d", "last_code", (int)c->last_code);
		rpc->struct_add(
				st, "s", "fail_class", line_fail_class_name(c->fail_class));
		rpc->struct_add(st, "d", "next_probe_in",
				c->state != CARRIER_NORMAL ? urpc_in(c->probe_due, now) : 0);
		if(rpc->struct_add(st, "{", "states", &ls) >= 0)
			for(s = 0; s < LINE_STATE_COUNT; s++)
				rpc->struct_add(ls, "d", line_state_name(s),
						(int)counts[cid * LINE_STATE_COUNT + s]);
		n++;
	}
done:
	ustore_unlock();
	pkg_free(counts);
}

struct urpc_domain
{
	str name;
	int count;
};

static int urpc_domain_cmp(const void *a, const void *b)
{
	return ((const struct urpc_domain *)b)->count
		   - ((const struct urpc_domain *)a)->count;
}

/* lines per carrier domain, the domains in a growing array */
struct urpc_domains_arg
{
	struct urpc_domain *doms;
	int ndoms, capdoms, others;
};

static int urpc_count_domain(struct uline *ul, void *arg)
{
	struct urpc_domains_arg *a = arg;
	str d = ul_str(ul, ROW_R_DOMAIN);
	int i;

	for(i = 0; i < a->ndoms; i++)
		if(a->doms[i].name.len == d.len
				&& !memcmp(a->doms[i].name.s, d.s, d.len))
			break;
	if(i == a->ndoms) {
		if(a->ndoms == a->capdoms) {
			struct urpc_domain *nd;
			if(a->capdoms >= 4 * URPC_DOMAINS_MAX) {
				a->others++;
				return 0;
			}
			a->capdoms = a->capdoms ? a->capdoms * 2 : 16;
			nd = pkg_realloc(a->doms, a->capdoms * sizeof(*a->doms));
			if(nd == NULL)
				return 1;
			a->doms = nd;
		}
		a->doms[a->ndoms].name = d;
		a->doms[a->ndoms].count = 0;
		a->ndoms++;
	}
	a->doms[i].count++;
	return 0;
}

static int urpc_count_invalid(struct uline *ul, void *arg)
{
	*(int *)arg += ul_invalid_why(ul) != NULL;
	return 0;
}

/* uacreg.summary: lines per state, per failure class, per carrier domain
 * (the URPC_DOMAINS_MAX largest) */
static void urpc_summary(rpc_t *rpc, void *ctx)
{
	struct urpc_domain *doms = NULL;
	struct urpc_domains_arg da;
	int ndoms = 0, i, others = 0;
	void *th, *st;

	if(rpc->add(ctx, "{", &th) < 0)
		return;
	ustore_lock();
	rpc->struct_add(th, "d", "lines", (int)ustore_count());
	rpc->struct_add(th, "s", "ha_mode", ha_mode_name(uacreg_ha_mode));
	rpc->struct_add(th, "S", "node_id", &uacreg_node_id);
	rpc->struct_add(th, "d", "owned_lines",
			uha ? (int)uha->owned_lines : (int)ustore_count());
	rpc->struct_add(th, "d", "fenced", uha_fenced(uclock_now()) ? 1 : 0);
	/* how long sending has waited for tm to free shared memory (0 = it
	 * does not wait): the first thing to look at when lines stay NEW */
	rpc->struct_add(th, "d", "shm_paused_ms",
			ustore->shm_paused_since ? (
					int)((uclock_now() - ustore->shm_paused_since) & 0x7fffffff)
									 : 0);
	/* lines whose row became invalid and that run on as loaded */
	ustore_foreach(urpc_count_invalid, &others);
	rpc->struct_add(th, "d", "rows_invalid", others);
	others = 0;
	rpc->struct_add(th, "{", "states", &st);
	for(i = 0; i < LINE_STATE_COUNT; i++)
		rpc->struct_add(st, "d", line_state_name(i), ustore->state_count[i]);
	rpc->struct_add(th, "{", "fail_classes", &st);
	for(i = 1; i < LINE_FC_COUNT; i++)
		rpc->struct_add(
				st, "d", line_fail_class_name(i), ustore->fail_class_count[i]);
	/* domains: a linear count; the table is walked once per call */
	da.doms = NULL;
	da.ndoms = da.capdoms = da.others = 0;
	ustore_foreach(urpc_count_domain, &da);
	doms = da.doms;
	ndoms = da.ndoms;
	others = da.others;
	if(doms)
		qsort(doms, ndoms, sizeof(*doms), urpc_domain_cmp);
	rpc->struct_add(th, "{", "domains", &st);
	for(i = 0; i < ndoms; i++) {
		char name[ROW_MAX_STR + 1];
		if(i >= URPC_DOMAINS_MAX) {
			others += doms[i].count;
			continue;
		}
		snprintf(name, sizeof(name), "%.*s", doms[i].name.len, doms[i].name.s);
		rpc->struct_add(st, "d", name, doms[i].count);
	}
	ustore_unlock();
	if(others)
		rpc->struct_add(th, "d", "other_domains", others);
	if(doms)
		pkg_free(doms);
}

static void urpc_command(rpc_t *rpc, void *ctx, enum ustore_cmd cmd)
{
	char buf[ROW_MAX_STR];
	str uuid;
	int rc;

	if(urpc_target(rpc, ctx, buf, &uuid) < 0)
		return;
	rc = ustore_command(&uuid, cmd);
	if(rc < 0) {
		rpc->fault(ctx, 404, "no line with l_uuid %.*s", uuid.len, uuid.s);
		return;
	}
	rpc->add(ctx, "s", "ok");
}

static void urpc_enable(rpc_t *rpc, void *ctx)
{
	urpc_command(rpc, ctx, USTORE_ENABLE);
}
static void urpc_disable(rpc_t *rpc, void *ctx)
{
	urpc_command(rpc, ctx, USTORE_DISABLE);
}
/* As stock uac.reg_refresh: the row is read again first, so an edited
 * expires or password is what the REGISTER carries. */
static void urpc_refresh(rpc_t *rpc, void *ctx)
{
	char buf[ROW_MAX_STR];
	str uuid;
	int rc;

	if(urpc_target(rpc, ctx, buf, &uuid) < 0)
		return;
	rc = ureload_one(&uuid);
	if(rc == 0) {
		rpc->fault(ctx, 404,
				"no row with l_uuid %.*s in the table: the line runs on "
				"until a reload",
				uuid.len > 64 ? 64 : uuid.len, uuid.s);
		return;
	}
	if(rc == -2) {
		rpc->fault(ctx, 400, "the row of %.*s is invalid: see the log",
				uuid.len > 64 ? 64 : uuid.len, uuid.s);
		return;
	}
	if(rc == 1) {
		rpc->add(ctx, "s", "ok: the row changed, the line registers anew");
		return;
	}
	if(ustore_command(&uuid, USTORE_REFRESH) < 0) {
		rpc->fault(ctx, 404, "no line with l_uuid %.*s",
				uuid.len > 64 ? 64 : uuid.len, uuid.s);
		return;
	}
	rpc->add(ctx, "s",
			rc < 0 ? "ok: database unavailable, refreshed as loaded" : "ok");
}
static void urpc_reset(rpc_t *rpc, void *ctx)
{
	urpc_command(rpc, ctx, USTORE_RESET);
}
static void urpc_remove(rpc_t *rpc, void *ctx)
{
	urpc_command(rpc, ctx, USTORE_REMOVE);
}

/* uacreg.reload [force] */
static void urpc_reload(rpc_t *rpc, void *ctx)
{
	struct ureload_result *res;
	void *th, *arr, *st;
	uint32_t i;
	int rc, force = 0;
	str arg = STR_NULL;

	if(rpc->scan(ctx, "*S", &arg) == 1) {
		if(arg.len != 5 || strncasecmp(arg.s, "force", 5) != 0) {
			rpc->fault(ctx, 400, "the only argument is 'force'");
			return;
		}
		force = 1;
	}
	res = pkg_malloc(sizeof(*res));
	if(res == NULL) {
		rpc->fault(ctx, 500, "out of memory");
		return;
	}
	rc = ureload_all(res, force);
	if(rc < 0) {
		pkg_free(res);
		rpc->fault(ctx, 503,
				rc == -1 ? "database unavailable: nothing changed, every line "
						   "runs on"
						 : "database failed midway: rows read so far applied, "
						   "no line removed");
		return;
	}
	if(res->held) {
		rpc->fault(ctx, 409,
				/* kamcmd and jsonrpcs cut a fault's text at 128 bytes */
				"reload held: would remove %u of %u lines (reload_guard %d%%); "
				"none removed, %u added/changed; uacreg.reload force",
				res->would_remove, res->lines, uacreg_reload_guard,
				res->added + res->changed + res->updated);
		pkg_free(res);
		return;
	}
	if(rpc->add(ctx, "{", &th) >= 0) {
		rpc->struct_add(th, "dddddd", "unchanged", res->unchanged, "added",
				res->added, "changed", res->changed, "updated", res->updated,
				"removed", res->removed, "skipped", res->skipped);
		rpc->struct_add(th, "[", "skipped_rows", &arr);
		for(i = 0; i < res->nskipped; i++) {
			if(rpc->array_add(arr, "{", &st) < 0)
				break;
			rpc->struct_add(st, "sss", "l_uuid", res->skipped_rows[i].l_uuid,
					"reason", res->skipped_rows[i].why, "line",
					res->skipped_rows[i].line_kept ? "runs on as last loaded"
												   : "not loaded");
		}
	}
	pkg_free(res);
}

/* HA: the node table as this node's last round read it */
static void urpc_nodes(rpc_t *rpc, void *ctx)
{
	struct uha_node_info *v;
	uint32_t i, n;
	void *st;

	if(uha == NULL) {
		rpc->fault(ctx, 400, "ha_mode is off");
		return;
	}
	v = pkg_malloc(sizeof(*v) * UHA_NODES_MAX);
	if(v == NULL) {
		rpc->fault(ctx, 500, "out of memory");
		return;
	}
	ustore_lock();
	n = uha->nnodes;
	memcpy(v, uha->nodes, sizeof(*v) * n);
	ustore_unlock();
	for(i = 0; i < n; i++) {
		if(rpc->add(ctx, "{", &st) < 0)
			break;
		rpc->struct_add(st, "sdsddd", "node_id", v[i].id, "priority",
				v[i].priority, "ha_mode", v[i].mode, "alive", v[i].alive,
				"lease_left_ms", (int)v[i].lease_left_ms, "self",
				strlen(v[i].id) == (size_t)uacreg_node_id.len
						&& memcmp(v[i].id, uacreg_node_id.s, uacreg_node_id.len)
								   == 0);
		rpc->struct_add(st, "d", "lines", (int)v[i].lines);
	}
	pkg_free(v);
}

static const char *urpc_count_doc[] = {"Number of lines in memory.", 0};
static const char *urpc_info_doc[] = {
		"Every field of a line but its secrets: uacreg.info l_uuid, or "
		"uacreg.info attr value (attr: l_uuid, l_username, r_username, "
		"auth_username)",
		0};
static const char *urpc_list_doc[] = {
		"Lines, paged and filtered: uacreg.list [offset [limit [filter "
		"...]]], filter: a state, state=S, r_domain=D, carrier=HOST:PORT or "
		"match=TEXT",
		0};
static const char *urpc_summary_doc[] = {
		"Lines per state, per failure class and per carrier domain.", 0};
static const char *urpc_carriers_doc[] = {
		"Carriers with their state and lines per state: [offset [limit]]", 0};
static const char *urpc_nodes_doc[] = {
		"HA: the nodes sharing the table (as this node's last round read "
		"them): node_id, priority, ha_mode, alive, lease_left_ms, self, "
		"lines",
		0};
static const char *urpc_enable_doc[] = {"Enable a line: l_uuid", 0};
static const char *urpc_disable_doc[] = {
		"Unregister and disable a line: l_uuid", 0};
static const char *urpc_refresh_doc[] = {
		"Read the row again and send a REGISTER now: l_uuid (or attr value)",
		0};
static const char *urpc_reset_doc[] = {
		"Failure count to 0 (memory and SQL): l_uuid", 0};
static const char *urpc_remove_doc[] = {
		"Unregister and forget a line (SQL untouched): l_uuid", 0};
static const char *urpc_reload_doc[] = {
		"Read the table again; only changed rows send. 'force' lets a "
		"reload remove more lines than reload_guard allows: "
		"uacreg.reload [force]",
		0};

rpc_export_t urpc_cmds[] = {{"uacreg.count", urpc_count, urpc_count_doc, 0},
		{"uacreg.info", urpc_info, urpc_info_doc, 0},
		{"uacreg.list", urpc_list, urpc_list_doc, 0},
		{"uacreg.summary", urpc_summary, urpc_summary_doc, 0},
		{"uacreg.carriers", urpc_carriers, urpc_carriers_doc, 0},
		{"uacreg.nodes", urpc_nodes, urpc_nodes_doc, RET_ARRAY},
		{"uacreg.enable", urpc_enable, urpc_enable_doc, 0},
		{"uacreg.disable", urpc_disable, urpc_disable_doc, 0},
		{"uacreg.refresh", urpc_refresh, urpc_refresh_doc, 0},
		{"uacreg.reset", urpc_reset, urpc_reset_doc, 0},
		{"uacreg.remove", urpc_remove, urpc_remove_doc, 0},
		{"uacreg.reload", urpc_reload, urpc_reload_doc, 0}, {0, 0, 0, 0}};
