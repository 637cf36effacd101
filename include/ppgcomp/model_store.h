/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Model store: which encoder model the device runs (the built-in one, or a checked blob from the
 * model partition, docs/model_blob.md), and the upload of a new blob into the inactive slot.
 * The upload is driven by the transport (an SMP group over BLE); validation and activation run in
 * the processing thread, between two windows, so no window is lost.
 */

#ifndef PPGCOMP_MODEL_STORE_H_
#define PPGCOMP_MODEL_STORE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Why a blob was refused (also the SMP group's error codes: docs/model_blob.md). */
enum ppg_model_err {
	PPG_MODEL_OK = 0,
	PPG_MODEL_ERR_BUSY = 1,        /* an upload is already open (a second one at once) */
	PPG_MODEL_ERR_TOO_LARGE = 2,   /* total length beyond the slot */
	PPG_MODEL_ERR_TRUNCATED = 3,   /* fewer bytes than the header says, or finish before the end */
	PPG_MODEL_ERR_OFFSET = 4,      /* a chunk not at the expected offset */
	PPG_MODEL_ERR_HEADER = 5,      /* magic, lengths, offsets or alignment */
	PPG_MODEL_ERR_VERSION = 6,     /* format version not 1 */
	PPG_MODEL_ERR_HASH = 7,        /* blob or model SHA-256 mismatch */
	PPG_MODEL_ERR_OP = 8,          /* an op the firmware does not register */
	PPG_MODEL_ERR_ARENA = 9,       /* the measured arena does not fit */
	PPG_MODEL_ERR_GOLDEN = 10,     /* a golden window does not reproduce */
	PPG_MODEL_ERR_FLASH = 11,      /* flash erase/write/read failed */
	PPG_MODEL_ERR_NO_SESSION = 12, /* write/finish without begin */
};

/** The model the encoder runs now. */
struct ppg_model_active {
	const uint8_t *tflite; /* the flatbuffer (built-in array, or the blob in flash) */
	size_t tflite_len;
	uint8_t sha256[32];    /* of the .tflite */
	uint8_t tag;           /* sha256[0]: the packet's model tag */
	bool from_blob;        /* false: the built-in model */
	uint32_t sequence;     /* commit sequence of the blob's slot; 0 for the built-in model */
	float input_scale;     /* the model's int8 input and output quantization (Model info) */
	int8_t input_zero_point;
	float output_scale;
	int8_t output_zero_point;
};

/** At boot: pick the committed slot with the highest sequence that passes every check, else the built-in model. */
int ppg_model_store_init(void);

/** The active model (never NULL after init). */
const struct ppg_model_active *ppg_model_store_active(void);

/** Open an upload of total_len bytes into the inactive slot (erases it). */
enum ppg_model_err ppg_model_store_upload_begin(size_t total_len);

/** Append a chunk; off must equal ppg_model_store_upload_offset(). */
enum ppg_model_err ppg_model_store_upload_write(size_t off, const uint8_t *data, size_t len);

/** Bytes received so far in the open upload (0 when none: a client resumes from here). */
size_t ppg_model_store_upload_offset(void);

/** Check the complete blob (docs/model_blob.md, "When the device uses a blob"), commit it and switch the encoder to it. */
enum ppg_model_err ppg_model_store_upload_finish(void);

/** Drop the open upload (the active model is untouched). */
void ppg_model_store_upload_abort(void);

/**
 * Boot self-test: run the active model's golden windows (a blob's own, or the built-in model's
 * generated ppg_encoder_model_golden_*) through the encoder. 0 when every code matches.
 * MCUboot's image confirmation (app/src/boot_confirm.c) waits for it.
 */
int ppg_model_store_selftest(void);

#ifdef __cplusplus
}
#endif

#endif /* PPGCOMP_MODEL_STORE_H_ */
