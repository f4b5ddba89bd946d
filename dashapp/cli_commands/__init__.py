"""Command groups that live beside `dashapp/cli.py` (alerts, operations, models, governance), so each
area owns its commands and the root module stays small. Each module exposes `group`, a click group
(use `flask.cli.AppGroup` for commands that need the database); list it in `_MODULES`."""
from __future__ import annotations

import importlib

_MODULES: tuple[str, ...] = ("alerts", "retention", "models", "governance", "logs")


def register(main) -> None:
    for name in _MODULES:
        module = importlib.import_module(f"dashapp.cli_commands.{name}")
        main.add_command(module.group, name.replace("_", "-"))
