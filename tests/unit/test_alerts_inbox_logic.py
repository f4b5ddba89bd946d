"""Pure pieces of the inbox and the Alerts page (no database): grouping, the navbar bubble, matcher and
filter bounds, and the acknowledged-when-read rule."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from callbacks.alerts import badge
from dashapp.services.alerts import inbox
from dashapp.services.errors import ValidationError

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def _row(i: int, state: str, **labels) -> dict:
    return {"id": i, "state": state, "severity": "warning", "rule": "r", "owner": "", "label_map": labels}


def test_groups_are_biggest_firing_first_and_name_missing_labels():
    rows = [_row(1, "firing", team="risk"), _row(2, "pending", team="ops"), _row(3, "pending", team="ops"),
            _row(4, "firing")]
    groups = inbox.group_rows(rows, ["team"])
    assert [(g["title"], g["count"], g["firing"]) for g in groups] == [
        ("team=(none)", 1, 1), ("team=risk", 1, 1), ("team=ops", 2, 0)]
    assert inbox.group_rows(rows, [])[0]["count"] == 4
    assert [g["key"] for g in inbox.group_rows(rows, ["state", "team"])][:1] == [{"state": "firing", "team": ""}]


def test_badge_shows_unacknowledged_over_firing_coloured_by_the_worst():
    counts = {"firing": 3, "unacknowledged": 2, "by_severity": {
        "critical": {"firing": 1, "unacknowledged": 0}, "high": {"firing": 0, "unacknowledged": 0},
        "warning": {"firing": 2, "unacknowledged": 2}, "info": {"firing": 0, "unacknowledged": 0}}}
    text, colour, title, style = badge(counts)
    assert (text, colour, style["display"]) == ("2/3", "warning", "inline-block")
    assert "2 of 3 firing alerts not acknowledged (critical 0/1, warning 2/2)" in title
    quiet = badge({"firing": 0, "unacknowledged": 0, "by_severity": {}})
    assert quiet[3]["display"] == "none" and quiet[2] == "No alert is firing"
    assert badge({**counts, "unacknowledged": 0, "by_severity": {"critical": {"firing": 3, "unacknowledged": 0}}})[1] \
        == "secondary"


def test_acknowledged_is_computed_when_read():
    acked = SimpleNamespace(acknowledged_at=NOW, ack_expires_at=NOW + timedelta(minutes=5), acknowledged_by="a")
    assert inbox.ack_text(acked, NOW) == "a until 12-04 12:05"
    assert inbox.ack_text(acked, NOW + timedelta(minutes=5)) == "expired"
    forever = SimpleNamespace(acknowledged_at=NOW, ack_expires_at=None, acknowledged_by="b")
    assert inbox.ack_text(forever, NOW + timedelta(days=30)) == "b"


@pytest.mark.parametrize("bad, field", [
    ({"labels": "x" * 1001}, "labels"), ({"labels": [["team", "~~", "x"]]}, "labels"),
    ({"owner": "o" * 65}, "owner"), ({"rule_id": "-1"}, "rule_id"), ({"rule_id": 2**40}, "rule_id"),
    ({"states": ["firing"] * 9}, "state"), ({"text": "a\u0085b"}, "text"),
])
def test_filter_values_out_of_bounds_name_their_field(bad, field):
    with pytest.raises(ValidationError) as err:
        inbox.make_filter(**bad)
    assert err.value.field == field


def test_matchers_follow_alertmanager_semantics():
    [m] = inbox.parse_matchers("venue=~X.*")
    assert m.matches({"venue": "XNAS"}) and not m.matches({"venue": "ARCA"}) and not m.matches({})
    [neg] = inbox.parse_matchers([["team", "!=", "risk"]])
    assert neg.matches({}) and not neg.matches({"team": "risk"})
    assert inbox.labels_text({"alertname": "x", "b": "2", "a": "1"}) == "a=1, b=2"
