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
 * uacreg - when each line is next due, and how fast lines may be sent.
 *
 * A binary min-heap of (due, id): setting, moving and removing a line is
 * O(log n) and a tick looks only at the lines that are due, never at every
 * line. The pacer is a token bucket: REGISTERs per second with a small burst,
 * so a restart with 100,000 lines never floods the carrier or tm's memory.
 * Pure code; the caller locks.
 */
#ifndef UACREG_SCHED_H
#define UACREG_SCHED_H

#include <stdint.h>
#include "ur_alloc.h"

struct sched_entry
{
	uint64_t due;
	uint32_t id;
};

struct sched
{
	const struct ur_alloc *mem;
	struct sched_entry *heap; /* heap[0] is the earliest */
	uint32_t *pos;			  /* pos[id] = index in heap + 1; 0 = absent */
	uint32_t count;			  /* entries in the heap */
	uint32_t heap_cap;
	uint32_t pos_cap; /* ids below pos_cap are addressable */
};

int sched_init(struct sched *s, const struct ur_alloc *mem);
void sched_destroy(struct sched *s);
/* Sets (adds or moves) id to be due at `due`. 0 or -1 (out of memory). */
int sched_set(struct sched *s, uint32_t id, uint64_t due);
/* Makes room, without adding anything, for id and for count entries in
 * all: a later sched_set of any id up to id, while the heap holds fewer
 * than count entries, cannot fail. 0 or -1 (out of memory). */
int sched_reserve(struct sched *s, uint32_t id, uint32_t count);
/* Removes id if present. */
void sched_remove(struct sched *s, uint32_t id);
/* 1 and the id of the earliest entry due at or before now (removed from the
 * heap); 0 when nothing is due. */
int sched_pop_due(struct sched *s, uint64_t now, uint32_t *id);
/* 1 and the id of the earliest entry due at or before now, left in the
 * heap; 0 when nothing is due */
int sched_peek_due(const struct sched *s, uint64_t now, uint32_t *id);
/* due time of id, 0 if not scheduled */
uint64_t sched_due(const struct sched *s, uint32_t id);
/* earliest due time, UINT64_MAX when empty */
uint64_t sched_next(const struct sched *s);

struct pacer
{
	uint32_t rate;		   /* tokens per second; 0 = unlimited */
	uint32_t burst;		   /* bucket size */
	uint64_t last;		   /* ms of the last refill */
	uint64_t milli_tokens; /* tokens * 1000, to keep integer precision */
};

void pacer_init(struct pacer *p, uint32_t rate, uint32_t burst, uint64_t now);
/* Takes up to `want` tokens at time now; returns how many were granted. */
uint32_t pacer_take(struct pacer *p, uint64_t now, uint32_t want);
/* Takes one token from each of two pacers, or none: 1 when both had one.
 * A request under two limits (a small burst inside a larger one) leaves
 * only when both allow it, and a refusal costs neither. An unlimited pacer
 * (rate 0) always has a token. */
int pacer_take_pair(struct pacer *outer, struct pacer *inner, uint64_t now);

#endif
