"""Renderers of the Operations -> Health page: plain values in, components and figures out (no database)."""
from __future__ import annotations

import math

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import html

from layouts import figures
from layouts.common import empty_state

STATE_COLOURS = {"up": "success", "degraded": "warning", "down": "danger", "stopped": "secondary",
                 "unknown": "secondary"}
STATE_WORDS = {"up": "UP", "degraded": "DEGRADED", "down": "DOWN", "stopped": "STOPPED", "unknown": "UNKNOWN"}


def duration(seconds: float | None) -> str:
    """3 d 4 h, 2 h 5 m, 4 m 10 s, 12 s; '' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    s = int(seconds)
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if s >= size:
            rest = (s % size) // sub_size
            return f"{s // size} {unit}" + (f" {rest} {sub}" if rest else "")
    return f"{s} s"


def pill(state: str, element_id: str | None = None) -> dbc.Badge:
    props = {"id": element_id} if element_id else {}
    return dbc.Badge(STATE_WORDS.get(state, state.upper()), color=STATE_COLOURS.get(state, "secondary"),
                     className="ops-pill", **props)


def tiles(services) -> dbc.Row:
    cols = []
    for svc in services:
        cols.append(dbc.Col(dbc.Card(dbc.CardBody([
            html.Div([html.Span(svc.title, className="fw-semibold small"), pill(svc.state, f"ops-state-{svc.service}")],
                     className="d-flex justify-content-between align-items-center gap-2"),
            html.Div(svc.summary, className="small text-body-secondary mt-1 text-truncate", title=svc.summary),
        ], className="py-2 px-3"), className="h-100", id=f"ops-tile-{svc.service}")))
    return dbc.Row(cols, className="g-2 row-cols-2 row-cols-md-3 row-cols-xl-5")


def instance_rows(services) -> list[dict]:
    rows = []
    for svc in services:
        for inst in svc.instances:
            rows.append({"service": svc.title, "instance": inst.instance, "ops_state": inst.state,
                         "beat_at": inst.beat_at.isoformat() if inst.beat_at else None,
                         "age_s": round(inst.age_s, 1) if inst.age_s is not None else None,
                         "uptime": duration(inst.uptime_s), "app_version": inst.version, "host": inst.host,
                         "pid": inst.pid or None})
    return rows


def _table(headers: list[str], rows: list[list], right: set[int] | None = None) -> dbc.Table:
    right = right or set()
    head = html.Thead(html.Tr([html.Th(h, className="text-end" if i in right else None) for i, h in enumerate(headers)]))
    body = html.Tbody([html.Tr([html.Td(v, className="text-end" if i in right else None) for i, v in enumerate(row)])
                       for row in rows])
    return dbc.Table([head, body], size="sm", className="mb-0 small", hover=True)


def queues_view(queues: dict, broker: dict):
    if broker.get("state") != "up":
        return dbc.Alert(f"Broker down: {broker.get('error') or 'not answering'}", color="danger", className="small mb-0")
    rows = [[q, "unreadable" if n is None else f"{n:,}"] for q, n in sorted(queues.items())]
    return html.Div([html.Div(f"Broker: {broker.get('kind')}", className="small text-body-secondary mb-1"),
                     _table(["Queue", "Waiting (messages)"], rows, {1})], id="ops-queue-table")


def rates_view(rates: list[dict]):
    if not rates:
        return empty_state("No task ran in the last 5 minutes.")
    rows = [[r["name"].rsplit(".", 1)[-1], f"{r['per_minute']:.1f}", r["failed"],
             "" if r["mean_runtime_s"] is None else f"{r['mean_runtime_s'] * 1000:.0f}"] for r in rates[:8]]
    return _table(["Task", "Runs / min", "Failed", "Mean runtime (ms)"], rows, {1, 2, 3})


def database_view(database: dict):
    pool = database.get("pool") or {}
    slow = database.get("slow") or {}
    state = html.Div([html.Span("State ", className="small"), pill(database.get("state", "unknown")),
                      html.Span(f" {database.get('kind', '')}", className="small text-body-secondary")])
    pool_line = html.Div(f"Pool of this web process: {pool.get('in_use', '?')} in use, {pool.get('idle', '?')} idle, "
                         f"size {pool.get('size', '?')}, overflow {pool.get('overflow', '?')} ({pool.get('kind', '')})",
                         className="small mt-1")
    if slow.get("rows"):
        body = _table(["Query", "Calls", "Mean (ms)", "Max (ms)"],
                      [[html.Code(r["query"], className="small text-wrap"), r["calls"], r["mean_ms"], r["max_ms"]]
                       for r in slow["rows"]], {1, 2, 3})
    else:
        body = html.Div(slow.get("note") or "No slow queries.", className="small text-body-secondary fst-italic")
    return html.Div([state, pool_line,
                     html.Div(f"Slow queries ({slow.get('source', '')})", className="small fw-semibold mt-2"), body])


def push_view(push: dict, web_state: str):
    per = push.get("by_instance") or {}
    detail = ", ".join(f"{name}: {n}" for name, n in sorted(per.items())) or "no web process reporting"
    return html.Div([html.Div([html.Span("Open live streams ", className="small"),
                               html.Span(str(push.get("total", 0)), className="fw-semibold", id="ops-push-total"),
                               html.Span(" ", className="small"), pill(web_state)]),
                     html.Div(detail, className="small text-body-secondary")])


def latency_view(latency: list[dict]):
    if not latency:
        return empty_state("No request measured yet by a web process that heartbeats.")

    def ms(value):
        return "" if value is None else (f"≤ {value:.0f}" if value >= 1 else f"≤ {value:.1f}")

    rows = [[f"{r['method']} {r['endpoint']}", f"{r['count']:,}", ms(r.get("p50_ms")), ms(r.get("p95_ms"))]
            for r in latency[:8]]
    return _table(["Endpoint", "Requests", "p50 (ms)", "p95 (ms)"], rows, {1, 2, 3})


def _burn_text(value: float) -> str:
    return "no data" if value is None or not math.isfinite(value) else f"{value:.2f}×"


def slo_view(statuses):
    rows = []
    for st in statuses:
        attain = "no data" if st.attainment is None else f"{st.attainment * 100:.3f} %"
        firing = [dbc.Badge(f, color="danger" if f.startswith("page") else "warning", className="me-1")
                  for f in st.firing] or html.Span("none", className="text-body-secondary")
        tte = "budget spent" if st.seconds_to_exhaustion == 0 else (duration(st.seconds_to_exhaustion) or "not burning")
        rows.append([html.Span(st.slo.title, title=st.slo.description), f"{st.slo.objective * 100:g} %", attain,
                     f"{st.budget_used * 100:.1f} %", _burn_text(st.burn.get("1h")), _burn_text(st.burn.get("6h")),
                     _burn_text(st.burn.get("1d")), _burn_text(st.burn.get("3d")), firing, tte])
    days = statuses[0].window_days if statuses else 30
    return html.Div([_table(["SLO", "Objective", f"Attained ({days:g} d)", "Budget used", "Burn 1 h", "Burn 6 h",
                             "Burn 1 d", "Burn 3 d", "Alerts firing", "Time to exhaustion"], rows,
                            {1, 2, 3, 4, 5, 6, 7}),
                     html.Div("Burn rate 1× spends the whole error budget over the window; pages fire at 14.4× "
                              "(1 h and 5 m) or 6× (6 h and 30 m), tickets at 3× (1 d and 2 h) or 1× (3 d and 6 h), "
                              f"scaled to a {days:g}-day window. Time to exhaustion: at the 1 h burn rate.",
                              className="small text-body-secondary mt-1")], id="ops-slo-grid")


def burn_figure(title: str, times, series, thresholds: list[tuple[str, float]]) -> go.Figure:
    values = [None if (v is None or not math.isfinite(v)) else float(v) for v in series]
    if not any(v is not None for v in values):
        return figures.empty(title, "No requests recorded for this SLO in the last 24 hours")
    figure = go.Figure(go.Scatter(x=list(times), y=values, mode="lines", name="burn rate (1 h)", connectgaps=False))
    for label, threshold in thresholds:
        figure.add_hline(y=threshold, line_dash="dot", annotation_text=label, annotation_position="top left",
                         line_color="#e35d6a" if label.startswith("page") else "#f0ad4e")
    figure.update_layout(title=title, margin=figures.MARGIN, height=300, showlegend=False,
                         yaxis={"title": "× budget rate", "rangemode": "tozero"}, xaxis={"title": "UTC"})
    return figure
