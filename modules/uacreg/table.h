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
 * uacreg - lines by l_uuid.
 *
 * A chained hash of items keyed by a string, plus a slot array giving each
 * item a small integer id (used by the scheduler and by tm callbacks). Each
 * slot has a generation that changes when the slot is reused, so a reply for
 * a line that was removed never reaches the line that took its slot.
 * Pure code; the caller locks and owns the items and their keys.
 */
#ifndef UACREG_TABLE_H
#define UACREG_TABLE_H

#include <stdint.h>
#include "ur_alloc.h"
#include "ur_str.h"

#define TABLE_NO_ID UINT32_MAX

struct table_slot
{
	void *item;		   /* NULL = free */
	const char *key_s; /* the key points into the item (caller-owned) */
	uint32_t key_len;  /* not a size_t: 32 bytes a slot, not 40 (a slot
						* per line: ~9 bytes a line) */
	uint32_t hash;
	uint32_t next; /* next id in the bucket chain, or free list */
	uint32_t gen;  /* bumped on every removal */
};

struct table
{
	const struct ur_alloc *mem;
	uint32_t *buckets; /* first id per bucket, TABLE_NO_ID = empty */
	uint32_t nbuckets; /* power of two */
	struct table_slot *slots;
	uint32_t nslots; /* slots in use or freed (high-water mark) */
	uint32_t cap;
	uint32_t free_head; /* free list through slot.next */
	uint32_t count;		/* items */
};

int table_init(struct table *t, const struct ur_alloc *mem, uint32_t nbuckets);
void table_destroy(struct table *t);
/* id of key, or TABLE_NO_ID */
uint32_t table_find(const struct table *t, ur_str_t key);
/* adds item under key (key must stay valid while stored); id or TABLE_NO_ID
 * (out of memory, or key already present) */
uint32_t table_add(struct table *t, ur_str_t key, void *item);
/* removes id; returns its item */
void *table_remove(struct table *t, uint32_t id);
/* the item of id moved in memory: item and key (same string) are its new
 * place; the id, generation and bucket stay */
void table_move(struct table *t, uint32_t id, void *item, ur_str_t key);
/* item of id, NULL if free */
void *table_get(const struct table *t, uint32_t id);
uint32_t table_gen(const struct table *t, uint32_t id);
/* iteration: first id >= from in use, TABLE_NO_ID at the end */
uint32_t table_next(const struct table *t, uint32_t from);
/* stable string hash used by the table (also for reload fingerprints) */
uint32_t table_hash(ur_str_t key);

#endif
