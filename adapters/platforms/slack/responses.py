"""Answers to a request's response_url, over connections that are kept open, to Slack only.

Bolt's `respond` opens a new HTTP session for every answer: a new TCP and TLS handshake
with Slack's hooks host each time someone types `/health`. Answers are what users wait
for, so they share one session here and reuse its connections.

A response_url arrives inside the request, so it is only as trustworthy as the request.
Requests are verified before any listener runs; as a second line, an answer goes only to
Slack's hooks host or to the configured Web API's origin (`SLACK_API_URL`: a proxy, or a
local stand-in for Slack), so even a request that slipped through could not have an
account's numbers posted to a host of its sender's choosing.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger(__name__)


SLACK_HOOKS = "https://hooks.slack.com/"
"""Where Slack's response_urls point (`/commands/…`, `/actions/…`)."""

Origin = tuple[str, str, int]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> Origin | None:
    """Scheme, host and port of an absolute http(s) URL; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is no number, a malformed IPv6 host
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


class ResponseUrls:
    """Posts messages to response_urls on Slack's hosts; `close` when the service stops."""

    def __init__(self, api_url: str) -> None:
        """`api_url` is the configured Slack Web API (`SLACK_API_URL`); its origin is
        trusted for answers beside hooks.slack.com."""
        self._allowed = frozenset(
            origin for origin in (_origin(SLACK_HOOKS), _origin(api_url)) if origin is not None
        )
        self._session: aiohttp.ClientSession | None = None

    def allows(self, url: str) -> bool:
        """Whether `url` is on Slack's hooks host or the configured Web API's origin."""
        return _origin(url) in self._allowed

    async def send(self, url: str, message: dict[str, Any]) -> None:
        """Post `message` to `url`, retrying a refused connection or a 429 (a post that
        never arrived cannot be a duplicate). A failure is logged, never the URL: it is a
        credential to answer in that conversation for the next half hour. A URL on any
        other host than Slack's is refused, and the log names only that host."""
        if not self.allows(url):
            log.warning(
                "an answer to a response_url outside Slack was refused (host %r)",
                _host(url),
            )
            return
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


def _host(url: str) -> str:
    """The host a URL names, for a log line: never its path or query, which are the
    credential, nor any user and password before the host."""
    try:
        host = urlsplit(url).hostname or "none"
    except ValueError:
        return "unreadable"
    return host if len(host) <= 80 else host[:77] + "..."
