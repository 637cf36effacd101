/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* A minimal MCUmgr SMP client over GATT (smp_client.h): test code for the BabbleSim central. */

#include <errno.h>
#include <string.h>

#include <zephyr/bluetooth/gatt.h>
#include <zephyr/bluetooth/uuid.h>
#include <zephyr/kernel.h>
#include <zephyr/sys/byteorder.h>

#include <zcbor_common.h>
#include <zcbor_decode.h>
#include <zcbor_encode.h>

#include "smp_client.h"

/* MCUmgr's SMP service and characteristic (Zephyr's smp_bt.c). */
static const struct bt_uuid_128 smp_chrc_uuid = BT_UUID_INIT_128(
	BT_UUID_128_ENCODE(0xda2e7828, 0xfbce, 0x4e01, 0xae9e, 0x261174997c48));

#define SMP_HDR_LEN    8U
#define SMP_VERSION_2  1U /* nh_version: 0 is the original protocol, 1 version 2 */
#define SMP_RX_MAX     512U
#define SMP_TX_MAX     512U
#define SMP_RSP_TIMEOUT K_SECONDS(30)

static K_SEM_DEFINE(sem_disc, 0, 1);
static K_SEM_DEFINE(sem_sub, 0, 1);
static K_SEM_DEFINE(sem_rsp, 0, 1);

static struct bt_gatt_discover_params disc;
static uint16_t found_handle;
static struct bt_gatt_subscribe_params sub;
static struct bt_gatt_discover_params sub_disc;
static volatile int sub_err;

static uint8_t rx[SMP_RX_MAX];
static volatile size_t rx_len;
static volatile bool rx_done;
static uint8_t tx[SMP_TX_MAX];
static uint8_t tx_seq;

static uint8_t disc_cb(struct bt_conn *conn, const struct bt_gatt_attr *attr,
		       struct bt_gatt_discover_params *params)
{
	if (attr == NULL) {
		k_sem_give(&sem_disc);
		return BT_GATT_ITER_STOP;
	}
	found_handle = ((const struct bt_gatt_chrc *)attr->user_data)->value_handle;
	k_sem_give(&sem_disc);
	return BT_GATT_ITER_STOP;
}

int smp_discover(struct bt_conn *conn, uint16_t *handle)
{
	int err;

	found_handle = 0U;
	memset(&disc, 0, sizeof(disc));
	disc.uuid = &smp_chrc_uuid.uuid;
	disc.func = disc_cb;
	disc.start_handle = BT_ATT_FIRST_ATTRIBUTE_HANDLE;
	disc.end_handle = BT_ATT_LAST_ATTRIBUTE_HANDLE;
	disc.type = BT_GATT_DISCOVER_CHARACTERISTIC;
	k_sem_reset(&sem_disc);
	err = bt_gatt_discover(conn, &disc);
	if (err != 0) {
		return err;
	}
	if (k_sem_take(&sem_disc, SMP_RSP_TIMEOUT) != 0) {
		return -ETIMEDOUT;
	}
	*handle = found_handle;
	return found_handle != 0U ? 0 : -ENOENT;
}

/* Response fragments: the header's length says when the frame is complete. */
static uint8_t notify_cb(struct bt_conn *conn, struct bt_gatt_subscribe_params *params,
			 const void *data, uint16_t length)
{
	if (data == NULL) {
		return BT_GATT_ITER_STOP;
	}
	if (rx_done) {
		return BT_GATT_ITER_CONTINUE; /* nobody waits: dropped */
	}
	if (rx_len + length <= sizeof(rx)) {
		memcpy(&rx[rx_len], data, length);
	}
	rx_len += length;
	if (rx_len >= SMP_HDR_LEN && rx_len >= SMP_HDR_LEN + sys_get_be16(&rx[2])) {
		rx_done = true;
		k_sem_give(&sem_rsp);
	}
	return BT_GATT_ITER_CONTINUE;
}

static void subscribe_cb(struct bt_conn *conn, uint8_t err, struct bt_gatt_subscribe_params *params)
{
	sub_err = err;
	k_sem_give(&sem_sub);
}

int smp_subscribe(struct bt_conn *conn, uint16_t handle)
{
	int err;

	memset(&sub, 0, sizeof(sub));
	sub.notify = notify_cb;
	sub.subscribe = subscribe_cb;
	sub.value = BT_GATT_CCC_NOTIFY;
	sub.value_handle = handle;
	sub.ccc_handle = 0U; /* discovered */
	sub.end_handle = BT_ATT_LAST_ATTRIBUTE_HANDLE;
	sub.disc_params = &sub_disc;
	sub_err = 0;
	rx_done = true;
	k_sem_reset(&sem_sub);
	err = bt_gatt_subscribe(conn, &sub);
	if (err != 0) {
		return err;
	}
	if (k_sem_take(&sem_sub, SMP_RSP_TIMEOUT) != 0) {
		return -ETIMEDOUT;
	}
	return sub_err;
}

size_t smp_frame(uint8_t *out, size_t cap, uint8_t op, uint16_t group, uint8_t id,
		 const uint8_t *payload, size_t len)
{
	if (SMP_HDR_LEN + len > cap) {
		return 0;
	}
	out[0] = (uint8_t)((SMP_VERSION_2 << 3) | (op & 0x7U));
	out[1] = 0U;
	sys_put_be16((uint16_t)len, &out[2]);
	sys_put_be16(group, &out[4]);
	out[6] = tx_seq++;
	out[7] = id;
	memcpy(&out[SMP_HDR_LEN], payload, len);
	return SMP_HDR_LEN + len;
}

size_t smp_cbor_upload(uint8_t *out, size_t cap, uint32_t off, const uint8_t *data, size_t n,
		       uint32_t total, const uint8_t *sha)
{
	ZCBOR_STATE_E(zs, 1, out, cap, 0);
	bool ok = zcbor_map_start_encode(zs, 4);

	if (off == 0U) {
		ok = ok && zcbor_tstr_put_lit(zs, "len") && zcbor_uint32_put(zs, total);
		if (sha != NULL) {
			ok = ok && zcbor_tstr_put_lit(zs, "sha") &&
			     zcbor_bstr_encode_ptr(zs, (const char *)sha, SMP_SHA_LEN);
		}
	}
	ok = ok && zcbor_tstr_put_lit(zs, "off") && zcbor_uint32_put(zs, off) &&
	     zcbor_tstr_put_lit(zs, "data") && zcbor_bstr_encode_ptr(zs, (const char *)data, n) &&
	     zcbor_map_end_encode(zs, 4);
	return ok ? (size_t)(zs->payload - out) : 0U;
}

size_t smp_cbor_empty(uint8_t *out, size_t cap)
{
	ZCBOR_STATE_E(zs, 1, out, cap, 0);
	bool ok = zcbor_map_start_encode(zs, 1) && zcbor_map_end_encode(zs, 1);

	return ok ? (size_t)(zs->payload - out) : 0U;
}

static bool key_is(const struct zcbor_string *k, const char *name)
{
	return k->len == strlen(name) && memcmp(k->value, name, k->len) == 0;
}

static bool bstr32(zcbor_state_t *zs, uint8_t *dst)
{
	struct zcbor_string s;

	if (!zcbor_bstr_decode(zs, &s)) {
		return false;
	}
	if (s.len == SMP_SHA_LEN) {
		memcpy(dst, s.value, SMP_SHA_LEN);
	}
	return true;
}

/* One map of the "images" list: slot and hash. */
static bool decode_image(zcbor_state_t *zs, struct smp_rsp *r)
{
	int i = r->n_images < (int)ARRAY_SIZE(r->images) ? r->n_images : -1;
	struct zcbor_string k;
	bool ok = zcbor_map_start_decode(zs);

	while (ok && !zcbor_array_at_end(zs)) {
		ok = zcbor_tstr_decode(zs, &k);
		if (ok && i >= 0 && key_is(&k, "slot")) {
			ok = zcbor_uint32_decode(zs, &r->images[i].slot);
		} else if (ok && i >= 0 && key_is(&k, "hash")) {
			ok = bstr32(zs, r->images[i].hash);
			r->images[i].has_hash = ok;
		} else if (ok) {
			ok = zcbor_any_skip(zs, NULL);
		}
	}
	if (i >= 0) {
		r->n_images++;
	}
	return ok && zcbor_map_end_decode(zs);
}

static bool decode_map(zcbor_state_t *zs, struct smp_rsp *r, bool in_err)
{
	struct zcbor_string k;
	bool ok = zcbor_map_start_decode(zs);
	uint32_t v;

	while (ok && !zcbor_array_at_end(zs)) {
		ok = zcbor_tstr_decode(zs, &k);
		if (!ok) {
			break;
		}
		if (in_err && key_is(&k, "group")) {
			ok = zcbor_uint32_decode(zs, &v);
			r->err_group = (int)v;
		} else if (in_err && key_is(&k, "rc")) {
			ok = zcbor_uint32_decode(zs, &v);
			r->err_rc = (int)v;
		} else if (key_is(&k, "err")) {
			ok = decode_map(zs, r, true);
		} else if (key_is(&k, "rc")) {
			ok = zcbor_uint32_decode(zs, &v);
			r->rc = (int)v;
		} else if (key_is(&k, "off")) {
			ok = zcbor_uint32_decode(zs, &r->off);
			r->has_off = ok;
		} else if (key_is(&k, "active")) {
			ok = zcbor_bool_decode(zs, &r->active);
		} else if (key_is(&k, "tag")) {
			ok = zcbor_uint32_decode(zs, &r->tag);
		} else if (key_is(&k, "seq")) {
			ok = zcbor_uint32_decode(zs, &r->seq);
		} else if (key_is(&k, "builtin")) {
			ok = zcbor_bool_decode(zs, &r->builtin);
		} else if (key_is(&k, "up_off")) {
			ok = zcbor_uint32_decode(zs, &r->up_off);
		} else if (key_is(&k, "up_len")) {
			ok = zcbor_uint32_decode(zs, &r->up_len);
		} else if (key_is(&k, "sha256")) {
			ok = bstr32(zs, r->sha256);
		} else if (key_is(&k, "up_sha")) {
			ok = bstr32(zs, r->up_sha);
		} else if (key_is(&k, "images")) {
			ok = zcbor_list_start_decode(zs);
			while (ok && !zcbor_array_at_end(zs)) {
				ok = decode_image(zs, r);
			}
			ok = ok && zcbor_list_end_decode(zs);
		} else {
			ok = zcbor_any_skip(zs, NULL);
		}
	}
	return ok && zcbor_map_end_decode(zs);
}

static int write_frame(struct bt_conn *conn, uint16_t handle, const uint8_t *frame, size_t len)
{
	size_t chunk = bt_gatt_get_mtu(conn) - 3U;

	for (size_t off = 0; off < len;) {
		size_t n = MIN(chunk, len - off);
		int err = bt_gatt_write_without_response(conn, handle, &frame[off], n, false);

		if (err == -ENOMEM || err == -ENOBUFS || err == -EAGAIN) {
			k_sleep(K_MSEC(5)); /* no TX buffer yet */
			continue;
		}
		if (err != 0) {
			return err;
		}
		off += n;
	}
	return 0;
}

int smp_request(struct bt_conn *conn, uint16_t handle, uint8_t op, uint16_t group, uint8_t id,
		const uint8_t *payload, size_t len, struct smp_rsp *rsp)
{
	size_t n = smp_frame(tx, sizeof(tx), op, group, id, payload, len);
	int err;

	memset(rsp, 0, sizeof(*rsp));
	rsp->err_group = rsp->err_rc = rsp->rc = -1;
	if (n == 0U) {
		return -EMSGSIZE;
	}
	if (conn == NULL) {
		return -ENOTCONN;
	}
	rx_len = 0U;
	k_sem_reset(&sem_rsp);
	rx_done = false;
	err = write_frame(conn, handle, tx, n);
	if (err != 0) {
		rx_done = true;
		return err;
	}
	if (k_sem_take(&sem_rsp, SMP_RSP_TIMEOUT) != 0) {
		rx_done = true;
		return -ETIMEDOUT;
	}
	if (rx_len > sizeof(rx) || sys_get_be16(&rx[4]) != group || rx[7] != id ||
	    (rx[0] & 0x7U) != op + 1U) {
		return -EPROTO;
	}
	{
		ZCBOR_STATE_D(zs, 4, &rx[SMP_HDR_LEN], rx_len - SMP_HDR_LEN, 1, 0);

		return decode_map(zs, rsp, false) ? 0 : -EBADMSG;
	}
}
