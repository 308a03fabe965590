/*
 * uacreg - the uacreg process (see uacreg_worker.c).
 */
#ifndef UACREG_WORKER_H
#define UACREG_WORKER_H

#define UWORKER_TICK_MS 20

/* the timer function of the uacreg process */
void uworker_tick(unsigned int ticks, void *param);
/* unregisters every registered line (unregister_on_shutdown) */
void uworker_shutdown(void);

#endif
