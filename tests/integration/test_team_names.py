"""Team members named the way people name them: first name, @handle, mention, email, id.

`owner=@dana` in a digest and a new owner for a follow-up go through the same look-up, so
both find Dana however she is written, and ask which Dana when two people share the name.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.actions import REASSIGN
from bot.inbound import ActionRequest, Actor, CommandRequest, Platform
from bot.reply import Reply
from bot.router import Router
from metrics_core.accounts.team import find_members
from metrics_core.config import Config
from metrics_core.delivery.targets import Target
from metrics_core.followups.intake import record_answer
from metrics_core.store.db import Database
from metrics_core.store.models import FollowUp, SurveyKind, TeamRole
from metrics_core.surveys.answers import SurveyAnswer
from tests import factories as f
from tests.routing import router_for

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
DANA_AAD = "00000000-0000-4000-8000-00000000000A"


def _team(db: Database) -> None:
    with db.writing() as session:
        f.team_member(
            session,
            "dana.whitfield@closeloop.example",
            name="Dana Whitfield",
            slack_user_id="U0DANA",
            teams_aad_object_id=DANA_AAD,
        )
        f.team_member(session, "tomas.ribeiro@closeloop.example", name="Tomás Ribeiro")
        f.team_member(
            session,
            "rachel.kim@closeloop.example",
            name="Rachel Kim",
            role=TeamRole.MANAGER,
            slack_user_id="U0BOSS",
        )
        f.team_member(session, "gone@closeloop.example", name="Gina Gone", active=False)


def _router(db: Database) -> Router:
    config = Config()
    return router_for(db, config, now=NOW)


@pytest.mark.parametrize(
    "text",
    [
        "Dana",
        "dana",
        "@dana",
        "DANA WHITFIELD",
        "@Dana Whitfield",
        "dana.whitfield",
        "@dana.whitfield",
        "Dana.Whitfield@closeloop.example",
        "U0DANA",
        DANA_AAD.lower(),
        "whitfield",
    ],
)
def test_a_team_member_is_found_however_people_name_her(db: Database, text: str) -> None:
    _team(db)
    with db.reading() as session:
        assert [m.name for m in find_members(session, text)] == ["Dana Whitfield"]


def test_accents_do_not_matter_and_leavers_are_not_found(db: Database) -> None:
    _team(db)
    with db.reading() as session:
        assert [m.name for m in find_members(session, "tomas")] == ["Tomás Ribeiro"]
        assert find_members(session, "gina") == ()
        assert find_members(session, "nobody") == ()


def test_a_shared_first_name_gives_every_candidate(db: Database) -> None:
    _team(db)
    with db.writing() as session:
        f.team_member(session, "dana.lee@closeloop.example", name="Dana Lee")
    with db.reading() as session:
        assert [m.name for m in find_members(session, "@dana")] == ["Dana Lee", "Dana Whitfield"]
        # The exact full name is one person, even though the first name is shared.
        assert [m.name for m in find_members(session, "dana lee")] == ["Dana Lee"]


async def _ask(router: Router, text: str, platform: Platform = Platform.CONSOLE) -> Reply:
    actor = Actor(platform, user_id="U0BOSS")
    return await router.handle(CommandRequest.parse(text, actor, conversation="C0TEAM"))


@pytest.mark.parametrize(
    "owner", ["@dana", "Dana", "<@U0DANA|dana>", "<@U0DANA>", "dana.whitfield@closeloop.example"]
)
async def test_a_digest_for_dana_is_found_by_her_name(db: Database, owner: str) -> None:
    _team(db)
    reply = await _ask(_router(db), f"digest preview owner={owner}")
    assert "Dana Whitfield" in reply.heading


async def test_a_digest_subscription_for_owner_at_dana(db: Database) -> None:
    _team(db)
    reply = await _ask(
        _router(db), "digest subscribe daily 08:30 owner=@dana", platform=Platform.SLACK
    )
    assert reply.heading == "Digest #1 scheduled"
    assert "Dana Whitfield" in reply.paragraphs[0]


async def test_an_ambiguous_owner_lists_the_candidates(db: Database) -> None:
    _team(db)
    with db.writing() as session:
        f.team_member(session, "dana.lee@closeloop.example", name="Dana Lee")
    reply = await _ask(_router(db), "digest preview owner=@dana")
    assert reply.heading == "Which dana? 2 people on the CS team match"
    assert [row[0] for row in reply.tables[0].rows] == ["Dana Lee", "Dana Whitfield"]
    unknown = await _ask(_router(db), "digest preview owner=@zed")
    assert unknown.heading == "I can't find “@zed” on the CS team"


async def test_a_weekly_preview_needs_no_day(db: Database) -> None:
    _team(db)
    router = _router(db)
    weekly = await _ask(router, "digest preview weekly")
    assert weekly.heading.startswith("Weekly digest")
    assert (await _ask(router, "digest preview weekly mon")).heading.startswith("Weekly digest")
    dana = await _ask(router, "digest preview weekly owner=@dana")
    assert dana.heading.startswith("Weekly digest") and "Dana Whitfield" in dana.heading


async def test_a_follow_up_is_reassigned_to_a_named_member(db: Database) -> None:
    _team(db)
    with db.writing() as session:
        f.account(session)
        intake = record_answer(
            session,
            SurveyAnswer("generic", "r-1", SurveyKind.NPS, 2, NOW, "Broken", "jane@acme.example"),
            config=Config(),
            fallback=Target("slack", "C0ALERTS"),
            now=NOW,
        )
    assert intake.follow_up_id is not None
    press = ActionRequest(
        REASSIGN,
        {"follow_up": str(intake.follow_up_id), "owner": "@Dana"},
        Actor(Platform.SLACK, user_id="U0BOSS"),
    )
    reply = await _router(db).act(press)
    assert reply.heading == "Done: reassigned (owner: Dana Whitfield)"
    with db.reading() as session:
        follow_up = session.get_one(FollowUp, intake.follow_up_id)
        assert follow_up.owner_id == find_members(session, "U0DANA")[0].id
