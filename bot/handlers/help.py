"""`help`, and the answer to a command nobody registered."""

from __future__ import annotations

import difflib

from bot.commands import CommandRegistry
from bot.context import BotContext
from bot.reply import Reply, Table
from bot.requests import CommandRequest


def _command_table(registry: CommandRegistry) -> Table:
    return Table(
        columns=("Command", "What it answers"),
        rows=tuple((command.usage, command.summary) for command in registry),
    )


async def help_command(request: CommandRequest, context: BotContext) -> Reply:
    return Reply(
        heading="Closeloop commands",
        paragraphs=("Customer-success answers from your CRM, product, help-desk and survey data.",),
        tables=(_command_table(context.registry),),
    )


def unknown_command(name: str, registry: CommandRegistry) -> Reply:
    close = difflib.get_close_matches(name, registry.names(), n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return Reply(
        heading=f"I don't know the command `{name}`",
        paragraphs=(f"Here is what I can answer.{hint}",),
        tables=(_command_table(registry),),
    )
