"""schemathesis against /api/v1's own OpenAPI document, bounded (a few examples per operation), on
SQLite and PostgreSQL: no answer may be a server error, and every answer must match the document.
The full run (50 examples per operation) is benchmarks/fuzz_api.py; its figures are in
docs/RELIABILITY.md."""
from __future__ import annotations

import pytest

from tests.support.api_fuzz import FUZZ_ENGINE, fuzz

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_no_operation_answers_a_server_error_or_breaks_its_schema(server, make_user):
    from dashapp.extensions import db
    from dashapp.services import tokens

    admin = make_user("admin", "fuzz-admin")
    db.session.commit()
    _token, secret = tokens.create_token("test", admin.id, "fuzz", engines=[FUZZ_ENGINE])
    db.session.commit()

    report = fuzz(server, secret, max_examples=8)

    print(report.summary())
    assert report.operations >= 20, report.summary()  # the document lists every mounted endpoint
    assert report.statuses[200] > 0 and report.statuses[422] > 0, report.summary()  # it reached the views
    assert report.server_errors == [], "\n".join(report.server_errors)
    assert report.violations == [], "\n".join(report.violations)
