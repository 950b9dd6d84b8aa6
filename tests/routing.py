"""One way for tests to build what `closeloop ask` builds: a bot context and its router.

Tests differ only in the database, the configuration and the clock they answer with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.answers import AnswerCache
from bot.catalog import build_registry
from bot.context import BotContext, Reader
from bot.router import Router
from metrics_core.churn.daily_model import RiskModels
from metrics_core.churn.risk import Method, RiskModel
from metrics_core.clock import utc_now, utc_today
from metrics_core.config import Config
from metrics_core.health.cache import HealthCache
from metrics_core.store.db import Database, is_sqlite


def context_for(
    db: Database,
    config: Config | None = None,
    *,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    answers: AnswerCache | None = None,
) -> BotContext:
    """A context on `db`; `now` alone also fixes today (its UTC date). Answers are kept in
    memory as the service keeps them, but only on SQLite, where a commit is seen at once;
    on PostgreSQL a commit is seen when its notification arrives, so a test that writes
    and asks at once would race it (tests that mean to, pass `answers`)."""
    settings = config or Config()
    day = today or (now.date() if now is not None else None)
    return BotContext(
        db=db,
        config=settings,
        registry=build_registry(),
        risk=RiskModels(settings),
        health=HealthCache(settings),
        answers=answers or (AnswerCache(db.changes) if is_sqlite(db.engine) else AnswerCache()),
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


RULES = RiskModel(Method.RULES, None, trained_rows=0, churned_accounts=3)
"""The rule-based method, as a book with few churned accounts answers with."""


@dataclass(frozen=True, slots=True)
class _Trained(BotContext):
    """A context whose churn model is already trained, as after the day's snapshot."""

    model: RiskModel = RULES

    async def churn_model(self, day: dt.date) -> RiskModel:
        return self.model


def offline_context(
    reader: Reader,
    config: Config | None = None,
    *,
    today: dt.date,
    model: RiskModel = RULES,
) -> BotContext:
    """A context on a fake reader (`tests.fakes.reader`): handlers run without a database."""
    settings = config or Config()
    return _Trained(
        db=reader,
        config=settings,
        registry=build_registry(),
        risk=RiskModels(settings),
        health=HealthCache(settings),
        today=lambda: today,
        now=lambda: dt.datetime.combine(today, dt.time(9), tzinfo=dt.UTC),
        model=model,
    )
