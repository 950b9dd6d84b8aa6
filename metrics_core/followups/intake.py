"""Storing a survey answer from a webhook and owing its alerts, in one transaction.

The caller (the webhook route) commits, then answers 2xx: an answer is never
acknowledged unless it and its outbox rows are stored, and never stored without them. The
detractor and promoter playbooks it fires start in the same transaction
(`metrics_core.playbooks.triggers.start_answer_runs`).

Re-deliveries are decided by the database. The answer row is unique on (provider,
provider response id) and the follow-up on its answer, both inserted with "on conflict
do nothing", so two concurrent deliveries of one answer give one row, one follow-up and
one alert per target; the later one sees an update and edits the alert instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.accounts.respondents import match_respondent
from metrics_core.accounts.team import account_owners
from metrics_core.config import Config
from metrics_core.delivery import outbox
from metrics_core.delivery.routing import AnswerFacts, survey_targets
from metrics_core.delivery.targets import Target
from metrics_core.followups.work import ALERT
from metrics_core.playbooks.triggers import start_answer_runs
from metrics_core.revenue.rates import account_arr
from metrics_core.store import input_versions
from metrics_core.store.db import insert_or_ignore
from metrics_core.store.models import (
    Account,
    FollowUp,
    FollowUpStatus,
    SurveyResponse,
)
from metrics_core.surveys.answers import SurveyAnswer
from metrics_core.surveys.scores import band_of

# Fields a later delivery may change; an absent comment or respondent keeps what is stored
# (a score-only update must not erase the comment that came before it).
_ALWAYS = ("kind", "score", "submitted_at")
_IF_GIVEN = ("comment", "respondent_email", "respondent_name")


@dataclass(frozen=True, slots=True)
class Intake:
    survey_response_id: int
    follow_up_id: int | None
    created: bool
    changed: bool
    alerts: int
    playbook_runs: int = 0
    """Detractor or promoter playbook runs the answer started (each owes its owner a message)."""


def _facts(session: Session, response: SurveyResponse, today: dt.date) -> AnswerFacts:
    band = band_of(response.kind, response.score)
    has_comment = bool((response.comment or "").strip())
    if response.account_id is None:
        return AnswerFacts(band, response.kind, has_comment)
    segment = session.scalar(select(Account.segment).where(Account.id == response.account_id))
    return AnswerFacts(
        band,
        response.kind,
        has_comment,
        segment=segment,
        arr=account_arr(session, response.account_id, today),
        owner=account_owners(session, [response.account_id]).get(response.account_id, ()),
    )


def _store(
    session: Session, answer: SurveyAnswer, now: dt.datetime
) -> tuple[SurveyResponse, bool, bool]:
    match = match_respondent(session, answer.respondent_email, answer.account_external_id)
    new_id = insert_or_ignore(
        session,
        SurveyResponse,
        {
            "provider": answer.provider,
            "provider_response_id": answer.response_id,
            "kind": answer.kind,
            "score": answer.score,
            "comment": answer.comment,
            "respondent_email": answer.respondent_email,
            "respondent_name": answer.respondent_name,
            "account_id": match.account_id,
            "contact_id": match.contact_id,
            "submitted_at": answer.submitted_at,
            "received_at": now,
            "updated_at": now,
        },
        unique=("provider", "provider_response_id"),
    )
    if new_id is not None:
        input_versions.bump(session, [match.account_id] if match.account_id else [])
        response = session.get_one(SurveyResponse, new_id)
        return response, True, True
    response = session.scalars(
        select(SurveyResponse)
        .where(
            SurveyResponse.provider == answer.provider,
            SurveyResponse.provider_response_id == answer.response_id,
        )
        .with_for_update()
    ).one()
    changed = False
    for name in _ALWAYS + _IF_GIVEN:
        value = getattr(answer, name)
        if name in _IF_GIVEN and value is None:
            continue
        if getattr(response, name) != value:
            setattr(response, name, value)
            changed = True
    if response.account_id is None and match.account_id is not None:
        response.account_id, response.contact_id = match.account_id, match.contact_id
        changed = True
    if changed:
        response.updated_at = now
        input_versions.bump(session, [response.account_id] if response.account_id else [])
    return response, False, changed


def record_answer(
    session: Session,
    answer: SurveyAnswer,
    *,
    config: Config,
    fallback: Target | None,
    now: dt.datetime,
) -> Intake:
    """Store or update the answer, open its follow-up, and owe an alert to each target.

    `fallback` is where an answer no routing rule matches alerts (the operator's
    configured alerts target), or None.
    """
    response, created, changed = _store(session, answer, now)
    session.flush()
    facts = _facts(session, response, now.date())
    targets = survey_targets(config.alerts.routes, facts, fallback=fallback)
    follow_up_id = session.scalar(
        select(FollowUp.id).where(FollowUp.survey_response_id == response.id)
    )
    needs_follow_up = bool(targets) or facts.band in config.follow_ups.sla_bands
    had_follow_up = follow_up_id is not None
    if follow_up_id is None and needs_follow_up:
        follow_up_id = insert_or_ignore(
            session,
            FollowUp,
            {
                "survey_response_id": response.id,
                "account_id": response.account_id,
                "status": FollowUpStatus.OPEN,
                "band": facts.band,
                "created_at": now,
            },
            unique=("survey_response_id",),
        )
        if follow_up_id is None:  # a concurrent delivery opened it first
            follow_up_id = session.scalar(
                select(FollowUp.id).where(FollowUp.survey_response_id == response.id)
            )
    alerts = 0
    previous_band = None
    if follow_up_id is not None:
        follow_up = session.get_one(FollowUp, follow_up_id)
        previous_band = follow_up.band if had_follow_up else None
        follow_up.band = facts.band
        follow_up.account_id = response.account_id
        if changed and not created:
            outbox.touch(session, follow_up_id=follow_up_id, kinds=(ALERT,), now=now)
        for target in targets:
            alerts += outbox.enqueue(
                session,
                key=f"{ALERT}:{follow_up_id}",
                kind=ALERT,
                target=target,
                follow_up_id=follow_up_id,
                account_id=response.account_id,
                now=now,
            )
    runs = (
        start_answer_runs(
            session,
            survey_response_id=response.id,
            follow_up_id=follow_up_id,
            config=config,
            now=now,
            fallback=fallback,
        )
        # A new answer, or one whose band changed: not a later comment on the same answer.
        if created or (changed and previous_band != facts.band)
        else 0
    )
    return Intake(response.id, follow_up_id, created, changed, alerts, runs)
