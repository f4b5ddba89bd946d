"""Operations -> Health in a real browser: a viewer sees every process's state (this web process beats
for real; a worker killed long ago shows down), the SLO table, and the task history with its search;
the page has no action button (actions are runbooks, for other roles)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from dash.testing.wait import until

from layouts.operations_ids import Ops
from tests.browser.conftest import grid_rows, login_as, url

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


def _seed(cockpit):
    from dashapp.extensions import db
    from dashapp.services.ops import heartbeats, task_history
    from models import ServiceHeartbeat, utcnow

    with cockpit.db():
        heartbeats.record("worker", "worker-1@desk", {"queues": ["default", "jobs", "reports"]})
        heartbeats.record("worker", "worker-2@desk", {"queues": ["reports"]})
        db.session.execute(sa.update(ServiceHeartbeat).where(ServiceHeartbeat.instance == "worker-2@desk")
                           .values(beat_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
        task_history.record_start("task-aaa", "workers.tasks.run_job", "jobs", "worker-1@desk", '{"args": ["j1"]}',
                                  0, "j1")
        task_history.record_end("task-aaa", "SUCCESS")
        task_history.record_start("task-bbb", "workers.tasks.monitor_risk", "default", "worker-1@desk", "{}", 0)
        task_history.record_end("task-bbb", "FAILURE", "RuntimeError: boom")


def _text(dash_duo, selector: str) -> str:
    elements = dash_duo.driver.find_elements("css selector", selector)
    return elements[0].text if elements else ""


def test_viewer_sees_health_and_task_history_and_no_actions(started, cockpit):
    from dashapp.ops_web import start_heartbeat
    from dashapp.services.ops.heartbeats import HeartbeatThread

    _seed(cockpit)
    beat = start_heartbeat(cockpit.app.server)  # this web process, beating for real
    worker = HeartbeatThread(cockpit.app.server, "worker", "worker-1@desk", 1.0,
                             lambda: {"queues": ["default", "jobs", "reports"]}).start()  # a live worker's beat
    try:
        login_as(started, "viewer1", path="/operations")
        started.driver.get(url(started, "/operations"))
        try:
            until(lambda: _text(started, "#ops-state-web") == "UP", 30)
        except Exception:
            pytest.fail("web tile never showed UP: " + str(started.get_logs())[:1500])
        assert _text(started, "#ops-state-worker") == "DEGRADED"  # one up, one down
        until(lambda: {r.get("instance"): r.get("ops_state") for r in grid_rows(started, Ops.INSTANCES)}
              .get("worker-2@desk", "").lower() == "down", 20, msg="the silent worker never showed down")
        assert "queues default, jobs, reports" in _text(started, "#ops-tile-worker")
        started.wait_for_contains_text(f"#{Ops.SLO_TABLE}", "API availability")
        started.wait_for_contains_text(f"#{Ops.QUEUES}", "reports")
        started.wait_for_contains_text(f"#{Ops.DATABASE}", "SQLite keeps no query statistics")
        until(lambda: len(grid_rows(started, Ops.TASK_GRID)) == 2, 20, msg="task history rows missing")
        search = started.find_element(f"#{Ops.TASK_SEARCH}")
        search.send_keys("monitor_risk\n")
        until(lambda: [r.get("task_state") for r in grid_rows(started, Ops.TASK_GRID)] == ["failed"], 20,
              msg="search did not narrow the task history to the failed risk tick")
        # Nothing on this page acts: the only controls are the sub-navigation, the filters and the grid.
        buttons = started.driver.find_elements("css selector", f"#{Ops.PAGE} button")
        assert [b.text for b in buttons] == []
        assert started.get_logs() == []
    finally:
        worker.stop(mark_stopped=False)
        beat.stop(mark_stopped=False)
