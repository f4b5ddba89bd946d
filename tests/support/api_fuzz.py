"""Property-based fuzzing of /api/v1 from its own OpenAPI document (schemathesis), in-process on
the WSGI app with an admin's bearer token. Used by the suite in a bounded form
(tests/integration/test_api_fuzz.py) and by benchmarks/fuzz_api.py for the full run whose figures
are in docs/RELIABILITY.md.

What counts: a 5xx answer (a server error: always a defect) and a schema violation (the answer's
status or body is not what the document says). Every case is bounded by `max_examples` per
operation; no network beyond the in-process WSGI client."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Operations whose effect would change what the rest of the run sees (stopping engines, tripping
# the kill switch) still run: they are idempotent desired-state writes, and the run owns its DB.
SCHEMA_CHECKS = ("status_code_conformance", "content_type_conformance", "response_schema_conformance")


@dataclass
class FuzzReport:
    calls: int = 0
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    operations: int = 0

    def summary(self) -> str:
        return (f"{self.operations} operations, {self.calls} calls, {len(self.server_errors)} server errors, "
                f"{len(self.violations)} schema violations; statuses {dict(sorted(self.statuses.items(), key=lambda kv: str(kv[0])))}")


FUZZ_ENGINE = "fuzz-engine"  # the engine id the fuzzing token is bound to


def fuzz(server, token: str, max_examples: int = 10, seed: int = 20261206) -> FuzzReport:
    """Run every operation of the app's OpenAPI document `max_examples` times. Ingest batches get
    the engine id the token is bound to (`FUZZ_ENGINE`), half the time, so the fuzz reaches the
    item validation and the writers instead of stopping at the binding check."""
    import hypothesis
    import schemathesis
    from schemathesis import checks as st_checks

    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", server, headers=headers)
    chosen = [getattr(st_checks, name, None) for name in SCHEMA_CHECKS]
    chosen = [check for check in chosen if check is not None] or None
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()
        report.operations += 1

        @hypothesis.settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(hypothesis.HealthCheck),
                             phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
        @hypothesis.seed(seed)
        @hypothesis.given(case=operation.as_strategy())
        def run(case):
            report.calls += 1
            label = f"{case.method} {case.formatted_path}"
            if isinstance(case.body, dict) and "engine_id" in case.body and report.calls % 2:
                case.body["engine_id"] = FUZZ_ENGINE
            try:
                response = case.call(headers=headers)
            except Exception as exc:  # an exception that escaped the app is a server error too
                report.server_errors.append(f"{label} -> raised {type(exc).__name__}: {str(exc)[:160]}")
                report.statuses["raised"] += 1
                return
            report.statuses[response.status_code] += 1
            label = f"{label} -> {response.status_code}"
            if response.status_code >= 500:
                report.server_errors.append(f"{label}: {response.text[:200]}")
                return
            try:
                case.validate_response(response, checks=chosen)
            except AssertionError as failure:  # schemathesis raises a subclass naming each failed check
                report.violations.append(f"{label}: {str(failure).strip().splitlines()[0][:200]}")

        run()
    return report
