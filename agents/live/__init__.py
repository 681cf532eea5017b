"""The live agent: a policy trading for its owner on chain through a delegated agent key.

- :mod:`agents.live.runtime`   ``AgentRuntime``: the step (reconcile, claim, decide, place)
- :mod:`agents.live.forecasts` ``SlotForecast``, ``ReplayForecaster``
- :mod:`agents.live.policies`  ``SlotContext``, the runtime policies, ``load_policy``
- :mod:`agents.live.deciding`  ``Decider``: forecasts -> policy -> battery -> plans
- :mod:`agents.live.placing`   ``OrderDesk``: the contract's rules checked, intents made durable
- :mod:`agents.live.claiming`  ``Settlement``: reconciling intents, claiming cleared orders
- :mod:`agents.live.link`      ``ChainLink``: reads with retries, prices, the decision log
- :mod:`agents.live.state`     the durable state as typed dataclasses (one JSON file)
- :mod:`agents.live.reports`   what a step did
"""
