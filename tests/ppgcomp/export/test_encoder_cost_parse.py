"""The encoder cost benchmark's reading of the QEMU console (the lines tests/benchmarks/encoder_cost prints)."""

from ppgcomp.export.encoder_cost import DEFAULT_VARIANT, VARIANTS, Result, parse

CONSOLE = """\
*** Booting Zephyr OS build 4.3.0 ***
BENCH kernel=cmsis_nn dsp=1 macs=13888 windows=8 passes=2
BENCH calib loop_instr=2000000 cycles=39999 overhead_cycles=1
[00:00:00.010,000] <inf> tflm_encoder: encoder ready: 3 ops, arena 1860/2048 bytes
BENCH run window=0 instr=48851
BENCH run window=1 instr=48901
BENCH result instr_per_inference=48876 instr_min=48851 instr_max=48901 instr_per_mac_milli=3519
BENCH golden mismatched_windows=0 mismatched_codes=0
BENCH golden ok
BENCH done
"""


def test_every_figure_is_read():
    res = Result(variant="cmsis_nn_dsp", description="")
    parse(CONSOLE, res)
    assert (res.kernel, res.dsp, res.macs, res.windows) == ("cmsis_nn", 1, 13888, 8)
    assert (res.ops, res.arena_used_bytes, res.arena_bytes) == (3, 1860, 2048)
    assert res.per_window == [48851, 48901]
    assert (res.instr_per_inference, res.instr_min, res.instr_max) == (48876, 48851, 48901)
    assert res.instr_per_mac == round(48876 / 13888, 3)
    assert res.golden_ok and res.mismatched_codes == 0


def test_a_golden_mismatch_is_not_ok():
    res = Result(variant="x", description="")
    parse(CONSOLE.replace("BENCH golden ok\n", "").replace("mismatched_codes=0", "mismatched_codes=3"), res)
    assert not res.golden_ok and res.mismatched_codes == 3


def test_the_default_variant_is_the_apps_configuration():
    """nrf5340dk_nrf5340_cpuapp: CMSIS-NN kernels, DSP extension, the committed model."""
    v = VARIANTS[DEFAULT_VARIANT]
    assert v.model == "committed"
    assert "CONFIG_TFLM_KERNELS_CMSIS_NN=y" in v.configs and "CONFIG_BENCH_ENCODER_DSP=y" in v.configs
