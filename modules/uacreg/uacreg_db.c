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
 * uacreg - the uacreg table in SQL (see uacreg_db.h): the connection, the
 * column list, rows read into struct row, and the writes the lines owe.
 * What a reload does with the rows it reads is uacreg_reload.c's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../core/dprint.h"
#include "../../core/ut.h"
#include "../../core/mem/shm_mem.h"
#include "../../lib/srdb1/db.h"
#include "uacreg_db.h"
#include "uacreg_ha.h"

#define UDB_FETCH_ROWS 1000

/* modparams db_url, db_table */
str uacreg_db_url = str_init("mysql://kamailio:kamailiorw@localhost/kamailio");
str uacreg_db_table = str_init("uacreg");

enum
{
	UDB_C_ID = ROW_STR_COUNT,
	UDB_C_EXPIRES,
	UDB_C_FLAGS,
	UDB_C_REG_DELAY,
	UDB_C_STOCK_COUNT, /* a stock uac table has the columns up to here */
	UDB_C_REAUTH_NEW_DIALOG = UDB_C_STOCK_COUNT,
	UDB_C_CEILING,
	UDB_C_FAIL_COUNT,
	UDB_C_COUNT
};
/* columns in the order of struct row's strings (named by row_str_name(),
 * filled in by udb_init()), then the integers */
static str udb_col_names[UDB_C_COUNT] = {
		[UDB_C_ID] = str_init("id"),
		[UDB_C_EXPIRES] = str_init("expires"),
		[UDB_C_FLAGS] = str_init("flags"),
		[UDB_C_REG_DELAY] = str_init("reg_delay"),
		/* ours, added by sql/migrate-from-uac.sql */
		[UDB_C_REAUTH_NEW_DIALOG] = str_init("reauth_new_dialog"),
		[UDB_C_CEILING] = str_init("fail_ceiling"),
		[UDB_C_FAIL_COUNT] = str_init("fail_count"),
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

int udb_init(void)
{
	int f;

	for(f = 0; f < ROW_STR_COUNT; f++) {
		udb_col_names[f].s = (char *)row_str_name(f);
		udb_col_names[f].len = strlen(udb_col_names[f].s);
	}
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
		r->reauth_new_dialog =
				udb_val_int(&v[UDB_C_REAUTH_NEW_DIALOG], -1, NULL);
		r->fail_ceiling = udb_val_int(&v[UDB_C_CEILING], -1, NULL);
		r->fail_count = udb_val_int(&v[UDB_C_FAIL_COUNT], 0, NULL);
		if(VAL_NULL(&v[UDB_C_REAUTH_NEW_DIALOG]))
			r->int_null |= ROW_N_REAUTH_NEW_DIALOG;
		if(VAL_NULL(&v[UDB_C_CEILING]))
			r->int_null |= ROW_N_CEILING;
		if(VAL_NULL(&v[UDB_C_FAIL_COUNT]))
			r->int_null |= ROW_N_FAIL_COUNT;
	}
	return (uint64_t)udb_val_int(&v[UDB_C_ID], 0, NULL);
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

int udb_select(struct udb_cursor *c, const str *l_uuid)
{
	db_key_t cols[UDB_C_COUNT];
	db_key_t key = &udb_col_names[ROW_L_UUID];
	db_val_t kval;
	db1_res_t *res = NULL;
	int i;

	memset(c, 0, sizeof(*c));
	if(udb_use_table() < 0)
		return -1;
	if(l_uuid == NULL) {
		if(udb_query_all(&res, &c->ncols) < 0) {
			if(res)
				udb_dbf.free_result(udb_con, res);
			return -1;
		}
		c->res = res;
		c->chunked = DB_CAPABILITY(udb_dbf, DB_CAP_FETCH) ? 1 : 0;
		return 0;
	}
	for(i = 0; i < UDB_C_COUNT; i++)
		cols[i] = &udb_col_names[i];
	memset(&kval, 0, sizeof(kval));
	VAL_TYPE(&kval) = DB1_STR;
	VAL_STR(&kval) = *l_uuid;
	c->ncols = udb_has_ext ? UDB_C_COUNT : UDB_C_STOCK_COUNT;
	if(udb_dbf.query(udb_con, &key, 0, &kval, cols, 1, c->ncols, 0, &res) < 0
			|| res == NULL) {
		if(res)
			udb_dbf.free_result(udb_con, res);
		return -1;
	}
	c->res = res;
	return 0;
}

int udb_cursor_row(struct udb_cursor *c, struct row *r, uint64_t *db_id)
{
	db1_res_t *res = c->res;

	if(res == NULL || c->next >= RES_ROW_N(res))
		return 0;
	*db_id = udb_to_row(&RES_ROWS(res)[c->next++], c->ncols, r);
	return 1;
}

int udb_cursor_more(struct udb_cursor *c)
{
	db1_res_t *res = c->res;

	if(!c->chunked)
		return 0;
	c->next = 0;
	if(udb_dbf.fetch_result(udb_con, &res, UDB_FETCH_ROWS) < 0) {
		c->res = res;
		return -1;
	}
	c->res = res;
	return RES_ROW_N(res) == 0 ? 0 : 1;
}

void udb_cursor_close(struct udb_cursor *c)
{
	if(c->res)
		udb_dbf.free_result(udb_con, c->res);
	c->res = NULL;
}

/* UPDATE col = value WHERE keys ops vals (n conditions): the one integer
 * write, for fail_count and for the ceiling's disable; the rc of the DB
 * API's update */
static int udb_update_int(
		db_key_t *keys, db_op_t *ops, db_val_t *vals, int n, int col, int value)
{
	db_key_t ucol = &udb_col_names[col];
	db_val_t uval;

	memset(&uval, 0, sizeof(uval));
	VAL_TYPE(&uval) = DB1_INT;
	VAL_INT(&uval) = value;
	if(udb_use_table() < 0)
		return -1;
	return udb_dbf.update(udb_con, keys, ops, vals, &ucol, &uval, n, 1);
}

int udb_write_count(uint64_t db_id, const str *l_uuid, uint32_t count)
{
	db_key_t keys[2] = {&udb_col_names[UDB_C_ID], &udb_col_names[ROW_L_UUID]};
	db_val_t kvals[2];

	if(!udb_has_ext)
		return 0;
	/* by id too: a new row with the same l_uuid (REPLACE INTO) is not the
	 * one that failed, and starts from its own count */
	memset(kvals, 0, sizeof(kvals));
	VAL_TYPE(&kvals[0]) = DB1_BIGINT;
	VAL_BIGINT(&kvals[0]) = (long long)db_id;
	VAL_TYPE(&kvals[1]) = DB1_STR;
	VAL_STR(&kvals[1]) = *l_uuid;
	if(udb_update_int(keys, 0, kvals, 2, UDB_C_FAIL_COUNT, (int)count) < 0)
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
	ld->reauth_new_dialog = ul->sm.reauth_new_dialog;
	ld->ceiling = ul->sm.fail_ceiling;
	ld->fail_count = ul->db_count;
	ld->inull = ul->row_inull;
	ld->ha_owned = ul->ha_owner == UHA_SELF;
	ld->ha_epoch = ul->ha_epoch;
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

static int udb_ha_ceiling_write(const struct udb_loaded *ld, int keep,
		db_key_t *keys, db_op_t *ops, db_val_t *vals, int n);

int udb_ceiling_write(const struct udb_loaded *ld, int keep)
{
	db_key_t keys[UDB_C_COUNT];
	db_op_t ops[UDB_C_COUNT];
	db_val_t vals[UDB_C_COUNT];
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
		keys[n] = &udb_col_names[UDB_C_REAUTH_NEW_DIALOG];
		udb_cond_int(&ops[n], &vals[n], ld->reauth_new_dialog,
				ld->inull & ROW_N_REAUTH_NEW_DIALOG);
		n++;
		keys[n] = &udb_col_names[UDB_C_CEILING];
		udb_cond_int(&ops[n], &vals[n], ld->ceiling, ld->inull & ROW_N_CEILING);
		n++;
		keys[n] = &udb_col_names[UDB_C_FAIL_COUNT];
		udb_cond_int(&ops[n], &vals[n], ld->fail_count,
				ld->inull & ROW_N_FAIL_COUNT);
		n++;
	}
	if(uacreg_ha_mode != HA_OFF)
		return udb_ha_ceiling_write(ld, keep, keys, ops, vals, n);
	if(keep) {
		rc = udb_update_int(keys, ops, vals, n, UDB_C_FLAGS,
				(int)(ld->flags | ROW_FLAG_DISABLED));
	} else {
		if(udb_use_table() < 0)
			return -1;
		rc = udb_dbf.delete(udb_con, keys, ops, vals, n);
	}
	if(rc < 0)
		return -1;
	rc = udb_dbf.affected_rows(udb_con);
	if(rc < 0)
		return -1;
	return rc > 0 ? 1 : 0;
}

/* --- HA statements (uacreg_ha.c; only with ha_mode on) ---
 *
 * The text of these statements holds table names (modparams), this node's
 * node_id (checked by ha_node_id_valid: no quote, no space) and integers,
 * never a value from a row: a line is named by its row's integer `id`,
 * joined to the owner table by l_uuid inside the statement. */

#define UDB_HA_SQL_MAX 1024

/* formats and runs one HA statement; res NULL: a statement that returns
 * no rows. 0, or -1 (too long, no connection, the query failed) */
static int udb_ha_run(db1_res_t **res, const char *fmt, va_list ap)
{
	char buf[UDB_HA_SQL_MAX];
	str q;
	int n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if(n < 0 || n >= (int)sizeof(buf)) {
		LM_ERR("HA statement too long\n");
		return -1;
	}
	if(udb_connect() < 0)
		return -1;
	q.s = buf;
	q.len = n;
	return udb_dbf.raw_query(udb_con, &q, res) < 0 ? -1 : 0;
}

/* a statement that returns no rows: the rows it changed, or -1 */
static int udb_ha_exec(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = udb_ha_run(NULL, fmt, ap);
	va_end(ap);
	return rc < 0 ? -1 : udb_dbf.affected_rows(udb_con);
}

/* a statement that returns rows; the caller frees *res (udb_ha_free) */
static int udb_ha_select(db1_res_t **res, const char *fmt, ...)
{
	va_list ap;
	int rc;

	*res = NULL;
	va_start(ap, fmt);
	rc = udb_ha_run(res, fmt, ap);
	va_end(ap);
	if(rc < 0 || *res == NULL) {
		if(*res)
			udb_dbf.free_result(udb_con, *res);
		*res = NULL;
		return -1;
	}
	return 0;
}

#define UDB_T(x) (x).len, (x).s
#define UDB_NODE UDB_T(uacreg_node_id)

int udb_ha_renew(int first)
{
	/* the lease is the database's clock: NOW(3) on the server, for every
	 * node alike */
	return udb_ha_exec(
				   "INSERT INTO `%.*s` (node_id, priority, ha_mode, "
				   "lease_until, started) VALUES ('%.*s', %d, '%s', NOW(3) + "
				   "INTERVAL %d SECOND, NOW(3)) ON DUPLICATE KEY UPDATE "
				   "priority = VALUES(priority), ha_mode = VALUES(ha_mode), "
				   "lease_until = VALUES(lease_until)%s",
				   UDB_T(uacreg_node_table), UDB_NODE, uacreg_node_priority,
				   ha_mode_name(uacreg_ha_mode), uacreg_lease_ttl,
				   first ? ", started = VALUES(started)" : "")
						   < 0
				   ? -1
				   : 0;
}

int udb_ha_end_lease(void)
{
	return udb_ha_exec("UPDATE `%.*s` SET lease_until = NOW(3) WHERE "
					   "node_id = '%.*s'",
			UDB_T(uacreg_node_table), UDB_NODE);
}

int udb_ha_nodes(struct uha_node_info *nodes, int max)
{
	db1_res_t *res;
	db_val_t *v;
	ur_str_t s;
	int i, n = 0;

	if(udb_ha_select(&res,
			   "SELECT node_id, priority, ha_mode, lease_until > NOW(3), "
			   "TIMESTAMPDIFF(MICROSECOND, NOW(3), lease_until) DIV 1000 "
			   "FROM `%.*s` ORDER BY node_id",
			   UDB_T(uacreg_node_table))
			< 0)
		return -1;
	for(i = 0; i < RES_ROW_N(res) && n < max; i++) {
		v = ROW_VALUES(&RES_ROWS(res)[i]);
		udb_val_str(&v[0], &s);
		if(s.len == 0 || s.len > HA_NODE_ID_MAX)
			continue;
		memset(&nodes[n], 0, sizeof(nodes[n]));
		memcpy(nodes[n].id, s.s, s.len);
		nodes[n].priority = (int)udb_val_int(&v[1], 100, NULL);
		udb_val_str(&v[2], &s);
		if(s.len >= sizeof(nodes[n].mode))
			s.len = sizeof(nodes[n].mode) - 1;
		if(s.len)
			memcpy(nodes[n].mode, s.s, s.len);
		nodes[n].alive = udb_val_int(&v[3], 0, NULL) != 0;
		nodes[n].lease_left_ms = udb_val_int(&v[4], 0, NULL);
		n++;
	}
	udb_dbf.free_result(udb_con, res);
	return n;
}

int udb_ha_owner_select(struct udb_cursor *c)
{
	static str cn[3] = {
			str_init("l_uuid"), str_init("node_id"), str_init("epoch")};
	db_key_t cols[3] = {&cn[0], &cn[1], &cn[2]};
	db1_res_t *res = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	if(udb_connect() < 0)
		return -1;
	if(udb_dbf.use_table(udb_con, &uacreg_owner_table) < 0)
		return -1;
	if(DB_CAPABILITY(udb_dbf, DB_CAP_FETCH)) {
		rc = udb_dbf.query(udb_con, 0, 0, 0, cols, 0, 3, 0, 0);
		if(rc == 0)
			rc = udb_dbf.fetch_result(udb_con, &res, UDB_FETCH_ROWS);
		c->chunked = 1;
	} else {
		rc = udb_dbf.query(udb_con, 0, 0, 0, cols, 0, 3, 0, &res);
	}
	if(rc != 0 || res == NULL) {
		if(res)
			udb_dbf.free_result(udb_con, res);
		return -1;
	}
	c->res = res;
	c->ncols = 3;
	return 0;
}

int udb_ha_owner_row(
		struct udb_cursor *c, ur_str_t *l_uuid, ur_str_t *node, uint64_t *epoch)
{
	db_val_t *v;

	if(c->res == NULL || c->next >= RES_ROW_N(c->res))
		return 0;
	v = ROW_VALUES(&RES_ROWS(c->res)[c->next++]);
	udb_val_str(&v[0], l_uuid);
	udb_val_str(&v[1], node);
	*epoch = (uint64_t)udb_val_int(&v[2], 0, NULL);
	return 1;
}

int udb_ha_insert_missing(void)
{
	/* unowned rows for the lines that have none; claims follow */
	return udb_ha_exec(
			"INSERT IGNORE INTO `%.*s` (l_uuid, node_id, epoch) SELECT "
			"u.l_uuid, NULL, 0 FROM `%.*s` u LEFT JOIN `%.*s` o ON o.l_uuid "
			"= u.l_uuid WHERE o.l_uuid IS NULL AND u.l_uuid <> ''",
			UDB_T(uacreg_owner_table), UDB_T(uacreg_db_table),
			UDB_T(uacreg_owner_table));
}

int udb_ha_cleanup(void)
{
	return udb_ha_exec("DELETE o FROM `%.*s` o LEFT JOIN `%.*s` u ON u.l_uuid "
					   "= o.l_uuid WHERE u.l_uuid IS NULL",
			UDB_T(uacreg_owner_table), UDB_T(uacreg_db_table));
}

int udb_ha_claim(uint64_t db_id, uint64_t epoch)
{
	/* compare-and-set: the epoch this node read, and no live owner -
	 * checked by the statement itself, so two nodes never both win (on
	 * Galera the loser fails certification) */
	return udb_ha_exec(
			"UPDATE `%.*s` o JOIN `%.*s` u ON u.l_uuid = o.l_uuid SET "
			"o.node_id = '%.*s', o.epoch = %llu, o.claimed_at = NOW(3) WHERE "
			"u.id = %llu AND o.epoch = %llu AND (o.node_id IS NULL OR NOT "
			"EXISTS (SELECT 1 FROM `%.*s` n WHERE n.node_id = o.node_id AND "
			"n.lease_until > NOW(3)))",
			UDB_T(uacreg_owner_table), UDB_T(uacreg_db_table), UDB_NODE,
			(unsigned long long)epoch + 1, (unsigned long long)db_id,
			(unsigned long long)epoch, UDB_T(uacreg_node_table));
}

int udb_ha_release(uint64_t db_id, uint64_t epoch)
{
	return udb_ha_exec(
			"UPDATE `%.*s` o JOIN `%.*s` u ON u.l_uuid = o.l_uuid SET "
			"o.node_id = NULL WHERE u.id = %llu AND o.node_id = '%.*s' AND "
			"o.epoch = %llu",
			UDB_T(uacreg_owner_table), UDB_T(uacreg_db_table),
			(unsigned long long)db_id, UDB_NODE, (unsigned long long)epoch);
}

int udb_ha_release_all(void)
{
	return udb_ha_exec("UPDATE `%.*s` SET node_id = NULL WHERE node_id = "
					   "'%.*s'",
			UDB_T(uacreg_owner_table), UDB_NODE);
}

/* the owner condition of a line's row u, as this node holds it */
#define UDB_OWNED_BY_US                                                       \
	"EXISTS (SELECT 1 FROM `%.*s` o WHERE o.l_uuid = u.l_uuid AND o.node_id " \
	"= '%.*s' AND o.epoch = %llu)"

int udb_ha_write_count(uint64_t db_id, uint32_t count, uint64_t epoch)
{
	if(!udb_has_ext)
		return 1;
	return udb_ha_exec("UPDATE `%.*s` u SET u.fail_count = %u WHERE u.id = "
					   "%llu AND " UDB_OWNED_BY_US,
			UDB_T(uacreg_db_table), count, (unsigned long long)db_id,
			UDB_T(uacreg_owner_table), UDB_NODE, (unsigned long long)epoch);
}

int udb_ha_owns(uint64_t db_id, uint64_t epoch)
{
	db1_res_t *res;
	int n;

	if(udb_ha_select(&res,
			   "SELECT COUNT(*) FROM `%.*s` u WHERE u.id = %llu AND "
			   "" UDB_OWNED_BY_US,
			   UDB_T(uacreg_db_table), (unsigned long long)db_id,
			   UDB_T(uacreg_owner_table), UDB_NODE, (unsigned long long)epoch)
			< 0)
		return -1;
	n = RES_ROW_N(res) > 0
				? (int)udb_val_int(ROW_VALUES(&RES_ROWS(res)[0]), 0, NULL)
				: 0;
	udb_dbf.free_result(udb_con, res);
	return n > 0 ? 1 : 0;
}

/* The ceiling's write in HA mode: one transaction that first takes the
 * line's owner row as this node holds it (node and epoch) - deletes it with
 * the row, or locks it for the disable - then writes the row as ever. A
 * node that lost the line writes nothing (2); on Galera the owner row in
 * the write set makes a concurrent claim and this write conflict, so only
 * one of them commits. */
static int udb_ha_ceiling_write(const struct udb_loaded *ld, int keep,
		db_key_t *keys, db_op_t *ops, db_val_t *vals, int n)
{
	db1_res_t *res = NULL;
	int rc, own;

	if(!ld->ha_owned)
		return 2;
	if(udb_connect() < 0)
		return -1;
	if(udb_dbf.start_transaction == NULL
			|| udb_dbf.start_transaction(udb_con, DB_LOCKING_NONE) < 0)
		return -1;
	if(keep) {
		own = -1;
		if(udb_ha_select(&res,
				   "SELECT COUNT(*) FROM `%.*s` u WHERE u.id = %llu AND "
				   "" UDB_OWNED_BY_US " FOR UPDATE",
				   UDB_T(uacreg_db_table), (unsigned long long)ld->db_id,
				   UDB_T(uacreg_owner_table), UDB_NODE,
				   (unsigned long long)ld->ha_epoch)
				== 0) {
			own = RES_ROW_N(res) > 0 ? (int)udb_val_int(
						  ROW_VALUES(&RES_ROWS(res)[0]), 0, NULL)
									 : 0;
			udb_dbf.free_result(udb_con, res);
		}
	} else {
		own = udb_ha_exec("DELETE o FROM `%.*s` o JOIN `%.*s` u ON u.l_uuid "
						  "= o.l_uuid WHERE u.id = %llu AND o.node_id = "
						  "'%.*s' AND o.epoch = %llu",
				UDB_T(uacreg_owner_table), UDB_T(uacreg_db_table),
				(unsigned long long)ld->db_id, UDB_NODE,
				(unsigned long long)ld->ha_epoch);
	}
	if(own <= 0) {
		udb_dbf.abort_transaction(udb_con);
		return own < 0 ? -1 : 2;
	}
	if(keep) {
		rc = udb_update_int(keys, ops, vals, n, UDB_C_FLAGS,
				(int)(ld->flags | ROW_FLAG_DISABLED));
	} else {
		rc = udb_use_table();
		if(rc == 0)
			rc = udb_dbf.delete(udb_con, keys, ops, vals, n);
	}
	if(rc >= 0)
		rc = udb_dbf.affected_rows(udb_con);
	if(rc <= 0) {
		/* the row changed (0), or an error: the owner row stays too */
		udb_dbf.abort_transaction(udb_con);
		return rc < 0 ? -1 : 0;
	}
	if(udb_dbf.end_transaction(udb_con) < 0)
		return -1;
	return 1;
}
