"""Product-usage events as `ingest` takes them: one call of a product analytics tool, plain.

The calls are those of the Segment spec, which product analytics tools (Segment,
RudderStack, Jitsu and others) forward: `track` (a user did something), `identify` (who a
user is), `group` (a user belongs to an account); `page`, `screen` and `alias` carry no
usage per account. Reading them off the wire, and refusing what is wrong, is the HTTP
edge's work (`adapters.platforms.ingest.segment`); this module holds what both sides
agree on.

Users are kept only as `user_key`s: a hash of the id the tool gave, which is often an
email, so the usage tables hold who was active without holding who they are.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass

TRACK = "track"
IDENTIFY = "identify"
GROUP = "group"
OTHER_CALLS = frozenset({"page", "screen", "alias"})
"""Calls of the spec that carry no product usage per account: accepted, left aside."""
CALLS = (TRACK, IDENTIFY, GROUP, *sorted(OTHER_CALLS))

MAX_ID_CHARS = 200
"""The longest `messageId`, `userId`, `anonymousId` or `groupId` taken (the stored
message id's column); real ones are UUIDs or database ids, far shorter."""
FEATURE_CHARS = 64
"""A feature name's length in the product's feature list (`ProductFeature.name`)."""

_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class Message:
    """One call, as `ingest` needs it.

    `users` are `user_key`s, the `userId`'s first: the most stable id the call gives.
    `at` is when the call happened, in UTC and never after the time it was received.
    `group_id` is a group call's `groupId` or another call's `context.groupId`; `domain`
    a group's `traits.domain` or `traits.website` host; `email` an identify call's
    `traits.email`, lower-cased; `feature` a track call's feature name (see `feature_name`).
    """

    index: int
    message_id: str
    call: str
    users: tuple[str, ...]
    at: dt.datetime
    group_id: str | None = None
    domain: str | None = None
    email: str | None = None
    feature: str | None = None


@functools.lru_cache(maxsize=65_536)
def user_key(kind: str, value: str) -> str:
    """The stored stand-in for a user id: 32 hex digits of its SHA-256, by kind of id.

    `userId` and `anonymousId` are hashed apart (`kind` "user" or "anonymous"), so an
    anonymous id that happens to equal someone's user id is not that user. Kept for the
    users seen lately: the same few users send most events.
    """
    return hashlib.sha256(f"{kind}\x00{value}".encode()).hexdigest()[:32]


@functools.lru_cache(maxsize=4_096)
def feature_name(text: str) -> str | None:
    """A feature's name as the feature list keeps it: lower case, words joined by `_`.

    "Report Exported" becomes `report_exported`, the same name a `feature_report_exported`
    column of a usage file gives, so events and imports count the same feature once.
    """
    name = _NOT_WORD.sub("_", text.casefold()).strip("_")[:FEATURE_CHARS].rstrip("_")
    return name or None
