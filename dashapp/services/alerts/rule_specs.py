"""What a rule may say: one pydantic model per kind, every value bounded (docs/ALERTS.md "Rules").

Names and labels are short and free of control characters, windows lie between 1 s and 30 days,
magnitudes are finite and inside the desk's bounds (`services/bounds.py`). The models carry the
kind's parameters (stored in `AlertRule.spec`) and the common ones every kind has (`every_seconds`,
`no_data`, an optional severity taken from a label); `RuleInput` is the whole rule as an edge sends it.
"""
from __future__ import annotations

from typing import Annotated, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dashapp.services import bounds
from dashapp.services.errors import ValidationError
from dashapp.services.fields import NO_CONTROL

DAY = 86_400
MAX_WINDOW = 30 * DAY
MAX_LABELS = 20
OPS = (">", ">=", "<", "<=", "==", "!=")
KINDS = ("threshold", "anomaly", "pattern", "composite", "expression", "predictive")
SEVERITY_VALUES = ("critical", "high", "warning", "info")
RESERVED_LABELS = ("alertname",)

Name = Annotated[str, Field(min_length=1, max_length=80, pattern=NO_CONTROL)]
MetricName = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9][a-z0-9_]*)+$")]
LabelName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
LabelValue = Annotated[str, Field(max_length=200, pattern=NO_CONTROL)]
Window = Annotated[int, Field(strict=True, ge=1, le=MAX_WINDOW)]
Period = Annotated[int, Field(strict=True, ge=0, le=MAX_WINDOW)]
Magnitude = Annotated[float, Field(allow_inf_nan=False, ge=-bounds.MAX_ABS_AMOUNT, le=bounds.MAX_ABS_AMOUNT)]
Op = Literal[">", ">=", "<", "<=", "==", "!="]
Severity = Literal["critical", "high", "warning", "info"]
Labels = Annotated[dict[LabelName, LabelValue], Field(max_length=MAX_LABELS)]
GroupBy = Annotated[list[LabelName], Field(max_length=10)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeverityFrom(_Model):
    """Instance severity from one of its labels, e.g. a limit's breach action -> critical/high/warning."""

    label: LabelName
    map: Annotated[dict[LabelValue, Severity], Field(min_length=1, max_length=MAX_LABELS)]


class _Common(_Model):
    every_seconds: Annotated[int, Field(strict=True, ge=1, le=DAY)] = 5
    no_data: Literal["nodata", "ok", "alerting"] = "nodata"
    severity_from: SeverityFrom | None = None


class Condition(_Model):
    metric: MetricName
    op: Op = ">"
    value: Magnitude
    filter: Labels = {}


class ThresholdSpec(_Common, Condition):
    pass


class AnomalySpec(_Common):
    metric: MetricName
    method: Literal["zscore", "mad"] = "zscore"
    window_seconds: Window = 3600
    threshold: Annotated[float, Field(allow_inf_nan=False, gt=0, le=1000)] = 3.0
    direction: Literal["both", "above", "below"] = "both"
    by_time_of_day: bool = False
    bucket_minutes: Annotated[int, Field(strict=True, ge=1, le=1440)] = 60
    min_samples: Annotated[int, Field(strict=True, ge=3, le=100_000)] = 10
    filter: Labels = {}

    @field_validator("bucket_minutes")
    @classmethod
    def _divides_a_day(cls, value: int) -> int:
        if 1440 % value:
            raise ValueError("must divide a day (1440 minutes) evenly, e.g. 15, 30, 60")
        return value


class PatternSpec(_Common):
    source: MetricName  # an event source: "execution.reject"
    count: Annotated[int, Field(strict=True, ge=1, le=100_000)] = 5
    within_seconds: Window = 60
    group_by: GroupBy = []
    filter: Labels = {}


class WeightedCondition(Condition):
    weight: Annotated[float, Field(allow_inf_nan=False, ge=0, le=1e6)] = 1.0


class CompositeSpec(_Common):
    conditions: Annotated[list[WeightedCondition], Field(min_length=1, max_length=20)]
    score_threshold: Annotated[float, Field(allow_inf_nan=False, ge=0, le=1e9)]
    group_by: GroupBy = []


class ExpressionSpec(_Common):
    text: Annotated[str, Field(min_length=1, max_length=1000)]

    @field_validator("text")
    @classmethod
    def _parses(cls, value: str) -> str:
        from dashapp.services.alerts import expression

        expression.parse(value)  # raises ValueError naming the position
        return value


class PredictiveSpec(_Common):
    metric: MetricName
    limit: Magnitude
    horizon_seconds: Window = 3600
    lookback_seconds: Window = 3600
    direction: Literal["above", "below"] = "above"
    min_samples: Annotated[int, Field(strict=True, ge=2, le=100_000)] = 5
    filter: Labels = {}


SPEC_MODELS: dict[str, type[_Common]] = {
    "threshold": ThresholdSpec, "anomaly": AnomalySpec, "pattern": PatternSpec, "composite": CompositeSpec,
    "expression": ExpressionSpec, "predictive": PredictiveSpec,
}


class RuleInput(_Model):
    """A whole rule as an edge sends it (create and update)."""

    name: Name
    description: Annotated[str, Field(max_length=500, pattern=NO_CONTROL)] = ""
    kind: Literal["threshold", "anomaly", "pattern", "composite", "expression", "predictive"]
    spec: dict
    labels: Labels = {}
    severity: Severity = "warning"
    pending_seconds: Period = 0
    keep_firing_seconds: Period = 0
    runbook: Annotated[str, Field(max_length=80, pattern=r"^[a-z0-9._-]*$")] = ""
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("labels")
    @classmethod
    def _not_reserved(cls, value: dict) -> dict:
        for name in RESERVED_LABELS:
            if name in value:
                raise ValueError(f"label {name!r} is set from the rule's name")
        return value

    @model_validator(mode="after")
    def _spec_of_its_kind(self) -> RuleInput:
        self.spec = SPEC_MODELS[self.kind].model_validate(self.spec).model_dump(mode="json", exclude_none=True)
        return self


def _as_validation_error(exc: pydantic.ValidationError, prefix: str = "") -> ValidationError:
    errors = exc.errors()
    field = prefix + (".".join(str(part) for part in errors[0]["loc"]) or "rule")
    message = errors[0]["msg"].removeprefix("Value error, ")
    return ValidationError(f"alert rule {field!r}: {message}", field=field,
                           details=[{"field": prefix + ".".join(map(str, e["loc"])), "message": e["msg"]}
                                    for e in errors])


def validate_rule(data: dict) -> RuleInput:
    """The rule, or a ValidationError naming the first bad field ("spec.window_seconds", "labels", ...)."""
    if not isinstance(data, dict):
        raise ValidationError("an alert rule is a JSON object", field="rule")
    kind = data.get("kind")
    try:
        if kind in SPEC_MODELS:  # validate the spec first so its errors are named "spec.<field>"
            SPEC_MODELS[kind].model_validate(data.get("spec") if isinstance(data.get("spec"), dict) else {})
    except pydantic.ValidationError as exc:
        raise _as_validation_error(exc, "spec.") from None
    try:
        return RuleInput.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _as_validation_error(exc) from None


def validate_spec(kind: str, spec: dict):
    """One kind's spec model (used by evaluation and preview on stored specs)."""
    if kind not in SPEC_MODELS:
        raise ValidationError(f"unknown rule kind {kind!r}: one of {', '.join(KINDS)}", field="kind")
    try:
        return SPEC_MODELS[kind].model_validate(spec or {})
    except pydantic.ValidationError as exc:
        raise _as_validation_error(exc, "spec.") from None
