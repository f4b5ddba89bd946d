"""`dashapp logs search ...`: the Operations page's log search from the host's shell. It reads the
JSON-lines files in <instance>/logs directly (no database, no web process), so it works when the
cockpit itself is down. Same filters and bounds as the page (dashapp/services/ops/logs.py)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import click


@click.group()
def group():
    """Search the processes' JSON log lines (instance/logs/<process>.jsonl)."""


@group.command("search")
@click.option("--minutes", type=click.IntRange(1, 7 * 24 * 60), default=60, show_default=True,
              help="How far back from now.")
@click.option("--level", default="INFO", show_default=True, help="Minimum level.")
@click.option("--process", default="", help="Only this process (web, worker, beat, engine, ...).")
@click.option("--request-id", default="", help="Lines of one request (its X-Request-ID).")
@click.option("--user", default="", help="Lines written for this user.")
@click.option("--job-id", default="", help="Lines of one job.")
@click.option("--order-id", default="", help="Lines about one order (client order id).")
@click.option("--text", default="", help="Message contains (case-insensitive).")
@click.option("--limit", type=click.IntRange(1, 1000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the matching lines as JSON lines.")
def search(minutes, level, process, request_id, user, job_id, order_id, text, limit, as_json):
    """Matching lines, newest first (bounded like the page: window, lines, bytes read)."""
    from dashapp.cli import _service_errors, _settings
    from dashapp.services.ops import logs

    now = datetime.now(timezone.utc)
    with _service_errors():
        query = logs.parse_query({"since": now - timedelta(minutes=minutes), "until": now, "level": level,
                                  "process": process, "request_id": request_id, "user": user, "job_id": job_id,
                                  "order_id": order_id, "text": text, "limit": limit})
        result = logs.search(_settings().instance_dir, query, now=now)
    for rec in result.rows:
        if as_json:
            click.echo(json.dumps(rec, default=str))
        else:
            row = logs.grid_row(rec)
            ids = " ".join(f"{k}={row[k]}" for k in ("request_id", "user", "job_id", "order_id") if row[k])
            click.echo(f"{row['time']} {row['level']:<8} {row['process']:<10} {row['message']}"
                       + (f"  [{ids}]" if ids else ""))
    click.echo(f"{len(result.rows)} line(s), {result.scanned_bytes / 1024:.0f} KB read"
               + (f"; {result.truncated}" if result.truncated else ""), err=True)
