"""Activities exactly as Teams sends them, and what to read in the cards that come back.

The envelope follows the "Receive a message" example of msteams-docs
(conversation-messages.md: type, id, timestamp, serviceUrl, channelId `msteams`, `from` with
`aadObjectId`, conversation with `conversationType`, recipient = the bot, the `clientInfo`
entity with the user's time zone, `channelData.tenant`). Button clicks follow the
Universal Actions example (User-Specific-Views.md): an `invoke` named `adaptiveCard/action`
whose value holds the `Action.Execute` with its `verb` and `data`.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

BOT_ID = "28:c9e8c047-2a74-40a2-b28a-b162d5f5327c"
BOT_NAME = "Closeloop"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TEAM = "19:cs-team-general@thread.tacv2"
CHANNEL = "19:cs-alerts@thread.tacv2"
GROUP_CHAT = "19:meeting_group-chat@thread.v2"
TIMEZONE = "America/Los_Angeles"
CARD = "application/vnd.microsoft.card.adaptive"
DANA = "00000000-0000-4000-8000-000000000001"  # CSM 1, owner of Acme Corp in the demo data
MARCO = "00000000-0000-4000-8000-000000000002"  # CSM 2
OUTSIDER = "7faf8ab2-3d56-4244-b585-20c8a42ed2b8"  # the docs' Megan Bowen: not on the CS team
NAMES = {DANA: "Dana Whitfield", MARCO: "Marco Alvarez", OUTSIDER: "Megan Bowen"}

_ids = itertools.count(1485983408511)


def personal_chat(user: str) -> str:
    """A personal chat id as Teams shapes them (`a:` and an opaque string)."""
    return f"a:1personal{user.replace('-', '')}"


def _conversation(conversation: str, kind: str) -> dict[str, Any]:
    shape: dict[str, Any] = {"conversationType": kind, "id": conversation, "tenantId": TENANT}
    if kind != "personal":
        shape["isGroup"] = True
    return shape


def envelope(
    kind: str,
    *,
    service_url: str,
    user: str = DANA,
    conversation: str | None = None,
    conversation_type: str = "personal",
    tenant: str = TENANT,
) -> dict[str, Any]:
    conversation = conversation or personal_chat(user)
    channel_data: dict[str, Any] = {"tenant": {"id": tenant}}
    if conversation_type == "channel":
        channel = conversation.split(";messageid=", 1)[0]
        channel_data.update(channel={"id": channel}, team={"id": TEAM})
    return {
        "type": kind,
        "id": str(next(_ids)),
        "timestamp": "2026-11-20T09:30:07.437Z",
        "localTimestamp": "2026-11-20T01:30:07.437-08:00",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {
            "id": f"29:1{user.replace('-', '')}",
            "name": NAMES.get(user, "Someone"),
            "aadObjectId": user,
        },
        "conversation": _conversation(conversation, conversation_type),
        "recipient": {"id": BOT_ID, "name": BOT_NAME},
        "entities": [
            {
                "locale": "en-US",
                "country": "US",
                "platform": "Windows",
                "timezone": TIMEZONE,
                "type": "clientInfo",
            }
        ],
        "channelData": channel_data,
        "locale": "en-US",
    }


def message(text: str, *, service_url: str, mention: bool = False, **where: Any) -> dict[str, Any]:
    """A message; with `mention`, the text starts with the bot's @mention, as in channels."""
    activity = envelope("message", service_url=service_url, **where)
    if mention:
        at = f"<at>{BOT_NAME}</at>"
        text = f"{at} {text}".rstrip()
        activity["entities"].append(
            {"type": "mention", "text": at, "mentioned": {"id": BOT_ID, "name": BOT_NAME}}
        )
    activity.update(text=text, textFormat="plain")
    return activity


def at(user: str) -> str:
    """How a person's @mention appears in a message's text."""
    return f"<at>{NAMES[user]}</at>"


def mentioning(activity: dict[str, Any], *users: str) -> dict[str, Any]:
    """The activity with the mention entities Teams adds for people @mentioned in its text."""
    for user in users:
        activity["entities"].append(
            {
                "type": "mention",
                "text": at(user),
                "mentioned": {"id": f"29:1{user.replace('-', '')}", "name": NAMES[user]},
            }
        )
    return activity


def channel_message(text: str, *, service_url: str, user: str = DANA) -> dict[str, Any]:
    """An @mention in a channel thread (the conversation id names the thread)."""
    thread = f"{CHANNEL};messageid=1485983408000"
    return message(
        text,
        service_url=service_url,
        mention=True,
        user=user,
        conversation=thread,
        conversation_type="channel",
    )


def invoke(
    verb: str, data: dict[str, Any], *, service_url: str, reply_to: str | None = None, **where: Any
) -> dict[str, Any]:
    """A click on an `Action.Execute` button (with any form inputs merged into `data`)."""
    activity = envelope("invoke", service_url=service_url, **where)
    activity.update(
        name="adaptiveCard/action",
        value={
            "action": {"type": "Action.Execute", "id": "", "verb": verb, "data": data},
            "trigger": "manual",
        },
    )
    if reply_to:
        activity["replyToId"] = reply_to
    return activity


def submit(
    value: dict[str, Any], *, service_url: str, reply_to: str | None = None, **where: Any
) -> dict[str, Any]:
    """An Action.Submit / messageBack click: a message whose `value` is the button's data."""
    activity = envelope("message", service_url=service_url, **where)
    activity.update(value=value, text="")
    if reply_to:
        activity["replyToId"] = reply_to
    return activity


def bot_added(
    *, service_url: str, conversation: str = TEAM, kind: str = "channel"
) -> dict[str, Any]:
    """The conversationUpdate Teams sends when the bot is added to a team or chat (for a
    team, in its General channel, whose id is the team's)."""
    activity = envelope(
        "conversationUpdate",
        service_url=service_url,
        conversation=conversation,
        conversation_type=kind,
    )
    activity["membersAdded"] = [{"id": BOT_ID}]
    if kind == "channel":
        activity["channelData"]["eventType"] = "teamMemberAdded"
    return activity


def installation(action: str, *, service_url: str, **where: Any) -> dict[str, Any]:
    activity = envelope("installationUpdate", service_url=service_url, **where)
    activity["action"] = action
    return activity


# --- reading cards -----------------------------------------------------------------------


def card_of(activity: dict[str, Any]) -> dict[str, Any]:
    (attachment,) = [a for a in activity.get("attachments") or [] if a["contentType"] == CARD]
    return dict(attachment["content"])


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def heading(card: dict[str, Any]) -> str:
    return str(card["body"][0]["text"])


def text_of(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button a user sees (top-level and in action sets), in order."""
    found = list(card.get("actions") or [])
    for node in _walk(card.get("body") or []):
        if node.get("type") == "ActionSet":
            found.extend(node["actions"])
    return found


def button(card: dict[str, Any], title: str) -> dict[str, Any]:
    for candidate in buttons(card):
        if candidate["title"] == title:
            return candidate
    raise AssertionError(f"no {title!r} button in {[b['title'] for b in buttons(card)]}")


def form_submit(show_card: dict[str, Any]) -> dict[str, Any]:
    """The `Action.Execute` inside an `Action.ShowCard` form."""
    assert show_card["type"] == "Action.ShowCard"
    (execute,) = show_card["card"]["actions"]
    return dict(execute)
