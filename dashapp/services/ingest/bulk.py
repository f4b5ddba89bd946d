"""Bulk writes for ingest: "insert unless already stored" and "insert or update if newer".

Rows are tuples in the order of `columns` (no per-row dicts). Everything runs inside the caller's
transaction, so a batch stays atomic.

PostgreSQL: binary COPY, whose rows psycopg encodes in C and streams while the server inserts them
(the per-row server work, chiefly the foreign-key checks, is what limits throughput on a small box).
New rows, the common case, are COPYed straight into the table inside a savepoint; if any key is
already stored the savepoint is rolled back and the batch goes through a temporary staging table
and one `INSERT ... SELECT ... ON CONFLICT`, the only way to get idempotency from COPY. Upserts
always go through staging, in "rounds" when a key repeats within the batch (Postgres refuses to
update one row twice in a statement; rounds apply repeats in order, as separate requests would).

SQLite: one `executemany` of `INSERT ... ON CONFLICT` on the DB-API cursor (sqlite3 loops in C);
values go through SQLAlchemy's own bind processors, so timestamps are stored exactly as the ORM
stores and compares them.
"""
from __future__ import annotations

import zlib

import psycopg
import sqlalchemy as sa

from dashapp.extensions import db


def insert_new(model, rows: list[dict], key_cols: list[str]) -> int:
    """Insert dict rows, skipping those whose `key_cols` already exist; returns how many were new."""
    if not rows:
        return 0
    columns = [c.name for c in model.__table__.columns if c.name in rows[0]]
    return insert_rows(model.__table__, columns, [tuple(r[c] for c in columns) for r in rows], key_cols)


def insert_rows(table: sa.Table, columns: list[str], rows: list[tuple], key_cols: list[str]) -> int:
    """Insert tuple rows (in `columns` order) unless their key is stored; returns how many were new."""
    if not rows:
        return 0
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return _pg_insert_new(_driver(connection), table.name, columns, rows, key_cols)
    sql = f"{_sqlite_insert(table.name, columns)} ON CONFLICT ({_names(key_cols)}) DO NOTHING"
    return _sqlite_executemany(connection, table, columns, rows, sql)


def upsert_rows(table: sa.Table, columns: list[str], rows: list[tuple], key_cols: list[str], *,
                replace: list[str], fill_in: list[str], newer: str) -> tuple[int, int]:
    """Insert new keys; for stored keys, overwrite `replace` and fill in (never erase) `fill_in` when
    the incoming `newer` column is not older than the stored one (last writer wins, a late duplicate
    never rolls a row back). Returns (inserted, updated); a skipped stale row counts as neither."""
    if not rows:
        return 0, 0
    name = table.name
    assignments = [f'"{c}" = excluded."{c}"' for c in replace]
    assignments += [f'"{c}" = coalesce("{name}"."{c}", excluded."{c}")' for c in fill_in]
    conflict = (f'ON CONFLICT ({_names(key_cols)}) DO UPDATE SET {", ".join(assignments)} '
                f'WHERE "{name}"."{newer}" <= excluded."{newer}"')
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return _pg_upsert(_driver(connection), name, columns, rows, key_cols, conflict)
    keys = [columns.index(k) for k in key_cols]
    before = _sqlite_existing(connection, table, key_cols, {tuple(r[i] for i in keys) for r in rows})
    changed = _sqlite_executemany(connection, table, columns, rows, f"{_sqlite_insert(name, columns)} {conflict}")
    inserted = len({tuple(r[i] for i in keys) for r in rows} - before)
    return inserted, changed - inserted


# --- PostgreSQL ---------------------------------------------------------------------------------

_PG_TYPES: dict[tuple[str, tuple[str, ...]], list[int]] = {}


def _driver(connection) -> psycopg.Connection:
    return connection.connection.driver_connection


def _names(columns) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _pg_types(cursor, table: str, columns: list[str]) -> list[int]:
    """Type OIDs of the columns, for binary COPY (which must match them exactly). Asked once per
    table and process: they are built-in types, the same in every schema."""
    key = (table, tuple(columns))
    if key not in _PG_TYPES:
        found = dict(cursor.execute("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass "
                                    "AND attnum > 0 AND NOT attisdropped", [f'"{table}"']).fetchall())
        _PG_TYPES[key] = [found[c] for c in columns]
    return _PG_TYPES[key]


def _copy(cursor, target: str, columns: list[str], types: list[int], rows: list[tuple]) -> int:
    with cursor.copy(f'COPY "{target}" ({_names(columns)}) FROM STDIN (FORMAT BINARY)') as copy:
        copy.set_types(types)
        write = copy.write_row
        for row in rows:
            write(row)
    return cursor.rowcount


def _staging(cursor, table: str, columns: list[str]) -> str:
    """A per-connection temporary table with just these columns (no constraints, no defaults: a
    copied `nextval` default would burn a sequence value per staged row), emptied at commit."""
    staging = f"_ingest_{table}_{zlib.crc32(','.join(columns).encode()):08x}"
    cursor.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" ON COMMIT DELETE ROWS AS '
                   f'SELECT {_names(columns)} FROM "{table}" WITH NO DATA')
    cursor.execute(f'DELETE FROM "{staging}"')  # empty unless this transaction staged before: cheap
    return staging


def _pg_insert_new(raw, table: str, columns: list[str], rows: list[tuple], key_cols: list[str]) -> int:
    with raw.cursor() as cursor:
        types = _pg_types(cursor, table, columns)
        cursor.execute("SAVEPOINT ingest_copy")
        try:
            stored = _copy(cursor, table, columns, types, rows)
        except psycopg.errors.UniqueViolation:
            # Some key is stored already (a resent batch): undo the partial COPY, take the slow path.
            cursor.execute("ROLLBACK TO SAVEPOINT ingest_copy")
            staging = _staging(cursor, table, columns)
            _copy(cursor, staging, columns, types, rows)
            cursor.execute(f'INSERT INTO "{table}" ({_names(columns)}) SELECT {_names(columns)} FROM "{staging}" '
                           f"ON CONFLICT ({_names(key_cols)}) DO NOTHING")
            stored = cursor.rowcount
        cursor.execute("RELEASE SAVEPOINT ingest_copy")
        return stored


def _rounds(rows: list[tuple], key_index: list[int]) -> list[list[tuple]]:
    """Split rows so no key repeats within a round; the n-th occurrence of a key goes to round n."""
    seen: dict[tuple, int] = {}
    rounds: list[list[tuple]] = [[]]
    for row in rows:
        key = tuple(row[i] for i in key_index)
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(row)
    return rounds


def _pg_upsert(raw, table: str, columns: list[str], rows: list[tuple], key_cols: list[str],
               conflict: str) -> tuple[int, int]:
    inserted = updated = 0
    with raw.cursor() as cursor:
        types = _pg_types(cursor, table, columns)
        staging = _staging(cursor, table, columns)
        for n, part in enumerate(_rounds(rows, [columns.index(k) for k in key_cols])):
            if n:
                cursor.execute(f'DELETE FROM "{staging}"')
            _copy(cursor, staging, columns, types, part)
            # xmax is 0 on a freshly inserted row version and set on an updated one: the usual
            # way to tell the two apart in one statement.
            cursor.execute(f'WITH up AS (INSERT INTO "{table}" ({_names(columns)}) SELECT {_names(columns)} '
                           f'FROM "{staging}" {conflict} RETURNING (xmax = 0) AS fresh) '
                           "SELECT count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh) FROM up")
            new, changed = cursor.fetchone()
            inserted, updated = inserted + new, updated + changed
    return inserted, updated


# --- SQLite -------------------------------------------------------------------------------------

def _sqlite_insert(table: str, columns: list[str]) -> str:
    return f'INSERT INTO "{table}" ({_names(columns)}) VALUES ({", ".join("?" * len(columns))})'


def _sqlite_executemany(connection, table: sa.Table, columns: list[str], rows: list[tuple], sql: str) -> int:
    # dialect_impl: the SQLite flavour of each type (a bare DateTime would let sqlite3 store its own
    # isoformat, which is not the text the ORM writes and compares).
    dialect = connection.dialect
    types = [table.c[c].type for c in columns]
    processors = [(i, t.dialect_impl(dialect).bind_processor(dialect), isinstance(t, sa.JSON))
                  for i, t in enumerate(types)]
    processors = [p for p in processors if p[1] is not None]
    if processors or not isinstance(rows[0], tuple):
        values = list(zip(*rows))  # column-wise: one tight loop per processed column
        for i, process, json_column in processors:
            if json_column:  # JSON turns None into 'null', so every value goes through
                values[i] = list(map(process, values[i]))
            else:  # NULL stays NULL, and most lifecycle stamps are empty: skip the call
                values[i] = [None if v is None else process(v) for v in values[i]]
        rows = list(zip(*values))
    # exec_driver_sql hands the list straight to cursor.executemany, and still wraps errors.
    return connection.exec_driver_sql(sql, rows).rowcount


def _sqlite_existing(connection, table: sa.Table, key_cols: list[str], keys: set[tuple]) -> set[tuple]:
    """Which of `keys` are stored (looked up by the last key column, checked whole in Python)."""
    last = sorted({k[-1] for k in keys})
    found: set[tuple] = set()
    for start in range(0, len(last), 5000):  # within SQLite's bound-variable limit
        chunk = last[start:start + 5000]
        stmt = sa.select(*(table.c[k] for k in key_cols)).where(table.c[key_cols[-1]].in_(chunk))
        found.update(tuple(r) for r in connection.execute(stmt))
    return found & keys
