/*
 * Copyright (c) 2026 The ppgcomp authors
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/*
 * A minimal MCUmgr SMP client over GATT for the BabbleSim test central: SMP version 2 frames
 * (8-byte header, CBOR map) written with Write Without Response on the SMP characteristic in
 * ATT-MTU-sized pieces, the response reassembled from its notifications. Test code: only what the
 * test needs of groups 1 (image) and 64 ("ppg model", docs/smp_model_group.md).
 */

#ifndef PPG_BSIM_SMP_CLIENT_H_
#define PPG_BSIM_SMP_CLIENT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zephyr/bluetooth/conn.h>

#define SMP_OP_READ  0U
#define SMP_OP_WRITE 2U

#define SMP_GRP_IMG   1U
#define SMP_GRP_MODEL 64U

#define SMP_SHA_LEN 32U

/* What the test reads from a response (fields absent from it stay 0 / false / -1). */
struct smp_rsp {
	int err_group; /* {"err": {"group", "rc"}} (SMP version 2), -1 if none */
	int err_rc;
	int rc; /* {"rc": N} (version 1 style), -1 if none */
	bool has_off;
	uint32_t off;
	bool active;
	uint32_t tag;
	uint32_t seq;
	bool builtin;
	uint32_t up_off;
	uint32_t up_len;
	uint8_t sha256[SMP_SHA_LEN];
	uint8_t up_sha[SMP_SHA_LEN];
	/* group 1 image list: the slots and their hashes */
	int n_images;
	struct {
		uint32_t slot;
		bool has_hash;
		uint8_t hash[SMP_SHA_LEN];
	} images[2];
};

/** Finds the SMP characteristic (handle 0 if the peer has none). */
int smp_discover(struct bt_conn *conn, uint16_t *handle);

/** Subscribes to the SMP characteristic's notifications (needs an encrypted link). */
int smp_subscribe(struct bt_conn *conn, uint16_t handle);

/**
 * Sends one request (payload: a CBOR map) and waits for its response. Returns 0 (response in
 * rsp), -ETIMEDOUT, -ENOTCONN, or another negative errno.
 */
int smp_request(struct bt_conn *conn, uint16_t handle, uint8_t op, uint16_t group, uint8_t id,
		const uint8_t *payload, size_t len, struct smp_rsp *rsp);

/** The SMP frame of a request (header + payload) into out; returns its length. */
size_t smp_frame(uint8_t *out, size_t cap, uint8_t op, uint16_t group, uint8_t id,
		 const uint8_t *payload, size_t len);

/**
 * CBOR map of an upload chunk: {"off", "data"} plus {"len", "sha"} when off is 0 (sha NULL: left
 * out). Returns its length, 0 if it does not fit.
 */
size_t smp_cbor_upload(uint8_t *out, size_t cap, uint32_t off, const uint8_t *data, size_t n,
		       uint32_t total, const uint8_t *sha);

/** CBOR of an empty map. */
size_t smp_cbor_empty(uint8_t *out, size_t cap);

#endif /* PPG_BSIM_SMP_CLIENT_H_ */
