"""Who a chat user is on the CS team: the bridge from a Slack or Teams id to a book."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.models import Account, TeamMember, TeamRole
from metrics_core.routing import Owner


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    name: str
    role: TeamRole


def member_by_chat_id(
    session: Session, *, slack: str | None = None, teams: str | None = None
) -> Member | None:
    """The active team member with this Slack user id or Teams AAD object id, if any."""
    if slack:
        where = TeamMember.slack_user_id == slack
    elif teams:
        where = TeamMember.teams_aad_object_id == teams
    else:
        return None
    row = session.execute(
        select(TeamMember.id, TeamMember.name, TeamMember.role).where(
            where, TeamMember.active.is_(True)
        )
    ).first()
    return None if row is None else Member(row[0], row[1], row[2])


def active_members(session: Session) -> list[Member]:
    """The CS team by name: who a follow-up can be handed to."""
    rows = session.execute(
        select(TeamMember.id, TeamMember.name, TeamMember.role)
        .where(TeamMember.active.is_(True))
        .order_by(TeamMember.name, TeamMember.id)
    )
    return [Member(r[0], r[1], r[2]) for r in rows]


def account_owners(session: Session, account_ids: Sequence[int]) -> dict[int, Owner]:
    """Each account's owner's chat identities, for direct messages; only active owners."""
    rows = session.execute(
        select(Account.id, TeamMember.slack_user_id, TeamMember.teams_aad_object_id)
        .join(TeamMember, TeamMember.id == Account.owner_id)
        .where(Account.id.in_(list(account_ids)), TeamMember.active.is_(True))
    )
    return {row[0]: Owner(row[1], row[2]) for row in rows}
