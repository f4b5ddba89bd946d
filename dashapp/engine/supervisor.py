"""The engine supervisor: reconciles the paper engine's process to the desired state in the store.

Every second it reads what the cockpit wants (running / stopped, restart generation) and what
supervisord reports for the `engine` program, and acts: start it, stop it, restart it, or start it
again after a crash. A dead engine cannot say it died, so this loop also writes the engine's actual
state (stopped / crashed) to the store; a live engine reports itself through its heartbeats."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from dashapp.supervisor.control import SupervisorUnavailable

log = logging.getLogger("cockpit.engine.supervisor")
DOWN_STATES = ("STOPPED", "EXITED", "FATAL", "BACKOFF", "UNKNOWN")
MAX_CRASH_BACKOFF = 60.0  # seconds between starts of an engine that keeps crashing before it ever runs
UP_STATES = ("RUNNING", "STARTING")


@dataclass(frozen=True)
class Decision:
    action: str  # none | start | stop | restart
    report: str | None  # actual status to record when the engine cannot report itself
    why: str


def decide(desired: str, generation: int, seen_generation: int | None, program_state: str,
           expected_stop: bool) -> Decision:
    """Pure reconciliation rule (tested on its own).

    `expected_stop` is True when this supervisor stopped the program itself, so an EXITED/STOPPED
    program is a stop, not a crash."""
    if desired == "stopped":
        if program_state in UP_STATES:
            return Decision("stop", None, "desired stopped, process up")
        return Decision("none", "stopped", "desired stopped, process down")
    if program_state == "BACKOFF":  # supervisord is already retrying a failed start
        return Decision("none", "crashed", "process failed to start: supervisord is retrying")
    if program_state in DOWN_STATES:
        crashed = program_state in ("EXITED", "FATAL", "BACKOFF") and not expected_stop
        return Decision("start", "crashed" if crashed else "stopped",
                        "process crashed: starting it again" if crashed else "desired running: starting")
    if seen_generation is not None and generation != seen_generation and program_state == "RUNNING":
        return Decision("restart", None, f"restart requested (generation {generation})")
    return Decision("none", None, "in step")


class EngineSupervisor:
    def __init__(self, server, processes, engine_id: str = "paper-1", program: str = "engine"):
        self.server, self.processes, self.engine_id, self.program = server, processes, engine_id, program
        self.seen_generation: int | None = None
        self.expected_stop = False
        self.restarts = 0
        self.backoff = 0.0  # doubles with each crash in a row; back to 0 once the engine reports running
        self.hold_until = 0.0
        self.stopping = threading.Event()  # set (e.g. from a SIGTERM handler) to leave run_forever

    def step(self) -> Decision:
        from dashapp.extensions import db
        from dashapp.realtime import publish
        from dashapp.services import controls

        with self.server.app_context():
            view = controls.engine_view(self.engine_id)
            program = self.processes.status()[self.program]
            state = program.state
            # A clean exit (status 0) is the engine obeying a stop or a restart request, not a crash;
            # and a process that is down while desired stopped stays a stop when it is started again.
            self.expected_stop = self.expected_stop or (state == "EXITED" and program.exitstatus == 0)
            decision = decide(view.desired, view.generation, self.seen_generation, state, self.expected_stop)
            if view.desired == "stopped" and decision.action == "none":
                self.expected_stop = True
            decision = self._hold_crash_loop(decision, view.actual)
            if decision.report and view.actual not in (decision.report,):
                controls.record_engine_down(self.engine_id, decision.report, decision.why)
            db.session.remove()
        if decision.action != "none":
            log.info("engine %s: %s (%s)", self.engine_id, decision.action, decision.why)
            self._apply(decision.action)
            with self.server.app_context():
                publish("engine", {"engine_id": self.engine_id, "action": decision.action, "why": decision.why})
        self.seen_generation = view.generation
        return decision

    def _hold_crash_loop(self, decision: Decision, actual: str) -> Decision:
        """An engine that crashes at every start (no token, cockpit refusing it) is started again after
        1, 2, 4 ... 60 s, not every second; one that ran (reported 'running') is started at once."""
        if actual == "running":
            self.backoff = 0.0
        if decision.action != "start" or decision.report != "crashed":
            return decision
        now = time.monotonic()
        if now < self.hold_until:
            return Decision("none", "crashed", f"crashed again: next start in {self.hold_until - now:.0f} s")
        self.hold_until = now + self.backoff
        if self.backoff:
            log.warning("engine %s keeps crashing: the next crash waits %.0f s (see engine.log)",
                        self.engine_id, self.backoff)
        self.backoff = min(max(1.0, 2 * self.backoff), MAX_CRASH_BACKOFF)
        return decision

    def _apply(self, action: str) -> None:
        if action == "stop":
            self.expected_stop = True
            self.processes.stop(self.program)
        elif action == "start":
            if not self.expected_stop:
                self.restarts += 1
            self.expected_stop = False
            self.processes.start(self.program, wait=False)
        elif action == "restart":
            self.expected_stop = True
            self.processes.stop(self.program)
            self.expected_stop = False
            self.processes.start(self.program, wait=False)

    def run_forever(self, interval: float = 1.0) -> None:
        """Reconcile every `interval` seconds until `stopping` is set. supervisord not answering (yet:
        it starts this process before its socket is sure to be up, or it is restarting) is waited out."""
        unavailable = False
        beat = self._heartbeat()
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                self.step()
                if unavailable:
                    log.info("supervisord answers again")
                unavailable = False
            except SupervisorUnavailable as exc:
                if not unavailable:
                    log.warning("waiting for supervisord: %s", exc)
                unavailable = True
            except Exception:  # keep supervising: a failed round is retried next second
                log.exception("engine supervisor round failed")
            self.stopping.wait(max(0.0, interval - (time.monotonic() - started)))
        beat.stop(mark_stopped=True)

    def _heartbeat(self):
        """This process's row on the Operations page (services/ops/heartbeats.py), beaten from a thread."""
        from dashapp.services.ops.heartbeats import HeartbeatThread, host, timing

        settings = self.server.config["COCKPIT_SETTINGS"]
        return HeartbeatThread(self.server, "engine-supervisor", host(), timing(settings).interval,
                               lambda: {"engine_id": self.engine_id, "restarts": self.restarts}).start()
