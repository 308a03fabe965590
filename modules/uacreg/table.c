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
 * uacreg - lines by l_uuid: a chained hash over a slot array.
 *
 * Ids are slot indexes, so they stay small and dense (the scheduler indexes
 * an array by them). Removed slots go to a free list and are reused by the
 * next add, with their generation bumped so that a stale (id, gen) pair held
 * by a tm callback never matches the new occupant. The table never copies
 * keys: a slot's key points into the caller's item.
 */

#include <stdint.h>
#include <string.h>

#include "table.h"

#define TABLE_MIN_BUCKETS 16u
/* largest power of two a uint32_t holds */
#define TABLE_MAX_BUCKETS 0x80000000u
#define TABLE_MIN_SLOTS 16u

/*
 * FNV-1a, 32 bits (offset basis 2166136261, prime 16777619), over the bytes
 * of the key. Stable across builds, platforms and restarts, which the reload
 * fingerprints rely on; cheap, and well spread in the low bits that pick the
 * bucket (the table masks, it does not take a modulo).
 */
uint32_t table_hash(ur_str_t key)
{
	uint32_t h = 2166136261u;
	size_t i;

	for(i = 0; i < key.len; i++) {
		h ^= (unsigned char)key.s[i];
		h *= 16777619u;
	}
	return h;
}

int table_init(struct table *t, const struct ur_alloc *mem, uint32_t nbuckets)
{
	uint32_t n = TABLE_MIN_BUCKETS;
	uint32_t i;

	memset(t, 0, sizeof(*t));
	t->mem = mem;
	t->free_head = TABLE_NO_ID;
	/* a power of two, so that a mask picks the bucket */
	if(nbuckets > TABLE_MAX_BUCKETS)
		nbuckets = TABLE_MAX_BUCKETS;
	while(n < nbuckets)
		n <<= 1;
	t->buckets = mem->alloc((size_t)n * sizeof(*t->buckets));
	if(t->buckets == NULL)
		return -1;
	for(i = 0; i < n; i++)
		t->buckets[i] = TABLE_NO_ID;
	t->nbuckets = n;
	return 0;
}

void table_destroy(struct table *t)
{
	if(t->buckets)
		t->mem->free(t->buckets);
	if(t->slots)
		t->mem->free(t->slots);
	t->buckets = NULL;
	t->slots = NULL;
	t->nbuckets = t->nslots = t->cap = t->count = 0;
	t->free_head = TABLE_NO_ID;
}

static inline uint32_t *table_bucket(const struct table *t, uint32_t hash)
{
	return &t->buckets[hash & (t->nbuckets - 1)];
}

static ur_str_t table_key(const struct table_slot *slot)
{
	ur_str_t k = {slot->key_s, slot->key_len};
	return k;
}

static uint32_t table_find_hashed(
		const struct table *t, ur_str_t key, uint32_t hash)
{
	uint32_t id;

	if(t->buckets == NULL)
		return TABLE_NO_ID;
	for(id = *table_bucket(t, hash); id != TABLE_NO_ID;
			id = t->slots[id].next) {
		if(t->slots[id].hash == hash
				&& ur_str_eq(table_key(&t->slots[id]), key))
			return id;
	}
	return TABLE_NO_ID;
}

uint32_t table_find(const struct table *t, ur_str_t key)
{
	return table_find_hashed(t, key, table_hash(key));
}

/* A free slot id: from the free list, else a new one at the end. */
static uint32_t table_take_slot(struct table *t)
{
	uint32_t id, ncap;
	struct table_slot *ns;

	if(t->free_head != TABLE_NO_ID) {
		id = t->free_head;
		t->free_head = t->slots[id].next;
		return id;
	}
	if(t->nslots == t->cap) {
		/* ur_grow(); ids must stay below TABLE_NO_ID */
		if(t->cap >= TABLE_MAX_BUCKETS)
			return TABLE_NO_ID;
		ncap = t->cap ? (uint32_t)ur_grow(t->cap) : TABLE_MIN_SLOTS;
		if(ncap > TABLE_MAX_BUCKETS)
			ncap = TABLE_MAX_BUCKETS;
		ns = t->mem->realloc(t->slots, (size_t)ncap * sizeof(*ns));
		if(ns == NULL)
			return TABLE_NO_ID;
		/* gen 0 for slots never used */
		memset(ns + t->cap, 0, (size_t)(ncap - t->cap) * sizeof(*ns));
		t->slots = ns;
		t->cap = ncap;
	}
	return t->nslots++;
}

uint32_t table_add(struct table *t, ur_str_t key, void *item)
{
	uint32_t hash, id, *bucket;
	struct table_slot *slot;

	/* a NULL item would make the slot look free */
	if(item == NULL || t->buckets == NULL || key.len > UINT32_MAX)
		return TABLE_NO_ID;
	hash = table_hash(key);
	if(table_find_hashed(t, key, hash) != TABLE_NO_ID)
		return TABLE_NO_ID;
	id = table_take_slot(t);
	if(id == TABLE_NO_ID)
		return TABLE_NO_ID;
	slot = &t->slots[id];
	bucket = table_bucket(t, hash);
	slot->item = item;
	slot->key_s = key.s;
	slot->key_len = (uint32_t)key.len;
	slot->hash = hash;
	slot->next = *bucket;
	*bucket = id;
	t->count++;
	return id;
}

void *table_remove(struct table *t, uint32_t id)
{
	struct table_slot *slot;
	uint32_t *link;
	void *item;

	if(id >= t->nslots || t->slots[id].item == NULL)
		return NULL;
	slot = &t->slots[id];
	/* unlink from the bucket chain: find the link that points at id */
	for(link = table_bucket(t, slot->hash); *link != id;
			link = &t->slots[*link].next)
		;
	*link = slot->next;
	item = slot->item;
	slot->item = NULL;
	slot->key_s = NULL;
	slot->key_len = 0;
	slot->hash = 0;
	slot->gen++;
	slot->next = t->free_head;
	t->free_head = id;
	t->count--;
	return item;
}

void table_move(struct table *t, uint32_t id, void *item, ur_str_t key)
{
	if(id >= t->nslots || t->slots[id].item == NULL || item == NULL)
		return;
	t->slots[id].item = item;
	t->slots[id].key_s = key.s;
	t->slots[id].key_len = (uint32_t)key.len;
}

void *table_get(const struct table *t, uint32_t id)
{
	if(id >= t->nslots)
		return NULL;
	return t->slots[id].item;
}

uint32_t table_gen(const struct table *t, uint32_t id)
{
	if(id >= t->nslots)
		return 0;
	return t->slots[id].gen;
}

uint32_t table_next(const struct table *t, uint32_t from)
{
	uint32_t id;

	for(id = from; id < t->nslots; id++) {
		if(t->slots[id].item != NULL)
			return id;
	}
	return TABLE_NO_ID;
}
