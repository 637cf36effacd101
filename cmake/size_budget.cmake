# SPDX-License-Identifier: Apache-2.0
#
# Size budget check of the linked image: runs scripts/elf_size.py on zephyr.elf and fails the build when
# the image is over its flash/RAM budget (exit status 1) or the input is bad (exit status 2).
#
# Usage, in an image's CMakeLists.txt, after find_package(Zephyr):
#
#   include(${CMAKE_CURRENT_LIST_DIR}/../cmake/size_budget.cmake)
#   ppg_size_budget(${CMAKE_CURRENT_LIST_DIR}/budgets.yaml nrf5340dk_nrf5340_cpuapp)
#
# BUDGET_FILE is the YAML budget file (app/budgets.yaml); BOARD_KEY selects its image entry:
#   <board>            the application image, e.g. nrf5340dk_nrf5340_cpuapp
#   <board>/<image>    another sysbuild image, e.g. nrf5340dk_nrf5340_cpuapp/hci_ipc for the net core
# It may also be called from a Zephyr module's CMakeLists.txt (which runs inside find_package(Zephyr), for
# every sysbuild image that has the module): that is how the net core's hci_ipc image, built from Zephyr's
# samples/bluetooth/hci_ipc, gets its check, e.g. in this repo's module CMake code:
#   if(CONFIG_BT_HCI_IPC)   # or another test that singles out the net-core image
#     ppg_size_budget(${ZEPHYR_CURRENT_MODULE_DIR}/app/budgets.yaml nrf5340dk_nrf5340_cpuapp/hci_ipc)
#   endif()
# Called before the final ELF target is known, the function defers its work to the end of the image's
# top-level CMakeLists.txt (cmake_language(DEFER)).
#
# What it adds:
#   * target `size_budget` (always): `west build -t size_budget` (per image with sysbuild:
#     `west build -d build/<image> -t size_budget`) runs the check and prints the report.
#   * when CONFIG_APP_SIZE_BUDGET is set (cmake/Kconfig.size_budget, default y), a step of the default
#     build that runs after the final link: every `west build` checks the image and fails when it is over
#     budget. It reruns only when zephyr.elf or the budget file changes, and only a passing check marks it
#     done. If the image's Kconfig does not define APP_SIZE_BUDGET (e.g. a sysbuild image from another
#     tree) the check is on; set PPG_SIZE_BUDGET_DISABLE=ON (-D...) to turn it off there.
#   * reports in the image's build dir: zephyr/size_report.json (feed it to --baseline later) and
#     zephyr/size_report.md.
#
# Why not the `extra_post_build_commands` property: Zephyr reads it while find_package(Zephyr) runs, so an
# app cannot append to it afterwards; and add_custom_command(TARGET zephyr_final POST_BUILD) is refused for a
# target made in another directory (CMP0040). A stamp-file step that depends on the final ELF target gives
# the same effect.

set(PPG_SIZE_BUDGET_REPO_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. CACHE INTERNAL "repository holding scripts/elf_size.py")

function(ppg_size_budget BUDGET_FILE BOARD_KEY)
  if(NOT DEFINED ZEPHYR_BINARY_DIR OR NOT DEFINED KERNEL_ELF_NAME)
    message(FATAL_ERROR "ppg_size_budget() must be called after find_package(Zephyr)")
  endif()
  if(NOT IS_ABSOLUTE "${BUDGET_FILE}")
    get_filename_component(BUDGET_FILE "${BUDGET_FILE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  endif()
  if(NOT EXISTS "${BUDGET_FILE}")
    message(FATAL_ERROR "ppg_size_budget(): no budget file ${BUDGET_FILE}")
  endif()
  if(DEFINED logical_target_for_zephyr_elf)
    _ppg_size_budget_add("${BUDGET_FILE}" "${BOARD_KEY}")
  else()
    # Called from module code inside find_package(Zephyr): the final ELF target is not known yet.
    # DEFER CALL evaluates ${...} when the call runs (in another scope), so bake the values in now.
    cmake_language(EVAL CODE
      "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _ppg_size_budget_add [[${BUDGET_FILE}]] [[${BOARD_KEY}]])")
  endif()
endfunction()

function(_ppg_size_budget_add BUDGET_FILE BOARD_KEY)
  if(TARGET size_budget)
    message(FATAL_ERROR "ppg_size_budget() called twice for this image")
  endif()
  get_filename_component(repo_root "${PPG_SIZE_BUDGET_REPO_ROOT}" ABSOLUTE)
  set(script  ${repo_root}/scripts/elf_size.py)
  set(elf     ${ZEPHYR_BINARY_DIR}/${KERNEL_ELF_NAME})
  set(json    ${ZEPHYR_BINARY_DIR}/size_report.json)
  set(md      ${ZEPHYR_BINARY_DIR}/size_report.md)
  set(stamp   ${ZEPHYR_BINARY_DIR}/size_budget.stamp)
  if(DEFINED logical_target_for_zephyr_elf)
    set(elf_target ${logical_target_for_zephyr_elf})
  else()
    set(elf_target zephyr_final)
  endif()

  # The build's Python (Zephyr's environment) need not have the ppgcomp package installed: take it from
  # this repository's src/.
  set(check_cmd
    ${CMAKE_COMMAND} -E env PYTHONPATH=${repo_root}/src
    ${PYTHON_EXECUTABLE} ${script} ${elf}
      --budget ${BUDGET_FILE} --board ${BOARD_KEY}
      --json ${json} --markdown ${md}
  )

  # On demand: west build -t size_budget
  add_custom_target(size_budget
    COMMAND ${check_cmd}
    DEPENDS ${elf_target}
    COMMENT "Size budget of ${KERNEL_ELF_NAME} (${BOARD_KEY})"
    USES_TERMINAL
    VERBATIM
  )

  # A bool set to n leaves CONFIG_APP_SIZE_BUDGET undefined in CMake, so ask .config whether the image's
  # Kconfig knows the symbol at all ("# CONFIG_APP_SIZE_BUDGET is not set" when it is off).
  set(symbol_known OFF)
  if(DEFINED DOTCONFIG AND EXISTS "${DOTCONFIG}")
    file(STRINGS "${DOTCONFIG}" lines REGEX "^(# )?CONFIG_APP_SIZE_BUDGET[ =]")
    if(lines)
      set(symbol_known ON)
    endif()
  endif()
  set(enabled OFF)
  if(CONFIG_APP_SIZE_BUDGET)
    set(enabled ON)
  elseif(NOT symbol_known AND NOT DEFINED CONFIG_APP_SIZE_BUDGET AND NOT PPG_SIZE_BUDGET_DISABLE)
    # The image's Kconfig does not know the symbol (another tree's image): on by default.
    set(enabled ON)
  endif()
  if(NOT enabled)
    message(STATUS "Size budget check after linking: off (CONFIG_APP_SIZE_BUDGET)")
    return()
  endif()

  # Every build: after the final link, check the ELF. A failing check fails the build and leaves no stamp,
  # so the next build checks again. DEPENDS on the ELF target gives both the order and the file dependency.
  add_custom_command(
    OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -E remove -f ${stamp}
    COMMAND ${check_cmd} --quiet
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${elf_target} ${BUDGET_FILE} ${script}
    BYPRODUCTS ${json} ${md}
    COMMENT "Checking ${KERNEL_ELF_NAME} against size budget ${BOARD_KEY}"
    VERBATIM
  )
  add_custom_target(size_budget_check ALL DEPENDS ${stamp})
  add_dependencies(size_budget_check ${elf_target})
  message(STATUS "Size budget check after linking: on (${BOARD_KEY} in ${BUDGET_FILE})")
endfunction()
