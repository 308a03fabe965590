/*
 * libFuzzer target: the line state machine under any sequence of events.
 *
 * The input is read as a line configuration followed by events (due,
 * replies with any code and any fields, send errors, operator commands,
 * clock moves). After each event the invariants that keep carriers and
 * operators safe are checked; a violation traps:
 *  - nothing is ever sent by a DISABLED, CEILING or REMOVED line;
 *  - CEILING is left only by line_keep_after_ceiling (to DISABLED),
 *    line_remove (to REMOVED), an operator's line_reset (to NEW, count
 *    0) or an HA release (to NEW, count kept); REMOVED is never left;
 *  - an HA release sends nothing, makes the request in flight stale and
 *    never changes the count;
 *  - fail_count grows by one and only for a counted class, and falls only
 *    to 0 on a 2xx that registers or on line_reset;
 *  - a due time an event sets is 0 or not before that event's clock; a line
 *    that waits (not in flight, not stopped) always has one, but for a
 *    line released to another node (NEW, parked until the glue claims it);
 *  - credentials are sent only with a kept nonce; CSeq stays in 1..2^31-1;
 *  - an ignored reply changes nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "line.h"

#define CHECK(cond)           \
	do {                      \
		if(!(cond))           \
			__builtin_trap(); \
	} while(0)

/* the fuzz bytes, read front to back; 0 once exhausted */
struct input
{
	const uint8_t *p;
	size_t left;
};

static uint8_t in_u8(struct input *in)
{
	uint8_t v;

	if(in->left == 0)
		return 0;
	v = *in->p++;
	in->left--;
	return v;
}

static uint16_t in_u16(struct input *in)
{
	return (uint16_t)(in_u8(in) | in_u8(in) << 8);
}

static uint32_t in_u32(struct input *in)
{
	return (uint32_t)in_u16(in) | (uint32_t)in_u16(in) << 16;
}

/* values a carrier or admin is likely to give, or any */
static uint32_t in_small_u32(struct input *in)
{
	uint8_t k = in_u8(in);

	switch(k % 4) {
		case 0:
			return in_u8(in);
		case 1:
			return in_u16(in);
		case 2:
			return in_u32(in);
		default:
			return UINT32_MAX - in_u8(in);
	}
}

static int in_code(struct input *in)
{
	static const int codes[] = {200, 202, 401, 407, 400, 403, 404, 408, 423,
			500, 503, 603, 100, 180, 302, 480, 0, -1, 699, 700, 299, 199};
	uint8_t k = in_u8(in);

	if(k < 2 * sizeof(codes) / sizeof(codes[0]))
		return codes[k % (sizeof(codes) / sizeof(codes[0]))];
	return (int)in_u32(in);
}

static void read_config(struct input *in, struct line_config *cfg)
{
	cfg->retry_min_ms = in_small_u32(in);
	cfg->retry_max_ms = in_small_u32(in);
	cfg->jitter_pct = in_small_u32(in);
	cfg->retry_after_max_ms = in_small_u32(in);
	cfg->refresh_margin_pct = in_small_u32(in);
	cfg->refresh_margin_min_ms = in_small_u32(in);
	cfg->refresh_margin_max_ms = in_small_u32(in);
	cfg->fail_ceiling = in_u8(in) % 8;
	cfg->count_classes = in_u8(in) & 1 ? in_u32(in) : LINE_FC_DEFAULT_COUNTED;
	cfg->reauth_new_dialog = (int8_t)in_u8(in) % 4;
	cfg->reuse_nonce = in_u8(in) & 1;
	cfg->max_423 = in_u8(in) & 0x80 ? in_u32(in) : in_u8(in) % 5;
	cfg->min_expires_max = in_small_u32(in);
	cfg->inflight_max_ms = in_small_u32(in);
}

static void read_reply(struct input *in, const struct line_sm *sm,
		struct line_reply *r, ur_str_t row_realm)
{
	uint8_t flags = in_u8(in);

	memset(r, 0, sizeof(*r));
	r->attempt = sm->attempt + (flags & 0x80 ? (int8_t)in_u8(in) : 0);
	r->code = in_code(in);
	r->local = flags & 1;
	r->has_challenge = (flags >> 1) & 1;
	r->ch.stale = (flags >> 2) & 1;
	r->ch.realm = (flags >> 3) & 1 ? row_realm : UR_STR_LIT("other");
	r->ch.nonce = UR_STR_LIT("n");
	r->challenge_err = r->has_challenge ? 0 : DIGEST_E_MALFORMED;
	switch((flags >> 4) & 3) {
		case 0:
			r->granted = -1;
			break;
		case 1:
			r->granted = 0;
			break;
		case 2:
			r->granted = in_small_u32(in);
			break;
		default:
			r->granted = (int64_t)((uint64_t)in_u32(in) << 32 | in_u32(in));
			break;
	}
	r->min_expires = (flags >> 6) & 1 ? in_small_u32(in) : 0;
	flags = in_u8(in);
	r->retry_after = flags & 1 ? in_small_u32(in) : 0;
	r->kept_realm = (flags >> 1) & 1 ? r->ch.realm : UR_STR_LIT("kept");
	r->row_has_proxy = (flags >> 2) & 1;
}

enum ev
{
	EV_DUE,
	EV_REPLY,
	EV_SEND_ERROR,
	EV_LOCAL_ERROR,
	EV_ENABLE,
	EV_DISABLE,
	EV_REMOVE,
	EV_REFRESH,
	EV_RESET,
	EV_KEEP,
	EV_CLOCK,
	EV_CLOCK_TO_DUE,
	EV_RELEASE,
	EV_COUNT
};

static int stopped(int state)
{
	return state == LINE_DISABLED || state == LINE_CEILING
		   || state == LINE_REMOVED;
}

static int sending(int state)
{
	return state == LINE_REGISTERING || state == LINE_AUTHENTICATING
		   || state == LINE_UNREGISTERING;
}

static int counts(const struct line_config *cfg, int fc)
{
	return fc > LINE_FC_NONE && fc < LINE_FC_COUNT && fc != LINE_FC_LOCAL
		   && (cfg->count_classes & LINE_FC_BIT(fc));
}

/* What must hold after any event, whatever it was. */
static void check_always(const struct line_sm *sm,
		const struct line_config *cfg, uint64_t now, int parked)
{
	CHECK(sm->state < LINE_STATE_COUNT);
	CHECK(sm->announced < LINE_STATE_COUNT);
	CHECK(sm->fail_class < LINE_FC_COUNT);
	CHECK(sm->auth_sent[LINE_CH_WWW] <= LINE_AUTH_ANSWER);
	CHECK(sm->auth_sent[LINE_CH_PROXY] <= LINE_AUTH_ANSWER);
	CHECK(sm->ch_rounds <= LINE_CH_ROUNDS_MAX);
	CHECK(sm->stopping == 0 || sending(sm->state));
	CHECK(sm->cseq < 0x80000000u);
	if(stopped(sm->state))
		CHECK(sm->due == 0);
	else if(!sending(sm->state))
		/* a waiting line is never parked, but a released one */
		CHECK(sm->due != 0 || (parked && sm->state == LINE_NEW));
	if(sm->state == LINE_CHALLENGED)
		CHECK(sm->have_nonce);
	if(sm->state == LINE_CEILING) {
		uint32_t ceiling = line_ceiling(sm, cfg);
		CHECK(ceiling > 0 && sm->fail_count >= ceiling);
	}
}

static void check_send(const struct line_sm *before, const struct line_sm *sm,
		const struct line_send *s, uint64_t now)
{
	int was_due = before->due != 0 && before->due <= now;

	if(!was_due) {
		CHECK(!s->send);
		CHECK(memcmp(before, sm, sizeof(*sm)) == 0);
		return;
	}
	if(stopped(before->state))
		CHECK(!s->send);
	if(!s->send)
		return;
	CHECK(sending(sm->state));
	CHECK(sm->due == 0);
	CHECK(sm->attempt == before->attempt + 1 && s->attempt == sm->attempt);
	CHECK(s->cseq == sm->cseq && s->cseq >= 1);
	CHECK(s->in_new_dialog ? s->cseq == 1 : s->cseq == before->cseq + 1);
	CHECK(sm->in_new_dialog == (s->in_new_dialog != 0));
	CHECK(sm->last_sent == now);
	if(s->with_auth)
		CHECK(sm->have_nonce
				&& ((sm->nc[LINE_CH_WWW] >= 1
							&& sm->auth_sent[LINE_CH_WWW] != LINE_AUTH_NONE)
						|| (sm->nc[LINE_CH_PROXY] >= 1
								&& sm->auth_sent[LINE_CH_PROXY]
										   != LINE_AUTH_NONE)));
	else
		CHECK(sm->auth_sent[LINE_CH_WWW] == LINE_AUTH_NONE
				&& sm->auth_sent[LINE_CH_PROXY] == LINE_AUTH_NONE);
	if(sm->state == LINE_UNREGISTERING)
		CHECK(s->expires == 0);
	else
		CHECK(s->expires == sm->expires);
}

static void check_transition(const struct line_sm *before,
		const struct line_sm *sm, const struct line_config *cfg, int ev,
		int ret, uint64_t now)
{
	if(ret & LINE_R_IGNORED) {
		CHECK(ret == LINE_R_IGNORED);
		CHECK(memcmp(before, sm, sizeof(*sm)) == 0);
	}
	if(before->state == LINE_REMOVED)
		CHECK(sm->state == LINE_REMOVED);
	if(before->state == LINE_CEILING && sm->state != LINE_CEILING)
		CHECK((ev == EV_KEEP && sm->state == LINE_DISABLED)
				|| (ev == EV_REMOVE && sm->state == LINE_REMOVED)
				|| (ev == EV_RESET && sm->state == LINE_NEW
						&& sm->fail_count == 0)
				|| (ev == EV_RELEASE && sm->state == LINE_NEW
						&& sm->fail_count == before->fail_count));
	if(sm->state == LINE_CEILING && before->state != LINE_CEILING)
		CHECK(ret & LINE_R_CEILING);
	if(ret & LINE_R_CEILING)
		CHECK(sm->state == LINE_CEILING && (ret & LINE_R_STATE));
	if(ret & LINE_R_GONE)
		CHECK(sm->state == LINE_REMOVED);
	if(ret & LINE_R_STATE)
		CHECK(sm->announced == sm->state);
	if(ret & LINE_R_KEEP_CHALLENGE)
		CHECK(sm->have_nonce
				&& (sm->nc[LINE_CH_WWW] == 0 || sm->nc[LINE_CH_PROXY] == 0));
	if(ret & LINE_R_NEW_DIALOG_LEARNT)
		CHECK(!before->new_dialog_learnt && sm->new_dialog_learnt);
	/* the count */
	if(sm->fail_count > before->fail_count) {
		CHECK(ev == EV_REPLY);
		CHECK(sm->fail_count == before->fail_count + 1);
		CHECK((ret & (LINE_R_COUNT | LINE_R_FAILED))
				== (LINE_R_COUNT | LINE_R_FAILED));
		CHECK(counts(cfg, sm->fail_class));
	} else if(sm->fail_count < before->fail_count) {
		CHECK(sm->fail_count == 0 && (ret & LINE_R_COUNT));
		CHECK((ev == EV_REPLY && (ret & LINE_R_REGISTERED)) || ev == EV_RESET);
	}
	/* our own failures never count, whatever count_classes says */
	if((ret & LINE_R_FAILED) && sm->fail_class == LINE_FC_LOCAL)
		CHECK(sm->fail_count == before->fail_count && !(ret & LINE_R_COUNT));
	if(ev == EV_SEND_ERROR || ev == EV_LOCAL_ERROR)
		CHECK(sm->fail_count == before->fail_count);
	/* outages never count, whatever else happens */
	if((ret & LINE_R_FAILED)
			&& (sm->fail_class == LINE_FC_TIMEOUT
					|| sm->fail_class == LINE_FC_TRANSPORT
					|| sm->fail_class == LINE_FC_SERVER
					|| sm->fail_class == LINE_FC_GLOBAL)
			&& !counts(cfg, sm->fail_class))
		CHECK(sm->fail_count == before->fail_count);
	if(sm->due != before->due && ev != EV_CLOCK && ev != EV_CLOCK_TO_DUE)
		CHECK(sm->due == 0 || sm->due >= now);
	if(ev == EV_CLOCK || ev == EV_CLOCK_TO_DUE)
		CHECK(memcmp(before, sm, sizeof(*sm)) == 0);
}

static uint64_t clock_add(uint64_t now, uint64_t ms)
{
	return ms > UINT64_MAX - now ? UINT64_MAX : now + ms;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct line_config cfg;
	struct line_env env;
	struct line_sm sm, before;
	struct line_send s;
	struct line_reply r;
	ur_str_t realm;
	int ev, ret, steps;
	int parked = 0; /* released (line_release), not claimed back yet */

	memset(&cfg, 0, sizeof(cfg));
	memset(&sm, 0, sizeof(sm));
	read_config(&in, &cfg);
	env.cfg = &cfg;
	env.now = in_u8(&in) & 1 ? in_u32(&in) : 0;
	env.rnd = 0;
	realm = in_u8(&in) & 1 ? UR_STR_LIT("example.com") : UR_STR_NULL;
	sm.reauth_new_dialog = (int8_t)in_u8(&in) % 4;
	sm.fail_ceiling = (int8_t)in_u8(&in) % 8;
	sm.fail_count = in_u8(&in) % 10;
	{
		uint32_t expires = in_small_u32(&in);
		int disabled = in_u8(&in) & 1;
		uint64_t delay = in_u16(&in);

		ret = line_init(&sm, expires, disabled, delay, &env);
		CHECK(ret == 0 || ret == (LINE_R_CEILING | LINE_R_STATE));
		CHECK(sm.expires == expires);
		CHECK(stopped(sm.state) ? sm.due == 0 : sm.due >= env.now);
		check_always(&sm, &cfg, env.now, 0);
	}

	for(steps = 0; in.left > 0 && steps < 4096; steps++) {
		ev = in_u8(&in) % EV_COUNT;
		env.rnd = in_u8(&in) * 0x01010101u;
		memcpy(&before, &sm, sizeof(sm));
		ret = 0;
		switch(ev) {
			case EV_DUE:
				s = line_on_due(&sm, &env);
				check_send(&before, &sm, &s, env.now);
				break;
			case EV_REPLY:
				read_reply(&in, &sm, &r, realm);
				ret = line_on_reply(&sm, &r, realm, &env);
				if(r.attempt != before.attempt || before.due != 0
						|| !sending(before.state))
					CHECK(ret == LINE_R_IGNORED);
				break;
			case EV_SEND_ERROR:
				ret = line_on_send_error(
						&sm, sm.attempt + (int8_t)in_u8(&in) % 2, &env);
				break;
			case EV_LOCAL_ERROR:
				ret = line_on_local_error(&sm, &env);
				break;
			case EV_ENABLE:
				ret = line_enable(&sm, &env);
				break;
			case EV_DISABLE:
				ret = line_disable(&sm, &env);
				break;
			case EV_REMOVE:
				ret = line_remove(&sm, &env);
				break;
			case EV_REFRESH:
				ret = line_refresh(&sm, &env);
				CHECK(ret == 0 && sm.state == before.state);
				break;
			case EV_RESET:
				ret = line_reset(&sm, &env);
				/* an operator's reset takes a line back from its ceiling */
				if(before.state == LINE_CEILING)
					CHECK(sm.state == LINE_NEW && sm.fail_count == 0
							&& sm.due >= env.now && (ret & LINE_R_STATE));
				break;
			case EV_KEEP:
				ret = line_keep_after_ceiling(&sm);
				if(before.state != LINE_CEILING)
					CHECK(ret == 0 && memcmp(&before, &sm, sizeof(sm)) == 0);
				break;
			case EV_CLOCK:
				env.now = clock_add(
						env.now, (uint64_t)in_u32(&in) << (in_u8(&in) % 33));
				break;
			case EV_CLOCK_TO_DUE:
				if(sm.due > env.now)
					env.now = sm.due;
				break;
			case EV_RELEASE:
				ret = line_release(&sm);
				CHECK((ret & ~(LINE_R_STATE | LINE_R_GONE)) == 0);
				CHECK(sm.attempt == before.attempt + 1);
				CHECK(sm.fail_count == before.fail_count);
				CHECK(sm.due == 0 && sm.expires_at == 0 && !sm.have_nonce);
				CHECK(sm.state == LINE_NEW || sm.state == LINE_DISABLED
						|| sm.state == LINE_REMOVED);
				if(before.state == LINE_DISABLED
						|| before.state == LINE_REMOVED)
					CHECK(ret == 0 && sm.state == before.state);
				parked = 1;
				break;
		}
		/* the glue's claim (line_refresh) or another command moved it */
		if(sm.due != 0 || sm.state != LINE_NEW)
			parked = 0;
		check_transition(&before, &sm, &cfg, ev, ret, env.now);
		check_always(&sm, &cfg, env.now, parked);
	}
	return 0;
}
