"""Task-specific PPG compression: training, export, size analysis and receiving for the nRF5340 firmware.

The subpackages follow the pipeline's stages:

* :mod:`ppgcomp.data`: recordings, loaders (synthetic, CSV, OSU, DaLiA/WESAD, WFDB), HR labels, windows.
* :mod:`ppgcomp.dsp`: the bit-exact Python reference of the firmware's decimation and preprocessing.
* :mod:`ppgcomp.training`: models, QAT, training, the train-and-export job and its command line, the report,
  decoding (codes -> HR).
* :mod:`ppgcomp.export`: TFLite conversion, verification, the generated C (model, golden vectors) and the
  encoder cost benchmark.
* :mod:`ppgcomp.protocol`: the packet wire format and the GATT records.
* :mod:`ppgcomp.receiver`: the host receiver (replay or BLE) and its stream state.
* :mod:`ppgcomp.replay`: the firmware's Python reference and the replay files for native_sim.
* :mod:`ppgcomp.elfsize`: flash/RAM size report and budget check of a firmware ELF.

:mod:`ppgcomp.constants` holds what several stages share; the commands are ``[project.scripts]`` in pyproject.toml.
"""

__version__ = "0.1.0"
