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
 * uacreg - the uacreg table: load and reload (compared by l_uuid), and the
 * writes the module owes it (fail_count, the ceiling's delete or disable).
 * SQL only through Kamailio's DB API with typed values.
 */
#ifndef UACREG_DB_H
#define UACREG_DB_H

#include "../../core/str.h"
#include "uacreg_store.h"

#define UDB_SKIPPED_REPORT 100 /* skipped rows named in a reload answer */

struct udb_skipped
{
	char l_uuid[65];
	const char *why;
	int line_kept; /* a loaded line runs on as last loaded */
};

struct udb_reload_result
{
	uint32_t unchanged, added, changed, updated, removed, skipped;
	/* the removal guard: lines loaded before the sweep, lines the table no
	 * longer has, and 1 when their removal was held (see reload_guard) */
	uint32_t lines, would_remove;
	int held;
	uint32_t nskipped; /* entries filled in skipped[] */
	struct udb_skipped skipped_rows[UDB_SKIPPED_REPORT];
};

int udb_init(void);
/* opens this process' connection if needed; 0 or -1 */
int udb_connect(void);
void udb_close(void);

/* Reads every row and makes the store match it. Serialised between
 * processes. -1: the database could not be read, nothing changed; -2: it
 * failed midway, the rows read were applied but no line was removed. 0
 * with res->held: the rows read were applied, but the lines the table lost
 * were more than reload_guard lets go without force, and none was
 * removed. */
int udb_reload(struct udb_reload_result *res, int force);

/* Reads one row again and applies it as a reload would (uacreg.refresh,
 * as stock uac.reg_refresh does). -1 database error, 0 no such row, -2
 * the row is invalid and no line runs for it, 1 the row was added or its
 * registration changed (the new line registers at once), 2 the line is as
 * the row says (the caller refreshes it). */
int udb_reload_one(const str *l_uuid);

/* fail_count of the line's row (by id and l_uuid); 0, or -1 when the
 * database did not answer */
int udb_write_count(uint64_t db_id, const str *l_uuid, uint32_t count);

/* A line's row as it was loaded (all columns) and its fail_count as last
 * written: what the ceiling's write expects to find. */
struct udb_loaded
{
	uint64_t db_id;
	int64_t expires, flags, reg_delay, dialog, ceiling, fail_count;
	uint32_t inull; /* ROW_N_* */
	str s[ROW_STR_COUNT];
	char data[ROW_STR_COUNT * ROW_MAX_STR];
};
/* Under the lock. */
void udb_loaded_fill(struct udb_loaded *ld, const struct uline *ul);
/* The ceiling's write: deletes the row (keep: sets its flags bit 0) only
 * when it is still, in every column, the row the line was loaded from; the
 * check is the statement's own WHERE. 1 written, 0 the row is gone or not
 * the loaded one (an admin's change wins), -1 database error. */
int udb_ceiling_write(const struct udb_loaded *ld, int keep);

#endif
