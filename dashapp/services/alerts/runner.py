"""The alerter: the supervised process (`dashapp alerts run`, Program "alerter") that evaluates rules and
hands what changed to dispatch.

Loop: every `COCKPIT_ALERTS_TICK_SECONDS` (default 1.0), or at once when the bus carries a breach, an
engine event, an order report or an engine action, it evaluates the rules that are due
(`evaluation.evaluate_all`), plus, on a bus wake-up, every rule that watches that topic's metrics
whether due or not; then `dispatch.run(now)`; then it stamps its heartbeat (`AppSetting`
`alerts.runner_heartbeat`, read by the Operations page). A pass that overruns the tick is logged; a
failed pass is logged and the next tick tries again, so the loop never dies of one fault.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import app_settings
from dashapp.services.alerts import evaluation, expression
from models import utcnow
from models.alerts import AlertRule

log = logging.getLogger("cockpit.alerts.runner")

HEARTBEAT_KEY = "alerts.runner_heartbeat"
HEARTBEAT_EVERY = timedelta(seconds=2)
# Bus topic -> metric/event prefixes whose rules a message makes worth evaluating at once.
WAKE_TOPICS = {
    "risk.breach": ("risk.", "pnl."),
    "risk.block": ("risk.",),
    "ingest.events": ("engine.",),
    "ingest.engine_state": ("engine.",),
    "engine": ("engine.",),
    "ingest.orders": ("execution.",),
    "ingest.fills": ("execution.",),
    "jobs.failed": ("jobs.",),
}


def tick_seconds(settings=None) -> float:
    extra = getattr(settings, "extra", {}) or {}
    raw = extra.get("alerts_tick_seconds") or os.environ.get("COCKPIT_ALERTS_TICK_SECONDS") or "1.0"
    try:
        value = float(raw)
    except ValueError:
        value = 1.0
    return min(60.0, max(0.05, value))


def watched_names(kind: str, spec: dict | None) -> set[str]:
    """The metric and event-source names a rule reads."""
    spec = spec or {}
    if kind == "expression":
        try:
            return expression.metric_names(expression.parse(spec.get("text", "")))
        except ValueError:
            return set()
    names = {spec.get("metric"), spec.get("source")} | {c.get("metric") for c in spec.get("conditions", [])}
    return {n for n in names if n}


def rules_watching(prefixes: set[str]) -> list[int]:
    rows = db.session.execute(sa.select(AlertRule.id, AlertRule.kind, AlertRule.spec)
                              .where(AlertRule.enabled.is_(True))).all()
    return [rule_id for rule_id, kind, spec in rows
            if any(name.startswith(tuple(prefixes)) for name in watched_names(kind, spec))]


def _dispatch(now):
    try:
        from dashapp.services.alerts import dispatch
    except ImportError:  # notifications not installed (yet): evaluation still runs
        return None
    return dispatch.run(now)


class AlertRunner:
    def __init__(self, server, tick: float | None = None):
        self.server = server
        self.tick = tick if tick is not None else tick_seconds(server.config.get("COCKPIT_SETTINGS"))
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self._woken: set[str] = set()
        self._lock = threading.Lock()
        self._last_beat = None
        self.passes = 0

    # --- bus ------------------------------------------------------------------------------------
    def _listen(self) -> None:
        from dashapp.realtime import subscribe

        with self.server.app_context():
            subscription = subscribe()
            try:
                while not self.stopping.is_set():
                    message = subscription.get(timeout=0.5)
                    if message and message.get("topic") in WAKE_TOPICS:
                        with self._lock:
                            self._woken.add(message["topic"])
                        self.wake.set()
            finally:
                subscription.close()

    def start_listener(self) -> threading.Thread:
        thread = threading.Thread(target=self._listen, name="alerts-bus", daemon=True)
        thread.start()
        return thread

    # --- one pass -------------------------------------------------------------------------------
    def step(self, now=None) -> evaluation.EvalReport:
        now = now or utcnow()
        with self._lock:
            woken, self._woken = self._woken, set()
        forced = None
        if woken:
            prefixes = {p for topic in woken for p in WAKE_TOPICS[topic]}
            forced = set(rules_watching(prefixes))
        report = evaluation.evaluate_all(now, force_ids=forced)
        dispatched = _dispatch(now)
        self._heartbeat(now, report, dispatched)
        self.passes += 1
        return report

    def _heartbeat(self, now, report, dispatched) -> None:
        if self._last_beat is not None and now - self._last_beat < HEARTBEAT_EVERY:
            return
        self._last_beat = now
        app_settings.put(HEARTBEAT_KEY, {
            "at": now.isoformat(), "host": socket.gethostname()[:64], "pid": os.getpid(), "instance": "alerter",
            "tick_seconds": self.tick, "evaluated": report.evaluated, "transitions": report.transitions,
            "errors": len(report.errors), "pass_seconds": round(report.seconds, 4),
            "dispatch": getattr(dispatched, "__dict__", None) and {
                k: v for k, v in vars(dispatched).items() if isinstance(v, (int, float, bool))}}, "alerter")

    def run_forever(self) -> None:
        log.info("alerter running: tick %.2f s", self.tick)
        self.start_listener()
        while not self.stopping.is_set():
            started = time.monotonic()
            with self.server.app_context():
                try:
                    report = self.step()
                    if report.errors:
                        log.warning("alert pass: %d rule(s) in error", len(report.errors))
                except Exception:  # keep running: the next tick tries again
                    log.exception("alert pass failed")
                    db.session.rollback()
                finally:
                    db.session.remove()
            elapsed = time.monotonic() - started
            if elapsed > self.tick:
                log.warning("alert pass took %.2f s, over the %.2f s tick", elapsed, self.tick)
            self.wake.wait(max(0.0, self.tick - elapsed))
            self.wake.clear()
        log.info("alerter stopped after %d passes", self.passes)
