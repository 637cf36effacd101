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
 * Its completion callback is not proof enough: when a link is lost the controller reports the
 * packets it flushes as completed, just before the Disconnection Complete. The link layer
 * retransmits a packet until it is acknowledged or the link is lost, so a completion is trusted
 * once the link outlived it by the supervision timeout (plus two effective connection intervals and
 * the margin below) AND the controller confirms, after that, that it still holds the link
 * (link_probe(), HCI Read RSSI): the host's own view of the link is not enough, its Disconnection
 * Complete may come late (tests/bsim/README.md). If the link is lost earlier, every packet in flight
 * is resent. After a terminate requested by the peer, a completion is trusted if it is older than
 * CONFIG_APP_BLE_PEER_TERMINATE_RESEND_MS plus two connection intervals at the disconnect: the
 * peer's link layer acknowledged what it received, but its host or application may still drop what
 * was in its pipeline when it decided to leave (Zephyr's ATT drops PDUs once the link is
 * disconnecting). (A packet acknowledged just before a link loss may then arrive twice; the receiver
 * drops duplicates by sequence number.) The stats' `sent` counts these confirmed deliveries.
 *
 * Radio policy (docs/performance.md, "Radio activity"): the peripheral asks for slow connection
 * parameters while live (APP_BLE_LIVE_*: 375 ms, latency 4, it wakes every 1.875 s) and for fast
 * ones while more than APP_BLE_DRAIN_ENTER_PACKETS wait (APP_BLE_DRAIN_*), then slow again; it
 * advertises at APP_BLE_ADV_FAST_INTERVAL_MS for APP_BLE_ADV_FAST_S after boot and every
 * disconnect, then at APP_BLE_ADV_SLOW_INTERVAL_MS. Every MCUmgr SMP request (a model or firmware
 * upload, smp_model_grp.c and image management) is a reason for the fast parameters too, until
 * APP_BLE_SMP_FAST_HOLD_MS after the last one.
 * Model info reports the model the encoder runs now (ppg_model_store_active()): its tag and hash
 * change when an uploaded model is activated.
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
#include <zephyr/sys/byteorder.h>
#if defined(CONFIG_APP_BLE_SMP_FAST_HOLD_MS)
#include <zephyr/mgmt/mcumgr/mgmt/callbacks.h>
#endif

#if __has_include(<app_version.h>)
#include <app_version.h>
#endif

#include <ppgcomp/backlog.h>
#if defined(CONFIG_PPGCOMP_MODEL_STORE)
#include <ppgcomp/model_store.h>
#endif
#include <ppgcomp/tx_queue.h>
#include <ppg_encoder_model.h>

#include "boot_confirm.h"
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
/* Notifications handed to the host and not completed yet. At most APP_BLE_NOTIFY_IN_STACK_MAX, so
 * that the ATT buffer pool keeps one buffer for the responses to the central's requests: the host
 * allocates those in its RX thread, waiting up to 30 s (twice) for a buffer, and every HCI event
 * behind, the Disconnection Complete of a lost link included, waits with it (tests/bsim/README.md).
 */
static uint32_t in_stack;
BUILD_ASSERT(CONFIG_APP_BLE_NOTIFY_IN_STACK_MAX < CONFIG_BT_ATT_TX_COUNT,
	     "notifications would take every ATT buffer");
/* Completions not yet confirmed to the queue, oldest first: the uptime of each, in 16 ms units
 * (wraps after 17 min; a completion is confirmed or dropped within seconds).
 */
#define DONE_NOW()	((uint16_t)(k_uptime_get_32() >> 4))
#define DONE_AGE_MS(now, t) ((uint32_t)(uint16_t)((now) - (t)) << 4)
static uint16_t done_t[CONFIG_APP_BACKLOG_PACKETS];
static uint32_t done_head;
static uint32_t done_n;
/* A completion is trusted once the link outlived it by this long (and link_probe() agrees), or, at
 * a terminate by the peer, when it is this long before the disconnect (set per connection).
 */
static uint32_t grace_ms = 4100U;
static uint32_t terminate_grace_ms = CONFIG_APP_BLE_PEER_TERMINATE_RESEND_MS + 100U;
/* The link dropped at this uptime: requeue what is not known delivered (applied by tx_work). */
static bool link_lost;
static uint32_t link_lost_ms;
static bool link_terminated; /* by the peer's request, not lost */
/* The controller no longer knows the link (link_probe()), its Disconnection Complete not yet here. */
static bool link_dead;

#if defined(CONFIG_APP_BLE_CONN_POLICY)
/* Connection parameter policy: what was last asked for on this connection. */
enum conn_mode {
	CONN_MODE_CENTRAL, /* the central's own parameters, nothing asked yet */
	CONN_MODE_SLOW,
	CONN_MODE_FAST,
};
static enum conn_mode conn_mode;
static bool conn_param_ready; /* APP_BLE_CONN_PARAM_DELAY_MS after the connection */

#define MS_TO_INTERVAL(ms) ((uint16_t)((ms) * 4U / 5U))  /* 1.25 ms units */
#define MS_TO_TIMEOUT(ms)  ((uint16_t)((ms) / 10U))      /* 10 ms units */
/* What phones accept (Apple's Accessory Design Guidelines, "Connection Parameters"). */
#define APPLE_OK(imin, imax, lat, to)                                                              \
	((imin) >= 15 && (imax) >= (imin) + 15 && (imax) * ((lat) + 1) <= 2000 && (lat) <= 30 &&  \
	 (to) >= 2000 && (to) <= 6000 && (to) > 3 * (imax) * ((lat) + 1))
BUILD_ASSERT(APPLE_OK(CONFIG_APP_BLE_LIVE_INTERVAL_MIN_MS, CONFIG_APP_BLE_LIVE_INTERVAL_MAX_MS,
		      CONFIG_APP_BLE_LIVE_LATENCY, CONFIG_APP_BLE_LIVE_TIMEOUT_MS),
	     "live connection parameters outside what phones accept");
BUILD_ASSERT(APPLE_OK(CONFIG_APP_BLE_DRAIN_INTERVAL_MIN_MS, CONFIG_APP_BLE_DRAIN_INTERVAL_MAX_MS,
		      CONFIG_APP_BLE_DRAIN_LATENCY, CONFIG_APP_BLE_DRAIN_TIMEOUT_MS),
	     "drain connection parameters outside what phones accept");

static const struct bt_le_conn_param slow_param = BT_LE_CONN_PARAM_INIT(
	MS_TO_INTERVAL(CONFIG_APP_BLE_LIVE_INTERVAL_MIN_MS),
	MS_TO_INTERVAL(CONFIG_APP_BLE_LIVE_INTERVAL_MAX_MS), CONFIG_APP_BLE_LIVE_LATENCY,
	MS_TO_TIMEOUT(CONFIG_APP_BLE_LIVE_TIMEOUT_MS));
static const struct bt_le_conn_param fast_param = BT_LE_CONN_PARAM_INIT(
	MS_TO_INTERVAL(CONFIG_APP_BLE_DRAIN_INTERVAL_MIN_MS),
	MS_TO_INTERVAL(CONFIG_APP_BLE_DRAIN_INTERVAL_MAX_MS), CONFIG_APP_BLE_DRAIN_LATENCY,
	MS_TO_TIMEOUT(CONFIG_APP_BLE_DRAIN_TIMEOUT_MS));

static void conn_param_work_handler(struct k_work *work);
static K_WORK_DELAYABLE_DEFINE(conn_param_work, conn_param_work_handler);

#if defined(CONFIG_APP_BLE_SMP_FAST_HOLD_MS)
/* An SMP request arrived at this uptime (smp_activity(), on MCUmgr's work queue). */
static atomic_t smp_last_ms;
static atomic_t smp_seen;
static void smp_idle_work_handler(struct k_work *work);
static K_WORK_DELAYABLE_DEFINE(smp_idle_work, smp_idle_work_handler);
#endif
#endif /* CONFIG_APP_BLE_CONN_POLICY */

BUILD_ASSERT(!IS_ENABLED(CONFIG_BT_CONN_TX_NOTIFY_WQ),
	     "completions must run on the system workqueue, with tx_work");
/* link_probe() waits on the system workqueue for an HCI command's completion. */
BUILD_ASSERT(!IS_ENABLED(CONFIG_BT_RECV_WORKQ_SYS),
	     "HCI events must not be processed on the system workqueue (link_probe waits there)");

K_MSGQ_DEFINE(live_q, PPG_PKT_LEN, CONFIG_APP_BLE_LIVE_QUEUE_DEPTH, 1);

static void tx_work_handler(struct k_work *work);
static K_WORK_DEFINE(tx_work, tx_work_handler);
static void retry_work_handler(struct k_work *work);
static K_WORK_DELAYABLE_DEFINE(retry_work, retry_work_handler);
static void adv_work_handler(struct k_work *work);
static K_WORK_DEFINE(adv_work, adv_work_handler);
static void adv_slow_work_handler(struct k_work *work);
static K_WORK_DELAYABLE_DEFINE(adv_slow_work, adv_slow_work_handler);
/* Advertising slowly: stopping the fast advertising to restart it slowly recycles its connection
 * object, and that recycled callback must not restart the fast advertising.
 */
static bool adv_slow;

static ssize_t read_info(struct bt_conn *conn, const struct bt_gatt_attr *attr, void *buf,
			 uint16_t len, uint16_t offset)
{
	static const uint8_t builtin_sha[] = PPG_MODEL_SHA256_BYTES;
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
	const uint8_t *sha = builtin_sha;
#if defined(CONFIG_PPGCOMP_MODEL_STORE)
	/* The model the encoder runs now: its identity and quantization (a blob has its own). */
	const struct ppg_model_active *active = ppg_model_store_active();

	if (active != NULL) { /* NULL only before the store's init */
		sha = active->sha256;
		mi.input_scale = active->input_scale;
		mi.input_zero_point = active->input_zero_point;
		mi.output_scale = active->output_scale;
		mi.output_zero_point = active->output_zero_point;
	}
#endif
	uint8_t rec[PPG_MODEL_INFO_LEN];

	BUILD_ASSERT(sizeof(mi.sha256) == PPG_MODEL_HASH_LEN, "model hash length");
	memcpy(mi.sha256, sha, sizeof(mi.sha256));
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
	if (in_stack > 0U) {
		in_stack--;
	}
	if (done_n < ARRAY_SIZE(done_t)) {
		done_t[(done_head + done_n) % ARRAY_SIZE(done_t)] = DONE_NOW();
		done_n++;
	}
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
	if (current_conn == NULL || link_dead) {
		return -ENOTCONN;
	}
	if (!bt_gatt_is_subscribed(current_conn, CODES_ATTR, BT_GATT_CCC_NOTIFY)) {
		return -ENOTCONN;
	}
	if (in_stack >= CONFIG_APP_BLE_NOTIFY_IN_STACK_MAX) {
		return -EAGAIN; /* the next completion drains again */
	}
	rc = bt_gatt_notify_cb(current_conn, &params);
	if (rc == 0) {
		in_stack++;
	}
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
		uint32_t interval_ms = BT_CONN_INTERVAL_TO_MS(info.le.interval);

		terminate_grace_ms = 2U * interval_ms + CONFIG_APP_BLE_PEER_TERMINATE_RESEND_MS;
		/* With peripheral latency the link layer may sleep that many events between two. */
		grace_ms = 10U * info.le.timeout + 2U * interval_ms * (info.le.latency + 1U) +
			   CONFIG_APP_BLE_PEER_TERMINATE_RESEND_MS;
	}
}

/*
 * Asks the controller whether it still holds the link (HCI Read RSSI on its handle). A completion
 * is trusted only when the controller confirms the link after the grace period: a link loss makes
 * the controller report the packets it flushes as completed, then the Disconnection Complete, which
 * can reach this host much later than the loss (tests/bsim/README.md, "A link loss in the drain");
 * the controller itself forgets the handle at the loss. Returns 0 (up), -ENOTCONN (the controller
 * answered that it does not know the handle), or another negative errno (no answer, try again).
 */
static int link_probe(struct bt_conn *conn)
{
	struct bt_hci_cp_read_rssi *cp;
	struct net_buf *buf;
	uint16_t handle;
	int rc;

	if (bt_hci_get_conn_handle(conn, &handle) != 0) {
		return -ENOTCONN;
	}
	buf = bt_hci_cmd_alloc(K_NO_WAIT);
	if (buf == NULL) {
		return -ENOBUFS;
	}
	cp = net_buf_add(buf, sizeof(*cp));
	cp->handle = sys_cpu_to_le16(handle);
	rc = bt_hci_cmd_send_sync(BT_HCI_OP_READ_RSSI, buf, NULL);
	if (rc == -ENOBUFS || rc == -ENOMEM) {
		return rc;
	}
	return rc == 0 ? 0 : -ENOTCONN;
}

#if defined(CONFIG_APP_BLE_CONN_POLICY)
#if defined(CONFIG_APP_BLE_SMP_FAST_HOLD_MS)
/* An SMP request less than APP_BLE_SMP_FAST_HOLD_MS ago: an upload is going on. */
static bool smp_active(void)
{
	uint32_t age = k_uptime_get_32() - (uint32_t)atomic_get(&smp_last_ms);

	return atomic_get(&smp_seen) != 0 && age < CONFIG_APP_BLE_SMP_FAST_HOLD_MS;
}

static void smp_idle_work_handler(struct k_work *work)
{
	ARG_UNUSED(work);
	k_work_submit(&tx_work); /* the policy goes back to the live parameters */
}

/* MCUmgr: every SMP request received (MCUmgr's work queue). */
static enum mgmt_cb_return smp_activity(uint32_t event, enum mgmt_cb_return prev_status,
					int32_t *rc, uint16_t *group, bool *abort_more, void *data,
					size_t data_size)
{
	ARG_UNUSED(event);
	ARG_UNUSED(rc);
	ARG_UNUSED(group);
	ARG_UNUSED(abort_more);
	ARG_UNUSED(data);
	ARG_UNUSED(data_size);
	atomic_set(&smp_last_ms, (atomic_val_t)k_uptime_get_32());
	atomic_set(&smp_seen, 1);
	k_work_submit(&tx_work);
	k_work_reschedule(&smp_idle_work, K_MSEC(CONFIG_APP_BLE_SMP_FAST_HOLD_MS + 10));
	return prev_status;
}

static struct mgmt_callback smp_activity_cb = {
	.callback = smp_activity,
	.event_id = MGMT_EVT_OP_CMD_RECV,
};
#else
static bool smp_active(void)
{
	return false;
}
#endif /* CONFIG_APP_BLE_SMP_FAST_HOLD_MS */

/* Slow while live, fast while more than APP_BLE_DRAIN_ENTER_PACKETS wait to be sent (only if the
 * central's interval is slower than the fast one), slow again once all are sent. A request the
 * central refuses or overrides is not repeated until the mode changes: packets flow at whatever
 * parameters the central sets.
 */
static void conn_policy(void)
{
	uint32_t pending = ppg_txq_depth(&txq) - ppg_txq_in_flight(&txq);
	bool subscribed = bt_gatt_is_subscribed(current_conn, CODES_ATTR, BT_GATT_CCC_NOTIFY);
	enum conn_mode want = conn_mode;
	struct bt_conn_info info;
	int rc;

	if (!conn_param_ready || link_dead) {
		return;
	}
	if ((subscribed && pending > CONFIG_APP_BLE_DRAIN_ENTER_PACKETS) || smp_active()) {
		want = CONN_MODE_FAST;
	} else if (!subscribed || pending == 0U || conn_mode == CONN_MODE_CENTRAL) {
		want = CONN_MODE_SLOW;
	}
	if (want == conn_mode) {
		return;
	}
	conn_mode = want;
	if (want == CONN_MODE_FAST && bt_conn_get_info(current_conn, &info) == 0 &&
	    info.le.interval <= fast_param.interval_max) {
		return; /* the central's own interval is fast enough */
	}
	rc = bt_conn_le_param_update(current_conn, want == CONN_MODE_FAST ? &fast_param : &slow_param);
	LOG_INF("asked for %s parameters (%d), %u to send%s",
		want == CONN_MODE_FAST ? "fast" : "slow", rc, pending,
		smp_active() ? ", SMP upload" : "");
}

static void conn_param_work_handler(struct k_work *work)
{
	ARG_UNUSED(work);
	conn_param_ready = true;
	k_work_submit(&tx_work);
}

#endif /* CONFIG_APP_BLE_CONN_POLICY */

/* Completions at least @p grace ms older than @p now (oldest first). */
static uint32_t done_older(uint16_t now, uint32_t grace)
{
	uint32_t k = 0U;

	while (k < done_n && DONE_AGE_MS(now, done_t[(done_head + k) % ARRAY_SIZE(done_t)]) >= grace) {
		k++;
	}
	return k;
}

static void done_confirm(uint32_t k)
{
	ppg_txq_confirm(&txq, k);
	done_head = (done_head + k) % ARRAY_SIZE(done_t);
	done_n -= k;
}

static void tx_work_handler(struct k_work *work)
{
	static bool probe_failed;
	uint8_t pkt[PPG_PKT_LEN];
	uint16_t now = DONE_NOW();

	ARG_UNUSED(work);

	if (current_conn != NULL) {
		update_grace(current_conn);
	}
	if (link_lost) {
		/* Terminated by the peer: what completed terminate_grace_ms before is delivered. Lost:
		 * only what a probe confirmed (below, already confirmed). The rest is resent.
		 */
		if (link_terminated) {
			done_confirm(done_older((uint16_t)(link_lost_ms >> 4), terminate_grace_ms));
		}
		link_lost = false;
		done_n = 0U;
		(void)ppg_txq_requeue(&txq);
	} else if (done_n > 0U && !link_dead && current_conn != NULL) {
		/* Completions the link outlived by the grace period, as the controller confirms. */
		uint32_t k = done_older(now, grace_ms);
		int rc = k > 0U ? link_probe(current_conn) : -EAGAIN;

		probe_failed = rc != 0 && rc != -EAGAIN;
		if (rc == 0) {
			done_confirm(k);
		} else if (rc == -ENOTCONN) {
			/* Lost: the host has not heard yet. Nothing in flight is trusted. */
			link_dead = true;
			done_n = 0U;
			LOG_WRN("link lost in the controller, not yet reported: %u packets to resend",
				ppg_txq_requeue(&txq));
		}
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
#if defined(CONFIG_APP_BLE_CONN_POLICY)
	if (current_conn != NULL) {
		conn_policy();
	}
#endif
	if (ppg_txq_depth(&txq) > ppg_txq_in_flight(&txq) && current_conn != NULL && !link_dead) {
		k_work_reschedule(&retry_work, K_MSEC(CONFIG_APP_BLE_RETRY_MS));
	} else if (done_n > 0U && !link_dead) {
		/* Confirm the oldest completion when its grace period is over. */
		int32_t wait = (int32_t)grace_ms - (int32_t)DONE_AGE_MS(DONE_NOW(), done_t[done_head]);

		/* After a probe without an answer (no command buffer), not before the retry period. */
		k_work_reschedule(&retry_work,
				  K_MSEC(MAX(wait, probe_failed ? CONFIG_APP_BLE_RETRY_MS : 1)));
	}
}

static void retry_work_handler(struct k_work *work)
{
	ARG_UNUSED(work);
	k_work_submit(&tx_work);
}

#define ADV_UNITS(ms) ((uint32_t)(ms) * 8U / 5U) /* 0.625 ms units */

static int adv_start(uint32_t interval_ms)
{
	const struct bt_le_adv_param param = BT_LE_ADV_PARAM_INIT(
		BT_LE_ADV_OPT_CONN, ADV_UNITS(interval_ms), ADV_UNITS(interval_ms), NULL);

	return bt_le_adv_start(&param, ad, ARRAY_SIZE(ad), sd, ARRAY_SIZE(sd));
}

/* After boot and after every disconnect: fast for APP_BLE_ADV_FAST_S, then slow. */
static void adv_work_handler(struct k_work *work)
{
	int rc;

	ARG_UNUSED(work);
	if (adv_slow || current_conn != NULL) {
		return;
	}
	rc = adv_start(CONFIG_APP_BLE_ADV_FAST_INTERVAL_MS);
	if (rc != 0 && rc != -EALREADY) {
		LOG_ERR("advertising failed to start (%d)", rc);
		return;
	}
	LOG_INF("advertising");
	app_boot_confirm_ble_up(); /* MCUboot: one condition of confirming a test image */
	k_work_reschedule(&adv_slow_work, K_SECONDS(CONFIG_APP_BLE_ADV_FAST_S));
}

static void adv_slow_work_handler(struct k_work *work)
{
	int rc;

	ARG_UNUSED(work);
	if (current_conn != NULL) {
		return;
	}
	adv_slow = true;
	(void)bt_le_adv_stop();
	rc = adv_start(CONFIG_APP_BLE_ADV_SLOW_INTERVAL_MS);
	if (rc != 0 && rc != -EALREADY) {
		/* e.g. a central connected meanwhile: its disconnect restarts advertising */
		adv_slow = false;
		LOG_DBG("slow advertising failed to start (%d)", rc);
		return;
	}
	LOG_DBG("advertising slowly");
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
	link_dead = false;
	adv_slow = false; /* the connection stopped the advertising */
	(void)k_work_cancel_delayable(&adv_slow_work);
#if defined(CONFIG_APP_BLE_CONN_POLICY)
	conn_mode = CONN_MODE_CENTRAL;
	conn_param_ready = false;
	k_work_reschedule(&conn_param_work, K_MSEC(CONFIG_APP_BLE_CONN_PARAM_DELAY_MS));
#endif
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
	link_dead = false;
	in_stack = 0U;
#if defined(CONFIG_APP_BLE_CONN_POLICY)
	(void)k_work_cancel_delayable(&conn_param_work);
#endif
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
#if defined(CONFIG_APP_BLE_SMP_FAST_HOLD_MS)
	mgmt_callback_register(&smp_activity_cb);
#endif
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
