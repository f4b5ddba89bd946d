"""Gunicorn hooks for `dashapp web` (loaded with `--config python:dashapp.supervisor.gunicorn_conf`).

Why: when the Gunicorn master is killed outright (kill -9, OOM killer), its workers are orphaned.
Gunicorn's own check (a worker compares its parent pid about once a second) then starts a *graceful*
exit that waits for open requests, and an open live stream is a request that never ends: the orphan
kept the port for the whole graceful timeout (~25 s measured) and supervisord's new master could not
bind. A parent-death signal makes the kernel kill each worker the moment its master dies, so the port
is free when supervisord starts the web program again (D39).
"""
from __future__ import annotations

import ctypes
import signal

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send `sig` to this process when its parent dies; False where unsupported."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: gunicorn's own parent check still applies
        return False


def post_fork(server, worker):
    # SIGKILL, not SIGTERM: a dead master cannot collect a graceful exit, and the port must be free now.
    if not die_with_parent(signal.SIGKILL):
        server.log.warning("worker %s: no parent-death signal on this platform; it exits on gunicorn's "
                           "parent check instead", worker.pid)


# Gunicorn 27's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): with
# several web processes on a machine (`dashapp up --web N`) each would take it over from the last.
# supervisord and signals control the processes here, so it is not needed.
control_socket_disable = True
