/*
 * Copyright (c) 2025 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/* Sensor sampling at the sensor rate and decimation to the model rate. */

#ifndef APP_SAMPLING_H_
#define APP_SAMPLING_H_

/** Start the sampling thread (reads the devicetree-chosen `ppg,sensor`). */
int app_sampling_start(void);

#endif /* APP_SAMPLING_H_ */
