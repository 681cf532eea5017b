"""The Enerwise application shell: settings, the ``enerwise`` command line and the demo.

The domain lives in the packages beside this one: ``chain`` (compile, node, deploy, handles),
``wallet`` (signers, transactions), ``market`` (clearing rule, indexer), ``oracles``, ``agents``.
"""
