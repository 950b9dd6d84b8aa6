"""Usage-drop flags: like weekdays compared with like, and last year's season respected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import pytest

from metrics_core.config import Config
from metrics_core.health.usage_signals import usage_drops, usage_drops_on
from metrics_core.store.db import Database
from metrics_core.store.models import UsageDaily
from tests import factories as f

AS_OF = dt.date(2026, 11, 20)  # a Friday


def _weekly_pattern(day: dt.date, weekday_users: int, weekend_users: int) -> int:
    return weekend_users if day.weekday() >= 5 else weekday_users


def _usage(db: Database, account_id: int, days: range, users: Callable[[dt.date], int]) -> None:
    with db.writing() as session:
        for offset in days:
            day = AS_OF - dt.timedelta(days=offset)
            session.add(
                UsageDaily(
                    account_id=account_id,
                    day=day,
                    active_users=users(day),
                    sessions=0,
                    events=0,
                    feature_counts={},
                )
            )


def _accounts(db: Database, *names: str) -> list[int]:
    with db.writing() as session:
        return [f.account(session, name, name, domain=None).id for name in names]


def test_a_real_drop_is_flagged_and_a_weekly_rhythm_is_not(db: Database) -> None:
    dropping, steady = _accounts(db, "DROP", "STEADY")
    # Five weeks of 10 users on weekdays and 2 at weekends; DROP halves its weekdays last week.
    _usage(db, steady, range(35), lambda d: _weekly_pattern(d, 10, 2))
    _usage(
        db,
        dropping,
        range(35),
        lambda d: _weekly_pattern(d, 5 if (AS_OF - d).days < 7 else 10, 2),
    )
    with db.reading() as session:
        drops = usage_drops(session, AS_OF, Config())
    # A week has 5 weekdays and 2 weekend days: baseline 5·10 + 2·2 = 54, DROP now 5·5 + 2·2 = 29.
    assert drops.loc[steady, "baseline"] == 54
    assert drops.loc[steady, "change"] == 0
    assert not drops.loc[steady, "flagged"]
    assert drops.loc[dropping, "recent"] == 29
    assert drops.loc[dropping, "change"] == pytest.approx(29 / 54 - 1)
    assert drops.loc[dropping, "flagged"]
    assert not drops.loc[dropping, "seasonal"]


def test_last_years_season_moves_the_expectation(db: Database) -> None:
    (seasonal,) = _accounts(db, "SEASONAL")

    # This year and last year alike: 20 a day, then half of that in the most recent week.
    def users(day: dt.date) -> int:
        last_year = (AS_OF - day).days >= 364
        reference = AS_OF - dt.timedelta(days=364) if last_year else AS_OF
        return 10 if (reference - day).days < 7 else 20

    _usage(db, seasonal, range(35), users)
    _usage(db, seasonal, range(364, 364 + 35), users)
    with db.reading() as session:
        drops = usage_drops(session, AS_OF, Config())
    row = drops.loc[seasonal]
    assert row["seasonal"]
    assert row["expected"] == pytest.approx(70)  # baseline 140 × (70 / 140) last year
    assert row["change"] == pytest.approx(0)
    assert row["yoy_change"] == pytest.approx(0)
    assert not row["flagged"]


def test_threshold_comes_from_config_and_quiet_accounts_are_not_flagged(db: Database) -> None:
    mild, silent = _accounts(db, "MILD", "SILENT")
    _usage(db, mild, range(35), lambda d: 8 if (AS_OF - d).days < 7 else 10)  # −20 %
    with db.reading() as session:
        default = usage_drops(session, AS_OF, Config())
        strict = usage_drops(
            session, AS_OF, Config.model_validate({"usage_drop": {"threshold": 0.15}})
        )
    assert not default.loc[mild, "flagged"]
    assert strict.loc[mild, "flagged"]
    assert silent not in default.index  # no usage at all: nothing to compare


def test_days_read_together_are_the_days_read_alone(db: Database) -> None:
    drops_today, dropped_yesterday, seasonal, new = _accounts(db, "TODAY", "YDAY", "SEAS", "NEW")
    # TODAY falls on the last day only; YDAY fell the week before yesterday and stays down;
    # SEAS has last year's season; NEW started using the product yesterday.
    _usage(db, drops_today, range(70), lambda d: 0 if d == AS_OF else 10)
    _usage(db, dropped_yesterday, range(70), lambda d: 3 if (AS_OF - d).days < 8 else 10)
    _usage(db, seasonal, range(70), lambda d: 20 - (AS_OF - d).days % 7)
    _usage(db, seasonal, range(364, 364 + 70), lambda d: 20 - (AS_OF - d).days % 5)
    _usage(db, new, range(2), lambda d: 5)
    config = Config.model_validate({"usage_drop": {"threshold": 0.1}})
    days = [AS_OF, AS_OF - dt.timedelta(days=1), AS_OF - dt.timedelta(days=6)]
    with db.reading() as session:
        together = usage_drops_on(session, days, config)
        alone = [usage_drops(session, day, config) for day in days]
        some = usage_drops_on(session, days, config, [seasonal, new])
    for day, both, one, few in zip(days, together, alone, some, strict=True):
        pd.testing.assert_frame_equal(both, one, check_dtype=False, obj=str(day))
        pd.testing.assert_frame_equal(few, one.loc[one.index.isin([seasonal, new])], obj=str(day))
    assert together[0].loc[drops_today, "flagged"] and not together[1].loc[drops_today, "flagged"]
    assert together[0].loc[dropped_yesterday, "flagged"]
    assert together[1].loc[dropped_yesterday, "flagged"]
    assert together[0].loc[seasonal, "seasonal"]
    assert new in together[1].index and new not in together[2].index
