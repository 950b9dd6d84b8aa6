"""`closeloop import contacts`: the customer's people, keyed by email; surveys match them."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from metrics_core.importing import values
from metrics_core.importing.kind import KindImporter, Progress, length, present_columns
from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.references import account_ids
from metrics_core.importing.upsert import Counts, Target, upsert
from metrics_core.store.models import Base, Contact

_TABLE = Base.metadata.tables[Contact.__tablename__]


def check(rows: Rows, log: ProblemLog) -> pd.DataFrame:
    c = _TABLE.c
    frame = pd.DataFrame(
        {
            "email": values.email(rows, log, "email", required=True),
            "name": values.text(rows, log, "name", required=True, limit=length(c.name)),
            "account_external_id": values.text(rows, log, "account_external_id", required=True),
            "title": values.text(rows, log, "title", limit=length(c.title)),
        }
    )
    values.unique(rows, log, "email", frame[["email"]], lambda key: f"'{key[0]}'")
    return frame


def store(
    connection: Connection, rows: Rows, frame: pd.DataFrame, log: ProblemLog, progress: Progress
) -> Counts:
    accounts = account_ids(
        connection, rows, log, "account_external_id", frame["account_external_id"]
    )
    log.raise_if_any()
    table_frame = frame[["email", "name"]].assign(account_id=accounts.astype("int64"))
    table_frame = table_frame.join(present_columns(frame, rows, {"title": "title"}))
    target = Target(_TABLE, ("email",), casefold=True)
    return upsert(connection, target, table_frame, progress=progress)


IMPORTER = KindImporter(check, store)
