"""`closeloop import tickets`: support tickets, keyed by your help desk's id."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from metrics_core.importing import values
from metrics_core.importing.kind import KindImporter, Progress, length, present_columns
from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.references import account_ids
from metrics_core.importing.upsert import Counts, Target, model_default, upsert
from metrics_core.store.models import Base, Ticket, TicketPriority, TicketStatus

_TABLE = Base.metadata.tables[Ticket.__tablename__]


def check(rows: Rows, log: ProblemLog) -> pd.DataFrame:
    c = _TABLE.c
    frame = pd.DataFrame(
        {
            "external_id": values.text(
                rows, log, "external_id", required=True, limit=length(c.external_id)
            ),
            "account_external_id": values.text(rows, log, "account_external_id", required=True),
            "subject": values.text(rows, log, "subject", limit=length(c.subject)).fillna(
                model_default(c.subject)
            ),
            "priority": values.choice(rows, log, "priority", TicketPriority, required=True),
            "status": values.choice(rows, log, "status", TicketStatus, required=True),
            "category": values.text(rows, log, "category", limit=length(c.category)).fillna(
                model_default(c.category)
            ),
            "opened_at": values.timestamp(rows, log, "opened_at", required=True),
            "closed_at": values.timestamp(rows, log, "closed_at"),
        }
    )
    values.not_before(rows, log, "closed_at", frame["closed_at"], "opened_at", frame["opened_at"])
    values.unique(rows, log, "external_id", frame[["external_id"]], lambda key: f"'{key[0]}'")
    return frame


def store(
    connection: Connection, rows: Rows, frame: pd.DataFrame, log: ProblemLog, progress: Progress
) -> Counts:
    accounts = account_ids(
        connection, rows, log, "account_external_id", frame["account_external_id"]
    )
    log.raise_if_any()
    required = frame[["external_id", "priority", "status", "opened_at"]]
    table_frame = required.assign(account_id=accounts.astype("int64")).join(
        present_columns(frame, rows, {name: name for name in ("subject", "category", "closed_at")})
    )
    return upsert(connection, Target(_TABLE, ("external_id",)), table_frame, progress=progress)


IMPORTER = KindImporter(check, store)
