"""The health scorecard against a hand-computed account, on SQLite and PostgreSQL.

Acme on 2026-11-20, default weights (usage 30, adoption 15, support 15, sentiment 15,
relationship 10, commercial 15):

- usage: 30 of 100 seats active a day (share 0.3 of the 0.6 full-marks share: level 50),
  down from 40 a day (change −25 %: trend (−0.25 + 0.5) / 1 = 25): 0.7·50 + 0.3·25 = 42.5
- adoption: 2 of the product's 5 features (0.4 of the 0.75 full-marks share): 53.33
- support: open high (−20), pending normal (−5), 2 opened in the window against 1 in the
  one before (−5 per extra): 70
- sentiment: latest NPS answer 8: 80 (an older 2 does not count)
- relationship: last call 10 days ago (full marks up to 30): 100
- commercial: 75 + 25 (expanded this year) − 10 (renewal in 41 days ≤ 60): 90

score = .30·42.5 + .15·53.33 + .15·70 + .15·80 + .10·100 + .15·90 = 66.75 → 66.8, yellow.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from metrics_core.config import Config, Health, Weights
from metrics_core.health.scorecard import (
    Band,
    account_health,
    band_for,
    portfolio_health,
    store_snapshots,
)
from metrics_core.revenue.arr import Term
from metrics_core.store.db import Database
from metrics_core.store.models import Account, Segment, SurveyKind, TicketPriority, TicketStatus
from tests import factories as f

AS_OF = dt.date(2026, 11, 20)
DEFAULTS = Config()


def _portfolio(db: Database, *, with_nps: bool = True, with_touch: bool = True) -> int:
    with db.writing() as session:
        acme = f.account(session, seats=100)
        f.daily_usage(session, acme.id, AS_OF, 30, 30, {"reports": 5, "api": 2})
        f.daily_usage(session, acme.id, AS_OF - dt.timedelta(days=30), 30, 40, {"reports": 9})
        beta = f.account(session, "BETA", "Beta GmbH", seats=10, domain="beta.example")
        f.daily_usage(
            session,
            beta.id,
            AS_OF,
            5,
            8,
            {"reports": 1, "dashboards": 1, "alerts": 1, "exports": 1},
        )
        f.ticket(session, acme.id, "T1", TicketPriority.HIGH, TicketStatus.OPEN, f.utc(2026, 11, 1))
        f.ticket(
            session, acme.id, "T2", TicketPriority.NORMAL, TicketStatus.PENDING, f.utc(2026, 11, 2)
        )
        f.ticket(
            session, acme.id, "T3", TicketPriority.URGENT, TicketStatus.CLOSED, f.utc(2026, 10, 1)
        )
        if with_nps:
            f.nps(session, acme.id, "new", 8, f.utc(2026, 11, 10))
            f.nps(session, acme.id, "old", 2, f.utc(2026, 6, 1))
        if with_touch:
            f.activity(session, acme.id, "A1", f.utc(2026, 11, 10))
        f.contracts(
            session,
            acme.id,
            [
                Term("C1", dt.date(2024, 1, 1), dt.date(2025, 12, 31), 100_000),
                Term("C2", dt.date(2026, 1, 1), dt.date(2026, 12, 31), 120_000),
            ],
        )
        return acme.id


def test_health_is_the_weighted_sum_of_its_components(db: Database) -> None:
    acme = _portfolio(db)
    with db.reading() as session:
        result = account_health(session, acme, AS_OF, DEFAULTS)
    assert result is not None
    scores = {c.name: c.score for c in result.components}
    assert scores == pytest.approx(
        {
            "usage": 42.5,
            "adoption": 40 / 0.75,
            "support": 70.0,
            "sentiment": 80.0,
            "relationship": 100.0,
            "commercial": 90.0,
        }
    )
    assert result.score == 66.8
    assert result.band is Band.YELLOW
    assert result.missing == ()
    assert result.biggest_drag is not None
    assert result.biggest_drag.name == "usage"  # costs .30 · 57.5 = 17.25 points
    details = {c.name: c.detail for c in result.components}
    assert (
        details["usage"]
        == "30 of 100 seats active on an average day, -25% against the previous 30 days"
    )
    assert details["support"] == "2 open tickets (1 high or urgent), 2 opened in 30 days"
    assert details["commercial"] == "expanded by 20,000, renewal in 41 days"


def test_a_missing_input_shares_its_weight(db: Database) -> None:
    acme = _portfolio(db, with_nps=False)
    with db.reading() as session:
        result = account_health(session, acme, AS_OF, DEFAULTS)
    assert result is not None
    weights = {c.name: c.weight for c in result.components}
    assert weights["sentiment"] == 0
    assert weights["usage"] == pytest.approx(30 / 85)
    assert sum(weights.values()) == pytest.approx(1)
    expected = (30 * 42.5 + 15 * 40 / 0.75 + 15 * 70 + 10 * 100 + 15 * 90) / 85
    assert result.score == pytest.approx(expected, abs=0.05)
    assert result.missing == ("sentiment",)


def test_without_activity_data_relationship_is_missing_not_zero(db: Database) -> None:
    acme = _portfolio(db, with_touch=False)
    with db.reading() as session:
        result = account_health(session, acme, AS_OF, DEFAULTS)
    assert result is not None
    assert "relationship" in result.missing


def test_csat_joins_nps_in_sentiment(db: Database) -> None:
    acme = _portfolio(db)
    with db.writing() as session:
        f.nps(session, acme, "c1", 5, f.utc(2026, 11, 1), kind=SurveyKind.CSAT)
        f.nps(session, acme, "c2", 3, f.utc(2026, 11, 2), kind=SurveyKind.CSAT)
    with db.reading() as session:
        result = account_health(session, acme, AS_OF, DEFAULTS)
    assert result is not None
    sentiment = next(c for c in result.components if c.name == "sentiment")
    assert sentiment.score == pytest.approx((80 + 75) / 2)  # CSAT mean 4 -> (4-1)/4 = 75


def test_segment_weights_replace_the_default(db: Database) -> None:
    acme = _portfolio(db)
    usage_only = Weights(usage=1, adoption=0, support=0, sentiment=0, relationship=0, commercial=0)
    config = Config(health=Health(segments={Segment.ENTERPRISE: usage_only}))
    with db.reading() as session:
        result = account_health(session, acme, AS_OF, config)
    assert result is not None
    assert result.score == 42.5
    assert result.band is Band.YELLOW


def test_snapshots_give_the_change_and_match_the_portfolio(db: Database) -> None:
    acme = _portfolio(db)
    week_ago = AS_OF - dt.timedelta(days=7)
    assert store_snapshots(db.engine, week_ago, DEFAULTS) == 2
    with db.reading() as session:
        then = account_health(session, acme, week_ago, DEFAULTS)
        now = account_health(session, acme, AS_OF, DEFAULTS)
        portfolio = portfolio_health(session, AS_OF, DEFAULTS)
    assert then is not None
    assert now is not None
    assert now.change_7d == pytest.approx(now.score - then.score, abs=0.05)
    assert now.change_30d is None  # no snapshot that far back
    assert portfolio.loc[acme, "score"] == now.score


def test_a_churned_account_has_no_health(db: Database) -> None:
    with db.writing() as session:
        gone = f.account(session, "GONE", "Gone Inc", domain=None)
        f.contracts(
            session,
            gone.id,
            [Term("G1", dt.date(2025, 1, 1), dt.date(2025, 12, 31), 5_000, churned=True)],
        )
        gone_id = gone.id
    with db.reading() as session:
        assert account_health(session, gone_id, AS_OF, DEFAULTS) is None
        assert account_health(session, gone_id, dt.date(2025, 6, 1), DEFAULTS) is not None


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, Band.RED), (39.9, Band.RED), (40, Band.YELLOW), (69.9, Band.YELLOW), (70, Band.GREEN)],
)
def test_bands_follow_the_documented_thresholds(score: float, band: Band) -> None:
    assert band_for(score, DEFAULTS) is band


def test_a_flagged_usage_drop_costs_the_usage_component(db: Database) -> None:
    with db.writing() as session:
        falling = f.account(session, "FALL", "Falling Ltd", seats=10, domain=None)
        f.daily_usage(session, falling.id, AS_OF, 7, 3)  # last week: 3 a day
        f.daily_usage(session, falling.id, AS_OF - dt.timedelta(days=7), 53, 6)  # before: 6
        falling_id = falling.id
    with db.reading() as session:
        result = account_health(session, falling_id, AS_OF, DEFAULTS)
    assert result is not None
    usage = next(c for c in result.components if c.name == "usage")
    # 30-day average (7·3 + 23·6) / 30 = 5.3 of 10 seats: level 5.3/10/0.6 = 88.33;
    # previous 30 days 6 a day: change −11.67 %, trend 38.33; 0.7·88.33 + 0.3·38.33 = 73.33;
    # the week halved against its 4-week baseline (21 vs 42): flagged, −20 points.
    assert usage.score == pytest.approx(
        0.7 * (5.3 / 10 / 0.6 * 100) + 0.3 * (50 - 100 * 0.7 / 6) - 20, abs=0.05
    )
    assert "usage dropped 50% below its usual level in the last 7 days" in usage.detail


def test_an_account_with_no_usage_scores_zero_usage_not_missing(db: Database) -> None:
    _portfolio(db)  # others have usage, so the source is known
    with db.writing() as session:
        idle = f.account(session, "IDLE", "Idle Ltd", seats=50, domain=None).id
    with db.reading() as session:
        result = account_health(session, idle, AS_OF, DEFAULTS)
    assert result is not None
    usage = next(c for c in result.components if c.name == "usage")
    assert usage.score == 0
    assert usage.detail == "0 of 50 seats active on an average day"
    assert "usage" not in result.missing
    assert result.biggest_drag is not None
    assert result.biggest_drag.name == "usage"


def test_a_score_on_little_data_says_how_little(db: Database) -> None:
    with db.writing() as session:
        bare = f.account(session, "BARE", "Bare Inc", domain=None).id
    with db.reading() as session:
        result = account_health(session, bare, AS_OF, DEFAULTS)
    assert result is not None
    assert result.coverage == pytest.approx(15 / 100)  # support alone: 15 of 100
    acme = _portfolio(db)
    with db.reading() as session:
        full = account_health(session, acme, AS_OF, DEFAULTS)
    assert full is not None
    assert full.coverage == 1.0


def test_usage_windows_end_where_the_usage_data_does(db: Database) -> None:
    """Rollups arrive a day or two late; the missing days must not read as zero usage."""
    with db.writing() as session:
        late = f.account(session, "LATE", "Late Data Ltd", seats=10, domain=None)
        # 6 of 10 seats active every day for 60 days, delivered through two days ago.
        f.daily_usage(session, late.id, AS_OF - dt.timedelta(days=2), 60, 6)
        late_id = late.id
    with db.reading() as session:
        result = account_health(session, late_id, AS_OF, DEFAULTS)
    assert result is not None
    usage = next(c for c in result.components if c.name == "usage")
    # Full marks (6 of 10 = the 0.6 share), flat trend (50): 0.7·100 + 0.3·50, no drop flag.
    assert usage.score == pytest.approx(85.0)
    assert "(usage data through 2026-11-18)" in usage.detail
    assert "dropped" not in usage.detail


def test_a_long_list_of_accounts_is_read_in_parts_with_the_same_inputs(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Databases cap the values one query may bind; a training cut-off of a large book names
    more customers than that, so the list is read in parts, with the same result."""
    from metrics_core.health import inputs
    from metrics_core.synthetic import seed_database

    seed_database(db.engine, accounts=40, days=120, seed=3, as_of=AS_OF)
    with db.reading() as session:
        ids = list(session.scalars(select(Account.id).order_by(Account.id.desc())))
        whole = inputs.account_inputs(session, AS_OF, Config(), ids)
        monkeypatch.setattr(inputs, "IDS_AT_ONCE", 7)
        parted = inputs.account_inputs(session, AS_OF, Config(), ids)
    assert len(whole) > 7 * 3
    assert list(parted.ids) == list(whole.ids)
    pd.testing.assert_frame_equal(parted.frame(), whole.frame())


def test_inputs_read_on_two_connections_are_the_inputs_read_on_one(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metrics_core.health import inputs
    from metrics_core.synthetic import seed_database

    seed_database(db.engine, accounts=40, days=120, seed=3, as_of=AS_OF)
    with db.reading() as session:
        ids = list(session.scalars(select(Account.id)))
        monkeypatch.setattr(inputs, "SIDE_QUERY_FROM", 10**9)  # one connection, in turn
        alone = inputs.account_inputs(session, AS_OF, Config(), ids)
        monkeypatch.setattr(inputs, "SIDE_QUERY_FROM", 1)  # two, each taking the next
        both = inputs.account_inputs(session, AS_OF, Config(), ids)
    assert len(alone) > 20
    pd.testing.assert_frame_equal(both.frame(), alone.frame())


def test_scoring_the_book_for_a_snapshot_lets_other_writers_commit(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has one writer at a time: a snapshot that scored the whole book inside its
    write transaction made survey webhooks wait behind it until they gave up."""
    import sqlite3

    from metrics_core.health import scorecard

    _portfolio(sqlite_db)
    path = sqlite_db.engine.url.database
    assert path is not None
    scoring = scorecard.score_frame
    committed: list[bool] = []

    def while_scoring(*args: Any, **kwargs: Any) -> Any:  # the inputs are read by now
        other = sqlite3.connect(path, timeout=0, isolation_level=None)  # no waiting at all
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE accounts SET seats = seats WHERE id = 1")
            other.execute("COMMIT")
            committed.append(True)
        finally:
            other.close()
        return scoring(*args, **kwargs)

    monkeypatch.setattr(scorecard, "score_frame", while_scoring)
    assert scorecard.store_snapshots(sqlite_db.engine, AS_OF, Config()) > 0
    assert committed == [True]
