"""`closeloop serve` as a real process, spoken to over HTTP on loopback."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from adapters.bootstrap import build
from adapters.entrypoints.http import build_app
from adapters.settings import Settings
from metrics_core.delivery import outbox
from metrics_core.delivery.targets import Target
from metrics_core.store.db import Database, make_engine
from metrics_core.store.migrate import upgrade
from metrics_core.store.models import Delivery, DeliveryStatus


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early: {process.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve did not start listening")


@pytest.fixture
def served(sqlite_url: str) -> Iterator[str]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": sqlite_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.entrypoints.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_listening(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


async def test_health_ready_and_metrics(served: str) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{served}/healthz") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok"}
        async with client.get(f"{served}/readyz") as response:
            assert response.status == 200
            assert (await response.json())["database"] == "reachable"
        async with client.get(f"{served}/metrics") as response:
            assert response.status == 200
            text = await response.text()
        assert (
            'closeloop_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
        )


def _serve_refused(sqlite_url: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "adapters.entrypoints.cli", "serve", "--port", str(_free_port())],
        env={**os.environ, "DATABASE_URL": sqlite_url},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr
    return stderr


def test_serve_refuses_a_missing_database_and_says_how_to_create_it(sqlite_url: str) -> None:
    stderr = _serve_refused(sqlite_url)
    assert "no database at" in stderr
    assert "`closeloop migrate`" in stderr and "`closeloop seed`" in stderr
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # nor does it create one


def test_serve_refuses_an_older_schema_and_says_how_to_fix_it(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine, "0005")
    engine.dispose()
    stderr = _serve_refused(sqlite_url)
    assert "schema is at revision 0005" in stderr and "run `closeloop migrate`" in stderr


def _without_chat_platforms() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SLACK_", "MICROSOFT_", "CLOSELOOP_TEAMS_", "CLOSELOOP_LOG"))
    }


def test_alerts_for_an_unconfigured_platform_wait_with_one_warning(sqlite_url: str) -> None:
    """A fresh demo has alerts for Slack and no Slack: that is worth a warning, not errors."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    engine.dispose()
    db = Database(make_engine(sqlite_url))
    now = dt.datetime.now(dt.UTC)
    with db.writing() as session:
        for n in range(3):
            target = Target("slack", f"U0CSM{n + 1}")
            outbox.enqueue(session, key=f"alert-{n}", kind="survey", target=target, now=now)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.entrypoints.cli", "serve", "--port", str(port)],
        env={**_without_chat_platforms(), "DATABASE_URL": sqlite_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_listening(port, process)
        time.sleep(3)  # several dispatcher rounds
    finally:
        process.send_signal(signal.SIGTERM)
        _, raw = process.communicate(timeout=30)
    assert process.returncode == 0
    log = [json.loads(line) for line in raw.decode().splitlines()]  # JSON lines off a terminal
    assert not [entry for entry in log if entry["level"] in ("error", "critical")], log
    assert not [entry for entry in log if "error" in entry], log  # no traceback
    (warning,) = [entry["message"] for entry in log if entry["level"] == "warning"]
    assert "3 alerts wait for Slack" in warning and "SLACK_BOT_TOKEN" in warning
    with db.reading() as session:
        rows = session.scalars(select(Delivery)).all()
        assert {(row.status, row.attempts) for row in rows} == {(DeliveryStatus.PENDING, 0)}
    db.close()


async def test_readyz_is_503_when_the_database_is_unreachable(unused_tcp_port: int) -> None:
    from aiohttp import web

    settings = Settings(
        DATABASE_URL=f"postgresql+psycopg://nobody@127.0.0.1:{unused_tcp_port}/x?connect_timeout=1"
    )
    container = build(settings)
    runner = web.AppRunner(build_app(container))
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with (
            aiohttp.ClientSession() as client,
            client.get(f"http://127.0.0.1:{port}/readyz") as response,
        ):
            assert response.status == 503
            assert await response.json() == {"status": "unavailable", "database": "unreachable"}
    finally:
        await runner.cleanup()
        container.close()
