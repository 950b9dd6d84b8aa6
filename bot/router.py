"""One router for every surface: a request in, a `Reply` out, never an exception."""

from __future__ import annotations

import logging
import uuid

from bot.context import BotContext
from bot.handlers.help import unknown_command
from bot.reply import Reply
from bot.requests import CommandRequest

log = logging.getLogger(__name__)


class Router:
    def __init__(self, context: BotContext) -> None:
        self.context = context

    async def handle(self, request: CommandRequest) -> Reply:
        command = self.context.registry.get(request.command)
        if command is None:
            return unknown_command(request.command, self.context.registry)
        try:
            return await command.handler(request, self.context)
        except Exception:
            # The user gets an answer they can quote to an admin; the log gets the details.
            incident = uuid.uuid4().hex[:8]
            log.exception("command %s failed (incident %s)", request.command, incident)
            return Reply(
                heading="Something went wrong",
                paragraphs=(
                    f"`{request.command}` failed on our side. Please try again; if it keeps "
                    f"failing, give your admin the incident id `{incident}`.",
                ),
            )
