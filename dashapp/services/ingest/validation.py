"""Validating a whole batch in one call of pydantic's compiled core.

Each item model in `schemas` gets a dict form: a TypedDict with the same fields, constraints,
defaults and config, plus the model's cross-field checks. Validating into plain dicts is about
three times cheaper than building a model instance per item (most of the difference is garbage
collector work on the extra objects each instance carries), and the writers read the values
straight from the dicts. The models stay the documented schema; a test keeps the two forms equal.

Two bounds are checked per batch after pydantic, on the validated values (`BatchRules`): timestamps
inside the accepted window (it moves with the server's clock, so it cannot be a static schema
bound) and no subnormal floats in fields that may be zero or negative (a static bound can only
exclude them from positive fields). Both run as C-level min/max passes over a column of the
batch; only a batch that fails them is walked item by item, to name each bad item and field.
"""
from __future__ import annotations

import datetime as dt
import types
import typing
from dataclasses import dataclass
from operator import itemgetter
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticError
from typing_extensions import NotRequired, Required, TypedDict

from dashapp.services import bounds
from dashapp.services.errors import ValidationError
from dashapp.services.fields import CONTROL_MESSAGE, MIN_NORMAL, NO_CONTROL


def dict_form(model) -> object:
    """The TypedDict twin of an item model (with its `item_check` rules as an after-validator)."""
    fields = {}
    for name, info in model.model_fields.items():
        annotated = Annotated[info.annotation, info]  # FieldInfo carries constraints and default
        fields[name] = Required[annotated] if info.is_required() else NotRequired[annotated]
    form = TypedDict(f"{model.__name__}Dict", fields)
    form.__pydantic_config__ = ConfigDict(**model.model_config)  # extra="forbid", whitespace stripping, ...
    checks = []
    for decorator in model.__pydantic_decorators__.model_validators.values():
        check = getattr(decorator.func, "check", None)
        if check is None or decorator.info.mode != "after":
            raise TypeError(f"{model.__name__}: write cross-field rules with schemas.item_check")
        checks.append(check)
    if not checks:
        return form

    def run_checks(values: dict) -> dict:
        for check in checks:
            check(values)
        return values

    return Annotated[form, AfterValidator(run_checks)]


def batch_adapter(model) -> TypeAdapter:
    return TypeAdapter(list[dict_form(model)])


def envelope_adapter(model, max_items: int) -> TypeAdapter:
    """A whole request body, `{"engine_id": ..., "items": [...]}`, validated from its JSON bytes in
    one pass (no intermediate Python objects from json.loads). Used only as a fast path: a body it
    refuses goes through the general path, which words every refusal."""
    items = Annotated[list[dict_form(model)], Field(min_length=1, max_length=max_items)]
    return TypeAdapter(TypedDict(f"{model.__name__}Batch", {"engine_id": Required[Any], "items": Required[items]}))


def _message(error: dict) -> str:
    if error["type"] == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == NO_CONTROL:
        return CONTROL_MESSAGE  # the pattern itself would tell a person nothing
    return error["msg"]


def problems(err: PydanticError) -> list[dict]:
    """pydantic's errors as {index, field, message}: which item, which field ("(item)" for a rule
    across fields), and why."""
    out = []
    for e in err.errors(include_url=False):
        loc = list(e["loc"])
        index = loc.pop(0) if loc and isinstance(loc[0], int) else None
        out.append({"index": index, "field": ".".join(str(p) for p in loc) or "(item)", "message": _message(e)})
    return out


def refusal(found: list[dict]) -> ValidationError:
    return ValidationError(f"batch refused: {len({p['index'] for p in found})} bad item(s); nothing was stored",
                           field="items", details=found[:200])


def validate(adapter: TypeAdapter, items: list) -> list[dict]:
    try:
        return adapter.validate_python(items)
    except PydanticError as err:
        raise refusal(problems(err)) from None


# --- bounds checked per batch -------------------------------------------------------------------

@dataclass(frozen=True)
class BatchRules:
    times: tuple[str, ...]  # timestamp fields: inside the accepted window
    optional_times: tuple[str, ...]  # the subset that may be None
    non_negative: tuple[str, ...]  # float fields that may be zero: no subnormals
    signed: tuple[str, ...]  # float fields that may be negative: no subnormals either side


def _members(annotation) -> tuple:
    """The plain types an annotation admits (`Price | None` -> (float, NoneType))."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(annotation) for t in _members(arg))
    return (annotation,)


def _lower_bounds(metadata) -> list[float]:
    found = []
    for m in metadata:
        found += [getattr(m, name) for name in ("ge", "gt") if getattr(m, name, None) is not None]
        found += _lower_bounds(getattr(m, "metadata", ()))  # a FieldInfo inside Annotated carries its own
    return found


def _lowest(info) -> float | None:
    """The field's lower bound, also when it sits inside an optional (`Price | None`)."""
    found = _lower_bounds(info.metadata)
    for arg in typing.get_args(info.annotation):
        if typing.get_origin(arg) is Annotated:
            found += _lower_bounds(typing.get_args(arg)[1:])
    return min(found) if found else None


def batch_rules(model) -> BatchRules:
    times, optional, non_negative, signed = [], [], [], []
    for name, info in model.model_fields.items():
        members = _members(info.annotation)
        if any(t is AwareDatetime or t is dt.datetime for t in members):
            times.append(name)
            if type(None) in members:
                optional.append(name)
        elif float in members:
            lowest = _lowest(info)
            if lowest is None or lowest < 0:
                signed.append(name)
            elif lowest < MIN_NORMAL:
                non_negative.append(name)
    return BatchRules(tuple(times), tuple(optional), tuple(non_negative), tuple(signed))


def _inside(window: bounds.TimeWindow, moment: dt.datetime) -> bool:
    try:
        return window.contains(moment)
    except OverflowError:  # year 1 or 9999 with an offset: far outside any window
        return False


def _window() -> bounds.TimeWindow:
    from flask import has_app_context

    if has_app_context():
        return bounds.time_window()
    from dashapp.config import Settings  # outside an app (unit tests, scripts): the documented defaults

    return bounds.time_window(types.SimpleNamespace(data_epoch=Settings.data_epoch,
                                                    max_future_seconds=Settings.max_future_seconds))


def check_batch(rules: BatchRules, items: list[dict]) -> None:
    """Refuse the batch (naming each item and field) if a timestamp is outside the window or a
    float is subnormal. The common case costs a few C-level passes per field (map, filter, min,
    max); only a failing batch is walked in Python."""
    found: list[dict] = []
    window = None
    for name in rules.times:
        get = itemgetter(name)
        if name in rules.optional_times:
            if not any(map(get, items)):  # most lifecycle stamps are empty: one cheap pass
                continue
            values = list(filter(None, map(get, items)))  # datetimes are truthy; drops None
        else:
            values = list(map(get, items))
        window = window or _window()
        try:
            if window.earliest <= min(values) and max(values) <= window.latest:
                continue
        except OverflowError:
            pass
        message = (f"must be between {window.earliest.isoformat()} (COCKPIT_DATA_EPOCH) and "
                   f"{window.latest.isoformat(timespec='seconds')} (now + COCKPIT_MAX_FUTURE_SECONDS)")
        found.extend({"index": index, "field": name, "message": message}
                     for index, item in enumerate(items)
                     if item[name] is not None and not _inside(window, item[name]))
    for name in rules.non_negative + rules.signed:
        values = filter(None, map(itemgetter(name), items))  # drops 0.0 and None
        smallest = min(values if name in rules.non_negative else map(abs, values), default=MIN_NORMAL)
        if smallest >= MIN_NORMAL:
            continue
        found.extend({"index": index, "field": name, "message": "must not be subnormal (0 < |x| < 2.2e-308)"}
                     for index, item in enumerate(items) if item[name] and abs(item[name]) < MIN_NORMAL)
    if found:
        found.sort(key=lambda p: p["index"])
        raise refusal(found)
