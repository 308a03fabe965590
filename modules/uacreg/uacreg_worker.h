/*
 * uacreg - the uacreg process (see uacreg_worker.c).
 */
#ifndef UACREG_WORKER_H
#define UACREG_WORKER_H

/* Each tick wakes the process: on a virtual machine a wake-up costs about
 * 90 us, so 20 ms ticks cost ~4.5 ms of CPU a second with nothing to do.
 * 100 ms keeps answers to challenges prompt (a nonce lives for seconds)
 * and the pacer sends a tick's worth (rate / 10) each time. */
#define UWORKER_TICK_MS 100
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
/* the timer function of the uacreg process */
void uworker_tick(unsigned int ticks, void *param);
/* unregisters every registered line (unregister_on_shutdown) */
void uworker_shutdown(void);

#endif
