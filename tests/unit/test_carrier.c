/*
 * Unit tests of carrier.c: the carrier key, the carrier rule (refusing,
 * unreachable), the provisional counts and the held ceiling, the probe.
 * A small model of the glue drives real line.c machines through it.
 */
#include "unit.h"
#include "carrier.h"

#define NL 12
#define T0 1000000u

struct sim
{
	struct line_config lcfg;
	struct carrier_config ccfg;
	struct carriers cs;
	struct line_sm sm[NL];
	struct carrier_line cl[NL];
	uint64_t now;
	int routes[NL]; /* ceiling routes run per line */
	int events;		/* carrier refusing/unreachable/recovered */
};

static void sim_init(struct sim *s, int nlines, const char *key, int ceiling)
{
	ur_str_t k = {key, strlen(key)};
	int i;

	memset(s, 0, sizeof(*s));
	s->lcfg.retry_min_ms = 1000;
	s->lcfg.retry_max_ms = 4000;
	s->lcfg.retry_after_max_ms = 3600000;
	s->lcfg.refresh_margin_pct = 10;
	s->lcfg.refresh_margin_min_ms = 2000;
	s->lcfg.refresh_margin_max_ms = 60000;
	s->lcfg.fail_ceiling = (uint32_t)ceiling;
	s->lcfg.count_classes = LINE_FC_DEFAULT_COUNTED;
	s->lcfg.max_423 = 3;
	s->ccfg.window_ms = 60000;
	s->ccfg.min_lines = 3;
	s->ccfg.share_pct = 50;
	s->ccfg.probe_lost_ms = 120000;
	s->now = T0;
	assert_int_equal(carriers_init(&s->cs, &unit_mem), 0);
	for(i = 0; i < NL; i++)
		s->cl[i].cid = CARRIER_NONE;
	for(i = 0; i < nlines; i++) {
		struct line_env env = {s->now, 0, &s->lcfg, 0};
		s->sm[i].fail_ceiling = -1;
		line_init(&s->sm[i], 60, 0, 0, &env);
		s->cl[i].cid = carriers_bind(&s->cs, k);
		assert_true(s->cl[i].cid != CARRIER_NONE);
	}
}

static struct carrier *sim_c(struct sim *s, int i)
{
	return carriers_get(&s->cs, s->cl[i].cid);
}

/* the uacreg process's carrier work */
static void sim_work(struct sim *s)
{
	struct line_env env = {s->now, 0, &s->lcfg, 0};
	uint32_t cid, others;
	uint8_t w;
	int i, j, v;

	while((cid = carriers_take_work(&s->cs, &w)) != CARRIER_NONE) {
		struct carrier *c = carriers_get(&s->cs, cid);
		for(i = 0; i < NL; i++) {
			if(s->cl[i].cid != cid)
				continue;
			if(s->cl[i].held || (w & CARRIER_W_ROLLBACK)) {
				others = 0;
				for(j = 0; j < NL; j++)
					if(j != i && s->cl[j].cid == cid
							&& s->sm[j].state != LINE_CEILING)
						others++;
				uint32_t n = carrier_pending(c, &s->cl[i]);
				if(s->cl[i].held)
					v = carrier_verdict(&s->ccfg, c, &s->cl[i], others);
				else
					v = n && c->state != CARRIER_NORMAL ? -1 : 0;
				if(v == -1 && s->cl[i].held && n == 0)
					n = s->cl[i].pend;
				if(v == 1 && s->cl[i].held) {
					carrier_unhold(&s->cs, &s->cl[i]);
					s->routes[i]++;
				} else if(v == -1) {
					line_uncount(&s->sm[i], n, &env);
					s->cl[i].pend = 0;
					carrier_unhold(&s->cs, &s->cl[i]);
				}
			}
			if(w & CARRIER_W_WAKE)
				carrier_unwait(&s->cs, &s->cl[i]);
		}
	}
}

/* line i sends when its carrier lets it; 0 when the carrier held it */
static int sim_send(struct sim *s, int i)
{
	struct line_env env = {s->now, 0, &s->lcfg, 0};
	struct line_send snd;
	uint64_t wake;

	if(s->sm[i].due > s->now)
		s->now = env.now = s->sm[i].due;
	if(!carrier_may_send(&s->cs, &s->ccfg, &s->cl[i], i, s->now, &wake))
		return 0;
	snd = line_on_due(&s->sm[i], &env);
	assert_int_equal(snd.send, 1);
	return 1;
}

/* the reply to line i's request in flight */
static void sim_reply(struct sim *s, int i, int code)
{
	struct line_env env = {s->now, 0, &s->lcfg, 0};
	struct line_reply r;
	int bits, outcome, ev;

	memset(&r, 0, sizeof(r));
	r.attempt = s->sm[i].attempt;
	r.code = code;
	r.granted = -1;
	env.no_count = !carrier_counts(sim_c(s, i));
	bits = line_on_reply(&s->sm[i], &r, UR_STR_NULL, &env);
	assert_false(bits & LINE_R_IGNORED);
	outcome = (bits & LINE_R_REGISTERED)
					  ? CARRIER_O_OK
					  : carrier_outcome_of(s->sm[i].fail_class, &s->lcfg);
	ev = carrier_on_outcome(&s->cs, &s->ccfg, &s->lcfg, &s->cl[i], i, outcome,
			s->sm[i].fail_class, code,
			(bits & LINE_R_FAILED) && (bits & LINE_R_COUNT), 0, 0, s->now);
	if(ev)
		s->events++;
	if((bits & LINE_R_CEILING)
			&& !carrier_hold_ceiling(&s->cs, &s->ccfg, &s->cl[i]))
		s->routes[i]++;
	sim_work(s);
}

static int sim_try(struct sim *s, int i, int code)
{
	if(!sim_send(s, i))
		return 0;
	sim_reply(s, i, code);
	return 1;
}

static void test_key(void **state)
{
	char buf[CARRIER_KEY_MAX + 1];
	ur_str_t none = UR_STR_NULL;
	ur_str_t a = {"sip:Proxy.Example.COM;transport=tcp", 35};
	ur_str_t b = {"carrier.example.com", 19};
	ur_str_t c = {"sip:10.0.0.1:5070", 17};
	ur_str_t d = {"sips:[2001:db8::1]", 18};
	ur_str_t e = {"127.0.0.1:5080", 14};
	ur_str_t f = {"sip:user@host.test:5062", 23};

	assert_int_equal(carrier_key(buf, a, b), 22);
	assert_string_equal(buf, "proxy.example.com:5060");
	assert_int_equal(carrier_key(buf, none, b), 24);
	assert_string_equal(buf, "carrier.example.com:5060");
	carrier_key(buf, c, b);
	assert_string_equal(buf, "10.0.0.1:5070");
	carrier_key(buf, d, b);
	assert_string_equal(buf, "[2001:db8::1]:5061");
	carrier_key(buf, none, e);
	assert_string_equal(buf, "127.0.0.1:5080");
	carrier_key(buf, f, b);
	assert_string_equal(buf, "host.test:5062");
	assert_int_equal(carrier_key(buf, none, none), 0);
}

static void test_bind_same_key_same_carrier(void **state)
{
	struct carriers cs;
	ur_str_t a = {"a:5060", 6}, b = {"b:5060", 6};
	uint32_t i, ia, ib;

	assert_int_equal(carriers_init(&cs, &unit_mem), 0);
	ia = carriers_bind(&cs, a);
	for(i = 0; i < 100; i++) {
		char k[16];
		ur_str_t key = {k, (size_t)snprintf(k, sizeof(k), "h%u:5060", i)};
		assert_true(carriers_bind(&cs, key) != CARRIER_NONE);
	}
	ib = carriers_bind(&cs, b);
	assert_int_equal(carriers_bind(&cs, a), ia);
	assert_int_equal(carriers_get(&cs, ia)->lines, 2);
	assert_int_equal(carriers_get(&cs, ib)->lines, 1);
	assert_ptr_equal(carriers_find(&cs, b), carriers_get(&cs, ib));
	carriers_destroy(&cs);
}

/* the issue: ten lines, all 403, ceiling 2: nothing deleted, one event */
static void test_everyone_refused_no_ceiling(void **state)
{
	struct sim s;
	int i, round;

	sim_init(&s, 10, "carrier:5060", 2);
	/* a round: all ten in flight, then the answers */
	for(i = 0; i < 10; i++)
		assert_int_equal(sim_send(&s, i), 1);
	for(i = 0; i < 10; i++)
		sim_reply(&s, i, 403);
	assert_int_equal(sim_c(&s, 0)->state, CARRIER_REFUSING);
	assert_int_equal(s.events, 1);
	/* the first lines' counts were rolled back; later ones never counted */
	for(i = 0; i < 10; i++) {
		assert_int_equal(s.sm[i].fail_count, 0);
		assert_int_equal(s.sm[i].state, LINE_RETRY_WAIT);
	}
	/* for many rounds only one line at a time goes */
	for(round = 0; round < 20; round++) {
		int sent = 0;
		for(i = 0; i < 10; i++)
			sent += sim_try(&s, i, 403);
		assert_true(sent <= 1);
		s.now += 500;
	}
	for(i = 0; i < 10; i++) {
		assert_int_equal(s.routes[i], 0);
		assert_int_equal(s.sm[i].fail_count, 0);
	}
	assert_int_equal(s.events, 1);
	/* the carrier accepts again: the probe recovers it, all follow */
	for(i = 0; i < 10 && sim_c(&s, 0)->state != CARRIER_NORMAL; i++) {
		s.now += 4000;
		sim_try(&s, i, 200);
	}
	assert_int_equal(sim_c(&s, 0)->state, CARRIER_NORMAL);
	assert_int_equal(s.events, 2);
	for(i = 0; i < 10; i++) {
		if(s.sm[i].state != LINE_REGISTERED)
			assert_int_equal(sim_try(&s, i, 200), 1);
		assert_int_equal(s.sm[i].state, LINE_REGISTERED);
	}
	carriers_destroy(&s.cs);
}

/* a ceiling of 1: the first lines stop at once, held, then rolled back */
static void test_held_ceiling_rolled_back(void **state)
{
	struct sim s;
	int i;

	sim_init(&s, 10, "carrier:5060", 1);
	assert_int_equal(sim_try(&s, 0, 404), 1);
	assert_int_equal(s.sm[0].state, LINE_CEILING);
	assert_int_equal(s.cl[0].held, 1);
	assert_int_equal(s.routes[0], 0);
	sim_try(&s, 1, 404);
	sim_try(&s, 2, 404);
	assert_int_equal(sim_c(&s, 0)->state, CARRIER_REFUSING);
	for(i = 0; i < 3; i++) {
		assert_int_equal(s.sm[i].state, LINE_RETRY_WAIT);
		assert_int_equal(s.sm[i].fail_count, 0);
		assert_int_equal(s.cl[i].held, 0);
		assert_int_equal(s.routes[i], 0);
	}
	assert_int_equal(sim_c(&s, 0)->held, 0);
	carriers_destroy(&s.cs);
}

/* a wrong password among good lines: counted, held, confirmed, deleted */
static void test_wrong_password_among_good(void **state)
{
	struct sim s;
	int i, r;

	sim_init(&s, 10, "carrier:5060", 2);
	for(i = 0; i < 9; i++)
		sim_try(&s, i, 200);
	sim_try(&s, 9, 403);
	assert_int_equal(s.sm[9].fail_count, 1);
	/* the second failure reaches the ceiling after the last 2xx: held */
	sim_try(&s, 9, 403);
	assert_int_equal(s.sm[9].state, LINE_CEILING);
	assert_int_equal(s.routes[9], 0);
	assert_int_equal(s.cl[9].held, 1);
	assert_int_equal(sim_c(&s, 9)->state, CARRIER_NORMAL);
	/* another line registers: the failure was the line's */
	s.now += 1000;
	r = sim_try(&s, 0, 200);
	assert_int_equal(r, 1);
	assert_int_equal(s.routes[9], 1);
	assert_int_equal(s.cl[9].held, 0);
	assert_int_equal(s.events, 0);
	assert_int_equal(s.sm[9].fail_count, 2);
	carriers_destroy(&s.cs);
}

/* a held line and a 2xx long after its failure: that proves nothing about
 * the failure (the carrier may have refused everyone then): back, retry */
static void test_late_confirmation_rolls_back(void **state)
{
	struct sim s;

	sim_init(&s, 5, "carrier:5060", 1);
	sim_try(&s, 4, 403);
	assert_int_equal(s.cl[4].held, 1);
	s.now += s.ccfg.window_ms + 1000;
	sim_try(&s, 0, 200);
	assert_int_equal(s.routes[4], 0);
	assert_int_equal(s.cl[4].held, 0);
	assert_int_equal(s.sm[4].fail_count, 0);
	assert_int_equal(s.sm[4].state, LINE_RETRY_WAIT);
	carriers_destroy(&s.cs);
}

/* counts confirmed by a 2xx before the refusal stay */
static void test_confirmed_counts_stay(void **state)
{
	struct sim s;
	int i;

	sim_init(&s, 10, "carrier:5060", 5);
	sim_try(&s, 9, 403);
	s.now += 100;
	sim_try(&s, 0, 200); /* confirms line 9's count */
	for(i = 1; i < 4; i++)
		sim_try(&s, i, 403);
	assert_int_equal(sim_c(&s, 0)->state, CARRIER_REFUSING);
	assert_int_equal(s.sm[9].fail_count, 1);
	for(i = 1; i < 4; i++)
		assert_int_equal(s.sm[i].fail_count, 0);
	carriers_destroy(&s.cs);
}

/* fewer lines than min_lines: the per-line rule, no hold */
static void test_small_carrier_per_line_rule(void **state)
{
	struct sim s;

	sim_init(&s, 2, "small:5060", 2);
	sim_try(&s, 0, 403);
	sim_try(&s, 1, 403);
	sim_try(&s, 0, 403);
	assert_int_equal(sim_c(&s, 0)->state, CARRIER_NORMAL);
	assert_int_equal(s.sm[0].state, LINE_CEILING);
	assert_int_equal(s.routes[0], 1);
	assert_int_equal(s.cl[0].held, 0);
	carriers_destroy(&s.cs);
}

/* a held line whose carrier has no other line that could register */
static void test_held_alone_runs(void **state)
{
	struct sim s;

	sim_init(&s, 3, "c:5060", 1);
	sim_try(&s, 1, 403); /* ceiling 1: stops */
	assert_int_equal(s.routes[1], 0);
	sim_try(&s, 2, 403);
	/* two held lines, line 0 could still register: held */
	assert_int_equal(s.routes[1] + s.routes[2], 0);
	s.sm[0].state = LINE_CEILING; /* e.g. it too stopped */
	sim_c(&s, 0)->work = CARRIER_W_VERDICT;
	s.cs.work = 1;
	sim_work(&s);
	/* no one left that could tell: the per-line rule */
	assert_int_equal(s.routes[1], 1);
	assert_int_equal(s.routes[2], 1);
	carriers_destroy(&s.cs);
}

/* an outage: timeouts for everyone make it unreachable; one probe at a
 * time, the backoff growing */
static void test_unreachable_probe_backoff(void **state)
{
	struct sim s;
	uint64_t start, wake;
	int i, sent = 0;

	sim_init(&s, 10, "down:5060", 10);
	for(i = 0; i < 10; i++)
		sim_try(&s, i, 200);
	for(i = 0; i < 3; i++) {
		s.now = s.sm[i].due;
		sim_try(&s, i, 408);
	}
	assert_int_equal(sim_c(&s, 0)->state, CARRIER_UNREACHABLE);
	assert_int_equal(s.events, 1);
	start = s.now;
	/* 60 s of everyone due every 100 ms: the probes follow 1, 2, 4, 4 s */
	while(s.now < start + 60000) {
		for(i = 0; i < 10; i++) {
			struct carrier_line *l = &s.cl[i];
			if(s.sm[i].due > s.now)
				continue;
			if(!carrier_may_send(&s.cs, &s.ccfg, l, i, s.now, &wake))
				continue;
			/* the probe */
			{
				struct line_env env = {s.now, 0, &s.lcfg, 1};
				struct line_send snd = line_on_due(&s.sm[i], &env);
				struct line_reply r = {0};
				r.attempt = snd.attempt;
				r.code = 408;
				r.local = 1;
				line_on_reply(&s.sm[i], &r, UR_STR_NULL, &env);
				carrier_on_outcome(&s.cs, &s.ccfg, &s.lcfg, l, i,
						CARRIER_O_DOWN, LINE_FC_TIMEOUT, 408, 0, 0, 0, s.now);
				sent++;
			}
		}
		s.now += 100;
	}
	/* 1 + 2 + 4 + 4 ... in 60 s: about 16, never one per line */
	assert_true(sent >= 10 && sent <= 17);
	assert_int_equal(s.events, 1);
	for(i = 0; i < 10; i++)
		assert_int_equal(s.sm[i].fail_count, 0);
	carriers_destroy(&s.cs);
}

/* a 503 with Retry-After sets the next probe, not the backoff alone */
static void test_probe_retry_after(void **state)
{
	struct sim s;
	struct carrier *c;
	uint64_t wake;
	int i;

	sim_init(&s, 5, "c:5060", 10);
	for(i = 0; i < 3; i++)
		sim_try(&s, i, 503);
	c = sim_c(&s, 0);
	assert_int_equal(c->state, CARRIER_UNREACHABLE);
	s.now = c->probe_due;
	assert_int_equal(
			carrier_may_send(&s.cs, &s.ccfg, &s.cl[3], 3, s.now, &wake), 1);
	assert_int_equal(
			carrier_may_send(&s.cs, &s.ccfg, &s.cl[4], 4, s.now, &wake), 0);
	/* parked until the probe would be lost: no polling meanwhile */
	assert_true(wake == s.now + s.ccfg.probe_lost_ms);
	assert_int_equal(s.cl[4].waiting, 1);
	assert_int_equal(c->waiting, 1);
	carrier_on_outcome(&s.cs, &s.ccfg, &s.lcfg, &s.cl[3], 3, CARRIER_O_DOWN,
			LINE_FC_SERVER, 503, 0, 120, 0, s.now);
	assert_true(c->probe_due >= s.now + 120000);
	/* its failure wakes one waiting line for the next probe */
	assert_true(c->work & CARRIER_W_NEXT);
	/* a lost probe (no reply) frees the turn after probe_lost_ms */
	s.now = c->probe_due;
	assert_int_equal(
			carrier_may_send(&s.cs, &s.ccfg, &s.cl[3], 3, s.now, &wake), 1);
	s.now += s.ccfg.probe_lost_ms;
	assert_int_equal(
			carrier_may_send(&s.cs, &s.ccfg, &s.cl[4], 4, s.now, &wake), 1);
	carriers_destroy(&s.cs);
}

/* the probe's backoff stops at probe_max, below the lines' retry_max: a
 * carrier that is back is found soon */
static void test_probe_max(void **state)
{
	struct sim s;
	struct carrier *c;
	int i;

	sim_init(&s, 5, "c:5060", 10);
	s.lcfg.retry_max_ms = 3600000;
	s.ccfg.probe_max_ms = 60000;
	for(i = 0; i < 3; i++)
		sim_try(&s, i, 503);
	c = sim_c(&s, 0);
	for(i = 0; i < 20; i++) {
		s.now = c->probe_due;
		s.sm[3].due = s.now; /* the line's own backoff is not the point */
		assert_int_equal(sim_try(&s, 3, 503), 1);
		assert_true(c->probe_due - s.now <= 60000);
	}
	assert_true(c->probe_due - s.now == 60000);
	carriers_destroy(&s.cs);
}

/* two carriers: one refusing, the other untouched */
static void test_two_carriers(void **state)
{
	struct sim s;
	ur_str_t other = {"other:5060", 10};
	int i;

	sim_init(&s, 6, "bad:5060", 2);
	for(i = 6; i < 12; i++) {
		struct line_env env = {s.now, 0, &s.lcfg, 0};
		s.sm[i].fail_ceiling = -1;
		line_init(&s.sm[i], 60, 0, 0, &env);
		s.cl[i].cid = carriers_bind(&s.cs, other);
	}
	for(i = 0; i < 12; i++)
		sim_try(&s, i, i < 6 ? 403 : 200);
	assert_int_equal(sim_c(&s, 0)->state, CARRIER_REFUSING);
	assert_int_equal(sim_c(&s, 6)->state, CARRIER_NORMAL);
	for(i = 6; i < 12; i++) {
		assert_int_equal(s.sm[i].state, LINE_REGISTERED);
		assert_int_equal(s.cl[i].waiting, 0);
	}
	/* a wrong password on the other carrier still counts */
	s.now = s.sm[6].due;
	sim_try(&s, 6, 403);
	assert_int_equal(s.sm[6].fail_count, 1);
	carriers_destroy(&s.cs);
}

/* mixed failures: refusals are fewer than the share of lines that failed */
static void test_share(void **state)
{
	struct sim s;
	int i;

	sim_init(&s, 10, "c:5060", 10);
	for(i = 0; i < 4; i++)
		sim_try(&s, i, 480); /* other */
	for(i = 4; i < 7; i++)
		sim_try(&s, i, 403);
	/* 3 refused of 7 that failed: under 50% */
	assert_int_equal(sim_c(&s, 0)->state, CARRIER_NORMAL);
	sim_try(&s, 7, 403);
	assert_int_equal(sim_c(&s, 0)->state, CARRIER_REFUSING);
	carriers_destroy(&s.cs);
}

/* an epoch ends after the window: failures far apart make no verdict */
static void test_window(void **state)
{
	struct sim s;
	int i;

	sim_init(&s, 10, "c:5060", 0);
	for(i = 0; i < 5; i++) {
		sim_try(&s, i, 403);
		s.now += 31000;
	}
	assert_int_equal(sim_c(&s, 0)->state, CARRIER_NORMAL);
	carriers_destroy(&s.cs);
}

/* line.c: no_count and line_uncount */
static void test_line_no_count_and_uncount(void **state)
{
	struct line_config cfg;
	struct line_env env;
	struct line_sm sm;
	struct line_send snd;
	struct line_reply r;
	int bits;

	memset(&cfg, 0, sizeof(cfg));
	cfg.retry_min_ms = 1000;
	cfg.retry_max_ms = 4000;
	cfg.fail_ceiling = 2;
	cfg.count_classes = LINE_FC_DEFAULT_COUNTED;
	memset(&env, 0, sizeof(env));
	env.now = T0;
	env.cfg = &cfg;
	memset(&sm, 0, sizeof(sm));
	sm.fail_ceiling = -1;
	line_init(&sm, 60, 0, 0, &env);
	env.no_count = 1;
	snd = line_on_due(&sm, &env);
	memset(&r, 0, sizeof(r));
	r.attempt = snd.attempt;
	r.code = 403;
	bits = line_on_reply(&sm, &r, UR_STR_NULL, &env);
	assert_true(bits & LINE_R_FAILED);
	assert_false(bits & LINE_R_COUNT);
	assert_int_equal(sm.fail_count, 0);
	assert_int_equal(sm.state, LINE_RETRY_WAIT);
	env.no_count = 0;
	env.now = sm.due;
	snd = line_on_due(&sm, &env);
	r.attempt = snd.attempt;
	line_on_reply(&sm, &r, UR_STR_NULL, &env);
	env.now = sm.due;
	snd = line_on_due(&sm, &env);
	r.attempt = snd.attempt;
	bits = line_on_reply(&sm, &r, UR_STR_NULL, &env);
	assert_true(bits & LINE_R_CEILING);
	assert_int_equal(sm.state, LINE_CEILING);
	bits = line_uncount(&sm, 5, &env);
	assert_true(bits & LINE_R_COUNT);
	assert_int_equal(sm.fail_count, 0);
	assert_int_equal(sm.state, LINE_RETRY_WAIT);
	assert_true(sm.due > env.now);
	assert_int_equal(line_uncount(&sm, 1, &env), 0);
}

/* HA active: the carrier's lines are spread over the nodes; the thresholds
 * scale with this node's share, never above min_lines, at least 1 */
static void test_ha_share_threshold(void **state)
{
	struct sim s;
	struct carrier *c;
	int i;

	sim_init(&s, 10, "shared:5060", 2);
	c = sim_c(&s, 0);
	/* ha_mode off / standby: nothing calls carriers_owned_begin */
	assert_int_equal(carrier_threshold(&s.ccfg, c), 3);
	carriers_owned_begin(&s.cs);
	assert_int_equal(c->owned, 0);
	assert_int_equal(carrier_threshold(&s.ccfg, c), 1);
	carriers_owned_add(&s.cs, &s.cl[0]);
	assert_int_equal(carrier_threshold(&s.ccfg, c), 1); /* ceil(0.3) */
	for(i = 1; i < 4; i++)
		carriers_owned_add(&s.cs, &s.cl[i]);
	assert_int_equal(carrier_threshold(&s.ccfg, c), 2); /* ceil(1.2) */
	for(i = 4; i < 7; i++)
		carriers_owned_add(&s.cs, &s.cl[i]);
	assert_int_equal(carrier_threshold(&s.ccfg, c), 3); /* ceil(2.1) */
	for(i = 7; i < 10; i++)
		carriers_owned_add(&s.cs, &s.cl[i]);
	assert_int_equal(carrier_threshold(&s.ccfg, c), 3);
	/* a new round starts the count again */
	carriers_owned_begin(&s.cs);
	assert_int_equal(c->owned, 0);
	/* a carrier made between two counts owns nothing yet here: the
	 * threshold is 1 until the HA process counts it */
	{
		ur_str_t k2 = UR_STR_LIT("new:5060");
		uint32_t cid = carriers_bind(&s.cs, k2);
		assert_true(cid != CARRIER_NONE);
		c = sim_c(&s, 0); /* the array may have moved */
		assert_int_equal(carriers_get(&s.cs, cid)->shared, 1);
		assert_int_equal(
				carrier_threshold(&s.ccfg, carriers_get(&s.cs, cid)), 1);
	}
	/* a line bound to no carrier is no one's share */
	s.cl[0].cid = CARRIER_NONE;
	carriers_owned_add(&s.cs, &s.cl[0]);
	assert_int_equal(c->owned, 0);
	carriers_destroy(&s.cs);
}

/* four lines, min_lines 3, this node sends for two (the other node for the
 * other two); the carrier refuses everyone: two failing lines here are the
 * carrier refusing, nothing reaches a ceiling. Without the share the same
 * failures follow the per-line rule (the bug: every node deleted its
 * lines). */
static void test_ha_share_refusing(void **state)
{
	struct sim s;
	int i, k, shared;

	for(shared = 0; shared < 2; shared++) {
		sim_init(&s, 4, "shared:5060", 2);
		if(shared) {
			carriers_owned_begin(&s.cs);
			carriers_owned_add(&s.cs, &s.cl[0]);
			carriers_owned_add(&s.cs, &s.cl[1]);
		}
		for(k = 0; k < 2; k++)
			for(i = 0; i < 2; i++)
				sim_try(&s, i, 403);
		if(shared) {
			assert_int_equal(sim_c(&s, 0)->state, CARRIER_REFUSING);
			assert_int_equal(s.events, 1);
			for(i = 0; i < 2; i++) {
				assert_int_equal(s.sm[i].fail_count, 0);
				assert_int_equal(s.routes[i], 0);
				assert_int_not_equal(s.sm[i].state, LINE_CEILING);
			}
		} else {
			/* per-line counts: both at their ceiling, held for want of
			 * a verdict */
			assert_int_equal(sim_c(&s, 0)->state, CARRIER_NORMAL);
			for(i = 0; i < 2; i++)
				assert_int_equal(s.sm[i].fail_count, 2);
		}
		carriers_destroy(&s.cs);
	}
}

/* the same for an outage: two lines timing out here are the carrier down */
static void test_ha_share_unreachable(void **state)
{
	struct sim s;
	int i;

	sim_init(&s, 4, "shared:5060", 10);
	carriers_owned_begin(&s.cs);
	carriers_owned_add(&s.cs, &s.cl[2]);
	carriers_owned_add(&s.cs, &s.cl[3]);
	for(i = 2; i < 4; i++)
		sim_try(&s, i, 200);
	assert_int_equal(sim_c(&s, 2)->state, CARRIER_NORMAL);
	for(i = 2; i < 4; i++) {
		s.now = s.sm[i].due;
		sim_try(&s, i, 408);
	}
	assert_int_equal(sim_c(&s, 2)->state, CARRIER_UNREACHABLE);
	carriers_destroy(&s.cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_key),
			cmocka_unit_test(test_bind_same_key_same_carrier),
			cmocka_unit_test(test_everyone_refused_no_ceiling),
			cmocka_unit_test(test_held_ceiling_rolled_back),
			cmocka_unit_test(test_wrong_password_among_good),
			cmocka_unit_test(test_confirmed_counts_stay),
			cmocka_unit_test(test_late_confirmation_rolls_back),
			cmocka_unit_test(test_small_carrier_per_line_rule),
			cmocka_unit_test(test_held_alone_runs),
			cmocka_unit_test(test_unreachable_probe_backoff),
			cmocka_unit_test(test_probe_retry_after),
			cmocka_unit_test(test_probe_max),
			cmocka_unit_test(test_two_carriers),
			cmocka_unit_test(test_share),
			cmocka_unit_test(test_window),
			cmocka_unit_test(test_line_no_count_and_uncount),
			cmocka_unit_test(test_ha_share_threshold),
			cmocka_unit_test(test_ha_share_refusing),
			cmocka_unit_test(test_ha_share_unreachable),
	};

	return cmocka_run_group_tests_name("carrier", tests, NULL, NULL);
}
