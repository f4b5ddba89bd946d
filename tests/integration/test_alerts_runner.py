"""The alerter on both databases: a breach published on the bus makes the runner evaluate the rules that
watch it at once (before they are due); the real `dashapp alerts run` process takes a breach in the store
to Firing, stamps its heartbeat and stops cleanly on SIGTERM; `dashapp alerts` commands answer."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from click.testing import CliRunner

from dashapp.extensions import db
from dashapp.services import app_settings
from dashapp.services.alerts import builtin_rules, rules
from dashapp.services.alerts.runner import HEARTBEAT_KEY, AlertRunner
from dashapp.services.risk import limits, monitor
from models.alerts import AlertInstance
from tests.support.trading import fill, order

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def breach_book(api) -> None:
    now = datetime.now(timezone.utc)
    assert api("quotes", [{"instrument": "AAPL", "ts": now.isoformat(), "bid": 99.9, "ask": 100.1}]).status_code == 200
    assert api("orders", [order("b", qty=10_000)]).status_code == 200
    assert api("fills", [fill("f1", "b", 10_000, 100.0)]).status_code == 200


def firing(rule_name: str) -> list[AlertInstance]:
    db.session.expire_all()
    rule = rules.rule_by_name(rule_name)
    return list(db.session.execute(sa.select(AlertInstance).where(
        AlertInstance.rule_id == rule.id, AlertInstance.state == "firing")).scalars())


def test_a_breach_on_the_bus_wakes_the_rules_that_watch_it(server, api):
    builtin_rules.ensure_builtin_rules()
    breach_book(api)
    runner = AlertRunner(server, tick=0.2)
    listener = runner.start_listener()
    try:
        now = datetime.now(timezone.utc)
        runner.step(now)  # every rule evaluated once: none due again for a second or more
        assert firing("Limit breach") == []
        limits.save_limit("rita", "risk", "gross_exposure", "*", 500_000, breach_action="block_new_orders")
        monitor.evaluate()  # stores the measurement, opens the breach, publishes risk.breach
        deadline = time.monotonic() + 10
        while not runner._woken and time.monotonic() < deadline:
            runner.wake.wait(0.1)
        report = runner.step(now + timedelta(milliseconds=300))
        assert report.evaluated >= 2 and report.skipped >= 1  # only the risk rules ran, not being due
        [inst] = firing("Limit breach")
        assert inst.labels["limit"] == "gross_exposure" and inst.severity == "high"
        beat = app_settings.get(HEARTBEAT_KEY)
        assert beat["instance"] == "alerter" and beat["pid"] == os.getpid()
    finally:
        runner.stopping.set()
        listener.join(5)
    assert not listener.is_alive()


def test_the_alerter_process_fires_on_a_breach_and_stops_cleanly(server, settings, api):
    builtin_rules.ensure_builtin_rules()
    breach_book(api)
    env = {**os.environ, "DATABASE_URL": settings.database_url, "SECRET_KEY": "test-secret-key",
           "COCKPIT_INSTANCE_DIR": str(settings.instance_dir), "COCKPIT_ALERTS_TICK_SECONDS": "0.2"}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "dashapp.cli", "alerts", "run"], cwd=PROJECT_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while app_settings.get(HEARTBEAT_KEY) is None and time.monotonic() < deadline and proc.poll() is None:
            db.session.rollback()
            time.sleep(0.2)
        assert proc.poll() is None, proc.stdout.read()
        limits.save_limit("rita", "risk", "gross_exposure", "*", 500_000, breach_action="kill_switch")
        monitor.evaluate()
        deadline = time.monotonic() + 30
        while not firing("Limit breach") and time.monotonic() < deadline:
            db.session.rollback()
            time.sleep(0.2)
        [inst] = firing("Limit breach")
        assert inst.severity == "critical" and inst.labels["breach_action"] == "kill_switch"
        beat = app_settings.get(HEARTBEAT_KEY)
        assert beat["pid"] == proc.pid and beat["tick_seconds"] == 0.2
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert proc.returncode == 0, output


def test_cli_lists_seeds_and_evaluates(server, settings):
    from dashapp.cli import main

    cli = CliRunner()
    obj_env = {"DATABASE_URL": settings.database_url, "COCKPIT_INSTANCE_DIR": str(settings.instance_dir),
               "SECRET_KEY": "test-secret-key", "REDIS_URL": None}
    done = cli.invoke(main, ["alerts", "rules", "seed"], env=obj_env, catch_exceptions=False)
    assert done.exit_code == 0 and "Limit breach" in done.output
    done = cli.invoke(main, ["alerts", "rules"], env=obj_env, catch_exceptions=False)
    assert done.exit_code == 0 and "Quotes stale" in done.output and "[built-in]" in done.output
    done = cli.invoke(main, ["alerts", "evaluate", "--once", "--no-dispatch"], env=obj_env, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["evaluation"]["evaluated"] == 6
