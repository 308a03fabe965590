/*
 * Unit tests of table.c: lines by l_uuid, with slot ids and generations.
 */
#include <stdio.h>

#include "unit.h"
#include "table.h"

/* an item owns its key, as a line owns its l_uuid */
struct item
{
	char key[24];
	uint32_t n;
};

static ur_str_t item_key(const struct item *it)
{
	return ur_str_c(it->key);
}

static struct item *items_new(uint32_t n, const char *fmt)
{
	struct item *v = calloc(n, sizeof(*v));
	uint32_t i;

	assert_non_null(v);
	for(i = 0; i < n; i++) {
		snprintf(v[i].key, sizeof(v[i].key), fmt, i);
		v[i].n = i;
	}
	return v;
}

/* walks every bucket chain: each live id once, in the right bucket */
static void check_chains(const struct table *t)
{
	uint32_t b, id, seen = 0;

	for(b = 0; b < t->nbuckets; b++) {
		for(id = t->buckets[b]; id != TABLE_NO_ID; id = t->slots[id].next) {
			assert_true(id < t->nslots);
			assert_non_null(t->slots[id].item);
			assert_int_equal(t->slots[id].hash & (t->nbuckets - 1), b);
			ur_str_t k = {t->slots[id].key_s, t->slots[id].key_len};
			assert_int_equal(t->slots[id].hash, table_hash(k));
			seen++;
			assert_true(seen <= t->count);
		}
	}
	assert_int_equal(seen, t->count);
}

static void test_hash_is_fnv1a(void **state)
{
	/* published FNV-1a 32-bit test vectors: the hash must never change */
	assert_int_equal(table_hash(UR_STR_LIT("")), 0x811c9dc5u);
	assert_int_equal(table_hash(UR_STR_LIT("a")), 0xe40c292cu);
	assert_int_equal(table_hash(UR_STR_LIT("foobar")), 0xbf9cf968u);
	assert_int_equal(table_hash(UR_STR_NULL), 0x811c9dc5u);
	/* length, not NUL termination, bounds the key */
	assert_int_equal(table_hash((ur_str_t){"foobarXYZ", 6}),
			table_hash(UR_STR_LIT("foobar")));
}

static void test_bucket_count_rounded(void **state)
{
	struct table t;

	assert_int_equal(table_init(&t, &unit_mem, 0), 0);
	assert_int_equal(t.nbuckets, 16);
	table_destroy(&t);
	table_init(&t, &unit_mem, 1);
	assert_int_equal(t.nbuckets, 16);
	table_destroy(&t);
	table_init(&t, &unit_mem, 16);
	assert_int_equal(t.nbuckets, 16);
	table_destroy(&t);
	table_init(&t, &unit_mem, 17);
	assert_int_equal(t.nbuckets, 32);
	table_destroy(&t);
	table_init(&t, &unit_mem, 1000);
	assert_int_equal(t.nbuckets, 1024);
	table_destroy(&t);
	table_init(&t, &unit_mem, 4096);
	assert_int_equal(t.nbuckets, 4096);
	table_destroy(&t);
	/* destroying twice is harmless */
	table_destroy(&t);
}

static void test_add_find_remove(void **state)
{
	struct table t;
	struct item *v = items_new(3, "line-%u");
	uint32_t a, b, c;

	table_init(&t, &unit_mem, 16);
	assert_int_equal(table_find(&t, UR_STR_LIT("line-0")), TABLE_NO_ID);
	a = table_add(&t, item_key(&v[0]), &v[0]);
	b = table_add(&t, item_key(&v[1]), &v[1]);
	c = table_add(&t, item_key(&v[2]), &v[2]);
	assert_int_not_equal(a, TABLE_NO_ID);
	assert_int_not_equal(b, TABLE_NO_ID);
	assert_int_not_equal(c, TABLE_NO_ID);
	assert_true(a != b && b != c && a != c);
	/* ids are small and dense */
	assert_true(a < 3 && b < 3 && c < 3);
	assert_int_equal(t.count, 3);

	/* found by an equal key that is not the stored pointer */
	assert_int_equal(table_find(&t, UR_STR_LIT("line-1")), b);
	assert_ptr_equal(table_get(&t, b), &v[1]);
	assert_int_equal(table_find(&t, UR_STR_LIT("line-")), TABLE_NO_ID);
	assert_int_equal(table_find(&t, UR_STR_LIT("line-10")), TABLE_NO_ID);

	assert_ptr_equal(table_remove(&t, b), &v[1]);
	assert_int_equal(t.count, 2);
	assert_null(table_get(&t, b));
	assert_int_equal(table_find(&t, UR_STR_LIT("line-1")), TABLE_NO_ID);
	/* the others are still there */
	assert_int_equal(table_find(&t, UR_STR_LIT("line-0")), a);
	assert_int_equal(table_find(&t, UR_STR_LIT("line-2")), c);
	/* removing a free slot or an unknown id: nothing */
	assert_null(table_remove(&t, b));
	assert_null(table_remove(&t, 1000));
	assert_null(table_remove(&t, TABLE_NO_ID));
	assert_null(table_get(&t, TABLE_NO_ID));
	assert_int_equal(table_gen(&t, TABLE_NO_ID), 0);
	assert_int_equal(t.count, 2);
	check_chains(&t);
	table_destroy(&t);
	free(v);
}

static void test_duplicate_refused(void **state)
{
	struct table t;
	struct item x = {"same", 1}, y = {"same", 2}, z = {"other", 3};
	uint32_t id;

	table_init(&t, &unit_mem, 16);
	id = table_add(&t, item_key(&x), &x);
	assert_int_not_equal(id, TABLE_NO_ID);
	assert_int_equal(table_add(&t, item_key(&y), &y), TABLE_NO_ID);
	assert_int_equal(table_add(&t, item_key(&x), &x), TABLE_NO_ID);
	assert_int_equal(t.count, 1);
	assert_ptr_equal(table_get(&t, table_find(&t, UR_STR_LIT("same"))), &x);
	/* a NULL item would look like a free slot: refused */
	assert_int_equal(table_add(&t, item_key(&z), NULL), TABLE_NO_ID);
	assert_int_equal(t.count, 1);
	/* after removal the key may come back */
	table_remove(&t, id);
	assert_int_not_equal(table_add(&t, item_key(&y), &y), TABLE_NO_ID);
	assert_ptr_equal(table_get(&t, table_find(&t, UR_STR_LIT("same"))), &y);
	table_destroy(&t);
}

static void test_slot_reuse_changes_generation(void **state)
{
	struct table t;
	struct item *v = items_new(4, "u%u");
	uint32_t a, b, gen_a, again;

	table_init(&t, &unit_mem, 16);
	a = table_add(&t, item_key(&v[0]), &v[0]);
	b = table_add(&t, item_key(&v[1]), &v[1]);
	gen_a = table_gen(&t, a);
	table_remove(&t, a);
	/* the generation moved on removal: a stale (id, gen) is recognisable */
	assert_int_not_equal(table_gen(&t, a), gen_a);
	/* the free slot is reused, with the new generation */
	again = table_add(&t, item_key(&v[2]), &v[2]);
	assert_int_equal(again, a);
	assert_int_not_equal(table_gen(&t, again), gen_a);
	assert_ptr_equal(table_get(&t, again), &v[2]);
	/* no growth: the high-water mark stayed */
	assert_int_equal(t.nslots, 2);
	/* a generation never goes back over many reuses */
	gen_a = table_gen(&t, again);
	table_remove(&t, again);
	again = table_add(&t, item_key(&v[3]), &v[3]);
	assert_int_equal(again, a);
	assert_int_equal(table_gen(&t, again), gen_a + 1);
	/* b never moved */
	assert_int_equal(table_gen(&t, b), 0);
	assert_int_equal(table_find(&t, UR_STR_LIT("u1")), b);
	check_chains(&t);
	table_destroy(&t);
	free(v);
}

/* iteration after random removes: exactly the live ids, ascending */
static void test_iteration_visits_live_ids(void **state)
{
	struct table t;
	uint32_t n = 500, i, id, visited = 0, last = 0;
	struct item *v = items_new(n, "it-%u");
	uint32_t *ids = malloc(n * sizeof(*ids));
	uint8_t *live = calloc(n, 1);

	table_init(&t, &unit_mem, 64);
	assert_int_equal(table_next(&t, 0), TABLE_NO_ID);
	for(i = 0; i < n; i++) {
		ids[i] = table_add(&t, item_key(&v[i]), &v[i]);
		assert_int_not_equal(ids[i], TABLE_NO_ID);
		live[i] = 1;
	}
	for(i = 0; i < n; i++) {
		if(i % 3 == 0 || i % 7 == 0) {
			table_remove(&t, ids[i]);
			live[i] = 0;
		}
	}
	for(id = table_next(&t, 0); id != TABLE_NO_ID;
			id = table_next(&t, id + 1)) {
		struct item *it = table_get(&t, id);
		assert_non_null(it);
		assert_int_equal(ids[it->n], id);
		assert_int_equal(live[it->n], 1);
		live[it->n] = 2; /* visited */
		if(visited)
			assert_true(id > last);
		last = id;
		visited++;
	}
	assert_int_equal(visited, t.count);
	for(i = 0; i < n; i++)
		assert_true(live[i] != 1);
	assert_int_equal(table_next(&t, t.nslots), TABLE_NO_ID);
	assert_int_equal(table_next(&t, TABLE_NO_ID), TABLE_NO_ID);
	table_destroy(&t);
	free(v);
	free(ids);
	free(live);
}

#define BIG 100000

static void test_100k_keys(void **state)
{
	struct table t;
	struct item *v = items_new(BIG, "5f0e%08x-uuid");
	uint32_t *ids = malloc(BIG * sizeof(*ids));
	uint32_t i, id, n;

	table_init(&t, &unit_mem, 4096);
	for(i = 0; i < BIG; i++) {
		ids[i] = table_add(&t, item_key(&v[i]), &v[i]);
		assert_true(ids[i] < BIG);
	}
	assert_int_equal(t.count, BIG);
	/* a slot per line: past UR_GROW_LINEAR the slots grow by a quarter,
	 * not double (doubling would leave 131,072 here) */
	assert_true(t.cap >= BIG && t.cap <= BIG + BIG / 4);
	for(i = 0; i < BIG; i++)
		assert_int_equal(table_find(&t, item_key(&v[i])), ids[i]);
	/* remove the odd ones */
	for(i = 1; i < BIG; i += 2)
		assert_ptr_equal(table_remove(&t, ids[i]), &v[i]);
	assert_int_equal(t.count, BIG / 2);
	for(i = 0; i < BIG; i++) {
		id = table_find(&t, item_key(&v[i]));
		assert_int_equal(id, i % 2 ? TABLE_NO_ID : ids[i]);
	}
	/* add them back: every freed slot is reused, none added */
	for(i = 1; i < BIG; i += 2) {
		ids[i] = table_add(&t, item_key(&v[i]), &v[i]);
		assert_true(ids[i] < BIG);
	}
	assert_int_equal(t.nslots, BIG);
	n = 0;
	for(id = table_next(&t, 0); id != TABLE_NO_ID; id = table_next(&t, id + 1))
		n++;
	assert_int_equal(n, BIG);
	check_chains(&t);
	table_destroy(&t);
	free(v);
	free(ids);
}

/* Many keys in one bucket: removal from the head, the middle and the tail
 * of a long chain, and finds that must compare keys, not only hashes. */
static void test_collision_heavy(void **state)
{
	struct table t;
	uint32_t cand = 20000, i, n = 0, id;
	struct item *v = items_new(cand, "c%u");
	struct item **same = malloc(cand * sizeof(*same));
	uint32_t *ids = malloc(cand * sizeof(*ids));

	/* keys whose hash falls in bucket 5 of 16 */
	for(i = 0; i < cand; i++) {
		if((table_hash(item_key(&v[i])) & 15) == 5)
			same[n++] = &v[i];
	}
	assert_true(n > 500);
	table_init(&t, &unit_mem, 1);
	assert_int_equal(t.nbuckets, 16);
	for(i = 0; i < n; i++)
		ids[i] = table_add(&t, item_key(same[i]), same[i]);
	check_chains(&t);
	/* chain order is newest first: remove the tail, head, and middles */
	assert_ptr_equal(table_remove(&t, ids[0]), same[0]);
	assert_ptr_equal(table_remove(&t, ids[n - 1]), same[n - 1]);
	for(i = 1; i < n - 1; i += 5)
		assert_ptr_equal(table_remove(&t, ids[i]), same[i]);
	check_chains(&t);
	for(i = 0; i < n; i++) {
		id = table_find(&t, item_key(same[i]));
		if(i == 0 || i == n - 1 || (i % 5 == 1 && i < n - 1))
			assert_int_equal(id, TABLE_NO_ID);
		else
			assert_int_equal(id, ids[i]);
	}
	/* and a key of another bucket in a table of this shape */
	assert_int_equal(table_find(&t, UR_STR_LIT("not-there")), TABLE_NO_ID);
	table_destroy(&t);
	free(v);
	free(same);
	free(ids);
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

/* an item that moved in memory is found at its new place under the same
 * id and generation */
static void test_move_keeps_id_and_generation(void **state)
{
	struct table t;
	char *a = strdup("line-a"), *b;
	uint32_t id, gen;
	ur_str_t key = {a, 6};

	assert_int_equal(table_init(&t, &unit_mem, 16), 0);
	id = table_add(&t, key, a);
	gen = table_gen(&t, id);
	b = strdup("line-a");
	key.s = b;
	table_move(&t, id, b, key);
	free(a); /* the old place is gone */
	assert_int_equal(table_find(&t, key), id);
	assert_ptr_equal(table_get(&t, id), b);
	assert_int_equal(table_gen(&t, id), gen);
	assert_ptr_equal(table_remove(&t, id), b);
	table_destroy(&t);
	free(b);
}

static void test_out_of_memory(void **state)
{
	struct table t;
	struct item *v = items_new(17, "m%u");
	uint32_t i;

	alloc_budget = 0;
	assert_int_equal(table_init(&t, &failing_mem, 16), -1);
	/* a table whose init failed refuses adds and finds nothing */
	assert_int_equal(table_add(&t, item_key(&v[0]), &v[0]), TABLE_NO_ID);
	assert_int_equal(table_find(&t, item_key(&v[0])), TABLE_NO_ID);
	table_destroy(&t);

	alloc_budget = 2; /* buckets and the first 16 slots */
	assert_int_equal(table_init(&t, &failing_mem, 16), 0);
	for(i = 0; i < 16; i++)
		assert_int_not_equal(
				table_add(&t, item_key(&v[i]), &v[i]), TABLE_NO_ID);
	/* the slots cannot grow: refused, the table intact */
	assert_int_equal(table_add(&t, item_key(&v[16]), &v[16]), TABLE_NO_ID);
	assert_int_equal(t.count, 16);
	assert_int_equal(table_find(&t, item_key(&v[16])), TABLE_NO_ID);
	for(i = 0; i < 16; i++)
		assert_int_not_equal(table_find(&t, item_key(&v[i])), TABLE_NO_ID);
	/* a freed slot needs no memory */
	table_remove(&t, table_find(&t, item_key(&v[3])));
	assert_int_not_equal(table_add(&t, item_key(&v[16]), &v[16]), TABLE_NO_ID);
	check_chains(&t);
	table_destroy(&t);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_hash_is_fnv1a),
			cmocka_unit_test(test_bucket_count_rounded),
			cmocka_unit_test(test_add_find_remove),
			cmocka_unit_test(test_duplicate_refused),
			cmocka_unit_test(test_slot_reuse_changes_generation),
			cmocka_unit_test(test_iteration_visits_live_ids),
			cmocka_unit_test(test_100k_keys),
			cmocka_unit_test(test_collision_heavy),
			cmocka_unit_test(test_move_keeps_id_and_generation),
			cmocka_unit_test(test_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
