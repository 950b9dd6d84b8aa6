"""What command handlers may use: the database, the configuration, the clock, the commands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.commands import CommandRegistry
from metrics_core.churn.risk import RiskModels
from metrics_core.config import Config
from metrics_core.health.cache import HealthCache
from metrics_core.store.db import Database


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class BotContext:
    db: Database
    config: Config
    registry: CommandRegistry
    risk: RiskModels
    health: HealthCache
    today: Callable[[], dt.date] = utc_today
    now: Callable[[], dt.datetime] = utc_now
    outbox_changed: Callable[[], None] = _nothing
    """Called after a commit that owes chat messages, so the dispatcher sends them now."""
    schedule_changed: Callable[[], None] = _nothing
    """Called after digest subscriptions changed, so the scheduler picks them up now."""
