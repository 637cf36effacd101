/*
 * tflm_ppg_fc_dot8 for Cortex-M with the DSP extension (see tflm_ppg_fc.h).
 *
 * void tflm_ppg_fc_dot8(const uint32_t *w, const uint32_t *x16, uint32_t xwords,
 *                       int32_t acc[8]);
 *
 * One 8-row block: per input pair X (one word of two int16), 4 weight words (one per
 * row pair), each giving P += SMLAD(w, X) (256*A + B) and Q += SMLAD(SXTB16(w), X) (B).
 * 15 instructions per 16 MACs; the loop is unrolled over 4 input pairs
 * (xwords must be a non-zero multiple of 4).
 *
 * Registers: r0 w, r1 x16, r2 x16 end, r3-r10 accumulators P0 Q0 P1 Q1 P2 Q2 P3 Q3,
 * r11/r12 weight words, lr input pair.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1) && !defined(TFLM_PPG_FC_PORTABLE)

	.syntax unified
	.thumb
	.text
	.align 2
	.global tflm_ppg_fc_dot8
	.type tflm_ppg_fc_dot8, %function
	.thumb_func
tflm_ppg_fc_dot8:
	push	{r3-r11, lr}		/* r3 (acc) saved for the end */
	add	r2, r1, r2, lsl #2	/* end of the input pairs */
	movs	r3, #0
	movs	r4, #0
	movs	r5, #0
	movs	r6, #0
	movs	r7, #0
	mov	r8, #0
	mov	r9, #0
	mov	r10, #0

	.macro	PAIR
	ldr	lr, [r1], #4
	ldmia	r0!, {r11, r12}
	smlad	r3, r11, lr, r3
	sxtb16	r11, r11
	smlad	r4, r11, lr, r4
	smlad	r5, r12, lr, r5
	sxtb16	r12, r12
	smlad	r6, r12, lr, r6
	ldmia	r0!, {r11, r12}
	smlad	r7, r11, lr, r7
	sxtb16	r11, r11
	smlad	r8, r11, lr, r8
	smlad	r9, r12, lr, r9
	sxtb16	r12, r12
	smlad	r10, r12, lr, r10
	.endm

1:
	PAIR
	PAIR
	PAIR
	PAIR
	cmp	r1, r2
	bne	1b

	pop	{r0}			/* acc */
	stmia	r0, {r3-r10}
	pop	{r4-r11, pc}

	.size tflm_ppg_fc_dot8, . - tflm_ppg_fc_dot8

#endif
