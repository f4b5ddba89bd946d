"""A small client for supervisord's XML-RPC interface on the instance's unix socket.

This is what the engine supervisor (`dashapp engine supervise`) uses to reconcile the paper engine
to its desired state: `status()` tells what runs, `start(name)` / `stop(name)` are idempotent.
"""
from __future__ import annotations

import socket
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

from supervisor.xmlrpc import Faults, SupervisorTransport, UnixStreamHTTPConnection

from dashapp.supervisor.config import Paths

RUNNING_STATES = ("STARTING", "RUNNING", "BACKOFF", "STOPPING")
BAD_STATES = ("BACKOFF", "EXITED", "FATAL", "UNKNOWN")


class SupervisorError(RuntimeError):
    """supervisord refused or failed an action; the message says which and why."""


class SupervisorUnavailable(SupervisorError):
    """Nothing answers on the instance's supervisord socket (is `dashapp up` running?)."""


@dataclass(frozen=True)
class ProgramStatus:
    name: str
    state: str  # STOPPED STARTING RUNNING BACKOFF STOPPING EXITED FATAL UNKNOWN
    pid: int  # 0 when not running
    description: str  # supervisord's words: "pid 123, uptime 0:01:02", "Exited too quickly ..."
    exitstatus: int

    @property
    def running(self) -> bool:
        return self.state == "RUNNING"


class _Connection(UnixStreamHTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socketfile)


class _Transport(SupervisorTransport):
    """supervisor's own transport, with a timeout so a wedged supervisord cannot hang a caller."""

    def __init__(self, socket_path: Path, timeout: float):
        super().__init__(None, None, f"unix://{socket_path}")

        def connect():
            conn = _Connection("localhost", timeout=timeout)
            conn.socketfile = str(socket_path)
            return conn

        self._get_connection = connect


class Supervisor:
    """Talks to the supervisord started by `dashapp up` for one instance directory."""

    def __init__(self, instance_dir: Path | str, timeout: float = 10.0):
        self.paths = Paths(Path(instance_dir))
        self.timeout = timeout

    def _rpc(self, method: str, *args):
        proxy = xmlrpc.client.ServerProxy("http://localhost", transport=_Transport(self.paths.socket, self.timeout))
        try:
            return getattr(proxy.supervisor, method)(*args)
        except xmlrpc.client.Fault:
            raise
        except (OSError, xmlrpc.client.ProtocolError) as exc:
            raise SupervisorUnavailable(f"supervisord is not answering on {self.paths.socket}: {exc}") from exc

    def available(self) -> bool:
        try:
            return self._rpc("getState")["statename"] == "RUNNING"
        except SupervisorError:
            return False

    def pid(self) -> int:
        return int(self._rpc("getPID"))

    def status(self) -> dict[str, ProgramStatus]:
        """Every program's state, by name, in supervisord's order."""
        return {
            info["name"]: ProgramStatus(info["name"], info["statename"], int(info["pid"]), info["description"],
                                        int(info["exitstatus"]))
            for info in self._rpc("getAllProcessInfo")
        }

    def start(self, name: str, wait: bool = True) -> ProgramStatus:
        """Start a program; already running is fine. Raises SupervisorError when it cannot start."""
        try:
            self._rpc("startProcess", name, wait)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != Faults.ALREADY_STARTED:
                raise SupervisorError(f"cannot start {name}: {fault.faultString}") from fault
        return self.status()[name]

    def stop(self, name: str, wait: bool = True) -> ProgramStatus:
        """Stop a program (SIGTERM, then SIGKILL after its stop wait); already stopped is fine."""
        try:
            self._rpc("stopProcess", name, wait)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != Faults.NOT_RUNNING:
                raise SupervisorError(f"cannot stop {name}: {fault.faultString}") from fault
        return self.status()[name]

    def restart(self, name: str) -> ProgramStatus:
        self.stop(name)
        return self.start(name)

    def tail(self, name: str, length: int = 2000) -> str:
        """The end of a program's log (stdout and stderr together)."""
        try:
            text, _offset, _overflow = self._rpc("tailProcessStdoutLog", name, 0, length)
        except xmlrpc.client.Fault as fault:
            raise SupervisorError(f"cannot read the log of {name}: {fault.faultString}") from fault
        return text

    def shutdown(self) -> None:
        """Ask supervisord to stop every program and exit."""
        self._rpc("shutdown")
