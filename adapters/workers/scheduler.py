"""The scheduler: digests on time, the day's snapshot, on the one replica that leads.

Its rounds also run the playbook sweeps (`adapters.workers.playbooks`): late plays each
round, the day's triggers once the day's snapshot is stored.

APScheduler (3.x, `AsyncIOScheduler`) holds one cron job per active subscription, rebuilt
from the subscriptions table whenever this process becomes leader and kept in step with it
afterwards. Jobs live in memory on purpose: the table is the truth, and a job store would
be a second copy to keep consistent.

Job settings, chosen deliberately:
* explicit ids (`digest:<id>`), so a rebuild replaces jobs instead of doubling them;
* `coalesce=True`: several missed runs of one job are one run (one digest, not three);
* `misfire_grace_time` = `digests.catch_up_hours`: a run delayed (a blocked loop, a
  suspended VM) still happens if it is at most that late;
* `max_instances=1`: a slow digest build is never overlapped by the next.

A sweep every `sweep_seconds` sends whatever is due and unclaimed (`send_due` decides),
which covers the start after downtime (catch-up), leader failover in the middle of the
morning, and any run the cron trigger missed. The claim in `digest_runs` is what makes
each digest go out once; leadership only keeps the other replicas from doing the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import os
import socket
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from adapters.observability.telemetry import Telemetry
from adapters.workers.digest_runs import Outcome, send_due
from adapters.workers.leader import Leadership
from adapters.workers.playbooks import PlaybookSweeps
from bot.context import BotContext
from metrics_core.churn.daily_model import RiskModels
from metrics_core.clock import Clock, utc_now
from metrics_core.delivery.targets import Target
from metrics_core.digests.subscriptions import Schedule, active_subscriptions, due_occurrence
from metrics_core.health.daily import take_snapshot
from metrics_core.store.db import Database
from metrics_core.store.models import DigestRun, HealthSnapshot

log = logging.getLogger(__name__)

SNAPSHOT_JOB = "snapshot"


def digest_trigger(schedule: Schedule) -> CronTrigger:
    """The cron trigger of a subscription, in its own time zone (so DST is the zone's)."""
    return CronTrigger(
        day_of_week=None if schedule.weekday is None else schedule.weekday,
        hour=schedule.local_time.hour,
        minute=schedule.local_time.minute,
        second=0,
        timezone=ZoneInfo(schedule.timezone),
    )


class DigestScheduler:
    def __init__(
        self,
        context: BotContext,
        database: Database,
        leadership: Leadership,
        risk: RiskModels,
        *,
        clock: Clock = utc_now,
        sweep_seconds: float = 60.0,
        fallback: Target | None = None,
        identity: str | None = None,
        changed: asyncio.Event | None = None,
        telemetry: Telemetry | None = None,
        playbooks: PlaybookSweeps | None = None,
    ) -> None:
        self.telemetry = telemetry
        self.playbooks = playbooks
        """The playbook sweeps this scheduler's rounds run while it leads: late plays every
        round, the day's triggers once the day's snapshot is stored."""
        self._leading = False
        self.context = context
        self.database = database
        self.leadership = leadership
        self.risk = risk
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self.fallback = fallback
        """Where account alerts no rule routes go (the operator's configured alerts target)."""
        self.identity = identity or f"{socket.gethostname()}:{os.getpid()}"
        self.grace = dt.timedelta(hours=context.config.digests.catch_up_hours)
        self.scheduler = AsyncIOScheduler(timezone=dt.UTC)
        self.leading = False
        self._jobs: dict[int, Schedule] = {}
        self._changed = changed or asyncio.Event()

    @property
    def leading(self) -> bool:
        """Whether this process runs the scheduler now (exported as a gauge)."""
        return self._leading

    @leading.setter
    def leading(self, value: bool) -> None:
        self._leading = value
        if self.telemetry is not None:
            self.telemetry.leader.set(1 if value else 0)

    def changed(self) -> None:
        """Subscriptions changed (a chat command): bring the jobs in step now."""
        self._changed.set()

    # --- what the jobs do ---------------------------------------------------------------

    async def fire(self, subscription_id: int) -> Outcome:
        """Send this subscription's digest if it is due and nobody has."""
        try:
            outcome = await send_due(
                self.context,
                subscription_id,
                now=self.clock(),
                grace=self.grace,
                claimed_by=self.identity,
            )
        except Exception:
            log.exception("digest %d failed; the next sweep retries", subscription_id)
            outcome = Outcome.FAILED
        if self.telemetry is not None:
            self.telemetry.digest_runs.labels(outcome.value).inc()
        return outcome

    def _due_unclaimed(self, session: Session) -> list[int]:
        now = self.clock()
        due = {}
        for subscription in active_subscriptions(session):
            occurrence = due_occurrence(subscription, now, self.grace)
            if occurrence is not None:
                due[(subscription.id, occurrence.key)] = subscription.id
        if not due:
            return []
        claimed = {
            (row[0], row[1])
            for row in session.execute(
                select(DigestRun.subscription_id, DigestRun.period).where(
                    tuple_(DigestRun.subscription_id, DigestRun.period).in_(list(due))
                )
            )
        }
        return [sid for key, sid in due.items() if key not in claimed]

    async def sweep(self) -> list[Outcome]:
        """Send every digest that is due and unclaimed (start, failover, missed runs)."""
        pending = await self.context.db.read(self._due_unclaimed)
        return [await self.fire(subscription_id) for subscription_id in pending]

    async def snapshot(self) -> None:
        """Store today's snapshot (health and churn risk) unless it is there already.

        Today's churn model starts training first, so questions await the model and not
        the whole book's scoring, which runs after it on the same worker (never on a
        thread requests use).
        """
        today = self.clock().date()

        def missing(session: Session) -> bool:
            return (
                session.scalar(select(HealthSnapshot.day).where(HealthSnapshot.day == today))
                is None
            )

        if not await self.context.db.read(missing):
            return
        started = self.clock()
        self.risk.start(self.database, today)
        run = await self.risk.run(
            functools.partial(
                take_snapshot,
                self.database,
                self.risk,
                self.context.config,
                today,
                started,
                fallback=self.fallback,
            )
        )
        log.info("stored today's snapshot; %d account alerts queued", run.alerts)
        if run.alerts:
            self.context.outbox_changed()

    # --- keeping the jobs in step with the table ----------------------------------------

    async def sync(self) -> None:
        wanted = await self.context.db.read(
            lambda session: {s.id: Schedule.of(s) for s in active_subscriptions(session)}
        )
        for subscription_id in set(self._jobs) - set(wanted):
            with contextlib.suppress(Exception):
                self.scheduler.remove_job(f"digest:{subscription_id}")
            del self._jobs[subscription_id]
        for subscription_id, schedule in wanted.items():
            if self._jobs.get(subscription_id) == schedule:
                continue
            self.scheduler.add_job(
                self.fire,
                digest_trigger(schedule),
                args=(subscription_id,),
                id=f"digest:{subscription_id}",
                name=f"digest {subscription_id}: {schedule.describe()}",
                replace_existing=True,
                coalesce=True,
                misfire_grace_time=max(1, int(self.grace.total_seconds())),
                max_instances=1,
            )
            self._jobs[subscription_id] = schedule

    def _snapshot_job(self) -> None:
        at = self.context.config.digests.snapshot_at
        if at == "off":
            return
        hour, minute = map(int, at.split(":"))
        self.scheduler.add_job(
            self.snapshot,
            CronTrigger(hour=hour, minute=minute, timezone=dt.UTC),
            id=SNAPSHOT_JOB,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=6 * 3600,
            max_instances=1,
        )

    async def _lead(self) -> None:
        log.info("this process (%s) now runs the scheduler", self.identity)
        self.leading = True
        self._jobs.clear()
        self.scheduler.remove_all_jobs()
        self._snapshot_job()
        await self.sync()
        if self.context.config.digests.snapshot_at != "off":
            try:
                await self.snapshot()
            except Exception:
                log.exception("today's snapshot failed; digests use the latest one")
        await self.sweep()
        if self.playbooks is not None:
            await self.playbooks.sweep()

    def _step_down(self) -> None:
        log.warning("this process no longer runs the scheduler")
        self.leading = False
        self.scheduler.remove_all_jobs()
        self._jobs.clear()

    async def tick(self) -> None:
        """One round: take or check leadership, then keep jobs in step and sweep."""
        if not self.leading:
            if await self.leadership.acquire():
                await self._lead()
            return
        if not await self.leadership.still_leading():
            self._step_down()
            return
        await self.sync()
        await self.sweep()
        if self.playbooks is not None:
            await self.playbooks.sweep()

    async def run(self, stop: asyncio.Event) -> None:
        """Lead when possible, until `stop`; jobs fire on the running event loop."""
        self.scheduler.start()
        try:
            while not stop.is_set():
                self._changed.clear()
                try:
                    await self.tick()
                except Exception:
                    log.exception("scheduler round failed; trying again")
                waits = [
                    asyncio.ensure_future(stop.wait()),
                    asyncio.ensure_future(self._changed.wait()),
                ]
                await asyncio.wait(
                    waits, timeout=self.sweep_seconds, return_when=asyncio.FIRST_COMPLETED
                )
                for waiting in waits:
                    waiting.cancel()
        finally:
            self.scheduler.shutdown(wait=False)
            if self.leading:
                await self.leadership.release()
                self.leading = False
