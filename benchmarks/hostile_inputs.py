"""Send every hostile input of tests/support/hostile.py to a fresh cockpit and write the table of
answers to docs/RELIABILITY.md ("Hostile inputs"), so the table is what the code really answers.

    .venv/bin/python benchmarks/hostile_inputs.py [--backend sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import ROOT, write_section  # noqa: E402

RELIABILITY_MD = ROOT / "docs" / "RELIABILITY.md"


def _short(response) -> str:
    """The answer as a reader wants it: the message (and the first named field), not the JSON."""
    text = response.get_data(as_text=True)
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("response"), dict):  # a Dash callback's answer
        shown = [str(props.get("children")) for props in body["response"].values()
                 if isinstance(props, dict) and isinstance(props.get("children"), str) and props["children"]]
        return ("in-page message: " + "; ".join(shown))[:160] if shown else "(no message)"
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("error") or "")
        details = body.get("details") or []
        if details and isinstance(details[0], dict):
            first = details[0]
            message += f" — item {first.get('index')}, `{first.get('field')}`: {first.get('message')}"
        return message[:160]
    alert = re.search(r'role="alert">([^<]+)<', text)
    if alert:
        return "page says: " + alert.group(1).strip()
    title = re.search(r"<title>([^<]+)</title>", text)
    return (title.group(1).strip() if title else " ".join(text.split())[:120]) or "(no body)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    args = parser.parse_args()

    import dash

    from dashapp import create_app
    from dashapp.services import users
    from tests.conftest import make_settings, upgrade_database
    from tests.support.db import drop_templates, scratch_database
    from tests.support.hostile import CASES, context
    from tests.support.web import PASSWORD

    tmp = Path(tempfile.mkdtemp(prefix="hostile-"))
    rows = []
    with scratch_database(args.backend, tmp) as url:
        app = create_app(make_settings(tmp, url))
        upgrade_database(app.server)

        def make_user(role, username):
            return users.create_user("bench", username, PASSWORD, role)

        ctx = context(app.server, make_user)
        for case in CASES:
            if case.setup is not None:
                case.setup(ctx)
            response = case.send(ctx)
            ok = response.status_code in case.statuses and response.status_code < 500
            rows.append(f"| {case.klass} | {case.what} | {response.status_code}{'' if ok else ' (unexpected)'} "
                        f"| {_short(response).replace('|', '/')} |")
        dash.page_registry.clear()
    drop_templates()
    body = (f"{len(CASES)} hostile inputs, by class, sent to a fresh cockpit ({args.backend}); each answer below is "
            "what the code returned in the last run of `.venv/bin/python benchmarks/hostile_inputs.py`. "
            "`tests/integration/test_hostile_inputs.py` sends the same list on SQLite and PostgreSQL and also "
            "checks that nothing was stored.\n\n| class | input | status | answer |\n| --- | --- | --- | --- |\n"
            + "\n".join(rows))
    write_section("Hostile inputs", body, target=RELIABILITY_MD)
    print(body)


if __name__ == "__main__":
    main()
