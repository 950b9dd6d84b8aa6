"""The service on loopback for synchronous tests: Hypothesis runs plain functions.

The service gets an event loop of its own, which runs while a request is in flight, and a
fake Bot Connector beside it for the Teams route. Tests count rows of a table before and
after a request to prove that a refused request stored nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from adapters.bootstrap import Container
from adapters.entrypoints.http import build_app
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_api import _free_port

T = TypeVar("T")


class Loopback:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.loop = asyncio.new_event_loop()
        self.connector = FakeBotConnector()
        self.runner = web.AppRunner(build_app(container))
        self.port = _free_port()
        self.run(self._start())

    async def _start(self) -> None:
        await self.connector.start()
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.client = aiohttp.ClientSession()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, path: str, body: Any, headers: dict[str, str]) -> tuple[int, str]:
        async def send() -> tuple[int, str]:
            async with self.client.post(self.base + path, data=body, headers=headers) as r:
                return r.status, await r.text()

        return self.run(send())

    def count(self, model: type) -> int:
        """Rows of `model`'s table now."""
        with self.container.db.reading() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    def close(self) -> None:
        async def stop() -> None:
            await self.client.close()
            await self.runner.cleanup()
            await self.connector.stop()

        self.run(stop())
        self.loop.close()
        self.container.close()
