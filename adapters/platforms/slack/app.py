"""The Slack app: slack-bolt listeners that translate Slack payloads to and from the bot.

Everything Slack-shaped stays here: a slash command becomes a `CommandRequest`, a button
an `ActionRequest`, and the `Reply` that comes back is rendered to Block Kit. What a
click comes to is the router's decision (`bot.clicks`); this module only translates it:
a form becomes a modal, an answer a message to the response_url that replaces the
clicked one or not.

Slack wants an acknowledgement within three seconds. Bolt runs each listener before it
answers the HTTP request (`process_before_response`), so a slash command whose answer is
ready within `ACK_BUDGET_SECONDS` answers in the acknowledgement itself: one round trip,
and no 10 ms polling for the ack. An answer that takes longer is acknowledged empty at the
budget and sent to the response_url when it is done. Clicks, form submissions and events
acknowledge at once and do their work in a task of their own (their answers cannot ride
on the acknowledgement: Slack ignores a body there).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import secrets
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.platforms.slack.events import SlackEvents
from adapters.platforms.slack.render import (
    form_values,
    parse_button_value,
    render_form,
    render_home,
    render_message,
)
from adapters.platforms.slack.responses import ResponseUrls
from adapters.workers.inflight import InFlight
from bot.actions import ACTION_IDS
from bot.clicks import Delivery, ShowForm
from bot.commands import CommandRegistry
from bot.context import BotContext
from bot.inbound import ActionRequest, Actor, CommandRequest, Platform
from bot.messages.home import home
from bot.reply import Reply, Visibility
from bot.router import UMBRELLA, Router

log = logging.getLogger(__name__)

# Our buttons' action ids, with the ":n" suffix the renderer adds to repeated ones.
OUR_ACTIONS = re.compile("^(" + "|".join(re.escape(a) for a in ACTION_IDS) + r")(:\d+)?$")
FORM_CALLBACK = "closeloop.form"
ACK_BUDGET_SECONDS = 2.0
"""How long a slash command's answer may take and still ride on the acknowledgement.
Slack allows three seconds from its side, network both ways included; the rest is margin."""


def web_client(token: str, base_url: str) -> AsyncWebClient:
    """A Web API client that waits out 429s (Retry-After) and retries dropped connections.

    Only idempotent failures are retried: slack_sdk's connection-error handler retries
    when the request never reached Slack, so a retry cannot post a message twice.
    """
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def _actor(user_id: str | None, name: str | None) -> Actor:
    return Actor(Platform.SLACK, user_id=user_id, display_name=name)


def _message(reply: Reply) -> dict[str, Any]:
    rendered = render_message(reply)
    response_type = "in_channel" if reply.visibility is Visibility.CHANNEL else "ephemeral"
    return {"text": rendered.text, "blocks": rendered.blocks, "response_type": response_type}


@dataclasses.dataclass(frozen=True, slots=True)
class _Answer:
    message: dict[str, Any]
    body: str
    """The message as the JSON an acknowledgement carries."""


class _Rendered:
    """Each reply rendered once: the router hands back the very same `Reply` while it keeps
    an answer in memory (`bot.answers`), and rendering Block Kit and the JSON of it cost
    more than the rest of such an answer. Keyed by the reply's identity, with the reply
    held, so an identity is never reused while remembered."""

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = capacity
        self._held: dict[int, tuple[Reply, _Answer]] = {}

    def __call__(self, reply: Reply) -> _Answer:
        held = self._held.get(id(reply))
        if held is not None and held[0] is reply:
            return held[1]
        message = _message(reply)
        answer = _Answer(message, json.dumps(message))
        if len(self._held) >= self._capacity:
            self._held.pop(next(iter(self._held)))
        self._held[id(reply)] = (reply, answer)
        return answer


def _needs_timezone(registry: CommandRegistry, name: str, text: str) -> bool:
    if name == UMBRELLA:
        name = text.strip().partition(" ")[0].lstrip("/").lower()
    command = registry.get(name)
    return command is not None and command.needs_timezone


async def _timezone(client: AsyncWebClient, user_id: str) -> str | None:
    """The user's time zone from their Slack profile; None (the configured default) if
    Slack will not say."""
    try:
        response = await client.users_info(user=user_id)
    except Exception as error:  # the answer still comes, in the default zone
        log.warning("could not read the time zone of a Slack user: %s", type(error).__name__)
        return None
    zone = (response.get("user") or {}).get("tz")
    return str(zone) if zone else None


async def _answer(
    responses: ResponseUrls, url: str | None, respond: Any, message: dict[str, Any]
) -> None:
    """To the response_url over kept-open connections, or to the one Bolt's `respond`
    found elsewhere in the payload when it is not where a message's click has it. Either
    way through `responses`, which answers only on Slack's own hosts."""
    target = url or getattr(respond, "response_url", None)
    if not target:
        log.warning("an answer was dropped: the request carried no response_url")
        return
    await responses.send(target, message)


def build_slack_app(
    router: Router,
    context: BotContext,
    registry: CommandRegistry,
    *,
    client: AsyncWebClient,
    signing_secret: str | None,
    responses: ResponseUrls,
    work: InFlight | None = None,
) -> AsyncApp:
    """The bolt app; `signing_secret` None means Socket Mode alone.

    Request verification is never off. Bolt lets requests that came over the Socket Mode
    connection through unchecked (that connection was opened with the app token); any
    other request needs Slack's signature. Without a signing secret the key is one nobody
    knows, so a request that did not come over the socket cannot pass, even if something
    ever handed one to this app.

    A slash command answers in its acknowledgement when it can (see the module); what
    outlives the acknowledgement runs in tasks kept by `work`, so that a shutdown lets them
    finish. Events are processed once each, retries included (`SlackEvents`).
    """
    work = work if work is not None else InFlight()
    events = SlackEvents(context.db, work)
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or secrets.token_hex(32),
        request_verification_enabled=True,
        process_before_response=True,
    )

    rendered = _Rendered()

    def command_request(command: dict[str, Any]) -> CommandRequest:
        return CommandRequest(
            command=command["command"].lstrip("/"),
            args=command.get("text", "").strip(),
            actor=_actor(command.get("user_id"), command.get("user_name")),
            conversation=command.get("channel_id"),
        )

    async def command_answer(request: CommandRequest) -> _Answer:
        actor = request.actor
        if _needs_timezone(registry, request.command, request.args) and actor.user_id:
            actor = dataclasses.replace(actor, timezone=await _timezone(client, actor.user_id))
        return rendered(await router.handle(dataclasses.replace(request, actor=actor)))

    async def answer_later(answering: asyncio.Task[_Answer], url: str | None) -> None:
        answer = await answering
        await _answer(responses, url, None, answer.message)

    async def on_command(ack: Any, command: dict[str, Any]) -> None:
        request = command_request(command)
        known = router.remembered(request)
        if known is not None:
            await ack(rendered(known).body)  # asked before, nothing changed since
            return
        answering = asyncio.ensure_future(command_answer(request))
        done, _ = await asyncio.wait({answering}, timeout=ACK_BUDGET_SECONDS)
        if answering not in done:
            await ack()
            work.spawn(answer_later(answering, command.get("response_url")))
            return
        error = answering.exception()
        if error is None:
            # Bolt sends a text-only acknowledgement as the body itself, and marks a body
            # that is a JSON object as such: the message goes out as JSON made once.
            await ack(answering.result().body)
            return
        # The router answers every failure of a command itself; this is a failure to render.
        log.error("a slash command could not be answered", exc_info=error)
        await ack()

    # One listener for every command, matched by one pattern: bolt tries its listeners in
    # turn for each request, so a listener per command would make later commands slower.
    names = "|".join(re.escape(name) for name in (UMBRELLA, *registry.names()))
    app.command(re.compile(f"^/(?:{names})$"))(on_command)

    async def act(body: dict[str, Any], action: dict[str, Any], respond: Any, client: Any) -> None:
        user = body.get("user", {})
        action_id = action["action_id"].split(":", 1)[0]
        # Only an ephemeral message is the clicker's own; any other (an alert, a digest, a
        # shared answer, the Home tab) is seen by others too.
        ephemeral = bool((body.get("container") or {}).get("is_ephemeral"))
        request = ActionRequest(
            action_id=action_id,
            payload=parse_button_value(action.get("value", "")),
            actor=_actor(user.get("id"), user.get("username") or user.get("name")),
            conversation=(body.get("channel") or {}).get("id"),
            clicked_on=Visibility.PRIVATE if ephemeral else Visibility.CHANNEL,
        )
        click = await router.click(request)
        if isinstance(click, ShowForm):
            # The click's context travels in the modal and comes back with the answers.
            context_json = json.dumps(
                {
                    "action": action_id,
                    "payload": request.payload,
                    "channel": (body.get("channel") or {}).get("id"),
                }
            )
            view = render_form(click.form, callback_id=FORM_CALLBACK, private_metadata=context_json)
            await client.views_open(trigger_id=body["trigger_id"], view=view)
            return
        # A notice and a new message are both a message that leaves the clicked one be;
        # `response_type` keeps a private reply private and posts a shared one in channel.
        replace = click.delivery is Delivery.REPLACE
        message = {**_message(click.reply), "replace_original": replace}
        await _answer(responses, body.get("response_url"), respond, message)

    async def on_action(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: Any
    ) -> None:
        await ack()
        work.spawn(act(body, action, respond, client))

    app.action(OUR_ACTIONS)(on_action)

    async def submit(body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        try:
            sent = json.loads(view.get("private_metadata") or "{}")
            payload = {str(k): str(v) for k, v in dict(sent.get("payload") or {}).items()}
            action_id = str(sent["action"])
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("a submitted form came back without its context")
            return
        user = body.get("user", {})
        request = ActionRequest(
            action_id=action_id,
            payload={**payload, **form_values(view)},
            actor=_actor(user.get("id"), user.get("username") or user.get("name")),
        )
        # The modal closed on submission: what came of it goes to the clicker, privately, in
        # the conversation the button was in (or their direct messages).
        answer = await router.submit(request)
        channel = sent.get("channel")
        message = render_message(answer.reply)
        if channel:
            await client.chat_postEphemeral(
                channel=channel, user=user.get("id"), text=message.text, blocks=message.blocks
            )
        else:
            await client.chat_postMessage(
                channel=user.get("id"), text=message.text, blocks=message.blocks
            )

    async def on_form(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        await ack()
        work.spawn(submit(body, view, client))

    app.view(FORM_CALLBACK)(on_form)

    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab") != "home":
            return
        replies = await home(_actor(event.get("user"), None), context)
        await client.views_publish(user_id=event["user"], view=render_home(replies))

    events.listen(app, "app_home_opened", on_home_opened)
    return app
