"""`closeloop serve` as a real process, spoken to over HTTP on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import aiohttp
import pytest

from adapters.bootstrap import build
from adapters.http import build_app
from adapters.settings import Settings
from metrics_core.db import make_engine
from metrics_core.migrate import upgrade


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
        [sys.executable, "-m", "adapters.cli", "serve", "--port", str(port)],
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


def test_serve_refuses_an_unmigrated_database(sqlite_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "serve", "--port", str(_free_port())],
        env={**os.environ, "DATABASE_URL": sqlite_url},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "run `closeloop migrate`" in result.stderr.decode()


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
