/*
 * uacreg - building and sending a line's REGISTER through tm, and turning
 * the final reply into a struct line_reply for the state machine.
 */
#ifndef UACREG_SEND_H
#define UACREG_SEND_H

#include "../../core/str.h"
#include "../../core/counters.h"
#include "../../modules/tm/tm_load.h"
#include "uacreg_store.h"

/* modparams default_contact, default_socket */
extern str uacreg_default_contact;
extern str uacreg_default_socket;
extern struct tm_binds uacreg_tmb;

extern counter_handle_t uacreg_cnt_sent;
extern counter_handle_t uacreg_cnt_challenges;
extern counter_handle_t uacreg_cnt_auto_switch;

/* mod_init: binds tm; 0 or -1 */
int usend_init(void);
/* sets uacreg_cfg.inflight_max_ms from tm's fr_timer */
void uacreg_inflight_update(void);

/* Sends what line_on_due() decided for ul. Called WITH the store lock
 * held; releases it before handing the request to tm and takes it again
 * afterwards (the line may be gone by then: ul is not used after). */
void usend_register(struct uline *ul, const struct line_send *act);

#endif
