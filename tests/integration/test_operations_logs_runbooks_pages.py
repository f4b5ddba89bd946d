"""Operations -> Logs and Runbooks through the web app (Flask test client, both databases): a request
is found in the log search by its request id (service and page callback); the runbook callbacks
refuse roles without the permission even when the POST is crafted by hand."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from dashapp import log_files
from dashapp.services.ops import logs
from layouts.operations_tools_ids import OpsLogs
from layouts.operations_tools_ids import OpsRunbooks as R
from tests.support.web import csrf_header


def _callback_key(dash_app, output_id: str) -> str:
    """The renderer's key of the callback writing `output_id` (it carries a hash for allow_duplicate)."""
    keys = [key for key in dash_app.callback_map if output_id in key]
    assert keys, f"no callback writes {output_id}"
    return keys[0]


def _post(client, dash_app, output_id: str, inputs: list[dict], state: list[dict] | None = None):
    key = _callback_key(dash_app, output_id)
    outputs = [{"id": part.split(".")[0], "property": part.split(".")[1].split("@")[0]}
               for part in key.strip(".").split("...")]
    body = {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs,
            "state": state or [], "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs]}
    return client.post("/_dash-update-component", json=body, headers=csrf_header(client))


def _wait_for_line(instance_dir, request_id: str) -> list[dict]:
    deadline = time.monotonic() + 10
    while True:
        log_files.flush()
        rows = logs.search(instance_dir, logs.parse_query({"request_id": request_id})).rows
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_log_search_finds_a_request_by_its_request_id(dash_app, client_as):
    trader, viewer = client_as("trader"), client_as("viewer")
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    answer = trader.get("/operations/runbooks", headers={"X-Request-ID": request_id})
    assert answer.headers["X-Request-ID"] == request_id

    instance = dash_app.server.config["COCKPIT_SETTINGS"].instance_dir
    rows = _wait_for_line(instance, request_id)
    assert len(rows) == 1, rows
    assert rows[0]["message"] == "GET /operations/runbooks 200" and rows[0]["user"] == "trader-user"

    filters = {OpsLogs.SEARCH: None, OpsLogs.SINCE: "60", OpsLogs.LEVEL: "INFO", OpsLogs.PROCESS: "all",
               OpsLogs.REQUEST_ID: request_id, OpsLogs.USER: "", OpsLogs.JOB_ID: "", OpsLogs.ORDER_ID: "",
               OpsLogs.TEXT: "", OpsLogs.LIMIT: "200"}
    inputs = [{"id": k, "property": "n_clicks" if k == OpsLogs.SEARCH else "value", "value": v}
              for k, v in filters.items()]
    response = _post(viewer, dash_app, f"{OpsLogs.GRID}.rowData", inputs)  # a viewer may read the logs
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    grid = response.json["response"][OpsLogs.GRID]["rowData"]
    assert [row["request_id"] for row in grid] == [request_id]

    inputs[4]["value"] = "bad id with spaces"
    refused = _post(viewer, dash_app, f"{OpsLogs.GRID}.rowData", inputs).json["response"]
    assert refused[OpsLogs.GRID]["rowData"] == [] and "request_id" in json.dumps(refused[OpsLogs.STATUS])


def test_runbook_callbacks_refuse_roles_without_the_permission(dash_app, client_as):
    viewer, trader = client_as("viewer"), client_as("trader")
    params = [{"id": i, "property": "value", "value": v} for i, v in (
        (R.ACTION, "restart_engine"), (R.ENGINE_ID, "paper-1"), (R.QUEUE, "jobs"), (R.JOB_ID, ""),
        (R.TOKEN_ID, None), (R.TABLE, "jobs"), (R.OPERATION, "analyze"))]
    dry = _post(viewer, dash_app, f"{R.DRY_OUTPUT}.children", [{"id": R.DRY_RUN, "property": "n_clicks", "value": 1}],
                params)
    assert dry.status_code == 403
    request = _post(viewer, dash_app, f"{R.MESSAGE}.children", [{"id": R.REQUEST, "property": "n_clicks", "value": 1}],
                    [{"id": R.DRY_KEY, "property": "data", "value": None},
                     {"id": R.REASON, "property": "value", "value": "crafted by hand"},
                     {"id": R.INCIDENT, "property": "value", "value": None}] + params)
    assert request.status_code == 403
    for client in (viewer, trader):  # a trader may request but not approve
        approve = _post(client, dash_app, f"{R.DECISION_MESSAGE}.children",
                        [{"id": R.APPROVE, "property": "n_clicks", "value": 1}],
                        [{"id": R.PENDING, "property": "value", "value": 1}])
        assert approve.status_code == 403
    ticks = [{"id": R.INTERVAL, "property": "n_intervals", "value": 1}, {"id": R.CHANGED, "property": "data",
                                                                          "value": None}]
    history = _post(viewer, dash_app, f"{R.HISTORY}.rowData", ticks,
                    [{"id": R.HISTORY, "property": "rowData", "value": []}])
    assert history.status_code in (200, 204)  # the history is readable by every role that opens the page

    ok = _post(trader, dash_app, f"{R.DRY_OUTPUT}.children", [{"id": R.DRY_RUN, "property": "n_clicks", "value": 1}],
               params)
    assert ok.status_code == 200 and "Would set engine paper-1" in ok.get_data(as_text=True)


@pytest.mark.parametrize("role, sees_actions", [("viewer", False), ("trader", True)])
def test_runbooks_page_shows_action_controls_by_role(dash_app, client_as, role, sees_actions):
    from tests.support.web import call_callback

    client = client_as(role)
    body = call_callback(client, ".._pages_content.children..._pages_store.data..",
                         [{"id": "_pages_location", "property": "pathname", "value": "/operations/runbooks"},
                          {"id": "_pages_location", "property": "search", "value": "?slug=queue-backlog"}])
    text = body.get_data(as_text=True)
    assert body.status_code == 200 and "Queue backlog" in text and "page-forbidden" not in text
    assert (R.DRY_RUN in text) is sees_actions and (R.APPROVE in text) is False
    assert ("opr-read-only" in text) is not sees_actions


def test_an_ingested_order_is_found_by_its_client_id(server, api):
    from tests.support.trading import order

    assert api("orders", [order("ord-log-1"), order("ord-log-2", side="sell")]).status_code == 200
    deadline, rows = time.monotonic() + 10, []
    while not rows and time.monotonic() < deadline:
        log_files.flush()
        rows = logs.search(server.config["COCKPIT_SETTINGS"].instance_dir,
                           logs.parse_query({"order_id": "ord-log-2"})).rows
    assert [r["message"] for r in rows] == ["order ord-log-2 reported new"]
    assert rows[0]["engine_id"] == "paper-1" and rows[0]["user"] == "paper-engine" and rows[0]["request_id"]


def test_live_tail_sends_only_new_matching_lines(dash_app, client_as):
    viewer, trader = client_as("viewer"), client_as("trader")
    marker = f"tail-{uuid.uuid4().hex[:8]}"
    filters = [{"id": i, "property": "value", "value": v} for i, v in (
        (OpsLogs.SINCE, "60"), (OpsLogs.LEVEL, "INFO"), (OpsLogs.PROCESS, "all"), (OpsLogs.REQUEST_ID, marker),
        (OpsLogs.USER, ""), (OpsLogs.JOB_ID, ""), (OpsLogs.ORDER_ID, ""), (OpsLogs.TEXT, ""), (OpsLogs.LIMIT, "200"))]

    def poll(cursor):
        state = [{"id": OpsLogs.CURSOR, "property": "data", "value": cursor},
                 {"id": OpsLogs.GRID, "property": "rowData", "value": []}] + filters
        response = _post(viewer, dash_app, f"{OpsLogs.CURSOR}.data@", [{"id": OpsLogs.TAIL_INTERVAL,
                                                                       "property": "n_intervals", "value": 1}], state)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return response.json["response"]

    first = poll(None)  # starts at the end of every file: nothing old comes back
    cursor = first[OpsLogs.CURSOR]["data"]
    assert OpsLogs.GRID not in first and cursor
    trader.get("/jobs", headers={"X-Request-ID": marker})
    trader.get("/trading", headers={"X-Request-ID": "someone-else"})
    log_files.flush()
    rows = poll(cursor)[OpsLogs.GRID]["rowData"]
    assert [row["request_id"] for row in rows] == [marker] and rows[0]["message"] == "GET /jobs 200"
