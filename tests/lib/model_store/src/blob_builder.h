/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Builds model blobs (docs/model_blob.md) of the built-in model for the store's tests. */

#ifndef TEST_BLOB_BUILDER_H_
#define TEST_BLOB_BUILDER_H_

#include <stddef.h>
#include <stdint.h>

/**
 * A valid blob of the built-in model with `golden` golden windows: pseudo-random inputs from `seed`,
 * and the codes the TFLM encoder gives for them (it is loaded with the built-in model here).
 * Returns the blob's length (0 on failure).
 */
size_t test_blob_build(uint8_t *buf, size_t cap, uint32_t seed, unsigned int golden);

/** Recompute the model_sha256 / model_tag and the blob_sha256 after an edit. */
void test_blob_rehash_model(uint8_t *blob, size_t len);
void test_blob_rehash(uint8_t *blob, size_t len);

#endif
