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
 * uacreg - the registration state machine of one line.
 *
 * Data in, decisions out: these functions change a struct line_sm and say
 * what to do next. They never send, lock, log, allocate or touch SQL; the
 * Kamailio glue does that with what they return. Times are milliseconds on
 * the caller's clock; randomness is passed in, so a unit test is exact.
 *
 * The life of a line:
 *
 *   NEW --due--> REGISTERING --401/407--> CHALLENGED --due--> AUTHENTICATING
 *                     |                                           |
 *                     +-------------------200---------------------+--> REGISTERED
 *   REGISTERED --due (refresh)--> REGISTERING or AUTHENTICATING (nonce reuse)
 *   any failure --> RETRY_WAIT --due--> REGISTERING (a new dialog)
 *   counted failures reach the ceiling --> CEILING (sends nothing, ever)
 *   disable/remove --> UNREGISTERING --any reply--> DISABLED / REMOVED
 *   (a disable/remove waits for the final reply of a REGISTER in flight
 *   first: RFC 3261 10.2, one request at a time for a binding)
 *
 * What counts as a credential failure (LINE_FC_BAD_AUTH): a 401/407 whose
 * challenge has the same kind (WWW or Proxy) and the same realm as one the
 * refused request answered for the first time (a nonce never used before),
 * without stale=true. A proxy's 407 and then the registrar's 401 to the
 * request that carries Proxy-Authorization are two challenges, both kept
 * and both answered in the next request. A 400 is never a credential
 * verdict; failures of our own (memory, tm, building the request, keeping
 * the challenge) never count (LINE_FC_LOCAL).
 */
#ifndef UACREG_LINE_H
#define UACREG_LINE_H

#include <stdint.h>
#include "digest.h"

enum line_state
{
	LINE_NEW = 0,		 /* loaded; first REGISTER due at sm->due */
	LINE_REGISTERING,	 /* REGISTER without credentials in flight */
	LINE_CHALLENGED,	 /* 401/407 received; the answer is due now */
	LINE_AUTHENTICATING, /* REGISTER with credentials in flight */
	LINE_REGISTERED,	 /* 200 OK; refresh due at sm->due */
	LINE_RETRY_WAIT,	 /* failed; retry due at sm->due */
	LINE_DISABLED,		 /* flags bit 0, or disabled by RPC/script */
	LINE_UNREGISTERING,	 /* REGISTER with Expires: 0 in flight */
	LINE_REMOVED,		 /* unregistered and to be forgotten by the glue */
	LINE_CEILING,		 /* failure ceiling reached: never sends again */
	LINE_STATE_COUNT
};

/* Why the last attempt failed. Bits of line_config.count_classes select
 * which classes count toward the ceiling. */
enum line_fail_class
{
	LINE_FC_NONE = 0,
	LINE_FC_BAD_AUTH,  /* 401/407 to the answer of that challenge, not stale */
	LINE_FC_FORBIDDEN, /* 403 */
	LINE_FC_NOT_FOUND, /* 404 */
	LINE_FC_TIMEOUT,   /* 408, local or remote */
	LINE_FC_TRANSPORT, /* could not send */
	LINE_FC_SERVER,	   /* 5xx */
	LINE_FC_GLOBAL,	   /* 6xx */
	LINE_FC_BAD_CHALLENGE, /* challenge missing, malformed, unsupported,
							  or for another realm than the row's */
	LINE_FC_OTHER,		   /* any other 3xx-4xx, 423 loops, 200 binding 0 */
	LINE_FC_LOCAL, /* our own failure: memory, tm refused the request, the
					  request or the challenge could not be built or kept;
					  never counted, whatever count_classes says */
	LINE_FC_COUNT
};
#define LINE_FC_BIT(c) (1u << (c))
#define LINE_FC_DEFAULT_COUNTED                                     \
	(LINE_FC_BIT(LINE_FC_BAD_AUTH) | LINE_FC_BIT(LINE_FC_FORBIDDEN) \
			| LINE_FC_BIT(LINE_FC_NOT_FOUND))

/* Dialogs on re-authentication: four names, four things.
 *   reauth_new_dialog  the setting: row column (sm), modparam default (cfg)
 *   new_dialog_in_use  whether credentials go in a new dialog now (setting,
 *                      or mode 2 having learnt it): line_new_dialog_in_use()
 *   new_dialog_learnt  mode 2 saw the 400 and the line switched
 *   in_new_dialog      this REGISTER (line_send) / the one in flight (sm)
 *                      opens a new dialog
 * reauth_new_dialog values (row column; -1 = use the modparam default) */
#define LINE_REAUTH_DEFAULT (-1)
#define LINE_REAUTH_SAME_DIALOG 0
#define LINE_REAUTH_NEW_DIALOG 1
#define LINE_REAUTH_AUTO 2

/* what the REGISTER in flight carries, per kind of challenge */
enum line_auth_sent
{
	LINE_AUTH_NONE = 0,
	LINE_AUTH_REUSED, /* credentials for a nonce used before (refresh) */
	LINE_AUTH_ANSWER, /* the first answer to a challenge (nonce unused) */
};

/* Kinds of challenge a line keeps, one of each (RFC 3261 22.3: a proxy's
 * 407 and the registrar's 401 for the same REGISTER). */
enum line_ch_kind
{
	LINE_CH_WWW = 0, /* 401, WWW-Authenticate, answered with Authorization */
	LINE_CH_PROXY,	 /* 407, Proxy-Authenticate, Proxy-Authorization */
	LINE_CH_KINDS
};
#define LINE_CH_BIT(k) (1u << (k))
/* challenges answered in one registration attempt before it is a broken
 * carrier (stale=true answers have their own bound, max_423) */
#define LINE_CH_ROUNDS_MAX 4

/* Settings shared by every line (module parameters). */
struct line_config
{
	uint32_t retry_min_ms;		 /* first backoff after a failure */
	uint32_t retry_max_ms;		 /* backoff bound */
	uint32_t jitter_pct;		 /* backoff is spread by +-jitter_pct percent */
	uint32_t retry_after_max_ms; /* bound on a carrier's Retry-After */
	uint32_t
			refresh_margin_pct; /* refresh this share of granted before expiry */
	uint32_t refresh_margin_min_ms;
	uint32_t refresh_margin_max_ms;
	uint32_t fail_ceiling;	/* default ceiling; 0 = never */
	uint32_t count_classes; /* LINE_FC_BIT set that counts */
	int reauth_new_dialog;	/* default for rows with NULL: 0, 1 or 2 */
	int reuse_nonce;		/* refresh with the last nonce, nc+1 */
	uint32_t max_423;		/* 423s (and stale=true answers) in a row before it
					   * is a failure */
	uint32_t min_expires_max; /* bound on a 423's Min-Expires, seconds */
	uint32_t inflight_max_ms; /* longest a REGISTER stays without a final
							   * reply (tm's timeout): a line that replaces
							   * one with a request in flight waits this */
};

/* The state of one line; all the machine reads and writes. */
struct line_sm
{
	uint8_t state;			   /* enum line_state */
	int8_t reauth_new_dialog;  /* row value: -1 default, 0, 1, 2 */
	uint8_t new_dialog_learnt; /* mode 2 saw a 400 and switched */
	/* enum line_auth_sent of the request in flight, per challenge kind */
	uint8_t auth_sent[LINE_CH_KINDS];
	uint8_t in_new_dialog;	  /* the request in flight opened a new dialog */
	uint8_t have_nonce;		  /* LINE_CH_BIT per kept challenge */
	uint8_t ch_rounds;		  /* challenges answered in this attempt */
	uint8_t stopping;		  /* disable/remove waits for the request in flight:
					   * LINE_DISABLED or LINE_REMOVED, 0 = none */
	uint8_t fail_class;		  /* enum line_fail_class of the last failure */
	uint8_t after_unregister; /* LINE_DISABLED or LINE_REMOVED */
	uint8_t n423;			  /* 423s in a row */
	uint8_t n_stale;		  /* stale=true answers in a row */
	uint8_t announced;		  /* last state reported with LINE_R_STATE */
	uint8_t planned_refresh;  /* due is the refresh a 200 OK planned (to the
					   * second): see line_due_is_planned_refresh */
	uint16_t last_code;		  /* last final reply code, 0 = none yet */
	uint32_t expires;		  /* asked for (row, raised by Min-Expires) */
	uint32_t granted;		  /* granted by the last 200 OK, seconds */
	uint32_t fail_count;	  /* consecutive counted failures (persisted) */
	int32_t fail_ceiling;	  /* row value; -1 = line_config default */
	uint32_t retries;		  /* consecutive failures of any class (backoff) */
	uint32_t cseq;			  /* CSeq of the request in flight / last sent */
	uint32_t nc[LINE_CH_KINDS]; /* nonce count of each kept nonce */
	uint32_t attempt;			/* id of the request in flight */
	uint64_t due;				/* when line_on_due() should run; 0 = never */
	uint64_t last_sent;			/* when the last REGISTER left */
	uint64_t expires_at; /* registration valid until; 0 = not registered */
};

/* Environment of one call: the clock, a random value, the settings. */
struct line_env
{
	uint64_t now;
	uint32_t rnd; /* uniformly random; used for jitter */
	const struct line_config *cfg;
	/* the failure does not count toward the ceiling (the line's carrier
	 * refuses everyone, see carrier.h): fail_count stays */
	int no_count;
};

/* What to send now (from line_on_due). */
struct line_send
{
	int send;		   /* 0 = nothing to send */
	int in_new_dialog; /* fresh Call-ID and From tag; CSeq starts anew */
	int with_auth;	   /* add credentials for the kept challenge, nc = sm->nc */
	uint32_t expires;  /* Expires value (0 = unregister) */
	uint32_t cseq;	   /* CSeq to use */
	uint32_t attempt;  /* pass to the reply callback, give back in line_reply */
};

/* A final reply, summarised by the glue. */
struct line_reply
{
	uint32_t attempt;  /* from the callback parameter */
	int code;		   /* final code; 408 for a local timeout */
	int local;		   /* made locally (timeout, transport) */
	int has_challenge; /* a usable challenge is in ch */
	int challenge_err; /* DIGEST_E_* when a challenge was bad/missing */
	struct digest_challenge ch; /* kind: 401 WWW, 407 Proxy */
	/* the realm of the challenge of the same kind kept in the line (the one
	 * the request answered), empty when none: the glue fills it in */
	ur_str_t kept_realm;
	/* the row names its proxy (auth_proxy): a 407 may then come in the
	 * proxy's own realm, other than the row's (see realm_ok in line.c) */
	int row_has_proxy;
	int64_t granted;	  /* expires granted to our Contact; -1 unknown */
	uint32_t min_expires; /* 423 Min-Expires; 0 absent */
	uint32_t retry_after; /* seconds; 0 absent */
};

/* Bits returned by the event functions. */
#define LINE_R_IGNORED 0x01			  /* not for the request in flight: stale */
#define LINE_R_STATE 0x02			  /* state changed (event route) */
#define LINE_R_COUNT 0x04			  /* fail_count changed: persist it */
#define LINE_R_CEILING 0x08			  /* ceiling reached now */
#define LINE_R_KEEP_CHALLENGE 0x10	  /* store reply->ch in the line */
#define LINE_R_NEW_DIALOG_LEARNT 0x20 /* new_dialog_learnt became 1 */
#define LINE_R_FAILED 0x40			  /* this reply was a failure */
#define LINE_R_REGISTERED 0x80		  /* this reply registered the line */
#define LINE_R_GONE 0x100			  /* state is LINE_REMOVED: free the line */

/* Sets up a line just loaded. disabled: flags bit 0. delay_ms: start delay
 * (reg_delay and spread) chosen by the glue. A line whose persisted
 * fail_count already reached its ceiling goes straight to CEILING
 * (LINE_R_CEILING), so a restart never sends for it. */
int line_init(struct line_sm *sm, uint32_t expires, int disabled,
		uint64_t delay_ms, const struct line_env *env);

/* 1 when what is due now belongs to a refresh a 200 OK planned: the refresh
 * of a registered line, or the answer to its challenge. Those of one second
 * form a batch (LINE_REFRESH_GRID_MS) the glue may send at once. A first
 * registration, a retry, an unregister, or a refresh an operator, a reload
 * or a carrier's recovery made due now is not planned: the glue sends those
 * in small steps. */
int line_due_is_planned_refresh(const struct line_sm *sm);

/* The line is due (sm->due <= now): what to send. Sets the state of the
 * request in flight; a line with nothing to send gets due = 0. */
struct line_send line_on_due(struct line_sm *sm, const struct line_env *env);

/* A final reply (or local timeout) for a request. row_realm: the row's realm
 * (empty = any). Returns LINE_R_* bits; sets sm->due for the next step. */
int line_on_reply(struct line_sm *sm, const struct line_reply *r,
		ur_str_t row_realm, const struct line_env *env);

/* tm refused the request (no route, bad socket) or the glue could not
 * build it: our own failure (LINE_FC_LOCAL), never counted. */
int line_on_send_error(
		struct line_sm *sm, uint32_t attempt, const struct line_env *env);

/* The glue could not carry out what the machine just decided (keep the
 * challenge of a reply: memory short): a retry after the backoff, never
 * counted (LINE_FC_LOCAL), so an answer is never built from a nonce other
 * than the one the carrier sent. No effect on a line that is not in a
 * sending state (REGISTERING, CHALLENGED, AUTHENTICATING, UNREGISTERING). */
int line_on_local_error(struct line_sm *sm, const struct line_env *env);

/* Kind of challenge of a reply code: LINE_CH_PROXY for 407, else WWW. */
int line_ch_kind(int code);

/* Operator commands. Each returns LINE_R_* bits. */
int line_enable(struct line_sm *sm, const struct line_env *env);
/* unregister (when registered) and stay disabled; with a REGISTER in
 * flight, after its final reply (or timeout) */
int line_disable(struct line_sm *sm, const struct line_env *env);
/* unregister (when registered), then LINE_REMOVED; waits like disable */
int line_remove(struct line_sm *sm, const struct line_env *env);
/* shutdown: unregister now, abandoning a request in flight (nothing can
 * wait for its reply any more) */
int line_shutdown(struct line_sm *sm, const struct line_env *env);
/* send a REGISTER now (no effect when disabled, ceiling, or in flight) */
int line_refresh(struct line_sm *sm, const struct line_env *env);
/* failure count and backoff to zero; a waiting line retries now, a line
 * at the ceiling starts again (NEW, due now) */
int line_reset(struct line_sm *sm, const struct line_env *env);
/* HA: another node owns the line now (lost, or handed back): forget the
 * registration without sending anything (no REGISTER, no unregister: with a
 * shared Contact it would wipe the new owner's binding), and make any reply
 * in flight stale. The line goes NEW with nothing due (due = 0) until the
 * glue claims it again; DISABLED and REMOVED stay, and a disable or remove
 * that was waiting or unregistering ends now, without its unregister.
 * fail_count is kept and never reported (no LINE_R_COUNT, LINE_R_CEILING):
 * a line of another node is never counted, persisted or deleted by this
 * one. Returns LINE_R_* bits (LINE_R_STATE and LINE_R_GONE only for such a
 * disable or remove; the release itself is silent). */
int line_release(struct line_sm *sm);
/* A reload changed only a registered line's credentials (same carrier,
 * same AOR and Contact): the new line sm takes over old's dialog and nonce
 * and refreshes now, so a carrier that accepts the nonce costs one REGISTER
 * instead of a challenge round trip. No effect unless old is registered
 * with a kept nonce and sm is NEW. Returns LINE_R_* bits. */
int line_adopt(struct line_sm *sm, const struct line_sm *old,
		const struct line_env *env);
/* A reload replaced old by sm (same l_uuid). A REGISTER of old still in
 * flight has no final reply yet, and its reply will not reach sm: sm sends
 * nothing before that request has timed out (cfg->inflight_max_ms after
 * it left). Returns LINE_R_* bits. */
int line_follow(struct line_sm *sm, const struct line_sm *old,
		const struct line_env *env);

/* The carrier rule found that n counted failures were the carrier's, not
 * the line's: fail_count goes back down by n (not below 0), and a line
 * stopped at its ceiling by them waits to retry instead. Returns LINE_R_*
 * bits (LINE_R_COUNT when the count changed). */
int line_uncount(struct line_sm *sm, uint32_t n, const struct line_env *env);
/* the ceiling route kept the line: it becomes disabled, count kept */
int line_keep_after_ceiling(struct line_sm *sm);

/* Effective settings of a line */
uint32_t line_ceiling(const struct line_sm *sm, const struct line_config *cfg);
int line_new_dialog_in_use(
		const struct line_sm *sm, const struct line_config *cfg);

/* Names for logs, RPC and $uacreg */
const char *line_state_name(int state);
const char *line_fail_class_name(int fc);
/* parses a class name ("bad_auth"); -1 when unknown */
int line_fail_class_parse(ur_str_t name);

/* Exposed for tests: backoff before retry number n (1-based). */
uint64_t line_backoff_ms(
		uint32_t n, uint32_t rnd, const struct line_config *cfg);
/* refresh delay for a granted expiry in seconds */
uint64_t line_refresh_delay_ms(uint32_t granted, const struct line_config *cfg);
/* when a line granted this many seconds at now refreshes: now + the delay,
 * rounded down to a whole LINE_REFRESH_GRID_MS (refreshes leave in batches) */
#define LINE_REFRESH_GRID_MS 1000
uint64_t line_refresh_due(
		uint64_t now, uint32_t granted, const struct line_config *cfg);

#endif
