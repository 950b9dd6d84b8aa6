"""The product's feature list, kept as usage arrives (see `models.ProductFeature`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from metrics_core.store.models import ProductFeature


def record(connection: Connection, first_seen: Mapping[str, dt.date]) -> None:
    """Add features, or move a known one's first sighting earlier; never later."""
    if not first_seen:
        return
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(ProductFeature).values(
        [{"name": name, "first_seen": day} for name, day in sorted(first_seen.items())]
    )
    table = ProductFeature.__table__
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["name"],
            set_={"first_seen": statement.excluded.first_seen},
            where=statement.excluded.first_seen < table.c.first_seen,
        )
    )


def count(session: Session, as_of: dt.date) -> int:
    """How many features the product had by `as_of`."""
    return int(session.scalar(select(func.count()).where(ProductFeature.first_seen <= as_of)) or 0)
