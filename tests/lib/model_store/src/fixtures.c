/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * ztest: the committed fixture blobs (tests/fixtures/model_blobs/README.md) through the model store:
 * each bad one refused for its reason, the built-in model kept; alt_good (a different real encoder)
 * activated, its tag reported and its codes given by the encoder; big_arena (a real model that needs
 * 9.5 KB of arena) refused on the device's own measurement without a fault.
 */

#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/sys/byteorder.h>
#include <zephyr/storage/flash_map.h>
#include <zephyr/ztest.h>

#include <alt_good.h>
#include <ppg_encoder_model.h>
#include <ppg_golden_vectors.h>
#include <ppgcomp/model_store.h>
#include <ppgcomp/model_store_exec.h>
#include <tflm_encoder.h>

static const uint8_t alt_good[] = {
#include <model_blobs/alt_good.blob.inc>
};
static const uint8_t corrupt[] = {
#include <model_blobs/corrupt.blob.inc>
};
static const uint8_t bad_hash[] = {
#include <model_blobs/bad_hash.blob.inc>
};
static const uint8_t bad_op[] = {
#include <model_blobs/bad_op.blob.inc>
};
static const uint8_t big_arena[] = {
#include <model_blobs/big_arena.blob.inc>
};
static const uint8_t bad_golden[] = {
#include <model_blobs/bad_golden.blob.inc>
};
static const uint8_t truncated[] = {
#include <model_blobs/truncated.blob.inc>
};
static const uint8_t bad_version[] = {
#include <model_blobs/bad_version.blob.inc>
};
static const uint8_t misaligned[] = {
#include <model_blobs/misaligned.blob.inc>
};
static const uint8_t too_large[] = {
#include <model_blobs/too_large.blob.inc>
};

#define CHUNK 240U

/* The length the client announces: the header's total_len (a truncated blob sends fewer bytes). */
static size_t announced(const uint8_t *blob)
{
	return sys_get_le32(blob + 8);
}

static enum ppg_model_err send(const uint8_t *blob, size_t len)
{
	size_t total = announced(blob);
	enum ppg_model_err err = ppg_model_store_upload_begin(total);

	for (size_t off = 0; err == PPG_MODEL_OK && off < len; off += CHUNK) {
		err = ppg_model_store_upload_write(off, blob + off, MIN(CHUNK, len - off));
	}
	if (err == PPG_MODEL_OK) {
		err = ppg_model_store_upload_finish();
	}
	if (err != PPG_MODEL_OK) {
		ppg_model_store_upload_abort();
	}
	return err;
}

static void expect_builtin(void)
{
	const struct ppg_model_active *a = ppg_model_store_active();

	zassert_false(a->from_blob);
	zassert_equal(a->tag, PPG_MODEL_TAG);
	zassert_ok(ppg_model_store_selftest());
}

static void before(void *f)
{
	const struct flash_area *fa;

	ARG_UNUSED(f);
	(void)ppg_model_store_test_power_cut(-1);
	zassert_ok(tflm_encoder_init(ppg_encoder_model_data, PPG_MODEL_DATA_LEN));
	zassert_ok(flash_area_open(FIXED_PARTITION_ID(ppg_model_partition), &fa));
	zassert_ok(flash_area_erase(fa, 0, fa->fa_size));
	flash_area_close(fa);
	zassert_ok(ppg_model_store_init());
}

ZTEST(model_store_fixtures, test_each_bad_blob_refused_for_its_reason)
{
	static const struct {
		const char *name;
		const uint8_t *blob;
		size_t len;
		enum ppg_model_err want;
	} cases[] = {
		{"corrupt", corrupt, sizeof(corrupt), PPG_MODEL_ERR_HASH},
		{"bad_hash", bad_hash, sizeof(bad_hash), PPG_MODEL_ERR_HASH},
		{"bad_op", bad_op, sizeof(bad_op), PPG_MODEL_ERR_OP},
		{"big_arena", big_arena, sizeof(big_arena), PPG_MODEL_ERR_ARENA},
		{"bad_golden", bad_golden, sizeof(bad_golden), PPG_MODEL_ERR_GOLDEN},
		{"bad_version", bad_version, sizeof(bad_version), PPG_MODEL_ERR_VERSION},
		{"misaligned", misaligned, sizeof(misaligned), PPG_MODEL_ERR_HEADER},
		{"too_large", too_large, sizeof(too_large), PPG_MODEL_ERR_TOO_LARGE},
		{"truncated", truncated, sizeof(truncated), PPG_MODEL_ERR_TRUNCATED},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum ppg_model_err err = send(cases[i].blob, cases[i].len);

		TC_PRINT("%s: %d\n", cases[i].name, (int)err);
		zassert_equal(err, cases[i].want, "%s: %d, want %d", cases[i].name, (int)err,
			      (int)cases[i].want);
		expect_builtin();
	}
	/* Nothing of them survives a reboot either. */
	zassert_ok(ppg_model_store_init());
	expect_builtin();
}

ZTEST(model_store_fixtures, test_alt_good_switches_the_encoder)
{
	int8_t codes[GOLDEN_CODE_LEN];

	zassert_equal(send(alt_good, sizeof(alt_good)), PPG_MODEL_OK);

	const struct ppg_model_active *a = ppg_model_store_active();

	zassert_true(a->from_blob);
	zassert_equal(a->tag, ALT_GOOD_TAG);
	zassert_equal(a->tflite_len, ALT_GOOD_TFLITE_LEN);
	zassert_equal(a->sequence, 1);
	/* Its own quantization (Model info reports it), not the built-in model's. */
	zassert_equal(a->input_scale, ALT_GOOD_INPUT_SCALE);
	zassert_equal(a->input_zero_point, ALT_GOOD_INPUT_ZERO_POINT);
	zassert_equal(a->output_scale, ALT_GOOD_OUTPUT_SCALE);
	zassert_equal(a->output_zero_point, ALT_GOOD_OUTPUT_ZERO_POINT);
	zassert_not_equal(a->output_scale, PPG_MODEL_OUTPUT_SCALE);
	/* The encoder runs it now: its codes for the exporter's golden windows. */
	for (size_t w = 0; w < GOLDEN_WINDOWS; w++) {
		zassert_ok(tflm_encoder_run(golden_window_q[w], GOLDEN_WINDOW_LEN, codes, sizeof(codes)));
		zassert_mem_equal(codes, alt_good_golden_codes[w], sizeof(codes), "window %zu", w);
	}
	zassert_ok(ppg_model_store_selftest());

	/* And after a reboot. */
	zassert_ok(ppg_model_store_init());
	a = ppg_model_store_active();
	zassert_equal(a->tag, ALT_GOOD_TAG);
	zassert_ok(ppg_model_store_selftest());
	zassert_ok(tflm_encoder_run(golden_window_q[0], GOLDEN_WINDOW_LEN, codes, sizeof(codes)));
	zassert_mem_equal(codes, alt_good_golden_codes[0], sizeof(codes));

	/* A refused blob afterwards keeps alt_good running. */
	zassert_equal(send(big_arena, sizeof(big_arena)), PPG_MODEL_ERR_ARENA);
	zassert_equal(ppg_model_store_active()->tag, ALT_GOOD_TAG);
	zassert_ok(tflm_encoder_run(golden_window_q[1], GOLDEN_WINDOW_LEN, codes, sizeof(codes)));
	zassert_mem_equal(codes, alt_good_golden_codes[1], sizeof(codes));
}

ZTEST_SUITE(model_store_fixtures, NULL, NULL, before, NULL, NULL);
