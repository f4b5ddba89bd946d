"""Routing an alert's labels through the policy tree (Alertmanager's semantics).

Start at the root (matches everything). Try its children in order: each child that matches routes
the alert further down its own subtree; the first match stops the search unless that child says
`continue_matching`. A node none of whose children match is a route. A route without an effective
contact point (or with a disabled/deleted one) is "no_route"."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from dashapp.services.alerts import matchers as matcher_lib
from dashapp.services.alerts.policies import EVERY_LABEL, Effective, children_of, effective_all
from models.alerts import NotificationPolicy


@dataclass(frozen=True)
class Route:
    policy: Effective
    group_labels: tuple[tuple[str, str], ...]
    group_key: str  # sha256 of (policy id, group labels)


class Tree:
    """The tree loaded once per dispatch pass."""

    def __init__(self, policies: list[NotificationPolicy]):
        self.children = children_of(policies)
        self.effective = effective_all(policies)
        tops = self.children.get(None, [])
        self.root = tops[0] if tops else None

    def leaves(self, labels: dict) -> list[Effective]:
        if self.root is None:
            return []
        return [self.effective[node.id] for node in self._match(self.root, labels, 0)]

    def _match(self, node: NotificationPolicy, labels: dict, depth: int) -> list[NotificationPolicy]:
        found: list[NotificationPolicy] = []
        for child in self.children.get(node.id, []) if depth < 8 else []:
            if child.id not in self.effective or not matcher_lib.matches(child.matchers, labels):
                continue
            found.extend(self._match(child, labels, depth + 1))
            if not child.continue_matching:
                break
        return found or [node]

    def routes(self, labels: dict) -> list[Route]:
        return [route_for(eff, labels) for eff in self.leaves(labels)]


def group_labels(eff: Effective, labels: dict) -> tuple[tuple[str, str], ...]:
    if EVERY_LABEL in eff.group_by:
        return tuple(sorted((k, str(v)) for k, v in labels.items()))
    return tuple((name, str(labels.get(name, ""))) for name in sorted(eff.group_by))


def route_for(eff: Effective, labels: dict) -> Route:
    grouped = group_labels(eff, labels)
    key = hashlib.sha256(json.dumps([eff.policy_id, grouped], separators=(",", ":")).encode()).hexdigest()
    return Route(policy=eff, group_labels=grouped, group_key=key)
