"""The Celery application, configured from Settings: Redis when REDIS_URL is set, otherwise an
embedded broker that needs no server (kombu's filesystem transport + a SQLite result backend).

`create_celery(settings)` builds a configured app (no import-time side effects); `workers.main`
holds the one the `celery` command line loads. Web processes reach the app through
`current_celery()`, and the job service through `CeleryJobPort` (submit, revoke, who runs what).
"""
from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

from celery import Celery, Task
from kombu import Exchange, Queue

from dashapp.config import Settings

# Queues the workers consume. Heavy job families get their own queue so they can be scaled apart.
QUEUES = ("default", "jobs", "reports")

RUN_JOB = "workers.tasks.run_job"
REAP_STALE_JOBS = "workers.tasks.reap_stale_jobs"
LAUNCH_SCHEDULED_JOB = "workers.tasks.launch_scheduled_job"
RUN_REPORT_SCHEDULES = "workers.tasks.run_report_schedules"
MONITOR_RISK = "workers.tasks.monitor_risk"


def broker_urls(settings: Settings) -> tuple[str, str, dict]:
    """(broker_url, result_backend, broker_transport_options) for these settings."""
    if settings.redis_url:
        # The visibility timeout outlasts the longest job (export: 1860 s), so a running job is never
        # handed out twice; a message a dead or disconnected worker held is re-sent sooner by the reaper.
        # Short socket timeouts and a health check let a worker notice a restarted Redis and reconnect.
        return settings.redis_url, settings.redis_url, {
            "visibility_timeout": 3600, "socket_connect_timeout": 4, "socket_keepalive": True,
            "health_check_interval": 10, "retry_on_timeout": True}
    root = Path(settings.instance_dir) / "broker"
    folders = {name: root / name for name in ("queue", "control", "processed")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    options = {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "control_folder": str(folders["control"]),
        "processed_folder": str(folders["processed"]),
    }
    return "filesystem://", f"db+sqlite:///{Path(settings.instance_dir) / 'celery-results.sqlite'}", options


def broker_problem(settings: Settings) -> str | None:
    """None when the broker answers; otherwise what is wrong, in one line."""
    if settings.redis_url:
        import redis

        try:
            redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1).ping()
            return None
        except Exception as exc:  # a probe reports, it does not raise
            return f"redis at {settings.redis_url.split('@')[-1]}: {exc}"[:200]
    queue = Path(settings.instance_dir) / "broker" / "queue"
    try:
        queue.mkdir(parents=True, exist_ok=True)
        probe = queue / ".probe"
        probe.write_text("ok")
        probe.unlink()
        return None
    except OSError as exc:
        return f"embedded broker folder {queue}: {exc}"


def worker_option(settings: Settings, name: str, default: str) -> str:
    """A worker tuning knob: `settings.extra[name]`, else env `COCKPIT_<NAME>`, else the default.
    (Kept here until Settings grows real fields for them.)"""
    return str(settings.extra.get(name) or os.environ.get(f"COCKPIT_{name.upper()}") or default)


def heartbeat_seconds(settings: Settings) -> float:
    return float(worker_option(settings, "job_heartbeat_seconds", "10"))


def cancel_grace_seconds(settings: Settings) -> float:
    """How long a canceled handler may run on before its worker process is killed (workers.heartbeat)."""
    return float(worker_option(settings, "job_cancel_grace_seconds", "10"))


def requeue_after_seconds(settings: Settings) -> float:
    """How long a queued job no live worker holds waits before the reaper sends it again."""
    return float(worker_option(settings, "requeue_after_seconds", "300"))


class FlaskTask(Task):
    """Runs each task inside a Flask app context (unless one is open already, e.g. eager calls in
    tests). The Flask server is built lazily, once per worker process, from the Celery app's settings."""

    abstract = True

    def __call__(self, *args, **kwargs):
        from flask import has_app_context

        if has_app_context():
            return super().__call__(*args, **kwargs)
        with flask_server(self.app).app_context():
            return super().__call__(*args, **kwargs)


_servers: dict[int, object] = {}
_servers_lock = threading.Lock()


def flask_server(celery_app: Celery):
    """The Flask server this process uses for `celery_app`'s tasks (built on first use)."""
    with _servers_lock:
        server = _servers.get(id(celery_app))
        if server is None:
            from dashapp import create_server

            server = create_server(celery_app.cockpit_settings)
            _servers[id(celery_app)] = server
        return server


def _dispose_inherited_engines(**_) -> None:
    """A forked pool child must not share the parent's database sockets (SQLAlchemy's advice)."""
    from dashapp.extensions import db

    for server in list(_servers.values()):
        with server.app_context():
            db.engine.dispose(close=False)


def risk_period(settings: Settings) -> float:
    return float(worker_option(settings, "risk_monitor_every_seconds", "5"))


def beat_schedule(settings: Settings) -> dict:
    """Both entries are cheap: the reaper is one indexed query (plus a broadcast `inspect active`
    only when a running job has gone quiet), the health check a job of a few tens of milliseconds."""
    reap = float(worker_option(settings, "reap_every_seconds", "60"))
    check = float(worker_option(settings, "health_check_every_seconds", "300"))
    reports = float(worker_option(settings, "report_schedules_every_seconds", "30"))
    risk = risk_period(settings)
    retention = float(worker_option(settings, "retention_every_seconds", "86400"))
    shadow = float(worker_option(settings, "model_shadow_every_seconds", "300"))
    return {
        "reap-stale-jobs": {"task": REAP_STALE_JOBS, "schedule": reap, "options": {"expires": reap}},
        "health-check": {"task": LAUNCH_SCHEDULED_JOB, "schedule": check, "args": ("health_check", None, check),
                         "options": {"expires": check}},
        # Due report schedules -> report jobs, and delivery retries (dashapp.services.schedules/delivery).
        "report-schedules": {"task": RUN_REPORT_SCHEDULES, "schedule": reports, "options": {"expires": reports}},
        # Limits are measured and breach actions taken whether or not anyone has the Risk page open
        # (a full refresh of the demo book is ~30 ms); a tick that waited too long is dropped.
        "risk-monitor": {"task": MONITOR_RISK, "schedule": risk, "options": {"expires": risk}},
        # Retention policies (archive to Parquet, then delete; legal holds win), once a day (D85).
        "retention": {"task": LAUNCH_SCHEDULED_JOB, "schedule": retention,
                      "args": ("retention", None, retention), "options": {"expires": 3600}},
        # Champion and challenger on the newest bars, recorded in shadow (docs/MODELS.md, D77).
        "model-shadow": {"task": LAUNCH_SCHEDULED_JOB, "schedule": shadow, "args": ("model_shadow", None, shadow),
                         "options": {"expires": shadow}},
    }


def create_celery(settings: Settings) -> Celery:
    broker, backend, transport_options = broker_urls(settings)
    if settings.redis_url:
        prefix = worker_option(settings, "redis_key_prefix", "")
        if prefix:  # several cockpits (or test runs) sharing one Redis keep apart
            transport_options = {**transport_options, "global_keyprefix": prefix}
    else:
        transport_options = {**transport_options, "polling_interval": 0.2}
    app = Celery("cockpit", broker=broker, backend=backend, task_cls=FlaskTask, set_as_current=False)
    app.cockpit_settings = settings
    app.conf.update(
        # filesystem:// through workers.broker, which hands message files over atomically.
        broker_transport=None if settings.redis_url else "workers.broker:Transport",
        broker_transport_options=transport_options,
        result_backend_transport_options=({"global_keyprefix": transport_options["global_keyprefix"]}
                                          if "global_keyprefix" in transport_options else {}),
        broker_connection_retry_on_startup=True,
        # A broker outage pauses the workers; they reconnect for as long as it lasts (never give up).
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        broker_connection_timeout=4,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        # A job row is the truth about a job; Celery's own result records are not needed.
        task_ignore_result=True,
        result_expires=timedelta(days=1),
        # At-least-once: a message is acknowledged after the task ends, and a worker that dies
        # mid-task gives its message back. run_job is safe to run twice (it checks the job row).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # How long the pool waits for a dead child's result before declaring it lost (default 10 s);
        # results live in the job row, so waiting only delays the redelivery.
        worker_lost_wait=2.0,
        # A running job needs the database, not the broker: it runs on through a broker outage and
        # its row records the end. (Cancelling it would fail jobs for a blip; its unacked message
        # comes back after the visibility timeout and is skipped as finished: jobs.mark_running.)
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        task_default_queue="default",
        # One direct exchange per queue: a bare Queue(name) would bind every queue to the default
        # exchange with the same key, and each message would land in all of them.
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        task_default_exchange="default",
        task_default_routing_key="default",
        task_routes={RUN_JOB: {"queue": "jobs"}, REAP_STALE_JOBS: {"queue": "default"},
                     LAUNCH_SCHEDULED_JOB: {"queue": "default"}, MONITOR_RISK: {"queue": "default"}},
        imports=("workers.tasks",),
        beat_schedule_filename=str(Path(settings.instance_dir) / "celerybeat-schedule"),
        beat_schedule=beat_schedule(settings),
    )
    from celery.signals import worker_process_init

    worker_process_init.connect(_dispose_inherited_engines, weak=False, dispatch_uid="cockpit-dispose-engines")
    from workers import ops_signals

    ops_signals.connect(app)  # task history rows, worker and beat heartbeats (Operations console)
    return app


_apps: dict[tuple, Celery] = {}
_apps_lock = threading.Lock()


def celery_for(settings: Settings) -> Celery:
    """One Celery app per broker configuration per process (a web process reuses its producer pool)."""
    key = (settings.redis_url, str(settings.instance_dir), worker_option(settings, "redis_key_prefix", ""))
    with _apps_lock:
        if key not in _apps:
            _apps[key] = create_celery(settings)
        return _apps[key]


def current_celery() -> Celery:
    """The Celery app for the current Flask app's settings (what web callbacks use)."""
    from flask import current_app

    return celery_for(current_app.config["COCKPIT_SETTINGS"])


class CeleryJobPort:
    """What the job service needs from a queue (dashapp.services.jobs.JobPort), done with Celery."""

    def __init__(self, app: Celery, inspect_timeout: float = 1.0):
        self.app = app
        self.inspect_timeout = inspect_timeout

    def submit(self, job_id: str, queue: str, soft_time_limit: int, time_limit: int) -> None:
        if queue not in QUEUES:
            raise ValueError(f"queue {queue!r} is not one of {', '.join(QUEUES)}")
        # ignore_result: the job row is the result; without it a Redis result backend subscribes per
        # launch and, while Redis is down, retries for ~20 s before the launch can answer 503.
        self.app.send_task(RUN_JOB, args=[job_id], task_id=job_id, queue=queue, ignore_result=True,
                           soft_time_limit=soft_time_limit, time_limit=time_limit)

    def revoke(self, job_id: str) -> None:
        """Drop the message if no worker has started it. No terminate: a SIGTERM'd pool child can
        hang the pool (D22); the running attempt is stopped by its own worker (workers.heartbeat)."""
        self.app.control.revoke(job_id)

    def active_job_ids(self) -> set[str] | None:
        """Ids of the tasks some live worker is executing; None when the broker cannot be asked."""
        return self._ask("active")

    def active_jobs_by_worker(self) -> dict[str, set[str]] | None:
        """{node name: ids it is running} for the workers that answered within the timeout."""
        return self._ask_each("active")

    def known_job_ids(self) -> set[str] | None:
        """Ids some live worker is executing, holds reserved (prefetched) or holds for later (ETA)."""
        known: set[str] = set()
        for what in ("active", "reserved", "scheduled"):
            ids = self._ask(what)
            if ids is None:
                return None
            known |= ids
        return known

    def queued_job_ids(self) -> set[str] | None:
        """Ids of the job messages waiting in the broker; None when it cannot be read."""
        from workers.broker import waiting_task_ids

        return waiting_task_ids(self.app, QUEUES)

    def _ask(self, what: str) -> set[str] | None:
        by_node = self._ask_each(what)
        return None if by_node is None else set().union(*by_node.values())

    def _ask_each(self, what: str) -> dict[str, set[str]] | None:
        """{node: task ids} from each worker that answered `inspect <what>` in time; None when the
        broker cannot be asked."""
        try:
            replies = getattr(self.app.control.inspect(timeout=self.inspect_timeout), what)()
        except Exception:  # the reaper then relies on heartbeats alone
            return None
        # scheduled() wraps each task as {"request": {...}}; active() and reserved() do not.
        return {node: {(task.get("request") or task)["id"] for task in tasks}
                for node, tasks in (replies or {}).items()}


def current_job_port() -> CeleryJobPort:
    return CeleryJobPort(current_celery())
