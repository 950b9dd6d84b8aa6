"""`closeloop import activities`: CSM touchpoints (calls, QBRs, trainings, emails)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from metrics_core.importing import values
from metrics_core.importing.kind import KindImporter, Progress, length, store_account_rows
from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.upsert import Counts
from metrics_core.store.models import Activity, ActivityKind, Base

_TABLE = Base.metadata.tables[Activity.__tablename__]


def check(rows: Rows, log: ProblemLog) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "external_id": values.text(
                rows, log, "external_id", required=True, limit=length(_TABLE.c.external_id)
            ),
            "account_external_id": values.text(rows, log, "account_external_id", required=True),
            "kind": values.choice(rows, log, "kind", ActivityKind, required=True),
            "occurred_at": values.timestamp(rows, log, "occurred_at", required=True),
            "csm_email": values.email(rows, log, "csm_email"),
            "note": values.text(rows, log, "note"),
        }
    )
    values.unique(rows, log, "external_id", frame[["external_id"]], lambda key: f"'{key[0]}'")
    return frame


def store(
    connection: Connection, rows: Rows, frame: pd.DataFrame, log: ProblemLog, progress: Progress
) -> Counts:
    return store_account_rows(
        connection,
        rows,
        frame,
        log,
        progress,
        table=_TABLE,
        columns=("external_id", "kind", "occurred_at"),
        member=("team_member_id", "csm_email"),
        optional={"note": "note"},
    )


IMPORTER = KindImporter(check, store)
