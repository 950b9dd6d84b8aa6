"""Who a chat user is on the CS team: the bridge from a platform's user id to a book.

`find_members` is the one place where a team member named in a command (`owner=@dana`,
a new owner for a follow-up) is looked up, so every command knows people the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.delivery.targets import PERSON_IDS, Target, direct_messages
from metrics_core.store.models import Account, TeamMember, TeamRole

_USER_ID_COLUMNS = tuple(getattr(TeamMember, column) for column in PERSON_IDS.values())
"""Each platform's user-id column of the team table, in `PERSON_IDS` order."""


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    name: str
    role: TeamRole
    email: str = ""


def member_by_chat_id(session: Session, *, platform: str, user_id: str) -> Member | None:
    """The active team member with this user id on `platform`, if any."""
    column = PERSON_IDS.get(platform)
    if column is None or not user_id:
        return None
    row = session.execute(
        select(TeamMember.id, TeamMember.name, TeamMember.role, TeamMember.email).where(
            getattr(TeamMember, column) == user_id, TeamMember.active.is_(True)
        )
    ).first()
    return None if row is None else Member(row[0], row[1], row[2], row[3])


def active_members(session: Session) -> list[Member]:
    """The CS team by name: who a follow-up can be handed to."""
    rows = session.execute(
        select(TeamMember.id, TeamMember.name, TeamMember.role, TeamMember.email)
        .where(TeamMember.active.is_(True))
        .order_by(TeamMember.name, TeamMember.id)
    )
    return [Member(r[0], r[1], r[2], r[3]) for r in rows]


def account_owners(session: Session, account_ids: Sequence[int]) -> dict[int, tuple[Target, ...]]:
    """Each account's owner's direct messages on every platform they are known on; only
    active owners."""
    rows = session.execute(
        select(Account.id, *_USER_ID_COLUMNS)
        .join(TeamMember, TeamMember.id == Account.owner_id)
        .where(Account.id.in_(list(account_ids)), TeamMember.active.is_(True))
    )
    return {row[0]: direct_messages(dict(zip(PERSON_IDS, row[1:], strict=True))) for row in rows}


def _fold(text: str) -> str:
    """Case- and accent-blind text, so `tomas` finds Tomás and `DANA` finds Dana."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def _handles(name: str, email: str) -> set[str]:
    """What a chat @handle of this person usually is: the mailbox, the name run together."""
    words = _fold(name).split()
    return {_fold(email.partition("@")[0]), *(joint.join(words) for joint in ("", ".", "_", "-"))}


def _short_names(name: str, email: str) -> set[str]:
    """First name, last name and the mailbox's first part: ambiguous, so tried last."""
    words = _fold(name).split()
    mailbox = re.split(r"[._-]", _fold(email.partition("@")[0]))[0]
    return {*words[:1], *words[-1:], mailbox}


def find_members(session: Session, text: str) -> tuple[Member, ...]:
    """The active team members `text` names, by the most exact kind of match that finds any.

    In order: a user id on any platform (`PERSON_IDS`) or email; the full name; an @handle
    (the mailbox, or the name run together as `dana.whitfield`); a first or last name.
    Case and accents do not matter and a leading `@` is ignored. Several members mean the
    text is ambiguous (two people called Dana): the caller asks which one.
    """
    wanted = _fold(text.strip().lstrip("@"))
    if not wanted:
        return ()
    rows = session.execute(
        select(
            TeamMember.id,
            TeamMember.name,
            TeamMember.role,
            TeamMember.email,
            *_USER_ID_COLUMNS,
        )
        .where(TeamMember.active.is_(True))
        .order_by(TeamMember.name, TeamMember.id)
    ).all()
    tiers: tuple[list[Member], ...] = ([], [], [], [])
    for member_id, name, role, email, *user_ids in rows:
        member = Member(member_id, name, role, email)
        if wanted in {*(_fold(user or "") for user in user_ids), _fold(email)}:
            tiers[0].append(member)
        elif wanted == _fold(name):
            tiers[1].append(member)
        elif wanted in _handles(name, email):
            tiers[2].append(member)
        elif wanted in _short_names(name, email):
            tiers[3].append(member)
    return next((tuple(tier) for tier in tiers if tier), ())
