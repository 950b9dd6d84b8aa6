"""How fresh each data source is (see `models.SourceWatermark`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from metrics_core.store.models import SourceWatermark

USAGE = "usage"


def advance(connection: Connection, source: str, through: dt.date) -> None:
    """Record that `source` has data through `through`; a watermark never moves back."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(SourceWatermark).values(source=source, through=through)
    table = SourceWatermark.__table__
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["source"],
            set_={"through": statement.excluded.through},
            where=statement.excluded.through > table.c.through,
        )
    )


def through(session: Session, source: str) -> dt.date | None:
    return session.scalar(select(SourceWatermark.through).where(SourceWatermark.source == source))
