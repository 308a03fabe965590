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
 * uacreg - reload policy: how a reload (every row, or uacreg.refresh's one
 * row) treats a row that was added, changed, updated, turned invalid or
 * removed, compared with the lines in the store by l_uuid. The rows come
 * from uacreg_db.h; the lines are the store's.
 */
#ifndef UACREG_RELOAD_H
#define UACREG_RELOAD_H

#include "../../core/str.h"
#include "../../core/counters.h"
#include "uacreg_store.h"

/* modparams start_spread, reload_guard */
extern int uacreg_start_spread;
extern int uacreg_reload_guard;

extern counter_handle_t uacreg_cnt_reloads_held;

#define URELOAD_SKIPPED_REPORT 100 /* skipped rows named in a reload answer */

struct ureload_skipped
{
	char l_uuid[65];
	const char *why;
	int line_kept; /* a loaded line runs on as last loaded */
};

struct ureload_result
{
	uint32_t unchanged, added, changed, updated, removed, skipped;
	/* the removal guard: lines loaded before the sweep, lines the table no
	 * longer has, and 1 when their removal was held (see reload_guard) */
	uint32_t lines, would_remove;
	int held;
	uint32_t nskipped; /* entries filled in skipped[] */
	struct ureload_skipped skipped_rows[URELOAD_SKIPPED_REPORT];
};

/* mod_init: the lock that serialises reloads between processes */
int ureload_init(void);

/* Reads every row and makes the store match it. Serialised between
 * processes. -1: the database could not be read, nothing changed; -2: it
 * failed midway, the rows read were applied but no line was removed. 0
 * with res->held: the rows read were applied, but the lines the table lost
 * were more than reload_guard lets go without force, and none was
 * removed. */
int ureload_all(struct ureload_result *res, int force);

/* Reads one row again and applies it as a reload would (uacreg.refresh,
 * as stock uac.reg_refresh does). -1 database error, 0 no such row, -2
 * the row is invalid and no line runs for it, 1 the row was added or its
 * registration changed (the new line registers at once), 2 the line is as
 * the row says (the caller refreshes it). */
int ureload_one(const str *l_uuid);

/* HA: this node just claimed the line at epoch. Its row is read again and
 * the line starts anew from it, owned, with the row's fail_count: due at
 * once (at_once: a takeover), else after its start delay (reg_delay and
 * start_spread). 1 done, 0 no such row or line, -1 database error. */
int ureload_claim(const str *l_uuid, uint32_t epoch, int at_once);

#endif
