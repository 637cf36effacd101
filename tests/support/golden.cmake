# SPDX-License-Identifier: Apache-2.0
#
# include()d by the test apps that check against the exporter's golden vectors, after project():
# ${PPG_GOLDEN_DIR}/ppg_golden_vectors.h (generated) and tests/support/include/ppg_golden_model_vectors.h,
# which includes it and fails the build when the vectors belong to another model.
#
# PPG_GOLDEN_DIR: the folder of ppg_golden_vectors.h, tests/golden by default. A build against another
# export (-DPPG_MODEL_DIR=<dir>) passes that export's golden folder with -DPPG_GOLDEN_DIR=<dir>
# (e.g. the encoder cost benchmark's dense model).

if(NOT DEFINED PPG_GOLDEN_DIR)
  set(PPG_GOLDEN_DIR ${CMAKE_CURRENT_LIST_DIR}/../golden CACHE PATH
    "Directory of the exporter's golden vectors (ppg_golden_vectors.h)")
endif()
if(NOT EXISTS ${PPG_GOLDEN_DIR}/ppg_golden_vectors.h)
  message(FATAL_ERROR "${PPG_GOLDEN_DIR}/ppg_golden_vectors.h not found (PPG_GOLDEN_DIR)")
endif()

target_include_directories(app PRIVATE
  ${PPG_GOLDEN_DIR}
  ${CMAKE_CURRENT_LIST_DIR}/include
)
