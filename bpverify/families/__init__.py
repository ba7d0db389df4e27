"""The families of items, one folder each, every folder built of the same role modules.

Rule: a family folder is reached only through :mod:`bpverify.registry` (its ``__init__`` holds
the ``FAMILY`` record, nothing else); families never import each other; a family's worker-side
modules (``contract``, ``finder``, ``scenarios``) import numpy and bpverify's ``contract``,
``options``, ``registry`` and ``submission`` only.  The roles are listed in
:mod:`bpverify.registry`.
"""
