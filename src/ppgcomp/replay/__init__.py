"""Replay tools: the firmware's Python reference and the files that drive a native_sim replay.

* :mod:`~ppgcomp.replay.reference`: the Python reference of the firmware (replay files, packets, expected MAE).
* :mod:`~ppgcomp.replay.make_replay`: its command line (``ppgcomp-make-replay``, scripts/make_replay.py).
"""
