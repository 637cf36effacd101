"""Constants shared across the package, each defined once here (or in the stage that owns it).

The geometry is decided in Python; the exporter emits it into the firmware's generated header, so C takes it
from there rather than repeating it.
"""

from pathlib import Path

MODEL_RATE_HZ = 25
WINDOW_LEN = 400  # 16 s at 25 Hz
WARMUP_LEN = 200  # first 8 s warm the HR model up
TARGET_LEN = WINDOW_LEN - WARMUP_LEN  # last 8 s are the HR target
TRAIN_HOP = 50  # 2 s
CODE_LEN = 16
DETREND_HALF = 12  # moving-average detrend over 2*12+1 = 25 samples (1 s), docs/preprocessing.md
MAX_DECIMATION = 128  # the highest sensor rate the integer decimator takes: 25 Hz * 128

# The encoder's input quantisation is fixed by the preprocessing spec: q = round(x01 * 255) - 128.
INPUT_SCALE = 1.0 / 255.0
INPUT_ZERO_POINT = -128

# The device's default encoder hop in 25 Hz samples (8 s): the firmware's CONFIG_APP_ENCODE_HOP_SAMPLES default.
DEVICE_DEFAULT_HOP = 200

# How the generated files and the report name the train-and-export command (its arguments follow).
TRAIN_EXPORT_COMMAND = "python scripts/train_export.py"

# The artefact folder that train_export writes (--out) and the receiver and replay tools read (--artifacts).
ARTIFACTS_DIR = Path("artifacts")
TFLITE_FILE = "encoder_int8.tflite"
MODEL_INFO_FILE = "model_info.json"
DECODER_FILE = "decoder.keras"
ENCODER_FLOAT_FILE = "encoder_float.keras"  # the float encoder (the real-data benchmark's float-AE line)
HR_MODEL_FILE = "hr_model.keras"
HR_MODEL_RAW_FILE = "hr_model_raw.keras"
GOLDEN_VECTORS_FILE = "golden_vectors.npz"
REPORT_JSON_FILE = "report.json"
REPORT_MD_FILE = "report.md"

# The checkout this package runs from (src/ppgcomp/constants.py -> the repository root; the package is installed
# editable, `pip install -e .`). The firmware-tree tools resolve their defaults against it.
REPO_ROOT = Path(__file__).resolve().parents[2]

# Where the exporter writes into the firmware tree (paths relative to the repository root).
# Encoder architectures (--arch): "conv" (default) stores each distinct weight once, "dense" is the seed's
# 400-256-64-16. `--arch both` trains dense into <out>/DENSE_SUBDIR first and compares the two in report.md.
ENCODER_ARCHS = ("conv", "dense")
DEFAULT_ENCODER_ARCH = "conv"
DENSE_SUBDIR = "dense"
# The TFLM arena the exporter emits (Kconfig PPG_MODEL_ARENA_BYTES) at most: the device budget. The host's
# measurement (64-bit pointers, reference kernels) overstates the 32-bit device's need; the device's own figure
# is measured by the encoder cost benchmark, and a model that needs more fails the firmware's golden tests.
ARENA_BUDGET_BYTES = 2048
FIRMWARE_MODEL_DIR = Path("lib/encoder_model")  # generated model sources and Kconfig fragment
FIRMWARE_GOLDEN_DIR = Path("tests/golden")  # generated golden vectors for the firmware tests
# The model as an over-the-air blob (docs/model_blob.md), written next to the C source; its golden windows (the
# first BLOB_GOLDEN_WINDOWS of the golden vectors) are also the built-in model's boot self-test.
BLOB_FILE = "ppg_encoder_model.blob"
BLOB_GOLDEN_WINDOWS = 4
MODEL_BLOB_FIXTURES_DIR = Path("tests/fixtures/model_blobs")  # fixture blobs for the firmware and BabbleSim tests
