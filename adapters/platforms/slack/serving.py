"""Slack as the service runs it: the Socket Mode connection and the HTTP route's hand-off.

The entrypoints (`serve`, the HTTP application) and the composition root call these, so
every Slack SDK import stays in this folder.
"""

from __future__ import annotations

from typing import TypeAlias

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

SlackApp: TypeAlias = AsyncApp
"""The bolt application that answers Slack's commands, buttons and events."""

SocketMode: TypeAlias = AsyncSocketModeHandler
"""An open Socket Mode connection (the service connects out; no public URL needed)."""


async def connect_socket_mode(app: SlackApp, app_token: str) -> SocketMode:
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]  # unannotated in slack_bolt
    return handler


async def disconnect(handler: SocketMode) -> None:
    await handler.close_async()  # type: ignore[no-untyped-call]  # unannotated in slack_bolt


async def dispatch(app: SlackApp, request: web.Request) -> web.Response:
    """One request to `/slack/events`, handed to bolt as is (bolt checks the signature)."""
    response = await app.async_dispatch(await to_bolt_request(request))
    return await to_aiohttp_response(response)
