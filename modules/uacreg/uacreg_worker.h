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
 * uacreg - the uacreg process (see uacreg_worker.c).
 */
#ifndef UACREG_WORKER_H
#define UACREG_WORKER_H

/* Each tick wakes the process: on a virtual machine a wake-up costs about
 * 90 us, so 20 ms ticks cost ~4.5 ms of CPU a second with nothing to do.
 * 100 ms keeps answers to challenges prompt (a nonce lives for seconds);
 * the process keeps this tick only while there is work in flight or queued
 * (uacreg_worker.c, uworker_sleep_ms). */
#define UWORKER_TICK_MS 100
/* With nothing in flight nor queued, the process sleeps until the next line
 * is due (ustore_nudge wakes it for anything sooner), at most this long:
 * housekeeping (the reload interval, a database retry) runs at least once a
 * second. */
#define UWORKER_IDLE_MS 1000
/* after a database error, SQL work waits this long before it tries again */
#define UWORKER_DB_RETRY_MS 1000

#include "../../core/counters.h"

/* modparams rate, shm_reserve, reload_interval, unregister_on_shutdown */
extern int uacreg_rate;
extern int uacreg_shm_reserve;
extern int uacreg_reload_interval;
extern int uacreg_unregister_on_shutdown;

extern counter_handle_t uacreg_cnt_shm_pauses;

/* mod_init, after the parameters were checked */
void uworker_init(void);
/* child_init(PROC_MAIN): forks the uacreg process; 0, or -1 */
int uworker_start(void);
/* unregisters every registered line (unregister_on_shutdown) */
void uworker_shutdown(void);

#endif
