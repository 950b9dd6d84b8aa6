"""One way for tests to build what `closeloop ask` builds: a bot context and its router.

Tests differ only in the database, the configuration and the clock they answer with.
"""

from __future__ import annotations

import datetime as dt

from bot.catalog import build_registry
from bot.context import BotContext, utc_now, utc_today
from bot.router import Router
from metrics_core.churn.risk import RiskModels
from metrics_core.config import Config
from metrics_core.health.cache import HealthCache
from metrics_core.store.db import Database


def context_for(
    db: Database,
    config: Config | None = None,
    *,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> BotContext:
    """A context on `db`; `now` alone also fixes today (its UTC date)."""
    settings = config or Config()
    day = today or (now.date() if now is not None else None)
    return BotContext(
        db=db,
        config=settings,
        registry=build_registry(),
        risk=RiskModels(settings),
        health=HealthCache(settings),
        today=(lambda: day) if day is not None else utc_today,
        now=(lambda: now) if now is not None else utc_now,
    )


def router_for(
    db: Database,
    config: Config | None = None,
    *,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Router:
    return Router(context_for(db, config, today=today, now=now))
