/*
 * Copyright (c) 2025 The ppgcomp authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Backend API of the MAX86141 SPI emulator (max86141_emul.c), for tests.
 *
 * The emulator holds the register file and a 128-item FIFO. Time does not
 * pass on its own: a test calls max86141_emul_push_samples() to let the part
 * produce frames (one item per sequenced LED) from a PPG waveform, which
 * raises A_FULL / DATA_RDY and drives the INT pin as the real part does.
 */

#ifndef PPGCOMP_DRIVERS_SENSOR_MAX86141_EMUL_H_
#define PPGCOMP_DRIVERS_SENSOR_MAX86141_EMUL_H_

#include <stddef.h>
#include <stdint.h>
#include <zephyr/drivers/emul.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Produce @p frames frames from the waveform into the FIFO.
 *
 * Each frame is one item per LED sequenced in LED_SEQ_1 (LED1 = waveform
 * sample, LED2 = half of it). When the FIFO is full, items are lost as on the
 * part: with FIFO_RO set the oldest item is overwritten, otherwise the new
 * one is dropped; either way OVF_COUNTER counts them (saturating at 127).
 * Nothing is produced while the part is in shutdown.
 *
 * @return number of frames produced (0 in shutdown)
 */
int max86141_emul_push_samples(const struct emul *target, size_t frames);

/**
 * @brief Fill the FIFO and then lose @p lost more items (an overflow).
 */
void max86141_emul_inject_overflow(const struct emul *target, uint8_t lost);

/** @brief Serve @p samples (19-bit counts) cyclically; NULL restores the built-in pulse. */
void max86141_emul_set_waveform(const struct emul *target, const int32_t *samples, size_t len);

/** @brief Index of the next waveform sample to be produced (frames since reset). */
size_t max86141_emul_wave_pos(const struct emul *target);

/** @brief LED1 count the emulator produces for frame @p index. */
int32_t max86141_emul_wave_sample(const struct emul *target, size_t index);

/** @brief Value returned by the PART_ID register (0xFF); 0x25 by default. */
void max86141_emul_set_part_id(const struct emul *target, uint8_t part_id);

/**
 * @brief Make SPI transfers fail with -EIO.
 *
 * @param count number of next transfers to fail; negative: all until called
 *              again with 0; 0: none.
 */
void max86141_emul_set_bus_fault(const struct emul *target, int count);

/** @brief Number of items in the FIFO. */
size_t max86141_emul_fifo_count(const struct emul *target);

/** @brief Read a register without side effects. */
uint8_t max86141_emul_get_reg(const struct emul *target, uint8_t reg);

/** @brief Write a register without side effects. */
void max86141_emul_set_reg(const struct emul *target, uint8_t reg, uint8_t val);

#ifdef __cplusplus
}
#endif

#endif /* PPGCOMP_DRIVERS_SENSOR_MAX86141_EMUL_H_ */
