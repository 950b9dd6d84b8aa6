"""Finding accounts the way people name them: external id, domain or (part of) the name."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from metrics_core.models import Account, LifecycleStage, Segment, TeamMember


@dataclass(frozen=True, slots=True)
class AccountRef:
    """An account as answers show it; plain data, safe to pass between threads."""

    id: int
    external_id: str
    name: str
    domain: str | None
    segment: Segment
    seats: int
    lifecycle_stage: LifecycleStage
    owner_name: str | None


def _refs(session: Session, where: object, limit: int) -> list[AccountRef]:
    rows = session.execute(
        select(Account, TeamMember.name)
        .outerjoin(TeamMember, Account.owner_id == TeamMember.id)
        .where(where)  # type: ignore[arg-type]
        .order_by(Account.name)
        .limit(limit)
    ).all()
    return [
        AccountRef(
            id=a.id,
            external_id=a.external_id,
            name=a.name,
            domain=a.domain,
            segment=a.segment,
            seats=a.seats,
            lifecycle_stage=a.lifecycle_stage,
            owner_name=owner,
        )
        for a, owner in rows
    ]


def find_accounts(session: Session, query: str, *, limit: int = 5) -> list[AccountRef]:
    """Accounts matching `query`: an exact id, domain or name wins alone; else name matches.

    An exact hit returns one account, so `health acme.example` never asks "did you mean".
    """
    text = query.strip().lower()
    if not text:
        return []
    exact = or_(
        func.lower(Account.external_id) == text,
        func.lower(Account.domain) == text,
        func.lower(Account.name) == text,
    )
    found = _refs(session, exact, limit)
    if found:
        return found
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    prefix = _refs(session, func.lower(Account.name).like(f"{escaped}%", escape="\\"), limit)
    if prefix:
        return prefix
    return _refs(session, func.lower(Account.name).like(f"%{escaped}%", escape="\\"), limit)
