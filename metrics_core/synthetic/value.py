"""The demo's success plans and advocacy: value promised at the sale, and given back.

Success plans: most Enterprise and Mid-market customers (`PLAN_SHARE`) were promised two
to four outcomes when their current contract term was sold, each due some months later
and owned by the account's CSM. Most outcomes due by now were delivered, most of those on
time, and most of those acknowledged by the customer a few days to weeks after delivery;
the rest are overdue (still on track or at risk past their date, or missed). Accounts on a
troubled path (declining, churning at renewal) deliver and hear back less. Acme Corp's plan
is fixed, so docs and tests can rely on it: one outcome delivered on time and
acknowledged, one three weeks overdue and at risk, one due in two months.

Advocacy follows promoters: each NPS promoter answer (9–10) matched to an account leads
to an act of advocacy at a small rate (`ADVOCACY_RATE`, higher for larger customers) some
days later, of a kind that fits the segment (case studies and reference calls from
Enterprise, reviews and referrals from smaller customers). An answer the demo team followed
up is recorded on its follow-up by whoever closed it, as the "Record advocacy" button
records it, once they had thanked the promoter; older ones are credited to the account's
owner, as an import without `csm_email` is. Nothing happens on or after the as-of day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Row, select

from metrics_core.store.models import (
    AdvocacyKind,
    AnswerBand,
    FollowUp,
    FollowUpStatus,
    OutcomeStatus,
    SurveyKind,
    SurveyResponse,
)
from metrics_core.surveys.scores import band_of
from metrics_core.synthetic.accounts import AccountPlan, Trajectory
from metrics_core.synthetic.team import ENTERPRISE, MID_MARKET, SMB
from metrics_core.synthetic.text import Picker
from metrics_core.value.advocacy import follow_up_key

PLAN_SHARE = 0.85
"""Enterprise and Mid-market customers with a success plan on record."""
OUTCOMES = (2, 4)
TARGET_DAYS = (45, 330)
"""How long after the sale an outcome is due."""
DELIVERED = {False: 0.88, True: 0.55}
"""Outcomes due by now that were delivered, by whether the account is on a troubled path."""
ON_TIME = 0.8
CATCH_UP_AFTER = 60
CAUGHT_UP = 0.5
"""Of the outcomes not delivered on time that fell due more than `CATCH_UP_AFTER` days
ago, those delivered late since: a slipped promise is usually kept in the end."""
EARLY = 0.12
"""Outcomes not yet due that were delivered already."""
AT_RISK = {False: 0.12, True: 0.4}
ACKNOWLEDGED = {False: 0.78, True: 0.5}
MISSED = 0.3
"""Of the overdue outcomes, those written off as missed (the rest still say on track or
at risk)."""
ADVOCACY_RATE = {ENTERPRISE: 0.15, MID_MARKET: 0.1, SMB: 0.05}
ADVOCACY_KINDS: dict[int, tuple[tuple[AdvocacyKind, float], ...]] = {
    ENTERPRISE: (
        (AdvocacyKind.REFERENCE_CALL, 0.4),
        (AdvocacyKind.CASE_STUDY, 0.3),
        (AdvocacyKind.REFERRAL, 0.2),
        (AdvocacyKind.REVIEW, 0.1),
    ),
    MID_MARKET: (
        (AdvocacyKind.REFERRAL, 0.35),
        (AdvocacyKind.REVIEW, 0.3),
        (AdvocacyKind.REFERENCE_CALL, 0.25),
        (AdvocacyKind.CASE_STUDY, 0.1),
    ),
    SMB: ((AdvocacyKind.REVIEW, 0.6), (AdvocacyKind.REFERRAL, 0.4)),
}
ADVOCACY_DAYS = (3, 45)
"""Days from the promoter's answer to the act."""
_TROUBLED = frozenset({Trajectory.CHURNING, Trajectory.AT_RISK, Trajectory.SILENT_CHURN})
TITLES = {
    ENTERPRISE: (
        "Month-end close in 3 days instead of 8",
        "Roll out to the EMEA support team",
        "Retire the legacy reporting warehouse",
        "Executive dashboard adopted by the leadership team",
        "SSO and SCIM provisioning for every business unit",
        "Cut time to onboard a new hire to two weeks",
        "Salesforce integration live for all regions",
        "Audit trail accepted by the compliance team",
        "Self-serve reporting for 200 analysts",
        "Replace three point tools with one platform",
    ),
    MID_MARKET: (
        "Board report built in one hour, not two days",
        "Support backlog down by 30 %",
        "Integration with HubSpot live",
        "Every team lead trained and using dashboards",
        "Automate the weekly pipeline review",
        "Onboard the second office",
        "Renewal forecasting out of spreadsheets",
        "Customer health reviewed every week",
    ),
}
ACME_PLAN = (
    ("Month-end close in 3 days instead of 8", -120, OutcomeStatus.DELIVERED, -134, -125),
    ("Roll out to the EMEA support team", -21, OutcomeStatus.AT_RISK, None, None),
    ("Executive dashboard adopted by the leadership team", 60, OutcomeStatus.ON_TRACK, None, None),
)
"""Acme's outcomes: title, target, status, delivered and acknowledged, in days from as-of."""

_PLAN_COLUMNS = (
    "external_id",
    "account_id",
    "title",
    "owner_id",
    "promised_on",
    "target_date",
    "status",
    "delivered_on",
    "acknowledged_on",
)


def _days(day: dt.date, low: int, high: int, picker: Picker) -> dt.date:
    return day + dt.timedelta(days=picker.integer(low, high))


def _sold_on(plan: AccountPlan, row: int) -> dt.date:
    """When the account's current term was sold: the start of the latest term so far."""
    started = [term.start for term in plan.terms[row] if term.start <= plan.window.as_of]
    return max(started) if started else plan.created_on[row]


def _outcome(
    promised: dt.date, troubled: bool, last: dt.date, picker: Picker
) -> tuple[dt.date, OutcomeStatus, dt.date | None, dt.date | None]:
    """(target date, status, delivered on, acknowledged on) of one promised outcome, as of
    `last`, the last day seeded data covers."""
    target = _days(promised, *TARGET_DAYS, picker)
    delivered: dt.date | None = None
    if target <= last:
        if picker.chance(DELIVERED[troubled]):
            if picker.chance(ON_TIME):
                delivered = max(promised + dt.timedelta(days=7), _days(target, -30, 0, picker))
            else:
                delivered = min(last, _days(target, 3, 45, picker))
        elif (last - target).days > CATCH_UP_AFTER and picker.chance(CAUGHT_UP):
            delivered = min(last, _days(target, CATCH_UP_AFTER // 2, CATCH_UP_AFTER, picker))
    elif picker.chance(EARLY) and (last - promised).days > 14:
        delivered = _days(promised, 14, (last - promised).days, picker)
    if delivered is None:
        if target <= last and picker.chance(MISSED):
            status = OutcomeStatus.MISSED
        else:
            status = (
                OutcomeStatus.AT_RISK
                if picker.chance(AT_RISK[troubled])
                else OutcomeStatus.ON_TRACK
            )
        return target, status, None, None
    acknowledged = None
    if picker.chance(ACKNOWLEDGED[troubled]):
        day = _days(delivered, 2, 30, picker)
        acknowledged = day if day <= last else None
    return target, OutcomeStatus.DELIVERED, delivered, acknowledged


def plan_success_outcomes(plan: AccountPlan, picker: Picker) -> pd.DataFrame:
    """Success plans of the Enterprise and Mid-market customers of the as-of day."""
    window = plan.window
    last = window.as_of - dt.timedelta(days=1)
    rows: list[tuple[object, ...]] = []
    customers = plan.is_customer(np.arange(plan.count), window.last_index)
    for row in range(plan.count):
        segment = int(plan.segment[row])
        if segment not in TITLES or not customers[row]:
            continue
        external_id, owner = plan.external_ids[row], int(plan.owner_id[row])
        account_id = int(plan.ids[row])
        if row == 0:  # Acme Corp
            sold = _sold_on(plan, row)
            for n, (title, due, status, delivered, acknowledged) in enumerate(ACME_PLAN, 1):
                rows.append(
                    (
                        f"SP-{external_id}-{n}",
                        account_id,
                        title,
                        owner,
                        sold,
                        window.as_of + dt.timedelta(days=due),
                        status.value,
                        None if delivered is None else window.as_of + dt.timedelta(days=delivered),
                        None
                        if acknowledged is None
                        else window.as_of + dt.timedelta(days=acknowledged),
                    )
                )
            continue
        if not picker.chance(PLAN_SHARE):
            continue
        promised = _sold_on(plan, row)
        troubled = Trajectory(int(plan.trajectory[row])) in _TROUBLED
        titles = list(TITLES[segment])
        for n in range(1, picker.integer(*OUTCOMES) + 1):
            title = titles.pop(int(picker.uniform() * len(titles)))
            target, status, delivered_on, acknowledged_on = _outcome(
                promised, troubled, last, picker
            )
            rows.append(
                (
                    f"SP-{external_id}-{n}",
                    account_id,
                    title,
                    owner,
                    promised,
                    target,
                    status.value,
                    delivered_on,
                    acknowledged_on,
                )
            )
    frame = pd.DataFrame(rows, columns=list(_PLAN_COLUMNS))
    for column in ("promised_on", "target_date", "delivered_on", "acknowledged_on"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def _kind(segment: int, picker: Picker) -> AdvocacyKind:
    draw, total = picker.uniform(), 0.0
    choices = ADVOCACY_KINDS[segment]
    for kind, weight in choices:
        total += weight
        if draw < total:
            return kind
    return choices[-1][0]


def _answers(connection: Connection) -> Sequence[Row[*tuple[Any, ...]]]:
    """NPS answers matched to an account, oldest first, with their follow-up if any."""
    return connection.execute(
        select(
            SurveyResponse.account_id,
            SurveyResponse.score,
            SurveyResponse.submitted_at,
            FollowUp.id,
            FollowUp.status,
            FollowUp.owner_id,
            FollowUp.closed_at,
        )
        .outerjoin(FollowUp, FollowUp.survey_response_id == SurveyResponse.id)
        .where(
            SurveyResponse.kind == SurveyKind.NPS,
            SurveyResponse.account_id.is_not(None),
        )
        .order_by(SurveyResponse.submitted_at, SurveyResponse.provider_response_id)
    ).all()


def plan_advocacy(connection: Connection, plan: AccountPlan, picker: Picker) -> pd.DataFrame:
    """Acts of advocacy that followed the stored promoter answers (module docstring)."""
    last = plan.window.as_of - dt.timedelta(days=1)
    row_of = {int(account_id): row for row, account_id in enumerate(plan.ids.tolist())}
    acts: list[tuple[object, ...]] = []
    for account_id, score, submitted, follow_up, status, owner, closed in _answers(connection):
        row = row_of.get(int(account_id))
        if row is None or band_of(SurveyKind.NPS, int(score)) is not AnswerBand.PROMOTER:
            continue
        segment = int(plan.segment[row])
        if not picker.chance(ADVOCACY_RATE[segment]):
            continue
        kind = _kind(segment, picker)
        answered = _as_date(submitted)
        occurred = _days(answered, *ADVOCACY_DAYS, picker)
        if follow_up is not None:
            if status is not FollowUpStatus.CLOSED or closed is None:
                continue  # not thanked yet: nothing to record on it
            occurred = max(occurred, _as_date(closed))
        if occurred > last:
            continue
        on_follow_up = follow_up is not None
        acts.append(
            (
                follow_up_key(int(follow_up), kind)
                if on_follow_up
                else f"ADV-{plan.external_ids[row]}-{len(acts) + 1:05d}",
                int(account_id),
                int(follow_up) if on_follow_up else None,
                int(owner) if on_follow_up and owner is not None else int(plan.owner_id[row]),
                kind.value,
                occurred,
            )
        )
    frame = pd.DataFrame(
        acts,
        columns=[
            "external_id",
            "account_id",
            "follow_up_id",
            "team_member_id",
            "kind",
            "occurred_on",
        ],
    )
    frame["follow_up_id"] = frame["follow_up_id"].astype("Int64")
    frame["occurred_on"] = pd.to_datetime(frame["occurred_on"])
    return frame


def _as_date(value: Any) -> dt.date:
    """The UTC day of a stored instant (an aware datetime; SQLite may hand back text)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
    day: dt.date = pd.Timestamp(value).date()
    return day


def seed_value(
    connection: Connection,
    plan: AccountPlan,
    rng: np.random.Generator,
    write: Callable[[str, pd.DataFrame], None],
) -> None:
    """Write the demo's success plans and advocacy, after the survey answers and follow-ups."""
    picker = Picker(rng)
    write("success_outcomes", plan_success_outcomes(plan, picker))
    write("advocacy_events", plan_advocacy(connection, plan, picker))
