"""Label matchers, as Alertmanager writes them: `label = value`, `!=`, `=~ regex`, `!~ regex`.

A matcher list is stored as JSON `[[label, op, value], ...]`; every matcher must hold (AND). Regexes
are full matches (anchored, like Alertmanager) compiled with RE2 (`google-re2`), which runs in time
linear in the input: no pattern can backtrack catastrophically, so a user's regex cannot stall the
dispatcher. Patterns are validated before they are stored (length cap, RE2 syntax) and compiled once
per process (`_compile` is cached)."""
from __future__ import annotations

import functools
import re

import re2

from dashapp.services import bounds
from dashapp.services.errors import ValidationError

OPS = ("=", "!=", "=~", "!~")
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_VALUE = 200  # characters in a value or a pattern
MAX_MATCHERS = 20
# `label op value` in one string; the operator is the first of =~ !~ != = after the name.
_TEXT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")

Matcher = tuple[str, str, str]


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str):
    options = re2.Options()
    options.max_mem = 1 << 20  # 1 MiB of automaton per pattern
    options.log_errors = False
    return re2.compile(f"^(?:{pattern})$", options)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_one(item, field: str = "matchers") -> Matcher:
    """One matcher from `[label, op, value]` or from the text `label op value`; raises ValidationError."""
    if isinstance(item, str):
        if len(item) > MAX_VALUE + 80:
            raise ValidationError(f"{field}: a matcher is at most {MAX_VALUE + 80} characters", field=field)
        found = _TEXT.match(item)
        if found is None:
            raise ValidationError(f"{field}: {item!r} is not 'label op value' with op one of {', '.join(OPS)}",
                                  field=field)
        item = [found.group(1), found.group(2), _unquote(found.group(3))]
    if not isinstance(item, (list, tuple)) or len(item) != 3 or not all(isinstance(p, str) for p in item):
        raise ValidationError(f"{field}: each matcher is [label, op, value] of three strings", field=field)
    label, op, value = item
    if not LABEL_NAME.match(label):
        raise ValidationError(f"{field}: label name {label[:70]!r} must be letters, digits and _ (not starting "
                              "with a digit), at most 64 characters", field=field)
    if op not in OPS:
        raise ValidationError(f"{field}: operator {op[:10]!r} must be one of {', '.join(OPS)}", field=field)
    if len(value) > MAX_VALUE:
        raise ValidationError(f"{field}: the value of {label!r} is longer than {MAX_VALUE} characters", field=field)
    if bounds.has_control_characters(value):
        raise ValidationError(f"{field}: the value of {label!r} must not contain control characters", field=field)
    if op in ("=~", "!~"):
        try:
            _compile(value)
        except Exception as exc:  # re2.error, or a pattern over the memory budget
            reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            reason = reason.split(":")[0]
            raise ValidationError(f"{field}: {value[:60]!r} is not a valid regular expression (RE2 syntax: "
                                  f"{reason[:80]})", field=field) from None
    return (label, op, value)


def parse(items, field: str = "matchers") -> list[list[str]]:
    """A validated matcher list as stored (`[[label, op, value], ...]`). Accepts a list of matchers or
    one string of comma-separated ones (`severity=critical, desk=~"eq.*"`)."""
    if items is None:
        return []
    if isinstance(items, str):
        items = [part for part in (p.strip() for p in _split(items)) if part]
    if not isinstance(items, (list, tuple)):
        raise ValidationError(f"{field} must be a list of matchers", field=field)
    if len(items) > MAX_MATCHERS:
        raise ValidationError(f"{field}: at most {MAX_MATCHERS} matchers", field=field)
    return [list(parse_one(item, field)) for item in items]


def _split(text: str) -> list[str]:
    """Split on commas outside double quotes (a regex may hold a comma: `x=~"a{1,3}"`)."""
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def matches_one(matcher, labels: dict) -> bool:
    label, op, value = matcher
    actual = str(labels.get(label, ""))  # a missing label matches the empty string, as in Alertmanager
    if op == "=":
        return actual == value
    if op == "!=":
        return actual != value
    found = _compile(value).match(actual) is not None
    return found if op == "=~" else not found


def matches(matchers, labels: dict) -> bool:
    """True when every matcher holds for `labels` (an empty list matches everything)."""
    return all(matches_one(m, labels) for m in matchers or ())


def to_text(matchers) -> str:
    """The list as one line, e.g. `severity="critical", desk=~"eq.*"`."""
    return ", ".join(f'{label}{op}"{value}"' for label, op, value in matchers or ())
