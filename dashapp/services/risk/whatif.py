"""Pre-trade what-if: VaR and limit utilisation if a proposed order were filled now."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services.errors import ValidationError
from dashapp.services.risk import limits as limit_service
from dashapp.services.risk import measures
from dashapp.services.risk.book import load_book
from dashapp.services.risk.monitor import day_pnl_and_drawdown
from models import Instrument, Strategy


def _var99(book) -> float:
    table = measures.var_table(book)
    if table.empty:
        return 0.0
    row = table[(table["scope"] == "TOTAL") & (table["level"] == 0.99)]
    return float(row["historical_var"].iloc[0]) if not row.empty else 0.0


def what_if(symbol: str, side: str, quantity, strategy: str | None = None) -> dict:
    if side not in ("buy", "sell"):
        raise ValidationError("side must be 'buy' or 'sell'", field="side")
    try:
        qty = float(quantity)
    except (TypeError, ValueError):
        raise ValidationError(f"quantity must be a number, not {quantity!r}", field="quantity") from None
    if not qty > 0:
        raise ValidationError("quantity must be greater than 0", field="quantity")
    instrument = db.session.execute(sa.select(Instrument).where(Instrument.symbol == (symbol or "").strip())).scalar()
    if instrument is None:
        raise ValidationError(f"unknown instrument {symbol!r}", field="instrument")
    code = strategy or db.session.execute(sa.select(Strategy.code).order_by(Strategy.id).limit(1)).scalar() or "WHATIF"
    extra = pd.DataFrame([{"strategy": code, "instrument_id": instrument.id, "instrument": instrument.symbol,
                           "quantity": qty if side == "buy" else -qty, "avg_cost": 0.0, "realized_pnl": 0.0,
                           "fees": 0.0, "multiplier": instrument.multiplier, "sector": instrument.sector}])
    before_book, after_book = load_book(), load_book(extra)
    day_pnl, drawdown = day_pnl_and_drawdown()
    before_var, after_var = _var99(before_book), _var99(after_book)
    before_exp, after_exp = measures.exposure_totals(before_book), measures.exposure_totals(after_book)
    rows = []
    for limit in limit_service.list_limits(active_only=True):
        b = limit_service.measure(limit, before_exp, before_var, day_pnl, drawdown)
        a = limit_service.measure(limit, after_exp, after_var, day_pnl, drawdown)
        rows.append({"limit": f"{limit.kind} {limit.scope}", "before": b.utilisation, "after": a.utilisation,
                     "change": a.utilisation - b.utilisation, "status_after": a.status})
    return {"var99_before": before_var, "var99_after": after_var, "var99_change": after_var - before_var,
            "limits": rows, "would_breach": [r["limit"] for r in rows if r["status_after"] == "BREACH"]}
