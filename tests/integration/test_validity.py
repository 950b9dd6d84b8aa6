"""`health validity` and `nps insights` on constructed histories with known answers, on
SQLite and PostgreSQL.

Health validity: twelve Enterprise customers with a year of usage from 1 Jan 2025 and one
contract each that ended on 31 Dec 2025. At the checkpoint 64 days before that renewal
(28 Oct 2025, the latest 30-day cut-off from 1 Jan at least 60 days before it), four had no
usage and used no feature (health 35 with the default weights: red) and eight used every
seat and feature (health 89: green). Three red and one green churned:

- churn by band: red 3 of 4, green 1 of 8, overall 4 of 12; lift of red = 0.75 / (1/3) = 2.25
- AUC: of the 4 × 8 churned–renewed pairs, the 3 red churners sit below the 7 green renewals
  (21 pairs) and level with the red one (3 halves), the green churner level with the 7 green
  renewals (7 halves) and above the red one (0): (21 + 1.5 + 3.5) / 32 = 0.8125

An SMB account renewed on 15 Mar 2025, too early for a checkpoint 60 days ahead.

"This score looks wrong" stores the health Closeloop computes that day, refuses accounts
that are gone or churned, and keeps the reason trimmed.

NPS insights: accounts whose contract ended on 31 Dec 2025, with the latest NPS answer
given 30–365 days before: 10 promoters (6 expanded, 1 contracted, 3 flat), 10 detractors
(4 churned, 1 expanded, 2 contracted, 3 flat), 2 passives (1 churned, 1 flat), and one
account whose only answer is older than a year.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.handlers.validity import validity_reply
from metrics_core.config import Config
from metrics_core.health.cache import HealthCache
from metrics_core.health.feedback import Direction, FeedbackResult, Stored, record_feedback
from metrics_core.health.scorecard import Band, account_health
from metrics_core.health.validity import MIN_EACH_FOR_WEIGHTS, health_validity
from metrics_core.revenue.arr import Term
from metrics_core.revenue.outcomes import RenewalOutcome
from metrics_core.store.db import Database
from metrics_core.store.models import AnswerBand, ScoreFeedback, Segment
from metrics_core.surveys.insights import Verdict, nps_insights
from tests import factories as f

AS_OF = dt.date(2026, 3, 1)
TERM_START, TERM_END = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
NEXT_START, NEXT_END = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
ARR = 10_000.0


def _terms(key: str, *, churned: bool, next_arr: float = ARR) -> list[Term]:
    first = Term(f"{key}-1", TERM_START, TERM_END, ARR, churned=churned)
    return [first] if churned else [first, Term(f"{key}-2", NEXT_START, NEXT_END, next_arr)]


def _book(db: Database) -> dict[str, int]:
    """The validity history of the module docstring; returns account ids by external id."""
    ids = {}
    with db.writing() as session:
        plan = [("RED", 0, churned) for churned in (True, True, True, False)]
        plan += [("GREEN", 100, churned) for churned in (True, *[False] * 7)]
        for n, (kind, active, churned) in enumerate(plan):
            key = f"{kind}{n}{'-CHURNED' if churned else ''}"
            account = f.account(session, key, key.title(), domain=None)
            features = {"reports": 3, "exports": 2} if active else None
            f.daily_usage(session, account.id, TERM_END, 365, active, features)
            f.contracts(session, account.id, _terms(key, churned=churned))
            ids[key] = account.id
        early = f.account(session, "EARLY", "Early Ltd", segment=Segment.SMB, domain=None)
        f.contracts(
            session,
            early.id,
            [
                Term("E-1", dt.date(2024, 3, 16), dt.date(2025, 3, 15), ARR),
                Term("E-2", dt.date(2025, 3, 16), dt.date(2026, 3, 15), ARR),
            ],
        )
        ids["EARLY"] = early.id
    return ids


def _feedback(db: Database, account_id: int, who: str, direction: str, day: dt.date) -> None:
    with db.writing() as session:
        session.add(
            ScoreFeedback(
                account_id=account_id,
                user_ref=who,
                score=80.0,
                band="green",
                direction=direction,
                reason="champion left",
                created_at=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
            )
        )


def test_health_validity_on_a_history_with_known_answers(db: Database) -> None:
    ids = _book(db)
    _feedback(db, ids["GREEN4-CHURNED"], "slack:U1", "too_high", dt.date(2025, 11, 10))
    _feedback(db, ids["GREEN4-CHURNED"], "teams:aad-2", "too_high", dt.date(2025, 11, 12))
    _feedback(db, ids["RED3"], "slack:U1", "too_low", dt.date(2025, 11, 20))
    _feedback(db, ids["RED3"], "slack:U1", "too_low", dt.date(2025, 1, 15))  # over a year ago

    with db.reading() as session:
        report = health_validity(session, as_of=AS_OF, config=Config())

    assert (report.renewals, report.churned, report.too_early) == (12, 4, 1)
    by_band = {row.band: (row.churn.events, row.churn.n) for row in report.bands}
    assert by_band == {Band.RED: (3, 4), Band.YELLOW: (0, 0), Band.GREEN: (1, 8)}
    assert (report.overall.events, report.overall.n) == (4, 12)
    assert report.red_lift == pytest.approx(2.25)
    assert report.auc is not None and report.auc.auc == pytest.approx(26 / 32)
    assert report.auc.ci_low is None  # 4 churned: far too few for an interval
    usage = next(c for c in report.components if c.name == "usage")
    assert usage.auc is not None and usage.auc.auc == pytest.approx(26 / 32)  # the same split
    sentiment = next(c for c in report.components if c.name == "sentiment")
    assert (sentiment.n, sentiment.auc) == (0, None)  # no survey answers at all
    assert all(c.suggested is None for c in report.components)
    assert f"{MIN_EACH_FOR_WEIGHTS} churned" in (report.suggestion_missing or "")

    feedback = report.feedback
    assert (feedback.submissions, feedback.too_high, feedback.too_low) == (3, 2, 1)
    assert (feedback.people, feedback.accounts) == (2, 2)
    # The green account called too high churned at its next renewal; the red one renewed.
    high, low = feedback.too_high_then, feedback.too_low_then
    assert (high.accounts, high.decided, high.churned) == (1, 1, 1)
    assert (low.accounts, low.decided, low.churned) == (1, 1, 0)

    reply = validity_reply(report)
    assert not report.enough
    assert reply.paragraphs[0].startswith("Not enough renewals yet to judge the score")
    assert "12 renewals scored, 4 churned and 8 renewed" in reply.paragraphs[0]

    with db.reading() as session:
        smb = health_validity(session, as_of=AS_OF, config=Config(), segment=Segment.SMB)
    assert (smb.renewals, smb.too_early, smb.feedback.submissions) == (0, 1, 0)


def _insights_book(db: Database) -> None:
    answered = f.utc(2025, 9, 1)
    plan: list[tuple[int, RenewalOutcome]] = [
        *[(9, RenewalOutcome.EXPANDED)] * 6,
        (10, RenewalOutcome.CONTRACTED),
        *[(10, RenewalOutcome.FLAT)] * 3,
        *[(3, RenewalOutcome.CHURNED)] * 4,
        (0, RenewalOutcome.EXPANDED),
        *[(6, RenewalOutcome.CONTRACTED)] * 2,
        *[(2, RenewalOutcome.FLAT)] * 3,
        (7, RenewalOutcome.CHURNED),
        (8, RenewalOutcome.FLAT),
    ]
    next_arr = {
        RenewalOutcome.EXPANDED: ARR * 1.5,
        RenewalOutcome.CONTRACTED: ARR * 0.5,
        RenewalOutcome.FLAT: ARR,
    }
    with db.writing() as session:
        ids = []
        for n, (score, outcome) in enumerate(plan):
            account = f.account(session, f"A{n}", f"Account {n}", domain=None)
            ids.append(account.id)
            churned = outcome is RenewalOutcome.CHURNED
            f.contracts(
                session,
                account.id,
                _terms(f"A{n}", churned=churned, next_arr=next_arr.get(outcome, ARR)),
            )
            f.nps(session, account.id, f"R{n}", score, answered)
        # The last detractor also answered 9 two weeks before the renewal: too late to count.
        f.nps(session, ids[19], "LATE", 9, f.utc(2025, 12, 17))
        old = f.account(session, "OLD", "Old answer Inc", domain=None)
        f.contracts(session, old.id, _terms("OLD", churned=False))
        f.nps(session, old.id, "R-OLD", 10, f.utc(2024, 11, 1))


def test_nps_insights_on_a_book_with_known_answers(db: Database) -> None:
    _insights_book(db)
    with db.reading() as session:
        report = nps_insights(session, as_of=AS_OF)

    rows = {
        row.band: (row.renewals, row.churn.events, row.contraction.events, row.expansion.events)
        for row in report.bands
    }
    assert rows == {
        AnswerBand.PROMOTER: (10, 0, 1, 6),
        AnswerBand.PASSIVE: (2, 1, 0, 0),
        AnswerBand.DETRACTOR: (10, 4, 2, 1),
        None: (1, 0, 0, 0),
    }
    assert (report.renewals, report.answered) == (23, 22)
    assert report.expansion.difference is not None
    assert report.expansion.difference.estimate == pytest.approx(0.6 - 0.1)
    assert report.expansion.verdict is Verdict.SEPARATES
    assert report.churn.verdict is Verdict.SEPARATES  # 0 of 10 against 4 of 10
    assert report.contraction.verdict is Verdict.UNCLEAR  # 1 of 10 against 2 of 10


def test_looks_wrong_is_stored_with_the_score_it_was_about(db: Database) -> None:
    """The score stored is the account's health as Closeloop computes it that day."""
    today = dt.date(2025, 6, 1)
    with db.writing() as session:
        acme = f.account(session, seats=100)
        f.daily_usage(session, acme.id, today, 60, 100, {"reports": 3, "exports": 2})
        f.contracts(session, acme.id, _terms("ACME", churned=False))
        gone = f.account(session, "GONE", "Gone Ltd", domain=None)
        f.contracts(
            session,
            gone.id,
            [Term("G-1", dt.date(2024, 1, 1), dt.date(2024, 12, 31), ARR, churned=True)],
        )
    cache = HealthCache(Config())
    now = dt.datetime(2025, 6, 1, 9, tzinfo=dt.UTC)

    def record(external_id: str) -> FeedbackResult:
        with db.writing() as session:
            return record_feedback(
                session,
                external_id=external_id,
                member_id=None,
                user_ref="web:U9",
                direction=Direction.TOO_HIGH,
                reason="  Budget frozen  ",
                as_of=today,
                now=now,
                cache=cache,
            )

    recorded = record("ACME")
    with db.reading() as session:
        health = account_health(session, acme.id, today, Config())
        (stored,) = session.execute(
            select(
                ScoreFeedback.score,
                ScoreFeedback.band,
                ScoreFeedback.direction,
                ScoreFeedback.reason,
                ScoreFeedback.user_ref,
                ScoreFeedback.team_member_id,
            )
        ).all()
    assert health is not None
    assert (recorded.stored, recorded.account, recorded.score) == (
        Stored.RECORDED,
        "Acme Corp",
        health.score,
    )
    assert tuple(stored) == (
        health.score,
        health.band.value,
        "too_high",
        "Budget frozen",
        "web:U9",
        None,
    )
    assert record("GONE").stored is Stored.NOT_A_CUSTOMER
    assert record("NOPE").stored is Stored.NO_ACCOUNT
    with db.reading() as session:
        assert len(session.scalars(select(ScoreFeedback)).all()) == 1  # nothing else stored
