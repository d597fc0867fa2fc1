"""SQLAlchemy Core statements compiled once per dialect and run on the driver's own cursor.

A contact's text is the busiest write stopline has. Building and executing a Core statement
costs about 50 µs in SQLAlchemy; the same SQL on the driver's cursor costs under 10 µs. The
SQL still comes from the tables in ledger.tables, so there is one definition of each table,
and values still pass through each column type's own bind and result processors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable

Processor = Callable[[Any], Any] | None


class Statement:
    """One statement compiled for one dialect, with the processors its values need."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        self.sql = str(compiled)
        binds = compiled.binds
        # qmark (SQLite) takes a tuple in this order; pyformat (psycopg) takes a dict.
        self.order: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positiontup is not None else None
        )
        names = self.order if self.order is not None else tuple(compiled.bind_names.values())
        self.names = tuple(dict.fromkeys(names))
        # dialect_impl: the type as this dialect runs it (SQLite keeps datetimes as text).
        bind = {n: binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in self.names}
        # (name, processor) in the order the driver wants; most columns need no processor.
        self._plain = tuple(n for n in self.names if bind[n] is None)
        self._processed = tuple((n, p) for n, p in bind.items() if p is not None)
        columns = getattr(statement, "exported_columns", None) or ()  # SELECT or RETURNING
        self._result: tuple[Processor, ...] = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for these values (each through its type's processor)."""
        processed = {name: values[name] for name in self._plain}
        for name, processor in self._processed:
            processed[name] = processor(values[name])
        if self.order is not None:
            return tuple(processed[name] for name in self.order)
        return processed

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        """A fetched row with each column through its type's result processor."""
        pairs = zip(self._result, raw, strict=False)
        return tuple(p(value) if p is not None else value for p, value in pairs)

    def run(self, cursor: Any, values: Mapping[str, Any]) -> Any:
        """Execute on a DB-API cursor; returns the cursor."""
        cursor.execute(self.sql, self.params(values))
        return cursor

    def fetch_all(self, cursor: Any, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute and return every row, processed."""
        return [self.row(raw) for raw in self.run(cursor, values).fetchall()]

    def fetch_one(self, cursor: Any, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Execute and return the first row, processed, or None."""
        raw = self.run(cursor, values).fetchone()
        return self.row(raw) if raw is not None else None
