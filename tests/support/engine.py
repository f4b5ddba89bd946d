"""Run the real paper engine in threads of the test process, supervised by the real
EngineSupervisor through a small process table (what supervisord's XML-RPC gives it in production).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from dashapp.engine.runner import EngineConfig, PaperEngine
from dashapp.supervisor.control import ProgramStatus


@dataclass
class _Slot:
    engine: PaperEngine
    thread: threading.Thread


class EngineThreads:
    """start/stop/status for the program "engine", backed by threads instead of processes."""

    def __init__(self, config: EngineConfig):
        self.config = config
        self.slot: _Slot | None = None
        self.starts = 0

    def status(self) -> dict[str, ProgramStatus]:
        alive = self.slot is not None and self.slot.thread.is_alive()
        state = "RUNNING" if alive else ("EXITED" if self.slot is not None else "STOPPED")
        return {"engine": ProgramStatus("engine", state, 0, "thread", 0)}

    def start(self, name: str, wait: bool = True) -> ProgramStatus:
        engine = PaperEngine(self.config)
        thread = threading.Thread(target=engine.run, name="paper-engine", daemon=True)
        self.slot = _Slot(engine, thread)
        self.starts += 1
        thread.start()
        return self.status()["engine"]

    def stop(self, name: str, wait: bool = True) -> ProgramStatus:
        if self.slot is not None:
            self.slot.engine.stop_requested = True
            self.slot.thread.join(timeout=15)
            self.slot = None
        return self.status()["engine"]


class SupervisedEngine:
    """The engine supervisor's loop in a thread, reconciling EngineThreads to the desired state."""

    def __init__(self, server, config: EngineConfig):
        from dashapp.engine.supervisor import EngineSupervisor

        self.processes = EngineThreads(config)
        self.supervisor = EngineSupervisor(server, self.processes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="engine-supervisor", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.supervisor.step()
            except Exception:  # noqa: BLE001 - the real loop logs and goes on the same way
                pass

    def __enter__(self) -> "SupervisedEngine":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.processes.stop("engine")
