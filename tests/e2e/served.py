"""`closeloop serve` as an operator runs it: a process of its own, on a port of its own.

Its log goes to a file the test can read while the process runs (a pipe nobody reads
would stall a chatty process), so a test can wait for what the service says, such as
which replica runs the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.fakes.slack_api import _free_port


class Served:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        descriptor, name = tempfile.mkstemp(prefix="closeloop-serve-", suffix=".log")
        self._log = Path(name)
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "adapters.entrypoints.cli",
                    "serve",
                    "--port",
                    str(self.port),
                ],
                env={**os.environ, **env, "CLOSELOOP_OUTBOX_LEASE_SECONDS": "2"},
                stdout=subprocess.DEVNULL,
                stderr=descriptor,
            )
        finally:
            os.close(descriptor)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook(self) -> str:
        return f"{self.base}/webhooks/surveys/generic"

    @property
    def events(self) -> str:
        return f"{self.base}/slack/events"

    def log(self) -> str:
        """What the process has logged so far."""
        return self._log.read_text(encoding="utf-8", errors="replace")

    async def ready(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(
                        f"serve exited with {self.process.returncode}:\n{self.log()}"
                    )
                try:
                    async with client.get(f"{self.base}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"serve did not become ready within {within:.0f} s:\n{self.log()}")

    async def logged(self, text: str, within: float) -> None:
        """Wait until the log says `text`, for at most `within` seconds."""
        deadline = time.monotonic() + within
        while text not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged within {within:.0f} s:\n{self.log()}")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(FileNotFoundError):
            self._log.unlink()
