"""Alerts about accounts: health that moved to a worse band, and usage that dropped.

Queued into the outbox after a day's health snapshots are stored, so they travel the
same road as survey alerts (one row per target, delivered once, retried). Each alert is
keyed by account and day: re-running the day's snapshot does not alert twice.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metrics_core.accounts.team import account_owners
from metrics_core.config import Config
from metrics_core.delivery import outbox
from metrics_core.delivery.routing import account_targets
from metrics_core.delivery.targets import Target
from metrics_core.health.usage_signals import usage_drops
from metrics_core.store.models import HealthSnapshot

USAGE_DROP = "usage_drop"
HEALTH_BAND = "health_band"
_SEVERITY = {"green": 0, "yellow": 1, "red": 2}


def _band_changes(session: Session, as_of: dt.date, worse_only: bool) -> pd.DataFrame:
    before = session.scalar(select(func.max(HealthSnapshot.day)).where(HealthSnapshot.day < as_of))
    if before is None:
        return pd.DataFrame(columns=["from", "to", "score", "components"])
    rows = session.execute(
        select(
            HealthSnapshot.account_id,
            HealthSnapshot.day,
            HealthSnapshot.band,
            HealthSnapshot.score,
            HealthSnapshot.components,
        ).where(HealthSnapshot.day.in_((before, as_of)))
    ).all()
    frame = pd.DataFrame(rows, columns=["account_id", "day", "band", "score", "components"])
    then = frame[frame["day"] == before].set_index("account_id")
    now = frame[frame["day"] == as_of].set_index("account_id")
    both = now.join(then[["band"]].rename(columns={"band": "band_before"}), how="inner")
    moved = both[both["band"] != both["band_before"]]
    if worse_only:
        moved = moved[moved["band"].map(_SEVERITY) > moved["band_before"].map(_SEVERITY)]
    return pd.DataFrame(
        {
            "from": moved["band_before"],
            "to": moved["band"],
            "score": moved["score"],
            "components": moved["components"],
        }
    )


def _drag(components: dict[str, float | None]) -> str | None:
    scored = {name: value for name, value in (components or {}).items() if value is not None}
    return min(scored, key=lambda name: scored[name]) if scored else None


def queue_account_alerts(
    session: Session,
    as_of: dt.date,
    config: Config,
    now: dt.datetime,
    *,
    fallback: Target | None,
) -> int:
    """Owe today's band-change and usage-drop alerts; how many messages were added.

    They go where `config.alerts.accounts` says, else to `fallback` (the operator's
    configured alerts target), else nowhere.
    """
    rules = config.alerts.accounts
    alerts: list[tuple[int, str, dict[str, object]]] = []
    if rules.band_change != "off":
        for account_id, row in _band_changes(
            session, as_of, rules.band_change == "worse"
        ).iterrows():
            details = {"from": row["from"], "to": row["to"], "score": float(row["score"])}
            if (drag := _drag(row["components"])) is not None:
                details["reason"] = drag
            alerts.append((int(account_id), HEALTH_BAND, details))
    if rules.usage_drop:
        today = usage_drops(session, as_of, config)
        yesterday = usage_drops(session, as_of - dt.timedelta(days=1), config)
        was_flagged = set(yesterday.index[yesterday["flagged"].astype(bool)])
        for account_id, row in today[today["flagged"].astype(bool)].iterrows():
            if account_id in was_flagged:
                continue  # still down: said yesterday
            details = {
                "drop": round(-float(row["change"]), 3),
                "recent_days": config.usage_drop.recent_days,
            }
            alerts.append((int(account_id), USAGE_DROP, details))
    owners = account_owners(session, sorted({a for a, _, _ in alerts}))
    added = 0
    for account_id, kind, details in alerts:
        for target in account_targets(rules, owners.get(account_id, ()), fallback=fallback):
            added += outbox.enqueue(
                session,
                key=f"{kind}:{account_id}:{as_of.isoformat()}",
                kind=kind,
                target=target,
                account_id=account_id,
                details=details,
                now=now,
            )
    return added
