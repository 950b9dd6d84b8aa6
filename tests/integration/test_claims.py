"""Claiming, reassigning and closing follow-ups: one owner however many click at once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.accounts.team import Member
from metrics_core.config import Config
from metrics_core.delivery.targets import Target
from metrics_core.followups import work as followups
from metrics_core.followups.intake import record_answer
from metrics_core.followups.work import Outcome
from metrics_core.store.db import Database
from metrics_core.store.models import Delivery, FollowUp, FollowUpStatus, SurveyKind, TeamRole
from metrics_core.surveys.answers import SurveyAnswer
from tests import factories

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def _setup(db: Database, csms: int = 1) -> tuple[int, list[Member]]:
    with db.writing() as session:
        members = [
            factories.team_member(session, f"csm{i}@closeloop.example", name=f"CSM {i}")
            for i in range(csms)
        ]
        manager = factories.team_member(
            session, "boss@closeloop.example", name="Boss", role=TeamRole.MANAGER
        )
        factories.account(session, owner=members[0])
        intake = record_answer(
            session,
            SurveyAnswer("generic", "r-1", SurveyKind.NPS, 2, NOW, "Broken", "jane@acme.example"),
            config=Config(),
            fallback=Target("slack", "C0ALERTS"),
            now=NOW,
        )
        team = [Member(m.id, m.name, m.role) for m in (*members, manager)]
    assert intake.follow_up_id is not None
    return intake.follow_up_id, team


async def test_fifty_concurrent_claims_give_exactly_one_owner(db: Database) -> None:
    follow_up_id, team = _setup(db, csms=50)
    later = NOW + dt.timedelta(minutes=5)

    def click(member: Member) -> Callable[[Session], followups.Change]:
        return lambda session: followups.claim(session, follow_up_id, member, later)

    changes = await asyncio.gather(*(db.write(click(m)) for m in team[:50]))
    winners = [c for c in changes if c.outcome is Outcome.DONE]
    assert len(winners) == 1
    assert {c.outcome for c in changes} == {Outcome.DONE, Outcome.TAKEN}
    assert {c.owner for c in changes} == {winners[0].owner}  # everyone learns who won
    with db.reading() as session:
        row = session.get_one(FollowUp, follow_up_id)
        assert row.status is FollowUpStatus.CLAIMED and row.claimed_at == later
        owner = row.owner_id
        assert session.scalars(select(Delivery.version)).one() == 2  # the alert edits once
    assert owner == next(m.id for m in team if m.name == winners[0].owner)


def test_a_double_click_by_the_owner_is_harmless(db: Database) -> None:
    follow_up_id, team = _setup(db)
    with db.writing() as session:
        assert followups.claim(session, follow_up_id, team[0], NOW).outcome is Outcome.DONE
    with db.writing() as session:
        second = followups.claim(session, follow_up_id, team[0], NOW + dt.timedelta(seconds=1))
    assert second.outcome is Outcome.ALREADY_YOURS
    with db.reading() as session:
        assert session.get_one(FollowUp, follow_up_id).claimed_at == NOW
        assert session.scalars(select(Delivery.version)).one() == 2


def test_close_records_outcome_note_and_times(db: Database) -> None:
    follow_up_id, team = _setup(db, csms=2)
    claimed, closed = NOW + dt.timedelta(hours=1), NOW + dt.timedelta(hours=5)
    with db.writing() as session:
        followups.claim(session, follow_up_id, team[0], claimed)
    with db.writing() as session:  # someone else may not close it
        refused = followups.close(
            session,
            follow_up_id,
            team[1],
            outcome="resolved",
            note="",
            allowed_outcomes=Config().follow_ups.outcomes,
            now=closed,
        )
        assert refused.outcome is Outcome.NOT_ALLOWED
        bad = followups.close(
            session,
            follow_up_id,
            team[0],
            outcome="vanished",
            note=None,
            allowed_outcomes=Config().follow_ups.outcomes,
            now=closed,
        )
        assert bad.outcome is Outcome.INVALID and "resolved" in (bad.detail or "")
    with db.writing() as session:
        done = followups.close(
            session,
            follow_up_id,
            team[0],
            outcome="resolved",
            note=" Called Jane; fix shipped. ",
            allowed_outcomes=Config().follow_ups.outcomes,
            now=closed,
        )
    assert done.outcome is Outcome.DONE
    with db.reading() as session:
        row = session.get_one(FollowUp, follow_up_id)
        assert row.status is FollowUpStatus.CLOSED
        assert (row.outcome, row.note) == ("resolved", "Called Jane; fix shipped.")
        assert (row.claimed_at, row.closed_at, row.closed_by_id) == (claimed, closed, team[0].id)


def test_a_manager_reassigns_and_only_team_members_can_own(db: Database) -> None:
    follow_up_id, team = _setup(db, csms=2)
    manager = team[-1]
    with db.writing() as session:
        followups.claim(session, follow_up_id, team[0], NOW)
    with db.writing() as session:
        assert (
            followups.reassign(session, follow_up_id, team[1], team[1].id, NOW).outcome
            is Outcome.NOT_ALLOWED
        )
        assert (
            followups.reassign(session, follow_up_id, manager, 999_999, NOW).outcome
            is Outcome.INVALID
        )
        moved = followups.reassign(session, follow_up_id, manager, team[1].id, NOW)
    assert (moved.outcome, moved.owner) == (Outcome.DONE, "CSM 1")
