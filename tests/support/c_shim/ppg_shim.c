/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Test-only batch entry points over the portable firmware C (tests/support/c_harness.py loads them
 * with ctypes). Not part of the firmware build.
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <ppgcomp/backlog.h>
#include <ppgcomp/decimate.h>
#include <ppgcomp/packet.h>
#include <ppgcomp/preprocess.h>
#include <ppgcomp/window.h>

size_t shim_sizeof_decim(void)
{
	return sizeof(struct ppg_decim);
}

size_t shim_sizeof_window(void)
{
	return sizeof(struct ppg_window);
}

size_t shim_sizeof_backlog(void)
{
	return sizeof(struct ppg_backlog);
}

/* Streaming decimation of a whole recording from a fresh state, one push per sample. */
int shim_decimate(uint32_t factor, const int32_t *in, size_t n, int32_t *out)
{
	static struct ppg_decim d;
	int err = ppg_decim_init(&d, factor);

	if (err != 0) {
		return err;
	}

	int k = 0;

	for (size_t i = 0U; i < n; i++) {
		if (ppg_decim_push(&d, in[i], &out[k])) {
			k++;
		}
	}
	return k;
}

/* The taps computed at init, for a check against cic3_taps(). */
int shim_decim_taps(uint32_t factor, uint16_t *taps)
{
	static struct ppg_decim d;
	int err = ppg_decim_init(&d, factor);

	if (err != 0) {
		return err;
	}
	for (uint32_t j = 0U; j < d.n_taps; j++) {
		taps[j] = d.taps[j];
	}
	return (int)d.n_taps;
}

/* Preprocess n_windows rows of w samples (detrend half-length h); stats gets lo, hi, range, spread per row. */
void shim_preprocess_batch(const int32_t *x, size_t n_windows, size_t w, size_t h, int8_t *q, int64_t *stats)
{
	for (size_t r = 0U; r < n_windows; r++) {
		struct ppg_window_stats st;

		ppg_preprocess(&x[r * w], w, h, &q[r * w], &st);
		stats[4U * r] = st.lo;
		stats[4U * r + 1U] = st.hi;
		stats[4U * r + 2U] = st.range;
		stats[4U * r + 3U] = st.spread;
	}
}

/* Encode n packets from parallel arrays into out (n * PPG_PKT_LEN bytes); first error or 0. */
int shim_packet_encode_batch(size_t n, const uint8_t *flags, const uint8_t *tags,
			     const uint16_t *seqs, const int8_t *codes, uint8_t *out)
{
	for (size_t i = 0U; i < n; i++) {
		int ret = ppg_packet_encode(&out[i * PPG_PKT_LEN], flags[i], tags[i], seqs[i],
					    &codes[i * PPG_PKT_CODE_LEN]);

		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}
