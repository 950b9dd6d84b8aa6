"""What the playground page picks from: who to act as, which account a survey answer is from.

The playground has no sign-in: the page offers the CS team as the database has it, and
acting as someone is choosing their chat user id, which the bot then looks up in the team
table exactly as it does for a Slack or Teams user (`bot.identity.team_member`). Each
function here is one query, run through `Database.read` like the bot's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.store.models import Account, Contact, FollowUp, SurveyResponse, TeamMember


@dataclass(frozen=True, slots=True)
class Person:
    """A team member the page can act as: their chat user id, name and role."""

    user_id: str
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class AccountChoice:
    external_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Respondent:
    email: str
    name: str


def people(session: Session) -> list[Person]:
    """Active team members with a chat user id, managers and admins first, then by name."""
    rows = session.execute(
        select(TeamMember.slack_user_id, TeamMember.name, TeamMember.role)
        .where(TeamMember.active.is_(True), TeamMember.slack_user_id.is_not(None))
        .order_by(TeamMember.name, TeamMember.id)
    ).all()
    found = [Person(str(user), name, str(role.value)) for user, name, role in rows]
    return sorted(found, key=lambda person: person.role == "csm")


def person(session: Session, *, user_id: str) -> Person | None:
    """The active team member with this chat user id, if any."""
    row = session.execute(
        select(TeamMember.slack_user_id, TeamMember.name, TeamMember.role).where(
            TeamMember.slack_user_id == user_id, TeamMember.active.is_(True)
        )
    ).first()
    return None if row is None else Person(str(row[0]), row[1], str(row[2].value))


def accounts(session: Session) -> list[AccountChoice]:
    """Every account by name: a survey answer can come from any of them."""
    rows = session.execute(select(Account.external_id, Account.name).order_by(Account.name))
    return [AccountChoice(external_id, name) for external_id, name in rows]


@dataclass(frozen=True, slots=True)
class Answering:
    """An account a survey answer is simulated for, and who answers for it."""

    name: str
    respondent: Respondent | None
    """Its first contact; None when it has none (the answer is then anonymous)."""


def answering(session: Session, *, external_id: str) -> Answering | None:
    """The account with this external id and its first contact; None when there is none."""
    account = session.execute(
        select(Account.id, Account.name).where(Account.external_id == external_id)
    ).first()
    if account is None:
        return None
    row = session.execute(
        select(Contact.email, Contact.name)
        .where(Contact.account_id == account[0])
        .order_by(Contact.id)
        .limit(1)
    ).first()
    return Answering(account[1], None if row is None else Respondent(row[0], row[1]))


def follow_up_of(session: Session, *, provider: str, response_id: str) -> int | None:
    """The follow-up the survey answer `response_id` of `provider` opened, if it opened one."""
    return session.scalar(
        select(FollowUp.id)
        .join(SurveyResponse, SurveyResponse.id == FollowUp.survey_response_id)
        .where(
            SurveyResponse.provider == provider,
            SurveyResponse.provider_response_id == response_id,
        )
    )
