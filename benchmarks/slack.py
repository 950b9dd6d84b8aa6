"""The Slack round trip, measured: signed slash command in, answer at the client.

Two apps answer the same requests in one run: Closeloop's `/health` and a bare
slack-bolt app that answers a constant in its acknowledgement. Their ratio is what our
work costs against Slack's own plumbing. An answer arrives either in the HTTP response
(the acknowledgement carries the message) or later at the response_url; a small local
sink stands in for Slack, answering `auth.test` and receiving response_url posts, so
the clock stops when the answer would have reached Slack either way.
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
from dataclasses import dataclass, field
from pathlib import Path
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


@dataclass
class Trips:
    """Seconds to each answer at the client, to each HTTP acknowledgement, and how many
    answers came in the acknowledgement itself."""

    answers: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    in_ack: int = 0

    def __iadd__(self, other: Trips) -> Trips:
        self.answers += other.answers
        self.acks += other.acks
        self.in_ack += other.in_ack
        return self


async def _ask(
    client: aiohttp.ClientSession, url: str, sink: Sink, text: str, trips: Trips
) -> None:
    """One `/health <text>`: the clock stops at the answer, wherever it arrives."""
    key = f"k{secrets.token_hex(6)}"
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
        raw = await response.read()
        acknowledged = time.perf_counter()
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
    trips.acks.append(acknowledged - started)
    if _is_message(raw):
        sink.waiting.pop(key, None)
        trips.answers.append(acknowledged - started)
        trips.in_ack += 1
        return
    finished = await asyncio.wait_for(answered, timeout=30)
    trips.answers.append(finished - started)


def _is_message(raw: bytes) -> bool:
    """Whether an acknowledgement's body is a message (text or blocks), not an empty ack."""
    if not raw.strip():
        return False
    try:
        body = json.loads(raw)
    except ValueError:
        return bool(raw.strip())  # bolt sends a plain-text ack as the message text
    return isinstance(body, dict) and bool(body.get("text") or body.get("blocks"))


async def _round_trips(url: str, sink: Sink, texts: list[str], count: int) -> Trips:
    """`count` questions one after another, cycling through `texts`, so a run asks about
    several accounts, not one."""
    trips = Trips()
    async with aiohttp.ClientSession() as client:
        for n in range(count):
            await _ask(client, url, sink, texts[n % len(texts)], trips)
    return trips


async def _throughput(url: str, sink: Sink, texts: list[str], count: int, in_flight: int) -> float:
    """Answers per second with `in_flight` questions always under way, every one answered."""
    trips = Trips()
    slots = asyncio.Semaphore(in_flight)
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def one(n: int) -> None:
            async with slots:
                await _ask(client, url, sink, texts[n % len(texts)], trips)

        began = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        seconds = time.perf_counter() - began
    if len(trips.answers) != count:
        raise RuntimeError(f"{count} questions, {len(trips.answers)} answers")
    return count / seconds


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/slack/events"


def _bare_app(api_url: str) -> web.Application:
    """The reference: slack-bolt alone, answering a constant in its acknowledgement."""
    from slack_sdk.web.async_client import AsyncWebClient

    bolt = AsyncApp(client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url), signing_secret=SECRET)

    async def constant(ack: Any) -> None:
        await ack(text="ok", response_type="ephemeral")

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


def _peak_rss_mib(pid: int) -> float:
    """The peak resident memory of a running process (Linux: VmHWM in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


IN_FLIGHT = 50
"""Questions under way at once in the throughput measurement."""
THROUGHPUT_ROUNDS = 4
"""Rounds of the throughput measurement per app."""


async def measure(database_url: str, count: int) -> dict[str, float]:
    """Median and p99 (seconds) of `/health <account>` answered through Closeloop and
    through the bare app, the same for the first question about each account since the
    service started, the median time to the HTTP acknowledgement, the share answered in
    it, answers per second with `IN_FLIGHT` under way, and the serving process's peak
    memory."""
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
        urls = json.loads(await asyncio.wait_for(server.stdout.readline(), timeout=300))
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
        trips = {"ours": Trips(), "bare": Trips()}
        for _ in range(5):
            for name, run in runs.items():
                trips[name] += await run(count // 5)
        # Accounts never asked about: every answer is computed from the stored data.
        cold = await _round_trips(urls["ours"], sink, first, len(first))
        # Rounds alternate which app goes first, so a machine growing busier or quieter
        # during the run hits both alike; each app's best round is its figure.
        per_s = {"ours": 0.0, "bare": 0.0}
        for round_ in range(THROUGHPUT_ROUNDS):
            order = ("ours", "bare") if round_ % 2 == 0 else ("bare", "ours")
            for name in order:
                rate = await _throughput(urls[name], sink, book, count, IN_FLIGHT)
                per_s[name] = max(per_s[name], rate)
        server_peak = _peak_rss_mib(server.pid)
    finally:
        server.kill()
        await server.wait()
        await sink.stop()
    ours_median, ours_p99 = _summary(trips["ours"].answers)
    bare_median, bare_p99 = _summary(trips["bare"].answers)
    cold_median, cold_p99 = _summary(cold.answers)
    return {
        "ours_median": ours_median,
        "ours_p99": ours_p99,
        "bare_median": bare_median,
        "bare_p99": bare_p99,
        "first_median": cold_median,
        "first_p99": cold_p99,
        "ours_ack_median": statistics.median(trips["ours"].acks),
        "bare_ack_median": statistics.median(trips["bare"].acks),
        "in_ack_share": trips["ours"].in_ack / len(trips["ours"].answers),
        "ours_per_s": per_s["ours"],
        "bare_per_s": per_s["bare"],
        "server_peak_mib": server_peak,
    }


if __name__ == "__main__":
    SECRET = os.environ[SIGNING_VARIABLE]
    BOT_TOKEN = os.environ[BOT_VARIABLE]
    asyncio.run(_serve_both(sys.argv[1], sys.argv[2]))
