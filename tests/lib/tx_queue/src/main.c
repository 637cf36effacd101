/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * The send policy over the backlog ring (lib/tx_queue), driven through a test link whose send
 * result the test sets (up, down, or "no TX buffer" after N packets; delivered at once, or in
 * flight until confirmed) and which records what was sent:
 *  - live send while the ring is empty, queueing (in order) behind a non-empty ring;
 *  - in-order drain with the BACKLOG flag, stopping at the first refusal without losing anything;
 *  - overflow (oldest dropped and counted), also over in-flight packets (orphans);
 *  - in-flight packets kept until confirmed, requeued and resent after a disconnect;
 *  - counters and the rejects.
 */

#include <errno.h>
#include <string.h>

#include <zephyr/ztest.h>

#include <ppgcomp/backlog.h>
#include <ppgcomp/packet.h>
#include <ppgcomp/tx_queue.h>

#define RING_CAP  8U
#define MAX_SENT  64U
#define MODEL_TAG 0xA5U

BUILD_ASSERT(PPG_TXQ_IN_FLIGHT > 0, "in flight is a success result, apart from 0 and -errno");
BUILD_ASSERT(PPG_TXQ_SENT == 0 && PPG_TXQ_QUEUED > 0 && PPG_TXQ_QUEUED_DROPPED > 0 &&
		     PPG_TXQ_QUEUED != PPG_TXQ_QUEUED_DROPPED,
	     "submit: 0 for sent live, distinct positive values for kept");

struct test_link {
	/** Error returned by every send when not 0 (e.g. -ENOTCONN). */
	int fail_with;
	/** Sends accepted before the link starts failing with -ENOMEM (negative: unlimited). */
	int budget;
	/** Accepted sends return PPG_TXQ_IN_FLIGHT (delivery confirmed later, as on BLE). */
	bool in_flight;
	/** Packets accepted, in order. */
	uint8_t sent[MAX_SENT][PPG_PKT_LEN];
	size_t n_sent;
};

static struct test_link tlink;
static struct ppg_txq txq;
PPG_BACKLOG_DEFINE(ring, RING_CAP);

static int link_send(void *ctx, const uint8_t pkt[PPG_PKT_LEN])
{
	struct test_link *l = ctx;

	if (l->fail_with != 0) {
		return l->fail_with;
	}
	if (l->budget == 0) {
		return -ENOMEM; /* no TX buffer */
	}
	if (l->budget > 0) {
		l->budget--;
	}
	zassert_true(l->n_sent < MAX_SENT, "test link overflow");
	memcpy(l->sent[l->n_sent], pkt, PPG_PKT_LEN);
	l->n_sent++;
	return l->in_flight ? PPG_TXQ_IN_FLIGHT : 0;
}

/* Link up, unlimited buffers, delivered at once; an empty ring. */
static void before(void *fixture)
{
	ARG_UNUSED(fixture);
	memset(&tlink, 0, sizeof(tlink));
	tlink.budget = -1;
	zassert_ok(PPG_BACKLOG_INIT(ring));
	zassert_ok(ppg_txq_init(&txq, &ring, link_send, &tlink));
}

static void make_packet(uint8_t pkt[PPG_PKT_LEN], uint16_t seq)
{
	int8_t codes[PPG_PKT_CODE_LEN];

	for (size_t i = 0; i < PPG_PKT_CODE_LEN; i++) {
		codes[i] = (int8_t)(seq + i);
	}
	zassert_equal(ppg_packet_encode(pkt, 0U, MODEL_TAG, seq, codes), (int)PPG_PKT_LEN);
}

static int submit_seq(uint16_t seq)
{
	uint8_t pkt[PPG_PKT_LEN];

	make_packet(pkt, seq);
	return ppg_txq_submit(&txq, pkt);
}

static struct ppg_packet sent_packet(size_t i)
{
	struct ppg_packet p;

	zassert_true(i < tlink.n_sent);
	zassert_ok(ppg_packet_decode(tlink.sent[i], PPG_PKT_LEN, MODEL_TAG, &p));
	return p;
}

/* Sends first..tlink.n_sent-1 carry seq first_seq.. in order, with the given flags. */
static void assert_sent_in_order(size_t first, uint16_t first_seq, uint8_t flags)
{
	for (size_t i = first; i < tlink.n_sent; i++) {
		struct ppg_packet p = sent_packet(i);

		zassert_equal(p.seq, (uint16_t)(first_seq + (i - first)), "send %zu out of order", i);
		zassert_equal(p.flags, flags, "send %zu flags 0x%x", i, p.flags);
		zassert_equal(p.codes[0], (int8_t)p.seq, "send %zu payload", i);
	}
}

ZTEST(lib_tx_queue, test_rejects)
{
	struct ppg_txq q;
	uint8_t pkt[PPG_PKT_LEN];

	zassert_equal(ppg_txq_init(NULL, &ring, link_send, &tlink), -EINVAL);
	zassert_equal(ppg_txq_init(&q, NULL, link_send, &tlink), -EINVAL);
	zassert_equal(ppg_txq_init(&q, &ring, NULL, &tlink), -EINVAL);
	zassert_ok(ppg_txq_init(&q, &ring, link_send, NULL), "the context may be NULL");

	make_packet(pkt, 0);
	zassert_equal(ppg_txq_submit(NULL, pkt), -EINVAL);
	zassert_equal(ppg_txq_submit(&txq, NULL), -EINVAL);
	zassert_equal(ppg_txq_drain(NULL), -EINVAL);
	ppg_txq_confirm(NULL, 1U);
	zassert_equal(ppg_txq_requeue(NULL), 0U);
	zassert_equal(tlink.n_sent, 0U);
	zassert_equal(ppg_txq_depth(&txq), 0U);
}

ZTEST(lib_tx_queue, test_live_send)
{
	zassert_equal(submit_seq(0), PPG_TXQ_SENT);
	zassert_equal(tlink.n_sent, 1U);
	zassert_equal(sent_packet(0).flags, 0U, "a live packet has no BACKLOG flag");
	zassert_equal(ppg_txq_depth(&txq), 0U, "delivered: not kept");
	zassert_equal(ppg_txq_in_flight(&txq), 0U);
	zassert_equal(txq.sent, 1U);
	zassert_equal(txq.sent_backlog, 0U);
	zassert_equal(txq.refused, 0U);
	zassert_equal(txq.last_err, 0);
}

ZTEST(lib_tx_queue, test_refused_live_send_is_queued)
{
	tlink.fail_with = -ENOTCONN;
	zassert_equal(submit_seq(0), PPG_TXQ_QUEUED);
	zassert_equal(ppg_txq_depth(&txq), 1U);
	zassert_equal(txq.refused, 1U);
	zassert_equal(txq.last_err, -ENOTCONN);
	zassert_equal(txq.sent, 0U);
	zassert_equal(tlink.n_sent, 0U);

	/* A drain while still down sends nothing and counts the refusal. */
	zassert_equal(ppg_txq_drain(&txq), 0);
	zassert_equal(txq.refused, 2U);
	zassert_equal(ppg_txq_depth(&txq), 1U);
}

ZTEST(lib_tx_queue, test_overflow_counts_and_drains_newest_in_order)
{
	const uint16_t n = RING_CAP + 5U;

	tlink.fail_with = -ENOTCONN; /* disconnected */
	for (uint16_t s = 0; s < n; s++) {
		zassert_equal(submit_seq(s), s < RING_CAP ? PPG_TXQ_QUEUED : PPG_TXQ_QUEUED_DROPPED,
			      "submit %u", s);
	}
	zassert_equal(tlink.n_sent, 0U);
	zassert_equal(ppg_txq_depth(&txq), RING_CAP);
	zassert_equal(ppg_txq_dropped(&txq), n - RING_CAP, "overflow is counted");

	/* Reconnect: the oldest kept packet first, each with the BACKLOG flag. */
	tlink.fail_with = 0;
	zassert_equal(ppg_txq_drain(&txq), (int)RING_CAP);
	zassert_equal(tlink.n_sent, RING_CAP);
	assert_sent_in_order(0U, n - RING_CAP, PPG_PKT_FLAG_BACKLOG);
	zassert_equal(ppg_txq_depth(&txq), 0U);
	zassert_equal(txq.sent, RING_CAP);
	zassert_equal(txq.sent_backlog, RING_CAP);

	/* Back to live. */
	zassert_equal(submit_seq(n), PPG_TXQ_SENT);
	zassert_equal(sent_packet(RING_CAP).flags, 0U);
	zassert_equal(ppg_txq_dropped(&txq), n - RING_CAP);
}

ZTEST(lib_tx_queue, test_submit_behind_backlog_drains_it_first)
{
	tlink.fail_with = -ENOTCONN;
	for (uint16_t s = 0; s < 3U; s++) {
		(void)submit_seq(s);
	}
	/* Link up again: the next submit keeps the order by going through the ring, which drains. */
	tlink.fail_with = 0;
	zassert_equal(submit_seq(3), PPG_TXQ_QUEUED);
	zassert_equal(tlink.n_sent, 4U);
	assert_sent_in_order(0U, 0U, PPG_PKT_FLAG_BACKLOG);
	zassert_equal(ppg_txq_depth(&txq), 0U);
	zassert_equal(txq.sent_backlog, 4U);

	zassert_equal(submit_seq(4), PPG_TXQ_SENT);
	zassert_equal(sent_packet(4).flags, 0U, "live again");
	zassert_equal(txq.sent, 5U);
}

ZTEST(lib_tx_queue, test_no_tx_buffer_mid_drain_loses_nothing)
{
	uint16_t seq = 0;

	tlink.fail_with = -ENOTCONN;
	for (; seq < 6U; seq++) {
		(void)submit_seq(seq);
	}
	/* Link up, but only 2 TX buffers: the drain stops at -ENOMEM, nothing is popped early. */
	tlink.fail_with = 0;
	tlink.budget = 2;
	zassert_equal(ppg_txq_drain(&txq), 2);
	zassert_equal(txq.last_err, -ENOMEM);
	zassert_equal(ppg_txq_depth(&txq), 4U);

	/* A new packet queues behind the backlog (order kept) while no buffer is free. */
	zassert_equal(submit_seq(seq++), PPG_TXQ_QUEUED);
	zassert_equal(ppg_txq_depth(&txq), 5U);

	/* Buffers free again. */
	tlink.budget = -1;
	zassert_equal(ppg_txq_drain(&txq), 5);
	zassert_equal(tlink.n_sent, 7U);
	assert_sent_in_order(0U, 0U, PPG_PKT_FLAG_BACKLOG);
	zassert_equal(ppg_txq_dropped(&txq), 0U, "nothing lost without overflow");
}

ZTEST(lib_tx_queue, test_in_flight_kept_until_confirmed)
{
	tlink.in_flight = true;
	for (uint16_t s = 0; s < 3U; s++) {
		zassert_equal(submit_seq(s), PPG_TXQ_SENT, "sent live");
	}
	zassert_equal(tlink.n_sent, 3U);
	zassert_equal(ppg_txq_in_flight(&txq), 3U);
	zassert_equal(ppg_txq_depth(&txq), 3U, "kept in the ring until confirmed");
	zassert_equal(txq.sent, 0U);

	/* Nothing pending: draining sends nothing again. */
	zassert_equal(ppg_txq_drain(&txq), 0);

	ppg_txq_confirm(&txq, 2U);
	zassert_equal(ppg_txq_depth(&txq), 1U);
	zassert_equal(ppg_txq_in_flight(&txq), 1U);
	zassert_equal(txq.sent, 2U);

	/* A stale confirmation beyond what is in flight is ignored. */
	ppg_txq_confirm(&txq, 5U);
	zassert_equal(ppg_txq_depth(&txq), 0U);
	zassert_equal(txq.sent, 3U);
	zassert_equal(ppg_txq_dropped(&txq), 0U);
}

ZTEST(lib_tx_queue, test_disconnect_mid_burst_resends_in_flight)
{
	uint16_t seq;

	tlink.in_flight = true;
	tlink.fail_with = -ENOTCONN;
	for (seq = 0; seq < 6U; seq++) {
		(void)submit_seq(seq);
	}
	/* Reconnect: 3 TX buffers; 1 delivered, then the link drops with 2 still queued. */
	tlink.fail_with = 0;
	tlink.budget = 3;
	zassert_equal(ppg_txq_drain(&txq), 3);
	ppg_txq_confirm(&txq, 1U);
	zassert_equal(ppg_txq_requeue(&txq), 2U, "two were in flight");
	zassert_equal(ppg_txq_in_flight(&txq), 0U);
	zassert_equal(ppg_txq_depth(&txq), 5U, "nothing lost");

	/* A live packet while the backlog waits goes behind it. */
	tlink.fail_with = -ENOTCONN;
	zassert_equal(submit_seq(seq++), PPG_TXQ_QUEUED);

	/* Next connection: seq 1.. resent in order with the BACKLOG flag, then live again. */
	tlink.fail_with = 0;
	tlink.budget = -1;
	zassert_equal(ppg_txq_drain(&txq), 6);
	ppg_txq_confirm(&txq, 6U);
	zassert_equal(ppg_txq_depth(&txq), 0U);
	zassert_equal(tlink.n_sent, 9U);
	assert_sent_in_order(3U, 1U, PPG_PKT_FLAG_BACKLOG);
	zassert_equal(submit_seq(seq), PPG_TXQ_SENT);
	zassert_equal(sent_packet(9).flags, 0U, "live again");
	zassert_equal(txq.sent, 7U);
	zassert_equal(txq.requeued, 2U);
}

ZTEST(lib_tx_queue, test_overflow_over_in_flight_packets)
{
	uint16_t seq;

	tlink.in_flight = true;
	/* The whole ring in flight, then one more live packet: the oldest in-flight one is
	 * overwritten; its confirmation must not remove another packet.
	 */
	for (seq = 0; seq < RING_CAP; seq++) {
		zassert_equal(submit_seq(seq), PPG_TXQ_SENT);
	}
	zassert_equal(submit_seq(seq++), PPG_TXQ_QUEUED_DROPPED);
	zassert_equal(ppg_txq_in_flight(&txq), RING_CAP);
	zassert_equal(txq.orphans, 1U);
	ppg_txq_confirm(&txq, 1U);
	zassert_equal(ppg_txq_depth(&txq), RING_CAP, "the orphan's confirmation pops nothing");
	ppg_txq_confirm(&txq, RING_CAP);
	zassert_equal(ppg_txq_depth(&txq), 0U);
	zassert_equal(txq.sent, RING_CAP + 1U);
}

ZTEST(lib_tx_queue, test_requeue_after_overflow_resends_what_is_kept)
{
	tlink.in_flight = true;
	for (uint16_t s = 0; s <= RING_CAP; s++) {
		(void)submit_seq(s);
	}
	zassert_equal(ppg_txq_dropped(&txq), 1U, "seq 0 was overwritten while in flight");
	zassert_equal(txq.orphans, 1U);

	/* Disconnect before any confirmation: the kept packets (seq 1..) are pending again and the
	 * orphan's confirmation will never come.
	 */
	zassert_equal(ppg_txq_requeue(&txq), RING_CAP);
	zassert_equal(txq.orphans, 0U);
	zassert_equal(ppg_txq_in_flight(&txq), 0U);
	zassert_equal(ppg_txq_depth(&txq), RING_CAP);

	zassert_equal(ppg_txq_drain(&txq), (int)RING_CAP);
	assert_sent_in_order(RING_CAP + 1U, 1U, PPG_PKT_FLAG_BACKLOG);
	ppg_txq_confirm(&txq, RING_CAP);
	zassert_equal(ppg_txq_depth(&txq), 0U);
	zassert_equal(txq.sent, RING_CAP);
	zassert_equal(txq.requeued, RING_CAP);
}

ZTEST_SUITE(lib_tx_queue, NULL, NULL, before, NULL, NULL);
