/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Encoder model blob parser (docs/model_blob.md; <ppgcomp/model_blob.h>). */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ppg_encoder_model.h>
#include <ppgcomp/model_blob.h>

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | ((uint16_t)p[1] << 8));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

int ppg_model_blob_read_header(const uint8_t *blob, size_t len, struct ppg_model_blob_hdr *out)
{
	if (blob == NULL || out == NULL || len < PPG_MODEL_BLOB_HEADER_LEN) {
		return -EINVAL;
	}
	out->format_version = get_le16(blob + 4);
	out->header_len = get_le16(blob + 6);
	out->total_len = get_le32(blob + 8);
	memcpy(out->blob_sha256, blob + 12, 32);
	out->model_offset = get_le32(blob + 44);
	out->model_len = get_le32(blob + 48);
	memcpy(out->model_sha256, blob + 52, 32);
	out->model_tag = blob[84];
	out->op_count = blob[85];
	out->arena_bytes = get_le16(blob + 86);
	memcpy(out->ops, blob + 88, PPG_MODEL_BLOB_MAX_OPS);
	out->window_len = get_le16(blob + 96);
	out->code_len = get_le16(blob + 98);
	out->golden_count = get_le16(blob + 100);
	out->reserved = get_le16(blob + 102);
	out->golden_offset = get_le32(blob + 104);
	out->input_quant = get_le32(blob + 108);
	return 0;
}

enum ppg_model_err ppg_model_blob_check_header(const uint8_t *blob, size_t len, size_t max_total,
					       struct ppg_model_blob_hdr *out)
{
	struct ppg_model_blob_hdr h;

	if (blob == NULL || len < PPG_MODEL_BLOB_HEADER_LEN) {
		return PPG_MODEL_ERR_TRUNCATED;
	}
	(void)ppg_model_blob_read_header(blob, len, &h);
	if (out != NULL) {
		*out = h;
	}
	if (memcmp(blob, "PPGM", 4) != 0) {
		return PPG_MODEL_ERR_HEADER;
	}
	if (h.format_version != PPG_MODEL_BLOB_FORMAT_VERSION) {
		return PPG_MODEL_ERR_VERSION;
	}
	if (h.header_len != PPG_MODEL_BLOB_HEADER_LEN) {
		return PPG_MODEL_ERR_HEADER;
	}
	if (h.total_len > max_total) {
		return PPG_MODEL_ERR_TOO_LARGE;
	}
	if (h.total_len < PPG_MODEL_BLOB_HEADER_LEN) {
		return PPG_MODEL_ERR_HEADER;
	}
	if (len < h.total_len) {
		return PPG_MODEL_ERR_TRUNCATED;
	}
	if (len > h.total_len) {
		return PPG_MODEL_ERR_HEADER;
	}
	/* 64-bit sums: no field can wrap a bound check. */
	if (h.model_offset % PPG_MODEL_BLOB_MODEL_ALIGN != 0U || h.model_offset < h.header_len) {
		return PPG_MODEL_ERR_HEADER;
	}
	if (h.model_len == 0U || (uint64_t)h.model_offset + h.model_len > h.total_len) {
		return PPG_MODEL_ERR_HEADER;
	}
	if (h.window_len != PPG_MODEL_WINDOW_LEN || h.code_len != PPG_MODEL_CODE_LEN) {
		return PPG_MODEL_ERR_HEADER;
	}
	if (h.op_count < 1U || h.op_count > PPG_MODEL_BLOB_MAX_OPS) {
		return PPG_MODEL_ERR_HEADER;
	}
	if (h.golden_count < 1U || h.golden_count > PPG_MODEL_BLOB_MAX_GOLDEN) {
		return PPG_MODEL_ERR_HEADER;
	}
	if ((uint64_t)h.golden_offset < (uint64_t)h.model_offset + h.model_len) {
		return PPG_MODEL_ERR_HEADER;
	}
	if ((uint64_t)h.golden_offset +
		    (uint64_t)h.golden_count * ((uint64_t)h.window_len + h.code_len) !=
	    h.total_len) {
		return PPG_MODEL_ERR_HEADER;
	}
	return PPG_MODEL_OK;
}

/* --- the flatbuffer's operator codes (tensorflow/lite/schema/schema.fbs) ------------------------- */

struct fb {
	const uint8_t *p;
	uint64_t len;
};

static bool fb_u32(const struct fb *b, uint64_t pos, uint32_t *v)
{
	if (pos + 4U > b->len) {
		return false;
	}
	*v = get_le32(b->p + pos);
	return true;
}

/* Absolute position of a table's field: 1 and *pos, 0 when absent, -1 when outside the buffer. */
static int fb_field(const struct fb *b, uint64_t table, unsigned int field, uint64_t *pos)
{
	uint32_t soff;
	int64_t vtable;

	if (!fb_u32(b, table, &soff)) {
		return -1;
	}
	vtable = (int64_t)table - (int64_t)(int32_t)soff;
	if (vtable < 0 || (uint64_t)vtable + 4U > b->len) {
		return -1;
	}
	uint16_t vt_len = get_le16(b->p + vtable);
	uint64_t slot = 4U + 2U * (uint64_t)field;

	if (slot + 2U > vt_len || (uint64_t)vtable + slot + 2U > b->len) {
		return 0;
	}
	uint16_t off = get_le16(b->p + (uint64_t)vtable + slot);

	if (off == 0U) {
		return 0;
	}
	*pos = table + off;
	return 1;
}

/* A scalar field of `size` bytes (1 or 4), sign-extended; `def` when absent; false when outside. */
static bool fb_scalar(const struct fb *b, uint64_t table, unsigned int field, unsigned int size,
		      int32_t def, int32_t *v)
{
	uint64_t pos;
	int r = fb_field(b, table, field, &pos);

	if (r < 0) {
		return false;
	}
	if (r == 0) {
		*v = def;
		return true;
	}
	if (pos + size > b->len) {
		return false;
	}
	*v = (size == 1U) ? (int32_t)(int8_t)b->p[pos] : (int32_t)get_le32(b->p + pos);
	return true;
}

#define FB_MAX_OP_CODES 256U

/* Calls visit(code, ctx) for each entry of operator_codes; -EINVAL / -ENOSPC as ppg_model_blob_tflite_ops(). */
static int fb_walk_ops(const uint8_t *tflite, size_t len, bool (*visit)(int32_t code, void *ctx),
		       void *ctx)
{
	struct fb b = {.p = tflite, .len = len};
	uint32_t root, rel, n;
	uint64_t pos;

	if (tflite == NULL || !fb_u32(&b, 0, &root) || fb_field(&b, root, 1, &pos) != 1 ||
	    !fb_u32(&b, pos, &rel)) {
		return -EINVAL;
	}
	uint64_t vec = pos + rel;

	if (!fb_u32(&b, vec, &n) || n == 0U) {
		return -EINVAL;
	}
	if (n > FB_MAX_OP_CODES) {
		return -ENOSPC;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t elem = vec + 4U + 4U * (uint64_t)i;
		int32_t deprecated, builtin;

		if (!fb_u32(&b, elem, &rel)) {
			return -EINVAL;
		}
		if (!fb_scalar(&b, elem + rel, 0, 1, 0, &deprecated) ||
		    !fb_scalar(&b, elem + rel, 3, 4, 0, &builtin)) {
			return -EINVAL;
		}
		if (!visit(deprecated > builtin ? deprecated : builtin, ctx)) {
			return -ENOSPC;
		}
	}
	return 0;
}

struct collect {
	int32_t *codes;
	size_t n;
	size_t max;
};

static bool collect_code(int32_t code, void *ctx)
{
	struct collect *c = ctx;
	size_t i = 0;

	while (i < c->n && c->codes[i] < code) {
		i++;
	}
	if (i < c->n && c->codes[i] == code) {
		return true;
	}
	if (c->n == c->max) {
		return false;
	}
	memmove(&c->codes[i + 1], &c->codes[i], (c->n - i) * sizeof(c->codes[0]));
	c->codes[i] = code;
	c->n++;
	return true;
}

int ppg_model_blob_tflite_ops(const uint8_t *tflite, size_t len, int32_t *codes, size_t max)
{
	struct collect c = {.codes = codes, .n = 0, .max = max};
	int rc;

	if (codes == NULL && max != 0U) {
		return -EINVAL;
	}
	rc = fb_walk_ops(tflite, len, collect_code, &c);
	return rc < 0 ? rc : (int)c.n;
}

struct allowed {
	const int32_t *codes;
	size_t n;
};

static bool is_allowed(int32_t code, const struct allowed *a)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->codes[i] == code) {
			return true;
		}
	}
	return false;
}

static bool visit_allowed(int32_t code, void *ctx)
{
	return is_allowed(code, ctx);
}

enum ppg_model_err ppg_model_blob_check_ops(const struct ppg_model_blob_hdr *hdr, const uint8_t *tflite,
					    size_t tflite_len, const int32_t *allowed, size_t n_allowed)
{
	struct allowed a = {.codes = allowed, .n = n_allowed};

	if (hdr == NULL || (allowed == NULL && n_allowed != 0U)) {
		return PPG_MODEL_ERR_OP;
	}
	/* The walk first (as the Python reader: an unreadable flatbuffer is refused before the lists). */
	if (fb_walk_ops(tflite, tflite_len, visit_allowed, &a) != 0) {
		return PPG_MODEL_ERR_OP;
	}
	for (size_t i = 0; i < hdr->op_count && i < PPG_MODEL_BLOB_MAX_OPS; i++) {
		if (!is_allowed(hdr->ops[i], &a)) {
			return PPG_MODEL_ERR_OP;
		}
	}
	return PPG_MODEL_OK;
}

const int8_t *ppg_model_blob_golden_in(const uint8_t *blob, const struct ppg_model_blob_hdr *hdr,
				       size_t i)
{
	if (blob == NULL || hdr == NULL || i >= hdr->golden_count) {
		return NULL;
	}
	return (const int8_t *)(blob + hdr->golden_offset +
				i * ((size_t)hdr->window_len + hdr->code_len));
}

const int8_t *ppg_model_blob_golden_codes(const uint8_t *blob, const struct ppg_model_blob_hdr *hdr,
					  size_t i)
{
	const int8_t *in = ppg_model_blob_golden_in(blob, hdr, i);

	return in == NULL ? NULL : in + hdr->window_len;
}
