"""Health scores against hand-computed cases, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics_core.db import Database
from metrics_core.health import Band, account_health, band_for
from metrics_core.models import TicketPriority, TicketStatus
from tests import factories as f

AS_OF = dt.date(2026, 11, 20)


def _acme(db: Database, *, with_nps: bool = True) -> int:
    with db.writing() as session:
        acme = f.account(session, seats=100)
        # 30 of 100 seats active every day: share 0.3 of the 0.6 full-marks share -> 50.
        f.daily_usage(session, acme.id, AS_OF, days=30, active_users=30)
        # Usage before the window must not count.
        f.daily_usage(session, acme.id, AS_OF - dt.timedelta(days=30), days=10, active_users=100)
        f.ticket(session, acme.id, "T1", TicketPriority.HIGH, TicketStatus.OPEN, f.utc(2026, 11, 1))
        f.ticket(
            session, acme.id, "T2", TicketPriority.NORMAL, TicketStatus.PENDING, f.utc(2026, 11, 2)
        )
        f.ticket(
            session, acme.id, "T3", TicketPriority.URGENT, TicketStatus.CLOSED, f.utc(2026, 10, 1)
        )
        if with_nps:
            f.nps(session, acme.id, "old", 2, f.utc(2026, 6, 1))
            f.nps(session, acme.id, "new", 8, f.utc(2026, 11, 10))
        return acme.id


def test_health_is_the_weighted_sum_of_its_components(db: Database) -> None:
    acme = _acme(db)
    with db.reading() as session:
        result = account_health(session, acme, AS_OF)
    scores = {c.name: c.score for c in result.components}
    # usage 50, support 100 - 20 (open high) - 5 (pending normal) = 75, sentiment 8/10 -> 80
    assert scores == {"usage": 50.0, "support": 75.0, "sentiment": 80.0}
    assert result.score == pytest.approx(50 * 0.5 + 75 * 0.25 + 80 * 0.25, abs=0.05)
    assert result.band is Band.YELLOW
    assert result.missing == ()


def test_missing_sentiment_shares_its_weight(db: Database) -> None:
    acme = _acme(db, with_nps=False)
    with db.reading() as session:
        result = account_health(session, acme, AS_OF)
    weights = {c.name: c.weight for c in result.components}
    assert weights["sentiment"] == 0
    assert weights["usage"] == pytest.approx(2 / 3)
    assert weights["support"] == pytest.approx(1 / 3)
    assert result.score == pytest.approx(50 * 2 / 3 + 75 / 3, abs=0.05)
    assert result.missing == ("sentiment",)


def test_account_with_no_usage_and_no_answers(db: Database) -> None:
    with db.writing() as session:
        quiet = f.account(session, "Q", "Quiet Ltd", domain=None).id
    with db.reading() as session:
        result = account_health(session, quiet, AS_OF)
    assert result.missing == ("usage", "sentiment")
    assert result.score == 100.0  # support alone: nothing open
    assert result.band is Band.GREEN


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, Band.RED), (39.9, Band.RED), (40, Band.YELLOW), (69.9, Band.YELLOW), (70, Band.GREEN)],
)
def test_bands_follow_the_documented_thresholds(score: float, band: Band) -> None:
    assert band_for(score) is band
