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
 * uacreg - HA mode (several nodes on one table, issue #17): the modparams,
 * the uacreg HA process that renews this node's lease and claims and
 * releases lines in the owner table, and what it publishes in shm for the
 * uacreg process: which lines this node owns (struct uline's ha_owner and
 * ha_epoch) and until when it may send at all (the fence). The decisions
 * are ha.c's; the statements are uacreg_db.c's. With ha_mode off nothing
 * here runs and no HA table is touched.
 */
#ifndef UACREG_HA_H
#define UACREG_HA_H

#include "../../core/str.h"
#include "../../core/counters.h"
#include "ha.h"
#include "uacreg_store.h"

/* struct uline's ha_owner: an index in uha->names; 0 none (memset) */
#define UHA_NONE 0
#define UHA_SELF 1
#define UHA_NAMES_MAX 255
#define UHA_NODES_MAX 64

/* a node as uacreg.nodes shows it (from the last round) */
struct uha_node_info
{
	char id[HA_NODE_ID_MAX + 1];
	char mode[16];
	int priority;
	int alive;
	int64_t lease_left_ms;
	uint32_t lines;
};

/* in shm, under the store lock */
struct uha_shared
{
	/* the end of this node's permission to send (uclock_now ms); 0 =
	 * none yet */
	uint64_t fence_until;
	uint64_t renew_sent; /* when the last successful renew was sent */
	uint8_t fenced;		 /* the uacreg process saw the fence pass */
	uint32_t owned_lines;
	uint32_t nnodes;
	struct uha_node_info nodes[UHA_NODES_MAX];
	/* node ids seen, for struct uline's one-byte ha_owner: append-only,
	 * names[UHA_SELF] is this node */
	uint32_t nnames;
	char names[UHA_NAMES_MAX + 1][HA_NODE_ID_MAX + 1];
};

extern struct uha_shared *uha;

/* modparams */
extern int uacreg_ha_mode; /* enum ha_mode, from ha_mode */
extern str uacreg_ha_mode_param;
extern str uacreg_node_id;
extern int uacreg_node_priority;
extern int uacreg_lease_ttl;
extern int uacreg_ha_interval_ms;
extern str uacreg_node_table;
extern str uacreg_owner_table;

extern counter_handle_t uacreg_cnt_takeovers;
extern counter_handle_t uacreg_cnt_leases_lost;
extern counter_handle_t uacreg_cnt_fenced;

/* HA events of event_route[uacreg:state] (struct ul_event's ha) */
#define UHA_EV_NONE 0
#define UHA_EV_TAKEOVER 1
#define UHA_EV_LOST 2

/* mod_init: checks the parameters, shm, one more timer process; 0/-1 */
int uha_init(void);
/* child_init(PROC_MAIN): forks the HA process */
int uha_child_init(int rank);
/* mod_destroy, after the unregisters: this node's lines are released and
 * its lease ended, so a survivor claims them at its next round */
void uha_shutdown(void);

/* Under the lock. The line may be sent for now: HA off, or it is this
 * node's and the fence has not passed. */
static inline int uha_may_send(const struct uline *ul, uint64_t now)
{
	if(uacreg_ha_mode == HA_OFF)
		return 1;
	return ul->ha_owner == UHA_SELF && now < uha->fence_until;
}
/* Under the lock. 1 when this node may send nothing at all now. */
static inline int uha_fenced(uint64_t now)
{
	return uacreg_ha_mode != HA_OFF && now >= uha->fence_until;
}
/* Under the lock. The owner's node_id of a line, "" when none. */
const char *uha_owner_name(const struct uline *ul);
/* The uacreg process, each tick: notes (log, counter) the fence */
void uha_worker_check(uint64_t now);

#endif
