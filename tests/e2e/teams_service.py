"""The Closeloop service on loopback for the Teams end-to-end tests, and what they ask of it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from adapters.bootstrap import Container
from adapters.entrypoints.http import build_app
from adapters.settings import Settings
from metrics_core.delivery import conversation_references as conversations
from metrics_core.delivery.outbox import pending_by_platform
from metrics_core.store.models import TeamMember
from tests import webhook_signing as vendors
from tests.fakes.bot_connector import FakeBotConnector, _free_port


@contextlib.asynccontextmanager
async def serving(container: Container, *, scheduler: bool = False) -> AsyncIterator[str]:
    """The container's HTTP app on a free loopback port, with the dispatcher (and, if
    asked, the digest scheduler) running as `serve` runs them; the base URL."""
    runner = web.AppRunner(build_app(container))
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    background = [asyncio.create_task(container.dispatcher.run(stop))]
    if scheduler:
        background.append(asyncio.create_task(container.scheduler.run(stop)))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.gather(*background)
        await runner.cleanup()
        container.close()


class Service:
    """The running service as a test drives it: activities, webhooks, what it stored."""

    def __init__(self, base: str, container: Container, connector: FakeBotConnector) -> None:
        self.base = base
        self.container = container
        self.connector = connector

    @property
    def messages(self) -> str:
        return f"{self.base}/api/messages"

    async def send(
        self, activity: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, Any, float]:
        """POST an activity as the Bot Connector would; status, JSON body, seconds."""
        started = time.perf_counter()
        async with (
            aiohttp.ClientSession() as client,
            client.post(self.messages, json=activity, headers=headers or {}) as response,
        ):
            text = await response.text()
            body = json.loads(text) if text else None
            return response.status, body, time.perf_counter() - started

    async def webhook(self, body: bytes, msg_id: str = "msg_1") -> int:
        headers = vendors.sign_generic(
            vendors.GENERIC_SECRET, body, msg_id=msg_id, timestamp=int(time.time())
        )
        url = f"{self.base}/webhooks/surveys/generic"
        async with (
            aiohttp.ClientSession() as client,
            client.post(url, data=body, headers=headers) as r,
        ):
            return r.status

    async def settled(self, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self.container.db.reading() as session:
                pending = pending_by_platform(session)
            # Rows for a platform this service has no sender for (the owners' Slack DMs)
            # wait for one that has: settled means nothing is left that this one can send.
            if not any(pending.get(p) for p in self.container.dispatcher.senders):
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the outbox did not drain")

    def reference(self, address: str) -> conversations.StoredReference | None:
        with self.container.db.reading() as session:
            return conversations.find(session, address)

    def member_id(self, aad: str) -> int:
        with self.container.db.reading() as session:
            member = session.query(TeamMember).filter_by(teams_aad_object_id=aad).one()
            return int(member.id)


def settings_for(database_url: str, config_file: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "CLOSELOOP_CONFIG": config_file,
        "CLOSELOOP_TEAMS_INSECURE_DEV": True,
        "CLOSELOOP_WEBHOOK_SECRET": vendors.GENERIC_SECRET,
        **extra,
    }
    return Settings(**values)


def alerts(connector: FakeBotConnector, conversation: str) -> list[dict[str, Any]]:
    """What the outbox posted to a conversation (not the bot's replies to messages)."""
    return [
        m for m in connector.messages(conversation) if "closeloop" in (m.get("channelData") or {})
    ]
