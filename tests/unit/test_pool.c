/*
 * Unit tests of pool.c: header-less blocks of the lines' sizes in big
 * chunks.
 */
#include <stdio.h>

#include "unit.h"
#include "pool.h"

/* an allocator that counts, and fails on demand */
static int counted_live, counted_calls, counted_fail_after = -1;
static void *counted_alloc(size_t n)
{
	if(counted_fail_after == 0)
		return NULL;
	if(counted_fail_after > 0)
		counted_fail_after--;
	counted_live++;
	counted_calls++;
	return malloc(n);
}
static void *counted_realloc(void *p, size_t n)
{
	return realloc(p, n);
}
static void counted_free(void *p)
{
	if(p)
		counted_live--;
	free(p);
}
static const struct ur_alloc counted = {
		counted_alloc, counted_realloc, counted_free};

static int setup(void **state)
{
	counted_live = counted_calls = 0;
	counted_fail_after = -1;
	return 0;
}

static void fill(void *b, size_t n, unsigned seed)
{
	size_t i;
	for(i = 0; i < n; i++)
		((unsigned char *)b)[i] = (unsigned char)(seed * 31 + i);
}
static int intact(const void *b, size_t n, unsigned seed)
{
	size_t i;
	for(i = 0; i < n; i++)
		if(((const unsigned char *)b)[i] != (unsigned char)(seed * 31 + i))
			return 0;
	return 1;
}

/* blocks of many sizes never overlap and are aligned */
static void test_blocks_are_aligned_and_apart(void **state)
{
	struct pool p;
	enum
	{
		N = 5000
	};
	void *b[N];
	size_t sz[N];
	unsigned i;

	pool_init(&p, &counted);
	srand(7);
	for(i = 0; i < N; i++) {
		sz[i] = 1 + (size_t)(rand() % POOL_MAX);
		b[i] = pool_alloc(&p, sz[i]);
		assert_non_null(b[i]);
		assert_int_equal((uintptr_t)b[i] % POOL_ALIGN, 0);
		fill(b[i], sz[i], i);
	}
	for(i = 0; i < N; i++)
		assert_true(intact(b[i], sz[i], i));
	pool_destroy(&p);
	assert_int_equal(counted_live, 0);
}

/* a freed block serves the next block of its size, not of another size */
static void test_free_block_is_reused_by_its_size(void **state)
{
	struct pool p;
	void *a, *b, *c;

	pool_init(&p, &counted);
	a = pool_alloc(&p, 300);
	b = pool_alloc(&p, 300);
	pool_free(&p, a, 300);
	c = pool_alloc(&p, 600);
	assert_ptr_not_equal(c, a);
	assert_ptr_equal(pool_alloc(&p, 290), a); /* same 16-byte class */
	assert_ptr_not_equal(pool_alloc(&p, 300), a);
	assert_non_null(b);
	pool_destroy(&p);
	assert_int_equal(counted_live, 0);
}

/* 100,000 line-sized blocks cost their rounded size and a few chunk
 * heads: no per-block overhead */
static void test_no_overhead_per_block(void **state)
{
	struct pool p;
	size_t i, want = 0;

	pool_init(&p, &counted);
	for(i = 0; i < 100000; i++) {
		size_t n = 340 + i % 60;
		assert_non_null(pool_alloc(&p, n));
		want += pool_block_size(n);
	}
	assert_int_equal(p.used_bytes, want);
	assert_true(p.chunk_bytes >= want);
	assert_true(p.chunk_bytes - want < want / 100); /* < 1 % */
	assert_int_equal((size_t)counted_calls, p.chunk_bytes / POOL_CHUNK);
	pool_destroy(&p);
	assert_int_equal(counted_live, 0);
}

/* the end of a chunk too short for a block serves smaller blocks */
static void test_chunk_rest_serves_smaller_blocks(void **state)
{
	struct pool p;
	size_t big = POOL_MAX, left;
	int chunks;

	pool_init(&p, &counted);
	while(p.chunk_bytes == 0 || p.bump_left >= big)
		assert_non_null(pool_alloc(&p, big));
	left = p.bump_left & ~(size_t)(POOL_ALIGN - 1);
	assert_true(left > 0);
	chunks = counted_calls;
	assert_non_null(pool_alloc(&p, big)); /* a new chunk */
	assert_int_equal(counted_calls, chunks + 1);
	assert_non_null(pool_alloc(&p, left)); /* the old chunk's rest */
	assert_int_equal(counted_calls, chunks + 1);
	pool_destroy(&p);
	assert_int_equal(counted_live, 0);
}

/* larger blocks go to the allocator, and back to it */
static void test_large_blocks_bypass_the_pool(void **state)
{
	struct pool p;
	void *b;

	pool_init(&p, &counted);
	b = pool_alloc(&p, POOL_MAX + 1);
	assert_non_null(b);
	assert_int_equal(counted_live, 1);
	assert_int_equal(p.chunk_bytes, 0);
	pool_free(&p, b, POOL_MAX + 1);
	assert_int_equal(counted_live, 0);
	assert_null(pool_alloc(&p, 0));
	pool_destroy(&p);
}

/* realloc keeps the content; within a class the block stays */
static void test_realloc_keeps_content(void **state)
{
	struct pool p;
	char *b, *nb;

	pool_init(&p, &counted);
	b = pool_alloc(&p, 100);
	fill(b, 100, 3);
	assert_ptr_equal(pool_realloc(&p, b, 100, 110), b);
	nb = pool_realloc(&p, b, 100, 400);
	assert_ptr_not_equal(nb, b);
	assert_true(intact(nb, 100, 3));
	assert_ptr_equal(pool_alloc(&p, 100), b); /* the old block was freed */
	b = pool_realloc(&p, nb, 400, POOL_MAX + 500);
	assert_true(intact(b, 100, 3));
	assert_int_equal(p.used_bytes, pool_block_size(100));
	pool_free(&p, b, POOL_MAX + 500);
	pool_destroy(&p);
	assert_int_equal(counted_live, 0);
}

/* out of memory: NULL, the old block and the pool unchanged */
static void test_out_of_memory(void **state)
{
	struct pool p;
	char *b;

	pool_init(&p, &counted);
	b = pool_alloc(&p, 100);
	fill(b, 100, 9);
	while(p.bump_left >= pool_block_size(POOL_MAX))
		assert_non_null(pool_alloc(&p, POOL_MAX));
	counted_fail_after = 0;
	assert_null(pool_alloc(&p, POOL_MAX));
	assert_null(pool_realloc(&p, b, 100, POOL_MAX));
	assert_true(intact(b, 100, 9));
	counted_fail_after = -1;
	assert_non_null(pool_alloc(&p, POOL_MAX));
	pool_destroy(&p);
	assert_int_equal(counted_live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test_setup(test_blocks_are_aligned_and_apart, setup),
			cmocka_unit_test_setup(
					test_free_block_is_reused_by_its_size, setup),
			cmocka_unit_test_setup(test_no_overhead_per_block, setup),
			cmocka_unit_test_setup(
					test_chunk_rest_serves_smaller_blocks, setup),
			cmocka_unit_test_setup(test_large_blocks_bypass_the_pool, setup),
			cmocka_unit_test_setup(test_realloc_keeps_content, setup),
			cmocka_unit_test_setup(test_out_of_memory, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
