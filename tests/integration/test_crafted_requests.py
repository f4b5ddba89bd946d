"""Crafted requests at the edge (issue 8, item 3): paths that only look public, malformed Dash
callback bodies, hostile grid requests and /readyz's answer. Each gets a 4xx (or an in-page
message), never a 500, never the app shell; on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import math

import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import blotter, grid_requests
from dashapp.services.errors import ValidationError
from layouts.ids import Trading as ids
from models import Order
from tests.support.web import call_callback, csrf_header
from tests.unit.exports.conftest import N_ORDERS, seed_desk

BLOTTER = f"..{ids.BLOTTER}.getRowsResponse...{ids.BLOTTER_MESSAGE}.children.."
SHELL_MARKER = "_dash-config"  # only Dash's index page has it


@pytest.fixture
def desk(dash_app):
    with dash_app.server.app_context():
        seed_desk()
    return dash_app


# --- paths ----------------------------------------------------------------------------------

NEAR_PUBLIC = ["/loginx", "/login/../x", "/login/x", "/healthzz", "/readyz/x", "/api/x", "/api/v1/nope",
               "/api/v1/engines", "/metricsx", "/_dash-component-suites/dash/missing.js",
               "/_dash-component-suites/nopackage/x.js", "/assets/missing.css", "/eventsx", "/_dash-nope"]


def test_paths_that_only_look_public_are_404_for_everyone(dash_app, client_as):
    anonymous, admin = dash_app.server.test_client(), client_as("admin")
    for client in (anonymous, admin):
        for path in NEAR_PUBLIC:
            response = client.get(path)
            assert response.status_code == 404, (path, response.status_code)
            assert SHELL_MARKER not in response.get_data(as_text=True), path
        # A POST to an unknown API path is a 404 too (not 405 from the page route, not a CSRF 400).
        assert client.post("/api/v1/nope", json={}).status_code == 404
    # The library list Dash puts into its error for a missing bundle is not shown.
    body = anonymous.get("/_dash-component-suites/dash/missing.js").get_data(as_text=True)
    assert "Registered libraries" not in body and "registered" not in body


def test_real_public_paths_still_work_and_unknown_pages_behave_as_documented(dash_app, client_as):
    anonymous = dash_app.server.test_client()
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/assets/00-bootstrap.min.css").status_code == 200
    assert anonymous.get("/").status_code == 302  # a page: log in first
    unknown = anonymous.get("/no-such-page")
    assert unknown.status_code == 302 and "/login" in unknown.headers["Location"]
    # Logged in, an unknown page is Dash's shell, whose router shows the "Not found" content.
    viewer = client_as("viewer")
    assert SHELL_MARKER in viewer.get("/no-such-page").get_data(as_text=True)
    assert viewer.get("/api/v1/me").status_code == 200


def test_readyz_names_the_failed_dependency_without_driver_text(dash_app, monkeypatch):
    from dataclasses import replace

    server = dash_app.server
    settings = server.config["COCKPIT_SETTINGS"]
    server.config["COCKPIT_SETTINGS"] = replace(settings, redis_url="redis://secret-user:hunter2@127.0.0.1:1/0")

    def broken_execute(*_a, **_k):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception('password authentication failed for user "desk"'))

    try:
        with server.app_context():
            monkeypatch.setattr(db.session, "execute", broken_execute)
            response = server.test_client().get("/readyz")
    finally:
        server.config["COCKPIT_SETTINGS"] = settings
    assert response.status_code == 503
    assert response.json["failed"] == ["database", "broker"]
    assert response.json["database"] == "unavailable" and response.json["broker"] == "unavailable"
    text = response.get_data(as_text=True)
    for leak in ("hunter2", "secret-user", "password", "desk", "127.0.0.1", "OperationalError"):
        assert leak not in text


# --- crafted callback bodies -------------------------------------------------------------------

DETAIL = f"{ids.DETAIL}.children"
DETAIL_OUT = {"id": ids.DETAIL, "property": "children"}


def _detail_input(value):
    return [{"id": ids.BLOTTER, "property": "selectedRows", "value": value}]


CRAFTED_BODIES = {
    "a list": [1, 2],
    "a string": "x",
    "no output": {"inputs": _detail_input(None)},
    "output not a string": {"output": ["x"], "outputs": DETAIL_OUT, "inputs": _detail_input(None)},
    "huge output": {"output": "x" * 100_000, "outputs": DETAIL_OUT, "inputs": _detail_input(None)},
    "no outputs": {"output": DETAIL, "inputs": _detail_input(None)},
    "outputs of another callback": {"output": DETAIL, "outputs": {"id": "admin-message", "property": "children"},
                                    "inputs": _detail_input(None)},
    "no inputs": {"output": DETAIL, "outputs": DETAIL_OUT},
    "inputs not a list": {"output": DETAIL, "outputs": DETAIL_OUT, "inputs": {"id": ids.BLOTTER}},
    "too many inputs": {"output": DETAIL, "outputs": DETAIL_OUT, "inputs": _detail_input(None) * 2},
    "input of another component": {"output": DETAIL, "outputs": DETAIL_OUT,
                                   "inputs": [{"id": "admin-users-grid", "property": "selectedRows", "value": []}]},
    "input without property": {"output": DETAIL, "outputs": DETAIL_OUT, "inputs": [{"id": ids.BLOTTER}]},
    "rows as a string": {"output": DETAIL, "outputs": DETAIL_OUT, "inputs": _detail_input("1")},
    "rows as a dict": {"output": DETAIL, "outputs": DETAIL_OUT, "inputs": _detail_input({"id": 1})},
    "a huge string": {"output": DETAIL, "outputs": DETAIL_OUT, "inputs": _detail_input(["x" * 200_000])},
    "deep nesting": {"output": DETAIL, "outputs": DETAIL_OUT,
                     "inputs": _detail_input(json.loads("[" * 200 + "]" * 200))},
    "a NUL": {"output": DETAIL, "outputs": DETAIL_OUT, "inputs": _detail_input([{"id": "1\x00"}])},
    "state not a list": {"output": DETAIL, "outputs": DETAIL_OUT, "inputs": _detail_input(None), "state": "x"},
    "changedPropIds not a list": {"output": DETAIL, "outputs": DETAIL_OUT, "inputs": _detail_input(None),
                                  "changedPropIds": {"a": 1}},
}


@pytest.mark.parametrize("case", sorted(CRAFTED_BODIES))
def test_crafted_callback_bodies_get_a_4xx_with_a_message(dash_app, client_as, case):
    client = client_as("trader")
    response = client.post("/_dash-update-component", json=CRAFTED_BODIES[case], headers=csrf_header(client))
    assert response.status_code in (400, 403, 422), (case, response.status_code, response.get_data()[:300])
    assert response.json["message"]


def test_non_json_and_wrongly_typed_values_are_refused(dash_app, client_as):
    client = client_as("admin")
    headers = csrf_header(client)
    assert client.post("/_dash-update-component", data="{not json", content_type="application/json",
                       headers=headers).status_code == 400
    assert client.post("/_dash-update-component", data="output=x", headers=headers).status_code in (400, 415)
    # A click count must be a whole number >= 0: not text, not a boolean, not negative.
    for clicks in ("1", True, -1, 1.5):
        response = call_callback(client, "audit-verify-result.children",
                                 [{"id": "audit-verify", "property": "n_clicks", "value": clicks}])
        assert response.status_code == 400, clicks
        assert "audit-verify.n_clicks" in response.json["message"]
    # NaN is not a number a component sends (Python's JSON parser accepts it).
    response = client.post("/_dash-update-component", headers={**headers, "Content-Type": "application/json"},
                           data='{"output": "tr-detail.children", "outputs": {"id": "tr-detail", "property": '
                                '"children"}, "inputs": [{"id": "tr-blotter", "property": "selectedRows", '
                                '"value": [{"id": NaN}]}]}')
    assert response.status_code == 400


def test_a_value_of_the_right_kind_that_a_callback_cannot_use_is_a_400(desk, client_as):
    """selectedRows with rows whose id is not a number passes the shape check; the callback's own
    handling (or the contained error) answers it without a 500."""
    client = client_as("trader")
    for rows in ([{"id": "abc"}], [{"no_id": 1}], [["x"]], [{"id": 10**30}]):
        response = call_callback(client, DETAIL, _detail_input(rows))
        assert response.status_code in (200, 400), (rows, response.status_code)


def test_a_callback_of_a_page_the_role_cannot_open_is_403(dash_app, client_as):
    viewer = client_as("viewer")
    response = call_callback(viewer, "admin-tokens-grid.rowData", [
        {"id": "admin-refresh", "property": "n_clicks", "value": 1},
        {"id": "admin-tokens-changed", "property": "data", "value": None}])
    assert response.status_code == 403


# --- every registered callback, fuzzed ---------------------------------------------------------

VARIANTS = [None, "", "x" * 70_000, "\u202e\u0000", {"a": {"b": [1, 2]}}, [1, "x", None], -1, 0, 2**63,
            1e308, True, "2026-13-45", [{"id": "x"}], {"startRow": "0", "endRow": [1]}]


def _crafted(entry_key: str, entry: dict, pick) -> dict:
    def items(specs):
        out = []
        for index, spec in enumerate(specs):
            if spec["id"].startswith("{"):
                out.append([])  # a pattern-matching input that matches no component
                continue
            out.append({"id": spec["id"], "property": spec["property"], "value": pick(index)})
        return out

    keys = entry_key.strip(".").split("...") if entry_key.startswith("..") else [entry_key]
    outputs = [{"id": k.split(".")[0], "property": k.split(".", 1)[1]} for k in keys]
    inputs = items(entry["inputs"])
    return {"output": entry_key, "outputs": outputs if entry_key.startswith("..") else outputs[0],
            "inputs": inputs, "state": items(entry.get("state") or []),
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs if isinstance(i, dict)][:1]}


def test_no_crafted_body_to_any_callback_gets_a_5xx(desk, client_as):
    """Every server-side callback of the app, as an admin (who may call all of them), with each
    value replaced by hostile ones: the same variant everywhere, and a mix per position."""
    client = client_as("admin")
    headers = csrf_header(client)
    callbacks = {key: entry for key, entry in desk.callback_map.items() if entry.get("callback") is not None}
    assert len(callbacks) > 40
    failures, sent = [], 0
    for key, entry in callbacks.items():
        pickers = [lambda _i, v=v: v for v in VARIANTS]
        pickers += [lambda i, s=shift: VARIANTS[(i + s) % len(VARIANTS)] for shift in range(3)]
        for pick in pickers:
            response = client.post("/_dash-update-component", json=_crafted(key, entry, pick), headers=headers)
            sent += 1
            if response.status_code >= 500:
                failures.append((key, response.status_code, response.get_data(as_text=True)[:200]))
    assert not failures, sorted({f[0] for f in failures})
    assert sent >= 40 * len(VARIANTS)


# --- grid requests ------------------------------------------------------------------------------

def test_grid_request_validator_names_the_bad_part():
    cols = blotter.COLUMNS
    ok = grid_requests.parse_rows_request({"startRow": 100, "endRow": 200, "sortModel": [{"colId": "quantity",
                                           "sort": "desc"}], "filterModel": {"status": {"filterType": "text",
                                           "type": "equals", "filter": "filled"}}}, cols)
    assert (ok.start, ok.end, ok.sort_model[0]["colId"], ok.filter_model["status"]["filter"]) == (
        100, 200, "quantity", "filled")
    bad = {
        "getRowsRequest": [1], "getRowsRequest.startRow": {"startRow": "0", "endRow": 10},
        "getRowsRequest.endRow": {"startRow": 0, "endRow": True},
    }
    for field, request in bad.items():
        with pytest.raises(ValidationError) as err:
            grid_requests.parse_rows_request(request, cols)
        assert err.value.field == field
    cases = [
        ({"startRow": 10, "endRow": 10}, "getRowsRequest.startRow"),
        ({"startRow": -1, "endRow": 10}, "getRowsRequest.startRow"),
        ({"startRow": 0, "endRow": 100_000}, "getRowsRequest.endRow"),
        ({"startRow": 2**62, "endRow": 2**62 + 10}, "getRowsRequest.startRow"),
        ({"sortModel": [{"colId": "password", "sort": "asc"}]}, "getRowsRequest.sortModel"),
        ({"sortModel": [{"colId": "id", "sort": "sideways"}]}, "getRowsRequest.sortModel"),
        ({"sortModel": "id"}, "getRowsRequest.sortModel"),
        ({"filterModel": ["x"]}, "getRowsRequest.filterModel"),
        ({"filterModel": {"nope": {"filterType": "text", "filter": "x"}}}, "getRowsRequest.filterModel"),
        ({"filterModel": {"created_at": {"filterType": "text", "filter": "x"}}}, "getRowsRequest.filterModel"),
        ({"filterModel": {"status": {"filterType": "text", "type": "regex", "filter": "x"}}},
         "getRowsRequest.filterModel.status"),
        ({"filterModel": {"status": {"filterType": "text", "filter": "a\x00b"}}}, "getRowsRequest.filterModel.status"),
        ({"filterModel": {"status": {"filterType": "text", "filter": "x" * 1000}}},
         "getRowsRequest.filterModel.status"),
        ({"filterModel": {"status": {"filterType": "number", "filter": 1}}}, "getRowsRequest.filterModel.status"),
        ({"filterModel": {"quantity": {"filterType": "text", "filter": "1"}}}, "getRowsRequest.filterModel.quantity"),
        ({"filterModel": {"quantity": {"filterType": "number", "filter": "10"}}},
         "getRowsRequest.filterModel.quantity"),
        ({"filterModel": {"quantity": {"filterType": "number", "filter": math.inf}}},
         "getRowsRequest.filterModel.quantity"),
        ({"filterModel": {"quantity": {"filterType": "number", "filter": 1e300}}},
         "getRowsRequest.filterModel.quantity"),
        ({"filterModel": {"quantity": {"filterType": "number", "type": "inRange", "filter": 1}}},
         "getRowsRequest.filterModel.quantity"),
        ({"filterModel": {"status": {"filterType": "text", "operator": "OR", "conditions": []}}},
         "getRowsRequest.filterModel.status"),
        ({"filterModel": {"status": {"filterType": "set", "values": "filled"}}}, "getRowsRequest.filterModel.status"),
        ({"filterModel": {"status": {"filterType": "date", "dateFrom": "2026-01-01"}}},
         "getRowsRequest.filterModel.status"),
    ]
    for extra, field in cases:
        with pytest.raises(ValidationError) as err:
            grid_requests.parse_rows_request({"startRow": 0, "endRow": 100, **extra}, cols)
        assert err.value.field == field, extra


def _post_rows(client, request, search=None, parents_only=False):
    return call_callback(client, BLOTTER, [{"id": ids.BLOTTER, "property": "getRowsRequest", "value": request}],
                         [{"id": ids.SEARCH, "property": "value", "value": search},
                          {"id": ids.PARENTS_ONLY, "property": "value", "value": parents_only}])


def _rows(client, request, search=None, parents_only=False):
    response = _post_rows(client, request, search, parents_only)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body = response.json["response"]
    return body[ids.BLOTTER]["getRowsResponse"], body[ids.BLOTTER_MESSAGE]["children"]


def test_the_blotter_answers_crafted_grid_requests_with_a_message_and_no_rows(desk, client_as):
    client = client_as("trader")
    page, message = _rows(client, {"startRow": 0, "endRow": 10, "sortModel": [{"colId": "id", "sort": "asc"}]})
    assert len(page["rowData"]) == 10 and message == ""
    ids_first = [r["id"] for r in page["rowData"]]
    assert ids_first == sorted(ids_first)
    crafted = [
        {"startRow": 0, "endRow": 10**9},
        {"startRow": "0", "endRow": "100"},
        {"startRow": 0, "endRow": 100, "filterModel": {"status": {"filterType": "text", "type": "equals",
                                                                  "filter": "fil\x1bled"}}},
        {"startRow": 0, "endRow": 100, "filterModel": {"status": {"filterType": "number", "type": "equals",
                                                                  "filter": 3}}},
        {"startRow": 0, "endRow": 100, "filterModel": {"quantity": {"filterType": "text", "type": "contains",
                                                                    "filter": "1"}}},
        {"startRow": 0, "endRow": 100, "sortModel": [{"colId": "reject_reason; DROP TABLE orders", "sort": "asc"}]},
        {"startRow": 0, "endRow": 100, "filterModel": {"id": {"filterType": "number", "type": "equals",
                                                              "filter": 1e300}}},
    ]
    for request in crafted:
        page, message = _rows(client, request)
        assert page == {"rowData": [], "rowCount": 0} and message, request
    # A NUL never reaches the grid code: the callback guard refuses it in any input (PostgreSQL would fail).
    nul = {"startRow": 0, "endRow": 10, "filterModel": {"status": {"filterType": "text", "filter": "a\x00"}}}
    response = _post_rows(client, nul)
    assert response.status_code == 400 and "NUL" in response.json["message"]
    response = _post_rows(client, {"startRow": 2**60, "endRow": 2**60 + 10})  # no browser sends that integer
    assert response.status_code == 400 and "getRowsRequest" in response.json["message"]
    # Odd but typed states are tolerated: a non-text search is ignored, a non-bool switch is off.
    page, message = _rows(client, {"startRow": 0, "endRow": 5}, search={"x": 1}, parents_only="yes")
    assert len(page["rowData"]) == 5 and message == ""
    with desk.server.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == N_ORDERS
