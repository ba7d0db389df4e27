"""The lecture's gates (``AddGate``, ``MultiplyGate``, ... ``SigmoidNeuron``): classes with
``forward`` and ``backward``, each checked against the JAX oracle and centred differences."""

from bpverify.registry import Family

FAMILY = Family(name="gates", title="the lecture's gates", categories=("gate",),
                default_contract=True)
