"""The format-neutral shape of a report: a title and a list of sections. Builders fill it from the
services; the PDF and XLSX renderers lay it out. Numbers stay numbers (the spreadsheet keeps them
computable); each table column says how to show them."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

# Column formats: how a number is shown (PDF text) and its Excel number format.
NUMBER_FORMATS = {
    "text": (None, "@"),
    "int": ("{:,.0f}", "#,##0"),
    "money": ("{:,.2f}", "#,##0.00"),
    "bps": ("{:,.2f}", "0.00"),
    "ms": ("{:,.1f}", "0.0"),
    "pct": ("{:.1%}", "0.0%"),
    "ratio": ("{:.3f}", "0.000"),
}


@dataclass
class Column:
    title: str
    kind: str = "text"  # a key of NUMBER_FORMATS


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list]
    empty_text: str = "No data."
    note: str = ""
    row_kinds: list[str] | None = None  # when rows, not columns, share a unit (a transposed table)

    def kind(self, row: int, col: int) -> str:
        if self.row_kinds is not None and col > 0:
            return self.row_kinds[row]
        return self.columns[col].kind


@dataclass
class Figures:
    """Headline figures: (label, value, kind) triples shown as a two-column block."""

    title: str
    items: list[tuple[str, object, str]]


@dataclass
class Chart:
    title: str
    categories: list[str]
    series: dict[str, list[float]]  # name -> one value per category
    kind: str = "bar"  # bar | line
    y_title: str = ""
    empty_text: str = "No data to chart."
    value_kind: str = "money"

    @property
    def empty(self) -> bool:
        return not self.categories or not any(is_number(v) for values in self.series.values() for v in values)


@dataclass
class Document:
    title: str
    subtitle: str
    generated_at: datetime  # aware UTC
    timezone: str
    sections: list = field(default_factory=list)

    @property
    def generated_local(self) -> str:
        local = self.generated_at.astimezone(ZoneInfo(self.timezone))
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({self.generated_at:%Y-%m-%d %H:%M} UTC)"


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def show(value, kind: str) -> str:
    """A cell as text (PDF, e-mail body): numbers formatted by kind, missing as an en dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    pattern = NUMBER_FORMATS.get(kind, NUMBER_FORMATS["text"])[0]
    if pattern and is_number(value):
        return pattern.format(value)
    return str(value)
