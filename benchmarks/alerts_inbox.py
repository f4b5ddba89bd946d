"""Alerts inbox and incidents (issue 11, the reading side), on SQLite and PostgreSQL: how long the pages'
queries take on a busy desk's store.

Store: 50 rules, 2,000 alert instances (1,500 open, labels team/venue/desk), 100,000 alert events over
30 days, 20,000 engine events (a quarter warning or worse), 2,000 failed jobs, and one incident with
200 linked alerts. Measured (median of 5 after a first call): the inbox with no filter, with a label
matcher and text filter, grouped by two labels; the navbar counts (one GROUP BY); one page of the
history search (7 days, a rule and a label matcher); an incident timeline over its window; the
postmortem as Markdown and as PDF.

    .venv/bin/python benchmarks/alerts_inbox.py [--backend sqlite|postgresql|both]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import machine, median_time, scratch_app  # noqa: E402

RULES, INSTANCES, EVENTS, ENGINE_EVENTS, JOBS = 50, 2000, 100_000, 20_000, 2000


def seed() -> int:
    from dashapp.extensions import db
    from dashapp.services.alerts import incidents
    from dashapp.services.alerts.state import fingerprint
    from models import AlertEvent, AlertInstance, AlertRule, EngineEvent, Job, utcnow

    rng = random.Random(11)
    now = utcnow()
    rules = [AlertRule(name=f"rule_{i}", kind="threshold", severity=("critical", "high", "warning", "info")[i % 4],
                       spec={"metric": "risk.var_99", "op": ">", "value": 1}, labels={"team": f"t{i % 5}"})
             for i in range(RULES)]
    db.session.add_all(rules)
    db.session.flush()
    rows = []
    for i in range(INSTANCES):
        rule = rules[i % RULES]
        labels = {"alertname": rule.name, "team": rule.labels["team"], "venue": f"V{i % 12}", "desk": f"d{i % 7}"}
        at = now - timedelta(minutes=rng.randint(1, 60 * 24 * 30))
        rows.append(AlertInstance(rule_id=rule.id, fingerprint=fingerprint(labels), labels=labels,
                                  severity=rule.severity, state="firing" if i % 4 else "normal", episode=1,
                                  value=rng.random() * 2, summary=f"{rule.name} on V{i % 12}", state_since=at,
                                  pending_since=at, firing_since=at, updated_at=at,
                                  acknowledged_at=at if i % 3 == 0 else None,
                                  acknowledged_by="risk1" if i % 3 == 0 else None))
    db.session.add_all(rows)
    db.session.flush()
    kinds = ("pending", "firing", "recovering", "normal", "ack", "note")
    events = [{"instance_id": rows[i % INSTANCES].id, "rule_id": rows[i % INSTANCES].rule_id,
               "at": now - timedelta(seconds=rng.randint(1, 30 * 86400)), "kind": kinds[i % len(kinds)],
               "from_state": "pending", "to_state": "firing", "episode": 1, "value": 1.0, "actor": "system",
               "note": ""} for i in range(EVENTS)]
    for start in range(0, EVENTS, 10_000):
        db.session.execute(AlertEvent.__table__.insert(), events[start:start + 10_000])
    db.session.execute(EngineEvent.__table__.insert(), [
        {"engine_id": "paper-1", "event_id": f"e{i}", "ts": now - timedelta(seconds=rng.randint(1, 30 * 86400)),
         "level": ("info", "info", "info", "warning")[i % 4], "kind": "venue_latency", "message": "slow",
         "data": {}} for i in range(ENGINE_EVENTS)])
    db.session.execute(Job.__table__.insert(), [
        {"id": str(uuid.uuid4()), "job_type": "stress", "params": {}, "state": "failed", "progress": 0.0,
         "message": "", "log": "", "queue": "default", "attempts": 1, "created_by": "risk1",
         "created_at": now - timedelta(days=1), "finished_at": now - timedelta(seconds=rng.randint(1, 30 * 86400))}
        for _ in range(JOBS)])
    db.session.commit()
    open_ids = [r.id for r in rows if r.state == "firing"][:200]
    return incidents.create("risk1", "risk", "Benchmark incident", "critical", open_ids).id


def measure(backend: str) -> list[tuple[str, float]]:
    from dashapp.services.alerts import history, inbox, postmortem, timeline

    with scratch_app(backend):
        incident_id = seed()
        matcher = inbox.make_filter(labels="venue=~V1.*, team!=t0", text="rule_1")
        cases = [
            ("inbox, no filter (1,500 open)", lambda: inbox.list_alerts()),
            ("inbox, label matchers + text", lambda: inbox.list_alerts(matcher)),
            ("inbox grouped by team, venue", lambda: inbox.group_rows(inbox.list_alerts(), ["team", "venue"])),
            ("navbar counts", inbox.navbar_counts),
            ("history: 7 days, rule + labels, page 1", lambda: history.search(rule="rule_3", labels="venue=V3")),
            ("history: 30 days, page 5 of everything", lambda: history.search(
                start=(inbox.utcnow() - timedelta(days=30)).isoformat(), page=5)),
            ("incident timeline (200 alerts)", lambda: timeline.build(incident_id)),
            ("postmortem Markdown", lambda: postmortem.markdown(incident_id)),
            ("postmortem PDF", lambda: postmortem.pdf(incident_id)),
        ]
        out = []
        for name, fn in cases:
            fn()  # a first call (plans, caches)
            out.append((name, median_time(fn)))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="both", choices=("sqlite", "postgresql", "both"))
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = {backend: measure(backend) for backend in backends}
    names = [name for name, _ in results[backends[0]]]
    lines = ["| Query | " + " | ".join(f"{b} (ms)" for b in backends) + " |", "| --- |" + " ---: |" * len(backends)]
    for index, name in enumerate(names):
        lines.append(f"| {name} | " + " | ".join(f"{results[b][index][1] * 1000:,.1f}" for b in backends) + " |")
    body = (f"{machine()}, load average {os.getloadavg()[0]:.1f} when it ended\n\n"
            f"Store: {RULES} rules, {INSTANCES:,} instances, {EVENTS:,} alert events, "
            f"{ENGINE_EVENTS:,} engine events, {JOBS:,} failed jobs, one incident with 200 alerts. Median of 5 "
            "after a first call.\n\n" + "\n".join(lines))
    # Printed, not written: docs/BENCHMARKS.md is appended to by hand (several writers share it).
    print(body)


if __name__ == "__main__":
    main()
