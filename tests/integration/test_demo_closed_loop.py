"""The demo's closed loop: what a new user sees in `followups`, `nps` and App Home on day one.

`closeloop seed` gives the demo team a follow-up history. These tests check it the way a
CS leader trying the demo would: every state a real team's loop is in exists, the SLA
numbers are neither perfect nor empty, Acme's detractor waits with its CSM, and the
follow-ups are what the survey webhook's intake would have opened.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from bot.formatting import percent
from bot.inbound import Actor, CommandRequest, Platform
from bot.messages.home import home
from bot.reply import Reply
from bot.router import Router
from metrics_core.config import Config
from metrics_core.delivery.targets import Target
from metrics_core.followups.closed_loop import closed_loop
from metrics_core.followups.sla import SlaRun, run_sla
from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import SurveyKind
from metrics_core.surveys.scores import band_of
from metrics_core.synthetic import seed_database
from metrics_core.synthetic.followups import history_start
from metrics_core.synthetic.window import Window
from tests.routing import router_for

AS_OF = dt.date(2026, 11, 20)
DAYS = 120
# Seeded time ends at the start of the as-of day; the user looks a few hours later.
SEEDED_UNTIL = dt.datetime.combine(AS_OF, dt.time(), tzinfo=dt.UTC)
NOW = SEEDED_UNTIL + dt.timedelta(hours=3)
CONFIG = Config()
SLA = pd.Timedelta(hours=CONFIG.follow_ups.escalate_after_hours)
DANA = Actor(Platform.SLACK, user_id="U0CSM1")  # Acme's CSM
STAMPS = ("created_at", "claimed_at", "closed_at", "reminded_at", "escalated_at", "received_at")


def _seed(engine: Engine, seed: int = 7) -> None:
    seed_database(engine, accounts=60, days=DAYS, seed=seed, as_of=AS_OF)


def _follow_ups(engine: Engine) -> pd.DataFrame:
    """Every follow-up with its answer, as someone checking the data would list them."""
    frame = pd.read_sql(
        text(
            "SELECT f.*, r.provider_response_id, r.kind, r.score, r.received_at, "
            "r.account_id AS answer_account_id, o.slack_user_id AS owner_slack_id, "
            "a.name AS account "
            "FROM follow_ups f JOIN survey_responses r ON r.id = f.survey_response_id "
            "LEFT JOIN team_members o ON o.id = f.owner_id "
            "LEFT JOIN accounts a ON a.id = f.account_id"
        ),
        engine,
    )
    for column in STAMPS:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _answers(engine: Engine) -> pd.DataFrame:
    frame = pd.read_sql(text("SELECT id, kind, score, received_at FROM survey_responses"), engine)
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
    frame["band"] = [
        band_of(SurveyKind(kind), int(score)).value
        for kind, score in zip(frame["kind"], frame["score"], strict=True)
    ]
    return frame


def test_the_demo_team_has_follow_ups_in_every_state(db: Database) -> None:
    _seed(db.engine)
    loops = _follow_ups(db.engine)
    assert len(loops) > 0, "seeding opened no follow-up"
    detractors = loops[loops["band"] == "detractor"]
    unclaimed = detractors[detractors["owner_id"].isna()]
    assert (unclaimed["status"] == "open").all()

    fresh = unclaimed[unclaimed["created_at"] > SEEDED_UNTIL - SLA]
    assert len(fresh) >= 1, "no answer waits for its claim inside the SLA"
    overdue = unclaimed[unclaimed["created_at"] <= SEEDED_UNTIL - SLA]
    assert len(overdue) >= 1, "no follow-up is open past its SLA"
    assert overdue["reminded_at"].notna().all()
    assert overdue["escalated_at"].notna().all()
    assert (detractors["claimed_at"] > detractors["escalated_at"]).any(), "none claimed late"
    in_progress = loops[(loops["status"] == "claimed") & loops["closed_at"].isna()]
    assert len(in_progress) >= 1

    closed = detractors[detractors["status"] == "closed"]
    assert set(closed["outcome"]) == set(CONFIG.follow_ups.outcomes)
    assert closed["note"].notna().all()
    assert closed["closed_by_id"].notna().all()
    promoters = loops[loops["band"] == "promoter"]
    thanked = promoters[promoters["status"] == "closed"]
    assert len(thanked) >= 1, "no promoter was thanked"
    assert thanked["note"].str.contains("Thank", case=False).all()

    # Nothing happened after seeded time ends, and nothing before its answer arrived.
    for column in ("claimed_at", "closed_at", "reminded_at", "escalated_at"):
        assert (loops[column].dropna() < SEEDED_UNTIL).all(), column
        done = loops[loops[column].notna()]
        assert (done[column] >= done["created_at"]).all(), column

    acme = loops[(loops["account"] == "Acme Corp") & (loops["kind"] == "nps")]
    latest = acme.sort_values("created_at").iloc[-1]
    assert latest["score"] == 4
    assert latest["status"] == "claimed"
    assert latest["owner_slack_id"] == "U0CSM1"
    assert pd.isna(latest["closed_at"])


@pytest.fixture
def router(db: Database) -> Router:
    _seed(db.engine)
    return router_for(db, CONFIG, today=AS_OF, now=NOW)


async def _ask(router: Router, command: str, actor: Actor = DANA) -> Reply:
    return await router.handle(CommandRequest.parse(command, actor))


def _rows(reply: Reply) -> list[tuple[str, ...]]:
    assert reply.tables, f"{reply.heading}: {reply.paragraphs}"
    return list(reply.tables[0].rows)


def _hours(value: str) -> float:
    """`4.2 h (n = 33)` or `2.4 d (n = 29)` in hours."""
    match = re.match(r"([\d.]+) ([hd])", value)
    assert match, value
    return float(match.group(1)) * (24 if match.group(2) == "d" else 1)


async def test_the_closed_loop_shows_in_the_answers(router: Router, db: Database) -> None:
    everyone = _rows(await _ask(router, "followups open"))
    assert {"open", "claimed"} <= {row[2] for row in everyone}
    mine = _rows(await _ask(router, "followups mine"))
    assert ("Acme Corp", "NPS 4", "claimed", "Dana Whitfield") in [row[:4] for row in mine]

    sla = await _ask(router, "followups sla")
    facts = {fact.label: fact.value for fact in sla.facts}
    assert _hours(facts["Median time to claim"]) > 0
    assert _hours(facts["Median time to close"]) > _hours(facts["Median time to claim"])
    start = SEEDED_UNTIL - dt.timedelta(days=29)
    with db.reading() as session:
        loop = closed_loop(
            session, start, SEEDED_UNTIL + dt.timedelta(days=1), CONFIG.follow_ups, now=NOW
        )
    assert loop.total.share is not None
    assert 0 < loop.total.share < 1
    assert loop.total.n >= 3
    assert sla.metrics[0].value == percent(loop.total.share, 0)
    assert len(loop.by_csm) >= 3, "every CSM the same is no team"

    nps = await _ask(router, "nps")
    line = {fact.label: fact.value for fact in nps.facts}["Closed loop"]
    assert "contacted within 24 h" in line, line

    replies = await home(DANA, router.context)
    waiting = [reply for reply in replies if reply.heading == "Your open follow-ups"]
    assert ("Acme Corp", "NPS 4") in [row[:2] for row in _rows(waiting[0])]


def test_follow_ups_are_what_the_webhook_intake_opens(db: Database) -> None:
    _seed(db.engine)
    loops = _follow_ups(db.engine)
    answers = _answers(db.engine)

    # Opened as the intake opens one: when the answer arrived, on its account, in its band.
    assert (loops["created_at"] == loops["received_at"]).all()
    assert (loops["account_id"] == loops["answer_account_id"]).all()
    bands = [
        band_of(SurveyKind(kind), int(score)).value
        for kind, score in zip(loops["kind"], loops["score"], strict=True)
    ]
    assert loops["band"].tolist() == bands

    # Every detractor of the history has one (the SLA), NPS promoters too (the demo team
    # routes them to their CSM), passives none; answers before the history none.
    start = pd.Timestamp(history_start(Window(as_of=AS_OF, days=DAYS)))
    recent = answers[answers["received_at"] >= start]
    followed = set(loops["survey_response_id"])
    assert set(recent[recent["band"] == "detractor"]["id"]) <= followed
    promoters = recent[(recent["band"] == "promoter") & (recent["kind"] == "nps")]
    assert set(promoters["id"]) <= followed
    assert not set(recent[recent["band"] == "passive"]["id"]) & followed
    assert (loops["received_at"] >= start).all()

    # The history's alerts, reminders and escalations were for moments long gone: nothing
    # about them waits in the outbox for a chat platform to be connected.
    with db.engine.connect() as connection:
        owed = connection.execute(
            text("SELECT count(*) FROM outbox WHERE follow_up_id IS NOT NULL")
        ).scalar_one()
    assert owed == 0
    # The SLA checks ran up to where seeded time ends: the service's first finds nothing.
    with db.writing() as session:
        first_check = run_sla(
            session, CONFIG, SEEDED_UNTIL - dt.timedelta(seconds=1), fallback=Target("slack", "C1")
        )
    assert first_check == SlaRun(reminded=0, escalated=0)


def _fresh_engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    return engine


def _states(engine: Engine) -> list[tuple[object, ...]]:
    loops = _follow_ups(engine)
    columns = ["provider_response_id", "status", "owner_id", "outcome", "note", *STAMPS]
    return sorted(map(tuple, loops[columns].astype(str).to_numpy().tolist()))


def test_the_same_seed_gives_the_same_closed_loop(tmp_path: Path) -> None:
    engines = [_fresh_engine(tmp_path / f"{n}.db") for n in range(3)]
    try:
        for engine, seed in zip(engines, (5, 5, 6), strict=True):
            _seed(engine, seed)
        first, again, other = (_states(engine) for engine in engines)
        assert len(first) > 10
        assert first == again
        assert first != other
    finally:
        for engine in engines:
            engine.dispose()


def test_seeding_again_after_clearing_gives_the_same_follow_ups(db: Database) -> None:
    """What `closeloop seed --replace` does: the same rows, ids included, as the first time."""
    _seed(db.engine)
    first = pd.read_sql(text("SELECT * FROM follow_ups ORDER BY id"), db.engine)
    migrate.clear_data(db.engine)
    _seed(db.engine)
    again = pd.read_sql(text("SELECT * FROM follow_ups ORDER BY id"), db.engine)
    assert len(first) > 10
    pd.testing.assert_frame_equal(first, again)


def test_a_seed_that_fails_while_following_up_writes_nothing(db: Database) -> None:
    def fail_at_the_end(stage: str, rows: int) -> None:
        if stage == "follow_ups":
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        seed_database(
            db.engine, accounts=60, days=DAYS, seed=7, as_of=AS_OF, progress=fail_at_the_end
        )
    with db.engine.connect() as connection:
        for table in ("accounts", "survey_responses", "follow_ups", "outbox"):
            count = connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            assert count == 0, table
