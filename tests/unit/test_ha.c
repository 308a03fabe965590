/*
 * Unit tests of ha.c: who owns a line among the live nodes, the fence, and
 * what a node does with an owner row.
 */
#include <stdio.h>

#include "unit.h"
#include "ha.h"

static struct ha_node node(const char *id, int prio, int alive)
{
	struct ha_node n = {ur_str_c(id), prio, alive};
	return n;
}

static void test_mode_and_node_id(void **state)
{
	assert_int_equal(ha_mode_parse(UR_STR_LIT("off")), HA_OFF);
	assert_int_equal(ha_mode_parse(UR_STR_LIT("active")), HA_ACTIVE);
	assert_int_equal(ha_mode_parse(UR_STR_LIT("standby")), HA_STANDBY);
	assert_int_equal(ha_mode_parse(UR_STR_LIT("Active")), -1);
	assert_int_equal(ha_mode_parse(UR_STR_NULL), -1);
	assert_string_equal(ha_mode_name(HA_STANDBY), "standby");
	assert_true(ha_node_id_valid(UR_STR_LIT("sbc-1.example:a_b")));
	/* it is written into SQL text: no quote, space, backslash */
	assert_false(ha_node_id_valid(UR_STR_LIT("a'b")));
	assert_false(ha_node_id_valid(UR_STR_LIT("a b")));
	assert_false(ha_node_id_valid(UR_STR_LIT("a\\b")));
	assert_false(ha_node_id_valid(UR_STR_LIT("")));
	assert_true(ha_node_id_valid(UR_STR_LIT("0123456789012345678901234567890123"
											"456789012345678901234567890123")));
	assert_false(
			ha_node_id_valid(UR_STR_LIT("01234567890123456789012345678901234567"
										"890123456789012345678901234")));
}

static void test_weight_is_stable(void **state)
{
	/* every node must compute the same owner, on any machine, in any
	 * version: the weights are pinned */
	uint64_t w = ha_weight(UR_STR_LIT("line-1"), UR_STR_LIT("node-a"));
	assert_true(w == ha_weight(UR_STR_LIT("line-1"), UR_STR_LIT("node-a")));
	assert_true(w != ha_weight(UR_STR_LIT("line-1"), UR_STR_LIT("node-b")));
	/* the separator: "ab"+"c" is not "a"+"bc" */
	assert_true(ha_weight(UR_STR_LIT("ab"), UR_STR_LIT("c"))
				!= ha_weight(UR_STR_LIT("a"), UR_STR_LIT("bc")));
	assert_true(
			ha_weight(UR_STR_LIT(""), UR_STR_LIT("")) == 0x4f2db50f124040cdULL);
	assert_true(w == 0x6587ba42f5238329ULL);
}

static void test_active_spreads_and_skips_dead(void **state)
{
	struct ha_node nodes[3] = {node("node-a", 100, 1), node("node-b", 100, 1),
			node("node-c", 100, 1)};
	int count[3] = {0, 0, 0};
	int moved = 0, i, d, d2;
	char uuid[32];

	for(i = 0; i < 3000; i++) {
		snprintf(uuid, sizeof(uuid), "line-%d", i);
		d = ha_desired(HA_ACTIVE, ur_str_c(uuid), nodes, 3);
		assert_true(d >= 0 && d < 3);
		count[d]++;
		/* node-c dies: only its lines move, and to a live node */
		nodes[2].alive = 0;
		d2 = ha_desired(HA_ACTIVE, ur_str_c(uuid), nodes, 3);
		nodes[2].alive = 1;
		assert_true(d2 == 0 || d2 == 1);
		if(d != 2)
			assert_int_equal(d2, d);
		else
			moved++;
	}
	/* a fair share each (1000 expected) */
	for(i = 0; i < 3; i++)
		assert_true(count[i] > 850 && count[i] < 1150);
	assert_int_equal(moved, count[2]);
	/* order of the list does not matter */
	{
		struct ha_node rev[3] = {nodes[2], nodes[1], nodes[0]};
		for(i = 0; i < 200; i++) {
			snprintf(uuid, sizeof(uuid), "line-%d", i);
			d = ha_desired(HA_ACTIVE, ur_str_c(uuid), nodes, 3);
			d2 = ha_desired(HA_ACTIVE, ur_str_c(uuid), rev, 3);
			assert_int_equal(d, 2 - d2);
		}
	}
	/* no live node: nobody */
	nodes[0].alive = nodes[1].alive = nodes[2].alive = 0;
	assert_int_equal(ha_desired(HA_ACTIVE, UR_STR_LIT("x"), nodes, 3), -1);
	assert_int_equal(ha_desired(HA_OFF, UR_STR_LIT("x"), nodes, 3), -1);
}

static void test_standby_best_priority(void **state)
{
	struct ha_node nodes[3] = {
			node("b", 100, 1), node("a", 50, 1), node("c", 100, 1)};

	/* highest priority; tie: the smaller node_id */
	assert_int_equal(ha_desired(HA_STANDBY, UR_STR_LIT("l1"), nodes, 3), 0);
	assert_int_equal(ha_desired(HA_STANDBY, UR_STR_LIT("l2"), nodes, 3), 0);
	nodes[0].alive = 0;
	assert_int_equal(ha_desired(HA_STANDBY, UR_STR_LIT("l1"), nodes, 3), 2);
	nodes[2].alive = 0;
	assert_int_equal(ha_desired(HA_STANDBY, UR_STR_LIT("l1"), nodes, 3), 1);
	/* the best one comes back: it has every line again */
	nodes[0].alive = 1;
	assert_int_equal(ha_desired(HA_STANDBY, UR_STR_LIT("l1"), nodes, 3), 0);
	/* a prefix sorts first */
	{
		struct ha_node t[2] = {node("ab", 1, 1), node("a", 1, 1)};
		assert_int_equal(ha_desired(HA_STANDBY, UR_STR_LIT("l"), t, 2), 1);
	}
}

static void test_fence(void **state)
{
	assert_int_equal(ha_margin_ms(10000), 2000);
	assert_int_equal(ha_margin_ms(3000), 1000); /* at least a second */
	assert_int_equal(ha_margin_ms(1500), 750);	/* at most half */
	assert_int_equal(ha_margin_ms(60000), 12000);
	/* sending ends margin before the earliest end of the lease */
	assert_int_equal(ha_fence_deadline(5000, 10000, 2000), 13000);
	assert_int_equal(ha_fence_deadline(5000, 10000, 10000), 5000);
	assert_int_equal(ha_fence_deadline(5000, 10000, 20000), 5000);
}

static struct ha_view view(int owned, uint64_t epoch, int row, int self,
		int other_alive, uint64_t row_epoch, int dself, int dother)
{
	struct ha_view v = {
			owned, epoch, row, self, other_alive, row_epoch, dself, dother};
	return v;
}

static void test_decide(void **state)
{
	struct ha_view v;

	/* ours in memory and in the table: nothing */
	v = view(1, 5, 1, 1, 0, 5, 1, 0);
	assert_int_equal(ha_decide(&v), 0);
	/* ours, but another live node should have it: stop, then release */
	v = view(1, 5, 1, 1, 0, 5, 0, 1);
	assert_int_equal(ha_decide(&v), HA_DROP | HA_RELEASE);
	/* the epoch moved under us (a pause): dropped, taken up again at the
	 * table's epoch since the table still names us */
	v = view(1, 5, 1, 1, 0, 6, 1, 0);
	assert_int_equal(ha_decide(&v), HA_DROP | HA_ADOPT);
	/* a restart: the table names us, memory does not */
	v = view(0, 0, 1, 1, 0, 7, 1, 0);
	assert_int_equal(ha_decide(&v), HA_ADOPT);
	/* another live node owns it: a loss when we believed otherwise */
	v = view(1, 5, 1, 0, 1, 6, 0, 1);
	assert_int_equal(ha_decide(&v), HA_DROP);
	v = view(0, 0, 1, 0, 1, 6, 1, 0);
	assert_int_equal(ha_decide(&v), 0); /* its owner releases it first */
	/* unowned or its owner dead: the desired node claims */
	v = view(0, 0, 1, 0, 0, 6, 1, 0);
	assert_int_equal(ha_decide(&v), HA_CLAIM);
	v = view(0, 0, 1, 0, 0, 6, 0, 1);
	assert_int_equal(ha_decide(&v), 0);
	/* released under us (believed ours): dropped before any claim */
	v = view(1, 6, 1, 0, 0, 6, 1, 0);
	assert_int_equal(ha_decide(&v), HA_DROP | HA_CLAIM);
	/* no row yet */
	v = view(0, 0, 0, 0, 0, 0, 1, 0);
	assert_int_equal(ha_decide(&v), HA_INSERT);
	v = view(0, 0, 0, 0, 0, 0, 0, 1);
	assert_int_equal(ha_decide(&v), 0);
	v = view(1, 3, 0, 0, 0, 0, 0, 1);
	assert_int_equal(ha_decide(&v), HA_DROP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_mode_and_node_id),
			cmocka_unit_test(test_weight_is_stable),
			cmocka_unit_test(test_active_spreads_and_skips_dead),
			cmocka_unit_test(test_standby_best_priority),
			cmocka_unit_test(test_fence),
			cmocka_unit_test(test_decide),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
