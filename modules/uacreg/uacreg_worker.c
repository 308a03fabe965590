/*
 * uacreg - the uacreg process: a timer every UWORKER_TICK_MS that sends the
 * REGISTERs that are due (paced), runs the event routes and does the SQL the
 * lines owe (fail_count, the ceiling's delete). All of it in one process, so
 * SIP workers only ever update state under the lock and return.
 */
#include "../../core/dprint.h"
#include "../../core/timer.h"
#include "uacreg_mod.h"
#include "uacreg_db.h"
#include "uacreg_send.h"
#include "uacreg_script.h"
#include "uacreg_worker.h"

/* after a database error, SQL work waits this long before it tries again */
#define UWORKER_DB_RETRY_MS 1000
/* bounds the work of one tick, so sending is never starved */
#define UWORKER_PENDING_PER_TICK 64
#define UWORKER_EVENTS_PER_TICK 256

static int uworker_loaded = 0;
static uint64_t uworker_db_retry_at = 0;
static uint64_t uworker_next_reload = 0;

/* sends what is due, as fast as the pacer allows */
static void uworker_send_due(void)
{
	struct line_send act;
	struct line_env env;
	struct uline *ul;
	uint32_t id;
	int old_state, old_fc;

	ustore_lock();
	for(;;) {
		env = ul_env();
		if(sched_next(&ustore->sched) > env.now)
			break;
		if(pacer_take(&ustore->pacer, env.now, 1) == 0)
			break;
		if(!sched_pop_due(&ustore->sched, env.now, &id))
			break;
		ul = table_get(&ustore->table, id);
		if(ul == NULL)
			continue;
		old_state = ul->sm.state;
		old_fc = ul->sm.fail_class;
		act = line_on_due(&ul->sm, &env);
		ustore_apply(ul, old_state, old_fc, 0);
		if(act.send)
			usend_register(ul, &act); /* unlocks and locks again */
	}
	ustore_unlock();
}

/* what the ceiling flow does after the route; 0 done, -1 retry later */
static int uworker_ceiling_sql(const struct usnap *snap, uint32_t db_id,
		uint64_t fp, uint32_t flags, int keep)
{
	str uuid = {(char *)snap->l_uuid, (int)strlen(snap->l_uuid)};
	struct udb_reload_result *res;
	struct uline *ul;
	int rc;

	if(keep) {
		if(udb_disable_row(&uuid, flags) < 0)
			return -1;
		ustore_lock();
		ul = ustore_find(&uuid);
		if(ul && ul->sm.state == LINE_CEILING) {
			int old_state = ul->sm.state, old_fc = ul->sm.fail_class;
			ul->row_flags |= ROW_FLAG_DISABLED;
			ustore_apply(
					ul, old_state, old_fc, line_keep_after_ceiling(&ul->sm));
		}
		ustore_unlock();
		LM_NOTICE("line [%s]: kept by the ceiling route, disabled\n",
				snap->l_uuid);
		return 0;
	}
	rc = udb_delete_loaded(db_id, &uuid, fp);
	if(rc < 0)
		return -1;
	if(rc == 1) {
		ustore_lock();
		ul = ustore_find(&uuid);
		if(ul && ul->sm.state == LINE_CEILING)
			ustore_drop(ul);
		ustore_unlock();
		counter_inc(uacreg_cnt_ceiling);
		LM_WARN("line [%s]: deleted after %u failures (failure ceiling)\n",
				snap->l_uuid, snap->fail_count);
		return 0;
	}
	/* An admin changed or deleted the row since it was loaded: their row
	 * wins. A reload registers the changed row anew with its count reset,
	 * or forgets a deleted one. */
	LM_NOTICE("line [%s]: row changed in SQL since it was loaded: not "
			  "deleted, reloading\n",
			snap->l_uuid);
	res = pkg_malloc(sizeof(*res));
	if(res == NULL)
		return -1;
	rc = udb_reload(res);
	pkg_free(res);
	return rc;
}

/* one line's pending work; returns -1 when the database failed */
static int uworker_pending(struct uline *ul, uint8_t what)
{
	struct usnap *snap;
	uint32_t count, db_id, flags;
	uint64_t fp;
	str uuid;
	int rc = 0, keep;

	/* under the lock on entry */
	if(ul->id == TABLE_NO_ID) {
		/* taken out of the table (replaced or removed): only free it */
		ul_free(ul);
		return 0;
	}
	if(what & UL_P_FREE) {
		ustore_drop(ul);
		return 0;
	}
	snap = pkg_malloc(sizeof(*snap));
	if(snap == NULL) {
		ustore_pend(ul, what);
		return -1;
	}
	usnap_fill(snap, ul);
	count = ul->sm.fail_count;
	db_id = ul->db_id;
	fp = ul->fingerprint;
	flags = ul->row_flags;
	ustore_unlock();

	uuid.s = snap->l_uuid;
	uuid.len = strlen(snap->l_uuid);
	if(what & UL_P_PERSIST) {
		if(udb_write_count(&uuid, count) < 0) {
			LM_ERR("line [%s]: cannot write fail_count %u: will retry%s\n",
					snap->l_uuid, count,
					(what & (UL_P_CEILING | UL_P_DELETE))
							? " (the ceiling's delete waits for the database)"
							: "");
			rc = -1;
		} else {
			what &= ~UL_P_PERSIST;
		}
	}
	if(what & UL_P_CEILING) {
		/* the route runs once, before any SQL: a database outage here
		 * only delays the delete */
		keep = uscript_run_ceiling(snap);
		what &= ~UL_P_CEILING;
		what |= UL_P_DELETE;
		ustore_lock();
		ul = ustore_find(&uuid);
		if(ul)
			ul->keep = keep;
		ustore_unlock();
	}
	if((what & UL_P_DELETE) && rc == 0) {
		ustore_lock();
		ul = ustore_find(&uuid);
		keep = ul ? ul->keep : 0;
		ustore_unlock();
		if(uworker_ceiling_sql(snap, db_id, fp, flags, keep) < 0) {
			LM_ERR("line [%s]: database unavailable: the ceiling's %s "
				   "will be retried\n",
					snap->l_uuid, keep ? "disable" : "delete");
			rc = -1;
		} else {
			what &= ~UL_P_DELETE;
		}
	}
	pkg_free(snap);
	ustore_lock();
	if(what) {
		ul = ustore_find(&uuid);
		if(ul)
			ustore_pend(ul, what);
	}
	return rc;
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
			uworker_db_retry_at = ul_now() + UWORKER_DB_RETRY_MS;
			break;
		}
	}
	ustore_unlock();
}

static void uworker_run_events(void)
{
	struct ul_event ev;
	struct usnap *snap;
	struct uline *ul;
	int n, dropped;

	snap = pkg_malloc(sizeof(*snap));
	if(snap == NULL)
		return;
	for(n = 0; n < UWORKER_EVENTS_PER_TICK; n++) {
		ustore_lock();
		dropped = ustore->ev_dropped;
		ustore->ev_dropped = 0;
		if(ustore->ev_count == 0) {
			ustore_unlock();
			break;
		}
		ev = ustore->events[ustore->ev_head];
		ustore->ev_head = (ustore->ev_head + 1) % UL_EVENT_RING;
		ustore->ev_count--;
		ul = ustore_get(ev.id, ev.gen);
		if(ul)
			usnap_fill(snap, ul);
		ustore_unlock();
		if(dropped)
			LM_WARN("%d state events dropped: event_route[uacreg:state] is "
					"slower than the lines change\n",
					dropped);
		if(ul == NULL)
			continue;
		/* the state the event was about, even if the line moved on */
		snap->state = ev.state;
		snap->fail_class = ev.fail_class;
		snap->last_code = ev.code;
		uscript_run_state(snap);
	}
	pkg_free(snap);
}

static void uworker_load(uint64_t now)
{
	struct udb_reload_result *res;

	if(now < uworker_db_retry_at)
		return;
	res = pkg_malloc(sizeof(*res));
	if(res == NULL)
		return;
	if(udb_reload(res) < 0) {
		uworker_db_retry_at = now + UWORKER_DB_RETRY_MS;
	} else {
		uworker_loaded = 1;
		if(uacreg_reload_interval > 0)
			uworker_next_reload = now + uacreg_reload_interval * 1000ULL;
	}
	pkg_free(res);
}

void uworker_tick(unsigned int ticks, void *param)
{
	uint64_t now = ul_now();

	if(!uworker_loaded) {
		/* the first load happens here, in the process that owns SQL work */
		uworker_load(now);
		if(!uworker_loaded)
			return;
	} else if(uworker_next_reload && now >= uworker_next_reload) {
		uworker_load(now);
	}
	uworker_send_due();
	/* events first: a removed line is freed by its pending work, and its
	 * "removed" event must still find it */
	uworker_run_events();
	uworker_drain_pending(now);
}

void uworker_shutdown(void)
{
	/* unregister every registered line: sent before tm shuts down */
	struct line_env env = ul_env();
	struct line_send act;
	struct uline *ul;
	uint32_t id;
	int n = 0;

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
	for(id = table_next(&ustore->table, 0); id != TABLE_NO_ID;
			id = table_next(&ustore->table, id + 1)) {
		ul = table_get(&ustore->table, id);
		if(ul->sm.expires_at <= env.now)
			continue;
		line_disable(&ul->sm, &env);
		act = line_on_due(&ul->sm, &env);
		if(act.send) {
			usend_register(ul, &act);
			n++;
		}
	}
	ustore_unlock();
	LM_INFO("unregistered %d lines at shutdown\n", n);
}
