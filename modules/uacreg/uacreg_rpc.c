/*
 * uacreg - kamcmd uacreg.* commands. No answer ever holds auth_password or
 * auth_ha1. Lists are paged, so 100,000 lines never make a reply too big.
 */
#include <stdio.h>

#include "../../core/dprint.h"
#include "../../core/rpc.h"
#include "../../core/rpc_lookup.h"
#include "../../core/mem/mem.h"
#include "uacreg_mod.h"
#include "uacreg_db.h"
#include "uacreg_rpc.h"

#define URPC_LIST_DEFAULT 100
/* A line takes up to about 1 KB in a list (255-character l_uuid, r_username
 * and r_domain): 100 of them stay under the 128 KB that the jsonrpcs
 * datagram socket and kamcmd take; 1000 did not, and got no answer. */
#define URPC_LIST_MAX 100
#define URPC_DOMAINS_MAX 100

/* reads the l_uuid argument; faults and returns -1 when it is bad. A
 * number is taken as its digits: kamcmd sends an l_uuid such as 123 as an
 * integer, and such a line must be reachable too. */
static int urpc_uuid(rpc_t *rpc, void *ctx, str *uuid)
{
	if(rpc->scan(ctx, ".S", uuid) < 1) {
		rpc->fault(ctx, 400, "l_uuid is missing or not a string");
		return -1;
	}
	if(uuid->len <= 0 || uuid->len > ROW_MAX_STR) {
		rpc->fault(ctx, 400, "l_uuid must be 1 to 255 characters");
		return -1;
	}
	return 0;
}

static void urpc_count(rpc_t *rpc, void *ctx)
{
	int n;

	ustore_lock();
	n = (int)ustore->table.count;
	ustore_unlock();
	rpc->add(ctx, "d", n);
}

/* seconds from now to a monotonic ms time; 0 when past or unset */
static int urpc_in(uint64_t t, uint64_t now)
{
	return t > now ? (int)((t - now + 999) / 1000) : 0;
}

static int urpc_str(rpc_t *rpc, void *st, const char *name, str s)
{
	return rpc->struct_add(st, "S", name, &s);
}

/* the fields of one line, under the lock */
static void urpc_line(rpc_t *rpc, void *st, const struct uline *ul, int full)
{
	uint64_t now = ul_now();
	int f;

	urpc_str(rpc, st, "l_uuid", ul_str(ul, ROW_L_UUID));
	rpc->struct_add(st, "s", "state", line_state_name(ul->sm.state));
	if(full) {
		for(f = ROW_L_USERNAME; f < ROW_STR_COUNT; f++) {
			if(f == ROW_AUTH_PASSWORD || f == ROW_AUTH_HA1)
				continue;
			urpc_str(rpc, st, row_str_name(f), ul_str(ul, f));
		}
		rpc->struct_add(st, "s", "auth_secret",
				ul->slen[ROW_AUTH_HA1] ? "ha1" : "password");
		rpc->struct_add(st, "d", "expires", (int)ul->sm.expires);
		rpc->struct_add(st, "d", "flags", (int)ul->row_flags);
		rpc->struct_add(st, "d", "reg_delay", (int)ul->reg_delay);
		rpc->struct_add(st, "d", "reauth_new_dialog", (int)ul->sm.dialog_mode);
		rpc->struct_add(st, "d", "new_dialog_in_use",
				line_uses_new_dialog(&ul->sm, &uacreg_cfg));
		rpc->struct_add(st, "d", "auto_detected_new_dialog",
				(int)ul->sm.auto_new_dialog);
		rpc->struct_add(st, "d", "fail_ceiling",
				(int)line_ceiling(&ul->sm, &uacreg_cfg));
		rpc->struct_add(st, "d", "granted", (int)ul->sm.granted);
		rpc->struct_add(st, "d", "last_sent_ago",
				ul->sm.last_sent ? (int)((now - ul->sm.last_sent) / 1000) : -1);
		rpc->struct_add(st, "d", "next_due_in", urpc_in(ul->sm.due, now));
		urpc_str(rpc, st, "call_id", ul_dyn(ul, UL_CALL_ID));
		rpc->struct_add(st, "d", "cseq", (int)ul->sm.cseq);
	} else {
		urpc_str(rpc, st, "r_username", ul_str(ul, ROW_R_USERNAME));
		urpc_str(rpc, st, "r_domain", ul_str(ul, ROW_R_DOMAIN));
	}
	rpc->struct_add(st, "d", "expires_in", urpc_in(ul->sm.expires_at, now));
	rpc->struct_add(st, "d", "last_code", (int)ul->sm.last_code);
	urpc_str(rpc, st, "last_reason", ul_dyn(ul, UL_REASON));
	rpc->struct_add(
			st, "s", "fail_class", line_fail_class_name(ul->sm.fail_class));
	rpc->struct_add(st, "d", "fail_count", (int)ul->sm.fail_count);
	if(full) {
		struct carrier *c = carriers_get(&ustore->carriers, ul->cr.cid);
		rpc->struct_add(st, "s", "carrier", c ? c->key : "");
		rpc->struct_add(st, "s", "carrier_state",
				carrier_state_name(c ? c->state : CARRIER_NORMAL));
		rpc->struct_add(st, "d", "carrier_held", (int)ul->cr.held);
		rpc->struct_add(st, "d", "carrier_waiting", (int)ul->cr.waiting);
	}
}

static void urpc_info(rpc_t *rpc, void *ctx)
{
	struct uline *ul;
	void *st;
	str uuid;

	if(urpc_uuid(rpc, ctx, &uuid) < 0)
		return;
	ustore_lock();
	ul = ustore_find(&uuid);
	if(ul == NULL) {
		ustore_unlock();
		rpc->fault(ctx, 404, "no line with l_uuid %.*s", uuid.len, uuid.s);
		return;
	}
	if(rpc->add(ctx, "{", &st) >= 0)
		urpc_line(rpc, st, ul, 1);
	ustore_unlock();
}

/* uacreg.list [offset [limit [state]]] */
static void urpc_list(rpc_t *rpc, void *ctx)
{
	int offset = 0, limit = URPC_LIST_DEFAULT, want = -1, n = 0, skipped = 0;
	str state = STR_NULL;
	uint32_t id;
	struct uline *ul;
	void *th, *arr, *st;

	if(rpc->scan(ctx, "*d", &offset) < 1)
		offset = 0;
	else if(rpc->scan(ctx, "*d", &limit) < 1)
		limit = URPC_LIST_DEFAULT;
	else if(rpc->scan(ctx, "*.S", &state) == 1) {
		for(want = 0; want < LINE_STATE_COUNT; want++)
			if(strlen(line_state_name(want)) == (size_t)state.len
					&& !strncmp(line_state_name(want), state.s, state.len))
				break;
		if(want == LINE_STATE_COUNT) {
			rpc->fault(ctx, 400, "unknown state %.*s", state.len, state.s);
			return;
		}
	}
	if(offset < 0 || limit <= 0 || limit > URPC_LIST_MAX) {
		rpc->fault(ctx, 400, "offset >= 0 and limit 1 to %d", URPC_LIST_MAX);
		return;
	}
	if(rpc->add(ctx, "{", &th) < 0)
		return;
	ustore_lock();
	rpc->struct_add(th, "d", "total",
			(int)(want < 0 ? ustore->table.count : ustore->state_count[want]));
	rpc->struct_add(th, "d", "offset", offset);
	rpc->struct_add(th, "[", "lines", &arr);
	for(id = table_next(&ustore->table, 0); id != TABLE_NO_ID && n < limit;
			id = table_next(&ustore->table, id + 1)) {
		ul = table_get(&ustore->table, id);
		if(want >= 0 && ul->sm.state != want)
			continue;
		if(skipped++ < offset)
			continue;
		if(rpc->array_add(arr, "{", &st) < 0)
			break;
		urpc_line(rpc, st, ul, 0);
		n++;
	}
	ustore_unlock();
}

/* uacreg.carriers [offset [limit]]: each carrier with lines, its state and
 * its lines per state. One pass over the lines counts them all. */
static void urpc_carriers(rpc_t *rpc, void *ctx)
{
	int offset = 0, limit = URPC_LIST_DEFAULT, n = 0, skipped = 0, total = 0;
	uint32_t *counts, ncar, cid, id;
	struct carrier *c;
	struct uline *ul;
	uint64_t now = ul_now();
	void *th, *arr, *st, *ls;
	int s;

	if(rpc->scan(ctx, "*d", &offset) == 1 && rpc->scan(ctx, "*d", &limit) < 1)
		limit = URPC_LIST_DEFAULT;
	if(offset < 0 || limit <= 0 || limit > URPC_LIST_MAX) {
		rpc->fault(ctx, 400, "offset >= 0 and limit 1 to %d", URPC_LIST_MAX);
		return;
	}
	ustore_lock();
	ncar = ustore->carriers.count;
	counts = pkg_malloc((ncar ? ncar : 1) * LINE_STATE_COUNT * sizeof(*counts));
	if(counts == NULL) {
		ustore_unlock();
		rpc->fault(ctx, 500, "out of memory");
		return;
	}
	memset(counts, 0, (ncar ? ncar : 1) * LINE_STATE_COUNT * sizeof(*counts));
	for(id = table_next(&ustore->table, 0); id != TABLE_NO_ID;
			id = table_next(&ustore->table, id + 1)) {
		ul = table_get(&ustore->table, id);
		if(ul->cr.cid < ncar)
			counts[ul->cr.cid * LINE_STATE_COUNT + ul->sm.state]++;
	}
	for(cid = 0; cid < ncar; cid++)
		if(ustore->carriers.v[cid].lines)
			total++;
	if(rpc->add(ctx, "{", &th) < 0)
		goto done;
	rpc->struct_add(th, "d", "total", total);
	rpc->struct_add(th, "d", "offset", offset);
	rpc->struct_add(th, "[", "carriers", &arr);
	for(cid = 0; cid < ncar && n < limit; cid++) {
		c = &ustore->carriers.v[cid];
		if(c->lines == 0 || skipped++ < offset)
			continue;
		if(rpc->array_add(arr, "{", &st) < 0)
			break;
		rpc->struct_add(st, "s", "carrier", c->key);
		rpc->struct_add(st, "s", "state", carrier_state_name(c->state));
		rpc->struct_add(st, "d", "since_ago",
				c->since ? (int)((now - c->since) / 1000) : -1);
		rpc->struct_add(st, "d", "lines", (int)c->lines);
		rpc->struct_add(st, "d", "held", (int)c->held);
		rpc->struct_add(st, "d", "waiting", (int)c->waiting);
		rpc->struct_add(st, "d", "last_code", (int)c->last_code);
		rpc->struct_add(
				st, "s", "fail_class", line_fail_class_name(c->fail_class));
		rpc->struct_add(st, "d", "next_probe_in",
				c->state != CARRIER_NORMAL ? urpc_in(c->probe_due, now) : 0);
		if(rpc->struct_add(st, "{", "states", &ls) >= 0)
			for(s = 0; s < LINE_STATE_COUNT; s++)
				rpc->struct_add(ls, "d", line_state_name(s),
						(int)counts[cid * LINE_STATE_COUNT + s]);
		n++;
	}
done:
	ustore_unlock();
	pkg_free(counts);
}

struct urpc_domain
{
	str name;
	int count;
};

static int urpc_domain_cmp(const void *a, const void *b)
{
	return ((const struct urpc_domain *)b)->count
		   - ((const struct urpc_domain *)a)->count;
}

/* uacreg.summary: lines per state, per failure class, per carrier domain
 * (the URPC_DOMAINS_MAX largest) */
static void urpc_summary(rpc_t *rpc, void *ctx)
{
	struct urpc_domain *doms = NULL;
	int ndoms = 0, capdoms = 0, i, others = 0;
	void *th, *st;
	uint32_t id;
	struct uline *ul;
	str d;

	if(rpc->add(ctx, "{", &th) < 0)
		return;
	ustore_lock();
	rpc->struct_add(th, "d", "lines", (int)ustore->table.count);
	/* how long sending has waited for tm to free shared memory (0 = it
	 * does not wait): the first thing to look at when lines stay NEW */
	rpc->struct_add(th, "d", "shm_paused_ms",
			ustore->shm_paused_since
					? (int)((ul_now() - ustore->shm_paused_since) & 0x7fffffff)
					: 0);
	rpc->struct_add(th, "{", "states", &st);
	for(i = 0; i < LINE_STATE_COUNT; i++)
		rpc->struct_add(st, "d", line_state_name(i), ustore->state_count[i]);
	rpc->struct_add(th, "{", "fail_classes", &st);
	for(i = 1; i < LINE_FC_COUNT; i++)
		rpc->struct_add(
				st, "d", line_fail_class_name(i), ustore->fail_class_count[i]);
	/* domains: a linear count; the table is walked once per call */
	for(id = table_next(&ustore->table, 0); id != TABLE_NO_ID;
			id = table_next(&ustore->table, id + 1)) {
		ul = table_get(&ustore->table, id);
		d = ul_str(ul, ROW_R_DOMAIN);
		for(i = 0; i < ndoms; i++)
			if(doms[i].name.len == d.len && !memcmp(doms[i].name.s, d.s, d.len))
				break;
		if(i == ndoms) {
			if(ndoms == capdoms) {
				struct urpc_domain *nd;
				if(capdoms >= 4 * URPC_DOMAINS_MAX) {
					others++;
					continue;
				}
				capdoms = capdoms ? capdoms * 2 : 16;
				nd = pkg_realloc(doms, capdoms * sizeof(*doms));
				if(nd == NULL)
					break;
				doms = nd;
			}
			doms[ndoms].name = d;
			doms[ndoms].count = 0;
			ndoms++;
		}
		doms[i].count++;
	}
	if(doms)
		qsort(doms, ndoms, sizeof(*doms), urpc_domain_cmp);
	rpc->struct_add(th, "{", "domains", &st);
	for(i = 0; i < ndoms; i++) {
		char name[ROW_MAX_STR + 1];
		if(i >= URPC_DOMAINS_MAX) {
			others += doms[i].count;
			continue;
		}
		snprintf(name, sizeof(name), "%.*s", doms[i].name.len, doms[i].name.s);
		rpc->struct_add(st, "d", name, doms[i].count);
	}
	ustore_unlock();
	if(others)
		rpc->struct_add(th, "d", "other_domains", others);
	if(doms)
		pkg_free(doms);
}

static void urpc_command(rpc_t *rpc, void *ctx, enum ustore_cmd cmd)
{
	str uuid;
	int rc;

	if(urpc_uuid(rpc, ctx, &uuid) < 0)
		return;
	rc = ustore_command(&uuid, cmd);
	if(rc < 0) {
		rpc->fault(ctx, 404, "no line with l_uuid %.*s", uuid.len, uuid.s);
		return;
	}
	rpc->add(ctx, "s", "ok");
}

static void urpc_enable(rpc_t *rpc, void *ctx)
{
	urpc_command(rpc, ctx, USTORE_ENABLE);
}
static void urpc_disable(rpc_t *rpc, void *ctx)
{
	urpc_command(rpc, ctx, USTORE_DISABLE);
}
static void urpc_refresh(rpc_t *rpc, void *ctx)
{
	urpc_command(rpc, ctx, USTORE_REFRESH);
}
static void urpc_reset(rpc_t *rpc, void *ctx)
{
	urpc_command(rpc, ctx, USTORE_RESET);
}
static void urpc_remove(rpc_t *rpc, void *ctx)
{
	urpc_command(rpc, ctx, USTORE_REMOVE);
}

static void urpc_reload(rpc_t *rpc, void *ctx)
{
	struct udb_reload_result *res;
	void *th, *arr, *st;
	uint32_t i;
	int rc;

	res = pkg_malloc(sizeof(*res));
	if(res == NULL) {
		rpc->fault(ctx, 500, "out of memory");
		return;
	}
	rc = udb_reload(res);
	if(rc < 0) {
		pkg_free(res);
		rpc->fault(ctx, 503,
				rc == -1 ? "database unavailable: nothing changed, every line "
						   "runs on"
						 : "database failed midway: rows read so far applied, "
						   "no line removed");
		return;
	}
	if(rpc->add(ctx, "{", &th) >= 0) {
		rpc->struct_add(th, "dddddd", "unchanged", res->unchanged, "added",
				res->added, "changed", res->changed, "updated", res->updated,
				"removed", res->removed, "skipped", res->skipped);
		rpc->struct_add(th, "[", "skipped_rows", &arr);
		for(i = 0; i < res->nskipped; i++) {
			if(rpc->array_add(arr, "{", &st) < 0)
				break;
			rpc->struct_add(st, "ss", "l_uuid", res->skipped_rows[i].l_uuid,
					"reason", res->skipped_rows[i].why);
		}
	}
	pkg_free(res);
}

static const char *urpc_count_doc[] = {"Number of lines in memory.", 0};
static const char *urpc_info_doc[] = {
		"Every field of a line but its secrets: uacreg.info l_uuid", 0};
static const char *urpc_list_doc[] = {
		"Lines, paged: uacreg.list [offset [limit [state]]]", 0};
static const char *urpc_summary_doc[] = {
		"Lines per state, per failure class and per carrier domain.", 0};
static const char *urpc_carriers_doc[] = {
		"Carriers with their state and lines per state: [offset [limit]]", 0};
static const char *urpc_enable_doc[] = {"Enable a line: l_uuid", 0};
static const char *urpc_disable_doc[] = {
		"Unregister and disable a line: l_uuid", 0};
static const char *urpc_refresh_doc[] = {"Send a REGISTER now: l_uuid", 0};
static const char *urpc_reset_doc[] = {
		"Failure count to 0 (memory and SQL): l_uuid", 0};
static const char *urpc_remove_doc[] = {
		"Unregister and forget a line (SQL untouched): l_uuid", 0};
static const char *urpc_reload_doc[] = {
		"Read the table again; only changed rows send.", 0};

rpc_export_t urpc_cmds[] = {{"uacreg.count", urpc_count, urpc_count_doc, 0},
		{"uacreg.info", urpc_info, urpc_info_doc, 0},
		{"uacreg.list", urpc_list, urpc_list_doc, 0},
		{"uacreg.summary", urpc_summary, urpc_summary_doc, 0},
		{"uacreg.carriers", urpc_carriers, urpc_carriers_doc, 0},
		{"uacreg.enable", urpc_enable, urpc_enable_doc, 0},
		{"uacreg.disable", urpc_disable, urpc_disable_doc, 0},
		{"uacreg.refresh", urpc_refresh, urpc_refresh_doc, 0},
		{"uacreg.reset", urpc_reset, urpc_reset_doc, 0},
		{"uacreg.remove", urpc_remove, urpc_remove_doc, 0},
		{"uacreg.reload", urpc_reload, urpc_reload_doc, 0}, {0, 0, 0, 0}};
