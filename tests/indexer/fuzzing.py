"""Schemathesis over the API's operations: the one Hypothesis run per operation that the fuzz tests
share (schemathesis' pytest plugin does not load under pytest 9 here, so operations are walked
directly)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings

#: Generated requests per operation.
EXAMPLES = 25


@dataclass
class FuzzReport:
    """What the generated requests met: the server errors (method, path, status) and the count."""

    server_errors: list[str] = field(default_factory=list)
    calls: int = 0


def fuzz_operations(
    schema: Any, *, allowed_client_errors: frozenset[int] = frozenset()
) -> FuzzReport:
    """Sends generated requests to every operation of ``schema``. A 5xx is recorded; any other
    4xx must carry the API's error ``code`` (``allowed_client_errors`` are exempt)."""
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            response = case.call()
            report.calls += 1
            if response.status_code >= 500:
                report.server_errors.append(
                    f"{case.method} {case.formatted_path}: {response.status_code}"
                )
            elif response.status_code >= 400 and response.status_code not in allowed_client_errors:
                assert "code" in response.json()["error"], response.text

        check()
    return report
