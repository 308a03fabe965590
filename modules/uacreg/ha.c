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
 * uacreg - the decisions of HA mode (see ha.h).
 */
#include <string.h>
#include "ha.h"

int ha_mode_parse(ur_str_t s)
{
	if(ur_str_eq(s, UR_STR_LIT("off")))
		return HA_OFF;
	if(ur_str_eq(s, UR_STR_LIT("active")))
		return HA_ACTIVE;
	if(ur_str_eq(s, UR_STR_LIT("standby")))
		return HA_STANDBY;
	return -1;
}

const char *ha_mode_name(int mode)
{
	switch(mode) {
		case HA_ACTIVE:
			return "active";
		case HA_STANDBY:
			return "standby";
		default:
			return "off";
	}
}

int ha_node_id_valid(ur_str_t s)
{
	size_t i;
	char c;

	if(s.s == NULL || s.len == 0 || s.len > HA_NODE_ID_MAX)
		return 0;
	for(i = 0; i < s.len; i++) {
		c = s.s[i];
		if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
				   || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':'
				   || c == '-'))
			return 0;
	}
	return 1;
}

#define HA_FNV64_OFFSET 0xcbf29ce484222325ULL
#define HA_FNV64_PRIME 0x100000001b3ULL

static uint64_t ha_fnv(uint64_t h, ur_str_t s)
{
	size_t i;

	for(i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.s[i];
		h *= HA_FNV64_PRIME;
	}
	return h;
}

uint64_t ha_weight(ur_str_t l_uuid, ur_str_t node_id)
{
	uint64_t h = ha_fnv(HA_FNV64_OFFSET, l_uuid);

	/* a byte no l_uuid or node_id has: "ab"+"c" is not "a"+"bc" */
	h ^= 0xff;
	h *= HA_FNV64_PRIME;
	h = ha_fnv(h, node_id);
	/* splitmix64's finaliser: FNV's low bits alone spread poorly */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

/* <0 when a sorts before b */
static int ha_id_cmp(ur_str_t a, ur_str_t b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.s, b.s, n) : 0;

	if(c)
		return c;
	return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

int ha_desired(int mode, ur_str_t l_uuid, const struct ha_node *nodes, int n)
{
	int i, best = -1;
	uint64_t w, best_w = 0;

	if(mode != HA_ACTIVE && mode != HA_STANDBY)
		return -1;
	for(i = 0; i < n; i++) {
		if(!nodes[i].alive)
			continue;
		if(best < 0) {
			best = i;
			best_w = mode == HA_ACTIVE ? ha_weight(l_uuid, nodes[i].id) : 0;
			continue;
		}
		if(mode == HA_ACTIVE) {
			w = ha_weight(l_uuid, nodes[i].id);
			if(w > best_w
					|| (w == best_w
							&& ha_id_cmp(nodes[i].id, nodes[best].id) < 0)) {
				best = i;
				best_w = w;
			}
		} else if(nodes[i].priority > nodes[best].priority
				  || (nodes[i].priority == nodes[best].priority
						  && ha_id_cmp(nodes[i].id, nodes[best].id) < 0)) {
			best = i;
		}
	}
	return best;
}

uint32_t ha_margin_ms(uint32_t ttl_ms)
{
	uint32_t m = ttl_ms / 5;

	if(m < HA_MARGIN_MIN_MS)
		m = HA_MARGIN_MIN_MS;
	if(m > ttl_ms / 2)
		m = ttl_ms / 2;
	return m;
}

uint64_t ha_fence_deadline(
		uint64_t renew_sent_ms, uint32_t ttl_ms, uint32_t margin_ms)
{
	if(margin_ms >= ttl_ms)
		return renew_sent_ms; /* no permission at all */
	return renew_sent_ms + (ttl_ms - margin_ms);
}

int ha_decide(const struct ha_view *v)
{
	if(v->row && v->row_self) {
		/* another live node should have it: give it up, sending first */
		if(v->desired_other)
			return (v->owned ? HA_DROP : 0) | HA_RELEASE;
		if(v->owned && v->epoch == v->row_epoch)
			return 0;
		/* ours in the table, not in memory (a restart of this node, or a
		 * claim whose answer was lost): take it up at that epoch, the
		 * row read again first */
		return (v->owned ? HA_DROP : 0) | HA_ADOPT;
	}
	if(v->row && v->row_other_alive)
		return v->owned ? HA_DROP : 0; /* another live node has it */
	/* unowned, released, its owner's lease expired, or no row at all:
	 * whoever believed it owned it, the table says otherwise */
	if(!v->row)
		return (v->owned ? HA_DROP : 0) | (v->desired_self ? HA_INSERT : 0);
	return (v->owned ? HA_DROP : 0) | (v->desired_self ? HA_CLAIM : 0);
}
