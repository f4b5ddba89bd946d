"""Every hostile input of the catalogue (tests/support/hostile.py) gets its documented 4xx, the
answer names what it refuses, nothing is stored, and the server stays healthy for the next case.
The same catalogue writes the table in docs/RELIABILITY.md (benchmarks/hostile_inputs.py)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support.hostile import CASES, answer_text, context


def _counts(server, tables) -> dict[str, int]:
    from dashapp.extensions import db

    with server.app_context():
        counts = {t: db.session.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}
        db.session.remove()
    return counts


def test_the_catalogue_covers_every_class_with_forty_inputs_or_more():
    classes = {case.klass for case in CASES}
    assert len(CASES) >= 40
    assert {"timestamps", "numbers", "text", "json", "size", "cross-row", "auth", "paths", "dash", "sessions"} <= classes


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_each_hostile_input_gets_its_answer_and_stores_nothing(dash_app, make_user):
    server = dash_app.server
    ctx = context(server, make_user)
    wrong = []
    for case in CASES:
        if case.setup is not None:
            assert case.setup(ctx).status_code == 200, case.what
        before = _counts(server, case.tables)
        response = case.send(ctx)
        text = answer_text(response)
        if response.status_code not in case.statuses or case.names.lower() not in text.lower():
            wrong.append(f"{case.what}: {response.status_code} {text[:200]!r}")
        if (after := _counts(server, case.tables)) != before:
            wrong.append(f"{case.what}: stored something ({before} -> {after})")
    assert ctx.anonymous().get("/healthz").status_code == 200
    assert wrong == [], "\n".join(wrong)
