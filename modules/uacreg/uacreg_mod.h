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
 * uacreg - module parameters and the pieces of glue that other glue files
 * call.
 */
#ifndef UACREG_MOD_H
#define UACREG_MOD_H

#include "../../core/str.h"
#include "../../core/counters.h"
#include "../../modules/tm/tm_load.h"
#include "line.h"

/* module parameters */
extern str uacreg_db_url;
extern str uacreg_db_table;
extern str uacreg_default_contact; /* contact_addr for rows without one */
extern str uacreg_default_socket;
extern int uacreg_rate;			/* REGISTERs per second */
extern int uacreg_start_spread; /* seconds, random start delay bound */
extern int uacreg_unregister_on_shutdown;
extern int uacreg_reload_interval; /* seconds, 0 = only on demand */
/* percent of the loaded lines a reload may remove unforced; 0 = no guard */
extern int uacreg_reload_guard;
/* percent of shm that sending REGISTERs leaves free (for calls) */
extern int uacreg_shm_reserve;
extern unsigned long uacreg_shm_reserve_bytes;
extern str uacreg_ceiling_route; /* event route name, or KEMI function */
extern str uacreg_state_route;
extern str uacreg_event_callback; /* KEMI function for both events */
extern struct line_config uacreg_cfg;

extern struct tm_binds uacreg_tmb;

/* counters of events (gauges are computed from the store) */
extern counter_handle_t uacreg_cnt_sent;
extern counter_handle_t uacreg_cnt_challenges;
extern counter_handle_t uacreg_cnt_auto_switch;
extern counter_handle_t uacreg_cnt_ceiling;
extern counter_handle_t uacreg_cnt_shm_pauses;
extern counter_handle_t uacreg_cnt_reloads_held;

/* sets uacreg_cfg.inflight_max_ms from tm's fr_timer */
void uacreg_inflight_update(void);
extern counter_handle_t uacreg_cnt_carrier_refusals;
extern counter_handle_t uacreg_cnt_carrier_outages;
extern str uacreg_carrier_route;

#endif
