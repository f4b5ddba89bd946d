"""/api/v1/alerts and /api/v1/incidents on SQLite and PostgreSQL: a trader's token acts, a viewer's
token reads but every action is 403, bad bodies are 422 naming the field, postmortems download."""
from __future__ import annotations

from dashapp.extensions import db
from dashapp.services import tokens
from tests.support.alerts import make_alert, make_rule


def _bearer(make_user, role: str) -> dict:
    user = make_user(role)
    db.session.commit()
    _token, secret = tokens.create_token("test", user.id, f"{role} token")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_alert_actions_over_rest_and_the_viewer_is_refused(server, make_user):
    trader, viewer = _bearer(make_user, "trader"), _bearer(make_user, "viewer")
    alert = make_alert(make_rule("net_exposure_high"), labels={"desk": "macro"})
    client = server.test_client()
    listed = client.get("/api/v1/alerts?labels=desk%3Dmacro&group_by=desk", headers=viewer)
    assert listed.status_code == 200 and [a["id"] for a in listed.json["alerts"]] == [alert.id]
    assert listed.json["counts"]["unacknowledged"] == 1 and listed.json["groups"][0]["title"] == "desk=macro"
    for path, payload in (("ack", {}), ("assign", {"assignee": "trader1"}), ("snooze", {"minutes": 30}),
                          ("silence", {}), ("resolve", {"note": "x"}), ("note", {"note": "x"})):
        refused = client.post(f"/api/v1/alerts/{alert.id}/{path}", json=payload, headers=viewer)
        assert refused.status_code == 403 and "alerts:act" in refused.json["message"], path
    assert client.post("/api/v1/incidents", json={"title": "x"}, headers=viewer).status_code == 403

    ok = client.post(f"/api/v1/alerts/{alert.id}/ack", json={"expires_minutes": 30, "note": "on it"}, headers=trader)
    assert ok.status_code == 200 and ok.json["acknowledged"] and ok.json["ack"].startswith("trader1 until")
    again = client.post(f"/api/v1/alerts/{alert.id}/ack", json={"expires_minutes": 600}, headers=trader)
    assert again.json["ack_expires_at"] == ok.json["ack_expires_at"]  # a duplicate keeps the expiry
    bad = client.post(f"/api/v1/alerts/{alert.id}/assign", json={"assignee": "ghost"}, headers=trader)
    assert bad.status_code == 422 and bad.json["field"] == "assignee"
    assert client.post(f"/api/v1/alerts/{alert.id}/assign", json={"assignee": "viewer1"},
                       headers=trader).json["owner"] == "viewer1"
    for payload, field in (({"minutes": 60 * 24 * 8}, "minutes"), ({}, "until"), ({"until": "soon"}, "until"),
                           ({"minutes": "5"}, "minutes"), ({"minutes": 5, "colour": "red"}, "colour")):
        response = client.post(f"/api/v1/alerts/{alert.id}/snooze", json=payload, headers=trader)
        assert response.status_code == 422 and response.json["field"] == field, (payload, response.json)
    assert client.post(f"/api/v1/alerts/{alert.id}/snooze", json={"minutes": 45}, headers=trader).json["snoozed_until"]
    assert client.post(f"/api/v1/alerts/{alert.id}/silence", json={}, headers=trader).json["silenced"] is True
    missing = client.post(f"/api/v1/alerts/{alert.id}/resolve", json={}, headers=trader)
    assert missing.status_code == 422 and missing.json["field"] == "note"
    control = client.post(f"/api/v1/alerts/{alert.id}/resolve", json={"note": "a\u0007b"}, headers=trader)
    assert control.status_code == 422 and "control characters" in control.json["message"]
    done = client.post(f"/api/v1/alerts/{alert.id}/resolve", json={"note": "hedged with futures"}, headers=trader)
    assert done.status_code == 200 and done.json["state"] == "normal"
    assert client.post("/api/v1/alerts/999999/ack", json={}, headers=trader).status_code == 404
    history = client.get("/api/v1/alerts/history?actor=trader1", headers=viewer).json
    assert [r["kind"] for r in history["rows"]] == ["resolve", "silence", "snooze", "assign", "ack"]
    assert client.get("/api/v1/alerts/history?start=yesterday", headers=viewer).json["field"] == "start"
    assert client.get("/api/v1/alerts?state=burning", headers=viewer).status_code == 422


def test_incidents_over_rest_with_postmortem_downloads(server, make_user):
    trader, viewer = _bearer(make_user, "trader"), _bearer(make_user, "viewer")
    alert = make_alert()
    client = server.test_client()
    bad = client.post("/api/v1/incidents", json={"title": "t", "alert_ids": [alert.id, 424242]}, headers=trader)
    assert bad.status_code == 422 and bad.json["field"] == "alert_ids"
    created = client.post("/api/v1/incidents", json={"title": "Exposure breach", "severity": "critical",
                                                     "alert_ids": [alert.id], "commander": "trader1"}, headers=trader)
    assert created.status_code == 200 and created.json["alerts"] == 1
    incident_id = created.json["id"]
    assert client.post(f"/api/v1/incidents/{incident_id}/note", json={"note": "follow-up: review limits"},
                       headers=trader).status_code == 200
    assert client.post(f"/api/v1/incidents/{incident_id}/state", json={"state": "resolved"},
                       headers=viewer).status_code == 403
    assert client.post(f"/api/v1/incidents/{incident_id}/state", json={"state": "mitigated"},
                       headers=trader).json["state"] == "mitigated"
    back = client.post(f"/api/v1/incidents/{incident_id}/state", json={"state": "open"}, headers=trader)
    assert back.status_code == 409 and back.json["field"] == "state"
    second = make_alert(make_rule("var_high", severity="critical"))
    linked = client.post(f"/api/v1/incidents/{incident_id}/alerts", json={"alert_ids": [second.id]}, headers=trader)
    assert linked.status_code == 200 and linked.json["alerts"] == 2
    assert client.post(f"/api/v1/incidents/{incident_id}/alerts", json={"alert_ids": []},
                       headers=trader).json["field"] == "alert_ids"
    unlinked = client.post(f"/api/v1/incidents/{incident_id}/alerts/{second.id}/unlink", json={}, headers=trader)
    assert unlinked.json["alerts"] == 1
    assert client.post(f"/api/v1/incidents/{incident_id}/commander", json={"commander": "ghost"},
                       headers=trader).json["field"] == "commander"
    assert client.post(f"/api/v1/incidents/{incident_id}/commander", json={"commander": "trader1"},
                       headers=viewer).status_code == 403
    detail = client.get(f"/api/v1/incidents/{incident_id}", headers=viewer).json
    assert detail["incident"]["commander"] == "trader1" and detail["alerts"][0]["id"] == alert.id
    assert [e["kind"] for e in detail["timeline"]][:2] == ["pending", "firing"]
    md = client.get(f"/api/v1/incidents/{incident_id}/postmortem", headers=viewer)
    assert md.status_code == 200 and md.mimetype == "text/markdown"
    assert "# Postmortem: incident" in md.get_data(as_text=True) and "- [ ] review limits" in md.get_data(as_text=True)
    pdf = client.get(f"/api/v1/incidents/{incident_id}/postmortem?format=pdf", headers=viewer)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get(f"/api/v1/incidents/{incident_id}/postmortem?format=doc", headers=viewer).status_code == 422
    assert client.get("/api/v1/incidents/77777", headers=viewer).status_code == 404
    assert [i["id"] for i in client.get("/api/v1/incidents?state=mitigated", headers=viewer).json["incidents"]] == [
        incident_id]
    assert client.get("/api/v1/alerts").status_code == 401
