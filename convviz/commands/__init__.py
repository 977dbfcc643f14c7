"""Sub-commands of ``convviz``, one module each, registered by ``convviz.cli``.

Each module has ``register(subparsers)``, adding its parser with ``set_defaults(run=...)``. Module
level code stays free of torch: ``convviz summary`` must run (fast) where torch is not imported.
"""
