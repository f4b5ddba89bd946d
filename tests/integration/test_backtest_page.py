"""The Backtests page through Flask's test client, the way the browser's renderer calls it: the
form only for roles that may launch, launch refused to viewers on the server, a bad parameter shown
as an alert naming the field, a launch queued on the real embedded broker, then (run in-process)
the status and the result view."""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from callbacks.backtests import FORM, RESULT_FIELDS, STRATEGY_FIELDS
from dashapp.services import jobs
from layouts.ids import Backtests as ids
from tests.support.web import call_callback

pytestmark = [pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True), pytest.mark.timeout(300)]

LAUNCH = f"..{ids.MESSAGE}.children...{ids.LAUNCHED}.data...{ids.CHANGED}.data.."
STATUS = f"..{ids.STATUS}.children...{ids.SHOWN}.data.."
RESULT = ".." + "...".join(f"{i}.{p}" for i, p in RESULT_FIELDS) + ".."
RUNS = f"..{ids.RUNS}.rowData...{ids.RUNS_EMPTY}.children.."
LIVE = f"..{ids.LIVE}.figure...{ids.LIVE_NOTE}.children.."
GOOD = {"strategy": "sma_cross", "symbols": ["AAPL"], "start": "2015-01-02", "end": "2019-12-31", "first": 10,
        "second": 50, "first_start": 5, "first_stop": 20, "first_step": 5, "second_start": 30, "second_stop": 90,
        "second_step": 30, "commission_per_share": 0.005, "commission_bps": 0, "slippage_bps": 1,
        "initial_capital": 1_000_000, "position_size": 1, "max_position_notional": None, "allow_short": True,
        "fill": "next_bar"}


def _body(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return json.loads(response.get_data(as_text=True))["response"]


def _page(client) -> dict:
    response = call_callback(client, ".._pages_content.children..._pages_store.data..",
                             [{"id": "_pages_location", "property": "pathname", "value": "/backtests"},
                              {"id": "_pages_location", "property": "search", "value": ""}])
    return _body(response)["_pages_content"]["children"]


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


def _launch(client, form, mode="single", clicks=1):
    state = [{"id": ids.MODE, "property": "value", "value": mode},
             {"id": ids.LAUNCH_TOKEN, "property": "data", "value": "page-1"}]
    state += [{"id": element, "property": "value", "value": form[name]} for name, element in FORM.items()]
    return call_callback(client, LAUNCH, [{"id": ids.LAUNCH, "property": "n_clicks", "value": clicks}], state)


def _status(client, job_id, shown=None):
    return call_callback(client, STATUS, [{"id": ids.SELECTED, "property": "data", "value": job_id},
                                          {"id": ids.INTERVAL, "property": "n_intervals", "value": 1}],
                         [{"id": ids.SHOWN, "property": "data", "value": shown}])


def _run_in_process(app, job_id):
    with app.server.app_context():
        assert jobs.run(jobs.mark_running(job_id, "test")) == "succeeded"


def test_form_shows_only_to_roles_that_may_launch(client_as):
    assert _find(_page(client_as("trader")), ids.LAUNCH) is not None
    viewer_page = _page(client_as("viewer"))
    assert _find(viewer_page, ids.LAUNCH) is None and _find(viewer_page, "bt-no-launch") is not None
    assert _find(viewer_page, ids.RUNS) is not None


def test_viewer_reads_runs_but_is_refused_launch_on_the_server(dash_app, client_as):
    viewer = client_as("viewer")
    runs = _body(call_callback(viewer, RUNS, [{"id": ids.INTERVAL, "property": "n_intervals", "value": 1},
                                              {"id": ids.CHANGED, "property": "data", "value": None}],
                               [{"id": ids.RUNS, "property": "rowData", "value": []}]))
    assert runs[ids.RUNS]["rowData"] == [] and "No backtests yet" in json.dumps(runs[ids.RUNS_EMPTY])
    assert _launch(viewer, GOOD).status_code == 403
    with dash_app.server.app_context():
        assert jobs.list_jobs() == []


def test_a_bad_parameter_is_an_alert_naming_the_field(dash_app, client_as):
    body = _body(_launch(client_as("trader"), {**GOOD, "first": 80, "second": 40}))
    text = json.dumps(body[ids.MESSAGE]["children"])
    assert "strategy.sma_cross.slow" in text and "must be greater than fast" in text and "Alert" in text
    body = _body(_launch(client_as("trader"), {**GOOD, "symbols": []}))
    assert "'symbols'" in json.dumps(body[ids.MESSAGE]["children"])
    with dash_app.server.app_context():
        assert jobs.list_jobs() == []


def test_trader_launches_a_sweep_and_reads_its_result(dash_app, client_as):
    trader = client_as("trader", "tina")
    body = _body(_launch(trader, GOOD, mode="sweep"))
    assert "Sweep queued" in json.dumps(body[ids.MESSAGE]["children"])
    job_id = body[ids.LAUNCHED]["data"]
    assert _body(_launch(trader, GOOD, mode="sweep"))[ids.LAUNCHED]["data"] == job_id  # same click, same job
    status = _body(_status(trader, job_id))
    assert status[ids.SHOWN]["data"] == {"id": job_id, "state": "queued"}
    assert _find(status[ids.STATUS]["children"], ids.PROGRESS)["props"]["value"] == 0

    _run_in_process(dash_app, job_id)
    status = _body(_status(trader, job_id, shown={"id": job_id, "state": "queued"}))
    shown = status[ids.SHOWN]["data"]
    assert shown == {"id": job_id, "state": "succeeded"}
    assert _find(status[ids.STATUS]["children"], ids.PROGRESS)["props"]["value"] == 100

    result = _body(call_callback(trader, RESULT, [{"id": ids.SHOWN, "property": "data", "value": shown}]))
    assert result[ids.RESULT]["style"] is None and result[ids.SWEEP_TAB]["style"] is None
    assert "Sweep of 12 parameter pairs" in json.dumps(result[ids.SUMMARY]["children"])
    assert len(result[ids.SWEEP_GRID]["rowData"]) == 12 and result[ids.TRADES]["rowData"]
    assert [r["year"] for r in result[ids.MONTHLY]["rowData"]] == [2015, 2016, 2017, 2018, 2019]
    assert result[ids.EQUITY]["figure"]["data"][0]["type"] == "scattergl"

    live = _body(call_callback(client_as("viewer"), LIVE, [{"id": ids.SHOWN, "property": "data", "value": shown},
                                                         {"id": ids.LIVE_WINDOW, "property": "value", "value": 30},
                                                         {"id": ids.LIVE_INTERVAL, "property": "n_intervals",
                                                          "value": 0}]))
    assert "does not run SMA crossover" in json.dumps(live[ids.LIVE_NOTE]["children"])  # a viewer reads it too

    heatmap = _body(call_callback(trader, f"{ids.HEATMAP}.figure",
                                  [{"id": ids.SHOWN, "property": "data", "value": shown},
                                   {"id": ids.HEATMAP_METRIC, "property": "value", "value": "max_drawdown"}]))
    (trace,) = heatmap[ids.HEATMAP]["figure"]["data"]
    assert trace["type"] == "heatmap" and trace["y"] == ["5", "10", "15", "20"] and trace["x"] == ["30", "60", "90"]
    z = trace["z"]
    if isinstance(z, dict):  # plotly sends NumPy arrays as base64 typed arrays
        z = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(4, 3)
    assert (np.asarray(z) <= 0).all() and (np.asarray(z) < 0).any()  # max drawdowns


def test_choosing_a_strategy_relabels_the_parameters_with_its_defaults(client_as):
    output = ".." + "...".join(f"{i}.{p}" for i, p in STRATEGY_FIELDS) + ".."
    body = _body(call_callback(client_as("viewer"), output,
                               [{"id": ids.STRATEGY, "property": "value", "value": "mean_reversion"}]))
    assert body[ids.FIRST_LABEL]["children"] == "Window (bars)" and body[ids.FIRST]["value"] == 30
    assert body[ids.SECOND_LABEL]["children"] == "Entry z-score" and body[ids.SECOND]["value"] == 1.5
    assert [body[i]["value"] for i in (ids.SECOND_START, ids.SECOND_STOP, ids.SECOND_STEP)] == [0.5, 3.0, 0.25]
    assert "paper engine's mean reversion" in body[ids.STRATEGY_HELP]["children"]
