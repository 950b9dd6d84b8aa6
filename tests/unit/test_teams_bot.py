"""The Teams bot driven by botbuilder's TestAdapter, on the real database (demo data).

Activities have Teams' own shape (tests/e2e/teams_activities.py); what is asserted is what
a Teams user would see: the card that comes back, its heading and buttons, and who the
bot believes acted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from botbuilder.core import InvokeResponse
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity
from sqlalchemy import select

from adapters.platforms.teams.bot import CloseloopBot
from bot.catalog import build_registry
from bot.commands import Command, CommandRegistry
from bot.context import BotContext
from bot.handlers.help import welcome
from bot.inbound import CommandRequest
from bot.reply import Reply
from bot.router import Router
from metrics_core.accounts.team import Member, member_by_chat_id
from metrics_core.churn.daily_model import RiskModels
from metrics_core.config import Config
from metrics_core.delivery import conversation_references as conversations
from metrics_core.followups.intake import record_answer
from metrics_core.health.cache import HealthCache
from metrics_core.health.feedback import Direction, FeedbackResult, Stored, record_feedback
from metrics_core.store.db import Database
from metrics_core.store.models import (
    ConversationReference,
    FollowUp,
    FollowUpStatus,
    SurveyKind,
    TeamMember,
    TeamRole,
)
from metrics_core.surveys.answers import SurveyAnswer
from metrics_core.synthetic import seed_database
from tests.e2e import teams_activities as teams
from tests.e2e.teams_activities import CHANNEL, DANA, MARCO, OUTSIDER, TIMEZONE
from tests.fakes.reader import FakeReader
from tests.unit.test_teams_render import schema_errors

SERVICE = "https://smba.trafficmanager.net/amer/"
TODAY = dt.datetime.now(dt.UTC).date()
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def seeded(db: Database) -> Database:
    seed_database(db.engine, accounts=30, days=30, seed=3, as_of=TODAY)
    return db


@pytest.fixture
def router(seeded: Database) -> Router:
    config = Config()
    context = BotContext(
        db=seeded,
        config=config,
        registry=build_registry(),
        risk=RiskModels(config),
        health=HealthCache(config),
    )
    return Router(context)


@pytest.fixture
def bot(router: Router, seeded: Database) -> CloseloopBot:
    return CloseloopBot(router, seeded, app_id=None, budget_seconds=5.0)


@pytest.fixture
def adapter(bot: CloseloopBot) -> TestAdapter:
    return TestAdapter(bot.on_turn)


async def turn(adapter: TestAdapter, activity: dict[str, Any]) -> list[Activity]:
    """Send one activity as Teams would; what the bot sent back during the turn."""
    adapter.activity_buffer.clear()
    await adapter.receive_activity(Activity().deserialize(activity))
    return list(adapter.activity_buffer)


def card(activity: Activity) -> dict[str, Any]:
    (attachment,) = activity.attachments
    assert attachment.content_type == teams.CARD
    return dict(attachment.content)


def titles(shown: dict[str, Any]) -> list[str]:
    return [b["title"] for b in teams.buttons(shown)]


def invoke_answer(sent: list[Activity]) -> InvokeResponse:
    (answer,) = [a for a in sent if a.type == "invokeResponse"]
    value = answer.value
    assert isinstance(value, InvokeResponse)
    return value


def _follow_up(db: Database) -> int:
    """A detractor answer from Acme Corp, as a survey webhook would store it."""
    with db.writing() as session:
        intake = record_answer(
            session,
            SurveyAnswer(
                "generic",
                "r-1",
                SurveyKind.NPS,
                2,
                NOW,
                "Exports keep failing",
                "jane@acme.example",
            ),
            config=Config(),
            fallback=None,
            now=NOW,
        )
    assert intake.follow_up_id is not None
    return intake.follow_up_id


def _owner(db: Database, follow_up_id: int) -> str | None:
    with db.reading() as session:
        row = session.get_one(FollowUp, follow_up_id)
        if row.owner_id is None:
            return None
        return session.get_one(TeamMember, row.owner_id).teams_aad_object_id


async def test_health_in_a_personal_chat_answers_with_a_card(
    adapter: TestAdapter, seeded: Database
) -> None:
    (answer,) = await turn(adapter, teams.message("health acme", service_url=SERVICE))
    shown = card(answer)
    assert shown["version"] == "1.5"
    assert teams.heading(shown) == "Acme Corp — health"
    assert titles(shown) == [
        "Account details",
        "This score looks wrong",
        "Refresh",
        "Share in channel",
    ]
    assert answer.summary and "Acme Corp" in answer.summary  # the notification's words
    with seeded.reading() as session:
        stored = conversations.find(session, f"user:{DANA}")
    assert stored is not None and stored.service_url == SERVICE and stored.active


async def test_a_slash_is_fine_and_empty_text_is_help(adapter: TestAdapter) -> None:
    (answer,) = await turn(adapter, teams.message("/churn acme", service_url=SERVICE))
    assert teams.heading(card(answer)) == "Acme Corp — churn risk"
    (answer,) = await turn(adapter, teams.message("", service_url=SERVICE))
    assert teams.heading(card(answer)) == "Closeloop commands"


async def test_the_mention_is_stripped_in_a_channel(adapter: TestAdapter, seeded: Database) -> None:
    activity = teams.channel_message("health acme", service_url=SERVICE)
    assert activity["text"] == "<at>Closeloop</at> health acme"
    (answer,) = await turn(adapter, activity)
    assert teams.heading(card(answer)) == "Acme Corp — health"
    (only_mention,) = await turn(adapter, teams.channel_message("", service_url=SERVICE))
    assert teams.heading(card(only_mention)) == "Closeloop commands"
    with seeded.reading() as session:
        stored = conversations.find(session, CHANNEL)  # the channel, not the thread
    assert stored is not None and stored.conversation_type == "channel"
    assert stored.user_id is None and stored.reference["conversation"]["id"] == CHANNEL


async def test_a_person_mentioned_in_a_command_stays_in_it(adapter: TestAdapter) -> None:
    """`owner=@Dana` typed in Teams arrives as a mention tag: it names whose book."""
    text = f"digest subscribe daily 08:30 UTC owner={teams.at(DANA)}"
    activity = teams.mentioning(teams.channel_message(text, service_url=SERVICE, user=MARCO), DANA)
    assert activity["text"] == "<at>Closeloop</at> digest subscribe daily 08:30 UTC owner=" + (
        "<at>Dana Whitfield</at>"
    )
    (answer,) = await turn(adapter, activity)
    shown = card(answer)
    assert teams.heading(shown) == "Digest #1 scheduled"
    assert "covering: Dana Whitfield's book" in teams.text_of(shown)

    # Shortened in the text to a first name, the mention still names her in full.
    shortened = teams.mentioning(
        teams.channel_message(
            "digest subscribe daily 09:30 UTC owner=<at>Dana</at>", service_url=SERVICE
        ),
        DANA,
    )
    shortened["entities"][-1]["text"] = "<at>Dana</at>"
    (answer,) = await turn(adapter, shortened)
    assert teams.heading(card(answer)) == "Digest #2 scheduled"
    assert "covering: Dana Whitfield's book" in teams.text_of(card(answer))


async def test_unknown_text_answers_with_help(adapter: TestAdapter) -> None:
    (answer,) = await turn(adapter, teams.message("hello there", service_url=SERVICE))
    shown = card(answer)
    assert teams.heading(shown) == "I don't know the command `hello`"
    assert "health" in teams.text_of(shown) and "churn" in teams.text_of(shown)


async def test_the_actor_carries_the_aad_id_and_the_time_zone(router: Router) -> None:
    seen: list[CommandRequest] = []

    async def record(request: CommandRequest, context: BotContext) -> Reply:
        seen.append(request)
        return Reply(heading="seen")

    router.context.registry.register(Command("whoami", "whoami", "Who asked", record))
    bot = CloseloopBot(router, router.context.db, app_id=None)
    await turn(TestAdapter(bot.on_turn), teams.channel_message("whoami", service_url=SERVICE))
    (request,) = seen
    assert request.actor.user_id == DANA and request.actor.display_name == "Dana Whitfield"
    assert request.actor.timezone == TIMEZONE
    assert request.conversation == CHANNEL


async def test_refresh_replaces_the_card(adapter: TestAdapter) -> None:
    sent = await turn(
        adapter,
        teams.invoke("closeloop.refresh", {"command": "health acme"}, service_url=SERVICE),
    )
    answer = invoke_answer(sent)
    assert answer.status == 200
    assert answer.body["type"] == teams.CARD
    assert teams.heading(answer.body["value"]) == "Acme Corp — health"
    assert [a for a in sent if a.type == "message"] == []  # nothing else posted


async def test_claim_answers_the_clicker_and_leaves_the_alert(
    adapter: TestAdapter, seeded: Database
) -> None:
    follow_up = _follow_up(seeded)
    sent = await turn(
        adapter,
        teams.invoke(
            "closeloop.claim", {"follow_up": str(follow_up)}, service_url=SERVICE, user=MARCO
        ),
    )
    answer = invoke_answer(sent)
    assert answer.body["type"] == "application/vnd.microsoft.activity.message"
    assert answer.body["value"].startswith("Done: claimed (owner: Marco Alvarez)")
    assert _owner(seeded, follow_up) == MARCO


async def test_close_takes_the_form_inputs_merged_into_the_data(
    adapter: TestAdapter, seeded: Database
) -> None:
    follow_up = _follow_up(seeded)
    data = {"follow_up": str(follow_up), "outcome": "resolved", "note": "Called Jane"}
    sent = await turn(adapter, teams.invoke("closeloop.close", data, service_url=SERVICE))
    assert invoke_answer(sent).body["value"].startswith("Done: closed")
    with seeded.reading() as session:
        row = session.get_one(FollowUp, follow_up)
        assert (row.status, row.outcome, row.note) == (
            FollowUpStatus.CLOSED,
            "resolved",
            "Called Jane",
        )


async def test_score_looks_wrong_takes_the_card_inputs_and_thanks_the_clicker_alone(
    sqlite_db: Database,
) -> None:
    """The form's inputs sit on the health card: the press brings them, and the card stays.

    What is stored is read from a fake (the stored row is the Slack end-to-end test's); here
    the question is what Teams sends and shows.
    """
    recorded = FeedbackResult(Stored.RECORDED, "Acme Corp", 81.0, "green")
    dana = Member(1, "Dana Whitfield", TeamRole.CSM)
    reader = FakeReader({member_by_chat_id: dana, record_feedback: recorded})
    config = Config()
    context = BotContext(
        db=reader,
        config=config,
        registry=build_registry(),
        risk=RiskModels(config),
        health=HealthCache(config),
    )
    adapter = TestAdapter(CloseloopBot(Router(context), sqlite_db, app_id=None).on_turn)
    data = {"account": "ACME", "direction": "too_high", "reason": "Champion left"}
    sent = await turn(adapter, teams.invoke("closeloop.score_wrong", data, service_url=SERVICE))
    answer = invoke_answer(sent)
    assert answer.body["type"] == "application/vnd.microsoft.activity.message"
    assert answer.body["value"].startswith("Thanks — noted that Acme Corp's health looks too high")
    assert [a for a in sent if a.type == "message"] == []  # the health card is left as it was
    stored = reader.asked[-1].arguments
    assert (stored["user_ref"], stored["member_id"]) == (f"teams:{DANA}", dana.id)
    assert (stored["direction"], stored["reason"]) == (Direction.TOO_HIGH, "Champion left")


async def test_the_actor_comes_from_the_activity_never_from_card_data(
    adapter: TestAdapter, seeded: Database
) -> None:
    follow_up = _follow_up(seeded)
    forged = {
        "follow_up": str(follow_up),
        "aadObjectId": DANA,
        "user_id": DANA,
        "actor": DANA,
        "from": {"aadObjectId": DANA},
        "msteams": {"type": "messageBack"},
    }
    sent = await turn(
        adapter, teams.invoke("closeloop.claim", forged, service_url=SERVICE, user=OUTSIDER)
    )
    assert invoke_answer(sent).body["value"].startswith("Only the CS team")
    assert _owner(seeded, follow_up) is None

    sent = await turn(
        adapter, teams.invoke("closeloop.claim", forged, service_url=SERVICE, user=MARCO)
    )
    assert "owner: Marco Alvarez" in invoke_answer(sent).body["value"]
    assert _owner(seeded, follow_up) == MARCO


async def test_an_invoke_without_a_verb_is_a_bad_request(adapter: TestAdapter) -> None:
    activity = teams.invoke("", {}, service_url=SERVICE)
    answer = invoke_answer(await turn(adapter, activity))
    assert answer.status == 400 and answer.body["type"] == "application/vnd.microsoft.error"


async def test_a_submitted_button_arrives_as_a_message(adapter: TestAdapter) -> None:
    value = {"verb": "closeloop.pick", "command": "churn", "account": "ACME"}
    (answer,) = await turn(adapter, teams.submit(value, service_url=SERVICE))
    assert teams.heading(card(answer)) == "Acme Corp — churn risk"
    sent = await turn(
        adapter,
        teams.submit(
            {"verb": "closeloop.refresh", "command": "health acme"},
            service_url=SERVICE,
            reply_to="1234",
        ),
    )
    assert sent == []  # the clicked card is edited instead
    (edited,) = adapter.updated_activities
    assert edited.id == "1234" and teams.heading(card(edited)) == "Acme Corp — health"


async def test_a_slow_answer_says_working_on_it_then_follows(
    router: Router, seeded: Database
) -> None:
    release = asyncio.Event()

    async def slow(request: CommandRequest, context: BotContext) -> Reply:
        await release.wait()
        return Reply(heading="Finally")

    router.context.registry.register(Command("slow", "slow", "Takes its time", slow))
    bot = CloseloopBot(router, seeded, app_id=None, budget_seconds=0.05)
    adapter = TestAdapter(bot.on_turn)
    (working,) = await turn(adapter, teams.message("slow", service_url=SERVICE))
    assert working.text.startswith("Working on it")
    assert not working.attachments
    release.set()
    await bot.drain(within=5)
    (late,) = adapter.activity_buffer[1:]
    assert teams.heading(card(late)) == "Finally"
    assert late.conversation.id == teams.personal_chat(DANA)


async def test_install_and_uninstall_keep_the_reference_current(
    adapter: TestAdapter, seeded: Database
) -> None:
    await turn(adapter, teams.bot_added(service_url=SERVICE))
    with seeded.reading() as session:
        stored = conversations.find(session, teams.TEAM)
    assert stored is not None and stored.active and stored.tenant_id == teams.TENANT

    await turn(adapter, teams.installation("add", service_url=SERVICE, user=MARCO))
    await turn(adapter, teams.installation("remove", service_url=SERVICE, user=MARCO))
    with seeded.reading() as session:
        gone = conversations.find(session, f"user:{MARCO}")
        rows = session.scalars(select(ConversationReference)).all()
    assert gone is not None and not gone.active and "removed" in (gone.last_error or "")
    assert len(rows) == 2


# --- the welcome on install ------------------------------------------------------------------


def welcomes(sent: list[Activity]) -> list[Activity]:
    return [a for a in sent if a.attachments and teams.heading(card(a)) == "Welcome to Closeloop"]


def examples(shown: dict[str, Any]) -> list[str]:
    """The example commands in a welcome card's table, as a user reads them."""
    (table,) = [e for e in shown["body"] if e["type"] == "Table"]
    return [row["cells"][0]["items"][0]["text"] for row in table["rows"][1:]]


async def test_installing_in_a_personal_chat_welcomes_once(adapter: TestAdapter) -> None:
    installed = teams.installation("add", service_url=SERVICE)
    (hello,) = await turn(adapter, installed)
    shown = card(hello)
    assert schema_errors(shown) == []
    assert teams.heading(shown) == "Welcome to Closeloop"
    text = teams.text_of(shown)
    assert "Customer-success answers" in text
    assert "I answer when @mentioned: `@Closeloop health acme`" in text
    assert examples(shown) == [
        "health acme",
        "churn top",
        "followups mine",
        "digest subscribe daily 09:00",
    ]
    assert "`help` lists every command." in text
    assert hello.conversation.id == teams.personal_chat(DANA)
    assert hello.reply_to_id != installed["id"]  # posted proactively, not under the event

    # Teams also announces the same install as a conversationUpdate, and may repeat it.
    personal = {"conversation": teams.personal_chat(DANA), "kind": "personal"}
    assert await turn(adapter, teams.bot_added(service_url=SERVICE, **personal)) == []
    assert await turn(adapter, teams.bot_added(service_url=SERVICE, **personal)) == []
    (answer,) = await turn(adapter, teams.message("help", service_url=SERVICE))
    assert teams.heading(card(answer)) == "Closeloop commands"


async def test_adding_to_a_team_welcomes_its_general_channel_once(adapter: TestAdapter) -> None:
    (hello,) = welcomes(await turn(adapter, teams.bot_added(service_url=SERVICE)))
    assert hello.conversation.id == teams.TEAM
    installed = teams.installation(
        "add", service_url=SERVICE, conversation=teams.TEAM, conversation_type="channel"
    )
    assert await turn(adapter, installed) == []
    assert await turn(adapter, teams.bot_added(service_url=SERVICE)) == []


async def test_a_reinstall_after_removal_is_welcomed_again(adapter: TestAdapter) -> None:
    assert len(welcomes(await turn(adapter, teams.installation("add", service_url=SERVICE)))) == 1
    assert await turn(adapter, teams.installation("remove", service_url=SERVICE)) == []
    assert len(welcomes(await turn(adapter, teams.installation("add", service_url=SERVICE)))) == 1


async def test_a_conversation_the_bot_already_knew_gets_no_late_welcome(
    adapter: TestAdapter,
) -> None:
    await turn(adapter, teams.channel_message("help", service_url=SERVICE))
    channel = {"conversation": CHANNEL, "kind": "channel"}
    assert await turn(adapter, teams.bot_added(service_url=SERVICE, **channel)) == []


async def test_a_user_joining_a_team_is_no_install(adapter: TestAdapter) -> None:
    await turn(adapter, teams.bot_added(service_url=SERVICE))
    joined = teams.bot_added(service_url=SERVICE)
    joined["membersAdded"] = [{"id": f"29:1{MARCO.replace('-', '')}", "aadObjectId": MARCO}]
    assert await turn(adapter, joined) == []


async def test_two_announcements_of_one_install_at_once_welcome_once(
    adapter: TestAdapter,
) -> None:
    """Teams sends installationUpdate and conversationUpdate together; on PostgreSQL both
    transactions run at the same moment."""
    chats = [f"19:group-{n}@thread.v2" for n in range(6)]

    async def install(chat: str) -> None:
        where = {"conversation": chat, "conversation_type": "groupChat"}
        await asyncio.gather(
            adapter.receive_activity(
                Activity().deserialize(teams.installation("add", service_url=SERVICE, **where))
            ),
            adapter.receive_activity(
                Activity().deserialize(
                    teams.bot_added(service_url=SERVICE, conversation=chat, kind="groupChat")
                )
            ),
        )

    adapter.activity_buffer.clear()
    await asyncio.gather(*(install(chat) for chat in chats))
    assert sorted(w.conversation.id for w in welcomes(list(adapter.activity_buffer))) == chats

    # Removed everywhere, then added back: each announcement pair welcomes once again.
    for chat in chats:
        where = {"conversation": chat, "conversation_type": "groupChat"}
        await turn(adapter, teams.installation("remove", service_url=SERVICE, **where))
    adapter.activity_buffer.clear()
    await asyncio.gather(*(install(chat) for chat in chats))
    assert sorted(w.conversation.id for w in welcomes(list(adapter.activity_buffer))) == chats


async def test_every_welcome_example_is_a_command_that_answers(adapter: TestAdapter) -> None:
    (hello,) = await turn(adapter, teams.installation("add", service_url=SERVICE))
    for example in examples(card(hello)):
        (answer,) = await turn(adapter, teams.message(example, service_url=SERVICE))
        heading = teams.heading(card(answer))
        assert not heading.startswith(("I don't know", "Something went wrong")), example


def test_the_welcome_never_lists_a_command_that_is_not_registered() -> None:
    registry = CommandRegistry()
    for command in build_registry():
        if command.name not in ("health", "help"):
            registry.register(command)
    reply = welcome(registry, bot_name="CS Bot")
    (table,) = reply.tables
    assert [row[0] for row in table.rows] == [
        "churn top",
        "followups mine",
        "digest subscribe daily 09:00",
    ]
    assert table.rows[0][1] == build_registry().get("churn").summary  # type: ignore[union-attr]
    assert any("`@CS Bot churn top`" in p for p in reply.paragraphs)
    assert reply.notes == ()  # no `help` to point to
    assert welcome(CommandRegistry()).tables == ()
