"""Usage events over HTTP, measured: Segment-spec batches into `POST /ingest/usage`.

The service runs in a process of its own, as `serve` runs it (the aiohttp application,
the real route, SQLite), so its event loop and database threads have their CPU to
themselves, as they would in production where events come from an analytics tool. The
bench's process links each user to an account with `group` calls first (not timed), then
sends track calls in batches, several requests in flight, and stops the clock when the
last batch is committed (a 200 means committed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import secrets
import statistics
import sys
import time
from typing import Any

import aiohttp

from benchmarks.harness import child_environment

INGEST_VARIABLE = "CLOSELOOP_BENCH_INGEST_TOKEN"
TOKEN = secrets.token_urlsafe(24)
FEATURES = tuple(f"Feature {n} Used" for n in range(12))
USERS_PER_ACCOUNT = 10


def _batches(calls: list[dict[str, Any]], size: int) -> list[bytes]:
    return [
        json.dumps({"batch": calls[start : start + size]}).encode()
        for start in range(0, len(calls), size)
    ]


def group_calls(accounts: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "type": "group",
            "messageId": f"group-{account}-{n}",
            "userId": f"{account}-user-{n}",
            "groupId": account,
        }
        for account in accounts
        for n in range(USERS_PER_ACCOUNT)
    ]


def track_calls(accounts: list[str], count: int, now: dt.datetime) -> list[dict[str, Any]]:
    """`count` track calls by the accounts' users, spread over the last hour, as a live
    stream arrives: every user of every account, in no particular order."""
    calls = []
    users = len(accounts) * USERS_PER_ACCOUNT
    for n in range(count):
        user = (n * 7919) % users
        account, member = accounts[user // USERS_PER_ACCOUNT], user % USERS_PER_ACCOUNT
        at = now - dt.timedelta(seconds=(n * 37) % 3600)
        calls.append(
            {
                "type": "track",
                "messageId": f"track-{n}",
                "userId": f"{account}-user-{member}",
                "event": FEATURES[n % len(FEATURES)],
                "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "properties": {"plan": "pro", "source": "bench"},
            }
        )
    return calls


async def _send_all(
    client: aiohttp.ClientSession, url: str, bodies: list[bytes], in_flight: int
) -> tuple[float, list[float], int]:
    """Seconds for all bodies, each request's seconds, and the calls the service accepted."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    slots = asyncio.Semaphore(in_flight)
    latencies: list[float] = []
    accepted = 0

    async def one(body: bytes) -> None:
        nonlocal accepted
        async with slots:
            started = time.perf_counter()
            async with client.post(url, data=body, headers=headers) as response:
                answer = await response.text()
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}: {answer}")
            latencies.append(time.perf_counter() - started)
            accepted += json.loads(answer)["accepted"]

    began = time.perf_counter()
    await asyncio.gather(*(one(body) for body in bodies))
    return time.perf_counter() - began, latencies, accepted


async def measure(
    database_url: str, accounts: list[str], events: int, batch: int, in_flight: int
) -> dict[str, float]:
    """Events per second through the route, and the latency of one batch (seconds)."""
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.ingest",
        database_url,
        stdout=asyncio.subprocess.PIPE,
        env=child_environment(**{INGEST_VARIABLE: TOKEN}),
    )
    try:
        assert server.stdout is not None
        url = json.loads(await asyncio.wait_for(server.stdout.readline(), timeout=120))["url"]
        now = dt.datetime.now(dt.UTC)
        links = _batches(group_calls(accounts), batch)
        bodies = _batches(track_calls(accounts, events, now), batch)
        async with aiohttp.ClientSession() as client:
            await _send_all(client, url, links, in_flight)  # who is whose: not timed
            seconds, latencies, accepted = await _send_all(client, url, bodies, in_flight)
    finally:
        server.kill()
        await server.wait()
    if accepted != events:
        raise RuntimeError(f"{events} events sent, {accepted} accepted")
    ordered = sorted(latencies)
    return {
        "events_per_s": events / seconds,
        "median": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
    }


async def _serve(database_url: str) -> None:
    """The server process: the service's HTTP application with only the ingest route."""
    from aiohttp import web

    from adapters.bootstrap import build
    from adapters.entrypoints.http import build_app
    from adapters.settings import Settings
    from benchmarks.slack import _port

    settings = Settings(DATABASE_URL=database_url, CLOSELOOP_INGEST_TOKEN=TOKEN)
    container = build(settings)
    runner = web.AppRunner(build_app(container), access_log=None)
    await runner.setup()
    port = _port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(json.dumps({"url": f"http://127.0.0.1:{port}/ingest/usage"}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    TOKEN = os.environ[INGEST_VARIABLE]
    asyncio.run(_serve(sys.argv[1]))
