/*
 * TFLM's platform logging hooks (tensorflow/lite/micro/debug_log.h), routed to
 * Zephyr logging instead of the upstream vfprintf(stderr) so that TFLM's
 * messages (e.g. the exact arena shortfall) appear in the log of tflm_encoder.
 *
 * MicroPrintf() calls DebugLog() for the message and again for "\r\n"; pieces
 * are collected into one line and logged at the end of the line. Callers are
 * serialised by tflm_encoder's mutex.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <zephyr/logging/log.h>
#include <zephyr/sys/printk.h>
#include <zephyr/sys/util.h>

#include "tensorflow/lite/micro/debug_log.h"

LOG_MODULE_DECLARE(tflm_encoder, CONFIG_TFLM_ENCODER_LOG_LEVEL);

#ifndef TF_LITE_STRIP_ERROR_STRINGS

namespace {
char line[128];
size_t line_len;

void flush_line(void)
{
	while (line_len > 0 && (line[line_len - 1] == '\n' || line[line_len - 1] == '\r')) {
		line_len--;
	}
	line[line_len] = '\0';
	if (line_len > 0) {
		LOG_WRN("tflm: %s", line);
	}
	line_len = 0;
}
} /* namespace */

extern "C" void DebugLog(const char *format, va_list args)
{
	int n = vsnprintk(&line[line_len], sizeof(line) - line_len, format, args);

	if (n > 0) {
		line_len += MIN((size_t)n, sizeof(line) - 1 - line_len);
	}
	if (line_len == sizeof(line) - 1 ||
	    (line_len > 0 && line[line_len - 1] == '\n')) {
		flush_line();
	}
}

extern "C" int DebugVsnprintf(char *buffer, size_t buf_size, const char *format, va_list vlist)
{
	return vsnprintk(buffer, buf_size, format, vlist);
}

#else

extern "C" void DebugLog(const char *format, va_list args)
{
	ARG_UNUSED(format);
	ARG_UNUSED(args);
}

#endif /* TF_LITE_STRIP_ERROR_STRINGS */
