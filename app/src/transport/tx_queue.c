/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "tx_queue.h"

int app_txq_init(struct app_txq *q, struct ppg_backlog *ring, app_txq_send_fn send, void *ctx)
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

static int queue(struct app_txq *q, const uint8_t pkt[PPG_PKT_LEN])
{
	return ppg_backlog_push(q->ring, pkt) ? APP_TXQ_QUEUED_DROPPED : APP_TXQ_QUEUED;
}

int app_txq_submit(struct app_txq *q, const uint8_t pkt[PPG_PKT_LEN])
{
	int rc;

	if (q == NULL || pkt == NULL) {
		return -EINVAL;
	}
	if (ppg_backlog_depth(q->ring) > 0U) {
		/* Keep the order: behind the backlog. */
		rc = queue(q, pkt);
		(void)app_txq_drain(q);
		return rc;
	}
	rc = q->send(q->ctx, pkt);
	if (rc == 0) {
		q->sent++;
		return APP_TXQ_SENT;
	}
	q->refused++;
	q->last_err = rc;
	return queue(q, pkt);
}

int app_txq_drain(struct app_txq *q)
{
	uint8_t buf[PPG_PKT_LEN];
	int n = 0;

	if (q == NULL) {
		return -EINVAL;
	}
	while (ppg_backlog_peek(q->ring, buf) == 0) {
		int rc;

		ppg_packet_set_flags(buf, PPG_PKT_FLAG_BACKLOG);
		rc = q->send(q->ctx, buf);
		if (rc != 0) {
			q->refused++;
			q->last_err = rc;
			break;
		}
		(void)ppg_backlog_pop(q->ring, NULL);
		q->sent++;
		q->sent_backlog++;
		n++;
	}
	return n;
}
