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
 * uacreg - the lines in shared memory: one record per row, the table that
 * finds them, the scheduler that says when each is due and the pacer, the
 * lists of work the uacreg process must do for them (persist, event
 * routes, ceiling, free), the counters per state and the snapshots events
 * carry. Other files reach these only through ustore_* functions.
 *
 * Every field of every line is guarded by the one store lock. SIP workers
 * (tm reply callbacks), the RPC process and the uacreg process take it for
 * short sections only; nothing that sends, logs much or waits on SQL runs
 * under it.
 */
#ifndef UACREG_STORE_H
#define UACREG_STORE_H

#include "../../core/str.h"
#include "../../core/locking.h"
#include "../../core/ip_addr.h"
#include "../../core/counters.h"
#include "line.h"
#include "row.h"
#include "sched.h"
#include "table.h"
#include "pool.h"
#include "carrier.h"

/* what the uacreg process still owes a line (bits of uline.pending) */
#define UL_P_PERSIST 0x01 /* write fail_count to SQL */
#define UL_P_CEILING 0x02 /* run the ceiling route */
#define UL_P_DELETE 0x04  /* the route ran: delete (or disable) the row */
#define UL_P_FREE 0x08	  /* removed: forget the line */

/* dynamic strings of a line: its dialog and the kept challenges, one of
 * each kind (line.h enum line_ch_kind: the registrar's 401, a proxy's 407) */
enum ul_dyn
{
	UL_CALL_ID = 0,
	UL_FROM_TAG,
	UL_CH_REALM, /* WWW-Authenticate (401) */
	UL_CH_NONCE,
	UL_CH_OPAQUE,
	UL_PCH_REALM, /* Proxy-Authenticate (407) */
	UL_PCH_NONCE,
	UL_PCH_OPAQUE,
	UL_REASON, /* last reply's reason phrase */
	UL_DYN_COUNT
};
/* the realm, nonce or opaque (UL_CH_*) of the challenge of kind k */
#define UL_CH(k, f) ((enum ul_dyn)((f) + ((k) == LINE_CH_PROXY ? 3 : 0)))

#define UL_REASON_MAX 48
/* Room for the dynamic strings a line starts with: our Call-ID and From tag
 * (50 bytes, see uacreg_send.c), a typical challenge (realm, a nonce of up to
 * ~40 characters) and reason. Growing later costs a realloc that Debian's qm
 * cannot do in place between lines; measured at 5,000 registered lines:
 * 689 bytes a line with 56 bytes of room, 563 with 128. */
#define UL_DYN_INITIAL 128

struct uline
{
	/* Fields ordered by size, largest first, so the struct has no holes:
	 * one line is one pool block (pool.h) rounded to 16 bytes, and every
	 * 16 bytes here is 1.6 MB at 100,000 lines. Keep it so when adding. */
	struct line_sm sm;
	uint64_t db_id;				/* the row's `id` column (BIGINT ok) */
	uint64_t fingerprint;		/* row_reg_fingerprint() of the loaded row */
	struct uline *next_pending; /* the pending list (see ustore_pend) */
	struct socket_info *sock;	/* from the socket column, NULL = default */
	struct carrier_line cr;		/* the line's carrier (see carrier.h) */
	/* the row became invalid after the line was loaded: the line runs on
	 * as loaded (see udb_keep_invalid); wall-clock time, the reason is
	 * row_invalid */
	uint32_t row_invalid_since;
	uint32_t id;		   /* table id */
	uint32_t row_expires;  /* expires column as loaded */
	uint32_t row_flags;	   /* flags column as loaded */
	uint32_t reg_delay;	   /* seconds */
	uint32_t db_count;	   /* fail_count as last read from or written
						   * to SQL: what the ceiling's write expects */
	uint32_t reload_epoch; /* last reload that saw the row */
	uint32_t ha_epoch;	   /* HA: the owner row's epoch as last read */
	/* One allocation a line: the row's strings, then the dynamic ones
	 * (UL_DYN_COUNT strings back to back from ul_dyn_off(), the sum of
	 * slen[], dyn_cap bytes of room). With 100,000 lines the allocator's
	 * own overhead per block (about 100 bytes with Debian's qm) is what a
	 * second block would cost. */
	uint16_t dyn_cap;
	uint16_t dyn_len[UL_DYN_COUNT];
	uint16_t snull;				   /* bit per row field that was SQL NULL */
	uint8_t slen[ROW_STR_COUNT];   /* ROW_MAX_STR is 255 */
	uint8_t ch_alg[LINE_CH_KINDS]; /* enum digest_alg of each kept challenge */
	uint8_t ch_qop[LINE_CH_KINDS]; /* DIGEST_QOP_* offered */
	uint8_t row_inull;			   /* ROW_N_* of the loaded row */
	/* index + 1 of the reason in ustore->invalid_why, 0 = the row is
	 * valid (see ul_invalid_why()) */
	uint8_t row_invalid;
	/* bit-fields: one byte for these four, one for the two counted_* */
	uint8_t pending : 4;	/* UL_P_* */
	uint8_t keep : 1;		/* the ceiling route asked to keep the row */
	uint8_t in_ceiling : 1; /* the uacreg process runs its ceiling flow */
	uint8_t stale : 1;		/* the row in SQL is no longer the loaded one:
							 * the next reload starts the line anew */
	/* the state and failure class the line is counted in
	 * (ustore->state_count, fail_class_count): ustore_apply() moves it;
	 * LINE_STATE_COUNT and LINE_FC_COUNT are at most 16 */
	uint8_t counted_state : 4;
	uint8_t counted_fc : 4;
	/* HA: the line's owner as last read (uacreg_ha.h: UHA_NONE, UHA_SELF
	 * or another node's index in uha->names); only UHA_SELF sends */
	uint8_t ha_owner;
	char data[];
};

/* a state change, queued for event_route[uacreg:state] */
struct ul_event
{
	uint32_t id;
	uint32_t gen;
	uint8_t state;
	uint8_t fail_class;
	uint16_t code;
	/* HA: UHA_EV_TAKEOVER or UHA_EV_LOST (0: a state change), with the
	 * owner and epoch it was about */
	uint8_t ha;
	uint8_t ha_owner;
	uint32_t ha_epoch;
};

#define UL_EVENT_RING 4096

/* a carrier that started refusing, became unreachable or recovered, queued
 * for event_route[uacreg:carrier] */
struct uc_event
{
	uint32_t cid;
	uint32_t lines;
	uint8_t state;
	uint8_t fail_class;
	uint16_t code;
};

#define UC_EVENT_RING 256
#define UL_INVALID_WHY_MAX 255

struct ustore
{
	gen_lock_t lock;
	/* the lines' memory (see pool.h); its own lock, taken inside the
	 * store lock or alone, never around it */
	gen_lock_t pool_lock;
	struct pool pool;
	struct table table;
	struct sched sched;
	/* every REGISTER takes from pacer (a second's burst, so that the
	 * refreshes planned to one second leave as one batch); all but those
	 * (line_due_is_planned_refresh) also from start_pacer (a tenth of
	 * that), so that a restart or a reload reaches the carrier in small
	 * steps */
	struct pacer pacer;
	struct pacer start_pacer;
	/* lines with pending work, FIFO; a line taken out of the table stays
	 * here until the uacreg process frees it */
	struct uline *pending_head;
	struct uline *pending_tail;
	uint32_t reload_epoch;
	uint64_t shm_paused_since; /* ms; 0 = sending is not held for shm */
	uint32_t state_count[LINE_STATE_COUNT];
	uint32_t fail_class_count[LINE_FC_COUNT]; /* lines by last failure */
	/* event ring for the state route; lossy when the route is too slow */
	struct ul_event events[UL_EVENT_RING];
	uint32_t ev_head, ev_count;
	uint32_t ev_dropped;
	/* the last reload the guard held, for event_route[uacreg:reload]:
	 * reload_held_event is set until the uacreg process has run it */
	uint8_t reload_held_event;
	/* the table was read once; since when it cannot be read (ms, 0 =
	 * readable): for udb's log lines, the same in every process */
	uint8_t table_loaded;
	uint64_t unreadable_since;
	uint32_t reload_held_remove, reload_held_lines;
	/* lines by carrier, and the carrier route's events */
	struct carriers carriers;
	struct uc_event cevents[UC_EVENT_RING];
	uint32_t cev_head, cev_count;
	uint32_t cev_dropped;
	/* the reasons lines' rows became invalid (row_validate()'s static
	 * strings, the same address in every process): a line keeps the index
	 * + 1 of its reason in one byte, not a pointer */
	const char *invalid_why[UL_INVALID_WHY_MAX];
	uint32_t invalid_why_count;
	/* the uacreg process's sleep (uacreg_worker.c): when it plans to wake
	 * (ms; 0 = it is awake and looks at the queue before it sleeps), and
	 * the eventfd that wakes it earlier (ustore_nudge) */
	uint64_t worker_wake_at;
	int worker_wake_fd;
};

extern struct ustore *ustore;

/* A copy of a line for an event route, made under the lock: the route runs
 * without it. Never holds auth_password or auth_ha1. */
struct usnap
{
	char l_uuid[ROW_MAX_STR + 1];
	char l_username[ROW_MAX_STR + 1];
	char l_domain[ROW_MAX_STR + 1];
	char r_username[ROW_MAX_STR + 1];
	char r_domain[ROW_MAX_STR + 1];
	char auth_username[ROW_MAX_STR + 1];
	char auth_proxy[ROW_MAX_STR + 1];
	char reason[UL_REASON_MAX];
	int state;
	int fail_class;
	int last_code;
	uint32_t fail_count;
	uint32_t fail_ceiling;
	int new_dialog_in_use; /* re-auth goes in a new dialog now */
	int keep;			   /* set by uacreg_keep() in the ceiling route */
	int defer;		 /* set by uacreg_defer(): run the route again later */
	char row_id[24]; /* the row's id column, in decimal */
	char carrier[CARRIER_KEY_MAX + 1];
	int carrier_lines;
	int carrier_state; /* enum carrier_state */
	/* HA: "takeover", "lost" or "" (a state change), the owner's node_id
	 * ("" none) and the epoch */
	const char *ha_event;
	char owner[64 + 1];
	uint64_t epoch;
};

/* s into a snapshot's buffer of ROW_MAX_STR + 1 bytes, 0-terminated */
void usnap_copy(char *dst, str s);
/* Under the lock. Copies what the routes may see of a line. */
void usnap_fill(struct usnap *s, const struct uline *ul);

/* Takes the lock. The oldest state event, with its line's snapshot in s
 * (the state, class and code the event was about, even if the line moved
 * on): 1, or -1 when its line is gone (s untouched), 0 when there is none.
 * *dropped: events lost since the last call (the ring was full). */
int ustore_pop_event(struct usnap *s, uint32_t *dropped);
/* Takes the lock. The same for a carrier's event: s holds the carrier
 * (state -1, no line). 1, or 0 when there is none. */
int ustore_pop_carrier_event(struct usnap *s, uint32_t *dropped);
/* Take the lock. 1 when a state event (or a carrier event) is queued or
 * was dropped: most ticks have none, and allocate nothing for them */
int ustore_events_waiting(void);
int ustore_carrier_events_waiting(void);

/* Under the lock. Calls fn for every line in the table, in table order,
 * until fn returns non-zero; returns that line, or NULL. fn may change the
 * line (ustore_apply) but not add or take out lines. */
typedef int (*ustore_line_fn)(struct uline *ul, void *arg);
struct uline *ustore_foreach(ustore_line_fn fn, void *arg);

int ustore_init(uint32_t hash_size, uint32_t rate, uint32_t burst,
		uint32_t start_burst);
void ustore_destroy(void);

#define ustore_lock() lock_get(&ustore->lock)
#define ustore_unlock() lock_release(&ustore->lock)

/* milliseconds of a monotonic clock, the same in every process */
uint64_t uclock_now(void);

/* New line from a validated row (shm), not yet in the table. */
struct uline *ul_new(const struct row *r, uint64_t db_id);
void ul_free(struct uline *ul);

/* The ceiling's route or write is still owed for the line (under the
 * lock) */
static inline int ul_ceiling_owed(const struct uline *ul)
{
	return ul->in_ceiling || (ul->pending & (UL_P_CEILING | UL_P_DELETE));
}

_Static_assert(LINE_STATE_COUNT <= 16 && LINE_FC_COUNT <= 16,
		"uline.counted_state and counted_fc are 4-bit fields");

/* Under the lock. Why the line's row became invalid after it was loaded,
 * NULL when the row is valid. */
static inline const char *ul_invalid_why(const struct uline *ul)
{
	return ul->row_invalid ? ustore->invalid_why[ul->row_invalid - 1] : NULL;
}
/* Under the lock. Marks the line's row invalid for why (a static string),
 * or valid again with NULL. */
void ul_set_invalid_why(struct uline *ul, const char *why);

/* where the dynamic strings start: after the row's strings */
static inline unsigned ul_dyn_off(const struct uline *ul)
{
	unsigned off = 0;
	int i;
	for(i = 0; i < ROW_STR_COUNT; i++)
		off += ul->slen[i];
	return off;
}

/* A row string of a line as a Kamailio str (empty when NULL). */
static inline str ul_str(const struct uline *ul, enum row_str f)
{
	str s = {(char *)ul->data, ul->slen[f]};
	int i;
	for(i = 0; i < (int)f; i++)
		s.s += ul->slen[i];
	return s;
}
static inline str ul_dyn(const struct uline *ul, enum ul_dyn f)
{
	str s = {(char *)ul->data + ul_dyn_off(ul), ul->dyn_len[f]};
	int i;
	for(i = 0; i < (int)f; i++)
		s.s += ul->dyn_len[i];
	return s;
}
/* A new line for a row whose credentials changed takes over the old line's
 * dialog and kept challenge (see line_adopt()); 0 or -1 (it then starts
 * over). The line may move: *ulp follows. */
int ul_adopt(struct uline **ulp, const struct uline *old);
/* Under the lock. Replaces some dynamic strings (NULL = keep). The line may
 * move in memory to make room: *ulp is updated, and so are the table and
 * the pending list. 0, or -1 with the line unchanged. */
int ul_set_dyn(struct uline **ulp, const str *vals[UL_DYN_COUNT]);

/* Under the lock. Adds a line to table and scheduler; 0 or -1. */
int ustore_add(struct uline *ul);
/* Under the lock. Takes a line out of the table and scheduler; the caller
 * frees it. */
void ustore_take_out(struct uline *ul);
/* Under the lock. Takes a line out and frees it, or leaves the freeing to
 * the uacreg process when it still has work queued for it. */
void ustore_drop(struct uline *ul);
/* Under the lock. Takes the first line with pending work off the list. */
struct uline *ustore_next_pending(void);
/* Under the lock. How many lines have pending work queued. */
uint32_t ustore_pending_count(void);
/* Under the lock. Line by l_uuid or by id+gen, NULL when none. */
struct uline *ustore_find(const str *l_uuid);
struct uline *ustore_get(uint32_t id, uint32_t gen);
/* Under the lock. The line in slot id whatever its generation, NULL when
 * the slot is empty; its generation (with the id it names this line and no
 * later one, e.g. in a tm callback parameter). */
struct uline *ustore_line_by_id(uint32_t id);
uint32_t ustore_gen(const struct uline *ul);
/* Under the lock. How many lines the table holds. */
uint32_t ustore_count(void);

/* Under the lock. The send queue and the pacer belong to the store: the
 * worker asks for the next due line, the pacer's leave, then unqueues it. */
/* the line goes due at when (ms); 0 or -1 (the queue cannot grow) */
int ustore_schedule(struct uline *ul, uint64_t when);
/* the earliest line due at now, left queued (ids of freed lines are
 * dropped on the way); NULL when none is due */
struct uline *ustore_due_next(uint64_t now);
void ustore_unqueue(struct uline *ul);
/* 1 when the pacer lets one more REGISTER leave at now (and counts it). A
 * planned refresh takes from the second's burst; any other REGISTER needs
 * a token of both the second's and the start burst, and a refusal by
 * either holds it. */
int ustore_pace(uint64_t now, int planned_refresh);
/* Under the lock. There is work for the uacreg process at when (ms; a time
 * already past, 0 included, means now): wakes it when it sleeps past that
 * by more than a tick. Called by whatever queues work (ustore_apply, ustore_schedule, ustore_add), so an
 * RPC, a script function or the HA process need not know the process. */
void ustore_nudge(uint64_t when);
/* Under the lock. Due time of the first line in the queue, UINT64_MAX when
 * it is empty. */
uint64_t ustore_due_first(void);

/* Under the lock. Applies what a line_* function returned: counts per
 * state and class (from the ones the line was last counted in), scheduling,
 * pending work, state events. Returns bits unchanged. */
int ustore_apply(struct uline *ul, int bits);
/* Under the lock. A reload was held by the guard: the uacreg process runs
 * event_route[uacreg:reload] for it (the latest one, when several came
 * before it could). */
void ustore_note_reload_held(uint32_t would_remove, uint32_t lines);
/* Under the lock. Queues event_route[uacreg:state] for a takeover or a
 * loss of the line (ha: UHA_EV_*). */
void ustore_queue_ha_event(struct uline *ul, uint8_t ha);
/* Under the lock. Queues work for the uacreg process. */
void ustore_pend(struct uline *ul, uint8_t what);

struct line_env ustore_env(void);

/* the lines' settings (the module's parameters) */
extern struct line_config uacreg_cfg;

/* the carrier rule's settings (modparams carrier_*) */
extern int uacreg_carrier_window;
extern int uacreg_carrier_min_lines;
extern int uacreg_carrier_share;
extern int uacreg_carrier_probe_max;
extern struct carrier_config uacreg_ccfg;
/* times a carrier started refusing every line, stopped answering */
extern counter_handle_t uacreg_cnt_carrier_refusals;
extern counter_handle_t uacreg_cnt_carrier_outages;

/* Under the lock. A reply (or send error) of a line was applied by the
 * machine: the line's carrier hears its outcome. env.no_count must have
 * been set from the carrier before (see ustore_env_for). Returns bits, with
 * LINE_R_CEILING and LINE_R_COUNT taken out when the carrier rule holds the
 * ceiling route (the count is written when the route is let run). */
int ustore_carrier_outcome(struct uline *ul, int bits, int code,
		uint32_t retry_after, const struct line_env *env);
/* ustore_env() for a reply of ul: a failure does not count while its carrier
 * refuses everyone */
struct line_env ustore_env_for(const struct uline *ul);

/* operator commands on one line (RPC and script) */
enum ustore_cmd
{
	USTORE_ENABLE,
	USTORE_DISABLE,
	USTORE_REFRESH,
	USTORE_RESET,
	USTORE_REMOVE
};
/* Takes the lock. -1 when there is no such line, else the LINE_R_* bits. */
int ustore_command(const str *l_uuid, enum ustore_cmd cmd);

#endif
