/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <string.h>

#include <psa/crypto.h>
#include <zephyr/sys/byteorder.h>

#include <ppg_encoder_model.h>
#include <ppgcomp/model_blob.h>
#include <tflm_encoder.h>

#include "blob_builder.h"

static void sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
	size_t olen;

	(void)psa_crypto_init();
	(void)psa_hash_compute(PSA_ALG_SHA_256, data, len, out, 32, &olen);
}

void test_blob_rehash(uint8_t *blob, size_t len)
{
	sha256(blob + PPG_MODEL_BLOB_HASHED_FROM, len - PPG_MODEL_BLOB_HASHED_FROM, blob + 12);
}

void test_blob_rehash_model(uint8_t *blob, size_t len)
{
	uint32_t off = sys_get_le32(blob + 44);
	uint32_t mlen = sys_get_le32(blob + 48);

	sha256(blob + off, mlen, blob + 52);
	blob[84] = blob[52];
	test_blob_rehash(blob, len);
}

size_t test_blob_build(uint8_t *buf, size_t cap, uint32_t seed, unsigned int golden)
{
	const uint32_t model_off = 128; /* 112 rounded up to 16 */
	const uint32_t golden_off = model_off + PPG_MODEL_DATA_LEN;
	const size_t rec = PPG_MODEL_WINDOW_LEN + PPG_MODEL_CODE_LEN;
	const size_t total = golden_off + golden * rec;
	uint32_t x = seed | 1U;

	if (total > cap || tflm_encoder_init(ppg_encoder_model_data, PPG_MODEL_DATA_LEN) != 0) {
		return 0;
	}
	memset(buf, 0, total);
	memcpy(buf, "PPGM", 4);
	sys_put_le16(1, buf + 4);
	sys_put_le16(PPG_MODEL_BLOB_HEADER_LEN, buf + 6);
	sys_put_le32(total, buf + 8);
	sys_put_le32(model_off, buf + 44);
	sys_put_le32(PPG_MODEL_DATA_LEN, buf + 48);
	/* The built-in model's ops: ABS 101, CONV_2D 3, FULLY_CONNECTED 9, ascending. */
	buf[85] = 3;
	sys_put_le16(PPG_MODEL_ARENA_BYTES, buf + 86);
	memset(buf + 88, 0xFF, 8);
	buf[88] = 3;
	buf[89] = 9;
	buf[90] = 101;
	sys_put_le16(PPG_MODEL_WINDOW_LEN, buf + 96);
	sys_put_le16(PPG_MODEL_CODE_LEN, buf + 98);
	sys_put_le16(golden, buf + 100);
	sys_put_le32(golden_off, buf + 104);
	memcpy(buf + model_off, ppg_encoder_model_data, PPG_MODEL_DATA_LEN);
	for (unsigned int g = 0; g < golden; g++) {
		int8_t *in = (int8_t *)buf + golden_off + g * rec;

		for (size_t i = 0; i < PPG_MODEL_WINDOW_LEN; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			in[i] = (int8_t)(x >> 24);
		}
		if (tflm_encoder_run(in, PPG_MODEL_WINDOW_LEN, in + PPG_MODEL_WINDOW_LEN,
				     PPG_MODEL_CODE_LEN) != 0) {
			return 0;
		}
	}
	test_blob_rehash_model(buf, total);
	return total;
}
