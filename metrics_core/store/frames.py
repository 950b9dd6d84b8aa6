"""Loaders: the DataFrames the pure metric modules (`revenue`, `surveys`) take.

The metric modules never touch the database, so they can be tested against numbers
worked by hand; these functions are the only bridge, one query each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session, aliased

from metrics_core.store.models import (
    Account,
    ArrMovement,
    Segment,
    SurveyKind,
    SurveyResponse,
    TeamMember,
)
from metrics_core.store.scans import unindexed

MOVEMENT_COLUMNS = ("account_id", "kind", "amount", "effective_on", "segment")
SURVEY_COLUMNS = (
    "id",
    "kind",
    "score",
    "comment",
    "submitted_at",
    "respondent_name",
    "respondent_email",
    "account_id",
    "account",
    "segment",
    "owner",
)


def movements(
    session: Session, account_ids: Sequence[int] | None = None, until: dt.date | None = None
) -> pd.DataFrame:
    """ARR movements with the account's segment, for `metrics_core.revenue.rates`."""
    # Kinds and segments as their stored strings: turning 30,000 of them into enum members
    # and back would cost more than the query.
    statement = select(
        ArrMovement.account_id,
        type_coerce(ArrMovement.kind, String),
        ArrMovement.amount,
        ArrMovement.effective_on,
        type_coerce(Account.segment, String),
    ).join(Account, Account.id == ArrMovement.account_id)
    if account_ids is not None:
        statement = statement.where(ArrMovement.account_id.in_(account_ids))
    if until is not None:
        # "Up to a day" is nearly every movement: read the table in order (`unindexed`).
        statement = statement.where(unindexed(ArrMovement.effective_on) <= until)
    # Plain tuples: pandas probes each SQLAlchemy Row for `_fields`, which costs an
    # exception per row.
    rows = list(map(tuple, session.connection().execute(statement)))
    return pd.DataFrame(rows, columns=list(MOVEMENT_COLUMNS))


def survey_responses(
    session: Session,
    since: dt.datetime,
    until: dt.datetime,
    *,
    kind: SurveyKind | None = None,
    account_ids: Sequence[int] | None = None,
    segment: str | None = None,
) -> pd.DataFrame:
    """Responses submitted in [since, until) with account, segment and owner, for `surveys`.

    Unmatched responses (no account) are included unless the caller filters by account
    or segment: they still count towards the company's NPS.
    """
    owner = aliased(TeamMember)
    statement = (
        select(
            SurveyResponse.id,
            SurveyResponse.kind,
            SurveyResponse.score,
            SurveyResponse.comment,
            SurveyResponse.submitted_at,
            SurveyResponse.respondent_name,
            SurveyResponse.respondent_email,
            SurveyResponse.account_id,
            Account.name,
            Account.segment,
            owner.name,
        )
        .outerjoin(Account, Account.id == SurveyResponse.account_id)
        .outerjoin(owner, owner.id == Account.owner_id)
        .where(SurveyResponse.submitted_at >= since, SurveyResponse.submitted_at < until)
    )
    if kind is not None:
        statement = statement.where(SurveyResponse.kind == kind)
    if account_ids is not None:
        statement = statement.where(SurveyResponse.account_id.in_(account_ids))
    if segment is not None:
        statement = statement.where(Account.segment == segment)
    rows = session.execute(statement).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(SURVEY_COLUMNS))
    frame["kind"] = frame["kind"].map(lambda k: k.value)
    # An unmatched answer has no segment; pandas turns that missing value into NaN once the
    # column also holds segments, so test for the enum rather than for None.
    frame["segment"] = frame["segment"].map(lambda s: s.value if isinstance(s, Segment) else None)
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], utc=True)
    return frame


def account_names(session: Session, account_ids: Sequence[int]) -> pd.DataFrame:
    """`account` and `owner` names indexed by account id, to label a frame of results."""
    owner = aliased(TeamMember)
    rows = session.execute(
        select(Account.id, Account.name, owner.name)
        .outerjoin(owner, owner.id == Account.owner_id)
        .where(Account.id.in_(list(map(int, account_ids))))
    ).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["account_id", "account", "owner"])
    return frame.set_index("account_id")
