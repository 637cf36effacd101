/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <ppgcomp/backlog.h>

#include <errno.h>
#include <string.h>

int ppg_backlog_init(struct ppg_backlog *b, uint8_t (*storage)[PPG_PKT_LEN], size_t capacity)
{
	if (b == NULL || storage == NULL || capacity == 0U) {
		return -EINVAL;
	}

	b->slots = storage;
	b->capacity = capacity;
	ppg_backlog_reset(b);
	return 0;
}

void ppg_backlog_reset(struct ppg_backlog *b)
{
	b->tail = 0U;
	b->depth = 0U;
	b->dropped = 0U;
}

static inline size_t slot_index(const struct ppg_backlog *b, size_t offset)
{
	/* tail < capacity and offset <= capacity, so one subtraction wraps. */
	size_t i = b->tail + offset;

	return (i >= b->capacity) ? (i - b->capacity) : i;
}

bool ppg_backlog_push(struct ppg_backlog *b, const uint8_t pkt[PPG_PKT_LEN])
{
	bool dropped = false;

	if (b->depth == b->capacity) {
		/* Overwrite the oldest. */
		b->tail = slot_index(b, 1U);
		b->depth--;
		b->dropped++;
		dropped = true;
	}

	memcpy(b->slots[slot_index(b, b->depth)], pkt, PPG_PKT_LEN);
	b->depth++;
	return dropped;
}

int ppg_backlog_peek(const struct ppg_backlog *b, uint8_t out[PPG_PKT_LEN])
{
	if (b->depth == 0U) {
		return -ENODATA;
	}
	memcpy(out, b->slots[b->tail], PPG_PKT_LEN);
	return 0;
}

int ppg_backlog_peek_at(const struct ppg_backlog *b, size_t index, uint8_t out[PPG_PKT_LEN])
{
	if (index >= b->depth) {
		return -ENODATA;
	}
	memcpy(out, b->slots[slot_index(b, index)], PPG_PKT_LEN);
	return 0;
}

int ppg_backlog_pop(struct ppg_backlog *b, uint8_t out[PPG_PKT_LEN])
{
	if (b->depth == 0U) {
		return -ENODATA;
	}
	if (out != NULL) {
		memcpy(out, b->slots[b->tail], PPG_PKT_LEN);
	}
	b->tail = slot_index(b, 1U);
	b->depth--;
	return 0;
}

size_t ppg_backlog_depth(const struct ppg_backlog *b)
{
	return b->depth;
}

size_t ppg_backlog_capacity(const struct ppg_backlog *b)
{
	return b->capacity;
}

uint32_t ppg_backlog_dropped(const struct ppg_backlog *b)
{
	return b->dropped;
}
