"""The pre-trade risk gate seen from the desk: decision counts and shares by rule over recent
windows, the emergency-stop (kill switch) history from the audit trail, and rule effectiveness
(profit factor, win rate, Sharpe, max drawdown, longest win/loss runs) per strategy and per gate
rule, live next to the newest backtest of the same strategy kind.

Live measures, per strategy: the engine's equity snapshots resampled to hourly closes (the paper
engine trades around the clock), so Sharpe is annualised with 24 x 365 periods and win rate,
profit factor and runs count hours. Per gate rule: the fills of the orders the rule passed
(allowed, or scaled down by it), each marked to the instrument's newest mid; a trade's return is
its P&L over its notional and Sharpe is per trade (not annualised). Backtests count closed trades.
"""
from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from dashapp import kernels
from dashapp.backtest.strategies import STRATEGIES
from dashapp.extensions import db
from dashapp.kernels.streaks import longest_streaks
from dashapp.services import read_bounds as rb
from models import AuditRecord, Fill, Job, Order, PnlSnapshot, Quote, RiskDecision, Strategy, utcnow

WINDOWS = {"5 min": timedelta(minutes=5), "1 h": timedelta(hours=1), "24 h": timedelta(hours=24)}
NO_RULE = "(passed every rule)"
HOURS_PER_YEAR = 24 * 365
MAX_SNAPSHOTS = 50_000
MAX_TRADES = 20_000
METRIC_KEYS = ("profit_factor", "win_rate", "sharpe", "max_drawdown", "max_wins", "max_losses", "periods")


def decision_counts(now=None) -> pd.DataFrame:
    """One row per window and rule: allow, scale, block counts, total and the three shares."""
    now = now or utcnow()
    rows = []
    for label, span in WINDOWS.items():
        found = db.session.execute(
            sa.select(RiskDecision.rule, RiskDecision.decision, sa.func.count())
            .where(RiskDecision.ts >= now - span, RiskDecision.ts <= now)
            .group_by(RiskDecision.rule, RiskDecision.decision)).all()
        per_rule: dict[str, dict] = {}
        for rule, decision, count in found:
            entry = per_rule.setdefault(rule or NO_RULE, {"allow": 0, "scale": 0, "block": 0})
            entry[decision] += int(count)
        for rule, counts in sorted(per_rule.items()):
            total = sum(counts.values())
            rows.append({"window": label, "rule": rule, **counts, "total": total,
                         **{f"{k}_share": counts[k] / total for k in ("allow", "scale", "block")}})
    columns = ["window", "rule", "allow", "scale", "block", "total", "allow_share", "scale_share", "block_share"]
    return pd.DataFrame(rows, columns=columns)


def emergency_stops(limit: int = 100) -> pd.DataFrame:
    """Kill-switch activations, reset requests and approvals, newest first (from the audit trail)."""
    found = db.session.execute(
        sa.select(AuditRecord.created_at, AuditRecord.action, AuditRecord.actor, AuditRecord.outcome,
                  AuditRecord.details)
        .where(AuditRecord.action.like("kill_switch.%"))
        .order_by(AuditRecord.id.desc()).limit(limit)).all()
    rows = []
    for ts, action, actor, outcome, details in found:
        detail = json.loads(details or "{}")
        rows.append({"ts": ts, "event": action.split(".", 1)[1].replace("_", " "), "actor": actor,
                     "outcome": outcome, "reason": str(detail.get("reason", ""))})
    return pd.DataFrame(rows, columns=["ts", "event", "actor", "outcome", "reason"])


def measures(returns: np.ndarray, pnl: np.ndarray, periods_per_year: float) -> dict:
    """The effectiveness measures of one return series (and the P&L that decides wins and losses)."""
    out = dict.fromkeys(METRIC_KEYS)
    out["periods"] = int(len(returns))
    if len(returns) == 0:
        return out
    r = np.ascontiguousarray(returns, dtype=np.float64)
    out["profit_factor"] = _finite(kernels.profit_factor(pnl))
    out["win_rate"] = _finite(kernels.win_rate(pnl))
    out["sharpe"] = _finite(kernels.sharpe_ratio(r, periods_per_year=periods_per_year)) if len(r) >= 2 else None
    out["max_drawdown"] = _finite(kernels.max_drawdown(r))
    out["max_wins"], out["max_losses"] = longest_streaks(pnl)
    return out


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def strategy_live(since) -> list[dict]:
    found = db.session.execute(
        sa.select(Strategy.code, Strategy.kind, PnlSnapshot.ts, PnlSnapshot.equity)
        .join(Strategy, Strategy.id == PnlSnapshot.strategy_id)
        .where(PnlSnapshot.ts >= since, rb.amount_ok(PnlSnapshot.equity), PnlSnapshot.equity > 0)
        .order_by(PnlSnapshot.ts.desc()).limit(MAX_SNAPSHOTS)).all()
    frame = pd.DataFrame(found, columns=["code", "kind", "ts", "equity"])
    rows = []
    for (code, kind), group in frame.groupby(["code", "kind"]):
        hourly = group.assign(ts=pd.to_datetime(group["ts"], utc=True)).set_index("ts")["equity"].sort_index()
        hourly = hourly.resample("1h").last().dropna()
        returns = hourly.pct_change().dropna().to_numpy()
        rows.append({"scope": "strategy", "name": code, "kind": kind, "source": "live",
                     **measures(returns, np.diff(hourly.to_numpy()), HOURS_PER_YEAR)})
    return rows


def rule_live(since) -> list[dict]:
    mark = (sa.select(Quote.instrument_id, sa.func.max(Quote.ts).label("ts"))
            .where(Quote.ts >= since).group_by(Quote.instrument_id).subquery())
    last = (sa.select(Quote.instrument_id, ((Quote.bid + Quote.ask) / 2).label("mid"))
            .join(mark, sa.and_(mark.c.instrument_id == Quote.instrument_id, mark.c.ts == Quote.ts)).subquery())
    found = db.session.execute(
        sa.select(RiskDecision.rule, Fill.side, Fill.quantity, Fill.price, last.c.mid)
        .join(Order, sa.and_(Order.engine_id == RiskDecision.engine_id,
                             Order.client_order_id == RiskDecision.client_order_id))
        .join(Fill, Fill.order_id == Order.id)
        .join(last, last.c.instrument_id == Fill.instrument_id)
        .where(RiskDecision.ts >= since, RiskDecision.decision.in_(("allow", "scale")), rb.price_ok(Fill.price),
               rb.qty_ok(Fill.quantity))
        .order_by(Fill.filled_at).limit(MAX_TRADES)).all()
    frame = pd.DataFrame(found, columns=["rule", "side", "quantity", "price", "mid"])
    rows = []
    for rule, group in frame.groupby("rule"):
        sign = np.where(group["side"] == "buy", 1.0, -1.0)
        pnl = sign * (group["mid"].to_numpy() - group["price"].to_numpy()) * group["quantity"].to_numpy()
        returns = pnl / (group["price"].to_numpy() * group["quantity"].to_numpy())
        rows.append({"scope": "gate rule", "name": rule or NO_RULE, "kind": "", "source": "live",
                     **measures(returns, pnl, 1.0)})
    return rows


def backtests(live_codes: dict[str, list[str]]) -> list[dict]:
    """The newest succeeded backtest per strategy kind, its own metrics, once under each live
    strategy that runs the same logic (`live_codes`: engine kind -> codes), so they sit side by side."""
    found = db.session.execute(
        sa.select(Job.result).where(Job.job_type == "backtest", Job.state == "succeeded")
        .order_by(Job.finished_at.desc()).limit(50)).scalars().all()
    seen, rows = set(), []
    for result in found:
        kind = (result or {}).get("strategy")
        if not kind or kind in seen:
            continue
        seen.add(kind)
        m = result.get("metrics") or {}
        sdef = STRATEGIES.get(kind)
        names = live_codes.get(sdef.live_kind if sdef else "", []) or [sdef.label if sdef else kind]
        rows += [{"scope": "strategy", "name": name, "kind": kind, "source": "backtest", "profit_factor": m.get("profit_factor"),
                     "win_rate": m.get("win_rate"), "sharpe": m.get("sharpe"), "max_drawdown": m.get("max_drawdown"),
                     "max_wins": m.get("max_wins"), "max_losses": m.get("max_losses"), "periods": m.get("trades")}
                 for name in names]
    return rows


def effectiveness(days: int = 30) -> pd.DataFrame:
    since = utcnow() - timedelta(days=days)
    live = strategy_live(since)
    kinds: dict[str, list[str]] = {}
    for code, kind in db.session.execute(sa.select(Strategy.code, Strategy.kind).order_by(Strategy.code)).all():
        kinds.setdefault(kind, []).append(code)
    frame = pd.DataFrame(live + backtests(kinds), columns=["scope", "name", "kind", "source", *METRIC_KEYS])
    frame = frame.sort_values(["name", "source"], ascending=[True, False], kind="stable")  # live, then backtest
    rules = pd.DataFrame(rule_live(since), columns=frame.columns)
    return pd.concat([frame, rules], ignore_index=True) if not rules.empty else frame.reset_index(drop=True)
