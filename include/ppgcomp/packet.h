/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file
 * @brief The 20-byte code packet and the GATT records of docs/protocol.md.
 *
 * The Python decoder is src/ppgcomp/protocol/packet.py (GATT records: protocol/gatt.py);
 * tests/ppgcomp/protocol/test_packet_roundtrip.py checks both ways.
 */

#ifndef PPGCOMP_PACKET_H_
#define PPGCOMP_PACKET_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Packet length in bytes (fits one notification at the default ATT MTU of 23). */
#define PPG_PKT_LEN      20U
/** Codes per packet. */
#define PPG_PKT_CODE_LEN 16U
/** Protocol version sent, carried in bits 7..5 of byte 0 (docs/protocol.md). */
#define PPG_PKT_VERSION  2U
/** Bit position of the version field in byte 0 (version 2). */
#define PPG_PKT_VERSION_SHIFT 5U
/** The previous version: bits 7..4 of byte 0 = 1, bits 3..0 flags. Still decoded. */
#define PPG_PKT_VERSION_1 1U
/** Length of the native_sim hex line: 40 lower-case hex digits (no NUL, no newline). */
#define PPG_PKT_HEX_LEN  (2U * PPG_PKT_LEN)

/** Flags, bits 4..0 of byte 0 (bits 3..0 in a version 1 packet). */
/** Sent from the backlog ring, not live. Set by the transport when it sends from the ring. */
#define PPG_PKT_FLAG_BACKLOG   (1U << 0)
/** The window contains samples filled in after a sensor read error. */
#define PPG_PKT_FLAG_GAP       (1U << 1)
/** The window contains a sample at the sensor's full scale. */
#define PPG_PKT_FLAG_SATURATED (1U << 2)
/** The window's range is below the flat threshold. */
#define PPG_PKT_FLAG_FLAT      (1U << 3)
/**
 * The pulse occupies fewer than PPG_QUALITY_MIN_SPREAD quantisation levels after the min-max
 * step (a sensor step, lift-off or ambient-light jump): HR from this window is unreliable.
 * Version 2 only.
 */
#define PPG_PKT_FLAG_LOWRES    (1U << 4)
/** All flag bits (version 2). */
#define PPG_PKT_FLAGS_MASK     0x1FU
/** The flag bits of a version 1 packet. */
#define PPG_PKT_FLAGS_MASK_V1  0x0FU

/** Byte offsets. */
#define PPG_PKT_OFF_VER_FLAGS 0U
#define PPG_PKT_OFF_MODEL_TAG 1U
#define PPG_PKT_OFF_SEQ       2U
#define PPG_PKT_OFF_CODES     4U

/*
 * The protocol fixes 16 codes; the model's code length (PPG_MODEL_CODE_LEN in the generated
 * header) must match. Checked here when the generated header was included first, and by
 * tests/ppgcomp/protocol/test_packet_roundtrip.py against the Python constants.
 */
#if defined(PPG_MODEL_CODE_LEN) && (PPG_MODEL_CODE_LEN != PPG_PKT_CODE_LEN)
#error "PPG_MODEL_CODE_LEN (generated model) differs from PPG_PKT_CODE_LEN (docs/protocol.md)"
#endif

/** A decoded packet. */
struct ppg_packet {
	uint8_t version;
	uint8_t flags;
	uint8_t model_tag;
	uint16_t seq;
	int8_t codes[PPG_PKT_CODE_LEN];
};

/**
 * @brief Frame 16 codes as one packet.
 *
 * @param out Destination, PPG_PKT_LEN bytes.
 * @param flags PPG_PKT_FLAG_* bits.
 * @param model_tag First byte of the model's SHA-256 (PPG_MODEL_TAG).
 * @param seq Window sequence number.
 * @param codes The encoder's PPG_PKT_CODE_LEN int8 codes.
 *
 * @return PPG_PKT_LEN on success, -EINVAL for NULL pointers or flags outside PPG_PKT_FLAGS_MASK.
 */
int ppg_packet_encode(uint8_t out[PPG_PKT_LEN], uint8_t flags, uint8_t model_tag, uint16_t seq,
		      const int8_t codes[PPG_PKT_CODE_LEN]);

/**
 * @brief Parse and check one packet (the receiver's rules of docs/protocol.md). Version 2 and
 *        version 1 packets are accepted; pkt->version says which.
 *
 * @param buf Received bytes.
 * @param len Number of received bytes.
 * @param expected_tag Own model tag 0..255, or a negative value to accept any tag.
 * @param pkt Receives the fields on success (untouched on error).
 *
 * @retval 0 on success.
 * @retval -EINVAL for NULL pointers.
 * @retval -EMSGSIZE for a length other than PPG_PKT_LEN.
 * @retval -EPROTONOSUPPORT for a version other than PPG_PKT_VERSION or PPG_PKT_VERSION_1.
 * @retval -EBADMSG for a model tag other than @p expected_tag.
 */
int ppg_packet_decode(const uint8_t *buf, size_t len, int expected_tag, struct ppg_packet *pkt);

/**
 * @brief Set flag bits on an encoded packet in place (the transport sets PPG_PKT_FLAG_BACKLOG
 *        on packets it sends from the backlog ring).
 */
void ppg_packet_set_flags(uint8_t pkt[PPG_PKT_LEN], uint8_t flags);

/**
 * @brief Write the native_sim line: 40 lower-case hex digits and a NUL (no newline).
 *
 * @param pkt Packet, PPG_PKT_LEN bytes.
 * @param out Destination.
 * @param out_len Size of @p out, at least PPG_PKT_HEX_LEN + 1.
 *
 * @return PPG_PKT_HEX_LEN, -EINVAL for NULL pointers, -ENOBUFS if @p out_len is too small.
 */
int ppg_packet_to_hex(const uint8_t pkt[PPG_PKT_LEN], char *out, size_t out_len);

/** Model-info record (read-only GATT characteristic). */
#define PPG_MODEL_INFO_LEN     64U
#define PPG_MODEL_INFO_VERSION 1U
#define PPG_MODEL_HASH_LEN     32U

struct ppg_model_info {
	uint8_t code_len;
	uint16_t sample_rate_hz;
	uint16_t window_len;
	uint16_t hop;
	float input_scale;
	int8_t input_zero_point;
	int8_t output_zero_point;
	float output_scale;
	uint8_t sha256[PPG_MODEL_HASH_LEN];
	/** major, minor, patch, tweak. */
	uint8_t fw_version[4];
};

/**
 * @brief Serialise the model-info record (version PPG_MODEL_INFO_VERSION, reserved bytes 0).
 *
 * @return PPG_MODEL_INFO_LEN, or -EINVAL for NULL pointers.
 */
int ppg_model_info_encode(uint8_t out[PPG_MODEL_INFO_LEN], const struct ppg_model_info *mi);

/** Stats record (read/notify GATT characteristic). */
#define PPG_STATS_LEN 28U

struct ppg_stats {
	uint32_t windows;
	uint32_t sent;
	uint32_t dropped;
	uint32_t backlog_depth;
	uint32_t sensor_errors;
	uint32_t last_inference_us;
	uint32_t quality_faults;
};

/**
 * @brief Serialise the stats record.
 *
 * @return PPG_STATS_LEN, or -EINVAL for NULL pointers.
 */
int ppg_stats_encode(uint8_t out[PPG_STATS_LEN], const struct ppg_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* PPGCOMP_PACKET_H_ */
