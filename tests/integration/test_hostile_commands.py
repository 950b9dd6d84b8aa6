"""Whatever is typed or clicked, the bot answers: never an exception, never "went wrong".

The parsers are checked on any text; the router on any command text and any button over
a small seeded book whose accounts, comments and respondents carry chat markup and SQL, as
imported data can. A reply that says "Something went wrong" means a handler raised: for a
question that is merely odd, that is a bug, so it fails the test like an exception would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from adapters.platforms.console import render_text as console_text
from adapters.platforms.slack.render import render_message
from adapters.platforms.teams.render import render_card
from bot.actions import CLAIM, CLOSE, DETAILS, OPEN, PICK, REASSIGN, REFRESH, SHARE
from bot.args import parse_count, parse_period, parse_scope, parse_segment
from bot.catalog import build_registry
from bot.inbound import ActionRequest, Actor, CommandRequest, Platform
from bot.reply import Outcome, Reply
from bot.router import Router
from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import Account, SurveyResponse
from metrics_core.synthetic import seed_database
from tests.hostile import MARKUP, SQL, examples, hostile_text
from tests.routing import router_for

TODAY = dt.date(2026, 11, 20)
HOSTILE_NAMES = ("<!channel> Corp", "[click](http://evil.example)", SQL, "**Bold** <b>Inc</b>")
WORDS = (
    *("last month", "this quarter", "2026-q3", "q5", "2026-13", "30d", "99999d", "ytd", "mtd"),
    *("smb", "enterprise", "Mid-market", "mine", "open", "sla", "unmatched", "top", "5", "0"),
    *("-1", "acme", "ACME", "acme.example", "daily", "weekly", "09:00", "25:99", "owner=@dana"),
    *("Europe/Berlin", "Mars/Olympus", "subscribe", "list", "unsubscribe", "preview", "12"),
    *("²", "last ² days", "１２", "٣ weeks", "#³"),  # digits that are not 0-9
    *HOSTILE_NAMES,
)
DANA = Actor(Platform.SLACK, user_id="U0CSM1", timezone="Europe/Berlin")
STRANGER = Actor(Platform.TEAMS, user_id=None)


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Router]:
    """A small seeded book in which four accounts and some answers carry hostile text."""
    path = tmp_path_factory.mktemp("hostile") / "closeloop.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    seed_database(engine, accounts=24, days=60, seed=5, as_of=TODAY)
    with engine.begin() as connection:
        ids = connection.scalars(select(Account.id).order_by(Account.id).limit(5)).all()
        for account_id, name in zip(ids[1:], HOSTILE_NAMES, strict=True):
            connection.execute(update(Account).where(Account.id == account_id).values(name=name))
        connection.execute(
            update(SurveyResponse).values(comment="<!here> [pay](http://evil.example) " + SQL)
        )
        connection.execute(
            update(SurveyResponse)
            .where(SurveyResponse.respondent_name.is_not(None))
            .values(respondent_name="<@U0CSM1> **Jane**")
        )
    engine.dispose()
    copy = path.with_name("book.db")
    shutil.copyfile(path, copy)
    database = Database(make_engine(f"sqlite:///{copy}"))
    yield router_for(database, today=TODAY, now=dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC))
    database.close()


def answered(reply: object) -> Reply:
    """The reply, checked: a Reply, not a failure, and renderable on every surface."""
    assert isinstance(reply, Reply)
    assert reply.outcome is not Outcome.FAILURE, reply
    render_message(reply)
    render_card(reply)
    console_text(reply)
    return reply


# --- the parsers ----------------------------------------------------------------------------

any_text = st.one_of(st.text(max_size=60), hostile_text())
phrases = st.lists(st.sampled_from(WORDS) | st.text(max_size=10), max_size=6).map(" ".join)


@settings(max_examples=examples(300))
@given(text=any_text | phrases, space=st.sampled_from([" ", "  ", "\t", "\n", "\u3000"]))
def test_the_command_is_the_first_word_whatever_separates_it(text: str, space: str) -> None:
    """`health acme`, `health` and a tab before `acme`, and a Teams message with a line break
    after the command all ask `health` about `acme`: the first word is the command."""
    typed = f"/{text.strip()}{space}acme" if text.strip() else f"health{space}acme"
    request = CommandRequest.parse(typed, DANA)
    words = typed.strip().lstrip("/").split()
    assert request.command == words[0].lower()
    assert request.args.split() == words[1:]
    assert request.args == request.args.strip()


@settings(max_examples=examples(300))
@given(text=any_text | phrases)
def test_scopes_and_periods_read_any_text(text: str) -> None:
    """Any words: a scope from what they hold, a period only from the past, never an error."""
    scope = parse_scope(text, TODAY)
    assert set(scope.rest) <= set(text.split())
    if scope.period is not None:
        assert scope.period.start < scope.period.end and scope.period.start <= TODAY
    if text.split():
        parse_period(text, TODAY)
    for word in text.split():
        parse_period(word, TODAY)
        parse_segment(word)
        count = parse_count(word)
        assert count is None or 1 <= count <= 1000


# --- the router -------------------------------------------------------------------------------

commands = st.sampled_from([*build_registry().names(), "closeloop", "", "helth", "/health"])


@settings(max_examples=examples(120))
@given(command=commands, args=any_text | phrases, actor=st.sampled_from([DANA, STRANGER]))
def test_any_command_text_gets_an_answer(
    router: Router, command: str, args: str, actor: Actor
) -> None:
    request = CommandRequest.parse(f"{command} {args}", actor, conversation="C0HOSTILE")
    answered(asyncio.run(router.handle(request)))


@settings(max_examples=examples(60))
@given(
    action_id=st.sampled_from([CLAIM, CLOSE, REASSIGN, DETAILS, PICK, REFRESH, SHARE, OPEN, "x"]),
    payload=st.dictionaries(
        st.sampled_from(["follow_up", "command", "account", "outcome", "note", "owner", "x"]),
        st.one_of(st.sampled_from(["1", "2", "-1", "99999999999999999999", "²", "acme"]), any_text),
        max_size=4,
    ),
    actor=st.sampled_from([DANA, STRANGER]),
)
def test_any_button_gets_an_answer(
    router: Router, action_id: str, payload: dict[str, str], actor: Actor
) -> None:
    request = ActionRequest(action_id, payload, actor, conversation="C0HOSTILE")
    answered(asyncio.run(router.act(request)))
    asyncio.run(router.form(request))


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_an_account_with_a_hostile_name_is_found_and_answered(router: Router, name: str) -> None:
    reply = answered(asyncio.run(router.handle(CommandRequest.parse(f"health {name}", DANA))))
    assert reply.outcome is Outcome.ANSWER, reply
    assert name in reply.heading


def test_markup_is_never_a_command(router: Router) -> None:
    for text in MARKUP:
        answered(asyncio.run(router.handle(CommandRequest.parse(text, DANA))))


def test_the_book_really_holds_the_hostile_text(router: Router) -> None:
    """The fixture is what the tests above rely on: hostile names among the accounts."""
    with router.context.db.reading() as session:
        names = set(session.scalars(select(Account.name)))
    assert set(HOSTILE_NAMES) <= names


@pytest.mark.parametrize(
    "text",
    ["churn top ²", "renewals ²", "nps last ² days", "kpis ² weeks", "digest unsubscribe ²"],
)
def test_digits_that_are_not_0_to_9_are_words_not_numbers(router: Router, text: str) -> None:
    """`²` passes `str.isdigit` but is no number `int` can read."""
    answered(asyncio.run(router.handle(CommandRequest.parse(text, DANA))))


@pytest.mark.parametrize("action_id", [CLAIM, CLOSE, REASSIGN])
def test_a_button_with_a_superscript_id_gets_an_answer(router: Router, action_id: str) -> None:
    payload = {"follow_up": "²", "owner": "²", "outcome": "won"}
    answered(asyncio.run(router.act(ActionRequest(action_id, payload, DANA))))
