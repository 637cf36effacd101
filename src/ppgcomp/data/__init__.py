"""PPG recordings: the built-in synthetic generator, real-data loaders, HR labels and windowing."""

from ppgcomp.data.recording import DataError, Recording

__all__ = ["DataError", "Recording"]
