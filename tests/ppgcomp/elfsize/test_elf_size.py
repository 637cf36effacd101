"""Tests of scripts/elf_size.py (ppgcomp.elfsize) on small, real Cortex-M33 ELF images built here.

The reference figures come from the toolchain itself: ld's --print-memory-usage table and map file, and
arm-none-eabi-size -A / -B. Tests that need the ARM toolchain skip when it is missing (CI installs it).
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from support import elf_fixtures as fx

from ppgcomp.elfsize import cli
from ppgcomp.elfsize.budget import load_budgets, parse_size
from ppgcomp.elfsize.components import ALL_COMPONENTS, COMPONENTS
from ppgcomp.elfsize.errors import InputError

REPO = Path(__file__).resolve().parents[3]
SKIP_REASON = ("ARM cross toolchain not found (arm-none-eabi-gcc, -size, -strip); "
               "install gcc-arm-none-eabi and binutils-arm-none-eabi")
needs_arm = pytest.mark.skipif(not fx.have_arm_toolchain(), reason=SKIP_REASON)

MODEL_SIZE = 2000
ARENA_SIZE = 2048


# ---------------------------------------------------------------------------------------------- helpers

def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def report_of(elf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    out_json = tmp_path / f"{elf.stem}-report.json"
    code, _, err = run_cli([elf, "--json", out_json, "-q", *extra], capsys)
    assert code == 0, err
    return json.loads(out_json.read_text())


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert "Traceback" not in err
    assert lines[0].startswith("elf_size.py: error: ")
    for needle in needles:
        assert needle.lower() in lines[0].lower(), lines[0]


def write_budget(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


BUDGET_TEMPLATE = """\
images:
  testboard:
    flash: {flash}
    ram: {ram}
    components:
      model: {{flash: {model}}}
      arena: {{ram: {arena}}}
      tflm: {{flash: 4K, ram: 1K}}
  testboard/hci_ipc:
    flash: 8
    ram: 8
"""


# ---------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> fx.Firmware:
    if not fx.have_arm_toolchain():
        pytest.skip(SKIP_REASON)
    return fx.build_firmware(tmp_path_factory.mktemp("fw"), model_size=MODEL_SIZE, arena_size=ARENA_SIZE)


@pytest.fixture(scope="module")
def firmware_gaps(tmp_path_factory: pytest.TempPathFactory) -> fx.Firmware:
    if not fx.have_arm_toolchain():
        pytest.skip(SKIP_REASON)
    return fx.build_firmware(tmp_path_factory.mktemp("fwgaps"), gaps=True)


@pytest.fixture(params=["plain", "gaps"])
def either_firmware(request: pytest.FixtureRequest, firmware: fx.Firmware, firmware_gaps: fx.Firmware) -> fx.Firmware:
    """Each test that takes it runs on both images: `plain` and `gaps` (holes between the sections)."""
    return firmware if request.param == "plain" else firmware_gaps


# ---------------------------------------------------------------------------------------------- totals

@needs_arm
def test_totals_match_linker_memory_usage(either_firmware: fx.Firmware, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    fw = either_firmware
    report = report_of(fw.elf, tmp_path, capsys)
    assert set(fw.memory_usage) >= {"FLASH", "RAM"}
    assert report["totals"]["flash"]["used"] == fw.memory_usage["FLASH"][0]
    assert report["totals"]["ram"]["used"] == fw.memory_usage["RAM"][0]


@needs_arm
def test_section_sums_match_arm_size(either_firmware: fx.Firmware, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    fw = either_firmware
    report = report_of(fw.elf, tmp_path, capsys)
    text, data, bss = fx.size_berkeley(fw.elf)
    assert report["totals"]["flash"]["section_bytes"] == text + data
    assert report["totals"]["ram"]["section_bytes"] == data + bss
    sysv = fx.size_sysv(fw.elf)
    for sec in report["sections"]:
        assert sysv[sec["name"]] == (sec["size"], sec["vma"]), sec["name"]
    allocated = {name for name, (size, addr) in sysv.items() if size and addr}
    assert allocated <= {s["name"] for s in report["sections"]}


@needs_arm
def test_gaps_counted_like_ld_not_like_size(firmware_gaps: fx.Firmware, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    report = report_of(firmware_gaps.elf, tmp_path, capsys)
    for region in ("flash", "ram"):
        t = report["totals"][region]
        assert t["used"] > t["section_bytes"], region  # the fixture has alignment gaps in both regions


@needs_arm
def test_sections_placed_as_in_map(firmware: fx.Firmware, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    report = report_of(firmware.elf, tmp_path, capsys)
    mapped = fx.map_sections(firmware.map_file)
    by_name = {s["name"]: s for s in report["sections"]}
    for name, sec in by_name.items():
        addr, size, _load = mapped[name]
        assert (sec["vma"], sec["size"]) == (addr, size), name
    data = by_name[".data"]
    assert data["flash"] and data["ram"]
    assert data["lma"] == mapped[".data"][2]
    assert not by_name[".bss"]["flash"] and by_name[".bss"]["ram"]
    assert not by_name[".noinit"]["flash"] and by_name[".noinit"]["ram"]
    assert by_name[".rodata"]["flash"] and not by_name[".rodata"]["ram"]
    flash = report["totals"]["flash"]
    assert flash["end"] == data["lma"] + data["size"]


# ---------------------------------------------------------------------------------------------- attribution

@needs_arm
@pytest.mark.parametrize("dwarf", [True, False])
def test_model_and_arena_attributed_by_generated_names(dwarf: bool, firmware: fx.Firmware, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    report = report_of(firmware.elf, tmp_path, capsys, *([] if dwarf else ["--no-dwarf"]))
    assert report["attribution"]["available"] is True
    assert report["attribution"]["dwarf"] is dwarf
    symbols = {s["name"]: s for s in report["largest_symbols"]}
    model = symbols["ppg_encoder_model_data"]
    assert (model["component"], model["flash"], model["ram"]) == ("model", MODEL_SIZE, 0)
    assert model["address"] % 16 == 0
    arena = symbols["tflm_tensor_arena"]
    assert (arena["component"], arena["flash"], arena["ram"]) == ("arena", 0, ARENA_SIZE)
    comps = report["components"]
    assert comps["model"]["flash"] >= MODEL_SIZE and comps["model"]["ram"] == 0
    assert comps["arena"] == {"flash": 0, "ram": ARENA_SIZE}


@needs_arm
def test_components_add_up_to_totals(firmware_gaps: fx.Firmware, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    report = report_of(firmware_gaps.elf, tmp_path, capsys)
    assert set(report["components"]) == set(ALL_COMPONENTS)
    for region in ("flash", "ram"):
        assert sum(c[region] for c in report["components"].values()) == report["totals"][region]["used"]


@needs_arm
def test_dwarf_source_attribution(firmware: fx.Firmware, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    report = report_of(firmware.elf, tmp_path, capsys, "--top", "100")
    symbols = {s["name"]: s for s in report["largest_symbols"]}
    # Names that no name rule knows: only DWARF (the compile unit's path) can place them.
    assert symbols["interpreter_invoke"]["component"] == "tflm"
    assert symbols["interpreter_invoke"]["rule"] == "dwarf"
    assert symbols["interpreter_invoke"]["source"].endswith("tensorflow/lite/micro/micro_interpreter.c")
    assert symbols["op_scratch"]["component"] == "tflm"  # static data, from its DW_TAG_variable
    assert symbols["sched_ready_q"]["component"] == "kernel"
    assert symbols["scheduler_tick"]["component"] == "kernel"
    assert symbols["app_lookup_table"]["component"] == "app"
    assert report["components"]["tflm"]["ram"] == 24 * 4


# ---------------------------------------------------------------------------------------------- budgets

@needs_arm
def test_exit_0_within_budget(firmware: fx.Firmware, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    budget = write_budget(tmp_path / "b.yaml", BUDGET_TEMPLATE.format(flash="256K", ram="64 KiB", model="130K",
                                                                      arena=4096))
    code, out, err = run_cli([firmware.elf, "--budget", budget, "--board", "testboard"], capsys)
    assert code == 0, err
    assert "Within budget" in out


@needs_arm
def test_exit_1_over_budget_names_each_overrun(firmware: fx.Firmware, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    flash_limit, model_limit, arena_limit = 2000, 1500, 2000
    budget = write_budget(tmp_path / "b.yaml", BUDGET_TEMPLATE.format(flash=flash_limit, ram="64K",
                                                                      model=model_limit, arena=arena_limit))
    out_json = tmp_path / "over.json"
    code, out, err = run_cli([firmware.elf, "--budget", budget, "--board", "testboard", "--json", out_json],
                             capsys)
    assert code == 1
    report = json.loads(out_json.read_text())
    overruns = {(o["scope"], o["region"]): o for o in report["budget"]["overruns"]}
    assert set(overruns) == {("total", "flash"), ("model", "flash"), ("arena", "ram")}
    flash_used = firmware.memory_usage["FLASH"][0]
    assert overruns[("total", "flash")]["over"] == flash_used - flash_limit
    assert overruns[("model", "flash")]["over"] == report["components"]["model"]["flash"] - model_limit
    assert overruns[("arena", "ram")]["over"] == ARENA_SIZE - arena_limit
    assert "Over budget" in out
    assert f"| arena | ram | {ARENA_SIZE} | {arena_limit} | {ARENA_SIZE - arena_limit} |" in out
    assert f"over by {flash_used - flash_limit} bytes" in err


@needs_arm
def test_board_selects_image(firmware: fx.Firmware, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    budget = write_budget(tmp_path / "b.yaml", BUDGET_TEMPLATE.format(flash="256K", ram="64K", model="130K",
                                                                      arena=4096))
    code, _, _ = run_cli([firmware.elf, "--budget", budget, "--board", "testboard/hci_ipc", "-q"], capsys)
    assert code == 1  # the net-core entry has 8-byte limits
    code, _, err = run_cli([firmware.elf, "--budget", budget], capsys)
    assert code == 2
    assert_one_line_error(err, "--board")


@needs_arm
def test_repo_budget_file_is_valid(firmware: fx.Firmware, capsys: pytest.CaptureFixture[str]) -> None:
    path = REPO / "app" / "budgets.yaml"
    budgets = load_budgets(path)
    # The app image's key is <board target> with '/' written as '_' (app/CMakeLists.txt); the net core's
    # hci_ipc image is <app key>/hci_ipc and MCUboot's <app key>/mcuboot (the module's CMakeLists.txt).
    for app_key in ("nrf5340dk_nrf5340_cpuapp", "motionsense_hrv3_nrf5340_cpuapp"):
        assert {app_key, f"{app_key}/hci_ipc", f"{app_key}/mcuboot"} <= set(budgets)
        app = budgets[app_key]
        # Issue 23: the app core with MCUmgr and the model store within 200 KB flash, 64 KB RAM.
        assert (app.totals.flash, app.totals.ram) == (200 * 1024, 64 * 1024)
        net = budgets[f"{app_key}/hci_ipc"]
        assert (net.totals.flash, net.totals.ram) == (200 * 1024, 56 * 1024)
        assert budgets[f"{app_key}/mcuboot"].totals.flash == 48 * 1024  # MCUboot at most 48 KB
        # Regions come from each build's .config (an app in slot0 starts at 0x10000), not from the file.
        assert not app.regions and not net.regions
        code, _, err = run_cli([firmware.elf, "--budget", path, "--board", app_key, "-q"], capsys)
        assert code == 0, err
    # Sensor variants (CONFIG_APP_SIZE_BUDGET_VARIANT) are <board>_<variant>, under the same totals.
    variant = budgets["nrf5340dk_nrf5340_cpuapp_max30101"]
    assert (variant.totals.flash, variant.totals.ram) == (200 * 1024, 64 * 1024)


# ---------------------------------------------------------------------------------------------- baseline

@needs_arm
def test_baseline_diff_shows_growth_per_component(firmware: fx.Firmware, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bigger = fx.build_firmware(tmp_path / "big", model_size=MODEL_SIZE + 512, arena_size=ARENA_SIZE + 1024)
    base_json = tmp_path / "base.json"
    code, _, _ = run_cli([firmware.elf, "--json", base_json, "-q"], capsys)
    assert code == 0
    md = tmp_path / "diff.md"
    code, out, err = run_cli([bigger.elf, "--baseline", base_json, "--markdown", md], capsys)
    assert code == 0, err
    assert "## Growth against baseline" in out
    assert "| model | flash | " in out and "| +512 |" in out
    assert "| arena | ram | 2048 | 3072 | +1024 |" in out
    flash_growth = bigger.memory_usage["FLASH"][0] - firmware.memory_usage["FLASH"][0]
    assert f"| total | flash | {firmware.memory_usage['FLASH'][0]} | {bigger.memory_usage['FLASH'][0]} | " \
           f"{flash_growth:+d} |" in out
    assert md.read_text().rstrip("\n") == out.rstrip("\n")


@needs_arm
def test_bad_baseline_is_exit_2(firmware: fx.Firmware, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run_cli([firmware.elf, "--baseline", bad], capsys)
    assert code == 2
    assert_one_line_error(err, "baseline")
    bad.write_text('{"some": "other json"}')
    code, _, err = run_cli([firmware.elf, "--baseline", bad], capsys)
    assert code == 2
    assert_one_line_error(err, "baseline")


# ---------------------------------------------------------------------------------------------- bad input

def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli([tmp_path / "nope.elf"], capsys)
    assert code == 2
    assert_one_line_error(err, "no such file")


def test_not_an_elf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "zephyr.elf"
    path.write_text("this is a text file, not an ELF\n")
    code, _, err = run_cli([path], capsys)
    assert code == 2
    assert_one_line_error(err, "not an ELF")


def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.elf"
    path.write_bytes(b"")
    code, _, err = run_cli([path], capsys)
    assert code == 2
    assert_one_line_error(err, "not an ELF")


@needs_arm
@pytest.mark.parametrize("keep", [5, 40, 600, "half", "minus1"])
def test_truncated_elf(keep: int | str, firmware: fx.Firmware, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    data = firmware.elf.read_bytes()
    n = {"half": len(data) // 2, "minus1": len(data) - 1}.get(keep, keep)  # type: ignore[arg-type]
    path = tmp_path / "truncated.elf"
    path.write_bytes(data[:n])
    code, _, err = run_cli([path], capsys)
    assert code == 2
    assert_one_line_error(err, "truncated")


def test_host_elf_64bit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no host C compiler (gcc/cc) to build a host ELF")
    src = tmp_path / "host.c"
    src.write_text("int main(void) { return 0; }\n")
    exe = tmp_path / "zephyr.exe"
    subprocess.run([cc, "-o", str(exe), str(src)], check=True, capture_output=True)
    if exe.read_bytes()[4] != 2:
        pytest.skip("host compiler does not produce 64-bit ELF")
    code, _, err = run_cli([exe], capsys)
    assert code == 2
    assert_one_line_error(err, "64-bit", "no flash budget applies")


@needs_arm
def test_stripped_elf_totals_without_attribution(firmware: fx.Firmware, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    stripped = fx.strip(firmware.elf, tmp_path / "stripped.elf")
    out_json = tmp_path / "s.json"
    code, out, err = run_cli([stripped, "--json", out_json], capsys)
    assert code == 0
    assert "Traceback" not in err
    warnings = [line for line in err.splitlines() if line.strip()]
    assert len(warnings) == 1 and "WARNING" in warnings[0] and "attribution unavailable" in warnings[0]
    report = json.loads(out_json.read_text())
    assert report["totals"]["flash"]["used"] == firmware.memory_usage["FLASH"][0]
    assert report["totals"]["ram"]["used"] == firmware.memory_usage["RAM"][0]
    assert report["attribution"]["available"] is False
    assert "Attribution unavailable" in out
    assert report["components"]["unattributed"]["flash"] == report["totals"]["flash"]["used"]
    # Over the total budget still fails; component limits are not checked without symbols.
    budget = write_budget(tmp_path / "b.yaml", BUDGET_TEMPLATE.format(flash=100, ram="64K", model=10, arena=10))
    code, _, _ = run_cli([stripped, "--budget", budget, "--board", "testboard", "--json", out_json, "-q"], capsys)
    assert code == 1
    scopes = {o["scope"] for o in json.loads(out_json.read_text())["budget"]["overruns"]}
    assert scopes == {"total"}


@needs_arm
@pytest.mark.parametrize("text,needle", [
    ("images:\n  testboard: {flash: 1K, ram: [\n", "malformed YAML"),
    ("images:\n  testboard:\n    flash: 1K\n    components:\n      bluetooth: {flash: 1K}\n",
     "unknown component 'bluetooth'"),
    ("images:\n  testboard:\n    flash: lots\n", "bad size"),
    ("images:\n  testboard:\n    flash: 1K\n    components:\n      model: {rom: 1K}\n", "unknown key 'rom'"),
    ("- just\n- a list\n", "expected a mapping"),
    ("images: {}\n", "empty"),
    ("boards:\n  testboard: {flash: 1K}\n", "unknown top-level key"),
])
def test_bad_budget_file(text: str, needle: str, firmware: fx.Firmware, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    budget = write_budget(tmp_path / "bad.yaml", text)
    code, _, err = run_cli([firmware.elf, "--budget", budget, "--board", "testboard"], capsys)
    assert code == 2
    assert_one_line_error(err, needle)


@needs_arm
def test_unknown_board_and_missing_budget(firmware: fx.Firmware, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    budget = write_budget(tmp_path / "b.yaml", BUDGET_TEMPLATE.format(flash="1K", ram="1K", model=1, arena=1))
    code, _, err = run_cli([firmware.elf, "--budget", budget, "--board", "nrf52dk"], capsys)
    assert code == 2
    assert_one_line_error(err, "no budget for --board 'nrf52dk'")
    code, _, err = run_cli([firmware.elf, "--budget", tmp_path / "none.yaml"], capsys)
    assert code == 2
    assert_one_line_error(err, "no such budget file")


# ---------------------------------------------------------------------------------------------- units, CLI

@pytest.mark.parametrize("value,expected", [(1024, 1024), ("256K", 262144), ("64 KiB", 65536), ("1M", 1 << 20),
                                            ("0x40000", 0x40000), ("130kb", 133120)])
def test_parse_size(value: int | str, expected: int) -> None:
    assert parse_size(value, "x") == expected


@pytest.mark.parametrize("value", ["-1", -1, "12 furlongs", True, [1]])
def test_parse_size_rejects(value: object) -> None:
    with pytest.raises(InputError):
        parse_size(value, "x")


def test_components_are_the_documented_keys() -> None:
    assert COMPONENTS == ("model", "arena", "tflm", "cmsis_nn", "ble_host", "kernel", "libc", "drivers", "app")


def test_help_lists_components_and_exit_codes() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "elf_size.py"), "--help"], capture_output=True,
                          text=True, check=True)
    for word in ("--budget", "--board", "--json", "--markdown", "--baseline", "cmsis_nn", "exit status"):
        assert word in proc.stdout


@needs_arm
def test_script_wrapper_runs(firmware: fx.Firmware, tmp_path: Path) -> None:
    budget = write_budget(tmp_path / "b.yaml", BUDGET_TEMPLATE.format(flash=100, ram="64K", model="130K",
                                                                      arena=4096))
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "elf_size.py"), str(firmware.elf), "--budget",
                           str(budget), "--board", "testboard"], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "| total | flash |" in proc.stdout


@needs_arm
def test_fast_dwarf_reader_matches_pyelftools(firmware: fx.Firmware, monkeypatch: pytest.MonkeyPatch) -> None:
    from ppgcomp.elfsize import dwarfsrc
    from ppgcomp.elfsize.loader import load_elf

    loaded = load_elf(firmware.elf)
    fast = dwarfsrc.build_source_index(loaded)

    def give_up(*_args: object) -> dwarfsrc.SourceIndex:
        raise dwarfsrc.FastDwarfError("forced fallback")

    monkeypatch.setattr(dwarfsrc, "_fast_index", give_up)
    slow = dwarfsrc.build_source_index(loaded)
    assert fast is not None and slow is not None
    assert fast.units == slow.units == 3
    assert sorted(fast._ranges) == sorted(slow._ranges)
    assert fast._data == slow._data and fast._data


@needs_arm
def test_string_literals_attributed_by_reference(firmware: fx.Firmware, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    report = report_of(firmware.elf, tmp_path, capsys, "--top", "100")
    tflm_symbols = sum(s["flash"] for s in report["largest_symbols"] if s["component"] == "tflm")
    assert "tflm_version" in {s["name"] for s in report["largest_symbols"]}
    # The literal (and its NUL) has no symbol; the pointer in tflm_version's literal pool claims it.
    assert report["components"]["tflm"]["flash"] - tflm_symbols >= len(fx.TFLM_STRING) + 1


# ---------------------------------------------------------------------------------------------- malformed ELFs

SHN_XINDEX = 0xFFFF
SHF_TLS = 0x400
_SH_FIELDS = ("name", "type", "flags", "addr", "offset", "size", "link", "info", "addralign", "entsize")


def section_index(elf: Path) -> dict[str, int]:
    from elftools.elf.elffile import ELFFile

    with elf.open("rb") as fh:
        return {sec.name: i for i, sec in enumerate(ELFFile(fh).iter_sections())}


def patch_elf(src: Path, dst: Path, *, shstrndx: int | None = None, shnum: int | None = None,
              sections: dict[int, dict[str, int]] | None = None) -> Path:
    """Copy ``src`` to ``dst`` with ELF header fields and section header fields (by index) replaced."""
    data = bytearray(src.read_bytes())
    assert data[5] == 1  # little-endian, as the fixture firmware is
    shoff = struct.unpack_from("<I", data, 0x20)[0]
    if shstrndx is not None:
        struct.pack_into("<H", data, 0x32, shstrndx)
    if shnum is not None:
        struct.pack_into("<H", data, 0x30, shnum)
    for index, fields in (sections or {}).items():
        for field, value in fields.items():
            struct.pack_into("<I", data, shoff + 40 * index + 4 * _SH_FIELDS.index(field), value)
    dst.write_bytes(bytes(data))
    return dst


def section_header(elf: Path, index: int) -> dict[str, int]:
    data = elf.read_bytes()
    shoff = struct.unpack_from("<I", data, 0x20)[0]
    return dict(zip(_SH_FIELDS, struct.unpack_from("<10I", data, shoff + 40 * index)))


def assert_refused_without_output(elf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  *needles: str) -> None:
    """Exit 2, one line naming the file and the problem, and neither --json nor --markdown written."""
    out_json, out_md = tmp_path / "out" / "r.json", tmp_path / "out" / "r.md"
    out_json.parent.mkdir(exist_ok=True)
    code, out, err = run_cli([elf, "--json", out_json, "--markdown", out_md], capsys)
    assert code == 2, err
    assert_one_line_error(err, str(elf), *needles)
    assert out == ""
    assert list(out_json.parent.iterdir()) == []


@needs_arm
def test_shn_xindex_names_read_from_section_0_link(firmware: fx.Firmware, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Extended numbering, as an ELF with 0xff00 sections or more has it: e_shstrndx = SHN_XINDEX with the
    index in section 0's sh_link, and e_shnum = 0 with the count in section 0's sh_size. Same report."""
    idx = section_index(firmware.elf)
    nsec = len(idx)
    xindex = patch_elf(firmware.elf, tmp_path / "xindex.elf", shstrndx=SHN_XINDEX, shnum=0,
                       sections={0: {"link": idx[".shstrtab"], "size": nsec}})
    expected = report_of(firmware.elf, tmp_path, capsys)
    report = report_of(xindex, tmp_path, capsys)
    for key in ("totals", "sections", "components", "largest_symbols", "attribution"):
        assert report[key] == expected[key], key
    assert report["attribution"]["available"] is True


@needs_arm
@pytest.mark.parametrize("case", ["null", "symtab", "past_end", "reserved", "undef"])
def test_bad_section_name_index_is_exit_2(case: str, firmware: fx.Firmware, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 22, case 1: e_shstrndx = SHN_XINDEX but section 0's sh_link names no string table (and the
    plain e_shstrndx variants of the same fault): refused, not read as a stripped ELF."""
    idx = section_index(firmware.elf)
    shstrndx, link = {"null": (SHN_XINDEX, 0), "symtab": (SHN_XINDEX, idx[".symtab"]),
                      "past_end": (SHN_XINDEX, len(idx) + 5), "reserved": (0xFF05, 0), "undef": (0, 0)}[case]
    bad = patch_elf(firmware.elf, tmp_path / "bad.elf", shstrndx=shstrndx, sections={0: {"link": link}})
    assert_refused_without_output(bad, tmp_path, capsys, "section name string table")


@needs_arm
@pytest.mark.parametrize("moved,onto", [(".rodata", ".text"), (".bss", ".data"), (".noinit", ".bss"),
                                        (".data", ".rodata")])
def test_overlapping_allocated_sections_is_exit_2(moved: str, onto: str, firmware: fx.Firmware, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 22, case 2: two SHF_ALLOC sections overlap (PROGBITS/PROGBITS, NOBITS/PROGBITS, NOBITS/NOBITS):
    refused with both names, nothing written."""
    idx = section_index(firmware.elf)
    target = section_header(firmware.elf, idx[onto])
    bad = patch_elf(firmware.elf, tmp_path / "overlap.elf", sections={idx[moved]: {"addr": target["addr"] + 4}})
    assert_refused_without_output(bad, tmp_path, capsys, "overlap", moved, onto)


@needs_arm
def test_section_past_end_of_address_space_is_exit_2(firmware: fx.Firmware, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    idx = section_index(firmware.elf)
    bad = patch_elf(firmware.elf, tmp_path / "wrap.elf", sections={idx[".bss"]: {"addr": 0xFFFF_FF00}})
    assert_refused_without_output(bad, tmp_path, capsys, ".bss", "address space")


@needs_arm
@pytest.mark.parametrize("case", ["empty", "tls_nobits"])
def test_sections_that_take_no_address_space_may_overlap(case: str, firmware: fx.Firmware, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """What linkers do produce: empty sections at another section's address (Zephyr has several), and a
    thread-local NOBITS section (.tbss) whose addresses overlap the sections after it. (The debug sections,
    not allocated, all sit at address 0, on top of .vectors, in every image.)"""
    idx = section_index(firmware.elf)
    noinit = section_header(firmware.elf, idx[".noinit"])
    bss = section_header(firmware.elf, idx[".bss"])
    fields = {"addr": bss["addr"], "size": 0} if case == "empty" else \
        {"addr": bss["addr"], "flags": noinit["flags"] | SHF_TLS}
    elf = patch_elf(firmware.elf, tmp_path / f"{case}.elf", sections={idx[".noinit"]: fields})
    report = report_of(elf, tmp_path, capsys)
    assert ".noinit" not in {s["name"] for s in report["sections"]}  # no bytes: not counted
    assert report["totals"]["flash"]["used"] == firmware.memory_usage["FLASH"][0]


@needs_arm
@pytest.mark.parametrize("bad_output", ["markdown", "json"])
def test_failed_output_write_leaves_no_output(bad_output: str, firmware: fx.Firmware, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 22, case 3: one output cannot be written (its folder does not exist): exit 2, one line naming
    it, no new file, and the earlier reports stay byte for byte as they were."""
    folder = tmp_path / "reports"
    folder.mkdir()
    good = {"json": folder / "r.json", "markdown": folder / "r.md"}
    code, _, err = run_cli([firmware.elf, "-q", "--json", good["json"], "--markdown", good["markdown"]], capsys)
    assert code == 0, err
    earlier = {p: p.read_bytes() for p in good.values()}
    fresh = folder / "fresh"  # an output the failed run would create: must not appear
    missing = tmp_path / "no-such-folder" / "r.out"
    paths = {"json": fresh, "markdown": fresh, bad_output: missing}
    for other in ("json", "markdown"):
        code, _, err = run_cli([firmware.elf, "-q", "--json", paths["json"], "--markdown", paths["markdown"]],
                               capsys)
        assert code == 2
        assert_one_line_error(err, str(missing), "does not exist")
        assert sorted(folder.iterdir()) == sorted(earlier), other  # nothing new, no temporary file left
        assert {p: p.read_bytes() for p in good.values()} == earlier
        assert not missing.parent.exists()
        paths = {"json": good["json"], "markdown": good["markdown"], bad_output: missing}


@needs_arm
def test_outputs_replace_earlier_reports_whole(firmware: fx.Firmware, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    out_json.write_text("stale\n")
    out_json.chmod(0o640)
    code, out, err = run_cli([firmware.elf, "--json", out_json, "--markdown", out_md], capsys)
    assert code == 0, err
    assert json.loads(out_json.read_text())["schema"] == "ppgcomp.elfsize/1"
    assert out_md.read_text().rstrip("\n") == out.rstrip("\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.md"]
    if sys.platform != "win32":
        assert out_json.stat().st_mode & 0o777 == 0o640  # the replaced file's permissions are kept
    code, _, err = run_cli([firmware.elf, "--json", out_json, "--markdown", tmp_path / "." / "r.json"], capsys)
    assert code == 2
    assert_one_line_error(err, "two reports")


class _Hang(BaseException):
    """Raised by the alarm in the fuzz test; a BaseException, so that the CLI's handlers do not catch it."""


FUZZ_SEED = 22
FUZZ_CASE_LIMIT_S = 5


@needs_arm
def test_fuzz_single_byte_corruptions(firmware: fx.Firmware, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Single-byte corruptions of a real Cortex-M33 image (every ELF header byte, a sample of the program and
    section header tables, and a sample of the rest), fixed seed: never a traceback or a hang, exit status
    0, 1 or 2 as documented, one error line naming the file on exit 2, and --json written only on 0 or 1."""
    import random
    import signal

    src = firmware.elf.read_bytes()
    e_phoff, = struct.unpack_from("<I", src, 0x1C)
    e_shoff, = struct.unpack_from("<I", src, 0x20)
    e_phnum, e_shnum = struct.unpack_from("<HH", src, 0x2C)[0], struct.unpack_from("<H", src, 0x30)[0]
    rng = random.Random(FUZZ_SEED)
    tables = [*range(e_phoff, e_phoff + 32 * e_phnum), *range(e_shoff, e_shoff + 40 * e_shnum)]
    rest = sorted(set(range(52, len(src))) - set(tables))
    offsets = [*range(52), *rng.sample(tables, min(250, len(tables))), *rng.sample(rest, 120)]
    budget = write_budget(tmp_path / "b.yaml", BUDGET_TEMPLATE.format(flash="256K", ram="64K", model="130K",
                                                                      arena=4096))
    elf, out_dir = tmp_path / "fuzz.elf", tmp_path / "out"
    out_dir.mkdir()
    out_json = out_dir / "r.json"
    use_alarm = hasattr(signal, "setitimer")

    def hang(_signum: int, _frame: object) -> None:
        raise _Hang

    old_handler = signal.signal(signal.SIGALRM, hang) if use_alarm else None
    codes: dict[int, int] = {}
    try:
        for offset in offsets:
            data = bytearray(src)
            data[offset] = (src[offset] + rng.randrange(1, 256)) % 256
            elf.write_bytes(bytes(data))
            case = f"byte {offset} (0x{offset:x}) 0x{src[offset]:02x} -> 0x{data[offset]:02x}"
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, FUZZ_CASE_LIMIT_S)
            try:
                code, _, err = run_cli([elf, "-q", "--budget", budget, "--board", "testboard", "--json", out_json],
                                       capsys)
            except _Hang:
                pytest.fail(f"{case}: no answer within {FUZZ_CASE_LIMIT_S} s")
            finally:
                if use_alarm:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            codes[code] = codes.get(code, 0) + 1
            assert code in (0, 1, 2), case
            assert "Traceback" not in err, case
            errors = [line for line in err.splitlines() if line.startswith("elf_size.py: error: ")]
            if code == 2:
                assert len(errors) == 1 and err.rstrip("\n").endswith(errors[0]), f"{case}: {err!r}"
                assert str(elf) in errors[0], f"{case}: {errors[0]}"
                assert not out_json.exists(), case
            else:
                assert not errors, f"{case}: {err!r}"
                assert json.loads(out_json.read_text())["schema"] == "ppgcomp.elfsize/1", case
                out_json.unlink()
            assert list(out_dir.iterdir()) == [], case
    finally:
        if use_alarm:
            signal.signal(signal.SIGALRM, old_handler)
    assert codes.get(2, 0) > 50 and codes.get(0, 0) > 50, codes  # the sample hits both outcomes
