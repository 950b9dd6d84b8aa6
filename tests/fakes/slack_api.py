"""A local Slack: the Web API methods Closeloop calls, and response_url endpoints.

It records every request as received (method, parsed body, headers) so tests can assert
what a user would see in Slack, and can play an outage: a scripted plan of failures (`fail`)
answers the next calls of a method, or of any method, with 429 and `Retry-After`, or with
a 5xx, optionally after the call took effect (Slack's `fatal_error`: "some aspect of the
operation succeeded"), so tests prove the client waits as asked and never posts twice.
Every attempt is logged with its time and status, so a test can tell waiting from hammering.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass
class Call:
    method: str  # a Web API method ("views.publish") or "respond"
    body: dict[str, Any]
    headers: dict[str, str]
    token: str = ""  # for "respond": the response_url's token, i.e. whose answer it is
    via: str = "response_url"  # for "respond": or "ack", the answer in the acknowledgement


@dataclass(frozen=True)
class Failure:
    """One scripted failure: the status to answer, and whether the call took effect first."""

    method: str | None  # None: any Web API method (an outage)
    status: int
    retry_after: str | None
    landed: bool


@dataclass(frozen=True)
class Attempt:
    """A Web API request as it was answered: when it arrived (monotonic seconds), what it
    asked, and the status it got."""

    method: str
    body: dict[str, Any]
    status: int
    at: float


def _dm(user: str) -> str:
    """The direct-message channel id Slack would give the bot's DM with `user`."""
    return "D" + user[1:]


def _failed(failure: Failure) -> web.Response:
    """The error as Slack's edge answers it: JSON from the API, an HTML page from a gateway."""
    headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
    if failure.status == 429:
        return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
    if failure.status == 500:
        return web.json_response({"ok": False, "error": "fatal_error"}, status=500, headers=headers)
    return web.Response(
        text=f"<html><body>{failure.status} Service Unavailable</body></html>",
        status=failure.status,
        content_type="text/html",
        headers=headers,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    rate_limited: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _runner: web.AppRunner | None = None
    acks: list[dict[str, Any]] = field(default_factory=list)
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    base_url: str = ""
    # What each channel shows: ts -> message (text, blocks, metadata), as chat.* left it.
    channels: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    # Methods that record the call, store the message, and then never answer (a crash test
    # kills the caller while it waits).
    hang_after_recording: set[str] = field(default_factory=set)
    # users.info answers: user id -> IANA time zone (default UTC).
    timezones: dict[str, str] = field(default_factory=dict)
    # Methods that take effect at once and answer this many seconds later (a slow Slack).
    delays: dict[str, float] = field(default_factory=dict)
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    # The failure plan, consumed in order, and every Web API request as answered.
    _failures: list[Failure] = field(default_factory=list)
    log: list[Attempt] = field(default_factory=list)
    # Socket Mode envelopes pushed, by id: their response_url's token, for answers in acks.
    _envelopes: dict[str, str] = field(default_factory=dict)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack_sdk GETs a few read methods
        app.router.add_post("/respond/{token}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = _free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        self._release.set()
        for connection in self._sockets:
            await connection.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, token: str = "t1") -> str:
        return f"{self.base_url}/respond/{token}"

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query)
        raw = await request.text()
        if request.content_type == "application/json":
            parsed: dict[str, Any] = json.loads(raw) if raw else {}
        else:
            parsed = dict(parse_qsl(raw))
        for key in ("blocks", "view"):
            if isinstance(parsed.get(key), str):
                parsed[key] = json.loads(parsed[key])
        return parsed

    def fail(
        self,
        method: str | None,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        landed: bool = False,
    ) -> None:
        """Answer the next `times` calls of `method` (of any method when None) with `status`.

        Plans queue in order: `fail("chat.postMessage", 429, retry_after="1")` then
        `fail(None, 503, times=3)` rate-limits the next post, then fails the next three
        calls of any method. `landed` does the call's work (the message is posted or
        edited) before answering with the error, as a 5xx after the fact does.
        """
        self._failures.extend(Failure(method, status, retry_after, landed) for _ in range(times))

    @property
    def planned(self) -> int:
        """How many scripted failures are still to be answered."""
        return len(self._failures)

    def _next_failure(self, method: str) -> Failure | None:
        if self.rate_limited[method] > 0:
            self.rate_limited[method] -= 1
            return Failure(method, 429, "1", landed=False)
        for failure in self._failures:
            if failure.method in (None, method):
                self._failures.remove(failure)
                return failure
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        arrived = time.monotonic()
        self.attempts[method] += 1
        failure = self._next_failure(method)
        if failure is None:
            response = await self._answer(method, request)
        else:
            if failure.landed:
                await self._answer(method, request)
            response = _failed(failure)
        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        self.log.append(Attempt(method, await self._body(request), response.status, arrived))
        return response

    async def _answer(self, method: str, request: web.Request) -> web.Response:
        body = await self._body(request)
        self.calls.append(Call(method, body, dict(request.headers)))
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "user_id": "UBOT",
                    "bot_id": "BBOT",
                    "team_id": "T111",
                    "user": "closeloop",
                }
            )
        if method == "apps.connections.open":
            return web.json_response(
                {"ok": True, "url": self.base_url.replace("http", "ws") + "/socket"}
            )
        if method in ("views.publish", "views.open"):
            return web.json_response({"ok": True, "view": {"id": "V1", **body.get("view", {})}})
        if method == "chat.postMessage":
            return await self._post_message(method, body)
        if method == "chat.update":
            channel = self.channels.get(str(body.get("channel")), {})
            if body.get("ts") not in channel:
                return web.json_response({"ok": False, "error": "message_not_found"})
            channel[str(body["ts"])].update(text=body.get("text"), blocks=body.get("blocks"))
            return web.json_response({"ok": True, "channel": body["channel"], "ts": body["ts"]})
        if method == "chat.postEphemeral":
            return web.json_response({"ok": True, "message_ts": self._next_ts()})
        if method == "users.info":
            user = str(body.get("user"))
            return web.json_response(
                {"ok": True, "user": {"id": user, "tz": self.timezones.get(user, "UTC")}}
            )
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": _dm(str(body["users"]))}})
        if method == "conversations.history":
            oldest = float(body.get("oldest") or 0)
            messages = [
                {"ts": ts, **message}
                for ts, message in self.channels.get(str(body.get("channel")), {}).items()
                if float(ts) >= oldest
            ]
            return web.json_response({"ok": True, "messages": messages[::-1]})
        return web.json_response({"ok": False, "error": "unknown_method"})

    def attempts_of(self, method: str) -> list[Attempt]:
        return [attempt for attempt in self.log if attempt.method == method]

    def _next_ts(self) -> str:
        # Real time, so that `oldest` in conversations.history means what it says.
        return f"{int(time.time())}.{next(self._ts):06d}"

    async def _post_message(self, method: str, body: dict[str, Any]) -> web.Response:
        address = str(body.get("channel"))
        channel = _dm(address) if address[:1] in ("U", "W") else address
        ts = self._next_ts()
        metadata = body.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        self.channels[channel][ts] = {
            "text": body.get("text"),
            "blocks": body.get("blocks"),
            "metadata": metadata,
        }
        if method in self.hang_after_recording:
            await self._release.wait()  # until the test stops the fake
            return web.json_response({"ok": False, "error": "fatal_error"}, status=500)
        return web.json_response({"ok": True, "channel": channel, "ts": ts})

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """What a channel (or a user's DM, by user id) shows now, oldest first."""
        key = _dm(channel) if channel[:1] in ("U", "W") else channel
        return list(self.channels.get(key, {}).values())

    async def _respond(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        token = request.match_info["token"]
        self.calls.append(Call("respond", body, dict(request.headers), token))
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, then relay envelopes pushed by the test; record acks."""
        connection = web.WebSocketResponse()
        await connection.prepare(request)
        self._sockets.append(connection)
        await connection.send_json({"type": "hello", "num_connections": 1})
        async for message in connection:
            if message.type.name == "TEXT":
                ack = json.loads(message.data)
                self.acks.append(ack)
                token = self._envelopes.get(str(ack.get("envelope_id")), "")
                self._shown_from_ack(ack.get("payload"), token)
        return connection

    def _token_of(self, response_url: str) -> str:
        prefix = f"{self.base_url}/respond/"
        return response_url[len(prefix) :] if response_url.startswith(prefix) else ""

    def _shown_from_ack(self, payload: Any, token: str) -> None:
        """A message in a slash command's acknowledgement is what Slack shows for it, as if
        it had come to the response_url: recorded as a "respond" call, `via="ack"`."""
        if isinstance(payload, dict) and (payload.get("text") or payload.get("blocks")):
            self.calls.append(Call("respond", payload, {}, token, via="ack"))

    async def command(self, url: str, body: str, **options: Any) -> tuple[int, str, float]:
        """Send a signed slash command to `url` as Slack does: (status, body, seconds).

        An answer carried by the acknowledgement shows in the conversation like one sent to
        the response_url later, so tests read both the same way (`wait_for("respond")`).
        """
        from tests.e2e.slack_requests import post_for_type  # which imports this module's Call

        status, text, seconds, media_type = await post_for_type(url, body, **options)
        if status == 200 and text.strip():
            # As Slack reads it: a JSON body is a message only when marked as JSON; any
            # other body is the text of the message, braces and all.
            payload = json.loads(text) if media_type == "application/json" else {"text": text}
            response_url = dict(parse_qsl(body)).get("response_url", "")
            self._shown_from_ack(payload, self._token_of(response_url))
        return status, text, seconds

    async def push(self, envelope: dict[str, Any], within: float = 10.0) -> None:
        """Send an envelope over the first Socket Mode connection, once one exists."""
        deadline = asyncio.get_running_loop().time() + within
        while not self._sockets:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("nobody connected over Socket Mode")
            await asyncio.sleep(0.01)
        response_url = (envelope.get("payload") or {}).get("response_url")
        if isinstance(response_url, str) and "envelope_id" in envelope:
            self._envelopes[str(envelope["envelope_id"])] = self._token_of(response_url)
        await self._sockets[0].send_json(envelope)

    def of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    async def answer_to(self, token: str, within: float = 10.0) -> Call:
        """What was sent to the response_url with `token`, waiting up to `within` seconds."""
        deadline = asyncio.get_running_loop().time() + within
        while not (found := [c for c in self.of("respond") if c.token == token]):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"nothing was sent to the response_url {token!r}")
            await asyncio.sleep(0.01)
        return found[0]

    async def wait_for(self, method: str, count: int = 1, within: float = 10.0) -> list[Call]:
        """The first `count` calls of `method`, waiting up to `within` seconds for them."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.of(method)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{method}: {len(self.of(method))} calls, wanted {count}")
            await asyncio.sleep(0.01)
        return self.of(method)[:count]
