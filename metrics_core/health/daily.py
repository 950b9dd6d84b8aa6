"""The day's snapshot: every customer's health and churn risk stored, then account alerts.

Run by `closeloop snapshot` and by the service's scheduler once a day, so trends,
movers and digests read stored numbers instead of recomputing a whole portfolio.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from metrics_core.churn.daily_model import RiskModels
from metrics_core.churn.risk import RiskModel, SharedTraining
from metrics_core.config import Config
from metrics_core.delivery.account_alerts import account_alerts, queue_alerts
from metrics_core.delivery.targets import Target
from metrics_core.digests.facts import WEEK
from metrics_core.health.scorecard import backfill_snapshots
from metrics_core.store.db import Database

RISK_COMPARED_DAYS = (1, WEEK)
"""Days before a snapshot that digests compare churn risk with: the day before, the week."""


@dataclass(frozen=True, slots=True)
class DailyRun:
    days: list[dt.date]
    alerts: int


def take_snapshot(
    db: Database,
    risk: RiskModels,
    config: Config,
    day: dt.date,
    now: dt.datetime,
    *,
    backfill: int = 0,
    fallback: Target | None = None,
    progress: Callable[[dt.date], None] | None = None,
) -> DailyRun:
    """Store `day`'s snapshots (and `backfill` missing earlier days), then queue alerts.

    `day` gets churn risk, and so do the backfilled days a digest compares with
    (`RISK_COMPARED_DAYS` before it), each scored by the model as it would have been
    trained on that day: only renewals decided by then, so no hindsight. Other backfilled
    days get health only, which keeps a first backfill of a month quick. Account alerts
    no rule routes go to `fallback`, the operator's configured alerts target.

    Whole-book scoring and training are CPU work: the service runs this on the churn
    model's own worker (`RiskModels.run`), where `risk.get` trains in the same thread.
    """
    compared = {day - dt.timedelta(days=n) for n in RISK_COMPARED_DAYS}
    # The days' training sets are parts of the newest one's: read the history once.
    shared = SharedTraining(day)

    def risk_for(when: dt.date) -> RiskModel | None:
        if when != day and when not in compared:
            return None
        with db.reading() as session:
            return risk.get(session, when, shared)

    days = backfill_snapshots(
        db.engine, day, backfill, config, progress=progress, risk_for=risk_for
    )
    with db.reading() as session:
        found = account_alerts(session, day, config)
    with db.writing() as session:
        alerts = queue_alerts(session, found, day, config, now, fallback=fallback)
    return DailyRun(days, alerts)
