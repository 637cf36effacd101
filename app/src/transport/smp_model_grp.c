/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * SMP group "ppg model" (group 64, docs/smp_model_group.md): a new encoder model blob
 * (docs/model_blob.md) over MCUmgr's SMP transport, into the model store's inactive slot
 * (include/ppgcomp/model_store.h), which checks it and switches the encoder to it without a reset.
 *
 *   0 state  (read):  {} -> {tag, sha256, seq, builtin, up_off, up_len, up_sha}
 *   1 upload (write): {off, data[, len, sha when off is 0]} -> {off[, active: true]}
 *   2 abort  (write): {} -> {}
 *
 * Refusals are SMP version 2 group errors, {"err": {"group": 64, "rc": enum ppg_model_err}}. The
 * open upload (its length and blob SHA-256) lives here, its bytes in the store; it survives a link
 * loss (a client reads state and resumes at up_off). Every handler runs on MCUmgr's work queue.
 */

#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/mgmt/mcumgr/mgmt/handlers.h>
#include <zephyr/mgmt/mcumgr/mgmt/mgmt.h>
#include <zephyr/mgmt/mcumgr/smp/smp.h>
#include <zcbor_common.h>
#include <zcbor_decode.h>
#include <zcbor_encode.h>

#include <mgmt/mcumgr/util/zcbor_bulk.h>

#include <ppgcomp/model_store.h>

#include "stats.h"

LOG_MODULE_REGISTER(app_smp_model, CONFIG_APP_LOG_LEVEL);

#define PPG_MODEL_GRP_ID MGMT_GROUP_ID_PERUSER
#define SHA_LEN          32U

enum ppg_model_grp_cmd {
	PPG_MODEL_CMD_STATE = 0,
	PPG_MODEL_CMD_UPLOAD = 1,
	PPG_MODEL_CMD_ABORT = 2,
};

static bool up_open;
static uint32_t up_len;
static uint8_t up_sha[SHA_LEN];

static int reply_err(zcbor_state_t *zse, enum ppg_model_err err)
{
	return smp_add_cmd_err(zse, PPG_MODEL_GRP_ID, (uint16_t)err) ? MGMT_ERR_EOK
								       : MGMT_ERR_EMSGSIZE;
}

/* {"off": next[, "active": true]} */
static int reply_off(zcbor_state_t *zse, uint32_t next, bool active)
{
	bool ok = zcbor_tstr_put_lit(zse, "off") && zcbor_uint32_put(zse, next);

	if (active) {
		ok = ok && zcbor_tstr_put_lit(zse, "active") && zcbor_bool_put(zse, true);
	}
	return ok ? MGMT_ERR_EOK : MGMT_ERR_EMSGSIZE;
}

static void upload_close(void)
{
	ppg_model_store_upload_abort();
	up_open = false;
	up_len = 0U;
	memset(up_sha, 0, sizeof(up_sha));
}

static int model_state(struct smp_streamer *ctxt)
{
	static const uint8_t none[SHA_LEN];
	zcbor_state_t *zse = ctxt->writer->zs;
	const struct ppg_model_active *a = ppg_model_store_active();
	uint32_t off = up_open ? (uint32_t)ppg_model_store_upload_offset() : 0U;
	bool ok;

	if (a == NULL) {
		return MGMT_ERR_EBUSY; /* the store is not initialised yet */
	}
	ok = zcbor_tstr_put_lit(zse, "tag") && zcbor_uint32_put(zse, a->tag) &&
	     zcbor_tstr_put_lit(zse, "sha256") &&
	     zcbor_bstr_encode_ptr(zse, (const char *)a->sha256, SHA_LEN) &&
	     zcbor_tstr_put_lit(zse, "seq") && zcbor_uint32_put(zse, a->sequence) &&
	     zcbor_tstr_put_lit(zse, "builtin") && zcbor_bool_put(zse, !a->from_blob) &&
	     zcbor_tstr_put_lit(zse, "up_off") && zcbor_uint32_put(zse, off) &&
	     zcbor_tstr_put_lit(zse, "up_len") && zcbor_uint32_put(zse, up_open ? up_len : 0U) &&
	     zcbor_tstr_put_lit(zse, "up_sha") &&
	     zcbor_bstr_encode_ptr(zse, (const char *)(up_open ? up_sha : none), SHA_LEN);
	return ok ? MGMT_ERR_EOK : MGMT_ERR_EMSGSIZE;
}

/* off 0: open (or, same sha, restart) an upload of len bytes. Returns 0 or the refusal. */
static enum ppg_model_err upload_open(uint32_t len, const struct zcbor_string *sha)
{
	enum ppg_model_err err;

	if (up_open && memcmp(sha->value, up_sha, SHA_LEN) != 0) {
		return PPG_MODEL_ERR_BUSY;
	}
	if (up_open) {
		LOG_INF("model upload restarted");
		upload_close();
	}
	err = ppg_model_store_upload_begin(len);
	if (err != PPG_MODEL_OK) {
		return err;
	}
	up_open = true;
	up_len = len;
	memcpy(up_sha, sha->value, SHA_LEN);
	LOG_INF("model upload of %u bytes", len);
	return PPG_MODEL_OK;
}

static int model_upload(struct smp_streamer *ctxt)
{
	zcbor_state_t *zsd = ctxt->reader->zs;
	zcbor_state_t *zse = ctxt->writer->zs;
	uint32_t off = UINT32_MAX;
	uint32_t len = 0U;
	struct zcbor_string data = {0};
	struct zcbor_string sha = {0};
	size_t decoded = 0;
	enum ppg_model_err err;
	struct zcbor_map_decode_key_val req[] = {
		ZCBOR_MAP_DECODE_KEY_DECODER("off", zcbor_uint32_decode, &off),
		ZCBOR_MAP_DECODE_KEY_DECODER("data", zcbor_bstr_decode, &data),
		ZCBOR_MAP_DECODE_KEY_DECODER("len", zcbor_uint32_decode, &len),
		ZCBOR_MAP_DECODE_KEY_DECODER("sha", zcbor_bstr_decode, &sha),
	};

	if (zcbor_map_decode_bulk(zsd, req, ARRAY_SIZE(req), &decoded) != 0 || off == UINT32_MAX ||
	    data.value == NULL) {
		return MGMT_ERR_EINVAL;
	}
	if (off == 0U) {
		if (len == 0U || sha.value == NULL || sha.len != SHA_LEN) {
			return MGMT_ERR_EINVAL;
		}
		err = upload_open(len, &sha);
		if (err != PPG_MODEL_OK) {
			LOG_WRN("model upload refused (%d)", err);
			app_stats_inc(APP_STAT_MODELS_REFUSED);
			return reply_err(zse, err);
		}
	} else if (!up_open) {
		return reply_err(zse, PPG_MODEL_ERR_NO_SESSION);
	}

	err = ppg_model_store_upload_write(off, data.value, data.len);
	if (err == PPG_MODEL_ERR_OFFSET) {
		/* The upload stays open: the client reads state and resumes at up_off. */
		return reply_err(zse, err);
	}
	if (err == PPG_MODEL_OK && ppg_model_store_upload_offset() >= up_len) {
		/* The last chunk: every check, then the switch (a refusal keeps the old model). */
		err = ppg_model_store_upload_finish();
		up_open = false;
		if (err == PPG_MODEL_OK) {
			LOG_INF("model 0x%02x active", ppg_model_store_active()->tag);
			return reply_off(zse, up_len, true);
		}
	}
	if (err != PPG_MODEL_OK) {
		LOG_WRN("model upload refused at %u (%d)", off, err);
		app_stats_inc(APP_STAT_MODELS_REFUSED);
		upload_close();
		return reply_err(zse, err);
	}
	return reply_off(zse, (uint32_t)ppg_model_store_upload_offset(), false);
}

static int model_abort(struct smp_streamer *ctxt)
{
	ARG_UNUSED(ctxt);
	if (up_open) {
		LOG_INF("model upload aborted");
	}
	upload_close();
	return MGMT_ERR_EOK;
}

static const struct mgmt_handler ppg_model_handlers[] = {
	[PPG_MODEL_CMD_STATE] = {.mh_read = model_state, .mh_write = NULL},
	[PPG_MODEL_CMD_UPLOAD] = {.mh_read = NULL, .mh_write = model_upload},
	[PPG_MODEL_CMD_ABORT] = {.mh_read = NULL, .mh_write = model_abort},
};

static struct mgmt_group ppg_model_group = {
	.mg_handlers = ppg_model_handlers,
	.mg_handlers_count = ARRAY_SIZE(ppg_model_handlers),
	.mg_group_id = PPG_MODEL_GRP_ID,
#if defined(CONFIG_MCUMGR_GRP_ENUM_DETAILS_NAME)
	.mg_group_name = "ppg model",
#endif
};

static void ppg_model_grp_register(void)
{
	mgmt_register_group(&ppg_model_group);
}

MCUMGR_HANDLER_DEFINE(ppg_model_grp, ppg_model_grp_register);
