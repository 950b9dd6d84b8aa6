"""The router: known commands reach their handler, anything else still gets an answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.actions import DETAILS, REFRESH, SHARE
from bot.catalog import build_registry
from bot.commands import Command, CommandRegistry
from bot.context import BotContext
from bot.formatting import ECHO_MAX_CHARS, echoed
from bot.inbound import ActionRequest, Actor, CommandRequest, Platform
from bot.reply import Outcome, Reply, Visibility
from bot.router import Router
from metrics_core.churn.risk import RiskModels
from metrics_core.config import Config
from metrics_core.health.cache import HealthCache
from metrics_core.store.db import Database, make_engine

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
    assert reply.outcome is Outcome.PROBLEM


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
    from bot.messages.alerts import CLAIM

    reply = await _router(memory_db, build_registry()).act(
        ActionRequest(CLAIM, {"follow_up": "1"}, Actor(Platform.SLACK, user_id="U0CSM1"))
    )
    assert reply.heading == "Something went wrong"
    assert "That button failed on our side" in reply.paragraphs[0]
    assert "incident id" in reply.paragraphs[0]


async def test_a_failed_command_offers_try_again_but_never_share(memory_db: Database) -> None:
    async def broken(request: CommandRequest, context: BotContext) -> Reply:
        raise RuntimeError("boom")

    registry = CommandRegistry()
    registry.register(Command("boom", "boom", "fails", broken))
    reply = await _router(memory_db, registry).handle(CommandRequest.parse("boom now", ME))
    assert reply.outcome is Outcome.FAILURE
    assert [(a.action_id, a.label) for a in reply.actions] == [(REFRESH, "Try again")]
    assert reply.actions[0].payload["command"] == "boom now"


async def test_a_problem_offers_neither_share_nor_refresh(memory_db: Database) -> None:
    """`renewals soon` is not a number of days: nothing to share, and asking again is no help."""
    router = _router(memory_db, build_registry())
    for text in ("renewals soon", "churn top lots", "helth acme"):
        reply = await router.handle(CommandRequest.parse(text, ME))
        assert reply.outcome is Outcome.PROBLEM, text
        assert not {a.action_id for a in reply.actions} & {SHARE, REFRESH}, text


async def test_sharing_an_answer_that_became_a_problem_stays_private(memory_db: Database) -> None:
    reply = await _router(memory_db, build_registry()).act(
        ActionRequest(SHARE, {"command": "renewals soon"}, ME)
    )
    assert reply.outcome is Outcome.PROBLEM
    assert reply.visibility is Visibility.PRIVATE


async def test_a_failing_details_button_answers_with_an_incident_id(memory_db: Database) -> None:
    """No tables here either: the details of an account cannot be read."""
    reply = await _router(memory_db, build_registry()).act(
        ActionRequest(DETAILS, {"account": "ACME"}, ME)
    )
    assert reply.heading == "Something went wrong"
    assert reply.outcome is Outcome.FAILURE


async def test_an_empty_command_is_answered_with_help(memory_db: Database) -> None:
    router = _router(memory_db, build_registry())
    for text in ("", "   ", "/closeloop"):
        reply = await router.handle(CommandRequest.parse(text, ME))
        assert reply.heading == "Closeloop commands", text
        assert reply.outcome is Outcome.ANSWER


async def test_what_is_echoed_back_is_clipped(memory_db: Database) -> None:
    router = _router(memory_db, build_registry())
    unknown = await router.handle(CommandRequest.parse("frobnicate" + "y" * 900, ME))
    assert unknown.heading.startswith("I don't know the command `frobnicatey")
    assert len(unknown.heading) <= 100
    assert unknown.heading.endswith("…`")
    huge = await router.handle(CommandRequest.parse("health " + "x" * 100_000, ME))
    assert huge.outcome is Outcome.PROBLEM
    assert len(huge.heading) + sum(len(p) for p in huge.paragraphs) < 300


def test_echoed_keeps_short_text_and_clips_long_text_to_one_line() -> None:
    assert echoed("Acme  Corp") == "Acme Corp"
    assert echoed("line one\nline two") == "line one line two"
    clipped = echoed("word " * 100)
    assert len(clipped) == ECHO_MAX_CHARS and clipped.endswith("…")
    assert echoed("") == ""


async def test_help_for_one_command_shows_every_form(memory_db: Database) -> None:
    router = _router(memory_db, build_registry())
    churn = await router.handle(CommandRequest.parse("help churn", ME))
    assert churn.tables[0].rows == (("churn <account>",), ("churn top [N]",))
    nps = await router.handle(CommandRequest.parse("/closeloop help nps", ME))
    assert nps.tables[0].rows == (("nps [account | segment] [period]",),)
    unknown = await router.handle(CommandRequest.parse("help frobnicate", ME))
    assert unknown.outcome is Outcome.PROBLEM
    assert "frobnicate" in unknown.heading
