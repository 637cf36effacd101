/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * BLE central of the BabbleSim end-to-end test (tests/bsim/README.md). Two roles of one image,
 * chosen with -role=main|rogue on the command line:
 *
 *  main:  connects, discovers the PPG service, reads model info (checked against the app's
 *         generated model header), pairs (LESC only) and bonds, reads the stats, subscribes to the
 *         codes at the default ATT MTU and prints every packet; disconnects at -away-at-s for
 *         -away-s seconds, reconnects (re-encryption from the bond, no new pairing), receives
 *         the backlog then live packets until -end-s (reconnecting after a link loss), then
 *         reads the stats again. With -midburst-k, leaves the drain after its k-th backlog
 *         packet (the disconnect reaching the link -midburst-hold-ms later, what arrives meanwhile
 *         printed as EVENT midburst_unseen, not PKT) and comes back after -midburst-away-s.
 *         With -reject-params=1 it refuses the peripheral's connection parameter requests.
 *         With -update-at-s (and -model-blob), the updater: over MCUmgr's SMP characteristic
 *         (smp_client.c) it uploads each -bad-blobs file (refused with its -bad-rcs code, the
 *         old model kept), then -model-blob (timed; the device switches to it), then the same
 *         blob again cut by a disconnect and resumed at the device's up_off, then -fw-image
 *         with image management (group 1) and checks that image list reports -fw-hash in slot 1.
 *  rogue: connects at -rogue-at-s while the main central is away, refuses pairing, checks that
 *         it can neither subscribe to nor read the codes/stats nor write the SMP characteristic,
 *         stays connected without subscribing for -rogue-hold-s seconds, then disconnects.
 *
 * Output, one line each (parsed by tests/bsim/test_bsim_ble.py):
 *   PKT <40 hex digits> c=<connection number>      every notification received
 *   CHECK <name> PASS|FAIL <details>               each check
 *   EVENT <what> <details>                         connection events
 *   SUMMARY <key>=<value> ...                      counters at the end
 *   DONE <role>                                    the role finished
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zephyr/bluetooth/bluetooth.h>
#include <zephyr/bluetooth/conn.h>
#include <zephyr/bluetooth/gatt.h>
#include <zephyr/bluetooth/hci.h>
#include <zephyr/bluetooth/uuid.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/byteorder.h>
#include <zephyr/sys/printk.h>
#include <zephyr/sys/util.h>

#include "cmdline.h"
#include "posix_native_task.h"

#include "file_bottom.h"
#include "smp_client.h"

#include <ppg_encoder_model.h>

LOG_MODULE_REGISTER(ppg_central, LOG_LEVEL_INF);

#define PPG_UUID(n) BT_UUID_128_ENCODE(0x7c3e0000 + (n), 0x5a1b, 0x4d2e, 0x9f3a, 0x6b8c1d2e3f40)

static const struct bt_uuid_128 ppg_svc_uuid = BT_UUID_INIT_128(PPG_UUID(1));
static const struct bt_uuid_128 ppg_codes_uuid = BT_UUID_INIT_128(PPG_UUID(2));
static const struct bt_uuid_128 ppg_info_uuid = BT_UUID_INIT_128(PPG_UUID(3));
static const struct bt_uuid_128 ppg_stats_uuid = BT_UUID_INIT_128(PPG_UUID(4));

#define PKT_LEN          20U
#define PKT_FLAG_BACKLOG 0x01U
#define INFO_LEN         64U
#define STATS_LEN        28U
#define OP_TIMEOUT       K_SECONDS(30)
#define DEFAULT_ATT_MTU  23U

/* Command line (-name=value); the parser sets an absent option to NULL / UINT_MAX. */
static char *role;
static uint32_t away_at_s;
static uint32_t away_s;
static uint32_t end_s;
static uint32_t rogue_at_s;
static uint32_t rogue_hold_s;
static uint32_t midburst_k;
static uint32_t midburst_away_s;
static uint32_t midburst_hold_ms;
static uint32_t reject_params;
static uint32_t update_at_s;
static char *model_blob_path;
static char *bad_blobs;
static char *bad_rcs;
static char *fw_image_path;
static char *fw_hash_hex;
static uint32_t smp_chunk;

static void opt_default(uint32_t *v, uint32_t def)
{
	if (*v == UINT32_MAX) {
		*v = def;
	}
}

static void apply_defaults(void)
{
	if (role == NULL) {
		role = "main";
	}
	opt_default(&away_at_s, 100U);
	opt_default(&away_s, 130U);
	opt_default(&end_s, 625U);
	opt_default(&rogue_at_s, 105U);
	opt_default(&rogue_hold_s, 60U);
	opt_default(&midburst_k, 0U);
	opt_default(&midburst_away_s, 3U);
	opt_default(&midburst_hold_ms, 0U);
	opt_default(&reject_params, 0U);
	opt_default(&update_at_s, 0U);
	opt_default(&smp_chunk, 256U);
}

static bool is_rogue;
static struct bt_conn *conn;
static int conn_number; /* connections made so far */

static K_SEM_DEFINE(sem_connected, 0, 1);
static K_SEM_DEFINE(sem_disconnected, 0, 1);
static K_SEM_DEFINE(sem_security, 0, 1);
static K_SEM_DEFINE(sem_op, 0, 1);

static volatile int op_err;
static uint8_t op_buf[INFO_LEN];
static volatile uint16_t op_len;

static atomic_t pairing_completes;
static atomic_t pairing_failures;
static volatile bool last_bonded;
static volatile int sec_level;
static volatile int sec_err;

static uint16_t svc_end, codes_handle, info_handle, stats_handle;

/* Packets received (main). */
static uint32_t rx_packets, rx_backlog, rx_live;
/* Mid-burst disconnect (main, -midburst-k): backlog packets received on the drain connection,
 * and those acknowledged but not handed to the application before the disconnect.
 */
static uint32_t burst_rx;
static uint32_t midburst_unseen;
static volatile bool midburst_done;

static void midburst_disconnect(struct k_work *work)
{
	int err = conn != NULL ? bt_conn_disconnect(conn, BT_HCI_ERR_REMOTE_USER_TERM_CONN) : -ENOTCONN;

	printk("EVENT midburst_disconnect c=%d k=%u unseen=%u err=%d\n", conn_number, burst_rx,
	       midburst_unseen, err);
}
static K_WORK_DELAYABLE_DEFINE(midburst_work, midburst_disconnect);

static int checks_failed;

static void check(const char *name, bool ok, const char *fmt, ...)
{
	char detail[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintk(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printk("CHECK %s %s %s\n", name, ok ? "PASS" : "FAIL", detail);
	if (!ok) {
		checks_failed++;
	}
}

static uint32_t now_s(void)
{
	return (uint32_t)(k_uptime_get() / 1000);
}

static void sleep_until_s(uint32_t t)
{
	int64_t left = (int64_t)t * 1000 - k_uptime_get();

	if (left > 0) {
		k_sleep(K_MSEC(left));
	}
}

/* ---- scanning and connection ---- */

static bool ad_has_ppg_uuid(struct bt_data *data, void *user_data)
{
	bool *found = user_data;

	if (data->type == BT_DATA_UUID128_ALL || data->type == BT_DATA_UUID128_SOME) {
		for (size_t i = 0; i + 16U <= data->data_len; i += 16U) {
			if (memcmp(&data->data[i], ppg_svc_uuid.val, 16) == 0) {
				*found = true;
				return false;
			}
		}
	}
	return true;
}

static void device_found(const bt_addr_le_t *addr, int8_t rssi, uint8_t type,
			 struct net_buf_simple *ad)
{
	bool found = false;
	int err;

	if (conn != NULL || (type != BT_GAP_ADV_TYPE_ADV_IND && type != BT_GAP_ADV_TYPE_ADV_DIRECT_IND)) {
		return;
	}
	bt_data_parse(ad, ad_has_ppg_uuid, &found);
	if (!found) {
		return;
	}
	if (bt_le_scan_stop() != 0) {
		return;
	}
	err = bt_conn_le_create(addr, BT_CONN_LE_CREATE_CONN, BT_LE_CONN_PARAM_DEFAULT, &conn);
	if (err != 0) {
		LOG_ERR("create connection failed (%d)", err);
		conn = NULL;
		(void)bt_le_scan_start(BT_LE_SCAN_PASSIVE, device_found);
	}
}

static void connected(struct bt_conn *c, uint8_t err)
{
	if (c != conn) {
		return;
	}
	if (err != 0U) {
		printk("EVENT connect_failed err=0x%02x\n", err);
		bt_conn_unref(conn);
		conn = NULL;
		(void)bt_le_scan_start(BT_LE_SCAN_PASSIVE, device_found);
		return;
	}
	conn_number++;
	printk("EVENT connected c=%d t_s=%u\n", conn_number, now_s());
	k_sem_give(&sem_connected);
}

static void disconnected(struct bt_conn *c, uint8_t reason)
{
	if (c != conn) {
		return;
	}
	printk("EVENT disconnected c=%d reason=0x%02x t_s=%u\n", conn_number, reason, now_s());
	bt_conn_unref(conn);
	conn = NULL;
	k_sem_give(&sem_disconnected);
}

static void security_changed(struct bt_conn *c, bt_security_t level, enum bt_security_err err)
{
	sec_level = level;
	sec_err = err;
	printk("EVENT security c=%d level=%d err=%d\n", conn_number, level, err);
	k_sem_give(&sem_security);
}

/* The peripheral's connection parameter requests: accepted as asked (Zephyr's default), or refused
 * with -reject-params=1 (a central that keeps its own parameters).
 */
static bool le_param_req(struct bt_conn *c, struct bt_le_conn_param *param)
{
	printk("EVENT param_req c=%d interval=%u-%u latency=%u timeout=%u %s\n", conn_number,
	       param->interval_min, param->interval_max, param->latency, param->timeout,
	       reject_params != 0U ? "rejected" : "accepted");
	return reject_params == 0U;
}

static void le_param_updated(struct bt_conn *c, uint16_t interval, uint16_t latency,
			     uint16_t timeout)
{
	printk("EVENT params c=%d interval_us=%u latency=%u timeout_ms=%u\n", conn_number,
	       BT_CONN_INTERVAL_TO_US(interval), latency, 10U * timeout);
}

BT_CONN_CB_DEFINE(conn_cb) = {
	.connected = connected,
	.disconnected = disconnected,
	.security_changed = security_changed,
	.le_param_req = le_param_req,
	.le_param_updated = le_param_updated,
};

static enum bt_security_err pairing_accept(struct bt_conn *c,
					   const struct bt_conn_pairing_feat *const feat)
{
	if (is_rogue) {
		printk("EVENT pairing_refused\n");
		return BT_SECURITY_ERR_PAIR_NOT_ALLOWED;
	}
	return BT_SECURITY_ERR_SUCCESS;
}

static struct bt_conn_auth_cb auth_cb = {
	.pairing_accept = pairing_accept,
};

static void pairing_complete(struct bt_conn *c, bool bonded)
{
	last_bonded = bonded;
	atomic_inc(&pairing_completes);
	printk("EVENT pairing_complete bonded=%d\n", bonded ? 1 : 0);
}

static void pairing_failed(struct bt_conn *c, enum bt_security_err reason)
{
	atomic_inc(&pairing_failures);
	printk("EVENT pairing_failed reason=%d\n", reason);
	k_sem_give(&sem_security);
}

static struct bt_conn_auth_info_cb auth_info_cb = {
	.pairing_complete = pairing_complete,
	.pairing_failed = pairing_failed,
};

static int connect_peer(void)
{
	int err;

	k_sem_reset(&sem_connected);
	k_sem_reset(&sem_disconnected);
	k_sem_reset(&sem_security);
	err = bt_le_scan_start(BT_LE_SCAN_PASSIVE, device_found);
	if (err != 0) {
		return err;
	}
	if (k_sem_take(&sem_connected, K_SECONDS(60)) != 0) {
		(void)bt_le_scan_stop();
		return -ETIMEDOUT;
	}
	return 0;
}

static int disconnect_peer(void)
{
	int err;

	if (conn == NULL) {
		return 0;
	}
	err = bt_conn_disconnect(conn, BT_HCI_ERR_REMOTE_USER_TERM_CONN);
	if (err != 0) {
		return err;
	}
	return k_sem_take(&sem_disconnected, OP_TIMEOUT);
}

/* ---- GATT ---- */

static struct bt_gatt_discover_params disc;

static uint8_t discover_cb(struct bt_conn *c, const struct bt_gatt_attr *attr,
			   struct bt_gatt_discover_params *params)
{
	if (attr == NULL) {
		k_sem_give(&sem_op);
		return BT_GATT_ITER_STOP;
	}
	if (params->type == BT_GATT_DISCOVER_PRIMARY) {
		const struct bt_gatt_service_val *svc = attr->user_data;

		svc_end = svc->end_handle;
		params->start_handle = attr->handle + 1U;
		k_sem_give(&sem_op);
		return BT_GATT_ITER_STOP;
	}
	if (params->type == BT_GATT_DISCOVER_CHARACTERISTIC) {
		const struct bt_gatt_chrc *chrc = attr->user_data;

		if (bt_uuid_cmp(chrc->uuid, &ppg_codes_uuid.uuid) == 0) {
			codes_handle = chrc->value_handle;
		} else if (bt_uuid_cmp(chrc->uuid, &ppg_info_uuid.uuid) == 0) {
			info_handle = chrc->value_handle;
		} else if (bt_uuid_cmp(chrc->uuid, &ppg_stats_uuid.uuid) == 0) {
			stats_handle = chrc->value_handle;
		}
	}
	return BT_GATT_ITER_CONTINUE;
}

static int discover(void)
{
	int err;

	svc_end = codes_handle = info_handle = stats_handle = 0U;
	memset(&disc, 0, sizeof(disc));
	disc.uuid = &ppg_svc_uuid.uuid;
	disc.func = discover_cb;
	disc.start_handle = BT_ATT_FIRST_ATTRIBUTE_HANDLE;
	disc.end_handle = BT_ATT_LAST_ATTRIBUTE_HANDLE;
	disc.type = BT_GATT_DISCOVER_PRIMARY;
	k_sem_reset(&sem_op);
	err = bt_gatt_discover(conn, &disc);
	if (err != 0 || k_sem_take(&sem_op, OP_TIMEOUT) != 0 || svc_end == 0U) {
		return err != 0 ? err : -ENOENT;
	}
	disc.uuid = NULL;
	disc.end_handle = svc_end;
	disc.type = BT_GATT_DISCOVER_CHARACTERISTIC;
	err = bt_gatt_discover(conn, &disc);
	if (err != 0 || k_sem_take(&sem_op, OP_TIMEOUT) != 0) {
		return err != 0 ? err : -ETIMEDOUT;
	}
	return (codes_handle && info_handle && stats_handle) ? 0 : -ENOENT;
}

static struct bt_gatt_read_params read_params;

static uint8_t read_cb(struct bt_conn *c, uint8_t err, struct bt_gatt_read_params *params,
		       const void *data, uint16_t length)
{
	if (err != 0U || data == NULL) {
		op_err = err;
		k_sem_give(&sem_op);
		return BT_GATT_ITER_STOP;
	}
	if (op_len + length <= sizeof(op_buf)) {
		memcpy(&op_buf[op_len], data, length);
	}
	op_len += length;
	return BT_GATT_ITER_CONTINUE;
}

static void write_cb(struct bt_conn *c, uint8_t err, struct bt_gatt_write_params *params)
{
	op_err = err;
	k_sem_give(&sem_op);
}

/* Returns the ATT error (0: ok, value in op_buf/op_len), or a negative errno. */
static int read_handle(uint16_t handle)
{
	int err;

	memset(&read_params, 0, sizeof(read_params));
	read_params.func = read_cb;
	read_params.handle_count = 1;
	read_params.single.handle = handle;
	op_len = 0U;
	op_err = 0;
	k_sem_reset(&sem_op);
	err = bt_gatt_read(conn, &read_params);
	if (err != 0) {
		return err;
	}
	if (k_sem_take(&sem_op, OP_TIMEOUT) != 0) {
		return -ETIMEDOUT;
	}
	return op_err;
}

static void print_packet(const uint8_t *p)
{
	char hex[2U * PKT_LEN + 1U];

	for (size_t i = 0; i < PKT_LEN; i++) {
		snprintk(&hex[2U * i], 3, "%02x", p[i]);
	}
	printk("PKT %s c=%d\n", hex, conn_number);
}

static uint8_t notify_cb(struct bt_conn *c, struct bt_gatt_subscribe_params *params,
			 const void *data, uint16_t length)
{
	const uint8_t *p = data;

	if (data == NULL) {
		printk("EVENT unsubscribed\n");
		return BT_GATT_ITER_STOP;
	}
	if (length != PKT_LEN) {
		printk("EVENT bad_length len=%u\n", length);
		return BT_GATT_ITER_CONTINUE;
	}
	if (midburst_done && conn_number == 2) {
		/* In the central's pipeline when the application left: never delivered to it. */
		midburst_unseen++;
		printk("EVENT midburst_unseen seq=%u\n", sys_get_le16(&p[2]));
		return BT_GATT_ITER_CONTINUE;
	}
	print_packet(p);
	rx_packets++;
	if ((p[0] & PKT_FLAG_BACKLOG) != 0U) {
		rx_backlog++;
	} else {
		rx_live++;
	}
	/* On the drain connection (the second), the application leaves in the middle of the
	 * backlog burst, after the k-th packet: the disconnect reaches the link -midburst-hold-ms
	 * later (a central's pipeline, e.g. a phone's stack and app), and what its controller
	 * acknowledges meanwhile never reaches the application (Zephyr's own host also drops what
	 * arrives once the link is disconnecting).
	 */
	if (midburst_k > 0U && conn_number == 2 && (p[0] & PKT_FLAG_BACKLOG) != 0U &&
	    ++burst_rx == midburst_k) {
		midburst_done = true;
		printk("EVENT midburst_leave c=%d k=%u seq=%u hold_ms=%u\n", conn_number, burst_rx,
		       sys_get_le16(&p[2]), midburst_hold_ms);
		k_work_schedule(&midburst_work, K_MSEC(midburst_hold_ms));
	}
	return BT_GATT_ITER_CONTINUE;
}

static struct bt_gatt_subscribe_params sub_params;
static struct bt_gatt_discover_params sub_disc;

static void subscribe_cb(struct bt_conn *c, uint8_t err, struct bt_gatt_subscribe_params *params)
{
	op_err = err;
	k_sem_give(&sem_op);
}

static int subscribe_codes(void)
{
	int err;

	memset(&sub_params, 0, sizeof(sub_params));
	sub_params.notify = notify_cb;
	sub_params.subscribe = subscribe_cb;
	sub_params.value = BT_GATT_CCC_NOTIFY;
	sub_params.value_handle = codes_handle;
	sub_params.ccc_handle = 0U; /* discovered */
	sub_params.end_handle = svc_end;
	sub_params.disc_params = &sub_disc;
	op_err = 0;
	k_sem_reset(&sem_op);
	err = bt_gatt_subscribe(conn, &sub_params);
	if (err != 0) {
		return err;
	}
	if (k_sem_take(&sem_op, OP_TIMEOUT) != 0) {
		return -ETIMEDOUT;
	}
	return op_err;
}

static bool att_security_error(int err)
{
	return err == BT_ATT_ERR_AUTHENTICATION || err == BT_ATT_ERR_INSUFFICIENT_ENCRYPTION;
}

/* ---- checks ---- */

static void check_model_info(void)
{
	static const uint8_t sha[] = PPG_MODEL_SHA256_BYTES;
	int err = read_handle(info_handle);
	bool ok = err == 0 && op_len == INFO_LEN;
	char hex[2U * sizeof(sha) + 1U];

	for (size_t i = 0; i < sizeof(sha) && ok; i++) {
		snprintk(&hex[2U * i], 3, "%02x", op_buf[20U + i]);
	}
	if (!ok) {
		check("model_info", false, "read error %d, %u bytes", err, op_len);
		return;
	}
	ok = op_buf[0] == 1U && op_buf[1] == 16U && sys_get_le16(&op_buf[2]) == PPG_MODEL_SAMPLE_RATE_HZ &&
	     sys_get_le16(&op_buf[4]) == PPG_MODEL_WINDOW_LEN &&
	     memcmp(&op_buf[20], sha, sizeof(sha)) == 0 && op_buf[20] == PPG_MODEL_TAG;
	check("model_info", ok, "tag=0x%02x hash=%s hop=%u expected_hash=%s", op_buf[20], hex,
	      sys_get_le16(&op_buf[6]), PPG_MODEL_SHA256_HEX);
}

static void check_stats(const char *name)
{
	int err = read_handle(stats_handle);

	if (err != 0 || op_len != STATS_LEN) {
		check(name, false, "read error %d, %u bytes", err, op_len);
		return;
	}
	check(name, true, "windows=%u sent=%u dropped=%u backlog_depth=%u sensor_errors=%u",
	      sys_get_le32(&op_buf[0]), sys_get_le32(&op_buf[4]), sys_get_le32(&op_buf[8]),
	      sys_get_le32(&op_buf[12]), sys_get_le32(&op_buf[16]));
}

/* Waits for encryption on a bonded reconnection; the peripheral also asks for it. */
static void check_reencrypt(const char *name)
{
	struct bt_conn_info info;
	int err;
	int64_t deadline = k_uptime_get() + 30000;

	if (conn == NULL) { /* the link dropped again, e.g. the re-encryption was refused */
		check(name, false, "no connection");
		return;
	}
	err = bt_conn_set_security(conn, BT_SECURITY_L2);
	while (err == 0 && conn != NULL && bt_conn_get_security(conn) < BT_SECURITY_L2 &&
	       k_uptime_get() < deadline) {
		(void)k_sem_take(&sem_security, K_SECONDS(1));
	}
	if (conn == NULL) {
		check(name, false, "the link dropped before encryption");
		return;
	}
	(void)bt_conn_get_info(conn, &info);
	check(name, err == 0 && info.security.level >= BT_SECURITY_L2 &&
		    (info.security.flags & BT_SECURITY_FLAG_SC) != 0 &&
		    atomic_get(&pairing_completes) == 1,
	      "level=%d sc=%d pairing_completes=%d (1: no new pairing) err=%d", info.security.level,
	      (info.security.flags & BT_SECURITY_FLAG_SC) != 0, (int)atomic_get(&pairing_completes),
	      err);
}

/* ---- updater (MCUmgr SMP) ---- */

#define BLOB_MAX   16384U
#define FW_MAX     32768U
#define BLOB_SHA   12U /* blob_sha256 (docs/model_blob.md) */
#define BLOB_MSHA  52U /* model_sha256 */
#define BLOB_TAG   84U /* model_tag */
#define PPG_ERR_BUSY   1
#define PPG_ERR_OFFSET 4

static uint16_t smp_handle;
static uint8_t blob[BLOB_MAX];
static uint8_t fw[FW_MAX];
static uint8_t smp_payload[512];
static struct smp_rsp rsp;

static void hex32(char *out, const uint8_t *b)
{
	for (size_t i = 0; i < SMP_SHA_LEN; i++) {
		snprintk(&out[2U * i], 3, "%02x", b[i]);
	}
}

static long load_file(const char *path, uint8_t *buf, long cap)
{
	long n = path != NULL ? central_bottom_read_file(path, buf, cap) : -1;

	if (n <= 0) {
		check("updater_file", false, "cannot read %s (%ld)", path != NULL ? path : "-", n);
	}
	return n;
}

/*
 * Uploads buf[from, min(len, stop_at)) in smp_chunk pieces (group grp, command id), each chunk at
 * the offset the device answered. Returns 0 when every chunk was acknowledged or the device refused
 * one (then rsp holds the refusal), else the errno. *acked: the device's next offset.
 */
static int upload(uint16_t grp, uint8_t id, const uint8_t *buf, uint32_t len, const uint8_t *sha,
		  uint32_t from, uint32_t stop_at, uint32_t *acked, uint32_t *chunks)
{
	uint32_t off = from;

	*chunks = 0U;
	while (off < len && off < stop_at) {
		uint32_t n = MIN(smp_chunk, len - off);
		size_t plen = smp_cbor_upload(smp_payload, sizeof(smp_payload), off, &buf[off], n,
					      len, sha);
		int err = smp_request(conn, smp_handle, SMP_OP_WRITE, grp, id, smp_payload, plen,
				      &rsp);

		if (err != 0) {
			return err;
		}
		++*chunks;
		if (rsp.err_rc > 0 || rsp.rc > 0) {
			return 0;
		}
		if (!rsp.has_off || rsp.off <= off) {
			return -EBADMSG;
		}
		off = rsp.off;
		*acked = off;
	}
	return 0;
}

static int model_state(void)
{
	size_t plen = smp_cbor_empty(smp_payload, sizeof(smp_payload));

	return smp_request(conn, smp_handle, SMP_OP_READ, SMP_GRP_MODEL, 0U, smp_payload, plen,
			   &rsp);
}

static bool state_is(uint32_t tag, bool builtin)
{
	return model_state() == 0 && rsp.err_rc < 0 && rsp.tag == tag && rsp.builtin == builtin &&
	       rsp.up_len == 0U;
}

/* Each -bad-blobs file is refused with its -bad-rcs code; the running model stays. */
static void update_bad_blobs(void)
{
	char *paths = bad_blobs;
	char *rcs = bad_rcs;
	int k = 0;

	while (paths != NULL && *paths != '\0') {
		char *pe = strchr(paths, ',');
		char *re = rcs != NULL ? strchr(rcs, ',') : NULL;
		int want = rcs != NULL ? atoi(rcs) : -1;
		uint32_t acked = 0U, chunks = 0U;
		int64_t t0 = k_uptime_get();
		long n;
		int err;
		char name[24];

		if (pe != NULL) {
			*pe = '\0';
		}
		snprintk(name, sizeof(name), "model_bad_%d", k);
		n = load_file(paths, blob, sizeof(blob));
		if (n > 0) {
			err = upload(SMP_GRP_MODEL, 1U, blob, (uint32_t)n, &blob[BLOB_SHA], 0U,
				     UINT32_MAX, &acked, &chunks);
			check(name, err == 0 && rsp.err_group == SMP_GRP_MODEL && rsp.err_rc == want,
			      "file=%s bytes=%ld rc=%d want=%d err=%d chunks=%u acked=%u ms=%u", paths,
			      n, rsp.err_rc, want, err, chunks, acked,
			      (uint32_t)(k_uptime_get() - t0));
			bool kept = state_is(PPG_MODEL_TAG, true);

			snprintk(name, sizeof(name), "model_bad_%d_kept", k);
			check(name, kept, "tag=0x%02x builtin=%d up_len=%u", rsp.tag, rsp.builtin,
			      rsp.up_len);
		}
		k++;
		paths = pe != NULL && conn != NULL ? pe + 1 : NULL;
		rcs = re != NULL ? re + 1 : NULL;
	}
}

/* Cut by a disconnect half way, the upload resumes at the device's up_off after reconnecting. */
static void update_resume(uint32_t len, uint32_t seq_before)
{
	uint32_t acked = 0U, chunks = 0U;
	uint8_t other[SMP_SHA_LEN];
	size_t plen;
	int err;

	err = upload(SMP_GRP_MODEL, 1U, blob, len, &blob[BLOB_SHA], 0U, len / 2U, &acked, &chunks);
	check("model_upload_cut", err == 0 && rsp.err_rc < 0 && acked >= len / 2U && acked < len,
	      "acked=%u of %u err=%d rc=%d", acked, len, err, rsp.err_rc);
	err = disconnect_peer();
	printk("EVENT update_disconnect c=%d acked=%u err=%d t_s=%u\n", conn_number, acked, err,
	       now_s());
	k_sleep(K_SECONDS(2));
	err = connect_peer();
	check("reconnect_update", err == 0, "err=%d t_s=%u", err, now_s());
	if (err != 0) {
		return;
	}
	check_reencrypt("reencrypt_update");
	k_sleep(K_MSEC(500)); /* the bonded peer's SMP subscription comes back with the encryption */

	err = model_state();
	check("model_upload_survives_disconnect",
	      err == 0 && rsp.up_off == acked && rsp.up_len == len &&
		      memcmp(rsp.up_sha, &blob[BLOB_SHA], SMP_SHA_LEN) == 0,
	      "up_off=%u up_len=%u acked=%u err=%d", rsp.up_off, rsp.up_len, acked, err);

	/* Another blob (another sha) while this one is open: BUSY. */
	memcpy(other, &blob[BLOB_SHA], sizeof(other));
	other[0] ^= 0xffU;
	plen = smp_cbor_upload(smp_payload, sizeof(smp_payload), 0U, blob, smp_chunk, len, other);
	err = smp_request(conn, smp_handle, SMP_OP_WRITE, SMP_GRP_MODEL, 1U, smp_payload, plen,
			  &rsp);
	check("model_busy", err == 0 && rsp.err_group == SMP_GRP_MODEL && rsp.err_rc == PPG_ERR_BUSY,
	      "rc=%d err=%d", rsp.err_rc, err);
	/* A chunk past the expected offset: OFFSET, the upload stays open. */
	plen = smp_cbor_upload(smp_payload, sizeof(smp_payload), acked + smp_chunk, &blob[acked],
			       16U, len, NULL);
	err = smp_request(conn, smp_handle, SMP_OP_WRITE, SMP_GRP_MODEL, 1U, smp_payload, plen,
			  &rsp);
	check("model_wrong_offset",
	      err == 0 && rsp.err_group == SMP_GRP_MODEL && rsp.err_rc == PPG_ERR_OFFSET,
	      "rc=%d err=%d", rsp.err_rc, err);

	err = upload(SMP_GRP_MODEL, 1U, blob, len, NULL, acked, UINT32_MAX, &acked, &chunks);
	check("model_upload_resumed", err == 0 && rsp.err_rc < 0 && rsp.active && rsp.off == len,
	      "from=%u chunks=%u active=%d rc=%d err=%d", len / 2U, chunks, rsp.active, rsp.err_rc,
	      err);
	err = model_state();
	check("model_state_resumed", err == 0 && rsp.tag == blob[BLOB_TAG] && !rsp.builtin &&
		      rsp.seq == seq_before + 1U && rsp.up_len == 0U,
	      "tag=0x%02x seq=%u (before %u) err=%d", rsp.tag, rsp.seq, seq_before, err);
}

static bool parse_hex32(const char *hex, uint8_t *out)
{
	if (hex == NULL || strlen(hex) != 2U * SMP_SHA_LEN) {
		return false;
	}
	return hex2bin(hex, 2U * SMP_SHA_LEN, out, SMP_SHA_LEN) == SMP_SHA_LEN;
}

/* Firmware image into slot 1 with image management; image list reports its hash. */
static void update_firmware(void)
{
	uint8_t want[SMP_SHA_LEN];
	uint32_t acked = 0U, chunks = 0U;
	int64_t t0 = k_uptime_get();
	long n = load_file(fw_image_path, fw, sizeof(fw));
	bool found = false;
	char got[2U * SMP_SHA_LEN + 1U] = "none";
	size_t plen;
	int err;

	if (n <= 0) {
		return;
	}
	if (!parse_hex32(fw_hash_hex, want)) {
		check("image_hash_option", false, "-fw-hash is not 64 hex digits");
		return;
	}
	err = upload(SMP_GRP_IMG, 1U, fw, (uint32_t)n, NULL, 0U, UINT32_MAX, &acked, &chunks);
	check("image_upload", err == 0 && rsp.err_rc < 0 && rsp.rc <= 0 && acked == (uint32_t)n,
	      "bytes=%ld acked=%u chunks=%u rc=%d err_rc=%d err=%d ms=%u", n, acked, chunks, rsp.rc,
	      rsp.err_rc, err, (uint32_t)(k_uptime_get() - t0));
	plen = smp_cbor_empty(smp_payload, sizeof(smp_payload));
	err = smp_request(conn, smp_handle, SMP_OP_READ, SMP_GRP_IMG, 0U, smp_payload, plen, &rsp);
	for (int i = 0; err == 0 && i < rsp.n_images; i++) {
		if (rsp.images[i].slot == 1U && rsp.images[i].has_hash) {
			hex32(got, rsp.images[i].hash);
			found = memcmp(rsp.images[i].hash, want, SMP_SHA_LEN) == 0;
		}
	}
	check("image_list_slot1_hash", found, "images=%d slot1_hash=%s want=%s err=%d", rsp.n_images,
	      got, fw_hash_hex, err);
}

static void run_update(void)
{
	uint32_t acked = 0U, chunks = 0U, seq;
	int64_t t0;
	long n;
	int err;
	bool ok;
	char hex[2U * SMP_SHA_LEN + 1U];

	sleep_until_s(update_at_s);
	if (conn == NULL) {
		check("update_connected", false, "no connection at %u s", now_s());
		return;
	}
	err = smp_discover(conn, &smp_handle);
	check("smp_discovery", err == 0, "handle=%u err=%d", smp_handle, err);
	err = err == 0 ? smp_subscribe(conn, smp_handle) : err;
	check("smp_subscribe", err == 0, "err=%d", err);
	if (err != 0) {
		return;
	}
	/* The built-in model runs, no upload is open (the rogue's SMP writes were dropped). */
	ok = state_is(PPG_MODEL_TAG, true);
	check("model_state_initial", ok,
	      "tag=0x%02x builtin=%d seq=%u up_len=%u", rsp.tag, rsp.builtin, rsp.seq, rsp.up_len);
	update_bad_blobs();

	n = conn != NULL ? load_file(model_blob_path, blob, sizeof(blob)) : 0;
	if (n <= 0) {
		return;
	}
	t0 = k_uptime_get();
	printk("EVENT model_upload_start bytes=%ld t_ms=%lld\n", n, t0);
	err = upload(SMP_GRP_MODEL, 1U, blob, (uint32_t)n, &blob[BLOB_SHA], 0U, UINT32_MAX, &acked,
		     &chunks);
	printk("EVENT model_upload bytes=%ld chunks=%u chunk=%u ms=%u mtu=%u t_ms=%lld\n", n, chunks,
	       smp_chunk, (uint32_t)(k_uptime_get() - t0), conn != NULL ? bt_gatt_get_mtu(conn) : 0U,
	       k_uptime_get());
	check("model_upload", err == 0 && rsp.err_rc < 0 && rsp.active && rsp.off == (uint32_t)n,
	      "bytes=%ld active=%d rc=%d err=%d", n, rsp.active, rsp.err_rc, err);
	err = model_state();
	hex32(hex, rsp.sha256);
	check("model_state_new", err == 0 && rsp.tag == blob[BLOB_TAG] && !rsp.builtin &&
		      memcmp(rsp.sha256, &blob[BLOB_MSHA], SMP_SHA_LEN) == 0 && rsp.up_len == 0U,
	      "tag=0x%02x want=0x%02x builtin=%d seq=%u sha256=%s err=%d", rsp.tag, blob[BLOB_TAG],
	      rsp.builtin, rsp.seq, hex, err);
	seq = rsp.seq;
	/* Model info (GATT) reports the active model. */
	err = read_handle(info_handle);
	check("model_info_active", err == 0 && op_len == INFO_LEN && op_buf[20] == blob[BLOB_TAG] &&
		      memcmp(&op_buf[20], &blob[BLOB_MSHA], SMP_SHA_LEN) == 0,
	      "tag=0x%02x err=%d", op_buf[20], err);

	update_resume((uint32_t)n, seq);
	if (fw_image_path != NULL && conn != NULL) {
		update_firmware();
	}
	printk("EVENT update_done t_s=%u\n", now_s());
}

/* rogue: the SMP characteristic refuses an unencrypted central. */
static void rogue_smp(void)
{
	static struct bt_gatt_write_params wp;
	uint8_t frame[16];
	size_t plen = smp_cbor_empty(smp_payload, sizeof(smp_payload));
	size_t n = smp_frame(frame, sizeof(frame), SMP_OP_READ, SMP_GRP_MODEL, 0U, smp_payload,
			     plen);
	int err = smp_discover(conn, &smp_handle);

	check("rogue_smp_discovery", err == 0, "handle=%u err=%d", smp_handle, err);
	if (err != 0) {
		return;
	}
	err = smp_subscribe(conn, smp_handle);
	check("rogue_smp_subscribe_denied", att_security_error(err), "att_err=0x%02x", err);
	/* A Write Request gets the ATT error; a Write Command (no response) is dropped silently:
	 * the updater's first state read shows that no upload was opened by it.
	 */
	memset(&wp, 0, sizeof(wp));
	wp.func = write_cb;
	wp.handle = smp_handle;
	wp.data = frame;
	wp.length = (uint16_t)n;
	op_err = 0;
	k_sem_reset(&sem_op);
	err = bt_gatt_write(conn, &wp);
	if (err == 0 && k_sem_take(&sem_op, OP_TIMEOUT) != 0) {
		err = -ETIMEDOUT;
	} else if (err == 0) {
		err = op_err;
	}
	check("rogue_smp_write_denied", att_security_error(err), "att_err=0x%02x", err);
	n = smp_cbor_upload(smp_payload, sizeof(smp_payload), 0U, frame, sizeof(frame), 4096U,
			    frame);
	n = smp_frame(blob, sizeof(blob), SMP_OP_WRITE, SMP_GRP_MODEL, 1U, smp_payload, n);
	for (size_t off = 0; off < n; off += DEFAULT_ATT_MTU - 3U) {
		(void)bt_gatt_write_without_response(conn, smp_handle, &blob[off],
						     MIN(DEFAULT_ATT_MTU - 3U, n - off), false);
	}
}

static void run_main(void)
{
	struct bt_conn_info info;
	int err;

	/* 1. Connect, discover, model info (open). */
	err = connect_peer();
	check("connect", err == 0, "err=%d", err);
	if (err != 0) {
		return;
	}
	err = discover();
	check("discovery", err == 0, "svc_end=%u codes=%u info=%u stats=%u err=%d", svc_end,
	      codes_handle, info_handle, stats_handle, err);
	if (err != 0) {
		return;
	}
	check_model_info();

	/* 2. LESC pairing and bonding. */
	err = bt_conn_set_security(conn, BT_SECURITY_L2);
	while ((err == 0 || err == -EBUSY) && bt_conn_get_security(conn) < BT_SECURITY_L2 &&
	       atomic_get(&pairing_failures) == 0) {
		if (k_sem_take(&sem_security, OP_TIMEOUT) != 0) {
			break;
		}
	}
	(void)bt_conn_get_info(conn, &info);
	check("pairing", info.security.level >= BT_SECURITY_L2 &&
		     (info.security.flags & BT_SECURITY_FLAG_SC) != 0 && last_bonded &&
		     atomic_get(&pairing_completes) == 1,
	      "level=%d sc=%d bonded=%d key_size=%u", info.security.level,
	      (info.security.flags & BT_SECURITY_FLAG_SC) != 0, last_bonded, info.security.enc_key_size);
	check_stats("stats_read");

	/* 3. Subscribe at the default MTU. */
	check("default_mtu", bt_gatt_get_mtu(conn) == DEFAULT_ATT_MTU, "mtu=%u",
	      bt_gatt_get_mtu(conn));
	err = subscribe_codes();
	check("subscribe", err == 0, "err=%d", err);

	/* 4. Away for away_s seconds. */
	sleep_until_s(away_at_s);
	check("live_before_away", rx_live > 0U, "live=%u", rx_live);
	err = disconnect_peer();
	check("disconnect", err == 0, "err=%d t_s=%u", err, now_s());
	sleep_until_s(away_at_s + away_s);

	/* 5. Reconnect: re-encryption from the bond, then the backlog drain. */
	err = connect_peer();
	check("reconnect", err == 0, "err=%d t_s=%u", err, now_s());
	if (err != 0) {
		return;
	}
	check_reencrypt("reencrypt");
	if (update_at_s != 0U) {
		run_update();
	}

	/* 6. Live until the end of the recording. A link loss (the driver can fade the channel in
	 * the backlog drain) is followed by a reconnection, re-encrypted from the bond. So is the
	 * mid-burst disconnect (-midburst-k), after -midburst-away-s seconds. The subscription of a
	 * bonded peer is kept and written again after the re-encryption (BT_GATT_AUTO_RESUBSCRIBE).
	 */
	while (true) {
		int64_t left = (int64_t)end_s * 1000 - k_uptime_get();
		bool midburst;

		if (left <= 0 || k_sem_take(&sem_disconnected, K_MSEC(left)) != 0) {
			break;
		}
		midburst = midburst_done && conn_number == 2;
		printk("EVENT %s c=%d t_s=%u\n", midburst ? "midburst_away" : "link_lost", conn_number,
		       now_s());
		k_sleep(K_SECONDS(midburst ? midburst_away_s : 1U));
		err = connect_peer();
		check(midburst ? "reconnect_midburst" : "reconnect_after_loss", err == 0, "err=%d t_s=%u",
		      err, now_s());
		if (err != 0) {
			return;
		}
		check_reencrypt(midburst ? "reencrypt_midburst" : "reencrypt_after_loss");
	}
	if (conn == NULL) {
		check("connected_at_end", false, "no connection");
		return;
	}
	check_stats("stats_final");
	check("mtu_unchanged", bt_gatt_get_mtu(conn) == DEFAULT_ATT_MTU, "mtu=%u",
	      bt_gatt_get_mtu(conn));
}

static void run_rogue(void)
{
	int err;

	sleep_until_s(rogue_at_s);
	err = connect_peer();
	check("rogue_connect", err == 0, "err=%d t_s=%u", err, now_s());
	if (err != 0) {
		return;
	}
	err = discover();
	check("rogue_discovery", err == 0, "err=%d", err);
	if (err != 0) {
		return;
	}
	/* The peripheral asks for security: give its pairing attempt time to fail. */
	(void)k_sem_take(&sem_security, K_SECONDS(5));
	check("rogue_not_paired", bt_conn_get_security(conn) < BT_SECURITY_L2 &&
		  atomic_get(&pairing_completes) == 0,
	      "level=%d pairing_failures=%d", bt_conn_get_security(conn),
	      (int)atomic_get(&pairing_failures));

	err = subscribe_codes();
	check("rogue_subscribe_denied", att_security_error(err), "att_err=0x%02x", err);
	err = read_handle(stats_handle);
	check("rogue_read_stats_denied", att_security_error(err), "att_err=0x%02x", err);
	err = read_handle(codes_handle);
	check("rogue_read_codes_denied", err == BT_ATT_ERR_READ_NOT_PERMITTED || att_security_error(err),
	      "att_err=0x%02x", err);
	err = read_handle(info_handle);
	check("rogue_read_info_open", err == 0 && op_len == INFO_LEN, "att_err=0x%02x", err);
	rogue_smp();

	/* Connected, never subscribed: the peripheral must keep its packets in the backlog. */
	sleep_until_s(rogue_at_s + rogue_hold_s);
	err = disconnect_peer();
	check("rogue_disconnect", err == 0, "err=%d t_s=%u", err, now_s());
}

int main(void)
{
	int err;

	apply_defaults();
	is_rogue = strcmp(role, "rogue") == 0;
	err = bt_enable(NULL);
	if (err != 0) {
		check("bt_enable", false, "err=%d", err);
		return 0;
	}
	(void)bt_conn_auth_cb_register(&auth_cb);
	(void)bt_conn_auth_info_cb_register(&auth_info_cb);

	if (is_rogue) {
		run_rogue();
	} else {
		run_main();
	}
	printk("SUMMARY role=%s received=%u backlog=%u live=%u connections=%d pairings=%d "
	       "checks_failed=%d t_s=%u\n",
	       role, rx_packets, rx_backlog, rx_live, conn_number, (int)atomic_get(&pairing_completes),
	       checks_failed, now_s());
	printk("DONE %s\n", role);
	return 0;
}

static void central_cmdline_opts(void)
{
	static struct args_struct_t opts[] = {
		{.option = "role", .name = "main|rogue", .type = 's', .dest = (void *)&role,
		 .descript = "main: the bonded central; rogue: a central that does not pair"},
		{.option = "away-at-s", .name = "S", .type = 'u', .dest = (void *)&away_at_s,
		 .descript = "main: disconnect at S s"},
		{.option = "away-s", .name = "S", .type = 'u', .dest = (void *)&away_s,
		 .descript = "main: stay away S s"},
		{.option = "end-s", .name = "S", .type = 'u', .dest = (void *)&end_s,
		 .descript = "main: final stats read at S s"},
		{.option = "rogue-at-s", .name = "S", .type = 'u', .dest = (void *)&rogue_at_s,
		 .descript = "rogue: connect at S s"},
		{.option = "rogue-hold-s", .name = "S", .type = 'u', .dest = (void *)&rogue_hold_s,
		 .descript = "rogue: stay connected S s without subscribing"},
		{.option = "midburst-k", .name = "K", .type = 'u', .dest = (void *)&midburst_k,
		 .descript = "main: disconnect after the K-th backlog packet of the drain (0: never)"},
		{.option = "midburst-away-s", .name = "S", .type = 'u', .dest = (void *)&midburst_away_s,
		 .descript = "main: after the mid-burst disconnect, reconnect after S s"},
		{.option = "midburst-hold-ms", .name = "MS", .type = 'u', .dest = (void *)&midburst_hold_ms,
		 .descript = "main: the mid-burst disconnect reaches the link MS ms after the K-th packet"},
		{.option = "reject-params", .name = "0|1", .type = 'u', .dest = (void *)&reject_params,
		 .descript = "1: refuse the peripheral's connection parameter requests"},
		{.option = "update-at-s", .name = "S", .type = 'u', .dest = (void *)&update_at_s,
		 .descript = "main: run the updater (SMP) at S s (0: never, the default)"},
		{.option = "model-blob", .name = "PATH", .type = 's',
		 .dest = (void *)&model_blob_path,
		 .descript = "updater: the new model blob (docs/model_blob.md)"},
		{.option = "bad-blobs", .name = "P1,P2,..", .type = 's', .dest = (void *)&bad_blobs,
		 .descript = "updater: blobs the device must refuse, before the good one"},
		{.option = "bad-rcs", .name = "RC1,RC2,..", .type = 's', .dest = (void *)&bad_rcs,
		 .descript = "updater: the rc (enum ppg_model_err) each bad blob must get"},
		{.option = "fw-image", .name = "PATH", .type = 's', .dest = (void *)&fw_image_path,
		 .descript = "updater: a signed image to upload into slot 1 (image management)"},
		{.option = "fw-hash", .name = "HEX", .type = 's', .dest = (void *)&fw_hash_hex,
		 .descript = "updater: the image's SHA-256 (its TLV) that image list must report"},
		{.option = "smp-chunk", .name = "N", .type = 'u', .dest = (void *)&smp_chunk,
		 .descript = "updater: upload chunk size in bytes (default 256)"},
		ARG_TABLE_ENDMARKER,
	};

	native_add_command_line_opts(opts);
}

NATIVE_TASK(central_cmdline_opts, PRE_BOOT_1, 10);
