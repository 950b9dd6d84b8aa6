"""Query helpers that keep SQLite reading a table in order where an index would cost more.

SQLite uses an index for any range on its leading column, however wide: for "every
movement up to today" it walks the (effective_on, account_id) index and fetches each row
by its id, one b-tree search per row in date order. Reading the table in storage order
is several times faster, and the gap grows with the book (at 100,000 accounts the index
walk took nearly three times as long as the scan). PostgreSQL chooses from statistics and needs
no help.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnExpressionArgument
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class unindexed(FunctionElement[Any]):
    """`column` as is, but not one SQLite may look up through an index (`+column`).

    For a condition that holds for nearly every row, so the table is read in order, or
    one that should be checked on the rows another condition has found. SQLite gives
    `+column` no affinity, so the comparison is as stored: use it on the text columns
    SQLAlchemy keeps dates, instants and enum values in, with parameters of the same type.
    """

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column: ColumnExpressionArgument[Any]) -> None:
        super().__init__(column)
        self.type = self.clauses.clauses[0].type


@compiles(unindexed)
def _plain(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(unindexed, "sqlite")
def _sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    # A unary plus leaves the value alone and stops SQLite using an index on it.
    return "+" + str(compiler.process(element.clauses, **kw))
