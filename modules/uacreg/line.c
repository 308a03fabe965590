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
 * uacreg - the registration state machine of one line (see line.h).
 *
 * Pure: no I/O, no logging, no allocation, no clock, no randomness of its
 * own. Everything the machine knows comes in through struct line_env and
 * struct line_reply, so a unit test or a fuzzer can drive it exactly.
 *
 * Two rules hold everywhere:
 *  - sm->due is 0 only for "never": a due time computed at a clock of 0 is
 *    moved to 1, so a line is never silently parked.
 *  - a reply is taken only for the request in flight (same attempt id, and a
 *    sending state with no send pending); anything else is a late reply to a
 *    request that was abandoned or already answered.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "line.h"

/* RFC 3261 8.1.1.5: the CSeq sequence number MUST be less than 2**31. A
 * dialog that would pass it is left for a new one. */
#define LINE_CSEQ_MAX 0x7fffffffu

/* Timing helpers (saturating: a hostile Retry-After or Expires must not wrap
 * a due time into the past). */

static uint64_t add_ms(uint64_t t, uint64_t ms)
{
	return ms > UINT64_MAX - t ? UINT64_MAX : t + ms;
}

static uint64_t due_in(const struct line_env *env, uint64_t ms)
{
	uint64_t t = add_ms(env->now, ms);

	return t ? t : 1;
}

static uint32_t inc_u32(uint32_t v)
{
	return v == UINT32_MAX ? v : v + 1;
}

/* Effective settings */

static int reauth_new_dialog_of(
		const struct line_sm *sm, const struct line_config *cfg)
{
	return sm->reauth_new_dialog >= 0 ? sm->reauth_new_dialog
									  : cfg->reauth_new_dialog;
}

uint32_t line_ceiling(const struct line_sm *sm, const struct line_config *cfg)
{
	return sm->fail_ceiling >= 0 ? (uint32_t)sm->fail_ceiling
								 : cfg->fail_ceiling;
}

int line_new_dialog_in_use(
		const struct line_sm *sm, const struct line_config *cfg)
{
	int mode = reauth_new_dialog_of(sm, cfg);

	return mode == LINE_REAUTH_NEW_DIALOG
		   || (mode == LINE_REAUTH_AUTO && sm->new_dialog_learnt);
}

static int class_counts(const struct line_config *cfg, int fc)
{
	/* our own failures say nothing about the row: never counted */
	return fc > LINE_FC_NONE && fc < LINE_FC_COUNT && fc != LINE_FC_LOCAL
		   && (cfg->count_classes & LINE_FC_BIT(fc)) != 0;
}

/* A request is in flight when a sending state has no send pending: only then
 * can a reply belong to it. */
static int in_flight(const struct line_sm *sm)
{
	return sm->due == 0
		   && (sm->state == LINE_REGISTERING || sm->state == LINE_AUTHENTICATING
				   || sm->state == LINE_UNREGISTERING);
}

/* The event route hears about a state once: a refresh that goes REGISTERED ->
 * REGISTERING -> REGISTERED, or a second failure in a row, says nothing. */
static int announce(struct line_sm *sm)
{
	if(sm->announced == sm->state)
		return 0;
	sm->announced = sm->state;
	return LINE_R_STATE;
}

/* Kept nonces can be used while their counts can still grow (nc is 8 hex
 * digits on the wire). */
static int nonce_usable(const struct line_sm *sm)
{
	int k;

	if(!sm->have_nonce)
		return 0;
	for(k = 0; k < LINE_CH_KINDS; k++)
		if((sm->have_nonce & LINE_CH_BIT(k)) && sm->nc[k] == UINT32_MAX)
			return 0;
	return 1;
}

int line_ch_kind(int code)
{
	return code == 407 ? LINE_CH_PROXY : LINE_CH_WWW;
}

/* What a request carries for each kind: a kept nonce never used yet is the
 * first answer to its challenge (ANSWER), one used before is REUSED. Only
 * an ANSWER refused again in the same realm is a wrong password. */
static void set_auth_sent(struct line_sm *sm, int with_auth)
{
	int k;

	for(k = 0; k < LINE_CH_KINDS; k++) {
		if(!with_auth || !(sm->have_nonce & LINE_CH_BIT(k)))
			sm->auth_sent[k] = LINE_AUTH_NONE;
		else
			sm->auth_sent[k] =
					sm->nc[k] == 0 ? LINE_AUTH_ANSWER : LINE_AUTH_REUSED;
	}
}

static int sent_any_auth(const struct line_sm *sm)
{
	int k;

	for(k = 0; k < LINE_CH_KINDS; k++)
		if(sm->auth_sent[k] != LINE_AUTH_NONE)
			return 1;
	return 0;
}

/* line_init */

int line_init(struct line_sm *sm, uint32_t expires, int disabled,
		uint64_t delay_ms, const struct line_env *env)
{
	uint32_t ceiling = line_ceiling(sm, env->cfg);

	sm->expires = expires;
	/* A disabled row sends nothing, so it needs no ceiling: this is how a
	 * row kept by the ceiling route stays kept across restarts. */
	if(disabled) {
		sm->state = sm->announced = LINE_DISABLED;
		sm->due = 0;
		return 0;
	}
	/* the persisted count comes next: a restart must never send for a line
	 * that already reached its ceiling */
	if(ceiling > 0 && sm->fail_count >= ceiling) {
		sm->state = sm->announced = LINE_CEILING;
		sm->due = 0;
		return LINE_R_CEILING | LINE_R_STATE;
	}
	sm->state = sm->announced = LINE_NEW;
	sm->due = due_in(env, delay_ms);
	return 0;
}

/* line_on_due: each plan_* chooses what to send and the state it leaves the
 * line in; send_commit() does what every send does. */

/* A registration from scratch: old nonces are forgotten, since a carrier that
 * made us wait may well have forgotten them too. */
static void plan_fresh(struct line_sm *sm, struct line_send *s)
{
	sm->planned_refresh = 0;
	sm->have_nonce = 0;
	sm->n423 = 0;
	sm->n_stale = 0;
	sm->ch_rounds = 0;
	sm->state = LINE_REGISTERING;
	set_auth_sent(sm, 0);
	s->in_new_dialog = 1;
	s->with_auth = 0;
	s->expires = sm->expires;
}

/* Credentials always travel the way the line's dialog mode says: the carriers
 * of mode 1 (and auto after its switch) refuse them in the same dialog. A
 * request with credentials answers every kept challenge (Authorization and
 * Proxy-Authorization together). */
static void plan_with_auth(
		struct line_sm *sm, const struct line_config *cfg, struct line_send *s)
{
	sm->state = LINE_AUTHENTICATING;
	set_auth_sent(sm, 1);
	s->with_auth = 1;
	s->in_new_dialog = line_new_dialog_in_use(sm, cfg);
	s->expires = sm->expires;
}

static void plan_without_auth(struct line_sm *sm, struct line_send *s)
{
	sm->state = LINE_REGISTERING;
	set_auth_sent(sm, 0);
	s->with_auth = 0;
	s->in_new_dialog = 0;
	s->expires = sm->expires;
}

/* Refresh: one request instead of two when the carrier lets a nonce live. */
static void plan_refresh(
		struct line_sm *sm, const struct line_config *cfg, struct line_send *s)
{
	sm->ch_rounds = 0; /* a new attempt */
	if(nonce_usable(sm) && cfg->reuse_nonce)
		plan_with_auth(sm, cfg, s);
	else
		plan_without_auth(sm, s);
}

static void plan_answer(
		struct line_sm *sm, const struct line_config *cfg, struct line_send *s)
{
	/* CHALLENGED always keeps a nonce; should it not, starting over is the
	 * only thing that cannot loop */
	if(!nonce_usable(sm))
		plan_fresh(sm, s);
	else
		plan_with_auth(sm, cfg, s);
}

/* Resend after a 423 (Min-Expires raised): the same kind of request as the
 * one refused. Credentials carry a nonce already used, hence REUSED: a 401 to
 * them is a new challenge, not a wrong password. */
static void plan_resend(
		struct line_sm *sm, const struct line_config *cfg, struct line_send *s)
{
	if(sm->state == LINE_AUTHENTICATING && nonce_usable(sm))
		plan_with_auth(sm, cfg, s);
	else
		plan_without_auth(sm, s);
}

/* Unregister. A nonce never used yet (nc == 0: the unregister, or the
 * REGISTER before it, was just challenged) is answered as ANSWER so that a
 * second 401 in its realm ends the unregister; an older nonce is REUSED and
 * may earn one fresh challenge. ch_rounds bounds the requests. */
static void plan_unregister(
		struct line_sm *sm, const struct line_config *cfg, struct line_send *s)
{
	s->expires = 0;
	if(nonce_usable(sm)) {
		set_auth_sent(sm, 1);
		s->with_auth = 1;
		s->in_new_dialog = line_new_dialog_in_use(sm, cfg);
	} else {
		set_auth_sent(sm, 0);
		s->with_auth = 0;
		s->in_new_dialog = 0;
	}
}

static void send_commit(
		struct line_sm *sm, struct line_send *s, const struct line_env *env)
{
	/* a line that never had a dialog, or whose CSeq would leave the range
	 * SIP allows, cannot continue one */
	if(sm->cseq == 0 || sm->cseq >= LINE_CSEQ_MAX)
		s->in_new_dialog = 1;
	sm->cseq = s->in_new_dialog ? 1 : sm->cseq + 1;
	if(s->with_auth) {
		int k;
		for(k = 0; k < LINE_CH_KINDS; k++)
			if(sm->have_nonce & LINE_CH_BIT(k))
				sm->nc[k]++;
	}
	sm->attempt++;
	sm->due = 0;
	sm->last_sent = env->now;
	sm->in_new_dialog = s->in_new_dialog ? 1 : 0;
	s->send = 1;
	s->cseq = sm->cseq;
	s->attempt = sm->attempt;
}

int line_due_is_planned_refresh(const struct line_sm *sm)
{
	return sm->planned_refresh
		   && (sm->state == LINE_REGISTERED || sm->state == LINE_CHALLENGED);
}

struct line_send line_on_due(struct line_sm *sm, const struct line_env *env)
{
	struct line_send s = {0};
	const struct line_config *cfg = env->cfg;

	if(sm->due == 0 || sm->due > env->now)
		return s;
	switch(sm->state) {
		case LINE_NEW:
		case LINE_RETRY_WAIT:
			plan_fresh(sm, &s);
			break;
		case LINE_REGISTERED:
			plan_refresh(sm, cfg, &s);
			break;
		case LINE_CHALLENGED:
			plan_answer(sm, cfg, &s);
			break;
		case LINE_REGISTERING:
		case LINE_AUTHENTICATING:
			plan_resend(sm, cfg, &s);
			break;
		case LINE_UNREGISTERING:
			plan_unregister(sm, cfg, &s);
			break;
		default: /* DISABLED, CEILING, REMOVED: nothing, ever */
			sm->due = 0;
			return s;
	}
	send_commit(sm, &s, env);
	return s;
}

/* Failures */

/* Carriers that name a longer wait than our backoff get it, within bounds;
 * a shorter one does not shorten the backoff (Retry-After: 1 on every reply
 * would be a retry storm). A bound of 0 means the admin does not let
 * carriers choose. */
static uint64_t retry_delay_ms(const struct line_sm *sm, uint32_t retry_after,
		const struct line_env *env)
{
	uint64_t backoff = line_backoff_ms(sm->retries, env->rnd, env->cfg);
	uint64_t ms;

	if(retry_after == 0 || env->cfg->retry_after_max_ms == 0)
		return backoff;
	ms = (uint64_t)retry_after * 1000;
	if(ms > env->cfg->retry_after_max_ms)
		ms = env->cfg->retry_after_max_ms;
	return ms > backoff ? ms : backoff;
}

static int fail(struct line_sm *sm, int fc, uint32_t retry_after,
		const struct line_env *env)
{
	const struct line_config *cfg = env->cfg;
	uint32_t ceiling;
	int ret = LINE_R_FAILED;

	sm->fail_class = fc;
	sm->retries = inc_u32(sm->retries);
	/* the next attempt starts over; a nonce that led here is worth nothing */
	sm->have_nonce = 0;
	/* an earlier registration may still be valid at the carrier: disable
	 * and remove must still unregister it */
	if(env->now >= sm->expires_at)
		sm->expires_at = 0;
	if(class_counts(cfg, fc) && !env->no_count) {
		sm->fail_count = inc_u32(sm->fail_count);
		ret |= LINE_R_COUNT;
		ceiling = line_ceiling(sm, cfg);
		if(ceiling > 0 && sm->fail_count >= ceiling) {
			/* stop at once: another try with the same bad data could get
			 * the account locked by the carrier */
			sm->state = sm->announced = LINE_CEILING;
			sm->due = 0;
			return ret | LINE_R_CEILING | LINE_R_STATE;
		}
	}
	sm->state = LINE_RETRY_WAIT;
	sm->due = due_in(env, retry_delay_ms(sm, retry_after, env));
	return ret | announce(sm);
}

/* A reply the stack made itself is never the carrier's verdict: it must not
 * count as forbidden or bad credentials, whatever code it carries. */
static int local_class(int code)
{
	return code == 408 ? LINE_FC_TIMEOUT : LINE_FC_TRANSPORT;
}

static int code_class(int code)
{
	if(code == 403)
		return LINE_FC_FORBIDDEN;
	if(code == 404)
		return LINE_FC_NOT_FOUND;
	if(code == 408)
		return LINE_FC_TIMEOUT;
	if(code >= 500 && code <= 599)
		return LINE_FC_SERVER;
	if(code >= 600 && code <= 699)
		return LINE_FC_GLOBAL;
	return LINE_FC_OTHER;
}

/* Replies */

static int is_challenge_code(int code)
{
	return code == 401 || code == 407;
}

/* The row's realm pins the carrier: credentials are never computed for a
 * realm someone else chose. It pins the registrar (401) always, and a proxy
 * (407) too, unless the row names that proxy itself (auth_proxy): then the
 * admin chose the party that challenges, and its realm is its own. A 407
 * in another realm through a proxy the row does not name is refused
 * (bad_challenge, never counted): empty the row's realm, or name the
 * proxy, to let it through. */
static int realm_ok(const struct line_reply *r, ur_str_t row_realm)
{
	if(row_realm.len == 0 || ur_str_eq(row_realm, r->ch.realm))
		return 1;
	return line_ch_kind(r->code) == LINE_CH_PROXY && r->row_has_proxy;
}

/* The reply challenges again, in the same realm, the credentials the
 * request gave as the first answer to a challenge of that kind: only this
 * can say the password is wrong (unless stale=true). */
static int refuses_answer(const struct line_sm *sm, const struct line_reply *r)
{
	int k = line_ch_kind(r->code);

	return sm->auth_sent[k] == LINE_AUTH_ANSWER
		   && ur_str_eq(r->kept_realm, r->ch.realm);
}

static int keep_challenge(struct line_sm *sm, const struct line_reply *r,
		const struct line_env *env)
{
	int k = line_ch_kind(r->code);

	sm->have_nonce |= LINE_CH_BIT(k);
	sm->nc[k] = 0;
	sm->due = due_in(env, 0);
	return LINE_R_KEEP_CHALLENGE;
}

/* Where an unregister leads: the command that started it said (line_stop),
 * or line_enable changed its mind meanwhile. */
static uint8_t after_unregister(const struct line_sm *sm)
{
	if(sm->after_unregister == LINE_REMOVED || sm->after_unregister == LINE_NEW)
		return sm->after_unregister;
	return LINE_DISABLED;
}

static int unregister_done(struct line_sm *sm, const struct line_env *env)
{
	int ret;

	sm->state = after_unregister(sm);
	sm->expires_at = 0;
	sm->due = 0;
	ret = announce(sm);
	if(sm->state == LINE_REMOVED)
		return ret | LINE_R_GONE;
	if(sm->state == LINE_NEW) {
		/* line_enable came while unregistering: register again only now,
		 * so the Expires: 0 cannot overtake and undo the new binding */
		sm->due = due_in(env, 0);
	}
	return ret;
}

/* Unregistering ends on any final reply but one: a challenge we can still
 * answer. Its outcome changes nothing more: the line goes where the command
 * said. */
static int on_unregister_reply(struct line_sm *sm, const struct line_reply *r,
		ur_str_t row_realm, const struct line_env *env)
{
	if(!r->local && is_challenge_code(r->code) && r->has_challenge
			&& realm_ok(r, row_realm) && !refuses_answer(sm, r)
			&& sm->ch_rounds < LINE_CH_ROUNDS_MAX) {
		sm->ch_rounds++;
		return keep_challenge(sm, r, env);
	}
	return unregister_done(sm, env);
}

static int on_2xx(struct line_sm *sm, const struct line_reply *r,
		const struct line_env *env)
{
	uint64_t granted = r->granted >= 0 ? (uint64_t)r->granted : sm->expires;
	int ret = LINE_R_REGISTERED;

	/* the registrar bound nothing: not registered, whatever the code says */
	if(granted == 0)
		return fail(sm, LINE_FC_OTHER, r->retry_after, env);
	if(granted > UINT32_MAX)
		granted = UINT32_MAX;
	sm->granted = (uint32_t)granted;
	sm->state = LINE_REGISTERED;
	sm->expires_at = due_in(env, granted * 1000);
	sm->due = line_refresh_due(env->now, sm->granted, env->cfg);
	sm->planned_refresh = 1;
	sm->retries = 0;
	sm->n423 = 0;
	sm->n_stale = 0;
	sm->ch_rounds = 0;
	sm->fail_class = LINE_FC_NONE;
	if(sm->fail_count != 0) {
		sm->fail_count = 0;
		ret |= LINE_R_COUNT;
	}
	return ret | announce(sm);
}

/* 401/407. Only credentials computed for this very challenge (same kind,
 * same realm, first use of its nonce) and refused without stale=true say
 * the password is wrong. A challenge to a request without credentials of
 * that kind, to a reused nonce, in another realm (a proxy's 407, then the
 * registrar's 401: RFC 3261 22.3), or a stale nonce is the carrier asking
 * (again): kept next to the other kind's, and both are answered. */
static int on_challenge(struct line_sm *sm, const struct line_reply *r,
		ur_str_t row_realm, const struct line_env *env)
{
	int ret;

	if(!r->has_challenge || !realm_ok(r, row_realm))
		return fail(sm, LINE_FC_BAD_CHALLENGE, r->retry_after, env);
	if(refuses_answer(sm, r)) {
		if(!r->ch.stale)
			return fail(sm, LINE_FC_BAD_AUTH, r->retry_after, env);
		/* a carrier that calls every answer stale would keep us resending
		 * at once, forever: after max_423 in a row it is a broken
		 * challenge */
		if(sm->n_stale >= env->cfg->max_423 || sm->n_stale == UINT8_MAX)
			return fail(sm, LINE_FC_BAD_CHALLENGE, r->retry_after, env);
		sm->n_stale++;
	} else {
		/* challenge after challenge in new realms: a broken carrier, not
		 * a wrong password */
		if(sm->ch_rounds >= LINE_CH_ROUNDS_MAX)
			return fail(sm, LINE_FC_BAD_CHALLENGE, r->retry_after, env);
		sm->ch_rounds++;
	}
	ret = keep_challenge(sm, r, env);
	sm->state = LINE_CHALLENGED;
	return ret;
}

/* 400. The auto mode's single switch: a carrier that refuses credentials in
 * the same dialog ("Invalid CSeq number") takes them in a new one; the line
 * remembers it. The new dialog starts without credentials: the kept nonces
 * belong to the old dialog (a refresh's may be hours old), and an answer
 * built from them would be refused as if the password were wrong. A 400 is
 * never a verdict on the credentials (Bad Request): any other is OTHER. */
static int on_400(struct line_sm *sm, const struct line_reply *r,
		const struct line_env *env)
{
	const struct line_config *cfg = env->cfg;

	if(sent_any_auth(sm) && !sm->in_new_dialog
			&& reauth_new_dialog_of(sm, cfg) == LINE_REAUTH_AUTO
			&& !sm->new_dialog_learnt && sm->have_nonce) {
		sm->new_dialog_learnt = 1;
		/* a registration from scratch (plan_fresh: a new dialog), at once;
		 * not announced, the line did not fail */
		sm->have_nonce = 0;
		sm->state = LINE_NEW;
		sm->due = due_in(env, 0);
		return LINE_R_NEW_DIALOG_LEARNT;
	}
	return fail(sm, LINE_FC_OTHER, r->retry_after, env);
}

/* 423: ask again at once for at least Min-Expires, a bounded number of times
 * (a carrier that keeps raising it would otherwise keep us busy). */
static int on_423(struct line_sm *sm, const struct line_reply *r,
		const struct line_env *env)
{
	uint32_t want = r->min_expires, cap = env->cfg->min_expires_max;

	if(r->min_expires == 0 || sm->n423 >= env->cfg->max_423
			|| sm->n423 == UINT8_MAX)
		return fail(sm, LINE_FC_OTHER, r->retry_after, env);
	/* a hostile Min-Expires (4294967295) would bind the line for ever:
	 * ask for at most the cap, and give up when the cap is already asked */
	if(cap > 0 && want > cap) {
		if(sm->expires >= cap)
			return fail(sm, LINE_FC_OTHER, r->retry_after, env);
		want = cap;
	}
	sm->n423++;
	if(want > sm->expires)
		sm->expires = want;
	sm->due = due_in(env, 0);
	return 0;
}

/* Where a disable or remove goes once nothing is in flight: unregister
 * while a binding may be valid, else straight to its end state. */
static int stop_now(
		struct line_sm *sm, uint8_t after, const struct line_env *env)
{
	int ret;

	sm->stopping = 0;
	if(sm->expires_at > env->now) {
		sm->state = LINE_UNREGISTERING;
		sm->after_unregister = after;
		sm->ch_rounds = 0;
		sm->due = due_in(env, 0);
		return announce(sm);
	}
	sm->state = after;
	sm->due = 0;
	sm->expires_at = 0;
	ret = announce(sm);
	return after == LINE_REMOVED ? ret | LINE_R_GONE : ret;
}

/* The final reply a disable or remove waited for. It is no verdict on the
 * line any more (nothing counts); a 2xx made a binding that the unregister
 * must now remove, whatever expiry it got. */
static int on_reply_stopping(struct line_sm *sm, const struct line_reply *r,
		const struct line_env *env)
{
	uint64_t granted;

	if(!r->local && r->code >= 200 && r->code <= 299) {
		granted = r->granted >= 0 ? (uint64_t)r->granted : sm->expires;
		if(granted > UINT32_MAX)
			granted = UINT32_MAX;
		if(granted > 0)
			sm->expires_at = due_in(env, granted * 1000);
	}
	return stop_now(sm, sm->stopping, env);
}

int line_on_reply(struct line_sm *sm, const struct line_reply *r,
		ur_str_t row_realm, const struct line_env *env)
{
	int code = r->code;

	if(r->attempt != sm->attempt || !in_flight(sm))
		return LINE_R_IGNORED;
	sm->last_code = code > 0 && code <= UINT16_MAX ? (uint16_t)code : 0;
	if(sm->stopping && sm->state != LINE_UNREGISTERING)
		return on_reply_stopping(sm, r, env);
	if(sm->state == LINE_UNREGISTERING)
		return on_unregister_reply(sm, r, row_realm, env);
	if(r->local)
		return fail(sm, local_class(code), 0, env);
	if(code >= 200 && code <= 299)
		return on_2xx(sm, r, env);
	if(is_challenge_code(code))
		return on_challenge(sm, r, row_realm, env);
	if(code == 400)
		return on_400(sm, r, env);
	if(code == 423)
		return on_423(sm, r, env);
	/* 1xx and other codes out of range are not final replies: OTHER */
	return fail(sm, code_class(code), r->retry_after, env);
}

int line_on_send_error(
		struct line_sm *sm, uint32_t attempt, const struct line_env *env)
{
	if(attempt != sm->attempt || !in_flight(sm))
		return LINE_R_IGNORED;
	return line_on_local_error(sm, env);
}

int line_on_local_error(struct line_sm *sm, const struct line_env *env)
{
	switch(sm->state) {
		case LINE_REGISTERING:
		case LINE_CHALLENGED:
		case LINE_AUTHENTICATING:
			break;
		case LINE_UNREGISTERING:
			/* an unregister that cannot go on is over: the binding expires
			 * alone, and a retry loop must not keep a disabled or removed
			 * line alive */
			return unregister_done(sm, env);
		default:
			return 0;
	}
	if(sm->stopping)
		return stop_now(sm, sm->stopping, env);
	return fail(sm, LINE_FC_LOCAL, 0, env);
}

/* Operator commands */

int line_enable(struct line_sm *sm, const struct line_env *env)
{
	if(sm->stopping == LINE_DISABLED) {
		/* the disable was still waiting for the request in flight */
		sm->stopping = 0;
		return 0;
	}
	if(sm->state == LINE_UNREGISTERING
			&& sm->after_unregister == LINE_DISABLED) {
		/* let the unregister in flight finish first (see unregister_done) */
		sm->after_unregister = LINE_NEW;
		return 0;
	}
	if(sm->state != LINE_DISABLED)
		return 0;
	sm->state = LINE_NEW;
	sm->due = due_in(env, 0);
	return announce(sm);
}

/* disable and remove. A line that may hold a binding at the carrier
 * unregisters first. A REGISTER in flight is waited for (RFC 3261 10.2: no
 * new request for the binding before the previous one has its final
 * response): an unREGISTER that overtook it would be undone by it. Only
 * the shutdown (wait = 0) abandons it (attempt++: its reply is ignored). */
static int line_stop(
		struct line_sm *sm, uint8_t after, int wait, const struct line_env *env)
{
	switch(sm->state) {
		case LINE_REMOVED:
			return after == LINE_REMOVED ? LINE_R_GONE : 0;
		case LINE_DISABLED:
		case LINE_CEILING:
			/* a line at the ceiling belongs to the ceiling route: only
			 * remove moves it, and without a word to the carrier */
			if(after != LINE_REMOVED)
				return 0;
			sm->state = LINE_REMOVED;
			sm->due = 0;
			return announce(sm) | LINE_R_GONE;
		case LINE_UNREGISTERING:
			/* the unregister goes on; remove is final, a disable cannot
			 * bring a removed line back */
			if(sm->after_unregister != LINE_REMOVED)
				sm->after_unregister = after;
			return 0;
		default:
			break;
	}
	if(in_flight(sm)) {
		if(wait) {
			/* remove is final: a disable cannot bring it back */
			if(sm->stopping != LINE_REMOVED)
				sm->stopping = after;
			return 0;
		}
		/* it may still create a binding: unregister whatever it got */
		sm->attempt++;
		if(sm->expires_at <= env->now)
			sm->expires_at = due_in(env, (uint64_t)sm->expires * 1000);
	}
	return stop_now(sm, after, env);
}

int line_disable(struct line_sm *sm, const struct line_env *env)
{
	return line_stop(sm, LINE_DISABLED, 1, env);
}

int line_remove(struct line_sm *sm, const struct line_env *env)
{
	return line_stop(sm, LINE_REMOVED, 1, env);
}

int line_shutdown(struct line_sm *sm, const struct line_env *env)
{
	return line_stop(sm, LINE_DISABLED, 0, env);
}

/* Not a state change: the line just becomes due now. */
int line_refresh(struct line_sm *sm, const struct line_env *env)
{
	if(sm->state == LINE_REGISTERED || sm->state == LINE_NEW
			|| sm->state == LINE_RETRY_WAIT) {
		sm->due = due_in(env, 0);
		sm->planned_refresh = 0; /* one of many made due now at once */
	}
	return 0;
}

int line_reset(struct line_sm *sm, const struct line_env *env)
{
	int ret = 0;

	/* An operator's reset of a line at its ceiling takes it back: it
	 * registers again from a count of 0, and the glue drops the ceiling's
	 * pending route and delete. */
	if(sm->state == LINE_CEILING) {
		sm->state = LINE_NEW;
		sm->due = due_in(env, 0);
		ret |= announce(sm);
	}
	if(sm->fail_count != 0) {
		sm->fail_count = 0;
		ret |= LINE_R_COUNT;
	}
	sm->retries = 0;
	if(sm->state == LINE_RETRY_WAIT)
		sm->due = due_in(env, 0);
	return ret;
}

/* What the release keeps, and why:
 * - fail_count stays as it is and is not reported: the owner's count is the
 *   one in SQL (it reads it when it claims the line, and so does this node
 *   if it claims the line back), and a LINE_R_COUNT here would have this
 *   node write a count for a line it does not own.
 * - a line at its CEILING becomes NEW like any other: the verdict is the
 *   owner's now, from the count in SQL. The glue's ceiling flow already
 *   under way is not stopped here (pending, in_ceiling are the glue's): its
 *   route and write are conditioned on this node's owner epoch in SQL, which
 *   the new owner has changed, so they delete nothing.
 * - a disable or remove already given is not undone by the release: it
 *   ends now, without the unregister it was waiting for or sending. */
int line_release(struct line_sm *sm)
{
	uint8_t end = 0;
	int ret;

	if(sm->state == LINE_UNREGISTERING)
		end = after_unregister(sm);
	else if(sm->stopping)
		end = sm->stopping;
	/* a reply to the request in flight is no longer for this line */
	sm->attempt++;
	sm->stopping = 0;
	sm->due = 0;
	sm->expires_at = 0;
	sm->have_nonce = 0;
	sm->ch_rounds = 0;
	sm->retries = 0;
	if(sm->state == LINE_DISABLED || sm->state == LINE_REMOVED)
		return 0;
	if(end == LINE_DISABLED || end == LINE_REMOVED) {
		sm->state = end;
		ret = announce(sm);
		return end == LINE_REMOVED ? ret | LINE_R_GONE : ret;
	}
	/* silent: the glue tells of the loss itself (its own event) */
	sm->state = sm->announced = LINE_NEW;
	return 0;
}

int line_adopt(struct line_sm *sm, const struct line_sm *old,
		const struct line_env *env)
{
	if(sm->state != LINE_NEW || !old->have_nonce || old->expires_at <= env->now)
		return 0;
	sm->cseq = old->cseq;
	memcpy(sm->nc, old->nc, sizeof(sm->nc));
	sm->have_nonce = old->have_nonce;
	if(sm->reauth_new_dialog == old->reauth_new_dialog)
		sm->new_dialog_learnt = old->new_dialog_learnt;
	sm->granted = old->granted;
	sm->expires_at = old->expires_at;
	sm->state = sm->announced = LINE_REGISTERED;
	sm->due = due_in(env, 0);
	return 0;
}

int line_follow(struct line_sm *sm, const struct line_sm *old,
		const struct line_env *env)
{
	uint64_t after;

	if(!in_flight(old) || sm->due == 0)
		return 0;
	after = add_ms(old->last_sent, env->cfg->inflight_max_ms);
	if(after > sm->due)
		sm->due = after;
	return 0;
}

int line_uncount(struct line_sm *sm, uint32_t n, const struct line_env *env)
{
	uint32_t ceiling = line_ceiling(sm, env->cfg);
	int ret = 0;

	if(n == 0 || sm->fail_count == 0)
		return 0;
	sm->fail_count = n < sm->fail_count ? sm->fail_count - n : 0;
	ret |= LINE_R_COUNT;
	if(sm->state == LINE_CEILING
			&& (ceiling == 0 || sm->fail_count < ceiling)) {
		sm->state = LINE_RETRY_WAIT;
		sm->due = due_in(env, line_backoff_ms(sm->retries, env->rnd, env->cfg));
		ret |= announce(sm);
	}
	return ret;
}

int line_keep_after_ceiling(struct line_sm *sm)
{
	if(sm->state != LINE_CEILING)
		return 0;
	sm->state = LINE_DISABLED;
	sm->due = 0;
	return announce(sm);
}

/* Timing */

uint64_t line_backoff_ms(
		uint32_t n, uint32_t rnd, const struct line_config *cfg)
{
	uint32_t shift = n > 1 ? n - 1 : 0;
	uint64_t base = cfg->retry_max_ms;
	uint64_t j = cfg->jitter_pct > 100 ? 100 : cfg->jitter_pct;
	uint64_t ms;

	/* retry_min_ms < 2^32, so a shift below 32 cannot overflow 64 bits;
	 * beyond that the cap is reached anyway */
	if(shift < 32 && ((uint64_t)cfg->retry_min_ms << shift) < base)
		base = (uint64_t)cfg->retry_min_ms << shift;
	/* jitter keeps many lines failing together from retrying together */
	ms = base * (100 - j + rnd % (2 * j + 1)) / 100;
	return ms ? ms : 1;
}

uint64_t line_refresh_delay_ms(uint32_t granted, const struct line_config *cfg)
{
	uint64_t g = (uint64_t)granted * 1000;
	uint64_t pct =
			cfg->refresh_margin_pct > 100 ? 100 : cfg->refresh_margin_pct;
	uint64_t margin = g * pct / 100;

	if(margin < cfg->refresh_margin_min_ms)
		margin = cfg->refresh_margin_min_ms;
	if(margin > cfg->refresh_margin_max_ms)
		margin = cfg->refresh_margin_max_ms;
	/* a short grant still leaves half of it for the refresh to arrive */
	if(margin > g / 2)
		margin = g / 2;
	return g - margin ? g - margin : 1;
}

uint64_t line_refresh_due(
		uint64_t now, uint32_t granted, const struct line_config *cfg)
{
	uint64_t delay = line_refresh_delay_ms(granted, cfg);
	uint64_t due = add_ms(now, delay);

	/* Rounded down to the second, never later than the margin asks: the
	 * lines whose refresh falls in one second leave in one batch, and their
	 * replies reach the SIP workers together, so a worker reads several per
	 * wake-up instead of sleeping between each (a wake-up costs about as
	 * much as reading the reply). A grant too short to lose up to a second
	 * keeps its exact time. */
	if(delay < 2 * LINE_REFRESH_GRID_MS || due == UINT64_MAX)
		return due ? due : 1;
	return due - due % LINE_REFRESH_GRID_MS;
}

/* Names */

static const char *const state_names[LINE_STATE_COUNT] = {"new", "registering",
		"challenged", "authenticating", "registered", "retry_wait", "disabled",
		"unregistering", "removed", "ceiling"};

static const char *const fail_class_names[LINE_FC_COUNT] = {"none", "bad_auth",
		"forbidden", "not_found", "timeout", "transport", "server", "global",
		"bad_challenge", "other", "local"};

const char *line_state_name(int state)
{
	return state >= 0 && state < LINE_STATE_COUNT ? state_names[state]
												  : "unknown";
}

const char *line_fail_class_name(int fc)
{
	return fc >= 0 && fc < LINE_FC_COUNT ? fail_class_names[fc] : "unknown";
}

int line_fail_class_parse(ur_str_t name)
{
	int i;

	if(name.s == NULL)
		return -1;
	for(i = 0; i < LINE_FC_COUNT; i++) {
		if(strlen(fail_class_names[i]) == name.len
				&& strncasecmp(fail_class_names[i], name.s, name.len) == 0)
			return i;
	}
	return -1;
}
