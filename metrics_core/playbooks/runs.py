"""Playbook runs: starting one, working through its plays, and reading them back.

A run starts (`start_run`) in one transaction with its plays and the message that tells its
owner, so a run nobody was told about cannot exist. `open_key` ("<playbook>:<account id>")
is unique while the run is open: a second start for the same pair, on another replica or
in the same second, inserts nothing, on SQLite and PostgreSQL alike; once the run is
completed or dropped the key is cleared and the trigger may start a new one.

Who may change a run: its owner, managers and admins; anyone on the CS team while the
run has no owner (its account has none). A play is marked done (a note is welcome) or
skipped (a note is required: why it did not apply is what tells whether the playbook
works); marking it again changes nothing. The run completes when no play is left to do.
Dropping a run needs a note. Every change marks the run's messages for editing
(`outbox.touch_keyed`) in the same transaction, so the checklist in the owner's chat
catches up, as a claimed follow-up's alert does.

A play is due by the end (UTC) of its due day: `due_days` after the day the run started.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session, aliased

from metrics_core.accounts.lookup import Resolution, resolve_account
from metrics_core.accounts.team import Member
from metrics_core.config import Playbook
from metrics_core.delivery import outbox
from metrics_core.delivery.targets import PERSON_IDS, Target, direct_messages
from metrics_core.store.db import insert_or_ignore
from metrics_core.store.models import (
    Account,
    Delivery,
    PlaybookPlay,
    PlaybookRun,
    PlaybookRunStatus,
    PlayStatus,
    TeamMember,
    TeamRole,
)

RUN_MESSAGE = "playbook_run"
"""The outbox kind of a run's checklist, sent to its owner and edited on every change."""
PLAY_REMINDER = "play_reminder"
PLAY_ESCALATION = "play_escalation"
PLAYBOOK_MESSAGES = (RUN_MESSAGE, PLAY_REMINDER, PLAY_ESCALATION)
NOTE_MAX_CHARS = 2_000
_IN_CHUNK = 5_000


def open_key(playbook: str, account_id: int) -> str:
    """What keeps a second run of `playbook` for the account from starting while one is open."""
    return f"{playbook}:{account_id}"


def message_prefix(run_id: int) -> str:
    """The start of the outbox key of every message about run `run_id`."""
    return f"playbook:{run_id}:"


def run_message_key(run_id: int) -> str:
    return f"{message_prefix(run_id)}run"


def due_at(started: dt.datetime, due_days: int) -> dt.datetime:
    """When a play due `due_days` after a start becomes overdue: the end of its due day (UTC).

    A play due "on 22 Nov" is not late at breakfast on 22 Nov, whatever the hour the
    trigger fired.
    """
    day = started.astimezone(dt.UTC).date() + dt.timedelta(days=due_days + 1)
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def due_day(due: dt.datetime) -> dt.date:
    """The day a play is due by: the last day before `due`."""
    return (due.astimezone(dt.UTC) - dt.timedelta(microseconds=1)).date()


def days_late(due: dt.datetime, now: dt.datetime) -> int:
    """Days since the due day: 1 on the day after it; 0 while it is not overdue."""
    return max(0, (now.astimezone(dt.UTC).date() - due_day(due)).days)


@dataclass(frozen=True, slots=True)
class PlayView:
    position: int
    title: str
    due_at: dt.datetime
    status: PlayStatus
    done_at: dt.datetime | None
    done_by: str | None
    note: str | None

    @property
    def due_day(self) -> dt.date:
        return due_day(self.due_at)

    def overdue(self, now: dt.datetime) -> bool:
        return self.status is PlayStatus.TODO and now >= self.due_at


@dataclass(frozen=True, slots=True)
class RunView:
    """One run as its messages show it: the account, why it fired, and the checklist."""

    id: int
    playbook: str
    playbook_name: str
    trigger: str
    details: Mapping[str, Any]
    """What the trigger saw (`PlaybookRun.trigger_details`)."""
    account_id: int
    account_name: str
    account_external_id: str
    owner_id: int | None
    owner: str | None
    status: PlaybookRunStatus
    triggered_at: dt.datetime
    health_at_start: float | None
    closed_at: dt.datetime | None
    closed_by: str | None
    note: str | None
    plays: tuple[PlayView, ...]

    def play(self, position: int) -> PlayView | None:
        return next((p for p in self.plays if p.position == position), None)

    @property
    def todo(self) -> tuple[PlayView, ...]:
        """Plays still to do, the earliest due first."""
        left = [p for p in self.plays if p.status is PlayStatus.TODO]
        return tuple(sorted(left, key=lambda p: (p.due_at, p.position)))

    def overdue(self, now: dt.datetime) -> tuple[PlayView, ...]:
        """Plays past due; none in a run that is over, whose plays left are not to do."""
        if self.status is not PlaybookRunStatus.OPEN:
            return ()
        return tuple(p for p in self.todo if p.overdue(now))

    def count(self, status: PlayStatus) -> int:
        return sum(1 for p in self.plays if p.status is status)

    def urgency(self, now: dt.datetime) -> tuple[int, dt.datetime, int]:
        """Sort key: runs with overdue plays first (the longest overdue first), then by the
        next play's due date."""
        todo = self.todo
        first = todo[0].due_at if todo else self.triggered_at
        return (0 if todo and todo[0].overdue(now) else 1, first, self.id)


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for begin in range(0, len(ids), _IN_CHUNK):
        yield list(ids[begin : begin + _IN_CHUNK])


def _views(session: Session, *conditions: ColumnElement[bool]) -> list[RunView]:
    owner, closer = aliased(TeamMember), aliased(TeamMember)
    rows = session.execute(
        select(
            PlaybookRun.id,
            PlaybookRun.playbook,
            PlaybookRun.playbook_name,
            PlaybookRun.trigger,
            PlaybookRun.trigger_details,
            PlaybookRun.account_id,
            Account.name,
            Account.external_id,
            PlaybookRun.owner_id,
            owner.name,
            PlaybookRun.status,
            PlaybookRun.triggered_at,
            PlaybookRun.health_at_start,
            PlaybookRun.closed_at,
            closer.name,
            PlaybookRun.note,
        )
        .join(Account, Account.id == PlaybookRun.account_id)
        .outerjoin(owner, owner.id == PlaybookRun.owner_id)
        .outerjoin(closer, closer.id == PlaybookRun.closed_by_id)
        .where(*conditions)
    ).all()
    plays: dict[int, list[PlayView]] = {row[0]: [] for row in rows}
    done_by = aliased(TeamMember)
    for chunk in _chunks(list(plays)):
        for play in session.execute(
            select(
                PlaybookPlay.run_id,
                PlaybookPlay.position,
                PlaybookPlay.title,
                PlaybookPlay.due_at,
                PlaybookPlay.status,
                PlaybookPlay.done_at,
                done_by.name,
                PlaybookPlay.note,
            )
            .outerjoin(done_by, done_by.id == PlaybookPlay.done_by_id)
            .where(PlaybookPlay.run_id.in_(chunk))
            .order_by(PlaybookPlay.run_id, PlaybookPlay.position)
        ):
            run_id, position, title, due, status, done_at, done_by_name, note = play
            plays[run_id].append(
                PlayView(position, title, due, status, done_at, done_by_name, note)
            )
    return [
        RunView(
            id=row[0],
            playbook=row[1],
            playbook_name=row[2],
            trigger=row[3],
            details=dict(row[4] or {}),
            account_id=row[5],
            account_name=row[6],
            account_external_id=row[7],
            owner_id=row[8],
            owner=row[9],
            status=row[10],
            triggered_at=row[11],
            health_at_start=row[12],
            closed_at=row[13],
            closed_by=row[14],
            note=row[15],
            plays=tuple(plays[row[0]]),
        )
        for row in rows
    ]


def run_view(session: Session, run_id: int) -> RunView | None:
    """The run as it stands; None when it no longer exists (its account was deleted)."""
    found = _views(session, PlaybookRun.id == run_id)
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class RunList:
    """Open runs, the most urgent first, with the counts behind the rows shown."""

    runs: tuple[RunView, ...]
    """At most the `limit` asked for."""
    total: int
    overdue_plays: int
    """Plays past due in all `total` runs, not only those shown."""


def open_runs(
    session: Session, *, now: dt.datetime, owner_id: int | None = None, limit: int = 25
) -> RunList:
    """Open runs (one owner's, or everyone's): overdue plays first, then the next due."""
    conditions = [PlaybookRun.status == PlaybookRunStatus.OPEN]
    if owner_id is not None:
        conditions.append(PlaybookRun.owner_id == owner_id)
    views = sorted(_views(session, *conditions), key=lambda view: view.urgency(now))
    return RunList(
        runs=tuple(views[:limit]),
        total=len(views),
        overdue_plays=sum(len(view.overdue(now)) for view in views),
    )


@dataclass(frozen=True, slots=True)
class AccountRuns:
    """An account's runs, read with the account the text names."""

    resolution: Resolution
    open: tuple[RunView, ...] = ()
    finished: tuple[RunView, ...] = ()
    """The latest completed or dropped runs, newest first, at most the `finished` asked."""
    finished_total: int = 0


def account_runs(
    session: Session, *, text: str, now: dt.datetime, finished: int = 5
) -> AccountRuns:
    """The open runs of the account `text` names, and its latest finished ones."""
    resolution = resolve_account(session, text)
    if resolution.match is None:
        return AccountRuns(resolution)
    views = _views(session, PlaybookRun.account_id == resolution.match.id)
    opened = sorted(
        (v for v in views if v.status is PlaybookRunStatus.OPEN), key=lambda v: v.urgency(now)
    )
    closed = sorted(
        (v for v in views if v.status is not PlaybookRunStatus.OPEN),
        key=lambda v: (v.closed_at or v.triggered_at, v.id),
        reverse=True,
    )
    return AccountRuns(resolution, tuple(opened), tuple(closed[:finished]), len(closed))


# --- starting a run ---------------------------------------------------------------------


def member_direct_messages(session: Session, member_id: int | None) -> tuple[Target, ...]:
    """An active team member's direct messages on every platform they are known on."""
    if member_id is None:
        return ()
    columns = [getattr(TeamMember, column) for column in PERSON_IDS.values()]
    row = session.execute(
        select(*columns).where(TeamMember.id == member_id, TeamMember.active.is_(True))
    ).first()
    if row is None:
        return ()
    return direct_messages(dict(zip(PERSON_IDS, tuple(row), strict=True)))


def start_run(
    session: Session,
    *,
    playbook: Playbook,
    account_id: int,
    owner_id: int | None,
    details: Mapping[str, Any],
    health: float | None,
    now: dt.datetime,
    fallback: Target | None,
) -> int | None:
    """Start `playbook` for the account, unless a run of it is open there; the new run's id.

    The run, its plays (due `due_days` after today) and the message telling its owner
    (their direct messages; without a chat identity, `fallback`, the operator's alerts
    target, as survey alerts fall back) are written together, in the caller's transaction.
    """
    run_id = insert_or_ignore(
        session,
        PlaybookRun,
        {
            "playbook": playbook.key,
            "playbook_name": playbook.name,
            "trigger": playbook.trigger.kind,
            "trigger_details": dict(details),
            "account_id": account_id,
            "owner_id": owner_id,
            "status": PlaybookRunStatus.OPEN,
            "open_key": open_key(playbook.key, account_id),
            "triggered_at": now,
            "health_at_start": health,
        },
        unique=("open_key",),
    )
    if run_id is None:
        return None
    session.add_all(
        PlaybookPlay(
            run_id=run_id,
            position=position,
            title=play.title,
            due_at=due_at(now, play.due_days),
            status=PlayStatus.TODO,
        )
        for position, play in enumerate(playbook.plays, start=1)
    )
    targets = member_direct_messages(session, owner_id) or ((fallback,) if fallback else ())
    for target in targets:
        outbox.enqueue(
            session,
            key=run_message_key(run_id),
            kind=RUN_MESSAGE,
            target=target,
            account_id=account_id,
            details={"run": run_id},
            now=now,
        )
    session.flush()
    return run_id


# --- working a run ----------------------------------------------------------------------


class Outcome(enum.StrEnum):
    """What marking a play or dropping a run did, for the person who pressed the button."""

    DONE = "done"
    ALREADY = "already"
    """The play was marked already (done or skipped): nothing changed."""
    CLOSED = "closed"
    """The run is completed or dropped: nothing changes any more."""
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class RunChange:
    outcome: Outcome
    run: RunView | None
    """The run as it stands after the attempt; None when it does not exist."""
    detail: str | None = None
    completed: bool = False
    """This change finished the run (no play is left to do)."""


def may_work(owner_id: int | None, member: Member) -> bool:
    """The run's owner, a manager or an admin; anyone on the team while nobody owns it."""
    return (
        owner_id is None
        or owner_id == member.id
        or member.role in (TeamRole.MANAGER, TeamRole.ADMIN)
    )


def _note(note: str | None) -> str | None:
    return (note or "").strip() or None


def _too_long(note: str | None) -> str | None:
    if note is not None and len(note) > NOTE_MAX_CHARS:
        return f"the note has {len(note):,} characters; at most {NOTE_MAX_CHARS:,} are kept"
    return None


def _workable(session: Session, run_id: int, member: Member) -> PlaybookRun | RunChange:
    """The run, locked, if `member` may still change it; else why not."""
    run = session.get(PlaybookRun, run_id, with_for_update=True)
    if run is None:
        return RunChange(Outcome.NOT_FOUND, None)
    if run.status is not PlaybookRunStatus.OPEN:
        return RunChange(Outcome.CLOSED, run_view(session, run_id))
    if not may_work(run.owner_id, member):
        return RunChange(
            Outcome.NOT_ALLOWED,
            run_view(session, run_id),
            "only its owner or a manager can change it",
        )
    return run


def _changed(session: Session, run_id: int, now: dt.datetime) -> None:
    outbox.touch_keyed(session, prefix=message_prefix(run_id), now=now)


def _close(run: PlaybookRun, status: PlaybookRunStatus, member: Member, now: dt.datetime) -> None:
    run.status = status
    run.open_key = None
    run.closed_at = now
    run.closed_by_id = member.id


def mark_play(
    session: Session,
    *,
    run_id: int,
    position: int,
    member: Member,
    status: PlayStatus,
    note: str | None,
    now: dt.datetime,
) -> RunChange:
    """Mark play `position` of the run done or skipped (skipping needs a note)."""
    note = _note(note)
    if status is PlayStatus.TODO:
        return RunChange(Outcome.INVALID, None, "a play is marked done or skipped")
    if (problem := _too_long(note)) is not None:
        return RunChange(Outcome.INVALID, None, problem)
    if status is PlayStatus.SKIPPED and note is None:
        return RunChange(Outcome.INVALID, None, "say why the play is skipped")
    run = _workable(session, run_id, member)
    if isinstance(run, RunChange):
        return run
    play = session.scalars(
        select(PlaybookPlay).where(PlaybookPlay.run_id == run_id, PlaybookPlay.position == position)
    ).one_or_none()
    if play is None:
        return RunChange(
            Outcome.NOT_FOUND, run_view(session, run_id), f"the run has no play {position}"
        )
    if play.status is not PlayStatus.TODO:
        return RunChange(Outcome.ALREADY, run_view(session, run_id))
    play.status = status
    play.done_at = now
    play.done_by_id = member.id
    play.note = note
    session.flush()
    left = session.scalar(
        select(func.count()).where(
            PlaybookPlay.run_id == run_id, PlaybookPlay.status == PlayStatus.TODO
        )
    )
    completed = not left
    if completed:
        _close(run, PlaybookRunStatus.COMPLETED, member, now)
    _changed(session, run_id, now)
    session.flush()
    return RunChange(Outcome.DONE, run_view(session, run_id), completed=completed)


def drop_run(
    session: Session, *, run_id: int, member: Member, note: str | None, now: dt.datetime
) -> RunChange:
    """Stop the run before its plays are done; the note says why (it is required)."""
    note = _note(note)
    if note is None:
        return RunChange(Outcome.INVALID, None, "say why the run is dropped")
    if (problem := _too_long(note)) is not None:
        return RunChange(Outcome.INVALID, None, problem)
    run = _workable(session, run_id, member)
    if isinstance(run, RunChange):
        return run
    _close(run, PlaybookRunStatus.DROPPED, member, now)
    run.note = note
    _changed(session, run_id, now)
    session.flush()
    return RunChange(Outcome.DONE, run_view(session, run_id))


def run_message_targets(session: Session, run_id: int) -> list[Target]:
    """Where the run's checklist was sent."""
    rows = session.execute(
        select(Delivery.platform, Delivery.target).where(
            Delivery.key.startswith(run_message_key(run_id) + "|", autoescape=True)
        )
    )
    return [Target.stored(platform, address) for platform, address in rows]


def stamp_play(
    session: Session, *, run_id: int, position: int, column: str, now: dt.datetime
) -> bool:
    """Set a play's `reminded_at` or `escalated_at` unless another sweep did; True for the
    sweep that set it (the one that then owes the message)."""
    stamp = getattr(PlaybookPlay, column)
    done = session.execute(
        update(PlaybookPlay)
        .where(
            PlaybookPlay.run_id == run_id,
            PlaybookPlay.position == position,
            PlaybookPlay.status == PlayStatus.TODO,
            stamp.is_(None),
        )
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]
