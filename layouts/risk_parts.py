"""Small blocks of the Risk War Room built from plain values."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def summary_block(view) -> html.Div:
    colour = {"OK": "success", "WARNING": "warning", "CRITICAL": "danger"}[view.level]
    var = f"{view.var99:,.0f}" if view.var99 is not None else "n/a (no history)"
    items = [dbc.Badge(view.level, color=colour, className="me-2 fs-6", id="rk-level"),
             html.Span(f"equity {view.equity:,.0f} · gross {view.gross:,.0f} · net {view.net:,.0f} · "
                       f"VaR 99% {var} · evaluated in {view.seconds * 1000:,.0f} ms", className="small")]
    if view.block_reason:
        items.append(dbc.Alert(f"New orders blocked: {view.block_reason}", color="danger", className="py-1 mt-2 mb-0",
                               id="rk-block-reason"))
    return html.Div(items)


def concentration_block(structure: dict) -> html.Div:
    if not structure:
        return html.Div("No positions.", className="small text-body-secondary")
    return html.Ul([
        html.Li(f"HHI {structure['hhi']:.3f} (effective N {structure['effective_n']:.1f})"),
        html.Li(f"Top 5 share of gross {structure['top5_share']:.0%}"),
        html.Li("Currencies: " + ", ".join(f"{k} {v:,.0f}" for k, v in structure["currencies"].items())),
    ], className="small")


def what_if_block(result: dict) -> html.Div:
    rows = [html.Tr([html.Td(r["limit"]), html.Td(f"{r['before']:.0%}"), html.Td(f"{r['after']:.0%}"),
                     html.Td(r["status_after"])]) for r in result["limits"]]
    warn = (dbc.Alert("Would breach: " + ", ".join(result["would_breach"]), color="danger", className="py-1")
            if result["would_breach"] else dbc.Alert("Within every limit", color="success", className="py-1"))
    return html.Div([
        html.Div(f"VaR 99%: {result['var99_before']:,.0f} → {result['var99_after']:,.0f} "
                 f"({result['var99_change']:+,.0f})", id="rk-whatif-var"),
        warn,
        dbc.Table([html.Thead(html.Tr([html.Th("limit"), html.Th("now"), html.Th("after"), html.Th("status")])),
                   html.Tbody(rows)], size="sm", className="mb-0"),
    ])
