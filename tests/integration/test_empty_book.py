"""A fresh install, before any import: every command answers, none fails."""

from __future__ import annotations

import pytest

from bot.inbound import Actor, CommandRequest, Platform
from metrics_core.config import Config
from metrics_core.store.db import Database
from tests.routing import router_for


@pytest.mark.parametrize(
    "text",
    [
        "help",
        "health acme",
        "churn acme",
        "churn top",
        "nps",
        "nps smb 2026-q3",
        "renewals",
        "kpis",
        "followups",
        "followups mine",
        "closeloop",
    ],
)
async def test_every_command_answers_on_an_empty_database(db: Database, text: str) -> None:
    config = Config()
    router = router_for(db, config)
    reply = await router.handle(CommandRequest.parse(text, Actor(Platform.CONSOLE, "U0CSM1")))
    assert reply.heading
    assert reply.heading != "Something went wrong"
