/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <ppgcomp/packet.h>

#include <errno.h>
#include <string.h>

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v & 0xFFU);
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v & 0xFFU);
	p[1] = (uint8_t)((v >> 8) & 0xFFU);
	p[2] = (uint8_t)((v >> 16) & 0xFFU);
	p[3] = (uint8_t)(v >> 24);
}

static inline void put_lef32(uint8_t *p, float f)
{
	uint32_t v;

	memcpy(&v, &f, sizeof(v));
	put_le32(p, v);
}

int ppg_packet_encode(uint8_t out[PPG_PKT_LEN], uint8_t flags, uint8_t model_tag, uint16_t seq,
		      const int8_t codes[PPG_PKT_CODE_LEN])
{
	if (out == NULL || codes == NULL || (flags & ~PPG_PKT_FLAGS_MASK) != 0U) {
		return -EINVAL;
	}

	out[PPG_PKT_OFF_VER_FLAGS] = (uint8_t)((PPG_PKT_VERSION << PPG_PKT_VERSION_SHIFT) | flags);
	out[PPG_PKT_OFF_MODEL_TAG] = model_tag;
	put_le16(&out[PPG_PKT_OFF_SEQ], seq);
	for (size_t i = 0U; i < PPG_PKT_CODE_LEN; i++) {
		out[PPG_PKT_OFF_CODES + i] = (uint8_t)codes[i];
	}
	return (int)PPG_PKT_LEN;
}

int ppg_packet_decode(const uint8_t *buf, size_t len, int expected_tag, struct ppg_packet *pkt)
{
	if ((buf == NULL && len > 0U) || pkt == NULL) {
		return -EINVAL;
	}
	if (len != PPG_PKT_LEN) {
		return -EMSGSIZE;
	}

	const uint8_t ver_flags = buf[PPG_PKT_OFF_VER_FLAGS];
	uint8_t version;
	uint8_t flags;

	if ((ver_flags >> PPG_PKT_VERSION_SHIFT) == PPG_PKT_VERSION) {
		version = PPG_PKT_VERSION;
		flags = ver_flags & PPG_PKT_FLAGS_MASK;
	} else if ((ver_flags >> 4) == PPG_PKT_VERSION_1) {
		version = PPG_PKT_VERSION_1;
		flags = ver_flags & PPG_PKT_FLAGS_MASK_V1;
	} else {
		return -EPROTONOSUPPORT;
	}
	if (expected_tag >= 0 && buf[PPG_PKT_OFF_MODEL_TAG] != (uint8_t)expected_tag) {
		return -EBADMSG;
	}

	pkt->version = version;
	pkt->flags = flags;
	pkt->model_tag = buf[PPG_PKT_OFF_MODEL_TAG];
	pkt->seq = (uint16_t)(buf[PPG_PKT_OFF_SEQ] | ((uint16_t)buf[PPG_PKT_OFF_SEQ + 1U] << 8));
	for (size_t i = 0U; i < PPG_PKT_CODE_LEN; i++) {
		pkt->codes[i] = (int8_t)buf[PPG_PKT_OFF_CODES + i];
	}
	return 0;
}

void ppg_packet_set_flags(uint8_t pkt[PPG_PKT_LEN], uint8_t flags)
{
	pkt[PPG_PKT_OFF_VER_FLAGS] |= (uint8_t)(flags & PPG_PKT_FLAGS_MASK);
}

int ppg_packet_to_hex(const uint8_t pkt[PPG_PKT_LEN], char *out, size_t out_len)
{
	static const char digits[] = "0123456789abcdef";

	if (pkt == NULL || out == NULL) {
		return -EINVAL;
	}
	if (out_len < PPG_PKT_HEX_LEN + 1U) {
		return -ENOBUFS;
	}

	for (size_t i = 0U; i < PPG_PKT_LEN; i++) {
		out[2U * i] = digits[pkt[i] >> 4];
		out[2U * i + 1U] = digits[pkt[i] & 0x0FU];
	}
	out[PPG_PKT_HEX_LEN] = '\0';
	return (int)PPG_PKT_HEX_LEN;
}

int ppg_model_info_encode(uint8_t out[PPG_MODEL_INFO_LEN], const struct ppg_model_info *mi)
{
	if (out == NULL || mi == NULL) {
		return -EINVAL;
	}

	memset(out, 0, PPG_MODEL_INFO_LEN);
	out[0] = PPG_MODEL_INFO_VERSION;
	out[1] = mi->code_len;
	put_le16(&out[2], mi->sample_rate_hz);
	put_le16(&out[4], mi->window_len);
	put_le16(&out[6], mi->hop);
	put_lef32(&out[8], mi->input_scale);
	out[12] = (uint8_t)mi->input_zero_point;
	out[13] = (uint8_t)mi->output_zero_point;
	/* 14..15 reserved (0) */
	put_lef32(&out[16], mi->output_scale);
	memcpy(&out[20], mi->sha256, PPG_MODEL_HASH_LEN);
	memcpy(&out[52], mi->fw_version, sizeof(mi->fw_version));
	/* 56..63 reserved (0) */
	return (int)PPG_MODEL_INFO_LEN;
}

int ppg_stats_encode(uint8_t out[PPG_STATS_LEN], const struct ppg_stats *st)
{
	if (out == NULL || st == NULL) {
		return -EINVAL;
	}

	put_le32(&out[0], st->windows);
	put_le32(&out[4], st->sent);
	put_le32(&out[8], st->dropped);
	put_le32(&out[12], st->backlog_depth);
	put_le32(&out[16], st->sensor_errors);
	put_le32(&out[20], st->last_inference_us);
	put_le32(&out[24], st->quality_faults);
	return (int)PPG_STATS_LEN;
}
