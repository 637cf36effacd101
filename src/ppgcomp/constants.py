"""Geometry constants decided in Python; the exporter emits them into the firmware's generated header."""

MODEL_RATE_HZ = 25
WINDOW_LEN = 400  # 16 s at 25 Hz
WARMUP_LEN = 200  # first 8 s warm the HR model up
TARGET_LEN = WINDOW_LEN - WARMUP_LEN  # last 8 s are the HR target
TRAIN_HOP = 50  # 2 s
CODE_LEN = 16
DETREND_HALF = 12  # moving-average detrend over 2*12+1 = 25 samples (1 s), docs/preprocessing.md
MAX_DECIMATION = 128

# The encoder's input quantisation is fixed by the preprocessing spec: q = round(x01 * 255) - 128.
INPUT_SCALE = 1.0 / 255.0
INPUT_ZERO_POINT = -128
