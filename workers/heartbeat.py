"""A side thread that keeps a running job's heartbeat fresh, so the reaper can tell a live job
(even one whose handler reports no progress for minutes) from one whose worker died."""
from __future__ import annotations

import logging
import threading

from dashapp.services import jobs

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, server, job_id: str, attempt: int, interval: float):
        self.server, self.job_id, self.attempt, self.interval = server, job_id, attempt, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id[:8]}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _beat(self) -> None:
        from dashapp.extensions import db

        while not self._stop.wait(self.interval):
            try:
                with self.server.app_context():
                    alive = jobs.heartbeat(self.job_id, self.attempt)
                    db.session.remove()
            except Exception as exc:  # a missed beat is not fatal; the next one may get through
                log.warning("heartbeat for job %s failed: %s", self.job_id, exc)
                continue
            if not alive:
                return
