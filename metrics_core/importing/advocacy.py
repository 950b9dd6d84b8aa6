"""`closeloop import advocacy`: referrals, reviews, reference calls and case studies.

Acts recorded in chat on a promoter's follow-up have the external id
`follow-up:<id>:<kind>`; a file may not use that form, so an import never overwrites
what the team recorded there.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from metrics_core.importing import values
from metrics_core.importing.kind import KindImporter, Progress, length, store_account_rows
from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.upsert import Counts
from metrics_core.store.models import AdvocacyEvent, AdvocacyKind, Base

_TABLE = Base.metadata.tables[AdvocacyEvent.__tablename__]
RECORDED_IN_CHAT = "follow-up:"
"""The external-id prefix of acts recorded on follow-ups (`value.advocacy.follow_up_key`)."""


def check(rows: Rows, log: ProblemLog) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "external_id": values.text(
                rows, log, "external_id", required=True, limit=length(_TABLE.c.external_id)
            ),
            "account_external_id": values.text(rows, log, "account_external_id", required=True),
            "kind": values.choice(rows, log, "kind", AdvocacyKind, required=True),
            "occurred_on": values.date(rows, log, "occurred_on", required=True),
            "csm_email": values.email(rows, log, "csm_email"),
            "note": values.text(rows, log, "note"),
        }
    )
    reserved = frame["external_id"].str.lower().str.startswith(RECORDED_IN_CHAT).fillna(False)
    values.report(
        rows,
        log,
        "external_id",
        reserved.to_numpy(dtype=bool),
        lambda v: (
            f"'{v}' starts with '{RECORDED_IN_CHAT}', which is kept for acts recorded "
            "in chat; use an id of your own"
        ),
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
        columns=("external_id", "kind", "occurred_on"),
        member=("team_member_id", "csm_email"),
        optional={"note": "note"},
    )


IMPORTER = KindImporter(check, store)
