"""/api/v1/alerts and /api/v1/incidents: the inbox, its history, the human actions on an alert, and
incidents with their timeline and postmortem.

Reading needs VIEW_ALERTS (every role); acting needs ALERTS_ACT (trader, risk, admin), declared here
with `@requires` and checked again in the services, which validate, write one event and one audit
record per action. Bodies are pydantic models (extra fields refused, bounded text, no control
characters); a bad one is 422 naming the field."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from dashapp.api.auth import install_guards, requires
from dashapp.security.permissions import Perm
from dashapp.services.errors import ValidationError
from dashapp.services.fields import NO_CONTROL

bp = Blueprint("api_alerts", __name__)
install_guards(bp)
ID_MAX = 2**31 - 1


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AckBody(_Body):
    expires_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60, strict=True)
    note: str | None = Field(None, max_length=500, pattern=NO_CONTROL)


class AssignBody(_Body):
    assignee: str = Field(..., max_length=64, pattern=NO_CONTROL)


class SnoozeBody(_Body):
    until: str | None = Field(None, max_length=40, pattern=NO_CONTROL, description="ISO 8601, at most 7 days ahead")
    minutes: int | None = Field(None, ge=1, le=7 * 24 * 60, strict=True)
    note: str | None = Field(None, max_length=500, pattern=NO_CONTROL)


class NoteBody(_Body):
    note: str | None = Field(None, max_length=500, pattern=NO_CONTROL)


class RequiredNoteBody(_Body):
    note: str = Field(..., min_length=1, max_length=500, pattern=NO_CONTROL)


class IncidentBody(_Body):
    title: str = Field(..., min_length=1, max_length=200, pattern=NO_CONTROL)
    severity: str = Field("high", max_length=12)
    alert_ids: list[int] = Field(default_factory=list, max_length=200)
    summary: str = Field("", max_length=2000, pattern=NO_CONTROL)
    commander: str | None = Field(None, max_length=64, pattern=NO_CONTROL)


class IncidentStateBody(_Body):
    state: str = Field(..., max_length=12)
    note: str = Field("", max_length=500, pattern=NO_CONTROL)


class IncidentAlertsBody(_Body):
    alert_ids: list[int] = Field(..., min_length=1, max_length=200)


class CommanderBody(_Body):
    commander: str = Field(..., max_length=64, pattern=NO_CONTROL)


class IncidentNoteBody(_Body):
    note: str = Field(..., min_length=1, max_length=4000, pattern=NO_CONTROL)


def body(model: type[_Body]) -> _Body:
    raw = request.get_json(silent=True) if request.get_data(cache=True) else {}
    if not isinstance(raw, dict):
        raise ValidationError(f"body must be a JSON object: {', '.join(model.model_fields)}", field="body")
    try:
        return model.model_validate(raw)
    except PydanticError as err:
        first = err.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        message = ("must not contain control characters" if first["type"] == "string_pattern_mismatch"
                   else first["msg"])
        raise ValidationError(f"{field}: {message}", field=field) from None


def _id(value: str, field: str) -> int:
    """A path id: digits only, 1 to 2**31-1 (422 naming the field otherwise)."""
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and 1 <= int(value) <= ID_MAX):
        raise ValidationError(f"{field}: a positive whole number", field=field)
    return int(value)


def _who() -> tuple[str, str | None]:
    from dashapp.security.guards import current_role, current_username

    return current_username(), current_role()


@bp.get("/alerts")
@requires(Perm.VIEW_ALERTS)
def alerts():
    """The inbox: open alerts filtered (state, severity, owner, acknowledged, labels, text), optionally grouped."""
    from dashapp.services.alerts import inbox

    args = request.args
    flt = inbox.make_filter(args.get("state"), args.get("severity"), args.get("owner"), args.get("acknowledged"),
                            args.get("labels"), args.get("text"), args.get("rule_id"))
    rows = inbox.list_alerts(flt)
    group_by = [g for g in (args.get("group_by") or "").split(",") if g.strip()]
    if len(group_by) > inbox.GROUPABLE_MAX or any(len(g) > 64 for g in group_by):
        raise ValidationError(f"group_by: at most {inbox.GROUPABLE_MAX} label names", field="group_by")
    answer = {"alerts": rows, "counts": inbox.navbar_counts()}
    if group_by:
        answer["groups"] = [{k: v for k, v in g.items() if k != "rows"} | {"alert_ids": [r["id"] for r in g["rows"]]}
                            for g in inbox.group_rows(rows, group_by)]
    return jsonify(answer)


@bp.get("/alerts/history")
@requires(Perm.VIEW_ALERTS)
def alert_history():
    """History of alert transitions and actions: start, end (at most 92 days), rule, labels, state, actor, page."""
    from dashapp.services.alerts import history

    a = request.args
    return jsonify(history.search(a.get("start"), a.get("end"), a.get("rule"), a.get("labels"), a.get("state"),
                                  a.get("actor"), a.get("page"), a.get("page_size")).to_dict())


def _answer(row) -> Response:
    from dashapp.services.alerts import inbox

    return jsonify(inbox.row_dict(row, inbox.utcnow()))


@bp.post("/alerts/<alert_id>/ack")
@requires(Perm.ALERTS_ACT)
def ack(alert_id: str):
    """Acknowledge an alert, optionally for expires_minutes; a duplicate ack keeps the first one's expiry."""
    from dashapp.services.alerts import inbox

    b = body(AckBody)
    return _answer(inbox.acknowledge(*_who(), _id(alert_id, "alert_id"), b.expires_minutes, b.note))


@bp.post("/alerts/<alert_id>/unack")
@requires(Perm.ALERTS_ACT)
def unack(alert_id: str):
    """Take back an acknowledgement."""
    from dashapp.services.alerts import inbox

    body(NoteBody)
    return _answer(inbox.unacknowledge(*_who(), _id(alert_id, "alert_id")))


@bp.post("/alerts/<alert_id>/assign")
@requires(Perm.ALERTS_ACT)
def assign(alert_id: str):
    """Give an alert an owner (an existing user; empty = nobody)."""
    from dashapp.services.alerts import inbox

    return _answer(inbox.assign(*_who(), _id(alert_id, "alert_id"), body(AssignBody).assignee))


@bp.post("/alerts/<alert_id>/snooze")
@requires(Perm.ALERTS_ACT)
def snooze(alert_id: str):
    """Snooze notifications until a time or for some minutes (at most 7 days)."""
    from dashapp.services.alerts import inbox

    b = body(SnoozeBody)
    if (b.until is None) == (b.minutes is None):
        raise ValidationError("until: give either until (ISO 8601) or minutes", field="until")
    return _answer(inbox.snooze(*_who(), _id(alert_id, "alert_id"), b.until if b.until is not None else b.minutes,
                                b.note))


@bp.post("/alerts/<alert_id>/silence")
@requires(Perm.ALERTS_ACT)
def silence(alert_id: str):
    """Silence an alert until it resolves."""
    from dashapp.services.alerts import inbox

    return _answer(inbox.silence_until_resolved(*_who(), _id(alert_id, "alert_id"), body(NoteBody).note))


@bp.post("/alerts/<alert_id>/resolve")
@requires(Perm.ALERTS_ACT)
def resolve(alert_id: str):
    """Resolve an alert by hand with a note (required)."""
    from dashapp.services.alerts import inbox

    return _answer(inbox.resolve(*_who(), _id(alert_id, "alert_id"), body(RequiredNoteBody).note))


@bp.post("/alerts/<alert_id>/note")
@requires(Perm.ALERTS_ACT)
def note(alert_id: str):
    """Add a note to an alert's history."""
    from dashapp.services.alerts import inbox

    return _answer(inbox.add_note(*_who(), _id(alert_id, "alert_id"), body(RequiredNoteBody).note))


@bp.get("/incidents")
@requires(Perm.VIEW_ALERTS)
def incident_list():
    """Incidents, newest first (state=open|mitigated|resolved to filter)."""
    from dashapp.services.alerts import incidents

    return jsonify(incidents=[incidents.summary(i) for i in incidents.list_incidents(request.args.get("state"))])


@bp.post("/incidents")
@requires(Perm.ALERTS_ACT)
def incident_create():
    """Open an incident: title, severity, alert_ids (linked), summary, commander."""
    from dashapp.services.alerts import incidents

    b = body(IncidentBody)
    incident = incidents.create(*_who(), b.title, b.severity, b.alert_ids, b.summary, b.commander)
    return jsonify(incidents.summary(incident))


@bp.get("/incidents/<incident_id>")
@requires(Perm.VIEW_ALERTS)
def incident_detail(incident_id: str):
    """One incident with its linked alerts and its merged timeline."""
    from dashapp.services.alerts import incidents, timeline

    incident = incidents.get(_id(incident_id, "incident_id"))
    return jsonify(incident=incidents.summary(incident), alerts=timeline.alert_rows(incident.id),
                   timeline=[e.to_dict() for e in timeline.build(incident.id)])


@bp.post("/incidents/<incident_id>/state")
@requires(Perm.ALERTS_ACT)
def incident_state(incident_id: str):
    """Move an incident forward: mitigated or resolved (with an optional note)."""
    from dashapp.services.alerts import incidents

    b = body(IncidentStateBody)
    return jsonify(incidents.summary(incidents.set_state(*_who(), _id(incident_id, "incident_id"), b.state, b.note)))


@bp.post("/incidents/<incident_id>/note")
@requires(Perm.ALERTS_ACT)
def incident_note(incident_id: str):
    """Add a note to an incident's timeline ("follow-up: ..." notes become the postmortem's follow-ups)."""
    from dashapp.services.alerts import incidents

    incidents.add_note(*_who(), _id(incident_id, "incident_id"), body(IncidentNoteBody).note)
    return jsonify(incidents.summary(incidents.get(_id(incident_id, "incident_id"))))


@bp.post("/incidents/<incident_id>/alerts")
@requires(Perm.ALERTS_ACT)
def incident_link(incident_id: str):
    """Link more alerts to an incident: {"alert_ids": [...]}."""
    from dashapp.services.alerts import incidents

    ident = _id(incident_id, "incident_id")
    incidents.link(*_who(), ident, body(IncidentAlertsBody).alert_ids)
    return jsonify(incidents.summary(incidents.get(ident)))


@bp.post("/incidents/<incident_id>/alerts/<alert_id>/unlink")
@requires(Perm.ALERTS_ACT)
def incident_unlink(incident_id: str, alert_id: str):
    """Take an alert out of an incident (its events leave the timeline)."""
    from dashapp.services.alerts import incidents

    ident = _id(incident_id, "incident_id")
    body(NoteBody)
    incidents.unlink(*_who(), ident, _id(alert_id, "alert_id"))
    return jsonify(incidents.summary(incidents.get(ident)))


@bp.post("/incidents/<incident_id>/commander")
@requires(Perm.ALERTS_ACT)
def incident_commander(incident_id: str):
    """Set the incident commander (an existing user; empty = nobody)."""
    from dashapp.services.alerts import incidents

    ident = _id(incident_id, "incident_id")
    return jsonify(incidents.summary(incidents.set_commander(*_who(), ident, body(CommanderBody).commander)))


@bp.get("/incidents/<incident_id>/postmortem")
@requires(Perm.VIEW_ALERTS)
def incident_postmortem(incident_id: str):
    """The postmortem as Markdown (format=md, default) or PDF (format=pdf)."""
    from dashapp.services.alerts import postmortem

    kind = request.args.get("format", "md")
    if kind not in ("md", "pdf"):
        raise ValidationError("format: md or pdf", field="format")
    ident = _id(incident_id, "incident_id")
    if kind == "pdf":
        data, mime = postmortem.pdf(ident), "application/pdf"
    else:
        data, mime = postmortem.markdown(ident).encode(), "text/markdown; charset=utf-8"
    response = Response(data, mimetype=mime.split(";")[0], content_type=mime)
    response.headers["Content-Disposition"] = f'attachment; filename="incident-{ident}-postmortem.{kind}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
