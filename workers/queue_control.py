"""The broker-side controls the runbooks' queue actions use (dashapp.services.ops.runbook_actions.
QueueControl), done with Celery: remote control commands to every worker, and the broker's own purge.
Replies are bounded by a short timeout, so an action never waits on a worker that does not answer."""
from __future__ import annotations

from celery import Celery

from workers.celery_app import QUEUES, current_celery, current_job_port

REPLY_TIMEOUT = 2.0


class CeleryQueueControl:
    def __init__(self, app: Celery, timeout: float = REPLY_TIMEOUT):
        self.app = app
        self.timeout = timeout

    @staticmethod
    def _check(queue: str) -> str:
        if queue not in QUEUES:
            raise ValueError(f"queue {queue!r} is not one of {', '.join(QUEUES)}")
        return queue

    def depth(self, queue: str) -> int | None:
        try:
            from workers.queue_depth import queue_depths
        except ImportError:  # the operations health module is not there: the dry run says "unknown"
            return None
        return queue_depths(self.app, [self._check(queue)]).get(queue)

    def consumers(self, queue: str) -> list[str] | None:
        """Workers consuming `queue` now; None when none could be asked."""
        try:
            replies = self.app.control.inspect(timeout=self.timeout).active_queues() or {}
        except Exception:
            return None
        return sorted(node for node, queues in replies.items()
                      if any(q.get("name") == self._check(queue) for q in queues or []))

    @staticmethod
    def _lines(replies) -> list[str]:
        out = []
        for reply in replies or []:
            for node, answer in reply.items():
                out.append(f"{node}: {answer.get('ok') or answer.get('error') or answer}")
        return out

    def drain(self, queue: str) -> list[str]:
        return self._lines(self.app.control.cancel_consumer(self._check(queue), reply=True, timeout=self.timeout))

    def resume(self, queue: str) -> list[str]:
        return self._lines(self.app.control.add_consumer(self._check(queue), reply=True, timeout=self.timeout))

    def purge(self, queue: str) -> int:
        with self.app.connection_for_write() as connection:
            return int(connection.default_channel.queue_purge(self._check(queue)) or 0)


def current_ports() -> tuple[CeleryQueueControl, object]:
    """(queue control, job port) for the current Flask app's broker (what the web layer passes)."""
    return CeleryQueueControl(current_celery()), current_job_port()
