"""Operations data for pictures and manual looks: live heartbeats (this web process and a worker that
beat from threads), a worker that went silent, task runs, and a day of SLO samples with an incident."""
from __future__ import annotations

from datetime import timedelta

import numpy as np


def seed_screenshot_ops(server) -> list:
    """Call inside an app context; returns the heartbeat threads (daemons) so a caller may stop them."""
    import sqlalchemy as sa

    from dashapp.extensions import db
    from dashapp.ops_web import start_heartbeat
    from dashapp.services.ops import slo, task_history
    from dashapp.services.ops.heartbeats import HeartbeatThread, record
    from models import ServiceHeartbeat, utcnow

    now = utcnow()
    record("worker", "worker-2@desk", {"queues": ["reports"]})
    db.session.execute(sa.update(ServiceHeartbeat).where(ServiceHeartbeat.instance == "worker-2@desk")
                       .values(beat_at=now - timedelta(minutes=3)))
    db.session.commit()
    threads = [start_heartbeat(server),
               HeartbeatThread(server, "worker", "worker-1@desk", 2.0,
                               lambda: {"queues": ["default", "jobs", "reports"], "concurrency": 2}).start(),
               HeartbeatThread(server, "beat", "desk", 2.0, lambda: {}).start(),
               HeartbeatThread(server, "engine-supervisor", "desk", 2.0, lambda: {"engine_id": "paper-1"}).start()]
    for i, (name, state) in enumerate([("workers.tasks.monitor_risk", "SUCCESS"), ("workers.tasks.run_job", "SUCCESS"),
                                       ("workers.tasks.reap_stale_jobs", "SUCCESS"), ("workers.tasks.run_job", "FAILURE"),
                                       ("workers.tasks.run_report_schedules", "SUCCESS")] * 3):
        task_id = f"screens-{i:03d}"
        task_history.record_start(task_id, name, "jobs" if name.endswith("run_job") else "default", "worker-1@desk",
                                  '{"args": [], "kwargs": {}}', 0, None)
        task_history.record_end(task_id, state, "RuntimeError: the export's source table was locked"
                                if state == "FAILURE" else None)
    rng = np.random.default_rng(12)
    minute = now.replace(second=0, microsecond=0)
    rows = []
    for m in range(24 * 60):
        at = minute - timedelta(minutes=m)
        total = int(rng.integers(40, 80))
        bad_share = 0.03 if 200 <= m <= 230 else 0.0005  # an incident three and a half hours ago
        bad = int(rng.binomial(total, bad_share))
        for key in ("api-availability", "control-availability", "api-latency", "push-availability"):
            rows.append((key, at, total - bad, total))
    slo.add_counts(rows)
    return threads
