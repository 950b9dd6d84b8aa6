"""The usage watermark follows the data delivered, and only ever moves forward."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from metrics_core.importing import import_csv
from metrics_core.store import watermarks
from metrics_core.store.db import Database
from tests import factories as f


def test_a_watermark_never_moves_back(db: Database) -> None:
    with db.writing() as session:
        connection = session.connection()
        watermarks.advance(connection, "usage", dt.date(2026, 11, 20))
        watermarks.advance(connection, "usage", dt.date(2026, 11, 18))  # a late re-delivery
    with db.reading() as session:
        assert watermarks.through(session, "usage") == dt.date(2026, 11, 20)
        assert watermarks.through(session, "tickets") is None


def test_importing_usage_advances_it(db: Database, tmp_path: Path) -> None:
    with db.writing() as session:
        f.account(session)
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "account_external_id,date,active_users\nACME,2026-11-17,4\nACME,2026-11-19,5\n",
        encoding="utf-8",
    )
    import_csv(db.engine, "usage", usage)
    with db.reading() as session:
        assert watermarks.through(session, "usage") == dt.date(2026, 11, 19)
