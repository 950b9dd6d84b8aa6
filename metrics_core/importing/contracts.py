"""`closeloop import contracts`: subscription terms, and the ARR history derived from them.

Movements and renewals are a function of all of an account's terms
(`metrics_core.revenue.arr.account_history`, the one definition), so after writing the file's
terms every affected account's history is rebuilt from all its stored terms, not patched.
The contracts table has no status column: whether a term churned is kept as its
renewal's status, which is therefore read before the old renewals are replaced.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, select, update

from metrics_core.importing import values
from metrics_core.importing.columns import ContractStatus
from metrics_core.importing.kind import KindImporter, Progress, length
from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.references import account_ids, in_chunks
from metrics_core.importing.upsert import Counts, Target, upsert
from metrics_core.revenue.arr import Term, account_history
from metrics_core.store.bulk import write_frame
from metrics_core.store.models import (
    Account,
    ArrMovement,
    Base,
    Contract,
    LifecycleStage,
    Renewal,
    RenewalStatus,
)

_TABLE = Base.metadata.tables[Contract.__tablename__]


def check(rows: Rows, log: ProblemLog) -> pd.DataFrame:
    c = _TABLE.c
    frame = pd.DataFrame(
        {
            "external_id": values.text(
                rows, log, "external_id", required=True, limit=length(c.external_id)
            ),
            "account_external_id": values.text(rows, log, "account_external_id", required=True),
            "start_date": values.date(rows, log, "start_date", required=True),
            "end_date": values.date(rows, log, "end_date", required=True),
            "arr": values.number(rows, log, "arr", required=True),
            "status": values.choice(rows, log, "status", ContractStatus).fillna(
                ContractStatus.ACTIVE.value
            ),
        }
    )
    values.not_before(rows, log, "end_date", frame["end_date"], "start_date", frame["start_date"])
    values.unique(rows, log, "external_id", frame[["external_id"]], lambda key: f"'{key[0]}'")
    return frame


def store(
    connection: Connection, rows: Rows, frame: pd.DataFrame, log: ProblemLog, progress: Progress
) -> Counts:
    accounts = account_ids(
        connection, rows, log, "account_external_id", frame["account_external_id"]
    )
    log.raise_if_any()
    table_frame = frame[["external_id", "start_date", "end_date", "arr"]].assign(
        account_id=accounts.astype("int64")
    )
    is_churned = (frame["status"] == ContractStatus.CHURNED.value).to_numpy(dtype=bool)
    stored_churned = _stored_churned(connection, set(frame["external_id"]))
    status_changed = np.array(
        [
            external_id in stored_churned and stored_churned[external_id] != churned
            for external_id, churned in zip(frame["external_id"], is_churned, strict=True)
        ],
        dtype=bool,
    )
    # Read before the upsert: a contract moved to another account changes its old one too.
    holders = _current_accounts(connection, set(frame["external_id"]))
    counts = upsert(
        connection,
        Target(_TABLE, ("external_id",)),
        table_frame,
        progress=progress,
        changed_elsewhere=status_changed,
    )
    assert counts.written is not None
    churned = dict(zip(frame["external_id"], is_churned, strict=True))
    written = table_frame[counts.written]
    changed_accounts = set(written["account_id"].tolist()) | {
        holders[external_id] for external_id in written["external_id"] if external_id in holders
    }
    rebuild_history(connection, changed_accounts, churned)
    return counts


def _current_accounts(connection: Connection, external_ids: Collection[str]) -> dict[str, int]:
    """The account that holds each of these contracts now."""
    found: dict[str, int] = {}
    for where in in_chunks(Contract.external_id, external_ids):
        query = select(Contract.external_id, Contract.account_id).where(where)
        found.update((external_id, account) for external_id, account in connection.execute(query))
    return found


def _stored_churned(connection: Connection, external_ids: Collection[str]) -> dict[str, bool]:
    """Whether each stored contract of these is marked churned (its renewal's status)."""
    found: dict[str, bool] = {}
    for where in in_chunks(Contract.external_id, external_ids):
        query = (
            select(Contract.external_id, Renewal.status)
            .outerjoin(Renewal, Renewal.contract_id == Contract.id)
            .where(where)
        )
        for external_id, status in connection.execute(query):
            found[external_id] = found.get(external_id, False) or status is RenewalStatus.CHURNED
    return found


def rebuild_history(
    connection: Connection, account_ids: Collection[int], churned: Mapping[str, bool]
) -> None:
    """Replace the accounts' ARR movements and renewals with those of all their terms.

    `churned` gives the status of the terms just imported (by external id); other terms
    keep the status their stored renewal has.
    """
    terms = _terms(connection, account_ids, churned)
    for where in in_chunks(ArrMovement.account_id, account_ids):
        connection.execute(delete(ArrMovement).where(where))
    for where in in_chunks(Renewal.account_id, account_ids):
        connection.execute(delete(Renewal).where(where))
    movements: list[dict[str, Any]] = []
    renewals: list[dict[str, Any]] = []
    latest_churned: dict[int, bool] = {}
    for account_id, account_terms in terms.items():
        moves, facts = account_history(account_terms)
        movements += [
            {"account_id": account_id, "contract_id": m.term_key, "kind": m.kind}
            | {"amount": m.amount, "effective_on": m.effective_on}
            for m in moves
        ]
        renewals += [
            {"account_id": account_id, "contract_id": r.term_key, "renewal_date": r.renewal_date}
            | {"arr": r.arr, "status": r.status}
            for r in facts
        ]
        latest_churned[account_id] = bool(facts) and facts[-1].status is RenewalStatus.CHURNED
    write_frame(connection, Base.metadata.tables["arr_movements"], pd.DataFrame(movements))
    write_frame(connection, Base.metadata.tables["renewals"], pd.DataFrame(renewals))
    _set_lifecycle(connection, latest_churned)


def _terms(
    connection: Connection, account_ids: Collection[int], churned: Mapping[str, bool]
) -> dict[int, list[Term]]:
    stored_churn: set[int] = set()
    for where in in_chunks(Renewal.account_id, account_ids):
        churn_query = select(Renewal.contract_id).where(
            where, Renewal.status == RenewalStatus.CHURNED
        )
        stored_churn.update(connection.execute(churn_query).scalars())
    terms: dict[int, list[Term]] = defaultdict(list)
    columns = (Contract.id, Contract.external_id, Contract.account_id)
    for where in in_chunks(Contract.account_id, account_ids):
        query = select(*columns, Contract.start_date, Contract.end_date, Contract.arr).where(where)
        for contract_id, external_id, account_id, start, end, arr in connection.execute(query):
            is_churned = churned.get(external_id, contract_id in stored_churn)
            terms[account_id].append(Term(contract_id, _day(start), _day(end), arr, is_churned))
    return terms


def _day(value: dt.date) -> dt.date:
    return value if type(value) is dt.date else dt.date.fromisoformat(str(value)[:10])


def _set_lifecycle(connection: Connection, latest_churned: Mapping[int, bool]) -> None:
    """Churned when the latest term churned; a won-back account starts onboarding again."""
    lost = {account for account, churned in latest_churned.items() if churned}
    won_back = set(latest_churned) - lost
    for where in in_chunks(Account.id, lost):
        connection.execute(
            update(Account).where(where).values(lifecycle_stage=LifecycleStage.CHURNED)
        )
    for where in in_chunks(Account.id, won_back):
        connection.execute(
            update(Account)
            .where(where, Account.lifecycle_stage == LifecycleStage.CHURNED)
            .values(lifecycle_stage=LifecycleStage.ONBOARDING)
        )


IMPORTER = KindImporter(check, store)
