"""Where the bot may write in Microsoft Teams: stored conversation references.

Teams lets a bot post only into conversations it has been told about: each activity it
receives carries a reference (service URL, conversation, tenant, the bot's own id), and a
proactive message, an alert or a digest, needs one. They are kept here so a restart
forgets nothing. The values are plain strings and dicts: nothing in `metrics_core` knows
the Bot Framework.

Addresses are the stored form of a `metrics_core.delivery.targets.Target`: a conversation
id (a channel, a group chat, a personal chat), or a person's address (`user:<AAD object
id>`) for a direct message, which resolves to that user's personal chat with the bot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from metrics_core.delivery.targets import person_in
from metrics_core.store.db import insert_or_ignore
from metrics_core.store.models import ConversationReference

PERSONAL = "personal"
ERROR_MAX_CHARS = 500


@dataclass(frozen=True, slots=True)
class StoredReference:
    """One conversation the bot can write to, as read from the table."""

    conversation_id: str
    conversation_type: str | None
    tenant_id: str | None
    service_url: str
    user_id: str | None
    reference: dict[str, Any]
    active: bool
    last_error: str | None
    updated_at: dt.datetime


def _stored(row: ConversationReference) -> StoredReference:
    return StoredReference(
        conversation_id=row.conversation_id,
        conversation_type=row.conversation_type,
        tenant_id=row.tenant_id,
        service_url=row.service_url,
        user_id=row.user_id,
        reference=dict(row.reference or {}),
        active=row.active,
        last_error=row.last_error,
        updated_at=row.updated_at,
    )


def remember(
    session: Session,
    *,
    conversation_id: str,
    conversation_type: str | None,
    tenant_id: str | None,
    service_url: str,
    user_id: str | None,
    reference: dict[str, Any],
    now: dt.datetime,
) -> bool:
    """Store or refresh a conversation's reference; True if the bot just arrived there:
    the conversation was unknown, or known as one the bot had been removed from.

    Called for every activity, so it must be safe when two arrive at once for the same
    conversation: the row is created by an insert the unique index decides (never a
    read-then-insert two transactions can both pass), and reactivated by an update only a
    still-inactive row matches, so of two at once only one arrives. A message is proof
    that the bot is in the conversation again, so the reference becomes active and its
    last error is cleared; a changed service URL replaces the old one.
    """
    values = {
        "conversation_type": conversation_type,
        "tenant_id": tenant_id,
        "service_url": service_url,
        "user_id": user_id,
        "reference": reference,
        "active": True,
        "last_error": None,
        "updated_at": now,
    }
    created = insert_or_ignore(
        session,
        ConversationReference,
        {"conversation_id": conversation_id, "created_at": now, **values},
        unique=("conversation_id",),
    )
    if created is not None:
        return True
    this = ConversationReference.conversation_id == conversation_id
    returned = session.execute(
        update(ConversationReference)
        .where(this, ConversationReference.active.is_(False))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if returned.rowcount:  # type: ignore[attr-defined]
        return True
    session.execute(
        update(ConversationReference)
        .where(this)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return False


def find(session: Session, address: str) -> StoredReference | None:
    """The reference for an address, active or not (the caller says why it can't send).

    A person's address (`user:<aad>`) is the user's personal chat with the bot; if there
    were several (the app reinstalled), the active one most recently heard from.
    """
    user = person_in(address)
    if user is not None:
        statement = (
            select(ConversationReference)
            .where(
                ConversationReference.user_id == user,
                ConversationReference.conversation_type == PERSONAL,
            )
            .order_by(
                ConversationReference.active.desc(),
                ConversationReference.updated_at.desc(),
                ConversationReference.id.desc(),
            )
            .limit(1)
        )
    else:
        statement = select(ConversationReference).where(
            ConversationReference.conversation_id == address
        )
    row = session.scalars(statement).first()
    return _stored(row) if row is not None else None


def deactivate(session: Session, conversation_id: str, *, error: str, now: dt.datetime) -> bool:
    """Mark a conversation as one the bot can no longer write to, keeping the reason.

    Teams answers 403 or 404 when the bot was removed, the chat deleted or the user
    blocked the bot; retrying such a send is futile until the bot hears from the
    conversation again (`remember` reactivates it). True if a row was changed.
    """
    result = session.execute(
        update(ConversationReference)
        .where(ConversationReference.conversation_id == conversation_id)
        .values(active=False, last_error=error[:ERROR_MAX_CHARS], updated_at=now)
    )
    return bool(getattr(result, "rowcount", 0))
