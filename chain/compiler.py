"""Compile the Solidity sources with solc-js through the ``chain/solc.js`` stand-in.

The compiler reads standard JSON and writes one artifact per contract to ``build/contracts``.
A compile is skipped when the *input hash* (every source byte, every resolved import, the
settings and the compiler version) matches the one recorded in ``build/compile-cache.json``;
solc output for identical input is deterministic, and artifacts are written with sorted keys,
so the same inputs give byte-identical files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chain.artifacts import Artifact, write_artifact
from chain.errors import CompileError, ToolchainMissingError
from chain.paths import REPO_ROOT, SOLC_SCRIPT
from chain.paths import build_dir as default_build_dir

#: Pinned compiler settings. prague: py-evm (the in-process chain) supports up to prague.
DEFAULT_SETTINGS: dict[str, Any] = {
    "evmVersion": "prague",
    "optimizer": {"enabled": True, "runs": 10_000},
    "viaIR": False,
    "metadata": {"bytecodeHash": "ipfs"},
}

#: Sources compiled apart with fewer optimizer runs, by source unit name. The sealed market is the
#: shared base plus commit, reveal and reclaim: at 10,000 runs its code is 28.7 kB, above the
#: EIP-170 limit of 24,576 bytes, at 300 runs 23.5 kB. Its gas is measured at these settings
#: (docs/contracts.md, the sealed mode). Applied to the settings a compile is given.
OPTIMIZER_RUNS_BY_SOURCE: dict[str, int] = {
    "contracts/SealedEnergyMarket.sol": 300,
    "contracts/PooledEnergyMarket.sol": 300,
}

_OUTPUT_SELECTION = {
    "*": {
        "*": [
            "abi",
            "evm.bytecode.object",
            "evm.deployedBytecode.object",
            "evm.methodIdentifiers",
            "metadata",
        ]
    }
}
_IMPORT_RE = re.compile(r"""^\s*import\s+(?:[^"';]*\bfrom\s+)?["']([^"']+)["']""", re.MULTILINE)
_CACHE_FILE = "compile-cache.json"


@dataclass(frozen=True)
class CompileResult:
    """What a compile produced (or found already built)."""

    artifacts: dict[str, Artifact]
    input_hash: str
    cached: bool
    warnings: list[str] = field(default_factory=list)


def solc_command() -> list[str]:
    """The command line that runs the solc stand-in (``node chain/solc.js``)."""
    node = shutil.which("node")
    if node is None:
        raise ToolchainMissingError("node is not on PATH: install Node.js 20 and run `make setup`")
    if not (REPO_ROOT / "node_modules" / "solc").is_dir():
        raise ToolchainMissingError("npm package solc is missing: run `make setup` (npm ci)")
    return [node, str(SOLC_SCRIPT)]


def compiler_version() -> str:
    """The long version string of solc-js, e.g. ``0.8.37+commit.f401782d.Emscripten.clang``.

    Asked once per process: every compile, cached or not, needs it (it is part of the cache
    key), and each ask is a node start (``chain/solc.js`` keeps the answer between processes).
    """
    return _ask_version(tuple(solc_command()))


@functools.cache
def _ask_version(command: tuple[str, ...]) -> str:
    out = subprocess.run([*command, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Version: (\S+)", out)
    if match is None:
        raise ToolchainMissingError(f"unexpected solc --version output: {out!r}")
    return match.group(1)


def collect_sources(contracts_dir: Path, root: Path = REPO_ROOT) -> dict[str, str]:
    """Every ``.sol`` file below ``contracts_dir``, keyed by its path relative to ``root``."""
    files = sorted(p for p in contracts_dir.rglob("*.sol") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in files}


def _resolve_import(importer: str, target: str, root: Path) -> Path | None:
    if target.startswith("."):
        candidate = (root / importer).parent / target
    else:
        candidate = root / target
        if not candidate.exists():
            candidate = REPO_ROOT / "node_modules" / target
    candidate = candidate.resolve()
    return candidate if candidate.is_file() else None


def _import_closure(sources: dict[str, str], root: Path) -> dict[str, str]:
    """Sources plus every file they import (transitively), keyed by unit name.

    Used only for the cache key: a change in an imported OpenZeppelin file must trigger a
    recompile even though solc reads it through the import callback.
    """
    seen: dict[str, str] = dict(sources)
    pending = list(sources)
    while pending:
        unit = pending.pop()
        for target in _IMPORT_RE.findall(seen[unit]):
            path = _resolve_import(unit, target, root)
            if path is None:
                continue  # the compiler itself will report the missing file with its location
            key = os.path.relpath(path, root)
            if key not in seen:
                seen[key] = path.read_text(encoding="utf-8")
                pending.append(key)
    return seen


def standard_json_input(sources: dict[str, str], settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {**settings, "outputSelection": _OUTPUT_SELECTION},
    }


def input_hash(sources: dict[str, str], settings: dict[str, Any], version: str, root: Path) -> str:
    closure = _import_closure(sources, root)
    digest = hashlib.sha256()
    digest.update(version.encode())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for name in sorted(closure):
        digest.update(name.encode() + b"\0" + closure[name].encode() + b"\0")
    return digest.hexdigest()


def format_diagnostic(error: dict[str, Any], sources: dict[str, str], root: Path) -> str:
    """``file:line: Type: message`` for one solc diagnostic."""
    location = error.get("sourceLocation") or {}
    file = location.get("file")
    kind = error.get("type", "Error")
    message = error.get("message", "").strip()
    if not file:
        return f"{kind}: {message}"
    text = sources.get(file)
    if text is None:
        path = _resolve_import("", file, root)
        text = path.read_text(encoding="utf-8") if path else ""
    start = max(int(location.get("start", 0)), 0)
    line = text.count("\n", 0, start) + 1
    return f"{file}:{line}: {kind}: {message}"


def settings_for(source_name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with the optimizer runs of ``source_name`` from OPTIMIZER_RUNS_BY_SOURCE."""
    runs = OPTIMIZER_RUNS_BY_SOURCE.get(source_name)
    if runs is None:
        return settings
    return {**settings, "optimizer": {**settings.get("optimizer", {}), "runs": runs}}


def _compile_pass(
    sources: dict[str, str], settings: dict[str, Any], root: Path
) -> tuple[dict[str, Any], list[str]]:
    """One solc run over ``sources``: its output and its warnings; raises on errors."""
    output = run_compiler(standard_json_input(sources, settings), root)
    diagnostics = output.get("errors", [])
    errors = [
        format_diagnostic(e, sources, root) for e in diagnostics if e.get("severity") == "error"
    ]
    if errors:
        raise CompileError(errors)
    warnings = [
        format_diagnostic(e, sources, root) for e in diagnostics if e.get("severity") != "error"
    ]
    return output, warnings


def run_compiler(standard_input: dict[str, Any], root: Path = REPO_ROOT) -> dict[str, Any]:
    """Run the stand-in on ``standard_input`` and return the parsed standard-JSON output."""
    proc = subprocess.run(
        [*solc_command(), "--standard-json", "--base-path", str(root)],
        input=json.dumps(standard_input),
        capture_output=True,
        text=True,
        cwd=root,
    )
    if proc.returncode != 0:
        raise CompileError([f"solc failed (exit {proc.returncode}): {proc.stderr.strip()}"])
    try:
        output: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise CompileError([f"solc printed no JSON: {exc}"]) from exc
    return output


def compile_contracts(
    contracts_dir: Path | None = None,
    build_dir: Path | None = None,
    settings: dict[str, Any] | None = None,
    *,
    force: bool = False,
) -> CompileResult:
    """Compile every source under ``contracts_dir`` into ``build_dir/contracts/*.json``.

    Source unit names are paths relative to the folder above ``contracts_dir`` (so messages
    read ``contracts/X.sol:12: ...``). Raises :class:`CompileError` with ``file:line: message``
    lines when solc reports errors; nothing in ``build_dir`` changes then.
    """
    contracts_dir = (contracts_dir or REPO_ROOT / "contracts").resolve()
    root = contracts_dir.parent
    build_dir = build_dir or default_build_dir()
    settings = settings or DEFAULT_SETTINGS
    sources = collect_sources(contracts_dir, root)
    if not sources:
        raise CompileError([f"{contracts_dir}: no .sol files"])
    version = compiler_version()
    apart = {
        name: settings_for(name, settings) for name in sources if name in OPTIMIZER_RUNS_BY_SOURCE
    }
    key = input_hash(sources, {**settings, "apart": apart}, version, root)

    cache_path = build_dir / _CACHE_FILE
    if not force and cache_path.is_file():
        cache = json.loads(cache_path.read_text())
        if cache.get("input_hash") == key:
            names = cache.get("contracts", [])
            cached = {n: Artifact.load(build_dir / "contracts" / f"{n}.json") for n in names}
            return CompileResult(artifacts=cached, input_hash=key, cached=True)

    # One pass for the sources at the given settings, one per source compiled apart; each keeps
    # only the artifacts of its own sources (an imported unit's belong to the pass that owns it).
    together = {name: text for name, text in sources.items() if name not in apart}
    passes = [(together, settings)] if together else []
    passes += [({name: sources[name]}, apart_settings) for name, apart_settings in apart.items()]
    # The passes are independent solc processes, each on one core: run side by side. map keeps
    # their order (artifacts and warnings come out as a serial compile's) and raises the first
    # pass's CompileError in that order.
    with ThreadPoolExecutor(max_workers=len(passes)) as pool:
        outputs = list(pool.map(lambda p: _compile_pass(p[0], p[1], root), passes))
    warnings: list[str] = []
    artifacts: dict[str, Artifact] = {}
    for (pass_sources, pass_settings), (output, pass_warnings) in zip(passes, outputs, strict=True):
        warnings += pass_warnings
        for source_name in sorted(output.get("contracts", {})):
            if source_name not in pass_sources:
                continue  # imported code (OpenZeppelin, or a source another pass owns)
            for contract_name, compiled in sorted(output["contracts"][source_name].items()):
                if contract_name in artifacts:
                    raise CompileError(
                        [f"{source_name}: contract name {contract_name} is not unique"]
                    )
                artifacts[contract_name] = Artifact.from_solc(
                    contract_name,
                    source_name,
                    compiled,
                    source_hash=hashlib.sha256(sources[source_name].encode()).hexdigest(),
                    compiler=version,
                    settings=pass_settings,
                )

    out_dir = build_dir / "contracts"
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.json"):
        if stale.stem not in artifacts:
            stale.unlink()
    for artifact in artifacts.values():
        write_artifact(out_dir / f"{artifact.name}.json", artifact)
    cache_path.write_text(
        json.dumps({"input_hash": key, "contracts": sorted(artifacts)}, indent=2, sort_keys=True)
        + "\n"
    )
    return CompileResult(artifacts=artifacts, input_hash=key, cached=False, warnings=warnings)
