# SPDX-License-Identifier: Apache-2.0
#
# Adds the network core's HCI IPC image (Bluetooth LE controller) on nRF5340 boards, as Zephyr's
# samples/bluetooth/peripheral_hr/sysbuild.cmake does. Its extra configuration is
# sysbuild/hci_ipc.conf (picked up by sysbuild's <image>.conf convention).

if(SB_CONFIG_NET_CORE_IMAGE_HCI_IPC)
  set(NET_APP hci_ipc)
  set(NET_APP_SRC_DIR ${ZEPHYR_BASE}/samples/bluetooth/${NET_APP})

  ExternalZephyrProject_Add(
    APPLICATION ${NET_APP}
    SOURCE_DIR  ${NET_APP_SRC_DIR}
    BOARD       ${SB_CONFIG_NET_CORE_BOARD}
  )

  native_simulator_set_child_images(${DEFAULT_IMAGE} ${NET_APP})
endif()

native_simulator_set_final_executable(${DEFAULT_IMAGE})
