"""Operations console services and page on a real database (SQLite and PostgreSQL): process states
from heartbeat ages, the Command Center tiles that read them, SLO samples added up across batches,
burn rates and budget, request outcomes tallied per minute, /metrics names, the task-history search
bounds, and who may open the page and its callbacks."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.errors import ValidationError
from dashapp.services.ops import health, heartbeats, slo, task_history
from layouts.operations_ids import Ops
from models import ServiceHeartbeat, SloSample, utcnow
from tests.support.web import call_callback


def _age(service: str, instance: str, seconds: float) -> None:
    db.session.execute(sa.update(ServiceHeartbeat).where(ServiceHeartbeat.service == service,
                                                        ServiceHeartbeat.instance == instance)
                       .values(beat_at=utcnow() - timedelta(seconds=seconds)))
    db.session.commit()


def test_states_follow_heartbeat_age_and_the_command_center_reads_them(server):
    from dashapp.services import health as infra

    assert {t.key: t.state for t in infra.infra_status()}["worker"] == "unknown"  # nothing beat yet
    heartbeats.record("worker", "w1@host", {"queues": ["default", "jobs"]})
    heartbeats.record("worker", "w2@host", {"queues": ["reports"]})
    heartbeats.record("beat", "host")
    heartbeats.record("web", "host:8050", {"push_connections": 3, "latency": [
        {"method": "POST", "endpoint": "/_dash-update-component", "count": 10, "p50_ms": 25.0, "p95_ms": 100.0}]})
    snap = health.build(queue_depths=lambda: {"default": 0})
    assert snap.service("worker").state == "up" and snap.service("beat").state == "up"
    assert snap.push["total"] == 3 and snap.latency[0]["endpoint"] == "/_dash-update-component"
    assert "queues default, jobs, reports" in snap.service("worker").summary

    _age("worker", "w2@host", 5.5)  # between degraded (5 s) and down (8 s) at the default 2 s beat
    states = {i.instance: i.state for i in health.build(lambda: {}).service("worker").instances}
    assert states == {"w1@host": "up", "w2@host": "degraded"}
    _age("worker", "w2@host", 30)
    svc = health.build(lambda: {}).service("worker")
    assert {i.instance: i.state for i in svc.instances}["w2@host"] == "down" and svc.state == "degraded"
    _age("worker", "w1@host", 30)
    assert health.build(lambda: {}).service("worker").state == "down"
    tiles = {t.key: t for t in infra.infra_status()}
    assert tiles["worker"].state == "down" and tiles["worker"].label == "DOWN"
    assert tiles["beat"].state == "ok"
    heartbeats.record("beat", "host", stopped=True)  # a clean shutdown is not a crash
    assert health.build(lambda: {}).service("beat").state == "stopped"


def test_slo_counts_add_up_and_burn_rates_fire(server):
    now = utcnow().replace(second=30, microsecond=0)
    minute = now.replace(second=0)
    slo.add_counts([("api-availability", minute, 90, 100)])
    slo.add_counts([("api-availability", minute, 5, 10)])  # another process's batch, same minute
    row = db.session.execute(sa.select(SloSample).where(SloSample.slo == "api-availability")).scalar_one()
    assert (row.good, row.total) == (95, 110)
    # an hour of steady traffic before, all good
    slo.add_counts([("api-availability", minute - timedelta(minutes=m), 1000, 1000) for m in range(1, 60)])
    status = {s.slo.key: s for s in slo.status(now)}["api-availability"]
    # 15 bad of 59 110 over 1 h; 15 of 4 110 over 5 m (4 full minutes + this one); budget 0.001
    assert status.burn["1h"] == pytest.approx(15 / 59110 / 0.001)
    assert status.burn["5m"] == pytest.approx(15 / 4110 / 0.001)
    assert status.firing == [] and status.total == 59110 and status.good == 59095
    assert status.budget_used == pytest.approx(15 / (0.001 * 59110))
    slo.add_counts([("api-availability", minute, 0, 2000)])  # an outage in the current minute
    status = {s.slo.key: s for s in slo.status(now)}["api-availability"]
    assert "page 1h/5m" in status.firing and "page 6h/30m" in status.firing
    assert status.seconds_to_exhaustion == 0.0  # more than the whole budget already spent
    assert {s.slo.key: s for s in slo.status(now)}["push-latency"].burn["1h"] != status.burn["1h"]
    times, series = slo.burn_series("api-availability", 60, 1, now)
    assert len(times) == len(series) == 60 and series[-1] > 14.4
    slo.add_counts([("api-availability", minute - timedelta(days=40), 1, 1)])  # older than the window + 1 day
    slo.housekeeping()
    kept = db.session.execute(sa.select(sa.func.count()).select_from(SloSample)).scalar()
    assert kept == 60  # this hour's minutes stay, the old one is gone


def test_requests_are_tallied_per_minute_in_batches(client_as, dash_app):
    client = client_as("viewer")
    with dash_app.server.app_context():
        slo.RECORDER.flush()  # whatever earlier requests left (flushing writes, so it needs the app)
    for _ in range(3):
        assert client.get("/api/v1/engines/paper-1/control").status_code in (401, 403)
    with dash_app.server.app_context():
        slo.RECORDER.flush()
        rows = {r.slo: (r.good, r.total) for r in db.session.execute(sa.select(SloSample)).scalars()}
    assert rows["api-availability"][1] >= 3 and rows["api-availability"][0] == rows["api-availability"][1]
    assert rows["control-availability"][1] >= 3  # engine control is a control action


def test_metrics_names_and_who_may_read_them(client_as, dash_app):
    with dash_app.server.app_context():
        heartbeats.record("worker", "w1@host", {"queues": ["default"]})
        heartbeats.record("web", "host:8050", {"push_connections": 2})
        task_history.record_start("t-1", "workers.tasks.run_job", "jobs", "w1@host", "{}", 0, None)
        task_history.record_end("t-1", "SUCCESS")
    admin = client_as("admin")
    text = admin.get("/metrics").get_data(as_text=True)
    for name in ('cockpit_service_up{instance="w1@host",service="worker"} 1.0', "cockpit_service_heartbeat_age_seconds",
                 "cockpit_queue_depth{queue=", 'cockpit_task_runs_total{name="workers.tasks.run_job",state="succeeded"} 1.0',
                 "cockpit_slo_error_budget_remaining_ratio{slo=\"api-availability\"}", "cockpit_slo_burn_rate",
                 "cockpit_slo_burn_alert_firing", "cockpit_db_pool_in_use", 'cockpit_push_connections{instance="host:8050"} 2.0',
                 "cockpit_database_up 1.0", "cockpit_broker_up 1.0", "cockpit_http_request_seconds_bucket"):
        assert name in text, name
    assert client_as("viewer").get("/metrics").status_code == 403


def test_task_search_bounds_name_the_field():
    for text, state, hours, field in (("x" * 81, "", 24, "search"), ("a\x00b", "", 24, "search"),
                                      ("", "exploded", 24, "state"), ("", "", 0, "hours"), ("", "", "abc", "hours"),
                                      ("", "", 24 * 91, "hours")):
        with pytest.raises(ValidationError) as err:
            task_history.validate_query(text, state, hours)
        assert err.value.field == field
    assert task_history.validate_query(" run_job ", "failed", "1").text == "run_job"


REFRESH = (f"..{Ops.UPDATED}.children...{Ops.TILES}.children...{Ops.INSTANCES}.rowData...{Ops.QUEUES}.children..."
           f"{Ops.TASK_RATES}.children...{Ops.DATABASE}.children...{Ops.PUSH}.children...{Ops.LATENCY}.children..."
           f"{Ops.SLO_TABLE}.children...{Ops.BURN_SLO}.options..")


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_every_role_sees_the_page_and_anonymous_gets_nothing(client_as, dash_app):
    inputs = [{"id": Ops.INTERVAL, "property": "n_intervals", "value": 1}]
    viewer = client_as("viewer")
    response = call_callback(viewer, REFRESH, inputs)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    body = response.get_data(as_text=True)
    assert "ops-state-worker" in body and "API availability" in body
    page = call_callback(viewer, ".._pages_content.children..._pages_store.data..",
                         [{"id": "_pages_location", "property": "pathname", "value": "/operations"},
                          {"id": "_pages_location", "property": "search", "value": ""}])
    assert Ops.PAGE in page.get_data(as_text=True) and "page-forbidden" not in page.get_data(as_text=True)
    anonymous = dash_app.server.test_client()
    anonymous.get("/login")
    assert call_callback(anonymous, REFRESH, inputs).status_code in (401, 403)
    assert anonymous.get("/operations").status_code == 302


def test_alert_sources_and_builtin_rules(server):
    from dashapp.services.alerts import metrics, rules, sources_ops

    heartbeats.record("worker", "w1@host", {"queues": ["default"]})
    heartbeats.record("worker", "w2@host", {})
    heartbeats.record("beat", "host", stopped=True)
    _age("worker", "w2@host", 60)
    now = utcnow()
    up = {(s.labels["service"], s.labels["instance"]): s.value for s in metrics.metric("ops.service_up").current(now)}
    assert up == {("worker", "w1@host"): 1.0, ("worker", "w2@host"): 0.0}  # a clean stop is no alert
    ages = {s.labels["instance"]: s.value for s in metrics.metric("ops.heartbeat_age").current(now)}
    assert ages["w2@host"] >= 60
    depths = {s.labels["queue"]: s.value for s in metrics.metric("ops.queue_depth").current(now)}
    assert depths == {"default": 0.0, "jobs": 0.0, "reports": 0.0}
    burns = metrics.metric("ops.slo_burn_alert").current(now)
    assert {s.labels["burn"] for s in burns} == {"page", "ticket"} and all(s.value is None for s in burns)
    assert sources_ops.burn_alert_value(20.0, 15.0, 14.4) == pytest.approx(15 / 14.4)
    assert sources_ops.burn_alert_value(20.0, 10.0, 14.4) < 1
    assert sources_ops.burn_alert_value(float("nan"), 10.0, 14.4) is None
    assert sources_ops.ensure_builtin_rules().startswith("operations: built-in rules Worker down")
    assert sources_ops.ensure_builtin_rules() is None  # idempotent
    names = {r.name for r in rules.list_rules()}
    assert {"Worker down", "Queue backlog", "SLO burn (page)", "SLO burn (ticket)"} <= names
