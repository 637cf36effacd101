"""Training stage: the models, QAT, training (in memory, streaming, distributed), the train-and-export job and its
command line, the quality report, and decoding (codes -> reconstruction -> HR).

* :mod:`~ppgcomp.training.models`: the encoder, decoder and HR model.
* :mod:`~ppgcomp.training.qat`: quantisation-aware training of the encoder.
* :mod:`~ppgcomp.training.train`: the staged training loops (in memory and streamed) and prediction.
* :mod:`~ppgcomp.training.streaming`: windows streamed from disk (``--stream``).
* :mod:`~ppgcomp.training.distributed`: multi-worker training (TF_CONFIG, ``--workers N``).
* :mod:`~ppgcomp.training.pipeline`: the job: data -> windows -> training -> export -> report.
* :mod:`~ppgcomp.training.cli`: its command line (``ppgcomp-train-export``, scripts/train_export.py).
* :mod:`~ppgcomp.training.report`: HR MAE, compression figures and report.md.
* :mod:`~ppgcomp.training.decoding`: the one decoding path shared by the report and the receiver.

TensorFlow is imported by the modules that need it, not by this package.
"""
