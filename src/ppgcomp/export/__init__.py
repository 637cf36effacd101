"""Export stage: the trained encoder -> int8 TFLite -> checked -> C sources for the firmware.

* :mod:`~ppgcomp.export.convert`: Keras -> int8 TFLite, and the checks of the firmware's contract (ops, layouts).
* :mod:`~ppgcomp.export.fold`: the conv encoder's RESHAPEs folded into their consumers (integer-exact).
* :mod:`~ppgcomp.export.verify`: TFLite and TFLM against Keras.
* :mod:`~ppgcomp.export.emit`: the firmware model sources, Kconfig fragment, model blob and golden vectors;
  :mod:`~ppgcomp.export.reemit` the same from committed artefacts (``train_export.py --emit-only``).
* :mod:`~ppgcomp.export.model_blob`: the over-the-air model blob (docs/model_blob.md): writer, parser, validator.
* :mod:`~ppgcomp.export.tflm_host`: TFLM's Python runtime on a .tflite's bytes (codes, arena).
* :mod:`~ppgcomp.export.blob_fixtures`: the fixture blobs of tests/fixtures/model_blobs (``make_model_blobs.py``).
* :mod:`~ppgcomp.export.cgen`: the C-generation helpers it uses (templates/, byte arrays, file writing).
* :mod:`~ppgcomp.export.encoder_cost`: the encoder's cost on a Cortex-M33 in QEMU (``ppgcomp-bench-encoder-cost``).
"""
