/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Send policy over the backlog ring, shared by every transport (portable C: tests/app/faults
 * drives it with a mock transport):
 *  - a live packet is sent directly while the ring is empty;
 *  - when the send fails (no link, not subscribed, no TX buffer, ...) it goes into the ring, and
 *    while the ring holds packets every new packet goes there too, so packets leave in order;
 *  - ppg_txq_drain() sends the ring oldest-first with PPG_PKT_FLAG_BACKLOG set, popping a packet
 *    only once its send was accepted; it stops at the first refusal;
 *  - a packet is lost only when the ring overflows (counted by the ring).
 * In-flight mode (BLE): a send function that returns PPG_TXQ_IN_FLIGHT has only queued the packet
 * in the stack (host/controller buffers), which loses it if the link drops. The packet then stays
 * in the ring, "in flight", until ppg_txq_confirm() reports it delivered (notification complete);
 * ppg_txq_requeue() on a disconnect makes the in-flight packets pending again, so they are resent
 * (with the BACKLOG flag) after the reconnection. Confirmations come in send order.
 * Not locked: the caller runs submit, drain, confirm and requeue in one context.
 */

#ifndef PPGCOMP_TX_QUEUE_H_
#define PPGCOMP_TX_QUEUE_H_

#include <stdint.h>

#include <ppgcomp/backlog.h>
#include <ppgcomp/packet.h>

/** Send function result: accepted but not yet delivered (see ppg_txq_confirm()). */
#define PPG_TXQ_IN_FLIGHT 1

/**
 * Sends one packet. Returns 0 when the packet was delivered, PPG_TXQ_IN_FLIGHT when it was
 * accepted and its delivery will be reported with ppg_txq_confirm(), a negative errno otherwise
 * (e.g. -ENOTCONN, -ENOMEM or -EAGAIN for no TX buffer); the packet is then kept. One send
 * function uses one of the two success results, not both.
 */
typedef int (*ppg_txq_send_fn)(void *ctx, const uint8_t pkt[PPG_PKT_LEN]);

struct ppg_txq {
	struct ppg_backlog *ring;
	ppg_txq_send_fn send;
	void *ctx;
	/** Packets delivered (accepted by send, or confirmed in in-flight mode). */
	uint32_t sent;
	/** Sends from the ring accepted. */
	uint32_t sent_backlog;
	/** Oldest packets of the ring that are in flight (sent, not yet confirmed). */
	uint32_t in_flight;
	/** In-flight packets the ring overwrote when it overflowed (their confirmations are skipped). */
	uint32_t orphans;
	/** In-flight packets made pending again by ppg_txq_requeue(). */
	uint32_t requeued;
	/** Sends refused. */
	uint32_t refused;
	/** Error of the last refused send (0 if none yet). */
	int last_err;
};

enum ppg_txq_result {
	/** Sent live. */
	PPG_TXQ_SENT = 0,
	/** Kept in the ring (sent later with the BACKLOG flag). */
	PPG_TXQ_QUEUED = 1,
	/** Kept in the ring, which overflowed: its oldest packet was dropped. */
	PPG_TXQ_QUEUED_DROPPED = 2,
};

int ppg_txq_init(struct ppg_txq *q, struct ppg_backlog *ring, ppg_txq_send_fn send, void *ctx);

/** @brief Submit a live packet; returns an enum ppg_txq_result or -EINVAL. */
int ppg_txq_submit(struct ppg_txq *q, const uint8_t pkt[PPG_PKT_LEN]);

/** @brief Send from the ring until it is empty or a send is refused; returns packets sent. */
int ppg_txq_drain(struct ppg_txq *q);

/** @brief @p n in-flight packets were delivered (oldest first): remove them from the ring. */
void ppg_txq_confirm(struct ppg_txq *q, uint32_t n);

/**
 * @brief The link dropped: in-flight packets were not delivered and are pending again (the next
 * drain resends them, oldest first). Returns how many.
 */
uint32_t ppg_txq_requeue(struct ppg_txq *q);

static inline uint32_t ppg_txq_in_flight(const struct ppg_txq *q)
{
	return q->in_flight;
}

/** Packets in the ring, in flight included. */
static inline uint32_t ppg_txq_depth(const struct ppg_txq *q)
{
	return (uint32_t)ppg_backlog_depth(q->ring);
}

static inline uint32_t ppg_txq_dropped(const struct ppg_txq *q)
{
	return ppg_backlog_dropped(q->ring);
}

#endif /* PPGCOMP_TX_QUEUE_H_ */
