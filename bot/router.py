"""One router for every surface: a request in, a `Reply` out, never an exception."""

from __future__ import annotations

import logging
import uuid

from bot.actions import DETAILS, OPEN, PICK, REFRESH, SHARE, shared, with_standard_actions
from bot.context import BotContext
from bot.handlers.details import account_details
from bot.handlers.follow_up_actions import FOLLOW_UP_ACTIONS, act_on_follow_up, follow_up_form
from bot.handlers.help import unknown_command
from bot.reply import Form, Reply
from bot.requests import ActionRequest, CommandRequest

log = logging.getLogger(__name__)
UMBRELLA = "closeloop"


def _failed(what: str) -> Reply:
    """The user gets an answer they can quote to an admin; the log gets the details."""
    incident = uuid.uuid4().hex[:8]
    log.exception("%s failed (incident %s)", what, incident)
    return Reply(
        heading="Something went wrong",
        paragraphs=(
            f"{what} failed on our side. Please try again; if it keeps failing, give your "
            f"admin the incident id `{incident}`.",
        ),
    )


class Router:
    def __init__(self, context: BotContext) -> None:
        self.context = context

    async def handle(self, request: CommandRequest) -> Reply:
        """Answer a command; `/closeloop health acme` is the same as `/health acme`."""
        if request.command == UMBRELLA:
            request = CommandRequest.parse(
                request.args or "help", request.actor, request.conversation
            )
        command = self.context.registry.get(request.command)
        if command is None:
            return unknown_command(request.command, self.context.registry)
        try:
            reply = await command.handler(request, self.context)
        except Exception:
            return _failed(f"`{request.command}`")
        if not command.read_only:
            return reply
        return with_standard_actions(reply, f"{request.command} {request.args}".strip())

    async def form(self, request: ActionRequest) -> Form | None:
        """What a button asks before it acts, if anything (adapters show it, then `act`)."""
        if request.action_id in FOLLOW_UP_ACTIONS:
            return await follow_up_form(request, self.context)
        return None

    async def act(self, request: ActionRequest) -> Reply:
        """Answer a button press by re-running the command its payload names."""
        if request.action_id in FOLLOW_UP_ACTIONS:
            try:
                return await act_on_follow_up(request, self.context)
            except Exception:
                return _failed("That button")
        if request.action_id == DETAILS:
            reply = await account_details(request.payload.get("account", ""), self.context)
            return with_standard_actions(reply, "")
        text = request.payload.get("command", "")
        if request.action_id == PICK:
            text = f"{text} {request.payload.get('account', '')}"
        elif request.action_id not in (REFRESH, SHARE, OPEN):
            return Reply(heading="That button is no longer supported")
        if not text.strip():
            return Reply(heading="That button has lost its question; please ask again")
        reply = await self.handle(CommandRequest.parse(text, request.actor, request.conversation))
        return shared(reply, request.actor) if request.action_id == SHARE else reply
