/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Processing thread: encoder, framing and hand-off to the transport, one window at a time. */

#ifndef APP_PIPELINE_H_
#define APP_PIPELINE_H_

int pipeline_start(void);

#endif /* APP_PIPELINE_H_ */
