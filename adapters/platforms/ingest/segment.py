"""Product-usage events in the Segment spec, read off the wire and made plain for `ingest`.

Product analytics tools (Segment, and RudderStack, Jitsu and others that speak the same
spec) forward what users do as *calls*. Closeloop reads three of them:

- `track`: a user did something (`event`, the action's name, with `properties`);
- `identify`: who a user is (`traits`, of which `email` is read);
- `group`: a user belongs to a group, here an account (`groupId`, and `traits`).

Every call carries the common fields: `type`, `messageId` (unique per message, so a
redelivery is recognisable), `userId` and/or `anonymousId` (at least one), `timestamp`
(ISO-8601, when it happened) and `context` (of which `groupId`, the group the call was
made in, is read). Several calls travel as `{"batch": [...]}`, at most 2,500 of them, as
Segment's HTTP Tracking API takes them; a batch-level `context` applies to each message
that does not say otherwise. `page`, `screen` and `alias` are valid calls that say
nothing about product usage per account: they are recognised and left aside.

Sources (Segment documentation, now part of Twilio Docs):
- Spec: Common fields, https://www.twilio.com/docs/segment/connections/spec/common
- Spec: Track, https://www.twilio.com/docs/segment/connections/spec/track
- Spec: Identify, https://www.twilio.com/docs/segment/connections/spec/identify
- Spec: Group (reserved group traits such as `website`),
  https://www.twilio.com/docs/segment/connections/spec/group
- HTTP API source (the batch: 2,500 messages, a `userId` or `anonymousId` on each,
  `event` on each track),
  https://www.twilio.com/docs/segment/connections/sources/catalog/libraries/server/http-api

What is refused, and how: anything the spec requires and a message lacks (a track
without `event`, a message without `messageId` or any user id), a field of the wrong
type, a date that is not ISO-8601, and text no column can hold (a NUL, an id over 200
characters) raise `EventError`, whose message names the field and the message's place
in the batch, e.g. `body: field 'batch[3].messageId': is required`. One bad message
refuses the whole request, so a sender's retry after fixing it cannot count the rest
twice. Free-form values the spec leaves to the sender (other traits and properties)
are never refused.

The plain form, `metrics_core.usage.events.Message`, is what the metrics core stores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from metrics_core.usage.events import (
    CALLS,
    GROUP,
    IDENTIFY,
    MAX_ID_CHARS,
    TRACK,
    Message,
    feature_name,
    user_key,
)

MAX_MESSAGES = 2_500
"""Messages per request at most: the batch limit of Segment's HTTP Tracking API."""


class EventError(ValueError):
    """A request refused: `path` names the field (`batch[3].messageId`), `problem` says why."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"body: field '{self.path}': {self.problem}"


def parse(document: object, now: dt.datetime) -> list[Message]:
    """The messages of one request body (already decoded JSON), or `EventError`.

    `now` (timezone-aware) is when the request arrived: a message without a `timestamp`
    happened then, and one dated later (a client's clock running fast) is taken as then.
    """
    if not isinstance(document, dict):
        raise EventError(
            "body", f"expected a JSON object (one call, or a batch), got {_kind(document)}"
        )
    if "batch" not in document:
        return [_message(document, "", 0, now, None)]
    items = document["batch"]
    if not isinstance(items, list):
        raise EventError("batch", f"expected a list of calls, got {_kind(items)}")
    if len(items) > MAX_MESSAGES:
        raise EventError("batch", f"{len(items):,} calls; at most {MAX_MESSAGES:,} per request")
    shared = _object(document.get("context"), "", "context")
    return [_message(item, f"batch[{n}].", n, now, shared) for n, item in enumerate(items)]


_CALL_NAMES = frozenset(CALLS)


def _message(
    item: object, where: str, index: int, now: dt.datetime, shared: Mapping[str, Any] | None
) -> Message:
    """One call; `where` prefixes its fields' paths in errors (`batch[3].`)."""
    if type(item) is not dict:
        raise EventError(where.rstrip(".") or "body", f"expected a call object, got {_kind(item)}")
    get = item.get
    call = get("type")
    if type(call) is not str or call not in _CALL_NAMES:
        shown = repr(call[:40]) if isinstance(call, str) else _kind(call)
        problem = "is required" if call is None else f"{shown} is not a call"
        raise EventError(f"{where}type", f"{problem}; one of {', '.join(CALLS)}")
    message_id = _id(get("messageId"), where, "messageId")
    if message_id is None:
        raise EventError(f"{where}messageId", "is required: it is what makes a redelivery harmless")
    users = _users(get("userId"), get("anonymousId"), where)
    at = _instant(get("timestamp"), where, now)
    context = _object(get("context"), where, "context")
    group_id = _id(context.get("groupId"), where, "context.groupId") if context else None
    if group_id is None and shared:
        group_id = _id(shared.get("groupId"), "", "context.groupId")
    if call == TRACK:
        event = _text(get("event"), where, "event")
        if event is None:
            raise EventError(f"{where}event", "is required on a track call: the action's name")
        properties = _object(get("properties"), where, "properties")
        named = (
            _text(properties.get("feature"), where, "properties.feature") if properties else None
        )
        feature = feature_name(named if named is not None else event)
        return Message(index, message_id, call, users, at, group_id, None, None, feature)
    if call == GROUP:
        group_id = _id(get("groupId"), where, "groupId")
        if group_id is None:
            raise EventError(f"{where}groupId", "is required on a group call")
        traits = _object(get("traits"), where, "traits") or {}
        domain = _domain(traits.get("domain")) or _domain(traits.get("website"))
        return Message(index, message_id, call, users, at, group_id, domain)
    if call == IDENTIFY:
        traits = _object(get("traits"), where, "traits") or {}
        email = traits.get("email")
        address = email.strip().lower() if isinstance(email, str) and "\x00" not in email else None
        return Message(index, message_id, call, users, at, group_id, None, address or None)
    return Message(index, message_id, call, users, at)


def _users(user: object, anonymous: object, where: str) -> tuple[str, ...]:
    user = _id(user, where, "userId")
    anonymous = _id(anonymous, where, "anonymousId")
    if user is None:
        if anonymous is None:
            raise EventError(
                f"{where}userId", "is required, or anonymousId: every call says whose it is"
            )
        return (user_key("anonymous", anonymous),)
    if anonymous is None:
        return (user_key("user", user),)
    return user_key("user", user), user_key("anonymous", anonymous)


def _kind(value: object) -> str:
    """How a JSON value is described in a message: its type, never its (maybe long) text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _text(value: object, where: str, name: str, limit: int | None = None) -> str | None:
    """Text, None when absent or empty; a NUL or more than `limit` characters is refused."""
    if value is None:
        return None
    if type(value) is not str:
        raise EventError(f"{where}{name}", f"expected text, got {_kind(value)}")
    if "\x00" in value:
        raise EventError(f"{where}{name}", "contains a NUL character, which no text column holds")
    if limit is not None and len(value) > limit:
        raise EventError(f"{where}{name}", f"is {len(value):,} characters long; at most {limit}")
    return value or None


def _id(value: object, where: str, name: str) -> str | None:
    """An id: text, or a whole number as some libraries send user ids."""
    if type(value) is int:
        value = str(value)
    return _text(value, where, name, MAX_ID_CHARS)


def _object(value: object, where: str, name: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if type(value) is not dict:
        raise EventError(f"{where}{name}", f"expected an object, got {_kind(value)}")
    return value


def _instant(value: object, where: str, now: dt.datetime) -> dt.datetime:
    if value is None:
        return now
    if type(value) is not str:
        raise EventError(
            f"{where}timestamp", f"expected an ISO-8601 date and time, got {_kind(value)}"
        )
    try:
        moment = dt.datetime.fromisoformat(value)
        # No offset: UTC, as the spec's timestamps are written.
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        elif moment.utcoffset():
            moment = moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise EventError(
            f"{where}timestamp", f"{shown!r} is not an ISO-8601 date and time"
        ) from None
    return moment if moment < now else now


def _domain(value: object) -> str | None:
    """The host of a domain or website trait ("https://www.acme.example/" → acme.example)."""
    if not isinstance(value, str) or "\x00" in value or not value.strip():
        return None
    text = value.strip().lower()
    try:
        host = urlsplit(text if "//" in text else f"//{text}").hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".")
    return host.removeprefix("www.") or None
