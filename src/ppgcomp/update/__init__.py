"""Over-the-air updates over BLE (MCUmgr's SMP, via smpclient): ``ppgcomp-update``, docs/update.md.

* :mod:`~ppgcomp.update.cli`: the command line (``ppgcomp-update``, scripts/update.py) and its exit codes.
* :mod:`~ppgcomp.update.link`: the SMP link (connect by name or address, retries, errors -> exceptions).
* :mod:`~ppgcomp.update.smp_group`: our "ppg model" SMP group (docs/smp_model_group.md) as smp messages.
* :mod:`~ppgcomp.update.model`: a model blob upload with resume; :mod:`~ppgcomp.update.blob`: its host checks.
* :mod:`~ppgcomp.update.image`: a firmware image through image management and MCUboot's test/confirm flow.
* :mod:`~ppgcomp.update.progress`: the progress bar.
"""
