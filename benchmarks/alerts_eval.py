"""Alert evaluation (issue 11's "Measure", evaluation side), on SQLite and PostgreSQL:

1. Cost of one evaluation pass over 500 enabled rules of every kind (200 threshold, 100 expression,
   60 composite, 60 pattern, 40 anomaly, 40 predictive) on a small desk's store (2 days of P&L
   snapshots per strategy at 1 min, 400 orders with rejects, fills, engine events, quotes), every rule
   evaluated (force), median of 5 passes after a first one. The budget is 5 s (rules' default
   `every_seconds`).
2. Time from a breach written to the store to the alert Firing (pending 0), with the real alerter
   process (`dashapp alerts run`, tick 1 s) running: the risk monitor's measurement with one limit at
   120% is committed (exactly what `monitor.evaluate()` writes before acting) and `risk.breach`
   published; the clock stops when this process sees the built-in "Limit breach" instance firing
   (polled every 5 ms). Then the breach is cleared and the instance must return to normal before the
   next one. Without Redis the bus is in-process, so the runner finds breaches on its tick; with
   REDIS_URL the bus wakes it at once.

    .venv/bin/python benchmarks/alerts_eval.py [--breaches 40] [--backend sqlite|postgresql|both] [--redis URL]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import ROOT, machine, scratch_app  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def seed_store(now: datetime) -> None:
    from dashapp.services.ingest import ingest_batch
    from tests.support.trading import REFERENCE

    for kind, items in REFERENCE.items():
        ingest_batch(kind, "paper-1", items)
    iso = lambda t: t.isoformat()  # noqa: E731
    snaps = []
    for strategy, base in (("MOM", 1e6), ("MR", 5e5)):
        for m in range(2 * 24 * 60):
            t = now - timedelta(minutes=2 * 24 * 60 - m)
            snaps.append({"strategy": strategy, "ts": iso(t), "equity": base + 50 * m + (m % 37) * 100,
                          "realized_pnl": 0.0, "unrealized_pnl": 0.0, "gross_exposure": 2e5 + 30 * m,
                          "net_exposure": 1e5 + 10 * m})
    for i in range(0, len(snaps), 1000):
        ingest_batch("pnl_snapshots", "paper-1", snaps[i:i + 1000])
    orders, fills = [], []
    for i in range(400):
        t = now - timedelta(seconds=600 - i)
        rejected = i % 9 == 0
        venue = "XNAS" if i % 2 else "LP1"
        order = {"client_order_id": f"o{i}", "strategy": "MOM", "instrument": "AAPL", "venue": venue, "side": "buy",
                 "quantity": 100, "status": "rejected" if rejected else "filled", "created_at": iso(t),
                 "acknowledged_at": iso(t + timedelta(milliseconds=5 + i % 20)), "arrival_mid": 190.0}
        order["rejected_at" if rejected else "filled_at"] = iso(t + timedelta(milliseconds=30))
        orders.append(order)
        if not rejected:
            fills.append({"exec_id": f"f{i}", "client_order_id": f"o{i}", "venue": venue, "quantity": 100,
                          "price": 190.0 + (i % 5) * 0.01, "fee": 1.0, "filled_at": iso(t + timedelta(milliseconds=30)),
                          "mid_at_arrival": 190.0, "mid_at_fill": 190.0})
    ingest_batch("orders", "paper-1", orders)
    ingest_batch("fills", "paper-1", fills)
    ingest_batch("events", "paper-1", [{"event_id": f"e{i}", "ts": iso(now - timedelta(seconds=5 * i)),
                                        "level": "error" if i % 10 == 0 else "info", "kind": "venue.slow"}
                                       for i in range(100)])
    ingest_batch("engine_state", "paper-1", [{"status": "running", "heartbeat_at": iso(now)}])
    ingest_batch("quotes", "paper-1", [{"instrument": s, "ts": iso(now - timedelta(seconds=s2)), "bid": 99.9,
                                        "ask": 100.1} for s in ("AAPL", "XOM") for s2 in range(0, 300, 5)])


def make_rules() -> None:
    from dashapp.services.alerts import rules

    mk = lambda i, kind, spec: rules.create_rule("bench", {"name": f"bench {kind} {i}", "kind": kind,  # noqa: E731
                                                           "spec": spec})
    metrics = ["risk.limit_utilisation", "risk.var_99", "risk.gross_exposure", "pnl.drawdown",
               "execution.reject_rate", "execution.latency_ms", "execution.slippage_bps", "data.quote_age",
               "engine.heartbeat_age", "execution.fill_rate"]
    for i in range(200):
        mk(i, "threshold", {"metric": metrics[i % len(metrics)], "op": ">", "value": float(i)})
    for i in range(100):
        mk(i, "expression", {"text": f"execution.reject_rate > {i % 20} and execution.fill_rate < 99 "
                                     f"or risk.limit_utilisation >= {50 + i}"})
    for i in range(60):
        mk(i, "composite", {"conditions": [{"metric": "execution.reject_rate", "op": ">", "value": 5, "weight": 2},
                                           {"metric": "execution.latency_ms", "op": ">", "value": float(i)}],
                            "score_threshold": 2, "group_by": ["venue"]})
    for i in range(60):
        mk(i, "pattern", {"source": ["execution.reject", "engine.fault"][i % 2], "count": 1 + i % 5,
                          "within_seconds": 60 + 10 * i, "group_by": ["venue"] if i % 2 == 0 else ["engine"]})
    for i in range(40):
        mk(i, "anomaly", {"metric": "pnl.equity", "method": "mad" if i % 2 else "zscore",
                          "window_seconds": 3600 * (1 + i % 6), "threshold": 3 + i % 3})
    for i in range(40):
        mk(i, "predictive", {"metric": ["pnl.equity", "risk.gross_exposure"][i % 2], "limit": 2e6,
                             "horizon_seconds": 3600, "lookback_seconds": 3600 * (1 + i % 4)})


def evaluation_cost(backend: str) -> dict:
    from dashapp.services.alerts import evaluation, sources_risk
    from dashapp.services.risk import monitor
    from models import utcnow

    with scratch_app(backend):
        now = utcnow()
        seed_store(now)
        make_rules()
        monitor.evaluate()  # the stored measurement the risk rules read
        first = evaluation.evaluate_all(utcnow(), force=True)
        times = []
        for _ in range(5):
            sources_risk._memo.clear()
            started = time.perf_counter()
            report = evaluation.evaluate_all(utcnow(), force=True)
            times.append(time.perf_counter() - started)
        evaluation.HEARTBEAT = timedelta(0)  # a pass that also refreshes every instance (every 30 s normally)
        started = time.perf_counter()
        evaluation.evaluate_all(utcnow(), force=True)
        heartbeat_pass = time.perf_counter() - started
        evaluation.HEARTBEAT = timedelta(seconds=30)
        return {"backend": backend, "rules": report.evaluated, "heartbeat_pass": heartbeat_pass, "errors": len(report.errors) + len(first.errors),
                "first_pass": first.seconds, "median": statistics.median(times), "max": max(times),
                "instances": first.instances, "transitions": first.transitions}


class Util:  # what monitor.evaluate() hands store_measurement
    def __init__(self, used: float):
        self.limit_id, self.kind, self.scope, self.value, self.limit_value = 1, "net_exposure", "*", used * 1e6, 1e6
        self.utilisation, self.breach_action = used, "block_new_orders"
        self.status = "BREACH" if used >= 1 else "OK"


def breach_latency(backend: str, breaches: int, redis_url: str | None) -> dict:
    from dashapp.extensions import db
    from dashapp.realtime import publish
    from dashapp.services import app_settings
    from dashapp.services.alerts import builtin_rules, rules, sources_risk
    from dashapp.services.alerts.runner import HEARTBEAT_KEY
    from models.alerts import AlertInstance

    if redis_url:
        os.environ["REDIS_URL"] = redis_url
        os.environ["COCKPIT_REDIS_KEY_PREFIX"] = f"bench-alerts-{uuid.uuid4().hex[:8]}:"
    else:
        os.environ.pop("REDIS_URL", None)
    with scratch_app(backend) as server:
        builtin_rules.ensure_builtin_rules()
        rule_id = rules.rule_by_name("Limit breach").id
        sources_risk.store_measurement([Util(0.5)], 1e5, {"gross": 5e5, "net": 5e5}, 0.0, 0.0, 1e6)
        settings = server.config["COCKPIT_SETTINGS"]
        env = {**os.environ, "DATABASE_URL": settings.database_url, "SECRET_KEY": "bench",
               "COCKPIT_INSTANCE_DIR": str(settings.instance_dir), "COCKPIT_ALERTS_TICK_SECONDS": "1.0"}
        log = open(settings.instance_dir / "alerter.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "dashapp.cli", "alerts", "run"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)

        def state() -> str | None:
            db.session.rollback()
            return db.session.execute(db.select(AlertInstance.state).where(AlertInstance.rule_id == rule_id)).scalar()

        def wait_for(want: str, timeout: float = 30.0) -> float | None:
            deadline = time.perf_counter() + timeout
            while time.perf_counter() < deadline:
                if state() == want:
                    return time.perf_counter()
                time.sleep(0.005)
            return None

        samples = []
        try:
            deadline = time.monotonic() + 120  # start-up: imports, kernels, the first passes
            while time.monotonic() < deadline:
                db.session.rollback()
                beat = app_settings.get(HEARTBEAT_KEY)
                if isinstance(beat, dict) and beat.get("pid") == proc.pid:
                    break
                time.sleep(0.2)
            else:
                raise RuntimeError(f"the alerter did not start; see {log.name}")
            for _ in range(breaches):
                sources_risk.store_measurement([Util(1.2)], 1e5, {"gross": 1.2e6, "net": 1.2e6}, 0.0, 0.0, 1e6)
                written = time.perf_counter()
                publish("risk.breach", {"limit_id": 1, "detail": "bench", "action": "block_new_orders"})
                seen = wait_for("firing")
                if seen is None:
                    raise RuntimeError(f"no firing within 30 s; see {log.name}")
                samples.append(seen - written)
                sources_risk.store_measurement([Util(0.5)], 1e5, {"gross": 5e5, "net": 5e5}, 0.0, 0.0, 1e6)
                if wait_for("normal") is None:
                    raise RuntimeError(f"no resolve within 30 s; see {log.name}")
                time.sleep(0.05 + (len(samples) % 7) * 0.13)  # breaches land at varied points of the tick
        finally:
            proc.terminate()
            proc.wait(30)
    return {"backend": backend, "bus": "Redis" if redis_url else "in-process (tick only)", "n": len(samples),
            "p50": statistics.median(samples), "p95": pct(samples, 0.95), "max": max(samples)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--breaches", type=int, default=40)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--cost-only", action="store_true", help="Only the evaluation-cost table.")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    load = os.getloadavg()[0]
    costs = [evaluation_cost(b) for b in backends]
    latencies = []
    for b in [] if args.cost_only else backends:
        latencies.append(breach_latency(b, args.breaches, None))
        latencies.append(breach_latency(b, args.breaches, args.redis))
    lines = [f"Machine: {machine()}; load average at start {load:.1f}. `benchmarks/alerts_eval.py`.", "",
             "Evaluation pass over 500 enabled rules (200 threshold, 100 expression, 60 composite, 60 pattern, "
             "40 anomaly, 40 predictive), every rule evaluated; budget 5 s (default `every_seconds`):", "",
             "| Database | Rules | Instances | First pass (creates them) | Steady pass, median of 5 | Worst | "
             "Pass refreshing every instance (each 30 s) | Per rule | Share of 5 s |",
             "| --- | --: | --: | --: | --: | --: | --: | --: | --: |"]
    for c in costs:
        lines.append(f"| {c['backend']} | {c['rules']} | {c['instances']} | {c['first_pass']:.2f} s | "
                     f"{c['median']:.2f} s | {c['max']:.2f} s | {c['heartbeat_pass']:.2f} s | "
                     f"{c['median'] / c['rules'] * 1000:.1f} ms | {c['median'] / 5:.0%} |")
    lines += ["", "Breach written to the store -> alert Firing (pending 0), the real `dashapp alerts run` process "
              "(tick 1 s) running:", "",
              "| Database | Bus | Breaches | p50 | p95 | Worst |", "| --- | --- | --: | --: | --: | --: |"]
    for r in latencies:
        lines.append(f"| {r['backend']} | {r['bus']} | {r['n']} | {r['p50'] * 1000:.0f} ms | {r['p95'] * 1000:.0f} ms "
                     f"| {r['max'] * 1000:.0f} ms |")
    print("\n".join(lines))  # appended to docs/BENCHMARKS.md by hand (several people append there at once)


if __name__ == "__main__":
    main()
