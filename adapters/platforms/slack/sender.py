"""Sending outbox messages to Slack: post, edit, and find a post a crash left unrecorded.

Each post carries its outbox key as Slack message metadata (`event_type`
`closeloop_delivery`), which `conversations.history` returns with
`include_all_metadata`; that is how a post made just before a crash is recognised
instead of being made twice. Errors become the dispatcher's `SendError`: rate limits
with Slack's `Retry-After`, and errors no retry can fix (a channel that does not exist,
a bot not in the channel) as permanent, so they are reported instead of retried forever.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.platforms.slack.render import render_message
from adapters.workers.dispatch import MessageRef, SendError
from bot.reply import Reply

METADATA_TYPE = "closeloop_delivery"
# Slack errors that mean the message can never be delivered as addressed.
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "invalid_blocks",
        "msg_too_long",
        "message_not_found",
        "cant_update_message",
        "restricted_action",
    }
)
# How far before the recorded start of a post to look: clocks differ a little.
_CLOCK_SLACK = dt.timedelta(seconds=30)


def _send_error(error: Exception) -> SendError:
    if isinstance(error, SlackApiError):
        data = error.response.data
        code = (
            str(data.get("error", "unknown_error"))
            if isinstance(data, dict)
            else f"http_{error.response.status_code}"
        )
        if error.response.status_code == 429:
            retry = error.response.headers.get("Retry-After") or error.response.headers.get(
                "retry-after"
            )
            return SendError("ratelimited", retry_after=float(retry) if retry else None)
        return SendError(code, permanent=code in PERMANENT)
    # Connection failures and time-outs: the request may not have reached Slack; retry.
    return SendError(type(error).__name__)


class SlackSender:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, address: str, reply: Reply, key: str) -> MessageRef:
        message = render_message(reply)
        try:
            response = await self.client.chat_postMessage(
                channel=address,
                text=message.text,
                blocks=message.blocks,
                metadata={"event_type": METADATA_TYPE, "event_payload": {"key": key}},
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            raise _send_error(error) from None
        return MessageRef(str(response["channel"]), str(response["ts"]))

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        message = render_message(reply)
        try:
            await self.client.chat_update(
                channel=ref.channel, ts=ref.message_id, text=message.text, blocks=message.blocks
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            raise _send_error(error) from None

    async def find(self, address: str, key: str, since: dt.datetime) -> MessageRef | None:
        try:
            channel = address
            if address[:1] in ("U", "W"):  # a user: their direct-message channel with the bot
                opened = await self.client.conversations_open(users=address)
                channel = str(opened["channel"]["id"])
            history = await self.client.conversations_history(
                channel=channel,
                oldest=f"{(since - _CLOCK_SLACK).timestamp():.6f}",
                include_all_metadata=True,
                limit=200,
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            raise _send_error(error) from None
        messages: list[dict[str, Any]] = history.get("messages") or []
        for message in messages:
            metadata: dict[str, Any] = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_TYPE and payload.get("key") == key:
                return MessageRef(channel, str(message["ts"]))
        return None
