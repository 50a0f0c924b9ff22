"""Writing a batch of new rows at the database's pace: PostgreSQL's COPY inside the caller's transaction, where
psycopg's executemany would send one INSERT per row; a Core insert of the batch elsewhere (SQLite).

Rows are dicts of column values, as the Core insert takes them; every row of a batch must have the same keys.
Values pass through the columns' own bind processing (UTC timestamps; a JSON object or list goes to psycopg's json
dumper as it is), so a row reads back the same whichever way it was written.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine.core import macs


def _defaults(table: Table, columns: list[str]) -> dict[str, Callable[[], Any]]:
    """The Python-side defaults a Core insert would fill in for the columns the rows leave out."""
    found = {}
    for column in table.c:
        default = column.default
        if column.name in columns or default is None or column.primary_key or column.name == "mac":
            continue  # the audit MAC is computed from the whole row, below
        if default.is_scalar:
            found[column.name] = lambda value=default.arg: value
        elif default.is_callable:
            found[column.name] = lambda make=default.arg: make(None)
    return found


def _json_value(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON column's values: an object or a list as it is (psycopg's json dumper encodes it with `json.dumps`, as
    its `Json` wrapper would); anything else (SQLAlchemy's JSON.NULL, null()) through the column's own processing."""
    def write(value: Any) -> Any:
        kind = type(value)
        return value if kind is dict or kind is list else process(value)
    return write


def _writers(table: Table, columns: list[str], dialect) -> list[tuple[int, Callable[[Any], Any]]]:
    """Per column that needs one, its position and what turns a value into what COPY takes: the column's own
    bind processing (aware UTC times), JSON objects and lists as they are."""
    found = []
    for position, name in enumerate(columns):
        kind = table.c[name].type
        process = kind._cached_bind_processor(dialect)
        if process is None:
            continue
        found.append((position, _json_value(process) if isinstance(kind.dialect_impl(dialect), JSON) else process))
    return found


#: Each table's column types (oids) as the database has them, per database and table: binary COPY must name them.
_TYPES: dict[tuple[str, str], dict[str, int]] = {}


def _column_types(cursor: Any, database: str, table: str, columns: list[str]) -> dict[str, int]:
    key = (database, table)
    known = _TYPES.get(key)
    if known is None or not known.keys() >= set(columns):  # first COPY, or a migration added a column since
        cursor.execute("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = to_regclass(%s) "
                       "AND attnum > 0 AND NOT attisdropped", (f'"{table}"',))
        known = _TYPES[key] = dict(cursor.fetchall())
    return known


def _copy(session: Session, table: Table, rows: Sequence[dict[str, Any]], columns: list[str]) -> None:
    """One binary COPY: psycopg's C dumpers write each value as the server stores it, half the client CPU of the
    text format, and the server parses no text (timestamps, numbers)."""
    defaults = _defaults(table, columns)
    if defaults:
        rows = [{**{name: make() for name, make in defaults.items()}, **row} for row in rows]
        columns = [*columns, *defaults]
    if table.name in macs.CONTENT and "mac" not in columns:  # a chained table: each row signed as it is written
        signer = macs.current()
        rows = [{**row, "mac": signer.sign(table.name, row)} for row in rows]
        columns = [*columns, "mac"]
    connection = session.connection()
    dialect = connection.dialect
    writers = _writers(table, columns, dialect)
    pick = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    names = ", ".join(f'"{name}"' for name in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)'
    try:
        with connection.connection.driver_connection.cursor() as cursor:
            types = _column_types(cursor, str(connection.engine.url), table.name, columns)
            with cursor.copy(statement) as copy:
                copy.set_types([types[name] for name in columns])
                for row in rows:
                    values = list(pick(row))
                    for position, write in writers:
                        if (value := values[position]) is not None:
                            values[position] = write(value)
                    copy.write_row(values)
    except dialect.loaded_dbapi.Error as err:  # as SQLAlchemy raises it: callers catch IntegrityError
        raise DBAPIError.instance(statement, None, err, dialect.loaded_dbapi.Error, dialect=dialect) from err


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Write the rows in the caller's transaction: one COPY on PostgreSQL, one executemany insert elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table).execution_options(render_nulls=True), list(rows))
        return
    _copy(session, table, rows, list(rows[0]))


def insert_returning_ids(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Write the rows and return their new ids in order. On PostgreSQL the ids are taken from the table's sequence
    in one round trip and the rows copied with them; elsewhere an insert … returning of the batch."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        return list(session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True)
                                    .execution_options(render_nulls=True), list(rows)))
    ids = sorted(session.scalars(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                    "FROM generate_series(1, :n)"), {"table": table.name, "n": len(rows)}))
    _copy(session, table, [{"id": new_id, **row} for new_id, row in zip(ids, rows)], ["id", *rows[0]])
    return ids
