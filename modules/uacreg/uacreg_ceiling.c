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
 * uacreg - the failure ceiling in SQL (see uacreg_ceiling.h): the counted
 * failures written to fail_count, the ceiling route, then the row's delete
 * (or disable, when the route kept it) only if the row is still the one
 * the line was loaded from; and the log lines of a database outage for
 * these writes.
 */
#include <string.h>

#include "../../core/dprint.h"
#include "../../core/mem/mem.h"
#include "uacreg_db.h"
#include "uacreg_script.h"
#include "uacreg_worker.h"
#include "uacreg_ha.h"
#include "uacreg_ceiling.h"

counter_handle_t uacreg_cnt_ceiling;

/* a row changed under a ceiling flow: the tick reloads */
static int uceiling_reload_asked = 0;

int uceiling_take_reload(void)
{
	int asked = uceiling_reload_asked;
	uceiling_reload_asked = 0;
	return asked;
}

/* The line of a ceiling flow, found again by table id and generation (a
 * line that a reload put in its place is another line), and only while the
 * flow is still owed to it (a reset or a replacement clears in_ceiling).
 * Under the lock. */
static struct uline *uceiling_flow_line(uint32_t id, uint32_t gen)
{
	struct uline *ul = ustore_get(id, gen);
	return (ul && ul->in_ceiling) ? ul : NULL;
}

/* The ceiling's write after the route: delete the row, or disable it when
 * the route kept it, only if it is still the row that was loaded. 0 done,
 * -1 retry later. */
static int uceiling_sql(const struct usnap *snap, const struct udb_loaded *ld,
		uint32_t id, uint32_t gen, int keep)
{
	struct uline *ul;
	int rc;

	rc = udb_ceiling_write(ld, keep);
	if(rc < 0)
		return -1;
	ustore_lock();
	ul = uceiling_flow_line(id, gen);
	if(rc == 2) {
		/* HA: another node owns the line now; its ceiling is its own */
		if(ul)
			ul->in_ceiling = 0;
		ustore_unlock();
		LM_NOTICE("line [%s]: owned by another node now: not %s here\n",
				snap->l_uuid, keep ? "disabled" : "deleted");
		return 0;
	}
	if(rc == 1) {
		if(ul)
			ul->in_ceiling = 0;
		if(ul && keep) {
			ul->row_flags |= ROW_FLAG_DISABLED;
			ustore_apply(ul, line_keep_after_ceiling(&ul->sm));
		} else if(ul) {
			ustore_drop(ul);
		}
		ustore_unlock();
		if(keep) {
			LM_NOTICE("line [%s]: kept by the ceiling route, disabled\n",
					snap->l_uuid);
		} else {
			counter_inc(uacreg_cnt_ceiling);
			LM_WARN("line [%s]: deleted after %u failures (failure "
					"ceiling)\n",
					snap->l_uuid, snap->fail_count);
		}
		return 0;
	}
	/* An admin changed, replaced or deleted the row since it was loaded:
	 * their row wins. The uacreg process reloads once this tick's pending
	 * work is done (and retries until the database answers): the reload
	 * starts the line anew from the row with its count at 0, or forgets a
	 * deleted one. */
	if(ul)
		ul->stale = 1;
	ustore_unlock();
	LM_NOTICE("line [%s]: row changed in SQL since it was loaded: not "
			  "%s, the line starts anew from the row\n",
			snap->l_uuid, keep ? "disabled" : "deleted");
	uceiling_reload_asked = 1;
	return 0;
}

/* A database outage for the writes the lines owe (fail_count, the
 * ceiling's delete or disable): one WARN when they start failing, with the
 * number of lines waiting, one NOTICE when they succeed again; nothing per
 * line and second in between (each retry is logged at DBG level). */
static uint64_t uceiling_db_down_since = 0;
/* the last "ceiling route deferred" NOTICE: at most one a minute */
#define UCEILING_DEFER_LOG_MS 60000
static uint64_t uceiling_defer_logged_at = 0;
static uint32_t uceiling_defers = 0;

static void uceiling_db_failed(const char *l_uuid, const char *what)
{
	uint32_t waiting = 0;

	LM_DBG("line [%s]: %s failed: will retry\n", l_uuid, what);
	if(uceiling_db_down_since)
		return;
	uceiling_db_down_since = uclock_now();
	ustore_lock();
	waiting = ustore_pending_count();
	ustore_unlock();
	/* the line being worked on is off the list */
	LM_WARN("database writes fail (%s of line [%s]): %u lines wait for "
			"theirs (fail_count, ceiling delete); retrying every %d ms, "
			"the lines keep running\n",
			what, l_uuid, waiting + 1, UWORKER_DB_RETRY_MS);
}

static void uceiling_db_ok(void)
{
	if(uceiling_db_down_since == 0)
		return;
	LM_NOTICE("database writes succeed again after %llu ms\n",
			(unsigned long long)(uclock_now() - uceiling_db_down_since));
	uceiling_db_down_since = 0;
}

static void uceiling_defer_log(const char *l_uuid)
{
	uint64_t now = uclock_now();

	uceiling_defers++;
	if(uceiling_defer_logged_at
			&& now - uceiling_defer_logged_at < UCEILING_DEFER_LOG_MS) {
		LM_DBG("line [%s]: the ceiling route deferred\n", l_uuid);
		return;
	}
	LM_NOTICE("line [%s]: the ceiling route deferred (%u deferrals since the "
			  "last notice): it runs again later, the row stays\n",
			l_uuid, uceiling_defers);
	uceiling_defer_logged_at = now;
	uceiling_defers = 0;
}

/* The fail_count write (UL_P_PERSIST): SQL keeps how close a line is to its
 * ceiling across restarts; the ceiling's own write expects this count. */
static int uceiling_write_count(const struct usnap *snap, struct udb_loaded *ld,
		uint32_t id, uint32_t gen)
{
	struct uline *ul;
	str uuid;

	uuid.s = (char *)snap->l_uuid;
	uuid.len = strlen(snap->l_uuid);
	if(uacreg_ha_mode != HA_OFF) {
		/* HA: only the owner writes, guarded by its epoch; a line this
		 * node lost has its count written by its owner */
		if(!ld->ha_owned)
			return 0;
		if(udb_ha_write_count(ld->db_id, snap->fail_count, ld->ha_epoch) < 0) {
			uceiling_db_failed(snap->l_uuid, "the fail_count write");
			return -1;
		}
	} else if(udb_write_count(ld->db_id, &uuid, snap->fail_count) < 0) {
		uceiling_db_failed(snap->l_uuid, "the fail_count write");
		return -1;
	}
	uceiling_db_ok();
	ld->fail_count = snap->fail_count;
	ustore_lock();
	ul = ustore_get(id, gen);
	if(ul)
		ul->db_count = snap->fail_count;
	ustore_unlock();
	return 0;
}

int uceiling_run(struct usnap *snap, struct udb_loaded *ld, uint32_t id,
		uint32_t gen, uint8_t *whatp)
{
	uint8_t what = *whatp;
	struct uline *ul;
	int rc = 0, keep;

	if(what & UL_P_PERSIST) {
		if(uceiling_write_count(snap, ld, id, gen) < 0) {
			*whatp = what;
			return -1;
		}
		what &= ~UL_P_PERSIST;
	}
	if(!(what & (UL_P_CEILING | UL_P_DELETE))) {
		*whatp = what;
		return 0;
	}

	/* Order: the count is in SQL, then the route, then the write. The
	 * route runs again only when it asked to (uacreg_defer()). */
	if(what & UL_P_CEILING) {
		/* not for a line a reload replaced or a reset took back meanwhile */
		ustore_lock();
		ul = uceiling_flow_line(id, gen);
		ustore_unlock();
		if(ul == NULL)
			what &= ~UL_P_CEILING;
	}
	if((what & UL_P_CEILING) && uacreg_ha_mode != HA_OFF) {
		/* HA: the route runs on the line's owner only, once: a node that
		 * lost the line (its count write changed nothing) leaves it to
		 * the owner */
		rc = ld->ha_owned ? udb_ha_owns(ld->db_id, ld->ha_epoch) : 0;
		if(rc < 0) {
			uceiling_db_failed(snap->l_uuid, "the owner check");
		} else if(rc == 0) {
			LM_NOTICE("line [%s]: at its ceiling, but owned by another "
					  "node now: the route runs there\n",
					snap->l_uuid);
			what &= ~(UL_P_CEILING | UL_P_DELETE);
		} else {
			rc = 0;
		}
	}
	if((what & UL_P_CEILING) && rc == 0) {
		keep = uscript_run_ceiling(snap);
		if(snap->defer) {
			uceiling_defer_log(snap->l_uuid);
			rc = -1;
		} else {
			what &= ~UL_P_CEILING;
			what |= UL_P_DELETE;
			ustore_lock();
			ul = uceiling_flow_line(id, gen);
			if(ul)
				ul->keep = keep != 0;
			else
				what &= ~UL_P_DELETE;
			ustore_unlock();
			if(!(what & UL_P_DELETE))
				LM_NOTICE("line [%s]: reset or replaced while the ceiling "
						  "route ran: the row is left alone\n",
						snap->l_uuid);
		}
	}
	if((what & UL_P_DELETE) && rc == 0) {
		ustore_lock();
		ul = uceiling_flow_line(id, gen);
		keep = ul ? ul->keep : 0;
		ustore_unlock();
		if(ul == NULL) {
			what &= ~UL_P_DELETE;
		} else if(uceiling_sql(snap, ld, id, gen, keep) < 0) {
			uceiling_db_failed(snap->l_uuid,
					keep ? "the ceiling's disable" : "the ceiling's delete");
			rc = -1;
		} else {
			uceiling_db_ok();
			what &= ~UL_P_DELETE;
		}
	}
	*whatp = what;
	return rc;
}
