"""Alerts about accounts: health that moved to a worse band, and usage that dropped.

Queued into the outbox after a day's health snapshots are stored, so they travel the
same road as survey alerts (one row per target, delivered once, retried). Each alert is
keyed by account and day: re-running the day's snapshot does not alert twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metrics_core.accounts.team import account_owners
from metrics_core.config import Config
from metrics_core.delivery import outbox
from metrics_core.delivery.routing import account_targets
from metrics_core.delivery.targets import Target
from metrics_core.health.inputs import IDS_AT_ONCE
from metrics_core.health.usage_signals import usage_drops_on
from metrics_core.store.models import HealthSnapshot

USAGE_DROP = "usage_drop"
HEALTH_BAND = "health_band"
_SEVERITY = {"green": 0, "yellow": 1, "red": 2}


def _band_changes(session: Session, as_of: dt.date, worse_only: bool) -> pd.DataFrame:
    before = session.scalar(select(func.max(HealthSnapshot.day)).where(HealthSnapshot.day < as_of))
    if before is None:
        return pd.DataFrame(columns=["from", "to", "score", "components"])
    rows = session.connection().execute(
        select(
            HealthSnapshot.account_id,
            HealthSnapshot.day,
            HealthSnapshot.band,
            HealthSnapshot.score,
        ).where(HealthSnapshot.day.in_((before, as_of)))
    )
    frame = pd.DataFrame(list(map(tuple, rows)), columns=["account_id", "day", "band", "score"])
    then = frame[frame["day"] == before].set_index("account_id")
    now = frame[frame["day"] == as_of].set_index("account_id")
    both = now.join(then[["band"]].rename(columns={"band": "band_before"}), how="inner")
    moved = both[both["band"] != both["band_before"]]
    if worse_only:
        moved = moved[moved["band"].map(_SEVERITY) > moved["band_before"].map(_SEVERITY)]
    # The components (what dragged the score) only of the accounts that moved, usually a
    # few; in parts, as a day when the scorecard changed can move most of the book.
    ids = [int(i) for i in moved.index]
    components: dict[int, dict[str, float | None]] = {}
    for begin in range(0, len(ids), IDS_AT_ONCE):
        components.update(
            session.execute(
                select(HealthSnapshot.account_id, HealthSnapshot.components).where(
                    HealthSnapshot.day == as_of,
                    HealthSnapshot.account_id.in_(ids[begin : begin + IDS_AT_ONCE]),
                )
            ).all()
        )
    return pd.DataFrame(
        {
            "from": moved["band_before"],
            "to": moved["band"],
            "score": moved["score"],
            "components": [components.get(int(i)) for i in moved.index],
        },
        index=moved.index,
    )


def _drag(components: dict[str, float | None]) -> str | None:
    scored = {name: value for name, value in (components or {}).items() if value is not None}
    return min(scored, key=lambda name: scored[name]) if scored else None


@dataclass(frozen=True, slots=True)
class AccountAlert:
    account_id: int
    kind: str
    details: dict[str, object]


def account_alerts(session: Session, as_of: dt.date, config: Config) -> list[AccountAlert]:
    """Today's band-change and usage-drop alerts, before they are owed to anyone.

    Only reads: the daily snapshot finds them in a read transaction, and holds the write
    lock only to queue them (`queue_alerts`).
    """
    rules = config.alerts.accounts
    alerts: list[AccountAlert] = []
    if rules.band_change != "off":
        for account_id, row in _band_changes(
            session, as_of, rules.band_change == "worse"
        ).iterrows():
            details = {"from": row["from"], "to": row["to"], "score": float(row["score"])}
            if (drag := _drag(row["components"])) is not None:
                details["reason"] = drag
            alerts.append(AccountAlert(int(account_id), HEALTH_BAND, details))
    if rules.usage_drop:
        # Today's and yesterday's drops in one pass: both ranges of days are nearly one.
        today, yesterday = usage_drops_on(session, [as_of, as_of - dt.timedelta(days=1)], config)
        was_flagged = set(yesterday.index[yesterday["flagged"].astype(bool)])
        for account_id, row in today[today["flagged"].astype(bool)].iterrows():
            if account_id in was_flagged:
                continue  # still down: said yesterday
            details = {
                "drop": round(-float(row["change"]), 3),
                "recent_days": config.usage_drop.recent_days,
            }
            alerts.append(AccountAlert(int(account_id), USAGE_DROP, details))
    return alerts


def queue_alerts(
    session: Session,
    alerts: list[AccountAlert],
    as_of: dt.date,
    config: Config,
    now: dt.datetime,
    *,
    fallback: Target | None,
) -> int:
    """Owe `alerts` of `as_of` to their targets; how many messages were added.

    They go where `config.alerts.accounts` says, else to `fallback` (the operator's
    configured alerts target), else nowhere.
    """
    rules = config.alerts.accounts
    owners = account_owners(session, sorted({alert.account_id for alert in alerts}))
    added = 0
    for alert in alerts:
        for target in account_targets(rules, owners.get(alert.account_id, ()), fallback=fallback):
            added += outbox.enqueue(
                session,
                key=f"{alert.kind}:{alert.account_id}:{as_of.isoformat()}",
                kind=alert.kind,
                target=target,
                account_id=alert.account_id,
                details=alert.details,
                now=now,
            )
    return added


def queue_account_alerts(
    session: Session,
    as_of: dt.date,
    config: Config,
    now: dt.datetime,
    *,
    fallback: Target | None,
) -> int:
    """Find and owe today's alerts in one session (`account_alerts`, then `queue_alerts`)."""
    alerts = account_alerts(session, as_of, config)
    return queue_alerts(session, alerts, as_of, config, now, fallback=fallback)
