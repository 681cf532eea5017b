"""Monthly bills per household: one computation, fed by the chain or by the indexer.

- :mod:`billing.bill`         the facts of a month -> a reconciled :class:`~billing.bill.Bill`
  (imports nothing of the chain or a database)
- :mod:`billing.chain_facts`  a month's facts straight from the chain (events and views)
- ``indexer.billing``         the same facts from the indexer's tables (served by the API)

``enerwise operator billing`` and ``GET /v1/operator/billing`` compute with the same code, so the
operator tooling and the indexer never import each other.
"""
