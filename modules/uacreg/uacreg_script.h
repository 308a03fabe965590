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
 * uacreg - what kamailio.cfg and KEMI scripts see: functions, $uacreg(...),
 * and the event routes uacreg:state, uacreg:ceiling and uacreg:reload.
 */
#ifndef UACREG_SCRIPT_H
#define UACREG_SCRIPT_H

#include "../../core/sr_module.h"
#include "../../core/pvar.h"
#include "uacreg_store.h"

/* modparams: the event routes' names, the KEMI callback, the AVPs of
 * uacreg_request_to() */
extern str uacreg_ceiling_route;
extern str uacreg_state_route;
extern str uacreg_carrier_route;
extern str uacreg_event_callback;
extern str uacreg_auth_realm_avp;
extern str uacreg_auth_username_avp;
extern str uacreg_auth_password_avp;

/* a reload held by reload_guard, for event_route[uacreg:reload] */
struct ureload_event
{
	uint32_t would_remove; /* lines the table no longer has */
	uint32_t lines;		   /* lines loaded before the reload */
	int guard;			   /* reload_guard, percent */
};

int uscript_init(void);
/* runs event_route[uacreg:ceiling] (or the KEMI callback); returns 1 when
 * the route called uacreg_keep(); s->defer is 1 when it called
 * uacreg_defer() */
int uscript_run_ceiling(struct usnap *s);
void uscript_run_state(struct usnap *s);
/* runs event_route[uacreg:reload] (or the KEMI callback) */
void uscript_run_reload(const struct ureload_event *ev);
/* event_route[uacreg:carrier]: a carrier refuses, is unreachable or
 * accepts again */
void uscript_run_carrier(struct usnap *s);

extern cmd_export_t uscript_cmds[];
extern pv_export_t uscript_pvs[];
int uscript_kemi_register(void);

#endif
