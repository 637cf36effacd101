/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <string.h>

#include <zephyr/kernel.h>

#include <ppgcomp/backlog.h>

#include "mock_transport.h"
#include "transport/transport.h"

struct mock_link mock_link;
struct ppg_txq mock_txq;
PPG_BACKLOG_DEFINE(mock_ring, MOCK_RING_CAP);

static int mock_send(void *ctx, const uint8_t pkt[PPG_PKT_LEN])
{
	const struct mock_link *l = ctx;

	ARG_UNUSED(pkt);
	return l->fail_with;
}

void mock_transport_reset(void)
{
	memset(&mock_link, 0, sizeof(mock_link));
	(void)PPG_BACKLOG_INIT(mock_ring);
	(void)ppg_txq_init(&mock_txq, &mock_ring, mock_send, &mock_link);
}

/* transport.h, as the app's stats code sees it. */
int app_transport_init(void)
{
	mock_transport_reset();
	return 0;
}

void app_transport_submit(const uint8_t pkt[PPG_PKT_LEN])
{
	(void)ppg_txq_submit(&mock_txq, pkt);
}

void app_transport_stats_changed(void)
{
}

void app_transport_flush(void)
{
	(void)ppg_txq_drain(&mock_txq);
}

void app_transport_comment(const char *text)
{
	ARG_UNUSED(text);
}

void app_transport_close(void)
{
}

void app_transport_get_counters(struct app_transport_counters *c)
{
	c->sent = mock_txq.sent;
	c->dropped = ppg_txq_dropped(&mock_txq);
	c->backlog_depth = ppg_txq_depth(&mock_txq);
}
