"""The wire protocol of docs/protocol.md.

* :mod:`~ppgcomp.protocol.packet`: 20-byte code packets and native_sim hex lines.
* :mod:`~ppgcomp.protocol.gatt`: the model-info and stats GATT records.

The receiver's stream state (sequence numbers, duplicates) is :mod:`ppgcomp.receiver.stream`.
"""
