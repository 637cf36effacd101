"""Export stage: the trained encoder -> int8 TFLite -> checked -> C sources for the firmware.

* :mod:`~ppgcomp.export.convert`: Keras -> int8 TFLite, and the checks of the firmware's contract (ops, layouts).
* :mod:`~ppgcomp.export.fold`: the conv encoder's RESHAPEs folded into their consumers (integer-exact).
* :mod:`~ppgcomp.export.verify`: TFLite and TFLM against Keras.
* :mod:`~ppgcomp.export.emit`: the firmware model sources, Kconfig fragment and golden vectors.
* :mod:`~ppgcomp.export.cgen`: the C-generation helpers it uses (templates/, byte arrays, file writing).
* :mod:`~ppgcomp.export.encoder_cost`: the encoder's cost on a Cortex-M33 in QEMU (``ppgcomp-bench-encoder-cost``).
"""
