/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Conditioning of raw sensor reads (lib/sample_cond): a failed read repeats the last good sample
 * and is marked GAP; a sample at or above full scale is marked SATURATED; both are counted.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <zephyr/ztest.h>

#include <ppgcomp/sample_cond.h>
#include <ppgcomp/window.h>

#define FULL_SCALE 524287

BUILD_ASSERT((PPG_WIN_MARK_GAP & PPG_WIN_MARK_SATURATED) == 0U, "marks are distinct bits");

/* One read and what the conditioning must make of it. */
struct step {
	int rc;
	int32_t raw;
	int32_t out;
	uint8_t marks;
	uint32_t error_run;
};

static void run_steps(struct ppg_sample_cond *c, const struct step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int32_t out = INT32_MIN;
		uint8_t marks = ppg_sample_cond_apply(c, steps[i].rc, steps[i].raw, &out);

		zassert_equal(marks, steps[i].marks, "step %zu: marks 0x%x", i, marks);
		zassert_equal(out, steps[i].out, "step %zu: out %d", i, out);
		zassert_equal(c->error_run, steps[i].error_run, "step %zu: error run", i);
	}
}

ZTEST(lib_sample_cond, test_init)
{
	struct ppg_sample_cond c;

	/* init sets every field, whatever was there before. */
	memset(&c, 0xA5, sizeof(c));
	ppg_sample_cond_init(&c, FULL_SCALE);
	zassert_equal(c.full_scale, FULL_SCALE);
	zassert_equal(c.last_good, 0);
	zassert_equal(c.read_errors, 0U);
	zassert_equal(c.saturated, 0U);
	zassert_equal(c.error_run, 0U);
}

ZTEST(lib_sample_cond, test_sensor_error_fills_last_good)
{
	struct ppg_sample_cond c;
	int32_t out;

	ppg_sample_cond_init(&c, FULL_SCALE);
	zassert_equal(ppg_sample_cond_apply(&c, 0, 1234, &out), 0U);
	zassert_equal(out, 1234);
	zassert_equal(ppg_sample_cond_apply(&c, -EIO, 9999, &out), PPG_WIN_MARK_GAP);
	zassert_equal(out, 1234, "a failed read repeats the last good sample");
	zassert_equal(ppg_sample_cond_apply(&c, -EIO, 0, &out), PPG_WIN_MARK_GAP);
	zassert_equal(out, 1234);
	zassert_equal(c.read_errors, 2U);
	zassert_equal(c.error_run, 2U);
	zassert_equal(ppg_sample_cond_apply(&c, 0, 1300, &out), 0U);
	zassert_equal(c.error_run, 0U, "recovered");
	zassert_equal(ppg_sample_cond_apply(&c, 0, FULL_SCALE, &out), PPG_WIN_MARK_SATURATED);
	zassert_equal(c.saturated, 1U);
}

ZTEST(lib_sample_cond, test_error_before_first_good_sample_gives_zero)
{
	static const struct step steps[] = {
		{-ETIMEDOUT, 777, 0, PPG_WIN_MARK_GAP, 1U},
		{-EIO, -5, 0, PPG_WIN_MARK_GAP, 2U},
		{0, 4242, 4242, 0U, 0U},
		{-EIO, 1, 4242, PPG_WIN_MARK_GAP, 1U},
	};
	struct ppg_sample_cond c;

	ppg_sample_cond_init(&c, FULL_SCALE);
	run_steps(&c, steps, ARRAY_SIZE(steps));
	zassert_equal(c.read_errors, 3U, "every failed read is counted, across runs");
	zassert_equal(c.saturated, 0U);
	zassert_equal(c.last_good, 4242);
}

ZTEST(lib_sample_cond, test_saturation_threshold)
{
	static const struct step steps[] = {
		{0, FULL_SCALE - 1, FULL_SCALE - 1, 0U, 0U},
		{0, FULL_SCALE, FULL_SCALE, PPG_WIN_MARK_SATURATED, 0U},
		/* Above full scale: passed through unclipped, still marked. */
		{0, FULL_SCALE + 100, FULL_SCALE + 100, PPG_WIN_MARK_SATURATED, 0U},
		/* A gap repeats the saturated value; it is a GAP, not a new saturated sample. */
		{-EIO, 0, FULL_SCALE + 100, PPG_WIN_MARK_GAP, 1U},
		{0, -FULL_SCALE, -FULL_SCALE, 0U, 0U},
		{0, 0, 0, 0U, 0U},
	};
	struct ppg_sample_cond c;

	ppg_sample_cond_init(&c, FULL_SCALE);
	run_steps(&c, steps, ARRAY_SIZE(steps));
	zassert_equal(c.saturated, 2U);
	zassert_equal(c.read_errors, 1U);
	zassert_equal(c.last_good, 0);
}

ZTEST(lib_sample_cond, test_full_scale_is_per_instance)
{
	static const struct step low[] = {
		{0, 99, 99, 0U, 0U},
		{0, 100, 100, PPG_WIN_MARK_SATURATED, 0U},
	};
	static const struct step high[] = {
		{0, 100, 100, 0U, 0U},
	};
	struct ppg_sample_cond a;
	struct ppg_sample_cond b;

	ppg_sample_cond_init(&a, 100);
	ppg_sample_cond_init(&b, FULL_SCALE);
	run_steps(&a, low, ARRAY_SIZE(low));
	run_steps(&b, high, ARRAY_SIZE(high));
	zassert_equal(a.saturated, 1U);
	zassert_equal(b.saturated, 0U);
}

ZTEST(lib_sample_cond, test_init_resets_counters)
{
	static const struct step steps[] = {
		{0, 10, 10, PPG_WIN_MARK_SATURATED, 0U},
		{-EIO, 0, 10, PPG_WIN_MARK_GAP, 1U},
	};
	struct ppg_sample_cond c;
	int32_t out;

	ppg_sample_cond_init(&c, 5);
	run_steps(&c, steps, ARRAY_SIZE(steps));
	zassert_equal(c.saturated, 1U);

	ppg_sample_cond_init(&c, FULL_SCALE);
	zassert_equal(c.read_errors, 0U);
	zassert_equal(c.saturated, 0U);
	zassert_equal(c.error_run, 0U);
	zassert_equal(ppg_sample_cond_apply(&c, -EIO, 3, &out), PPG_WIN_MARK_GAP);
	zassert_equal(out, 0, "the last good sample is forgotten too");
}

ZTEST_SUITE(lib_sample_cond, NULL, NULL, NULL, NULL, NULL);
