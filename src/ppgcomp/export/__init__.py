"""Export stage: the trained encoder -> int8 TFLite -> checked -> C sources for the firmware.

* :mod:`~ppgcomp.export.convert`: Keras -> int8 TFLite, and reading its tensors.
* :mod:`~ppgcomp.export.verify`: TFLite and TFLM against Keras.
* :mod:`~ppgcomp.export.emit`: the firmware model sources, Kconfig fragment and golden vectors.
* :mod:`~ppgcomp.export.interleave`: the FC weights interleaved for the ppg_fc kernel (``ppgcomp-emit-interleaved``).
* :mod:`~ppgcomp.export.cgen`: the C-generation helpers both share (templates/, byte arrays, file writing).
"""
