"""The router: known commands reach their handler, anything else still gets an answer,
and a button press comes to a form or an answer that goes where the click protocol says.

No database: the router reads through a fake that answers only what a test gives it, so a
handler that reads anything else fails as it would on a database that cannot answer.
"""

from __future__ import annotations

import pytest

from bot.actions import (
    ACTION_IDS,
    CLAIM,
    CLOSE,
    DETAILS,
    OPEN,
    PICK,
    REASSIGN,
    REFRESH,
    SHARE,
)
from bot.catalog import build_registry
from bot.clicks import Answer, Delivery, ShowForm
from bot.commands import Command, CommandRegistry
from bot.context import BotContext, Reader
from bot.formatting import ECHO_MAX_CHARS, echoed
from bot.inbound import ActionRequest, Actor, CommandRequest, Platform
from bot.reply import Outcome, Reply, Visibility
from bot.router import Router
from metrics_core.accounts.team import Member, active_members, member_by_chat_id
from metrics_core.churn.daily_model import RiskModels
from metrics_core.config import Config
from metrics_core.health.cache import HealthCache
from metrics_core.store.models import TeamRole
from tests.fakes.reader import FakeReader

ME = Actor(Platform.CONSOLE, user_id="U0CSM1")


@pytest.fixture
def reader() -> FakeReader:
    """A reader with no answers: every read fails, as on a database that cannot answer."""
    return FakeReader()


def _router(db: Reader, registry: CommandRegistry) -> Router:
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


async def test_unknown_command_suggests_the_closest(reader: FakeReader) -> None:
    reply = await _router(reader, build_registry()).handle(CommandRequest.parse("helth acme", ME))
    assert "helth" in reply.heading
    assert "Did you mean `health`?" in reply.paragraphs[0]
    assert reply.tables[0].rows[0][0] == "health <account> | …"
    assert reply.outcome is Outcome.PROBLEM


async def test_help_lists_every_registered_command(reader: FakeReader) -> None:
    registry = build_registry()
    reply = await _router(reader, registry).handle(CommandRequest.parse("help", ME))
    assert len(reply.tables[0].rows) == len(registry.names())


async def test_a_failing_handler_answers_with_an_incident_id(
    reader: FakeReader, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: CommandRequest, context: BotContext) -> Reply:
        raise RuntimeError("secret detail")

    registry = CommandRegistry()
    registry.register(Command("boom", "boom", "fails", broken))
    reply = await _router(reader, registry).handle(CommandRequest.parse("boom", ME))
    assert reply.heading == "Something went wrong"
    assert "secret detail" not in " ".join(reply.paragraphs)
    incident = reply.paragraphs[0].split("`")[-2]
    assert incident in caplog.text and "secret detail" in caplog.text


def test_registering_a_name_twice_is_an_error() -> None:
    registry = build_registry()
    with pytest.raises(ValueError, match="twice"):
        registry.register(Command("help", "help", "again", registry.get("help").handler))  # type: ignore[union-attr]


async def test_a_failing_button_still_answers_with_an_incident_id(reader: FakeReader) -> None:
    """The reader answers nothing here, so the claim cannot even find who clicked."""
    reply = await _router(reader, build_registry()).act(
        ActionRequest(CLAIM, {"follow_up": "1"}, Actor(Platform.SLACK, user_id="U0CSM1"))
    )
    assert reply.heading == "Something went wrong"
    assert "That button failed on our side" in reply.paragraphs[0]
    assert "incident id" in reply.paragraphs[0]


async def test_a_failed_command_offers_try_again_but_never_share(reader: FakeReader) -> None:
    async def broken(request: CommandRequest, context: BotContext) -> Reply:
        raise RuntimeError("boom")

    registry = CommandRegistry()
    registry.register(Command("boom", "boom", "fails", broken))
    reply = await _router(reader, registry).handle(CommandRequest.parse("boom now", ME))
    assert reply.outcome is Outcome.FAILURE
    assert [(a.action_id, a.label) for a in reply.actions] == [(REFRESH, "Try again")]
    assert reply.actions[0].payload["command"] == "boom now"


async def test_a_problem_offers_neither_share_nor_refresh(reader: FakeReader) -> None:
    """`renewals soon` is not a number of days: nothing to share, and asking again is no help."""
    router = _router(reader, build_registry())
    for text in ("renewals soon", "churn top lots", "helth acme"):
        reply = await router.handle(CommandRequest.parse(text, ME))
        assert reply.outcome is Outcome.PROBLEM, text
        assert not {a.action_id for a in reply.actions} & {SHARE, REFRESH}, text


async def test_sharing_an_answer_that_became_a_problem_stays_private(reader: FakeReader) -> None:
    reply = await _router(reader, build_registry()).act(
        ActionRequest(SHARE, {"command": "renewals soon"}, ME)
    )
    assert reply.outcome is Outcome.PROBLEM
    assert reply.visibility is Visibility.PRIVATE


async def test_a_failing_details_button_answers_with_an_incident_id(reader: FakeReader) -> None:
    """Nothing is answered here either: the details of an account cannot be read."""
    reply = await _router(reader, build_registry()).act(
        ActionRequest(DETAILS, {"account": "ACME"}, ME)
    )
    assert reply.heading == "Something went wrong"
    assert reply.outcome is Outcome.FAILURE


async def test_an_empty_command_is_answered_with_help(reader: FakeReader) -> None:
    router = _router(reader, build_registry())
    for text in ("", "   ", "/closeloop"):
        reply = await router.handle(CommandRequest.parse(text, ME))
        assert reply.heading == "Closeloop commands", text
        assert reply.outcome is Outcome.ANSWER


async def test_what_is_echoed_back_is_clipped(reader: FakeReader) -> None:
    router = _router(reader, build_registry())
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


async def test_help_for_one_command_shows_every_form(reader: FakeReader) -> None:
    router = _router(reader, build_registry())
    churn = await router.handle(CommandRequest.parse("help churn", ME))
    assert churn.tables[0].rows == (("churn <account>",), ("churn top [N]",))
    nps = await router.handle(CommandRequest.parse("/closeloop help nps", ME))
    assert nps.tables[0].rows == (
        ("nps [account | segment] [period]",),
        ("nps insights [segment]",),
    )
    unknown = await router.handle(CommandRequest.parse("help frobnicate", ME))
    assert unknown.outcome is Outcome.PROBLEM
    assert "frobnicate" in unknown.heading


# --- the click protocol ------------------------------------------------------------------

OWN, EVERYONE, UNTOLD = Visibility.PRIVATE, Visibility.CHANNEL, None
"""Who sees the clicked message: the clicker alone (a Slack ephemeral answer), the whole
conversation (an alert, a digest, a shared answer), or the platform does not say (Teams)."""
AUDIENCES = (OWN, EVERYONE, UNTOLD)


async def _echo(request: CommandRequest, context: BotContext) -> Reply:
    return Reply(heading=f"Echo {request.args}")


async def _unanswerable(request: CommandRequest, context: BotContext) -> Reply:
    return Reply(heading="No account matches", outcome=Outcome.PROBLEM)


def _answering(db: Reader) -> Router:
    """A router whose commands answer without reading anything."""
    registry = CommandRegistry()
    registry.register(Command("echo", "echo <text>", "Answers what it was asked", _echo))
    registry.register(Command("nothing", "nothing", "Cannot be answered", _unanswerable))
    return _router(db, registry)


def _press(action_id: str, payload: dict[str, str], clicked_on: Visibility | None) -> ActionRequest:
    return ActionRequest(action_id, payload, ME, "C0CHANNEL", clicked_on=clicked_on)


def _answer(click: object) -> Answer:
    assert isinstance(click, Answer), click
    return click


@pytest.mark.parametrize(
    ("action_id", "payload", "clicked_on", "delivery"),
    [
        # The same question again takes the place of the clicker's own answer, but never
        # of a message others see; when the platform does not say, the card is refreshed.
        (REFRESH, {"command": "echo acme"}, OWN, Delivery.REPLACE),
        (REFRESH, {"command": "echo acme"}, EVERYONE, Delivery.POST),
        (REFRESH, {"command": "echo acme"}, UNTOLD, Delivery.REPLACE),
        (PICK, {"command": "echo", "account": "acme"}, OWN, Delivery.REPLACE),
        (PICK, {"command": "echo", "account": "acme"}, EVERYONE, Delivery.POST),
        (PICK, {"command": "echo", "account": "acme"}, UNTOLD, Delivery.REPLACE),
        # Open answers another question: a message of its own, wherever it is pressed.
        (OPEN, {"command": "echo acme"}, OWN, Delivery.POST),
        (OPEN, {"command": "echo acme"}, EVERYONE, Delivery.POST),
        (OPEN, {"command": "echo acme"}, UNTOLD, Delivery.POST),
    ],
)
async def test_an_answer_replaces_only_the_clickers_own_message(
    reader: FakeReader,
    action_id: str,
    payload: dict[str, str],
    clicked_on: Visibility | None,
    delivery: Delivery,
) -> None:
    answer = _answer(await _answering(reader).click(_press(action_id, payload, clicked_on)))
    assert answer.reply.heading == "Echo acme"
    assert answer.reply.visibility is Visibility.PRIVATE
    assert answer.delivery is delivery


@pytest.mark.parametrize("clicked_on", AUDIENCES)
async def test_a_shared_answer_is_posted_for_everyone(
    reader: FakeReader, clicked_on: Visibility | None
) -> None:
    answer = _answer(
        await _answering(reader).click(_press(SHARE, {"command": "echo acme"}, clicked_on))
    )
    assert answer.delivery is Delivery.POST
    assert answer.reply.visibility is Visibility.CHANNEL
    assert answer.reply.heading == "Echo acme"


@pytest.mark.parametrize(
    ("clicked_on", "delivery"),
    [(OWN, Delivery.REPLACE), (EVERYONE, Delivery.POST), (UNTOLD, Delivery.POST)],
)
async def test_a_share_that_came_to_nothing_stays_with_the_clicker(
    reader: FakeReader, clicked_on: Visibility | None, delivery: Delivery
) -> None:
    answer = _answer(
        await _answering(reader).click(_press(SHARE, {"command": "nothing"}, clicked_on))
    )
    assert answer.reply.outcome is Outcome.PROBLEM
    assert answer.reply.visibility is Visibility.PRIVATE
    assert answer.delivery is delivery


@pytest.mark.parametrize(
    ("clicked_on", "delivery"),
    [(OWN, Delivery.REPLACE), (EVERYONE, Delivery.POST), (UNTOLD, Delivery.POST)],
)
async def test_account_details_never_take_the_place_of_a_message_others_see(
    reader: FakeReader, clicked_on: Visibility | None, delivery: Delivery
) -> None:
    """Nothing is answered here, so the details fail; where the answer goes is the same."""
    click = await _answering(reader).click(_press(DETAILS, {"account": "ACME"}, clicked_on))
    assert _answer(click).delivery is delivery


@pytest.mark.parametrize("clicked_on", AUDIENCES)
async def test_an_alert_button_answers_the_clicker_alone_and_leaves_the_alert(
    reader: FakeReader, clicked_on: Visibility | None
) -> None:
    """The claim fails here (nothing is answered); it is still a notice, never a replacement."""
    answer = _answer(await _answering(reader).click(_press(CLAIM, {"follow_up": "7"}, clicked_on)))
    assert answer.delivery is Delivery.NOTICE
    assert answer.reply.outcome is Outcome.FAILURE
    assert answer.reply.visibility is Visibility.PRIVATE


@pytest.mark.parametrize("clicked_on", AUDIENCES)
async def test_close_asks_its_outcome_first(
    reader: FakeReader, clicked_on: Visibility | None
) -> None:
    click = await _answering(reader).click(_press(CLOSE, {"follow_up": "7"}, clicked_on))
    assert isinstance(click, ShowForm)
    assert click.form.title == "Close the loop"
    outcome, note = click.form.fields
    assert (outcome.name, outcome.optional) == ("outcome", False)
    assert [c.value for c in outcome.choices] == Config().follow_ups.outcomes
    assert (note.name, note.optional) == ("note", True)
    assert reader.asked == []  # nothing was done yet


async def test_a_press_that_brings_its_answers_acts_at_once(reader: FakeReader) -> None:
    """Teams sends the inputs of a form on the card with the press: no second question."""
    payload = {"follow_up": "7", "outcome": "resolved"}  # the note is optional
    answer = _answer(await _answering(reader).click(_press(CLOSE, payload, UNTOLD)))
    assert answer.delivery is Delivery.NOTICE
    assert answer.reply.outcome is Outcome.FAILURE  # it acted, and nothing answered


async def test_reassign_offers_the_team_as_it_is_when_pressed() -> None:
    team = [Member(1, "Dana Whitfield", TeamRole.CSM), Member(2, "Marco Alvarez", TeamRole.CSM)]
    reader = FakeReader(answers={active_members: team})
    click = await _answering(reader).click(_press(REASSIGN, {"follow_up": "7"}, EVERYONE))
    assert isinstance(click, ShowForm)
    (owner,) = click.form.fields
    assert [(c.value, c.label) for c in owner.choices] == [
        ("1", "Dana Whitfield"),
        ("2", "Marco Alvarez"),
    ]
    assert reader.queries() == [active_members]


async def test_a_form_that_cannot_be_read_answers_with_an_incident_id(
    reader: FakeReader,
) -> None:
    """The team cannot be read here: the clicker is told, privately, instead of nothing."""
    answer = _answer(await _answering(reader).click(_press(REASSIGN, {"follow_up": "7"}, EVERYONE)))
    assert answer.reply.heading == "Something went wrong"
    assert "That button failed on our side" in answer.reply.paragraphs[0]
    assert answer.delivery is Delivery.NOTICE


async def test_a_submitted_form_is_not_asked_again_and_shows_what_came_of_it() -> None:
    """What the answers still lack is for the action to say, in the form's place."""
    dana = Member(1, "Dana Whitfield", TeamRole.CSM)
    reader = FakeReader(answers={member_by_chat_id: dana})
    answer = await _answering(reader).submit(_press(REASSIGN, {"follow_up": "7"}, UNTOLD))
    assert answer.reply.heading == "Pick who should own it"
    assert answer.delivery is Delivery.REPLACE
    assert active_members not in reader.queries()  # the team is not read for a form again


async def test_a_button_nobody_knows_is_answered_in_place(reader: FakeReader) -> None:
    answer = _answer(await _answering(reader).click(_press("closeloop.gone", {}, UNTOLD)))
    assert answer.reply.heading == "That button is no longer supported"
    assert answer.delivery is Delivery.REPLACE


@pytest.mark.parametrize("action_id", ACTION_IDS)
async def test_every_action_id_adapters_register_is_one_the_router_knows(
    reader: FakeReader, action_id: str
) -> None:
    payload = {"command": "echo acme", "account": "ACME", "follow_up": "7", "owner": "1"}
    click = await _answering(reader).click(_press(action_id, payload, OWN))
    if isinstance(click, Answer):
        assert click.reply.heading != "That button is no longer supported"
