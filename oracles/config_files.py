"""Configuration files (``oracle.yaml``, register maps, SunSpec maps): a YAML or TOML file read
into a mapping, then checked by a pydantic model; what goes wrong is one line naming the file and
the first invalid field."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from oracles.errors import OracleConfigError

_Model = TypeVar("_Model", bound=BaseModel)


CONFIG_SUFFIXES = (".yaml", ".yml", ".toml")
"""The endings of a configuration file (TOML for ``.toml``, YAML otherwise)."""


def shipped_names(folder: Path, suffixes: Sequence[str] = CONFIG_SUFFIXES) -> list[str]:
    """The names (without their ending) of the files in ``folder`` that end in ``suffixes``."""
    return sorted(p.stem for p in folder.iterdir() if p.suffix in suffixes)


def shipped_or_file(
    name_or_path: str | Path,
    folder: Path,
    what: str,
    *,
    suffixes: Sequence[str] = CONFIG_SUFFIXES,
    error: type[Exception] = OracleConfigError,
) -> Path:
    """The file ``name_or_path``, else the file of that name shipped in ``folder``; one line of
    ``error`` naming ``what`` (``"register map"``) and the shipped names when neither exists."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    for suffix in suffixes:
        candidate = folder / f"{name_or_path}{suffix}"
        if candidate.is_file():
            return candidate
    raise error(
        f"{what} {str(name_or_path)!r} is neither a file nor a shipped map "
        f"({', '.join(shipped_names(folder, suffixes))})"
    )


def read_config_mapping(
    path: Path, what: str, *, error: type[Exception] = OracleConfigError
) -> dict[str, Any]:
    """The mapping a YAML (or ``.toml``) file of ``what`` (``"oracle config"``) holds; one line
    of ``error`` naming ``what`` and ``path`` (and a YAML mistake's line) when it cannot be read
    or holds something else."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise error(f"{what} {path}{where}: {exc.problem}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise error(f"{what} {path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise error(f"{what} {path} must hold a mapping")
    return data


def validate_config_file(
    model: type[_Model],
    data: dict[str, Any],
    *,
    path: Path,
    what: str,
    top: str,
    error: type[Exception] = OracleConfigError,
) -> _Model:
    """``data`` read from ``path`` as ``model``; else one line of ``error``,
    ``{what} {path}: {field}: {message}`` of the first invalid field (``top`` names the file's
    top level), with how many more there are."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        # A validator function's own step in the location names code, not the file's field.
        where = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-"))
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise error(f"{what} {path}: {where or top}: {first['msg']}{more}") from None
