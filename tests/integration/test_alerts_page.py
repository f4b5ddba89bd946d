"""The Alerts page's callbacks on SQLite and PostgreSQL, posted the way Dash's renderer posts them: rule
writing needs ALERT_RULES_EDIT (a trader and a viewer get 403, risk creates and previews), silences and
alert actions need ALERTS_ACT (a viewer gets 403), and a bad spec comes back as an in-page message
naming the field."""
from __future__ import annotations

import json

import sqlalchemy as sa

from layouts.alerts_ids import AlertsPage as A
from tests.support.web import call_callback

RULE_OUTPUT = f"..{A.R_MESSAGE}.children...{A.R_PREVIEW_RESULT}.children...{A.R_CHANGED}.data.."
RULE_BUTTONS = (A.R_PREVIEW, A.R_CREATE, A.R_SAVE, A.R_ENABLE, A.R_DISABLE)
SILENCE_OUTPUT = f"..{A.N_MESSAGE}.children...{A.N_CHANGED}.data.."


def _rule_call(client, button: str, spec: dict, name: str = "reject_burst"):
    inputs = [{"id": b, "property": "n_clicks", "value": 1 if b == button else None} for b in RULE_BUTTONS]
    inputs.append({"id": A.R_DELETE, "property": "submit_n_clicks", "value": None})
    values = ((A.R_NAME, name), (A.R_KIND, "pattern"), (A.R_SEVERITY, "warning"), (A.R_PENDING, 0), (A.R_KEEP, 0),
              (A.R_LABELS, "team=execution"), (A.R_DESCRIPTION, ""), (A.R_RUNBOOK, ""), (A.R_SPEC, json.dumps(spec)))
    states = [{"id": A.R_GRID, "property": "selectedRows", "value": None}] + [
        {"id": i, "property": "value", "value": v} for i, v in values]
    return call_callback(client, RULE_OUTPUT, inputs, states, triggered=[f"{button}.n_clicks"])


def _silence_call(client, matchers: str):
    return call_callback(client, SILENCE_OUTPUT, [
        {"id": A.N_SIL_CREATE, "property": "n_clicks", "value": 1},
        {"id": A.N_SIL_EXPIRE, "property": "n_clicks", "value": None}], [
        {"id": A.N_SIL_MATCHERS, "property": "value", "value": matchers},
        {"id": A.N_SIL_HOURS, "property": "value", "value": 2},
        {"id": A.N_SIL_COMMENT, "property": "value", "value": "maintenance"},
        {"id": A.N_SIL_GRID, "property": "selectedRows", "value": None}], triggered=[f"{A.N_SIL_CREATE}.n_clicks"])


def test_rule_and_silence_editing_follow_the_matrix(dash_app, client_as):
    from dashapp.extensions import db
    from models import AlertRule, Silence

    spec = {"source": "execution.reject", "count": 5, "within_seconds": 60, "group_by": ["venue"]}
    for role in ("viewer", "trader"):
        refused = _rule_call(client_as(role), A.R_CREATE, spec)
        assert refused.status_code == 403 and "alerts:rules_edit" in refused.json["message"], role
    assert _silence_call(client_as("viewer"), "team=risk").status_code == 403
    buttons = (A.ACK, A.UNACK, A.ASSIGN, A.SNOOZE, A.SILENCE, A.RESOLVE, A.ADD_NOTE, A.CREATE_INCIDENT, A.LINK)
    ack = call_callback(client_as("viewer"), f"..{A.MESSAGE}.children...{A.CHANGED}.data..",
                        [{"id": b, "property": "n_clicks", "value": 1 if b == A.ACK else None} for b in buttons],
                        [{"id": A.GRID, "property": "selectedRows", "value": [{"id": 1}]}]
                        + [{"id": i, "property": "value", "value": None} for i in (
                            A.ACK_FOR, A.ASSIGNEE, A.SNOOZE_FOR, A.NOTE, A.INCIDENT_TITLE, A.LINK_INCIDENT)],
                        triggered=[f"{A.ACK}.n_clicks"])
    assert ack.status_code == 403 and "alerts:act" in ack.json["message"]

    risk = client_as("risk")
    bad = _rule_call(risk, A.R_CREATE, {**spec, "within_seconds": 0})
    assert bad.status_code == 200 and "spec.within_seconds" in bad.get_data(as_text=True)
    created = _rule_call(risk, A.R_CREATE, spec)
    assert created.status_code == 200 and "created, disabled" in created.get_data(as_text=True)
    preview = _rule_call(risk, A.R_PREVIEW, spec)
    assert preview.status_code == 200 and "Preview: would not have fired in the last 7 days" in preview.get_data(
        as_text=True)
    trader_silence = _silence_call(client_as("trader"), "alertname=reject_burst, venue=XNAS")
    assert trader_silence.status_code == 200 and "Silence" in trader_silence.get_data(as_text=True)
    bad_silence = _silence_call(client_as("trader"), "venue=~(")
    assert bad_silence.status_code == 200 and "not a valid regular expression" in bad_silence.get_data(as_text=True)
    with dash_app.server.app_context():
        rule = db.session.execute(sa.select(AlertRule).where(AlertRule.name == "reject_burst")).scalar_one()
        assert (rule.enabled, rule.labels, rule.updated_by) == (False, {"team": "execution"}, "risk-user")
        assert db.session.execute(sa.select(sa.func.count()).select_from(Silence)).scalar() == 1


def test_a_contact_point_edited_from_its_shortened_form_keeps_its_secret(dash_app):
    from dashapp.extensions import db
    from dashapp.services.alerts import contact_points, notify_view
    from callbacks.alerts_editors import save_object
    from models import ContactPoint

    secret_url = "https://hooks.example.com/services/T000/B000/very-secret-token"
    with dash_app.server.test_request_context():
        cp = contact_points.create_contact_point("risk1", {"name": "desk-slack", "kind": "slack",
                                                           "settings": {"url": secret_url}})
        [row] = [r for r in notify_view.contact_point_rows() if r["id"] == cp.id]
        assert secret_url not in json.dumps(row) and row["edit"]["settings"]["url"].endswith("/...")
        save_object("contact_point", cp.id, {**row["edit"], "enabled": False})
        db.session.expire_all()
        stored = db.session.get(ContactPoint, cp.id)
        assert stored.settings["url"] == secret_url and stored.enabled is False
        save_object("contact_point", cp.id, {**row["edit"], "settings": {"url": "https://hooks.example.com/new"}})
        db.session.expire_all()
        assert db.session.get(ContactPoint, cp.id).settings["url"] == "https://hooks.example.com/new"
