"""Integer signal path shared bit-exactly with the firmware (see docs/preprocessing.md)."""
