"""The paper engine's durability with a real engine process against the real cockpit (SQLite and
PostgreSQL): kill -9 and restart resumes the same book, prices and id sequence and cancels the
orphaned working orders; an ingest outage (503) is buffered on disk and replayed in order once the
cockpit answers again, and the process never dies. Every wait has a deadline; nothing asserts on
timing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dashapp.engine.outbox import ReportOutbox
from dashapp.extensions import db
from dashapp.services import controls, engine_recovery, tokens, users
from models import EngineEvent, Order, Quote
from tests.support.live_cockpit import LiveCockpit
from tests.support.web import PASSWORD

pytestmark = [pytest.mark.timeout(600)]
PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINE = "paper-1"
ID_FIELDS = {"signals": "signal_id", "risk_decisions": "decision_id", "orders": "client_order_id",
             "fills": "exec_id", "events": "event_id"}


def wait_for(what: str, check, seconds: float, proc=None, log=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()  # see other connections' commits (PostgreSQL snapshot, SQLite read txn)
        found = check()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"engine exited ({proc.returncode}) while waiting for {what}:\n{log and log()}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{log and log()}")


def count(model, *where) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar()


class EngineProcess:
    """`dashapp engine run` as a real process, with its own instance folder (outbox, dead letters)."""

    def __init__(self, cockpit: LiveCockpit, token: str, folder):
        self.folder = folder
        self.log_path = folder / "engine.log"
        self.env = {**os.environ, "COCKPIT_URL": cockpit.url, "COCKPIT_ENGINE_TOKEN": token,
                    "COCKPIT_ENGINE_ID": ENGINE, "COCKPIT_ENGINE_TICK": "0.3", "COCKPIT_ENGINE_SEND_HISTORY": "0",
                    "COCKPIT_INSTANCE_DIR": str(folder), "COCKPIT_LOG_LEVEL": "INFO"}
        self.proc: subprocess.Popen | None = None

    @property
    def outbox_path(self):
        return self.folder / "engine" / ENGINE / "outbox.sqlite"

    def start(self) -> subprocess.Popen:
        handle = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "dashapp.cli", "engine", "run"], cwd=PROJECT_DIR,
                                     env=self.env, stdout=handle, stderr=subprocess.STDOUT)
        return self.proc

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def cockpit(server, tmp_path):
    owner = users.create_user("test", "paper-engine", PASSWORD, "trader")
    _, secret = tokens.create_token("test", owner.id, "engine", [ENGINE])
    db.session.commit()
    with LiveCockpit(server) as live:
        live.token = secret
        yield live


@pytest.fixture
def engine_proc(cockpit, tmp_path):
    folder = tmp_path / "engine-instance"
    folder.mkdir()
    proc = EngineProcess(cockpit, cockpit.token, folder)
    yield proc
    proc.kill()


def sequenced(items_by_kind) -> list[tuple[str, int]]:
    out = []
    for kind, items in items_by_kind:
        if kind in ID_FIELDS:
            out += [(kind, engine_recovery.seq_of(i[ID_FIELDS[kind]])) for i in items]
    return [(k, s) for k, s in out if s is not None]


def orphan_orders(now: datetime) -> list[dict]:
    """A parent and its resting child, as a killed engine would have left them working."""
    stamp = now.isoformat()
    base = {"strategy": "MOM", "instrument": "AAPL", "side": "buy", "order_type": "market", "created_at": stamp,
            "acknowledged_at": stamp, "status": "acknowledged", "arrival_mid": 100.0}
    return [{**base, "client_order_id": "ORPHAN-P1", "quantity": 10.0},
            {**base, "client_order_id": "ORPHAN-C1", "parent_client_order_id": "ORPHAN-P1", "venue": "DARK1",
             "quantity": 10.0}]


def test_kill_9_then_restart_resumes_the_same_book_prices_and_sequence_and_cancels_orphans(cockpit, engine_proc):
    engine_proc.start()
    wait_for("the engine trading (fills stored)", lambda: count(EngineEvent, EngineEvent.kind == "order.routed") >= 15,
             300, engine_proc.proc, engine_proc.log)

    # kill -9 mid-run; the requests it had in flight finish on the server, then the store is "at kill time"
    engine_proc.proc.send_signal(signal.SIGKILL)
    engine_proc.proc.wait(timeout=30)
    wait_for("no request in flight", lambda: cockpit.in_flight == 0, 30)
    db.session.rollback()
    at_kill = engine_recovery.recovery_view(ENGINE)
    pending = ReportOutbox(engine_proc.outbox_path).peek()  # what the dead process wrote and never delivered
    pending_fill_orders = {f["client_order_id"] for kind, items in pending if kind == "fills" for f in items}

    # A working order the store knows and no process does: what a crash leaves at a venue session.
    send = cockpit.app.test_client().post(f"/api/v1/ingest/orders", json={"engine_id": ENGINE, "items": orphan_orders(
        datetime.now(timezone.utc) - timedelta(seconds=1))}, headers={"Authorization": f"Bearer {cockpit.token}"})
    assert send.status_code == 200, send.json
    # Kill switch on before the restart: the restarted engine may not trade, so the book after the
    # restart is the recovered one and can be compared with the store's.
    controls.activate_kill_switch("test", "risk", "freeze the book for the comparison", uuid.uuid4().hex)
    db.session.commit()
    # The outbox replays first on restart: its order updates decide what is still working then.
    replayed_working = {o["client_order_id"]: o["status"] in engine_recovery.WORKING
                        for kind, items in pending if kind == "orders" for o in items}
    orphans = ({o["client_order_id"] for o in at_kill["working_orders"]
                if replayed_working.get(o["client_order_id"], True)}
               | {cid for cid, working in replayed_working.items() if working} | {"ORPHAN-P1", "ORPHAN-C1"})

    engine_proc.start()
    restart = wait_for("the restart event", lambda: db.session.execute(sa.select(EngineEvent).where(
        EngineEvent.engine_id == ENGINE, EngineEvent.kind == "engine.restart")).scalar(), 240, engine_proc.proc,
        engine_proc.log)
    restarted_at = restart.ts
    wait_for("quotes after the restart", lambda: count(Quote, Quote.ts > restarted_at) >= 40, 60, engine_proc.proc,
             engine_proc.log)
    after = engine_recovery.recovery_view(ENGINE)

    # 1. The book: what the engine recovered (its digest in the restart event) is the store's book,
    #    and that is the book at the kill, changed only where undelivered fills were replayed.
    digest = restart.data["book"]
    for code in ("MOM", "MR"):
        store = after["strategies"][code]
        assert digest[code]["cash"] == pytest.approx(store["cash"], rel=1e-9, abs=1e-6)
        assert digest[code]["positions"] == pytest.approx(
            {s: p["quantity"] for s, p in store["positions"].items() if p["quantity"]})
        replayed = {o for o in pending_fill_orders}
        for symbol, before in at_kill["strategies"].get(code, {"positions": {}})["positions"].items():
            now = store["positions"][symbol]
            if not replayed:
                assert (now["quantity"], now["avg_cost"], now["realized_pnl"]) == pytest.approx(
                    (before["quantity"], before["avg_cost"], before["realized_pnl"]))
        if not replayed:
            assert store["cash"] == pytest.approx(at_kill["strategies"][code]["cash"], rel=1e-9)
    assert restart.data["positions"] == sum(len(d["positions"]) for d in digest.values())

    # 2. The market continues: same simulated day and step, first prices one step from the last ones.
    detail = at_kill["state"]["detail"]
    assert restart.data["sim_date"] == detail["sim_date"]
    assert restart.data["sim_step"] in (detail["sim_step"], detail["sim_step"] + 1, detail["sim_step"] + 2)
    assert restart.data["prices_resumed"] >= 20
    last = at_kill["last_prices"]
    first_after = {}
    for symbol in ("AAPL", "MSFT", "JPM", "XOM", "KO", "EURUSD"):
        row = db.session.execute(sa.select(Quote).join(Quote.__table__.metadata.tables["instruments"],
                                 sa.text("instruments.id = quotes.instrument_id")).where(
            sa.text("instruments.symbol = :s"), Quote.ts > restarted_at).order_by(Quote.ts).limit(1),
            {"s": symbol}).scalar()
        first_after[symbol] = (row.bid + row.ask) / 2
        assert first_after[symbol] == pytest.approx(last[symbol]["mid"], rel=0.02), symbol

    # 3. Ids: numbering continued past everything stored, nothing lost, nothing reused.
    assert restart.data["seq_from"] > at_kill["last_seq"]
    report = engine_recovery.sequence_report(ENGINE)
    assert report.ok, (report.missing[:20], report.repeated[:20])
    assert report.first == 1 and report.last >= restart.data["seq_from"]

    # 4. Orphans: every order working at the kill is canceled, each with an event naming the reason.
    statuses = dict(db.session.execute(sa.select(Order.client_order_id, Order.status).where(
        Order.engine_id == ENGINE, Order.client_order_id.in_(orphans))).all())
    assert statuses == dict.fromkeys(orphans, "canceled")
    reasons = db.session.execute(sa.select(EngineEvent.order_client_id, EngineEvent.data).where(
        EngineEvent.engine_id == ENGINE, EngineEvent.kind == "order.canceled")).all()
    assert {o for o, data in reasons if data.get("reason") == "engine restart"} >= orphans
    assert after["working_orders"] == []
    assert restart.data["orphans_canceled"] == len(orphans)

    # 5. The restart is on the equity chart, not a price move.
    assert restarted_at in engine_recovery.restart_times()
    engine_proc.proc.send_signal(signal.SIGTERM)
    assert engine_proc.proc.wait(timeout=60) == 0, engine_proc.log()


def test_an_ingest_outage_is_buffered_on_disk_and_replayed_in_order_once(cockpit, engine_proc):
    engine_proc.start()
    wait_for("the engine trading", lambda: count(EngineEvent, EngineEvent.kind == "order.routed") >= 3, 300,
             engine_proc.proc, engine_proc.log)
    cockpit.unavailable = True  # every ingest answers 503 + Retry-After: 1 (control still answers)
    wait_for("reports buffered during the outage",
             lambda: cockpit.refused_503 >= 8 and ReportOutbox(engine_proc.outbox_path).pending() >= 5, 120,
             engine_proc.proc, engine_proc.log)
    buffered = ReportOutbox(engine_proc.outbox_path).pending()
    cockpit.unavailable = False
    wait_for("the outbox drained", lambda: ReportOutbox(engine_proc.outbox_path).pending() == 0
             and count(EngineEvent, EngineEvent.kind == "order.routed") > 3, 120, engine_proc.proc, engine_proc.log)
    assert engine_proc.proc.poll() is None, engine_proc.log()  # the engine never died
    assert "kept on disk" in engine_proc.log()

    # Arrived once: an id of a kind that is never updated is in exactly one accepted request.
    accepted = sequenced(cockpit.accepted)
    once = [(k, s) for k, s in accepted if k != "orders"]
    assert len(once) == len(set(once))
    # In order: per kind, ids first seen in increasing sequence (orders are re-sent when they change).
    for kind in ID_FIELDS:
        first_seen, seen = [], set()
        for k, s in accepted:
            if k == kind and s not in seen:
                seen.add(s)
                first_seen.append(s)
        assert first_seen == sorted(first_seen), kind
    report = engine_recovery.sequence_report(ENGINE)
    assert report.ok and report.stored > 0, (report.missing[:20], report.repeated[:20])
    assert buffered >= 5 and not (engine_proc.outbox_path.parent / "dead-letters.jsonl").exists()
    engine_proc.proc.send_signal(signal.SIGTERM)
    assert engine_proc.proc.wait(timeout=60) == 0, engine_proc.log()


def test_recovery_endpoint_answers_only_the_engine_its_token_is_bound_to(server):
    owner = users.create_user("test", "other-engine", PASSWORD, "trader")
    _, secret = tokens.create_token("test", owner.id, "other", ["paper-2"])
    client = server.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    refused = client.get(f"/api/v1/engines/{ENGINE}/recovery", headers=headers)
    assert refused.status_code == 403 and refused.json["field"] == "engine_id"
    fresh = client.get("/api/v1/engines/paper-2/recovery", headers=headers).json
    assert (fresh["last_seq"], fresh["working_orders"], fresh["state"]) == (0, [], None)


def test_the_equity_figure_marks_restarts_inside_its_range():
    import pandas as pd

    from layouts import figures

    stamps = pd.date_range("2026-01-05 14:00", periods=10, freq="min", tz="UTC")
    curve = pd.DataFrame({"ts": stamps, "equity": range(10), "drawdown": [0.0] * 10})
    curve.attrs["restarts"] = [stamps[4], stamps[0] - pd.Timedelta(days=1)]  # the second is off the chart
    figure = figures.equity(curve)
    assert [s.name for s in figure.layout.shapes] == ["restart"]
    assert pd.Timestamp(figure.layout.shapes[0].x0) == stamps[4]
    assert [a.text for a in figure.layout.annotations] == ["restart"]
    assert figures.equity(curve.drop(columns=[]).copy(), restarts=[]).layout.shapes  # attrs survive a copy
