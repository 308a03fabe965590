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
 * uacreg - lines grouped by carrier (see carrier.h).
 *
 * Pure: no I/O, no logging, no clock. The caller passes the time and a
 * random value and holds the store lock.
 */
#include <string.h>
#include <strings.h>

#include "carrier.h"

/* the key */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* host:port of a SIP URI or a bare host[:port]; 0 when no host */
static size_t key_of(char *buf, ur_str_t s)
{
	const char *p = s.s, *end = s.s + s.len, *h, *he;
	const char *port = "5060";
	size_t port_len = 4, n = 0, i;

	if(s.s == NULL || s.len == 0)
		return 0;
	if(s.len >= 5 && strncasecmp(p, "sips:", 5) == 0) {
		p += 5;
		port = "5061";
	} else if(s.len >= 4 && strncasecmp(p, "sip:", 4) == 0) {
		p += 4;
	}
	/* a user part names no carrier */
	for(h = p; h < end && *h != ';' && *h != '?' && *h != '>'; h++) {
		if(*h == '@') {
			p = h + 1;
			break;
		}
	}
	h = p;
	if(h < end && *h == '[') {
		for(he = h; he < end && *he != ']'; he++)
			;
		if(he < end)
			he++;
	} else {
		for(he = h; he < end && *he != ':' && *he != ';' && *he != '?'
					&& *he != '>' && *he != '/';
				he++)
			;
	}
	if(he == h)
		return 0;
	if(he < end && *he == ':') {
		const char *ps = he + 1, *pe = ps;
		while(pe < end && *pe >= '0' && *pe <= '9')
			pe++;
		if(pe > ps) {
			port = ps;
			port_len = (size_t)(pe - ps);
		}
	}
	for(i = 0; i < (size_t)(he - h) && n < CARRIER_KEY_MAX; i++)
		buf[n++] = (char)lower((unsigned char)h[i]);
	if(n + 1 + port_len <= CARRIER_KEY_MAX) {
		buf[n++] = ':';
		memcpy(buf + n, port, port_len);
		n += port_len;
	}
	buf[n] = '\0';
	return n;
}

size_t carrier_key(char *buf, ur_str_t proxy, ur_str_t domain)
{
	size_t n = key_of(buf, proxy);

	if(n == 0)
		n = key_of(buf, domain);
	if(n == 0)
		buf[0] = '\0';
	return n;
}

/* the set */

static uint32_t key_hash(ur_str_t key)
{
	uint32_t h = 2166136261u;
	size_t i;

	for(i = 0; i < key.len; i++)
		h = (h ^ (unsigned char)key.s[i]) * 16777619u;
	return h;
}

int carriers_init(struct carriers *cs, const struct ur_alloc *mem)
{
	uint32_t i;

	memset(cs, 0, sizeof(*cs));
	cs->mem = mem;
	cs->nbuckets = 256;
	cs->buckets = mem->alloc(cs->nbuckets * sizeof(*cs->buckets));
	if(cs->buckets == NULL)
		return -1;
	for(i = 0; i < cs->nbuckets; i++)
		cs->buckets[i] = CARRIER_NONE;
	return 0;
}

void carriers_destroy(struct carriers *cs)
{
	if(cs->mem == NULL)
		return;
	if(cs->v)
		cs->mem->free(cs->v);
	if(cs->buckets)
		cs->mem->free(cs->buckets);
	cs->v = NULL;
	cs->buckets = NULL;
	cs->count = cs->cap = 0;
}

struct carrier *carriers_get(struct carriers *cs, uint32_t cid)
{
	return cid < cs->count ? &cs->v[cid] : NULL;
}

static uint32_t find_id(struct carriers *cs, ur_str_t key, uint32_t h)
{
	uint32_t i;

	for(i = cs->buckets[h % cs->nbuckets]; i != CARRIER_NONE;
			i = cs->v[i].next) {
		if(cs->v[i].hash == h && cs->v[i].key_len == key.len
				&& memcmp(cs->v[i].key, key.s, key.len) == 0)
			return i;
	}
	return CARRIER_NONE;
}

struct carrier *carriers_find(struct carriers *cs, ur_str_t key)
{
	uint32_t i = find_id(cs, key, key_hash(key));

	return i == CARRIER_NONE ? NULL : &cs->v[i];
}

uint32_t carriers_bind(struct carriers *cs, ur_str_t key)
{
	uint32_t h, i, b, cap;
	struct carrier *nv, *c;

	if(key.len > CARRIER_KEY_MAX)
		key.len = CARRIER_KEY_MAX;
	h = key_hash(key);
	i = find_id(cs, key, h);
	if(i != CARRIER_NONE) {
		cs->v[i].lines++;
		return i;
	}
	if(cs->count == cs->cap) {
		cap = cs->cap ? cs->cap * 2 : 16;
		nv = cs->mem->realloc(cs->v, cap * sizeof(*nv));
		if(nv == NULL)
			return CARRIER_NONE;
		cs->v = nv;
		cs->cap = cap;
	}
	i = cs->count++;
	c = &cs->v[i];
	memset(c, 0, sizeof(*c));
	memcpy(c->key, key.s, key.len);
	c->key[key.len] = '\0';
	c->key_len = (uint16_t)key.len;
	c->hash = h;
	c->probe_id = CARRIER_NO_LINE;
	c->lines = 1;
	c->shared = cs->shared;
	b = h % cs->nbuckets;
	c->next = cs->buckets[b];
	cs->buckets[b] = i;
	return i;
}

static void set_work(struct carriers *cs, struct carrier *c, uint8_t w)
{
	if(c->work == 0)
		cs->work++;
	c->work |= w;
}

void carriers_unbind(struct carriers *cs, struct carrier_line *l)
{
	struct carrier *c = carriers_get(cs, l->cid);

	if(c == NULL)
		return;
	if(c->lines)
		c->lines--;
	if(l->held && c->held)
		c->held--;
	if(l->waiting && c->waiting)
		c->waiting--;
	if(l->ep == c->ep && c->ep_start && c->n_tried) {
		c->n_tried--;
		if(l->kind == CARRIER_O_REFUSED && c->n_refused)
			c->n_refused--;
		else if(l->kind == CARRIER_O_DOWN && c->n_down)
			c->n_down--;
	}
	memset(l, 0, sizeof(*l));
	l->cid = CARRIER_NONE;
}

uint32_t carriers_take_work(struct carriers *cs, uint8_t *work)
{
	uint32_t i;

	if(cs->work == 0)
		return CARRIER_NONE;
	for(i = 0; i < cs->count; i++) {
		if(cs->v[i].work) {
			*work = cs->v[i].work;
			cs->v[i].work = 0;
			cs->work--;
			return i;
		}
	}
	cs->work = 0;
	return CARRIER_NONE;
}

/* the rule */

int carrier_ruled(const struct carrier_config *cfg, const struct carrier *c)
{
	return c != NULL && cfg->window_ms > 0 && cfg->min_lines > 0
		   && c->lines >= cfg->min_lines;
}

uint32_t carrier_threshold(
		const struct carrier_config *cfg, const struct carrier *c)
{
	uint64_t t;

	if(!c->shared || c->lines == 0 || c->owned >= c->lines)
		return cfg->min_lines;
	t = ((uint64_t)cfg->min_lines * c->owned + c->lines - 1) / c->lines;
	return t < 1 ? 1 : (uint32_t)t;
}

void carriers_owned_begin(struct carriers *cs)
{
	uint32_t i;

	cs->shared = 1;
	for(i = 0; i < cs->count; i++) {
		cs->v[i].shared = 1;
		cs->v[i].owned = 0;
	}
}

void carriers_owned_add(struct carriers *cs, const struct carrier_line *l)
{
	struct carrier *c = carriers_get(cs, l->cid);

	if(c)
		c->owned++;
}

int carrier_counts(const struct carrier *c)
{
	return c == NULL || c->state == CARRIER_NORMAL;
}

int carrier_outcome_of(int fail_class, const struct line_config *lcfg)
{
	if(fail_class > LINE_FC_NONE && fail_class < LINE_FC_COUNT
			&& (lcfg->count_classes & LINE_FC_BIT(fail_class)))
		return CARRIER_O_REFUSED;
	if(fail_class == LINE_FC_TIMEOUT || fail_class == LINE_FC_TRANSPORT
			|| fail_class == LINE_FC_SERVER)
		return CARRIER_O_DOWN;
	return CARRIER_O_OTHER;
}

uint32_t carrier_pending(const struct carrier *c, const struct carrier_line *l)
{
	/* a 2xx in the same millisecond proves nothing: in doubt, pending */
	if(c == NULL || l->pend == 0 || l->pend_at < c->last_ok)
		return 0;
	return l->pend;
}

static uint64_t probe_delay(const struct carrier_config *cfg,
		const struct line_config *lcfg, uint32_t n, uint32_t retry_after,
		uint32_t rnd)
{
	struct line_config bounded = *lcfg;
	uint64_t ms, ra;

	if(cfg->probe_max_ms && cfg->probe_max_ms < bounded.retry_max_ms)
		bounded.retry_max_ms = cfg->probe_max_ms;
	ms = line_backoff_ms(n, rnd, &bounded);

	if(retry_after && lcfg->retry_after_max_ms) {
		ra = (uint64_t)retry_after * 1000;
		if(ra > lcfg->retry_after_max_ms)
			ra = lcfg->retry_after_max_ms;
		if(ra > ms)
			ms = ra;
	}
	return ms;
}

static uint32_t *kind_count(struct carrier *c, int kind)
{
	if(kind == CARRIER_O_REFUSED)
		return &c->n_refused;
	if(kind == CARRIER_O_DOWN)
		return &c->n_down;
	return NULL;
}

static void close_epoch(struct carrier *c)
{
	c->ep_start = 0;
	c->n_tried = c->n_refused = c->n_down = 0;
}

/* records a failure in the epoch; 1 when the carrier reached a verdict */
static int epoch_failure(struct carrier *c, const struct carrier_config *cfg,
		struct carrier_line *l, int outcome, uint64_t now)
{
	uint32_t *n, need = carrier_threshold(cfg, c);

	if(c->ep_start == 0 || now - c->ep_start >= cfg->window_ms) {
		close_epoch(c);
		c->ep++;
		if(c->ep == 0)
			c->ep = 1;
		c->ep_start = now ? now : 1;
	}
	if(l->ep != c->ep) {
		l->ep = c->ep;
		l->kind = (uint8_t)outcome;
		c->n_tried++;
		if((n = kind_count(c, outcome)) != NULL)
			(*n)++;
	} else if(l->kind != outcome) {
		if((n = kind_count(c, l->kind)) != NULL && *n)
			(*n)--;
		l->kind = (uint8_t)outcome;
		if((n = kind_count(c, outcome)) != NULL)
			(*n)++;
	}
	if(c->n_refused >= need
			&& (uint64_t)c->n_refused * 100
					   >= (uint64_t)cfg->share_pct * c->n_tried)
		return CARRIER_REFUSING;
	if(c->n_down >= need
			&& (uint64_t)c->n_down * 100
					   >= (uint64_t)cfg->share_pct * c->n_tried)
		return CARRIER_UNREACHABLE;
	return CARRIER_NORMAL;
}

int carrier_on_outcome(struct carriers *cs, const struct carrier_config *cfg,
		const struct line_config *lcfg, struct carrier_line *l, uint32_t id,
		int outcome, int fail_class, int code, int counted,
		uint32_t retry_after, uint32_t rnd, uint64_t now)
{
	struct carrier *c = carriers_get(cs, l->cid);
	int verdict;

	if(c == NULL)
		return 0;
	if(c->probe_id == id)
		c->probe_id = CARRIER_NO_LINE;
	if(outcome == CARRIER_O_OK) {
		c->last_ok = now;
		l->pend = 0;
		close_epoch(c);
		if(c->held)
			set_work(cs, c, CARRIER_W_VERDICT);
		if(c->state == CARRIER_NORMAL)
			return 0;
		c->state = CARRIER_NORMAL;
		c->since = now;
		c->probe_fails = 0;
		set_work(cs, c, CARRIER_W_WAKE);
		return CARRIER_R_RECOVERED;
	}
	c->fail_class = (uint8_t)fail_class;
	c->last_code = code > 0 && code <= UINT16_MAX ? (uint16_t)code : 0;
	if(counted && carrier_ruled(cfg, c)) {
		/* counts before the carrier's last 2xx were confirmed by it */
		if(l->pend_at < c->last_ok)
			l->pend = 0;
		l->pend++;
		l->pend_at = now;
	}
	if(c->state != CARRIER_NORMAL) {
		if(c->probe_id == CARRIER_NO_LINE && now >= c->probe_due) {
			/* the probe's failure (or any failure once it is due) sets
			 * the carrier's next step */
			c->probe_fails++;
			c->probe_due =
					now
					+ probe_delay(cfg, lcfg, c->probe_fails, retry_after, rnd);
			if(c->waiting)
				set_work(cs, c, CARRIER_W_NEXT);
		}
		/* an unreachable carrier that answers again, with refusals */
		if(c->state == CARRIER_UNREACHABLE && outcome == CARRIER_O_REFUSED) {
			c->state = CARRIER_REFUSING;
			c->since = now;
			return CARRIER_R_REFUSING;
		}
		return 0;
	}
	if(!carrier_ruled(cfg, c))
		return 0;
	verdict = epoch_failure(c, cfg, l, outcome, now);
	if(verdict == CARRIER_NORMAL)
		return 0;
	c->state = (uint8_t)verdict;
	c->since = now;
	c->probe_id = CARRIER_NO_LINE;
	c->probe_fails = 1;
	c->probe_due = now + probe_delay(cfg, lcfg, 1, retry_after, rnd);
	close_epoch(c);
	set_work(cs, c, CARRIER_W_ROLLBACK);
	return verdict == CARRIER_REFUSING ? CARRIER_R_REFUSING
									   : CARRIER_R_UNREACHABLE;
}

int carrier_hold_ceiling(struct carriers *cs, const struct carrier_config *cfg,
		struct carrier_line *l)
{
	struct carrier *c = carriers_get(cs, l->cid);

	if(!carrier_ruled(cfg, c) || l->held)
		return l->held;
	if(c->state == CARRIER_NORMAL && carrier_pending(c, l) == 0)
		return 0;
	l->held = 1;
	c->held++;
	set_work(cs, c,
			c->state == CARRIER_NORMAL ? CARRIER_W_VERDICT
									   : CARRIER_W_ROLLBACK);
	return 1;
}

int carrier_verdict(const struct carrier_config *cfg, const struct carrier *c,
		const struct carrier_line *l, uint32_t others_active)
{
	if(c == NULL || l->pend == 0)
		return 1;
	if(carrier_pending(c, l) == 0)
		return c->last_ok - l->pend_at <= cfg->window_ms ? 1 : -1;
	if(c->state != CARRIER_NORMAL)
		return -1;
	if(others_active == 0)
		return 1;
	return 0;
}

void carrier_unhold(struct carriers *cs, struct carrier_line *l)
{
	struct carrier *c = carriers_get(cs, l->cid);

	if(l->held && c && c->held)
		c->held--;
	l->held = 0;
	/* its counts are settled: the route runs, or they were taken back */
	l->pend = 0;
}

void carrier_unwait(struct carriers *cs, struct carrier_line *l)
{
	struct carrier *c = carriers_get(cs, l->cid);

	if(l->waiting && c && c->waiting)
		c->waiting--;
	l->waiting = 0;
}

static void set_wait(
		struct carrier *c, struct carrier_line *l, uint64_t *wake, uint64_t at)
{
	if(!l->waiting) {
		l->waiting = 1;
		c->waiting++;
	}
	*wake = at;
}

int carrier_may_send(struct carriers *cs, const struct carrier_config *cfg,
		struct carrier_line *l, uint32_t id, uint64_t now, uint64_t *wake)
{
	struct carrier *c = carriers_get(cs, l->cid);

	if(c == NULL || c->state == CARRIER_NORMAL || c->probe_id == id) {
		carrier_unwait(cs, l);
		return 1;
	}
	if(c->probe_id != CARRIER_NO_LINE
			&& now - c->probe_sent < cfg->probe_lost_ms) {
		/* parked until the probe is lost at the latest: its failure
		 * wakes one line for the next probe (CARRIER_W_NEXT), its 2xx
		 * every line; no line spins meanwhile */
		set_wait(c, l, wake, c->probe_sent + cfg->probe_lost_ms);
		return 0;
	}
	if(now < c->probe_due) {
		set_wait(c, l, wake, c->probe_due);
		return 0;
	}
	/* this line is the probe */
	c->probe_id = id;
	c->probe_sent = now;
	carrier_unwait(cs, l);
	return 1;
}

static const char *const state_names[CARRIER_STATE_COUNT] = {
		"normal", "refusing", "unreachable"};

const char *carrier_state_name(int state)
{
	return state >= 0 && state < CARRIER_STATE_COUNT ? state_names[state]
													 : "unknown";
}
