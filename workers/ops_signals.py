"""Celery signal handlers for the Operations console: task history rows (task_prerun / postrun /
failure / retry / revoked) and the worker's and beat's heartbeats (worker_ready / worker_shutdown /
beat_init). Connected once per process by `connect(app)` from workers.celery_app.create_celery.

Each handler opens the task app's Flask context itself (signals fire outside the task's own) and never
lets a failure to write history reach the task: it is logged and the task runs on.
"""
from __future__ import annotations

import atexit
import logging
import os

from celery.signals import (beat_init, task_failure, task_postrun, task_prerun, task_retry, task_revoked,
                            worker_ready, worker_shutdown)

from workers.celery_app import RUN_JOB, flask_server

log = logging.getLogger("cockpit.ops.tasks")
_threads: dict[str, object] = {}


def _in_context(app, fn, *args) -> None:
    from flask import has_app_context

    from dashapp.extensions import db

    try:
        if has_app_context():
            fn(*args)
            return
        with flask_server(app).app_context():
            try:
                fn(*args)
            finally:
                db.session.remove()
    except Exception as exc:  # history is a record of the work, never a reason for it to fail
        log.warning("task history not written: %s", f"{type(exc).__name__}: {exc}".splitlines()[0][:200])


def _on_prerun(sender=None, task_id=None, task=None, args=None, kwargs=None, **_):
    from dashapp.services.ops import task_history

    task = task or sender
    request = task.request
    queue = (request.delivery_info or {}).get("routing_key") or ""
    job_id = str(args[0]) if task.name == RUN_JOB and args else None
    _in_context(task.app, task_history.record_start, task_id, task.name, queue, request.hostname or "",
                task_history.summarize_args(args, kwargs), int(request.retries or 0), job_id)


def _on_postrun(sender=None, task_id=None, task=None, state=None, **_):
    from dashapp.services.ops import task_history

    task = task or sender
    if state in ("SUCCESS", "RETRY", "REVOKED") or state is None:
        _in_context(task.app, task_history.record_end, task_id, state or "SUCCESS", None, task.name)
    else:
        _in_context(task.app, task_history.record_end, task_id, "FAILURE", None, task.name)


def _on_failure(sender=None, task_id=None, exception=None, **_):
    from dashapp.services.ops import task_history

    _in_context(sender.app, task_history.record_end, task_id, "FAILURE",
                f"{type(exception).__name__}: {exception}", sender.name)


def _on_retry(sender=None, request=None, reason=None, **_):
    from dashapp.services.ops import task_history

    _in_context(sender.app, task_history.record_end, request.id, "RETRY", f"retry: {reason}", sender.name)


def _on_revoked(sender=None, request=None, terminated=None, signum=None, expired=None, **_):
    from dashapp.services.ops import task_history

    why = "expired" if expired else ("terminated" if terminated else "revoked")
    app = getattr(sender, "app", None)
    if app is None or request is None:
        return
    _in_context(app, task_history.record_end, request.id, "REVOKED", why, getattr(sender, "name", ""))


def _start_heartbeat(app, service: str, instance: str, detail_fn) -> None:
    from dashapp.services.ops.heartbeats import HeartbeatThread, timing

    server = flask_server(app)
    thread = HeartbeatThread(server, service, instance, timing(app.cockpit_settings).interval, detail_fn).start()
    _threads[service] = thread


def _on_worker_ready(sender=None, **_):
    consumer = sender
    app = consumer.app
    try:
        queues = sorted(q.name for q in consumer.task_consumer.queues)
    except Exception:
        queues = []
    concurrency = getattr(getattr(consumer, "controller", None), "concurrency", None)
    pool = type(getattr(consumer, "pool", None)).__module__.rsplit(".", 1)[-1]

    def detail():
        from dashapp.services.ops.dbstats import pool_stats

        return {"queues": queues, "concurrency": concurrency, "pool": pool, "db_pool": pool_stats()}

    _start_heartbeat(app, "worker", consumer.hostname, detail)


def _on_worker_shutdown(sender=None, **_):
    thread = _threads.pop("worker", None)
    if thread is not None:
        thread.stop(mark_stopped=True)


def _on_beat_init(sender=None, **_):
    import socket

    app = sender.app
    schedule = sorted(app.conf.beat_schedule or {})
    _start_heartbeat(app, "beat", socket.gethostname(), lambda: {"entries": schedule, "pid": os.getpid()})
    atexit.register(_stop_beat)


def _stop_beat():
    thread = _threads.pop("beat", None)
    if thread is not None:
        thread.stop(mark_stopped=True)


def connect(app) -> None:
    """Connect the handlers (idempotent: dispatch_uid); `app` is unused, kept for symmetry."""
    for signal, handler in ((task_prerun, _on_prerun), (task_postrun, _on_postrun), (task_failure, _on_failure),
                            (task_retry, _on_retry), (task_revoked, _on_revoked), (worker_ready, _on_worker_ready),
                            (worker_shutdown, _on_worker_shutdown), (beat_init, _on_beat_init)):
        signal.connect(handler, weak=False, dispatch_uid=f"cockpit-ops-{handler.__name__}")
