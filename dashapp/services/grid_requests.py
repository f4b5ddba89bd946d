"""Validation of ag-grid's infinite-row-model requests (getRowsRequest) before they reach SQL.

The request comes from the browser, so anyone can craft it: a list instead of a number, a page of
a billion rows, a sort on a column that does not exist, a filter value with a NUL byte (PostgreSQL
refuses it with an error, not an empty result) or a filter shape the query cannot express. Each is
refused here with a `ValidationError` naming the part of the request (`getRowsRequest.endRow`,
`getRowsRequest.filterModel.status`, ...); the page shows that message instead of rows.

The grid's columns are the caller's (the blotter's `COLUMNS`: column id -> SQL expression), so
this module knows ag-grid's request shape and the desk's bounds, not any table. A column's SQL type
decides which filters it takes: a text filter on a number column (or the reverse) is an error in
PostgreSQL, so it is refused here; a date column can be sorted, not filtered.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import sqlalchemy as sa

from dashapp.services.bounds import MAX_ABS_AMOUNT, has_control_characters
from dashapp.services.errors import ValidationError

MAX_ROWS_PER_REQUEST = 1000
# Far beyond any real scroll position (a million rows is 10k blocks of 100), yet an OFFSET that
# PostgreSQL and SQLite both take as a plain integer.
MAX_START_ROW = 10_000_000
MAX_FILTER_TEXT = 200
MAX_SET_VALUES = 500
MAX_SORT_COLUMNS = 5

TEXT_OPERATORS = frozenset({"equals", "notEqual", "contains", "notContains", "startsWith", "endsWith"})
NUMBER_OPERATORS = frozenset({"equals", "notEqual", "greaterThan", "greaterThanOrEqual", "lessThan",
                              "lessThanOrEqual"})
SORT_DIRECTIONS = frozenset({"asc", "desc"})

_FIELD = "getRowsRequest"


@dataclass(frozen=True)
class RowsRequest:
    """A request that passed every check: safe to turn into SQL."""

    start: int
    end: int
    sort_model: list[dict] = field(default_factory=list)
    filter_model: dict[str, dict] = field(default_factory=dict)


def _row_index(raw: dict, key: str, default: int) -> int:
    value = raw.get(key, default)
    # bool is an int in Python; ag-grid never sends one, so `true` is a crafted request.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{key} must be a whole number", field=f"{_FIELD}.{key}")
    if not 0 <= value <= MAX_START_ROW + MAX_ROWS_PER_REQUEST:
        raise ValidationError(f"{key} must be between 0 and {MAX_START_ROW}", field=f"{_FIELD}.{key}")
    return value


def _text_value(value, where: str) -> str:
    if not isinstance(value, str):
        raise ValidationError("filter value must be text", field=where)
    if len(value) > MAX_FILTER_TEXT:
        raise ValidationError(f"filter value is longer than {MAX_FILTER_TEXT} characters", field=where)
    if has_control_characters(value):
        raise ValidationError("filter value contains control characters", field=where)
    return value


def _number_value(value, where: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError("filter value must be a number", field=where)
    if not math.isfinite(value) or abs(value) > MAX_ABS_AMOUNT:
        raise ValidationError(f"filter value must be a finite number within ±{MAX_ABS_AMOUNT:g}", field=where)
    return value


def column_kinds(columns: Mapping[str, sa.ColumnElement]) -> dict[str, str | None]:
    """'number', 'text' or None (sortable only) per column id, from each expression's SQL type."""
    kinds = {}
    for column, expr in columns.items():
        sql_type = expr.type
        if isinstance(sql_type, (sa.Integer, sa.Numeric, sa.Float)):
            kinds[column] = "number"
        elif isinstance(sql_type, (sa.String, sa.Enum)):
            kinds[column] = "text"
        else:
            kinds[column] = None
    return kinds


def _filter_spec(column: str, spec, column_kind: str) -> dict:
    where = f"{_FIELD}.filterModel.{column}"
    if not isinstance(spec, dict):
        raise ValidationError("a column filter must be an object", field=where)
    if "conditions" in spec or "operator" in spec or "condition1" in spec:
        raise ValidationError("combined (AND/OR) filters are not supported: use one condition per column",
                              field=where)
    kind = spec.get("filterType", "text")
    if kind == "set":
        values = spec.get("values")
        if not isinstance(values, list) or len(values) > MAX_SET_VALUES:
            raise ValidationError(f"a set filter needs a list of at most {MAX_SET_VALUES} values", field=where)
        check = _number_value if column_kind == "number" else _text_value
        return {"filterType": "set", "values": [check(v, where) for v in values]}
    if kind != column_kind:
        raise ValidationError(f"{column!r} takes a {column_kind} filter, not {str(kind)[:20]!r}", field=where)
    operator = spec.get("type", "equals")
    if kind == "number":
        if operator not in NUMBER_OPERATORS:
            raise ValidationError(f"unknown number filter {operator!r}", field=where)
        return {"filterType": "number", "type": operator, "filter": _number_value(spec.get("filter"), where)}
    if kind == "text":
        if operator not in TEXT_OPERATORS:
            raise ValidationError(f"unknown text filter {operator!r}", field=where)
        return {"filterType": "text", "type": operator, "filter": _text_value(spec.get("filter"), where)}
    raise ValidationError(f"unknown filter type {kind!r}", field=where)


def _sort_model(raw, sortable: frozenset[str]) -> list[dict]:
    where = f"{_FIELD}.sortModel"
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_SORT_COLUMNS:
        raise ValidationError(f"sortModel must be a list of at most {MAX_SORT_COLUMNS} columns", field=where)
    model = []
    for item in raw:
        if not isinstance(item, dict) or item.get("colId") not in sortable:
            column = item.get("colId") if isinstance(item, dict) else item
            raise ValidationError(f"cannot sort on {str(column)[:40]!r}", field=where)
        if item.get("sort") not in SORT_DIRECTIONS:
            raise ValidationError("sort must be 'asc' or 'desc'", field=where)
        model.append({"colId": item["colId"], "sort": item["sort"]})
    return model


def parse_rows_request(raw, columns: Mapping[str, sa.ColumnElement]) -> RowsRequest:
    """Check a getRowsRequest against the grid's columns; raise ValidationError naming the bad part."""
    kinds = column_kinds(columns)
    if not isinstance(raw, dict):
        raise ValidationError("the grid request must be an object", field=_FIELD)
    start, end = _row_index(raw, "startRow", 0), _row_index(raw, "endRow", 100)
    if start >= end:
        raise ValidationError("need startRow < endRow", field=f"{_FIELD}.startRow")
    if end - start > MAX_ROWS_PER_REQUEST:
        raise ValidationError(f"at most {MAX_ROWS_PER_REQUEST} rows per request", field=f"{_FIELD}.endRow")
    filters = raw.get("filterModel") or {}
    if not isinstance(filters, dict):
        raise ValidationError("filterModel must be an object", field=f"{_FIELD}.filterModel")
    filter_model = {}
    for column, spec in filters.items():
        if kinds.get(column) is None:
            raise ValidationError(f"cannot filter on {column[:40]!r}", field=f"{_FIELD}.filterModel")
        filter_model[column] = _filter_spec(column, spec, kinds[column])
    return RowsRequest(start, end, _sort_model(raw.get("sortModel"), frozenset(kinds)), filter_model)
