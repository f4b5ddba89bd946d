"""What the engine processes need before and around them, on SQLite and PostgreSQL: the demo gives
the paper engine a working API token (kept in the instance directory, mode 0600), `up` says which
token the engine will use, and the engine supervisor waits out a supervisord that does not answer."""
from __future__ import annotations

import sqlalchemy as sa

from dashapp.engine.supervisor import EngineSupervisor
from dashapp.extensions import db
from dashapp.services import controls, demo, tokens, users
from dashapp.supervisor import ProgramStatus, SupervisorUnavailable, bootstrap
from models import AuditRecord


def audit_count() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one()


def test_demo_gives_the_engine_a_working_token_once_and_replaces_a_dead_one(server, settings):
    token_file = settings.instance_dir / demo.ENGINE_TOKEN_FILE
    assert demo.seed(instance_dir=settings.instance_dir).engine_token == "created"
    assert token_file.stat().st_mode & 0o777 == 0o600
    secret = token_file.read_text().strip()
    owner = tokens.user_for_token(secret)
    assert owner is not None and owner.username == demo.ENGINE_USER and owner.role_name == "trader"

    before = audit_count()
    assert demo.seed(instance_dir=settings.instance_dir).engine_token == "kept"
    assert token_file.read_text().strip() == secret and audit_count() == before

    (token,) = [t for t in tokens.list_tokens() if t.user_id == owner.id]
    tokens.revoke_token("test", token.id)
    assert demo.seed(instance_dir=settings.instance_dir).engine_token == "created"
    renewed = token_file.read_text().strip()
    assert renewed != secret and tokens.user_for_token(renewed).username == demo.ENGINE_USER
    assert len([u for u in users.list_users() if u.username == demo.ENGINE_USER]) == 1

    users.set_active("test", owner.id, False)  # an admin switched the engine's user off: respected
    assert "disabled" in demo.seed(instance_dir=settings.instance_dir).engine_token
    assert token_file.read_text().strip() == renewed


def test_seed_without_an_instance_dir_writes_no_token(server, settings):
    assert demo.seed().engine_token == ""
    assert not (settings.instance_dir / demo.ENGINE_TOKEN_FILE).exists()


def test_up_names_the_engine_token_without_showing_it(server, settings, monkeypatch):
    monkeypatch.delenv("COCKPIT_ENGINE_TOKEN", raising=False)
    assert "no API token" in bootstrap.engine_line(settings)

    demo.seed(instance_dir=settings.instance_dir)
    secret = (settings.instance_dir / demo.ENGINE_TOKEN_FILE).read_text().strip()
    line = bootstrap.engine_line(settings)
    assert "reports as paper-engine" in line and "mode 0600" in line and secret not in line

    monkeypatch.setenv("COCKPIT_ENGINE_TOKEN", "tdc_not-a-real-token")
    line = bootstrap.engine_line(settings)
    assert "$COCKPIT_ENGINE_TOKEN is refused" in line and "not-a-real-token" not in line

    viewer = users.create_user("test", "watcher", "Correct-Horse-9-Battery", "viewer")
    monkeypatch.setenv("COCKPIT_ENGINE_TOKEN", tokens.create_token("test", viewer.id, "wrong role")[1])
    assert "may not ingest" in bootstrap.engine_line(settings)

    trader = users.create_user("test", "other-engine", "Correct-Horse-9-Battery", "trader")
    monkeypatch.setenv("COCKPIT_ENGINE_TOKEN", tokens.create_token("test", trader.id, "elsewhere", ["paper-7"])[1])
    assert "not bound to engine paper-1 (bound to paper-7)" in bootstrap.engine_line(settings)


class FakeSupervisord:
    """Answers like dashapp.supervisor.Supervisor; not reachable for the first `down_for` calls."""

    def __init__(self, state: str, exitstatus: int = 0, down_for: int = 0):
        self.state, self.exitstatus, self.down_for = state, exitstatus, down_for
        self.calls: list[str] = []
        self.on_start = None

    def status(self):
        if self.down_for:
            self.down_for -= 1
            raise SupervisorUnavailable("supervisord is not answering (test)")
        return {"engine": ProgramStatus("engine", self.state, 0, "", self.exitstatus)}

    def start(self, name, wait=True):
        self.calls.append(f"start {name}")
        self.state = "RUNNING"
        if self.on_start:
            self.on_start()

    def stop(self, name, wait=True):
        self.calls.append(f"stop {name}")
        self.state = "STOPPED"


def test_the_engine_supervisor_waits_for_supervisord_then_starts_the_engine(server):
    processes = FakeSupervisord("STOPPED", down_for=3)
    runner = EngineSupervisor(server, processes)
    processes.on_start = runner.stopping.set  # one start is all this test needs to see
    runner.run_forever(interval=0.01)  # returns once stopping is set; a hang fails on the timeout
    assert processes.calls == ["start engine"] and processes.down_for == 0


def test_a_clean_exit_is_not_a_crash_but_a_killed_engine_is(server):
    clean = FakeSupervisord("EXITED", exitstatus=0)  # the engine obeyed a stop / restart request itself
    EngineSupervisor(server, clean).step()
    assert clean.calls == ["start engine"] and controls.engine_view().actual == "stopped"

    killed = FakeSupervisord("EXITED", exitstatus=-1)  # what supervisord reports after a kill -9
    EngineSupervisor(server, killed).step()
    assert killed.calls == ["start engine"] and controls.engine_view().actual == "crashed"


def test_an_engine_that_exited_while_desired_stopped_is_started_as_a_start(server):
    controls.control_engine("test", "trader", "paper-1", "stop", "maintenance window", "k-stop")
    processes = FakeSupervisord("EXITED", exitstatus=1)
    runner = EngineSupervisor(server, processes)
    assert runner.step().action == "none" and controls.engine_view().actual == "stopped"
    controls.control_engine("test", "trader", "paper-1", "start", "maintenance over", "k-start")
    decision = runner.step()
    assert decision.action == "start" and decision.report == "stopped"


def test_an_engine_that_crashes_at_every_start_is_started_again_with_a_growing_pause(server):
    processes = FakeSupervisord("EXITED", exitstatus=1)
    runner = EngineSupervisor(server, processes)
    for _ in range(2):  # the first crashes in a row: started again at once
        assert runner.step().action == "start"
        processes.state = "EXITED"  # ... and it crashed again before it ever reported running
    held = runner.step()
    assert (held.action, held.report) == ("none", "crashed") and "next start in" in held.why
    assert processes.calls == ["start engine"] * 2 and controls.engine_view().actual == "crashed"
    runner.hold_until = 0.0  # the pause is over
    assert runner.step().action == "start" and runner.backoff > 1
