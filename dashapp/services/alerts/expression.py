"""Custom boolean rules in a small, safe grammar (lark, LALR): parsed into a tree of our own nodes and
evaluated by walking it. Nothing is ever passed to eval; names are only metric references and the
three window functions, so a string like `__import__('os')` is a parse error.

    expr     := or ;  or := and ("or" and)* ;  and := not ("and" not)* ;  not := "not" not | cmp
    cmp      := sum [(">" | ">=" | "<" | "<=" | "==" | "!=") sum]
    sum      := product (("+" | "-") product)* ;  product := unary (("*" | "/") unary)*
    unary    := "-" unary | atom
    atom     := NUMBER | "(" expr ")" | ref | ("avg" | "max" | "min") "(" ref "," SECONDS ")"
    ref      := metric("risk.limit_utilisation", limit="net_exposure")
              | risk.limit_utilisation{limit="net_exposure"}        (short form; labels optional)

A metric reference is a vector: one value per label set. Arithmetic and comparisons between vectors
join on the labels both sides carry (a single unlabelled sample, like total VaR, joins with
everything); `and` keeps label sets present on both sides, `or` the union. The expression's result
must be a comparison (or a boolean of comparisons): one alert instance per resulting label set, its
value the left-hand side of the comparison that produced it.

Bounded: 1000 characters, 64 levels of nesting, numbers finite and within the desk's amounts, a window
function's window 1 s .. 30 days.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from dashapp.services import bounds

MAX_LENGTH = 1000
MAX_DEPTH = 64
MAX_WINDOW = 30 * 86_400

_GRAMMAR = r"""
?start: or_
?or_: and_ ("or" and_)*  -> or_
?and_: not_ ("and" not_)* -> and_
?not_: "not" not_ -> neg_bool
     | cmp
?cmp: sum (CMP sum)?
?sum: product (ADD product)*
?product: unary (MUL unary)*
?unary: "-" unary -> neg
      | atom
?atom: NUMBER -> number
     | "(" or_ ")"
     | ref
     | FUNC "(" ref "," NUMBER ")" -> window
ref: "metric" "(" STRING ("," label)* ")" -> metric_call
   | METRIC ("{" [label ("," label)*] "}")? -> metric_short
label: NAME "=" STRING
CMP: ">=" | "<=" | "==" | "!=" | ">" | "<"
ADD: "+" | "-"
MUL: "*" | "/"
FUNC.2: "avg" | "max" | "min"
METRIC.1: /[a-z][a-z0-9_]*(\.[a-z0-9][a-z0-9_]*)+/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
STRING: /"[^"\\\x00-\x1f]{0,200}"/
NUMBER: /\d+(\.\d+)?([eE][+-]?\d+)?/
%ignore /[ \t]+/
"""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Ref:
    metric: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Window:
    func: str
    ref: Ref
    seconds: int


@dataclass(frozen=True)
class Op:
    op: str  # + - * / > >= < <= == != and or not neg
    args: tuple


_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_CMP = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq,
        "!=": operator.ne}


def _number(token: Token) -> Num:
    value = float(token)
    if not math.isfinite(value) or abs(value) > bounds.MAX_ABS_AMOUNT:
        raise ValueError(f"number {str(token)[:20]!r} at position {token.column} is out of range "
                         f"(at most {bounds.MAX_ABS_AMOUNT:g} in size)")
    return Num(value)


@v_args(inline=True)
class _Build(Transformer):
    def number(self, token):
        return _number(token)

    def label(self, name, value):
        return (str(name), str(value)[1:-1])

    def metric_call(self, name, *labels):
        return Ref(str(name)[1:-1], tuple(sorted(label for label in labels if label is not None)))

    def metric_short(self, name, *labels):
        return Ref(str(name), tuple(sorted(label for label in labels if label is not None)))

    def window(self, func, ref, seconds):
        value = float(seconds)
        if not (1 <= value <= MAX_WINDOW) or value != int(value):
            raise ValueError(f"window at position {seconds.column} must be whole seconds from 1 to {MAX_WINDOW}")
        return Window(str(func), ref, int(value))

    def neg(self, arg):
        return Op("neg", (arg,))

    def neg_bool(self, arg):
        return Op("not", (arg,))

    def or_(self, *args):
        return _fold("or", args)

    def and_(self, *args):
        return _fold("and", args)

    def cmp(self, left, op, right):
        return Op(str(op), (left, right))

    def sum(self, *items):
        return _chain(items)

    def product(self, *items):
        return _chain(items)


def _fold(op: str, args: tuple):
    node = args[0]
    for arg in args[1:]:
        node = Op(op, (node, arg))
    return node


def _chain(items: tuple):
    node = items[0]
    for index in range(1, len(items), 2):
        node = Op(str(items[index]), (node, items[index + 1]))
    return node


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False)


def _depth_of_brackets(text: str) -> int:
    depth = deepest = 0
    for char in text:
        depth += char == "("
        depth -= char == ")"
        deepest = max(deepest, depth)
    return deepest


def _tree_depth(tree) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in getattr(node, "children", ()))
    return deepest


def _explain(exc: UnexpectedInput, text: str) -> str:
    position = getattr(exc, "column", None)
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        return f"expression ends too early (position {len(text) + 1})"
    if isinstance(exc, UnexpectedToken):
        return f"unexpected {str(exc.token)[:30]!r} at position {position}"
    if isinstance(exc, UnexpectedCharacters):
        return f"unexpected character {text[exc.pos_in_stream]!r} at position {position}"
    return f"cannot parse the expression at position {position}"


@lru_cache(maxsize=512)
def parse(text: str):
    """The expression's tree, or ValueError saying what is wrong and where (1-based position)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"the expression is longer than {MAX_LENGTH} characters")
    if "\n" in text or "\r" in text or any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in text):
        raise ValueError("the expression must be one line without control characters")
    if _depth_of_brackets(text) > MAX_DEPTH // 2:
        raise ValueError(f"the expression nests brackets deeper than {MAX_DEPTH // 2} levels")
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise ValueError(_explain(exc, text)) from None
    if _tree_depth(tree) > MAX_DEPTH:
        raise ValueError(f"the expression nests deeper than {MAX_DEPTH} levels")
    try:
        node = _Build().transform(tree)
    except VisitError as exc:
        raise ValueError(str(exc.orig_exc)) from None
    if isinstance(node, (Num, Ref, Window)) or node.op in ("+", "-", "*", "/", "neg"):
        raise ValueError("the expression must be a comparison, e.g. risk.var_99 > 400000")
    return node


def metric_names(node) -> set[str]:
    names, stack = set(), [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Ref):
            names.add(item.metric)
        elif isinstance(item, Window):
            names.add(item.ref.metric)
        elif isinstance(item, Op):
            stack.extend(item.args)
    return names


# --- evaluation -----------------------------------------------------------------------------------

LabelKey = frozenset  # frozenset of (name, value) pairs
Vector = dict  # LabelKey -> (value, left value for reporting)


@dataclass(frozen=True)
class Context:
    now: datetime
    current: Callable[[str], list]  # metric name -> [Sample(labels, value)]
    history: Callable[[str, datetime, datetime], list]  # metric name, start, end -> [Series]


def _select(labels: dict, wanted: tuple) -> bool:
    return all(labels.get(name) == value for name, value in wanted)


def _ref(ref: Ref, ctx: Context) -> Vector:
    return {frozenset(s.labels.items()): (float(s.value), float(s.value)) for s in ctx.current(ref.metric)
            if s.value is not None and _select(s.labels, ref.labels)}


def _window(node: Window, ctx: Context) -> Vector:
    reduce = {"avg": lambda v: sum(v) / len(v), "max": max, "min": min}[node.func]
    out = {}
    for series in ctx.history(node.ref.metric, ctx.now - timedelta(seconds=node.seconds), ctx.now):
        values = [float(v) for v in series.values if v is not None and math.isfinite(v)]
        if values and _select(series.labels, node.ref.labels):
            value = reduce(values)
            out[frozenset(series.labels.items())] = (value, value)
    return out


def _join(left, right, combine, report: str = "left") -> Vector:
    """Pairs whose shared label names agree; the result carries both sides' labels. The value reported
    for a pair is the combined value (arithmetic), the left operand (comparison) or the left's report."""
    if not isinstance(left, dict):
        left = {frozenset(): (left, left)}
    if not isinstance(right, dict):
        right = {frozenset(): (right, right)}
    out = {}
    for lkey, (lval, lrep) in left.items():
        ldict = dict(lkey)
        for rkey, (rval, _) in right.items():
            if all(ldict.get(name, value) == value for name, value in rkey):
                value = combine(lval, rval)
                if value is not None:
                    out[lkey | rkey] = (value, {"value": value, "operand": lval}.get(report, lrep))
    return out


def _arith(op: str, a, b):
    if op == "/" and b == 0:
        return None  # division by zero: that label set has no value (not an error of the whole rule)
    value = _ARITH[op](a, b)
    return value if math.isfinite(value) else None


def _eval(node, ctx: Context):
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        return _ref(node, ctx)
    if isinstance(node, Window):
        return _window(node, ctx)
    args = [_eval(arg, ctx) for arg in node.args]
    if args[0] is None:
        return None
    if node.op == "neg":
        return -args[0] if not isinstance(args[0], dict) else {k: (-v, -r) for k, (v, r) in args[0].items()}
    if node.op == "not":
        value = args[0]
        return (not value) if not isinstance(value, dict) else {k: (not v, r) for k, (v, r) in value.items()}
    a, b = args
    if a is None or b is None:  # a scalar without a value (1 / 0): `or` keeps the other side
        return (b if a is None else a) if node.op == "or" else None
    if node.op in _ARITH:
        if not isinstance(a, dict) and not isinstance(b, dict):
            return _arith(node.op, a, b)
        return _join(a, b, lambda x, y: _arith(node.op, x, y), report="value")
    if node.op in _CMP:
        if not isinstance(a, dict) and not isinstance(b, dict):
            return bool(_CMP[node.op](a, b))
        return _join(a, b, lambda x, y: bool(_CMP[node.op](x, y)), report="operand")
    return _logic(node.op, a, b)


def _logic(op: str, a, b):
    combine = (lambda x, y: bool(x) and bool(y)) if op == "and" else (lambda x, y: bool(x) or bool(y))
    if not isinstance(a, dict) and not isinstance(b, dict):
        return combine(a, b)
    joined = _join(a, b, combine)
    if op == "or":  # label sets on one side only keep their own verdict
        for side in (a, b):
            if isinstance(side, dict):
                for key, (value, rep) in side.items():
                    if not any(key <= k for k in joined):
                        joined[key] = (bool(value), rep)
    return joined


def evaluate(node, ctx: Context) -> list[tuple[dict, bool, float | None]]:
    """[(labels, condition, value)] for every label set the expression produced (none = no data)."""
    result = _eval(node, ctx)
    if not isinstance(result, dict):
        if result is None:
            return []
        return [({}, bool(result), None)]
    return [(dict(key), bool(value), rep if isinstance(rep, float) else None) for key, (value, rep) in result.items()]
