# SPDX-License-Identifier: Apache-2.0
#
# Included by zephyr/cmake/modules/zephyr_module.cmake for every
# MODULE_EXT_ROOT (zephyr/module.yml sets module_ext_root: boards), which runs
# before zephyr/cmake/modules/boards.cmake, both at the sysbuild top level and
# in each image. boards.cmake reads ZEPHYR_BOARD_ALIASES with zephyr_get(), so
# a value from -DZEPHYR_BOARD_ALIASES=... or the environment still wins over
# this default.
cmake_path(GET CMAKE_CURRENT_LIST_DIR PARENT_PATH _ppgcomp_boards_dir)
set(ZEPHYR_BOARD_ALIASES ${_ppgcomp_boards_dir}/aliases.cmake)
