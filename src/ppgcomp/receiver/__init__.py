"""Host receiver for the device's code packets: BLE (bleak) or a native_sim replay -> HR in bpm.

* :mod:`~ppgcomp.receiver.session`: packets -> ordered windows -> HR rows (one decoding path, CodeDecoder).
* :mod:`~ppgcomp.receiver.models`: the artefact folders by model tag and SHA-256 (the decoder each packet needs).
* :mod:`~ppgcomp.receiver.replay`: native_sim hex-line files into a session.
* :mod:`~ppgcomp.receiver.ble`: GATT client loop (model check, pairing, reconnect with back-off).
* :mod:`~ppgcomp.receiver.timeline`: the per-sample HR timeline, reference files and MAE.
* :mod:`~ppgcomp.receiver.output`: CSV rows and plots.
* :mod:`~ppgcomp.receiver.stream`: the stream state: malformed packets counted, duplicates dropped, sequence
  numbers followed (gaps, late backlog packets, restarts).
* :mod:`~ppgcomp.receiver.cli`: the command line (``ppgcomp-receive``, scripts/receive.py).
* :mod:`~ppgcomp.receiver.bench`: replay decoding throughput (``ppgcomp-bench-receive``).

The replay files and reference packets the receiver is tested with come from :mod:`ppgcomp.replay`.

Heavy imports (TensorFlow, bleak, matplotlib) happen inside the functions that need them, so bad command-line
input is refused before any of them load.
"""
