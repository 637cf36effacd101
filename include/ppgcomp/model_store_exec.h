/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * Where the model store runs a model: the encoder's interpreter is one static instance, used by the
 * app's processing thread. The app registers an executor that runs a job in that thread, between two
 * windows, and waits for it (app/src/processing.c). Without one (tests), jobs run in the caller.
 */

#ifndef PPGCOMP_MODEL_STORE_EXEC_H_
#define PPGCOMP_MODEL_STORE_EXEC_H_

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*ppg_model_store_job_fn)(void *arg);

/**
 * Run job(arg) in the encoder's thread and wait for it to return. 0 when it ran, -EAGAIN when the
 * wait timed out (the job still runs later: arg must stay valid).
 */
typedef int (*ppg_model_store_executor_fn)(ppg_model_store_job_fn job, void *arg);

void ppg_model_store_set_executor(ppg_model_store_executor_fn exec);

/**
 * Tests only (CONFIG_PPG_MODEL_STORE_TEST_POWER_CUT): the store's flash operation number n (0-based:
 * page erases and writes, counted from this call) is done in part (half the bytes of a write, nothing
 * of an erase) and none after it reaches the flash, as if the power were cut there. n < 0: off.
 * Returns the number of flash operations counted since the previous call.
 */
int ppg_model_store_test_power_cut(int n);

#ifdef __cplusplus
}
#endif

#endif /* PPGCOMP_MODEL_STORE_EXEC_H_ */
