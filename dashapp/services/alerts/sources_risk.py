"""Risk and P&L metrics for alert rules.

Current values come from the risk monitor's last measurement: the monitor (beat, every few seconds)
stores what it measured (`store_measurement`, an `AppSetting` row) before it acts on breaches, and
publishes `risk.breach` so the alerter evaluates at once. Rules therefore see exactly the numbers the
monitor acted on, and the alerter never recomputes VaR per rule. When no measurement is fresh (no beat
running, e.g. a bare `dashapp alerts evaluate --once`), the source measures once itself.

History comes from P&L snapshots (equity, gross and net exposure per strategy, summed over strategies
at each time with each strategy's last value carried forward), bucketed so a week is a few thousand
points; gross/net limit utilisation and drawdown history are derived from them.
"""
from __future__ import annotations

import math
import time
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import app_settings
from dashapp.services import read_bounds as rb
from dashapp.services import rawsql
from dashapp.services.alerts.metrics import MetricSource, Sample, Series, register_metric
from models import PnlSnapshot, RiskLimit

KEY = "alerts.risk_measurement"
ACTOR = "risk-monitor"
MAX_AGE = timedelta(seconds=30)  # older than this (6 monitor ticks): measure again
MAX_POINTS = 5000  # history buckets per series


def _limit_label(kind: str, scope: str) -> str:
    return kind if scope in ("*", "") else f"{kind}:{scope}"


def store_measurement(utilisation: list, var99: float | None, exposures: dict, day_pnl: float, drawdown: float,
                      equity: float, at: datetime | None = None) -> None:
    """Called by the risk monitor with what it measured (before it acts on breaches)."""
    from models import utcnow

    app_settings.put(KEY, measurement(utilisation, var99, exposures, day_pnl, drawdown, equity, at or utcnow()), ACTOR)


def measurement(utilisation, var99, exposures, day_pnl, drawdown, equity, at: datetime) -> dict:
    def finite(value):
        return float(value) if value is not None and math.isfinite(float(value)) else None

    return {"at": at.isoformat(), "var_99": finite(var99), "gross": finite(exposures.get("gross")),
            "net": finite(exposures.get("net")), "day_pnl": finite(day_pnl), "drawdown": finite(drawdown),
            "equity": finite(equity),
            "limits": [{"limit_id": u.limit_id, "kind": u.kind, "scope": u.scope, "value": finite(u.value),
                        "limit_value": finite(u.limit_value), "utilisation": finite(u.utilisation),
                        "status": u.status, "breach_action": u.breach_action} for u in utilisation]}


_memo: dict = {}


def latest(now: datetime) -> dict:
    """The monitor's last measurement if fresh, else one taken now (memoised for one evaluation pass:
    the same `now` and database within a second of wall time)."""
    key = (now, str(db.engine.url))
    if _memo.get("key") == key and time.monotonic() - _memo["taken"] < 1.0:
        return _memo["value"]
    stored = app_settings.get(KEY)
    fresh = False
    if isinstance(stored, dict) and stored.get("at"):
        at = datetime.fromisoformat(stored["at"])
        fresh = now - MAX_AGE <= at <= now + MAX_AGE
    if not fresh:
        from dashapp.services.risk import measures, monitor
        from dashapp.services.risk.book import load_book

        evaluation = monitor.evaluate(apply_actions=False)
        book = load_book()
        day_pnl, drawdown = monitor.day_pnl_and_drawdown()
        table = evaluation.var_table
        var99 = None
        if not table.empty:
            total = table[(table["scope"] == "TOTAL") & (table["level"] == 0.99)]
            var99 = float(total["historical_var"].iloc[0]) if not total.empty else None
        stored = measurement(evaluation.utilisation, var99, measures.exposure_totals(book), day_pnl, drawdown,
                             evaluation.equity, now)
    _memo.update(key=key, value=stored, taken=time.monotonic())
    return stored


def _warn_levels() -> dict[int, float]:
    return dict(db.session.execute(sa.select(RiskLimit.id, RiskLimit.warn_at)).all())


def _utilisation(now: datetime) -> list[Sample]:
    return [Sample({"limit": _limit_label(u["kind"], u["scope"]), "kind": u["kind"], "scope": u["scope"],
                    "breach_action": u["breach_action"]},
                   None if u["utilisation"] is None else u["utilisation"] * 100.0)
            for u in latest(now)["limits"]]


def _warn_utilisation(now: datetime) -> list[Sample]:
    """Utilisation as a share of the limit's warning level (100 = at warn_at)."""
    warn = _warn_levels()
    out = []
    for u in latest(now)["limits"]:
        level = warn.get(u["limit_id"])
        value = None if u["utilisation"] is None or not level else u["utilisation"] / level * 100.0
        out.append(Sample({"limit": _limit_label(u["kind"], u["scope"]), "kind": u["kind"], "scope": u["scope"],
                           "breach_action": u["breach_action"]}, value))
    return out


def _scalar(field: str, scale: float = 1.0):
    def current(now: datetime) -> list[Sample]:
        value = latest(now).get(field)
        return [Sample({}, None if value is None else value * scale)]

    return current


# --- history from P&L snapshots ----------------------------------------------------------------


def _snapshot_frame(start: datetime, end: datetime) -> pd.DataFrame:
    """Desk totals (equity, gross, net) over time, from each strategy's last snapshot at each instant."""
    rows = rawsql.fetch(sa.select(PnlSnapshot.ts, PnlSnapshot.strategy_id, PnlSnapshot.equity,
                                  PnlSnapshot.gross_exposure, PnlSnapshot.net_exposure)
                        .where(PnlSnapshot.ts.between(start - timedelta(days=1), end),
                               rb.amount_ok(PnlSnapshot.equity)).order_by(PnlSnapshot.ts))
    if not rows:
        return pd.DataFrame(columns=["equity", "gross", "net"])
    frame = pd.DataFrame(rows, columns=["ts", "strategy", "equity", "gross", "net"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="mixed")
    span = max((end - start).total_seconds(), 1.0)
    width = pd.Timedelta(seconds=max(1.0, math.ceil(span / MAX_POINTS)))
    frame["ts"] = frame["ts"].dt.floor(width)
    wide = frame.pivot_table(index="ts", columns="strategy", values=["equity", "gross", "net"], aggfunc="last")
    wide = wide.ffill()
    totals = pd.DataFrame({name: wide[name].sum(axis=1, min_count=1) for name in ("equity", "gross", "net")})
    totals["drawdown"] = (1.0 - totals["equity"] / totals["equity"].cummax()) * 100.0
    start_ts = pd.Timestamp(start)
    return totals[totals.index >= start_ts.floor(width)]


def _series(column: str, labels: dict | None = None, transform=None):
    def history(start: datetime, end: datetime) -> list[Series]:
        frame = _snapshot_frame(start, end)
        if frame.empty:
            return []
        values = frame[column].astype(float)
        if transform is not None:
            values = transform(values)
        values = values.replace([np.inf, -np.inf], np.nan).dropna()
        return [Series(dict(labels or {}), list(values.index.to_pydatetime()), values.tolist())]

    return history


def _utilisation_history(start: datetime, end: datetime) -> list[Series]:
    """Gross, net and drawdown limits over time, from the snapshots (other kinds have no stored history)."""
    frame = _snapshot_frame(start, end)
    if frame.empty:
        return []
    out = []
    limits = db.session.execute(sa.select(RiskLimit).where(RiskLimit.active.is_(True), RiskLimit.scope == "*",
                                                           RiskLimit.kind.in_(("gross_exposure", "net_exposure",
                                                                               "drawdown")))).scalars()
    for limit in limits:
        column = {"gross_exposure": "gross", "net_exposure": "net", "drawdown": "drawdown"}[limit.kind]
        values = frame[column].abs()
        if limit.kind == "drawdown":
            values = values / 100.0
        used = (values / limit.limit_value * 100.0).dropna()
        out.append(Series({"limit": limit.kind, "kind": limit.kind, "scope": "*", "breach_action": limit.breach_action},
                          list(used.index.to_pydatetime()), used.tolist()))
    return out


register_metric(MetricSource("risk.limit_utilisation", "Limit utilisation", "%",
                             ("limit", "kind", "scope", "breach_action"), _utilisation, _utilisation_history))
register_metric(MetricSource("risk.limit_warn_utilisation", "Limit use against its warning level", "%",
                             ("limit", "kind", "scope", "breach_action"), _warn_utilisation))
register_metric(MetricSource("risk.var_99", "VaR 99% (1 day, historical)", "USD", (), _scalar("var_99")))
register_metric(MetricSource("risk.gross_exposure", "Gross exposure", "USD", (), _scalar("gross"),
                             _series("gross")))
register_metric(MetricSource("risk.net_exposure", "Net exposure", "USD", (), _scalar("net"), _series("net")))
register_metric(MetricSource("pnl.day", "Today's P&L", "USD", (), _scalar("day_pnl")))
register_metric(MetricSource("pnl.equity", "Equity", "USD", (), _scalar("equity"), _series("equity")))
register_metric(MetricSource("pnl.drawdown", "Drawdown from peak", "%", (), _scalar("drawdown", -100.0),
                             _series("drawdown")))
