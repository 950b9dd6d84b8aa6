"""Schema migrations (Alembic), driven from code so the CLI and tests need no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect


class SchemaOutOfDate(Exception):
    """The database has an older schema: an operator should run `closeloop migrate` on purpose."""


MIGRATIONS = Path(__file__).with_name("migrations")


def _config(connection: object | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (the latest by default); safe to run repeatedly."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new revision from the models (a developer tool, not a user command)."""
    with engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)


def require_head(engine: Engine) -> None:
    """Raise `SchemaOutOfDate` unless the schema is at the revision this code expects."""
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"the database schema is at revision {current or 'none'}, this version needs "
            f"{head}: run `closeloop migrate`"
        )


def ensure_schema(engine: Engine) -> None:
    """Create the schema in an empty database; refuse to work on an outdated one.

    An empty database is unambiguous, so batch commands may set it up. An old schema is
    not: upgrading it is a deliberate step (backups, other replicas), left to `migrate`.
    """
    if current_revision(engine) is None and not inspect(engine).get_table_names():
        upgrade(engine)
    require_head(engine)


def clear_data(engine: Engine) -> None:
    """Delete every row of every Closeloop table (children first), keeping the schema."""
    from metrics_core.store.models import Base

    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
