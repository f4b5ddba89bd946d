"""The computed datasets on both databases, on a small book sent through the ingest API: risk
(VaR table and limit utilisation, as a snapshot of now) and TCA venue scorecards for a period, in
the formats that hold several tables (Excel sheets, a ZIP of CSVs) and the PDF report."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from dashapp.exports import service
from dashapp.services import jobs
from tests.support.trading import T0, fill, iso, order
from tests.unit.exports import xlsx
from tests.unit.test_jobs_service import FakePort
from dashapp.presentation.columns import spec


def label(field: str) -> str:
    """The header an Excel sheet gives a field: the catalogue's, with its unit."""
    return spec(field).label


@pytest.fixture
def book(api):
    """AAPL and XOM with 120 days of history, a long AAPL and a short XOM position, and orders
    routed to two venues around T0 for the TCA."""
    rng = np.random.default_rng(7)
    start = datetime(2025, 6, 1, tzinfo=timezone.utc)
    bars = []
    for symbol in ("AAPL", "XOM"):
        price = 100.0
        for d in range(120):
            new = price * (1 + rng.normal(0, 0.015))
            bars.append({"instrument": symbol, "interval": "1d", "ts": (start + timedelta(days=d)).isoformat(),
                         "open": price, "high": max(price, new), "low": min(price, new), "close": new})
            price = new
    assert api("bars", bars).status_code == 200
    now = datetime.now(timezone.utc).isoformat()
    assert api("quotes", [{"instrument": "AAPL", "ts": now, "bid": 99.9, "ask": 100.1},
                          {"instrument": "XOM", "ts": now, "bid": 49.9, "ask": 50.1}]).status_code == 200
    orders = [order(f"t{i}", status="filled", minutes=i, venue="XNAS" if i % 2 else "LP1", filled_quantity=100,
                    avg_fill_price=190.1 + i / 100, acknowledged_at=iso(i + 0.001 * (i + 1))) for i in range(10)]
    orders.append(order("rej", status="rejected", minutes=11, venue="LP1", reject_reason="no liquidity"))
    orders += [order("b", qty=10_000, minutes=120), order("s", side="sell", qty=4_000, instrument="XOM", minutes=121)]
    assert api("orders", orders).status_code == 200
    fills = [fill(f"x{i}", f"t{i}", 100, 190.1 + i / 100, minutes=i + 0.01, venue="XNAS" if i % 2 else "LP1")
             for i in range(10)]
    fills += [fill("f1", "b", 10_000, 100.0, minutes=120.01), fill("f2", "s", 4_000, 50.0, minutes=121.01)]
    assert api("fills", fills).status_code == 200
    return api


def _run(params: dict):
    job = jobs.launch("risk1", "risk", "export", params, port=FakePort())
    assert jobs.run(jobs.mark_running(job.id, "test")) == "succeeded", jobs.get_job(job.id).error
    job = jobs.get_job(job.id)
    return job, service.exports_dir() / job.result["file"]


def test_risk_export_has_var_and_limit_sheets(book):
    job, path = _run({"dataset": "risk", "format": "xlsx"})
    sheets, formats = xlsx.read(path)
    assert [s.name for s in sheets] == ["Summary", "VaR", "Limits"]
    var_header, *var_rows = sheets[1].rows
    assert var_header[:3] == [label("scope"), label("level"), label("historical_var")]
    assert label("monte_carlo_var") in var_header and "Historical VaR (USD)" in var_header
    assert {r[0] for r in var_rows} == {"MOM", "TOTAL"} and {r[1] for r in var_rows} == {0.95, 0.99}
    assert all(r[2] > 0 for r in var_rows)
    assert formats[sheets[1].styles[(1, 1)]] == "0.00%"
    limits_header, *limit_rows = sheets[2].rows
    assert limits_header[:3] == [label("limit_id"), label("kind"), label("scope")] and len(limit_rows) == 7  # the default limits
    gross = next(r for r in limit_rows if r[1] == "gross_exposure")
    # Delta-one exposure at the mids: AAPL 10,000 + 10 x 100 from the TCA fills, XOM 4,000 short.
    assert gross[limits_header.index(label("value"))] == pytest.approx(11_000 * 100 + 4_000 * 50, rel=1e-6)
    summary = {r[0]: r[1] for r in sheets[0].rows if len(r) >= 2}
    assert summary["Risk level"] in ("OK", "WARNING", "CRITICAL") and summary["Period from (UTC)"] == "(start)"
    assert job.result["rows_by_table"] == {"VaR": len(var_rows), "Limits": 7}


def test_risk_as_csv_is_a_zip_and_as_pdf_a_report(book):
    job, path = _run({"dataset": "risk", "format": "csv"})
    assert path.suffix == ".zip" and job.result["mime"] == "application/zip"
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["limits.csv", "summary.json", "var.csv"]
        var = list(csv.DictReader(io.TextIOWrapper(z.open("var.csv"), encoding="utf-8")))
    assert len(var) == 4 and float(var[0]["historical_var"]) > 0
    job, path = _run({"dataset": "risk", "format": "pdf"})
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") >= 3


def test_tca_export_scores_each_venue_in_the_period(book):
    period = {"since": (T0 - timedelta(minutes=5)).isoformat(), "until": (T0 + timedelta(hours=1)).isoformat()}
    job, path = _run({"dataset": "tca", "format": "json", **period})
    document = json.loads(path.read_text())
    venues = {row["venue"]: row for row in document["tables"][0]["rows"]}
    assert set(venues) == {"XNAS", "LP1"}
    assert venues["LP1"]["orders"] == 6 and venues["LP1"]["reject_rate"] == pytest.approx(1 / 6)
    assert venues["XNAS"]["fill_rate"] == pytest.approx(1.0) and venues["XNAS"]["latency_p50_ms"] > 0
    assert document["export"]["since"].startswith("2026-03-02T14:25")
    job, path = _run({"dataset": "tca", "format": "csv", "filters": {"venue": "XNAS"}, **period})
    rows = list(csv.DictReader(open(path, newline="")))
    assert [r["venue"] for r in rows] == ["XNAS"] and job.result["rows"] == 1


def test_tca_without_a_period_uses_the_last_day(book):
    job, path = _run({"dataset": "tca", "format": "json"})
    document = json.loads(path.read_text())
    since = datetime.fromisoformat(document["export"]["since"])
    until = datetime.fromisoformat(document["export"]["until"])
    assert until - since == timedelta(hours=24)
    assert document["tables"][0]["rows"] == [] or all("venue" in r for r in document["tables"][0]["rows"])
