"""The Teams bot: Bot Framework activities translated to and from the bot core.

Everything Teams-shaped stays here and in `render.py`: a message (in a personal chat, or
an @mention in a channel or group chat) becomes a `CommandRequest`, a card button an
`ActionRequest`, and the `Reply` that comes back is sent as an Adaptive Card. The router
is the only way into the core, and what a click comes to is its decision (`bot.clicks`):
this module only translates it into a card of inputs, an invoke response that replaces the
clicked card, a posted card, or a line for the clicker alone.

Who acts is always the activity's sender as Teams authenticated it (`from.aadObjectId`),
never anything a card carries: card data is only the button's payload, and a forged or
forwarded card can therefore not act in someone else's name.

Teams gives a bot 15 seconds to answer a turn. An answer not ready within the budget is
replaced by a short "working on it" and sent later, proactively, to the same place.

Every activity refreshes the conversation's stored reference
(`metrics_core.delivery.conversation_references`) so alerts and digests can be sent there
after any restart; an uninstall or the bot's removal marks it inactive. Being added to a
conversation is answered with one welcome card (see `CloseloopBot.on_turn` for when it
counts as being added).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes, Attachment, ConversationReference

from adapters.platforms.teams.render import (
    CARD_CONTENT_TYPE,
    card_attachment,
    render_card,
    render_text,
)
from adapters.workers.inflight import InFlight
from bot.clicks import Answer, Click, Delivery, ShowForm
from bot.handlers.help import welcome
from bot.inbound import ActionRequest, Actor, CommandRequest, Platform
from bot.reply import Action, Form, Reply
from bot.router import Router
from metrics_core.clock import utc_now
from metrics_core.delivery import conversation_references
from metrics_core.store.db import Database

log = logging.getLogger(__name__)

ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
MESSAGE_RESPONSE = "application/vnd.microsoft.activity.message"
ERROR_RESPONSE = "application/vnd.microsoft.error"
# Marks the data of a form card this bot posted: its submission is a form's answers.
FORM_MARK = "closeloop.form"
# Keys Teams itself (or the form card) adds to submitted data; never part of a payload.
NOT_PAYLOAD = frozenset({"msteams", "verb", FORM_MARK})
WORKING = "Working on it — the answer will follow here in a moment."
T = TypeVar("T")
_MENTION = re.compile(r"<at[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


# --- reading an activity -----------------------------------------------------------------


def base_conversation_id(conversation_id: str) -> str:
    """A channel thread (`19:…@thread.tacv2;messageid=…`) addressed as its channel.

    Replies within a turn keep the thread; what is stored and handed to the core is the
    channel, because that is what alert routes and digests name and where a proactive
    post starts a new thread.
    """
    return conversation_id.split(";messageid=", 1)[0]


def tenant_of(activity: Activity) -> str | None:
    channel_data = activity.channel_data if isinstance(activity.channel_data, Mapping) else {}
    tenant = channel_data.get("tenant")
    if isinstance(tenant, Mapping) and tenant.get("id"):
        return str(tenant["id"])
    conversation = activity.conversation
    return getattr(conversation, "tenant_id", None) if conversation is not None else None


def _timezone(activity: Activity) -> str | None:
    """The user's IANA time zone from the `clientInfo` entity Teams sends with messages."""
    for entity in activity.entities or []:
        if (getattr(entity, "type", "") or "").lower() != "clientinfo":
            continue
        extra = getattr(entity, "additional_properties", None) or {}
        zone = extra.get("timezone")
        if isinstance(zone, str) and zone:
            return zone
    return None


def actor_of(activity: Activity) -> Actor:
    """The sender as Teams authenticated them: their AAD object id, name and time zone."""
    sender = activity.from_property
    return Actor(
        Platform.TEAMS,
        user_id=getattr(sender, "aad_object_id", None) or None,
        display_name=getattr(sender, "name", None) or None,
        timezone=_timezone(activity),
    )


def conversation_of(activity: Activity) -> str | None:
    conversation = activity.conversation
    if conversation is None or not conversation.id:
        return None
    return base_conversation_id(str(conversation.id))


def _mentioned_names(activity: Activity) -> dict[str, str]:
    """Each mention tag in the text, with the display name its entity gives."""
    names: dict[str, str] = {}
    for entity in activity.entities or []:
        if (getattr(entity, "type", "") or "").lower() != "mention":
            continue
        extra = getattr(entity, "additional_properties", None) or {}
        mentioned = extra.get("mentioned")
        tag = extra.get("text")
        name = mentioned.get("name") if isinstance(mentioned, Mapping) else None
        if isinstance(tag, str) and isinstance(name, str) and name.strip():
            names[tag] = name
    return names


def command_text(activity: Activity) -> str:
    """The message text as plain text, without the bot's own @mention.

    Anyone else's @mention stays, as `@Name`, because it can be an argument: `digest
    subscribe daily 08:30 owner=@Dana` names whose book, and Teams turns the typed `@Dana`
    into a mention tag. The name is the one the mention's entity gives, the person's full
    display name, since the text may show only part of it. A mention of the bot that
    botbuilder could not pair with its entity is still dropped, recognised by its name.
    """
    text = activity.text or ""
    recipient = activity.recipient
    if recipient is not None and recipient.id:
        with contextlib.suppress(KeyError, TypeError, AttributeError):
            text = TurnContext.remove_recipient_mention(activity) or ""
    bot_name = " ".join((getattr(recipient, "name", None) or "").split()).lower()
    full_names = _mentioned_names(activity)

    def person(mention: re.Match[str]) -> str:
        shown = full_names.get(mention[0]) or html.unescape(_TAG.sub("", mention[1]))
        name = " ".join(shown.split())
        if not name or name.lower() == bot_name:
            return " "
        return f"@{name}"

    text = _MENTION.sub(person, text)
    return " ".join(html.unescape(text).split())


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def payload_of(data: Any) -> dict[str, str]:
    """A button's data (with any form inputs Teams merged in) as the router's payload.

    Only scalar values are kept: the router's payloads are strings, and nothing here can
    name an actor, which comes from the activity alone.
    """
    if not isinstance(data, Mapping):
        return {}
    payload = {}
    for key, value in data.items():
        text = _scalar(value)
        if text is not None and str(key) not in NOT_PAYLOAD:
            payload[str(key)] = text
    return payload


# --- writing -----------------------------------------------------------------------------


def card_message(reply: Reply) -> Activity:
    attachment = card_attachment(reply)
    return Activity(
        type=ActivityTypes.message,
        attachments=[
            Attachment(content_type=attachment["contentType"], content=attachment["content"])
        ],
        summary=render_text(reply),
    )


def card_response(reply: Reply) -> InvokeResponse:
    """The invoke answer that replaces the clicked card with `reply`."""
    return InvokeResponse(
        status=200,
        body={"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": render_card(reply)},
    )


def message_response(text: str) -> InvokeResponse:
    """The invoke answer Teams shows the clicker alone, leaving the card as it is."""
    return InvokeResponse(
        status=200, body={"statusCode": 200, "type": MESSAGE_RESPONSE, "value": text}
    )


def form_card(request: ActionRequest, form: Form) -> Reply:
    """A card asking what the button needs, with a submit button that acts once answered.

    Teams has no modal to open from a card button, so a form whose choices are only known
    when the button is pressed (Reassign: the current team) is posted as a card of its own,
    whose submit comes back marked as the form's answers.
    """
    payload = {**request.payload, FORM_MARK: "1"}
    action = Action(request.action_id, form.submit, payload, primary=True, form=form)
    return Reply(heading=form.title, actions=(action,))


def shown(request: ActionRequest, click: Click) -> Reply:
    """What a click shows as a card of its own: the form to fill in, or the answer."""
    return form_card(request, click.form) if isinstance(click, ShowForm) else click.reply


def error_response(status: int, message: str) -> InvokeResponse:
    code = "BadRequest" if status == 400 else "Error"
    return InvokeResponse(
        status=status,
        body={
            "statusCode": status,
            "type": ERROR_RESPONSE,
            "value": {"code": code, "message": message},
        },
    )


# --- the bot -----------------------------------------------------------------------------


class CloseloopBot(ActivityHandler):  # type: ignore[misc]  # botbuilder is untyped
    def __init__(
        self,
        router: Router,
        db: Database,
        *,
        app_id: str | None,
        budget_seconds: float = 10.0,
        work: InFlight | None = None,
    ) -> None:
        super().__init__()
        self.router = router
        self.db = db
        self.app_id = app_id or None
        self.budget_seconds = budget_seconds
        # Late answers, kept with the service's other work in flight so a shutdown waits.
        self._late = work if work is not None else InFlight()

    async def on_turn(self, turn_context: TurnContext) -> None:
        """Keep the conversation's reference, welcome a new install, then handle the turn.

        The welcome goes out once per install. Teams announces one install twice (an
        `installationUpdate` "add" and a `conversationUpdate` listing the bot among the
        members added, in either order, possibly at the same moment) and repeats the
        latter, e.g. when the app is updated. So being added only counts when it is news:
        the conversation was unknown, or known as one the bot had been removed from. That
        is decided in the same transaction that marks the conversation active, so of two
        announcements only the first finds it news, and an install the bot already knew
        about (from before welcomes existed, or through a message) is not greeted late.
        """
        activity = turn_context.activity
        arrived = await self._keep_reference(activity)
        if arrived and _bot_added(activity):
            await self._welcome(turn_context)
        await super().on_turn(turn_context)

    # --- conversation references ---

    async def _keep_reference(self, activity: Activity) -> bool:
        """Store where this activity came from, or forget it when the bot was removed.

        True when the conversation is new to the bot or was inactive until now.
        """
        conversation_id = conversation_of(activity)
        if conversation_id is None or not activity.service_url:
            return False
        now = utc_now()
        try:
            if _bot_removed(activity):
                await self.db.write(
                    lambda s: conversation_references.deactivate(
                        s, conversation_id, error="the bot was removed or uninstalled", now=now
                    )
                )
                log.info("Teams conversation %s: bot removed", conversation_id)
                return False
            if activity.type not in _REMEMBERED:
                return False
            reference = _reference(activity, conversation_id)
            kind = getattr(activity.conversation, "conversation_type", None)
            sender = activity.from_property
            user = (
                getattr(sender, "aad_object_id", None)
                if kind == conversation_references.PERSONAL
                else None
            )
            arrived = await self.db.write(
                lambda s: conversation_references.remember(
                    s,
                    conversation_id=conversation_id,
                    conversation_type=kind,
                    tenant_id=tenant_of(activity),
                    service_url=str(activity.service_url),
                    user_id=user,
                    reference=reference,
                    now=now,
                )
            )
            if arrived:
                log.info("Teams conversation %s (%s) remembered", conversation_id, kind)
            return arrived
        except Exception:  # answering matters more than remembering; the next turn retries
            log.exception("could not store the Teams conversation %s", conversation_id)
            return False

    async def _welcome(self, turn_context: TurnContext) -> None:
        """Post the welcome card as a message of its own in the conversation.

        Sent proactively rather than as a reply: an install event is no message a reply
        could hang under, and in a team the welcome should start its own thread.
        """
        activity = turn_context.activity
        conversation_id = conversation_of(activity)
        if conversation_id is None:
            return
        name = getattr(activity.recipient, "name", None) or "Closeloop"
        card = card_message(welcome(self.router.context.registry, bot_name=name))

        async def send(proactive: TurnContext) -> None:
            await proactive.send_activity(card)

        try:
            reference = _proactive_reference(activity, conversation_id)
            await turn_context.adapter.continue_conversation(reference, send, self.app_id)
        except Exception:  # a lost welcome is no reason to fail the install
            log.exception("the welcome to Teams conversation %s could not be sent", conversation_id)

    # --- commands ---

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        submitted = activity.value if isinstance(activity.value, Mapping) else None
        if submitted and _verb_and_data(submitted)[0]:
            await self._submitted(turn_context, submitted)
            return
        request = CommandRequest.parse(
            command_text(activity) or "help", actor_of(activity), conversation_of(activity)
        )
        reply = await self._within_budget(turn_context, self.router.handle(request), card_message)
        if reply is not None:
            await turn_context.send_activity(card_message(reply))
        else:
            await turn_context.send_activity(WORKING)

    # --- buttons ---

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        activity = turn_context.activity
        if activity.name != ADAPTIVE_CARD_ACTION:
            return await super().on_invoke_activity(turn_context)
        value = activity.value if isinstance(activity.value, Mapping) else {}
        verb, data = _verb_and_data(value)
        if not verb:
            return error_response(400, "The card action has no verb")
        # An invoke does not say whose card was pressed, so `clicked_on` stays unknown.
        request = ActionRequest(
            action_id=verb,
            payload=payload_of(data),
            actor=actor_of(activity),
            conversation=conversation_of(activity),
        )
        pressed: Awaitable[Click]
        if isinstance(data, Mapping) and data.get(FORM_MARK):
            pressed = self.router.submit(request)  # our own form card, answered
        else:
            pressed = self.router.click(request)
        click = await self._within_budget(
            turn_context, pressed, lambda late: card_message(shown(request, late)), thread=False
        )
        if click is None:
            return message_response(WORKING)
        if isinstance(click, ShowForm):
            await turn_context.send_activity(card_message(form_card(request, click.form)))
            return message_response(f"{click.form.title}: choose in the card below.")
        if click.delivery is Delivery.REPLACE:
            return card_response(click.reply)
        if click.delivery is Delivery.POST:
            await turn_context.send_activity(card_message(click.reply))
        return message_response(render_text(click.reply))

    async def _submitted(self, turn_context: TurnContext, value: Mapping[str, Any]) -> None:
        """A button that arrived as a message (Action.Submit, messageBack): there is no
        invoke answer to replace the card with, so the card is edited or the answer sent."""
        activity = turn_context.activity
        verb, data = _verb_and_data(value)
        request = ActionRequest(
            action_id=str(verb),
            payload=payload_of(data),
            actor=actor_of(activity),
            conversation=conversation_of(activity),
        )
        click = await self._within_budget(
            turn_context,
            self.router.click(request),
            lambda late: card_message(shown(request, late)),
        )
        if click is None:
            await turn_context.send_activity(WORKING)
            return
        card = card_message(shown(request, click))
        replace = isinstance(click, Answer) and click.delivery is Delivery.REPLACE
        if replace and activity.reply_to_id:
            card.id = activity.reply_to_id
            await turn_context.update_activity(card)
            return
        await turn_context.send_activity(card)

    # --- the 15-second budget ---

    async def _within_budget(
        self,
        turn_context: TurnContext,
        work: Awaitable[T],
        late: Callable[[T], Activity],
        *,
        thread: bool = True,
    ) -> T | None:
        """The result if it is ready within the budget; otherwise None, and the message
        `late` makes of it is sent proactively to this conversation when it is ready."""
        task = asyncio.ensure_future(work)
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.budget_seconds)
        except TimeoutError:
            pass
        reference = TurnContext.get_conversation_reference(turn_context.activity)
        if not thread:
            reference.activity_id = None
        self._late.spawn(self._send_late(turn_context.adapter, reference, task, late))
        return None

    async def _send_late(
        self,
        adapter: Any,
        reference: ConversationReference,
        answer: asyncio.Future[T],
        late: Callable[[T], Activity],
    ) -> None:
        try:
            message = late(await answer)

            async def send(turn_context: TurnContext) -> None:
                await turn_context.send_activity(message)

            await adapter.continue_conversation(reference, send, self.app_id)
        except Exception:
            log.exception("a late Teams answer could not be sent")

    async def drain(self, within: float = 15.0) -> None:
        """Let answers still being prepared go out before shutting down, for a while."""
        await self._late.drain(within)


_REMEMBERED = frozenset(
    {
        ActivityTypes.message,
        ActivityTypes.invoke,
        ActivityTypes.conversation_update,
        ActivityTypes.installation_update,
    }
)


def _bot_removed(activity: Activity) -> bool:
    if activity.type == ActivityTypes.installation_update:
        return str(activity.action or "").startswith("remove")
    if activity.type == ActivityTypes.conversation_update and activity.recipient is not None:
        return any(m.id == activity.recipient.id for m in activity.members_removed or [])
    return False


def _bot_added(activity: Activity) -> bool:
    """The activity announces that the bot was added here (installed, or made a member)."""
    if activity.type == ActivityTypes.installation_update:
        return str(activity.action or "").startswith("add")
    if activity.type == ActivityTypes.conversation_update and activity.recipient is not None:
        return any(m.id == activity.recipient.id for m in activity.members_added or [])
    return False


def _proactive_reference(activity: Activity, conversation_id: str) -> ConversationReference:
    """Where to post a new message: the channel rather than the thread, and no activity
    to reply to."""
    reference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None
    if reference.conversation is not None:
        reference.conversation.id = conversation_id
    return reference


def _reference(activity: Activity, conversation_id: str) -> dict[str, Any]:
    """The conversation reference as the Bot Framework serialises it, for storing."""
    serialised: dict[str, Any] = _proactive_reference(activity, conversation_id).serialize()
    return serialised


def _verb_and_data(value: Mapping[str, Any]) -> tuple[str | None, Any]:
    """The verb and data of a card action: `{"action": {"verb", "data"}}` as Teams sends
    Action.Execute, or `{"verb": …, …data}` as an Action.Submit's data arrives."""
    action = value.get("action")
    if isinstance(action, Mapping):
        verb = action.get("verb")
        return (str(verb) if verb else None), action.get("data")
    verb = value.get("verb")
    return (str(verb) if isinstance(verb, str) and verb else None), value
