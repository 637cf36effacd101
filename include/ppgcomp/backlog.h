/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief FIFO ring of encoded packets kept while the link is down or the TX buffer is full.
 *
 * Usage by the transport:
 *  - every window's packet is encoded live (PPG_PKT_FLAG_BACKLOG clear); when it cannot be sent
 *    (no connection, notifications off, or no TX buffer) it is pushed here;
 *  - while the ring is not empty, new packets are pushed here too, so that packets leave in
 *    sequence order;
 *  - when it can send, the transport drains the ring oldest-first: ppg_backlog_peek(), set
 *    PPG_PKT_FLAG_BACKLOG on the copy with ppg_packet_set_flags(), notify, and ppg_backlog_pop()
 *    only once the notification was accepted (so a failed send loses nothing).
 * The packets are stored as encoded, without the BACKLOG flag: the flag is set by the transport
 * at send time. A packet is lost only when the ring overflows: push then overwrites the oldest
 * packet and counts one drop. The sequence number is assigned when the window is encoded, not when
 * it is sent, so the receiver sees every overflow as a sequence gap.
 *
 * Capacity is a parameter (the app sizes it from Kconfig, at least 15 minutes of packets at the
 * configured hop: 900 s / 2 s = 450). Storage is caller-provided, normally via
 * PPG_BACKLOG_DEFINE().
 * Not thread-safe: the caller serialises access (for example with a k_spinlock) when the producer
 * and the BLE sender run in different contexts.
 */

#ifndef PPGCOMP_BACKLOG_H_
#define PPGCOMP_BACKLOG_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ppgcomp/packet.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Backlog state. Treat as opaque. */
struct ppg_backlog {
	/** Packet slots, capacity entries (caller-provided). */
	uint8_t (*slots)[PPG_PKT_LEN];
	/** Number of slots. */
	size_t capacity;
	/** Index of the oldest packet. */
	size_t tail;
	/** Packets held. */
	size_t depth;
	/** Packets overwritten because the ring was full (wraps at 2^32). */
	uint32_t dropped;
};

/** @brief Define static storage @p name##_slots for @p cap packets and a backlog @p name. */
#define PPG_BACKLOG_DEFINE(name, cap)                                                              \
	static uint8_t name##_slots[(cap)][PPG_PKT_LEN];                                           \
	static struct ppg_backlog name

/** @brief Initialise a backlog defined with PPG_BACKLOG_DEFINE(). */
#define PPG_BACKLOG_INIT(name)                                                                     \
	ppg_backlog_init(&(name), name##_slots, sizeof(name##_slots) / sizeof(name##_slots[0]))

/**
 * @brief Initialise an empty backlog over caller-provided storage.
 *
 * @retval 0 on success.
 * @retval -EINVAL for NULL pointers or a zero capacity.
 */
int ppg_backlog_init(struct ppg_backlog *b, uint8_t (*storage)[PPG_PKT_LEN], size_t capacity);

/** @brief Empty the ring and zero the drop counter. */
void ppg_backlog_reset(struct ppg_backlog *b);

/**
 * @brief Append a packet (newest); when full, overwrite the oldest and count a drop.
 *
 * @return true when the oldest packet was dropped to make room, false otherwise.
 */
bool ppg_backlog_push(struct ppg_backlog *b, const uint8_t pkt[PPG_PKT_LEN]);

/**
 * @brief Copy the oldest packet without removing it.
 *
 * @retval 0 on success.
 * @retval -ENODATA when the ring is empty.
 */
int ppg_backlog_peek(const struct ppg_backlog *b, uint8_t out[PPG_PKT_LEN]);

/**
 * @brief Copy the packet @p index places after the oldest (0: the oldest) without removing it.
 *
 * @retval 0 on success.
 * @retval -ENODATA when the ring holds @p index packets or fewer.
 */
int ppg_backlog_peek_at(const struct ppg_backlog *b, size_t index, uint8_t out[PPG_PKT_LEN]);

/**
 * @brief Remove the oldest packet, copying it to @p out unless @p out is NULL.
 *
 * @retval 0 on success.
 * @retval -ENODATA when the ring is empty.
 */
int ppg_backlog_pop(struct ppg_backlog *b, uint8_t out[PPG_PKT_LEN]);

/** @brief Packets held. */
size_t ppg_backlog_depth(const struct ppg_backlog *b);

/** @brief Capacity in packets. */
size_t ppg_backlog_capacity(const struct ppg_backlog *b);

/** @brief Packets dropped by overflow since init or reset. */
uint32_t ppg_backlog_dropped(const struct ppg_backlog *b);

#ifdef __cplusplus
}
#endif

#endif /* PPGCOMP_BACKLOG_H_ */
