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
 * uacreg - a read-only byte string for the pure core (no Kamailio header).
 *
 * The glue converts Kamailio's `str` to this at the boundary; the core never
 * assumes NUL termination.
 */
#ifndef UACREG_UR_STR_H
#define UACREG_UR_STR_H

#include <stddef.h>
#include <string.h>

typedef struct ur_str
{
	const char *s;
	size_t len;
} ur_str_t;

#define UR_STR_NULL ((ur_str_t){NULL, 0})
#define UR_STR_LIT(lit) ((ur_str_t){(lit), sizeof(lit) - 1})

static inline ur_str_t ur_str_c(const char *cstr)
{
	ur_str_t r = {cstr, cstr ? strlen(cstr) : 0};
	return r;
}

static inline int ur_str_eq(ur_str_t a, ur_str_t b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}

#endif
