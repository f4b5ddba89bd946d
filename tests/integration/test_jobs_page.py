"""The Jobs page through Flask's test client, the way the browser's renderer calls it: layout per
role, the grid's empty state, launching (idempotent per click) onto the real embedded broker, the
detail panel, cancel, and the server refusing actions to roles that lack them."""
from __future__ import annotations

import json
import os

import pytest

from dashapp.services import jobs
from layouts.ids import Jobs, Shell
from layouts.jobs import NO_JOBS
from tests.support.web import call_callback

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)

REFRESH = f"..{Jobs.GRID}.rowData...{Jobs.EMPTY}.children.."
DETAIL = f"..{Jobs.DETAIL}.children...{Jobs.CANCEL}.disabled.."
LAUNCH = f"..{Jobs.MESSAGE}.children...{Jobs.CHANGED}.data.."
CANCEL = f"{Jobs.CANCEL_MESSAGE}.children"


def _body(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return json.loads(response.get_data(as_text=True))["response"]


def _page(client) -> str:
    response = call_callback(client, ".._pages_content.children..._pages_store.data..",
                             [{"id": "_pages_location", "property": "pathname", "value": "/jobs"},
                              {"id": "_pages_location", "property": "search", "value": ""}])
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _find(node, component_id):
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == component_id:
            return node
        for value in node.values():
            if (found := _find(value, component_id)) is not None:
                return found
    elif isinstance(node, list):
        for value in node:
            if (found := _find(value, component_id)) is not None:
                return found
    return None


def _launch(client, clicks=1, token="page-1"):
    return call_callback(client, LAUNCH, [{"id": Jobs.RUN_HEALTH, "property": "n_clicks", "value": clicks}],
                         [{"id": Jobs.LAUNCH_TOKEN, "property": "data", "value": token}])


def _refresh(client, include_scheduled=False):
    return call_callback(client, REFRESH, [{"id": Jobs.INTERVAL, "property": "n_intervals", "value": 1},
                                           {"id": Jobs.INCLUDE_SCHEDULED, "property": "value", "value": include_scheduled},
                                           {"id": Jobs.CHANGED, "property": "data", "value": None},
                                           {"id": Shell.TIME_RANGE, "property": "value", "value": "24h"}],
                         [{"id": Jobs.GRID, "property": "rowData", "value": []}])


def _detail(client, rows):
    return call_callback(client, DETAIL, [{"id": Jobs.GRID, "property": "selectedRows", "value": rows},
                                          {"id": Jobs.INTERVAL, "property": "n_intervals", "value": 1},
                                          {"id": Jobs.CANCEL_MESSAGE, "property": "children", "value": None}])


def _cancel(client, rows):
    return call_callback(client, CANCEL, [{"id": Jobs.CANCEL, "property": "n_clicks", "value": 1}],
                         [{"id": Jobs.GRID, "property": "selectedRows", "value": rows}])


def test_action_buttons_show_only_to_roles_that_may_use_them(client_as):
    for role, may in (("viewer", False), ("trader", True), ("risk", True)):
        page = json.loads(_page(client_as(role)))["response"]["_pages_content"]["children"]
        for component_id in (Jobs.RUN_HEALTH, Jobs.CANCEL):
            button = _find(page, component_id)
            assert button is not None, f"{component_id} missing for {role}"
            hidden = (button["props"].get("style") or {}).get("display") == "none"
            assert hidden is not may, f"{component_id} for {role}"
        assert _find(page, Jobs.GRID) is not None and _find(page, Jobs.INTERVAL) is not None


def test_empty_state_when_there_are_no_jobs(client_as):
    body = _body(_refresh(client_as("viewer")))
    assert body[Jobs.GRID]["rowData"] == []
    assert NO_JOBS in json.dumps(body[Jobs.EMPTY]["children"])


def test_viewer_is_refused_launch_and_cancel_on_the_server(dash_app, client_as):
    viewer = client_as("viewer")
    assert _launch(viewer).status_code == 403
    assert _cancel(viewer, [{"id": "anything"}]).status_code == 403
    with dash_app.server.app_context():
        assert jobs.list_jobs() == []


def test_trader_launches_follows_and_cancels_a_health_check(dash_app, client_as, settings):
    trader = client_as("trader", "tina")
    body = _body(_launch(trader, clicks=1))
    assert "Health check queued" in json.dumps(body[Jobs.MESSAGE]["children"])
    job_id = body[Jobs.CHANGED]["data"]
    # The same click delivered twice is one job; the next click is another.
    assert _body(_launch(trader, clicks=1))[Jobs.CHANGED]["data"] == job_id
    second = _body(_launch(trader, clicks=2))[Jobs.CHANGED]["data"]
    assert second != job_id
    queued = os.listdir(settings.instance_dir / "broker" / "queue")
    assert sum(name.endswith(".jobs.msg") for name in queued) == 2, queued

    rows = _body(_refresh(trader))[Jobs.GRID]["rowData"]
    assert {row["id"] for row in rows} == {job_id, second}
    assert all(row["state"] == "queued" and row["created_by"] == "tina" for row in rows)

    detail = _body(_detail(trader, [{"id": job_id}]))
    assert detail[Jobs.CANCEL]["disabled"] is False
    text = json.dumps(detail[Jobs.DETAIL]["children"])
    assert "queued by tina" in text and "sleep_seconds" in text

    assert "canceled" in json.dumps(_body(_cancel(trader, [{"id": job_id}]))[Jobs.CANCEL_MESSAGE]["children"])
    detail = _body(_detail(trader, [{"id": job_id}]))
    assert detail[Jobs.CANCEL]["disabled"] is True and "canceled by tina" in json.dumps(detail[Jobs.DETAIL]["children"])
    again = json.dumps(_body(_cancel(trader, [{"id": job_id}]))[Jobs.CANCEL_MESSAGE]["children"])
    assert "Not done" in again and "already canceled" in again


def test_service_errors_show_as_alerts_that_name_the_problem(client_as):
    trader = client_as("trader")
    text = json.dumps(_body(_cancel(trader, []))[Jobs.CANCEL_MESSAGE]["children"])
    assert "Alert" in text and "no job selected" in text
    text = json.dumps(_body(_detail(trader, [{"id": "gone"}]))[Jobs.DETAIL]["children"])
    assert "no job with id gone" in text
