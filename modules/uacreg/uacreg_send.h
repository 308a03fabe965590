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
extern counter_handle_t uacreg_cnt_new_dialog_learnt;

/* mod_init: binds tm; 0 or -1 */
int usend_init(void);
/* sets uacreg_cfg.inflight_max_ms from tm's fr_timer */
void uacreg_inflight_update(void);

/* Sends what line_on_due() decided for ul. Called WITH the store lock
 * held; releases it before handing the request to tm and takes it again
 * afterwards (the line may be gone by then: ul is not used after). */
void usend_register(struct uline *ul, const struct line_send *act);

#endif
