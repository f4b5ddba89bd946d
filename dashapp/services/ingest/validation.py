"""Validating a whole batch in one call of pydantic's compiled core.

Each item model in `schemas` gets a dict form: a TypedDict with the same fields, constraints,
defaults and config, plus the model's cross-field checks. Validating into plain dicts is about
three times cheaper than building a model instance per item (most of the difference is garbage
collector work on the extra objects each instance carries), and the writers read the values
straight from the dicts. The models stay the documented schema; a test keeps the two forms equal.
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticError
from typing_extensions import NotRequired, Required, TypedDict

from dashapp.services.errors import ValidationError


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


def problems(err: PydanticError) -> list[dict]:
    """pydantic's errors as {index, field, message}: which item, which field ("(item)" for a rule
    across fields), and why."""
    out = []
    for e in err.errors(include_url=False):
        loc = list(e["loc"])
        index = loc.pop(0) if loc and isinstance(loc[0], int) else None
        out.append({"index": index, "field": ".".join(str(p) for p in loc) or "(item)", "message": e["msg"]})
    return out


def validate(adapter: TypeAdapter, items: list) -> list[dict]:
    try:
        return adapter.validate_python(items)
    except PydanticError as err:
        found = problems(err)
        raise ValidationError(f"batch refused: {len({p['index'] for p in found})} bad item(s); nothing was stored",
                              field="items", details=found[:200]) from None
