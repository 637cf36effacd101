"""Build small, real Cortex-M33 ELF images for the elf_size tests, and read the toolchain's own figures.

Each image has the generated model array (``ppg_encoder_model_data``, const, 16-byte aligned), the tensor
arena (``tflm_tensor_arena``, .bss), initialised data, a ``.noinit`` buffer, code from a few source paths
that DWARF attributes (a fake TFLM file, a fake kernel file), and a linker script with FLASH and RAM regions.
The linker's ``--print-memory-usage`` table, its map file, and ``arm-none-eabi-size`` give the reference
figures.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ARM_GCC = "arm-none-eabi-gcc"
ARM_SIZE = "arm-none-eabi-size"
ARM_STRIP = "arm-none-eabi-strip"

FLASH_ORIGIN = 0x0000_0000
FLASH_LENGTH = 256 * 1024
RAM_ORIGIN = 0x2000_0000
RAM_LENGTH = 64 * 1024

LINKER_SCRIPT = """\
MEMORY
{
  FLASH (rx)  : ORIGIN = 0x%(flash_origin)08x, LENGTH = %(flash_length)d
  RAM   (rwx) : ORIGIN = 0x%(ram_origin)08x, LENGTH = %(ram_length)d
}
ENTRY(reset_handler)
SECTIONS
{
  .vectors : { KEEP(*(.vectors)) } > FLASH
  .text : { *(.text*) } > FLASH
  .rodata %(rodata_align)s: { . = ALIGN(16); *(.rodata*) } > FLASH
  .data : { . = ALIGN(4); *(.data*) } > RAM AT> FLASH
  .bss (NOLOAD) : { . = ALIGN(16); *(.bss*) *(COMMON) } > RAM
  .noinit %(noinit_align)s(NOLOAD) : { *(.noinit*) } > RAM
  /DISCARD/ : { *(.ARM.exidx*) *(.comment) }
}
"""

MAIN_C = """\
#include <stdint.h>

#define MODEL_SIZE %(model_size)d
#define ARENA_SIZE %(arena_size)d

__attribute__((aligned(16))) const int8_t ppg_encoder_model_data[MODEL_SIZE] = {1, 2, 3, 4, 5};
const unsigned int ppg_encoder_model_data_len = MODEL_SIZE;
const uint16_t app_lookup_table[%(table_len)d] = {7, 8, 9};

__attribute__((aligned(16))) uint8_t tflm_tensor_arena[ARENA_SIZE];
uint32_t app_counter = 5;
uint32_t app_words[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
__attribute__((section(".noinit"))) uint32_t app_noinit_log[64];

extern int interpreter_invoke(const int8_t *model, uint8_t *arena, int n);
extern void scheduler_tick(void);
extern const char *tflm_version(void);

int main(void)
{
    int acc = 0;
    for (unsigned i = 0; i < ppg_encoder_model_data_len; i += 64) {
        acc += interpreter_invoke(&ppg_encoder_model_data[i], tflm_tensor_arena, ARENA_SIZE);
    }
    app_counter += (uint32_t)acc + app_lookup_table[app_counter & 3] + app_words[acc & 7];
    app_noinit_log[app_counter & 63] = app_counter;
    scheduler_tick();
    return acc + tflm_version()[app_counter & 7];
}

void reset_handler(void)
{
    for (;;) {
        (void)main();
    }
}

__attribute__((section(".vectors"), used)) void (*const app_vectors[2])(void) = {
    (void (*)(void))0x20010000, reset_handler,
};
"""

TFLM_C = """\
#include <stdint.h>
static int32_t op_scratch[24];
const char *tflm_version(void)
{
    return "%(tflm_string)s";
}
int interpreter_invoke(const int8_t *model, uint8_t *arena, int n)
{
    int32_t acc = 0;
    for (int i = 0; i < n; i += 97) {
        arena[i] = (uint8_t)(model[i & 63] + op_scratch[i & 7]);
        acc += arena[i] * 3 - model[(i + 1) & 63];
        op_scratch[i & 23] = acc;
    }
    return (int)acc;
}
"""

KERNEL_C = """\
#include <stdint.h>
uint32_t sched_ticks_elapsed = 3;
static uint32_t sched_ready_q[16];
void scheduler_tick(void)
{
    sched_ready_q[sched_ticks_elapsed & 15] += sched_ticks_elapsed;
    sched_ticks_elapsed += sched_ready_q[0] + 1;
}
"""

# A string literal with no symbol of its own: attributed through the literal pool of tflm_version().
TFLM_STRING = "tflm runtime version string, no symbol of its own"

_UNITS = {"B": 1, "KB": 1024, "MB": 1 << 20, "GB": 1 << 30}
_MEMUSE_RE = re.compile(r"^\s*(\w+):\s+(\d+)\s*(B|KB|MB|GB)\s+(\d+)\s*(B|KB|MB|GB)\s+([\d.]+)%", re.MULTILINE)


def have_arm_toolchain() -> bool:
    return all(shutil.which(tool) for tool in (ARM_GCC, ARM_SIZE, ARM_STRIP))


@dataclass
class Firmware:
    """A linked test image and the toolchain's figures for it."""

    elf: Path
    map_file: Path
    memory_usage: dict[str, tuple[int, int]]  # region -> (used, size), from ld --print-memory-usage
    model_size: int
    arena_size: int


def parse_memory_usage(text: str) -> dict[str, tuple[int, int]]:
    """``{"FLASH": (used, size), ...}`` from ld's ``--print-memory-usage`` table."""
    return {m.group(1): (int(m.group(2)) * _UNITS[m.group(3)], int(m.group(4)) * _UNITS[m.group(5)])
            for m in _MEMUSE_RE.finditer(text)}


def build_firmware(workdir: Path, *, model_size: int = 2000, arena_size: int = 4096, table_len: int = 150,
                   gaps: bool = False, debug: bool = True, name: str = "fw", flash_origin: int = FLASH_ORIGIN,
                   flash_length: int = FLASH_LENGTH) -> Firmware:
    """Compile and link a Cortex-M33 image in ``workdir``. ``gaps`` adds alignment gaps between sections;
    ``flash_origin``/``flash_length`` place the FLASH region, e.g. in an MCUboot slot (0x10000)."""
    workdir.mkdir(parents=True, exist_ok=True)
    src = workdir / f"{name}_src"
    (src / "app" / "src").mkdir(parents=True, exist_ok=True)
    (src / "modules" / "lib" / "tflite-micro" / "tensorflow" / "lite" / "micro").mkdir(parents=True, exist_ok=True)
    (src / "zephyr" / "kernel").mkdir(parents=True, exist_ok=True)
    main_c = src / "app" / "src" / "main.c"
    tflm_c = src / "modules" / "lib" / "tflite-micro" / "tensorflow" / "lite" / "micro" / "micro_interpreter.c"
    kernel_c = src / "zephyr" / "kernel" / "sched.c"
    main_c.write_text(MAIN_C % {"model_size": model_size, "arena_size": arena_size, "table_len": table_len})
    tflm_c.write_text(TFLM_C % {"tflm_string": TFLM_STRING})
    kernel_c.write_text(KERNEL_C)
    ld = workdir / f"{name}.ld"
    ld.write_text(LINKER_SCRIPT % {
        "flash_origin": flash_origin, "flash_length": flash_length, "ram_origin": RAM_ORIGIN,
        "ram_length": RAM_LENGTH, "rodata_align": "ALIGN(1024) " if gaps else "",
        "noinit_align": "ALIGN(512) " if gaps else ""})
    elf = workdir / f"{name}.elf"
    map_file = workdir / f"{name}.map"
    cmd = [ARM_GCC, "-mcpu=cortex-m33", "-mthumb", "-O1", "-nostdlib", "-nostartfiles", "-ffreestanding",
           *(["-g"] if debug else []), "-T", str(ld), "-Wl,--print-memory-usage", f"-Wl,-Map={map_file}",
           "-o", str(elf), str(main_c), str(tflm_c), str(kernel_c)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    usage = parse_memory_usage(proc.stdout + proc.stderr)
    return Firmware(elf=elf, map_file=map_file, memory_usage=usage, model_size=model_size, arena_size=arena_size)


def size_sysv(elf: Path) -> dict[str, tuple[int, int]]:
    """``arm-none-eabi-size -A``: section name -> (size, address)."""
    out = subprocess.run([ARM_SIZE, "-A", "-d", str(elf)], capture_output=True, text=True, check=True).stdout
    sections: dict[str, tuple[int, int]] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sections[parts[0]] = (int(parts[1]), int(parts[2]))
    return sections


def size_berkeley(elf: Path) -> tuple[int, int, int]:
    """``arm-none-eabi-size -B``: (text, data, bss)."""
    out = subprocess.run([ARM_SIZE, "-B", "-d", str(elf)], capture_output=True, text=True, check=True).stdout
    text, data, bss = out.splitlines()[1].split()[:3]
    return int(text), int(data), int(bss)


def map_sections(map_file: Path) -> dict[str, tuple[int, int, int | None]]:
    """Output sections from the linker map: name -> (address, size, load address or None)."""
    text = map_file.read_text()
    body = text.split("Linker script and memory map", 1)[1]
    out: dict[str, tuple[int, int, int | None]] = {}
    pattern = re.compile(r"^(\.\w+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)(?:\s+load address 0x([0-9a-f]+))?",
                         re.MULTILINE)
    for m in pattern.finditer(body):
        out.setdefault(m.group(1), (int(m.group(2), 16), int(m.group(3), 16),
                                    int(m.group(4), 16) if m.group(4) else None))
    return out


def strip(elf: Path, out: Path) -> Path:
    subprocess.run([ARM_STRIP, "-o", str(out), str(elf)], check=True, capture_output=True)
    return out
