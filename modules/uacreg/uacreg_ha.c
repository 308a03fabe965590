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
 * uacreg - HA mode (see uacreg_ha.h): the uacreg HA process, one round
 * every ha_interval_ms:
 *
 *   1. renew this node's lease (lease_until = NOW(3) + lease_ttl);
 *   2. read the node table (who is live) and the owner table;
 *   3. for every line: ha_decide() - a line this node gives up or lost is
 *      dropped at once, silently; claims and releases are compare-and-set
 *      statements whose affected rows decide; a line claimed is read again
 *      from SQL and registers at once;
 *   4. publish the fence: sending may go on until (when the renew of this
 *      round was sent) + lease_ttl - margin.
 *
 * A round that cannot renew or read publishes nothing: the fence passes and
 * the uacreg process stops sending before the lease can expire.
 */
#include <unistd.h>

#include "../../core/dprint.h"
#include "../../core/timer_proc.h"
#include "../../core/mem/shm_mem.h"
#include "../../core/mem/pkg.h"
#include "../../core/pt.h"
#include "../../core/sr_module.h"
#include "uacreg_db.h"
#include "uacreg_reload.h"
#include "uacreg_ha.h"

/* modparams */
int uacreg_ha_mode = HA_OFF;
str uacreg_ha_mode_param = str_init("off");
str uacreg_node_id = STR_NULL;
int uacreg_node_priority = 100;
int uacreg_lease_ttl = 10;
int uacreg_ha_interval_ms = 0;
str uacreg_node_table = str_init("uacreg_node");
str uacreg_owner_table = str_init("uacreg_owner");

counter_handle_t uacreg_cnt_takeovers;
counter_handle_t uacreg_cnt_leases_lost;
counter_handle_t uacreg_cnt_fenced;

struct uha_shared *uha = NULL;

static char uha_hostname[HA_NODE_ID_MAX + 1];
/* owner rows of removed rows are swept every this many rounds */
#define UHA_CLEANUP_ROUNDS 30

int uha_init(void)
{
	ur_str_t m = {uacreg_ha_mode_param.s, (size_t)uacreg_ha_mode_param.len};
	ur_str_t id;
	uint32_t ttl_ms, margin;

	uacreg_ha_mode = ha_mode_parse(m);
	if(uacreg_ha_mode < 0) {
		LM_ERR("ha_mode [%.*s]: off, active or standby\n",
				uacreg_ha_mode_param.len, uacreg_ha_mode_param.s);
		return -1;
	}
	if(uacreg_ha_mode == HA_OFF)
		return 0;
	if(uacreg_node_id.s == NULL || uacreg_node_id.len == 0) {
		if(gethostname(uha_hostname, sizeof(uha_hostname)) < 0) {
			LM_ERR("node_id is not set and the hostname is unknown\n");
			return -1;
		}
		uha_hostname[sizeof(uha_hostname) - 1] = '\0';
		uacreg_node_id.s = uha_hostname;
		uacreg_node_id.len = strlen(uha_hostname);
	}
	id.s = uacreg_node_id.s;
	id.len = uacreg_node_id.len;
	if(!ha_node_id_valid(id)) {
		LM_ERR("node_id [%.*s]: 1 to %d characters of A-Z a-z 0-9 . _ : -\n",
				uacreg_node_id.len, uacreg_node_id.s, HA_NODE_ID_MAX);
		return -1;
	}
	if(uacreg_lease_ttl < 3 || uacreg_lease_ttl > 3600) {
		LM_ERR("lease_ttl must be 3 to 3600 seconds\n");
		return -1;
	}
	ttl_ms = (uint32_t)uacreg_lease_ttl * 1000;
	margin = ha_margin_ms(ttl_ms);
	if(uacreg_ha_interval_ms == 0)
		uacreg_ha_interval_ms = (int)(ttl_ms / 5);
	/* two rounds fit before the fence of a round passes: one slow round
	 * or one lost statement does not stop sending */
	if(uacreg_ha_interval_ms < 100
			|| (uint32_t)uacreg_ha_interval_ms > (ttl_ms - margin) / 2) {
		LM_ERR("ha_interval_ms must be 100 to %u with lease_ttl %d\n",
				(ttl_ms - margin) / 2, uacreg_lease_ttl);
		return -1;
	}
	if(uacreg_db_url.len < 5 || strncasecmp(uacreg_db_url.s, "mysql", 5) != 0) {
		LM_ERR("ha_mode needs a MySQL/MariaDB db_url (its statements use "
			   "NOW(3) and multi-table UPDATE)\n");
		return -1;
	}
	uha = shm_malloc(sizeof(*uha));
	if(uha == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(uha, 0, sizeof(*uha));
	memcpy(uha->names[UHA_SELF], uacreg_node_id.s, uacreg_node_id.len);
	uha->nnames = UHA_SELF + 1;
	register_basic_timers(1);
	LM_INFO("uacreg: HA: node %.*s, mode %s, priority %d, lease %d s, "
			"rounds every %d ms\n",
			uacreg_node_id.len, uacreg_node_id.s, ha_mode_name(uacreg_ha_mode),
			uacreg_node_priority, uacreg_lease_ttl, uacreg_ha_interval_ms);
	return 0;
}

const char *uha_owner_name(const struct uline *ul)
{
	if(uha == NULL || ul->ha_owner == UHA_NONE || ul->ha_owner >= uha->nnames)
		return "";
	return uha->names[ul->ha_owner];
}

/* Under the lock. The index of a node_id in uha->names, added when new;
 * UHA_NONE for NULL (and when the list is full: shown as "") */
static uint8_t uha_name_idx(ur_str_t id)
{
	uint32_t i;

	if(id.s == NULL || id.len == 0 || id.len > HA_NODE_ID_MAX)
		return UHA_NONE;
	for(i = UHA_SELF; i < uha->nnames; i++)
		if(strlen(uha->names[i]) == id.len
				&& memcmp(uha->names[i], id.s, id.len) == 0)
			return (uint8_t)i;
	if(uha->nnames > UHA_NAMES_MAX)
		return UHA_NONE;
	memcpy(uha->names[uha->nnames], id.s, id.len);
	uha->names[uha->nnames][id.len] = '\0';
	return (uint8_t)uha->nnames++;
}

void uha_worker_check(uint64_t now)
{
	uint64_t since;

	if(uacreg_ha_mode == HA_OFF)
		return;
	ustore_lock();
	if(uha->fenced || now < uha->fence_until || uha->fence_until == 0) {
		ustore_unlock();
		return;
	}
	uha->fenced = 1;
	since = uha->renew_sent;
	ustore_unlock();
	counter_inc(uacreg_cnt_fenced);
	LM_INFO("uacreg: HA: lease not renewed for %llus: sending nothing until "
			"the database answers\n",
			(unsigned long long)(now - since) / 1000);
}

/* --- the HA process --- */

/* a claim or release the round owes, done after the owner table is read */
struct uha_action
{
	uint64_t db_id;
	uint64_t epoch;	  /* the row's, as read */
	uint32_t id, gen; /* the line (ustore_get) */
	uint8_t what;	  /* HA_CLAIM, HA_RELEASE or HA_ADOPT */
	uint8_t prev;	  /* the row's owner (uha->names index) */
};

/* rows another node loaded that this node should own, loaded per round */
#define UHA_LOADS_MAX 64

struct uha_round
{
	struct ha_node nodes[UHA_NODES_MAX];
	struct uha_node_info info[UHA_NODES_MAX];
	int n;
	int self;		 /* index of this node in nodes[] */
	uint8_t *seen;	 /* by table id: the owner table has a row */
	uint32_t nseen;	 /* bytes of seen */
	int need_insert; /* lines without an owner row */
	struct uha_action *act;
	uint32_t nact, maxact;
	uint32_t lost;
	uint32_t nload;
	char load[UHA_LOADS_MAX][ROW_MAX_STR + 1];
};

static int uha_first_renew = 1;
/* when this node's first renew succeeded (uclock_now ms) */
static uint64_t uha_live_since = 0;
/* the main process started the HA process: its stop releases the lines
 * (not a start-up that failed, which owns nothing) */
static int uha_started = 0;
static uint32_t uha_rounds = 0;
/* lines without an owner row at the last round, and when the statement
 * that creates their rows last ran */
static int uha_missing = 0;
static uint32_t uha_missing_round = 0;

/* Under the lock. A line this node gives up or lost: it stops at once and
 * silently (line_release: no REGISTER, no unregister, its reply in flight
 * is ignored, its count is the owner's). */
static void uha_drop(struct uline *ul, uint8_t owner, uint32_t epoch, int lost)
{
	ul->ha_owner = owner;
	ul->ha_epoch = epoch;
	ustore_apply(ul, line_release(&ul->sm));
	if(lost) {
		counter_inc(uacreg_cnt_leases_lost);
		ustore_queue_ha_event(ul, UHA_EV_LOST);
	}
}

static void uha_add_action(struct uha_round *r, struct uline *ul, uint8_t what,
		uint64_t epoch, uint8_t prev)
{
	struct uha_action *a;

	if(r->nact >= r->maxact)
		return; /* the next round does the rest */
	a = &r->act[r->nact++];
	a->db_id = ul->db_id;
	a->epoch = epoch;
	a->id = ul->id;
	a->gen = ustore_gen(ul);
	a->what = what;
	a->prev = prev;
}

/* Under the lock. One owner row against the line of its l_uuid. */
static void uha_row(
		struct uha_round *r, ur_str_t l_uuid, ur_str_t node, uint64_t epoch)
{
	struct ha_view v;
	struct uline *ul;
	str key;
	int d, i, bits;
	uint8_t owner;

	key.s = (char *)l_uuid.s;
	key.len = (int)l_uuid.len;
	if(key.len == 0)
		return;
	ul = ustore_find(&key);
	if(ul == NULL) {
		/* a row this node has not loaded (added, and reloaded on another
		 * node only): loaded here when this node should own it, claimed
		 * at the next round */
		d = ha_desired(uacreg_ha_mode, l_uuid, r->nodes, r->n);
		if(d >= 0 && d == r->self && r->nload < UHA_LOADS_MAX
				&& l_uuid.len <= ROW_MAX_STR) {
			memcpy(r->load[r->nload], l_uuid.s, l_uuid.len);
			r->load[r->nload][l_uuid.len] = '\0';
			r->nload++;
		}
		return;
	}
	if(ul->id == TABLE_NO_ID || ul->id >= r->nseen)
		return;
	r->seen[ul->id] = 1;
	if(ul->sm.state == LINE_REMOVED)
		return; /* on its way out: nothing to own */
	memset(&v, 0, sizeof(v));
	owner = uha_name_idx(node);
	v.owned = ul->ha_owner == UHA_SELF;
	v.epoch = ul->ha_epoch;
	v.row = 1;
	v.row_self = owner == UHA_SELF;
	v.row_epoch = epoch;
	if(owner != UHA_NONE && owner != UHA_SELF) {
		for(i = 0; i < r->n; i++)
			if(r->nodes[i].alive && ur_str_eq(r->nodes[i].id, node))
				v.row_other_alive = 1;
	}
	d = ha_desired(uacreg_ha_mode, l_uuid, r->nodes, r->n);
	v.desired_self = d >= 0 && d == r->self;
	v.desired_other = d >= 0 && d != r->self;
	bits = ha_decide(&v);
	if(bits & HA_DROP) {
		uha_drop(ul, owner, (uint32_t)epoch, !(bits & HA_RELEASE));
		if(!(bits & HA_RELEASE))
			r->lost++;
	} else if(!v.owned) {
		/* shown by uacreg.info/list */
		ul->ha_owner = owner;
		ul->ha_epoch = (uint32_t)epoch;
	}
	if(bits & HA_RELEASE)
		uha_add_action(r, ul, HA_RELEASE, epoch, owner);
	if(bits & HA_CLAIM)
		uha_add_action(r, ul, HA_CLAIM, epoch, owner);
	if(bits & HA_ADOPT)
		uha_add_action(r, ul, HA_ADOPT, epoch, owner);
}

/* Under the lock. A line without an owner row: nobody may own it. */
static int uha_unseen(struct uline *ul, void *arg)
{
	struct uha_round *r = arg;

	if(ul->id >= r->nseen || r->seen[ul->id])
		return 0; /* seen, or added since the round began */
	if(ul->sm.state == LINE_REMOVED)
		return 0;
	if(ul->ha_owner == UHA_SELF)
		uha_drop(ul, UHA_NONE, 0, 1);
	else
		ul->ha_owner = UHA_NONE;
	r->need_insert++;
	return 0;
}

/* Under the lock: a carrier's share owned here, in active mode, where a
 * node sees only its own lines fail (carrier_threshold) */
static void uha_carriers_begin(void)
{
	if(uacreg_ha_mode == HA_ACTIVE)
		carriers_owned_begin(&ustore->carriers);
}

static void uha_carrier_owned(struct uline *ul)
{
	if(uacreg_ha_mode == HA_ACTIVE && ul->ha_owner == UHA_SELF)
		carriers_owned_add(&ustore->carriers, &ul->cr);
}

static int uha_count_owned(struct uline *ul, void *arg)
{
	uint32_t *n = arg;

	if(ul->ha_owner == UHA_SELF)
		(*n)++;
	uha_carrier_owned(ul);
	return 0;
}

/* reads the owner table and decides for every line; 0 or -1 */
static int uha_read_owners(struct uha_round *r)
{
	struct udb_cursor cur;
	ur_str_t l_uuid, node;
	uint64_t epoch;
	int more;

	if(udb_ha_owner_select(&cur) < 0)
		return -1;
	for(;;) {
		ustore_lock();
		while(udb_ha_owner_row(&cur, &l_uuid, &node, &epoch) > 0)
			uha_row(r, l_uuid, node, epoch);
		ustore_unlock();
		more = udb_cursor_more(&cur);
		if(more < 0) {
			udb_cursor_close(&cur);
			return -1;
		}
		if(more == 0)
			break;
	}
	udb_cursor_close(&cur);
	ustore_lock();
	ustore_foreach(uha_unseen, r);
	ustore_unlock();
	return 0;
}

/* the takeovers of a round, for one log line per previous owner */
static void uha_log_takeovers(struct uha_round *r, uint32_t *done)
{
	uint32_t i, j, n;
	uint64_t emax;
	uint8_t prev;
	const char *name;

	for(i = 0; i < r->nact; i++) {
		if(!done[i])
			continue;
		prev = r->act[i].prev;
		n = 0;
		emax = 0;
		for(j = i; j < r->nact; j++) {
			if(done[j] && r->act[j].prev == prev) {
				n++;
				if(r->act[j].epoch + 1 > emax)
					emax = r->act[j].epoch + 1;
				done[j] = 0;
			}
		}
		ustore_lock();
		name = prev == UHA_NONE ? "(released)" : uha->names[prev];
		LM_INFO("uacreg: HA: node %.*s took over %u lines from %s (epoch "
				"up to %llu)\n",
				uacreg_node_id.len, uacreg_node_id.s, n, name,
				(unsigned long long)emax);
		ustore_unlock();
	}
}

/* the claims and releases of the round, within a time budget */
static void uha_act(struct uha_round *r, uint64_t deadline)
{
	struct uha_action *a;
	uint32_t i, *taken;
	char buf[ROW_MAX_STR + 1];
	str uuid;
	struct uline *ul;
	int rc, any = 0;

	taken = pkg_malloc(sizeof(*taken) * (r->nact ? r->nact : 1));
	if(taken == NULL)
		return;
	memset(taken, 0, sizeof(*taken) * (r->nact ? r->nact : 1));
	for(i = 0; i < r->nact; i++) {
		a = &r->act[i];
		ustore_lock();
		ul = ustore_get(a->id, a->gen);
		if(ul) {
			uuid = ul_str(ul, ROW_L_UUID);
			memcpy(buf, uuid.s, uuid.len);
			uuid.s = buf;
		}
		ustore_unlock();
		if(ul == NULL)
			continue; /* replaced or gone meanwhile: the next round */
		if(a->what == HA_RELEASE) {
			/* the line stopped already: a failed release only delays the
			 * other node until this node's next round */
			udb_ha_release(a->db_id, a->epoch);
			continue;
		}
		if(uclock_now() >= deadline)
			continue; /* claims wait for the next round */
		if(a->what == HA_CLAIM) {
			/* A line nobody ever owned (epoch 0) waits until this node has
			 * been live for half a lease: nodes of a cluster started
			 * together all show up first, and each line is claimed once,
			 * by the node the hash names, instead of all by the first
			 * and half of them moving on a moment later. An orphan or a
			 * released line (epoch > 0) is claimed at once. */
			if(a->epoch == 0
					&& uclock_now() - uha_live_since
							   < (uint64_t)uacreg_lease_ttl * 500)
				continue;
			rc = udb_ha_claim(a->db_id, a->epoch);
			if(rc != 1)
				continue; /* another node won, or the database failed */
			/* a takeover registers at once; a line nobody ever owned
			 * starts as at a start-up (start_spread) */
			if(ureload_claim(&uuid, (uint32_t)(a->epoch + 1), a->epoch > 0)
					< 0) {
				/* owned, but its row could not be read: the line is
				 * owned as loaded and registers from it */
				ustore_lock();
				ul = ustore_find(&uuid);
				if(ul) {
					struct line_env env = ustore_env();
					ul->ha_owner = UHA_SELF;
					ul->ha_epoch = (uint32_t)(a->epoch + 1);
					ustore_apply(ul, line_refresh(&ul->sm, &env));
				}
				ustore_unlock();
			}
			ustore_lock();
			ul = ustore_find(&uuid);
			if(ul && a->prev != UHA_SELF && a->epoch > 0) {
				counter_inc(uacreg_cnt_takeovers);
				ustore_queue_ha_event(ul, UHA_EV_TAKEOVER);
				taken[i] = 1;
				any = 1;
			}
			ustore_unlock();
		} else if(a->what == HA_ADOPT) {
			/* ours in the table: no statement, the row read again */
			if(ureload_claim(&uuid, (uint32_t)a->epoch, 0) < 0)
				continue;
		}
	}
	if(any)
		uha_log_takeovers(r, taken);
	pkg_free(taken);
	for(i = 0; i < r->nload && uclock_now() < deadline; i++) {
		uuid.s = r->load[i];
		uuid.len = strlen(r->load[i]);
		if(ureload_one(&uuid) == 1)
			LM_INFO("uacreg: HA: line [%s] loaded: another node has it in "
					"its table and this node should own it\n",
					r->load[i]);
	}
}

static void uha_publish(struct uha_round *r, uint64_t t0)
{
	uint32_t ttl_ms = (uint32_t)uacreg_lease_ttl * 1000;
	uint32_t owned = 0;
	int i;

	ustore_lock();
	uha_carriers_begin();
	ustore_foreach(uha_count_owned, &owned);
	uha->owned_lines = owned;
	uha->nnodes = (uint32_t)r->n;
	for(i = 0; i < r->n; i++)
		uha->nodes[i] = r->info[i];
	uha->renew_sent = t0;
	uha->fence_until = ha_fence_deadline(t0, ttl_ms, ha_margin_ms(ttl_ms));
	if(uha->fenced)
		LM_INFO("uacreg: HA: lease renewed: node %.*s sends again (%u lines "
				"owned)\n",
				uacreg_node_id.len, uacreg_node_id.s, owned);
	uha->fenced = 0;
	ustore_unlock();
}

static int uha_count_node_lines(struct uline *ul, void *arg)
{
	uint32_t *counts = arg;

	counts[ul->ha_owner]++;
	uha_carrier_owned(ul);
	return 0;
}

/* Nodes in other modes would each leave the lines to the other (active
 * hashes, standby follows priority): said once, until it changes */
static void uha_check_modes(struct uha_round *r)
{
	static int said = 0;
	const char *mine = ha_mode_name(uacreg_ha_mode);
	int i, other = -1;

	for(i = 0; i < r->n; i++)
		if(r->info[i].alive && strcmp(r->info[i].mode, mine) != 0)
			other = i;
	if(other >= 0 && !said)
		LM_ERR("uacreg: HA: node %s runs ha_mode %s, this node %s: every "
			   "node on one table needs the same ha_mode, or some lines "
			   "have no owner\n",
				r->info[other].id, r->info[other].mode, mine);
	said = other >= 0;
}

static void uha_tick(unsigned int ticks, void *param)
{
	struct uha_round *r;
	uint64_t t0 = uclock_now();
	uint32_t counts[UHA_NAMES_MAX + 1];
	uint32_t ttl_ms = (uint32_t)uacreg_lease_ttl * 1000;
	ur_str_t self = {uacreg_node_id.s, (size_t)uacreg_node_id.len};
	int i, j, loaded;
	(void)ticks;
	(void)param;

	if(udb_ha_renew(uha_first_renew) < 0)
		return; /* the fence passes: the uacreg process stops sending */
	if(uha_first_renew)
		uha_live_since = t0;
	uha_first_renew = 0;
	r = pkg_malloc(sizeof(*r));
	if(r == NULL)
		return;
	memset(r, 0, sizeof(*r));
	r->n = udb_ha_nodes(r->info, UHA_NODES_MAX);
	if(r->n < 0)
		goto out;
	r->self = -1;
	for(i = 0; i < r->n; i++) {
		r->nodes[i].id = ur_str_c(r->info[i].id);
		r->nodes[i].priority = r->info[i].priority;
		r->nodes[i].alive = r->info[i].alive;
		if(ur_str_eq(r->nodes[i].id, self)) {
			r->self = i;
			/* renewed just now, whatever the clocks say */
			r->nodes[i].alive = r->info[i].alive = 1;
		}
	}
	if(r->self < 0)
		goto out; /* the renew did not show: try again */
	uha_check_modes(r);
	ustore_lock();
	loaded = ustore->table_loaded;
	r->nseen = ustore->table.nslots;
	ustore_unlock();
	if(loaded) {
		r->maxact = 20000;
		r->seen = pkg_malloc(r->nseen + 1);
		r->act = pkg_malloc(sizeof(*r->act) * r->maxact);
		if(r->seen == NULL || r->act == NULL)
			goto out;
		memset(r->seen, 0, r->nseen + 1);
		if(uha_read_owners(r) < 0)
			goto out;
		/* lines without an owner row: new rows (claimed at the next
		 * round), or rows deleted in SQL that this node has not reloaded
		 * yet - for those the statement is retried only now and then */
		if(r->need_insert
				&& (r->need_insert != uha_missing
						|| uha_rounds - uha_missing_round
								   >= UHA_CLEANUP_ROUNDS)) {
			udb_ha_insert_missing();
			uha_missing_round = uha_rounds;
		}
		uha_missing = r->need_insert;
		if(++uha_rounds % UHA_CLEANUP_ROUNDS == 0)
			udb_ha_cleanup();
	}
	/* ownership is read: sending may go on, until this round's lease
	 * would end. Claims follow within the first third of the lease. */
	uha_publish(r, t0);
	if(loaded) {
		uha_act(r, t0 + ttl_ms / 3);
		/* lines per node, for uacreg.nodes */
		memset(counts, 0, sizeof(counts));
		ustore_lock();
		uha_carriers_begin();
		ustore_foreach(uha_count_node_lines, counts);
		for(i = 0; i < r->n && i < (int)uha->nnodes; i++) {
			uha->nodes[i].lines = 0;
			for(j = UHA_SELF; j < (int)uha->nnames; j++)
				if(strcmp(uha->names[j], uha->nodes[i].id) == 0)
					uha->nodes[i].lines = counts[j];
		}
		uha->owned_lines = counts[UHA_SELF];
		ustore_unlock();
	}
out:
	if(r->seen)
		pkg_free(r->seen);
	if(r->act)
		pkg_free(r->act);
	pkg_free(r);
}

int uha_child_init(int rank)
{
	if(uacreg_ha_mode == HA_OFF || rank != PROC_MAIN)
		return 0;
	if(fork_basic_utimer(PROC_TIMER, "uacreg HA", 1, uha_tick, NULL,
			   (unsigned int)uacreg_ha_interval_ms * 1000)
			< 0) {
		LM_ERR("cannot start the uacreg HA process\n");
		return -1;
	}
	uha_started = 1;
	return 0;
}

void uha_shutdown(void)
{
	int n;

	if(uacreg_ha_mode == HA_OFF || uha == NULL || !uha_started)
		return;
	/* every line of this node is released and its lease ends: a survivor
	 * claims them at its next round instead of after lease_ttl */
	n = udb_ha_release_all();
	if(n < 0 || udb_ha_end_lease() < 0) {
		LM_WARN("uacreg: HA: could not release this node's lines: the "
				"others take them over when its lease expires\n");
		return;
	}
	LM_INFO("uacreg: HA: node %.*s stopped: %d lines released\n",
			uacreg_node_id.len, uacreg_node_id.s, n);
}
