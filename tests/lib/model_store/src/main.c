/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * ztest: the model store (lib/model_store) on native_sim's flash simulator, with the real TFLM encoder
 * and Zephyr's flash_area SHA-256 check: upload, every refusal reason, A/B commit and boot selection,
 * a power cut at every flash operation of an upload, and the encoder's arena guard.
 */

#include <errno.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/storage/flash_map.h>
#include <zephyr/ztest.h>

#include <ppg_encoder_model.h>
#include <ppgcomp/model_blob.h>
#include <ppgcomp/model_store.h>
#include <ppgcomp/model_store_exec.h>
#include <tflm_encoder.h>

#include "blob_builder.h"

#define CHUNK 100U

static uint8_t blob_a[PPG_MODEL_BLOB_MAX_TOTAL_LEN];
static uint8_t blob_b[PPG_MODEL_BLOB_MAX_TOTAL_LEN];
static uint8_t scratch[PPG_MODEL_BLOB_MAX_TOTAL_LEN];
static size_t len_a, len_b;

static void erase_partition(void)
{
	const struct flash_area *fa;

	/* The encoder reads its model in place (its teardown walks the flatbuffer): off the slots first. */
	zassert_ok(tflm_encoder_init(ppg_encoder_model_data, PPG_MODEL_DATA_LEN));

	zassert_ok(flash_area_open(FIXED_PARTITION_ID(ppg_model_partition), &fa));
	zassert_ok(flash_area_erase(fa, 0, fa->fa_size));
	flash_area_close(fa);
}

static enum ppg_model_err upload(const uint8_t *blob, size_t len)
{
	enum ppg_model_err err = ppg_model_store_upload_begin(len);

	for (size_t off = 0; err == PPG_MODEL_OK && off < len; off += CHUNK) {
		err = ppg_model_store_upload_write(off, blob + off, MIN(CHUNK, len - off));
	}
	return err == PPG_MODEL_OK ? ppg_model_store_upload_finish() : err;
}

/* The blob's tflite (in flash) is the one that was uploaded, and the encoder gives its golden codes. */
static void assert_active_blob(const uint8_t *blob, uint32_t seq)
{
	const struct ppg_model_active *a = ppg_model_store_active();
	struct ppg_model_blob_hdr h;

	zassert_ok(ppg_model_blob_read_header(blob, PPG_MODEL_BLOB_HEADER_LEN, &h));
	zassert_true(a->from_blob);
	zassert_equal(a->sequence, seq, "sequence %u, want %u", a->sequence, seq);
	zassert_equal(a->tag, h.model_tag);
	zassert_mem_equal(a->sha256, h.model_sha256, 32);
	zassert_equal(a->tflite_len, h.model_len);
	zassert_mem_equal(a->tflite, blob + h.model_offset, h.model_len);
	zassert_ok(ppg_model_store_selftest());
}

static void assert_builtin(void)
{
	const struct ppg_model_active *a = ppg_model_store_active();

	zassert_false(a->from_blob);
	zassert_equal(a->sequence, 0);
	zassert_equal(a->tag, PPG_MODEL_TAG);
	zassert_equal_ptr(a->tflite, ppg_encoder_model_data);
	zassert_equal(a->output_scale, PPG_MODEL_OUTPUT_SCALE);
	zassert_equal(a->output_zero_point, PPG_MODEL_OUTPUT_ZERO_POINT);
	zassert_ok(ppg_model_store_selftest());
}

static void *suite_setup(void)
{
	len_a = test_blob_build(blob_a, sizeof(blob_a), 1, 4);
	len_b = test_blob_build(blob_b, sizeof(blob_b), 2, 2);
	zassert_true(len_a > 0 && len_b > 0, "cannot build the test blobs");
	zassert_true(memcmp(blob_a + 12, blob_b + 12, 32) != 0, "two different blobs");
	return NULL;
}

static void before(void *f)
{
	ARG_UNUSED(f);
	(void)ppg_model_store_test_power_cut(-1);
	erase_partition();
	zassert_ok(ppg_model_store_init());
}

ZTEST(model_store, test_empty_partition_runs_builtin)
{
	assert_builtin();
	zassert_equal(ppg_model_store_upload_offset(), 0);
}

ZTEST(model_store, test_upload_commits_and_survives_reboot)
{
	zassert_equal(upload(blob_a, len_a), PPG_MODEL_OK);
	assert_active_blob(blob_a, 1);
	zassert_equal(ppg_model_store_upload_offset(), 0, "no upload open after finish");

	/* Reboot: the committed slot again. */
	zassert_ok(ppg_model_store_init());
	assert_active_blob(blob_a, 1);

	/* The next goes to the other slot with the next sequence; the first stays intact. */
	const uint8_t *first = ppg_model_store_active()->tflite;

	zassert_equal(upload(blob_b, len_b), PPG_MODEL_OK);
	assert_active_blob(blob_b, 2);
	zassert_not_equal(ppg_model_store_active()->tflite, first, "A/B: the other slot");
	zassert_ok(ppg_model_store_init());
	assert_active_blob(blob_b, 2);

	/* And a third overwrites the older slot. */
	zassert_equal(upload(blob_a, len_a), PPG_MODEL_OK);
	assert_active_blob(blob_a, 3);
	zassert_equal_ptr(ppg_model_store_active()->tflite, first);
	zassert_ok(ppg_model_store_init());
	assert_active_blob(blob_a, 3);
}

ZTEST(model_store, test_session_errors)
{
	zassert_equal(ppg_model_store_upload_write(0, blob_a, 10), PPG_MODEL_ERR_NO_SESSION);
	zassert_equal(ppg_model_store_upload_finish(), PPG_MODEL_ERR_NO_SESSION);
	zassert_equal(ppg_model_store_upload_begin(PPG_MODEL_BLOB_MAX_TOTAL_LEN + 1),
		      PPG_MODEL_ERR_TOO_LARGE);
	zassert_equal(ppg_model_store_upload_begin(len_a), PPG_MODEL_OK);
	zassert_equal(ppg_model_store_upload_begin(len_a), PPG_MODEL_ERR_BUSY);
	zassert_equal(ppg_model_store_upload_write(0, blob_a, CHUNK), PPG_MODEL_OK);
	zassert_equal(ppg_model_store_upload_offset(), CHUNK);
	zassert_equal(ppg_model_store_upload_write(0, blob_a, CHUNK), PPG_MODEL_ERR_OFFSET);
	zassert_equal(ppg_model_store_upload_write(2 * CHUNK, blob_a, CHUNK), PPG_MODEL_ERR_OFFSET);
	zassert_equal(ppg_model_store_upload_finish(), PPG_MODEL_ERR_TRUNCATED);
	/* Resume from the offset the store reports. */
	for (size_t off = ppg_model_store_upload_offset(); off < len_a; off += CHUNK) {
		zassert_equal(ppg_model_store_upload_write(off, blob_a + off, MIN(CHUNK, len_a - off)),
			      PPG_MODEL_OK);
	}
	zassert_equal(ppg_model_store_upload_write(len_a, blob_a, 1), PPG_MODEL_ERR_TOO_LARGE);
	zassert_equal(ppg_model_store_upload_finish(), PPG_MODEL_OK);
	assert_active_blob(blob_a, 1);

	/* Abort drops an open upload; the active model is untouched. */
	zassert_equal(ppg_model_store_upload_begin(len_b), PPG_MODEL_OK);
	zassert_equal(ppg_model_store_upload_write(0, blob_b, CHUNK), PPG_MODEL_OK);
	ppg_model_store_upload_abort();
	zassert_equal(ppg_model_store_upload_offset(), 0);
	zassert_equal(ppg_model_store_upload_write(CHUNK, blob_b + CHUNK, CHUNK),
		      PPG_MODEL_ERR_NO_SESSION);
	assert_active_blob(blob_a, 1);
	zassert_ok(ppg_model_store_init());
	assert_active_blob(blob_a, 1);
}

/* A copy of blob_a with one edit: every refusal keeps the running model, also after a reboot. */
static void refused(void (*edit)(uint8_t *b, size_t len), enum ppg_model_err want)
{
	memcpy(scratch, blob_a, len_a);
	edit(scratch, len_a);
	zassert_equal(upload(scratch, len_a), want);
	assert_builtin();
	zassert_ok(ppg_model_store_init());
	assert_builtin();
}

static void edit_magic(uint8_t *b, size_t len)
{
	b[0] = 'X';
	test_blob_rehash(b, len);
}

static void edit_version(uint8_t *b, size_t len)
{
	b[4] = 2;
	test_blob_rehash(b, len);
}

static void edit_align(uint8_t *b, size_t len)
{
	b[44] = 120;
	test_blob_rehash(b, len);
}

static void edit_blob_hash(uint8_t *b, size_t len)
{
	ARG_UNUSED(len);
	b[12] ^= 1;
}

static void edit_payload(uint8_t *b, size_t len)
{
	b[len - 1] ^= 1; /* a golden code, hash left stale */
}

static void edit_model_hash(uint8_t *b, size_t len)
{
	b[52] ^= 1;
	b[84] = b[52];
	test_blob_rehash(b, len);
}

static void edit_tag(uint8_t *b, size_t len)
{
	b[84] ^= 1;
	test_blob_rehash(b, len);
}

static void edit_header_op(uint8_t *b, size_t len)
{
	b[85] = 4;
	b[91] = 1; /* AVERAGE_POOL_2D: not registered */
	test_blob_rehash(b, len);
}

static void edit_golden(uint8_t *b, size_t len)
{
	b[len - 1] ^= 1;
	test_blob_rehash(b, len);
}

ZTEST(model_store, test_refusals_keep_the_running_model)
{
	refused(edit_magic, PPG_MODEL_ERR_HEADER);
	refused(edit_version, PPG_MODEL_ERR_VERSION);
	refused(edit_align, PPG_MODEL_ERR_HEADER);
	refused(edit_blob_hash, PPG_MODEL_ERR_HASH);
	refused(edit_payload, PPG_MODEL_ERR_HASH);
	refused(edit_model_hash, PPG_MODEL_ERR_HASH);
	refused(edit_tag, PPG_MODEL_ERR_HASH);
	refused(edit_header_op, PPG_MODEL_ERR_OP);
	refused(edit_golden, PPG_MODEL_ERR_GOLDEN);
}

ZTEST(model_store, test_refusal_keeps_a_blob_model)
{
	zassert_equal(upload(blob_b, len_b), PPG_MODEL_OK);
	memcpy(scratch, blob_a, len_a);
	edit_golden(scratch, len_a);
	zassert_equal(upload(scratch, len_a), PPG_MODEL_ERR_GOLDEN);
	assert_active_blob(blob_b, 1);
	zassert_ok(ppg_model_store_init());
	assert_active_blob(blob_b, 1);
}

/*
 * A power cut at each flash operation of an upload over a committed model (slot A, sequence 1): after
 * the reboot the device runs the old model, or the new one once its commit record is complete; never
 * anything else, and the self-test passes.
 */
ZTEST(model_store, test_power_cut_at_every_flash_operation)
{
	zassert_equal(upload(blob_a, len_a), PPG_MODEL_OK);
	(void)ppg_model_store_test_power_cut(-1);
	zassert_equal(upload(blob_b, len_b), PPG_MODEL_OK);
	int ops = ppg_model_store_test_power_cut(-1);

	zassert_true(ops > 4, "%d flash operations", ops);
	TC_PRINT("an upload of %zu bytes is %d flash operations\n", len_b, ops);

	for (int n = 0; n <= ops; n++) {
		erase_partition();
		zassert_ok(ppg_model_store_init());
		zassert_equal(upload(blob_a, len_a), PPG_MODEL_OK);
		assert_active_blob(blob_a, 1);

		(void)ppg_model_store_test_power_cut(n);
		(void)upload(blob_b, len_b); /* the code runs on; its flash writes stop at n */
		(void)ppg_model_store_test_power_cut(-1);

		zassert_ok(ppg_model_store_init()); /* the reboot */
		if (n < ops) {
			assert_active_blob(blob_a, 1);
		} else {
			assert_active_blob(blob_b, 2);
		}
	}
}

/*
 * The encoder's arena guard: at every arena size the built-in model either loads within it or is
 * refused with -ENOMEM (never an abort in a kernel's Prepare): refused below what it needs, loaded from
 * there on (within the 16 bytes the arena's end alignment moves).
 */
ZTEST(model_store, test_arena_guard_at_every_size)
{
	zassert_ok(tflm_encoder_init(ppg_encoder_model_data, PPG_MODEL_DATA_LEN));

	size_t need = tflm_encoder_arena_used();
	size_t bound = tflm_encoder_arena_bound();
	size_t first_ok = 0;
	size_t refused = 0;

	TC_PRINT("arena: %zu used, %zu bound before planning, %u + %u headroom\n", need, bound,
		 (unsigned int)CONFIG_TFLM_ARENA_SIZE, (unsigned int)CONFIG_TFLM_ARENA_HEADROOM);
	zassert_true(need <= CONFIG_TFLM_ARENA_SIZE);
	zassert_true(bound <= CONFIG_TFLM_ARENA_SIZE + CONFIG_TFLM_ARENA_HEADROOM);

	for (size_t limit = 0; limit <= CONFIG_TFLM_ARENA_SIZE; limit++) {
		int rc = tflm_encoder_init_limited(ppg_encoder_model_data, PPG_MODEL_DATA_LEN, limit);

		zassert_true(rc == 0 || rc == -ENOMEM, "limit %zu: %d", limit, rc);
		if (rc == 0) {
			zassert_true(tflm_encoder_arena_used() <= limit, "limit %zu: used %zu", limit,
				     tflm_encoder_arena_used());
			first_ok = first_ok == 0 ? limit : first_ok;
		} else {
			refused++;
			zassert_true(limit < need + 16, "refused at %zu, needs %zu", limit, need);
		}
		if (limit + 16 < need) {
			zassert_equal(rc, -ENOMEM, "loaded at %zu, needs %zu", limit, need);
		}
	}
	TC_PRINT("loads from an arena of %zu bytes; %zu sizes refused\n", first_ok, refused);
	zassert_equal(tflm_encoder_init_limited(ppg_encoder_model_data, PPG_MODEL_DATA_LEN,
						CONFIG_TFLM_ARENA_SIZE + 1),
		      -EINVAL);
	zassert_ok(tflm_encoder_init(ppg_encoder_model_data, PPG_MODEL_DATA_LEN));
}

ZTEST_SUITE(model_store, NULL, suite_setup, before, NULL, NULL);
