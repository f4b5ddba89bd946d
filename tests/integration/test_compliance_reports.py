"""Compliance reports against figures computed by hand from a small fixed book (SQLite and PostgreSQL).

The book (equity AAPL and fx EURUSD, venues XNAS and LP1, arrival mid 100 / 1.10):
  O0 2026-03-31 XNAS buy market 100, filled @ 99.9             (before the period: left out)
  O1 2026-04-10 XNAS buy market 100, filled @ 99.9, maker      notional 9,990; +10 bps; ack 10 ms
  O2 2026-04-20 XNAS sell limit 99 (marketable) 100 @ 100.1, taker   10,010; +10 bps; ack 20 ms
  O3 2026-05-05 LP1 buy limit 95 (not marketable) 200, 50 @ 95, maker  4,750; +500 bps; ack 40 ms
  O4 2026-06-01 XNAS buy stop 100, canceled unfilled                       ack 30 ms
  O5 2026-06-15 LP1 fx buy market 1000 @ 1.1011 (mid 1.10), taker  1,101.1; -10 bps; ack 5 ms
"""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import date, datetime, timezone

import pandas as pd
import pytest

from dashapp.extensions import db
from dashapp.reports import compliance as files
from dashapp.services.governance import compliance, compliance_runs
from tests.support.governance_data import add_fill, add_order, reference

APRIL_1 = date(2026, 4, 1)
JUNE_30 = date(2026, 6, 30)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


@pytest.fixture
def book(server):
    ref = reference()
    o0 = add_order(ref, datetime(2026, 3, 31, 23, 59, tzinfo=timezone.utc))
    add_fill(ref, o0, datetime(2026, 3, 31, 23, 59, 30, tzinfo=timezone.utc), 100, 99.9)
    o1 = add_order(ref, at(4, 10), ack_ms=10)
    add_fill(ref, o1, at(4, 10, 11), 100, 99.9, liquidity="maker")
    o2 = add_order(ref, at(4, 20), side="sell", order_type="limit", limit_price=99.0, ack_ms=20)
    add_fill(ref, o2, at(4, 20, 11), 100, 100.1, liquidity="taker")
    o3 = add_order(ref, at(5, 5), venue="lp1", qty=200, order_type="limit", limit_price=95.0,
                   status="partially_filled", filled=50, ack_ms=40)
    add_fill(ref, o3, at(5, 5, 11), 50, 95.0, liquidity="maker")
    add_order(ref, at(6, 1), order_type="stop", status="canceled", ack_ms=30)
    o5 = add_order(ref, at(6, 15), instrument="fx", venue="lp1", qty=1000, arrival_mid=1.10, ack_ms=5)
    add_fill(ref, o5, at(6, 15, 11), 1000, 1.1011, liquidity="taker", mid_at_arrival=1.10)
    db.session.commit()
    return ref


def test_rts28_venue_figures_match_the_hand_computed_ones(book):
    table = compliance.rts28(compliance.period(APRIL_1, JUNE_30)).set_index(["asset_class", "venue"])
    xnas, lp1, fx = table.loc[("equity", "XNAS")], table.loc[("equity", "LP1")], table.loc[("fx", "LP1")]
    assert (xnas["rank"], lp1["rank"], fx["rank"]) == (1, 2, 1)
    assert xnas["volume"] == pytest.approx(20_000) and lp1["volume"] == pytest.approx(4_750)
    assert xnas["volume_share"] == pytest.approx(20_000 / 24_750) and lp1["volume_share"] == pytest.approx(4_750 / 24_750)
    assert (xnas["orders"], lp1["orders"]) == (2, 1)
    assert xnas["order_share"] == pytest.approx(2 / 3) and lp1["order_share"] == pytest.approx(1 / 3)
    assert (xnas["passive_share"], xnas["aggressive_share"], lp1["passive_share"]) == (0.5, 0.5, 1.0)
    assert xnas["price_improvement_bps"] == pytest.approx(10.0) and lp1["price_improvement_bps"] == pytest.approx(500.0)
    assert fx["price_improvement_bps"] == pytest.approx(-10.0) and fx["improved_share"] == 0.0
    assert xnas["fill_rate"] == pytest.approx(200 / 300) and lp1["fill_rate"] == pytest.approx(0.25)
    assert (xnas["latency_ms"], lp1["latency_ms"], fx["latency_ms"]) == pytest.approx((20.0, 40.0, 5.0))
    assert fx["volume"] == pytest.approx(1_101.1) and fx["volume_share"] == pytest.approx(1.0)


def test_rule606_monthly_breakdown_by_order_type_and_venue(book):
    report = compliance.rule606("2026Q2")
    april, may, june = report["months"]
    assert (april["total"], may["total"], june["total"]) == (2, 1, 2)
    assert april["category_pct"] == {"market": 50.0, "marketable_limit": 50.0, "non_marketable_limit": 0.0,
                                     "other": 0.0}
    assert may["category_pct"]["non_marketable_limit"] == 100.0
    assert june["category_pct"] == {"market": 50.0, "marketable_limit": 0.0, "non_marketable_limit": 0.0,
                                    "other": 50.0}
    venues = {v["venue"]: v for v in june["venues"]}
    assert venues["XNAS"]["order_pct"] == 50.0 and venues["XNAS"]["pct"]["other"] == 100.0
    assert venues["LP1"]["pct"]["market"] == 100.0 and venues["LP1"]["counts"]["market"] == 1
    assert [v["venue"] for v in april["venues"]] == ["XNAS"] and april["venues"][0]["order_pct"] == 100.0

    root = ET.fromstring(files.rule606_xml(report))  # well-formed, and the figures are in it
    assert root.tag == "heldOrderRoutingPublicReport" and root.findtext("qtr") == "2"
    months = root.findall("rMonthly")
    assert [m.findtext("mon") for m in months] == ["4", "5", "6"]
    assert months[2].findtext("rAllInstruments/ndoOtherPct") == "50.00"
    assert [v.findtext("name") for v in months[2].findall("rAllInstruments/rVenues/rVenue")] == ["LP1", "XNAS"]
    with pytest.raises(Exception, match="quarter"):
        compliance.rule606("2026Q5")


def test_report_files_and_transaction_records(book, server):
    rts = compliance_runs.produce("job-rts", "rts28", start=APRIL_1, end=JUNE_30)
    assert [f["name"] for f in rts["files"]] == ["rts28-20260401-20260630.pdf", "rts28-20260401-20260630.xlsx"]
    pdf = compliance_runs.file_for
    with pytest.raises(Exception, match="no compliance report"):
        pdf("job-rts", rts["files"][0]["name"])  # not a job row: refused
    r606 = compliance_runs.produce("job-606", "rule606", quarter="2026Q2")
    assert (compliance_runs.folder("job-606") / "rule606-2026Q2.pdf").read_bytes()[:4] == b"%PDF"

    csv = compliance_runs.produce("job-tx", "transactions", start=APRIL_1, end=JUNE_30, fmt="csv")
    frame = pd.read_csv(compliance_runs.folder("job-tx") / csv["files"][0]["name"])
    assert len(frame) == 4 and set(frame["venue"]) == {"XNAS", "LP1"}
    sell = frame[frame["side"] == "sell"].iloc[0]
    assert (sell["buyer"], sell["seller"], sell["net_amount"]) == ("XNAS", "ACC1", pytest.approx(10_010))
    parquet = compliance_runs.produce("job-pq", "transactions", start=APRIL_1, end=JUNE_30, fmt="parquet")
    again = pd.read_parquet(io.BytesIO((compliance_runs.folder("job-pq") / parquet["files"][0]["name"]).read_bytes()))
    assert list(again.columns) == [c for _, c, _ in files.RTS22_AVAILABLE] and len(again) == 4
    note = (compliance_runs.folder("job-tx") / csv["files"][1]["name"]).read_text()
    assert "NOT available" in note and "LEI" in note and r606["files"][0]["name"].endswith(".xml")
    with pytest.raises(Exception, match="366 days"):
        compliance.period(date(2025, 1, 1), date(2026, 6, 30))
