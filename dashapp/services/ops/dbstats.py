"""The database as the Operations page shows it: this process's connection pool and the slow queries
the server itself reports (PostgreSQL: pg_stat_statements when installed, else long-running statements
from pg_stat_activity; SQLite keeps no such statistics, and the page says so)."""
from __future__ import annotations

import sqlalchemy as sa

from dashapp.extensions import db

QUERY_TEXT_MAX = 200
SLOW_LIMIT = 8
LONG_RUNNING_S = 1.0


def pool_stats() -> dict:
    """Size, connections in use (checked out), idle, overflow of this process's SQLAlchemy pool."""
    pool = db.engine.pool
    stats = {"kind": type(pool).__name__}
    for key, attr in (("size", "size"), ("in_use", "checkedout"), ("idle", "checkedin"), ("overflow", "overflow")):
        fn = getattr(pool, attr, None)
        try:
            stats[key] = int(fn()) if callable(fn) else None
        except Exception:  # some pool kinds do not count
            stats[key] = None
    return stats


def _clip(text) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= QUERY_TEXT_MAX else text[: QUERY_TEXT_MAX - 1] + "…"


def slow_queries() -> dict:
    """{"source": ..., "available": bool, "note": str, "rows": [{"query", "calls", "mean_ms", "max_ms"}]}."""
    if db.engine.dialect.name != "postgresql":
        return {"source": "sqlite", "available": False, "rows": [],
                "note": "SQLite keeps no query statistics: slow queries are not available on the embedded database."}
    try:
        has_pss = db.session.execute(sa.text(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")).first() is not None
        if has_pss:
            rows = db.session.execute(sa.text(
                "SELECT query, calls, mean_exec_time, max_exec_time FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "ORDER BY mean_exec_time DESC LIMIT :n"), {"n": SLOW_LIMIT}).all()
            return {"source": "pg_stat_statements", "available": True, "note": "slowest statements by mean time",
                    "rows": [{"query": _clip(q), "calls": int(c), "mean_ms": round(float(m), 2),
                              "max_ms": round(float(x), 2)} for q, c, m, x in rows]}
        rows = db.session.execute(sa.text(
            "SELECT query, EXTRACT(EPOCH FROM (clock_timestamp() - query_start)) AS seconds FROM pg_stat_activity "
            "WHERE state = 'active' AND pid <> pg_backend_pid() AND datname = current_database() "
            "AND query_start < clock_timestamp() - make_interval(secs => :s) ORDER BY query_start LIMIT :n"),
            {"s": LONG_RUNNING_S, "n": SLOW_LIMIT}).all()
        return {"source": "pg_stat_activity", "available": True,
                "note": f"statements running longer than {LONG_RUNNING_S:g} s now (pg_stat_statements is not installed)",
                "rows": [{"query": _clip(q), "calls": 1, "mean_ms": round(float(s) * 1000, 1),
                          "max_ms": round(float(s) * 1000, 1)} for q, s in rows]}
    except Exception as exc:  # permissions, or the database went away: report, do not raise
        db.session.rollback()
        return {"source": "postgresql", "available": False, "rows": [],
                "note": f"could not read query statistics: {type(exc).__name__}"}
