"""The Slither gate of `make audit`: every finding must be triaged, or the audit fails.

Slither's own finding ids hash source positions, so any edit above a finding renames it. This gate
names a finding by what it is instead: the detector, and for each element it points at (a
function, a variable, a statement) its kind, its text and the function or contract around it. A
finding keeps its fingerprint while code moves, and gets a new one when the flagged code changes.

    python audit/slither_gate.py SLITHER_JSON TRIAGE_JSON DOC

SLITHER_JSON is `slither --json` output; TRIAGE_JSON lists the reviewed findings (fingerprint,
detector, the finding in words, the reason it is accepted); DOC (docs/contracts.md) must mention
every triaged detector by name, where the reasons are explained. Exit 0 when every finding is
triaged; 1 with the untriaged findings (and how to triage them) otherwise; 2 on unusable input.
Triaged findings that Slither no longer reports are listed so the triage can be pruned."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

_LINES = re.compile(r" \([^()]*#\d+(-\d+)?\)")


def _element_key(element: dict[str, Any]) -> str:
    fields = element.get("type_specific_fields", {})
    parent = fields.get("parent", {})
    parent_name = parent.get("type_specific_fields", {}).get("signature") or parent.get("name", "")
    own = fields.get("signature") or element.get("name", "")
    return f"{element.get('type', '')}:{own}@{parent_name}"


def fingerprint(result: dict[str, Any]) -> str:
    """A name for a finding that survives line moves: detector + what it points at."""
    keys = sorted(_element_key(e) for e in result.get("elements", []))
    text = "|".join([result["check"], *keys])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def summary(result: dict[str, Any]) -> str:
    """The first line of Slither's description, without line numbers."""
    first = result.get("description", "").strip().splitlines()[0]
    return _LINES.sub("", first)


def _load(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"slither gate: cannot read {path}: {exc}") from None


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        sys.stderr.write(__doc__ or "")
        return 2
    report, triage, doc_path = _load(argv[1]), _load(argv[2]), argv[3]
    if not report.get("success"):
        sys.stderr.write(f"slither gate: Slither failed: {report.get('error')}\n")
        return 2
    findings = report.get("results", {}).get("detectors", [])
    reviewed = {entry["fingerprint"]: entry for entry in triage["findings"]}
    doc = Path(doc_path).read_text()
    undocumented = sorted({e["check"] for e in reviewed.values() if e["check"] not in doc})
    seen: set[str] = set()
    new: list[dict[str, Any]] = []
    for result in findings:
        fp = fingerprint(result)
        seen.add(fp)
        if fp not in reviewed:
            new.append(result)
    stale = [entry for fp, entry in reviewed.items() if fp not in seen]
    out = sys.stdout
    triaged = len(findings) - len(new)
    out.write(f"slither gate: {len(findings)} findings, {triaged} triaged, {len(new)} new\n")
    for entry in stale:
        fp, what = entry["fingerprint"], entry["finding"]
        out.write(f"  no longer reported (prune the triage): {fp} {what}\n")
    for check in undocumented:
        out.write(f"  triaged detector not explained in {doc_path}: {check}\n")
    for result in new:
        grade = f"{result['impact']}/{result['confidence']}"
        out.write(
            f"  NEW [{grade}] {result['check']}: {summary(result)}\n"
            f'    triage: {{"fingerprint": "{fingerprint(result)}", "check": "{result["check"]}", '
            f'"finding": {json.dumps(summary(result))}, "reason": "..."}}\n'
        )
    if new:
        out.write("slither gate: FAILED: fix each new finding, or explain it (docs + triage)\n")
        return 1
    if undocumented:
        out.write("slither gate: FAILED: every triaged detector needs its reason in the docs\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
