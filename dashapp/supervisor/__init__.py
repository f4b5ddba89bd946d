"""Process supervision for `dashapp up`, built on supervisord (the `supervisor` package).

`dashapp up` writes a supervisord config into the instance directory (one program per entry of
`programs()`), runs supervisord in the foreground as its child and reports the children's health.
Other code (the engine supervisor, the Operations page) asks the same supervisord through this API:

    from dashapp import supervisor
    supervisor.status()            # {"web": ProgramStatus(state="RUNNING", pid=...), ...}
    supervisor.start("engine")     # idempotent
    supervisor.stop("engine")      # idempotent

The functions default to the instance directory of `Settings.from_env()`.
"""
from __future__ import annotations

from pathlib import Path

from dashapp.supervisor.config import Paths
from dashapp.supervisor.control import (ProgramStatus, Supervisor, SupervisorError,
                                        SupervisorUnavailable)
from dashapp.supervisor.programs import Program, programs

__all__ = ["Paths", "Program", "ProgramStatus", "Supervisor", "SupervisorError", "SupervisorUnavailable",
           "programs", "status", "start", "stop", "client"]


def client(instance_dir: Path | str | None = None, timeout: float = 10.0) -> Supervisor:
    """`timeout` bounds each call; a `stop(wait=True)` needs more than the program's stop wait."""
    if instance_dir is None:
        from dashapp.config import Settings

        instance_dir = Settings.from_env().instance_dir
    return Supervisor(instance_dir, timeout=timeout)


def status(instance_dir: Path | str | None = None) -> dict[str, ProgramStatus]:
    return client(instance_dir).status()


def start(name: str, instance_dir: Path | str | None = None, wait: bool = True) -> ProgramStatus:
    return client(instance_dir).start(name, wait)


def stop(name: str, instance_dir: Path | str | None = None, wait: bool = True) -> ProgramStatus:
    return client(instance_dir).stop(name, wait)
