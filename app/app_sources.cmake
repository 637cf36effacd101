# SPDX-License-Identifier: Apache-2.0
#
# The app's sources, shared by app/CMakeLists.txt and app-level test builds (tests/app_replay),
# included after find_package(Zephyr) and project().

set(PPG_APP_DIR ${CMAKE_CURRENT_LIST_DIR})

target_include_directories(app PRIVATE ${PPG_APP_DIR}/src)

target_sources(app PRIVATE
  ${PPG_APP_DIR}/src/main.c
  ${PPG_APP_DIR}/src/stats.c
  ${PPG_APP_DIR}/src/sample_cond.c
  ${PPG_APP_DIR}/src/sampling.c
  ${PPG_APP_DIR}/src/windowing.c
  ${PPG_APP_DIR}/src/preprocessing.c
  ${PPG_APP_DIR}/src/encoder.c
  ${PPG_APP_DIR}/src/framing.c
  ${PPG_APP_DIR}/src/pipeline.c
  ${PPG_APP_DIR}/src/transport/tx_queue.c
  # Portable, host-tested parts
  ${PPG_APP_DIR}/src/dsp/decimate.c
  ${PPG_APP_DIR}/src/dsp/preprocess.c
  ${PPG_APP_DIR}/src/window/window.c
  ${PPG_APP_DIR}/src/packet/packet.c
  ${PPG_APP_DIR}/src/backlog/backlog.c
  # Generated model
  ${PPG_APP_DIR}/src/model/ppg_encoder_model.c
)

if(CONFIG_APP_TRANSPORT_BLE)
  target_sources(app PRIVATE ${PPG_APP_DIR}/src/transport/transport_ble.c)
elseif(CONFIG_APP_TRANSPORT_HEXOUT)
  target_sources(app PRIVATE ${PPG_APP_DIR}/src/transport/transport_hexout.c)
  # Host side (host libc), linked into the native simulator runner.
  target_sources(native_simulator INTERFACE ${PPG_APP_DIR}/src/transport/hexout_bottom.c)
endif()
