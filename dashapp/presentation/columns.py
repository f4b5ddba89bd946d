"""One catalogue of the desk's columns: a human header, a unit and a display kind per field name.

Every grid (layouts/*.py, through `column_def`/`column_defs`) and every human-facing export (Excel
headers, PDF headers and cells) reads it, so `avg_cost` is "Avg cost" with four decimals everywhere.
No Dash import: exports run in workers and must not import layouts.

Times are shown in UTC, to the second (fills and events to the millisecond); the header says UTC.
The kinds map to the named formatters in dashapp/assets/grid_functions.js (same digits here for the
PDF), so a grid and its export never disagree on rounding."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# kind -> (decimals, grid formatter, right-aligned). Prices 4 dp (FX and options), money 2 dp with
# thousands separators, quantities 0-2 dp (fractional quantities exist), bps/ms 2 dp.
KINDS = {
    "text": (None, None, False), "side": (None, None, False), "status": (None, None, False),
    "int": (0, "num0", True), "qty": (2, "qty", True), "price": (4, "num4", True), "money": (2, "num2", True),
    "bps": (2, "num2", True), "ms": (2, "num2", True), "pct": (2, "pct2", True), "ratio": (2, "num2", True),
    "greek": (4, "num4", True), "ts": (None, "ts", False), "tsms": (None, "tsms", False),
}


@dataclass(frozen=True)
class ColumnSpec:
    header: str
    kind: str = "text"
    unit: str = ""

    @property
    def label(self) -> str:
        """The header with its unit, as a grid or an Excel sheet shows it."""
        return f"{self.header} ({self.unit})" if self.unit else self.header


def _c(header: str, kind: str = "text", unit: str = "") -> ColumnSpec:
    return ColumnSpec(header, kind, unit)


CATALOGUE: dict[str, ColumnSpec] = {
    # identity and labels
    "id": _c("#", "int"), "client_order_id": _c("Order id"), "exec_id": _c("Exec id"), "order_id": _c("Order #", "int"),
    "parent_id": _c("Parent", "int"), "engine_id": _c("Engine"), "strategy": _c("Strategy"), "account": _c("Account"),
    "instrument": _c("Instrument"), "symbol": _c("Symbol"), "underlying": _c("Underlying"), "sector": _c("Sector"),
    "venue": _c("Venue"), "side": _c("Side", "side"), "status": _c("Status", "status"), "order_type": _c("Type"),
    "reject_reason": _c("Reject reason"), "liquidity": _c("Liquidity"), "direction": _c("Direction", "side"),
    "decision": _c("Decision", "status"), "rule": _c("Rule"), "reason": _c("Reason"), "scope": _c("Scope"),
    "level": _c("Level"), "name": _c("Name"), "kind": _c("Kind"), "description": _c("Description"),
    "result": _c("Result", "status"),
    # times (UTC)
    "created_at": _c("Created", "ts", "UTC"), "updated_at": _c("Updated", "ts", "UTC"),
    "acknowledged_at": _c("Acknowledged", "ts", "UTC"), "filled_at": _c("Filled at", "tsms", "UTC"),
    "ts": _c("Time", "tsms", "UTC"),
    # quantities and prices
    "quantity": _c("Qty", "qty"), "qty": _c("Qty", "qty"), "filled_quantity": _c("Filled qty", "qty"),
    "limit_price": _c("Limit px", "price"), "avg_fill_price": _c("Avg fill px", "price"),
    "arrival_mid": _c("Arrival mid", "price"), "mid_at_arrival": _c("Mid at arrival", "price"),
    "mid_at_fill": _c("Mid at fill", "price"), "price": _c("Price", "price"), "last": _c("Last", "price"),
    "avg_cost": _c("Avg cost", "price"), "entry_price": _c("Entry px", "price"), "exit_price": _c("Exit px", "price"),
    # money
    "notional": _c("Notional", "money", "USD"), "fee": _c("Fee", "money", "USD"), "fees": _c("Fees", "money", "USD"),
    "pnl": _c("P&L", "money", "USD"), "net_pnl": _c("Net P&L", "money", "USD"),
    "unrealized_pnl": _c("Unrealised P&L", "money", "USD"), "realized_pnl": _c("Realised P&L", "money", "USD"),
    "market_value": _c("Market value", "money", "USD"), "exposure": _c("Exposure", "money", "USD"),
    "historical": _c("Historical VaR", "money", "USD"), "parametric": _c("Parametric VaR", "money", "USD"),
    "monte_carlo": _c("Monte Carlo VaR", "money", "USD"), "cvar": _c("CVaR", "money", "USD"),
    # execution quality
    "slippage_bps": _c("Slippage", "bps", "bps"), "latency_ms": _c("Latency", "ms", "ms"),
    "confidence": _c("Confidence", "pct"),
    # Greeks (per position, in the underlying's currency)
    "delta": _c("Delta", "greek"), "gamma": _c("Gamma", "greek"), "vega": _c("Vega", "greek"),
    "theta": _c("Theta", "greek"), "rho": _c("Rho", "greek"), "vega_1pct": _c("Vega / 1 vol pt", "greek"),
    "theta_day": _c("Theta / day", "greek"), "rho_1pct": _c("Rho / 1 pt", "greek"),
    "historical_var": _c("Historical VaR", "money", "USD"), "historical_cvar": _c("Historical CVaR", "money", "USD"),
    "parametric_var": _c("Parametric VaR", "money", "USD"), "parametric_cvar": _c("Parametric CVaR", "money", "USD"),
    "cornish_fisher_var": _c("Cornish-Fisher VaR", "money", "USD"),
    "monte_carlo_var": _c("Monte Carlo VaR", "money", "USD"),
    "entry_date": _c("Entry"), "exit_date": _c("Exit"), "bars": _c("Bars", "int"),
    # alerts and incidents (the Alerts page)
    "severity": _c("Severity", "status"), "owner": _c("Owner"), "ack": _c("Acknowledged by"),
    "summary": _c("Summary"), "episode": _c("Episode", "int"), "note": _c("Note"), "from_state": _c("From"),
    "to_state": _c("To"), "commander": _c("Commander"), "snoozed_until": _c("Snoozed until", "ts", "UTC"),
    "silenced": _c("Silenced"), "alerts": _c("Alerts", "int"), "actor": _c("Actor"), "alert_id": _c("Alert #", "int"),
    "alert_state": _c("State", "status"), "alert_labels": _c("Labels"), "alert_value": _c("Value", "ratio"),
    "since": _c("Since", "ts", "UTC"), "event_at": _c("Time", "ts", "UTC"), "incident_title": _c("Title"),
    "timeline_source": _c("Source"), "timeline_text": _c("What happened"), "enabled_text": _c("Enabled"),
    "pending_seconds": _c("Pending (s)", "int"), "keep_firing_seconds": _c("Keep firing (s)", "int"),
    "builtin_text": _c("Built in"), "version": _c("Version", "int"), "updated_by": _c("Updated by"),
    "settings_text": _c("Settings"), "matchers_text": _c("Matchers"), "starts_at": _c("Starts", "ts", "UTC"),
    "ends_at": _c("Ends", "ts", "UTC"), "comment": _c("Comment"), "created_by": _c("Created by"),
    "source_text": _c("Source matchers"), "target_text": _c("Target matchers"), "equal_text": _c("Equal labels"),
    "spec_text": _c("Windows"), "event": _c("Event"), "contact_point": _c("Contact point"),
    "attempts": _c("Attempts", "int"), "last_error": _c("Last error"), "group": _c("Group"),
    # operations (services/ops): processes, task history, SLOs
    "service": _c("Service"), "instance": _c("Instance"), "ops_state": _c("State", "status"), "host": _c("Host"),
    "pid": _c("PID"), "app_version": _c("Version"), "beat_at": _c("Last heartbeat", "ts", "UTC"),
    "age_s": _c("Heartbeat age", "ratio", "s"), "uptime": _c("Uptime"), "task_name": _c("Task"),
    "queue": _c("Queue"), "worker": _c("Worker"), "task_state": _c("State", "status"), "retries": _c("Retries", "int"),
    "started_at": _c("Started", "ts", "UTC"), "finished_at": _c("Finished", "ts", "UTC"),
    "runtime_s": _c("Runtime", "ratio", "s"), "task_args": _c("Arguments"), "exception": _c("Exception"),
    "job_id": _c("Job id"), "produced": _c("Produced"),
}

_WORDS = {"pnl": "P&L", "id": "id", "bps": "bps", "ms": "ms", "px": "px", "var": "VaR", "cvar": "CVaR",
          "p50": "p50", "p95": "p95", "p99": "p99", "usd": "USD", "utc": "UTC"}


def humanise(field: str) -> str:
    """A header for a field the catalogue does not know: `mid_at_fill` -> "Mid at fill" (never the raw name)."""
    words = [_WORDS.get(w.lower(), w.lower()) for w in field.replace("-", "_").split("_") if w]
    if not words:
        return field
    first = words[0]
    return " ".join([first if first in _WORDS.values() else first.capitalize()] + words[1:])


def spec(field: str) -> ColumnSpec:
    return CATALOGUE.get(field) or ColumnSpec(humanise(field))


def header(field: str) -> str:
    return spec(field).label


def column_def(field: str, kind: str | None = None, header_name: str | None = None, **extra) -> dict:
    """An ag-grid column definition: human header, formatter, alignment, filter, colour coding."""
    s = spec(field)
    kind = kind or s.kind
    decimals, formatter, right = KINDS[kind]
    col: dict = {"field": field, "headerName": header_name or s.label, "headerTooltip": field}
    if formatter:
        col["valueFormatter"] = {"function": f"{formatter}(params.value)"}
    if right:
        col.update(type="rightAligned", filter="agNumberColumnFilter")
    if kind in ("ts", "tsms"):
        col.update(minWidth=175 if kind == "ts" else 200, filter=False)
    if kind == "side":
        col["cellClassRules"] = {"desk-buy": "deskSide(params.value) === 'buy'",
                                 "desk-sell": "deskSide(params.value) === 'sell'"}
    if kind == "status":
        col["cellRenderer"] = "DeskBadge"
    col.update(extra)
    return col


def column_defs(fields, overrides: dict | None = None) -> list[dict]:
    """Column definitions for `fields` (names, or (name, {extra}) pairs), per-field `overrides` merged last."""
    overrides = overrides or {}
    out = []
    for item in fields:
        field, extra = (item, {}) if isinstance(item, str) else item
        out.append(column_def(field, **{**extra, **overrides.get(field, {})}))
    return out


def format_value(field: str, value, kind: str | None = None) -> str:
    """The text a grid shows for `value` (used by the PDF, which has no formatter of its own)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    kind = kind or spec(field).kind
    if kind in ("ts", "tsms"):
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, datetime):
            text = value.strftime("%Y-%m-%d %H:%M:%S.%f")
            return text[:-3] if kind == "tsms" else text[:-7]
        return str(value)
    decimals = KINDS[kind][0]
    if decimals is None or isinstance(value, (str, bool)):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if kind == "pct":
        return f"{number * 100:,.{decimals}f}%"
    if kind == "qty" and number == int(number):
        return f"{number:,.0f}"
    return f"{number:,.{decimals}f}"


# The export writers' column kinds (dashapp/exports/tables.py) -> display kinds, for fields the
# catalogue does not name.
EXPORT_KINDS = {"int": "int", "float": "money", "price": "price", "pct": "pct", "str": "text", "datetime": "ts"}


def export_kind(field: str, export_kind_name: str) -> str:
    return CATALOGUE[field].kind if field in CATALOGUE else EXPORT_KINDS.get(export_kind_name, "text")
