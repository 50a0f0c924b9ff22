"""Writing a batch of new rows at the database's pace: PostgreSQL's COPY inside the caller's transaction, where
psycopg's executemany would send one INSERT per row; a Core insert of the batch elsewhere (SQLite).

Rows are dicts of column values, as the Core insert takes them; every row of a batch must have the same keys.
Values pass through the columns' own bind processing (UTC timestamps, JSON; a JSON object or list goes as the
text psycopg would send), so a row reads back the same whichever way it was written.
"""
from __future__ import annotations

import json
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


def _json_text(process: Callable[[Any], Any], dumps: Callable[[Any], str]) -> Callable[[Any], Any]:
    """A JSON column's values: an object or a list as its text (what psycopg's `Json` wrapper would send, without
    the wrapper); anything else (SQLAlchemy's JSON.NULL, null()) through the column's own bind processing."""
    def write(value: Any) -> Any:
        kind = type(value)
        return dumps(value) if kind is dict or kind is list else process(value)
    return write


def _writers(table: Table, columns: list[str], dialect) -> list[tuple[int, Callable[[Any], Any]]]:
    """Per column that needs one, its position and what turns a value into what COPY takes: the column's own
    bind processing, with JSON objects and lists sent as their text."""
    dumps = getattr(dialect, "_json_serializer", None) or json.dumps
    found = []
    for position, name in enumerate(columns):
        kind = table.c[name].type
        process = kind._cached_bind_processor(dialect)
        if process is None:
            continue
        found.append((position, _json_text(process, dumps) if isinstance(kind.dialect_impl(dialect), JSON)
                      else process))
    return found


def _copy(session: Session, table: Table, rows: Sequence[dict[str, Any]], columns: list[str]) -> None:
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
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    try:
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
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
