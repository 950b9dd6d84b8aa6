"""The closed-loop SLA: remind, then escalate, unclaimed follow-ups so none is forgotten.

Run periodically by the service. Each step is recorded on the follow-up (`reminded_at`,
`escalated_at`) by a conditional UPDATE and its message owed through the outbox under a
key unique to the step, so replicas running this at the same moment send each reminder
and each escalation once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from metrics_core.accounts.team import account_owners
from metrics_core.config import Config
from metrics_core.delivery import outbox
from metrics_core.delivery.targets import Target, conversations
from metrics_core.followups.work import ALERT, ESCALATION, REMINDER
from metrics_core.store.models import Delivery, FollowUp, FollowUpStatus


@dataclass(frozen=True, slots=True)
class SlaRun:
    reminded: int
    escalated: int


def _mark(session: Session, follow_up_id: int, column: str, now: dt.datetime) -> bool:
    """Set the step's time unless another run did; True for the run that set it."""
    stamp = getattr(FollowUp, column)
    done = session.execute(
        update(FollowUp)
        .where(
            FollowUp.id == follow_up_id,
            FollowUp.status == FollowUpStatus.OPEN,
            stamp.is_(None),
        )
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def _reminder_targets(session: Session, follow_up_id: int) -> list[Target]:
    """The account owner's DMs; without an owner, wherever the alert itself went."""
    account_id = session.scalar(select(FollowUp.account_id).where(FollowUp.id == follow_up_id))
    owners = account_owners(session, [account_id]) if account_id is not None else {}
    targets = owners.get(account_id, ()) if account_id is not None else ()
    if targets:
        return list(targets)
    rows = session.execute(
        select(Delivery.platform, Delivery.target).where(
            Delivery.follow_up_id == follow_up_id, Delivery.kind == ALERT
        )
    )
    return [Target.stored(platform, address) for platform, address in rows]


def run_sla(
    session: Session, config: Config, now: dt.datetime, *, fallback: Target | None
) -> SlaRun:
    """Remind about and escalate the follow-ups due for it at `now`; escalations go to
    the configured managers' conversations, else to `fallback` (the operator's alerts
    target)."""
    rules = config.follow_ups
    base = select(FollowUp.id).where(
        FollowUp.status == FollowUpStatus.OPEN, FollowUp.band.in_(rules.sla_bands)
    )
    remind_by = now - dt.timedelta(hours=rules.remind_after_hours)
    escalate_by = now - dt.timedelta(hours=rules.escalate_after_hours)
    escalation = conversations(
        rules.escalation_slack_channels, rules.escalation_teams_conversations
    ) or ([fallback] if fallback is not None else [])

    escalated = 0
    for follow_up_id in session.scalars(
        base.where(FollowUp.escalated_at.is_(None), FollowUp.created_at <= escalate_by)
    ).all():
        if _mark(session, follow_up_id, "escalated_at", now):
            # Past the SLA the reminder is moot: escalation says it all.
            _mark(session, follow_up_id, "reminded_at", now)
            escalated += 1
            for target in escalation:
                outbox.enqueue(
                    session,
                    key=f"{ESCALATION}:{follow_up_id}",
                    kind=ESCALATION,
                    target=target,
                    follow_up_id=follow_up_id,
                    now=now,
                )
    reminded = 0
    for follow_up_id in session.scalars(
        base.where(FollowUp.reminded_at.is_(None), FollowUp.created_at <= remind_by)
    ).all():
        if _mark(session, follow_up_id, "reminded_at", now):
            reminded += 1
            for target in _reminder_targets(session, follow_up_id):
                outbox.enqueue(
                    session,
                    key=f"{REMINDER}:{follow_up_id}",
                    kind=REMINDER,
                    target=target,
                    follow_up_id=follow_up_id,
                    now=now,
                )
    return SlaRun(reminded, escalated)
