"""Closed-loop metrics against numbers worked by hand, on SQLite and PostgreSQL.

The book below has seven detractor follow-ups created in June 2026 with known times
(SLA 24 h, clock read at NOW), plus noise that must be left out: a passive, one created
before June, and an answer matched to no account that opened no follow-up.

    id  account     owner  created        claimed   closed    outcome at NOW
    F1  Acme (Ent)  Ann    06-01 00:00    +2 h      +10 h     within
    F2  Acme (Ent)  Ann    06-03 10:00    +30 h     +40 h     missed (late)
    F3  Beta (SMB)  Bob    06-04 10:00    +4 h      —         within
    F4  Beta (SMB)  Bob    06-05 10:00    +24 h     +50 h     within (exactly on the SLA)
    F5  unmatched   —      06-06 10:00    —         —         missed (open past SLA)
    F6  unmatched   —      NOW − 24 h     —         —         pending (SLA runs out at NOW)
    F7  Gamma (MM)  Bob    06-10 10:00    —         +6 h      within (closed without claim)

    total: 4 within of n = 6 (67 %), 1 pending, 1 open past SLA;
    claim hours 2, 30, 4, 24, 6 → median 6; close hours 10, 40, 50, 6 → median 25.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from dataclasses import dataclass

import pandas as pd
import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from bot.args import Period
from bot.handlers.nps import nps_reply
from bot.inbound import Actor, CommandRequest, Platform
from bot.reply import Reply
from bot.router import Router
from metrics_core.config import Config, FollowUps
from metrics_core.followups.closed_loop import (
    NO_FOLLOW_UPS,
    ClosedLoop,
    LoopStats,
    closed_loop,
    unmatched_queue,
)
from metrics_core.store.db import Database
from metrics_core.store.frames import SURVEY_COLUMNS
from metrics_core.store.models import (
    Account,
    AnswerBand,
    FollowUp,
    FollowUpStatus,
    Segment,
    SurveyKind,
    SurveyResponse,
)
from metrics_core.surveys.report import survey_scores
from tests import factories as f
from tests.routing import router_for

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 20, 12, tzinfo=UTC)
JUNE = (dt.datetime(2026, 6, 1, tzinfo=UTC), dt.datetime(2026, 7, 1, tzinfo=UTC))
H = dt.timedelta(hours=1)
ANN = Actor(Platform.CONSOLE, user_id="U0ANN")


@dataclass(frozen=True)
class Book:
    ann: int
    bob: int
    acme: int
    f4_created: dt.datetime
    f6_created: dt.datetime


def _answer(
    session: Session,
    key: str,
    *,
    account: Account | None,
    created: dt.datetime | None,
    score: int = 2,
    submitted: dt.datetime | None = None,
    kind: SurveyKind = SurveyKind.NPS,
    band: AnswerBand = AnswerBand.DETRACTOR,
    owner: int | None = None,
    claimed: dt.timedelta | None = None,
    closed: dt.timedelta | None = None,
    respondent: tuple[str | None, str | None] = (None, None),
    comment: str | None = None,
) -> None:
    """A survey answer and, when `created` is given, the follow-up it opened."""
    when = submitted or created
    assert when is not None
    response = SurveyResponse(
        provider="test",
        provider_response_id=key,
        kind=kind,
        score=score,
        comment=comment,
        respondent_name=respondent[0],
        respondent_email=respondent[1],
        account_id=account.id if account else None,
        submitted_at=when,
        received_at=when,
        updated_at=when,
    )
    session.add(response)
    session.flush()
    if created is None:
        return
    status = (
        FollowUpStatus.CLOSED
        if closed
        else FollowUpStatus.CLAIMED
        if claimed
        else FollowUpStatus.OPEN
    )
    session.add(
        FollowUp(
            survey_response_id=response.id,
            account_id=response.account_id,
            status=status,
            band=band,
            owner_id=owner,
            created_at=created,
            claimed_at=created + claimed if claimed is not None else None,
            closed_at=created + closed if closed is not None else None,
        )
    )


def _build(db: Database) -> Book:
    june = dt.datetime(2026, 6, 1, tzinfo=UTC)
    with db.writing() as session:
        ann = f.team_member(session, "ann@closeloop.example", name="Ann", slack_user_id="U0ANN")
        bob = f.team_member(session, "bob@closeloop.example", name="Bob")
        acme = f.account(session, owner=ann)
        beta = f.account(session, "BETA", "Beta Ltd", segment=Segment.SMB, domain="beta.example")
        gamma = f.account(
            session, "GAMMA", "Gamma Inc", segment=Segment.MID_MARKET, domain="gamma.example"
        )
        day = dt.timedelta(days=1)
        ten = 10 * H
        _answer(
            session, "F1", account=acme, created=june, owner=ann.id, claimed=2 * H, closed=10 * H
        )
        _answer(
            session,
            "F2",
            account=acme,
            created=june + 2 * day + ten,
            owner=ann.id,
            claimed=30 * H,
            closed=40 * H,
        )
        _answer(
            session, "F3", account=beta, created=june + 3 * day + ten, owner=bob.id, claimed=4 * H
        )
        f4_created = june + 4 * day + ten
        _answer(
            session,
            "F4",
            account=beta,
            created=f4_created,
            owner=bob.id,
            claimed=24 * H,
            closed=50 * H,
        )
        _answer(
            session,
            "F5",
            account=None,
            created=june + 5 * day + ten,
            score=0,
            respondent=("Pat Doe", "pat@unknown.example"),
            comment="Nobody ever answers",
        )
        f6_created = NOW - 24 * H
        _answer(
            session,
            "F6",
            account=None,
            created=f6_created,
            score=3,
            kind=SurveyKind.NPS,
            respondent=(None, "sam@elsewhere.example"),
        )
        _answer(
            session, "F7", account=gamma, created=june + 9 * day + ten, owner=bob.id, closed=6 * H
        )
        # Noise the SLA metrics must leave out.
        _answer(
            session,
            "passive",
            account=acme,
            created=june + 6 * day,
            score=7,
            band=AnswerBand.PASSIVE,
        )
        _answer(session, "may", account=acme, created=june - day + ten)
        # Unmatched, no follow-up: only the unmatched queue sees it.
        _answer(
            session,
            "promoter",
            account=None,
            created=None,
            score=5,
            kind=SurveyKind.CSAT,
            submitted=june + 14 * day,
            respondent=("Lee", None),
            comment="Great",
        )
        return Book(ann.id, bob.id, acme.id, f4_created, f6_created)


def _loop(
    db: Database,
    *,
    start: dt.datetime = JUNE[0],
    end: dt.datetime = JUNE[1],
    config: FollowUps | None = None,
    now: dt.datetime = NOW,
    owner_id: int | None = None,
    account_ids: list[int] | None = None,
    segment: Segment | None = None,
) -> ClosedLoop:
    with db.reading() as session:
        return closed_loop(
            session,
            start,
            end,
            config or FollowUps(),
            now=now,
            owner_id=owner_id,
            account_ids=account_ids,
            segment=segment,
        )


def _numbers(stats: LoopStats) -> tuple[object, ...]:
    return (
        stats.follow_ups,
        stats.within_sla,
        stats.missed,
        stats.pending,
        stats.open_past_sla,
        stats.claimed,
        stats.closed,
        stats.median_claim_hours,
        stats.median_close_hours,
    )


@pytest.fixture
def book(db: Database) -> Book:
    return _build(db)


def test_totals_match_the_hand_computed_book(db: Database, book: Book) -> None:
    loop = _loop(db)
    assert loop.sla_hours == 24
    assert loop.bands == (AnswerBand.DETRACTOR,)
    assert _numbers(loop.total) == (7, 4, 2, 1, 1, 5, 4, 6.0, 25.0)
    assert loop.total.n == 6
    assert loop.total.share == pytest.approx(4 / 6)


def test_breakdowns_by_csm_and_segment_worst_first(db: Database, book: Book) -> None:
    loop = _loop(db)
    assert [(g.label, _numbers(g.stats)) for g in loop.by_csm] == [
        ("unclaimed", (2, 0, 1, 1, 1, 0, 0, None, None)),
        ("Ann", (2, 1, 1, 0, 0, 2, 2, 16.0, 25.0)),
        ("Bob", (3, 3, 0, 0, 0, 3, 2, 6.0, 28.0)),
    ]
    assert [(g.label, _numbers(g.stats)) for g in loop.by_segment] == [
        ("unmatched", (2, 0, 1, 1, 1, 0, 0, None, None)),
        ("Enterprise", (2, 1, 1, 0, 0, 2, 2, 16.0, 25.0)),
        ("SMB", (2, 2, 0, 0, 0, 2, 1, 14.0, 50.0)),  # 100 %, larger before smaller
        ("Mid-market", (1, 1, 0, 0, 0, 1, 1, 6.0, 6.0)),
    ]


def test_an_open_follow_up_leaves_the_denominator_only_while_its_sla_runs(
    db: Database, book: Book
) -> None:
    deadline = book.f6_created + 24 * H
    assert _loop(db, now=deadline).total.n == 6  # still claimable within SLA
    after = _loop(db, now=deadline + dt.timedelta(seconds=1)).total
    assert (after.n, after.within_sla, after.pending, after.open_past_sla) == (7, 4, 0, 2)
    assert after.share == pytest.approx(4 / 7)


def test_scopes_narrow_the_same_definition(db: Database, book: Book) -> None:
    everyone = _loop(db)
    ann = _loop(db, owner_id=book.ann)
    assert _numbers(ann.total) == _numbers(
        next(g for g in everyone.by_csm if g.label == "Ann").stats
    )
    assert _numbers(_loop(db, account_ids=[book.acme]).total) == (2, 1, 1, 0, 0, 2, 2, 16.0, 25.0)
    smb = _loop(db, segment=Segment.SMB)
    assert _numbers(smb.total) == (2, 2, 0, 0, 0, 2, 1, 14.0, 50.0)
    assert [g.label for g in smb.by_segment] == ["SMB"]


def test_the_period_is_half_open_on_creation_time(db: Database, book: Book) -> None:
    # F1 is created exactly at the start (in); F4 exactly at this end (out).
    early = _loop(db, end=book.f4_created).total
    assert (early.follow_ups, early.within_sla, early.missed) == (3, 2, 1)
    may = _loop(db, start=JUNE[0] - dt.timedelta(days=30), end=JUNE[0]).total
    assert (may.follow_ups, may.open_past_sla) == (1, 1)


def test_the_sla_is_the_escalation_time_and_bands_come_from_config(
    db: Database, book: Book
) -> None:
    config = FollowUps(
        sla_bands=[AnswerBand.DETRACTOR, AnswerBand.PASSIVE],
        remind_after_hours=4,
        escalate_after_hours=36,
    )
    loop = _loop(db, config=config)
    # F2 (30 h) is now within; the passive joins, open past 36 h; F6 is 24 h old, pending.
    assert (loop.total.follow_ups, loop.total.within_sla, loop.total.missed) == (8, 5, 2)
    assert (loop.total.pending, loop.total.open_past_sla) == (1, 2)
    assert loop.sla_hours == 36


def test_no_follow_ups_gives_empty_numbers_not_errors(db: Database) -> None:
    loop = _loop(db)
    assert _numbers(loop.total) == (0, 0, 0, 0, 0, 0, 0, None, None)
    assert loop.total.share is None
    assert loop.by_csm == ()
    assert loop.by_segment == ()


def test_two_csms_with_one_name_stay_two_lines(db: Database, book: Book) -> None:
    with db.writing() as session:
        other = f.team_member(session, "ann2@closeloop.example", name="Ann")
        acme = session.get_one(Account, book.acme)
        _answer(session, "F8", account=acme, created=JUNE[0] + 2 * H, owner=other.id, claimed=1 * H)
    labels = {g.label for g in _loop(db).by_csm}
    assert labels == {"unclaimed", "Bob", f"Ann #{book.ann}", f"Ann #{other.id}"}


def test_unmatched_queue_newest_first_with_follow_up_status(db: Database, book: Book) -> None:
    with db.reading() as session:
        queue = unmatched_queue(session)
        short = unmatched_queue(session, limit=2)
    rows = [
        (
            a.respondent_name,
            a.respondent_email,
            a.kind,
            a.score,
            a.comment,
            a.follow_up_status,
            a.owner,
        )
        for a in queue.answers
    ]
    assert rows == [
        (None, "sam@elsewhere.example", SurveyKind.NPS, 3, None, FollowUpStatus.OPEN, None),
        ("Lee", None, SurveyKind.CSAT, 5, "Great", None, None),
        (
            "Pat Doe",
            "pat@unknown.example",
            SurveyKind.NPS,
            0,
            "Nobody ever answers",
            FollowUpStatus.OPEN,
            None,
        ),
    ]
    assert queue.total == 3
    assert [a.submitted_at for a in queue.answers] == sorted(
        (a.submitted_at for a in queue.answers), reverse=True
    )
    assert (short.total, len(short.answers)) == (3, 2)


def test_ten_thousand_follow_ups_in_well_under_a_second(db: Database) -> None:
    """Also checks the totals against a plain loop over the same rows."""
    draw = random.Random(7)
    start = dt.datetime(2026, 5, 1, tzinfo=UTC)
    rows: list[dict[str, object]] = []
    waits: list[tuple[dt.datetime, dt.datetime | None]] = []  # (created, claimed), the oracle's
    with db.writing() as session:
        members = [
            f.team_member(session, f"csm{i}@closeloop.example", name=f"CSM {i}") for i in range(20)
        ]
        accounts = [
            f.account(
                session,
                f"A{i}",
                f"Account {i}",
                segment=list(Segment)[i % 3],
                domain=f"a{i}.example",
            )
            for i in range(100)
        ]
        responses: list[dict[str, object]] = []
        for i in range(10_000):
            created = start + dt.timedelta(minutes=draw.randrange(60 * 24 * 30))
            claimed = created + draw.expovariate(1 / 12) * H if draw.random() < 0.8 else None
            closed = (
                claimed + draw.expovariate(1 / 20) * H if claimed and draw.random() < 0.6 else None
            )
            account = draw.choice([None, *accounts])
            waits.append((created, claimed))
            responses.append(
                {
                    "id": i + 1,
                    "provider": "bulk",
                    "provider_response_id": str(i),
                    "kind": SurveyKind.NPS,
                    "score": 2,
                    "account_id": account.id if account else None,
                    "submitted_at": created,
                    "received_at": created,
                    "updated_at": created,
                }
            )
            rows.append(
                {
                    "survey_response_id": i + 1,
                    "account_id": account.id if account else None,
                    "status": FollowUpStatus.CLOSED
                    if closed
                    else FollowUpStatus.CLAIMED
                    if claimed
                    else FollowUpStatus.OPEN,
                    "owner_id": draw.choice(members).id if claimed else None,
                    "band": AnswerBand.DETRACTOR,
                    "created_at": created,
                    "claimed_at": claimed,
                    "closed_at": closed,
                }
            )
        session.execute(insert(SurveyResponse), responses)
        session.execute(insert(FollowUp), rows)
    now = start + dt.timedelta(days=29)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        loop = _loop(db, start=start, end=start + dt.timedelta(days=30), now=now)
        timings.append(time.perf_counter() - started)
    # Typically 0.1–0.25 s; the bound catches a per-row query or a Python loop per group.
    assert statistics.median(timings) < 1.0
    sla = 24 * H
    claim_times = [claimed - created for created, claimed in waits if claimed is not None]
    within = sum(waited <= sla for waited in claim_times)
    open_created = [created for created, claimed in waits if claimed is None]
    past = sum(created + sla < now for created in open_created)
    assert loop.total.follow_ups == 10_000
    assert loop.total.within_sla == within
    assert loop.total.missed == len(claim_times) - within + past
    assert loop.total.pending == len(open_created) - past
    assert loop.total.median_claim_hours == pytest.approx(
        statistics.median(waited / H for waited in claim_times)
    )
    assert sum(g.stats.follow_ups for g in loop.by_csm) == 10_000
    assert len(loop.by_csm) == 21  # twenty CSMs and "unclaimed"


# --- the commands ---------------------------------------------------------------------------


@pytest.fixture
def router(db: Database, book: Book) -> Router:
    config = Config()
    return router_for(db, config, now=NOW)


async def ask(router: Router, text: str, actor: Actor = ANN) -> Reply:
    return await router.handle(CommandRequest.parse(text, actor))


def facts(reply: Reply) -> dict[str, str]:
    return {fact.label: fact.value for fact in reply.facts}


def table(reply: Reply, title: str | None) -> list[tuple[str, ...]]:
    found = [t for t in reply.tables if t.title == title]
    assert found, f"no table {title!r} in {[t.title for t in reply.tables]}"
    return list(found[0].rows)


async def test_followups_sla_shows_the_hand_computed_numbers(router: Router) -> None:
    reply = await ask(router, "followups sla 2026-06")
    assert reply.heading == "Closed loop — all customers, June 2026"
    assert reply.metrics[0].label == "Contacted within 24 h"
    assert reply.metrics[0].value == "67 %"
    assert reply.metrics[0].detail == "4 of 6 detractors; 1 still within SLA, not counted yet"
    assert facts(reply) == {
        "Median time to claim": "6.0 h (n = 5)",
        "Median time to close": "25.0 h (n = 4)",
        "Open past SLA": "1",
    }
    assert table(reply, "By CSM (worst first)") == [
        ("unclaimed", "0 %", "1", "—", "—", "1"),
        ("Ann", "50 %", "2", "16.0 h", "25.0 h", "0"),
        ("Bob", "100 %", "3", "6.0 h", "28.0 h", "0"),
    ]
    assert table(reply, "By segment (worst first)") == [
        ("unmatched", "0 %", "1", "—", "—", "1"),
        ("Enterprise", "50 %", "2", "16.0 h", "25.0 h", "0"),
        ("SMB", "100 %", "2", "14.0 h", "2.1 d", "0"),
        ("Mid-market", "100 %", "1", "6.0 h", "6.0 h", "0"),
    ]


async def test_followups_sla_defaults_to_the_last_30_days_and_scopes(router: Router) -> None:
    default = await ask(router, "followups sla")
    # 22 May – 20 June: June's seven plus the open one from 31 May (missed).
    assert default.heading == "Closed loop — all customers, last 30 days"
    assert (default.metrics[0].value, default.metrics[0].detail) == (
        "57 %",
        "4 of 7 detractors; 1 still within SLA, not counted yet",
    )
    smb = await ask(router, "followups sla smb 2026-06")
    assert smb.heading == "Closed loop — SMB, June 2026"
    assert (smb.metrics[0].value, smb.metrics[0].detail) == ("100 %", "2 of 2 detractors")
    mine = await ask(router, "followups sla mine 2026-06")
    assert mine.heading == "Closed loop — Ann’s follow-ups, June 2026"
    assert (mine.metrics[0].value, mine.metrics[0].detail) == ("50 %", "1 of 2 detractors")
    stranger = await ask(router, "followups sla mine", Actor(Platform.CONSOLE, user_id="UNOBODY"))
    assert stranger.heading == "You are not on the CS team yet"


@pytest.mark.parametrize(
    ("text", "heading"),
    [
        ("followups sla soon", "I don't understand “soon”"),
        ("followups sla 30d 90d", "I don't understand “90d”"),
        ("followups sla mine mine", "I don't understand “mine”"),
        ("followups everything", "“everything” is not a choice"),
    ],
)
async def test_bad_followups_arguments_explain_the_usage(
    router: Router, text: str, heading: str
) -> None:
    reply = await ask(router, text)
    assert reply.heading == heading
    assert (
        "followups [mine | open | unmatched | sla [period] [segment] [mine]]" in reply.paragraphs[0]
    )


async def test_followups_unmatched_lists_the_queue(router: Router) -> None:
    reply = await ask(router, "followups unmatched")
    assert reply.heading == "Unmatched answers"
    assert reply.paragraphs[0].startswith("3 answers match no account, newest first.")
    assert [row[:4] for row in table(reply, None)] == [
        ("2026-06-19 12:00", "sam@elsewhere.example", "NPS 3", "open"),
        ("2026-06-15 00:00", "Lee", "CSAT 5", "none"),
        ("2026-06-06 10:00", "Pat Doe <pat@unknown.example>", "NPS 0", "open"),
    ]
    assert table(reply, None)[2][4] == "Nobody ever answers"


async def test_nps_carries_the_closed_loop_line_for_its_scope(router: Router) -> None:
    acme = await ask(router, "nps acme 2026-06")
    assert acme.heading == "NPS — Acme Corp, June 2026"
    assert facts(acme)["Closed loop"] == (
        "50 % of detractors contacted within 24 h (n = 2), median claim 16.0 h"
    )
    assert "CSAT" in facts(acme)  # the existing output is still there
    smb = await ask(router, "nps smb 2026-06")
    assert facts(smb)["Closed loop"] == (
        "100 % of detractors contacted within 24 h (n = 2), median claim 14.0 h"
    )


async def test_nps_for_all_customers_includes_the_unmatched_follow_ups(router: Router) -> None:
    everyone = await ask(router, "nps 2026-06")
    assert everyone.heading == "NPS — all customers, June 2026"
    assert facts(everyone)["Closed loop"] == (
        "67 % of detractors contacted within 24 h (n = 6), median claim 6.0 h, 1 open past SLA"
    )


def test_nps_reply_names_unmatched_and_anonymous_detractors() -> None:
    """pandas stores a missing string as NaN, which is truthy: it must not print as "nan"."""
    when = pd.Timestamp("2026-06-10 09:00", tz="UTC")
    frame = pd.DataFrame(
        [
            (1, "nps", 2, "Slow", when, None, None, None, None, None, None),
            (2, "nps", 9, None, when, "Jo", "jo@acme.example", 1, "Acme Corp", "Enterprise", "Ann"),
        ],
        columns=list(SURVEY_COLUMNS),
    )
    empty = ClosedLoop(24, (AnswerBand.DETRACTOR,), NO_FOLLOW_UPS, (), ())
    june = Period(dt.date(2026, 6, 1), dt.date(2026, 7, 1), "June 2026")
    scores = survey_scores(frame, start=june.start, end=june.end, loop=empty, by_segment=True)
    reply = nps_reply("all customers", june, scores)
    assert reply.paragraphs == (
        "Latest detractors:",
        "“Slow” — anonymous, unmatched (2/10, 2026-06-10)",
    )
    assert facts(reply)["Closed loop"] == "no detractors to follow up in this period"


@pytest.fixture
def empty_router(db: Database) -> Router:
    config = Config()
    return router_for(db, config, now=NOW)


async def test_an_empty_book_answers_every_new_form(empty_router: Router) -> None:
    sla = await ask(empty_router, "followups sla")
    assert sla.heading == "Closed loop — all customers, last 30 days"
    assert sla.paragraphs == ("No detractors to follow up in this period.",)
    unmatched = await ask(empty_router, "followups unmatched")
    assert unmatched.paragraphs == ("Every answer matches an account.",)
