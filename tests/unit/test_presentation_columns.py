"""The column catalogue: human headers with units, formats by kind, ag-grid definitions; and the
robust figure helpers (axis clipped to the bulk with the count said, sparse heatmaps)."""
import numpy as np
import pandas as pd
import pytest

from dashapp.presentation import columns
from layouts import figures


@pytest.mark.parametrize("field, expected", [
    ("avg_cost", "Avg cost"), ("net_pnl", "Net P&L (USD)"), ("mid_at_fill", "Mid at fill"),
    ("created_at", "Created (UTC)"), ("limit_price", "Limit px"), ("latency_ms", "Latency (ms)"),
    ("some_new_field", "Some new field"), ("p95_latency_ms", "p95 latency ms"),
])
def test_headers_are_human(field, expected):
    assert columns.header(field) == expected


def test_every_grid_column_has_a_human_header_and_a_formatter_by_kind():
    defs = {c["field"]: c for c in columns.column_defs(["avg_cost", "quantity", "created_at", "side", "status"])}
    assert defs["avg_cost"]["valueFormatter"] == {"function": "num4(params.value)"}
    assert defs["avg_cost"]["type"] == "rightAligned"
    assert defs["quantity"]["valueFormatter"] == {"function": "qty(params.value)"}
    assert defs["created_at"]["valueFormatter"] == {"function": "ts(params.value)"}
    assert "desk-buy" in defs["side"]["cellClassRules"] and defs["status"]["cellRenderer"] == "DeskBadge"
    assert all("_" not in c["headerName"] for c in defs.values())


def test_layout_grids_use_the_catalogue():
    from layouts import command_center, trading

    for defs in (trading.BLOTTER_COLUMNS, command_center.POSITION_COLUMNS):
        headers = [c["headerName"] for c in defs]
        assert all("_" not in h and h[:1] == h[:1].upper() for h in headers if h != "#"), headers
    assert {"limit_price", "avg_fill_price", "filled_quantity"} <= {c["field"] for c in trading.BLOTTER_COLUMNS}


@pytest.mark.parametrize("field, value, text", [
    ("avg_cost", 101.123456, "101.1235"), ("net_pnl", 1234567.891, "1,234,567.89"), ("quantity", 1500.0, "1,500"),
    ("quantity", 0.25, "0.25"), ("confidence", 0.125, "12.50%"), ("net_pnl", None, ""),
    ("created_at", "2026-03-02T14:30:05.123456", "2026-03-02 14:30:05"),
    ("filled_at", "2026-03-02T14:30:05.123456", "2026-03-02 14:30:05.123"),
])
def test_values_are_formatted_like_the_grids(field, value, text):
    assert columns.format_value(field, value) == text


def test_one_outlier_does_not_flatten_the_box_plot_and_is_counted():
    rng = np.random.default_rng(7)
    values = list(rng.normal(2.0, 1.0, 200)) + [5_000.0]
    frame = pd.DataFrame({"venue": ["A"] * 101 + ["B"] * 100, "slippage_bps": values})
    figure = figures.distribution(frame, "venue", "slippage_bps", "Slippage", "none")
    low, high = figure.layout.yaxis.range
    assert high < 50 and low > -50
    notes = [a.text for a in figure.layout.annotations if a.name == "beyond-axis"]
    assert notes == ["1 point beyond the axis"]


def test_a_tidy_distribution_keeps_its_full_axis():
    frame = pd.DataFrame({"venue": ["A"] * 50, "slippage_bps": np.linspace(0, 10, 50)})
    figure = figures.distribution(frame, "venue", "slippage_bps", "Slippage", "none")
    assert figure.layout.yaxis.range is None and not figure.layout.annotations


def test_a_one_expiry_map_is_drawn_as_bars_and_an_empty_map_says_so():
    one = pd.DataFrame({"30d": [1.0, 2.0, -0.5]}, index=[90, 100, 110])
    figure = figures.heatmap(one, "Gamma by strike x days to expiry", "No option positions")
    assert figure.data[0].type == "bar" and "30d only" in figure.layout.title.text
    blank = pd.DataFrame({"a": [0.0, np.nan], "b": [0.0, 0.0]})
    figure = figures.heatmap(blank, "Exposure", "No exposure yet")
    assert not figure.data and figure.layout.annotations[0].text == "No exposure yet"


def test_a_sparse_map_drops_empty_rows_and_columns_and_says_how_many():
    frame = pd.DataFrame({"t1": [0.0, 5.0, 0.0], "t2": [0.0, 3.0, 1.0], "t3": [0.0, 0.0, 0.0]}, index=["x", "y", "z"])
    figure = figures.heatmap(frame, "Exposure", "none")
    assert list(figure.data[0].x) == ["t1", "t2"] and list(figure.data[0].y) == ["y", "z"]
    assert any(a.name == "empty-hidden" and a.text.startswith("2 empty") for a in figure.layout.annotations)


def test_one_template_per_mode_dark_is_dark():
    templates = figures.templates_json()
    assert set(templates) == {"light", "dark"}
    assert templates["dark"]["layout"]["paper_bgcolor"] == "#1b1f24"
    assert templates["light"]["layout"]["paper_bgcolor"] == "#ffffff"
