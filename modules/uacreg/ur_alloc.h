/*
 * uacreg - the allocator the pure core is given: shm in Kamailio, libc in
 * unit tests.
 */
#ifndef UACREG_UR_ALLOC_H
#define UACREG_UR_ALLOC_H

#include <stddef.h>

struct ur_alloc
{
	void *(*alloc)(size_t size);
	void *(*realloc)(void *p, size_t size);
	void (*free)(void *p);
};

#endif
