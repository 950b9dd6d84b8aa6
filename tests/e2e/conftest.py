"""Fixtures the end-to-end tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.bot_connector import FakeBotConnector


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    """A local Bot Connector: the `serviceUrl` of the activities the tests send."""
    fake = FakeBotConnector()
    await fake.start()
    yield fake
    await fake.stop()
