"""``enerwise demo``: a community market day on a local chain, end to end.

One concept per module:

- :mod:`~enerwise.demo.config`: the run's settings and its error (:class:`DemoError`);
- :mod:`~enerwise.demo.community`: households from the real-data model, their accounts,
  meters, vault deposits and agent delegations;
- :mod:`~enerwise.demo.meters`: Modbus, MQTT and in-process meters read by the oracles;
- :mod:`~enerwise.demo.traders` and :mod:`~enerwise.demo.trading`: truthful baselines and
  pretrained agents (``agents.live``) placing and claiming orders;
- :mod:`~enerwise.demo.services`: the indexer and the API (and dApp) on ``127.0.0.1``;
- :mod:`~enerwise.demo.run`: the slot loop and the clean-up;
- :mod:`~enerwise.demo.ledger`: the day read back from the chain, with conservation checks;
- :mod:`~enerwise.demo.report`: ``report.json`` and the PNG plots;
- :mod:`~enerwise.demo.live`: the Rich live view's renderables.

The package itself imports only the configuration, so that a user's mistake (a port in use,
a bad flag) is reported before the heavy modules (pandas, web3, torch) load; the run lives
in :func:`enerwise.demo.run.run_demo`.
"""

from enerwise.demo.config import DemoConfig, DemoError, check_port_free

__all__ = ["DemoConfig", "DemoError", "check_port_free"]
