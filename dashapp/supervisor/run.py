"""`dashapp up`: supervisord in the foreground as our child, a health line every few seconds,
and a clean stop of everything on Ctrl-C (SIGINT) or SIGTERM."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from dashapp.config import Settings
from dashapp.supervisor import config
from dashapp.supervisor.control import BAD_STATES, ProgramStatus, Supervisor, SupervisorError
from dashapp.supervisor.programs import programs

PROJECT_DIR = Path(__file__).resolve().parents[2]
# Loopback probes must not go through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def say(text: str = "") -> None:
    print(text, flush=True)


def port_problem(port: int) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError as exc:
            return f"port {port} is not free ({exc.strerror}); set PORT or pass --port"
    return None


def probe_web(port: int, timeout: float = 3.0) -> str:
    """'ready', 'not ready (what failed)' or 'no answer', from GET /readyz."""
    try:
        with _OPENER.open(f"http://127.0.0.1:{port}/readyz", timeout=timeout) as response:
            return "ready" if response.status == 200 else f"readyz {response.status}"
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
            failed = ", ".join(f"{k}: {body[k]}" for k in ("database", "broker") if body.get(k, "ok") != "ok")
        except ValueError:
            failed = ""
        return f"not ready ({failed or exc.code})"
    except (urllib.error.URLError, OSError):
        return "no answer"


def health_line(states: dict[str, ProgramStatus], web: dict[str, str] | str | None) -> str:
    """`web`: each running web program's probe (a bare string is the one program `web`)."""
    web = {"web": web} if isinstance(web, str) else (web or {})
    parts = []
    for name, st in states.items():
        text = f"{name} {st.state}"
        if st.pid:
            text += f" {st.pid}"
        elif st.state in BAD_STATES and st.description:
            text += f" ({st.description[:50]})"
        if name in web:
            text += f" {web[name]}"
        parts.append(text)
    return time.strftime("%H:%M:%S ") + " | ".join(parts)


def _die_with_parent():
    """Runs in the supervisord child before exec: if `dashapp up` is killed outright, the kernel
    sends supervisord SIGTERM, which stops every program, so nothing is left behind."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass


class Up:
    def __init__(self, settings: Settings, interval: float = 5.0, startup_timeout: float = 30.0,
                 web: int = 1, workers: int = 1):
        self.settings = settings
        self.interval = interval
        self.startup_timeout = startup_timeout
        self.paths = config.Paths(settings.instance_dir)
        self.supervisor = Supervisor(settings.instance_dir, timeout=5.0)
        self.programs = programs(web=web, workers=workers, port=settings.port)
        # web program name -> its port (consecutive from PORT; a load balancer goes in front)
        self.web_ports = {name: settings.port + i
                          for i, name in enumerate(p.name for p in self.programs if p.name.startswith("web"))}
        self.stop_requested = threading.Event()
        self.process: subprocess.Popen | None = None
        self.warmup: subprocess.Popen | None = None
        self.last: dict[str, ProgramStatus] = {}

    def problems(self) -> str | None:
        """Why `up` cannot start here (another one runs on this instance, the port is taken)."""
        if self.supervisor.available():
            return (f"a cockpit is already running for {self.settings.instance_dir} "
                    f"(supervisord pid {self.supervisor.pid()}); stop it first")
        for port in self.web_ports.values():
            if problem := port_problem(port):
                return problem
        return None

    def run(self, banner: list[str]) -> int:
        """Start supervisord, print the banner, report health until asked to stop; 0 on a clean stop."""
        handlers = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        result = 1
        try:
            self._start_warmup()
            self._launch()
            if self._wait_for_supervisord():
                say(f"Trading Desk Cockpit is starting: http://127.0.0.1:{self.settings.port}")
                if len(self.web_ports) > 1:
                    others = ", ".join(f"{name} :{port}" for name, port in self.web_ports.items())
                    say(f"  Web:    {others} (put a load balancer in front; any of them serves any session)")
                for line in banner:
                    say(f"  {line}")
                names = ", ".join(f"{p.name}.log" for p in self.programs)
                say(f"  Logs:   {self.paths.logs}/ ({names}, supervisord.log, warmup.log)")
                say("  Ctrl-C stops everything.")
                result = self._monitor()
            else:
                result = 0 if self.stop_requested.is_set() else 1
        finally:
            forced = self._shutdown()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        if forced:
            say("some processes did not stop in time and were killed")
        return result or forced

    def _on_signal(self, signum, _frame):
        self.stop_requested.set()

    def _start_warmup(self) -> None:
        """Fill numba's kernel cache in the background (`dashapp warmup --background`: the engine's
        kernel first, then the rest at the lowest CPU priority). After a fresh clone that compiles
        for a minute or two; web and worker processes wait for it and load (dashapp/warmup.py)."""
        self.paths.logs.mkdir(parents=True, exist_ok=True)
        with open(self.paths.logs / "warmup.log", "wb") as log:
            self.warmup = subprocess.Popen([sys.executable, "-m", "dashapp.cli", "warmup", "--background"],
                                           cwd=PROJECT_DIR,
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True, preexec_fn=_die_with_parent)

    def _report_warmup(self) -> None:
        if self.warmup is None or self.warmup.poll() is None:
            return
        code, self.warmup = self.warmup.returncode, None
        lines = (self.paths.logs / "warmup.log").read_text(errors="replace").strip().splitlines()
        say(f"  kernels: {lines[-1] if code == 0 and lines else f'warm-up failed (exit {code}), see warmup.log'}")

    def _launch(self) -> None:
        conf = config.write(self.paths, self.programs, PROJECT_DIR, self.settings.log_level)
        self.paths.socket.unlink(missing_ok=True)  # a stale socket: nothing answered on it (checked before)
        env = dict(os.environ, COCKPIT_INSTANCE_DIR=str(self.settings.instance_dir), PORT=str(self.settings.port),
                   PYTHONUNBUFFERED="1")
        # Its own session: a Ctrl-C in the terminal reaches only us, and we stop the children in order.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)], cwd=PROJECT_DIR, env=env,
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent,
        )

    def _wait_for_supervisord(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline and not self.stop_requested.is_set():
            if self.process.poll() is not None:
                say(f"supervisord exited at start (code {self.process.returncode}); "
                    f"see {self.paths.logs / 'supervisord.log'}")
                return False
            if self.supervisor.available():
                return True
            self.stop_requested.wait(0.2)
        if not self.stop_requested.is_set():
            say(f"supervisord did not answer on {self.paths.socket} within {self.startup_timeout:.0f} s")
        return False

    def _monitor(self) -> int:
        while True:
            if self.process.poll() is not None:
                say(f"supervisord exited unexpectedly (code {self.process.returncode}); "
                    f"see {self.paths.logs / 'supervisord.log'}")
                return 1
            self._report()
            self._report_warmup()
            if self.stop_requested.wait(self.interval):
                return 0

    def _report(self) -> None:
        try:
            found = self.supervisor.status()
        except SupervisorError as exc:
            say(time.strftime("%H:%M:%S ") + str(exc))
            return
        order = [p.name for p in self.programs]
        states = dict(sorted(found.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))
        probes = {name: probe_web(port) for name, port in self.web_ports.items()
                  if name in states and states[name].running}
        say(health_line(states, probes))
        for name, st in states.items():
            before = self.last.get(name)
            if st.state in BAD_STATES and (before is None or before.state != st.state):
                self._show_tail(name)
        self.last = states

    def _show_tail(self, name: str, lines: int = 5) -> None:
        try:
            tail = [line for line in self.supervisor.tail(name).splitlines() if line.strip()][-lines:]
        except SupervisorError:
            return
        for line in tail:
            say(f"  {name}| {line[:300]}")

    def _shutdown(self) -> int:
        """Stop every program through supervisord (in reverse priority, each with its stop wait),
        then supervisord itself. Returns 0 when everything stopped by itself."""
        if self.warmup is not None and self.warmup.poll() is None:
            self.warmup.kill()  # it only fills a cache; the next start fills the rest
            self.warmup.wait()
        if self.process is None or self.process.poll() is not None:
            return 0
        say("stopping: " + ", ".join(p.name for p in reversed(self.programs)) + " ...")
        try:
            known = [st.pid for st in self.supervisor.status().values() if st.pid]
        except SupervisorError:
            known = [st.pid for st in self.last.values() if st.pid]
        self.process.send_signal(signal.SIGTERM)
        budget = sum(p.stopwaitsecs for p in self.programs) + 15
        try:
            self.process.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            for pid in known:
                try:
                    os.killpg(pid, signal.SIGKILL)  # each program leads its own process group
                except OSError:
                    pass
            return 1
        say("all processes stopped")
        return 0
