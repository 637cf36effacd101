# SPDX-License-Identifier: Apache-2.0
#
# Board name aliases, in the format of Zephyr's ZEPHYR_BOARD_ALIASES file
# (see zephyr/cmake/modules/boards.cmake):
#   set(<alias>_BOARD_ALIAS <board>[@<revision>][/<qualifiers>])
#
# Zephyr 4.x (hardware model v2) renamed the nRF5340 DK board targets; these
# let the pre-HWMv2 names keep working with plain `west build -b <old name>`.

set(nrf5340dk_nrf5340_cpuapp_BOARD_ALIAS    nrf5340dk/nrf5340/cpuapp)
set(nrf5340dk_nrf5340_cpuapp_ns_BOARD_ALIAS nrf5340dk/nrf5340/cpuapp/ns)
set(nrf5340dk_nrf5340_cpunet_BOARD_ALIAS    nrf5340dk/nrf5340/cpunet)
