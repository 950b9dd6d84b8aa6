"""What command handlers may use: the database, the configuration, the clock, the commands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from bot.answers import AnswerCache
from bot.commands import CommandRegistry
from bot.reply import Outcome
from metrics_core.churn.daily_model import RiskModels
from metrics_core.churn.risk import RiskModel
from metrics_core.clock import utc_now, utc_today
from metrics_core.config import Config
from metrics_core.health.cache import HealthCache
from metrics_core.store.db import Query

T = TypeVar("T")


def _nothing() -> None:
    return None


def _unobserved(command: str, outcome: Outcome, seconds: float) -> None:
    return None


class Reader(Protocol):
    """The query seam: a handler runs a query (a function of a database session that
    returns frozen dataclasses) and gets its result, in one transaction.

    `metrics_core.store.db.Database` is the real reader; handler unit tests use a fake
    that answers each query function with a canned result.
    """

    async def read(self, work: Query[T]) -> T: ...

    async def write(self, work: Query[T]) -> T: ...


@dataclass(frozen=True, slots=True)
class BotContext:
    db: Reader
    config: Config
    registry: CommandRegistry
    risk: RiskModels
    health: HealthCache
    answers: AnswerCache = field(default_factory=AnswerCache)
    """Whole answers reused while the database is unchanged (by default: never reused)."""
    today: Callable[[], dt.date] = utc_today
    now: Callable[[], dt.datetime] = utc_now
    outbox_changed: Callable[[], None] = _nothing
    """Called after a commit that owes chat messages, so the dispatcher sends them now."""
    schedule_changed: Callable[[], None] = _nothing
    """Called after digest subscriptions changed, so the scheduler picks them up now."""
    answered: Callable[[str, Outcome, float], None] = _unobserved
    """Called after each command with its name, outcome and seconds taken (the service
    counts them for monitoring; commands the registry does not know are `unknown`)."""

    async def churn_model(self, day: dt.date) -> RiskModel:
        """The churn-risk method that answers on `day` (trained elsewhere, then kept)."""
        return await self.risk.ready(self.db, day)
