"""Warm every numba kernel (the risk kernels and the backtest loop) at process start, one process
at a time.

``@njit(cache=True)`` keeps machine code in ``__pycache__`` beside the kernels. After a fresh clone
or a kernel change the first process compiles them all (a minute or two on 2 cores); later
processes load the cache in about a second. Compiling holds the GIL, and several processes
compiling the same kernels side by side only share the CPU. So warming takes an exclusive file
lock: the first process compiles, the others wait for the lock (``flock`` waits without the GIL:
a web process keeps serving meanwhile) and then load what it cached.

`dashapp warmup` (run by `dashapp up` in the background as it starts, and by `make test`) takes
the lock first, so web and worker processes normally only load. See docs/DECISIONS.md D20.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(__file__).resolve().parent


def lock_path() -> Path:
    """One lock per checkout (the cache lives beside its modules)."""
    key = hashlib.sha256(str(PACKAGE_DIR).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"cockpit-kernels-{key}.lock"


@contextlib.contextmanager
def compile_lock():
    with open(lock_path(), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def warm_all(then_yield_cpu: bool = False) -> float:
    """Compile (first process) or load (the others) every kernel; returns seconds, waiting included.
    `then_yield_cpu`: once the engine's kernel is done, drop to the lowest CPU priority (for the
    background `dashapp warmup` that `dashapp up` starts beside the programs)."""
    started = time.perf_counter()
    with compile_lock():
        from dashapp.backtest.warmup import warm_up as warm_backtests
        from dashapp.kernels import warm_up

        warm_pricing()  # first: the paper engine waits for this one (it finds it cached sooner)
        if then_yield_cpu:
            os.nice(19)
        warm_up()
        warm_backtests()
    elapsed = time.perf_counter() - started
    log.info("numba kernels ready in %.1fs", elapsed)
    return elapsed


def warm_pricing() -> None:
    """The one kernel the paper engine needs before it can trade (it prices options every tick)."""
    import numpy as np

    from dashapp.kernels import black_scholes

    black_scholes(np.array([100.0, 90.0]), 100.0, 0.5, 0.2, 0.01, 0.0, np.array([True, False]))


def warm_in_background() -> threading.Thread:
    """For the web process: requests are served while the thread waits for the lock or loads."""
    thread = threading.Thread(target=warm_all, name="kernel-warm-up", daemon=True)
    thread.start()
    return thread
