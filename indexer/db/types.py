"""Column types shared by the models and the migrations.

On-chain amounts are unsigned 256-bit integers. PostgreSQL stores them exactly as
``NUMERIC(78, 0)``; SQLite has 64-bit integers only, so there an amount beyond that range is
refused with :class:`ValueOutOfRangeError` instead of silently becoming a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from indexer.errors import ValueOutOfRangeError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class Amount(TypeDecorator[int]):
    """An integer of up to 78 decimal digits (uint256 and signed deltas), exact on PostgreSQL."""

    impl = Numeric(78, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(78, 0))
        return dialect.type_descriptor(BigInteger())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = int(value)
        if dialect.name != "postgresql" and not INT64_MIN <= number <= INT64_MAX:
            raise ValueOutOfRangeError(
                f"{number} does not fit a 64-bit SQLite integer: use PostgreSQL for this chain"
            )
        return number

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return int(value)
        return int(value)
