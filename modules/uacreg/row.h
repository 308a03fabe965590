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
 * uacreg - one row of the uacreg table, validated.
 *
 * The glue copies a DB row into struct row (strings point into the DB
 * result); row_validate() decides whether it can become a line and, if not,
 * says why in words an admin understands. Pure code.
 */
#ifndef UACREG_ROW_H
#define UACREG_ROW_H

#include <stdint.h>
#include "ur_str.h"

enum row_str
{
	ROW_L_UUID = 0,
	ROW_L_USERNAME,
	ROW_L_DOMAIN,
	ROW_R_USERNAME,
	ROW_R_DOMAIN,
	ROW_REALM,
	ROW_AUTH_USERNAME,
	ROW_AUTH_PASSWORD,
	ROW_AUTH_HA1,
	ROW_AUTH_PROXY,
	ROW_CONTACT_ADDR,
	ROW_SOCKET,
	ROW_STR_COUNT
};

/* bounds that keep one row from eating shared memory */
#define ROW_MAX_STR 255

/* integer columns; *_null is 1 for SQL NULL */
struct row
{
	ur_str_t s[ROW_STR_COUNT]; /* s.s == NULL for SQL NULL */
	int64_t expires;
	int expires_bad; /* the value was not a number (string column) */
	int64_t flags;
	int64_t reg_delay;
	int64_t reauth_new_dialog; /* -1 when NULL */
	int64_t fail_ceiling;	   /* -1 when NULL */
	int64_t fail_count;
	uint32_t int_null; /* ROW_N_* bits: the integer column was SQL NULL */
};

/* bits of row.int_null; the glue needs them to name the row exactly as it
 * is in SQL (a NULL fail_ceiling and a -1 read the same here) */
#define ROW_N_FLAGS 0x01
#define ROW_N_REG_DELAY 0x02
#define ROW_N_REAUTH_NEW_DIALOG 0x04
#define ROW_N_CEILING 0x08
#define ROW_N_FAIL_COUNT 0x10

#define ROW_FLAG_DISABLED 1

/* 0 when the row can become a line; else -1 and *why points to a static
 * reason ("missing r_domain", "auth_ha1 is not 32 or 64 hex digits"). */
int row_validate(const struct row *r, const char **why);

/* Fingerprint of the fields that shape the REGISTER (users, domains, realm,
 * credentials, proxy, contact, socket, expires). A reload re-registers a
 * line only when this changes. */
uint64_t row_reg_fingerprint(const struct row *r);

/* Column name of a string field ("auth_proxy"). */
const char *row_str_name(enum row_str f);

#endif
