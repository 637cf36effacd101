"""The components that flash and RAM are attributed to, and the rules that map symbols to them.

Order of precedence for one symbol:

1. ``GENERATED_SYMBOLS``: the generated model array and tensor arena, by their exact generated names.
2. ``PATH_RULES`` on the source file that DWARF names for the symbol (its compile unit). A source path that
   no rule claims is the application's.
3. ``NAME_RULES`` on the symbol name (for code without debug info: libgcc, a prebuilt libc, blobs).
4. ``SECTION_RULES`` on the output section name (linker-generated tables; also used for the bytes of a
   section that no symbol covers, such as string literals and padding).

Whatever is left is ``unattributed``.
"""

from __future__ import annotations

import re

MODEL = "model"
ARENA = "arena"
TFLM = "tflm"
CMSIS_NN = "cmsis_nn"
BLE_HOST = "ble_host"
KERNEL = "kernel"
LIBC = "libc"
DRIVERS = "drivers"
APP = "app"
UNATTRIBUTED = "unattributed"

COMPONENTS: tuple[str, ...] = (MODEL, ARENA, TFLM, CMSIS_NN, BLE_HOST, KERNEL, LIBC, DRIVERS, APP)
ALL_COMPONENTS: tuple[str, ...] = (*COMPONENTS, UNATTRIBUTED)

DESCRIPTIONS: dict[str, str] = {
    MODEL: "model weights (the generated ppg_encoder_model_data array)",
    ARENA: "TFLM tensor arena (the generated tflm_tensor_arena buffer)",
    TFLM: "TensorFlow Lite Micro runtime and the modules/tflm wrapper",
    CMSIS_NN: "CMSIS-NN kernels",
    BLE_HOST: "Bluetooth LE stack (host; on the net core also the controller and HCI IPC) and its crypto",
    KERNEL: "Zephyr kernel, arch, SoC, and subsystems (logging, IPC service, ...)",
    LIBC: "C library, libgcc and libstdc++ / C++ runtime",
    DRIVERS: "device drivers and HALs (nrfx, OpenAMP/libmetal)",
    APP: "the application (app/src, this repository's lib/ and any source no other rule claims)",
    UNATTRIBUTED: "bytes no rule could attribute: strings, padding, stripped images",
}

# Names the exporter generates (see lib/encoder_model/); prefixes also match, e.g. ppg_encoder_model_data_len.
GENERATED_SYMBOLS: tuple[tuple[str, str], ...] = (
    ("ppg_encoder_model_data", MODEL),
    ("tflm_tensor_arena", ARENA),
)

_I = re.IGNORECASE

PATH_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"cmsis[-_]?nn", _I), CMSIS_NN),
    (re.compile(r"tflite-micro|tflite_micro|tensorflow/lite/|/modules/tflm/|/signal/micro/", _I), TFLM),
    (re.compile(r"/lib/libc/|picolibc|newlib|libgcc|libstdc\+\+|libsupc\+\+|/lib/cpp/|/arm-none-eabi/|"
                r"/arm-zephyr-eabi/|/gcc/", _I), LIBC),
    # Crypto libraries are pulled in by the BLE stack (SMP, ECC), so they count as ble_host.
    (re.compile(r"/subsys/bluetooth/|softdevice_controller|/mpsl/|/drivers/bluetooth/|mbedtls|tinycrypt|"
                r"/modules/crypto/", _I), BLE_HOST),
    (re.compile(r"/drivers/|/modules/hal/|/hal_nordic/|/nrfx/|/open-amp/|/libmetal/|/subsys/ipc/", _I), DRIVERS),
    # This repository's portable libraries (lib/<unit>/*.c) belong to the application, not to Zephyr's lib/
    # (<zephyr>/lib/..., <modules>/lib/...), which the kernel rule below claims.
    (re.compile(r"(?<!/zephyr)(?<!/modules)/lib/[^/]+/[^/]+\.c$"), APP),
    (re.compile(r"/kernel/|/arch/|/soc/|/subsys/|/lib/|/misc/|/boards/|/include/zephyr/|/zephyr/include/|"
                r"isr_tables\.c|/zephyr/misc/|offsets\.c", _I), KERNEL),
)

NAME_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^arm_nn_|^arm_.*_(s4|s8|s16|q7|q15)(_|$)|^arm_(convolve|depthwise|fully_connected|"
                r"elementwise|softmax|avgpool|max_pool|svdf|lstm|vector_sum)"), CMSIS_NN),
    (re.compile(r"tflite|TfLite|^_ZN\d+tflite"), TFLM),
    (re.compile(r"^(__aeabi_|__gnu_|__(u?div|u?mod|clz|ctz|popcount|ashl|ashr|lshr|mul|neg|cmp|fix|float|"
                r"extend|trunc|add|sub)[a-z]*\d|__libc_|__cxa_|__gxx_|_ZNSt|_ZNKSt|_ZSt|_ZdlPv|_Znw|_Zna|"
                r"__errno|_impure_ptr|_ctype_|__sf|__ssputs|__sfputs)"
                r"|^(memcpy|memset|memmove|memcmp|memchr|strlen|strnlen|strcmp|strncmp|strcpy|strncpy|strchr|"
                r"strrchr|strstr|strtol|strtoul|atoi|abort|exit|_exit|malloc|free|calloc|realloc|qsort|"
                r"bsearch|rand|srand|v?s?n?printf|puts|putchar|fputc|fputs|fwrite)$"), LIBC),
    (re.compile(r"^(bt_|_bt_|att_|gatt_|smp_|l2cap_|hci_|ecc_|bas_|hrs_|dis_|ll_|lll_|ull_|radio_|mpsl_|"
                r"sdc_|hci_ipc)"), BLE_HOST),
    (re.compile(r"^(__device_dts_ord_|__devstate_dts_ord_|__pinctrl_|nrfx_|nrf_|nrfy_|uart_|gpio_|i2c_|spi_|"
                r"sensor_|clock_control|ipc_|mbox_|rpmsg_|metal_|virtqueue|rproc|entropy_|max86141|max30101)"),
     DRIVERS),
    (re.compile(r"^(z_|k_|_k_|arch_|sys_|_sys_|_sw_isr_table|_irq_vector_table|_vector_table|"
                r"_vector_start|__init_|_kernel|z_impl_|log_|printk|vprintk|cbvprintf|cbprintf|"
                r"SystemInit|SystemCoreClock|__reset|_isr_|isr_|__isr|_main_|idle|_thread|__start)"),
     KERNEL),
    (re.compile(r"^(main$|app_|ppg_)"), APP),
)

SECTION_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^\.ARM\.(exidx|extab)|^\.init_array|^\.fini_array|^\.ctors|^\.dtors|^\.tdata|^\.tbss"),
     LIBC),
    (re.compile(r"^(bt_|_bt_)"), BLE_HOST),
    (re.compile(r"^(device_area|device_handles|device_states|device_deps|_?pinctrl|__device)"), DRIVERS),
    (re.compile(r"^(rom_start|\.vectors|\.isr_vector|sw_isr_table|irq_vector_table|_?exc_vector|initlevel|"
                r"init_array|\.last_section|_static_thread|log_|k_\w+_area|z_\w+_area|ramfunc|\.ramfunc|"
                r"tbss|tdata|noinit|\.noinit|.*_area$)"), KERNEL),
)


def component_for_generated(name: str) -> str | None:
    for prefix, comp in GENERATED_SYMBOLS:
        if name.startswith(prefix):
            return comp
    return None


def component_for_path(path: str) -> str:
    norm = "/" + path.replace("\\", "/").lstrip("/")
    for pattern, comp in PATH_RULES:
        if pattern.search(norm):
            return comp
    return APP


def component_for_name(name: str) -> str | None:
    for pattern, comp in NAME_RULES:
        if pattern.search(name):
            return comp
    return None


def component_for_section(section: str) -> str | None:
    for pattern, comp in SECTION_RULES:
        if pattern.search(section):
            return comp
    return None
