"""The closed-loop service the end-to-end tests share: settings, signing, reading alerts."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from adapters.bootstrap import Container
from metrics_core.delivery.outbox import pending_count
from tests import webhook_signing as vendors
from tests.e2e.slack_requests import SECRET
from tests.fakes.slack_api import FakeSlack

ALERTS = "C0ALERTS"
TODAY = dt.datetime.now(dt.UTC).date()


def settings_env(database_file: Path, slack: FakeSlack) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{database_file}",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "CLOSELOOP_SLACK_ALERTS_CHANNEL": ALERTS,
        "CLOSELOOP_WEBHOOK_SECRET": vendors.GENERIC_SECRET,
        "DELIGHTED_WEBHOOK_SECRET": vendors.DELIGHTED_SECRET,
        "TYPEFORM_WEBHOOK_SECRET": vendors.TYPEFORM_SECRET,
        "WOOTRIC_WEBHOOK_SECRET": vendors.WOOTRIC_SECRET,
    }


class Service:
    def __init__(self, base: str, container: Container) -> None:
        self.base = base
        self.container = container

    def webhook(self, provider: str) -> str:
        return f"{self.base}/webhooks/surveys/{provider}"

    @property
    def events(self) -> str:
        return f"{self.base}/slack/events"

    def count(self, model: type) -> int:
        with self.container.db.reading() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    async def settled(self, within: float = 10.0) -> None:
        """Wait until the outbox has nothing left to send."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self.container.db.reading() as session:
                if pending_count(session) == 0:
                    return
            await asyncio.sleep(0.02)
        raise AssertionError("the outbox did not drain")


async def deliver(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as client, client.post(url, data=body, headers=headers) as r:
        return r.status, await r.json()


def generic(body: bytes, msg_id: str = "msg_1") -> dict[str, str]:
    return vendors.sign_generic(
        vendors.GENERIC_SECRET, body, msg_id=msg_id, timestamp=int(time.time())
    )


Signer = Callable[[bytes], dict[str, str]]
DETRACTOR_FROM: dict[str, tuple[bytes, Signer]] = {
    "generic": (vendors.generic_payload(score=3, comment="Exports keep failing"), generic),
    "delighted": (
        vendors.delighted_payload(score=3, comment="Exports keep failing"),
        lambda b: vendors.sign_delighted(vendors.DELIGHTED_SECRET, b),
    ),
    "typeform": (
        vendors.typeform_payload(score=3, comment="Exports keep failing"),
        lambda b: vendors.sign_typeform(vendors.TYPEFORM_SECRET, b),
    ),
    "wootric": (
        vendors.wootric_payload(score=3, comment="Exports keep failing"),
        lambda b: vendors.sign_wootric(vendors.WOOTRIC_SECRET, b),
    ),
}


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def button_labels(message: dict[str, Any]) -> list[str]:
    return [
        element["text"]["text"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    for block in message["blocks"]:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element["text"]["text"] == label:
                return dict(element)
    raise AssertionError(f"no {label!r} button in {button_labels(message)}")
