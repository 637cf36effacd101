/*
 * modules/tflm encoder tests: the generated model on the trimmed TFLM build must
 * reproduce the exporter's golden codes bit for bit.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <errno.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/ztest.h>

#include "ppg_encoder_model.h"
#include "tflm_encoder.h"

#include "ppg_golden_model_vectors.h"

/* Results of calls made once in the suite setup, before anything else. */
static int pre_init_run_rc;
static int first_init_rc;

static void *encoder_setup(void)
{
	int8_t codes[PPG_MODEL_CODE_LEN];

	pre_init_run_rc = tflm_encoder_run(golden_window_q[0], PPG_MODEL_WINDOW_LEN, codes,
					   sizeof(codes));
	first_init_rc = tflm_encoder_init(ppg_encoder_model_data, PPG_MODEL_DATA_LEN);
	TC_PRINT("CONFIG_TFLM_ARENA_SIZE %d, model arena %d, init %d, arena used %zu\n",
		 CONFIG_TFLM_ARENA_SIZE, PPG_MODEL_ARENA_BYTES, first_init_rc,
		 tflm_encoder_arena_used());
	return NULL;
}

#ifndef CONFIG_TEST_ENCODER_SMALL_ARENA

/* Every test starts from a freshly initialised encoder (order-independent). */
static void encoder_before(void *fixture)
{
	ARG_UNUSED(fixture);
	zassert_ok(tflm_encoder_init(ppg_encoder_model_data, PPG_MODEL_DATA_LEN));
}

ZTEST_SUITE(tflm_encoder, NULL, encoder_setup, encoder_before, NULL, NULL);

ZTEST(tflm_encoder, test_run_before_init)
{
	zassert_equal(pre_init_run_rc, -EAGAIN, "run before init: %d", pre_init_run_rc);
}

ZTEST(tflm_encoder, test_init_and_arena)
{
	size_t used = tflm_encoder_arena_used();

	zassert_ok(first_init_rc);
	TC_PRINT("arena used %zu of %d bytes\n", used, CONFIG_TFLM_ARENA_SIZE);
	zassert_true(used > 0);
	/* TFLM's own count (MicroInterpreter::arena_used_bytes()) fits the configured arena... */
	zassert_true(used <= CONFIG_TFLM_ARENA_SIZE, "arena used %zu > CONFIG_TFLM_ARENA_SIZE %d", used,
		     CONFIG_TFLM_ARENA_SIZE);
	/* ...and the exporter's measured default, which Kconfig.model gives TFLM_ARENA_SIZE. */
	zassert_true(used <= PPG_MODEL_ARENA_BYTES, "arena used %zu > PPG_MODEL_ARENA_BYTES %d", used,
		     PPG_MODEL_ARENA_BYTES);
	zassert_true(used <= 4096, "arena used %zu > 4096", used);
}

ZTEST(tflm_encoder, test_golden_codes)
{
	int8_t codes[PPG_MODEL_CODE_LEN];
	int mismatched_codes = 0;
	int mismatched_windows = 0;
	uint32_t max_us = 0;

	for (int w = 0; w < GOLDEN_WINDOWS; w++) {
		int bad = 0;

		zassert_ok(tflm_encoder_run(golden_window_q[w], PPG_MODEL_WINDOW_LEN, codes,
					    sizeof(codes)));
		max_us = MAX(max_us, tflm_encoder_last_inference_us());
		for (int i = 0; i < PPG_MODEL_CODE_LEN; i++) {
			if (codes[i] != golden_codes[w][i]) {
				TC_PRINT("window %d code %d: got %d, golden %d\n", w, i, codes[i],
					 golden_codes[w][i]);
				bad++;
			}
		}
		mismatched_codes += bad;
		mismatched_windows += (bad != 0);
	}
	TC_PRINT("golden: %d windows, %d mismatched codes in %d windows; "
		 "inference up to %u us\n",
		 GOLDEN_WINDOWS, mismatched_codes, mismatched_windows, max_us);
	zassert_equal(mismatched_codes, 0, "%d codes differ from the golden codes",
		      mismatched_codes);
}

ZTEST(tflm_encoder, test_run_repeatable)
{
	int8_t a[PPG_MODEL_CODE_LEN];
	int8_t b[PPG_MODEL_CODE_LEN];
	int8_t c[PPG_MODEL_CODE_LEN];
	int last = GOLDEN_WINDOWS - 1;

	/* Twice in a row: the input tensor must be refilled before each Invoke. */
	zassert_ok(tflm_encoder_run(golden_window_q[0], PPG_MODEL_WINDOW_LEN, a, sizeof(a)));
	zassert_ok(tflm_encoder_run(golden_window_q[0], PPG_MODEL_WINDOW_LEN, b, sizeof(b)));
	zassert_mem_equal(a, b, sizeof(a));

	/* Interleaved with another window: no state leaks between runs. */
	zassert_ok(tflm_encoder_run(golden_window_q[last], PPG_MODEL_WINDOW_LEN, c, sizeof(c)));
	zassert_ok(tflm_encoder_run(golden_window_q[0], PPG_MODEL_WINDOW_LEN, b, sizeof(b)));
	zassert_mem_equal(a, b, sizeof(a));
	zassert_mem_equal(c, golden_codes[last], sizeof(c));
}

ZTEST(tflm_encoder, test_wrong_sizes)
{
	int8_t codes[PPG_MODEL_CODE_LEN + 1];
	const int8_t *in = golden_window_q[0];

	zassert_equal(tflm_encoder_run(in, PPG_MODEL_WINDOW_LEN - 1, codes, PPG_MODEL_CODE_LEN),
		      -EINVAL);
	zassert_equal(tflm_encoder_run(in, PPG_MODEL_WINDOW_LEN + 1, codes, PPG_MODEL_CODE_LEN),
		      -EINVAL);
	zassert_equal(tflm_encoder_run(in, PPG_MODEL_WINDOW_LEN, codes, PPG_MODEL_CODE_LEN - 1),
		      -EINVAL);
	zassert_equal(tflm_encoder_run(in, PPG_MODEL_WINDOW_LEN, codes, PPG_MODEL_CODE_LEN + 1),
		      -EINVAL);
	zassert_equal(tflm_encoder_run(NULL, PPG_MODEL_WINDOW_LEN, codes, PPG_MODEL_CODE_LEN),
		      -EINVAL);
	zassert_equal(tflm_encoder_run(in, PPG_MODEL_WINDOW_LEN, NULL, PPG_MODEL_CODE_LEN),
		      -EINVAL);
	/* Still usable afterwards. */
	zassert_ok(tflm_encoder_run(in, PPG_MODEL_WINDOW_LEN, codes, PPG_MODEL_CODE_LEN));
	zassert_mem_equal(codes, golden_codes[0], PPG_MODEL_CODE_LEN);
}

ZTEST(tflm_encoder, test_bad_model)
{
	static uint8_t junk[64];
	int8_t codes[PPG_MODEL_CODE_LEN];

	zassert_equal(tflm_encoder_init(NULL, PPG_MODEL_DATA_LEN), -EINVAL);
	zassert_equal(tflm_encoder_init(ppg_encoder_model_data, 4), -EINVAL);
	memset(junk, 0xa5, sizeof(junk));
	zassert_equal(tflm_encoder_init(junk, sizeof(junk)), -EINVAL);
#ifdef CONFIG_TFLM_VERIFY_MODEL
	/* Truncated: the verifier refuses it. */
	zassert_equal(tflm_encoder_init(ppg_encoder_model_data, PPG_MODEL_DATA_LEN / 2),
		      -EINVAL);
#endif
	/* A failed init leaves the encoder uninitialised. */
	zassert_equal(tflm_encoder_arena_used(), 0);
	zassert_equal(tflm_encoder_run(golden_window_q[0], PPG_MODEL_WINDOW_LEN, codes,
				       sizeof(codes)),
		      -EAGAIN);
}

#else /* CONFIG_TEST_ENCODER_SMALL_ARENA */

ZTEST_SUITE(tflm_encoder_small_arena, NULL, encoder_setup, NULL, NULL, NULL);

ZTEST(tflm_encoder_small_arena, test_init_enomem)
{
	int8_t codes[PPG_MODEL_CODE_LEN];

	zassert_equal(pre_init_run_rc, -EAGAIN, "run before init: %d", pre_init_run_rc);
	zassert_equal(first_init_rc, -ENOMEM, "init with a %d-byte arena: %d",
		      CONFIG_TFLM_ARENA_SIZE, first_init_rc);
	zassert_equal(tflm_encoder_arena_used(), 0);
	zassert_equal(tflm_encoder_run(golden_window_q[0], PPG_MODEL_WINDOW_LEN, codes,
				       sizeof(codes)),
		      -EAGAIN);
	/* Again: still an error, still no crash. */
	zassert_equal(tflm_encoder_init(ppg_encoder_model_data, PPG_MODEL_DATA_LEN), -ENOMEM);
	zassert_equal(tflm_encoder_run(golden_window_q[0], PPG_MODEL_WINDOW_LEN, codes,
				       sizeof(codes)),
		      -EAGAIN);
}

#endif /* CONFIG_TEST_ENCODER_SMALL_ARENA */
