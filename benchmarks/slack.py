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
import os
import secrets
import socket
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from benchmarks.harness import child_environment

# A throwaway secret: the bench signs and verifies its own requests on loopback. The
# server process gets the same pair through these environment variables.
SECRET = secrets.token_hex(16)
BOT_TOKEN = "xoxb-" + secrets.token_hex(8)
SIGNING_VARIABLE = "CLOSELOOP_BENCH_SIGNING_SECRET"
BOT_VARIABLE = "CLOSELOOP_BENCH_BOT_TOKEN"


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
    url: str, sink: Sink, texts: list[str], count: int
) -> tuple[list[float], list[float]]:
    """Per request: seconds to the HTTP acknowledgement, and to the answer at the sink.

    The questions cycle through `texts`, so a run asks about several accounts, not one.
    """
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
                    "text": texts[n % len(texts)],
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


async def _serve_both(database_url: str, api_url: str) -> None:
    """The server process: Closeloop and the bare app, each on its own port, until killed.

    Both run here rather than beside the load generator: in production the requests come
    from Slack, so the service's event loop and database threads have its CPU to
    themselves, and so they do here.
    """
    from adapters.bootstrap import build
    from adapters.entrypoints.http import build_app
    from adapters.settings import Settings

    settings = Settings(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api_url,
    )
    container = build(settings)
    _, ours = await _serve(build_app(container))
    _, bare = await _serve(_bare_app(api_url))
    print(json.dumps({"ours": ours, "bare": bare}), flush=True)
    await asyncio.Event().wait()


def _questions(database_url: str, count: int, skip: int = 0) -> list[str]:
    """Names of current customers to ask about, as a CSM would type them."""
    from sqlalchemy import create_engine, select

    from metrics_core.store.models import Account, LifecycleStage

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            names = connection.scalars(
                select(Account.name)
                .where(Account.lifecycle_stage != LifecycleStage.CHURNED)
                .order_by(Account.id)
                .offset(skip)
                .limit(count)
            ).all()
    finally:
        engine.dispose()
    return list(names)


async def measure(database_url: str, count: int) -> dict[str, float]:
    """Median and p99 (seconds) of `/health <account>` answered through Closeloop and
    through the bare app, the same for the first question about each account since the
    service started, and the median time to the HTTP acknowledgement of each."""
    sink = Sink()
    await sink.start()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.slack",
        database_url,
        f"{sink.url}/api/",
        stdout=asyncio.subprocess.PIPE,
        env=child_environment(**{SIGNING_VARIABLE: SECRET, BOT_VARIABLE: BOT_TOKEN}),
    )
    try:
        assert server.stdout is not None
        urls = json.loads(await asyncio.wait_for(server.stdout.readline(), timeout=120))
        # A CSM's questions: 50 accounts, each asked again and again through the day.
        book = _questions(database_url, 50)
        first = _questions(database_url, count, skip=len(book))
        runs: dict[str, Callable[[int], Any]] = {
            "ours": lambda n: _round_trips(urls["ours"], sink, book, n),
            "bare": lambda n: _round_trips(urls["bare"], sink, book, n),
        }
        for run in runs.values():
            await run(len(book))  # warm up: imports, connection pools, auth.test, each account
        # Interleave the two so background load hits both alike.
        times: dict[str, list[float]] = {"ours": [], "bare": []}
        acks: dict[str, list[float]] = {"ours": [], "bare": []}
        for _ in range(5):
            for name, run in runs.items():
                answered, acknowledged = await run(count // 5)
                times[name] += answered
                acks[name] += acknowledged
        # Accounts never asked about: every answer is computed from the stored data.
        cold, _ = await _round_trips(urls["ours"], sink, first, len(first))
    finally:
        server.kill()
        await server.wait()
        await sink.stop()
    ours_median, ours_p99 = _summary(times["ours"])
    bare_median, bare_p99 = _summary(times["bare"])
    cold_median, cold_p99 = _summary(cold)
    return {
        "ours_median": ours_median,
        "ours_p99": ours_p99,
        "bare_median": bare_median,
        "bare_p99": bare_p99,
        "first_median": cold_median,
        "first_p99": cold_p99,
        "ours_ack_median": statistics.median(acks["ours"]),
        "bare_ack_median": statistics.median(acks["bare"]),
    }


if __name__ == "__main__":
    SECRET = os.environ[SIGNING_VARIABLE]
    BOT_TOKEN = os.environ[BOT_VARIABLE]
    asyncio.run(_serve_both(sys.argv[1], sys.argv[2]))
