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
 * uacreg - blocks of the lines' sizes, carved from big chunks (pool.h).
 */
#include <string.h>
#include "pool.h"

/* a chunk starts with the link to the previous one, then blocks */
#define POOL_CHUNK_HEAD POOL_ALIGN

size_t pool_block_size(size_t size)
{
	return (size + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
}

static int pool_class(size_t rounded)
{
	return (int)(rounded / POOL_ALIGN) - 1;
}

void pool_init(struct pool *p, const struct ur_alloc *mem)
{
	memset(p, 0, sizeof(*p));
	p->mem = mem;
}

void pool_destroy(struct pool *p)
{
	void *c, *next;

	for(c = p->chunks; c; c = next) {
		memcpy(&next, c, sizeof(next));
		p->mem->free(c);
	}
	pool_init(p, p->mem);
}

/* the rest of a chunk too small for a block still serves a smaller size */
static void pool_keep_rest(struct pool *p)
{
	size_t rest = p->bump_left & ~(size_t)(POOL_ALIGN - 1);
	void *b = p->bump;

	if(rest >= POOL_ALIGN) {
		int c = pool_class(rest);
		memcpy(b, &p->free_list[c], sizeof(void *));
		p->free_list[c] = b;
	}
	p->bump = NULL;
	p->bump_left = 0;
}

void *pool_alloc(struct pool *p, size_t size)
{
	size_t rounded;
	void *b, *chunk;
	int c;

	if(size == 0)
		return NULL;
	if(size > POOL_MAX)
		return p->mem->alloc(size);
	rounded = pool_block_size(size);
	c = pool_class(rounded);
	b = p->free_list[c];
	if(b) {
		memcpy(&p->free_list[c], b, sizeof(void *));
	} else {
		if(p->bump_left < rounded) {
			chunk = p->mem->alloc(POOL_CHUNK);
			if(chunk == NULL)
				return NULL;
			pool_keep_rest(p);
			memcpy(chunk, &p->chunks, sizeof(void *));
			p->chunks = chunk;
			p->chunk_bytes += POOL_CHUNK;
			p->bump = (char *)chunk + POOL_CHUNK_HEAD;
			p->bump_left = POOL_CHUNK - POOL_CHUNK_HEAD;
		}
		b = p->bump;
		p->bump += rounded;
		p->bump_left -= rounded;
	}
	p->used_bytes += rounded;
	return b;
}

void pool_free(struct pool *p, void *b, size_t size)
{
	size_t rounded;
	int c;

	if(b == NULL)
		return;
	if(size > POOL_MAX) {
		p->mem->free(b);
		return;
	}
	rounded = pool_block_size(size);
	c = pool_class(rounded);
	memcpy(b, &p->free_list[c], sizeof(void *));
	p->free_list[c] = b;
	p->used_bytes -= rounded;
}

void *pool_realloc(struct pool *p, void *b, size_t old_size, size_t new_size)
{
	void *nb;

	if(b == NULL)
		return pool_alloc(p, new_size);
	if(old_size > POOL_MAX && new_size > POOL_MAX)
		return p->mem->realloc(b, new_size);
	if(pool_block_size(old_size) == pool_block_size(new_size)
			&& new_size <= POOL_MAX)
		return b;
	nb = pool_alloc(p, new_size);
	if(nb == NULL)
		return NULL;
	memcpy(nb, b, old_size < new_size ? old_size : new_size);
	pool_free(p, b, old_size);
	return nb;
}
