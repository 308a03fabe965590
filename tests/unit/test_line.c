/*
 * Unit tests of the line state machine (line.c): a fake clock, fake replies,
 * and one test per transition.
 */
#include "unit.h"
#include "line.h"

#define T0 1000000u /* the fake clock at load, ms */
#define EXPIRES 3600u

/* One line and everything around it. env.cfg points into the struct: never
 * copy a struct t. */
struct t
{
	struct line_config cfg;
	struct line_env env;
	struct line_sm sm;
	struct line_send sent; /* the last REGISTER sent */
	int nsent;			   /* REGISTERs sent so far */
	ur_str_t realm;		   /* the row's realm */
	int row_has_proxy;	   /* the row's auth_proxy is set */
	/* the realm of the challenge of each kind kept, as the glue keeps it */
	ur_str_t kept[LINE_CH_KINDS];
};

static struct line_config test_config(void)
{
	struct line_config c;

	memset(&c, 0, sizeof(c));
	c.retry_min_ms = 1000;
	c.retry_max_ms = 60000;
	c.jitter_pct = 0;
	c.retry_after_max_ms = 3600000;
	c.refresh_margin_pct = 20;
	c.refresh_margin_min_ms = 2000;
	c.refresh_margin_max_ms = 60000;
	c.fail_ceiling = 3;
	c.count_classes = LINE_FC_DEFAULT_COUNTED;
	c.reauth_new_dialog = LINE_REAUTH_SAME_DIALOG;
	c.reuse_nonce = 1;
	c.max_423 = 3;
	c.min_expires_max = 86400;
	c.inflight_max_ms = 32000;
	return c;
}

/* The row values as the glue copies them, then line_init; returns its bits. */
static int t_load(
		struct t *t, int mode, int ceiling, uint32_t fail_count, int disabled)
{
	memset(t, 0, sizeof(*t));
	t->cfg = test_config();
	t->env.now = T0;
	t->env.cfg = &t->cfg;
	t->sm.reauth_new_dialog = mode;
	t->sm.fail_ceiling = ceiling;
	t->sm.fail_count = fail_count;
	t->realm = UR_STR_NULL;
	return line_init(&t->sm, EXPIRES, disabled, 0, &t->env);
}

static void t_start(struct t *t, int mode)
{
	assert_int_equal(t_load(t, mode, -1, 0, 0), 0);
}

/* Moves the clock to the line's due time and runs line_on_due, which must
 * send. */
static struct line_send t_due(struct t *t)
{
	assert_true(t->sm.due != 0);
	if(t->env.now < t->sm.due)
		t->env.now = t->sm.due;
	t->sent = line_on_due(&t->sm, &t->env);
	assert_int_equal(t->sent.send, 1);
	assert_int_equal(t->sm.due, 0);
	assert_int_equal(t->sent.attempt, t->sm.attempt);
	t->nsent++;
	return t->sent;
}

static struct line_reply reply_of(uint32_t attempt, int code)
{
	struct line_reply r;

	memset(&r, 0, sizeof(r));
	r.attempt = attempt;
	r.code = code;
	r.granted = -1;
	return r;
}

static struct line_reply challenge_of(
		uint32_t attempt, int code, const char *realm, int stale)
{
	struct line_reply r = reply_of(attempt, code);

	r.has_challenge = 1;
	r.ch.alg = DIGEST_ALG_MD5;
	r.ch.qop = DIGEST_QOP_AUTH;
	r.ch.stale = stale;
	r.ch.realm = ur_str_c(realm);
	r.ch.nonce = UR_STR_LIT("abc123");
	return r;
}

/* what the glue does around line_on_reply: the kept realm of the reply's
 * kind in, the challenge kept when the machine says so */
static int t_reply_r(struct t *t, struct line_reply r)
{
	int k = line_ch_kind(r.code), ret;

	r.kept_realm = t->kept[k];
	r.row_has_proxy = t->row_has_proxy;
	ret = line_on_reply(&t->sm, &r, t->realm, &t->env);
	if(ret & LINE_R_KEEP_CHALLENGE)
		t->kept[k] = r.ch.realm;
	return ret;
}

/* a reply to the last REGISTER sent */
static int t_reply(struct t *t, int code)
{
	return t_reply_r(t, reply_of(t->sent.attempt, code));
}

static int t_challenge(struct t *t, int code, int stale)
{
	return t_reply_r(
			t, challenge_of(t->sent.attempt, code, "example.com", stale));
}

/* plain 200 at once */
static void t_register(struct t *t)
{
	t_due(t);
	assert_true(t_reply(t, 200) & LINE_R_REGISTERED);
	assert_int_equal(t->sm.state, LINE_REGISTERED);
}

/* 401, answer, 200 */
static void t_register_auth(struct t *t)
{
	t_due(t);
	assert_int_equal(t_challenge(t, 401, 0), LINE_R_KEEP_CHALLENGE);
	t_due(t);
	assert_int_equal(t->sent.with_auth, 1);
	assert_true(t_reply(t, 200) & LINE_R_REGISTERED);
	assert_int_equal(t->sm.state, LINE_REGISTERED);
}

/* Sends and fails with code until the line stops; returns the failures. */
static int t_fail_until_ceiling(struct t *t, int code, int max)
{
	int n;

	for(n = 1; n <= max; n++) {
		t_due(t);
		if(t_reply(t, code) & LINE_R_CEILING)
			return n;
	}
	return -1;
}

/* line_init */

static void test_init_new_due_after_delay(void **state)
{
	struct t t;

	t_load(&t, -1, -1, 0, 0);
	t.sm.state = 0xff;
	assert_int_equal(line_init(&t.sm, EXPIRES, 0, 5000, &t.env), 0);
	assert_int_equal(t.sm.state, LINE_NEW);
	assert_int_equal(t.sm.announced, LINE_NEW);
	assert_int_equal(t.sm.due, T0 + 5000);
	assert_int_equal(t.sm.expires, EXPIRES);
}

static void test_init_disabled_row(void **state)
{
	struct t t;

	assert_int_equal(t_load(&t, -1, -1, 0, 1), 0);
	assert_int_equal(t.sm.state, LINE_DISABLED);
	assert_int_equal(t.sm.announced, LINE_DISABLED);
	assert_int_equal(t.sm.due, 0);
	assert_int_equal(line_on_due(&t.sm, &t.env).send, 0);
}

static void test_init_restart_at_ceiling_is_ceiling(void **state)
{
	struct t t;

	assert_int_equal(t_load(&t, -1, -1, 3, 0), LINE_R_CEILING | LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_CEILING);
	assert_int_equal(t.sm.due, 0);
	/* a disabled row (kept by the ceiling route) stays disabled: it sends
	 * nothing, and the route does not run again at every restart */
	assert_int_equal(t_load(&t, -1, -1, 7, 1), 0);
	assert_int_equal(t.sm.state, LINE_DISABLED);
	assert_int_equal(line_on_due(&t.sm, &t.env).send, 0);
}

static void test_init_restart_below_ceiling_is_new(void **state)
{
	struct t t;

	assert_int_equal(t_load(&t, -1, -1, 2, 0), 0);
	assert_int_equal(t.sm.state, LINE_NEW);
	assert_int_equal(t.sm.fail_count, 2);
}

static void test_init_at_clock_zero_is_still_due(void **state)
{
	struct t t;

	t_load(&t, -1, -1, 0, 0);
	t.env.now = 0;
	line_init(&t.sm, EXPIRES, 0, 0, &t.env);
	assert_true(t.sm.due != 0);
}

static void test_due_not_reached_sends_nothing(void **state)
{
	struct t t;
	struct line_sm before;

	t_load(&t, -1, -1, 0, 0);
	line_init(&t.sm, EXPIRES, 0, 5000, &t.env);
	memcpy(&before, &t.sm, sizeof(before));
	assert_int_equal(line_on_due(&t.sm, &t.env).send, 0);
	assert_memory_equal(&before, &t.sm, sizeof(before));
}

/* registration */

static void test_register_200_at_once(void **state)
{
	struct t t;
	struct line_send s;
	int ret;

	t_start(&t, -1);
	s = t_due(&t);
	assert_int_equal(s.in_new_dialog, 1);
	assert_int_equal(s.with_auth, 0);
	assert_int_equal(s.cseq, 1);
	assert_int_equal(s.expires, EXPIRES);
	assert_int_equal(t.sm.state, LINE_REGISTERING);
	assert_int_equal(t.sm.last_sent, T0);
	ret = t_reply(&t, 200);
	assert_int_equal(ret, LINE_R_REGISTERED | LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_REGISTERED);
	assert_int_equal(t.sm.granted, EXPIRES);
	assert_int_equal(t.sm.expires_at, T0 + EXPIRES * 1000ull);
	assert_int_equal(t.sm.due, T0 + EXPIRES * 1000ull - 60000);
	assert_int_equal(t.sm.last_code, 200);
}

static void test_register_401_answer_same_dialog_in_mode_0(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, LINE_REAUTH_SAME_DIALOG);
	t_due(&t);
	assert_int_equal(t_challenge(&t, 401, 0), LINE_R_KEEP_CHALLENGE);
	assert_int_equal(t.sm.state, LINE_CHALLENGED);
	assert_int_equal(t.sm.have_nonce, 1);
	assert_int_equal(t.sm.due, t.env.now);
	s = t_due(&t);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(t.sm.nc[LINE_CH_WWW], 1);
	assert_int_equal(s.in_new_dialog, 0);
	assert_int_equal(s.cseq, 2);
	assert_int_equal(t.sm.state, LINE_AUTHENTICATING);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_ANSWER);
	assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
	assert_int_equal(t.sm.fail_count, 0);
}

static void test_register_401_answer_new_dialog_in_mode_1(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, LINE_REAUTH_NEW_DIALOG);
	t_due(&t);
	t_challenge(&t, 401, 0);
	s = t_due(&t);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(t.sm.nc[LINE_CH_WWW], 1);
	assert_int_equal(s.in_new_dialog, 1);
	assert_int_equal(s.cseq, 1);
	assert_int_equal(t.sm.in_new_dialog, 1);
	assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
}

static void test_register_407_answer_200(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, -1);
	t_due(&t);
	assert_int_equal(t_challenge(&t, 407, 0), LINE_R_KEEP_CHALLENGE);
	s = t_due(&t);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(s.cseq, 2);
	assert_int_equal(t.sm.nc[LINE_CH_PROXY], 1);
	assert_int_equal(t.sm.have_nonce, LINE_CH_BIT(LINE_CH_PROXY));
	assert_int_equal(t.sm.auth_sent[LINE_CH_PROXY], LINE_AUTH_ANSWER);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_NONE);
	assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
}

static void test_granted_from_reply_sets_refresh(void **state)
{
	struct t t;
	struct line_reply r;

	t_start(&t, -1);
	t_due(&t);
	r = reply_of(t.sent.attempt, 200);
	r.granted = 60;
	t_reply_r(&t, r);
	assert_int_equal(t.sm.granted, 60);
	assert_int_equal(t.sm.expires_at, T0 + 60000);
	assert_int_equal(t.sm.due, T0 + 48000);
}

/* A refresh is planned to the second, never later than the margin asks, so
 * the lines due in one second leave in one batch; a grant too short to lose
 * a second keeps its exact time. */
static void test_refresh_due_rounded_down_to_the_second(void **state)
{
	struct line_config c = test_config();
	struct t t;
	struct line_reply r;

	/* 60 s granted at 12,345.678 s: 48 s later is 12,393.678, planned 12,393 */
	assert_int_equal(line_refresh_due(12345678, 60, &c), 12393000);
	/* granted on a second: exact */
	assert_int_equal(line_refresh_due(12345000, 60, &c), 12393000);
	/* 1 s granted: the refresh 0.5 s later, to the millisecond */
	assert_int_equal(line_refresh_due(12345678, 1, &c), 12346178);
	/* 3 s granted: 1.5 s, below two seconds, exact */
	assert_int_equal(line_refresh_due(12345678, 3, &c), 12347178);
	/* 5 s granted: 3 s, rounded */
	assert_int_equal(line_refresh_due(12345678, 5, &c), 12348000);
	/* at the end of the clock: saturates, no wrap */
	assert_int_equal(line_refresh_due(UINT64_MAX - 10, 60, &c), UINT64_MAX);

	/* through the machine: a 200 at a time off the second */
	t_start(&t, -1);
	t_due(&t);
	t.env.now = T0 + 1234;
	r = reply_of(t.sent.attempt, 200);
	r.granted = 60;
	t_reply_r(&t, r);
	assert_int_equal(t.sm.expires_at, T0 + 1234 + 60000);
	assert_int_equal(t.sm.due, T0 + 49000);
	assert_int_equal(t.sm.due % 1000, 0);
}

/* Only what a 200 OK planned may leave in the glue's one-second batch: the
 * refresh and the answer to its challenge. A first registration, a retry or
 * a refresh someone made due now goes in small steps. */
static void test_planned_refresh_only_after_a_200(void **state)
{
	struct t t;

	t_start(&t, -1);
	assert_false(line_due_is_planned_refresh(&t.sm));
	t_due(&t);
	t_challenge(&t, 401, 0);
	assert_int_equal(t.sm.state, LINE_CHALLENGED);
	assert_false(line_due_is_planned_refresh(&t.sm)); /* a first answer */
	t_due(&t);
	assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
	assert_true(line_due_is_planned_refresh(&t.sm));
	/* the refresh is challenged: its answer belongs to the batch */
	t_due(&t);
	assert_false(line_due_is_planned_refresh(&t.sm)); /* in flight */
	t_challenge(&t, 401, 0);
	assert_true(line_due_is_planned_refresh(&t.sm));
	t_due(&t);
	assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
	/* an operator's refresh, a carrier's recovery: due now, not planned */
	assert_int_equal(line_refresh(&t.sm, &t.env), 0);
	assert_false(line_due_is_planned_refresh(&t.sm));
	t_due(&t);
	assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
	assert_true(line_due_is_planned_refresh(&t.sm));
	/* a failure and its retry: a registration from scratch */
	t_due(&t);
	t_reply(&t, 503);
	assert_int_equal(t.sm.state, LINE_RETRY_WAIT);
	assert_false(line_due_is_planned_refresh(&t.sm));
	t_due(&t);
	t_challenge(&t, 401, 0);
	assert_int_equal(t.sm.state, LINE_CHALLENGED);
	assert_false(line_due_is_planned_refresh(&t.sm));
}

static void test_granted_minus_one_uses_asked_expires(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	t_reply(&t, 200); /* reply_of sets granted = -1 */
	assert_int_equal(t.sm.granted, EXPIRES);
}

static void test_granted_zero_is_failure(void **state)
{
	struct t t;
	struct line_reply r;
	int ret;

	t_start(&t, -1);
	t_due(&t);
	r = reply_of(t.sent.attempt, 200);
	r.granted = 0;
	ret = t_reply_r(&t, r);
	assert_int_equal(ret, LINE_R_FAILED | LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_RETRY_WAIT);
	assert_int_equal(t.sm.fail_class, LINE_FC_OTHER);
	assert_int_equal(t.sm.fail_count, 0);
	assert_int_equal(t.sm.expires_at, 0);
}

static void test_refresh_same_dialog_cseq_grows(void **state)
{
	struct t t;
	struct line_send s;
	int ret;

	t_start(&t, -1);
	t_register(&t);
	s = t_due(&t);
	assert_int_equal(t.env.now, T0 + EXPIRES * 1000ull - 60000);
	assert_int_equal(s.in_new_dialog, 0);
	assert_int_equal(s.with_auth, 0);
	assert_int_equal(s.cseq, 2);
	assert_int_equal(t.sm.state, LINE_REGISTERING);
	ret = t_reply(&t, 200);
	/* REGISTERED was announced already: the refresh is silent */
	assert_int_equal(ret, LINE_R_REGISTERED);
}

static void test_refresh_reuses_nonce_with_next_nc(void **state)
{
	struct t t;
	struct line_send s;
	int n;

	t_start(&t, -1);
	t_register_auth(&t);
	n = t.nsent;
	s = t_due(&t);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(t.sm.nc[LINE_CH_WWW], 2);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_REUSED);
	assert_int_equal(t.sm.state, LINE_AUTHENTICATING);
	assert_int_equal(s.in_new_dialog, 0);
	assert_int_equal(s.cseq, 3);
	assert_int_equal(t_reply(&t, 200), LINE_R_REGISTERED);
	assert_int_equal(t.nsent - n, 1); /* one request per refresh */
	t_due(&t);
	assert_int_equal(t.sm.nc[LINE_CH_WWW], 3);
}

static void test_refresh_without_reuse_nonce_sends_plain(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, -1);
	t.cfg.reuse_nonce = 0;
	t_register_auth(&t);
	s = t_due(&t);
	assert_int_equal(s.with_auth, 0);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_NONE);
	assert_int_equal(t.sm.state, LINE_REGISTERING);
}

static void test_refresh_challenged_again_answers(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, -1);
	t_register_auth(&t);
	t_due(&t); /* REUSED, nc 2 */
	/* the carrier forgot the nonce: a new challenge, not a failure */
	assert_int_equal(t_challenge(&t, 401, 0), LINE_R_KEEP_CHALLENGE);
	assert_int_equal(t.sm.state, LINE_CHALLENGED);
	assert_int_equal(t.sm.nc[LINE_CH_WWW], 0);
	s = t_due(&t);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(t.sm.nc[LINE_CH_WWW], 1);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_ANSWER);
	assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
	assert_int_equal(t.sm.fail_count, 0);
}

static void test_stale_true_is_not_failure(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	t_challenge(&t, 401, 0);
	t_due(&t); /* ANSWER */
	assert_int_equal(t_challenge(&t, 401, 1), LINE_R_KEEP_CHALLENGE);
	assert_int_equal(t.sm.state, LINE_CHALLENGED);
	assert_int_equal(t.sm.fail_count, 0);
	assert_int_equal(t.sm.retries, 0);
	t_due(&t);
	assert_int_equal(t.sm.nc[LINE_CH_WWW], 1);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_ANSWER);
}

/* a carrier that calls every answer stale must not keep the line resending
 * at once forever: after max_423 stale answers in a row it backs off */
static void test_endless_stale_is_bounded(void **state)
{
	struct t t;
	int i, ret;

	t_start(&t, -1);
	t_due(&t);
	t_challenge(&t, 401, 0);
	for(i = 0; i < (int)t.cfg.max_423; i++) {
		t_due(&t); /* ANSWER */
		assert_int_equal(t_challenge(&t, 401, 1), LINE_R_KEEP_CHALLENGE);
	}
	t_due(&t);
	ret = t_challenge(&t, 401, 1);
	assert_true(ret & LINE_R_FAILED);
	assert_int_equal(t.sm.fail_class, LINE_FC_BAD_CHALLENGE);
	assert_int_equal(t.sm.state, LINE_RETRY_WAIT);
	assert_int_equal(t.sm.fail_count, 0); /* not counted by default */
}

static void test_wrong_password_is_bad_auth_counted(void **state)
{
	struct t t;
	int ret;

	t_start(&t, -1);
	t_due(&t);
	t_challenge(&t, 401, 0);
	t_due(&t);
	ret = t_challenge(&t, 401, 0);
	assert_int_equal(ret, LINE_R_FAILED | LINE_R_COUNT | LINE_R_STATE);
	assert_int_equal(t.sm.fail_class, LINE_FC_BAD_AUTH);
	assert_int_equal(t.sm.fail_count, 1);
	assert_int_equal(t.sm.state, LINE_RETRY_WAIT);
	assert_int_equal(t.sm.have_nonce, 0);
	assert_int_equal(t.sm.due, t.env.now + 1000);
}

static void test_wrong_password_407_is_bad_auth(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	t_challenge(&t, 407, 0);
	t_due(&t);
	assert_true(t_challenge(&t, 407, 0) & LINE_R_COUNT);
	assert_int_equal(t.sm.fail_class, LINE_FC_BAD_AUTH);
}

static void test_forbidden_403_counted(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	assert_int_equal(
			t_reply(&t, 403), LINE_R_FAILED | LINE_R_COUNT | LINE_R_STATE);
	assert_int_equal(t.sm.fail_class, LINE_FC_FORBIDDEN);
	assert_int_equal(t.sm.fail_count, 1);
	assert_int_equal(t.sm.last_code, 403);
}

static void test_not_found_404_counted(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	assert_true(t_reply(&t, 404) & LINE_R_COUNT);
	assert_int_equal(t.sm.fail_class, LINE_FC_NOT_FOUND);
	assert_int_equal(t.sm.fail_count, 1);
}

/* A carrier outage must never delete a line. */
static void outage_never_counts(int code, int local, int fc)
{
	struct t t;
	struct line_reply r;
	int i, ret;

	t_start(&t, -1);
	t.sm.fail_ceiling = 1;
	for(i = 0; i < 1000; i++) {
		t_due(&t);
		r = reply_of(t.sent.attempt, code);
		r.local = local;
		ret = t_reply_r(&t, r);
		assert_true(ret & LINE_R_FAILED);
		assert_false(ret & (LINE_R_COUNT | LINE_R_CEILING));
		/* the state is announced once, not at every retry */
		assert_int_equal(ret & LINE_R_STATE, i == 0 ? LINE_R_STATE : 0);
		assert_int_equal(t.sm.fail_class, fc);
	}
	assert_int_equal(t.sm.fail_count, 0);
	assert_int_equal(t.sm.state, LINE_RETRY_WAIT);
	assert_int_equal(t.sm.retries, 1000);
	/* and the backoff is at its cap */
	assert_int_equal(t.sm.due, t.env.now + 60000);
}

static void test_outage_408_never_counts(void **state)
{
	outage_never_counts(408, 0, LINE_FC_TIMEOUT);
	outage_never_counts(408, 1, LINE_FC_TIMEOUT);
}

static void test_outage_5xx_never_counts(void **state)
{
	outage_never_counts(503, 0, LINE_FC_SERVER);
	outage_never_counts(500, 0, LINE_FC_SERVER);
}

static void test_outage_6xx_never_counts(void **state)
{
	outage_never_counts(603, 0, LINE_FC_GLOBAL);
}

static void test_outage_local_reply_is_transport(void **state)
{
	outage_never_counts(503, 1, LINE_FC_TRANSPORT);
	/* a locally made 403 is not the carrier's verdict */
	outage_never_counts(403, 1, LINE_FC_TRANSPORT);
}

static void test_outage_send_error_never_counts(void **state)
{
	struct t t;
	int i, ret;

	t_start(&t, -1);
	t.sm.fail_ceiling = 1;
	for(i = 0; i < 1000; i++) {
		t_due(&t);
		ret = line_on_send_error(&t.sm, t.sent.attempt, &t.env);
		assert_true(ret & LINE_R_FAILED);
		assert_false(ret & LINE_R_COUNT);
		assert_int_equal(t.sm.fail_class, LINE_FC_LOCAL);
	}
	assert_int_equal(t.sm.fail_count, 0);
}

static void test_send_error_stale_attempt_ignored(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	assert_int_equal(line_on_send_error(&t.sm, t.sent.attempt + 1, &t.env),
			LINE_R_IGNORED);
	assert_int_equal(t.sm.state, LINE_REGISTERING);
}

static void test_ceiling_reached_exactly_at_n(void **state)
{
	struct t t;
	int i, ret, ceilings = 0;

	t_start(&t, -1); /* cfg ceiling 3 */
	for(i = 1; i <= 3; i++) {
		t_due(&t);
		ret = t_reply(&t, 403);
		assert_true(ret & LINE_R_COUNT);
		assert_int_equal(t.sm.fail_count, i);
		if(ret & LINE_R_CEILING) {
			ceilings++;
			assert_int_equal(i, 3);
			assert_true(ret & LINE_R_STATE);
		}
	}
	assert_int_equal(ceilings, 1);
	assert_int_equal(t.sm.state, LINE_CEILING);
	assert_int_equal(t.sm.due, 0);
	/* nothing is sent afterwards, whatever happens */
	t.sm.due = t.env.now;
	assert_int_equal(line_on_due(&t.sm, &t.env).send, 0);
	assert_int_equal(t.sm.due, 0);
	assert_int_equal(t_reply(&t, 403), LINE_R_IGNORED);
	assert_int_equal(line_refresh(&t.sm, &t.env), 0);
	assert_int_equal(line_enable(&t.sm, &t.env), 0);
	assert_int_equal(t.sm.due, 0);
	assert_int_equal(t.sm.state, LINE_CEILING);
}

static void test_ceiling_zero_never(void **state)
{
	struct t t;

	t_start(&t, -1);
	t.cfg.fail_ceiling = 0;
	assert_int_equal(t_fail_until_ceiling(&t, 403, 500), -1);
	assert_int_equal(t.sm.fail_count, 500);
	assert_int_equal(t.sm.state, LINE_RETRY_WAIT);
}

static void test_row_ceiling_overrides_config(void **state)
{
	struct t t;

	t_load(&t, -1, 5, 0, 0);
	assert_int_equal(line_ceiling(&t.sm, &t.cfg), 5);
	assert_int_equal(t_fail_until_ceiling(&t, 403, 100), 5);
	/* a row value of 0 means never, whatever the config */
	t_load(&t, -1, 0, 0, 0);
	assert_int_equal(line_ceiling(&t.sm, &t.cfg), 0);
	assert_int_equal(t_fail_until_ceiling(&t, 403, 50), -1);
	/* -1 follows the config */
	t_load(&t, -1, -1, 0, 0);
	assert_int_equal(line_ceiling(&t.sm, &t.cfg), 3);
}

static void test_count_changes_are_reported_for_persistence(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	assert_true(t_reply(&t, 404) & LINE_R_COUNT);
	t_due(&t);
	assert_false(t_reply(&t, 503) & LINE_R_COUNT); /* not counted, no write */
	assert_int_equal(t.sm.fail_count, 1);
	t_due(&t);
	assert_int_equal(
			t_reply(&t, 200), LINE_R_REGISTERED | LINE_R_COUNT | LINE_R_STATE);
	assert_int_equal(t.sm.fail_count, 0);
}

static void test_success_resets_count_and_retries(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	t_reply(&t, 403);
	t_due(&t);
	t_reply(&t, 403);
	assert_int_equal(t.sm.fail_count, 2);
	t_due(&t);
	t_reply(&t, 200);
	assert_int_equal(t.sm.fail_count, 0);
	assert_int_equal(t.sm.retries, 0);
	assert_int_equal(t.sm.fail_class, LINE_FC_NONE);
	/* so it takes 3 more in a row to reach the ceiling */
	assert_int_equal(t_fail_until_ceiling(&t, 403, 10), 3);
}

static void test_uncounted_failure_keeps_count(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	t_reply(&t, 403);
	t_due(&t);
	t_reply(&t, 408);
	t_due(&t);
	t_reply(&t, 403);
	/* "consecutive" counts the counted classes only: a timeout between two
	 * 403s neither counts nor resets */
	assert_int_equal(t.sm.fail_count, 2);
}

/* new dialog on re-auth */

static void test_auto_400_switches_once_without_count(void **state)
{
	struct t t;
	struct line_send s;
	int ret;

	t_start(&t, LINE_REAUTH_AUTO);
	t_due(&t);
	t_challenge(&t, 401, 0);
	s = t_due(&t);
	assert_int_equal(s.in_new_dialog, 0); /* auto starts in the same dialog */
	assert_int_equal(s.cseq, 2);
	ret = t_reply(&t, 400);
	assert_int_equal(ret, LINE_R_NEW_DIALOG_LEARNT);
	assert_int_equal(t.sm.new_dialog_learnt, 1);
	assert_int_equal(t.sm.state, LINE_NEW);
	/* the old dialog's nonce is dropped: the new dialog starts afresh */
	assert_int_equal(t.sm.have_nonce, 0);
	assert_int_equal(t.sm.fail_count, 0);
	assert_int_equal(t.sm.retries, 0);
	assert_int_equal(t.sm.due, t.env.now);
	s = t_due(&t);
	assert_int_equal(s.in_new_dialog, 1);
	assert_int_equal(s.cseq, 1);
	assert_int_equal(s.with_auth, 0);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_NONE);
	assert_int_equal(t_challenge(&t, 401, 0), LINE_R_KEEP_CHALLENGE);
	s = t_due(&t);
	assert_int_equal(s.in_new_dialog, 1);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_ANSWER);
	assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
	/* a 200 does not undo the switch */
	assert_int_equal(t.sm.new_dialog_learnt, 1);
	assert_true(line_new_dialog_in_use(&t.sm, &t.cfg));
}

static void test_auto_refresh_uses_new_dialog_after_switch(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, LINE_REAUTH_AUTO);
	t_due(&t);
	t_challenge(&t, 401, 0);
	t_due(&t);
	t_reply(&t, 400);
	t_due(&t); /* the new dialog, without credentials */
	t_challenge(&t, 401, 0);
	t_due(&t);
	t_reply(&t, 200);
	s = t_due(&t); /* refresh, reusing the nonce */
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(s.in_new_dialog, 1);
	assert_int_equal(s.cseq, 1);
	/* a refresh challenged again answers in a new dialog too */
	t_challenge(&t, 401, 0);
	s = t_due(&t);
	assert_int_equal(s.in_new_dialog, 1);
}

static void test_auto_no_second_switch(void **state)
{
	struct t t;
	int ret;

	t_start(&t, LINE_REAUTH_AUTO);
	t_due(&t);
	t_challenge(&t, 401, 0);
	t_due(&t);
	assert_int_equal(t_reply(&t, 400), LINE_R_NEW_DIALOG_LEARNT);
	t_due(&t); /* the new dialog, without credentials */
	t_challenge(&t, 401, 0);
	t_due(&t); /* the answer in a new dialog */
	ret = t_reply(&t, 400);
	assert_false(ret & LINE_R_NEW_DIALOG_LEARNT);
	/* a 400 is never a verdict on the credentials */
	assert_int_equal(ret, LINE_R_FAILED | LINE_R_STATE);
	assert_int_equal(t.sm.fail_class, LINE_FC_OTHER);
	assert_int_equal(t.sm.fail_count, 0);
	assert_int_equal(t.sm.new_dialog_learnt, 1);
}

static void test_auto_400_without_credentials_is_other(void **state)
{
	struct t t;
	int ret;

	t_start(&t, LINE_REAUTH_AUTO);
	t_due(&t);
	ret = t_reply(&t, 400);
	assert_int_equal(ret, LINE_R_FAILED | LINE_R_STATE);
	assert_int_equal(t.sm.fail_class, LINE_FC_OTHER);
	assert_int_equal(t.sm.new_dialog_learnt, 0);
}

static void test_mode_1_400_in_new_dialog_is_other(void **state)
{
	struct t t;

	t_start(&t, LINE_REAUTH_NEW_DIALOG);
	t_due(&t);
	t_challenge(&t, 401, 0);
	t_due(&t);
	assert_int_equal(t_reply(&t, 400), LINE_R_FAILED | LINE_R_STATE);
	assert_int_equal(t.sm.fail_class, LINE_FC_OTHER);
	assert_int_equal(t.sm.fail_count, 0);
	assert_int_equal(t.sm.new_dialog_learnt, 0);
}

static void test_mode_0_400_is_other_not_counted(void **state)
{
	struct t t;

	t_start(&t, LINE_REAUTH_SAME_DIALOG);
	t_due(&t);
	t_challenge(&t, 401, 0);
	t_due(&t);
	assert_int_equal(t_reply(&t, 400), LINE_R_FAILED | LINE_R_STATE);
	assert_int_equal(t.sm.fail_class, LINE_FC_OTHER);
	assert_int_equal(t.sm.fail_count, 0);
}

static void test_mode_default_follows_config(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, LINE_REAUTH_DEFAULT);
	t.cfg.reauth_new_dialog = LINE_REAUTH_NEW_DIALOG;
	assert_true(line_new_dialog_in_use(&t.sm, &t.cfg));
	t_due(&t);
	t_challenge(&t, 401, 0);
	s = t_due(&t);
	assert_int_equal(s.in_new_dialog, 1);

	t_start(&t, LINE_REAUTH_DEFAULT);
	t.cfg.reauth_new_dialog = LINE_REAUTH_SAME_DIALOG;
	assert_false(line_new_dialog_in_use(&t.sm, &t.cfg));
	t_due(&t);
	t_challenge(&t, 401, 0);
	s = t_due(&t);
	assert_int_equal(s.in_new_dialog, 0);

	/* a row value wins over the config both ways */
	t_start(&t, LINE_REAUTH_SAME_DIALOG);
	t.cfg.reauth_new_dialog = LINE_REAUTH_NEW_DIALOG;
	assert_false(line_new_dialog_in_use(&t.sm, &t.cfg));
	t_start(&t, LINE_REAUTH_NEW_DIALOG);
	t.cfg.reauth_new_dialog = LINE_REAUTH_SAME_DIALOG;
	assert_true(line_new_dialog_in_use(&t.sm, &t.cfg));
	/* auto through the config switches like a row's auto */
	t_start(&t, LINE_REAUTH_DEFAULT);
	t.cfg.reauth_new_dialog = LINE_REAUTH_AUTO;
	t_due(&t);
	t_challenge(&t, 401, 0);
	t_due(&t);
	assert_int_equal(t_reply(&t, 400), LINE_R_NEW_DIALOG_LEARNT);
}

/* 423 Interval Too Brief */

static int t_423(struct t *t, uint32_t min_expires)
{
	struct line_reply r = reply_of(t->sent.attempt, 423);

	r.min_expires = min_expires;
	return t_reply_r(t, r);
}

static void test_423_retried_at_once_with_min_expires(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, -1);
	t_due(&t);
	assert_int_equal(t_423(&t, 7200), 0);
	assert_int_equal(t.sm.state, LINE_REGISTERING);
	assert_int_equal(t.sm.due, t.env.now);
	assert_int_equal(t.sm.expires, 7200);
	assert_int_equal(t.sm.n423, 1);
	s = t_due(&t);
	assert_int_equal(s.expires, 7200);
	assert_int_equal(s.in_new_dialog, 0);
	assert_int_equal(s.cseq, 2);
	t_reply(&t, 200);
	assert_int_equal(t.sm.n423, 0);
	assert_int_equal(t.sm.granted, 7200);
	/* a lower Min-Expires never lowers what we ask */
	t_due(&t);
	t_423(&t, 60);
	assert_int_equal(t.sm.expires, 7200);
}

static void test_423_to_credentials_resends_credentials(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, -1);
	t_register_auth(&t);
	t_due(&t); /* refresh with the nonce, nc 2 */
	t_423(&t, 7200);
	s = t_due(&t);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(t.sm.nc[LINE_CH_WWW], 3);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_REUSED);
	assert_int_equal(t.sm.state, LINE_AUTHENTICATING);
	assert_int_equal(s.expires, 7200);
	assert_int_equal(s.in_new_dialog, 0);
}

static void test_423_loop_limited(void **state)
{
	struct t t;
	int i, ret;

	t_start(&t, -1);
	t_due(&t);
	for(i = 0; i < 3; i++) {
		assert_int_equal(t_423(&t, 4000 + i), 0);
		t_due(&t);
	}
	ret = t_423(&t, 5000);
	assert_int_equal(ret, LINE_R_FAILED | LINE_R_STATE);
	assert_int_equal(t.sm.fail_class, LINE_FC_OTHER);
	assert_int_equal(t.sm.state, LINE_RETRY_WAIT);
	/* the next registration starts the 423 count anew */
	t_due(&t);
	assert_int_equal(t.sm.n423, 0);
}

static void test_423_without_min_expires_is_failure(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	assert_true(t_423(&t, 0) & LINE_R_FAILED);
	assert_int_equal(t.sm.fail_class, LINE_FC_OTHER);
}

/* retry timing */

static void test_retry_after_honoured(void **state)
{
	struct t t;
	struct line_reply r;

	t_start(&t, -1);
	t_due(&t);
	r = reply_of(t.sent.attempt, 503);
	r.retry_after = 120;
	t_reply_r(&t, r);
	assert_int_equal(t.sm.due, t.env.now + 120000);
}

static void test_retry_after_bounded(void **state)
{
	struct t t;
	struct line_reply r;

	t_start(&t, -1);
	t_due(&t);
	r = reply_of(t.sent.attempt, 503);
	r.retry_after = UINT32_MAX;
	t_reply_r(&t, r);
	assert_int_equal(t.sm.due, t.env.now + 3600000);
	/* a bound of 0: carriers do not choose, the backoff does */
	t.cfg.retry_after_max_ms = 0;
	t_due(&t);
	r.attempt = t.sent.attempt;
	t_reply_r(&t, r);
	assert_int_equal(t.sm.due, t.env.now + 2000);
}

/* Retry-After shorter than the backoff does not shorten it */
static void test_retry_after_never_below_backoff(void **state)
{
	struct t t;
	struct line_reply r;
	int i;

	t_start(&t, -1);
	for(i = 0; i < 4; i++) {
		t_due(&t);
		r = reply_of(t.sent.attempt, 503);
		r.retry_after = 1;
		t_reply_r(&t, r);
	}
	/* 4th failure: backoff 8 s (1 s doubling), not the carrier's 1 s */
	assert_int_equal(t.sm.due, t.env.now + 8000);
}

static void test_backoff_doubles_and_caps(void **state)
{
	struct line_config c = test_config();

	assert_int_equal(line_backoff_ms(1, 0, &c), 1000);
	assert_int_equal(line_backoff_ms(2, 0, &c), 2000);
	assert_int_equal(line_backoff_ms(3, 0, &c), 4000);
	assert_int_equal(line_backoff_ms(6, 0, &c), 32000);
	assert_int_equal(line_backoff_ms(7, 0, &c), 60000);
	assert_int_equal(line_backoff_ms(33, 0, &c), 60000);
	assert_int_equal(line_backoff_ms(64, 0, &c), 60000);
	assert_int_equal(line_backoff_ms(UINT32_MAX, 0, &c), 60000);
	assert_int_equal(line_backoff_ms(0, 0, &c), 1000);
	c.retry_min_ms = UINT32_MAX;
	c.retry_max_ms = UINT32_MAX;
	assert_int_equal(line_backoff_ms(31, 0, &c), UINT32_MAX);
	c.retry_min_ms = 0;
	assert_int_equal(line_backoff_ms(5, 0, &c), 1);
}

static void test_backoff_sequence_of_a_line(void **state)
{
	struct t t;
	uint64_t expect[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
	size_t i;

	t_start(&t, -1);
	for(i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		t_due(&t);
		t_reply(&t, 503);
		assert_int_equal(t.sm.due - t.env.now, expect[i]);
	}
}

static void test_backoff_jitter_bounds_exhaustive(void **state)
{
	struct line_config c = test_config();
	uint32_t j, rnd, k;
	uint64_t ms;
	int seen[2 * 12 + 1];

	/* base 1000 ms: every rnd gives 10 * (100 - j + k) ms, and every k in
	 * [0, 2j] is reached */
	for(j = 0; j <= 12; j++) {
		c.jitter_pct = j;
		memset(seen, 0, sizeof(seen));
		for(rnd = 0; rnd < 4 * (2 * j + 1); rnd++) {
			ms = line_backoff_ms(1, rnd, &c);
			assert_true(ms >= 10 * (100 - j) && ms <= 10 * (100 + j));
			assert_int_equal(ms % 10, 0);
			seen[ms / 10 - (100 - j)] = 1;
		}
		for(k = 0; k <= 2 * j; k++)
			assert_true(seen[k]);
	}
	/* rnd near UINT32_MAX; a jitter beyond 100 is bounded to 100 */
	c.jitter_pct = 1000;
	for(rnd = UINT32_MAX - 500; rnd != 0; rnd++) {
		ms = line_backoff_ms(1, rnd, &c);
		assert_true(ms >= 1 && ms <= 2000);
	}
	/* jitter applies after the cap */
	c.jitter_pct = 10;
	assert_int_equal(line_backoff_ms(40, 0, &c), 54000);
	assert_int_equal(line_backoff_ms(40, 20, &c), 66000);
}

static void test_refresh_delay_margins(void **state)
{
	struct line_config c = test_config();

	/* 20% of 60 s is 12 s, inside [2 s, 60 s] */
	assert_int_equal(line_refresh_delay_ms(60, &c), 48000);
	/* 20% of 3600 s is 720 s, clamped to 60 s */
	assert_int_equal(line_refresh_delay_ms(3600, &c), 3540000);
	/* 20% of 1 s is 0.2 s, raised to 2 s, then bounded by half of 1 s */
	assert_int_equal(line_refresh_delay_ms(1, &c), 500);
	/* 5 s: 1 s raised to 2 s */
	assert_int_equal(line_refresh_delay_ms(5, &c), 3000);
	assert_int_equal(line_refresh_delay_ms(0, &c), 1);
	assert_int_equal(line_refresh_delay_ms(UINT32_MAX, &c),
			(uint64_t)UINT32_MAX * 1000 - 60000);
	c.refresh_margin_pct = UINT32_MAX; /* no overflow, at most half */
	c.refresh_margin_max_ms = UINT32_MAX;
	assert_int_equal(line_refresh_delay_ms(3600, &c), 1800000);
}

/* late replies */

static void test_stale_reply_wrong_attempt_ignored(void **state)
{
	struct t t;
	struct line_sm before;

	t_start(&t, -1);
	t_due(&t);
	memcpy(&before, &t.sm, sizeof(before));
	assert_int_equal(
			t_reply_r(&t, reply_of(t.sent.attempt - 1, 200)), LINE_R_IGNORED);
	assert_int_equal(
			t_reply_r(&t, reply_of(t.sent.attempt + 1, 403)), LINE_R_IGNORED);
	assert_memory_equal(&before, &t.sm, sizeof(before));
}

static void test_second_reply_to_same_request_ignored(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	t_reply(&t, 200);
	assert_int_equal(t_reply(&t, 403), LINE_R_IGNORED);
	assert_int_equal(t.sm.state, LINE_REGISTERED);
	assert_int_equal(t.sm.fail_count, 0);
}

static void test_reply_while_send_pending_ignored(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	t_423(&t, 7200); /* a resend is pending: nothing in flight */
	assert_int_equal(t_reply(&t, 200), LINE_R_IGNORED);
	assert_int_equal(t.sm.state, LINE_REGISTERING);
}

/* other codes */

static void test_nonsense_codes_are_other(void **state)
{
	static const int codes[] = {100, 183, 0, -5, 302, 700, 99999, 480};
	struct t t;
	size_t i;

	t_start(&t, -1);
	for(i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		t_due(&t);
		assert_true(t_reply(&t, codes[i]) & LINE_R_FAILED);
		assert_int_equal(t.sm.fail_class, LINE_FC_OTHER);
	}
	assert_int_equal(t.sm.fail_count, 0);
}

static void test_other_class_counts_when_configured(void **state)
{
	struct t t;

	t_start(&t, -1);
	t.cfg.count_classes |= LINE_FC_BIT(LINE_FC_OTHER);
	t_due(&t);
	t_challenge(&t, 401, 0);
	t_due(&t);
	assert_true(t_reply(&t, 400) & LINE_R_COUNT);
	t.cfg.count_classes = 0;
	t_due(&t);
	assert_false(t_reply(&t, 403) & LINE_R_COUNT);
}

static void test_realm_mismatch_is_bad_challenge(void **state)
{
	struct t t;
	int ret;

	t_start(&t, -1);
	t.realm = UR_STR_LIT("example.com");
	t_due(&t);
	ret = t_reply_r(&t, challenge_of(t.sent.attempt, 401, "evil.net", 0));
	assert_int_equal(ret, LINE_R_FAILED | LINE_R_STATE);
	assert_int_equal(t.sm.fail_class, LINE_FC_BAD_CHALLENGE);
	assert_int_equal(t.sm.have_nonce, 0);
	/* exact bytes: case counts */
	t_due(&t);
	ret = t_reply_r(&t, challenge_of(t.sent.attempt, 401, "Example.com", 0));
	assert_int_equal(t.sm.fail_class, LINE_FC_BAD_CHALLENGE);
	/* the same realm is fine */
	t_due(&t);
	ret = t_reply_r(&t, challenge_of(t.sent.attempt, 401, "example.com", 0));
	assert_int_equal(ret, LINE_R_KEEP_CHALLENGE);
}

static void test_missing_challenge_is_bad_challenge(void **state)
{
	struct t t;
	struct line_reply r;

	t_start(&t, -1);
	t_due(&t);
	r = reply_of(t.sent.attempt, 401);
	r.challenge_err = DIGEST_E_ALGORITHM;
	assert_true(t_reply_r(&t, r) & LINE_R_FAILED);
	assert_int_equal(t.sm.fail_class, LINE_FC_BAD_CHALLENGE);
	assert_int_equal(t.sm.fail_count, 0); /* not counted by default */
}

static void test_failure_forgets_nonce_fresh_retry(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, -1);
	t_register_auth(&t);
	t_due(&t);
	t_reply(&t, 503);
	s = t_due(&t);
	assert_int_equal(s.in_new_dialog, 1);
	assert_int_equal(s.cseq, 1);
	assert_int_equal(s.with_auth, 0);
	assert_int_equal(t.sm.have_nonce, 0);
}

static void test_failure_keeps_expires_at_while_valid(void **state)
{
	struct t t;
	uint64_t until;

	t_start(&t, -1);
	t_register(&t);
	until = t.sm.expires_at;
	t_due(&t);
	t_reply(&t, 503);
	assert_int_equal(t.sm.expires_at, until);
	t.env.now = until;
	t_due(&t);
	t_reply(&t, 503);
	assert_int_equal(t.sm.expires_at, 0);
}

static void test_cseq_limit_starts_new_dialog(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, -1);
	t_register(&t);
	t.sm.cseq = 0x7fffffff;
	s = t_due(&t);
	assert_int_equal(s.in_new_dialog, 1);
	assert_int_equal(s.cseq, 1);
}

/* disable, remove, enable */

static void test_disable_registered_unregisters_then_disabled(void **state)
{
	struct t t;
	struct line_send s;
	int ret;

	t_start(&t, -1);
	t_register(&t);
	t.env.now += 10000;
	ret = line_disable(&t.sm, &t.env);
	assert_int_equal(ret, LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_UNREGISTERING);
	assert_int_equal(t.sm.due, t.env.now);
	s = t_due(&t);
	assert_int_equal(s.expires, 0);
	assert_int_equal(s.in_new_dialog, 0);
	assert_int_equal(s.cseq, 2);
	assert_int_equal(s.with_auth, 0);
	ret = t_reply(&t, 200);
	assert_int_equal(ret, LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_DISABLED);
	assert_int_equal(t.sm.due, 0);
	assert_int_equal(t.sm.expires_at, 0);
	/* disabling again changes nothing */
	assert_int_equal(line_disable(&t.sm, &t.env), 0);
}

static void test_unregister_ends_on_any_reply(void **state)
{
	static const int codes[] = {403, 500, 408, 400, 423, 404};
	struct t t;
	size_t i;

	for(i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		t_start(&t, -1);
		t_register(&t);
		line_disable(&t.sm, &t.env);
		t_due(&t);
		assert_int_equal(t_reply(&t, codes[i]), LINE_R_STATE);
		assert_int_equal(t.sm.state, LINE_DISABLED);
		assert_int_equal(t.sm.fail_count, 0);
	}
}

static void test_disable_when_never_registered_is_direct(void **state)
{
	struct t t;
	uint32_t old;

	t_start(&t, -1);
	t_due(&t);
	old = t.sent.attempt;
	t_reply(&t, 503);
	assert_int_equal(line_disable(&t.sm, &t.env), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_DISABLED);
	assert_int_equal(t.sm.due, 0);
	/* a late copy of the old reply changes nothing */
	assert_int_equal(t_reply_r(&t, reply_of(old, 200)), LINE_R_IGNORED);
	assert_int_equal(t.sm.state, LINE_DISABLED);
	/* a NEW line too */
	t_start(&t, -1);
	assert_int_equal(line_disable(&t.sm, &t.env), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_DISABLED);
}

/* RFC 3261 10.2: the REGISTER in flight may yet create a binding. The
 * unregister waits for its final reply, so that the reply cannot come after
 * the unregister and bring the binding back. */
static void test_disable_in_flight_waits_then_unregisters(void **state)
{
	struct t t;
	struct line_send s;
	uint32_t old;

	t_start(&t, -1);
	t_due(&t);
	old = t.sent.attempt;
	assert_int_equal(line_disable(&t.sm, &t.env), 0);
	/* nothing to send while the REGISTER has no final reply */
	assert_int_equal(t.sm.state, LINE_REGISTERING);
	assert_int_equal(t.sm.attempt, old);
	assert_int_equal(t.sm.due, 0);
	assert_int_equal(line_on_due(&t.sm, &t.env).send, 0);
	/* its 200 made a binding: now the unregister */
	assert_int_equal(t_reply_r(&t, reply_of(old, 200)), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_UNREGISTERING);
	s = t_due(&t);
	assert_int_equal(s.expires, 0);
	assert_int_equal(s.cseq, 2);
	assert_int_equal(t_reply(&t, 200), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_DISABLED);
}

static void test_remove_registered_unregisters_then_gone(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_register(&t);
	assert_int_equal(line_remove(&t.sm, &t.env), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_UNREGISTERING);
	assert_int_equal(t_due(&t).expires, 0);
	assert_int_equal(t_reply(&t, 200), LINE_R_GONE | LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_REMOVED);
	t.sm.due = t.env.now;
	assert_int_equal(line_on_due(&t.sm, &t.env).send, 0);
}

static void test_remove_never_registered_gone_at_once(void **state)
{
	struct t t;

	t_start(&t, -1);
	assert_int_equal(line_remove(&t.sm, &t.env), LINE_R_GONE | LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_REMOVED);
}

static void test_remove_disabled_gone(void **state)
{
	struct t t;

	t_load(&t, -1, -1, 0, 1);
	assert_int_equal(line_remove(&t.sm, &t.env), LINE_R_GONE | LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_REMOVED);
	assert_int_equal(line_disable(&t.sm, &t.env), 0);
	assert_int_equal(line_enable(&t.sm, &t.env), 0);
	assert_int_equal(t.sm.state, LINE_REMOVED);
}

static void test_remove_at_ceiling_gone_without_send(void **state)
{
	struct t t;
	uint32_t attempt;

	t_load(&t, -1, -1, 3, 0);
	t.sm.expires_at = t.env.now + 100000; /* even if maybe registered */
	attempt = t.sm.attempt;
	assert_int_equal(line_remove(&t.sm, &t.env), LINE_R_GONE | LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_REMOVED);
	assert_int_equal(t.sm.attempt, attempt);
	assert_int_equal(t.sm.due, 0);
}

static void test_disable_at_ceiling_no_change(void **state)
{
	struct t t;

	t_load(&t, -1, -1, 3, 0);
	assert_int_equal(line_disable(&t.sm, &t.env), 0);
	assert_int_equal(t.sm.state, LINE_CEILING);
}

static void test_remove_while_unregistering_for_disable(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_register(&t);
	line_disable(&t.sm, &t.env);
	t_due(&t);
	assert_int_equal(line_remove(&t.sm, &t.env), 0);
	/* a disable cannot take the removal back */
	assert_int_equal(line_disable(&t.sm, &t.env), 0);
	assert_int_equal(t_reply(&t, 200), LINE_R_GONE | LINE_R_STATE);
}

static void test_enable_disabled_registers_now(void **state)
{
	struct t t;
	int ret;

	t_load(&t, -1, -1, 0, 1);
	t.env.now += 5000;
	ret = line_enable(&t.sm, &t.env);
	assert_int_equal(ret, LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_NEW);
	assert_int_equal(t.sm.due, t.env.now);
	assert_int_equal(t_due(&t).in_new_dialog, 1);
}

static void test_enable_other_states_no_change(void **state)
{
	struct t t;
	struct line_sm before;

	t_start(&t, -1);
	t_register(&t);
	memcpy(&before, &t.sm, sizeof(before));
	assert_int_equal(line_enable(&t.sm, &t.env), 0);
	assert_memory_equal(&before, &t.sm, sizeof(before));
	t_due(&t);
	memcpy(&before, &t.sm, sizeof(before));
	assert_int_equal(line_enable(&t.sm, &t.env), 0);
	assert_memory_equal(&before, &t.sm, sizeof(before));
}

/* enable during an unregister lets it finish, then registers anew: a new
 * REGISTER must not be overtaken by the Expires: 0 */
static void test_enable_while_unregistering_registers_after(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, -1);
	t_register(&t);
	line_disable(&t.sm, &t.env);
	t_due(&t);
	assert_int_equal(line_enable(&t.sm, &t.env), 0);
	assert_int_equal(t.sm.state, LINE_UNREGISTERING);
	assert_int_equal(t_reply(&t, 200), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_NEW);
	s = t_due(&t);
	assert_int_equal(s.expires, EXPIRES);
	assert_int_equal(s.in_new_dialog, 1);
}

static void test_unregister_answers_challenge_once(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, -1);
	t_register(&t);
	line_disable(&t.sm, &t.env);
	s = t_due(&t);
	assert_int_equal(s.with_auth, 0);
	assert_int_equal(t_challenge(&t, 401, 0), LINE_R_KEEP_CHALLENGE);
	assert_int_equal(t.sm.state, LINE_UNREGISTERING);
	s = t_due(&t);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(s.expires, 0);
	assert_int_equal(s.cseq, 3);
	assert_int_equal(t.sm.nc[LINE_CH_WWW], 1);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_ANSWER);
	/* challenged again: over, no third request */
	assert_int_equal(t_challenge(&t, 401, 0), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_DISABLED);
	assert_int_equal(t.nsent, 3);
}

static void test_unregister_with_reused_nonce_answers_once(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, -1);
	t_register_auth(&t);
	line_remove(&t.sm, &t.env);
	s = t_due(&t);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(t.sm.nc[LINE_CH_WWW], 2);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_REUSED);
	/* a proxy's challenge joins the registrar's: both answered */
	assert_int_equal(t_challenge(&t, 407, 0), LINE_R_KEEP_CHALLENGE);
	s = t_due(&t);
	assert_int_equal(t.sm.nc[LINE_CH_WWW], 3);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_REUSED);
	assert_int_equal(t.sm.nc[LINE_CH_PROXY], 1);
	assert_int_equal(t.sm.auth_sent[LINE_CH_PROXY], LINE_AUTH_ANSWER);
	assert_int_equal(t_challenge(&t, 407, 1), LINE_R_GONE | LINE_R_STATE);
}

static void test_unregister_send_error_finishes(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_register(&t);
	line_remove(&t.sm, &t.env);
	t_due(&t);
	assert_int_equal(line_on_send_error(&t.sm, t.sent.attempt, &t.env),
			LINE_R_GONE | LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_REMOVED);
}

/* refresh, reset, keep */

static void test_refresh_command(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_register(&t);
	t.env.now += 1000;
	assert_int_equal(line_refresh(&t.sm, &t.env), 0);
	assert_int_equal(t.sm.due, t.env.now);
	assert_int_equal(t.sm.state, LINE_REGISTERED);
	t_due(&t);
	/* in flight: no change */
	assert_int_equal(line_refresh(&t.sm, &t.env), 0);
	assert_int_equal(t.sm.due, 0);
	t_reply(&t, 503);
	t.env.now += 1;
	assert_int_equal(line_refresh(&t.sm, &t.env), 0);
	assert_int_equal(t.sm.due, t.env.now);
	/* disabled: no change */
	t_load(&t, -1, -1, 0, 1);
	assert_int_equal(line_refresh(&t.sm, &t.env), 0);
	assert_int_equal(t.sm.due, 0);
}

static void test_reset_clears_count_and_retries_now(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	t_reply(&t, 403);
	t_due(&t);
	t_reply(&t, 503);
	assert_int_equal(t.sm.retries, 2);
	assert_int_equal(line_reset(&t.sm, &t.env), LINE_R_COUNT);
	assert_int_equal(t.sm.fail_count, 0);
	assert_int_equal(t.sm.retries, 0);
	assert_int_equal(t.sm.due, t.env.now);
	assert_int_equal(line_reset(&t.sm, &t.env), 0);
}

/* an operator's reset takes a line back from its ceiling: count 0, it
 * registers at once, and a later counted failure counts from 1 */
static void test_reset_at_ceiling_starts_again(void **state)
{
	struct t t;

	t_load(&t, -1, -1, 3, 0);
	assert_int_equal(t.sm.state, LINE_CEILING);
	assert_int_equal(line_reset(&t.sm, &t.env), LINE_R_COUNT | LINE_R_STATE);
	assert_int_equal(t.sm.fail_count, 0);
	assert_int_equal(t.sm.state, LINE_NEW);
	assert_int_equal(t.sm.due, t.env.now);
	assert_int_equal(t_due(&t).send, 1);
	assert_int_equal(t_reply(&t, 403) & LINE_R_CEILING, 0);
	assert_int_equal(t.sm.fail_count, 1);
}

/* HA: another node owns the line now. A registered line forgets its
 * registration without a word on the wire (an unregister would wipe the new
 * owner's binding), a reply in flight is stale, and the line registers
 * again from scratch once the glue makes it due (its claim). */
static void test_release_registered_goes_new_silently(void **state)
{
	struct t t;
	uint32_t attempt;

	t_start(&t, -1);
	t_register_auth(&t);
	t.sm.fail_count = 2; /* the persisted count: not this node's to touch */
	t.env.now += 1000;
	attempt = t.sm.attempt;
	assert_int_equal(line_release(&t.sm), 0);
	assert_int_equal(t.sm.state, LINE_NEW);
	assert_int_equal(t.sm.announced, LINE_NEW);
	assert_int_equal(t.sm.attempt, attempt + 1);
	assert_int_equal(t.sm.due, 0);
	assert_int_equal(t.sm.expires_at, 0);
	assert_int_equal(t.sm.have_nonce, 0);
	assert_int_equal(t.sm.retries, 0);
	assert_int_equal(t.sm.fail_count, 2);
	/* nothing is sent, whenever the worker looks */
	t.env.now += 10000000;
	assert_int_equal(line_on_due(&t.sm, &t.env).send, 0);
	/* the glue claims it back: it registers normally, from scratch */
	assert_int_equal(line_refresh(&t.sm, &t.env), 0);
	t_due(&t);
	assert_int_equal(t.sent.in_new_dialog, 1);
	assert_int_equal(t.sent.with_auth, 0);
	assert_int_equal(t.sent.cseq, 1);
	assert_int_equal(t_challenge(&t, 401, 0), LINE_R_KEEP_CHALLENGE);
	t_due(&t);
	assert_int_equal(t.sent.with_auth, 1);
	assert_int_equal(
			t_reply(&t, 200), LINE_R_REGISTERED | LINE_R_COUNT | LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_REGISTERED);
}

/* the reply of a request sent before the release is not for the line any
 * more: not a registration, not a failure, never counted */
static void test_release_makes_reply_in_flight_stale(void **state)
{
	static const int codes[] = {200, 401, 403, 408};
	struct t t;
	struct line_reply r;
	uint32_t old;
	size_t i;

	for(i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		t_start(&t, -1);
		t_due(&t);
		assert_int_equal(t_challenge(&t, 401, 0), LINE_R_KEEP_CHALLENGE);
		t_due(&t); /* the answer in flight */
		old = t.sent.attempt;
		assert_int_equal(line_release(&t.sm), 0);
		assert_int_equal(t.sm.state, LINE_NEW);
		r = codes[i] == 401 ? challenge_of(old, 401, "example.com", 0)
							: reply_of(old, codes[i]);
		assert_int_equal(t_reply_r(&t, r), LINE_R_IGNORED);
		assert_int_equal(t.sm.state, LINE_NEW);
		assert_int_equal(t.sm.fail_count, 0);
		assert_int_equal(t.sm.expires_at, 0);
		assert_int_equal(t.sm.due, 0);
		assert_int_equal(
				line_on_send_error(&t.sm, old, &t.env), LINE_R_IGNORED);
	}
}

static void test_release_disabled_stays_disabled(void **state)
{
	struct t t;

	t_load(&t, -1, -1, 0, 1);
	assert_int_equal(line_release(&t.sm), 0);
	assert_int_equal(t.sm.state, LINE_DISABLED);
	assert_int_equal(t.sm.announced, LINE_DISABLED);
	assert_int_equal(t.sm.due, 0);
	/* and a claim does not wake it */
	line_refresh(&t.sm, &t.env);
	assert_int_equal(line_on_due(&t.sm, &t.env).send, 0);
}

/* a line at its ceiling: the verdict is the owner's now (from the count in
 * SQL); nothing counted, reported or sent here */
static void test_release_at_ceiling_not_counted(void **state)
{
	struct t t;

	t_start(&t, -1);
	assert_int_equal(t_fail_until_ceiling(&t, 403, 5), 3);
	assert_int_equal(line_release(&t.sm), 0);
	assert_int_equal(t.sm.state, LINE_NEW);
	assert_int_equal(t.sm.fail_count, 3);
	assert_int_equal(t.sm.due, 0);
	t.env.now += 10000000;
	assert_int_equal(line_on_due(&t.sm, &t.env).send, 0);
}

/* a disable or remove given before the release stays given: it ends at once,
 * without the unregister it waited for or was sending */
static void test_release_ends_waiting_disable_or_remove(void **state)
{
	struct t t;
	uint32_t old;

	/* disable waiting for the REGISTER in flight */
	t_start(&t, -1);
	t_due(&t);
	old = t.sent.attempt;
	assert_int_equal(line_disable(&t.sm, &t.env), 0);
	assert_int_equal(line_release(&t.sm), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_DISABLED);
	assert_int_equal(t.sm.stopping, 0);
	assert_int_equal(t_reply_r(&t, reply_of(old, 200)), LINE_R_IGNORED);
	assert_int_equal(t.sm.state, LINE_DISABLED);
	/* remove while unregistering: gone, no more sending */
	t_start(&t, -1);
	t_register(&t);
	assert_int_equal(line_remove(&t.sm, &t.env), LINE_R_STATE);
	t_due(&t);
	old = t.sent.attempt;
	assert_int_equal(line_release(&t.sm), LINE_R_STATE | LINE_R_GONE);
	assert_int_equal(t.sm.state, LINE_REMOVED);
	assert_int_equal(t_reply_r(&t, reply_of(old, 200)), LINE_R_IGNORED);
	/* an unregister that line_enable had turned back registers again at
	 * the claim, like any released line */
	t_start(&t, -1);
	t_register(&t);
	line_disable(&t.sm, &t.env);
	t_due(&t);
	line_enable(&t.sm, &t.env);
	assert_int_equal(line_release(&t.sm), 0);
	assert_int_equal(t.sm.state, LINE_NEW);
	assert_int_equal(t.sm.due, 0);
}

/* a reload that changed only the credentials: the new line refreshes at
 * once with the old dialog and nonce (one REGISTER if the carrier takes it) */
static void test_adopt_takes_over_dialog_and_nonce(void **state)
{
	struct t t, fresh;
	struct line_send s;

	t_start(&t, -1);
	t_register_auth(&t);
	t_load(&fresh, -1, -1, 0, 0);
	fresh.env.now = t.env.now;
	assert_int_equal(line_adopt(&fresh.sm, &t.sm, &fresh.env), 0);
	assert_int_equal(fresh.sm.state, LINE_REGISTERED);
	assert_int_equal(fresh.sm.expires_at, t.sm.expires_at);
	/* a reload may change thousands of rows at once: not a planned batch */
	assert_true(line_due_is_planned_refresh(&t.sm));
	assert_false(line_due_is_planned_refresh(&fresh.sm));
	s = t_due(&fresh);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(s.in_new_dialog, 0);
	assert_int_equal(s.cseq, t.sm.cseq + 1);
	assert_int_equal(fresh.sm.nc[LINE_CH_WWW], t.sm.nc[LINE_CH_WWW] + 1);
	assert_int_equal(fresh.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_REUSED);
}

/* nothing to take over from a line that is not registered */
static void test_adopt_needs_a_registered_line(void **state)
{
	struct t t, fresh;

	t_start(&t, -1);
	t_due(&t);
	t_challenge(&t, 401, 0); /* a nonce, but not registered */
	t_load(&fresh, -1, -1, 0, 0);
	fresh.env.now = t.env.now;
	assert_int_equal(line_adopt(&fresh.sm, &t.sm, &fresh.env), 0);
	assert_int_equal(fresh.sm.state, LINE_NEW);
	assert_int_equal(fresh.sm.have_nonce, 0);
}

static void test_keep_after_ceiling_disables_count_kept(void **state)
{
	struct t t;

	t_start(&t, -1);
	assert_int_equal(t_fail_until_ceiling(&t, 404, 10), 3);
	assert_int_equal(line_keep_after_ceiling(&t.sm), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_DISABLED);
	assert_int_equal(t.sm.due, 0);
	assert_int_equal(t.sm.fail_count, 3);
	assert_int_equal(line_keep_after_ceiling(&t.sm), 0);
	/* the operator's way back: reset, then enable */
	assert_int_equal(line_reset(&t.sm, &t.env), LINE_R_COUNT);
	assert_int_equal(line_enable(&t.sm, &t.env), LINE_R_STATE);
	t_due(&t);
	assert_int_equal(t_reply(&t, 200), LINE_R_REGISTERED | LINE_R_STATE);
}

/* names */

static void test_names_and_parse(void **state)
{
	int i;

	assert_string_equal(line_state_name(LINE_NEW), "new");
	assert_string_equal(line_state_name(LINE_RETRY_WAIT), "retry_wait");
	assert_string_equal(line_state_name(LINE_CEILING), "ceiling");
	assert_string_equal(line_state_name(LINE_STATE_COUNT), "unknown");
	assert_string_equal(line_state_name(-1), "unknown");
	assert_string_equal(line_fail_class_name(LINE_FC_NONE), "none");
	assert_string_equal(line_fail_class_name(LINE_FC_BAD_AUTH), "bad_auth");
	assert_string_equal(
			line_fail_class_name(LINE_FC_BAD_CHALLENGE), "bad_challenge");
	assert_string_equal(line_fail_class_name(LINE_FC_OTHER), "other");
	assert_string_equal(line_fail_class_name(LINE_FC_COUNT), "unknown");
	assert_string_equal(line_fail_class_name(-3), "unknown");
	for(i = 0; i < LINE_FC_COUNT; i++)
		assert_int_equal(
				line_fail_class_parse(ur_str_c(line_fail_class_name(i))), i);
	assert_int_equal(
			line_fail_class_parse(UR_STR_LIT("Not_Found")), LINE_FC_NOT_FOUND);
	assert_int_equal(line_fail_class_parse((ur_str_t){"forbiddenX", 9}),
			LINE_FC_FORBIDDEN);
	assert_int_equal(line_fail_class_parse(UR_STR_LIT("forbid")), -1);
	assert_int_equal(line_fail_class_parse(UR_STR_LIT("unknown")), -1);
	assert_int_equal(line_fail_class_parse(UR_STR_LIT("")), -1);
	assert_int_equal(line_fail_class_parse(UR_STR_NULL), -1);
}

/* Two challenges for one REGISTER (RFC 3261 22.3): an authenticating proxy
 * (407, realm "proxy") in front of the registrar (401, realm "reg"). */

static int t_ch(struct t *t, int code, const char *realm, int stale)
{
	return t_reply_r(t, challenge_of(t->sent.attempt, code, realm, stale));
}

/* fresh REGISTER, 407, answer, 401 to the answer, both answered, 200 */
static void t_register_proxy_and_registrar(struct t *t)
{
	struct line_send s;

	t_due(t);
	assert_int_equal(t_ch(t, 407, "proxy", 0), LINE_R_KEEP_CHALLENGE);
	s = t_due(t);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(t->sm.auth_sent[LINE_CH_PROXY], LINE_AUTH_ANSWER);
	assert_int_equal(t->sm.auth_sent[LINE_CH_WWW], LINE_AUTH_NONE);
	/* the registrar's challenge to the request with Proxy-Authorization
	 * is a new challenge, not a refused answer */
	assert_int_equal(t_ch(t, 401, "reg", 0), LINE_R_KEEP_CHALLENGE);
	assert_int_equal(t->sm.state, LINE_CHALLENGED);
	assert_int_equal(t->sm.have_nonce,
			LINE_CH_BIT(LINE_CH_WWW) | LINE_CH_BIT(LINE_CH_PROXY));
	s = t_due(t);
	/* both credentials: Proxy-Authorization (nonce used before) and
	 * Authorization (first answer) */
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(t->sm.auth_sent[LINE_CH_PROXY], LINE_AUTH_REUSED);
	assert_int_equal(t->sm.auth_sent[LINE_CH_WWW], LINE_AUTH_ANSWER);
	assert_int_equal(t->sm.nc[LINE_CH_PROXY], 2);
	assert_int_equal(t->sm.nc[LINE_CH_WWW], 1);
	assert_true(t_reply(t, 200) & LINE_R_REGISTERED);
}

static void test_proxy_then_registrar_challenge_not_counted(void **state)
{
	struct t t;
	int i;

	t_start(&t, -1);
	t.sm.fail_count = 2; /* one short of the ceiling (3) */
	t_register_proxy_and_registrar(&t);
	assert_int_equal(t.sm.fail_count, 0);
	/* refreshes: both nonces reused; new nonces from both, many times */
	for(i = 0; i < 20; i++) {
		struct line_send s = t_due(&t);
		assert_int_equal(s.with_auth, 1);
		assert_int_equal(t.sm.auth_sent[LINE_CH_PROXY], LINE_AUTH_REUSED);
		assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_REUSED);
		assert_int_equal(t_ch(&t, 407, "proxy", 0), LINE_R_KEEP_CHALLENGE);
		t_due(&t);
		assert_int_equal(t.sm.auth_sent[LINE_CH_PROXY], LINE_AUTH_ANSWER);
		assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_REUSED);
		assert_int_equal(t_ch(&t, 401, "reg", 0), LINE_R_KEEP_CHALLENGE);
		t_due(&t);
		assert_int_equal(t.sm.auth_sent[LINE_CH_PROXY], LINE_AUTH_REUSED);
		assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_ANSWER);
		assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
		assert_int_equal(t.sm.fail_count, 0);
	}
	/* and a failure in between (5xx) starts over, still never counted */
	t_due(&t);
	t_reply(&t, 503);
	t_register_proxy_and_registrar(&t);
	assert_int_equal(t.sm.fail_count, 0);
}

/* a wrong registrar password behind the proxy is still a wrong password */
static void test_registrar_refuses_answer_behind_proxy_counted(void **state)
{
	struct t t;
	int n, ret = 0;

	t_start(&t, -1);
	for(n = 1; n <= 3; n++) {
		t_due(&t);
		assert_int_equal(t_ch(&t, 407, "proxy", 0), LINE_R_KEEP_CHALLENGE);
		t_due(&t);
		assert_int_equal(t_ch(&t, 401, "reg", 0), LINE_R_KEEP_CHALLENGE);
		t_due(&t);
		ret = t_ch(&t, 401, "reg", 0);
		assert_true(ret & LINE_R_COUNT);
		assert_int_equal(t.sm.fail_class, LINE_FC_BAD_AUTH);
		assert_int_equal(t.sm.fail_count, n);
	}
	assert_true(ret & LINE_R_CEILING);
	assert_int_equal(t.sm.state, LINE_CEILING);
}

/* and a wrong proxy password too */
static void test_proxy_refuses_answer_counted(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	t_ch(&t, 407, "proxy", 0);
	t_due(&t);
	assert_true(t_ch(&t, 407, "proxy", 0) & LINE_R_COUNT);
	assert_int_equal(t.sm.fail_class, LINE_FC_BAD_AUTH);
	/* stale=true on the same is not */
	t_due(&t);
	t_ch(&t, 407, "proxy", 0);
	t_due(&t);
	assert_int_equal(t_ch(&t, 407, "proxy", 1), LINE_R_KEEP_CHALLENGE);
	assert_int_equal(t.sm.fail_count, 1);
}

/* The proxy's credentials were taken once already (the request reached the
 * registrar): a 407 to them later is a new nonce, not a wrong password. */
static void test_proxy_challenge_to_reused_proxy_nonce_not_counted(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	t_ch(&t, 407, "proxy", 0);
	t_due(&t);
	t_ch(&t, 401, "reg", 0);
	t_due(&t); /* proxy REUSED, registrar ANSWER */
	assert_int_equal(t_ch(&t, 407, "proxy", 0), LINE_R_KEEP_CHALLENGE);
	assert_int_equal(t.sm.fail_count, 0);
	t_due(&t); /* proxy ANSWER, registrar REUSED */
	assert_int_equal(t.sm.auth_sent[LINE_CH_PROXY], LINE_AUTH_ANSWER);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_REUSED);
	assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
}

/* the same kind in another realm is another party's challenge: not a
 * refusal; challenge after challenge is bounded and never counted */
static void test_new_realm_same_kind_not_counted_and_bounded(void **state)
{
	static const char *const realms[] = {"a", "b", "c", "d", "e", "f"};
	struct t t;
	int i, ret = 0;

	t_start(&t, -1);
	t.cfg.count_classes = 0xffffffffu; /* even when all classes count */
	t_due(&t);
	for(i = 0; i < LINE_CH_ROUNDS_MAX; i++) {
		assert_int_equal(t_ch(&t, 401, realms[i], 0), LINE_R_KEEP_CHALLENGE);
		t_due(&t);
	}
	ret = t_ch(&t, 401, realms[i], 0);
	assert_true(ret & LINE_R_FAILED);
	assert_int_equal(t.sm.fail_class, LINE_FC_BAD_CHALLENGE);
	/* bad_challenge counts only because the test counts every class */
	t.cfg.count_classes = LINE_FC_DEFAULT_COUNTED;
	t_start(&t, -1);
	t_due(&t);
	for(i = 0; i < LINE_CH_ROUNDS_MAX; i++) {
		t_ch(&t, i % 2 ? 407 : 401, realms[i], 0);
		t_due(&t);
	}
	ret = t_ch(&t, 401, realms[i], 0);
	assert_int_equal(ret, LINE_R_FAILED | LINE_R_STATE);
	assert_int_equal(t.sm.fail_count, 0);
	/* the bound is per attempt: the retry starts with all rounds */
	t_due(&t);
	assert_int_equal(t.sm.ch_rounds, 0);
}

/* The row's realm pins the registrar's 401; a proxy's 407 in its own realm
 * is answered only when the row names the proxy (auth_proxy). */
static void test_row_realm_with_two_challenges(void **state)
{
	struct t t;

	t_start(&t, -1);
	t.realm = UR_STR_LIT("reg");
	t_due(&t);
	assert_int_equal(t_ch(&t, 407, "proxy", 0), LINE_R_FAILED | LINE_R_STATE);
	assert_int_equal(t.sm.fail_class, LINE_FC_BAD_CHALLENGE);
	assert_int_equal(t.sm.fail_count, 0);

	t_start(&t, -1);
	t.realm = UR_STR_LIT("reg");
	t.row_has_proxy = 1;
	t_register_proxy_and_registrar(&t);
	/* never the registrar's in another realm, proxy named or not */
	t_start(&t, -1);
	t.realm = UR_STR_LIT("reg");
	t.row_has_proxy = 1;
	t_due(&t);
	t_ch(&t, 407, "proxy", 0);
	t_due(&t);
	assert_true(t_ch(&t, 401, "other", 0) & LINE_R_FAILED);
	assert_int_equal(t.sm.fail_class, LINE_FC_BAD_CHALLENGE);
	/* the proxy in the row's own realm needs no auth_proxy */
	t_start(&t, -1);
	t.realm = UR_STR_LIT("reg");
	t_due(&t);
	assert_int_equal(t_ch(&t, 407, "reg", 0), LINE_R_KEEP_CHALLENGE);
}

/* an unregister carries both credentials, and a new challenge of the other
 * kind is answered */
static void test_unregister_answers_both_kinds(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, -1);
	t_register_proxy_and_registrar(&t);
	line_disable(&t.sm, &t.env);
	s = t_due(&t);
	assert_int_equal(s.expires, 0);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(t.sm.auth_sent[LINE_CH_PROXY], LINE_AUTH_REUSED);
	assert_int_equal(t.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_REUSED);
	assert_int_equal(t_ch(&t, 407, "proxy", 0), LINE_R_KEEP_CHALLENGE);
	t_due(&t);
	assert_int_equal(t_ch(&t, 401, "reg", 0), LINE_R_KEEP_CHALLENGE);
	t_due(&t);
	assert_int_equal(t_reply(&t, 200), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_DISABLED);
}

/* reload of credentials: both challenges are taken over */
static void test_adopt_takes_over_both_challenges(void **state)
{
	struct t t, fresh;

	t_start(&t, -1);
	t_register_proxy_and_registrar(&t);
	t_load(&fresh, -1, -1, 0, 0);
	fresh.env.now = t.env.now;
	line_adopt(&fresh.sm, &t.sm, &fresh.env);
	t_due(&fresh);
	assert_int_equal(fresh.sm.auth_sent[LINE_CH_PROXY], LINE_AUTH_REUSED);
	assert_int_equal(fresh.sm.auth_sent[LINE_CH_WWW], LINE_AUTH_REUSED);
	assert_int_equal(fresh.sm.nc[LINE_CH_PROXY], 3);
	assert_int_equal(fresh.sm.nc[LINE_CH_WWW], 2);
}

/* Our own failures */

/* The glue could not keep the challenge (shm short): the answer must not go
 * out with the previous nonce, and nothing counts, whatever count_classes
 * says. */
static void test_local_error_after_keep_is_uncounted_retry(void **state)
{
	struct t t;
	struct line_send s;
	int ret;

	t_start(&t, -1);
	t.cfg.count_classes = 0xffffffffu;
	t.sm.fail_ceiling = 1;
	t_register_auth(&t);
	t_due(&t); /* refresh with the kept nonce */
	assert_int_equal(t_challenge(&t, 401, 0), LINE_R_KEEP_CHALLENGE);
	ret = line_on_local_error(&t.sm, &t.env);
	assert_int_equal(ret, LINE_R_FAILED | LINE_R_STATE);
	assert_int_equal(t.sm.fail_class, LINE_FC_LOCAL);
	assert_int_equal(t.sm.fail_count, 0);
	assert_int_equal(t.sm.state, LINE_RETRY_WAIT);
	assert_int_equal(t.sm.have_nonce, 0);
	assert_int_equal(t.sm.due, t.env.now + 1000);
	/* the retry starts over, without credentials */
	s = t_due(&t);
	assert_int_equal(s.with_auth, 0);
	assert_int_equal(s.in_new_dialog, 1);
	assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
	/* nothing to undo on a line with nothing in progress */
	assert_int_equal(line_on_local_error(&t.sm, &t.env), 0);
	assert_int_equal(t.sm.state, LINE_REGISTERED);
	/* a local error ends an unregister: no loop for a stopped line */
	line_remove(&t.sm, &t.env);
	t_due(&t);
	assert_int_equal(t_challenge(&t, 401, 0), LINE_R_KEEP_CHALLENGE);
	assert_true(line_on_local_error(&t.sm, &t.env) & LINE_R_GONE);
	assert_int_equal(t.sm.state, LINE_REMOVED);
}

static void test_local_class_never_counts(void **state)
{
	struct t t;

	t_start(&t, -1);
	t.cfg.count_classes = 0xffffffffu;
	t.sm.fail_ceiling = 1;
	t_due(&t);
	assert_false(
			line_on_send_error(&t.sm, t.sent.attempt, &t.env) & LINE_R_COUNT);
	assert_int_equal(t.sm.fail_class, LINE_FC_LOCAL);
	assert_int_equal(t.sm.state, LINE_RETRY_WAIT);
	assert_string_equal(line_fail_class_name(LINE_FC_LOCAL), "local");
}

/* Mode 2 after a refresh: the 400 to a reused nonce switches, and the new
 * dialog starts without credentials, so the carrier's 401 to it is a
 * challenge, not a refused answer. */
static void test_new_dialog_learnt_after_refresh_starts_fresh(void **state)
{
	struct t t;
	struct line_send s;
	int ret;

	t_start(&t, LINE_REAUTH_AUTO);
	t.sm.fail_ceiling = 1;
	t_register_auth(&t);
	s = t_due(&t); /* refresh: reused nonce, same dialog */
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(s.in_new_dialog, 0);
	assert_int_equal(t_reply(&t, 400), LINE_R_NEW_DIALOG_LEARNT);
	s = t_due(&t);
	assert_int_equal(s.with_auth, 0);
	assert_int_equal(s.in_new_dialog, 1);
	ret = t_challenge(&t, 401, 0);
	assert_int_equal(ret, LINE_R_KEEP_CHALLENGE);
	s = t_due(&t);
	assert_int_equal(s.with_auth, 1);
	assert_int_equal(s.in_new_dialog, 1);
	assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
	assert_int_equal(t.sm.fail_count, 0);
	/* a later 400 is OTHER, never bad_auth */
	t_due(&t);
	assert_int_equal(t_reply(&t, 400), LINE_R_FAILED | LINE_R_STATE);
	assert_int_equal(t.sm.fail_class, LINE_FC_OTHER);
	assert_int_equal(t.sm.fail_count, 0);
	assert_int_equal(t.sm.state, LINE_RETRY_WAIT);
}

/* RFC 3261 10.2 */

/* remove while the first REGISTER is in flight: nothing is sent until its
 * reply; a refusal made no binding, so the line goes without an unregister */
static void test_remove_in_flight_waits_then_gone(void **state)
{
	struct t t;
	int ret;

	t_start(&t, -1);
	t_due(&t);
	assert_int_equal(line_remove(&t.sm, &t.env), 0);
	assert_int_equal(line_disable(&t.sm, &t.env), 0); /* remove stays */
	assert_int_equal(t.sm.stopping, LINE_REMOVED);
	assert_int_equal(t.sm.due, 0);
	/* no count from a reply to a line being removed */
	ret = t_reply(&t, 403);
	assert_int_equal(ret, LINE_R_STATE | LINE_R_GONE);
	assert_int_equal(t.sm.state, LINE_REMOVED);
	assert_int_equal(t.sm.fail_count, 0);
	assert_int_equal(t.nsent, 1);
}

/* a refresh in flight, then disable: the earlier binding is still valid,
 * so whatever the reply, an unregister follows it, never before it */
static void test_disable_during_refresh_unregisters_after_reply(void **state)
{
	struct t t;
	struct line_send s;

	t_start(&t, -1);
	t_register_auth(&t);
	t_due(&t);
	assert_int_equal(line_disable(&t.sm, &t.env), 0);
	assert_int_equal(t.sm.state, LINE_AUTHENTICATING);
	assert_int_equal(t_challenge(&t, 401, 0), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_UNREGISTERING);
	assert_int_equal(t.sm.stopping, 0);
	s = t_due(&t);
	assert_int_equal(s.expires, 0);
	/* a timeout of the request also lets the unregister go */
	t_start(&t, -1);
	t_register(&t);
	t_due(&t);
	line_disable(&t.sm, &t.env);
	assert_int_equal(
			t_reply_r(&t, (struct line_reply){.attempt = t.sent.attempt,
								  .code = 408,
								  .local = 1,
								  .granted = -1}),
			LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_UNREGISTERING);
	/* so does a send error */
	t_start(&t, -1);
	t_register(&t);
	t_due(&t);
	line_remove(&t.sm, &t.env);
	assert_int_equal(
			line_on_send_error(&t.sm, t.sent.attempt, &t.env), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_UNREGISTERING);
}

/* enable while a disable waits: the disable is forgotten */
static void test_enable_cancels_waiting_disable(void **state)
{
	struct t t;

	t_start(&t, -1);
	t_due(&t);
	line_disable(&t.sm, &t.env);
	assert_int_equal(line_enable(&t.sm, &t.env), 0);
	assert_int_equal(t.sm.stopping, 0);
	assert_true(t_reply(&t, 200) & LINE_R_REGISTERED);
	assert_int_equal(t.sm.state, LINE_REGISTERED);
}

/* shutdown cannot wait: it abandons the request and unregisters now */
static void test_shutdown_abandons_in_flight(void **state)
{
	struct t t;
	struct line_send s;
	uint32_t old;

	t_start(&t, -1);
	t_register(&t);
	t_due(&t);
	old = t.sent.attempt;
	assert_int_equal(line_shutdown(&t.sm, &t.env), LINE_R_STATE);
	assert_int_equal(t.sm.state, LINE_UNREGISTERING);
	assert_int_equal(t_reply_r(&t, reply_of(old, 200)), LINE_R_IGNORED);
	s = t_due(&t);
	assert_int_equal(s.expires, 0);
}

/* a reload replaced a line whose REGISTER is in flight: the new line waits
 * for that request's timeout */
static void test_follow_waits_for_replaced_request(void **state)
{
	struct t t, fresh;

	t_start(&t, -1);
	t_register_auth(&t);
	t_due(&t); /* refresh in flight */
	t.env.now += 500;
	t_load(&fresh, -1, -1, 0, 0);
	fresh.env.now = t.env.now;
	line_adopt(&fresh.sm, &t.sm, &fresh.env);
	assert_int_equal(fresh.sm.due, t.env.now);
	assert_int_equal(line_follow(&fresh.sm, &t.sm, &fresh.env), 0);
	assert_int_equal(fresh.sm.due, t.sm.last_sent + 32000);
	/* nothing in flight: no wait */
	t_reply(&t, 200);
	t_load(&fresh, -1, -1, 0, 0);
	fresh.env.now = t.env.now;
	line_follow(&fresh.sm, &t.sm, &fresh.env);
	assert_int_equal(fresh.sm.due, T0);
}

/* a hostile Min-Expires is capped (cfg 86400), and once the cap is asked,
 * another 423 is a failure (never counted) */
static void test_423_min_expires_capped(void **state)
{
	struct t t;
	struct line_send s;
	int ret;

	t_start(&t, -1);
	t_due(&t);
	assert_int_equal(t_423(&t, 4294967295u), 0);
	assert_int_equal(t.sm.expires, 86400);
	s = t_due(&t);
	assert_int_equal(s.expires, 86400);
	ret = t_423(&t, 4294967295u);
	assert_int_equal(ret, LINE_R_FAILED | LINE_R_STATE);
	assert_int_equal(t.sm.fail_class, LINE_FC_OTHER);
	assert_int_equal(t.sm.expires, 86400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_init_new_due_after_delay),
			cmocka_unit_test(test_init_disabled_row),
			cmocka_unit_test(test_init_restart_at_ceiling_is_ceiling),
			cmocka_unit_test(test_init_restart_below_ceiling_is_new),
			cmocka_unit_test(test_init_at_clock_zero_is_still_due),
			cmocka_unit_test(test_due_not_reached_sends_nothing),
			cmocka_unit_test(test_register_200_at_once),
			cmocka_unit_test(test_register_401_answer_same_dialog_in_mode_0),
			cmocka_unit_test(test_register_401_answer_new_dialog_in_mode_1),
			cmocka_unit_test(test_register_407_answer_200),
			cmocka_unit_test(test_granted_from_reply_sets_refresh),
			cmocka_unit_test(test_granted_minus_one_uses_asked_expires),
			cmocka_unit_test(test_granted_zero_is_failure),
			cmocka_unit_test(test_refresh_same_dialog_cseq_grows),
			cmocka_unit_test(test_refresh_reuses_nonce_with_next_nc),
			cmocka_unit_test(test_refresh_without_reuse_nonce_sends_plain),
			cmocka_unit_test(test_refresh_challenged_again_answers),
			cmocka_unit_test(test_stale_true_is_not_failure),
			cmocka_unit_test(test_endless_stale_is_bounded),
			cmocka_unit_test(test_wrong_password_is_bad_auth_counted),
			cmocka_unit_test(test_wrong_password_407_is_bad_auth),
			cmocka_unit_test(test_forbidden_403_counted),
			cmocka_unit_test(test_not_found_404_counted),
			cmocka_unit_test(test_outage_408_never_counts),
			cmocka_unit_test(test_outage_5xx_never_counts),
			cmocka_unit_test(test_outage_6xx_never_counts),
			cmocka_unit_test(test_outage_local_reply_is_transport),
			cmocka_unit_test(test_outage_send_error_never_counts),
			cmocka_unit_test(test_send_error_stale_attempt_ignored),
			cmocka_unit_test(test_ceiling_reached_exactly_at_n),
			cmocka_unit_test(test_ceiling_zero_never),
			cmocka_unit_test(test_row_ceiling_overrides_config),
			cmocka_unit_test(test_count_changes_are_reported_for_persistence),
			cmocka_unit_test(test_success_resets_count_and_retries),
			cmocka_unit_test(test_uncounted_failure_keeps_count),
			cmocka_unit_test(test_auto_400_switches_once_without_count),
			cmocka_unit_test(test_auto_refresh_uses_new_dialog_after_switch),
			cmocka_unit_test(test_auto_no_second_switch),
			cmocka_unit_test(test_auto_400_without_credentials_is_other),
			cmocka_unit_test(test_mode_1_400_in_new_dialog_is_other),
			cmocka_unit_test(test_mode_0_400_is_other_not_counted),
			cmocka_unit_test(test_mode_default_follows_config),
			cmocka_unit_test(test_423_retried_at_once_with_min_expires),
			cmocka_unit_test(test_423_to_credentials_resends_credentials),
			cmocka_unit_test(test_423_loop_limited),
			cmocka_unit_test(test_423_without_min_expires_is_failure),
			cmocka_unit_test(test_retry_after_honoured),
			cmocka_unit_test(test_retry_after_bounded),
			cmocka_unit_test(test_retry_after_never_below_backoff),
			cmocka_unit_test(test_backoff_doubles_and_caps),
			cmocka_unit_test(test_backoff_sequence_of_a_line),
			cmocka_unit_test(test_backoff_jitter_bounds_exhaustive),
			cmocka_unit_test(test_refresh_delay_margins),
			cmocka_unit_test(test_stale_reply_wrong_attempt_ignored),
			cmocka_unit_test(test_second_reply_to_same_request_ignored),
			cmocka_unit_test(test_reply_while_send_pending_ignored),
			cmocka_unit_test(test_nonsense_codes_are_other),
			cmocka_unit_test(test_other_class_counts_when_configured),
			cmocka_unit_test(test_realm_mismatch_is_bad_challenge),
			cmocka_unit_test(test_missing_challenge_is_bad_challenge),
			cmocka_unit_test(test_failure_forgets_nonce_fresh_retry),
			cmocka_unit_test(test_failure_keeps_expires_at_while_valid),
			cmocka_unit_test(test_cseq_limit_starts_new_dialog),
			cmocka_unit_test(test_disable_registered_unregisters_then_disabled),
			cmocka_unit_test(test_unregister_ends_on_any_reply),
			cmocka_unit_test(test_disable_when_never_registered_is_direct),
			cmocka_unit_test(test_disable_in_flight_waits_then_unregisters),
			cmocka_unit_test(test_remove_registered_unregisters_then_gone),
			cmocka_unit_test(test_remove_never_registered_gone_at_once),
			cmocka_unit_test(test_remove_disabled_gone),
			cmocka_unit_test(test_remove_at_ceiling_gone_without_send),
			cmocka_unit_test(test_disable_at_ceiling_no_change),
			cmocka_unit_test(test_remove_while_unregistering_for_disable),
			cmocka_unit_test(test_enable_disabled_registers_now),
			cmocka_unit_test(test_enable_other_states_no_change),
			cmocka_unit_test(test_enable_while_unregistering_registers_after),
			cmocka_unit_test(test_unregister_answers_challenge_once),
			cmocka_unit_test(test_unregister_with_reused_nonce_answers_once),
			cmocka_unit_test(test_unregister_send_error_finishes),
			cmocka_unit_test(test_refresh_command),
			cmocka_unit_test(test_reset_clears_count_and_retries_now),
			cmocka_unit_test(test_reset_at_ceiling_starts_again),
			cmocka_unit_test(test_release_registered_goes_new_silently),
			cmocka_unit_test(test_release_makes_reply_in_flight_stale),
			cmocka_unit_test(test_release_disabled_stays_disabled),
			cmocka_unit_test(test_release_at_ceiling_not_counted),
			cmocka_unit_test(test_release_ends_waiting_disable_or_remove),
			cmocka_unit_test(test_keep_after_ceiling_disables_count_kept),
			cmocka_unit_test(test_adopt_takes_over_dialog_and_nonce),
			cmocka_unit_test(test_adopt_needs_a_registered_line),
			cmocka_unit_test(test_names_and_parse),
			cmocka_unit_test(test_proxy_then_registrar_challenge_not_counted),
			cmocka_unit_test(
					test_registrar_refuses_answer_behind_proxy_counted),
			cmocka_unit_test(test_proxy_refuses_answer_counted),
			cmocka_unit_test(
					test_proxy_challenge_to_reused_proxy_nonce_not_counted),
			cmocka_unit_test(test_new_realm_same_kind_not_counted_and_bounded),
			cmocka_unit_test(test_row_realm_with_two_challenges),
			cmocka_unit_test(test_unregister_answers_both_kinds),
			cmocka_unit_test(test_adopt_takes_over_both_challenges),
			cmocka_unit_test(test_local_error_after_keep_is_uncounted_retry),
			cmocka_unit_test(test_local_class_never_counts),
			cmocka_unit_test(test_new_dialog_learnt_after_refresh_starts_fresh),
			cmocka_unit_test(test_remove_in_flight_waits_then_gone),
			cmocka_unit_test(
					test_disable_during_refresh_unregisters_after_reply),
			cmocka_unit_test(test_enable_cancels_waiting_disable),
			cmocka_unit_test(test_shutdown_abandons_in_flight),
			cmocka_unit_test(test_follow_waits_for_replaced_request),
			cmocka_unit_test(test_423_min_expires_capped),
			cmocka_unit_test(test_refresh_due_rounded_down_to_the_second),
			cmocka_unit_test(test_planned_refresh_only_after_a_200),
	};

	return cmocka_run_group_tests_name("line", tests, NULL, NULL);
}
