"""Requests exactly as Slack sends them (signed, form-encoded) and what to read in answers."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

from adapters.platforms.slack.render import button_value
from tests.fakes.slack_api import Call

SECRET = "test-signing-secret"


def sign(body: str, timestamp: str, secret: str = SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


async def post(
    url: str,
    body: str,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    timestamp: str | None = None,
    signature: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, float]:
    status, text, seconds, _ = await post_for_type(
        url,
        body,
        content_type=content_type,
        timestamp=timestamp,
        signature=signature,
        headers=headers,
    )
    return status, text, seconds


async def post_for_type(
    url: str,
    body: str,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    timestamp: str | None = None,
    signature: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, float, str]:
    """`post`, and the media type of the answer (Slack reads a JSON body as a message only
    when it is marked as JSON)."""
    timestamp = timestamp or str(int(time.time()))
    sent = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature or sign(body, timestamp),
        **(headers or {}),
    }
    started = time.perf_counter()
    async with aiohttp.ClientSession() as client, client.post(url, data=body, headers=sent) as r:
        return r.status, await r.text(), time.perf_counter() - started, r.content_type


def slash(command: str, text: str, response_url: str, user: str = "U0CSM1") -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T111",
            "team_domain": "acme-cs",
            "channel_id": "C111",
            "channel_name": "cs-team",
            "user_id": user,
            "user_name": "dana",
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": "111.222.abc",
        }
    )


def socket_command(envelope_id: str, command: str, text: str, response_url: str) -> dict[str, Any]:
    """A slash command as Slack sends it over Socket Mode: an envelope, not a form post."""
    return {
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            "command": command,
            "text": text,
            "user_id": "U0CSM1",
            "user_name": "dana",
            "team_id": "T111",
            "channel_id": "C111",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        },
    }


def form_encoded_payload(body: dict[str, Any]) -> str:
    return "payload=" + json.dumps(body).replace("%", "%25").replace("&", "%26").replace(
        "+", "%2B"
    ).replace("=", "%3D").replace(" ", "+")


def click(
    action_id: str,
    payload: dict[str, str],
    response_url: str,
    user: str = "U0CSM1",
    *,
    ephemeral: bool = True,
) -> str:
    """A button click; `ephemeral` says whether the clicked message was a private answer."""
    body = {
        "type": "block_actions",
        "user": {"id": user, "username": "dana", "name": "dana", "team_id": "T111"},
        "api_app_id": "A111",
        "token": "legacy",
        "container": {
            "type": "message",
            "message_ts": "1.2",
            "channel_id": "C111",
            "is_ephemeral": ephemeral,
        },
        "trigger_id": "111.222.abc",
        "team": {"id": "T111", "domain": "acme-cs"},
        "channel": {"id": "C111", "name": "cs-team"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b1",
                "text": {"type": "plain_text", "text": "Button"},
                "value": button_value(payload),
                "type": "button",
                "action_ts": "1596530385.194939",
            }
        ],
    }
    return form_encoded_payload(body)


def submit_form(view: dict[str, Any], values: dict[str, dict[str, Any]], user: str) -> str:
    """A `view_submission` of a modal the bot opened, with the user's input."""
    body = {
        "type": "view_submission",
        "team": {"id": "T111", "domain": "acme-cs"},
        "user": {"id": user, "username": "dana", "name": "dana", "team_id": "T111"},
        "api_app_id": "A111",
        "token": "legacy",
        "trigger_id": "111.222.def",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": {"values": values},
        },
    }
    return form_encoded_payload(body)


def home_opened(user: str, event_id: str) -> str:
    """An `app_home_opened` event callback, as Slack posts it."""
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T111",
            "api_app_id": "A111",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"},
        }
    )


def header(call: Call) -> str:
    blocks = call.body["blocks"]
    return str(blocks[0]["text"]["text"]) if blocks and blocks[0]["type"] == "header" else ""


def buttons(call: Call) -> list[dict[str, Any]]:
    return [e for b in call.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
