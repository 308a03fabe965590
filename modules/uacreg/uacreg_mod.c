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
 * uacreg - SIP registrations to carriers from the uacreg table, with a new
 * dialog on re-authentication where a carrier needs it, and a failure
 * ceiling that stops lines that only attack the carrier.
 *
 * This file holds the module's exports, the lines' parameters, the counters
 * and start-up; each other concern has its own file, which defines the
 * parameters it uses (store, db, reload, send, worker, ceiling, rpc, script)
 * around the pure state machine in line.c.
 *
 * The walk, one file a line. A row, from SQL to the REGISTER:
 *   uacreg_worker.c   uworker_tick: first load, or reload_interval is due
 *   uacreg_reload.c   ureload_all: what each row does (add, change, update,
 *                     remove), within reload_guard
 *   uacreg_db.c       udb_select, udb_cursor_row: the query, a struct row
 *   row.c             row_validate: columns and SIP grammar
 *   uacreg_store.c    ul_new, ustore_add: the line in shm, table and queue
 *   line.c            line_init: NEW, due after reg_delay and the spread
 *   uacreg_worker.c   (a later tick) uworker_send_due: ustore_due_next,
 *                     the shm reserve, ustore_pace
 *   carrier.c         carrier_may_send: one probe while a carrier refuses all
 *   line.c            line_on_due: dialog, credentials, CSeq
 *   uacreg_send.c     usend_register: dlg_t and headers, t_request_within
 *   digest.c          digest_build_authorization, for a kept challenge
 * A reply, to the ceiling's DELETE:
 *   uacreg_send.c     usend_reply_cb (a SIP worker, under the lock)
 *   digest.c          digest_parse_challenge, for a 401/407
 *   line.c            line_on_reply: state, class, fail_count, LINE_R_* bits
 *   uacreg_store.c    ustore_carrier_outcome, then ustore_apply: counters,
 *                     queue, pending work (UL_P_PERSIST, UL_P_CEILING), events
 *   carrier.c         carrier_on_outcome (from the store): a carrier that
 *                     refuses everyone holds the count
 *   uacreg_worker.c   (the uacreg process's tick) uworker_pending: the
 *                     line's snapshot (usnap, udb_loaded), lock released
 *   uacreg_ceiling.c  uceiling_run: fail_count write, route, row write
 *   uacreg_db.c       udb_write_count; udb_ceiling_write: DELETE (or disable)
 *                     WHERE every loaded column is unchanged
 *   uacreg_script.c   uscript_run_ceiling: event_route[uacreg:ceiling] or KEMI
 *   uacreg_store.c    ustore_drop: the line leaves the table
 * Files seen twice are the tick (the queue between them is data, not a
 * call), the state machine (one event each time) and the store (it holds
 * the line at every step); uacreg_ceiling.c calls db for both its writes.
 */
#include "../../core/sr_module.h"
#include "../../core/dprint.h"
#include "../../core/timer_proc.h"
#include "../../core/mod_fix.h"
#include "../../core/kemi.h"
#include "../../core/globals.h"
#include "uacreg_store.h"
#include "uacreg_db.h"
#include "uacreg_reload.h"
#include "uacreg_rpc.h"
#include "uacreg_script.h"
#include "uacreg_worker.h"
#include "uacreg_send.h"
#include "uacreg_ceiling.h"
#include "uacreg_ha.h"

MODULE_VERSION

/* the lines' settings: built into uacreg_cfg (uacreg_store.h) */
static int uacreg_hash_size = 1 << 14;
static int uacreg_retry_min = 30;
static int uacreg_retry_max = 3600;
static int uacreg_retry_jitter = 20;
static int uacreg_fail_ceiling = 10;
static str uacreg_fail_classes = str_init("bad_auth,forbidden,not_found");
static int uacreg_reauth_new_dialog = 0;
static int uacreg_reuse_nonce = 1;
static int uacreg_refresh_margin = 10;
static int uacreg_min_expires_max = 86400;

static int mod_init(void);
static int child_init(int rank);
static void mod_destroy(void);

/* gauges: read from the store, so they always equal uacreg.summary */
static counter_val_t ucnt_state(counter_handle_t h, void *state)
{
	counter_val_t v;
	(void)h;
	ustore_lock();
	v = ustore->state_count[(long)state];
	ustore_unlock();
	return v;
}
static counter_val_t ucnt_lines(counter_handle_t h, void *unused)
{
	counter_val_t v;
	(void)h;
	(void)unused;
	ustore_lock();
	v = ustore->table.count;
	ustore_unlock();
	return v;
}
static counter_val_t ucnt_failing(counter_handle_t h, void *unused)
{
	counter_val_t v;
	(void)h;
	(void)unused;
	ustore_lock();
	v = ustore->state_count[LINE_RETRY_WAIT]
		+ ustore->state_count[LINE_CEILING];
	ustore_unlock();
	return v;
}

/* clang-format off */
static counter_def_t ucnt_defs[] = {
	{0, "lines", 0, ucnt_lines, 0, "lines in memory"},
	{0, "registered", 0, ucnt_state, (void *)(long)LINE_REGISTERED,
		"lines registered"},
	{0, "failing", 0, ucnt_failing, 0,
		"lines waiting to retry or stopped at the ceiling"},
	{0, "disabled", 0, ucnt_state, (void *)(long)LINE_DISABLED,
		"lines disabled"},
	{&uacreg_cnt_sent, "requests_sent", 0, 0, 0, "REGISTER requests sent"},
	{&uacreg_cnt_challenges, "auth_challenges", 0, 0, 0,
		"401/407 challenges answered"},
	{&uacreg_cnt_new_dialog_learnt, "new_dialog_learnt", 0, 0, 0,
		"mode 2 lines that learnt they need a new dialog"},
	{&uacreg_cnt_ceiling, "ceiling_removals", 0, 0, 0,
		"lines deleted by the failure ceiling"},
	{&uacreg_cnt_shm_pauses, "shm_pauses", 0, 0, 0,
		"times sending paused: shared memory below the reserve"},
	{&uacreg_cnt_reloads_held, "reloads_held", 0, 0, 0,
		"reloads whose removals reload_guard held"},
	{&uacreg_cnt_carrier_refusals, "carrier_refusals", 0, 0, 0,
		"times a carrier started refusing every line"},
	{&uacreg_cnt_carrier_outages, "carrier_outages", 0, 0, 0,
		"times a carrier stopped answering every line"},
	{&uacreg_cnt_takeovers, "takeovers", 0, 0, 0,
		"HA: lines claimed that another node owned before"},
	{&uacreg_cnt_leases_lost, "leases_lost", 0, 0, 0,
		"HA: lines this node lost to another"},
	{&uacreg_cnt_fenced, "fenced", 0, 0, 0,
		"HA: times this node stopped sending for want of a lease"},
	{0, 0, 0, 0, 0, 0}
};
/* clang-format on */

/* fail_classes: a comma separated list of class names */
static int uacreg_parse_classes(str *list, uint32_t *bits)
{
	ur_str_t name;
	int i = 0, start, c;

	*bits = 0;
	while(i < list->len) {
		while(i < list->len && (list->s[i] == ' ' || list->s[i] == ','))
			i++;
		start = i;
		while(i < list->len && list->s[i] != ',' && list->s[i] != ' ')
			i++;
		if(i == start)
			break;
		name.s = list->s + start;
		name.len = i - start;
		c = line_fail_class_parse(name);
		if(c <= 0) {
			LM_ERR("fail_classes: unknown class [%.*s]\n", (int)name.len,
					name.s);
			return -1;
		}
		if(c == LINE_FC_LOCAL) {
			LM_ERR("fail_classes: [local] is a failure of this server "
				   "(memory, tm), never of the row: it cannot count\n");
			return -1;
		}
		*bits |= LINE_FC_BIT(c);
	}
	return 0;
}

/* bound of retry_min and retry_max, seconds */
#define UACREG_RETRY_MAX_CAP 86400

static int uacreg_check_params(void)
{
	if(uacreg_reauth_new_dialog < 0 || uacreg_reauth_new_dialog > 2) {
		LM_ERR("reauth_new_dialog must be 0, 1 or 2\n");
		return -1;
	}
	if(uacreg_retry_min < 1 || uacreg_retry_max < uacreg_retry_min) {
		LM_ERR("need 1 <= retry_min <= retry_max\n");
		return -1;
	}
	/* kept in milliseconds in 32 bits; a day is more backoff than any
	 * carrier outage deserves */
	if(uacreg_retry_max > UACREG_RETRY_MAX_CAP) {
		LM_ERR("retry_max %d is more than %d seconds (one day)\n",
				uacreg_retry_max, UACREG_RETRY_MAX_CAP);
		return -1;
	}
	if(uacreg_fail_ceiling < 0 || uacreg_rate < 0 || uacreg_start_spread < 0
			|| uacreg_reload_interval < 0 || uacreg_reload_guard < 0
			|| uacreg_reload_guard > 100 || uacreg_retry_jitter < 0
			|| uacreg_retry_jitter > 100 || uacreg_shm_reserve < 0
			|| uacreg_shm_reserve > 90 || uacreg_refresh_margin < 1
			|| uacreg_refresh_margin > 50 || uacreg_carrier_window < 0
			|| uacreg_carrier_window > 86400 || uacreg_carrier_min_lines < 2
			|| uacreg_carrier_share < 1 || uacreg_carrier_share > 100
			|| uacreg_carrier_probe_max < 1) {
		LM_ERR("a numeric parameter is out of range (see the README)\n");
		return -1;
	}
	if(uacreg_min_expires_max < 1) {
		LM_ERR("min_expires_max must be at least 1 (seconds)\n");
		return -1;
	}
	if(uacreg_default_contact.len <= 0) {
		LM_ERR("default_contact is not set (used for rows without "
			   "contact_addr)\n");
		return -1;
	}
	memset(&uacreg_cfg, 0, sizeof(uacreg_cfg));
	uacreg_cfg.retry_min_ms = (uint32_t)uacreg_retry_min * 1000;
	uacreg_cfg.retry_max_ms = (uint32_t)uacreg_retry_max * 1000;
	uacreg_cfg.jitter_pct = (uint32_t)uacreg_retry_jitter;
	uacreg_cfg.retry_after_max_ms = 24 * 3600 * 1000;
	uacreg_cfg.refresh_margin_pct = (uint32_t)uacreg_refresh_margin;
	uacreg_cfg.refresh_margin_min_ms = 2000;
	uacreg_cfg.refresh_margin_max_ms = 60000;
	uacreg_cfg.fail_ceiling = (uint32_t)uacreg_fail_ceiling;
	uacreg_cfg.reauth_new_dialog = uacreg_reauth_new_dialog;
	uacreg_cfg.reuse_nonce = uacreg_reuse_nonce != 0;
	uacreg_cfg.max_423 = 3;
	uacreg_cfg.min_expires_max = (uint32_t)uacreg_min_expires_max;
	/* RFC 3261 Timer F (64*T1) until tm's own fr_timer is known */
	uacreg_cfg.inflight_max_ms = 32000;
	memset(&uacreg_ccfg, 0, sizeof(uacreg_ccfg));
	uacreg_ccfg.window_ms = (uint32_t)uacreg_carrier_window * 1000;
	uacreg_ccfg.min_lines = (uint32_t)uacreg_carrier_min_lines;
	uacreg_ccfg.share_pct = (uint32_t)uacreg_carrier_share;
	/* tm gives up on a REGISTER after fr_timer (30 s by default): a probe
	 * whose reply never came (its line was removed) frees the turn */
	uacreg_ccfg.probe_lost_ms = 64000;
	uacreg_ccfg.probe_max_ms = (uint32_t)uacreg_carrier_probe_max * 1000;
	return uacreg_parse_classes(
			&uacreg_fail_classes, &uacreg_cfg.count_classes);
}

static int mod_init(void)
{
	uint32_t burst, start_burst;

	if(uacreg_check_params() < 0)
		return -1;
	if(usend_init() < 0)
		return -1;
	if(udb_init() < 0 || ureload_init() < 0)
		return -1;
	if(uha_init() < 0)
		return -1;
	uworker_init();
	/* Planned refreshes (line_due_is_planned_refresh) get a second's worth:
	 * the refreshes planned for one second leave in one batch
	 * (LINE_REFRESH_GRID_MS) and their replies reach the SIP workers
	 * together. Every other REGISTER (first registrations, retries,
	 * unregisters, refreshes made due at once) also needs a token of a
	 * tenth of it: a cold start's thousands of first REGISTERs reach the
	 * carrier in steps, not all in one instant. A refill of rate a second
	 * keeps the average of both. */
	burst = uacreg_rate > 0 ? (uint32_t)uacreg_rate : 1;
	start_burst = burst / 10 ? burst / 10 : 1;
	if(ustore_init((uint32_t)uacreg_hash_size, (uint32_t)uacreg_rate, burst,
			   start_burst)
			< 0)
		return -1;
	if(counter_register_array("uacreg", ucnt_defs) < 0) {
		LM_ERR("cannot register the counters\n");
		return -1;
	}
	if(uscript_init() < 0)
		return -1;
	register_basic_timers(1);
	return 0;
}

static int child_init(int rank)
{
	if(rank == PROC_MAIN && uworker_start() < 0) {
		LM_ERR("cannot start the uacreg process\n");
		return -1;
	}
	return uha_child_init(rank);
}

static void mod_destroy(void)
{
	uworker_shutdown();
	uha_shutdown();
	udb_close();
	ustore_destroy();
}

/* clang-format off */
static param_export_t params[] = {
	{"db_url",             PARAM_STR, &uacreg_db_url},
	{"db_table",           PARAM_STR, &uacreg_db_table},
	{"default_contact",    PARAM_STR, &uacreg_default_contact},
	{"default_socket",     PARAM_STR, &uacreg_default_socket},
	{"hash_size",          PARAM_INT, &uacreg_hash_size},
	{"rate",               PARAM_INT, &uacreg_rate},
	{"start_spread",       PARAM_INT, &uacreg_start_spread},
	{"shm_reserve",        PARAM_INT, &uacreg_shm_reserve},
	{"retry_min",          PARAM_INT, &uacreg_retry_min},
	{"retry_max",          PARAM_INT, &uacreg_retry_max},
	{"retry_jitter",       PARAM_INT, &uacreg_retry_jitter},
	{"refresh_margin",     PARAM_INT, &uacreg_refresh_margin},
	{"min_expires_max",    PARAM_INT, &uacreg_min_expires_max},
	{"reuse_nonce",        PARAM_INT, &uacreg_reuse_nonce},
	{"reauth_new_dialog",  PARAM_INT, &uacreg_reauth_new_dialog},
	{"fail_ceiling",       PARAM_INT, &uacreg_fail_ceiling},
	{"fail_classes",       PARAM_STR, &uacreg_fail_classes},
	{"ceiling_route",      PARAM_STR, &uacreg_ceiling_route},
	{"state_route",        PARAM_STR, &uacreg_state_route},
	{"carrier_route",      PARAM_STR, &uacreg_carrier_route},
	{"carrier_window",     PARAM_INT, &uacreg_carrier_window},
	{"carrier_min_lines",  PARAM_INT, &uacreg_carrier_min_lines},
	{"carrier_share",      PARAM_INT, &uacreg_carrier_share},
	{"carrier_probe_max",  PARAM_INT, &uacreg_carrier_probe_max},
	{"event_callback",     PARAM_STR, &uacreg_event_callback},
	{"reload_interval",    PARAM_INT, &uacreg_reload_interval},
	{"reload_guard",       PARAM_INT, &uacreg_reload_guard},
	{"unregister_on_shutdown", PARAM_INT, &uacreg_unregister_on_shutdown},
	{"ha_mode",            PARAM_STR, &uacreg_ha_mode_param},
	{"node_id",            PARAM_STR, &uacreg_node_id},
	{"node_priority",      PARAM_INT, &uacreg_node_priority},
	{"lease_ttl",          PARAM_INT, &uacreg_lease_ttl},
	{"ha_interval_ms",     PARAM_INT, &uacreg_ha_interval_ms},
	{"node_table",         PARAM_STR, &uacreg_node_table},
	{"owner_table",        PARAM_STR, &uacreg_owner_table},
	{"auth_realm_avp",     PARAM_STR, &uacreg_auth_realm_avp},
	{"auth_username_avp",  PARAM_STR, &uacreg_auth_username_avp},
	{"auth_password_avp",  PARAM_STR, &uacreg_auth_password_avp},
	{0, 0, 0}
};

struct module_exports exports = {
	"uacreg",        /* module name */
	DEFAULT_DLFLAGS, /* dlopen flags */
	uscript_cmds,    /* exported functions */
	params,          /* exported parameters */
	urpc_cmds,       /* RPC methods */
	uscript_pvs,     /* pseudo-variables */
	0,               /* response handling function */
	mod_init,        /* module init function */
	child_init,      /* per-child init function */
	mod_destroy      /* module destroy function */
};
/* clang-format on */

int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	(void)path;
	(void)dlflags;
	(void)p1;
	(void)p2;
	return uscript_kemi_register();
}
