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
 * uacreg - lines grouped by carrier: a carrier that refuses everyone (or
 * answers no one) is told apart from one line with wrong credentials.
 *
 * The carrier of a line is where its REGISTERs go: auth_proxy's host:port
 * when set, else r_domain's, lower case, default port filled in. Pure code:
 * data in, decisions out, the caller locks, persists and logs.
 *
 * The rule (see the README's ceiling chapter). An epoch of a carrier starts
 * with its first failure after a 2xx (or after the last epoch passed
 * window_ms) and lasts window_ms; a 2xx from any of its lines ends it. When
 * within one epoch at least min_lines distinct lines failed with a counted
 * class, and they are at least share_pct percent of the distinct lines that
 * failed in it, the carrier is REFUSING; the same with timeouts, transport
 * errors and 5xx makes it UNREACHABLE. Carriers with fewer than min_lines
 * lines never leave NORMAL: their lines follow the per-line rule.
 *
 * Counts are provisional until a 2xx of another line of the carrier comes
 * after them ("pending"): when the carrier is found refusing, the pending
 * counts are rolled back, and a line that reached its ceiling with pending
 * counts is held (no route, no DELETE) until the carrier's verdict is clear.
 *
 * HA active mode spreads a carrier's lines over the nodes, and each node
 * sees only the failures of the lines it sends for. There the thresholds
 * scale with this node's share (carrier_threshold): a carrier refusing
 * everyone must be found by every node, or each node's few lines would
 * follow the per-line rule and be deleted. carrier_ruled() still judges on
 * all the carrier's lines (every node loads every row).
 *
 * While not NORMAL, one line at a time may send (the probe); the others wait
 * until the probe's 2xx brings the carrier back, or until the next probe
 * is due (the carrier's own backoff, Retry-After a floor).
 */
#ifndef UACREG_CARRIER_H
#define UACREG_CARRIER_H

#include <stddef.h>
#include <stdint.h>
#include "ur_alloc.h"
#include "line.h"

#define CARRIER_KEY_MAX 127
#define CARRIER_NONE UINT32_MAX
#define CARRIER_NO_LINE UINT32_MAX

enum carrier_state
{
	CARRIER_NORMAL = 0,
	CARRIER_REFUSING,	 /* counted failures for everyone */
	CARRIER_UNREACHABLE, /* timeouts, transport errors, 5xx for everyone */
	CARRIER_STATE_COUNT
};

/* how the carrier sees a line's final outcome */
enum carrier_outcome
{
	CARRIER_O_OK = 0,  /* 2xx */
	CARRIER_O_REFUSED, /* a class that counts toward the ceiling */
	CARRIER_O_DOWN,	   /* timeout, transport, 5xx */
	CARRIER_O_OTHER,   /* any other failure */
};

struct carrier_config
{
	uint32_t window_ms; /* epoch length; 0 = the carrier rule is off */
	uint32_t min_lines; /* distinct failing lines needed, and carrier size */
	uint32_t share_pct; /* of the distinct lines that failed in the epoch */
	/* a probe is lost (its reply never came) after this long; lines that
	 * wait while a probe is in flight look again then */
	uint32_t probe_lost_ms;
	/* bound on the probe's backoff (below the lines' retry_max): a carrier
	 * that is back is found within this long; 0 = retry_max alone */
	uint32_t probe_max_ms;
};

struct carrier
{
	char key[CARRIER_KEY_MAX + 1];
	uint16_t key_len;
	uint8_t state;		/* enum carrier_state */
	uint8_t fail_class; /* enum line_fail_class of the last failure */
	uint16_t last_code;
	uint32_t hash;
	uint32_t next; /* hash chain: index, CARRIER_NONE ends it */
	uint32_t lines;
	uint64_t last_ok; /* ms of the last 2xx, 0 = never */
	uint64_t since;	  /* ms the state began */
	/* the current epoch */
	uint32_t ep;
	uint64_t ep_start; /* 0 = no epoch open */
	uint32_t n_tried, n_refused, n_down;
	/* the probe */
	uint32_t probe_id; /* line in flight as the probe, CARRIER_NO_LINE */
	uint64_t probe_sent;
	uint64_t probe_due; /* the next probe may go at */
	uint32_t probe_fails;
	/* lines stopped at their ceiling whose route waits for a verdict */
	uint32_t held;
	/* lines waiting for the probe (not sent) */
	uint32_t waiting;
	/* the glue has work for this carrier's lines (see carrier_take_work) */
	uint8_t work;
	/* HA active: the lines are spread over the nodes, and this node sends
	 * for `owned` of them (carriers_owned_begin/_add) */
	uint8_t shared;
	uint32_t owned;
};

/* work the glue owes a carrier's lines (bits of carrier.work) */
#define CARRIER_W_ROLLBACK 0x01 /* roll back pending counts, unhold */
#define CARRIER_W_WAKE 0x02		/* waiting lines go now (recovered) */
#define CARRIER_W_VERDICT 0x04	/* held lines: confirmed or not */
#define CARRIER_W_NEXT \
	0x08 /* a probe failed: one waiting line is due
								 * at probe_due, to be the next probe */

/* one line's view of its carrier; lives in the line's record */
struct carrier_line
{
	uint32_t cid; /* CARRIER_NONE = none */
	uint32_t ep;  /* epoch of the line's last recorded failure, 0 = none */
	uint8_t kind; /* enum carrier_outcome recorded in that epoch */
	uint8_t held; /* at its ceiling, route held */
	uint8_t waiting;
	uint8_t pad;
	uint32_t pend;	  /* counted failures not confirmed by a later 2xx */
	uint64_t pend_at; /* ms of the latest of them */
};

struct carriers
{
	const struct ur_alloc *mem;
	struct carrier *v;
	uint32_t count, cap;
	uint32_t *buckets;
	uint32_t nbuckets;
	uint32_t work; /* carriers with work set */
	/* HA active (carriers_owned_begin was called): a carrier made later is
	 * shared with owned 0 until the next count, i.e. threshold 1 */
	uint8_t shared;
};

/* Bits returned by carrier_on_outcome */
#define CARRIER_R_REFUSING 0x01	   /* started refusing now */
#define CARRIER_R_UNREACHABLE 0x02 /* became unreachable now */
#define CARRIER_R_RECOVERED 0x04   /* back to normal now */

/* The key of a row: proxy (auth_proxy, may be empty) else domain
 * (r_domain). Writes at most CARRIER_KEY_MAX characters and a NUL; returns
 * the length, 0 when neither names a host. */
size_t carrier_key(char *buf, ur_str_t proxy, ur_str_t domain);

int carriers_init(struct carriers *cs, const struct ur_alloc *mem);
void carriers_destroy(struct carriers *cs);
/* A line joins the carrier of key (made on first use). Returns its index,
 * CARRIER_NONE when out of memory. Indices stay valid: a carrier whose last
 * line left is kept (a reload usually brings it back). */
uint32_t carriers_bind(struct carriers *cs, ur_str_t key);
/* A line leaves; its held/waiting/epoch marks leave with it. */
void carriers_unbind(struct carriers *cs, struct carrier_line *l);
struct carrier *carriers_get(struct carriers *cs, uint32_t cid);
struct carrier *carriers_find(struct carriers *cs, ur_str_t key);

/* The carrier rule applies to this carrier (enough lines, rule on). */
int carrier_ruled(const struct carrier_config *cfg, const struct carrier *c);

/* Distinct failing lines of one epoch that make the carrier refusing (or
 * unreachable): min_lines, or on a carrier shared with other nodes
 * max(1, ceil(min_lines * owned / lines)), never above min_lines: when in
 * doubt the carrier refuses and no line is deleted. */
uint32_t carrier_threshold(
		const struct carrier_config *cfg, const struct carrier *c);

/* HA active, under the caller's lock: every carrier becomes shared and its
 * owned count restarts at 0; then carriers_owned_add for each line this
 * node owns. Never called with ha_mode off or standby (all lines counted
 * as in one node). */
void carriers_owned_begin(struct carriers *cs);
void carriers_owned_add(struct carriers *cs, const struct carrier_line *l);

/* Whether a failure now counts toward the line's ceiling. */
int carrier_counts(const struct carrier *c);

/* Class of a failure as the carrier sees it */
int carrier_outcome_of(int fail_class, const struct line_config *lcfg);

/* A final outcome of line id. counted: the line's fail_count grew by one
 * (LINE_R_COUNT on a failure). retry_after: seconds, 0 absent. rnd: for
 * the probe's backoff jitter. Returns CARRIER_R_* bits; sets c->work. */
int carrier_on_outcome(struct carriers *cs, const struct carrier_config *cfg,
		const struct line_config *lcfg, struct carrier_line *l, uint32_t id,
		int outcome, int fail_class, int code, int counted,
		uint32_t retry_after, uint32_t rnd, uint64_t now);

/* Counted failures of the line not yet confirmed by another line's 2xx. */
uint32_t carrier_pending(const struct carrier *c, const struct carrier_line *l);

/* The line just reached its ceiling: 1 = hold its route (pending counts
 * on a ruled carrier), 0 = run it now. Marks the line held. */
int carrier_hold_ceiling(struct carriers *cs, const struct carrier_config *cfg,
		struct carrier_line *l);

/* Verdict for a held line: 1 = run the route (another line's 2xx within
 * window_ms after its last failure confirmed it), -1 = roll back (the
 * carrier is refusing, or the only 2xx came so long after that it proves
 * nothing about that failure: the line retries), 0 = hold on.
 * others_active: other lines of the carrier that could still register; with
 * none, the per-line rule. */
int carrier_verdict(const struct carrier_config *cfg, const struct carrier *c,
		const struct carrier_line *l, uint32_t others_active);
/* The line leaves hold (route runs, or rolled back); its pending counts
 * are settled */
void carrier_unhold(struct carriers *cs, struct carrier_line *l);

/* May line id start a REGISTER now? 1 = yes (it may become the probe);
 * 0 = wait until *wake. */
int carrier_may_send(struct carriers *cs, const struct carrier_config *cfg,
		struct carrier_line *l, uint32_t id, uint64_t now, uint64_t *wake);
/* the line no longer waits (sent, or woken) */
void carrier_unwait(struct carriers *cs, struct carrier_line *l);

/* Next carrier with work, its bits cleared; CARRIER_NONE when none. */
uint32_t carriers_take_work(struct carriers *cs, uint8_t *work);

const char *carrier_state_name(int state);

#endif
