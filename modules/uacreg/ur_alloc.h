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
 * uacreg - the allocator the pure core is given: shm in Kamailio, libc in
 * unit tests.
 */
#ifndef UACREG_UR_ALLOC_H
#define UACREG_UR_ALLOC_H

#include <stddef.h>
#include <stdint.h>

struct ur_alloc
{
	void *(*alloc)(size_t size);
	void *(*realloc)(void *p, size_t size);
	void (*free)(void *p);
};

/* The next capacity of an array with an element per line (table slots, the
 * scheduler's heap and index). Doubling while small; past UR_GROW_LINEAR a
 * quarter more, so a big table carries ~11 % of unused room on average
 * instead of ~39 % (at 10,000 lines: 10,240 slots, not 16,384). The
 * amortised cost of a growth stays constant. */
#define UR_GROW_LINEAR 4096
static inline uint64_t ur_grow(uint64_t cap)
{
	return cap < UR_GROW_LINEAR ? cap * 2 : cap + cap / 4;
}

#endif
