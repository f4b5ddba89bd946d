"""The notification policy tree: CRUD with validation, and the effective settings of each node.

The root (parent_id NULL) matches every alert and must name a contact point. Children are tried in
`position` order; the first that matches wins unless it says `continue_matching` (then the next
siblings are tried too); a node whose children all miss is the route. A child inherits from its
parent whatever it leaves NULL: contact point, group_by and the three timings; and the escalation
ladder when its own is empty. Mute/active timings belong to the node itself.

Timings are validated on the EFFECTIVE values of every node of the tree after the change (a parent's
edit can break a child): group_wait <= group_interval <= repeat_interval, group_wait in 0 s..7 d,
group_interval in 1 s..7 d, repeat_interval in 1 s..30 d."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import audit
from dashapp.services.alerts import matchers as matcher_lib
from dashapp.services.errors import Conflict, NotFound, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import utcnow
from models.alerts import ContactPoint, NotificationPolicy, TimeInterval

DAY = 86_400
ROOT_DEFAULTS = {"group_by": ["alertname"], "group_wait_seconds": 30, "group_interval_seconds": 300,
                 "repeat_interval_seconds": 4 * 3600}
BOUNDS = {"group_wait_seconds": (0, 7 * DAY), "group_interval_seconds": (1, 7 * DAY),
          "repeat_interval_seconds": (1, 30 * DAY)}
TIMINGS = tuple(BOUNDS)
MAX_GROUP_BY, MAX_LEVELS, MAX_CHILDREN, MAX_DEPTH = 20, 5, 100, 8
EVERY_LABEL = "..."


@dataclass(frozen=True)
class Effective:
    """A node's settings after inheritance."""

    policy_id: int
    name: str
    contact_point_id: int | None
    group_by: tuple[str, ...]
    group_wait: int
    group_interval: int
    repeat_interval: int
    mute_timings: tuple[str, ...]
    active_timings: tuple[str, ...]
    escalation: tuple[dict, ...]


def _human(seconds: int) -> str:
    for unit, size in (("d", DAY), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def list_policies() -> list[NotificationPolicy]:
    return list(db.session.execute(sa.select(NotificationPolicy).order_by(
        NotificationPolicy.parent_id.is_not(None), NotificationPolicy.parent_id, NotificationPolicy.position,
        NotificationPolicy.id)).scalars())


def root() -> NotificationPolicy | None:
    return db.session.execute(sa.select(NotificationPolicy).where(NotificationPolicy.parent_id.is_(None))
                              .order_by(NotificationPolicy.id).limit(1)).scalar_one_or_none()


def children_of(policies: list[NotificationPolicy]) -> dict[int | None, list[NotificationPolicy]]:
    tree: dict[int | None, list[NotificationPolicy]] = {}
    for policy in policies:
        tree.setdefault(policy.parent_id, []).append(policy)
    for siblings in tree.values():
        siblings.sort(key=lambda p: (p.position, p.id or 0))
    return tree


def effective_all(policies: list[NotificationPolicy]) -> dict[int, Effective]:
    """Effective settings of every node, walking down from the root."""
    tree, out = children_of(policies), {}

    def walk(node: NotificationPolicy, parent: Effective | None, depth: int) -> None:
        def pick(name: str, default):
            own = getattr(node, name)
            return own if own is not None else default

        eff = Effective(
            policy_id=node.id, name=node.name or ("root" if parent is None else f"#{node.id}"),
            contact_point_id=pick("contact_point_id", parent.contact_point_id if parent else None),
            group_by=tuple(pick("group_by", list(parent.group_by) if parent else ROOT_DEFAULTS["group_by"])),
            group_wait=pick("group_wait_seconds", parent.group_wait if parent else ROOT_DEFAULTS["group_wait_seconds"]),
            group_interval=pick("group_interval_seconds",
                                parent.group_interval if parent else ROOT_DEFAULTS["group_interval_seconds"]),
            repeat_interval=pick("repeat_interval_seconds",
                                 parent.repeat_interval if parent else ROOT_DEFAULTS["repeat_interval_seconds"]),
            mute_timings=tuple(node.mute_timings or ()), active_timings=tuple(node.active_timings or ()),
            escalation=tuple(node.escalation or (parent.escalation if parent else ())))
        out[node.id] = eff
        if depth < MAX_DEPTH:
            for child in tree.get(node.id, []):
                walk(child, eff, depth + 1)

    for top in tree.get(None, [])[:1]:
        walk(top, None, 0)
    return out


def timing_problem(eff: Effective) -> str | None:
    """Why a node's effective timings are not allowed, or None."""
    values = {"group_wait_seconds": eff.group_wait, "group_interval_seconds": eff.group_interval,
              "repeat_interval_seconds": eff.repeat_interval}
    for name, (low, high) in BOUNDS.items():
        if not low <= values[name] <= high:
            return f"{name.removesuffix('_seconds')} must be between {_human(low) if low else '0 s'} and {_human(high)}"
    if eff.group_wait > eff.group_interval:
        return (f"group_wait ({_human(eff.group_wait)}) must not be longer than group_interval "
                f"({_human(eff.group_interval)})")
    if eff.group_interval > eff.repeat_interval:
        return (f"group_interval ({_human(eff.group_interval)}) must not be longer than repeat_interval "
                f"({_human(eff.repeat_interval)})")
    return None


def _seconds(data: dict, name: str):
    value = data.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValidationError(f"{name.removesuffix('_seconds')} must be a whole number of seconds", field=name)
    low, high = BOUNDS[name]
    if not low <= int(value) <= high:
        raise ValidationError(f"{name.removesuffix('_seconds')} must be between {_human(low) if low else '0 s'} "
                              f"and {_human(high)}", field=name)
    return int(value)


def _contact_point_id(data: dict) -> int | None:
    ref = data.get("contact_point", data.get("contact_point_id"))
    if ref in (None, ""):
        return None
    column = ContactPoint.id if isinstance(ref, int) and not isinstance(ref, bool) else ContactPoint.name
    row = db.session.execute(sa.select(ContactPoint).where(column == ref)).scalar_one_or_none()
    if row is None:
        raise ValidationError(f"contact point {str(ref)[:80]!r} does not exist", field="contact_point")
    return row.id


def _names(data: dict, field: str) -> list[str]:
    items = data.get(field) or []
    if not isinstance(items, list) or len(items) > 10 or not all(isinstance(i, str) for i in items):
        raise ValidationError(f"{field} must be a list of at most 10 time interval names", field=field)
    known = set(db.session.execute(sa.select(TimeInterval.name)).scalars())
    missing = [name for name in items if name not in known]
    if missing:
        raise ValidationError(f"{field}: no time interval named {missing[0][:80]!r}", field=field)
    return list(dict.fromkeys(items))


def _group_by(data: dict):
    value = data.get("group_by")
    if value is None:
        return None
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or len(value) > MAX_GROUP_BY:
        raise ValidationError(f"group_by must be a list of at most {MAX_GROUP_BY} label names", field="group_by")
    for name in value:
        if name != EVERY_LABEL and (not isinstance(name, str) or not matcher_lib.LABEL_NAME.match(name)):
            raise ValidationError(f"group_by: {str(name)[:70]!r} is not a label name (or '...' for every label)",
                                  field="group_by")
    return list(dict.fromkeys(value))


def _escalation(data: dict) -> list[dict]:
    levels = data.get("escalation") or []
    if not isinstance(levels, list) or len(levels) > MAX_LEVELS:
        raise ValidationError(f"escalation must be a list of at most {MAX_LEVELS} levels", field="escalation")
    clean, previous = [], 0
    for index, level in enumerate(levels):
        minutes = level.get("after_minutes") if isinstance(level, dict) else None
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 7 * 1440:
            raise ValidationError(f"escalation[{index}].after_minutes must be 1-10080 minutes", field="escalation")
        if minutes <= previous:
            raise ValidationError(f"escalation[{index}].after_minutes must be later than the level before",
                                  field="escalation")
        cp = _contact_point_id({"contact_point": level.get("contact_point")})
        if cp is None:
            raise ValidationError(f"escalation[{index}] needs a contact point", field="escalation")
        clean.append({"after_minutes": minutes, "contact_point": db.session.get(ContactPoint, cp).name})
        previous = minutes
    return clean


def _apply(row: NotificationPolicy, data: dict) -> None:
    name = data.get("name", row.name or "")
    if not isinstance(name, str) or len(name) > 80 or matcher_lib.bounds.has_control_characters(name):
        raise ValidationError("name must be at most 80 characters, no control characters", field="name")
    position = data.get("position", row.position or 0)
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10_000:
        raise ValidationError("position must be a whole number 0-10000", field="position")
    continue_matching = data.get("continue_matching", bool(row.continue_matching))
    if not isinstance(continue_matching, bool):
        raise ValidationError("continue_matching must be true or false", field="continue_matching")
    row.name, row.position, row.continue_matching = name.strip(), position, continue_matching
    row.matchers = matcher_lib.parse(data.get("matchers", row.matchers or []))
    row.contact_point_id = _contact_point_id(data)
    row.group_by = _group_by(data)
    for timing in TIMINGS:
        setattr(row, timing, _seconds(data, timing))
    row.mute_timings, row.active_timings = _names(data, "mute_timings"), _names(data, "active_timings")
    row.escalation = _escalation(data)


def as_dict(row: NotificationPolicy) -> dict:
    """A node's own (not inherited) settings, in the shape `save_policy` takes."""
    return {"name": row.name, "parent_id": row.parent_id, "position": row.position, "matchers": row.matchers or [],
            "contact_point_id": row.contact_point_id, "group_by": row.group_by,
            **{t: getattr(row, t) for t in TIMINGS}, "continue_matching": bool(row.continue_matching),
            "mute_timings": row.mute_timings or [], "active_timings": row.active_timings or [],
            "escalation": row.escalation or []}


def _check_tree(session) -> None:
    policies = list(session.execute(sa.select(NotificationPolicy)).scalars())
    tops = [p for p in policies if p.parent_id is None]
    if len(tops) > 1:
        raise Conflict("the routing tree has one root; add this policy under it", field="parent_id")
    for eff in effective_all(policies).values():
        problem = timing_problem(eff)
        if problem:
            raise ValidationError(f"policy {eff.name!r}: {problem}", field="timings")


def save_policy(actor: str, data: dict, policy_id: int | None = None) -> NotificationPolicy:
    """Create (no id; `data["parent_id"]` None for the root) or update a node. `data` keys: name,
    parent_id, position, matchers, contact_point (name or id), group_by, group_wait_seconds,
    group_interval_seconds, repeat_interval_seconds (None = inherit), continue_matching,
    mute_timings, active_timings (interval names), escalation ([{after_minutes, contact_point}])."""
    if not isinstance(data, dict):
        raise ValidationError("a policy is an object", field="policy")
    with unit_of_work() as session:
        if policy_id is None:
            parent_id = data.get("parent_id")
            if parent_id is not None and (isinstance(parent_id, bool) or not isinstance(parent_id, int)
                                          or not 0 < parent_id < 2**31):
                raise ValidationError("parent_id must be a policy id (or empty for the root)", field="parent_id")
            if parent_id is not None and session.get(NotificationPolicy, parent_id) is None:
                raise ValidationError(f"parent policy {parent_id} does not exist", field="parent_id")
            if parent_id is not None and len(children_of(list_policies()).get(parent_id, [])) >= MAX_CHILDREN:
                raise ValidationError(f"a policy has at most {MAX_CHILDREN} children", field="parent_id")
            row = NotificationPolicy(parent_id=parent_id)
        else:
            row = session.get(NotificationPolicy, policy_id)
            if row is None:
                raise NotFound(f"policy {policy_id} not found")
            data = {**as_dict(row), **data}  # an update changes only the keys it names
        _apply(row, data)
        if row.parent_id is None:
            row.matchers = []  # the root matches everything
            if row.contact_point_id is None:
                raise ValidationError("the root policy needs a contact point", field="contact_point")
        row.updated_by, row.updated_at = actor, utcnow()
        session.add(row)
        session.flush()
        _check_tree(session)
        audit.record(actor, "alerts.policy.save", f"notification_policy:{row.id}",
                     {k: getattr(row, k) for k in ("name", "parent_id", "position", "matchers", "contact_point_id",
                                                   "group_by", *TIMINGS, "continue_matching", "mute_timings",
                                                   "active_timings", "escalation")})
    return row


def delete_policy(actor: str, policy_id: int) -> None:
    """Deletes the node and its subtree; the root cannot be deleted (edit it instead)."""
    with unit_of_work() as session:
        row = session.get(NotificationPolicy, policy_id)
        if row is None:
            raise NotFound(f"policy {policy_id} not found")
        if row.parent_id is None:
            raise Conflict("the root policy cannot be deleted; edit it instead", field="parent_id")
        tree, doomed, stack = children_of(list_policies()), [], [row]
        while stack:
            node = stack.pop()
            doomed.append(node)
            stack.extend(tree.get(node.id, []))
        for node in reversed(doomed):
            session.delete(node)
        audit.record(actor, "alerts.policy.delete", f"notification_policy:{policy_id}",
                     {"name": row.name, "subtree": [n.id for n in doomed]})
