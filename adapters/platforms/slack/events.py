"""Slack's Events API deliveries, each event processed once: retries are recognised by id.

Slack retries a delivery that got no 2xx within three seconds (`X-Slack-Retry-Num`,
`X-Slack-Retry-Reason`), up to three times over about five minutes. Answering 200 to
every retry without looking, the common workaround (slackapi/bolt-python#731), loses
the events whose first delivery never arrived or whose process died with it. Here each
event callback is claimed by its `event_id` before bolt acknowledges it
(`metrics_core.delivery.seen_events`, shared by every replica and kept across restarts):

- a new event, or one whose earlier attempt died unfinished, is processed;
- one processed already is acknowledged and nothing else happens;
- one that another attempt is processing right now is answered 503, so Slack delivers it
  again later, when it is done (acknowledged then) or that attempt's claim has run out
  (processed then). Acknowledging it instead would lose it if that attempt dies.

The claim is marked done when the listener returns, and given up at once when it
fails. Only events with a listener (`listen`) are claimed. Slash commands and
interactivity carry no event id, and Slack does not retry them: the user is told the
app did not respond. Socket Mode envelopes go through the same middleware; a 503 there
is simply not acknowledged, which Slack retries the same way. (Bolt passes a Socket Mode
envelope's `retry_attempt` on as `X-Slack-Retry-Num`, "0" on a first delivery, so
testing for the header alone would drop every event that arrives over Socket Mode.)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from adapters.workers.inflight import InFlight
from bot.context import Reader
from metrics_core.clock import utc_now
from metrics_core.delivery import seen_events
from metrics_core.delivery.seen_events import Claim

log = logging.getLogger(__name__)

SOURCE = "slack"
_MAX_ID = 128  # the column's width; Slack's ids are a dozen characters

EventListener = Callable[[dict[str, Any], AsyncWebClient], Awaitable[None]]


def _header(request: AsyncBoltRequest, name: str) -> str:
    values = request.headers.get(name) or ()
    return str(values[0]) if values else ""


class SlackEvents:
    """Claims events before bolt acknowledges them, and runs their listeners."""

    def __init__(
        self,
        db: Reader,
        work: InFlight,
        *,
        lease: dt.timedelta = seen_events.LEASE,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.db = db
        self.work = work
        self.lease = lease
        self.clock = clock

    def event_id(self, body: dict[str, Any]) -> str | None:
        """The id to claim the delivery by, if it is a well-formed event callback (the
        claim runs only for events a listener matched, `listen`)."""
        event = body.get("event")
        event_id = body.get("event_id")
        if (
            body.get("type") != "event_callback"
            or not isinstance(event, dict)
            or not isinstance(event_id, str)
            or not 0 < len(event_id) <= _MAX_ID
        ):
            return None
        return event_id

    async def middleware(
        self,
        request: AsyncBoltRequest,
        next: Callable[[], Awaitable[BoltResponse | None]],
    ) -> BoltResponse | None:
        """Claim the event before the acknowledgement; see the module for the answers."""
        event_id = self.event_id(request.body)
        if event_id is None:
            return await next()
        now = self.clock()
        try:
            claim = await self.db.write(
                lambda session: seen_events.claim(
                    session, source=SOURCE, event_id=event_id, now=now, lease=self.lease
                )
            )
        except SQLAlchemyError as error:
            log.warning(
                "Slack event %s not accepted, the database failed (%s): Slack delivers it again",
                event_id,
                type(error).__name__,
            )
            return BoltResponse(status=503, body="")
        # Socket Mode says `retry_attempt: 0` on a first delivery; bolt passes it on as
        # this header, so "0" is no retry.
        retry = _header(request, "x-slack-retry-num").strip()
        retry = "" if retry == "0" else retry
        why = f" (retry {retry}, {_header(request, 'x-slack-retry-reason') or 'no reason'})"
        if claim is Claim.DONE:
            log.info("Slack event %s delivered again%s: processed already", event_id, why)
            return BoltResponse(status=200, body="")
        if claim is Claim.BUSY:
            log.info(
                "Slack event %s delivered again%s while it is being processed: asked for later",
                event_id,
                why,
            )
            return BoltResponse(status=503, body="")
        if retry:
            log.info("Slack event %s delivered again%s: processing it now", event_id, why)
        return await next()

    def listen(self, app: AsyncApp, event_type: str, listener: EventListener) -> None:
        """Handle `event_type` with `listener(event, client)`, once per event."""

        async def process(
            event: dict[str, Any], client: AsyncWebClient, event_id: str | None
        ) -> None:
            try:
                await listener(event, client)
            except Exception:
                log.exception("Slack event %s could not be processed", event_id)
                if event_id is not None:
                    await self._record(seen_events.release, event_id)
                return
            if event_id is not None:
                await self._record(seen_events.finish, event_id)

        async def run(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient) -> None:
            # Bolt acknowledges when this returns: the work goes on in a task of its own.
            self.work.spawn(process(event, client, self.event_id(body)))

        run.__name__ = run.__qualname__ = f"on_{event_type}"  # bolt logs listeners by name
        # The claim runs as this listener's middleware, so other requests (slash commands
        # above all) never pass through it.
        app.event(event_type, middleware=[self.middleware])(run)

    async def _record(self, outcome: Callable[..., None], event_id: str) -> None:
        now = self.clock()
        try:
            await self.db.write(
                lambda session: outcome(session, source=SOURCE, event_id=event_id, now=now)
            )
        except SQLAlchemyError as error:  # the claim runs out by itself
            log.warning(
                "Slack event %s: could not record that it was %s (%s)",
                event_id,
                "processed" if outcome is seen_events.finish else "not processed",
                type(error).__name__,
            )
