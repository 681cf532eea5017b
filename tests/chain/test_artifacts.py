"""``load_artifact`` reads each version of an artifact file once: the same file gives the same
object, a rewritten file (a recompile) is read afresh, a missing one is a clear error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chain.artifacts import Artifact, artifact_version, load_artifact, write_artifact
from chain.errors import DeploymentError


def artifact(abi_names: list[str]) -> Artifact:
    return Artifact(
        name="Meter",
        source="contracts/Meter.sol",
        abi=[{"type": "function", "name": n, "inputs": [], "outputs": []} for n in abi_names],
        bytecode="0x6000",
        deployed_bytecode="0x00",
        source_hash="h",
        compiler="0.8.37",
        settings={},
    )


@pytest.fixture
def build(tmp_path: Path) -> Path:
    (tmp_path / "contracts").mkdir()
    write_artifact(tmp_path / "contracts" / "Meter.json", artifact(["read"]))
    return tmp_path


def test_an_unchanged_artifact_is_read_once(build: Path) -> None:
    assert load_artifact("Meter", build) is load_artifact("Meter", build)


def test_a_rewritten_artifact_is_read_afresh(build: Path) -> None:
    before = load_artifact("Meter", build)
    path = build / "contracts" / "Meter.json"
    write_artifact(path, artifact(["read", "write"]))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    after = load_artifact("Meter", build)
    assert [f["name"] for f in before.abi] == ["read"]
    assert [f["name"] for f in after.abi] == ["read", "write"]


def test_a_missing_artifact_names_the_file_and_the_fix(build: Path) -> None:
    with pytest.raises(
        DeploymentError, match=r"no artifact for Grid at .*Grid\.json: run `enerwise chain compile`"
    ):
        load_artifact("Grid", build)


def test_a_directory_is_not_an_artifact(build: Path) -> None:
    (build / "contracts" / "Grid.json").mkdir()
    with pytest.raises(DeploymentError, match="no artifact for Grid"):
        artifact_version("Grid", build)
