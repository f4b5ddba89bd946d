"""What alert rules can watch: a registry of metric sources and event sources.

A metric source answers "what is the value now, per label set" (threshold, composite, expression)
and, when it can, "what were the values between two instants" (anomaly, predictive, and the rule
preview that replays stored history). An event source answers "which events of this kind happened
between two instants" (pattern rules: 5 rejects in 60 s). Sources read the store through services;
they never raise for missing data: an empty answer becomes the NoData state of the rule.

Each area registers its sources at import time of its own module (`register_metric(...)`), listed in
`SOURCE_MODULES` so the evaluator imports them all before evaluating.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

Labels = dict[str, str]


@dataclass(frozen=True)
class Sample:
    labels: Labels
    value: float | None  # None = no data for this label set


@dataclass(frozen=True)
class Series:
    labels: Labels
    times: list[datetime]  # ascending, UTC
    values: list[float]


@dataclass(frozen=True)
class Event:
    at: datetime
    labels: Labels
    detail: str = ""


@dataclass(frozen=True)
class MetricSource:
    name: str  # dotted: "risk.limit_utilisation"
    title: str  # shown in the rule editor
    unit: str  # "%", "ms", "count", "USD", "s", ...
    labels: tuple[str, ...]  # the label names its samples carry
    current: Callable[[datetime], list[Sample]]
    history: Callable[[datetime, datetime], list[Series]] | None = None


@dataclass(frozen=True)
class EventSource:
    name: str  # "execution.reject"
    title: str
    labels: tuple[str, ...]
    between: Callable[[datetime, datetime], list[Event]]


@dataclass
class _Registry:
    metrics: dict[str, MetricSource] = field(default_factory=dict)
    events: dict[str, EventSource] = field(default_factory=dict)


_REGISTRY = _Registry()

# Modules that register sources when imported (each area appends its own).
SOURCE_MODULES: list[str] = [
    "dashapp.services.alerts.sources_risk",
    "dashapp.services.alerts.sources_execution",
    "dashapp.services.alerts.sources_engines",
    "dashapp.services.alerts.sources_jobs",
    "dashapp.services.alerts.sources_data",
    "dashapp.services.alerts.sources_models",  # model drift, decay and age (model operations)
    "dashapp.services.alerts.sources_ops",  # process up/down, heartbeat age, queue depth, SLO burn (operations)
]


def register_metric(source: MetricSource) -> None:
    _REGISTRY.metrics[source.name] = source


def register_events(source: EventSource) -> None:
    _REGISTRY.events[source.name] = source


def load_sources() -> None:
    for module in SOURCE_MODULES:
        importlib.import_module(module)


def metric(name: str) -> MetricSource | None:
    load_sources()
    return _REGISTRY.metrics.get(name)


def event_source(name: str) -> EventSource | None:
    load_sources()
    return _REGISTRY.events.get(name)


def metric_names() -> list[str]:
    load_sources()
    return sorted(_REGISTRY.metrics)


def event_names() -> list[str]:
    load_sources()
    return sorted(_REGISTRY.events)
