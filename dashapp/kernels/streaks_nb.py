"""Runs of winning and losing trades in one P&L sequence (C-contiguous float64, in trade order)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def longest_streaks_nb(pnl):
    """(longest run of P&L > 0, longest run of P&L < 0); a zero (or NaN) ends both runs."""
    best_win = 0
    best_loss = 0
    win = 0
    loss = 0
    for i in range(pnl.shape[0]):
        v = pnl[i]
        if v > 0:
            win += 1
            loss = 0
        elif v < 0:
            loss += 1
            win = 0
        else:
            win = 0
            loss = 0
        if win > best_win:
            best_win = win
        if loss > best_loss:
            best_loss = loss
    return np.array([best_win, best_loss], dtype=np.int64)
