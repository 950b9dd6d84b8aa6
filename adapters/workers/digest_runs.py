"""Sending one subscription's digest for its current period, exactly once.

The scheduler calls `send_due` when a subscription's time comes (and once per
subscription at start, to catch up on what passed while the service was down). Building
happens outside any write transaction (it reads a whole portfolio); the claim and the
outbox row are then written together, and a claim found taken means someone else sent it.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.context import BotContext
from bot.messages.digest import Digest, build_digest
from bot.reply_codec import encode
from metrics_core.digests.facts import digest_facts
from metrics_core.digests.subscriptions import (
    Occurrence,
    Scope,
    claim_run,
    due_occurrence,
    previous_run,
)
from metrics_core.store.models import (
    DigestRun,
    DigestSubscription,
)

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    SENT = "sent"
    TAKEN = "taken"
    NOT_DUE = "not due"
    GONE = "gone"
    FAILED = "failed"


def _claimed(session: Session, subscription_id: int, occurrence: Occurrence) -> bool:
    return (
        session.scalar(
            select(DigestRun.id).where(
                DigestRun.subscription_id == subscription_id,
                DigestRun.period == occurrence.key,
            )
        )
        is not None
    )


async def send_due(
    context: BotContext,
    subscription_id: int,
    *,
    now: dt.datetime,
    grace: dt.timedelta,
    claimed_by: str,
) -> Outcome:
    """Claim and queue this subscription's digest if one is due now and nobody has yet."""

    def prepare(session: Session) -> tuple[Occurrence, Digest] | Outcome:
        subscription = session.get(DigestSubscription, subscription_id)
        if subscription is None or not subscription.active:
            return Outcome.GONE
        occurrence = due_occurrence(subscription, now, grace)
        if occurrence is None:
            return Outcome.NOT_DUE
        if _claimed(session, subscription_id, occurrence):
            return Outcome.TAKEN
        last = previous_run(session, subscription_id, occurrence.period)
        facts = digest_facts(
            session,
            cadence=subscription.cadence,
            scope=Scope.of(subscription),
            as_of=occurrence.period,
            window_end=occurrence.due_at,
            config=context.config,
            now=now,
            previous=last.details if last is not None else None,
        )
        return occurrence, build_digest(facts, config=context.config, now=now)

    prepared = await context.db.read(prepare)
    if isinstance(prepared, Outcome):
        return prepared
    occurrence, digest = prepared

    def claim(session: Session) -> Outcome:
        # Read again in the claiming transaction: an unsubscribe that landed while the
        # digest was being built wins.
        subscription = session.get(DigestSubscription, subscription_id)
        if subscription is None or not subscription.active:
            return Outcome.GONE
        claimed = claim_run(
            session,
            subscription,
            occurrence,
            claimed_by=claimed_by,
            now=now,
            details=digest.details,
            message=encode(digest.reply),
        )
        return Outcome.SENT if claimed else Outcome.TAKEN

    outcome = await context.db.write(claim)
    if outcome is Outcome.SENT:
        log.info("digest %d for %s queued", subscription_id, occurrence.key)
        context.outbox_changed()
    return outcome
