"""Compiling: determinism, the cache, and errors reported as file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.compiler import compile_contracts
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


def test_compile_writes_one_artifact_per_contract(project: Path) -> None:
    result = compile_contracts(project / "contracts", project / "build")
    assert sorted(result.artifacts) == ["Counter"]
    artifact = result.artifacts["Counter"]
    assert artifact.bytecode.startswith("0x60")
    assert any(item.get("name") == "bump" for item in artifact.abi)
    assert artifact.settings["evmVersion"] == "prague"
    assert artifact.compiler.startswith("0.8.37")
    assert (project / "build" / "contracts" / "Counter.json").is_file()


def test_same_inputs_give_byte_identical_artifacts(project: Path, tmp_path: Path) -> None:
    compile_contracts(project / "contracts", project / "build")
    first = (project / "build" / "contracts" / "Counter.json").read_bytes()
    compile_contracts(project / "contracts", project / "build", force=True)
    second = (project / "build" / "contracts" / "Counter.json").read_bytes()
    assert first == second


def test_unchanged_sources_are_not_recompiled(project: Path) -> None:
    first = compile_contracts(project / "contracts", project / "build")
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


def test_changed_settings_invalidate_the_cache(project: Path) -> None:
    first = compile_contracts(project / "contracts", project / "build")
    settings = {"evmVersion": "cancun", "optimizer": {"enabled": True, "runs": 200}}
    second = compile_contracts(project / "contracts", project / "build", settings)
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
