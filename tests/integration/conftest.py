"""The demo book the integration tests read, made once per run.

Seeding the demo (`closeloop seed`: 500 accounts, a year, seed 7) takes seconds; several
modules check answers against it. It is made once into a file, and each module works on
its own copy, so what one module stores (snapshots) never leaks into another.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.synthetic import seed_database

DEMO_AS_OF = dt.date(2026, 12, 6)


@pytest.fixture(scope="session")
def demo_book_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo book exactly as `closeloop seed` makes it, as of `DEMO_AS_OF`."""
    path = tmp_path_factory.mktemp("demo-book") / "closeloop.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    seed_database(engine, as_of=DEMO_AS_OF)
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def demo(demo_book_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """This module's own copy of the demo book."""
    path = tmp_path_factory.mktemp("demo") / "closeloop.db"
    shutil.copyfile(demo_book_file, path)
    database = Database(make_engine(f"sqlite:///{path}"))
    yield database
    database.close()
