/*
 * Model-specific int8 FULLY_CONNECTED: portable core (see tflm_ppg_fc.h for the
 * weight layout). Plain C with no Zephyr or TFLM dependency, so that
 * tests/modules/tflm/test_fc_kernel.py can compile it on the host; on Cortex-M with the DSP
 * extension the inner loop is ppg_fc_dot8_dsp.S.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdint.h>
#include <string.h>

#include "tflm_ppg_fc.h"

#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1) && !defined(TFLM_PPG_FC_PORTABLE)
#define PPG_FC_USE_DSP 1
#else
#define PPG_FC_USE_DSP 0
#endif

uint32_t tflm_ppg_fc_hash(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t h = 2166136261U;

	for (size_t i = 0; i < len; i++) {
		h = (h ^ p[i]) * 16777619U;
	}
	return h;
}

/* gemmlowp::SaturatingRoundingDoublingHighMul */
static inline int32_t srdhm(int32_t a, int32_t b)
{
	if (a == b && a == INT32_MIN) {
		return INT32_MAX;
	}
	int64_t ab = (int64_t)a * (int64_t)b;
	int64_t nudge = ab >= 0 ? (1LL << 30) : (1LL - (1LL << 30));

	return (int32_t)((ab + nudge) / (1LL << 31));
}

/* gemmlowp::RoundingDivideByPOT */
static inline int32_t rdbpot(int32_t x, int32_t exponent)
{
	const int32_t mask = (int32_t)((1LL << exponent) - 1);
	const int32_t remainder = x & mask;
	const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);

	return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM's MultiplyByQuantizedMultiplier(int32_t, int32_t, int), double rounding. */
static inline int32_t requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
	int32_t left = shift > 0 ? shift : 0;
	int32_t right = shift > 0 ? 0 : -shift;

	return rdbpot(srdhm((int32_t)((uint32_t)acc << left), multiplier), right);
}

int32_t tflm_ppg_fc_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
	return requantize(acc, multiplier, shift);
}

static inline int8_t finish(int32_t acc, const struct tflm_ppg_fc_requant *rq)
{
	int32_t v = requantize(acc, rq->multiplier, rq->shift) + rq->output_zero_point;

	v = v < rq->act_min ? rq->act_min : v;
	v = v > rq->act_max ? rq->act_max : v;
	return (int8_t)v;
}

#if PPG_FC_USE_DSP
#include <arm_acle.h>

/* 4 input bytes -> (x0, x2), (x1, x3) as int16 pairs. */
static void expand_input(const int8_t *in, uint32_t *x16, uint32_t cols)
{
	const uint32_t *src = (const uint32_t *)(const void *)in;

	for (uint32_t i = 0; i < cols / 4U; i++) {
		uint32_t v = src[i];

		x16[2 * i] = (uint32_t)__sxtb16(v);
		x16[2 * i + 1] = (uint32_t)__sxtb16((v >> 8) | (v << 24));
	}
}

/* tflm_ppg_fc_dot8 is in ppg_fc_dot8_dsp.S */

#else /* portable */

static void expand_input(const int8_t *in, uint32_t *x16, uint32_t cols)
{
	for (uint32_t i = 0; i < cols / 4U; i++) {
		const int8_t *b = &in[4U * i];

		x16[2 * i] = (uint16_t)(int16_t)b[0] | ((uint32_t)(uint16_t)(int16_t)b[2] << 16);
		x16[2 * i + 1] = (uint16_t)(int16_t)b[1] | ((uint32_t)(uint16_t)(int16_t)b[3] << 16);
	}
}

/* SMLAD: acc + lo(a)*lo(b) + hi(a)*hi(b), modulo 2^32. */
static inline uint32_t smlad(uint32_t a, uint32_t b, uint32_t acc)
{
	int32_t p0 = (int32_t)(int16_t)(a & 0xFFFFU) * (int32_t)(int16_t)(b & 0xFFFFU);
	int32_t p1 = (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);

	return acc + (uint32_t)p0 + (uint32_t)p1;
}

/* SXTB16: sign-extend bytes 0 and 2 into the two halfwords. */
static inline uint32_t sxtb16(uint32_t a)
{
	return (uint16_t)(int16_t)(int8_t)(a & 0xFFU) |
	       ((uint32_t)(uint16_t)(int16_t)(int8_t)((a >> 16) & 0xFFU) << 16);
}

void tflm_ppg_fc_dot8(const uint32_t *w, const uint32_t *x16, uint32_t xwords, int32_t acc[8])
{
	uint32_t a[8] = {0};

	for (uint32_t p = 0; p < xwords; p++) {
		uint32_t x = x16[p];

		for (int q = 0; q < 4; q++) {
			uint32_t wq = *w++;

			a[2 * q] = smlad(wq, x, a[2 * q]);
			a[2 * q + 1] = smlad(sxtb16(wq), x, a[2 * q + 1]);
		}
	}
	for (int i = 0; i < 8; i++) {
		acc[i] = (int32_t)a[i];
	}
}

#endif /* PPG_FC_USE_DSP */

void tflm_ppg_fc_eval(const struct tflm_ppg_fc_layer *layer, const struct tflm_ppg_fc_requant *rq,
		      const int8_t *in, int8_t *out, uint32_t *x16)
{
	const uint32_t xwords = layer->cols / 2U;
	const uint32_t *w = layer->weights;
	const int32_t *bias = layer->bias;
	const uint32_t rows = layer->rows;
	int32_t acc[8];

	expand_input(in, x16, layer->cols);

	for (uint32_t r = 0; r < layer->rows_padded; r += TFLM_PPG_FC_BLOCK_ROWS) {
		tflm_ppg_fc_dot8(w, x16, xwords, acc);
		w += xwords * 4U;

		for (uint32_t q = 0; q < 4U; q++) {
			const uint32_t rb = r + 2U * q;
			const int32_t p_acc = acc[2 * q];
			const int32_t q_acc = acc[2 * q + 1];
			/* P - Q = 256 * acc_A exactly (|acc_A| < 2^23, checked by the exporter). */
			const int32_t acc_a = (int32_t)((uint32_t)p_acc - (uint32_t)q_acc) >> 8;

			if (rb < rows) {
				out[rb] = finish(q_acc + bias[rb], rq);
			}
			if (rb + 1U < rows) {
				out[rb + 1U] = finish(acc_a + bias[rb + 1U], rq);
			}
		}
	}
}
