"""Plays past their due date: remind the owner once, then escalate, as unclaimed detractors are.

Run periodically by the service's leader (`adapters/workers/playbooks.py`). A play that
passes its due day reminds the run's owner once (their direct messages; without a chat
identity, wherever the run's checklist went), unless `[plays] remind_overdue` is off; still
not done `escalate_after_overdue_days` after its due day, it escalates to the managers'
conversations of `[follow_ups]` (else the operator's alerts target). Each step is stamped
on the play (`reminded_at`, `escalated_at`) by a conditional UPDATE and its message owed
under a key unique to the step, so replicas sweeping at the same moment send each once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from metrics_core.config import Config
from metrics_core.delivery import outbox
from metrics_core.delivery.targets import Target, conversations
from metrics_core.playbooks.runs import (
    PLAY_ESCALATION,
    PLAY_REMINDER,
    days_late,
    member_direct_messages,
    message_prefix,
    run_message_targets,
    stamp_play,
)
from metrics_core.store.models import (
    Account,
    PlaybookPlay,
    PlaybookRun,
    PlaybookRunStatus,
    PlayStatus,
    Segment,
    TeamMember,
)
from metrics_core.store.scans import unindexed


@dataclass(frozen=True, slots=True)
class OverdueRun:
    reminded: int
    escalated: int


def reminder_key(run_id: int, position: int) -> str:
    return f"{message_prefix(run_id)}remind:{position}"


def escalation_key(run_id: int, position: int) -> str:
    return f"{message_prefix(run_id)}escalate:{position}"


def _late_plays(
    session: Session, stamp: str, by: dt.datetime
) -> list[tuple[int, int, int, int | None]]:
    """(run, position, account, owner) of open runs' plays due before `by`, not yet stamped."""
    column = getattr(PlaybookPlay, stamp)
    return [
        (row[0], row[1], row[2], row[3])
        for row in session.execute(
            select(
                PlaybookPlay.run_id,
                PlaybookPlay.position,
                PlaybookRun.account_id,
                PlaybookRun.owner_id,
            )
            .join(PlaybookRun, PlaybookRun.id == PlaybookPlay.run_id)
            .where(
                PlaybookRun.status == PlaybookRunStatus.OPEN,
                PlaybookPlay.status == PlayStatus.TODO,
                PlaybookPlay.due_at <= by,
                column.is_(None),
            )
            .order_by(PlaybookPlay.due_at, PlaybookPlay.run_id, PlaybookPlay.position)
        )
    ]


def run_overdue(
    session: Session, config: Config, now: dt.datetime, *, fallback: Target | None
) -> OverdueRun:
    """Remind about and escalate the plays due for it at `now`."""
    rules = config.plays
    escalation = conversations(
        config.follow_ups.escalation_slack_channels,
        config.follow_ups.escalation_teams_conversations,
    ) or ([fallback] if fallback is not None else [])
    escalated = 0
    by = now - dt.timedelta(days=rules.escalate_after_overdue_days)
    for run_id, position, account_id, _ in _late_plays(session, "escalated_at", by):
        if not stamp_play(
            session, run_id=run_id, position=position, column="escalated_at", now=now
        ):
            continue
        # Past the escalation a reminder is moot: the escalation says it all.
        stamp_play(session, run_id=run_id, position=position, column="reminded_at", now=now)
        escalated += 1
        for target in escalation:
            outbox.enqueue(
                session,
                key=escalation_key(run_id, position),
                kind=PLAY_ESCALATION,
                target=target,
                account_id=account_id,
                details={"run": run_id, "play": position},
                now=now,
            )
    reminded = 0
    if rules.remind_overdue:
        for run_id, position, account_id, owner_id in _late_plays(session, "reminded_at", now):
            if not stamp_play(
                session, run_id=run_id, position=position, column="reminded_at", now=now
            ):
                continue
            reminded += 1
            targets = member_direct_messages(session, owner_id) or tuple(
                run_message_targets(session, run_id)
            )
            for target in targets:
                outbox.enqueue(
                    session,
                    key=reminder_key(run_id, position),
                    kind=PLAY_REMINDER,
                    target=target,
                    account_id=account_id,
                    details={"run": run_id, "play": position},
                    now=now,
                )
    return OverdueRun(reminded, escalated)


@dataclass(frozen=True, slots=True)
class OverduePlays:
    """The plays past due in a scope's open runs: what a digest counts."""

    open_runs: int
    plays: int
    runs: int
    """Runs with at least one play past due."""
    by_owner: tuple[tuple[str, int], ...]
    """Overdue plays per owner ("unassigned" for runs without one), most first."""
    most_days_late: int


def overdue_plays(
    session: Session,
    now: dt.datetime,
    *,
    segment: Segment | None = None,
    owner_id: int | None = None,
) -> OverduePlays:
    """Open runs and their plays past due at `now`, for the whole book, a segment (of the
    account) or one owner's runs.

    Counted in the database, per owner: a whole book has tens of thousands of open plays,
    and only these few numbers leave it.
    """
    owner = aliased(TeamMember)
    scope = []
    if segment is not None:
        scope.append(Account.segment == segment)
    if owner_id is not None:
        scope.append(PlaybookRun.owner_id == owner_id)
    open_plays = (
        select(PlaybookRun.id)
        .join(Account, Account.id == PlaybookRun.account_id)
        .join(PlaybookPlay, PlaybookPlay.run_id == PlaybookRun.id)
        .where(PlaybookRun.status == PlaybookRunStatus.OPEN, *scope)
    )
    open_runs = session.scalar(select(func.count()).select_from(open_plays.distinct().subquery()))
    late = session.execute(
        open_plays.with_only_columns(
            owner.name,
            func.count(),
            func.count(PlaybookRun.id.distinct()),
            func.min(PlaybookPlay.due_at),
        )
        .outerjoin(owner, owner.id == PlaybookRun.owner_id)
        # From the open runs, not from every play to do (most are in closed runs): see
        # `unindexed`.
        .where(
            unindexed(PlaybookPlay.status) == PlayStatus.TODO,
            unindexed(PlaybookPlay.due_at) <= now,
        )
        .group_by(owner.name)
    ).all()
    owners: Counter[str] = Counter()
    for name, plays, _, _ in late:
        owners[name or "unassigned"] += plays
    earliest = min((due for _, _, _, due in late), default=None)
    return OverduePlays(
        open_runs=int(open_runs or 0),
        plays=sum(plays for _, plays, _, _ in late),
        runs=sum(runs for _, _, runs, _ in late),  # a run has one owner: no run counts twice
        by_owner=tuple(sorted(owners.items(), key=lambda item: (-item[1], item[0]))),
        most_days_late=0 if earliest is None else days_late(earliest, now),
    )
