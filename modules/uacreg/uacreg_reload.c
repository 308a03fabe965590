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
 * uacreg - reload policy (see uacreg_reload.h): what a row read from the
 * table does to the lines in the store - added, changed (registers anew),
 * updated in place, kept as last loaded when it turned invalid - and which
 * lines a reload removes, within reload_guard.
 */
#include <stddef.h>
#include <time.h>

#include "../../core/dprint.h"
#include "../../core/ut.h"
#include "../../core/socket_info.h"
#include "../../core/rand/kam_rand.h"
#include "../../core/mem/mem.h"
#include "uacreg_db.h"
#include "uacreg_reload.h"
#include "uacreg_ha.h"
#include "uacreg_send.h"

/* the uacreg process retries the first load this often (uacreg_worker.c) */
#define URELOAD_RETRY_MS 1000

/* modparams: seconds over which a restart spreads the first REGISTERs,
 * and the percent of the loaded lines a reload may remove unforced (0 = no
 * guard) */
int uacreg_start_spread = 10;
int uacreg_reload_guard = 50;

counter_handle_t uacreg_cnt_reloads_held;

/* reloads from the RPC and the uacreg process never interleave */
static gen_lock_t *ureload_lock = NULL;

int ureload_init(void)
{
	ureload_lock = lock_alloc();
	if(ureload_lock == NULL || lock_init(ureload_lock) == NULL) {
		LM_ERR("cannot create the reload lock\n");
		return -1;
	}
	return 0;
}

/* The socket column names a socket Kamailio listens on; NULL and *why set
 * when it does not. */
static struct socket_info *ureload_socket(
		const ur_str_t *sock, const char **why)
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

static void ureload_note_skip(
		struct ureload_result *res, const struct row *r, const char *why)
{
	struct ureload_skipped *sk;
	size_t n = r->s[ROW_L_UUID].len;

	res->skipped++;
	LM_ERR("uacreg row l_uuid=[%.*s] skipped: %s\n", (int)(n > 64 ? 64 : n),
			r->s[ROW_L_UUID].s ? r->s[ROW_L_UUID].s : "", why);
	if(res->nskipped >= URELOAD_SKIPPED_REPORT)
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
static uint64_t ureload_start_delay(int64_t reg_delay, uint32_t rnd)
{
	uint64_t d = (uint64_t)reg_delay * 1000;
	if(uacreg_start_spread > 0)
		d += rnd % ((uint64_t)uacreg_start_spread * 1000);
	return d;
}

/* A fresh line from a row, added to the store (under the lock). With prev,
 * a line whose credentials changed, it takes over prev's dialog and nonce. */
static int ureload_add_line(const struct row *r, uint64_t db_id,
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
	ustore_apply(ul, bits);
	return 0;
}

/* Applies fields that do not shape the REGISTER: no send, except that a
 * change of the disabled flag disables or enables the line. */
static int ureload_update_line(struct uline *ul, const struct row *r,
		uint64_t db_id, const struct line_env *env)
{
	int changed = 0;
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
		changed = 1;
	}
	if(ul->sm.reauth_new_dialog != r->reauth_new_dialog) {
		ul->sm.reauth_new_dialog = (int8_t)r->reauth_new_dialog;
		/* a new setting is a new decision: auto detection starts over */
		ul->sm.new_dialog_learnt = 0;
		changed = 1;
	}
	ustore_apply(ul, bits);
	return changed;
}

/* 1 when a changed row still registers the same AOR and Contact at the
 * same carrier, through the same proxy and socket: only its credentials or
 * expires changed, so its dialog and nonce stay good */
static int ureload_same_target(const struct uline *ul, const struct row *r)
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

/* a line already on its way out (deleted before, or removed by RPC) */
static int ureload_leaving(const struct uline *ul)
{
	return ul->sm.state == LINE_REMOVED || ul->sm.stopping == LINE_REMOVED
		   || (ul->sm.state == LINE_UNREGISTERING
				   && ul->sm.after_unregister == LINE_REMOVED);
}

/* A row that no longer validates, for a line that runs: the admin's typo
 * (expires=-5, a bad domain) must not take a working line down. The line
 * runs on exactly as last loaded and says why in uacreg.info; only flags
 * bit 0 of such a row is heeded (disable), as only a DELETE or flags=1 ever
 * unregister. 0 when a line was kept, -1 when there is none. */
static int ureload_keep_invalid(const struct row *r, const char *why,
		struct ureload_result *res, const struct line_env *env)
{
	struct uline *ul;
	str uuid;

	if(r->s[ROW_L_UUID].len == 0 || r->s[ROW_L_UUID].len > ROW_MAX_STR)
		return -1;
	uuid.s = (char *)r->s[ROW_L_UUID].s;
	uuid.len = (int)r->s[ROW_L_UUID].len;
	ul = ustore_find(&uuid);
	if(ul == NULL || ul->reload_epoch == ustore->reload_epoch
			|| ureload_leaving(ul))
		return -1;
	ul->reload_epoch = ustore->reload_epoch;
	if(ul_invalid_why(ul) != why) {
		if(ul_invalid_why(ul) == NULL)
			ul->row_invalid_since = (uint32_t)time(NULL);
		ul_set_invalid_why(ul, why);
		LM_WARN("uacreg row l_uuid=[%.*s] is invalid (%s): its line runs on "
				"as last loaded until the row is fixed, deleted or "
				"disabled\n",
				uuid.len, uuid.s, why);
	}
	if((r->flags & ROW_FLAG_DISABLED) && r->flags <= UINT32_MAX
			&& !(ul->row_flags & ROW_FLAG_DISABLED)) {
		ul->row_flags |= ROW_FLAG_DISABLED;
		ustore_apply(ul, line_disable(&ul->sm, env));
	}
	res->skipped++;
	if(res->nskipped < URELOAD_SKIPPED_REPORT) {
		struct ureload_skipped *sk = &res->skipped_rows[res->nskipped++];
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
static int ureload_settings_differ(const struct uline *ul, const struct row *r)
{
	return ul->row_flags != (uint32_t)r->flags
		   || ul->reg_delay != (uint32_t)r->reg_delay
		   || ul->sm.reauth_new_dialog != (int8_t)r->reauth_new_dialog
		   || ul->sm.fail_ceiling != (int32_t)r->fail_ceiling
		   || ul->db_count != (uint32_t)r->fail_count
		   || ul->row_inull != r->int_null;
}

/* RFC 3261 10.2: the new line of a row sends nothing while the line it
 * replaced has a REGISTER without a final reply (whose reply cannot reach
 * the new line): it waits for that request's timeout. Under the lock. */
static void ureload_follow(
		const str *uuid, const struct line_sm *old, const struct line_env *env)
{
	struct uline *nl = ustore_find(uuid);

	if(nl == NULL)
		return;
	uacreg_inflight_update();
	ustore_apply(nl, line_follow(&nl->sm, old, env));
}

/* HA: a line that replaces another of the same l_uuid is owned as that
 * one was (the owner table did not change). Under the lock. */
static void ureload_keep_owner(const str *uuid, uint8_t owner, uint32_t epoch)
{
	struct uline *nl = ustore_find(uuid);

	if(nl == NULL)
		return;
	nl->ha_owner = owner;
	nl->ha_epoch = epoch;
}

/* one row of a reload, under the lock */
static void ureload_row(const struct row *r, uint64_t db_id,
		struct ureload_result *res, const struct line_env *env)
{
	const char *why = NULL;
	struct socket_info *sock = NULL;
	struct uline *ul;
	str uuid;
	uint64_t fp;
	struct line_sm gone; /* a line replaced: its REGISTER may be in flight */
	uint8_t gone_owner = 0;
	uint32_t gone_epoch = 0;
	int replaced = 0;

	if(row_validate(r, &why) == 0)
		sock = ureload_socket(&r->s[ROW_SOCKET], &why);
	if(why) {
		if(ureload_keep_invalid(r, why, res, env) < 0)
			ureload_note_skip(res, r, why);
		return;
	}
	uuid.s = (char *)r->s[ROW_L_UUID].s;
	uuid.len = (int)r->s[ROW_L_UUID].len;
	ul = ustore_find(&uuid);
	if(ul && ul->reload_epoch == ustore->reload_epoch) {
		ureload_note_skip(res, r, "l_uuid appears twice");
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
	if(ul && !ul->stale && ureload_leaving(ul)) {
		/* the line of a row deleted (or removed by RPC) before, still on
		 * its way out: the row is here, so it starts over as a new line
		 * instead of being freed with the old one */
		gone = ul->sm;
		gone_owner = ul->ha_owner;
		gone_epoch = ul->ha_epoch;
		replaced = 1;
		ustore_drop(ul);
		ul = NULL;
	}
	if(ul == NULL) {
		if(ureload_add_line(r, db_id, sock, env,
				   ureload_start_delay(r->reg_delay, env->rnd), NULL)
				== 0) {
			res->added++;
			if(replaced) {
				ureload_follow(&uuid, &gone, env);
				ureload_keep_owner(&uuid, gone_owner, gone_epoch);
			}
		}
		return;
	}
	if(ul_invalid_why(ul)) {
		LM_NOTICE(
				"uacreg row l_uuid=[%.*s] is valid again\n", uuid.len, uuid.s);
		ul_set_invalid_why(ul, NULL);
		ul->row_invalid_since = 0;
	}
	/* At its ceiling the line stands for the row it failed with: an
	 * admin's change to any column (flags, fail_ceiling, ...) wins and the
	 * line starts anew, instead of the change being applied to it and the
	 * ceiling's write then matching the changed row */
	if((ul->sm.state == LINE_CEILING || ul_ceiling_owed(ul))
			&& (ureload_settings_differ(ul, r) || db_id != ul->db_id))
		ul->stale = 1;
	fp = row_reg_fingerprint(r);
	if(fp != ul->fingerprint || ul->stale) {
		/* The admin changed what the REGISTER says, or changed the row
		 * (or put a new row: a new id) while its ceiling was pending:
		 * register anew, with the count reset (the admin fixed
		 * something) */
		struct row fresh = *r;
		int had_count = r->fail_count != 0;
		int adopt = ureload_same_target(ul, r);
		fresh.fail_count = 0;
		ustore_take_out(ul);
		if(ureload_add_line(&fresh, db_id, sock, env, 0, adopt ? ul : NULL)
				== 0) {
			res->changed++;
			ureload_follow(&uuid, &ul->sm, env);
			ureload_keep_owner(&uuid, ul->ha_owner, ul->ha_epoch);
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
	if(ureload_update_line(ul, r, db_id, env))
		res->updated++;
	else
		res->unchanged++;
}

/* 1 when removing n of the loaded lines is more than the guard lets a
 * reload do by itself: a table emptied for a moment (a re-import that
 * deletes then inserts, a replica back empty, the wrong database after a
 * failover) must not unregister every customer's line at once */
static int ureload_guard_holds(uint32_t n, uint32_t loaded)
{
	if(uacreg_reload_guard <= 0 || n == 0 || loaded == 0)
		return 0;
	return n == loaded
		   || (uint64_t)n * 100 > (uint64_t)loaded * uacreg_reload_guard;
}

/* Lines the reload did not see: unregister and forget (under the lock),
 * unless there are so many that the guard holds them (res->held). */
/* a line of the sweep's count: the lines there are, and those the reload
 * did not see */
static int ureload_count_one(struct uline *ul, void *arg)
{
	struct ureload_result *res = arg;

	if(ureload_leaving(ul))
		return 0;
	res->lines++;
	if(ul->reload_epoch != ustore->reload_epoch)
		res->would_remove++;
	return 0;
}

struct ureload_sweep_arg
{
	struct ureload_result *res;
	const struct line_env *env;
};

static int ureload_remove_one(struct uline *ul, void *arg)
{
	struct ureload_sweep_arg *a = arg;

	if(ul->reload_epoch == ustore->reload_epoch || ureload_leaving(ul))
		return 0;
	ustore_apply(ul, line_remove(&ul->sm, a->env));
	a->res->removed++;
	return 0;
}

static void ureload_sweep(
		struct ureload_result *res, const struct line_env *env, int force)
{
	struct ureload_sweep_arg a = {res, env};

	ustore_foreach(ureload_count_one, res);
	/* the share is of the lines there were before this reload */
	res->lines = res->lines > res->added ? res->lines - res->added : 0;
	if(!force && ureload_guard_holds(res->would_remove, res->lines)) {
		res->held = 1;
		return;
	}
	ustore_foreach(ureload_remove_one, &a);
}

/* The first load waits for the database, retried every second by the
 * uacreg process: one ERROR when it starts failing, one NOTICE when it
 * answers, nothing in between. Later reloads fail one at a time (an
 * operator's RPC, reload_interval), and each says so. */
static void ureload_note_unreadable(void)
{
	int loaded, first;

	ustore_lock();
	loaded = ustore->table_loaded;
	first = ustore->unreadable_since == 0;
	if(first)
		ustore->unreadable_since = uclock_now();
	ustore_unlock();
	if(loaded)
		LM_ERR("cannot read table %.*s: nothing changed, every line keeps "
			   "running as it was\n",
				uacreg_db_table.len, uacreg_db_table.s);
	else if(first)
		LM_ERR("cannot read table %.*s: 0 lines loaded; retrying every %d "
			   "ms until the database answers\n",
				uacreg_db_table.len, uacreg_db_table.s, URELOAD_RETRY_MS);
}

static void ureload_note_readable(void)
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
				(unsigned long long)(uclock_now() - since),
				loaded ? "" : ": loading the lines");
}

int ureload_all(struct ureload_result *res, int force)
{
	struct udb_cursor cur;
	struct line_env env;
	struct row r;
	uint64_t db_id;
	int more, rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&cur, 0, sizeof(cur));
	lock_get(ureload_lock);
	if(udb_select(&cur, NULL) < 0) {
		ureload_note_unreadable();
		goto done;
	}
	ureload_note_readable();
	ustore_lock();
	ustore->reload_epoch++;
	ustore_unlock();
	for(;;) {
		/* one chunk under the lock at a time, so replies keep flowing */
		ustore_lock();
		env = ustore_env();
		while(udb_cursor_row(&cur, &r, &db_id) > 0) {
			env.rnd = (uint32_t)kam_rand();
			ureload_row(&r, db_id, res, &env);
		}
		ustore_unlock();
		more = udb_cursor_more(&cur);
		if(more < 0) {
			LM_ERR("reading table %.*s failed midway: rows read so far "
				   "applied, no line removed\n",
					uacreg_db_table.len, uacreg_db_table.s);
			rc = -2;
			goto done;
		}
		if(more == 0)
			break;
	}
	ustore_lock();
	env = ustore_env();
	ureload_sweep(res, &env, force);
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
	udb_cursor_close(&cur);
	lock_release(ureload_lock);
	return rc;
}

int ureload_one(const str *l_uuid)
{
	struct udb_cursor cur;
	struct ureload_result *res;
	struct line_env env;
	struct row r;
	uint64_t db_id;
	int rc = -1;

	res = pkg_malloc(sizeof(*res));
	if(res == NULL)
		return -1;
	memset(res, 0, sizeof(*res));
	memset(&cur, 0, sizeof(cur));
	lock_get(ureload_lock);
	if(udb_select(&cur, l_uuid) < 0)
		goto done;
	if(udb_cursor_row(&cur, &r, &db_id) == 0) {
		rc = 0;
		goto done;
	}
	ustore_lock();
	/* a reload of one row: its own epoch, so the row is not taken for a
	 * second one of the last reload; no sweep follows */
	ustore->reload_epoch++;
	env = ustore_env();
	env.rnd = (uint32_t)kam_rand();
	ureload_row(&r, db_id, res, &env);
	ustore_unlock();
	if(res->unchanged || res->updated
			|| (res->skipped && res->skipped_rows[0].line_kept))
		rc = 2;
	else if(res->added || res->changed)
		rc = 1;
	else
		rc = -2;
done:
	udb_cursor_close(&cur);
	lock_release(ureload_lock);
	pkg_free(res);
	return rc;
}

int ureload_claim(const str *l_uuid, uint32_t epoch, int at_once)
{
	struct udb_cursor cur;
	struct line_env env;
	struct row r;
	struct uline *ul, *nl;
	struct socket_info *sock = NULL;
	const char *why = NULL;
	uint64_t db_id;
	int rc = -1;

	memset(&cur, 0, sizeof(cur));
	lock_get(ureload_lock);
	if(udb_select(&cur, l_uuid) < 0)
		goto done;
	rc = 0;
	if(udb_cursor_row(&cur, &r, &db_id) == 0)
		goto done;
	if(row_validate(&r, &why) == 0)
		sock = ureload_socket(&r.s[ROW_SOCKET], &why);
	ustore_lock();
	env = ustore_env();
	env.rnd = (uint32_t)kam_rand();
	ul = ustore_find(l_uuid);
	if(why || ul == NULL || ureload_leaving(ul)
			|| (ul->sm.state == LINE_CEILING && ul_ceiling_owed(ul))) {
		/* an invalid row, a line not loaded yet or on its way out, or a
		 * ceiling flow of this node still running for it: owned as it
		 * is, the next reload or round sees to the rest */
		if(ul) {
			ul->ha_owner = UHA_SELF;
			ul->ha_epoch = epoch;
			ustore_apply(ul, line_refresh(&ul->sm, &env));
		}
		ustore_unlock();
		rc = ul ? 1 : 0;
		goto done;
	}
	/* The line starts anew from the row as SQL has it now: the previous
	 * owner's failures are in its fail_count (carried over, not reset, not
	 * doubled). A line taken over registers at once; a first claim (a new
	 * row, a start of the cluster) or this node's own line after its
	 * restart waits its reg_delay and start_spread, as at a start. */
	ustore_take_out(ul);
	if(ureload_add_line(&r, db_id, sock, &env,
			   at_once ? 0 : ureload_start_delay(r.reg_delay, env.rnd), NULL)
			== 0) {
		ureload_follow(l_uuid, &ul->sm, &env);
		nl = ustore_find(l_uuid);
		if(nl) {
			nl->ha_owner = UHA_SELF;
			nl->ha_epoch = epoch;
			rc = 1;
		}
	}
	ul->in_ceiling = 0;
	if(ul->pending)
		ul->pending = UL_P_FREE;
	else
		ul_free(ul);
	ustore_unlock();
done:
	udb_cursor_close(&cur);
	lock_release(ureload_lock);
	return rc;
}
