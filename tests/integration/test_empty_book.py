"""A fresh install, before any import: every command answers, none fails."""

from __future__ import annotations

import pytest

from bot.catalog import build_registry
from bot.context import BotContext
from bot.requests import Actor, CommandRequest, Platform
from bot.router import Router
from metrics_core.config import Config
from metrics_core.db import Database
from metrics_core.health_cache import HealthCache
from metrics_core.risk import RiskModels


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
    router = Router(
        BotContext(
            db=db,
            config=config,
            registry=build_registry(),
            risk=RiskModels(config),
            health=HealthCache(config),
        )
    )
    reply = await router.handle(CommandRequest.parse(text, Actor(Platform.CONSOLE, "U0CSM1")))
    assert reply.heading
    assert reply.heading != "Something went wrong"
