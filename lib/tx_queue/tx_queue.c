/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <ppgcomp/tx_queue.h>

int ppg_txq_init(struct ppg_txq *q, struct ppg_backlog *ring, ppg_txq_send_fn send, void *ctx)
{
	if (q == NULL || ring == NULL || send == NULL) {
		return -EINVAL;
	}
	memset(q, 0, sizeof(*q));
	q->ring = ring;
	q->send = send;
	q->ctx = ctx;
	return 0;
}

static int queue(struct ppg_txq *q, const uint8_t pkt[PPG_PKT_LEN])
{
	if (!ppg_backlog_push(q->ring, pkt)) {
		return PPG_TXQ_QUEUED;
	}
	if (q->in_flight > 0U) {
		/* The overwritten oldest packet was in flight: skip its confirmation. */
		q->in_flight--;
		q->orphans++;
	}
	return PPG_TXQ_QUEUED_DROPPED;
}

/* Packets in the ring not yet sent. */
static uint32_t pending(const struct ppg_txq *q)
{
	return (uint32_t)ppg_backlog_depth(q->ring) - q->in_flight;
}

/* The send of the packet just after the in-flight ones (already in the ring) was accepted. */
static void accepted(struct ppg_txq *q, int rc)
{
	q->in_flight++;
	if (rc == 0) {
		/* Delivered synchronously. */
		ppg_txq_confirm(q, 1U);
	}
}

int ppg_txq_submit(struct ppg_txq *q, const uint8_t pkt[PPG_PKT_LEN])
{
	int rc;
	int qrc;

	if (q == NULL || pkt == NULL) {
		return -EINVAL;
	}
	if (pending(q) > 0U) {
		/* Keep the order: behind the backlog. */
		rc = queue(q, pkt);
		(void)ppg_txq_drain(q);
		return rc;
	}
	rc = q->send(q->ctx, pkt);
	if (rc != 0 && rc != PPG_TXQ_IN_FLIGHT) {
		q->refused++;
		q->last_err = rc;
		return queue(q, pkt);
	}
	/* Kept in the ring until delivered (in flight). */
	qrc = queue(q, pkt);
	accepted(q, rc);
	return qrc == PPG_TXQ_QUEUED_DROPPED ? PPG_TXQ_QUEUED_DROPPED : PPG_TXQ_SENT;
}

int ppg_txq_drain(struct ppg_txq *q)
{
	uint8_t buf[PPG_PKT_LEN];
	int n = 0;

	if (q == NULL) {
		return -EINVAL;
	}
	while (ppg_backlog_peek_at(q->ring, q->in_flight, buf) == 0) {
		int rc;

		ppg_packet_set_flags(buf, PPG_PKT_FLAG_BACKLOG);
		rc = q->send(q->ctx, buf);
		if (rc != 0 && rc != PPG_TXQ_IN_FLIGHT) {
			q->refused++;
			q->last_err = rc;
			break;
		}
		q->sent_backlog++;
		accepted(q, rc);
		n++;
	}
	return n;
}

void ppg_txq_confirm(struct ppg_txq *q, uint32_t n)
{
	if (q == NULL) {
		return;
	}
	for (; n > 0U; n--) {
		if (q->orphans > 0U) {
			q->orphans--;
		} else if (q->in_flight > 0U) {
			(void)ppg_backlog_pop(q->ring, NULL);
			q->in_flight--;
		} else {
			/* Nothing in flight: a stale confirmation. */
			continue;
		}
		q->sent++;
	}
}

uint32_t ppg_txq_requeue(struct ppg_txq *q)
{
	uint32_t n;

	if (q == NULL) {
		return 0U;
	}
	n = q->in_flight;
	q->in_flight = 0U;
	q->orphans = 0U;
	q->requeued += n;
	return n;
}
