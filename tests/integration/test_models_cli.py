"""`dashapp models ...` on a scratch database (SQLite: the commands only call the services the other
tests cover on both databases): list, versions, history, live-at, shadow, and clear refusals."""
from __future__ import annotations

import json

import pytest

from tests.integration.test_cli import Cli


@pytest.fixture
def cli(tmp_path):
    runner = Cli(f"sqlite:///{tmp_path / 'cli.sqlite'}", tmp_path / "instance")
    runner("db", "upgrade")
    yield runner
    runner.engine.dispose()


def test_models_commands(cli, tmp_path):
    assert json.loads(cli("models", "list")) == []
    from dashapp import create_server
    from tests.conftest import make_settings

    server = create_server(make_settings(tmp_path, cli.database_url))  # the same instance folder as the CLI's
    with server.app_context():
        from dashapp.services.models import seed

        seed.seed_demo_model("test")
    listed = json.loads(cli("models", "list"))
    assert listed[0]["name"] == "aapl-direction" and listed[0]["champion"] == 1
    assert json.loads(cli("models", "versions", "aapl-direction"))[0]["alias"] == "champion"
    moves = json.loads(cli("models", "history", "aapl-direction"))
    assert any(m["action"] == "promote" for m in moves)
    assert json.loads(cli("models", "live-at", "aapl-direction", "2999-01-01T00:00:00"))["version"] == 1
    assert json.loads(cli("models", "live-at", "aapl-direction", "2000-01-01"))["version"] is None
    assert json.loads(cli("models", "shadow", "aapl-direction", "--bars", "5"))["recorded"] == 0  # seeded already
    assert "no model 'nope'" in cli("models", "versions", "nope", expect=1)
    assert "ISO 8601" in cli("models", "live-at", "aapl-direction", "yesterday", expect=1)
    assert "seed" in cli("models", "retrain", "--seed", "-1", expect=1)
