"""The alerter's pure parts: which metrics a rule watches (for bus wake-ups) and the tick setting."""
from __future__ import annotations

from types import SimpleNamespace

from dashapp.services.alerts.runner import WAKE_TOPICS, tick_seconds, watched_names


def test_watched_names_per_kind():
    assert watched_names("threshold", {"metric": "risk.var_99"}) == {"risk.var_99"}
    assert watched_names("pattern", {"source": "engine.fault"}) == {"engine.fault"}
    assert watched_names("composite", {"conditions": [{"metric": "a.b"}, {"metric": "c.d"}]}) == {"a.b", "c.d"}
    assert watched_names("expression", {"text": 'risk.x{l="1"} > 1 and avg(pnl.equity, 60) < 2'}) == {
        "risk.x", "pnl.equity"}
    assert watched_names("expression", {"text": "not an expression ("}) == set()
    assert watched_names("threshold", None) == set()


def test_breaches_and_faults_wake_the_rules_that_watch_them():
    assert "risk." in WAKE_TOPICS["risk.breach"] and "engine." in WAKE_TOPICS["ingest.events"]


def test_tick_from_settings_or_environment_bounded(monkeypatch):
    monkeypatch.delenv("COCKPIT_ALERTS_TICK_SECONDS", raising=False)
    assert tick_seconds() == 1.0
    monkeypatch.setenv("COCKPIT_ALERTS_TICK_SECONDS", "0.25")
    assert tick_seconds() == 0.25
    for raw, expected in (("nonsense", 1.0), ("0", 0.05), ("1e9", 60.0)):
        monkeypatch.setenv("COCKPIT_ALERTS_TICK_SECONDS", raw)
        assert tick_seconds() == expected
    assert tick_seconds(SimpleNamespace(extra={"alerts_tick_seconds": "2"})) == 2.0
