"""Compiling: determinism, the cache, and errors reported as file:line.

Each compile starts solc-js (about 1.2 CPU-s); the tests that only read a first compile's result
and its build folder, or compile the same sources again into a copy of that folder, share one
(``compiled_once``); the others compile their own project.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from chain import compiler
from chain.compiler import CompileResult, compile_contracts
from chain.errors import CompileError

COUNTER = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract Counter is Ownable {
    uint256 public count;

    constructor() Ownable(msg.sender) {}

    function bump() external onlyOwner {
        count += 1;
    }
}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "Counter.sol").write_text(COUNTER)
    return tmp_path


def _compile(project: Path, **kwargs: object) -> object:
    return compile_contracts(project / "contracts", project / "build", **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Compiled:
    """A project compiled once, and what its first compile returned."""

    project: Path
    first: CompileResult

    def own_build(self, folder: Path) -> Path:
        """A copy of the first compile's build folder (artifacts and cache record) in
        ``folder``, for a test that compiles the same sources again into it."""
        return Path(shutil.copytree(self.project / "build", folder / "build"))


@pytest.fixture(scope="module")
def compiled_once(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    """The ``project`` of Counter compiled once, for the tests that only read it (a compile
    that finds its cache writes nothing)."""
    project = tmp_path_factory.mktemp("project")
    (project / "contracts").mkdir()
    (project / "contracts" / "Counter.sol").write_text(COUNTER)
    return Compiled(project, compile_contracts(project / "contracts", project / "build"))


def test_compile_writes_one_artifact_per_contract(compiled_once: Compiled) -> None:
    result, project = compiled_once.first, compiled_once.project
    assert sorted(result.artifacts) == ["Counter"]
    artifact = result.artifacts["Counter"]
    assert artifact.bytecode.startswith("0x60")
    assert any(item.get("name") == "bump" for item in artifact.abi)
    assert artifact.settings["evmVersion"] == "prague"
    assert artifact.compiler.startswith("0.8.37")
    assert (project / "build" / "contracts" / "Counter.json").is_file()


def test_same_inputs_give_byte_identical_artifacts(compiled_once: Compiled, tmp_path: Path) -> None:
    build = compiled_once.own_build(tmp_path)
    first = (build / "contracts" / "Counter.json").read_bytes()
    compile_contracts(compiled_once.project / "contracts", build, force=True)
    second = (build / "contracts" / "Counter.json").read_bytes()
    assert first == second


def test_unchanged_sources_are_not_recompiled(compiled_once: Compiled) -> None:
    first, project = compiled_once.first, compiled_once.project
    second = compile_contracts(project / "contracts", project / "build")
    assert not first.cached
    assert second.cached
    assert second.input_hash == first.input_hash


def test_changed_source_invalidates_the_cache(project: Path) -> None:
    first = compile_contracts(project / "contracts", project / "build")
    source = project / "contracts" / "Counter.sol"
    source.write_text(source.read_text().replace("count += 1;", "count += 2;"))
    second = compile_contracts(project / "contracts", project / "build")
    assert not second.cached
    assert second.input_hash != first.input_hash
    assert second.artifacts["Counter"].bytecode != first.artifacts["Counter"].bytecode


def test_changed_settings_invalidate_the_cache(compiled_once: Compiled, tmp_path: Path) -> None:
    first, build = compiled_once.first, compiled_once.own_build(tmp_path)
    settings = {"evmVersion": "cancun", "optimizer": {"enabled": True, "runs": 200}}
    second = compile_contracts(compiled_once.project / "contracts", build, settings)
    assert not second.cached
    assert second.input_hash != first.input_hash


def test_compiler_error_is_reported_as_file_and_line(project: Path) -> None:
    broken = COUNTER.replace("count += 1;", "count += 1")
    (project / "contracts" / "Counter.sol").write_text(broken)
    with pytest.raises(CompileError) as caught:
        compile_contracts(project / "contracts", project / "build")
    line = broken.splitlines().index("    }") + 1  # solc points at the token after the gap
    assert caught.value.messages[0].startswith(f"contracts/Counter.sol:{line}: ParserError:")
    assert not (project / "build" / "contracts").exists()


def test_missing_import_is_reported_with_its_location(project: Path) -> None:
    (project / "contracts" / "Broken.sol").write_text(
        '// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\nimport "./Nope.sol";\n'
    )
    with pytest.raises(CompileError) as caught:
        compile_contracts(project / "contracts", project / "build")
    assert any(m.startswith("contracts/Broken.sol:3:") for m in caught.value.messages)


def test_solc_stand_in_works_for_py_solc_x(project: Path) -> None:
    """brownie and py-solc-x call the script as if it were the native solc binary."""
    import solcx

    from chain.paths import SOLC_SCRIPT

    assert str(solcx.get_solc_version.__module__)  # the module imports offline
    out = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"Counter.sol": {"content": COUNTER}},
            "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
        },
        solc_binary=SOLC_SCRIPT,
        allow_paths=str(project),
    )
    assert "Counter" in out["contracts"]["Counter.sol"]


def test_the_compiler_is_asked_its_version_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every compile needs the version (it is part of the cache key); a node start for it each
    time would cost about 0.5 CPU-s."""
    asked: list[list[str]] = []

    def run(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        asked.append(command)
        return subprocess.CompletedProcess(command, 0, stdout="Version: 0.8.37+commit.test\n")

    monkeypatch.setattr(compiler.subprocess, "run", run)
    compiler._ask_version.cache_clear()
    try:
        assert compiler.compiler_version() == compiler.compiler_version() == "0.8.37+commit.test"
    finally:
        compiler._ask_version.cache_clear()  # the next compile asks the real one
    assert asked == [[*compiler.solc_command(), "--version"]]
