"""A webhook accepted is an alert delivered, once, even when the process is killed.

`closeloop serve` runs as a real process and is killed with SIGKILL (no cleanup, no
shutdown hooks) at the two points that matter, then started again on the same database.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import webhook_signing as vendors
from tests.e2e.test_close_the_loop import ALERTS, deliver, generic, settings_env
from tests.e2e.test_close_the_loop import database_file as database_file
from tests.e2e.test_close_the_loop import slack as slack
from tests.e2e.test_close_the_loop import template_db as template_db
from tests.fakes.slack_api import FakeSlack, _free_port


class Served:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "serve", "--port", str(self.port)],
            env={**os.environ, **env, "CLOSELOOP_OUTBOX_LEASE_SECONDS": "2"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/surveys/generic"

    async def ready(self, within: float = 30.0) -> None:
        import aiohttp

        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(self.process.stderr.read().decode())  # type: ignore[union-attr]
                try:
                    async with client.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("serve did not become ready")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)


@pytest.fixture
def processes() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        served.stop()


async def test_killed_after_posting_before_recording_posts_once(
    database_file: Path,
    slack: FakeSlack,
    processes: list[Served],
) -> None:
    """The worst moment: Slack has the message, the database does not know it yet."""
    env = settings_env(database_file, slack)
    slack.hang_after_recording.add("chat.postMessage")
    first = Served(env)
    processes.append(first)
    await first.ready()
    body = vendors.generic_payload(score=2, comment="Nobody answers our tickets")
    status, _ = await deliver(first.webhook, body, generic(body))
    assert status == 200
    await slack.wait_for("chat.postMessage")  # posted, and the answer never comes back
    first.kill()

    slack.hang_after_recording.clear()
    second = Served(env)
    processes.append(second)
    await second.ready()
    await slack.wait_for("conversations.history", within=20)  # it looks before posting
    (update,) = await slack.wait_for("chat.update", within=20)
    assert len(slack.of("chat.postMessage")) == 1
    (alert,) = slack.messages(ALERTS)
    assert "Nobody answers our tickets" in str(alert["blocks"])
    assert update.body["channel"] == ALERTS


async def test_killed_before_any_send_delivers_after_restart(
    database_file: Path,
    slack: FakeSlack,
    processes: list[Served],
) -> None:
    """Accepted while Slack was unreachable, killed, restarted: the alert still arrives."""
    unreachable = {**settings_env(database_file, slack)}
    unreachable["SLACK_API_URL"] = f"http://127.0.0.1:{_free_port()}/api/"
    first = Served(unreachable)
    processes.append(first)
    await first.ready()
    body = vendors.generic_payload(score=1, comment="Cancelling next month")
    status, _ = await deliver(first.webhook, body, generic(body))
    assert status == 200
    await asyncio.sleep(0.5)
    first.kill()
    assert slack.of("chat.postMessage") == []

    second = Served(settings_env(database_file, slack))
    processes.append(second)
    await second.ready()
    await slack.wait_for("chat.postMessage", within=30)
    await asyncio.sleep(1.0)
    assert len(slack.of("chat.postMessage")) == 1
    (alert,) = slack.messages(ALERTS)
    assert "Cancelling next month" in str(alert["blocks"])
