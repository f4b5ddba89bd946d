"""Consecutive wins and losses of a trade P&L sequence (in trade order).

A zero P&L (a scratch trade) ends a winning and a losing run alike, as in backtrader's
TradeAnalyzer ``streak``; compared in tests with ``itertools.groupby`` over the signs."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dashapp.kernels import streaks_nb
from dashapp.kernels._validate import require_finite, to_float_array


class Streaks(NamedTuple):
    wins: int
    losses: int


def longest_streaks(pnl) -> Streaks:
    a = np.ascontiguousarray(to_float_array(pnl, "pnl").ravel())
    require_finite(a, "pnl")
    wins, losses = streaks_nb.longest_streaks_nb(a)
    return Streaks(int(wins), int(losses))
