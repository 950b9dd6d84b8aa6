"""`closeloop import surveys`: NPS, CSAT and CES answers, matched to accounts and contacts.

Answers are keyed by (provider, response id) like webhook deliveries, so importing an
export of answers that webhooks already delivered updates them instead of doubling them.
An answer no account matches is kept unmatched, never dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from metrics_core.accounts.respondents import match_respondents
from metrics_core.clock import utc_now
from metrics_core.importing import values
from metrics_core.importing.kind import KindImporter, Progress, length, present_columns
from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.references import account_ids
from metrics_core.importing.upsert import Counts, Target, upsert
from metrics_core.store.models import SCORE_RANGES, Base, SurveyKind, SurveyResponse

_TABLE = Base.metadata.tables[SurveyResponse.__tablename__]
DEFAULT_PROVIDER = "import"


def check(rows: Rows, log: ProblemLog) -> pd.DataFrame:
    c = _TABLE.c
    frame = pd.DataFrame(
        {
            "response_id": values.text(
                rows, log, "response_id", required=True, limit=length(c.provider_response_id)
            ),
            "survey": values.choice(rows, log, "survey", SurveyKind, required=True),
            "score": values.integer(rows, log, "score", required=True),
            "comment": values.text(rows, log, "comment"),
            "respondent_email": values.email(rows, log, "respondent_email"),
            "respondent_name": values.text(
                rows, log, "respondent_name", limit=length(c.respondent_name)
            ),
            "account_external_id": values.text(rows, log, "account_external_id"),
            "submitted_at": values.timestamp(rows, log, "submitted_at", required=True),
            "provider": values.text(rows, log, "provider", limit=length(c.provider))
            .str.lower()
            .fillna(DEFAULT_PROVIDER),
        }
    )
    _check_scale(rows, log, frame)
    values.unique(
        rows,
        log,
        "response_id",
        frame[["provider", "response_id"]],
        lambda key: f"response '{key[1]}' from provider '{key[0]}'",
    )
    return frame


def _check_scale(rows: Rows, log: ProblemLog, frame: pd.DataFrame) -> None:
    low = frame["survey"].map({kind.value: scale[0] for kind, scale in SCORE_RANGES.items()})
    high = frame["survey"].map({kind.value: scale[1] for kind, scale in SCORE_RANGES.items()})
    score = frame["score"]
    outside = (score.notna() & low.notna() & ((score < low) | (score > high))).to_numpy(
        dtype=bool, na_value=False
    )
    described = list(zip(rows.text("score"), frame["survey"], low, high, strict=True))
    values.report(
        rows,
        log,
        "score",
        outside,
        lambda d: f"{d[0]} is outside the {str(d[1]).upper()} scale ({d[2]:.0f}–{d[3]:.0f})",
        values=described,
    )


def store(
    connection: Connection, rows: Rows, frame: pd.DataFrame, log: ProblemLog, progress: Progress
) -> Counts:
    account_ids(connection, rows, log, "account_external_id", frame["account_external_id"])
    log.raise_if_any()
    now = utc_now()
    table_frame = pd.DataFrame(
        {
            "provider": frame["provider"],
            "provider_response_id": frame["response_id"],
            "kind": frame["survey"],
            "score": frame["score"].to_numpy(dtype=np.int64),
            "submitted_at": frame["submitted_at"],
            "updated_at": now,
        }
    )
    table_frame = table_frame.join(
        present_columns(
            frame, rows, {name: name for name in ("comment", "respondent_email", "respondent_name")}
        )
    )
    if rows.has("respondent_email") or rows.has("account_external_id"):
        table_frame = table_frame.join(_matches(connection, frame))
    target = Target(_TABLE, ("provider", "provider_response_id"))
    return upsert(
        connection,
        target,
        table_frame,
        defaults={"received_at": now},
        progress=progress,
        not_compared=("updated_at",),  # when we wrote it, not what the answer says
    )


def _matches(connection: Connection, frame: pd.DataFrame) -> pd.DataFrame:
    """account_id and contact_id per answer; without either column the stored match stays."""
    answers = [
        (None if pd.isna(email) else email, None if pd.isna(external) else external)
        for email, external in zip(
            frame["respondent_email"], frame["account_external_id"], strict=True
        )
    ]
    matches = match_respondents(connection, answers)
    return pd.DataFrame(
        {
            "account_id": pd.array([m.account_id for m in matches], dtype="Int64"),
            "contact_id": pd.array([m.contact_id for m in matches], dtype="Int64"),
        },
        index=frame.index,
    )


IMPORTER = KindImporter(check, store)
