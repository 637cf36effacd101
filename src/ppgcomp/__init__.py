"""Task-specific PPG compression: training, export, size analysis and receiving for the nRF5340 firmware."""

__version__ = "0.1.0"
