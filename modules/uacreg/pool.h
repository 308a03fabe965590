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
 * uacreg - blocks of the lines' sizes, carved from big chunks.
 *
 * Kamailio's shm allocator (qm, with the memory debugging Debian builds
 * with) adds about 104 bytes to every block: at 100,000 lines that is
 * 10 MB of the default 64 MB, shm that tm's transactions need. The pool
 * asks its allocator for POOL_CHUNK bytes at a time and hands out blocks
 * rounded to POOL_ALIGN with no header: the caller gives the size back on
 * free (a line knows its own). Freed blocks wait on a list per size for
 * the next block of that size; chunks go back only with pool_destroy, so
 * the shm a table of lines once took stays with it.
 * Pure code; the caller locks.
 */
#ifndef UACREG_POOL_H
#define UACREG_POOL_H

#include <stddef.h>
#include <stdint.h>
#include "ur_alloc.h"

#define POOL_ALIGN 16
#define POOL_MAX 2048 /* larger blocks come from the allocator itself */
#define POOL_CLASSES (POOL_MAX / POOL_ALIGN)
#define POOL_CHUNK (64 * 1024)

struct pool
{
	const struct ur_alloc *mem;
	void *free_list[POOL_CLASSES]; /* class i: blocks of (i+1)*POOL_ALIGN */
	void *chunks;				   /* chunks, linked through their first word */
	char *bump;					   /* unused rest of the newest chunk */
	size_t bump_left;
	size_t chunk_bytes; /* asked of the allocator for chunks */
	size_t used_bytes;	/* in blocks handed out (rounded sizes) */
};

void pool_init(struct pool *p, const struct ur_alloc *mem);
/* frees every chunk (and so every pooled block) */
void pool_destroy(struct pool *p);
/* a block of at least size bytes, aligned to POOL_ALIGN; NULL when out of
 * memory or size is 0 */
void *pool_alloc(struct pool *p, size_t size);
/* size: what was asked of pool_alloc (or pool_realloc) for this block */
void pool_free(struct pool *p, void *b, size_t size);
/* a block of new_size with the first min(old, new) bytes of b; b is freed,
 * or left alone when NULL is returned */
void *pool_realloc(struct pool *p, void *b, size_t old_size, size_t new_size);
/* the bytes a block of size really takes */
size_t pool_block_size(size_t size);

#endif
