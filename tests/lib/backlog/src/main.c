/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The backlog ring (lib/backlog): FIFO order, peek without removal, wrap-around of the slot
 * index, overflow (the oldest packet is overwritten and counted), reset, and the rejects.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <zephyr/ztest.h>

#include <ppgcomp/backlog.h>

#define RING_CAP 4U

PPG_BACKLOG_DEFINE(ring, RING_CAP);

BUILD_ASSERT(sizeof(ring_slots) == RING_CAP * PPG_PKT_LEN,
	     "PPG_BACKLOG_DEFINE() holds cap packets of PPG_PKT_LEN bytes");

/* A packet whose every byte tells it apart: byte i is id + i. */
static void make_pkt(uint8_t pkt[PPG_PKT_LEN], uint8_t id)
{
	for (size_t i = 0; i < PPG_PKT_LEN; i++) {
		pkt[i] = (uint8_t)(id + i);
	}
}

static void assert_pkt(const uint8_t pkt[PPG_PKT_LEN], uint8_t id)
{
	uint8_t want[PPG_PKT_LEN];

	make_pkt(want, id);
	zassert_mem_equal(pkt, want, PPG_PKT_LEN, "expected packet %u", id);
}

static bool push_id(struct ppg_backlog *b, uint8_t id)
{
	uint8_t pkt[PPG_PKT_LEN];

	make_pkt(pkt, id);
	return ppg_backlog_push(b, pkt);
}

static void pop_expect(struct ppg_backlog *b, uint8_t id)
{
	uint8_t out[PPG_PKT_LEN];

	zassert_ok(ppg_backlog_pop(b, out));
	assert_pkt(out, id);
}

static void before(void *fixture)
{
	ARG_UNUSED(fixture);
	zassert_ok(PPG_BACKLOG_INIT(ring));
}

ZTEST(lib_backlog, test_init_rejects)
{
	struct ppg_backlog b;

	zassert_equal(ppg_backlog_init(NULL, ring_slots, RING_CAP), -EINVAL);
	zassert_equal(ppg_backlog_init(&b, NULL, RING_CAP), -EINVAL);
	zassert_equal(ppg_backlog_init(&b, ring_slots, 0U), -EINVAL);

	zassert_ok(ppg_backlog_init(&b, ring_slots, RING_CAP));
	zassert_equal(ppg_backlog_capacity(&b), RING_CAP);
	zassert_equal(ppg_backlog_depth(&b), 0U);
	zassert_equal(ppg_backlog_dropped(&b), 0U);
}

ZTEST(lib_backlog, test_empty_has_no_data)
{
	uint8_t out[PPG_PKT_LEN];

	zassert_equal(ppg_backlog_capacity(&ring), RING_CAP);
	zassert_equal(ppg_backlog_depth(&ring), 0U);
	zassert_equal(ppg_backlog_peek(&ring, out), -ENODATA);
	zassert_equal(ppg_backlog_peek_at(&ring, 0U, out), -ENODATA);
	zassert_equal(ppg_backlog_pop(&ring, out), -ENODATA);
	zassert_equal(ppg_backlog_pop(&ring, NULL), -ENODATA);
	zassert_equal(ppg_backlog_depth(&ring), 0U, "a failed pop changes nothing");
}

ZTEST(lib_backlog, test_fifo_order_and_peek)
{
	uint8_t out[PPG_PKT_LEN];

	for (uint8_t id = 10U; id < 13U; id++) {
		zassert_false(push_id(&ring, id), "no drop below capacity");
	}
	zassert_equal(ppg_backlog_depth(&ring), 3U);

	/* Peeking removes nothing. */
	zassert_ok(ppg_backlog_peek(&ring, out));
	assert_pkt(out, 10U);
	zassert_ok(ppg_backlog_peek(&ring, out));
	assert_pkt(out, 10U);
	for (size_t i = 0; i < 3U; i++) {
		zassert_ok(ppg_backlog_peek_at(&ring, i, out));
		assert_pkt(out, (uint8_t)(10U + i));
	}
	zassert_equal(ppg_backlog_peek_at(&ring, 3U, out), -ENODATA, "index == depth");
	zassert_equal(ppg_backlog_depth(&ring), 3U);

	/* Oldest first; pop with a NULL destination removes without copying. */
	pop_expect(&ring, 10U);
	zassert_ok(ppg_backlog_pop(&ring, NULL));
	zassert_equal(ppg_backlog_depth(&ring), 1U);
	zassert_ok(ppg_backlog_peek(&ring, out));
	assert_pkt(out, 12U);
	pop_expect(&ring, 12U);
	zassert_equal(ppg_backlog_pop(&ring, out), -ENODATA);
	zassert_equal(ppg_backlog_dropped(&ring), 0U);
}

ZTEST(lib_backlog, test_wrap_around_keeps_order)
{
	uint8_t out[PPG_PKT_LEN];
	uint8_t next_in = 0U;
	uint8_t next_out = 0U;

	/* Keep 3 packets in a 4-slot ring while the slots go round several times. */
	for (; next_in < 3U; next_in++) {
		zassert_false(push_id(&ring, next_in));
	}
	for (int round = 0; round < 5 * (int)RING_CAP; round++) {
		zassert_false(push_id(&ring, next_in++));
		/* The newest is always at depth - 1, across the end of the slot array. */
		zassert_ok(ppg_backlog_peek_at(&ring, ppg_backlog_depth(&ring) - 1U, out));
		assert_pkt(out, (uint8_t)(next_in - 1U));
		pop_expect(&ring, next_out++);
	}
	while (ppg_backlog_depth(&ring) > 0U) {
		pop_expect(&ring, next_out++);
	}
	zassert_equal(next_out, next_in, "every packet came out once");
	zassert_equal(ppg_backlog_dropped(&ring), 0U);
}

ZTEST(lib_backlog, test_overflow_drops_oldest_and_counts)
{
	const uint8_t n = RING_CAP + 3U;
	uint8_t out[PPG_PKT_LEN];

	for (uint8_t id = 0U; id < n; id++) {
		zassert_equal(push_id(&ring, id), id >= RING_CAP, "push %u", id);
	}
	zassert_equal(ppg_backlog_depth(&ring), RING_CAP);
	zassert_equal(ppg_backlog_dropped(&ring), n - RING_CAP);

	/* The newest RING_CAP packets are kept, oldest first. */
	for (size_t i = 0; i < RING_CAP; i++) {
		zassert_ok(ppg_backlog_peek_at(&ring, i, out));
		assert_pkt(out, (uint8_t)(n - RING_CAP + i));
	}
	for (uint8_t id = n - RING_CAP; id < n; id++) {
		pop_expect(&ring, id);
	}
	zassert_equal(ppg_backlog_depth(&ring), 0U);
	zassert_equal(ppg_backlog_dropped(&ring), n - RING_CAP, "popping does not reset the count");
}

ZTEST(lib_backlog, test_overflow_after_partial_drain)
{
	/* Overflow with the oldest packet away from slot 0. */
	for (uint8_t id = 0U; id < RING_CAP; id++) {
		zassert_false(push_id(&ring, id));
	}
	pop_expect(&ring, 0U);
	pop_expect(&ring, 1U);
	for (uint8_t id = RING_CAP; id < RING_CAP + 3U; id++) {
		zassert_equal(push_id(&ring, id), id == RING_CAP + 2U, "push %u", id);
	}
	zassert_equal(ppg_backlog_dropped(&ring), 1U);
	for (uint8_t id = 3U; id < RING_CAP + 3U; id++) {
		pop_expect(&ring, id);
	}
	zassert_equal(ppg_backlog_depth(&ring), 0U);
}

ZTEST(lib_backlog, test_capacity_one)
{
	static uint8_t one[1][PPG_PKT_LEN];
	struct ppg_backlog b;
	uint8_t out[PPG_PKT_LEN];

	zassert_ok(ppg_backlog_init(&b, one, 1U));
	zassert_false(push_id(&b, 1U));
	zassert_true(push_id(&b, 2U));
	zassert_true(push_id(&b, 3U));
	zassert_equal(ppg_backlog_depth(&b), 1U);
	zassert_equal(ppg_backlog_dropped(&b), 2U);
	zassert_ok(ppg_backlog_peek(&b, out));
	assert_pkt(out, 3U);
	pop_expect(&b, 3U);
	zassert_equal(ppg_backlog_peek(&b, out), -ENODATA);
}

ZTEST(lib_backlog, test_reset_empties_and_zeroes_drops)
{
	uint8_t out[PPG_PKT_LEN];

	for (uint8_t id = 0U; id < RING_CAP + 2U; id++) {
		(void)push_id(&ring, id);
	}
	zassert_equal(ppg_backlog_dropped(&ring), 2U);

	ppg_backlog_reset(&ring);
	zassert_equal(ppg_backlog_depth(&ring), 0U);
	zassert_equal(ppg_backlog_dropped(&ring), 0U);
	zassert_equal(ppg_backlog_capacity(&ring), RING_CAP, "the storage is kept");
	zassert_equal(ppg_backlog_peek(&ring, out), -ENODATA);

	zassert_false(push_id(&ring, 42U));
	pop_expect(&ring, 42U);
}

ZTEST(lib_backlog, test_drop_count_wraps_at_2_pow_32)
{
	for (uint8_t id = 0U; id < RING_CAP; id++) {
		zassert_false(push_id(&ring, id));
	}
	/* The counter is documented to wrap: start it just below the top. */
	ring.dropped = UINT32_MAX;
	zassert_true(push_id(&ring, RING_CAP));
	zassert_equal(ppg_backlog_dropped(&ring), 0U);
	zassert_equal(ppg_backlog_depth(&ring), RING_CAP);
}

ZTEST_SUITE(lib_backlog, NULL, NULL, before, NULL, NULL);
