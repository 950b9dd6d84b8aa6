"""`POST /ingest/usage`: a bearer token, a Segment-spec body, and an answer after the commit.

- **401** without `Authorization: Bearer <CLOSELOOP_INGEST_TOKEN>`, or with another
  token (compared in constant time, before the body is read as JSON), with a
  `WWW-Authenticate: Bearer` challenge (RFC 6750, section 3).
- **400** for a body that is not JSON, or calls the spec does not allow; the reason names
  the field and the call's place in the batch, and nothing is stored.
- **413** for a body over the service's cap, before it is read (the HTTP application's).
- **200** once the request's events are committed, with what became of them:
  `{"received", "accepted", "duplicates", "unmatched", "late", "ignored"}`
  (`metrics_core.usage.ingest.Ingested`).
- **503** when the database fails: nothing was stored, and a retry is safe.

The route exists only when the token is set (and not blank), as every route exists only
with what authenticates it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from adapters.platforms.ingest.segment import EventError, parse
from metrics_core.clock import Clock, utc_now
from metrics_core.store.db import Database
from metrics_core.usage.events import Message
from metrics_core.usage.ingest import Ingested, KnownActiveUsers, ingest_requests, prune

log = logging.getLogger(__name__)

PRUNE_EVERY = dt.timedelta(minutes=10)
"""How often a process clears message ids and active users nothing can reach any more."""
GROUP_BYTES = 4 * 1024**2
"""The most request bodies one round of the writer takes: four of the largest the service
reads, about eight of Segment's largest batches (500 KB)."""

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="closeloop"'}
_REFUSED = {"WWW-Authenticate": 'Bearer realm="closeloop", error="invalid_token"'}


def _digest(value: str) -> bytes:
    # Compared as digests, so neither the comparison nor its length says anything of the token.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


@dataclass(slots=True)
class _Waiting:
    """A request waiting for the writer: its body, when it arrived, and, once read, its
    calls or why they were refused."""

    body: bytes
    arrived: dt.datetime
    stored: asyncio.Future[Ingested]
    messages: list[Message] | None = None
    refused: EventError | None = None


class UsageIngest:
    """The route's state: the token it accepts, where events go, and when it last pruned.

    Requests are handled by one writer at a time per process, each round taking every
    request that arrived while the previous round was being written (up to
    `GROUP_BYTES` of bodies): under load, many requests share one transaction's fixed
    costs (a commit, the watermark, the inputs versions), and alone, a request waits for
    nobody. The writer reads the bodies on the database's thread, before its transaction
    begins: the event loop keeps to HTTP, and no thread waits on another for the
    interpreter while the database works. A request is answered once the transaction
    holding it has committed, or once its body is found wrong (400), whatever became of
    the others. When a shared transaction fails, its requests are written again one by
    one, so one request's failure is never another's.
    """

    def __init__(self, token: str, db: Database, clock: Clock = utc_now) -> None:
        if not token.strip():
            raise ValueError("an empty ingest token would let anyone in")
        self._token = _digest(token)
        self._db = db
        self._clock = clock
        self._pruned: dt.datetime | None = None
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._known = KnownActiveUsers()

    def __repr__(self) -> str:
        return "UsageIngest(token=**********)"

    def authorised(self, header: str | None) -> bool | None:
        """True for the right bearer token, False for another, None when there is none."""
        scheme, _, presented = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return None
        return hmac.compare_digest(_digest(presented.strip()), self._token)

    async def receive(self, request: web.Request) -> web.Response:
        allowed = self.authorised(request.headers.get("Authorization"))
        if allowed is None:
            return _error(401, "an Authorization: Bearer token is required", _CHALLENGE)
        if not allowed:
            return _error(401, "the bearer token is not the one this service accepts", _REFUSED)
        body = await request.read()
        try:
            done = await self.store(body)
        except EventError as error:
            log.info("usage events refused (400): %s", error.message)
            return _error(400, error.message)
        except Exception as error:  # the sender retries on 5xx; the log says why
            log.error("usage events not stored: %s", type(error).__name__)
            return _error(503, "the events could not be stored; retry")
        return web.json_response(done.as_dict())

    async def store(self, body: bytes) -> Ingested:
        """Store one request body's calls; returns once they are committed.

        Raises `EventError` for a body that is not JSON or holds a call the spec does not
        allow (nothing of it is stored), and the database's error when it fails.
        """
        loop = asyncio.get_running_loop()
        waiting = _Waiting(body, self._clock(), loop.create_future())
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        return await asyncio.shield(waiting.stored)

    async def _write_waiting(self) -> None:
        while self._waiting:
            group = self._next_group()
            now = self._clock()
            try:
                stored = await self._write(group, now)
            except Exception as error:
                _answer_refused(group)
                readable = [waiting for waiting in group if waiting.messages is not None]
                if len(readable) == 1:
                    _settle(readable[0].stored, error=error)
                else:
                    await self._write_alone(readable, now)
            else:
                _answer_refused(group)
                for waiting, done in stored:
                    _settle(waiting.stored, done)
            await self._prune(now)

    def _next_group(self) -> list[_Waiting]:
        """The requests waiting longest, up to `GROUP_BYTES` of bodies (at least one)."""
        group: list[_Waiting] = []
        size = 0
        while self._waiting and (not group or size + len(self._waiting[0].body) <= GROUP_BYTES):
            group.append(self._waiting.pop(0))
            size += len(group[-1].body)
        return group

    async def _write_alone(self, group: list[_Waiting], now: dt.datetime) -> None:
        """After a shared transaction failed: each request in its own, so that one
        request's failure is its own."""
        for waiting in group:
            try:
                ((_, done),) = await self._write([waiting], now)
            except Exception as error:
                _settle(waiting.stored, error=error)
            else:
                _settle(waiting.stored, done)

    async def _write(
        self, group: list[_Waiting], now: dt.datetime
    ) -> list[tuple[_Waiting, Ingested]]:
        return await self._db.write(partial(self._read_and_store, group=group, now=now))

    def _read_and_store(
        self, session: Session, group: list[_Waiting], now: dt.datetime
    ) -> list[tuple[_Waiting, Ingested]]:
        """On the database's thread: read the bodies not read yet, then store the calls
        of those that are right, in the session's transaction. The transaction begins
        only when something is stored: bodies that are all wrong touch no database."""
        for waiting in group:
            if waiting.messages is None and waiting.refused is None:
                try:
                    waiting.messages = parse(_decoded(waiting.body), waiting.arrived)
                except EventError as error:
                    waiting.refused = error
        readable = [waiting for waiting in group if waiting.messages is not None]
        if not readable:
            return []
        requests = [waiting.messages or [] for waiting in readable]
        done = ingest_requests(session, requests, now, self._known)
        return list(zip(readable, done, strict=True))

    async def _prune(self, now: dt.datetime) -> None:
        if self._pruned is not None and now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        try:
            await self._db.write(partial(prune, now=now))
        except Exception as error:  # only bookkeeping: the next round tries again
            log.warning("clearing old usage event ids failed: %s", type(error).__name__)


def _answer_refused(group: list[_Waiting]) -> None:
    for waiting in group:
        if waiting.refused is not None:
            _settle(waiting.stored, error=waiting.refused)


def _settle(
    future: asyncio.Future[Ingested],
    result: Ingested | None = None,
    *,
    error: BaseException | None = None,
) -> None:
    """Answer a waiting request, unless it has gone away (its client disconnected)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    elif result is not None:
        future.set_result(result)


def _decoded(body: bytes) -> Any:
    if not body.strip():
        raise EventError("body", "is empty; expected a JSON object")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        reason = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
        raise EventError("body", f"is not JSON ({reason})") from None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)
