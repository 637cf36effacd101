/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Model store (<ppgcomp/model_store.h>): two slots, A and B, in ppg_model_partition; each holds a blob
 * (docs/model_blob.md) from its start and a 32-byte commit record at its end:
 *
 *   u32 magic "PPGC" | u32 sequence | u32 total_len | u32 0 | u8 blob_sha256[0..12) | u32 CRC-32 of the 28 bytes before
 *
 * An upload erases the inactive slot and writes the blob sequentially. finish() checks it in place
 * (header, both SHA-256s, ops: here; arena and golden windows: in the encoder's thread), and only then
 * writes the commit record with the next sequence number, and switches the encoder. A power cut before
 * the record is complete leaves the slot uncommitted (no record, or a record whose CRC fails), so the
 * previous model stays; at boot the committed slot with the highest sequence that passes every check
 * again is used, else the built-in model. The model runs in place from flash (no copy in RAM).
 */

#include <errno.h>
#include <string.h>

#include <zephyr/devicetree.h>
#include <zephyr/drivers/flash.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/storage/flash_map.h>
#include <zephyr/sys/byteorder.h>
#include <zephyr/sys/crc.h>
#include <zephyr/sys/util.h>

#if defined(CONFIG_FLASH_SIMULATOR)
#include <zephyr/drivers/flash/flash_simulator.h>
#endif

#include <ppg_encoder_model.h>
#include <ppgcomp/model_blob.h>
#include <ppgcomp/model_store.h>
#include <ppgcomp/model_store_exec.h>
#include <tflm_encoder.h>

LOG_MODULE_REGISTER(ppg_model_store, CONFIG_PPG_MODEL_STORE_LOG_LEVEL);

#define PARTITION_ID FIXED_PARTITION_ID(ppg_model_partition)
#define PARTITION_SIZE FIXED_PARTITION_SIZE(ppg_model_partition)
#define SLOT_SIZE PPG_MODEL_BLOB_SLOT_BYTES
#define REC_MAGIC 0x43475050U /* "PPGC" */
#define REC_LEN PPG_MODEL_BLOB_COMMIT_BYTES
#define REC_SHA_PREFIX 12U
#define NO_SLOT (-1)

BUILD_ASSERT(PARTITION_SIZE == 2 * SLOT_SIZE, "ppg_model_partition must hold two 16 KB slots");
BUILD_ASSERT(CONFIG_PPG_MODEL_STORE_WRITE_BUF % 16 == 0, "write buffer: a multiple of 16 bytes");

struct slot_info {
	bool committed;     /* a valid commit record */
	uint32_t sequence;
	uint32_t total_len;
	struct ppg_model_blob_hdr hdr;
	struct ppg_model_active model;
};

static const struct flash_area *fa;
static const uint8_t *part_base;  /* the partition, memory-mapped (or the flash simulator's memory) */
static size_t erase_unit;
static size_t write_block;
static struct slot_info slots[2];
static struct ppg_model_active builtin;
static const struct ppg_model_active *active = &builtin;
static int active_slot = NO_SLOT;
static ppg_model_store_executor_fn executor;
static int32_t allowed_ops[PPG_MODEL_BLOB_MAX_OPS];
static size_t n_allowed_ops;
static uint8_t hash_buf[CONFIG_PPG_MODEL_STORE_HASH_BUF];

K_MUTEX_DEFINE(store_lock);

/* The open upload. */
static struct {
	bool open;
	bool validating;
	int slot;
	size_t total;
	size_t received;  /* bytes taken, including those still in wbuf */
	size_t flushed;   /* bytes written to flash */
	size_t wlen;      /* bytes in wbuf */
} up;
static uint8_t __aligned(4) wbuf[CONFIG_PPG_MODEL_STORE_WRITE_BUF];

/* --- flash, with the tests' power-cut injection -------------------------------------------------- */

#if defined(CONFIG_PPG_MODEL_STORE_TEST_POWER_CUT)
static int cut_at = -1;
static int op_count;

int ppg_model_store_test_power_cut(int n)
{
	int counted = op_count;

	cut_at = n;
	op_count = 0;
	return counted;
}

/* 1: do it; 0: power already cut; 2: this is the operation the power cut interrupts. */
static int cut_state(void)
{
	int n = op_count++;

	if (cut_at < 0 || n < cut_at) {
		return 1;
	}
	return n == cut_at ? 2 : 0;
}
#endif

static int st_erase(size_t off, size_t len)
{
#if defined(CONFIG_PPG_MODEL_STORE_TEST_POWER_CUT)
	if (cut_state() != 1) {
		return 0; /* the erase never happened, and the code goes on as if it had */
	}
#endif
	return flash_area_erase(fa, off, len);
}

static int st_write(size_t off, const void *data, size_t len)
{
#if defined(CONFIG_PPG_MODEL_STORE_TEST_POWER_CUT)
	int s = cut_state();

	if (s == 0) {
		return 0;
	}
	if (s == 2) {
		len = ROUND_DOWN(len / 2, write_block);
		if (len == 0) {
			return 0;
		}
	}
#endif
	return flash_area_write(fa, off, data, len);
}

static const uint8_t *slot_ptr(int slot)
{
	return part_base + (size_t)slot * SLOT_SIZE;
}

#if defined(CONFIG_SOC_SERIES_BSIM_NRFXX)
void *nrfhw_nmvc_flash_get_base_address(unsigned int inst);
#endif

static const uint8_t *map_partition(void)
{
#if defined(CONFIG_FLASH_SIMULATOR)
	size_t size;
	uint8_t *mem = flash_simulator_get_memory(fa->fa_dev, &size);

	return (mem == NULL || fa->fa_off + fa->fa_size > size) ? NULL : mem + fa->fa_off;
#elif defined(CONFIG_SOC_SERIES_BSIM_NRFXX)
	/* BabbleSim's NVMC model keeps the flash in a host buffer; this returns the address of its
	 * pointer (nrf_hw_models' NHW_NVMC.c at the workspace's revision). App core: instance 0. */
	uint8_t *const *storage = nrfhw_nmvc_flash_get_base_address(0);

	return (storage == NULL || *storage == NULL) ? NULL : *storage + fa->fa_off;
#else
	return (const uint8_t *)(uintptr_t)(CONFIG_FLASH_BASE_ADDRESS + fa->fa_off);
#endif
}

/* --- checks ------------------------------------------------------------------------------------ */

static enum ppg_model_err sha_check(int slot, size_t off, size_t len, const uint8_t *match)
{
	struct flash_area_check fac = {
		.match = match,
		.clen = len,
		.off = (size_t)slot * SLOT_SIZE + off,
		.rbuf = hash_buf,
		.rblen = sizeof(hash_buf),
	};
	int rc = flash_area_check_int_sha256(fa, &fac);

	if (rc == -EILSEQ) {
		return PPG_MODEL_ERR_HASH;
	}
	return rc == 0 ? PPG_MODEL_OK : PPG_MODEL_ERR_FLASH;
}

/* Checks 1-4 of docs/model_blob.md on the blob in the slot; fills info->hdr and info->model. */
static enum ppg_model_err check_static(int slot, size_t total_len, struct slot_info *info)
{
	const uint8_t *blob = slot_ptr(slot);
	struct ppg_model_blob_hdr *h = &info->hdr;
	enum ppg_model_err err = ppg_model_blob_check_header(blob, total_len,
							     PPG_MODEL_BLOB_MAX_TOTAL_LEN, h);

	if (err == PPG_MODEL_OK) {
		err = sha_check(slot, PPG_MODEL_BLOB_HASHED_FROM,
				total_len - PPG_MODEL_BLOB_HASHED_FROM, h->blob_sha256);
	}
	if (err == PPG_MODEL_OK) {
		err = sha_check(slot, h->model_offset, h->model_len, h->model_sha256);
	}
	if (err == PPG_MODEL_OK && h->model_tag != h->model_sha256[0]) {
		err = PPG_MODEL_ERR_HASH;
	}
	if (err == PPG_MODEL_OK) {
		err = ppg_model_blob_check_ops(h, blob + h->model_offset, h->model_len, allowed_ops,
					       n_allowed_ops);
	}
	if (err == PPG_MODEL_OK) {
		info->model.tflite = blob + h->model_offset;
		info->model.tflite_len = h->model_len;
		memcpy(info->model.sha256, h->model_sha256, sizeof(info->model.sha256));
		info->model.tag = h->model_tag;
		info->model.from_blob = true;
	}
	return err;
}

/* Golden windows through the loaded encoder. */
static enum ppg_model_err run_golden(const int8_t *in, size_t in_stride, const int8_t *codes,
				     size_t code_stride, size_t count)
{
	int8_t out[PPG_MODEL_CODE_LEN];

	for (size_t i = 0; i < count; i++) {
		int rc = tflm_encoder_run(in + i * in_stride, PPG_MODEL_WINDOW_LEN, out, sizeof(out));

		if (rc != 0) {
			LOG_ERR("golden window %zu: encoder run failed (%d)", i, rc);
			return PPG_MODEL_ERR_GOLDEN;
		}
		if (memcmp(out, codes + i * code_stride, sizeof(out)) != 0) {
			LOG_ERR("golden window %zu: codes differ", i);
			return PPG_MODEL_ERR_GOLDEN;
		}
	}
	return PPG_MODEL_OK;
}

/* Checks 5 and 6: load the model into the encoder (arena) and run its golden windows. */
static enum ppg_model_err check_run(struct slot_info *info)
{
	const uint8_t *blob = info->model.tflite - info->hdr.model_offset;
	int rc = tflm_encoder_init(info->model.tflite, info->model.tflite_len);

	if (rc == -ENOMEM) {
		return PPG_MODEL_ERR_ARENA;
	}
	if (rc != 0) {
		/* Graph or tensors the encoder cannot take (an op, or not one int8 window in/codes out). */
		return rc == -ENOTSUP ? PPG_MODEL_ERR_OP : PPG_MODEL_ERR_HEADER;
	}
	if (tflm_encoder_arena_used() > CONFIG_TFLM_ARENA_SIZE) {
		return PPG_MODEL_ERR_ARENA;
	}
	int32_t in_zp;
	int32_t out_zp;

	if (tflm_encoder_io_quant(&info->model.input_scale, &in_zp, &info->model.output_scale,
				  &out_zp) != 0 ||
	    in_zp < INT8_MIN || in_zp > INT8_MAX || out_zp < INT8_MIN || out_zp > INT8_MAX) {
		return PPG_MODEL_ERR_HEADER;
	}
	info->model.input_zero_point = (int8_t)in_zp;
	info->model.output_zero_point = (int8_t)out_zp;
	size_t stride = (size_t)info->hdr.window_len + info->hdr.code_len;

	return run_golden(ppg_model_blob_golden_in(blob, &info->hdr, 0), stride,
			  ppg_model_blob_golden_codes(blob, &info->hdr, 0), stride,
			  info->hdr.golden_count);
}

/* Load the active model into the encoder again (after a refused candidate). */
static void restore_active(void)
{
	int rc = tflm_encoder_init(active->tflite, active->tflite_len);

	if (rc != 0) {
		LOG_ERR("cannot reload the active model (%d)", rc);
	}
}

/* --- commit records ------------------------------------------------------------------------------ */

static bool read_record(int slot, uint32_t *seq, uint32_t *total_len)
{
	uint8_t rec[REC_LEN];

	if (flash_area_read(fa, (size_t)slot * SLOT_SIZE + SLOT_SIZE - REC_LEN, rec, sizeof(rec)) != 0) {
		return false;
	}
	if (sys_get_le32(rec) != REC_MAGIC ||
	    sys_get_le32(rec + REC_LEN - 4) != crc32_ieee(rec, REC_LEN - 4)) {
		return false;
	}
	*seq = sys_get_le32(rec + 4);
	*total_len = sys_get_le32(rec + 8);
	/* The record belongs to the blob before it: the blob hash's first bytes. */
	return *total_len >= PPG_MODEL_BLOB_HEADER_LEN && *total_len <= PPG_MODEL_BLOB_MAX_TOTAL_LEN &&
	       memcmp(rec + 16, slot_ptr(slot) + 12, REC_SHA_PREFIX) == 0;
}

static int write_record(int slot, uint32_t seq, uint32_t total_len, const uint8_t *blob_sha)
{
	uint8_t __aligned(4) rec[REC_LEN];

	sys_put_le32(REC_MAGIC, rec);
	sys_put_le32(seq, rec + 4);
	sys_put_le32(total_len, rec + 8);
	sys_put_le32(0, rec + 12);
	memcpy(rec + 16, blob_sha, REC_SHA_PREFIX);
	sys_put_le32(crc32_ieee(rec, REC_LEN - 4), rec + REC_LEN - 4);
	return st_write((size_t)slot * SLOT_SIZE + SLOT_SIZE - REC_LEN, rec, sizeof(rec));
}

static uint32_t max_sequence(void)
{
	uint32_t m = 0;

	for (int s = 0; s < 2; s++) {
		if (slots[s].committed) {
			m = MAX(m, slots[s].sequence);
		}
	}
	return m;
}

/* --- jobs in the encoder's thread ---------------------------------------------------------------- */

static struct {
	int slot;
	enum ppg_model_err result;
} job_finish;

static void finish_job(void *arg)
{
	ARG_UNUSED(arg);
	int slot = job_finish.slot;
	struct slot_info *info = &slots[slot];
	enum ppg_model_err err = check_run(info);

	if (err == PPG_MODEL_OK) {
		uint32_t seq = max_sequence() + 1U;

		if (write_record(slot, seq, info->hdr.total_len, info->hdr.blob_sha256) != 0) {
			err = PPG_MODEL_ERR_FLASH;
		} else {
			info->committed = true;
			info->sequence = seq;
			info->total_len = info->hdr.total_len;
			info->model.sequence = seq;
			active = &info->model;
			active_slot = slot;
			LOG_INF("model 0x%02x active (slot %c, sequence %u)", info->model.tag,
				'A' + slot, seq);
		}
	}
	if (err != PPG_MODEL_OK) {
		restore_active();
	}
	job_finish.result = err;
	k_mutex_lock(&store_lock, K_FOREVER);
	up.open = false;
	up.validating = false;
	k_mutex_unlock(&store_lock);
}

static struct {
	int result;
} job_selftest;

static int selftest_builtin(void)
{
#if defined(PPG_MODEL_GOLDEN_COUNT)
	return run_golden(&ppg_encoder_model_golden_in[0][0], PPG_MODEL_WINDOW_LEN,
			  &ppg_encoder_model_golden_codes[0][0], PPG_MODEL_CODE_LEN,
			  PPG_MODEL_GOLDEN_COUNT) == PPG_MODEL_OK
		       ? 0
		       : -EIO;
#else
	/* The generated model has no golden windows of its own: loading it is the test. */
	return 0;
#endif
}

static void selftest_job(void *arg)
{
	ARG_UNUSED(arg);
	int rc = tflm_encoder_init(active->tflite, active->tflite_len);

	if (rc == 0) {
		if (active_slot == NO_SLOT) {
			rc = selftest_builtin();
		} else {
			const struct slot_info *info = &slots[active_slot];

			rc = check_run(info) == PPG_MODEL_OK ? 0 : -EIO;
		}
	}
	job_selftest.result = rc;
}

static int run_job(ppg_model_store_job_fn job)
{
	ppg_model_store_executor_fn exec = executor;

	if (exec == NULL) {
		job(NULL);
		return 0;
	}
	return exec(job, NULL);
}

/* --- API ------------------------------------------------------------------------------------------ */

void ppg_model_store_set_executor(ppg_model_store_executor_fn exec)
{
	executor = exec;
}

static void collect_allowed_ops(void)
{
	n_allowed_ops = 0;
	/* BuiltinOperator codes are below 256 (the blob's op list holds them in a byte). */
	for (int32_t code = 0; code < 255 && n_allowed_ops < ARRAY_SIZE(allowed_ops); code++) {
		if (tflm_encoder_op_registered(code)) {
			allowed_ops[n_allowed_ops++] = code;
		}
	}
}

int ppg_model_store_init(void)
{
	static const uint8_t builtin_sha[32] = PPG_MODEL_SHA256_BYTES;
	int rc;

	builtin = (struct ppg_model_active){
		.tflite = ppg_encoder_model_data,
		.tflite_len = PPG_MODEL_DATA_LEN,
		.tag = PPG_MODEL_TAG,
		.from_blob = false,
		.sequence = 0,
		.input_scale = PPG_MODEL_INPUT_SCALE,
		.input_zero_point = PPG_MODEL_INPUT_ZERO_POINT,
		.output_scale = PPG_MODEL_OUTPUT_SCALE,
		.output_zero_point = PPG_MODEL_OUTPUT_ZERO_POINT,
	};
	memcpy(builtin.sha256, builtin_sha, sizeof(builtin.sha256));
	active = &builtin;
	active_slot = NO_SLOT;
	memset(&up, 0, sizeof(up));
	memset(slots, 0, sizeof(slots));
	collect_allowed_ops();

	if (fa == NULL) {
		rc = flash_area_open(PARTITION_ID, &fa);
		if (rc != 0) {
			LOG_ERR("ppg_model_partition: cannot open (%d); built-in model only", rc);
			fa = NULL;
			return rc;
		}
		const struct flash_parameters *fp = flash_get_parameters(fa->fa_dev);
		struct flash_pages_info page;

		write_block = flash_get_write_block_size(fa->fa_dev);
		rc = flash_get_page_info_by_offs(fa->fa_dev, fa->fa_off, &page);
		erase_unit = rc == 0 ? page.size : SLOT_SIZE;
		part_base = map_partition();
		if (fp == NULL || part_base == NULL || write_block == 0 ||
		    CONFIG_PPG_MODEL_STORE_WRITE_BUF % write_block != 0 || SLOT_SIZE % erase_unit != 0) {
			LOG_ERR("ppg_model_partition: unusable flash geometry; built-in model only");
			flash_area_close(fa);
			fa = NULL;
			return -ENOTSUP;
		}
	}

	for (int s = 0; s < 2; s++) {
		slots[s].committed = read_record(s, &slots[s].sequence, &slots[s].total_len);
	}
	/* Highest sequence first; the first that passes every check again is the active model. */
	int order[2] = {0, 1};

	if (slots[1].committed && (!slots[0].committed || slots[1].sequence > slots[0].sequence)) {
		order[0] = 1;
		order[1] = 0;
	}
	for (int i = 0; i < 2; i++) {
		int s = order[i];
		struct slot_info *info = &slots[s];

		if (!info->committed) {
			continue;
		}
		enum ppg_model_err err = check_static(s, info->total_len, info);

		if (err == PPG_MODEL_OK) {
			err = check_run(info);
		}
		if (err == PPG_MODEL_OK) {
			info->model.sequence = info->sequence;
			active = &info->model;
			active_slot = s;
			LOG_INF("model 0x%02x from slot %c (sequence %u)", info->model.tag, 'A' + s,
				info->sequence);
			return 0;
		}
		LOG_WRN("slot %c (sequence %u) refused at boot: error %d", 'A' + s, info->sequence,
			(int)err);
	}
	LOG_INF("built-in model 0x%02x", builtin.tag);
	restore_active();
	return 0;
}

const struct ppg_model_active *ppg_model_store_active(void)
{
	return active;
}

static int inactive_slot(void)
{
	if (active_slot != NO_SLOT) {
		return 1 - active_slot;
	}
	/* Built-in model active: overwrite the slot with the lower (or no) committed sequence. */
	if (slots[0].committed && (!slots[1].committed || slots[0].sequence > slots[1].sequence)) {
		return 1;
	}
	return 0;
}

enum ppg_model_err ppg_model_store_upload_begin(size_t total_len)
{
	enum ppg_model_err err = PPG_MODEL_OK;

	k_mutex_lock(&store_lock, K_FOREVER);
	if (up.open) {
		err = PPG_MODEL_ERR_BUSY;
	} else if (fa == NULL) {
		err = PPG_MODEL_ERR_FLASH;
	} else if (total_len > PPG_MODEL_BLOB_MAX_TOTAL_LEN) {
		err = PPG_MODEL_ERR_TOO_LARGE;
	} else if (total_len < PPG_MODEL_BLOB_HEADER_LEN) {
		err = PPG_MODEL_ERR_HEADER;
	} else {
		int slot = inactive_slot();

		/* Erase unit by unit, the commit record's unit first: from here on it is uncommitted. */
		slots[slot].committed = false;
		for (size_t off = SLOT_SIZE; off > 0 && err == PPG_MODEL_OK; off -= erase_unit) {
			if (st_erase((size_t)slot * SLOT_SIZE + off - erase_unit, erase_unit) != 0) {
				err = PPG_MODEL_ERR_FLASH;
			}
		}
		if (err == PPG_MODEL_OK) {
			up.open = true;
			up.validating = false;
			up.slot = slot;
			up.total = total_len;
			up.received = 0;
			up.flushed = 0;
			up.wlen = 0;
		}
	}
	k_mutex_unlock(&store_lock);
	return err;
}

static int flush_wbuf(bool final)
{
	size_t n = up.wlen;

	if (final) {
		/* The last bytes, padded to the write block with the erased value. */
		size_t padded = ROUND_UP(n, write_block);

		memset(wbuf + n, 0xFF, padded - n);
		n = padded;
	}
	if (n == 0) {
		return 0;
	}
	int rc = st_write((size_t)up.slot * SLOT_SIZE + up.flushed, wbuf, n);

	if (rc == 0) {
		up.flushed += up.wlen;
		up.wlen = 0;
	}
	return rc;
}

enum ppg_model_err ppg_model_store_upload_write(size_t off, const uint8_t *data, size_t len)
{
	enum ppg_model_err err = PPG_MODEL_OK;

	k_mutex_lock(&store_lock, K_FOREVER);
	if (!up.open || up.validating) {
		err = up.validating ? PPG_MODEL_ERR_BUSY : PPG_MODEL_ERR_NO_SESSION;
	} else if (off != up.received) {
		err = PPG_MODEL_ERR_OFFSET;
	} else if (len > up.total - up.received) {
		err = PPG_MODEL_ERR_TOO_LARGE;
	} else if (data == NULL && len != 0U) {
		err = PPG_MODEL_ERR_HEADER;
	} else {
		while (len > 0 && err == PPG_MODEL_OK) {
			size_t n = MIN(len, sizeof(wbuf) - up.wlen);

			memcpy(wbuf + up.wlen, data, n);
			up.wlen += n;
			up.received += n;
			data += n;
			len -= n;
			if (up.wlen == sizeof(wbuf) && flush_wbuf(false) != 0) {
				err = PPG_MODEL_ERR_FLASH;
			}
		}
		if (err != PPG_MODEL_OK) {
			up.open = false; /* the slot is in an unknown state: start again */
		}
	}
	k_mutex_unlock(&store_lock);
	return err;
}

size_t ppg_model_store_upload_offset(void)
{
	return up.open ? up.received : 0;
}

enum ppg_model_err ppg_model_store_upload_finish(void)
{
	enum ppg_model_err err;

	k_mutex_lock(&store_lock, K_FOREVER);
	if (!up.open || up.validating) {
		k_mutex_unlock(&store_lock);
		return up.validating ? PPG_MODEL_ERR_BUSY : PPG_MODEL_ERR_NO_SESSION;
	}
	if (up.received < up.total) {
		k_mutex_unlock(&store_lock);
		return PPG_MODEL_ERR_TRUNCATED;
	}
	if (flush_wbuf(true) != 0) {
		up.open = false;
		k_mutex_unlock(&store_lock);
		return PPG_MODEL_ERR_FLASH;
	}
	up.validating = true;
	k_mutex_unlock(&store_lock);

	err = check_static(up.slot, up.total, &slots[up.slot]);
	if (err != PPG_MODEL_OK) {
		LOG_WRN("upload refused: error %d", (int)err);
		k_mutex_lock(&store_lock, K_FOREVER);
		up.open = false;
		up.validating = false;
		k_mutex_unlock(&store_lock);
		return err;
	}
	job_finish.slot = up.slot;
	job_finish.result = PPG_MODEL_ERR_BUSY;
	if (run_job(finish_job) != 0) {
		LOG_WRN("model check still running in the encoder's thread");
		return PPG_MODEL_ERR_BUSY;
	}
	if (job_finish.result != PPG_MODEL_OK) {
		LOG_WRN("upload refused: error %d", (int)job_finish.result);
	}
	return job_finish.result;
}

void ppg_model_store_upload_abort(void)
{
	k_mutex_lock(&store_lock, K_FOREVER);
	if (!up.validating) {
		up.open = false;
	}
	k_mutex_unlock(&store_lock);
}

int ppg_model_store_selftest(void)
{
	job_selftest.result = -EAGAIN;
	if (run_job(selftest_job) != 0) {
		return -EAGAIN;
	}
	return job_selftest.result;
}
