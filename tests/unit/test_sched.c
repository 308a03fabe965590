/*
 * Unit tests of sched.c: the due-time heap and the pacer.
 */
#include "unit.h"
#include "sched.h"

/* deterministic generator, so that a failure replays */
static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
	rng_state = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static uint64_t rng_next(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t rng_below(uint32_t n)
{
	return (uint32_t)(rng_next() % n);
}

/* Checks every structural promise: the heap order, and pos[] and heap[]
 * pointing at each other, with every id not in the heap absent. */
static void check_heap(const struct sched *s)
{
	uint32_t i, id, present = 0;

	assert_true(s->count <= s->heap_cap);
	for(i = 0; i < s->count; i++) {
		if(i > 0)
			assert_true(s->heap[(i - 1) / 2].due <= s->heap[i].due);
		id = s->heap[i].id;
		assert_true(id < s->pos_cap);
		assert_int_equal(s->pos[id], i + 1);
	}
	for(id = 0; id < s->pos_cap; id++) {
		if(s->pos[id] != 0) {
			present++;
			assert_true(s->pos[id] <= s->count);
			assert_int_equal(s->heap[s->pos[id] - 1].id, id);
		}
	}
	assert_int_equal(present, s->count);
}

static void test_empty(void **state)
{
	struct sched s;
	uint32_t id = 77;

	assert_int_equal(sched_init(&s, &unit_mem), 0);
	assert_true(sched_next(&s) == UINT64_MAX);
	assert_int_equal(sched_pop_due(&s, UINT64_MAX, &id), 0);
	assert_int_equal(id, 77);
	assert_true(sched_due(&s, 0) == 0);
	assert_true(sched_due(&s, 123456) == 0);
	sched_remove(&s, 5); /* absent: no effect */
	sched_remove(&s, 1000000);
	assert_int_equal(s.count, 0);
	sched_destroy(&s);
	/* destroying twice is harmless */
	sched_destroy(&s);
}

static void test_pop_due_respects_now(void **state)
{
	struct sched s;
	uint32_t id;

	sched_init(&s, &unit_mem);
	assert_int_equal(sched_set(&s, 3, 300), 0);
	assert_int_equal(sched_set(&s, 1, 100), 0);
	assert_int_equal(sched_set(&s, 2, 200), 0);
	assert_true(sched_next(&s) == 100);
	assert_true(sched_due(&s, 2) == 200);

	assert_int_equal(sched_pop_due(&s, 99, &id), 0);
	assert_int_equal(s.count, 3);
	/* a peek names what a pop would take, and leaves it queued */
	assert_int_equal(sched_peek_due(&s, 99, &id), 0);
	assert_int_equal(sched_peek_due(&s, 100, &id), 1);
	assert_int_equal(id, 1);
	assert_int_equal(s.count, 3);
	assert_true(sched_due(&s, 1) == 100);
	assert_int_equal(sched_pop_due(&s, 100, &id), 1);
	assert_int_equal(id, 1);
	assert_true(sched_due(&s, 1) == 0);
	assert_int_equal(sched_pop_due(&s, 199, &id), 0);
	/* moving 3 earlier than 2 */
	assert_int_equal(sched_set(&s, 3, 150), 0);
	assert_true(sched_next(&s) == 150);
	assert_int_equal(sched_pop_due(&s, 1000, &id), 1);
	assert_int_equal(id, 3);
	assert_int_equal(sched_pop_due(&s, 1000, &id), 1);
	assert_int_equal(id, 2);
	assert_int_equal(sched_pop_due(&s, UINT64_MAX, &id), 0);
	assert_true(sched_next(&s) == UINT64_MAX);
	check_heap(&s);
	sched_destroy(&s);
}

static void test_set_moves_and_removes(void **state)
{
	struct sched s;
	uint32_t id;

	sched_init(&s, &unit_mem);
	sched_set(&s, 10, 50);
	sched_set(&s, 20, 60);
	sched_set(&s, 30, 70);
	/* moving later */
	sched_set(&s, 10, 80);
	assert_int_equal(s.count, 3);
	assert_true(sched_due(&s, 10) == 80);
	assert_true(sched_next(&s) == 60);
	sched_remove(&s, 20);
	sched_remove(&s, 20);
	assert_int_equal(s.count, 2);
	assert_true(sched_due(&s, 20) == 0);
	check_heap(&s);
	assert_int_equal(sched_pop_due(&s, 100, &id), 1);
	assert_int_equal(id, 30);
	assert_int_equal(sched_pop_due(&s, 100, &id), 1);
	assert_int_equal(id, 10);
	/* an id popped can be set again */
	assert_int_equal(sched_set(&s, 10, 5), 0);
	assert_true(sched_due(&s, 10) == 5);
	sched_destroy(&s);
}

static void test_bad_and_sparse_ids(void **state)
{
	struct sched s;
	uint32_t id;

	sched_init(&s, &unit_mem);
	/* UINT32_MAX is TABLE_NO_ID: refused */
	assert_int_equal(sched_set(&s, UINT32_MAX, 1), -1);
	assert_int_equal(s.count, 0);
	/* a far id grows pos[] at once */
	assert_int_equal(sched_set(&s, 1000000, 7), 0);
	assert_true(s.pos_cap > 1000000);
	assert_int_equal(sched_set(&s, 0, 8), 0);
	check_heap(&s);
	assert_int_equal(sched_pop_due(&s, 7, &id), 1);
	assert_int_equal(id, 1000000);
	sched_destroy(&s);
}

/* The heap against a brute-force model under random sets (adds and moves),
 * removes and pops with random now. Ties make the popped id ambiguous, so
 * a pop is checked by its due time, and the model then drops that id. */
#define MODEL_IDS 2000
#define MODEL_OPS 300000

static void test_random_against_model(void **state)
{
	static uint64_t due[MODEL_IDS]; /* 0 = absent in the model */
	struct sched s;
	uint32_t i, id, op, n = 0, model_min_id;
	uint64_t now, model_min;
	int got;

	rng_seed(42);
	memset(due, 0, sizeof(due));
	sched_init(&s, &unit_mem);
	for(op = 0; op < MODEL_OPS; op++) {
		id = rng_below(MODEL_IDS);
		switch(rng_below(4)) {
			case 0:
			case 1: {
				/* small range: many equal due times */
				uint64_t d = 1 + rng_below(500);
				assert_int_equal(sched_set(&s, id, d), 0);
				if(due[id] == 0)
					n++;
				due[id] = d;
				break;
			}
			case 2:
				sched_remove(&s, id);
				if(due[id] != 0)
					n--;
				due[id] = 0;
				break;
			case 3:
				now = rng_below(520);
				model_min = UINT64_MAX;
				model_min_id = UINT32_MAX;
				for(i = 0; i < MODEL_IDS; i++) {
					if(due[i] != 0 && due[i] < model_min) {
						model_min = due[i];
						model_min_id = i;
					}
				}
				assert_true(sched_next(&s) == model_min);
				got = sched_pop_due(&s, now, &id);
				if(model_min_id == UINT32_MAX || model_min > now) {
					assert_int_equal(got, 0);
				} else {
					assert_int_equal(got, 1);
					assert_true(id < MODEL_IDS);
					assert_true(due[id] == model_min);
					due[id] = 0;
					n--;
				}
				break;
		}
		assert_int_equal(s.count, n);
		/* spot checks of sched_due and of the whole structure */
		id = rng_below(MODEL_IDS);
		assert_true(sched_due(&s, id) == due[id]);
		if(op % 997 == 0)
			check_heap(&s);
	}
	check_heap(&s);
	for(i = 0; i < MODEL_IDS; i++)
		assert_true(sched_due(&s, i) == due[i]);
	sched_destroy(&s);
}

static uint32_t floor_log2(uint32_t n)
{
	uint32_t l = 0;

	while(n >>= 1)
		l++;
	return l;
}

/* heap positions (below count) that differ from a snapshot */
static uint32_t changed_positions(
		const struct sched *s, const struct sched_entry *before)
{
	uint32_t i, changed = 0;

	for(i = 0; i < s->count; i++) {
		if(before[i].due != s->heap[i].due || before[i].id != s->heap[i].id)
			changed++;
	}
	return changed;
}

/* 100,000 ids with random (often equal) due times, some moved and some
 * removed, then all popped: in nondecreasing order and each exactly once.
 * Instead of timing, a sample of operations is checked to change no more
 * heap positions than one root-to-leaf path holds: O(log n) work. */
#define BIG_IDS 100000

static void test_100k_ordered(void **state)
{
	struct sched s;
	struct sched_entry *snap;
	uint8_t *seen;
	uint32_t i, id, popped = 0, removed = 0, bound;
	uint64_t last = 0, d;

	rng_seed(7);
	snap = malloc(sizeof(*snap) * BIG_IDS);
	seen = calloc(BIG_IDS, 1);
	assert_non_null(snap);
	assert_non_null(seen);
	sched_init(&s, &unit_mem);
	for(i = 0; i < BIG_IDS; i++)
		assert_int_equal(sched_set(&s, i, 1 + rng_below(50000)), 0);
	assert_int_equal(s.count, BIG_IDS);
	/* an entry per line: past UR_GROW_LINEAR a quarter more, not double */
	assert_true(s.heap_cap >= BIG_IDS && s.heap_cap <= BIG_IDS + BIG_IDS / 4);
	assert_true(s.pos_cap >= BIG_IDS && s.pos_cap <= BIG_IDS + BIG_IDS / 4);
	check_heap(&s);

	/* moves, some checked for O(log n) positions touched */
	for(i = 0; i < 20000; i++) {
		id = rng_below(BIG_IDS);
		d = 1 + rng_below(50000);
		if(i % 200 == 0) {
			memcpy(snap, s.heap, sizeof(*snap) * s.count);
			sched_set(&s, id, d);
			assert_true(changed_positions(&s, snap) <= floor_log2(s.count) + 1);
		} else {
			sched_set(&s, id, d);
		}
	}
	/* removes: the last entry moves into the hole, then one path */
	for(i = 0; i < 1000; i++) {
		id = rng_below(BIG_IDS);
		if(sched_due(&s, id) == 0)
			continue;
		memcpy(snap, s.heap, sizeof(*snap) * s.count);
		sched_remove(&s, id);
		removed++;
		seen[id] = 2; /* must not come out */
		assert_true(changed_positions(&s, snap) <= floor_log2(s.count + 1) + 1);
	}
	check_heap(&s);

	while(s.count > 0) {
		if(popped % 1000 == 0) {
			memcpy(snap, s.heap, sizeof(*snap) * s.count);
			bound = floor_log2(s.count) + 1;
			assert_int_equal(sched_pop_due(&s, UINT64_MAX, &id), 1);
			/* the root left; the rest moved along one path */
			assert_int_equal(id, snap[0].id);
			d = snap[0].due;
			assert_true(changed_positions(&s, snap) <= bound);
		} else {
			/* the earliest due time is what pop_due must take */
			d = sched_next(&s);
			assert_int_equal(sched_pop_due(&s, d, &id), 1);
		}
		assert_true(id < BIG_IDS);
		assert_int_equal(seen[id], 0);
		seen[id] = 1;
		assert_true(d >= last);
		last = d;
		popped++;
	}
	assert_int_equal(popped + removed, BIG_IDS);
	for(i = 0; i < BIG_IDS; i++)
		assert_true(seen[i] == 1 || seen[i] == 2);
	sched_destroy(&s);
	free(snap);
	free(seen);
}

/* Equal due times: with one pop per tick and each popped line set again
 * later, every waiting line comes out within as many pops as there were
 * waiting lines. */
static void test_equal_due_no_starvation(void **state)
{
	struct sched s;
	uint32_t i, id, n = 1000;
	uint8_t got[1000] = {0};
	uint64_t now = 10;

	sched_init(&s, &unit_mem);
	for(i = 0; i < n; i++)
		sched_set(&s, i, 10);
	for(i = 0; i < n; i++) {
		assert_int_equal(sched_pop_due(&s, now, &id), 1);
		assert_int_equal(got[id], 0);
		got[id] = 1;
		/* the line is set again for a later time, as the glue does */
		now++;
		sched_set(&s, id, now + 1000);
	}
	for(i = 0; i < n; i++)
		assert_int_equal(got[i], 1);
	sched_destroy(&s);
}

/* an allocator that fails after a number of calls */
static int alloc_budget;

static void *failing_alloc(size_t n)
{
	return alloc_budget-- > 0 ? malloc(n) : NULL;
}
static void *failing_realloc(void *p, size_t n)
{
	return alloc_budget-- > 0 ? realloc(p, n) : NULL;
}
static const struct ur_alloc failing_mem = {
		failing_alloc, failing_realloc, unit_free};

static void test_out_of_memory(void **state)
{
	struct sched s;
	uint32_t i, id;

	alloc_budget = 2; /* pos and heap once */
	sched_init(&s, &failing_mem);
	for(i = 0; i < 64; i++)
		assert_int_equal(sched_set(&s, i, 1000 - i), 0);
	/* pos[] and the heap are full and cannot grow: refused, nothing
	 * changed */
	assert_int_equal(sched_set(&s, 64, 1), -1);
	assert_int_equal(s.count, 64);
	assert_true(sched_due(&s, 64) == 0);
	/* an id beyond pos[] cannot be added either */
	assert_int_equal(sched_set(&s, 100000, 1), -1);
	/* moves need no memory */
	assert_int_equal(sched_set(&s, 5, 1), 0);
	check_heap(&s);
	assert_int_equal(sched_pop_due(&s, 1, &id), 1);
	assert_int_equal(id, 5);
	sched_destroy(&s);
}

/* a place reserved for every line beforehand: setting any of them later
 * needs no memory (the store reserves one per line it adds) */
static void test_reserve_then_set_needs_no_memory(void **state)
{
	struct sched s;
	uint32_t i;

	alloc_budget = 2;
	sched_init(&s, &failing_mem);
	assert_int_equal(sched_reserve(&s, 999, 1000), 0);
	assert_true(s.heap_cap >= 1000 && s.pos_cap >= 1000);
	assert_int_equal(alloc_budget, 0);
	for(i = 0; i < 1000; i++)
		assert_int_equal(sched_set(&s, i, 5000 - i), 0);
	check_heap(&s);
	assert_int_equal(s.count, 1000);
	/* a reservation the allocator refuses is an error, nothing changed */
	assert_int_equal(sched_reserve(&s, 999, 100000), -1);
	assert_int_equal(s.count, 1000);
	assert_int_equal(sched_reserve(&s, UINT32_MAX, 1), -1);
	/* what is already there needs nothing */
	assert_int_equal(sched_reserve(&s, 10, 1000), 0);
	sched_destroy(&s);
}

/* pacer */

static void test_pacer_exact_grants(void **state)
{
	struct pacer p;

	/* 10 per second, burst 5: full at start */
	pacer_init(&p, 10, 5, 1000);
	assert_int_equal(pacer_take(&p, 1000, 100), 5);
	assert_int_equal(pacer_take(&p, 1000, 1), 0);
	/* 100 ms earn one token */
	assert_int_equal(pacer_take(&p, 1099, 1), 0);
	assert_int_equal(pacer_take(&p, 1100, 3), 1);
	/* half a token is kept, not lost */
	assert_int_equal(pacer_take(&p, 1150, 1), 0);
	assert_int_equal(pacer_take(&p, 1200, 1), 1);
	/* 300 ms: three tokens, two taken, one kept */
	assert_int_equal(pacer_take(&p, 1500, 2), 2);
	assert_int_equal(pacer_take(&p, 1500, 2), 1);
	assert_int_equal(pacer_take(&p, 1500, 0), 0);

	/* 3 per second: a token needs 333.33 ms (burst 2, so that the bucket
	 * may hold more than one token) */
	pacer_init(&p, 3, 2, 0);
	assert_int_equal(pacer_take(&p, 0, 2), 2);
	assert_int_equal(pacer_take(&p, 333, 1), 0);
	assert_int_equal(pacer_take(&p, 334, 1), 1);
	/* the 2 milli-tokens over stay: 333 ms later makes 2 + 999 */
	assert_int_equal(pacer_take(&p, 667, 1), 1);
	assert_true(p.milli_tokens == 1);

	/* the same with a bucket of one token: 1002 is capped at 1000 */
	pacer_init(&p, 3, 1, 0);
	assert_int_equal(pacer_take(&p, 0, 1), 1);
	assert_int_equal(pacer_take(&p, 333, 1), 0);
	assert_int_equal(pacer_take(&p, 334, 1), 1);
	assert_true(p.milli_tokens == 0);
}

/* Two limits, as the store uses them: a second's burst for refreshes and a
 * tenth of it for everything else, both refilled at the same rate. */
static void test_pacer_pair_small_burst_inside_large(void **state)
{
	struct pacer outer, inner;
	int i, n;

	pacer_init(&outer, 100, 100, 0);
	pacer_init(&inner, 100, 10, 0);
	/* a cold start: ten leave at once, not a hundred */
	for(n = 0; pacer_take_pair(&outer, &inner, 0); n++)
		;
	assert_int_equal(n, 10);
	/* the refused one cost the outer bucket nothing: refreshes still have
	 * the rest of the second's burst */
	assert_int_equal(pacer_take(&outer, 0, 1000), 90);
	assert_int_equal(pacer_take_pair(&outer, &inner, 0), 0);
	/* 10 ms earn one token in each: the pair needs both */
	assert_int_equal(pacer_take_pair(&outer, &inner, 10), 1);
	assert_int_equal(pacer_take_pair(&outer, &inner, 10), 0);
	/* the inner one full and the outer one empty: nothing leaves */
	pacer_init(&outer, 100, 100, 0);
	pacer_init(&inner, 100, 10, 0);
	assert_int_equal(pacer_take(&outer, 0, 100), 100);
	assert_int_equal(pacer_take_pair(&outer, &inner, 0), 0);
	assert_int_equal(pacer_take(&inner, 0, 100), 10);
	/* over a second the pair keeps the rate: 100 plus the inner burst */
	pacer_init(&outer, 100, 100, 0);
	pacer_init(&inner, 100, 10, 0);
	for(n = 0, i = 0; i <= 1000; i += 5)
		while(pacer_take_pair(&outer, &inner, (uint64_t)i))
			n++;
	assert_int_equal(n, 110);
}

/* an unlimited pacer in a pair leaves the decision to the other one */
static void test_pacer_pair_unlimited(void **state)
{
	struct pacer unlimited, limited;

	pacer_init(&unlimited, 0, 0, 0);
	pacer_init(&limited, 10, 2, 0);
	assert_int_equal(pacer_take_pair(&unlimited, &limited, 0), 1);
	assert_int_equal(pacer_take_pair(&limited, &unlimited, 0), 1);
	assert_int_equal(pacer_take_pair(&unlimited, &limited, 0), 0);
	pacer_init(&limited, 0, 0, 0);
	assert_int_equal(pacer_take_pair(&unlimited, &limited, 0), 1);
}

static void test_pacer_burst_cap(void **state)
{
	struct pacer p;

	pacer_init(&p, 100, 20, 0);
	assert_int_equal(pacer_take(&p, 0, 20), 20);
	/* an hour later the bucket holds the burst, not 360000 */
	assert_int_equal(pacer_take(&p, 3600000, 1000000), 20);
	assert_int_equal(pacer_take(&p, 3600000, 1), 0);
	/* 10 ms at 100/s: one token */
	assert_int_equal(pacer_take(&p, 3600010, 5), 1);

	/* the largest rate and burst and a clock jump to the end of time */
	pacer_init(&p, UINT32_MAX, UINT32_MAX, 0);
	assert_int_equal(pacer_take(&p, 0, UINT32_MAX), UINT32_MAX);
	assert_int_equal(pacer_take(&p, UINT64_MAX, UINT32_MAX), UINT32_MAX);
	assert_int_equal(pacer_take(&p, UINT64_MAX, 1), 0);

	/* burst 0 holds one token, so a limited pacer still sends */
	pacer_init(&p, 1, 0, 0);
	assert_int_equal(pacer_take(&p, 0, 10), 1);
	assert_int_equal(pacer_take(&p, 999, 10), 0);
	assert_int_equal(pacer_take(&p, 1000, 10), 1);
	assert_int_equal(pacer_take(&p, 100000, 10), 1);
}

static void test_pacer_clock_back(void **state)
{
	struct pacer p;

	pacer_init(&p, 10, 1, 5000);
	assert_int_equal(pacer_take(&p, 5000, 1), 1);
	/* back in time: nothing earned, and it goes on from there */
	assert_int_equal(pacer_take(&p, 4000, 1), 0);
	assert_int_equal(pacer_take(&p, 4099, 1), 0);
	assert_int_equal(pacer_take(&p, 4100, 1), 1);
}

static void test_pacer_unlimited(void **state)
{
	struct pacer p;

	pacer_init(&p, 0, 0, 0);
	assert_int_equal(pacer_take(&p, 0, 100000), 100000);
	assert_int_equal(pacer_take(&p, 0, UINT32_MAX), UINT32_MAX);
	assert_int_equal(pacer_take(&p, 0, 0), 0);
	pacer_init(&p, 0, 5, 0);
	assert_int_equal(pacer_take(&p, 1, 77), 77);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_empty),
			cmocka_unit_test(test_pop_due_respects_now),
			cmocka_unit_test(test_set_moves_and_removes),
			cmocka_unit_test(test_bad_and_sparse_ids),
			cmocka_unit_test(test_random_against_model),
			cmocka_unit_test(test_100k_ordered),
			cmocka_unit_test(test_equal_due_no_starvation),
			cmocka_unit_test(test_out_of_memory),
			cmocka_unit_test(test_reserve_then_set_needs_no_memory),
			cmocka_unit_test(test_pacer_exact_grants),
			cmocka_unit_test(test_pacer_burst_cap),
			cmocka_unit_test(test_pacer_pair_small_burst_inside_large),
			cmocka_unit_test(test_pacer_pair_unlimited),
			cmocka_unit_test(test_pacer_clock_back),
			cmocka_unit_test(test_pacer_unlimited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
