"""`closeloop import cs_costs`: what the CS team cost, per period, for cost to retain.

Cost to retain divides this by the ARR managed; without it `kpis` says the cost is missing
instead of calling the team lean. A row is identified by its days and segment, so a
corrected amount for a month replaces the month's row instead of adding to it.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from metrics_core.importing import values
from metrics_core.importing.kind import KindImporter, Progress
from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.upsert import Counts, Target, upsert
from metrics_core.store.models import Base, CsCost, Segment

_TABLE = Base.metadata.tables[CsCost.__tablename__]


def check(rows: Rows, log: ProblemLog) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "period_start": values.date(rows, log, "period_start", required=True),
            "period_end": values.date(rows, log, "period_end", required=True),
            "amount": values.number(rows, log, "amount", required=True),
            "segment": values.choice(rows, log, "segment", Segment),
        }
    )
    values.not_before(
        rows, log, "period_end", frame["period_end"], "period_start", frame["period_start"]
    )
    values.unique(
        rows,
        log,
        "period_start",
        frame[["period_start", "period_end", "segment"]].fillna({"segment": ""}),
        lambda key: f"{key[0]:%Y-%m-%d} to {key[1]:%Y-%m-%d} for {key[2] or 'the whole team'}",
    )
    return frame


def store(
    connection: Connection, rows: Rows, frame: pd.DataFrame, log: ProblemLog, progress: Progress
) -> Counts:
    log.raise_if_any()
    table_frame = pd.DataFrame(
        {
            # Days as dates: the stored rows are looked up by `period_start IN (…)`.
            "period_start": frame["period_start"].dt.date,
            "period_end": frame["period_end"].dt.date,
            "segment": frame["segment"].astype(object).where(frame["segment"].notna(), None),
            "amount": frame["amount"],
        }
    )
    target = Target(_TABLE, ("period_start", "period_end", "segment"))
    return upsert(connection, target, table_frame, progress=progress)


IMPORTER = KindImporter(check, store)
