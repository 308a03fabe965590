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

/* the timer function of the uacreg process */
void uworker_tick(unsigned int ticks, void *param);
/* unregisters every registered line (unregister_on_shutdown) */
void uworker_shutdown(void);

#endif
