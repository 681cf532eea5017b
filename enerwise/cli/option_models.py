"""Validated options of the learning commands (``agent train|eval``, ``forecast eval``).

Pydantic models, imported only when such a command runs: the command line starts without
loading pydantic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.errors import ConfigError

_M = TypeVar("_M", bound=BaseModel)


class TrainOptions(BaseModel):
    """Validated options of ``agent train``."""

    model_config = ConfigDict(frozen=True)

    algo: str = Field(
        pattern="^(ppo|dqn|imitation|shared|book_model|community_residual|tick_model)$"
    )
    steps: int = Field(ge=1000, le=20_000_000)
    seed: int = Field(ge=0)
    out: Path
    forecast: str = Field(pattern="^(naive|lightgbm|validated|oracle)$")
    households: int = Field(ge=1, le=50)
    checkpoint_every: int = Field(ge=0)
    first_month: int = Field(ge=1, le=9)
    last_month: int = Field(ge=1, le=9)
    year: int = Field(ge=2015, le=2018)
    samples: int = Field(ge=1, le=100_000)
    seeds: list[int] = Field(min_length=1, max_length=10)
    gain: float = Field(ge=0.0, le=4.0)
    reach: float | None = Field(None, ge=0.0, le=1.0)
    pricing: str | None = Field(None, pattern="^(book|halfway|scenarios|predicted)$")
    others: str = Field(pattern="^(zip|truthful)$")
    reward: str = Field(pattern="^(own|community)$")
    shrink: list[Annotated[float, Field(ge=0.0, le=1.0)]] = Field(min_length=1, max_length=4)
    market: str = Field("open", pattern="^(open|sealed)$")
    iterations: int | None = Field(None, ge=1, le=10_000)
    workers: int | None = Field(None, ge=1, le=64)


class CommunityEvalOptions(BaseModel):
    """Validated options of ``agent eval-community``."""

    model_config = ConfigDict(frozen=True)

    shared: list[Path] = Field(max_length=10)
    community_residual: list[Path] = Field([], max_length=10)
    rules: list[str] = Field(max_length=10)
    forecast: str = Field(pattern="^(naive|lightgbm|validated|oracle)$")
    year: int = Field(ge=2015, le=2018)
    days: int | None = Field(None, ge=1, le=92)
    regions: list[Annotated[int, Field(ge=1, le=15)]] = Field([4], min_length=1, max_length=15)


class EvalOptions(BaseModel):
    """Validated options of ``agent eval``."""

    model_config = ConfigDict(frozen=True)

    quick: bool
    households: int | None = Field(None, ge=1, le=50)
    days: int | None = Field(None, ge=1, le=92)
    forecast: str = Field(pattern="^(naive|lightgbm|validated|oracle)$")
    ppo: list[Path]
    dqn: list[Path]
    imitation: list[Path]
    book_model: list[Path]
    book_ensemble: list[Path]
    book_shrink: list[Annotated[float, Field(ge=0.0, le=1.0)]] | None = Field(
        None, min_length=1, max_length=4
    )
    rules: list[str]
    year: int = Field(ge=2015, le=2018)
    community: bool
    market: str = Field(pattern="^(open|sealed)$")
    book_pricing: str | None = Field(None, pattern="^(book|halfway|scenarios|predicted)$")
    book_reach: float | None = Field(None, ge=0.0, le=1.0)
    spoof_kwh: float | None = Field(None, gt=0.0, le=1000.0)
    others: str = Field(pattern="^(zip|truthful)$")
    regions: list[Annotated[int, Field(ge=1, le=15)]] = Field([4], min_length=1, max_length=15)


def validated(cls: type[_M], **values: object) -> _M:
    try:
        return cls(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid option {where}: {first['msg']}") from exc


class ForecastEvalOptions(BaseModel):
    """Validated options of ``forecast eval``."""

    model_config = ConfigDict(frozen=True)

    quick: bool = False
    validation_from_month: int = Field(7, ge=2, le=11)
    test_from_month: int = Field(10, ge=3, le=12)
    test_to_month: int = Field(12, ge=3, le=12)
    lgbm_rounds: int | None = Field(None, ge=10, le=5000)
    lstm_epochs: int | None = Field(None, ge=1, le=200)
    patchtst_epochs: int | None = Field(None, ge=1, le=200)
    seed: int = Field(0, ge=0)
