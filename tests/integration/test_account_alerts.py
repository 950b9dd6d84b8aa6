"""Band changes and usage drops become outbox alerts once, to the owner and channels."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from metrics_core.config import AccountAlerts, Alerts, Config
from metrics_core.delivery import account_alerts
from metrics_core.delivery.account_alerts import HEALTH_BAND, USAGE_DROP, queue_account_alerts
from metrics_core.delivery.targets import Target
from metrics_core.store.db import Database
from metrics_core.store.models import Delivery, HealthSnapshot
from tests import factories

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)
ALERTS = Target("slack", "C0ALERTS")


def _snapshots(db: Database) -> dict[str, int]:
    ids = {}
    with db.writing() as session:
        owner = factories.team_member(session, slack_user_id="U0CSM1")
        for external_id, before, after in (
            ("WORSE", ("yellow", 55.0), ("red", 35.0)),
            ("BETTER", ("red", 35.0), ("yellow", 45.0)),
            ("SAME", ("green", 80.0), ("green", 78.0)),
        ):
            account = factories.account(
                session, external_id, external_id.title(), owner=owner, domain=None
            )
            ids[external_id] = account.id
            for day, (band, score) in ((TODAY - dt.timedelta(days=1), before), (TODAY, after)):
                session.add(
                    HealthSnapshot(
                        account_id=account.id,
                        day=day,
                        score=score,
                        band=band,
                        components={"usage": 10.0, "support": 60.0, "sentiment": None},
                    )
                )
    return ids


def _queue(db: Database, config: Config) -> int:
    with db.writing() as session:
        return queue_account_alerts(session, TODAY, config, NOW, fallback=ALERTS)


def test_a_worse_band_alerts_the_owner_once_with_the_reason(db: Database) -> None:
    ids = _snapshots(db)
    assert _queue(db, Config()) == 1
    assert _queue(db, Config()) == 0  # the same day again: nothing new
    with db.reading() as session:
        row = session.scalars(select(Delivery)).one()
        assert (row.kind, row.account_id, row.target) == (HEALTH_BAND, ids["WORSE"], "U0CSM1")
        assert row.details == {"from": "yellow", "to": "red", "score": 35.0, "reason": "usage"}


def test_any_band_change_to_a_channel_when_configured(db: Database) -> None:
    _snapshots(db)
    config = Config(
        alerts=Alerts(
            accounts=AccountAlerts(band_change="any", owner_dm=False, slack_channels=["C0HEALTH"])
        )
    )
    assert _queue(db, config) == 2
    with db.reading() as session:
        assert set(session.scalars(select(Delivery.target))) == {"C0HEALTH"}


def test_a_day_that_moves_many_accounts_gives_each_its_reason(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _snapshots(db)
    # Components are read in parts; parts of one account make every move cross a part.
    monkeypatch.setattr(account_alerts, "IDS_AT_ONCE", 1)
    config = Config(alerts=Alerts(accounts=AccountAlerts(band_change="any", owner_dm=False)))
    with db.writing() as session:
        found = account_alerts.account_alerts(session, TODAY, config)
    assert sorted((a.details["to"], a.details.get("reason")) for a in found) == [
        ("red", "usage"),
        ("yellow", "usage"),
    ]


def test_a_usage_drop_alerts_on_the_day_it_starts(db: Database) -> None:
    with db.writing() as session:
        account = factories.account(session, domain=None)
        # Steady use, then three near-empty days: over the last 7 days that is 42 % down
        # (flagged at 30 %); yesterday's window, with two such days, was 28 % down.
        factories.daily_usage(session, account.id, TODAY - dt.timedelta(days=3), 60, 80)
        factories.daily_usage(session, account.id, TODAY, 3, 1)
    config = Config(alerts=Alerts(accounts=AccountAlerts(band_change="off", owner_dm=False)))
    assert _queue(db, config) == 1
    with db.reading() as session:
        row = session.scalars(select(Delivery)).one()
        assert (row.kind, row.target) == (USAGE_DROP, "C0ALERTS")
        assert 0.38 < row.details["drop"] < 0.46
