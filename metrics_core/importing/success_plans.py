"""`closeloop import success_plans`: the outcomes promised at the sale, keyed by your id.

Each row is one promised outcome of an account's success plan. The states must agree
with each other in the file: a `delivered_on` date only on a delivered outcome, an
`acknowledged_on` date only on a delivered one and not before its delivery, and no date
before the promise was made, so the plan `value` shows is one that could have happened.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from metrics_core.importing import values
from metrics_core.importing.kind import KindImporter, Progress, length, store_account_rows
from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.upsert import Counts, model_default
from metrics_core.store.models import Base, OutcomeStatus, SuccessOutcome

_TABLE = Base.metadata.tables[SuccessOutcome.__tablename__]


def _check_delivery(
    rows: Rows, log: ProblemLog, frame: pd.DataFrame, status_ok: np.ndarray
) -> None:
    """Delivery dates and the status agree: a delivered outcome has the day it was
    delivered, and only a delivered one has delivery or acknowledgement dates. Rows whose
    status was itself wrong are left to that problem."""
    dated = [column for column in ("delivered_on", "acknowledged_on") if rows.has(column)]
    if dated and not rows.has("status"):
        log.add(
            1,
            None,
            f"{' and '.join(dated)} need the status column in the same file, to tell which "
            "outcomes were delivered",
        )
        return
    delivered = (frame["status"] == OutcomeStatus.DELIVERED.value).to_numpy()
    statuses = frame["status"].tolist()
    values.report(
        rows,
        log,
        "delivered_on",
        status_ok & delivered & (rows.text("delivered_on") == "").to_numpy(),
        lambda _: "a delivered outcome needs the day it was delivered",
    )
    for column in ("delivered_on", "acknowledged_on"):
        values.report(
            rows,
            log,
            column,
            status_ok & ~delivered & frame[column].notna().to_numpy(),
            lambda status: f"is set but status is '{status}'; only a delivered outcome has it",
            values=statuses,
        )


def check(rows: Rows, log: ProblemLog) -> pd.DataFrame:
    c = _TABLE.c
    status = values.choice(rows, log, "status", OutcomeStatus)
    status_ok = ~((rows.text("status") != "") & status.isna()).to_numpy()
    frame = pd.DataFrame(
        {
            "external_id": values.text(
                rows, log, "external_id", required=True, limit=length(c.external_id)
            ),
            "account_external_id": values.text(rows, log, "account_external_id", required=True),
            "title": values.text(rows, log, "title", required=True, limit=length(c.title)),
            "owner_email": values.email(rows, log, "owner_email"),
            "promised_on": values.date(rows, log, "promised_on", required=True),
            "target_date": values.date(rows, log, "target_date", required=True),
            "status": status.fillna(model_default(c.status)),
            "delivered_on": values.date(rows, log, "delivered_on"),
            "acknowledged_on": values.date(rows, log, "acknowledged_on"),
            "note": values.text(rows, log, "note"),
        }
    )
    promised = frame["promised_on"]
    for column in ("target_date", "delivered_on", "acknowledged_on"):
        values.not_before(rows, log, column, frame[column], "promised_on", promised)
    values.not_before(
        rows,
        log,
        "acknowledged_on",
        frame["acknowledged_on"],
        "delivered_on",
        frame["delivered_on"],
    )
    _check_delivery(rows, log, frame, status_ok)
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
        columns=("external_id", "title", "promised_on", "target_date"),
        member=("owner_id", "owner_email"),
        optional={
            "status": "status",
            "delivered_on": "delivered_on",
            "acknowledged_on": "acknowledged_on",
            "note": "note",
        },
    )


IMPORTER = KindImporter(check, store)
