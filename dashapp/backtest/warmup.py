"""Compile or load the backtest kernels once at process start-up (cache=True keeps the machine code
in dashapp/backtest/__pycache__; the first process after a change compiles, later ones load it).
Call ``warm_up()`` where dashapp.kernels.warm_up is called (worker pool start-up)."""
from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def warm_up() -> float:
    """Run every strategy, both fill rules and a sweep on tiny made-up data; return seconds."""
    from dashapp.backtest import engine

    started = time.perf_counter()
    index = pd.bdate_range("2020-01-01", periods=40)
    wave = 10 + np.sin(np.arange(40) / 3.0)
    closes = pd.DataFrame({"A": wave, "B": wave[::-1] + 1}, index=index)
    params = {"sma_cross": ({"fast": 2, "slow": 5}, [2, 3], [5, 6]), "momentum": ({"lookback": 3}, [2, 3], [0.0]),
              "mean_reversion": ({"window": 5}, [4, 5], [1.0])}
    for kind, (single, first, second) in params.items():
        for fill in engine.FILL_RULES:
            engine.run_backtest(closes, kind, single, engine.RunConfig(fill=fill))
        engine.run_sweep(closes, kind, first, second)
    elapsed = time.perf_counter() - started
    log.info("backtest kernels warm in %.2fs", elapsed)
    return elapsed
