"""Realistic replies for renderer tests, built by the real handlers from fixed results."""

from __future__ import annotations

import datetime as dt

from bot.handlers.health import health_reply
from bot.reply import Reply
from metrics_core.accounts.lookup import AccountRef
from metrics_core.health.scorecard import Band, Component, HealthResult
from metrics_core.store.models import LifecycleStage, Segment


def health_answer() -> Reply:
    """`/health acme` as the handler answers it: a yellow account with a missing component."""
    account = AccountRef(
        id=1,
        external_id="ACME",
        name="Acme Corp",
        domain="acme.example",
        segment=Segment.ENTERPRISE,
        seats=100,
        lifecycle_stage=LifecycleStage.MATURE,
        owner_name="Jo Csm",
    )
    result = HealthResult(
        score=58.4,
        band=Band.YELLOW,
        components=(
            Component("usage", 40.0, 0.4, "31 of 100 seats active in 30 days, down 22 %"),
            Component("sentiment", 80.0, 0.35, "NPS +20 from 5 answers"),
            Component("support", 70.0, 0.25, "4 open tickets, 1 urgent"),
            Component("engagement", None, 0.0, "no activity logged"),
        ),
        as_of=dt.date(2025, 3, 31),
        change_7d=-3.0,
        change_30d=-9.0,
    )
    return health_reply(account, result)
