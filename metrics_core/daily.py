"""The day's snapshot: every customer's health and churn risk stored, then account alerts.

Run by `closeloop snapshot` and by the service's scheduler once a day, so trends,
movers and digests read stored numbers instead of recomputing a whole portfolio.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from metrics_core.account_alerts import queue_account_alerts
from metrics_core.config import Config
from metrics_core.db import Database
from metrics_core.health import backfill_snapshots
from metrics_core.risk import RiskModels


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
    default_slack_channel: str | None = None,
    progress: Callable[[dt.date], None] | None = None,
) -> DailyRun:
    """Store `day`'s snapshots (and `backfill` missing earlier days), then queue alerts.

    Only `day` gets churn risk: a model is trained for one as-of day, and scoring past
    days with today's model would rewrite history with hindsight.
    """
    with db.reading() as session:
        model = risk.get(session, day)
    days = backfill_snapshots(db.engine, day, backfill, config, progress=progress, model=model)
    with db.writing() as session:
        alerts = queue_account_alerts(
            session, day, config, now, default_slack_channel=default_slack_channel
        )
    return DailyRun(days, alerts)
