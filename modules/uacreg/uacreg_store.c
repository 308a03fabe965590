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
 * uacreg - the lines in shared memory and everything that holds them:
 * table, send queue, pacer, pending work, events (see uacreg_store.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "../../core/dprint.h"
#include "../../core/mem/shm_mem.h"
#include "../../core/rand/kam_rand.h"
#include "uacreg_store.h"
#include "uacreg_ha.h"
#include "uacreg_worker.h"

struct ustore *ustore = NULL;
/* the lines' settings, from the module's parameters (mod_init) */
struct line_config uacreg_cfg;

/* modparams carrier_window, carrier_min_lines, carrier_share,
 * carrier_probe_max, and the rule's settings made from them */
int uacreg_carrier_window = 600;
int uacreg_carrier_min_lines = 3;
int uacreg_carrier_share = 50;
int uacreg_carrier_probe_max = 30;
struct carrier_config uacreg_ccfg;

counter_handle_t uacreg_cnt_carrier_refusals;
counter_handle_t uacreg_cnt_carrier_outages;

static void *ul_shm_alloc(size_t n)
{
	return shm_malloc(n);
}
static void *ul_shm_realloc(void *p, size_t n)
{
	return shm_realloc(p, n);
}
static void ul_shm_free(void *p)
{
	shm_free(p);
}
static const struct ur_alloc ul_shm = {
		ul_shm_alloc, ul_shm_realloc, ul_shm_free};

uint64_t uclock_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct line_env ustore_env(void)
{
	struct line_env env;
	env.now = uclock_now();
	env.rnd = (uint32_t)kam_rand();
	env.cfg = &uacreg_cfg;
	env.no_count = 0;
	return env;
}

struct line_env ustore_env_for(const struct uline *ul)
{
	struct line_env env = ustore_env();

	env.no_count = !carrier_counts(carriers_get(&ustore->carriers, ul->cr.cid));
	return env;
}

int ustore_init(
		uint32_t hash_size, uint32_t rate, uint32_t burst, uint32_t start_burst)
{
	ustore = shm_malloc(sizeof(*ustore));
	if(ustore == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(ustore, 0, sizeof(*ustore));
	if(lock_init(&ustore->lock) == NULL
			|| lock_init(&ustore->pool_lock) == NULL) {
		LM_ERR("cannot init the store locks\n");
		return -1;
	}
	pool_init(&ustore->pool, &ul_shm);
	if(table_init(&ustore->table, &ul_shm, hash_size) < 0
			|| sched_init(&ustore->sched, &ul_shm) < 0
			|| carriers_init(&ustore->carriers, &ul_shm) < 0) {
		SHM_MEM_ERROR;
		return -1;
	}
	pacer_init(&ustore->pacer, rate, burst, uclock_now());
	pacer_init(&ustore->start_pacer, rate, start_burst, uclock_now());
	/* made before the fork: every process inherits it */
	ustore->worker_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if(ustore->worker_wake_fd < 0) {
		LM_ERR("cannot create the uacreg process's eventfd: %s\n",
				strerror(errno));
		return -1;
	}
	return 0;
}

void ustore_destroy(void)
{
	uint32_t id;
	if(ustore == NULL)
		return;
	/* At shutdown every other process has ended: a lock still held is one
	 * that died inside it, leaving the table half changed, and walking it
	 * would crash. The memory goes with the process anyway. */
	if(lock_try(&ustore->lock) != 0 || lock_try(&ustore->pool_lock) != 0) {
		LM_WARN("the line store was left locked by a process that ended: "
				"not freeing it\n");
		return;
	}
	lock_release(&ustore->pool_lock); /* ul_free() takes it */
	for(id = table_next(&ustore->table, 0); id != TABLE_NO_ID;
			id = table_next(&ustore->table, id + 1))
		ul_free(table_get(&ustore->table, id));
	table_destroy(&ustore->table);
	sched_destroy(&ustore->sched);
	carriers_destroy(&ustore->carriers);
	pool_destroy(&ustore->pool);
	shm_free(ustore);
	ustore = NULL;
}

/* a line's block ends at its strings: the struct's tail padding (after
 * data[]) is not asked of the pool. At least sizeof(struct uline) while
 * UL_DYN_INITIAL is (ul_new memsets the whole struct). */
#define UL_HEAD offsetof(struct uline, data)

struct uline *ul_new(const struct row *r, uint64_t db_id)
{
	struct uline *ul;
	size_t size = 0;
	char *p;
	int f;

	for(f = 0; f < ROW_STR_COUNT; f++)
		size += r->s[f].len;
	lock_get(&ustore->pool_lock);
	ul = pool_alloc(&ustore->pool, UL_HEAD + size + UL_DYN_INITIAL);
	lock_release(&ustore->pool_lock);
	if(ul == NULL) {
		SHM_MEM_ERROR;
		return NULL;
	}
	memset(ul, 0, sizeof(*ul));
	ul->dyn_cap = UL_DYN_INITIAL;
	p = ul->data;
	for(f = 0; f < ROW_STR_COUNT; f++) {
		ul->slen[f] = (uint8_t)r->s[f].len;
		if(r->s[f].s == NULL)
			ul->snull |= 1u << f;
		else if(r->s[f].len)
			memcpy(p, r->s[f].s, r->s[f].len);
		p += r->s[f].len;
	}
	ul->db_id = db_id;
	ul->id = TABLE_NO_ID;
	ul->fingerprint = row_reg_fingerprint(r);
	ul->row_flags = (uint32_t)r->flags;
	ul->reg_delay = (uint32_t)r->reg_delay;
	ul->row_expires = (uint32_t)r->expires;
	ul->db_count = (uint32_t)r->fail_count;
	ul->row_inull = (uint8_t)r->int_null;
	ul->sm.reauth_new_dialog = (int8_t)r->reauth_new_dialog;
	ul->sm.fail_ceiling = (int32_t)r->fail_ceiling;
	ul->sm.fail_count = (uint32_t)r->fail_count;
	return ul;
}

void ul_set_invalid_why(struct uline *ul, const char *why)
{
	uint32_t i;

	if(why == NULL) {
		ul->row_invalid = 0;
		return;
	}
	for(i = 0; i < ustore->invalid_why_count; i++)
		if(ustore->invalid_why[i] == why)
			break;
	if(i == ustore->invalid_why_count) {
		/* row_validate() has far fewer reasons than this: never full */
		if(i == UL_INVALID_WHY_MAX)
			i = UL_INVALID_WHY_MAX - 1;
		else
			ustore->invalid_why_count++;
		ustore->invalid_why[i] = why;
	}
	ul->row_invalid = (uint8_t)(i + 1);
}

/* what the line asked of the pool: pool_free() needs it back */
static size_t ul_size(const struct uline *ul)
{
	return UL_HEAD + ul_dyn_off(ul) + ul->dyn_cap;
}

void ul_free(struct uline *ul)
{
	if(ul == NULL)
		return;
	lock_get(&ustore->pool_lock);
	pool_free(&ustore->pool, ul, ul_size(ul));
	lock_release(&ustore->pool_lock);
}

/* the line moved from `old` to ul: the table and the pending list follow */
static void ul_moved(struct uline *ul, const struct uline *old)
{
	str uuid = ul_str(ul, ROW_L_UUID);
	ur_str_t key = {uuid.s, (size_t)uuid.len};
	struct uline *p;

	if(ul->id != TABLE_NO_ID)
		table_move(&ustore->table, ul->id, ul, key);
	if(!ul->pending)
		return;
	if(ustore->pending_head == old)
		ustore->pending_head = ul;
	for(p = ustore->pending_head; p; p = p->next_pending) {
		if(p->next_pending == old) {
			p->next_pending = ul;
			break;
		}
	}
	if(ustore->pending_tail == old)
		ustore->pending_tail = ul;
}

int ul_set_dyn(struct uline **ulp, const str *vals[UL_DYN_COUNT])
{
	struct uline *ul = *ulp, *nu;
	/* the new strings may point into the line itself: build them apart */
	char buf[UL_DYN_COUNT * 256 + UL_REASON_MAX];
	str cur;
	size_t size = 0, room;
	int i, len[UL_DYN_COUNT];

	for(i = 0; i < UL_DYN_COUNT; i++) {
		cur = vals[i] ? *vals[i] : ul_dyn(ul, i);
		if(cur.len < 0 || size + cur.len > sizeof(buf))
			return -1;
		if(cur.len)
			memcpy(buf + size, cur.s, cur.len);
		len[i] = cur.len;
		size += cur.len;
	}
	if(size > ul->dyn_cap) {
		/* grow with some slack, so the next nonce of the same carrier
		 * (same length, give or take) fits without moving again */
		room = size + 16;
		lock_get(&ustore->pool_lock);
		nu = pool_realloc(&ustore->pool, ul, ul_size(ul),
				UL_HEAD + ul_dyn_off(ul) + room);
		lock_release(&ustore->pool_lock);
		if(nu == NULL) {
			SHM_MEM_ERROR;
			return -1;
		}
		nu->dyn_cap = (uint16_t)room;
		if(nu != ul)
			ul_moved(nu, ul);
		ul = *ulp = nu;
	}
	memcpy(ul->data + ul_dyn_off(ul), buf, size);
	for(i = 0; i < UL_DYN_COUNT; i++)
		ul->dyn_len[i] = (uint16_t)len[i];
	return 0;
}

int ul_adopt(struct uline **ulp, const struct uline *old)
{
	struct line_env env = ustore_env();
	const str *vals[UL_DYN_COUNT];
	str cur[UL_DYN_COUNT];
	struct uline *ul;
	int i;

	for(i = 0; i < UL_DYN_COUNT; i++) {
		cur[i] = ul_dyn(old, i);
		vals[i] = &cur[i];
	}
	if(ul_set_dyn(ulp, vals) < 0)
		return -1;
	ul = *ulp;
	memcpy(ul->ch_alg, old->ch_alg, sizeof(ul->ch_alg));
	memcpy(ul->ch_qop, old->ch_qop, sizeof(ul->ch_qop));
	line_adopt(&ul->sm, &old->sm, &env);
	return 0;
}

int ustore_add(struct uline *ul)
{
	str uuid = ul_str(ul, ROW_L_UUID);
	ur_str_t key = {uuid.s, (size_t)uuid.len};
	str proxy = ul_str(ul, ROW_AUTH_PROXY), domain = ul_str(ul, ROW_R_DOMAIN);
	ur_str_t up = {proxy.s, (size_t)proxy.len};
	ur_str_t ud = {domain.s, (size_t)domain.len};
	char ckey[CARRIER_KEY_MAX + 1];
	ur_str_t ck = {ckey, 0};

	ul->id = table_add(&ustore->table, key, ul);
	if(ul->id == TABLE_NO_ID)
		return -1;
	/* no carrier (out of memory, or no host): the per-line rule */
	memset(&ul->cr, 0, sizeof(ul->cr));
	ck.len = carrier_key(ckey, up, ud);
	ul->cr.cid = ck.len ? carriers_bind(&ustore->carriers, ck) : CARRIER_NONE;
	ul->counted_state = ul->sm.state;
	ul->counted_fc = ul->sm.fail_class;
	ustore->state_count[ul->counted_state]++;
	ustore->fail_class_count[ul->counted_fc]++;
	/* every line in the table has its place in the queue: scheduling it
	 * later (ustore_apply, under a reply) cannot fail for memory */
	if(sched_reserve(&ustore->sched, ul->id, ustore->table.count) < 0) {
		ustore_take_out(ul);
		return -1;
	}
	if(ul->sm.due)
		ustore_schedule(ul, ul->sm.due);
	return 0;
}

void ustore_take_out(struct uline *ul)
{
	if(ul->id == TABLE_NO_ID)
		return;
	sched_remove(&ustore->sched, ul->id);
	{
		struct carrier *c = carriers_get(&ustore->carriers, ul->cr.cid);
		if(c && c->probe_id == ul->id)
			c->probe_id = CARRIER_NO_LINE; /* its reply will not come */
	}
	carriers_unbind(&ustore->carriers, &ul->cr);
	ustore->state_count[ul->counted_state]--;
	ustore->fail_class_count[ul->counted_fc]--;
	table_remove(&ustore->table, ul->id);
	ul->id = TABLE_NO_ID;
}

struct uline *ustore_find(const str *l_uuid)
{
	ur_str_t key = {l_uuid->s, (size_t)l_uuid->len};
	uint32_t id = table_find(&ustore->table, key);
	return id == TABLE_NO_ID ? NULL : table_get(&ustore->table, id);
}

struct uline *ustore_get(uint32_t id, uint32_t gen)
{
	if(table_gen(&ustore->table, id) != gen)
		return NULL;
	return table_get(&ustore->table, id);
}

struct uline *ustore_line_by_id(uint32_t id)
{
	return table_get(&ustore->table, id);
}

uint32_t ustore_gen(const struct uline *ul)
{
	return table_gen(&ustore->table, ul->id);
}

uint32_t ustore_count(void)
{
	return ustore->table.count;
}

int ustore_schedule(struct uline *ul, uint64_t when)
{
	if(sched_set(&ustore->sched, ul->id, when) < 0)
		return -1;
	ustore_nudge(when);
	return 0;
}

uint64_t ustore_due_first(void)
{
	return sched_next(&ustore->sched);
}

void ustore_nudge(uint64_t when)
{
	uint64_t one = 1;
	uint64_t now;

	/* awake (0): it looks at the queue before it sleeps again; or it
	 * wakes before when anyway (most nudges: a refresh minutes ahead) */
	if(ustore->worker_wake_at == 0 || when >= ustore->worker_wake_at)
		return;
	/* work due in the past (0, a challenge answer's 1, a late line) is
	 * work for now */
	now = uclock_now();
	if(when < now)
		when = now;
	/* it wakes soon enough: a tick is the latency it promises (written
	 * without when + tick, which a due time of "never" would wrap) */
	if(when >= ustore->worker_wake_at
			|| ustore->worker_wake_at - when <= UWORKER_TICK_MS)
		return;
	ustore->worker_wake_at = 0; /* one write for any number of nudges */
	if(write(ustore->worker_wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LM_WARN("cannot wake the uacreg process: %s (it wakes within a "
				"second anyway)\n",
				strerror(errno));
}

struct uline *ustore_due_next(uint64_t now)
{
	struct uline *ul;
	uint32_t id;

	while(sched_peek_due(&ustore->sched, now, &id)) {
		ul = table_get(&ustore->table, id);
		if(ul != NULL)
			return ul;
		sched_remove(&ustore->sched, id);
	}
	return NULL;
}

void ustore_unqueue(struct uline *ul)
{
	sched_remove(&ustore->sched, ul->id);
}

int ustore_pace(uint64_t now, int planned_refresh)
{
	if(planned_refresh)
		return pacer_take(&ustore->pacer, now, 1) == 1;
	return pacer_take_pair(&ustore->pacer, &ustore->start_pacer, now);
}

void ustore_pend(struct uline *ul, uint8_t what)
{
	int queued = ul->pending != 0;

	ul->pending |= what;
	if(queued || what == 0)
		return;
	ustore_nudge(0);
	ul->next_pending = NULL;
	if(ustore->pending_tail == NULL)
		ustore->pending_head = ul;
	else
		ustore->pending_tail->next_pending = ul;
	ustore->pending_tail = ul;
}

struct uline *ustore_next_pending(void)
{
	struct uline *ul = ustore->pending_head;

	if(ul == NULL)
		return NULL;
	ustore->pending_head = ul->next_pending;
	if(ustore->pending_head == NULL)
		ustore->pending_tail = NULL;
	ul->next_pending = NULL;
	return ul;
}

uint32_t ustore_pending_count(void)
{
	struct uline *ul;
	uint32_t n = 0;

	for(ul = ustore->pending_head; ul; ul = ul->next_pending)
		n++;
	return n;
}

void ustore_drop(struct uline *ul)
{
	ustore_take_out(ul);
	if(ul->pending)
		ul->pending = UL_P_FREE; /* the uacreg process frees it */
	else
		ul_free(ul);
}

static void ustore_queue_event(struct uline *ul)
{
	struct ul_event *ev;

	if(ustore->ev_count == UL_EVENT_RING) {
		ustore->ev_dropped++;
		return;
	}
	ev = &ustore->events[(ustore->ev_head + ustore->ev_count) % UL_EVENT_RING];
	ustore->ev_count++;
	ustore_nudge(0);
	ev->id = ul->id;
	ev->gen = table_gen(&ustore->table, ul->id);
	ev->state = ul->sm.state;
	ev->fail_class = ul->sm.fail_class;
	ev->code = ul->sm.last_code;
	ev->ha = UHA_EV_NONE;
	ev->ha_owner = ul->ha_owner;
	ev->ha_epoch = ul->ha_epoch;
}

void ustore_queue_ha_event(struct uline *ul, uint8_t ha)
{
	struct ul_event *ev;

	ustore_queue_event(ul);
	if(ustore->ev_count == 0)
		return;
	ev = &ustore->events[(ustore->ev_head + ustore->ev_count - 1)
						 % UL_EVENT_RING];
	if(ev->id == ul->id)
		ev->ha = ha;
}

static void ustore_queue_carrier_event(uint32_t cid)
{
	struct carrier *c = carriers_get(&ustore->carriers, cid);
	struct uc_event *ev;

	if(c == NULL)
		return;
	if(c->state == CARRIER_REFUSING) {
		counter_inc(uacreg_cnt_carrier_refusals);
		LM_WARN("carrier [%s]: refuses every line (%u lines, last %u, %s): "
				"its lines' failures do not count toward their ceilings; one "
				"probe at a time\n",
				c->key, c->lines, c->last_code,
				line_fail_class_name(c->fail_class));
	} else if(c->state == CARRIER_UNREACHABLE) {
		counter_inc(uacreg_cnt_carrier_outages);
		LM_WARN("carrier [%s]: answers no line (%u lines, last %u, %s): one "
				"probe at a time\n",
				c->key, c->lines, c->last_code,
				line_fail_class_name(c->fail_class));
	} else {
		LM_NOTICE("carrier [%s]: accepts again (%u lines): the others "
				  "follow\n",
				c->key, c->lines);
	}
	if(ustore->cev_count == UC_EVENT_RING) {
		ustore->cev_dropped++;
		return;
	}
	ev = &ustore->cevents[(ustore->cev_head + ustore->cev_count)
						  % UC_EVENT_RING];
	ustore->cev_count++;
	ustore_nudge(0);
	ev->cid = cid;
	ev->lines = c->lines;
	ev->state = c->state;
	ev->fail_class = c->fail_class;
	ev->code = c->last_code;
}

int ustore_carrier_outcome(struct uline *ul, int bits, int code,
		uint32_t retry_after, const struct line_env *env)
{
	int outcome;

	if(bits & LINE_R_IGNORED)
		return bits;
	if(bits & LINE_R_REGISTERED)
		outcome = CARRIER_O_OK;
	else if(bits & LINE_R_FAILED)
		outcome = carrier_outcome_of(ul->sm.fail_class, env->cfg);
	else
		return bits; /* a challenge, a 423: no outcome yet */
	if(carrier_on_outcome(&ustore->carriers, &uacreg_ccfg, env->cfg, &ul->cr,
			   ul->id, outcome, ul->sm.fail_class, code,
			   (bits & LINE_R_FAILED) && (bits & LINE_R_COUNT), retry_after,
			   env->rnd, env->now))
		ustore_queue_carrier_event(ul->cr.cid);
	if(ustore->carriers.work)
		ustore_nudge(0); /* the carrier's lines are moved by the process */
	if((bits & LINE_R_CEILING)
			&& carrier_hold_ceiling(&ustore->carriers, &uacreg_ccfg, &ul->cr)) {
		str uuid = ul_str(ul, ROW_L_UUID);
		LM_NOTICE("line [%.*s]: at its ceiling, but no other line of its "
				  "carrier registered since: the ceiling route waits for "
				  "the carrier's verdict\n",
				uuid.len, uuid.s);
		/* nor is the count that reached the ceiling written yet: a restart
		 * meanwhile would load the row at its ceiling and delete it */
		bits &= ~(LINE_R_CEILING | LINE_R_COUNT);
	}
	return bits;
}

int ustore_apply(struct uline *ul, int bits)
{
	if(ul->counted_state != ul->sm.state) {
		str uuid = ul_str(ul, ROW_L_UUID);
		LM_DBG("line [%.*s]: %s -> %s (class %s, last reply %u)\n", uuid.len,
				uuid.s, line_state_name(ul->counted_state),
				line_state_name(ul->sm.state),
				line_fail_class_name(ul->sm.fail_class), ul->sm.last_code);
	}
	/* a line out of the table is counted nowhere (ustore_take_out) */
	if(ul->id != TABLE_NO_ID && ul->counted_state != ul->sm.state) {
		ustore->state_count[ul->counted_state]--;
		ustore->state_count[ul->sm.state]++;
	}
	if(ul->id != TABLE_NO_ID && ul->counted_fc != ul->sm.fail_class) {
		ustore->fail_class_count[ul->counted_fc]--;
		ustore->fail_class_count[ul->sm.fail_class]++;
	}
	ul->counted_state = ul->sm.state;
	ul->counted_fc = ul->sm.fail_class;
	if(bits & LINE_R_IGNORED)
		return bits;
	if(ul->sm.due == 0) {
		ustore_unqueue(ul);
	} else {
		/* The answer to a challenge goes before every other due line:
		 * behind a restart's 100,000 first REGISTERs it would wait N/rate
		 * seconds and find its nonce expired. A line has at most one
		 * answer pending, so this cannot starve the others. It cannot
		 * fail: ustore_add reserved the line's place. */
		ustore_schedule(ul, ul->sm.state == LINE_CHALLENGED ? 1 : ul->sm.due);
	}
	if(bits & LINE_R_COUNT)
		ustore_pend(ul, UL_P_PERSIST);
	if(bits & LINE_R_CEILING)
		ustore_pend(ul, UL_P_CEILING);
	if(bits & LINE_R_GONE)
		ustore_pend(ul, UL_P_FREE);
	if(bits & LINE_R_STATE)
		ustore_queue_event(ul);
	return bits;
}

int ustore_command(const str *l_uuid, enum ustore_cmd cmd)
{
	struct line_env env = ustore_env();
	struct uline *ul;
	int bits = 0;

	ustore_lock();
	ul = ustore_find(l_uuid);
	if(ul == NULL) {
		ustore_unlock();
		return -1;
	}
	switch(cmd) {
		case USTORE_ENABLE:
			bits = line_enable(&ul->sm, &env);
			break;
		case USTORE_DISABLE:
			bits = line_disable(&ul->sm, &env);
			break;
		case USTORE_REFRESH:
			bits = line_refresh(&ul->sm, &env);
			{
				/* an operator's refresh of a line whose carrier refuses
				 * everyone goes now, as the carrier's next probe */
				struct carrier *c = carriers_get(&ustore->carriers, ul->cr.cid);
				if(c && c->state != CARRIER_NORMAL
						&& c->probe_id == CARRIER_NO_LINE)
					c->probe_due = env.now;
			}
			break;
		case USTORE_RESET:
			if(ul->sm.state == LINE_CEILING) {
				/* the operator takes the line back: the ceiling's route
				 * and write are no longer owed (a flow running now finds
				 * in_ceiling cleared and writes nothing) */
				if(ul->pending) {
					ul->pending &= ~(UL_P_CEILING | UL_P_DELETE);
					/* still on the pending list: a bit must stay set, or
					 * the next ustore_pend() queues it twice */
					if(!ul->pending)
						ul->pending = UL_P_PERSIST;
				}
				ul->in_ceiling = 0;
				ul->keep = 0;
			}
			bits = line_reset(&ul->sm, &env);
			break;
		case USTORE_REMOVE:
			bits = line_remove(&ul->sm, &env);
			break;
	}
	ustore_apply(ul, bits);
	ustore_unlock();
	return bits;
}

void ustore_note_reload_held(uint32_t would_remove, uint32_t lines)
{
	ustore->reload_held_event = 1;
	ustore->reload_held_remove = would_remove;
	ustore->reload_held_lines = lines;
}

void usnap_copy(char *dst, str s)
{
	int n = s.len > ROW_MAX_STR ? ROW_MAX_STR : s.len;
	memcpy(dst, s.s, n);
	dst[n] = '\0';
}

/* length of the valid UTF-8 sequence at p (at most n bytes), 0 if none */
static int usnap_utf8_len(const unsigned char *p, int n)
{
	int len, i;

	if(p[0] < 0x80)
		return 1;
	if(p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if(p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if(p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if(len > n)
		return 0;
	for(i = 1; i < len; i++)
		if((p[i] & 0xc0) != 0x80)
			return 0;
	/* overlong 3- and 4-byte forms, surrogates, beyond U+10FFFF */
	if((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f)
			|| (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return len;
}

/* The carrier's reason phrase as routes get it: valid UTF-8 without
 * control characters ('?' for any other byte), so that a route can put it
 * in JSON or an SQL text column without the write failing on it. */
static void usnap_copy_reason(char *dst, str r)
{
	const unsigned char *p = (const unsigned char *)r.s;
	int i = 0, o = 0, l;

	while(i < r.len && o < UL_REASON_MAX - 1) {
		l = usnap_utf8_len(p + i, r.len - i);
		if(l == 0 || (l == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
			dst[o++] = '?';
			i++;
			continue;
		}
		if(o + l > UL_REASON_MAX - 1)
			break;
		memcpy(dst + o, p + i, l);
		o += l;
		i += l;
	}
	dst[o] = '\0';
}

void usnap_fill(struct usnap *s, const struct uline *ul)
{
	usnap_copy(s->l_uuid, ul_str(ul, ROW_L_UUID));
	usnap_copy(s->l_username, ul_str(ul, ROW_L_USERNAME));
	usnap_copy(s->l_domain, ul_str(ul, ROW_L_DOMAIN));
	usnap_copy(s->r_username, ul_str(ul, ROW_R_USERNAME));
	usnap_copy(s->r_domain, ul_str(ul, ROW_R_DOMAIN));
	usnap_copy(s->auth_username, ul_str(ul, ROW_AUTH_USERNAME));
	usnap_copy(s->auth_proxy, ul_str(ul, ROW_AUTH_PROXY));
	usnap_copy_reason(s->reason, ul_dyn(ul, UL_REASON));
	s->state = ul->sm.state;
	s->fail_class = ul->sm.fail_class;
	s->last_code = ul->sm.last_code;
	s->fail_count = ul->sm.fail_count;
	s->fail_ceiling = line_ceiling(&ul->sm, &uacreg_cfg);
	s->new_dialog_in_use = line_new_dialog_in_use(&ul->sm, &uacreg_cfg);
	s->keep = 0;
	s->defer = 0;
	s->ha_event = "";
	s->owner[0] = '\0';
	s->epoch = ul->ha_epoch;
	if(uacreg_ha_mode != HA_OFF) {
		const char *o = uha_owner_name(ul);
		memcpy(s->owner, o, strlen(o) + 1);
	}
	snprintf(s->row_id, sizeof(s->row_id), "%llu",
			(unsigned long long)ul->db_id);
	{
		struct carrier *c = carriers_get(&ustore->carriers, ul->cr.cid);
		s->carrier[0] = '\0';
		s->carrier_lines = 0;
		s->carrier_state = CARRIER_NORMAL;
		if(c) {
			memcpy(s->carrier, c->key, c->key_len + 1);
			s->carrier_lines = (int)c->lines;
			s->carrier_state = c->state;
		}
	}
}

int ustore_pop_event(struct usnap *s, uint32_t *dropped)
{
	struct ul_event ev;
	struct uline *ul;

	ustore_lock();
	*dropped = ustore->ev_dropped;
	ustore->ev_dropped = 0;
	if(ustore->ev_count == 0) {
		ustore_unlock();
		return 0;
	}
	ev = ustore->events[ustore->ev_head];
	ustore->ev_head = (ustore->ev_head + 1) % UL_EVENT_RING;
	ustore->ev_count--;
	ul = ustore_get(ev.id, ev.gen);
	if(ul)
		usnap_fill(s, ul);
	ustore_unlock();
	if(ul == NULL)
		return -1;
	/* the state the event was about, even if the line moved on */
	s->state = ev.state;
	s->fail_class = ev.fail_class;
	s->last_code = ev.code;
	s->ha_event = ev.ha == UHA_EV_TAKEOVER ? "takeover"
				  : ev.ha == UHA_EV_LOST   ? "lost"
										   : "";
	s->epoch = ev.ha_epoch;
	return 1;
}

int ustore_pop_carrier_event(struct usnap *s, uint32_t *dropped)
{
	struct uc_event ev;
	struct carrier *c;

	ustore_lock();
	*dropped = ustore->cev_dropped;
	ustore->cev_dropped = 0;
	if(ustore->cev_count == 0) {
		ustore_unlock();
		return 0;
	}
	ev = ustore->cevents[ustore->cev_head];
	ustore->cev_head = (ustore->cev_head + 1) % UC_EVENT_RING;
	ustore->cev_count--;
	memset(s, 0, sizeof(*s));
	c = carriers_get(&ustore->carriers, ev.cid);
	if(c)
		memcpy(s->carrier, c->key, c->key_len + 1);
	ustore_unlock();
	s->state = -1;
	s->carrier_lines = (int)ev.lines;
	s->carrier_state = ev.state;
	s->fail_class = ev.fail_class;
	s->last_code = ev.code;
	return 1;
}

int ustore_events_waiting(void)
{
	int n;

	ustore_lock();
	n = ustore->ev_count || ustore->ev_dropped;
	ustore_unlock();
	return n;
}

int ustore_carrier_events_waiting(void)
{
	int n;

	ustore_lock();
	n = ustore->cev_count || ustore->cev_dropped;
	ustore_unlock();
	return n;
}

struct uline *ustore_foreach(ustore_line_fn fn, void *arg)
{
	uint32_t id;
	struct uline *ul;

	for(id = table_next(&ustore->table, 0); id != TABLE_NO_ID;
			id = table_next(&ustore->table, id + 1)) {
		ul = table_get(&ustore->table, id);
		if(fn(ul, arg))
			return ul;
	}
	return NULL;
}
