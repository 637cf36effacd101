"""Tests of scripts/elf_size.py (ppgcomp.elfsize) on small, real Cortex-M33 ELF images built here.

The reference figures come from the toolchain itself: ld's --print-memory-usage table and map file, and
arm-none-eabi-size -A / -B. Tests that need the ARM toolchain skip when it is missing (CI installs it).
"""

from __future__ import annotations

import json
import shutil
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
    # hci_ipc image is <app key>/hci_ipc (the module's CMakeLists.txt).
    for app_key in ("nrf5340dk_nrf5340_cpuapp", "motionsense_hrv3_nrf5340_cpuapp"):
        assert {app_key, f"{app_key}/hci_ipc"} <= set(budgets)
        app = budgets[app_key]
        # The compact encoder's totals: 160 KB flash, 52 KB RAM (within the product's 256 KB / 64 KB).
        assert (app.totals.flash, app.totals.ram) == (160 * 1024, 52 * 1024)
        net = budgets[f"{app_key}/hci_ipc"]
        assert (net.totals.flash, net.totals.ram) == (200 * 1024, 56 * 1024)
        code, _, err = run_cli([firmware.elf, "--budget", path, "--board", app_key, "-q"], capsys)
        assert code == 0, err
    # Sensor variants (CONFIG_APP_SIZE_BUDGET_VARIANT) are <board>_<variant>, under the same totals.
    variant = budgets["nrf5340dk_nrf5340_cpuapp_max30101"]
    assert (variant.totals.flash, variant.totals.ram) == (160 * 1024, 52 * 1024)


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
