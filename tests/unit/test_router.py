"""The router: known commands reach their handler, anything else still gets an answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.catalog import build_registry
from bot.commands import Command, CommandRegistry
from bot.context import BotContext
from bot.reply import Reply
from bot.requests import Actor, CommandRequest, Platform
from bot.router import Router
from metrics_core.config import Config
from metrics_core.db import Database, make_engine
from metrics_core.health_cache import HealthCache
from metrics_core.risk import RiskModels

ME = Actor(Platform.CONSOLE, user_id="U0CSM1")


@pytest.fixture
def memory_db() -> Iterator[Database]:
    database = Database(make_engine("sqlite://"))
    yield database
    database.close()


def _router(db: Database, registry: CommandRegistry) -> Router:
    return Router(
        BotContext(
            db=db,
            config=Config(),
            registry=registry,
            risk=RiskModels(Config()),
            health=HealthCache(Config()),
        )
    )


def test_parse_splits_command_and_arguments() -> None:
    request = CommandRequest.parse("  /Health  Acme Corp ", ME)
    assert (request.command, request.args) == ("health", "Acme Corp")
    assert CommandRequest.parse("help", ME).args == ""


async def test_unknown_command_suggests_the_closest(memory_db: Database) -> None:
    reply = await _router(memory_db, build_registry()).handle(
        CommandRequest.parse("helth acme", ME)
    )
    assert "helth" in reply.heading
    assert "Did you mean `health`?" in reply.paragraphs[0]
    assert reply.tables[0].rows[0][0] == "health <account>"


async def test_help_lists_every_registered_command(memory_db: Database) -> None:
    registry = build_registry()
    reply = await _router(memory_db, registry).handle(CommandRequest.parse("help", ME))
    assert len(reply.tables[0].rows) == len(registry.names())


async def test_a_failing_handler_answers_with_an_incident_id(
    memory_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: CommandRequest, context: BotContext) -> Reply:
        raise RuntimeError("secret detail")

    registry = CommandRegistry()
    registry.register(Command("boom", "boom", "fails", broken))
    reply = await _router(memory_db, registry).handle(CommandRequest.parse("boom", ME))
    assert reply.heading == "Something went wrong"
    assert "secret detail" not in " ".join(reply.paragraphs)
    incident = reply.paragraphs[0].split("`")[-2]
    assert incident in caplog.text and "secret detail" in caplog.text


def test_registering_a_name_twice_is_an_error() -> None:
    registry = build_registry()
    with pytest.raises(ValueError, match="twice"):
        registry.register(Command("help", "help", "again", registry.get("help").handler))  # type: ignore[union-attr]


async def test_a_failing_button_still_answers_with_an_incident_id(memory_db: Database) -> None:
    """The database has no tables here, so the claim cannot even find who clicked."""
    from bot.alerts import CLAIM
    from bot.requests import ActionRequest

    reply = await _router(memory_db, build_registry()).act(
        ActionRequest(CLAIM, {"follow_up": "1"}, Actor(Platform.SLACK, user_id="U0CSM1"))
    )
    assert reply.heading == "Something went wrong"
    assert "That button failed on our side" in reply.paragraphs[0]
    assert "incident id" in reply.paragraphs[0]
