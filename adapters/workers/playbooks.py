"""The playbook sweeps the scheduler's leader runs: the day's triggers, and late plays.

Each scheduler round (every `CLOSELOOP_LEADER_CHECK_SECONDS`, a minute by default, as the
follow-up SLA check) the leader reminds about and escalates the plays that became late
(`metrics_core.playbooks.overdue`). Once a day, as soon as the day's snapshot is stored
(by the scheduler itself or by `closeloop snapshot` from cron), it starts the runs the
daily triggers fire (`metrics_core.playbooks.triggers`). Both are exactly once across
replicas by what they write (a run's unique open key, a play's stamps), not by leadership:
a replica that takes over in the middle of the day sweeps again and finds nothing new.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics_core.clock import Clock
from metrics_core.config import Config
from metrics_core.delivery.targets import Target
from metrics_core.playbooks.overdue import OverdueRun, run_overdue
from metrics_core.playbooks.triggers import due_firings, start_firings
from metrics_core.store.db import Database
from metrics_core.store.models import HealthSnapshot

log = logging.getLogger(__name__)


def _nothing() -> None:
    return None


class PlaybookSweeps:
    def __init__(
        self,
        db: Database,
        config: Config,
        *,
        clock: Clock,
        fallback: Target | None = None,
        outbox_changed: Callable[[], None] = _nothing,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.fallback = fallback
        """Where a run's checklist goes when its owner has no chat identity, and where late
        plays escalate without managers' conversations (the operator's alerts target)."""
        self.outbox_changed = outbox_changed
        self.triggered_on: dt.date | None = None
        """The day this process last ran the daily triggers for."""

    async def triggers(self) -> int | None:
        """Start the runs today's triggers fire, once today's snapshot is stored; how many
        started (None: not run, the snapshot is not there yet or today's ran already)."""
        today = self.clock().date()
        if self.triggered_on == today or not self.config.playbooks:
            return None

        def stored(session: Session) -> bool:
            found = select(HealthSnapshot.day).where(HealthSnapshot.day == today).limit(1)
            return session.scalar(found) is not None

        if not await self.db.read(stored):
            return None
        # Read outside the writing transaction (it reads the whole book), then started
        # where each start is checked again.
        firings = await self.db.read(
            functools.partial(due_firings, config=self.config, as_of=today)
        )
        now = self.clock()
        started = await self.db.write(
            functools.partial(start_firings, firings=firings, now=now, fallback=self.fallback)
        )
        self.triggered_on = today
        log.info("playbooks: %d run(s) started by today's triggers", started)
        if started:
            self.outbox_changed()
        return started

    async def overdue(self) -> OverdueRun:
        """Remind about and escalate the plays that are late now."""
        now = self.clock()
        done = await self.db.write(
            functools.partial(run_overdue, config=self.config, now=now, fallback=self.fallback)
        )
        if done.reminded or done.escalated:
            log.info(
                "playbooks: %d late play(s) reminded, %d escalated", done.reminded, done.escalated
            )
            self.outbox_changed()
        return done

    async def sweep(self) -> None:
        """One round of both; a failure is logged and the next round tries again."""
        try:
            await self.triggers()
        except Exception:
            log.exception("playbook triggers failed; the next round tries again")
        try:
            await self.overdue()
        except Exception:
            log.exception("late playbook plays could not be checked; the next round tries again")
