"""The daily risk report: headline figures, VaR and CVaR by method, limit utilisation, exposures,
a VaR-by-method chart and the equity curve, all from one risk evaluation of the current book
(dashapp.services.risk.dashboard.risk_view, without applying breach actions: a report observes)."""
from __future__ import annotations

import math

from dashapp.reports import ReportRequest
from dashapp.reports.document import Chart, Column, Document, Figures, Table

VAR_METHODS = [("historical_var", "Historical VaR"), ("historical_cvar", "Historical CVaR"),
               ("parametric_var", "Parametric VaR"), ("parametric_cvar", "Parametric CVaR"),
               ("cornish_fisher_var", "Cornish-Fisher VaR"), ("monte_carlo_var", "Monte Carlo VaR")]
NO_VAR = "No VaR yet: it needs at least 30 days of returns for the instruments held."


def build(request: ReportRequest) -> Document:
    from dashapp.services.risk.dashboard import risk_view

    view = risk_view(apply_actions=False)
    note = f" · {request.title_note}" if request.title_note else ""
    return Document(
        title="Daily risk report", subtitle=f"Book as of {request.as_of:%Y-%m-%d %H:%M} UTC{note}",
        generated_at=request.as_of, timezone=request.timezone,
        sections=[_figures(view), _var_table(view.var_table), _var_chart(view.var_table),
                  _limits(view.utilisation), *_exposures(view.structure), _equity(view.curve)])


def _number(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _figures(view) -> Figures:
    items = [("Risk level", view.level, "text"), ("Equity", view.equity, "money"),
             ("Gross exposure", view.gross, "money"), ("Net exposure", view.net, "money"),
             ("VaR 99% (historical, 1 day)", view.var99, "money")]
    if view.block_reason:
        items.append(("New orders blocked", view.block_reason, "text"))
    return Figures("Summary", items)


def _var_table(table) -> Table:
    columns = [Column("Scope"), Column("Confidence", "pct")] + [Column(label, "money") for _, label in VAR_METHODS]
    rows = [] if table.empty else [
        [r["scope"], r["level"], *(_number(r.get(key)) for key, _ in VAR_METHODS)] for _, r in table.iterrows()]
    return Table("Value at risk by method (1 day, account currency)", columns, rows, empty_text=NO_VAR,
                 note="Losses are positive numbers. Monte Carlo: correlated simulation of the whole book.")


def _var_chart(table) -> Chart:
    methods = [(k, label) for k, label in VAR_METHODS if k.endswith("_var")]
    series = {}
    if not table.empty:
        total = table[table["scope"] == "TOTAL"].set_index("level")
        for level in sorted(total.index):
            series[f"{level:.0%}"] = [_number(total.loc[level].get(key)) for key, _ in methods]
    return Chart("Total book VaR by method", [label.replace(" VaR", "") for _, label in methods], series,
                 y_title="loss", empty_text=NO_VAR)


def _limits(used: list) -> Table:
    columns = [Column("Limit"), Column("Scope"), Column("Value", "money"), Column("Limit value", "money"),
               Column("Utilisation", "pct"), Column("Status"), Column("On breach")]
    rows = [[u.kind, u.scope, u.value, u.limit_value, u.utilisation, u.status, u.breach_action] for u in used]
    return Table("Limit utilisation", columns, rows, empty_text="No active limits.")


def _exposures(structure: dict) -> list[Table]:
    by_instrument = structure.get("by_instrument")
    rows = [] if by_instrument is None else [
        [symbol, float(value)] for symbol, value in by_instrument.sort_values(key=abs, ascending=False).items()]
    instruments = Table("Exposure by instrument", [Column("Instrument"), Column("Exposure", "money")], rows,
                        empty_text="No open positions.")
    sectors = structure.get("sectors")
    sector_rows = [] if sectors is None or sectors.empty else [
        [r["sector"], float(r["net"]), float(r["gross"])] for _, r in sectors.iterrows()]
    by_sector = Table("Exposure by sector", [Column("Sector"), Column("Net", "money"), Column("Gross", "money")],
                      sector_rows, empty_text="No open positions.")
    if structure:
        by_sector.note = (f"Concentration: HHI {structure['hhi']:.3f}, effective number of positions "
                          f"{structure['effective_n']:.1f}, top five {structure['top5_share']:.0%} of gross.")
    return [instruments, by_sector]


def _equity(curve) -> Chart:
    if curve is None or curve.empty:
        return Chart("Equity, last 30 days", [], {}, kind="line", empty_text="No equity snapshots yet.")
    daily = curve.set_index("ts")["equity"].resample("1D").last().dropna()
    return Chart("Equity, last 30 days", [f"{ts:%m-%d}" for ts in daily.index], {"Equity": list(map(float, daily))},
                 kind="line", y_title="equity")
