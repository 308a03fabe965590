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
 * uacreg - the uacreg table in SQL: the connection, its columns, rows read
 * into struct row, and the writes the module owes it (fail_count, the
 * ceiling's delete or disable). SQL only through Kamailio's DB API with
 * typed values. What a reload makes of the rows is uacreg_reload.h's.
 */
#ifndef UACREG_DB_H
#define UACREG_DB_H

#include "../../core/str.h"
#include "uacreg_store.h"

struct db1_res;

/* modparams db_url, db_table */
extern str uacreg_db_url;
extern str uacreg_db_table;

int udb_init(void);
/* opens this process' connection if needed; 0 or -1 */
int udb_connect(void);
void udb_close(void);

/* Rows read from the table, a chunk at a time (the DB API's fetch). */
struct udb_cursor
{
	struct db1_res *res;
	int ncols;	 /* columns read: the stock ones, or ours too */
	int next;	 /* next row of the chunk */
	int chunked; /* more chunks may follow (DB_CAP_FETCH) */
};
/* Selects every row (l_uuid NULL; learns first which of our columns the
 * table has) or the row of one l_uuid. 0, or -1 when the database could not
 * be read (nothing to close). */
int udb_select(struct udb_cursor *c, const str *l_uuid);
/* The next row of the current chunk into r (its strings point into the
 * result, valid until the next udb_cursor_more or close) and its `id`
 * column: 1, or 0 at the chunk's end. */
int udb_cursor_row(struct udb_cursor *c, struct row *r, uint64_t *db_id);
/* Reads the next chunk: 1 it has rows, 0 no more, -1 reading failed. */
int udb_cursor_more(struct udb_cursor *c);
void udb_cursor_close(struct udb_cursor *c);

/* fail_count of the line's row (by id and l_uuid); 0, or -1 when the
 * database did not answer */
int udb_write_count(uint64_t db_id, const str *l_uuid, uint32_t count);

/* A line's row as it was loaded (all columns) and its fail_count as last
 * written: what the ceiling's write expects to find. */
struct udb_loaded
{
	uint64_t db_id;
	int64_t expires, flags, reg_delay, reauth_new_dialog, ceiling, fail_count;
	uint32_t inull; /* ROW_N_* */
	/* HA: this node owned the line, at this epoch (guards the writes) */
	int ha_owned;
	uint64_t ha_epoch;
	str s[ROW_STR_COUNT];
	char data[ROW_STR_COUNT * ROW_MAX_STR];
};
/* Under the lock. */
void udb_loaded_fill(struct udb_loaded *ld, const struct uline *ul);
/* The ceiling's write: deletes the row (keep: sets its flags bit 0) only
 * when it is still, in every column, the row the line was loaded from; the
 * check is the statement's own WHERE. 1 written, 0 the row is gone or not
 * the loaded one (an admin's change wins), -1 database error; in HA mode
 * 2: this node no longer owns the line (nothing written, the owner runs
 * its own ceiling). */
int udb_ceiling_write(const struct udb_loaded *ld, int keep);

/* HA statements (uacreg_ha.c), on this process' connection. Integers and
 * this node's node_id only: a line is named by its row's id. */
struct uha_node_info;
/* this node's lease: lease_until = NOW(3) + lease_ttl (first: its
 * started column too); 0 or -1 */
int udb_ha_renew(int first);
/* lease_until = NOW(3): a graceful stop */
int udb_ha_end_lease(void);
/* the node table, up to max rows; their number or -1 */
int udb_ha_nodes(struct uha_node_info *nodes, int max);
/* the owner table, a chunk at a time (udb_cursor_more/close) */
int udb_ha_owner_select(struct udb_cursor *c);
/* next owner row of the chunk: 1, 0 at its end; node empty = NULL */
int udb_ha_owner_row(struct udb_cursor *c, ur_str_t *l_uuid, ur_str_t *node,
		uint64_t *epoch);
/* unowned owner rows for the uacreg rows that have none; rows or -1 */
int udb_ha_insert_missing(void);
/* owner rows whose l_uuid is no longer in uacreg; rows or -1 */
int udb_ha_cleanup(void);
/* claim: epoch -> epoch + 1 when unowned or its owner's lease expired;
 * 1 won, 0 lost, -1 error */
int udb_ha_claim(uint64_t db_id, uint64_t epoch);
/* node_id = NULL where it is this node at epoch; rows or -1 */
int udb_ha_release(uint64_t db_id, uint64_t epoch);
int udb_ha_release_all(void);
/* fail_count, only while this node owns the line at epoch: rows or -1 */
int udb_ha_write_count(uint64_t db_id, uint32_t count, uint64_t epoch);
/* 1 this node owns the line at epoch, 0 not, -1 error */
int udb_ha_owns(uint64_t db_id, uint64_t epoch);

#endif
