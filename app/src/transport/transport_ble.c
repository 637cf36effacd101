/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * BLE peripheral transport (docs/protocol.md, "GATT layout"): PPG Codes service with the codes
 * (notify), model-info (read) and stats (read, notify) characteristics, plus DIS and BAS.
 *
 * Every send runs on the system workqueue, where bt_gatt_notify() never blocks for a buffer
 * (it returns -ENOMEM instead). The processing thread hands packets over through a message
 * queue; the work item submits them through the backlog policy (tx_queue.h) and drains the
 * backlog. The work is kicked on connection, on encryption, on a CCC write, after each
 * notification completes, and periodically while packets wait and a peer is connected.
 *
 * A notification accepted by bt_gatt_notify_cb() is only queued in the host/controller: it stays in
 * the ring, in flight, until it is known delivered, and a disconnect makes the in-flight packets
 * pending again, so nothing the ring holds is lost when the link drops in the middle of a burst.
 * Its completion callback is not proof enough: Zephyr runs some as soon as the controller took the
 * packet, before it went on air, and when a link is lost the controller reports its flushed
 * packets as completed just before the disconnection. The link layer retransmits a packet until it
 * is acknowledged or the link is lost, so completions are trusted once the link outlived the
 * latest of them by the supervision timeout (plus the margin below); if the link is lost
 * earlier, every packet in flight is resent. After a terminate requested by the peer, only if the
 * latest completion is younger than CONFIG_APP_BLE_PEER_TERMINATE_RESEND_MS plus two connection
 * intervals: the peer's link layer acknowledged what it received, but its host or application may
 * still drop what was in its pipeline when it decided to leave (Zephyr's ATT drops PDUs once the
 * link is disconnecting). (A packet acknowledged just before a link loss may then arrive twice;
 * the receiver drops duplicates by sequence number.)
 * Everything here runs on the system workqueue (completions, disconnection, tx_work).
 */

#include <errno.h>
#include <string.h>

#include <zephyr/bluetooth/bluetooth.h>
#include <zephyr/bluetooth/conn.h>
#include <zephyr/bluetooth/gatt.h>
#include <zephyr/bluetooth/hci.h>
#include <zephyr/bluetooth/uuid.h>
#include <zephyr/bluetooth/services/bas.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/settings/settings.h>

#if __has_include(<app_version.h>)
#include <app_version.h>
#endif

#include <ppgcomp/backlog.h>
#include <ppgcomp/tx_queue.h>
#include <ppg_encoder_model.h>

#include "stats.h"
#include "transport.h"

LOG_MODULE_REGISTER(app_ble, CONFIG_APP_LOG_LEVEL);

#define PPG_UUID(n) BT_UUID_128_ENCODE(0x7c3e0000 + (n), 0x5a1b, 0x4d2e, 0x9f3a, 0x6b8c1d2e3f40)

static const struct bt_uuid_128 ppg_svc_uuid = BT_UUID_INIT_128(PPG_UUID(1));
static const struct bt_uuid_128 ppg_codes_uuid = BT_UUID_INIT_128(PPG_UUID(2));
static const struct bt_uuid_128 ppg_info_uuid = BT_UUID_INIT_128(PPG_UUID(3));
static const struct bt_uuid_128 ppg_stats_uuid = BT_UUID_INIT_128(PPG_UUID(4));

#if defined(CONFIG_APP_BLE_REQUIRE_ENCRYPTION)
#define PERM_SECURE_READ BT_GATT_PERM_READ_ENCRYPT
#define PERM_SECURE_CCC  (BT_GATT_PERM_READ | BT_GATT_PERM_WRITE_ENCRYPT)
#else
#define PERM_SECURE_READ BT_GATT_PERM_READ
#define PERM_SECURE_CCC  (BT_GATT_PERM_READ | BT_GATT_PERM_WRITE)
#endif

#if defined(APP_VERSION_MAJOR)
#define FW_VERSION {APP_VERSION_MAJOR, APP_VERSION_MINOR, APP_PATCHLEVEL, APP_TWEAK}
#else
#define FW_VERSION {0, 0, 0, 0}
#endif

static struct bt_conn *current_conn;
static bool codes_notify_on;
static bool stats_notify_on;
static atomic_t stats_dirty;

/* The ring must hold at least 15 minutes of packets at the configured hop. */
BUILD_ASSERT((uint64_t)CONFIG_APP_BACKLOG_PACKETS * CONFIG_APP_ENCODE_HOP_SAMPLES >=
		     15ULL * 60ULL * PPG_MODEL_SAMPLE_RATE_HZ,
	     "CONFIG_APP_BACKLOG_PACKETS holds less than 15 min of packets at this hop");

PPG_BACKLOG_DEFINE(ble_backlog, CONFIG_APP_BACKLOG_PACKETS);
static struct ppg_txq txq;
static bool tx_busy; /* in a run of "no TX buffer" refusals */
/* Completions not yet confirmed to the queue, and the uptime (ms) of the latest. */
static uint32_t done_n;
static uint32_t done_ms;
/* Completions are trusted once the link outlived the latest by this long, or, at a terminate by
 * the peer, when the latest is this long before it (set per connection).
 */
static uint32_t grace_ms = 4100U;
static uint32_t terminate_grace_ms = CONFIG_APP_BLE_PEER_TERMINATE_RESEND_MS + 100U;
/* The link dropped at this uptime: requeue what is not known delivered (applied by tx_work). */
static bool link_lost;
static uint32_t link_lost_ms;
static bool link_terminated; /* by the peer's request, not lost */

BUILD_ASSERT(!IS_ENABLED(CONFIG_BT_CONN_TX_NOTIFY_WQ),
	     "completions must run on the system workqueue, with tx_work");

K_MSGQ_DEFINE(live_q, PPG_PKT_LEN, CONFIG_APP_BLE_LIVE_QUEUE_DEPTH, 1);

static void tx_work_handler(struct k_work *work);
static K_WORK_DEFINE(tx_work, tx_work_handler);
static void retry_work_handler(struct k_work *work);
static K_WORK_DELAYABLE_DEFINE(retry_work, retry_work_handler);
static void adv_work_handler(struct k_work *work);
static K_WORK_DEFINE(adv_work, adv_work_handler);

static ssize_t read_info(struct bt_conn *conn, const struct bt_gatt_attr *attr, void *buf,
			 uint16_t len, uint16_t offset)
{
	static const uint8_t sha[] = PPG_MODEL_SHA256_BYTES;
	struct ppg_model_info mi = {
		.code_len = PPG_MODEL_CODE_LEN,
		.sample_rate_hz = PPG_MODEL_SAMPLE_RATE_HZ,
		.window_len = PPG_MODEL_WINDOW_LEN,
		.hop = CONFIG_APP_ENCODE_HOP_SAMPLES,
		.input_scale = PPG_MODEL_INPUT_SCALE,
		.input_zero_point = PPG_MODEL_INPUT_ZERO_POINT,
		.output_zero_point = PPG_MODEL_OUTPUT_ZERO_POINT,
		.output_scale = PPG_MODEL_OUTPUT_SCALE,
		.fw_version = FW_VERSION,
	};
	uint8_t rec[PPG_MODEL_INFO_LEN];

	BUILD_ASSERT(sizeof(sha) == PPG_MODEL_HASH_LEN, "model hash length");
	memcpy(mi.sha256, sha, sizeof(sha));
	(void)ppg_model_info_encode(rec, &mi);
	return bt_gatt_attr_read(conn, attr, buf, len, offset, rec, sizeof(rec));
}

static ssize_t read_stats(struct bt_conn *conn, const struct bt_gatt_attr *attr, void *buf,
			  uint16_t len, uint16_t offset)
{
	struct ppg_stats st;
	uint8_t rec[PPG_STATS_LEN];

	app_stats_snapshot(&st);
	(void)ppg_stats_encode(rec, &st);
	return bt_gatt_attr_read(conn, attr, buf, len, offset, rec, sizeof(rec));
}

static void codes_ccc_changed(const struct bt_gatt_attr *attr, uint16_t value)
{
	codes_notify_on = (value == BT_GATT_CCC_NOTIFY);
	LOG_INF("codes notifications %s", codes_notify_on ? "on" : "off");
	if (codes_notify_on) {
		k_work_submit(&tx_work);
	}
}

static void stats_ccc_changed(const struct bt_gatt_attr *attr, uint16_t value)
{
	stats_notify_on = (value == BT_GATT_CCC_NOTIFY);
}

/* attrs: 0 service, 1/2 codes decl/value, 3 CCC, 4/5 info, 6/7 stats, 8 CCC */
BT_GATT_SERVICE_DEFINE(ppg_svc,
	BT_GATT_PRIMARY_SERVICE(&ppg_svc_uuid),
	BT_GATT_CHARACTERISTIC(&ppg_codes_uuid.uuid, BT_GATT_CHRC_NOTIFY, PERM_SECURE_READ, NULL,
			       NULL, NULL),
	BT_GATT_CCC(codes_ccc_changed, PERM_SECURE_CCC),
	BT_GATT_CHARACTERISTIC(&ppg_info_uuid.uuid, BT_GATT_CHRC_READ, BT_GATT_PERM_READ,
			       read_info, NULL, NULL),
	BT_GATT_CHARACTERISTIC(&ppg_stats_uuid.uuid, BT_GATT_CHRC_READ | BT_GATT_CHRC_NOTIFY,
			       PERM_SECURE_READ, read_stats, NULL, NULL),
	BT_GATT_CCC(stats_ccc_changed, PERM_SECURE_CCC),
);

#define CODES_ATTR (&ppg_svc.attrs[2])
#define STATS_ATTR (&ppg_svc.attrs[7])

static const struct bt_data ad[] = {
	BT_DATA_BYTES(BT_DATA_FLAGS, (BT_LE_AD_GENERAL | BT_LE_AD_NO_BREDR)),
	BT_DATA_BYTES(BT_DATA_UUID128_ALL, PPG_UUID(1)),
};

static const struct bt_data sd[] = {
	BT_DATA(BT_DATA_NAME_COMPLETE, CONFIG_BT_DEVICE_NAME, sizeof(CONFIG_BT_DEVICE_NAME) - 1),
};

static void notify_done(struct bt_conn *conn, void *user_data)
{
	ARG_UNUSED(conn);
	ARG_UNUSED(user_data);
	/* Sent (or flushed by a link loss); a TX buffer is free again. Zephyr runs the completions
	 * of a link before its disconnected callback, and none after it.
	 */
	done_n++;
	done_ms = k_uptime_get_32();
	k_work_submit(&tx_work);
}

/* tx_queue send function: runs on the system workqueue (non-blocking notify). */
static int ble_send(void *ctx, const uint8_t pkt[PPG_PKT_LEN])
{
	struct bt_gatt_notify_params params = {
		.attr = CODES_ATTR,
		.data = pkt,
		.len = PPG_PKT_LEN,
		.func = notify_done,
	};
	int rc;

	ARG_UNUSED(ctx);
	if (current_conn == NULL) {
		return -ENOTCONN;
	}
	if (!bt_gatt_is_subscribed(current_conn, CODES_ATTR, BT_GATT_CCC_NOTIFY)) {
		return -ENOTCONN;
	}
	rc = bt_gatt_notify_cb(current_conn, &params);
	if (rc == -ENOMEM || rc == -EAGAIN || rc == -ENOBUFS) {
		app_stats_inc(APP_STAT_TX_BUSY);
		if (!tx_busy) {
			tx_busy = true;
			LOG_WRN("no TX buffer (%d): keeping packets in the backlog", rc);
		}
	} else if (rc == 0 && tx_busy) {
		tx_busy = false;
		LOG_INF("TX buffer available again");
	} else if (rc != 0) {
		LOG_DBG("notify refused (%d)", rc);
	}
	return rc == 0 ? PPG_TXQ_IN_FLIGHT : rc;
}

static void notify_stats(void)
{
	struct ppg_stats st;
	uint8_t rec[PPG_STATS_LEN];

	if (current_conn == NULL || !stats_notify_on ||
	    !bt_gatt_is_subscribed(current_conn, STATS_ATTR, BT_GATT_CCC_NOTIFY)) {
		return;
	}
	/* A 28-byte notification needs an ATT MTU of at least 31 (exchanged by the central). */
	if (bt_gatt_get_mtu(current_conn) < PPG_STATS_LEN + 3U) {
		return;
	}
	app_stats_snapshot(&st);
	(void)ppg_stats_encode(rec, &st);
	(void)bt_gatt_notify(current_conn, STATS_ATTR, rec, sizeof(rec));
}

/* At a terminate by the peer: the peer's pipeline (CONFIG_APP_BLE_PEER_TERMINATE_RESEND_MS) plus
 * two connection intervals; otherwise the supervision timeout on top of that.
 */
static void update_grace(struct bt_conn *conn)
{
	struct bt_conn_info info;

	if (bt_conn_get_info(conn, &info) == 0) {
		terminate_grace_ms = 2U * BT_CONN_INTERVAL_TO_MS(info.le.interval) +
				     CONFIG_APP_BLE_PEER_TERMINATE_RESEND_MS;
		grace_ms = 10U * info.le.timeout + terminate_grace_ms;
	}
}

static void tx_work_handler(struct k_work *work)
{
	uint8_t pkt[PPG_PKT_LEN];

	ARG_UNUSED(work);

	/* Confirm the completions once the link outlived them by the grace period. */
	uint32_t age = (link_lost ? link_lost_ms : k_uptime_get_32()) - done_ms;

	if (current_conn != NULL) {
		update_grace(current_conn);
	}
	if (age >= ((link_lost && link_terminated) ? terminate_grace_ms : grace_ms)) {
		ppg_txq_confirm(&txq, done_n);
		done_n = 0U;
	}
	if (link_lost) {
		link_lost = false;
		done_n = 0U;
		(void)ppg_txq_requeue(&txq);
	}
	while (k_msgq_get(&live_q, pkt, K_NO_WAIT) == 0) {
		if (ppg_txq_submit(&txq, pkt) == PPG_TXQ_QUEUED_DROPPED) {
			LOG_WRN("backlog full: oldest packet dropped (%u so far)",
				ppg_txq_dropped(&txq));
		}
	}
	(void)ppg_txq_drain(&txq);

	if (atomic_cas(&stats_dirty, 1, 0)) {
		notify_stats();
	}
	if (ppg_txq_depth(&txq) > ppg_txq_in_flight(&txq) && current_conn != NULL) {
		k_work_reschedule(&retry_work, K_MSEC(CONFIG_APP_BLE_RETRY_MS));
	} else if (done_n > 0U) {
		/* Confirm the completions when the grace period is over. */
		int32_t wait = (int32_t)(done_ms + grace_ms - k_uptime_get_32());

		k_work_reschedule(&retry_work, K_MSEC(MAX(wait, 1)));
	}
}

static void retry_work_handler(struct k_work *work)
{
	ARG_UNUSED(work);
	k_work_submit(&tx_work);
}

static void adv_work_handler(struct k_work *work)
{
	int rc;

	ARG_UNUSED(work);
	rc = bt_le_adv_start(BT_LE_ADV_CONN_FAST_1, ad, ARRAY_SIZE(ad), sd, ARRAY_SIZE(sd));
	if (rc != 0 && rc != -EALREADY) {
		LOG_ERR("advertising failed to start (%d)", rc);
		return;
	}
	LOG_INF("advertising");
}

static void connected(struct bt_conn *conn, uint8_t err)
{
	if (err != 0U) {
		LOG_WRN("connection failed (0x%02x)", err);
		return;
	}
	if (current_conn == NULL) {
		current_conn = bt_conn_ref(conn);
	}
	LOG_INF("connected");
#if defined(CONFIG_APP_BLE_REQUIRE_ENCRYPTION)
	if (bt_conn_set_security(conn, BT_SECURITY_L2) != 0) {
		LOG_WRN("could not request encryption");
	}
#endif
	k_work_submit(&tx_work);
}

static void disconnected(struct bt_conn *conn, uint8_t reason)
{
	if (conn != current_conn) {
		return;
	}
	bt_conn_unref(current_conn);
	current_conn = NULL;
	tx_busy = false;
	/* Completions of this link have all run: what is not known delivered is resent. */
	link_lost = true;
	link_terminated = reason == BT_HCI_ERR_REMOTE_USER_TERM_CONN ||
			  reason == BT_HCI_ERR_REMOTE_LOW_RESOURCES ||
			  reason == BT_HCI_ERR_REMOTE_POWER_OFF;
	link_lost_ms = k_uptime_get_32();
	k_work_submit(&tx_work);
	app_stats_inc(APP_STAT_DISCONNECTS);
	LOG_WRN("disconnected (0x%02x): %u packets in the backlog", reason, ppg_txq_depth(&txq));
}

static void recycled(void)
{
	k_work_submit(&adv_work);
}

static void security_changed(struct bt_conn *conn, bt_security_t level, enum bt_security_err err)
{
	if (err != 0) {
		LOG_WRN("security failed: level %d, error %d", level, err);
		return;
	}
	LOG_INF("security level %d", level);
	k_work_submit(&tx_work);
}

BT_CONN_CB_DEFINE(conn_callbacks) = {
	.connected = connected,
	.disconnected = disconnected,
	.recycled = recycled,
	.security_changed = security_changed,
};

static void pairing_complete(struct bt_conn *conn, bool bonded)
{
	LOG_INF("paired%s", bonded ? " and bonded" : "");
}

static void pairing_failed(struct bt_conn *conn, enum bt_security_err reason)
{
	LOG_WRN("pairing failed (%d)", reason);
}

static struct bt_conn_auth_info_cb auth_info_cb = {
	.pairing_complete = pairing_complete,
	.pairing_failed = pairing_failed,
};

int app_transport_init(void)
{
	int rc;

	(void)PPG_BACKLOG_INIT(ble_backlog);
	(void)ppg_txq_init(&txq, &ble_backlog, ble_send, NULL);

	rc = bt_enable(NULL);
	if (rc != 0) {
		LOG_ERR("Bluetooth init failed (%d)", rc);
		return rc;
	}
	if (IS_ENABLED(CONFIG_BT_SETTINGS)) {
		(void)settings_load();
	}
	(void)bt_conn_auth_info_cb_register(&auth_info_cb);
#if defined(CONFIG_BT_BAS)
	(void)bt_bas_set_battery_level(CONFIG_APP_BLE_BATTERY_LEVEL);
#endif
	k_work_submit(&adv_work);
	return 0;
}

void app_transport_submit(const uint8_t pkt[PPG_PKT_LEN])
{
	if (k_msgq_put(&live_q, pkt, K_MSEC(1000)) != 0) {
		/* The system workqueue is stuck: keep going, the window is lost (counted). */
		app_stats_inc(APP_STAT_LOST_WINDOWS);
		LOG_ERR("BLE sender stalled: packet lost");
		return;
	}
	k_work_submit(&tx_work);
}

void app_transport_stats_changed(void)
{
	atomic_set(&stats_dirty, 1);
	k_work_submit(&tx_work);
}

void app_transport_flush(void)
{
	k_work_submit(&tx_work);
}

void app_transport_comment(const char *text)
{
	ARG_UNUSED(text);
}

void app_transport_close(void)
{
}

void app_transport_get_counters(struct app_transport_counters *c)
{
	c->sent = txq.sent;
	c->dropped = ppg_txq_dropped(&txq);
	c->backlog_depth = ppg_txq_depth(&txq);
}
