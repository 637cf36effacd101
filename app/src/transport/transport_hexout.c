/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * native_sim transport (docs/protocol.md, "native_sim output"): one line of 40 lower-case hex
 * digits per packet, to stdout or to the file given with --packets-out=FILE. Lines starting with
 * `#` are comments (a header, and the stats at the end of a replay). All calls come from the
 * processing thread.
 */

#include <stdio.h>

#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

#include "cmdline.h"
#include "soc.h"

#include <ppgcomp/backlog.h>
#include <ppgcomp/tx_queue.h>
#include <ppg_encoder_model.h>

#include "hexout_bottom.h"
#include "transport.h"

LOG_MODULE_REGISTER(app_hexout, CONFIG_APP_LOG_LEVEL);

static char *packets_out_path;
static bool out_ok;

PPG_BACKLOG_DEFINE(hex_backlog, CONFIG_APP_BACKLOG_PACKETS);
static struct ppg_txq txq;

static int hexout_send(void *ctx, const uint8_t pkt[PPG_PKT_LEN])
{
	char line[PPG_PKT_HEX_LEN + 1];

	ARG_UNUSED(ctx);
	if (!out_ok || ppg_packet_to_hex(pkt, line, sizeof(line)) < 0) {
		return -EIO;
	}
	return app_hexout_bottom_write_line(line) == 0 ? 0 : -EIO;
}

int app_transport_init(void)
{
	char hdr[128];

	(void)PPG_BACKLOG_INIT(hex_backlog);
	(void)ppg_txq_init(&txq, &hex_backlog, hexout_send, NULL);

	if (app_hexout_bottom_open(packets_out_path) != 0) {
		LOG_ERR("cannot open --packets-out=%s; packets kept in the backlog",
			packets_out_path);
		return -EIO;
	}
	out_ok = true;
	snprintf(hdr, sizeof(hdr), "# ppgcomp packets model_tag=0x%02x hop=%d model=%s",
		 (unsigned int)PPG_MODEL_TAG, CONFIG_APP_ENCODE_HOP_SAMPLES, PPG_MODEL_SHA256_HEX);
	(void)app_hexout_bottom_write_line(hdr);
	LOG_INF("packets to %s", packets_out_path != NULL ? packets_out_path : "stdout");
	return 0;
}

void app_transport_submit(const uint8_t pkt[PPG_PKT_LEN])
{
	if (ppg_txq_submit(&txq, pkt) == PPG_TXQ_QUEUED_DROPPED) {
		LOG_WRN("backlog full: oldest packet dropped (%u so far)", ppg_txq_dropped(&txq));
	}
}

void app_transport_stats_changed(void)
{
}

void app_transport_flush(void)
{
	(void)ppg_txq_drain(&txq);
	if (ppg_txq_depth(&txq) > 0U) {
		LOG_ERR("%u packets could not be written", ppg_txq_depth(&txq));
	}
}

void app_transport_comment(const char *text)
{
	char line[224];

	if (out_ok) {
		snprintf(line, sizeof(line), "# %s", text);
		(void)app_hexout_bottom_write_line(line);
	}
}

void app_transport_close(void)
{
	out_ok = false;
	app_hexout_bottom_close();
}

void app_transport_get_counters(struct app_transport_counters *c)
{
	c->sent = txq.sent;
	c->dropped = ppg_txq_dropped(&txq);
	c->backlog_depth = ppg_txq_depth(&txq);
}

static void hexout_cmdline_opts(void)
{
	static struct args_struct_t opts[] = {
		{.option = "packets-out",
		 .name = "FILE",
		 .type = 's',
		 .dest = (void *)&packets_out_path,
		 .descript = "Write the code packets (one 40-digit hex line each) to FILE "
			     "instead of stdout"},
		ARG_TABLE_ENDMARKER,
	};

	native_add_command_line_opts(opts);
}

static void hexout_cleanup(void)
{
	app_hexout_bottom_close();
}

NATIVE_TASK(hexout_cmdline_opts, PRE_BOOT_1, 11);
NATIVE_TASK(hexout_cleanup, ON_EXIT, 11);
