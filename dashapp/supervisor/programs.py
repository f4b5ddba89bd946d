"""The processes `dashapp up` supervises: one `Program` each, in one list.

This is the single place to add a process. The paper engine is not started by supervisord on its
own (`autostart=False`, `autorestart=False`): the engine supervisor (`dashapp engine supervise`)
reconciles it to the desired state stored in the database through `dashapp.supervisor.start("engine")`
/ `stop("engine")`, and starts it again after a crash. Two restarters would fight over a stop.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Program:
    name: str
    argv: tuple[str, ...]
    autostart: bool = True
    autorestart: bool = True  # False: supervisord leaves an exited program down (someone else decides)
    startsecs: int = 3  # up this long = RUNNING; dying sooner counts as a failed start
    startretries: int = 5  # failed starts in a row before supervisord gives up (FATAL)
    stopwaitsecs: int = 20  # after SIGTERM, wait this long before SIGKILL
    priority: int = 500  # lower starts first and stops last
    nice: int = 0  # CPU niceness: background work yields to the web process and the engine

    @property
    def command(self) -> tuple[str, ...]:
        # `nice` execs the program: supervisord still signals the program itself.
        return ("nice", "-n", str(self.nice), *self.argv) if self.nice else self.argv


ENGINE_STOP_WAIT = 20  # the engine cancels its working orders and reports "stopped" before it exits


def _dashapp(*args: str) -> tuple[str, ...]:
    # The interpreter that runs `dashapp up` runs the children too, so a venv needs no activation.
    return (sys.executable, "-m", "dashapp.cli", *args)


def numbered(role: str, count: int) -> list[str]:
    """Program names of one role: `web` alone, or `web-1` .. `web-N` when there are several."""
    return [role] if count == 1 else [f"{role}-{i}" for i in range(1, count + 1)]


def programs(web: int = 1, workers: int = 1, port: int | None = None) -> list[Program]:
    """Everything `dashapp up` runs. Each child is a `dashapp` sub-command, so what runs under
    supervisord is exactly what an operator runs by hand on a bigger deployment.

    `web` processes listen on consecutive ports from `port` (a load balancer goes in front of them;
    sessions are signed cookies with the shared SECRET_KEY, pushes fan out through Redis), and
    `workers` Celery workers consume the same queues under distinct node names. Beat runs once."""
    if web < 1 or workers < 1:
        raise ValueError("at least one web process and one worker")
    webs = [Program(name, _dashapp("web", *(("--port", str(port + i)) if port is not None and web > 1 else ())),
                    priority=100, startsecs=2)
            for i, name in enumerate(numbered("web", web))]
    # A running task gets the stop wait to finish before the worker is killed.
    # Jobs and schedules yield the CPU to pages and the engine on a small machine.
    celery_workers = [Program(name, _dashapp("worker", *(("-n", f"{name}@%h") if workers > 1 else ())),
                              stopwaitsecs=30, priority=200, nice=5)
                      for name in numbered("worker", workers)]
    return [
        *webs,
        *celery_workers,
        Program("beat", _dashapp("beat"), stopwaitsecs=10, priority=300, nice=5),
        # Alert rules every second (and at once on breaches and faults), then notifications.
        Program("alerter", _dashapp("alerts", "run"), stopwaitsecs=15, priority=350),
        # Started, stopped and restarted only by the engine supervisor, after the desired state.
        Program("engine", _dashapp("engine", "run"), autostart=False, autorestart=False,
                stopwaitsecs=ENGINE_STOP_WAIT, priority=400),
        # Stops first (highest priority number), so it never starts the engine again during a shutdown.
        Program("engine-supervisor", _dashapp("engine", "supervise"), stopwaitsecs=ENGINE_STOP_WAIT + 10,
                priority=500),
    ]
