/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Processing thread: encoder, packet framing and hand-off to the transport, window by window. */

#ifndef APP_PROCESSING_H_
#define APP_PROCESSING_H_

int app_processing_start(void);

#endif /* APP_PROCESSING_H_ */
