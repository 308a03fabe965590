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
 * uacreg - the decisions of HA mode (several nodes on one table), pure:
 * which live node should own a line (rendezvous hash in active mode, the
 * best priority in standby), when a node must stop sending for want of a
 * lease (the fence), and what a node does with a line given the owner row
 * it read and what it believed. No SQL, no lock, no clock of its own: the
 * glue (uacreg_ha.c) reads the tables and carries the decisions out.
 */
#ifndef UACREG_HA_CORE_H
#define UACREG_HA_CORE_H

#include <stdint.h>
#include "ur_str.h"

enum ha_mode
{
	HA_OFF = 0,
	HA_ACTIVE,
	HA_STANDBY
};

#define HA_NODE_ID_MAX 64
/* node index of a line without an owner (struct uline's ha_owner) */
#define HA_NO_OWNER 0xff
/* the least margin between the end of sending and the end of the lease */
#define HA_MARGIN_MIN_MS 1000

/* ha_mode by name (off, active, standby); -1 when unknown */
int ha_mode_parse(ur_str_t s);
const char *ha_mode_name(int mode);
/* 1 when s can be a node_id: 1..HA_NODE_ID_MAX characters of
 * [A-Za-z0-9._:-] (it is written into the HA statements) */
int ha_node_id_valid(ur_str_t s);

/* a node as the glue read it from the node table */
struct ha_node
{
	ur_str_t id;
	int priority;
	int alive; /* lease_until > NOW(3) */
};

/* the rendezvous weight of a line on a node (FNV-1a 64 of l_uuid, a
 * separator and node_id, then a 64-bit finaliser): stable across versions
 * and machines, since every node must compute the same owner */
uint64_t ha_weight(ur_str_t l_uuid, ur_str_t node_id);

/* Index in nodes[] of the live node that should own the line, -1 when no
 * node is live. active: the highest ha_weight (tie: the smaller node_id);
 * standby: the highest priority (tie: the smaller node_id), whatever the
 * line. */
int ha_desired(int mode, ur_str_t l_uuid, const struct ha_node *nodes, int n);

/* The margin kept between the end of sending and the end of the lease:
 * a fifth of the lease, at least HA_MARGIN_MIN_MS, at most half of it. */
uint32_t ha_margin_ms(uint32_t ttl_ms);
/* The end of this node's permission to send, on the local monotonic clock:
 * the lease was renewed by a statement sent at renew_sent_ms, so the
 * database's lease_until is later than renew_sent_ms + ttl_ms on any clock
 * that runs at the same rate; stopping margin_ms before that leaves a
 * survivor's claim after the last REGISTER. */
uint64_t ha_fence_deadline(
		uint64_t renew_sent_ms, uint32_t ttl_ms, uint32_t margin_ms);

/* What a node knows about one line in a round */
struct ha_view
{
	int owned;			 /* we believe we own it (and may send for it) */
	uint64_t epoch;		 /* the epoch we believe it has, when owned */
	int row;			 /* the owner table has a row for it */
	int row_self;		 /* the row's node_id is this node */
	int row_other_alive; /* the row's node_id is another live node */
	uint64_t row_epoch;
	int desired_self;  /* this node should own it (ha_desired) */
	int desired_other; /* another live node should own it */
};

/* bits of ha_decide() */
#define HA_DROP 0x01 /* stop sending for it at once, silently (no unregister) */
#define HA_CLAIM 0x02	/* compare-and-set: epoch row_epoch -> row_epoch + 1 */
#define HA_INSERT 0x04	/* no owner row yet: create it (unowned), claim later */
#define HA_RELEASE 0x08 /* node_id = NULL where node_id = us and epoch ours */
#define HA_ADOPT 0x10	/* the row says we own it at row_epoch: take it up */

/* The decision for one line: HA_* bits, 0 = nothing to do. A line is
 * dropped (HA_DROP) before any SQL about it, so a node never sends for a
 * line it is giving up or may have lost. */
int ha_decide(const struct ha_view *v);

#endif
