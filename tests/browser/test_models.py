"""The Models page in a real browser with a real Celery worker: a risk user launches a retrain and watches
its stages, sees the gates; a version with a failed gate cannot be promoted (the message names the gate);
promotion and rollback are audited and "live at T" answers across them; a viewer gets no buttons and a
crafted callback POST is refused."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from dash.testing.wait import until

from layouts.models import ids
from tests.browser.conftest import click, click_grid_row, login_as, wait_for_grid_value
from tests.support.worker import celery_worker

FAIL = [{"name": n, "label": n.replace("_", " "), "passed": n != "deflated_sharpe", "value": 0.1, "threshold": 0.5,
         "detail": {}} for n in ("data_quality", "walk_forward", "deflated_sharpe", "diebold_mariano", "risk_impact")]


def _seed(cockpit):
    from dashapp.services.models import registry, seed

    with cockpit.db():
        seed.seed_demo_model()  # v1, champion
        registry.register_version(seed.DEMO_MODEL, {"stub": True}, actor="test", train_start=datetime(2020, 1, 1),
                                  train_end=datetime(2020, 12, 31), features=["ret_1"], params={"max_depth": 2},
                                  metrics={"oos_sharpe": 0.1}, gates=FAIL, seed=1, trials=4, job_id=None)  # v2


def test_retrain_gates_promote_rollback_and_live_at(started, cockpit):
    from dashapp.services.models import registry
    from models import AuditRecord

    _seed(cockpit)
    login_as(started, cockpit.usernames["risk"], path="/models")
    wait_for_grid_value(started, ids.MODELS, "name", "aapl-direction")
    with celery_worker(cockpit.app.server.config["COCKPIT_SETTINGS"], concurrency=1):
        click(started, f"#{ids.RETRAIN}")
        started.wait_for_contains_text(f"#{ids.RETRAIN_MSG}", "Retrain queued", timeout=30)
        seen = set()

        def stage_seen():
            text = started.driver.execute_script(
                "const e = document.getElementById('mdl-job-message'); return e ? e.textContent : '';")
            for stage in ("load", "features", "fit", "validate", "register"):
                if f"{stage}:" in text:
                    seen.add(stage)
            return "succeeded" in text

        until(stage_seen, timeout=180, poll=0.2)
    assert "fit" in seen, seen  # the page showed the stage while it ran
    times = []
    for stage in ("load", "features", "fit", "validate", "register"):  # every stage done, with when it began
        assert "bg-success" in started.driver.execute_script(
            f"return document.getElementById('mdl-stage-{stage}').className;"), stage
        times.append(started.driver.execute_script(
            f"return document.getElementById('mdl-stage-{stage}-at').textContent;"))
    assert all(len(t) == 8 for t in times) and times == sorted(times), times
    wait_for_grid_value(started, ids.VERSIONS, "version", "3", timeout=30)
    click_grid_row(started, ids.VERSIONS, "version", "3")
    started.wait_for_element("#mdl-gate-deflated_sharpe", timeout=20)
    assert started.find_element("#mdl-gates-table").text.count("pass") + \
        started.find_element("#mdl-gates-table").text.count("FAIL") == 5
    assert "Lineage" in started.find_element(f"#{ids.DETAIL}").text

    # v2 failed the deflated Sharpe gate: promotion is refused and the message names the gate
    click_grid_row(started, ids.VERSIONS, "version", "2")
    started.wait_for_text_to_equal("#mdl-gate-deflated_sharpe", "FAIL")
    started.find_element(f"#{ids.REASON}").send_keys("try it")
    click(started, f"#{ids.PROMOTE}")
    started.wait_for_contains_text(f"#{ids.ACTION_MSG}", "deflated_sharpe", timeout=20)

    # v3 (the retrain's) passes or not: promote v1 -> make a passing v4 via service, promote, roll back
    with cockpit.db():
        v1 = registry.get_version("aapl-direction", 1)
        registry.register_version("aapl-direction", registry.load_estimator(v1), actor="test",
                                  train_start=v1.train_start,
                                  train_end=v1.train_end, features=list(v1.features), params=dict(v1.params),
                                  metrics={}, gates=[{**g, "passed": True} for g in FAIL], seed=1, trials=4,
                                  job_id=None)
    wait_for_grid_value(started, ids.VERSIONS, "version", "4", timeout=30)
    click_grid_row(started, ids.VERSIONS, "version", "4")
    started.wait_for_text_to_equal("#mdl-gate-deflated_sharpe", "pass")
    click(started, f"#{ids.PROMOTE}")
    started.wait_for_contains_text(f"#{ids.ACTION_MSG}", "Promotion of aapl-direction v4 requested", timeout=20)
    # Four-eyes: nothing moved; a second person (admin1) approves the request through the one mechanism.
    with cockpit.db():
        from dashapp.services import approvals

        assert registry.live_at("aapl-direction", "champion", datetime.now(timezone.utc)) == 1
        (pending,) = approvals.pending(approvals.Actor(cockpit.usernames["admin"], "admin"), registry.PROMOTE)
        assert pending.requested_by == cockpit.usernames["risk"]
        assert approvals.approve(pending.id, approvals.Actor(cockpit.usernames["admin"], "admin")).state == "executed"
    between = datetime.now(timezone.utc)
    until(lambda: datetime.now(timezone.utc) > between, 2)
    started.find_element(f"#{ids.REASON}").send_keys(" back")
    click(started, f"#{ids.ROLLBACK}")
    started.wait_for_contains_text(f"#{ids.ACTION_MSG}", "champion is v1 again", timeout=20)
    wait_for_grid_value(started, ids.HISTORY, "action", "rollback", timeout=20)
    started.find_element(f"#{ids.LIVE_AT}").send_keys(between.strftime("%Y-%m-%d %H:%M:%S.%f"))
    started.wait_for_contains_text(f"#{ids.LIVE_AT_OUT}", "v4", timeout=20)
    with cockpit.db() as session:
        rows = session.execute(sa.select(AuditRecord.action, AuditRecord.actor)
                               .where(AuditRecord.action.in_(["model.promote", "model.rollback"]))).all()
        assert ("model.promote", "admin1") in rows and ("model.rollback", "risk1") in rows
        assert registry.live_at("aapl-direction", "champion", between) == 4
        assert registry.live_at("aapl-direction", "champion", datetime.now(timezone.utc)) == 1
    assert started.get_logs() == []


def test_viewer_sees_everything_but_no_buttons(started, cockpit):
    _seed(cockpit)
    login_as(started, cockpit.usernames["viewer"], path="/models")
    wait_for_grid_value(started, ids.MODELS, "name", "aapl-direction")
    started.wait_for_element("#mdl-no-retrain")
    started.wait_for_element("#mdl-no-promote")
    assert not started.find_elements(f"#{ids.RETRAIN}") and not started.find_elements(f"#{ids.PROMOTE}")
    started.wait_for_contains_text(f"#{ids.DRIFT_NOTE}", "features drifted", timeout=30)
    started.wait_for_element("#mdl-decision-title")
    assert started.get_logs() == []
    # Crafted callback POSTs from the viewer's own session, naming the real retrain and promote callbacks
    # (their output strings from /_dash-dependencies): the server refuses both.
    statuses = started.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const csrf = decodeURIComponent((document.cookie.match(/_csrf_token=([^;]+)/) || [])[1] || '');
        fetch('/_dash-dependencies').then(r => r.json()).then(deps => Promise.all(
            ['mdl-retrain', 'mdl-promote'].map(button => {
                const cb = deps.find(d => d.inputs.some(i => i.id === button));
                return fetch('/_dash-update-component', {method: 'POST', headers: {
                        'Content-Type': 'application/json', 'X-CSRFToken': csrf},
                    body: JSON.stringify({output: cb.output, outputs: [], changedPropIds: [button + '.n_clicks'],
                        inputs: cb.inputs.map(i => ({id: i.id, property: i.property, value: 1})),
                        state: cb.state.map(s => ({id: s.id, property: s.property, value: 'x'}))})})
                    .then(r => r.status);
            }))).then(done);""")
    assert statuses == [403, 403], statuses
    with cockpit.db():
        from dashapp.services.models import registry

        moves = [m["action"] for m in registry.history("aapl-direction")]
        assert moves.count("promote") == 1 and "rollback" not in moves  # only the seed's promotion
