"""A number whose input nobody gave says what is missing instead of computing from zero.

An imported data set often lacks what the demo has: no licensed seat counts in the CRM
export. Each answer that needs one names it and says how to provide it.
"""

from __future__ import annotations

import datetime as dt

from bot.actions import DETAILS
from bot.inbound import ActionRequest, Actor, CommandRequest, Platform
from bot.reply import Reply
from bot.router import Router
from metrics_core.config import Config
from metrics_core.store.db import Database
from tests import factories as f
from tests.routing import router_for

TODAY = dt.date(2026, 11, 20)
ME = Actor(Platform.CONSOLE, user_id="U1")


def _router(db: Database) -> Router:
    config = Config()
    return router_for(db, config, today=TODAY)


def _why(reply: Reply, component: str) -> str:
    rows = {row[0]: row[-1] for row in reply.tables[0].rows}
    return rows[component]


async def test_usage_without_a_seat_count_says_the_seats_are_missing(db: Database) -> None:
    with db.writing() as session:
        acme = f.account(session, seats=0)
        f.daily_usage(session, acme.id, TODAY, 60, active_users=40)
    router = _router(db)
    health = await router.handle(CommandRequest.parse("health acme", ME))
    why = _why(health, "Usage")
    assert "of 0 seats" not in why
    assert why.startswith("40 active users on an average day")
    assert "no seat count recorded" in why
    assert "`seats`" in why and "closeloop import accounts" in why
    details = await router.act(ActionRequest(DETAILS, {"account": "ACME"}, ME))
    assert {fact.label: fact.value for fact in details.facts}["Seats"] == "not recorded"


async def test_usage_with_seats_is_read_against_them(db: Database) -> None:
    with db.writing() as session:
        acme = f.account(session, seats=100)
        f.daily_usage(session, acme.id, TODAY, 60, active_users=40)
    router = _router(db)
    health = await router.handle(CommandRequest.parse("health acme", ME))
    assert _why(health, "Usage").startswith("40 of 100 seats active on an average day")
    details = await router.act(ActionRequest(DETAILS, {"account": "ACME"}, ME))
    assert {fact.label: fact.value for fact in details.facts}["Seats"] == "100"
