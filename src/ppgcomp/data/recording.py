"""The in-memory form every data source produces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DataError(ValueError):
    """Bad input data. The message is one line that names the file and the problem."""


@dataclass
class Recording:
    """One subject's PPG at 25 Hz (int32 counts, already decimated) with a per-sample HR label in bpm."""

    subject: str
    ppg: np.ndarray  # int32, 25 Hz
    hr_bpm: np.ndarray  # float32, one value per 25 Hz sample; NaN where the reference is unusable (windows left out)
    rate_path: str = ""  # how the PPG reached 25 Hz (ppgcomp.data.rate.RatePath.describe())
    label_source: str = ""  # where the HR labels come from
    # Largest |label - the file's own HR reference| in bpm, where the file has one (report: within 1 bpm)
    label_check_bpm: float | None = None

    def __post_init__(self) -> None:
        if self.ppg.shape != self.hr_bpm.shape:
            raise DataError(f"{self.subject}: PPG and HR label lengths differ ({self.ppg.size} vs {self.hr_bpm.size})")
