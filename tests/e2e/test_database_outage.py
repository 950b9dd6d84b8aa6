"""The database going away, then coming back: no answer is acknowledged that was not
stored, readiness says so, and the service recovers by itself.

PostgreSQL goes away for real: the service reaches the shared server through a TCP proxy
on loopback, and the test cuts it (every connection reset, new ones refused, as a server
restart or failover does) and restores it, without touching the server other tests use.
SQLite is made unavailable to writers the way it happens in service: another process (an
import, a backup) holds its write lock for longer than the busy timeout, shortened here
from 30 s so the test stays quick.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from adapters.bootstrap import build
from adapters.settings import Settings
from metrics_core.store import db as storage
from metrics_core.store.models import SurveyResponse
from tests import webhook_signing as vendors
from tests.e2e.loop_service import (
    ALERTS,
    Service,
    deliver,
    generic,
    settings_env,
    text_of,
)
from tests.e2e.teams_service import serving
from tests.e2e.test_faults import until
from tests.fakes.slack_api import FakeSlack
from tests.fakes.tcp_proxy import TcpProxy


async def ready(service: Service) -> int:
    async with aiohttp.ClientSession() as client, client.get(f"{service.base}/readyz") as r:
        return r.status


async def answer(service: Service, response_id: str, comment: str) -> tuple[int, dict[str, Any]]:
    """A detractor's answer as the survey tool delivers it (and delivers it again)."""
    body = vendors.generic_payload(response_id=response_id, score=2, comment=comment)
    return await deliver(service.webhook("generic"), body, generic(body, f"msg_{response_id}"))


async def until_ready(service: Service, within: float) -> float:
    """Seconds until /readyz answers 200 again."""
    started = time.monotonic()
    while await ready(service) != 200:
        if time.monotonic() - started > within:
            raise AssertionError(f"not ready {within:.0f}s after the database came back")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def alerted(slack: FakeSlack) -> list[str]:
    return [text_of(message) for message in slack.messages(ALERTS)]


@pytest.mark.postgres
@pytest.mark.parametrize("migrated_url", ["postgresql"], indirect=True)
async def test_postgresql_going_away_answers_503_and_the_service_recovers_alone(
    migrated_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    server = make_url(migrated_url)
    proxy = TcpProxy(server.host or "127.0.0.1", server.port or 5432)
    proxy.start()
    through_proxy = server.set(host="127.0.0.1", port=proxy.port)
    env = settings_env(tmp_path / "unused.db", slack)
    env["DATABASE_URL"] = through_proxy.render_as_string(hide_password=False)
    # A send whose outcome could not be recorded is leased for this long: retried (after
    # looking for the post it may have made) 2 s after, not 60 s.
    env["CLOSELOOP_OUTBOX_LEASE_SECONDS"] = "2"
    container = build(Settings(**env))  # type: ignore[arg-type]
    try:
        async with serving(container) as base:
            service = Service(base, container)
            assert await ready(service) == 200
            slack.delays["chat.postMessage"] = 1.0
            assert (await answer(service, "r-pg1", "Before the outage"))[0] == 200
            await slack.wait_for("chat.postMessage")  # posted; Slack's answer is on its way

            proxy.cut()  # so the post cannot be recorded
            slack.delays.clear()
            for _ in range(3):  # the vendor tries, and tries again
                started = time.monotonic()
                status, body = await answer(service, "r-pg2", "During the outage")
                assert (status, body) == (503, {"error": "the answer could not be stored; retry"})
                assert time.monotonic() - started < 10
            assert await ready(service) == 503
            await until(lambda: slack.attempts_of("chat.postMessage"), 5, "Slack's answer")
            await asyncio.sleep(0.5)  # and the dispatcher failing to record it

            proxy.restore()
            await until_ready(service, within=15)
            status, body = await answer(service, "r-pg2", "During the outage")
            assert (status, body["new"], body["alerts"]) == (200, 1, 1)
            await service.settled(within=15)
            assert service.count(SurveyResponse) == 2
            shown = alerted(slack)
            assert len(shown) == 2 and "During the outage" in shown[1]
            assert slack.of("conversations.history")  # it looked before posting again
    finally:
        proxy.stop()


def hold_write_lock(database: Path) -> subprocess.Popen[str]:
    """Another process that takes the database's write lock and keeps it until told."""
    locker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"connection = sqlite3.connect({str(database)!r}, isolation_level=None)\n"
            "connection.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n"
            "connection.rollback()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    return locker


def release(locker: subprocess.Popen[str]) -> None:
    assert locker.stdin is not None
    locker.stdin.write("\n")
    locker.stdin.close()
    locker.wait(timeout=10)


async def test_sqlite_locked_by_another_process_answers_503_and_the_service_recovers_alone(
    database_file: Path, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "SQLITE_BUSY_TIMEOUT_MS", 500)
    container = build(Settings(**settings_env(database_file, slack)))  # type: ignore[arg-type]
    async with serving(container) as base:
        service = Service(base, container)
        answers_before = service.count(SurveyResponse)
        assert (await answer(service, "r-sq1", "Before the lock"))[0] == 200
        await service.settled()

        locker = hold_write_lock(database_file)
        try:
            for _ in range(2):
                status, body = await answer(service, "r-sq2", "During the lock")
                assert (status, body) == (503, {"error": "the answer could not be stored; retry"})
        finally:
            release(locker)

        assert await ready(service) == 200
        status, body = await answer(service, "r-sq2", "During the lock")
        assert (status, body["new"], body["alerts"]) == (200, 1, 1)
        await service.settled()
        assert service.count(SurveyResponse) == answers_before + 2
        shown = alerted(slack)
        assert len(shown) == 2 and "During the lock" in shown[1]
