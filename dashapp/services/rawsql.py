"""Read many rows fast: run a SQLAlchemy select through the driver directly, skipping per-row
result processing (timestamps come back as the driver gives them: ISO text on SQLite, datetimes on
PostgreSQL; pass them through `pandas.to_datetime(..., utc=True, format="mixed")`). Bound
parameters still go through their column types, so filters mean the same as in the ORM."""
from __future__ import annotations

from dashapp.extensions import db


def fetch(stmt) -> list[tuple]:
    engine = db.engine
    compiled = stmt.compile(engine, compile_kwargs={"render_postcompile": True})
    processors = compiled._bind_processors  # the column types' own conversions (UTC datetimes)
    params = {k: (processors[k](v) if k in processors else v) for k, v in compiled.construct_params().items()}
    if engine.dialect.paramstyle in ("qmark", "numeric"):
        params = tuple(params[name] for name in compiled.positiontup)
    return [tuple(row) for row in db.session.connection().exec_driver_sql(str(compiled), params)]
