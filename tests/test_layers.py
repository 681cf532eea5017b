"""Who may import whom: the layering rule of docs/ARCHITECTURE.md, checked on every import.

Every ``import`` and ``from ... import`` of the packages' source files (function-level ones
included) is read with ``ast``; an import of one of our packages that the rule does not allow
fails the test with the file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The rule (docs/ARCHITECTURE.md, "Who may import whom"), bottom layer first.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "market": frozenset(),
    "chain": frozenset(),
    "wallet": frozenset(),
    "energychain": frozenset({"market", "chain", "wallet"}),
    "billing": frozenset({"market", "energychain"}),
    "devchain": frozenset({"market", "chain", "wallet", "energychain"}),
    "oracles": frozenset({"market", "chain", "wallet", "energychain"}),
    "agents": frozenset({"market", "chain", "wallet", "energychain"}),
    "indexer": frozenset({"market", "chain", "energychain", "billing"}),
    "operations": frozenset({"market", "chain", "wallet", "energychain", "billing", "oracles"}),
    "devices": frozenset({"market", "chain", "wallet", "energychain", "oracles", "agents"}),
    "grid": frozenset({"market", "chain", "wallet", "energychain", "agents"}),
    "gateway": frozenset(
        {"market", "chain", "wallet", "energychain", "oracles", "agents", "devices"}
    ),
}
PACKAGES = frozenset(MAY_IMPORT) | {"enerwise"}
"""``enerwise`` (the command line, the demo, the benchmarks) may import every package."""


def imports_of(path: Path) -> list[tuple[int, str]]:
    """``(line, top-level package)`` of every absolute import in ``path``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def forbidden_imports() -> list[str]:
    problems: list[str] = []
    for package, allowed in MAY_IMPORT.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, target in imports_of(path):
                if target in PACKAGES and target != package and target not in allowed:
                    where = path.relative_to(ROOT)
                    problems.append(
                        f"{where}:{line}: {package} imports {target} "
                        f"(it may import only: {', '.join(sorted(allowed)) or 'none of ours'})"
                    )
    return problems


def test_every_package_imports_only_what_the_layering_rule_allows() -> None:
    assert forbidden_imports() == []


def test_the_rule_has_no_cycle() -> None:
    seen: dict[str, int] = {}

    def depth(package: str, path: tuple[str, ...] = ()) -> int:
        assert package not in path, f"cycle: {' -> '.join((*path, package))}"
        if package not in seen:
            below = [depth(p, (*path, package)) for p in MAY_IMPORT[package]]
            seen[package] = 1 + max(below, default=0)
        return seen[package]

    assert all(depth(p) >= 1 for p in MAY_IMPORT)


def test_a_forbidden_import_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text("import os\n\n\ndef f():\n    from wallet.transactions import TxRequest\n")
    assert imports_of(module) == [(1, "os"), (5, "wallet")]
    assert "wallet" not in MAY_IMPORT["chain"]
