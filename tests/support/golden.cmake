# SPDX-License-Identifier: Apache-2.0
#
# include()d by the test apps that check against the exporter's golden vectors, after project():
# tests/golden/ppg_golden_vectors.h (generated) and tests/support/include/ppg_golden_model_vectors.h,
# which includes it and fails the build when the vectors belong to another model.

target_include_directories(app PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/../golden
  ${CMAKE_CURRENT_LIST_DIR}/include
)
