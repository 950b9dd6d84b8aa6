"""The dispatcher: delivers the outbox to chat, at least once and never twice.

Each round leases due rows (so other dispatcher processes skip them), renders each from
current data, and posts it, or edits the message already posted. The platform message id
is recorded after the send; the gap between the two is where a crash could cause a second
post, so before a first post the row is marked as sending, and a row found marked after a
crash is first looked for in the chat (posts carry their outbox key) and only posted when
it is not there.

Platforms plug in as `Sender`s; the dispatcher knows nothing of Slack or Teams. It leases
only rows for platforms it has a sender for: an alert for a platform this process cannot
reach is not a failure of this process, and it waits for one that can (another replica,
or this one restarted with the platform configured); `waiting` says how many there are.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from adapters.observability.telemetry import Telemetry
from bot.messages.alerts import alert_reply
from bot.reply import Reply
from metrics_core import correlation
from metrics_core.clock import utc_now
from metrics_core.config import Config
from metrics_core.delivery import outbox
from metrics_core.delivery.alert_facts import alert_facts
from metrics_core.delivery.outbox import Due
from metrics_core.store.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A posted message, as the platform identifies it for edits."""

    channel: str
    message_id: str


class SendError(Exception):
    """A send that did not happen; `retry_after` as the platform asked, `permanent` if futile."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Sender(Protocol):
    async def post(self, address: str, reply: Reply, key: str) -> MessageRef:
        """Post a new message carrying `key`, so `find` can recognise it later."""

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        """Replace a posted message's content."""

    async def find(self, address: str, key: str, since: dt.datetime) -> MessageRef | None:
        """The message carrying `key` posted to `address` since `since`, if any."""


class Dispatcher:
    def __init__(
        self,
        db: Database,
        config: Config,
        senders: Mapping[str, Sender],
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        batch: int = 20,
        concurrency: int = 8,
        idle_seconds: float = 1.0,
        lease: dt.timedelta = outbox.LEASE,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.db = db
        self.telemetry = telemetry
        self.config = config
        self.senders = dict(senders)
        self.clock = clock
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.lease = lease
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was just committed to the outbox: deliver now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Deliver what is due now; how many rows were attempted."""
        if not self.senders:
            return 0
        now = self.clock()
        platforms = tuple(self.senders)
        due = await self.db.write(
            lambda s: outbox.lease_due(
                s, now, limit=self.batch, lease=self.lease, platforms=platforms
            )
        )
        await asyncio.gather(*(self._guarded(d) for d in due))
        return len(due)

    async def waiting(self) -> dict[str, int]:
        """Pending messages for platforms this dispatcher has no sender for, per platform."""
        pending = await self.db.read(outbox.pending_by_platform)
        return {
            platform: n
            for platform, n in sorted(pending.items())
            if platform not in self.senders and n
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; failures are logged and retried, never fatal."""
        while not stop.is_set():
            try:
                attempted = await self.run_once()
            except Exception:
                log.exception("dispatcher round failed; retrying")
                attempted = 0
            if attempted:
                continue
            self._wake.clear()
            waker = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                (waker, stopper), timeout=self.idle_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for task in (waker, stopper):
                task.cancel()

    async def _guarded(self, due: Due) -> None:
        # Each delivery runs in its own task: its log lines carry the owing request's id.
        correlation.request_id.set(due.details.get(outbox.REQUEST_ID))
        async with self._slots:
            try:
                await self._deliver(due)
            except asyncio.CancelledError:
                # A shutdown's deadline passed mid-send. Nothing is recorded: the row keeps
                # its lease and, for a first post, its in-flight mark, so once the lease
                # runs out the next dispatcher looks for the post before posting.
                log.warning(
                    "delivery %s to %s interrupted by the shutdown; it is sent by the next "
                    "process once its lease runs out",
                    due.id,
                    due.target.platform,
                )
                raise
            except SendError as error:
                await self._failed(due, str(error), error.retry_after, error.permanent)
            except Exception as error:  # a bug in rendering must not stop the others
                log.exception("delivery %s failed", due.id)
                await self._failed(due, f"{type(error).__name__}: {error}", None, False)

    async def _failed(
        self, due: Due, error: str, retry_after: float | None, permanent: bool
    ) -> None:
        now = self.clock()
        wait = dt.timedelta(seconds=retry_after) if retry_after is not None else None
        retrying = await self.db.write(
            lambda s: outbox.mark_failed(
                s, due.id, error=error, now=now, retry_after=wait, permanent=permanent
            )
        )
        level = logging.WARNING if retrying else logging.ERROR
        log.log(level, "delivery %s to %s: %s", due.id, due.target.platform, error)

    async def _deliver(self, due: Due) -> None:
        sender = self.senders.get(due.target.platform)
        if sender is None:
            raise SendError(f"{due.target.platform} is not configured", permanent=True)
        now = self.clock()
        facts = await self.db.read(
            functools.partial(alert_facts, due=due, now=now, config=self.config)
        )
        reply = alert_reply(facts, self.config, now)
        ref = (
            MessageRef(due.message_channel, due.message_id)
            if due.message_channel and due.message_id
            else None
        )
        if ref is None and due.sending_since is not None:
            ref = await self._look_for_lost_post(sender, due)
        first_post = ref is None
        if ref is None:  # the lease marked the row as sending
            ref = await sender.post(due.target.address, reply, due.key)
        else:
            await sender.update(ref, reply)
        found = ref
        await self.db.write(
            lambda s: outbox.mark_delivered(
                s,
                due.id,
                version=due.version,
                channel=found.channel,
                message_id=found.message_id,
                now=self.clock(),
            )
        )
        log.info(
            "delivery %s (%s) %s to %s",
            due.id,
            due.kind,
            "posted" if first_post else "edited",
            due.target.platform,
        )
        if first_post and self.telemetry is not None and due.created_at is not None:
            self.telemetry.delivered(due.kind, due.created_at, self.clock())

    async def _look_for_lost_post(self, sender: Sender, due: Due) -> MessageRef | None:
        """A post was in flight when a previous attempt died: was it posted?"""
        assert due.sending_since is not None
        try:
            found = await sender.find(due.target.address, due.key, due.sending_since)
        except SendError as error:
            if not error.permanent:
                # The platform cannot answer now (rate limit, 5xx, unreachable): look again
                # at the next attempt, rather than take "cannot look" for "not there".
                raise
            # Never able to look (e.g. no history scope): posting risks a duplicate, not
            # posting risks a forgotten detractor; the duplicate is the lesser harm.
            log.warning("delivery %s: cannot check for an earlier post (%s)", due.id, error)
            return None
        if found is not None:
            log.info("delivery %s: found the post made before a restart; editing it", due.id)
        return found
