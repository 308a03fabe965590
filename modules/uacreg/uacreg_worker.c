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
 * uacreg - the uacreg process: a timer every UWORKER_TICK_MS that loads and
 * reloads the table, sends the REGISTERs that are due (paced), runs the
 * event routes and the work the lines owe (the fail_count write here, the
 * ceiling's route and write in uacreg_ceiling.c). All of it in one process,
 * so SIP workers only ever update state under the lock and return.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "../../core/dprint.h"
#include "../../core/timer.h"
#include "../../core/pt.h"
#include "../../core/cfg/cfg_struct.h"
#include "../../core/globals.h"
#include "../../core/mem/shm.h"
#include "../../core/dset.h"
#include "../../modules/tm/h_table.h"
#include "../../core/mem/shm_mem.h"
#include "uacreg_db.h"
#include "uacreg_reload.h"
#include "uacreg_send.h"
#include "uacreg_script.h"
#include "uacreg_ceiling.h"
#include "uacreg_ha.h"
#include "uacreg_worker.h"

/* bounds the work of one tick, so sending is never starved */
#define UWORKER_PENDING_PER_TICK 320
#define UWORKER_EVENTS_PER_TICK 1280

/* modparams */
int uacreg_rate = 100;			/* REGISTERs per second */
int uacreg_shm_reserve = 10;	/* percent of shm that sending leaves free */
int uacreg_reload_interval = 0; /* seconds, 0 = only on demand */
int uacreg_unregister_on_shutdown = 0;
/* shm_reserve in bytes (uworker_init) */
static unsigned long uacreg_shm_reserve_bytes = 0;

counter_handle_t uacreg_cnt_shm_pauses;

static int uworker_loaded = 0;
static uint64_t uworker_db_retry_at = 0;
static uint64_t uworker_next_reload = 0;
/* a ceiling's write found its row changed: reload until one succeeds */
static int uworker_reload_owed = 0;

/* A memory-pressure episode, for its two log lines: near the reserve,
 * sending pauses and resumes with every transaction tm frees, so an episode
 * ends only after UWORKER_SHM_CALM_MS without a pause. */
#define UWORKER_SHM_CALM_MS 5000
static uint64_t uworker_shm_episode = 0; /* start, 0 = none */
static uint64_t uworker_shm_last_low = 0;
static uint32_t uworker_shm_held_ticks = 0;

/* What one REGISTER's transaction holds in shm until tm's wait timer ends:
 * the cell with a branch slot per max_branches, the request, the
 * allocator's overhead. */
static unsigned long uworker_cell_bytes(void)
{
	return sizeof(struct cell) + sr_dst_max_branches * sizeof(struct ua_client)
		   + 1024;
}

/* Admission by shared memory, under the lock. An answer to a challenge
 * finishes a registration already started: it may go while shm is above
 * the reserve. Anything else starts one, and may be challenged: it goes only
 * when shm also holds an answer for every registration in flight and its
 * own, so the answers never wait for memory (a carrier's nonce does not wait
 * for ever). 1 = send. */
static int uworker_shm_admits(const struct uline *ul)
{
	unsigned long avail, open;

	if(uacreg_shm_reserve_bytes == 0)
		return 1;
	avail = shm_available();
	if(ul->sm.state == LINE_CHALLENGED)
		return avail >= uacreg_shm_reserve_bytes;
	open = (unsigned long)ustore->state_count[LINE_REGISTERING]
		   + ustore->state_count[LINE_CHALLENGED] + 1;
	return avail >= uacreg_shm_reserve_bytes + open * uworker_cell_bytes();
}

static void uworker_shm_log(int paused, uint64_t now)
{
	if(paused) {
		uworker_shm_last_low = now;
		uworker_shm_held_ticks++;
		if(uworker_shm_episode)
			return;
		uworker_shm_episode = now;
		counter_inc(uacreg_cnt_shm_pauses);
		LM_WARN("shared memory below the reserve (%lu of %lu bytes free, "
				"shm_reserve %lu): REGISTERs wait for tm to free "
				"transactions\n",
				shm_available(), shm_mem_size, uacreg_shm_reserve_bytes);
	} else if(uworker_shm_episode
			  && now - uworker_shm_last_low > UWORKER_SHM_CALM_MS) {
		LM_NOTICE("shared memory pressure over: sending was held back in "
				  "%u ticks over %llu s\n",
				uworker_shm_held_ticks,
				(unsigned long long)(uworker_shm_last_low - uworker_shm_episode)
						/ 1000);
		uworker_shm_episode = 0;
		uworker_shm_held_ticks = 0;
	}
}

/* Admission by the line's carrier, under the lock. A carrier that refuses
 * everyone, or answers no one, gets one REGISTER at a time (the probe);
 * the other lines that would start a registration wait, moved in the queue
 * to the next probe's time, not sent and not counted. Answers to challenges
 * and unregisters always go. 1 = send. */
static int uworker_carrier_admits(struct uline *ul, uint64_t now)
{
	uint64_t wake = 0;

	if(ul->sm.state != LINE_NEW && ul->sm.state != LINE_RETRY_WAIT
			&& ul->sm.state != LINE_REGISTERED)
		return 1;
	if(carrier_may_send(
			   &ustore->carriers, &uacreg_ccfg, &ul->cr, ul->id, now, &wake))
		return 1;
	if(ustore_schedule(ul, wake > now ? wake : now + 1) < 0)
		return 1; /* cannot move it: let it go rather than spin on it */
	return 0;
}

/* sends what is due, as fast as the pacer and the shm reserve allow */
static void uworker_send_due(void)
{
	struct line_send act;
	struct line_env env;
	struct uline *ul;
	int paused = 0;
	uint64_t start = uclock_now();

	ustore_lock();
	for(;;) {
		env = ustore_env();
		/* the line stays queued until memory and the pacer let it go */
		ul = ustore_due_next(env.now);
		if(ul == NULL)
			break;
		/* HA: without a live lease nothing goes (the lines stay due until
		 * it is renewed); a line of another node, or of nobody, waits
		 * unscheduled until this node claims it */
		if(uha_fenced(env.now))
			break;
		if(!uha_may_send(ul, env.now)) {
			ustore_unqueue(ul);
			continue;
		}
		if(!uworker_carrier_admits(ul, env.now))
			continue; /* moved later in the queue: never blocks others */
		if(!uworker_shm_admits(ul)) {
			paused = 1;
			break;
		}
		if(!ustore_pace(env.now, line_due_is_planned_refresh(&ul->sm)))
			break;
		ustore_unqueue(ul);
		act = line_on_due(&ul->sm, &env);
		ustore_apply(ul, 0);
		if(act.send)
			usend_register(ul, &act); /* unlocks and locks again */
	}
	if(paused) {
		if(ustore->shm_paused_since == 0)
			ustore->shm_paused_since = start;
	} else {
		ustore->shm_paused_since = 0;
	}
	ustore_unlock();
	if(paused || uworker_shm_episode)
		uworker_shm_log(paused, start);
}

/* one line's pending work; returns -1 when the database failed or the
 * ceiling route asked to run again later */
static int uworker_pending(struct uline *ul, uint8_t what)
{
	struct usnap *snap;
	struct udb_loaded *ld;
	uint32_t id, gen;
	int rc = 0;

	/* under the lock on entry */
	if(ul->id == TABLE_NO_ID) {
		/* taken out of the table (replaced or removed): only free it */
		ul_free(ul);
		return 0;
	}
	if((what & UL_P_FREE) && !(what & (UL_P_CEILING | UL_P_DELETE))) {
		ustore_drop(ul);
		return 0;
	}
	/* removed while its ceiling is owed: the flow finishes first (the
	 * route, then the row's delete), then the line goes */
	snap = pkg_malloc(sizeof(*snap));
	ld = snap ? pkg_malloc(sizeof(*ld)) : NULL;
	if(ld == NULL) {
		if(snap)
			pkg_free(snap);
		ustore_pend(ul, what);
		return -1;
	}
	usnap_fill(snap, ul);
	udb_loaded_fill(ld, ul);
	id = ul->id;
	gen = ustore_gen(ul);
	if(what & (UL_P_CEILING | UL_P_DELETE))
		ul->in_ceiling = 1;
	ustore_unlock();

	/* the count, the route, the row's write: uacreg_ceiling.c */
	rc = uceiling_run(snap, ld, id, gen, &what);
	pkg_free(ld);
	pkg_free(snap);
	ustore_lock();
	ul = ustore_get(id, gen);
	if(ul) {
		/* a reset while the flow ran took the line back: nothing owed */
		if(!ul->in_ceiling)
			what &= ~(UL_P_CEILING | UL_P_DELETE);
		if(!(what & (UL_P_CEILING | UL_P_DELETE)))
			ul->in_ceiling = 0;
		if(what)
			ustore_pend(ul, what);
	}
	return rc;
}

struct uworker_carrier_count
{
	uint32_t cid;
	uint32_t others;	   /* lines that could still register */
	struct uline *confirm; /* a registered line that can refresh now */
};

static int uworker_carrier_count(struct uline *ul, void *arg)
{
	struct uworker_carrier_count *cc = arg;

	if(ul->cr.cid != cc->cid)
		return 0;
	switch(ul->sm.state) {
		case LINE_DISABLED:
		case LINE_CEILING:
		case LINE_REMOVED:
		case LINE_UNREGISTERING:
			break;
		case LINE_REGISTERED:
			if(ul->sm.due && cc->confirm == NULL)
				cc->confirm = ul;
			/* fall through */
		default:
			cc->others++;
	}
	return 0;
}

/* one pass of uworker_carrier_lines over the lines */
struct uworker_carrier_pass
{
	struct carrier *c;
	uint32_t cid;
	uint8_t work;
	struct line_env env;
	uint32_t others; /* lines that could still register */
	uint32_t back;	 /* lines whose counts were taken back */
	int need_confirm;
};

static int uworker_carrier_line(struct uline *ul, void *arg)
{
	struct uworker_carrier_pass *p = arg;
	struct carrier *c = p->c;
	uint32_t n;
	int bits, v;
	str uuid;

	if(ul->cr.cid != p->cid)
		return 0;
	uuid = ul_str(ul, ROW_L_UUID);
	/* a line whose ceiling route is already queued is the route's */
	if(ul->cr.held
			|| ((p->work & CARRIER_W_ROLLBACK)
					&& ul->sm.state != LINE_CEILING)) {
		n = carrier_pending(c, &ul->cr);
		if(ul->cr.held) {
			v = carrier_verdict(&uacreg_ccfg, c, &ul->cr, p->others);
			if(v < 0 && n == 0)
				n = ul->cr.pend; /* confirmed too late: all back */
		} else {
			v = n && c->state != CARRIER_NORMAL ? -1 : 0;
		}
		if(v < 0) {
			bits = line_uncount(&ul->sm, n, &p->env);
			ul->cr.pend = 0;
			if(bits & LINE_R_COUNT)
				p->back++;
			if(ul->cr.held)
				LM_NOTICE("line [%.*s]: %u failures taken back, kept: "
						  "its carrier [%s] refuses every line, or no "
						  "other line registered near them\n",
						uuid.len, uuid.s, n, c->key);
			carrier_unhold(&ustore->carriers, &ul->cr);
			ustore_apply(ul, bits);
		} else if(v > 0 && ul->cr.held) {
			carrier_unhold(&ustore->carriers, &ul->cr);
			LM_NOTICE("line [%.*s]: its carrier [%s] accepts other lines: "
					  "the failures were the line's own\n",
					uuid.len, uuid.s, c->key);
			ustore_pend(ul, UL_P_PERSIST | UL_P_CEILING);
		} else if(ul->cr.held) {
			p->need_confirm = 1;
		}
	}
	if((p->work & CARRIER_W_NEXT) && c->state != CARRIER_NORMAL
			&& ul->cr.waiting) {
		/* the next probe: one waiting line, due when it may go */
		p->work &= ~CARRIER_W_NEXT;
		ustore_schedule(
				ul, c->probe_due > p->env.now ? c->probe_due : p->env.now);
	}
	if((p->work & CARRIER_W_WAKE) && c->state == CARRIER_NORMAL) {
		/* the others follow at once, paced; a registered line keeps
		 * its refresh time unless it was waiting */
		if(ul->sm.state == LINE_RETRY_WAIT || ul->sm.state == LINE_NEW
				|| ul->cr.waiting)
			line_refresh(&ul->sm, &p->env);
		carrier_unwait(&ustore->carriers, &ul->cr);
		ustore_apply(ul, 0);
	}
	return 0;
}

/* What the carrier rule asks of a carrier's lines, under the lock: roll
 * back the counts its refusal made (and release the lines it stopped at
 * their ceiling), run the ceiling route of lines whose failure another
 * line's 2xx confirmed, send the waiting lines when it accepts again. One
 * pass over the lines per carrier with work: that happens when a carrier
 * changes, not per REGISTER. */
static void uworker_carrier_lines(uint32_t cid, uint8_t work)
{
	struct uworker_carrier_count cc = {cid, 0, NULL};
	struct uworker_carrier_pass p;

	memset(&p, 0, sizeof(p));
	p.c = carriers_get(&ustore->carriers, cid);
	if(p.c == NULL)
		return;
	p.cid = cid;
	p.work = work;
	p.env = ustore_env();
	/* lines that could still register tell a carrier's verdict */
	ustore_foreach(uworker_carrier_count, &cc);
	p.others = cc.others;
	ustore_foreach(uworker_carrier_line, &p);
	if(p.back)
		LM_NOTICE("carrier [%s]: the failures of %u lines since its last "
				  "2xx were the carrier's: their counts are taken back\n",
				p.c->key, p.back);
	if(p.need_confirm && cc.confirm && (p.work & CARRIER_W_VERDICT)) {
		/* one registered line refreshes now: its 2xx (or refusal) tells
		 * whether the carrier accepts others */
		ustore_apply(cc.confirm, line_refresh(&cc.confirm->sm, &p.env));
	}
}

static void uworker_carrier_work(void)
{
	uint32_t cid;
	uint8_t work;

	ustore_lock();
	while((cid = carriers_take_work(&ustore->carriers, &work)) != CARRIER_NONE)
		uworker_carrier_lines(cid, work);
	ustore_unlock();
}

static void uworker_run_carrier_events(void)
{
	struct usnap *snap;
	uint32_t dropped;

	if(!ustore_carrier_events_waiting())
		return;
	snap = pkg_malloc(sizeof(*snap));
	if(snap == NULL)
		return;
	while(ustore_pop_carrier_event(snap, &dropped) > 0) {
		if(dropped)
			LM_WARN("%u carrier events dropped\n", dropped);
		uscript_run_carrier(snap);
	}
	pkg_free(snap);
}

static void uworker_run_events(void);

static void uworker_drain_pending(uint64_t now)
{
	struct uline *ul;
	uint8_t what;
	int n;

	if(now < uworker_db_retry_at)
		return;
	ustore_lock();
	for(n = 0; n < UWORKER_PENDING_PER_TICK; n++) {
		ul = ustore_next_pending();
		if(ul == NULL)
			break;
		what = ul->pending;
		ul->pending = 0;
		if((what & UL_P_FREE) && ustore->ev_count) {
			/* the line's last event ("removed") was queued with its free:
			 * run the queued events before the line goes. Its pending bits
			 * stay set meanwhile, so nobody else frees it. */
			ul->pending = what;
			ustore_unlock();
			uworker_run_events();
			ustore_lock();
			what = ul->pending;
			ul->pending = 0;
		}
		if(uworker_pending(ul, what) < 0) {
			uworker_db_retry_at = uclock_now() + UWORKER_DB_RETRY_MS;
			break;
		}
	}
	ustore_unlock();
}

static void uworker_run_events(void)
{
	struct usnap *snap;
	uint32_t dropped;
	int n, rc;

	/* most ticks have no event: no allocation for them */
	if(!ustore_events_waiting())
		return;
	snap = pkg_malloc(sizeof(*snap));
	if(snap == NULL)
		return;
	for(n = 0; n < UWORKER_EVENTS_PER_TICK; n++) {
		rc = ustore_pop_event(snap, &dropped);
		if(rc == 0)
			break;
		if(dropped)
			LM_WARN("%u state events dropped: event_route[uacreg:state] is "
					"slower than the lines change\n",
					dropped);
		if(rc > 0)
			uscript_run_state(snap);
	}
	pkg_free(snap);
}

/* event_route[uacreg:reload] for a reload the guard held */
static void uworker_run_reload_event(void)
{
	struct ureload_event ev;

	ustore_lock();
	if(!ustore->reload_held_event) {
		ustore_unlock();
		return;
	}
	ustore->reload_held_event = 0;
	ev.would_remove = ustore->reload_held_remove;
	ev.lines = ustore->reload_held_lines;
	ustore_unlock();
	ev.guard = uacreg_reload_guard;
	uscript_run_reload(&ev);
}

static void uworker_load(uint64_t now)
{
	struct ureload_result *res;

	if(now < uworker_db_retry_at)
		return;
	res = pkg_malloc(sizeof(*res));
	if(res == NULL)
		return;
	/* the periodic reload never forces: a held one waits for an operator */
	if(ureload_all(res, 0) < 0) {
		uworker_db_retry_at = now + UWORKER_DB_RETRY_MS;
	} else {
		uworker_loaded = 1;
		if(uacreg_reload_interval > 0)
			uworker_next_reload = now + uacreg_reload_interval * 1000ULL;
	}
	pkg_free(res);
}

void uworker_init(void)
{
	/* tm keeps every REGISTER's transaction (about 9 KB with the default
	 * max_branches) until its wait timer ends, 5 s after the reply: memory
	 * that calls need too. Below the reserve the uacreg process holds its
	 * sends until tm has freed some, instead of failing them. */
	uacreg_shm_reserve_bytes =
			shm_mem_size / 100 * (unsigned long)uacreg_shm_reserve;
}

/* the reload a ceiling's write asked for (uceiling_take_reload) */
static void uworker_reload_for_ceiling(uint64_t now)
{
	struct ureload_result *res;

	if(uceiling_take_reload())
		uworker_reload_owed = 1;
	if(!uworker_reload_owed || now < uworker_db_retry_at)
		return;
	res = pkg_malloc(sizeof(*res));
	if(res == NULL)
		return;
	if(ureload_all(res, 0) < 0)
		uworker_db_retry_at = now + UWORKER_DB_RETRY_MS;
	else
		uworker_reload_owed = 0;
	pkg_free(res);
}

static void uworker_tick(void)
{
	uint64_t now = uclock_now();

	if(!uworker_loaded) {
		/* the first load happens here, in the process that owns SQL work */
		uworker_load(now);
		if(!uworker_loaded)
			return;
	} else if(uworker_next_reload && now >= uworker_next_reload) {
		uworker_load(now);
	}
	uworker_carrier_work();
	uha_worker_check(now);
	uworker_send_due();
	uworker_run_carrier_events();
	/* events first: a removed line is freed by its pending work, and its
	 * "removed" event must still find it */
	uworker_run_events();
	uworker_run_reload_event();
	uworker_drain_pending(now);
	uworker_reload_for_ceiling(uclock_now());
}

/* Under the lock. Work that needs the short tick: a request in flight
 * (its reply may make a line due at once, a challenge's answer), work queued
 * for this process, the first load, a reload owed, a memory pause, and HA
 * (the fence and the claims follow the HA process's rounds). */
static int uworker_busy(void)
{
	return !uworker_loaded || uworker_reload_owed || uworker_shm_episode
		   || uacreg_ha_mode != HA_OFF || ustore->state_count[LINE_REGISTERING]
		   || ustore->state_count[LINE_AUTHENTICATING]
		   || ustore->state_count[LINE_UNREGISTERING]
		   || ustore->pending_head != NULL || ustore->ev_count
		   || ustore->ev_dropped || ustore->cev_count || ustore->cev_dropped
		   || ustore->carriers.work || ustore->reload_held_event;
}

/* How long the process sleeps after a tick (ms). Busy: one tick. Otherwise
 * nothing becomes due before the queue's first line but through
 * ustore_nudge(), which wakes it: it sleeps until that line is due (a batch
 * of refreshes, LINE_REFRESH_GRID_MS), at most UWORKER_IDLE_MS, and a table
 * of lines that refresh every few minutes wakes it a few times a second at
 * most, not ten. */
static uint64_t uworker_sleep_ms(uint64_t now)
{
	uint64_t first, ms = UWORKER_IDLE_MS;

	ustore_lock();
	if(uworker_busy()) {
		ms = UWORKER_TICK_MS;
	} else {
		first = ustore_due_first();
		if(first <= now)
			ms = UWORKER_TICK_MS; /* held back by the pacer */
		else if(first - now < ms)
			ms = first - now;
	}
	if(uworker_next_reload && uworker_next_reload > now
			&& uworker_next_reload - now < ms)
		ms = uworker_next_reload - now;
	ustore->worker_wake_at = now + ms;
	ustore_unlock();
	return ms;
}

/* Sleeps ms, or until ustore_nudge() writes the eventfd. */
static void uworker_sleep(uint64_t ms)
{
	struct pollfd pfd;
	uint64_t v;

	pfd.fd = ustore->worker_wake_fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if(poll(&pfd, 1, (int)ms) > 0 && (pfd.revents & POLLIN)) {
		if(read(pfd.fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			LM_DBG("eventfd read: %s\n", strerror(errno));
	}
	ustore_lock();
	ustore->worker_wake_at = 0;
	ustore_unlock();
}

int uworker_start(void)
{
	int pid;
	uint64_t ms = UWORKER_TICK_MS;

	pid = fork_process(PROC_TIMER, "uacreg worker", 1);
	if(pid != 0)
		return pid < 0 ? -1 : 0;
	if(cfg_child_init())
		return -1;
	/* the child never leaves this loop: Kamailio ends it with a signal */
	for(;;) {
		uworker_sleep(ms);
		cfg_update();
		uworker_tick();
		ms = uworker_sleep_ms(uclock_now());
	}
}

struct uworker_bye
{
	struct line_env env;
	int n;
};

static int uworker_unregister_one(struct uline *ul, void *arg)
{
	struct uworker_bye *b = arg;
	struct line_send act;

	if(ul->sm.expires_at <= b->env.now)
		return 0;
	/* HA: never for a line this node does not own, nor without a lease:
	 * with a shared Contact it would wipe the owner's binding */
	if(!uha_may_send(ul, b->env.now))
		return 0;
	/* nothing can wait for a reply any more: a REGISTER in flight is
	 * abandoned, and the unregister goes now */
	line_shutdown(&ul->sm, &b->env);
	act = line_on_due(&ul->sm, &b->env);
	ustore_apply(ul, 0);
	if(act.send) {
		usend_register(ul, &act);
		b->n++;
	}
	return 0;
}

void uworker_shutdown(void)
{
	/* unregister every registered line: sent before tm shuts down */
	struct uworker_bye b;

	if(!uacreg_unregister_on_shutdown || ustore == NULL)
		return;
	/* Every other process has ended by now. One that was killed inside the
	 * lock (SIGTERM to all processes mid-reload) never releases it, and
	 * waiting for it would hang the shutdown until Kamailio aborts. */
	if(lock_try(&ustore->lock) != 0) {
		LM_WARN("the line store was left locked by a process that ended: "
				"no unregister at shutdown\n");
		return;
	}
	b.env = ustore_env();
	b.n = 0;
	ustore_foreach(uworker_unregister_one, &b);
	ustore_unlock();
	LM_INFO("unregistered %d lines at shutdown\n", b.n);
}
