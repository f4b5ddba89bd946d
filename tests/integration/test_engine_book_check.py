"""The fault suite's book check (engine_recovery.book_difference): the paper engine's own book, in
its last heartbeat, against the store's positions and cash at the same sequence number."""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from dashapp.engine.runner import EngineConfig, PaperEngine
from dashapp.extensions import db
from dashapp.services import engine_recovery, tokens, users
from models import EngineState, Fill, Position
from tests.support.live_cockpit import LiveCockpit
from tests.support.web import PASSWORD

pytestmark = [pytest.mark.timeout(600)]
ENGINE = "paper-1"


def wait_for(what: str, check, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()  # see the engine's commits (other connections)
        if found := check():
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def stopped_engine(server):
    """The paper engine run in a thread against a live cockpit until it has fills, then stopped cleanly."""
    owner = users.create_user("test", "paper-engine", PASSWORD, "trader")
    _, secret = tokens.create_token("test", owner.id, "engine", [ENGINE])
    db.session.commit()
    with LiveCockpit(server) as live:
        engine = PaperEngine(EngineConfig(base_url=live.url, token=secret, engine_id=ENGINE, tick_seconds=0.3,
                                          send_history=False))
        thread = threading.Thread(target=engine.run, name="paper-engine", daemon=True)
        thread.start()
        try:
            wait_for("fills stored", lambda: db.session.execute(
                sa.select(sa.func.count()).select_from(Fill).where(Fill.engine_id == ENGINE)).scalar() >= 3, 300)
        finally:
            engine.stop_requested = True
            thread.join(timeout=60)
        assert not thread.is_alive(), "the engine did not stop"
    db.session.rollback()
    return engine


def test_a_stopped_engine_and_the_store_hold_the_same_book(stopped_engine):
    check = engine_recovery.book_difference(ENGINE)
    assert check is not None, db.session.get(EngineState, ENGINE).detail
    assert check.ok, check.differences
    assert check.seq == stopped_engine.router.last_seq  # the stop heartbeat names the final number
    held = sum(1 for _, book in stopped_engine.strategies.values() for p in book.positions.values() if p.quantity)
    assert held >= 1 and check.compared == len(stopped_engine.strategies) + held


def test_a_position_the_engine_does_not_hold_is_a_difference(stopped_engine):
    position = db.session.execute(sa.select(Position).where(Position.quantity != 0).limit(1)).scalar_one()
    position.quantity += 1
    db.session.commit()
    check = engine_recovery.book_difference(ENGINE)
    assert check is not None and not check.ok
    assert len(check.differences) == 2  # the quantity, and the cash paid for it at cost


def test_no_verdict_while_the_store_is_not_at_the_engine_s_sequence_number(stopped_engine):
    state = db.session.get(EngineState, ENGINE)
    state.detail = {**state.detail, "seq": state.detail["seq"] - 1}  # the engine reported since its heartbeat
    db.session.commit()
    assert engine_recovery.book_difference(ENGINE) is None
    state.detail = {**state.detail, "seq": state.detail["seq"] + 1, "outbox_pending": 1}  # some not delivered yet
    db.session.commit()
    assert engine_recovery.book_difference(ENGINE) is None
