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
 * uacreg - the uacreg table (see uacreg_db.h).
 */
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>
#include <time.h>

#include "../../core/dprint.h"
#include "../../core/ut.h"
#include "../../core/socket_info.h"
#include "../../core/rand/kam_rand.h"
#include "../../core/mem/shm_mem.h"
#include "../../lib/srdb1/db.h"
#include "uacreg_mod.h"
#include "uacreg_db.h"

#define UDB_FETCH_ROWS 1000
/* the uacreg process retries the first load this often (uacreg_worker.c) */
#define UDB_LOAD_RETRY_MS 1000

/* columns in the order of struct row's strings, then the integers */
static str udb_col_names[] = {
		str_init("l_uuid"),
		str_init("l_username"),
		str_init("l_domain"),
		str_init("r_username"),
		str_init("r_domain"),
		str_init("realm"),
		str_init("auth_username"),
		str_init("auth_password"),
		str_init("auth_ha1"),
		str_init("auth_proxy"),
		str_init("contact_addr"),
		str_init("socket"),
		str_init("id"),
		str_init("expires"),
		str_init("flags"),
		str_init("reg_delay"),
		/* ours, added by sql/migrate-from-uac.sql */
		str_init("reauth_new_dialog"),
		str_init("fail_ceiling"),
		str_init("fail_count"),
};
enum
{
	UDB_C_ID = ROW_STR_COUNT,
	UDB_C_EXPIRES,
	UDB_C_FLAGS,
	UDB_C_REG_DELAY,
	UDB_C_STOCK_COUNT, /* a stock uac table has the columns up to here */
	UDB_C_DIALOG = UDB_C_STOCK_COUNT,
	UDB_C_CEILING,
	UDB_C_FAIL_COUNT,
	UDB_C_COUNT
};

static db_func_t udb_dbf;
static db1_con_t *udb_con = NULL;
static int udb_con_pid = 0;
/* 1 when the table has our columns. Learnt from the table's own column list
 * at each reload (never from a query that failed), in shm so that every
 * process writes what the last reload saw. */
static int *udb_ext = NULL;
#define udb_has_ext (*udb_ext)
/* MySQL/MariaDB compare strings case-insensitively and ignore trailing
 * spaces by default: the ceiling's write compares them as bytes */
static int udb_is_mysql = 0;
/* reloads from the RPC and the uacreg process never interleave */
static gen_lock_t *udb_reload_lock = NULL;

int udb_init(void)
{
	if(uacreg_db_url.s == NULL || uacreg_db_url.len == 0) {
		LM_ERR("db_url is not set\n");
		return -1;
	}
	if(db_bind_mod(&uacreg_db_url, &udb_dbf) < 0) {
		LM_ERR("no database module for %.*s\n", uacreg_db_url.len,
				uacreg_db_url.s);
		return -1;
	}
	if(!DB_CAPABILITY(udb_dbf, DB_CAP_QUERY | DB_CAP_UPDATE | DB_CAP_DELETE)) {
		LM_ERR("the database module lacks query, update or delete\n");
		return -1;
	}
	if(!DB_CAPABILITY(udb_dbf, DB_CAP_AFFECTED_ROWS)) {
		LM_ERR("the database module cannot tell the rows a write changed: "
			   "the failure ceiling needs it\n");
		return -1;
	}
	udb_ext = shm_malloc(sizeof(*udb_ext));
	if(udb_ext == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	*udb_ext = 1;
	udb_is_mysql = uacreg_db_url.len >= 5
				   && strncasecmp(uacreg_db_url.s, "mysql", 5) == 0;
	udb_reload_lock = lock_alloc();
	if(udb_reload_lock == NULL || lock_init(udb_reload_lock) == NULL) {
		LM_ERR("cannot create the reload lock\n");
		return -1;
	}
	return 0;
}

int udb_connect(void)
{
	if(udb_con && udb_con_pid == getpid())
		return 0;
	udb_con = udb_dbf.init(&uacreg_db_url);
	if(udb_con == NULL) {
		LM_ERR("cannot connect to the database\n");
		return -1;
	}
	udb_con_pid = getpid();
	return 0;
}

void udb_close(void)
{
	if(udb_con && udb_con_pid == getpid())
		udb_dbf.close(udb_con);
	udb_con = NULL;
}

static int udb_use_table(void)
{
	if(udb_connect() < 0)
		return -1;
	if(udb_dbf.use_table(udb_con, &uacreg_db_table) < 0) {
		LM_ERR("cannot use table %.*s\n", uacreg_db_table.len,
				uacreg_db_table.s);
		return -1;
	}
	return 0;
}

static void udb_val_str(db_val_t *v, ur_str_t *out)
{
	out->s = NULL;
	out->len = 0;
	if(VAL_NULL(v))
		return;
	switch(VAL_TYPE(v)) {
		case DB1_STRING:
			out->s = VAL_STRING(v) ? VAL_STRING(v) : "";
			out->len = strlen(out->s);
			break;
		case DB1_STR:
			out->s = VAL_STR(v).s ? VAL_STR(v).s : "";
			out->len = VAL_STR(v).s ? VAL_STR(v).len : 0;
			break;
		case DB1_BLOB:
			out->s = VAL_BLOB(v).s ? VAL_BLOB(v).s : "";
			out->len = VAL_BLOB(v).s ? VAL_BLOB(v).len : 0;
			break;
		default:
			/* an integer in a text column is an admin's schema, not ours */
			out->s = "";
			break;
	}
}

/* integer value; null_value for SQL NULL; *bad = 1 for text that is not a
 * number */
static int64_t udb_val_int(db_val_t *v, int64_t null_value, int *bad)
{
	ur_str_t s;
	char buf[24];
	char *end;
	long long n;

	if(VAL_NULL(v))
		return null_value;
	switch(VAL_TYPE(v)) {
		case DB1_INT:
			return VAL_INT(v);
		case DB1_UINT:
			return VAL_UINT(v);
		case DB1_BIGINT:
			return VAL_BIGINT(v);
		case DB1_UBIGINT:
			return (int64_t)VAL_UBIGINT(v);
		case DB1_DOUBLE:
			return (int64_t)VAL_DOUBLE(v);
		default:
			udb_val_str(v, &s);
			if(s.len == 0 || s.len >= sizeof(buf)) {
				if(bad)
					*bad = 1;
				return null_value;
			}
			memcpy(buf, s.s, s.len);
			buf[s.len] = '\0';
			n = strtoll(buf, &end, 10);
			if(*end != '\0' && bad)
				*bad = 1;
			return n;
	}
}

/* fills r from one result row; returns the `id` column (a BIGINT id is
 * kept whole) */
static uint64_t udb_to_row(db_row_t *dbrow, int ncols, struct row *r)
{
	db_val_t *v = ROW_VALUES(dbrow);
	int bad = 0;
	int f;

	memset(r, 0, sizeof(*r));
	for(f = 0; f < ROW_STR_COUNT; f++)
		udb_val_str(&v[f], &r->s[f]);
	r->expires = udb_val_int(&v[UDB_C_EXPIRES], -1, &bad);
	r->expires_bad = bad;
	r->flags = udb_val_int(&v[UDB_C_FLAGS], 0, NULL);
	r->reg_delay = udb_val_int(&v[UDB_C_REG_DELAY], 0, NULL);
	if(VAL_NULL(&v[UDB_C_FLAGS]))
		r->int_null |= ROW_N_FLAGS;
	if(VAL_NULL(&v[UDB_C_REG_DELAY]))
		r->int_null |= ROW_N_REG_DELAY;
	r->reauth_new_dialog = -1;
	r->fail_ceiling = -1;
	r->fail_count = 0;
	if(ncols == UDB_C_COUNT) {
		r->reauth_new_dialog = udb_val_int(&v[UDB_C_DIALOG], -1, NULL);
		r->fail_ceiling = udb_val_int(&v[UDB_C_CEILING], -1, NULL);
		r->fail_count = udb_val_int(&v[UDB_C_FAIL_COUNT], 0, NULL);
		if(VAL_NULL(&v[UDB_C_DIALOG]))
			r->int_null |= ROW_N_DIALOG;
		if(VAL_NULL(&v[UDB_C_CEILING]))
			r->int_null |= ROW_N_CEILING;
		if(VAL_NULL(&v[UDB_C_FAIL_COUNT]))
			r->int_null |= ROW_N_FAIL_COUNT;
	}
	return (uint64_t)udb_val_int(&v[UDB_C_ID], 0, NULL);
}

/* The socket column names a socket Kamailio listens on; NULL and *why set
 * when it does not. */
static struct socket_info *udb_socket(const ur_str_t *sock, const char **why)
{
	char buf[ROW_MAX_STR + 1];
	char *host;
	int hlen, port, proto;
	str h;
	struct socket_info *si;

	*why = NULL;
	if(sock->len == 0)
		return NULL;
	memcpy(buf, sock->s, sock->len);
	buf[sock->len] = '\0';
	if(parse_phostport(buf, &host, &hlen, &port, &proto) < 0) {
		*why = "socket is not proto:host:port";
		return NULL;
	}
	h.s = host;
	h.len = hlen;
	si = grep_sock_info(&h, (unsigned short)port, (unsigned short)proto);
	if(si == NULL)
		*why = "socket is not one Kamailio listens on";
	return si;
}

static void udb_note_skip(
		struct udb_reload_result *res, const struct row *r, const char *why)
{
	struct udb_skipped *sk;
	size_t n = r->s[ROW_L_UUID].len;

	res->skipped++;
	LM_ERR("uacreg row l_uuid=[%.*s] skipped: %s\n", (int)(n > 64 ? 64 : n),
			r->s[ROW_L_UUID].s ? r->s[ROW_L_UUID].s : "", why);
	if(res->nskipped >= UDB_SKIPPED_REPORT)
		return;
	sk = &res->skipped_rows[res->nskipped++];
	if(n > 64)
		n = 64;
	if(n)
		memcpy(sk->l_uuid, r->s[ROW_L_UUID].s, n);
	sk->l_uuid[n] = '\0';
	sk->why = why;
}

/* start delay of a new line: its reg_delay plus a random spread, so that a
 * restart with many lines starts them over uacreg_start_spread seconds */
static uint64_t udb_start_delay(int64_t reg_delay, uint32_t rnd)
{
	uint64_t d = (uint64_t)reg_delay * 1000;
	if(uacreg_start_spread > 0)
		d += rnd % ((uint64_t)uacreg_start_spread * 1000);
	return d;
}

/* A fresh line from a row, added to the store (under the lock). With prev,
 * a line whose credentials changed, it takes over prev's dialog and nonce. */
static int udb_add_line(const struct row *r, uint64_t db_id,
		struct socket_info *sock, const struct line_env *env, uint64_t delay,
		const struct uline *prev)
{
	struct uline *ul = ul_new(r, db_id);
	int bits;

	if(ul == NULL)
		return -1;
	ul->sock = sock;
	ul->reload_epoch = ustore->reload_epoch;
	bits = line_init(&ul->sm, (uint32_t)r->expires,
			(r->flags & ROW_FLAG_DISABLED) != 0, delay, env);
	if(prev && !bits)
		ul_adopt(&ul, prev);
	ul->sm.announced = ul->sm.state;
	if(ustore_add(ul) < 0) {
		LM_ERR("no memory for line l_uuid=[%.*s]\n", (int)r->s[ROW_L_UUID].len,
				r->s[ROW_L_UUID].s);
		ul_free(ul);
		return -1;
	}
	ustore_apply(ul, ul->sm.state, ul->sm.fail_class, bits);
	return 0;
}

/* Applies fields that do not shape the REGISTER: no send, except that a
 * change of the disabled flag disables or enables the line. */
static int udb_update_line(struct uline *ul, const struct row *r,
		uint64_t db_id, const struct line_env *env)
{
	int changed = 0, old_state = ul->sm.state, old_fc = ul->sm.fail_class;
	int bits = 0;

	if(ul->db_id != db_id) {
		/* a new row with the same values (re-imported, REPLACE INTO): the
		 * line runs on, its count is the new row's own, from 0 */
		ul->db_id = db_id;
		if(ul->sm.fail_count != 0 || r->fail_count != 0) {
			ul->sm.fail_count = 0;
			ustore_pend(ul, UL_P_PERSIST);
		}
		changed = 1;
	}
	if((ul->row_flags ^ (uint32_t)r->flags) & ROW_FLAG_DISABLED) {
		bits = (r->flags & ROW_FLAG_DISABLED) ? line_disable(&ul->sm, env)
											  : line_enable(&ul->sm, env);
		changed = 1;
	}
	if(ul->row_flags != (uint32_t)r->flags || ul->reg_delay != r->reg_delay
			|| ul->row_inull != r->int_null)
		changed = 1;
	ul->row_flags = (uint32_t)r->flags;
	ul->reg_delay = (uint32_t)r->reg_delay;
	ul->row_inull = (uint8_t)r->int_null;
	/* what SQL holds now; the ceiling's write expects it */
	ul->db_count = (uint32_t)r->fail_count;
	if(ul->sm.fail_ceiling != r->fail_ceiling) {
		ul->sm.fail_ceiling = (int32_t)r->fail_ceiling;
		ul->row_ceiling_null = r->fail_ceiling < 0;
		changed = 1;
	}
	if(ul->row_dialog_mode != r->reauth_new_dialog) {
		ul->row_dialog_mode = (int8_t)r->reauth_new_dialog;
		ul->sm.dialog_mode = (int8_t)r->reauth_new_dialog;
		/* a new setting is a new decision: auto detection starts over */
		ul->sm.auto_new_dialog = 0;
		changed = 1;
	}
	ustore_apply(ul, old_state, old_fc, bits);
	return changed;
}

/* 1 when a changed row still registers the same AOR and Contact at the
 * same carrier, through the same proxy and socket: only its credentials or
 * expires changed, so its dialog and nonce stay good */
static int udb_same_target(const struct uline *ul, const struct row *r)
{
	static const enum row_str target[] = {ROW_L_USERNAME, ROW_L_DOMAIN,
			ROW_R_USERNAME, ROW_R_DOMAIN, ROW_AUTH_PROXY, ROW_CONTACT_ADDR,
			ROW_SOCKET};
	unsigned i;
	str s;

	for(i = 0; i < sizeof(target) / sizeof(target[0]); i++) {
		s = ul_str(ul, target[i]);
		if((size_t)s.len != r->s[target[i]].len
				|| (s.len && memcmp(s.s, r->s[target[i]].s, s.len) != 0))
			return 0;
	}
	return 1;
}

static int udb_leaving(const struct uline *ul);

/* A row that no longer validates, for a line that runs: the admin's typo
 * (expires=-5, a bad domain) must not take a working line down. The line
 * runs on exactly as last loaded and says why in uacreg.info; only flags
 * bit 0 of such a row is heeded (disable), as only a DELETE or flags=1 ever
 * unregister. 0 when a line was kept, -1 when there is none. */
static int udb_keep_invalid(const struct row *r, const char *why,
		struct udb_reload_result *res, const struct line_env *env)
{
	struct uline *ul;
	str uuid;
	int old_state, old_fc;

	if(r->s[ROW_L_UUID].len == 0 || r->s[ROW_L_UUID].len > ROW_MAX_STR)
		return -1;
	uuid.s = (char *)r->s[ROW_L_UUID].s;
	uuid.len = (int)r->s[ROW_L_UUID].len;
	ul = ustore_find(&uuid);
	if(ul == NULL || ul->reload_epoch == ustore->reload_epoch
			|| udb_leaving(ul))
		return -1;
	ul->reload_epoch = ustore->reload_epoch;
	if(ul->row_invalid_why != why) {
		if(ul->row_invalid_why == NULL)
			ul->row_invalid_since = (uint32_t)time(NULL);
		ul->row_invalid_why = why;
		LM_WARN("uacreg row l_uuid=[%.*s] is invalid (%s): its line runs on "
				"as last loaded until the row is fixed, deleted or "
				"disabled\n",
				uuid.len, uuid.s, why);
	}
	if((r->flags & ROW_FLAG_DISABLED) && r->flags <= UINT32_MAX
			&& !(ul->row_flags & ROW_FLAG_DISABLED)) {
		old_state = ul->sm.state;
		old_fc = ul->sm.fail_class;
		ul->row_flags |= ROW_FLAG_DISABLED;
		ustore_apply(ul, old_state, old_fc, line_disable(&ul->sm, env));
	}
	res->skipped++;
	if(res->nskipped < UDB_SKIPPED_REPORT) {
		struct udb_skipped *sk = &res->skipped_rows[res->nskipped++];
		size_t n = uuid.len > 64 ? 64 : uuid.len;
		memcpy(sk->l_uuid, uuid.s, n);
		sk->l_uuid[n] = '\0';
		sk->why = why;
		sk->line_kept = 1;
	}
	return 0;
}

/* 1 when a row's columns that do not shape the REGISTER differ from the
 * line's loaded ones, fail_count from the one last written */
static int udb_settings_differ(const struct uline *ul, const struct row *r)
{
	return ul->row_flags != (uint32_t)r->flags
		   || ul->reg_delay != (uint32_t)r->reg_delay
		   || ul->row_dialog_mode != (int8_t)r->reauth_new_dialog
		   || ul->sm.fail_ceiling != (int32_t)r->fail_ceiling
		   || ul->db_count != (uint32_t)r->fail_count
		   || ul->row_inull != r->int_null;
}

/* RFC 3261 10.2: the new line of a row sends nothing while the line it
 * replaced has a REGISTER without a final reply (whose reply cannot reach
 * the new line): it waits for that request's timeout. Under the lock. */
static void udb_follow(
		const str *uuid, const struct line_sm *old, const struct line_env *env)
{
	struct uline *nl = ustore_find(uuid);
	int st, fc;

	if(nl == NULL)
		return;
	uacreg_inflight_update();
	st = nl->sm.state;
	fc = nl->sm.fail_class;
	ustore_apply(nl, st, fc, line_follow(&nl->sm, old, env));
}

/* one row of a reload, under the lock */
static void udb_reload_row(const struct row *r, uint64_t db_id,
		struct udb_reload_result *res, const struct line_env *env)
{
	const char *why = NULL;
	struct socket_info *sock = NULL;
	struct uline *ul;
	str uuid;
	uint64_t fp;
	struct line_sm gone; /* a line replaced: its REGISTER may be in flight */
	int replaced = 0;

	if(row_validate(r, &why) == 0)
		sock = udb_socket(&r->s[ROW_SOCKET], &why);
	if(why) {
		if(udb_keep_invalid(r, why, res, env) < 0)
			udb_note_skip(res, r, why);
		return;
	}
	uuid.s = (char *)r->s[ROW_L_UUID].s;
	uuid.len = (int)r->s[ROW_L_UUID].len;
	ul = ustore_find(&uuid);
	if(ul && ul->reload_epoch == ustore->reload_epoch) {
		udb_note_skip(res, r, "l_uuid appears twice");
		return;
	}
	if(ul && ul->sm.state == LINE_REMOVED && !ul->stale
			&& ul_ceiling_owed(ul)) {
		/* removed while the ceiling's route or write is owed: that flow
		 * finishes (and deletes the row) before the row may come back, so
		 * the route never runs twice for one failure */
		ul->reload_epoch = ustore->reload_epoch;
		res->unchanged++;
		return;
	}
	if(ul && !ul->stale
			&& (ul->sm.state == LINE_REMOVED || ul->sm.stopping == LINE_REMOVED
					|| (ul->sm.state == LINE_UNREGISTERING
							&& ul->sm.after_unregister == LINE_REMOVED))) {
		/* the line of a row deleted (or removed by RPC) before, still on
		 * its way out: the row is here, so it starts over as a new line
		 * instead of being freed with the old one */
		gone = ul->sm;
		replaced = 1;
		ustore_drop(ul);
		ul = NULL;
	}
	if(ul == NULL) {
		if(udb_add_line(r, db_id, sock, env,
				   udb_start_delay(r->reg_delay, env->rnd), NULL)
				== 0) {
			res->added++;
			if(replaced)
				udb_follow(&uuid, &gone, env);
		}
		return;
	}
	if(ul->row_invalid_why) {
		LM_NOTICE(
				"uacreg row l_uuid=[%.*s] is valid again\n", uuid.len, uuid.s);
		ul->row_invalid_why = NULL;
		ul->row_invalid_since = 0;
	}
	/* At its ceiling the line stands for the row it failed with: an
	 * admin's change to any column (flags, fail_ceiling, ...) wins and the
	 * line starts anew, instead of the change being applied to it and the
	 * ceiling's write then matching the changed row */
	if((ul->sm.state == LINE_CEILING || ul_ceiling_owed(ul))
			&& (udb_settings_differ(ul, r) || db_id != ul->db_id))
		ul->stale = 1;
	fp = row_reg_fingerprint(r);
	if(fp != ul->fingerprint || ul->stale) {
		/* The admin changed what the REGISTER says, or changed the row
		 * (or put a new row: a new id) while its ceiling was pending:
		 * register anew, with the count reset (the admin fixed
		 * something) */
		struct row fresh = *r;
		int had_count = r->fail_count != 0;
		int adopt = udb_same_target(ul, r);
		fresh.fail_count = 0;
		ustore_take_out(ul);
		if(udb_add_line(&fresh, db_id, sock, env, 0, adopt ? ul : NULL) == 0) {
			res->changed++;
			udb_follow(&uuid, &ul->sm, env);
			struct uline *nl = ustore_find(&uuid);
			if(nl) {
				/* the column still holds the old count until the
				 * write of 0 */
				nl->db_count = (uint32_t)r->fail_count;
				if(had_count)
					ustore_pend(nl, UL_P_PERSIST);
			}
		}
		/* taken out already: only the freeing is left (a ceiling flow
		 * running for it finds it gone and writes nothing) */
		ul->in_ceiling = 0;
		if(ul->pending)
			ul->pending = UL_P_FREE;
		else
			ul_free(ul);
		return;
	}
	ul->reload_epoch = ustore->reload_epoch;
	ul->sock = sock;
	if(udb_update_line(ul, r, db_id, env))
		res->updated++;
	else
		res->unchanged++;
}

/* a line already on its way out (deleted before, or removed by RPC) */
static int udb_leaving(const struct uline *ul)
{
	return ul->sm.state == LINE_REMOVED || ul->sm.stopping == LINE_REMOVED
		   || (ul->sm.state == LINE_UNREGISTERING
				   && ul->sm.after_unregister == LINE_REMOVED);
}

/* 1 when removing n of the loaded lines is more than the guard lets a
 * reload do by itself: a table emptied for a moment (a re-import that
 * deletes then inserts, a replica back empty, the wrong database after a
 * failover) must not unregister every customer's line at once */
static int udb_guard_holds(uint32_t n, uint32_t loaded)
{
	if(uacreg_reload_guard <= 0 || n == 0 || loaded == 0)
		return 0;
	return n == loaded
		   || (uint64_t)n * 100 > (uint64_t)loaded * uacreg_reload_guard;
}

/* Lines the reload did not see: unregister and forget (under the lock),
 * unless there are so many that the guard holds them (res->held). */
static void udb_sweep(
		struct udb_reload_result *res, const struct line_env *env, int force)
{
	uint32_t id;
	struct uline *ul;
	int old_state, old_fc;

	for(id = table_next(&ustore->table, 0); id != TABLE_NO_ID;
			id = table_next(&ustore->table, id + 1)) {
		ul = table_get(&ustore->table, id);
		if(udb_leaving(ul))
			continue;
		res->lines++;
		if(ul->reload_epoch != ustore->reload_epoch)
			res->would_remove++;
	}
	/* the share is of the lines there were before this reload */
	res->lines = res->lines > res->added ? res->lines - res->added : 0;
	if(!force && udb_guard_holds(res->would_remove, res->lines)) {
		res->held = 1;
		return;
	}
	for(id = table_next(&ustore->table, 0); id != TABLE_NO_ID;
			id = table_next(&ustore->table, id + 1)) {
		ul = table_get(&ustore->table, id);
		if(ul->reload_epoch == ustore->reload_epoch || udb_leaving(ul))
			continue;
		old_state = ul->sm.state;
		old_fc = ul->sm.fail_class;
		ustore_apply(ul, old_state, old_fc, line_remove(&ul->sm, env));
		res->removed++;
	}
}

/* Which of our columns the table has, from its own column list (a query
 * that returns no row). 1 all three, 0 none; -1 the query failed or only
 * some are there: the caller then changes nothing. */
static int udb_probe_columns(void)
{
	char buf[256];
	str q;
	db1_res_t *res = NULL;
	const char *tq;
	int i, c, found = 0, n;

	if(!DB_CAPABILITY(udb_dbf, DB_CAP_RAW_QUERY))
		return udb_has_ext; /* no way to ask: as configured */
	tq = CON_TQUOTESZ(udb_con);
	n = snprintf(buf, sizeof(buf), "SELECT * FROM %s%.*s%s WHERE 1=0", tq,
			uacreg_db_table.len, uacreg_db_table.s, tq);
	if(n < 0 || n >= (int)sizeof(buf))
		return -1;
	q.s = buf;
	q.len = n;
	if(udb_dbf.raw_query(udb_con, &q, &res) < 0 || res == NULL) {
		if(res)
			udb_dbf.free_result(udb_con, res);
		return -1;
	}
	for(i = 0; i < RES_COL_N(res); i++) {
		for(c = UDB_C_STOCK_COUNT; c < UDB_C_COUNT; c++) {
			str *want = &udb_col_names[c];
			if(RES_NAMES(res)[i]->len == want->len
					&& strncasecmp(RES_NAMES(res)[i]->s, want->s, want->len)
							   == 0)
				found |= 1 << (c - UDB_C_STOCK_COUNT);
		}
	}
	udb_dbf.free_result(udb_con, res);
	if(found == (1 << (UDB_C_COUNT - UDB_C_STOCK_COUNT)) - 1)
		return 1;
	if(found == 0)
		return 0;
	LM_ERR("table %.*s has only some of the columns reauth_new_dialog, "
		   "fail_ceiling, fail_count: not loaded (run "
		   "sql/migrate-from-uac.sql)\n",
			uacreg_db_table.len, uacreg_db_table.s);
	return -1;
}

static int udb_query_all(db1_res_t **res, int *ncols)
{
	db_key_t cols[UDB_C_COUNT];
	int i, n, rc, ext;

	for(i = 0; i < UDB_C_COUNT; i++)
		cols[i] = &udb_col_names[i];
	ext = udb_probe_columns();
	if(ext < 0)
		return -1;
	if(ext != udb_has_ext) {
		if(ext)
			LM_NOTICE("table %.*s has the columns reauth_new_dialog, "
					  "fail_ceiling, fail_count: using them\n",
					uacreg_db_table.len, uacreg_db_table.s);
		else
			LM_WARN("table %.*s has no reauth_new_dialog, fail_ceiling, "
					"fail_count columns: using the module parameters; "
					"run sql/migrate-from-uac.sql to get them\n",
					uacreg_db_table.len, uacreg_db_table.s);
	}
	n = ext ? UDB_C_COUNT : UDB_C_STOCK_COUNT;
	*res = NULL;
	if(DB_CAPABILITY(udb_dbf, DB_CAP_FETCH)) {
		rc = udb_dbf.query(udb_con, 0, 0, 0, cols, 0, n, 0, 0);
		if(rc == 0)
			rc = udb_dbf.fetch_result(udb_con, res, UDB_FETCH_ROWS);
	} else {
		rc = udb_dbf.query(udb_con, 0, 0, 0, cols, 0, n, 0, res);
	}
	if(rc != 0)
		return -1;
	/* learnt only with rows read under it: a failed query changes nothing */
	udb_has_ext = ext;
	*ncols = n;
	return 0;
}

/* The first load waits for the database, retried every second by the
 * uacreg process: one ERROR when it starts failing, one NOTICE when it
 * answers, nothing in between. Later reloads fail one at a time (an
 * operator's RPC, reload_interval), and each says so. */
static void udb_note_unreadable(void)
{
	int loaded, first;

	ustore_lock();
	loaded = ustore->table_loaded;
	first = ustore->unreadable_since == 0;
	if(first)
		ustore->unreadable_since = ul_now();
	ustore_unlock();
	if(loaded)
		LM_ERR("cannot read table %.*s: nothing changed, every line keeps "
			   "running as it was\n",
				uacreg_db_table.len, uacreg_db_table.s);
	else if(first)
		LM_ERR("cannot read table %.*s: 0 lines loaded; retrying every %d "
			   "ms until the database answers\n",
				uacreg_db_table.len, uacreg_db_table.s, UDB_LOAD_RETRY_MS);
}

static void udb_note_readable(void)
{
	uint64_t since;
	int loaded;

	ustore_lock();
	since = ustore->unreadable_since;
	loaded = ustore->table_loaded;
	ustore->unreadable_since = 0;
	ustore->table_loaded = 1;
	ustore_unlock();
	if(since)
		LM_NOTICE("table %.*s readable again after %llu ms%s\n",
				uacreg_db_table.len, uacreg_db_table.s,
				(unsigned long long)(ul_now() - since),
				loaded ? "" : ": loading the lines");
}

int udb_reload(struct udb_reload_result *res, int force)
{
	db1_res_t *dbres = NULL;
	struct line_env env;
	struct row r;
	uint64_t db_id;
	int ncols = 0, i, rc = -1;

	memset(res, 0, sizeof(*res));
	lock_get(udb_reload_lock);
	if(udb_use_table() < 0 || udb_query_all(&dbres, &ncols) < 0) {
		udb_note_unreadable();
		goto done;
	}
	udb_note_readable();
	ustore_lock();
	ustore->reload_epoch++;
	ustore_unlock();
	for(;;) {
		/* one chunk under the lock at a time, so replies keep flowing */
		ustore_lock();
		env = ul_env();
		for(i = 0; i < RES_ROW_N(dbres); i++) {
			db_id = udb_to_row(&RES_ROWS(dbres)[i], ncols, &r);
			env.rnd = (uint32_t)kam_rand();
			udb_reload_row(&r, db_id, res, &env);
		}
		ustore_unlock();
		if(!DB_CAPABILITY(udb_dbf, DB_CAP_FETCH))
			break;
		if(udb_dbf.fetch_result(udb_con, &dbres, UDB_FETCH_ROWS) < 0) {
			LM_ERR("reading table %.*s failed midway: rows read so far "
				   "applied, no line removed\n",
					uacreg_db_table.len, uacreg_db_table.s);
			rc = -2;
			goto done;
		}
		if(RES_ROW_N(dbres) == 0)
			break;
	}
	ustore_lock();
	env = ul_env();
	udb_sweep(res, &env, force);
	if(res->held)
		ustore_note_reload_held(res->would_remove, res->lines);
	ustore_unlock();
	rc = 0;
	if(res->held) {
		counter_inc(uacreg_cnt_reloads_held);
		LM_ERR("uacreg reload held: it would remove %u of %u lines (more "
			   "than reload_guard %d%%%s): no line removed, every line runs "
			   "on; %u added, %u changed, %u updated applied. If the rows "
			   "are really gone: kamcmd uacreg.reload force\n",
				res->would_remove, res->lines, uacreg_reload_guard,
				res->would_remove == res->lines ? ", every line" : "",
				res->added, res->changed, res->updated);
	} else {
		LM_INFO("uacreg reload%s: %u unchanged, %u added, %u changed, %u "
				"updated, %u removed, %u skipped\n",
				force ? " (forced)" : "", res->unchanged, res->added,
				res->changed, res->updated, res->removed, res->skipped);
	}
done:
	if(dbres)
		udb_dbf.free_result(udb_con, dbres);
	lock_release(udb_reload_lock);
	return rc;
}

int udb_reload_one(const str *l_uuid)
{
	db_key_t cols[UDB_C_COUNT];
	db_key_t key = &udb_col_names[ROW_L_UUID];
	db_val_t kval;
	db1_res_t *dbres = NULL;
	struct udb_reload_result *res;
	struct line_env env;
	struct row r;
	uint64_t db_id;
	int i, rc = -1, ncols;

	res = pkg_malloc(sizeof(*res));
	if(res == NULL)
		return -1;
	memset(res, 0, sizeof(*res));
	for(i = 0; i < UDB_C_COUNT; i++)
		cols[i] = &udb_col_names[i];
	memset(&kval, 0, sizeof(kval));
	VAL_TYPE(&kval) = DB1_STR;
	VAL_STR(&kval) = *l_uuid;
	lock_get(udb_reload_lock);
	ncols = udb_has_ext ? UDB_C_COUNT : UDB_C_STOCK_COUNT;
	if(udb_use_table() < 0
			|| udb_dbf.query(udb_con, &key, 0, &kval, cols, 1, ncols, 0, &dbres)
					   < 0
			|| dbres == NULL)
		goto done;
	if(RES_ROW_N(dbres) == 0) {
		rc = 0;
		goto done;
	}
	ustore_lock();
	/* a reload of one row: its own epoch, so the row is not taken for a
	 * second one of the last reload; no sweep follows */
	ustore->reload_epoch++;
	env = ul_env();
	env.rnd = (uint32_t)kam_rand();
	db_id = udb_to_row(&RES_ROWS(dbres)[0], ncols, &r);
	udb_reload_row(&r, db_id, res, &env);
	ustore_unlock();
	if(res->unchanged || res->updated
			|| (res->skipped && res->skipped_rows[0].line_kept))
		rc = 2;
	else if(res->added || res->changed)
		rc = 1;
	else
		rc = -2;
done:
	if(dbres)
		udb_dbf.free_result(udb_con, dbres);
	lock_release(udb_reload_lock);
	pkg_free(res);
	return rc;
}

int udb_write_count(uint64_t db_id, const str *l_uuid, uint32_t count)
{
	db_key_t keys[2] = {&udb_col_names[UDB_C_ID], &udb_col_names[ROW_L_UUID]};
	db_key_t col = &udb_col_names[UDB_C_FAIL_COUNT];
	db_val_t kvals[2], val;

	if(!udb_has_ext)
		return 0;
	/* by id too: a new row with the same l_uuid (REPLACE INTO) is not the
	 * one that failed, and starts from its own count */
	memset(kvals, 0, sizeof(kvals));
	memset(&val, 0, sizeof(val));
	VAL_TYPE(&kvals[0]) = DB1_BIGINT;
	VAL_BIGINT(&kvals[0]) = (long long)db_id;
	VAL_TYPE(&kvals[1]) = DB1_STR;
	VAL_STR(&kvals[1]) = *l_uuid;
	VAL_TYPE(&val) = DB1_INT;
	VAL_INT(&val) = (int)count;
	if(udb_use_table() < 0
			|| udb_dbf.update(udb_con, keys, 0, kvals, &col, &val, 2, 1) < 0)
		return -1;
	return 0;
}

void udb_loaded_fill(struct udb_loaded *ld, const struct uline *ul)
{
	char *p = ld->data;
	str v;
	int f;

	memset(ld, 0, offsetof(struct udb_loaded, data));
	ld->db_id = ul->db_id;
	for(f = 0; f < ROW_STR_COUNT; f++) {
		v = ul_str(ul, f);
		ld->s[f].s = (ul->snull & (1u << f)) ? NULL : p;
		ld->s[f].len = v.len;
		if(v.len)
			memcpy(p, v.s, v.len);
		p += v.len;
	}
	ld->expires = ul->row_expires;
	ld->flags = ul->row_flags;
	ld->reg_delay = ul->reg_delay;
	ld->dialog = ul->row_dialog_mode;
	ld->ceiling = ul->sm.fail_ceiling;
	ld->fail_count = ul->db_count;
	ld->inull = ul->row_inull;
}

/* one condition of the ceiling's write: column = loaded value, NULL-safe
 * (IS NULL for a NULL), strings compared byte for byte */
static void udb_cond_str(
		db_op_t *op, db_val_t *v, const struct udb_loaded *ld, int f)
{
	memset(v, 0, sizeof(*v));
	VAL_TYPE(v) = DB1_STR;
	if(ld->s[f].s == NULL) {
		VAL_NULL(v) = 1;
		*op = " IS ";
		return;
	}
	VAL_STR(v) = ld->s[f];
	*op = udb_is_mysql ? "=BINARY " : OP_EQ;
}

static void udb_cond_int(db_op_t *op, db_val_t *v, int64_t val, int is_null)
{
	memset(v, 0, sizeof(*v));
	VAL_TYPE(v) = DB1_BIGINT;
	if(is_null) {
		VAL_NULL(v) = 1;
		*op = " IS ";
		return;
	}
	VAL_BIGINT(v) = (long long)val;
	*op = OP_EQ;
}

int udb_ceiling_write(const struct udb_loaded *ld, int keep)
{
	db_key_t keys[UDB_C_COUNT];
	db_op_t ops[UDB_C_COUNT];
	db_val_t vals[UDB_C_COUNT];
	db_key_t fcol = &udb_col_names[UDB_C_FLAGS];
	db_val_t fval;
	int n = 0, f, rc;

	/* The row exactly as it was loaded, every column, in the statement
	 * that deletes or disables it: an admin's change made at any moment
	 * before (a password, flags, fail_ceiling, fail_count, a new row)
	 * makes it change nothing. */
	keys[n] = &udb_col_names[UDB_C_ID];
	udb_cond_int(&ops[n], &vals[n], (int64_t)ld->db_id, 0);
	n++;
	for(f = 0; f < ROW_STR_COUNT; f++, n++) {
		keys[n] = &udb_col_names[f];
		udb_cond_str(&ops[n], &vals[n], ld, f);
	}
	keys[n] = &udb_col_names[UDB_C_EXPIRES];
	udb_cond_int(&ops[n], &vals[n], ld->expires, 0);
	n++;
	keys[n] = &udb_col_names[UDB_C_FLAGS];
	udb_cond_int(&ops[n], &vals[n], ld->flags, ld->inull & ROW_N_FLAGS);
	n++;
	keys[n] = &udb_col_names[UDB_C_REG_DELAY];
	udb_cond_int(&ops[n], &vals[n], ld->reg_delay, ld->inull & ROW_N_REG_DELAY);
	n++;
	if(udb_has_ext) {
		keys[n] = &udb_col_names[UDB_C_DIALOG];
		udb_cond_int(&ops[n], &vals[n], ld->dialog, ld->inull & ROW_N_DIALOG);
		n++;
		keys[n] = &udb_col_names[UDB_C_CEILING];
		udb_cond_int(&ops[n], &vals[n], ld->ceiling, ld->inull & ROW_N_CEILING);
		n++;
		keys[n] = &udb_col_names[UDB_C_FAIL_COUNT];
		udb_cond_int(&ops[n], &vals[n], ld->fail_count,
				ld->inull & ROW_N_FAIL_COUNT);
		n++;
	}
	if(udb_use_table() < 0)
		return -1;
	if(keep) {
		memset(&fval, 0, sizeof(fval));
		VAL_TYPE(&fval) = DB1_INT;
		VAL_INT(&fval) = (int)(ld->flags | ROW_FLAG_DISABLED);
		rc = udb_dbf.update(udb_con, keys, ops, vals, &fcol, &fval, n, 1);
	} else {
		rc = udb_dbf.delete(udb_con, keys, ops, vals, n);
	}
	if(rc < 0)
		return -1;
	rc = udb_dbf.affected_rows(udb_con);
	if(rc < 0)
		return -1;
	return rc > 0 ? 1 : 0;
}
