"""Which accounts' health inputs changed, as a counter per account.

An account's health is a pure function of its stored inputs (usage, tickets, surveys,
contracts, activities, its own row and its past snapshots), the day and the scorecard.
So a computed answer stays right until one of those inputs is written. Every write path
that changes them bumps `Account.inputs_version` in the same transaction: a CSV import,
a survey webhook, seeding and storing snapshots. A reader that remembers the version it
computed with knows, from one indexed read, whether it may answer from memory, and every
replica of the service sees the bump the moment it commits. The bump is also announced
(`metrics_core.store.changes`), so whole answers kept in memory know to stop being reused.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import Connection, Select, bindparam, select, update
from sqlalchemy.orm import Session

from metrics_core.store.changes import announce
from metrics_core.store.models import Account


def bump(connection: Connection | Session, account_ids: Iterable[int] | None = None) -> None:
    """Mark these accounts' inputs as changed; every account's when `account_ids` is None.

    Bulk writers (imports, seeding, snapshots) mark every account: a file may touch any of
    them, and one UPDATE costs less than finding out which. Run it last in the transaction:
    on PostgreSQL it holds the rows' locks until the commit.
    """
    statement = update(Account).values(inputs_version=Account.inputs_version + 1)
    if account_ids is not None:
        ids = sorted(set(account_ids))  # one lock order, so two writers cannot deadlock
        if not ids:
            return
        statement = statement.where(Account.id.in_(ids))
    connection.execute(statement.execution_options(synchronize_session=False))
    announce(connection)


@functools.cache
def _version_query() -> Select[int]:
    # Built once: it is asked before every cached answer, and building costs more than running.
    return select(Account.inputs_version).where(Account.id == bindparam("account_id"))


def version(session: Session, account_id: int) -> int | None:
    """The account's inputs version; None if there is no such account."""
    return session.scalar(_version_query(), {"account_id": account_id})
