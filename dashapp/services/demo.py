"""Demo data for a fresh cockpit: one user per desk role, the paper engine's API token, and (in
later issues) market data and history. `seed()` is idempotent: what exists already is left as it is."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dashapp.security.passwords import password_problems
from dashapp.services import tokens, users
from dashapp.services.errors import ValidationError
from dashapp.services.unit_of_work import unit_of_work

ENGINE_USER = "paper-engine"  # owns the paper engine's token; nobody logs in as it
ENGINE_TOKEN_FILE = "engine-token"  # in the instance directory; read by `dashapp engine run`
PAPER_ENGINE_ID = "paper-1"  # the id the paper engine reports as (COCKPIT_ENGINE_ID's default)

# user name -> (role, display name). The admin is not here: `ensure_first_admin` makes it.
DEMO_USERS: dict[str, tuple[str, str]] = {
    "trader": ("trader", "Demo Trader"),
    "risk": ("risk", "Demo Risk Officer"),
    "viewer": ("viewer", "Demo Viewer"),
}


@dataclass
class DemoReport:
    users_created: dict[str, str] = field(default_factory=dict)  # user name -> password, shown once
    users_present: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one line per other thing seeded
    engine_token: str = ""  # created | kept | why there is none ("" when not asked for)


def seed(password: str | None = None, actor: str = "demo", instance_dir: Path | None = None) -> DemoReport:
    """Seed everything the demo needs. `password` is given to every new demo user (each gets a
    generated one when it is None). With `instance_dir`, the paper engine gets a working API token
    in `<instance_dir>/engine-token`."""
    report = DemoReport()
    seed_users(report, password, actor)
    if instance_dir is not None:
        report.engine_token = ensure_engine_token(Path(instance_dir), actor)
    # Later issues add their seeders here (market data, engines, history), each idempotent and
    # each adding a line to report.notes.
    from dashapp.services.alerts import seed as alerts_seed

    from dashapp.services.alerts import builtin_rules

    report.notes.extend(line for line in [alerts_seed.ensure_defaults(actor), builtin_rules.ensure_builtin_rules()]
                        if line)
    from dashapp.services.models import seed as models_seed  # one model with a champion (model operations)

    report.notes.append(models_seed.seed_demo_model(actor))
    from dashapp.services.alerts import sources_ops  # worker down, queue backlog, SLO burn rules (operations)

    report.notes.extend(line for line in [sources_ops.ensure_builtin_rules()] if line)
    return report


def seed_users(report: DemoReport, password: str | None, actor: str) -> None:
    missing = [name for name in DEMO_USERS if users.find_by_username(name) is None]
    if password:
        for name in missing:  # check them all first: nothing is written when one would fail
            problems = password_problems(password, name)
            if problems:
                raise ValidationError(f"the demo password does not suit user {name!r}: " + "; ".join(problems),
                                      field="password")
    with unit_of_work():  # one transaction: all demo users or none
        for name, (role, display_name) in DEMO_USERS.items():
            if name not in missing:
                report.users_present.append(name)
                continue
            new_password = password or users.generate_password()
            users.create_user(actor, name, new_password, role, display_name)
            report.users_created[name] = new_password


def ensure_engine_token(instance_dir: Path, actor: str = "demo") -> str:
    """Make sure `<instance_dir>/engine-token` holds a token that authenticates: keep a working one,
    else create the `paper-engine` user (trader) when missing and a new token for it. The secret goes
    only to that file (mode 0600), never to the output. Returns 'kept', 'created' or why neither."""
    path = instance_dir / ENGINE_TOKEN_FILE
    kept = tokens.live_token(path.read_text().strip()) if path.exists() else None
    if kept is not None:
        if not kept.engine_ids:  # issued before tokens were bound to engines: bind it to its engine
            tokens.bind_engines(actor, kept.id, [PAPER_ENGINE_ID])
        return "kept"
    user = users.find_by_username(ENGINE_USER)
    if user is not None and not user.active:  # an admin switched it off: respect that
        return f"{ENGINE_USER} is disabled: no engine token (enable it, then run `dashapp demo`)"
    with unit_of_work():  # the user and its token together, or neither
        if user is None:
            user = users.create_user(actor, ENGINE_USER, users.generate_password(), "trader", "Paper engine")
        _, secret = tokens.create_token(actor, user.id, "paper engine (dashapp demo)", [PAPER_ENGINE_ID])
    _write_secret(path, secret)
    return "created"


def _write_secret(path: Path, secret: str) -> None:
    """Written whole or not at all (an engine starting now never reads half a token), mode 0600 from
    the first byte."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secret + "\n")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    path.chmod(0o600)
