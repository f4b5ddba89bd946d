"""Report builders: each report type collects its figures from the services into a `Document`
(dashapp.reports.document), and one renderer per format turns any document into a file.

    document = build("risk_daily", ReportRequest(...))
    pdf_bytes = render(document, "pdf")

The archive of produced files and their ReportRun rows is dashapp.reports.archive.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.base import utcnow


@dataclass(frozen=True)
class ReportKind:
    name: str
    label: str
    formats: tuple[str, ...]
    module: str  # its `build(request) -> Document`; imported on first use (pandas, services)


REPORT_KINDS: dict[str, ReportKind] = {
    "risk_daily": ReportKind("risk_daily", "Daily risk", ("pdf", "xlsx"), "dashapp.reports.risk_daily"),
    "best_execution": ReportKind("best_execution", "Best execution", ("pdf", "xlsx"),
                                 "dashapp.reports.best_execution"),
}
FORMATS = {
    "pdf": ("PDF", "application/pdf"),
    "xlsx": ("Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@dataclass(frozen=True)
class ReportRequest:
    """What one report covers: the period ending `as_of` (UTC), shown in `timezone`."""

    as_of: datetime = field(default_factory=utcnow)
    lookback_hours: int = 24
    timezone: str = "UTC"
    title_note: str = ""  # e.g. the schedule's name

    @property
    def since(self) -> datetime:
        return self.as_of - timedelta(hours=self.lookback_hours)


def label(report_type: str) -> str:
    kind = REPORT_KINDS.get(report_type)
    return kind.label if kind else report_type


def build(report_type: str, request: ReportRequest):
    kind = REPORT_KINDS[report_type]
    return importlib.import_module(kind.module).build(request)


def render(document, fmt: str) -> bytes:
    if fmt == "pdf":
        from dashapp.reports.pdf import render_pdf

        return render_pdf(document)
    if fmt == "xlsx":
        from dashapp.reports.xlsx import render_xlsx

        return render_xlsx(document)
    raise ValueError(f"unknown report format {fmt!r}")
