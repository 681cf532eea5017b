"""Compiled contract artifacts: ABI, bytecode and how they were made."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG
from typing import Any

from chain.errors import DeploymentError
from chain.paths import build_dir


@dataclass(frozen=True)
class Artifact:
    """One compiled contract, as written to ``build/contracts/<name>.json``."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    source_hash: str
    compiler: str
    settings: dict[str, Any]

    @classmethod
    def from_solc(
        cls,
        name: str,
        source: str,
        compiled: dict[str, Any],
        *,
        source_hash: str,
        compiler: str,
        settings: dict[str, Any],
    ) -> Artifact:
        evm = compiled["evm"]
        return cls(
            name=name,
            source=source,
            abi=compiled["abi"],
            bytecode="0x" + evm["bytecode"]["object"],
            deployed_bytecode="0x" + evm["deployedBytecode"]["object"],
            source_hash=source_hash,
            compiler=compiler,
            settings=settings,
        )

    @classmethod
    def load(cls, path: Path) -> Artifact:
        return cls(**json.loads(path.read_text()))


def write_artifact(path: Path, artifact: Artifact) -> None:
    path.write_text(json.dumps(asdict(artifact), indent=2, sort_keys=True) + "\n")


def load_artifact(name: str, directory: Path | None = None) -> Artifact:
    """The artifact of contract ``name``; run ``enerwise chain compile`` first.

    Read once per version of the file (its path, modification time and size): every façade,
    deployment and revert decoder loads artifacts, and parsing the JSON again each time (code,
    ABI, metadata) was a few seconds of every test run's CPU. A recompile writes new files, which
    are read afresh.
    """
    return _load(*artifact_version(name, directory))


def artifact_version(name: str, directory: Path | None = None) -> tuple[str, int, int]:
    """Which file :func:`load_artifact` reads for ``name`` and which version of it: (its path,
    modification time in ns, size); a key for caches of what is derived from artifacts.

    Raises:
        DeploymentError: no artifact file for ``name``.
    """
    path = (directory or build_dir()) / "contracts" / f"{name}.json"
    try:
        stat = path.stat()
    except OSError:
        stat = None
    if stat is None or not S_ISREG(stat.st_mode):
        raise DeploymentError(f"no artifact for {name} at {path}: run `enerwise chain compile`")
    return str(path), stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=256)
def _load(path: str, mtime_ns: int, size: int) -> Artifact:
    del mtime_ns, size  # the cache's key only
    return Artifact.load(Path(path))
