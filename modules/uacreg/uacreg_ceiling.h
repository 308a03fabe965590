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
 * uacreg - the failure ceiling in SQL, in the uacreg process: counted
 * failures are written to fail_count; a line stopped at its ceiling runs the ceiling route (event_route[uacreg:ceiling]
 * or the KEMI callback), then its row is deleted - or disabled, when the
 * route kept it - only if the row is still, in every column, the one the
 * line was loaded from. An admin's change wins: the line is marked stale
 * and the uacreg process is asked for a reload. Also the log lines of a
 * database outage for every write the lines owe.
 */
#ifndef UACREG_CEILING_H
#define UACREG_CEILING_H

#include "../../core/counters.h"
#include "uacreg_store.h"
#include "uacreg_db.h"
#include "uacreg_script.h"

/* lines deleted by the ceiling */
extern counter_handle_t uacreg_cnt_ceiling;

/* The SQL and route part of a line's pending work, in this order: the
 * fail_count write (UL_P_PERSIST), the ceiling route (UL_P_CEILING), the
 * row's delete or disable (UL_P_DELETE); each bit of *what is cleared when
 * done. Without the lock; snap and ld were filled under it, id and gen
 * find the line again. 0, or -1 when the database failed or the route
 * deferred (the caller queues what is left and retries later). */
int uceiling_run(struct usnap *snap, struct udb_loaded *ld, uint32_t id,
		uint32_t gen, uint8_t *what);

/* 1 once after a ceiling's write found the row changed: the uacreg
 * process reloads (and retries the reload until it succeeds) */
int uceiling_take_reload(void);

#endif
