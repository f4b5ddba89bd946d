"""The export job's parameters: which dataset, which format, which period, which filters; and which
period and filters each dataset understands. A filter or period that does not apply to the dataset
is refused (422 naming it), never silently ignored."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

import pydantic
from pydantic import ConfigDict, Field, field_validator

from dashapp.services.fields import NO_CONTROL
from models.orders import ORDER_STATUSES

DATASETS: dict[str, dict] = {
    # label, the time column the period applies to (None: a snapshot of now), the filters that apply
    "orders": {"label": "Orders", "period": "created_at", "filters": ("strategy", "instrument", "venue", "status")},
    "fills": {"label": "Fills", "period": "filled_at", "filters": ("strategy", "instrument", "venue")},
    "positions": {"label": "Positions", "period": None, "filters": ("strategy", "instrument")},
    "risk": {"label": "Risk (VaR and limit utilisation)", "period": None, "filters": ()},
    "tca": {"label": "TCA venue scorecards", "period": "created_at", "filters": ("strategy", "instrument", "venue")},
}
FORMATS: dict[str, str] = {"csv": "CSV", "xlsx": "Excel", "pdf": "PDF report", "json": "JSON", "parquet": "Parquet"}
FILTERS = ("strategy", "instrument", "venue", "status")


class ExportFilters(pydantic.BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    strategy: str | None = Field(None, min_length=1, max_length=32, pattern=NO_CONTROL)
    instrument: str | None = Field(None, min_length=1, max_length=48, pattern=NO_CONTROL)
    venue: str | None = Field(None, min_length=1, max_length=32, pattern=NO_CONTROL)
    status: Literal[ORDER_STATUSES] | None = None  # type: ignore[valid-type]

    def given(self) -> dict[str, str]:
        return {name: value for name, value in self.model_dump().items() if value is not None}


class ExportParams(pydantic.BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: Literal[tuple(DATASETS)]  # type: ignore[valid-type]
    format: Literal[tuple(FORMATS)]  # type: ignore[valid-type]
    since: datetime | None = None  # UTC; a naive time is taken as UTC
    until: datetime | None = None
    filters: ExportFilters = Field(default_factory=ExportFilters)

    @field_validator("since", "until")
    @classmethod
    def _utc_and_applies(cls, value: datetime | None, info):
        if value is None:
            return None
        dataset = info.data.get("dataset")
        if dataset in DATASETS and DATASETS[dataset]["period"] is None:
            raise ValueError(f"{dataset} is a snapshot of now: a period does not apply (leave since/until empty)")
        try:
            value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        except OverflowError:  # year 1 or 9999 with an offset: no such UTC time
            raise ValueError("is outside the range of dates") from None
        if info.field_name == "until" and info.data.get("since") and value <= info.data["since"]:
            raise ValueError("until must be after since")
        return value

    @field_validator("filters")
    @classmethod
    def _filters_apply(cls, value: ExportFilters, info):
        dataset = info.data.get("dataset")
        if dataset not in DATASETS:
            return value
        allowed = DATASETS[dataset]["filters"]
        wrong = [name for name in value.given() if name not in allowed]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} does not apply to {dataset} (filters that apply: "
                             f"{', '.join(allowed) or 'none'})")
        return value

    def describe(self) -> str:
        """One line for people: 'Orders as Excel, 2026-03-01 00:00 to 2026-03-02 00:00, strategy=MOM'."""
        parts = [f"{DATASETS[self.dataset]['label']} as {FORMATS[self.format]}"]
        if self.since or self.until:
            fmt = "%Y-%m-%d %H:%M"
            parts.append(f"{self.since.strftime(fmt) if self.since else 'start'} to "
                         f"{self.until.strftime(fmt) if self.until else 'now'} UTC")
        parts += [f"{k}={v}" for k, v in self.filters.given().items()]
        return ", ".join(parts)
