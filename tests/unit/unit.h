/*
 * Shared includes and helpers of the unit tests (cmocka).
 */
#ifndef UACREG_UNIT_H
#define UACREG_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ur_alloc.h"

static void *unit_alloc(size_t n)
{
	return malloc(n);
}
static void *unit_realloc(void *p, size_t n)
{
	return realloc(p, n);
}
static void unit_free(void *p)
{
	free(p);
}
static const struct ur_alloc unit_mem
		__attribute__((unused)) = {unit_alloc, unit_realloc, unit_free};

#endif
