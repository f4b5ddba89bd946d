"""Time from a breach in the store to the notification leaving the cockpit, in-app and webhook
(issue 11's "Measure": target p95 < 1 s after the pending period).

What is timed: an evaluation commits the firing transition (AlertInstance -> firing + its AlertEvents,
exactly as services/alerts/evaluation does), then the runner's pass calls `dispatch.run(now)` right
after evaluation (the runner is woken by the bus for breaches; a plain tick adds up to
COCKPIT_ALERTS_TICK_SECONDS); the clock stops when the webhook body reaches a real local HTTP receiver
(http.server in a thread), and when the in-app notification is published on the bus topic `alerts`
(what navbars listen to). Policy: two children (webhook, in-app; both continue), group_wait 0 (the
grouping wait is a configured delay, not a cost). N breaches, each a new alert, one at a time, on a
runner thread with the delivery thread pool, like `dashapp alerts run`.

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
                    arrivals.mark("webhook:" + alert["labels"]["alertname"])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(backend: str, n: int) -> dict:
    from dashapp.extensions import db
    from dashapp.realtime import bus
    from dashapp.services.alerts import contact_points, delivery, dispatch, policies, seed, state
    from dashapp.services.unit_of_work import unit_of_work
    from models.alerts import AlertEvent, AlertInstance, AlertRule

    arrivals = Arrivals()
    http = receiver(arrivals)
    with scratch_app(backend) as server:
        seed.ensure_defaults("bench")
        root = policies.root()
        policies.save_policy("bench", {"group_wait_seconds": 0, "group_interval_seconds": 1}, root.id)
        contact_points.create_contact_point("bench", {"name": "hook", "kind": "webhook", "settings": {
            "url": f"http://127.0.0.1:{http.server_address[1]}/hook"}})
        for position, point in enumerate(("hook", seed.INBOX)):  # a matching child replaces the root's route
            policies.save_policy("bench", {"parent_id": root.id, "position": position, "name": point,
                                           "contact_point": point, "continue_matching": True})
        subscription = bus.subscribe()
        stop = threading.Event()
        wake = threading.Event()

        def listen():
            while not stop.is_set():
                message = subscription.get(0.2)
                if message and message.get("topic") == "alerts":
                    title = message["data"].get("title", "")
                    if title.startswith("[FIRING"):
                        arrivals.mark("in_app:" + title.split("] ", 1)[1])

        def runner():
            with server.app_context():
                while not stop.is_set():
                    wake.wait(1.0)
                    wake.clear()
                    try:
                        dispatch.run(datetime.now(timezone.utc))
                    except Exception as exc:  # keep going, as the runner does; say so
                        print(f"dispatch failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                    finally:
                        db.session.remove()

        threads = [threading.Thread(target=listen, daemon=True), threading.Thread(target=runner, daemon=True)]
        for thread in threads:
            thread.start()
        lat = {"in_app": [], "webhook": []}
        missed = 0
        for i in range(n):
            name = f"Breach {i:04d}"
            now = datetime.now(timezone.utc)
            with unit_of_work() as session:
                rule = AlertRule(name=name, kind="threshold", spec={}, labels={}, severity="critical",
                                 pending_seconds=0, updated_by="bench")
                session.add(rule)
                session.flush()
                labels = {"alertname": name, "desk": "equities"}
                row = AlertInstance(rule_id=rule.id, fingerprint=state.fingerprint(labels), labels=labels,
                                    severity="critical", state="firing", episode=1, value=1.04, summary=f"{name} 104%",
                                    state_since=now, pending_since=now, firing_since=now)
                session.add(row)
                session.flush()
                for frm, to in (("normal", "pending"), ("pending", "firing")):
                    session.add(AlertEvent(instance_id=row.id, rule_id=rule.id, at=now, kind=to, from_state=frm,
                                           to_state=to, episode=1, value=1.04))
            t0 = time.perf_counter()
            wake.set()  # the runner's evaluation pass that wrote the transition goes on to dispatch
            keys = [f"in_app:{name}", f"webhook:{name}"]
            if not arrivals.wait(keys, 10.0):
                missed += 1
                continue
            lat["in_app"].append(arrivals.at[keys[0]] - t0)
            lat["webhook"].append(arrivals.at[keys[1]] - t0)
        stop.set()
        for thread in threads:
            thread.join(5)
        delivery.drain()
        subscription.close()
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
