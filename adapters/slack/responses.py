"""Answers to a request's response_url, over connections that are kept open.

Bolt's `respond` opens a new HTTP session for every answer: a new TCP and TLS handshake
with Slack's hooks host each time someone types `/health`. Answers are what users wait
for, so they share one session here and reuse its connections.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger(__name__)


class ResponseUrls:
    """Posts messages to response_urls; `close` when the service stops."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def send(self, url: str, message: dict[str, Any]) -> None:
        """Post `message` to `url`, retrying a refused connection or a 429 (a post that
        never arrived cannot be a duplicate). A failure is logged, never the URL: it is a
        credential to answer in that conversation for the next half hour."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        client = AsyncWebhookClient(
            url=url,
            session=self._session,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=2),
                AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            ],
        )
        response = await client.send_dict(message)
        if response.status_code >= 400:
            log.warning(
                "Slack refused an answer: HTTP %s %s", response.status_code, response.body[:200]
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
