"""`closeloop import accounts`: customers, keyed by your CRM's external id."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from metrics_core.importing import values
from metrics_core.importing.kind import KindImporter, Progress, length, present_columns
from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.references import team_member_ids
from metrics_core.importing.upsert import Counts, Target, model_default, upsert
from metrics_core.store.models import Account, Base, LifecycleStage, Segment

_TABLE = Base.metadata.tables[Account.__tablename__]


def check(rows: Rows, log: ProblemLog) -> pd.DataFrame:
    c = _TABLE.c
    frame = pd.DataFrame(
        {
            "external_id": values.text(
                rows, log, "external_id", required=True, limit=length(c.external_id)
            ),
            "name": values.text(rows, log, "name", required=True, limit=length(c.name)),
            "domain": values.domain(rows, log, "domain", limit=length(c.domain) or 253),
            "segment": values.choice(rows, log, "segment", Segment, required=True),
            "owner_email": values.email(rows, log, "owner_email"),
            "seats": values.integer(rows, log, "seats").fillna(model_default(c.seats)),
            "lifecycle_stage": values.choice(rows, log, "lifecycle_stage", LifecycleStage).fillna(
                model_default(c.lifecycle_stage)
            ),
            "created_on": values.date(rows, log, "created_on", required=True),
        }
    )
    values.unique(rows, log, "external_id", frame[["external_id"]], lambda key: f"'{key[0]}'")
    return frame


def store(
    connection: Connection, rows: Rows, frame: pd.DataFrame, log: ProblemLog, progress: Progress
) -> Counts:
    owners = team_member_ids(connection, rows, log, "owner_email", frame["owner_email"])
    log.raise_if_any()
    table_frame = frame[["external_id", "name", "segment", "created_on"]].join(
        present_columns(
            frame.assign(owner_id=owners),
            rows,
            {"domain": "domain", "owner_id": "owner_email", "seats": "seats"}
            | {"lifecycle_stage": "lifecycle_stage"},
        )
    )
    return upsert(connection, Target(_TABLE, ("external_id",)), table_frame, progress=progress)


IMPORTER = KindImporter(check, store)
