"""The risk monitor: measure every active limit against the book and carry out breach actions.

`evaluate()` runs from a beat task every few seconds, after each limit edit, and when the Risk War
Room refreshes. A breach opens a LimitBreach row once (not every evaluation) and acts:
`alert` publishes and audits; `block_new_orders` sets the reason the engine's risk gate reads from
its control endpoint; `kill_switch` trips the kill switch. Falling back under the limit closes
the breach and lifts its block."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.realtime import publish
from dashapp.services import app_settings, audit, controls, desk
from dashapp.services.risk import limits as limit_service
from dashapp.services.risk import measures
from dashapp.services.risk import state as risk_state
from dashapp.services.risk.book import load_book
from dashapp.services.unit_of_work import unit_of_work
from models import LimitBreach, utcnow

BLOCK_KEY = "risk.block_new_orders"
MONITOR_ACTOR = "risk-monitor"


@dataclass
class Evaluation:
    utilisation: list
    var_table: object
    equity: float
    seconds: float
    level: str  # OK | WARNING | CRITICAL
    state: object = None  # services.risk.state.RiskState: the level with its reasons and notes


def day_pnl_and_drawdown() -> tuple[float, float]:
    """Equity change since the first point of the last point's (UTC) day, and the drawdown of the
    last point from the peak of the last two days (<= 0)."""
    stamps, equity = desk.equity_points(since_days=2)
    if not len(equity):
        return 0.0, 0.0
    first_today = int(np.argmax(stamps >= stamps[-1].normalize()))  # stamps are sorted
    return float(equity[-1] - equity[first_today]), float(equity[-1] / equity.max() - 1.0)


def evaluate(apply_actions: bool = True) -> Evaluation:
    started = time.perf_counter()
    limit_service.ensure_defaults()
    book = load_book()
    table = measures.var_table(book)
    var99 = None
    if not table.empty:
        total = table[(table["scope"] == "TOTAL") & (table["level"] == 0.99)]
        var99 = float(total["historical_var"].iloc[0]) if not total.empty else None
    day_pnl, drawdown = day_pnl_and_drawdown()
    exposures = measures.exposure_totals(book)
    used = [limit_service.measure(limit, exposures, var99, day_pnl, drawdown)
            for limit in limit_service.list_limits(active_only=True)]
    if apply_actions:
        # What alert rules read (services/alerts/sources_risk.py), committed before the breach is published.
        from dashapp.services.alerts import sources_risk

        sources_risk.store_measurement(used, var99, exposures, day_pnl, drawdown, book.equity)
        _act(used)
    state = risk_state.assess(used)  # the one definition of the desk's risk level (services.risk.state)
    return Evaluation(used, table, book.equity, time.perf_counter() - started, state.level, state)


def _open_breaches() -> dict[int, LimitBreach]:
    rows = db.session.execute(sa.select(LimitBreach).where(LimitBreach.closed_at.is_(None))).scalars()
    return {row.limit_id: row for row in rows}


def _act(used: list) -> None:
    open_rows = _open_breaches()
    blocks = []
    with unit_of_work() as session:
        for u in used:
            row = open_rows.get(u.limit_id)
            if u.status == "BREACH":
                text = f"{u.kind} {u.scope}: {u.value:,.2f} vs limit {u.limit_value:,.2f} ({u.utilisation:.0%})"
                if u.breach_action == "block_new_orders":
                    blocks.append(text)
                if row is None:
                    breach = LimitBreach(limit_id=u.limit_id, peak_utilisation=u.utilisation,
                                         action_taken=u.breach_action, detail=text[:300])
                    session.add(breach)
                    session.flush()  # its id keys the kill switch below: one breach acts once, whatever the clock
                    audit.record(MONITOR_ACTOR, "risk.breach", f"limit:{u.limit_id}", {"detail": text,
                                                                                     "action": u.breach_action})
                    publish("risk.breach", {"limit_id": u.limit_id, "detail": text, "action": u.breach_action})
                    if u.breach_action == "kill_switch" and not controls.kill_switch().active:
                        controls.activate_kill_switch(MONITOR_ACTOR, "risk", f"limit breach: {text}"[:300],
                                                      f"breach-{u.limit_id}-{breach.id}")
                else:
                    row.peak_utilisation = max(row.peak_utilisation, u.utilisation)
            elif row is not None:
                row.closed_at = utcnow()
                audit.record(MONITOR_ACTOR, "risk.breach_closed", f"limit:{u.limit_id}", {"utilisation": u.utilisation})
        reason = "; ".join(blocks)[:300]
        if (app_settings.get(BLOCK_KEY) or "") != reason:
            app_settings.put(BLOCK_KEY, reason, MONITOR_ACTOR)
            publish("risk.block", {"reason": reason})


def block_reason() -> str:
    return app_settings.get(BLOCK_KEY) or ""
