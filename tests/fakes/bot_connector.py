"""A local Bot Connector service: the `serviceUrl` Teams activities point the bot at.

It implements the Bot Connector REST calls Closeloop makes (v3 conversations: send,
reply, update, create), records each request as received, and keeps what every
conversation shows, so tests assert what a Teams user would see. Chosen calls can be
answered with an error (429 with Retry-After, 412, 502, 403, 404 …) to prove retries,
back-off and deactivation; failures queue in order, so a test can script an outage
("the next two posts 429, then three 502s"). Every attempt is logged with its time and
status, so a test can tell waiting as asked from hammering.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

POST = "post"  # POST /v3/conversations/{id}/activities
REPLY = "reply"  # POST /v3/conversations/{id}/activities/{activityId}
UPDATE = "update"  # PUT /v3/conversations/{id}/activities/{activityId}
CREATE = "create"  # POST /v3/conversations


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Call:
    kind: str
    conversation: str
    activity_id: str | None
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = 0.0  # when it arrived (monotonic seconds)


@dataclass
class Failure:
    status: int
    headers: dict[str, str]
    conversation: str | None  # None: any conversation


@dataclass(frozen=True)
class Attempt:
    """A request as it was answered: the call (with when it arrived) and its status."""

    call: Call
    status: int

    @property
    def at(self) -> float:
        return self.call.at


@dataclass
class FakeBotConnector:
    calls: list[Call] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # What each conversation shows: activity id -> the activity as last posted or edited.
    conversations: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    _failures: dict[str, list[Failure]] = field(default_factory=lambda: defaultdict(list))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1700000000001))
    _runner: web.AppRunner | None = None
    base_url: str = ""
    log: list[Attempt] = field(default_factory=list)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._post)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._reply)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = _free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base_url = f"http://127.0.0.1:{port}"
        return self.service_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/"

    def fail(
        self,
        kind: str,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        conversation: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `kind` (to `conversation`, if given) with `status`."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self._failures[kind].extend(Failure(status, headers, conversation) for _ in range(times))

    def _failure(self, kind: str, conversation: str) -> web.Response | None:
        for failure in self._failures[kind]:
            if failure.conversation in (None, conversation):
                self._failures[kind].remove(failure)
                codes = {403: "BotNotInConversationRoster", 404: "ConversationNotFound"}
                return web.json_response(
                    {
                        "error": {
                            "code": codes.get(failure.status, "ServiceError"),
                            "message": f"fake failure {failure.status}",
                        }
                    },
                    status=failure.status,
                    headers=failure.headers,
                )
        return None

    async def _record(self, kind: str, request: web.Request) -> tuple[Call, web.Response | None]:
        conversation = request.match_info.get("conversation", "")
        arrived = time.monotonic()
        self.attempts[kind] += 1
        failed = self._failure(kind, conversation)
        body = await request.json()
        call = Call(
            kind,
            conversation,
            request.match_info.get("activity"),
            body,
            dict(request.headers),
            arrived,
        )
        if failed is None:
            self.calls.append(call)
        return call, failed

    def _answered(self, call: Call, response: web.Response) -> web.Response:
        self.log.append(Attempt(call, response.status))
        return response

    def attempts_of(self, kind: str) -> list[Attempt]:
        return [attempt for attempt in self.log if attempt.call.kind == kind]

    @property
    def planned(self) -> int:
        """How many scripted failures are still to be answered."""
        return sum(len(failures) for failures in self._failures.values())

    async def _post(self, request: web.Request) -> web.Response:
        call, failed = await self._record(POST, request)
        return self._answered(call, failed or self._store(call.conversation, call.body))

    async def _reply(self, request: web.Request) -> web.Response:
        call, failed = await self._record(REPLY, request)
        return self._answered(call, failed or self._store(call.conversation, call.body))

    def _store(self, conversation: str, activity: dict[str, Any]) -> web.Response:
        activity_id = str(next(self._ids))
        self.conversations[conversation][activity_id] = activity
        return web.json_response({"id": activity_id}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        call, failed = await self._record(UPDATE, request)
        if failed is not None:
            return self._answered(call, failed)
        shown = self.conversations.get(call.conversation, {})
        if call.activity_id not in shown:
            return self._answered(
                call,
                web.json_response(
                    {"error": {"code": "ActivityNotFound", "message": "no such activity"}},
                    status=404,
                ),
            )
        shown[str(call.activity_id)] = call.body
        return self._answered(call, web.json_response({"id": call.activity_id}))

    async def _create(self, request: web.Request) -> web.Response:
        call, failed = await self._record(CREATE, request)
        if failed is not None:
            return self._answered(call, failed)
        members = call.body.get("members") or [{}]
        conversation = f"a:1created{members[0].get('id', '')}"
        return self._answered(
            call, web.json_response({"id": conversation, "activityId": None}, status=201)
        )

    def of(self, kind: str, conversation: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.kind == kind and (conversation is None or c.conversation == conversation)
        ]

    def messages(self, conversation: str) -> list[dict[str, Any]]:
        """What a conversation shows now, oldest first."""
        return list(self.conversations.get(conversation, {}).values())

    async def wait_for(
        self, kind: str, count: int = 1, within: float = 10.0, conversation: str | None = None
    ) -> list[Call]:
        """The first `count` calls of `kind`, waiting up to `within` seconds for them."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.of(kind, conversation)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{kind}: {len(self.of(kind, conversation))}, wanted {count}")
            await asyncio.sleep(0.01)
        return self.of(kind, conversation)[:count]
