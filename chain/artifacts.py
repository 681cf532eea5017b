"""Compiled contract artifacts: ABI, bytecode and how they were made."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
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
    """The artifact of contract ``name``; run ``enerwise chain compile`` first."""
    path = (directory or build_dir()) / "contracts" / f"{name}.json"
    if not path.is_file():
        raise DeploymentError(f"no artifact for {name} at {path}: run `enerwise chain compile`")
    return Artifact.load(path)
