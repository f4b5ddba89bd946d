"""A running job's side thread. It keeps the heartbeat fresh, so the reaper can tell a live job
(even one whose handler reports no progress for minutes) from one whose worker died, and it
carries out a cancel inside the worker process.

Why a cancel is carried out here rather than with Celery's `revoke(terminate=True)`
(docs/DECISIONS.md D22): on the embedded broker the prefork pool is billiard's blocking pool,
where all pool children send their results through one shared pipe guarded by one
process-shared semaphore. A child sent SIGTERM at the wrong moment dies holding that semaphore,
and every other child then hangs at its next job (seen in 5 of 13 runs of the cancel test).
So the thread polls the job row about once a second. When the attempt is no longer live
(canceled, reaped or replaced), it raises `JobInterrupted` in the handler's thread, which stops
at its next Python line. If the handler is stuck in native code and still has not stopped
`cancel_grace` seconds later, the thread kills its own process. At that moment the main thread
is inside the handler and holds no pool lock. The pool then replaces the child, and the message
is handed back and skipped, because the job is already canceled.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import threading
import time

from dashapp.services import jobs

log = logging.getLogger(__name__)


def _raise_in_thread(thread_id: int, exc_type: type[BaseException] | None) -> None:
    """Schedule `exc_type` in another thread at its next Python line (None: drop one pending)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exc_type) if exc_type else ctypes.c_void_p(0))


class Heartbeat:
    def __init__(self, server, job_id: str, attempt: int, interval: float, cancel_grace: float = 10.0):
        self.server, self.job_id, self.attempt, self.interval = server, job_id, attempt, interval
        self.cancel_grace = cancel_grace
        self.poll = min(interval, 1.0)  # how soon a cancel is noticed; a read, cheaper than a beat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"heartbeat-{job_id[:8]}", daemon=True)
        self._lock = threading.Lock()  # guards the two fields below, shared with the handler's thread
        self._handler_thread: int | None = None  # set while the handler runs
        self._interrupted_at: float | None = None

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.poll + 5)

    @contextlib.contextmanager
    def interruptible(self):
        """The window in which a cancel may interrupt the calling thread (jobs.run's handler call)."""
        me = threading.get_ident()
        with self._lock:
            if self._interrupted_at is not None:
                raise jobs.JobAborted(f"job {self.job_id} is no longer this attempt's to run")
            self._handler_thread = me
        try:
            yield
        finally:
            while True:  # an interrupt may land right here, once; it is not wanted past this point
                try:
                    with self._lock:
                        self._handler_thread = None
                        if self._interrupted_at is not None:
                            _raise_in_thread(me, None)
                    break
                except jobs.JobInterrupted:
                    continue

    def _watch(self) -> None:
        next_beat = time.monotonic() + self.interval
        while not self._stop.wait(self.poll):
            if self._interrupted_at is not None:
                self._escalate()
                continue
            beat = time.monotonic() >= next_beat
            try:
                live = self._check(beat)
            except Exception as exc:  # a missed beat is not fatal; the next one may get through
                log.warning("heartbeat for job %s failed: %s", self.job_id, exc)
                continue
            if beat:
                next_beat = time.monotonic() + self.interval
            if not live:
                self._interrupt()

    def _check(self, beat: bool) -> bool:
        from dashapp.extensions import db

        with self.server.app_context():
            try:
                return jobs.heartbeat(self.job_id, self.attempt) if beat else \
                    jobs.attempt_is_live(self.job_id, self.attempt)
            finally:
                db.session.remove()

    def _interrupt(self) -> None:
        with self._lock:
            self._interrupted_at = time.monotonic()
            if self._handler_thread is not None:
                log.info("job %s is no longer this attempt's to run: interrupting its handler", self.job_id)
                _raise_in_thread(self._handler_thread, jobs.JobInterrupted)

    def _escalate(self) -> None:
        """The last resort for a handler that does not come back to Python: end this process,
        when it is a pool child the worker replaces (never a solo worker, nor a test process)."""
        if time.monotonic() - self._interrupted_at < self.cancel_grace:
            return
        with self._lock:
            self._stop.set()
            if self._handler_thread is None:
                return
            if not _in_pool_child():
                log.warning("job %s: its handler did not stop within %g s of the job's end, and this is "
                            "not a pool child that can be replaced: it runs on to its time limit",
                            self.job_id, self.cancel_grace)
                return
            line = (f"the handler did not stop within {self.cancel_grace:g} s of the job's end (canceled "
                    f"or reaped); its worker process (pid {os.getpid()}) was killed")
            with contextlib.suppress(Exception), self.server.app_context():
                jobs.note(self.job_id, line)
            log.warning("job %s: %s", self.job_id, line)
            os.kill(os.getpid(), signal.SIGKILL)


def _in_pool_child() -> bool:
    from billiard.process import current_process

    return current_process().name.startswith("ForkPoolWorker")  # billiard's name for prefork children
