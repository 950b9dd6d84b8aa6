"""What an outbox message shows, read as things stand when it is sent or edited.

Alerts are rendered from the current state of what they announce each time, so a
claimed follow-up shows its owner and a closed one its outcome in the very message the
team saw first. This module reads that state in one transaction: the follow-up with its
answer, or the account of an account alert, with the account's health and ARR today.
A digest needs nothing read: its message was decided when its run was claimed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.config import Config
from metrics_core.delivery.account_alerts import HEALTH_BAND, USAGE_DROP
from metrics_core.delivery.outbox import Due
from metrics_core.followups.work import ALERT, FollowUpView, follow_up_view
from metrics_core.health.scorecard import Band, account_health
from metrics_core.playbooks.runs import PLAYBOOK_MESSAGES, RunView, run_view
from metrics_core.revenue.rates import account_arr
from metrics_core.store.models import Account

ACCOUNT_ALERTS = (USAGE_DROP, HEALTH_BAND)


@dataclass(frozen=True, slots=True)
class AccountStanding:
    """An account as an alert shows it: its names, health today and ARR."""

    name: str
    external_id: str
    arr: float
    health_score: float | None
    """None when the account is not a customer today."""
    health_band: Band | None


@dataclass(frozen=True, slots=True)
class SurveyAlertFacts:
    view: FollowUpView
    account: AccountStanding | None
    """The account the answer matched, for the alert itself; None for an unmatched
    respondent, and not read for a reminder or an escalation, which do not show it."""


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """One outbox message's subject now; `follow_up` and `account` are None when what it
    announces no longer exists (or, for a digest, when nothing needs reading)."""

    due: Due
    follow_up: SurveyAlertFacts | None = None
    account: AccountStanding | None = None
    run: RunView | None = None
    """The playbook run a checklist, reminder or escalation is about."""


def _standing(
    session: Session, account_id: int, as_of: dt.date, config: Config, *, with_health: bool
) -> AccountStanding | None:
    row = session.execute(
        select(Account.name, Account.external_id).where(Account.id == account_id)
    ).first()
    if row is None:
        return None
    health = account_health(session, account_id, as_of, config) if with_health else None
    return AccountStanding(
        name=row.name,
        external_id=row.external_id,
        arr=account_arr(session, account_id, as_of),
        health_score=health.score if health is not None else None,
        health_band=health.band if health is not None else None,
    )


def survey_alert_facts(
    session: Session,
    *,
    follow_up_id: int,
    as_of: dt.date,
    config: Config,
    with_account: bool = True,
) -> SurveyAlertFacts | None:
    """A follow-up's alert as of `as_of`; None when the follow-up no longer exists."""
    view = follow_up_view(session, follow_up_id)
    if view is None:
        return None
    account = (
        _standing(session, view.account_id, as_of, config, with_health=True)
        if with_account and view.account_id is not None
        else None
    )
    return SurveyAlertFacts(view, account)


def alert_facts(session: Session, *, due: Due, now: dt.datetime, config: Config) -> AlertFacts:
    """What the message of `due` shows when sent at `now`."""
    today = now.date()
    if due.kind in PLAYBOOK_MESSAGES:
        run_id = due.details.get("run")
        return AlertFacts(due, run=run_view(session, int(run_id)) if run_id is not None else None)
    if due.kind in ACCOUNT_ALERTS:
        account = (
            _standing(session, due.account_id, today, config, with_health=False)
            if due.account_id is not None
            else None
        )
        return AlertFacts(due, account=account)
    if due.follow_up_id is not None:
        follow_up = survey_alert_facts(
            session,
            follow_up_id=due.follow_up_id,
            as_of=today,
            config=config,
            with_account=due.kind == ALERT,
        )
        return AlertFacts(due, follow_up=follow_up)
    return AlertFacts(due)
