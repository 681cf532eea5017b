"""The Slither gate of `make audit` (audit/slither_gate.py): a new finding fails the audit, a
triaged one does not, and a finding keeps its name when code only moves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

GATE = Path(__file__).resolve().parents[2] / "audit" / "slither_gate.py"


def finding(check: str, function: str, line: int, statement: str = "x == 0") -> dict:
    parent = {"type": "function", "name": function, "type_specific_fields": {"signature": function}}
    return {
        "check": check,
        "impact": "Medium",
        "confidence": "High",
        "description": f"{function} (contracts/A.sol#{line}-{line + 9}) uses {statement}\n",
        "elements": [
            {"type": "function", "name": function, "source_mapping": {"lines": [line]}},
            {
                "type": "node",
                "name": statement,
                "source_mapping": {"lines": [line + 2]},
                "type_specific_fields": {"parent": parent},
            },
        ],
    }


def run_gate(tmp_path: Path, findings: list[dict], triage: list[dict], doc: str):
    (tmp_path / "slither.json").write_text(
        json.dumps({"success": True, "error": None, "results": {"detectors": findings}})
    )
    (tmp_path / "triage.json").write_text(json.dumps({"findings": triage}))
    (tmp_path / "doc.md").write_text(doc)
    args = [str(tmp_path / n) for n in ("slither.json", "triage.json", "doc.md")]
    return subprocess.run(
        [sys.executable, str(GATE), *args], capture_output=True, text=True, check=False
    )


def fingerprint_of(tmp_path: Path, result: dict) -> str:
    out = run_gate(tmp_path, [result], [], "").stdout
    return out.split('"fingerprint": "')[1].split('"')[0]


def test_an_untriaged_finding_fails_the_gate_and_says_how_to_triage_it(tmp_path):
    result = run_gate(tmp_path, [finding("incorrect-equality", "f()", 10)], [], "")
    assert result.returncode == 1
    assert "NEW [Medium/High] incorrect-equality: f() uses x == 0" in result.stdout
    assert '"fingerprint": "' in result.stdout


def test_a_triaged_and_documented_finding_passes(tmp_path):
    fp = fingerprint_of(tmp_path, finding("incorrect-equality", "f()", 10))
    triage = [{"fingerprint": fp, "check": "incorrect-equality", "finding": "f", "reason": "r"}]
    result = run_gate(
        tmp_path, [finding("incorrect-equality", "f()", 10)], triage, "incorrect-equality: why"
    )
    assert result.returncode == 0, result.stdout
    assert "1 findings, 1 triaged, 0 new" in result.stdout


def test_a_finding_keeps_its_fingerprint_when_its_code_moves(tmp_path):
    assert fingerprint_of(tmp_path, finding("timestamp", "g()", 10)) == fingerprint_of(
        tmp_path, finding("timestamp", "g()", 250)
    )


def test_a_changed_statement_is_a_new_finding(tmp_path):
    assert fingerprint_of(tmp_path, finding("timestamp", "g()", 10, "a < b")) != fingerprint_of(
        tmp_path, finding("timestamp", "g()", 10, "a <= b")
    )


def test_a_triaged_detector_the_docs_do_not_explain_fails(tmp_path):
    fp = fingerprint_of(tmp_path, finding("timestamp", "g()", 10))
    triage = [{"fingerprint": fp, "check": "timestamp", "finding": "g", "reason": "r"}]
    result = run_gate(tmp_path, [finding("timestamp", "g()", 10)], triage, "nothing here")
    assert result.returncode == 1
    assert "not explained" in result.stdout


def test_a_triaged_finding_slither_no_longer_reports_is_listed_for_pruning(tmp_path):
    triage = [{"fingerprint": "0" * 16, "check": "timestamp", "finding": "gone", "reason": "r"}]
    result = run_gate(tmp_path, [], triage, "timestamp")
    assert result.returncode == 0
    assert "no longer reported (prune the triage)" in result.stdout


def test_a_failed_slither_run_is_an_error_not_a_pass(tmp_path):
    (tmp_path / "slither.json").write_text(json.dumps({"success": False, "error": "boom"}))
    (tmp_path / "triage.json").write_text(json.dumps({"findings": []}))
    (tmp_path / "doc.md").write_text("")
    args = [str(tmp_path / n) for n in ("slither.json", "triage.json", "doc.md")]
    result = subprocess.run(
        [sys.executable, str(GATE), *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "Slither failed: boom" in result.stderr
