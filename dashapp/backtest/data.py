"""The bars a backtest runs on: the bundled real daily closes (dashapp/data/sp500_daily.csv.gz,
20 S&P 500 stocks and the index, 2012-2022), read once per process. There are no opens in the
file, so 'the next bar' means the next bar's close (see engine.FILL_RULES)."""
from __future__ import annotations

from datetime import date
from functools import lru_cache

import pandas as pd

from dashapp.engine.universe import load_daily_closes


@lru_cache(maxsize=1)
def _closes() -> pd.DataFrame:
    frame = load_daily_closes()
    frame.index = pd.DatetimeIndex(frame.index).normalize()
    return frame


def symbols() -> list[str]:
    return list(_closes().columns)


def date_bounds() -> tuple[date, date]:
    index = _closes().index
    return index[0].date(), index[-1].date()


def bars_between(start: date, end: date) -> int:
    index = _closes().index
    return int(((index >= pd.Timestamp(start)) & (index <= pd.Timestamp(end))).sum())


def closes(symbols_: list[str], start: date, end: date) -> pd.DataFrame:
    """Daily closes of `symbols_` (columns, in the order given) from `start` to `end` inclusive."""
    frame = _closes()
    unknown = [s for s in symbols_ if s not in frame.columns]
    if unknown:
        raise ValueError(f"no bundled data for {', '.join(unknown)}")
    return frame.loc[pd.Timestamp(start):pd.Timestamp(end), list(symbols_)].copy()
