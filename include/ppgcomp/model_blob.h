/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Encoder model blob, format version 1 (docs/model_blob.md): the portable parser. Plain C (no Zephyr),
 * compiled by the firmware and by host gcc in the Python tests, which check it against
 * ppgcomp.export.model_blob on the same bytes. Hash-agnostic: the SHA-256 checks (check 2 and 3) are the
 * caller's (the model store hashes the slot in flash with Zephyr's flash_area_check_int_sha256()).
 */

#ifndef PPGCOMP_MODEL_BLOB_H_
#define PPGCOMP_MODEL_BLOB_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ppgcomp/model_store.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PPG_MODEL_BLOB_HEADER_LEN 112U
#define PPG_MODEL_BLOB_FORMAT_VERSION 1U
#define PPG_MODEL_BLOB_MODEL_ALIGN 16U
/** blob_sha256 covers bytes [PPG_MODEL_BLOB_HASHED_FROM, total_len). */
#define PPG_MODEL_BLOB_HASHED_FROM 44U
#define PPG_MODEL_BLOB_MAX_OPS 8U
#define PPG_MODEL_BLOB_MAX_GOLDEN 8U
#define PPG_MODEL_BLOB_UNUSED_OP 0xFFU
/** One slot of ppg_model_partition, and its commit record at the end (docs/model_blob.md). */
#define PPG_MODEL_BLOB_SLOT_BYTES 16384U
#define PPG_MODEL_BLOB_COMMIT_BYTES 32U
#define PPG_MODEL_BLOB_MAX_TOTAL_LEN (PPG_MODEL_BLOB_SLOT_BYTES - PPG_MODEL_BLOB_COMMIT_BYTES)

/** The header's fields (docs/model_blob.md, "Header"), host byte order. */
struct ppg_model_blob_hdr {
	uint16_t format_version;
	uint16_t header_len;
	uint32_t total_len;
	uint8_t blob_sha256[32];
	uint32_t model_offset;
	uint32_t model_len;
	uint8_t model_sha256[32];
	uint8_t model_tag;
	uint8_t op_count;
	uint16_t arena_bytes;
	uint8_t ops[PPG_MODEL_BLOB_MAX_OPS];
	uint16_t window_len;
	uint16_t code_len;
	uint16_t golden_count;
	uint16_t reserved;
	uint32_t golden_offset;
	uint32_t input_quant;
};

/**
 * @brief Check 1 of docs/model_blob.md: is the header well formed, and are all total_len bytes there.
 *
 * In this order (the first that fails is the reason): fewer than 112 bytes (TRUNCATED); magic (HEADER);
 * format version (VERSION); header length (HEADER); total_len beyond max_total (TOO_LARGE) or shorter than
 * the header (HEADER); fewer bytes than total_len (TRUNCATED) or more (HEADER); model offset aligned and
 * after the header, model inside total_len (HEADER); window/code length those of the firmware (HEADER);
 * op count 1..8, golden count 1..8, golden windows after the model and ending at total_len (HEADER).
 *
 * @param blob      The bytes (len of them: the whole blob, or at least its header and total_len == len).
 * @param max_total The largest total_len the caller takes (PPG_MODEL_BLOB_MAX_TOTAL_LEN for a slot).
 * @param out       Receives the parsed header when not NULL (also on a refusal after the header was read).
 */
enum ppg_model_err ppg_model_blob_check_header(const uint8_t *blob, size_t len, size_t max_total,
					       struct ppg_model_blob_hdr *out);

/** @brief Parse the header fields only (no checks); len must be >= PPG_MODEL_BLOB_HEADER_LEN. */
int ppg_model_blob_read_header(const uint8_t *blob, size_t len, struct ppg_model_blob_hdr *out);

/**
 * @brief The TFLite BuiltinOperator codes of a .tflite's operator_codes table (a bounds-checked walk of
 *        the flatbuffer: Model field 1; an OperatorCode's code is the larger of its fields 0 and 3).
 *
 * @param codes Receives the distinct codes, ascending (at most max of them).
 * @return The number of distinct codes, or -EINVAL (not such a flatbuffer, or no codes) / -ENOSPC (more
 *         than max distinct codes, or more than 256 entries).
 */
int ppg_model_blob_tflite_ops(const uint8_t *tflite, size_t len, int32_t *codes, size_t max);

/**
 * @brief Check 4: every op of the flatbuffer and of the header's list is in allowed[0..n_allowed).
 *
 * @return PPG_MODEL_OK, or PPG_MODEL_ERR_OP (an op not allowed, or a flatbuffer whose ops cannot be read).
 */
enum ppg_model_err ppg_model_blob_check_ops(const struct ppg_model_blob_hdr *hdr, const uint8_t *tflite,
					    size_t tflite_len, const int32_t *allowed, size_t n_allowed);

/** @brief Golden window i of a checked blob: its window_len inputs, then code_len codes. */
const int8_t *ppg_model_blob_golden_in(const uint8_t *blob, const struct ppg_model_blob_hdr *hdr,
				       size_t i);
const int8_t *ppg_model_blob_golden_codes(const uint8_t *blob, const struct ppg_model_blob_hdr *hdr,
					  size_t i);

#ifdef __cplusplus
}
#endif

#endif /* PPGCOMP_MODEL_BLOB_H_ */
