"""The best-execution report: venue scorecards side by side (one column per venue) over the
report's period, the same measures per strategy, and a slippage / price-improvement chart, all
from dashapp.services.execution.scorecards (see its conventions for signs and units)."""
from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from dashapp.reports import ReportRequest
from dashapp.reports.document import Chart, Column, Document, Figures, Table

MEASURES = [("orders", "Child orders", "int"), ("fills", "Fills", "int"), ("fill_rate", "Fill rate", "pct"),
            ("reject_rate", "Reject rate", "pct"), ("latency_p50_ms", "Ack latency p50 (ms)", "ms"),
            ("latency_p95_ms", "Ack latency p95 (ms)", "ms"), ("latency_p99_ms", "Ack latency p99 (ms)", "ms"),
            ("avg_slippage_bps", "Arrival slippage (bps, + = cost)", "bps"),
            ("price_improvement_bps", "Price improvement (bps)", "bps"),
            ("markout_1s_bps", "Markout 1 s (bps)", "bps"), ("markout_5s_bps", "Markout 5 s (bps)", "bps"),
            ("markout_30s_bps", "Markout 30 s (bps)", "bps"),
            ("best_execution_share", "Best price among venues used", "pct")]
NO_ORDERS = "No child orders in this period."


def build(request: ReportRequest) -> Document:
    from dashapp.services import execution

    venues = execution.scorecards(request.since, request.as_of, by="venue")
    strategies = execution.scorecards(request.since, request.as_of, by="strategy")
    zone = ZoneInfo(request.timezone)
    period = (f"{request.since.astimezone(zone):%Y-%m-%d %H:%M} to {request.as_of.astimezone(zone):%Y-%m-%d %H:%M} "
              f"{request.as_of.astimezone(zone).tzname()}")
    note = f" · {request.title_note}" if request.title_note else ""
    return Document(
        title="Best-execution report", subtitle=f"Period {period}{note}", generated_at=request.as_of,
        timezone=request.timezone,
        sections=[_figures(venues), _side_by_side(venues), _chart(venues), _by_strategy(strategies)])


def _value(row, key):
    value = row.get(key)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _figures(cards) -> Figures:
    if cards.empty:
        return Figures("Summary", [("Child orders", 0, "int"), ("Venues", 0, "int")])
    return Figures("Summary", [("Child orders", int(cards["orders"].sum()), "int"),
                               ("Fills", int(cards["fills"].sum()), "int"), ("Venues", len(cards), "int")])


def _side_by_side(cards) -> Table:
    """Measures as rows, venues as columns: the comparison a best-execution review reads across."""
    if cards.empty:
        return Table("Venue scorecards", [Column("Measure")], [], empty_text=NO_ORDERS)
    venues = [str(v) for v in cards["venue"]]
    records = cards.to_dict("records")
    rows = [[label, *(_value(r, key) for r in records)] for key, label, _ in MEASURES]
    columns = [Column("Measure")] + [Column(v, "ratio") for v in venues]
    return Table("Venue scorecards", columns, rows, row_kinds=[kind for _, _, kind in MEASURES],
                 note="Slippage versus the arrival mid; improvement versus the mid at the fill; markouts positive "
                      "when the market moved our way; best price = share of split parent orders where this venue "
                      "filled at the best average price of the venues used.")


def _chart(cards) -> Chart:
    if cards.empty:
        return Chart("Slippage and price improvement by venue (bps)", [], {}, empty_text=NO_ORDERS)
    records = cards.to_dict("records")
    return Chart("Slippage and price improvement by venue (bps)", [str(r["venue"]) for r in records],
                 {"Arrival slippage": [_value(r, "avg_slippage_bps") for r in records],
                  "Price improvement": [_value(r, "price_improvement_bps") for r in records]},
                 y_title="bps", value_kind="bps")


def _by_strategy(cards) -> Table:
    columns = [Column("Strategy")] + [Column(label, kind) for _, label, kind in MEASURES[:-1]]
    rows = [] if cards.empty else [[str(r["strategy"]), *(_value(r, key) for key, _, _ in MEASURES[:-1])]
                                   for r in cards.to_dict("records")]
    return Table("Scorecards by strategy", columns, rows, empty_text=NO_ORDERS)
