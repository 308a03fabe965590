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
 * uacreg - when each line is next due (binary min-heap with a back-index),
 * and how fast lines may be sent (token bucket).
 *
 * The heap is ordered by due time only. Entries with equal due times come
 * out in no particular order, but none waits forever: every pop removes one
 * of them, and an entry set later for "now" has a due time at or after the
 * waiting ones, since the caller's clock only moves forward. (A caller that
 * used a fixed due time such as 1 for "at once" over and over could starve
 * an equal entry; use the current time instead.)
 */

#include <stdint.h>
#include <string.h>

#include "sched.h"

/* first sizes of the arrays; both then grow by ur_grow() */
#define SCHED_MIN_HEAP 64
#define SCHED_MIN_POS 64

int sched_init(struct sched *s, const struct ur_alloc *mem)
{
	memset(s, 0, sizeof(*s));
	s->mem = mem;
	return 0;
}

void sched_destroy(struct sched *s)
{
	if(s->heap)
		s->mem->free(s->heap);
	if(s->pos)
		s->mem->free(s->pos);
	s->heap = NULL;
	s->pos = NULL;
	s->count = s->heap_cap = s->pos_cap = 0;
}

/* Makes ids up to `id` addressable in pos[]; new ids start absent. */
static int sched_grow_pos(struct sched *s, uint32_t id)
{
	uint64_t want;
	uint32_t *np;

	if(id < s->pos_cap)
		return 0;
	want = s->pos_cap ? ur_grow(s->pos_cap) : SCHED_MIN_POS;
	if(want < (uint64_t)id + 1)
		want = (uint64_t)id + 1;
	/* pos_cap is a uint32_t: at most UINT32_MAX ids (0..UINT32_MAX-1) */
	if(want > UINT32_MAX)
		want = UINT32_MAX;
	np = s->mem->realloc(s->pos, (size_t)want * sizeof(*np));
	if(np == NULL)
		return -1;
	memset(np + s->pos_cap, 0, (size_t)(want - s->pos_cap) * sizeof(*np));
	s->pos = np;
	s->pos_cap = (uint32_t)want;
	return 0;
}

/* Room for `need` heap entries. */
static int sched_grow_heap(struct sched *s, uint64_t need)
{
	uint64_t want;
	struct sched_entry *nh;

	if(need <= s->heap_cap)
		return 0;
	want = s->heap_cap ? ur_grow(s->heap_cap) : SCHED_MIN_HEAP;
	if(want < need)
		want = need;
	if(want > UINT32_MAX)
		want = UINT32_MAX;
	if(want < need)
		return -1;
	nh = s->mem->realloc(s->heap, (size_t)want * sizeof(*nh));
	if(nh == NULL)
		return -1;
	s->heap = nh;
	s->heap_cap = (uint32_t)want;
	return 0;
}

int sched_reserve(struct sched *s, uint32_t id, uint32_t count)
{
	if(id == UINT32_MAX)
		return -1;
	if(sched_grow_pos(s, id) < 0 || sched_grow_heap(s, count) < 0)
		return -1;
	return 0;
}

/* Puts entry e at heap index i and records where it is. */
static inline void sched_place(
		struct sched *s, uint32_t i, struct sched_entry e)
{
	s->heap[i] = e;
	s->pos[e.id] = i + 1;
}

/* Moves the entry at i towards the root while it is earlier than its parent.
 * Strictly earlier: an entry never passes an equal one on the way up. */
static void sched_sift_up(struct sched *s, uint32_t i)
{
	struct sched_entry e = s->heap[i];
	uint32_t parent;

	while(i > 0) {
		parent = (i - 1) / 2;
		if(s->heap[parent].due <= e.due)
			break;
		sched_place(s, i, s->heap[parent]);
		i = parent;
	}
	sched_place(s, i, e);
}

/* Moves the entry at i towards the leaves while a child is earlier. */
static void sched_sift_down(struct sched *s, uint32_t i)
{
	struct sched_entry e = s->heap[i];
	uint64_t child;

	for(;;) {
		child = (uint64_t)i * 2 + 1;
		if(child >= s->count)
			break;
		if(child + 1 < s->count && s->heap[child + 1].due < s->heap[child].due)
			child++;
		if(e.due <= s->heap[child].due)
			break;
		sched_place(s, i, s->heap[child]);
		i = (uint32_t)child;
	}
	sched_place(s, i, e);
}

/* Restores the heap after the entry at i changed its due time. */
static void sched_fix(struct sched *s, uint32_t i)
{
	if(i > 0 && s->heap[(i - 1) / 2].due > s->heap[i].due)
		sched_sift_up(s, i);
	else
		sched_sift_down(s, i);
}

int sched_set(struct sched *s, uint32_t id, uint64_t due)
{
	uint32_t i;

	/* UINT32_MAX is TABLE_NO_ID, and pos[] cannot address it */
	if(id == UINT32_MAX)
		return -1;
	if(id < s->pos_cap && s->pos[id] != 0) {
		i = s->pos[id] - 1;
		s->heap[i].due = due;
		sched_fix(s, i);
		return 0;
	}
	if(sched_grow_pos(s, id) < 0
			|| sched_grow_heap(s, (uint64_t)s->count + 1) < 0)
		return -1;
	i = s->count++;
	s->heap[i].due = due;
	s->heap[i].id = id;
	s->pos[id] = i + 1;
	sched_sift_up(s, i);
	return 0;
}

/* Takes the entry at heap index i out: the last entry fills the hole. */
static void sched_remove_at(struct sched *s, uint32_t i)
{
	uint32_t last = s->count - 1;

	s->pos[s->heap[i].id] = 0;
	s->count = last;
	if(i == last)
		return;
	sched_place(s, i, s->heap[last]);
	sched_fix(s, i);
}

void sched_remove(struct sched *s, uint32_t id)
{
	if(id >= s->pos_cap || s->pos[id] == 0)
		return;
	sched_remove_at(s, s->pos[id] - 1);
}

int sched_peek_due(const struct sched *s, uint64_t now, uint32_t *id)
{
	if(s->count == 0 || s->heap[0].due > now)
		return 0;
	*id = s->heap[0].id;
	return 1;
}

int sched_pop_due(struct sched *s, uint64_t now, uint32_t *id)
{
	if(!sched_peek_due(s, now, id))
		return 0;
	sched_remove_at(s, 0);
	return 1;
}

uint64_t sched_due(const struct sched *s, uint32_t id)
{
	if(id >= s->pos_cap || s->pos[id] == 0)
		return 0;
	return s->heap[s->pos[id] - 1].due;
}

uint64_t sched_next(const struct sched *s)
{
	return s->count ? s->heap[0].due : UINT64_MAX;
}

/*
 * Pacer. The bucket holds milli-tokens so that a rate of r tokens per second
 * adds exactly r milli-tokens per millisecond: no rounding, however short
 * the interval between two calls.
 */

/* A bucket of 0 could never grant anything; it holds at least one token. */
static uint64_t pacer_cap(const struct pacer *p)
{
	return (uint64_t)(p->burst ? p->burst : 1) * 1000;
}

void pacer_init(struct pacer *p, uint32_t rate, uint32_t burst, uint64_t now)
{
	p->rate = rate;
	p->burst = burst;
	p->last = now;
	/* full at start: the burst is what may leave at once */
	p->milli_tokens = pacer_cap(p);
}

/* Adds what the time since the last refill earned, up to the bucket size. */
static void pacer_refill(struct pacer *p, uint64_t now)
{
	uint64_t cap = pacer_cap(p);
	uint64_t elapsed, room;

	/* a clock that went back earns nothing, but restarts from there: a
	 * pacer waiting for the old time to come back would stall sending */
	if(now <= p->last) {
		p->last = now;
		return;
	}
	elapsed = now - p->last;
	p->last = now;
	if(p->milli_tokens >= cap) {
		p->milli_tokens = cap;
		return;
	}
	room = cap - p->milli_tokens;
	/* compare by division: elapsed * rate may overflow after a long pause */
	if(elapsed >= room / p->rate + 1)
		p->milli_tokens = cap;
	else
		p->milli_tokens += elapsed * p->rate;
	if(p->milli_tokens > cap)
		p->milli_tokens = cap;
}

uint32_t pacer_take(struct pacer *p, uint64_t now, uint32_t want)
{
	uint64_t whole;

	if(p->rate == 0)
		return want;
	pacer_refill(p, now);
	whole = p->milli_tokens / 1000;
	if(whole > want)
		whole = want;
	p->milli_tokens -= whole * 1000;
	return (uint32_t)whole;
}

int pacer_take_pair(struct pacer *outer, struct pacer *inner, uint64_t now)
{
	/* an unlimited pacer always has a token: the other one decides */
	if(outer->rate == 0)
		return pacer_take(inner, now, 1) == 1;
	if(inner->rate == 0)
		return pacer_take(outer, now, 1) == 1;
	pacer_refill(outer, now);
	pacer_refill(inner, now);
	if(outer->milli_tokens < 1000 || inner->milli_tokens < 1000)
		return 0;
	outer->milli_tokens -= 1000;
	inner->milli_tokens -= 1000;
	return 1;
}
