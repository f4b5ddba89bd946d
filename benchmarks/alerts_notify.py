"""Time from a breach in the store to the notification leaving the cockpit, in-app and webhook
(issue 11's "Measure": target p95 < 1 s after the pending period).

What is timed: a risk metric's value in the store turns into a breach (a committed row; pending period
0, so "after the pending period" is from that commit) and the bus carries "risk.breach", as the risk
monitor does; H1's real runner loop (`AlertRunner.run_forever`, tick 1 s, woken by the bus) evaluates
the rules watching risk metrics, then calls `dispatch.run(now)`, which hands the sends to the delivery
thread pool. The clock stops when the webhook body reaches a real local HTTP receiver (http.server in
a thread) and when the in-app notification is published on the bus topic `alerts` (what navbars
listen to). Policy: two children (webhook, in-app; both continue), group_wait 0 (the grouping wait is
a configured delay, not a cost), grouped by alertname and book so each breach is its own group.
N breaches one at a time; the earlier ones stay firing, so the last passes route N alerts.

    .venv/bin/python benchmarks/alerts_notify.py [--n 200] [--backend sqlite|postgresql|both]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import machine, scratch_app  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Arrivals:
    def __init__(self):
        self.at: dict[str, float] = {}
        self.cond = threading.Condition()

    def mark(self, key: str) -> None:
        with self.cond:
            self.at.setdefault(key, time.perf_counter())
            self.cond.notify_all()

    def wait(self, keys: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not all(k in self.at for k in keys):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


def receiver(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            for alert in body.get("alerts", []):
                if alert["status"] == "firing":
                    arrivals.mark("webhook:" + alert["labels"].get("book", ""))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


BREACHING_KEY = "bench.alerts_breaching"


def _register_metric() -> None:
    """A risk metric whose value lives in the store (an AppSetting the benchmark writes), so a breach is
    a committed row like any other; its name starts with "risk." so a "risk.breach" message wakes the runner."""
    from dashapp.extensions import db
    from dashapp.services.alerts import metrics
    from models import AppSetting

    def current(now):
        row = db.session.get(AppSetting, BREACHING_KEY)
        return [metrics.Sample({"book": key}, 2.0) for key in (row.value if row is not None else [])]

    metrics.register_metric(metrics.MetricSource("risk.bench_utilisation", "Benchmark utilisation", "x",
                                                 ("book",), current))


def run(backend: str, n: int) -> dict:
    from dashapp.extensions import db
    from dashapp.realtime import bus
    from dashapp.services.alerts import contact_points, delivery, policies, rules, seed
    from dashapp.services.alerts.runner import AlertRunner
    from dashapp.services.unit_of_work import unit_of_work
    from models import AppSetting

    arrivals = Arrivals()
    http = receiver(arrivals)
    _register_metric()
    with scratch_app(backend) as server:
        seed.ensure_defaults("bench")
        root = policies.root()
        policies.save_policy("bench", {"group_wait_seconds": 0, "group_interval_seconds": 1,
                                       "group_by": ["alertname", "book"]}, root.id)
        contact_points.create_contact_point("bench", {"name": "hook", "kind": "webhook", "settings": {
            "url": f"http://127.0.0.1:{http.server_address[1]}/hook"}})
        for position, point in enumerate(("hook", seed.INBOX)):  # a matching child replaces the root's route
            policies.save_policy("bench", {"parent_id": root.id, "position": position, "name": point,
                                           "contact_point": point, "continue_matching": True})
        rules.create_rule("bench", {"name": "Bench breach", "kind": "threshold", "pending_seconds": 0,
                                    "spec": {"metric": "risk.bench_utilisation", "op": ">", "value": 1.0}})
        subscription = bus.subscribe()
        stop = threading.Event()

        def listen():
            while not stop.is_set():
                message = subscription.get(0.2)
                if message and message.get("topic") == "alerts" and message["data"].get("kind") == "notification":
                    alerts = message["data"].get("title", "")
                    if alerts.startswith("[FIRING"):
                        arrivals.mark("in_app:" + str(message["data"].get("id")))

        runner = AlertRunner(server, tick=1.0)
        threads = [threading.Thread(target=listen, daemon=True), threading.Thread(target=runner.run_forever,
                                                                                  daemon=True)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)  # the runner's bus listener is subscribed
        lat = {"in_app": [], "webhook": []}
        missed, breaching = 0, []
        for i in range(n):
            key = f"book-{i:04d}"
            breaching.append(key)
            seen_in_app = {k for k in arrivals.at if k.startswith("in_app:")}
            with unit_of_work() as session:
                row = session.get(AppSetting, BREACHING_KEY)
                if row is None:
                    session.add(AppSetting(key=BREACHING_KEY, value=list(breaching), updated_by="bench"))
                else:
                    row.value = list(breaching)
            t0 = time.perf_counter()  # the breach is in the store
            bus.publish("risk.breach", {"book": key})  # what the risk monitor publishes with a breach
            ok = arrivals.wait([f"webhook:{key}"], 10.0)
            deadline = time.monotonic() + 10.0
            new_in_app = set()
            while time.monotonic() < deadline and not new_in_app:
                new_in_app = {k for k in arrivals.at if k.startswith("in_app:")} - seen_in_app
                time.sleep(0.001)
            if not ok or not new_in_app:
                missed += 1
                continue
            lat["webhook"].append(arrivals.at[f"webhook:{key}"] - t0)
            lat["in_app"].append(min(arrivals.at[k] for k in new_in_app) - t0)
        runner.stopping.set()
        runner.wake.set()
        stop.set()
        for thread in threads:
            thread.join(10)
        delivery.drain()
        subscription.close()
        db.session.remove()
    http.shutdown()
    return {"backend": backend, "n": n, "missed": missed, **{
        kind: (statistics.median(v) * 1000, pct(v, 0.95) * 1000, max(v) * 1000) for kind, v in lat.items() if v}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--backend", default="both", choices=("sqlite", "postgresql", "both"))
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = [run(b, max(1, min(args.n, 2000))) for b in backends]
    load = os.getloadavg()
    lines = [f"{machine()}; load average at the end {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}.", "",
             "| store | breaches | channel | p50 ms | p95 ms | max ms | missed (> 10 s) |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for r in results:
        for kind in ("in_app", "webhook"):
            if kind in r:
                p50, p95, worst = r[kind]
                lines.append(f"| {r['backend']} | {r['n']} | {kind.replace('_', '-')} | {p50:.1f} | {p95:.1f} | "
                             f"{worst:.1f} | {r['missed']} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
