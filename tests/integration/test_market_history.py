"""Bars built from stored quotes in the database (SQLite and PostgreSQL): buckets, OHLC, tick
volume, stored bars first, the desk's fills on the instrument."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dashapp.services import market_history as mh
from dashapp.services.errors import NotFound, ValidationError
from dashapp.services.ingest import ingest_batch
from tests.support.trading import REFERENCE

# A fixed hour boundary a little in the past: inside the accepted ingest window, clock-independent buckets.
H0 = (datetime.now(timezone.utc) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)


def _quote(symbol, seconds, mid):
    return {"instrument": symbol, "ts": (H0 + timedelta(seconds=seconds)).isoformat(), "bid": mid - 0.01,
            "ask": mid + 0.01}


@pytest.fixture
def quotes(server):
    for kind, items in REFERENCE.items():
        ingest_batch(kind, "paper-1", items)
    # minute 0: 10, 12, 9, 11 -> O10 H12 L9 C11; minute 1: 20; minute 61 (next hour): 30, 31
    mids = [(0, 10), (15, 12), (30, 9), (59.5, 11), (60, 20), (3660, 30), (3670, 31)]
    ingest_batch("quotes", "paper-1", [_quote("AAPL", s, m) for s, m in mids] + [_quote("XOM", 5, 50)])
    return server


def test_minute_bars_from_quotes(quotes):
    frame = mh.quote_bars("AAPL", "1m", since=H0 - timedelta(minutes=1), until=H0 + timedelta(hours=2))
    assert list(frame["ts"]) == [H0, H0 + timedelta(minutes=1), H0 + timedelta(minutes=61)]
    first = frame.iloc[0]
    assert (first["open"], first["high"], first["low"], first["close"], first["volume"]) == pytest.approx(
        (10, 12, 9, 11, 4))
    assert frame.iloc[2][["open", "close", "volume"]].tolist() == pytest.approx([30, 31, 2])


def test_hour_and_day_bars_aggregate_the_same_ticks(quotes):
    hours = mh.quote_bars("AAPL", "1h", since=H0 - timedelta(hours=1), until=H0 + timedelta(hours=2))
    assert list(hours["ts"]) == [H0, H0 + timedelta(hours=1)]
    assert hours.iloc[0][["open", "high", "low", "close", "volume"]].tolist() == pytest.approx([10, 20, 9, 20, 5])
    days = mh.quote_bars("AAPL", "1d", since=H0 - timedelta(days=2), until=H0 + timedelta(hours=2))
    assert days["volume"].sum() == 7 and days["high"].max() == pytest.approx(31)
    assert (days["ts"].dt.hour == 0).all()


def test_stored_bars_come_first_then_quote_bars(quotes):
    ingest_batch("bars", "paper-1", [{"instrument": "AAPL", "interval": "1h",
                                      "ts": (H0 - timedelta(hours=1)).isoformat(),
                                      "open": 5, "high": 6, "low": 4, "close": 5.5, "volume": 1000}])
    frame = mh.bars("AAPL", "1h", since=H0 - timedelta(hours=2), until=H0 + timedelta(hours=2))
    assert list(frame["source"]) == ["stored", "quotes", "quotes"]
    assert frame.iloc[0]["volume"] == 1000


def test_fills_and_instruments(quotes):
    ingest_batch("orders", "paper-1", [{"client_order_id": "o1", "strategy": "MOM", "instrument": "AAPL",
                                        "venue": "XNAS", "side": "buy", "quantity": 5, "status": "new",
                                        "created_at": (H0 + timedelta(seconds=10)).isoformat()}])
    ingest_batch("fills", "paper-1", [{"exec_id": "f1", "client_order_id": "o1", "venue": "XNAS", "quantity": 5,
                                       "price": 11.5, "filled_at": (H0 + timedelta(seconds=20)).isoformat()}])
    frame = mh.fills("AAPL", since=H0 - timedelta(hours=1), until=H0 + timedelta(hours=1))
    assert frame[["side", "quantity", "price", "strategy"]].values.tolist() == [["buy", 5.0, 11.5, "MOM"]]
    assert [i["symbol"] for i in mh.instruments()] == ["AAPL", "XOM"]  # no option, only priced ones


def test_bad_requests_name_the_field(quotes):
    with pytest.raises(ValidationError) as err:
        mh.quote_bars("AAPL", "2m")
    assert err.value.field == "interval"
    with pytest.raises(NotFound):
        mh.quote_bars("NOPE", "1m")
    assert mh.quote_bars("XOM", "1m", since=H0 + timedelta(hours=1), until=H0 + timedelta(hours=2)).empty
