/*
 * Encoder cost benchmark: instructions per inference of the encoder model
 * (lib/encoder_model, or -DPPG_MODEL_DIR with -DPPG_GOLDEN_DIR) through
 * modules/tflm, under QEMU -icount (one instruction = 1 ns of virtual time),
 * and a bit-exact check of the codes against the golden vectors.
 *
 * Output (parsed by scripts/bench_encoder_cost.py, with the encoder's
 * "encoder ready: N ops, arena USED/SIZE bytes" log line; the twister console
 * harness matches the last three lines):
 *   BENCH kernel=<k> dsp=<0|1> macs=<n> windows=<n> passes=<n>
 *   BENCH calib loop_instr=<n> cycles=<n> overhead_cycles=<n>
 *   BENCH run window=<w> instr=<n>                  (first pass, per window)
 *   BENCH result instr_per_inference=<n> instr_min=<n> instr_max=<n> instr_per_mac_milli=<n>
 *   BENCH golden mismatched_windows=<n> mismatched_codes=<n>
 *   BENCH golden ok | BENCH golden FAIL
 *   BENCH done
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdint.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/sys/printk.h>

#include "ppg_encoder_model.h"
#include "tflm_encoder.h"

#include "ppg_golden_model_vectors.h"

#if defined(CONFIG_TFLM_KERNELS_REFERENCE)
#define KERNEL_NAME "reference"
#elif defined(CONFIG_TFLM_KERNELS_CMSIS_NN)
#define KERNEL_NAME "cmsis_nn"
#else
#define KERNEL_NAME "unknown"
#endif

#define CALIB_ITERATIONS 1000000U
/* The loop below: subs + bne per iteration. */
#define CALIB_INSTR (2U * CALIB_ITERATIONS)

static uint32_t calib_cycles;   /* k_cycle_get_32 delta over CALIB_INSTR instructions */
static uint32_t overhead_cycles; /* two back-to-back k_cycle_get_32 calls */

static void __noinline calib_loop(uint32_t n)
{
	__asm__ volatile("1:\n\t"
			 "subs %0, %0, #1\n\t"
			 "bne 1b\n"
			 : "+r"(n)
			 :
			 : "cc");
}

static void calibrate(void)
{
	uint32_t t0 = k_cycle_get_32();
	uint32_t t1 = k_cycle_get_32();

	overhead_cycles = t1 - t0;

	t0 = k_cycle_get_32();
	calib_loop(CALIB_ITERATIONS);
	t1 = k_cycle_get_32();
	calib_cycles = (t1 - t0) - overhead_cycles;
}

/* Timer cycles -> guest instructions (rounded to nearest). */
static uint32_t cycles_to_instr(uint32_t cycles)
{
	return (uint32_t)(((uint64_t)cycles * CALIB_INSTR + calib_cycles / 2U) / calib_cycles);
}

int main(void)
{
	static int8_t codes[PPG_MODEL_CODE_LEN];
	uint64_t total = 0;
	uint32_t runs = 0;
	uint32_t min = UINT32_MAX;
	uint32_t max = 0;
	int mismatched_windows = 0;
	int mismatched_codes = 0;
	int ret;

	printk("BENCH kernel=%s dsp=%d macs=%u windows=%d passes=%d\n", KERNEL_NAME,
	       IS_ENABLED(CONFIG_ARMV8_M_DSP) ? 1 : 0, (unsigned int)PPG_MODEL_MACS,
	       GOLDEN_WINDOWS, CONFIG_BENCH_ENCODER_REPEAT);

	calibrate();
	printk("BENCH calib loop_instr=%u cycles=%u overhead_cycles=%u\n", CALIB_INSTR,
	       calib_cycles, overhead_cycles);
	if (calib_cycles == 0U) {
		printk("BENCH error: calibration failed\n");
		return 0;
	}

	ret = tflm_encoder_init(ppg_encoder_model_data, PPG_MODEL_DATA_LEN);
	if (ret != 0) {
		printk("BENCH error: tflm_encoder_init %d\n", ret);
		printk("BENCH golden FAIL\nBENCH done\n");
		return 0;
	}

	for (int pass = 0; pass < CONFIG_BENCH_ENCODER_REPEAT; pass++) {
		for (int w = 0; w < GOLDEN_WINDOWS; w++) {
			memset(codes, 0, sizeof(codes));

			/* tflm_encoder_run copies the window into the input tensor each time. */
			uint32_t t0 = k_cycle_get_32();

			ret = tflm_encoder_run(golden_window_q[w], PPG_MODEL_WINDOW_LEN, codes,
					       sizeof(codes));
			uint32_t t1 = k_cycle_get_32();
			uint32_t instr = cycles_to_instr((t1 - t0) - overhead_cycles);

			if (ret != 0) {
				printk("BENCH error: tflm_encoder_run %d\n", ret);
				mismatched_windows++;
				continue;
			}
			if (pass == 0) {
				printk("BENCH run window=%d instr=%u\n", w, instr);
			}
			total += instr;
			runs++;
			min = MIN(min, instr);
			max = MAX(max, instr);

			int bad = 0;

			for (int i = 0; i < PPG_MODEL_CODE_LEN; i++) {
				if (codes[i] != golden_codes[w][i]) {
					bad++;
				}
			}
			if (bad != 0) {
				printk("BENCH mismatch pass=%d window=%d codes=%d\n", pass, w, bad);
				mismatched_windows++;
				mismatched_codes += bad;
			}
		}
	}

	if (runs > 0U) {
		uint32_t mean = (uint32_t)((total + runs / 2U) / runs);
		uint32_t milli = (uint32_t)(((uint64_t)mean * 1000U + PPG_MODEL_MACS / 2U) /
					    PPG_MODEL_MACS);

		printk("BENCH result instr_per_inference=%u instr_min=%u instr_max=%u "
		       "instr_per_mac_milli=%u\n",
		       mean, min, max, milli);
	}
	printk("BENCH golden mismatched_windows=%d mismatched_codes=%d\n", mismatched_windows,
	       mismatched_codes);
	printk("BENCH golden %s\n", (mismatched_windows == 0 && runs > 0U) ? "ok" : "FAIL");
	printk("BENCH done\n");
	return 0;
}
