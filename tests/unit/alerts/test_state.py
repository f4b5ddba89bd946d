"""The alert state machine (services/alerts/state.py), exhaustively, without a database."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from dashapp.services.alerts import state as sm
from dashapp.services.alerts.state import (ERROR, FIRING, NODATA, NORMAL, PENDING, RECOVERING, InstanceState,
                                           Observation, fingerprint, step)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
TRUE, FALSE = Observation("true", 104.0), Observation("false", 50.0)
NO_DATA, FAILED = Observation("nodata"), Observation("error", summary="ZeroDivisionError: boom")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(seq, pending=0, keep=0, start=None):
    """Apply (seconds, observation) pairs; return the final state and every transition as (from, to)."""
    cur, moves = start or InstanceState(), []
    for seconds, obs in seq:
        result = step(cur, obs, at(seconds), pending, keep)
        cur = result.state
        moves += [(t.from_state, t.to_state) for t in result.transitions]
    return cur, moves


def acked(cur: InstanceState, **extra) -> InstanceState:
    return replace(cur, acknowledged_by="ann", acknowledged_at=at(1), ack_expires_at=at(3600),
                   snoozed_until=at(600), silenced_until_resolved=True, escalation_level=2, assignee="bob", **extra)


def test_pending_period_then_firing_then_recovering_then_normal():
    cur, moves = run([(0, TRUE), (10, TRUE), (30, TRUE), (40, FALSE), (50, FALSE), (70, FALSE)], pending=30, keep=30)
    assert moves == [(NORMAL, PENDING), (PENDING, FIRING), (FIRING, RECOVERING), (RECOVERING, NORMAL)]
    assert cur.state == NORMAL and cur.episode == 1
    assert cur.pending_since == at(0) and cur.firing_since == at(30) and cur.resolved_at == at(70)
    assert cur.last_evaluated_at == at(70) and cur.value == 50.0


def test_pending_zero_goes_straight_to_firing_writing_both_transitions():
    result = step(InstanceState(), TRUE, at(0), 0, 0)
    assert [(t.from_state, t.to_state, t.episode) for t in result.transitions] == [
        (NORMAL, PENDING, 1), (PENDING, FIRING, 1)]
    assert result.state.state == FIRING and result.state.firing_since == at(0) and result.state.state_since == at(0)
    assert all(t.value == 104.0 for t in result.transitions)


def test_pending_that_clears_never_fires():
    cur, moves = run([(0, TRUE), (5, FALSE)], pending=30)
    assert moves == [(NORMAL, PENDING), (PENDING, NORMAL)]
    assert cur.firing_since is None and cur.resolved_at is None and cur.pending_since is None


def test_firing_without_keep_firing_resolves_at_once():
    cur, moves = run([(0, TRUE), (5, FALSE)])
    assert moves[-1] == (FIRING, NORMAL) and cur.resolved_at == at(5)


def test_keep_firing_returns_to_firing_in_the_same_episode():
    cur, moves = run([(0, TRUE), (5, FALSE), (10, TRUE), (20, FALSE), (24, FALSE)], keep=5)
    assert moves == [(NORMAL, PENDING), (PENDING, FIRING), (FIRING, RECOVERING), (RECOVERING, FIRING),
                     (FIRING, RECOVERING)]
    assert cur.state == RECOVERING and cur.episode == 1 and cur.recovering_since == at(20)
    cur, moves = run([(25, FALSE)], keep=5, start=cur)
    assert moves == [(RECOVERING, NORMAL)] and cur.resolved_at == at(25)


def test_recovering_before_keep_firing_elapses_stays():
    cur, moves = run([(0, TRUE), (5, FALSE), (9, FALSE)], keep=5)
    assert cur.state == RECOVERING and moves[-1] == (FIRING, RECOVERING)


@pytest.mark.parametrize("prior", [NORMAL, PENDING, FIRING, RECOVERING, NODATA, ERROR])
@pytest.mark.parametrize("obs", [TRUE, FALSE, NO_DATA, FAILED], ids=["true", "false", "nodata", "error"])
@pytest.mark.parametrize("pending,keep", [(0, 0), (30, 0), (0, 30), (30, 30)])
def test_a_duplicate_evaluation_changes_nothing(prior, obs, pending, keep):
    start = acked(InstanceState(state=prior, episode=3, state_since=at(-5), pending_since=at(-5),
                                firing_since=at(-5) if prior in (FIRING, RECOVERING) else None,
                                recovering_since=at(-5) if prior == RECOVERING else None))
    once = step(start, obs, at(0), pending, keep).state
    twice = step(once, obs, at(0), pending, keep)
    assert twice.transitions == [] and twice.state == once


@pytest.mark.parametrize("prior", [NORMAL, NODATA, ERROR])
def test_a_new_episode_clears_the_human_fields_but_keeps_the_assignee(prior):
    start = acked(InstanceState(state=prior, episode=4, resolved_at=at(-100)))
    cur = step(start, TRUE, at(0), 30, 0).state
    assert cur.state == PENDING and cur.episode == 5 and cur.resolved_at is None
    assert cur.acknowledged_by is None and cur.acknowledged_at is None and cur.ack_expires_at is None
    assert cur.snoozed_until is None and cur.silenced_until_resolved is False and cur.escalation_level == 0
    assert cur.assignee == "bob"


@pytest.mark.parametrize("seq", [
    [(0, TRUE), (10, TRUE), (20, TRUE)],  # firing stays firing
    [(0, TRUE), (10, FALSE), (12, TRUE)],  # recovering -> firing is the same episode
    [(0, TRUE), (10, FALSE), (12, FALSE)],  # recovering
    [(10, TRUE)],  # pending stays pending
], ids=["firing", "refire", "recovering", "pending"])
def test_evaluation_never_touches_an_ack_within_an_episode(seq):
    firing = step(InstanceState(), TRUE, at(-1), 0, 0).state
    start = acked(firing)
    cur, _ = run(seq, keep=30, start=start)
    assert (cur.acknowledged_by, cur.acknowledged_at, cur.ack_expires_at) == ("ann", at(1), at(3600))
    assert cur.silenced_until_resolved and cur.escalation_level == 2 and cur.episode == 1


def test_resolved_then_true_again_is_a_new_episode():
    cur, moves = run([(0, TRUE), (5, FALSE), (9, TRUE)])
    assert cur.episode == 2 and cur.state == FIRING and moves[-2:] == [(NORMAL, PENDING), (PENDING, FIRING)]


@pytest.mark.parametrize("prior", [NORMAL, PENDING, FIRING, RECOVERING, ERROR])
def test_no_data_is_its_own_state_and_recovers_through_the_condition(prior):
    cur = step(InstanceState(state=prior, episode=1, pending_since=at(-1)), NO_DATA, at(0)).state
    assert cur.state == NODATA and cur.pending_since is None and cur.value is None
    assert step(cur, FALSE, at(5)).state.state == NORMAL
    again = step(cur, TRUE, at(5), 0, 0)
    assert again.state.state == FIRING and again.state.episode == 2


def test_no_data_modes():
    assert sm.apply_no_data(NO_DATA, "nodata").outcome == "nodata"
    assert sm.apply_no_data(NO_DATA, "ok").outcome == "false"
    assert sm.apply_no_data(NO_DATA, "alerting").outcome == "true"
    assert sm.apply_no_data(TRUE, "ok") is TRUE
    cur, moves = run([(0, TRUE), (5, sm.apply_no_data(NO_DATA, "ok"))])
    assert cur.state == NORMAL and moves[-1] == (FIRING, NORMAL)


def test_error_is_contained_in_a_state_with_the_summary():
    cur, moves = run([(0, TRUE), (5, FAILED)])
    assert moves[-1] == (FIRING, ERROR) and cur.summary == "ZeroDivisionError: boom" and cur.episode == 1
    assert step(cur, FAILED, at(6)).transitions == []
    cur = step(cur, TRUE, at(10), 0, 0).state
    assert cur.state == FIRING and cur.episode == 2


def test_summary_is_truncated():
    cur = step(InstanceState(), Observation("error", summary="x" * 1000), at(0)).state
    assert len(cur.summary) == sm.SUMMARY_MAX


def test_unknown_observation_is_refused():
    with pytest.raises(ValueError):
        step(InstanceState(), Observation("maybe"), at(0))


def test_fingerprint_is_canonical_over_the_full_label_set():
    a = fingerprint({"alertname": "Limit breach", "limit": "net_exposure", "team": "risk"})
    assert a == fingerprint({"team": "risk", "limit": "net_exposure", "alertname": "Limit breach"})
    assert a != fingerprint({"alertname": "Limit breach", "limit": "gross_exposure", "team": "risk"})
    assert len(a) == 64


def test_acknowledged_is_computed_when_read():
    cur = acked(InstanceState(state=FIRING))
    assert sm.is_acknowledged(cur, at(100)) and not sm.is_acknowledged(cur, at(3600))
    assert sm.is_acknowledged(replace(cur, ack_expires_at=None), at(10 ** 6))
    assert not sm.is_acknowledged(InstanceState(), at(0))


def test_row_round_trip():
    class Row:
        pass

    row = Row()
    for name in sm.FIELDS:
        setattr(row, name, None)
    cur = step(InstanceState(), TRUE, at(0)).state
    sm.to_row(cur, row)
    assert sm.from_row(row) == cur
