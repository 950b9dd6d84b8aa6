"""Sending outbox messages (alerts, digests) to Microsoft Teams, proactively.

Teams has no "post to channel X" call a bot can make cold: it writes into conversations it
has been told about, through the Bot Connector service at the URL that conversation's
activities came from. `metrics_core.delivery.conversation_references` keeps those
references; this module resolves an address to one, builds the card activity, and talks to
the connector.

Failures become the dispatcher's `SendError`:

- 429 (rate limited), 412 (a concurrent edit), 502 and 504 (the connector's upstream) are
  retried here a few times with exponential backoff and jitter, honouring `Retry-After`;
  after that the outbox backs off with the last wait as `retry_after`. Teams rate limits
  per bot and per conversation (msteams-docs, bots/how-to/rate-limit.md), so the wait
  matters more than the count.
- 403 and 404 on a post mean the bot is no longer in that conversation (removed,
  uninstalled, blocked, chat deleted): the reference is marked inactive with the error and
  the send is permanent, until the bot hears from the conversation again.
- An address the bot has never seen is permanent too: only installing the bot (or a user
  writing to it) gives it a reference.

`find` returns None: bots cannot read a Teams conversation's history through the Bot
Connector (reading messages needs Microsoft Graph and its own permissions), so a post
lost to a crash between sending and recording may be sent twice; the dispatcher already
treats the duplicate as the lesser harm compared with a forgotten detractor. The outbox
key still travels in the activity's `channelData`, so it is visible in any export or
trace of the message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ErrorResponseException,
)
from botframework.connector.auth import (  # type: ignore[import-untyped]
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
)
from msrest.exceptions import ClientException

from adapters.platforms.teams.render import card_attachment, render_text
from adapters.workers.dispatch import MessageRef, SendError
from bot.reply import Reply
from metrics_core.clock import utc_now
from metrics_core.delivery import conversation_references
from metrics_core.delivery.conversation_references import StoredReference
from metrics_core.store.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE = frozenset({412, 429, 502, 504})
GONE = frozenset({403, 404})
# Errors no retry can fix: a card Teams refuses (400) or one too large (413).
REFUSED = frozenset({400, 413})
CHANNEL_DATA_KEY = "closeloop"


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """`Retry-After` as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - (now or utc_now())).total_seconds(), 0.0)


class Connectors:
    """Bot Connector clients, one per service URL, authenticated as the bot.

    Built from the adapter's own `BotFrameworkAuthentication`, so proactive sends use the
    same credentials and cloud as replies. Clients are kept, because each holds the
    credentials' token cache: a new client per send would fetch a new token per send.
    The connector's own retries (urllib3's, which differ between versions) are turned
    off; `TeamsSender` decides what to retry.
    """

    def __init__(self, authentication: BotFrameworkAuthentication, app_id: str | None) -> None:
        self._authentication = authentication
        self._app_id = app_id or ""
        self._clients: dict[str, Any] = {}

    def _claims(self) -> ClaimsIdentity:
        return ClaimsIdentity(
            {
                AuthenticationConstants.AUDIENCE_CLAIM: self._app_id,
                AuthenticationConstants.APP_ID_CLAIM: self._app_id,
            },
            True,
        )

    async def client(self, service_url: str) -> Any:
        client = self._clients.get(service_url)
        if client is None:
            factory = self._authentication.create_connector_factory(self._claims())
            client = await factory.create(service_url, None)
            client.config.retry_policy.retries = 0
            client.config.retry_policy.policy.status_forcelist = frozenset()
            self._clients[service_url] = client
        return client


def _status(error: ErrorResponseException) -> tuple[int, str | None]:
    response = getattr(error, "response", None)
    status = int(getattr(response, "status_code", 0) or 0)
    headers = getattr(response, "headers", None) or {}
    return status, headers.get("Retry-After")


def _message(reply: Reply, reference: StoredReference, key: str | None) -> Activity:
    """The card as a message activity addressed to a stored conversation."""
    attachment = card_attachment(reply)
    bot = reference.reference.get("bot") or {}
    activity = Activity(
        type=ActivityTypes.message,
        conversation=ConversationAccount(
            id=reference.conversation_id,
            conversation_type=reference.conversation_type,
            tenant_id=reference.tenant_id,
        ),
        from_property=ChannelAccount(id=bot.get("id"), name=bot.get("name")),
        attachments=[
            Attachment(content_type=attachment["contentType"], content=attachment["content"])
        ],
        summary=render_text(reply),
    )
    if key is not None:
        activity.channel_data = {CHANNEL_DATA_KEY: {"key": key}}
    return activity


class TeamsSender:
    """The dispatcher's `Sender` for Teams: alerts, digests, late answers are all `post`s."""

    def __init__(
        self,
        db: Database,
        connectors: Connectors,
        *,
        attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.db = db
        self.connectors = connectors
        self.attempts = max(1, attempts)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.clock = clock

    async def _reference(self, address: str) -> StoredReference:
        found = await self.db.read(lambda s: conversation_references.find(s, address))
        if found is None:
            raise SendError(
                f"no Teams conversation for {address}: the bot must be installed there "
                "(or, for a person, they must have opened a chat with it) before it can post",
                permanent=True,
            )
        if not found.active:
            raise SendError(
                f"the Teams conversation for {address} is inactive ({found.last_error}); "
                "it becomes active again when the bot is reinstalled or hears from it",
                permanent=True,
            )
        return found

    async def post(self, address: str, reply: Reply, key: str) -> MessageRef:
        reference = await self._reference(address)
        activity = _message(reply, reference, key)
        client = await self.connectors.client(reference.service_url)
        response = await self._call(
            reference,
            lambda: client.conversations.send_to_conversation(reference.conversation_id, activity),
            gone_deactivates=True,
        )
        message_id = getattr(response, "id", None)
        if not message_id:
            raise SendError("Teams accepted the message but gave no activity id")
        return MessageRef(reference.conversation_id, str(message_id))

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        reference = await self._reference(ref.channel)
        activity = _message(reply, reference, None)
        activity.id = ref.message_id
        client = await self.connectors.client(reference.service_url)
        # A 404 here is the message deleted, not the conversation gone; a 403 is the bot
        # removed from it.
        await self._call(
            reference,
            lambda: client.conversations.update_activity(
                reference.conversation_id, ref.message_id, activity
            ),
            gone_deactivates=False,
        )

    async def find(self, address: str, key: str, since: dt.datetime) -> MessageRef | None:
        """Always None: the Bot Connector offers bots no conversation history (see above)."""
        return None

    def _backoff(self, attempt: int) -> float:
        """Exponential, with half of it random, so retries from many sends spread out."""
        ceiling = min(self.max_delay, self.base_delay * float(2**attempt))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    async def _call(
        self,
        reference: StoredReference,
        send: Callable[[], Awaitable[T]],
        *,
        gone_deactivates: bool,
    ) -> T:
        for attempt in range(self.attempts):
            try:
                return await send()
            except ErrorResponseException as error:
                status, retry_header = _status(error)
                failure = f"Teams answered {status}: {error}"
                if status in GONE:
                    if gone_deactivates or status == 403:
                        await self._deactivate(reference, failure)
                    raise SendError(failure, permanent=True) from None
                if status not in RETRYABLE:
                    raise SendError(failure, permanent=status in REFUSED) from None
                wait = retry_after_seconds(retry_header, self.clock())
                delay = wait if wait is not None else self._backoff(attempt)
                if attempt + 1 >= self.attempts or delay > self.max_delay:
                    # Too long to wait inside a delivery: the outbox waits instead.
                    raise SendError(failure, retry_after=delay) from None
                log.info(
                    "Teams %s for %s; retrying in %.1fs",
                    status,
                    reference.conversation_id,
                    delay,
                )
                await self.sleep(delay)
            except ClientException as error:
                # Connection failures and time-outs: the message may or may not have
                # arrived, so the outbox, not this loop, decides when to try again.
                raise SendError(f"Teams unreachable: {type(error).__name__}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _deactivate(self, reference: StoredReference, error: str) -> None:
        now = self.clock()
        await self.db.write(
            lambda s: conversation_references.deactivate(
                s, reference.conversation_id, error=error, now=now
            )
        )
        log.warning("Teams conversation %s marked inactive: %s", reference.conversation_id, error)
