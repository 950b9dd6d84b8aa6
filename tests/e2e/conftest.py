"""Fixtures the end-to-end tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    """A local Bot Connector: the `serviceUrl` of the activities the tests send."""
    fake = FakeBotConnector()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A local Slack: the Web API of `SLACK_API_URL`, and the response_urls it hands out."""
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()
