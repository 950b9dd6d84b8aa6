"""Stored Teams conversation references, on SQLite and PostgreSQL.

They are what lets the bot write to Teams after a restart, so they must survive
concurrent activities for the same conversation, follow a moved service URL, and say
when the bot can no longer write there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import func, select

from metrics_core.delivery import conversation_references as conversations
from metrics_core.store.db import Database
from metrics_core.store.models import ConversationReference

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
CHANNEL = "19:alerts@thread.tacv2"
PERSONAL = "a:1personal-chat-with-dana"
DANA = "00000000-0000-4000-8000-000000000001"
SERVICE = "https://smba.trafficmanager.net/amer/"


def _reference(conversation: str, service_url: str = SERVICE) -> dict[str, Any]:
    return {
        "bot": {"id": "28:bot", "name": "Closeloop"},
        "conversation": {"id": conversation},
        "channelId": "msteams",
        "serviceUrl": service_url,
    }


def _remember(
    db: Database,
    conversation: str,
    *,
    kind: str = "channel",
    user: str | None = None,
    service_url: str = SERVICE,
    now: dt.datetime = NOW,
) -> bool:
    with db.writing() as session:
        return conversations.remember(
            session,
            conversation_id=conversation,
            conversation_type=kind,
            tenant_id="tenant-1",
            service_url=service_url,
            user_id=user,
            reference=_reference(conversation, service_url),
            now=now,
        )


def _find(db: Database, address: str) -> conversations.StoredReference | None:
    with db.reading() as session:
        return conversations.find(session, address)


def _rows(db: Database) -> int:
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(ConversationReference)) or 0)


def test_remember_then_find_by_conversation(db: Database) -> None:
    assert _remember(db, CHANNEL) is True
    found = _find(db, CHANNEL)
    assert found is not None
    assert (found.service_url, found.tenant_id, found.active) == (SERVICE, "tenant-1", True)
    assert found.reference["conversation"]["id"] == CHANNEL
    assert _find(db, "19:somewhere-else@thread.tacv2") is None


def test_a_changed_service_url_updates_the_row(db: Database) -> None:
    _remember(db, CHANNEL)
    moved = "https://smba.trafficmanager.net/emea/"
    assert _remember(db, CHANNEL, service_url=moved, now=NOW + dt.timedelta(hours=1)) is False
    found = _find(db, CHANNEL)
    assert found is not None
    assert found.service_url == moved and found.reference["serviceUrl"] == moved
    assert found.updated_at == NOW + dt.timedelta(hours=1)
    assert _rows(db) == 1


def test_deactivate_keeps_the_error_and_a_new_activity_reactivates(db: Database) -> None:
    _remember(db, CHANNEL)
    with db.writing() as session:
        changed = conversations.deactivate(
            session, CHANNEL, error="Teams answered 403: BotNotInConversationRoster", now=NOW
        )
    assert changed is True
    found = _find(db, CHANNEL)
    assert found is not None and found.active is False
    assert found.last_error is not None and "403" in found.last_error

    assert _remember(db, CHANNEL, now=NOW + dt.timedelta(days=1)) is True  # back again
    found = _find(db, CHANNEL)
    assert found is not None and found.active is True and found.last_error is None
    assert _remember(db, CHANNEL, now=NOW + dt.timedelta(days=2)) is False


def test_deactivating_an_unknown_conversation_changes_nothing(db: Database) -> None:
    with db.writing() as session:
        assert conversations.deactivate(session, "19:never-seen", error="404", now=NOW) is False


def test_a_user_address_finds_their_personal_chat(db: Database) -> None:
    _remember(db, CHANNEL)  # a channel is never someone's DM
    assert _find(db, f"user:{DANA}") is None
    _remember(db, PERSONAL, kind="personal", user=DANA)
    found = _find(db, f"user:{DANA}")
    assert found is not None and found.conversation_id == PERSONAL
    assert _find(db, "user:00000000-0000-4000-8000-000000000002") is None


def test_a_user_address_prefers_the_active_chat(db: Database) -> None:
    _remember(db, PERSONAL, kind="personal", user=DANA, now=NOW)
    _remember(db, "a:2reinstalled", kind="personal", user=DANA, now=NOW + dt.timedelta(days=1))
    found = _find(db, f"user:{DANA}")
    assert found is not None and found.conversation_id == "a:2reinstalled"
    with db.writing() as session:
        conversations.deactivate(session, "a:2reinstalled", error="404", now=NOW)
    found = _find(db, f"user:{DANA}")
    assert found is not None and found.conversation_id == PERSONAL


async def test_concurrent_remembers_of_one_conversation_give_one_row(db: Database) -> None:
    def remember(i: int) -> Any:
        return lambda session: conversations.remember(
            session,
            conversation_id=CHANNEL,
            conversation_type="channel",
            tenant_id="tenant-1",
            service_url=f"{SERVICE}{i}/",
            user_id=None,
            reference=_reference(CHANNEL),
            now=NOW + dt.timedelta(seconds=i),
        )

    created = await asyncio.gather(*(db.write(remember(i)) for i in range(16)))
    assert created.count(True) == 1
    assert _rows(db) == 1
    found = _find(db, CHANNEL)
    assert found is not None and found.active


async def test_of_concurrent_activities_after_a_removal_one_finds_the_bot_back(
    db: Database,
) -> None:
    _remember(db, CHANNEL)
    with db.writing() as session:
        conversations.deactivate(session, CHANNEL, error="removed", now=NOW)

    def remember(i: int) -> Any:
        return lambda session: conversations.remember(
            session,
            conversation_id=CHANNEL,
            conversation_type="channel",
            tenant_id="tenant-1",
            service_url=SERVICE,
            user_id=None,
            reference=_reference(CHANNEL),
            now=NOW + dt.timedelta(seconds=i),
        )

    arrived = await asyncio.gather(*(db.write(remember(i)) for i in range(16)))
    assert arrived.count(True) == 1
    found = _find(db, CHANNEL)
    assert found is not None and found.active
