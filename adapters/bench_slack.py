"""The Slack round trip, measured: signed slash command in, answer at the response_url.

Two apps answer the same requests in one run: Closeloop's `/health` and a bare
slack-bolt app that acknowledges and responds with a constant. Their ratio is what our
work costs on top of Slack's own plumbing. A small local sink stands in for Slack: it
answers `auth.test` and receives the response_url posts, so the clock stops when the
answer would have reached Slack.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import socket
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

# A throwaway secret: the bench signs and verifies its own requests on loopback.
SECRET = secrets.token_hex(16)
BOT_TOKEN = "xoxb-" + secrets.token_hex(8)


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Sink:
    """Stands in for Slack: Web API calls and response_url posts.

    Each request releases whoever waits for a token that appears in it (a response_url's
    key, or text inside a posted alert), stamped with the moment it arrived.
    """

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = _port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _release(self, text: str, arrived: float) -> None:
        for token in [t for t in self.waiting if t in text]:
            future = self.waiting.pop(token)
            if not future.done():
                future.set_result(arrived)

    async def _api(self, request: web.Request) -> web.Response:
        raw = await request.text()
        self._release(raw, time.perf_counter())
        try:
            channel = json.loads(raw).get("channel", "C0")
        except (ValueError, AttributeError):
            channel = "C0"
        # Enough for auth.test and chat.postMessage alike.
        return web.json_response(
            {
                "ok": True,
                "user_id": "UBOT",
                "bot_id": "B1",
                "team_id": "T1",
                "channel": channel,
                "ts": f"{time.time():.6f}",
            }
        )

    async def _respond(self, request: web.Request) -> web.Response:
        await request.read()
        self._release(request.match_info["key"], time.perf_counter())
        return web.Response(text="ok")


def _signed(body: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


async def _round_trips(
    url: str, sink: Sink, text: str, count: int
) -> tuple[list[float], list[float]]:
    """Per request: seconds to the HTTP acknowledgement, and to the answer at the sink."""
    times: list[float] = []
    acks: list[float] = []
    async with aiohttp.ClientSession() as client:
        for n in range(count):
            key = f"k{n}-{time.monotonic_ns()}"
            answered = asyncio.get_running_loop().create_future()
            sink.waiting[key] = answered
            body = urlencode(
                {
                    "command": "/health",
                    "text": text,
                    "user_id": "U0CSM1",
                    "user_name": "bench",
                    "team_id": "T1",
                    "channel_id": "C1",
                    "response_url": f"{sink.url}/respond/{key}",
                    "trigger_id": "1.2.3",
                }
            )
            started = time.perf_counter()
            async with client.post(url, data=body, headers=_signed(body)) as response:
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}")
                acks.append(time.perf_counter() - started)
            finished = await asyncio.wait_for(answered, timeout=30)
            times.append(finished - started)
    return times, acks


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/slack/events"


def _bare_app(api_url: str) -> web.Application:
    """The reference: slack-bolt alone, acknowledging and answering a constant."""
    from slack_sdk.web.async_client import AsyncWebClient

    bolt = AsyncApp(client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url), signing_secret=SECRET)

    async def constant(ack: Any, respond: Any) -> None:
        await ack()
        await respond(text="ok", response_type="ephemeral")

    bolt.command("/health")(constant)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", events)
    return app


def _summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def measure(database_url: str, count: int) -> dict[str, float]:
    """Median and p99 (seconds) of `/health acme` answered through Closeloop and through the
    bare app, and the median time to the HTTP acknowledgement of each."""
    from adapters.bootstrap import build
    from adapters.http import build_app
    from adapters.settings import Settings

    sink = Sink()
    await sink.start()
    settings = Settings(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=f"{sink.url}/api/",
    )
    container = build(settings)
    ours, ours_url = await _serve(build_app(container))
    bare, bare_url = await _serve(_bare_app(f"{sink.url}/api/"))
    runs: dict[str, Callable[[int], Any]] = {
        "ours": lambda n: _round_trips(ours_url, sink, "acme", n),
        "bare": lambda n: _round_trips(bare_url, sink, "acme", n),
    }
    try:
        for run in runs.values():
            await run(20)  # warm up: imports, caches, connection pools, auth.test
        # Interleave the two so background load hits both alike.
        times: dict[str, list[float]] = {"ours": [], "bare": []}
        acks: dict[str, list[float]] = {"ours": [], "bare": []}
        for _ in range(5):
            for name, run in runs.items():
                answered, acknowledged = await run(count // 5)
                times[name] += answered
                acks[name] += acknowledged
    finally:
        await ours.cleanup()
        await bare.cleanup()
        container.close()
        await sink.stop()
    ours_median, ours_p99 = _summary(times["ours"])
    bare_median, bare_p99 = _summary(times["bare"])
    return {
        "ours_median": ours_median,
        "ours_p99": ours_p99,
        "bare_median": bare_median,
        "bare_p99": bare_p99,
        "ours_ack_median": statistics.median(acks["ours"]),
        "bare_ack_median": statistics.median(acks["bare"]),
    }
