"""Postmortem export of an incident, as Markdown and as PDF (reportlab, in the house style of
dashapp/reports/pdf.py: A4 landscape, grey header rows, zebra stripes, a footer with the page).

Sections: summary (title, severity, state, commander, who opened it and when), impact window (from
the first linked alert's episode start, or the incident's opening, to the last resolution, or now),
timeline (timeline.build), alerts, actions taken by people (acks, assignments, notes, control
actions, limit edits, state changes) and follow-ups (notes that start with "follow-up:" or "todo:",
else an empty checklist to fill in)."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from dashapp.services.alerts import incidents as incidents_service
from dashapp.services.alerts import inbox, timeline
from models import utcnow

HUMAN_SOURCES = ("incident", "runbook", "control", "limit")
HUMAN_ALERT_KINDS = ("ack", "unack", "assign", "snooze", "silence", "resolve", "note", "escalate")
FOLLOW_UP_PREFIXES = ("follow-up:", "follow up:", "followup:", "todo:", "action:")
MAX_TIMELINE = 1000
MAX_PDF_ROWS = 300  # a PDF is for reading (and reportlab lays out each wrapped cell); the Markdown has them all


@dataclass
class Postmortem:
    incident: dict
    impact_start: datetime
    impact_end: datetime
    ongoing: bool
    timeline: list[timeline.Entry]
    alerts: list[dict]
    actions: list[timeline.Entry]
    follow_ups: list[str]
    generated_at: datetime

    @property
    def duration(self) -> str:
        seconds = int((self.impact_end - self.impact_start).total_seconds())
        hours, rest = divmod(max(0, seconds), 3600)
        return f"{hours} h {rest // 60:02d} min" + (" (ongoing)" if self.ongoing else "")


def collect(incident_id, now: datetime | None = None) -> Postmortem:
    now = now or utcnow()
    incident = incidents_service.get(incident_id)
    alerts = incidents_service.linked_alerts(incident.id)
    entries = timeline.build(incident.id, now)[:MAX_TIMELINE]
    names = inbox._rule_names()
    starts = [t for a in alerts for t in (a.pending_since, a.firing_since) if t is not None]
    start = min(starts) if starts else incident.created_at
    still_open = [a for a in alerts if a.state != "normal"]
    ends = [a.resolved_at for a in alerts if a.resolved_at is not None]
    if incident.resolved_at is not None:
        ends.append(incident.resolved_at)
    ongoing = bool(still_open) or incident.state != "resolved"
    end = now if ongoing or not ends else max(ends)
    actions = [e for e in entries if e.source in HUMAN_SOURCES and e.kind != "created"
               or (e.source == "alert" and e.kind in HUMAN_ALERT_KINDS)]
    follow_ups = [e.text.split(":", 1)[1].strip() for e in entries
                  if e.source == "incident" and e.kind == "note" and e.text.lower().startswith(FOLLOW_UP_PREFIXES)]
    return Postmortem(incidents_service.summary(incident), start, max(start, end), ongoing, entries,
                      [inbox.row_dict(a, now, names) for a in alerts], actions, follow_ups, now)


# --- Markdown ----------------------------------------------------------------------------------


def _md(text) -> str:
    """A table cell: pipes escaped, one line."""
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _value(value) -> str:
    return "" if value is None else f"{value:,.4g}"


def _t(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def markdown(incident_id, now: datetime | None = None) -> str:
    pm = collect(incident_id, now)
    inc = pm.incident
    lines = [f"# Postmortem: incident {inc['id']}: {inc['title']}", "",
             f"_Generated {_t(pm.generated_at)} by the Trading Desk Cockpit._", "", "## Summary", "",
             f"- **Severity:** {inc['severity']}", f"- **State:** {inc['state']}",
             f"- **Commander:** {inc['commander'] or '(none)'}",
             f"- **Opened:** {inc['created_at']} by {inc['created_by']}",
             f"- **Mitigated:** {inc['mitigated_at'] or '-'}", f"- **Resolved:** {inc['resolved_at'] or '-'}",
             f"- **Alerts linked:** {len(pm.alerts)}", ""]
    if inc["summary"]:
        lines += [inc["summary"], ""]
    lines += ["## Impact window", "", f"From {_t(pm.impact_start)} to {_t(pm.impact_end)}: {pm.duration}.", "",
              "## Timeline", ""]
    if pm.timeline:
        lines += ["| Time (UTC) | Source | What | Who |", "| --- | --- | --- | --- |"]
        lines += [f"| {e.at:%Y-%m-%d %H:%M:%S} | {e.source} | {_md(e.text)} | {_md(e.actor)} |" for e in pm.timeline]
    else:
        lines.append("_Nothing recorded in the window._")
    lines += ["", "## Alerts", ""]
    if pm.alerts:
        lines += ["| Alert | Rule | Severity | State | Labels | Value | Owner |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {a['id']} | {_md(a['rule'])} | {a['severity']} | {a['state']} | {_md(a['labels'])} | "
                  f"{_value(a['value'])} | "
                  f"{_md(a['owner'])} |" for a in pm.alerts]
    else:
        lines.append("_No alerts linked._")
    lines += ["", "## Actions", ""]
    lines += [f"- {e.at:%Y-%m-%d %H:%M:%S} **{_md(e.actor)}**: {_md(e.text)}" for e in pm.actions] or [
        "_No actions recorded._"]
    lines += ["", "## Follow-ups", ""]
    lines += [f"- [ ] {_md(item)}" for item in pm.follow_ups] or [
        "- [ ] Root cause:", "- [ ] What would have caught it earlier:", "- [ ] Owner and due date:"]
    return "\n".join(lines) + "\n"


# --- PDF ---------------------------------------------------------------------------------------


def pdf(incident_id, now: datetime | None = None) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from dashapp.reports.pdf import HEADER_BG, ZEBRA, _escape

    pm = collect(incident_id, now)
    inc = pm.incident
    styles = getSampleStyleSheet()
    cell = styles["BodyText"].clone("pm-cell", fontSize=8, leading=10)
    buffer = io.BytesIO()
    title = f"Postmortem: incident {inc['id']}: {inc['title']}"
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=14 * mm, rightMargin=14 * mm,
                            topMargin=12 * mm, bottomMargin=14 * mm, title=title, author="Trading Desk Cockpit")

    def para(text, style=cell):
        return Paragraph(_escape(text), style)

    def table(header: list[str], rows: list[list], widths: list[float]):
        data = [[Paragraph(f"<b>{_escape(h)}</b>", cell) for h in header]] + [[para(v) for v in r] for r in rows]
        out = Table(data, colWidths=[w * doc.width for w in widths], repeatRows=1, hAlign="LEFT")
        style = [("BACKGROUND", (0, 0), (-1, 0), HEADER_BG), ("GRID", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                 ("VALIGN", (0, 0), (-1, -1), "TOP")]
        style += [("BACKGROUND", (0, r), (-1, r), ZEBRA) for r in range(2, len(data), 2)]
        out.setStyle(TableStyle(style))
        return out

    story = [para(title, styles["Title"]), para(f"Generated {_t(pm.generated_at)}", styles["Italic"]),
             Spacer(1, 4 * mm), para("Summary", styles["Heading2"]),
             table(["Severity", "State", "Commander", "Opened", "Mitigated", "Resolved", "Alerts"],
                   [[inc["severity"], inc["state"], inc["commander"] or "(none)",
                     f"{inc['created_at']} by {inc['created_by']}", inc["mitigated_at"] or "-",
                     inc["resolved_at"] or "-", len(pm.alerts)]], [0.1, 0.1, 0.12, 0.25, 0.16, 0.16, 0.11])]
    if inc["summary"]:
        story += [Spacer(1, 2 * mm), para(inc["summary"], styles["BodyText"])]
    story += [para("Impact window", styles["Heading2"]),
              para(f"From {_t(pm.impact_start)} to {_t(pm.impact_end)}: {pm.duration}.", styles["BodyText"]),
              para("Timeline", styles["Heading2"])]
    story.append(table(["Time (UTC)", "Source", "What", "Who"],
                       [[f"{e.at:%Y-%m-%d %H:%M:%S}", e.source, e.text, e.actor] for e in pm.timeline[:MAX_PDF_ROWS]],
                       [0.15, 0.1, 0.6, 0.15]) if pm.timeline else para("Nothing recorded in the window.",
                                                                        styles["Italic"]))
    if len(pm.timeline) > MAX_PDF_ROWS:
        story.append(para(f"First {MAX_PDF_ROWS} of {len(pm.timeline)} timeline entries; the Markdown export has "
                          "them all.", styles["Italic"]))
    story.append(para("Alerts", styles["Heading2"]))
    story.append(table(["Alert", "Rule", "Severity", "State", "Labels", "Value", "Owner"],
                       [[a["id"], a["rule"], a["severity"], a["state"], a["labels"],
                         _value(a["value"]), a["owner"]] for a in pm.alerts[:MAX_PDF_ROWS]],
                       [0.06, 0.18, 0.09, 0.09, 0.38, 0.1, 0.1]) if pm.alerts else para("No alerts linked.",
                                                                                      styles["Italic"]))
    story.append(para("Actions", styles["Heading2"]))
    story.append(table(["Time (UTC)", "Who", "What"], [[f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.text]
                                                       for e in pm.actions[:MAX_PDF_ROWS]], [0.15, 0.15, 0.7])
                 if pm.actions else para("No actions recorded.", styles["Italic"]))
    story.append(para("Follow-ups", styles["Heading2"]))
    items = pm.follow_ups or ["Root cause:", "What would have caught it earlier:", "Owner and due date:"]
    story += [para(f"\u2610 {item}", styles["BodyText"]) for item in items]

    def footer(canvas, page):
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(14 * mm, 8 * mm, f"{title[:120]} · {_t(pm.generated_at)}")
        canvas.drawRightString(landscape(A4)[0] - 14 * mm, 8 * mm, f"page {page.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
