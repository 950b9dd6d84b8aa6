"""Survey webhook to Slack alert, measured: signed delivery in, `chat.postMessage` out.

The service runs as `serve` runs it (aiohttp, the webhook route, the dispatcher woken by
the commit); the Slack bench's sink stands in for Slack's Web API and stops the clock
when a post carrying the delivery's token arrives. Latency is measured one delivery at a
time; throughput with many deliveries in flight, until every alert has been posted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time

import aiohttp
from aiohttp import web

from benchmarks.slack import BOT_TOKEN, Sink, _port, _summary

# A throwaway Standard Webhooks secret: the bench signs and verifies its own deliveries.
WEBHOOK_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
CHANNEL = "C0BENCH"


def _signed(body: bytes, message_id: str) -> dict[str, str]:
    key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
    timestamp = str(int(time.time()))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(digest.digest()).decode(),
    }


def _delivery(token: str) -> bytes:
    return json.dumps(
        {
            "response_id": token,
            "survey": "nps",
            "score": 3,
            "comment": f"Slow exports ({token})",
            "respondent": {"email": "jane@acme.example", "name": "Jane Doe"},
            "account_external_id": "ACME",
            "submitted_at": "2026-11-20T09:30:00Z",
        }
    ).encode()


async def _one(
    client: aiohttp.ClientSession, url: str, sink: Sink, token: str
) -> tuple[float, asyncio.Future[float]]:
    answered: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    sink.waiting[token] = answered
    body = _delivery(token)
    started = time.perf_counter()
    async with client.post(url, data=body, headers=_signed(body, f"msg_{token}")) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}: {await response.text()}")
    return started, answered


async def measure(database_url: str, count: int, burst: int) -> dict[str, float]:
    """Webhook-to-alert latency (seconds, one at a time) and throughput (per second)."""
    from adapters.bootstrap import build
    from adapters.entrypoints.http import build_app
    from adapters.settings import Settings

    sink = Sink()
    await sink.start()
    settings = Settings(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=secrets.token_hex(16),
        SLACK_API_URL=f"{sink.url}/api/",
        CLOSELOOP_WEBHOOK_SECRET=WEBHOOK_SECRET,
        CLOSELOOP_SLACK_ALERTS_CHANNEL=CHANNEL,
    )
    container = build(settings)
    runner = web.AppRunner(build_app(container), access_log=None)
    await runner.setup()
    port = _port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/webhooks/surveys/generic"
    stop = asyncio.Event()
    dispatching = asyncio.create_task(container.dispatcher.run(stop))
    latencies: list[float] = []
    try:
        async with aiohttp.ClientSession() as client:
            for n in range(count + 20):
                started, answered = await _one(client, url, sink, f"lat{n:06d}x")
                finished = await asyncio.wait_for(answered, timeout=30)
                if n >= 20:  # the first ones warm caches and pools
                    latencies.append(finished - started)
            accepted_at: list[float] = []
            began = time.perf_counter()

            async def send(n: int) -> asyncio.Future[float]:
                _, answered = await _one(client, url, sink, f"thr{n:06d}x")
                accepted_at.append(time.perf_counter())
                return answered

            slots = asyncio.Semaphore(16)

            async def bounded(n: int) -> asyncio.Future[float]:
                async with slots:
                    return await send(n)

            waits = await asyncio.gather(*(bounded(n) for n in range(burst)))
            accepted = max(accepted_at) - began
            delivered = max(await asyncio.wait_for(asyncio.gather(*waits), timeout=300)) - began
    finally:
        stop.set()
        await dispatching
        await runner.cleanup()
        container.close()
        await sink.stop()
    median, p99 = _summary(latencies)
    return {
        "median": median,
        "p99": p99,
        "accepted_per_s": burst / accepted,
        "delivered_per_s": burst / delivered,
    }
